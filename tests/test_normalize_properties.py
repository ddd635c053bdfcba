"""Properties of the normalizers and the page-text reader, over arbitrary
text and over text assembled from real posting phrases: they never crash,
they are idempotent (reading their own output again gives it back), and
the raw text they keep is text the input holds."""

from __future__ import annotations

import copy
import re
from datetime import UTC, date, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.app.extract import extract, read_text
from crawler.items import Posting
from crawler.normalize import (
    clean_paragraphs,
    clean_text,
    deadline,
    deadline_in_text,
    detect_language,
    employment_label,
    employment_type,
    language_tag,
    normalize_locations,
    normalize_posting,
    normalize_salary_entry,
    parse_locations,
    posted_at,
    read_salaries,
    requisition_id_in_text,
    workplace_in_text,
    workplace_label,
    workplace_type,
)
from crawler.normalize.employment import EMPLOYMENT_TYPES
from crawler.normalize.workplace import WORKPLACE_TYPES

FETCHED_AT = datetime(2025, 11, 10, 9, 0, tzinfo=UTC)
PERIODS = {None, "hour", "day", "week", "month", "year"}

# Phrases from real postings and pages, in several languages, so that the
# generated text reaches the readers' real paths and not only their exits.
PHRASES = [
    "USD $139,900 - $274,800 per year", "USD 163,000.00 - 296,400.00 per year", "$120k–150k",
    "£55,000", "€4.500 brutto/Monat", "CHF 120'000 - 140'000 per year", "$45/hr",
    "연봉 5,000만원 ~ 7,000만원", "KRW 60,000,000 per year", "Salary:", "base pay range",
    "within the San Francisco Bay area and New York City metropolitan area,", "across the U.S.",
    "$163,358", "total / year", "5,571 data points", "$3000B", "Valuation", "raised $100 million",
    "Microsoft will accept applications for the role until November 14th, 2025.",
    "on an ongoing basis", "until the position is filled", "open for a minimum of 5 days",
    "Starting January 26, 2026,", "Founded in 1975", "Bewerbungsfrist: 30. Juni 2026",
    "date limite : 15/12/2025", "Fecha límite: 6 de noviembre de 2025", "apply by", "closing date",
    "United Kingdom, London, London; Switzerland, Zürich, Zürich",
    "Multiple Locations, United States", "Remote - US, Canada", "Hybrid - London", "Sunnyvale, CA",
    "On Site", "On-site", "Up to 50% work from home", "100% remote", "Full Time", "Full-time",
    "CDI", "Vollzeit", "Contract Manager", "4w ago", "3 days ago", "30+ days ago", "yesterday",
    "Job number 1234567", "Req ID: R-2025-114", "Skills", "Required Skills", "Overview:",
    "트렌딩 기업", "Total Views", "Save", "·", "Microsoft is an equal opportunity employer.",
    "We are looking for engineers who build large systems for millions of people every day.",
]  # fmt: skip
PHRASE_TEXT = st.lists(
    st.one_of(st.sampled_from(PHRASES), st.text(max_size=20)), max_size=12
).flatmap(lambda parts: st.sampled_from([" ", "\n", "\n\n", ", ", "; "]).map(lambda sep: sep.join(parts)))
TEXT = st.one_of(st.text(max_size=200), PHRASE_TEXT)
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _in_text(raw: str, text: str) -> bool:
    # raw text is kept: it is the input's text, up to what clean_text tidies
    # (whitespace runs, entities, Unicode NFC form)
    return (clean_text(raw) or "") in (clean_text(text) or "")


@SETTINGS
@given(TEXT, st.booleans())
def test_salary_reader(text: str, pay_field: bool) -> None:
    for entry in read_salaries(text, pay_field=pay_field):
        assert _in_text(entry["raw"], text)
        assert entry["currency"] and re.fullmatch(r"[A-Z]{3}", entry["currency"])
        assert entry["period"] in PERIODS
        assert entry["min"] is not None or entry["max"] is not None
        if entry["min"] is not None and entry["max"] is not None:
            assert 0 < entry["min"] <= entry["max"]
        if "scope" in entry:
            assert entry["scope"] and _in_text(entry["scope"], text)
        tidy = normalize_salary_entry(entry)
        assert tidy == entry and normalize_salary_entry(tidy) == tidy
        # the kept raw text, read again as a pay field, states the same pay
        again = read_salaries(entry["raw"], pay_field=True)
        assert [(e["min"], e["max"], e["currency"]) for e in again][:1] == [
            (entry["min"], entry["max"], entry["currency"])]


