"""Benchmark: one-response boards of 1,000 to 100,000 postings, in flat memory.

Serves a Greenhouse-shaped board from :mod:`board_sim` (postings of about
7.5 KB, as real ones: 75 MB at 10,000) and, for each size, side by side in
one run:

- ``bare scrapy``: a bare Scrapy spider that fetches the same response and
  ``json.loads`` it, nothing else: the memory floor of reading it whole;
- ``jobdelta``: the real CLI, ``jobdelta crawl --config FILE big``, on a
  fresh SQLite file (and a fresh PostgreSQL database with ``--postgres``),
  a first crawl and then a round with 1% of the postings new, edited and
  removed. After each crawl the open postings in the database are checked
  against the board's truth.

Each command runs as a subprocess; its process tree is polled from /proc
for the peak of its summed memory (proportional set size, so pages two
processes share count once: ``tree MB``), and every
process's own high-water mark (``VmHWM``, which no poll can miss) gives the
largest single process (``process MB``). Wall and CPU seconds are those of
the whole tree. Targets (issue 9): peak < 300 MB at 10,000 postings and
within +10% of that at 100,000.

    .venv/bin/python bench/big_board.py                      # 1,000, 10,000, 100,000
    .venv/bin/python bench/big_board.py --sizes 1000,10000 --postgres
    .venv/bin/python bench/big_board.py --quick               # the harness check of the suite
    .venv/bin/python bench/big_board.py --markdown docs/bench_big_board.md
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from board_sim import Board, BoardSim  # noqa: E402

JOBDELTA = ROOT / ".venv" / "bin" / "jobdelta"
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
DESCRIPTION_BYTES = 6900  # filler per job: about 7.5 KB a job in the response, as real boards
TARGET_10K_MB = 300
TARGET_GROWTH = 1.10  # 100,000 postings within +10% of 10,000
# What the issue measured before this work (the crawl process, 64 MiB cap raised).
BEFORE = {1000: 289, 10000: 548}

# The memory floor: fetch the one response and json.loads it, nothing else.
BARE_SPIDER = r"""
import json, sys
import scrapy
from scrapy.crawler import CrawlerProcess

class Bare(scrapy.Spider):
    name = "bare"
    count = None

    def __init__(self, url, **kwargs):
        super().__init__(**kwargs)
        self.url = url

    async def start(self):
        yield scrapy.Request(self.url, callback=self.read_board)

    def read_board(self, response):
        Bare.count = len(json.loads(response.body)["jobs"])

process = CrawlerProcess({"LOG_LEVEL": "ERROR", "ROBOTSTXT_OBEY": False, "DOWNLOAD_MAXSIZE": 0,
                          "DOWNLOAD_WARNSIZE": 0, "DOWNLOAD_TIMEOUT": 900,
                          "TELNETCONSOLE_ENABLED": False})
process.crawl(Bare, url=sys.argv[1])
process.start()
print(json.dumps({"jobs": Bare.count}))
"""


@dataclass
class Measure:
    """One command's run: its exit, output and costs."""

    returncode: int
    stdout: str
    stderr: str
    wall: float
    cpu: float
    tree_mb: float
    process_mb: float


@dataclass
class Row:
    size: int
    body_mb: float
    tool: str
    round: str
    status: str
    truth_ok: bool | None
    m: Measure
    notes: list[str] = field(default_factory=list)


def _descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    tree, todo = [root], [root]
    while todo:
        pid = todo.pop()
        kids = [c for c, p in parents.items() if p == pid]
        tree += kids
        todo += kids
    return tree


def _memory_kb(pid: int) -> tuple[int, int]:
    """Proportional set size (shared pages split between the processes that
    share them, so a tree's sum counts each page once) and VmHWM (the
    process's own peak resident set) of one process, in kB; 0 once gone."""
    pss = hwm = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
                    break
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
    except OSError:
        pass
    return pss, hwm


