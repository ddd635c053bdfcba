"""``jobdelta try``: run one board once, store nothing, show what it parsed.

Runs the board's spider in this process with the normal settings and
pipelines, except that nothing is written: the normalized postings are
collected from Scrapy's ``item_scraped`` signal. Used to check a source
before adding it to the config.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from typing import Any

from crawler.config import Config
from crawler.errors import ConfigError
from crawler.items import Gone, Posting, Seen


@dataclass
class TrialResult:
    board: str
    complete: bool
    status: str  # complete | partial | failed
    postings: list[dict[str, Any]] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: int = 0


def parse_param(text: str) -> tuple[str, Any]:
    """``key=value``; the value is read as TOML when it parses (numbers,
    booleans, lists, quoted strings), else taken as a plain string."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--param {text!r}: expected key=value")
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value
    return key.strip(), parsed


def try_board(cfg: Config, board: str, params: dict[str, Any], base_url: str | None = None,
              verbose: bool = False) -> TrialResult:
    """Crawl ``board`` once with ``params``. Starts a reactor: once per process."""
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess

    from crawler.app.runner import polite_delays, scrapy_settings
    from spiders import board_names, check_params, spider_class

    if board not in board_names():
        raise ConfigError(f"unknown board {board!r} (known: {', '.join(board_names())})")
    problem = check_params(board, params)
    if problem:
        raise ConfigError(problem)
    cls = spider_class(board)
    settings = scrapy_settings(cfg)
    settings.set("HTTPCACHE_ENABLED", False, priority="cmdline")
    polite_delays(settings, cls)
    if not verbose:
        settings.set("LOG_LEVEL", "ERROR", priority="cmdline")
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(cls)
    result = TrialResult(board=board, complete=False, status="failed")

    def collect(item: Any, response: Any, spider: Any) -> None:
        if isinstance(item, Posting):
            result.postings.append(item.to_dict())
        elif isinstance(item, Gone):
            result.gone.append(item.external_id or item.url or "?")
        elif isinstance(item, Seen):  # never happens: try has no stored state
            pass

    crawler.signals.connect(collect, signal=signals.item_scraped, weak=False)
    process.crawl(crawler, source=f"try-{board}", params=params, base_url=base_url)
    process.start()
    spider = crawler.spider
    stats = crawler.stats.get_stats()
    result.requests = int(stats.get("downloader/request_count", 0))
    result.errors = list(spider.errors)
    if stats.get("spider_exceptions/count"):
        result.errors.append(f"{stats['spider_exceptions/count']} parsing exceptions (see the log)")
    result.complete = spider.complete and not stats.get("spider_exceptions/count")
    result.status = "failed" if spider.fatal else ("complete" if result.complete else "partial")
    return result