@SETTINGS
@given(TEXT)
def test_location_reader(text: str) -> None:
    places = parse_locations(text)
    for place in places:
        assert set(place) == {"raw", "city", "region", "country"}
        assert place["raw"] and _in_text(place["raw"], text)
        assert place["country"] is None or re.fullmatch(r"[A-Z]{2}", place["country"])
    once = normalize_locations([], [text])
    assert normalize_locations(once, [text]) == once
    assert normalize_locations(copy.deepcopy(once), []) == once


@SETTINGS
@given(TEXT)
def test_deadline_reader(text: str) -> None:
    found = deadline_in_text(text)
    if found is None:
        return
    iso, raw = found
    assert raw and _in_text(raw, text)
    # the kept raw text gives the same deadline when read again
    assert deadline(raw) == iso
    if iso is not None:
        assert date.fromisoformat(iso[:10])


@SETTINGS
@given(TEXT)
def test_posted_reader(text: str) -> None:
    found = posted_at(text, FETCHED_AT)
    if found is not None:
        iso, relative = found
        assert datetime.fromisoformat(iso) if "T" in iso else date.fromisoformat(iso)
        assert isinstance(relative, bool)


@SETTINGS
@given(TEXT)
def test_type_readers(text: str) -> None:
    assert workplace_type(text, [text]) in (*WORKPLACE_TYPES, None)
    assert workplace_label(text) in (*WORKPLACE_TYPES, None)
    if stated := workplace_in_text(text):
        kind, phrase = stated
        assert kind in WORKPLACE_TYPES and phrase in text
        assert workplace_type(phrase) == kind
    assert employment_type(text) in (*EMPLOYMENT_TYPES, None)
    if label := employment_label(text):
        assert label == employment_type(text)


@SETTINGS
@given(TEXT)
def test_requisition_reader(text: str) -> None:
    if found := requisition_id_in_text(text):
        value, phrase = found
        assert any(ch.isdigit() for ch in value) and value in text
        assert _in_text(phrase, text)
        assert requisition_id_in_text(phrase) == found


@SETTINGS
@given(st.one_of(st.text(max_size=12), st.sampled_from(["en", "EN", "en_us", "de-ch", "fra",
                                                          "English", "zh-hant-tw", "pt-BR"])))
def test_language_tag(value: str) -> None:
    tag = language_tag(value)
    assert language_tag(tag) == tag


@SETTINGS
@given(TEXT)
def test_language_detection(text: str) -> None:
    language = detect_language(text)
    assert language is None or re.fullmatch(r"[a-z]{2}", language)
    assert detect_language(text) == language


@SETTINGS
@given(TEXT)
def test_page_text_reader(text: str) -> None:
    posting = read_text(text)
    if posting is None:
        return
    for value in (posting.title, posting.company, posting.workplace_type_raw,
                  posting.employment_type_raw, posting.posted_at_raw, *posting.locations_raw,
                  *posting.salary_raw, *posting.skills):
        if value is not None:
            assert value == clean_text(value) and _in_text(value, text)
    if posting.description is not None:
        assert clean_paragraphs(posting.description) == posting.description
    # the whole extract path: normalizing its result again changes nothing
    for page in extract(text, fetched_at=FETCHED_AT):
        once = page.to_dict()
        assert normalize_posting(page, fetched_at=FETCHED_AT).to_dict() == once


@SETTINGS
@given(description=TEXT, header=TEXT, html=st.booleans())
def test_normalize_posting_twice_is_once(description: str, header: str, html: bool) -> None:
    p = Posting(
        source="s", external_id="1", title=header, locations_raw=[header], salary_raw=[header],
        workplace_type_raw=header, employment_type_raw=header, posted_at_raw=header,
        description=None if html else description,
        description_html=f"<p>{description}</p>" if html else None,
    )
    once = normalize_posting(p, fetched_at=FETCHED_AT).to_dict()
    assert normalize_posting(p, fetched_at=FETCHED_AT).to_dict() == once
    for entry in once["salary"]:
        assert entry["raw"] in once["salary_raw"]
