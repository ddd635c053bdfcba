"""iCIMS: the golden file from a real saved posting frame, parser and spider
unit tests, and crawls of a replay portal over rounds.

The saved frame is real (careers-gdms.icims.com/jobs/75243/job?in_iframe=1,
kept by job-scripts, MIT; see its ``.source.txt``): its JSON-LD carries
every field of the posting (title, datePosted, validThrough,
employmentType, addresses with iCIMS's "UNAVAILABLE" placeholders,
employer, ad, url), which is why ``icims`` is a preset of the ``jsonld``
board. No real iCIMS sitemap was found with a license that allows reuse:
the sitemaps served below are CONSTRUCTED (the sitemaps.org shape,
listing ``/jobs/<id>/<slug>/job`` pages as iCIMS portals do). The frame of
every posting but 75243 is the real frame RENUMBERED and RETITLED
(:func:`frame`).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, XmlResponse
from scrapy.utils.test import get_crawler

from crawler.items import Posting
from crawler.replay import Reply
from spiders import spider_class
from spiders.icims import IcimsSpider
from spiders.parsers.icims import (
    POSTING_URL,
    complete,
    frame_url,
    posting_id,
    read_postings,
    sitemap_url,
)

from .replay_helpers import check_golden, crawl, event, events_of

DATA = Path(__file__).resolve().parent.parent / "data"
FRAME = DATA / "fixtures" / "icims" / "job-scripts_gdms_job_75243_frame.html"
GOLDEN = DATA / "golden" / "icims" / "job-scripts_gdms_job_75243_frame.json"
FETCHED_AT = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
FRAME_URL = "https://careers-gdms.icims.com/jobs/75243/job?in_iframe=1"
GDMS = "75243"
TITLE = "Sr. Advanced Field Support Specialist (TS/SCI Clearance Required)"
SLUG = "sr.-advanced-field-support-specialist-%28ts-sci-clearance-required%29"
CANONICAL = f"https://careers-gdms.icims.com/jobs/75243/{SLUG}/job"
HTML = "text/html; charset=utf-8"
XML = "application/xml"


def page_response(body: bytes | str, url: str = FRAME_URL) -> HtmlResponse:
    return HtmlResponse(url=url, body=body.encode() if isinstance(body, str) else body, encoding="utf-8")


# --------------------------------------------------------------------------- golden


def test_golden() -> None:
    check_golden(GOLDEN, read_postings(page_response(FRAME.read_bytes()), "gdms"), FETCHED_AT)


def test_golden_values_checked_by_hand() -> None:
    [gdms] = json.loads(GOLDEN.read_text(encoding="utf-8"))
    # the number in the address; the canonical url from the JSON-LD, not the frame
    assert gdms["external_id"] == GDMS and gdms["url"] == CANONICAL
    assert gdms["apply_url"] == CANONICAL  # directApply: the page takes the application
    assert gdms["title"] == TITLE and gdms["company"] == "General Dynamics Mission Systems, Inc"
    assert gdms["posted_at"] == "2026-10-04T04:00:00+00:00"
    assert gdms["deadline"] == "2027-10-04T04:00:00+00:00" and gdms["deadline_raw"] == "2027-10-04T04:00:00.000Z"
    assert gdms["employment_type_raw"] == "OTHER" and gdms["employment_type"] == "other"
    annapolis, virginia = gdms["locations"]
    assert annapolis == {"raw": "Annapolis Junction, MD, US", "city": "Annapolis Junction", "region": "MD",
                         "country": "US"}
    # the second address has the placeholder "UNAVAILABLE" as its city: the
    # parser passes the page's text through; the region and country stand
    assert virginia["raw"] == "UNAVAILABLE, VA, US" and (virginia["region"], virginia["country"]) == ("VA", "US")
    assert virginia["city"] in (None, "UNAVAILABLE")  # crawler.normalize drops placeholders
    assert gdms["description"] == (
        "Basic Qualifications\n\nBachelor's degree in a related specialized area.\n\nCLEARANCE REQUIREMENTS: "
        "Department of Defense Top Secret/SCI security clearance is required.")
    assert gdms["salary"] == [] and gdms["workplace_type"] is None and gdms["requisition_id"] is None


# --------------------------------------------------------------------------- parser


@pytest.mark.parametrize(("url", "matches", "number"), [
    (CANONICAL, True, GDMS),
    ("https://careers-gdms.icims.com/jobs/75243/job", True, GDMS),
    ("https://careers-gdms.icims.com/jobs/75243/job?mobile=true", True, GDMS),
    ("https://careers-gdms.icims.com/jobs/search?ss=1", False, None),
    ("https://careers-gdms.icims.com/jobs/intro", False, None),
    ("https://careers-gdms.icims.com/jobs/75243/login", False, GDMS),
])
def test_posting_pages_and_ids(url, matches, number) -> None:
    assert bool(re.search(POSTING_URL, url)) is matches
    assert posting_id(url) == number


def test_sitemap_and_frame_addresses() -> None:
    assert sitemap_url("https://careers-gdms.icims.com") == "https://careers-gdms.icims.com/sitemap.xml"
    assert sitemap_url("https://careers-gdms.icims.com/jobs/search?ss=1&in_iframe=1") == (
        "https://careers-gdms.icims.com/sitemap.xml")
    assert frame_url(CANONICAL) == CANONICAL + "?in_iframe=1"
    assert frame_url("https://x.icims.com/jobs/1/job?mobile=true&in_iframe=0") == (
        "https://x.icims.com/jobs/1/job?mobile=true&in_iframe=1")


def test_a_frame_without_a_url_and_a_frame_with_an_identifier() -> None:
    page = FRAME.read_text(encoding="utf-8")
    no_url = re.sub(r',"url":"[^"]*"', "", page)
    [p] = read_postings(page_response(no_url), "gdms")
    # the page's own address, without the frame parameter
    assert p.external_id == GDMS and p.url == "https://careers-gdms.icims.com/jobs/75243/job"
    stated = page.replace('"directApply":true', '"directApply":true,"identifier":"2026-75243"')
    [p] = read_postings(page_response(stated), "gdms")
    assert p.external_id == GDMS and p.requisition_id == "2026-75243"
    # a posting the page's address does not number keeps the shared parser's id
    other = complete(Posting(source="x", external_id="/careers/7"), page_response(page, "https://x.test/careers/7"))
    assert other.external_id == "/careers/7"


def test_a_frame_without_a_posting_gives_none() -> None:
    assert read_postings(page_response("<html><body>Please Enable Cookies to Continue</body></html>"), "g") == []


# --------------------------------------------------------------------------- spider


def make_spider(base_url: str | None = "http://127.0.0.1:9") -> IcimsSpider:
    crawler = get_crawler(IcimsSpider)
    return IcimsSpider.from_crawler(crawler, source="gdms", params={"url": "https://careers-gdms.icims.com"},
                                    base_url=base_url)


def test_params_and_registry() -> None:
    check = IcimsSpider.check_params
    assert spider_class("icims") is IcimsSpider and spider_class("jsonld").board == "jsonld"
    assert check({"url": "https://careers-gdms.icims.com"}) is None
    assert check({}) == "url: required for board 'icims' (the portal, e.g. https://careers-acme.icims.com)"
    assert check({"url": "careers-gdms.icims.com"}) == "url: must be an http(s) address, got 'careers-gdms.icims.com'"


def test_spider_reads_the_sitemap_and_fetches_the_frames() -> None:
    [first] = list(make_spider(base_url=None).start_requests())
    assert first.url == "https://careers-gdms.icims.com/sitemap.xml"
    spider = make_spider()
    [first] = list(spider.start_requests())
    assert first.url == "http://127.0.0.1:9/sitemap.xml"
    body = sitemap("https://careers-gdms.icims.com", [f"/jobs/75243/{SLUG}/job", "/jobs/search?ss=1", "/jobs/intro"])
    out = list(spider.parse_sitemap(XmlResponse(url=first.url, body=body.encode())))
    assert [r.url for r in out] == [CANONICAL + "?in_iframe=1"]
    out = list(spider.parse_posting(page_response(FRAME.read_bytes(), CANONICAL + "?in_iframe=1")))
    [posting] = [p for p in out if isinstance(p, Posting)]
    assert posting.external_id == GDMS and posting.url == CANONICAL
    assert posting.page_url == CANONICAL + "?in_iframe=1"  # a 404/410 there is evidence


# --------------------------------------------------------------------------- end to end


def sitemap(host: str, paths: list[str]) -> str:
    """A job sitemap (CONSTRUCTED: the sitemaps.org shape) listing ``paths``."""
    urls = "".join(f"<url><loc>{host}{p}</loc><lastmod>2026-10-05</lastmod></url>" for p in paths)
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>')


def ext(n: int) -> str:
    return GDMS if n == 0 else str(76000 + n)


def title_of(n: int) -> str:
    return TITLE if n == 0 else f"Field Support Specialist {n}"


def slug(title: str) -> str:
    return SLUG if title == TITLE else re.sub(r"[^a-z0-9.]+", "-", title.lower()).strip("-")


def path_of(n: int, title: str | None = None) -> str:
    return f"/jobs/{ext(n)}/{slug(title or title_of(n))}/job"


def frame(n: int, title: str | None = None) -> str:
    """The real frame as posting number n: RENUMBERED and RETITLED copies
    for the others (its url follows)."""
    page = FRAME.read_text(encoding="utf-8")
    title = title or title_of(n)
    return page.replace(f"/jobs/{GDMS}/{SLUG}/job", path_of(n, title)).replace(
        f'"title":"{TITLE}"', f'"title":"{title}"')


def portal(replay, postings: dict[int, str | None], pages: dict[int, Reply] | None = None,
           site_map: Reply | None = None) -> dict:
    routes: dict = {"/sitemap.xml": site_map or Reply(
        sitemap(replay.url, [path_of(n, t) for n, t in postings.items()]), content_type=XML)}
    for n, t in postings.items():
        routes[path_of(n, t)] = (pages or {}).get(n) or Reply(frame(n, t), content_type=HTML)
    return routes


def frames_asked(replay, since: int = 0) -> list[str]:
    return sorted(path for _, path, _ in replay.requests[since:] if path.startswith("/jobs/"))


def configure(project, replay) -> None:
    # the real frame's deadline (2027-10-04) must not make the test depend on the day it runs
    project.write_config(f'[[sources]]\nname = "gdms"\nboard = "icims"\nurl = "https://careers-gdms.icims.com"\n'
                         f'base_url = "{replay.url}"\n',
                         # every run fetches every frame: these rounds test what the frames say;
                         # skipping frames whose sitemap lastmod did not move: tests/test_recrawl.py
                         defaults="expire_on_deadline = false\nfull_refresh_every = 1")


@pytest.mark.slow
def test_icims_rounds(project, replay, sessions):
    configure(project, replay)
    x, z, w = ext(2), ext(3), ext(4)

    # round 1: the real posting and three copies, each read from its frame
    replay.set_routes(portal(replay, {0: None, 1: None, 2: None, 3: None}))
    r = crawl(project, sessions, "gdms")
    assert r["exit"] == 0 and r["run"]["status"] == "complete", r
    assert r["run"]["new"] == 4
    assert frames_asked(replay) == sorted(f"{path_of(n)}?in_iframe=1" for n in range(4))
    stored = {p["external_id"]: p for p in project.json("postings", "--source", "gdms")}
    assert set(stored) == {ext(n) for n in range(4)}
    assert stored[GDMS]["url"] == CANONICAL and stored[GDMS]["company"] == "General Dynamics Mission Systems, Inc"
    assert stored[GDMS]["deadline"] == "2027-10-04T04:00:00+00:00"

    # round 2: x retitled (and so re-slugged: the same number, one change),
    # z removed from the sitemap, w added
    retitled = "Lead Field Support Specialist"
    replay.set_routes(portal(replay, {0: None, 1: None, 2: retitled, 4: None}))
    r = crawl(project, sessions, "gdms")
    assert r["run"]["status"] == "complete" and r["run"]["seen"] == 4, r
    assert events_of(sessions, r["run"]["id"]) == [("changed", x), ("new", w)]
    assert {"field": "title", "old": title_of(2), "new": retitled} in event(sessions, "changed", x).changes

    # round 3: the sitemap answers 500 on every try: failed, nothing expires
    error = Reply("Internal Server Error", status=500, content_type="text/plain")
    replay.set_routes(portal(replay, {0: None, 1: None, 2: retitled, 4: None}, site_map=error))
    r = crawl(project, sessions, "gdms")
    assert r["exit"] == 1 and r["run"]["status"] == "failed", r
    assert r["run"]["reason"].startswith("board could not be read: HTTP 500"), r
    assert events_of(sessions, r["run"]["id"]) == []

    # round 4: z missing from a second complete run: expired
    replay.set_routes(portal(replay, {0: None, 1: None, 2: retitled, 4: None}))
    r = crawl(project, sessions, "gdms")
    assert r["run"]["status"] == "complete", r
    assert events_of(sessions, r["run"]["id"]) == [("expired", z)]


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_icims_gone_frames_and_unknown_portals(project, replay, sessions):
    """Run on SQLite only (test_icims_rounds covers PostgreSQL)."""
    configure(project, replay)
    postings = {0: None, 1: None, 2: None}
    replay.set_routes(portal(replay, postings))
    assert crawl(project, sessions, "gdms")["run"]["status"] == "complete"

    # a frame answering 410 (as iCIMS answers for postings no longer public)
    # is evidence its posting is gone
    replay.set_routes(portal(replay, postings, pages={1: Reply("Gone", status=410, content_type=HTML)}))
    r = crawl(project, sessions, "gdms")
    assert r["run"]["status"] == "complete", r
    assert events_of(sessions, r["run"]["id"]) == [("expired", ext(1))]

    # no sitemap: failed, "board not found"
    replay.set_routes({})
    r = crawl(project, sessions, "gdms")
    assert r["run"]["status"] == "failed", r
    assert r["run"]["reason"].startswith(
        "board not found: no iCIMS job sitemap for https://careers-gdms.icims.com"), r
