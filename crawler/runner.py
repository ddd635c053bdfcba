"""Run one source's crawl, in a process of its own.

Twisted's reactor cannot be restarted, so every crawl runs in a fresh
process: ``python -m crawler.runner --config PATH SOURCE`` takes the
source's lease, runs its spider, stores what it finds, decides the run's
status and prints a one-line JSON summary on stdout. ``run_sources`` is the
parent side used by ``jobdelta crawl`` and the scheduler.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from crawler.config import Config, SourceConfig, load_config
from crawler.errors import JobdeltaError

log = logging.getLogger(__name__)


@dataclass
class RunSummary:
    source: str
    run_id: int | None
    status: str
    seen: int = 0
    new: int = 0
    changed: int = 0
    expired: int = 0
    reopened: int = 0
    reason: str | None = None


def scrapy_settings(cfg: Config) -> Any:
    from scrapy.settings import Settings

    from crawler import settings as defaults

    settings = Settings()
    settings.setmodule(defaults, priority="project")
    d = cfg.defaults
    settings.set("USER_AGENT", d.user_agent, priority="cmdline")
    settings.set("ROBOTSTXT_OBEY", d.obey_robots, priority="cmdline")
    settings.set("DOWNLOAD_DELAY", d.download_delay, priority="cmdline")
    settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", d.concurrency_per_domain, priority="cmdline")
    settings.set("RETRY_TIMES", d.retries, priority="cmdline")
    settings.set("RETRY_BACKOFF_BASE", d.retry_backoff, priority="cmdline")
    cache_dir = os.environ.get("JOBDELTA_CACHE_DIR")
    if cache_dir:
        settings.set("HTTPCACHE_DIR", cache_dir, priority="cmdline")
    return settings


def polite_delays(settings: Any, cls: Any) -> None:
    """Raise the delay to the board's documented rate, and start AutoThrottle
    there: it never lowers its delay on non-200 answers, so a start delay
    above the configured one would hold a run of 304s at that pace."""
    delay = max(settings.getfloat("DOWNLOAD_DELAY"), cls.min_download_delay)
    settings.set("DOWNLOAD_DELAY", delay, priority="cmdline")
    settings.set("AUTOTHROTTLE_START_DELAY", max(delay, 0.05), priority="cmdline")


def policy_for(cfg: Config) -> Any:
    from crawler.store import Policy

    d = cfg.defaults
    return Policy(expire_after_runs=d.expire_after_runs, closing_days=list(d.closing_days),
                  expire_on_deadline=d.expire_on_deadline, suspicious_drop=d.suspicious_drop,
                  suspicious_window=d.suspicious_window, lease_seconds=d.lease_seconds)


def crawl_in_process(cfg: Config, src: SourceConfig) -> RunSummary:
    """Crawl one source in this process (the child side). Starts a reactor:
    call once per process."""
    from scrapy.crawler import CrawlerProcess

    from crawler.store import Outcome, RunRecorder
    from db.engine import session_factory
    from spiders import spider_class

    sessions = session_factory(cfg.database_url)
    policy = policy_for(cfg)
    source_id, run_id, full_refresh = _open_run(sessions, cfg, src, policy.lease_seconds)
    recorder = RunRecorder(sessions, source_id, run_id, policy, batch_size=cfg.defaults.batch_size)

    settings = scrapy_settings(cfg)
    cls = spider_class(src.board)
    polite_delays(settings, cls)
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(cls)
    crawler.jobdelta_recorder = recorder
    _keep_lease(crawler, recorder, policy.lease_seconds)
    process.crawl(crawler, source=src.name, params=src.params, base_url=src.base_url,
                  known_listing=recorder.listing_hashes(), full_refresh=full_refresh)
    crash: str | None = None
    try:
        process.start()
    except Exception as exc:  # the reactor died: record it, never lose the run
        crash = f"crawler crashed: {type(exc).__name__}: {exc}"
    spider = getattr(crawler, "spider", None)
    if spider is None and not crash:
        crash = "crawler did not start (see the log)"
    stats = crawler.stats.get_stats() if crawler.stats else {}
    finish_reason = stats.get("finish_reason")
    aborted = None
    if finish_reason not in (None, "finished"):
        aborted = f"aborted: crawl stopped ({finish_reason})"
    errors = list(getattr(spider, "errors", []))
    fatal = crash or getattr(spider, "fatal", None)
    if not fatal and stats.get("spider_exceptions/count"):
        errors.append(f"{stats['spider_exceptions/count']} parsing exceptions (see the log)")
    outcome = Outcome(complete=bool(spider is not None and spider.complete
                                    and not stats.get("spider_exceptions/count")),
                      errors=errors, fatal=fatal, aborted=aborted)
    run = recorder.finish(outcome)
    return RunSummary(src.name, run.id, run.status, run.seen, run.new, run.changed,
                      run.expired, run.reopened, run.reason)


def _open_run(sessions: Any, cfg: Config, src: SourceConfig, lease_seconds: int) -> tuple[int, int, bool]:
    """Create the source row if needed, take its lease, open the run.

    Two processes starting the first run of a new source race to create its
    row: the loser's transaction fails (a unique violation, or SQLite's
    stale-snapshot lock) and is tried again, when it sees the row and meets
    the winner's lease (LeaseHeld)."""
    from sqlalchemy.exc import IntegrityError, OperationalError

    from crawler.store import count_runs, ensure_source, start_run

    for attempt in range(4):
        try:
            with sessions.begin() as session:
                source = ensure_source(session, src.name, src.board, src.params)
                run = start_run(session, source, lease_seconds)
                every = cfg.defaults.full_refresh_every
                full_refresh = every <= 1 or count_runs(session, source.id) % every == 1
                return source.id, run.id, full_refresh
        except (IntegrityError, OperationalError):
            if attempt == 3:
                raise
            time.sleep(0.25 * (attempt + 1))
    raise AssertionError("unreachable")


