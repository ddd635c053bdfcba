"""Careers sites that show their postings only to a real browser.

``BrowserBoardSpider`` is what every browser-driven board shares: requests
rendered by headless Chromium through scrapy-playwright, pages closed in
callbacks and errbacks alike, browser contexts recycled every
``recycle_every`` pages (at most ``PLAYWRIGHT_MAX_CONTEXTS`` open at once)
so memory stays flat over long runs, Playwright timeouts retried like
network errors, bot-check pages reported as blocked.

``BrowserSpider`` is the generic ``browser`` board: open ``url``, wait for
``wait_for``, page through the listing (next link or button, "load more"
button, infinite scroll), and read the postings either from the rendered
cards (``item_selector`` + ``fields``) or from the site's own JSON answers
captured while the page rendered (``capture_url`` + ``capture_items`` +
``capture_fields``); optionally follow each posting to its page and read
its schema.org JobPosting there (``detail``). The board is seen whole when
the pagination ended by itself (no next link, the load-more button gone,
scrolling stopped adding postings) and every page rendered; a cap reached,
a page that never rendered (after retries) or a failed captured answer
makes the run partial. Parsing: :mod:`spiders.parsers.browser`.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, ClassVar

import scrapy
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page
from playwright.async_api import TimeoutError as PlaywrightTimeoutError
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy_playwright.page import PageMethod
from twisted.python.failure import Failure

from crawler.browser import PLAYWRIGHT_SETTINGS
from crawler.errors import BoardError
from crawler.items import Posting, Seen, listing_fingerprint
from crawler.walls import BLOCKED_TEXT
from spiders.base import BoardSpider, Param
from spiders.parsers.browser import FIELDS, next_link, parse_captured, parse_cards
from spiders.parsers.jsonld import extract_postings
from spiders.parsers.nextjs import extract_nextjs_postings

# The HTTP status of the page's own document (0 when the browser does not say).
_DOCUMENT_STATUS_JS = "() => performance.getEntriesByType('navigation')[0]?.responseStatus || 0"
_PAGE_TEXT_JS = ("() => (document.title || '') + '\\n' + "
                 "(document.body ? document.body.innerText.slice(0, 4000) : '')")
# What tells one state of the listing from the next: how many cards, the
# first and last card, the page height.
_SIGNATURE_JS = """(sel) => {
  const els = sel ? document.querySelectorAll(sel) : [];
  const first = els.length ? els[0].outerHTML : '';
  const last = els.length ? els[els.length - 1].outerHTML : '';
  return [els.length, first, last, document.body ? document.body.scrollHeight : 0].join('\\u0001');
}"""
_SCROLL_JS = """(sel) => {
  const els = sel ? document.querySelectorAll(sel) : [];
  if (els.length) els[els.length - 1].scrollIntoView();
  window.scrollTo(0, document.body ? document.body.scrollHeight : 0);
}"""
_POLL_SECONDS = 0.1  # seconds between two looks at the page
_GONE_SECONDS = 0.5  # seconds a button must stay away to count as gone


class ContextPool:
    """Names the browser context of each rendered request and closes
    contexts once their pages are done.

    A context (a "generation") takes ``recycle_every`` requests; then the
    next one starts, and the old one is closed as soon as its last page is.
    At most ``max_live`` contexts are open at once: while an old one still
    has pages in flight, the current one takes more requests instead of a
    new one starting. Older generations are requested first (priority), so
    they drain quickly.
    """

    def __init__(self, prefix: str, recycle_every: int, max_live: int, stats: Any):
        self.prefix = prefix
        self.recycle_every = max(1, recycle_every)
        self.max_live = max(1, max_live)
        self.stats = stats
        self.current = 0
        self.assigned: dict[int, int] = {0: 0}
        self.outstanding: dict[int, int] = {0: 0}
        self.contexts: dict[int, Any] = {}
        self.retired: set[int] = set()
        self.closed: set[int] = set()
        self.open_pages: set[Any] = set()
        self.max_open_contexts = 0

    def _live(self) -> list[int]:
        return [g for g in self.outstanding if g not in self.closed]

    def assign(self) -> tuple[str, int]:
        """The context name for a new request, and its priority."""
        gen = self.current
        full = self.assigned[gen] >= self.recycle_every
        if gen in self.retired or (full and len(self._live()) < self.max_live):
            self.retired.add(gen)
            gen = self.current = gen + 1
            self.assigned[gen] = self.outstanding[gen] = 0
        self.assigned[gen] += 1
        self.outstanding[gen] += 1
        self.max_open_contexts = max(self.max_open_contexts, len(self._live()))
        return f"{self.prefix}-{gen}", -gen

    def note_page(self, name: str, page: Any) -> None:
        gen = self._gen(name)
        if isinstance(page, Page):
            self.open_pages.add(page)
            if gen is not None and gen not in self.contexts:
                self.contexts[gen] = page.context

    async def finished(self, name: str | None, page: Any) -> None:
        """The request rendered on context ``name`` is done (callback or
        errback): close its page, and its context once that has no more."""
        if isinstance(page, Page):
            self.note_page(name or "", page)
            self.open_pages.discard(page)
            if not page.is_closed():
                with suppress(PlaywrightError):
                    await page.close()
            self.stats.inc_value("jobdelta/browser/pages_closed")
        gen = self._gen(name)
        if gen is None or gen not in self.outstanding:
            return
        self.outstanding[gen] -= 1
        if self.outstanding[gen] <= 0:
            # Nothing else will run on it: a later request starts a new one.
            self.retired.add(gen)
            await self._close(gen)

    async def _close(self, gen: int) -> None:
        if gen in self.closed:
            return
        self.closed.add(gen)
        context = self.contexts.pop(gen, None)
        if context is not None:
            with suppress(PlaywrightError):
                await context.close()
            self.stats.inc_value("jobdelta/browser/contexts_closed")

    def _gen(self, name: str | None) -> int | None:
        prefix = f"{self.prefix}-"
        if not name or not name.startswith(prefix) or not name[len(prefix):].isdigit():
            return None
        return int(name[len(prefix):])

    def left_open(self) -> tuple[int, int]:
        """Contexts and pages not closed yet (0, 0 after a clean run)."""
        return len(self.contexts), sum(1 for p in self.open_pages if not p.is_closed())


class BrowserBoardSpider(BoardSpider):
    """Base of the boards rendered in Chromium (no board of its own)."""

    custom_settings: ClassVar[dict[str, Any]] = PLAYWRIGHT_SETTINGS
    # the parameters every browser board takes
    browser_params: ClassVar[dict[str, Param]] = {
        "timeout": Param((int, float), "seconds to wait for the page to render (and for each "
                         "click to show more) before the try counts as failed", default=30),
        "recycle_every": Param(int, "open a fresh browser context after this many pages, so "
                               "memory stays flat on long runs", default=50),
    }

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.timeout_ms = float(self.board_params.get("timeout") or 30) * 1000

    @property
    def pool(self) -> ContextPool:
        if not hasattr(self, "_pool"):
            max_live = self.crawler.settings.getint("PLAYWRIGHT_MAX_CONTEXTS") or 2
            self._pool = ContextPool(f"{self.source}-browser", self.board_params.get("recycle_every") or 50,
                                      max_live, self.crawler.stats)
        return self._pool

    def render_request(self, url: str, callback: Any, errback: Any, *,
                       page_methods: dict[str, PageMethod] | None = None,
                       event_handlers: dict[str, Any] | None = None,
                       meta: dict[str, Any] | None = None) -> scrapy.Request:
        """A request rendered in Chromium. Its page stays open until the
        callback or errback hands it back with :meth:`release`."""
        context, priority = self.pool.assign()
        return scrapy.Request(
            url, callback=callback, errback=errback, priority=priority,
            # every rendered request must reach its callback or errback, or
            # its context would never close: no duplicate filtering here
            dont_filter=True,
            meta={
                **(meta or {}),
                "playwright": True,
                "playwright_include_page": True,
                "playwright_context": context,
                "playwright_context_kwargs": {"service_workers": "block"},
                "playwright_page_methods": page_methods or {},
                "playwright_page_event_handlers": event_handlers or {},
                "playwright_page_init_callback": self._page_created,
                # a rendered page is not what the server's ETag describes
                "dont_cache": True,
            },
        )

    async def _page_created(self, page: Page, request: scrapy.Request) -> None:
        self.pool.note_page(request.meta.get("playwright_context", ""), page)

    async def release(self, meta: dict[str, Any]) -> None:
        """Close the request's page (and its context when it was the last)."""
        if meta.get("_jobdelta_released"):
            return
        meta["_jobdelta_released"] = True
        await self.pool.finished(meta.get("playwright_context"), meta.get("playwright_page"))

    @staticmethod
    def describe_failure(failure: Failure) -> str:
        """Playwright's messages carry a call log: keep their first line, and
        say how many tries were made."""
        if not failure.check(PlaywrightError):
            return BoardSpider.describe_failure(failure)
        request = getattr(failure, "request", None)
        message = (failure.value.message or str(failure.value)).strip().splitlines()[0]
        if request is None:
            return f"{failure.type.__name__}: {message}"
        tries = request.meta.get("retry_times", 0) + 1
        return f"{failure.type.__name__}: {message} fetching {request.url} ({tries} tries)"

    async def on_render_error(self, failure: Failure) -> None:
        """A listing page that could not be rendered (after retries)."""
        await self.release(failure.request.meta)
        self.on_listing_error(failure)

    async def on_detail_render_error(self, failure: Failure) -> AsyncIterator[Any]:
        await self.release(failure.request.meta)
        for item in self.on_detail_error(failure):
            yield item

    def closed(self, reason: str) -> None:
        if hasattr(self, "_pool"):
            contexts, pages = self._pool.left_open()
            stats = self.crawler.stats
            stats.set_value("jobdelta/browser/contexts_left_open", contexts)
            stats.set_value("jobdelta/browser/pages_left_open", pages)
            stats.set_value("jobdelta/browser/contexts_open_max", self._pool.max_open_contexts)


