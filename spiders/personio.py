"""Personio career sites: the public positions feed, the whole board in one XML.

``GET https://{company}.jobs.personio.{domain}/xml`` (``base_url`` replaces
the host in tests and mirrors). There is no paging and no total: the board
is seen whole when the feed parses, and ``complete_by`` says the count is
checked only against recent runs. A company without a career site answers
404, or redirects to personio.com; both fail the run as "board not found"
(redirects are not followed, so personio.com's home page is never read as
an empty board). Parsing: :mod:`spiders.parsers.personio`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy.http import Response

from crawler.errors import BoardError
from spiders.base import OneResponseBoard, Param, subdomain_problem
from spiders.parsers.personio import DOMAINS, feed_url, read_feed, site_url
from spiders.parsers.stream import Listing

_REDIRECTS = [301, 302, 303, 307, 308]


class PersonioSpider(OneResponseBoard):
    board = "personio"
    title = "Personio career site (positions XML feed)"
    params = {
        "company": Param(str, "the career site name in <company>.jobs.personio.de", required=True),
        "domain": Param(str, 'the career site\'s domain: "de" (<company>.jobs.personio.de) or "com"',
                        default="de"),
    }
    not_found = "Personio has no career site {company!r} on jobs.personio.{domain}"
    example = 'board = "personio"\ncompany = "personio"'
    no_total = "whole feed parsed (it gives no total); count checked against recent runs only"

    @classmethod
    def check_more(cls, given: dict[str, Any]) -> str | None:
        if problem := subdomain_problem("company", given["company"], "<company>.jobs.personio.de"):
            return problem
        if given.get("domain", "de") not in DOMAINS:
            return f"domain: must be \"de\" or \"com\", got {given['domain']!r}"
        return None

    def board_url(self) -> str:
        company, domain = self.board_params["company"], self.board_params["domain"]
        return feed_url(self.base_url or site_url(company, domain))

    def start_requests(self) -> Iterator[scrapy.Request]:
        yield scrapy.Request(self.board_url(), callback=self.parse_board, errback=self.on_board_error,
                             dont_filter=True,
                             meta={"dont_redirect": True, "handle_httpstatus_list": _REDIRECTS})

    def read_board(self, response: Response) -> Listing:
        if response.status in _REDIRECTS:
            where = response.headers.get("Location", b"").decode("latin-1") or "elsewhere"
            raise BoardError(f"board not found: {self.not_found.format(**self.board_params)} "
                             f"(HTTP {response.status} redirect from {response.url} to {where})")
        company, domain = self.board_params["company"], self.board_params["domain"]
        return read_feed(response, self.source, company, domain)
