"""The generic ``browser`` board: parser and context-pool unit tests, and
crawls in real headless Chromium (Debian's /usr/bin/chromium) over rounds.

The site is tests/data/spa/careers.html, a single-page app written for
these tests: its HTML holds no posting; its script fetches
``/api/jobs?page=N`` and renders the cards, paged by a next link, a next
button, a "load more" button or infinite scroll (``?mode=``). The postings
it serves are the six real McDonald's Canada postings of
tests/data/fixtures/phenom/ (title, place, reference), plus copies under
new references. Posting pages for ``detail = true`` are the real Neura
Robotics JSON-LD page, and the real Meta JSON-LD carried in Next.js flight
data the way tests/data/spa/nextjs_meta_app_router.html is constructed.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from scrapy.http import HtmlResponse, TextResponse
from sqlalchemy import select

from crawler.errors import BoardError
from crawler.normalize import normalize_posting
from crawler.replay import Reply
from db.models import Event, Run, Source
from spiders.browser import BrowserSpider, ContextPool, _Captured
from spiders.parsers.browser import dig, next_link, parse_captured, parse_cards, path_id

from .test_nextjs import app_router_page, meta_jsonld

ROOT = Path(__file__).resolve().parent.parent.parent
DATA = ROOT / "tests" / "data"
SPA = DATA / "spa" / "careers.html"
PHENOM = DATA / "fixtures" / "phenom"
NEURA = DATA / "fixtures" / "jsonld" / "jobseek_neura_robotics_manager.html"
LINKEDIN = DATA / "spa" / "hunt_guest_seeMoreJobPostings_kraken.html"
FETCHED_AT = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
FIELDS = ('{ title = "h3::text", url = "a::attr(href)", location = ".loc::text", '
          'external_id = "::attr(data-id)" }')
CAPTURE_FIELDS = '{ external_id = "id", title = "title", url = "url", location = "locations" }'

# --------------------------------------------------------------------------- parser

CARDS = """<html><body><ul class="jobs">
<li class="job" data-id="A-1"><h3>Data <b>Engineer</b></h3><a href="/jobs/a-1?utm_source=x">View</a>
  <span class="loc">Berlin, DE</span><span class="loc">Remote, EU</span><div class="desc"><p>Build <i>it</i></p></div></li>
