"""``jobdelta demo``: two crawl rounds over a bundled offline board.

Reads the saved responses in ``crawler/app/demo_board/`` (see its README.txt), serves
them on 127.0.0.1 with :mod:`crawler.replay`, writes a config and an SQLite
database into the demo directory, crawls twice with changes in between and
prints each round's summary and the change report, then writes the email
digest a subscription to everything would receive (``digest.txt`` and
``digest.html`` in the demo directory) and prints its text.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TextIO

from crawler import output
from crawler.alerts.render import render_email
from crawler.app.config import load_config
from crawler.replay import ReplayServer, Reply, Route

DATA = Path(__file__).with_name("demo_board")
_TODAY = re.compile(r"\{\{today([+-]\d+)\}\}")

_CAREERS_INDEX = """<!DOCTYPE html><html><head><title>Careers</title></head><body>
<h1>Open roles</h1><ul>{links}</ul></body></html>"""


def _load(name: str, today: date) -> str:
    text = (DATA / name).read_text(encoding="utf-8")
    return _TODAY.sub(lambda m: (today + timedelta(days=int(m.group(1)))).isoformat(), text)


def demo_routes(round_no: int, today: date) -> dict[str, Route]:
    """The demo board as it stands in round 1 or 2."""
    html = "text/html; charset=utf-8"
    pages = {"/careers/jobs/meta-software-engineer": Reply(_load(f"meta_round{round_no}.html", today),
                                                          content_type=html)}
    neura = "/careers/jobs/neura-manager-ecosystem-integration"
    # round 2: the Neura posting is taken down, but stays linked for a while
    pages[neura] = Reply(_load("neura.html", today), content_type=html) if round_no == 1 else \
        Reply("<html><body>Not found</body></html>", status=404, content_type=html)
    links = "".join(f'<li><a href="{p}">{p.rsplit("/", 1)[-1]}</a></li>' for p in pages)
    return {
        "/v1/boards/vercel/jobs": Reply(_load(f"greenhouse_round{round_no}.json", today)),
        "/careers/": Reply(_CAREERS_INDEX.format(links=links), content_type=html),
        **pages,
    }


def write_demo_config(workdir: Path, base_url: str) -> Path:
    path = workdir / "jobdelta.toml"
    path.write_text(f"""\
# Written by `jobdelta demo`: two sources served by a local replay server.
[database]
url = "sqlite:///{(workdir / 'demo.db').resolve()}"

[defaults]
expire_after_runs = 1   # the demo has two rounds; a real config waits for 2 complete runs
download_delay = 0
obey_robots = true

[[sources]]
name = "vercel"
board = "greenhouse"
token = "vercel"
base_url = "{base_url}"

[[sources]]
name = "careers"
board = "jsonld"
start_urls = ["{base_url}/careers/"]
allow = "/careers/jobs/"
""", encoding="utf-8")
    return path


def run_demo(workdir: Path, out: TextIO) -> None:
    from db.engine import session_factory
    from db.migrate import upgrade
    from db.queries import changes
    from scheduler.launch import run_sources

    workdir.mkdir(parents=True, exist_ok=True)
    for leftover in ("demo.db", "demo.db-wal", "demo.db-shm"):
        (workdir / leftover).unlink(missing_ok=True)
    today = datetime.now(UTC).date()
    summary_cols = ["source", "status", "seen", "new", "changed", "expired", "reopened", "reason"]
    with ReplayServer(demo_routes(1, today)) as server:
        cfg = load_config(write_demo_config(workdir, server.url))
        upgrade(cfg.database_url)
        started = datetime.now(UTC)
        for round_no in (1, 2):
            server.set_routes(demo_routes(round_no, today))
            out.write(f"\n== round {round_no}: crawling the demo board at {server.url}\n")
            results = run_sources(cfg, [s.name for s in cfg.sources], jobs=2)
            output.write([vars(r) for r in results], "table", out, summary_cols)
    out.write("\n== what changed\n")
    with session_factory(cfg.database_url)() as session:
        rows = list(changes(session, since=started))
    output.write(rows, "table", out, ["kind", "source", "external_id", "title", "reason"])
    digest = render_email("demo", rows, digest=True, unsubscribe=None, now=datetime.now(UTC))
    (workdir / "digest.txt").write_text(f"Subject: {digest.subject}\n\n{digest.text}", encoding="utf-8")
    (workdir / "digest.html").write_text(digest.html, encoding="utf-8")
    out.write(f"\n== the email digest a subscription to everything would get "
              f"({workdir / 'digest.html'}, {workdir / 'digest.txt'})\n")
    out.write(f"Subject: {digest.subject}\n\n{digest.text}\n")
    out.write(f"\nThe demo database is {workdir / 'demo.db'}; try:\n"
              f"  jobdelta --config {workdir / 'jobdelta.toml'} changes --kind changed --format json\n"
              f"  jobdelta --config {workdir / 'jobdelta.toml'} postings --status all\n"
              f"  jobdelta --config {workdir / 'jobdelta.toml'} serve   "
              f"# then open http://127.0.0.1:8000/ (API docs at /api/docs)\n")
