"""Breezy HR: the golden file from the real saved portal feed, parser and
spider unit tests, and crawls of a replay board over rounds.

The board is the real ``/json`` feed of Breezy's own trial portal in
tests/data/fixtures/breezy/ (two positions), served at Breezy's real path
``/json``; the replay board adds copies of those positions under new ids.
Values the real positions do not carry (a remote position, a type given by
id only, a country without an id) are set on copies of the real positions
below and are CONSTRUCTED after the feed's shape, not copied from a real
response. So is the redirect an unknown portal answers with.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime

import pytest
from scrapy.http import Request, TextResponse
from scrapy.utils.test import get_crawler

from crawler.errors import BoardError
from crawler.items import Posting
from crawler.normalize import normalize_posting
from crawler.replay import Reply
from spiders.breezy import BreezySpider
from spiders.parsers.breezy import board_url, moved_off_portal, parse_positions

from ..conftest import DATA
from .replay_helpers import check_golden, crawl, event, events_of

FIXTURE = DATA / "fixtures" / "breezy" / "hunt_breezy_trial_json.json"
GOLDEN = DATA / "golden" / "breezy" / "hunt_breezy_trial_json.json"
FETCHED_AT = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
URL = "https://breezy.breezy.hr/json"
EMPLOYEE, OPEN = "98323abf2296", "088ac6d52139"


def response(body: bytes | str, url: str = URL) -> TextResponse:
    return TextResponse(url=url, body=body.encode() if isinstance(body, str) else body, encoding="utf-8")


def real_positions() -> list[dict]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def parse_one(position: dict) -> Posting:
    [p] = parse_positions(response(json.dumps([position])), "breezy")
    return normalize_posting(p, fetched_at=FETCHED_AT)


# --------------------------------------------------------------------------- golden


def test_golden() -> None:
    check_golden(GOLDEN, parse_positions(response(FIXTURE.read_bytes()), "breezy"), FETCHED_AT)


def test_golden_values_checked_by_hand() -> None:
    employee, opening = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert [employee["external_id"], opening["external_id"]] == [EMPLOYEE, OPEN]
    assert (employee["title"], opening["title"]) == ("Employee #12", "Open Position")
    for job in (employee, opening):
        assert job["company"] == "MS Breezy Trial"
        assert job["url"] == f"https://breezy.breezy.hr/p/{job['external_id']}-" + (
            "employee-12" if job is employee else "open-position")
        assert job["apply_url"] is None and job["requisition_id"] is None and job["deadline"] is None
        assert job["workplace_type"] is None  # is_remote false / absent states no arrangement
    assert (employee["department"], opening["department"]) == ("Does Not Matter", "Sporting Goods")
    assert employee["employment_type_raw"] == "Other" and employee["employment_type"] == "other"
    assert opening["employment_type_raw"] == "Contract" and opening["employment_type"] == "contract"
    # state and country are {id, name} objects: the region's name, the ISO country id
    assert employee["locations"] == [{"raw": "Chaos, FL", "city": "Chaos", "region": "Florida", "country": "US"}]
    # an empty locations[]: the primary location is the place
    assert opening["locations"] == [{"raw": "New York, NY", "city": "New York", "region": "New York",
                                     "country": "US"}]
    # pay as the portal prints it, read with currency and period
    assert employee["salary"] == [{"min": 0.05, "max": 0.06, "currency": "USD", "period": "hour",
                                   "raw": "$0.05 – $0.06 / hour"}]
    assert opening["salary"] == [{"min": 1, "max": 5, "currency": "USD", "period": "year", "raw": "$1 – $5 / year"}]
    assert employee["posted_at"] == "2024-02-15T14:37:22.684000+00:00"
    assert opening["posted_at_raw"] == "2023-04-06T01:32:13.932Z"


# --------------------------------------------------------------------------- parser


@pytest.mark.parametrize(("body", "message"), [
    ('[{"id": "a"', "malformed JSON from Breezy"),
    ("<html><title>Breezy HR</title></html>", "malformed JSON from Breezy"),
    ('{"positions": []}', "Breezy feed is not a list of positions (got dict)"),
    ('[{"name": "no id"}]', "Breezy position without an id"),
    ("[1]", "Breezy position without an id"),
])
def test_parser_rejects_what_it_cannot_read(body, message) -> None:
    with pytest.raises(BoardError, match=re.escape(message)):
        parse_positions(response(body), "breezy")


def test_empty_board_is_not_an_error() -> None:
    assert parse_positions(response("[]"), "breezy") == []


def test_a_position_with_nothing_but_an_id_gives_an_empty_posting() -> None:
    p = parse_one({"id": "abc"})
    assert p.external_id == "abc"
    assert (p.title, p.url, p.company, p.department, p.posted_at) == (None,) * 5
    assert p.locations == [] and p.salary == [] and p.workplace_type is None and p.employment_type is None


def test_remote_position_type_id_and_country_name() -> None:
    # CONSTRUCTED after the feed's shape, on a copy of a real position
    position = copy.deepcopy(real_positions()[1])
    position["type"] = {"id": "partTime"}
    position["location"] = {"country": {"name": "Germany"}, "city": "Berlin", "is_remote": True,
                            "name": "Berlin, DE"}
    position["salary"] = "€45,000 – €55,000 / year"
    p = parse_one(position)
    assert p.employment_type_raw == "partTime" and p.employment_type == "part_time"
    assert p.workplace_type_raw == "Remote" and p.workplace_type == "remote"
    assert p.locations == [{"raw": "Berlin, DE", "city": "Berlin", "region": None, "country": "DE"}]
    assert [(s["min"], s["max"], s["currency"], s["period"]) for s in p.salary] == [(45000, 55000, "EUR", "year")]


def test_a_redirect_off_the_portal_is_told_apart() -> None:
    # CONSTRUCTED: an unknown portal is redirected to Breezy's marketing site
    request = Request(URL, meta={"redirect_urls": ["https://nosuchportal.breezy.hr/json"]})
    moved = TextResponse(url="https://breezy.hr/", body=b"<html></html>", request=request)
    assert moved_off_portal(moved) == "https://breezy.hr/"
    same = TextResponse(url=URL, body=b"[]", request=Request(URL, meta={"redirect_urls": ["http://breezy.breezy.hr/json"]}))
    assert moved_off_portal(same) is None  # http -> https on the portal's own host
    assert moved_off_portal(response("[]")) is None


# --------------------------------------------------------------------------- spider


def make_spider(base_url: str | None = None) -> BreezySpider:
    return BreezySpider.from_crawler(get_crawler(BreezySpider), source="breezy", params={"company": "breezy"},
                                     base_url=base_url)


def test_params_and_url() -> None:
    assert BreezySpider.check_params({"company": "safe-global"}) is None
    assert BreezySpider.check_params({}) == (
        "company: required for board 'breezy' (the portal subdomain in <company>.breezy.hr)")
    assert "subdomain alone" in BreezySpider.check_params({"company": "acme.breezy.hr"})
    assert board_url("https://breezy.breezy.hr") == URL
    [first] = list(make_spider().start_requests())
    assert first.url == URL
    [custom] = list(make_spider("http://127.0.0.1:8080").start_requests())
    assert custom.url == "http://127.0.0.1:8080/json"


def test_spider_is_complete_when_the_board_parses_and_not_found_when_redirected_away() -> None:
    spider = make_spider()
    out = list(spider.parse_board(response(FIXTURE.read_bytes())))
    assert [p.external_id for p in out if isinstance(p, Posting)] == [EMPLOYEE, OPEN]
    assert spider.complete
    assert spider.complete_by == "whole response, no total given; count checked against recent runs only"
    spider = make_spider()
    request = Request(URL, meta={"redirect_urls": [URL]})
    list(spider.parse_board(TextResponse(url="https://breezy.hr/", body=b"<html></html>", request=request)))
    assert not spider.complete
    assert spider.fatal == ("board not found: Breezy HR has no portal 'breezy' "
                            "(redirected to https://breezy.hr/)")


# --------------------------------------------------------------------------- end to end

PATH = "/json"


def board_positions() -> dict[str, dict]:
    """The two real positions, then copies of them under new ids."""
    positions = {p["id"]: p for p in real_positions()}
    for k in range(3):
        extra = copy.deepcopy(real_positions()[k % 2])
        extra["id"] = f"0000000000{k:02d}"
        extra["name"] = f"{extra['name']} #{k}"
        extra["friendly_id"] = f"{extra['id']}-copy-{k}"
        extra["url"] = f"https://breezy.breezy.hr/p/{extra['friendly_id']}"
        positions[extra["id"]] = extra
    return positions


def board(positions: list[dict]) -> dict:
    return {PATH: Reply(json.dumps(positions))}


def configure(project, replay) -> None:
    project.write_config(f'[[sources]]\nname = "breezy"\nboard = "breezy"\ncompany = "breezy"\n'
                         f'base_url = "{replay.url}"\n')


@pytest.mark.slow
def test_breezy_rounds(project, replay, sessions):
    positions = board_positions()
    a, b, c, d, e = list(positions)
    configure(project, replay)

    # round 1: four positions, all new
    replay.set_routes(board([positions[a], positions[b], positions[c], positions[d]]))
    r = crawl(project, sessions, "breezy")
    assert r["exit"] == 0 and r["run"]["status"] == "complete", r
    assert events_of(sessions, r["run"]["id"]) == sorted(("new", x) for x in (a, b, c, d))
    assert [path for _, path, _ in replay.requests if path != "/robots.txt"] == [PATH]
    stored = {p["external_id"]: p for p in project.json("postings", "--source", "breezy")}
    assert stored[a]["salary"][0]["period"] == "hour" and stored[a]["locations"][0]["country"] == "US"

    # round 2: the pay of b raised, c removed, e added
    raised = dict(positions[b], salary="$2 – $5 / year")
    replay.set_routes(board([positions[a], raised, positions[d], positions[e]]))
    r = crawl(project, sessions, "breezy")
    assert r["run"]["status"] == "complete", r
    assert events_of(sessions, r["run"]["id"]) == sorted([("changed", b), ("new", e)])
    assert [ch["field"] for ch in event(sessions, "changed", b).changes] == ["salary"]

    # round 3: the server fails (500): the run fails, nothing expires
    replay.set_routes({PATH: Reply("oops", status=500, content_type="text/plain")})
    r = crawl(project, sessions, "breezy")
    assert r["exit"] == 1 and r["run"]["status"] == "failed" and "HTTP 500" in r["run"]["reason"], r
    assert events_of(sessions, r["run"]["id"]) == []

    # round 4: c missing from a second complete run: expired
    replay.set_routes(board([positions[a], raised, positions[d], positions[e]]))
    r = crawl(project, sessions, "breezy")
    assert r["run"]["status"] == "complete", r
    assert events_of(sessions, r["run"]["id"]) == [("expired", c)]


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_breezy_malformed_answers_and_unknown_portals(project, replay, sessions):
    """SQLite only: the store's side is the same on both databases."""
    positions = list(board_positions().values())[:4]
    configure(project, replay)
    replay.set_routes(board(positions))
    assert crawl(project, sessions, "breezy")["run"]["status"] == "complete"

    # an HTML page where the feed should be: failed, nothing expires
    replay.set_routes({PATH: Reply("<html><body>maintenance</body></html>", content_type="text/html")})
    r = crawl(project, sessions, "breezy")
    assert r["run"]["status"] == "failed" and "malformed JSON from Breezy" in r["run"]["reason"], r
    assert events_of(sessions, r["run"]["id"]) == []

    # a WAF page (403) instead of the feed: failed, "blocked"
    replay.set_routes({PATH: Reply("<html><head><title>Attention Required! | Cloudflare</title></head></html>",
                                   status=403, content_type="text/html")})
    r = crawl(project, sessions, "breezy")
    assert r["run"]["status"] == "failed", r
    assert r["run"]["reason"].startswith("blocked: 'Attention Required! | Cloudflare' page"), r

    replay.set_routes({})
    r = crawl(project, sessions, "breezy")
    assert r["run"]["status"] == "failed", r
    assert r["run"]["reason"].startswith("board not found: Breezy HR has no portal 'breezy' (HTTP 404"), r
