"""Teamtailor career sites: the public jobs RSS feed, page by page.

``GET {site}/jobs.rss?offset=N&per_page=100``, ``{site}`` being
``https://{company}.teamtailor.com`` or the career site's own ``url``
(``base_url`` replaces it in tests and mirrors). Each page is a whole RSS
document with the jobs' full text; the feed gives no total, so it is read
until a page holds fewer than 100 items, and the board is seen whole when
every page was read. A page whose jobs were all on earlier pages means the
feed did not advance: the run is partial rather than looping or guessing.
A company without a career site answers 404 and the run fails as "board
not found". Parsing: :mod:`spiders.parsers.teamtailor`.

Why the feed and not the posting pages' JSON-LD: the feed is Teamtailor's
documented public export, gives every job's text in a few requests, and
carries the department, the structured locations and the remote status
the pages would need one request per job for.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, ClassVar
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response

from crawler.errors import BoardError
from spiders.base import BoardSpider, Param
from spiders.parsers.teamtailor import PAGE_SIZE, feed_url, next_offset, parse_feed, site_url

_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")


class TeamtailorSpider(BoardSpider):
    board = "teamtailor"
    title = "Teamtailor career site (jobs RSS feed)"
    params = {
        "company": Param(str, "the career site name in <company>.teamtailor.com (with its region, "
                              "e.g. acme.na)"),
        "url": Param(str, "the career site on the employer's own domain, e.g. https://careers.example.com"),
    }
    not_found = "Teamtailor has no career site at {site}"
    example = 'board = "teamtailor"\ncompany = "career"'
    max_pages: ClassVar[int] = 100  # 10,000 jobs: beyond it the run stops, partial

    @classmethod
    def check_more(cls, given: dict[str, Any]) -> str | None:
        company, url = given.get("company"), given.get("url")
        if bool(company) == bool(url):
            return "company or url: exactly one of them is required for board 'teamtailor'"
        if company and not _NAME.fullmatch(company):
            return (f"company: must be the career site name alone, as in <company>.teamtailor.com, "
                    f"got {company!r}")
        if url:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                return f"url: must be the career site's address (https://...), got {url!r}"
        return None

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._ids: set[str] = set()

    def _site(self) -> str:
        if self.base_url:
            return self.base_url
        url = self.board_params["url"]
        if url:
            parts = urlsplit(url)
            return f"{parts.scheme}://{parts.netloc}"
        return site_url(self.board_params["company"])

    def start_requests(self) -> Iterator[scrapy.Request]:
        yield self._page(0)

    def _page(self, offset: int) -> scrapy.Request:
        return scrapy.Request(feed_url(self._site(), offset), callback=self.parse_feed_page,
                              errback=self.on_page_error, cb_kwargs={"offset": offset}, dont_filter=True)

    def on_board_error(self, failure: Any) -> None:
        # not_found names the site, which no single parameter holds
        self.board_params = {**self.board_params, "site": self._site()}
        super().on_board_error(failure)

    def parse_feed_page(self, response: Response, offset: int) -> Iterator[Any]:
        self.listing_pages += 1
        raw = self.keep_raw(response)
        yield raw
        try:
            page = parse_feed(response, self.source)
        except BoardError as exc:
            (self.listing_failed if offset else self.fail)(str(exc))
            return
        fetched = self.fetched_at(response)
        new = 0
        for posting in page.postings:
            if posting.external_id in self._ids:
                continue  # shifted onto this page by a job removed meanwhile
            self._ids.add(posting.external_id)
            new += 1
            posting.fetched_at, posting.raw_sha256 = fetched, raw.sha256
            yield posting
        following = next_offset(offset, page.items)
        if following is None:
            self.board_complete = True
            self.complete_by = (f"feed read to its end: {len(self._ids)} jobs over {self.listing_pages} "
                                f"page(s) of up to {PAGE_SIZE}, the last one short")
            return
        if not new:
            self.listing_failed(f"the feed did not advance: the page at offset {offset} repeats jobs "
                                f"already read")
            return
        if self.listing_pages >= self.max_pages:
            self.listing_failed(f"stopped after {self.listing_pages} feed pages; the board was not read whole")
            return
        yield self._page(following)
