"""Every board response is checked for a wall before a spider reads it.

A bot-check, WAF or login page in place of a listing or posting page
(rendered ones too, and error pages: this runs before Scrapy's
HttpErrorMiddleware) fails the run with ``blocked: ...`` through the
spider's ``fail``, counts ``jobdelta/walls/<kind>``, and reaches the
request's errback as :class:`crawler.errors.Walled` instead of its callback,
so no spider ever reads a wall as an empty board. Errbacks ignore that
failure: it is recorded already. Spiders that cannot be failed (not board
spiders) are left alone, as are requests with ``meta["dont_check_walls"]``
(their spider reads the answer itself, e.g. to fall back to a browser).
Recognition: :func:`crawler.walls.find_wall`. Setting: WALLS_ENABLED
(default true).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from scrapy.exceptions import NotConfigured
from scrapy.http import Response

from crawler.errors import Walled
from crawler.walls import WallReporter, find_wall


class WallMiddleware:
    def __init__(self, crawler: Any):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> WallMiddleware:
        if not crawler.settings.getbool("WALLS_ENABLED", True):
            raise NotConfigured
        return cls(crawler)

    def process_spider_input(self, response: Response) -> None:
        spider = self.crawler.spider
        if not isinstance(spider, WallReporter):
            return
        request = getattr(response, "request", None)
        if request is not None and request.meta.get("dont_check_walls"):
            return
        wall = find_wall(response)
        if wall is None:
            return
        self.crawler.stats.inc_value(f"jobdelta/walls/{wall.kind}")
        spider.fail(wall.reason)
        raise Walled(wall.reason)

    def process_spider_exception(self, response: Response, exception: Exception) -> Iterable[Any] | None:
        # a request without an errback: the wall is recorded, nothing more to do
        return [] if isinstance(exception, Walled) else None
