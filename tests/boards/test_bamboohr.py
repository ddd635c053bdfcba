"""BambooHR: golden files from the real saved job list and details, parser
and spider unit tests, and crawls of a replay board over rounds.

The real responses in tests/data/fixtures/bamboohr/ are giottoai's job list
(three postings) and the three details. The replay board adds copies of
them under new ids and titles; the compensation text, the closed status and
the other field variations below are CONSTRUCTED from the real shape (the
giottoai postings state no pay), not copied from a response.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.http import TextResponse
from scrapy.utils.test import get_crawler
from sqlalchemy import func, select

from crawler.errors import BoardError
from crawler.items import Gone, Posting, RawPage, Seen
from crawler.normalize import normalize_posting
from crawler.replay import Reply
from db.models import Posting as StoredPosting
from spiders.bamboohr import BambooHRSpider
from spiders.parsers.bamboohr import (
    detail_url,
    fingerprint,
    list_url,
    parse_detail,
    parse_list,
    site_url,
)

from .replay_helpers import check_golden, crawl, event, events_of, run_errors

DATA = Path(__file__).resolve().parent.parent / "data"
FIXTURES = DATA / "fixtures" / "bamboohr"
LIST = FIXTURES / "job-crawler-poc_giottoai_careers_list.json"
GOLDEN = DATA / "golden" / "bamboohr" / "job-crawler-poc_giottoai.json"
NOT_FOUND = (FIXTURES / "job-crawler-poc_detail_not_found.json").read_text(encoding="utf-8")
FETCHED_AT = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
SITE = "https://giottoai.bamboohr.com"
IDS = ["36", "39", "42"]


def response(body: bytes | str | dict, url: str = f"{SITE}/careers/list", status: int = 200,
             headers: dict | None = None) -> TextResponse:
    if isinstance(body, dict):
        body = json.dumps(body)
    return TextResponse(url=url, body=body.encode() if isinstance(body, str) else body, encoding="utf-8",
                        status=status, headers=headers)


def real_list() -> dict:
    return json.loads(LIST.read_text(encoding="utf-8"))


def real_detail(item_id: str) -> dict:
    return json.loads((FIXTURES / f"job-crawler-poc_giottoai_detail_{item_id}.json").read_text(encoding="utf-8"))


def detail_response(data: dict | str, item_id: str = "36") -> TextResponse:
    return response(data, url=f"{SITE}/careers/{item_id}/detail")


def parse_real(item_id: str, opening: dict | None = None, item: dict | None = None) -> Posting | Gone:
    item = item or next(i for i in real_list()["result"] if i["id"] == item_id)
    detail = real_detail(item_id)
    detail["result"]["jobOpening"].update(opening or {})
    return parse_detail(detail_response(detail, item_id), "giottoai", "giottoai", item)


# --------------------------------------------------------------------------- golden


def test_golden() -> None:
    check_golden(GOLDEN, [parse_real(i) for i in IDS], FETCHED_AT)


def test_golden_values_checked_by_hand() -> None:
    scientist, engineer, senior = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert [j["external_id"] for j in (scientist, engineer, senior)] == IDS
    assert scientist["title"] == "AI Research Scientist" and scientist["department"] == "AI"
    # the trailing space of "Machine Learning Engineer " and the escaped "\/" are the board's
    assert engineer["title"] == "Machine Learning Engineer"
    assert senior["title"] == ("Senior Research Engineer / Research Scientist - Post-Training, "
                               "Reinforcement Learning & Training Systems")
    assert scientist["url"] == "https://giottoai.bamboohr.com/careers/36"  # jobOpeningShareUrl
    # location (city, state, and the detail's addressCountry) for the hybrid posting,
    # atsLocation (country, state) for the remote one; the country as ISO 3166
    lausanne = {"raw": "Lausanne, Vaud, Switzerland", "city": "Lausanne", "region": "Vaud", "country": "CH"}
    assert scientist["locations"] == [lausanne] and engineer["locations"] == [lausanne]
    # locationType 2 is hybrid, 1 remote
    assert (scientist["workplace_type_raw"], scientist["workplace_type"]) == ("Hybrid", "hybrid")
    assert (engineer["workplace_type_raw"], engineer["workplace_type"]) == ("Remote", "remote")
    # employmentStatusLabel
    assert (scientist["employment_type_raw"], scientist["employment_type"]) == ("Full-Time", "full_time")
    assert (engineer["employment_type_raw"], engineer["employment_type"]) == ("Contractor", "contract")
    # datePosted is a date
    assert [j["posted_at"] for j in (scientist, engineer, senior)] == ["2026-07-21", "2026-07-02", "2026-07-29"]
    # compensation null: no pay; no deadline, requisition id, company or apply link in the API
    for job in (scientist, engineer, senior):
        assert job["salary"] == [] and job["salary_raw"] == [] and job["deadline"] is None
        assert job["company"] is None and job["requisition_id"] is None and job["apply_url"] is None
    assert scientist["description"] == (
        "Giotto.ai is a Switzerland-based AI company building intelligence systems for Switzerland and Europe."
        "\n\nExpected core stack:\n\nMLflow or Weights & Biases for experiment tracking\nDocker")
    # the non-breaking spaces of the editor are plain spaces, the trailing one gone
    assert engineer["description"] == ("Giotto.ai is a Switzerland-based AI company building intelligence "
                                       "systems for Switzerland and Europe.")


def test_normalizing_twice_changes_nothing() -> None:
    postings = [parse_real(i) for i in IDS]
    once = [normalize_posting(p, fetched_at=FETCHED_AT).to_dict() for p in postings]
    twice = [normalize_posting(p, fetched_at=FETCHED_AT).to_dict() for p in postings]
    assert once == twice


# --------------------------------------------------------------------------- parser


@pytest.mark.parametrize(("body", "message"), [
    ('{"meta":{"totalCount":2},"result":[{"id":"1"', "malformed JSON from BambooHR"),
    ('{"meta":{"totalCount":0}}', "BambooHR job list has no 'result' list"),
    ("[]", "BambooHR job list has no 'result' list"),
    ("<!DOCTYPE html><html><body>BambooHR</body></html>", "malformed JSON from BambooHR"),
    ('{"result":[{"id":"","jobOpeningName":"No id"}]}', "BambooHR job without an id"),
    ('{"result":["36"]}', "BambooHR job without an id"),
])
def test_list_parser_rejects_what_it_cannot_read(body, message) -> None:
    with pytest.raises(BoardError, match=re.escape(message)):
        parse_list(response(body))


def test_list_parser() -> None:
    listing = parse_list(response(LIST.read_bytes()))
    assert listing.total == 3 and [i["id"] for i in listing.items] == IDS
    # the literal body of a board with no open roles (the source repo's capture)
    assert parse_list(response('{"meta":{"totalCount":0},"result":[]}')).items == []
    assert parse_list(response('{"result":[{"id":7}]}')).total is None  # no meta: no total


@pytest.mark.parametrize(("body", "message"), [
    ('{"meta":{},"result":{"jobOpening":{', "malformed JSON from BambooHR"),
    (NOT_FOUND, "BambooHR job detail has no 'result.jobOpening' object"),
    ('{"result":{"jobOpening":null}}', "BambooHR job detail has no 'result.jobOpening' object"),
])
def test_detail_parser_rejects_what_it_cannot_read(body, message) -> None:
    with pytest.raises(BoardError, match=re.escape(message)):
        parse_detail(detail_response(body), "giottoai", "giottoai", {"id": "36"})


def test_detail_with_missing_fields_keeps_what_the_list_said() -> None:
    item = real_list()["result"][0]
    p = parse_detail(detail_response({"result": {"jobOpening": {}}}), "g", "giottoai", item)
    p = normalize_posting(p, fetched_at=FETCHED_AT)
    assert (p.external_id, p.title, p.department) == ("36", "AI Research Scientist", "AI")
    assert p.url == "https://giottoai.bamboohr.com/careers/36"  # built from the company and the id
    assert p.locations == [{"raw": "Lausanne, Vaud", "city": "Lausanne", "region": "Vaud", "country": None}]
    assert p.description is None and p.posted_at is None and p.salary == []


def test_compensation_text_is_the_pay_field() -> None:
    # CONSTRUCTED: giottoai states no pay; BambooHR's compensation is the employer's text
    p = normalize_posting(parse_real("36", {"compensation": "CHF 120,000–140,000 per year"}),
                          fetched_at=FETCHED_AT)
    assert p.salary == [{"min": 120000, "max": 140000, "currency": "CHF", "period": "year",
                         "raw": "CHF 120,000–140,000 per year"}]
    assert p.salary_raw == ["CHF 120,000–140,000 per year"]


def test_a_closed_posting_is_gone() -> None:
    gone = parse_real("36", {"jobOpeningStatus": "Closed"})
    assert isinstance(gone, Gone) and gone.external_id == "36"
    assert gone.reason == "posting page says it is closed"


@pytest.mark.parametrize(("fields", "expected"), [
    ({"locationType": "0"}, ("On-site", "onsite")),
    ({"locationType": "1"}, ("Remote", "remote")),
    ({"locationType": "2"}, ("Hybrid", "hybrid")),
    ({"locationType": "7"}, (None, None)),
    ({"locationType": None, "isRemote": True}, ("Remote", "remote")),
    ({"locationType": "0", "isRemote": True}, ("Remote", "remote")),
])
def test_location_type_and_is_remote(fields, expected) -> None:
    item = dict(real_list()["result"][0], **fields)
    detail = real_detail("36")
    detail["result"]["jobOpening"].pop("locationType")
    p = normalize_posting(parse_detail(detail_response(detail), "g", "giottoai", item), fetched_at=FETCHED_AT)
    assert (p.workplace_type_raw, p.workplace_type) == expected


def test_locations_from_both_objects_without_repeats() -> None:
    item = dict(real_list()["result"][0], location={"city": "Berlin", "state": "berlin"},
                atsLocation={"country": "Germany", "state": None, "province": None, "city": None})
    p = normalize_posting(parse_detail(detail_response({"result": {"jobOpening": {}}}), "g", "giottoai", item),
                          fetched_at=FETCHED_AT)
    assert p.locations == [{"raw": "Berlin", "city": "Berlin", "region": "berlin", "country": None},
                           {"raw": "Germany", "city": None, "region": None, "country": "DE"}]


def test_fingerprint_follows_the_list_only() -> None:
    item = real_list()["result"][0]
    fp = fingerprint(item)
    assert fingerprint(copy.deepcopy(item)) == fp
    assert fingerprint(dict(item, jobOpeningName="AI Research Lead")) != fp
    assert fingerprint(dict(item, locationType="1")) != fp
    assert fingerprint(dict(item, departmentId="99")) == fp  # an id the posting does not show


def test_urls() -> None:
    assert site_url("giottoai") == SITE
    assert list_url(SITE) == f"{SITE}/careers/list"
    assert detail_url("http://127.0.0.1:9", "36") == "http://127.0.0.1:9/careers/36/detail"


# --------------------------------------------------------------------------- spider


def make_spider(known: dict[str, str] | None = None, full_refresh: bool = True,
                base_url: str | None = "http://127.0.0.1:9") -> BambooHRSpider:
    return BambooHRSpider.from_crawler(get_crawler(BambooHRSpider), source="giottoai",
                                       params={"company": "giottoai"}, base_url=base_url,
                                       known_listing=known, full_refresh=full_refresh)


def test_params() -> None:
    assert BambooHRSpider.check_params({"company": "giottoai"}) is None
    assert BambooHRSpider.check_params({}) == (
        "company: required for board 'bamboohr' (the careers site name in <company>.bamboohr.com/careers)")
    assert "must be the subdomain alone, as in <company>.bamboohr.com" in BambooHRSpider.check_params({"company": "giottoai.bamboohr.com"})
    [first] = list(make_spider(base_url=None).start_requests())
    assert first.url == f"{SITE}/careers/list" and first.meta["dont_redirect"] is True


def test_spider_fetches_details_of_new_postings_and_is_complete() -> None:
    spider = make_spider()
    out = list(spider.parse_job_list(response(LIST.read_bytes())))
    assert isinstance(out[0], RawPage)
    requests = [x for x in out if isinstance(x, Request)]
    assert [r.url for r in requests] == [f"http://127.0.0.1:9/careers/{i}/detail" for i in IDS]
    assert requests[0].meta["external_id"] == "36"
    assert spider.complete and spider.complete_by == "meta.totalCount = 3 distinct postings, every detail read"


def test_spider_skips_details_the_list_shows_unchanged() -> None:
    items = real_list()["result"]
    known = {"36": fingerprint(items[0]), "39": "an older fingerprint"}
    out = list(make_spider(known, full_refresh=False).parse_job_list(response(LIST.read_bytes())))
    assert [x.external_id for x in out if isinstance(x, Seen)] == ["36"]
    assert [r.meta["external_id"] for r in out if isinstance(r, Request)] == ["39", "42"]
    out = list(make_spider(known, full_refresh=True).parse_job_list(response(LIST.read_bytes())))
    assert not [x for x in out if isinstance(x, Seen)]


def test_spider_completeness_against_total_count() -> None:
    spider = make_spider()
    list(spider.parse_job_list(response(dict(real_list(), meta={"totalCount": 5}))))
    assert not spider.complete
    assert spider.errors == ["job list holds 3 distinct postings of the 5 it reports (meta.totalCount)"]
    spider = make_spider()
    list(spider.parse_job_list(response({"result": real_list()["result"]})))
    assert spider.complete and spider.complete_by.startswith("whole job list parsed (no meta.totalCount)")
    spider = make_spider()
    list(spider.parse_job_list(response('{"result": [')))
    assert not spider.complete and spider.fatal.startswith("malformed JSON from BambooHR")


def test_a_redirect_off_the_site_is_board_not_found() -> None:
    spider = make_spider(base_url=None)
    list(spider.parse_job_list(response("", url=f"{SITE}/careers/list", status=302,
                                        headers={"Location": "https://www.bamboohr.com/"})))
    assert spider.fatal == ("board not found: BambooHR has no careers site 'giottoai' (HTTP 302 redirect "
                            f"from {SITE}/careers/list to https://www.bamboohr.com/)")


def test_spider_detail_callback_sets_listing_hash_and_raw() -> None:
    item = real_list()["result"][0]
    raw, posting = list(make_spider().parse_job_detail(detail_response(real_detail("36")), item=item, fp="fp"))
    assert isinstance(raw, RawPage) and isinstance(posting, Posting)
    assert posting.listing_hash == "fp" and posting.raw_sha256 == raw.sha256 and posting.fetched_at
    spider = make_spider()
    assert list(spider.parse_job_detail(detail_response("{"), item=item, fp="fp")) == []
    assert not spider.complete and spider.errors[0].startswith("posting page could not be read")


# --------------------------------------------------------------------------- end to end


def board_items(n: int) -> tuple[list[dict], dict[str, dict]]:
    """The three real list items and details, then copies under new ids
    (CONSTRUCTED: new id, title and share link)."""
    items = copy.deepcopy(real_list()["result"])
    details = {i: real_detail(i) for i in IDS}
    for k in range(n - len(items)):
        base = IDS[k % 3]
        new_id = str(100 + k)
        item = dict(copy.deepcopy(items[k % 3]), id=new_id, jobOpeningName=f"Research Engineer #{k}")
        detail = copy.deepcopy(details[base])
        detail["result"]["jobOpening"].update(jobOpeningName=item["jobOpeningName"],
                                              jobOpeningShareUrl=f"{SITE}/careers/{new_id}")
        items.append(item)
        details[new_id] = detail
    return items, details


def routes(items: list[dict], details: dict[str, dict], total: int | None = None,
           replies: dict[str, Reply] | None = None) -> dict:
    board = {"/careers/list": Reply(json.dumps({"meta": {"totalCount": len(items) if total is None else total},
                                                "result": items}))}
    for item in items:
        board[f"/careers/{item['id']}/detail"] = Reply(json.dumps(details[item["id"]]))
    board.update(replies or {})
    return board


def detail_requests(replay, since: int) -> list[str]:
    return sorted(path.split("/")[2] for _, path, _ in replay.requests[since:] if path.endswith("/detail"))


def configure(project, replay) -> None:
    project.write_config(f'[[sources]]\nname = "giottoai"\nboard = "bamboohr"\ncompany = "giottoai"\n'
                         f'base_url = "{replay.url}"\n')


@pytest.mark.slow
def test_bamboohr_rounds(project, replay, sessions):
    items, details = board_items(6)
    a, b, c, d, e, f = (item["id"] for item in items)
    configure(project, replay)
    details[d]["result"]["jobOpening"]["compensation"] = "CHF 120,000–140,000 per year"  # CONSTRUCTED

    # round 1: five postings, every detail fetched once
    replay.set_routes(routes(items[:5], details))
    r = crawl(project, sessions, "giottoai")
    assert r["exit"] == 0 and r["run"]["status"] == "complete", r
    assert events_of(sessions, r["run"]["id"]) == sorted(("new", x) for x in (a, b, c, d, e))
    assert detail_requests(replay, 0) == sorted([a, b, c, d, e])
    stored = {p["external_id"]: p for p in project.json("postings", "--source", "giottoai")}
    assert stored[b]["workplace_type"] == "remote" and stored[b]["locations"][0]["country"] == "CH"
    assert stored[d]["salary"] == [{"min": 120000, "max": 140000, "currency": "CHF", "period": "year",
                                    "raw": "CHF 120,000–140,000 per year"}]

    # round 2: a retitled (list and detail), b's description edited with its list
    # entry unchanged (not fetched: no event), c removed, f added
    before = len(replay.requests)
    items2 = [dict(items[0], jobOpeningName="AI Research Lead"), items[1], items[3], items[4], items[5]]
    details[a]["result"]["jobOpening"]["jobOpeningName"] = "AI Research Lead"
    details[b]["result"]["jobOpening"]["description"] = "<p>Edited silently.</p>"
    replay.set_routes(routes(items2, details))
    r = crawl(project, sessions, "giottoai")
    assert r["run"]["status"] == "complete" and r["run"]["seen"] == 5, r
    assert detail_requests(replay, before) == sorted([a, f])
    assert events_of(sessions, r["run"]["id"]) == sorted([("changed", a), ("new", f)])
    assert [ch["field"] for ch in event(sessions, "changed", a).changes] == ["title"]

    # round 3: the list answers 500 on every try: failed, nothing expires
    before = len(replay.requests)
    replay.set_routes({"/careers/list": Reply("Internal Server Error", status=500, content_type="text/plain")})
    r = crawl(project, sessions, "giottoai")
    assert r["exit"] == 1 and r["run"]["status"] == "failed" and "HTTP 500" in r["run"]["reason"], r
    assert events_of(sessions, r["run"]["id"]) == []
    assert len([p for _, p, _ in replay.requests[before:] if p == "/careers/list"]) == 3

    # round 4: c missing from a second complete run: expired; no detail fetched
    before = len(replay.requests)
    replay.set_routes(routes(items2, details))
    r = crawl(project, sessions, "giottoai")
    assert r["run"]["status"] == "complete", r
    assert events_of(sessions, r["run"]["id"]) == [("expired", c)]
    assert detail_requests(replay, before) == []


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_bamboohr_partial_runs_walls_and_unknown_boards(project, replay, sessions):
    """Run on SQLite only: the store's side of these runs is the same on
    both databases (test_bamboohr_rounds covers PostgreSQL)."""
    items, details = board_items(4)
    a, b = items[0]["id"], items[1]["id"]
    configure(project, replay)
    replay.set_routes(routes(items, details))
    assert crawl(project, sessions, "giottoai")["run"]["status"] == "complete"

    # one run that sees less than the whole board, three ways: the list claims
    # 6 postings but holds 4; a's entry moved and its detail answers 429 on
    # every try; b's entry moved and its detail answers the board's real 404
    # (the list still names b, so it is kept as it was and the contradiction is
    # an error). Partial, and nothing expires or changes.
    moved = [dict(items[0], jobOpeningName="AI Research Lead"),
             dict(items[1], jobOpeningName="Machine Learning Lead"), *items[2:]]
    storm = Reply("Too Many Requests", status=429, content_type="text/plain", headers={"Retry-After": "1"})
    gone = Reply(NOT_FOUND, status=404)
    replay.set_routes(routes(moved, details, total=6,
                             replies={f"/careers/{a}/detail": storm, f"/careers/{b}/detail": gone}))
    r = crawl(project, sessions, "giottoai")
    assert r["run"]["status"] == "partial", r
    assert events_of(sessions, r["run"]["id"]) == []
    errors = run_errors(sessions, r["run"]["id"])
    assert "job list holds 4 distinct postings of the 6 it reports (meta.totalCount)" in errors
    assert any(e.startswith(f"posting page failed: HTTP 429 from {replay.url}/careers/{a}/detail")
               for e in errors), errors
    assert f"posting {b} is listed but its page answered 404: kept as it was, not expired" in errors

    # a bot check instead of the list: failed, "blocked"
    replay.set_routes({"/careers/list": Reply("<html><head><title>Just a moment...</title></head></html>",
                                              content_type="text/html")})
    r = crawl(project, sessions, "giottoai")
    assert r["run"]["status"] == "failed" and r["run"]["reason"].startswith("blocked: "), r

    # no careers site: BambooHR redirects to its own site (never followed) ...
    replay.set_routes({"/careers/list": Reply("", status=302, content_type="text/html",
                                              headers={"Location": "https://www.bamboohr.com/"})})
    r = crawl(project, sessions, "giottoai")
    assert r["run"]["status"] == "failed", r
    assert r["run"]["reason"].startswith("board not found: BambooHR has no careers site 'giottoai' "
                                         "(HTTP 302 redirect"), r

    # ... or answers 404
    replay.set_routes({})
    r = crawl(project, sessions, "giottoai")
    assert r["run"]["status"] == "failed", r
    assert r["run"]["reason"].startswith("board not found: BambooHR has no careers site 'giottoai' (HTTP 404")
    with sessions() as s:
        assert s.scalars(select(func.count()).select_from(StoredPosting)
                         .where(StoredPosting.status == "open")).one() == 4
