"""Phenom People careers sites (``careers.<employer>``), read through the site itself.

Phenom's ``/api/get-jobs`` answers only a real browser session: the WAF
checks the TLS fingerprint and the session cookies. So the careers page is
rendered in Chromium (:class:`spiders._browser_base.BrowserBoardSpider`), and the
API is called from inside that page with ``fetch`` (the page's cookies,
CSRF token and referer apply), one page after the other, until the distinct
postings reach the ``totalJob`` the API reports: then the board is seen
whole. An empty page before that (the API still reporting ``totalJob``) is
not an empty board: the run is partial. The careers page passes the wall
check of every response (:mod:`crawler.middlewares.walls`); the API answers,
fetched inside the page, are checked here the same way, and retried by
the project's retry policy (:mod:`crawler.middlewares.retry`: ``RETRY_TIMES``,
``RETRY_HTTP_CODES``, ``Retry-After`` or ``RETRY_BACKOFF_BASE`` backoff, the
``retry/...`` stats), as any request would be. Parsing:
:mod:`spiders.parsers.phenom`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy import signals
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import NotConfigured
from scrapy.http import Response, TextResponse

from crawler.errors import BoardError
from crawler.middlewares.retry import BackoffRetryMiddleware
from spiders._browser_base import (
    BrowserBoardSpider,
    Page,
    PageMethod,
    PlaywrightError,
    render_page,
)
from spiders.base import Param
from spiders.parsers.phenom import api_body, api_url, parse_jobs

# Runs in the careers page: the site's own origin, cookies and CSRF token.
_FETCH_JS = """async ({url, method, body, timeoutMs}) => {
  const headers = {'accept': 'application/json, text/plain, */*'};
  const csrf = window.phApp && window.phApp.csrfToken;
  if (csrf) headers['x-csrf-token'] = csrf;
  const init = {method, headers, credentials: 'same-origin', signal: AbortSignal.timeout(timeoutMs)};
  if (method === 'POST') { headers['content-type'] = 'application/json'; init.body = body; }
  try {
    const r = await fetch(url, init);
    return {status: r.status, url: r.url, contentType: r.headers.get('content-type') || '',
            retryAfter: r.headers.get('retry-after'), text: await r.text()};
  } catch (e) {
    return {status: 0, url, contentType: '', retryAfter: null, text: '', error: String(e)};
  }
}"""


class _InPageRetry(BackoffRetryMiddleware):
    """The project's retry middleware, asked about the get-jobs calls made
    inside the page: they never pass the downloader, so the installed one
    never sees them. Which answers are retried, how often, how long to wait
    and the stats all stay the middleware's."""

    def __init__(self, spider: PhenomSpider):
        super().__init__(spider.crawler.settings)  # NotConfigured when retries are off
        self.crawler, self._spider = spider.crawler, spider

    def _retry(self, request: scrapy.Request,
               reason: str | Exception | type[Exception]) -> scrapy.Request | None:
        # The spider asking is this one. (The middleware would look it up on
        # the crawler, which names it only once a crawl has started; the API
        # loop also runs without one, in its tests.)
        return get_retry_request(request, spider=self._spider, reason=reason,
                                 max_retry_times=self.max_retry_times)


