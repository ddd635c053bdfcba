"""Prometheus metrics for ``jobdelta daemon`` and ``jobdelta worker``
(``--metrics-port``), served by prometheus_client on its own thread.

Crawls run in crawl processes, so the metrics come from two places, and
each says which:

- counted in this process, from each finished crawl's summary (the
  daemon's and a worker's ``on_result``): ``jobdelta_runs_total{source,
  status}``, ``jobdelta_postings_seen_total{source}``,
  ``jobdelta_events_total{source,kind}`` (new, changed, expired, reopened)
  and ``jobdelta_run_duration_seconds{source}``. They start at zero when the
  process starts and count the crawls this process ran: summed over a daemon
  and its workers they count every crawl once (a daemon with ``--queue``
  runs none; its workers do).
- read from the database at each scrape: ``jobdelta_last_success_timestamp_seconds
  {source}`` (when the source's latest complete run finished, whoever ran
  it, so it survives restarts) and ``jobdelta_database_up`` (0 when that
  read failed).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from db.engine import session_factory
from db.queries import last_complete
from scheduler.launch import RunSummary

log = logging.getLogger("jobdelta.metrics")

EVENT_KINDS = ("new", "changed", "expired", "reopened")
# a crawl takes seconds (a small API board) to an hour (a big HTML board)
DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, float("inf"))


class _Database(Collector):
    """The metrics read from the database at scrape time."""

    def __init__(self, database_url: str):
        self.database_url = database_url

    def collect(self) -> Iterator[Any]:
        last = GaugeMetricFamily("jobdelta_last_success_timestamp_seconds",
                                 "When the source's latest complete run finished (Unix time), "
                                 "read from the runs table", labels=["source"])
        up = GaugeMetricFamily("jobdelta_database_up", "1 when the database was read for this scrape")
        try:
            with session_factory(self.database_url)() as session:
                finished = last_complete(session)
        except Exception:  # a scrape must answer; the gauge says the read failed
            log.warning("metrics: the database was not read", exc_info=True)
            up.add_metric([], 0)
        else:
            up.add_metric([], 1)
            for source, at in sorted(finished.items()):
                last.add_metric([source], at.timestamp())
        yield last
        yield up


class Metrics:
    """The registry of one daemon or worker process."""

    def __init__(self, database_url: str):
        self.registry = CollectorRegistry()
        self.runs = Counter("jobdelta_runs", "Crawls this process ran, by source and run status "
                            "(skipped: another process held the source)", ["source", "status"],
                            registry=self.registry)
        self.seen = Counter("jobdelta_postings_seen", "Postings seen by the crawls this process ran",
                            ["source"], registry=self.registry)
        self.events = Counter("jobdelta_events", "Change events made by the crawls this process ran",
                              ["source", "kind"], registry=self.registry)
        self.duration = Histogram("jobdelta_run_duration_seconds",
                                  "Run duration (start to finish in the runs table) of the crawls "
                                  "this process ran", ["source"], buckets=DURATION_BUCKETS,
                                  registry=self.registry)
        self.registry.register(_Database(database_url))

    def observe(self, summary: RunSummary, duration: float | None) -> None:
        """Count one finished crawl."""
        status = summary.status.split(":", 1)[0]  # "aborted: interrupted" is an aborted run
        self.runs.labels(summary.source, status).inc()
        self.seen.labels(summary.source).inc(summary.seen)
        for kind in EVENT_KINDS:
            self.events.labels(summary.source, kind).inc(getattr(summary, kind))
        if duration is not None:
            self.duration.labels(summary.source).observe(duration)

    def serve(self, host: str, port: int) -> tuple[str, int]:
        """Serve /metrics on a thread of its own; returns the address bound
        (port 0 picks a free one)."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        bound_host, bound_port = server.server_address[:2]
        return str(bound_host), int(bound_port)
