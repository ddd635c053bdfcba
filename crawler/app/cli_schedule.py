"""The scheduling commands: ``run-due`` (for cron), ``daemon`` and ``worker``.

Click commands registered in ``crawler.app.cli``'s ``main`` group, which turns
domain errors into one line. Each reads the config named by the group's
``--config`` (required) and brings the database schema up to date, as
``jobdelta crawl`` does.
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import UTC, datetime

import click

from crawler import output
from crawler.app.config import load_config
from crawler.app.logs import on_result, setup_logging
from crawler.app.metrics import Metrics
from crawler.app.progress import CrawlProgress
from crawler.config import Config


def _config(ctx: click.Context) -> Config:
    root = ctx.find_root()
    return load_config((root.obj or {}).get("config_path"), required=True)


def _last_started(cfg: Config) -> dict[str, datetime]:
    from db.engine import session_factory
    from db.migrate import upgrade
    from scheduler.due import last_run_starts

    upgrade(cfg.database_url)
    with session_factory(cfg.database_url)() as session:
        return last_run_starts(session)


def _log_format(ctx: click.Context) -> str:
    """The group's ``--log-format``: text or json."""
    return (ctx.find_root().obj or {}).get("log_format") or "text"


def _log_to_stderr(verbose: bool = False, fmt: str = "text") -> None:
    setup_logging(fmt, logging.DEBUG if verbose else logging.INFO)


def _metrics_options(command: click.Command) -> click.Command:
    """``--metrics-port`` and ``--metrics-host``, for the daemon and the worker."""
    command = click.option(
        "--metrics-host", default="127.0.0.1", show_default=True,
        help="Address the metrics server listens on.")(command)
    return click.option(
        "--metrics-port", type=click.IntRange(0, 65535), default=None, metavar="PORT",
        help="Serve Prometheus metrics on http://HOST:PORT/metrics (0: a free port, logged): runs "
             "by source and status, postings seen, events by kind and run durations, counted "
             "from the crawls this process runs (from zero at start), and each source's last "
             "success time, read from the database at each scrape.")(command)


def _serve_metrics(cfg: Config, host: str, port: int | None) -> Metrics | None:
    if port is None:
        return None
    metrics = Metrics(cfg.database_url)
    bound_host, bound_port = metrics.serve(host, port)
    logging.getLogger("jobdelta.metrics").info("metrics server listening on http://%s:%d/metrics",
                                               bound_host, bound_port)
    return metrics


@click.command("run-due")
@click.option("--jobs", "-j", default=1, show_default=True, type=click.IntRange(1, 1000),
              help="Due sources crawled at once, sharing crawl processes ([defaults] "
                   "crawl_processes, sources_per_process).")
@click.option("--queue", is_flag=True,
              help="Send each due source to the Celery queue ($JOBDELTA_BROKER_URL) instead of "
                   "crawling it here.")
@click.option("--verbose", "-v", is_flag=True, help="Show the crawl log on stderr.")
@click.pass_context
def run_due(ctx: click.Context, jobs: int, queue: bool, verbose: bool) -> None:
    """Crawl the sources whose schedule says they are due, then exit.

    A source is due when it never ran, or when its schedule fired since its
    last run started (cron expressions in UTC; "every N" counts from the
    last run start). Sources without a schedule and disabled sources are
    never due. Prints a summary per source like `crawl`; a source that
    another process is crawling is "skipped". Then sends the alerts that are
    due (digests too). Exits 1 when any crawl failed.
    SIGTERM or SIGINT stops the crawls (runs "aborted: interrupted") and
    exits 143 or 130.

    \b
    Example:
      */5 * * * *  cd /srv/jobdelta && .venv/bin/jobdelta run-due --jobs 4
    """
    from scheduler import launch
    from scheduler.due import schedule_status
    from scheduler.launch import exit_status

    cfg = _config(ctx)
    last_started = _last_started(cfg)
    now = datetime.now(UTC)
    status = schedule_status(cfg.sources, last_started)
    names = [d.source for d in status if d.is_due(now)]
    if not names:
        upcoming = sorted((d for d in status if d.due_at), key=lambda d: d.due_at)
        if upcoming:
            click.echo(f"no source is due; next: {upcoming[0].source} at "
                       f"{upcoming[0].due_at.isoformat()}", err=True)
        else:
            click.echo("no source is due: no enabled source has a schedule", err=True)
        return
    if queue:
        rows = launch.enqueue(cfg, names, queued_at=now)
        output.write(rows, "table", sys.stdout, ["source", "status", "task_id"])
        return
    from scheduler.alerts import send_after_runs

    json_logs = _log_format(ctx) == "json"
    if json_logs:
        setup_logging("json")
    log_runs = on_result(cfg.database_url, logger=logging.getLogger("jobdelta.run") if json_logs else None)
    with CrawlProgress(len(names), enabled=not json_logs) as progress:
        results = launch.run_sources(cfg, names, jobs=jobs, quiet=not verbose,
                                     on_result=lambda r: (progress(r), log_runs(r)))
    output.write([vars(r) for r in results], "table", sys.stdout, launch.SUMMARY_COLUMNS)
    send_after_runs(cfg)
    status = exit_status(results)  # 1 when any failed; 130/143 when SIGINT/SIGTERM stopped them
    if status:
        ctx.exit(status)


@click.command("daemon")
@click.option("--jobs", "-j", default=4, show_default=True, type=click.IntRange(1, 64),
              help="Crawls running at once (each thread keeps a crawl process between crawls).")
