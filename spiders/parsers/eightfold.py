"""Eightfold career sites (``<x>.eightfold.ai`` or an employer's own host).

Two public JSON APIs, one enabled per site:

- PCSX (Career Hub sites, Microsoft's among them):
  search ``GET {base}/api/pcsx/search?domain=D&query=&location=&start=N``
  (10 a page) → ``{"status": 200, "error": {...}, "data": {"positions":
  [...], "count": N}}``; a position carries ``id``, ``name`` (the title),
  ``locations``, ``standardizedLocations``, ``workLocationOption``,
  ``postedTs``/``creationTs`` (epoch seconds), ``department``,
  ``atsJobId``/``displayJobId`` (the employer's job number) and
  ``positionUrl`` (relative). Details ``GET
  {base}/api/pcsx/position_details?position_id=ID&domain=D&hl=en`` →
  ``{"status": 200, "data": {..., "jobDescription": "<html>", "publicUrl",
  "efcustomText...": [...], "positionUserActions": {"applyAction":
  {"applyUrl"}}}}``.
- apply v2 (older sites): ``GET {base}/api/apply/v2/jobs?domain=D&start=N&num=10``
  → ``{"domain", "count", "positions": [...]}`` (no envelope), positions in
  snake_case: ``id``, ``name``/``posting_name``, ``location``,
  ``locations``, ``department``, ``t_create``/``t_update``,
  ``ats_job_id``/``display_job_id``, ``work_location_option``,
  ``job_description`` (mostly empty in the list) and
  ``canonicalPositionUrl``; one job ``GET {base}/api/apply/v2/jobs/{id}?domain=D``
  → that position with its ``job_description``.

Both shapes are read by the same functions (a field is looked up under its
camelCase and its snake_case name). ``label`` names the board in errors
("Eightfold", "Microsoft Careers"); ``site`` is the public careers site that
relative posting URLs are read against. Pure functions from a response to
positions and postings; no I/O.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urljoin

from scrapy.http import Response

from crawler.errors import BoardError
from crawler.items import Gone, Posting, listing_fingerprint
from crawler.normalize import country_code, parse_location
from spiders.parsers.values import text, texts, whole_number

PAGE_SIZE = 10  # positions per page; both APIs ignore a larger ask
SEARCH_API = "/api/pcsx/search"
DETAILS_API = "/api/pcsx/position_details"
JOBS_API = "/api/apply/v2/jobs"
APIS = ("pcsx", "apply_v2")

_MULTIPLE = re.compile(r"^multiple locations?$", re.IGNORECASE)
# "LA USA 70112": a state, a country and a postcode in one part
_STATE_COUNTRY_ZIP = re.compile(r"^(?P<region>[A-Z]{2})\s+(?P<country>[A-Za-z]{2,3})(?:\s+[\w-]+)?$")


# -- addresses


def search_url(base: str, domain: str, query: str, location: str, start: int) -> str:
    params = {"domain": domain, "query": query, "location": location, "start": start}
    return f"{base}{SEARCH_API}?{urlencode(params)}"


def search_page_url(base: str, domain: str, query: str, location: str, start: int) -> str:
    """The careers site's search page, whose script asks the search API."""
    params = {"query": query, "location": location, "start": start, "domain": domain, "hl": "en"}
    return f"{base}/careers?{urlencode(params)}"


def details_url(base: str, domain: str, position_id: str) -> str:
    params = {"position_id": position_id, "domain": domain, "hl": "en"}
    return f"{base}{DETAILS_API}?{urlencode(params)}"


def job_page_url(base: str, domain: str, position_id: str) -> str:
    """The posting's own page, whose script asks the details API."""
    return f"{base}/careers/job/{position_id}?{urlencode({'domain': domain, 'hl': 'en'})}"


def jobs_url(base: str, domain: str, query: str, location: str, start: int) -> str:
    """One page of the apply v2 listing (query and location only when set)."""
    params: dict[str, Any] = {"domain": domain}
    if query:
        params["query"] = query
    if location:
        params["location"] = location
    params |= {"start": start, "num": PAGE_SIZE}
    return f"{base}{JOBS_API}?{urlencode(params)}"


def job_url(base: str, domain: str, position_id: str) -> str:
    """One apply v2 job, with its description."""
    return f"{base}{JOBS_API}/{position_id}?{urlencode({'domain': domain})}"


