"""What every board spider shares: parameters, completeness, errors, raw pages.

A board spider only routes (which URL next, which pure function parses it).
It records whether it saw the whole board, and on what that rests
(``complete_by``): a listing page that failed or could not be parsed makes
the run partial, a board that could not be read at all makes it failed, and
neither ever expires anything. Walls (bot checks, login pages) are found by
:mod:`crawler.middlewares.walls` before any callback runs: the run fails as
``blocked``, and the errbacks here ignore that failure.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import scrapy
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.errors import BoardError, Walled
from crawler.items import Gone, Posting, RawPage, Seen, source_hash, source_hash_of
from crawler.walls import find_wall
from spiders.parsers.stream import Listing

_SUBDOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def subdomain_problem(key: str, value: str, host: str) -> str | None:
    """What is wrong with a parameter that must be one DNS label, the
    ``<key>`` in ``host`` (e.g. ``<company>.breezy.hr``); None when fine."""
    if _SUBDOMAIN.fullmatch(value):
        return None
    return f"{key}: must be the subdomain alone, as in {host}, got {value!r}"


@dataclass(frozen=True)
class Param:
    """One board parameter: its type, whether it is required, what it means."""

    kind: type | tuple[type, ...]
    help: str
    required: bool = False
    default: Any = None


def _type_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "a string", int: "a whole number", bool: "true or false", list: "a list",
             float: "a number"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


class BoardSpider(scrapy.Spider):
    """Base of every board spider."""

    board: ClassVar[str] = ""
    title: ClassVar[str] = ""
    default_base_url: ClassVar[str | None] = None
    params: ClassVar[dict[str, Param]] = {}
    example: ClassVar[str] = ""

    # Gone evidence: the board says the posting no longer takes applications.
    CLOSED_TEXT = re.compile(
        r"no longer (?:accepting applications|available|open)|this (?:job|position|posting) "
        r"(?:has been|is) (?:closed|filled|removed)|job (?:is )?(?:expired|closed)",
        re.IGNORECASE,
    )

    # Part of every source hash this board computes: bump it when this
    # board's parser changes what it reads from the same input (a change to
    # every parser or normalizer bumps crawler.items.PARSE_VERSION instead).
    parser_version: ClassVar[str] = "1"

    # Subclasses set this to the board's documented request rate: the
    # configured download_delay is raised to it, never lowered below it.
    min_download_delay: ClassVar[float] = 0.0

    # What a 404 on the board's first page means, formatted with the board
    # parameters, e.g. "Lever has no site {site!r}".
    not_found: ClassVar[str] = ""

    def __init__(self, source: str, params: dict[str, Any], base_url: str | None = None,
                 known_listing: dict[str, str] | None = None, full_refresh: bool = True,
                 known_raw: dict[str, str] | None = None, **kwargs: Any):
        super().__init__(name=source, **kwargs)
        # listing fingerprints of the open postings stored so far; a posting
        # whose fingerprint has not moved needs no detail fetch, except in a
        # full-refresh run, which fetches every detail page to catch silent edits
        self.known_listing = known_listing or {}
        self.full_refresh = full_refresh
        # source hashes (crawler.items.source_hash) of the raw input that made
        # each open posting's current version: byte-identical input is not
        # parsed again, in any run (a full refresh fetches, but identical
        # bytes still say nothing new)
        self.known_raw = known_raw or {}
        self._raw_owners: dict[str, list[str]] | None = None
        self.source = source
        self.board_params = {k: params.get(k, p.default) for k, p in self.params.items()}
        self.base_url = (base_url or self.default_base_url or "").rstrip("/")
        self.errors: list[str] = []
        self.fatal: str | None = None
        self.listing_pages = 0
        self.listing_failures = 0
        self.board_complete: bool | None = None  # set by the spider when the listing ends
        # what the claim of completeness rests on, set with board_complete,
        # e.g. "meta.total = 120", for the runner to keep in the run's stats
        self.complete_by: str | None = None

    async def start(self):  # noqa: ANN201
        """Scrapy 2.13+ entry point: the board's first requests."""
        for request in self.start_requests():
            yield request

    def start_requests(self):  # noqa: ANN201
        """The board's first requests (override)."""
        return iter(())

    # -- configuration checks (used by crawler.config)

    @classmethod
    def check_params(cls, given: dict[str, Any]) -> str | None:
        for key in given:
            if key not in cls.params:
                known = ", ".join(sorted(cls.params)) or "none"
                return f"unknown key {key!r} for board {cls.board!r} (its keys: {known}, base_url, schedule)"
        for key, p in cls.params.items():
            if key not in given:
                if p.required:
                    return f"{key}: required for board {cls.board!r} ({p.help})"
                continue
            value = given[key]
            if not isinstance(value, p.kind) or (isinstance(value, bool) and p.kind is not bool):
                return f"{key}: must be {_type_name(p.kind)}, got {value!r}"
        return cls.check_more(given)

    @classmethod
    def check_more(cls, given: dict[str, Any]) -> str | None:
        """Board-specific checks beyond types (override)."""
        return None

    # -- outcome

    def note_error(self, message: str) -> None:
        self.errors.append(message)
        self.logger.warning(message)
        self.crawler.stats.inc_value("jobdelta/errors")

    def listing_failed(self, message: str) -> None:
        """A listing page could not be fetched or parsed: the board was not
        seen whole."""
        self.listing_failures += 1
        self.note_error(message)

    def fail(self, message: str) -> None:
        """The board could not be read at all."""
        self.fatal = self.fatal or message
        self.listing_failed(message)

    @property
    def complete(self) -> bool:
        return bool(self.board_complete) and self.listing_failures == 0 and self.fatal is None

    # -- helpers for subclasses

    def unchanged_in_listing(self, external_id: str, fingerprint: str) -> bool:
        """True when the detail page can be skipped: the listing shows this
        open posting as it did last time, and this is not a full refresh."""
        return not self.full_refresh and self.known_listing.get(external_id) == fingerprint

    def raw_hash(self, raw: Any, *context: str) -> str:
        """The source hash of raw input this board reads (a page body, a
        JSON entry), with the board and its parser version in it."""
        return source_hash(raw, self.board, self.parser_version, *context)

    def unchanged_raw(self, external_id: str, raw_hash: str) -> bool:
        """True when ``raw_hash`` is what made this open posting's current
        version: the caller yields ``Seen`` instead of parsing it."""
        if self.known_raw.get(external_id) != raw_hash:
            return False
        self.crawler.stats.inc_value("jobdelta/postings/unchanged_raw")
        return True

    def page_hash(self, url: str, digest: str) -> str:
        """The source hash of a posting page: its body's SHA-256 ``digest``
        and its URL (two pages with the same bytes are two postings)."""
        return source_hash_of(digest, self.board, self.parser_version, url)

    def owners_of_page(self, url: str, digest: str) -> list[str]:
        """The open postings whose current versions were all read from this
        very page (same URL, byte-identical body); empty when it is new or
        changed. A page is known by its hash, not by an id, because the id
        of a posting page is only known once it is parsed."""
        if self._raw_owners is None:
            owners: dict[str, list[str]] = {}
            for ext, h in self.known_raw.items():
                owners.setdefault(h, []).append(ext)
            self._raw_owners = owners
        return self._raw_owners.get(self.page_hash(url, digest), [])

    def unchanged_page(self, response: Response) -> list[Seen] | None:
        """``Seen`` for every posting of a page that is byte-identical to
        the one that made their current versions (also a 304 the
        conditional-request middleware answered without a body, see
        :mod:`crawler.middlewares.conditional`); None when it must be read."""
        digest = response.meta.get("jobdelta_raw_sha256") if "unchanged-raw" in response.flags else None
        if digest is None:
            if not self.known_raw:
                return None
            digest = hashlib.sha256(response.body).hexdigest()
        owners = self.owners_of_page(response.url, digest)
        if not owners:
            return None
        self.crawler.stats.inc_value("jobdelta/postings/unchanged_raw", len(owners))
        return [Seen(source=self.source, external_id=ext) for ext in owners]

    def known_page_check(self) -> dict[str, Any]:
        """Request meta that lets the conditional-request middleware answer
        a 304 for a page known unchanged without reading its stored body."""
        return {"jobdelta_known_page": self.owners_of_page} if self.known_raw else {}

    def listed(self, items: list[Any], ids: set[str], id_key: str, fingerprint: Any,
               detail_request: Any) -> Any:
        """The entries of one listing page: each posting once (one shifted
        into this page by a posting removed meanwhile is skipped), ``Seen``
        for an open posting the listing shows unchanged, else the request
        ``detail_request(item, external_id, fingerprint)`` for its page."""
        for item in items:
            ext = str(item[id_key]).strip()
            if ext in ids:
                continue
            ids.add(ext)
            fp = fingerprint(item)
            if self.unchanged_in_listing(ext, fp):
                yield Seen(source=self.source, external_id=ext)
                continue
            request = detail_request(item, ext, fp)
            request.meta.update(self.known_page_check())
            yield request

    def judge_count(self, seen: int, total: int, what: str, total_name: str) -> None:
        """A paged listing read to its end: complete when it gave as many
        distinct postings as the board reports."""
        self.board_complete = seen == total
        if self.board_complete:
            self.complete_by = f"{total_name} = {total} distinct {what}, every page read"
        else:
            self.note_error(f"listing gave {seen} distinct {what} of the {total} it reports ({total_name})")

    def posting_from_detail(self, response: Response, read: Any, fp: str) -> Any:
        """The items of a posting's detail page: its raw page, then what
        ``read()`` (a pure parse) made of it, with the listing fingerprint it
        was fetched for. A page that cannot be read is an error of the run."""
        seen = self.unchanged_page(response)
        if seen is not None:
            # the listing moved (or this is a full refresh) but the page did
            # not: the stored version stands; keep the new listing fingerprint
            for item in seen:
                item.listing_hash = fp
                yield item
            return
        try:
            posting = read()
        except BoardError as exc:
            self.listing_failed(f"posting page could not be read: {exc}")
            return
        raw = self.keep_raw(response)
        yield raw
        if isinstance(posting, Posting):
            posting.fetched_at, posting.raw_sha256 = self.fetched_at(response), raw.sha256
            posting.listing_hash = fp
            posting.source_hash = self.page_hash(response.url, raw.sha256)
        yield posting

    def keep_raw(self, response: Response) -> RawPage:
        body = response.body
        return RawPage(url=response.url, status=response.status,
                       content_type=response.headers.get("Content-Type", b"").decode("latin-1") or None,
                       body=body, sha256=hashlib.sha256(body).hexdigest())

    @staticmethod
    def fetched_at(response: Response) -> str:
        return datetime.now(UTC).isoformat(timespec="seconds")

    @staticmethod
    def describe_failure(failure: Failure) -> str:
        if failure.check(HttpError):
            resp = failure.value.response
            return f"HTTP {resp.status} from {resp.url}"
        request = getattr(failure, "request", None)
        where = f" fetching {request.url}" if request is not None else ""
        return f"{failure.type.__name__}: {failure.getErrorMessage()}{where}"

    def wall_in(self, response: Response) -> str | None:
        """``blocked: ...`` when an answer the wall middleware does not see
        (JSON a rendered page fetched, a request marked ``dont_check_walls``)
        is a wall, counted in ``jobdelta/walls/<kind>``; None otherwise."""
        wall = find_wall(response)
        if wall is None:
            return None
        self.crawler.stats.inc_value(f"jobdelta/walls/{wall.kind}")
        return wall.reason

    def walled(self, response: Response) -> bool:
        """Fail the run when such an answer is a wall rather than the board."""
        blocked = self.wall_in(response)
        if blocked:
            self.fail(blocked)
        return blocked is not None

    def on_board_error(self, failure: Failure) -> None:
        """The board's first (or only) listing request failed: the run failed."""
        if failure.check(Walled):
            return  # the run failed as blocked already
        if failure.check(HttpError):
            resp = failure.value.response
            if resp.status == 404:
                what = self.not_found.format(**self.board_params) if self.not_found else \
                    "check the board parameters"
                self.fail(f"board not found: {what} (HTTP 404 from {resp.url})")
                return
        self.fail(f"board could not be read: {self.describe_failure(failure)}")

    def on_page_error(self, failure: Failure) -> None:
        """Errback of a paged listing whose requests carry their page position
        in ``cb_kwargs``: the first page failing fails the run, a later page
        failing makes it partial."""
        if any(failure.request.cb_kwargs.values()):
            self.on_listing_error(failure)
        else:
            self.on_board_error(failure)

    def on_listing_error(self, failure: Failure) -> None:
        if failure.check(Walled):
            return  # the run failed as blocked already
        self.listing_failed(f"listing page failed: {self.describe_failure(failure)}")

    def on_detail_error(self, failure: Failure):  # noqa: ANN201
        """A posting page that answers 404/410 is evidence the posting is gone,
        unless this run's own listing names it (the request carries its
        ``external_id``): the board then says both, and the listing wins. The
        posting is kept as it was (vouched for by the listing, like an
        unchanged one), the contradiction is an error of the run, and it
        expires only once the listing drops it. Any other failure only means
        this run did not see the posting."""
        if failure.check(Walled):
            return  # the run failed as blocked already
        if failure.check(HttpError) and failure.value.response.status in (404, 410):
            resp = failure.value.response
            meta = failure.request.meta if hasattr(failure, "request") else {}
            listed = meta.get("external_id")
            if listed:
                self.crawler.stats.inc_value("jobdelta/detail/listed_but_gone")
                self.note_error(f"posting {listed} is listed but its page answered {resp.status}: "
                                f"kept as it was, not expired")
                yield Seen(source=self.source, external_id=str(listed))
                return
            yield Gone(source=self.source, url=resp.url, reason=f"detail page answered {resp.status}")
            return
        self.listing_failed(f"posting page failed: {self.describe_failure(failure)}")


