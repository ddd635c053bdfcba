"""Microsoft Careers (Eightfold PCSX API): golden files, parser units,
end-to-end rounds, and the browser fallback in real headless Chromium.

No real Microsoft response exists: the payloads in
tests/data/fixtures/microsoft/ are CONSTRUCTED from the fixtures README and
the five seed postings (real text of real Microsoft roles); README.txt
there says which values come from the seeds and which are invented. The
replayed boards are built from those five (and copies of four of them).
"""

from __future__ import annotations

import copy
import json
import os
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import scrapy
from scrapy.http import TextResponse
from sqlalchemy import select

from crawler.errors import BoardError
from crawler.items import Gone, Posting, Seen
from crawler.replay import Reply
from db.models import Event, Run
from spiders.microsoft import MicrosoftSpider
from spiders.parsers import microsoft as ms

from ..conftest import DATA
from .replay_helpers import check_golden, run_errors

FIXTURES = DATA / "fixtures" / "microsoft"
GOLDEN = DATA / "golden" / "microsoft"
SEARCH_FIXTURE = FIXTURES / "constructed_search_seeds.json"
FETCHED_AT = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
UPDATE = os.environ.get("JOBDELTA_UPDATE_GOLDEN") == "1"
BASE = "https://apply.careers.microsoft.com"
# the constructed positions, newest first, with the seed each was built from
CO_DESIGN, ENG_MANAGER, AI_ARCHITECT, HW_ARCHITECT, ARCHITECT = (
    "1970393556642101", "1970393556641877", "1970393556640519", "1970393556639350", "1970393556638812")


def response(body: bytes | str, url: str = BASE + "/api/pcsx/search?domain=microsoft.com&start=0") -> TextResponse:
    data = body.encode("utf-8") if isinstance(body, str) else body
    return TextResponse(url=url, body=data, encoding="utf-8")


def search_payload() -> dict:
    return json.loads(SEARCH_FIXTURE.read_text(encoding="utf-8"))


def details_payload(pid: str) -> dict:
    return json.loads((FIXTURES / f"constructed_details_{pid}.json").read_text(encoding="utf-8"))


def seed_positions() -> list[ms.Position]:
    return ms.parse_search(response(SEARCH_FIXTURE.read_bytes())).positions


# -- golden files


def _check_golden(name: str, postings: list[Posting]) -> list[dict]:
    return check_golden(GOLDEN / f"{name}.json", postings, FETCHED_AT)


def test_golden_search() -> None:
    page = ms.parse_search(response(SEARCH_FIXTURE.read_bytes()))
    assert page.total == 5
    out = _check_golden("constructed_search_seeds", [ms.listing_posting(p, "microsoft") for p in page.positions])
    by_id = {p["external_id"]: p for p in out}
    assert list(by_id) == [CO_DESIGN, ENG_MANAGER, AI_ARCHITECT, HW_ARCHITECT, ARCHITECT]
    co = by_id[CO_DESIGN]
    assert co["title"] == ("Principal Hardware-Software Co-Design Engineer, AI HPC Systems - "
                           "MAI Superintelligence Team")
    # Microsoft writes the country first
    assert co["locations"] == [
        {"raw": "United Kingdom, London, London", "city": "London", "region": "London", "country": "GB"},
        {"raw": "Switzerland, Zürich, Zürich", "city": "Zürich", "region": "Zürich", "country": "CH"},
    ]
    assert co["workplace_type"] == "onsite" and co["company"] == "Microsoft"
    assert co["requisition_id"] == "200019764"
    assert co["url"] == f"{BASE}/careers/job/{CO_DESIGN}"
    assert co["posted_at"] == "2025-11-20T00:00:00+00:00" and co["posted_at_raw"] == "1763596800"
    assert by_id[ENG_MANAGER]["locations"] == [
        {"raw": "Multiple Locations, United States", "city": None, "region": None, "country": "US"}]
    assert by_id[ARCHITECT]["locations"] == [] and by_id[ARCHITECT]["workplace_type"] is None


