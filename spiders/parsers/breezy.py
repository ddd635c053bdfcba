"""Breezy HR careers portal feed: ``GET https://{company}.breezy.hr/json``.

One response, a bare array of the portal's published positions (no
pagination, no total), so a parsed response is a complete listing. The feed
carries no description.

Structured fields are read first: ``locations[]`` (else ``location``) with
city, state and the ISO country ``id``, ``location.is_remote``, ``type``
(``{"id": "fullTime", "name": "Full-Time"}``), ``department``,
``published_date`` and ``company.name``. Pay comes as the portal prints it
(``"$0.05 – $0.06 / hour"``): it goes to ``salary_raw`` and
:mod:`crawler.normalize` reads amount, currency and period from it. Pure
functions from a response to postings; no I/O.

An unknown portal is answered with a redirect to Breezy's own site, not a
404: :func:`moved_off_portal` tells that apart.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from scrapy.http import Response

from crawler.errors import BoardError
from crawler.items import Posting
from spiders.parsers.stream import JsonDocument, Listing
from spiders.parsers.values import text as _text


def board_url(base_url: str) -> str:
    """The feed of the portal at ``base_url`` (``https://{company}.breezy.hr``)."""
    return f"{base_url}/json"


def moved_off_portal(response: Response) -> str | None:
    """The address the answer came from when a redirect took the request off
    the portal's host (Breezy sends an unknown portal to its marketing site);
    None when it stayed on the portal."""
    request = response.request
    redirects = request.meta.get("redirect_urls") if request is not None else None
    asked = redirects[0] if redirects else response.url
    if urlsplit(asked).netloc != urlsplit(response.url).netloc:
        return response.url
    return None


def read_positions(response: Response, source: str) -> Listing:
    """The portal's positions as a stream (:mod:`spiders.parsers.stream`),
    in the feed's order.

    Reading raises :class:`BoardError` for a body that is not JSON, is not
    a list, or holds a position without an id. ``[]`` is a valid, empty
    board.
    """
    doc = JsonDocument(response, "Breezy")
    return Listing(entries=doc.items("", "Breezy feed is not a list of positions (got {kind})"),
                   posting=lambda item: _posting(item, source, response.url),
                   external_id=lambda item: _text(item.get("id")) if isinstance(item, dict) else None)


def parse_positions(response: Response, source: str) -> list[Posting]:
    """The positions of the portal, all at once (see :func:`read_positions`)."""
    return list(read_positions(response, source).postings())


def _posting(item: Any, source: str, url: str) -> Posting:
    if not isinstance(item, dict) or not _text(item.get("id")):
        raise BoardError("Breezy position without an id", url)
    location = item.get("location") if isinstance(item.get("location"), dict) else {}
    locations = _locations(item.get("locations"), location)
    kind = item.get("type")
    pay = _text(item.get("salary"))
    return Posting(
        source=source,
        external_id=_text(item["id"]) or "",
        url=_text(item.get("url")),
        title=_text(item.get("name")),
        company=_text(item.get("company")),
        department=_text(item.get("department")),
        locations=locations,
        locations_raw=[place["raw"] for place in locations if place["raw"]],
        # the feed says whether a position is remote; not remote says nothing
        # of hybrid or on site
        workplace_type_raw="Remote" if location.get("is_remote") is True else None,
        employment_type_raw=_text(kind) or (_text(kind.get("id")) if isinstance(kind, dict) else None),
        salary_raw=[pay] if pay else [],
        posted_at_raw=_text(item.get("published_date")),
    )


def _place(entry: dict[str, Any]) -> dict[str, Any] | None:
    country, state = entry.get("country"), entry.get("state")
    code = _text(country.get("id")) if isinstance(country, dict) else None
    place = {
        "raw": _text(entry.get("name")),
        "city": _text(entry.get("city")),
        "region": _text(state),  # {"id": "FL", "name": "Florida"}: its name
        "country": code or _text(country),
    }
    return place if any(place.values()) else None


def _locations(entries: Any, location: dict[str, Any]) -> list[dict[str, Any]]:
    """Every place of ``locations[]``; the primary ``location`` when the list
    is empty or missing."""
    places: list[dict[str, Any]] = []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and (place := _place(entry)) and place not in places:
            places.append(place)
    if not places and (place := _place(location)):
        places.append(place)
    return places
