"""`jobdelta try`: one board run once against the replay server, nothing
stored, and what it parsed printed with whether the board was seen whole."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from crawler.app.trial import parse_param
from crawler.replay import Reply

from .conftest import DATA

BOARD = json.loads((DATA / "fixtures/greenhouse/hunt_vercel_jobs_content_true.json").read_text())
PATH = "/v1/boards/vercel/jobs"


def jobdelta(tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    # `try` starts Scrapy's reactor, which runs once per process: a process of its own
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBDELTA_")}
    return subprocess.run([sys.executable, "-m", "crawler.app.cli", *args], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env=env)


@pytest.mark.parametrize("text, expected", [
    ("token=vercel", ("token", "vercel")), ("eu=true", ("eu", True)), ("max_results=50", ("max_results", 50)),
    ('start_urls=["https://x.test/jobs"]', ("start_urls", ["https://x.test/jobs"])),
    ("allow=/jobs/\\d+", ("allow", "/jobs/\\d+")),
])
def test_params_read_as_toml_when_they_parse(text, expected):
    assert parse_param(text) == expected


@pytest.mark.slow
def test_try_prints_what_it_parsed_and_stores_nothing(tmp_path, replay):
    replay.set_routes({PATH: Reply(json.dumps({**BOARD, "meta": {"total": 2}}))})
    proc = jobdelta(tmp_path, "try", "greenhouse", "--param", "token=vercel", "--base-url", replay.url)
    assert proc.returncode == 0, proc.stderr
    assert "Account Executive, Commercial" in proc.stdout and "Account Executive, Majors" in proc.stdout
    assert "greenhouse: complete, 2 postings" in proc.stdout and "saw the whole board" in proc.stdout
    assert not list(tmp_path.glob("*.db")), "try must not store anything"

    replay.set_routes({PATH: Reply(json.dumps({**BOARD, "meta": {"total": 5}}))})
    result = json.loads(jobdelta(tmp_path, "try", "greenhouse", "-p", "token=vercel", "--base-url", replay.url,
                                 "--format", "json").stdout)
    assert result["status"] == "partial" and result["complete"] is False
    assert [p["external_id"] for p in result["postings"]] == ["6136160004", "5999792004"]
    assert result["errors"] == ["listing holds 2 of the 5 jobs it reports"]


@pytest.mark.slow
def test_try_errors(tmp_path, replay):
    proc = jobdelta(tmp_path, "try", "greenhouse")
    assert proc.returncode == 1 and proc.stderr.strip() == (
        "error: token: required for board 'greenhouse' (the board token in boards.greenhouse.io/<token>)")
    proc = jobdelta(tmp_path, "try", "nope")
    assert proc.returncode == 1 and proc.stderr.startswith("error: unknown board 'nope' (known: ")
    replay.set_routes({PATH: Reply("<html><title>Security Checkpoint</title></html>", status=403,
                                   content_type="text/html")})
    proc = jobdelta(tmp_path, "try", "greenhouse", "-p", "token=vercel", "--base-url", replay.url)
    assert proc.returncode == 1
    assert "greenhouse: failed, 0 postings" in proc.stdout and "blocked: 'Security Checkpoint' page" in proc.stdout
