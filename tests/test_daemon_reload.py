"""The daemon over months: SIGHUP reloads its config (sources added,
removed and rescheduled; a broken config refused with one log line and the
old one kept), run as a real process and followed through its log; and
schedule jitter, which spreads sources on one cron line over a window.

Every wait is on a log line or a run in the database, never a sleep.
"""

from __future__ import annotations

import random
import signal
from datetime import UTC, datetime, timedelta

import pytest

from crawler.app.config import config_from_dict
from scheduler.daemon import Daemon
from scheduler.triggers import schedule_trigger

from .test_process_model import board, by_source, source
from .test_scheduler import start_daemon, wait_for


def test_jitter_spreads_a_cron_line_over_its_window():
    random.seed(9)
    now = datetime(2026, 3, 4, 12, 30, tzinfo=UTC)
    fire = datetime(2026, 3, 4, 13, 0, tzinfo=UTC)
    plain = schedule_trigger("0 * * * *", None, now)
    assert plain.get_next_fire_time(None, now) == fire
    fires = [schedule_trigger("0 * * * *", None, now, jitter=60).get_next_fire_time(None, now)
             for _ in range(200)]
    assert all(fire <= t <= fire + timedelta(seconds=60) for t in fires)
    assert len({t.replace(microsecond=0) for t in fires}) > 30  # not 200 starts in one second
    # "every 1h" after a run 30 minutes ago: due in 30 minutes, up to 30 s late
    last = now - timedelta(minutes=30)
    every = schedule_trigger("every 1h", last, now, jitter=30).get_next_fire_time(None, now)
    assert last + timedelta(hours=1) <= every <= last + timedelta(hours=1, seconds=30)


def test_each_source_gets_its_jitter_or_the_default():
    cfg = config_from_dict({
        "defaults": {"jitter": 45},
        "sources": [{"name": "a", "board": "greenhouse", "token": "a", "schedule": "0 * * * *"},
                    {"name": "b", "board": "greenhouse", "token": "b", "schedule": "every 1h", "jitter": 0},
                    {"name": "c", "board": "greenhouse", "token": "c", "schedule": "every 1h", "jitter": 5}]})
    daemon = Daemon(cfg, {})
    assert {job.id: job.trigger.jitter for job in daemon.scheduler.get_jobs()} == {
        "crawl:a": 45, "crawl:b": None, "crawl:c": 5}
    assert "jitter" not in cfg.source("c").params


@pytest.mark.slow
def test_sighup_reloads_the_config(project, replay, sessions, tmp_path):
    replay.set_routes({f"/v1/boards/{n}/jobs": board() for n in ("a", "b", "c")})

    def write(*blocks: str) -> None:
        project.write_config("".join(blocks))

    write(source("a", replay, 'schedule = "every 1h"\n'))
    log_path = tmp_path / "daemon.log"
    proc = start_daemon(project, log_path)

    def log() -> str:
        return log_path.read_text()

    def hangup_and_wait(text: str) -> None:
        count = log().count("SIGHUP: ")
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: log().count("SIGHUP: ") > count, "the reload's log line", proc=proc, log=log_path)
        assert text in log(), log()

    try:
        wait_for(lambda: "crawl:a: complete" in log(), "a's first crawl", proc=proc, log=log_path)
        # a removed, b added: b is due (it never ran) and is crawled at once
        write(source("b", replay, 'schedule = "every 1h"\n'))
        hangup_and_wait("added: b; removed: a; rescheduled: none")
        wait_for(lambda: "crawl:b: complete" in log(), "b's first crawl", proc=proc, log=log_path)

        # a broken config is refused in one line and the old one kept
        project.config.write_text(project.config.read_text() + "[[sources]]\nname = \n")
        hangup_and_wait("SIGHUP: config not reloaded, keeping the previous one: ")
        refused = [line for line in log().splitlines() if "config not reloaded" in line]
        assert len(refused) == 1 and "not valid TOML" in refused[0], log()
        assert "Traceback" not in log(), log()

        # the kept config still has b: b rescheduled, c added
        write(source("b", replay, 'schedule = "every 2s"\n'), source("c", replay, 'schedule = "every 1h"\n'))
        hangup_and_wait("added: c; removed: none; rescheduled: b")
        wait_for(lambda: "crawl:c: complete" in log(), "c's first crawl", proc=proc, log=log_path)
        wait_for(lambda: len(by_source(sessions).get("b", [])) >= 2, "b's crawl on its new schedule",
                 proc=proc, log=log_path)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=120)
    assert code == 0, log()
    runs = by_source(sessions)
    assert len(runs["a"]) == 1 and all(r.status == "complete" for rs in runs.values() for r in rs), runs
    assert [line for line in log().splitlines() if "SIGHUP: config reloaded" in line][0].split(
        "config reloaded: ")[1].startswith("1 scheduled source(s)")
