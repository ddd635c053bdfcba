"""Ashby posting API: the whole board, compensation included, in one response.

``GET {base_url}/posting-api/job-board/{company}?includeCompensation=true``.
There is no pagination: the board is seen whole when that response parses.
An unknown board answers 404 and the run fails. Parsing:
:mod:`spiders.parsers.ashby`.
"""

from __future__ import annotations

import re
from typing import Any

from scrapy.http import Response

from spiders.base import OneResponseBoard, Param
from spiders.parsers.ashby import board_url, read_board
from spiders.parsers.stream import Listing

_NAME = re.compile(r"[^/?#]*[^/?#\s][^/?#]*")


class AshbySpider(OneResponseBoard):
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

    def board_url(self) -> str:
        return board_url(self.base_url, self.board_params["company"])

    def read_board(self, response: Response) -> Listing:
        return read_board(response, self.source)
