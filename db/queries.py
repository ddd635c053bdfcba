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

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from db.models import Event, Posting, Role, RoleLink, Run, Source, Version
from db.vocab import EventKind


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
