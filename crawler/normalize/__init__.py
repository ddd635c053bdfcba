"""Normalization every spider's items (and ``jobdelta extract``) go through.

:func:`normalize_posting` reads what a board parser filled into a
:class:`~crawler.items.Posting` (structured values and the ``*_raw`` text)
and fills and tidies the canonical fields of DESIGN.md: structured data
first, then the raw text, then the description, and never a value made up.
The helpers live in one module per concern (``salary``, ``dates``,
``places``, ``workplace``, ``employment``, ``ids``, ``language``, ``text``,
``urls``) and are small, tolerant and idempotent: each states what it
accepts and returns other input as is, and normalizing a posting twice
gives the same posting.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crawler.items import Posting
from crawler.normalize.dates import deadline, deadline_in_text, iso_date, iso_utc, posted_at
from crawler.normalize.employment import (
    EMPLOYMENT_TYPES,
    employment_in_title,
    employment_label,
    employment_type,
    stated_employment_type,
)
from crawler.normalize.ids import requisition_id_in_text
from crawler.normalize.language import detect_language, language_tag
from crawler.normalize.places import (
    country_code,
    country_currency,
    is_placeholder,
    normalize_locations,
    parse_location,
    parse_locations,
)
from crawler.normalize.salary import (
    currency_code,
    normalize_salary_entry,
    read_salaries,
    salary_period,
)
from crawler.normalize.text import clean_paragraphs, clean_text, html_to_text
from crawler.normalize.urls import clean_url
from crawler.normalize.workplace import (
    WORKPLACE_TYPES,
    workplace_in_places,
    workplace_in_text,
    workplace_label,
    workplace_phrase,
    workplace_type,
)

__all__ = [
    "clean_paragraphs",
    "clean_text",
    "clean_url",
    "country_code",
    "country_currency",
    "currency_code",
    "deadline",
    "deadline_in_text",
    "detect_language",
    "employment_in_title",
    "employment_label",
    "employment_type",
    "html_to_text",
    "is_placeholder",
    "iso_date",
    "language_tag",
    "normalize_locations",
    "normalize_posting",
    "normalize_salary_entry",
    "parse_location",
    "parse_locations",
    "posted_at",
    "read_salaries",
    "requisition_id_in_text",
    "salary_period",
    "stated_employment_type",
    "workplace_in_places",
    "workplace_in_text",
    "workplace_label",
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
    # The board's pay field states pay by being one; the description must say so.
    texts = [(text, True) for text in p.salary_raw] + [(p.description, False)]
    for text, pay_field in texts:
        for entry in read_salaries(text, dollar, pay_field=pay_field):
            # The same pay stated twice (salary field and description) is one entry.
            key = (entry["min"], entry["max"], entry["currency"], entry["period"])
            if key in found and entry.get("scope") and not found[key].get("scope"):
                found[key] = entry
            found.setdefault(key, entry)
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


def _workplace(p: Posting, localities: list[str]) -> None:
    location_texts = [location["raw"] for location in p.locations if location["raw"]]
    p.workplace_type_raw = clean_text(p.workplace_type_raw)
    p.workplace_type = workplace_type(p.workplace_type_raw, location_texts or p.locations_raw) or (
        p.workplace_type if p.workplace_type in WORKPLACE_TYPES else None
    )
    if p.workplace_type is None and p.workplace_type_raw is None and (
            kind := workplace_type(None, localities)):
        # "Remote" in place of a city: the place is dropped, its word kept.
        p.workplace_type, p.workplace_type_raw = kind, localities[0]
    if p.workplace_type is None and p.workplace_type_raw is None:
        # Last resort: a description sentence that states it outright.
        if stated := workplace_in_text(p.description):
            p.workplace_type, p.workplace_type_raw = stated


def normalize_posting(p: Posting, fetched_at: datetime) -> Posting:
    """Fill and tidy ``p`` in place and return it.

    Text fields are whitespace-normalized, ``description`` becomes the plain
    text of ``description_html`` (which is then cleared), URLs lose tracking
    parameters, and locations, workplace type, employment type, salary,
    ``posted_at``, ``deadline`` and ``requisition_id`` are read from what the
    parser supplied (structured values first, then the ``*_raw`` text, then
    the description for salary, deadline, a labelled job number and an
    outright workplace statement; the title for an employment type it
    states of the job; "Remote" in place of a city for the workplace). ``fetched_at`` is recorded in UTC and
    resolves relative dates. ``language`` is the parser's value as a BCP 47
    tag, else detected on the description (never on the page around it).
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
    if p.requisition_id is None and (found := requisition_id_in_text(p.description)):
        p.requisition_id = found[0]

    p.locations_raw = _text_list(p.locations_raw)
    localities = workplace_in_places(p.locations)
    p.locations = normalize_locations(p.locations, p.locations_raw)
    _workplace(p, localities)
    if isinstance(p.employment_type_raw, list):
        p.employment_type_raw = ", ".join(_text_list(p.employment_type_raw)) or None
    p.employment_type_raw = clean_text(p.employment_type_raw)
    p.employment_type = employment_type(p.employment_type_raw) or (
        p.employment_type if p.employment_type in EMPLOYMENT_TYPES else None
    )
    if p.employment_type is None and (found := employment_in_title(p.title)):
        # Nothing structured says it; the title says it of the job.
        p.employment_type, p.employment_type_raw = found

    _salary(p)
    _dates(p, fetched_at)
    p.skills = _text_list(p.skills)
    p.language = language_tag(p.language) or detect_language(p.description)
    p.fetched_at = iso_utc(fetched_at)
    return p
