"""Change detection and storage, on SQLite and PostgreSQL, without a crawl:
runs are fed posting dicts directly, so every rule of DESIGN.md's change
semantics is checked on its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from crawler.errors import LeaseHeld
from crawler.expiry import Policy
from crawler.items import Posting as Item
from crawler.leases import ensure_source, start_run
from crawler.recorder import Outcome, RunRecorder
from db import queries
from db.models import Event, Posting, Run, Source, Version

pytestmark = pytest.mark.usefixtures("db_url")


def item(ext: str, **fields) -> dict:
    data = Item(source="acme", external_id=ext, title=f"Role {ext}",
                url=f"https://acme.example/jobs/{ext}", description="Build things.\n\nWell.").to_dict()
    data.update(fields)
    return data


class Clock:
    """A controllable clock, so validity windows can be checked exactly."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def tick(self, **kw) -> datetime:
        self.now += timedelta(**kw)
        return self.now


def crawl(sessions, items, outcome=None, policy=None, clock=None, gone=(), source="acme"):
    """One run over the given items; returns (run, events of that run)."""
    policy = policy or Policy()
    with sessions.begin() as s:
        src = ensure_source(s, source, "greenhouse", {"token": source})
        run = start_run(s, src, policy.lease_seconds)
        sid, rid = src.id, run.id
    rec = RunRecorder(sessions, sid, rid, policy, batch_size=3, **({"clock": clock} if clock else {}))
    for data in items:
        rec.add(data)
    for ext in gone:
        rec.add_gone(ext, None, "detail page answered 404")
    run = rec.finish(outcome or Outcome(complete=True))
    with sessions() as s:
        events = list(queries.changes(s, run_id=rid))
    return run, events


def kinds(events):
    return sorted((e["kind"], e["external_id"]) for e in events)


def test_new_then_idempotent(sessions):
    run, events = crawl(sessions, [item("1"), item("2"), item("3"), item("4")])
    assert run.status == "complete" and run.seen == 4 and run.new == 4
    assert kinds(events) == [("new", "1"), ("new", "2"), ("new", "3"), ("new", "4")]
    assert all(e["reason"] == "new: first time seen" for e in events)
    run, events = crawl(sessions, [item("1"), item("2"), item("3"), item("4")])
    assert events == [] and run.new == run.changed == run.expired == 0
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Version)) == 4


def test_changed_field_diff_and_versions(sessions):
    clock = Clock()
    crawl(sessions, [item("1", salary=[{"min": 100, "max": 120, "currency": "USD", "period": "year", "raw": "$100-120k"}])],
          clock=clock)
    t1 = clock.now
    clock.tick(hours=6)
    run, events = crawl(sessions, [item("1", title="Senior Role 1", description="Build things.\n\nVery well.",
                                        salary=[{"min": 110, "max": 130, "currency": "USD", "period": "year", "raw": "$110-130k"}])],
                        clock=clock)
    assert kinds(events) == [("changed", "1")]
    ev = events[0]
    fields = {c["field"]: c for c in ev["changes"]}
    assert set(fields) == {"title", "description", "salary"}
    assert fields["title"]["old"] == "Role 1" and fields["title"]["new"] == "Senior Role 1"
    assert "-Well." in fields["description"]["diff"] and "+Very well." in fields["description"]["diff"]
    assert ev["reason"] == "changed: description, salary, title"
    assert ev["posting"]["title"] == "Senior Role 1"
    with sessions() as s:
        hist = queries.history(s, "acme", "1")
        assert [v["version"] for v in hist] == [1, 2]
        assert hist[0]["valid_from"] == t1.isoformat(timespec="seconds")
        assert hist[0]["valid_to"] == clock.now.isoformat(timespec="seconds") == hist[1]["valid_from"]
        assert hist[1]["valid_to"] is None
        assert [c["field"] for c in hist[1]["changes"]] == ["description", "salary", "title"]


def test_list_order_and_volatile_fields_are_not_changes(sessions):
    locs = [{"raw": "London", "city": "London", "region": None, "country": "GB"},
            {"raw": "Zürich", "city": "Zürich", "region": None, "country": "CH"}]
    crawl(sessions, [item("1", locations=locs, skills=["CUDA", "C++"], fetched_at="2026-11-01T00:00:00+00:00",
                          posted_at="2026-10-04", posted_at_raw="4w ago", posted_at_relative=True)])
    _, events = crawl(sessions, [item("1", locations=locs[::-1], skills=["C++", "CUDA"],
                                      fetched_at="2026-11-02T00:00:00+00:00",
                                      posted_at="2026-10-05", posted_at_raw="4w ago", posted_at_relative=True)])
    assert events == []


