"""The crawl process: ``python -m crawler.app.runner --config PATH SOURCE...``.

Twisted's reactor cannot be restarted, so crawls run in processes of their
own, started by :mod:`scheduler.launch`. One process runs the crawls of
several sources at once in its one reactor: each source gets its own
crawler (its own settings, so per-source politeness and limits stay its
own), lease, run, recorder and status. For each source this side takes the
lease, runs the spider, stores what it finds, decides the run's status and
prints a one-line JSON summary (:class:`scheduler.launch.RunSummary`) on
stdout as soon as that source is done; it reports ``skipped`` itself when
another run holds the source's lease. A crawler that crashes fails its own
source; the others go on.

Sources come as arguments, and with ``--stdin`` also one name a line on
stdin (the process ends once stdin is closed and its crawls are done), so a
parent can keep a process fed and recycle it when it likes. ``--crawls K``
runs at most K crawls at once (the rest wait their turn in order);
``--reactor`` installs another Twisted reactor than the project's default
(the parent never mixes sources that need different reactors in one
process). The config file is read again when it changes on disk.

Stopping: SIGTERM or SIGINT to a crawl process stops every crawl in it
(gracefully, at once after ``STOP_GRACE`` seconds) and records each run as
``aborted: interrupted``; sources not started yet are reported aborted
before they started. With ``--parent PID`` the process also gets SIGTERM
when that parent dies (Linux ``PR_SET_PDEATHSIG``).
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
import threading
import time
from collections import deque
from dataclasses import asdict
from pathlib import Path
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
    """SIGTERM and SIGINT in a crawl process: the first stops every crawl
    gracefully (Scrapy closes each spider with reason "shutdown"), and at
    once after ``STOP_GRACE`` seconds if a request in flight holds one up;
    later signals change nothing."""

    def __init__(self) -> None:
        self.signal: str | None = None
        self._crawls: Any = None

    def install(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)

    def attach(self, crawls: Any) -> None:
        """Called once the reactor runs: from now on a signal stops the
        crawls (anything with a ``stop()`` run in the reactor thread)."""
        self._crawls = crawls
        if self.signal:
            self._stop()

    def _on_signal(self, signum: int, _frame: Any) -> None:
        if self.signal:
            return
        self.signal = signal.Signals(signum).name
        if self._crawls is not None:
            from twisted.internet import reactor

            reactor.callFromThread(self._stop)

    def _stop(self) -> None:
        from twisted.internet import reactor

        log.info("%s: stopping the crawls (at once in %gs)", self.signal, STOP_GRACE)
        reactor.callLater(STOP_GRACE, self._force)
        self._crawls.stop()

    @staticmethod
    def _force() -> None:
        from twisted.internet import reactor

        with contextlib.suppress(RuntimeError):  # already stopping
            reactor.stop()


class _Configs:
    """The config file, read again when it changes on disk (a long-lived
    crawl process fed over stdin sees edits)."""

    def __init__(self, path: str):
        self.path = path
        self._key: tuple[int, int] | None = None
        self._cfg: Config | None = None

    def get(self) -> Config:
        try:
            st = os.stat(self.path)
            key = (st.st_mtime_ns, st.st_size)
        except OSError:
            key = None
        if self._cfg is None or key != self._key:
            self._cfg = load_config(self.path)  # ConfigError: this source fails with its line
            self._key = key
        return self._cfg


class _Crawl:
    """One source's crawl in the shared reactor: its run, recorder, crawler
    and what went wrong, turned into an Outcome at the end."""

    def __init__(self, cfg: Config, src: SourceConfig, process: Any, stop: _Stop):
        from scrapy import signals
        from scrapy.crawler import Crawler

        from crawler.recorder import RunRecorder
        from db.engine import session_factory
        from spiders import spider_class

        self.src, self.stop_ = src, stop
        cls = spider_class(src.board)
        self.settings = scrapy_settings(cfg, src)
        polite_delays(self.settings, cls)
        # the reactor is installed once for the process (see _Crawls.run)
        self.crawler = Crawler(cls, self.settings, init_reactor=False)
        # the run opens last: nothing after it may fail and leave it running
        sessions = session_factory(cfg.database_url)
        policy = policy_for(cfg)
        source_id, run_id, self.full_refresh = _open_run(sessions, cfg, src, policy.lease_seconds)
        self.recorder = RunRecorder(sessions, source_id, run_id, policy, batch_size=cfg.defaults.batch_size,
                                    subscriptions=[s.to_subscription() for s in cfg.subscriptions])
        self.crawler.jobdelta_recorder = self.recorder
        _keep_lease(self.crawler, self.recorder, policy.lease_seconds)
        self.process = process
        self.start_errors: list[str] = []
        self.item_errors: list[str] = []
        self.crash: str | None = None
        self.crawler.signals.connect(self._on_spider_error, signal=signals.spider_error, weak=False)
        self.crawler.signals.connect(self._on_item_error, signal=signals.item_error, weak=False)

    def _on_spider_error(self, failure: Any, response: Any, spider: Any) -> None:
        if response is None:  # raised before any response: the start of the crawl failed
            self.start_errors.append(f"{failure.type.__name__}: {_first_line(failure.value)}")

    def _on_item_error(self, item: Any, response: Any, spider: Any, failure: Any) -> None:
        # Scrapy logs a pipeline's exception and drops the item without
        # counting it: the posting was not stored, so the run did not see
        # the board whole
        where = getattr(item, "url", None) or getattr(response, "url", None)
        message = f"item pipeline error: {failure.type.__name__}: {_first_line(failure.value)}"
        self.item_errors.append(message + (f" ({where})" if where else ""))
        spider.note_error(self.item_errors[-1])

    def start(self) -> Any:
        """Start the crawl; the Deferred fires when it is over (never errbacks)."""
        src, r = self.src, self.recorder
        started = self.process.crawl(self.crawler, source=src.name, params=src.params, base_url=src.base_url,
                                     known_listing=r.listing_hashes(), known_raw=r.raw_hashes(),
                                     full_refresh=self.full_refresh)

        def failed(failure: Any) -> None:
            log.error("crawl of %s failed: %s", src.name, failure.getTraceback())
            self.crash = f"crawler crashed: {failure.type.__name__}: {_first_line(failure.value)}"

        started.addErrback(failed)
        return started

    def finish(self) -> RunSummary:
        from crawler.recorder import Outcome

        crawler, stop = self.crawler, self.stop_
        spider = getattr(crawler, "spider", None)
        try:
            stats = crawler.stats.get_stats() if crawler.stats else {}
        except Exception:  # the crawler never got as far as its stats
            stats = {}
        finish_reason = stats.get("finish_reason")
        aborted = fatal = None
        # "shutdown": our stop closed the spider; None with a signal: the stop
        # came before the crawl, or had to stop the reactor at once
        if finish_reason == "shutdown" or (stop.signal and finish_reason is None):
            aborted = INTERRUPTED
        elif self.crash:
            fatal = self.crash
        elif spider is None:
            fatal = "crawler did not start (see the log)"
        elif finish_reason == "start_error":
            fatal = "crawl could not start: " + ("; ".join(self.start_errors) or "see the log")
        elif finish_reason == "closespider_timeout":
            aborted = f"{TIME_LIMIT} of {self.settings.getfloat('CLOSESPIDER_TIMEOUT'):g}s reached"
        elif finish_reason not in (None, "finished"):
            aborted = f"aborted: crawl stopped ({finish_reason})"
        errors = list(getattr(spider, "errors", []))
        fatal = fatal or getattr(spider, "fatal", None)
        exceptions = stats.get("spider_exceptions/count", 0) - len(self.start_errors)
        if not fatal and exceptions > 0:
            errors.append(f"{exceptions} parsing exceptions (see the log)")
        outcome = Outcome(complete=bool(spider is not None and spider.complete
                                        and not stats.get("spider_exceptions/count") and not self.item_errors),
                          errors=errors, fatal=fatal, aborted=aborted,
                          complete_by=getattr(spider, "complete_by", None))
        return finish_run(self.recorder, outcome, self.src.name)


class _Crawls:
    """Every crawl of this process, in one reactor: sources wait in order,
    at most ``limit`` crawl at once, and each summary is printed as its
    crawl ends. The reactor stops when no crawl runs, none waits and no
    more can come (stdin closed, or a signal)."""

    def __init__(self, configs: _Configs, stop: _Stop, limit: int = 0, out: Any = None):
        self.configs, self.stop_, self.limit = configs, stop, limit
        self.out = out or sys.stdout
        self.waiting: deque[str] = deque()
        self.running: dict[str, _Crawl] = {}
        self.summaries: list[RunSummary] = []
        self.input_open = True
        self.process: Any = None
        self._started = False
        self._over = False  # the reactor has stopped: nothing more starts

    # -- fed from the reactor thread (or before it runs)

    def add(self, name: str) -> None:
        self.waiting.append(name)
        self._pump()

    def close_input(self) -> None:
        self.input_open = False
        self._pump()

    def stop(self) -> None:
        """A signal: stop every running crawl; report those still waiting."""
        self._drop_waiting()
        for crawl in list(self.running.values()):
            crawl.crawler.stop()
        self._pump()

    def _drop_waiting(self) -> None:
        while self.waiting:
            self._report(RunSummary(self.waiting.popleft(), None, RunStatus.ABORTED.value,
                                    reason=f"{INTERRUPTED} before it started"))

    def _pump(self) -> None:
        if not self._started or self._over:
            return
        if self.stop_.signal:  # names that came in after the stop
            self._drop_waiting()
        while self.waiting and (not self.limit or len(self.running) < self.limit):
            self._start(self.waiting.popleft())
        if not self.running and not self.waiting and (not self.input_open or self.stop_.signal):
            from twisted.internet import reactor

            with contextlib.suppress(RuntimeError):  # already stopping
                reactor.stop()

    def _start(self, name: str) -> None:
        try:
            cfg = self.configs.get()
            crawl = _Crawl(cfg, cfg.source(name), self.process, self.stop_)
        except LeaseHeld as exc:  # another process is crawling the source: not a failure
            self._report(RunSummary(name, None, SKIPPED, reason=str(exc)))
            return
        except JobdeltaError as exc:
            self._report(RunSummary(name, None, FAILED, reason=str(exc)))
            return
        except Exception as exc:  # never leave the parent without a summary
            log.exception("crawl of %s failed to start", name)
            self._report(RunSummary(name, None, FAILED, reason=f"{type(exc).__name__}: {_first_line(exc)}"))
            return
        self.running[name] = crawl
        try:
            started = crawl.start()
        except Exception as exc:  # a crawler that cannot even start fails its source alone
            log.exception("crawl of %s failed to start", name)
            crawl.crash = f"crawler crashed: {type(exc).__name__}: {_first_line(exc)}"
            self._finished(name)
            return
        started.addBoth(lambda _: self._finished(name))

    def _finished(self, name: str) -> None:
        crawl = self.running.get(name)
        if crawl is None:  # already finished after a forced stop
            return
        self._report(self._summary(crawl))
        del self.running[name]
        self._pump()

    @staticmethod
    def _summary(crawl: _Crawl) -> RunSummary:
        try:
            return crawl.finish()
        except Exception as exc:  # never leave the parent without a summary
            log.exception("finishing the run of %s failed", crawl.src.name)
            return RunSummary(crawl.src.name, crawl.recorder.run_id, FAILED,
                              reason=f"{type(exc).__name__}: {_first_line(exc)}")

    def _report(self, summary: RunSummary) -> None:
        self.summaries.append(summary)
        with contextlib.suppress(BrokenPipeError, ValueError):  # a parent that died reads nothing
            print(json.dumps(asdict(summary)), file=self.out, flush=True)

    # -- the process's life

    def run(self, reactor_class: str | None = None, read_stdin: bool = False) -> None:
        """Install the reactor, run until every crawl is done, then record
        the crawls a forced stop left unfinished."""
        from scrapy.crawler import CrawlerProcess
        from scrapy.settings import Settings
        from scrapy.utils.reactor import install_reactor

        from crawler import settings as defaults

        base = Settings()
        base.setmodule(defaults, priority="project")
        install_reactor(reactor_class or base["TWISTED_REACTOR"], base["ASYNCIO_EVENT_LOOP"])
        from twisted.internet import reactor

        self.process = CrawlerProcess(base)
        # Scrapy leaves the root logger at NOTSET and filters in its handler,
        # so every "Crawled"/"Scraped from" DEBUG record was built and then
        # dropped: about a fifth of a first crawl's CPU. Its loggers now stop
        # below the configured level before any record is made.
        logging.getLogger("scrapy").setLevel(base.get("LOG_LEVEL"))

        def started() -> None:
            self._started = True
            if read_stdin:  # started now: the thread must find the reactor installed
                threading.Thread(target=_read_stdin, args=(self,), name="jobdelta-stdin", daemon=True).start()
            self.stop_.attach(self)
            self._pump()

        reactor.callWhenRunning(started)
        try:
            # our own handlers stay: a signal stops the crawls, never the reactor alone
            self.process.start(stop_after_crawl=False, install_signal_handlers=False)
        except Exception as exc:  # the reactor died: record it, never lose a run
            for crawl in self.running.values():
                crawl.crash = f"crawler crashed: {type(exc).__name__}: {exc}"
        self._over = True
        for name in list(self.running):
            self._finished(name)
        self._drop_waiting()


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
    the winner's lease (LeaseHeld). The retry's pause holds this process's
    other crawls too: it happens once in a source's life at most."""
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


