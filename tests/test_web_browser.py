"""The pages in a real browser: Debian's headless Chromium (never
``playwright install``) against the app served by uvicorn on 127.0.0.1,
over the history of tests/web_history.py (five rounds of real crawls of a
replayed board).

Every page is opened with a guard: a request to anything but the app is
refused and fails the test, and so does any console error or uncaught
script error. The pages must render with their headings (Swagger UI from
the vendored assets too), show a posting's edits as a before/after table
and a word diff, draw one chart mark per value of the API's timeline, filter
events without JavaScript, fit a phone's width, and follow a dark colour
scheme.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import uvicorn
from playwright.sync_api import Browser, ConsoleMessage, Page, Route, expect, sync_playwright

from crawler.browser import CHROMIUM_ARGS, chromium_path
from db.migrate import upgrade
from web.app import WebSettings, create_app

from . import web_history
from .conftest import IN_CI

pytestmark = [pytest.mark.browser, pytest.mark.slow]

STOP_TIMEOUT = 30.0  # seconds for uvicorn to stop
PHONE = {"width": 375, "height": 812}  # CSS pixels

Browse = Callable[..., AbstractContextManager[Page]]


# ----------------------------------------------------------------- the app and Chromium


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    path = chromium_path()
    if not Path(path).exists():
        reason = f"Chromium not found at {path} (Debian's chromium package, or $JOBDELTA_CHROMIUM)"
        if IN_CI:
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def hist(tmp_path_factory: pytest.TempPathFactory) -> web_history.History:
    workdir = tmp_path_factory.mktemp("web-browser")
    url = f"sqlite:///{workdir / 'history.db'}"
    upgrade(url)
    return web_history.build(workdir, url)


@pytest.fixture(scope="module")
def base(hist: web_history.History) -> Iterator[str]:
    """The app on 127.0.0.1 and a free port, served by uvicorn in a thread."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(WebSettings(hist.db_url)),
                                           log_level="warning", lifespan="off"))
    # listening before uvicorn starts: a request made meanwhile waits in the
    # socket's queue until uvicorn accepts it, so nothing waits on time
    sock.listen(128)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(STOP_TIMEOUT)
        sock.close()


@pytest.fixture
def browse(chromium: Browser, base: str) -> Browse:
    """``with browse(**context_options) as page:`` a page in a fresh context
    that may only reach the app; anything else it asked for, any console
    error and any uncaught error fail the test when the block ends."""

    @contextmanager
    def guarded(**options: Any) -> Iterator[Page]:
        context = chromium.new_context(**options)
        page = context.new_page()
        outside: list[str] = []
        errors: list[str] = []

        def route(r: Route) -> None:
            if r.request.url.startswith(base + "/"):
                r.continue_()
            else:
                outside.append(r.request.url)
                r.abort()

        def console(m: ConsoleMessage) -> None:
            if m.type == "error":
                where = m.location
                errors.append(f"console: {m.text} ({where['url']}:{where['lineNumber']})")

        page.route("**/*", route)
        page.on("console", console)
        page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
        try:
            yield page
            page.wait_for_load_state("networkidle")
        finally:
            context.close()
        assert not outside, f"the page asked for other hosts: {outside}"
        assert not errors, f"the page reported errors: {errors}"

    return guarded


def visit(page: Page, base: str, path: str) -> None:
    response = page.goto(base + path)
    assert response is not None and response.status == 200, (path, response and response.status)


def api(base: str, path: str) -> Any:
    with urllib.request.urlopen(base + path, timeout=10) as r:
        return json.load(r)


def posting_path(hist: web_history.History, letter: str) -> str:
    return f"/postings/vercel:{hist.ids[letter]}"


# ----------------------------------------------------------------- the pages render


PAGES = {  # id -> (path, heading (None: the posting's current title), nav entry marked current)
    "events": ("/", "Events", "Events"),
    "postings": ("/postings", "Postings", "Postings"),
    "posting": ("posting a", None, "Postings"),
    "companies": ("/companies", "Companies", "Companies"),
    "company": ("/companies/Vercel", "Vercel", "Companies"),
    "closing": ("/closing", "Closing soon", "Closing soon"),
    "sources": ("/sources", "Sources", "Sources"),
}


@pytest.mark.parametrize("name", list(PAGES))
def test_each_page_renders_with_its_heading(browse, base, hist, name):
    path, heading, nav = PAGES[name]
    if heading is None:
        path = posting_path(hist, "a")
        heading = api(base, "/api/v1" + path)["posting"]["title"]
    with browse() as page:
        visit(page, base, path)
        expect(page.locator("h1")).to_have_text(heading)
        expect(page).to_have_title(f"{heading} · jobdelta")
        expect(page.locator('header.site nav a[aria-current="page"]')).to_have_text(nav)
        # the stylesheet was applied
        assert "system-ui" in page.evaluate("getComputedStyle(document.body).fontFamily")


