"""Reliability drills: the real crawler against a failing board, checked
against the board's truth.

Every drill crawls simulated boards (:mod:`bench.board_sim`, one per shape:
greenhouse, jsonld, smartrecruiters) with the real CLI, ``jobdelta --config
CFG crawl SOURCES --jobs 3`` as a subprocess, or ``python -m
crawler.app.runner --config CFG SOURCE`` when the drill must own the crawl
process. Each drill gets fresh sources and boards, so one drill's damage
never leaks into the next, and runs on SQLite and on PostgreSQL (a database
``jobdelta_drill_<pid>_<random>`` created on the shared server and dropped
afterwards).

A drill is: a baseline crawl; then, per round, the boards advance (1% new,
1% edited, 1% removed), the fault is switched on for one crawl, and
``expire_after_runs`` clean crawls follow (a removal needs that many
complete runs to expire); then the database is compared with the truth.
The drills:

- ``fault:<name>``: one fault of :data:`bench.board_sim.FAULTS` on every
  board it applies to; ``fault:shrink`` removes 60% of each board for good
  (followed by ``confirm_runs + 1`` clean crawls), ``fault:long_id`` adds a
  posting with a 600-character id.
- ``mixed``: every round, each board gets a different fault at once.
- ``kill``: N times, a crawl process (``python -m crawler.app.runner``) is
  SIGKILLed at a random request (the board holds that request, the drill
  kills, then lets it go), then clean crawls.
- ``concurrent``: two crawl processes of each source started at once; the
  winner is held mid-run by the board; the other must be refused by the
  lease.
- ``pg-restart`` (PostgreSQL, full run only): a private cluster (initdb
  into a temp dir, on a free port, as user postgres when run as root) is
  restarted with ``pg_ctl restart`` while crawls are held mid-run.
- ``celery-kill`` (PostgreSQL, full run only): a ``jobdelta worker`` on a
  claimed, empty Redis database is killed (its whole process group) while
  its crawls are held mid-run; a new worker takes the next ``run-due
  --queue``.

What is counted (every count but "drills" should be 0):

- false expiries: an ``expired`` event for a posting the truth had open
  when that run ran;
- false reopenings: a ``reopened`` event for a posting the truth had
  removed (a stale copy brought it back);
- false changes: a ``changed`` event whose new version does not carry a
  newer revision of the posting than the version before it;
- lost versions: after the clean crawls, a posting the truth has open that
  is not stored open with the truth's current content;
- duplicate events: the same posting, kind and run twice, or two ``new``
  for one posting;
- runs left running: runs still ``running`` when no crawl is running;
- overlapping runs: two runs of one source whose times overlap, or a second
  crawl that was not refused while the first held the lease;
- true changes missed: after the clean crawls, a new posting without its
  ``new`` event, an edit whose revision no event carries, a removal without
  its ``expired`` event.

    .venv/bin/python bench/drills.py --quick
    .venv/bin/python bench/drills.py --backend postgres --postings 100 --rounds 3
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.board_sim import (  # noqa: E402
    DETAIL_FAULTS,
    FAULTS,
    SHAPES,
    Board,
    BoardSim,
    Changes,
    Job,
    Trap,
    measure_rate,
)

PYTHON = str(ROOT / ".venv" / "bin" / "python")
JOBDELTA = str(ROOT / ".venv" / "bin" / "jobdelta")
PG_ADMIN_URL = os.environ.get("JOBDELTA_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("JOBDELTA_TEST_REDIS", "redis://127.0.0.1:6379")
EXPIRE_AFTER_RUNS = 2  # the README's default
DOWNLOAD_TIMEOUT = 5  # seconds: the hang drill waits this long for each held request
CONFIRM_RUNS = 3  # DESIGN.md: a real shrink is confirmed after this many complete runs
WAIT = 180.0  # seconds: the longest a drill waits for a signal before calling it a harness error
REVISION = re.compile(r"Revision (\d+)\.")
SHA_MARK = re.compile(r"sha256:([0-9a-f]{64})")
QUICK_FAULTS = ("429", "partial_listing", "detail_404", "long_id")
TRUTH_FAULTS = ("shrink", "long_id")


_BOARD_NUMBERS = itertools.count(1)
_UPGRADE_LOCK = threading.Lock()


class DrillError(RuntimeError):
    """The harness itself could not do what it meant to (not a crawler defect)."""


# --------------------------------------------------------------------------- counts


@dataclass
class Counts:
    drills: int = 0
    false_expiries: int = 0
    false_reopenings: int = 0
    false_changes: int = 0
    lost_versions: int = 0
    duplicate_events: int = 0
    runs_left_running: int = 0
    overlapping_runs: int = 0
    missed_changes: int = 0

    def add(self, other: Counts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def defects(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self) if f.name != "drills")


HEADERS = ("drill", "backend", "drills", "false exp", "false reop", "false chg", "lost ver",
           "dup events", "left running", "overlaps", "missed", "run statuses")


@dataclass
class Result:
    drill: str
    backend: str
    counts: Counts
    statuses: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    def row(self) -> list[str]:
        c = self.counts
        status = " ".join(f"{k}:{v}" for k, v in sorted(self.statuses.items()))
        return [self.drill, self.backend, *(str(getattr(c, f.name)) for f in fields(c)), status]


def print_table(results: list[Result], out: Any = sys.stdout) -> None:
    rows = [r.row() for r in results]
    for backend in sorted({r.backend for r in results}):
        total = Counts()
        for r in results:
            if r.backend == backend:
                total.add(r.counts)
        rows.append(Result("TOTAL", backend, total).row())
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(HEADERS)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))  # noqa: E731
    print(line(HEADERS), file=out)
    for row in rows:
        print(line(row), file=out)
    for r in results:
        for note in r.notes:
            print(f"  {r.drill} ({r.backend}): {note}", file=out)


# --------------------------------------------------------------------------- databases


@contextmanager
def sqlite_database(workdir: Path) -> Iterator[str]:
    yield f"sqlite:///{workdir / 'drills.db'}"


@contextmanager
def pg_database(admin_url: str) -> Iterator[str]:
    """A uniquely named database on the shared server, dropped afterwards."""
    from sqlalchemy import create_engine, text

    name = f"jobdelta_drill_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        from db.engine import _engine

        _engine.cache_clear()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateCluster:
    """A PostgreSQL cluster of the drill's own (initdb into a temp dir), so
    it can be restarted without touching the shared server."""

    def __init__(self, workdir: Path):
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not bins:
            raise DrillError("no initdb under /usr/lib/postgresql/*/bin")
        self.bin = bins[-1].parent
        self.dir = workdir / "pgcluster"
        self.port = free_port()
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str) -> None:
        # output to a file: a server started by pg_ctl keeps its output open,
        # and a pipe would never reach its end
        with open(self.dir.parent / "pgcluster.out", "a") as out:
            proc = subprocess.run([*self.as_user, *args], stdout=out, stderr=out, timeout=120)
        if proc.returncode != 0:
            tail = (self.dir.parent / "pgcluster.out").read_text()[-400:]
            raise DrillError(f"{' '.join(args[:2])} failed: {tail}")

    def start(self) -> PrivateCluster:
        self.dir.mkdir(parents=True)
        if self.as_user:
            shutil.chown(self.dir, "postgres", "postgres")
            shutil.chown(self.dir.parent, "postgres", "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.dir / "data"), "-A", "trust", "-U", "postgres",
                  "--no-sync")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-l", str(self.dir / "log"),
                  "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off",
                  "-w", "start")
        return self

    def restart(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-l", str(self.dir / "log"),
                  "-m", "fast", "-w", "restart")

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop")

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"


# --------------------------------------------------------------------------- the workspace


@dataclass
class SimSource:
    """A configured source and the simulated board behind it."""

    name: str
    board: Board
    pending: list[Changes] = field(default_factory=list)  # truth changes since the last check
    last_requests: int = 1

    def advance(self) -> None:
        self.pending.append(self.board.advance())


class Workspace:
    """One backend's database, temp dir, config and crawl commands, plus the
    truth each run saw (for the checks)."""

    def __init__(self, sim: BoardSim, db_url: str, workdir: Path, postings: int, seed: int,
                 backend: str = "sqlite"):
        self.sim, self.db_url, self.workdir, self.backend = sim, db_url, workdir, backend
        self.postings, self.seed = postings, seed
        self.run_truth: dict[int, frozenset[str]] = {}
        self.known_runs: set[int] = set()
        self.config = workdir / "jobdelta.toml"
        self.env = {**os.environ, "JOBDELTA_CACHE_DIR": str(workdir / "httpcache")}
        self.env.pop("JOBDELTA_DATABASE_URL", None)
        self.env.pop("JOBDELTA_CONFIG", None)

    def new_sources(self, drill: str, shapes: Iterable[str] = SHAPES, postings: int | None = None) -> list[SimSource]:
        tag = re.sub(r"[^a-z0-9]", "", drill.lower())[:12]
        out = []
        for shape in shapes:
            name = f"{self.backend[:2]}{tag}{shape[:2]}{next(_BOARD_NUMBERS)}"
            board = self.sim.add(Board(name, shape, postings or self.postings, seed=self.seed))
            out.append(SimSource(name, board))
        return out

    def write_config(self, sources: list[SimSource], schedule: str | None = None) -> Path:
        """The config for these sources: no delay, fast retries, small batches."""
        blocks = []
        for s in sources:
            base = self.sim.base_url(s.board)
            lines = [f'name = "{s.name}"', f'board = "{s.board.shape}"']
            if s.board.shape == "greenhouse":
                lines += ['token = "drill"', f'base_url = "{base}"']
            elif s.board.shape == "jsonld":
                lines += [f'start_urls = ["{base}/jobs?page=1"]', f'allow = "/{s.name}/job/"']
            else:
                lines += [f'company = "{s.name}"', f'base_url = "{base}"']
            if schedule:
                lines.append(f'schedule = "{schedule}"')
            blocks.append("[[sources]]\n" + "\n".join(lines))
        self.config.write_text(
            f'[database]\nurl = "{self.db_url}"\n\n[defaults]\ndownload_delay = 0\nretry_backoff = 0.1\n'
            f"retries = 1\nbatch_size = 5\nexpire_after_runs = {EXPIRE_AFTER_RUNS}\n"
            f"download_timeout = {DOWNLOAD_TIMEOUT}\n\n"
            + "\n\n".join(blocks) + "\n", encoding="utf-8")
        return self.config

    # -- crawling

    def cli(self, *args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run([JOBDELTA, "--config", str(self.config), *args], cwd=self.workdir,
                              env=env or self.env, capture_output=True, text=True, timeout=timeout)

    def crawl(self, sources: list[SimSource]) -> None:
        """One crawl of every source at once, through ``jobdelta crawl``."""
        self.write_config(sources)
        for s in sources:
            s.board.reset_count()
        proc = self.cli("crawl", *(s.name for s in sources), "--jobs", str(len(sources)))
        with open(self.workdir / "crawls.log", "a", encoding="utf-8") as log:
            log.write(f"--- exit {proc.returncode}\n{proc.stdout}{proc.stderr[-2000:]}\n")
        if proc.returncode not in (0, 1):
            raise DrillError(f"jobdelta crawl exited {proc.returncode}: {proc.stderr[-800:]}")
        for s in sources:
            s.last_requests = max(1, s.board.requests)
        self.note_runs(sources)

    def crawl_popen(self, sources: list[SimSource]) -> subprocess.Popen[str]:
        self.write_config(sources)
        return subprocess.Popen([JOBDELTA, "--config", str(self.config), "crawl",
                                 *(s.name for s in sources), "--jobs", str(len(sources))],
                                cwd=self.workdir, env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)

    def runner(self, source: SimSource) -> subprocess.Popen[str]:
        """``python -m crawler.app.runner`` for one source: the crawl process itself."""
        return subprocess.Popen([PYTHON, "-m", "crawler.app.runner", "--config", str(self.config), source.name],
                                cwd=self.workdir, env={**self.env, "PYTHONPATH": str(ROOT)},
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)

    def note_runs(self, sources: list[SimSource]) -> None:
        """Remember the truth each new run of these sources saw."""
        from sqlalchemy import select

        from db.models import Run, Source

        with self.session() as session:
            rows = session.execute(select(Run.id, Source.name).join(Source, Run.source_id == Source.id)
                                   .where(Source.name.in_([s.name for s in sources]))).all()
        by_name = {s.name: s for s in sources}
        for run_id, name in rows:
            if run_id not in self.known_runs:
                self.known_runs.add(run_id)
                self.run_truth[run_id] = frozenset(by_name[name].board.truth())

    @contextmanager
    def session(self) -> Iterator[Any]:
        from sqlalchemy.orm import Session

        from db.engine import get_engine

        with Session(get_engine(self.db_url)) as session:
            yield session


def wait_held(traps: list[Trap], procs: list[subprocess.Popen[str]]) -> list[bool]:
    """Wait until each trap's request has arrived (True) or every process has
    exited without reaching it (False). Waits on the board's own events."""
    deadline = time.monotonic() + WAIT
    while True:
        if all(t.arrived.is_set() for t in traps):
            break
        if all(p.poll() is not None for p in procs):
            break
        if time.monotonic() > deadline:
            raise DrillError("no crawl reached the held request in time")
        next(t for t in traps if not t.arrived.is_set()).arrived.wait(0.05)
    return [t.arrived.is_set() for t in traps]


