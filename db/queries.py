"""Read queries: changes, postings as of a moment, a posting's history, runs,
and roles (one job seen as postings on several boards).

Each function takes a session and returns plain dicts in the public field
names of DESIGN.md; none opens or commits a session. Diffs are read as the
events stored them, never recomputed here: the stored event is the truth.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, inspect, or_, select
from sqlalchemy.orm import Session

from db.models import (
    Cursor,
    Delivery,
    Event,
    HealthNotice,
    Posting,
    Role,
    RoleLink,
    Run,
    Source,
    SourceHealth,
    SubscriptionState,
    Version,
)
from db.vocab import DeliveryStatus, EventKind, PostingStatus, RunStatus


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def event_dict(event: Event, source: str) -> dict[str, Any]:
    return {"id": event.id, "kind": event.kind, "source": source, "external_id": event.external_id,
            "title": event.title, "at": _iso(event.at), "run_id": event.run_id,
            "reason": event.reason, "changes": event.changes, "posting": event.posting}


def changes(session: Session, since: datetime | None = None, until: datetime | None = None,
            sources: list[str] | None = None, kinds: list[str] | None = None,
            run_id: int | None = None) -> Iterator[dict[str, Any]]:
    """Events, oldest first."""
    q = select(Event, Source.name).join(Source, Source.id == Event.source_id)
    if since:
        q = q.where(Event.at >= since)
    if until:
        q = q.where(Event.at <= until)
    if sources:
        q = q.where(Source.name.in_(sources))
    if kinds:
        q = q.where(Event.kind.in_(kinds))
    if run_id is not None:
        q = q.where(Event.run_id == run_id)
    for event, name in session.execute(q.order_by(Event.at, Event.id)).yield_per(1000):
        yield event_dict(event, name)


def _posting_row(version: Version, source: str, status: str) -> dict[str, Any]:
    row = dict(version.data)
    row["source"] = source
    row.update({"status": status, "version": version.version,
                "valid_from": _iso(version.valid_from), "valid_to": _iso(version.valid_to)})
    return row


def postings_at(session: Session, at: datetime, sources: list[str] | None = None,
                status: str = "open") -> Iterator[dict[str, Any]]:
    """Postings as they stood at ``at``: for each, the version valid then.

    ``open``: a version was valid at ``at`` (one indexed range query).
    ``expired``: the posting had appeared by ``at`` but no version was valid.
    ``all``: both."""
    if status not in ("open", "expired", "all"):
        raise ValueError(f"unknown status {status!r}")
    valid = and_(Version.valid_from <= at, or_(Version.valid_to.is_(None), Version.valid_to > at))
    q: Select[Any]
    if status == "open":
        q = select(Version, Source.name).join(Source, Source.id == Version.source_id).where(valid)
    else:
        latest = (select(Version.posting_id, func.max(Version.version).label("v"))
                  .where(Version.valid_from <= at).group_by(Version.posting_id).subquery())
        q = (select(Version, Source.name)
             .join(latest, and_(latest.c.posting_id == Version.posting_id, latest.c.v == Version.version))
             .join(Source, Source.id == Version.source_id))
        if status == "expired":
            q = q.where(~valid)
    if sources:
        q = q.where(Source.name.in_(sources))
    q = q.order_by(Source.name, Version.posting_id)
    for version, name in session.execute(q).yield_per(1000):
        is_open = version.valid_from <= at and (version.valid_to is None or version.valid_to > at)
        yield _posting_row(version, name, "open" if is_open else "expired")


def find_posting(session: Session, source: str, external_id: str) -> Posting | None:
    return session.scalar(select(Posting).join(Source, Source.id == Posting.source_id)
                          .where(Source.name == source, Posting.external_id == external_id))


def history(session: Session, source: str, external_id: str) -> list[dict[str, Any]] | None:
    """Every version of one posting, oldest first, each with its validity and
    the field-level diff to the version before (the ``changes`` of the
    changed or reopened event that opened it); None when there is no such
    posting."""
    posting = find_posting(session, source, external_id)
    if posting is None:
        return None
    versions = session.scalars(select(Version).where(Version.posting_id == posting.id)
                               .order_by(Version.version)).all()
    diffs = dict(session.execute(
        select(Event.at, Event.changes).where(
            Event.posting_id == posting.id,
            Event.kind.in_((EventKind.CHANGED, EventKind.REOPENED)))).all())
    return [{"version": v.version, "valid_from": _iso(v.valid_from), "valid_to": _iso(v.valid_to),
             "content_hash": v.content_hash, "posting": v.data,
             "changes": (diffs.get(v.valid_from) or []) if v.version > 1 else None}
            for v in versions]


def run_dict(run: Run, source: str) -> dict[str, Any]:
    return {"id": run.id, "source": source, "started_at": _iso(run.started_at),
            "finished_at": _iso(run.finished_at), "status": run.status, "seen": run.seen,
            "new": run.new, "changed": run.changed, "expired": run.expired, "reason": run.reason}


def runs(session: Session, sources: list[str] | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The most recent runs, newest first."""
    q = select(Run, Source.name).join(Source, Source.id == Run.source_id)
    if sources:
        q = q.where(Source.name.in_(sources))
    rows = session.execute(q.order_by(Run.started_at.desc(), Run.id.desc()).limit(limit)).all()
    return [run_dict(r, name) for r, name in rows]


