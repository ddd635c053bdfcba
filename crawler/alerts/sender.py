"""The sender: claims pending deliveries, sends them, marks them.

Exactly once, across crashes and several senders on one database:

- *claim*: one conditional UPDATE turns a subscription's due deliveries
  (``pending`` and due, or ``sending`` with an expired claim) into
  ``sending`` under a claim token; on PostgreSQL the candidate rows are
  first locked with ``FOR UPDATE SKIP LOCKED``, so two senders never wait
  on or take the same row; on SQLite the database-wide write lock makes the
  conditional UPDATE the lease. The claim is committed before anything is
  sent.
- *send* through the subscription's channel (email: one message for all of
  the subscription's claimed alerts; webhook: one POST per alert, or per
  batch; Apprise: one message per alert, or a summary).
- *mark* the rows still held by this claim ``sent``; a failure puts them
  back to ``pending`` with exponential backoff (honouring ``Retry-After``),
  and after ``give_up_after`` they are ``failed`` (``jobdelta alerts retry``
  requeues them). A receiver answering 410 switches its subscription off
  and raises a ``webhook_disabled`` health notice.

A sender killed between send and mark leaves its claim to expire; the next
sender sends again with the same ``webhook-id`` (the event's id, which
receivers use to drop the repeat) or the same email ``Message-ID``.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from crawler.alerts import channels, outbox, render
from crawler.alerts.filters import Subscription
from crawler.leases import holder_id, holder_is_dead, utcnow
from db.models import Delivery, Event, HealthNotice, Source, SubscriptionState
from db.queries import event_dict
from db.vocab import Channel, DeliveryStatus, HealthProblem, NoticeState

log = logging.getLogger(__name__)

_CLAIM_BATCH = 500  # deliveries one claim takes for a subscription
_WEBHOOK_TIMEOUT = 10.0  # seconds, when the subscription names none


@dataclass
class SenderSettings:
    """What the sender needs besides the subscriptions ([alerts], [smtp])."""

    smtp: Any = None  # channels.SmtpSettings, or None when email is not configured
    give_up_after: timedelta = timedelta(days=2)
    retry_backoff: float = 60.0  # seconds before the first retry, doubling, with jitter
    retry_cap: float = 6 * 3600.0  # seconds, the longest wait between two tries
    claim_seconds: int = 300  # a claim not marked within this is taken over
    digest_file: Path | None = None  # also write every rendered email here
    # (subscription, last digest sent or None, now) -> is a digest due?
    digest_due: Callable[[Subscription, datetime | None, datetime], bool] | None = None
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)


@dataclass
class Report:
    """What one ``send_pending`` did, per subscription: sent, retry, failed."""

    rows: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, sub: str, what: str, n: int = 1) -> None:
        row = self.rows.setdefault(sub, {"sent": 0, "retry": 0, "failed": 0})
        row[what] += n


def send_pending(sessions: sessionmaker[Session], subscriptions: Sequence[Subscription],
                 settings: SenderSettings, clock: Callable[[], datetime] = utcnow,
                 only: set[str] | None = None) -> Report:
    """Send what is due for every subscription (or those in ``only``)."""
    report = Report()
    for sub in subscriptions:
        if only and sub.name not in only:
            continue
        now = clock()
        with sessions.begin() as session:
            state = session.get(SubscriptionState, sub.name)
            if state is not None and state.disabled_at is not None:
                continue
            if sub.mode == "digest" and not _digest_due(session, sub, state, settings, now):
                continue
            _free_dead_claims(session, sub.name, now)
            token = f"{holder_id()}#{uuid.uuid4().hex[:12]}"
            claimed = _claim(session, sub.name, token, now, settings.claim_seconds)
        if claimed:
            _deliver(sessions, sub, claimed, token, settings, clock, report, subscriptions)
    return report


def _digest_due(session: Session, sub: Subscription, state: SubscriptionState | None,
                settings: SenderSettings, now: datetime) -> bool:
    """A digest goes out when its schedule fired since the last one (or since
    the oldest waiting delivery), and always to finish a claim left by a
    sender that died."""
    stale = session.scalar(select(Delivery.id).where(
        Delivery.subscription == sub.name, Delivery.status == DeliveryStatus.SENDING,
        Delivery.claimed_until < now).limit(1))
    if stale is not None:
        return True
    last = state.last_digest_at if state is not None else None
    if last is None:
        last = session.scalar(select(Delivery.created_at).where(
            Delivery.subscription == sub.name, Delivery.status == DeliveryStatus.PENDING)
            .order_by(Delivery.id).limit(1))
        if last is None:
            return False
    return bool(settings.digest_due and settings.digest_due(sub, last, now))


def _free_dead_claims(session: Session, name: str, now: datetime) -> None:
    """Claims held by a sender process of this host that is gone (killed
    between send and mark) are taken over now rather than when they expire."""
    tokens = set(session.scalars(select(Delivery.claimed_by).where(
        Delivery.subscription == name, Delivery.status == DeliveryStatus.SENDING,
        Delivery.claimed_until >= now)))
    for token in tokens:
        if token and holder_is_dead(token.partition("#")[0]):
            session.execute(update(Delivery).where(Delivery.claimed_by == token)
                            .values(claimed_until=now - timedelta(seconds=1))
                            .execution_options(synchronize_session=False))


def _claimable(name: str, now: datetime) -> Any:
    return and_(Delivery.subscription == name, or_(
        and_(Delivery.status == DeliveryStatus.PENDING,
             or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now)),
        and_(Delivery.status == DeliveryStatus.SENDING, Delivery.claimed_until < now)))


def _claim(session: Session, name: str, token: str, now: datetime, seconds: int) -> list[int]:
    q = select(Delivery.id).where(_claimable(name, now)).order_by(Delivery.id).limit(_CLAIM_BATCH)
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    ids = list(session.scalars(q))
    if not ids:
        return []
    # conditional: a row another sender claimed meanwhile no longer matches
    session.execute(update(Delivery).where(Delivery.id.in_(ids), _claimable(name, now))
                    .values(status=DeliveryStatus.SENDING, claimed_by=token,
                            claimed_until=now + timedelta(seconds=seconds))
                    .execution_options(synchronize_session=False))
    return list(session.scalars(select(Delivery.id).where(Delivery.id.in_(ids),
                                                          Delivery.claimed_by == token)))


def load_alerts(session: Session, delivery_ids: Sequence[int]) -> list[tuple[Delivery, dict[str, Any]]]:
    """The claimed deliveries with their alerts, oldest first."""
    deliveries = list(session.scalars(select(Delivery).where(Delivery.id.in_(list(delivery_ids)))
                                      .order_by(Delivery.id)))
    event_ids = [d.event_id for d in deliveries if d.event_id is not None]
    notice_ids = [d.notice_id for d in deliveries if d.notice_id is not None]
    events = {e.id: event_dict(e, name) for e, name in session.execute(
        select(Event, Source.name).join(Source, Source.id == Event.source_id)
        .where(Event.id.in_(event_ids)))} if event_ids else {}
    notices = {n["id"]: n for n in outbox.notices(session, notice_ids)}
    return [(d, events[d.event_id] if d.event_id is not None else notices[d.notice_id])
            for d in deliveries]


def idempotency_key(alert: dict[str, Any]) -> str:
    """The webhook-id of an alert: the same for every try of one alert."""
    prefix = "notice" if alert["kind"] == "health" else "event"
    return f"jobdelta-{prefix}-{alert['id']}"


def _deliver(sessions: sessionmaker[Session], sub: Subscription, ids: list[int], token: str,
             settings: SenderSettings, clock: Callable[[], datetime], report: Report,
             everyone: Sequence[Subscription]) -> None:
    with sessions() as session:
        pairs = load_alerts(session, ids)
        session.expunge_all()
    outcomes = _send(sub, pairs, settings, clock())
    now = clock()
    with sessions.begin() as session:
        for delivery, _alert in pairs:
            result = outcomes[delivery.id]
            mine = and_(Delivery.id == delivery.id, Delivery.claimed_by == token)
            if result.ok:
                values: dict[str, Any] = {"status": DeliveryStatus.SENT, "sent_at": now,
                                          "claimed_by": None, "claimed_until": None,
                                          "last_error": None, "attempts": delivery.attempts + 1}
                report.add(sub.name, "sent")
            else:
                attempts = delivery.attempts + 1
                give_up = (not result.retryable or getattr(result, "gone", False)
                           or now - delivery.created_at >= settings.give_up_after)
                wait = channels.backoff(attempts, settings.retry_backoff, result.retry_after,
                                        settings.retry_cap)
                values = {"status": DeliveryStatus.FAILED if give_up else DeliveryStatus.PENDING,
                          "attempts": attempts, "claimed_by": None, "claimed_until": None,
                          "next_attempt_at": None if give_up else now + timedelta(seconds=wait),
                          "last_error": (result.error or "failed")[:2000]}
                report.add(sub.name, "failed" if give_up else "retry")
            session.execute(update(Delivery).where(mine).values(**values)
                            .execution_options(synchronize_session=False))
        if sub.mode == "digest" and any(outcomes[d.id].ok for d, _ in pairs):
            _state(session, sub.name).last_digest_at = now
        gone = next((r for r in outcomes.values() if getattr(r, "gone", False)), None)
        if gone is not None:
            _switch_off(session, sub, gone.error or "the receiver answered 410 Gone", now, everyone)


def _state(session: Session, name: str) -> SubscriptionState:
    state = session.get(SubscriptionState, name)
    if state is None:
        state = SubscriptionState(name=name)
        session.add(state)
    return state


def _switch_off(session: Session, sub: Subscription, why: str, now: datetime,
                everyone: Sequence[Subscription]) -> None:
    """A receiver said 410 Gone: no more deliveries for this subscription,
    and a health notice for the others."""
    state = _state(session, sub.name)
    state.disabled_at, state.disabled_reason = now, why
    notice = HealthNotice(source_id=None, problem=HealthProblem.WEBHOOK_DISABLED,
                          state=NoticeState.STARTED, at=now, subscription=sub.name,
                          reason=f"subscription {sub.name!r} switched off: {why}")
    session.add(notice)
    session.flush()
    session.execute(update(Delivery).where(Delivery.subscription == sub.name,
                                           Delivery.status == DeliveryStatus.PENDING)
                    .values(status=DeliveryStatus.FAILED, last_error=f"subscription switched off: {why}")
                    .execution_options(synchronize_session=False))
    outbox.enqueue(session, [s for s in everyone if s.name != sub.name],
                   [outbox.notice_dict(notice, None)], now)


def _send(sub: Subscription, pairs: list[tuple[Delivery, dict[str, Any]]], settings: SenderSettings,
          now: datetime) -> dict[int, Any]:
    """Send the alerts; returns delivery id -> result (ok, retryable, error,
    retry_after, and for webhooks gone)."""
    alerts = [alert for _d, alert in pairs]
    if sub.channel == Channel.EMAIL:
        if settings.smtp is None:
            result = channels.SendResult(ok=False, retryable=True,
                                         error="no [smtp] section in the config", retry_after=None)
            return {d.id: result for d, _ in pairs}
        content = render.render_email(sub.name, alerts, digest=sub.mode == "digest",
                                      unsubscribe=None, now=now)
        first, last = pairs[0][0].id, pairs[-1][0].id
        message_id = f"<jobdelta.{sub.name}.{first}-{last}@{socket.gethostname()}>"
        if settings.digest_file is not None:
            _write_copy(settings.digest_file, sub.name, first, content)
        result = channels.send_email(
            settings.smtp, sub.target, content.subject, content.text, content.html,
            message_id=message_id,
            headers={"List-Unsubscribe": f"<mailto:{settings.smtp.sender}?subject=unsubscribe%20{sub.name}>"})
        return {d.id: result for d, _ in pairs}
    if sub.channel == Channel.WEBHOOK:
        secret = settings.env.get(sub.secret_env or "", "")
        if not secret:
            result = channels.SendResult(ok=False, retryable=True, retry_after=None,
                                         error=f"webhook secret ${sub.secret_env} is not set")
            return {d.id: result for d, _ in pairs}
        if sub.batch:
            payload = render.webhook_batch_payload(alerts)
            key = f"jobdelta-batch-{pairs[0][0].id}-{pairs[-1][0].id}"
            result = channels.post_webhook(sub.target, secret, payload, msg_id=key,
                                           timeout=sub.timeout or _WEBHOOK_TIMEOUT)
            return {d.id: result for d, _ in pairs}
        out: dict[int, Any] = {}
        for delivery, alert in pairs:
            result = channels.post_webhook(sub.target, secret, render.webhook_payload(alert),
                                           msg_id=idempotency_key(alert),
                                           timeout=sub.timeout or _WEBHOOK_TIMEOUT)
            out[delivery.id] = result
            if not result.ok and (result.gone or result.retryable):
                # the receiver is down or gone: the rest waits for the next try
                for rest, _a in pairs[len(out):]:
                    out[rest.id] = result
                break
        return out
    # Apprise chat channels
    if sub.summary_over and len(pairs) > sub.summary_over:
        title, body = render.chat_summary(alerts)
        result = channels.notify_apprise(sub.target, title, body)
        return {d.id: result for d, _ in pairs}
    out = {}
    for delivery, alert in pairs:
        title, body = render.chat_message(alert)
        out[delivery.id] = channels.notify_apprise(sub.target, title, body)
    return out


def _write_copy(directory: Path, name: str, first_id: int, content: Any) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}-{first_id}.txt").write_text(
        f"Subject: {content.subject}\n\n{content.text}", encoding="utf-8")
    (directory / f"{name}-{first_id}.html").write_text(content.html, encoding="utf-8")


def requeue(session: Session, subscription: str | None = None) -> int:
    """Failed deliveries back to pending, due now; a subscription switched
    off by a 410 is switched back on. Returns how many were requeued."""
    q = update(Delivery).where(Delivery.status == DeliveryStatus.FAILED)
    states = select(SubscriptionState).where(SubscriptionState.disabled_at.is_not(None))
    if subscription:
        q = q.where(Delivery.subscription == subscription)
        states = states.where(SubscriptionState.name == subscription)
    for state in session.scalars(states):
        state.disabled_at = state.disabled_reason = None
    return session.execute(q.values(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=None,
                                    claimed_by=None, claimed_until=None)
                           .execution_options(synchronize_session=False)).rowcount or 0

