"""Crawl speed: jobdelta beside a bare Scrapy spider and urlwatch, in one run.

At each size (``--sizes``, postings on one simulated ``jsonld`` board of
``bench/board_sim.py``) and on each database (``--backends``):

- jobdelta, through the real CLI (``jobdelta --config FILE crawl SOURCE``,
  a subprocess, download delay 0): a first crawl and a change round
  (``Board.advance``: 1% new, 1% edited, 1% removed), in two ways of
  reading the board: ``listing`` (the listing pages, then every posting
  page, each revalidated with its ETag: an unchanged page answers 304 and
  is not read) and ``sitemap`` (the board's sitemap: a posting page is
  fetched only when its ``lastmod`` moved);
- a bare Scrapy spider (``bench/bare_scrapy.py``, ``scrapy runspider``):
  the same listing and posting pages, JSON-LD read with ``json.loads``,
  no pipeline;
- urlwatch (installed from PyPI into its own venv under ``--cache-dir``),
  given every posting page's URL on loopback: its first run and its
  change round (it cannot see new postings: they are in no list of URLs).

Figures: wall and CPU seconds (``getrusage(RUSAGE_CHILDREN)`` deltas: the
process and all it started), requests the board served, pages/s, peak RSS
of the process tree (sampled from /proc), events found against the truth
(``Board.truth`` and the round's changes, compared with the database), and
the ratios the targets name: jobdelta pages/s ÷ bare Scrapy's (target
>= 0.8) and change-round CPU and wall ÷ first crawl's (target <= 0.10).
PostgreSQL runs on a database created for the run on 127.0.0.1:5432 (user
postgres) and dropped after.

    .venv/bin/python bench/crawl_speed.py --sizes 1000,5000,10000 --markdown docs/bench_crawl_speed.md
    .venv/bin/python bench/crawl_speed.py --quick      # tiny sizes: checks the harness only
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.board_sim import Board, BoardSim, Changes  # noqa: E402

BIN = Path(sys.executable).parent
JOBDELTA = BIN / "jobdelta"
SCRAPY = BIN / "scrapy"
PG_ADMIN_URL = os.environ.get("JOBDELTA_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
CONCURRENCY = 16  # requests in flight to the loopback board, for every tool
PAGE = os.sysconf("SC_PAGE_SIZE")


# --------------------------------------------------------------------------- measuring


@dataclass
class Measure:
    wall: float
    cpu: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return out


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants, now."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/statm", encoding="ascii") as f:
                total += int(f.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
        todo += _children(p)
    return total


def measure(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 3600) -> Measure:
    """Run ``cmd`` to its end: wall and CPU seconds of it and everything it
    started, and the peak RSS of its process tree (sampled every 50 ms)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss(proc.pid))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        done.set()
        sampler.join()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Measure(wall, cpu, peak[0] / 2**20, proc.returncode, out, err)


@dataclass
class Row:
    """One measured step."""

    backend: str
    size: int
    tool: str
    step: str  # first crawl | change round
    m: Measure
    requests: int
    events_found: int | None = None
    events_truth: int | None = None
    extra_events: int = 0
    note: str = ""

    @property
    def pages_per_s(self) -> float:
        return self.requests / self.m.wall if self.m.wall else 0.0


@dataclass
class Results:
    rows: list[Row] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def get(self, backend: str, size: int, tool: str, step: str) -> Row | None:
        return next((r for r in self.rows if (r.backend, r.size, r.tool, r.step) == (backend, size, tool, step)),
                    None)


# --------------------------------------------------------------------------- databases


def create_database(backend: str, workdir: Path) -> tuple[str, Callable[[], None]]:
    """A fresh database for one run of the bench, and how to drop it."""
    if backend == "sqlite":
        return f"sqlite:///{workdir / 'bench.db'}", lambda: None
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"jobdelta_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False), drop


# --------------------------------------------------------------------------- jobdelta


