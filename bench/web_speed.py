"""History at scale through the web app: how fast the API answers over a
history of N postings and 30 rounds (1% new, 1% edited, 1% removed a
round), built by bench/history_data.py, on SQLite and PostgreSQL.

For each backend and size it times, through the real app (FastAPI's test
client, in process: routing, parameter checks, ETag, JSON encoding
included), a first page of postings as of a past round, the full NDJSON
export as of that round, `jobdelta postings --at` on the same moment (the
real CLI command, in process), one posting's versions and a diff, a page of
events since the first round, the company timeline, and more; each the
median of several tries after a warm-up. It prints a table with the targets
and how each figure grows from the smaller size to the larger one, and with
``--markdown FILE`` writes the table and the query plans (EXPLAIN of the
slowest statement of each request, captured as it ran) to FILE.

    .venv/bin/python bench/web_speed.py                      # 10k and 100k, both backends
    .venv/bin/python bench/web_speed.py --sizes 10000 --backends sqlite
    .venv/bin/python bench/web_speed.py --quick              # the harness only (the suite runs this)
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import event, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.history_data import PG_ADMIN_URL, _database, build_history  # noqa: E402
from db.engine import get_engine, session_factory  # noqa: E402
from db.models import Posting, Source  # noqa: E402

# (label, target in ms or None, how many timed tries)
CASES: list[tuple[str, float | None, int]] = [
    ("postings page, as_of a past round", 100, 5),
    ("postings page, now", 100, 5),
    ("postings page, one company", 100, 5),
    ("postings facets, now", None, 3),
    ("events page, since round 1", 100, 5),
    ("events page, one company", 100, 5),
    ("companies", 100, 3),
    ("posting with its versions", 50, 5),
    ("diff of two versions", 50, 5),
    ("company timeline", 300, 5),
    ("postings export NDJSON, as_of", 2000, 2),
    ("jobdelta postings --at (jsonl)", None, 2),
    ("events export NDJSON, since round 1", None, 1),
]


class Capture:
    """The SQL statements a request runs, with their parameters and times."""

    def __init__(self, engine: Any):
        self.engine, self.on, self.statements = engine, False, []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        conn.info["bench_t0"] = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if self.on and not many:
            self.statements.append((time.perf_counter() - conn.info.pop("bench_t0", time.perf_counter()),
                                    statement, params))

    @contextmanager
    def recording(self):  # noqa: ANN201
        self.statements, self.on = [], True
        try:
            yield self
        finally:
            self.on = False

    def main_statement(self) -> tuple[str, Any] | None:
        """The statement the request spent the longest in (the ETag's own
        query excluded)."""
        real = [s for s in self.statements if "max(runs.id)" not in s[1]]
        if not real:
            return None
        _, statement, params = max(real, key=lambda s: s[0])
        return statement, params


def explain(engine: Any, statement: str, params: Any) -> str:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
            return "\n".join(f"{'  ' * 0}{r[-1]}" for r in rows)
        rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS OFF) " + statement, params).all()
        return "\n".join(r[0] for r in rows)


def _time(fn: Callable[[], Any], tries: int) -> tuple[float, Any]:
    result = fn()  # warm-up (and the answer checked by the caller)
    times = []
    for _ in range(tries):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), result


def measure(url: str, summary: dict[str, Any], workdir: Path) -> tuple[dict[str, float], dict[str, str]]:
    from click.testing import CliRunner
    from fastapi.testclient import TestClient

    from crawler.app.cli import main as cli
    from web.app import WebSettings, create_app

    engine = get_engine(url)
    capture = Capture(engine)
    client = TestClient(create_app(WebSettings(url)))
    rounds = summary["rounds"]
    past = rounds[len(rounds) // 2]
    company = summary["companies"][0]
    with session_factory(url)() as s:
        # the posting with the most versions
        name, external_id = s.execute(
            select(Source.name, Posting.external_id).join(Source, Source.id == Posting.source_id)
            .order_by(Posting.version.desc(), Posting.id).limit(1)).one()
    key = quote(f"{name}:{external_id}", safe=":")
    config = workdir / "jobdelta.toml"
    config.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")

    def get(path: str, **params: Any) -> Callable[[], Any]:
        def call() -> Any:
            r = client.get(path, params=params)
            assert r.status_code == 200, (path, r.status_code, r.text[:300])
            return r
        return call

    def cli_postings() -> Any:
        r = CliRunner().invoke(cli, ["--config", str(config), "postings", "--at", past,
                                     "--format", "jsonl"], env={"JOBDELTA_DATABASE_URL": None})
        assert r.exit_code == 0, r.output[:300]
        return r

    calls: dict[str, Callable[[], Any]] = {
        "postings page, as_of a past round": get("/api/v1/postings", as_of=past),
        "postings page, now": get("/api/v1/postings"),
        "postings page, one company": get("/api/v1/postings", company=company),
        "postings facets, now": get("/api/v1/postings/facets"),
        "events page, since round 1": get("/api/v1/events", since=rounds[1]),
        "events page, one company": get("/api/v1/events", company=company),
        "companies": get("/api/v1/companies"),
        "posting with its versions": get(f"/api/v1/postings/{key}"),
        "diff of two versions": get(f"/api/v1/postings/{key}/diff"),
        "company timeline": get(f"/api/v1/companies/{quote(company, safe='')}/timeline"),
        "postings export NDJSON, as_of": get("/api/v1/postings.ndjson", as_of=past),
        "jobdelta postings --at (jsonl)": cli_postings,
        "events export NDJSON, since round 1": get("/api/v1/events.ndjson", since=rounds[1]),
    }
    figures, plans = {}, {}
    exported = None
    for label, _, tries in CASES:
        with capture.recording():
            calls[label]()
        main = capture.main_statement()
        if main:
            plans[label] = f"{main[0].strip()}\n\n-- plan\n{explain(engine, *main)}"
        figures[label], result = _time(calls[label], tries)
        if label == "postings export NDJSON, as_of":
            exported = result.text.count("\n")
        if label == "jobdelta postings --at (jsonl)":
            assert result.output.count("\n") == exported, "the API's as_of export and the CLI disagree"
    figures["rows in the as_of export"] = float(exported or 0)
    return figures, plans


def _fmt(ms: float) -> str:
    return f"{ms:,.0f}" if ms >= 100 else f"{ms:.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000", help="postings of round 0, comma-separated")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--pg-admin-url", default=os.environ.get("JOBDELTA_TEST_PG", PG_ADMIN_URL))
    parser.add_argument("--markdown", default=None, help="write the table and query plans here")
    parser.add_argument("--quick", action="store_true",
                        help="300 postings, 5 rounds, SQLite: checks the harness, not the timings")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.rounds, args.backends = "300", 5, "sqlite"
    sizes = [int(x) for x in args.sizes.split(",")]
    backends = args.backends.split(",")
    results: dict[tuple[str, int], dict[str, float]] = {}
    all_plans: dict[str, dict[str, str]] = {}
    for backend in backends:
        for size in sizes:
            with _database(backend, args.pg_admin_url, keep=False) as url, \
                    tempfile.TemporaryDirectory() as tmp:
                t0 = time.perf_counter()
                summary = build_history(url, size, args.rounds)
                built = time.perf_counter() - t0
                if get_engine(url).dialect.name == "postgresql":
                    with get_engine(url).begin() as conn:
                        conn.execute(text("ANALYZE"))
                print(f"{backend} {size:,} postings x {args.rounds} rounds: built in {built:.0f} s "
                      f"({summary['versions']:,} versions, {sum(summary['events'].values()):,} events)",
                      flush=True)
                figures, plans = measure(url, summary, Path(tmp))
                results[(backend, size)] = figures
                all_plans[f"{backend}, {size:,} postings"] = plans
    out = io.StringIO()
    head = ["request (ms, median)", "target"]
    for backend in backends:
        head += [f"{backend} {s:,}" for s in sizes]
        if len(sizes) > 1:
            head.append(f"{backend} x{sizes[-1] // sizes[0]} growth")
    out.write("| " + " | ".join(head) + " |\n|" + "---|" * len(head) + "\n")
    for label, target, _ in CASES:
        row = [label, f"< {target:,.0f}" if target else ""]
        for backend in backends:
            values = [results[(backend, s)][label] for s in sizes]
            cells = []
            for v in values:
                miss = target is not None and v > target
                cells.append(_fmt(v) + (" (missed)" if miss else ""))
            row += cells
            if len(sizes) > 1:
                row.append(f"x{values[-1] / values[0]:.1f}")
        out.write("| " + " | ".join(row) + " |\n")
    row = ["rows in the as_of export", ""]
    for backend in backends:
        row += [f"{results[(backend, s)]['rows in the as_of export']:,.0f}" for s in sizes]
        if len(sizes) > 1:
            row.append("")
    out.write("| " + " | ".join(row) + " |\n")
    print()
    print(out.getvalue())
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as md:
            md.write(out.getvalue())
            for where, plans in all_plans.items():
                md.write(f"\n### Query plans: {where}\n")
                for label, plan in plans.items():
                    md.write(f"\n#### {label}\n\n```sql\n{plan}\n```\n")
        print(f"table and plans written to {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
