"""The canonical posting item every spider yields.

Field names are a public contract (see DESIGN.md): exports, the HTTP API and
the stored version data use exactly these names. Board parsers fill what the
board gives (structured values where it has them, the original text in the
``*_raw`` fields); :mod:`crawler.normalize` fills the rest and tidies it all.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Fields that never count as a change: when the item was fetched and the
# board's own relative "posted 4 days ago" text, which moves every day.
VOLATILE_FIELDS = frozenset({"fetched_at", "posted_at_raw", "posted_at_relative"})

# List fields compare as sets: their order on the board means nothing.
LIST_FIELDS = ("locations", "salary", "skills")


@dataclass
class Posting:
    """One posting as a board shows it, in the canonical fields."""

    source: str = ""
    external_id: str = ""
    url: str | None = None
    apply_url: str | None = None
    title: str | None = None
    company: str | None = None
    department: str | None = None
    requisition_id: str | None = None
    locations: list[dict[str, Any]] = field(default_factory=list)
    workplace_type: str | None = None
    employment_type: str | None = None
    salary: list[dict[str, Any]] = field(default_factory=list)
    posted_at: str | None = None
    deadline: str | None = None
    description: str | None = None
    skills: list[str] = field(default_factory=list)
    language: str | None = None
    # the original text of every parsed value
    locations_raw: list[str] = field(default_factory=list)
    workplace_type_raw: str | None = None
    employment_type_raw: str | None = None
    salary_raw: list[str] = field(default_factory=list)
    posted_at_raw: str | None = None
    deadline_raw: str | None = None
    # True when posted_at was resolved from relative text ("4w ago")
    posted_at_relative: bool = False
    fetched_at: str | None = None
    # transient: input for the normalizer, and the raw response it came from
    description_html: str | None = field(default=None, repr=False)
    raw_sha256: str | None = field(default=None, repr=False)
    # transient: fingerprint of what the listing showed of this posting, so the
    # next run can skip its detail page when the listing shows the same
    listing_hash: str | None = field(default=None, repr=False)
    # transient: the page the posting was read from, when it is not `url`
    # (a 404 on that page later is evidence against this posting)
    page_url: str | None = field(default=None, repr=False)
    # transient: the source hash (:func:`source_hash`) of the raw input this
    # posting was read from; a later run whose input hashes the same skips it
    source_hash: str | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The stored/exported form: every canonical field, no transient ones."""
        # lists copied one level down (their dicts are the parser's own and
        # are not changed after normalization): a deep copy of every posting
        # cost more than its parse
        return {name: [dict(v) if isinstance(v, dict) else v for v in value]
                if isinstance(value := getattr(self, name), list) else value
                for name in PUBLIC_FIELDS}


TRANSIENT_FIELDS = ("description_html", "raw_sha256", "listing_hash", "page_url", "source_hash")
PUBLIC_FIELDS = tuple(f.name for f in dataclasses.fields(Posting) if f.name not in TRANSIENT_FIELDS)


@dataclass
class Gone:
    """Evidence that a posting is no longer open: its detail page answered
    404/410, or the board says it no longer accepts applications. Names the
    posting by external_id, or by its URL when only the link is known."""

    source: str
    reason: str
    external_id: str | None = None
    url: str | None = None


@dataclass
class Seen:
    """A posting present and unchanged, so it was not parsed: the listing
    shows it as last time (same listing fingerprint, no detail page
    fetched), or its raw input is byte-identical to what made its current
    version (same source hash, or the board answered 304). Its stored
    content stands. ``listing_hash``: a listing fingerprint that moved while
    the page did not, kept so the next run can skip the page again."""

    source: str
    external_id: str
    listing_hash: str | None = None


def listing_fingerprint(*values: Any) -> str:
    """Hash of what a listing shows of a posting (update time, posted date,
    title, location): when it moves, the detail page is fetched again."""
    blob = json.dumps(values, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


# The version of jobdelta's reading of raw input: part of every source hash
# (:func:`source_hash`), so a posting whose raw input is byte-identical to
# what produced its current version is skipped only while the same parsers
# and normalizers would read it. Bump it whenever any parser (spiders/parsers)
# or normalizer (crawler/normalize) changes what it makes of the same input:
# the next run then parses every posting again. A single board's parser can
# bump its own ``BoardSpider.parser_version`` instead.
PARSE_VERSION = "1"


def raw_digest(raw: bytes | str | Any) -> str:
    """SHA-256 (hex) of raw input: bytes as they are, text as UTF-8, anything
    else (a board's JSON entry) as canonical JSON (sorted keys, no spaces)."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    elif not isinstance(raw, (bytes, bytearray, memoryview)):
        raw = json.dumps(raw, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                         default=str).encode("utf-8")
    return hashlib.sha256(raw).hexdigest()


def source_hash_of(digest: str, *context: str) -> str:
    """The source hash of raw input whose :func:`raw_digest` is ``digest``
    (a 304 knows only the digest of the body it stands for)."""
    blob = "\x1f".join((PARSE_VERSION, *context, digest))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def source_hash(raw: bytes | str | Any, *context: str) -> str:
    """What a posting's current version was made from: the hash of its raw
    input (a page body, a board's JSON entry), of ``context`` (e.g. the
    board's parser version and the page URL: strings that change what the
    same bytes mean) and of :data:`PARSE_VERSION`. Equal hashes mean the
    posting need not be parsed again."""
    return source_hash_of(raw_digest(raw), *context)


@dataclass
class RawPage:
    """A board response to keep (compressed, content-addressed)."""

    url: str
    status: int
    content_type: str | None
    body: bytes
    sha256: str


# Fields holding an ISO date or datetime: compared as instants, so the same
# moment written in another UTC offset is no change.
DATETIME_FIELDS = ("posted_at", "deadline")


def as_instant(value: Any) -> Any:
    """An ISO datetime with a UTC offset, rewritten in UTC (``17:00-05:00`` and
    ``22:00Z`` are one instant); dates, naive datetimes and other values are
    returned as they are."""
    if not isinstance(value, str) or len(value) <= 10:
        return value
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return value
    if moment.tzinfo is None:
        return value
    return moment.astimezone(UTC).isoformat()


def _is_raw(key: str) -> bool:
    return key == "raw" or key.endswith("_raw")


def _canonical(value: Any) -> Any:
    """A value with its raw text shadows dropped at every depth (``salary[].raw``
    as well as ``salary_raw``), whole-number floats as integers, dicts in key
    order and lists in a canonical order."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in sorted(value.items()) if not _is_raw(k)}
    if isinstance(value, list):
        items = [_canonical(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def hashable_content(data: dict[str, Any]) -> dict[str, Any]:
    """The part of a posting that defines its content: the normalized values
    only. Not part of it: the volatile fields, the raw text the values were
    read from (``*_raw`` fields and the ``raw`` of every salary and location:
    stored, but a reworded line that reads the same is no change), and a
    posted_at resolved from relative text. Dates with a time compare as
    instants, numbers by value."""
    content = {k: v for k, v in data.items() if k not in VOLATILE_FIELDS}
    if data.get("posted_at_relative"):
        content.pop("posted_at", None)
    for name in DATETIME_FIELDS:
        if name in content:
            content[name] = as_instant(content[name])
    return _canonical(content)


def content_hash(data: dict[str, Any]) -> str:
    """SHA-256 of the posting's content, stable across list order and runs."""
    blob = json.dumps(hashable_content(data), sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