<li class="job"><h3>  ML   Engineer </h3><a href="https://jobs.example.com/jobs/ml?id=7&amp;utm_campaign=y">View</a></li>
<li class="job"><h3>No link, no id</h3></li>
<li class="job" data-id=""><h3>Script link</h3><a href="javascript:void(0)">View</a></li>
</ul><a class="next" href="?page=2">Next</a><button class="more" disabled>More</button></body></html>"""


def rendered(body: str = CARDS, url: str = "https://jobs.example.com/careers") -> HtmlResponse:
    return HtmlResponse(url=url, body=body.encode(), encoding="utf-8")


def test_cards_fields_ids_and_urls() -> None:
    fields = {"title": "h3::text", "url": "a::attr(href)", "location": ".loc::text",
              "external_id": "::attr(data-id)", "description": ".desc"}
    postings, skipped = parse_cards(rendered(), "ex", "li.job", fields)
    assert skipped == 2  # no id and no usable url
    first, second = postings
    # "::attr(data-id)" is the card's own attribute, not a child's
    assert (first.external_id, first.title) == ("A-1", "Data")
    assert first.url == "https://jobs.example.com/jobs/a-1?utm_source=x"
    assert first.locations_raw == ["Berlin, DE", "Remote, EU"]
    assert first.description_html == '<div class="desc"><p>Build <i>it</i></p></div>'
    # without an id, the id is the url's path and query, tracking removed
    assert second.external_id == "/jobs/ml?id=7" and second.title == "ML Engineer"
    assert second.url == "https://jobs.example.com/jobs/ml?id=7&utm_campaign=y"
    # a plain selector reads the element's whole text
    postings, _ = parse_cards(rendered(), "ex", "li.job", {"title": "h3", "external_id": "::attr(data-id)"})
    assert postings[0].title == "Data Engineer"


def test_real_job_cards() -> None:
    """The card parser on real job-card markup (LinkedIn's guest job cards,
    tests/data/spa/hunt_guest_seeMoreJobPostings_kraken.html); values
    checked by hand against the file."""
    url = "https://www.linkedin.com/jobs-guest/jobs/api/seeMoreJobPostings/search?f_C=kraken&start=0"
    page = HtmlResponse(url=url, body=LINKEDIN.read_bytes(), encoding="utf-8")
    fields = {"external_id": "div.base-card::attr(data-entity-urn)", "title": "h3.base-search-card__title::text",
              "company": "h4 a::text", "url": "a.base-card__full-link::attr(href)",
              "location": ".job-search-card__location::text", "posted_at": "time::attr(datetime)"}
    postings, skipped = parse_cards(page, "kraken", "li", fields)
    assert skipped == 0
    jobs = [normalize_posting(p, fetched_at=FETCHED_AT).to_dict() for p in postings]
    assert [(j["external_id"], j["title"], j["posted_at"]) for j in jobs] == [
        ("urn:li:jobPosting:4465923787", "Senior Software Engineer - Rust - Core Services", "2026-09-15"),
        ("urn:li:jobPosting:4459771918", "Senior Software Engineer - Rust - Backend - Pro", "2026-09-21"),
    ]
    assert {j["company"] for j in jobs} == {"Kraken"}
    assert jobs[0]["locations"] == [{"raw": "Brazil", "city": None, "region": None, "country": "BR"}]
    # refId and trackingId are tracking: the normalizer drops them from the url
    assert jobs[0]["url"] == ("https://br.linkedin.com/jobs/view/senior-software-engineer-rust-core-services-"
                              "at-kraken-4465923787?position=1&pageNum=0")


def test_real_job_cards_golden() -> None:
    """Every canonical field read from the real LinkedIn cards, against
    tests/data/golden/browser/ (JOBDELTA_UPDATE_GOLDEN=1 rewrites it)."""
    url = "https://www.linkedin.com/jobs-guest/jobs/api/seeMoreJobPostings/search?f_C=kraken&start=0"
    page = HtmlResponse(url=url, body=LINKEDIN.read_bytes(), encoding="utf-8")
    fields = {"external_id": "div.base-card::attr(data-entity-urn)", "title": "h3.base-search-card__title::text",
              "company": "h4 a::text", "url": "a.base-card__full-link::attr(href)",
              "location": ".job-search-card__location::text", "posted_at": "time::attr(datetime)"}
    postings, _ = parse_cards(page, "kraken", "li", fields)
    got = [normalize_posting(p, fetched_at=FETCHED_AT).to_dict() for p in postings]
    golden = DATA / "golden" / "browser" / "hunt_guest_seeMoreJobPostings_kraken.json"
    if os.environ.get("JOBDELTA_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(json.dumps(got, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert got == json.loads(golden.read_text(encoding="utf-8"))


def test_the_spa_html_holds_no_posting_before_javascript_runs() -> None:
    postings, skipped = parse_cards(rendered(SPA.read_text()), "ex", "li.job",
                                    {"external_id": "::attr(data-id)", "url": "a::attr(href)"})
    assert postings == [] and skipped == 0


def test_captured_json_paths() -> None:
    body = {"data": {"jobs": [
        {"id": 7, "title": "Cook", "url": "/jobs/7", "locations": [{"name": "Laval, QC"}, "Remote"],
         "posted": "2026-09-01", "salary": {"text": "$18/hour"}},
        {"title": "No id", "url": None},
    ]}}
    fields = {"external_id": "id", "title": "title", "url": "url", "location": "locations",
              "posted_at": "posted", "salary": "salary"}
    response = TextResponse(url="https://jobs.example.com/api/jobs?page=1", body=json.dumps(body).encode(),
                            encoding="utf-8")
    [p] = parse_captured(response, "ex", "data.jobs", fields)
    assert (p.external_id, p.title, p.url) == ("7", "Cook", "https://jobs.example.com/jobs/7")
    assert p.locations_raw == ["Laval, QC", "Remote"] and p.salary_raw == ["$18/hour"]
    assert p.posted_at_raw == "2026-09-01"
    bare = TextResponse(url=response.url, body=b'[{"id": "x"}]', encoding="utf-8")
    assert [q.external_id for q in parse_captured(bare, "ex", "", {"external_id": "id"})] == ["x"]
    empty = TextResponse(url=response.url, body=b'{"data": {"jobs": []}}', encoding="utf-8")
    assert parse_captured(empty, "ex", "data.jobs", fields) == []


@pytest.mark.parametrize(("body", "message"), [
    (b'{"data": {"jobs": [', "malformed JSON"),
    (b"<html>Access denied</html>", "malformed JSON"),
    (b'{"data": {"items": []}}', "no list of postings at 'data.jobs'"),
    (b'{"data": {"jobs": {"id": 1}}}', "no list of postings at 'data.jobs'"),
])
def test_captured_answers_that_cannot_be_read(body: bytes, message: str) -> None:
    response = TextResponse(url="https://jobs.example.com/api/jobs", body=body, encoding="utf-8")
    with pytest.raises(BoardError, match=message):
        parse_captured(response, "ex", "data.jobs", {"external_id": "id"})


def test_dig_and_path_ids() -> None:
    data = {"a": {"b": [{"c": 1}, {"c": 2}]}}
    assert dig(data, "a.b.1.c") == 2 and dig(data, "a.b.-1.c") == 2
    assert dig(data, "a.x.c") is None and dig(data, "a.b.5") is None and dig(data, "") == data
    assert path_id("https://x.example/jobs/1?gh_src=a&ref=b&id=3") == "/jobs/1?id=3"


def test_next_links() -> None:
    assert next_link(rendered(), "a.next") == "https://jobs.example.com/careers?page=2"
    assert next_link(rendered(), "button.more") is None  # disabled
    assert next_link(rendered('<button class="next">Next</button>'), ".next") is None  # clicked in the page
    assert next_link(rendered('<li class="next"><a href="/p/3">3</a></li>'), "li.next") == \
        "https://jobs.example.com/p/3"
    assert next_link(rendered('<a class="next" aria-disabled="true" href="/p/9">x</a>'), "a.next") is None
    assert next_link(rendered(""), "a.next") is None


def test_params() -> None:
    ok = {"url": "/careers", "item_selector": "li", "fields": {"url": "a::attr(href)"}}
    assert BrowserSpider.check_params(ok) is None
    assert BrowserSpider.check_params({**ok, "pagination": "load_more", "load_more_selector": "b"}) is None
    cases = [
        ({**ok, "pagination": "infinite"}, "pagination: must be one of"),
        ({**ok, "pagination": "next"}, "next_selector: required"),
        ({**ok, "fields": {"titel": "h3::text", "url": "a"}}, "unknown field 'titel'"),
        ({**ok, "fields": {"title": "h3::text"}}, "needs external_id or url"),
        ({"url": "/careers", "fields": {"url": "a"}}, "item_selector: required"),
        ({"url": "/c", "capture_url": "(", "capture_fields": {"url": "u"}}, "not a valid regular"),
        ({"url": "/c", "capture_url": "/api", "capture_fields": {"title": "t"}}, "needs external_id or url"),
        ({**ok, "fields": {"external_id": "::attr(id)"}, "detail": True}, "detail = true needs a url"),
        ({**ok, "recycle_every": 0}, "recycle_every: must be at least 1"),
        ({**ok, "timeout": 0}, "timeout: must be more than 0"),
        ({**ok, "fields": {"url": 3}}, "fields.url: must be a string"),
    ]
    for given, message in cases:
        assert message in (BrowserSpider.check_params(given) or ""), given


# --------------------------------------------------------------------------- context pool


class FakeContext:
    def __init__(self) -> None:
        self.closed = False

    async def close(self) -> None:
        self.closed = True


def pool(recycle_every: int) -> tuple[ContextPool, dict]:
    stats: dict[str, int] = {}
    counter = SimpleNamespace(inc_value=lambda key, n=1: stats.__setitem__(key, stats.get(key, 0) + n))
    return ContextPool("src", recycle_every, max_live=2, stats=counter), stats


def test_contexts_are_recycled_and_closed_when_their_pages_are_done() -> None:
    p, stats = pool(3)
    names = [p.assign()[0] for _ in range(3)]
    assert names == ["src-0"] * 3
    p.contexts[0] = ctx0 = FakeContext()
    assert p.assign() == ("src-1", -1)  # gen 0 is full: a new context, older ones first
    p.contexts[1] = ctx1 = FakeContext()
    for _ in range(3):
        asyncio.run(p.finished("src-0", None))
    assert ctx0.closed and not ctx1.closed and stats["jobdelta/browser/contexts_closed"] == 1
    assert [p.assign()[0] for _ in range(2)] == ["src-1", "src-1"]
    assert p.assign()[0] == "src-2"  # gen 1 is full and gen 0 is gone
    assert p.max_open_contexts == 2


def test_no_third_context_while_an_old_one_still_has_pages() -> None:
    p, _ = pool(2)
    assert [p.assign()[0] for _ in range(4)] == ["src-0", "src-0", "src-1", "src-1"]
    # gen 0 still has pages in flight: gen 1 takes more instead of a gen 2
    assert [p.assign()[0] for _ in range(3)] == ["src-1"] * 3
    assert p.max_open_contexts == 2


def test_a_context_whose_pages_are_all_done_is_closed_and_never_reused() -> None:
    p, _ = pool(50)
    assert p.assign()[0] == "src-0"
    p.contexts[0] = ctx = FakeContext()
    asyncio.run(p.finished("src-0", None))
    assert ctx.closed and p.left_open() == (0, 0)
    assert p.assign()[0] == "src-1"


# --------------------------------------------------------------------------- the replay site


def real_postings() -> list[dict]:
    jobs = []
    for name in ("jobseek_mcdonalds_ca_page1.json", "jobseek_mcdonalds_ca_page389.json"):
        jobs += json.loads((PHENOM / name).read_text(encoding="utf-8"))["jobs"]
    return jobs


def spa_jobs(n: int) -> list[dict]:
    """What the SPA's API serves: the real postings, then copies under new
    references."""
    real = real_postings()
    jobs = []
    for k in range(n):
        job = copy.deepcopy(real[k % len(real)])
        ref = job["reference"] if k < len(real) else f"P8-9{k:05d}-0"
        title = job["title"] if k < len(real) else f"{job['title']} #{k}"
        places = [{"name": loc["cityStateAbbr"]} for loc in job["locations"]]
        jobs.append({"id": ref, "title": title, "url": f"/jobs/{ref}", "locations": places})
    return jobs


def site_routes(jobs: list[dict], per_page: int = 10, api_status: dict[int, int] | None = None,
                extra: dict | None = None) -> dict:
    pages = max(1, -(-len(jobs) // per_page))

    def api(path: str, headers: dict[str, str]) -> Reply:
        number = int(parse_qs(urlsplit(path).query).get("page", ["1"])[0])
        status = (api_status or {}).get(number, 200)
        chunk = jobs[(number - 1) * per_page:number * per_page]
        return Reply(json.dumps({"data": {"jobs": chunk, "page": number, "pages": pages}}), status=status)

    return {"/careers": Reply(SPA.read_text(encoding="utf-8"), content_type="text/html; charset=utf-8"),
            "/api/jobs": api, **(extra or {})}


def html_reply(body: str, status: int = 200) -> Reply:
    return Reply(body, status=status, content_type="text/html; charset=utf-8")


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)) or value.startswith("{"):
        return str(value)
    return json.dumps(value)


def source(name: str, replay, **params: Any) -> str:
    lines = [f'[[sources]]\nname = "{name}"\nboard = "browser"', f'base_url = "{replay.url}"',
             *(f"{key} = {_toml(value)}" for key, value in params.items())]
    return "\n".join(lines) + "\n"


def cards_source(name: str, replay, mode: str = "load_more", **params: Any) -> str:
    paging = {"load_more": {"pagination": "load_more", "load_more_selector": "button.more"},
              "next": {"pagination": "next", "next_selector": ".next"},
              "next_button": {"pagination": "next", "next_selector": ".next"},
              "scroll": {"pagination": "scroll", "scroll_wait": 1.5}}[mode]
    return source(name, replay, url=f"/careers?mode={mode}", wait_for="ul.jobs", item_selector="li.job",
                  fields=FIELDS, timeout=10, **{**paging, **params})


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


def served(replay, prefix: str, since: int = 0) -> list[str]:
    return [p for _, p, _ in replay.requests[since:] if p.startswith(prefix)]


# --------------------------------------------------------------------------- crawls in Chromium


@pytest.mark.browser
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_spa_load_more_rounds(project, replay, sessions):
    jobs = spa_jobs(25)
    a, c = jobs[0]["id"], jobs[12]["id"]
    replay.set_routes(site_routes(jobs))
    # a plain HTTP fetch of the page sees no posting: they exist only after JavaScript runs
    with urllib.request.urlopen(f"{replay.url}/careers?mode=load_more") as plain:
        html = plain.read().decode("utf-8")
    assert parse_cards(rendered(html, f"{replay.url}/careers"), "s", "li.job", {"url": "a::attr(href)"}) == ([], 0)
    assert "P8-126884-0" not in html
    project.write_config(cards_source("spa", replay))

    # round 1: 25 postings behind two "load more" clicks: complete
    r = crawl(project, sessions, "spa")
    assert r["exit"] == 0 and r["run"]["status"] == "complete", r
    assert r["run"]["new"] == 25
    assert served(replay, "/api/jobs") == ["/api/jobs?page=1", "/api/jobs?page=2", "/api/jobs?page=3"]
    stored = {p["external_id"]: p for p in project.json("postings", "--source", "spa")}
    assert len(stored) == 25
    assert stored[a]["title"] == "17th & Tamarack McDonald's Full-Time Crew Member"
    assert stored[a]["url"] == f"{replay.url}/jobs/{a}"
    assert stored[a]["locations"] == [{"raw": "Edmonton, AB", "city": "Edmonton", "region": "AB", "country": "CA"}]
    assert stored["P8-131106-0"]["title"] == "Équipier à temps plein"

    # round 2: a retitled, c removed, d added at the end
    d = dict(spa_jobs(26)[25])
    board = [dict(jobs[0], title="17th & Tamarack McDonald's Shift Manager"), *jobs[1:12], *jobs[13:], d]
    replay.set_routes(site_routes(board))
    r = crawl(project, sessions, "spa")
    assert r["run"]["status"] == "complete", r
    assert events_of(sessions, r["run"]) == [("changed", a), ("new", d["id"])]

    # round 3: at most one click, with a third page still to load: partial, nothing expires
    project.write_config(cards_source("spa", replay, max_clicks=1))
    r = crawl(project, sessions, "spa")
    assert r["run"]["status"] == "partial" and "max_clicks" in r["run"]["reason"], r
    assert events_of(sessions, r["run"]) == []

    # round 4: c missing from a second complete run: expired now
    project.write_config(cards_source("spa", replay))
    r = crawl(project, sessions, "spa")
    assert r["run"]["status"] == "complete", r
    assert events_of(sessions, r["run"]) == [("expired", c)]


@pytest.mark.browser
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_json_capture_next_button_and_scroll(project, replay, sessions):
    """Three sources side by side on the same SPA: the JSON-capture mode
    (the SPA pages with a next button; the board reads the /api/jobs answers
    it captured), cards with infinite scroll, and cards paged by next links."""
    jobs = spa_jobs(23)
    replay.set_routes(site_routes(jobs))
    project.write_config(
        source("captured", replay, url="/careers?mode=next_button", wait_for="ul.jobs",
               pagination="next", next_selector=".next", capture_url=r"/api/jobs\?page=\d+$",
               capture_items="data.jobs", capture_fields=CAPTURE_FIELDS, timeout=10)
        + cards_source("scrolled", replay, mode="scroll")
        + cards_source("linked", replay, mode="next"))
    r = crawl(project, sessions, "captured", "scrolled", "linked")
    for name in ("captured", "scrolled", "linked"):
        assert r["runs"][name]["status"] == "complete" and r["runs"][name]["new"] == 23, r["runs"][name]
    by_source = {name: {p["external_id"]: p for p in project.json("postings", "--source", name)}
                 for name in ("captured", "scrolled", "linked")}
    assert set(by_source["captured"]) == {j["id"] for j in jobs}
    for name in ("captured", "scrolled", "linked"):
        assert by_source[name]["P8-188474-0"]["title"] == "6 AM available Full-Time Crew Member"
        assert by_source[name]["P8-188474-0"]["locations"][0]["raw"] == "MONCTON, NB"
        assert by_source[name]["P8-188474-0"]["url"] == f"{replay.url}/jobs/P8-188474-0"
    # the next links were followed as pages of their own
    linked = [p for p in served(replay, "/careers?mode=next") if "next_button" not in p]
    assert linked == ["/careers?mode=next", "/careers?mode=next&page=2", "/careers?mode=next&page=3"]
    # each of the three sources read each API page once
    assert sorted(served(replay, "/api/jobs")) == sorted([f"/api/jobs?page={n}" for n in (1, 2, 3)] * 3)


@pytest.mark.browser
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_bot_check_fails_and_a_page_that_never_renders_is_partial(project, replay, sessions):
    checkpoint = ("<!DOCTYPE html><html><head><title>Vercel Security Checkpoint</title></head>"
                  "<body><p>We're verifying your browser</p></body></html>")
    replay.set_routes({"/checkpoint": html_reply(checkpoint),
                       "/stuck": html_reply("<html><body><div id='app'>Loading open roles…</div></body></html>")})
    project.write_config(
        source("walled", replay, url="/checkpoint", wait_for="ul.jobs", item_selector="li.job", fields=FIELDS,
               timeout=2)
        + source("stuck", replay, url="/stuck", wait_for="ul.jobs", item_selector="li.job", fields=FIELDS,
                 timeout=1))
    r = crawl(project, sessions, "walled", "stuck")
    walled, stuck = r["runs"]["walled"], r["runs"]["stuck"]
    assert walled["status"] == "failed", r
    assert walled["reason"].startswith("blocked: 'Security Checkpoint' page instead of the board"), walled
    assert served(replay, "/checkpoint") == ["/checkpoint"]  # a wall is not retried
    assert stuck["status"] == "partial", r
    assert "listing page failed: TimeoutError: Page.wait_for_selector: Timeout 1000ms exceeded." in stuck["reason"]
    assert "(3 tries)" in stuck["reason"]
    assert served(replay, "/stuck") == ["/stuck"] * 3  # first try + 2 retries


def neura_page(n: int, title: str) -> Reply:
    html = NEURA.read_text(encoding="utf-8")
    html = html.replace("Manager Ecosystem Integration &amp; Certification (Human)", title)
    html = html.replace("Manager Ecosystem Integration & Certification (Human)", title)
    return html_reply(html.replace("00df0928-b013-448c-b3dd-6c6fb80eadc2", f"00df0928-0000-0000-0000-{n:012d}"))


@pytest.mark.browser
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_detail_pages_are_read_once_and_refetched_only_when_the_card_moves(project, replay, sessions):
    jobs = spa_jobs(8)
    ids = [j["id"] for j in jobs]
    detail = {f"/jobs/{ref}": neura_page(n, f"Integration Manager {n}") for n, ref in enumerate(ids[:-1])}
    # the last one carries its JSON-LD only in Next.js flight data (the real
    # Meta posting, its validThrough moved past today so it is still open)
    meta = dict(meta_jsonld(), validThrough="2036-06-08T12:50:57-07:00")
    detail[f"/jobs/{ids[-1]}"] = html_reply(app_router_page(meta))
    replay.set_routes(site_routes(jobs, per_page=5, extra=detail))
    project.write_config(cards_source("careers", replay, mode="next", detail=True, detail_wait_for="script"))

    # round 1 (a full refresh): every posting page is read
    r = crawl(project, sessions, "careers")
    assert r["run"]["status"] == "complete" and r["run"]["new"] == 8, r
    assert sorted(served(replay, "/jobs/")) == sorted(f"/jobs/{ref}" for ref in ids)
    stored = {p["external_id"]: p for p in project.json("postings", "--source", "careers")}
    # the card names the posting; its page gives the rest
    assert stored[ids[0]]["title"] == "Integration Manager 0" and stored[ids[0]]["company"] == "Neura Robotics GmbH"
    assert stored[ids[0]]["locations"][0]["country"] == "DE"
    assert stored[ids[-1]]["title"] == "Software Engineer, Infrastructure" and stored[ids[-1]]["company"] == "Meta"
    assert stored[ids[-1]]["url"] == f"{replay.url}/jobs/{ids[-1]}"

    # round 2: one card retitled (its page too), one page now answers 404
    before = len(replay.requests)
    jobs2 = [dict(jobs[0], title="17th & Tamarack McDonald's Shift Manager"), *jobs[1:]]
    detail2 = dict(detail)
    detail2[f"/jobs/{ids[0]}"] = neura_page(0, "Senior Integration Manager 0")
    detail2[f"/jobs/{ids[3]}"] = html_reply("<html><body>Not found</body></html>", status=404)
    replay.set_routes(site_routes(jobs2, per_page=5, extra=detail2))
    r = crawl(project, sessions, "careers")
    assert r["run"]["status"] == "complete", r
    # unchanged cards: their pages are not fetched again
    assert served(replay, "/jobs/", before) == [f"/jobs/{ids[0]}"]
    assert events_of(sessions, r["run"]) == [("changed", ids[0])]

    # a full refresh finds the 404 while the cards still list the posting: the
    # listing wins (no proof), the contradiction is an error of the run
    project.write_config(cards_source("careers", replay, mode="next", detail=True, detail_wait_for="script"),
                         defaults="full_refresh_every = 1")
    before = len(replay.requests)
    r = crawl(project, sessions, "careers")
    assert r["run"]["status"] == "complete", r
    assert len(served(replay, "/jobs/", before)) == 8
    assert events_of(sessions, r["run"]) == []
    with sessions() as s:
        errors = s.get(Run, r["run"]["id"]).stats["errors"]
    assert f"posting {ids[3]} is listed but its page answered 404: kept as it was, not expired" in errors
    # once the cards drop it, it expires by absence
    replay.set_routes(site_routes([j for j in jobs2 if j is not jobs2[3]], per_page=5, extra=detail2))
    crawl(project, sessions, "careers")
    r = crawl(project, sessions, "careers")
    assert events_of(sessions, r["run"]) == [("expired", ids[3])]


@pytest.mark.browser
@pytest.mark.slow
def test_sixty_pages_with_contexts_recycled_every_ten(tmp_path):
    """60 listing pages, a fresh browser context every 10: never more than
    two contexts (the cap) and eight pages open, and every one of them
    closed by the board itself by the end."""
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "browser_memory.py"), "--pages", "60",
                           "--recycle-every", "10", "--json"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    stats = result["stats"]
    assert result["complete"] and result["postings"] == 60 * result["per_page"], result
    assert result["listing_pages"] == 60
    assert stats["playwright/context_count"] >= 6  # recycled: one context per 10 pages
    assert stats["playwright/context_count/max_concurrent"] <= 2
    assert stats["playwright/page_count/max_concurrent"] <= 8
    assert stats["jobdelta/browser/contexts_closed"] == stats["playwright/context_count"]
    assert stats["jobdelta/browser/pages_closed"] == stats["playwright/page_count"] == 60
    assert stats["jobdelta/browser/contexts_left_open"] == 0 and stats["jobdelta/browser/pages_left_open"] == 0


def test_a_captured_answer_that_is_a_wall_fails_the_run_as_blocked() -> None:
    """The site's own JSON answers never pass the wall middleware (the page
    fetched them): the spider checks each one, whatever its Content-Type."""
    from scrapy.utils.test import get_crawler

    params = {"url": "https://x.test/jobs", "capture_url": "/api/jobs",
              "capture_fields": {"external_id": "id", "title": "t"}}
    spider = BrowserSpider.from_crawler(get_crawler(BrowserSpider), source="cap", params=params)
    list(spider.start_requests())
    wall = b"<html><head><title>Just a moment...</title></head><body>Checking your browser</body></html>"
    good = json.dumps([{"id": "1", "t": "Engineer"}]).encode()
    capture = SimpleNamespace(answers={
        "a": _Captured("https://x.test/api/jobs?page=1", 200, "application/json", good),
        "b": _Captured("https://x.test/api/jobs?page=2", 200, "application/json", wall),
    }, pattern=None)
    out = list(spider._captured_postings(capture, HtmlResponse(url="https://x.test/jobs", body=b"<html></html>")))
    assert [p.external_id for p in out if hasattr(p, "external_id")] == ["1"]
    assert spider.fatal == "blocked: 'Just a moment...' page instead of the board at https://x.test/api/jobs?page=2"
    assert spider.crawler.stats.get_value("jobdelta/walls/challenge") == 1
