"""The jobdelta configuration: one TOML file, validated, with clear errors.

Where it is read from: ``--config PATH``, else ``$JOBDELTA_CONFIG``, else
``./jobdelta.toml``. Secrets never live in the file: the database URL may be
overridden by ``$JOBDELTA_DATABASE_URL``. Unknown keys are errors, and every
error names the key and what is wrong with it.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from crawler.errors import ConfigError

DEFAULT_CONFIG_NAME = "jobdelta.toml"
DEFAULT_DATABASE_URL = "sqlite:///jobdelta.db"

# Board parameters every board accepts besides its own.
COMMON_SOURCE_KEYS = {"name", "board", "base_url", "schedule", "enabled"}

_EVERY = re.compile(r"^every\s+(\d+)\s*(s|m|h|d)$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseConfig(_Strict):
    url: str = DEFAULT_DATABASE_URL


class DefaultsConfig(_Strict):
    expire_after_runs: int = Field(2, ge=1, description="consecutive complete runs a posting must be missing")
    closing_days: list[int] = Field(default_factory=lambda: [7, 1])
    expire_on_deadline: bool = True
    suspicious_drop: float = Field(0.5, gt=0, lt=1, description="a count drop beyond this share of recent runs is suspicious")
    suspicious_window: int = Field(5, ge=1, description="recent complete or partial runs the count is compared with")
    confirm_runs: int = Field(3, ge=1, description="suspicious runs in a row at one level that confirm a drop")
    user_agent: str = "jobdelta/0.1 (+https://github.com/jobdelta/jobdelta; job board watcher)"
    obey_robots: bool = True
    download_delay: float = Field(0.5, ge=0, description="seconds between requests to one domain")
    concurrency_per_domain: int = Field(2, ge=1)
    retries: int = Field(2, ge=0, le=10, description="retries of a failed request after the first try")
    retry_backoff: float = Field(1.0, ge=0, description="seconds before the first retry; doubles each retry")
    lease_seconds: int = Field(300, ge=10, description="a run's lease lasts this long without a heartbeat")
    full_refresh_every: int = Field(10, ge=1, description="every Nth run fetches every posting page")
    batch_size: int = Field(500, ge=1, le=100_000, description="postings written per transaction")

    @field_validator("closing_days")
    @classmethod
    def _positive_days(cls, value: list[int]) -> list[int]:
        if any(d < 0 for d in value):
            raise ValueError("days must be 0 or more")
        return sorted(set(value), reverse=True)


class SourceConfig(BaseModel):
    """One board to watch. Board-specific parameters are extra keys, checked
    against the board's own list when the spider is chosen."""

    model_config = ConfigDict(extra="allow", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    board: str
    base_url: str | None = None
    schedule: str | None = None
    enabled: bool = True

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        if value is not None:
            parse_schedule(value)
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        """An http(s) address with a host (and optionally a port and a path
        prefix): anything else would fail only when the crawl starts."""
        if value is None:
            return value
        try:
            parts = urlsplit(value.strip())
            parts.port  # noqa: B018 -- raises ValueError for a port out of range
        except ValueError:
            parts = None
        if (parts is None or parts.scheme not in ("http", "https") or not parts.hostname
                or parts.query or parts.fragment):
            raise ValueError(f"must be an http:// or https:// address with a host "
                             f"(like https://boards-api.greenhouse.io), got {value!r}")
        return value.strip()

    @property
    def params(self) -> dict[str, Any]:
        """The board parameters: every key that is not common to all boards."""
        return dict(self.model_extra or {})


class Config(_Strict):
    database: DatabaseConfig = DatabaseConfig()
    defaults: DefaultsConfig = DefaultsConfig()
    sources: list[SourceConfig] = Field(default_factory=list)
    path: Path | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _check_sources(self) -> Config:
        from spiders import board_names, check_params  # boards are known to the spiders package

        seen: set[str] = set()
        for i, src in enumerate(self.sources):
            if src.name in seen:
                raise ValueError(f"sources[{i}].name: duplicate source name {src.name!r}")
            seen.add(src.name)
            if src.board not in board_names():
                raise ValueError(
                    f"sources[{i}].board: unknown board {src.board!r} "
                    f"(known: {', '.join(sorted(board_names()))})"
                )
            problem = check_params(src.board, src.params)
            if problem:
                raise ValueError(f"sources[{i}] ({src.name}): {problem}")
        return self

    @property
    def database_url(self) -> str:
        return os.environ.get("JOBDELTA_DATABASE_URL") or self.database.url

    def source(self, name: str) -> SourceConfig:
        for src in self.sources:
            if src.name == name:
                return src
        known = ", ".join(s.name for s in self.sources) or "none configured"
        raise ConfigError(f"unknown source {name!r} (known: {known})")


def parse_schedule(value: str) -> tuple[str, Any]:
    """Accept a five-field cron expression or ``every N{s,m,h,d}``.

    Returns ("cron", expression) or ("interval", seconds)."""
    text = value.strip()
    m = _EVERY.match(text)
    if m:
        n, unit = int(m.group(1)), m.group(2)
        if n <= 0:
            raise ValueError("interval must be positive")
        return "interval", n * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
    from apscheduler.triggers.cron import CronTrigger

    if len(text.split()) != 5:
        raise ValueError(f"{value!r} is neither a 5-field cron expression nor 'every N[s|m|h|d]'")
    try:
        CronTrigger.from_crontab(text, timezone="UTC")
    except ValueError as exc:
        raise ValueError(f"bad cron expression {value!r}: {exc}") from None
    return "cron", text


def _format_error(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in err["loc"])
        loc = loc.replace(".[", "[")
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        lines.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(lines)


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit:
        return Path(explicit)
    env = os.environ.get("JOBDELTA_CONFIG")
    return Path(env) if env else Path(DEFAULT_CONFIG_NAME)


def load_config(explicit: str | os.PathLike[str] | None = None, *, required: bool = True) -> Config:
    """Read and validate the configuration. Raises ConfigError with one line."""
    path = config_path(explicit)
    if not path.exists():
        if required or explicit or os.environ.get("JOBDELTA_CONFIG"):
            raise ConfigError(f"config file {path} not found (create one with `jobdelta init`)")
        return Config()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return config_from_dict(raw, path)


def config_from_dict(raw: dict[str, Any], path: Path | None = None) -> Config:
    try:
        cfg = Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path or 'config'}: {_format_error(exc)}") from None
    return cfg.model_copy(update={"path": path})


