"""``jobdelta daemon``: one APScheduler 3.x BlockingScheduler for every
scheduled source.

Reads the config once at start (restart the daemon after editing it) and the
sources' last run starts, then keeps one job per enabled source with a
schedule, id ``crawl:<source>``: ``coalesce`` (fires missed while a crawl ran
or the machine slept become one), ``max_instances=1`` (a fire that comes
while the source's crawl still runs is dropped and logged), and a
``misfire_grace_time``. A source already due at start (it never ran, or a
fire passed while no daemon ran) is crawled at once. The job body starts the
crawl in a process of its own (``scheduler.launch.crawl``), or with
``queue`` sends it to the Celery queue.

SIGTERM or SIGINT: no new crawl starts, the running ones finish (each
records its run), and the daemon exits 0. A second signal exits at once,
with status 1; crawls still running go on in their own processes and
record their runs.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_SCHEDULER_STARTED,
    JobEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from crawler.config import Config
from crawler.errors import ConfigError, JobdeltaError
from scheduler import launch
from scheduler.due import schedule_status
from scheduler.triggers import schedule_trigger

log = logging.getLogger("jobdelta.daemon")

JOB_PREFIX = "crawl:"


class Daemon:
    """The scheduler, its jobs and its shutdown."""

    def __init__(self, cfg: Config, last_started: dict[str, datetime], *, jobs: int = 4,
                 misfire_grace_time: int = 300, queue: bool = False, verbose: bool = False,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.cfg = cfg
        self.queue = queue
        self.verbose = verbose
        self._now = now
        self._stopping = False
        self._started = threading.Event()
        self._running: set[str] = set()
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self.executor = ThreadPoolExecutor(max_workers=jobs)
        self.scheduler = BlockingScheduler(
            timezone=UTC,
            executors={"default": self.executor},
            job_defaults={"coalesce": True, "max_instances": 1,
                          "misfire_grace_time": misfire_grace_time},
        )
        self.scheduler.add_listener(self._on_trouble,
                                    EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
        self.scheduler.add_listener(lambda _event: self._started.set(), EVENT_SCHEDULER_STARTED)
        start = now()
        status = schedule_status(cfg.sources, last_started)
        if not status:
            raise ConfigError(f"{cfg.path}: no enabled source has a schedule "
                              '(add e.g. schedule = "every 6h" to a [[sources]] block)')
        for due in status:
            extra: dict[str, Any] = {}
            if due.is_due(start):
                extra["next_run_time"] = start  # overdue or never ran: crawl it now
            self.scheduler.add_job(self._job, schedule_trigger(due.schedule, due.last_started, start),
                                   args=[due.source], id=JOB_PREFIX + due.source,
                                   name=f"{JOB_PREFIX}{due.source} ({due.schedule})", **extra)
        if cfg.subscriptions:
            # digests fall due on their own schedules, and retries on their
            # backoff: look once a minute, besides after every run
            self.scheduler.add_job(self._send_alerts, IntervalTrigger(seconds=60, timezone=UTC),
                                   id="alerts:send", name="alerts:send (every minute)")

    # -- the job body

    def _job(self, source: str) -> None:
        if self.queue:
            try:
                rows = launch.enqueue(self.cfg, [source], queued_at=self._now())
            except JobdeltaError as exc:
                log.error("%s%s: not queued: %s", JOB_PREFIX, source, exc)
                return
            log.info("%s%s: queued as task %s", JOB_PREFIX, source, rows[0]["task_id"])
            return
        with self._lock:
            self._running.add(source)
        try:
            # the crawl outlives a daemon that exits at a second signal, and
            # records its run (see the module's doc)
            summary = launch.crawl(self.cfg, [source], verbose=self.verbose, die_with_parent=False)[0]
        finally:
            with self._lock:
                self._running.discard(source)
        level = logging.ERROR if summary.status == "failed" else logging.INFO
        log.log(level, "%s%s: %s run=%s seen=%s new=%s changed=%s expired=%s reopened=%s%s",
                JOB_PREFIX, source, summary.status, summary.run_id, summary.seen, summary.new,
                summary.changed, summary.expired, summary.reopened,
                f" ({summary.reason})" if summary.reason else "")
        self._send_alerts()

    def _send_alerts(self) -> None:
        """Send what the run made due (one sender at a time in this daemon;
        others on other machines are kept apart by their claims)."""
        from scheduler.alerts import send_alerts

        if not self.cfg.subscriptions:
            return
        with self._send_lock:
            try:
                send_alerts(self.cfg)
            except Exception:  # retried after the next run, or by `jobdelta alerts send`
                log.exception("sending alerts failed")

    def _on_trouble(self, event: JobEvent) -> None:
        if event.code == EVENT_JOB_ERROR:
            exc = getattr(event, "exception", None)
            log.error("%s raised %s: %s", event.job_id, type(exc).__name__, exc)
        elif event.code == EVENT_JOB_MISSED:
            log.warning("%s missed its run at %s (more than the misfire grace time late)",
                        event.job_id, getattr(event, "scheduled_run_time", "?"))
        elif event.code == EVENT_JOB_MAX_INSTANCES:
            log.warning("%s is still running; this fire is dropped (max_instances=1)", event.job_id)

    # -- running and stopping

    def jobs(self) -> list[tuple[str, datetime | None]]:
        """(job id, first run time) of every job, for the start-up log."""
        now = self._now()
        return [(job.id, getattr(job, "next_run_time", None) or job.trigger.get_next_fire_time(None, now))
                for job in self.scheduler.get_jobs()]

    def run(self) -> int:
        """Block until a signal stops the daemon; returns the exit status."""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            if not self._stopping:
                self.scheduler.start()
            with self._lock:
                running = sorted(self._running)
            if running:
                log.info("waiting for %d running crawl(s) to finish: %s", len(running), ", ".join(running))
            self.executor.shutdown(wait=True)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        log.info("daemon stopped")
        return 0

    def _on_signal(self, signum: int, _frame: Any) -> None:
        name = signal.Signals(signum).name
        if self._stopping:
            log.warning("second %s: exiting now; running crawls finish in their own processes", name)
            logging.shutdown()
            os._exit(1)
        self._stopping = True
        log.info("%s: stopping; no new crawl starts", name)
        # shutdown() takes the scheduler's locks: never from inside a signal
        # handler, which may have interrupted the thread holding them
        threading.Thread(target=self._shutdown, name="jobdelta-shutdown", daemon=True).start()

    def _shutdown(self) -> None:
        # a signal that came before start(): run() sees _stopping and never
        # starts, or it started just after and is stopped here
        self._started.wait()
        self.scheduler.shutdown(wait=False)
