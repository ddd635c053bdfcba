"""The benchmark history (bench/history_data.py), on SQLite and PostgreSQL:
a small history is consistent by :func:`check_history`, its events follow
the 1% rule round by round, ``db.queries.postings_at`` reads back exactly
the postings open after each round, changed events carry the diffs the
recorder would write, and the same seed gives the same content hashes."""

from __future__ import annotations

import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import history_data as hd  # noqa: E402
from crawler.changes import change_reason, days_until, field_changes  # noqa: E402
from crawler.items import PUBLIC_FIELDS  # noqa: E402
from db import queries  # noqa: E402
from db.engine import session_factory  # noqa: E402
from db.models import Event, Posting, Run, Source, Version  # noqa: E402
from db.vocab import EventKind, PostingStatus  # noqa: E402

POSTINGS, ROUNDS, SEED = 300, 5, 7


@pytest.fixture
def built(db_url: str) -> tuple[str, dict]:
    return db_url, hd.build_history(db_url, POSTINGS, ROUNDS, seed=SEED)


def _times(summary: dict) -> list[datetime]:
    return [datetime.fromisoformat(t) for t in summary["rounds"]]


def _hashes(url: str) -> list[tuple[str, str, int, str]]:
    with session_factory(url)() as session:
        return [tuple(row) for row in session.execute(
            select(Source.name, Posting.external_id, Version.version, Version.content_hash)
            .join(Posting, Posting.id == Version.posting_id)
            .join(Source, Source.id == Posting.source_id)
            .order_by(Source.name, Posting.external_id, Version.version))]


def test_history_is_consistent(built: tuple[str, dict]) -> None:
    url, summary = built
    with session_factory(url)() as session:
        assert hd.check_history(session) == []
        assert summary["postings"] == session.scalar(select(func.count()).select_from(Posting))
        assert summary["versions"] == session.scalar(select(func.count()).select_from(Version))
        assert summary["runs"] == ROUNDS * len(summary["sources"])
        assert summary["events"]["new"] == summary["postings"]
        # one run per source per round, all complete
        assert set(session.scalars(select(Run.status))) == {"complete"}
        # canonical postings, and the names that test escaping and accents
        data = session.scalars(select(Version.data).limit(50)).all()
        assert all(set(d) == set(PUBLIC_FIELDS) for d in data)
        assert "Brackets <b>&</b> Co" in summary["companies"]
        assert any(not c.isascii() for c in summary["companies"])
        assert 50 <= len(summary["companies"]) <= 70


def test_events_follow_the_one_percent_rule(built: tuple[str, dict]) -> None:
    url, summary = built
    times = _times(summary)
    with session_factory(url)() as session:
        counts = Counter({(at, kind): n for at, kind, n in session.execute(
            select(Event.at, Event.kind, func.count()).group_by(Event.at, Event.kind))})
        reasons = Counter({(at, reason): n for at, reason, n in session.execute(
            select(Event.at, Event.reason, func.count()).where(Event.kind == EventKind.EXPIRED)
            .group_by(Event.at, Event.reason))})
        assert counts[(times[0], "new")] == POSTINGS
        assert counts[(times[0], "changed")] == counts[(times[0], "expired")] == 0
        deadline_expiries = 0
        for before, now in zip(times, times[1:], strict=False):
            open_before = list(queries.postings_at(session, before))
            q = hd.round_quota(len(open_before))
            late = sum(1 for row in open_before
                       if (left := days_until(row["deadline"], now)) is not None and left < 0)
            deadline_expiries += late
            assert counts[(now, "new")] == q
            assert counts[(now, "changed")] == q
            assert counts[(now, "expired")] == q + late
            assert reasons[(now, hd.MISSING_REASON)] == q
            assert counts[(now, "reopened")] == 0
        assert deadline_expiries > 0, "no deadline passed: the deadline rule went untested"


