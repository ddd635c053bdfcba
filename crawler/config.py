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
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from crawler.alerts.filters import (
    ALERT_KINDS,
    CHANGE_FIELDS,
    YEARLY_FACTORS,
    SalaryFloor,
    Subscription,
    compile_title,
)
from crawler.errors import ConfigError
from crawler.extras import database_problem
from crawler.normalize.employment import EMPLOYMENT_TYPES
from crawler.normalize.workplace import WORKPLACE_TYPES

DEFAULT_CONFIG_NAME = "jobdelta.toml"
DEFAULT_DATABASE_URL = "sqlite:///jobdelta.db"

# Board parameters every board accepts besides its own.
# per-source overrides of [defaults]: politeness and limits
OVERRIDE_KEYS = ("download_delay", "concurrency_per_domain", "retries", "max_download_mb", "time_limit")
COMMON_SOURCE_KEYS = {"name", "board", "base_url", "schedule", "enabled", "jitter", *OVERRIDE_KEYS}

_EVERY = re.compile(r"^every\s+(\d+)\s*(s|m|h|d)$")
_DURATION = re.compile(r"^(\d+)\s*(s|m|h|d)$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_CHANNELS = ("email", "webhook", "apprise")
SMTP_SECURITY = ("starttls", "ssl", "none")

# (board, params) -> one line naming what is wrong with a source's board, or None
BoardCheck = Callable[[str, dict[str, Any]], str | None]


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
    download_timeout: float = Field(60, gt=0, description="seconds before a request is given up (then retried)")
    lease_seconds: int = Field(300, ge=10, description="a run's lease lasts this long without a heartbeat")
    full_refresh_every: int = Field(10, ge=1, description="every Nth run fetches every posting page")
    batch_size: int = Field(500, ge=1, le=100_000, description="postings written per transaction")
    max_download_mb: float = Field(512, gt=0, description="largest response a board may send, in MB; "
                                   "a larger one fails the run, naming this setting")
    time_limit: float = Field(3600, ge=0, description="seconds a crawl may run before it is stopped and "
                              "its run aborted (0: no limit)")
    sources_per_process: int = Field(50, ge=1, le=10_000, description="sources one crawl process crawls "
                                     "before a fresh one takes over (1: a process per source)")
    crawl_processes: int = Field(0, ge=0, le=256, description="crawl processes at once for `--jobs N` "
                                 "(0: one per CPU); their crawls share the N")
    jitter: float = Field(0, ge=0, description="seconds the daemon may start a scheduled crawl late, "
                          "at random, so sources on one schedule do not all start at once")

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

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=200)  # the column keeps 200
    board: str
    base_url: str | None = None
    schedule: str | None = None
    enabled: bool = True
    # overrides of [defaults] for this source (None: the default)
    download_delay: float | None = Field(None, ge=0)
    concurrency_per_domain: int | None = Field(None, ge=1)
    retries: int | None = Field(None, ge=0, le=10)
    max_download_mb: float | None = Field(None, gt=0)
    time_limit: float | None = Field(None, ge=0)
    jitter: float | None = Field(None, ge=0)

    def setting(self, name: str, defaults: DefaultsConfig) -> Any:
        """This source's value of an overridable setting (``OVERRIDE_KEYS``)."""
        own = getattr(self, name)
        return getattr(defaults, name) if own is None else own

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


class SmtpConfig(_Strict):
    """The mail server alerts are sent through. The password never lives in
    the file: it is read from the environment variable ``password_env``."""

    host: str = Field(min_length=1)
    port: int = Field(587, ge=1, le=65535)
    security: str = "starttls"  # starttls | ssl | none
    sender: str
    username: str | None = None
    password_env: str = "JOBDELTA_SMTP_PASSWORD"
    timeout: float = Field(30, gt=0, description="seconds")

    @field_validator("security")
    @classmethod
    def _security(cls, value: str) -> str:
        if value not in SMTP_SECURITY:
            raise ValueError(f"must be one of {', '.join(SMTP_SECURITY)}, got {value!r}")
        return value

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        if not _EMAIL.match(value.strip()):
            raise ValueError(f"not an email address: {value!r}")
        return value.strip()

    @field_validator("password_env")
    @classmethod
    def _password_env(cls, value: str) -> str:
        if not _ENV_NAME.match(value):
            raise ValueError(f"not an environment variable name: {value!r}")
        return value

    @property
    def password(self) -> str | None:
        return os.environ.get(self.password_env) or None


