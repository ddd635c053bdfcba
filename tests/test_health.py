"""Source health: each problem is noticed once when it starts and once when
it ends, never on every run; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crawler.recorder import Outcome
from db.models import HealthNotice, SourceHealth

from .test_store import crawl, item

pytestmark = pytest.mark.usefixtures("db_url")

TEN = [item(str(i)) for i in range(10)]
PAY = [{"min": 100000, "max": 120000, "currency": "USD", "period": "year", "raw": "$100k-$120k"}]


def notices(sessions) -> list[tuple[str, str]]:
    with sessions() as s:
        return [(n.problem, n.state) for n in s.scalars(select(HealthNotice).order_by(HealthNotice.id))]


def failed(reason="board could not be read: HTTP 503 from https://acme.example/jobs"):
    return Outcome(complete=False, fatal=reason)


def test_a_board_failing_five_runs_then_recovering_gives_two_notices(sessions):
    crawl(sessions, TEN)
    for n in range(1, 6):
        crawl(sessions, [], outcome=failed())
        expected = [] if n < 3 else [("failing", "started")]
        assert notices(sessions) == expected, n
    with sessions() as s:
        state = s.scalars(select(SourceHealth)).one()
        assert state.state == "failing" and state.failures_in_row == 5
    crawl(sessions, TEN)
    assert notices(sessions) == [("failing", "started"), ("failing", "recovered")]
    with sessions() as s:
        n = s.scalars(select(HealthNotice).order_by(HealthNotice.id)).all()
        assert "3 runs in a row failed; the last: board could not be read: HTTP 503" in n[0].reason
    crawl(sessions, TEN)
    assert len(notices(sessions)) == 2


def test_a_wall_is_noticed_at_once_and_once(sessions):
    crawl(sessions, TEN)
    for _ in range(4):
        crawl(sessions, [], outcome=failed("blocked: 'captcha' page instead of the board at https://x"))
    assert notices(sessions) == [("blocked", "started"), ("failing", "started")]
    crawl(sessions, TEN)
    assert notices(sessions) == [("blocked", "started"), ("failing", "started"),
                                 ("failing", "recovered"), ("blocked", "recovered")]


def test_a_suspicious_drop_is_noticed_once_and_its_confirmation_once(sessions):
    crawl(sessions, TEN)
    for _ in range(2):
        run, _ = crawl(sessions, TEN[:4])
        assert run.status == "suspicious"
    assert notices(sessions) == [("suspicious", "started")]
    crawl(sessions, TEN[:4])  # the third: confirmed
    assert notices(sessions) == [("suspicious", "started"), ("suspicious", "recovered"),
                                 ("shrink_confirmed", "started")]
    with sessions() as s:
        last = s.scalars(select(HealthNotice).order_by(HealthNotice.id.desc())).first()
        assert last.reason == "board shrank from 10 to 4 postings, confirmed over 3 runs"


def test_a_field_whose_coverage_falls_to_zero_is_noticed_once(sessions):
    with_pay = [item(str(i), salary=PAY) for i in range(6)]
    without = [item(str(i), salary=[]) for i in range(6)]
    crawl(sessions, with_pay)
    crawl(sessions, with_pay)
    assert notices(sessions) == []
    crawl(sessions, without)
    crawl(sessions, without)
    assert notices(sessions) == [("coverage_lost", "started")]
    with sessions() as s:
        assert "no posting has salary any more" in s.scalars(select(HealthNotice)).one().reason
    crawl(sessions, with_pay)
    assert notices(sessions) == [("coverage_lost", "started"), ("coverage_lost", "recovered")]
