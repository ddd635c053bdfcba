"""Atom feeds over real crawl history, and `jobdelta serve` as a real process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, insert

from crawler.expiry import event_row
from db.engine import session_factory
from db.migrate import upgrade
from db.models import Event
from web.app import WebSettings, create_app
from web.feeds import entry_id

from . import web_history

pytestmark = pytest.mark.slow
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module")
def hist(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    workdir = tmp_path_factory.mktemp("feeds")
    url = f"sqlite:///{workdir / 'history.db'}"
    upgrade(url)
    yield web_history.build(workdir, url)


@pytest.fixture(scope="module")
def client(hist) -> TestClient:
    return TestClient(create_app(WebSettings(hist.db_url)))


def entries(client: TestClient, url: str, **params) -> list[ET.Element]:
    r = client.get(url, params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(r.content)
    assert feed.tag == f"{ATOM}feed"
    return feed.findall(f"{ATOM}entry")


def text(entry: ET.Element, name: str) -> str:
    return entry.find(f"{ATOM}{name}").text or ""


def test_feed_of_all_events_newest_first_with_readable_summaries(client, hist):
    feed = entries(client, "/feeds/events.atom")
    api = client.get("/api/v1/events", params={"limit": 100}).json()["items"]
    assert [text(e, "id") for e in feed] == [entry_id(ev) for ev in api]
    changed = [e for e in feed if text(e, "title").startswith("Changed:") and "(EMEA)" in text(e, "title")]
    assert len(changed) == 1
    summary = text(changed[0], "summary")
    assert summary.startswith("changed: title") and "→" in summary and "(EMEA)" in summary
    assert text(changed[0], "title").endswith("at Vercel (vercel)")
    link = changed[0].find(f"{ATOM}link").get("href")
    assert link == f"http://testserver/postings/vercel:{hist.ids['a']}"


def test_entry_ids_are_stable_and_filters_apply(client, hist):
    first = [text(e, "id") for e in entries(client, "/feeds/events.atom")]
    assert first == [text(e, "id") for e in entries(client, "/feeds/events.atom")]
    expired = entries(client, "/feeds/events.atom", kind="expired")
    assert [text(e, "title").split(":")[0] for e in expired] == ["Expired"]
    assert set(text(e, "id") for e in expired) <= set(first)
    assert len(entries(client, "/feeds/sources/vercel.atom")) == len(first)
    assert len(entries(client, "/feeds/companies/Vercel.atom", kind="new")) == 5
    assert client.get("/feeds/sources/nope.atom").status_code == 404
    assert client.get("/feeds/companies/Nobody.atom").status_code == 404
    r = client.get("/feeds/events.atom", params={"colour": "red"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "unknown_parameter"


def test_hostile_board_text_is_escaped_and_stripped(hist):
    # an event from a board that sends markup and terminal escapes
    sessions = session_factory(hist.db_url)
    hostile = "<script>alert(1)</script>\x1b[31mRed\x07 & \x00co"
    with sessions() as s, s.begin():
        row = event_row("expired", 1, None, None, {"external_id": "x1", "title": hostile,
                                                   "company": hostile}, datetime.now(UTC),
                        "expired: <b>gone</b>")
        event_id = s.execute(insert(Event).values(**row).returning(Event.id)).scalar_one()
    try:
        r = TestClient(create_app(WebSettings(hist.db_url))).get("/feeds/events.atom",
                                                                 params={"kind": "expired"})
        assert r.status_code == 200
        assert b"<script>" not in r.content and b"\x1b" not in r.content and b"\x07" not in r.content
        entry = ET.fromstring(r.content).find(f"{ATOM}entry")
        assert text(entry, "title") == ("Expired: <script>alert(1)</script>Red & co at "
                                        "<script>alert(1)</script>Red & co (vercel)")
        assert text(entry, "summary") == "expired: <b>gone</b>"
    finally:
        with sessions() as s, s.begin():
            s.execute(delete(Event).where(Event.id == event_id))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_runs_uvicorn_on_loopback_and_refuses_wider_without_token(hist):
    config = hist.project.config
    env = dict(os.environ, JOBDELTA_DATABASE_URL=hist.db_url)
    wide = subprocess.run([sys.executable, "-m", "crawler.app.cli", "--config", str(config), "serve",
                           "--host", "0.0.0.0"], env=env, capture_output=True, text=True, timeout=120)
    assert wide.returncode == 1
    assert "refusing to listen on 0.0.0.0: without a token" in wide.stderr
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "crawler.app.cli", "--config", str(config), "serve",
                             "--port", str(port)], env=env, stderr=subprocess.PIPE, text=True)
    try:
        # uvicorn says so on stderr once it listens: wait for that line, not for time
        for line in proc.stderr:
            if "Uvicorn running on" in line:
                break
        else:
            pytest.fail(f"serve exited {proc.wait()} without listening")
        r = httpx.get(f"http://127.0.0.1:{port}/api/v1/status", timeout=60)
        assert r.status_code == 200 and r.json()["open_postings"] == 5
        assert httpx.post(f"http://127.0.0.1:{port}/api/v1/status", timeout=60).status_code == 405
    finally:
        proc.terminate()
        rest = proc.stderr.read()
        proc.wait(timeout=60)
    # a clean shutdown on SIGTERM (uvicorn re-raises the signal once it has finished)
    assert "Finished server process" in rest and proc.returncode in (0, -15)
