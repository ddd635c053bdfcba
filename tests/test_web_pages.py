"""The pages as a person meets them, on a database built by real crawls of a
replayed board (tests/web_history.py, plus one round that expires a
posting), on SQLite and PostgreSQL: every page renders with its title and
nav, the events stream is grouped by day and filtered by its URL, a posting
shows its versions and what changed, facets narrow the postings, the
company page draws its charts, and hostile board text comes out escaped
and without terminal escapes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from crawler.replay import ReplayServer, Reply
from db.engine import session_factory
from db.migrate import upgrade
from db.models import Event, Posting, Source, Version
from web.app import WebSettings, create_app

from . import web_history
from .conftest import _create_pg_database, _drop_pg_database

pytestmark = pytest.mark.slow

HOSTILE = "<script>alert(1)</script>\x1b[31m"
LONG_TITLE = "Engineer " + "x" * 1000
NAV = ["/", "/postings", "/companies", "/closing", "/sources", "/api/docs"]


def _expire_round(hist: web_history.History) -> None:
    """Round 6: e is gone from the board, and the config now expires a
    posting missing from one complete run; the other jobs read as in
    rounds 4 and 5."""
    a, b, c, d, _e, _ = web_history._jobs()
    deadline = (datetime.now(UTC) + timedelta(days=3)).date()
    b = web_history._with_deadline(b, deadline.strftime("%B %d, %Y"))
    b["content"] = b["content"].replace("accept applications", "gladly accept applications")
    jobs = [dict(a, title=a["title"] + " (EMEA)"), b, c, d]
    with ReplayServer() as replay:
        hist.project.write_config(f'[[sources]]\nname = "vercel"\nboard = "greenhouse"\n'
                                  f'token = "vercel"\nbase_url = "{replay.url}"\n',
                                  defaults="expire_after_runs = 1")
        replay.set_routes({web_history.PATH: Reply(json.dumps({"jobs": jobs,
                                                               "meta": {"total": len(jobs)}}))})
        hist.project.cli("crawl", "vercel", check=True)


def _hostile_board_text(db_url: str, ids: dict[str, str]) -> None:
    """What a hostile board could have written: a title with markup and a
    terminal escape in a version and in an event, a javascript: URL, and a
    title far too long for a list."""
    with session_factory(db_url)() as s:
        source = s.scalar(select(Source).where(Source.name == "vercel"))
        posting = s.scalar(select(Posting).where(Posting.external_id == ids["d"]))
        version = s.scalar(select(Version).where(Version.posting_id == posting.id,
                                                 Version.valid_to.is_(None)))
        version.data = dict(version.data, title=HOSTILE, url="javascript:alert(1)",
                            apply_url="javascript:alert(1)")
        posting.title = HOSTILE
        now = datetime.now(UTC)
        s.add(Event(kind="changed", source_id=source.id, posting_id=posting.id,
                    external_id=ids["d"], title=HOSTILE, at=now, reason=f"changed: {HOSTILE}",
                    changes=[{"field": "title", "old": "Designer", "new": HOSTILE}],
                    posting=version.data, company="Vercel"))
        s.add(Event(kind="new", source_id=source.id, posting_id=None, external_id="long-1",
                    title=LONG_TITLE, at=now, reason="new: first time seen",
                    posting={"title": LONG_TITLE, "company": "Vercel"}, company="Vercel"))
        s.commit()


def _build(workdir, url: str) -> web_history.History:
    upgrade(url)
    hist = web_history.build(workdir, url)
    _expire_round(hist)
    _hostile_board_text(url, hist.ids)
    return hist


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def hist(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    workdir = tmp_path_factory.mktemp("pages")
    if request.param == "sqlite":
        yield _build(workdir, f"sqlite:///{workdir / 'history.db'}")
        return
    admin = request.getfixturevalue("pg_admin_url")
    name, url = _create_pg_database(admin)
    try:
        yield _build(workdir, url)
    finally:
        _drop_pg_database(admin, name)


@pytest.fixture(scope="module")
def client(hist) -> TestClient:
    return TestClient(create_app(WebSettings(hist.db_url)))


def page(client: TestClient, url: str, expect: int = 200, **params) -> str:
    r = client.get(url, params=params or None)  # httpx drops a URL's query for params={}
    assert r.status_code == expect, r.text[:2000]
    assert r.headers["content-type"].startswith("text/html")
    return r.text


def title_of(html: str) -> str:
    return unescape(re.search(r"<title>(.*?) · jobdelta</title>", html, re.S).group(1))


def text_of(html: str) -> str:
    """The visible text, roughly: tags dropped, entities decoded, spaces squeezed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def hrefs(html: str) -> list[str]:
    return [unescape(h) for h in re.findall(r'href="([^"]*)"', html)]