def test_golden_details() -> None:
    positions = seed_positions()
    postings = [ms.parse_position_details(
        response((FIXTURES / f"constructed_details_{p.external_id}.json").read_bytes(),
                 ms.details_url(BASE, p.external_id)), "microsoft", p) for p in positions]
    out = _check_golden("constructed_details_seeds", postings)
    by_id = {p["external_id"]: p for p in out}
    architect = by_id[AI_ARCHITECT]
    assert architect["salary"] == [{"min": 163000, "max": 296400, "currency": "USD", "period": "year",
                                    "raw": "USD 163,000.00 - 296,400.00 per year"}]
    assert architect["deadline"] == "2025-11-14"
    assert architect["deadline_raw"] == "accept applications for the role until November 14th, 2025"
    assert architect["locations"][0]["city"] == "Redmond"
    manager = by_id[ENG_MANAGER]
    assert [(s["min"], s["max"]) for s in manager["salary"]] == [(139900, 274800), (188000, 304200)]
    assert manager["deadline"] is None  # "on an ongoing basis"
    co = by_id[CO_DESIGN]
    assert co["description"].startswith("Overview:\n\nOur team’s mission is to architect")
    assert "Lead the co-design of AI systems" in co["description"] and "<li>" not in co["description"]
    assert co["url"] == f"{BASE}/careers/job/{CO_DESIGN}"
    for p in out:
        assert p["company"] == "Microsoft" and p["description"]
        assert p["requisition_id"].startswith("2000")


# -- parser units


@pytest.mark.parametrize(("body", "message"), [
    ('{"status": 200, "data": {"positions": [', "malformed JSON from Microsoft Careers search"),
    ("[1, 2]", "search is not a JSON object"),
    ('{"status": 200, "data": {"count": 4}}', "no 'positions' list"),
    ('{"status": 200, "data": {"positions": "x"}}', "no 'positions' list"),
    ('{"status": 200, "data": {"positions": [{"name": "no id"}]}}', "position without an id"),
    ('{"status": 429, "message": "Too many requests"}', "says status 429 Too many requests"),
])
def test_search_errors(body: str, message: str) -> None:
    with pytest.raises(BoardError, match=message):
        ms.parse_search(response(body))


@pytest.mark.parametrize(("body", "total", "n"), [
    ('{"status": 200, "data": {"positions": [], "count": 0}}', 0, 0),
    ('{"status": 200, "data": {"count": 0}}', 0, 0),  # an empty board may leave the list out
    ('{"data": {"positions": [{"id": 7, "title": "T"}], "total": "12"}}', 12, 1),  # total, title
    ('{"positions": [{"id": "7", "name": "T"}]}', None, 1),  # no envelope, no count
])
def test_search_tolerates_shapes(body: str, total: int | None, n: int) -> None:
    page = ms.parse_search(response(body))
    assert (page.total, len(page.positions)) == (total, n)
    if n:
        assert page.positions[0].external_id == "7" and page.positions[0].title == "T"


def test_position_fields() -> None:
    item = {"id": 42, "displayJobId": "200000042", "postingName": "Engineer",
            "standardizedLocations": ["Mumbai, MH, IN"], "creationTs": 1700000000}
    pos = ms.position(item)
    assert (pos.external_id, pos.title, pos.job_number, pos.posted_ts) == ("42", "Engineer", "200000042", "1700000000")
    assert pos.locations == ("Mumbai, MH, IN",)
    assert pos.url == f"{BASE}/careers/job/42"
    # the fingerprint follows what the search shows
    assert ms.position({**item, "postedTs": 1700000001}).fingerprint != pos.fingerprint
    assert ms.position(dict(item)).fingerprint == pos.fingerprint


@pytest.mark.parametrize(("text", "city", "region", "country"), [
    ("United Kingdom, London, London", "London", "London", "United Kingdom"),
    ("United States, Washington, Redmond", "Redmond", "Washington", "United States"),
    ("Multiple Locations, United States", None, None, "United States"),
    ("India", None, None, "India"),
    ("Redmond, Washington, United States", "Redmond", "Washington", "US"),
    ("Multiple Locations", None, None, None),
])
def test_place(text: str, city: str | None, region: str | None, country: str | None) -> None:
    assert ms.place(text) == {"raw": text, "city": city, "region": region, "country": country}


def test_details_errors_and_gone() -> None:
    pos = seed_positions()[0]
    url = ms.details_url(BASE, pos.external_id)
    with pytest.raises(BoardError, match="malformed JSON"):
        ms.parse_position_details(response("<html>", url), "microsoft", pos)
    with pytest.raises(BoardError, match="no 'jobDescription'"):
        ms.parse_position_details(response('{"status": 200, "data": {"id": 1}}', url), "microsoft", pos)
    gone = ms.parse_position_details(response('{"status": 404, "message": "Position not found"}', url),
                                     "microsoft", pos)
    assert isinstance(gone, Gone) and gone.external_id == pos.external_id
    assert gone.reason == "position details answered not found"