@click.option("--misfire-grace-time", default=300, show_default=True, type=click.IntRange(1, None),
              metavar="SECONDS", help="A fire this late (busy machine, sleep) is dropped, not run.")
@click.option("--queue", is_flag=True,
              help="Send each fire to the Celery queue ($JOBDELTA_BROKER_URL) for `jobdelta worker` "
                   "instead of crawling here.")
@click.option("--verbose", "-v", is_flag=True, help="Show the crawl log and debug messages on stderr.")
@_metrics_options
@click.pass_context
def daemon(ctx: click.Context, jobs: int, misfire_grace_time: int, queue: bool, verbose: bool,
           metrics_port: int | None, metrics_host: str) -> None:
    """Run every scheduled source on its schedule until stopped.

    One job per enabled source with a schedule; a source already due at
    start runs at once. A fire that comes while the source's crawl still
    runs is dropped; missed fires coalesce into one. Logs to stderr. On
    SIGTERM or SIGINT no new crawl starts, running crawls finish, and the
    daemon exits 0; a second signal exits at once. SIGHUP reloads the
    config (added, removed and rescheduled sources); a config with an error
    is refused with one log line and the old one kept.

    \b
    Example:
      jobdelta --config /etc/jobdelta.toml daemon --jobs 8
    """
    from scheduler.daemon import Daemon

    cfg = _config(ctx)
    last_started = _last_started(cfg)
    _log_to_stderr(verbose, _log_format(ctx))
    if not verbose:
        # our listeners log misfires and dropped fires in one line each;
        # APScheduler's own messages (and job tracebacks) only with --verbose
        # or when they are errors
        logging.getLogger("apscheduler").setLevel(logging.ERROR)
    log = logging.getLogger("jobdelta.daemon")
    metrics = _serve_metrics(cfg, metrics_host, metrics_port)
    # each crawl's one record ("crawl:SOURCE: status run=...") and its metrics
    finished = on_result(cfg.database_url, logger=log, prefix="crawl:",
                         observers=[metrics.observe] if metrics else [])
    daemon_ = Daemon(cfg, last_started, jobs=jobs, misfire_grace_time=misfire_grace_time,
                     queue=queue, verbose=verbose, load=load_config, on_result=finished)
    where = "to the Celery queue" if queue else f"here, {jobs} at a time"
    log.info("daemon started (pid %d): %d scheduled source(s), crawls run %s",
             os.getpid(), len(daemon_.jobs()), where)
    for job_id, first in daemon_.jobs():
        log.info("%s: first run at %s", job_id, first.isoformat() if first else "never")
    ctx.exit(daemon_.run())


@click.command("worker")
@click.option("--concurrency", "-c", default=1, show_default=True, type=click.IntRange(1, 1000),
              help="Crawls this worker runs at once (sharing [defaults] crawl_processes kept "
                   "crawl processes).")
@click.option("--loglevel", "-l", default="info", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"]), help="Worker log level.")
@_metrics_options
@click.pass_context
def worker(ctx: click.Context, concurrency: int, loglevel: str, metrics_port: int | None,
           metrics_host: str) -> None:
    """Take crawl runs from the Celery queue on Redis until stopped.

    Start one on each machine that should crawl; `run-due --queue` and
    `daemon --queue` fill the queue. The broker is $JOBDELTA_BROKER_URL
    (default redis://127.0.0.1:6379/0). Every task names its config file,
    which must exist at that path here, and the database must be shared
    (PostgreSQL): its lease keeps one run per source whichever worker takes
    it. SIGTERM finishes the running crawls, then exits. A crawl is stopped
    after $JOBDELTA_CRAWL_TIME_LIMIT seconds (default 7200); the task of a
    worker that died goes to another worker after that limit plus 60 s.

    \b
    Example:
      JOBDELTA_BROKER_URL=redis://queue.internal:6379/0 jobdelta worker --concurrency 4
    """
    from db.migrate import upgrade
    from scheduler.launch import RunSummary
    from scheduler.tasks import QUEUE, app, broker_url, crawl_source, safe_url

    cfg = _config(ctx)
    upgrade(cfg.database_url)
    # Celery's signals: the workers extra, which scheduler.tasks' import above checked
    from celery import signals

    json_logs = _log_format(ctx) == "json"
    if json_logs:
        setup_logging("json", getattr(logging, loglevel.upper()))
        # Celery leaves the logging alone when something handles this signal
        signals.setup_logging.connect(lambda **_kw: None, weak=False)
    metrics = _serve_metrics(cfg, metrics_host, metrics_port)
    finished = on_result(cfg.database_url, logger=logging.getLogger("jobdelta.run") if json_logs else None,
                         observers=[metrics.observe] if metrics else [])

    def task_done(task: object = None, retval: object = None, **_kw: object) -> None:
        if getattr(task, "name", "") == crawl_source.name and isinstance(retval, dict):
            finished(RunSummary(**retval))

    signals.task_postrun.connect(task_done, weak=False)
    started = (f"worker: taking crawl runs from {safe_url(broker_url())} (queue {QUEUE}), "
               f"{concurrency} at a time")
    if json_logs:
        logging.getLogger("jobdelta.worker").info(started)
    else:
        click.echo(started, err=True)
    # crawls run in the worker's kept crawl processes: a thread per task only waits
    app.worker_main(["worker", f"--concurrency={concurrency}", "--pool=threads",
                     f"--loglevel={loglevel.upper()}", f"--queues={QUEUE}",
                     f"--hostname=jobdelta-{os.getpid()}@%h"])
