"""Microsoft Careers (apply.careers.microsoft.com), on Eightfold's PCSX API.

- Search: ``GET {base}/api/pcsx/search?domain=microsoft.com&query=&location=&start=N``
  (10 a page, newest first) → ``{"status": 200, "data": {"positions": [...],
  "count": N}}``; a position carries ``id``, ``name`` (the title),
  ``locations``, ``standardizedLocations``, ``workLocationOption``,
  ``postedTs`` (epoch seconds), ``department``, ``atsJobId`` (the Microsoft
  job number), ``displayJobId``, ``positionUrl``.
- Detail: ``GET {base}/api/pcsx/position_details?position_id=ID&domain=microsoft.com&hl=en``
  → ``{"status": 200, "data": {"jobDescription": "<html>", ...}}``.

No real response was saved (see the fixtures README), so the functions are
tolerant: the title may be ``name`` or ``title``, the count ``count`` or
``total``, the payload inside ``data`` or not. Pure functions from a
response to positions and postings; no I/O.
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
from spiders.parsers.values import text as _text
from spiders.parsers.values import texts as _texts
from spiders.parsers.values import whole_number

DOMAIN = "microsoft.com"
PAGE_SIZE = 10  # positions per search page; the API ignores a larger ask
PUBLIC_SITE = "https://apply.careers.microsoft.com"
SEARCH_API = "/api/pcsx/search"
DETAILS_API = "/api/pcsx/position_details"

_MULTIPLE = re.compile(r"^multiple locations?$", re.IGNORECASE)


def search_url(base: str, query: str, location: str, start: int) -> str:
    params = {"domain": DOMAIN, "query": query, "location": location, "start": start}
    return f"{base}{SEARCH_API}?{urlencode(params)}"


def search_page_url(base: str, query: str, location: str, start: int) -> str:
    """The careers site's search page, whose script asks the search API."""
    params = {"query": query, "location": location, "start": start, "domain": DOMAIN, "hl": "en"}
    return f"{base}/careers?{urlencode(params)}"


def details_url(base: str, position_id: str) -> str:
    params = {"position_id": position_id, "domain": DOMAIN, "hl": "en"}
    return f"{base}{DETAILS_API}?{urlencode(params)}"


def job_page_url(base: str, position_id: str) -> str:
    """The posting's own page, whose script asks the details API."""
    return f"{base}/careers/job/{position_id}?{urlencode({'domain': DOMAIN, 'hl': 'en'})}"


@dataclass(frozen=True)
class Position:
    """One posting as the search shows it."""

    external_id: str
    title: str | None
    locations: tuple[str, ...]
    work_option: str | None
    posted_ts: str | None
    department: str | None
    job_number: str | None
    position_url: str | None

    @property
    def fingerprint(self) -> str:
        """What the search shows that moves when the posting may have changed."""
        return listing_fingerprint(self.title, list(self.locations), self.posted_ts,
                                   self.department, self.work_option, self.job_number)

    @property
    def url(self) -> str:
        return urljoin(PUBLIC_SITE, self.position_url or f"/careers/job/{self.external_id}")


@dataclass
class SearchPage:
    positions: list[Position] = field(default_factory=list)
    total: int | None = None


def _payload(response: Response, what: str) -> dict[str, Any]:
    try:
        body = json.loads(response.body)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise BoardError(f"malformed JSON from Microsoft Careers {what}: {exc}", response.url) from exc
    if not isinstance(body, dict):
        raise BoardError(f"Microsoft Careers {what} is not a JSON object", response.url)
    status = body.get("status")
    if isinstance(status, int) and not isinstance(status, bool) and status >= 400:
        message = body.get("message") or body.get("error") or ""
        raise BoardError(f"Microsoft Careers {what} says status {status} {message}".rstrip(),
                         response.url)
    data = body.get("data")
    return data if isinstance(data, dict) else body




def parse_search(response: Response) -> SearchPage:
    """The positions and the total count of one search page.

    The count may be ``count`` or ``total`` (None when neither is given). A
    page without a ``positions`` list is an empty board only when its count
    says 0. Raises :class:`BoardError` for a body that is not JSON, reports
    an error status, has no positions list, or holds a position without an
    id.
    """
    data = _payload(response, "search")
    total = whole_number(data.get("count"))
    if total is None:
        total = whole_number(data.get("total"))
    positions = data.get("positions")
    if positions is None and total == 0:
        positions = []
    if not isinstance(positions, list):
        raise BoardError("Microsoft Careers search has no 'positions' list", response.url)
    return SearchPage([position(item, response.url) for item in positions], total)


