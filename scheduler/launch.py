"""Starting crawls for the scheduler: now, each in its own process, or on the
Celery queue for a worker to take.

``crawl`` is ``crawler.runner.run_sources``: a run refused because another
process holds the source's lease comes back from the crawl process as
``skipped``, not ``failed`` -- the source is being crawled, which is what
the schedule asked for. ``enqueue`` sends ``scheduler.tasks.crawl_source``
tasks and reads ``$JOBDELTA_BROKER_URL`` (through ``scheduler.tasks``).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from crawler.config import Config
from crawler.errors import JobdeltaError
from crawler.runner import SKIPPED, RunSummary, run_sources

__all__ = ["SKIPPED", "SUMMARY_COLUMNS", "config_file", "crawl", "enqueue"]

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
