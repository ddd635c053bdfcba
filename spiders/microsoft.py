"""Microsoft Careers: a preset of the Eightfold board (:mod:`spiders.eightfold`,
PCSX API, host apply.careers.microsoft.com, domain microsoft.com), with the
browser as a fallback when the API refuses.

The search and details are Eightfold's (paging to the count, details only
for positions the search shows new or changed, completeness). What is
Microsoft's own: sustained paging can be refused (HTTP 405 or 403, or a bot
page instead of JSON); the spider then renders the careers site's own
search page (or the posting's page) in headless Chromium through
scrapy-playwright and reads the same API answer the page's script
receives, and parses it as before (pages always closed, a fresh browser
context every ``recycle_every`` pages: :class:`crawler.browser_pool.ContextPool`).
Walls: the rendered pages pass the
wall check of every response (:mod:`crawler.middlewares.walls`); the plain
API answers skip it (a refusal there sends the spider to the browser
instead) and are checked here, as are the answers captured in rendered
pages. Parsing: :mod:`spiders.parsers.microsoft` (Microsoft's values over
:mod:`spiders.parsers.eightfold`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import scrapy
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.browser import PLAYWRIGHT_SETTINGS
from crawler.browser_pool import ContextPool
from crawler.errors import Walled
from crawler.extras import missing
from crawler.items import Gone
from crawler.walls import BLOCKED_TEXT
from spiders.base import Param
from spiders.eightfold import EightfoldSpider
from spiders.parsers.microsoft import (
    COMPANY,
    DETAILS_API,
    DOMAIN,
    LABEL,
    PUBLIC_SITE,
    SEARCH_API,
    Position,
    job_page_url,
    search_page_url,
)

try:
    from scrapy_playwright.page import PageMethod
except ImportError:  # no browser extra: the board refuses its config (check_params)
    from crawler.extras import Absent as PageMethod

# A plain API answer is read by this spider itself: a refusal sends it to the browser.
_SELF_CHECKED = {"dont_check_walls": True}
# Statuses by which the API refuses a plain client; the browser is tried.
_REFUSED = (403, 405)
_GONE = (404, 410)  # a closed position, as the base errback reads it too
CAPTURE_TIMEOUT = 20.0  # seconds to wait for the page's own API call
BLOCKED_GRACE = 5.0  # seconds a rendered page may read as a bot check before it counts as one


@dataclass(eq=False)
class _Capture:
    """The API answer a rendered page received (filled while it renders)."""

    api_path: str
    # a query parameter the call must carry, when it carries it at all (the
    # page may ask the API more than once: the answer for this page is wanted)
    expect: tuple[str, str] | None = None
    future: asyncio.Future | None = None
    url: str | None = None
    status: int | None = None
    body: bytes | None = None
    error: str | None = None
    blocked: bool = False  # the page stayed a bot check
    page_status: int | None = None  # the page's own answer


async def _start_capture(page: Any, request: scrapy.Request) -> None:
    """Before the page loads: listen for its call to the API."""
    capture: _Capture = request.meta["jobdelta_capture"]
    capture.future = asyncio.get_running_loop().create_future()

    def on_response(resp: Any) -> None:
        if resp.request.is_navigation_request() and resp.frame == page.main_frame:
            capture.page_status = resp.status
        if capture.api_path in resp.url and not capture.future.done() and _wanted(capture, resp.url):
            capture.future.set_result(resp)

    page.on("response", on_response)


def _wanted(capture: _Capture, url: str) -> bool:
    if capture.expect is None:
        return True
    key, value = capture.expect
    given = parse_qs(urlsplit(url).query).get(key)
    return given is None or value in given


async def _finish_capture(page: Any, capture: _Capture) -> None:
    """After the page loaded: wait for that call's answer and keep its body.
    A page that still reads as a bot check after BLOCKED_GRACE seconds is
    given up on (a passed challenge would have reloaded into the site)."""
    if capture.future is None:
        capture.error = "the page could not be watched"
        return
    loop = asyncio.get_running_loop()
    began = loop.time()
    while not capture.future.done():
        if (capture.page_status or 0) >= 400:  # an error page will not call the API
            capture.error = f"the page answered HTTP {capture.page_status}"
            return
        waited = loop.time() - began
        if waited >= CAPTURE_TIMEOUT:
            capture.error = f"the page did not call {capture.api_path} within {CAPTURE_TIMEOUT:g}s"
            return
        if waited >= BLOCKED_GRACE and await _looks_blocked(page):
            capture.error = f"the page stayed a bot check for {BLOCKED_GRACE:g}s"
            capture.blocked = True
            return
        await asyncio.wait([capture.future], timeout=0.25)
    resp = capture.future.result()
    capture.url, capture.status = resp.url, resp.status
    try:
        capture.body = await resp.body()
    except Exception as exc:  # the page went away before the body was read
        capture.error = f"could not read the answer of {capture.api_path}: {exc}"


async def _looks_blocked(page: Any) -> bool:
    try:
        text = f"{await page.title()}\n{(await page.inner_text('body'))[:4000]}"
    except Exception:  # navigating, or closed
        return False
    return bool(BLOCKED_TEXT.search(text))


def _is_html(response: Response) -> bool:
    """A page (an app shell, a bot check) where the API's JSON should be."""
    return isinstance(response, TextResponse) and response.text.lstrip()[:1] == "<"