# -- the generic board


@dataclass(frozen=True)
class _Plan:
    """How to render and page through one listing page."""

    wait_for: str | None
    item_selector: str | None
    pagination: str
    next_selector: str | None
    load_more_selector: str | None
    max_clicks: int
    max_scrolls: int
    max_pages: int
    scroll_wait_ms: float
    timeout_ms: float


@dataclass
class _Rendered:
    """What rendering a listing page found out."""

    status: int = 0
    blocked: bool = False
    ended: bool = False  # the pagination ended by itself
    capped: str | None = None  # a cap stopped it while more was there
    follow_next: bool = False  # the next element is a link to the next page
    snapshots: list[str] = field(default_factory=list)  # earlier in-page pages


@dataclass
class _Captured:
    url: str
    status: int
    content_type: str
    body: bytes | None
    error: str | None = None


class _Capture:
    """Keeps the page's own answers whose URL matches a pattern."""

    def __init__(self, pattern: str):
        self.pattern = re.compile(pattern)
        self.answers: dict[tuple[str, str, str | None], _Captured] = {}
        self.in_flight: set[Any] = set()
        self._reads: set[asyncio.Task] = set()

    def _wanted(self, request: Any) -> bool:
        return bool(self.pattern.search(request.url)) and request.resource_type in ("xhr", "fetch")

    def on_request(self, request: Any) -> None:
        if self._wanted(request):
            self.in_flight.add(request)

    def on_request_failed(self, request: Any) -> None:
        if self._wanted(request):
            self.in_flight.discard(request)
            key = (request.method, request.url, request.post_data)
            self.answers[key] = _Captured(request.url, 0, "", None, request.failure or "request failed")

    def on_response(self, response: Any) -> None:
        if not self._wanted(response.request) or 300 <= response.status < 400:
            return
        task = asyncio.ensure_future(self._read(response))
        self._reads.add(task)
        task.add_done_callback(self._reads.discard)

    async def _read(self, response: Any) -> None:
        request = response.request
        key = (request.method, request.url, request.post_data)
        content_type = (await response.all_headers()).get("content-type", "")
        try:
            body, error = await response.body(), None
        except PlaywrightError as exc:
            body, error = None, f"could not read the answer: {exc.message}"
        self.answers[key] = _Captured(response.url, response.status, content_type, body, error)
        self.in_flight.discard(request)

    def count(self) -> int:
        return len(self.answers)

    async def settle(self, timeout_ms: float) -> None:
        """Wait until every matching request has been answered and read."""
        deadline = time.monotonic() + timeout_ms / 1000
        while (self.in_flight or self._reads) and time.monotonic() < deadline:
            await asyncio.sleep(_POLL_SECONDS)

    def handlers(self) -> dict[str, Any]:
        return {"request": self.on_request, "requestfailed": self.on_request_failed,
                "response": self.on_response}


