"""Oracle Recruiting Cloud: the candidate experience REST API its career sites call.

List: ``GET {base}/hcmRestApi/resources/latest/recruitingCEJobRequisitions
?onlyData=true&expand=requisitionList.secondaryLocations
&finder=findReqs;siteNumber={site},limit=25,offset=N,sortBy=POSTING_DATES_DESC``
gives ``{"items": [{"TotalJobsCount": T, "requisitionList": [...], ...facets}]}``:
one search result whose ``requisitionList`` holds the page. The listing has
ended once the offset reaches ``TotalJobsCount`` (or a page comes back
empty), and it was seen whole when it gave as many distinct requisitions as
``TotalJobsCount`` says. Without ``expand`` the API answers with a real
total and no ``requisitionList`` at all, so a result without that list is
an error, never an empty board.

Detail: ``GET {base}/hcmRestApi/resources/latest/recruitingCEJobRequisitionDetails
?expand=all&onlyData=true&finder=ById;Id="{Id}",siteNumber={site}`` gives
``{"items": [{...}]}`` with the ad (``ExternalDescriptionStr``,
``ExternalResponsibilitiesStr``, ``ExternalQualificationsStr``), the posting
window (``ExternalPostedStartDate``, ``ExternalPostedEndDate``) and the
flexible fields (``requisitionFlexFields``: ``Prompt``/``Value``); an empty
``items`` means the site no longer shows the requisition.

Pure functions from a response to postings; no I/O. Values are mapped as
the board gives them (structure first: ``PrimaryLocationCountry`` and each
secondary location's ``CountryCode`` are ISO codes, ``WorkplaceTypeCode`` is
the locale-independent workplace field); :mod:`crawler.normalize` tidies
them.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from scrapy.http import Response

from crawler.errors import BoardError
from crawler.items import Posting, listing_fingerprint
from crawler.normalize import employment_type, parse_location
from spiders.parsers.values import text as _text
from spiders.parsers.values import texts as _texts

PAGE_SIZE = 25  # requisitions asked for per page, as the career sites ask
API_PATH = "/hcmRestApi/resources/latest"
# A site number is a finder value: anything beyond these characters could
# change the finder itself (",limit=1", ";" ...).
SITE_NUMBER = re.compile(r"[A-Za-z0-9_-]+")
HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d+)?")
# .../hcmUI/CandidateExperience/{language}/sites/{site}/...
_SITE_PATH = re.compile(r"/(?:(?P<lang>[A-Za-z]{2}(?:[-_][A-Za-z]{2,4})?)/)?sites/(?P<site>[^/?#]+)")
# The ad's sections in the order the posting page shows them.
SECTIONS = ("ExternalDescriptionStr", "ExternalResponsibilitiesStr", "ExternalQualificationsStr")
SECTION_TITLES = {"ExternalResponsibilitiesStr": "Responsibilities",
                  "ExternalQualificationsStr": "Qualifications"}
# WorkplaceTypeCode values, with the label the career site shows for each.
WORKPLACE_CODES = {"ORA_ON_SITE": "On-site", "ORA_HYBRID": "Hybrid", "ORA_REMOTE": "Remote"}
_WORKPLACE_KINDS = {"ORA_ON_SITE": "onsite", "ORA_HYBRID": "hybrid", "ORA_REMOTE": "remote"}
# Flexible fields whose prompt names pay: their value is pay text.
_PAY_PROMPT = re.compile(r"\b(?:pay|salary|salaries|compensation|wage|wages|remuneration)\b", re.I)


@dataclass(frozen=True)
class OracleSite:
    """Where a career site lives: its host (for the public posting links),
    its site number and the language of its pages."""

    host: str | None
    site: str
    language: str = "en"

    def public_base(self, base_url: str) -> str:
        return f"https://{self.host}" if self.host else base_url


@dataclass
class ListingPage:
    """One listing page: its requisitions as the board gave them, the
    postings read from them alone, and the board's ``TotalJobsCount``."""

    items: list[dict[str, Any]]
    postings: list[Posting]
    total: int


def site_from_url(url: str) -> OracleSite | None:
    """The career site a candidate experience URL names
    (``https://{host}/hcmUI/CandidateExperience/{lang}/sites/{site}/...``),
    or None when it names none."""
    parts = urlsplit(url.strip()) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    match = _SITE_PATH.search(parts.path)
    if match is None or not SITE_NUMBER.fullmatch(match.group("site")):
        return None
    return OracleSite(host=parts.netloc.lower(), site=match.group("site"),
                      language=match.group("lang") or "en")


