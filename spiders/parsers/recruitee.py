"""Recruitee careers-site API: ``GET https://{company}.recruitee.com/api/offers/``.

One response ``{"offers": [...]}`` holds every published offer of the
careers site, descriptions included (no pagination, no total), so a parsed
response is a complete listing. Offers whose ``status`` says anything other
than ``published`` are not on the public site and are left out.

Structured fields are read first: ``locations[]`` (city, state, country
code), the ``remote`` / ``hybrid`` / ``on_site`` flags, ``salary`` (``min``,
``max``, ``currency``, ``period``), ``employment_type_code``,
``department``, ``published_at`` and ``close_at``. Recruitee writes its
times as ``2026-08-11 20:45:29 UTC``; they are passed on in ISO spelling
(``2026-08-11T20:45:29+00:00``) so the instant keeps its zone. Pure
functions from a response to postings; no I/O. :mod:`crawler.normalize`
tidies the values.
"""

from __future__ import annotations

import json
import re
from typing import Any

from scrapy.http import Response

from crawler.errors import BoardError
from crawler.items import Posting
from spiders.parsers.stream import JsonDocument, Listing
from spiders.parsers.values import text as _text

# Recruitee's own time format, always in UTC.
_UTC_TIME = re.compile(r"(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) UTC")
# The text Recruitee puts in ``location`` for a remote offer: a workplace
# label, not a place.
_REMOTE_LABEL = "remote job"


def board_url(base_url: str) -> str:
    """The offers of the careers site at ``base_url`` (``https://{company}.recruitee.com``)."""
    return f"{base_url}/api/offers/"


def read_offers(response: Response, source: str) -> Listing:
    """The careers site's offers as a stream (:mod:`spiders.parsers.stream`);
    an offer that is not published makes no posting.

    Reading raises :class:`BoardError` for a body that is not JSON, has no
    ``offers`` list, or holds an offer without an id. ``{"offers": []}`` is
    a valid, empty board.
    """
    doc = JsonDocument(response, "Recruitee")
    return Listing(entries=doc.items("offers", "Recruitee response has no 'offers' list"),
                   posting=lambda offer: _posting(offer, source, response.url),
                   external_id=lambda offer: _text(offer.get("id")) if isinstance(offer, dict) else None)


def parse_offers(response: Response, source: str) -> list[Posting]:
    """The published offers of the careers site, all at once (see
    :func:`read_offers`)."""
    return list(read_offers(response, source).postings())


def iso_time(value: Any) -> str | None:
    """Recruitee's ``2026-08-11 20:45:29 UTC`` as ``2026-08-11T20:45:29+00:00``;
    any other text as it is; None for no text."""
    text = _text(value)
    if text and (match := _UTC_TIME.fullmatch(text)):
        return f"{match.group(1)}T{match.group(2)}+00:00"
    return text


def _posting(offer: Any, source: str, url: str) -> Posting | None:
    if not isinstance(offer, dict) or _text(offer.get("id")) is None:
        raise BoardError("Recruitee offer without an id", url)
    status = _text(offer.get("status"))
    if status is not None and status != "published":
        return None
    locations, locations_raw = _locations(offer)
    salary = _salary(offer.get("salary"))
    return Posting(
        source=source,
        external_id=_text(offer["id"]) or "",
        url=_text(offer.get("careers_url")),
        apply_url=_text(offer.get("careers_apply_url")),
        title=_text(offer.get("title")),
        company=_text(offer.get("company_name")),
        department=_text(offer.get("department")),
        locations=locations,
        locations_raw=locations_raw,
        workplace_type_raw=_workplace(offer),
        employment_type_raw=_text(offer.get("employment_type_code")),
        salary=salary,
        salary_raw=[entry["raw"] for entry in salary],
        posted_at_raw=iso_time(offer.get("published_at")) or iso_time(offer.get("created_at")),
        deadline_raw=iso_time(offer.get("close_at")),
        description_html=_description_html(offer),
        language=_language(offer.get("translations")),
    )


def _workplace(offer: dict[str, Any]) -> str | None:
    # Three flags; the first that is set names the arrangement ("hybrid"
    # before "remote": a hybrid offer may carry both).
    for flag, label in (("hybrid", "Hybrid"), ("remote", "Remote"), ("on_site", "On-site")):
        if offer.get(flag) is True:
            return label
    return None


def _place(city: Any, region: Any, country: Any, code: Any, raw: Any = None) -> dict[str, Any] | None:
    city, region, country, code = _text(city), _text(region), _text(country), _text(code)
    text = ", ".join(part for part in dict.fromkeys((city, region, country)) if part) or _text(raw)
    if not (city or region or code or country):
        return None
    return {"raw": text, "city": city, "region": region, "country": code or country}


def _locations(offer: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """The offer's structured places (``locations[]``, else the offer's own
    city, state and country fields); the ``location`` text only when the
    offer has no structured place and the text is a place."""
    places: list[dict[str, Any]] = []
    for entry in offer.get("locations") or []:
        if isinstance(entry, dict):
            place = _place(entry.get("city"), entry.get("state"), entry.get("country"),
                           entry.get("country_code"), entry.get("name"))
            if place and place not in places:
                places.append(place)
    if not places:
        place = _place(offer.get("city"), offer.get("state_name"), offer.get("country"),
                       offer.get("country_code"))
        places = [place] if place else []
    if places:
        return places, [p["raw"] for p in places if p["raw"]]
    text = _text(offer.get("location"))
    return [], [text] if text and text.casefold() != _REMOTE_LABEL else []


def _salary(salary: Any) -> list[dict[str, Any]]:
    if not isinstance(salary, dict) or (salary.get("min") is None and salary.get("max") is None):
        return []
    return [{
        "min": salary.get("min"),
        "max": salary.get("max"),
        "currency": _text(salary.get("currency")),
        "period": _text(salary.get("period")),
        # the board's pay object as it was sent: there is no pay text
        "raw": json.dumps(salary, ensure_ascii=False, sort_keys=True),
    }]


def _description_html(offer: dict[str, Any]) -> str | None:
    parts = [html for key in ("description", "requirements") if (html := _text(offer.get(key)))]
    return "\n".join(parts) or None


def _language(translations: Any) -> str | None:
    # An offer written in one language carries that one translation.
    if isinstance(translations, dict) and len(translations) == 1:
        return _text(next(iter(translations)))
    return None
