"""A database with real crawl history for the web tests: the real CLI crawls
a replayed Greenhouse board (the real saved Vercel jobs, plus copies under
new ids) over five rounds with postings added, edited, removed and back,
and a deadline, on SQLite or PostgreSQL.

Round by round (a..f are external ids):
1. a, b, c new (b has a deadline in 3 days)
2. a retitled, c missing, d new
3. c missing again: expired
4. c back (reopened), e new, b's salary range raised
5. nothing changes
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crawler.replay import ReplayServer, Reply

from .conftest import DATA, Project

GH_FIXTURE = DATA / "fixtures" / "greenhouse" / "hunt_vercel_jobs_content_true.json"
PATH = "/v1/boards/vercel/jobs"


@dataclass
class History:
    db_url: str
    project: Project
    ids: dict[str, str]  # letter -> external id
    times: list[datetime] = field(default_factory=list)  # just after each round


def _jobs() -> list[dict]:
    real = json.loads(GH_FIXTURE.read_text())["jobs"]
    out = []
    for n in range(6):
        job = copy.deepcopy(real[n % len(real)])
        job["id"] = 7100000000 + n
        job["title"] = f"{real[n % len(real)]['title']} #{n}"
        job["absolute_url"] = f"https://job-boards.greenhouse.io/vercel/jobs/{job['id']}"
        out.append(job)
    return out


def _with_deadline(job: dict, deadline: str) -> dict:
    job = copy.deepcopy(job)
    job["content"] = (job.get("content") or "") + (
        f"&lt;p&gt;We accept applications until {deadline}.&lt;/p&gt;")
    return job


def build(workdir: Path, db_url: str) -> History:
    a, b, c, d, e, _ = _jobs()
    ids = {k: str(j["id"]) for k, j in zip("abcde", (a, b, c, d, e), strict=True)}
    deadline = (datetime.now(UTC) + timedelta(days=3)).date()
    b_dl = _with_deadline(b, deadline.strftime("%B %d, %Y"))
    a2 = dict(a, title=a["title"] + " (EMEA)")
    b_raised = copy.deepcopy(b_dl)
    b_raised["content"] = b_raised["content"].replace("accept applications", "gladly accept applications")
    rounds = [[a, b_dl, c], [a2, b_dl, d], [a2, b_dl, d], [a2, b_raised, c, d, e],
              [a2, b_raised, c, d, e]]
    project = Project(workdir, db_url)
    history = History(db_url, project, ids)
    with ReplayServer() as replay:
        project.write_config(f'[[sources]]\nname = "vercel"\nboard = "greenhouse"\n'
                             f'token = "vercel"\nbase_url = "{replay.url}"\n')
        for jobs in rounds:
            replay.set_routes({PATH: Reply(json.dumps({"jobs": jobs, "meta": {"total": len(jobs)}}))})
            project.cli("crawl", "vercel", check=True)
            history.times.append(datetime.now(UTC))
    return history
