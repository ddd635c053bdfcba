"""Observability through the real commands: a daemon's Prometheus metrics
(scraped over HTTP and parsed with prometheus_client's own parser) and its
JSON log records, and ``crawl --log-format json``: one record per run with
its fields, every other record JSON too, the summary table unchanged."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable

import pytest
from prometheus_client.parser import text_string_to_metric_families

from .test_celery import _redis_db, broker_url  # noqa: F401 (fixtures)
from .test_scheduler import GH_PATH, cli_env, gh_board, gh_source

WAIT = 120  # seconds: generous, for a loaded machine; each wait ends at its event


def jobdelta(config, *args: str) -> list[str]:
    return [sys.executable, "-m", "crawler.app.cli", "--config", str(config), *args]


class Lines:
    """A process's stderr, line by line, as it comes."""

    def __init__(self, proc: subprocess.Popen[str]):
        self.proc = proc
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, match: Callable[[str], bool], what: str) -> str:
        while True:
            try:
                line = self._queue.get(timeout=WAIT)
            except queue.Empty:
                pytest.fail(f"timed out waiting for {what}:\n" + "\n".join(self.seen[-30:]))
            if line is None:
                pytest.fail(f"the process exited before {what}:\n" + "\n".join(self.seen[-30:]))
            self.seen.append(line)
            if match(line):
                return line


    def rest(self) -> list[str]:
        """Every line, once the process closed its stderr."""
        while (line := self._queue.get(timeout=WAIT)) is not None:
            self.seen.append(line)
        return self.seen


def records(lines: list[str]) -> list[dict]:
    return [json.loads(line) for line in lines]


def scrape(url: str) -> dict[tuple[str, tuple], float]:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (loopback)
        text = response.read().decode()
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


