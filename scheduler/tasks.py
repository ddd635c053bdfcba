"""Crawl runs as Celery tasks on Redis, for workers on any number of machines.

The broker and the result backend are ``$JOBDELTA_BROKER_URL`` (default
``redis://127.0.0.1:6379/0``), read when this module is imported. Tasks go
to the ``jobdelta`` queue, so one Redis can serve other Celery apps too.

One task is one run of one source: ``crawl_source`` crawls it in one of
the worker's kept crawl processes (:class:`scheduler.launch.CrawlPool`:
``[defaults] crawl_processes`` of them, one per CPU by default, each running
the crawls of several tasks at once and replaced after ``sources_per_process``
sources), so a worker thread only waits, a task pays no process start-up,
and ``--concurrency 100`` means 100 crawls in a few processes.
No two runs of a source overlap whichever worker takes them: the crawl
process takes the source's lease in the database, and a task whose source is
already being crawled returns ``skipped``. The config file named in a task
must exist at that path on every worker machine.

A worker that dies mid-crawl loses nothing: tasks are acknowledged when
done, and Redis gives an unacknowledged task to another worker once the
broker's visibility timeout has passed since it was delivered (kombu
restores such messages when a worker starts and in periodic sweeps). That
timeout is ``$JOBDELTA_CRAWL_TIME_LIMIT`` (seconds a crawl may take, default
7200) plus a margin: a crawl still running at its limit is stopped (its run
aborted) before the task could be handed out a second time. The crawl
process dies with its worker (it gets SIGTERM when the worker's thread that
started it is gone), so a killed worker leaves no crawl holding the lease.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from crawler.errors import ConfigError
from crawler.extras import MissingExtra, needs

try:
    from celery import Celery
    from celery.signals import worker_shutdown
except ImportError:  # the CLI imports this module only for the queue: say what to install
    raise MissingExtra(needs("workers", "the Celery queue (--queue, worker)")) from None

BROKER_ENV = "JOBDELTA_BROKER_URL"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/0"
QUEUE = "jobdelta"
TIME_LIMIT_ENV = "JOBDELTA_CRAWL_TIME_LIMIT"
DEFAULT_CRAWL_TIME_LIMIT = 7200  # seconds one crawl may take
# at its time limit a crawl is sent SIGTERM and killed if still alive 20 s
# later (scheduler.launch.KILL_AFTER): its task ends within half this margin,
# well before the broker could hand its message to another worker
TIME_LIMIT_MARGIN = 60

log = logging.getLogger(__name__)

_pools: dict[str, Any] = {}  # config path -> this worker's CrawlPool
_pools_lock = threading.Lock()


def broker_url() -> str:
    return os.environ.get(BROKER_ENV) or DEFAULT_BROKER_URL


def crawl_time_limit() -> int:
    """Seconds one crawl may take: ``$JOBDELTA_CRAWL_TIME_LIMIT`` (a whole
    number of seconds, at least 1), default 7200."""
    raw = os.environ.get(TIME_LIMIT_ENV, "").strip()
    if not raw:
        return DEFAULT_CRAWL_TIME_LIMIT
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"${TIME_LIMIT_ENV}: must be a whole number of seconds (1 or more), "
                         f"got {raw!r}")
    return int(raw)


def safe_url(url: str) -> str:
    """The URL with its password hidden, for messages."""
    return re.sub(r"//([^:/@]*):[^@]+@", r"//\1:***@", url)


CRAWL_TIME_LIMIT = crawl_time_limit()

app = Celery("jobdelta", broker=broker_url(), backend=broker_url())
app.conf.update(
    # Redis hands an unacknowledged task to another worker this long after
    # it was delivered (kombu's default, an hour, is shorter than a long
    # crawl and far longer than a lost short one): the crawl's limit plus
    # the margin in which a crawl stopped at its limit ends its task
    broker_transport_options={"visibility_timeout": CRAWL_TIME_LIMIT + TIME_LIMIT_MARGIN},
    # the crawl process is stopped at the limit by the task itself (the
    # threads pool enforces no time limit); pools that do enforce this one
    # kill the task only when that failed
    task_time_limit=CRAWL_TIME_LIMIT + TIME_LIMIT_MARGIN // 2,
    task_default_queue=QUEUE,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    # a worker reserves only the runs it is running, so idle workers on
    # other machines take the rest
    worker_prefetch_multiplier=1,
    # acknowledged when done: a run whose worker died is taken again (the
    # lease and queued_at keep that from becoming a second run)
    task_acks_late=True,
    result_expires=7 * 86400,  # seconds: results are kept a week
    broker_connection_retry_on_startup=True,
)


@app.task(name="jobdelta.crawl_source")
def crawl_source(config_path: str, source_name: str, queued_at: str | None = None) -> dict[str, Any]:
    """Crawl one source now and return its run summary as a dict.

    ``status`` is a run status, ``failed`` when the crawl could not start
    (bad config, no schema), or ``skipped`` when another run holds the
    source's lease or, given ``queued_at`` (ISO datetime), a run of the
    source that started after that time has finished (complete, partial or
    suspicious: an aborted or failed run does not serve the task). The crawl
    is stopped after ``$JOBDELTA_CRAWL_TIME_LIMIT`` seconds."""
    from crawler.config import load_config
    from crawler.errors import JobdeltaError
    from scheduler import launch
    from scheduler.launch import RunSummary

    try:
        cfg = load_config(config_path, required=True)
        cfg.source(source_name)
        since = datetime.fromisoformat(queued_at) if queued_at else None
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        last = _last_finished_start(cfg.database_url, source_name)
        if since is not None and last is not None and last >= since.replace(microsecond=0):
            summary = RunSummary(source_name, None, launch.SKIPPED,
                                 reason=f"skipped: a run started at {last.isoformat()}, "
                                        f"after this task was queued, and finished")
        else:
            summary = _crawl(cfg, config_path, source_name)
    except JobdeltaError as exc:
        summary = RunSummary(source_name, None, "failed", reason=str(exc))
    log.log(logging.ERROR if summary.status == "failed" else logging.INFO,
            "%s: %s (run %s) %s", source_name, summary.status, summary.run_id, summary.reason or "")
    return asdict(summary)


def _crawl(cfg: Any, config_path: str, source_name: str) -> Any:
    """Crawl in this worker's crawl pool, stopped at the source's time limit
    plus the grace, and never later than the task's limit."""
    from scheduler import launch

    with _pools_lock:
        pool = _pools.get(config_path)
        if pool is None:
            # the crawls die with this worker: a killed worker leaves no
            # crawl holding a lease while its task is redelivered
            pool = _pools[config_path] = launch.CrawlPool(config_path, cfg.defaults.crawl_processes,
                                                          die_with_parent=True)
    backstop = launch.backstop(cfg, source_name, None)
    return pool.crawl(cfg, source_name, timeout=min(backstop or CRAWL_TIME_LIMIT, CRAWL_TIME_LIMIT))


@worker_shutdown.connect
def _close_pools(**_kwargs: Any) -> None:
    """A worker shutting down lets its crawl processes finish and waits for
    them (their crawls are over: the warm shutdown waited for the tasks)."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close()


def _last_finished_start(database_url: str, source_name: str) -> datetime | None:
    """When the source's latest finished run (complete, partial or
    suspicious) started; raises JobdeltaError when the database has no
    schema yet."""
    from sqlalchemy import func, select

    from crawler.errors import JobdeltaError
    from db.engine import session_factory
    from db.migrate import is_current
    from db.models import Run, Source
    from db.vocab import FINISHED_RUNS

    if not is_current(database_url):
        raise JobdeltaError("the database has no jobdelta schema: run `jobdelta db upgrade` first")
    with session_factory(database_url)() as session:
        return session.scalar(select(func.max(Run.started_at)).join(Source, Run.source_id == Source.id)
                              # a run that finished served a task queued before it
                              # started; after an aborted or failed run the task crawls
                              .where(Source.name == source_name, Run.status.in_(FINISHED_RUNS)))