def test_api_docs_render_swagger_ui_from_the_vendored_assets(browse, base):
    operations = sum(len(methods) for methods in api(base, "/openapi.json")["paths"].values())
    with browse() as page:
        visit(page, base, "/api/docs")
        page.locator(".swagger-ui").wait_for()
        expect(page.locator('.opblock-summary-path[data-path="/api/v1/events"]')).to_be_visible()
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("jobdelta")
        expect(page.locator(".opblock")).to_have_count(operations)


# ----------------------------------------------------------------- what the pages show


def test_posting_page_shows_the_edited_title_before_and_after(browse, base, hist):
    path = posting_path(hist, "a")
    versions = api(base, "/api/v1" + path)["versions"]
    old, new = versions[-2]["posting"]["title"], versions[-1]["posting"]["title"]
    assert old != new
    with browse() as page:
        visit(page, base, path)
        row = page.locator("table.fields-diff tbody tr").filter(
            has=page.locator("th", has_text=re.compile(r"^\s*title\b")))
        expect(row).to_have_count(1)
        expect(row).to_have_class(re.compile(r"\bchanged\b"))
        expect(row.locator("td.old del")).to_have_text(old)
        expect(row.locator("td.new ins")).to_have_text(new)


def test_posting_page_shows_an_inserted_word_of_the_description(browse, base, hist):
    with browse() as page:
        visit(page, base, posting_path(hist, "b"))
        inserted = page.locator(".word-diff ins")
        expect(inserted).to_have_count(1)
        assert inserted.inner_text().strip() == "gladly"
        expect(page.locator(".word-diff del")).to_have_count(0)


def test_company_charts_draw_one_mark_per_value_of_the_timeline(browse, base):
    timeline = api(base, "/api/v1/companies/Vercel/timeline")
    assert timeline["open"] and timeline["weekly"]
    with browse() as page:
        visit(page, base, "/companies/Vercel")
        points = page.locator("svg.chart-line circle.point")
        expect(points).to_have_count(len(timeline["open"]))
        assert [points.nth(i).get_attribute("data-value") for i in range(points.count())] == [
            str(pt["open"]) for pt in timeline["open"]]
        bars = page.locator("svg.chart-bar rect.bar")
        expect(bars).to_have_count(len(timeline["weekly"]) * 2)
        drawn = [(bars.nth(i).get_attribute("data-series"), bars.nth(i).get_attribute("data-value"))
                 for i in range(bars.count())]
        assert drawn == [(series, str(week[series])) for week in timeline["weekly"]
                         for series in ("added", "removed")]


# ----------------------------------------------------------------- no JavaScript, phone, dark


def test_events_filter_works_without_javascript(browse, base):
    expired = api(base, "/api/v1/events?kind=expired&limit=100")["items"]
    assert expired
    with browse(java_script_enabled=False) as page:
        visit(page, base, "/")
        assert set(page.locator("li.event .badge.kind").all_inner_texts()) > {"expired"}
        page.check('form.filters input[name="kind"][value="expired"]')
        with page.expect_navigation():
            page.click('form.filters button[type="submit"]')
        query = parse_qs(urlsplit(page.url).query, keep_blank_values=True)
        # the browser's own submit sends the empty fields too (app.js would drop them)
        assert query["kind"] == ["expired"] and query["company"] == [""], page.url
        expect(page.locator("li.event .badge.kind")).to_have_text(["expired"] * len(expired))
        assert [li.get_attribute("id") for li in page.locator("li.event").all()] == [
            f"event-{e['id']}" for e in expired]
        expect(page.locator('form.filters input[name="kind"][value="expired"]')).to_be_checked()


@pytest.mark.parametrize("path", ["/", "/postings", "posting a"])
def test_phone_width_has_no_horizontal_scroll(browse, base, hist, path):
    if path == "posting a":
        path = posting_path(hist, "a")
    with browse(viewport=PHONE) as page:
        visit(page, base, path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width}px wide at {PHONE['width']}px"


def _luminance(css_colour: str) -> int:
    red, green, blue = (int(x) for x in re.findall(r"\d+", css_colour)[:3])
    return red + green + blue


def test_dark_colour_scheme_changes_the_background(browse, base):
    background = {}
    for scheme in ("light", "dark"):
        with browse(color_scheme=scheme) as page:
            visit(page, base, "/")
            background[scheme] = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background["light"] != background["dark"]
    assert _luminance(background["dark"]) < _luminance(background["light"]), background
