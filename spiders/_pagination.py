"""Paging through a rendered listing inside the browser, and telling when it ended.

:func:`render_listing` runs in the rendered page (a scrapy-playwright page
method): it waits for the listing (:func:`spiders._browser_base.render_page`),
then pages through it one of four ways: ``next`` (a next link, requested by
the spider as a page of its own, or a next button clicked in place, each
state kept as a snapshot), ``load_more`` (a button clicked until it is
gone), ``scroll`` (until a scroll adds nothing) or ``none``. What it found
is a :class:`Listing`, from which the board decides completeness:

- ``ended``: the pagination ended by itself (no next link or button, the
  load-more button gone, scrolling stopped adding postings, or nothing to
  page) — the listing was read to its end;
- ``capped``: a cap (``max_clicks``, ``max_scrolls``, ``max_pages``) stopped
  it while more was there — the run is partial;
- ``follow_next``: the next element is a real link, for the spider to follow.

A click or a next page that shows nothing new in time raises Playwright's
TimeoutError, so the page is retried like any request that timed out.
:class:`Capture` keeps the site's own JSON answers (XHR and fetch) whose URL
matches a pattern, for boards read from those instead of from the cards.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from typing import Any

try:
    from playwright.async_api import Error as PlaywrightError
    from playwright.async_api import Page
    from playwright.async_api import TimeoutError as PlaywrightTimeoutError
except ImportError:  # no browser extra: the board refuses its config (crawler.extras)
    from crawler.extras import Absent as Page
    from crawler.extras import Absent as PlaywrightError
    from crawler.extras import Absent as PlaywrightTimeoutError

from spiders._browser_base import Rendered, render_page

PAGINATIONS = ("none", "next", "load_more", "scroll")

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


@dataclass(frozen=True)
class Plan:
    """How to render and page through one listing page."""

    wait_for: str | None
    item_selector: str | None
    pagination: str  # one of PAGINATIONS
    next_selector: str | None
    load_more_selector: str | None
    max_clicks: int
    max_scrolls: int
    max_pages: int
    scroll_wait_ms: float
    timeout_ms: float


@dataclass
class Listing(Rendered):
    """What rendering a listing page found out."""

    ended: bool = False  # the pagination ended by itself
    capped: str | None = None  # a cap stopped it while more was there
    follow_next: bool = False  # the next element is a link to the next page
    snapshots: list[str] = field(default_factory=list)  # earlier in-page pages


@dataclass
class Captured:
    """One answer the page received for itself (or why it has none)."""

    url: str
    status: int
    content_type: str
    body: bytes | None
    error: str | None = None


class Capture:
    """Keeps the page's own answers whose URL matches a pattern."""

    def __init__(self, pattern: str):
        self.pattern = re.compile(pattern)
        self.answers: dict[tuple[str, str, str | None], Captured] = {}
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
            self.answers[key] = Captured(request.url, 0, "", None, request.failure or "request failed")

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
        self.answers[key] = Captured(response.url, response.status, content_type, body, error)
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


async def render_listing(page: Page, plan: Plan, capture: Capture | None) -> Listing:
    """Wait for the listing, then page through it inside the browser.
    Raises Playwright's TimeoutError (retried) when the page never shows
    ``wait_for``, or a click shows nothing new in time."""
    first = await render_page(page, plan.wait_for, plan.timeout_ms)
    out = Listing(status=first.status, blocked=first.blocked)
    if out.status >= 400 or out.blocked:
        out.ended = True
        return out  # nothing more will render: the status or the wall speaks
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


async def _signature(page: Page, plan: Plan, capture: Capture | None) -> str:
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


async def _changed(page: Page, plan: Plan, capture: Capture | None, before: str,
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


async def _load_more(page: Page, plan: Plan, capture: Capture | None, out: Listing) -> None:
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


async def _scroll(page: Page, plan: Plan, capture: Capture | None, out: Listing) -> None:
    for _ in range(plan.max_scrolls):
        before = await _signature(page, plan, capture)
        await page.evaluate(_SCROLL_JS, plan.item_selector or "")
        if not await _changed(page, plan, capture, before, plan.scroll_wait_ms):
            out.ended = True  # scrolling stopped adding anything
            return
    out.capped = f"stopped after {plan.max_scrolls} scrolls (max_scrolls) with the page still growing"


async def _next_in_page(page: Page, plan: Plan, capture: Capture | None, out: Listing) -> None:
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