def position(item: Any, url: str = "") -> Position:
    """One search entry (also read from a details payload)."""
    pid = _text(item.get("id")) or _text(item.get("positionId")) if isinstance(item, dict) else None
    if not pid:
        raise BoardError("Microsoft Careers position without an id", url or None)
    ts = item.get("postedTs") or item.get("creationTs")
    return Position(
        external_id=pid,
        title=_text(item.get("name")) or _text(item.get("title")) or _text(item.get("postingName")),
        locations=tuple(_texts(item.get("locations")) or _texts(item.get("standardizedLocations"))
                        or _texts(item.get("location"))),
        work_option=_text(item.get("workLocationOption")),
        posted_ts=_text(ts),
        department=_text(item.get("department")),
        job_number=_text(item.get("atsJobId")) or _text(item.get("displayJobId")),
        position_url=_text(item.get("positionUrl")),
    )


def place(text: str) -> dict[str, Any]:
    """``{raw, city, region, country}`` for a Microsoft location text, which
    puts the country first ("United Kingdom, London, London"; "United
    States, Washington, Redmond") or names no city ("Multiple Locations,
    United States"); city-first texts are read the usual way."""
    parts = [p.strip() for p in text.split(",") if p.strip() and not _MULTIPLE.match(p.strip())]
    if len(parts) >= 2 and country_code(parts[0]) and not country_code(parts[-1]):
        return {"raw": text, "city": parts[-1], "region": parts[1] if len(parts) > 2 else None,
                "country": parts[0]}
    if len(parts) == 1 and country_code(parts[0]):
        return {"raw": text, "city": None, "region": None, "country": parts[0]}
    return parse_location(", ".join(parts)) | {"raw": text} if parts else {
        "raw": text, "city": None, "region": None, "country": None}


def listing_posting(pos: Position, source: str) -> Posting:
    """A posting from what the search alone shows."""
    return Posting(
        source=source,
        external_id=pos.external_id,
        url=pos.url,
        apply_url=pos.url,
        title=pos.title,
        company="Microsoft",
        department=pos.department,
        requisition_id=pos.job_number,
        locations=[place(t) for t in pos.locations],
        locations_raw=list(pos.locations),
        workplace_type_raw=pos.work_option,
        posted_at_raw=pos.posted_ts,
    )


def parse_position_details(response: Response, source: str, listed: Position | None = None
                           ) -> Posting | Gone:
    """The posting on a details response, filled from the search entry
    where the details leave a field out. Gone when the details say the
    position is not found (an error status 404/410 inside a 200 answer).
    Raises :class:`BoardError` for malformed JSON, another error status, or
    a payload without ``jobDescription`` or an id to name it by.
    """
    try:
        data = _payload(response, "position details")
    except BoardError as exc:
        if listed is not None and re.search(r"status (?:404|410)\b", str(exc)):
            return Gone(source=source, external_id=listed.external_id, url=listed.url,
                        reason="position details answered not found")
        raise
    if not isinstance(data.get("jobDescription"), str):
        raise BoardError("Microsoft Careers position details have no 'jobDescription'", response.url)
    if listed is None:
        listed = position(data, response.url)
    try:
        detail = position(data, response.url)
    except BoardError:
        detail = listed
    posting = listing_posting(detail, source)
    posting.external_id = listed.external_id
    # What the details leave out, the search entry gave.
    posting.title = posting.title or listed.title
    posting.department = posting.department or listed.department
    posting.requisition_id = posting.requisition_id or listed.job_number
    posting.workplace_type_raw = posting.workplace_type_raw or listed.work_option
    posting.posted_at_raw = posting.posted_at_raw or listed.posted_ts
    if not posting.locations_raw:
        posting.locations_raw = list(listed.locations)
        posting.locations = [place(t) for t in listed.locations]
    public = _text(data.get("publicUrl"))
    posting.url = posting.apply_url = public or (detail.url if detail.position_url else listed.url)
    posting.description_html = data["jobDescription"]
    posting.employment_type_raw = _text(data.get("employmentType"))
    skills = data.get("skills")
    if isinstance(skills, list):
        posting.skills = [s for s in (_text(v) for v in skills) if s]
    return posting
