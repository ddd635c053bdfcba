"""Pinpoint careers site feed: ``GET https://{company}.pinpointhq.com/postings.json``.

One response ``{"data": [...]}`` holds every open posting of the careers
site (no pagination, no total), so a parsed response is a complete listing.
The feed publishes no posted date and does not name the employer.

Structured fields are read first: the pay fields when the posting shows
pay (``compensation_visible``: ``compensation_minimum``/``_maximum``,
``compensation_currency``, ``compensation_frequency``, with the
``compensation`` text as raw; the amounts of that text when the numbers are
absent), ``deadline_at``, ``employment_type_text`` (else the
``employment_type`` code), ``workplace_type_text`` (else
``workplace_type``), ``job.requisition_id``, ``job.department`` and
``location`` (city, province, and its ``name``, which is often a country).
The description is the posting's sections in order, each under the header
the employer gave it. Pure functions from a response to postings; no I/O.
:mod:`crawler.normalize` tidies the values.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from scrapy.http import Response

from crawler.errors import BoardError
from crawler.items import Posting
from crawler.normalize import read_salaries
from spiders.parsers.stream import JsonDocument, Listing
from spiders.parsers.values import text as _text

# The posting's text sections, in the order the careers page shows them.
_SECTIONS = ("description", "key_responsibilities", "skills_knowledge_expertise", "benefits")
# A bare "$" (not US$, CA$, A$...): which dollar it is depends on where the
# posting is, which the normalizer knows and this parser does not.
_BARE_DOLLAR = re.compile(r"(?<![A-Za-z])\$")
_PAY_FIELDS = ("compensation_minimum", "compensation_maximum", "compensation_currency", "compensation_frequency")


def board_url(base_url: str) -> str:
    """The feed of the careers site at ``base_url`` (``https://{company}.pinpointhq.com``)."""
    return f"{base_url}/postings.json"


def read_postings(response: Response, source: str) -> Listing:
    """The careers site's postings as a stream (:mod:`spiders.parsers.stream`),
    in the feed's order.

    Reading raises :class:`BoardError` for a body that is not JSON, has no
    ``data`` list, or holds a posting without an id. ``{"data": []}`` is a
    valid, empty board.
    """
    doc = JsonDocument(response, "Pinpoint")
    return Listing(entries=doc.items("data", "Pinpoint response has no 'data' list"),
                   posting=lambda item: _posting(item, source, response.url),
                   external_id=lambda item: _text(item.get("id")) if isinstance(item, dict) else None)


def parse_postings(response: Response, source: str) -> list[Posting]:
    """The open postings of the careers site, all at once (see
    :func:`read_postings`)."""
    return list(read_postings(response, source).postings())


def _posting(item: Any, source: str, url: str) -> Posting:
    if not isinstance(item, dict) or not _text(item.get("id")):
        raise BoardError("Pinpoint posting without an id", url)
    job = item.get("job") if isinstance(item.get("job"), dict) else {}
    place = _location(item.get("location"))
    salary, salary_raw = _salary(item)
    return Posting(
        source=source,
        external_id=_text(item["id"]) or "",
        url=_text(item.get("url")),
        title=_text(item.get("title")),
        department=_text(job.get("department")) or _text(item.get("department")),
        requisition_id=_text(job.get("requisition_id")) or _text(item.get("requisition_id")),
        locations=[place] if place else [],
        locations_raw=[place["raw"]] if place and place["raw"] else [],
        workplace_type_raw=_text(item.get("workplace_type_text")) or _text(item.get("workplace_type")),
        employment_type_raw=_text(item.get("employment_type_text")) or _text(item.get("employment_type")),
        salary=salary,
        salary_raw=salary_raw,
        deadline_raw=_text(item.get("deadline_at")),
        description_html=_description_html(item),
    )


def _location(location: Any) -> dict[str, Any] | None:
    # ``name`` is the employer's label for the place: a city ("London"), a
    # country ("United Kingdom", "US") or a label ("Remote"); the normalizer
    # reads a country from it when it names one.
    if not isinstance(location, dict):
        return None
    place = {
        "raw": _text(location.get("name")),
        "city": _text(location.get("city")),
        "region": _text(location.get("province")),
        "country": None,
    }
    return place if any(place.values()) else None


def _salary(item: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """Pay the posting shows, as structured entries: the range fields when
    they hold numbers, else the amounts of the ``compensation`` text (the
    board's pay field, so the description's other amounts are not read).
    Text with a bare "$" is left to the normalizer, which knows where the
    posting is. Pay the employer hid (``compensation_visible`` false) is not
    the posting's."""
    if item.get("compensation_visible") is False:
        return [], []
    text = _text(item.get("compensation"))
    low, high = item.get("compensation_minimum"), item.get("compensation_maximum")
    if low is None and high is None:
        if not text:
            return [], []
        entries = [] if _BARE_DOLLAR.search(text) else read_salaries(text, pay_field=True)
        return entries, [text]
    entry = {
        "min": low,
        "max": high,
        "currency": _text(item.get("compensation_currency")),
        "period": _text(item.get("compensation_frequency")),
        "raw": text or json.dumps({k: item.get(k) for k in _PAY_FIELDS}, sort_keys=True),
    }
    return [entry], [entry["raw"]]


def _description_html(item: dict[str, Any]) -> str | None:
    parts: list[str] = []
    for key in _SECTIONS:
        body = _text(item.get(key))
        if not body:
            continue
        header = _text(item.get(f"{key}_header")) if key != "description" else None
        if header:
            parts.append(f"<h3>{html.escape(header)}</h3>")
        parts.append(body)
    return "\n".join(parts) or None
