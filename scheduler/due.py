"""Which sources are due for a crawl: the logic behind ``jobdelta run-due``.

Reads the configured sources (``SourceConfig.schedule``, ``enabled``) and,
from the runs table, when each source's last run started (any status: a
failed or aborted run still counts as the run for its slot, or a board that
keeps failing would be hammered on every cron tick).

A source is due when it never ran, or when a scheduled fire time falls after
its last run start and at or before now:

- cron: the first fire time of the expression (UTC, see
  ``scheduler.triggers``) after the last run start;
- ``every N``: the last run start plus N.

Sources without a schedule, and disabled sources, are never due.
Everything here except ``last_run_starts`` is pure and takes ``now``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawler.config import SourceConfig, parse_schedule
from db.models import Run, Source
from scheduler.triggers import cron_trigger


@dataclass(frozen=True)
class Due:
    """One scheduled source and when it falls due."""

    source: str
    schedule: str
    last_started: datetime | None
    due_at: datetime | None  # None: it never ran (due at once) or no fire time is left

    def is_due(self, now: datetime) -> bool:
        if self.last_started is None:
            return True
        return self.due_at is not None and self.due_at <= now


def next_due(schedule: str, last_started: datetime) -> datetime | None:
    """The first scheduled time after ``last_started``; None when the cron
    expression has no fire time left."""
    kind, value = parse_schedule(schedule)
    if kind == "interval":
        return last_started + timedelta(seconds=value)
    # strictly after: a run that started on the fire time itself served it
    return cron_trigger(value).get_next_fire_time(None, last_started + timedelta(microseconds=1))


def schedule_status(sources: Iterable[SourceConfig],
                    last_started: Mapping[str, datetime]) -> list[Due]:
    """Every enabled source with a schedule, with its last start and due time."""
    status = []
    for src in sources:
        if not src.enabled or not src.schedule:
            continue
        last = last_started.get(src.name)
        status.append(Due(src.name, src.schedule, last,
                          next_due(src.schedule, last) if last is not None else None))
    return status


def due_sources(sources: Iterable[SourceConfig], last_started: Mapping[str, datetime],
                now: datetime) -> list[str]:
    """The names of the sources due at ``now``, in config order."""
    return [d.source for d in schedule_status(sources, last_started) if d.is_due(now)]


def last_run_starts(session: Session) -> dict[str, datetime]:
    """Each source's latest run start, in one query. Sources that never ran
    are absent."""
    rows = session.execute(
        select(Source.name, func.max(Run.started_at))
        .join(Run, Run.source_id == Source.id)
        .group_by(Source.name)
    )
    return {name: started for name, started in rows if started is not None}
