"""Ashby: the golden file from the real saved response, parser and spider
unit tests, and crawls of a replay board over rounds.

The replay board is built from the two real Linear jobs in
tests/data/fixtures/ashby/ (plus copies of them under new ids), served at
Ashby's real path ``/posting-api/job-board/{company}``. The real response
has an empty compensation block; the compensation tiers used below are
CONSTRUCTED from Ashby's documented shape (``compensationTiers[].components``
with ``compensationType``, ``interval``, ``currencyCode``, ``minValue``,
``maxValue``), not copied from a real response.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy.http import TextResponse
from scrapy.utils.test import get_crawler
from sqlalchemy import func, select

from crawler.errors import BoardError
from crawler.items import Posting
from crawler.normalize import normalize_posting
from crawler.replay import Reply
from db.models import Posting as StoredPosting
from spiders.ashby import AshbySpider
from spiders.parsers.ashby import board_url, parse_board

from .replay_helpers import check_golden, crawl, event, events_of

DATA = Path(__file__).resolve().parent.parent / "data"
FIXTURE = DATA / "fixtures" / "ashby" / "hunt_linear_job_board.json"
GOLDEN = DATA / "golden" / "ashby" / "hunt_linear_job_board.json"
FETCHED_AT = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
URL = "https://api.ashbyhq.com/posting-api/job-board/linear?includeCompensation=true"
EUROPE, NORTH_AMERICA = "d3bc1ced-3ce4-4086-a050-555055dbb1ff", "cd5ae036-0223-427a-b038-ba16ef9dcb32"


def response(body: bytes | str, url: str = URL) -> TextResponse:
    return TextResponse(url=url, body=body.encode() if isinstance(body, str) else body, encoding="utf-8")


def real_jobs() -> list[dict]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))["jobs"]


def compensation(low: int = 150000, high: int = 200000, interval: str = "1 YEAR") -> dict:
    """CONSTRUCTED from Ashby's documented shape, not a real response: one
    tier with a salary component and an equity component."""
    salary = {"id": "c-salary", "summary": f"${low // 1000}K – ${high // 1000}K", "compensationType": "Salary",
              "interval": interval, "currencyCode": "USD", "minValue": low, "maxValue": high}
    equity = {"id": "c-equity", "summary": "0.01% – 0.05%", "compensationType": "EquityPercentage",
              "interval": "NONE", "currencyCode": None, "minValue": 0.01, "maxValue": 0.05}
    return {"compensationTierSummary": f"{salary['summary']} • {equity['summary']}",
            "scrapeableCompensationSalarySummary": salary["summary"],
            "compensationTiers": [{"id": "t1", "title": None, "tierSummary": salary["summary"],
                                   "components": [salary, equity]}],
            "summaryComponents": [salary, equity]}


# --------------------------------------------------------------------------- golden


def canonical_postings() -> list:
    return parse_board(response(FIXTURE.read_bytes()), "linear")


def test_golden() -> None:
    check_golden(GOLDEN, canonical_postings(), FETCHED_AT)


def test_golden_values_checked_by_hand() -> None:
    europe, america = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert [europe["external_id"], america["external_id"]] == [EUROPE, NORTH_AMERICA]
    for job in (europe, america):
        assert job["title"] == "Senior / Staff Fullstack Engineer"
        assert job["department"] == "Product"
        assert job["employment_type_raw"] == "FullTime" and job["employment_type"] == "full_time"
        assert job["workplace_type_raw"] == "Remote" and job["workplace_type"] == "remote"
        assert job["url"] == f"https://jobs.ashbyhq.com/linear/{job['external_id']}"
        assert job["apply_url"] == f"https://jobs.ashbyhq.com/linear/{job['external_id']}/application"
        # the compensation block is empty, and the (cut) description states no pay
        assert job["salary"] == [] and job["salary_raw"] == []
        assert job["description"].startswith("At Linear, we're building the product development system")
        assert "\n\nFounded in 2019" in job["description"] and "<p" not in job["description"]
        assert job["company"] is None  # the posting API does not name the employer
    # "Europe" is an area; its postal address says "European Union", no country
    assert europe["locations"] == [{"raw": "Europe", "city": None, "region": "Europe", "country": None}]
    # the board's structured postal address gives the country of "North America"
    assert america["locations"] == [{"raw": "North America", "city": None, "region": "North America",
                                     "country": "US"}]
    assert europe["posted_at"] == "2021-04-27T20:13:45.158000+00:00"
    assert america["posted_at_raw"] == "2021-08-18T20:48:26.891+00:00"


# --------------------------------------------------------------------------- parser


@pytest.mark.parametrize(("body", "message"), [
    ('{"jobs": [{"id": "a"', "malformed JSON from Ashby"),
    ('{"apiVersion": "1"}', "Ashby job board response has no 'jobs' list"),
    ("[]", "Ashby job board response has no 'jobs' list"),
    ('{"jobs": [{"title": "no id"}]}', "Ashby job without an id"),
])
def test_parser_rejects_what_it_cannot_read(body, message) -> None:
    with pytest.raises(BoardError, match=re.escape(message)):
        parse_board(response(body), "linear")


def test_empty_board_is_not_an_error() -> None:
    assert parse_board(response('{"jobs": [], "apiVersion": "1"}'), "linear") == []


def parse_one(job: dict) -> Posting:
    [p] = parse_board(response(json.dumps({"jobs": [job]})), "linear")
    return normalize_posting(p, fetched_at=FETCHED_AT)


def test_salary_components_become_salary_entries_and_equity_is_skipped() -> None:
    p = parse_one(dict(real_jobs()[1], compensation=compensation()))
    assert p.salary == [{"min": 150000, "max": 200000, "currency": "USD", "period": "year", "raw": "$150K – $200K"}]
    assert p.salary_raw == ["$150K – $200K"]


def test_salary_intervals() -> None:
    hourly = parse_one(dict(real_jobs()[1], compensation=compensation(40, 55, "1 HOUR")))
    assert [(s["min"], s["max"], s["period"]) for s in hourly.salary] == [(40, 55, "hour")]
    monthly = parse_one(dict(real_jobs()[1], compensation=compensation(5000, 6000, "1 MONTH")))
    assert monthly.salary[0]["period"] == "month"
    # a pay period of six months is none of ours: kept unknown, not guessed
    odd = parse_one(dict(real_jobs()[1], compensation=compensation(5000, 6000, "6 MONTH")))
    assert odd.salary[0]["period"] is None and odd.salary[0]["min"] == 5000


def test_summary_components_are_used_when_there_are_no_tiers() -> None:
    comp = compensation()
    comp["compensationTiers"] = []
    p = parse_one(dict(real_jobs()[1], compensation=comp))
    assert [(s["min"], s["max"], s["currency"]) for s in p.salary] == [(150000, 200000, "USD")]


def test_empty_compensation_block_gives_no_salary() -> None:
    p = parse_one(real_jobs()[0])
    assert p.salary == [] and p.salary_raw == []


def test_unlisted_jobs_are_skipped() -> None:
    hidden = dict(real_jobs()[0], id="hidden", isListed=False)
    body = json.dumps({"jobs": [hidden, real_jobs()[1]]})
    assert [p.external_id for p in parse_board(response(body), "linear")] == [NORTH_AMERICA]


def test_secondary_locations_postal_address_and_is_remote() -> None:
    job = dict(real_jobs()[0], location="San Francisco", workplaceType=None, isRemote=False,
               address={"postalAddress": {"addressLocality": "San Francisco", "addressRegion": "California",
                                          "addressCountry": "United States"}},
               secondaryLocations=[{"location": "Toronto", "address": {"postalAddress": {
                   "addressLocality": "Toronto", "addressRegion": "Ontario", "addressCountry": "Canada"}}},
                   "London, UK"])
    p = parse_one(job)
    assert p.locations == [
        {"raw": "San Francisco", "city": "San Francisco", "region": "California", "country": "US"},
        {"raw": "Toronto", "city": "Toronto", "region": "Ontario", "country": "CA"},
        {"raw": "London, UK", "city": "London", "region": None, "country": "GB"},
    ]
    assert p.workplace_type is None  # neither field states one
    remote = parse_one(dict(real_jobs()[0], workplaceType=None, isRemote=True))
    assert remote.workplace_type == "remote"
    hybrid = parse_one(dict(real_jobs()[0], workplaceType="Hybrid"))
    assert hybrid.workplace_type == "hybrid"


# --------------------------------------------------------------------------- spider


def make_spider() -> AshbySpider:
    return AshbySpider.from_crawler(get_crawler(AshbySpider), source="linear", params={"company": "linear"})


def test_params_and_url() -> None:
    assert AshbySpider.check_params({"company": "linear"}) is None
    assert AshbySpider.check_params({}) == (
        "company: required for board 'ashby' (the job board name in jobs.ashbyhq.com/<company>)")
    assert "job board name alone" in AshbySpider.check_params({"company": "jobs.ashbyhq.com/linear"})
    assert board_url("https://api.ashbyhq.com", "linear") == URL
    [first] = list(make_spider().start_requests())
    assert first.url == URL


def test_spider_is_complete_when_the_board_parses() -> None:
    spider = make_spider()
    out = list(spider.parse_board(response(FIXTURE.read_bytes())))
    assert [p.external_id for p in out if isinstance(p, Posting)] == [EUROPE, NORTH_AMERICA]
    assert spider.complete
    spider = make_spider()
    list(spider.parse_board(response('{"jobs": [')))
    assert not spider.complete and spider.fatal.startswith("malformed JSON from Ashby")


# --------------------------------------------------------------------------- end to end

PATH = "/posting-api/job-board/linear"


def board_jobs() -> dict[str, dict]:
    """The two real jobs, then copies under new ids: one with (constructed)
    compensation, one not listed on the public board."""
    real = real_jobs()
    jobs = {j["id"]: j for j in real}
    for k in range(4):
        extra = copy.deepcopy(real[k % 2])
        extra["id"] = f"00000000-0000-4000-8000-{k:012d}"
        extra["title"] = f"{extra['title']} #{k}"
        extra["jobUrl"] = f"https://jobs.ashbyhq.com/linear/{extra['id']}"
        extra["applyUrl"] = extra["jobUrl"] + "/application"
        jobs[extra["id"]] = extra
    ids = list(jobs)
    jobs[ids[3]]["compensation"] = compensation()
    jobs[ids[4]]["isListed"] = False
    return jobs


def board(jobs: list[dict]) -> dict:
    return {PATH: Reply(json.dumps({"jobs": jobs, "apiVersion": "1"}))}


def configure(project, replay) -> None:
    project.write_config(f'[[sources]]\nname = "linear"\nboard = "ashby"\ncompany = "linear"\n'
                         f'base_url = "{replay.url}"\n')


@pytest.mark.slow
def test_ashby_rounds(project, replay, sessions):
    jobs = board_jobs()
    a, b, c, paid, hidden, e = list(jobs)
    configure(project, replay)

    # round 1: five listed jobs (one with pay), one unlisted
    replay.set_routes(board([jobs[a], jobs[b], jobs[c], jobs[paid], jobs[hidden]]))
    r = crawl(project, sessions, "linear")
    assert r["exit"] == 0 and r["run"]["status"] == "complete", r
    assert events_of(sessions, r["run"]["id"]) == sorted([("new", a), ("new", b), ("new", c), ("new", paid)])
    assert [path for _, path, _ in replay.requests if path.startswith(PATH)] == [
        f"{PATH}?includeCompensation=true"]
    stored = {p["external_id"]: p for p in project.json("postings", "--source", "linear")}
    assert hidden not in stored
    assert stored[paid]["salary"] == [{"min": 150000, "max": 200000, "currency": "USD", "period": "year",
                                       "raw": "$150K – $200K"}]
    assert stored[b]["locations"][0]["country"] == "US"

    # round 2: a retitled, the pay of `paid` raised, c removed, e added
    retitled = dict(jobs[a], title="Staff Fullstack Engineer")
    raised = dict(jobs[paid], compensation=compensation(150000, 210000))
    replay.set_routes(board([retitled, jobs[b], raised, jobs[hidden], jobs[e]]))
    r = crawl(project, sessions, "linear")
    assert r["run"]["status"] == "complete", r
    assert events_of(sessions, r["run"]["id"]) == sorted([("changed", a), ("changed", paid), ("new", e)])
    assert [ch["field"] for ch in event(sessions, "changed", paid).changes] == ["salary"]

    # round 3: a 429 storm (Retry-After: 1): the board could not be read, nothing expires
    before = len(replay.requests)
    replay.set_routes({PATH: Reply("slow down", status=429, content_type="text/plain",
                                   headers={"Retry-After": "1"})})
    r = crawl(project, sessions, "linear")
    assert r["exit"] == 1 and r["run"]["status"] == "failed" and "HTTP 429" in r["run"]["reason"], r
    assert events_of(sessions, r["run"]["id"]) == []
    assert len([p for _, p, _ in replay.requests[before:] if p.startswith(PATH)]) == 3

    # round 4: c missing from a second complete run: expired
    replay.set_routes(board([retitled, jobs[b], raised, jobs[hidden], jobs[e]]))
    r = crawl(project, sessions, "linear")
    assert events_of(sessions, r["run"]["id"]) == [("expired", c)]


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_ashby_walls_empty_answers_and_unknown_boards(project, replay, sessions):
    """Run on SQLite only: the store's side of these runs is the same on
    both databases (test_ashby_rounds covers PostgreSQL)."""
    jobs = list(board_jobs().values())[:4]
    configure(project, replay)
    replay.set_routes(board(jobs))
    assert crawl(project, sessions, "linear")["run"]["status"] == "complete"

    # a WAF page (403) instead of the board: failed, "blocked"
    replay.set_routes({PATH: Reply("<html><head><title>Attention Required! | Cloudflare</title></head></html>",
                                   status=403, content_type="text/html")})
    r = crawl(project, sessions, "linear")
    assert r["run"]["status"] == "failed", r
    assert r["run"]["reason"].startswith("blocked: 'Attention Required! | Cloudflare' page")

    # the body cut mid-way (a truncated listing): failed, nothing expires
    replay.set_routes({PATH: Reply(json.dumps({"jobs": jobs})[:3000])})
    r = crawl(project, sessions, "linear")
    assert r["run"]["status"] == "failed" and "malformed JSON from Ashby" in r["run"]["reason"], r
    assert events_of(sessions, r["run"]["id"]) == []

    # {"jobs": []} from a board that had postings: suspicious, nothing expires
    replay.set_routes(board([]))
    r = crawl(project, sessions, "linear")
    assert r["run"]["status"] == "suspicious" and "saw 0 postings against a usual 4" in r["run"]["reason"], r
    assert events_of(sessions, r["run"]["id"]) == []

    # an unknown board: failed, "board not found"
    replay.set_routes({})
    r = crawl(project, sessions, "linear")
    assert r["run"]["status"] == "failed", r
    assert r["run"]["reason"].startswith("board not found: Ashby has no job board 'linear' (HTTP 404")
    with sessions() as s:
        assert s.scalars(select(func.count()).select_from(StoredPosting).where(StoredPosting.status == "open")).one() == 4
