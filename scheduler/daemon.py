"""``jobdelta daemon``: one APScheduler 3.x BlockingScheduler for every
scheduled source.

Reads the config and the sources' last run starts at start, then keeps one
job per enabled source with a schedule, id ``crawl:<source>``: ``coalesce``
(fires missed while a crawl ran or the machine slept become one),
``max_instances=1`` (a fire that comes while the source's crawl still runs
is dropped and logged), a ``misfire_grace_time``, and the source's
``jitter`` (``[defaults] jitter`` unless the source sets its own: each fire
comes up to that many seconds late, at random, so hundreds of sources on one
cron line do not start in the same second). A source already due at start
(it never ran, or a fire passed while no daemon ran) is crawled at once. The
job body crawls the source in the daemon's kept crawl processes
(:class:`scheduler.launch.CrawlPool`: ``[defaults] crawl_processes`` of
them, each running several crawls), or with ``queue`` sends it to the
Celery queue.

SIGHUP reloads the config with the ``load`` callable the application passes
(its own loader, which checks boards: this layer never imports it): added
sources get jobs (crawled at once when due), removed ones lose theirs (a
crawl of theirs already running finishes), changed schedules and jitters
are rescheduled. A config that does not load, or has no scheduled source,
is refused with one log line and the old one kept.

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
from scheduler.due import Due, schedule_status
from scheduler.triggers import schedule_trigger

log = logging.getLogger("jobdelta.daemon")

JOB_PREFIX = "crawl:"


class Daemon:
    """The scheduler, its jobs and its shutdown."""

    def __init__(self, cfg: Config, last_started: dict[str, datetime], *, jobs: int = 4,
                 misfire_grace_time: int = 300, queue: bool = False, verbose: bool = False,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC),
                 load: Callable[[Any], Config] | None = None,
                 on_result: Callable[[launch.RunSummary], None] | None = None):
        self.cfg = cfg
        # called with each crawl's summary, for the run's log line and the
        # metrics; without it the daemon logs the line itself
        self.on_result = on_result
        self.queue = queue
        self.verbose = verbose
        self._now = now
        self._load = load
        self._stopping = False
        self._started = threading.Event()
        self._running: set[str] = set()
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._reload_lock = threading.Lock()
        self._pool: launch.CrawlPool | None = None  # the crawl processes, kept between crawls
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
        status = schedule_status(cfg.sources, last_started)
        if not status:
            raise ConfigError(_no_schedule(cfg))
        self._sync(cfg, status)

    # -- jobs from the config

    @staticmethod
    def _wanted(cfg: Config, status: list[Due]) -> dict[str, tuple[Due, float]]:
        """Job id -> (the source's schedule status, its jitter in seconds)."""
        wanted = {}
        for due in status:
            src = cfg.source(due.source)
            jitter = src.jitter if src.jitter is not None else cfg.defaults.jitter
            wanted[JOB_PREFIX + due.source] = (due, float(jitter))
        return wanted

    def _sync(self, cfg: Config, status: list[Due]) -> tuple[list[str], list[str], list[str]]:
        """Make the jobs match ``cfg``: (added, removed, rescheduled) sources."""
        start = self._now()
        wanted = self._wanted(cfg, status)
        have = {job.id: job for job in self.scheduler.get_jobs() if job.id.startswith(JOB_PREFIX)}
        added, removed, rescheduled = [], [], []
        for job_id in sorted(set(have) - set(wanted)):
            self.scheduler.remove_job(job_id)
            removed.append(job_id.removeprefix(JOB_PREFIX))
        for job_id, (due, jitter) in wanted.items():
            name = f"{job_id} ({due.schedule})"
            old = have.get(job_id)
            if old is not None and old.name == name and getattr(old.trigger, "jitter", None) == (jitter or None):
                continue
            trigger = schedule_trigger(due.schedule, due.last_started, start, jitter)
            if old is not None:
                self.scheduler.modify_job(job_id, name=name)
                self.scheduler.reschedule_job(job_id, trigger=trigger)
                rescheduled.append(due.source)
                continue
            extra: dict[str, Any] = {}
            if due.is_due(start):
                extra["next_run_time"] = start  # overdue or never ran: crawl it now
            self.scheduler.add_job(self._job, trigger, args=[due.source], id=job_id, name=name, **extra)
            added.append(due.source)
        alerts = self.scheduler.get_job("alerts:send")
        if cfg.subscriptions and alerts is None:
            # digests fall due on their own schedules, and retries on their
            # backoff: look once a minute, besides after every run
            self.scheduler.add_job(self._send_alerts, IntervalTrigger(seconds=60, timezone=UTC),
                                   id="alerts:send", name="alerts:send (every minute)")
        elif not cfg.subscriptions and alerts is not None:
            self.scheduler.remove_job("alerts:send")
        self.cfg = cfg
        return added, removed, rescheduled

    def reload(self) -> bool:
        """Read the config again and make the jobs match it; a config that
        does not load (or schedules nothing) is refused with one log line and
        the old one kept. True when the new config took effect."""
        if self._load is None:
            log.warning("SIGHUP: this daemon cannot reload its config; restart it instead")
            return False
        with self._reload_lock:
            try:
                cfg = self._load(self.cfg.path)
                status = schedule_status(cfg.sources, _last_started(cfg))
                if not status:
                    raise ConfigError(_no_schedule(cfg))
            except Exception as exc:  # one line, whatever went wrong: the old config stays
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                log.error("SIGHUP: config not reloaded, keeping the previous one: %s", first)
                return False
            added, removed, rescheduled = self._sync(cfg, status)
        log.info("SIGHUP: config reloaded: %d scheduled source(s); added: %s; removed: %s; rescheduled: %s",
                 len(status), ", ".join(added) or "none", ", ".join(removed) or "none",
                 ", ".join(rescheduled) or "none")
        return True

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
            summary = self._crawl_pool().crawl(self.cfg, source)
        finally:
            with self._lock:
                self._running.discard(source)
        if self.on_result is not None:
            self.on_result(summary)
        else:
            level = logging.ERROR if summary.status == "failed" else logging.INFO
            log.log(level, "%s%s: %s run=%s seen=%s new=%s changed=%s expired=%s reopened=%s%s",
                    JOB_PREFIX, source, summary.status, summary.run_id, summary.seen, summary.new,
                    summary.changed, summary.expired, summary.reopened,
                    f" ({summary.reason})" if summary.reason else "")
        self._send_alerts()

    def _crawl_pool(self) -> launch.CrawlPool:
        with self._lock:
            if self._pool is None:
                # the crawls outlive a daemon that exits at a second signal,
                # and record their runs (see the module's doc)
                self._pool = launch.CrawlPool(str(self.cfg.path), self.cfg.defaults.crawl_processes,
                                              quiet=not self.verbose, die_with_parent=False)
            return self._pool

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
        previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, self._on_hangup)
        try:
            if not self._stopping:
                self.scheduler.start()
            with self._lock:
                running = sorted(self._running)
            if running:
                log.info("waiting for %d running crawl(s) to finish: %s", len(running), ", ".join(running))
            self.executor.shutdown(wait=True)
            if self._pool is not None:
                self._pool.close()
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

    def _on_hangup(self, _signum: int, _frame: Any) -> None:
        if self._stopping:
            return
        # reloading takes the scheduler's locks: never inside a signal handler
        threading.Thread(target=self.reload, name="jobdelta-reload", daemon=True).start()

    def _shutdown(self) -> None:
        # a signal that came before start(): run() sees _stopping and never
        # starts, or it started just after and is stopped here
        self._started.wait()
        self.scheduler.shutdown(wait=False)


def _no_schedule(cfg: Config) -> str:
    return (f"{cfg.path}: no enabled source has a schedule "
            '(add e.g. schedule = "every 6h" to a [[sources]] block)')


def _last_started(cfg: Config) -> dict[str, datetime]:
    """Each source's last run start, for sources a reload adds."""
    from db.engine import session_factory
    from scheduler.due import last_run_starts

    with session_factory(cfg.database_url)() as session:
        return last_run_starts(session)
