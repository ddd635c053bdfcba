"""``jobdelta status``: each way a source is unhealthy (failing, suspicious,
overdue) makes it exit 1, a healthy set exits 0, a config or database it
cannot read exits 2 with one line; and what it shows per source."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from crawler.app.cli import main
from crawler.app.cli_status import assess
from crawler.config import SourceConfig
from crawler.recorder import Outcome
from db.models import Run

from .test_store import crawl, item

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
TEN = [item(str(i)) for i in range(10)]


def src(name: str, schedule: str | None = "every 1h", enabled: bool = True) -> SourceConfig:
    return SourceConfig(name=name, board="greenhouse", params={"token": name}, schedule=schedule,
                        enabled=enabled)


def seen(health: str = "ok", started: datetime | None = NOW, **kw) -> dict:
    return {"health": health, "since": NOW - timedelta(hours=5) if health != "ok" else None,
            "failures_in_row": 0, "health_reason": None, "last_run_id": 1, "last_status": "complete",
            "last_run": started, "last_finished": started, "last_reason": None, "last_started": started,
            "open_postings": 3, **kw}


def test_each_way_to_be_unhealthy_and_the_ways_not_to_be():
    rows = assess(
        [src("ok"), src("failing"), src("suspicious"), src("overdue"), src("one-missed"),
         src("never"), src("off", enabled=False), src("by-hand", schedule=None)],
        {"ok": seen(started=NOW - timedelta(minutes=10)),
         "failing": seen("failing", failures_in_row=2, last_status="failed", health_reason="HTTP 503"),
         "suspicious": seen("suspicious", last_status="suspicious"),
         # its next run was due at 09:30, the one after at 10:30: both passed
         "overdue": seen(started=NOW - timedelta(hours=2, minutes=30)),
         # due at 11:30, the one after at 12:30: one period late is not yet overdue
         "one-missed": seen(started=NOW - timedelta(hours=1, minutes=30)),
         "off": seen("failing", failures_in_row=9),
         "by-hand": seen(started=NOW - timedelta(days=30)),
         "removed": seen("failing")},
        NOW)
    by = {r["source"]: r for r in rows}
    assert {n: (r["health"], r["healthy"]) for n, r in by.items()} == {
        "ok": ("ok", True), "failing": ("failing", False), "suspicious": ("suspicious", False),
        "overdue": ("overdue", False), "one-missed": ("ok", True), "never": ("never ran", True),
        "off": ("disabled", True), "by-hand": ("ok", True), "removed": ("not configured", True)}
    assert by["failing"]["failures_in_row"] == 2 and by["failing"]["reason"] == "HTTP 503"
    assert by["failing"]["failing_since"] == "2026-11-28T07:00:00+00:00"
    assert by["suspicious"]["suspicious_since"] == "2026-11-28T07:00:00+00:00"
    assert by["overdue"]["next_run"] == "2026-11-28T10:30:00+00:00"
    assert "no run started since 2026-11-28T09:30:00+00:00" in by["overdue"]["reason"]
    assert by["never"]["next_run"] == "now (never ran)" and by["by-hand"]["next_run"] == "by hand"
    assert by["ok"]["open_postings"] == 3 and by["removed"]["configured"] is False


def run_status(config, *args):
    return CliRunner().invoke(main, ["--config", str(config), "status", *args],
                              env={"JOBDELTA_CONFIG": None, "JOBDELTA_DATABASE_URL": None})


@pytest.fixture
def config(db_url, tmp_path):
    path = tmp_path / "jobdelta.toml"
    path.write_text(f'[database]\nurl = "{db_url}"\n\n'
                    + "".join(f'[[sources]]\nname = "{n}"\nboard = "greenhouse"\ntoken = "{n}"\n'
                              f'schedule = "every 1h"\n\n' for n in ("acme", "beta")))
    return path


def failed():
    return Outcome(complete=False, fatal="board could not be read: HTTP 503 from https://acme.example/jobs")


def test_status_exits_by_health_through_the_real_command(config, sessions):
    crawl(sessions, TEN, source="acme")
    crawl(sessions, TEN[:3], source="beta")
    r = run_status(config)
    assert r.exit_code == 0, r.output
    header, acme, beta = r.stdout.splitlines()[:3]
    assert header.split()[:4] == ["source", "health", "schedule", "next_run"]
    assert acme.split()[:2] == ["acme", "ok"] and acme.split()[-1] == "10"  # open postings

    # failing: the latest run failed
    crawl(sessions, [], outcome=failed(), source="beta")
    r = run_status(config, "--format", "json")
    assert r.exit_code == 1 and r.stderr == "unhealthy: beta (failing)\n"
    status = json.loads(r.stdout)[0]
    assert status["healthy"] is False
    beta = {s["source"]: s for s in status["sources"]}["beta"]
    assert (beta["last_status"], beta["failures_in_row"]) == ("failed", 1)
    assert beta["reason"].startswith("board could not be read")
    crawl(sessions, TEN[:3], source="beta")
    assert run_status(config).exit_code == 0

    # suspicious: acme's count collapsed
    crawl(sessions, TEN[:4], source="acme")
    r = run_status(config)
    assert r.exit_code == 1 and r.stderr == "unhealthy: acme (suspicious)\n"
    assert r.stdout.splitlines()[1].split()[:2] == ["acme", "suspicious"]
    crawl(sessions, TEN, source="acme")  # back at its usual count
    assert run_status(config).exit_code == 0

    # overdue: no run started for two of its hourly slots
    with sessions.begin() as s:
        for run in s.scalars(select(Run)):
            run.started_at -= timedelta(hours=2, minutes=1)
    r = run_status(config)
    assert r.exit_code == 1 and r.stderr == "unhealthy: acme (overdue), beta (overdue)\n"


def test_status_exits_2_with_one_line_when_it_cannot_read(tmp_path):
    missing = tmp_path / "nothing.toml"
    r = run_status(missing)
    assert r.exit_code == 2 and r.output == f"error: config file {missing} not found (create one with " \
                                            "`jobdelta init`)\n"
    bad = tmp_path / "bad.toml"
    bad.write_text("[[sources]\n")
    r = run_status(bad)
    assert r.exit_code == 2 and len(r.output.splitlines()) == 1 and r.output.startswith("error: ")
    empty = tmp_path / "empty.toml"
    empty.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "new.db"}"\n')  # no schema yet
    r = run_status(empty)
    assert r.exit_code == 2 and r.output.startswith("error: database") and "has no jobdelta schema" in r.output
    down = tmp_path / "down.toml"
    down.write_text('[database]\nurl = "postgresql://nobody@127.0.0.1:9/none"\n')
    r = run_status(down)
    assert r.exit_code == 2 and r.output.startswith("error: database: ") and len(r.output.splitlines()) == 1
