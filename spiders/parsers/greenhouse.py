"""Greenhouse Job Board API: ``GET {base}/v1/boards/{token}/jobs?content=true``.

One response holds the whole board: its ``meta.total``, when present, is
what the listing is counted against; without it a whole parsed response is
the only proof (the spider says so). Pure functions from a response to
postings; no I/O. The values are mapped as the board gives them;
:mod:`crawler.normalize` tidies them. Walls in place of the answer are
found before it gets here (:mod:`crawler.walls`).
"""

from __future__ import annotations

import json
from typing import Any

from scrapy.http import Response

from crawler.errors import BoardError
from crawler.items import Posting
from crawler.normalize import parse_location, workplace_phrase


def parse_jobs(response: Response, source: str) -> tuple[list[Posting], int | None]:
    """The board's postings and its ``meta.total`` (None when absent).

    Raises :class:`BoardError` for a body that is not JSON, has no ``jobs``
    list, or holds a job without an id: such a listing is not complete, and
    treating it as one would expire every posting it lost.
    """
    try:
        data = json.loads(response.body)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise BoardError(f"malformed JSON from Greenhouse board: {exc}", response.url) from exc
    if not isinstance(data, dict) or not isinstance(data.get("jobs"), list):
        raise BoardError("Greenhouse board response has no 'jobs' list", response.url)
    postings = [_posting(job, source, response.url) for job in data["jobs"]]
    meta = data.get("meta")
    total = meta.get("total") if isinstance(meta, dict) else None
    return postings, total if isinstance(total, int) and not isinstance(total, bool) else None


def _posting(job: Any, source: str, url: str) -> Posting:
    if not isinstance(job, dict) or job.get("id") in (None, ""):
        raise BoardError("Greenhouse job without an id", url)
    location_name = _name(job.get("location"))
    locations, locations_raw = _locations(location_name, job.get("offices"))
    departments = [name for d in job.get("departments") or [] if (name := _name(d))]
    return Posting(
        source=source,
        external_id=str(job["id"]),
        url=job.get("absolute_url"),
        # Greenhouse takes applications on the posting page itself.
        apply_url=job.get("absolute_url"),
        title=job.get("title"),
        company=job.get("company_name"),
        department=departments[0] if departments else None,
        requisition_id=job.get("requisition_id"),
        locations=locations,
        locations_raw=locations_raw,
        workplace_type_raw=workplace_phrase(location_name),
        posted_at_raw=job.get("first_published"),
        deadline_raw=job.get("application_deadline"),
        description_html=job.get("content"),
        language=job.get("language"),
        salary=_salary(job.get("metadata")),
    )


def _name(value: Any) -> str | None:
    name = value.get("name") if isinstance(value, dict) else None
    return name.strip() or None if isinstance(name, str) else None


def _locations(location_name: str | None, offices: Any) -> tuple[list[dict[str, Any]], list[str]]:
    # The job's location name is free text ("Hybrid - London"); its offices
    # carry the full place ("London, England, United Kingdom"). An office in
    # the same city completes that location; an office elsewhere is another
    # location of the job.
    main = parse_location(location_name)
    locations = [main] if main else []
    raw = [location_name] if location_name else []
    for office in offices if isinstance(offices, list) else []:
        text = office.get("location") if isinstance(office, dict) else None
        place = parse_location(text)
        if place is None or text in raw:
            continue
        raw.append(text)
        same_city = main is not None and _same(main["city"], place["city"])
        if same_city:
            for key in ("region", "country"):
                main[key] = main[key] or place[key]
        elif place not in locations:
            locations.append(place)
    return locations, raw


def _same(a: str | None, b: str | None) -> bool:
    return bool(a and b and a.casefold() == b.casefold())


def _salary(metadata: Any) -> list[dict[str, Any]]:
    # Pay ranges sometimes come as custom fields of type "currency_range";
    # their period is a year unless the field's name says otherwise.
    entries = []
    for item in metadata if isinstance(metadata, list) else []:
        if not isinstance(item, dict) or item.get("value_type") != "currency_range":
            continue
        value = item.get("value")
        if not isinstance(value, dict):
            continue
        name = str(item.get("name") or "")
        entries.append(
            {
                "min": value.get("min_value"),
                "max": value.get("max_value"),
                "currency": value.get("unit"),
                "period": _period_in(name) or "year",
                "raw": json.dumps({"name": name, "value": value}, ensure_ascii=False),
            }
        )
    return entries


def _period_in(name: str) -> str | None:
    lowered = name.casefold()
    for word, period in (("hour", "hour"), ("day", "day"), ("week", "week"), ("month", "month")):
        if word in lowered:
            return period
    return None