def test_details_fill_in_from_the_search() -> None:
    pos = seed_positions()[0]
    bare = {"status": 200, "data": {"jobDescription": "<p>Build things.</p>"}}
    posting = ms.parse_position_details(response(json.dumps(bare)), "microsoft", pos)
    assert posting.external_id == pos.external_id and posting.title == pos.title
    assert posting.requisition_id == "200019764" and posting.locations_raw == list(pos.locations)
    assert posting.url == f"{BASE}/careers/job/{pos.external_id}"


def test_urls() -> None:
    assert ms.search_url(BASE, "AI infra", "United States", 10) == (
        f"{BASE}/api/pcsx/search?domain=microsoft.com&query=AI+infra&location=United+States&start=10")
    assert ms.details_url(BASE, "42") == f"{BASE}/api/pcsx/position_details?position_id=42&domain=microsoft.com&hl=en"
    assert ms.search_page_url(BASE, "", "", 0).startswith(f"{BASE}/careers?query=&location=&start=0")


@pytest.mark.parametrize(("params", "problem"), [
    ({}, None),
    ({"query": "AI", "location": "United States", "max_results": 50}, None),
    ({"max_results": 0}, "max_results: must be at least 1"),
    ({"recycle_every": 0}, "recycle_every: must be at least 1"),
    ({"max_results": "10"}, "max_results: must be a whole number"),
    ({"company": "x"}, "unknown key 'company'"),
])
def test_params(params: dict, problem: str | None) -> None:
    result = MicrosoftSpider.check_params(params)
    assert (result is None) if problem is None else (problem in result), result


def test_board_declares_the_reported_rate_and_the_browser() -> None:
    assert MicrosoftSpider.min_download_delay == 0.6  # about 100 requests a minute
    assert MicrosoftSpider.custom_settings["DOWNLOAD_HANDLERS"]["https"].startswith("scrapy_playwright")
    assert MicrosoftSpider.default_base_url == BASE


# -- the replayed board

SEARCH_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Search Jobs | Microsoft Careers</title></head>
<body><main id="app">Loading jobs…</main>
<script>
  const here = new URLSearchParams(location.search);
  const ask = new URLSearchParams({domain: 'microsoft.com', query: here.get('query') || '',
                                   location: here.get('location') || '', start: here.get('start') || '0'});
  fetch('/api/pcsx/search?' + ask).then(r => r.json()).then(d => {
    document.getElementById('app').innerHTML =
      d.data.positions.map(p => '<article class="job">' + p.name + '</article>').join('');
  });
</script></body></html>"""

JOB_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Microsoft Careers</title></head>
<body><main id="app">Loading…</main>
<script>
  const id = location.pathname.split('/').pop();
  fetch('/api/pcsx/position_details?position_id=' + id + '&domain=microsoft.com&hl=en')
    .then(r => r.json()).then(d => { document.getElementById('app').innerHTML = d.data.jobDescription; });
</script></body></html>"""

BOT_PAGE = ("<html><head><title>Security Checkpoint</title></head>"
            "<body><h1>Verifying you are human</h1></body></html>")


def make_board(n: int) -> tuple[list[dict], dict[str, dict]]:
    """The five constructed positions, then copies of four of them (not the
    one whose deadline has passed) under new ids, older and older."""
    base = search_payload()["data"]["positions"]
    details = {str(p["id"]): details_payload(str(p["id"]))["data"] for p in base}
    positions = copy.deepcopy(base)
    sources = [p for p in base if str(p["id"]) != AI_ARCHITECT]
    for i in range(n - len(base)):
        src = sources[i % len(sources)]
        pos = copy.deepcopy(src)
        pos["id"] = 1970393556600000 + i
        pos["atsJobId"] = pos["displayJobId"] = str(200100000 + i)
        pos["name"] = f"{src['name']} #{i}"
        pos["postedTs"] = base[-1]["postedTs"] - 86400 * (i + 1)
        pos["positionUrl"] = f"/careers/job/{pos['id']}"
        positions.append(pos)
        details[str(pos["id"])] = {**copy.deepcopy(details[str(src["id"])]),
                                   **{k: pos[k] for k in pos}, "publicUrl": f"{BASE}{pos['positionUrl']}"}
    return positions, details


