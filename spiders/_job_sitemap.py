"""A ``jsonld`` preset for systems whose whole listing is one job sitemap
(SAP SuccessFactors, iCIMS): :class:`JobSitemapBoard`. The module name
starts with an underscore: it holds no board of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Request, Response
from twisted.python.failure import Failure

from crawler.errors import BoardError
from crawler.items import Posting
from spiders.jsonld import JsonLdSpider
from spiders.parsers import successfactors


class JobSitemapBoard(JsonLdSpider):
    """A ``jsonld`` preset for a system whose whole listing is one job
    sitemap at an address derived from the site's ``url``. Subclasses give
    the posting-page pattern, the sitemap address and how a posting read
    from a page is finished (its id); the ``jsonld`` board does the rest.
    Unlike a generic site, the sitemap is the board's first page: its 404
    is "board not found" and a body that is no sitemap fails the run."""

    board = ""  # not a board of its own
    posting_pages: ClassVar[str] = ""  # regex a sitemap URL must match to be a posting page

    @classmethod
    def check_more(cls, given: dict[str, Any]) -> str | None:
        for key in ("url", "sitemap_url"):
            value = given.get(key)
            if value is not None and (urlsplit(value).scheme not in ("http", "https")
                                      or not urlsplit(value).hostname):
                return f"{key}: must be an http(s) address, got {value!r}"
        return None

    def sitemap_for(self, url: str) -> str:
        """The job sitemap of the site at ``url`` (override)."""
        raise NotImplementedError

    def finish(self, posting: Posting, response: Response, alone: bool) -> Posting:
        """Finish a posting the shared parser read from ``response`` (override)."""
        return posting

    def page_url(self, url: str) -> str:
        """The address to fetch for a posting page the sitemap lists."""
        return url

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        own = self.board_params
        sitemap = own.get("sitemap_url") or self.sitemap_for(own["url"])
        if self.base_url:
            # a mirror or replay server serves the sitemap at the same path
            parts = urlsplit(sitemap)
            sitemap = parts.path + (f"?{parts.query}" if parts.query else "")
        # the jsonld board's parameters, preset
        self.board_params = {**own, "start_urls": None, "sitemap_url": sitemap,
                             "allow": self.posting_pages, "follow_next": False,
                             "max_listing_pages": 1, "render": False}
        self._root_sitemap = scrapy.Request(self._absolute(sitemap)).url

    def _is_root(self, message: Request | Response) -> bool:
        """Whether a request or response is the job sitemap's (followed
        redirects included), the board's first page."""
        try:
            redirected = message.meta.get("redirect_urls")
        except AttributeError:  # a response tied to no request (unit tests)
            redirected = None
        return (redirected or [message.url])[0] == self._root_sitemap

    def on_listing_error(self, failure: Failure) -> None:
        # the job sitemap failing fails the run (404: board not found); a
        # sitemap it points to failing makes the run partial
        if self._is_root(failure.request):
            self.on_board_error(failure)
        else:
            super().on_listing_error(failure)

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        if self._is_root(response):
            try:
                successfactors.sitemap_entries(response)
            except BoardError as exc:
                self.fail(str(exc))  # no sitemap: the board could not be read
                return
        yield from super().parse_sitemap(response)

    def _posting_request(self, url: str, listing_fp: str | None = None) -> Iterator[scrapy.Request]:
        yield from super()._posting_request(self.page_url(url), listing_fp)

    def parse_posting(self, response: Response) -> Iterator[Any]:
        items = list(super().parse_posting(response))
        alone = sum(isinstance(item, Posting) for item in items) == 1
        for item in items:
            yield self.finish(item, response, alone) if isinstance(item, Posting) else item