def measure(cmd: list[str], env: dict[str, str] | None = None, poll: float = 0.05) -> Measure:
    """Run ``cmd`` and measure its process tree (see the module docstring)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=ROOT)
        tree_peak = 0
        hwm: dict[int, int] = {}
        done = threading.Event()

        def watch() -> None:
            nonlocal tree_peak
            while not done.is_set():
                total = 0
                for pid in _descendants(proc.pid):
                    pss, high = _memory_kb(pid)
                    total += pss
                    hwm[pid] = max(hwm.get(pid, 0), high)
                tree_peak = max(tree_peak, total)
                done.wait(poll)  # the polling interval of the measurement

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        proc.wait()
        wall = time.perf_counter() - start
        done.set()
        watcher.join()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Measure(proc.returncode, stdout, stderr, wall, cpu, tree_peak / 1024,
                   max(hwm.values(), default=0) / 1024)


# --------------------------------------------------------------------------- the runs


def bare_scrapy(url: str, size: int) -> tuple[str, bool, Measure]:
    m = measure([sys.executable, "-c", BARE_SPIDER, url])
    try:
        jobs = json.loads(m.stdout.strip().splitlines()[-1])["jobs"]
    except (IndexError, ValueError, KeyError):
        jobs = None
    return ("ok" if m.returncode == 0 and jobs is not None else "failed"), jobs == size, m


class Store:
    """A fresh database for one size: SQLite in a temporary folder, or a
    uniquely named PostgreSQL database, dropped at the end."""

    def __init__(self, kind: str, workdir: Path):
        self.kind = kind
        if kind == "sqlite":
            self.url = f"sqlite:///{workdir / 'bench.db'}"
            self.name = None
        else:
            self.name = f"jobdelta_bench_big_{os.getpid()}_{uuid.uuid4().hex[:8]}"
            self._admin(f'CREATE DATABASE "{self.name}"')
            self.url = PG_ADMIN.rsplit("/", 1)[0] + "/" + self.name
        from db.migrate import upgrade

        upgrade(self.url)

    def _admin(self, statement: str) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(statement))
        engine.dispose()

    def open_ids(self) -> set[str]:
        from sqlalchemy import create_engine, select

        from db.models import Posting

        engine = create_engine(self.url)
        try:
            with engine.connect() as conn:
                return set(conn.scalars(select(Posting.external_id).where(Posting.status == "open")))
        finally:
            engine.dispose()

    def drop(self) -> None:
        if self.name:
            from db.engine import _engine

            _engine.cache_clear()
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def jobdelta_crawl(config: Path, store: Store, board: Board) -> tuple[str, bool, Measure]:
    env = {**os.environ, "JOBDELTA_CACHE_DIR": str(config.parent / "httpcache")}
    env.pop("JOBDELTA_DATABASE_URL", None)
    env.pop("JOBDELTA_CONFIG", None)
    m = measure([str(JOBDELTA), "--config", str(config), "crawl", "big"], env=env)
    status = "failed"
    for line in m.stdout.splitlines():
        parts = line.split()
        if parts[:1] == ["big"] and len(parts) >= 3:
            status = parts[2]
    truth_ok = store.open_ids() == set(board.truth())
    return status, truth_ok, m


def write_config(path: Path, db_url: str, base_url: str, max_mb: int) -> None:
    path.write_text(
        f'[database]\nurl = "{db_url}"\n\n'
        f"[defaults]\ndownload_delay = 0\nobey_robots = false\ndownload_timeout = 900\nexpire_after_runs = 1\n"
        f"max_download_mb = {max_mb}\n\n"
        f'[[sources]]\nname = "big"\nboard = "greenhouse"\ntoken = "big"\nbase_url = "{base_url}"\n',
        encoding="utf-8")


def run_size(size: int, databases: list[str], description_bytes: int, rounds: int) -> list[Row]:
    rows: list[Row] = []
    board = Board(f"big{size}", "greenhouse", size, seed="big-board", description_bytes=description_bytes)
    with BoardSim() as sim, tempfile.TemporaryDirectory(prefix="bench-big-") as tmp:
        base = sim.base_url(board)
        sim.add(board)
        url = f"{base}/v1/boards/big/jobs?content=true"
        body_mb = len(board._greenhouse(sorted(board.jobs.values(), key=lambda j: (len(j.id), j.id)),
                                        frozenset()).body) / 2**20
        max_mb = max(512, 2 ** (int(body_mb * 1.5)).bit_length())
        status, ok, m = bare_scrapy(url, size)
        rows.append(Row(size, body_mb, "bare scrapy (json.loads)", "fetch", status, ok, m))
        for kind in databases:
            # every database starts from the same board: its rounds are undone by a fresh board
            board = Board(f"big{size}", "greenhouse", size, seed="big-board",
                          description_bytes=description_bytes)
            sim.add(board)
            workdir = Path(tmp) / kind
            workdir.mkdir()
            store = Store(kind, workdir)
            try:
                config = workdir / "jobdelta.toml"
                write_config(config, store.url, base, max_mb)
                for n in range(rounds):
                    what = "first crawl"
                    if n:
                        board.advance(0.01)
                        what = "1% changed"
                    status, ok, m = jobdelta_crawl(config, store, board)
                    row = Row(size, body_mb, f"jobdelta ({kind})", what, status, ok, m)
                    if status != "complete":
                        row.notes.append((m.stdout.strip().splitlines() or [""])[-1][:200])
                    rows.append(row)
            finally:
                store.drop()
    return rows


# --------------------------------------------------------------------------- the report


def table(rows: list[Row]) -> str:
    head = ("| postings | body MB | tool | round | status | stored = truth | wall s | CPU s "
            "| tree MB | process MB |")
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        truth = "—" if r.truth_ok is None else ("yes" if r.truth_ok else "**no**")
        lines.append(f"| {r.size:,} | {r.body_mb:.1f} | {r.tool} | {r.round} | {r.status} | {truth} "
                     f"| {r.m.wall:.1f} | {r.m.cpu:.1f} | {r.m.tree_mb:.0f} | {r.m.process_mb:.0f} |")
    return "\n".join(lines)


def verdicts(rows: list[Row]) -> list[str]:
    out = []
    for kind in sorted({r.tool for r in rows if r.tool.startswith("jobdelta")}):
        first = {r.size: r for r in rows if r.tool == kind and r.round == "first crawl"}
        peak = {s: max(r.m.tree_mb for r in rows if r.tool == kind and r.size == s) for s in first}
        if 10000 in peak:
            verdict = "met" if peak[10000] < TARGET_10K_MB else "MISSED"
            out.append(f"{kind}: peak {peak[10000]:.0f} MB at 10,000 postings "
                       f"(target < {TARGET_10K_MB} MB): {verdict}")
        if 10000 in peak and 100000 in peak:
            ratio = peak[100000] / peak[10000]
            verdict = "met" if ratio <= TARGET_GROWTH else "MISSED"
            out.append(f"{kind}: 100,000 / 10,000 peak = {ratio:.2f} (target <= {TARGET_GROWTH:.2f}): {verdict}")
        for s, before in BEFORE.items():
            if s in peak:
                out.append(f"{kind}: {s:,} postings, before (issue 9: the crawl process) {before} MB, "
                           f"now process {max(r.m.process_mb for r in rows if r.tool == kind and r.size == s):.0f} MB, "
                           f"tree {peak[s]:.0f} MB")
    bare = {r.size: r for r in rows if r.tool.startswith("bare")}
    for kind in sorted({r.tool for r in rows if r.tool.startswith("jobdelta")}):
        for s, b in bare.items():
            mine = [r for r in rows if r.tool == kind and r.size == s and r.round == "first crawl"]
            if mine and b.m.tree_mb:
                out.append(f"{kind}: {s:,} postings, first crawl peak / bare Scrapy's = "
                           f"{mine[0].m.tree_mb / b.m.tree_mb:.2f}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="postings per board, comma-separated")
    parser.add_argument("--quick", action="store_true", help="one small board on SQLite: checks the harness")
    parser.add_argument("--postgres", action="store_true", help="also crawl into PostgreSQL on 127.0.0.1:5432")
    parser.add_argument("--rounds", type=int, default=2, help="crawls per database: a first crawl, then 1%% rounds")
    parser.add_argument("--description-bytes", type=int, default=DESCRIPTION_BYTES)
    parser.add_argument("--markdown", type=Path, help="also write the table to this Markdown file")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON (for the suite's check)")
    args = parser.parse_args(argv)
    sizes = [200] if args.quick else [int(s) for s in args.sizes.split(",") if s.strip()]
    description_bytes = 1000 if args.quick else args.description_bytes
    databases = ["sqlite"] + (["postgres"] if args.postgres and not args.quick else [])
    rows: list[Row] = []
    for size in sizes:
        print(f"-- {size:,} postings", file=sys.stderr, flush=True)
        rows += run_size(size, databases, description_bytes, args.rounds)
    text = table(rows)
    notes = verdicts(rows) + [f"{r.size:,} {r.tool} {r.round}: {n}" for r in rows for n in r.notes]
    print(text)
    for line in notes:
        print(line)
    if args.markdown:
        command = "python bench/big_board.py " + " ".join(argv if argv is not None else sys.argv[1:])
        args.markdown.write_text(
            "# One-response boards in flat memory (bench/big_board.py)\n\n"
            f"`{command.strip()}` on this machine ({os.cpu_count()} cores); Greenhouse-shaped board "
            f"from bench/board_sim.py, about {description_bytes + 600:,} bytes a posting.\n\n"
            + text + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n", encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps([
            {"size": r.size, "body_mb": r.body_mb, "tool": r.tool, "round": r.round, "status": r.status,
             "truth_ok": r.truth_ok, "wall": r.m.wall, "cpu": r.m.cpu, "tree_mb": r.m.tree_mb,
             "process_mb": r.m.process_mb} for r in rows], indent=1), encoding="utf-8")
    return 0 if all(r.status in ("ok", "complete") and r.truth_ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