class OneResponseBoard(BoardSpider):
    """A board whose whole listing is one response (Greenhouse, Ashby,
    Recruitee, Breezy, Pinpoint, Personio...): one request, one callback.

    Subclasses give :meth:`board_url` and :meth:`read_board`, a pure parse
    that returns a :class:`spiders.parsers.stream.Listing`: the board's raw
    entries, read one at a time (a board of 10,000 postings is never built
    whole), how each one becomes a posting, and the total the board claims.
    Each posting goes to the pipeline as soon as it is read; an entry whose
    raw content hashes as what made its open posting's current version
    (``known_raw``) is ``Seen`` without being parsed. The board is complete
    when the response parsed to its end and gave that many postings (or,
    without a total, when it parsed whole: ``complete_by`` then says the
    count is checked against recent runs only). A 404 is "board not found";
    a response larger than the source's ``max_download_mb`` fails the run
    naming that setting; malformed content raises ``BoardError`` and fails
    the run, also when it is found after some postings were read (those
    stand: they are what the board said; nothing expires)."""

    total_name: ClassVar[str] = "the board's total"  # what the reported total is called
    item_word: ClassVar[str] = "postings"
    no_total: ClassVar[str] = "whole response, no total given; count checked against recent runs only"

    def board_url(self) -> str:
        raise NotImplementedError

    def read_board(self, response: Response) -> Listing:
        """The board's entries and how to read them; reading them (and the
        total) raises ``BoardError``."""
        raise NotImplementedError

    def start_requests(self):  # noqa: ANN201
        yield scrapy.Request(self.board_url(), callback=self.parse_board, errback=self.on_board_error,
                             dont_filter=True)

    def parse_board(self, response: Response):  # noqa: ANN201
        self.listing_pages += 1
        raw = self.keep_raw(response)
        yield raw
        fetched = self.fetched_at(response)
        counted = 0
        try:
            listing = self.read_board(response)
            for entry in listing.entries:
                item = self._entry_item(listing, entry)
                if item is None:
                    continue
                if isinstance(item, Posting):
                    item.fetched_at, item.raw_sha256 = fetched, raw.sha256
                counted += 1
                yield item
            total = listing.total()
        except BoardError as exc:
            self.fail(str(exc))
            return
        if total is None:
            self.board_complete = True
            self.complete_by = self.no_total
        elif counted < total:
            self.note_error(f"listing holds {counted} of the {total} {self.item_word} it reports")
            self.board_complete = False
        else:
            self.board_complete = True
            self.complete_by = f"{self.total_name} = {total}"

    def _entry_item(self, listing: Listing, entry: Any) -> Posting | Seen | None:
        """``Seen`` for an open posting whose raw entry is unchanged, else
        the entry parsed (None when it is no published posting)."""
        digest = self.raw_hash(listing.raw(entry), *listing.context)
        ext = listing.external_id(entry) if self.known_raw else None
        if ext and self.unchanged_raw(ext, digest):
            return Seen(source=self.source, external_id=ext)
        posting = listing.posting(entry)
        if posting is not None:
            posting.source_hash = digest
        return posting

    def on_board_error(self, failure: Failure) -> None:
        if (message := self.too_large(failure)) is not None:
            self.crawler.stats.inc_value("jobdelta/board/too_large")
            self.fail(message)
            return
        super().on_board_error(failure)

    def too_large(self, failure: Failure) -> str | None:
        """The run's reason when the board's response was refused for its
        size (Scrapy's ``DOWNLOAD_MAXSIZE``, set from the source's
        ``max_download_mb``), with a limit that would take it; None for any
        other failure. Scrapy cancels the download as soon as the announced
        length, the bytes received or the decompressed body pass the limit."""
        text = str(failure.value)
        if failure.check(DownloadCancelledError):
            # a cancel for any other cause (the crawl stopping) says so
            if text and "max size" not in text:
                return None
        elif not (failure.check(IgnoreRequest) and "DOWNLOAD_MAXSIZE" in text):
            return None
        settings = self.crawler.settings
        limit_mb = settings.getfloat("JOBDELTA_MAX_DOWNLOAD_MB") or \
            settings.getint("DOWNLOAD_MAXSIZE") / 2**20
        # only an announced length is the response's size; the others are
        # where the download was cut
        announced = _ANNOUNCED.search(text)
        size_mb = int(announced.group(1)) / 2**20 if announced else 0.0
        of_size = f" of {_mb(size_mb)} MB" if announced else ""
        suggested = max(_roomy_mb(2 * limit_mb / 1.5), _roomy_mb(size_mb))
        return (f"board response{of_size} larger than max_download_mb = {_mb(limit_mb)} MB "
                f"(raise it for this source: max_download_mb = {suggested})")


# Scrapy's words for a response whose Content-Length passes the limit:
# "Expected to receive 78643200 bytes which is larger than download max size"
_ANNOUNCED = re.compile(r"Expected to receive (\d+) bytes")


def _mb(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.3g}"


def _roomy_mb(size_mb: float) -> int:
    """A limit with room for a board half as large again: the next power of
    two of megabytes at or above 1.5 times ``size_mb``."""
    roomy = 1
    while roomy < size_mb * 1.5:
        roomy *= 2
    return roomy