def test_expired_only_after_n_complete_runs(sessions):
    crawl(sessions, [item("1"), item("2"), item("3"), item("4")])
    run, events = crawl(sessions, [item("1"), item("3"), item("4")])
    assert events == [] and run.expired == 0 and run.status == "complete"
    # a partial run neither expires nor counts as a missing run
    run, events = crawl(sessions, [item("1")], outcome=Outcome(complete=False, errors=["HTTP 500 from page 2"]))
    assert run.status == "partial" and events == [] and "HTTP 500" in run.reason
    # a failed run changes nothing at all
    run, events = crawl(sessions, [], outcome=Outcome(complete=False, fatal="board could not be read: HTTP 503"))
    assert run.status == "failed" and events == []
    run, events = crawl(sessions, [item("1"), item("3"), item("4")])
    assert kinds(events) == [("expired", "2")]
    assert events[0]["reason"] == "expired: missing from 2 consecutive complete runs"
    assert events[0]["posting"]["title"] == "Role 2"
    # expiring again does not happen; the expired posting is not re-reported
    _, events = crawl(sessions, [item("1"), item("3"), item("4")])
    assert events == []


def test_seen_again_resets_missing_count(sessions):
    four = [item("1"), item("2"), item("3"), item("4")]
    crawl(sessions, four)
    crawl(sessions, four[:1] + four[2:])
    crawl(sessions, four)
    _, events = crawl(sessions, four[:1] + four[2:])
    assert events == []


def test_reopened(sessions):
    pol = Policy(expire_after_runs=1)
    rest = [item("1"), item("3"), item("4")]
    crawl(sessions, [*rest, item("2")], policy=pol)
    _, events = crawl(sessions, rest, policy=pol)
    assert kinds(events) == [("expired", "2")]
    _, events = crawl(sessions, [*rest, item("2", title="Role 2 (reposted)")], policy=pol)
    assert kinds(events) == [("reopened", "2")]
    assert events[0]["reason"].startswith("reopened: seen again after expired: missing from 1 consecutive")
    assert [c["field"] for c in events[0]["changes"]] == ["title"]
    with sessions() as s:
        assert [v["version"] for v in queries.history(s, "acme", "2")] == [1, 2]


def test_suspicious_drop_expires_nothing(sessions):
    pol = Policy(expire_after_runs=1)
    everything = [item(str(i)) for i in range(10)]
    crawl(sessions, everything, policy=pol)
    crawl(sessions, everything, policy=pol)
    run, events = crawl(sessions, everything[:3], policy=pol)
    assert run.status == "suspicious" and events == []
    assert "saw 3 postings against a usual 10" in run.reason
    # an empty answer from a board that had postings is suspicious too
    run, events = crawl(sessions, [], policy=pol)
    assert run.status == "suspicious" and events == []
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Posting).where(Posting.status == "open")) == 10


def test_closing_once_per_threshold_and_deadline(sessions):
    clock = Clock()
    deadline = (clock.now + timedelta(days=5)).date().isoformat()
    _, events = crawl(sessions, [item("1", deadline=deadline)], clock=clock)
    assert kinds(events) == [("closing", "1"), ("new", "1")]
    closing = [e for e in events if e["kind"] == "closing"][0]
    assert closing["reason"] == f"closing: deadline {deadline} is in 5 days (within 7 days)"
    clock.tick(days=1)
    _, events = crawl(sessions, [item("1", deadline=deadline)], clock=clock)
    assert events == []
    clock.tick(days=3, hours=18)  # the deadline day ends in 18 hours: the 1-day notice
    _, events = crawl(sessions, [item("1", deadline=deadline)], clock=clock)
    assert kinds(events) == [("closing", "1")] and events[0]["reason"] == f"closing: deadline {deadline} is today (within 1 day)"
    _, events = crawl(sessions, [item("1", deadline=deadline)], clock=clock)
    assert events == []


def test_deadline_moved_is_a_change_and_renews_closing(sessions):
    clock = Clock()
    d1 = (clock.now + timedelta(days=3)).date().isoformat()
    d2 = (clock.now + timedelta(days=6)).date().isoformat()
    crawl(sessions, [item("1", deadline=d1)], clock=clock)
    _, events = crawl(sessions, [item("1", deadline=d2)], clock=clock)
    assert kinds(events) == [("changed", "1"), ("closing", "1")]
    changed = [e for e in events if e["kind"] == "changed"][0]
    assert changed["reason"] == "changed: deadline extended by 3 days; fields deadline"
    assert changed["changes"] == [{"field": "deadline", "old": d1, "new": d2, "note": "deadline extended by 3 days"}]


