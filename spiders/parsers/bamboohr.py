"""BambooHR careers site: the job list and one detail per posting.

List: ``GET https://{company}.bamboohr.com/careers/list`` gives
``{meta: {totalCount}, result: [...]}``, every open posting in one answer
(``id``, ``jobOpeningName``, ``departmentLabel``, ``employmentStatusLabel``,
``location {city, state}``, ``atsLocation {country, state, province,
city}``, ``isRemote``, ``locationType``). It is read whole when it holds as
many postings as ``totalCount`` says. Detail:
``GET .../careers/{id}/detail`` gives ``{result: {jobOpening: {...}}}``
with what the list lacks: ``description`` (HTML), ``datePosted``,
``compensation`` (the employer's own text, e.g. "£50,000–£60,000"),
``location.addressCountry``, ``jobOpeningShareUrl`` and
``jobOpeningStatus``.

``location`` and ``atsLocation`` are alternatives, not parts of one
address: on-site and hybrid postings fill ``location``, remote ones
``atsLocation`` (the area the job may be done from). ``locationType`` is
BambooHR's location type: ``0`` on-site, ``1`` remote, ``2`` hybrid;
``isRemote: true`` also states remote. Pure functions from a response to
postings; no I/O.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from scrapy.http import Response

from crawler.errors import BoardError
from crawler.items import Gone, Posting, listing_fingerprint
from spiders.parsers.values import text, whole_number

# BambooHR's location types, as its careers pages label them.
LOCATION_TYPES = {"0": "On-site", "1": "Remote", "2": "Hybrid"}


@dataclass
class Listing:
    """The job list: its items as the board gave them and the count it
    reports (``meta.totalCount``; None when absent)."""

    items: list[dict[str, Any]]
    total: int | None


def site_url(company: str) -> str:
    return f"https://{quote(company, safe='')}.bamboohr.com"


def list_url(base_url: str) -> str:
    return f"{base_url}/careers/list"


def detail_url(base_url: str, item_id: str) -> str:
    return f"{base_url}/careers/{quote(item_id, safe='')}/detail"


def posting_url(company: str, item_id: str) -> str:
    return f"{site_url(company)}/careers/{quote(item_id, safe='')}"


def fingerprint(item: dict[str, Any]) -> str:
    """What the list shows of a posting: when it moves, the detail is
    fetched again."""
    return listing_fingerprint(*(item.get(key) for key in (
        "jobOpeningName", "departmentLabel", "employmentStatusLabel", "employmentType", "location",
        "atsLocation", "isRemote", "locationType")))


def _load(response: Response) -> Any:
    try:
        return json.loads(response.body)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise BoardError(f"malformed JSON from BambooHR: {exc}", response.url) from exc


def parse_list(response: Response) -> Listing:
    """The job list. Raises :class:`BoardError` for a body that is not JSON,
    has no ``result`` list, or holds an item without an id.
    ``{"meta": {"totalCount": 0}, "result": []}`` is a valid, empty board."""
    data = _load(response)
    if not isinstance(data, dict) or not isinstance(data.get("result"), list):
        raise BoardError("BambooHR job list has no 'result' list", response.url)
    items = data["result"]
    for item in items:
        if not isinstance(item, dict) or not text(item.get("id")):
            raise BoardError("BambooHR job without an id", response.url)
    meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
    return Listing(items=items, total=whole_number(meta.get("totalCount")))


def parse_detail(response: Response, source: str, company: str, listing: dict[str, Any]) -> Posting | Gone:
    """The posting from its detail, completed by its list item
    (``listing``, which names its id). A posting whose detail says it is no
    longer open (``jobOpeningStatus`` other than "Open") is a Gone. Raises
    :class:`BoardError` for a body that is not JSON or has no
    ``result.jobOpening`` object."""
    data = _load(response)
    result = data.get("result") if isinstance(data, dict) else None
    opening = result.get("jobOpening") if isinstance(result, dict) else None
    if not isinstance(opening, dict):
        raise BoardError("BambooHR job detail has no 'result.jobOpening' object", response.url)
    ext = str(text(listing.get("id")))
    status = text(opening.get("jobOpeningStatus"))
    if status and status.casefold() != "open":
        return Gone(source=source, external_id=ext, url=response.url,
                    reason=f"posting page says it is {status.casefold()}")
    item = dict(listing)
    item.update({k: v for k, v in opening.items() if v is not None})
    posting = _posting(item, source, company)
    # the detail's own share link, else the one the list implies
    posting.url = text(opening.get("jobOpeningShareUrl")) or posting.url
    compensation = text(opening.get("compensation"))
    posting.salary_raw = [compensation] if compensation else []
    posting.posted_at_raw = text(opening.get("datePosted"))
    posting.description_html = text(opening.get("description"))
    return posting


def _posting(item: dict[str, Any], source: str, company: str) -> Posting:
    ext = str(text(item.get("id")))
    locations = _locations(item)
    return Posting(
        source=source,
        external_id=ext,
        url=posting_url(company, ext),
        title=text(item.get("jobOpeningName")),
        department=text(item.get("departmentLabel")),
        locations=locations,
        locations_raw=[place["raw"] for place in locations if place["raw"]],
        workplace_type_raw=_workplace(item),
        employment_type_raw=", ".join(
            t for t in (text(item.get("employmentStatusLabel")), text(item.get("employmentType"))) if t
        ) or None,
    )


def _workplace(item: dict[str, Any]) -> str | None:
    if item.get("isRemote") is True:
        return "Remote"
    return LOCATION_TYPES.get(str(text(item.get("locationType"))))


def _locations(item: dict[str, Any]) -> list[dict[str, Any]]:
    """``location`` (city, state, and on the detail addressCountry) and
    ``atsLocation`` (city, state or province, country): a posting fills one
    or the other; both are kept when both are filled."""
    places: list[dict[str, Any]] = []
    for key, country_key, region_keys in (("location", "addressCountry", ("state",)),
                                          ("atsLocation", "country", ("state", "province"))):
        value = item.get(key)
        if not isinstance(value, dict):
            continue
        city = text(value.get("city"))
        region = next((r for k in region_keys if (r := text(value.get(k)))), None)
        country = text(value.get(country_key))
        same = region and city and region.casefold() == city.casefold()
        parts = [city, None if same else region, country]
        raw = ", ".join(p for p in parts if p) or None
        place = {"raw": raw, "city": city, "region": region, "country": country}
        if raw and place not in places:
            places.append(place)
    return places
