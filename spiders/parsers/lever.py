"""Lever Postings API: ``GET {base}/v0/postings/{site}?mode=json&skip=N&limit=100``.

The answer is a bare array of whole postings (there is no detail page) and
carries no total: the listing has ended at the first page that holds fewer
postings than were asked for. Pure functions from a response to postings;
no I/O. Values are mapped as the board gives them; :mod:`crawler.normalize`
tidies them (pay stated only in the text is read from the description there).
"""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import quote

from scrapy.http import Response

from crawler.errors import BoardError
from crawler.items import Posting
from crawler.normalize import parse_location
from spiders.parsers.values import text as _text

PAGE_SIZE = 100  # postings asked for per page; Lever serves at most this many


def page_url(base_url: str, site: str, skip: int, limit: int = PAGE_SIZE) -> str:
    """The listing page that starts at posting number ``skip``."""
    return f"{base_url}/v0/postings/{quote(site, safe='')}?mode=json&skip={skip}&limit={limit}"


def is_last_page(count: int, limit: int = PAGE_SIZE) -> bool:
    """A page shorter than the limit ends the listing (an empty one too)."""
    return count < limit


def parse_postings(response: Response, source: str) -> list[Posting]:
    """The postings on one listing page, in the board's order.

    Raises :class:`BoardError` for a body that is not JSON, is not a list
    (Lever answers an unknown site with ``{"ok": false, "error": ...}``), or
    holds a posting without an id. An empty list is a valid, empty page.
    """
    try:
        data = json.loads(response.body)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise BoardError(f"malformed JSON from Lever: {exc}", response.url) from exc
    if isinstance(data, dict) and data.get("ok") is False:
        raise BoardError(f"Lever answered an error: {data.get('error') or 'no reason given'}", response.url)
    if not isinstance(data, list):
        raise BoardError(f"Lever response is not a list of postings (got {type(data).__name__})",
                         response.url)
    return [_posting(item, source, response.url) for item in data]


def _posting(item: Any, source: str, url: str) -> Posting:
    if not isinstance(item, dict) or not item.get("id"):
        raise BoardError("Lever posting without an id", url)
    categories = item.get("categories") if isinstance(item.get("categories"), dict) else {}
    locations, locations_raw = _locations(categories, item.get("country"))
    salary = _salary(item.get("salaryRange"))
    created = item.get("createdAt")
    pay_text = _text(item.get("salaryDescriptionPlain"))
    description_html = _description_html(item)
    return Posting(
        source=source,
        external_id=str(item["id"]),
        url=item.get("hostedUrl"),
        apply_url=item.get("applyUrl"),
        title=item.get("text"),
        department=_text(categories.get("department")) or _text(categories.get("team")),
        locations=locations,
        locations_raw=locations_raw,
        workplace_type_raw=_text(item.get("workplaceType")),
        employment_type_raw=_text(categories.get("commitment")),
        posted_at_raw=str(created) if isinstance(created, int) and not isinstance(created, bool) else None,
        salary=salary,
        salary_raw=[entry["raw"] for entry in salary] or ([pay_text] if pay_text else []),
        description_html=description_html,
        description=None if description_html else _plain_description(item),
    )



def _locations(categories: dict[str, Any], country: Any) -> tuple[list[dict[str, Any]], list[str]]:
    # allLocations lists every place of the posting; `location` is the main
    # one, and the posting's `country` code belongs to that one only.
    main = _text(categories.get("location"))
    texts = [t for v in categories.get("allLocations") or [] if (t := _text(v))]
    if main and main not in texts:
        texts.insert(0, main)
    locations = []
    for text in texts:
        place = parse_location(text)
        if place is None:
            continue
        if text == main and not place["country"] and isinstance(country, str) and country.strip():
            place["country"] = country.strip()
        locations.append(place)
    return locations, texts


def _salary(value: Any) -> list[dict[str, Any]]:
    # salaryRange {min, max, currency, interval}; interval is Lever's own
    # ("per-year-salary", "per-hour-wage", "one-time" ...).
    if not isinstance(value, dict) or (value.get("min") is None and value.get("max") is None):
        return []
    return [{
        "min": value.get("min"),
        "max": value.get("max"),
        "currency": value.get("currency"),
        "period": value.get("interval"),
        "raw": json.dumps(value, ensure_ascii=False, sort_keys=True),
    }]


def _plain_description(item: dict[str, Any]) -> str | None:
    parts = [t for key in ("descriptionPlain", "additionalPlain") if (t := _text(item.get(key)))]
    return "\n\n".join(parts) or None


def _description_html(item: dict[str, Any]) -> str | None:
    """The posting as its page shows it: the description (opening and
    body), each list under its heading, then the closing text."""
    parts = []
    description = item.get("description")
    if not _text(description):
        description = "".join(v for v in (item.get("opening"), item.get("descriptionBody")) if isinstance(v, str))
    if _text(description):
        parts.append(description)
    for entry in item.get("lists") or []:
        if not isinstance(entry, dict):
            continue
        heading, content = _text(entry.get("text")), _text(entry.get("content"))
        if heading:
            parts.append(f"<h3>{html.escape(heading)}</h3>")
        if content:
            parts.append(f"<ul>{content}</ul>")
    if _text(item.get("additional")):
        parts.append(item["additional"])
    return "\n".join(parts) or None
