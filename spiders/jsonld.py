"""Any careers site with schema.org JobPosting data (JSON-LD or microdata).

Start from listing pages (``start_urls``, following ``rel=next`` pages) or a
``sitemap_url``; follow the posting links (``allow`` regex) and read the
posting on each page. The board is seen whole when every listing page was
fetched and parsed and every posting page gave its posting (or answered
404/410, which is evidence it is gone). A captcha or login page in place of
any of them (rendered or not) fails the run as ``blocked`` before it is read
(:mod:`crawler.middlewares.walls`): a wall is never a listing without links.
Parsing: :mod:`spiders.parsers.jsonld`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy.http import Response

from crawler.browser import PLAYWRIGHT_SETTINGS
from crawler.errors import BoardError
from crawler.items import Gone, Seen, listing_fingerprint
from spiders.base import BoardSpider, Param
from spiders.parsers.jsonld import extract_postings, find_links, next_page, sitemap_pages
from spiders.parsers.nextjs import extract_nextjs_postings


class JsonLdSpider(BoardSpider):
    board = "jsonld"
    title = "Careers site with schema.org JobPosting (JSON-LD or microdata)"
    params = {
        "start_urls": Param(list, "listing pages that link to the postings"),
        "sitemap_url": Param(str, "a sitemap (or sitemap index) listing the posting pages"),
        "allow": Param(str, "regex a link must match to count as a posting page"),
        "follow_next": Param(bool, "follow rel=next pagination on listing pages", default=True),
        "max_listing_pages": Param(int, "stop after this many listing pages", default=500),
        "render": Param(bool, "render listing and posting pages in headless Chromium (sites that "
                        "give their JSON-LD only to a browser)", default=False),
    }
    example = ('board = "jsonld"\nstart_urls = ["https://careers.example.com/jobs"]\n'
               'allow = "/jobs/\\\\d+"')

    @classmethod
    def check_more(cls, given: dict[str, Any]) -> str | None:
        if not given.get("start_urls") and not given.get("sitemap_url"):
            return "start_urls or sitemap_url: one of them is required for board 'jsonld'"
        if "allow" in given:
            try:
                re.compile(given["allow"])
            except re.error as exc:
                return f"allow: not a valid regular expression: {exc}"
        return None

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> JsonLdSpider:
        # a spider may change settings here, before they are frozen
        if (kwargs.get("params") or {}).get("render"):
            crawler.settings.setdict(PLAYWRIGHT_SETTINGS, priority="spider")
        return super().from_crawler(crawler, *args, **kwargs)

    def _meta(self) -> dict[str, Any]:
        # a rendered page is not what the server's ETag describes: keep it out of the HTTP cache
        return {"playwright": True, "dont_cache": True} if self.board_params["render"] else {}

    def start_requests(self) -> Iterator[scrapy.Request]:
        self._posting_urls: set[str] = set()
        self._listing_owners: dict[str, list[str]] | None = None
        self._allow = self.board_params["allow"]
        if self.board_params["sitemap_url"]:
            yield scrapy.Request(self._absolute(self.board_params["sitemap_url"]),
                                 callback=self.parse_sitemap, errback=self.on_listing_error,
                                 dont_filter=True)
        for url in self.board_params["start_urls"] or []:
            yield scrapy.Request(self._absolute(url), callback=self.parse_listing,
                                 errback=self.on_listing_error, dont_filter=True, meta=self._meta())
        self.board_complete = True  # until a listing or posting page fails
        read = ["sitemap"] if self.board_params["sitemap_url"] else []
        read += ["listing page"] if self.board_params["start_urls"] else []
        self.complete_by = f"every {', '.join(read)} and posting page read"

    def _absolute(self, url: str) -> str:
        """Start URLs may be paths under base_url (mirrors, tests)."""
        if self.base_url and url.startswith("/"):
            return self.base_url + url
        return url

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        self.listing_pages += 1
        try:
            entries, is_index = sitemap_pages(response)
        except BoardError as exc:
            self.listing_failed(str(exc))
            return
        if not entries and not is_index:
            self.listing_failed(f"sitemap without URLs at {response.url}")
            return
        allow = re.compile(self._allow) if self._allow else None
        for url, lastmod in entries:
            if is_index:
                yield scrapy.Request(url, callback=self.parse_sitemap, errback=self.on_listing_error)
            elif allow is None or allow.search(url):
                fp = listing_fingerprint(url, lastmod) if lastmod else None
                seen = self._unchanged_in_sitemap(url, fp)
                if seen:
                    yield from seen
                else:
                    yield from self._posting_request(url, fp)

    def _unchanged_in_sitemap(self, url: str, fp: str | None) -> list[Seen]:
        """``Seen`` for the open postings read from this page when the
        sitemap's ``lastmod`` for it has not moved since (not in a full
        refresh): the page is not fetched. Their listing fingerprint is the
        page URL with its lastmod, so it names the page, not an id, which
        only the page itself tells."""
        if fp is None or self.full_refresh:
            return []
        if self._listing_owners is None:
            self._listing_owners = {}
            for ext, h in self.known_listing.items():
                self._listing_owners.setdefault(h, []).append(ext)
        owners = self._listing_owners.get(fp, [])
        if owners:
            self._posting_urls.add(url)
            self.crawler.stats.inc_value("jobdelta/postings/unchanged_listing", len(owners))
        return [Seen(source=self.source, external_id=ext) for ext in owners]

    def parse_listing(self, response: Response) -> Iterator[Any]:
        self.listing_pages += 1
        # a listing page may itself carry postings (single-page boards)
        yield from self._postings_from(response, required=False)
        for url in find_links(response, self._allow):
            yield from self._posting_request(url)
        nxt = next_page(response) if self.board_params["follow_next"] else None
        if nxt:
            if self.listing_pages >= self.board_params["max_listing_pages"]:
                self.listing_failed(f"stopped after {self.listing_pages} listing pages (max_listing_pages)")
                return
            yield scrapy.Request(nxt, callback=self.parse_listing, errback=self.on_listing_error,
                                 meta=self._meta())

    def _posting_request(self, url: str, listing_fp: str | None = None) -> Iterator[scrapy.Request]:
        if url in self._posting_urls:
            return
        self._posting_urls.add(url)
        meta = {**self._meta(), **self.known_page_check()}
        if listing_fp:
            meta["jobdelta_listing_fp"] = listing_fp
        yield scrapy.Request(url, callback=self.parse_posting, errback=self.on_detail_error, meta=meta)

    def parse_posting(self, response: Response) -> Iterator[Any]:
        yield from self._postings_from(response, required=True)

    def _postings_from(self, response: Response, required: bool) -> Iterator[Any]:
        # a response built by hand (tests, `jobdelta extract`) has no request
        meta = response.request.meta if required and response.request is not None else {}
        listing_fp = meta.get("jobdelta_listing_fp")
        seen = self.unchanged_page(response)
        if seen is not None:  # byte-identical to the page that made these postings
            for item in seen:
                item.listing_hash = listing_fp
                yield item
            return
        postings = extract_postings(response, self.source) or extract_nextjs_postings(response, self.source)
        if not postings:
            if not required:
                return
            text = " ".join(response.css("body *::text").getall()[:400]) if hasattr(response, "css") else ""
            if self.CLOSED_TEXT.search(text):
                yield Gone(source=self.source, url=response.url,
                           reason="posting page says it no longer accepts applications")
                return
            self.listing_failed(f"no schema.org JobPosting (JSON-LD or microdata) on {response.url}")
            return
        raw = self.keep_raw(response)
        yield raw
        fetched = self.fetched_at(response)
        page_hash = self.page_hash(response.url, raw.sha256)
        for p in postings:
            p.fetched_at, p.raw_sha256, p.page_url = fetched, raw.sha256, response.url
            p.source_hash, p.listing_hash = page_hash, listing_fp
            yield p
