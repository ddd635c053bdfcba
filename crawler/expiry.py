"""When postings expire, and on what evidence; closing-soon notices.

The rules of DESIGN.md, each in one function that takes a session and
returns what it found (none commits):

- *absence*: a posting missing from ``expire_after_runs`` consecutive
  complete runs (:func:`missing`);
- *proof* about one posting: its page answered 404/410 or says it no longer
  takes applications (:func:`proven_gone`), or its deadline passed
  (:func:`past_deadline`);
- a run is *suspicious*, and expires nothing, when its count falls to half
  or less of the usual count (:func:`usual_count`, :func:`count_collapsed`)
  or when proof would expire more than that share of the open postings at
  once (:func:`proof_storm`).

:func:`expire` writes the expiry of chosen postings: their current version
closed, the posting marked, one event each with its reason.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.orm import Session

from crawler.changes import closing_threshold, days_until
from crawler.items import as_instant
from db.models import Event, Posting, Run, Version, posting_facets
from db.vocab import EventKind, PostingStatus, RunStatus


@dataclass
class Policy:
    """The expiry, closing and lease settings of a run ([defaults] in the config)."""

    expire_after_runs: int = 2
    closing_days: list[int] = field(default_factory=lambda: [7, 1])
    expire_on_deadline: bool = True
    suspicious_drop: float = 0.5
    suspicious_window: int = 5
    confirm_runs: int = 3
    health_after: int = 3  # failed runs in a row before a "failing" health notice
    lease_seconds: int = 300


def event_row(kind: str, source_id: int, run_id: int | None, posting_id: int, data: dict[str, Any],
              now: datetime, reason: str, changes: list[dict[str, Any]] | None = None,
              dedupe_key: str | None = None) -> dict[str, Any]:
    """One row of the events table."""
    facets = posting_facets(data)
    return {"kind": kind, "source_id": source_id, "posting_id": posting_id,
            "external_id": data.get("external_id"), "title": data.get("title"), "at": now,
            "run_id": run_id, "reason": reason, "changes": changes, "posting": data,
            "dedupe_key": dedupe_key, "company": facets["company"],
            "workplace_type": facets["workplace_type"], "countries": facets["countries"]}


# --------------------------------------------------------------------------- the count


def usual_count(session: Session, source_id: int, run_id: int, window: int,
                baseline_after_run: int | None) -> float | None:
    """The count a run is compared with: the median of the recent complete
    runs, raised (never lowered) by what recent partial runs saw, since a
    partial run's count is only a floor of the board's size. Suspicious runs
    never count, or a collapse would soon pass for the new normal; runs up
    to ``baseline_after_run`` (before a confirmed drop) no longer do either."""
    def recent(status: str) -> list[int]:
        q = select(Run.seen).where(Run.source_id == source_id, Run.id != run_id, Run.status == status)
        if baseline_after_run is not None:
            q = q.where(Run.id > baseline_after_run)
        return list(session.scalars(q.order_by(Run.id.desc()).limit(window)))

    complete, floors = recent(RunStatus.COMPLETE), recent(RunStatus.PARTIAL)
    usual = statistics.median(complete) if complete else None
    if floors and (usual is None or max(floors) > usual):
        usual = max(floors)
    return usual


def count_collapsed(seen: int, usual: float | None, drop: float) -> bool:
    """True when ``seen`` fell to ``1 - drop`` of the usual count or less (to
    half or less with the default 0.5)."""
    return bool(usual) and seen <= usual * (1 - drop)


def proof_storm(proven: int, open_count: int, drop: float) -> bool:
    """True when proof would expire more than ``drop`` of the open postings at
    once: a redeploy or a WAF answering 404 everywhere, not a board closing
    its postings one by one."""
    return open_count > 0 and proven > open_count * drop


def open_ids(session: Session, source_id: int) -> set[int]:
    return set(session.scalars(select(Posting.id).where(
        Posting.source_id == source_id, Posting.status == PostingStatus.OPEN)))


def not_seen_in(session: Session, source_id: int, run_id: int) -> set[int]:
    """Open postings the run did not see."""
    return set(session.scalars(select(Posting.id).where(
        Posting.source_id == source_id, Posting.status == PostingStatus.OPEN,
        or_(Posting.last_seen_run_id.is_(None), Posting.last_seen_run_id != run_id))))


# --------------------------------------------------------------------------- evidence


def proven_gone(session: Session, source_id: int,
                gone: list[tuple[str | None, str | None, str]],
                open_by_external_id: Mapping[str, int], seen: set[str]) -> dict[int, str]:
    """Postings the run has proof against: ``gone`` holds (external id or
    None, page URL or None, what the page said). A posting the same run also
    saw is not gone."""
    found: dict[int, str] = {}
    by_url: dict[str, str] = {}
    for ext, url, reason in gone:
        if ext:
            pid = open_by_external_id.get(ext)
            if pid is not None and ext not in seen:
                found[pid] = f"expired: {reason}"
        elif url:
            by_url[url] = reason
    if by_url:
        for pid, ext, url in session.execute(
                select(Posting.id, Posting.external_id, Posting.url).where(
                    Posting.source_id == source_id, Posting.status == PostingStatus.OPEN,
                    Posting.url.in_(list(by_url)))):
            if ext not in seen:
                found[pid] = f"expired: {by_url[url]}"
    return found


def past_deadline(session: Session, source_id: int, now: datetime) -> dict[int, str]:
    """Open postings whose deadline has passed."""
    rows = session.execute(select(Posting.id, Posting.deadline).where(
        Posting.source_id == source_id, Posting.status == PostingStatus.OPEN,
        Posting.deadline.is_not(None)))
    return {pid: f"expired: deadline passed ({dl})" for pid, dl in rows
            if (left := days_until(dl, now)) is not None and left < 0}


def missing(session: Session, source_id: int, run_id: int, after_runs: int) -> dict[int, str]:
    """Count one more missing run for every open posting this complete run
    did not see; those missing from ``after_runs`` runs in a row are due."""
    not_seen = (Posting.source_id == source_id) & (Posting.status == PostingStatus.OPEN) & or_(
        Posting.last_seen_run_id.is_(None), Posting.last_seen_run_id != run_id)
    session.execute(update(Posting).where(not_seen).values(missing_runs=Posting.missing_runs + 1)
                    .execution_options(synchronize_session=False))
    rows = session.execute(select(Posting.id, Posting.missing_runs)
                           .where(not_seen, Posting.missing_runs >= after_runs))
    return {pid: f"expired: missing from {m} consecutive complete run{'s' if m != 1 else ''}"
            for pid, m in rows}


# --------------------------------------------------------------------------- writing


def expire(session: Session, source_id: int, run_id: int | None, reasons: Mapping[int, str],
           now: datetime) -> list[int]:
    """Expire the given postings (id -> reason) that are still open: close the
    current version, mark the posting, record the event with its last
    content. Returns the ids expired."""
    if not reasons:
        return []
    ids = list(session.scalars(select(Posting.id).where(
        Posting.id.in_(list(reasons)), Posting.status == PostingStatus.OPEN)))
    if not ids:
        return []
    data = dict(session.execute(
        select(Version.posting_id, Version.data)
        .where(Version.posting_id.in_(ids), Version.valid_to.is_(None))).all())
    session.execute(update(Version).where(Version.posting_id.in_(ids), Version.valid_to.is_(None))
                    .values(valid_to=now).execution_options(synchronize_session=False))
    session.execute(update(Posting), [
        {"id": pid, "status": PostingStatus.EXPIRED, "expired_at": now, "expired_reason": reasons[pid]}
        for pid in ids])
    session.execute(insert(Event), [
        event_row(EventKind.EXPIRED, source_id, run_id, pid, data.get(pid, {}), now, reasons[pid])
        for pid in ids])
    return ids


def closing_notices(session: Session, source_id: int, run_id: int, thresholds: list[int],
                    now: datetime) -> int:
    """Closing-soon notices: once per posting, threshold and deadline (the
    deadline as an instant, so the same moment in another offset sends
    nothing again). Returns how many were sent."""
    if not thresholds:
        return 0
    rows = session.execute(select(Posting.id, Posting.deadline).where(
        Posting.source_id == source_id, Posting.status == PostingStatus.OPEN,
        Posting.deadline.is_not(None))).all()
    due = {pid: (dl, t) for pid, dl in rows
           if (t := closing_threshold(dl, now, thresholds)) is not None}
    if not due:
        return 0
    sent = set(session.scalars(select(Event.dedupe_key).where(
        Event.kind == EventKind.CLOSING, Event.posting_id.in_(list(due)))))
    data = dict(session.execute(select(Version.posting_id, Version.data).where(
        Version.posting_id.in_(list(due)), Version.valid_to.is_(None))).all())
    events = []
    for pid, (dl, t) in due.items():
        key = as_instant(dl)
        # a notice at this threshold or a tighter one was already sent
        if any(f"closing:{pid}:{key}:{u}" in sent for u in thresholds if u <= t):
            continue
        left = days_until(dl, now) or 0.0
        when = "today" if left < 1 else f"in {int(left)} day{'s' if int(left) != 1 else ''}"
        events.append(event_row(
            EventKind.CLOSING, source_id, run_id, pid, data.get(pid, {}), now,
            f"closing: deadline {dl} is {when} (within {t} day{'s' if t != 1 else ''})",
            dedupe_key=f"closing:{pid}:{key}:{t}"))
    if events:
        session.execute(insert(Event), events)
    return len(events)