class Jobdelta:
    """jobdelta through its CLI on one database: a config naming one source
    per way of reading each board."""

    def __init__(self, sim: BoardSim, db_url: str, workdir: Path):
        self.sim, self.db_url, self.workdir = sim, db_url, workdir
        self.config = workdir / "jobdelta.toml"
        self.sources: dict[str, str] = {}  # name -> TOML block
        self.env = {**os.environ, "JOBDELTA_CACHE_DIR": str(workdir / "cache")}
        for var in ("JOBDELTA_DATABASE_URL", "JOBDELTA_CONFIG"):
            self.env.pop(var, None)
        self._sessions: Any = None

    def add(self, name: str, board: Board, how: str) -> None:
        base = self.sim.base_url(board)
        # listing mode walks every listing page: the board's default cap of
        # 500 pages (5,000 postings) would stop it partial at 10,000
        pages = len(board.truth()) // 10 + 100
        where = (f'sitemap_url = "{base}/sitemap.xml"' if how == "sitemap"
                 else f'start_urls = ["{base}/jobs?page=1"]\nmax_listing_pages = {pages}')
        self.sources[name] = (f'[[sources]]\nname = "{name}"\nboard = "jsonld"\n{where}\n'
                              f'allow = "/{board.name}/job/"\n')
        self.config.write_text(
            f'[database]\nurl = "{self.db_url}"\n\n[defaults]\ndownload_delay = 0\n'
            f"concurrency_per_domain = {CONCURRENCY}\nexpire_after_runs = 1\nbatch_size = 500\n"
            # the change round is run 2: no full refresh in it
            "full_refresh_every = 10\n\n" + "\n".join(self.sources.values()), encoding="utf-8")

    def upgrade(self) -> None:
        proc = subprocess.run([str(JOBDELTA), "--config", str(self.config), "db", "upgrade"],
                              env=self.env, cwd=self.workdir, capture_output=True, text=True, check=False)
        if proc.returncode:
            raise RuntimeError(f"jobdelta db upgrade failed: {proc.stderr[-1000:]}")

    def crawl(self, name: str) -> Measure:
        m = measure([str(JOBDELTA), "--config", str(self.config), "crawl", name], env=self.env, cwd=self.workdir)
        if m.returncode != 0:
            raise RuntimeError(f"jobdelta crawl {name} exited {m.returncode}:\n{m.stdout[-1500:]}\n{m.stderr[-1500:]}")
        return m

    def sessions(self) -> Any:
        if self._sessions is None:
            from db.engine import session_factory

            self._sessions = session_factory(self.db_url)
        return self._sessions

    def stored(self, name: str) -> dict[str, int]:
        """The source's open postings and the revision their current
        version states (the simulator writes "Revision N." in every
        description)."""
        from sqlalchemy import select

        from db.models import Posting, Source, Version

        with self.sessions()() as session:
            rows = session.execute(
                select(Posting.external_id, Version.data)
                .join(Version, (Version.posting_id == Posting.id) & (Version.version == Posting.version))
                .join(Source, Source.id == Posting.source_id)
                .where(Source.name == name, Posting.status == "open")).all()
        out = {}
        for ext, data in rows:
            text = (data or {}).get("description") or ""
            out[ext] = int(text.rsplit("Revision ", 1)[1].split(".")[0]) if "Revision " in text else -1
        return out

    def last_events(self, name: str) -> dict[str, set[str]]:
        """The events of the source's latest run, by kind: external ids."""
        from sqlalchemy import func, select

        from db.models import Event, Posting, Run, Source

        with self.sessions()() as session:
            run_id = session.scalar(select(func.max(Run.id)).join(Source, Source.id == Run.source_id)
                                    .where(Source.name == name))
            rows = session.execute(select(Event.kind, Posting.external_id)
                                   .join(Posting, Posting.id == Event.posting_id)
                                   .where(Event.run_id == run_id)).all()
        out: dict[str, set[str]] = {}
        for kind, ext in rows:
            out.setdefault(str(kind), set()).add(ext)
        return out

    def close(self) -> None:
        if self._sessions is not None:
            self._sessions.kw["bind"].dispose()


