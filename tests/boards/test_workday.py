"""Workday (CXS API): golden files, parser units, and end-to-end rounds.

The real saved list response (2 postings, ``total: 2000``) is the golden
list and the seed of every replayed board: copies of its two postings under
new paths and ids. No real detail response is saved; the two detail files
are constructed from the documented shape (see their ``.source.txt``).
Replayed boards behave like Workday: ``total`` only on a search's first
page (0 after), facets on first pages, 20 postings a page.
"""

from __future__ import annotations

import copy
import json
import os
from datetime import UTC, datetime
from typing import Any

import pytest
import scrapy
from scrapy.http import TextResponse
from sqlalchemy import select

from crawler.errors import BoardError
from crawler.items import Gone, Posting, Seen
from crawler.replay import ReplayServer, Reply
from db.models import Event, Run
from spiders.parsers import workday as wd
from spiders.workday import WorkdaySpider

from ..conftest import DATA
from .replay_helpers import check_golden

FIXTURES = DATA / "fixtures" / "workday"
GOLDEN = DATA / "golden" / "workday"
LIST_FIXTURE = FIXTURES / "hunt_cxs_jobs_list_tenant_unknown.json"
FETCHED_AT = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
UPDATE = os.environ.get("JOBDELTA_UPDATE_GOLDEN") == "1"
# The saved list does not name its tenant: a stand-in site of the real shape.
SITE = "https://example.wd5.myworkdayjobs.com/en-US/External"
API = "/wday/cxs/example/External"


def response(body: bytes | str, path: str = "/jobs") -> TextResponse:
    data = body.encode("utf-8") if isinstance(body, str) else body
    return TextResponse(url=f"https://example.wd5.myworkdayjobs.com{API}{path}", body=data,
                        encoding="utf-8")


def real_list() -> dict:
    return json.loads(LIST_FIXTURE.read_text(encoding="utf-8"))


def detail_fixture(req_id: str) -> dict:
    return json.loads((FIXTURES / f"constructed_detail_{req_id}.json").read_text(encoding="utf-8"))


# -- golden files


def _check_golden(name: str, postings: list[Posting]) -> list[dict]:
    return check_golden(GOLDEN / f"{name}.json", postings, FETCHED_AT)


def test_golden_list() -> None:
    page = wd.parse_jobs_page(response(LIST_FIXTURE.read_bytes()))
    assert page.total == 2000
    out = _check_golden(LIST_FIXTURE.stem, [wd.listing_posting(e, "example", SITE) for e in page.entries])
    # checked by hand against the saved response
    assert [p["external_id"] for p in out] == ["JR2021061", "JR2026094"]
    assert [p["requisition_id"] for p in out] == ["JR2021061", "JR2026094"]
    assert out[0]["title"] == "Director, Engineering – Software Engineering"
    assert out[0]["url"] == SITE + "/job/Vietnam-Hanoi/Director--Engineering---Software-Engineering_JR2021061"
    # "2 Locations" is a count, not a place
    assert out[0]["locations"] == [] and out[1]["locations"] == []
    # "Posted 30+ Days Ago" is at least 30 days before the fetch; relative, so volatile
    assert (out[0]["posted_at"], out[0]["posted_at_raw"], out[0]["posted_at_relative"]) == (
        "2026-09-01", "Posted 30+ Days Ago", True)
    assert (out[1]["posted_at"], out[1]["posted_at_raw"]) == ("2026-09-27", "Posted 4 Days Ago")


