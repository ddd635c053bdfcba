"""Scrapy settings for every jobdelta crawl: polite defaults, one place.

The runner overrides a few from the configuration ([defaults] in
jobdelta.toml): user agent, robots, delay and per-domain concurrency.
"""

from scrapy.settings import default_settings as _scrapy_defaults

BOT_NAME = "jobdelta"
# Spiders are found through the registry in spiders/__init__.py, which
# imports only the board crawled; Scrapy's own loader would import them all.
SPIDER_MODULES: list[str] = []

USER_AGENT = "jobdelta/0.1 (+https://github.com/jobdelta/jobdelta; job board watcher)"
ROBOTSTXT_OBEY = True

CONCURRENT_REQUESTS = 16  # across all domains of one run (one source)
CONCURRENT_REQUESTS_PER_DOMAIN = 2  # requests in flight to one domain
DOWNLOAD_DELAY = 0.5  # seconds between requests to one domain (randomized 0.5x-1.5x)
DOWNLOAD_TIMEOUT = 60  # seconds before a request is given up
# Every crawl sets it from max_download_mb ([defaults] or the source's own,
# 512 MB unless set); a larger board response fails the run naming that setting.
DOWNLOAD_MAXSIZE = 64 * 1024 * 1024  # bytes, only where no config sets it

AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0  # seconds; the runner sets it to the effective DOWNLOAD_DELAY
AUTOTHROTTLE_MAX_DELAY = 30.0  # seconds
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0  # requests in parallel per remote server, on average

RETRY_ENABLED = True
RETRY_TIMES = 2  # first try + 2 retries
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
RETRY_BACKOFF_BASE = 1.0  # seconds before the first retry; doubles with every retry
RETRY_BACKOFF_MAX = 60.0  # seconds, the longest backoff
RETRY_AFTER_MAX = 300.0  # seconds; a longer Retry-After gives the request up instead of stalling

DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.retry.BackoffRetryMiddleware": 550,
    # after decompression (590), before retries (550): sees bodies as parsed
    "crawler.middlewares.conditional.ConditionalRequestMiddleware": 580,
}

# Walls (bot checks, login pages) are checked in every response before a
# spider reads it, error pages too.
SPIDER_MIDDLEWARES = {
    "crawler.middlewares.walls.WallMiddleware": 40,  # order: before HttpErrorMiddleware (50)
}

# Conditional requests: every run revalidates with the ETag / Last-Modified
# kept in the database (crawler.middlewares.conditional), so an unchanged page
# answers 304 and is read from its stored body. Scrapy's file cache is off:
# it would answer a failed request with a stale copy.
HTTPCACHE_ENABLED = False
JOBDELTA_CONDITIONAL_ENABLED = True

COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False  # no control port: runs are driven by jobdelta itself
# Scrapy's extensions without the remote control: Scrapy imports every
# extension it lists, even one set to None, and that one imports aiohttp
# (a few tenths of a second in every crawl process).
EXTENSIONS_BASE = {path: order for path, order in _scrapy_defaults.EXTENSIONS_BASE.items()
                   if not path.endswith(".RemoteControl")}
LOG_LEVEL = "INFO"

# Items of one response handled at once: the pipelines are synchronous, so
# more buys nothing, and Scrapy starts that many tasks for every response.
CONCURRENT_ITEMS = 1  # items per response
# Scrapy reads a callback's source (inspect.getsource) on every request to
# warn about "return value" in generators: a millisecond a page.
WARN_ON_GENERATOR_RETURN_VALUE = False

ITEM_PIPELINES = {
    "crawler.pipelines.NormalizePipeline": 100,
    "crawler.pipelines.StorePipeline": 200,
}

REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"