def test_deadline_passed_expires_and_does_not_reopen(sessions):
    clock = Clock()
    past = (clock.now - timedelta(days=2)).date().isoformat()
    _, events = crawl(sessions, [item("1", deadline=past)], clock=clock)
    assert kinds(events) == [("expired", "1"), ("new", "1")]
    assert [e["reason"] for e in events if e["kind"] == "expired"] == [f"expired: deadline passed ({past})"]
    _, events = crawl(sessions, [item("1", deadline=past)], clock=clock)
    assert events == []
    # unless configured off
    _, events = crawl(sessions, [item("2", deadline=past)], clock=clock,
                      policy=Policy(expire_on_deadline=False), source="other")
    assert kinds(events) == [("new", "2")]


def test_gone_evidence_expires_even_in_a_partial_run(sessions):
    crawl(sessions, [item("1"), item("2")])
    run, events = crawl(sessions, [item("1")], gone=["2"], outcome=Outcome(complete=False, errors=["x"]))
    assert run.status == "partial"
    assert kinds(events) == [("expired", "2")] and events[0]["reason"] == "expired: detail page answered 404"


def test_postings_at_returns_content_at_that_time(sessions):
    clock = Clock()
    pol = Policy(expire_after_runs=1)
    crawl(sessions, [item("1"), item("2")], clock=clock, policy=pol)
    t_round1 = clock.now
    clock.tick(hours=6)
    crawl(sessions, [item("1", title="Role 1 v2"), item("3")], clock=clock, policy=pol)
    t_round2 = clock.now

    def at(t, status="open"):
        with sessions() as s:
            return {r["external_id"]: r["title"] for r in queries.postings_at(s, t, status=status)}

    assert at(t_round1 - timedelta(seconds=1)) == {}
    assert at(t_round1) == {"1": "Role 1", "2": "Role 2"}
    assert at(t_round1 + timedelta(hours=3)) == {"1": "Role 1", "2": "Role 2"}
    assert at(t_round2) == {"1": "Role 1 v2", "3": "Role 3"}
    assert at(t_round2, "expired") == {"2": "Role 2"}
    assert at(t_round2, "all") == {"1": "Role 1 v2", "2": "Role 2", "3": "Role 3"}


def test_duplicate_ids_in_one_run_are_stored_once(sessions):
    run, events = crawl(sessions, [item("1"), item("1", title="dupe"), item("2")])
    assert run.seen == 2 and kinds(events) == [("new", "1"), ("new", "2")]
    assert run.stats["duplicates"] == 1


def test_lease_blocks_a_second_run_and_dead_holder_is_aborted(sessions):
    with sessions.begin() as s:
        src = ensure_source(s, "acme", "greenhouse", {"token": "acme"})
        run = start_run(s, src, 300)
        first = run.id
    with sessions.begin() as s, pytest.raises(LeaseHeld, match="is being crawled by"):
        start_run(s, s.get(Source, src.id), 300)
    # the holder dies: a process id that is not running on this host
    with sessions.begin() as s:
        r = s.get(Run, first)
        host = r.holder.rpartition(":")[0]
        r.holder = f"{host}:999999"
    with sessions.begin() as s:
        second = start_run(s, s.get(Source, src.id), 300).id
    with sessions() as s:
        aborted = s.get(Run, first)
        assert aborted.status == "aborted" and aborted.finished_at is not None
        assert "stopped before finishing" in aborted.reason
        assert s.get(Source, src.id).lease_run_id == second


def test_expired_lease_from_another_host_is_taken_over(sessions):
    with sessions.begin() as s:
        src = ensure_source(s, "acme", "greenhouse", {"token": "acme"})
        first = start_run(s, src, 300).id
    with sessions.begin() as s:
        s.get(Run, first).holder = "another-machine:1234"
        source = s.get(Source, src.id)
        source.lease_holder = "another-machine:1234"
        source.lease_expires_at = datetime.now(UTC) - timedelta(seconds=1)
    with sessions.begin() as s:
        start_run(s, s.get(Source, src.id), 300)
    with sessions() as s:
        assert s.get(Run, first).status == "aborted"


def test_events_are_never_duplicated_by_reruns(sessions):
    clock = Clock()
    items = [item(str(i), deadline=(clock.now + timedelta(days=2)).date().isoformat()) for i in range(7)]
    for _ in range(3):
        crawl(sessions, items, clock=clock)
    with sessions() as s:
        per_kind = dict(s.execute(select(Event.kind, func.count()).group_by(Event.kind)).all())
    assert per_kind == {"new": 7, "closing": 7}


