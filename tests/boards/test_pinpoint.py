"""Pinpoint: the golden file from the real saved feed, parser and spider unit
tests, and crawls of a replay board over rounds.

The board is the real ARIA feed in tests/data/fixtures/pinpoint/ (four
postings; its saver kept only some keys of each posting and cut the
descriptions), served at Pinpoint's real path ``/postings.json``; the replay
board adds copies of those postings under new ids. The keys the saved feed
lacks (``compensation_minimum``/``_maximum``/``_currency``/``_frequency``,
the ``employment_type`` and ``workplace_type`` codes, the text sections with
their headers, ``job.requisition_id``, a location named by its country) are
set on copies of the real postings below and are CONSTRUCTED after
Pinpoint's documented posting shape, not copied from a real response.
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
from spiders.parsers.pinpoint import board_url, parse_postings
from spiders.pinpoint import PinpointSpider

from ..conftest import DATA
from .replay_helpers import check_golden, crawl, event, events_of

FIXTURE = DATA / "fixtures" / "pinpoint" / "llm-job-pipeline_aria_postings.json"
GOLDEN = DATA / "golden" / "pinpoint" / "llm-job-pipeline_aria_postings.json"
FETCHED_AT = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
URL = "https://aria.pinpointhq.com/postings.json"
COMPUTE, SECURITY, CHEMISTRY, SAFEGUARDED = "463161", "466410", "513743", "527082"


def response(body: bytes | str, url: str = URL) -> TextResponse:
    return TextResponse(url=url, body=body.encode() if isinstance(body, str) else body, encoding="utf-8")


def real_postings() -> list[dict]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))["data"]


def parse_one(item: dict) -> Posting:
    [p] = parse_postings(response(json.dumps({"data": [item]})), "aria")
    return normalize_posting(p, fetched_at=FETCHED_AT)


def full_shape(item: dict) -> dict:
    """CONSTRUCTED after Pinpoint's documented posting shape: the keys the
    saved feed lacks, added to a copy of a real posting."""
    return dict(
        copy.deepcopy(item),
        compensation="£70,000 - £105,000 / year", compensation_minimum=70000.0, compensation_maximum=105000.0,
        compensation_currency="GBP", compensation_frequency="year", compensation_visible=True,
        employment_type="permanent_full_time", workplace_type="hybrid",
        key_responsibilities="<ul><li>Shape the programme</li></ul>",
        key_responsibilities_header="What you'll do",
        skills_knowledge_expertise="<ul><li>A research background</li></ul>",
        skills_knowledge_expertise_header="What you'll bring",
        benefits="<div>Generous pension</div>", benefits_header="Benefits & perks",
        job=dict(item["job"], requisition_id="ARIA-0042"),
        location={"id": "1", "city": "London", "name": "United Kingdom", "province": "England",
                  "postal_code": "N1C 4AG", "street_address": ""},
    )


# --------------------------------------------------------------------------- golden


def test_golden() -> None:
    check_golden(GOLDEN, parse_postings(response(FIXTURE.read_bytes()), "aria"), FETCHED_AT)


def test_golden_values_checked_by_hand() -> None:
    compute, security, chemistry, safeguarded = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert [p["external_id"] for p in (compute, security, chemistry, safeguarded)] == [
        COMPUTE, SECURITY, CHEMISTRY, SAFEGUARDED]
    assert compute["title"] == "Science and Technology Lead - Next-Generation Compute Architectures"
    assert safeguarded["title"] == "Technical and Translational Lead - Safeguarded AI (Cybersecurity)"
    for job in (compute, security, chemistry, safeguarded):
        assert job["url"].startswith("https://aria.pinpointhq.com/en/postings/")
        assert job["company"] is None  # the feed does not name the employer
        assert job["department"] == "Programmes"
        assert job["requisition_id"] is None and job["posted_at"] is None  # neither in the saved feed
        assert job["workplace_type_raw"] == "Hybrid" and job["workplace_type"] == "hybrid"
        # "London" names no country (there is a London in Ontario): none is invented
        assert job["locations"] == [{"raw": "London", "city": "London", "region": "London", "country": None}]
    # the compensation text is the pay; the description's "Salary Levels"
    # amounts are not read beside it
    for job in (compute, security, chemistry):
        assert job["salary"] == [{"min": 70000, "max": 105000, "currency": "GBP", "period": "year",
                                  "raw": "£70,000 - £105,000 / year"}]
        assert job["employment_type_raw"] == "Permanent - Full Time" and job["employment_type"] == "full_time"
    assert safeguarded["salary"] == [{"min": 105000, "max": 105000, "currency": "GBP", "period": "year",
                                      "raw": "£105,000 / year"}]
    assert safeguarded["employment_type_raw"] == "Fixed Term - Full Time"
    assert safeguarded["employment_type"] == "temporary"
    # deadline_at, kept with its offset
    assert chemistry["deadline"] == "2026-07-05T23:59:59+01:00" and compute["deadline"] is None
    assert compute["description"].startswith("Salary Levels: £70,000, £90,000, £105,000")
    assert "<div" not in compute["description"] and "block" not in compute["description"]


# --------------------------------------------------------------------------- parser


@pytest.mark.parametrize(("body", "message"), [
    ('{"data": [{"id": "1"', "malformed JSON from Pinpoint"),
    ('{"errors": ["not found"]}', "Pinpoint response has no 'data' list"),
    ("[]", "Pinpoint response has no 'data' list"),
    ('{"data": [{"title": "no id"}]}', "Pinpoint posting without an id"),
    ('{"data": [[]]}', "Pinpoint posting without an id"),
])
def test_parser_rejects_what_it_cannot_read(body, message) -> None:
    with pytest.raises(BoardError, match=re.escape(message)):
        parse_postings(response(body), "aria")


def test_empty_board_is_not_an_error() -> None:
    assert parse_postings(response('{"data": []}'), "aria") == []


def test_a_posting_with_nothing_but_an_id_gives_an_empty_posting() -> None:
    p = parse_one({"id": 5})
    assert p.external_id == "5"
    assert (p.title, p.url, p.department, p.requisition_id, p.deadline, p.description) == (None,) * 6
    assert p.locations == [] and p.salary == [] and p.workplace_type is None and p.employment_type is None


def test_the_full_shape_is_read_from_its_structure() -> None:
    p = parse_one(full_shape(real_postings()[0]))
    assert p.salary == [{"min": 70000, "max": 105000, "currency": "GBP", "period": "year",
                         "raw": "£70,000 - £105,000 / year"}]
    assert p.requisition_id == "ARIA-0042"
    # the text fields win over the codes; the codes stand in without them
    assert p.employment_type == "full_time" and p.workplace_type == "hybrid"
    bare = {k: v for k, v in full_shape(real_postings()[0]).items()
            if k not in ("employment_type_text", "workplace_type_text")}
    coded = parse_one(dict(bare, employment_type="fixed_term_contract", workplace_type="remote"))
    assert coded.employment_type_raw == "fixed_term_contract" and coded.employment_type == "temporary"
    assert coded.workplace_type_raw == "remote" and coded.workplace_type == "remote"
    # a location named by its country
    assert p.locations == [{"raw": "United Kingdom", "city": "London", "region": "England", "country": "GB"}]
    # every section in order, each under its header
    assert p.description.index("Salary Levels") < p.description.index("What you'll do") \
        < p.description.index("Shape the programme") < p.description.index("What you'll bring") \
        < p.description.index("Benefits & perks") < p.description.index("Generous pension")


def test_hidden_pay_is_not_the_postings() -> None:
    hidden = dict(full_shape(real_postings()[0]), compensation_visible=False)
    p = parse_one(hidden)
    # neither the hidden range nor the description's amounts stand in for it
    assert all(s["raw"] != "£70,000 - £105,000 / year" for s in p.salary)


def test_a_bare_dollar_is_left_to_the_normalizer_which_knows_the_country() -> None:
    # CONSTRUCTED: pay text only, in dollars, for a posting in Canada
    item = dict(copy.deepcopy(real_postings()[3]), compensation="$90,000 - $110,000 / year", description=None,
                location={"city": "Toronto", "name": "Canada", "province": "Ontario"})
    p = parse_one(item)
    assert [(s["min"], s["max"], s["currency"], s["period"]) for s in p.salary] == [(90000, 110000, "CAD", "year")]


# --------------------------------------------------------------------------- spider


def make_spider(base_url: str | None = None) -> PinpointSpider:
    return PinpointSpider.from_crawler(get_crawler(PinpointSpider), source="aria", params={"company": "aria"},
                                       base_url=base_url)


def test_params_and_url() -> None:
    assert PinpointSpider.check_params({"company": "aria"}) is None
    assert PinpointSpider.check_params({}) == (
        "company: required for board 'pinpoint' (the careers site subdomain in <company>.pinpointhq.com)")
    assert "subdomain alone" in PinpointSpider.check_params({"company": "aria.pinpointhq.com"})
    assert board_url("https://aria.pinpointhq.com") == URL
    [first] = list(make_spider().start_requests())
    assert first.url == URL
    [custom] = list(make_spider("https://jobs.butlins.com").start_requests())
    assert custom.url == "https://jobs.butlins.com/postings.json"


def test_spider_is_complete_when_the_board_parses() -> None:
    spider = make_spider()
    out = list(spider.parse_board(response(FIXTURE.read_bytes())))
    assert [p.external_id for p in out if isinstance(p, Posting)] == [COMPUTE, SECURITY, CHEMISTRY, SAFEGUARDED]
    assert spider.complete
    assert spider.complete_by == "whole response, no total given; count checked against recent runs only"
    spider = make_spider()
    list(spider.parse_board(response('{"data": [')))
    assert not spider.complete and spider.fatal.startswith("malformed JSON from Pinpoint")


# --------------------------------------------------------------------------- end to end

PATH = "/postings.json"


def board_postings() -> dict[str, dict]:
    """The four real postings, then two copies of the first under new ids."""
    postings = {p["id"]: p for p in real_postings()}
    for k in (1, 2):
        extra = copy.deepcopy(real_postings()[0])
        extra["id"], extra["title"] = f"90000{k}", f"{extra['title']} #{k}"
        extra["url"] = f"{extra['url']}-{k}"
        postings[extra["id"]] = extra
    return postings


def board(postings: list[dict]) -> dict:
    return {PATH: Reply(json.dumps({"data": postings}))}


def configure(project, replay) -> None:
    project.write_config(f'[[sources]]\nname = "aria"\nboard = "pinpoint"\ncompany = "aria"\n'
                         f'base_url = "{replay.url}"\n')


@pytest.mark.slow
def test_pinpoint_rounds(project, replay, sessions):
    """The real postings without a deadline (the one with a past deadline is
    the next test's), and copies."""
    postings = board_postings()
    a, b, _chemistry, d, x, e = list(postings)
    configure(project, replay)

    # round 1: four postings, all new
    replay.set_routes(board([postings[a], postings[b], postings[d], postings[x]]))
    r = crawl(project, sessions, "aria")
    assert r["exit"] == 0 and r["run"]["status"] == "complete", r
    assert events_of(sessions, r["run"]["id"]) == sorted(("new", k) for k in (a, b, d, x))
    assert [path for _, path, _ in replay.requests if path != "/robots.txt"] == [PATH]
    stored = {p["external_id"]: p for p in project.json("postings", "--source", "aria")}
    assert stored[d]["salary"][0]["max"] == 105000 and stored[d]["employment_type"] == "temporary"

    # round 2: a retitled, b removed, e added
    retitled = dict(postings[a], title="Programme Director - Next-Generation Compute Architectures")
    replay.set_routes(board([retitled, postings[d], postings[x], postings[e]]))
    r = crawl(project, sessions, "aria")
    assert r["run"]["status"] == "complete", r
    assert events_of(sessions, r["run"]["id"]) == sorted([("changed", a), ("new", e)])
    assert [ch["field"] for ch in event(sessions, "changed", a).changes] == ["title"]

    # round 3: a truncated answer: the run fails, nothing expires
    replay.set_routes({PATH: Reply(json.dumps({"data": [retitled, postings[d]]})[:1200])})
    r = crawl(project, sessions, "aria")
    assert r["exit"] == 1 and r["run"]["status"] == "failed", r
    assert "malformed JSON from Pinpoint" in r["run"]["reason"], r
    assert events_of(sessions, r["run"]["id"]) == []

    # round 4: b missing from a second complete run: expired
    replay.set_routes(board([retitled, postings[d], postings[x], postings[e]]))
    r = crawl(project, sessions, "aria")
    assert r["run"]["status"] == "complete", r
    assert events_of(sessions, r["run"]["id"]) == [("expired", b)]


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_pinpoint_past_deadline_server_errors_and_unknown_sites(project, replay, sessions):
    """SQLite only: the store's side is the same on both databases."""
    postings = list(board_postings().values())[:4]
    configure(project, replay)

    # the real chemistry posting closed on 2026-07-05 (deadline_at): seen,
    # and expired on that proof in the same run
    replay.set_routes(board(postings))
    r = crawl(project, sessions, "aria")
    assert r["run"]["status"] == "complete", r
    assert events_of(sessions, r["run"]["id"]) == sorted(
        [("new", COMPUTE), ("new", SECURITY), ("new", CHEMISTRY), ("new", SAFEGUARDED), ("expired", CHEMISTRY)])
    assert "deadline passed" in event(sessions, "expired", CHEMISTRY).reason

    replay.set_routes({PATH: Reply("unavailable", status=503, content_type="text/plain")})
    r = crawl(project, sessions, "aria")
    assert r["run"]["status"] == "failed" and "HTTP 503" in r["run"]["reason"], r
    assert events_of(sessions, r["run"]["id"]) == []

    replay.set_routes({})
    r = crawl(project, sessions, "aria")
    assert r["run"]["status"] == "failed", r
    assert r["run"]["reason"].startswith("board not found: Pinpoint has no careers site 'aria' (HTTP 404"), r