def roles(session: Session, sources: list[str] | None = None,
          status: str = "open") -> list[dict[str, Any]]:
    """One row per role, oldest role first: its company and title, the
    sources and boards it is seen on, and its postings (each with its link
    confidence and reason). ``sources`` keeps the roles with a posting in
    one of them (all of the role's postings are listed). ``open``: roles
    with an open posting; ``expired``: roles whose postings all expired;
    ``all``: both. ``confidence`` is the weakest link of the role."""
    if status not in ("open", "expired", "all"):
        raise ValueError(f"unknown status {status!r}")
    q = (select(Role, RoleLink, Posting.external_id, Posting.status, Posting.title, Posting.url,
                Source.name, Source.board)
         .join(RoleLink, RoleLink.role_id == Role.id)
         .join(Posting, Posting.id == RoleLink.posting_id)
         .join(Source, Source.id == Posting.source_id))
    if sources:
        chosen = (select(RoleLink.role_id).join(Posting, Posting.id == RoleLink.posting_id)
                  .join(Source, Source.id == Posting.source_id).where(Source.name.in_(sources)))
        q = q.where(Role.id.in_(chosen))
    out: dict[int, dict[str, Any]] = {}
    for role, link, external_id, posting_status, title, url, source, board in session.execute(
            q.order_by(Role.id, RoleLink.posting_id)):
        row = out.setdefault(role.id, {
            "role_id": role.id, "company": role.company, "title": role.title, "status": "expired",
            "sources": [], "boards": [], "postings": [], "confidence": 1.0})
        if posting_status == "open":
            row["status"] = "open"
        if source not in row["sources"]:
            row["sources"].append(source)
        if board not in row["boards"]:
            row["boards"].append(board)
        row["confidence"] = min(row["confidence"], link.confidence)
        row["postings"].append({"source": source, "external_id": external_id, "title": title,
                                "status": posting_status, "url": url,
                                "confidence": link.confidence, "reason": link.reason})
    return [row for row in out.values() if status == "all" or row["status"] == status]


def latest_events(session: Session, n: int) -> list[dict[str, Any]]:
    """The ``n`` newest events, oldest first."""
    rows = session.execute(select(Event, Source.name).join(Source, Source.id == Event.source_id)
                           .order_by(Event.id.desc()).limit(n)).all()
    return [event_dict(event, name) for event, name in reversed(rows)]


def events_after(session: Session, after_id: int, sources: list[str] | None = None,
                 kinds: list[str] | None = None) -> Iterator[dict[str, Any]]:
    """Events with an id above ``after_id``, oldest first (a cursor's news)."""
    q = select(Event, Source.name).join(Source, Source.id == Event.source_id).where(Event.id > after_id)
    if sources:
        q = q.where(Source.name.in_(sources))
    if kinds:
        q = q.where(Event.kind.in_(kinds))
    for event, name in session.execute(q.order_by(Event.id)).yield_per(1000):
        yield event_dict(event, name)


def cursor_position(session: Session, name: str) -> int:
    """The last event id a named cursor has shown (0 when it is new)."""
    return session.scalar(select(Cursor.event_id).where(Cursor.name == name)) or 0


def move_cursor(session: Session, name: str, event_id: int, now: datetime) -> None:
    cursor = session.get(Cursor, name)
    if cursor is None:
        session.add(Cursor(name=name, event_id=event_id, updated_at=now))
    elif event_id > cursor.event_id:
        cursor.event_id, cursor.updated_at = event_id, now


def deliveries(session: Session, status: str | None = None, subscription: str | None = None,
               limit: int = 50) -> list[dict[str, Any]]:
    """Deliveries, newest first, with what each carries."""
    q = (select(Delivery, Event.kind, Event.title, HealthNotice.problem, HealthNotice.state,
                Source.name)
         .outerjoin(Event, Event.id == Delivery.event_id)
         .outerjoin(HealthNotice, HealthNotice.id == Delivery.notice_id)
         .outerjoin(Source, Source.id == func.coalesce(Event.source_id, HealthNotice.source_id)))
    if status:
        q = q.where(Delivery.status == status)
    if subscription:
        q = q.where(Delivery.subscription == subscription)
    rows = session.execute(q.order_by(Delivery.id.desc()).limit(limit)).all()
    return [{"id": d.id, "subscription": d.subscription, "channel": d.channel, "status": d.status,
             "kind": kind or "health", "source": source,
             "title": title if kind else f"{problem} {state}", "event_id": d.event_id,
             "notice_id": d.notice_id, "attempts": d.attempts, "created_at": _iso(d.created_at),
             "next_attempt_at": _iso(d.next_attempt_at), "sent_at": _iso(d.sent_at),
             "last_error": d.last_error}
            for d, kind, title, problem, state, source in rows]


