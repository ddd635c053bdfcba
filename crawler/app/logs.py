"""Logging for the commands that crawl (``crawl``, ``run-due``, ``daemon``,
``worker``): records on stderr as text or as one JSON object a line
(``jobdelta --log-format json``), and one record per finished run.

A run's record carries its fields (source, run_id, status, seen, new,
changed, expired, reopened, reason, duration): as JSON keys in JSON, in the
message in text. ``duration`` is the run's own, from its start to its finish
in the runs table (None when the crawl got no run: skipped, or failed
before it started), so it means the same whichever process ran the crawl.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable

from pythonjsonlogger.json import JsonFormatter

from db.engine import session_factory
from db.queries import run_durations
from scheduler.launch import FAILED, RunSummary

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
RUN_FIELDS = ("source", "run_id", "status", "seen", "new", "changed", "expired", "reopened", "reason")

# what a finished run is handed to besides its log line: the metrics
Observer = Callable[[RunSummary, "float | None"], None]


def formatter(fmt: str) -> logging.Formatter:
    if fmt == "json":
        return JsonFormatter("{levelname}{name}{message}", style="{", timestamp="time",
                             rename_fields={"levelname": "level", "name": "logger"})
    return logging.Formatter(TEXT_FORMAT)


def setup_logging(fmt: str = "text", level: int = logging.INFO) -> None:
    """Every record of this process to stderr, in ``fmt`` (text or json)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # libraries' warnings (warnings.warn) become records too, not raw text
    logging.captureWarnings(fmt == "json")


def run_duration(database_url: str, run_id: int | None) -> float | None:
    """Seconds from the run's start to its finish; None without a finished run."""
    if run_id is None:
        return None
    with session_factory(database_url)() as session:
        return run_durations(session, [run_id]).get(run_id)


def log_run(logger: logging.Logger, summary: RunSummary, duration: float | None, prefix: str = "") -> None:
    """The run's one record: ERROR when it failed, else INFO."""
    fields = {k: getattr(summary, k) for k in RUN_FIELDS}
    fields["duration"] = round(duration, 3) if duration is not None else None
    took = f" in {duration:.1f}s" if duration is not None else ""
    logger.log(logging.ERROR if summary.status == FAILED else logging.INFO,
               "%s%s: %s run=%s seen=%s new=%s changed=%s expired=%s reopened=%s%s%s",
               prefix, summary.source, summary.status, summary.run_id, summary.seen, summary.new,
               summary.changed, summary.expired, summary.reopened, took,
               f" ({summary.reason})" if summary.reason else "", extra=fields)


def on_result(database_url: str, *, logger: logging.Logger | None = None, prefix: str = "",
              observers: Iterable[Observer] = ()) -> Callable[[RunSummary], None]:
    """A callback for each finished crawl (``run_sources(on_result=...)``,
    the daemon's, a worker's task): logs the run's record on ``logger``
    (none: no record) after handing the run and its duration to each
    observer, so a run's record means it is counted. The duration is read
    once, and only when something uses it."""
    observers = list(observers)

    def finished(summary: RunSummary) -> None:
        if logger is None and not observers:
            return
        try:
            duration = run_duration(database_url, summary.run_id)
        except Exception:  # the line and the counts matter more than the duration
            logging.getLogger("jobdelta.run").warning("run %s: duration not read", summary.run_id,
                                                      exc_info=True)
            duration = None
        for observe in observers:
            observe(summary, duration)
        # after the metrics: a run's line says it is counted
        if logger is not None:
            log_run(logger, summary, duration, prefix)

    return finished
