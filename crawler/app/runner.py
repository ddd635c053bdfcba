"""The crawl process: ``python -m crawler.app.runner --config PATH SOURCE``.

Twisted's reactor cannot be restarted, so crawls run in processes of their
own, started by :mod:`scheduler.launch`. This side takes the source's lease,
runs its spider, stores what it finds, decides the run's status and prints a
one-line JSON summary (:class:`scheduler.launch.RunSummary`) on stdout; it
reports ``skipped`` itself when another run holds the source's lease.

Stopping: SIGTERM or SIGINT to a crawl process stops its crawl (gracefully,
at once after ``STOP_GRACE`` seconds) and records the run as ``aborted:
interrupted``. With ``--parent PID`` the process also gets SIGTERM when that
parent dies (Linux ``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import logging
import os
import signal
import sys
import time
from dataclasses import asdict
from typing import Any

from crawler.app.config import load_config
from crawler.config import Config, SourceConfig
from crawler.errors import JobdeltaError, LeaseHeld
from db.vocab import RunStatus
from scheduler.launch import FAILED, INTERRUPTED, SKIPPED, RunSummary

log = logging.getLogger(__name__)

TIME_LIMIT = "aborted: time limit"  # the reason of a run stopped by its source's time_limit
STOP_GRACE = 5.0  # seconds a stopped crawl may take to close its spider before it stops at once

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

def scrapy_settings(cfg: Config, src: SourceConfig | None = None) -> Any:
    """Scrapy's settings for a crawl of ``src``: the project's defaults, the
    config's [defaults], and the source's own overrides of politeness and
    limits (``download_delay``, ``concurrency_per_domain``, ``retries``,
    ``max_download_mb``, ``time_limit``)."""
    from scrapy.settings import Settings

    from crawler import settings as defaults

    settings = Settings()
    settings.setmodule(defaults, priority="project")
    d = cfg.defaults

    def own(name: str) -> Any:
        return src.setting(name, d) if src is not None else getattr(d, name)

    settings.set("USER_AGENT", d.user_agent, priority="cmdline")
    settings.set("ROBOTSTXT_OBEY", d.obey_robots, priority="cmdline")
    settings.set("DOWNLOAD_DELAY", own("download_delay"), priority="cmdline")
    settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", own("concurrency_per_domain"), priority="cmdline")
    settings.set("RETRY_TIMES", own("retries"), priority="cmdline")
    settings.set("RETRY_BACKOFF_BASE", d.retry_backoff, priority="cmdline")
    settings.set("DOWNLOAD_TIMEOUT", d.download_timeout, priority="cmdline")
    max_mb = own("max_download_mb")
    settings.set("JOBDELTA_MAX_DOWNLOAD_MB", max_mb, priority="cmdline")
    settings.set("DOWNLOAD_MAXSIZE", int(max_mb * 2**20), priority="cmdline")
    settings.set("DOWNLOAD_WARNSIZE", int(max_mb * 2**20) // 2, priority="cmdline")
    # Scrapy closes the spider with reason "closespider_timeout": the run is
    # then aborted with TIME_LIMIT (0: no limit)
    settings.set("CLOSESPIDER_TIMEOUT", own("time_limit"), priority="cmdline")
    return settings


def polite_delays(settings: Any, cls: Any) -> None:
    """Raise the delay to the board's documented rate, and start AutoThrottle
    there: it never lowers its delay on non-200 answers, so a start delay
    above the configured one would hold a run of 304s at that pace."""
    delay = max(settings.getfloat("DOWNLOAD_DELAY"), cls.min_download_delay)
    settings.set("DOWNLOAD_DELAY", delay, priority="cmdline")
    settings.set("AUTOTHROTTLE_START_DELAY", max(delay, 0.05), priority="cmdline")


def policy_for(cfg: Config) -> Any:
    from crawler.expiry import Policy

    d = cfg.defaults
    return Policy(expire_after_runs=d.expire_after_runs, closing_days=list(d.closing_days),
                  expire_on_deadline=d.expire_on_deadline, suspicious_drop=d.suspicious_drop,
                  suspicious_window=d.suspicious_window, confirm_runs=d.confirm_runs,
                  health_after=cfg.alerts.health_after, lease_seconds=d.lease_seconds)


def _first_line(exc: BaseException) -> str:
    """The exception's own first line: a driver error without SQLAlchemy's
    statement and background link, anything else as its message."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


