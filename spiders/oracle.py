"""Oracle Recruiting Cloud career sites, through the candidate experience REST API.

List ``GET {base}/hcmRestApi/resources/latest/recruitingCEJobRequisitions``
with ``finder=findReqs;siteNumber={site},limit=25,offset=N,sortBy=POSTING_DATES_DESC``
until the offset reaches ``TotalJobsCount``; the board is seen whole when
the pages gave as many distinct requisitions as ``TotalJobsCount`` says and
every page (listing and detail) was read. Each requisition's detail
(``recruitingCEJobRequisitionDetails`` with ``finder=ById``) is fetched only
when the listing shows it new or moved (title, dates, locations, workplace,
schedule); otherwise it is reported as seen unchanged. ``base`` is
``https://{host}``, or ``base_url`` when one is set (mirrors, tests); the
public posting links always name the site's own host. Parsing:
:mod:`spiders.parsers.oracle`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy.http import Response

from crawler.errors import BoardError
from crawler.items import Seen
from spiders.base import BoardSpider, Param
from spiders.parsers.oracle import (
    HOST,
    SITE_NUMBER,
    OracleSite,
    detail_url,
    fingerprint,
    listing_url,
    next_offset,
    parse_detail,
    parse_listing,
    site_from_url,
)

_JSON = {"Accept": "application/json"}


class OracleSpider(BoardSpider):
    board = "oracle"
    title = "Oracle Recruiting Cloud career site (candidate experience API)"
    default_base_url = None  # https://{host}, from url or host
    params = {
        "url": Param(str, "the career site, e.g. https://eeho.fa.us2.oraclecloud.com/hcmUI/"
                          "CandidateExperience/en/sites/CX_1/requisitions"),
        "host": Param(str, "the site's host, e.g. eeho.fa.us2.oraclecloud.com (instead of url)"),
        "site": Param(str, "the site number in .../sites/<site>/, e.g. CX_1 "
                           "(instead of url, or to correct it)"),
    }
    not_found = "no Oracle Recruiting Cloud career site there (check url, or host and site)"
    example = ('board = "oracle"\n'
               'url = "https://eeho.fa.us2.oraclecloud.com'
               '/hcmUI/CandidateExperience/en/sites/CX_1/requisitions"')
    # Oracle documents no request rate for this API: the project's polite
    # defaults (DOWNLOAD_DELAY, AutoThrottle, 2 requests per domain) apply.
    min_download_delay = 0.0

    @classmethod
    def check_more(cls, given: dict[str, Any]) -> str | None:
        if given.get("site") is not None and not SITE_NUMBER.fullmatch(given["site"]):
            return f"site: must be the site number alone, as in .../sites/<site>/, got {given['site']!r}"
        if given.get("host") is not None and not HOST.fullmatch(given["host"]):
            return f"host: must be a host name alone, e.g. eeho.fa.us2.oraclecloud.com, got {given['host']!r}"
        if given.get("url"):
            if site_from_url(given["url"]) is None and not given.get("site"):
                return (f"url: not an Oracle Recruiting Cloud career site address: {given['url']!r} "
                        "(expected like https://<host>/hcmUI/CandidateExperience/en/sites/CX_1)")
            return None
        if not given.get("site"):
            return "url, or site (with host): required for board 'oracle'"
        return None

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._ids: set[str] = set()
        self._site = self._career_site()
        host = self._site.host if self._site else None
        self._api = self.base_url or (f"https://{host}" if host else "")
        self._public = self._site.public_base(self._api) if self._site else self._api

    def _career_site(self) -> OracleSite | None:
        p = self.board_params
        from_url = site_from_url(p["url"]) if p["url"] else None
        site = p["site"] or (from_url.site if from_url else None)
        if not site:
            return None
        return OracleSite(host=p["host"] or (from_url.host if from_url else None), site=site,
                          language=from_url.language if from_url else "en")

    def start_requests(self) -> Iterator[scrapy.Request]:
        if self._site is None or not self._api:
            self.fail("oracle: give url, or site with host (or base_url)")
            return
        yield self._page(0)

    def _page(self, offset: int) -> scrapy.Request:
        return scrapy.Request(listing_url(self._api, self._site.site, offset), headers=_JSON,
                              callback=self.parse_listing_page, errback=self.on_page_error,
                              cb_kwargs={"offset": offset}, dont_filter=True)

    def parse_listing_page(self, response: Response, offset: int) -> Iterator[Any]:
        self.listing_pages += 1
        yield self.keep_raw(response)
        try:
            page = parse_listing(response, self.source, self._site, self._public)
        except BoardError as exc:
            (self.listing_failed if offset else self.fail)(str(exc))
            return
        yield from self.listed(page.items, self._ids, "Id", fingerprint, lambda item, ext, fp: scrapy.Request(
            detail_url(self._api, self._site.site, ext), headers=_JSON, callback=self.parse_posting,
            errback=self.on_detail_error, meta={"external_id": ext},
            cb_kwargs={"listing": item, "fp": fp}))
        following = next_offset(offset, len(page.items), page.total)
        if following is not None:
            yield self._page(following)
            return
        self.judge_count(len(self._ids), page.total, "requisitions", "TotalJobsCount")

    def parse_posting(self, response: Response, listing: dict[str, Any], fp: str) -> Iterator[Any]:
        try:
            posting = parse_detail(response, self.source, self._site, self._public, listing)
        except BoardError as exc:
            self.listing_failed(f"posting page could not be read: {exc}")
            return
        raw = self.keep_raw(response)
        yield raw
        if posting is None:
            # the listing names it, the detail no longer shows it: the
            # listing wins (as for a detail answering 404), and it expires
            # only once the listing drops it
            ext = str(listing["Id"]).strip()
            self.crawler.stats.inc_value("jobdelta/detail/listed_but_gone")
            self.note_error(f"posting {ext} is listed but its detail holds no requisition: "
                            f"kept as it was, not expired")
            yield Seen(source=self.source, external_id=ext)
            return
        posting.fetched_at, posting.raw_sha256 = self.fetched_at(response), raw.sha256
        posting.listing_hash = fp
        yield posting
