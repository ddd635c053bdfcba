"""Alert configuration ([smtp], [alerts], [[subscriptions]]): a full valid
file, the engine's Subscription built from it, and one error per key that
names the subscription and the key."""

from __future__ import annotations

import copy

import pytest

from crawler.alerts.filters import ALERT_KINDS, SalaryFloor, Subscription, judge
from crawler.app.config import config_from_dict, load_config
from crawler.config import parse_duration
from crawler.errors import ConfigError

FULL = '''
[[sources]]
name = "acme"
board = "greenhouse"
token = "acme"

[smtp]
host = "smtp.example.com"
port = 587
security = "starttls"
sender = "jobdelta@example.com"
username = "jobdelta"
timeout = 30

[alerts]
give_up_after = "2d"
health_after = 3
retry_backoff = 60
digest_file = ""

[[subscriptions]]
name = "me"
email = "me@example.com"
mode = "digest"
digest = "0 8 * * 1-5"
timezone = "Europe/Zurich"
sources = ["acme"]
kinds = ["new", "changed", "expired", "closing", "health"]
title = "(?i)engineer"
keywords = ["cuda", "inference"]
companies = ["Vercel"]
countries = ["US", "gb"]
cities = ["London"]
workplace = ["remote", "hybrid"]
employment = ["full_time"]
min_salary = { amount = 150000, currency = "USD", period = "year" }
salary_required = false
fields = ["salary", "deadline", "title"]

[[subscriptions]]
name = "hook"
webhook = "https://example.com/hooks/jobs"
secret_env = "HOOK_SECRET"
batch = true
timeout = 5

[[subscriptions]]
name = "chat"
apprise = "ntfy://jobs"
summary_over = 5
'''


def test_full_config(tmp_path, monkeypatch):
    path = tmp_path / "jobdelta.toml"
    path.write_text(FULL)
    cfg = load_config(path)

    assert cfg.smtp.host == "smtp.example.com" and cfg.smtp.port == 587 and cfg.smtp.security == "starttls"
    assert cfg.smtp.password_env == "JOBDELTA_SMTP_PASSWORD" and cfg.smtp.password is None
    monkeypatch.setenv("JOBDELTA_SMTP_PASSWORD", "s3cret")
    assert cfg.smtp.password == "s3cret"
    assert cfg.alerts.give_up_after_seconds == 2 * 86400 and cfg.alerts.health_after == 3
    assert cfg.alerts.retry_backoff == 60 and cfg.alerts.digest_dir is None

    me, hook, chat = (s.to_subscription() for s in cfg.subscriptions)
    assert me == Subscription(
        name="me", channel="email", target="me@example.com", sources=("acme",),
        kinds=frozenset({"new", "changed", "expired", "closing", "health"}), title="(?i)engineer",
        keywords=("cuda", "inference"), companies=("Vercel",), countries=("US", "GB"), cities=("London",),
        workplace=("remote", "hybrid"), employment=("full_time",),
        min_salary=SalaryFloor(150000, "USD", "year"), salary_required=False,
        fields=("salary", "deadline", "title"), mode="digest", digest="0 8 * * 1-5",
        timezone="Europe/Zurich")
    assert (hook.channel, hook.target, hook.secret_env, hook.batch, hook.timeout) == (
        "webhook", "https://example.com/hooks/jobs", "HOOK_SECRET", True, 5)
    assert hook.sources is None and hook.kinds == frozenset(ALERT_KINDS) and hook.mode == "immediate"
    assert (chat.channel, chat.target, chat.summary_over, chat.timeout) == ("apprise", "ntfy://jobs", 5, None)
    assert cfg.subscription("chat").apprise == "ntfy://jobs"
    with pytest.raises(ConfigError, match="unknown subscription 'nope' \\(known: me, hook, chat\\)"):
        cfg.subscription("nope")

    # the subscription the engine gets judges alerts by the file's filters
    alert = {"kind": "health", "source": "acme", "problem": "failing", "state": "started"}
    assert judge(alert, me).passes and judge(alert, hook).passes


