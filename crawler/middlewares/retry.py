"""Retries that wait: ``Retry-After`` honoured, exponential backoff otherwise.

Scrapy's RetryMiddleware re-queues a failed request at once; a board that
answers 429 or 503 wants the client to slow down. This subclass waits before
handing the retry back: the server's ``Retry-After`` (seconds or an HTTP
date) when it sends one, else ``RETRY_BACKOFF_BASE * 2**n`` seconds. A
``Retry-After`` longer than ``RETRY_AFTER_MAX`` is not waited for: the
request gives up, so the run ends partial instead of hanging.
Settings: RETRY_BACKOFF_BASE, RETRY_BACKOFF_MAX, RETRY_AFTER_MAX.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from scrapy import Request
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Response
from scrapy.settings import BaseSettings
from scrapy.utils.response import response_status_message


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date);
    None when absent or unreadable."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class BackoffRetryMiddleware(RetryMiddleware):
    def __init__(self, settings: BaseSettings):
        super().__init__(settings)
        self.backoff_base = settings.getfloat("RETRY_BACKOFF_BASE", 1.0)
        self.backoff_max = settings.getfloat("RETRY_BACKOFF_MAX", 60.0)
        self.retry_after_max = settings.getfloat("RETRY_AFTER_MAX", 300.0)

    def _backoff(self, request: Request) -> float:
        n = request.meta.get("retry_times", 0)
        return min(self.backoff_max, self.backoff_base * (2 ** n))

    async def process_response(self, request: Request, response: Response, spider=None):  # noqa: ANN001, ANN201
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        wait = retry_after_seconds(response.headers.get("Retry-After"))
        stats = self.crawler.stats
        if wait is not None and wait > self.retry_after_max:
            stats.inc_value("jobdelta/retry_after/too_long")
            return response  # give up now rather than stall the run
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        if wait is not None:
            stats.inc_value("jobdelta/retry_after/honoured")
        else:
            wait = self._backoff(request)
        stats.inc_value("jobdelta/retry_wait_seconds", int(wait))
        await asyncio.sleep(wait)
        return retry

    async def process_exception(self, request: Request, exception: Exception, spider=None):  # noqa: ANN001, ANN201
        if not isinstance(exception, self.exceptions_to_retry) or request.meta.get("dont_retry", False):
            return None
        retry = self._retry(request, exception)
        if retry is not None:
            await asyncio.sleep(self._backoff(request))
        return retry
