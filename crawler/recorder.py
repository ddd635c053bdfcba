"""Recording a run: versions and change events in batches, then the run's verdict.

A run's items arrive in batches; each batch is one transaction that loads
nothing per posting: the source's current hashes are read once when the run
starts, the old content of changed postings once per batch. A batch cut
short by a crash is rolled back whole and seen again by the next run. A
batch the database refuses (one bad row) is written again item by item: the
bad item becomes an error of the run (partial, so nothing expires by
absence) and every other item is stored.

``finish`` decides the run's status and applies :mod:`crawler.expiry` and
:mod:`crawler.health`: expiry happens only there and only on evidence.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from crawler import expiry, health
from crawler.alerts import outbox
from crawler.alerts.filters import Subscription
from crawler.changes import change_reason, days_until, field_changes
from crawler.expiry import Policy, event_row
from crawler.items import RawPage, content_hash
from crawler.leases import heartbeat, release_lease, utcnow
from crawler.roles import link_postings
from db.models import (
    Event,
    PageValidator,
    Posting,
    RawResponse,
    RoleLink,
    Run,
    Source,
    Version,
    posting_facets,
)
from db.vocab import EventKind, PostingStatus, RunStatus

log = logging.getLogger(__name__)

# fields whose coverage is watched: when every posting of a board had one
# and a run finds it on none, the parser (or the page layout) broke
COVERAGE_FIELDS = ("company", "locations", "salary", "deadline", "description", "posted_at",
                   "employment_type", "workplace_type")
_COVERAGE_MIN_POSTINGS = 5  # runs that read fewer postings say nothing of coverage
_COVERAGE_USUAL = 0.8  # "the board's postings had it": at least this share last time

# the longest external id the database keeps; a longer one is shortened
# to a stable, unique form (its start, a marker and its hash)
MAX_EXTERNAL_ID = Posting.__table__.c.external_id.type.length
_MAX_DEADLINE = Posting.__table__.c.deadline.type.length
_MAX_CONTENT_TYPE = RawResponse.__table__.c.content_type.type.length
_MAX_ETAG = PageValidator.__table__.c.etag.type.length
_MAX_LAST_MODIFIED = PageValidator.__table__.c.last_modified.type.length


def fit_external_id(external_id: str) -> str:
    """The id as stored: as given when it fits, else its first characters, a
    marker and the SHA-256 of the whole id (stable from run to run, and two
    long ids that share a start stay apart)."""
    if len(external_id) <= MAX_EXTERNAL_ID:
        return external_id
    digest = hashlib.sha256(external_id.encode("utf-8")).hexdigest()
    marker = f"…[sha256:{digest}]"
    return external_id[: MAX_EXTERNAL_ID - len(marker)] + marker


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
    source_hash: str | None = None


@dataclass
class Outcome:
    """What the spider found out about the board, for ``finish``."""

    complete: bool
    errors: list[str] = field(default_factory=list)
    fatal: str | None = None  # the board could not be read at all
    aborted: str | None = None  # the run was stopped (signal, shutdown)
    complete_by: str | None = None  # what completeness was measured against


@dataclass
class Validator:
    """What a page last answered: its validators and the stored body."""

    etag: str | None
    last_modified: str | None
    raw_sha256: str


class RunRecorder:
    """Takes a run's items in batches and turns them into versions and events."""

    def __init__(self, sessions: sessionmaker[Session], source_id: int, run_id: int,
                 policy: Policy, batch_size: int = 500,
                 clock: Callable[[], datetime] = utcnow,
                 subscriptions: Sequence[Subscription] = ()):
        self.sessions = sessions
        self.source_id = source_id
        self.run_id = run_id
        self.policy = policy
        self.batch_size = batch_size
        self.clock = clock
        # every event and health notice this run writes gets its deliveries
        # (the outbox) in the same transaction
        self.subscriptions = tuple(subscriptions)
        self._event_mark = 0  # the last event id of this run already enqueued
        self.counts = {"seen": 0, "new": 0, "changed": 0, "reopened": 0, "expired": 0,
                       "unchanged": 0, "duplicates": 0, "ids_shortened": 0, "refused": 0}
        self.errors: list[str] = []  # items the database refused: the run is partial
        self._items: dict[str, dict[str, Any]] = {}
        self._raw: dict[str, RawPage] = {}
        self._validators: dict[str, tuple[str, Validator]] = {}
        self._damaged: set[str] = set()  # stored bodies that failed their SHA-256 check
        self._gone: list[tuple[str | None, str | None, str]] = []
        self._seen_ids: set[str] = set()
        self._to_link: list[int] = []  # postings added or changed: linked to roles in finish
        self._coverage = dict.fromkeys(COVERAGE_FIELDS, 0)
        self._coverage["postings"] = 0  # postings read (not only vouched for by a listing)
        with sessions() as session:
            self._current = self._load_current(session)
            self._page_validators = {
                key: Validator(etag, lm, sha) for key, etag, lm, sha in session.execute(
                    select(PageValidator.key, PageValidator.etag, PageValidator.last_modified,
                           PageValidator.raw_sha256).where(PageValidator.source_id == source_id))}

    def _load_current(self, session: Session) -> dict[str, _Current]:
        rows = session.execute(
            select(Posting.external_id, Posting.id, Posting.content_hash, Posting.status,
                   Posting.version, Posting.expired_reason, Posting.deadline, Posting.listing_hash,
                   Posting.source_hash)
            .where(Posting.source_id == self.source_id)
        )
        return {r.external_id: _Current(r.id, r.content_hash, r.status, r.version,
                                        r.expired_reason, r.deadline, r.listing_hash, r.source_hash)
                for r in rows}

    # -- intake

    def listing_hashes(self) -> dict[str, str]:
        """Listing fingerprints of the open postings, for spiders that skip
        detail pages the listing shows unchanged."""
        return {ext: cur.listing_hash for ext, cur in self._current.items()
                if cur.status == PostingStatus.OPEN and cur.listing_hash}

    def raw_hashes(self) -> dict[str, str]:
        """Source hashes (:func:`crawler.items.source_hash`) of the raw input
        that made each open posting's current version, for spiders that skip
        parsing input that has not changed (spider kwarg ``known_raw``). A
        hash an expired posting shares (one page that made several postings)
        is left out: that page must be read, to reopen the expired one."""
        closed = {cur.source_hash for cur in self._current.values()
                  if cur.status != PostingStatus.OPEN and cur.source_hash}
        return {ext: cur.source_hash for ext, cur in self._current.items()
                if cur.status == PostingStatus.OPEN and cur.source_hash
                and cur.source_hash not in closed}

    def add(self, data: dict[str, Any], raw_sha256: str | None = None,
            listing_hash: str | None = None, page_url: str | None = None,
            source_hash: str | None = None) -> None:
        ext = fit_external_id(data["external_id"])
        if ext != data["external_id"]:
            self.counts["ids_shortened"] += 1
            data = {**data, "external_id": ext}
        if data.get("deadline") and len(data["deadline"]) > _MAX_DEADLINE:
            self._refuse(ext, f"deadline {data['deadline'][:60]!r} is no date")
            return
        if ext in self._seen_ids:
            self.counts["duplicates"] += 1
            return
        self._seen_ids.add(ext)
        self._items[ext] = {"data": data, "raw": raw_sha256, "listing": listing_hash,
                            "page": page_url or data.get("url"), "source": source_hash}
        if len(self._items) >= self.batch_size:
            self.flush()

    def add_seen(self, external_id: str, listing_hash: str | None = None) -> None:
        """This open posting is present and its stored content stands: the
        listing shows it unchanged (no detail page was fetched), or its raw
        input is what made its current version (it was not parsed).
        ``listing_hash``: the listing's fingerprint of it, when it moved."""
        external_id = fit_external_id(external_id)
        cur = self._current.get(external_id)
        if cur is None or cur.status != PostingStatus.OPEN:
            return  # only known open postings can be vouched for by the listing
        if external_id in self._seen_ids:
            self.counts["duplicates"] += 1
            return
        self._seen_ids.add(external_id)
        self._items[external_id] = {"seen_only": True, "listing": listing_hash}
        if len(self._items) >= self.batch_size:
            self.flush()

    def add_raw(self, page: RawPage) -> None:
        self._raw[page.sha256] = page

    def add_gone(self, external_id: str | None, url: str | None, reason: str) -> None:
        self._gone.append((fit_external_id(external_id) if external_id else None, url, reason))

    # -- conditional requests (crawler.middlewares.conditional)

    def validator(self, key: str) -> Validator | None:
        """What the page with this request fingerprint last answered."""
        return self._page_validators.get(key)

    def add_validator(self, key: str, url: str, etag: str | None, last_modified: str | None,
                      page: RawPage) -> None:
        """Keep the page's validators with its body; written with the next
        batch, in the same transaction as the body they point at."""
        if (etag and len(etag) > _MAX_ETAG) or (last_modified and len(last_modified) > _MAX_LAST_MODIFIED):
            return  # nothing to revalidate with: the page is fetched whole next time
        self.add_raw(page)
        self._validators[key] = (url, Validator(etag, last_modified, page.sha256))

    def stored_body(self, sha256: str) -> tuple[bytes, str | None] | None:
        """A stored response body and its content type, the body checked
        against its SHA-256; None when it is missing or does not match (the
        page is then fetched whole)."""
        if sha256 in self._raw:
            return self._raw[sha256].body, self._raw[sha256].content_type
        with self.sessions() as session:
            row = session.execute(select(RawResponse.body, RawResponse.content_type)
                                  .where(RawResponse.sha256 == sha256)).first()
        if row is None:
            return None
        try:
            body = zlib.decompress(row.body)
        except zlib.error:
            body = None
        if body is None or hashlib.sha256(body).hexdigest() != sha256:
            self._damaged.add(sha256)  # rewritten when the page is fetched whole again
            return None
        return body, row.content_type

    def forget_validator(self, key: str) -> None:
        self._page_validators.pop(key, None)

    # -- batches

    def beat(self) -> None:
        """Called periodically: write what is buffered and renew the lease,
        so a slow board does not lose its lease between batches."""
        if self._items or self._raw or self._validators:
            self.flush()
            return
        with self.sessions.begin() as session:
            heartbeat(session, self.source_id, self.run_id, self.policy.lease_seconds)

    def flush(self) -> None:
        """Write the buffered items, raw pages and validators in one
        transaction; when the database refuses the batch, write the pages
        and then each item on its own."""
        if not self._items and not self._raw and not self._validators:
            return
        items, self._items = self._items, {}
        try:
            self._transaction(items, write_pages=True)
        except OperationalError:
            raise  # the database is unavailable: the run fails, nothing is lost
        except (DBAPIError, StatementError) as exc:
            log.warning("run %s: the database refused a batch (%s); writing it item by item",
                        self.run_id, _first_line(exc))
            self._transaction({}, write_pages=True)
            for ext, entry in items.items():
                try:
                    self._transaction({ext: entry}, write_pages=False)
                except OperationalError:
                    raise
                except (DBAPIError, StatementError) as item_exc:
                    self._refuse(ext, _first_line(item_exc))
        self._raw.clear()
        self._validators.clear()

    def _refuse(self, ext: str, why: str) -> None:
        self.counts["refused"] += 1
        self.errors.append(f"posting {ext[:80]!r} not stored: {why}")
        log.warning("run %s: posting %r not stored: %s", self.run_id, ext[:80], why)

    def _transaction(self, items: dict[str, dict[str, Any]], write_pages: bool) -> None:
        """One transaction; on failure the recorder's own state is as before."""
        saved_counts, saved_coverage, saved_mark = dict(self.counts), dict(self._coverage), self._event_mark
        saved_link = len(self._to_link)
        saved_current = {ext: copy.copy(self._current[ext]) for ext in items if ext in self._current}
        now = self.clock()
        try:
            with self.sessions.begin() as session:
                if write_pages:
                    self._write_raw(session, now)
                    self._write_validators(session, now)
                self._write_items(session, items, now)
                self._enqueue_events(session, now)
                heartbeat(session, self.source_id, self.run_id, self.policy.lease_seconds)
                session.execute(update(Run).where(Run.id == self.run_id).values(
                    seen=self.counts["seen"], new=self.counts["new"],
                    changed=self.counts["changed"], reopened=self.counts["reopened"]))
        except SQLAlchemyError:
            self.counts, self._coverage, self._event_mark = saved_counts, saved_coverage, saved_mark
            del self._to_link[saved_link:]
            for ext in items:
                if ext in saved_current:
                    self._current[ext] = saved_current[ext]
                else:
                    self._current.pop(ext, None)
            raise

    def _write_raw(self, session: Session, now: datetime) -> None:
        if not self._raw:
            return
        have = set(session.scalars(select(RawResponse.sha256)
                                   .where(RawResponse.sha256.in_(list(self._raw)))))
        for sha in have & self._damaged:
            page = self._raw[sha]
            session.execute(update(RawResponse).where(RawResponse.sha256 == sha).values(
                body=zlib.compress(page.body, 6), size=len(page.body), fetched_at=now,
                run_id=self.run_id))
            self._damaged.discard(sha)
        rows = [
            {"sha256": p.sha256, "url": p.url, "status": p.status,
             "content_type": (p.content_type or "")[:_MAX_CONTENT_TYPE] or None,
             "size": len(p.body), "body": zlib.compress(p.body, 6), "fetched_at": now,
             "run_id": self.run_id}
            for sha, p in self._raw.items() if sha not in have
        ]
        if rows:
            session.execute(insert(RawResponse), rows)

    def _write_validators(self, session: Session, now: datetime) -> None:
        if not self._validators:
            return
        keys = list(self._validators)
        session.execute(delete(PageValidator).where(
            PageValidator.source_id == self.source_id, PageValidator.key.in_(keys))
            .execution_options(synchronize_session=False))
        session.execute(insert(PageValidator), [
            {"source_id": self.source_id, "key": key, "url": url, "etag": v.etag,
             "last_modified": v.last_modified, "raw_sha256": v.raw_sha256, "run_id": self.run_id,
             "updated_at": now}
            for key, (url, v) in self._validators.items()])
        for key, (_url, v) in self._validators.items():
            self._page_validators[key] = v

    def _write_items(self, session: Session, items: dict[str, dict[str, Any]], now: datetime) -> None:
        new_rows: list[dict[str, Any]] = []
        touched: list[int] = []  # unchanged: only last_seen moves
        revised: list[tuple[_Current, dict[str, Any], str, str | None, str | None]] = []
        listing_moved: list[dict[str, Any]] = []
        source_moved: list[dict[str, Any]] = []
        for ext, entry in items.items():
            self.counts["seen"] += 1
            cur = self._current.get(ext)
            if entry.get("seen_only"):
                touched.append(cur.id)
                self.counts["unchanged"] += 1
                if entry["listing"] and entry["listing"] != cur.listing_hash:
                    listing_moved.append({"id": cur.id, "listing_hash": entry["listing"]})
                    cur.listing_hash = entry["listing"]
                continue
            data, raw = entry["data"], entry["raw"]
            self._coverage["postings"] += 1
            for name in COVERAGE_FIELDS:
                if data.get(name):
                    self._coverage[name] += 1
            h = content_hash(data)
            if cur is not None and entry["listing"] and entry["listing"] != cur.listing_hash:
                listing_moved.append({"id": cur.id, "listing_hash": entry["listing"]})
                cur.listing_hash = entry["listing"]
            if cur is not None and entry["source"] != cur.source_hash:
                # the input that made the version stored after this batch
                source_moved.append({"id": cur.id, "source_hash": entry["source"]})
                cur.source_hash = entry["source"]
            if cur is None:
                new_rows.append({"data": data, "hash": h, "raw": raw, "listing": entry["listing"],
                                 "page": entry["page"], "source": entry["source"]})
            elif cur.status == PostingStatus.EXPIRED and not self._stays_expired(cur, data, now):
                revised.append((cur, data, h, raw, entry["page"]))
            elif cur.content_hash != h and cur.status == PostingStatus.OPEN:
                revised.append((cur, data, h, raw, entry["page"]))
            else:
                touched.append(cur.id)
                self.counts["unchanged"] += 1

        if listing_moved:
            session.execute(update(Posting), listing_moved)
        if source_moved:
            session.execute(update(Posting), source_moved)
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
              "status": PostingStatus.OPEN, "title": r["data"].get("title"), "url": r["page"],
              "content_hash": r["hash"], "listing_hash": r["listing"],
              "source_hash": r["source"], "version": 1,
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
             "raw_sha256": r["raw"], **posting_facets(r["data"])}
            for pid, r in zip(ids, rows, strict=True)])
        session.execute(insert(Event), [
            self._event(EventKind.NEW, pid, r["data"], now, "new: first time seen")
            for pid, r in zip(ids, rows, strict=True)])
        for pid, r in zip(ids, rows, strict=True):
            d = r["data"]
            self._current[d["external_id"]] = _Current(pid, r["hash"], PostingStatus.OPEN, 1, None,
                                                       d.get("deadline"), r["listing"], r["source"])
        self.counts["new"] += len(rows)

    def _revise(self, session: Session,
                revised: list[tuple[_Current, dict[str, Any], str, str | None, str | None]],
                now: datetime) -> None:
        """Changed or reopened postings: close the current version, add the
        next. A hash that moved with no field changing (a posting stored
        under an older hashing) is only brought up to date: no version, no
        event."""
        ids = [cur.id for cur, *_ in revised]
        old_data = dict(session.execute(
            select(Version.posting_id, Version.data)
            .join(Posting, and_(Posting.id == Version.posting_id, Posting.version == Version.version))
            .where(Posting.id.in_(ids))).all())
        versions, events, postings, closed, rehashed = [], [], [], [], []
        for cur, data, h, raw, page in revised:
            changes = field_changes(old_data.get(cur.id, {}), data)
            if cur.status == PostingStatus.EXPIRED:
                kind = EventKind.REOPENED
                reason = f"reopened: seen again after {cur.expired_reason or 'expiry'}"
                if changes:
                    reason += f"; {change_reason(changes)}"
            elif not changes:
                rehashed.append({"id": cur.id, "content_hash": h, "last_seen": now,
                                 "last_seen_run_id": self.run_id, "missing_runs": 0})
                cur.content_hash = h
                self.counts["unchanged"] += 1
                continue
            else:
                kind, reason = EventKind.CHANGED, change_reason(changes)
            closed.append(cur.id)
            nxt = cur.version + 1
            versions.append({"posting_id": cur.id, "source_id": self.source_id, "version": nxt,
                             "valid_from": now, "valid_to": None, "content_hash": h, "data": data,
                             "run_id": self.run_id, "raw_sha256": raw, **posting_facets(data)})
            events.append(self._event(kind, cur.id, data, now, reason, changes or None))
            postings.append({"id": cur.id, "status": PostingStatus.OPEN, "title": data.get("title"),
                             "url": page, "content_hash": h, "version": nxt,
                             "deadline": data.get("deadline"), "last_seen": now,
                             "last_seen_run_id": self.run_id, "missing_runs": 0,
                             "expired_at": None, "expired_reason": None})
            self.counts[kind] += 1
            cur.content_hash, cur.status, cur.version = h, PostingStatus.OPEN, nxt
            cur.expired_reason, cur.deadline = None, data.get("deadline")
        if rehashed:
            session.execute(update(Posting), rehashed)
        if not closed:
            return
        self._to_link += closed
        session.execute(update(Version).where(Version.posting_id.in_(closed), Version.valid_to.is_(None))
                        .values(valid_to=now).execution_options(synchronize_session=False))
        session.execute(update(Posting), postings)
        session.execute(insert(Version), versions)
        session.execute(insert(Event), events)

    def _event(self, kind: str, posting_id: int, data: dict[str, Any], now: datetime, reason: str,
               changes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        return event_row(kind, self.source_id, self.run_id, posting_id, data, now, reason, changes)

    # -- the end of the run

    def finish(self, outcome: Outcome) -> Run:
        """Flush, decide the run's status, expire on evidence, send closing
        notices, update the source's health, release the lease. Returns the
        finished run."""
        self.flush()
        now = self.clock()
        with self.sessions.begin() as session:
            run = session.get(Run, self.run_id)
            state = health.load(session, self.source_id, now)
            status, reason = self._verdict(session, run, state, outcome, now)
            coverage = self._coverage_change(session) if status == RunStatus.COMPLETE else None
            run.status, run.reason, run.finished_at = status, reason, now
            run.seen, run.new, run.changed = self.counts["seen"], self.counts["new"], self.counts["changed"]
            run.expired, run.reopened = self.counts["expired"], self.counts["reopened"]
            run.stats = {"unchanged": self.counts["unchanged"], "duplicates": self.counts["duplicates"],
                         "ids_shortened": self.counts["ids_shortened"],
                         "refused": self.counts["refused"], "complete_by": outcome.complete_by,
                         "coverage": self._coverage, "errors": (outcome.errors + self.errors)[:20]}
            confirmed = state.confirmed_reason if state.confirmed_at == now else None
            notice_ids = health.write_notices(session, health.record(
                state, status, reason, now, self.run_id, self.policy.health_after, confirmed, coverage))
            self._enqueue_events(session, now)
            if self.subscriptions and notice_ids:
                outbox.enqueue(session, self.subscriptions, outbox.notices(session, notice_ids), now)
            release_lease(session, self.source_id, self.run_id)
        self._link_roles(now)
        return run

    def _verdict(self, session: Session, run: Run, state: Any, outcome: Outcome,
                 now: datetime) -> tuple[str, str | None]:
        """The run's status and reason, with the expiry it allows applied."""
        if outcome.aborted:
            return RunStatus.ABORTED, outcome.aborted
        if outcome.fatal:
            return RunStatus.FAILED, outcome.fatal
        errors = outcome.errors + self.errors
        complete = outcome.complete and not self.errors
        p = self.policy
        seen = self.counts["seen"]
        open_now = expiry.open_ids(session, self.source_id)
        open_by_ext = {ext: cur.id for ext, cur in self._current.items()
                       if cur.status == PostingStatus.OPEN}
        proof = expiry.proven_gone(session, self.source_id, self._gone, open_by_ext, self._seen_ids)
        usual = expiry.usual_count(session, self.source_id, self.run_id, p.suspicious_window,
                                   state.baseline_after_run) if complete else None

        drop: tuple[str, dict[int, str]] | None = None
        # a posting proven gone was still accounted for by the board: its
        # proof is judged on its own (a storm), not as a fall in the count
        if complete and expiry.count_collapsed(seen + len(proof), usual, p.suspicious_drop):
            not_seen = expiry.not_seen_in(session, self.source_id, self.run_id)
            drop = (health.SHRINK, {pid: "missing" for pid in not_seen})
        elif expiry.proof_storm(len(proof), len(open_now), p.suspicious_drop):
            drop = (health.STORM, proof)
        elif state.pending and complete:
            state.pending = None  # the board is back at its usual level: the drop was not real

        if drop is not None:
            kind, against = drop
            pending = health.note_drop(state, kind, run, usual, seen, len(open_now), against)
            n = len(pending["runs"])
            what = health.describe(pending)
            if n < p.confirm_runs or not pending["postings"]:
                verb = (f"saw {seen} postings against a usual {usual:g} (recent runs)"
                        if kind == health.SHRINK else
                        f"proof would expire {len(proof)} of {len(open_now)} open postings at once")
                name = session.scalar(select(Source.name).where(Source.id == self.source_id))
                return RunStatus.SUSPICIOUS, (
                    f"suspicious: {verb}; nothing expired ({n} of {p.confirm_runs} runs to confirm "
                    f"the drop, or `jobdelta accept {name}`)")
            how = f"confirmed over {n} runs"
            confirmed = health.confirmed_reasons(pending, how)
            baseline = run.id - 1 if kind == health.SHRINK else state.baseline_after_run
            health.confirm(state, now, f"{what}, {how}", baseline)
            self._expire(session, confirmed, now)
            proof = {pid: r for pid, r in proof.items() if pid not in confirmed}
            reason: str | None = f"complete: {what}, {how}"
        else:
            reason = None

        # proof counts in complete and partial runs
        self._expire(session, proof, now)
        if p.expire_on_deadline:
            self._expire(session, expiry.past_deadline(session, self.source_id, now), now)
        expiry.closing_notices(session, self.source_id, self.run_id, p.closing_days, now)
        if not complete:
            errs = "; ".join(errors[:3]) or "the board was not seen whole"
            return RunStatus.PARTIAL, f"partial: {errs}"
        self._expire(session, expiry.missing(session, self.source_id, self.run_id,
                                             p.expire_after_runs), now)
        return RunStatus.COMPLETE, reason

    def _enqueue_events(self, session: Session, now: datetime) -> None:
        """Deliveries for the events this run wrote since the last call."""
        if not self.subscriptions:
            return
        alerts = outbox.run_events(session, self.run_id, self._event_mark)
        if alerts:
            outbox.enqueue(session, self.subscriptions, alerts, now)
            self._event_mark = alerts[-1]["id"]

    def _coverage_change(self, session: Session) -> dict[str, bool]:
        """Fields whose coverage fell to zero in this run (True) or is back
        (False), against the last complete run that read enough postings."""
        read = self._coverage["postings"]
        if read < _COVERAGE_MIN_POSTINGS:
            return {}
        before = None
        for stats in session.scalars(
                select(Run.stats).where(Run.source_id == self.source_id, Run.id != self.run_id,
                                        Run.status == RunStatus.COMPLETE)
                .order_by(Run.id.desc()).limit(5)):
            cov = (stats or {}).get("coverage") or {}
            if cov.get("postings", 0) >= _COVERAGE_MIN_POSTINGS:
                before = cov
                break
        change: dict[str, bool] = {}
        for name in COVERAGE_FIELDS:
            if self._coverage[name]:
                change[name] = False
            elif before and before.get(name, 0) >= _COVERAGE_USUAL * before["postings"]:
                change[name] = True
        return change

    def _expire(self, session: Session, reasons: dict[int, str], now: datetime) -> None:
        ids = set(expiry.expire(session, self.source_id, self.run_id, reasons, now))
        for cur in self._current.values():
            if cur.id in ids:
                cur.status, cur.expired_reason = PostingStatus.EXPIRED, reasons[cur.id]
        self.counts["expired"] += len(ids)

    def _link_roles(self, now: datetime) -> None:
        """Link to their roles the run's new and changed postings, and any
        posting of the source left unlinked (or linked on older content) by
        an earlier run that was killed before it could link them. In a
        transaction of its own: roles are derived data, and a failure here
        must not undo the run."""
        try:
            with self.sessions.begin() as session:
                stale = session.scalars(
                    select(Posting.id)
                    .join(Version, and_(Version.posting_id == Posting.id,
                                        Version.version == Posting.version))
                    .outerjoin(RoleLink, RoleLink.posting_id == Posting.id)
                    .where(Posting.source_id == self.source_id,
                           or_(RoleLink.posting_id.is_(None), RoleLink.linked_at < Version.valid_from)))
                link_postings(session, {*self._to_link, *stale}, now)
        except Exception:  # the run stands; the next run links what is left
            log.exception("linking the postings of run %s to roles failed", self.run_id)


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    return text.splitlines()[0][:300] if text else type(orig).__name__