@pytest.mark.parametrize(("url", "title"), [
    ("/", "Events"), ("/postings", "Postings"), ("/postings?status=all", "Postings"),
    ("/companies", "Companies"), ("/companies/Vercel", "Vercel"), ("/closing", "Closing soon"),
    ("/sources", "Sources")])
def test_every_page_renders_with_nav_footer_and_local_assets(client, url, title):
    html = page(client, url)
    assert title_of(html) == title
    assert f"<h1>{title}</h1>" in html
    links = hrefs(html)
    assert all(n in links for n in NAV) and "/openapi.json" in links
    assert 'aria-current="page"' in html
    # every asset from this app: no CDN, no remote font
    assert set(re.findall(r'<(?:link|script)[^>]+(?:href|src)="([^"]+)"', html)) <= {
        "/static/app.css", "/static/app.js", "/static/favicon.svg", "/feeds/events.atom",
        "/feeds/companies/Vercel.atom"}
    assert "@import" not in html and "<style" not in html
    for form in re.findall(r"<form[^>]*>", html):
        assert 'method="get"' in form


def test_static_assets_are_served(client):
    for name, kind in (("app.css", "text/css"), ("app.js", "javascript"),
                       ("favicon.svg", "image/svg+xml")):
        r = client.get(f"/static/{name}")
        assert r.status_code == 200 and kind in r.headers["content-type"]
    css = client.get("/static/app.css").text
    assert "prefers-color-scheme: dark" in css and "url(http" not in css
    for cls in ("chart", "axis", "grid", "line", "point", "bar-added", "bar-removed", "label"):
        assert f".{cls}" in css


def test_events_grouped_by_day_with_kinds_and_links(client, hist):
    html = page(client, "/")
    today = datetime.now(UTC).date()
    assert f'<h2 class="day-heading"><time datetime="{today.isoformat()}">' in html
    kinds = set(re.findall(r'<span class="badge kind kind-(\w+)">', html.split("</form>", 1)[1]))
    assert kinds == {"new", "changed", "expired", "reopened", "closing"}
    a = hist.ids["a"]
    assert f'href="/postings/vercel:{a}"' in html
    text = text_of(html)
    # a changed event lists its field changes, as alerts do
    assert "title: Account Executive, Commercial #0 → Account Executive, Commercial #0 (EMEA)" in text
    assert "expired: missing from 1 consecutive complete run" in text
    assert 'href="/feeds/events.atom"' in html


def test_event_filters_live_in_the_url(client, hist):
    html = page(client, "/", kind="expired", source="vercel")
    body = html.split("</form>", 1)[1]
    assert set(re.findall(r"kind kind-(\w+)", body)) == {"expired"}
    assert 'value="expired" checked' in html and '<option value="vercel" selected>' in html
    # the Atom feed of the same filter
    assert 'href="/feeds/events.atom?kind=expired&amp;source=vercel"' in html
    assert "Account Executive" in text_of(body)
    empty = page(client, "/", text="no such role anywhere")
    assert "No events match." in empty
    assert page(client, "/", kind="bogus", expect=400).count("bogus") >= 1
    assert "unknown parameter" in text_of(page(client, "/", colour="red", expect=400))


def test_events_next_links_page_without_gaps_or_repeats(client):
    every = re.findall(r'<li class="event" id="event-(\d+)">', page(client, "/", limit=500))
    seen: list[str] = []
    url, params = "/", {"limit": 3}
    for _ in range(20):
        html = page(client, url, **params)
        body = html.split("</form>", 1)[1]
        seen += re.findall(r'<li class="event" id="event-(\d+)">', body)
        nxt = re.search(r'<a rel="next" href="([^"]+)"', html)
        if not nxt:
            break
        url, params = unescape(nxt.group(1)), {}
        assert "cursor=" in url and "limit=3" in url
    assert seen == every and len(every) > 6


