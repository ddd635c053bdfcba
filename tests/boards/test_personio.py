"""Personio: the golden file from the real saved feed, parser and spider
unit tests, and crawls of a replay board over rounds.

The real feed in tests/data/fixtures/personio/ holds one position
(Personio's own "Staff Software Engineer, Data Platform"). The replay
board adds copies of that position under new ids and titles, and the
unit tests vary its fields (employment type and schedule, keywords, a
position with nothing but an id): those variations are CONSTRUCTED from
the real position, not copied from a response. The empty feed
``<workzag-jobs></workzag-jobs>`` is constructed too (its shape is the
documented root with no positions).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy.http import TextResponse
from scrapy.utils.test import get_crawler
from sqlalchemy import func, select

from crawler.errors import BoardError
from crawler.items import Posting, RawPage
from crawler.normalize import normalize_posting
from crawler.replay import Reply
from db.models import Posting as StoredPosting
from spiders.parsers.personio import feed_url, parse_feed, site_url
from spiders.personio import PersonioSpider

from .replay_helpers import check_golden, crawl, event, events_of

DATA = Path(__file__).resolve().parent.parent / "data"
FIXTURE = DATA / "fixtures" / "personio" / "ats-jobs-scraper_personio_feed.xml"
GOLDEN = DATA / "golden" / "personio" / "ats-jobs-scraper_personio_feed.json"
FETCHED_AT = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
URL = "https://personio.jobs.personio.de/xml"
REAL_ID = "1834171"
REAL = FIXTURE.read_text(encoding="utf-8")
BLOCK = REAL[REAL.index("<position>"):REAL.index("</position>") + len("</position>")]
HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<workzag-jobs>\n'


def response(body: bytes | str, url: str = URL, status: int = 200, headers: dict | None = None) -> TextResponse:
    return TextResponse(url=url, body=body.encode() if isinstance(body, str) else body, encoding="utf-8",
                        status=status, headers=headers)


def position(pid: str = REAL_ID, title: str | None = None, **fields: str | None) -> str:
    """The real position under another id / title, fields replaced (a value)
    or removed (None). CONSTRUCTED from the real one."""
    block = BLOCK.replace(f"<id>{REAL_ID}</id>", f"<id>{pid}</id>")
    if title is not None:
        block = block.replace("<name>Staff Software Engineer, Data Platform</name>", f"<name>{title}</name>")
    for name, value in fields.items():
        pattern = re.compile(rf"\s*<{name}>.*?</{name}>", re.DOTALL)
        element = "" if value is None else f"\n    <{name}>{value}</{name}>"
        if pattern.search(block):
            block = pattern.sub(lambda _, element=element: element, block, count=1)
        else:
            block = block.replace("\n</position>", f"{element}\n</position>")
    return block


def feed(*blocks: str) -> str:
    return HEAD + "\n".join(blocks) + "\n</workzag-jobs>\n"


def parse_one(block: str) -> Posting:
    [p] = parse_feed(response(feed(block)), "personio", "personio")
    return normalize_posting(p, fetched_at=FETCHED_AT)


# --------------------------------------------------------------------------- golden


def test_golden() -> None:
    check_golden(GOLDEN, parse_feed(response(FIXTURE.read_bytes()), "personio", "personio"), FETCHED_AT)


def test_golden_values_checked_by_hand() -> None:
    import json

    [job] = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert job["external_id"] == REAL_ID
    assert job["title"] == "Staff Software Engineer, Data Platform"
    assert job["company"] == "Personio SE & Co. KG"  # <subcompany>, its &amp; decoded once
    assert job["department"] == "Product and Tech"
    assert job["url"] == "https://personio.jobs.personio.de/job/1834171"
    # office and additional office; the feed names no country, and none is guessed
    assert job["locations"] == [{"raw": "Munich", "city": "Munich", "region": None, "country": None},
                                {"raw": "Berlin", "city": "Berlin", "region": None, "country": None}]
    # employmentType "permanent" with schedule "full-time"
    assert job["employment_type_raw"] == "permanent, full-time" and job["employment_type"] == "full_time"
    # the feed has no workplace field: the description says "This position is hybrid"
    assert job["workplace_type"] == "hybrid" and job["workplace_type_raw"] == "This position is hybrid"
    assert job["posted_at"] == "2024-11-13T14:10:41+00:00"
    assert job["deadline"] is None and job["salary"] == []  # none in the feed or the text
    assert job["requisition_id"] is None and job["apply_url"] is None
    # the four sections, each under its name (&#039; decoded), in order
    description = job["description"]
    heads = ["The Role: How you'll make an impact at Personio", "Role Responsibilities: What you'll do",
             "Role Requirements: What you need to succeed", "Why Personio"]
    assert [description.index(h) for h in heads] == sorted(description.index(h) for h in heads)
    assert description.startswith("The Role: How you'll make an impact at Personio\n\n"
                                  "This position is hybrid based in either Dublin or Munich locations")
    assert "<" not in description.replace("<5", "") and "10+ years of software engineering" in description
    assert job["language"] == "en"


def test_normalizing_twice_changes_nothing() -> None:
    postings = parse_feed(response(FIXTURE.read_bytes()), "personio", "personio")
    once = [normalize_posting(p, fetched_at=FETCHED_AT).to_dict() for p in postings]
    twice = [normalize_posting(p, fetched_at=FETCHED_AT).to_dict() for p in postings]
    assert once == twice


# --------------------------------------------------------------------------- parser


@pytest.mark.parametrize(("body", "message"), [
    (REAL[:3000], "malformed XML from Personio"),
    ("<!DOCTYPE html><html><body><h1>Personio</h1></body></html>", "malformed XML from Personio"),
    ("<html><body><p>Welcome to Personio</p></body></html>", "Personio feed has no <workzag-jobs> root"),
    ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
     "<workzag-jobs><position><id>1</id><name>&lol2;</name></position></workzag-jobs>",
     "malformed XML from Personio"),
    ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
     "<workzag-jobs><position><id>1</id><name>&e;</name></position></workzag-jobs>",
     "malformed XML from Personio"),
    ("", "malformed XML from Personio"),
    (feed("<position><name>no id</name></position>"), "Personio position without an id"),
])
def test_parser_rejects_what_it_cannot_read(body, message) -> None:
    with pytest.raises(BoardError, match=re.escape(message)):
        parse_feed(response(body), "personio", "personio")


def test_empty_board_is_not_an_error() -> None:
    assert parse_feed(response('<?xml version="1.0" encoding="UTF-8"?>\n\n<workzag-jobs>\n\n\n</workzag-jobs>'),
                      "personio", "personio") == []


def test_position_with_nothing_but_an_id() -> None:
    p = parse_one("<position><id>77</id><jobDescriptions></jobDescriptions></position>")
    assert (p.external_id, p.title, p.company, p.department) == ("77", None, None, None)
    assert p.locations == [] and p.description is None and p.employment_type is None
    assert p.posted_at is None and p.skills == [] and p.url == "https://personio.jobs.personio.de/job/77"


@pytest.mark.parametrize(("kind", "schedule", "raw", "expected"), [
    ("permanent", "full-time", "permanent, full-time", "full_time"),
    ("permanent", "part-time", "part-time, permanent", "part_time"),
    ("permanent", "full-or-part-time", "permanent, full-or-part-time", "full_time"),
    ("intern", "full-time", "intern, full-time", "internship"),
    ("trainee", "part-time", "trainee, part-time", "internship"),
    ("freelance", None, "freelance", "contract"),
    ("temporary", "full-time", "temporary, full-time", "temporary"),
    ("working_student", "part-time", "part-time, working_student", "part_time"),
    (None, "part-time", "part-time", "part_time"),
    (None, None, None, None),
])
def test_employment_type_and_schedule(kind, schedule, raw, expected) -> None:
    p = parse_one(position(employmentType=kind, schedule=schedule))
    assert (p.employment_type_raw, p.employment_type) == (raw, expected)


def test_keywords_office_remote_and_sections() -> None:
    block = position(office="Remote", keywords="python, Kafka , , python").replace(
        "<name>Why Personio</name>", "<name>Why &lt;us&gt; &amp; you</name>")
    p = parse_one(block)
    assert p.skills == ["python", "Kafka"]
    assert p.locations_raw == ["Remote", "Berlin"]
    # an office named "Remote" states the workplace (before the description's "hybrid")
    assert p.workplace_type == "remote"
    raw = parse_feed(response(feed(block)), "personio", "personio")[0]
    # a section name is text: escaped into the HTML, never read as markup
    assert "<h2>Why &lt;us&gt; &amp; you</h2>" in raw.description_html


def test_additional_offices_without_wrapper_and_repeats() -> None:
    # some feeds write <additionalOffices>Münster</additionalOffices>; only
    # <office> children are offices, a bare text is not read as one
    p = parse_one(position(additionalOffices="Münster"))
    assert p.locations_raw == ["Munich"]
    # the same position twice in one feed is one posting
    assert len(parse_feed(response(feed(BLOCK, BLOCK)), "personio", "personio")) == 1


def test_site_and_feed_urls() -> None:
    assert site_url("personio") == "https://personio.jobs.personio.de"
    assert site_url("acme", "com") == "https://acme.jobs.personio.com"
    assert feed_url(site_url("personio")) == URL
    [p] = parse_feed(response(FIXTURE.read_bytes(), url="http://127.0.0.1:9/xml"), "x", "acme", "com")
    assert p.url == "https://acme.jobs.personio.com/job/1834171"  # the site, never the mirror


# --------------------------------------------------------------------------- spider


def make_spider(params: dict | None = None, base_url: str | None = None) -> PersonioSpider:
    return PersonioSpider.from_crawler(get_crawler(PersonioSpider), source="personio",
                                       params=params or {"company": "personio"}, base_url=base_url)


def test_params_and_url() -> None:
    assert PersonioSpider.check_params({"company": "personio"}) is None
    assert PersonioSpider.check_params({"company": "acme", "domain": "com"}) is None
    assert PersonioSpider.check_params({}) == (
        "company: required for board 'personio' (the career site name in <company>.jobs.personio.de)")
    assert "must be the subdomain alone, as in <company>.jobs.personio.de" in PersonioSpider.check_params({"company": "acme.jobs.personio.de"})
    assert PersonioSpider.check_params({"company": "acme", "domain": "fr"}) == (
        'domain: must be "de" or "com", got \'fr\'')
    [first] = list(make_spider().start_requests())
    assert first.url == URL and first.meta["dont_redirect"] is True
    [first] = list(make_spider({"company": "acme", "domain": "com"}).start_requests())
    assert first.url == "https://acme.jobs.personio.com/xml"
    [first] = list(make_spider(base_url="http://127.0.0.1:9/").start_requests())
    assert first.url == "http://127.0.0.1:9/xml"


def test_spider_is_complete_when_the_feed_parses() -> None:
    spider = make_spider()
    out = list(spider.parse_board(response(FIXTURE.read_bytes())))
    assert isinstance(out[0], RawPage)
    assert [p.external_id for p in out if isinstance(p, Posting)] == [REAL_ID]
    assert spider.complete and spider.complete_by.startswith("whole feed parsed")
    spider = make_spider()
    list(spider.parse_board(response(REAL[:2000])))
    assert not spider.complete and spider.fatal.startswith("malformed XML from Personio")


def test_a_redirect_is_board_not_found() -> None:
    spider = make_spider()
    list(spider.parse_board(response("", status=307, headers={"Location": "https://www.personio.com/"})))
    assert not spider.complete
    assert spider.fatal == ("board not found: Personio has no career site 'personio' on jobs.personio.de "
                            f"(HTTP 307 redirect from {URL} to https://www.personio.com/)")


# --------------------------------------------------------------------------- end to end

PATH = "/xml"


def board(*blocks: str) -> dict:
    return {PATH: Reply(feed(*blocks), content_type="application/xml; charset=utf-8")}


def copies(n: int) -> list[tuple[str, str]]:
    """(id, block): the real position, then n copies under new ids."""
    return [(REAL_ID, BLOCK)] + [(str(2000000 + k), position(str(2000000 + k), f"Data Engineer #{k}"))
                                 for k in range(n)]


def configure(project, replay) -> None:
    project.write_config(f'[[sources]]\nname = "personio"\nboard = "personio"\ncompany = "personio"\n'
                         f'base_url = "{replay.url}"\n')


@pytest.mark.slow
def test_personio_rounds(project, replay, sessions):
    jobs = copies(4)
    (a, real), (b, pb), (c, pc), (d, pd), (e, pe) = jobs
    configure(project, replay)

    # round 1: four positions, all new, from one request
    replay.set_routes(board(real, pb, pc, pd))
    r = crawl(project, sessions, "personio")
    assert r["exit"] == 0 and r["run"]["status"] == "complete", r
    assert events_of(sessions, r["run"]["id"]) == sorted([("new", a), ("new", b), ("new", c), ("new", d)])
    assert [path for _, path, _ in replay.requests if path.startswith(PATH)] == [PATH]
    stored = {p["external_id"]: p for p in project.json("postings", "--source", "personio")}
    assert stored[a]["company"] == "Personio SE & Co. KG" and stored[a]["employment_type"] == "full_time"
    assert stored[b]["title"] == "Data Engineer #0"

    # round 2: a retitled, c removed, e added
    retitled = real.replace("<name>Staff Software Engineer, Data Platform</name>",
                            "<name>Principal Software Engineer, Data Platform</name>")
    replay.set_routes(board(retitled, pb, pd, pe))
    r = crawl(project, sessions, "personio")
    assert r["run"]["status"] == "complete", r
    assert events_of(sessions, r["run"]["id"]) == sorted([("changed", a), ("new", e)])
    assert {"field": "title", "old": "Staff Software Engineer, Data Platform",
            "new": "Principal Software Engineer, Data Platform"} in event(sessions, "changed", a).changes
    assert [ch["field"] for ch in event(sessions, "changed", a).changes] == ["title"]

    # round 3: the feed answers 500 on every try: failed, nothing expires
    before = len(replay.requests)
    replay.set_routes({PATH: Reply("<html><body>Internal Server Error</body></html>", status=500,
                                   content_type="text/html")})
    r = crawl(project, sessions, "personio")
    assert r["exit"] == 1 and r["run"]["status"] == "failed" and "HTTP 500" in r["run"]["reason"], r
    assert events_of(sessions, r["run"]["id"]) == []
    assert len([p for _, p, _ in replay.requests[before:] if p.startswith(PATH)]) == 3

    # round 4: c missing from a second complete run: expired
    replay.set_routes(board(retitled, pb, pd, pe))
    r = crawl(project, sessions, "personio")
    assert r["run"]["status"] == "complete", r
    assert events_of(sessions, r["run"]["id"]) == [("expired", c)]


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_personio_walls_redirects_and_empty_feeds(project, replay, sessions):
    """Run on SQLite only: the store's side of these runs is the same on
    both databases (test_personio_rounds covers PostgreSQL)."""
    blocks = [block for _, block in copies(3)]
    configure(project, replay)
    replay.set_routes(board(*blocks))
    assert crawl(project, sessions, "personio")["run"]["status"] == "complete"

    # a WAF page (403) instead of the feed: failed, "blocked"
    replay.set_routes({PATH: Reply("<html><head><title>Attention Required! | Cloudflare</title></head></html>",
                                   status=403, content_type="text/html")})
    r = crawl(project, sessions, "personio")
    assert r["run"]["status"] == "failed" and r["run"]["reason"].startswith("blocked: "), r

    # an empty feed from a board that had positions: suspicious, nothing expires
    replay.set_routes(board())
    r = crawl(project, sessions, "personio")
    assert r["run"]["status"] == "suspicious" and "saw 0 postings against a usual 4" in r["run"]["reason"], r
    assert events_of(sessions, r["run"]["id"]) == []

    # no career site: Personio redirects to its home page (never followed)
    replay.set_routes({PATH: Reply("", status=307, content_type="text/html",
                                   headers={"Location": "https://www.personio.com/"})})
    r = crawl(project, sessions, "personio")
    assert r["run"]["status"] == "failed", r
    assert r["run"]["reason"].startswith("board not found: Personio has no career site 'personio' "
                                         "on jobs.personio.de (HTTP 307 redirect"), r
    assert not [p for _, p, _ in replay.requests if "personio.com" in p]

    # or answers 404
    replay.set_routes({})
    r = crawl(project, sessions, "personio")
    assert r["run"]["status"] == "failed", r
    assert r["run"]["reason"].startswith("board not found: Personio has no career site 'personio' "
                                         "on jobs.personio.de (HTTP 404"), r
    with sessions() as s:
        assert s.scalars(select(func.count()).select_from(StoredPosting)
                         .where(StoredPosting.status == "open")).one() == 4
