"""Lever Postings API: the board in pages of 100 whole postings.

``GET {base_url}/v0/postings/{site}?mode=json&skip=N&limit=100`` (the EU
host with ``eu = true``). The answer carries no total, so the board is seen
whole when a page shorter than the limit (an empty one too) ends it and
every page before it parsed. Pages are asked for one after another, at
Lever's documented rate of about 2 requests a second. Parsing:
:mod:`spiders.parsers.lever`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy.http import Response

from crawler.errors import BoardError
from spiders.base import BoardSpider, Param
from spiders.parsers.lever import PAGE_SIZE, is_last_page, page_url, parse_postings

EU_BASE_URL = "https://api.eu.lever.co"
_NAME = re.compile(r"[^/?#\s]+")


class LeverSpider(BoardSpider):
    board = "lever"
    title = "Lever Postings API"
    default_base_url = "https://api.lever.co"
    params = {
        "site": Param(str, "the site name in jobs.lever.co/<site>", required=True),
        "eu": Param(bool, "the site is hosted in Lever's EU region (jobs.eu.lever.co)", default=False),
    }
    not_found = "Lever has no site {site!r}"
    example = 'board = "lever"\nsite = "spotify"\n# eu = true  # for sites on jobs.eu.lever.co'
    min_download_delay = 0.5  # seconds; Lever documents about 2 requests a second

    @classmethod
    def check_more(cls, given: dict[str, Any]) -> str | None:
        if not _NAME.fullmatch(given["site"]):
            return f"site: must be the site name alone, as in jobs.lever.co/<site>, got {given['site']!r}"
        return None

    def __init__(self, source: str, params: dict[str, Any], base_url: str | None = None,
                 **kwargs: Any):
        if not base_url and params.get("eu"):
            base_url = EU_BASE_URL
        super().__init__(source, params, base_url=base_url, **kwargs)
        self._ids: set[str] = set()

    def start_requests(self) -> Iterator[scrapy.Request]:
        yield self._page(0)

    def _page(self, skip: int) -> scrapy.Request:
        return scrapy.Request(page_url(self.base_url, self.board_params["site"], skip),
                              callback=self.parse_page, errback=self.on_page_error,
                              cb_kwargs={"skip": skip}, dont_filter=True)

    def parse_page(self, response: Response, skip: int) -> Iterator[Any]:
        self.listing_pages += 1
        raw = self.keep_raw(response)
        yield raw
        try:
            postings = parse_postings(response, self.source)
        except BoardError as exc:
            (self.listing_failed if skip else self.fail)(str(exc))
            return
        fetched = self.fetched_at(response)
        fresh = 0
        for p in postings:
            if p.external_id in self._ids:
                continue  # shifted into this page by a posting removed meanwhile
            self._ids.add(p.external_id)
            fresh += 1
            p.fetched_at, p.raw_sha256 = fetched, raw.sha256
            yield p
        if is_last_page(len(postings)):
            self.board_complete = True
            self.complete_by = (f"paged until a short page ({len(self._ids)} postings), no total "
                                f"given; count checked against recent runs only")
        elif not fresh:
            # a full page of postings already seen: the board ignores `skip`,
            # and following it would loop
            self.listing_failed(f"page at skip={skip} repeats postings already seen: paging stopped")
        else:
            yield self._page(skip + PAGE_SIZE)