class AlertsConfig(_Strict):
    give_up_after: str = "2d"  # a delivery still failing after this is marked failed
    health_after: int = Field(3, ge=1, description="failed runs in a row before a 'failing' notice")
    retry_backoff: float = Field(60, gt=0, description="seconds before the first retry; doubles, with jitter")
    digest_file: str = ""  # a directory: every rendered email is also written there

    @field_validator("give_up_after")
    @classmethod
    def _give_up_after(cls, value: str) -> str:
        parse_duration(value)
        return value

    @property
    def give_up_after_seconds(self) -> int:
        return parse_duration(self.give_up_after)

    @property
    def digest_dir(self) -> Path | None:
        return Path(self.digest_file) if self.digest_file else None


class WebConfig(_Strict):
    """``jobdelta serve``. Tokens never live in the file: each is read from
    the environment variable named here. With a token, every request needs
    ``Authorization: Bearer <token>`` and the server may listen beyond
    loopback; feeds also accept ``?token=<feed token>`` so a feed reader can
    subscribe."""

    token_env: str | None = None
    feed_token_env: str | None = None

    @field_validator("token_env", "feed_token_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME.match(value):
            raise ValueError(f"not an environment variable name: {value!r}")
        return value

    @property
    def token(self) -> str | None:
        return os.environ.get(self.token_env) or None if self.token_env else None

    @property
    def feed_token(self) -> str | None:
        return os.environ.get(self.feed_token_env) or None if self.feed_token_env else None


class SalaryFloorConfig(_Strict):
    amount: float
    currency: str
    period: str = "year"


class SubscriptionConfig(_Strict):
    """One subscriber: exactly one channel (``email``, ``webhook`` or
    ``apprise``) and its filters. Checks that need the whole config (known
    sources, an [smtp] section) are in :meth:`problem`, run by ``Config``."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=200)  # the column keeps 200
    email: str | None = None
    webhook: str | None = None
    apprise: str | None = None
    mode: str = "immediate"  # or "digest"
    digest: str | None = None  # cron, with mode = "digest"
    timezone: str | None = None  # IANA zone the digest cron is read in (default UTC)
    sources: list[str] | None = None  # default: every source
    kinds: list[str] | None = None  # default: every kind
    title: str | None = None  # regex
    keywords: list[str] = Field(default_factory=list)
    companies: list[str] = Field(default_factory=list)
    countries: list[str] = Field(default_factory=list)
    cities: list[str] = Field(default_factory=list)
    workplace: list[str] = Field(default_factory=list)
    employment: list[str] = Field(default_factory=list)
    min_salary: SalaryFloorConfig | None = None
    salary_required: bool = False
    fields: list[str] = Field(default_factory=list)
    secret_env: str | None = None  # webhooks
    batch: bool = False  # webhooks
    timeout: float | None = Field(None, gt=0, description="webhooks: seconds")
    summary_over: int | None = Field(None, ge=0, description="apprise: more alerts at once become one summary")

    @property
    def channel(self) -> tuple[str, str]:
        """``(kind, target)``: ``("email", "me@example.com")`` ..."""
        for kind in _CHANNELS:
            target = getattr(self, kind)
            if target is not None:
                return kind, target
        raise ConfigError(f"subscription {self.name!r} has no channel")

    def problem(self, known_sources: Collection[str]) -> str | None:
        """What is wrong with this subscription, as ``key: message``; None
        when nothing is."""
        channels = [k for k in _CHANNELS if getattr(self, k) is not None]
        if len(channels) != 1:
            given = f"got {' and '.join(channels)}" if channels else "got none"
            return f"{'/'.join(_CHANNELS)}: exactly one channel is required, {given}"
        for check in (self._channel_problem, self._mode_problem,
                      lambda: self._names_problem(known_sources), self._filters_problem):
            problem = check()
            if problem:
                return problem
        return None

    def _channel_problem(self) -> str | None:
        kind, target = self.channel
        for key, allowed in (("secret_env", "webhook"), ("batch", "webhook"), ("timeout", "webhook"),
                             ("summary_over", "apprise")):
            if key in self.model_fields_set and kind != allowed:
                return f"{key}: only for {allowed} subscriptions"
        if kind == "email" and not _EMAIL.match(target):
            return f"email: not an email address: {target!r}"
        if kind == "webhook":
            if not _is_http_url(target):
                return f"webhook: must be an http:// or https:// address with a host, got {target!r}"
            if not self.secret_env:
                return ("secret_env: required for webhook subscriptions (the environment variable "
                        "holding the Standard Webhooks secret, whsec_...)")
            if not _ENV_NAME.match(self.secret_env):
                return f"secret_env: not an environment variable name: {self.secret_env!r}"
        if kind == "apprise":
            import logging

            import apprise

            with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as logs:
                plugin = apprise.Apprise.instantiate(target, suppress_exceptions=True)
            if plugin is None:
                said = "; ".join(logs.getvalue().split("\n")).strip("; ")
                return f"apprise: not a URL Apprise can send to: {target!r}" + (f" ({said})" if said else "")
        return None

    def _mode_problem(self) -> str | None:
        if self.mode not in ("immediate", "digest"):
            return f"mode: must be 'immediate' or 'digest', got {self.mode!r}"
        if self.mode == "immediate":
            for key in ("digest", "timezone"):
                if getattr(self, key) is not None:
                    return f"{key}: only with mode = 'digest'"
            return None
        if self.digest is None:
            return "digest: required with mode = 'digest' (a cron expression like '0 8 * * 1-5')"
        try:
            kind, _ = parse_schedule(self.digest)
        except ValueError as exc:
            return f"digest: {exc}"
        if kind != "cron":
            return f"digest: must be a 5-field cron expression, got {self.digest!r}"
        if self.timezone is not None:
            try:
                ZoneInfo(self.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                return f"timezone: unknown time zone {self.timezone!r} (an IANA name like 'Europe/Zurich')"
        return None

    def _names_problem(self, known_sources: Collection[str]) -> str | None:
        for key, values, known, what in (("sources", self.sources, known_sources, "source"),
                                         ("kinds", self.kinds, ALERT_KINDS, "kind")):
            if values is None:
                continue
            if not values:
                return f"{key}: empty (leave the key out for every {what})"
            for value in values:
                if value not in known:
                    listed = ", ".join(known) or "none configured"
                    return f"{key}: unknown {what} {value!r} (known: {listed})"
        for key, values, known in (("workplace", self.workplace, WORKPLACE_TYPES),
                                   ("employment", self.employment, EMPLOYMENT_TYPES),
                                   ("fields", self.fields, CHANGE_FIELDS)):
            for value in values:
                if value not in known:
                    return f"{key}: unknown value {value!r} (known: {', '.join(known)})"
        return None

    def _filters_problem(self) -> str | None:
        import pycountry

        if self.title is not None:
            try:
                re.compile(self.title)  # first as written, so an error's position is the user's
                compile_title(self.title)
            except (re.error, KeyError) as exc:
                return f"title: not a valid regular expression: {exc}"
        for key in ("keywords", "companies", "cities"):
            if any(not v.strip() for v in getattr(self, key)):
                return f"{key}: empty value"
        for code in self.countries:
            if not re.fullmatch(r"[A-Za-z]{2}", code) or pycountry.countries.get(alpha_2=code.upper()) is None:
                return f"countries: {code!r} is not an ISO 3166-1 alpha-2 code (like 'US', 'GB')"
        floor = self.min_salary
        if floor is not None:
            if floor.amount <= 0:
                return f"min_salary.amount: must be more than 0, got {floor.amount:g}"
            if not re.fullmatch(r"[A-Za-z]{3}", floor.currency) or pycountry.currencies.get(
                    alpha_3=floor.currency.upper()) is None:
                return f"min_salary.currency: {floor.currency!r} is not an ISO 4217 code (like 'USD')"
            if floor.period not in YEARLY_FACTORS:
                return f"min_salary.period: must be one of {', '.join(YEARLY_FACTORS)}, got {floor.period!r}"
        return None

    def to_subscription(self) -> Subscription:
        """The engine's view of this subscriber (the engine never reads the config)."""
        kind, target = self.channel
        floor = self.min_salary
        return Subscription(
            name=self.name,
            channel=kind,
            target=target,
            sources=tuple(self.sources) if self.sources is not None else None,
            kinds=frozenset(self.kinds if self.kinds is not None else ALERT_KINDS),
            title=self.title,
            keywords=tuple(self.keywords),
            companies=tuple(self.companies),
            countries=tuple(c.upper() for c in self.countries),
            cities=tuple(self.cities),
            workplace=tuple(self.workplace),
            employment=tuple(self.employment),
            min_salary=SalaryFloor(floor.amount, floor.currency.upper(), floor.period) if floor else None,
            salary_required=self.salary_required,
            fields=tuple(self.fields),
            mode=self.mode,
            digest=self.digest,
            timezone=(self.timezone or "UTC") if self.mode == "digest" else None,
            secret_env=self.secret_env,
            batch=self.batch,
            timeout=(self.timeout or 10.0) if kind == "webhook" else None,
            summary_over=self.summary_over,
        )


class Config(_Strict):
    database: DatabaseConfig = DatabaseConfig()
    defaults: DefaultsConfig = DefaultsConfig()
    sources: list[SourceConfig] = Field(default_factory=list)
    smtp: SmtpConfig | None = None
    alerts: AlertsConfig = AlertsConfig()
    subscriptions: list[SubscriptionConfig] = Field(default_factory=list)
    web: WebConfig = WebConfig()
    path: Path | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _check_sources(self, info: ValidationInfo) -> Config:
        # boards are known to the spiders package, above this layer: the
        # application passes its check in the validation context
        check_board: BoardCheck | None = (info.context or {}).get("check_board")
        seen: set[str] = set()
        for i, src in enumerate(self.sources):
            if src.name in seen:
                raise ValueError(f"sources[{i}].name: duplicate source name {src.name!r}")
            seen.add(src.name)
            problem = check_board(src.board, src.params) if check_board else None
            if problem:
                where = "board" if problem.startswith("unknown board") else f"({src.name})"
                raise ValueError(f"sources[{i}].board: {problem}" if where == "board"
                                 else f"sources[{i}] {where}: {problem}")
        return self

    @model_validator(mode="after")
    def _check_subscriptions(self) -> Config:
        known = [src.name for src in self.sources]
        seen: set[str] = set()
        for i, sub in enumerate(self.subscriptions):
            if sub.name in seen:
                raise ValueError(f"subscriptions[{i}].name: duplicate subscription name {sub.name!r}")
            seen.add(sub.name)
            problem = sub.problem(known)
            if problem is None and sub.email is not None and self.smtp is None:
                problem = "email: needs an [smtp] section to send through"
            if problem:
                raise ValueError(f"subscriptions[{i}] ({sub.name}): {problem}")
        return self

    def subscription(self, name: str) -> SubscriptionConfig:
        for sub in self.subscriptions:
            if sub.name == name:
                return sub
        known = ", ".join(s.name for s in self.subscriptions) or "none configured"
        raise ConfigError(f"unknown subscription {name!r} (known: {known})")

    @property
    def database_url(self) -> str:
        """The database to use ($JOBDELTA_DATABASE_URL wins); ConfigError in
        one line when it needs an extra that is not installed."""
        url = os.environ.get("JOBDELTA_DATABASE_URL") or self.database.url
        problem = database_problem(url)
        if problem:
            raise ConfigError(problem)
        return url

    def source(self, name: str) -> SourceConfig:
        for src in self.sources:
            if src.name == name:
                return src
        known = ", ".join(s.name for s in self.sources) or "none configured"
        raise ConfigError(f"unknown source {name!r} (known: {known})")


def parse_duration(value: str) -> int:
    """Seconds in a duration written like an ``every`` schedule without the
    word: ``30m``, ``12h``, ``2d`` (and ``90s``)."""
    m = _DURATION.match(value.strip())
    if not m or int(m.group(1)) <= 0:
        raise ValueError(f"{value!r} is not a duration like '30m', '12h' or '2d'")
    return int(m.group(1)) * _UNIT_SECONDS[m.group(2)]


def _is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 -- raises ValueError for a port out of range
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


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


def load_config(explicit: str | os.PathLike[str] | None = None, *, required: bool = True,
                check_board: BoardCheck | None = None) -> Config:
    """Read and validate the configuration. Raises ConfigError with one line.

    ``check_board(board, params)`` returns one line naming what is wrong
    with a source's board (None when nothing is); the application passes the
    spiders' own check (:func:`crawler.app.config.load_config`)."""
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
    return config_from_dict(raw, path, check_board=check_board)


def config_from_dict(raw: dict[str, Any], path: Path | None = None, *,
                     check_board: BoardCheck | None = None) -> Config:
    try:
        cfg = Config.model_validate(raw, context={"check_board": check_board})
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
suspicious_drop = 0.5        # a run that sees half the usual count or less expires nothing
confirm_runs = 3             # ...until that many runs in a row confirm the drop (or `jobdelta accept`)
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

# Alerts: one [[subscriptions]] block per subscriber (README.md, "Alerts").
# [smtp]
# host = "smtp.example.com"
# port = 587
# security = "starttls"                         # or "ssl" or "none"
# sender = "jobdelta@example.com"
# username = "jobdelta"                         # password from $JOBDELTA_SMTP_PASSWORD
#
# [[subscriptions]]
# name = "me"
# email = "me@example.com"                      # or webhook = "https://..." or apprise = "..."
# mode = "digest"                               # or "immediate"
# digest = "0 8 * * 1-5"
# timezone = "Europe/Zurich"
# kinds = ["new", "changed", "expired", "closing", "health"]
# title = "(?i)engineer"

# The web app (`jobdelta serve`): without a token it listens on loopback only.
# [web]
# token_env = "JOBDELTA_WEB_TOKEN"              # Authorization: Bearer <token> on every request
# feed_token_env = "JOBDELTA_FEED_TOKEN"        # feeds also take ?token=<feed token>
'''