class MicrosoftSpider(EightfoldSpider):
    """The Eightfold board with Microsoft's host, domain and name, and the
    browser fallback."""

    board = "microsoft"
    title = "Microsoft Careers (Eightfold API, with a browser fallback)"
    default_base_url = PUBLIC_SITE
    params = {
        "query": Param(str, "search words (empty: every posting)", default=""),
        "location": Param(str, "location filter, e.g. \"United States\" (empty: anywhere)", default=""),
        "max_results": Param(int, "stop after this many postings (the run is then partial)"),
        "recycle_every": Param(int, "when the browser takes over: a fresh browser context after "
                                    "this many pages, so memory stays bounded", default=50),
    }
    not_found = ""
    example = 'board = "microsoft"\nquery = "AI infrastructure"\nlocation = "United States"'
    # the Eightfold preset
    tenant_domain = DOMAIN
    public_site = PUBLIC_SITE
    employer = COMPANY
    api = "pcsx"
    label = LABEL
    api_meta = _SELF_CHECKED
    # min_download_delay: Eightfold's (about 100 requests a minute is the reported limit).
    # Only requests with meta["playwright"] go through the browser.
    custom_settings = dict(PLAYWRIGHT_SETTINGS)

    @classmethod
    def check_params(cls, given: dict[str, Any]) -> str | None:
        # its settings load scrapy-playwright's download handler at crawl start
        return missing("browser", f"board {cls.board!r}") or super().check_params(given)

    @classmethod
    def check_more(cls, given: dict[str, Any]) -> str | None:
        for key in ("max_results", "recycle_every"):
            if key in given and given[key] < 1:
                return f"{key}: must be at least 1"
        return None

    def start_requests(self) -> Iterator[scrapy.Request]:
        self._browser = False  # set once the API refused the search
        self._browser_details = False  # set once the API refused a posting's details
        # A context serves recycle_every pages, then the next one takes over
        # and the old one is closed when its last page is done, so a long
        # run's browser memory stays bounded.
        self._pool = ContextPool.from_crawler(self.crawler, "microsoft",
                                              self.board_params["recycle_every"])
        yield from super().start_requests()

    # -- requests

    def _search_request(self, start: int) -> scrapy.Request:
        if self._browser:
            q, loc = self.board_params["query"], self.board_params["location"]
            return self._browser_request(search_page_url(self.base_url, q, loc, start), SEARCH_API,
                                         self.parse_rendered_search, {"start": start},
                                         expect=("start", str(start)))
        return super()._search_request(start)

    def _details_request(self, pos: Position) -> scrapy.Request:
        if self._browser_details:
            meta = {"external_id": pos.external_id, "position": pos}
            return self._browser_request(job_page_url(self.base_url, pos.external_id), DETAILS_API,
                                         self.parse_rendered_details, meta,
                                         expect=("position_id", pos.external_id))
        return super()._details_request(pos)

    def _browser_request(self, url: str, api_path: str, callback: Any, meta: dict[str, Any],
                         expect: tuple[str, str] | None = None) -> scrapy.Request:
        capture = _Capture(api_path, expect=expect)
        # a cached page would replay HTML without the API call behind it: the
        # pool's requests are never cached
        return self._pool.request(url, callback, self.on_rendered_error,
                                  page_methods=[PageMethod(_finish_capture, capture)],
                                  page_init=_start_capture,
                                  meta={**meta, "jobdelta_capture": capture})

    # -- the search

    def on_search_error(self, failure: Failure) -> Iterator[scrapy.Request]:
        start = failure.request.cb_kwargs["start"]
        if failure.check(HttpError) and failure.value.response.status in _REFUSED:
            yield from self._to_browser(start, f"HTTP {failure.value.response.status}")
            return
        if failure.check(HttpError) and self.walled(failure.value.response):
            return
        self.on_page_error(failure)

    def _to_browser(self, start: int, why: str) -> Iterator[scrapy.Request]:
        self.logger.info("the search API refused (%s): reading the search through the browser", why)
        self.crawler.stats.inc_value("jobdelta/microsoft/browser_fallback")
        self._browser = True
        yield self._search_request(start)

    def parse_search(self, response: Response, start: int) -> Iterator[Any]:
        if _is_html(response):  # a bot or app page instead of JSON
            yield from self._to_browser(start, "an HTML page instead of JSON")
            return
        yield from super().parse_search(response, start)

    async def parse_rendered_search(self, response: Response) -> AsyncIterator[Any]:
        # the page is handed back after the next page is asked for, so that
        # one still finds its context (and its cookies) open
        try:
            captured = self._captured(response, first=response.meta["start"] == 0)
            if captured is not None:
                for item in self._search_page(captured, response.meta["start"]):
                    yield item
        finally:
            await self._pool.release(response.meta)

    def _captured(self, response: Response, first: bool) -> TextResponse | None:
        """The API answer the rendered page received, as a response of its
        own; None (with the run marked) when there is none to read."""
        capture: _Capture = response.meta["jobdelta_capture"]
        problem = None
        if capture.body is None:
            problem = f"{'blocked' if capture.blocked else 'browser'}: {capture.error} ({response.url})"
        elif capture.status != 200:
            problem = f"browser: the page's {capture.api_path} call answered HTTP {capture.status}"
        if problem:
            if problem.startswith("blocked") or first:
                self.fail(problem)
            else:
                self.listing_failed(problem)
            return None
        return TextResponse(url=capture.url, body=capture.body, encoding="utf-8",
                            headers={"Content-Type": "application/json"})

    # -- details

    def on_details_error(self, failure: Failure) -> Iterator[Any]:
        if failure.check(HttpError) and failure.value.response.status in _REFUSED:
            yield self._details_to_browser(failure.request.meta["position"],
                                           f"HTTP {failure.value.response.status}")
            return
        if failure.check(HttpError) and self.walled(failure.value.response):
            return
        yield from super().on_details_error(failure)

    def _details_to_browser(self, pos: Position, why: str) -> scrapy.Request:
        if not self._browser_details:
            self.logger.info("the details API refused (%s): reading postings through the browser", why)
        self.crawler.stats.inc_value("jobdelta/microsoft/browser_fallback")
        self._browser_details = True
        return self._details_request(pos)

    def parse_details(self, response: Response) -> Iterator[Any]:
        if _is_html(response):
            yield self._details_to_browser(response.meta["position"], "an HTML page instead of JSON")
            return
        yield from super().parse_details(response)

    async def parse_rendered_details(self, response: Response) -> AsyncIterator[Any]:
        try:
            capture: _Capture = response.meta["jobdelta_capture"]
            pos: Position = response.meta["position"]
            if capture.status in _GONE:
                yield Gone(source=self.source, external_id=pos.external_id, url=pos.url,
                           reason=f"detail page answered {capture.status}")
                return
            captured = self._captured(response, first=False)
            if captured is not None:
                for item in self._details(captured, response.meta["position"]):
                    yield item
        finally:
            await self._pool.release(response.meta)

    async def on_rendered_error(self, failure: Failure) -> AsyncIterator[Any]:
        meta = failure.request.meta
        try:
            if failure.check(Walled):
                return  # the run failed as blocked already
            if ("position" in meta and failure.check(HttpError)
                    and failure.value.response.status in _GONE):
                pos = meta["position"]
                yield Gone(source=self.source, external_id=pos.external_id, url=pos.url,
                           reason=f"detail page answered {failure.value.response.status}")
                return
            what = "search" if "start" in meta else "posting"
            message = f"browser: the {what} page failed: {self.describe_failure(failure)}"
            if meta.get("start") == 0:
                self.fail(message)
            else:
                self.listing_failed(message)
        finally:
            await self._pool.release(meta)

    def closed(self, reason: str) -> None:
        if hasattr(self, "_pool"):
            self._pool.record()
