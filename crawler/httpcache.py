"""HTTP cache policy: conditional requests, never stale content.

Scrapy's RFC 2616 policy may answer from the cache without asking the
server (heuristic freshness from Last-Modified) and serves the cached copy
when the server answers 5xx. For a watcher both are wrong: a board must be
asked every run, and a board that errors must be seen to error, or the run
would pass for complete with stale data. This policy always revalidates
(ETag / Last-Modified, so an unchanged board costs a 304) and lets errors
through.
"""

from __future__ import annotations

from scrapy import Request
from scrapy.extensions.httpcache import RFC2616Policy
from scrapy.http import Response


class RevalidatePolicy(RFC2616Policy):
    def is_cached_response_fresh(self, cachedresponse: Response, request: Request) -> bool:
        # never fresh: add If-None-Match / If-Modified-Since and ask the server
        self._set_conditional_validators(request, cachedresponse)
        return False

    def is_cached_response_valid(self, cachedresponse: Response, response: Response,
                                 request: Request) -> bool:
        if response.status >= 500:
            return False
        return super().is_cached_response_valid(cachedresponse, response, request)
