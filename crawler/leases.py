"""Runs and their leases: one run per source at a time, across processes and
machines.

A run takes its source's lease with one conditional UPDATE and renews it at
every batch; a run left ``running`` by a process that died (its lease
expired, or its pid is gone from this host) is marked aborted when the next
run of the source starts. Functions take a session; the caller commits.
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from crawler.errors import LeaseHeld
from db.models import Run, Source
from db.vocab import RunStatus


def utcnow() -> datetime:
    """Now, in whole seconds: times are printed to the second, and a time
    copied from the output must find the versions valid at it."""
    return datetime.now(UTC).replace(microsecond=0)


def holder_id() -> str:
    """Who holds a lease: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def holder_is_dead(holder: str | None) -> bool:
    """True when the holder ran on this host and its process is gone."""
    if not holder or ":" not in holder:
        return False
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def ensure_source(session: Session, name: str, board: str, params: dict[str, Any]) -> Source:
    """The source row for a configured source, created or brought up to date."""
    src = session.scalar(select(Source).where(Source.name == name))
    if src is None:
        src = Source(name=name, board=board, params=params, created_at=utcnow())
        session.add(src)
        session.flush()
    elif src.board != board or src.params != params:
        src.board, src.params = board, params
    return src


def abort_stale_runs(session: Session, source_id: int, now: datetime) -> list[int]:
    """Mark runs that were left ``running`` by a process that died (its lease
    expired, or its process is gone from this host) as aborted, and free the
    lease. Returns the aborted run ids."""
    src = session.get(Source, source_id, with_for_update=True)
    aborted: list[int] = []
    for run in session.scalars(select(Run).where(Run.source_id == source_id, Run.status == RunStatus.RUNNING)):
        lease_is_theirs = src is not None and src.lease_run_id == run.id
        expired = lease_is_theirs and src.lease_expires_at is not None and src.lease_expires_at < now
        if not lease_is_theirs or expired or holder_is_dead(run.holder):
            run.status = RunStatus.ABORTED
            run.finished_at = now
            run.reason = f"aborted: process {run.holder} stopped before finishing the run"
            aborted.append(run.id)
            if lease_is_theirs:
                src.lease_run_id = src.lease_holder = src.lease_expires_at = None
    return aborted


def start_run(session: Session, source: Source, lease_seconds: int) -> Run:
    """Take the source's lease and open a run, or raise LeaseHeld.

    The lease is taken with one conditional UPDATE, so two processes (or
    machines) racing for it cannot both win."""
    now = utcnow()
    abort_stale_runs(session, source.id, now)
    me = holder_id()
    taken = session.execute(
        update(Source)
        .where(Source.id == source.id,
               or_(Source.lease_holder.is_(None), Source.lease_expires_at < now))
        .values(lease_holder=me, lease_expires_at=now + timedelta(seconds=lease_seconds),
                lease_run_id=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        holder = session.scalar(select(Source.lease_holder).where(Source.id == source.id))
        raise LeaseHeld(f"source {source.name!r} is being crawled by {holder}; try again later")
    run = Run(source_id=source.id, started_at=now, status=RunStatus.RUNNING, holder=me)
    session.add(run)
    session.flush()
    session.execute(update(Source).where(Source.id == source.id).values(lease_run_id=run.id)
                    .execution_options(synchronize_session=False))
    return run


def heartbeat(session: Session, source_id: int, run_id: int, lease_seconds: int) -> None:
    session.execute(
        update(Source).where(Source.id == source_id, Source.lease_run_id == run_id)
        .values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )


def release_lease(session: Session, source_id: int, run_id: int) -> None:
    session.execute(
        update(Source).where(Source.id == source_id, Source.lease_run_id == run_id)
        .values(lease_holder=None, lease_expires_at=None, lease_run_id=None)
        .execution_options(synchronize_session=False)
    )


def count_runs(session: Session, source_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Run).where(Run.source_id == source_id)) or 0
