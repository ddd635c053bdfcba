"""BambooHR careers sites: the job list, and a detail per posting.

``GET https://{company}.bamboohr.com/careers/list`` (``base_url`` replaces
the host in tests and mirrors) gives every open posting in one answer; the
board is seen whole when it holds as many postings as ``meta.totalCount``
says (without it, when it parsed whole; ``complete_by`` says which) and
every detail asked for was read. A posting's detail
(``/careers/{id}/detail``) is fetched only when the list shows it new or
moved (title, department, employment status, location, location type);
otherwise it is reported as seen unchanged. A company without a careers
site answers 404, or redirects off its host to BambooHR's own site: both
fail the run as "board not found" (redirects are not followed).
Parsing: :mod:`spiders.parsers.bamboohr`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy.http import Response

from crawler.errors import BoardError
from spiders.base import BoardSpider, Param, subdomain_problem
from spiders.parsers.bamboohr import (
    detail_url,
    fingerprint,
    list_url,
    parse_detail,
    parse_list,
    site_url,
)

_REDIRECTS = [301, 302, 303, 307, 308]


class BambooHRSpider(BoardSpider):
    board = "bamboohr"
    title = "BambooHR careers site (job list and job details)"
    params = {"company": Param(str, "the careers site name in <company>.bamboohr.com/careers", required=True)}
    not_found = "BambooHR has no careers site {company!r}"
    example = 'board = "bamboohr"\ncompany = "giottoai"'

    @classmethod
    def check_more(cls, given: dict[str, Any]) -> str | None:
        if problem := subdomain_problem("company", given["company"], "<company>.bamboohr.com"):
            return problem
        return None

    def _site(self) -> str:
        return self.base_url or site_url(self.board_params["company"])

    def start_requests(self) -> Iterator[scrapy.Request]:
        yield scrapy.Request(list_url(self._site()), callback=self.parse_job_list, errback=self.on_board_error,
                             dont_filter=True,
                             meta={"dont_redirect": True, "handle_httpstatus_list": _REDIRECTS})

    def parse_job_list(self, response: Response) -> Iterator[Any]:
        self.listing_pages += 1
        yield self.keep_raw(response)
        if response.status in _REDIRECTS:
            where = response.headers.get("Location", b"").decode("latin-1") or "elsewhere"
            self.fail(f"board not found: {self.not_found.format(**self.board_params)} "
                      f"(HTTP {response.status} redirect from {response.url} to {where})")
            return
        try:
            listing = parse_list(response)
        except BoardError as exc:
            self.fail(str(exc))
            return
        ids: set[str] = set()
        yield from self.listed(listing.items, ids, "id", fingerprint, lambda item, ext, fp: scrapy.Request(
            detail_url(self._site(), ext), callback=self.parse_job_detail, errback=self.on_detail_error,
            meta={"external_id": ext}, cb_kwargs={"item": item, "fp": fp}))
        if listing.total is None:
            self.board_complete = True
            self.complete_by = "whole job list parsed (no meta.totalCount); count checked against recent runs only"
        elif len(ids) == listing.total:
            self.board_complete = True
            self.complete_by = f"meta.totalCount = {listing.total} distinct postings, every detail read"
        else:
            self.board_complete = False
            self.note_error(f"job list holds {len(ids)} distinct postings of the {listing.total} "
                            f"it reports (meta.totalCount)")

    def parse_job_detail(self, response: Response, item: dict[str, Any], fp: str) -> Iterator[Any]:
        yield from self.posting_from_detail(
            response, lambda: parse_detail(response, self.source, self.board_params["company"], item), fp)
