"""The first-pass normalizers: table tests per helper (None, empty and
already-normalized values included), the traps (revenue is not salary, an
ongoing application window is no deadline), relative dates against a fixed
fetch time, and properties over arbitrary text."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.items import Posting
from crawler.normalize import (
    clean_paragraphs,
    clean_text,
    clean_url,
    country_code,
    currency_code,
    deadline,
    deadline_in_text,
    employment_type,
    html_to_text,
    normalize_locations,
    normalize_posting,
    normalize_salary_entry,
    parse_location,
    posted_at,
    read_salaries,
    salary_period,
    workplace_phrase,
    workplace_type,
)

FETCHED_AT = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


def loc(raw, city=None, region=None, country=None) -> dict:
    return {"raw": raw, "city": city, "region": region, "country": country}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("   \n\t ", None),
        (42, 42),
        ("  Senior   Engineer\n", "Senior Engineer"),
        ("R&amp;D\u00a0Lead", "R&D Lead"),
        ("AT&amp;amp;T", "AT&T"),
        ("Zu\u0308rich", "Zürich"),  # decomposed ü composed
        ("Data\u200bEngineer", "DataEngineer"),
        ("Already clean", "Already clean"),
    ],
)
def test_clean_text(value, expected) -> None:
    assert clean_text(value) == expected
    assert clean_text(clean_text(value)) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        (["list"], ["list"]),
        ("One  two\r\nthree\n\n\n\nFour ", "One two\nthree\n\nFour"),
        ("  a \u00a0 b  \n \n c", "a b\n\nc"),
        ("Para one.\n\nPara two.", "Para one.\n\nPara two."),
    ],
)
def test_clean_paragraphs(value, expected) -> None:
    assert clean_paragraphs(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("<p></p>", None),
        ("<h2>About</h2><p>One &amp; two</p><ul><li>a</li><li>b</li></ul>",
         "About\n\nOne & two\n\na\nb"),
        # Greenhouse: the HTML is escaped once more
        ("&lt;div&gt;&lt;p&gt;Hello &amp;amp; welcome&lt;/p&gt;&lt;p&gt;Bye&lt;/p&gt;&lt;/div&gt;",
         "Hello & welcome\n\nBye"),
        # text without markup: entities decoded, paragraphs kept
        ("First&nbsp;line\n\nSecond", "First line\n\nSecond"),
        # literal backslash-n left by double-encoded JSON
        ("\\n\\n<strong>Title</strong>\\n<p>Body</p>", "Title\n\nBody"),
        ("Already plain.\n\nText.", "Already plain.\n\nText."),
    ],
)  # fmt: skip
def test_html_to_text(value, expected) -> None:
    assert html_to_text(value) == expected
    assert clean_paragraphs(html_to_text(value)) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        (7, 7),
        ("https://x.com/jobs/1", "https://x.com/jobs/1"),
        ("https://boards.greenhouse.io/a/jobs/1?gh_jid=1&gh_src=abc&utm_source=li",
         "https://boards.greenhouse.io/a/jobs/1?gh_jid=1"),
        ("https://jobs.lever.co/a/b?lever-source=LinkedIn&lever-origin=applied",
         "https://jobs.lever.co/a/b"),
        ("https://x.com/j?id=5&src=feed&trk=abc&fbclid=1&gclid=2&ref=hn#apply",
         "https://x.com/j?id=5#apply"),
        (" https://x.com/j?b=2&a=1 ", "https://x.com/j?b=2&a=1"),
        ("http://[::1", "http://[::1"),
    ],
)  # fmt: skip
def test_clean_url(value, expected) -> None:
    assert clean_url(value) == expected
    assert clean_url(clean_url(value)) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("Narnia", None),
        ("USA", "US"),
        ("US", "US"),
        ("United States", "US"),
        ("U.S.", "US"),
        ("England", "GB"),
        ("United Kingdom", "GB"),
        ("UK", "GB"),
        ("gb", "GB"),
        ("Germany", "DE"),
        ("Deutschland", "DE"),
        ("Schweiz", "CH"),
        ("DEU", "DE"),
    ],
)
def test_country_code(value, expected) -> None:
    assert country_code(value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, None),
        ("", None),
        ("Hybrid - London", loc("Hybrid - London", city="London")),
        ("Remote, US", loc("Remote, US", country="US")),
        ("Remote", loc("Remote")),
        ("London, England, United Kingdom",
         loc("London, England, United Kingdom", "London", "England", "GB")),
        ("Sunnyvale, CA", loc("Sunnyvale, CA", "Sunnyvale", "CA", "US")),
        ("New York, NY, USA", loc("New York, NY, USA", "New York", "NY", "US")),
        ("Zürich, Switzerland", loc("Zürich, Switzerland", "Zürich", None, "CH")),
        ("Toronto, ON", loc("Toronto, ON", "Toronto", "ON", "CA")),
        ("London (Hybrid)", loc("London (Hybrid)", city="London")),
        ("On-site - Paris, France", loc("On-site - Paris, France", "Paris", None, "FR")),
        ("Remote - EMEA", loc("Remote - EMEA", region="EMEA")),
        ("Berlin", loc("Berlin", city="Berlin")),
    ],
)  # fmt: skip
def test_parse_location(text, expected) -> None:
    assert parse_location(text) == expected


def test_normalize_locations_keeps_structured_and_fills_countries() -> None:
    structured = [
        {"raw": "Bellevue, WA", "city": "Bellevue", "region": "WA", "country": "USA"},
        {"raw": "Sunnyvale, CA", "city": "Sunnyvale", "region": "CA"},
        {"raw": "Metzingen, DE", "city": "Metzingen", "region": None, "country": "DE"},
        {"raw": "Somewhere", "city": "Somewhere", "country": "Atlantis"},
    ]
    assert normalize_locations(structured, ["ignored when structured ones exist"]) == [
        loc("Bellevue, WA", "Bellevue", "WA", "US"),
        loc("Sunnyvale, CA", "Sunnyvale", "CA", "US"),
        loc("Metzingen, DE", "Metzingen", None, "DE"),
        loc("Somewhere", "Somewhere", None, None),  # unknown country: raw keeps it
    ]
    assert normalize_locations([], ["Hybrid - London", "", "Hybrid - London"]) == [
        loc("Hybrid - London", city="London")
    ]
    assert normalize_locations(None, None) == []
    once = normalize_locations(structured, [])
    assert normalize_locations(once, []) == once


@pytest.mark.parametrize(
    ("raw", "texts", "expected"),
    [
        (None, [], None),
        ("", [], None),
        ("unspecified", [], None),
        ("On-site", [], "onsite"),
        ("On Site", [], "onsite"),
        ("OnSite", [], "onsite"),
        ("onsite", [], "onsite"),
        ("Hybrid", [], "hybrid"),
        ("Hybrid (2 days on-site)", [], "hybrid"),
        ("TELECOMMUTE", [], "remote"),
        ("remote", [], "remote"),
        (None, ["Hybrid - London"], "hybrid"),
        (None, ["Remote, US"], "remote"),
        (None, ["Sunnyvale, CA", "Remote, US"], "remote"),
        (None, ["Hybrid - London", "Remote, US"], None),  # they disagree
        (None, ["London", "Berlin"], None),  # nothing stated: no guess
        (None, None, None),
    ],
)
def test_workplace_type(raw, texts, expected) -> None:
    assert workplace_type(raw, texts) == expected


def test_workplace_phrase() -> None:
    assert workplace_phrase("Hybrid - London") == "Hybrid"
    assert workplace_phrase("London") is None
    assert workplace_phrase(None) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, None),
        ("", None),
        ([], None),
        (3, None),
        ("Full-time", "full_time"),
        ("FULL_TIME", "full_time"),
        ("Full Time", "full_time"),
        (["FULL_TIME"], "full_time"),
        (["FULL_TIME", "PART_TIME"], "full_time"),
        ("full_time", "full_time"),
        ("Part-time", "part_time"),
        ("Contract", "contract"),
        ("CONTRACTOR", "contract"),
        ("Full-time contract", "contract"),
        ("Permanent contract", "full_time"),
        ("Fixed-term contract", "temporary"),
        ("Temporary", "temporary"),
        ("Intern", "internship"),
        ("Internship", "internship"),
        ("CDI", "full_time"),
        ("Vollzeit", "full_time"),
        ("Teilzeit", "part_time"),
        ("VOLUNTEER", "other"),
        ("Something else", "other"),
    ],
)
def test_employment_type(raw, expected) -> None:
    assert employment_type(raw) == expected
    if expected:
        assert employment_type(expected) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, []),
        ("", []),
        ("The base salary range for this role is USD $139,900 - $274,800 per year.",
         [(139900, 274800, "USD", "year", "USD $139,900 - $274,800 per year")]),
        ("Pay: $120k–150k", [(120000, 150000, "USD", None, "$120k–150k")]),
        ("Salary: £55,000 per annum", [(55000, 55000, "GBP", "year", "£55,000 per annum")]),
        ("The annual base salary is USD 163,000.00 - 296,400.00 per year.",
         [(163000, 296400, "USD", "year", "USD 163,000.00 - 296,400.00 per year")]),
        ("Starting at $22.50/hr", [(22.5, None, "USD", "hour", "$22.50/hr")]),
        ("Hourly rate: $25 - $30", [(25, 30, "USD", "hour", "$25 - $30")]),
        ("Salary up to €60.000 per year", [(None, 60000, "EUR", "year", "€60.000 per year")]),
        ("Salary between $100,000 and $120,000 annually",
         [(100000, 120000, "USD", "year", "$100,000 and $120,000 annually")]),
        # traps: amounts that are not pay for this posting
        ("We are a $2B company with 500 employees.", []),
        ("We raised $100 million from investors.", []),
        ("Our ARR passed $50,000,000 this year; the salary is competitive.", []),
        ("Revenue grew to $300k per month.", []),
        ("Join 1,200 engineers in 40 countries since 2015.", []),
        ("Competitive salary and benefits.", []),
        ("$150,000", []),  # a currency but no pay context
    ],
)  # fmt: skip
def test_read_salaries(text, expected) -> None:
    found = [
        (e["min"], e["max"], e["currency"], e["period"], e["raw"]) for e in read_salaries(text)
    ]
    assert found == expected


def test_read_salaries_bare_dollar_follows_the_given_currency() -> None:
    [entry] = read_salaries("Salary: $90,000 - $110,000 per year", dollar="CAD")
    assert entry["currency"] == "CAD"
    assert read_salaries("Salary: C$90,000 per year")[0]["currency"] == "CAD"


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (None, None),
        ("text", "text"),
        ({}, {"min": None, "max": None, "currency": None, "period": None, "raw": None}),
        ({"min": "320000.0", "max": "400000.0", "currency": "usd", "period": "YEAR", "raw": " x "},
         {"min": 320000, "max": 400000, "currency": "USD", "period": "year", "raw": "x"}),
        ({"min": 20.5, "max": 25, "currency": "$", "period": "per hour"},
         {"min": 20.5, "max": 25, "currency": "USD", "period": "hour", "raw": None}),
        ({"min": True, "max": "n/a", "currency": "dollars", "period": "sometimes"},
         {"min": None, "max": None, "currency": None, "period": None, "raw": None}),
    ],
)  # fmt: skip
def test_normalize_salary_entry(entry, expected) -> None:
    assert normalize_salary_entry(entry) == expected
    assert normalize_salary_entry(normalize_salary_entry(entry)) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("", None), ("HOUR", "hour"), ("1 YEAR", "year"), ("per annum", "year"),
     ("MONTH", "month"), ("weekly", "week"), ("DAY", "day"), ("/hr", "hour"), ("year", "year"),
     ("fortnight", None)],
)  # fmt: skip
def test_salary_period(value, expected) -> None:
    assert salary_period(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("", None), ("USD", "USD"), ("usd", "USD"), ("€", "EUR"), ("£", "GBP"),
     ("$", "USD"), ("C$", "CAD"), ("XYZ", None), ("dollars", None)],
)  # fmt: skip
def test_currency_code(value, expected) -> None:
    assert currency_code(value) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, None),
        ("", None),
        ("not a date", None),
        ("2026-08-06T12:50:10-04:00", ("2026-08-06T12:50:10-04:00", False)),
        ("2026-08-06", ("2026-08-06", False)),
        ("2026-08-06T12:50:10Z", ("2026-08-06T12:50:10+00:00", False)),
        ("1700000000000", ("2023-11-14T22:13:20+00:00", False)),
        ("September 3, 2026", ("2026-09-03", False)),
        ("4w ago", ("2026-09-03", True)),
        ("3 days ago", ("2026-09-28", True)),
        ("Posted 30+ Days Ago", ("2026-09-01", True)),
        ("Posted Today", ("2026-10-01", True)),
        ("Posted Yesterday", ("2026-09-30", True)),
        ("yesterday", ("2026-09-30", True)),
        ("2 hours ago", ("2026-10-01T10:00:00+00:00", True)),
        ("il y a 3 jours", ("2026-09-28", True)),
    ],
)
def test_posted_at(raw, expected) -> None:
    assert posted_at(raw, FETCHED_AT) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, None),
        ("", None),
        ("2035-11-06T00:00:00+01:00", "2035-11-06T00:00:00+01:00"),
        ("2026-06-30", "2026-06-30"),
        ("November 14th, 2025", "2025-11-14"),
        ("accept applications for the role until November 14th, 2025", "2025-11-14"),
        ("14/11/2025", "2025-11-14"),
        ("03/04/2026", None),  # day and month order unknown: no guess
        ("June 30", None),  # no year: no guess
        ("on an ongoing basis", None),
        ("until the position is filled", None),
    ],
)
def test_deadline(raw, expected) -> None:
    assert deadline(raw) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, None),
        ("", None),
        ("We will accept applications for the role until November 14th, 2025. Thank you.",
         ("2025-11-14", "accept applications for the role until November 14th, 2025")),
        ("Please apply by 30 June 2026.", ("2026-06-30", "apply by 30 June 2026")),
        ("Applications close on Nov. 14, 2025 at 5pm PT.",
         ("2025-11-14", "Applications close on Nov. 14, 2025")),
        ("Closing date: 2026-01-31", ("2026-01-31", "Closing date: 2026-01-31")),
        ("We accept applications on an ongoing basis.",
         (None, "accept applications on an ongoing basis")),
        ("Applications are reviewed until the position is filled.", None),
        ("Founded on January 1, 2010, we accept applications from everyone.", None),
        ("Apply now! Our office opened on 3 March 2020.", None),
    ],
)  # fmt: skip
def test_deadline_in_text(text, expected) -> None:
    assert deadline_in_text(text) == expected


def _greenhouse_like() -> Posting:
    return Posting(
        source="acme",
        external_id=123,  # type: ignore[arg-type]  # boards send numbers
        url="https://acme.com/jobs?gh_jid=123&utm_source=x",
        title="  Staff   Engineer ",
        company="Acme&amp;Co",
        requisition_id=77,  # type: ignore[arg-type]
        locations_raw=["Remote, US"],
        employment_type_raw="FULL_TIME",
        posted_at_raw="3 days ago",
        description_html=(
            "&lt;p&gt;We build things.&lt;/p&gt;"
            "&lt;p&gt;The base pay range is $150,000 - $180,000 per year.&lt;/p&gt;"
            "&lt;p&gt;We will accept applications until November 14th, 2026.&lt;/p&gt;"
            "&lt;p&gt;Acme is a $2B company.&lt;/p&gt;"
        ),
    )


def test_normalize_posting() -> None:
    p = normalize_posting(_greenhouse_like(), fetched_at=FETCHED_AT)
    assert p.external_id == "123" and p.requisition_id == "77"
    assert p.url == "https://acme.com/jobs?gh_jid=123"
    assert (p.title, p.company) == ("Staff Engineer", "Acme&Co")
    assert p.description_html is None
    assert p.description.startswith("We build things.\n\nThe base pay range")
    assert p.locations == [loc("Remote, US", country="US")]
    assert (p.workplace_type, p.employment_type) == ("remote", "full_time")
    assert p.salary == [
        {"min": 150000, "max": 180000, "currency": "USD", "period": "year",
         "raw": "$150,000 - $180,000 per year"}
    ]  # fmt: skip
    assert p.salary_raw == ["$150,000 - $180,000 per year"]
    assert (p.posted_at, p.posted_at_relative) == ("2026-09-28", True)
    assert p.deadline == "2026-11-14"
    assert p.deadline_raw == "accept applications until November 14th, 2026"
    assert p.fetched_at == "2026-10-01T12:00:00+00:00"


def test_normalize_posting_is_idempotent() -> None:
    once = normalize_posting(_greenhouse_like(), fetched_at=FETCHED_AT)
    snapshot = copy.deepcopy(once.to_dict())
    assert normalize_posting(once, fetched_at=FETCHED_AT).to_dict() == snapshot


def test_normalize_posting_keeps_what_the_parser_structured() -> None:
    p = Posting(
        source="s",
        external_id="1",
        salary=[{"min": "10", "max": "20", "currency": "eur", "period": "HOUR", "raw": "r"}],
        description="Salary USD 1,000,000 per year\n\n\nnot read: structured pay given",
        language="de",
        workplace_type="hybrid",
        employment_type="contract",
        deadline="2026-12-01",
    )
    normalize_posting(p, fetched_at=FETCHED_AT)
    assert p.salary == [{"min": 10, "max": 20, "currency": "EUR", "period": "hour", "raw": "r"}]
    assert p.description == "Salary USD 1,000,000 per year\n\nnot read: structured pay given"
    assert (p.language, p.workplace_type, p.employment_type) == ("de", "hybrid", "contract")
    assert p.deadline == "2026-12-01" and p.deadline_raw is None


def test_normalize_posting_empty() -> None:
    p = normalize_posting(Posting(), fetched_at=datetime(2026, 10, 1, 14, 0))
    assert p.to_dict() == {**Posting().to_dict(), "fetched_at": "2026-10-01T14:00:00+00:00"}


# Hypothesis: arbitrary text never crashes a helper, and normalizing twice
# changes nothing.

TEXT = st.one_of(st.none(), st.text(max_size=80), st.sampled_from([
    "Hybrid - London", "Remote, US", "Zürich, Switzerland", "USD $139,900 - $274,800 per year",
    "3 days ago", "Posted 30+ Days Ago", "2026-08-06T12:50:10-04:00", "&lt;p&gt;x&lt;/p&gt;",
    "apply by 30 June 2026", "on an ongoing basis", "FULL_TIME", "<p>a</p>\n\n<p>b</p>",
]))  # fmt: skip
SLOW = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SLOW
@given(TEXT)
def test_helpers_accept_any_text(text) -> None:
    for helper in (clean_text, clean_paragraphs, html_to_text, clean_url, country_code,
                   parse_location, employment_type, read_salaries, salary_period,
                   currency_code, deadline, deadline_in_text):  # fmt: skip
        helper(text)
    posted_at(text, FETCHED_AT)
    workplace_type(text, [text])
    assert clean_text(clean_text(text)) == clean_text(text)
    assert clean_paragraphs(clean_paragraphs(text)) == clean_paragraphs(text)
    assert clean_paragraphs(html_to_text(text)) == html_to_text(text)


@SLOW
@given(
    title=TEXT,
    location=TEXT,
    workplace=TEXT,
    employment=TEXT,
    salary=TEXT,
    posted=TEXT,
    closes=TEXT,
    description=TEXT,
    html=st.booleans(),
)
def test_normalize_posting_twice_is_once(
    title, location, workplace, employment, salary, posted, closes, description, html
) -> None:
    p = Posting(
        source="s",
        external_id="1",
        title=title,
        url=title,
        locations_raw=[location] if location is not None else [],
        workplace_type_raw=workplace,
        employment_type_raw=employment,
        salary_raw=[salary] if salary is not None else [],
        posted_at_raw=posted,
        deadline_raw=closes,
        description=None if html else description,
        description_html=description if html else None,
    )
    once = normalize_posting(p, fetched_at=FETCHED_AT).to_dict()
    assert normalize_posting(p, fetched_at=FETCHED_AT).to_dict() == once


# --------------------------------------------------------------------------- deeper readers (issue 4)

from crawler.normalize import (  # noqa: E402
    detect_language,
    employment_label,
    language_tag,
    parse_locations,
    requisition_id_in_text,
    workplace_in_text,
    workplace_label,
)

MS_PAY = ("Software Engineering M5 - The typical base pay range for this role across the U.S. is "
          "USD $139,900 - $274,800 per year. There is a different range applicable to specific work "
          "locations, within the San Francisco Bay area and New York City metropolitan area, and the "
          "base pay range for this role in those locations is USD $188,000 - $304,200 per year.")


@pytest.mark.parametrize(
    ("text", "pay_field", "expected"),
    [
        (MS_PAY, False, [
            (139900, 274800, "USD", "year", "U.S.", "USD $139,900 - $274,800 per year"),
            (188000, 304200, "USD", "year",
             "San Francisco Bay area and New York City metropolitan area",
             "USD $188,000 - $304,200 per year")]),
        ("€4.500 brutto/Monat", False, [(4500, 4500, "EUR", "month", None, "€4.500 brutto/Monat")]),
        ("Gehalt: 4.500 € brutto pro Monat", False,
         [(4500, 4500, "EUR", "month", None, "4.500 € brutto pro Monat")]),
        ("CHF 120'000 - 140'000 per year", False,
         [(120000, 140000, "CHF", "year", None, "CHF 120'000 - 140'000 per year")]),
        ("Salary: KRW 60,000,000 - 80,000,000 per year", False,
         [(60000000, 80000000, "KRW", "year", None, "KRW 60,000,000 - 80,000,000 per year")]),
        ("연봉 5,000만원 ~ 7,000만원", False,
         [(50000000, 70000000, "KRW", "year", None, "5,000만원 ~ 7,000만원")]),
        ("Salaire : 45 000 € à 55 000 € par an", False,
         [(45000, 55000, "EUR", "year", None, "45 000 € à 55 000 € par an")]),
        ("€15 pro Stunde", False, [(15, 15, "EUR", "hour", None, "€15 pro Stunde")]),
        ("$25 - $30 per hour", False, [(25, 30, "USD", "hour", None, "$25 - $30 per hour")]),
        ("Pay for candidates based in Texas: $90,000 per year", False,
         [(90000, 90000, "USD", "year", "Texas", "$90,000 per year")]),
        # a board's pay field needs no pay word; running text does
        ("£55,000", True, [(55000, 55000, "GBP", None, None, "£55,000")]),
        ("£55,000", False, []),
        ("$120k–150k", True, [(120000, 150000, "USD", None, None, "$120k–150k")]),
        # salary statistics, revenue and valuation are not this posting's pay
        ("Salary Ranges\n5,571 data points\n$163,358\ntotal / year\nBase\n$141,875", False, []),
        ("The average salary at Microsoft is $150,000 per year.", False, []),
        ("10,001+ Employees · $3000B Valuation", False, []),
        ("Median pay reported by 2 employees: $163,358 per year", False, []),
        # an amount never runs across a line break
        ("Salary\n1\n€", False, []),
    ],
)  # fmt: skip
def test_read_salaries_deeper(text, pay_field, expected) -> None:
    found = [(e["min"], e["max"], e["currency"], e["period"], e.get("scope"), e["raw"])
             for e in read_salaries(text, pay_field=pay_field)]
    assert found == expected


def test_salary_scope_survives_normalization() -> None:
    p = normalize_posting(Posting(source="s", external_id="1", description=MS_PAY), FETCHED_AT)
    assert [e.get("scope") for e in p.salary] == [
        "U.S.", "San Francisco Bay area and New York City metropolitan area"]
    again = normalize_posting(copy.deepcopy(p), FETCHED_AT)
    assert again.salary == p.salary


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Microsoft will accept applications for the role until November 14th, 2025.",
         ("2025-11-14", "accept applications for the role until November 14th, 2025")),
        ("Microsoft will accept applications and processes offers for these roles on an ongoing basis.",
         (None, "accept applications and processes offers for these roles on an ongoing basis")),
        ("This position will be open for a minimum of 5 days, with applications accepted on an "
         "ongoing basis until the position is filled.",
         (None, "position will be open for a minimum of 5 days, with applications accepted on an "
                "ongoing basis until the position is filled")),
        # a return-to-office date and a founding year are not deadlines
        ("Starting January 26, 2026, MAI employees are expected to work from a designated Microsoft "
         "office at least four days a week.", None),
        ("Founded in 1975, Microsoft employs 228,000 people.", None),
        ("Bewerbungsfrist: 30. Juni 2026", ("2026-06-30", "Bewerbungsfrist: 30. Juni 2026")),
        ("Bitte bewerben Sie sich bis zum 30.06.2026 online.",
         ("2026-06-30", "bewerben Sie sich bis zum 30.06.2026")),
        ("Date limite de candidature : 15 décembre 2025.",
         ("2025-12-15", "Date limite de candidature : 15 décembre 2025")),
        ("Fecha límite: 6 de noviembre de 2025", ("2025-11-06", "Fecha límite: 6 de noviembre de 2025")),
        ("접수 마감: 2025년 11월 14일", ("2025-11-14", "접수 마감: 2025년 11월 14일")),
        ("The posting closes on 2026-03-01.", ("2026-03-01", "posting closes on 2026-03-01")),
        ("Bewerbungsfrist: laufend", (None, "Bewerbungsfrist: laufend")),
        ("Applications close 30 June", None),  # no year: no guess
    ],
)  # fmt: skip
def test_deadline_in_text_deeper(text, expected) -> None:
    assert deadline_in_text(text) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("4w ago", ("2026-09-03", True)),
        ("30+ days ago", ("2026-09-01", True)),
        ("Posted 2 weeks ago", ("2026-09-17", True)),
        ("Publié le 3 mars 2026", ("2026-03-03", False)),
        ("Veröffentlicht am 30.06.2026", ("2026-06-30", False)),
        ("vor 3 Tagen", ("2026-09-28", True)),
        ("hace 2 días", ("2026-09-29", True)),
    ],
)
def test_posted_at_deeper(raw, expected) -> None:
    assert posted_at(raw, FETCHED_AT) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, []),
        ("", []),
        ("United Kingdom, London, London; Switzerland, Zürich, Zürich",
         [loc("United Kingdom, London, London", "London", "London", "GB"),
          loc("Switzerland, Zürich, Zürich", "Zürich", "Zürich", "CH")]),
        ("Multiple Locations, United States", [loc("Multiple Locations, United States", country="US")]),
        ("United States, Washington, Redmond",
         [loc("United States, Washington, Redmond", "Redmond", "Washington", "US")]),
        ("Remote - US, Canada", [loc("Remote - US, Canada", country="US"),
                                 loc("Remote - US, Canada", country="CA")]),
        ("Remote (US or UK)", [loc("Remote (US or UK)", country="US"),
                               loc("Remote (US or UK)", country="GB")]),
        ("München, Deutschland", [loc("München, Deutschland", "München", None, "DE")]),
        ("São Paulo, Brasil", [loc("São Paulo, Brasil", "São Paulo", None, "BR")]),
        ("Sunnyvale, CA", [loc("Sunnyvale, CA", "Sunnyvale", "CA", "US")]),
    ],
)  # fmt: skip
def test_parse_locations(text, expected) -> None:
    assert parse_locations(text) == expected
    assert normalize_locations([], [text] if text else []) == expected


@pytest.mark.parametrize(
    ("text", "label", "kind"),
    [
        (None, None, None),
        ("On Site", "onsite", "onsite"),
        ("On-site", "onsite", "onsite"),
        ("Up to 50% work from home", "hybrid", "hybrid"),
        ("100% remote", "remote", "remote"),
        ("0% work from home", "onsite", "onsite"),
        ("Hybrid work", "hybrid", "hybrid"),
        ("Remote Sensing Engineer", None, "remote"),  # a title, not a label
    ],
)
def test_workplace_label(text, label, kind) -> None:
    assert workplace_label(text) == label
    assert workplace_type(text) == kind


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, None),
        ("This role is fully remote.", ("remote", "This role is fully remote")),
        ("Work arrangement: Hybrid (3 days in office)",
         ("hybrid", "Work arrangement: Hybrid (3 days in office)")),
        ("Up to 50% work from home", ("hybrid", "Up to 50% work from home")),
        ("#LI-Hybrid", ("hybrid", "#LI-Hybrid")),
        ("We work with remote teams and RDMA (remote direct memory access).", None),
        ("Expected to work from a designated office at least four days a week.", None),
    ],
)
def test_workplace_in_text(text, expected) -> None:
    assert workplace_in_text(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [(None, None), ("Full Time", "full_time"), ("Full-time", "full_time"), ("CDI", "full_time"),
     ("Vollzeit", "full_time"), ("Teilzeit", "part_time"), ("Werkstudent", "part_time"),
     ("Part-time, Permanent", "part_time"), ("정규직", "full_time"),
     ("Contract Manager", None), ("Principal Engineer Manager", None)],
)  # fmt: skip
def test_employment_label(text, expected) -> None:
    assert employment_label(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, None),
        ("Job number 1234567", ("1234567", "Job number 1234567")),
        ("Job ID: R0123456.", ("R0123456", "Job ID: R0123456")),
        ("Requisition ID: 4711 posted today", ("4711", "Requisition ID: 4711")),
        ("Referenznummer: YF-1234", ("YF-1234", "Referenznummer: YF-1234")),
        ("Job code: see below", None),
        ("We check references before an offer.", None),
        ("Join 1,200 engineers.", None),
    ],
)
def test_requisition_id_in_text(text, expected) -> None:
    assert requisition_id_in_text(text) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("", None), ("en", "en"), ("EN", "en"), ("en_us", "en-US"), ("de-CH", "de-CH"),
     ("zh-hant-tw", "zh-Hant-TW"), ("deu", "de"), ("English", "en"), ("Klingonish", None)],
)  # fmt: skip
def test_language_tag(value, expected) -> None:
    assert language_tag(value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, None),
        ("Senior Engineer", None),  # too short to tell
        ("We are looking for an engineer to design and build our distributed systems.", "en"),
        ("Wir suchen eine engagierte Mitarbeiterin für unser Team in München.", "de"),
        ("Nous recherchons un développeur pour rejoindre notre équipe à Paris.", "fr"),
        ("Buscamos un vendedor apasionado por el deporte para nuestra tienda de Albacete.", "es"),
    ],
)
def test_detect_language(text, expected) -> None:
    assert detect_language(text) == expected


def test_normalize_posting_reads_the_description_last() -> None:
    p = Posting(source="s", external_id="1", language="EN",
                description="Job number 1234567\n\nThis role is fully remote.\n\nWe build things.")
    normalize_posting(p, FETCHED_AT)
    assert (p.requisition_id, p.workplace_type, p.workplace_type_raw, p.language) == (
        "1234567", "remote", "This role is fully remote", "en")
    # what the parser gave wins over the description
    q = Posting(source="s", external_id="2", requisition_id="R-1", workplace_type_raw="On-site",
                description="Job number 1234567\n\nThis role is fully remote, or so the "
                            "description says; the board says otherwise.")
    normalize_posting(q, FETCHED_AT)
    assert (q.requisition_id, q.workplace_type, q.language) == ("R-1", "onsite", "en")