@pytest.mark.parametrize("req_id", ["JR2021061", "JR2026094"])
def test_golden_constructed_detail(req_id: str) -> None:
    entry = next(e for e in wd.parse_jobs_page(response(LIST_FIXTURE.read_bytes())).entries
                 if e.external_id == req_id)
    body = (FIXTURES / f"constructed_detail_{req_id}.json").read_bytes()
    posting = wd.parse_job_detail(response(body, entry.path), "example", SITE, entry)
    [out] = _check_golden(f"constructed_detail_{req_id}", [posting])
    assert out["external_id"] == out["requisition_id"] == req_id
    assert out["company"] == "Example Corporation"
    assert out["employment_type"] == "full_time" and out["employment_type_raw"] == "Full time"
    assert out["url"].startswith("https://example.wd5.myworkdayjobs.com/External/job/")
    if req_id == "JR2021061":
        assert out["locations"] == [
            {"raw": "Vietnam-Hanoi", "city": "Hanoi", "region": None, "country": "VN"},
            {"raw": "Vietnam-Ho Chi Minh City", "city": "Ho Chi Minh City", "region": None, "country": "VN"},
        ]
        # startDate is a real date: it wins over the relative postedOn
        assert (out["posted_at"], out["posted_at_relative"]) == ("2025-08-18", False)
        assert out["workplace_type"] is None
        assert out["description"].startswith("About the role\n\nYou will lead")
        assert "&amp;" not in out["description"] and "<li>" not in out["description"]
    else:
        assert [loc["country"] for loc in out["locations"]] == ["PL", "CZ", "HU", "RO", "SK"]
        assert out["workplace_type"] == "remote"
        assert (out["posted_at"], out["posted_at_raw"]) == ("2026-09-27", "Posted 4 Days Ago")
        assert out["salary"] == [{"min": 25000, "max": 32000, "currency": "PLN", "period": "month",
                                  "raw": "PLN 25,000 - 32,000 per month"}]


# -- parser units


@pytest.mark.parametrize(("body", "message"), [
    ('{"total": 3, "jobPostings": [', "malformed JSON from Workday job list"),
    ("[]", "not a JSON object"),
    ('{"total": 3}', "no 'jobPostings' list"),
    ('{"total": 3, "jobPostings": {"a": 1}}', "no 'jobPostings' list"),
    ('{"total": 1, "jobPostings": [{"title": "x"}]}', "without an externalPath"),
    ('{"total": 1, "jobPostings": ["x"]}', "without an externalPath"),
])
def test_list_page_errors(body: str, message: str) -> None:
    with pytest.raises(BoardError, match=message):
        wd.parse_jobs_page(response(body))


def test_empty_board_is_not_an_error() -> None:
    assert wd.parse_jobs_page(response('{"total": 0, "jobPostings": [], "facets": []}')).entries == []
    # Workday leaves the list out of some empty answers
    page = wd.parse_jobs_page(response('{"total": 0}'))
    assert (page.total, page.entries) == (0, [])


def test_later_pages_total_zero_is_read_as_given() -> None:
    page = wd.parse_jobs_page(response(json.dumps({"total": 0, "jobPostings": real_list()["jobPostings"]})))
    assert page.total == 0 and len(page.entries) == 2


@pytest.mark.parametrize(("path", "bullets", "expected"), [
    ("/job/Vietnam-Hanoi/Director--Engineering---Software-Engineering_JR2021061", ["JR2021061"], "JR2021061"),
    ("/job/Hanoi/Director_JR2021061-1", ["JR2021061"], "JR2021061-1"),  # reposted requisition
    ("/job/Utrecht/Senior-Data-Engineer_JR_00145400-1", [], "JR_00145400-1"),
    ("/job/Utrecht/Data_Engineer_R123", ["R123"], "R123"),  # underscore in the title slug
    ("/job/Somewhere/No-Id-Here", [], "/job/Somewhere/No-Id-Here"),
])
def test_external_id_of(path: str, bullets: list[str], expected: str) -> None:
    assert wd.external_id_of(path, bullets) == expected


@pytest.mark.parametrize(("url", "expected"), [
    ("https://acme.wd5.myworkdayjobs.com/en-US/External",
     wd.WorkdaySite("acme.wd5.myworkdayjobs.com", "acme", "External", "en-US")),
    ("https://acme.wd103.myworkdayjobs.com/Careers/job/Berlin/Engineer_R1",
     wd.WorkdaySite("acme.wd103.myworkdayjobs.com", "acme", "Careers", None)),
    ("https://acme.wd1.myworkdayjobs.com/External/", wd.WorkdaySite("acme.wd1.myworkdayjobs.com", "acme", "External")),
    ("https://acme.wd1.myworkdayjobs.com/", None),
    ("https://acme.wd1.myworkdayjobs.com/en-US", None),
    ("acme.wd1.myworkdayjobs.com/External", None),
])
def test_site_from_url(url: str, expected: wd.WorkdaySite | None) -> None:
    assert wd.site_from_url(url) == expected