def state_matches(stored: dict[str, int], board: Board) -> bool:
    return stored == {ext: job.rev for ext, job in board.truth().items()}


def score_round(events: dict[str, set[str]], changes: Changes) -> tuple[int, int, int]:
    """Events found of the round's changes, the changes in all, and events
    that match no change."""
    want = {"new": set(changes.new), "changed": set(changes.edited), "expired": set(changes.removed)}
    found = sum(len(events.get(k, set()) & ids) for k, ids in want.items())
    extra = sum(len(events.get(k, set()) - ids) for k, ids in want.items())
    extra += sum(len(ids) for k, ids in events.items() if k not in want)
    return found, sum(len(ids) for ids in want.values()), extra


# --------------------------------------------------------------------------- bare Scrapy


def bare_scrapy(sim: BoardSim, board: Board, workdir: Path) -> tuple[Measure, dict[str, Any]]:
    out = workdir / f"bare-{board.name}.json"
    cmd = [str(SCRAPY), "runspider", str(ROOT / "bench" / "bare_scrapy.py"),
           "-a", f"url={sim.base_url(board)}/jobs?page=1", "-a", f"out={out}",
           "-a", f"allow=/{board.name}/job/",
           "-s", f"CONCURRENT_REQUESTS_PER_DOMAIN={CONCURRENCY}", "-s", "CONCURRENT_REQUESTS=16"]
    m = measure(cmd, cwd=workdir)
    if m.returncode != 0:
        raise RuntimeError(f"bare scrapy exited {m.returncode}: {m.stderr[-1500:]}")
    return m, json.loads(out.read_text())


# --------------------------------------------------------------------------- urlwatch


def urlwatch_bin(cache_dir: Path) -> tuple[Path | None, str]:
    """urlwatch in its own venv under ``cache_dir`` (installed from PyPI the
    first time); None and the reason when it cannot be installed."""
    venv = cache_dir / "urlwatch-venv"
    exe = venv / "bin" / "urlwatch"
    if exe.exists():
        return exe, ""
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300)
        proc = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "urlwatch"],
                              capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"urlwatch could not be installed: {exc}"
    if proc.returncode != 0 or not exe.exists():
        shutil.rmtree(venv, ignore_errors=True)
        return None, f"urlwatch could not be installed: {(proc.stderr or proc.stdout).strip()[-300:]}"
    return exe, ""


class Urlwatch:
    """urlwatch watching every posting page of one board, on loopback only."""

    def __init__(self, exe: Path, sim: BoardSim, board: Board, workdir: Path):
        self.exe, self.workdir = exe, workdir / f"urlwatch-{board.name}"
        self.workdir.mkdir()
        base = sim.base_url(board)
        self.urls = {ext: f"{base}/job/{ext}" for ext in board.truth()}
        (self.workdir / "urls.yaml").write_text(
            "\n---\n".join(f"name: '{ext}'\nurl: '{url}'" for ext, url in self.urls.items()) + "\n")
        (self.workdir / "urlwatch.yaml").write_text(
            "display:\n  new: true\n  error: true\n  unchanged: false\n"
            "report:\n  text:\n    details: false\n    footer: false\n    line_length: 200\n"
            "    minimal: true\n  stdout:\n    enabled: true\n    color: false\n"
            "  html:\n    diff: unified\n  markdown:\n    details: false\n    footer: false\n    minimal: true\n")
        (self.workdir / "hooks.py").write_text("")

    def run(self) -> Measure:
        w = self.workdir
        m = measure([str(self.exe), "--urls", str(w / "urls.yaml"), "--config", str(w / "urlwatch.yaml"),
                     "--hooks", str(w / "hooks.py"), "--cache", str(w / "cache.db")],
                    env={**os.environ, "HOME": str(w)}, cwd=w)
        if m.returncode not in (0, 1):
            raise RuntimeError(f"urlwatch exited {m.returncode}: {m.stderr[-1500:]}")
        return m

    @staticmethod
    def reported(m: Measure) -> dict[str, set[str]]:
        """The jobs urlwatch reported, by kind (CHANGED, ERROR, NEW)."""
        out: dict[str, set[str]] = {}
        for line in m.stdout.splitlines():
            head, _, rest = line.partition(": ")
            if head.strip() in ("CHANGED", "ERROR", "NEW") and rest:
                out.setdefault(head.strip(), set()).add(rest.split(" (")[0].strip())
        return out


