"""What the command modules share: the config and a database session for
the command that runs, time arguments (``7d``, ``2026-11-01``...), and the
``--format`` option.

Application layer. The group in :mod:`crawler.app.cli` holds ``--config``
in the root context's ``obj``; each command reads it here.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import click
from sqlalchemy.orm import Session

from crawler import config as engine_config
from crawler import output
from crawler.app.config import load_config
from crawler.config import Config
from crawler.errors import JobdeltaError
from db import queries
from db.engine import session_factory

_AGO = re.compile(r"^(\d+)\s*(m|h|d|w)$")
EVENT_KINDS = ("new", "changed", "expired", "reopened", "closing")


def parse_when(text: str, *, now: datetime | None = None) -> datetime:
    """``7d``/``12h``/``30m``/``2w`` ago, ``now``, an ISO date (midnight UTC)
    or an ISO datetime (UTC when it has no offset)."""
    now = now or datetime.now(UTC)
    text = text.strip()
    if text == "now":
        return now
    m = _AGO.match(text)
    if m:
        n, unit = int(m.group(1)), m.group(2)
        return now - timedelta(**{{"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[unit]: n})
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a time: use 7d, 12h, now, 2026-11-01 or "
                                 "2026-11-01T09:30:00+00:00") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class _When(click.ParamType):
    name = "WHEN"

    def convert(self, value: Any, param: Any, ctx: Any) -> datetime:
        return value if isinstance(value, datetime) else parse_when(str(value))


WHEN = _When()


def config_file_option(ctx: click.Context) -> str | None:
    """The ``--config`` given to the group (None: $JOBDELTA_CONFIG, else ./jobdelta.toml)."""
    return (ctx.find_root().obj or {}).get("config_path")


def ctx_config(ctx: click.Context, required: bool = False, check_boards: bool = False) -> Config:
    """The config named by the group's ``--config``. ``check_boards``: check
    every source's board and parameters against its spider (which imports
    the spiders): for the commands that crawl; reading the history needs no
    spider."""
    if check_boards:
        return load_config(config_file_option(ctx), required=required)
    return engine_config.load_config(config_file_option(ctx), required=required)


def open_session(cfg: Config) -> Session:
    """A session on the configured database, which must have the schema."""
    session = session_factory(cfg.database_url)()
    present = queries.has_schema(session)
    # the check began a transaction: end it, so the caller may begin its own
    session.rollback()
    if not present:
        session.close()
        raise JobdeltaError(f"database {safe_url(cfg.database_url)} has no jobdelta schema: "
                            "run `jobdelta db upgrade` (or `jobdelta crawl`) first")
    return session


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` (a name or an address, IPv6 in brackets or not) is
    this machine: ``serve`` without a token and offline tests allow no other."""
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def safe_url(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]+@", r"//\1:***@", url)


def source_names(values: tuple[str, ...]) -> list[str] | None:
    names = [n for v in values for n in v.split(",") if n]
    return names or None


def format_option(choices: tuple[str, ...] = output.FORMATS) -> Callable[[Any], Any]:
    return click.option("--format", "fmt", type=click.Choice(choices), default="table",
                        show_default=True, help="Output format.")