# -- positions


@dataclass(frozen=True)
class Position:
    """One posting as the search (or the apply v2 listing) shows it."""

    external_id: str
    title: str | None
    locations: tuple[str, ...]
    work_option: str | None
    posted_ts: str | None
    department: str | None
    job_number: str | None
    position_url: str | None
    site: str = ""  # the public careers site relative URLs are read against
    updated_ts: str | None = None  # apply v2 ``t_update``
    description: str | None = None  # apply v2 ``job_description`` when the list carries it

    @property
    def fingerprint(self) -> str:
        """What the listing shows that moves when the posting may have changed."""
        values: tuple[Any, ...] = (self.title, list(self.locations), self.posted_ts, self.department,
                                   self.work_option, self.job_number)
        if self.updated_ts is not None:
            values += (self.updated_ts,)
        return listing_fingerprint(*values)

    @property
    def url(self) -> str:
        return urljoin(self.site, self.position_url or f"/careers/job/{self.external_id}")


@dataclass
class SearchPage:
    positions: list[Position] = field(default_factory=list)
    total: int | None = None
    company: str | None = None  # the employer's name, where the answer gives it


def _first(item: dict[str, Any], *keys: str) -> str | None:
    return next((found for key in keys if (found := text(item.get(key)))), None)


def position(item: Any, url: str = "", site: str = "", label: str = "Eightfold") -> Position:
    """One listed position, in either API's field names (also read from a
    details payload). Raises :class:`BoardError` for one without an id."""
    pid = _first(item, "id", "positionId") if isinstance(item, dict) else None
    if not pid:
        raise BoardError(f"{label} position without an id", url or None)
    description = item.get("job_description")
    return Position(
        external_id=pid,
        title=_first(item, "name", "title", "postingName", "posting_name"),
        locations=tuple(texts(item.get("locations")) or texts(item.get("standardizedLocations"))
                        or texts(item.get("location"))),
        work_option=_first(item, "workLocationOption", "work_location_option"),
        posted_ts=_first(item, "postedTs", "creationTs", "t_create"),
        department=_first(item, "department"),
        job_number=_first(item, "atsJobId", "displayJobId", "ats_job_id", "display_job_id"),
        position_url=_first(item, "positionUrl", "canonicalPositionUrl"),
        site=site,
        updated_ts=_first(item, "t_update"),
        description=description if isinstance(description, str) and description.strip() else None,
    )


def _payload(response: Response, what: str, label: str) -> dict[str, Any]:
    try:
        body = json.loads(response.body)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise BoardError(f"malformed JSON from {label} {what}: {exc}", response.url) from exc
    if not isinstance(body, dict):
        raise BoardError(f"{label} {what} is not a JSON object", response.url)
    status = body.get("status")
    if isinstance(status, int) and not isinstance(status, bool) and status >= 400:
        message = text(body.get("message")) or text(body.get("error")) or ""
        raise BoardError(f"{label} {what} says status {status} {message}".rstrip(), response.url)
    data = body.get("data")
    return data if isinstance(data, dict) else body


def parse_search(response: Response, label: str = "Eightfold", site: str = "") -> SearchPage:
    """The positions and the total count of one search page (PCSX) or
    listing page (apply v2).

    The count may be ``count`` or ``total`` (None when neither is given). A
    page without a ``positions`` list is an empty board only when its count
    says 0. Raises :class:`BoardError` for a body that is not JSON, reports
    an error status or message ("Not authorized for PCSX"), has no
    positions list, or holds a position without an id.
    """
    data = _payload(response, "search", label)
    total = whole_number(data.get("count"))
    if total is None:
        total = whole_number(data.get("total"))
    positions = data.get("positions")
    if positions is None and total == 0:
        positions = []
    if not isinstance(positions, list):
        said = text(data.get("message"))
        raise BoardError(f"{label} search has no 'positions' list" + (f": it says {said!r}" if said else ""),
                         response.url)
    branding = data.get("branding")
    company = text(branding.get("companyName")) if isinstance(branding, dict) else None
    return SearchPage([position(item, response.url, site, label) for item in positions], total, company)


# -- places and postings


