"""Workday career sites through the CXS API (what Workday's own single-page
UI calls; the API itself needs no browser).

- List: ``POST {base}/wday/cxs/{tenant}/{site}/jobs`` with
  ``{"appliedFacets": {...}, "limit": 20, "offset": N, "searchText": ""}`` →
  ``{total, jobPostings[{title, externalPath, locationsText, postedOn,
  bulletFields}], facets[...]}``. ``limit`` is at most 20. ``total`` is only
  reported on the first page of a search (later pages say 0) and is capped
  at 2000: a bigger board is seen by splitting the search on facet values.
- Detail: ``GET {base}/wday/cxs/{tenant}/{site}{externalPath}`` →
  ``{jobPostingInfo{...}, hiringOrganization{name, url}}``. The posting's
  deadline is its ``endDate`` ("2026-11-09"), shown as
  ``jobPostingEndDateAsText`` ("End Date: November 9, 2026") with
  ``timeLeftToApply`` ("30+ days left to apply", relative, so not read); a
  posting without an end date has no deadline. ``remoteType`` ("Hybrid",
  "Remote", "Onsite", "Flex") is its workplace, on the detail and on list
  entries alike.

Pure functions from a response to listing entries, facets and postings; no
I/O. Values are mapped as the board gives them; :mod:`crawler.normalize`
tidies them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from scrapy.http import Response

from crawler.errors import BoardError
from crawler.items import Gone, Posting, listing_fingerprint
from crawler.normalize import country_code, deadline, iso_date, parse_location, workplace_phrase
from spiders.parsers.values import text as _text
from spiders.parsers.values import whole_number

PAGE_SIZE = 20  # the most the CXS list accepts per request
TOTAL_CAP = 2000  # the most ``total`` ever says, and the deepest a search can be paged

_LOCALE = re.compile(r"^[a-z]{2}(?:-[A-Za-z]{2,4})?$")
# "2 Locations": the listing's summary of a multi-location posting, not a place.
_COUNT_OF_LOCATIONS = re.compile(r"^\d+\s+locations?$", re.IGNORECASE)
# Workday writes places country first ("Vietnam-Hanoi", "USA - CA - Santa
# Clara", "Poland-Remote") or city first ("London, United Kingdom").
_PLACE_PARTS = re.compile(r"\s*,\s*|\s+[-–]\s+|(?<=[^\s\d])-(?=[^\s\d])")
_DOTTED = re.compile(r"(?<=[^\W\d_]{2})\.(?=[^\W\d_]{2})|" + _PLACE_PARTS.pattern)
_WORKPLACE_PART = re.compile(r"^(?:remote|hybrid|on-?site|virtual|anywhere)$", re.IGNORECASE)


@dataclass(frozen=True)
class WorkdaySite:
    """Where a career site lives: its host (None when only the tenant is
    known), tenant, site name, and the locale its public URLs use."""

    host: str | None
    tenant: str
    site: str
    locale: str | None = None

    def public_url(self, fallback_base: str = "") -> str:
        """The career site's public address (postings are below it)."""
        base = f"https://{self.host}" if self.host else fallback_base.rstrip("/")
        return f"{base}/{self.locale}/{self.site}" if self.locale else f"{base}/{self.site}"

    def api_path(self) -> str:
        return f"/wday/cxs/{self.tenant}/{self.site}"