class FakeMicrosoft:
    """Microsoft Careers on the replay server: the search (10 a page) and
    details APIs, and the pages a browser renders. ``refuse_from``: plain
    API requests for pages from this start on answer 405 (sustained paging
    refused), as do plain details requests for ``refuse_details``; the
    pages' own script calls (the browser's fetch sends Sec-Fetch-Mode) are
    answered."""

    def __init__(self, positions: list[dict], details: dict[str, dict]):
        self.positions = positions
        self.details = details
        self.refuse_from: int | None = None
        self.refuse_details: set[str] = set()  # position ids
        self.search_override: dict[int, Reply] = {}
        self.detail_override: dict[str, Reply] = {}
        self.page_override: Reply | None = None

    @staticmethod
    def from_browser(headers: dict[str, str]) -> bool:
        return headers.get("sec-fetch-mode") == "cors"

    def search(self, path: str, headers: dict[str, str]) -> Reply:
        start = int(parse_qs(urlsplit(path).query)["start"][0])
        if start in self.search_override:
            return self.search_override[start]
        if self.refuse_from is not None and start >= self.refuse_from and not self.from_browser(headers):
            return Reply("<html><body>Method Not Allowed</body></html>", status=405, content_type="text/html")
        page = self.positions[start:start + ms.PAGE_SIZE]
        return Reply(json.dumps({"status": 200, "data": {"positions": page, "count": len(self.positions)}}))

    def position_details(self, path: str, headers: dict[str, str]) -> Reply:
        pid = parse_qs(urlsplit(path).query)["position_id"][0]
        if pid in self.detail_override:
            return self.detail_override[pid]
        if pid in self.refuse_details and not self.from_browser(headers):
            return Reply("Method Not Allowed", status=405, content_type="text/plain")
        if pid not in self.details:
            return Reply('{"status": 404, "message": "not found"}', status=404)
        return Reply(json.dumps({"status": 200, "data": self.details[pid]}))

    def routes(self) -> dict:
        page = self.page_override or Reply(SEARCH_PAGE, content_type="text/html; charset=utf-8")
        routes: dict = {ms.SEARCH_API: self.search, ms.DETAILS_API: self.position_details, "/careers": page}
        for pid in self.details:
            routes[f"/careers/job/{pid}"] = self.page_override or Reply(JOB_PAGE, content_type="text/html; charset=utf-8")
        return routes


def config(project, replay, extra: str = "") -> None:
    project.write_config(f'[[sources]]\nname = "microsoft"\nboard = "microsoft"\n{extra}'
                         f'base_url = "{replay.url}"\n', defaults="full_refresh_every = 10")


def crawl(project, sessions, *flags: str) -> dict:
    """One crawl with the real CLI; the run as stored."""
    proc = project.cli("crawl", "microsoft", *flags)
    with sessions() as s:
        run = s.scalars(select(Run).order_by(Run.id.desc()).limit(1)).one()
        return {"exit": proc.returncode, "out": proc.stdout, "err": proc.stderr, "id": run.id,
                "status": run.status, "reason": run.reason, "seen": run.seen, "new": run.new}


def events(sessions, run_id: int) -> list[tuple[str, str]]:
    with sessions() as s:
        rows = s.execute(select(Event.kind, Event.external_id).where(Event.run_id == run_id)).all()
    return sorted((kind, ext) for kind, ext in rows)


def reason_of(sessions, kind: str, ext: str) -> str:
    with sessions() as s:
        return s.scalars(select(Event.reason).where(Event.kind == kind, Event.external_id == ext)).one()


def requests_to(replay, api: str, since: int = 0) -> list[dict[str, Any]]:
    found = []
    for _method, path, headers in replay.requests[since:]:
        if urlsplit(path).path == api:
            found.append({**{k: v[0] for k, v in parse_qs(urlsplit(path).query).items()},
                          "browser": FakeMicrosoft.from_browser(headers)})
    return found


