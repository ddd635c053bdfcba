"""The outbox: one delivery row per alert and subscription, written in the
same transaction as the event or health notice that causes it, so a crash
can neither lose a delivery nor invent one.

Reads the alert (an event as ``db.queries.event_dict`` gives it, or a
health notice) and every subscription's filters (:mod:`crawler.alerts.filters`).
A unique key per (subscription, event) and (subscription, notice) makes
writing twice harmless.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from crawler.alerts.filters import Subscription, judge
from db.models import Delivery, Event, HealthNotice, Source
from db.queries import event_dict
from db.vocab import DeliveryStatus, EventKind


def notice_dict(notice: HealthNotice, source: str | None) -> dict[str, Any]:
    """A health notice as an alert (see :mod:`crawler.alerts`)."""
    return {"id": notice.id, "kind": "health", "source": source, "at": notice.at.isoformat(),
            "problem": notice.problem, "state": notice.state, "reason": notice.reason,
            "run_id": notice.run_id, "subscription": notice.subscription}


def enqueue(session: Session, subscriptions: Sequence[Subscription], alerts: Sequence[dict[str, Any]],
            now: datetime) -> int:
    """Write a pending delivery for every alert and every subscription whose
    filters let it through. Returns how many were written."""
    rows = []
    for alert in alerts:
        cause = {"notice_id": alert["id"], "event_id": None} if alert["kind"] == "health" else \
            {"event_id": alert["id"], "notice_id": None}
        for sub in subscriptions:
            if alert["kind"] == "health" and alert.get("subscription") == sub.name:
                continue  # a subscription is not told through itself that it was switched off
            if judge(alert, sub).passes:
                rows.append({"subscription": sub.name, "channel": sub.channel, **cause,
                             "status": DeliveryStatus.PENDING, "created_at": now, "attempts": 0})
    if rows:
        session.execute(insert(Delivery), rows)
    return len(rows)


def run_events(session: Session, run_id: int, after_id: int) -> list[dict[str, Any]]:
    """The run's events with an id above ``after_id``, oldest first, as alerts."""
    rows = session.execute(
        select(Event, Source.name).join(Source, Source.id == Event.source_id)
        .where(Event.run_id == run_id, Event.id > after_id).order_by(Event.id))
    return [event_dict(event, name) for event, name in rows]


def expiry_events(session: Session, posting_ids: Sequence[int], at: datetime) -> list[dict[str, Any]]:
    """The expired events written at ``at`` for these postings, as alerts."""
    if not posting_ids:
        return []
    rows = session.execute(
        select(Event, Source.name).join(Source, Source.id == Event.source_id)
        .where(Event.posting_id.in_(list(posting_ids)), Event.kind == EventKind.EXPIRED, Event.at == at)
        .order_by(Event.id))
    return [event_dict(event, name) for event, name in rows]


def notices(session: Session, ids: Sequence[int]) -> list[dict[str, Any]]:
    """Health notices by id, as alerts."""
    if not ids:
        return []
    rows = session.execute(
        select(HealthNotice, Source.name).outerjoin(Source, Source.id == HealthNotice.source_id)
        .where(HealthNotice.id.in_(list(ids))).order_by(HealthNotice.id))
    return [notice_dict(notice, name) for notice, name in rows]
