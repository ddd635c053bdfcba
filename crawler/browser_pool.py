"""Browser contexts for rendered requests: created, counted and recycled.

A long run that renders every page in one browser context grows without
bound (caches, storage, leaked pages). A :class:`ContextPool` names the
scrapy-playwright context of each rendered request (``<prefix>-<n>``, one
"generation" each), starts a new generation every ``recycle_every``
requests and closes a generation's context as soon as its last page is
done, so a run's browser memory stays flat. At most ``max_live`` contexts
(``PLAYWRIGHT_MAX_CONTEXTS``) are open at once.

Pages are asked for with ``playwright_include_page``: a spider hands every
page back with :meth:`ContextPool.release`, in its callbacks and errbacks
alike, or the page and its context would stay open. Any spider that renders
in Chromium can use a pool; nothing here knows a board.

Stats: ``jobdelta/browser/pages_closed``, ``jobdelta/browser/contexts_closed``,
and at the end (:meth:`ContextPool.record`) ``contexts_left_open``,
``pages_left_open`` (both 0 after a clean run) and ``contexts_open_max``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any

import scrapy

try:
    from playwright.async_api import Error as PlaywrightError
    from playwright.async_api import Page
except ImportError:  # no browser extra: browser boards refuse their config (crawler.extras)
    from crawler.extras import Absent as Page
    from crawler.extras import Absent as PlaywrightError

# meta key of a request's own page-init callback, run after the pool's
_PAGE_INIT = "jobdelta_page_init"
# meta key set once a request's page has been handed back
_RELEASED = "_jobdelta_released"


class ContextPool:
    """Names the browser context of each rendered request and closes
    contexts once their pages are done.

    A context (a "generation") takes ``recycle_every`` requests; then the
    next one starts, and the old one is closed as soon as its last page is.
    At most ``max_live`` contexts are open at once: while an old one still
    has pages in flight, the current one takes more requests instead of a
    new one starting. Older generations are requested first (priority), so
    they drain quickly. A generation whose pages are all done is closed and
    never used again, so a spider releases a page only after it has asked
    for the requests that follow from it.
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

    @classmethod
    def from_crawler(cls, crawler: Any, prefix: str, recycle_every: int) -> ContextPool:
        """A pool as wide as scrapy-playwright lets contexts be open at once."""
        max_live = crawler.settings.getint("PLAYWRIGHT_MAX_CONTEXTS") or 2
        return cls(prefix, recycle_every, max_live, crawler.stats)

    # -- requests

    def request(self, url: str, callback: Any, errback: Any, *,
                page_methods: dict[str, Any] | list[Any] | None = None,
                event_handlers: dict[str, Any] | None = None,
                page_init: Callable[[Page, scrapy.Request], Awaitable[None]] | None = None,
                meta: dict[str, Any] | None = None) -> scrapy.Request:
        """A request rendered in Chromium on the pool's current context. Its
        page stays open until the callback or errback hands it back with
        :meth:`release`. ``page_init(page, request)`` runs on the new page
        before it loads (scrapy-playwright's page-init callback)."""
        context, priority = self.assign()
        extra = {_PAGE_INIT: page_init} if page_init is not None else {}
        return scrapy.Request(
            url, callback=callback, errback=errback, priority=priority,
            # every rendered request must reach its callback or errback, or
            # its context would never close: no duplicate filtering here
            dont_filter=True,
            meta={
                **(meta or {}),
                **extra,
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
        self.note_page(request.meta.get("playwright_context", ""), page)
        page_init = request.meta.get(_PAGE_INIT)
        if page_init is not None:
            await page_init(page, request)

    async def release(self, meta: dict[str, Any]) -> None:
        """Close the request's page (and its context when it was the last).
        Safe to call more than once for one request."""
        if meta.get(_RELEASED):
            return
        meta[_RELEASED] = True
        await self.finished(meta.get("playwright_context"), meta.get("playwright_page"))

    # -- generations

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

    # -- the end of the run

    def left_open(self) -> tuple[int, int]:
        """Contexts and pages not closed yet (0, 0 after a clean run)."""
        return len(self.contexts), sum(1 for p in self.open_pages if not p.is_closed())

    def record(self) -> None:
        """Put what was left open, and the most contexts open at once, in the stats."""
        contexts, pages = self.left_open()
        self.stats.set_value("jobdelta/browser/contexts_left_open", contexts)
        self.stats.set_value("jobdelta/browser/pages_left_open", pages)
        self.stats.set_value("jobdelta/browser/contexts_open_max", self.max_open_contexts)
