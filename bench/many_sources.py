"""The many-employers round: S sources x P postings, each source a board of
its own on a loopback address of its own (127.0.0.2, 127.0.0.3, ...: a
distinct domain, so per-domain politeness applies as on the internet),
crawled through the real CLI, the old way and the new way, side by side in
one run.

Modes, each a first crawl on a fresh database of every board:

- ``one``: every posting of every board as ONE source (a board of S x P
  postings on 127.0.0.1, no delay): the posting work alone, the reference
  for the fixed cost;
- ``old``: ``run-due --jobs J`` with ``sources_per_process = 1``, a crawl
  process per source, as before processes were shared (J defaults to 16:
  200 processes at once would need ~30 GB);
- ``run-due`` and ``crawl``: ``--jobs N`` (default S) with shared crawl
  processes (``[defaults] sources_per_process``, ``crawl_processes``);
- ``queue``: ``run-due --queue`` fed to two ``jobdelta worker --concurrency
  S/2`` on Redis (a Redis database claimed for the run, emptied after);
- with ``--postgres``, ``run-due`` again on a PostgreSQL database made for
  the run and dropped after.

Figures: wall and CPU seconds (of the command and every process it waited
for, via ``RUSAGE_CHILDREN``; for ``queue``, the sending command and both
workers, start-up included, and wall from the send to the last run's end);
**fixed overhead per source** = (CPU of the mode - CPU of ``one``) / S, i.e.
what S sources cost beyond the same postings as one source; and wall
against **what politeness alone requires**: Scrapy spaces the requests to
one domain ``download_delay`` apart (randomized 0.5x-1.5x, so that on
average) whatever ``concurrency_per_domain`` says, so a source of R requests
needs (R - 1) x delay, and N crawls at once need ceil(S / N) rounds of the
mean of that. Targets (issue 9): overhead < 0.3 s a source, wall within
1.5x of politeness.

Checks (the harness, never timings): every run complete, and each source's
open postings in the database are exactly its board's truth.

    .venv/bin/python bench/many_sources.py                       # 200 x 50
    .venv/bin/python bench/many_sources.py --quick               # 5 x 5, no delay
    .venv/bin/python bench/many_sources.py --markdown docs/bench_many_sources.md --postgres
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.board_sim import Board, BoardSim  # noqa: E402

JOBDELTA = str(ROOT / ".venv" / "bin" / "jobdelta")
PG_ADMIN_URL = os.environ.get("JOBDELTA_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("JOBDELTA_TEST_REDIS", "redis://127.0.0.1:6379")
CLAIM_KEY = "jobdelta:bench-many-sources-claim"
WAIT = 3600.0  # seconds: the longest one mode may take before the harness gives up
MODES = ("one", "old", "run-due", "crawl", "queue")
OVERHEAD_TARGET = 0.3  # CPU seconds per source
POLITENESS_TARGET = 1.5  # wall / politeness


@dataclass
class Result:
    mode: str
    backend: str
    jobs: str
    wall: float
    cpu: float
    sources: int
    runs_complete: int
    postings_ok: int
    politeness: float | None = None
    overhead: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        return self.wall / self.politeness if self.politeness else None


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


class Fleet:
    """S boards, each on its own loopback address, and the one big board."""

    def __init__(self, sources: int, postings: int, seed: int = 9):
        self.sims: list[BoardSim] = []
        self.boards: list[Board] = []
        for i in range(sources):
            sim = BoardSim(host=f"127.0.0.{i + 2}").start() if i < 254 else None
            if sim is None:
                raise SystemExit("at most 254 sources: one loopback address each")
            board = sim.add(Board(f"s{i:03d}", "jsonld", postings, seed=seed))
            self.sims.append(sim)
            self.boards.append(board)
        self.big_sim = BoardSim().start()
        self.big = self.big_sim.add(Board("all", "jsonld", sources * postings, seed=seed))

    def stop(self) -> None:
        for sim in [*self.sims, self.big_sim]:
            sim.stop()

    def reset_counts(self) -> None:
        for board in [*self.boards, self.big]:
            board.reset_count()

    def politeness(self, delay: float, jobs: int) -> float:
        """Seconds politeness alone requires for the requests just made."""
        needs = [max(0, b.requests - 1) * delay for b in self.boards]
        return math.ceil(len(needs) / max(1, jobs)) * (sum(needs) / len(needs))


def source_block(name: str, base: str, postings: int = 0) -> str:
    # the one big board has more listing pages than the spider's default cap
    pages = f"max_listing_pages = {postings // 10 + 10}\n" if postings > 4000 else ""
    return (f'[[sources]]\nname = "{name}"\nboard = "jsonld"\nstart_urls = ["{base}/jobs?page=1"]\n'
            f'allow = "/{name}/job/"\nschedule = "every 1h"\n{pages}')


def write_config(path: Path, db_url: str, blocks: list[str], delay: float, extra: str = "") -> Path:
    path.write_text(f'[database]\nurl = "{db_url}"\n\n[defaults]\ndownload_delay = {delay}\n'
                    f"retries = 1\nretry_backoff = 0.1\n{extra}\n\n" + "\n".join(blocks), encoding="utf-8")
    return path


def env_for(workdir: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "JOBDELTA_CACHE_DIR": str(workdir / "httpcache"), **extra}
    env.pop("JOBDELTA_DATABASE_URL", None)
    env.pop("JOBDELTA_CONFIG", None)
    return env


def cli(config: Path, *args: str, env: dict[str, str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """Run the real CLI; (result, wall s, CPU s of it and all it waited for)."""
    cpu0, t0 = children_cpu(), time.perf_counter()
    result = subprocess.run([JOBDELTA, "--config", str(config), *args], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=WAIT)
    return result, time.perf_counter() - t0, children_cpu() - cpu0


def upgrade(config: Path, env: dict[str, str], cwd: Path) -> None:
    result = subprocess.run([JOBDELTA, "--config", str(config), "db", "upgrade"], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise SystemExit(f"db upgrade failed: {result.stderr}")


def check(db_url: str, boards: list[Board]) -> tuple[int, int, list[str]]:
    """(runs complete, sources whose open postings are exactly their truth,
    what the first runs that were not complete said)."""
    from sqlalchemy import select

    from db.engine import _engine, session_factory
    from db.models import Posting, Run, Source

    complete = ok = 0
    with session_factory(db_url)() as s:
        statuses = s.execute(select(Source.name, Run.status, Run.reason)
                             .join(Run, Run.source_id == Source.id)).all()
        complete = sum(status == "complete" for _, status, _ in statuses)
        trouble = [f"{name}: {status} ({reason})" for name, status, reason in statuses if status != "complete"][:3]
        rows = s.execute(select(Source.name, Posting.external_id).join(Source, Posting.source_id == Source.id)
                         .where(Posting.status == "open")).all()
    _engine.cache_clear()
    stored: dict[str, set[str]] = {}
    for name, external_id in rows:
        stored.setdefault(name, set()).add(external_id)
    for board in boards:
        truth = set(board.truth())
        got = stored.get(board.name, set())
        ok += got == truth or {g.rsplit("/", 1)[-1] for g in got} == truth
    return complete, ok, trouble


@contextlib.contextmanager
def database(backend: str, workdir: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    from sqlalchemy import create_engine, text

    name = f"jobdelta_bench_many_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        from db.engine import _engine

        _engine.cache_clear()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def redis_database() -> Iterator[str]:
    """An empty Redis database claimed for this run, emptied afterwards."""
    import redis

    admin = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    databases = int(admin.config_get("databases").get("databases", 16))
    token = f"{os.getpid()}-{uuid.uuid4().hex}"
    for number in range(databases - 1, 0, -1):
        db = redis.Redis.from_url(f"{REDIS_URL}/{number}")
        if db.dbsize() == 0 and db.set(CLAIM_KEY, token, nx=True, ex=3 * 3600):
            break
    else:
        raise SystemExit(f"no empty Redis database at {REDIS_URL}")
    try:
        yield f"{REDIS_URL}/{number}"
    finally:
        if db.get(CLAIM_KEY) == token.encode():
            db.flushdb()


def run_mode(mode: str, backend: str, fleet: Fleet, args: argparse.Namespace, root: Path) -> Result:
    workdir = root / f"{mode}-{backend}"
    workdir.mkdir()
    sources = len(fleet.boards)
    with database(backend, workdir) as db_url:
        config = workdir / "jobdelta.toml"
        env = env_for(workdir)
        if mode == "one":
            blocks = [source_block("all", fleet.big_sim.base_url(fleet.big), len(fleet.big.truth()))]
            write_config(config, db_url, blocks, 0, "concurrency_per_domain = 4")
        else:
            blocks = [source_block(b.name, sim.base_url(b)) for b, sim in zip(fleet.boards, fleet.sims, strict=True)]
            extra = "sources_per_process = 1" if mode == "old" else f"sources_per_process = {args.per_process}"
            write_config(config, db_url, blocks, args.delay, extra)
        upgrade(config, env, workdir)
        fleet.reset_counts()
        jobs = args.old_jobs if mode == "old" else args.jobs
        notes: list[str] = []
        if mode == "one":
            result, wall, cpu = cli(config, "crawl", env=env, cwd=workdir)
            jobs_text = "1"
        elif mode in ("old", "run-due"):
            result, wall, cpu = cli(config, "run-due", "--jobs", str(jobs), env=env, cwd=workdir)
            jobs_text = str(jobs)
        elif mode == "crawl":
            result, wall, cpu = cli(config, "crawl", "--jobs", str(jobs), env=env, cwd=workdir)
            jobs_text = str(jobs)
        else:
            result, wall, cpu, jobs_text = queue_round(config, db_url, env, workdir, sources, args)
        if result.returncode != 0:
            notes.append(f"exit {result.returncode}: {(result.stderr or result.stdout).strip()[-300:]}")
        complete, ok, trouble = check(db_url, [fleet.big] if mode == "one" else fleet.boards)
        notes += [f"run not complete: {t}" for t in trouble]
        out = Result(mode, backend, jobs_text, wall, cpu, 1 if mode == "one" else sources, complete, ok,
                     notes=notes)
        if mode != "one":
            concurrent = sources if mode == "queue" else jobs
            out.politeness = fleet.politeness(args.delay, concurrent)
        return out


def queue_round(config: Path, db_url: str, env: dict[str, str], workdir: Path, sources: int,
                args: argparse.Namespace) -> tuple[Any, float, float, str]:
    """Two workers take what `run-due --queue` sends; wall from the send to
    the last run's end, CPU of the sender and both workers (start-up too)."""
    from sqlalchemy import func, select

    from db.engine import _engine, session_factory
    from db.models import Run

    concurrency = max(1, math.ceil(args.jobs / 2))
    with redis_database() as broker:
        wenv = {**env, "JOBDELTA_BROKER_URL": broker}
        cpu0 = children_cpu()
        logs = [(workdir / f"worker{i}.log").open("w") for i in range(2)]
        workers = [subprocess.Popen([JOBDELTA, "--config", str(config), "worker", "--concurrency",
                                     str(concurrency), "--loglevel", "warning"], cwd=workdir, env=wenv,
                                    stdout=log, stderr=subprocess.STDOUT) for log in logs]
        try:
            t0 = time.perf_counter()
            result = subprocess.run([JOBDELTA, "--config", str(config), "run-due", "--queue"], cwd=workdir,
                                    env=wenv, capture_output=True, text=True, timeout=WAIT)
            sessions = session_factory(db_url)
            finished = 0
            while time.perf_counter() - t0 < WAIT and result.returncode == 0:
                with sessions() as s:
                    finished = s.scalar(select(func.count()).select_from(Run)
                                        .where(Run.finished_at.is_not(None))) or 0
                if finished >= sources or any(w.poll() is not None for w in workers):
                    break
                time.sleep(0.2)  # a benchmark polling for the end, not a test synchronising
            wall = time.perf_counter() - t0
            _engine.cache_clear()
        finally:
            for w in workers:
                w.send_signal(signal.SIGTERM)
            for w in workers:
                try:
                    w.wait(timeout=300)
                except subprocess.TimeoutExpired:
                    w.kill()
                    w.wait()
            for log in logs:
                log.close()
        cpu = children_cpu() - cpu0
    return result, wall, cpu, f"2 workers x {concurrency}"


