"""The alert commands: ``jobdelta alerts send|test|list|check|retry``.

Application layer, loaded by ``crawler.app.cli``'s group only when one of
them runs: reads the config ([smtp], [alerts], [[subscriptions]]) and hands
the engine (:mod:`crawler.alerts`) plain settings.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

import click

from crawler import output
from crawler.app.cli_common import ctx_config, open_session
from crawler.config import Config
from crawler.errors import JobdeltaError
from db.engine import session_factory
from scheduler.alerts import report_rows, send_alerts, sender_settings, subscriptions


def _ctx_config(ctx: click.Context) -> Config:
    return ctx_config(ctx, required=True)


def _sessions(cfg: Config) -> Any:
    open_session(cfg).close()  # the schema must be there
    return session_factory(cfg.database_url)


@click.group()
def alerts() -> None:
    """Alerts: what was sent to whom, what is waiting, and why.

    \b
    Example:
      jobdelta alerts list --pending
    """


@alerts.command("send")
@click.option("--subscription", "-s", multiple=True, help="Only this subscription.")
@click.pass_context
def send_cmd(ctx: click.Context, subscription: tuple[str, ...]) -> None:
    """Send the pending alerts that are due (digests on their schedule).

    `crawl`, `run-due` and the daemon do this after their runs; use it
    after a receiver was down, or from cron for digests.

    \b
    Example:
      jobdelta alerts send
    """
    cfg = _ctx_config(ctx)
    for name in subscription:
        cfg.subscription(name)
    _sessions(cfg)
    report = send_alerts(cfg, set(subscription) or None)
    rows = report_rows(report)
    if not rows:
        click.echo("nothing to send", err=True)
        return
    output.write(rows, "table", sys.stdout, ["subscription", "sent", "retry", "failed"])


@alerts.command("test")
@click.argument("subscription")
@click.pass_context
def test_cmd(ctx: click.Context, subscription: str) -> None:
    """Send a sample alert through SUBSCRIPTION's real channel now.

    The sample is the newest event in the database (or a made-up one when
    there is none); nothing is recorded as sent.

    \b
    Example:
      jobdelta alerts test me
    """
    from crawler.alerts import channels, render
    from crawler.alerts.sender import idempotency_key
    from db import queries

    cfg = _ctx_config(ctx)
    sub = cfg.subscription(subscription).to_subscription()
    with _sessions(cfg)() as session:
        latest = list(queries.changes(session))[-1:]
    alert = latest[0] if latest else {
        "id": 0, "kind": "new", "source": "example", "external_id": "1", "title": "Example role",
        "at": datetime.now().astimezone().isoformat(timespec="seconds"), "run_id": None,
        "reason": "new: first time seen", "changes": None,
        "posting": {"title": "Example role", "company": "Example", "url": "https://example.com/jobs/1"}}
    settings = sender_settings(cfg)
    if sub.channel == "email":
        if settings.smtp is None:
            raise JobdeltaError("no [smtp] section in the config")
        content = render.render_email(sub.name, [alert], digest=False, unsubscribe=None,
                                      now=datetime.now().astimezone())
        result = channels.send_email(settings.smtp, sub.target, f"[test] {content.subject}", content.text,
                                     content.html, message_id=f"<jobdelta.test.{sub.name}>", headers={})
    elif sub.channel == "webhook":
        import os

        secret = os.environ.get(sub.secret_env or "", "")
        if not secret:
            raise JobdeltaError(f"webhook secret ${sub.secret_env} is not set")
        result = channels.post_webhook(sub.target, secret, render.webhook_payload(alert),
                                       msg_id=f"test-{idempotency_key(alert)}", timeout=sub.timeout)
    else:
        title, body = render.chat_message(alert)
        result = channels.notify_apprise(sub.target, f"[test] {title}", body)
    if not result.ok:
        raise JobdeltaError(f"{sub.name}: not delivered: {result.error}")
    click.echo(f"{sub.name}: sample alert delivered through {sub.channel}")


@alerts.command("list")
@click.option("--pending", "status", flag_value="pending", help="Waiting to be sent or retried.")
@click.option("--failed", "status", flag_value="failed", help="Given up (see `alerts retry`).")
@click.option("--sent", "status", flag_value="sent", help="Sent.")
@click.option("--subscription", "-s", default=None, help="Only this subscription.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100000))
@click.option("--format", "fmt", type=click.Choice(output.FORMATS), default="table", show_default=True)
@click.pass_context
def list_cmd(ctx: click.Context, status: str | None, subscription: str | None, limit: int,
             fmt: str) -> None:
    """Deliveries, newest first: to whom, what, and how it went.

    \b
    Example:
      jobdelta alerts list --failed --subscription hook
    """
    from db.queries import deliveries

    cfg = _ctx_config(ctx)
    with _sessions(cfg)() as session:
        rows = deliveries(session, status=status, subscription=subscription, limit=limit)
    output.write(rows, fmt, sys.stdout, ["id", "subscription", "channel", "status", "kind", "source",
                                         "title", "attempts", "sent_at", "last_error"])


@alerts.command("check")
@click.option("--last", "last", default=20, show_default=True, type=click.IntRange(1, 10000),
              help="How many of the newest events to judge.")
@click.option("--subscription", "-s", default=None, help="Only this subscription.")
@click.option("--format", "fmt", type=click.Choice(output.FORMATS), default="table", show_default=True)
@click.pass_context
def check_cmd(ctx: click.Context, last: int, subscription: str | None, fmt: str) -> None:
    """For the newest events, which subscriber each would reach, and why.

    Each row says which filter let the event through or stopped it.

    \b
    Example:
      jobdelta alerts check --last 50 --subscription me
    """
    from crawler.alerts.filters import judge
    from db import queries

    cfg = _ctx_config(ctx)
    subs = [cfg.subscription(subscription).to_subscription()] if subscription else subscriptions(cfg)
    if not subs:
        raise JobdeltaError("no [[subscriptions]] in the config")
    with _sessions(cfg)() as session:
        events = queries.latest_events(session, last)
    rows = [{"event": e["id"], "kind": e["kind"], "source": e["source"], "title": e["title"],
             "subscription": sub.name, "verdict": str(judge(e, sub))}
            for e in events for sub in subs]
    output.write(rows, fmt, sys.stdout, ["event", "kind", "source", "title", "subscription", "verdict"])


@alerts.command("retry")
@click.option("--subscription", "-s", default=None, help="Only this subscription.")
@click.pass_context
def retry_cmd(ctx: click.Context, subscription: str | None) -> None:
    """Requeue failed deliveries (and switch a subscription a receiver
    turned off with 410 back on).

    \b
    Example:
      jobdelta alerts retry --subscription hook
    """
    from crawler.alerts.sender import requeue

    cfg = _ctx_config(ctx)
    if subscription:
        cfg.subscription(subscription)
    sessions = _sessions(cfg)
    with sessions.begin() as session:
        n = requeue(session, subscription)
    click.echo(f"{n} deliver{'ies' if n != 1 else 'y'} requeued")
