"""Phenom: golden files from the real saved get-jobs answers, parser and
paging unit tests, and crawls in real headless Chromium over rounds.

The replay site is built from the six real McDonald's Canada postings in
tests/data/fixtures/phenom/ (page 1 in English, page 389 in French), plus
copies of them under new references. It serves the careers page at
``/restaurant-jobs`` (the page is a stand-in: a minimal shell with the
``phApp.csrfToken`` Phenom pages carry) and the API at the real
``/api/get-jobs?page_number=N``, ten postings a page with ``totalJob``, as
Phenom pages it. The spider calls that API from inside the rendered page.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from scrapy import signals
from scrapy.http import TextResponse
from scrapy.utils.test import get_crawler
from sqlalchemy import select

from crawler.errors import BoardError
from crawler.items import Posting, RawPage
from crawler.normalize import normalize_posting
from crawler.replay import Reply
from db.models import Event, Run, Source
from spiders.parsers.phenom import api_body, api_url, parse_jobs, site_languages
from spiders.phenom import PhenomSpider

DATA = Path(__file__).resolve().parent.parent / "data"
FIXTURES = DATA / "fixtures" / "phenom"
GOLDEN = DATA / "golden" / "phenom"
FETCHED_AT = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
UPDATE = os.environ.get("JOBDELTA_UPDATE_GOLDEN") == "1"
SITE = "https://careers.mcdonalds.ca/restaurant-jobs"
PAGE1, PAGE389, EMPTY = ("jobseek_mcdonalds_ca_page1.json", "jobseek_mcdonalds_ca_page389.json",
                         "jobseek_mcdonalds_ca_empty.json")


def answer(body: bytes | str, url: str = "https://careers.mcdonalds.ca/api/get-jobs?page_number=1",
           status: int = 200) -> TextResponse:
    return TextResponse(url=url, status=status, body=body.encode() if isinstance(body, str) else body,
                        encoding="utf-8")


def real_jobs(name: str) -> list[dict]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))["jobs"]


# --------------------------------------------------------------------------- golden


def canonical(name: str) -> list[dict]:
    postings, _total = parse_jobs(answer((FIXTURES / name).read_bytes()), "mcdonalds-ca", SITE)
    return [normalize_posting(p, fetched_at=FETCHED_AT).to_dict() for p in postings]


@pytest.mark.parametrize("name", [PAGE1, PAGE389])
def test_golden(name: str) -> None:
    output = canonical(name)
    golden = GOLDEN / (Path(name).stem + ".json")
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(json.dumps(output, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert golden.exists(), f"no golden file {golden}: run with JOBDELTA_UPDATE_GOLDEN=1"
    assert output == json.loads(golden.read_text(encoding="utf-8"))


def golden(name: str) -> list[dict]:
    return json.loads((GOLDEN / (Path(name).stem + ".json")).read_text(encoding="utf-8"))


def test_page1_values_checked_by_hand() -> None:
    """Values read off the saved English page by hand."""
    first, second, third = golden(PAGE1)
    assert [j["external_id"] for j in (first, second, third)] == ["P8-126884-0", "P8-272291-0", "P8-188474-0"]
    assert first["requisition_id"] == "P8-126884-0"
    assert first["title"] == "17th & Tamarack McDonald's Full-Time Crew Member"
    assert first["url"] == ("https://careers.mcdonalds.ca/17th-tamarack-mcdonald-s-full-time-crew-member"
                            "/job/P8-126884-0")
    assert first["apply_url"] == ("https://www.mchire.com/co/McDonalds3130/Job?job_id="
                                  "PDX_MC_C91B5E11-3D37-4BD7-9B3C-7DA41D64431A_71747")
    # the integration's host prefix ("paradox-api.mchire.com-") is not the company
    assert {j["company"] for j in (first, second, third)} == {"McDonald's"}
    assert first["locations"] == [{"raw": "835 Tamarack Way N.W., Edmonton AB T6T 0S9, Canada",
                                   "city": "Edmonton", "region": "Alberta", "country": "CA"}]
    assert third["locations"] == [{"raw": "1987 Main Street, MONCTON NB E1E 1J1, Canada",
                                   "city": "MONCTON", "region": "New Brunswick", "country": "CA"}]
    assert first["description"].startswith("PLEASE NOTE THAT ONLY ONE POSITION IS AVAILABLE AT 835 TAMARACK WAY")
    assert "<p>" not in first["description"] and "&nbsp;" not in second["description"]
    # the board gives no employment type, workplace or date of its own; the
    # titles say full-time or part-time of the job
    assert [j["employment_type"] for j in (first, second, third)] == ["full_time", "part_time", "full_time"]
    for job in (first, second, third):
        assert job["workplace_type"] is None
        assert job["posted_at"] is None and job["deadline"] is None
    # the language is the normalizer's reading of the (English) descriptions
    assert {j["language"] for j in (first, second, third)} == {"en"}


def test_page389_values_checked_by_hand() -> None:
    """The French page: accents kept in titles, cities and URLs."""
    first, second, third = golden(PAGE389)
    assert [j["title"] for j in (first, second, third)] == ["Équipier à temps plein"] * 3
    assert [j["external_id"] for j in (first, second, third)] == ["P8-131106-0", "P8-233016-0", "P8-259536-0"]
    assert first["url"] == "https://careers.mcdonalds.ca/équipier-à-temps-plein/job/P8-131106-0"
    assert first["locations"] == [{"raw": "1825, Route Des Rivières, LEVIS QC G7A 1C8, Canada",
                                   "city": "LEVIS", "region": "Quebec", "country": "CA"}]
    assert second["locations"][0]["raw"] == "1224 chemin Olivier, LEVIS QC G7A 2M5, Canada"
    assert third["locations"][0]["city"] == "MIRAMICHI"
    assert first["description"].startswith("Équipier à temps plein\n\nNous sommes bien plus que")
    # the third posting has a French title over an English description
    assert third["description"].startswith("Full-Time Crew Member")
    # the API says "lang": "en" for all three: that is the site language asked
    # for, not the posting's, so the parser passes none on; the normalizer
    # reads French from the first two descriptions (French, then English)
    # and English from the third
    assert [j["language"] for j in (first, second, third)] == ["fr", "fr", "en"]
    assert [p.language for p in parse_jobs(answer((FIXTURES / PAGE389).read_bytes()), "s", SITE)[0]] == [None] * 3


# --------------------------------------------------------------------------- parser


@pytest.mark.parametrize(("body", "message"), [
    ('{"jobs": [{"reference": "P8-1"', "malformed JSON from Phenom"),
    ("<html>Access Denied</html>", "malformed JSON from Phenom"),
    ('{"status": "ok"}', "no 'jobs' list"),
    ('[{"reference": "P8-1"}]', "no 'jobs' list"),
    ('{"jobs": [{"title": "no id"}], "totalJob": 1}', "without an id"),
    ('{"jobs": ["P8-1"], "totalJob": 1}', "not an object"),
])
def test_parser_rejects_what_it_cannot_read(body: str, message: str) -> None:
    with pytest.raises(BoardError, match=message):
        parse_jobs(answer(body), "s", SITE)


def test_the_real_empty_page_still_reports_the_total() -> None:
    postings, total = parse_jobs(answer((FIXTURES / EMPTY).read_bytes()), "s", SITE)
    assert postings == [] and total == 3889


def test_missing_or_odd_totals_are_none() -> None:
    assert parse_jobs(answer('{"jobs": []}'), "s", SITE) == ([], None)
    assert parse_jobs(answer('{"jobs": [], "totalJob": "12"}'), "s", SITE) == ([], None)
    assert parse_jobs(answer('{"jobs": [], "totalJob": true}'), "s", SITE) == ([], None)


def test_ids_fall_back_and_remote_jobs_are_marked() -> None:
    job = {"uniqueID": "U-1", "title": "Remote", "isRemote": "true", "employmentType": ["Full time"],
           "employmentStatus": [{"name": "Permanent"}], "category": ["Operations"],
           "originalURL": "https://elsewhere.example/job/U-1", "companyName": "Acme Corp"}
    [p] = parse_jobs(answer(json.dumps({"jobs": [job], "totalJob": 1})), "s", SITE)[0]
    assert (p.external_id, p.requisition_id, p.url) == ("U-1", None, "https://elsewhere.example/job/U-1")
    assert p.workplace_type == "remote" and p.employment_type_raw == "Full time, Permanent"
    assert p.department == "Operations" and p.company == "Acme Corp"
    [q] = parse_jobs(answer('{"jobs": [{"sourceID": "abc", "applyURL": "https://a.example/x"}]}'), "s", SITE)[0]
    assert q.external_id == "abc" and q.url == "https://a.example/x" and q.locations == []


def test_request_pieces() -> None:
    assert site_languages("en_us") == ["en", "en-us"]
    assert site_languages("fr-CA") == ["fr", "fr-ca"]
    assert site_languages("de") == ["de"]
    assert api_url(SITE, "/api/get-jobs", 3, 10, "page_number") == \
        "https://careers.mcdonalds.ca/api/get-jobs?page_number=3"
    assert api_url(SITE, "/api/get-jobs", 3, 10, "from_size", {"radius": "15"}) == \
        "https://careers.mcdonalds.ca/api/get-jobs?radius=15&from=20&size=10"
    assert json.loads(api_body("en_us", 1, 10, "page_number")) == {
        "disable_switch_search_mode": False, "site_available_languages": ["en", "en-us"]}
    assert json.loads(api_body("fr_ca", 2, 25, "from_size"))["from"] == 25


def test_params() -> None:
    assert PhenomSpider.check_params({"url": SITE}) is None
    assert "required" in PhenomSpider.check_params({})
    assert "GET or POST" in PhenomSpider.check_params({"url": SITE, "method": "PUT"})
    assert "page_number or from_size" in PhenomSpider.check_params({"url": SITE, "paging": "cursor"})
    assert "at least 1" in PhenomSpider.check_params({"url": SITE, "max_pages": 0})


# --------------------------------------------------------------------------- the API loop, without a browser


class FakePage:
    """Stands in for the rendered careers page: answers the in-page fetch
    from canned results by page number."""

    def __init__(self, results: dict[int, dict[str, Any] | list[dict[str, Any]]]):
        self.results = results
        self.calls: list[tuple[str, str]] = []

    async def evaluate(self, script: str, arg: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((arg["method"], arg["url"]))
        number = int(parse_qs(urlsplit(arg["url"]).query)["page_number"][0])
        result = self.results.get(number, {"status": 404, "text": "not found"})
        if isinstance(result, list):  # one result per try
            result = result.pop(0) if len(result) > 1 else result[0]
        return {"contentType": "application/json", "retryAfter": None, **result}


def ok(jobs: list[dict], total: int) -> dict[str, Any]:
    return {"status": 200, "text": json.dumps({"jobs": jobs, "facets": [], "totalJob": total})}


def loop(page: FakePage, **params: Any) -> tuple[PhenomSpider, list[Posting]]:
    crawler = get_crawler(PhenomSpider, {"DOWNLOAD_DELAY": 0, "RETRY_BACKOFF_BASE": 0.01,
                                         "ROBOTSTXT_OBEY": False})
    spider = PhenomSpider.from_crawler(crawler, source="mcd", params={"url": SITE, **params})
    list(spider.start_requests())

    async def run() -> list[Any]:
        return [item async for item in spider._api_pages(page)]

    items = asyncio.run(run())
    assert all(isinstance(i, (Posting, RawPage)) for i in items)
    return spider, [i for i in items if isinstance(i, Posting)]


def numbered(n: int) -> list[dict]:
    base = real_jobs(PAGE1) + real_jobs(PAGE389)
    jobs = []
    for k in range(n):
        job = copy.deepcopy(base[k % len(base)])
        job["reference"] = f"P8-{k:06d}-0"
        jobs.append(job)
    return jobs


def test_pages_until_the_distinct_postings_reach_total_job() -> None:
    jobs = numbered(23)
    page = FakePage({1: ok(jobs[:10], 23), 2: ok(jobs[10:20], 23), 3: ok(jobs[20:], 23)})
    spider, postings = loop(page)
    assert spider.complete and len(postings) == 23
    assert [url for _, url in page.calls] == [f"https://careers.mcdonalds.ca/api/get-jobs?page_number={n}"
                                              for n in (1, 2, 3)]
    assert {m for m, _ in page.calls} == {"POST"}


def test_an_empty_page_before_total_job_is_not_complete_and_not_an_error_of_parsing() -> None:
    jobs = numbered(10)
    empty = {"status": 200, "text": (FIXTURES / EMPTY).read_text()}
    spider, postings = loop(FakePage({1: ok(jobs, 3889), 2: empty}))
    assert not spider.complete and spider.fatal is None and len(postings) == 10
    assert "page 2 is empty although totalJob is 3889 and 10 postings were seen" in spider.errors[0]
    # the real empty page as the very first answer: still not an empty board
    spider, postings = loop(FakePage({1: empty}))
    assert not spider.complete and spider.fatal is None and postings == []
    assert "page 1 is empty although totalJob is 3889" in spider.errors[0]


def test_a_board_that_is_really_empty_is_complete() -> None:
    spider, postings = loop(FakePage({1: ok([], 0)}))
    assert spider.complete and postings == []


def test_a_page_repeating_the_last_one_stops_the_loop() -> None:
    jobs = numbered(10)
    spider, postings = loop(FakePage({1: ok(jobs, 30), 2: ok(jobs, 30)}))
    assert not spider.complete and len(postings) == 10 and "repeats postings" in spider.errors[0]


def test_max_pages_makes_the_run_partial() -> None:
    jobs = numbered(30)
    spider, postings = loop(FakePage({n: ok(jobs[(n - 1) * 10:n * 10], 30) for n in (1, 2, 3)}), max_pages=2)
    assert not spider.complete and len(postings) == 20 and "max_pages" in spider.errors[0]


def test_answers_are_retried_and_failures_named() -> None:
    jobs = numbered(20)
    busy = {"status": 429, "text": "slow down", "retryAfter": "0"}
    page = FakePage({1: ok(jobs[:10], 20), 2: [busy, busy, ok(jobs[10:], 20)]})
    spider, postings = loop(page)
    assert spider.complete and len(postings) == 20 and len(page.calls) == 4
    # three 503s on page 2: partial; a 500 storm on page 1: failed
    page = FakePage({1: ok(jobs[:10], 20), 2: {"status": 503, "text": "down"}})
    spider, _ = loop(page)
    assert not spider.complete and spider.fatal is None
    assert "HTTP 503" in spider.errors[0] and "gave up after 3 tries" in spider.errors[0]
    spider, _ = loop(FakePage({1: {"status": 500, "text": "oops"}}))
    assert spider.fatal.startswith("board could not be read: HTTP 500")
    # a wall in front of the API fails the run with a blocked reason
    wall = {"status": 403, "contentType": "text/html",
            "text": "<html><head><title>Access Denied</title></head><body>Access Denied</body></html>"}
    spider, _ = loop(FakePage({1: ok(jobs[:10], 20), 2: wall}))
    assert spider.fatal.startswith("blocked: 'Access Denied' page")


def test_a_wall_answering_200_as_json_is_blocked_not_malformed() -> None:
    """The in-page fetch never passes the wall middleware: its answers are
    checked by the spider, whatever their status and Content-Type."""
    jobs = numbered(20)
    wall = {"status": 200, "contentType": "application/json",
            "text": "<html><head><title>Just a moment...</title></head><body>Checking your browser</body></html>"}
    spider, postings = loop(FakePage({1: ok(jobs[:10], 20), 2: wall}))
    assert len(postings) == 10 and not spider.complete
    assert spider.fatal.startswith("blocked: 'Just a moment...' page instead of the board at"), spider.errors
    assert spider.crawler.stats.get_value("jobdelta/walls/challenge") == 1
    spider, _ = loop(FakePage({1: ok(jobs[:10], 10)}))
    assert spider.complete and spider.complete_by == "totalJob = 10, 10 distinct postings seen"


def test_robots_txt_is_obeyed_for_the_api_calls_too() -> None:
    from scrapy.robotstxt import ProtegoRobotParser

    crawler = get_crawler(PhenomSpider, {"DOWNLOAD_DELAY": 0})
    spider = PhenomSpider.from_crawler(crawler, source="mcd", params={"url": SITE})
    list(spider.start_requests())
    # what the robots middleware announces when it has read the site's robots.txt
    parser = ProtegoRobotParser.from_crawler(crawler, b"User-agent: *\nDisallow: /api/\n")
    crawler.signals.send_catch_log(signal=signals.robots_parsed, robotparser=parser, request=None)
    page = FakePage({1: ok(numbered(3), 3)})

    async def run() -> list[Any]:
        return [item async for item in spider._api_pages(page)]

    assert asyncio.run(run()) == [] and page.calls == []
    assert spider.fatal == "robots.txt forbids https://careers.mcdonalds.ca/api/get-jobs?page_number=1"


def test_get_and_from_size_paging() -> None:
    jobs = numbered(12)

    class FromSize(FakePage):
        async def evaluate(self, script: str, arg: dict[str, Any]) -> dict[str, Any]:
            query = parse_qs(urlsplit(arg["url"]).query)
            number = int(query["from"][0]) // int(query["size"][0]) + 1
            arg = dict(arg, url=f"{arg['url']}&page_number={number}")
            return await super().evaluate(script, arg)

    page = FromSize({1: ok(jobs[:6], 12), 2: ok(jobs[6:], 12)})
    spider, postings = loop(page, method="GET", paging="from_size", page_size=6)
    assert spider.complete and len(postings) == 12
    assert page.calls[1] == ("GET", "https://careers.mcdonalds.ca/api/get-jobs?from=6&size=6&page_number=2")


# --------------------------------------------------------------------------- crawls in Chromium

SHELL = ("<!DOCTYPE html><html><head><title>Restaurant jobs | McDonald's Canada</title>"
         "<script>window.phApp = {csrfToken: 'csrf-1234'};</script></head>"
         "<body><div id='root'>Loading jobs</div>"
         "<script>document.getElementById('root').innerHTML = '<ul class=\"results-list front\"></ul>';</script>"
         "</body></html>")


def board_jobs(n: int) -> list[dict]:
    """The six real postings, then copies of them under new references."""
    real = real_jobs(PAGE1) + real_jobs(PAGE389)
    jobs = list(real)
    for k in range(n - len(real)):
        job = copy.deepcopy(real[k % len(real)])
        job["reference"] = f"P8-9{k:05d}-0"
        job["originalURL"] = job["originalURL"].rsplit("/", 1)[0] + "/" + job["reference"]
        job["title"] = f"{job['title']} #{k}"
        jobs.append(job)
    return jobs


def phenom_routes(jobs: list[dict], total: int | None = None, pages: dict[int, Reply] | None = None,
                  prefix: str = "") -> dict:
    total = len(jobs) if total is None else total

    def get_jobs(path: str, headers: dict[str, str]) -> Reply:
        number = int(parse_qs(urlsplit(path).query).get("page_number", ["1"])[0])
        if pages and number in pages:
            return pages[number]
        chunk = jobs[(number - 1) * 10:number * 10]
        return Reply(json.dumps({"jobs": chunk, "facets": [], "totalJob": total}))

    return {f"{prefix}/restaurant-jobs": Reply(SHELL, content_type="text/html; charset=utf-8"),
            f"{prefix}/api/get-jobs": get_jobs}


def api_calls(replay, since: int = 0, prefix: str = "") -> list[str]:
    return [p for m, p, _ in replay.requests[since:] if p.startswith(f"{prefix}/api/get-jobs")]


def crawl(project, sessions, *names: str) -> dict:
    """Crawl ``names`` side by side with the real CLI; their runs as stored."""
    proc = project.cli("crawl", "--jobs", str(len(names)), *names)
    runs = {}
    with sessions() as s:
        for name in names:
            run = s.scalars(select(Run).join(Source).where(Source.name == name).order_by(Run.id.desc())).first()
            runs[name] = {"id": run.id, "status": run.status, "seen": run.seen, "new": run.new,
                          "reason": run.reason}
    return {"exit": proc.returncode, "runs": runs, "run": runs[names[0]], "out": proc.stdout}


def events_of(sessions, run: dict) -> list[tuple[str, str]]:
    with sessions() as s:
        return sorted(s.execute(select(Event.kind, Event.external_id).where(Event.run_id == run["id"])).all())


def source(name: str, replay, **params: str) -> str:
    lines = [f'[[sources]]\nname = "{name}"\nboard = "phenom"\nurl = "{params.pop("url", "/restaurant-jobs")}"',
             *(f'{k} = "{v}"' for k, v in params.items()), f'base_url = "{replay.url}"', "timeout = 10"]
    return "\n".join(lines) + "\n"


@pytest.mark.browser
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_phenom_rounds(project, replay, sessions):
    jobs = board_jobs(24)
    a, c = jobs[0]["reference"], jobs[7]["reference"]
    project.write_config(source("mcd", replay))

    # round 1: 24 postings on three pages (10, 10, 4), totalJob 24: complete
    replay.set_routes(phenom_routes(jobs))
    r = crawl(project, sessions, "mcd")
    assert r["exit"] == 0 and r["run"]["status"] == "complete", r
    assert r["run"]["new"] == 24
    assert api_calls(replay) == [f"/api/get-jobs?page_number={n}" for n in (1, 2, 3)]
    posts = [(m, h) for m, p, h in replay.requests if p.startswith("/api/get-jobs")]
    # called from inside the page: POST with JSON, the page's CSRF token and referer
    assert {m for m, _ in posts} == {"POST"}
    assert {h.get("content-type") for _, h in posts} == {"application/json"}
    assert {h.get("x-csrf-token") for _, h in posts} == {"csrf-1234"}
    assert {h.get("referer") for _, h in posts} == {f"{replay.url}/restaurant-jobs"}
    stored = {p["external_id"]: p for p in project.json("postings", "--source", "mcd")}
    assert stored[a]["title"] == "17th & Tamarack McDonald's Full-Time Crew Member"
    assert stored[a]["company"] == "McDonald's"
    assert stored[a]["url"] == f"{replay.url}/17th-tamarack-mcdonald-s-full-time-crew-member/job/{a}"
    assert stored["P8-131106-0"]["title"] == "Équipier à temps plein"
    assert stored["P8-131106-0"]["locations"][0]["city"] == "LEVIS"

    # round 2: a retitled, c removed, d added
    d = board_jobs(25)[24]
    board = [dict(jobs[0], title="17th & Tamarack McDonald's Full-Time Shift Manager"),
             *jobs[1:7], *jobs[8:], d]
    replay.set_routes(phenom_routes(board))
    r = crawl(project, sessions, "mcd")
    assert r["run"]["status"] == "complete", r
    assert events_of(sessions, r["run"]) == [("changed", a), ("new", d["reference"])]

    # round 3: page 2 is the real empty answer that still says totalJob 3889:
    # not complete, not an empty board, nothing expires
    empty = Reply((FIXTURES / EMPTY).read_text())
    replay.set_routes(phenom_routes(board, pages={2: empty}))
    r = crawl(project, sessions, "mcd")
    assert r["run"]["status"] == "partial", r
    assert "get-jobs page 2 is empty although totalJob is 3889" in r["run"]["reason"]
    assert events_of(sessions, r["run"]) == []

    # round 4: a 429 storm on page 2 (Retry-After: 1): three tries, partial
    before = len(replay.requests)
    storm = Reply("Too Many Requests", status=429, content_type="text/plain", headers={"Retry-After": "1"})
    replay.set_routes(phenom_routes(board, pages={2: storm}))
    r = crawl(project, sessions, "mcd")
    assert r["run"]["status"] == "partial" and "HTTP 429" in r["run"]["reason"], r
    assert api_calls(replay, before).count("/api/get-jobs?page_number=2") == 3
    assert events_of(sessions, r["run"]) == []

    # round 5: an empty-but-200 answer (no jobs, totalJob 0) from a board that
    # had 24: suspicious by count, nothing expires
    replay.set_routes(phenom_routes([], total=0))
    r = crawl(project, sessions, "mcd")
    assert r["run"]["status"] == "suspicious", r
    assert events_of(sessions, r["run"]) == []

    # round 6: c missing from a second complete run: expired now
    replay.set_routes(phenom_routes(board))
    r = crawl(project, sessions, "mcd")
    assert r["run"]["status"] == "complete", r
    assert events_of(sessions, r["run"]) == [("expired", c)]


@pytest.mark.browser
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_phenom_walls_and_a_first_page_that_is_empty(project, replay, sessions):
    """Three sources crawled side by side: a bot check in front of the site
    (failed, blocked), a site whose first answer is the real empty page
    still reporting 3889 jobs (partial, not an empty board), and a careers
    page that is gone (failed, named)."""
    checkpoint = Reply("<html><head><title>Vercel Security Checkpoint</title></head><body>"
                       "We're verifying your browser</body></html>", status=403,
                       content_type="text/html; charset=utf-8")
    routes = {"/walled/restaurant-jobs": Reply("<html><head><title>Vercel Security Checkpoint</title>"
                                               "</head><body>We're verifying your browser</body></html>",
                                               content_type="text/html; charset=utf-8"),
              "/walled/api/get-jobs": checkpoint,
              **phenom_routes([], pages={1: Reply((FIXTURES / EMPTY).read_text())}, prefix="/stuck")}
    replay.set_routes(routes)
    project.write_config(source("walled", replay, url="/walled/restaurant-jobs", api_path="/walled/api/get-jobs")
                         + source("stuck", replay, url="/stuck/restaurant-jobs", api_path="/stuck/api/get-jobs")
                         + source("gone", replay, url="/gone/restaurant-jobs"))
    r = crawl(project, sessions, "walled", "stuck", "gone")
    walled, stuck, gone = r["runs"]["walled"], r["runs"]["stuck"], r["runs"]["gone"]
    assert gone["status"] == "failed" and gone["reason"].startswith("board not found: check the board parameters (HTTP 404 from"), gone
    assert api_calls(replay, prefix="/gone") == []
    assert walled["status"] == "failed", r
    assert walled["reason"].startswith("blocked: 'Security Checkpoint' page"), walled
    assert stuck["status"] == "partial", r
    assert "get-jobs page 1 is empty although totalJob is 3889 and 0 postings were seen" in stuck["reason"]
    assert api_calls(replay, prefix="/stuck") == ["/stuck/api/get-jobs?page_number=1"]