async def _render_listing(page: Page, plan: _Plan, capture: _Capture | None) -> _Rendered:
    """Wait for the listing, then page through it inside the browser.
    Raises Playwright's TimeoutError (retried) when the page never shows
    ``wait_for``, or a click shows nothing new in time."""
    out = await render_page(page, plan.wait_for, plan.timeout_ms)
    if out.status >= 400 or out.blocked:
        return out  # nothing more will render: the status or the wall speaks
    out.ended = False
    if plan.pagination == "load_more":
        await _load_more(page, plan, capture, out)
    elif plan.pagination == "scroll":
        await _scroll(page, plan, capture, out)
    elif plan.pagination == "next":
        await _next_in_page(page, plan, capture, out)
    else:
        out.ended = True
    if capture is not None:
        await capture.settle(plan.timeout_ms)
    return out


async def _signature(page: Page, plan: _Plan, capture: _Capture | None) -> str:
    sig = await page.evaluate(_SIGNATURE_JS, plan.item_selector or "")
    return f"{sig}\u0001{capture.count() if capture else 0}"


async def _usable(page: Page, selector: str) -> bool:
    element = page.locator(selector).first
    try:
        if not await element.count() or not await element.is_visible():
            return False
        disabled = await element.get_attribute("aria-disabled")
        return disabled != "true" and await element.is_enabled()
    except PlaywrightError:
        return False  # detached while we looked: it is gone