STARTER_CONFIG = '''\
# jobdelta configuration. Every key is optional except the sources you watch.
# Docs: README.md. Secrets (database passwords) go in environment variables.

[database]
# SQLite file by default; for many workers use PostgreSQL, e.g.
# url = "postgresql+psycopg://jobdelta@db.example.com/jobdelta"
# $JOBDELTA_DATABASE_URL overrides this.
url = "sqlite:///jobdelta.db"

[defaults]
expire_after_runs = 2        # consecutive complete runs a posting must be missing to expire
closing_days = [7, 1]        # "closing soon" alerts this many days before the deadline
expire_on_deadline = true    # a posting whose deadline has passed expires
suspicious_drop = 0.5        # a run that sees less than half the usual count expires nothing
download_delay = 0.5         # seconds between requests to one domain
concurrency_per_domain = 2   # parallel requests to one domain
retries = 2                  # retries of a failed request; Retry-After is honoured

# One [[sources]] block per board you watch; `jobdelta boards` lists the boards.
[[sources]]
name = "acme"                                  # unique, used on the command line
board = "greenhouse"                           # which spider
token = "acme"                                 # the board's own parameters
# base_url = "https://boards-api.greenhouse.io"  # every board accepts this override
schedule = "0 */6 * * *"                       # cron expression or "every 2h"

# [[sources]]
# name = "acme-careers"
# board = "jsonld"
# start_urls = ["https://careers.acme.example/jobs"]
# allow = "/jobs/\\\\d+"                          # which links are postings (regex)
# schedule = "every 12h"
'''
