"""Interrupted crawls: signals to `jobdelta crawl`, a parent killed outright,
a crawl at its time limit, and a database that goes away while a run
finishes.

Every crawl here is held at the board by a gate (crawler.replay.Gate) that
the test never releases until the interruption is over: the crawl is
provably in progress when it is interrupted, and nothing but the
interruption can end it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from crawler.app.config import load_config
from crawler.app.runner import finish_run
from crawler.replay import Gate
from db.models import Run
from scheduler.launch import INTERRUPTED, RunSummary, exit_status, run_sources

from .conftest import _drop_pg_database, process_gone
from .test_scheduler import GH_PATH, cli_env, gh_board, gh_source, runs_of, source_line, wait_for

pytestmark = pytest.mark.slow



def start_crawl(project) -> subprocess.Popen:
    """`jobdelta crawl` as a real process (the crawl runs in a child of it)."""
    return subprocess.Popen([sys.executable, "-m", "crawler.app.cli", "--config", str(project.config), "crawl"],
                            cwd=project.workdir, env=cli_env(project.workdir), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def held_crawl(project, replay, sessions) -> tuple[Gate, subprocess.Popen, Run]:
    """Start `jobdelta crawl` of a board that holds its answer; return once
    the board has the request, with the running run."""
    gate = Gate()
    replay.set_routes({GH_PATH: gh_board(gate)})
    project.write_config(gh_source("vercel", replay))
    proc = start_crawl(project)
    if not gate.wait_arrived(timeout=120):
        proc.kill()
        raise AssertionError(f"the crawl never reached the board: {proc.communicate()}")
    [run] = runs_of(sessions)
    assert run.status == "running"
    return gate, proc, run


def crawl_pid(run: Run) -> int:
    return int(run.holder.rsplit(":", 1)[1])


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_the_crawls_and_marks_their_runs_interrupted(project, replay, sessions, sig, code):
    gate, proc, run = held_crawl(project, replay, sessions)
    child = crawl_pid(run)
    assert child != proc.pid and not process_gone(child)
    try:
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=120)
        answered = gate.passed  # before the gate opens (as it does for the next crawl)
    finally:
        gate.release()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code, out + err
    line = source_line(out, "vercel")
    assert line.split()[1:3] == [str(run.id), "aborted"] and line.endswith(INTERRUPTED), out
    assert [(r.id, r.status, r.reason) for r in runs_of(sessions)] == [(run.id, "aborted", INTERRUPTED)]
    assert answered == 0, "the board answered: the crawl was not stopped by the signal"
    wait_for(lambda: process_gone(child), "the crawl process to be gone", timeout=30)
    # the lease is free: the next crawl runs
    gate.release()
    again = project.cli("crawl", "vercel")
    assert again.returncode == 0 and " complete " in again.stdout, again.stdout + again.stderr


def test_a_killed_crawl_command_leaves_no_crawl_behind(project, replay, sessions):
    """SIGKILL to `jobdelta crawl` (no chance to forward anything): its crawl
    process gets SIGTERM from the kernel, records its run and exits."""
    gate, proc, run = held_crawl(project, replay, sessions)
    child = crawl_pid(run)
    try:
        proc.kill()
        proc.wait(timeout=60)
        wait_for(lambda: process_gone(child), "the orphaned crawl to stop", timeout=60)
        wait_for(lambda: runs_of(sessions)[0].status != "running", "its run to end", timeout=60)
        answered = gate.passed
    finally:
        gate.release()
    assert [(r.status, r.reason) for r in runs_of(sessions)] == [("aborted", INTERRUPTED)]
    assert answered == 0


def test_a_crawl_past_its_time_limit_is_stopped(project, replay, sessions, monkeypatch):
    gate = Gate()
    replay.set_routes({GH_PATH: gh_board(gate)})
    project.write_config(gh_source("vercel", replay))
    monkeypatch.chdir(project.workdir)
    try:
        [summary] = run_sources(load_config(project.config), ["vercel"], timeout=3)
        answered = gate.passed
    finally:
        gate.release()
    # stopped wherever it was after 3 s: holding its run, or still starting up
    assert summary.status == "aborted" and summary.interrupted_by is None, summary
    assert summary.reason.startswith("crawl stopped after its time limit of 3s (aborted: interrupted"), summary
    assert all(r.status == "aborted" for r in runs_of(sessions)) and answered == 0
    assert exit_status([summary]) == 0


def test_exit_status():
    def summary(status: str, by: str | None = None) -> RunSummary:
        return RunSummary("s", None, status, interrupted_by=by)

    assert exit_status([summary("complete"), summary("skipped"), summary("aborted")]) == 0
    assert exit_status([summary("complete"), summary("failed")]) == 1
    assert exit_status([summary("failed", "SIGTERM"), summary("aborted", "SIGTERM")]) == 143
    assert exit_status([summary("aborted", "SIGINT")]) == 130


# --------------------------------------------------------------------------- the database goes away


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_database_dropped_mid_run_gives_one_line(project, replay, sessions, db_url, pg_admin_url):
    gate, proc, run = held_crawl(project, replay, sessions)
    try:
        _drop_pg_database(pg_admin_url, db_url.rsplit("/", 1)[1])  # WITH (FORCE): connections cut
        gate.release()
        out, err = proc.communicate(timeout=120)
    finally:
        gate.release()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1, out + err
    line = source_line(out, "vercel")
    assert line.split()[1:3] == [str(run.id), "failed"], out
    assert f"run {run.id} of vercel: database unavailable: " in line, out
    assert "Traceback" not in out + err and len(out.strip().splitlines()) == 2, out + err


def test_finishing_without_the_database_names_the_run(db_url, tmp_path: Path):
    """The recorder's finish when the database refuses connections (PostgreSQL
    on a port nobody listens on; SQLite in a directory that is gone)."""
    from crawler.expiry import Policy
    from crawler.leases import ensure_source, start_run
    from crawler.recorder import Outcome, RunRecorder
    from db.engine import session_factory

    sessions = session_factory(db_url)
    with sessions.begin() as session:
        source = ensure_source(session, "acme", "greenhouse", {"token": "acme"})
        run_id = start_run(session, source, 300).id
        source_id = source.id
    recorder = RunRecorder(sessions, source_id, run_id, Policy())
    gone = ("postgresql+psycopg://postgres@127.0.0.1:9/gone" if db_url.startswith("postgresql")
            else f"sqlite:///{tmp_path / 'gone' / 'jobdelta.db'}")
    recorder.sessions = session_factory(gone)
    summary = finish_run(recorder, Outcome(complete=True), "acme")
    assert (summary.run_id, summary.status) == (run_id, "failed")
    assert summary.reason.startswith(f"run {run_id} of acme: database unavailable: "), summary.reason
    assert "\n" not in summary.reason and "sqlalche.me" not in summary.reason, summary.reason
    # the run is still open in the database: the next start marks it aborted
    with sessions() as session:
        assert session.scalars(select(Run.status)).all() == ["running"]
