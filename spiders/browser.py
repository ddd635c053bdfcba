"""The generic ``browser`` board: any careers site that shows its postings
only to a real browser.

Open ``url`` in headless Chromium, wait for ``wait_for``, page through the
listing (next link or button, "load more" button, infinite scroll: the
engine is :mod:`spiders._pagination`), and read the postings either from
the rendered cards (``item_selector`` + ``fields``) or from the site's own
JSON answers captured while the page rendered (``capture_url`` +
``capture_items`` + ``capture_fields``); optionally follow each posting to
its page and read its schema.org JobPosting there (``detail``). The board is
seen whole when the pagination ended by itself (no next link, the load-more
button gone, scrolling stopped adding postings) and every page rendered; a
cap reached, a page that never rendered (after retries) or a failed
captured answer makes the run partial. Rendering, the browser context pool
and failures: :mod:`spiders._browser_base`. Parsing:
:mod:`spiders.parsers.browser`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.http import HtmlResponse, Response, TextResponse

from crawler.browser_pool import ContextPool as ContextPool  # importable here as before
from crawler.errors import BoardError
from crawler.items import Posting, Seen, listing_fingerprint
from spiders._browser_base import BrowserBoardSpider, PageMethod, render_page
from spiders._pagination import PAGINATIONS, Capture, Captured, Listing, Plan, render_listing
from spiders.base import Param
from spiders.parsers.browser import FIELDS, next_link, parse_captured, parse_cards
from spiders.parsers.jsonld import extract_postings
from spiders.parsers.nextjs import extract_nextjs_postings

_Captured = Captured  # its name before the pagination engine had a module of its own


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
        self._plan = Plan(
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
        capture = Capture(self.board_params["capture_url"]) if self.board_params["capture_url"] else None
        return self.render_request(
            url, self.parse_listing, self.on_render_error,
            page_methods={"render": PageMethod(render_listing, self._plan, capture)},
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
        rendered: Listing = response.meta["playwright_page_methods"]["render"].result
        if rendered.blocked:  # a wall the middleware's reading of the page did not name
            self.fail(f"blocked: a bot-check page instead of the board at {response.url}")
            return
        capture: Capture | None = response.meta.get("capture")
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

    def _captured_postings(self, capture: Capture, response: Response) -> Iterator[Any]:
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
