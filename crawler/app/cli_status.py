"""``jobdelta status``: is every source being crawled, and crawled well?
For a person, and for monitoring (the Docker HEALTHCHECK runs it).

Application layer, loaded by ``crawler.app.cli``'s group only when it runs.
It must stay cheap: the config is read without its board check (no spider
is imported), and the database is read in one query for the sources
(:func:`db.queries.source_overview`), two for the deliveries, and the
schema check.

An enabled source is unhealthy when it is

- failing: its latest run failed (``failures_in_row`` says how many in a row);
- suspicious: its count collapsed, and the drop waits to be confirmed by
  more runs or by ``jobdelta accept``;
- overdue: it has a schedule, it ran before, and not only its next
  scheduled time but the one after it has passed with no run started (a
  whole period missed: no daemon or cron runs it, or its crawl hangs).

A source that never ran is not unhealthy (it is due at once); a disabled
source never is. Exit status: 0 when every enabled source is healthy, 1 when
any is unhealthy, 2 when the config or the database cannot be read.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from crawler import output
from crawler.app.cli_common import ctx_config, open_session
from crawler.config import SourceConfig
from crawler.errors import JobdeltaError
from db.queries import delivery_counts, source_overview
from db.vocab import HealthState
from scheduler.due import next_due

HEALTHY, FAILING, SUSPICIOUS, OVERDUE = "ok", "failing", "suspicious", "overdue"
UNHEALTHY = (FAILING, SUSPICIOUS, OVERDUE)

SOURCE_COLUMNS = ["source", "health", "schedule", "next_run", "last_run", "last_status",
                  "failures_in_row", "suspicious_since", "open_postings", "reason"]
DELIVERY_COLUMNS = ["subscription", "pending", "sending", "sent", "failed", "disabled"]


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat(timespec="seconds") if value else None


def assess(sources: Iterable[SourceConfig], overview: Mapping[str, dict[str, Any]],
           now: datetime) -> list[dict[str, Any]]:
    """One row per configured source, then one per source the database
    knows but the config no longer has (``configured`` False, never
    unhealthy). ``health`` is ok, failing, suspicious, overdue, disabled or
    never ran."""
    rows = []
    configured = set()
    for src in sources:
        configured.add(src.name)
        seen = overview.get(src.name) or {}
        started = seen.get("last_started")
        next_run: datetime | None = None
        if src.schedule and started is not None:
            next_run = next_due(src.schedule, started)
        if not src.enabled:
            health, next_text = "disabled", "disabled"
        else:
            if seen.get("health") == HealthState.FAILING:
                health = FAILING
            elif seen.get("health") == HealthState.SUSPICIOUS:
                health = SUSPICIOUS
            elif next_run is not None and (after := next_due(src.schedule, next_run)) is not None \
                    and after <= now:
                health = OVERDUE
            elif started is None:
                health = "never ran"
            else:
                health = HEALTHY
            if not src.schedule:
                next_text = "by hand"
            elif started is None:
                next_text = "now (never ran)"
            else:
                next_text = _iso(next_run) if next_run else "no fire time left"
        rows.append(_row(src.name, True, src.enabled, health, src.schedule, next_text, seen))
    for name in sorted(set(overview) - configured):
        rows.append(_row(name, False, False, "not configured", None, None, overview[name]))
    return rows


def _row(name: str, configured: bool, enabled: bool, health: str, schedule: str | None,
         next_run: str | None, seen: Mapping[str, Any]) -> dict[str, Any]:
    reason = seen.get("health_reason") or (seen.get("last_reason") if health in UNHEALTHY else None)
    if health == OVERDUE:
        reason = f"no run started since {_iso(seen.get('last_started'))}; two scheduled times have passed"
    return {"source": name, "configured": configured, "enabled": enabled, "health": health,
            "healthy": health not in UNHEALTHY, "schedule": schedule, "next_run": next_run,
            "last_run": _iso(seen.get("last_run")), "last_run_id": seen.get("last_run_id"),
            "last_status": seen.get("last_status"), "last_finished": _iso(seen.get("last_finished")),
            "failures_in_row": seen.get("failures_in_row", 0),
            "suspicious_since": _iso(seen.get("since")) if seen.get("health") == HealthState.SUSPICIOUS
            else None,
            "failing_since": _iso(seen.get("since")) if seen.get("health") == HealthState.FAILING else None,
            "open_postings": seen.get("open_postings", 0), "reason": reason}


@click.command("status")
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table", show_default=True,
              help="Output format.")
@click.pass_context
def status(ctx: click.Context, fmt: str) -> None:
    """Each source's health, schedule and last run, and the alerts waiting
    or failed; exits 1 when a source is unhealthy.

    Per source: its health, schedule, next run, last run and its outcome,
    failures in a row, suspicious since, open postings. An enabled source
    is unhealthy when it is failing (its latest run failed), suspicious
    (its count collapsed and the drop waits to be confirmed, or accepted
    with `jobdelta accept`) or overdue (it ran before, and the scheduled
    time after its next one has passed too with no run started). A source
    that never ran, and a disabled one, are not unhealthy.

    Exit status: 0 when every enabled source is healthy, 1 when any is
    unhealthy, 2 when the config or the database cannot be read (one line
    on stderr). Cheap enough for a health check: it imports no spider and
    reads the database in a few small queries.

    \b
    Example:
      jobdelta status --format json
    """
    try:
        cfg = ctx_config(ctx, required=True)
        with open_session(cfg) as session:
            overview = source_overview(session)
            counts = delivery_counts(session)
    except (JobdeltaError, SQLAlchemyError) as exc:
        orig = getattr(exc, "orig", None) or exc
        lines = str(orig).strip().splitlines()
        where = "database: " if isinstance(exc, SQLAlchemyError) else ""
        click.echo(f"error: {where}{lines[0] if lines else type(orig).__name__}", err=True)
        ctx.exit(2)
    rows = assess(cfg.sources, overview, datetime.now(UTC))
    healthy = all(r["healthy"] for r in rows)
    if fmt == "json":
        output.write([{"healthy": healthy, "sources": rows, "deliveries": counts}], "json", sys.stdout, [])
    else:
        output.write(rows, "table", sys.stdout, SOURCE_COLUMNS)
        if counts:
            click.echo("")
            output.write(counts, "table", sys.stdout, DELIVERY_COLUMNS)
    if not healthy:
        bad = [f"{r['source']} ({r['health']})" for r in rows if not r["healthy"]]
        click.echo(f"unhealthy: {', '.join(bad)}", err=True)
        ctx.exit(1)