def listing_url(base_url: str, site: str, offset: int, limit: int = PAGE_SIZE) -> str:
    return (f"{base_url}{API_PATH}/recruitingCEJobRequisitions?onlyData=true"
            f"&expand=requisitionList.secondaryLocations"
            f"&finder=findReqs;siteNumber={site},limit={limit},offset={offset},sortBy=POSTING_DATES_DESC")


def detail_url(base_url: str, site: str, requisition_id: str) -> str:
    return (f"{base_url}{API_PATH}/recruitingCEJobRequisitionDetails?expand=all&onlyData=true"
            f"&finder=ById;Id=%22{quote(requisition_id, safe='')}%22,siteNumber={site}")


def posting_url(public_base: str, site: OracleSite, requisition_id: str) -> str:
    return (f"{public_base}/hcmUI/CandidateExperience/{site.language}/sites/{site.site}"
            f"/job/{quote(requisition_id, safe='')}")


def next_offset(offset: int, count: int, total: int) -> int | None:
    """Where the next page starts, or None when the listing has ended: the
    offset reached ``TotalJobsCount``, or a page came back empty."""
    if count <= 0:
        return None
    following = offset + count
    return following if following < total else None


def fingerprint(item: dict[str, Any]) -> str:
    """What the listing shows of a requisition: when it moves, the detail is
    fetched again."""
    secondary = [_text(place.get("Name")) for place in item.get("secondaryLocations") or []
                 if isinstance(place, dict)]
    return listing_fingerprint(item.get("Title"), item.get("PostedDate"), item.get("PostingEndDate"),
                               item.get("PrimaryLocation"), secondary, item.get("WorkplaceTypeCode"),
                               item.get("WorkplaceType"), item.get("JobSchedule"), item.get("JobType"))


def _load(response: Response) -> Any:
    try:
        return json.loads(response.body)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise BoardError(f"malformed JSON from Oracle Recruiting Cloud: {exc}", response.url) from exc


def parse_listing(response: Response, source: str, site: OracleSite, public_base: str) -> ListingPage:
    """One listing page. Raises :class:`BoardError` for a body that is not
    JSON, holds no search result, no usable ``TotalJobsCount`` or no
    ``requisitionList``, or a requisition without an ``Id``. A result with
    ``TotalJobsCount: 0`` and an empty list is a valid, empty board."""
    data = _load(response)
    results = data.get("items") if isinstance(data, dict) else None
    if not isinstance(results, list) or not results or not isinstance(results[0], dict):
        raise BoardError("Oracle Recruiting Cloud listing has no search result in 'items'", response.url)
    result = results[0]
    total = result.get("TotalJobsCount")
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        raise BoardError(f"Oracle Recruiting Cloud listing has no usable 'TotalJobsCount' ({total!r})",
                         response.url)
    items = result.get("requisitionList")
    if not isinstance(items, list):
        raise BoardError("Oracle Recruiting Cloud listing has no 'requisitionList'", response.url)
    for item in items:
        if not isinstance(item, dict) or _text(item.get("Id")) is None:
            raise BoardError("Oracle Recruiting Cloud requisition without an Id", response.url)
    postings = [_posting(item, source, site, public_base) for item in items]
    return ListingPage(items=items, postings=postings, total=total)


def parse_detail(response: Response, source: str, site: OracleSite, public_base: str,
                 listing: dict[str, Any] | None = None) -> Posting | None:
    """The whole posting from its detail, completed by what the listing
    showed of it (``listing``; the detail's non-empty values win). None when
    the detail holds no requisition (the site no longer shows it). Raises
    :class:`BoardError` for a body that is not JSON or has no ``items``
    list, or a requisition without an ``Id``."""
    data = _load(response)
    results = data.get("items") if isinstance(data, dict) else None
    if not isinstance(results, list):
        raise BoardError("Oracle Recruiting Cloud detail has no 'items' list", response.url)
    if not results:
        return None
    if not isinstance(results[0], dict):
        raise BoardError("Oracle Recruiting Cloud detail is not a JSON object", response.url)
    item = dict(listing or {})
    item.update({k: v for k, v in results[0].items() if v not in (None, "", [])})
    if _text(item.get("Id")) is None:
        raise BoardError("Oracle Recruiting Cloud requisition without an Id", response.url)
    posting = _posting(item, source, site, public_base)
    posting.description_html = _ad_html(item)
    return posting