async def _changed(page: Page, plan: _Plan, capture: _Capture | None, before: str,
                   wait_ms: float, gone: str | None = None) -> bool:
    """Poll until the listing changed, or ``gone`` has stayed away for a
    moment without anything new (a button hidden while it loads is not
    gone)."""
    deadline = time.monotonic() + wait_ms / 1000
    gone_since: float | None = None
    while time.monotonic() < deadline:
        await asyncio.sleep(_POLL_SECONDS)
        if await _signature(page, plan, capture) != before:
            return True
        if gone and not await _usable(page, gone):
            gone_since = gone_since or time.monotonic()
            if time.monotonic() - gone_since >= _GONE_SECONDS:
                return True
        else:
            gone_since = None
    return False


async def _still_there(page: Page, selector: str) -> bool:
    """Whether ``selector`` is usable, asked twice a moment apart: a button
    that is only hidden while more loads comes back."""
    if await _usable(page, selector):
        return True
    await asyncio.sleep(_GONE_SECONDS)
    return await _usable(page, selector)


async def _load_more(page: Page, plan: _Plan, capture: _Capture | None, out: _Rendered) -> None:
    selector = plan.load_more_selector or ""
    clicks = 0
    while await _still_there(page, selector):
        if clicks >= plan.max_clicks:
            out.capped = f"stopped after {clicks} clicks on {selector!r} (max_clicks) with more to load"
            return
        before = await _signature(page, plan, capture)
        await page.locator(selector).first.click(timeout=plan.timeout_ms)
        clicks += 1
        if not await _changed(page, plan, capture, before, plan.timeout_ms, gone=selector):
            raise PlaywrightTimeoutError(
                f"nothing new {plan.timeout_ms / 1000:g}s after click {clicks} on {selector!r}")
    out.ended = True


async def _scroll(page: Page, plan: _Plan, capture: _Capture | None, out: _Rendered) -> None:
    for _ in range(plan.max_scrolls):
        before = await _signature(page, plan, capture)
        await page.evaluate(_SCROLL_JS, plan.item_selector or "")
        if not await _changed(page, plan, capture, before, plan.scroll_wait_ms):
            out.ended = True  # scrolling stopped adding anything
            return
    out.capped = f"stopped after {plan.max_scrolls} scrolls (max_scrolls) with the page still growing"


async def _next_in_page(page: Page, plan: _Plan, capture: _Capture | None, out: _Rendered) -> None:
    selector = plan.next_selector or ""
    pages = 1
    while await _still_there(page, selector):
        href = (await page.locator(selector).first.get_attribute("href") or "").strip()
        if href and not href.startswith(("#", "javascript:")):
            out.follow_next = True  # a real link: the spider requests it as a page of its own
            return
        if pages >= plan.max_pages:
            out.capped = f"stopped after {pages} pages (max_pages) with a next button still there"
            return
        out.snapshots.append(await page.content())
        before = await _signature(page, plan, capture)
        await page.locator(selector).first.click(timeout=plan.timeout_ms)
        pages += 1
        if not await _changed(page, plan, capture, before, plan.timeout_ms):
            raise PlaywrightTimeoutError(
                f"page {pages} did not show {plan.timeout_ms / 1000:g}s after clicking {selector!r}")
    out.ended = True


