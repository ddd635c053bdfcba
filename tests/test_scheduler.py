"""Scheduling: which sources are due (pure, with a fixed now), `run-due`
crawling a replay-served board, and `daemon` run as a real process on an
"every 2s" schedule and stopped with SIGTERM.

Whatever must happen while a crawl runs happens while the board holds its
answer behind a gate (crawler.replay.Gate) that the test releases: no test
relies on a board answering slowly enough.

The commands are registered in `crawler.app.cli`'s `main` group by the CLI's
owner; until then (and after, harmlessly) these tests add them to `main`
themselves, in the subprocess or in a copy of the group.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from crawler.app.config import config_from_dict
from crawler.leases import ensure_source
from crawler.replay import Gate, Reply
from db.models import Run
from scheduler.due import Due, due_sources, last_run_starts, next_due, schedule_status
from scheduler.triggers import crontab_weekdays

from .conftest import DATA

GH_FIXTURE = DATA / "fixtures" / "greenhouse" / "hunt_vercel_jobs_content_true.json"
GH_PATH = "/v1/boards/vercel/jobs"

# `jobdelta` with the scheduling commands added to the real main group
JOBDELTA = (
    "from crawler.app.cli import main\n"
    "from crawler.app.cli_schedule import daemon, run_due, worker\n"
    "for command in (run_due, daemon, worker):\n"
    "    main.add_command(command)\n"
    "main(prog_name='jobdelta')\n"
)


def jobdelta_cmd(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-c", JOBDELTA, "--config", str(config), *args]


def cli_env(workdir: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ, JOBDELTA_CACHE_DIR=str(workdir / "httpcache"), **extra)
    env.pop("JOBDELTA_DATABASE_URL", None)
    return env


def run_cli(project, *args: str, timeout: float = 180, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(jobdelta_cmd(project.config, *args), cwd=project.workdir,
                          env=cli_env(project.workdir, **env), capture_output=True, text=True,
                          timeout=timeout)


def gh_board(gate: Gate | None = None) -> Reply:
    """The real two-job Vercel board from the saved Greenhouse response,
    its answer held by ``gate`` when given."""
    jobs = json.loads(GH_FIXTURE.read_text())["jobs"]
    return Reply(json.dumps({"jobs": jobs, "meta": {"total": len(jobs)}}), gate=gate)


def wait_for(condition, what: str, timeout: float = 120, proc: subprocess.Popen | None = None,
             log: Path | None = None) -> None:
    """Poll ``condition`` until it holds; fail after a generous timeout, or
    at once when ``proc`` exited (with its log)."""
    deadline = time.monotonic() + timeout
    while not condition():
        detail = log.read_text()[-3000:] if log is not None and log.exists() else ""
        assert proc is None or proc.poll() is None, f"exited ({proc.returncode}) before {what}\n{detail}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}\n{detail}"
        time.sleep(0.05)


def gh_source(name: str, replay, schedule: str | None = None, enabled: bool = True) -> str:
    text = f'[[sources]]\nname = "{name}"\nboard = "greenhouse"\ntoken = "vercel"\nbase_url = "{replay.url}"\n'
    if schedule:
        text += f'schedule = "{schedule}"\n'
    if not enabled:
        text += "enabled = false\n"
    return text


def runs_of(sessions) -> list[Run]:
    with sessions() as s:
        return list(s.scalars(select(Run).order_by(Run.id)))


def source_line(stdout: str, name: str) -> str:
    lines = [ln for ln in stdout.splitlines() if ln.split() and ln.split()[0] == name]
    assert len(lines) == 1, stdout
    return lines[0]


# --------------------------------------------------------------------------- due logic


def sources(*specs: dict) -> list:
    raw = {"sources": [{"board": "greenhouse", "token": "t", **s} for s in specs]}
    return config_from_dict(raw).sources


T = datetime(2026, 3, 4, 12, 30, tzinfo=UTC)  # a Wednesday


@pytest.mark.parametrize("schedule, last, due", [
    ("every 2h", None, True),                                   # never ran
    ("every 2h", T - timedelta(hours=1), False),
    ("every 2h", T - timedelta(hours=2), True),                 # exactly N ago
    ("every 2h", T - timedelta(hours=2) + timedelta(seconds=1), False),
    ("every 30s", T - timedelta(seconds=31), True),
    ("every 1d", T - timedelta(hours=23), False),
    ("0 */6 * * *", None, True),
    ("0 */6 * * *", T - timedelta(minutes=31), True),           # 11:59, before the 12:00 fire
    ("0 */6 * * *", T.replace(minute=0), False),                # started on the fire time itself
    ("0 */6 * * *", T.replace(minute=0, second=1), False),
    ("0 */6 * * *", T - timedelta(hours=6, minutes=30), True),  # 06:00: two fires ago
    ("*/5 * * * *", T, False),                                  # now (12:30) is a fire time, and served
    ("*/5 * * * *", T - timedelta(seconds=1), True),            # 12:29:59 is before it
    ("30 12 * * 3", T - timedelta(days=1), True),               # crontab 3 = Wednesday: now
    ("30 12 * * 2", T - timedelta(days=1), False),              # crontab 2 = Tuesday: next week
    ("0 9 * * 1-5", T.replace(hour=9, minute=0, second=5), False),
    ("0 9 * * 1-5", T.replace(hour=8), True),
])
def test_due(schedule, last, due):
    srcs = sources({"name": "acme", "schedule": schedule})
    starts = {"acme": last} if last else {}
    assert due_sources(srcs, starts, T) == (["acme"] if due else [])


def test_due_times_follow_crontab():
    wed = T
    # crontab weekday numbers (0 = Sunday), not APScheduler 3.x's (0 = Monday)
    assert next_due("0 9 * * 1-5", datetime(2026, 3, 6, 9, 0, 5, tzinfo=UTC)) == \
        datetime(2026, 3, 9, 9, tzinfo=UTC)  # Friday's run -> Monday
    assert next_due("0 3 * * 0", wed) == datetime(2026, 3, 8, 3, tzinfo=UTC)  # Sunday
    # day of month and day of week both given: either matches, as in crontab
    assert next_due("0 0 13 * 5", wed) == datetime(2026, 3, 6, tzinfo=UTC)  # Friday the 6th first
    assert next_due("0 0 13 * 5", datetime(2026, 3, 12, tzinfo=UTC)) == datetime(2026, 3, 13, tzinfo=UTC)
    assert next_due("every 90m", wed) == wed + timedelta(minutes=90)


@pytest.mark.parametrize("field, names", [
    ("*", "*"), ("mon-fri", "mon-fri"), ("sun", "sun"),
    ("0", "sun"), ("1-5", "mon,tue,wed,thu,fri"), ("6,0", "sun,sat"),
    ("*/2", "sun,tue,thu,sat"), ("1-5/2", "mon,wed,fri"), ("0-6", "sun,mon,tue,wed,thu,fri,sat"),
])
def test_crontab_weekdays(field, names):
    assert crontab_weekdays(field) == names


def test_disabled_and_unscheduled_sources_are_never_due():
    srcs = sources({"name": "off", "schedule": "every 1m", "enabled": False},
                   {"name": "manual"},
                   {"name": "on", "schedule": "every 1m"})
    assert due_sources(srcs, {}, T) == ["on"]
    assert [d.source for d in schedule_status(srcs, {})] == ["on"]
    status = schedule_status(srcs, {"on": T, "manual": T - timedelta(days=400)})
    assert status == [Due("on", "every 1m", T, T + timedelta(minutes=1))]
    assert not status[0].is_due(T + timedelta(seconds=59)) and status[0].is_due(T + timedelta(minutes=1))


def test_last_run_starts_is_the_latest_start_of_any_status(sessions):
    with sessions.begin() as s:
        a = ensure_source(s, "a", "greenhouse", {"token": "a"})
        ensure_source(s, "never", "greenhouse", {"token": "n"})
        b = ensure_source(s, "b", "greenhouse", {"token": "b"})
        s.flush()
        s.add_all([
            Run(source_id=a.id, started_at=T - timedelta(hours=3), status="complete"),
            Run(source_id=a.id, started_at=T - timedelta(hours=1), status="failed"),
            Run(source_id=a.id, started_at=T - timedelta(hours=2), status="aborted"),
            Run(source_id=b.id, started_at=T, status="running"),
        ])
    with sessions() as s:
        starts = last_run_starts(s)
    assert starts == {"a": T - timedelta(hours=1), "b": T}
    assert all(v.tzinfo is not None for v in starts.values())


# --------------------------------------------------------------------------- the commands' help


def test_commands_have_help_ending_in_an_example():
    from crawler.app.cli import main
    from crawler.app.cli_schedule import daemon, run_due, worker

    group = type(main)(name="jobdelta", params=main.params, callback=main.callback,
                       commands={**main.commands, "run-due": run_due, "daemon": daemon, "worker": worker})
    for name in ("run-due", "daemon", "worker"):
        result = CliRunner().invoke(group, [name, "--help"])
        assert result.exit_code == 0, result.output
        example = result.output.split("Example:")
        assert len(example) == 2 and "jobdelta" in example[1].split("Options:")[0], result.output


# --------------------------------------------------------------------------- run-due, end to end


@pytest.mark.slow
def test_run_due_crawls_what_is_due_then_nothing(project, replay, sessions):
    replay.set_routes({GH_PATH: gh_board()})
    project.write_config(gh_source("vercel", replay, schedule="every 1h")
                         + gh_source("manual", replay)
                         + gh_source("paused", replay, schedule="every 1m", enabled=False))
    first = run_cli(project, "run-due")
    assert first.returncode == 0, first.stderr
    line = source_line(first.stdout, "vercel")
    assert line.split()[2] == "complete" and line.split()[4] == "2", first.stdout
    assert "manual" not in first.stdout and "paused" not in first.stdout
    runs = runs_of(sessions)
    assert [(r.status, r.seen, r.new) for r in runs] == [("complete", 2, 2)]
    requests = len(replay.requests)

    second = run_cli(project, "run-due")
    assert second.returncode == 0 and second.stdout == "", second.stdout
    due_at = (runs[0].started_at + timedelta(hours=1)).isoformat()
    assert second.stderr.strip() == f"no source is due; next: vercel at {due_at}"
    assert len(runs_of(sessions)) == 1 and len(replay.requests) == requests


@pytest.mark.slow
def test_run_due_reports_a_held_lease_as_skipped(project, replay, sessions):
    gate = Gate()
    replay.set_routes({GH_PATH: gh_board(gate)})
    project.write_config(gh_source("vercel", replay, schedule="every 1s"))
    crawl = subprocess.Popen([sys.executable, "-m", "crawler.app.cli", "--config", str(project.config), "crawl"],
                             cwd=project.workdir, env=cli_env(project.workdir), stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
    try:
        # the first crawl holds the lease: the board has its request and
        # holds the answer until the test releases it
        assert gate.wait_arrived(timeout=120), "the first crawl never reached the board"
        started = runs_of(sessions)[0].started_at
        # "every 1s": due again one second after that run started (a clock, not a race)
        wait_for(lambda: datetime.now(UTC) >= started + timedelta(seconds=1), "the source to be due")
        result = run_cli(project, "run-due")
        assert crawl.poll() is None and [r.status for r in runs_of(sessions)] == ["running"]
    finally:
        gate.release()
        out, _ = crawl.communicate(timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    line = source_line(result.stdout, "vercel")
    assert line.split()[1:3] == ["skipped", "0"] and "is being crawled by" in line, result.stdout
    assert gate.arrivals == 1, "the refused crawl reached the board"
    assert crawl.returncode == 0 and " complete " in out, out
    assert [r.status for r in runs_of(sessions)] == ["complete"]


# --------------------------------------------------------------------------- the daemon


def start_daemon(project, log_path: Path, *args: str) -> subprocess.Popen:
    with log_path.open("w") as log_file:
        return subprocess.Popen(jobdelta_cmd(project.config, "daemon", *args), cwd=project.workdir,
                                env=cli_env(project.workdir), stdout=log_file, stderr=subprocess.STDOUT)


@pytest.mark.slow
def test_daemon_runs_on_schedule_without_overlap_and_stops_on_sigterm(project, replay, sessions, tmp_path):
    # the board holds each crawl's answer until the test lets it through,
    # while the schedule fires every 2 s: fires come while a crawl runs
    gate = Gate()
    replay.set_routes({GH_PATH: gh_board(gate)})
    project.write_config(gh_source("vercel", replay, schedule="every 2s"))
    log_path = tmp_path / "daemon.log"
    proc = start_daemon(project, log_path)
    try:
        def log() -> str:
            return log_path.read_text()

        for n in (1, 2):
            wait_for(lambda n=n: gate.arrivals >= n, f"crawl {n} at the board", proc=proc, log=log_path)
            if n == 1:  # a fire while crawl 1 is held is dropped by the daemon itself
                wait_for(lambda: "crawl:vercel is still running; this fire is dropped" in log(),
                         "a dropped fire", proc=proc, log=log_path)
            gate.let_through(1)
        # a third crawl in progress after two: stop now, so the daemon has
        # to wait for that crawl
        wait_for(lambda: gate.arrivals >= 3, "crawl 3 at the board", proc=proc, log=log_path)
        proc.send_signal(signal.SIGTERM)
        wait_for(lambda: "waiting for 1 running crawl(s) to finish" in log(), "the daemon to wait",
                 proc=proc, log=log_path)
        assert proc.poll() is None, "the daemon exited without waiting for its running crawl"
        assert [r.status for r in runs_of(sessions)] == ["complete", "complete", "running"]
        gate.release()
        code = proc.wait(timeout=120)
    finally:
        gate.release()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = log_path.read_text()
    assert code == 0, log
    runs = runs_of(sessions)
    assert [(r.status, r.seen) for r in runs] == [("complete", 2)] * 3, [(r.id, r.status) for r in runs]
    assert gate.arrivals == 3, "a crawl started after SIGTERM"
    for before, after in zip(runs, runs[1:], strict=False):
        assert after.started_at >= before.finished_at, "two runs of one source overlapped"
    # the daemon itself kept one crawl at a time: fires during a crawl were
    # dropped by max_instances, none reached the lease
    assert "is being crawled by" not in log, log
    assert "SIGTERM: stopping" in log, log
    assert log.rstrip().endswith("daemon stopped"), log


@pytest.mark.slow
def test_daemon_second_signal_exits_at_once_and_the_crawl_still_lands(project, replay, sessions, tmp_path):
    gate = Gate()
    replay.set_routes({GH_PATH: gh_board(gate)})
    project.write_config(gh_source("vercel", replay, schedule="every 1h"))
    log_path = tmp_path / "daemon.log"
    proc = start_daemon(project, log_path)
    try:
        wait_for(lambda: gate.arrivals >= 1, "the crawl at the board", proc=proc, log=log_path)
        proc.send_signal(signal.SIGTERM)
        wait_for(lambda: "waiting for 1 running crawl(s) to finish" in log_path.read_text(),
                 "the daemon to wait", proc=proc, log=log_path)
        assert proc.poll() is None, "the first signal must wait for the running crawl"
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
        log = log_path.read_text()
        assert code == 1 and "second SIGTERM: exiting now" in log, log
        assert [r.status for r in runs_of(sessions)] == ["running"]
    finally:
        gate.release()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # the crawl goes on in its own process and records its run
    wait_for(lambda: runs_of(sessions)[0].status != "running", "the orphaned crawl to finish")
    assert [(r.status, r.seen) for r in runs_of(sessions)] == [("complete", 2)]


@pytest.mark.slow
def test_daemon_without_scheduled_sources_says_so(project, replay):
    project.write_config(gh_source("manual", replay))
    result = run_cli(project, "daemon", timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == (f"error: {project.config}: no enabled source has a schedule "
                                      '(add e.g. schedule = "every 6h" to a [[sources]] block)')
