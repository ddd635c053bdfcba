"""Greenhouse Job Board API: the whole board in one response.

``GET {base_url}/v1/boards/{token}/jobs?content=true``. With ``meta.total``
the board is seen whole when the response holds that many jobs. Without it
there is nothing in the answer to count against: the whole response parsed
is the only proof, and the spider says so in ``complete_by`` (the count is
then checked only against recent runs, the run recorder's suspicious drop).
Parsing: :mod:`spiders.parsers.greenhouse`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy.http import Response

from crawler.errors import BoardError
from spiders.base import BoardSpider, Param
from spiders.parsers.greenhouse import parse_jobs


class GreenhouseSpider(BoardSpider):
    board = "greenhouse"
    title = "Greenhouse Job Board API"
    default_base_url = "https://boards-api.greenhouse.io"
    params = {"token": Param(str, "the board token in boards.greenhouse.io/<token>", required=True)}
    example = 'board = "greenhouse"\ntoken = "vercel"'

    def start_requests(self) -> Iterator[scrapy.Request]:
        url = f"{self.base_url}/v1/boards/{self.board_params['token']}/jobs?content=true"
        yield scrapy.Request(url, callback=self.parse_listing, errback=self.on_board_error,
                             dont_filter=True)

    def parse_listing(self, response: Response) -> Iterator[Any]:
        self.listing_pages += 1
        raw = self.keep_raw(response)
        yield raw
        try:
            postings, total = parse_jobs(response, self.source)
        except BoardError as exc:
            self.fail(str(exc))
            return
        fetched = self.fetched_at(response)
        for p in postings:
            p.fetched_at, p.raw_sha256 = fetched, raw.sha256
            yield p
        if total is None:
            self.board_complete = True
            self.complete_by = "whole response without meta.total; count checked against recent runs only"
        elif len(postings) < total:
            self.note_error(f"listing holds {len(postings)} of the {total} jobs it reports")
            self.board_complete = False
        else:
            self.board_complete = True
            self.complete_by = f"meta.total = {total}"
