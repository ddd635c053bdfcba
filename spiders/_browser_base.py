"""What every board rendered in headless Chromium shares (no board of its own).

``BrowserBoardSpider`` renders requests through scrapy-playwright on a
:class:`crawler.browser_pool.ContextPool` (contexts recycled every
``recycle_every`` pages, pages closed in callbacks and errbacks alike),
retries Playwright timeouts like network errors (:mod:`crawler.browser`)
and names their failures in one line. :func:`render_page` waits until a
page has rendered and tells a bot-check page from a slow one. Boards built
on it: ``browser`` (:mod:`spiders.browser`), ``phenom``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, ClassVar

import scrapy
from twisted.python.failure import Failure

from crawler.browser import PLAYWRIGHT_SETTINGS
from crawler.browser_pool import ContextPool
from crawler.extras import missing
from crawler.walls import BLOCKED_TEXT
from spiders.base import BoardSpider, Param

try:
    from playwright.async_api import Error as PlaywrightError
    from playwright.async_api import Page
    from playwright.async_api import TimeoutError as PlaywrightTimeoutError
    from scrapy_playwright.page import PageMethod
except ImportError:  # no browser extra: the board refuses its config (crawler.extras)
    from crawler.extras import Absent as Page
    from crawler.extras import Absent as PageMethod
    from crawler.extras import Absent as PlaywrightError
    from crawler.extras import Absent as PlaywrightTimeoutError

# The HTTP status of the page's own document (0 when the browser does not say).
_DOCUMENT_STATUS_JS = "() => performance.getEntriesByType('navigation')[0]?.responseStatus || 0"
_PAGE_TEXT_JS = ("() => (document.title || '') + '\\n' + "
                 "(document.body ? document.body.innerText.slice(0, 4000) : '')")


@dataclass
class Rendered:
    """What waiting for a page to render found out."""

    status: int = 0  # the document's HTTP status (0: the browser does not say)
    blocked: bool = False  # a bot-check page instead of the site


async def render_page(page: Page, wait_for: str | None, timeout_ms: float) -> Rendered:
    """Wait until a page (a posting, a careers page) has rendered: until
    ``wait_for`` shows, else until the network is idle. Raises Playwright's
    TimeoutError (retried) when ``wait_for`` never shows on a page that is
    not a bot check."""
    out = Rendered(status=int(await page.evaluate(_DOCUMENT_STATUS_JS) or 0))
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

    @classmethod
    def check_params(cls, given: dict[str, Any]) -> str | None:
        return missing("browser", f"board {cls.board!r}") or super().check_params(given)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.timeout_ms = float(self.board_params.get("timeout") or 30) * 1000

    @property
    def pool(self) -> ContextPool:
        if not hasattr(self, "_pool"):
            self._pool = ContextPool.from_crawler(self.crawler, f"{self.source}-browser",
                                                  self.board_params.get("recycle_every") or 50)
        return self._pool

    def render_request(self, url: str, callback: Any, errback: Any, *,
                       page_methods: dict[str, PageMethod] | None = None,
                       event_handlers: dict[str, Any] | None = None,
                       meta: dict[str, Any] | None = None) -> scrapy.Request:
        """A request rendered in Chromium. Its page stays open until the
        callback or errback hands it back with :meth:`release`."""
        return self.pool.request(url, callback, errback, page_methods=page_methods,
                                 event_handlers=event_handlers, meta=meta)

    async def release(self, meta: dict[str, Any]) -> None:
        """Close the request's page (and its context when it was the last)."""
        await self.pool.release(meta)

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
            self._pool.record()
