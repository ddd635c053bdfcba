"""Conditional requests whose validators live in the database.

Every GET a run sends carries the ``ETag`` / ``Last-Modified`` that page
gave last time (``If-None-Match`` / ``If-Modified-Since``), read from the
``page_validators`` table through the run's recorder. A ``304`` is answered
with the body that page gave then, read from ``raw_responses`` and checked
against its SHA-256, so spiders parse it as they parse any page and a listing
page that did not change still leads to its postings and its next page.

Why not Scrapy's HTTP cache: a per-machine file cache answers connection
errors with its stale copy (a board that is down passes for complete), can
be left with an empty body by a killed run and then serve it forever, and
differs from worker to worker. Here nothing but the board's own ``304``
ever stands in for a page: errors and timeouts pass through to the retry
middleware untouched, a validator is written in the same transaction as the
body it points at, and every worker on one database revalidates the same way.

A posting page a spider knows by its source hash (request meta
``jobdelta_known_page``: a callable from URL and body SHA-256 to the open
postings that page made, see ``spiders.base.BoardSpider.owners_of_page``)
needs no body at all on a ``304``: it is answered with an empty body,
flagged ``unchanged-raw``, and the digest of the body it stands for in
``jobdelta_raw_sha256``; the spider yields ``Seen`` for it without reading
anything from the database.

Settings: ``JOBDELTA_CONDITIONAL_ENABLED`` (default True). Switched off
without a run recorder (``jobdelta try`` stores nothing). Pages rendered in
a browser and requests marked ``dont_cache`` are always fetched whole.
"""

from __future__ import annotations

import hashlib
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Headers, Response
from scrapy.responsetypes import responsetypes

from crawler.items import RawPage

_CONDITIONAL_HEADERS = (b"If-None-Match", b"If-Modified-Since")


class ConditionalRequestMiddleware:
    def __init__(self, crawler: Crawler, recorder: Any):
        self.crawler = crawler
        self.recorder = recorder
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalRequestMiddleware:
        if not crawler.settings.getbool("JOBDELTA_CONDITIONAL_ENABLED", True):
            raise NotConfigured("conditional requests switched off")
        recorder = getattr(crawler, "jobdelta_recorder", None)
        if recorder is None:
            raise NotConfigured("no run recorder: no stored validators")
        return cls(crawler, recorder)

    def _key(self, request: Request) -> str:
        return self.crawler.request_fingerprinter.fingerprint(request).hex()

    @staticmethod
    def _applies(request: Request) -> bool:
        meta = request.meta
        return (request.method in ("GET", "HEAD") and not meta.get("dont_cache")
                and not meta.get("playwright"))

    def process_request(self, request: Request) -> None:
        if not self._applies(request) or request.meta.get("jobdelta_unconditional"):
            return
        validator = self.recorder.validator(self._key(request))
        if validator is None:
            return
        if validator.etag:
            request.headers.setdefault(b"If-None-Match", validator.etag)
        if validator.last_modified:
            request.headers.setdefault(b"If-Modified-Since", validator.last_modified)
        request.meta["jobdelta_validator"] = validator
        self.stats.inc_value("jobdelta/conditional/asked")

    def process_response(self, request: Request, response: Response) -> Request | Response:
        if response.status == 304 and "jobdelta_validator" in request.meta:
            return self._not_modified(request, response)
        if response.status == 200 and self._applies(request):
            etag = response.headers.get(b"ETag")
            modified = response.headers.get(b"Last-Modified")
            if etag or modified:
                body = response.body
                ctype = response.headers.get(b"Content-Type", b"").decode("latin-1") or None
                page = RawPage(url=response.url, status=200, content_type=ctype, body=body,
                               sha256=hashlib.sha256(body).hexdigest())
                self.recorder.add_validator(
                    self._key(request), response.url,
                    etag.decode("latin-1") if etag else None,
                    modified.decode("latin-1") if modified else None, page)
        return response

    def _not_modified(self, request: Request, response: Response) -> Request | Response:
        validator = request.meta["jobdelta_validator"]
        known = request.meta.get("jobdelta_known_page")
        if known is not None and known(response.url, validator.raw_sha256):
            self.stats.inc_value("jobdelta/conditional/not_modified")
            self.stats.inc_value("jobdelta/conditional/not_modified_unread")
            request.meta["jobdelta_not_modified"] = True
            request.meta["jobdelta_raw_sha256"] = validator.raw_sha256
            return Response(url=response.url, status=200, headers=Headers(response.headers), body=b"",
                            request=request, flags=[*response.flags, "not-modified", "unchanged-raw"])
        stored = self.recorder.stored_body(validator.raw_sha256)
        if stored is None:
            # the stored body is gone or damaged: ask again without validators
            self.stats.inc_value("jobdelta/conditional/refetched")
            self.recorder.forget_validator(self._key(request))
            headers = Headers({k: v for k, v in request.headers.items()
                               if k not in _CONDITIONAL_HEADERS})
            meta = {k: v for k, v in request.meta.items() if k != "jobdelta_validator"}
            return request.replace(headers=headers, dont_filter=True,
                                   meta={**meta, "jobdelta_unconditional": True})
        body, content_type = stored
        self.stats.inc_value("jobdelta/conditional/not_modified")
        headers = Headers(response.headers)
        if content_type:
            headers[b"Content-Type"] = content_type
        headers.pop(b"Content-Length", None)
        cls = responsetypes.from_args(headers=headers, url=response.url, body=body)
        request.meta["jobdelta_not_modified"] = True
        return cls(url=response.url, status=200, headers=headers, body=body, request=request,
                   flags=[*response.flags, "not-modified"])