def test_public_url_keeps_the_locale() -> None:
    site = wd.site_from_url("https://acme.wd5.myworkdayjobs.com/en-US/External")
    assert site.public_url() == "https://acme.wd5.myworkdayjobs.com/en-US/External"
    assert site.api_path() == "/wday/cxs/acme/External"
    assert wd.WorkdaySite(None, "acme", "External").public_url("http://127.0.0.1:9") == "http://127.0.0.1:9/External"


NESTED_FACETS = [
    {"facetParameter": "timeType", "values": [{"descriptor": "Full time", "id": "ft", "count": 1900}]},
    {"facetParameter": "jobFamilyGroup", "descriptor": "Job Category", "values": [
        {"descriptor": "Engineering", "id": "eng", "count": 1500},
        {"descriptor": "Sales", "id": "sales", "count": 700}]},
    {"facetParameter": "locationMainGroup", "values": [
        {"facetParameter": "locationCountry", "descriptor": "Country", "values": [
            {"descriptor": "United States of America", "id": "us", "count": 1300},
            {"descriptor": "Poland", "id": "pl", "count": 600},
            {"descriptor": "Vietnam", "id": "vn", "count": 400}]},
        {"facetParameter": "locations", "descriptor": "Locations", "values": []}]},
]


def test_facets_are_flattened() -> None:
    facets = wd.parse_facets(NESTED_FACETS)
    assert [f.parameter for f in facets] == ["timeType", "jobFamilyGroup", "locationCountry"]
    assert facets[2].values == (("us", 1300), ("pl", 600), ("vn", 400))
    assert wd.parse_facets(None) == [] and wd.parse_facets([{"values": "x"}, "x"]) == []


def test_split_facet_choice() -> None:
    facets = wd.parse_facets(NESTED_FACETS)
    # countries cover 2300, job families 2200; one-valued timeType never splits
    assert wd.choose_split_facet(facets, {}, 2000).parameter == "locationCountry"
    assert wd.choose_split_facet(facets, {"locationCountry": ["us"]}, 2000).parameter == "jobFamilyGroup"
    # a facet whose values cannot add up to the search would hide postings
    assert wd.choose_split_facet(facets, {"locationCountry": ["us"]}, 2300) is None
    assert wd.choose_split_facet(facets, {"locationCountry": ["us"], "jobFamilyGroup": ["eng"]}, 2000) is None
    # without counts a facet is still usable (its searches' totals are checked instead)
    bare = [wd.Facet("locations", (("a", None), ("b", None)))]
    assert wd.choose_split_facet(bare, {}, 2000) == bare[0]


def test_detail_errors() -> None:
    with pytest.raises(BoardError, match="malformed JSON from Workday posting"):
        wd.parse_job_detail(response("<html>"), "example", SITE)
    with pytest.raises(BoardError, match="no 'jobPostingInfo' object"):
        wd.parse_job_detail(response('{"similarJobs": []}'), "example", SITE)
    with pytest.raises(BoardError, match="no 'jobPostingInfo' object"):
        wd.parse_job_detail(response('{"jobPostingInfo": "x"}'), "example", SITE)


@pytest.mark.parametrize("flag", ["canApply", "posted"])
def test_detail_no_longer_accepting_applications_is_gone(flag: str) -> None:
    data = detail_fixture("JR2021061")
    data["jobPostingInfo"][flag] = False
    gone = wd.parse_job_detail(response(json.dumps(data)), "example", SITE)
    assert isinstance(gone, Gone)
    assert gone.external_id == "JR2021061"
    assert gone.reason == f"no longer accepting applications ({flag}: false)"


def test_detail_without_listing_entry_takes_its_id_from_the_url() -> None:
    posting = wd.parse_job_detail(response(json.dumps(detail_fixture("JR2026094"))), "example", SITE)
    assert posting.external_id == "JR2026094" and posting.requisition_id == "JR2026094"