def details_fetched(replay, since: int) -> list[str]:
    return sorted(r["position_id"] for r in requests_to(replay, ms.DETAILS_API, since))


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the store is tested on both elsewhere
def test_microsoft_rounds(project, replay, sessions):
    positions, details = make_board(14)
    newest, pool = positions[-1], positions[:13]  # one held back, added later as the newest
    board = FakeMicrosoft(pool, details)
    replay.set_routes(board.routes())
    config(project, replay)

    # round 1: 13 positions over two search pages, every posting's details fetched.
    # The AI Architect's seed says applications closed on November 14th, 2025: expired at once.
    r = crawl(project, sessions)
    assert r["status"] == "complete" and r["new"] == 13, r
    assert [q["start"] for q in requests_to(replay, ms.SEARCH_API)] == ["0", "10"]
    assert details_fetched(replay, 0) == sorted(str(p["id"]) for p in pool)
    assert events(sessions, r["id"]).count(("expired", AI_ARCHITECT)) == 1
    assert reason_of(sessions, "expired", AI_ARCHITECT) == "expired: deadline passed (2025-11-14)"
    stored = {p["external_id"]: p for p in project.json("postings", "--source", "microsoft",
                                                         "--status", "all")}
    co = stored[CO_DESIGN]
    assert co["title"].startswith("Principal Hardware-Software Co-Design Engineer")
    assert co["requisition_id"] == "200019764" and co["company"] == "Microsoft"
    assert [loc["country"] for loc in co["locations"]] == ["GB", "CH"]
    assert co["workplace_type"] == "onsite" and co["description"].startswith("Overview:")
    assert [s["raw"] for s in stored[AI_ARCHITECT]["salary"]] == ["USD 163,000.00 - 296,400.00 per year"]

    # round 2: the search shows everything unchanged: no details fetched, no events;
    # except the expired one, still listed: only an open posting is vouched for by the
    # search, so its details are read again (a moved deadline would reopen it)
    mark = len(replay.requests)
    r = crawl(project, sessions)
    assert r["status"] == "complete" and events(sessions, r["id"]) == [] and r["seen"] == 13
    assert details_fetched(replay, mark) == [AI_ARCHITECT]

    # round 3: the co-design role retitled, the Principal Architect gone, a newer role on
    # top (every other one shifts down a place): only the two (and the expired one) are fetched
    board.positions[0]["name"] = details[CO_DESIGN]["name"] = "Principal Co-Design Engineer, AI HPC Systems"
    board.positions = [newest] + [p for p in pool if str(p["id"]) != ARCHITECT]
    replay.set_routes(board.routes())
    mark = len(replay.requests)
    r = crawl(project, sessions)
    assert r["status"] == "complete", r
    assert events(sessions, r["id"]) == [("changed", CO_DESIGN), ("new", str(newest["id"]))]
    assert details_fetched(replay, mark) == sorted([CO_DESIGN, str(newest["id"]), AI_ARCHITECT])

    # round 4: the second page comes back empty while the count says 13: partial, and the
    # Principal Architect (missing once) does not expire from it
    board.search_override[10] = Reply(json.dumps({"status": 200, "data": {"positions": [], "count": 13}}))
    r = crawl(project, sessions)
    assert r["status"] == "partial" and "the search gave 10 of the 13 postings it counts" in r["reason"], r
    assert events(sessions, r["id"]) == []
    board.search_override = {}

    # round 5: the Senior AI Hardware Architect was reposted (the search moved) but its
    # details answer 404 while the search still lists it: the listing wins, it is kept
    # as it was (no proof), and the run says so. The Principal Architect is missing from
    # a second complete run.
    hw = next(p for p in board.positions if str(p["id"]) == HW_ARCHITECT)
    hw["postedTs"] += 3600
    board.detail_override[HW_ARCHITECT] = Reply('{"status": 404, "message": "not found"}', status=404)
    replay.set_routes(board.routes())
    r = crawl(project, sessions)
    assert r["status"] == "complete", r
    assert events(sessions, r["id"]) == [("expired", ARCHITECT)]
    assert (f"posting {HW_ARCHITECT} is listed but its page answered 404: kept as it was, not expired"
            in run_errors(sessions, r["id"]))
    assert reason_of(sessions, "expired", ARCHITECT) == "expired: missing from 2 consecutive complete runs"

    # round 6: a 429 storm (Retry-After honoured, then given up; never the browser): failed
    board.search_override = {0: Reply("Too Many Requests", status=429, content_type="text/plain",
                                      headers={"Retry-After": "1"})}
    mark = len(replay.requests)
    r = crawl(project, sessions)
    assert r["status"] == "failed" and "HTTP 429" in r["reason"], r
    assert [q["start"] for q in requests_to(replay, ms.SEARCH_API, mark)] == ["0", "0", "0"]
    assert not any(p.startswith("/careers") for _m, p, _h in replay.requests[mark:])
    assert events(sessions, r["id"]) == []

    # round 7: max_results stops the search early: partial, nothing expires
    board.search_override = {}
    config(project, replay, extra="max_results = 5\n")
    r = crawl(project, sessions)
    assert r["status"] == "partial" and "stopped at max_results=5 of the 13" in r["reason"], r
    assert events(sessions, r["id"]) == []
    config(project, replay)

    # round 8: an empty-but-200 search: suspicious, nothing expires
    board.search_override = {0: Reply(json.dumps({"status": 200, "data": {"positions": [], "count": 0}}))}
    r = crawl(project, sessions)
    assert r["status"] == "suspicious", r
    assert events(sessions, r["id"]) == []


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_microsoft_falls_back_to_the_browser(project, replay, sessions, capfd):
    """The API answers the first search page, then refuses (405) further
    paging, and the details of the postings past it, to a plain client. The
    spider renders the careers site's pages in headless Chromium and reads
    the JSON their scripts fetch: every posting still comes through, whole."""
    positions, details = make_board(12)
    board = FakeMicrosoft(positions, details)
    late = {str(p["id"]) for p in positions[10:]}
    board.refuse_from, board.refuse_details = 10, late
    replay.set_routes(board.routes())
    config(project, replay, extra="recycle_every = 1\n")

    capfd.readouterr()
    r = crawl(project, sessions, "--verbose")
    log = capfd.readouterr().err  # the crawl process's log (its stats at the end)
    assert r["status"] == "complete" and r["new"] == 12, (r, log[-3000:])
    # three pages rendered (search page 2, two job pages), each in a context of its own,
    # every context closed once its page was done
    assert "'playwright/page_count': 3," in log and "'playwright/context_count': 3," in log
    assert "'jobdelta/browser/contexts_closed': 3," in log
    searches = [(q["start"], q["browser"]) for q in requests_to(replay, ms.SEARCH_API)]
    assert searches == [("0", False), ("10", False), ("10", True)]
    assert any(p.startswith("/careers?") and "start=10" in p for _m, p, _h in replay.requests)
    by_browser = {q["position_id"] for q in requests_to(replay, ms.DETAILS_API) if q["browser"]}
    assert by_browser == late
    stored = {p["external_id"]: p for p in project.json("postings", "--source", "microsoft",
                                                         "--status", "all")}
    assert set(stored) == {str(p["id"]) for p in positions}
    assert stored[CO_DESIGN]["description"].startswith("Overview:\n\nOur team’s mission")
    for pid in late:  # listed by the rendered page 2 only, read from rendered job pages
        pos = next(p for p in positions if str(p["id"]) == pid)
        assert stored[pid]["title"] == pos["name"] and stored[pid]["requisition_id"] == pos["atsJobId"]
        src = next(p for p in positions[:5] if p["name"] == pos["name"].rsplit(" #", 1)[0])
        assert stored[pid]["description"] == stored[str(src["id"])]["description"]

    # a bot check everywhere (the API and the pages the browser renders): failed, blocked
    board.search_override = {0: Reply(BOT_PAGE, status=403, content_type="text/html")}
    board.page_override = Reply(BOT_PAGE, content_type="text/html")
    replay.set_routes(board.routes())
    r = crawl(project, sessions)
    assert r["status"] == "failed", r
    assert r["reason"].startswith("blocked:") and "Security Checkpoint" in r["reason"], r
    assert events(sessions, r["id"]) == []


