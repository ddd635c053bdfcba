"""SAP SuccessFactors: the golden file from a real saved posting page, parser
and spider unit tests, and crawls of a replay career site over rounds.

The saved responses are the real jobs.ilo.org job sitemap and the posting
page of its first entry, kept (trimmed) by llm-job-pipeline (MIT); see the
``.source.txt`` beside each. The replay site serves that sitemap with its
host pointed at the replay server and more entries added, and the real
posting page for every entry: RENUMBERED and RETITLED copies of it for the
others (:func:`posting_page`). The sitemap index used once below is
CONSTRUCTED (the sitemaps.org shape), not a saved response.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, Request, TextResponse, XmlResponse
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from crawler.errors import BoardError
from crawler.items import Posting
from crawler.replay import Reply
from spiders import spider_class
from spiders.parsers.jsonld import sitemap_urls
from spiders.parsers.successfactors import (
    POSTING_URL,
    complete,
    posting_id,
    read_postings,
    sitemap_entries,
    sitemap_url,
)
from spiders.successfactors import SuccessFactorsSpider

from .replay_helpers import check_golden, crawl, event, events_of

DATA = Path(__file__).resolve().parent.parent / "data"
FIXTURES = DATA / "fixtures" / "successfactors"
SITEMAP = FIXTURES / "llm-job-pipeline_ilo_sitemap.xml"
PAGE = FIXTURES / "llm-job-pipeline_ilo_job_1399744233.html"
GOLDEN = DATA / "golden" / "successfactors" / "llm-job-pipeline_ilo_job_1399744233.json"
FETCHED_AT = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
CAIRO_URL = "https://jobs.ilo.org/job/Cairo-Social-Health-Protection-Technical-Officer-P3/1399744233/"
CAIRO = "1399744233"
TITLE = "Social Health Protection Technical Officer - P3"
HTML = "text/html; charset=utf-8"
XML = "application/xml"


def page_response(body: bytes | str, url: str = CAIRO_URL) -> HtmlResponse:
    return HtmlResponse(url=url, body=body.encode() if isinstance(body, str) else body, encoding="utf-8")


# --------------------------------------------------------------------------- golden


def test_golden() -> None:
    check_golden(GOLDEN, read_postings(page_response(PAGE.read_bytes()), "ilo"), FETCHED_AT)


def test_golden_values_checked_by_hand() -> None:
    [cairo] = json.loads(GOLDEN.read_text(encoding="utf-8"))
    # the number in the address, not the address (its slug follows the title)
    assert cairo["external_id"] == CAIRO and cairo["url"] == CAIRO_URL
    assert cairo["title"] == TITLE
    # both itemprop="description" blocks, in page order
    assert cairo["description"] == (
        "Grade: P3\n\nJob ID: 13689\nDepartment: RO-Africa\nLocation: Cairo\n\n"
        "Under article 4.2 the filling of vacancies in development cooperation projects is made by "
        "direct selection.\n\nConditions of employment\n\nAny appointment is subject to ILO Staff "
        "Regulations and other relevant internal rules.")
    # the labelled job number in the ad ("Job ID: 13689")
    assert cairo["requisition_id"] == "13689"
    assert cairo["language"] == "en-GB"  # the title's lang attribute
    # the trimmed page keeps no datePosted, jobLocation or employer microdata
    assert cairo["posted_at"] is None and cairo["deadline"] is None and cairo["locations"] == []
    assert cairo["company"] is None and cairo["salary"] == []


# --------------------------------------------------------------------------- parser


def test_the_real_sitemap_lists_posting_pages() -> None:
    urls, is_index = sitemap_urls(XmlResponse(url="https://jobs.ilo.org/sitemap.xml", body=SITEMAP.read_bytes()))
    assert not is_index and urls == [CAIRO_URL,
                                     "https://jobs.ilo.org/job/Windhoek-Technical-Officer-P2-%28DC%29/1409512033/"]
    assert [posting_id(u) for u in urls] == [CAIRO, "1409512033"]
    assert all(re.search(POSTING_URL, u) for u in urls)


@pytest.mark.parametrize(("body", "message"), [
    (b'<?xml version="1.0"?><urlset><url><loc>', "malformed sitemap XML"),  # truncated
    (b"<html><body>Sorry</body>", "malformed sitemap XML"),
    (b"<html><body>Sorry</body></html>", "not a sitemap (root element <html>)"),
    (b"", "malformed sitemap XML"),
])
def test_a_sitemap_that_is_not_one_is_a_board_error(body, message) -> None:
    with pytest.raises(BoardError, match=re.escape(message)):
        sitemap_entries(XmlResponse(url="https://jobs.ilo.org/sitemap.xml", body=body))
    assert sitemap_entries(XmlResponse(url="https://jobs.ilo.org/sitemap.xml", body=SITEMAP.read_bytes()))[0]


@pytest.mark.parametrize(("url", "matches", "number"), [
    (CAIRO_URL, True, CAIRO),
    ("https://jobs.example.com/Acme/job/Berlin-Engineer-10115/1410167633/", True, "1410167633"),
    ("https://jobs.example.com/job/Berlin-Engineer/1410167633", True, "1410167633"),
    ("https://career5.successfactors.eu/career?company=X&career_job_req_id=4711&career_ns=job_listing", True, "4711"),
    ("https://jobs.ilo.org/search/?q=&locale=en_GB", False, None),
    ("https://jobs.ilo.org/content/About-us/?locale=en_GB", False, None),
    ("https://jobs.ilo.org/job/", False, None),
])
def test_posting_pages_and_ids(url, matches, number) -> None:
    assert bool(re.search(POSTING_URL, url)) is matches
    assert posting_id(url) == number


@pytest.mark.parametrize(("url", "sitemap"), [
    ("https://jobs.ilo.org", "https://jobs.ilo.org/sitemap.xml"),
    ("https://jobs.ilo.org/", "https://jobs.ilo.org/sitemap.xml"),
    ("https://jobs.ilo.org/search/?q=&locale=en_GB", "https://jobs.ilo.org/sitemap.xml?q=&locale=en_GB"),
    (CAIRO_URL, "https://jobs.ilo.org/sitemap.xml"),
    ("https://jobsearch.createyourowncareer.com/Acme", "https://jobsearch.createyourowncareer.com/Acme/sitemap.xml"),
    ("https://career5.successfactors.eu/career?company=X", "https://career5.successfactors.eu/sitemap.xml?company=X"),
])
def test_sitemap_address(url, sitemap) -> None:
    assert sitemap_url(url) == sitemap


def test_an_identifier_the_page_states_is_kept_as_the_requisition_id() -> None:
    page = PAGE.read_text(encoding="utf-8").replace(
        '<div class="jobDisplay">', '<div class="jobDisplay"><meta itemprop="identifier" content="ILO-13689"/>')
    [p] = read_postings(page_response(page), "ilo")
    assert p.external_id == CAIRO and p.requisition_id == "ILO-13689"


def test_a_json_ld_page_and_a_page_without_a_posting() -> None:
    """A SuccessFactors page that carries JSON-LD instead (CONSTRUCTED: the
    schema.org shape) keeps its single description and its own language."""
    ld = ('<html><head><script type="application/ld+json">{"@type": "JobPosting", "title": "Analyst",'
          ' "description": "<p>Analyse.</p>", "inLanguage": "de-DE", "datePosted": "2026-09-01",'
          ' "jobLocation": {"@type": "Place", "address": {"addressLocality": "Bonn", "addressCountry": "DE"}}}'
          '</script></head><body></body></html>')
    [p] = read_postings(page_response(ld, "https://jobs.example.com/job/Bonn-Analyst/777/"), "x")
    assert (p.external_id, p.language, p.description_html) == ("777", "de-DE", "<p>Analyse.</p>")
    assert p.locations[0]["country"] == "DE" and p.posted_at_raw == "2026-09-01"
    assert read_postings(page_response("<html><body>Page not found</body></html>"), "x") == []
    # a posting whose page URL names no number keeps the shared parser's id
    other = complete(Posting(source="x", external_id="/jobs/abc"), page_response(ld, "https://x.test/jobs/abc"))
    assert other.external_id == "/jobs/abc"


# --------------------------------------------------------------------------- spider


def make_spider(params: dict | None = None, base_url: str | None = "http://127.0.0.1:9") -> SuccessFactorsSpider:
    crawler = get_crawler(SuccessFactorsSpider)
    return SuccessFactorsSpider.from_crawler(crawler, source="ilo", params=params or {"url": "https://jobs.ilo.org"},
                                             base_url=base_url)


def test_params_and_registry() -> None:
    check = SuccessFactorsSpider.check_params
    assert spider_class("successfactors") is SuccessFactorsSpider and spider_class("jsonld").board == "jsonld"
    assert check({"url": "https://jobs.ilo.org"}) is None
    assert check({"url": "https://jobs.ilo.org", "sitemap_url": "https://jobs.ilo.org/sitemal.xml"}) is None
    assert check({}) == ("url: required for board 'successfactors' (the career site, e.g. https://jobs.example.com "
                         "or https://career5.successfactors.eu/career?company=X)")
    assert check({"url": "jobs.ilo.org"}) == "url: must be an http(s) address, got 'jobs.ilo.org'"
    assert check({"url": "https://jobs.ilo.org", "allow": "x"}).startswith("unknown key 'allow'")


def test_spider_starts_from_the_sitemap() -> None:
    [first] = list(make_spider(base_url=None).start_requests())
    assert first.url == "https://jobs.ilo.org/sitemap.xml"
    [first] = list(make_spider({"url": "https://jobs.ilo.org", "sitemap_url": "https://jobs.ilo.org/sitemal.xml"},
                               base_url=None).start_requests())
    assert first.url == "https://jobs.ilo.org/sitemal.xml"
    # a mirror or replay server is asked at the same path
    [first] = list(make_spider().start_requests())
    assert first.url == "http://127.0.0.1:9/sitemap.xml"


def test_spider_follows_posting_pages_only_and_reads_them() -> None:
    spider = make_spider()
    list(spider.start_requests())
    body = SITEMAP.read_text(encoding="utf-8").replace(
        "</urlset>", "<url><loc>https://jobs.ilo.org/search/?q=</loc></url></urlset>")
    out = list(spider.parse_sitemap(XmlResponse(url="http://127.0.0.1:9/sitemap.xml", body=body.encode())))
    assert [r.url for r in out] == [CAIRO_URL, "https://jobs.ilo.org/job/Windhoek-Technical-Officer-P2-%28DC%29/1409512033/"]
    out = list(spider.parse_posting(page_response(PAGE.read_bytes())))
    [posting] = [p for p in out if isinstance(p, Posting)]
    assert posting.external_id == CAIRO and posting.page_url == CAIRO_URL and posting.raw_sha256


def test_a_body_that_is_no_sitemap_fails_the_run_a_later_sitemap_makes_it_partial() -> None:
    spider = make_spider()
    list(spider.start_requests())
    assert list(spider.parse_sitemap(TextResponse(url="http://127.0.0.1:9/sitemap.xml", body=b"<html>oops"))) == []
    assert spider.fatal and "sitemap" in spider.fatal
    spider = make_spider()
    list(spider.start_requests())
    list(spider.parse_sitemap(TextResponse(url="http://127.0.0.1:9/jobs-2.xml", body=b"<html>oops")))
    assert spider.fatal is None and spider.listing_failures == 1


def test_the_sitemap_answering_404_is_board_not_found() -> None:
    from scrapy.spidermiddlewares.httperror import HttpError

    spider = make_spider()
    [first] = list(spider.start_requests())
    failure = Failure(HttpError(TextResponse(url=first.url, status=404, body=b"", request=first)))
    failure.request = first
    spider.on_listing_error(failure)
    assert spider.fatal == ("board not found: no SuccessFactors job sitemap for https://jobs.ilo.org (set sitemap_url "
                            "if it lives elsewhere) (HTTP 404 from http://127.0.0.1:9/sitemap.xml)")
    spider = make_spider()
    list(spider.start_requests())
    later = Request("http://127.0.0.1:9/jobs-2.xml")
    failure = Failure(HttpError(TextResponse(url=later.url, status=404, body=b"", request=later)))
    failure.request = later
    spider.on_listing_error(failure)
    assert spider.fatal is None and spider.listing_failures == 1


# --------------------------------------------------------------------------- end to end


def slug(title: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", title).strip("-")


def ext(n: int) -> str:
    return CAIRO if n == 0 else str(1410000000 + n)


def title_of(n: int) -> str:
    return TITLE if n == 0 else f"Technical Officer {n} - P2"


def posting_page(n: int, title: str | None = None) -> str:
    """The real ILO posting page as posting number n (n = 0 is the real one):
    RENUMBERED (apply link) and RETITLED copies for the others."""
    page = PAGE.read_text(encoding="utf-8")
    if n == 0 and title is None:
        return page
    return page.replace(f"{TITLE}\n", f"{title or title_of(n)}\n").replace("/apply/13689/", f"/apply/{ext(n)}/")


def path_of(n: int, title: str | None = None) -> str:
    if n == 0 and title is None:
        return CAIRO_URL.removeprefix("https://jobs.ilo.org")
    return f"/job/{slug(title or title_of(n))}/{ext(n)}/"


def site(replay, postings: dict[int, str | None], pages: dict[int, Reply] | None = None,
         sitemap: Reply | None = None) -> dict:
    """The real sitemap with the replay server as its host, listing the given
    postings (number -> title, None for the usual one), and their pages."""
    real = SITEMAP.read_text(encoding="utf-8").replace("https://jobs.ilo.org", replay.url)
    entry = re.search(r"<url>.*?</url>", real).group(0)
    entries = "".join(entry.replace(path_of(0), path_of(n, t)) for n, t in postings.items())
    body = re.sub(r"<url>.*</url>", lambda _: entries, real)
    routes: dict = {"/sitemap.xml": sitemap or Reply(body, content_type=XML)}
    for n, t in postings.items():
        routes[path_of(n, t)] = (pages or {}).get(n) or Reply(posting_page(n, t), content_type=HTML)
    return routes


def configure(project, replay) -> None:
    # every run fetches every posting page: these rounds test what the pages
    # say (410, 404, edits); skipping pages whose sitemap lastmod did not move
    # is tested in tests/test_recrawl.py
    project.write_config(f'[[sources]]\nname = "ilo"\nboard = "successfactors"\nurl = "https://jobs.ilo.org"\n'
                         f'base_url = "{replay.url}"\n', defaults="full_refresh_every = 1")


@pytest.mark.slow
def test_successfactors_rounds(project, replay, sessions):
    configure(project, replay)
    x, z, w = ext(2), ext(3), ext(4)

    # round 1: the real posting and three copies, every page read
    replay.set_routes(site(replay, {0: None, 1: None, 2: None, 3: None}))
    r = crawl(project, sessions, "ilo")
    assert r["exit"] == 0 and r["run"]["status"] == "complete", r
    assert r["run"]["new"] == 4
    stored = {p["external_id"]: p for p in project.json("postings", "--source", "ilo")}
    assert set(stored) == {ext(n) for n in range(4)}
    assert stored[CAIRO]["title"] == TITLE and stored[CAIRO]["requisition_id"] == "13689"
    assert stored[CAIRO]["description"].startswith("Grade: P3")

    # round 2: x retitled (its address's slug changes with it, its number does
    # not: one posting changed, not one gone and one new), z removed, w added
    replay.set_routes(site(replay, {0: None, 1: None, 2: "Senior Technical Officer - P4", 4: None}))
    r = crawl(project, sessions, "ilo")
    assert r["run"]["status"] == "complete" and r["run"]["seen"] == 4, r
    assert events_of(sessions, r["run"]["id"]) == [("changed", x), ("new", w)]
    changes = event(sessions, "changed", x).changes
    assert {"field": "title", "old": title_of(2), "new": "Senior Technical Officer - P4"} in changes

    # round 3: the sitemap is no sitemap: failed, nothing expires
    broken = Reply('<?xml version="1.0"?><urlset><url><loc>', content_type=XML)
    replay.set_routes(site(replay, {0: None, 1: None, 2: "Senior Technical Officer - P4", 4: None}, sitemap=broken))
    r = crawl(project, sessions, "ilo")
    assert r["exit"] == 1 and r["run"]["status"] == "failed", r
    assert r["run"]["reason"].startswith("malformed sitemap XML: Premature end of data"), r
    assert events_of(sessions, r["run"]["id"]) == []

    # round 4: z missing from a second complete run: expired
    replay.set_routes(site(replay, {0: None, 1: None, 2: "Senior Technical Officer - P4", 4: None}))
    r = crawl(project, sessions, "ilo")
    assert r["run"]["status"] == "complete", r
    assert events_of(sessions, r["run"]["id"]) == [("expired", z)]


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_successfactors_index_gone_pages_and_unknown_sites(project, replay, sessions):
    """Run on SQLite only (test_successfactors_rounds covers PostgreSQL)."""
    configure(project, replay)
    postings = {0: None, 1: None, 2: None}
    # a sitemap index (CONSTRUCTED) pointing at the job sitemap
    routes = site(replay, postings)
    routes["/sitemap-jobs.xml"] = routes["/sitemap.xml"]
    routes["/sitemap.xml"] = Reply('<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns='
                                   '"http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>'
                                   f'{replay.url}/sitemap-jobs.xml</loc></sitemap></sitemapindex>', content_type=XML)
    replay.set_routes(routes)
    r = crawl(project, sessions, "ilo")
    assert r["run"]["status"] == "complete" and r["run"]["new"] == 3, r

    # a posting page answering 410 is evidence its posting is gone
    replay.set_routes(site(replay, postings, pages={1: Reply("Gone", status=410, content_type=HTML)}))
    r = crawl(project, sessions, "ilo")
    assert r["run"]["status"] == "complete", r
    assert events_of(sessions, r["run"]["id"]) == [("expired", ext(1))]

    # no sitemap at all: failed, "board not found"
    replay.set_routes({})
    r = crawl(project, sessions, "ilo")
    assert r["run"]["status"] == "failed", r
    assert r["run"]["reason"].startswith("board not found: no SuccessFactors job sitemap for https://jobs.ilo.org"), r