def _keep_lease(crawler: Any, recorder: Any, lease_seconds: int) -> None:
    """Renew the lease (and flush) every third of its length while crawling."""
    from scrapy import signals

    beats: list[Any] = []

    def start() -> None:
        # built here: creating a LoopingCall before Scrapy installs its
        # reactor would install Twisted's default one instead
        from twisted.internet import task

        beat = task.LoopingCall(recorder.beat)
        beat.start(max(1.0, lease_seconds / 3), now=False)
        beats.append(beat)

    def stop() -> None:
        for beat in beats:
            if beat.running:
                beat.stop()

    crawler.signals.connect(start, signal=signals.engine_started, weak=False)
    crawler.signals.connect(stop, signal=signals.engine_stopped, weak=False)


def _child_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler.runner")
    parser.add_argument("--config", required=True)
    parser.add_argument("source")
    args = parser.parse_args(argv)
    try:
        cfg = load_config(args.config)
        summary = crawl_in_process(cfg, cfg.source(args.source))
    except JobdeltaError as exc:
        summary = RunSummary(args.source, None, "failed", reason=str(exc))
    except Exception as exc:  # never leave the parent without a summary
        log.exception("crawl of %s failed", args.source)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        summary = RunSummary(args.source, None, "failed", reason=f"{type(exc).__name__}: {first}")
    print(json.dumps(asdict(summary)), flush=True)
    return 0 if summary.status != "failed" else 1


def run_sources(cfg: Config, names: list[str], jobs: int = 1, quiet: bool = True,
                timeout: float | None = None) -> list[RunSummary]:
    """Crawl each named source in its own process, ``jobs`` at a time."""
    config_path = str(Path(cfg.path).resolve()) if cfg.path else None
    if config_path is None:
        raise JobdeltaError("crawling needs a configuration file")

    def one(name: str) -> RunSummary:
        cmd = [sys.executable, "-m", "crawler.runner", "--config", config_path, name]
        stderr = subprocess.DEVNULL if quiet else None
        try:
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=stderr, text=True,
                                  timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return RunSummary(name, None, "failed", reason=f"crawl process timed out after {timeout}s")
        for line in reversed(proc.stdout.strip().splitlines()):
            if line.startswith("{"):
                try:
                    return RunSummary(**json.loads(line))
                except (TypeError, ValueError):
                    break
        if proc.returncode < 0:
            how = signal.Signals(-proc.returncode).name
            reason = f"crawl process killed by {how}; the run is marked aborted at the next start"
        else:
            reason = f"crawl process exited with code {proc.returncode} without a summary"
        return RunSummary(name, None, "failed", reason=reason)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, names))


if __name__ == "__main__":
    sys.exit(_child_main())
