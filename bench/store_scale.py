"""Benchmark: storing runs of large boards, side by side in one process.

Feeds synthetic boards of 1,000 and 10,000 postings (real-sized postings:
the Vercel description from the test data) through the RunRecorder on a
fresh SQLite file (or $BENCH_DATABASE_URL), three runs each: all new, all
unchanged, 10% changed and 5% gone. Prints seconds, statements per run,
postings per second and the peak Python memory of each run, then the
10k/1k ratios: time should grow about linearly, statements and memory much
less (batched writes; only ids and hashes are held per posting).

    .venv/bin/python bench/store_scale.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from sqlalchemy import event

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.expiry import Policy  # noqa: E402
from crawler.items import Posting  # noqa: E402
from crawler.leases import ensure_source, start_run  # noqa: E402
from crawler.recorder import Outcome, RunRecorder  # noqa: E402
from db.engine import get_engine, session_factory  # noqa: E402
from db.migrate import upgrade  # noqa: E402

FIXTURE = ROOT / "tests/data/fixtures/greenhouse/hunt_vercel_jobs_content_true.json"


def postings(n: int, round_no: int) -> list[dict]:
    job = json.loads(FIXTURE.read_text())["jobs"][0]
    out = []
    for i in range(n):
        if round_no == 3 and i % 20 == 0:
            continue  # 5% gone
        title = f"{job['title']} #{i}" + (" (updated)" if round_no == 3 and i % 10 == 1 else "")
        out.append(Posting(source="bench", external_id=str(i), title=title, company="Vercel",
                           url=f"https://example.test/jobs/{i}", description=job["content"] * 3,
                           locations=[{"raw": "London", "city": "London", "region": None, "country": "GB"}]
                           ).to_dict())
    return out


def one_run(sessions, engine, name: str, items: list[dict]) -> dict:
    with sessions.begin() as s:
        src = ensure_source(s, name, "greenhouse", {"token": name})
        rid, sid = start_run(s, src, 600).id, src.id
    statements = [0]

    def count(*_a, **_k):
        statements[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    tracemalloc.start()
    t0 = time.perf_counter()
    rec = RunRecorder(sessions, sid, rid, Policy(expire_after_runs=1))
    for data in items:
        rec.add(data)
    run = rec.finish(Outcome(complete=True))
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    event.remove(engine, "before_cursor_execute", count)
    return {"seconds": elapsed, "statements": statements[0], "peak_mb": peak / 1e6, "seen": run.seen,
            "new": run.new, "changed": run.changed, "expired": run.expired}


def main() -> None:
    url = os.environ.get("BENCH_DATABASE_URL")
    tmp = tempfile.TemporaryDirectory()
    url = url or f"sqlite:///{tmp.name}/bench.db"
    upgrade(url)
    sessions, engine = session_factory(url), get_engine(url)
    results: dict[int, list[dict]] = {}
    for n in (1_000, 10_000):
        board = f"bench-{n}"
        results[n] = [one_run(sessions, engine, board, postings(n, r)) for r in (1, 2, 3)]
    print(f"database: {engine.dialect.name}")
    print(f"{'postings':>9} {'run':>10} {'seconds':>8} {'per sec':>9} {'stmts':>6} {'peak MB':>8}  events")
    labels = ("all new", "unchanged", "10% edit")
    for n, runs in results.items():
        for label, r in zip(labels, runs, strict=True):
            print(f"{n:>9} {label:>10} {r['seconds']:>8.2f} {r['seen'] / r['seconds']:>9.0f} "
                  f"{r['statements']:>6} {r['peak_mb']:>8.1f}  new={r['new']} changed={r['changed']} "
                  f"expired={r['expired']}")
    print("10k/1k ratios (10x the postings):")
    for i, label in enumerate(labels):
        a, b = results[1_000][i], results[10_000][i]
        print(f"  {label:>10}: time x{b['seconds'] / a['seconds']:.1f}, statements "
              f"x{b['statements'] / a['statements']:.1f}, peak memory x{b['peak_mb'] / a['peak_mb']:.1f}")


if __name__ == "__main__":
    main()