def _read_stdin(crawls: _Crawls) -> None:
    """Feed source names from stdin (one a line) into the reactor; closing
    stdin ends the process once its crawls are done."""
    from twisted.internet import reactor

    for line in sys.stdin:
        name = line.strip()
        if name:
            reactor.callFromThread(crawls.add, name)
    reactor.callFromThread(crawls.close_input)


def _child_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler.app.runner")
    parser.add_argument("--config", required=True)
    parser.add_argument("--parent", type=int, default=None, metavar="PID",
                        help="stop the crawls when this parent process dies")
    parser.add_argument("--stdin", action="store_true",
                        help="also read source names from stdin, one a line, until it closes")
    parser.add_argument("--crawls", type=int, default=0, metavar="K",
                        help="crawls running at once (0: every source at once)")
    parser.add_argument("--reactor", default=None, help="the Twisted reactor to install (import path)")
    parser.add_argument("sources", nargs="*")
    args = parser.parse_args(argv)
    stop = _Stop()
    stop.install()
    if args.parent is not None:
        _die_with_parent(args.parent)
    crawls = _Crawls(_Configs(str(Path(args.config))), stop, limit=max(0, args.crawls))
    for name in args.sources:
        crawls.add(name)
    if not args.stdin:
        crawls.close_input()
    crawls.run(args.reactor, read_stdin=args.stdin)
    return 1 if any(s.status == FAILED for s in crawls.summaries) else 0


if __name__ == "__main__":
    sys.exit(_child_main())
