"""The reliability drills (bench/drills.py --quick) in the suite, so the
harness cannot rot: the real CLI crawls simulated boards under faults,
kills and concurrent crawls, on SQLite and on PostgreSQL, and every count
of a defect must be zero.

Slow (a few minutes): marked ``slow``, which CI still runs. The PostgreSQL
part uses the ``pg_admin_url`` fixture, so it runs whenever CI=true.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import drills  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> tuple[str, str]:
    if request.param == "postgres":
        return "postgres", request.getfixturevalue("pg_admin_url")
    return "sqlite", drills.PG_ADMIN_URL


def test_quick_drills_find_no_defect(backend: tuple[str, str], tmp_path: Path) -> None:
    name, admin_url = backend
    opts = drills.options(["--quick", "--backend", name, "--pg-admin-url", admin_url])
    out = io.StringIO()
    results = drills.run(opts, out)
    table = out.getvalue()
    print(table)
    assert results, table
    assert all(r.counts.drills > 0 for r in results), table
    defects = {f"{r.drill} ({r.backend})": r.counts for r in results if r.counts.defects()}
    assert not defects, f"the drills found defects:\n{table}"


def test_simulator_answers_conditional_requests_and_holds_a_request() -> None:
    """The simulator's own contract: validators and 304, a trap that holds
    the Nth request until released, deterministic rounds."""
    import http.client
    import threading

    from bench.board_sim import Board, BoardSim

    with BoardSim() as sim:
        board = sim.add(Board("b", "jsonld", 30, seed=7))
        host, port = sim.url.removeprefix("http://").split(":")

        def get(path: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
            conn = http.client.HTTPConnection(host, int(port), timeout=10)
            conn.request("GET", path, headers=headers or {})
            resp = conn.getresponse()
            resp.read()
            return resp

        first = get("/b/jobs?page=1")
        assert first.status == 200 and first.getheader("ETag") and first.getheader("Last-Modified")
        assert get("/b/jobs?page=1", {"If-None-Match": first.getheader("ETag")}).status == 304
        assert get("/robots.txt").status == 200

        trap = board.arm_trap(1)
        done = threading.Event()
        threading.Thread(target=lambda: (get("/b/jobs?page=2"), done.set()), daemon=True).start()
        assert trap.arrived.wait(10)
        assert not done.is_set()
        board.disarm()
        assert done.wait(10)

    a, b = Board("x", "greenhouse", 100, seed=3), Board("x", "greenhouse", 100, seed=3)
    assert a.advance() == b.advance()
    changes = a.advance()
    assert len(changes.new) == len(changes.edited) == len(changes.removed) == 1
