"""SmartRecruiters Posting API: a paged listing, and a detail page per posting.

List ``GET {base_url}/v1/companies/{company}/postings?limit=100&offset=N``
until the offset reaches ``totalFound``; the board is seen whole when the
pages gave as many distinct postings as ``totalFound`` says and every page
(listing and detail) was read. Each posting's detail
(``/v1/companies/{company}/postings/{id}``) is fetched only when the listing
shows it new or moved (released date, title, location, reference number);
otherwise it is reported as seen unchanged. Parsing:
:mod:`spiders.parsers.smartrecruiters`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy.http import Response

from crawler.errors import BoardError
from spiders.base import BoardSpider, Param
from spiders.parsers.smartrecruiters import (
    detail_url,
    fingerprint,
    listing_url,
    next_offset,
    parse_detail,
    parse_listing,
)

_NAME = re.compile(r"[^/?#\s]+")


class SmartRecruitersSpider(BoardSpider):
    board = "smartrecruiters"
    title = "SmartRecruiters Posting API"
    default_base_url = "https://api.smartrecruiters.com"
    params = {"company": Param(str, "the company identifier in jobs.smartrecruiters.com/<company>",
                               required=True)}
    not_found = "SmartRecruiters has no company {company!r}"
    example = 'board = "smartrecruiters"\ncompany = "Ubisoft2"'
    min_download_delay = 0.1  # seconds; SmartRecruiters documents 10 requests a second

    @classmethod
    def check_more(cls, given: dict[str, Any]) -> str | None:
        if not _NAME.fullmatch(given["company"]):
            return (f"company: must be the company identifier alone, as in "
                    f"jobs.smartrecruiters.com/<company>, got {given['company']!r}")
        return None

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._ids: set[str] = set()

    def start_requests(self) -> Iterator[scrapy.Request]:
        yield self._page(0)

    def _page(self, offset: int) -> scrapy.Request:
        return scrapy.Request(listing_url(self.base_url, self.board_params["company"], offset),
                              callback=self.parse_listing_page, errback=self.on_page_error,
                              cb_kwargs={"offset": offset}, dont_filter=True)

    def parse_listing_page(self, response: Response, offset: int) -> Iterator[Any]:
        self.listing_pages += 1
        yield self.keep_raw(response)
        company = self.board_params["company"]
        try:
            page = parse_listing(response, self.source, company)
        except BoardError as exc:
            (self.listing_failed if offset else self.fail)(str(exc))
            return
        yield from self.listed(page.items, self._ids, "id", fingerprint, lambda item, ext, fp: scrapy.Request(
            detail_url(self.base_url, company, item), callback=self.parse_posting,
            errback=self.on_detail_error, meta={"external_id": ext},
            cb_kwargs={"listing": item, "fp": fp}))
        following = next_offset(offset, len(page.items), page.total)
        if following is not None:
            yield self._page(following)
            return
        self.judge_count(len(self._ids), page.total, "postings", "totalFound")

    def parse_posting(self, response: Response, listing: dict[str, Any], fp: str) -> Iterator[Any]:
        yield from self.posting_from_detail(response, lambda: parse_detail(response, self.source, self.board_params["company"], listing), fp)
