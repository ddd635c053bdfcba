"""Workable: the golden file from the real saved widget response, parser and
spider unit tests, and crawls of a replay board over rounds.

The board is the real answer of Workable's careers widget for the Vasion
account in tests/data/fixtures/workable/ (two jobs, descriptions cut
upstream), served at the widget's real path
``/api/v1/widget/accounts/{account}``; the replay board adds copies of those
jobs under new shortcodes. Values the real jobs do not carry (a job code,
several or hidden locations, a job without a ``locations`` list) are set on
copies of the real jobs below and are CONSTRUCTED after the widget's
documented job shape, not copied from a real response.
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
from spiders.parsers.workable import board_url, parse_widget
from spiders.workable import WorkableSpider

from ..conftest import DATA
from .replay_helpers import check_golden, crawl, event, events_of

FIXTURE = DATA / "fixtures" / "workable" / "job-agent_vasion_widget_details.json"
GOLDEN = DATA / "golden" / "workable" / "job-agent_vasion_widget_details.json"
FETCHED_AT = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
URL = "https://apply.workable.com/api/v1/widget/accounts/vasion?details=true"
APAC, UK = "74172297A5", "15F16B8D99"


def response(body: bytes | str, url: str = URL) -> TextResponse:
    return TextResponse(url=url, body=body.encode() if isinstance(body, str) else body, encoding="utf-8")


def real_jobs() -> list[dict]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))["jobs"]


def parse_one(job: dict, name: str | None = "Vasion") -> Posting:
    [p] = parse_widget(response(json.dumps({"name": name, "jobs": [job]})), "vasion")
    return normalize_posting(p, fetched_at=FETCHED_AT)


# --------------------------------------------------------------------------- golden


def test_golden() -> None:
    check_golden(GOLDEN, parse_widget(response(FIXTURE.read_bytes()), "vasion"), FETCHED_AT)


def test_golden_values_checked_by_hand() -> None:
    apac, uk = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert [apac["external_id"], uk["external_id"]] == [APAC, UK]
    assert apac["title"] == "Account Executive (Partner First) - APAC"
    assert uk["title"] == "Account Executive - UK&I / Northern Europe"
    for job in (apac, uk):
        assert job["company"] == "Vasion"  # the account's name
        assert job["department"] == "Sales - International"
        assert job["employment_type_raw"] == "Full-time" and job["employment_type"] == "full_time"
        assert job["url"] == f"https://apply.workable.com/j/{job['external_id']}"
        assert job["apply_url"] == f"https://apply.workable.com/j/{job['external_id']}/apply"
        assert job["requisition_id"] is None  # "code": "" on both
        assert job["salary"] == [] and job["deadline"] is None  # the widget has neither; the cut text states none
        assert job["description"].startswith("Vasion is a cloud-native SaaS platform") and "<p" not in job["description"]
    # telecommuting true; the place is a region without a city
    assert apac["workplace_type_raw"] == "Remote" and apac["workplace_type"] == "remote"
    assert apac["locations"] == [{"raw": "New South Wales, Australia", "city": None, "region": "New South Wales",
                                  "country": "AU"}]
    # telecommuting false states no arrangement
    assert uk["workplace_type_raw"] is None and uk["workplace_type"] is None
    assert uk["locations"] == [{"raw": "London, England, United Kingdom", "city": "London", "region": "England",
                                "country": "GB"}]
    assert (apac["posted_at"], uk["posted_at"]) == ("2026-08-05", "2026-08-10")  # published_on, not created_at


# --------------------------------------------------------------------------- parser


@pytest.mark.parametrize(("body", "message"), [
    ('{"name": "Vasion", "jobs": [', "malformed JSON from Workable"),
    ("Not Found", "malformed JSON from Workable"),
    ('{"name": "Vasion"}', "Workable widget response has no 'jobs' list"),
    ("[]", "Workable widget response has no 'jobs' list"),
    ('{"jobs": [{"title": "no shortcode"}]}', "Workable job without a shortcode"),
    ('{"jobs": [null]}', "Workable job without a shortcode"),
])
def test_parser_rejects_what_it_cannot_read(body, message) -> None:
    with pytest.raises(BoardError, match=re.escape(message)):
        parse_widget(response(body), "vasion")


def test_empty_board_is_not_an_error() -> None:
    assert parse_widget(response('{"name": "Vasion", "jobs": []}'), "vasion") == []


def test_a_job_with_nothing_but_a_shortcode_gives_an_empty_posting() -> None:
    p = parse_one({"shortcode": "ABCDEF1234"}, name=None)
    assert p.external_id == "ABCDEF1234"
    assert (p.title, p.url, p.company, p.department, p.requisition_id, p.posted_at) == (None,) * 6
    assert p.locations == [] and p.workplace_type is None and p.employment_type is None


def test_job_code_is_the_requisition_id() -> None:
    # CONSTRUCTED: a copy of a real job with a job code
    assert parse_one(dict(real_jobs()[1], code="IC3-IC4")).requisition_id == "IC3-IC4"


def test_several_and_hidden_locations() -> None:
    # CONSTRUCTED after the widget's locations[] shape, on a copy of a real job
    places = [
        {"country": "United Kingdom", "countryCode": "GB", "city": "London", "region": "England", "hidden": False},
        {"country": "Germany", "countryCode": "DE", "city": "Berlin", "region": "Berlin", "hidden": False},
        {"country": "France", "countryCode": "FR", "city": "Paris", "region": "Île-de-France", "hidden": True},
    ]
    p = parse_one(dict(real_jobs()[1], locations=places))
    assert [(loc["city"], loc["country"]) for loc in p.locations] == [("London", "GB"), ("Berlin", "DE")]
    # without a locations list, the flat fields are the place
    flat = {k: v for k, v in real_jobs()[1].items() if k != "locations"}
    assert parse_one(flat).locations == [{"raw": "London, England, United Kingdom", "city": "London",
                                          "region": "England", "country": "GB"}]


def test_posted_date_falls_back_to_created_at() -> None:
    job = {k: v for k, v in real_jobs()[0].items() if k != "published_on"}
    assert parse_one(job).posted_at == "2026-06-24"


# --------------------------------------------------------------------------- spider


def make_spider() -> WorkableSpider:
    return WorkableSpider.from_crawler(get_crawler(WorkableSpider), source="vasion", params={"account": "vasion"})


def test_params_and_url() -> None:
    assert WorkableSpider.check_params({"account": "vasion"}) is None
    assert WorkableSpider.check_params({}) == (
        "account: required for board 'workable' (the account name in apply.workable.com/<account>)")
    assert "account name alone" in WorkableSpider.check_params({"account": "apply.workable.com/vasion"})
    assert board_url("https://apply.workable.com", "vasion") == URL
    [first] = list(make_spider().start_requests())
    assert first.url == URL


def test_spider_is_complete_when_the_board_parses() -> None:
    spider = make_spider()
    out = list(spider.parse_board(response(FIXTURE.read_bytes())))
    assert [p.external_id for p in out if isinstance(p, Posting)] == [APAC, UK]
    assert spider.complete
    assert spider.complete_by == "whole response, no total given; count checked against recent runs only"
    spider = make_spider()
    list(spider.parse_board(response('{"jobs": [')))
    assert not spider.complete and spider.fatal.startswith("malformed JSON from Workable")


# --------------------------------------------------------------------------- end to end

PATH = "/api/v1/widget/accounts/vasion"


def board_jobs() -> dict[str, dict]:
    """The two real jobs, then copies of them under new shortcodes."""
    jobs = {j["shortcode"]: j for j in real_jobs()}
    for k in range(3):
        extra = copy.deepcopy(real_jobs()[k % 2])
        extra["shortcode"] = f"00000000{k:02d}"
        extra["title"] = f"{extra['title']} #{k}"
        for key in ("url", "shortlink"):
            extra[key] = f"https://apply.workable.com/j/{extra['shortcode']}"
        extra["application_url"] = extra["url"] + "/apply"
        jobs[extra["shortcode"]] = extra
    return jobs


def board(jobs: list[dict]) -> dict:
    return {PATH: Reply(json.dumps({"name": "Vasion", "jobs": jobs}))}


def configure(project, replay) -> None:
    project.write_config(f'[[sources]]\nname = "vasion"\nboard = "workable"\naccount = "vasion"\n'
                         f'base_url = "{replay.url}"\n')


@pytest.mark.slow
def test_workable_rounds(project, replay, sessions):
    jobs = board_jobs()
    a, b, c, d, e = list(jobs)
    configure(project, replay)

    # round 1: four jobs, all new
    replay.set_routes(board([jobs[a], jobs[b], jobs[c], jobs[d]]))
    r = crawl(project, sessions, "vasion")
    assert r["exit"] == 0 and r["run"]["status"] == "complete", r
    assert events_of(sessions, r["run"]["id"]) == sorted(("new", x) for x in (a, b, c, d))
    assert [path for _, path, _ in replay.requests if path.startswith("/api/")] == [f"{PATH}?details=true"]
    stored = {p["external_id"]: p for p in project.json("postings", "--source", "vasion")}
    assert stored[a]["locations"][0]["country"] == "AU" and stored[a]["workplace_type"] == "remote"

    # round 2: b retitled, c removed, e added
    retitled = dict(jobs[b], title="Senior Account Executive - UK&I / Northern Europe")
    replay.set_routes(board([jobs[a], retitled, jobs[d], jobs[e]]))
    r = crawl(project, sessions, "vasion")
    assert r["run"]["status"] == "complete", r
    assert events_of(sessions, r["run"]["id"]) == sorted([("changed", b), ("new", e)])
    assert [ch["field"] for ch in event(sessions, "changed", b).changes] == ["title"]

    # round 3: a truncated answer: the run fails, nothing expires
    replay.set_routes({PATH: Reply(json.dumps({"name": "Vasion", "jobs": [jobs[a], jobs[d]]})[:1500])})
    r = crawl(project, sessions, "vasion")
    assert r["exit"] == 1 and r["run"]["status"] == "failed", r
    assert "malformed JSON from Workable" in r["run"]["reason"], r
    assert events_of(sessions, r["run"]["id"]) == []

    # round 4: c missing from a second complete run: expired
    replay.set_routes(board([jobs[a], retitled, jobs[d], jobs[e]]))
    r = crawl(project, sessions, "vasion")
    assert r["run"]["status"] == "complete", r
    assert events_of(sessions, r["run"]["id"]) == [("expired", c)]


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_workable_server_errors_and_unknown_accounts(project, replay, sessions):
    """SQLite only: the store's side is the same on both databases."""
    jobs = list(board_jobs().values())[:4]
    configure(project, replay)
    replay.set_routes(board(jobs))
    assert crawl(project, sessions, "vasion")["run"]["status"] == "complete"

    replay.set_routes({PATH: Reply("bad gateway", status=502, content_type="text/plain")})
    r = crawl(project, sessions, "vasion")
    assert r["run"]["status"] == "failed" and "HTTP 502" in r["run"]["reason"], r
    assert events_of(sessions, r["run"]["id"]) == []

    # an unknown account: Workable answers 404 "Not Found" (text/plain)
    replay.set_routes({PATH: Reply("Not Found", status=404, content_type="text/plain")})
    r = crawl(project, sessions, "vasion")
    assert r["run"]["status"] == "failed", r
    assert r["run"]["reason"].startswith("board not found: Workable has no account 'vasion' (HTTP 404"), r
