"""First-pass normalization every spider's items go through.

:func:`normalize_posting` reads what a board parser filled into a
:class:`~crawler.items.Posting` (structured values and the ``*_raw`` text)
and fills and tidies the canonical fields of DESIGN.md. The helpers live in
one module per concern and are small, tolerant and idempotent: each states
what it accepts and returns other input as is, and normalizing a posting
twice gives the same posting.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crawler.items import Posting
from crawler.normalize.dates import deadline, deadline_in_text, iso_date, iso_utc, posted_at
from crawler.normalize.employment import EMPLOYMENT_TYPES, employment_type
from crawler.normalize.places import country_code, normalize_locations, parse_location
from crawler.normalize.salary import (
    currency_code,
    normalize_salary_entry,
    read_salaries,
    salary_period,
)
from crawler.normalize.text import clean_paragraphs, clean_text, html_to_text
from crawler.normalize.urls import clean_url
from crawler.normalize.workplace import WORKPLACE_TYPES, workplace_phrase, workplace_type

__all__ = [
    "clean_paragraphs",
    "clean_text",
    "clean_url",
    "country_code",
    "currency_code",
    "deadline",
    "deadline_in_text",
    "employment_type",
    "html_to_text",
    "iso_date",
    "normalize_locations",
    "normalize_posting",
    "normalize_salary_entry",
    "parse_location",
    "posted_at",
    "read_salaries",
    "salary_period",
    "workplace_phrase",
    "workplace_type",
]

# Countries whose own currency is written "$"; anywhere else a bare "$" in
# pay text is read as US dollars.
_DOLLAR_COUNTRIES = {"CA": "CAD", "AU": "AUD", "NZ": "NZD", "SG": "SGD", "HK": "HKD"}


def _text_list(values: Any) -> list[str]:
    # Tidy a list of strings, dropping blanks and repeats, order kept.
    result: list[str] = []
    for value in values if isinstance(values, list) else []:
        text = clean_text(value)
        if isinstance(text, str) and text not in result:
            result.append(text)
    return result


def _id_text(value: Any) -> str | None:
    # Ids may arrive as numbers; they are stored as text.
    return None if value is None else clean_text(str(value))


def _dollar(locations: list[dict[str, Any]]) -> str:
    countries = {location.get("country") for location in locations}
    if len(countries) == 1:
        return _DOLLAR_COUNTRIES.get(countries.pop(), "USD")
    return "USD"


def _salary(p: Posting) -> None:
    p.salary_raw = _text_list(p.salary_raw)
    if p.salary:
        entries = [normalize_salary_entry(entry) for entry in p.salary if isinstance(entry, dict)]
        p.salary = [entry for i, entry in enumerate(entries) if entry not in entries[:i]]
        return
    dollar = _dollar(p.locations)
    found: dict[tuple[Any, ...], dict[str, Any]] = {}
    for text in [*p.salary_raw, p.description]:
        for entry in read_salaries(text, dollar):
            # The same pay stated twice (salary field and description) is one entry.
            found.setdefault(
                (entry["min"], entry["max"], entry["currency"], entry["period"]), entry
            )
    p.salary = list(found.values())
    p.salary_raw = _text_list([*p.salary_raw, *(entry["raw"] for entry in p.salary)])


def _dates(p: Posting, fetched_at: datetime) -> None:
    if (parsed := posted_at(p.posted_at_raw, fetched_at)) is not None:
        p.posted_at, p.posted_at_relative = parsed
    if p.deadline_raw:
        p.deadline = deadline(p.deadline_raw)
    elif not p.deadline and (found := deadline_in_text(p.description)):
        p.deadline, p.deadline_raw = found
    else:
        p.deadline = iso_date(p.deadline) or p.deadline


def normalize_posting(p: Posting, fetched_at: datetime) -> Posting:
    """Fill and tidy ``p`` in place and return it.

    Text fields are whitespace-normalized, ``description`` becomes the plain
    text of ``description_html`` (which is then cleared), URLs lose tracking
    parameters, and locations, workplace type, employment type, salary,
    ``posted_at`` and ``deadline`` are read from what the parser supplied
    (structured values first, then the ``*_raw`` text, then the description
    for salary and deadline). ``fetched_at`` is recorded in UTC and resolves
    relative dates. ``language`` is kept as the parser gave it.
    """
    p.external_id = _id_text(p.external_id) or ""
    p.title = clean_text(p.title)
    p.company = clean_text(p.company)
    p.department = clean_text(p.department)
    p.requisition_id = _id_text(p.requisition_id)
    p.url = clean_url(p.url)
    p.apply_url = clean_url(p.apply_url)

    if p.description_html:
        p.description = html_to_text(p.description_html)
    else:
        p.description = clean_paragraphs(p.description)
    p.description_html = None

    p.locations_raw = _text_list(p.locations_raw)
    p.locations = normalize_locations(p.locations, p.locations_raw)
    location_texts = [location["raw"] for location in p.locations if location["raw"]]
    p.workplace_type_raw = clean_text(p.workplace_type_raw)
    p.workplace_type = workplace_type(p.workplace_type_raw, location_texts or p.locations_raw) or (
        p.workplace_type if p.workplace_type in WORKPLACE_TYPES else None
    )
    if isinstance(p.employment_type_raw, list):
        p.employment_type_raw = ", ".join(_text_list(p.employment_type_raw)) or None
    p.employment_type_raw = clean_text(p.employment_type_raw)
    p.employment_type = employment_type(p.employment_type_raw) or (
        p.employment_type if p.employment_type in EMPLOYMENT_TYPES else None
    )

    _salary(p)
    _dates(p, fetched_at)
    p.skills = _text_list(p.skills)
    p.fetched_at = iso_utc(fetched_at)
    return p
