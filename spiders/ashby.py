"""Ashby posting API: the whole board, compensation included, in one response.

``GET {base_url}/posting-api/job-board/{company}?includeCompensation=true``.
There is no pagination: the board is seen whole when that response parses.
An unknown board answers 404 and the run fails. Parsing:
:mod:`spiders.parsers.ashby`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy.http import Response

from crawler.errors import BoardError
from spiders.base import BoardSpider, Param
from spiders.parsers.ashby import board_url, parse_board

_NAME = re.compile(r"[^/?#]*[^/?#\s][^/?#]*")


class AshbySpider(BoardSpider):
    board = "ashby"
    title = "Ashby job board (posting API)"
    default_base_url = "https://api.ashbyhq.com"
    params = {"company": Param(str, "the job board name in jobs.ashbyhq.com/<company>", required=True)}
    not_found = "Ashby has no job board {company!r}"
    example = 'board = "ashby"\ncompany = "linear"'

    @classmethod
    def check_more(cls, given: dict[str, Any]) -> str | None:
        if not _NAME.fullmatch(given["company"]):
            return (f"company: must be the job board name alone, as in jobs.ashbyhq.com/<company>, "
                    f"got {given['company']!r}")
        return None

    def start_requests(self) -> Iterator[scrapy.Request]:
        yield scrapy.Request(board_url(self.base_url, self.board_params["company"]),
                             callback=self.parse_board, errback=self.on_board_error, dont_filter=True)

    def parse_board(self, response: Response) -> Iterator[Any]:
        self.listing_pages += 1
        raw = self.keep_raw(response)
        yield raw
        try:
            postings = parse_board(response, self.source)
        except BoardError as exc:
            self.fail(str(exc))
            return
        fetched = self.fetched_at(response)
        for p in postings:
            p.fetched_at, p.raw_sha256 = fetched, raw.sha256
            yield p
        self.board_complete = True
        self.complete_by = "whole response, no total given; count checked against recent runs only"