@pytest.mark.slow
def test_daemon_serves_metrics_and_logs_one_json_record_per_run(project, replay, tmp_path):
    replay.set_routes({GH_PATH: gh_board()})
    project.write_config(gh_source("vercel", replay, schedule="every 1h"))  # never ran: due at once
    proc = subprocess.Popen(jobdelta(project.config, "--log-format", "json", "daemon", "--metrics-port", "0"),
                            cwd=project.workdir, env=cli_env(project.workdir), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        out = Lines(proc)
        listening = json.loads(out.wait_for(lambda ln: "metrics server listening" in ln, "the metrics server"))
        url = listening["message"].rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/metrics"), url
        run_line = out.wait_for(lambda ln: '"run_id"' in ln, "the run's record")
        run = json.loads(run_line)
        assert {k: run[k] for k in ("source", "status", "seen", "new", "changed", "expired", "reopened",
                                    "reason")} == {
            "source": "vercel", "status": "complete", "seen": 2, "new": 2, "changed": 0, "expired": 0,
            "reopened": 0, "reason": None}
        assert isinstance(run["run_id"], int) and run["duration"] >= 0 and run["level"] == "INFO"
        assert run["logger"] == "jobdelta.daemon" and run["message"].startswith("crawl:vercel: complete")

        samples = scrape(url)
        vercel = (("source", "vercel"),)
        assert samples[("jobdelta_runs_total", (("source", "vercel"), ("status", "complete")))] == 1
        assert samples[("jobdelta_postings_seen_total", vercel)] == 2
        assert samples[("jobdelta_events_total", (("kind", "new"), ("source", "vercel")))] == 2
        assert samples[("jobdelta_events_total", (("kind", "changed"), ("source", "vercel")))] == 0
        assert samples[("jobdelta_run_duration_seconds_count", vercel)] == 1
        assert samples[("jobdelta_run_duration_seconds_sum", vercel)] == pytest.approx(run["duration"], abs=1e-3)
        assert samples[("jobdelta_last_success_timestamp_seconds", vercel)] > 1.7e9
        assert samples[("jobdelta_database_up", ())] == 1

        proc.send_signal(signal.SIGTERM)
        out.wait_for(lambda ln: "daemon stopped" in ln, "the daemon to stop")
        assert proc.wait(timeout=WAIT) == 0
        # every record of the daemon is one JSON object
        assert all(r["level"] and r["logger"] and "message" in r for r in records(out.seen))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_crawl_with_json_logs_writes_one_record_per_run_and_the_same_table(project, replay):
    replay.set_routes({GH_PATH: gh_board()})
    project.write_config(gh_source("vercel", replay) + "\n" + gh_source("gone", replay).replace(
        'token = "vercel"', 'token = "nobody"'))
    proc = subprocess.run(jobdelta(project.config, "--log-format", "json", "crawl", "vercel", "gone"),
                          cwd=project.workdir, env=cli_env(project.workdir), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 1, proc.stderr  # "gone" failed: its board answers 404
    table = proc.stdout.splitlines()
    assert table[0].split() == ["source", "run_id", "status", "seen", "new", "changed", "expired",
                                "reopened", "reason"]
    assert [(ln.split()[0], ln.split()[2]) for ln in table[1:]] == [("vercel", "complete"), ("gone", "failed")]
    logged = records(ln for ln in proc.stderr.splitlines() if ln.startswith("{"))
    runs = {r["source"]: r for r in logged if "run_id" in r}
    assert set(runs) == {"vercel", "gone"}
    assert runs["vercel"]["status"] == "complete" and runs["vercel"]["new"] == 2
    assert runs["gone"]["status"] == "failed" and runs["gone"]["level"] == "ERROR" and runs["gone"]["reason"]
    assert all(isinstance(r["duration"], float) for r in runs.values())
    # nothing else on stderr but JSON records, and the alerts' lines (none here)
    assert [ln for ln in proc.stderr.splitlines() if not ln.startswith("{")] == []


@pytest.mark.slow
def test_worker_serves_metrics_of_the_tasks_it_ran(project, replay, broker_url):  # noqa: F811
    from scheduler.tasks import crawl_source

    replay.set_routes({GH_PATH: gh_board()})
    config = project.write_config(gh_source("vercel", replay))
    proc = subprocess.Popen(jobdelta(config, "--log-format", "json", "worker", "--metrics-port", "0"),
                            cwd=project.workdir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=cli_env(project.workdir, JOBDELTA_BROKER_URL=broker_url))
    try:
        out = Lines(proc)
        listening = json.loads(out.wait_for(lambda ln: "metrics server listening" in ln, "the metrics server"))
        url = listening["message"].rsplit(" ", 1)[-1]
        summary = crawl_source.delay(str(config), "vercel").get(timeout=WAIT)
        assert summary["status"] == "complete"
        run = json.loads(out.wait_for(lambda ln: '"run_id"' in ln and '"jobdelta.run"' in ln, "the run's record"))
        assert (run["source"], run["run_id"], run["seen"], run["new"]) == ("vercel", summary["run_id"], 2, 2)
        samples = scrape(url)
        assert samples[("jobdelta_runs_total", (("source", "vercel"), ("status", "complete")))] == 1
        assert samples[("jobdelta_events_total", (("kind", "new"), ("source", "vercel")))] == 2
        assert samples[("jobdelta_last_success_timestamp_seconds", (("source", "vercel"),))] > 1.7e9
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=WAIT) == 0
        # every line the worker wrote is a JSON record (Celery's warnings included)
        assert all(line.startswith("{") for line in out.rest() if line.strip()), out.seen
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_crawl_on_a_terminal_shows_a_line_per_source_and_keeps_stdout_plain(project, replay):
    import os
    import pty

    replay.set_routes({GH_PATH: gh_board()})
    project.write_config(gh_source("vercel", replay))
    master, slave = pty.openpty()  # stderr is a terminal; stdout a pipe
    proc = subprocess.Popen(jobdelta(project.config, "crawl"), cwd=project.workdir, stdout=subprocess.PIPE,
                            stderr=slave, text=True, env=cli_env(project.workdir, COLUMNS="120"))
    os.close(slave)
    screen = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal closed: every process writing to it exited
            break
        if not chunk:
            break
        screen += chunk
    os.close(master)
    stdout, _ = proc.communicate(timeout=WAIT)
    assert proc.returncode == 0, screen.decode(errors="replace")
    assert "vercel: complete (run 1); seen 2, new 2, changed 0, expired 0, reopened 0" in screen.decode()
    assert stdout.splitlines()[0].split()[:3] == ["source", "run_id", "status"]
    assert "\x1b" not in stdout
