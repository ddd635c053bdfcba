"""Run one source's crawl, in a process of its own.

Twisted's reactor cannot be restarted, so every crawl runs in a fresh
process: ``python -m crawler.runner --config PATH SOURCE`` takes the
source's lease, runs its spider, stores what it finds, decides the run's
status and prints a one-line JSON summary on stdout. ``run_sources`` is the
parent side used by ``jobdelta crawl`` and the scheduler.

Statuses come back structured, never read from a message: the crawl process
reports ``skipped`` itself when another run holds the source's lease.

Stopping: SIGTERM or SIGINT to a crawl process stops its crawl (gracefully,
at once after ``STOP_GRACE`` seconds) and records the run as ``aborted:
interrupted``. The parent, on SIGTERM or SIGINT, starts no further crawl,
forwards SIGTERM to every crawl process, kills those still running
``KILL_AFTER`` seconds later (or at a second signal), and reports the
signal in each summary (``interrupted_by``): ``jobdelta crawl`` then exits
128 + the signal's number (130 for SIGINT, 143 for SIGTERM). Crawl
processes get their own session, so a Ctrl-C at the terminal reaches them
only through the parent; with ``die_with_parent`` a crawl process also gets
SIGTERM when the parent thread that started it dies (Linux
``PR_SET_PDEATHSIG``), so a parent killed with SIGKILL leaves no crawl
holding the source's lease.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from crawler.config import Config, SourceConfig, load_config
from crawler.errors import JobdeltaError, LeaseHeld
from db.vocab import RunStatus

log = logging.getLogger(__name__)

# A summary's status is a run status (db.vocab.RunStatus); a crawl that
# never got a run is "failed" (it could not start), "aborted" (stopped
# before it started) or "skipped", which is no run status: another process
# holds the source's lease, the source is being crawled.
FAILED = RunStatus.FAILED.value
SKIPPED = "skipped"
INTERRUPTED = "aborted: interrupted"

STOP_GRACE = 5.0  # seconds a stopped crawl may take to close its spider before it stops at once
KILL_AFTER = 20.0  # seconds after SIGTERM before the parent kills a crawl process that still runs

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


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
    # the signal (e.g. "SIGTERM") that made the parent stop this crawl
    interrupted_by: str | None = None


def exit_status(results: list[RunSummary]) -> int:
    """The exit status of a command that ran these crawls: 128 + the signal's
    number when a signal stopped them (130 SIGINT, 143 SIGTERM), 1 when any
    failed, else 0 (skipped and aborted runs are not failures)."""
    for r in results:
        if r.interrupted_by:
            return 128 + signal.Signals[r.interrupted_by].value
    return 1 if any(r.status == FAILED for r in results) else 0


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
    settings.set("DOWNLOAD_TIMEOUT", d.download_timeout, priority="cmdline")
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

    settings = scrapy_settings(cfg)
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
    parser = argparse.ArgumentParser(prog="python -m crawler.runner")
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


class _Children:
    """The crawl processes of one ``run_sources`` call, and how they stop."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._procs: set[subprocess.Popen[str]] = set()
        self.signal: str | None = None  # the signal that stopped the batch
        self._killer: threading.Timer | None = None

    def start(self, cmd: list[str], stderr: int | None) -> subprocess.Popen[str] | None:
        """Start a crawl process, or None once the batch is stopping."""
        with self._lock:
            if self.signal:
                return None
            # a session of its own: a Ctrl-C at the terminal reaches the
            # crawl through this parent (which forwards SIGTERM), never twice
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr, text=True,
                                    start_new_session=True)
            self._procs.add(proc)
            return proc

    def done(self, proc: subprocess.Popen[str]) -> None:
        with self._lock:
            self._procs.discard(proc)

    def on_signal(self, signum: int, _frame: Any) -> None:
        name = signal.Signals(signum).name
        with self._lock:
            if self.signal:  # a second signal: kill what still runs
                self.kill_all()
                return
            self.signal = name
            for proc in self._procs:
                _send(proc, signal.SIGTERM)
            self._killer = threading.Timer(KILL_AFTER, self.kill_all)
            self._killer.daemon = True
            self._killer.start()

    def kill_all(self) -> None:
        with self._lock:
            for proc in self._procs:
                _send(proc, signal.SIGKILL)

    def close(self) -> None:
        if self._killer is not None:
            self._killer.cancel()

    @contextlib.contextmanager
    def forwarding_signals(self) -> Iterator[None]:
        """SIGTERM and SIGINT stop the crawls, while in the main thread (the
        daemon and the workers start crawls from threads and have their own
        handling)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.close()


def _send(proc: subprocess.Popen[str], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        if proc.poll() is None:
            proc.send_signal(sig)


def _summary_of(name: str, proc: subprocess.Popen[str], out: str, stopped: bool) -> RunSummary:
    for line in reversed(out.strip().splitlines()):
        if line.startswith("{"):
            try:
                return RunSummary(**json.loads(line))
            except (TypeError, ValueError):
                break
    if stopped and proc.returncode == -signal.SIGTERM:
        # our SIGTERM came before the crawl process set up its handling,
        # and so before it opened a run
        return RunSummary(name, None, RunStatus.ABORTED.value, reason=f"{INTERRUPTED} before it started")
    if proc.returncode < 0:
        how = signal.Signals(-proc.returncode).name
        reason = f"crawl process killed by {how}; the run is marked aborted at the next start"
    else:
        reason = f"crawl process exited with code {proc.returncode} without a summary"
    return RunSummary(name, None, FAILED, reason=reason)


def run_sources(cfg: Config, names: list[str], jobs: int = 1, quiet: bool = True,
                timeout: float | None = None, die_with_parent: bool = True) -> list[RunSummary]:
    """Crawl each named source in its own process, ``jobs`` at a time.

    A crawl still running after ``timeout`` seconds is stopped (SIGTERM,
    SIGKILL ``KILL_AFTER`` seconds later). With ``die_with_parent`` a crawl
    process is stopped when the thread that started it dies (the daemon
    passes False: its crawls outlive it on purpose). Called from the main
    thread, SIGTERM and SIGINT stop every crawl (see the module's doc)."""
    config_path = str(Path(cfg.path).resolve()) if cfg.path else None
    if config_path is None:
        raise JobdeltaError("crawling needs a configuration file")
    children = _Children()

    def one(name: str) -> RunSummary:
        cmd = [sys.executable, "-m", "crawler.runner", "--config", config_path]
        if die_with_parent:
            cmd += ["--parent", str(os.getpid())]
        proc = children.start([*cmd, name], subprocess.DEVNULL if quiet else None)
        if proc is None:
            return RunSummary(name, None, RunStatus.ABORTED.value, reason=f"{INTERRUPTED} before it started",
                              interrupted_by=children.signal)
        timed_out = False
        try:
            try:
                out, _ = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                _send(proc, signal.SIGTERM)
                try:
                    out, _ = proc.communicate(timeout=KILL_AFTER)
                except subprocess.TimeoutExpired:
                    _send(proc, signal.SIGKILL)
                    out, _ = proc.communicate()
        finally:
            children.done(proc)
        summary = _summary_of(name, proc, out, stopped=timed_out or bool(children.signal))
        if timed_out:
            summary = replace(summary, reason=f"crawl stopped after its time limit of {timeout:g}s"
                                              + (f" ({summary.reason})" if summary.reason else ""))
        if children.signal:
            summary = replace(summary, interrupted_by=children.signal)
        return summary

    with children.forwarding_signals(), ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, names))


if __name__ == "__main__":
    sys.exit(_child_main())