def place(location: str) -> dict[str, Any]:
    """``{raw, city, region, country}`` for an Eightfold location text. Sites
    write the country first ("United Kingdom, London, London"; "United
    States, Washington, Redmond"), name no city ("Multiple Locations, United
    States"), write it last ("Mumbai, Maharashtra, India"; "Los
    Gatos,California,United States of America"), or end with state, country
    and postcode in one part ("New Orleans, LA USA 70112")."""
    parts = [p.strip() for p in location.split(",") if p.strip() and not _MULTIPLE.match(p.strip())]
    if len(parts) >= 2 and country_code(parts[0]) and not country_code(parts[-1]):
        return {"raw": location, "city": parts[-1], "region": parts[1] if len(parts) > 2 else None,
                "country": parts[0]}
    if len(parts) == 1 and country_code(parts[0]):
        return {"raw": location, "city": None, "region": None, "country": parts[0]}
    if len(parts) >= 2 and (found := _STATE_COUNTRY_ZIP.match(parts[-1])) \
            and country_code(found["country"]):
        return {"raw": location, "city": parts[0], "region": found["region"], "country": found["country"]}
    return parse_location(", ".join(parts)) | {"raw": location} if parts else {
        "raw": location, "city": None, "region": None, "country": None}


def listing_posting(pos: Position, source: str, company: str | None = None) -> Posting:
    """A posting from what the listing alone shows."""
    return Posting(
        source=source,
        external_id=pos.external_id,
        url=pos.url,
        apply_url=pos.url,
        title=pos.title,
        company=company,
        department=pos.department,
        requisition_id=pos.job_number,
        locations=[place(t) for t in pos.locations],
        locations_raw=list(pos.locations),
        workplace_type_raw=pos.work_option,
        posted_at_raw=pos.posted_ts,
        description_html=pos.description,
    )


def _apply_url(data: dict[str, Any]) -> str | None:
    actions = data.get("positionUserActions")
    action = actions.get("applyAction") if isinstance(actions, dict) else None
    return text(action.get("applyUrl")) if isinstance(action, dict) else None


def _custom(data: dict[str, Any], *names: str) -> str | None:
    """The first value of an ``efcustomText...`` field (a list of texts)."""
    return next((found for name in names if (found := text(data.get(name)))), None)


def parse_position_details(response: Response, source: str, listed: Position | None = None,
                           company: str | None = None, label: str = "Eightfold", site: str = ""
                           ) -> Posting | Gone:
    """The posting on a details response (PCSX ``position_details`` or one
    apply v2 job), filled from the listed position where the details leave
    a field out. Gone when the details say the position is not found (an
    error status 404/410 inside the answer). Raises :class:`BoardError` for
    malformed JSON, another error status, or a payload without a
    description (``jobDescription`` or ``job_description``) or an id to name
    it by.
    """
    try:
        data = _payload(response, "position details", label)
    except BoardError as exc:
        if listed is not None and re.search(r"status (?:404|410)\b", str(exc)):
            return Gone(source=source, external_id=listed.external_id, url=listed.url,
                        reason="position details answered not found")
        raise
    description = data.get("jobDescription")
    if not isinstance(description, str):
        description = data.get("job_description")
    if not isinstance(description, str):
        raise BoardError(f"{label} position details have no 'jobDescription' or 'job_description'",
                         response.url)
    if listed is None:
        listed = position(data, response.url, site, label)
    try:
        detail = position(data, response.url, site or listed.site, label)
    except BoardError:
        detail = listed
    posting = listing_posting(detail, source, company)
    posting.external_id = listed.external_id
    # What the details leave out, the listing gave.
    posting.title = posting.title or listed.title
    posting.department = posting.department or listed.department
    posting.requisition_id = posting.requisition_id or listed.job_number
    posting.workplace_type_raw = posting.workplace_type_raw or listed.work_option
    posting.posted_at_raw = posting.posted_at_raw or listed.posted_ts
    if not posting.locations_raw:
        posting.locations_raw = list(listed.locations)
        posting.locations = [place(t) for t in listed.locations]
    public = text(data.get("publicUrl"))
    posting.url = public or (detail.url if detail.position_url else listed.url)
    posting.apply_url = _apply_url(data) or posting.url
    posting.description_html = description
    posting.employment_type_raw = text(data.get("employmentType")) or _custom(
        data, "efcustomTextEmploymentType", "efcustomTextTimeType")
    skills = data.get("skills")
    if isinstance(skills, list):
        posting.skills = [s for s in (text(v) for v in skills) if s]
    return posting
