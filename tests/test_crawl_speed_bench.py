"""The crawl-speed benchmark (bench/crawl_speed.py --quick) in the suite, so
the harness cannot rot: every tool ran, every figure is there, and the
events jobdelta found are the board's truth. No timing is asserted: the
figures are compared side by side in the bench's own table."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import crawl_speed  # noqa: E402

pytestmark = pytest.mark.slow


def test_quick_bench_measures_every_tool_and_finds_the_truth(tmp_path: Path) -> None:
    opts = crawl_speed.options(["--quick", "--cache-dir", str(ROOT / "bench" / ".cache")])
    log = io.StringIO()
    results = crawl_speed.run(opts, log)
    text = crawl_speed.table(results)
    print(log.getvalue(), text, sep="\n")
    for why in results.skipped:
        print(f"skipped: {why}")
    steps = {(r.tool, r.step) for r in results.rows}
    for how in ("listing", "sitemap"):
        assert {(f"jobdelta ({how})", "first crawl"), (f"jobdelta ({how})", "change round")} <= steps, text
    assert ("bare Scrapy", "first crawl") in steps, text
    if not any(s.startswith("urlwatch") for s in results.skipped):
        assert ("urlwatch", "change round") in steps, text
    for r in results.rows:
        assert r.m.wall > 0 and r.m.cpu > 0 and r.m.peak_rss_mb > 0 and r.requests > 0, text
        if r.tool.startswith("jobdelta") or r.tool == "bare Scrapy":
            # every new, edited and removed posting found, nothing else, state as the board's
            assert (r.events_found, r.extra_events, r.note) == (r.events_truth, 0, ""), text
    ratios = crawl_speed.ratios(results, "sqlite", opts.sizes[0])
    assert all(value is not None and value > 0 for value in ratios.values()), ratios
    out = tmp_path / "table.md"
    crawl_speed.write_markdown(opts, results, out)
    assert "pages/s ÷ bare Scrapy" in out.read_text()
