"""Crawl runs through Celery on the real Redis: a `jobdelta worker`
subprocess takes `crawl_source` tasks and the runs land in the database.

Each test session claims a Redis database nobody uses (empty, then marked
with a claim key) and empties it again at the end, so runs of the suite
never see each other's tasks. Off CI the tests skip with the reason when
Redis is not reachable; with CI=true that is a failure. Boards hold their
answers behind a gate the test releases, so what must happen while a crawl
runs never depends on the machine's speed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler.replay import Gate

from .conftest import IN_CI, process_gone
from .test_scheduler import (
    GH_PATH,
    cli_env,
    gh_board,
    gh_source,
    jobdelta_cmd,
    run_cli,
    runs_of,
    wait_for,
)

pytestmark = pytest.mark.slow

REDIS_URL = os.environ.get("JOBDELTA_TEST_REDIS", "redis://127.0.0.1:6379")
CLAIM_KEY = "jobdelta:test-suite-claim"


@pytest.fixture(scope="session")
def _redis_db() -> Iterator[tuple[str, str]]:
    """Claim a Redis database for this test session: (URL, claim token)."""
    import redis

    try:
        admin = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
        databases = int(admin.config_get("databases").get("databases", 16))
    except redis.RedisError as exc:
        reason = f"Redis at {REDIS_URL} not reachable: {type(exc).__name__}: {str(exc)[:120]}"
        if IN_CI:
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    token = f"{os.getpid()}-{uuid.uuid4().hex}"
    for number in range(databases - 1, 0, -1):  # never 0, the default everybody uses
        db = redis.Redis.from_url(f"{REDIS_URL}/{number}")
        if db.dbsize() == 0 and db.set(CLAIM_KEY, token, nx=True, ex=3600):
            break
    else:
        pytest.fail(f"no empty Redis database to claim at {REDIS_URL} (all {databases} in use)")
    url = f"{REDIS_URL}/{number}"
    from scheduler.tasks import app

    # the sending side (this process) uses the claimed database too
    app.conf.update(broker_url=url, result_backend=url)
    try:
        yield url, token
    finally:
        if db.get(CLAIM_KEY) == token.encode():
            db.flushdb()


@pytest.fixture
def broker_url(_redis_db) -> Iterator[str]:
    """The claimed database as a broker URL, emptied after each test (tasks
    left queued there must not reach the next test's worker)."""
    import redis

    url, token = _redis_db
    yield url
    db = redis.Redis.from_url(url)
    with db.pipeline(transaction=True) as pipe:
        pipe.flushdb()
        pipe.set(CLAIM_KEY, token, ex=3600)
        pipe.execute()


@pytest.fixture
def worker(project, broker_url, tmp_path) -> Iterator[subprocess.Popen]:
    """`jobdelta worker --concurrency 2`, stopped with SIGTERM afterwards
    (it must exit 0: a warm shutdown)."""
    project.write_config("")  # the worker reads a config; the tasks name their own
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(jobdelta_cmd(project.config, "worker", "--concurrency", "2"),
                                cwd=project.workdir, stdout=log, stderr=subprocess.STDOUT,
                                env=cli_env(project.workdir, JOBDELTA_BROKER_URL=broker_url))
    proc.log_path = log_path  # type: ignore[attr-defined]
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise
    assert proc.returncode == 0, log_path.read_text()[-3000:]


def config_for(project, replay) -> Path:
    return project.write_config(gh_source("vercel", replay, schedule="every 1h"))


def test_worker_takes_a_crawl_task(project, replay, sessions, worker):
    from scheduler.tasks import crawl_source

    replay.set_routes({GH_PATH: gh_board()})
    config = str(config_for(project, replay))
    before = datetime.now(UTC) - timedelta(seconds=1)
    summary = crawl_source.delay(config, "vercel").get(timeout=120)
    runs = runs_of(sessions)
    assert [(r.id, r.status, r.seen, r.new) for r in runs] == [(summary["run_id"], "complete", 2, 2)]
    assert summary["status"] == "complete" and summary["source"] == "vercel"
    assert runs[0].finished_at is not None

    # a task queued before that run started is served by it: skipped, no crawl
    stale = crawl_source.delay(config, "vercel", queued_at=before.isoformat()).get(timeout=60)
    assert stale["status"] == "skipped" and stale["run_id"] is None
    assert "after this task was queued" in stale["reason"]
    assert len(runs_of(sessions)) == 1

    # an unknown source fails with the config's one-line reason
    bad = crawl_source.delay(config, "nope").get(timeout=60)
    assert bad == {"source": "nope", "run_id": None, "status": "failed", "seen": 0, "new": 0,
                   "changed": 0, "expired": 0, "reopened": 0,
                   "reason": "unknown source 'nope' (known: vercel)", "interrupted_by": None}


def test_two_tasks_for_one_source_give_one_run(project, replay, sessions, worker):
    from scheduler.tasks import crawl_source

    # the board holds the first crawl's answer: the second task runs while
    # the first crawl provably holds the lease
    gate = Gate()
    replay.set_routes({GH_PATH: gh_board(gate)})
    config = str(config_for(project, replay))
    try:
        first = crawl_source.delay(config, "vercel")
        assert gate.wait_arrived(timeout=120), "the first task's crawl never reached the board"
        second = crawl_source.delay(config, "vercel").get(timeout=120)
        assert second["status"] == "skipped" and second["run_id"] is None, second
        assert "is being crawled by" in second["reason"]
        assert [r.status for r in runs_of(sessions)] == ["running"]
    finally:
        gate.release()
    result = first.get(timeout=120)
    assert result["status"] == "complete", result
    assert [(r.id, r.status) for r in runs_of(sessions)] == [(result["run_id"], "complete")]
    # the refused task never reached the board
    assert gate.arrivals == 1


def test_run_due_queue_sends_due_sources_to_the_workers(project, replay, sessions, broker_url, tmp_path):
    replay.set_routes({GH_PATH: gh_board()})
    config_for(project, replay)
    env = {"JOBDELTA_BROKER_URL": broker_url}
    # two cron ticks before any worker runs: both queue the never-run source
    ticks = [run_cli(project, "run-due", "--queue", **env) for _ in range(2)]
    for tick in ticks:
        assert tick.returncode == 0, tick.stderr
        assert tick.stdout.splitlines()[1].split()[:2] == ["vercel", "queued"], tick.stdout
    task_ids = [t.stdout.splitlines()[1].split()[2] for t in ticks]
    assert runs_of(sessions) == []

    from scheduler.tasks import app

    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(jobdelta_cmd(project.config, "worker"), cwd=project.workdir,
                                stdout=log, stderr=subprocess.STDOUT,
                                env=cli_env(project.workdir, **env))
    try:
        results = [app.AsyncResult(t).get(timeout=120) for t in task_ids]
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    assert code == 0, log_path.read_text()[-3000:]
    # the first crawls; the second was queued before that run started and
    # is served by it
    assert [r["status"] for r in results] == ["complete", "skipped"], results
    assert [r.status for r in runs_of(sessions)] == ["complete"]
    after = run_cli(project, "run-due", "--queue", **env)
    assert after.returncode == 0 and after.stdout == "" and "no source is due" in after.stderr


def test_run_due_queue_with_no_broker_is_one_line(project, replay):
    config_for(project, replay)
    result = run_cli(project, "run-due", "--queue", JOBDELTA_BROKER_URL="redis://127.0.0.1:9/0", timeout=120)
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: broker redis://127.0.0.1:9/0: "), result.stderr


def test_daemon_queue_feeds_the_workers(project, replay, sessions, broker_url, tmp_path):
    # the board holds the first crawl's answer while the daemon queues a
    # fire every 2 s: fires queue up behind that crawl
    gate = Gate()
    replay.set_routes({GH_PATH: gh_board(gate)})
    project.write_config(gh_source("vercel", replay, schedule="every 2s"))
    env = cli_env(project.workdir, JOBDELTA_BROKER_URL=broker_url)
    logs = {name: tmp_path / f"{name}.log" for name in ("daemon", "worker")}
    procs = {}
    for name, args in (("worker", ("worker", "--concurrency", "2")), ("daemon", ("daemon", "--queue"))):
        with logs[name].open("w") as log:
            procs[name] = subprocess.Popen(jobdelta_cmd(project.config, *args), cwd=project.workdir,
                                           env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        assert gate.wait_arrived(timeout=120), {n: p.read_text() for n, p in logs.items()}
        # with two worker threads, fires queued during the held crawl are
        # turned away by the lease, never crawled twice
        wait_for(lambda: "vercel: skipped" in logs["worker"].read_text(), "a skipped task",
                 proc=procs["worker"], log=logs["worker"])
        assert [r.status for r in runs_of(sessions)] == ["running"]
        gate.release()
        wait_for(lambda: sum(r.status == "complete" for r in runs_of(sessions)) >= 2, "two complete runs",
                 proc=procs["daemon"], log=logs["daemon"])
    finally:
        gate.release()
        for proc in procs.values():
            proc.send_signal(signal.SIGTERM)
        codes = {name: proc.wait(timeout=60) for name, proc in procs.items()}
    text = {n: p.read_text() for n, p in logs.items()}
    assert codes == {"worker": 0, "daemon": 0}, text
    assert text["daemon"].count("crawl:vercel: queued as task") >= 3, text["daemon"]
    runs = runs_of(sessions)
    assert all(r.status == "complete" for r in runs), [(r.id, r.status) for r in runs]
    for before, after in zip(runs, runs[1:], strict=False):
        assert after.started_at >= before.finished_at, "two runs of one source overlapped"


# --------------------------------------------------------------------------- a worker killed mid-crawl

TIME_LIMIT = 30  # seconds: JOBDELTA_CRAWL_TIME_LIMIT of the workers below, far above a crawl's length



def start_worker(project, broker_url: str, log_path: Path) -> subprocess.Popen:
    with log_path.open("w") as log:
        return subprocess.Popen(jobdelta_cmd(project.config, "worker"), cwd=project.workdir,
                                stdout=log, stderr=subprocess.STDOUT,
                                env=cli_env(project.workdir, JOBDELTA_BROKER_URL=broker_url,
                                            JOBDELTA_CRAWL_TIME_LIMIT=str(TIME_LIMIT)))


def test_visibility_timeout_fits_the_crawl_time_limit():
    """The broker hands a task to another worker only after the crawl's time
    limit and a margin; the task's own limit lies in between."""
    probe = ("import json, scheduler.tasks as t; c = t.app.conf; print(json.dumps("
             "[c.broker_transport_options['visibility_timeout'], c.task_time_limit, t.CRAWL_TIME_LIMIT]))")

    def conf(**env: str) -> subprocess.CompletedProcess[str]:
        environ = {k: v for k, v in os.environ.items() if k != "JOBDELTA_CRAWL_TIME_LIMIT"}
        return subprocess.run([sys.executable, "-c", probe], env=dict(environ, **env),
                              capture_output=True, text=True, timeout=120)

    visibility, task_limit, limit = json.loads(conf().stdout)
    assert limit == 7200 and limit < task_limit < visibility <= limit + 300, (visibility, task_limit)
    visibility, task_limit, limit = json.loads(conf(JOBDELTA_CRAWL_TIME_LIMIT="600").stdout)
    assert limit == 600 and 600 < task_limit < visibility <= 900
    bad = conf(JOBDELTA_CRAWL_TIME_LIMIT="1h")
    assert bad.returncode != 0 and "JOBDELTA_CRAWL_TIME_LIMIT: must be a whole number of seconds" in bad.stderr


def test_a_crawl_whose_worker_was_killed_is_crawled_by_another_worker(project, replay, sessions, broker_url,
                                                                      tmp_path):
    import redis

    from scheduler.tasks import TIME_LIMIT_MARGIN, crawl_source

    gate = Gate()
    replay.set_routes({GH_PATH: gh_board(gate)})
    config = str(config_for(project, replay))
    visibility = TIME_LIMIT + TIME_LIMIT_MARGIN
    logs = [tmp_path / "worker1.log", tmp_path / "worker2.log"]
    first = start_worker(project, broker_url, logs[0])
    second = None
    try:
        # queued like `run-due --queue` does: a run that starts after this
        # and is aborted must not count as having served the task
        task = crawl_source.apply_async(args=(config, "vercel"),
                                        kwargs={"queued_at": datetime.now(UTC).isoformat()})
        assert gate.wait_arrived(timeout=120), logs[0].read_text()[-3000:]
        [run] = runs_of(sessions)
        assert run.status == "running"
        crawl_pid = int(run.holder.rsplit(":", 1)[1])
        first.kill()  # SIGKILL: no warm shutdown, the task stays unacknowledged
        first.wait(timeout=60)
        # the crawl dies with its worker (SIGTERM from the kernel) and
        # records its run as interrupted, which frees the lease
        wait_for(lambda: process_gone(crawl_pid), "the orphaned crawl to stop", timeout=60)
        wait_for(lambda: runs_of(sessions)[0].status != "running", "the killed worker's run to end", timeout=60)
        assert [(r.status, r.reason) for r in runs_of(sessions)] == [("aborted", "aborted: interrupted")]

        # kombu's Redis transport keeps a delivered, unacknowledged task in
        # `unacked` (delivery time in `unacked_index`); a worker that starts
        # puts back those delivered more than the visibility timeout ago
        broker = redis.Redis.from_url(broker_url)
        [(_tag, delivered)] = broker.zrange("unacked_index", 0, -1, withscores=True)
        assert visibility < 3600, "the visibility timeout is kombu's default hour"
        wait_for(lambda: time.time() > delivered + visibility + 1, "the visibility timeout to pass",
                 timeout=visibility + 60)
        second = start_worker(project, broker_url, logs[1])
        assert gate.wait_arrived(2, timeout=120), logs[1].read_text()[-3000:]
        gate.release()
        result = task.get(timeout=120)
    finally:
        gate.release()
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=60)
    assert result["status"] == "complete" and result["seen"] == 2, result
    runs = runs_of(sessions)
    assert [(r.status, r.reason) for r in runs][0] == ("aborted", "aborted: interrupted")
    assert [r.status for r in runs] == ["aborted", "complete"]
    assert result["run_id"] == runs[1].id
    assert second.returncode == 0, logs[1].read_text()[-3000:]