# --------------------------------------------------------------------------- the run


def run_size(backend: str, size: int, sim: BoardSim, results: Results, uw_exe: Path | None,
             seed: int, log: TextIO) -> None:
    workdir = Path(tempfile.mkdtemp(prefix=f"crawl-speed-{backend}-{size}-"))
    db_url, drop = create_database(backend, workdir)
    jd = Jobdelta(sim, db_url, workdir)
    board = sim.add(Board(f"cs{backend[:2]}{size}", "jsonld", size, seed=seed))
    names = {"listing": f"{board.name}l", "sitemap": f"{board.name}s"}
    for how, name in names.items():
        jd.add(name, board, how)
    try:
        jd.upgrade()
        for how, name in names.items():
            board.reset_count()
            m = jd.crawl(name)
            stored = jd.stored(name)
            note = "" if state_matches(stored, board) else "stored postings differ from the board"
            results.rows.append(Row(backend, size, f"jobdelta ({how})", "first crawl", m, board.requests,
                                    len(set(stored) & set(board.truth())), size, note=note))
            print(f"  {backend} {size} jobdelta ({how}) first crawl: {m.wall:.1f}s wall, {m.cpu:.1f}s CPU",
                  file=log, flush=True)
        board.reset_count()
        m, counts = bare_scrapy(sim, board, workdir)
        results.rows.append(Row(backend, size, "bare Scrapy", "first crawl", m, board.requests,
                                counts["postings"], size))
        print(f"  {backend} {size} bare Scrapy: {m.wall:.1f}s wall, {m.cpu:.1f}s CPU", file=log, flush=True)
        watcher = None
        if uw_exe is not None:
            watcher = Urlwatch(uw_exe, sim, board, workdir)
            board.reset_count()
            m = watcher.run()
            results.rows.append(Row(backend, size, "urlwatch", "first crawl", m, board.requests,
                                    len(watcher.reported(m).get("NEW", set())), size))

        changes = board.advance()
        for how, name in names.items():
            board.reset_count()
            m = jd.crawl(name)
            found, truth, extra = score_round(jd.last_events(name), changes)
            note = "" if state_matches(jd.stored(name), board) else "stored postings differ from the board"
            results.rows.append(Row(backend, size, f"jobdelta ({how})", "change round", m, board.requests,
                                    found, truth, extra, note))
            print(f"  {backend} {size} jobdelta ({how}) change round: {m.wall:.1f}s wall, {m.cpu:.1f}s CPU",
                  file=log, flush=True)
        if watcher is not None:
            board.reset_count()
            m = watcher.run()
            seen = watcher.reported(m)
            found = len(seen.get("CHANGED", set()) & set(changes.edited)) + \
                len(seen.get("ERROR", set()) & set(changes.removed))
            extra = len(seen.get("CHANGED", set()) - set(changes.edited)) + \
                len(seen.get("ERROR", set()) - set(changes.removed))
            total = len(changes.new) + len(changes.edited) + len(changes.removed)
            results.rows.append(Row(backend, size, "urlwatch", "change round", m, board.requests, found, total,
                                    extra, "cannot see new postings"))
    finally:
        jd.close()
        del sim.boards[board.name]
        drop()
        shutil.rmtree(workdir, ignore_errors=True)


def ratios(results: Results, backend: str, size: int) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    bare = results.get(backend, size, "bare Scrapy", "first crawl")
    first = results.get(backend, size, "jobdelta (listing)", "first crawl")
    out["pages/s ÷ bare Scrapy"] = first.pages_per_s / bare.pages_per_s if first and bare and bare.pages_per_s else None
    for how in ("listing", "sitemap"):
        f = results.get(backend, size, f"jobdelta ({how})", "first crawl")
        c = results.get(backend, size, f"jobdelta ({how})", "change round")
        out[f"change CPU ÷ first ({how})"] = c.m.cpu / f.m.cpu if f and c and f.m.cpu else None
        out[f"change wall ÷ first ({how})"] = c.m.wall / f.m.wall if f and c and f.m.wall else None
    return out


