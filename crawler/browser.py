"""Scrapy settings for boards that need a real browser (scrapy-playwright).

Chromium comes from the system (Debian's ``chromium`` package, installed by
``make test`` / the Dockerfile), never from ``playwright install``. A spider
that renders pages merges ``PLAYWRIGHT_SETTINGS`` into its
``custom_settings``; only requests with ``meta["playwright"] = True`` go
through the browser, so such a spider can still fetch JSON APIs directly.
``$JOBDELTA_CHROMIUM`` points at another Chromium binary. The contexts and
pages of rendered requests are opened, recycled and closed by
:mod:`crawler.browser_pool`.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from scrapy.settings.default_settings import RETRY_EXCEPTIONS

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str:
    return os.environ.get("JOBDELTA_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def _skip_heavy_resource(request: Any) -> bool:
    """Images, media and fonts are never needed to read a listing."""
    return request.resource_type in ("image", "media", "font")


PLAYWRIGHT_SETTINGS = {
    "DOWNLOAD_HANDLERS": {
        "http": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
        "https": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
    },
    "PLAYWRIGHT_BROWSER_TYPE": "chromium",
    "PLAYWRIGHT_LAUNCH_OPTIONS": {
        "executable_path": chromium_path(),
        "headless": True,
        "args": CHROMIUM_ARGS,
    },
    "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": 30_000,  # milliseconds per page load
    "PLAYWRIGHT_MAX_CONTEXTS": 2,  # browser contexts open at once
    "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": 4,  # pages open at once in one context
    "PLAYWRIGHT_ABORT_REQUEST": _skip_heavy_resource,
    # A Playwright timeout (a page or a selector that never came) is retried
    # like a network error, with the same backoff.
    "RETRY_EXCEPTIONS": [*RETRY_EXCEPTIONS, "playwright.async_api.TimeoutError"],
}
