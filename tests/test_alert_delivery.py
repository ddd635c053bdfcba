"""Alerts reach people exactly once: the outbox is written with its events,
the sender claims, sends and marks, against a real SMTP server and a real
HTTP receiver on loopback, on SQLite and PostgreSQL.

Time moves by the sender's clock argument (claims expiring, backoff
passing), never by sleeping.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from crawler.alerts.channels import SmtpSettings
from crawler.alerts.filters import Subscription
from crawler.alerts.sender import SenderSettings, requeue, send_pending
from crawler.expiry import Policy
from crawler.leases import ensure_source, start_run
from crawler.recorder import Outcome, RunRecorder
from db.models import Delivery, HealthNotice, SubscriptionState

from .alert_servers import Gate, Reply
from .test_store import item

pytest_plugins = ("tests.alert_servers",)
pytestmark = pytest.mark.usefixtures("db_url")

T0 = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def tick(self, **kw) -> datetime:
        self.now += timedelta(**kw)
        return self.now


def crawl(sessions, items, subs, outcome=None, source="acme", policy=None, clock=None):
    policy = policy or Policy()
    with sessions.begin() as s:
        src = ensure_source(s, source, "greenhouse", {"token": source})
        sid, rid = src.id, start_run(s, src, 60).id
    rec = RunRecorder(sessions, sid, rid, policy, batch_size=3, subscriptions=subs,
                      **({"clock": clock} if clock else {}))
    for data in items:
        rec.add(data)
    return rec.finish(outcome or Outcome(complete=True))


def hook(url: str, **kw) -> Subscription:
    return Subscription(name=kw.pop("name", "hook"), channel="webhook", target=url,
                        secret_env="HOOK_SECRET", timeout=2.0, **kw)


def settings(**kw) -> SenderSettings:
    env = kw.pop("env", {})
    return SenderSettings(retry_backoff=30, env=env, **kw)


def deliveries(sessions, status=None) -> list[Delivery]:
    with sessions() as s:
        q = select(Delivery).order_by(Delivery.id)
        if status:
            q = q.where(Delivery.status == status)
        return list(s.scalars(q))


def event_ids(requests) -> list[int]:
    return [r.json()["data"]["id"] for r in requests]


def test_deliveries_are_written_with_their_events_for_matching_subscribers(sessions, webhook_receiver):
    engineers = hook(webhook_receiver.url, title="(?i)engineer", name="engineers")
    everyone = hook(webhook_receiver.url, name="everyone")
    crawl(sessions, [item("1", title="Senior Engineer"), item("2", title="Sales Manager")],
          [engineers, everyone])
    rows = deliveries(sessions)
    assert sorted((d.subscription, d.status) for d in rows) == [
        ("engineers", "pending"), ("everyone", "pending"), ("everyone", "pending")]
    # a run without a subscription list writes no deliveries (and re-runs add none)
    crawl(sessions, [item("1", title="Senior Engineer"), item("2", title="Sales Manager")],
          [engineers, everyone])
    assert len(deliveries(sessions)) == 3


def test_a_webhook_receiver_down_for_a_while_gets_every_event_once(sessions, webhook_receiver,
                                                                  webhook_secret):
    clock = Clock()
    sub = hook(webhook_receiver.url)
    crawl(sessions, [item(str(i)) for i in range(4)], [sub])
    cfg = settings(env={"HOOK_SECRET": webhook_secret})
    # down: a 500, then a hang past the timeout, then a 503 asking for 120 s
    hang = Gate()
    webhook_receiver.script(Reply(500), Reply(200, hold=hang), Reply(503, {"Retry-After": "120"}))
    report = send_pending(sessions, [sub], cfg, clock)
    assert report.rows == {"hook": {"sent": 0, "retry": 4, "failed": 0}}
    assert {d.status for d in deliveries(sessions)} == {"pending"}
    # not due yet: nothing is sent before the backoff passed
    assert send_pending(sessions, [sub], cfg, clock).rows == {}
    clock.tick(minutes=5)
    send_pending(sessions, [sub], cfg, clock)  # the hang: a timeout
    hang.release()
    clock.tick(minutes=10)
    send_pending(sessions, [sub], cfg, clock)  # 503 with Retry-After
    with sessions() as s:
        waits = {d.next_attempt_at for d in s.scalars(select(Delivery))}
    assert all(w >= clock.now + timedelta(seconds=120) for w in waits)
    clock.tick(hours=1)
    report = send_pending(sessions, [sub], cfg, clock)
    assert report.rows == {"hook": {"sent": 4, "retry": 0, "failed": 0}}
    ok = [r for r in webhook_receiver.requests[3:]]
    assert all(r.signature_ok for r in ok)
    assert sorted(event_ids(ok)) == sorted({e for e in event_ids(ok)})  # each event once
    assert len(ok) == 4 and {d.status for d in deliveries(sessions)} == {"sent"}
    # every try of one event carried the same webhook-id
    by_event: dict[int, set[str]] = {}
    for r in webhook_receiver.requests:
        by_event.setdefault(r.json()["data"]["id"], set()).add(r.headers["webhook-id"])
    assert all(len(ids) == 1 for ids in by_event.values())
    assert send_pending(sessions, [sub], cfg, clock).rows == {}


def test_a_sender_that_dies_between_send_and_mark_repeats_only_with_the_same_id(
        sessions, webhook_receiver, webhook_secret):
    """The claim of a sender that died is taken over once it expires; what it
    may have sent is sent again under the same webhook-id."""
    clock = Clock()
    sub = hook(webhook_receiver.url)
    crawl(sessions, [item("1")], [sub])
    cfg = settings(env={"HOOK_SECRET": webhook_secret}, claim_seconds=300)
    from crawler.alerts import sender

    # the first sender claims and sends, then dies before marking
    with sessions.begin() as s:
        claimed = sender._claim(s, "hook", "dead-sender", clock(), 300)
    with sessions() as s:
        (delivery, alert), = sender.load_alerts(s, claimed)
    first = sender._send(sub, [(delivery, alert)], cfg, clock())
    assert first[delivery.id].ok
    # a second sender meanwhile: the claim still holds
    assert send_pending(sessions, [sub], cfg, clock).rows == {}
    clock.tick(seconds=301)
    assert send_pending(sessions, [sub], cfg, clock).rows == {"hook": {"sent": 1, "retry": 0, "failed": 0}}
    ids = [r.headers["webhook-id"] for r in webhook_receiver.requests]
    assert len(ids) == 2 and ids[0] == ids[1]
    assert [d.status for d in deliveries(sessions)] == ["sent"]


def test_two_senders_never_send_one_delivery_twice(sessions, webhook_receiver, webhook_secret):
    sub = hook(webhook_receiver.url)
    crawl(sessions, [item(str(i)) for i in range(12)], [sub])
    cfg = settings(env={"HOOK_SECRET": webhook_secret})
    # the first sender's first POST is held until the second sender has run
    held = Gate()
    webhook_receiver.script(Reply(200, hold=held))
    reports = []
    first = threading.Thread(target=lambda: reports.append(send_pending(sessions, [sub], cfg)))
    first.start()
    assert held.arrived.wait(30)
    reports.append(send_pending(sessions, [sub], cfg))  # finds everything claimed
    held.release()
    first.join(60)
    assert sum(r.rows.get("hook", {}).get("sent", 0) for r in reports) == 12
    assert sorted(event_ids(webhook_receiver.requests)) == sorted(set(event_ids(webhook_receiver.requests)))
    assert len(webhook_receiver.requests) == 12


def test_a_410_switches_the_subscription_off_and_tells_the_others(sessions, webhook_receiver,
                                                                 webhook_secret, http_receiver):
    gone = hook(webhook_receiver.url, name="gone")
    ops = Subscription(name="ops", channel="apprise", target=f"json://127.0.0.1:{http_receiver.port}/ops",
                       kinds=frozenset({"health"}))
    crawl(sessions, [item("1"), item("2")], [gone, ops])
    webhook_receiver.script(Reply(410))
    report = send_pending(sessions, [gone, ops], settings(env={"HOOK_SECRET": webhook_secret}))
    assert report.rows["gone"]["failed"] == 2
    with sessions() as s:
        assert s.get(SubscriptionState, "gone").disabled_at is not None
        notice = s.scalars(select(HealthNotice)).one()
        assert notice.problem == "webhook_disabled" and notice.subscription == "gone"
    send_pending(sessions, [gone, ops], settings(env={"HOOK_SECRET": webhook_secret}))
    assert len(http_receiver.requests) == 1 and "switched off" in http_receiver.requests[0].body.decode()
    assert len(webhook_receiver.requests) == 1  # nothing more is sent to a receiver that left
    # retry switches it back on and requeues
    with sessions.begin() as s:
        assert requeue(s, "gone") == 2
    send_pending(sessions, [gone, ops], settings(env={"HOOK_SECRET": webhook_secret}))
    assert len(webhook_receiver.requests) == 3


def test_deliveries_give_up_after_a_while_and_retry_requeues(sessions, webhook_receiver, webhook_secret):
    clock = Clock()
    sub = hook(webhook_receiver.url)
    crawl(sessions, [item("1")], [sub], clock=clock)
    cfg = settings(env={"HOOK_SECRET": webhook_secret}, give_up_after=timedelta(hours=1))
    webhook_receiver.default = Reply(502)
    send_pending(sessions, [sub], cfg, clock)
    clock.tick(hours=2)
    assert send_pending(sessions, [sub], cfg, clock).rows == {"hook": {"sent": 0, "retry": 0, "failed": 1}}
    assert [d.status for d in deliveries(sessions)] == ["failed"]
    webhook_receiver.default = Reply(200)
    with sessions.begin() as s:
        assert requeue(s) == 1
    assert send_pending(sessions, [sub], cfg, clock).rows == {"hook": {"sent": 1, "retry": 0, "failed": 0}}


def test_an_email_digest_arrives_once_on_its_schedule_grouped(sessions, smtp_server):
    clock = Clock(datetime(2026, 11, 2, 6, 0, tzinfo=UTC))  # a Monday, 07:00 in Zurich
    sub = Subscription(name="me", channel="email", target="me@example.com", mode="digest",
                       digest="0 8 * * 1-5", timezone="Europe/Zurich")
    crawl(sessions, [item("1", company="Acme", title="Engineer <script>x</script>"),
                     item("2", company="Beta")], [sub], clock=clock)
    smtp = SmtpSettings(host="127.0.0.1", port=smtp_server.port, security="none",
                        sender="jobdelta@example.com")
    from zoneinfo import ZoneInfo

    from scheduler.triggers import fired_since

    cfg = settings(smtp=smtp, digest_due=lambda s, last, now: fired_since(s.digest, last, now,
                                                                          ZoneInfo(s.timezone)))
    assert send_pending(sessions, [sub], cfg, clock).rows == {}  # 07:00 in Zurich: not yet
    clock.tick(hours=1, minutes=1)  # 08:01 in Zurich
    assert send_pending(sessions, [sub], cfg, clock).rows == {"me": {"sent": 2, "retry": 0, "failed": 0}}
    mail, = smtp_server.wait_for(1)
    html = mail.message.get_body(("html",)).get_content()
    text = mail.message.get_body(("plain",)).get_content()
    assert "&lt;script&gt;" in html and "<script>x" not in html
    assert text.index("Acme") < text.index("Beta")
    assert mail.message["List-Unsubscribe"]
    # the next digest waits for the next morning
    crawl(sessions, [item("1", company="Acme", title="Engineer <script>x</script>"), item("2", company="Beta"),
                     item("3", company="Acme")], [sub], clock=clock)
    clock.tick(hours=3)
    assert send_pending(sessions, [sub], cfg, clock).rows == {}
    clock.tick(hours=21)
    assert send_pending(sessions, [sub], cfg, clock).rows == {"me": {"sent": 1, "retry": 0, "failed": 0}}
    assert len(smtp_server.wait_for(2)) == 2


def test_a_board_failing_five_runs_then_recovering_sends_two_health_messages(sessions, http_receiver):
    ops = Subscription(name="ops", channel="apprise", target=f"json://127.0.0.1:{http_receiver.port}/ops",
                       kinds=frozenset({"health"}))
    crawl(sessions, [item(str(i)) for i in range(5)], [ops])
    for _ in range(5):
        crawl(sessions, [], [ops], outcome=Outcome(complete=False, fatal="board could not be read: HTTP 503"))
        send_pending(sessions, [ops], settings())
    crawl(sessions, [item(str(i)) for i in range(5)], [ops])
    send_pending(sessions, [ops], settings())
    bodies = [r.body.decode() for r in http_receiver.requests]
    assert len(bodies) == 2, bodies
    assert "failing" in bodies[0] and "recovered" in bodies[1]
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Delivery)) == 2


def test_accept_tells_subscribers_what_it_expired(sessions, webhook_receiver):
    from crawler.health import accept

    sub = hook(webhook_receiver.url, kinds=frozenset({"expired", "health"}))
    crawl(sessions, [item(str(i)) for i in range(10)], [sub])
    crawl(sessions, [item(str(i)) for i in range(4)], [sub])  # suspicious
    before = len(deliveries(sessions))
    with sessions.begin() as s:
        accept(s, "acme", datetime.now(UTC).replace(microsecond=0), [sub])
    with sessions() as s:
        new = [d for d in s.scalars(select(Delivery).order_by(Delivery.id))][before:]
        kinds = sorted("notice" if d.notice_id else "event" for d in new)
    assert kinds == ["event"] * 6 + ["notice"] * 2  # six expiries; suspicious ended, shrink confirmed
