"""Crawl runs as Celery tasks on Redis, for workers on any number of machines.

The broker and the result backend are ``$JOBDELTA_BROKER_URL`` (default
``redis://127.0.0.1:6379/0``), read when this module is imported. Tasks go
to the ``jobdelta`` queue, so one Redis can serve other Celery apps too.

One task is one run of one source: ``crawl_source`` crawls it in a process
of its own (``crawler.runner.run_sources``), so a worker thread only waits.
No two runs of a source overlap whichever worker takes them: the crawl
process takes the source's lease in the database, and a task whose source is
already being crawled returns ``skipped``. The config file named in a task
must exist at that path on every worker machine.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from celery import Celery

BROKER_ENV = "JOBDELTA_BROKER_URL"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/0"
QUEUE = "jobdelta"

log = logging.getLogger(__name__)


def broker_url() -> str:
    return os.environ.get(BROKER_ENV) or DEFAULT_BROKER_URL


def safe_url(url: str) -> str:
    """The URL with its password hidden, for messages."""
    return re.sub(r"//([^:/@]*):[^@]+@", r"//\1:***@", url)


app = Celery("jobdelta", broker=broker_url(), backend=broker_url())
app.conf.update(
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
    source started after that time."""
    from crawler.config import load_config
    from crawler.errors import JobdeltaError
    from crawler.runner import RunSummary
    from scheduler import launch

    try:
        cfg = load_config(config_path, required=True)
        cfg.source(source_name)
        since = datetime.fromisoformat(queued_at) if queued_at else None
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        last = _last_start(cfg.database_url, source_name)
        if since is not None and last is not None and last >= since.replace(microsecond=0):
            summary = RunSummary(source_name, None, launch.SKIPPED,
                                 reason=f"skipped: a run started at {last.isoformat()}, "
                                        f"after this task was queued")
        else:
            summary = launch.crawl(cfg, [source_name])[0]
    except JobdeltaError as exc:
        summary = RunSummary(source_name, None, "failed", reason=str(exc))
    log.log(logging.ERROR if summary.status == "failed" else logging.INFO,
            "%s: %s (run %s) %s", source_name, summary.status, summary.run_id, summary.reason or "")
    return asdict(summary)


def _last_start(database_url: str, source_name: str) -> datetime | None:
    """When the source's latest run started; raises JobdeltaError when the
    database has no schema yet."""
    from sqlalchemy import func, select

    from crawler.errors import JobdeltaError
    from db.engine import session_factory
    from db.migrate import is_current
    from db.models import Run, Source

    if not is_current(database_url):
        raise JobdeltaError("the database has no jobdelta schema: run `jobdelta db upgrade` first")
    with session_factory(database_url)() as session:
        return session.scalar(select(func.max(Run.started_at)).join(Source, Run.source_id == Source.id)
                              .where(Source.name == source_name))