def delivery_counts(session: Session) -> list[dict[str, Any]]:
    """Per subscription: deliveries by status, and whether it is switched off."""
    out: dict[str, dict[str, Any]] = {}
    for name, status, n in session.execute(
            select(Delivery.subscription, Delivery.status, func.count())
            .group_by(Delivery.subscription, Delivery.status)):
        row = out.setdefault(name, {"subscription": name, **{s.value: 0 for s in DeliveryStatus},
                                    "disabled": None})
        row[status] = n
    for state in session.scalars(select(SubscriptionState).where(SubscriptionState.disabled_at.is_not(None))):
        row = out.setdefault(state.name, {"subscription": state.name,
                                          **{s.value: 0 for s in DeliveryStatus}, "disabled": None})
        row["disabled"] = f"{_iso(state.disabled_at)}: {state.disabled_reason}"
    return [out[k] for k in sorted(out)]


def source_status(session: Session) -> list[dict[str, Any]]:
    """Every source's health and its last run."""
    last = (select(Run.source_id, func.max(Run.id).label("run_id")).group_by(Run.source_id).subquery())
    rows = session.execute(
        select(Source.name, SourceHealth, Run)
        .outerjoin(SourceHealth, SourceHealth.source_id == Source.id)
        .outerjoin(last, last.c.source_id == Source.id)
        .outerjoin(Run, Run.id == last.c.run_id)
        .order_by(Source.name)).all()
    return [{"source": name, "health": health.state if health else "ok",
             "since": _iso(health.since) if health else None,
             "failures_in_row": health.failures_in_row if health else 0,
             "problems": ", ".join(sorted(health.problems or {})) if health else "",
             "pending_drop": health.pending if health else None,
             "confirmed_at": _iso(health.confirmed_at) if health else None,
             "last_status": run.status if run else None,
             "last_run": _iso(run.started_at) if run else None,
             "reason": (health.reason if health and health.reason else (run.reason if run else None))}
            for name, health, run in rows]



def has_schema(session: Session) -> bool:
    """True when the database has jobdelta's schema (a migration was
    applied); read without loading Alembic, which costs the read commands
    more than their query."""
    return inspect(session.connection()).has_table("alembic_version")


def source_overview(session: Session) -> dict[str, dict[str, Any]]:
    """In one query, per source in the database: its health record, its
    latest run (by id) and when its latest run started, and how many of
    its postings are open."""
    last = (select(Run.source_id, func.max(Run.id).label("run_id"),
                   func.max(Run.started_at).label("started"))
            .group_by(Run.source_id).subquery())
    open_ = (select(Posting.source_id, func.count().label("n"))
             .where(Posting.status == PostingStatus.OPEN).group_by(Posting.source_id).subquery())
    rows = session.execute(
        select(Source.name, SourceHealth, Run, last.c.started, open_.c.n)
        .outerjoin(SourceHealth, SourceHealth.source_id == Source.id)
        .outerjoin(last, last.c.source_id == Source.id)
        .outerjoin(Run, Run.id == last.c.run_id)
        .outerjoin(open_, open_.c.source_id == Source.id)).all()
    return {name: {"health": health.state if health else "ok",
                   "since": health.since if health else None,
                   "failures_in_row": health.failures_in_row if health else 0,
                   "health_reason": health.reason if health else None,
                   "last_run_id": run.id if run else None,
                   "last_status": run.status if run else None,
                   "last_run": run.started_at if run else None,
                   "last_finished": run.finished_at if run else None,
                   "last_reason": run.reason if run else None,
                   "last_started": started,
                   "open_postings": n or 0}
            for name, health, run, started, n in rows}


def last_complete(session: Session) -> dict[str, datetime]:
    """When each source's latest complete run finished (sources without one
    are absent)."""
    rows = session.execute(
        select(Source.name, func.max(Run.finished_at)).join(Run, Run.source_id == Source.id)
        .where(Run.status == RunStatus.COMPLETE).group_by(Source.name))
    return {name: at for name, at in rows if at is not None}


def run_durations(session: Session, run_ids: list[int]) -> dict[int, float]:
    """Seconds from start to finish of each finished run among ``run_ids``."""
    rows = session.execute(select(Run.id, Run.started_at, Run.finished_at)
                           .where(Run.id.in_(run_ids), Run.finished_at.is_not(None)))
    return {rid: (finished - started).total_seconds() for rid, started, finished in rows}