def test_fingerprint_leaves_out_the_relative_posted_text() -> None:
    [a, _b] = wd.parse_jobs_page(response(LIST_FIXTURE.read_bytes())).entries
    older = wd.ListingEntry(a.external_id, a.path, a.title, a.locations_text, "Posted 31 Days Ago",
                            a.bullet_fields)
    assert older.fingerprint == a.fingerprint
    retitled = wd.ListingEntry(a.external_id, a.path, a.title + " (Hanoi)", a.locations_text,
                               a.posted_on, a.bullet_fields)
    assert retitled.fingerprint != a.fingerprint


@pytest.mark.parametrize(("params", "problem"), [
    ({"url": "https://acme.wd5.myworkdayjobs.com/en-US/External"}, None),
    ({"tenant": "acme", "site": "External", "host": "acme.wd5.myworkdayjobs.com"}, None),
    ({"url": "https://careers.acme.com/jobs", "tenant": "acme"}, None),
    ({"url": "https://acme.wd5.myworkdayjobs.com/"}, "url: not a Workday career site address"),
    ({"tenant": "acme"}, "url, or tenant and site: required"),
    ({}, "url, or tenant and site: required"),
    ({"url": 5}, "url: must be a string"),
])
def test_params(params: dict, problem: str | None) -> None:
    result = WorkdaySpider.check_params(params)
    assert (result is None) if problem is None else (problem in result), result


# -- the replayed board