def _posting(item: dict[str, Any], source: str, site: OracleSite, public_base: str) -> Posting:
    ext = _text(item["Id"]) or ""
    locations = _locations(item)
    workplace_raw, workplace = _workplace(item)
    return Posting(
        source=source,
        external_id=ext,
        url=posting_url(public_base, site, ext),
        title=_text(item.get("Title")),
        company=_text(item.get("LegalEmployer")),
        department=_text(item.get("Department")) or _text(item.get("Organization"))
        or _text(item.get("JobFamily")) or _text(item.get("Category")),
        # the job number the posting page shows ("Job Identification") is the Id
        requisition_id=_text(item.get("RequisitionNumber")) or ext,
        locations=locations,
        locations_raw=[place["raw"] for place in locations if place["raw"]],
        workplace_type=workplace,
        workplace_type_raw=workplace_raw,
        employment_type_raw=_employment(item),
        salary_raw=_pay_texts(item.get("requisitionFlexFields")),
        # the detail's posting instant, else the listing's posting date
        posted_at_raw=_text(item.get("ExternalPostedStartDate")) or _text(item.get("PostedDate")),
        deadline_raw=_text(item.get("ExternalPostedEndDate")) or _text(item.get("PostingEndDate")),
        language=_text(item.get("ContentLocale")),
    )


def _place(name: Any, country: Any) -> dict[str, Any] | None:
    text = _text(name)
    place = parse_location(text) if text else None
    code = _text(country)
    if place is None:
        return {"raw": None, "city": None, "region": None, "country": code} if code else None
    # the ISO code the board gives wins over what the name suggests
    return {**place, "country": code or place["country"]}


def _locations(item: dict[str, Any]) -> list[dict[str, Any]]:
    entries = [(item.get("PrimaryLocation"), item.get("PrimaryLocationCountry"))]
    entries += [(extra.get("Name"), extra.get("CountryCode"))
                for extra in item.get("secondaryLocations") or [] if isinstance(extra, dict)]
    places: list[dict[str, Any]] = []
    for name, country in entries:
        place = _place(name, country)
        if place is not None and place not in places:
            places.append(place)
    return places


def _workplace(item: dict[str, Any]) -> tuple[str | None, str | None]:
    """(raw text, canonical type). The code is the structured field; the
    label is what the page shows (localized), kept as the raw text, or the
    code's own label when the site gives no label."""
    code = _text(item.get("WorkplaceTypeCode"))
    label = _text(item.get("WorkplaceType"))
    return label or WORKPLACE_CODES.get(code or "") or code, _WORKPLACE_KINDS.get(code or "")


def _employment(item: dict[str, Any]) -> str | None:
    """The job type (regular, temporary, internship ...) and contract type,
    then the schedule (full or part time). A type that only says
    "regular" or "permanent" says less than the schedule, so it comes
    after it: "Part time, Regular" is part time."""
    kinds = _texts([item.get("JobType"), item.get("ContractType")])
    schedule = _texts(item.get("JobSchedule"))
    specific = [kind for kind in kinds if employment_type(kind) not in ("full_time", "other")]
    general = [kind for kind in kinds if kind not in specific]
    values = [*specific, *schedule, *general]
    return ", ".join(dict.fromkeys(values)) or None


def _pay_texts(flex_fields: Any) -> list[str]:
    """The values of flexible fields whose prompt names pay ("Pay Range",
    "Base Pay/Salary"), for the normalizer's pay reader."""
    found: list[str] = []
    for field in flex_fields if isinstance(flex_fields, list) else []:
        if not isinstance(field, dict) or not _PAY_PROMPT.search(_text(field.get("Prompt")) or ""):
            continue
        if (value := _text(field.get("Value"))) and value not in found:
            found.append(value)
    return found


def _ad_html(item: dict[str, Any]) -> str | None:
    """The ad's sections as one HTML document, each after the first under
    its title."""
    parts = []
    for name in SECTIONS:
        section = _text(item.get(name))
        if not section:
            continue
        if name in SECTION_TITLES and parts:
            parts.append(f"<h2>{html.escape(SECTION_TITLES[name])}</h2>")
        parts.append(section)
    return "\n".join(parts) or None
