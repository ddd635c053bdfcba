"""The alert commands through the real CLI, against a real webhook receiver
on loopback: check, send, list, test, retry and status."""

from __future__ import annotations

import json

import pytest

from crawler.app.config import load_config
from crawler.expiry import Policy
from crawler.leases import ensure_source, start_run
from crawler.recorder import Outcome, RunRecorder

from .alert_servers import Reply
from .test_store import item

pytest_plugins = ("tests.alert_servers",)


@pytest.fixture
def configured(project, webhook_receiver, webhook_secret, monkeypatch):
    monkeypatch.setenv("HOOK_SECRET", webhook_secret)
    project.write_config(
        '[[sources]]\nname = "acme"\nboard = "greenhouse"\ntoken = "acme"\n\n'
        f'[[subscriptions]]\nname = "engineers"\nwebhook = "{webhook_receiver.url}/hook"\n'
        'secret_env = "HOOK_SECRET"\ntitle = "(?i)engineer"\n\n'
        f'[[subscriptions]]\nname = "all"\nwebhook = "{webhook_receiver.url}/all"\n'
        'secret_env = "HOOK_SECRET"\n')
    project.cli("db", "upgrade", check=True)
    return project


def run_board(project, sessions, items, outcome=None):
    cfg = load_config(str(project.config))
    with sessions.begin() as s:
        src = ensure_source(s, "acme", "greenhouse", {"token": "acme"})
        sid, rid = src.id, start_run(s, src, 60).id
    rec = RunRecorder(sessions, sid, rid, Policy(), subscriptions=[s.to_subscription() for s in cfg.subscriptions])
    for data in items:
        rec.add(data)
    return rec.finish(outcome or Outcome(complete=True))


def test_check_says_who_gets_what_and_why(configured, sessions):
    run_board(configured, sessions, [item("1", title="Senior Engineer"), item("2", title="Sales Manager")])
    rows = configured.json("alerts", "check", "--last", "5")
    verdicts = {(r["title"], r["subscription"]): r["verdict"] for r in rows}
    assert verdicts[("Senior Engineer", "engineers")].startswith("passes: ")
    assert "title matches" in verdicts[("Senior Engineer", "engineers")]
    assert verdicts[("Sales Manager", "engineers")].startswith("stopped: ")
    assert verdicts[("Sales Manager", "all")].startswith("passes: ")


def test_send_list_retry_and_status(configured, sessions, webhook_receiver):
    run_board(configured, sessions, [item("1", title="Senior Engineer"), item("2", title="Sales Manager")])
    pending = configured.json("alerts", "list", "--pending")
    assert sorted(d["subscription"] for d in pending) == ["all", "all", "engineers"]
    webhook_receiver.script(Reply(200), Reply(200), Reply(404))  # "all"'s second delivery refused
    out = configured.cli("alerts", "send", check=True).stdout
    assert "engineers" in out and "all" in out
    assert len(webhook_receiver.requests) == 3
    assert all(r.signature_ok for r in webhook_receiver.requests)
    failed = configured.json("alerts", "list", "--failed")
    assert len(failed) == 1 and "404" in failed[0]["last_error"]
    status = json.loads(configured.cli("status", "--format", "json", check=True).stdout)[0]
    assert status["sources"][0]["source"] == "acme" and status["sources"][0]["health"] == "ok"
    counts = {r["subscription"]: r for r in status["deliveries"]}
    assert counts["all"]["failed"] == 1 and counts["engineers"]["sent"] == 1
    assert configured.cli("alerts", "retry", "--subscription", "all", check=True).stdout == "1 delivery requeued\n"
    configured.cli("alerts", "send", check=True)
    assert len(webhook_receiver.requests) == 4
    assert configured.json("alerts", "list", "--failed") == []


def test_alerts_test_sends_a_sample_through_the_real_channel(configured, webhook_receiver):
    r = configured.cli("alerts", "test", "all")
    assert r.returncode == 0 and r.stdout == "all: sample alert delivered through webhook\n"
    received, = webhook_receiver.requests
    assert received.signature_ok and received.path == "/all"
    webhook_receiver.script(Reply(500))
    r = configured.cli("alerts", "test", "all")
    assert r.returncode == 1 and r.stderr.startswith("error: all: not delivered: ")
    assert configured.cli("alerts", "test", "nobody").returncode == 1


def test_a_sender_killed_between_send_and_mark_loses_nothing(configured, sessions, webhook_receiver,
                                                            webhook_secret):
    """SIGKILL while the receiver holds its answer (the POST arrived, the
    mark never happens): the next `alerts send` takes the dead sender's
    claim over and sends again, under the same webhook-id."""
    import os
    import signal
    import subprocess
    import sys

    from .alert_servers import Gate

    run_board(configured, sessions, [item("1", title="Engineer")])
    held = Gate()
    webhook_receiver.script(Reply(200, hold=held))
    env = dict(os.environ, HOOK_SECRET=webhook_secret)
    proc = subprocess.Popen([sys.executable, "-m", "crawler.app.cli", "--config", str(configured.config),
                             "alerts", "send", "--subscription", "engineers"], env=env,
                            cwd=configured.workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert held.arrived.wait(60), "the sender never posted"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        held.release()
        if proc.poll() is None:
            proc.kill()
    assert [d["status"] for d in configured.json("alerts", "list", "--subscription", "engineers")] == ["sending"]
    configured.cli("alerts", "send", "--subscription", "engineers", check=True)
    ids = [r.headers["webhook-id"] for r in webhook_receiver.requests if r.path == "/hook"]
    assert len(ids) == 2 and ids[0] == ids[1]
    assert [d["status"] for d in configured.json("alerts", "list", "--subscription", "engineers")] == ["sent"]
