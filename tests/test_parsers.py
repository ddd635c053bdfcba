"""Board parsers as pure functions: Scrapy responses built in memory in,
postings or URLs out. Broken input must give a clear BoardError or, for
pages, no posting, never a crash."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, TextResponse, XmlResponse

from crawler.errors import BoardError
from crawler.normalize import normalize_posting
from spiders.parsers.greenhouse import parse_jobs
from spiders.parsers.jsonld import extract_postings, find_links, next_page, sitemap_urls

FIXTURES = Path(__file__).resolve().parent / "data" / "fixtures"
BOARD_URL = "https://boards-api.greenhouse.io/v1/boards/acme/jobs?content=true"
PAGE_URL = "https://careers.example.com/jobs/42"


def json_response(body: str | bytes, url: str = BOARD_URL) -> TextResponse:
    body = body.encode("utf-8") if isinstance(body, str) else body
    return TextResponse(url=url, body=body, encoding="utf-8")


def page(html: str, url: str = PAGE_URL) -> HtmlResponse:
    return HtmlResponse(url=url, body=html.encode("utf-8"), encoding="utf-8")


def ld(data: object) -> str:
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


# --- Greenhouse ---------------------------------------------------------------


def test_greenhouse_malformed_json_is_a_clear_board_error() -> None:
    with pytest.raises(BoardError) as error:
        parse_jobs(json_response("<html>Bad gateway</html>"), "acme")
    message = str(error.value)
    assert message.startswith(
        "malformed JSON from Greenhouse board: Expecting value: line 1 column 1"
    )
    assert message.endswith(f"({BOARD_URL})")
    assert error.value.url == BOARD_URL


@pytest.mark.parametrize("body", ["{}", "[]", '{"jobs": null}', '{"jobs": {}}', '"jobs"', ""])
def test_greenhouse_body_without_jobs_list_is_a_board_error(body: str) -> None:
    with pytest.raises(BoardError):
        parse_jobs(json_response(body), "acme")


def test_greenhouse_job_without_id_is_a_board_error() -> None:
    # Skipping it would make the listing look complete and expire the posting.
    with pytest.raises(BoardError, match="without an id"):
        parse_jobs(json_response('{"jobs": [{"title": "No id"}]}'), "acme")


def test_greenhouse_empty_board_and_total() -> None:
    assert parse_jobs(json_response('{"jobs": [], "meta": {"total": 0}}'), "acme") == ([], 0)
    assert parse_jobs(json_response('{"jobs": []}'), "acme") == ([], None)


def test_greenhouse_fixture_maps_the_board_fields() -> None:
    body = (FIXTURES / "greenhouse" / "hunt_vercel_jobs_content_true.json").read_bytes()
    postings, total = parse_jobs(json_response(body), "vercel")
    assert total is None  # the saver cut the meta object
    first = postings[0]
    assert (first.source, first.external_id, first.requisition_id) == (
        "vercel",
        "6136160004",
        "1311",
    )
    assert first.apply_url == first.url == "https://job-boards.greenhouse.io/vercel/jobs/6136160004"
    assert first.workplace_type_raw == "Hybrid"
    assert first.posted_at_raw == "2026-08-06T12:50:10-04:00"
    assert first.description_html.startswith("&lt;div class=&quot;content-intro&quot;&gt;")
    assert first.locations_raw == ["Hybrid - London", "London, England, United Kingdom"]


def _job(**fields: object) -> str:
    job = {"id": 1, "title": "Engineer", "absolute_url": "https://acme.com/jobs?gh_jid=1"}
    return json.dumps({"jobs": [{**job, **fields}], "meta": {"total": 1}})


def test_greenhouse_currency_range_metadata_is_structured_salary() -> None:
    metadata = [
        {"name": "Career Site Categories", "value": "Sales", "value_type": "single_select"},
        {"name": "Salary Range", "value_type": "currency_range",
         "value": {"unit": "USD", "min_value": "320000.0", "max_value": "400000.0"}},
        {"name": "Hourly Pay", "value_type": "currency_range",
         "value": {"unit": "USD", "min_value": "40.0", "max_value": "55.5"}},
    ]  # fmt: skip
    [posting], total = parse_jobs(json_response(_job(metadata=metadata)), "acme")
    assert total == 1
    normalize_posting(posting, datetime(2026, 10, 1, tzinfo=UTC))
    assert [(s["min"], s["max"], s["currency"], s["period"]) for s in posting.salary] == [
        (320000, 400000, "USD", "year"),
        (40, 55.5, "USD", "hour"),
    ]


def test_greenhouse_offices_elsewhere_are_more_locations() -> None:
    offices = [
        {"name": "SF", "location": "San Francisco, CA, United States"},
        {"name": "NYC", "location": "New York, NY, United States"},
    ]
    body = _job(location={"name": "San Francisco, CA"}, offices=offices)
    [posting], _ = parse_jobs(json_response(body), "acme")
    assert posting.locations == [
        {"raw": "San Francisco, CA", "city": "San Francisco", "region": "CA", "country": "US"},
        {"raw": "New York, NY, United States", "city": "New York", "region": "NY",
         "country": "US"},
    ]  # fmt: skip


# --- schema.org JobPosting pages ----------------------------------------------


def test_page_without_jsonld_or_microdata_gives_no_posting() -> None:
    assert extract_postings(page("<html><body><h1>Careers</h1></body></html>"), "s") == []
    assert extract_postings(page(""), "s") == []


def test_empty_jsonld_tag_gives_no_posting() -> None:
    body = (FIXTURES / "html_pages" / "jobseek_decathlon_talentclue_jobpage_es.html").read_bytes()
    response = HtmlResponse(
        url="https://decathlon.talentclue.com/es/node/124223851/4590", body=body, encoding="utf-8"
    )
    assert extract_postings(response, "decathlon") == []


MICRODATA = """
<div itemscope itemtype="https://schema.org/JobPosting">
  <h1 itemprop="title">Baker &amp; Cook</h1>
  <div itemprop="hiringOrganization" itemscope itemtype="https://schema.org/Organization">
    <span itemprop="name">Bäckerei Zürich</span></div>
  <div itemprop="description"><p>Bake bread.</p><p>Cook soup.</p></div>
  <span itemprop="employmentType">Vollzeit</span>
  <meta itemprop="datePosted" content="2026-09-01">
  <div itemprop="jobLocation" itemscope itemtype="https://schema.org/Place">
    <div itemprop="address" itemscope itemtype="https://schema.org/PostalAddress">
      <span itemprop="addressLocality">Zürich</span><span itemprop="addressCountry">CH</span>
    </div></div>
