"""Workday career sites, through the CXS API their own pages call.

List pages ``POST {base}/wday/cxs/{tenant}/{site}/jobs`` (20 a page), then
each posting's detail ``GET {base}/wday/cxs/{tenant}/{site}{externalPath}``
when the listing shows it new or changed. ``base`` is ``https://{host}``,
or ``base_url`` when one is set (mirrors, tests).

Workday reports ``total`` only on a search's first page and caps it at
2000, and offsets past 2000 repeat the first page. A search that reports
the cap is split on the values of one of its facets (countries, locations,
job families ...), each value searched on its own and split again when it
too reports the cap; postings are de-duplicated by ``externalPath``. The
board is seen whole only when every search was paged to its end and gave as
many postings as it reported, no search stayed at the cap, and the values
of every split facet add up to the search they split. Parsing:
:mod:`spiders.parsers.workday`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import scrapy
from scrapy.http import JsonRequest, Response
from twisted.python.failure import Failure

from crawler.errors import BoardError
from crawler.items import Posting, Seen
from spiders.base import BoardSpider, Param
from spiders.parsers.workday import (
    PAGE_SIZE,
    TOTAL_CAP,
    ListingEntry,
    WorkdaySite,
    choose_split_facet,
    parse_job_detail,
    parse_jobs_page,
    site_from_url,
)

_JSON = {"Accept": "application/json"}


@dataclass(eq=False)
class _Search:
    """One search (the whole board, or the board narrowed by facet values)
    and what paging it has shown so far."""

    facets: dict[str, list[str]]
    parent: _Search | None = None
    total: int | None = None
    paths: set[str] = field(default_factory=set)
    # set when the search is split on a facet: its values' searches report here
    split_on: str | None = None
    split_counted: bool = False  # the split facet gave counts (checked when it was chosen)
    children_waiting: int = 0
    children_total: int = 0

    @property
    def label(self) -> str:
        if not self.facets:
            return "the board's search"
        return "the search " + ", ".join(f"{k}={'|'.join(v)}" for k, v in self.facets.items())


class WorkdaySpider(BoardSpider):
    board = "workday"
    title = "Workday career site (CXS API)"
    default_base_url = None  # https://{host}, from url or host
    params = {
        "url": Param(str, "the career site, e.g. https://acme.wd5.myworkdayjobs.com/en-US/External"),
        "tenant": Param(str, "the tenant in /wday/cxs/{tenant}/{site} (instead of url, or to correct it)"),
        "site": Param(str, "the career site's name in its URL, e.g. External (instead of url)"),
        "host": Param(str, "the site's host with tenant + site, e.g. acme.wd5.myworkdayjobs.com"),
    }
    example = 'board = "workday"\nurl = "https://acme.wd5.myworkdayjobs.com/en-US/External"'
    # Workday documents no request rate for the CXS API: the project's polite
    # defaults (DOWNLOAD_DELAY, AutoThrottle, 2 requests per domain) apply.
    min_download_delay = 0.0

    @classmethod
    def check_more(cls, given: dict[str, Any]) -> str | None:
        if given.get("url"):
            site = site_from_url(given["url"])
            if site is None and not (given.get("tenant") and given.get("site")):
                return (f"url: not a Workday career site address: {given['url']!r} "
                        "(expected like https://acme.wd5.myworkdayjobs.com/en-US/External)")
            return None
        if not (given.get("tenant") and given.get("site")):
            return "url, or tenant and site: required for board 'workday'"
        return None

    def _site(self) -> WorkdaySite | None:
        p = self.board_params
        from_url = site_from_url(p["url"]) if p["url"] else None
        tenant = p["tenant"] or (from_url.tenant if from_url else None)
        site = p["site"] or (from_url.site if from_url else None)
        host = p["host"] or (from_url.host if from_url else None)
        if not tenant or not site:
            return None
        return WorkdaySite(host=host, tenant=tenant, site=site,
                           locale=from_url.locale if from_url else None)

    def start_requests(self) -> Iterator[scrapy.Request]:
        self._seen_paths: set[str] = set()
        self._open_searches = 0
        self._shortfall = False
        site = self._site()
        if site is None or not (self.base_url or site.host):
            self.fail("workday: give url, or tenant + site with host (or base_url)")
            return
        self._api = (self.base_url or f"https://{site.host}") + site.api_path()
        self._public = site.public_url(self.base_url)
        yield self._page_request(_Search(facets={}), 0)

    # -- the list

    def _page_request(self, search: _Search, offset: int) -> scrapy.Request:
        if offset == 0:
            self._open_searches += 1
        body = {"appliedFacets": search.facets, "limit": PAGE_SIZE, "offset": offset,
                "searchText": ""}
        return JsonRequest(f"{self._api}/jobs", data=body, headers=_JSON, dont_filter=True,
                           callback=self.parse_jobs, errback=self.on_jobs_error,
                           cb_kwargs={"search": search, "offset": offset})

    def on_jobs_error(self, failure: Failure) -> None:
        search, offset = failure.request.cb_kwargs["search"], failure.request.cb_kwargs["offset"]
        if search.parent is None and offset == 0:
            self.on_board_error(failure)
        else:
            self.on_listing_error(failure)
        self._search_done(search, failed=True)

    def parse_jobs(self, response: Response, search: _Search, offset: int) -> Iterator[Any]:
        self.listing_pages += 1
        yield self.keep_raw(response)
        try:
            page = parse_jobs_page(response)
        except BoardError as exc:
            if search.parent is None and offset == 0:
                self.fail(str(exc))
            else:
                self.listing_failed(str(exc))
            self._search_done(search, failed=True)
            return
        if offset == 0:
            # only the first page of a search reports its total
            search.total = page.total
            if search.parent is not None:
                self._child_reported(search)
            if (page.total or 0) >= TOTAL_CAP:
                facet = choose_split_facet(page.facets, search.facets, page.total)
                if facet is not None:
                    yield from self._entries(page.entries, search)
                    search.split_on, search.children_waiting = facet.parameter, len(facet.values)
                    search.split_counted = all(count is not None for _v, count in facet.values)
                    for value, _count in facet.values:
                        child = _Search(facets={**search.facets, facet.parameter: [value]},
                                        parent=search)
                        yield self._page_request(child, 0)
                    self._search_done(search)
                    return
                self._shortfall = True
                self.note_error(f"{search.label} reports {page.total}+ postings and has no facet "
                                f"left to split on: only its first {TOTAL_CAP} can be seen")
        yield from self._entries(page.entries, search)
        end = min(search.total, TOTAL_CAP) if search.total is not None else TOTAL_CAP
        nxt = offset + PAGE_SIZE
        more = len(page.entries) == PAGE_SIZE if search.total is None else bool(page.entries)
        if more and nxt < end:
            yield self._page_request(search, nxt)
        else:
            self._search_done(search)

    def _entries(self, entries: list[ListingEntry], search: _Search) -> Iterator[Any]:
        for entry in entries:
            search.paths.add(entry.path)
            if entry.path in self._seen_paths:
                self.crawler.stats.inc_value("jobdelta/workday/duplicates")
                continue
            self._seen_paths.add(entry.path)
            if self.unchanged_in_listing(entry.external_id, entry.fingerprint):
                yield Seen(source=self.source, external_id=entry.external_id)
                continue
            yield scrapy.Request(self._api + entry.path, headers=_JSON, callback=self.parse_job,
                                 errback=self.on_detail_error,
                                 meta={"external_id": entry.external_id, "entry": entry})

    def _child_reported(self, child: _Search) -> None:
        parent = child.parent
        parent.children_waiting -= 1
        parent.children_total += child.total or 0
        # a facet without counts is checked by what its values' searches report
        if (parent.children_waiting == 0 and not parent.split_counted
                and parent.children_total < (parent.total or 0)):
            self._shortfall = True
            self.note_error(f"splitting {parent.label} on {parent.split_on} finds "
                            f"{parent.children_total} of its {parent.total}+ postings: the rest "
                            f"have no {parent.split_on} value")

    def _search_done(self, search: _Search, failed: bool = False) -> None:
        if not failed and search.split_on is None and search.total is not None:
            expected = min(search.total, TOTAL_CAP)
            if len(search.paths) < expected:
                self._shortfall = True
                self.note_error(f"{search.label} gave {len(search.paths)} of the {search.total} "
                                f"postings it reports")
        self._open_searches -= 1
        if self._open_searches == 0:
            self.board_complete = not self._shortfall
            if self.board_complete:
                self.complete_by = ("every search paged to its end, each giving as many postings "
                                    "as it reported, none left at the cap")

    # -- postings

    def parse_job(self, response: Response) -> Iterator[Any]:
        raw = self.keep_raw(response)
        yield raw
        entry: ListingEntry = response.meta["entry"]
        try:
            item = parse_job_detail(response, self.source, self._public, entry)
        except BoardError as exc:
            self.listing_failed(str(exc))
            return
        if isinstance(item, Posting):
            item.fetched_at, item.raw_sha256 = self.fetched_at(response), raw.sha256
            item.listing_hash = entry.fingerprint
        yield item
