"""Sending what runs made due: :func:`send_alerts`, which ``crawl``,
``run-due``, the daemon and the workers call after their runs.

Reads the config ([smtp], [alerts], [[subscriptions]]) and hands the engine
(:mod:`crawler.alerts`) plain settings; a subscription's digest schedule is
read with the scheduler's own triggers.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from crawler.alerts.channels import SmtpSettings
from crawler.alerts.sender import SenderSettings, send_pending
from crawler.config import Config
from db.engine import session_factory
from scheduler.triggers import fired_since


def subscriptions(cfg: Config) -> list[Any]:
    return [s.to_subscription() for s in cfg.subscriptions]


def sender_settings(cfg: Config) -> Any:
    smtp = None
    if cfg.smtp is not None:
        s = cfg.smtp
        smtp = SmtpSettings(host=s.host, port=s.port, security=s.security, sender=s.sender,
                            username=s.username, password=s.password, timeout=s.timeout)

    def digest_due(sub: Any, last: datetime, now: datetime) -> bool:
        return fired_since(sub.digest, last, now, ZoneInfo(sub.timezone or "UTC"))

    return SenderSettings(smtp=smtp, give_up_after=timedelta(seconds=cfg.alerts.give_up_after_seconds),
                          retry_backoff=cfg.alerts.retry_backoff, digest_file=cfg.alerts.digest_dir,
                          digest_due=digest_due)


def send_alerts(cfg: Config, only: set[str] | None = None) -> Any:
    """Send what is due; returns the sender's report (None without subscriptions)."""
    if not cfg.subscriptions:
        return None
    return send_pending(session_factory(cfg.database_url), subscriptions(cfg), sender_settings(cfg),
                        only=only)


def report_rows(report: Any) -> list[dict[str, Any]]:
    return [{"subscription": name, **row} for name, row in sorted(report.rows.items())] if report else []


def send_after_runs(cfg: Config, err: Any = None) -> None:
    """After crawls: send what they made due, and say so in one line per
    subscription on ``err`` (stderr). A failure to send is retried later and
    never changes the crawls' exit status."""
    err = err or sys.stderr
    try:
        report = send_alerts(cfg)
    except Exception as exc:  # the runs stand; `jobdelta alerts send` tries again
        err.write(f"alerts: not sent now ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
                  f"`jobdelta alerts send` tries again\n")
        return
    for row in report_rows(report):
        err.write(f"alerts: {row['subscription']}: {row['sent']} sent, {row['retry']} to retry, "
                  f"{row['failed']} failed\n")