def site_from_url(url: str) -> WorkdaySite | None:
    """Read host, tenant, site and locale from a career site URL
    (``https://acme.wd5.myworkdayjobs.com/en-US/External``, with or without
    the locale, possibly a posting URL below it). The tenant is the host's
    first label; None when the URL names no site."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    segments = [s for s in parts.path.split("/") if s]
    locale = None
    if segments and _LOCALE.match(segments[0]):
        locale = segments.pop(0)
    if not segments or segments[0] in ("wday", "job"):
        return None
    host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    return WorkdaySite(host=host, tenant=parts.hostname.split(".")[0], site=segments[0], locale=locale)


@dataclass(frozen=True)
class ListingEntry:
    """One posting as the CXS list shows it."""

    external_id: str
    path: str
    title: str | None
    locations_text: str | None
    posted_on: str | None
    bullet_fields: tuple[str, ...] = ()
    # the list's own workplace field, when it shows one; not part of the
    # fingerprint (the detail page reads it again)
    remote_type: str | None = None

    @property
    def fingerprint(self) -> str:
        """What the listing shows that moves when the posting may have
        changed. ``postedOn`` is left out: it is relative text ("Posted 4 Days
        Ago") that moves every day, and resolved against the fetch date it
        still jumps (at midnight, at the "30+ Days Ago" bucket), so it would
        refetch every posting every day. The path carries the posting's id
        and title slug; bullet fields carry the requisition id."""
        return listing_fingerprint(self.title, self.locations_text, self.path,
                                   list(self.bullet_fields))


@dataclass(frozen=True)
class Facet:
    """A facet a search can be split on: its parameter and (id, count) values."""

    parameter: str
    values: tuple[tuple[str, int | None], ...]

    @property
    def covered(self) -> int:
        return sum(count or 0 for _id, count in self.values)


@dataclass
class JobsPage:
    """One parsed page of the CXS list."""

    total: int | None
    entries: list[ListingEntry] = field(default_factory=list)
    facets: list[Facet] = field(default_factory=list)


def _json(response: Response, what: str) -> Any:
    try:
        return json.loads(response.body)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise BoardError(f"malformed JSON from Workday {what}: {exc}", response.url) from exc



def parse_jobs_page(response: Response) -> JobsPage:
    """The entries, ``total`` and facets of one list page.

    A page without ``jobPostings`` is an empty board only when it says
    ``total: 0``. Raises :class:`BoardError` for a body that is not JSON, not
    an object, without a postings list, or with a posting that has no
    ``externalPath``: such a page is not a complete listing.
    """
    data = _json(response, "job list")
    if not isinstance(data, dict):
        raise BoardError("Workday job list is not a JSON object", response.url)
    total = whole_number(data.get("total"))
    postings = data.get("jobPostings")
    if postings is None and total == 0:
        postings = []
    if not isinstance(postings, list):
        raise BoardError("Workday job list has no 'jobPostings' list", response.url)
    entries = [_entry(item, response.url) for item in postings]
    return JobsPage(total=total, entries=entries, facets=parse_facets(data.get("facets")))


def _entry(item: Any, url: str) -> ListingEntry:
    path = _text(item.get("externalPath")) if isinstance(item, dict) else None
    if not path:
        raise BoardError("Workday job list entry without an externalPath", url)
    bullets = tuple(str(b).strip() for b in item.get("bulletFields") or [] if str(b).strip())
    return ListingEntry(
        external_id=external_id_of(path, bullets),
        path=path,
        title=_text(item.get("title")),
        locations_text=_text(item.get("locationsText")),
        posted_on=_text(item.get("postedOn")),
        bullet_fields=bullets,
        remote_type=_descriptor(item.get("remoteType")),
    )


def external_id_of(path: str, bullet_fields: tuple[str, ...] | list[str] = ()) -> str:
    """The posting's id from its ``externalPath``: the part after the title
    slug (``/job/Vietnam-Hanoi/Director--Engineering_JR2021061`` →
    ``JR2021061``), which is the requisition id in the common case and stays
    unique when one requisition is posted twice (``_JR2021061-1``). A bullet
    field the path ends with wins (ids may hold underscores). The whole
    path when it has no such part."""
    last = path.rstrip("/").rsplit("/", 1)[-1]
    for bullet in bullet_fields:
        if bullet and last.endswith("_" + bullet):
            return bullet
    if "_" in last and last.split("_", 1)[1]:
        return last.split("_", 1)[1]
    return path


def parse_facets(facets: Any) -> list[Facet]:
    """Every facet with values in a list response, flattening groups
    (``locationMainGroup`` holds ``locationCountry`` and ``locations``)."""
    found: list[Facet] = []
    for node in facets if isinstance(facets, list) else []:
        if not isinstance(node, dict):
            continue
        values = node.get("values")
        if not isinstance(values, list):
            continue
        if any(isinstance(v, dict) and "facetParameter" in v for v in values):
            found.extend(parse_facets(values))
            continue
        parameter = _text(node.get("facetParameter"))
        pairs = tuple((str(v["id"]), whole_number(v.get("count"))) for v in values
                      if isinstance(v, dict) and v.get("id") not in (None, ""))
        if parameter and pairs:
            found.append(Facet(parameter, pairs))
    return found


def choose_split_facet(facets: list[Facet], applied: dict[str, Any], total: int) -> Facet | None:
    """The facet to split a capped search on: one not applied yet, with at
    least two values, whose value counts add up to at least the search's
    total when the counts are given (a facet that leaves postings without a
    value would hide them). Among those, the one whose counts cover most,
    then the one with most values (smaller searches)."""
    usable = []
    for facet in facets:
        if facet.parameter in applied or len(facet.values) < 2:
            continue
        has_counts = all(count is not None for _id, count in facet.values)
        if has_counts and facet.covered < total:
            continue
        usable.append((has_counts, facet.covered, len(facet.values), facet))
    if not usable:
        return None
    usable.sort(key=lambda row: row[:3], reverse=True)
    return usable[0][3]


def _place(text: str, country: str | None = None) -> dict[str, Any]:
    """``{raw, city, region, country}`` for one Workday location text;
    ``country`` (a name from the posting) fills a country the text does not
    name. Workday often writes the country first ("Vietnam-Hanoi", "USA - CA
    - Santa Clara", "Poland-Remote", "USA.VA.Reston"); other texts are read
    the usual way. A workplace word as the locality ("US, CA, Remote")
    leaves no city."""
    # "USA.VA.Reston": dots as separators, in a text without spaces
    split = _DOTTED.split(text) if " " not in text.strip() else _PLACE_PARTS.split(text)
    all_parts = [p for p in split if p]
    parts = [p for p in all_parts if not _WORKPLACE_PART.match(p)]
    remote_locality = bool(parts) and all_parts[-1] != parts[-1]
    if parts and country_code(parts[0]) and (
            remote_locality or not (len(parts) > 1 and country_code(parts[-1]))):
        rest = parts[1:]
        if remote_locality:
            # "US, CA, Remote": the locality is a workplace, the rest is
            # the region ("Remote" states the workplace, not a city).
            return {"raw": text, "city": None, "region": rest[-1] if rest else None,
                    "country": parts[0]}
        return {"raw": text, "city": rest[-1] if rest else None,
                "region": rest[0] if len(rest) > 1 else None, "country": parts[0]}
    place = parse_location(text) or {"raw": text, "city": None, "region": None, "country": None}
    place["country"] = place["country"] or country
    return place


def _locations(info: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    country = info.get("country")
    country_name = _text(country.get("descriptor")) if isinstance(country, dict) else None
    texts: list[str] = []
    for value in [info.get("location"), *(info.get("additionalLocations") or [])]:
        text = _text(value)
        if text and text not in texts and not _COUNT_OF_LOCATIONS.match(text):
            texts.append(text)
    # The posting's country belongs to its primary location.
    places = [_place(text, country_name if i == 0 else None) for i, text in enumerate(texts)]
    return places, texts


def listing_posting(entry: ListingEntry, source: str, site_url: str) -> Posting:
    """A posting from what the list alone shows (title, place, posted text)."""
    texts = [] if not entry.locations_text or _COUNT_OF_LOCATIONS.match(entry.locations_text) \
        else [entry.locations_text]
    return Posting(
        source=source,
        external_id=entry.external_id,
        url=site_url.rstrip("/") + entry.path,
        apply_url=site_url.rstrip("/") + entry.path,
        title=entry.title,
        # a bullet field the path ends with is the requisition id
        requisition_id=entry.external_id if entry.external_id in entry.bullet_fields else None,
        locations=[_place(t) for t in texts],
        locations_raw=texts,
        workplace_type_raw=entry.remote_type or workplace_phrase(entry.locations_text),
        posted_at_raw=entry.posted_on,
    )


def parse_job_detail(response: Response, source: str, site_url: str,
                     entry: ListingEntry | None = None) -> Posting | Gone:
    """The posting on a CXS detail response, or :class:`Gone` when the posting
    says it no longer takes applications (``canApply`` or ``posted`` false).

    The id comes from the listing entry (so it matches what the listing
    vouches for in later runs), else from the posting's URL. Raises
    :class:`BoardError` for malformed JSON or a body without a
    ``jobPostingInfo`` object.
    """
    data = _json(response, "posting")
    info = data.get("jobPostingInfo") if isinstance(data, dict) else None
    if not isinstance(info, dict):
        raise BoardError("Workday posting has no 'jobPostingInfo' object", response.url)
    external_url = _text(info.get("externalUrl"))
    path = entry.path if entry else (urlsplit(external_url).path if external_url else "")
    external_id = entry.external_id if entry else (
        external_id_of(path) if path else _text(info.get("jobReqId")) or "")
    url = external_url or (site_url.rstrip("/") + path if path else None)
    for flag in ("canApply", "posted"):
        if info.get(flag) is False:
            return Gone(source=source, external_id=external_id, url=url,
                        reason=f"no longer accepting applications ({flag}: false)")
    org = data.get("hiringOrganization")
    locations, texts = _locations(info)
    remote_text = _descriptor(info.get("remoteType"))
    # startDate is the day the posting went up (an ISO date); postedOn is
    # only relative text, kept when there is no startDate.
    start = _text(info.get("startDate"))
    posted = start if iso_date(start) else (_text(info.get("postedOn"))
                                            or (entry.posted_on if entry else None))
    return Posting(
        source=source,
        external_id=external_id,
        url=url,
        # Applications start from the posting page itself (its Apply button).
        apply_url=url,
        title=_text(info.get("title")) or (entry.title if entry else None),
        company=_text(org.get("name")) if isinstance(org, dict) else None,
        requisition_id=_text(info.get("jobReqId")),
        locations=locations,
        locations_raw=texts,
        workplace_type_raw=remote_text or next(filter(None, map(workplace_phrase, texts)), None),
        employment_type_raw=_text(info.get("timeType")),
        posted_at_raw=posted,
        deadline_raw=_end_date(info),
        description_html=_text(info.get("jobDescription")),
    )


def _descriptor(value: Any) -> str | None:
    # Workday gives some fields as text and some as {descriptor, id}.
    return _text(value.get("descriptor")) if isinstance(value, dict) else _text(value)


def _end_date(info: dict[str, Any]) -> str | None:
    """The deadline as the posting states it: the "End Date: November 9,
    2026" text when it says the same day as ``endDate`` (or there is no
    ``endDate``), else ``endDate`` itself. None without either: a posting
    with no end date has no deadline (``timeLeftToApply`` is relative text
    and states none on its own)."""
    end = iso_date(_text(info.get("endDate")))
    shown = _text(info.get("jobPostingEndDateAsText"))
    if shown and deadline(shown) and (end is None or deadline(shown) == end):
        return shown
    return end
