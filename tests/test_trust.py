"""A change stream people can trust, on SQLite and PostgreSQL, without a
crawl: runs are fed posting dicts and evidence directly.

Proof storms and count drops expire nothing until they are confirmed (or
accepted); partial runs only raise the usual count; raw text, number
spelling and UTC offsets are no change; one row the database refuses costs
only that row; postings of a killed run still get their roles.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select, text

from crawler.expiry import Policy
from crawler.recorder import MAX_EXTERNAL_ID, Outcome
from db.models import Event, Posting, RoleLink, Run, SourceHealth

from .test_store import Clock, crawl, item, kinds

pytestmark = pytest.mark.usefixtures("db_url")

TEN = [item(str(i)) for i in range(10)]


def open_count(sessions) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(Posting).where(Posting.status == "open"))


def health(sessions) -> SourceHealth:
    with sessions() as s:
        return s.scalars(select(SourceHealth)).one()


# -- proof storms


def test_a_404_storm_is_suspicious_expires_nothing_and_reopens_nothing(sessions):
    crawl(sessions, TEN)
    crawl(sessions, TEN)
    run, events = crawl(sessions, [], gone=[str(i) for i in range(10)])
    assert run.status == "suspicious" and events == [] and run.expired == 0
    assert "proof would expire 10 of 10 open postings at once" in run.reason
    assert open_count(sessions) == 10
    # a storm in a partial run is just as suspicious
    run, events = crawl(sessions, TEN[:4], gone=[str(i) for i in range(4, 10)],
                        outcome=Outcome(complete=False, errors=["page 2 failed"]))
    assert run.status == "suspicious" and events == []
    # the board is back: nothing to reopen, nothing reported
    run, events = crawl(sessions, TEN)
    assert run.status == "complete" and events == []
    assert health(sessions).state == "ok" and health(sessions).pending is None


def test_proof_against_a_few_postings_still_expires_them(sessions):
    crawl(sessions, TEN)
    run, events = crawl(sessions, TEN[2:], gone=["0", "1"])
    assert run.status == "complete"
    assert kinds(events) == [("expired", "0"), ("expired", "1")]
    assert {e["reason"] for e in events} == {"expired: detail page answered 404"}


def test_a_storm_that_lasts_is_confirmed(sessions):
    crawl(sessions, TEN)
    gone = [str(i) for i in range(10)]
    for n in (1, 2):
        run, events = crawl(sessions, [], gone=gone)
        assert run.status == "suspicious" and events == [] and f"({n} of 3 runs" in run.reason
    run, events = crawl(sessions, [], gone=gone)
    assert run.status == "complete" and len(events) == 10
    assert {e["reason"] for e in events} == {
        "expired: detail page answered 404; confirmed over 3 runs "
        "(proof against 10 of 10 open postings at once)"}


# -- the usual count


def test_partial_runs_never_drag_the_usual_count_down(sessions):
    pol = Policy(expire_after_runs=1)
    crawl(sessions, TEN, policy=pol)
    for _ in range(2):
        run, _ = crawl(sessions, TEN[:2], policy=pol, outcome=Outcome(complete=False, errors=["x"]))
        assert run.status == "partial"
    run, events = crawl(sessions, TEN[:3], policy=pol)
    assert run.status == "suspicious" and events == []
    assert "against a usual 10" in run.reason
    assert open_count(sessions) == 10


def test_a_partial_run_raises_the_usual_count(sessions):
    twelve = [item(str(i)) for i in range(12)]
    crawl(sessions, twelve[:10])
    crawl(sessions, twelve[:10])
    crawl(sessions, twelve, outcome=Outcome(complete=False, errors=["x"]))
    run, _ = crawl(sessions, twelve[:6])  # half of 12: suspicious (half of 10 would not be)
    assert run.status == "suspicious" and "against a usual 12" in run.reason


def test_a_drop_to_exactly_half_is_suspicious(sessions):
    four = TEN[:4]
    crawl(sessions, four)
    run, events = crawl(sessions, four[:2])
    assert run.status == "suspicious" and events == []
    run, events = crawl(sessions, four[:3])
    assert run.status == "complete"


# -- boards that really shrink


def test_a_real_shrink_is_confirmed_after_confirm_runs(sessions):
    clock = Clock()
    crawl(sessions, TEN, clock=clock)
    crawl(sessions, TEN, clock=clock)
    first_drop = clock.tick(hours=6)
    run, events = crawl(sessions, TEN[:4], clock=clock)
    assert run.status == "suspicious" and events == []
    state = health(sessions)
    assert state.state == "suspicious" and state.since == first_drop
    clock.tick(hours=6)
    run, events = crawl(sessions, TEN[:4], clock=clock)
    assert run.status == "suspicious" and events == []
    assert health(sessions).since == first_drop
    confirmed_at = clock.tick(hours=6)
    run, events = crawl(sessions, TEN[:4], clock=clock)
    assert run.status == "complete"
    assert run.reason == "complete: board shrank from 10 to 4 postings, confirmed over 3 runs"
    assert kinds(events) == [("expired", str(i)) for i in range(4, 10)]
    assert {e["reason"] for e in events} == {
        "expired: missing from 3 complete runs; board shrank from 10 to 4 postings, confirmed over 3 runs"}
    state = health(sessions)
    assert state.state == "ok" and state.confirmed_at == confirmed_at and state.pending is None
    # the board's new size is the usual one now
    clock.tick(hours=6)
    run, events = crawl(sessions, TEN[:4], clock=clock)
    assert run.status == "complete" and events == []


def test_a_small_board_shrinking_from_three_to_one(sessions):
    three = TEN[:3]
    crawl(sessions, three)
    for _ in range(2):
        run, _ = crawl(sessions, three[:1])
        assert run.status == "suspicious"
    run, events = crawl(sessions, three[:1])
    assert run.status == "complete" and kinds(events) == [("expired", "1"), ("expired", "2")]


def test_only_postings_missing_from_every_run_of_the_drop_expire(sessions):
    crawl(sessions, TEN)
    crawl(sessions, TEN[:4])
    crawl(sessions, TEN[:5])  # "4" is back for this run
    run, events = crawl(sessions, TEN[:4])
    assert run.status == "complete"
    assert kinds(events) == [("expired", i) for i in ("5", "6", "7", "8", "9")]
    with sessions() as s:
        assert s.scalar(select(Posting.status).where(Posting.external_id == "4")) == "open"


def test_a_board_back_at_its_usual_level_clears_the_drop(sessions):
    crawl(sessions, TEN)
    run, _ = crawl(sessions, TEN[:4])
    assert run.status == "suspicious" and health(sessions).pending
    run, events = crawl(sessions, TEN)
    assert run.status == "complete" and events == []
    assert health(sessions).pending is None and health(sessions).state == "ok"
    # the count of the drop starts again
    for _ in range(2):
        run, _ = crawl(sessions, TEN[:4])
        assert run.status == "suspicious"


def test_accept_confirms_a_drop_at_once(sessions, project):
    project.write_config('[[sources]]\nname = "acme"\nboard = "greenhouse"\ntoken = "acme"\n')
    proc = project.cli("accept", "acme")
    assert proc.returncode == 1 and "no source 'acme'" in proc.stderr
    crawl(sessions, TEN)
    proc = project.cli("accept", "acme")
    assert proc.returncode == 1
    assert proc.stderr == "error: source 'acme' has no drop waiting to be confirmed\n"
    run, _ = crawl(sessions, TEN[:4])
    assert run.status == "suspicious"
    proc = project.cli("accept", "acme")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "acme: accepted (board shrank from 10 to 4 postings); 6 postings expired\n"
    with sessions() as s:
        reasons = set(s.scalars(select(Event.reason).where(Event.kind == "expired")))
        expired_run = set(s.scalars(select(Event.run_id).where(Event.kind == "expired")))
    assert reasons == {"expired: missing from 1 complete run; board shrank from 10 to 4 postings, "
                       "accepted with jobdelta accept after 1 run"}
    assert expired_run == {run.id}
    assert health(sessions).state == "ok" and health(sessions).confirmed_at is not None
    run, events = crawl(sessions, TEN[:4])
    assert run.status == "complete" and events == []


def test_accept_is_refused_while_the_source_is_crawled(sessions, project):
    from crawler.leases import start_run
    from db.models import Source

    project.write_config('[[sources]]\nname = "acme"\nboard = "greenhouse"\ntoken = "acme"\n')
    crawl(sessions, TEN)
    crawl(sessions, TEN[:4])
    with sessions.begin() as s:
        start_run(s, s.scalars(select(Source)).one(), 300)
    proc = project.cli("accept", "acme")
    assert proc.returncode == 1 and "is being crawled by" in proc.stderr
    assert open_count(sessions) == 10


# -- what is a change


def test_raw_text_number_spelling_and_utc_offsets_are_no_change(sessions):
    clock = Clock()
    day = (clock.now + timedelta(days=3)).date().isoformat()
    pay = {"min": 100000.0, "max": 120000.0, "currency": "USD", "period": "year", "raw": "100000.0 - 120000.0"}
    place = {"raw": "NYC", "city": "New York", "region": "NY", "country": "US"}
    first = item("1", salary=[pay], locations=[place], deadline=f"{day}T17:00:00-05:00")
    _, events = crawl(sessions, [first], clock=clock)
    assert kinds(events) == [("closing", "1"), ("new", "1")]
    again = item("1", salary=[dict(pay, min=100000, max=120000, raw="Salary Range: 100000 - 120000")],
                 locations=[dict(place, raw="New York, NY")], deadline=f"{day}T22:00:00Z")
    _, events = crawl(sessions, [again], clock=clock)
    assert events == []
    # a real move of the deadline is still a change (and a new deadline's notice)
    _, events = crawl(sessions, [dict(again, deadline=f"{day}T23:00:00Z")], clock=clock)
    assert kinds(events) == [("changed", "1"), ("closing", "1")]


# -- one bad posting


def test_an_over_long_id_is_shortened_stably_and_the_board_stays_complete(sessions):
    long_id = "x" * 600
    run, events = crawl(sessions, [item(long_id), item("2"), item("3")])
    assert run.status == "complete" and run.stats["ids_shortened"] == 1
    stored = [e["external_id"] for e in events if e["external_id"] not in ("2", "3")]
    assert len(stored) == 1 and len(stored[0]) <= MAX_EXTERNAL_ID
    assert stored[0].startswith("x" * 100) and "sha256:" in stored[0]
    run, events = crawl(sessions, [item(long_id), item("2"), item("3")])
    assert run.status == "complete" and events == []
    # two long ids with one start stay apart
    run, events = crawl(sessions, [item(long_id), item(long_id + "y"), item("2"), item("3")])
    assert len(events) == 1 and events[0]["kind"] == "new"


def _refuse_poison(sessions, db_url: str) -> None:
    """A trigger that makes the database refuse any posting titled 'poison'."""
    with sessions.begin() as s:
        if db_url.startswith("sqlite"):
            s.execute(text("CREATE TRIGGER refuse_poison BEFORE INSERT ON postings "
                           "WHEN NEW.title = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned row refused'); END"))
        else:
            s.execute(text("CREATE FUNCTION refuse_poison() RETURNS trigger AS $$ BEGIN "
                           "IF NEW.title = 'poison' THEN RAISE EXCEPTION 'poisoned row refused'; END IF; "
                           "RETURN NEW; END $$ LANGUAGE plpgsql"))
            s.execute(text("CREATE TRIGGER refuse_poison BEFORE INSERT ON postings "
                           "FOR EACH ROW EXECUTE FUNCTION refuse_poison()"))


def test_a_row_the_database_refuses_costs_only_that_row(sessions, db_url):
    crawl(sessions, TEN[:4])
    _refuse_poison(sessions, db_url)
    board = [item("0", title="Role 0 renamed"), item("1"), item("2"), item("3"), item("bad", title="poison"),
             item("new")]
    run, events = crawl(sessions, board)  # batches of 3: the poison shares one with "new"
    assert run.status == "partial"
    assert "posting 'bad' not stored" in run.reason and "poisoned row refused" in run.reason
    assert run.stats["refused"] == 1
    assert kinds(events) == [("changed", "0"), ("new", "new")]
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Run).where(Run.status == "running")) == 0
    # the run is partial: nothing expires by absence, and the next runs carry on
    run, events = crawl(sessions, board[:4] + board[5:])
    assert run.status == "complete" and events == []


# -- roles of killed runs


def test_postings_left_unlinked_by_a_killed_run_are_linked_by_the_next(sessions):
    crawl(sessions, TEN[:4])
    with sessions.begin() as s:  # as if the run had been killed before linking
        s.execute(delete(RoleLink))
    run, events = crawl(sessions, TEN[:4])
    assert events == []
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(RoleLink)) == 4