def test_posting_page_shows_versions_and_the_edit(client, hist):
    a = hist.ids["a"]
    html = page(client, f"/postings/vercel:{a}")
    assert title_of(html) == "Account Executive, Commercial #0 (EMEA)"
    assert '<div class="banner banner-open"' in html
    assert "Version 1" in html and "Version 2" in html
    # the field table: the edited field highlighted, old and new values
    row = re.search(r'<tr class="changed">(.*?)</tr>', html, re.S).group(1)
    assert "title" in row
    assert "<del>Account Executive, Commercial #0</del>" in row
    assert "<ins>Account Executive, Commercial #0 (EMEA)</ins>" in row
    assert html.count('<tr class="changed">') == 1
    assert '<option value="1" selected>' in html and "The description did not change." in html
    # links to the board: http(s) only
    assert f'href="https://job-boards.greenhouse.io/vercel/jobs/{a}"' in html
    # the same version against itself
    same = page(client, f"/postings/vercel:{a}", **{"from": 2, "to": 2})
    assert "the same version" in same and '<tr class="changed">' not in same
    assert "no version" in text_of(page(client, f"/postings/vercel:{a}", expect=400, **{"from": 9}))


def test_posting_page_word_diff_of_the_description(client, hist):
    html = page(client, f"/postings/vercel:{hist.ids['b']}")
    diff = html.split('<div class="word-diff">', 1)[1].split("</div>", 1)[0]
    assert "<ins>gladly </ins>" in diff
    assert '<span class="skip"' in diff  # the unchanged text around is cut to context


def test_expired_and_reopened_postings(client, hist):
    html = page(client, f"/postings/vercel:{hist.ids['e']}")
    banner = text_of(re.search(r'<div class="banner banner-expired".*?</div>', html, re.S).group(0))
    assert banner.startswith("Expired") and "UTC" in banner
    assert "expired: missing from 1 consecutive complete run" in banner
    c = page(client, f"/postings/vercel:{hist.ids['c']}")
    assert set(re.findall(r"kind kind-(\w+)", c)) == {"new", "expired", "reopened"}


def test_postings_list_status_and_as_of(client, hist):
    html = page(client, "/postings")
    rows = re.findall(r'<td class="title"><a href="/postings/vercel:(\d+)">', html)
    assert sorted(rows) == sorted(hist.ids[k] for k in "abcd")
    assert "London, England, GB" in html
    expired = page(client, "/postings", status="expired")
    assert re.findall(r'<td class="title"><a href="/postings/vercel:(\d+)">', expired) == [hist.ids["e"]]
    at3 = hist.times[2].isoformat()
    then = page(client, "/postings", status="all", as_of=at3)
    assert "status-expired" in then and hist.ids["c"] in then and hist.ids["e"] not in then
    assert f'value="{hist.times[2].date().isoformat()}"' in then  # the date input shows as_of
    two = page(client, "/postings", limit=2)
    nxt = unescape(re.search(r'<a rel="next" href="([^"]+)"', two).group(1))
    rest = page(client, nxt)
    first = re.findall(r"/postings/vercel:(\d+)", two.split("</form>", 1)[1])
    assert not set(first) & set(re.findall(r'<td class="title"><a href="/postings/vercel:(\d+)"', rest))


def test_facets_add_and_remove_filters(client, hist):
    html = page(client, "/postings")
    facets = html.split('<aside class="facets"', 1)[1].split("</aside>", 1)[0]
    assert '<a href="/postings?company=Vercel">Vercel <span class="count">4</span></a>' in facets
    assert '<a href="/postings?source=vercel">' in facets
    assert '<a href="/postings?country=GB">' in facets
    narrowed = page(client, "/postings", company="Vercel", text="emea")
    active = narrowed.split('<aside class="facets"', 1)[1].split("</aside>", 1)[0]
    # the active facet links to the same search without it
    assert re.search(r'<li class="active">\s*<a href="/postings\?text=emea" class="remove"', active)
    assert '<input type="hidden" name="company" value="Vercel">' in narrowed
    assert re.findall(r'<td class="title"><a href="/postings/vercel:(\d+)">', narrowed) == [hist.ids["a"]]


