"""Starting crawls for the scheduler and the command line: now, in crawl
processes started here, or on the Celery queue for a worker to take.

A crawl process is ``python -m crawler.app.runner --config PATH --stdin``
(the application's crawl side, started by name, never imported here): it
reads source names on stdin, crawls several at once in its one reactor
(each source its own crawler, settings, lease, run and status), and prints
a one-line JSON summary per source on stdout as each finishes, read back
here as a :class:`RunSummary`. Statuses come back structured, never read
from a message: the crawl process reports ``skipped`` itself when another
run holds the source's lease -- the source is being crawled, which is what
the schedule asked for.

The process model (``run_sources``): ``jobs`` N is how many crawls run at
once. They are spread over ``[defaults] crawl_processes`` processes (0: one
per CPU), each running up to N / processes crawls, fed a new source
whenever one of its crawls ends; after ``[defaults] sources_per_process``
sources a process is let finish and a fresh one takes over, so memory a
crawl leaves behind never accumulates. ``sources_per_process = 1`` is the
old model: one process per source, N processes at once. Boards whose
spiders need another Twisted reactor, or a browser, never share a process
with the others (:func:`process_kind`).

A source's crawl is stopped by Scrapy at its ``time_limit`` (the run is
aborted: time limit). The hard backstop here, for a crawl process that
stopped answering, is that limit plus ``TIME_LIMIT_GRACE`` (or the
``timeout`` given): the process is sent SIGTERM, then SIGKILL
``KILL_AFTER`` seconds later; its other crawls are aborted with it.

Stopping: the parent, on SIGTERM or SIGINT, starts no further crawl,
forwards SIGTERM to every crawl process, kills those still running
``KILL_AFTER`` seconds later (or at a second signal), and reports the signal
in each summary (``interrupted_by``): ``jobdelta crawl`` then exits 128 +
the signal's number (130 for SIGINT, 143 for SIGTERM). Crawl processes get
their own session, so a Ctrl-C at the terminal reaches them only through the
parent; with ``die_with_parent`` a crawl process also gets SIGTERM when the
parent thread that started it dies (Linux ``PR_SET_PDEATHSIG``), so a parent
killed with SIGKILL leaves no crawl holding the source's lease.

:class:`CrawlPool` keeps crawl processes alive for a long-lived caller
whose threads each crawl one source at a time (the daemon, a Celery
worker), so such a crawl pays no process start-up either.

``enqueue`` sends ``scheduler.tasks.crawl_source`` tasks and reads
``$JOBDELTA_BROKER_URL`` (through ``scheduler.tasks``).
"""

from __future__ import annotations

import contextlib
import heapq
import json
import math
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from crawler.config import Config
from crawler.errors import JobdeltaError
from db.vocab import RunStatus

__all__ = ["FAILED", "INTERRUPTED", "SKIPPED", "SUMMARY_COLUMNS", "CrawlPool", "RunSummary", "backstop",
           "config_file", "crawl", "enqueue", "exit_status", "process_kind", "run_sources"]

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



TIME_LIMIT_GRACE = 60.0  # seconds past a source's time_limit before its crawl process is stopped from here


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
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                                    text=True, start_new_session=True)
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


def _parse(line: str) -> RunSummary | None:
    if not line.startswith("{"):
        return None
    try:
        return RunSummary(**json.loads(line))
    except (TypeError, ValueError):
        return None


def _lost(name: str, proc: subprocess.Popen[str], stopped: bool) -> RunSummary:
    """The summary of a source its crawl process never reported on."""
    if stopped and proc.returncode == -signal.SIGTERM:
        # our SIGTERM came before the crawl process set up its handling,
        # and so before it opened a run
        return RunSummary(name, None, RunStatus.ABORTED.value, reason=f"{INTERRUPTED} before it started")
    if proc.returncode is not None and proc.returncode < 0:
        how = signal.Signals(-proc.returncode).name
        reason = f"crawl process killed by {how}; the run is marked aborted at the next start"
    else:
        reason = f"crawl process exited with code {proc.returncode} without a summary"
    return RunSummary(name, None, FAILED, reason=reason)