def test_defaults():
    cfg = config_from_dict({})
    assert cfg.smtp is None and cfg.subscriptions == []
    assert cfg.alerts.give_up_after == "2d" and cfg.alerts.retry_backoff == 60 and cfg.alerts.health_after == 3
    cfg = config_from_dict({"alerts": {"digest_file": "out/mails"}, "subscriptions": [
        {"name": "d", "webhook": "http://127.0.0.1:8080/x", "secret_env": "S", "mode": "digest",
         "digest": "0 8 * * *"}]})
    assert str(cfg.alerts.digest_dir) == "out/mails"
    hook = cfg.subscriptions[0].to_subscription()
    assert hook.timezone == "UTC" and hook.timeout == 10 and hook.batch is False


@pytest.mark.parametrize("text, seconds", [("30m", 1800), ("12h", 43200), ("2d", 172800), ("90s", 90)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


SMTP = {"host": "smtp.example.com", "sender": "jobdelta@example.com"}
SOURCES = [{"name": "acme", "board": "greenhouse", "token": "acme"}]


def _with(subscription=None, **top):
    raw = {"sources": copy.deepcopy(SOURCES), "smtp": dict(SMTP)}
    if subscription is not None:
        raw["subscriptions"] = [{"name": "me", **subscription}]
    raw.update(top)
    return raw


MAIL = {"email": "me@example.com"}
HOOK = {"webhook": "https://example.com/hook", "secret_env": "HOOK_SECRET"}


@pytest.mark.parametrize("raw, message", [
    (_with({**MAIL, "title": "(?i)engineer("}), "subscriptions[0] (me): title: not a valid regular expression"),
    (_with({**MAIL, **HOOK}),
     "subscriptions[0] (me): email/webhook/apprise: exactly one channel is required, got email and webhook"),
    (_with({"title": "x"}), "subscriptions[0] (me): email/webhook/apprise: exactly one channel is required, got none"),
    (_with({**MAIL, "mode": "digest", "digest": "61 8 * * *"}), "subscriptions[0] (me): digest: bad cron expression '61 8 * * *'"),
    (_with({**MAIL, "mode": "digest", "digest": "every 2h"}),
     "subscriptions[0] (me): digest: must be a 5-field cron expression, got 'every 2h'"),
    (_with({**MAIL, "mode": "digest"}), "subscriptions[0] (me): digest: required with mode = 'digest'"),
    (_with({**MAIL, "digest": "0 8 * * *"}), "subscriptions[0] (me): digest: only with mode = 'digest'"),
    (_with({**MAIL, "mode": "weekly"}), "subscriptions[0] (me): mode: must be 'immediate' or 'digest', got 'weekly'"),
    (_with({**MAIL, "mode": "digest", "digest": "0 8 * * 1-5", "timezone": "Europe/Zurik"}),
     "subscriptions[0] (me): timezone: unknown time zone 'Europe/Zurik'"),
    (_with({**MAIL, "kinds": ["new", "nwe"]}),
     "subscriptions[0] (me): kinds: unknown kind 'nwe' (known: new, changed, expired, reopened, closing, health)"),
    (_with({**MAIL, "kinds": []}), "subscriptions[0] (me): kinds: empty (leave the key out for every kind)"),
    (_with({**MAIL, "sources": ["acme", "beta"]}), "subscriptions[0] (me): sources: unknown source 'beta' (known: acme)"),
    (_with({"webhook": "https://example.com/hook"}),
     "subscriptions[0] (me): secret_env: required for webhook subscriptions"),
    (_with({**HOOK, "webhook": "file:///etc/passwd"}),
     "subscriptions[0] (me): webhook: must be an http:// or https:// address with a host, got 'file:///etc/passwd'"),
    (_with({**HOOK, "secret_env": "HOOK-SECRET"}),
     "subscriptions[0] (me): secret_env: not an environment variable name: 'HOOK-SECRET'"),
    (_with({**MAIL, "secret_env": "X"}), "subscriptions[0] (me): secret_env: only for webhook subscriptions"),
    (_with({**HOOK, "summary_over": 5}), "subscriptions[0] (me): summary_over: only for apprise subscriptions"),
    (_with({"apprise": "nope://jobs"}), "subscriptions[0] (me): apprise: not a URL Apprise can send to: 'nope://jobs'"),
    (_with({"email": "me at example"}), "subscriptions[0] (me): email: not an email address: 'me at example'"),
    ({"sources": SOURCES, "subscriptions": [{"name": "me", **MAIL}]},
     "subscriptions[0] (me): email: needs an [smtp] section"),
    (_with({**MAIL, "workplace": ["office"]}),
     "subscriptions[0] (me): workplace: unknown value 'office' (known: onsite, hybrid, remote)"),
    (_with({**MAIL, "employment": ["fulltime"]}), "subscriptions[0] (me): employment: unknown value 'fulltime'"),
    (_with({**MAIL, "fields": ["salry"]}), "subscriptions[0] (me): fields: unknown value 'salry' (known: url, apply_url, title"),
    (_with({**MAIL, "countries": ["UK"]}), "subscriptions[0] (me): countries: 'UK' is not an ISO 3166-1 alpha-2 code"),
    (_with({**MAIL, "keywords": ["cuda", " "]}), "subscriptions[0] (me): keywords: empty value"),
    (_with({**MAIL, "min_salary": {"amount": 1, "currency": "DOLLAR"}}),
     "subscriptions[0] (me): min_salary.currency: 'DOLLAR' is not an ISO 4217 code"),
    (_with({**MAIL, "min_salary": {"amount": 1, "currency": "USD", "period": "fortnight"}}),
     "subscriptions[0] (me): min_salary.period: must be one of hour, day, week, month, year, got 'fortnight'"),
    (_with({**MAIL, "min_salary": {"amount": 0, "currency": "USD"}}),
     "subscriptions[0] (me): min_salary.amount: must be more than 0, got 0"),
    # errors pydantic finds name the key by its path
    (_with({**MAIL, "titel": "x"}), "subscriptions[0].titel: unknown key"),
    (_with({**MAIL, "min_salary": {"amount": 1, "currency": "USD", "per": "year"}}),
     "subscriptions[0].min_salary.per: unknown key"),
    (_with({**MAIL, "name": "me too"}), "subscriptions[0].name: String should match pattern"),
    (_with(subscriptions=[{"name": "me", **MAIL}, {"name": "me", **HOOK}]),
     "subscriptions[1].name: duplicate subscription name 'me'"),
    (_with(smtp={**SMTP, "security": "tls"}), "smtp.security: must be one of starttls, ssl, none, got 'tls'"),
    (_with(smtp={**SMTP, "password": "hunter2"}), "smtp.password: unknown key"),
    (_with(smtp={**SMTP, "port": 70000}), "smtp.port: Input should be less than or equal to 65535"),
    (_with(smtp={"host": "smtp.example.com"}), "smtp.sender: Field required"),
    (_with(smtp={**SMTP, "sender": "jobdelta"}), "smtp.sender: not an email address: 'jobdelta'"),
    (_with(alerts={"give_up_after": "2 days"}), "alerts.give_up_after: '2 days' is not a duration like '30m', '12h' or '2d'"),
    (_with(alerts={"health_after": 0}), "alerts.health_after: Input should be greater than or equal to 1"),
    (_with(alerts={"retry_backof": 5}), "alerts.retry_backof: unknown key"),
])
def test_errors_name_the_key(raw, message):
    with pytest.raises(ConfigError) as info:
        config_from_dict(raw)
    assert message in str(info.value)
    assert "\n" not in str(info.value)