# -- the spider's paging, without a crawl


def spider(params: dict | None = None, known: dict[str, str] | None = None) -> MicrosoftSpider:
    from scrapy.statscollectors import MemoryStatsCollector
    from scrapy.utils.test import get_crawler

    crawler = get_crawler(MicrosoftSpider)
    crawler.stats = MemoryStatsCollector(crawler)
    s = MicrosoftSpider.from_crawler(crawler, source="microsoft", params=params or {},
                                     base_url="http://board", known_listing=known or {},
                                     full_refresh=not known)
    list(s.start_requests())
    return s


def page(ids: range | list[int], count: int | None) -> TextResponse:
    data: dict[str, Any] = {"positions": [{"id": i, "name": f"Job {i}", "postedTs": 1760000000 - i}
                                          for i in ids]}
    if count is not None:
        data["count"] = count
    return response(json.dumps({"status": 200, "data": data}))


def run_page(s: MicrosoftSpider, start: int, resp: TextResponse) -> tuple[list[str], list[int], list]:
    out = list(s.parse_search(resp, start))
    requests = [r for r in out if isinstance(r, scrapy.Request)]
    details = [parse_qs(urlsplit(r.url).query)["position_id"][0] for r in requests
               if ms.DETAILS_API in r.url]
    searches = [int(parse_qs(urlsplit(r.url).query)["start"][0]) for r in requests
                if ms.SEARCH_API in r.url]
    return details, searches, out


