"""Teamtailor: the golden file from the real saved RSS feed, parser and
spider unit tests, and crawls of a replay board over rounds.

The real feed in tests/data/fixtures/teamtailor/ is Teamtailor's own career
site (three whole items). The replay board adds copies of those items under
new job ids, guids and titles, with a short description; the remoteStatus,
location and date variations of the unit tests are CONSTRUCTED from the real
items too, not copied from a response.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from scrapy import Request
from scrapy.http import TextResponse
from scrapy.utils.test import get_crawler
from sqlalchemy import func, select

from crawler.errors import BoardError
from crawler.items import Posting, RawPage
from crawler.normalize import normalize_posting
from crawler.replay import Reply
from db.models import Posting as StoredPosting
from spiders.parsers.teamtailor import PAGE_SIZE, feed_url, next_offset, parse_feed, site_url
from spiders.teamtailor import TeamtailorSpider

from .replay_helpers import check_golden, crawl, event, events_of, run_errors

DATA = Path(__file__).resolve().parent.parent / "data"
FIXTURE = DATA / "fixtures" / "teamtailor" / "jobleft_career_jobs.rss"
GOLDEN = DATA / "golden" / "teamtailor" / "jobleft_career_jobs.json"
FETCHED_AT = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
URL = "https://career.teamtailor.com/jobs.rss?offset=0&per_page=100"
REAL = FIXTURE.read_text(encoding="utf-8")
ITEMS = re.findall(r"    <item>.*?</item>\n", REAL, re.DOTALL)
HEAD, TAIL = REAL[:REAL.index("    <item>")], REAL[REAL.rindex("</item>\n") + len("</item>\n"):]
IDS = ["8021334", "7623275", "8429402"]


def response(body: bytes | str, url: str = URL) -> TextResponse:
    return TextResponse(url=url, body=body.encode() if isinstance(body, str) else body, encoding="utf-8")


def rss(*items: str) -> str:
    return HEAD + "".join(items) + TAIL


def item(n: int = 0, **fields: str | None) -> str:
    """A real item, fields replaced (a value) or removed (None). CONSTRUCTED."""
    block = ITEMS[n]
    for name, value in fields.items():
        pattern = re.compile(rf"\s*<{name}>.*?</{name}>|\s*<{name}/>", re.DOTALL)
        element = "" if value is None else f"\n      <{name}>{value}</{name}>"
        assert pattern.search(block), name
        block = pattern.sub(lambda _, element=element: element, block, count=1)
    return block


def copy_of(n: int, job_id: int, title: str | None = None) -> str:
    """A copy of real item n under a new job id, guid and title, with a short
    description. CONSTRUCTED."""
    block = item(n, description=f"&lt;p&gt;Copy {job_id} of a real Teamtailor job.&lt;/p&gt;",
                 guid=f"00000000-0000-4000-8000-{job_id:012d}")
    real_title = re.search(r"<title>(.*?)</title>", block).group(1)
    block = block.replace(f"<title>{real_title}</title>", f"<title>{title or f'{real_title} #{job_id}'}</title>")
    return re.sub(r"/jobs/\d+-", f"/jobs/{job_id}-", block)


def parse_one(block: str) -> Posting:
    [p] = parse_feed(response(rss(block)), "teamtailor").postings
    return normalize_posting(p, fetched_at=FETCHED_AT)


# --------------------------------------------------------------------------- golden


def test_golden() -> None:
    check_golden(GOLDEN, parse_feed(response(FIXTURE.read_bytes()), "teamtailor").postings, FETCHED_AT)


def test_golden_values_checked_by_hand() -> None:
    london, madrid, sydney = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert [j["external_id"] for j in (london, madrid, sydney)] == IDS  # the number in each link
    assert london["title"] == "Account Executive - UK Enterprise"
    assert london["url"] == "https://career.teamtailor.com/jobs/8021334-account-executive-uk-enterprise"
    assert {j["company"] for j in (london, madrid, sydney)} == {"Teamtailor"}  # the channel's title
    assert [j["department"] for j in (london, madrid, sydney)] == ["Sales", "Sales", "Customer Success"]
    # tt:location: its name, city and country (as ISO 3166); street and zip are not kept
    assert london["locations"] == [{"raw": "London", "city": "London", "region": None, "country": "GB"}]
    assert madrid["locations"] == [{"raw": "Madrid", "city": "Madrid", "region": None, "country": "ES"}]
    assert sydney["locations"] == [{"raw": "Sydney", "city": "Sydney", "region": None, "country": "AU"}]
    # remoteStatus "hybrid"
    assert {(j["workplace_type_raw"], j["workplace_type"]) for j in (london, madrid, sydney)} == {
        ("Hybrid", "hybrid")}
    # pubDate "Mon, 06 Jul 2026 08:58:57 +0200", kept to the second with its offset
    assert london["posted_at"] == "2026-07-06T08:58:57+02:00"
    assert sydney["posted_at"] == "2026-09-21T16:36:16+02:00"
    # the feed has no employment type, pay, deadline or requisition id, and the texts state none
    for job in (london, madrid, sydney):
        assert job["employment_type"] is None and job["salary"] == [] and job["deadline"] is None
        assert job["requisition_id"] is None and job["apply_url"] is None
    # the description is HTML escaped as XML text, read once
    assert london["description"].startswith("Let's build the future together!\n\nTeamtailor is an Employer "
                                             "Branding and ATS SaaS platform")
    assert "Mid-Market & Enterprise Account Executives" in london["description"]
    assert "&amp;" not in london["description"] and "<p>" not in london["description"]
    assert madrid["language"] == "en"


def test_normalizing_twice_changes_nothing() -> None:
    postings = parse_feed(response(FIXTURE.read_bytes()), "teamtailor").postings
    once = [normalize_posting(p, fetched_at=FETCHED_AT).to_dict() for p in postings]
    twice = [normalize_posting(p, fetched_at=FETCHED_AT).to_dict() for p in postings]
    assert once == twice


# --------------------------------------------------------------------------- parser


@pytest.mark.parametrize(("body", "message"), [
    (REAL[:6000], "malformed XML from Teamtailor"),
    ("<!DOCTYPE html><html><body>Teamtailor</body></html>", "malformed XML from Teamtailor"),
    ("<html><body><p>Jobs</p></body></html>", "Teamtailor feed is not an RSS channel (root <html>)"),
    ('<feed xmlns="http://www.w3.org/2005/Atom"></feed>', "Teamtailor feed is not an RSS channel"),
    ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
     "<rss><channel><item><title>&lol2;</title></item></channel></rss>", "malformed XML from Teamtailor"),
    ("", "malformed XML from Teamtailor"),
    (rss("    <item><title>No link</title></item>\n"), "Teamtailor item without a /jobs/<id> link or a guid"),
])
def test_parser_rejects_what_it_cannot_read(body, message) -> None:
    with pytest.raises(BoardError, match=re.escape(message)):
        parse_feed(response(body), "teamtailor")


def test_empty_channel_is_an_empty_page() -> None:
    page = parse_feed(response(rss()), "teamtailor")
    assert page.postings == [] and page.items == 0


def test_item_with_nothing_but_a_link() -> None:
    p = parse_one("<item><link>https://career.teamtailor.com/jobs/42-engineer</link></item>")
    assert (p.external_id, p.title, p.department, p.description) == ("42", None, None, None)
    assert p.locations == [] and p.workplace_type is None and p.posted_at is None
    # no /jobs/<id> in the link: the guid is the id
    p = parse_one(item(0, link="https://careers.example.com/positions/open"))
    assert p.external_id == "a79a10f6-9f69-49b0-9f6d-8bed3d6e3a4f"


@pytest.mark.parametrize(("status", "expected"), [
    ("fully", ("Remote", "remote")),
    ("onsite", ("On-site", "onsite")),
    ("hybrid", ("Hybrid", "hybrid")),
    # "none" is no remote status set (onsite is a value of its own), "temporary" states none either
    ("none", (None, None)),
    ("temporary", (None, None)),
    (None, (None, None)),
])
def test_remote_status(status, expected) -> None:
    p = parse_one(item(2, remoteStatus=status))
    assert (p.workplace_type_raw, p.workplace_type) == expected


def test_locations_and_dates() -> None:
    two = ("<tt:locations><tt:location><tt:name>Sydney</tt:name><tt:city>Sydney</tt:city>"
           "<tt:country>Australia</tt:country></tt:location><tt:location><tt:name/><tt:address/>"
           "<tt:city>Melbourne</tt:city><tt:country>Australia</tt:country></tt:location>"
           "<tt:location><tt:name/><tt:city/></tt:location></tt:locations>")
    block = re.sub(r"<tt:locations>.*?</tt:locations>", two, ITEMS[2], flags=re.DOTALL)
    p = parse_one(block)
    assert p.locations == [{"raw": "Sydney", "city": "Sydney", "region": None, "country": "AU"},
                           {"raw": "Melbourne, Australia", "city": "Melbourne", "region": None, "country": "AU"}]
    # a date that is no RFC 822 date is kept as the board wrote it
    assert parse_one(item(0, pubDate="23 July 2026")).posted_at == "2026-07-23"
    assert parse_one(item(0, pubDate="soon")).posted_at is None


def test_urls_and_paging() -> None:
    assert site_url("career") == "https://career.teamtailor.com"
    assert site_url("acme.na") == "https://acme.na.teamtailor.com"
    assert feed_url("https://career.teamtailor.com", 0) == URL
    assert next_offset(0, PAGE_SIZE) == 100 and next_offset(100, 100) == 200
    assert next_offset(0, 99) is None and next_offset(200, 0) is None


# --------------------------------------------------------------------------- spider


def make_spider(params: dict | None = None, base_url: str | None = "http://127.0.0.1:9") -> TeamtailorSpider:
    return TeamtailorSpider.from_crawler(get_crawler(TeamtailorSpider), source="teamtailor",
                                         params=params or {"company": "career"}, base_url=base_url)


def test_params_and_first_url() -> None:
    assert TeamtailorSpider.check_params({"company": "career"}) is None
    assert TeamtailorSpider.check_params({"url": "https://careers.example.com"}) is None
    both = "company or url: exactly one of them is required for board 'teamtailor'"
    assert TeamtailorSpider.check_params({}) == both
    assert TeamtailorSpider.check_params({"company": "a", "url": "https://b.example"}) == both
    assert "career site name alone" in TeamtailorSpider.check_params({"company": "career.teamtailor.com/jobs"})
    assert "career site's address" in TeamtailorSpider.check_params({"url": "careers.example.com"})
    assert [r.url for r in make_spider(base_url=None).start_requests()] == [URL]
    assert [r.url for r in make_spider({"url": "https://careers.example.com/jobs"}, None).start_requests()] == [
        "https://careers.example.com/jobs.rss?offset=0&per_page=100"]
    assert [r.url for r in make_spider().start_requests()] == ["http://127.0.0.1:9/jobs.rss?offset=0&per_page=100"]


def test_spider_reads_pages_until_a_short_one() -> None:
    spider = make_spider()
    full = rss(*(copy_of(0, 9000000 + k) for k in range(PAGE_SIZE)))
    out = list(spider.parse_feed_page(response(full), offset=0))
    assert isinstance(out[0], RawPage) and len([p for p in out if isinstance(p, Posting)]) == 100
    [nxt] = [r for r in out if isinstance(r, Request)]
    assert nxt.url == "http://127.0.0.1:9/jobs.rss?offset=100&per_page=100" and nxt.cb_kwargs == {"offset": 100}
    assert spider.board_complete is None
    # the last page is short: complete; a job shifted onto it from page one is not read twice
    out = list(spider.parse_feed_page(response(rss(copy_of(0, 9000099), *ITEMS)), offset=100))
    assert [p.external_id for p in out if isinstance(p, Posting)] == IDS
    assert spider.complete
    assert spider.complete_by == "feed read to its end: 103 jobs over 2 page(s) of up to 100, the last one short"


def test_spider_stops_when_the_feed_does_not_advance() -> None:
    spider = make_spider()
    full = rss(*(copy_of(1, 9000000 + k) for k in range(PAGE_SIZE)))
    list(spider.parse_feed_page(response(full), offset=0))
    out = list(spider.parse_feed_page(response(full), offset=100))
    assert not [r for r in out if isinstance(r, Request)] and not spider.complete
    assert spider.errors == ["the feed did not advance: the page at offset 100 repeats jobs already read"]


def test_spider_failures_by_page() -> None:
    spider = make_spider()
    list(spider.parse_feed_page(response(REAL[:3000]), offset=0))
    assert spider.fatal.startswith("malformed XML from Teamtailor")
    spider = make_spider()
    list(spider.parse_feed_page(response(REAL[:3000]), offset=100))
    assert spider.fatal is None and not spider.complete and spider.listing_failures == 1


# --------------------------------------------------------------------------- end to end

PATH = "/jobs.rss"


def board(items: list[str], pages: dict[int, Reply] | None = None):  # noqa: ANN201
    """The feed at its real path, paged by offset and per_page."""

    def feed(path: str, headers: dict) -> Reply:
        query = parse_qs(urlsplit(path).query)
        offset, per_page = int(query["offset"][0]), int(query["per_page"][0])
        if pages and offset in pages:
            return pages[offset]
        return Reply(rss(*items[offset:offset + per_page]), content_type="application/rss+xml; charset=utf-8")

    return {PATH: feed}


def feed_requests(replay, since: int) -> list[str]:
    return [path for _, path, _ in replay.requests[since:] if path.startswith(PATH)]


def configure(project, replay) -> None:
    project.write_config(f'[[sources]]\nname = "teamtailor"\nboard = "teamtailor"\ncompany = "career"\n'
                         f'base_url = "{replay.url}"\n')


@pytest.mark.slow
def test_teamtailor_rounds(project, replay, sessions):
    jobs = [*ITEMS, copy_of(1, 9000001), copy_of(2, 9000002), copy_of(0, 9000003)]
    a, b, c, d, e, f = *IDS, "9000001", "9000002", "9000003"
    configure(project, replay)

    # round 1: five jobs on one short page, all new
    replay.set_routes(board(jobs[:5]))
    r = crawl(project, sessions, "teamtailor")
    assert r["exit"] == 0 and r["run"]["status"] == "complete", r
    assert events_of(sessions, r["run"]["id"]) == sorted(("new", x) for x in (a, b, c, d, e))
    assert feed_requests(replay, 0) == [f"{PATH}?offset=0&per_page=100"]
    stored = {p["external_id"]: p for p in project.json("postings", "--source", "teamtailor")}
    assert stored[a]["locations"][0]["country"] == "GB" and stored[a]["workplace_type"] == "hybrid"

    # round 2: a retitled, c removed, f added
    retitled = jobs[0].replace("<title>Account Executive - UK Enterprise</title>",
                               "<title>Enterprise Account Executive - UK</title>")
    jobs2 = [retitled, jobs[1], jobs[3], jobs[4], jobs[5]]
    replay.set_routes(board(jobs2))
    r = crawl(project, sessions, "teamtailor")
    assert r["run"]["status"] == "complete", r
    assert events_of(sessions, r["run"]["id"]) == sorted([("changed", a), ("new", f)])
    assert [ch["field"] for ch in event(sessions, "changed", a).changes] == ["title"]

    # round 3: the feed answers 500 on every try: failed, nothing expires
    before = len(replay.requests)
    replay.set_routes({PATH: Reply("Internal Server Error", status=500, content_type="text/plain")})
    r = crawl(project, sessions, "teamtailor")
    assert r["exit"] == 1 and r["run"]["status"] == "failed" and "HTTP 500" in r["run"]["reason"], r
    assert events_of(sessions, r["run"]["id"]) == []
    assert len(feed_requests(replay, before)) == 3

    # round 4: c missing from a second complete run: expired
    replay.set_routes(board(jobs2))
    r = crawl(project, sessions, "teamtailor")
    assert r["run"]["status"] == "complete", r
    assert events_of(sessions, r["run"]["id"]) == [("expired", c)]


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_teamtailor_pages_walls_and_unknown_sites(project, replay, sessions):
    """Run on SQLite only: the store's side of these runs is the same on
    both databases (test_teamtailor_rounds covers PostgreSQL)."""
    jobs = [copy_of(k % 3, 9100000 + k) for k in range(PAGE_SIZE)] + ITEMS
    configure(project, replay)

    # 103 jobs: a full page of 100, then a short one of 3; complete
    replay.set_routes(board(jobs))
    r = crawl(project, sessions, "teamtailor")
    assert r["run"]["status"] == "complete" and r["run"]["new"] == 103, r
    assert feed_requests(replay, 0) == [f"{PATH}?offset=0&per_page=100", f"{PATH}?offset=100&per_page=100"]

    # the second page answers 500 on every try: partial, nothing expires
    replay.set_routes(board(jobs, pages={100: Reply("Internal Server Error", status=500,
                                                    content_type="text/plain")}))
    r = crawl(project, sessions, "teamtailor")
    assert r["run"]["status"] == "partial", r
    assert any(e.startswith("listing page failed: HTTP 500") for e in run_errors(sessions, r["run"]["id"]))
    assert events_of(sessions, r["run"]["id"]) == []

    # a bot check instead of the feed: failed, "blocked"
    replay.set_routes({PATH: Reply("<html><head><title>Just a moment...</title></head></html>",
                                   content_type="text/html")})
    r = crawl(project, sessions, "teamtailor")
    assert r["run"]["status"] == "failed" and r["run"]["reason"].startswith("blocked: "), r

    # no career site: 404
    replay.set_routes({})
    r = crawl(project, sessions, "teamtailor")
    assert r["run"]["status"] == "failed", r
    assert r["run"]["reason"].startswith(f"board not found: Teamtailor has no career site at {replay.url} "
                                         "(HTTP 404"), r
    with sessions() as s:
        assert s.scalars(select(func.count()).select_from(StoredPosting)
                         .where(StoredPosting.status == "open")).one() == 103