class PhenomSpider(BrowserBoardSpider):
    board = "phenom"
    title = "Phenom People careers site (its /api/get-jobs, called from the rendered page)"
    params = {
        "url": Param(str, "the careers site's job search page, e.g. https://careers.mcdonalds.ca/"
                     "restaurant-jobs (a path is read under base_url)", required=True),
        "locale": Param(str, "the site language asked for: \"en_us\" asks for en and en-us postings",
                        default="en_us"),
        "method": Param(str, "how the site calls get-jobs: POST (most sites) or GET", default="POST"),
        "api_path": Param(str, "the API path on the site's origin", default="/api/get-jobs"),
        "paging": Param(str, "page_number (page_number=N, as Phenom's search page sends) or from_size "
                        "(from=<offset>&size=<page_size>)", default="page_number"),
        "page_size": Param(int, "postings per page (Phenom serves 10)", default=10),
        "query": Param(dict, "more query parameters for get-jobs, e.g. {radius = \"15\"}"),
        "wait_for": Param(str, "CSS selector that shows the careers page has rendered "
                          "(default: wait until the network is idle)"),
        "max_pages": Param(int, "API pages at most; a board with more is partial", default=2000),
        # one careers page serves the whole run: no contexts to recycle
        "timeout": BrowserBoardSpider.browser_params["timeout"],
    }
    example = 'board = "phenom"\nurl = "https://careers.mcdonalds.ca/restaurant-jobs"\nlocale = "en_us"'
    # Phenom documents no rate limit; its WAF is quick to block bursts.
    min_download_delay = 0.5

    @classmethod
    def check_more(cls, given: dict[str, Any]) -> str | None:
        if given.get("method", "POST").upper() not in ("GET", "POST"):
            return f"method: must be GET or POST, got {given['method']!r}"
        if given.get("paging", "page_number") not in ("page_number", "from_size"):
            return f"paging: must be page_number or from_size, got {given['paging']!r}"
        for key in ("page_size", "max_pages"):
            if key in given and given[key] < 1:
                return f"{key}: must be at least 1"
        return None

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        url = self.board_params["url"] or ""
        self._site = self.base_url + url if self.base_url and url.startswith("/") else url
        self._robots: Any = None  # the site's robots.txt, once the middleware has read it

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> PhenomSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider._robots_parsed, signal=signals.robots_parsed)
        return spider

    def _robots_parsed(self, robotparser: Any, request: scrapy.Request) -> None:
        # The API calls are ours, made from the page: they obey the site's
        # robots.txt like the page request itself did.
        self._robots = robotparser

    def start_requests(self) -> Iterator[scrapy.Request]:
        wait = PageMethod(render_page, self.board_params["wait_for"], self.timeout_ms)
        yield self.render_request(self._site, self.parse_site, self.on_site_error,
                                  page_methods={"render": wait})

    async def on_site_error(self, failure: Any) -> None:
        """The careers page itself could not be had: nothing was read."""
        await self.release(failure.request.meta)
        self.on_board_error(failure)

    async def parse_site(self, response: Response) -> AsyncIterator[Any]:
        try:
            if response.meta["playwright_page_methods"]["render"].result.blocked:
                # a wall the middleware's reading of the page did not name
                self.fail(f"blocked: a bot-check page instead of the careers site at {response.url}")
                return
            async for item in self._api_pages(response.meta["playwright_page"]):
                yield item
        finally:
            await self.release(response.meta)

    async def _api_pages(self, page: Page) -> AsyncIterator[Any]:
        p = self.board_params
        method = p["method"].upper()
        delay = self.crawler.settings.getfloat("DOWNLOAD_DELAY")
        try:
            retry: _InPageRetry | None = _InPageRetry(self)
        except NotConfigured:
            retry = None  # retries are off for the whole crawl
        seen: set[str] = set()
        for number in range(1, p["max_pages"] + 1):
            url = api_url(self._site, p["api_path"], number, p["page_size"], p["paging"], p["query"])
            if not self._allowed(url):
                self.fail(f"robots.txt forbids {url}")
                return
            if number > 1 and delay:
                await asyncio.sleep(delay)
            answer = await self._fetch(page, url, method, api_body(p["locale"], number, p["page_size"],
                                                                   p["paging"]), retry)
            if isinstance(answer, str):
                self._page_failed(number, answer)
                return
            self.listing_pages += 1
            raw = self.keep_raw(answer)
            yield raw
            try:
                postings, total = parse_jobs(answer, self.source, self._site)
            except BoardError as exc:
                self._page_failed(number, str(exc))
                return
            if total is None:
                self._page_failed(number, f"get-jobs answer without totalJob at {url}")
                return
            fresh = [posting for posting in postings if posting.external_id not in seen]
            fetched = self.fetched_at(answer)
            for posting in fresh:
                seen.add(posting.external_id)
                posting.fetched_at, posting.raw_sha256 = fetched, raw.sha256
                yield posting
            if len(seen) >= total:
                self.board_complete = True
                self.complete_by = f"totalJob = {total}, {len(seen)} distinct postings seen"
                return
            if not postings:
                self.listing_failed(f"get-jobs page {number} is empty although totalJob is {total} "
                                    f"and {len(seen)} postings were seen ({url})")
                return
            if not fresh:
                self.listing_failed(f"get-jobs page {number} repeats postings already seen ({url})")
                return
        self.listing_failed(f"stopped after {p['max_pages']} get-jobs pages (max_pages) with "
                            f"{len(seen)} postings seen")

    def _page_failed(self, number: int, message: str) -> None:
        # Nothing read at all is a board that could not be read; a wall in
        # front of the API fails the run.
        if message.startswith("blocked:"):
            self.fail(message)
        elif number == 1:
            self.fail(f"board could not be read: {message}")
        else:
            self.listing_failed(message)

    def _allowed(self, url: str) -> bool:
        if self._robots is None:
            return True
        agent = self.crawler.settings.get("ROBOTSTXT_USER_AGENT") or self.crawler.settings.get("USER_AGENT")
        return self._robots.allowed(url, agent)

    async def _fetch(self, page: Page, url: str, method: str, body: str,
                     retry: _InPageRetry | None) -> TextResponse | str:
        """One get-jobs answer, retried as the retry middleware retries any
        request (Retry-After honoured, else backoff); a message when it
        could not be had."""
        stats = self.crawler.stats
        request = scrapy.Request(url, method=method, body=body, dont_filter=True)  # the call, for ``retry``
        tries = 0
        while True:
            try:
                result = await page.evaluate(_FETCH_JS, {"url": url, "method": method, "body": body,
                                                         "timeoutMs": self.timeout_ms})
            except PlaywrightError as exc:
                return f"the careers page broke while fetching {url}: {exc.message}"
            tries += 1
            stats.inc_value("jobdelta/phenom/api_requests")
            status = int(result.get("status") or 0)
            headers = {"Content-Type": result.get("contentType") or "application/json"}
            if result.get("retryAfter"):
                headers["Retry-After"] = result["retryAfter"]
            answer = TextResponse(url=url, status=status, body=(result.get("text") or "").encode("utf-8"),
                                  headers=headers, encoding="utf-8")
            if status == 200:
                return self.wall_in(answer) or answer
            problem = result.get("error") or f"HTTP {status} from {url}"
            if status and (retry is None or status not in retry.retry_http_codes):
                return self.wall_in(answer) or problem
            if retry is None:
                break
            # no status: the fetch itself failed (network, timeout), as a
            # connection error would for a request the downloader made
            again = await (retry.process_response(request, answer) if status
                           else retry.process_exception(request, ConnectionError(problem)))
            if not isinstance(again, scrapy.Request):
                break  # tries used up, or a Retry-After too long to wait for
            request = again
        return self.wall_in(answer) or f"{problem} (gave up after {tries} tries)"