def fmt(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


HEADERS = ("mode", "db", "jobs", "wall s", "CPU s", "overhead s/source", "politeness s", "wall/polite",
           "runs complete", "postings = truth")


def rows(results: list[Result]) -> list[list[str]]:
    return [[r.mode, r.backend, r.jobs, fmt(r.wall), fmt(r.cpu), fmt(r.overhead, ".3f"), fmt(r.politeness),
             fmt(r.ratio, ".2f"), f"{r.runs_complete}/{r.sources}", f"{r.postings_ok}/{r.sources}"]
            for r in results]


def table(results: list[Result]) -> str:
    body = rows(results)
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(HEADERS)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(HEADERS, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in body]
    return "\n".join(lines)


def markdown(results: list[Result], args: argparse.Namespace, command: str) -> str:
    body = rows(results)
    out = ["# Many sources in one round", "",
           f"`{command}` on {os.cpu_count()} cores: {args.sources} sources x {args.postings} postings "
           f"(jsonld boards: listing pages + one page per posting), each source on its own loopback "
           f"address, `download_delay = {args.delay}`, `sources_per_process = {args.per_process}`.", "",
           "| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    out += ["| " + " | ".join(r) + " |" for r in body]
    notes = [f"- {r.mode} ({r.backend}): {n}" for r in results for n in r.notes]
    if notes:
        out += ["", *notes]
    out += ["", "Modes: `one` is every posting of every board as one source (no delay), the reference; "
            "`old` is `run-due --jobs J` with `sources_per_process = 1` (a crawl process per source); "
            "`run-due` and `crawl` share crawl processes; `queue` is `run-due --queue` taken by two "
            "`jobdelta worker`s (CPU includes their start-up).", "",
            "Fixed overhead per source = (CPU of the mode - CPU of `one`) / sources: what the sources "
            "cost beyond the same postings crawled as one source (CPU of the command and every process "
            "it waited for). Politeness = what politeness alone requires: requests to one domain are "
            "spaced `download_delay` apart on average (Scrapy; `concurrency_per_domain` does not shorten "
            "that while a delay is set), so a source of R requests needs (R - 1) x delay, and N crawls at "
            "once need ceil(sources / N) rounds of the mean of that. Targets: overhead < "
            f"{OVERHEAD_TARGET} s a source, wall/polite < {POLITENESS_TARGET}."]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=200)
    parser.add_argument("--postings", type=int, default=50)
    parser.add_argument("--delay", type=float, default=0.5, help="download_delay of every source (seconds)")
    parser.add_argument("--jobs", type=int, default=None, help="--jobs of the shared modes (default: sources)")
    parser.add_argument("--old-jobs", type=int, default=16, help="--jobs of the old mode")
    parser.add_argument("--per-process", type=int, default=50, help="sources_per_process of the shared modes")
    parser.add_argument("--modes", default=",".join(MODES), help=f"comma-separated, of {', '.join(MODES)}")
    parser.add_argument("--postgres", action="store_true", help="also run-due on PostgreSQL")
    parser.add_argument("--quick", action="store_true", help="5 sources x 5 postings, no delay")
    parser.add_argument("--markdown", type=Path, default=None, help="also write the table here")
    args = parser.parse_args(argv)
    if args.quick:
        args.sources, args.postings, args.delay = 5, 5, 0.0
        args.old_jobs = min(args.old_jobs, 2)
    args.jobs = args.jobs or args.sources
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = set(modes) - set(MODES)
    if unknown:
        parser.error(f"unknown modes: {', '.join(sorted(unknown))}")
    command = "python bench/many_sources.py " + " ".join(argv if argv is not None else sys.argv[1:])
    fleet = Fleet(args.sources, args.postings)
    results: list[Result] = []
    try:
        with tempfile.TemporaryDirectory(prefix="jobdelta-many-") as tmp:
            plan = [(m, "sqlite") for m in modes]
            if args.postgres:
                plan.append(("run-due", "postgres"))
            for mode, backend in plan:
                print(f"-- {mode} on {backend} ...", file=sys.stderr, flush=True)
                results.append(run_mode(mode, backend, fleet, args, Path(tmp)))
    finally:
        fleet.stop()
    one = next((r for r in results if r.mode == "one"), None)
    for r in results:
        if one is not None and r is not one:
            r.overhead = (r.cpu - one.cpu) / r.sources
    print(table(results))
    if one is not None:
        print(f"\nfixed overhead per source = (CPU of the mode - CPU of 'one', {one.cpu:.1f} s) / "
              f"{args.sources}; targets: < {OVERHEAD_TARGET} s, wall/polite < {POLITENESS_TARGET}")
    for r in results:
        for note in r.notes:
            print(f"{r.mode} ({r.backend}): {note}")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(markdown(results, args, command), encoding="utf-8")
    broken = [r for r in results if r.runs_complete != r.sources or r.postings_ok != r.sources]
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
