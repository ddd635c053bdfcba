"""SmartRecruiters Posting API: a paged listing plus one detail per posting.

List: ``GET {base}/v1/companies/{company}/postings?limit=100&offset=N`` gives
``{offset, limit, totalFound, content[...]}``; the listing has ended once
the offset reaches ``totalFound``, and it was seen whole when it gave as
many distinct postings as ``totalFound`` says. Detail:
``GET {base}/v1/companies/{company}/postings/{id}`` (the item's ``ref``)
adds the ad itself (``jobAd.sections``: company description, job
description, qualifications, additional information, each HTML ``text``)
and the apply link. Pure functions from a response to postings; no I/O.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from scrapy.http import Response

from crawler.errors import BoardError
from crawler.items import Gone, Posting, listing_fingerprint
from spiders.parsers.values import text as _text

PAGE_SIZE = 100  # postings asked for per page; the API's maximum
PUBLIC_PAGE = "https://jobs.smartrecruiters.com"
# The ad's sections in the order the posting page shows them.
SECTIONS = ("companyDescription", "jobDescription", "qualifications", "additionalInformation")


@dataclass
class ListingPage:
    """One listing page: its items as the board gave them, the postings
    read from them, and the board's ``totalFound``."""

    items: list[dict[str, Any]]
    postings: list[Posting]
    total: int


def listing_url(base_url: str, company: str, offset: int, limit: int = PAGE_SIZE) -> str:
    return f"{base_url}/v1/companies/{quote(company, safe='')}/postings?limit={limit}&offset={offset}"


def detail_url(base_url: str, company: str, item: dict[str, Any]) -> str:
    """The item's ``ref`` (its detail endpoint) as a path on ``base_url``, so
    a mirror or replay server is asked, never the host the ref names."""
    ref = item.get("ref")
    path = urlsplit(ref).path if isinstance(ref, str) else ""
    if not path.startswith("/v1/companies/"):
        path = f"/v1/companies/{quote(company, safe='')}/postings/{quote(str(item.get('id')), safe='')}"
    return base_url + path


def next_offset(offset: int, count: int, total: int) -> int | None:
    """Where the next page starts, or None when the listing has ended: the
    offset reached ``totalFound``, or a page came back empty."""
    if count <= 0:
        return None
    following = offset + count
    return following if following < total else None


def fingerprint(item: dict[str, Any]) -> str:
    """What the listing shows of a posting: when it moves, the detail page
    is fetched again."""
    location = item.get("location") if isinstance(item.get("location"), dict) else {}
    return listing_fingerprint(item.get("releasedDate"), item.get("name"), location.get("fullLocation"),
                               item.get("refNumber"))


def _load(response: Response) -> Any:
    try:
        return json.loads(response.body)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise BoardError(f"malformed JSON from SmartRecruiters: {exc}", response.url) from exc


def parse_listing(response: Response, source: str, company: str) -> ListingPage:
    """One listing page. Raises :class:`BoardError` for a body that is not
    JSON, lacks ``content`` or ``totalFound``, or holds an item without an
    id. ``{"totalFound": 0, "content": []}`` is a valid, empty page."""
    data = _load(response)
    if not isinstance(data, dict) or not isinstance(data.get("content"), list):
        raise BoardError("SmartRecruiters listing has no 'content' list", response.url)
    total = data.get("totalFound")
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        raise BoardError(f"SmartRecruiters listing has no usable 'totalFound' ({total!r})", response.url)
    items = data["content"]
    for item in items:
        if not isinstance(item, dict) or item.get("id") in (None, ""):
            raise BoardError("SmartRecruiters posting without an id", response.url)
    return ListingPage(items=items, postings=[_posting(item, source, company) for item in items], total=total)


def parse_detail(response: Response, source: str, company: str,
                 listing: dict[str, Any] | None = None) -> Posting | Gone:
    """The whole posting from its detail page, completed by what the listing
    showed of it (``listing``). Tolerant: a detail without ``jobAd`` gives a
    posting without a description. A posting the board marks ``active:
    false`` is a Gone. Raises :class:`BoardError` for a body that is not a
    JSON object or names no posting id."""
    data = _load(response)
    if not isinstance(data, dict):
        raise BoardError("SmartRecruiters posting is not a JSON object", response.url)
    item = dict(listing or {})
    item.update({k: v for k, v in data.items() if v is not None})
    if item.get("id") in (None, ""):
        raise BoardError("SmartRecruiters posting without an id", response.url)
    if data.get("active") is False:
        return Gone(source=source, external_id=str(item["id"]), url=response.url,
                    reason="posting page says it is no longer active")
    posting = _posting(item, source, company)
    posting.apply_url = _text(data.get("applyUrl")) or posting.apply_url
    posting.description_html = _ad_html(data.get("jobAd"))
    return posting



def _label(value: Any) -> str | None:
    return _text(value.get("label")) if isinstance(value, dict) else None


def _posting(item: dict[str, Any], source: str, company: str) -> Posting:
    ext = str(item["id"])
    owner = item.get("company") if isinstance(item.get("company"), dict) else {}
    identifier = _text(owner.get("identifier")) or company
    location = item.get("location") if isinstance(item.get("location"), dict) else {}
    place = _location(location)
    language = item.get("language")
    return Posting(
        source=source,
        external_id=ext,
        url=f"{PUBLIC_PAGE}/{quote(identifier, safe='')}/{quote(ext, safe='')}",
        title=item.get("name"),
        company=_text(owner.get("name")),
        department=_label(item.get("department")) or _label(item.get("function")),
        requisition_id=_text(item.get("refNumber")),
        locations=[place] if place else [],
        locations_raw=[place["raw"]] if place and place["raw"] else [],
        # the flags state remote and hybrid work; their absence states nothing
        workplace_type_raw="remote" if location.get("remote") is True
        else "hybrid" if location.get("hybrid") is True else None,
        employment_type_raw=_label(item.get("typeOfEmployment")),
        posted_at_raw=_text(item.get("releasedDate")),
        language=_text(language.get("code")) if isinstance(language, dict) else _text(language),
    )


def _location(location: dict[str, Any]) -> dict[str, Any] | None:
    city, region, country = (_text(location.get(k)) for k in ("city", "region", "country"))
    raw = _text(location.get("fullLocation")) or ", ".join(v for v in (city, region, country) if v) or None
    if not (raw or city or region or country):
        return None
    return {"raw": raw, "city": city, "region": region, "country": country}


def _ad_html(job_ad: Any) -> str | None:
    """The ad's sections as one HTML document, each under its title."""
    sections = job_ad.get("sections") if isinstance(job_ad, dict) else None
    if not isinstance(sections, dict):
        return None
    names = [*SECTIONS, *(k for k in sections if k not in SECTIONS)]
    parts = []
    for name in names:
        section = sections.get(name)
        if isinstance(section, str):
            title, text = None, _text(section)
        elif isinstance(section, dict):
            title, text = _text(section.get("title")), _text(section.get("text"))
        else:
            continue
        if not text:
            continue
        if title:
            parts.append(f"<h2>{html.escape(title)}</h2>")
        parts.append(text)
    return "\n".join(parts) or None
