"""The many-sources benchmark's harness (``bench/many_sources.py --quick``):
every mode crawls all its sources to complete runs whose postings are the
boards' truth. Timings are printed by the bench, never checked here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import IN_CI

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def _redis_up() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url("redis://127.0.0.1:6379", socket_connect_timeout=3).ping())
    except redis.RedisError:
        return False


def test_quick_round_completes_every_mode(tmp_path):
    modes = "one,old,run-due,crawl" + (",queue" if _redis_up() or IN_CI else "")
    out = tmp_path / "table.md"
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "many_sources.py"), "--quick",
                             "--modes", modes, "--markdown", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    wanted = modes.split(",")
    lines = result.stdout.splitlines()
    rows = {line.split()[0]: line.split() for line in lines[1:] if line.split() and line.split()[0] in wanted}
    assert sorted(rows) == sorted(wanted), result.stdout
    for mode, cells in rows.items():
        sources = "1" if mode == "one" else "5"
        # runs complete and postings = truth, the last two columns
        assert cells[-2:] == [f"{sources}/{sources}"] * 2, (mode, result.stdout)
    table = out.read_text()
    assert table.startswith("# Many sources in one round") and "| run-due | sqlite |" in table, table