</div>"""


def test_microdata_posting_is_read() -> None:
    [posting] = extract_postings(page(f"<html><body>{MICRODATA}</body></html>"), "s")
    normalize_posting(posting, datetime(2026, 10, 1, tzinfo=UTC))
    assert (posting.title, posting.company) == ("Baker & Cook", "Bäckerei Zürich")
    assert posting.description == "Bake bread.\n\nCook soup."
    assert posting.employment_type == "full_time"
    assert posting.posted_at == "2026-09-01"
    assert posting.locations == [
        {"raw": "Zürich, CH", "city": "Zürich", "region": None, "country": "CH"}
    ]
    assert (posting.external_id, posting.url) == ("/jobs/42", PAGE_URL)


def test_broken_jsonld_tag_is_skipped_and_the_rest_still_read() -> None:
    html = (
        '<html><head><script type="application/ld+json">{"@type": "JobPosting", "title": </script>'
        + ld({"@type": "JobPosting", "title": "From JSON-LD", "identifier": "ld-1"})
        + f"</head><body>{MICRODATA}</body></html>"
    )
    postings = extract_postings(page(html), "s")
    assert [p.title for p in postings] == ["From JSON-LD", "Baker & Cook"]


def test_graph_list_and_type_list_are_read() -> None:
    graph = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebPage", "name": "Careers"},
            {"@type": ["JobPosting", "Thing"], "title": "In a graph", "identifier": 7},
        ],
    }
    top_list = [{"@type": "Organization"}, {"@type": "JobPosting", "title": "In a list"}]
    html = f"<html><head>{ld(graph)}{ld(top_list)}</head></html>"
    postings = extract_postings(page(html), "s")
    assert [(p.title, p.external_id) for p in postings] == [
        ("In a graph", "7"),
        ("In a list", "/jobs/42"),
    ]


def test_jsonld_fields_are_mapped() -> None:
    data = {
        "@type": "JobPosting",
        "title": "Remote Data Engineer",
        "url": "/jobs/42-data-engineer?utm_source=x",
        "identifier": {"@type": "PropertyValue", "name": "id", "value": "DE-42"},
        "hiringOrganization": "Acme",
        "employmentType": ["FULL_TIME", "CONTRACTOR"],
        "jobLocationType": "TELECOMMUTE",
        "applicantLocationRequirements": [{"@type": "Country", "name": "Germany"}],
        "jobLocation": [
            {"@type": "Place", "address": {"addressLocality": "Berlin",
                                            "addressCountry": {"name": ["Germany", "Germany"]}}},
            {"@type": "Place", "address": {"addressLocality": "Wien", "addressCountry": ["AT"]}},
        ],
        "baseSalary": {"@type": "MonetaryAmount", "currency": "EUR",
                       "value": {"@type": "QuantitativeValue", "minValue": 60000,
                                 "maxValue": 80000, "unitText": "YEAR"}},
        "skills": "Python, SQL, Airflow",
        "inLanguage": "de-DE",
        "datePosted": "2026-09-01",
        "validThrough": "2026-12-31T23:59:59+01:00",
        "directApply": True,
    }  # fmt: skip
    [posting] = extract_postings(page(f"<html><head>{ld(data)}</head></html>"), "s")
    assert posting.url == "https://careers.example.com/jobs/42-data-engineer?utm_source=x"
    assert posting.apply_url == posting.url
    assert posting.employment_type_raw == "FULL_TIME, CONTRACTOR"
    assert posting.workplace_type_raw == "TELECOMMUTE"
    assert posting.skills == ["Python", "SQL", "Airflow"]
    normalize_posting(posting, datetime(2026, 10, 1, tzinfo=UTC))
    assert posting.external_id == "DE-42"
    assert posting.url == "https://careers.example.com/jobs/42-data-engineer"
    assert (posting.workplace_type, posting.employment_type) == ("remote", "full_time")
    assert [(loc["city"], loc["country"]) for loc in posting.locations] == [
        ("Berlin", "DE"), ("Wien", "AT"), (None, "DE"),
    ]  # fmt: skip
    assert posting.salary == [
        {"min": 60000, "max": 80000, "currency": "EUR", "period": "year",
         "raw": posting.salary[0]["raw"]}
    ]  # fmt: skip
    assert (posting.language, posting.deadline) == ("de-DE", "2026-12-31T23:59:59+01:00")


def test_pay_as_text_and_apply_action() -> None:
    data = {
        "@type": "JobPosting",
        "title": "T",
        "baseSalary": "$50,000 - $60,000 per year",
        "potentialAction": [
            {"@type": "SearchAction", "target": "/search"},
            {"@type": "ApplyAction", "target": {"@type": "EntryPoint", "urlTemplate": "/apply/1"}},
        ],
    }
    [posting] = extract_postings(page(ld(data)), "s")
    assert posting.apply_url == "https://careers.example.com/apply/1"
    normalize_posting(posting, datetime(2026, 10, 1, tzinfo=UTC))
    assert [(s["min"], s["max"], s["period"]) for s in posting.salary] == [(50000, 60000, "year")]


def test_place_name_wins_over_a_contradicting_address() -> None:
    country = {"@type": "Country", "name": ["USA", "USA"]}
    address = {"addressLocality": "Sunnyvale", "addressRegion": "CA", "addressCountry": country}
    place = {"@type": "Place", "name": "Seattle, WA", "address": address}
    data = {"@type": "JobPosting", "title": "T", "jobLocation": place}
    [posting] = extract_postings(page(ld(data)), "s")
    normalize_posting(posting, datetime(2026, 10, 1, tzinfo=UTC))
    assert posting.locations == [
        {"raw": "Seattle, WA", "city": "Seattle", "region": "WA", "country": "US"}
    ]


# --- links, pagination, sitemaps ----------------------------------------------

LISTING = """<html><body>
<a href="/jobs/1">One</a> <a href="/jobs/2#apply">Two</a> <a href="/jobs/1">One again</a>
<a href="https://jobs.example.com/jobs/3">Three (subdomain)</a>
<a href="/about">About</a> <a href="/brochure.pdf">PDF</a>
<a href="https://elsewhere.org/jobs/4">Elsewhere</a>
<a href="mailto:jobs@example.com">Mail</a>
<a rel="next" href="?page=2">Next</a>
</body></html>"""


def test_find_links_with_allow_pattern() -> None:
    response = page(LISTING, url="https://www.example.com/careers")
    assert find_links(response, r"/jobs/\d+") == [
        "https://www.example.com/jobs/1",
        "https://www.example.com/jobs/2",
        "https://jobs.example.com/jobs/3",
        "https://elsewhere.org/jobs/4",
    ]


def test_find_links_without_pattern_stays_on_the_site() -> None:
    response = page(LISTING, url="https://www.example.com/careers")
    assert find_links(response, None) == [
        "https://www.example.com/jobs/1",
        "https://www.example.com/jobs/2",
        "https://jobs.example.com/jobs/3",
        "https://www.example.com/about",
        "https://www.example.com/careers?page=2",
    ]


def test_next_page() -> None:
    response = page(LISTING, url="https://www.example.com/careers")
    assert next_page(response) == "https://www.example.com/careers?page=2"
    head_link = '<html><head><link rel="next" href="/careers/p/3"></head></html>'
    assert next_page(page(head_link)) == "https://careers.example.com/careers/p/3"
    assert next_page(page("<html><body><a href='/x'>x</a></body></html>")) is None


URLSET = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>https://example.com/jobs/1</loc><lastmod>2026-09-01</lastmod></url>
  <url><loc> https://example.com/jobs/2 </loc></url>
</urlset>"""
INDEX = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://example.com/sitemap-jobs.xml</loc></sitemap>
</sitemapindex>"""


def test_sitemap_urls() -> None:
    urls = ["https://example.com/jobs/1", "https://example.com/jobs/2"]
    assert sitemap_urls(XmlResponse(url="https://example.com/s.xml", body=URLSET)) == (urls, False)
    index = XmlResponse(url="https://example.com/s.xml", body=INDEX)
    assert sitemap_urls(index) == (["https://example.com/sitemap-jobs.xml"], True)
    zipped = TextResponse(url="https://example.com/s.xml.gz", body=gzip.compress(URLSET))
    assert sitemap_urls(zipped) == (urls, False)


@pytest.mark.parametrize("body", [b"", b"<html><body>Not found</body></html>"])
def test_not_a_sitemap_is_a_board_error(body: bytes) -> None:
    with pytest.raises(BoardError, match="sitemap"):
        sitemap_urls(TextResponse(url="https://example.com/s.xml", body=body))
