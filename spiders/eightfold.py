"""Eightfold career sites, any employer: the listing paged to its count,
then each posting's details.

``api = "pcsx"`` (Career Hub sites): ``GET {base}/api/pcsx/search?domain=…&start=N``
then ``/api/pcsx/position_details``. ``api = "apply_v2"`` (older sites):
``GET {base}/api/apply/v2/jobs?domain=…&start=N&num=10`` then
``/api/apply/v2/jobs/{id}?domain=…`` (skipped when the listing already
carries the description). Both give 10 positions a page; pages are asked
for one after another until the count the first page reported is reached
or a page comes back short, and details only for positions the listing
shows new or changed. The board is seen whole when the listing ended and
gave as many positions as its count said. ``{base}`` is
``https://{host}`` (or ``base_url``); posting URLs are always read against
``https://{host}``. JSON answers pass the wall check of every response
(:mod:`crawler.middlewares.walls`). Parsing: :mod:`spiders.parsers.eightfold`.

A preset of this board (:mod:`spiders.microsoft`) fixes the host, tenant
domain, employer and API, and overrides the request and error hooks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, ClassVar

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.errors import BoardError
from crawler.items import Posting, Seen
from spiders.base import BoardSpider, Param
from spiders.parsers.eightfold import (
    APIS,
    PAGE_SIZE,
    Position,
    SearchPage,
    details_url,
    job_url,
    jobs_url,
    listing_posting,
    parse_position_details,
    parse_search,
    search_url,
)

_JSON_HEADERS = {"Accept": "application/json"}
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d+)?")


class EightfoldSpider(BoardSpider):
    board = "eightfold"
    title = "Eightfold career sites (PCSX or apply v2 API)"
    params = {
        "host": Param(str, 'the careers host, e.g. "careers.qualcomm.com" or "<x>.eightfold.ai"',
                      required=True),
        "domain": Param(str, 'the tenant domain its API asks for, e.g. "qualcomm.com"', required=True),
        "api": Param(str, '"pcsx" (default: /api/pcsx/search, Career Hub sites) or "apply_v2" '
                          '(/api/apply/v2/jobs, older sites)', default="pcsx"),
        "query": Param(str, "search words (empty: every posting)", default=""),
        "location": Param(str, "location filter, e.g. \"United States\" (empty: anywhere)", default=""),
        "max_results": Param(int, "stop after this many postings (the run is then partial)"),
    }
    not_found = "no Eightfold career site answers at {host!r} for domain {domain!r}"
    example = ('board = "eightfold"\nhost = "careers.qualcomm.com"\ndomain = "qualcomm.com"\n'
               '# api = "apply_v2"  # for sites on the older /api/apply/v2/jobs')
    # About 100 requests a minute is the limit reported for Eightfold sites.
    min_download_delay = 0.6

    # A preset fixes these; the generic board takes them from its parameters.
    tenant_domain: str = ""
    public_site: str = ""
    employer: str | None = None
    api: str = "pcsx"
    label: ClassVar[str] = "Eightfold"
    # Extra meta on every plain API request (a preset reading walls itself).
    api_meta: ClassVar[dict[str, Any]] = {}

    @classmethod
    def check_more(cls, given: dict[str, Any]) -> str | None:
        if "host" in given and not _HOST.fullmatch(given["host"]):
            return (f"host: must be the careers host alone, e.g. \"careers.qualcomm.com\" "
                    f"(no https://, no path), got {given['host']!r}")
        if given.get("api", "pcsx") not in APIS:
            return f"api: must be one of {', '.join(repr(a) for a in APIS)}, got {given['api']!r}"
        if "max_results" in given and given["max_results"] < 1:
            return "max_results: must be at least 1"
        return None

    def __init__(self, source: str, params: dict[str, Any], base_url: str | None = None,
                 **kwargs: Any):
        host = params.get("host")
        if host and not base_url:
            base_url = f"https://{host}"
        super().__init__(source, params, base_url=base_url, **kwargs)
        if host:
            self.public_site = f"https://{host}"
        self.tenant_domain = self.board_params.get("domain") or self.tenant_domain
        self.api = self.board_params.get("api") or self.api

    def start_requests(self) -> Iterator[scrapy.Request]:
        self._ids: set[str] = set()
        self._total: int | None = None
        self._company: str | None = self.employer
        yield self._search_request(0)

    # -- requests

    def _listing_url(self, start: int) -> str:
        q, loc = self.board_params["query"], self.board_params["location"]
        if self.api == "apply_v2":
            return jobs_url(self.base_url, self.tenant_domain, q, loc, start)
        return search_url(self.base_url, self.tenant_domain, q, loc, start)

    def _details_url(self, pos: Position) -> str:
        if self.api == "apply_v2":
            return job_url(self.base_url, self.tenant_domain, pos.external_id)
        return details_url(self.base_url, self.tenant_domain, pos.external_id)

    def _search_request(self, start: int) -> scrapy.Request:
        return scrapy.Request(self._listing_url(start), headers=_JSON_HEADERS, dont_filter=True,
                              callback=self.parse_search, meta=dict(self.api_meta),
                              errback=self.on_search_error, cb_kwargs={"start": start})

    def _details_request(self, pos: Position) -> scrapy.Request:
        return scrapy.Request(self._details_url(pos), headers=_JSON_HEADERS,
                              callback=self.parse_details, errback=self.on_details_error,
                              meta={"external_id": pos.external_id, "position": pos, **self.api_meta})

    # -- the listing

    def on_search_error(self, failure: Failure) -> Any:
        """The first page failing fails the run, a later one makes it partial."""
        self.on_page_error(failure)

    def parse_search(self, response: Response, start: int) -> Iterator[Any]:
        yield from self._search_page(response, start)

    def _search_page(self, response: Response, start: int) -> Iterator[Any]:
        self.listing_pages += 1
        if self.walled(response):
            return
        raw = self.keep_raw(response)
        yield raw
        try:
            page: SearchPage = parse_search(response, self.label, self.public_site)
        except BoardError as exc:
            (self.fail if start == 0 else self.listing_failed)(str(exc))
            return
        if self._total is None:
            self._total = page.total
        self._company = self._company or page.company
        cap = self.board_params["max_results"]
        capped = False
        for pos in page.positions:
            if pos.external_id in self._ids:
                continue  # shifted onto this page by a newer posting
            if cap is not None and len(self._ids) >= cap:
                capped = True
                break
            self._ids.add(pos.external_id)
            if self.unchanged_in_listing(pos.external_id, pos.fingerprint):
                yield Seen(source=self.source, external_id=pos.external_id)
            elif pos.description is not None:  # the listing carries the whole posting
                yield self._finish(listing_posting(pos, self.source, self._company), response, raw.sha256,
                                   pos)
            else:
                yield self._details_request(pos)
        nxt = start + len(page.positions)
        if self._total is not None:
            more = bool(page.positions) and nxt < self._total
        else:
            more = len(page.positions) >= PAGE_SIZE
        if capped or (more and cap is not None and len(self._ids) >= cap):
            counted = f" of the {self._total} postings it counts" if self._total else ""
            self.note_error(f"the search stopped at max_results={cap}{counted}")
            self.board_complete = False
        elif more:
            yield self._search_request(nxt)
        elif self._total is not None and len(self._ids) < self._total:
            self.note_error(f"the search gave {len(self._ids)} of the {self._total} postings it counts")
            self.board_complete = False
        else:
            self.board_complete = True
            self.complete_by = (f"search count = {self._total}, {len(self._ids)} positions seen"
                                if self._total is not None else
                                f"search paged until a short page ({len(self._ids)} positions), no count "
                                f"given; count checked against recent runs only")

    # -- details

    def on_details_error(self, failure: Failure) -> Iterator[Any]:
        yield from self.on_detail_error(failure)

    def parse_details(self, response: Response) -> Iterator[Any]:
        yield from self._details(response, response.meta["position"])

    def _details(self, response: Response, pos: Position) -> Iterator[Any]:
        if self.walled(response):
            return
        raw = self.keep_raw(response)
        yield raw
        try:
            item = parse_position_details(response, self.source, pos, self._company, self.label,
                                          self.public_site)
        except BoardError as exc:
            self.listing_failed(str(exc))
            return
        if isinstance(item, Posting):
            item = self._finish(item, response, raw.sha256, pos)
        yield item

    def _finish(self, posting: Posting, response: Response, raw_sha256: str, pos: Position) -> Posting:
        posting.fetched_at, posting.raw_sha256 = self.fetched_at(response), raw_sha256
        posting.listing_hash = pos.fingerprint
        return posting
