"""The big-board benchmark's harness (bench/big_board.py --quick): it runs the
bare Scrapy spider and the real CLI crawls against the simulated board, and
reports every figure, with the database holding exactly the board's truth
after each crawl. Timings and memory are reported, never asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def test_quick_run_reports_every_figure_and_stores_the_truth(tmp_path: Path) -> None:
    out, md = tmp_path / "rows.json", tmp_path / "big.md"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "big_board.py"), "--quick",
                           "--json", str(out), "--markdown", str(md)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = json.loads(out.read_text())
    assert [(r["tool"], r["round"]) for r in rows] == [
        ("bare scrapy (json.loads)", "fetch"),
        ("jobdelta (sqlite)", "first crawl"),
        ("jobdelta (sqlite)", "1% changed"),
    ]
    for r in rows:
        assert r["size"] == 200 and r["truth_ok"] is True, r
        assert r["status"] in ("ok", "complete"), r
        assert r["body_mb"] > 0 and r["wall"] > 0 and r["cpu"] > 0, r
        assert r["tree_mb"] > 0 and r["process_mb"] > 0, r
    table = md.read_text()
    assert table.startswith("# One-response boards in flat memory")
    assert table.count("| 200 |") == 3 and "first crawl peak / bare Scrapy's" in table
    assert "| jobdelta (sqlite) | 1% changed | complete | yes |" in proc.stdout
