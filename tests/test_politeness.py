"""Politeness and walls: Retry-After honoured, long waits given up, bot-check
pages reported as blocked, against the real crawl and unit by unit."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from scrapy.http import HtmlResponse, TextResponse

from crawler.middlewares.retry import retry_after_seconds
from crawler.replay import Reply
from spiders.greenhouse import GreenhouseSpider

from .conftest import DATA

BOARD = (DATA / "fixtures/greenhouse/hunt_vercel_jobs_content_true.json").read_text()
PATH = "/v1/boards/vercel/jobs"


@pytest.mark.parametrize("value, expected", [
    (None, None), (b"", None), (b"7", 7.0), ("120", 120.0), ("soon", None),
])
def test_retry_after_values(value, expected):
    assert retry_after_seconds(value) == expected


def test_retry_after_http_date():
    now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90
    assert retry_after_seconds(format_datetime(now - timedelta(seconds=5), usegmt=True), now) == 0


def _spider() -> GreenhouseSpider:
    return GreenhouseSpider(source="s", params={"token": "t"})


@pytest.mark.parametrize("body, status, expected", [
    ("<html><head><title>Security Checkpoint</title></head><body>Vercel Security Checkpoint</body></html>", 200,
     "blocked: 'Security Checkpoint' page"),
    ("<html><title>Just a moment...</title><body>Checking your browser</body></html>", 503, "blocked: 'Just a moment...'"),
    ("<html><body>Please sign in to view this page</body></html>", 200, "blocked: 'sign in to view'"),
    ("<html><body>Forbidden</body></html>", 403, "blocked: HTTP 403"),
])
def test_blocked_pages_are_named(body, status, expected):
    resp = HtmlResponse(url="https://example.test/jobs", body=body.encode(), status=status)
    assert _spider().blocked_reason(resp).startswith(expected)


def test_board_content_is_not_a_wall():
    posting = ("<html><body><h1>Engineer</h1><p>You will build our captcha-free signup and "
               "access control.</p>" + "<p>More text.</p>" * 400 + "</body></html>")
    assert _spider().blocked_reason(HtmlResponse(url="https://x.test/j/1", body=posting.encode())) is None
    api = TextResponse(url="https://x.test/api", body=b'{"jobs": []}', headers={"Content-Type": "application/json"})
    assert _spider().blocked_reason(api) is None


def _config(project, replay):
    project.write_config(f'[[sources]]\nname = "vercel"\nboard = "greenhouse"\ntoken = "vercel"\n'
                         f'base_url = "{replay.url}"\n')


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_retry_after_is_waited_for(project, replay):
    calls: list[float] = []

    def board(path, headers):
        calls.append(time.monotonic())
        if len(calls) == 1:
            return Reply("slow down", status=429, content_type="text/plain", headers={"Retry-After": "2"})
        return Reply(BOARD)

    replay.set_routes({PATH: board})
    _config(project, replay)
    proc = project.cli("crawl")
    assert proc.returncode == 0 and " complete " in proc.stdout, proc.stdout + proc.stderr
    assert len(calls) == 2 and calls[1] - calls[0] >= 2.0


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_long_retry_after_gives_up_and_expires_nothing(project, replay):
    replay.set_routes({PATH: Reply(BOARD)})
    _config(project, replay)
    assert project.cli("crawl").returncode == 0
    calls: list[float] = []

    def storm(path, headers):
        calls.append(time.monotonic())
        return Reply("rate limited", status=429, content_type="text/plain", headers={"Retry-After": "3600"})

    replay.set_routes({PATH: storm})
    proc = project.cli("crawl")
    assert proc.returncode == 1 and "HTTP 429" in proc.stdout
    assert len(calls) == 1  # not retried: waiting an hour would stall the run
    runs = project.json("runs")
    assert runs[0]["status"] == "failed" and runs[0]["expired"] == 0
    assert len(project.json("postings")) == 2


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_bot_check_instead_of_the_board_fails_as_blocked(project, replay):
    replay.set_routes({PATH: Reply(BOARD)})
    _config(project, replay)
    assert project.cli("crawl").returncode == 0
    wall = "<html><head><title>Vercel Security Checkpoint</title></head><body>We're verifying your browser</body></html>"
    replay.set_routes({PATH: Reply(wall, status=429, content_type="text/html")})
    proc = project.cli("crawl")
    assert proc.returncode == 1
    run = project.json("runs")[0]
    assert run["status"] == "failed" and "blocked: 'Security Checkpoint' page" in run["reason"]
    assert json.loads(project.cli("postings", "--format", "json").stdout).__len__() == 2
