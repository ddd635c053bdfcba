"""The process model: several sources crawled in one crawl process (one
reactor), each with its own run and events; a board that breaks fails its
source alone; processes recycled after ``sources_per_process`` sources; a
per-source ``time_limit``; SIGTERM to a process running several crawls; and
the kept crawl process of a worker thread.

Which process crawled a run is read from the run's lease holder
(``host:pid``). Boards that must be mid-crawl hold their answer behind a
gate the test releases; nothing sleeps to synchronise.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading

import pytest
from sqlalchemy import func, select

from crawler.app.config import load_config
from crawler.replay import Gate, Reply
from db.models import Event, Posting, Run, Source
from scheduler.launch import INTERRUPTED, CrawlPool, run_sources

from .test_scheduler import GH_FIXTURE, cli_env, runs_of

pytestmark = pytest.mark.slow

JOBS = json.loads(GH_FIXTURE.read_text())["jobs"]  # two real Greenhouse postings


def board(gate: Gate | None = None, body: str | None = None) -> Reply:
    return Reply(body if body is not None else json.dumps({"jobs": JOBS, "meta": {"total": len(JOBS)}}),
                 gate=gate)


def source(name: str, replay, extra: str = "") -> str:
    return (f'[[sources]]\nname = "{name}"\nboard = "greenhouse"\ntoken = "{name}"\n'
            f'base_url = "{replay.url}"\n{extra}')


def setup(project, replay, routes: dict[str, Reply], defaults: str, extra: dict[str, str] | None = None):
    replay.set_routes({f"/v1/boards/{name}/jobs": reply for name, reply in routes.items()})
    project.write_config("".join(source(n, replay, (extra or {}).get(n, "")) for n in routes), defaults)
    return load_config(project.config)


def pid_of(run: Run) -> int:
    return int(run.holder.rsplit(":", 1)[1])


def by_source(sessions) -> dict[str, list[Run]]:
    with sessions() as s:
        rows = s.execute(select(Source.name, Run).join(Run, Run.source_id == Source.id).order_by(Run.id)).all()
    out: dict[str, list[Run]] = {}
    for name, run in rows:
        out.setdefault(name, []).append(run)
    return out


def test_sources_share_a_process_and_a_broken_board_fails_alone(project, replay, sessions, monkeypatch):
    monkeypatch.chdir(project.workdir)
    names = ["a", "b", "broken", "c"]
    routes = {n: board() for n in names} | {"broken": board(body="{not json")}
    cfg = setup(project, replay, routes, "crawl_processes = 1\nsources_per_process = 10")
    seen = []
    results = run_sources(cfg, names, jobs=4, on_result=seen.append)
    assert [r.source for r in results] == names and sorted(r.source for r in seen) == sorted(names)
    status = {r.source: r for r in results}
    assert {n: status[n].status for n in names} == {"a": "complete", "b": "complete", "broken": "failed",
                                                    "c": "complete"}
    assert status["broken"].reason.startswith("malformed JSON from Greenhouse board"), status["broken"]
    runs = by_source(sessions)
    # one run per source, all crawled by the one crawl process
    assert {n: len(r) for n, r in runs.items()} == dict.fromkeys(names, 1)
    assert len({pid_of(r[0]) for r in runs.values()}) == 1
    with sessions() as s:
        events = dict(s.execute(select(Event.run_id, func.count()).where(Event.kind == "new")
                                .group_by(Event.run_id)).all())
    # each run got its own two "new" events; the broken one none
    assert {n: events.get(r[0].id, 0) for n, r in runs.items()} == {"a": 2, "b": 2, "broken": 0, "c": 2}


def test_a_process_is_recycled_after_sources_per_process(project, replay, sessions, monkeypatch):
    monkeypatch.chdir(project.workdir)
    names = [f"s{i}" for i in range(5)]
    cfg = setup(project, replay, {n: board() for n in names}, "crawl_processes = 1\nsources_per_process = 2")
    results = run_sources(cfg, names, jobs=1)
    assert [r.status for r in results] == ["complete"] * 5, results
    pids = [pid_of(by_source(sessions)[n][0]) for n in names]
    # one crawl at a time, in order: two sources a process, then a fresh one
    assert pids[0] == pids[1] != pids[2] == pids[3] != pids[4] and len(set(pids)) == 3, pids


def test_one_process_per_source_when_sources_per_process_is_1(project, replay, sessions, monkeypatch):
    monkeypatch.chdir(project.workdir)
    names = ["a", "b", "c"]
    cfg = setup(project, replay, {n: board() for n in names}, "sources_per_process = 1")
    results = run_sources(cfg, names, jobs=2)
    assert [r.status for r in results] == ["complete"] * 3, results
    assert len({pid_of(runs[0]) for runs in by_source(sessions).values()}) == 3


def test_a_source_past_its_time_limit_is_aborted_and_expires_nothing(project, replay, sessions, monkeypatch):
    monkeypatch.chdir(project.workdir)
    # a first complete run stores both postings of "slow"
    cfg = setup(project, replay, {"slow": board(), "quick": board()}, "crawl_processes = 1",
                {"slow": "time_limit = 1\n"})
    assert [r.status for r in run_sources(cfg, ["slow"])] == ["complete"]
    # then its board holds the answer: the crawl passes its 1 s while the
    # other source in the same process completes
    gate = Gate()
    replay.set_routes({"/v1/boards/slow/jobs": board(gate), "/v1/boards/quick/jobs": board()})
    # the held request gives up after download_timeout, once the limit has closed the spider
    project.write_config(source("slow", replay, "time_limit = 1\n") + source("quick", replay),
                         "crawl_processes = 1\ndownload_timeout = 3\nretries = 0")
    try:
        slow, quick = run_sources(load_config(project.config), ["slow", "quick"], jobs=2)
        answered = gate.passed
    finally:
        gate.release()
    assert answered == 0 and gate.arrivals >= 1
    assert (quick.status, quick.new) == ("complete", 2), quick
    assert slow.status == "aborted" and slow.reason.startswith("aborted: time limit of 1s"), slow
    assert slow.expired == 0 and slow.interrupted_by is None
    runs = by_source(sessions)
    assert pid_of(runs["slow"][-1]) == pid_of(runs["quick"][-1])
    with sessions() as s:
        open_postings = s.scalar(select(func.count()).select_from(Posting).join(Source)
                                 .where(Source.name == "slow", Posting.status == "open"))
    assert open_postings == 2


def test_sigterm_stops_every_crawl_of_a_process(project, replay, sessions):
    gate = Gate()
    setup(project, replay, {"a": board(gate), "b": board(gate)}, "")
    proc = subprocess.Popen([sys.executable, "-m", "crawler.app.runner", "--config", str(project.config),
                             "a", "b"], cwd=project.workdir, env=cli_env(project.workdir),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert gate.wait_arrived(2, timeout=120), "the crawls never reached their boards"
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)
        answered = gate.passed
    finally:
        gate.release()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    summaries = sorted((json.loads(line) for line in out.splitlines()), key=lambda s: s["source"])
    assert [(s["source"], s["status"], s["reason"]) for s in summaries] == [
        ("a", "aborted", INTERRUPTED), ("b", "aborted", INTERRUPTED)], out
    assert [(r.status, r.reason) for r in runs_of(sessions)] == [("aborted", INTERRUPTED)] * 2
    assert answered == 0 and proc.returncode == 0


def test_a_crawl_pool_keeps_its_processes_between_crawls(project, replay, sessions, monkeypatch):
    """The daemon's and the workers' pool: threads crawl one source each,
    in shared processes kept between crawls and recycled after their quota."""
    monkeypatch.chdir(project.workdir)
    gate = Gate()
    cfg = setup(project, replay, {"a": board(), "b": board(), "held": board(gate)}, "sources_per_process = 3")
    pool = CrawlPool(str(project.config), processes=1)
    held: list = []
    thread = threading.Thread(target=lambda: held.append(pool.crawl(cfg, "held")))
    try:
        thread.start()
        assert gate.wait_arrived(timeout=120), "the held crawl never reached its board"
        # while "held" runs, two more crawls share its process (its quota of 3)
        results = [pool.crawl(cfg, name) for name in ("a", "b")]
        gate.release()
        thread.join(timeout=120)
        # the quota is used up: the next crawls get a fresh process
        results += [pool.crawl(cfg, "a"), pool.crawl(cfg, "nope")]
    finally:
        gate.release()
        pool.close()
    assert [(r.source, r.status) for r in held + results] == [
        ("held", "complete"), ("a", "complete"), ("b", "complete"), ("a", "complete"), ("nope", "failed")]
    assert results[3].reason == "unknown source 'nope' (known: a, b, held)"
    runs = by_source(sessions)
    pids = [pid_of(runs["held"][0]), pid_of(runs["a"][0]), pid_of(runs["b"][0]), pid_of(runs["a"][1])]
    assert pids[0] == pids[1] == pids[2] != pids[3], pids