def summary_of(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out = proc.communicate(timeout=WAIT)[0] or ""
    for line in reversed(out.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return {}


# --------------------------------------------------------------------------- checking


def key(external_id: str) -> str:
    """One key for a posting whatever the crawler does with an id too long
    to store: the SHA-256 of a long id, which a shortened stored id carries
    (``…[sha256:HEX]``); any other id is its own key."""
    m = SHA_MARK.search(external_id)
    if m:
        return m.group(1)
    if len(external_id) > 500:
        return hashlib.sha256(external_id.encode("utf-8")).hexdigest()
    return external_id


def revision(data: dict[str, Any] | None) -> int | None:
    m = REVISION.search((data or {}).get("description") or "")
    return int(m.group(1)) if m else None


def matches(data: dict[str, Any] | None, job: Job) -> bool:
    if not data:
        return False
    norm = lambda s: " ".join((s or "").split())  # noqa: E731
    return data.get("title") == job.title and norm(job.description) in norm(data.get("description"))


@dataclass
class Stored:
    """What the database holds for one source, keyed by :func:`key`."""

    postings: dict[str, Any]
    current: dict[int, dict[str, Any]]  # posting id -> data of its current version
    events: list[Any]


def stored(session: Any, name: str) -> Stored:
    from sqlalchemy import select

    from db.models import Event, Posting, Source, Version

    sid = session.scalar(select(Source.id).where(Source.name == name))
    postings = {key(p.external_id): p for p in session.scalars(select(Posting).where(Posting.source_id == sid))}
    current = dict(session.execute(
        select(Version.posting_id, Version.data).join(Posting, Posting.id == Version.posting_id)
        .where(Version.source_id == sid, Version.version == Posting.version)).all())
    events = session.scalars(select(Event).where(Event.source_id == sid).order_by(Event.id)).all()
    return Stored(postings, current, list(events))


def check(ws: Workspace, sources: list[SimSource], result: Result) -> None:
    """After the clean crawls: lost versions and missed changes for the
    truth changes pending since the last check."""
    c = result.counts
    with ws.session() as session:
        for s in sources:
            db = stored(session, s.name)
            truth = {key(ext): job for ext, job in s.board.truth().items()}
            for k, job in truth.items():
                p = db.postings.get(k)
                if p is None or p.status != "open" or not matches(db.current.get(p.id), job):
                    c.lost_versions += 1
                    have = "nothing" if p is None else f"{p.status} r{revision(db.current.get(p.id))}"
                    result.notes.append(f"lost version: {s.name}:{k[:40]} stored {have}, truth r{job.rev}")
            c.missed_changes += missed(s, truth, db, result)
            s.pending.clear()


def missed(s: SimSource, truth: dict[str, Job], db: Stored, result: Result) -> int:
    """True changes since the last check that have no event."""
    new_ids = {key(e.external_id) for e in db.events if e.kind == "new"}
    revs = {(key(e.external_id), revision(e.posting)) for e in db.events
            if e.kind in ("new", "changed", "reopened")}
    expired = {key(e.external_id) for e in db.events if e.kind == "expired"}
    added = {key(i) for ch in s.pending for i in ch.new}
    count = 0
    for ch in s.pending:
        for k in map(key, ch.new):
            if k in truth and k not in new_ids:
                count += 1
                result.notes.append(f"missed new: {s.name}:{k[:40]}")
        for k in map(key, ch.edited):
            if k in truth and (k, truth[k].rev) not in revs:
                count += 1
                result.notes.append(f"missed edit: {s.name}:{k[:40]} r{truth[k].rev}")
        for k in map(key, ch.removed):
            if k in added or k not in db.postings:
                continue  # never stored: nothing to expire
            if k not in expired or db.postings[k].status != "expired":
                count += 1
                result.notes.append(f"missed removal: {s.name}:{k[:40]} still {db.postings[k].status}")
    return count


def overlaps(runs: list[Any]) -> int:
    """Runs of one source (in id order) that started before the previous
    one finished; a run aborted by its successor finishes as that starts."""
    count = 0
    for a, b in zip(runs, runs[1:], strict=False):
        if a.finished_at is not None and b.started_at < a.finished_at:
            count += 1
    return count


def event_checks(ws: Workspace, sources: list[SimSource], result: Result, after_event: int = 0,
                 after_run: int = 0) -> None:
    """At the end of a drill, over the events of its sources (after
    ``after_event``): false expiries, false reopenings, false changes,
    duplicates; and its runs: left running, overlapping, their statuses."""
    from sqlalchemy import select

    from db.models import Event, Run, Source, Version

    c = result.counts
    with ws.session() as session:
        ids = list(session.scalars(select(Source.id).where(Source.name.in_([s.name for s in sources]))))
        events = session.scalars(select(Event).where(Event.source_id.in_(ids)).order_by(Event.id)).all()
        versions = {(v.posting_id, v.version): v for v in
                    session.scalars(select(Version).where(Version.source_id.in_(ids)))}
        runs = session.scalars(select(Run).where(Run.source_id.in_(ids)).order_by(Run.id)).all()
    late = [e for e in events if e.id > after_event]
    for e in late:
        seen = ws.run_truth.get(e.run_id)
        if seen is None:
            continue
        if e.kind == "expired" and key(e.external_id) in seen:
            c.false_expiries += 1
            result.notes.append(f"false expiry: {e.external_id[:40]} run {e.run_id}: {e.reason}")
        if e.kind == "reopened" and key(e.external_id) not in seen:
            c.false_reopenings += 1
            result.notes.append(f"false reopening: {e.external_id[:40]} run {e.run_id}")
    c.false_changes += false_changes(late, versions, result)
    c.duplicate_events += duplicates(events, late, result)
    late_runs = [r for r in runs if r.id > after_run]
    for r in late_runs:
        if r.status == "running":
            c.runs_left_running += 1
            result.notes.append(f"run {r.id} left running ({r.holder})")
    for sid in ids:
        c.overlapping_runs += overlaps([r for r in late_runs if r.source_id == sid])
    result.statuses.update(r.status for r in late_runs)


def false_changes(events: list[Any], versions: dict[tuple[int, int], Any], result: Result) -> int:
    """``changed`` events whose version carries no newer revision than the
    version before it."""
    by_run = {(v.posting_id, v.run_id): v for v in versions.values()}
    count = 0
    for e in events:
        if e.kind != "changed":
            continue
        new = by_run.get((e.posting_id, e.run_id))
        old = versions.get((e.posting_id, new.version - 1)) if new else None
        r_new, r_old = revision(e.posting), revision(old.data if old else None)
        if r_new is None or r_old is None or r_new <= r_old:
            count += 1
            result.notes.append(f"false change: {e.external_id[:40]} run {e.run_id} "
                                f"r{r_old}->r{r_new}: {e.reason[:80]}")
    return count


def duplicates(events: list[Any], late: list[Any], result: Result) -> int:
    """The same posting, kind and run twice; a second ``new`` for a posting."""
    keys = Counter((e.posting_id, e.kind, e.run_id) for e in late if e.kind != "closing")
    late_new = {e.posting_id for e in late if e.kind == "new"}
    news = Counter(e.posting_id for e in events if e.kind == "new" and e.posting_id in late_new)
    dups = sum(n - 1 for n in keys.values() if n > 1) + sum(n - 1 for n in news.values() if n > 1)
    if dups:
        result.notes.append(f"{dups} duplicate events")
    return dups


# --------------------------------------------------------------------------- the drills


def applies(fault: str, shape: str) -> bool:
    return not (fault in DETAIL_FAULTS and shape == "greenhouse")


def clean_rounds(ws: Workspace, sources: list[SimSource], since_run: int, at_least: int = 1) -> None:
    """Faults off; crawl until ``at_least`` clean crawls ran and every source
    has ``EXPIRE_AFTER_RUNS`` complete runs after run ``since_run`` (a
    removal needs that many to expire)."""
    for s in sources:
        s.board.set_faults(())
    done = 0
    while done < at_least or min(complete_runs(ws, sources, since_run).values()) < EXPIRE_AFTER_RUNS:
        ws.crawl(sources)
        done += 1
        if done > at_least + EXPIRE_AFTER_RUNS:
            break  # a board that never gives complete runs again: the checks will say so


def complete_runs(ws: Workspace, sources: list[SimSource], since_run: int) -> dict[str, int]:
    from sqlalchemy import func, select

    from db.models import Run, Source

    with ws.session() as session:
        rows = dict(session.execute(
            select(Source.name, func.count(Run.id)).join(Run, Run.source_id == Source.id)
            .where(Source.name.in_([s.name for s in sources]), Run.id > since_run,
                   Run.status == "complete").group_by(Source.name)).all())
    return {s.name: rows.get(s.name, 0) for s in sources}


def last_run(ws: Workspace) -> int:
    from sqlalchemy import func, select

    from db.models import Run

    with ws.session() as session:
        return session.scalar(select(func.max(Run.id))) or 0


def fault_drill(ws: Workspace, name: str, faults_by_round: list[dict[str, tuple[str, ...]]],
                backend: str, drills: int = 1, sources: list[SimSource] | None = None) -> Result:
    """Baseline, then per round: advance, faults on for one crawl, clean
    crawls, check. ``faults_by_round[r]`` maps a shape to its faults."""
    result = Result(name, backend, Counts(drills=drills))
    sources = sources or ws.new_sources(name)
    ws.crawl(sources)
    for faults in faults_by_round:
        clean, mark = 1, last_run(ws)
        for s in sources:
            s.advance()
            mine = faults.get(s.board.shape, ())
            if "shrink" in mine:
                s.pending.append(s.board.shrink())
                clean = CONFIRM_RUNS + 1
            if "long_id" in mine:
                s.pending.append(s.board.add_long_id())
            s.board.set_faults([f for f in mine if f not in TRUTH_FAULTS])
        ws.crawl(sources)
        clean_rounds(ws, sources, mark, clean)
        check(ws, sources, result)
    event_checks(ws, sources, result)
    return result


def single_fault(fault: str, rounds: int) -> list[dict[str, tuple[str, ...]]]:
    return [{shape: (fault,) for shape in SHAPES if applies(fault, shape)} for _ in range(rounds)]


def mixed_faults(rng: random.Random, rounds: int, menu: Iterable[str]) -> list[dict[str, tuple[str, ...]]]:
    """Each round, each shape gets one or two different faults at once."""
    menu = [f for f in menu if f not in ("hang", "shrink")]
    plan = []
    for _ in range(rounds):
        plan.append({shape: tuple(rng.sample([f for f in menu if applies(f, shape)], rng.choice((1, 2))))
                     for shape in SHAPES})
    return plan


def kill_drill(ws: Workspace, sources: list[SimSource], kills: int, rng: random.Random,
               backend: str) -> Result:
    """SIGKILL the crawl process at a random request, ``kills`` times
    (rotating over the sources), then clean crawls."""
    result = Result(f"kill x{kills}", backend, Counts(drills=kills))
    first_event, mark = _last_event(ws), last_run(ws)
    done = 0
    for i in range(kills):
        s = sources[i % len(sources)]
        s.advance()
        trap = s.board.arm_trap(rng.randint(1, s.board.expected_requests()))
        proc = ws.runner(s)
        if wait_held([trap], [proc])[0]:
            os.kill(proc.pid, signal.SIGKILL)
            done += 1
        proc.communicate(timeout=WAIT)
        s.board.disarm()
        ws.note_runs(sources)
    if done < kills:
        result.notes.append(f"{kills - done} of {kills} crawls ended before their held request")
    clean_rounds(ws, sources, mark)
    check(ws, sources, result)
    event_checks(ws, sources, result, after_event=first_event, after_run=mark)
    return result


def concurrent_drill(ws: Workspace, sources: list[SimSource], backend: str) -> Result:
    """Two crawls of each source at once: one must be refused by the lease.
    Checks only the runs and events from here on."""
    result = Result("concurrent", backend, Counts(drills=1))
    first_event, mark = _last_event(ws), last_run(ws)
    sources = [s for s in sources if s.board.shape == "jsonld"]
    for s in sources:
        s.advance()
    traps = [s.board.arm_trap(1) for s in sources]
    pairs = [(ws.runner(s), ws.runner(s)) for s in sources]
    wait_held(traps, [p for pair in pairs for p in pair])
    for s, (a, b) in zip(sources, pairs, strict=True):
        loser = _first_exit(a, b)
        summary = summary_of(loser)
        refused = summary.get("run_id") is None and "being crawled" in (summary.get("reason") or "")
        if not refused:
            result.counts.overlapping_runs += 1
            result.notes.append(f"{s.name}: second crawl not refused: {summary}")
    for s in sources:
        s.board.disarm()
    for a, b in pairs:
        for p in (a, b):
            p.communicate(timeout=WAIT)
    ws.note_runs(sources)
    clean_rounds(ws, sources, mark)
    check(ws, sources, result)
    event_checks(ws, sources, result, after_event=first_event, after_run=mark)
    return result


def _last_event(ws: Workspace) -> int:
    from sqlalchemy import func, select

    from db.models import Event

    with ws.session() as session:
        return session.scalar(select(func.max(Event.id))) or 0


def _first_exit(a: subprocess.Popen[str], b: subprocess.Popen[str]) -> subprocess.Popen[str]:
    """The process of the two that exits first, while the other is held."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        for p in (a, b):
            try:
                p.wait(timeout=0.05)
                return p
            except subprocess.TimeoutExpired:
                pass
    raise DrillError("neither of two concurrent crawls exited while the other was held")


def held_crawl(ws: Workspace, sources: list[SimSource], rng: random.Random, action: Any) -> None:
    """Start a crawl of all sources, hold each at a random request, do
    ``action()`` while they are held, then let them go and finish."""
    for s in sources:
        s.advance()
    traps = [s.board.arm_trap(rng.randint(max(1, s.board.expected_requests() // 3), s.board.expected_requests()))
             for s in sources]
    proc = ws.crawl_popen(sources)
    wait_held(traps, [proc])
    action()
    for s in sources:
        s.board.disarm()
    proc.communicate(timeout=WAIT)
    ws.note_runs(sources)


def pg_restart_drill(ws: Workspace, cluster: PrivateCluster, rounds: int, rng: random.Random) -> Result:
    result = Result("pg-restart", "postgres (private)", Counts(drills=1))
    sources = ws.new_sources("pgrestart")
    ws.crawl(sources)
    for _ in range(rounds):
        mark = last_run(ws)
        held_crawl(ws, sources, rng, cluster.restart)
        clean_rounds(ws, sources, mark)
        check(ws, sources, result)
    event_checks(ws, sources, result)
    return result


@contextmanager
def claimed_redis(start: int = 14) -> Iterator[str]:
    """An empty Redis database (from ``start`` down to 1), marked as ours and
    emptied afterwards."""
    import redis

    token = f"drills-{os.getpid()}-{uuid.uuid4().hex}"
    for number in range(start, 0, -1):
        db = redis.Redis.from_url(f"{REDIS_URL}/{number}", socket_connect_timeout=3)
        if db.dbsize() == 0 and db.set("jobdelta:drills-claim", token, nx=True, ex=3600):
            break
    else:
        raise DrillError(f"no empty Redis database to claim at {REDIS_URL}")
    try:
        yield f"{REDIS_URL}/{number}"
    finally:
        if db.get("jobdelta:drills-claim") == token.encode():
            db.flushdb()


def celery_drill(ws: Workspace, rng: random.Random) -> Result:
    """Kill a worker (its whole process group) while its crawls are held,
    then let a new worker take the next ``run-due --queue``."""
    result = Result("celery-kill", "postgres", Counts(drills=1))
    sources = ws.new_sources("celery")
    ws.crawl(sources)
    with claimed_redis() as broker:
        env = {**ws.env, "JOBDELTA_BROKER_URL": broker}
        ws.write_config(sources, schedule="every 1s")

        def worker() -> subprocess.Popen[str]:
            return subprocess.Popen([JOBDELTA, "--config", str(ws.config), "worker", "--concurrency",
                                     str(len(sources))], cwd=ws.workdir, env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    start_new_session=True)

        first, mark = worker(), last_run(ws)
        try:
            for s in sources:
                s.advance()
            traps = [s.board.arm_trap(max(1, s.board.expected_requests() // 2)) for s in sources]
            queued = ws.cli("run-due", "--queue", env=env)
            if queued.returncode != 0:
                raise DrillError(f"run-due --queue failed: {queued.stderr[-400:]}")
            if not all(wait_held(traps, [first])):
                result.notes.append("not every crawl reached its held request before the worker died")
        finally:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
            for s in sources:
                s.board.disarm()
        ws.note_runs(sources)
        before = last_run(ws)
        second = worker()
        try:
            queued = ws.cli("run-due", "--queue", env=env)
            if queued.returncode != 0:
                raise DrillError(f"run-due --queue failed: {queued.stderr[-400:]}")
            _wait_finished(ws, sources, before)
        finally:
            os.killpg(second.pid, signal.SIGTERM)
            second.wait(timeout=WAIT)
        ws.note_runs(sources)
    clean_rounds(ws, sources, mark)
    check(ws, sources, result)
    event_checks(ws, sources, result)
    return result


def _wait_finished(ws: Workspace, sources: list[SimSource], after: int) -> None:
    """Until every source has a finished run newer than ``after`` (the
    worker's results land in the database; nothing else says so)."""
    from sqlalchemy import select

    from db.models import Run, Source

    deadline = time.monotonic() + WAIT
    names = {s.name for s in sources}
    while time.monotonic() < deadline:
        with ws.session() as session:
            done = set(session.scalars(select(Source.name).join(Run, Run.source_id == Source.id)
                                       .where(Run.id > after, Run.status != "running")))
        if names <= done:
            return
        time.sleep(0.2)  # polling the database for the worker's result, not synchronizing a fault
    raise DrillError("the second worker did not finish the queued crawls in time")


# --------------------------------------------------------------------------- the plan


@dataclass
class Options:
    backends: list[str]
    postings: int = 30
    rounds: int = 1
    seed: int = 1
    kills: int = 3
    faults: tuple[str, ...] = QUICK_FAULTS
    mixed_rounds: int = 1
    private: bool = False  # pg-restart and celery drills
    pg_admin_url: str = PG_ADMIN_URL
    quick: bool = False
    keep: Path | None = None  # keep the work directory here (databases, configs, caches)


def run_backend(sim: BoardSim, backend: str, db_url: str, workdir: Path, opts: Options) -> list[Result]:
    """The drills on one backend: the faults (one drill each, or in sequence
    in one drill for --quick), the mixed drill, kills, concurrent crawls,
    and (full run, PostgreSQL) the Celery worker kill."""
    from db.migrate import upgrade

    with _UPGRADE_LOCK:  # Alembic's context is global to the process
        upgrade(db_url)
    rng = random.Random(f"{opts.seed}:{backend}")
    ws = Workspace(sim, db_url, workdir, opts.postings, opts.seed, backend)
    results = []
    if opts.quick:  # one set of sources for every drill: fewer baseline crawls
        plan = [faults for fault in opts.faults for faults in single_fault(fault, opts.rounds)]
        sources = ws.new_sources("quick")
        results.append(fault_drill(ws, "faults:" + ",".join(opts.faults), plan, backend,
                                   drills=len(plan), sources=sources))
    else:
        for fault in opts.faults:
            results.append(fault_drill(ws, f"fault:{fault}", single_fault(fault, opts.rounds), backend))
        menu = [f for f in (*FAULTS, "long_id") if f != "hang"]
        results.append(fault_drill(ws, "mixed", mixed_faults(rng, opts.mixed_rounds, menu), backend))
        sources = ws.new_sources("kill")
        ws.crawl(sources)
    results.append(kill_drill(ws, sources, opts.kills, rng, backend))
    results.append(concurrent_drill(ws, sources, backend))
    if opts.private and backend == "postgres":
        results.append(celery_drill(ws, rng))
    return results


def run_private(sim: BoardSim, workdir: Path, opts: Options) -> list[Result]:
    cluster = PrivateCluster(workdir).start()
    try:
        with pg_database(cluster.admin_url) as url:
            from db.migrate import upgrade

            upgrade(url)
            ws = Workspace(sim, url, workdir / "private", opts.postings, opts.seed, "pgprivate")
            ws.workdir.mkdir()
            return [pg_restart_drill(ws, cluster, opts.rounds, random.Random(opts.seed))]
    finally:
        cluster.stop()


def run(opts: Options, out: Any = sys.stdout) -> list[Result]:
    """Every drill on every backend (the backends side by side, in threads),
    then the private-cluster drill; prints the table and returns the results."""
    started = time.perf_counter()
    import db.engine  # noqa: F401  (imported here, not by two threads at once)
    import db.migrate  # noqa: F401
    import db.models  # noqa: F401
    with _workdir(opts.keep) as tmp, BoardSim() as sim:
        rate = measure_rate(sim, seconds=1.0)
        with ThreadPoolExecutor(max_workers=len(opts.backends)) as pool:
            futures = [pool.submit(_one_backend, sim, backend, tmp / backend, opts)
                       for backend in opts.backends]
            results = [r for f in futures for r in f.result()]
        if opts.private and "postgres" in opts.backends:
            results += run_private(sim, tmp, opts)
        served = sim.served
    wall = time.perf_counter() - started
    print_table(results, out)
    print(f"wall time {wall:.0f} s; the simulator served {served} requests; its own rate: "
          f"{rate:.0f} requests/s to a client loop", file=out)
    return results


def _one_backend(sim: BoardSim, backend: str, workdir: Path, opts: Options) -> list[Result]:
    workdir.mkdir(parents=True)
    db = sqlite_database(workdir) if backend == "sqlite" else pg_database(opts.pg_admin_url)
    with db as url:
        return run_backend(sim, backend, url, workdir, opts)


@contextmanager
def _workdir(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="jobdelta-drills-") as tmp:
        yield Path(tmp)


def options(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"faults {', '.join(QUICK_FAULTS)}, one mixed round, 3 kills, 30 postings")
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--postings", type=int, default=None, help="postings per board (30 quick, 100 full)")
    parser.add_argument("--rounds", type=int, default=None, help="fault rounds per drill (1 quick, 2 full)")
    parser.add_argument("--kills", type=int, default=None, help="SIGKILLs in the kill drill (3 quick, 20 full)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--faults", default=None,
                        help="comma-separated faults to drill (default: the quick set, or every fault)")
    parser.add_argument("--pg-admin-url", default=PG_ADMIN_URL)
    parser.add_argument("--keep", type=Path, default=None,
                        help="work in this directory and keep it (SQLite file, configs, caches)")
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    chosen = tuple(f for f in (args.faults or "").split(",") if f)
    unknown = set(chosen) - {*FAULTS, *TRUTH_FAULTS}
    if unknown:
        parser.error(f"unknown faults: {', '.join(sorted(unknown))}")
    if args.quick:
        return Options(backends, args.postings or 30, args.rounds or 1, args.seed, args.kills or 3,
                       chosen or QUICK_FAULTS, 1, False, args.pg_admin_url, True, args.keep)
    faults = chosen or (*FAULTS, *TRUTH_FAULTS)
    return Options(backends, args.postings or 100, args.rounds or 2, args.seed, args.kills or 20,
                   faults, 3, True, args.pg_admin_url, False, args.keep)


def main(argv: list[str] | None = None) -> int:
    results = run(options(argv))
    return 1 if any(r.counts.defects() for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