async def render_page(page: Page, wait_for: str | None, timeout_ms: float) -> _Rendered:
    """Wait until a page (a posting, a careers page) has rendered: until
    ``wait_for`` shows, else until the network is idle. Raises Playwright's
    TimeoutError (retried) when ``wait_for`` never shows on a page that is
    not a bot check."""
    out = _Rendered(status=int(await page.evaluate(_DOCUMENT_STATUS_JS) or 0), ended=True)
    if out.status >= 400:
        return out
    if wait_for:
        try:
            await page.wait_for_selector(wait_for, state="attached", timeout=timeout_ms)
        except PlaywrightTimeoutError:
            if BLOCKED_TEXT.search(await page.evaluate(_PAGE_TEXT_JS)):
                out.blocked = True
                return out
            raise
    else:
        with suppress(PlaywrightTimeoutError):
            await page.wait_for_load_state("networkidle", timeout=timeout_ms)
    return out


PAGINATIONS = ("none", "next", "load_more", "scroll")


class BrowserSpider(BrowserBoardSpider):
    board = "browser"
    title = "Any careers site rendered by JavaScript (headless Chromium)"
    params = {
        "url": Param(str, "the listing page (a path is read under base_url)", required=True),
        "wait_for": Param(str, "CSS selector of an element that shows the listing has rendered "
                          "(also when it is empty); without it, wait until the network is idle"),
        "item_selector": Param(str, "CSS selector of one posting card"),
        "fields": Param(dict, "field -> CSS selector inside a card, e.g. {title = \"h3::text\", "
                        "url = \"a::attr(href)\", location = \".loc::text\", external_id = "
                        "\"::attr(data-id)\"}; external_id falls back to the url's path; fields: "
                        + ", ".join(FIELDS)),
        "pagination": Param(str, "how the listing pages: " + ", ".join(PAGINATIONS), default="none"),
        "next_selector": Param(str, "CSS selector of the next-page link or button (pagination = \"next\")"),
        "load_more_selector": Param(str, "CSS selector of the load-more button (pagination = \"load_more\")"),
        "max_clicks": Param(int, "load-more clicks at most; more to load after that makes the run partial",
                            default=100),
        "max_scrolls": Param(int, "scrolls at most; a page still growing after that makes the run partial",
                             default=100),
        "scroll_wait": Param((int, float), "seconds a scroll may take to add postings; a scroll that adds "
                             "none within it ends the listing", default=3),
        "max_pages": Param(int, "listing pages at most (pagination = \"next\")", default=500),
        "detail": Param(bool, "follow each posting's url and read its schema.org JobPosting "
                        "(JSON-LD, or Next.js script data) there; else keep the card's fields",
                        default=False),
        "detail_render": Param(bool, "render posting pages in the browser too (detail = true)",
                               default=True),
        "detail_wait_for": Param(str, "CSS selector to wait for on posting pages (detail = true)"),
        "capture_url": Param(str, "regex: read postings from the page's own JSON answers whose "
                             "URL matches, instead of from cards"),
        "capture_items": Param(str, "dotted path to the list of postings in a captured answer, "
                               "e.g. \"data.jobs\" (\"\" for a bare list)", default=""),
        "capture_fields": Param(dict, "field -> dotted path inside one captured posting, "
                                "e.g. {external_id = \"id\", title = \"title\", url = \"absoluteUrl\"}"),
        **BrowserBoardSpider.browser_params,
    }
    example = ('board = "browser"\nurl = "https://careers.example.com/jobs"\nwait_for = "ul.jobs"\n'
               'item_selector = "ul.jobs li"\npagination = "load_more"\n'
               'load_more_selector = "button.more"\n'
               'fields = { title = "h3::text", url = "a::attr(href)", location = ".loc::text" }')

    @classmethod
    def check_more(cls, given: dict[str, Any]) -> str | None:
        pagination = given.get("pagination", "none")
        if pagination not in PAGINATIONS:
            return f"pagination: must be one of {', '.join(PAGINATIONS)}, got {pagination!r}"
        needs = {"next": "next_selector", "load_more": "load_more_selector"}.get(pagination)
        if needs and not given.get(needs):
            return f"{needs}: required with pagination = {pagination!r}"
        for key in ("fields", "capture_fields"):
            unknown = sorted(set(given.get(key) or {}) - set(FIELDS))
            if unknown:
                return f"{key}: unknown field {unknown[0]!r} (fields: {', '.join(FIELDS)})"
            bad = [k for k, v in (given.get(key) or {}).items() if not isinstance(v, str)]
            if bad:
                return f"{key}.{bad[0]}: must be a string"
        if given.get("capture_url"):
            try:
                re.compile(given["capture_url"])
            except re.error as exc:
                return f"capture_url: not a valid regular expression: {exc}"
            fields = given.get("capture_fields") or {}
            if not ({"external_id", "url"} & set(fields)):
                return "capture_fields: needs external_id or url (with capture_url)"
        else:
            if not given.get("item_selector"):
                return "item_selector: required (or capture_url to read the site's JSON)"
            if not ({"external_id", "url"} & set(given.get("fields") or {})):
                return "fields: needs external_id or url"
        if given.get("detail") and not given.get("capture_url") and "url" not in (given.get("fields") or {}):
            return "fields: detail = true needs a url field"
        for key in ("max_clicks", "max_scrolls", "max_pages", "recycle_every"):
            if key in given and given[key] < 1:
                return f"{key}: must be at least 1"
        if "timeout" in given and given["timeout"] <= 0:
            return "timeout: must be more than 0 seconds"
        return None

    def start_requests(self) -> Iterator[scrapy.Request]:
        p = self.board_params
        self._plan = _Plan(
            wait_for=p["wait_for"], item_selector=p["item_selector"], pagination=p["pagination"],
            next_selector=p["next_selector"], load_more_selector=p["load_more_selector"],
            max_clicks=p["max_clicks"], max_scrolls=p["max_scrolls"], max_pages=p["max_pages"],
            scroll_wait_ms=float(p["scroll_wait"]) * 1000, timeout_ms=self.timeout_ms)
        self._ids: set[str] = set()
        self._visited: set[str] = set()
        yield self._listing_request(self._absolute(p["url"]))

    def _absolute(self, url: str) -> str:
        if self.base_url and url.startswith("/"):
            return self.base_url + url
        return url

    def _listing_request(self, url: str) -> scrapy.Request:
        self._visited.add(url)
        capture = _Capture(self.board_params["capture_url"]) if self.board_params["capture_url"] else None
        return self.render_request(
            url, self.parse_listing, self.on_render_error,
            page_methods={"render": PageMethod(_render_listing, self._plan, capture)},
            event_handlers=capture.handlers() if capture else None,
            meta={"capture": capture})

    async def parse_listing(self, response: Response) -> AsyncIterator[Any]:
        try:
            for item in self._listing_items(response):
                yield item
        finally:
            await self.release(response.meta)

    def _listing_items(self, response: Response) -> Iterator[Any]:
        self.listing_pages += 1
        rendered: _Rendered = response.meta["playwright_page_methods"]["render"].result
        if rendered.blocked:  # a wall the middleware's reading of the page did not name
            self.fail(f"blocked: a bot-check page instead of the board at {response.url}")
            return
        capture: _Capture | None = response.meta.get("capture")
        if capture is not None:
            yield from self._captured_postings(capture, response)
        else:
            pages = [HtmlResponse(url=response.url, body=html.encode("utf-8"), encoding="utf-8")
                     for html in rendered.snapshots]
            for page in [*pages, response]:
                yield from self._card_postings(page)
        if rendered.capped:
            self.listing_failed(f"{rendered.capped} at {response.url}")
        elif rendered.follow_next:
            url = next_link(response, self.board_params["next_selector"])
            if url is None or url in self._visited:
                self.listing_failed(f"the next link at {response.url} leads nowhere new ({url})")
            elif self.listing_pages >= self.board_params["max_pages"]:
                self.listing_failed(f"stopped after {self.listing_pages} listing pages (max_pages)")
            else:
                yield self._listing_request(url)
        elif rendered.ended:
            self.board_complete = True
            self.complete_by = (f"pagination ({self.board_params['pagination']}) ended by itself, "
                                f"every listing page rendered")

    def _card_postings(self, response: Response) -> Iterator[Any]:
        raw = self.keep_raw(response)
        yield raw
        postings, skipped = parse_cards(response, self.source, self.board_params["item_selector"],
                                        self.board_params["fields"])
        if skipped:
            self.note_error(f"{skipped} cards without an id or a url at {response.url}")
        yield from self._postings(postings, response, raw.sha256)

    def _captured_postings(self, capture: _Capture, response: Response) -> Iterator[Any]:
        if not capture.answers:
            self.listing_failed(f"no answer matching capture_url {capture.pattern.pattern!r} "
                                f"while {response.url} rendered")
            return
        for answer in capture.answers.values():
            captured = TextResponse(url=answer.url, status=answer.status or 200, body=answer.body or b"",
                                    headers={"Content-Type": answer.content_type or "application/json"},
                                    encoding="utf-8")
            # the page fetched it for itself: the wall middleware never saw it
            if not answer.error and self.walled(captured):
                continue
            if answer.error or not 200 <= answer.status < 300:
                self.listing_failed(f"captured answer failed: {answer.error or f'HTTP {answer.status}'} "
                                    f"from {answer.url}")
                continue
            raw = self.keep_raw(captured)
            yield raw
            try:
                postings = parse_captured(captured, self.source, self.board_params["capture_items"],
                                          self.board_params["capture_fields"])
            except BoardError as exc:
                self.listing_failed(str(exc))
                continue
            yield from self._postings(postings, captured, raw.sha256)

    def _postings(self, postings: list[Posting], response: Response, raw_sha256: str) -> Iterator[Any]:
        fetched = self.fetched_at(response)
        for p in postings:
            if p.external_id in self._ids:
                continue  # shown again on a later page
            self._ids.add(p.external_id)
            p.fetched_at, p.raw_sha256 = fetched, raw_sha256
            if not self.board_params["detail"] or not p.url:
                yield p
                continue
            fp = listing_fingerprint(p.title, p.locations_raw, p.posted_at_raw, p.url)
            if self.unchanged_in_listing(p.external_id, fp):
                yield Seen(source=self.source, external_id=p.external_id)
                continue
            p.listing_hash = fp
            yield self._detail_request(p)

    def _detail_request(self, card: Posting) -> scrapy.Request:
        meta = {"external_id": card.external_id, "card": card}
        if not self.board_params["detail_render"]:
            return scrapy.Request(card.url, callback=self.parse_detail, errback=self.on_detail_error,
                                  meta=meta, dont_filter=True)
        wait = PageMethod(render_page, self.board_params["detail_wait_for"], self.timeout_ms)
        return self.render_request(card.url, self.parse_detail, self.on_detail_render_error,
                                   page_methods={"render": wait}, meta=meta)

    async def parse_detail(self, response: Response) -> AsyncIterator[Any]:
        try:
            for item in self._detail_items(response):
                yield item
        finally:
            if response.meta.get("playwright"):
                await self.release(response.meta)

    def _detail_items(self, response: Response) -> Iterator[Any]:
        card: Posting = response.meta["card"]
        methods = response.meta.get("playwright_page_methods") or {}
        if "render" in methods and methods["render"].result.blocked:
            self.fail(f"blocked: a bot-check page instead of the posting at {response.url}")
            return
        found = extract_postings(response, self.source) or extract_nextjs_postings(response, self.source)
        if not found:
            # the card is what the board shows of it: keep that
            self.crawler.stats.inc_value("jobdelta/browser/detail_without_jobposting")
            yield card
            return
        raw = self.keep_raw(response)
        yield raw
        posting = found[0]
        # The card names the posting: its id and address stay what the
        # listing says, so the identity does not depend on the page's markup.
        posting.external_id, posting.url = card.external_id, card.url
        for name in ("title", "company", "department", "requisition_id", "apply_url", "language"):
            if getattr(posting, name) is None:
                setattr(posting, name, getattr(card, name))
        for name in ("locations_raw", "skills", "salary_raw"):
            if not getattr(posting, name) and not (name == "locations_raw" and posting.locations):
                setattr(posting, name, getattr(card, name))
        posting.posted_at_raw = posting.posted_at_raw or card.posted_at_raw
        posting.listing_hash, posting.page_url = card.listing_hash, response.url
        posting.fetched_at, posting.raw_sha256 = self.fetched_at(response), raw.sha256
        yield posting
