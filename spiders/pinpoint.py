"""Pinpoint careers sites: the whole board in one response.

``GET https://{company}.pinpointhq.com/postings.json`` (with ``base_url``
set, ``GET {base_url}/postings.json``: a careers site on its own domain,
such as ``jobs.butlins.com``, or the replay server in tests). The feed
reports no total, so the board is seen whole when that response parses; the
run says so in ``complete_by`` and its count is checked against recent
runs. An unknown careers site answers 404 and the run fails. Parsing:
:mod:`spiders.parsers.pinpoint`.
"""

from __future__ import annotations

from typing import Any

from scrapy.http import Response

from spiders.base import OneResponseBoard, Param, subdomain_problem
from spiders.parsers.pinpoint import board_url, read_postings
from spiders.parsers.stream import Listing

# A host name label: what stands before .pinpointhq.com.


class PinpointSpider(OneResponseBoard):
    board = "pinpoint"
    title = "Pinpoint careers site (postings feed)"
    # No fixed host: the company is the subdomain (see board_url).
    default_base_url = None
    params = {"company": Param(str, "the careers site subdomain in <company>.pinpointhq.com", required=True)}
    not_found = "Pinpoint has no careers site {company!r}"
    example = 'board = "pinpoint"\ncompany = "aria"'

    @classmethod
    def check_more(cls, given: dict[str, Any]) -> str | None:
        if problem := subdomain_problem("company", given["company"], "<company>.pinpointhq.com"):
            return problem
        return None

    def board_url(self) -> str:
        return board_url(self.base_url or f"https://{self.board_params['company']}.pinpointhq.com")

    def read_board(self, response: Response) -> Listing:
        return read_postings(response, self.source)