def test_postings_at_each_round_are_those_open_after_it(built: tuple[str, dict]) -> None:
    url, summary = built
    with session_factory(url)() as session:
        source_of = dict(session.execute(select(Source.id, Source.name)).all())
        events = session.execute(select(Event.at, Event.kind, Event.source_id, Event.external_id)
                                 .order_by(Event.id)).all()
        open_now: set[tuple[str, str]] = set()
        for now in _times(summary):
            for at, kind, source_id, ext in events:
                if at != now:
                    continue
                if kind == EventKind.NEW:
                    open_now.add((source_of[source_id], ext))
                elif kind == EventKind.EXPIRED:
                    open_now.remove((source_of[source_id], ext))
            rows = list(queries.postings_at(session, now))
            assert {(row["source"], row["external_id"]) for row in rows} == open_now
            assert len(rows) == len(open_now)
        current = {(name, ext) for name, ext in session.execute(
            select(Source.name, Posting.external_id).join(Source, Source.id == Posting.source_id)
            .where(Posting.status == PostingStatus.OPEN))}
        assert current == open_now


def test_changed_events_carry_the_recorders_diff(built: tuple[str, dict]) -> None:
    url, _summary = built
    with session_factory(url)() as session:
        changed = session.scalars(select(Event).where(Event.kind == EventKind.CHANGED)).all()
        assert changed
        for event in changed:
            new = session.scalar(select(Version).where(Version.posting_id == event.posting_id,
                                                       Version.valid_from == event.at))
            old = session.scalar(select(Version).where(Version.posting_id == event.posting_id,
                                                       Version.version == new.version - 1))
            assert old.valid_to == event.at
            assert event.changes == field_changes(old.data, new.data)
            assert event.reason == change_reason(event.changes)
            assert event.posting == new.data


def test_same_seed_same_content_hashes(built: tuple[str, dict], tmp_path: Path) -> None:
    url, summary = built
    again = f"sqlite:///{tmp_path / 'again.db'}"
    other = f"sqlite:///{tmp_path / 'other.db'}"
    assert hd.build_history(again, POSTINGS, ROUNDS, seed=SEED) == summary
    hd.build_history(other, POSTINGS, ROUNDS, seed=SEED + 1)
    assert _hashes(again) == _hashes(url)
    assert _hashes(other) != _hashes(url)


def test_check_history_finds_problems(built: tuple[str, dict]) -> None:
    url, summary = built
    last = _times(summary)[-1]
    sessions = session_factory(url)
    with sessions.begin() as session:
        open_id = session.scalar(select(Posting.id).where(Posting.status == PostingStatus.OPEN)
                                 .order_by(Posting.id).limit(1))
        session.execute(update(Version).values(valid_to=last).where(
            Version.posting_id == open_id, Version.valid_to.is_(None)))
        changed = session.scalars(select(Event).where(Event.kind == EventKind.CHANGED)
                                  .order_by(Event.id).limit(2)).all()
        run_changed = session.scalar(select(Run.changed).where(Run.id == changed[0].run_id))
        session.execute(delete(Event).where(Event.id == changed[0].id))
        session.execute(update(Event).where(Event.id == changed[1].id)
                        .values(company="Someone Else"))
        expired_id = session.scalar(select(Event.posting_id).where(Event.kind == EventKind.EXPIRED)
                                    .order_by(Event.id).limit(1))
        session.execute(delete(Event).where(Event.kind == EventKind.EXPIRED,
                                            Event.posting_id == expired_id))
    with sessions() as session:
        problems = hd.check_history(session)
    text = "\n".join(problems)
    assert f"posting {open_id} is open with 0 current versions" in text
    assert f"posting {changed[0].posting_id}: version" in text
    assert "no changed or reopened event" in text
    assert f"event {changed[1].id}: facet columns" in text
    assert f"posting {expired_id} is expired without an expired event" in text
    run = changed[0].run_id
    assert f"run {run} counts {run_changed} changed but wrote {run_changed - 1}" in text


def test_round_quota() -> None:
    quotas = [hd.round_quota(n) for n in (0, 1, 49, 50, 149, 151, 100_000)]
    assert quotas == [0, 1, 1, 1, 1, 2, 1000]