def table(results: Results) -> str:
    lines = ["| db | postings | tool | step | wall s | CPU s | requests | pages/s | peak RSS MB "
             "| events found / truth | note |",
             "|---|---:|---|---|---:|---:|---:|---:|---:|---|---|"]
    for r in results.rows:
        events = f"{r.events_found} / {r.events_truth}" if r.events_truth is not None else ""
        if r.extra_events:
            events += f" (+{r.extra_events} wrong)"
        lines.append(f"| {r.backend} | {r.size} | {r.tool} | {r.step} | {r.m.wall:.2f} | {r.m.cpu:.2f} | "
                     f"{r.requests} | {r.pages_per_s:.0f} | {r.m.peak_rss_mb:.0f} | {events} | {r.note} |")
    lines += ["", "| db | postings | ratio | value | target |", "|---|---:|---|---:|---|"]
    for backend, size in dict.fromkeys((r.backend, r.size) for r in results.rows):
        for name, value in ratios(results, backend, size).items():
            target = ">= 0.80" if name.startswith("pages/s") else "<= 0.10"
            shown = f"{value:.2f}" if value is not None else "n/a"
            lines.append(f"| {backend} | {size} | {name} | {shown} | {target} |")
    if results.skipped:
        lines += [""] + [f"- skipped: {s}" for s in results.skipped]
    return "\n".join(lines)


def options(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes, SQLite only: checks the harness")
    ap.add_argument("--sizes", default="1000,5000,10000", help="postings per board, comma-separated")
    ap.add_argument("--backends", default="sqlite,postgres", help="sqlite, postgres or both")
    ap.add_argument("--no-urlwatch", action="store_true", help="skip urlwatch")
    ap.add_argument("--cache-dir", default=str(ROOT / "bench" / ".cache"), help="where urlwatch's venv lives")
    ap.add_argument("--markdown", metavar="FILE", help="also write the table to FILE")
    ap.add_argument("--seed", type=int, default=9)
    opts = ap.parse_args(argv)
    if opts.quick:
        opts.sizes, opts.backends = "60", "sqlite"
    opts.sizes = [int(s) for s in str(opts.sizes).split(",") if s]
    opts.backends = [b for b in str(opts.backends).split(",") if b]
    return opts


def run(opts: argparse.Namespace, log: TextIO = sys.stdout) -> Results:
    results = Results()
    uw_exe = None
    if opts.no_urlwatch:
        results.skipped.append("urlwatch: --no-urlwatch")
    else:
        uw_exe, why = urlwatch_bin(Path(opts.cache_dir))
        if uw_exe is None:
            results.skipped.append(f"urlwatch: {why}")
            print(f"urlwatch step skipped: {why}", file=log, flush=True)
    with BoardSim() as sim:
        for backend in opts.backends:
            for size in opts.sizes:
                run_size(backend, size, sim, results, uw_exe, opts.seed, log)
    return results


def main(argv: list[str] | None = None) -> int:
    opts = options(argv)
    results = run(opts)
    text = table(results)
    print(text)
    if opts.markdown:
        write_markdown(opts, results, Path(opts.markdown))
    return 0


def write_markdown(opts: argparse.Namespace, results: Results, path: Path) -> None:
    header = ("# Crawl speed: jobdelta, a bare Scrapy spider and urlwatch\n\n"
              f"`.venv/bin/python bench/crawl_speed.py --sizes {','.join(map(str, opts.sizes))} "
              f"--backends {','.join(opts.backends)}` on {os.cpu_count()} cores "
              f"(load average at the end: {os.getloadavg()[0]:.1f}).\n\n")
    path.write_text(header + table(results) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