def test_company_page_charts_and_open_postings(client, hist):
    html = page(client, "/companies/Vercel")
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-line"') == 1
    assert 'class="point"' in html and 'class="bar bar-added"' in html and "bar-removed" in html
    assert 'href="/feeds/companies/Vercel.atom"' in html
    assert "Median days to close" in html and "1 closed" in html
    rows = re.findall(r'<td class="title"><a href="/postings/vercel:(\d+)">', html)
    assert sorted(rows) == sorted(hist.ids[k] for k in "abcd")
    listing = page(client, "/companies")
    assert '<a href="/companies/Vercel">Vercel</a>' in listing
    assert re.search(r'<td class="num">4</td>\s*<td class="num">5</td>', listing)
    assert '<a href="/companies/Vercel">' in page(client, "/companies", text="verc")
    assert "0 companies" in text_of(page(client, "/companies", text="nobody"))
    assert page(client, "/companies/Nobody%20Inc", expect=404)


def test_closing_soon(client, hist):
    html = page(client, "/closing", days=7)
    rows = re.findall(r'<td class="title"><a href="/postings/vercel:(\d+)">', html)
    assert rows == [hist.ids["b"]]
    # the deadline is 3 days away, counted to the end of its day
    assert re.search(r'<td class="days-left">[23] days</td>', html)
    assert "No open posting" in page(client, "/closing", days=1)
    assert "days: must be" in text_of(page(client, "/closing", days=0, expect=400))


def test_sources_health_and_runs(client):
    html = page(client, "/sources")
    health = html.split('<table class="sources">', 1)[1].split("</table>", 1)[0]
    assert "vercel" in health and "greenhouse" in health and "health-ok" in health
    assert re.search(r'<td class="num">4</td>', health)  # open postings
    runs = html.split('<table class="runs">', 1)[1]
    assert runs.count("badge run-complete") == 6
    one = page(client, "/sources", limit=1)
    nxt = unescape(re.search(r'<a rel="next" href="([^"]+)"', one).group(1))
    assert "cursor=" in nxt and "badge run-complete" in page(client, nxt)


def test_hostile_board_text_is_escaped_and_stripped(client, hist):
    d = hist.ids["d"]
    for url in ("/", "/postings", f"/postings/vercel:{d}", "/companies/Vercel"):
        html = page(client, url)
        assert "<script>alert" not in html, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url
        assert "\x1b" not in html and "[31m" not in html, url
    posting = page(client, f"/postings/vercel:{d}")
    assert title_of(posting) == "<script>alert(1)</script>"
    assert 'href="javascript:' not in posting and "javascript:alert(1)" in posting
    # a long title is bounded in the list, with an ellipsis
    events = page(client, "/")
    assert "x" * 300 not in events and "x" * 250 in events and "…" in events


def test_unknown_posting_and_page_are_404_pages(client):
    html = page(client, "/postings/vercel:nope", expect=404)
    assert title_of(html) == "Not found" and "nope" in html and "/openapi.json" in html
    hostile = page(client, "/postings/vercel:<b>x</b>", expect=404)
    assert "<b>x</b>" not in hostile and "&lt;b&gt;x&lt;/b&gt;" in hostile
    assert title_of(page(client, "/no/such/page", expect=404)) == "Not found"
    assert title_of(page(client, "/postings/nocolon", expect=400)) == "Bad request"


def test_head_and_read_only(client, hist):
    for url in ("/", f"/postings/vercel:{hist.ids['a']}", "/companies/Vercel"):
        r = client.head(url)
        assert r.status_code == 200 and r.content == b""
        assert r.headers["content-type"].startswith("text/html")
    assert client.head("/postings/vercel:nope").status_code == 404
    assert client.post("/").status_code == 405


def test_etag_answers_304_for_a_page(client):
    r = client.get("/sources")
    again = client.get("/sources", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_posting_ids_with_slashes_keep_their_page_urls(client):
    """jsonld boards use paths as external ids: the page route takes the
    rest of the path, and links keep the slashes."""
    from web.pages import posting_href

    assert posting_href("careers", "/careers/jobs/x?y#z") == "/postings/careers:/careers/jobs/x%3Fy%23z"
    html = page(client, "/postings/careers:/careers/jobs/x", expect=404)
    assert "no posting &#39;/careers/jobs/x&#39; in source &#39;careers&#39;" in html