class _Stop:
    """SIGTERM and SIGINT in a crawl process: the first stops the crawl
    gracefully (Scrapy closes the spider with reason "shutdown"), and at
    once after ``STOP_GRACE`` seconds if a request in flight holds it up;
    later signals change nothing."""

    def __init__(self) -> None:
        self.signal: str | None = None
        self._process: Any = None

    def install(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)

    def attach(self, process: Any) -> None:
        """Called when the engine has started (Scrapy's reactor runs): from
        now on a signal stops the crawl."""
        self._process = process
        if self.signal:
            self._stop()

    def _on_signal(self, signum: int, _frame: Any) -> None:
        if self.signal:
            return
        self.signal = signal.Signals(signum).name
        if self._process is not None:
            from twisted.internet import reactor

            reactor.callFromThread(self._stop)

    def _stop(self) -> None:
        from twisted.internet import reactor

        log.info("%s: stopping the crawl (at once in %gs)", self.signal, STOP_GRACE)
        reactor.callLater(STOP_GRACE, self._force)
        self._process.stop()

    @staticmethod
    def _force() -> None:
        from twisted.internet import reactor

        with contextlib.suppress(RuntimeError):  # already stopping
            reactor.stop()


def crawl_in_process(cfg: Config, src: SourceConfig, stop: _Stop | None = None) -> RunSummary:
    """Crawl one source in this process (the child side). Starts a reactor:
    call once per process. ``stop`` (installed by the caller) turns SIGTERM
    and SIGINT into an interrupted run."""
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess

    from crawler.recorder import Outcome, RunRecorder
    from db.engine import session_factory
    from spiders import spider_class

    stop = stop or _Stop()
    if stop.signal:  # stopped while starting up: open no run
        return RunSummary(src.name, None, RunStatus.ABORTED.value, reason=f"{INTERRUPTED} before it started")
    sessions = session_factory(cfg.database_url)
    policy = policy_for(cfg)
    source_id, run_id, full_refresh = _open_run(sessions, cfg, src, policy.lease_seconds)
    recorder = RunRecorder(sessions, source_id, run_id, policy, batch_size=cfg.defaults.batch_size,
                           subscriptions=[s.to_subscription() for s in cfg.subscriptions])

    settings = scrapy_settings(cfg, src)
    cls = spider_class(src.board)
    polite_delays(settings, cls)
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(cls)
    crawler.jobdelta_recorder = recorder
    _keep_lease(crawler, recorder, policy.lease_seconds)
    start_errors: list[str] = []
    item_errors: list[str] = []

    def on_spider_error(failure: Any, response: Any, spider: Any) -> None:
        if response is None:  # raised before any response: the start of the crawl failed
            start_errors.append(f"{failure.type.__name__}: {_first_line(failure.value)}")

    def on_item_error(item: Any, response: Any, spider: Any, failure: Any) -> None:
        # Scrapy logs a pipeline's exception and drops the item without
        # counting it: the posting was not stored, so the run did not see
        # the board whole
        where = getattr(item, "url", None) or getattr(response, "url", None)
        message = f"item pipeline error: {failure.type.__name__}: {_first_line(failure.value)}"
        item_errors.append(message + (f" ({where})" if where else ""))
        spider.note_error(item_errors[-1])

    crawler.signals.connect(on_spider_error, signal=signals.spider_error, weak=False)
    crawler.signals.connect(on_item_error, signal=signals.item_error, weak=False)
    crawler.signals.connect(lambda: stop.attach(process), signal=signals.engine_started, weak=False)
    crash: str | None = None
    if not stop.signal:
        started = process.crawl(crawler, source=src.name, params=src.params, base_url=src.base_url,
                                known_listing=recorder.listing_hashes(), full_refresh=full_refresh)

        def crawl_failed(failure: Any) -> None:
            nonlocal crash
            log.error("crawl of %s failed: %s", src.name, failure.getTraceback())
            crash = f"crawler crashed: {failure.type.__name__}: {_first_line(failure.value)}"

        started.addErrback(crawl_failed)
        try:
            # our own handlers stay: a signal stops the crawl, never the reactor alone
            process.start(install_signal_handlers=False)
        except Exception as exc:  # the reactor died: record it, never lose the run
            crash = f"crawler crashed: {type(exc).__name__}: {exc}"
    spider = getattr(crawler, "spider", None)
    stats = crawler.stats.get_stats() if crawler.stats else {}
    finish_reason = stats.get("finish_reason")
    aborted = fatal = None
    # "shutdown": our stop closed the spider; None with a signal: the stop
    # came before the crawl, or had to stop the reactor at once
    if finish_reason == "shutdown" or (stop.signal and finish_reason is None):
        aborted = INTERRUPTED
    elif crash:
        fatal = crash
    elif spider is None:
        fatal = "crawler did not start (see the log)"
    elif finish_reason == "start_error":
        fatal = "crawl could not start: " + ("; ".join(start_errors) or "see the log")
    elif finish_reason == "closespider_timeout":
        aborted = f"{TIME_LIMIT} of {settings.getfloat('CLOSESPIDER_TIMEOUT'):g}s reached"
    elif finish_reason not in (None, "finished"):
        aborted = f"aborted: crawl stopped ({finish_reason})"
    errors = list(getattr(spider, "errors", []))
    fatal = fatal or getattr(spider, "fatal", None)
    exceptions = stats.get("spider_exceptions/count", 0) - len(start_errors)
    if not fatal and exceptions > 0:
        errors.append(f"{exceptions} parsing exceptions (see the log)")
    outcome = Outcome(complete=bool(spider is not None and spider.complete
                                    and not stats.get("spider_exceptions/count") and not item_errors),
                      errors=errors, fatal=fatal, aborted=aborted,
                      complete_by=getattr(spider, "complete_by", None))
    return finish_run(recorder, outcome, src.name)


