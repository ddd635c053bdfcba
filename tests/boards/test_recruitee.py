"""Recruitee: the golden file from the real saved response, parser and spider
unit tests, and crawls of a replay board over rounds.

The board is the real Aikido Security answer in tests/data/fixtures/recruitee/
(three offers, descriptions cut upstream). The replay board adds copies of
those offers under new ids, served at Recruitee's real path
``/api/offers/``. Values that the real offers do not carry (a hybrid offer,
monthly pay in EUR, a ``close_at`` date, ``translations``, an unpublished
status) are set on copies of the real offers in the tests below and are
CONSTRUCTED after Recruitee's documented offer shape, not copied from a real
response.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime

import pytest
from scrapy.http import TextResponse
from scrapy.utils.test import get_crawler

from crawler.errors import BoardError
from crawler.items import Posting
from crawler.normalize import normalize_posting
from crawler.replay import Reply
from spiders.parsers.recruitee import board_url, iso_time, parse_offers
from spiders.recruitee import RecruiteeSpider

from ..conftest import DATA
from .replay_helpers import check_golden, crawl, event, events_of

FIXTURE = DATA / "fixtures" / "recruitee" / "job-agent_aikido_offers.json"
GOLDEN = DATA / "golden" / "recruitee" / "job-agent_aikido_offers.json"
FETCHED_AT = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
URL = "https://aikidosecurity.recruitee.com/api/offers/"
TEL_AVIV, DUBAI, CHICAGO = "2707521", "2707517", "2705729"


def response(body: bytes | str, url: str = URL) -> TextResponse:
    return TextResponse(url=url, body=body.encode() if isinstance(body, str) else body, encoding="utf-8")


def real_offers() -> list[dict]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))["offers"]


def parse_one(offer: dict) -> Posting:
    [p] = parse_offers(response(json.dumps({"offers": [offer]})), "aikido")
    return normalize_posting(p, fetched_at=FETCHED_AT)


# --------------------------------------------------------------------------- golden


def test_golden() -> None:
    check_golden(GOLDEN, parse_offers(response(FIXTURE.read_bytes()), "aikido"), FETCHED_AT)


def test_golden_values_checked_by_hand() -> None:
    tel_aviv, dubai, chicago = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert [tel_aviv["external_id"], dubai["external_id"], chicago["external_id"]] == [TEL_AVIV, DUBAI, CHICAGO]
    assert tel_aviv["title"] == "Customer Success Engineer Tel Aviv"
    assert chicago["title"] == "Office Manager Chicago"
    for job in (tel_aviv, dubai, chicago):
        assert job["company"] == "Aikido Security"
        assert job["employment_type_raw"] == "fulltime_permanent" and job["employment_type"] == "full_time"
        assert job["url"].startswith("https://aikidosecurity.recruitee.com/o/")
        assert job["apply_url"] == job["url"] + "/c/new"
        assert job["requisition_id"] is None  # offers carry no job number
        assert job["deadline"] is None  # close_at is null on all three
        assert job["language"] == "en"  # detected on the text: the offers carry no translations
    assert (tel_aviv["department"], chicago["department"]) == ("Sales", "Operations")
    # "location": "Remote job" is a label; the structured place is the city
    assert tel_aviv["workplace_type_raw"] == "Remote" and tel_aviv["workplace_type"] == "remote"
    assert tel_aviv["locations"] == [{"raw": "Tel Aviv, Israel", "city": "Tel Aviv", "region": "Tel Aviv",
                                      "country": "IL"}]
    assert dubai["locations"] == [{"raw": "Dubai, United Arab Emirates", "city": "Dubai", "region": "Dubai",
                                   "country": "AE"}]
    assert chicago["workplace_type"] == "onsite"
    assert chicago["locations"] == [{"raw": "Chicago, Illinois, United States", "city": "Chicago",
                                     "region": "Illinois", "country": "US"}]
    # the structured salary exactly as the board states it (75-95 USD a year:
    # a slip upstream, kept as given, never "corrected")
    assert chicago["salary"] == [{"min": 75, "max": 95, "currency": "USD", "period": "year",
                                  "raw": '{"currency": "USD", "max": "95.00", "min": "75.00", "period": "year"}'}]
    assert tel_aviv["salary"] == [] and dubai["salary"] == []  # all-null salary objects
    # "2026-08-11 20:45:29 UTC" kept as the same instant
    assert tel_aviv["posted_at"] == "2026-08-11T20:45:29+00:00"
    assert chicago["posted_at"] == "2026-08-10T15:13:59+00:00"
    assert tel_aviv["description"].startswith("🌍 We’re making security suck less for developers.")
    assert "<p" not in chicago["description"]


# --------------------------------------------------------------------------- parser


@pytest.mark.parametrize(("body", "message"), [
    ('{"offers": [{"id": 1', "malformed JSON from Recruitee"),
    (b"\xff\xfe{", "malformed JSON from Recruitee"),
    ('{"error": "Not Found"}', "Recruitee response has no 'offers' list"),
    ("[]", "Recruitee response has no 'offers' list"),
    ('{"offers": [{"title": "no id"}]}', "Recruitee offer without an id"),
    ('{"offers": ["a string"]}', "Recruitee offer without an id"),
])
def test_parser_rejects_what_it_cannot_read(body, message) -> None:
    with pytest.raises(BoardError, match=re.escape(message)):
        parse_offers(response(body), "aikido")


def test_empty_board_is_not_an_error() -> None:
    assert parse_offers(response('{"offers": []}'), "aikido") == []


def test_an_offer_with_nothing_but_an_id_gives_an_empty_posting() -> None:
    p = parse_one({"id": 42})
    assert p.external_id == "42"
    assert (p.title, p.url, p.company, p.department, p.posted_at, p.deadline) == (None,) * 6
    assert p.locations == [] and p.salary == [] and p.workplace_type is None and p.employment_type is None


def test_unpublished_offers_are_skipped() -> None:
    # CONSTRUCTED: a copy of a real offer with another status
    draft = dict(real_offers()[0], id=1, status="closed")
    body = json.dumps({"offers": [draft, real_offers()[2]]})
    assert [p.external_id for p in parse_offers(response(body), "aikido")] == [CHICAGO]


def test_hybrid_monthly_pay_deadline_and_language() -> None:
    # CONSTRUCTED after the documented offer shape, on a copy of a real offer
    offer = dict(real_offers()[2], remote=False, hybrid=True, on_site=False,
                 salary={"min": "3750", "max": "5250", "period": "month", "currency": "EUR"},
                 close_at="2026-11-30 23:00:00 UTC",
                 translations={"nl": {"title": "Officemanager"}})
    p = parse_one(offer)
    assert p.workplace_type_raw == "Hybrid" and p.workplace_type == "hybrid"
    assert [(s["min"], s["max"], s["currency"], s["period"]) for s in p.salary] == [(3750, 5250, "EUR", "month")]
    assert p.deadline_raw == "2026-11-30T23:00:00+00:00" and p.deadline == "2026-11-30T23:00:00+00:00"
    assert p.language == "nl"


def test_places_without_a_locations_list() -> None:
    offer = {k: v for k, v in real_offers()[2].items() if k != "locations"}
    assert parse_one(offer).locations == [{"raw": "Chicago, Illinois, United States", "city": "Chicago",
                                           "region": "Illinois", "country": "US"}]
    # no place at all: "Remote job" is a workplace label, never a city
    bare = {"id": 7, "location": "Remote job", "remote": True}
    p = parse_one(bare)
    assert p.locations == [] and p.locations_raw == [] and p.workplace_type == "remote"
    text_only = parse_one({"id": 8, "location": "Amsterdam, Netherlands"})
    assert text_only.locations == [{"raw": "Amsterdam, Netherlands", "city": "Amsterdam", "region": None,
                                     "country": "NL"}]


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-08-11 20:45:29 UTC", "2026-08-11T20:45:29+00:00"),
    ("2026-08-11T20:45:29Z", "2026-08-11T20:45:29Z"),  # other spellings pass as they are
    ("", None),
    (None, None),
])
def test_iso_time(value, expected) -> None:
    assert iso_time(value) == expected


# --------------------------------------------------------------------------- spider


def make_spider(base_url: str | None = None) -> RecruiteeSpider:
    return RecruiteeSpider.from_crawler(get_crawler(RecruiteeSpider), source="aikido",
                                        params={"company": "aikidosecurity"}, base_url=base_url)


def test_params_and_url() -> None:
    assert RecruiteeSpider.check_params({"company": "aikidosecurity"}) is None
    assert RecruiteeSpider.check_params({}) == (
        "company: required for board 'recruitee' (the careers site subdomain in <company>.recruitee.com)")
    assert "subdomain alone" in RecruiteeSpider.check_params({"company": "https://x.recruitee.com"})
    assert board_url("https://aikidosecurity.recruitee.com") == URL
    [first] = list(make_spider().start_requests())
    assert first.url == URL
    # a careers site on its own domain (or the replay server) through base_url
    [custom] = list(make_spider("https://jobs.example.com/").start_requests())
    assert custom.url == "https://jobs.example.com/api/offers/"


def test_spider_is_complete_when_the_board_parses() -> None:
    spider = make_spider()
    out = list(spider.parse_board(response(FIXTURE.read_bytes())))
    assert [p.external_id for p in out if isinstance(p, Posting)] == [TEL_AVIV, DUBAI, CHICAGO]
    assert spider.complete
    assert spider.complete_by == "whole response, no total given; count checked against recent runs only"
    spider = make_spider()
    list(spider.parse_board(response('{"offers": [')))
    assert not spider.complete and spider.fatal.startswith("malformed JSON from Recruitee")


# --------------------------------------------------------------------------- end to end

PATH = "/api/offers/"


def board_offers() -> dict[str, dict]:
    """The three real offers, then copies of them under new ids and titles."""
    offers = {str(o["id"]): o for o in real_offers()}
    for k, real in enumerate(real_offers()):
        extra = copy.deepcopy(real)
        extra["id"] = 9000000 + k
        extra["title"] = f"{real['title']} #{k}"
        extra["careers_url"] = f"{real['careers_url']}-{k}"
        offers[str(extra["id"])] = extra
    return offers


def board(offers: list[dict]) -> dict:
    return {PATH: Reply(json.dumps({"offers": offers}))}


def configure(project, replay) -> None:
    project.write_config(f'[[sources]]\nname = "aikido"\nboard = "recruitee"\ncompany = "aikidosecurity"\n'
                         f'base_url = "{replay.url}"\n')


@pytest.mark.slow
def test_recruitee_rounds(project, replay, sessions):
    offers = board_offers()
    a, b, paid, c, d, e = list(offers)
    configure(project, replay)

    # round 1: five offers, all new
    replay.set_routes(board([offers[a], offers[b], offers[paid], offers[c], offers[d]]))
    r = crawl(project, sessions, "aikido")
    assert r["exit"] == 0 and r["run"]["status"] == "complete", r
    assert events_of(sessions, r["run"]["id"]) == sorted(("new", x) for x in (a, b, paid, c, d))
    assert [path for _, path, _ in replay.requests if path.startswith("/api/")] == [PATH]
    stored = {p["external_id"]: p for p in project.json("postings", "--source", "aikido")}
    assert stored[paid]["salary"][0]["currency"] == "USD" and stored[a]["locations"][0]["country"] == "IL"

    # round 2: the pay of `paid` raised, c removed, e added
    raised = dict(offers[paid], salary={"min": "75.00", "max": "105.00", "period": "year", "currency": "USD"})
    replay.set_routes(board([offers[a], offers[b], raised, offers[d], offers[e]]))
    r = crawl(project, sessions, "aikido")
    assert r["run"]["status"] == "complete", r
    assert events_of(sessions, r["run"]["id"]) == sorted([("changed", paid), ("new", e)])
    assert [ch["field"] for ch in event(sessions, "changed", paid).changes] == ["salary"]

    # round 3: the server fails (500): the run fails, nothing expires
    replay.set_routes({PATH: Reply("internal error", status=500, content_type="text/plain")})
    r = crawl(project, sessions, "aikido")
    assert r["exit"] == 1 and r["run"]["status"] == "failed" and "HTTP 500" in r["run"]["reason"], r
    assert events_of(sessions, r["run"]["id"]) == []

    # round 4: c missing from a second complete run: expired
    replay.set_routes(board([offers[a], offers[b], raised, offers[d], offers[e]]))
    r = crawl(project, sessions, "aikido")
    assert r["run"]["status"] == "complete", r
    assert events_of(sessions, r["run"]["id"]) == [("expired", c)]


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_recruitee_malformed_answers_and_unknown_sites(project, replay, sessions):
    """SQLite only: the store's side is the same on both databases."""
    offers = list(board_offers().values())[:4]
    configure(project, replay)
    replay.set_routes(board(offers))
    assert crawl(project, sessions, "aikido")["run"]["status"] == "complete"

    # the body cut mid-way: failed, nothing expires
    replay.set_routes({PATH: Reply(json.dumps({"offers": offers})[:2000])})
    r = crawl(project, sessions, "aikido")
    assert r["run"]["status"] == "failed" and "malformed JSON from Recruitee" in r["run"]["reason"], r
    assert events_of(sessions, r["run"]["id"]) == []

    # an unknown careers site: Recruitee answers 404 {"error": "Not Found"}
    replay.set_routes({PATH: Reply('{"error":"Not Found"}', status=404)})
    r = crawl(project, sessions, "aikido")
    assert r["run"]["status"] == "failed", r
    assert r["run"]["reason"].startswith(
        "board not found: Recruitee has no careers site 'aikidosecurity' (HTTP 404"), r
    assert events_of(sessions, r["run"]["id"]) == []
