"""Workable careers widget: ``GET {base}/api/v1/widget/accounts/{account}?details=true``.

The public widget API of ``apply.workable.com`` answers with one document
``{"name", "description", "jobs": [...]}`` holding every published job of
the account, descriptions included with ``details=true``. There is no
pagination and no total, so a parsed response is a complete listing.

Structured fields are read first: ``shortcode`` (the id), ``code`` (the
employer's own job code, the requisition id), ``locations[]`` (city,
region, ISO ``countryCode``; a location the employer ``hidden`` from the
public page is left out), ``telecommuting`` (remote), ``employment_type``,
``department``, ``published_on``; the account ``name`` is the company. The
widget publishes no pay and no closing date: those are read from the
description by :mod:`crawler.normalize`, never invented. Pure functions from
a response to postings; no I/O.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from scrapy.http import Response

from crawler.errors import BoardError
from crawler.items import Posting
from spiders.parsers.stream import JsonDocument, Listing
from spiders.parsers.values import text as _text


def board_url(base_url: str, account: str) -> str:
    return f"{base_url}/api/v1/widget/accounts/{quote(account, safe='')}?details=true"


def read_widget(response: Response, source: str) -> Listing:
    """The account's jobs as a stream (:mod:`spiders.parsers.stream`), in
    the widget's order; the account's ``name`` (the company of every job)
    is read first, and is part of what each job's raw content means.

    Reading raises :class:`BoardError` for a body that is not JSON, has no
    ``jobs`` list, or holds a job without a shortcode. ``{"jobs": []}`` is
    a valid, empty board.
    """
    doc = JsonDocument(response, "Workable")
    company = _text(doc.value("name"))
    return Listing(entries=doc.items("jobs", "Workable widget response has no 'jobs' list"),
                   posting=lambda job: _posting(job, source, company, response.url),
                   external_id=lambda job: _text(job.get("shortcode")) if isinstance(job, dict) else None,
                   context=(company or "",))


def parse_widget(response: Response, source: str) -> list[Posting]:
    """The jobs of the account, all at once (see :func:`read_widget`)."""
    return list(read_widget(response, source).postings())


def _posting(job: Any, source: str, company: str | None, url: str) -> Posting:
    if not isinstance(job, dict) or not _text(job.get("shortcode")):
        raise BoardError("Workable job without a shortcode", url)
    locations = _locations(job)
    return Posting(
        source=source,
        external_id=_text(job["shortcode"]) or "",
        url=_text(job.get("url")) or _text(job.get("shortlink")),
        apply_url=_text(job.get("application_url")),
        title=_text(job.get("title")),
        company=company,
        department=_text(job.get("department")),
        requisition_id=_text(job.get("code")),
        locations=locations,
        locations_raw=[place["raw"] for place in locations if place["raw"]],
        # the widget states remote work only; false says nothing of on site
        workplace_type_raw="Remote" if job.get("telecommuting") is True else None,
        employment_type_raw=_text(job.get("employment_type")),
        posted_at_raw=_text(job.get("published_on")) or _text(job.get("created_at")),
        description_html=_text(job.get("description")),
    )


def _place(city: Any, region: Any, country: Any, code: Any) -> dict[str, Any] | None:
    city, region, country, code = _text(city), _text(region), _text(country), _text(code)
    if not (city or region or country or code):
        return None
    raw = ", ".join(part for part in dict.fromkeys((city, region, country)) if part) or code
    return {"raw": raw, "city": city, "region": region, "country": code or country}


def _locations(job: dict[str, Any]) -> list[dict[str, Any]]:
    """The job's shown locations; the flat ``city``/``state``/``country``
    fields only for a job without a ``locations`` list."""
    entries = job.get("locations")
    if not isinstance(entries, list):
        place = _place(job.get("city"), job.get("state"), job.get("country"), None)
        return [place] if place else []
    places: list[dict[str, Any]] = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("hidden") is True:
            continue
        place = _place(entry.get("city"), entry.get("region"), entry.get("country"), entry.get("countryCode"))
        if place and place not in places:
            places.append(place)
    return places
