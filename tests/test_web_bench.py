"""The web benchmark's harness (bench/web_speed.py --quick): it builds a small
history, runs every timed request through the app and the CLI, checks that
the as_of export and `jobdelta postings --at` agree, and prints its table.
Timings are not checked here (see docs/benchmarks.md)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.slow


def test_web_speed_quick(tmp_path):
    md = tmp_path / "bench.md"
    proc = subprocess.run([sys.executable, "bench/web_speed.py", "--quick", "--markdown", str(md)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    table = [line for line in proc.stdout.splitlines() if line.startswith("| ")]
    labels = [line.split("|")[1].strip() for line in table[1:]]
    assert "postings page, as_of a past round" in labels and "company timeline" in labels
    assert len(labels) == 14  # 13 requests and the export's row count
    rows = [line for line in table if line.startswith("| rows in the as_of export")][0]
    assert int(rows.split("|")[3].strip().replace(",", "")) > 250
    plans = md.read_text()
    assert "#### postings page, as_of a past round" in plans and "-- plan" in plans
