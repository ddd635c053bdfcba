"""What the board replay tests share: run the real CLI, read back the run
and its events, and compare parser output with golden files."""

from __future__ import annotations

import json
import os
from pathlib import Path

from sqlalchemy import select

from crawler.items import Posting
from crawler.normalize import normalize_posting
from db.models import Event, Run

UPDATE_GOLDEN = os.environ.get("JOBDELTA_UPDATE_GOLDEN") == "1"


def last_run(sessions) -> dict:
    with sessions() as s:
        run = s.scalars(select(Run).order_by(Run.id.desc()).limit(1)).one()
        return {"id": run.id, "status": run.status, "reason": run.reason, "seen": run.seen, "new": run.new}


def events_of(sessions, run_id: int) -> list[tuple[str, str]]:
    with sessions() as s:
        return sorted((e.kind, e.external_id) for e in s.scalars(select(Event).where(Event.run_id == run_id)))


def run_errors(sessions, run_id: int) -> list[str]:
    """The errors a run recorded in its stats."""
    with sessions() as s:
        return (s.get(Run, run_id).stats or {}).get("errors", [])


def event(sessions, kind: str, external_id: str) -> Event:
    with sessions() as s:
        return s.scalars(select(Event).where(Event.kind == kind, Event.external_id == external_id)
                         .order_by(Event.id.desc()).limit(1)).one()


def crawl(project, sessions, name: str) -> dict:
    """`jobdelta crawl NAME` (the real CLI), then the run it recorded."""
    proc = project.cli("crawl", name)
    run = last_run(sessions)
    assert f" {run['status']} " in proc.stdout, proc.stdout
    return {"exit": proc.returncode, "run": run, "out": proc.stdout, "err": proc.stderr}


def check_golden(golden: Path, postings: list[Posting], fetched_at) -> list[dict]:  # noqa: ANN001
    """Normalize the postings and compare them with the golden file (which
    JOBDELTA_UPDATE_GOLDEN=1 rewrites instead). Returns the normalized dicts."""
    output = [normalize_posting(p, fetched_at=fetched_at).to_dict() for p in postings]
    if UPDATE_GOLDEN:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(json.dumps(output, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert golden.exists(), f"no golden file {golden}: run with JOBDELTA_UPDATE_GOLDEN=1"
    assert output == json.loads(golden.read_text(encoding="utf-8"))
    return output
