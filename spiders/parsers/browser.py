"""Postings from pages a browser rendered, and from the JSON those pages fetched.

The ``browser`` board is configured, not written: CSS selectors say where a
posting card is and where each field sits in it (:func:`parse_cards`), or
dotted paths say where the postings sit in the site's own JSON answers
(:func:`parse_captured`). Field names are the same in both:
:data:`FIELDS`. Pure functions from a response to postings; no I/O. Values
are mapped as the page gives them; :mod:`crawler.normalize` tidies them.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urljoin, urlsplit

from parsel import Selector
from scrapy.http import Response

from crawler.errors import BoardError
from crawler.items import Posting
from crawler.normalize import clean_url

# Configurable field -> the Posting field it fills. Dates, places, pay and
# types go to their ``*_raw`` field: the normalizer reads them from there.
FIELDS = {
    "external_id": "external_id",
    "url": "url",
    "apply_url": "apply_url",
    "title": "title",
    "company": "company",
    "department": "department",
    "requisition_id": "requisition_id",
    "location": "locations_raw",
    "workplace_type": "workplace_type_raw",
    "employment_type": "employment_type_raw",
    "salary": "salary_raw",
    "posted_at": "posted_at_raw",
    "deadline": "deadline_raw",
    "description": "description_html",
    "language": "language",
    "skills": "skills",
}
# Fields that hold several values (one per matched node or list item).
_LIST_FIELDS = {"location", "salary", "skills"}
_URL_FIELDS = {"url", "apply_url"}
_ATTR = re.compile(r"::attr\([^)]*\)\s*$")


def parse_cards(response: Response, source: str, item_selector: str,
                fields: dict[str, str]) -> tuple[list[Posting], int]:
    """The postings of a rendered listing page: one per element matching
    ``item_selector``, each field read with its CSS selector relative to the
    card (``"h3::text"``, ``"a::attr(href)"``, ``"::attr(data-id)"`` for an
    attribute of the card itself, or a plain selector for the element's
    text; ``description`` keeps the element's HTML).

    Returns the postings and the number of cards skipped because they had
    neither an ``external_id`` nor a ``url``. A page without cards gives
    ``([], 0)``: an empty listing is not an error here.
    """
    postings: list[Posting] = []
    skipped = 0
    for card in response.css(item_selector):
        values = {name: _card_value(card, name, selector) for name, selector in fields.items()}
        posting = posting_from_values(values, source, response.url)
        if posting is None:
            skipped += 1
        else:
            postings.append(posting)
    return postings, skipped


def _card_value(card: Selector, name: str, selector: str) -> Any:
    selector = selector.strip()
    nodes = card.css(selector)
    if _ATTR.search(selector):
        values = [v.strip() for v in nodes.getall()]
    elif selector.endswith("::text"):
        texts = [" ".join(v.split()) for v in nodes.getall()]
        values = [t for t in texts if t]
        if name not in _LIST_FIELDS:
            return " ".join(values) or None
    elif name == "description":
        return "".join(nodes.getall()) or None
    else:
        values = [" ".join(" ".join(node.css("::text").getall()).split()) for node in nodes]
    values = [v for v in values if v]
    if name in _LIST_FIELDS:
        return values
    return values[0] if values else None


def parse_captured(response: Response, source: str, items_path: str,
                   fields: dict[str, str]) -> list[Posting]:
    """The postings in one JSON answer the page fetched: the list at the
    dotted path ``items_path`` (``"data.jobs"``; ``""`` for a bare array),
    each field read with its dotted path inside an item (``"location.name"``,
    ``"tags.0"``).

    Raises :class:`BoardError` when the body is not JSON or the path does not
    lead to a list: the listing was not read, so it is not complete. An
    empty list is a valid (empty) answer. Items without an id and a url are
    skipped.
    """
    try:
        data = json.loads(response.body)
    except ValueError as exc:
        raise BoardError(f"malformed JSON in a captured response: {exc}", response.url) from exc
    items = dig(data, items_path)
    if not isinstance(items, list):
        where = f"at {items_path!r}" if items_path else "at the top level"
        raise BoardError(f"captured response has no list of postings {where}", response.url)
    postings = []
    for item in items:
        values = {name: _json_value(dig(item, path), name) for name, path in fields.items()}
        posting = posting_from_values(values, source, response.url)
        if posting is not None:
            postings.append(posting)
    return postings


def dig(data: Any, path: str) -> Any:
    """The value at a dotted path (``"data.jobs"``, ``"items.0.id"``); None
    when any step is missing. An empty path is the value itself."""
    for step in [s for s in path.split(".") if s]:
        if isinstance(data, dict):
            data = data.get(step)
        elif isinstance(data, list) and step.lstrip("-").isdigit() and -len(data) <= int(step) < len(data):
            data = data[int(step)]
        else:
            return None
    return data


def _json_value(value: Any, name: str) -> Any:
    if name in _LIST_FIELDS:
        values = value if isinstance(value, list) else [value]
        return [text for v in values if (text := _json_text(v))]
    if isinstance(value, list):
        return next((text for v in value if (text := _json_text(v))), None)
    return _json_text(value)


def _json_text(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, dict):
        for key in ("name", "text", "label", "value"):
            if text := _json_text(value.get(key)):
                return text
    return None


def posting_from_values(values: dict[str, Any], source: str, page_url: str) -> Posting | None:
    """A posting from field values read off a card or a JSON item; None when
    it has neither ``external_id`` nor ``url``. Without an id, the id is the
    path (and query, tracking parameters removed) of the posting's URL, so it
    stays the same across runs as long as the posting keeps its address."""
    data: dict[str, Any] = {}
    for name, value in values.items():
        if name in _URL_FIELDS and isinstance(value, str):
            value = _absolute(page_url, value)
        if value in (None, "", []):
            continue
        data[FIELDS[name]] = value
    external_id = data.get("external_id") or (path_id(data["url"]) if data.get("url") else None)
    if not external_id:
        return None
    data["external_id"] = external_id
    return Posting(source=source, **data)


def _absolute(base: str, url: str) -> str | None:
    url = url.strip()
    if not url or url.startswith(("javascript:", "#", "mailto:")):
        return None
    joined = urljoin(base, url)
    return joined if urlsplit(joined).scheme in ("http", "https") else None


def path_id(url: str) -> str:
    """The id of a posting known only by its URL: its path and query."""
    parts = urlsplit(clean_url(url))
    return parts.path + (f"?{parts.query}" if parts.query else "")


def next_link(response: Response, selector: str) -> str | None:
    """The absolute URL the "next page" element links to; None when the
    element is missing, disabled, or is a button without a link (the
    browser clicks those)."""
    for node in response.css(selector):
        if _disabled(node):
            return None
        href = node.attrib.get("href") or node.css("a::attr(href)").get()
        return _absolute(response.url, href) if href else None
    return None


def _disabled(node: Selector) -> bool:
    attrs = node.attrib
    classes = attrs.get("class", "").split()
    return ("disabled" in attrs or attrs.get("aria-disabled") == "true"
            or "disabled" in classes)
