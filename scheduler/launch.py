"""Starting crawls for the scheduler and the command line: now, each in a
crawl process of its own, or on the Celery queue for a worker to take.

A crawl process is ``python -m crawler.app.runner --config PATH SOURCE``
(the application's crawl side, started by name, never imported here): it
takes the source's lease, runs its spider, stores what it finds, decides the
run's status and prints a one-line JSON summary on stdout, read back here as
a :class:`RunSummary`. Statuses come back structured, never read from a
message: the crawl process reports ``skipped`` itself when another run holds
the source's lease -- the source is being crawled, which is what the
schedule asked for.

Stopping: the parent, on SIGTERM or SIGINT, starts no further crawl,
forwards SIGTERM to every crawl process, kills those still running
``KILL_AFTER`` seconds later (or at a second signal), and reports the signal
in each summary (``interrupted_by``): ``jobdelta crawl`` then exits 128 +
the signal's number (130 for SIGINT, 143 for SIGTERM). Crawl processes get
their own session, so a Ctrl-C at the terminal reaches them only through the
parent; with ``die_with_parent`` a crawl process also gets SIGTERM when the
parent thread that started it dies (Linux ``PR_SET_PDEATHSIG``), so a parent
killed with SIGKILL leaves no crawl holding the source's lease.

``enqueue`` sends ``scheduler.tasks.crawl_source`` tasks and reads
``$JOBDELTA_BROKER_URL`` (through ``scheduler.tasks``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from crawler.config import Config
from crawler.errors import JobdeltaError
from db.vocab import RunStatus

__all__ = ["FAILED", "INTERRUPTED", "SKIPPED", "SUMMARY_COLUMNS", "RunSummary", "config_file",
           "crawl", "enqueue", "exit_status", "run_sources"]

SUMMARY_COLUMNS = ["source", "run_id", "status", "seen", "new", "changed", "expired",
                   "reopened", "reason"]
CRAWL_MODULE = "crawler.app.runner"  # run as ``python -m``: the crawl process

# A summary's status is a run status (db.vocab.RunStatus); a crawl that
# never got a run is "failed" (it could not start), "aborted" (stopped
# before it started) or "skipped", which is no run status: another process
# holds the source's lease, the source is being crawled.
FAILED = RunStatus.FAILED.value
SKIPPED = "skipped"
INTERRUPTED = "aborted: interrupted"

KILL_AFTER = 20.0  # seconds after SIGTERM before the parent kills a crawl process that still runs



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
                timeout: float | None = None, die_with_parent: bool = True,
                on_result: Callable[[RunSummary], None] | None = None) -> list[RunSummary]:
    """Crawl each named source in its own process, ``jobs`` at a time;
    ``on_result`` is called with each summary as its crawl finishes (from
    the thread that waited for it), for progress and metrics.

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
        cmd = [sys.executable, "-m", CRAWL_MODULE, "--config", config_path]
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
        if on_result is not None:
            on_result(summary)
        return summary

    with children.forwarding_signals(), ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, names))



SUMMARY_COLUMNS = ["source", "run_id", "status", "seen", "new", "changed", "expired",
                   "reopened", "reason"]


def crawl(cfg: Config, names: list[str], jobs: int = 1, verbose: bool = False,
          timeout: float | None = None, die_with_parent: bool = True) -> list[RunSummary]:
    """Crawl the named sources now, ``jobs`` at a time, each in its own
    process (stopped after ``timeout`` seconds; with ``die_with_parent``
    stopped too when the calling thread or process dies)."""
    return run_sources(cfg, names, jobs=jobs, quiet=not verbose, timeout=timeout,
                       die_with_parent=die_with_parent)


def config_file(cfg: Config) -> str:
    """The absolute path of the config file, as a task carries it."""
    if cfg.path is None:
        raise JobdeltaError("queueing crawls needs a configuration file")
    return str(Path(cfg.path).resolve())


def enqueue(cfg: Config, names: list[str], queued_at: datetime) -> list[dict[str, str]]:
    """Send one crawl task per source; returns ``{source, task_id}`` rows.

    ``queued_at`` travels with each task: a worker skips the task when the
    source has a run that started since, so a backlog of fires for one
    source collapses into one crawl."""
    from kombu.exceptions import OperationalError
    from redis.exceptions import RedisError

    from scheduler.tasks import app, broker_url, crawl_source, safe_url

    path = config_file(cfg)
    where = f"broker {safe_url(broker_url())}"
    try:
        # fail in a second with one line, not after the publisher's and the
        # result backend's own retries
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1)
    except OperationalError as exc:
        raise JobdeltaError(f"{where}: cannot connect: {exc}") from None
    rows = []
    for name in names:
        try:
            result = crawl_source.apply_async(args=(path, name),
                                              kwargs={"queued_at": queued_at.isoformat()})
        except (OperationalError, RedisError, RuntimeError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise JobdeltaError(f"{where}: {name} not queued: {first}") from None
        rows.append({"source": name, "task_id": result.id, "status": "queued"})
    return rows
