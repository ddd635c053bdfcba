"""Greenhouse Job Board API: the whole board in one response.

``GET {base_url}/v1/boards/{token}/jobs?content=true``. With ``meta.total``
the board is seen whole when the response holds that many jobs. Without it
there is nothing in the answer to count against: the whole response parsed
is the only proof, and the spider says so in ``complete_by`` (the count is
then checked only against recent runs, the run recorder's suspicious drop).
Parsing: :mod:`spiders.parsers.greenhouse`.
"""

from __future__ import annotations

from scrapy.http import Response

from spiders.base import OneResponseBoard, Param
from spiders.parsers.greenhouse import read_jobs
from spiders.parsers.stream import Listing


class GreenhouseSpider(OneResponseBoard):
    board = "greenhouse"
    title = "Greenhouse Job Board API"
    default_base_url = "https://boards-api.greenhouse.io"
    params = {"token": Param(str, "the board token in boards.greenhouse.io/<token>", required=True)}
    example = 'board = "greenhouse"\ntoken = "vercel"'
    total_name, item_word = "meta.total", "jobs"
    no_total = "whole response without meta.total; count checked against recent runs only"

    def board_url(self) -> str:
        return f"{self.base_url}/v1/boards/{self.board_params['token']}/jobs?content=true"

    def read_board(self, response: Response) -> Listing:
        return read_jobs(response, self.source)
