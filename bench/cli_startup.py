"""How long the CLI takes to start: ``jobdelta --help``, ``jobdelta runs
--limit 1`` and ``jobdelta status`` on a small SQLite database, each run N
times as a fresh process, against a bare interpreter and ``import click``
measured in the same run. Prints the median wall seconds of each, and the
target (< 0.3 s for --help and runs).

    .venv/bin/python bench/cli_startup.py            # 15 runs each
    .venv/bin/python bench/cli_startup.py -n 30
    .venv/bin/python bench/cli_startup.py --quick    # 1 run each: checks the harness
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET = 0.3  # seconds, for --help and runs (issue 9)


def fill(workdir: Path) -> Path:
    """A config with three sources and a database with a few runs of each."""
    from crawler.expiry import Policy
    from crawler.items import Posting
    from crawler.leases import ensure_source, start_run
    from crawler.recorder import Outcome, RunRecorder
    from db.engine import session_factory
    from db.migrate import upgrade

    url = f"sqlite:///{workdir / 'jobdelta.db'}"
    upgrade(url)
    sessions = session_factory(url)
    names = ("acme", "beta", "gamma")
    for name in names:
        for _ in range(3):
            with sessions.begin() as s:
                src = ensure_source(s, name, "greenhouse", {"token": name})
                sid, rid = src.id, start_run(s, src, 60).id
            rec = RunRecorder(sessions, sid, rid, Policy())
            for n in range(20):
                rec.add(Posting(source=name, external_id=str(n), title=f"Role {n}", company=name).to_dict())
            rec.finish(Outcome(complete=True))
    config = workdir / "jobdelta.toml"
    config.write_text(f'[database]\nurl = "{url}"\n\n' + "".join(
        f'[[sources]]\nname = "{n}"\nboard = "greenhouse"\ntoken = "{n}"\nschedule = "every 6h"\n\n'
        for n in names))
    return config


def median_seconds(cmd: list[str], n: int, cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Median wall and CPU (user + system) seconds of ``n`` runs; the CPU
    time says less about the machine's load than the wall time."""
    walls, cpus = [], []
    for _ in range(n):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.decode()[-500:]}")
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=15, help="runs of each command")
    parser.add_argument("--quick", action="store_true", help="one run each: checks the harness")
    args = parser.parse_args()
    n = 1 if args.quick else args.n
    jobdelta = [sys.executable, "-m", "crawler.app.cli"]
    with tempfile.TemporaryDirectory(prefix="jd-startup-") as tmp:
        workdir = Path(tmp)
        config = fill(workdir)
        # as installed: bytecode cached (pip compiles it; $PYTHONDONTWRITEBYTECODE
        # would compile every module anew at each start), and one warm-up run
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("JOBDELTA_") and k != "PYTHONDONTWRITEBYTECODE"}
        env["JOBDELTA_CONFIG"] = str(config)
        cases = [
            ("python (bare interpreter)", [sys.executable, "-c", "pass"], None),
            ("python -c 'import click'", [sys.executable, "-c", "import click"], None),
            ("jobdelta --help", [*jobdelta, "--help"], TARGET),
            ("jobdelta runs --limit 1", [*jobdelta, "runs", "--limit", "1"], TARGET),
            ("jobdelta status", [*jobdelta, "status"], None),
        ]
        load = os.getloadavg()[0]
        print(f"median of {n} run(s) each; load average {load:.2f} on {os.cpu_count()} CPUs")
        print(f"{'command':28s} {'wall s':>7s} {'CPU s':>7s} {'wall/bare':>9s}")
        bare = None
        for _label, cmd, _target in cases:
            median_seconds(cmd, 1, workdir, env)
        for label, cmd, target in cases:
            wall, cpu = median_seconds(cmd, n, workdir, env)
            bare = bare if bare is not None else wall
            verdict = "" if target is None else (f"  target < {target:g} s: "
                                                 + ("met" if wall < target else "MISSED"))
            print(f"{label:28s} {wall:7.3f} {cpu:7.3f} {wall / bare:8.1f}x{verdict}")


if __name__ == "__main__":
    main()