def finish_run(recorder: Any, outcome: Any, source: str) -> RunSummary:
    """Record the run's end; a database that went away meanwhile gives one
    line naming the run and the source, not a driver traceback."""
    from sqlalchemy.exc import DBAPIError

    try:
        run = recorder.finish(outcome)
    except DBAPIError as exc:  # OperationalError among them: connection refused, database gone
        log.warning("finishing run %s of %s failed", recorder.run_id, source, exc_info=True)
        return RunSummary(source, recorder.run_id, FAILED,
                          reason=f"run {recorder.run_id} of {source}: database unavailable: "
                                 f"{_first_line(exc)}")
    return RunSummary(source, run.id, run.status, run.seen, run.new, run.changed,
                      run.expired, run.reopened, run.reason)


def _open_run(sessions: Any, cfg: Config, src: SourceConfig, lease_seconds: int) -> tuple[int, int, bool]:
    """Create the source row if needed, take its lease, open the run.

    Two processes starting the first run of a new source race to create its
    row: the loser's transaction fails (a unique violation, or SQLite's
    stale-snapshot lock) and is tried again, when it sees the row and meets
    the winner's lease (LeaseHeld)."""
    from sqlalchemy.exc import IntegrityError, OperationalError

    from crawler.leases import count_runs, ensure_source, start_run

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


def _die_with_parent(parent_pid: int) -> None:
    """Get SIGTERM when the parent (the thread that started this process)
    dies; exit now if it already has."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
    except (OSError, AttributeError):  # not Linux: the parent's own stop still applies
        return
    if os.getppid() != parent_pid:  # the parent died before prctl: we are already orphaned
        os.kill(os.getpid(), signal.SIGTERM)


def _child_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler.app.runner")
    parser.add_argument("--config", required=True)
    parser.add_argument("--parent", type=int, default=None, metavar="PID",
                        help="stop the crawl when this parent process dies")
    parser.add_argument("source")
    args = parser.parse_args(argv)
    stop = _Stop()
    stop.install()
    if args.parent is not None:
        _die_with_parent(args.parent)
    try:
        cfg = load_config(args.config)
        summary = crawl_in_process(cfg, cfg.source(args.source), stop)
    except LeaseHeld as exc:  # another process is crawling the source: not a failure
        summary = RunSummary(args.source, None, SKIPPED, reason=str(exc))
    except JobdeltaError as exc:
        summary = RunSummary(args.source, None, FAILED, reason=str(exc))
    except Exception as exc:  # never leave the parent without a summary
        log.exception("crawl of %s failed", args.source)
        summary = RunSummary(args.source, None, FAILED, reason=f"{type(exc).__name__}: {_first_line(exc)}")
    with contextlib.suppress(BrokenPipeError):  # a parent that died reads nothing
        print(json.dumps(asdict(summary)), flush=True)
    return 0 if summary.status != FAILED else 1


if __name__ == "__main__":
    sys.exit(_child_main())