def test_paging_by_count() -> None:
    s = spider()
    assert run_page(s, 0, page(range(10), 25))[:2] == ([str(i) for i in range(10)], [10])
    assert run_page(s, 10, page(range(10, 20), 0))[1] == [20]  # the first count stands
    details, searches, _ = run_page(s, 20, page(range(20, 25), 25))
    assert (len(details), searches, s.board_complete, s.complete) == (5, [], True, True)


def test_paging_without_a_count_ends_at_a_short_page() -> None:
    s = spider()
    assert run_page(s, 0, page(range(10), None))[1] == [10]
    assert run_page(s, 10, page(range(10, 13), None))[1] == []
    assert s.board_complete is True and len(s._ids) == 13


def test_a_short_search_is_not_complete() -> None:
    s = spider()
    run_page(s, 0, page(range(10), 25))
    assert run_page(s, 10, page([], 25))[1] == []
    assert s.board_complete is False and s.errors == ["the search gave 10 of the 25 postings it counts"]


def test_a_position_shifted_onto_the_next_page_is_fetched_once() -> None:
    s = spider()
    run_page(s, 0, page(range(10), 19))
    details, searches, _ = run_page(s, 10, page(range(9, 19), 19))  # a newer posting pushed 9 down
    assert details == [str(i) for i in range(10, 19)] and searches == []
    assert s.board_complete is True


def test_max_results_stops_the_search() -> None:
    s = spider({"max_results": 12})
    run_page(s, 0, page(range(10), 25))
    details, searches, _ = run_page(s, 10, page(range(10, 20), 25))
    assert details == ["10", "11"] and searches == []
    assert s.board_complete is False and "stopped at max_results=12 of the 25" in s.errors[0]
    # a cap the board fits in is no cap
    s = spider({"max_results": 5})
    assert run_page(s, 0, page(range(5), 5))[0] == ["0", "1", "2", "3", "4"]
    assert s.board_complete is True


def test_unchanged_positions_are_seen_not_fetched() -> None:
    listed = ms.parse_search(page(range(3), 3)).positions
    s = spider(known={p.external_id: p.fingerprint for p in listed[:2]})
    details, _, out = run_page(s, 0, page(range(3), 3))
    assert details == ["2"]
    assert [o.external_id for o in out if isinstance(o, Seen)] == ["0", "1"]


def test_an_html_answer_switches_to_the_browser() -> None:
    s = spider()
    [request] = list(s.parse_search(response("<html><body>app shell</body></html>"), 0))
    assert request.meta["playwright"] is True and request.meta["dont_cache"] is True
    assert urlsplit(request.url).path == "/careers" and "start=0" in request.url
    assert request.meta["playwright_context"] == "microsoft-0"
    assert s.board_complete is None and s.errors == []


def test_plain_api_answers_skip_the_wall_middleware_and_are_checked_here() -> None:
    """A refusal of the plain API sends the spider to the browser, so the
    wall middleware leaves those answers alone (the rendered pages pass it);
    a wall that is no refusal still fails the run as blocked."""
    s = spider()
    [search] = list(s.start_requests())
    assert search.meta["dont_check_walls"] is True
    [rendered] = list(s.parse_search(response("<html><body>app shell</body></html>"), 0))
    assert "dont_check_walls" not in rendered.meta
    out = list(s.parse_search(response("Access denied"), 0))
    assert out == [] and s.fatal.startswith("blocked: 'Access denied' page instead of the board at")
    assert s.crawler.stats.get_value("jobdelta/walls/waf") == 1
