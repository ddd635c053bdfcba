"""Storing a run: versions, change events, expiry, closing notices, leases.

A run's items arrive in batches; each batch is one transaction that loads
nothing per posting: the source's current hashes are read once when the run
starts, the old content of changed postings once per batch. A batch that is
cut short by a crash is rolled back whole and seen again by the next run, so
nothing is lost or duplicated. Expiry happens only in ``finish`` and only on
evidence (see DESIGN.md).
"""

from __future__ import annotations

import logging
import os
import socket
import statistics
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from crawler.changes import change_reason, closing_threshold, days_until, field_changes
from crawler.errors import LeaseHeld
from crawler.items import RawPage, content_hash
from crawler.roles import link_postings
from db.models import Event, Posting, RawResponse, Run, Source, Version

log = logging.getLogger(__name__)

RUN_STATUSES = ("running", "complete", "partial", "failed", "suspicious", "aborted")


def utcnow() -> datetime:
    """Now, in whole seconds: times are printed to the second, and a time
    copied from the output must find the versions valid at it."""
    return datetime.now(UTC).replace(microsecond=0)


def holder_id() -> str:
    """Who holds a lease: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _holder_is_dead(holder: str | None) -> bool:
    """True when the holder ran on this host and its process is gone."""
    if not holder or ":" not in holder:
        return False
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


# --------------------------------------------------------------------------- runs and leases


def ensure_source(session: Session, name: str, board: str, params: dict[str, Any]) -> Source:
    """The source row for a configured source, created or brought up to date."""
    src = session.scalar(select(Source).where(Source.name == name))
    if src is None:
        src = Source(name=name, board=board, params=params, created_at=utcnow())
        session.add(src)
        session.flush()
    elif src.board != board or src.params != params:
        src.board, src.params = board, params
    return src


def abort_stale_runs(session: Session, source_id: int, now: datetime) -> list[int]:
    """Mark runs that were left ``running`` by a process that died (its lease
    expired, or its process is gone from this host) as aborted, and free the
    lease. Returns the aborted run ids."""
    src = session.get(Source, source_id, with_for_update=True)
    aborted: list[int] = []
    for run in session.scalars(select(Run).where(Run.source_id == source_id, Run.status == "running")):
        lease_is_theirs = src is not None and src.lease_run_id == run.id
        expired = lease_is_theirs and src.lease_expires_at is not None and src.lease_expires_at < now
        if not lease_is_theirs or expired or _holder_is_dead(run.holder):
            run.status = "aborted"
            run.finished_at = now
            run.reason = f"aborted: process {run.holder} stopped before finishing the run"
            aborted.append(run.id)
            if lease_is_theirs:
                src.lease_run_id = src.lease_holder = src.lease_expires_at = None
    return aborted


def start_run(session: Session, source: Source, lease_seconds: int) -> Run:
    """Take the source's lease and open a run, or raise LeaseHeld.

    The lease is taken with one conditional UPDATE, so two processes (or
    machines) racing for it cannot both win."""
    now = utcnow()
    abort_stale_runs(session, source.id, now)
    me = holder_id()
    taken = session.execute(
        update(Source)
        .where(Source.id == source.id,
               or_(Source.lease_holder.is_(None), Source.lease_expires_at < now))
        .values(lease_holder=me, lease_expires_at=now + timedelta(seconds=lease_seconds),
                lease_run_id=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        holder = session.scalar(select(Source.lease_holder).where(Source.id == source.id))
        raise LeaseHeld(f"source {source.name!r} is being crawled by {holder}; try again later")
    run = Run(source_id=source.id, started_at=now, status="running", holder=me)
    session.add(run)
    session.flush()
    session.execute(update(Source).where(Source.id == source.id).values(lease_run_id=run.id)
                    .execution_options(synchronize_session=False))
    return run


def heartbeat(session: Session, source_id: int, run_id: int, lease_seconds: int) -> None:
    session.execute(
        update(Source).where(Source.id == source_id, Source.lease_run_id == run_id)
        .values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )


def release_lease(session: Session, source_id: int, run_id: int) -> None:
    session.execute(
        update(Source).where(Source.id == source_id, Source.lease_run_id == run_id)
        .values(lease_holder=None, lease_expires_at=None, lease_run_id=None)
        .execution_options(synchronize_session=False)
    )


# --------------------------------------------------------------------------- the recorder


@dataclass
class _Current:
    """What change detection needs to know of a stored posting."""

    id: int
    content_hash: str
    status: str
    version: int
    expired_reason: str | None
    deadline: str | None
    listing_hash: str | None = None


@dataclass
class Outcome:
    """What the spider found out about the board, for ``finish``."""

    complete: bool
    errors: list[str] = field(default_factory=list)
    fatal: str | None = None  # the board could not be read at all
    aborted: str | None = None  # the run was stopped (signal, shutdown)


@dataclass
class Policy:
    expire_after_runs: int = 2
    closing_days: list[int] = field(default_factory=lambda: [7, 1])
    expire_on_deadline: bool = True
    suspicious_drop: float = 0.5
    suspicious_window: int = 5
    lease_seconds: int = 300


class RunRecorder:
    """Takes a run's items in batches and turns them into versions and events."""

    def __init__(self, sessions: sessionmaker[Session], source_id: int, run_id: int,
                 policy: Policy, batch_size: int = 500,
                 clock: Callable[[], datetime] = utcnow):
        self.sessions = sessions
        self.source_id = source_id
        self.run_id = run_id
        self.policy = policy
        self.batch_size = batch_size
        self.clock = clock
        self.counts = {"seen": 0, "new": 0, "changed": 0, "reopened": 0, "expired": 0,
                       "unchanged": 0, "duplicates": 0}
        self._items: dict[str, dict[str, Any]] = {}
        self._raw: dict[str, RawPage] = {}
        self._gone: list[tuple[str | None, str | None, str]] = []
        self._seen_ids: set[str] = set()
        self._to_link: list[int] = []  # postings added or changed: linked to roles in finish
        with sessions() as session:
            self._current = self._load_current(session)

    def _load_current(self, session: Session) -> dict[str, _Current]:
        rows = session.execute(
            select(Posting.external_id, Posting.id, Posting.content_hash, Posting.status,
                   Posting.version, Posting.expired_reason, Posting.deadline, Posting.listing_hash)
            .where(Posting.source_id == self.source_id)
        )
        return {r.external_id: _Current(r.id, r.content_hash, r.status, r.version,
                                        r.expired_reason, r.deadline, r.listing_hash) for r in rows}

    # -- intake

    def listing_hashes(self) -> dict[str, str]:
        """Listing fingerprints of the open postings, for spiders that skip
        detail pages the listing shows unchanged."""
        return {ext: cur.listing_hash for ext, cur in self._current.items()
                if cur.status == "open" and cur.listing_hash}

    def add(self, data: dict[str, Any], raw_sha256: str | None = None,
            listing_hash: str | None = None, page_url: str | None = None) -> None:
        ext = data["external_id"]
        if ext in self._seen_ids:
            self.counts["duplicates"] += 1
            return
        self._seen_ids.add(ext)
        self._items[ext] = {"data": data, "raw": raw_sha256, "listing": listing_hash,
                            "page": page_url or data.get("url")}
        if len(self._items) >= self.batch_size:
            self.flush()

    def add_seen(self, external_id: str) -> None:
        """The listing shows this open posting unchanged: it is present and
        its stored content stands (no detail page was fetched)."""
        cur = self._current.get(external_id)
        if cur is None or cur.status != "open":
            return  # only known open postings can be vouched for by the listing
        if external_id in self._seen_ids:
            self.counts["duplicates"] += 1
            return
        self._seen_ids.add(external_id)
        self._items[external_id] = {"seen_only": True}
        if len(self._items) >= self.batch_size:
            self.flush()

    def add_raw(self, page: RawPage) -> None:
        self._raw[page.sha256] = page

    def add_gone(self, external_id: str | None, url: str | None, reason: str) -> None:
        self._gone.append((external_id, url, reason))

    # -- batches

    def beat(self) -> None:
        """Called periodically: write what is buffered and renew the lease,
        so a slow board does not lose its lease between batches."""
        if self._items or self._raw:
            self.flush()
            return
        with self.sessions.begin() as session:
            heartbeat(session, self.source_id, self.run_id, self.policy.lease_seconds)

    def flush(self) -> None:
        """Write the buffered items (and raw pages) in one transaction."""
        if not self._items and not self._raw:
            return
        now = self.clock()
        with self.sessions.begin() as session:
            self._write_raw(session, now)
            self._write_items(session, now)
            heartbeat(session, self.source_id, self.run_id, self.policy.lease_seconds)
            session.execute(update(Run).where(Run.id == self.run_id).values(
                seen=self.counts["seen"], new=self.counts["new"],
                changed=self.counts["changed"], reopened=self.counts["reopened"]))
        self._items.clear()
        self._raw.clear()

    def _write_raw(self, session: Session, now: datetime) -> None:
        if not self._raw:
            return
        have = set(session.scalars(select(RawResponse.sha256)
                                   .where(RawResponse.sha256.in_(list(self._raw)))))
        rows = [
            {"sha256": p.sha256, "url": p.url, "status": p.status, "content_type": p.content_type,
             "size": len(p.body), "body": zlib.compress(p.body, 6), "fetched_at": now,
             "run_id": self.run_id}
            for sha, p in self._raw.items() if sha not in have
        ]
        if rows:
            session.execute(insert(RawResponse), rows)

    def _write_items(self, session: Session, now: datetime) -> None:
        new_rows: list[dict[str, Any]] = []
        touched: list[int] = []  # unchanged: only last_seen moves
        revised: list[tuple[_Current, dict[str, Any], str, str | None, str | None]] = []
        listing_moved: list[dict[str, Any]] = []
        for ext, entry in self._items.items():
            self.counts["seen"] += 1
            cur = self._current.get(ext)
            if entry.get("seen_only"):
                touched.append(cur.id)
                self.counts["unchanged"] += 1
                continue
            data, raw = entry["data"], entry["raw"]
            h = content_hash(data)
            if cur is not None and entry["listing"] and entry["listing"] != cur.listing_hash:
                listing_moved.append({"id": cur.id, "listing_hash": entry["listing"]})
                cur.listing_hash = entry["listing"]
            if cur is None:
                new_rows.append({"data": data, "hash": h, "raw": raw, "listing": entry["listing"],
                                 "page": entry["page"]})
            elif cur.status == "expired" and not self._stays_expired(cur, data, now):
                revised.append((cur, data, h, raw, entry["page"]))
            elif cur.content_hash != h and cur.status == "open":
                revised.append((cur, data, h, raw, entry["page"]))
            else:
                touched.append(cur.id)
                self.counts["unchanged"] += 1

        if listing_moved:
            session.execute(update(Posting), listing_moved)
        if touched:
            session.execute(
                update(Posting).where(Posting.id.in_(touched))
                .values(last_seen=now, last_seen_run_id=self.run_id, missing_runs=0)
                .execution_options(synchronize_session=False))
        if new_rows:
            self._insert_new(session, new_rows, now)
        if revised:
            self._revise(session, revised, now)

    def _stays_expired(self, cur: _Current, data: dict[str, Any], now: datetime) -> bool:
        """A posting that expired because its deadline passed, still listed
        with that same past deadline, is not reopened."""
        if not (cur.expired_reason or "").startswith("expired: deadline passed"):
            return False
        left = days_until(data.get("deadline"), now)
        return data.get("deadline") == cur.deadline and left is not None and left < 0

    def _insert_new(self, session: Session, rows: list[dict[str, Any]], now: datetime) -> None:
        # one multi-row INSERT, then one SELECT for the new ids: RETURNING in
        # parameter order would fall back to a statement per row on SQLite
        session.execute(
            insert(Posting),
            [{"source_id": self.source_id, "external_id": r["data"]["external_id"],
              "status": "open", "title": r["data"].get("title"), "url": r["page"],
              "content_hash": r["hash"], "listing_hash": r["listing"], "version": 1,
              "deadline": r["data"].get("deadline"),
              "first_seen": now, "last_seen": now, "last_seen_run_id": self.run_id,
              "missing_runs": 0} for r in rows],
        )
        id_of = dict(session.execute(
            select(Posting.external_id, Posting.id).where(
                Posting.source_id == self.source_id,
                Posting.external_id.in_([r["data"]["external_id"] for r in rows]))).all())
        ids = [id_of[r["data"]["external_id"]] for r in rows]
        self._to_link += ids
        session.execute(insert(Version), [
            {"posting_id": pid, "source_id": self.source_id, "version": 1, "valid_from": now,
             "valid_to": None, "content_hash": r["hash"], "data": r["data"], "run_id": self.run_id,
             "raw_sha256": r["raw"]} for pid, r in zip(ids, rows, strict=True)])
        session.execute(insert(Event), [
            self._event("new", pid, r["data"], now, "new: first time seen") for pid, r in zip(ids, rows, strict=True)])
        for pid, r in zip(ids, rows, strict=True):
            d = r["data"]
            self._current[d["external_id"]] = _Current(pid, r["hash"], "open", 1, None, d.get("deadline"),
                                                       r["listing"])
        self.counts["new"] += len(rows)

    def _revise(self, session: Session,
                revised: list[tuple[_Current, dict[str, Any], str, str | None, str | None]],
                now: datetime) -> None:
        """Changed or reopened postings: close the current version, add the next."""
        ids = [cur.id for cur, *_ in revised]
        self._to_link += ids
        old_data = dict(session.execute(
            select(Version.posting_id, Version.data)
            .join(Posting, and_(Posting.id == Version.posting_id, Posting.version == Version.version))
            .where(Posting.id.in_(ids))).all())
        session.execute(update(Version).where(Version.posting_id.in_(ids), Version.valid_to.is_(None))
                        .values(valid_to=now).execution_options(synchronize_session=False))
        versions, events, postings = [], [], []
        for cur, data, h, raw, page in revised:
            changes = field_changes(old_data.get(cur.id, {}), data)
            if cur.status == "expired":
                kind = "reopened"
                reason = f"reopened: seen again after {cur.expired_reason or 'expiry'}"
                if changes:
                    reason += f"; {change_reason(changes)}"
            else:
                kind, reason = "changed", change_reason(changes)
            nxt = cur.version + 1
            versions.append({"posting_id": cur.id, "source_id": self.source_id, "version": nxt,
                             "valid_from": now, "valid_to": None, "content_hash": h, "data": data,
                             "run_id": self.run_id, "raw_sha256": raw})
            events.append(self._event(kind, cur.id, data, now, reason, changes or None))
            postings.append({"id": cur.id, "status": "open", "title": data.get("title"),
                             "url": page, "content_hash": h, "version": nxt,
                             "deadline": data.get("deadline"), "last_seen": now,
                             "last_seen_run_id": self.run_id, "missing_runs": 0,
                             "expired_at": None, "expired_reason": None})
            self.counts[kind] += 1
            cur.content_hash, cur.status, cur.version = h, "open", nxt
            cur.expired_reason, cur.deadline = None, data.get("deadline")
        session.execute(update(Posting), postings)
        session.execute(insert(Version), versions)
        session.execute(insert(Event), events)

    def _event(self, kind: str, posting_id: int, data: dict[str, Any], now: datetime, reason: str,
               changes: list[dict[str, Any]] | None = None, dedupe_key: str | None = None) -> dict[str, Any]:
        return {"kind": kind, "source_id": self.source_id, "posting_id": posting_id,
                "external_id": data.get("external_id"), "title": data.get("title"), "at": now,
                "run_id": self.run_id, "reason": reason, "changes": changes, "posting": data,
                "dedupe_key": dedupe_key}

    # -- the end of the run

    def finish(self, outcome: Outcome) -> Run:
        """Flush, decide the run's status, expire on evidence, send closing
        notices, release the lease. Returns the finished run."""
        self.flush()
        now = self.clock()
        with self.sessions.begin() as session:
            status, reason = self._status(session, outcome)
            if status != "failed" and status != "aborted":
                self._expire_gone(session, now)
                if self.policy.expire_on_deadline:
                    self._expire_past_deadline(session, now)
                self._closing(session, now)
            if status == "complete":
                self._expire_missing(session, now)
            run = session.get(Run, self.run_id)
            run.status, run.reason, run.finished_at = status, reason, now
            run.seen, run.new, run.changed = self.counts["seen"], self.counts["new"], self.counts["changed"]
            run.expired, run.reopened = self.counts["expired"], self.counts["reopened"]
            run.stats = {"unchanged": self.counts["unchanged"], "duplicates": self.counts["duplicates"],
                         "errors": outcome.errors[:20]}
            release_lease(session, self.source_id, self.run_id)
        self._link_roles(now)
        return run

    def _link_roles(self, now: datetime) -> None:
        """Link the run's new and changed postings to their roles, in a
        transaction of its own: roles are derived data, and a failure here
        must not undo the run."""
        try:
            with self.sessions.begin() as session:
                link_postings(session, self._to_link, now)
        except Exception:  # the run stands; the next change of a posting links it again
            log.exception("linking the postings of run %s to roles failed", self.run_id)

    def _status(self, session: Session, outcome: Outcome) -> tuple[str, str | None]:
        if outcome.aborted:
            return "aborted", outcome.aborted
        if outcome.fatal:
            return "failed", outcome.fatal
        if not outcome.complete:
            errs = "; ".join(outcome.errors[:3]) or "the board was not seen whole"
            return "partial", f"partial: {errs}"
        # the usual count: recent complete runs, and partial ones (what a
        # partial run saw is a floor of the board's size); never suspicious
        # runs, or a collapse would soon pass for the new normal
        recent = list(session.scalars(
            select(Run.seen).where(Run.source_id == self.source_id, Run.id != self.run_id,
                                   Run.status.in_(("complete", "partial")))
            .order_by(Run.started_at.desc()).limit(self.policy.suspicious_window)))
        if recent:
            usual = statistics.median(recent)
            floor = usual * (1 - self.policy.suspicious_drop)
            if usual > 0 and self.counts["seen"] < floor:
                return "suspicious", (
                    f"suspicious: saw {self.counts['seen']} postings against a usual {usual:g} "
                    f"(recent runs); nothing expired")
        return "complete", None

    def _expire(self, session: Session, rows: Iterable[tuple[int, str]], now: datetime) -> None:
        """Expire the given (posting id, reason) pairs: close the current
        version, mark the posting, record the event with its last content."""
        rows = list(rows)
        if not rows:
            return
        reasons = dict(rows)
        ids = list(reasons)
        data = dict(session.execute(
            select(Version.posting_id, Version.data)
            .where(Version.posting_id.in_(ids), Version.valid_to.is_(None))).all())
        session.execute(update(Version).where(Version.posting_id.in_(ids), Version.valid_to.is_(None))
                        .values(valid_to=now).execution_options(synchronize_session=False))
        session.execute(update(Posting), [
            {"id": pid, "status": "expired", "expired_at": now, "expired_reason": reasons[pid]}
            for pid in ids])
        session.execute(insert(Event), [
            self._event("expired", pid, data.get(pid, {}), now, reasons[pid]) for pid in ids])
        for cur in self._current.values():
            if cur.id in reasons:
                cur.status, cur.expired_reason = "expired", reasons[cur.id]
        self.counts["expired"] += len(ids)

    def _expire_gone(self, session: Session, now: datetime) -> None:
        found: dict[int, str] = {}
        by_url = [(url, reason) for ext, url, reason in self._gone if ext is None and url]
        for ext, _url, reason in self._gone:
            cur = self._current.get(ext) if ext else None
            if cur and cur.status == "open" and ext not in self._seen_ids:
                found[cur.id] = f"expired: {reason}"
        if by_url:
            urls = {url: reason for url, reason in by_url}
            for pid, url in session.execute(
                    select(Posting.id, Posting.url).where(
                        Posting.source_id == self.source_id, Posting.status == "open",
                        Posting.url.in_(list(urls)))):
                found[pid] = f"expired: {urls[url]}"
        self._expire(session, found.items(), now)

    def _expire_past_deadline(self, session: Session, now: datetime) -> None:
        rows = session.execute(select(Posting.id, Posting.deadline).where(
            Posting.source_id == self.source_id, Posting.status == "open",
            Posting.deadline.is_not(None)))
        past = [(pid, f"expired: deadline passed ({dl})") for pid, dl in rows
                if (left := days_until(dl, now)) is not None and left < 0]
        self._expire(session, past, now)

    def _expire_missing(self, session: Session, now: datetime) -> None:
        missing = (Posting.source_id == self.source_id) & (Posting.status == "open") & or_(
            Posting.last_seen_run_id.is_(None), Posting.last_seen_run_id != self.run_id)
        session.execute(update(Posting).where(missing).values(missing_runs=Posting.missing_runs + 1)
                        .execution_options(synchronize_session=False))
        n = self.policy.expire_after_runs
        rows = session.execute(select(Posting.id, Posting.missing_runs)
                               .where(missing, Posting.missing_runs >= n))
        self._expire(session, [
            (pid, f"expired: missing from {m} consecutive complete run{'s' if m != 1 else ''}")
            for pid, m in rows], now)

    def _closing(self, session: Session, now: datetime) -> None:
        """Closing-soon notices: once per posting, threshold and deadline."""
        thresholds = self.policy.closing_days
        if not thresholds:
            return
        rows = session.execute(select(Posting.id, Posting.deadline).where(
            Posting.source_id == self.source_id, Posting.status == "open",
            Posting.deadline.is_not(None))).all()
        due = {pid: (dl, t) for pid, dl in rows
               if (t := closing_threshold(dl, now, thresholds)) is not None}
        if not due:
            return
        sent = set(session.scalars(select(Event.dedupe_key).where(
            Event.kind == "closing", Event.posting_id.in_(list(due)))))
        data = dict(session.execute(select(Version.posting_id, Version.data).where(
            Version.posting_id.in_(list(due)), Version.valid_to.is_(None))).all())
        events = []
        for pid, (dl, t) in due.items():
            # a notice at this threshold or a tighter one was already sent
            if any(f"closing:{pid}:{dl}:{u}" in sent for u in thresholds if u <= t):
                continue
            left = days_until(dl, now) or 0.0
            when = "today" if left < 1 else f"in {int(left)} day{'s' if int(left) != 1 else ''}"
            events.append(self._event("closing", pid, data.get(pid, {}), now,
                                      f"closing: deadline {dl} is {when} (within {t} day{'s' if t != 1 else ''})",
                                      dedupe_key=f"closing:{pid}:{dl}:{t}"))
        if events:
            session.execute(insert(Event), events)


def count_runs(session: Session, source_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Run).where(Run.source_id == source_id)) or 0
