"""Source health: how a source is doing, and a drop waiting to be confirmed.

A run that is suspicious (its count fell to half or less of the usual, or
its proof would expire too many postings at once) expires nothing; the drop
is kept in the source's health record as *pending*: the usual count, the
runs that showed it, and the postings missing (or proven gone) in every one
of them. A board that really shrank stays at its new level: after
``confirm_runs`` such runs in a row the drop is confirmed and those postings
expire, with a reason that says so; ``jobdelta accept SOURCE`` confirms at
once (:func:`accept`). A complete run at the usual level clears the drop.

The record also says since when a source is suspicious or failing, how
many runs failed in a row, and which problems are going on. Each problem
gives one notice when it starts and one when it ends (:func:`record`),
never one per run: ``failing`` after ``health_after`` failed runs in a row,
``blocked`` by a wall, ``suspicious`` while a drop waits, ``coverage_lost``
when a field every posting had is gone from all of them (a broken parser),
and a one-off ``shrink_confirmed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawler.alerts import outbox
from crawler.alerts.filters import Subscription
from crawler.errors import JobdeltaError, NotFound
from crawler.expiry import expire
from db.models import HealthNotice, Run, Source, SourceHealth
from db.vocab import HealthProblem, HealthState, NoticeState, RunStatus

SHRINK = "shrink"  # the count fell
STORM = "storm"  # proof against too many postings at once


def load(session: Session, source_id: int, now: datetime) -> SourceHealth:
    """The source's health record, created when missing."""
    health = session.get(SourceHealth, source_id)
    if health is None:
        health = SourceHealth(source_id=source_id, state=HealthState.OK, failures_in_row=0,
                              updated_at=now)
        session.add(health)
        session.flush()
    return health


def note_drop(health: SourceHealth, kind: str, run: Run, usual: float | None, seen: int,
              open_count: int, postings: dict[int, str]) -> dict[str, Any]:
    """Add a suspicious run to the pending drop (a new one when the kind
    changed) and return it. ``postings``: id -> what this run had against
    it; the pending set keeps those against which every run of the drop
    had something."""
    pending = dict(health.pending or {})
    if pending.get("kind") != kind:
        pending = {"kind": kind, "usual": usual, "open": open_count, "runs": [],
                   "first_started": run.started_at.isoformat(), "postings": {}}
        kept = {str(pid): reason for pid, reason in postings.items()}
    else:
        kept = {pid: reason for pid, reason in pending["postings"].items()
                if int(pid) in postings}
    pending["runs"] = [*pending["runs"], run.id]
    pending["seen"] = seen
    pending["postings"] = kept
    health.pending = pending
    return pending


def describe(pending: dict[str, Any]) -> str:
    """What the drop is, in words: 'board shrank from 10 to 4 postings' or
    'proof against 10 of 10 open postings at once'."""
    if pending["kind"] == SHRINK:
        return f"board shrank from {pending['usual']:g} to {pending['seen']} postings"
    return f"proof against {len(pending['postings'])} of {pending['open']} open postings at once"


def confirmed_reasons(pending: dict[str, Any], how: str) -> dict[int, str]:
    """The expiry reason of every posting of a confirmed drop."""
    n = len(pending["runs"])
    what = describe(pending)
    out: dict[int, str] = {}
    for pid, reason in pending["postings"].items():
        if pending["kind"] == SHRINK:
            out[int(pid)] = f"expired: missing from {n} complete run{'s' if n != 1 else ''}; {what}, {how}"
        else:
            out[int(pid)] = f"{reason}; {how} ({what})"
    return out


def confirm(health: SourceHealth, now: datetime, reason: str, baseline_after_run: int | None) -> None:
    """The drop is real: the board's usual count is made of the runs after
    ``baseline_after_run`` only."""
    health.pending = None
    health.confirmed_at = now
    health.confirmed_reason = reason
    health.baseline_after_run = baseline_after_run


