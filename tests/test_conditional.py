"""Conditional requests from the database, and nothing stale ever standing in
for a board: the real CLI crawls a local replay board on SQLite and
PostgreSQL.

- an unchanged page answers 304 and is read from its stored body;
- a board that cannot be reached (connection refused, reset, cut short)
  fails the run: no stored copy answers for it, nothing expires;
- a single reset is retried;
- a stored body that is gone or damaged is never served: the page is
  fetched whole again;
- validators live in the database, so a second machine (another working
  directory) revalidates the same way.
"""

from __future__ import annotations

import json
import socket
import zlib

import pytest
from sqlalchemy import func, select, update

from crawler.replay import Reply
from db.models import Event, PageValidator, Posting, RawResponse, Run

from .conftest import DATA, Project

pytestmark = pytest.mark.slow

GH_FIXTURE = DATA / "fixtures" / "greenhouse" / "hunt_vercel_jobs_content_true.json"
PATH = "/v1/boards/vercel/jobs"


def board() -> Reply:
    data = json.loads(GH_FIXTURE.read_text())
    return Reply(json.dumps({"jobs": data["jobs"], "meta": {"total": len(data["jobs"])}}))


def configure(project: Project, base_url: str) -> None:
    project.write_config(f'[[sources]]\nname = "vercel"\nboard = "greenhouse"\ntoken = "vercel"\n'
                         f'base_url = "{base_url}"\n', defaults="expire_after_runs = 1\nretries = 1")


def last_run(sessions) -> Run:
    with sessions() as s:
        return s.scalars(select(Run).order_by(Run.id.desc())).first()


def counts(sessions) -> tuple[int, int, int]:
    with sessions() as s:
        return (s.scalar(select(func.count()).select_from(Event)),
                s.scalar(select(func.count()).select_from(Posting).where(Posting.status == "open")),
                s.scalar(select(func.count()).select_from(Run)))


def board_requests(replay) -> list[dict[str, str]]:
    return [headers for _method, path, headers in replay.requests if path.startswith(PATH)]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unchanged_board_answers_304_and_is_read_from_the_stored_body(project, replay, sessions):
    replay.set_routes({PATH: board()})
    configure(project, replay.url)
    assert project.cli("crawl").returncode == 0
    first = counts(sessions)
    assert first[1] == 2
    assert project.cli("crawl").returncode == 0
    run = last_run(sessions)
    assert run.status == "complete" and run.seen == 2 and run.new == run.changed == run.expired == 0
    # the second run asked conditionally and the board said 304
    assert board_requests(replay)[-1].get("if-none-match")
    assert any(p.startswith(PATH) for p in replay.not_modified)
    assert counts(sessions)[:2] == first[:2]
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(PageValidator)) >= 1


@pytest.mark.parametrize("outage", ["refused", "reset", "truncated"])
def test_a_board_that_cannot_be_read_fails_and_no_stored_copy_answers(project, replay, sessions, outage):
    replay.set_routes({PATH: board()})
    configure(project, replay.url)
    assert project.cli("crawl").returncode == 0
    events, open_postings, _ = counts(sessions)
    if outage == "refused":
        configure(project, f"http://127.0.0.1:{closed_port()}")
    elif outage == "reset":
        replay.set_routes({PATH: Reply(drop=True)})
    else:  # headers promise more than the body that comes
        replay.set_routes({PATH: Reply(board().data[:100], headers={"Content-Length": "999999"})})
    for _ in range(2):  # more than expire_after_runs: a stale copy would expire or pass for complete
        proc = project.cli("crawl")
        run = last_run(sessions)
        assert run.status == "failed", (run.status, run.reason)
        assert proc.returncode == 1
    assert counts(sessions)[:2] == (events, open_postings)


def test_a_single_reset_is_retried(project, replay, sessions):
    answers = iter([Reply(drop=True)])
    good = board()
    replay.set_routes({PATH: lambda path, headers: next(answers, good)})
    configure(project, replay.url)
    assert project.cli("crawl").returncode == 0
    run = last_run(sessions)
    assert run.status == "complete" and run.new == 2
    assert len(board_requests(replay)) == 2


@pytest.mark.parametrize("damage", ["emptied", "deleted"])
def test_a_damaged_stored_body_is_never_served(project, replay, sessions, damage):
    """A 304 for a page whose stored body is damaged (or gone) is not answered
    from it: the page is asked for again, whole."""
    replay.set_routes({PATH: board()})
    configure(project, replay.url)
    assert project.cli("crawl").returncode == 0
    with sessions.begin() as s:
        sha = s.scalar(select(PageValidator.raw_sha256).where(PageValidator.url.like(f"%{PATH}%")))
        if damage == "emptied":
            s.execute(update(RawResponse).where(RawResponse.sha256 == sha).values(body=zlib.compress(b"")))
        else:  # the validator goes with its body (foreign key)
            s.execute(RawResponse.__table__.delete().where(RawResponse.sha256 == sha))
    before = len(board_requests(replay))
    assert project.cli("crawl").returncode == 0
    run = last_run(sessions)
    assert run.status == "complete" and run.seen == 2 and run.changed == run.expired == 0
    asked = board_requests(replay)[before:]
    if damage == "emptied":  # a conditional request answered 304, then one without validators
        assert [bool(h.get("if-none-match")) for h in asked] == [True, False]
    else:
        assert [bool(h.get("if-none-match")) for h in asked] == [False]
    # and the page is revalidated normally again afterwards
    assert project.cli("crawl").returncode == 0
    assert board_requests(replay)[-1].get("if-none-match")
    assert last_run(sessions).status == "complete"


def test_validators_are_shared_by_every_worker_on_one_database(project, replay, sessions, tmp_path):
    """A crawl from another working directory (another machine's files) asks
    with the validators the first one stored."""
    replay.set_routes({PATH: board()})
    configure(project, replay.url)
    assert project.cli("crawl").returncode == 0
    other = Project(tmp_path / "other-machine", project.db_url)
    other.workdir.mkdir()
    configure(other, replay.url)
    assert other.cli("crawl").returncode == 0
    assert board_requests(replay)[-1].get("if-none-match")
    run = last_run(sessions)
    assert run.status == "complete" and run.seen == 2 and run.new == run.changed == 0