@lru_cache(maxsize=64)
def process_kind(board: str) -> tuple[str, bool]:
    """(Twisted reactor, needs a browser) of a board's spider: sources of one
    kind may share a crawl process. The reactor is ``""`` for the project's
    default; a browser board (scrapy-playwright's download handler) gets
    processes of its own, so Chromium's memory and pace never hold up the
    plain crawls."""
    from spiders import spider_class

    try:
        custom = dict(getattr(spider_class(board), "custom_settings", None) or {})
    except Exception:  # an unknown board: its crawl process says so for the source
        return "", False
    handlers = custom.get("DOWNLOAD_HANDLERS") or {}
    browser = any("playwright" in str(handler) for handler in handlers.values())
    return str(custom.get("TWISTED_REACTOR") or ""), browser


def backstop(cfg: Config, name: str, timeout: float | None) -> float | None:
    """Seconds after which this parent stops the crawl of ``name`` itself."""
    if timeout is not None:
        return timeout
    try:
        limit = cfg.source(name).setting("time_limit", cfg.defaults)
    except JobdeltaError:  # an unknown source: its crawl process fails it at once
        return None
    return limit + TIME_LIMIT_GRACE if limit else None


class _Watchdog:
    """Deadlines of the crawls in flight: a crawl process holding a crawl
    past its backstop is stopped (SIGTERM, SIGKILL ``KILL_AFTER`` later)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Any, str, float]] = []
        self._seq = 0
        self._closed = False
        self.overdue: dict[int, tuple[str, float]] = {}  # id(proc) -> (source, its backstop)
        self._thread = threading.Thread(target=self._run, name="jobdelta-backstop", daemon=True)
        self._thread.start()

    def watch(self, proc: subprocess.Popen[str], name: str, seconds: float | None) -> None:
        if seconds is None:
            return
        with self._cond:
            self._seq += 1
            heapq.heappush(self._heap, (time.monotonic() + seconds, self._seq, proc, name, seconds))
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while not self._closed:
                now = time.monotonic()
                while self._heap and self._heap[0][0] <= now:
                    _, _, proc, name, seconds = heapq.heappop(self._heap)
                    if proc.poll() is None and id(proc) not in self.overdue and name in getattr(
                            proc, "jobdelta_inflight", {}):
                        self.overdue[id(proc)] = (name, seconds)
                        _send(proc, signal.SIGTERM)
                        killer = threading.Timer(KILL_AFTER, _send, args=(proc, signal.SIGKILL))
                        killer.daemon = True
                        killer.start()
                self._cond.wait(timeout=self._heap[0][0] - now if self._heap else None)


def _command(config_path: str, die_with_parent: bool, crawls: int, reactor: str) -> list[str]:
    cmd = [sys.executable, "-m", CRAWL_MODULE, "--config", config_path, "--stdin", "--crawls", str(crawls)]
    if die_with_parent:
        cmd += ["--parent", str(os.getpid())]
    if reactor:
        cmd += ["--reactor", reactor]
    return cmd


class _Spawner:
    """Starts processes from a thread of its own that lives until
    ``close()``: ``PR_SET_PDEATHSIG`` follows the thread that started a
    process, and the threads that feed crawl processes may end before the
    processes do."""

    def __init__(self) -> None:
        self._calls: queue.Queue[Any] = queue.Queue()
        threading.Thread(target=self._run, name="jobdelta-spawner", daemon=True).start()

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        reply: list[Any] = [None, None, threading.Event()]
        self._calls.put((fn, args, reply))
        reply[2].wait()
        if reply[1] is not None:
            raise reply[1]
        return reply[0]

    def close(self) -> None:
        self._calls.put(None)

    def _run(self) -> None:
        while (item := self._calls.get()) is not None:
            fn, args, reply = item
            try:
                reply[0] = fn(*args)
            except BaseException as exc:  # raised again in the caller's thread
                reply[1] = exc
            reply[2].set()


def run_sources(cfg: Config, names: list[str], jobs: int = 1, quiet: bool = True,
                timeout: float | None = None, die_with_parent: bool = True,
                on_result: Callable[[RunSummary], None] | None = None) -> list[RunSummary]:
    """Crawl the named sources, at most ``jobs`` at once, in shared crawl
    processes (see the module's doc); returns their summaries in the order
    of ``names``. ``on_result`` is called with each summary as its crawl
    finishes (from the thread that read it), for progress and metrics.

    A crawl still running at its backstop (the source's ``time_limit`` plus
    ``TIME_LIMIT_GRACE``, or ``timeout`` seconds when given) has its crawl
    process stopped. With ``die_with_parent`` a crawl process is stopped
    when the thread that started it dies (the daemon passes False: its
    crawls outlive it on purpose). Called from the main thread, SIGTERM and
    SIGINT stop every crawl (see the module's doc)."""
    config_path = str(Path(cfg.path).resolve()) if cfg.path else None
    if config_path is None:
        raise JobdeltaError("crawling needs a configuration file")
    if not names:
        return []
    quota = cfg.defaults.sources_per_process
    jobs = max(1, jobs)
    if quota == 1:  # a process per source, as before processes were shared
        feeders = min(jobs, len(names))
    else:
        feeders = min(jobs, cfg.defaults.crawl_processes or os.cpu_count() or 1, len(names))
    per_process = math.ceil(jobs / feeders)  # crawls at once in one process
    kinds = {}
    for name in dict.fromkeys(names):
        try:
            kinds[name] = process_kind(cfg.source(name).board)
        except JobdeltaError:
            kinds[name] = ("", False)
    children = _Children()
    watchdog = _Watchdog()
    spawner = _Spawner()
    cond = threading.Condition()
    pending: list[tuple[int, str]] = list(enumerate(names))
    results: list[RunSummary | None] = [None] * len(names)
    running = [0]  # crawls in flight, in every process
    readers: list[threading.Thread] = []

    def take(kind: tuple[str, bool] | None) -> tuple[int, str] | None:
        """(holding cond) the next pending source of this kind."""
        for i, (index, name) in enumerate(pending):
            if kind is None or kinds[name] == kind:
                del pending[i]
                return index, name
        return None

    def deliver(index: int, summary: RunSummary) -> None:
        if children.signal:
            summary = replace(summary, interrupted_by=children.signal)
        results[index] = summary
        if on_result is not None:
            on_result(summary)

    def read(proc: subprocess.Popen[str], inflight: dict[str, list[int]]) -> None:
        """Summaries of one crawl process, as its crawls end."""
        for line in proc.stdout:
            summary = _parse(line.strip())
            with cond:
                if summary is None or not inflight.get(summary.source):
                    continue
                index = inflight[summary.source].pop(0)
                if not inflight[summary.source]:
                    del inflight[summary.source]
                running[0] -= 1
                cond.notify_all()
            deliver(index, _stopped_here(summary, proc, watchdog))
        proc.wait()
        children.done(proc)
        with contextlib.suppress(OSError):
            proc.stdout.close()
        stopped = id(proc) in watchdog.overdue or bool(children.signal)
        with cond:
            lost = [(index, name) for name, indexes in inflight.items() for index in indexes]
            inflight.clear()
            running[0] -= len(lost)
            cond.notify_all()
        for index, name in lost:
            deliver(index, _stopped_here(_lost(name, proc, stopped), proc, watchdog))

    def one_process() -> bool:
        """Start a crawl process and feed it up to its quota (it then ends
        on its own once its crawls are done); False when nothing is left."""
        with cond:
            while not children.signal and running[0] >= jobs:
                cond.wait(timeout=0.5)  # a timeout: a signal sets children.signal without notifying
            first = None if children.signal else take(None)
            if first is None:
                return False
            running[0] += 1
        kind = kinds[first[1]]
        proc = spawner.call(children.start, _command(config_path, die_with_parent, per_process, kind[0]),
                            subprocess.DEVNULL if quiet else None)
        if proc is None:  # stopping: never started
            with cond:
                pending.append(first)
                running[0] -= 1
            return False
        inflight: dict[str, list[int]] = {}
        proc.jobdelta_inflight = inflight  # type: ignore[attr-defined]
        reader = threading.Thread(target=read, args=(proc, inflight), name="jobdelta-crawl-reader", daemon=True)
        with cond:
            readers.append(reader)
        sent = 0

        def send(index: int, name: str) -> bool:
            nonlocal sent
            inflight.setdefault(name, []).append(index)
            sent += 1
            watchdog.watch(proc, name, backstop(cfg, name, timeout))
            try:
                proc.stdin.write(name + "\n")
                proc.stdin.flush()
            except (BrokenPipeError, ValueError, OSError):  # died: its reader reports the rest lost
                return False
            return True

        with cond:
            ok = send(*first)
        reader.start()
        while ok and sent < quota:
            with cond:
                while not children.signal and (running[0] >= jobs or sum(map(len, inflight.values())) >= per_process):
                    if not any(kinds[n] == kind for _, n in pending):
                        break
                    cond.wait(timeout=0.5)
                nxt = None if children.signal else take(kind)
                if nxt is None:
                    break
                running[0] += 1
                ok = send(*nxt)
        # no more for this process: it ends once its crawls are done, while
        # this feeder starts the next one
        with contextlib.suppress(BrokenPipeError, OSError):
            proc.stdin.close()
        return True

    def feeder() -> None:
        while one_process():
            pass

    try:
        with children.forwarding_signals():
            threads = [threading.Thread(target=feeder, name=f"jobdelta-crawls-{i}", daemon=True)
                       for i in range(feeders)]
            for thread in threads:
                thread.start()
            for thread in threads:
                # a timeout keeps the main thread able to take signals
                while thread.is_alive():
                    thread.join(timeout=1.0)
            for reader in readers:
                while reader.is_alive():
                    reader.join(timeout=1.0)
    finally:
        watchdog.close()
        spawner.close()
    for index, name in pending:  # never started: a signal stopped the batch
        deliver(index, RunSummary(name, None, RunStatus.ABORTED.value, reason=f"{INTERRUPTED} before it started"))
    return [r for r in results if r is not None]


def _stopped_here(summary: RunSummary, proc: subprocess.Popen[str], watchdog: _Watchdog) -> RunSummary:
    """Say so in the summary when this parent stopped the crawl process at a
    crawl's backstop."""
    overdue = watchdog.overdue.get(id(proc))
    if overdue is None:
        return summary
    name, seconds = overdue
    if name == summary.source:
        reason = f"crawl stopped after its time limit of {seconds:g}s"
    else:
        reason = f"crawl process stopped: {name} ran past its time limit of {seconds:g}s"
    return replace(summary, reason=reason + (f" ({summary.reason})" if summary.reason else ""))


def crawl(cfg: Config, names: list[str], jobs: int = 1, verbose: bool = False,
          timeout: float | None = None, die_with_parent: bool = True) -> list[RunSummary]:
    """Crawl the named sources now, ``jobs`` at a time (see ``run_sources``)."""
    return run_sources(cfg, names, jobs=jobs, quiet=not verbose, timeout=timeout,
                       die_with_parent=die_with_parent)


class CrawlPool:
    """Crawl processes kept alive and shared by the threads of a long-lived
    caller (the daemon, a Celery worker), each thread crawling one source at
    a time: ``crawl`` sends the name to the least busy process of the
    source's kind (starting one while fewer than ``processes`` run) and
    waits for its summary. A process is let finish after
    ``sources_per_process`` sources and a fresh one takes its place, so a
    crawl pays no process start-up and a worker with many threads holds a
    few processes, not one each.

    Processes are started from a thread of the pool's own that lives as long
    as the pool, so ``die_with_parent`` (``PR_SET_PDEATHSIG``) stops them
    with this process, never with a caller's thread."""

    def __init__(self, config_path: str, processes: int = 0, quiet: bool = True,
                 die_with_parent: bool = True):
        self.config_path = config_path
        self.processes = processes or os.cpu_count() or 1
        self.quiet, self.die_with_parent = quiet, die_with_parent
        self._cond = threading.Condition()
        self._members: list[_Member] = []
        self._spawner: _Spawner | None = None

    def crawl(self, cfg: Config, name: str, timeout: float | None = None) -> RunSummary:
        """Crawl ``name`` in a pooled process; stopped after ``timeout``
        seconds, or the source's time limit plus the grace (its process is
        then stopped, with any other crawl in it)."""
        try:
            kind = process_kind(cfg.source(name).board)
        except JobdeltaError:  # an unknown source: a crawl process fails it with the config's line
            kind = ("", False)
        waiter = _Waiter(name)
        with self._cond:
            member = self._member(kind, cfg.defaults.sources_per_process)
            member.send(waiter)
        seconds = backstop(cfg, name, timeout)
        if not waiter.done.wait(timeout=seconds):
            member.overdue = (name, seconds)
            _send(member.proc, signal.SIGTERM)
            killer = threading.Timer(KILL_AFTER, _send, args=(member.proc, signal.SIGKILL))
            killer.daemon = True
            killer.start()
            waiter.done.wait()
        summary = waiter.summary
        assert summary is not None
        overdue = waiter.overdue
        if overdue is not None:
            other, limit = overdue
            reason = (f"crawl stopped after its time limit of {limit:g}s" if other == name else
                      f"crawl process stopped: {other} ran past its time limit of {limit:g}s")
            summary = replace(summary, reason=reason + (f" ({summary.reason})" if summary.reason else ""))
        return summary

    def _member(self, kind: tuple[str, bool], quota: int) -> _Member:
        """The least busy live process of this kind with sources left in its
        quota, or a new one (called holding the lock)."""
        self._members = [m for m in self._members if not m.ended]
        usable = [m for m in self._members if m.kind == kind and m.accepting]
        if not usable or (len(self._members) < self.processes and min(m.busy for m in usable) > 0):
            member = _Member(self._spawn(_command(self.config_path, self.die_with_parent, 0, kind[0])),
                             kind, quota, self._cond)
            self._members.append(member)
            return member
        return min(usable, key=lambda m: m.busy)

    def _spawn(self, cmd: list[str]) -> subprocess.Popen[str]:
        if self._spawner is None:
            self._spawner = _Spawner()  # lives as long as the pool: never closed
        return self._spawner.call(lambda: subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL if self.quiet else None,
            text=True, start_new_session=True))

    def close(self) -> None:
        """Let every process finish its crawls (stdin closed) and end."""
        with self._cond:
            members = list(self._members)
            for member in members:
                member.retire()
        for member in members:
            member.reader.join()


class _Waiter:
    def __init__(self, name: str):
        self.name = name
        self.done = threading.Event()
        self.summary: RunSummary | None = None
        self.overdue: tuple[str, float] | None = None  # its process was stopped at this crawl's backstop


class _Member:
    """One pooled crawl process: names go in on stdin, summaries come back
    on stdout to the threads waiting for them."""

    def __init__(self, proc: subprocess.Popen[str], kind: tuple[str, bool], quota: int,
                 cond: threading.Condition):
        self.proc, self.kind, self.quota, self._cond = proc, kind, quota, cond
        self.waiting: dict[str, list[_Waiter]] = {}
        self.sent = 0
        self.accepting = True
        self.ended = False
        self.overdue: tuple[str, float] | None = None
        self.reader = threading.Thread(target=self._read, name="jobdelta-crawl-reader", daemon=True)
        self.reader.start()

    @property
    def busy(self) -> int:
        return sum(map(len, self.waiting.values()))

    def send(self, waiter: _Waiter) -> None:
        """(holding the lock)"""
        self.waiting.setdefault(waiter.name, []).append(waiter)
        self.sent += 1
        try:
            self.proc.stdin.write(waiter.name + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):  # died: the reader reports it lost
            self.accepting = False
        if self.sent >= self.quota:
            self.retire()

    def retire(self) -> None:
        """No more names: the process ends once its crawls are done."""
        self.accepting = False
        with contextlib.suppress(BrokenPipeError, OSError):
            self.proc.stdin.close()

    def _read(self) -> None:
        for line in self.proc.stdout:
            summary = _parse(line.strip())
            with self._cond:
                waiters = self.waiting.get(summary.source) if summary is not None else None
                if not waiters:
                    continue
                waiter = waiters.pop(0)
                if not waiters:
                    del self.waiting[summary.source]
            waiter.summary, waiter.overdue = summary, self.overdue
            waiter.done.set()
        self.proc.wait()
        with self._cond:
            self.accepting = False
            self.ended = True
            lost = [w for ws in self.waiting.values() for w in ws]
            self.waiting.clear()
        for waiter in lost:
            waiter.summary = _lost(waiter.name, self.proc, self.overdue is not None)
            waiter.overdue = self.overdue
            waiter.done.set()
        with contextlib.suppress(OSError):
            self.proc.stdout.close()


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