def record(health: SourceHealth, status: str, reason: str | None, now: datetime,
           run_id: int | None = None, health_after: int = 3, confirmed: str | None = None,
           coverage: dict[str, bool] | None = None) -> list[dict[str, Any]]:
    """Move the source's state after a run of this status, and return the
    health notices this run starts or ends (rows for ``health_notices``).

    ``confirmed``: the reason of a drop this run confirmed. ``coverage``:
    field -> True when its coverage fell to zero in this run, False when it
    is back (fields not named are left as they are)."""
    health.updated_at = now
    if status == RunStatus.ABORTED:
        return []
    problems = dict(health.problems or {})
    notices: list[dict[str, Any]] = []

    def start(key: str, problem: str, why: str) -> None:
        if key not in problems:
            problems[key] = now.isoformat()
            notices.append(_notice(health, problem, NoticeState.STARTED, why, now, run_id))

    def end(key: str, problem: str, why: str) -> None:
        if problems.pop(key, None) is not None:
            notices.append(_notice(health, problem, NoticeState.RECOVERED, why, now, run_id))

    if status == RunStatus.FAILED:
        health.failures_in_row = (health.failures_in_row or 0) + 1
        state = HealthState.FAILING
        if (reason or "").startswith("blocked:"):
            start(HealthProblem.BLOCKED, HealthProblem.BLOCKED, reason or "blocked")
        if health.failures_in_row >= health_after:
            start(HealthProblem.FAILING, HealthProblem.FAILING,
                  f"{health.failures_in_row} runs in a row failed; the last: {reason}")
    else:
        ran = f"a {status} run read the board again"
        end(HealthProblem.FAILING, HealthProblem.FAILING, ran)
        end(HealthProblem.BLOCKED, HealthProblem.BLOCKED, ran)
        health.failures_in_row = 0
        state = HealthState.SUSPICIOUS if health.pending else HealthState.OK
        if health.pending:
            start(HealthProblem.SUSPICIOUS, HealthProblem.SUSPICIOUS, reason or "suspicious run")
        else:
            end(HealthProblem.SUSPICIOUS, HealthProblem.SUSPICIOUS,
                confirmed or "the board is back at its usual count")
        for field_name, lost in (coverage or {}).items():
            key = f"{HealthProblem.COVERAGE_LOST}:{field_name}"
            if lost:
                start(key, HealthProblem.COVERAGE_LOST,
                      f"no posting has {field_name} any more, though the board's postings had it "
                      f"(a changed page layout or a broken parser?)")
            else:
                end(key, HealthProblem.COVERAGE_LOST, f"postings have {field_name} again")
    if confirmed:
        notices.append(_notice(health, HealthProblem.SHRINK_CONFIRMED, NoticeState.STARTED, confirmed,
                               now, run_id))
    if state != health.state:
        health.since = now if state != HealthState.OK else None
    health.state = state
    health.reason = reason if state != HealthState.OK else None
    health.problems = problems or None
    return notices


def _notice(health: SourceHealth, problem: str, state: str, reason: str, now: datetime,
            run_id: int | None) -> dict[str, Any]:
    return {"source_id": health.source_id, "problem": problem, "state": state, "at": now,
            "reason": reason[:2000], "run_id": run_id}


def write_notices(session: Session, notices: list[dict[str, Any]]) -> list[int]:
    """Insert notices; returns their ids, in order."""
    ids = []
    for row in notices:
        notice = HealthNotice(**row)
        session.add(notice)
        session.flush()
        ids.append(notice.id)
    return ids


def accept(session: Session, source_name: str, now: datetime,
           subscriptions: Sequence[Subscription] = ()) -> tuple[str, int]:
    """Confirm a source's pending drop now (``jobdelta accept``): the
    postings it holds expire and the count restarts from here. Refused
    while a run of the source holds its lease. Returns what was accepted and
    how many postings expired."""
    source = session.scalar(select(Source).where(Source.name == source_name).with_for_update())
    if source is None:
        raise NotFound(f"no source {source_name!r} in the database (has it been crawled?)")
    if source.lease_holder is not None and source.lease_expires_at and source.lease_expires_at > now:
        raise JobdeltaError(f"source {source_name!r} is being crawled by {source.lease_holder}; "
                            f"accept once that run has finished")
    health = session.get(SourceHealth, source.id)
    if health is None or not health.pending:
        raise JobdeltaError(f"source {source_name!r} has no drop waiting to be confirmed")
    pending = health.pending
    n = len(pending["runs"])
    how = f"accepted with jobdelta accept after {n} run{'s' if n != 1 else ''}"
    expired = expire(session, source.id, pending["runs"][-1], confirmed_reasons(pending, how), now)
    what = describe(pending)
    latest = session.scalar(select(func.max(Run.id)).where(Run.source_id == source.id))
    confirm(health, now, f"{what}, {how}", latest)
    problems = dict(health.problems or {})
    notices = [_notice(health, HealthProblem.SHRINK_CONFIRMED, NoticeState.STARTED, f"{what}, {how}",
                       now, None)]
    if problems.pop(HealthProblem.SUSPICIOUS, None) is not None:
        notices.insert(0, _notice(health, HealthProblem.SUSPICIOUS, NoticeState.RECOVERED,
                                  f"{what}, {how}", now, None))
    health.problems = problems or None
    if health.state == HealthState.SUSPICIOUS:
        health.state, health.since, health.reason = HealthState.OK, None, None
    health.updated_at = now
    ids = write_notices(session, notices)
    if subscriptions:
        alerts = outbox.expiry_events(session, expired, now)
        outbox.enqueue(session, subscriptions, [*alerts, *outbox.notices(session, ids)], now)
    return what, len(expired)