def test_listing_vouches_for_unchanged_postings(sessions):
    """A posting the listing shows unchanged (Seen) counts as present, keeps
    its content, and is not expired; only open postings can be vouched for."""
    policy = Policy(expire_after_runs=1)

    def run_with(adds, seen=()):
        with sessions.begin() as s:
            src = ensure_source(s, "acme", "workday", {})
            rid = start_run(s, src, 60).id
            sid = src.id
        rec = RunRecorder(sessions, sid, rid, policy)
        known = rec.listing_hashes()
        for data, fp in adds:
            rec.add(data, listing_hash=fp)
        for ext in seen:
            rec.add_seen(ext)
        run = rec.finish(Outcome(complete=True))
        with sessions() as s:
            return known, run, kinds(queries.changes(s, run_id=rid))

    # "3" and "4" stay listed throughout, so dropping one posting is no collapse
    known, run, events = run_with([(item("1"), "fp1"), (item("2"), "fp2"), (item("3"), "fp3"),
                                   (item("4"), "fp4")])
    assert known == {} and events == [("new", "1"), ("new", "2"), ("new", "3"), ("new", "4")]
    known, run, events = run_with([(item("2", title="Role 2b"), "fp2b")], seen=["1", "3", "4"])
    assert known == {"1": "fp1", "2": "fp2", "3": "fp3", "4": "fp4"}
    assert run.seen == 4 and events == [("changed", "2")]
    known, run, events = run_with([], seen=["1", "2", "3", "4"])
    assert known["2"] == "fp2b" and events == [] and run.seen == 4
    known, run, events = run_with([], seen=["1", "3", "4"])
    assert events == [("expired", "2")]
    # an expired posting cannot be vouched for: it needs its detail page
    known, run, events = run_with([], seen=["1", "2", "3", "4"])
    assert "2" not in known and events == [] and run.seen == 3


def test_reworded_raw_text_that_reads_the_same_is_no_change(sessions):
    pay = [{"min": 100000, "max": 120000, "currency": "USD", "period": "year", "raw": None}]
    crawl(sessions, [item("1", salary=pay, salary_raw=["$100k-$120k a year"])])
    _, events = crawl(sessions, [item("1", salary=pay, salary_raw=["$100,000 - $120,000 per year"])])
    assert events == []
    _, events = crawl(sessions, [item("1", salary=[dict(pay[0], max=125000)], salary_raw=["$100k-$125k"])])
    assert kinds(events) == [("changed", "1")] and [c["field"] for c in events[0]["changes"]] == ["salary"]


def test_racing_first_runs_of_a_new_source_give_one_run(db_url, sessions):
    """Two processes start the first run of a source nobody crawled yet: the
    second blocks on the first's uncommitted row, tries again once it is
    committed, and meets its lease. No sleeps: the test waits until the
    second's INSERT has been sent and has not returned (it is blocked on
    the first's row), then commits the first."""
    import threading

    from sqlalchemy import event

    from crawler.app.config import config_from_dict
    from crawler.app.runner import _open_run

    cfg = config_from_dict({"database": {"url": db_url},
                            "sources": [{"name": "acme", "board": "greenhouse", "token": "acme"}]})
    first = sessions()
    first.begin()
    start_run(first, ensure_source(first, "acme", "greenhouse", {"token": "acme"}), 60)
    outcome: dict[str, str] = {}
    sent, returned = threading.Event(), threading.Event()
    racer: list[int] = []

    def before(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        if threading.get_ident() in racer and statement.lstrip().upper().startswith("INSERT INTO SOURCES"):
            sent.set()

    def after(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        if threading.get_ident() in racer and statement.lstrip().upper().startswith("INSERT INTO SOURCES"):
            returned.set()

    engine = sessions.kw["bind"]
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)

    def second() -> None:
        racer.append(threading.get_ident())
        try:
            _open_run(sessions, cfg, cfg.source("acme"), 60)
            outcome["second"] = "opened a run"
        except LeaseHeld:
            outcome["second"] = "refused by the lease"

    thread = threading.Thread(target=second)
    try:
        thread.start()
        assert sent.wait(60), "the second never tried to create the source"
        blocked = not returned.is_set()  # sent, and still waiting on the first's row
        first.commit()
        first.close()
        thread.join(60)
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    assert blocked, "the second's INSERT returned before the first committed: no race was tested"
    assert outcome == {"second": "refused by the lease"}
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Source)) == 1
        assert s.scalar(select(func.count()).select_from(Run)) == 1


def test_a_collapse_after_partial_runs_is_suspicious_too(sessions):
    everything = [item(str(i)) for i in range(10)]
    crawl(sessions, everything, outcome=Outcome(complete=False, errors=["page 3 failed"]))
    run, events = crawl(sessions, everything[:2], policy=Policy(expire_after_runs=1))
    assert run.status == "suspicious" and kinds(events) == []
    # suspicious runs never become the usual count
    run, _ = crawl(sessions, everything[:2], policy=Policy(expire_after_runs=1))
    assert run.status == "suspicious"
