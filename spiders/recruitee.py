"""Recruitee careers sites: the whole board in one response.

``GET https://{company}.recruitee.com/api/offers/`` (with ``base_url`` set,
``GET {base_url}/api/offers/``: a careers site on its own domain, or the
replay server in tests). The answer reports no total, so the board is seen
whole when that response parses; the run says so in ``complete_by`` and its
count is checked against recent runs. An unknown company answers 404 and the
run fails. Parsing: :mod:`spiders.parsers.recruitee`.
"""

from __future__ import annotations

from typing import Any

from scrapy.http import Response

from spiders.base import OneResponseBoard, Param, subdomain_problem
from spiders.parsers.recruitee import board_url, read_offers
from spiders.parsers.stream import Listing

# A host name label: what stands before .recruitee.com.


class RecruiteeSpider(OneResponseBoard):
    board = "recruitee"
    title = "Recruitee careers site (offers API)"
    # No fixed host: the company is the subdomain (see board_url).
    default_base_url = None
    params = {"company": Param(str, "the careers site subdomain in <company>.recruitee.com", required=True)}
    not_found = "Recruitee has no careers site {company!r}"
    example = 'board = "recruitee"\ncompany = "aikidosecurity"'

    @classmethod
    def check_more(cls, given: dict[str, Any]) -> str | None:
        if problem := subdomain_problem("company", given["company"], "<company>.recruitee.com"):
            return problem
        return None

    def board_url(self) -> str:
        base = self.base_url or f"https://{self.board_params['company']}.recruitee.com"
        return board_url(base)

    def read_board(self, response: Response) -> Listing:
        return read_offers(response, self.source)