class _BodyReplay(ReplayServer):
    """The replay server, passing each POST body to the routes (as the
    ``x-replay-body`` header): the CXS list is one path whose body says
    which page and which facets."""

    def __init__(self) -> None:
        super().__init__()
        from crawler.replay import _Handler

        class Handler(_Handler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                self.headers["X-Replay-Body"] = self.rfile.read(length).decode("utf-8")
                self._answer()

        self._httpd.RequestHandlerClass = Handler


@pytest.fixture
def wd_replay():
    with _BodyReplay() as server:
        yield server


def make_postings(n: int) -> list[dict[str, Any]]:
    """The two real postings, then copies of them under new paths and ids.
    Each carries its detail (constructed) and the facet values it has."""
    real = real_list()["jobPostings"]
    details = {"JR2021061": detail_fixture("JR2021061"), "JR2026094": detail_fixture("JR2026094")}
    out = []
    for i in range(n):
        base = real[i % 2]
        item = copy.deepcopy(base)
        req = base["bulletFields"][0]
        detail = copy.deepcopy(details[req])
        if i >= 2:
            new_req = f"JR{9100000 + i}"
            item["externalPath"] = base["externalPath"].replace(req, new_req)
            item["title"] = f"{base['title']} #{i}"
            item["bulletFields"] = [new_req]
            info = detail["jobPostingInfo"]
            info["title"], info["jobReqId"] = item["title"], new_req
            info["jobPostingId"] = info["jobPostingId"].replace(req, new_req)
            info["externalUrl"] = info["externalUrl"].replace(req, new_req)
            req = new_req
        out.append({"item": item, "detail": detail, "id": req, "facets": {}})
    return out


class FakeWorkday:
    """A Workday CXS board: list searches filtered by applied facets, 20 a
    page, ``total`` and facets on first pages only; detail per posting."""

    def __init__(self, postings: list[dict[str, Any]]):
        self.postings = postings
        self.capped: set[str] = set()  # searches (facet keys) that report the 2000 cap
        self.facets: dict[str, list] = {}  # facets shown on a search's first page
        self.page_override: dict[tuple[str, int], Reply] = {}
        self.detail_override: dict[str, Reply] = {}

    @staticmethod
    def key(facets: dict[str, list[str]]) -> str:
        return json.dumps(facets, sort_keys=True)

    def jobs(self, path: str, headers: dict[str, str]) -> Reply:
        body = json.loads(headers["x-replay-body"])
        facets, offset, limit = body["appliedFacets"], body["offset"], body["limit"]
        assert limit <= 20
        key = self.key(facets)
        if (key, offset) in self.page_override:
            return self.page_override[(key, offset)]
        matching = [p["item"] for p in self.postings
                    if all(any(v in p["facets"].get(k, []) for v in vals) for k, vals in facets.items())]
        total = 2000 if key in self.capped else len(matching)
        return Reply(json.dumps({
            "total": total if offset == 0 else 0,
            "jobPostings": matching[offset:offset + limit],
            "facets": self.facets.get(key, []) if offset == 0 else [],
        }))

    def routes(self) -> dict:
        routes: dict = {f"{API}/jobs": self.jobs}
        for p in self.postings:
            path = API + p["item"]["externalPath"]
            routes[path] = self.detail_override.get(p["id"]) or Reply(json.dumps(p["detail"]))
        return routes


def config(project, replay, defaults: str = "full_refresh_every = 4") -> None:
    project.write_config(f'[[sources]]\nname = "acme"\nboard = "workday"\nurl = "{SITE}"\n'
                         f'base_url = "{replay.url}"\n', defaults=defaults)


def crawl(project, sessions) -> dict:
    """One crawl with the real CLI; the run as stored."""
    proc = project.cli("crawl", "acme")
    with sessions() as s:
        run = s.scalars(select(Run).order_by(Run.id.desc()).limit(1)).one()
        return {"exit": proc.returncode, "out": proc.stdout, "id": run.id, "status": run.status,
                "reason": run.reason, "seen": run.seen, "new": run.new}


def events(sessions, run_id: int) -> list[tuple[str, str]]:
    with sessions() as s:
        rows = s.execute(select(Event.kind, Event.external_id).where(Event.run_id == run_id)).all()
    return sorted((kind, ext) for kind, ext in rows)


def expired_reasons(sessions) -> dict[str, str]:
    with sessions() as s:
        return dict(s.execute(select(Event.external_id, Event.reason).where(Event.kind == "expired")).all())


def detail_requests(replay, since: int) -> list[str]:
    return [p.rsplit("_", 1)[-1] for m, p, _h in replay.requests[since:] if m == "GET" and "/job/" in p]


def list_bodies(replay, since: int) -> list[dict]:
    return [json.loads(h["x-replay-body"]) for m, _p, h in replay.requests[since:] if m == "POST"]



@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the store is tested on both elsewhere
def test_workday_rounds(project, wd_replay, sessions):
    replay = wd_replay
    pool = make_postings(42)
    a, b, c, d = pool[0], pool[1], pool[2], pool[41]
    board = FakeWorkday(pool[:41])
    replay.set_routes(board.routes())
    config(project, replay)

    # round 1 (a full refresh): 41 postings over 3 pages, every detail fetched
    r = crawl(project, sessions)
    assert r["status"] == "complete" and r["new"] == 41, r
    assert [x["offset"] for x in list_bodies(replay, 0)] == [0, 20, 40]
    assert sorted(detail_requests(replay, 0)) == sorted(p["id"] for p in pool[:41])
    by_id = {p["external_id"]: p for p in project.json("postings", "--source", "acme")}
    real = by_id["JR2021061"]
    assert real["title"] == "Director, Engineering – Software Engineering"
    assert real["requisition_id"] == "JR2021061" and real["company"] == "Example Corporation"
    assert [loc["city"] for loc in real["locations"]] == ["Hanoi", "Ho Chi Minh City"]
    assert real["posted_at"] == "2025-08-18"
    assert by_id["JR9100040"]["title"] == "Director, Engineering – Software Engineering #40"
    assert by_id["JR2026094"]["workplace_type"] == "remote"

    # round 2: the same board; the listing vouches for every posting, no detail is fetched
    mark = len(replay.requests)
    r = crawl(project, sessions)
    assert r["status"] == "complete" and r["seen"] == 41
    assert events(sessions, r["id"]) == []
    assert detail_requests(replay, mark) == []

    # round 3: a retitled (listing and detail), c removed, d added: only a and d are fetched
    a["item"]["title"] = a["detail"]["jobPostingInfo"]["title"] = "Director, Engineering (Hanoi)"
    board.postings = [p for p in pool[:41] if p is not c] + [d]
    replay.set_routes(board.routes())
    mark = len(replay.requests)
    r = crawl(project, sessions)
    assert r["status"] == "complete"
    assert events(sessions, r["id"]) == [("changed", a["id"]), ("new", d["id"])]
    assert sorted(detail_requests(replay, mark)) == sorted([a["id"], d["id"]])

    # round 4: the last page comes back empty although the search said 41: partial, and c
    # (missing once) does not expire from it
    board.page_override[(board.key({}), 40)] = Reply(json.dumps({"total": 0, "jobPostings": []}))
    r = crawl(project, sessions)
    assert r["status"] == "partial", r
    assert "the board's search gave 40 of the 41 postings it reports" in r["reason"]
    assert events(sessions, r["id"]) == []
    board.page_override.clear()

    # round 5 (full refresh): every detail fetched again; b no longer takes
    # applications; c is missing from its second complete run. Every detail's
    # similarJobs moved (no change to the posting): the bodies are new, so
    # the answers are 200s (AutoThrottle never lowers its delay on 304s)
    b["detail"]["jobPostingInfo"]["canApply"] = False
    for p in board.postings:
        p["detail"]["similarJobs"] = [{"title": "Another role", "externalPath": "/job/x_JR1"}]
    replay.set_routes(board.routes())
    mark = len(replay.requests)
    r = crawl(project, sessions)
    assert r["status"] == "complete", r
    assert len(detail_requests(replay, mark)) == 41
    assert events(sessions, r["id"]) == [("expired", b["id"]), ("expired", c["id"])]
    assert expired_reasons(sessions) == {b["id"]: "expired: no longer accepting applications (canApply: false)",
                       c["id"]: "expired: missing from 2 consecutive complete runs"}

    # round 6: a 429 storm on page 2 (Retry-After honoured, then given up): partial, nothing expires
    board.page_override[(board.key({}), 20)] = Reply("slow down", status=429, content_type="text/plain",
                                                     headers={"Retry-After": "1"})
    mark = len(replay.requests)
    r = crawl(project, sessions)
    assert r["status"] == "partial" and "HTTP 429" in r["reason"], r
    assert [x["offset"] for x in list_bodies(replay, mark)].count(20) == 3  # first try + 2 retries
    assert events(sessions, r["id"]) == []
    board.page_override.clear()

    # round 7: a bot-check page instead of the list: failed, blocked
    board.page_override[(board.key({}), 0)] = Reply(
        "<html><head><title>Security Checkpoint</title></head><body>Verifying you are human</body></html>",
        content_type="text/html")
    r = crawl(project, sessions)
    assert r["exit"] == 1 and r["status"] == "failed"
    assert r["reason"].startswith("blocked:") and "Security Checkpoint" in r["reason"]
    assert events(sessions, r["id"]) == []

    # round 8: an empty-but-200 board: suspicious, nothing expired
    board.page_override[(board.key({}), 0)] = Reply(json.dumps({"total": 0, "jobPostings": [], "facets": []}))
    r = crawl(project, sessions)
    assert r["status"] == "suspicious", r
    assert events(sessions, r["id"]) == []
    assert len(project.json("postings", "--source", "acme")) == 40


COUNTRY_FACETS = {"facetParameter": "locationMainGroup", "values": [
    {"facetParameter": "locationCountry", "descriptor": "Country", "values": [
        {"descriptor": "United States of America", "id": "us", "count": 1300},
        {"descriptor": "Poland", "id": "pl", "count": 600},
        {"descriptor": "Vietnam", "id": "vn", "count": 400}]}]}
FAMILY_FACETS = {"facetParameter": "jobFamilyGroup", "descriptor": "Job Category", "values": [
    {"descriptor": "Engineering", "id": "eng", "count": 1100},
    {"descriptor": "Sales", "id": "sales", "count": 1000}]}


def split_board() -> tuple[FakeWorkday, list[dict]]:
    """A board past the cap. Cheap stand-in: the whole-board search and the
    US search report 2000 (their facet counts say so too) while every
    narrower search serves its few postings truthfully. Some postings sit in
    two countries, so the split searches overlap."""
    pool = make_postings(60)
    for i, p in enumerate(pool):
        countries = [["us"], ["pl"], ["vn"], ["us", "pl"]][i % 4]
        p["facets"] = {"locationCountry": countries, "jobFamilyGroup": ["eng" if i % 3 else "sales"]}
    board = FakeWorkday(pool)
    board.capped = {board.key({}), board.key({"locationCountry": ["us"]})}
    board.facets = {board.key({}): [COUNTRY_FACETS, FAMILY_FACETS],
                    board.key({"locationCountry": ["us"]}): [FAMILY_FACETS]}
    return board, pool


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_workday_splits_a_capped_search_on_facets(project, wd_replay, sessions):
    replay = wd_replay
    board, pool = split_board()
    replay.set_routes(board.routes())
    config(project, replay)

    r = crawl(project, sessions)
    assert r["status"] == "complete", r
    # every posting once, although 15 sit in two countries and the first page repeats
    assert r["new"] == 60 and r["seen"] == 60
    assert sorted(detail_requests(replay, 0)) == sorted(p["id"] for p in pool)
    searches = {(json.dumps(b["appliedFacets"], sort_keys=True), b["offset"]) for b in list_bodies(replay, 0)}
    assert searches == {
        ("{}", 0),  # reports the cap: split on countries (they cover most)
        ('{"locationCountry": ["us"]}', 0),  # reports the cap again: split on job family
        ('{"jobFamilyGroup": ["eng"], "locationCountry": ["us"]}', 0),
        ('{"jobFamilyGroup": ["sales"], "locationCountry": ["us"]}', 0),
        ('{"locationCountry": ["pl"]}', 0),
        ('{"locationCountry": ["pl"]}', 20),
        ('{"locationCountry": ["vn"]}', 0),
    }
    assert all(b["limit"] == 20 for b in list_bodies(replay, 0))

    # the US + Engineering search reports the cap too and has no facet left:
    # only its first 2000 could be seen, so the run is partial and expires nothing
    board.capped.add(board.key({"locationCountry": ["us"], "jobFamilyGroup": ["eng"]}))
    r = crawl(project, sessions)
    assert r["status"] == "partial", r
    assert "has no facet left to split on" in r["reason"]
    assert events(sessions, r["id"]) == []

    # the facet's values no longer add up to the capped search: not split, partial
    board.capped.discard(board.key({"locationCountry": ["us"], "jobFamilyGroup": ["eng"]}))
    board.facets[board.key({})] = [{"facetParameter": "jobFamilyGroup", "values": [
        {"id": "eng", "count": 900}, {"id": "sales", "count": 300}]}]
    r = crawl(project, sessions)
    assert r["status"] == "partial" and "has no facet left to split on" in r["reason"], r
    assert events(sessions, r["id"]) == []


# -- the spider's paging and splitting, without a crawl


def spider(known: dict[str, str] | None = None) -> WorkdaySpider:
    from scrapy.statscollectors import MemoryStatsCollector
    from scrapy.utils.test import get_crawler

    crawler = get_crawler(WorkdaySpider)
    crawler.stats = MemoryStatsCollector(crawler)
    return WorkdaySpider.from_crawler(crawler, source="acme", params={"url": SITE},
                                      base_url="http://board", known_listing=known or {},
                                      full_refresh=not known)


def entries(ids: range | list[int]) -> list[dict]:
    return [{"title": f"Job {i}", "externalPath": f"/job/X/Job-{i}_R{i}", "locationsText": "Hanoi",
             "postedOn": "Posted Today", "bulletFields": [f"R{i}"]} for i in ids]


def feed(s: WorkdaySpider, request, total: int, ids, facets: list | None = None):
    """Answer a list request; returns (detail ids, next list requests, all output)."""
    body = json.dumps({"total": total, "jobPostings": entries(ids), "facets": facets or []})
    resp = TextResponse(url=request.url, body=body.encode(), encoding="utf-8", request=request)
    out = list(request.callback(resp, **request.cb_kwargs))
    reqs = [r for r in out if isinstance(r, scrapy.Request)]
    details = [r.url.rsplit("_", 1)[1] for r in reqs if "/job/" in r.url]
    lists = [r for r in reqs if r.url.endswith("/jobs")]
    return details, lists, out


def body_of(request) -> dict:
    return json.loads(request.body)


def test_first_request_is_the_documented_post() -> None:
    s = spider()
    [first] = list(s.start_requests())
    assert first.method == "POST" and first.url == "http://board/wday/cxs/example/External/jobs"
    assert body_of(first) == {"appliedFacets": {}, "limit": 20, "offset": 0, "searchText": ""}
    assert first.headers["Content-Type"] == b"application/json"


def test_paging_follows_the_first_total() -> None:
    s = spider()
    [first] = list(s.start_requests())
    details, [p2], _ = feed(s, first, 45, range(20))
    assert len(details) == 20 and body_of(p2)["offset"] == 20
    _d, [p3], _ = feed(s, p2, 0, range(20, 40))  # later pages say 0
    assert body_of(p3)["offset"] == 40
    details, nxt, _ = feed(s, p3, 0, range(40, 45))
    assert (details, nxt) == ([f"R{i}" for i in range(40, 45)], [])
    assert s.board_complete is True and s.complete


def test_a_search_that_gives_less_than_its_total_is_not_complete() -> None:
    s = spider()
    [first] = list(s.start_requests())
    _d, [p2], _ = feed(s, first, 45, range(20))
    _d, nxt, _ = feed(s, p2, 0, [])
    assert nxt == [] and s.board_complete is False
    assert s.errors == ["the board's search gave 20 of the 45 postings it reports"]


def test_a_capped_search_is_split_and_deduplicated() -> None:
    s = spider()
    [first] = list(s.start_requests())
    facets = [{"facetParameter": "jobFamilyGroup", "values": [{"id": "eng", "count": 1500},
                                                              {"id": "ops", "count": 900}]}]
    details, children, _ = feed(s, first, 2000, range(20), facets)
    assert len(details) == 20
    assert [body_of(c)["appliedFacets"] for c in children] == [{"jobFamilyGroup": ["eng"]},
                                                               {"jobFamilyGroup": ["ops"]}]
    assert all(body_of(c)["offset"] == 0 for c in children)
    # the first page's postings come again in the narrower searches: fetched once
    details, nxt, _ = feed(s, children[0], 12, range(10, 22))
    assert (details, nxt) == (["R20", "R21"], [])
    details, nxt, _ = feed(s, children[1], 3, [0, 22, 23])
    assert (details, nxt) == (["R22", "R23"], [])
    assert s.board_complete is True and s.crawler.stats.get_value("jobdelta/workday/duplicates") == 11


def test_a_capped_search_without_a_facet_is_paged_to_the_cap_and_not_complete() -> None:
    s = spider()
    [first] = list(s.start_requests())
    _d, [p2], _ = feed(s, first, 2000, range(20))
    assert body_of(p2)["offset"] == 20 and body_of(p2)["appliedFacets"] == {}
    assert "has no facet left to split on" in s.errors[0]
    request = p2
    for offset in range(20, 2000, 20):  # to the cap, never past it
        assert body_of(request)["offset"] == offset
        _d, nxt, _ = feed(s, request, 0, range(offset, offset + 20))
        if not nxt:
            break
        [request] = nxt
    assert offset == 1980 and s.board_complete is False


def test_a_facet_without_counts_is_checked_by_its_searches() -> None:
    s = spider()
    [first] = list(s.start_requests())
    facets = [{"facetParameter": "locations", "values": [{"id": "a"}, {"id": "b"}]}]
    _d, children, _ = feed(s, first, 2000, range(20), facets)
    feed(s, children[0], 5, range(20, 25))
    feed(s, children[1], 4, range(25, 29))
    assert s.board_complete is False
    assert "finds 9 of its 2000+ postings" in s.errors[0]


def test_unchanged_entries_are_seen_not_fetched() -> None:
    page = wd.parse_jobs_page(response(json.dumps({"total": 2, "jobPostings": entries(range(2))})))
    s = spider(known={page.entries[0].external_id: page.entries[0].fingerprint,
                      page.entries[1].external_id: "something else"})
    [first] = list(s.start_requests())
    details, _n, out = feed(s, first, 2, range(2))
    assert details == ["R1"] and [o.external_id for o in out if isinstance(o, Seen)] == ["R0"]
