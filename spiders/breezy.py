"""Breezy HR careers portals: the whole board in one response.

``GET https://{company}.breezy.hr/json`` (with ``base_url`` set,
``GET {base_url}/json``). The feed reports no total, so the board is seen
whole when that response parses; the run says so in ``complete_by`` and its
count is checked against recent runs. An unknown portal answers 404, or
redirects to Breezy's own site: both fail the run as "board not found".
Parsing: :mod:`spiders.parsers.breezy`.
"""

from __future__ import annotations

from typing import Any

from scrapy.http import Response

from crawler.errors import BoardError
from spiders.base import OneResponseBoard, Param, subdomain_problem
from spiders.parsers.breezy import board_url, moved_off_portal, read_positions
from spiders.parsers.stream import Listing

# A host name label: what stands before .breezy.hr.


class BreezySpider(OneResponseBoard):
    board = "breezy"
    title = "Breezy HR careers portal (JSON feed)"
    # No fixed host: the company is the subdomain (see board_url).
    default_base_url = None
    params = {"company": Param(str, "the portal subdomain in <company>.breezy.hr", required=True)}
    not_found = "Breezy HR has no portal {company!r}"
    example = 'board = "breezy"\ncompany = "safe-global"'

    @classmethod
    def check_more(cls, given: dict[str, Any]) -> str | None:
        if problem := subdomain_problem("company", given["company"], "<company>.breezy.hr"):
            return problem
        return None

    def board_url(self) -> str:
        return board_url(self.base_url or f"https://{self.board_params['company']}.breezy.hr")

    def read_board(self, response: Response) -> Listing:
        if moved := moved_off_portal(response):
            raise BoardError(f"board not found: {self.not_found.format(**self.board_params)} "
                             f"(redirected to {moved})")
        return read_positions(response, self.source)
