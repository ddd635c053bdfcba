"""History queries for the HTTP API, the Atom feeds and the pages: filtered
and paginated events, postings as of any moment with facet counts, one
posting's versions, companies and their timelines, deadlines, source health.

Like ``db.queries``, each function takes a session, never opens or commits
one, and returns plain values in the public field names of DESIGN.md.
Filters on company, country and workplace read the columns
``posting_facets`` keeps beside the JSON, so they use indexes. Lists are
paged by keyset (an id to continue after), never by offset.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, Text, and_, cast, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from db.models import Event, Posting, Run, Source, SourceHealth, Version
from db.queries import _iso, event_dict, find_posting, history, run_dict, source_status
from db.vocab import EventKind, HealthState, PostingStatus

POSTING_STATUSES = ("open", "expired", "all")


def _like(text: str) -> str:
    """A LIKE pattern that matches ``text`` anywhere, its wildcards escaped."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# --------------------------------------------------------------------------- events


@dataclass(frozen=True)
class EventFilter:
    kinds: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    company: str | None = None
    country: str | None = None
    workplace: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None


def _event_query(f: EventFilter) -> Select[Any]:
    q = select(Event, Source.name).join(Source, Source.id == Event.source_id)
    if f.kinds:
        q = q.where(Event.kind.in_(f.kinds))
    if f.sources:
        q = q.where(Source.name.in_(f.sources))
    if f.company:
        q = q.where(Event.company == f.company)
    if f.country:
        q = q.where(Event.countries.like(f"%,{f.country.upper()},%"))
    if f.workplace:
        q = q.where(Event.workplace_type == f.workplace)
    if f.since:
        q = q.where(Event.at >= f.since)
    if f.until:
        q = q.where(Event.at < f.until)
    if f.text:
        q = q.where(or_(func.lower(Event.title).like(_like(f.text), escape="\\"),
                        func.lower(Event.company).like(_like(f.text), escape="\\")))
    return q


def _event_row(event: Event, source: str) -> dict[str, Any]:
    row = event_dict(event, source)
    row["company"] = event.company
    return row


def events_page(session: Session, f: EventFilter, limit: int,
                before_id: int | None = None) -> tuple[list[dict[str, Any]], int | None]:
    """A page of events, newest first, and the id to continue before (None
    at the end)."""
    q = _event_query(f)
    if before_id is not None:
        q = q.where(Event.id < before_id)
    rows = session.execute(q.order_by(Event.id.desc()).limit(limit + 1)).all()
    items = [_event_row(e, name) for e, name in rows[:limit]]
    return items, (items[-1]["id"] if len(rows) > limit else None)


def iter_events(session: Session, f: EventFilter) -> Iterator[dict[str, Any]]:
    """Every matching event, newest first, read in batches."""
    for event, name in session.execute(_event_query(f).order_by(Event.id.desc())).yield_per(1000):
        yield _event_row(event, name)


def last_change(session: Session) -> str:
    """A token that moves whenever anything the API shows may have changed:
    a run started or finished, an event was written."""
    runs = session.execute(select(func.max(Run.id), func.max(Run.finished_at),
                                  func.count(Run.finished_at))).one()
    events = session.scalar(select(func.max(Event.id)))
    finished = runs[1].isoformat() if runs[1] else "-"
    return f"r{runs[0] or 0}.{runs[2]}.{finished}.e{events or 0}"


# --------------------------------------------------------------------------- postings


@dataclass(frozen=True)
class PostingFilter:
    sources: tuple[str, ...] = ()
    company: str | None = None
    country: str | None = None
    workplace: str | None = None
    employment: str | None = None
    text: str | None = None
    status: str = "open"
    as_of: datetime | None = None  # None: now


def _valid_at(at: datetime) -> ColumnElement[bool]:
    return and_(Version.valid_from <= at, or_(Version.valid_to.is_(None), Version.valid_to > at))


def _posting_versions(f: PostingFilter, *columns: Any) -> Select[Any]:
    """The version each posting had at ``f.as_of`` (for ``open``: the one
    valid then; for ``expired``/``all``: its latest one begun by then),
    with the filters applied."""
    if f.status not in POSTING_STATUSES:
        raise ValueError(f"unknown status {f.status!r}")
    at = f.as_of
    q = select(*columns).select_from(Version).join(Source, Source.id == Version.source_id)
    if f.status == "open":
        q = q.where(Version.valid_to.is_(None) if at is None else _valid_at(at))
    else:
        begun = Version.valid_from <= at if at is not None else True
        latest = (select(Version.posting_id, func.max(Version.version).label("v"))
                  .where(begun).group_by(Version.posting_id).subquery())
        q = q.join(latest, and_(latest.c.posting_id == Version.posting_id,
                                latest.c.v == Version.version))
        if f.status == "expired":
            q = q.where(Version.valid_to.is_not(None) if at is None else ~_valid_at(at))
    if f.sources:
        q = q.where(Source.name.in_(f.sources))
    if f.company:
        q = q.where(Version.company == f.company)
    if f.country:
        q = q.where(Version.countries.like(f"%,{f.country.upper()},%"))
    if f.workplace:
        q = q.where(Version.workplace_type == f.workplace)
    if f.employment:
        q = q.where(Version.employment_type == f.employment)
    if f.text:
        title = func.lower(type_coerce(Version.data["title"].as_string(), Text))
        q = q.where(or_(title.like(_like(f.text), escape="\\"),
                        func.lower(Version.company).like(_like(f.text), escape="\\")))
    return q


def _is_open(valid_from: datetime, valid_to: datetime | None, at: datetime | None) -> bool:
    if at is None:
        return valid_to is None
    return valid_from <= at and (valid_to is None or valid_to > at)


def _extra(source: str, external_id: str | None, v: Version | Any, at: datetime | None) -> dict[str, Any]:
    return {"source": source, "key": f"{source}:{external_id}",
            "status": "open" if _is_open(v.valid_from, v.valid_to, at) else "expired",
            "version": v.version, "valid_from": _iso(v.valid_from), "valid_to": _iso(v.valid_to)}


def postings_page(session: Session, f: PostingFilter, limit: int,
                  after: int | None = None) -> tuple[list[dict[str, Any]], int | None]:
    """A page of postings in posting order, and the posting id to continue
    after (None at the end)."""
    q = _posting_versions(f, Version, Source.name)
    if after is not None:
        q = q.where(Version.posting_id > after)
    rows = session.execute(q.order_by(Version.posting_id).limit(limit + 1)).all()
    items = []
    for v, name in rows[:limit]:
        row = dict(v.data)
        row.update(_extra(name, v.data.get("external_id"), v, f.as_of))
        items.append(row)
    return items, (rows[limit - 1][0].posting_id if len(rows) > limit else None)


def iter_postings(session: Session, f: PostingFilter) -> Iterator[dict[str, Any]]:
    """Every matching posting, in posting order, read in batches."""
    q = _posting_versions(f, Version, Source.name).order_by(Version.posting_id)
    for v, name in session.execute(q).yield_per(1000):
        row = dict(v.data)
        row.update(_extra(name, v.data.get("external_id"), v, f.as_of))
        yield row


def iter_posting_json(session: Session, f: PostingFilter) -> Iterator[str]:
    """Every matching posting as one JSON object text (what ``iter_postings``
    yields, serialized), spliced from the stored JSON text: an export of
    100,000 postings never decodes and re-encodes their descriptions."""
    q = _posting_versions(f, cast(Version.data, Text), Version.valid_from, Version.valid_to,
                          Version.version, Source.name,
                          type_coerce(Version.data["external_id"].as_string(), Text))
    quoted: dict[str, str] = {}
    for text, valid_from, valid_to, version, name, external_id in session.execute(
            q.order_by(Version.posting_id)).yield_per(2000):
        source = quoted.get(name) or quoted.setdefault(name, json.dumps(name, ensure_ascii=False))
        key = json.dumps(f"{name}:{external_id}", ensure_ascii=False)
        status = "open" if _is_open(valid_from, valid_to, f.as_of) else "expired"
        until = f'"{_iso(valid_to)}"' if valid_to else "null"
        extra = (f'"source": {source}, "key": {key}, "status": "{status}", "version": {version}, '
                 f'"valid_from": "{_iso(valid_from)}", "valid_to": {until}}}')
        body = text.rstrip()
        if body.startswith("{") and body.endswith("}") and body[1:-1].strip():
            yield f"{body[:-1]}, {extra}"
        else:  # an empty or unexpected document: go the slow, sure way
            data = json.loads(text) if body else {}
            yield json.dumps({**data, **json.loads("{" + extra)}, ensure_ascii=False)


def facet_counts(session: Session, f: PostingFilter, top: int = 50) -> dict[str, list[dict[str, Any]]]:
    """How many matching postings have each source, company, country,
    workplace and employment type (the ``top`` most common of each), from
    one grouped pass over the matching versions."""
    q = _posting_versions(f, Version.source_id, Version.company, Version.workplace_type,
                          Version.employment_type, Version.countries, func.count())
    q = q.group_by(Version.source_id, Version.company, Version.workplace_type,
                   Version.employment_type, Version.countries)
    names = dict(session.execute(select(Source.id, Source.name)).all())
    counts: dict[str, Counter[str]] = {k: Counter() for k in
                                       ("source", "company", "workplace_type", "employment_type",
                                        "country")}
    for source_id, company, workplace, employment, countries, n in session.execute(q):
        counts["source"][names.get(source_id, str(source_id))] += n
        for name, value in (("company", company), ("workplace_type", workplace),
                            ("employment_type", employment)):
            if value is not None:
                counts[name][value] += n
        for code in (countries or "").strip(",").split(","):
            if code:
                counts["country"][code] += n
    return {name: [{"value": v, "count": n}
                   for v, n in sorted(c.items(), key=lambda kv: (-kv[1], str(kv[0])))[:top]]
            for name, c in counts.items()}


def posting_detail(session: Session, source: str, external_id: str) -> dict[str, Any] | None:
    """One posting: where it stands now and every version, oldest first."""
    row = session.execute(select(Posting, Source.name).join(Source, Source.id == Posting.source_id)
                          .where(Source.name == source, Posting.external_id == external_id)).first()
    if row is None:
        return None
    posting, name = row
    versions = history(session, source, external_id) or []
    run_of = dict(session.execute(select(Version.version, Version.run_id)
                                  .where(Version.posting_id == posting.id)).all())
    for v in versions:
        v["run_id"] = run_of.get(v["version"])
    return {"source": name, "external_id": posting.external_id, "key": f"{name}:{posting.external_id}",
            "status": posting.status, "url": posting.url, "title": posting.title,
            "first_seen": _iso(posting.first_seen), "last_seen": _iso(posting.last_seen),
            "expired_at": _iso(posting.expired_at), "expired_reason": posting.expired_reason,
            "version": posting.version,
            "posting": versions[-1]["posting"] if versions else {}, "versions": versions}


def posting_events(session: Session, source: str, external_id: str) -> list[dict[str, Any]]:
    """Every event of one posting, oldest first (found by the posting's id,
    so the events index on posting_id serves it)."""
    posting = find_posting(session, source, external_id)
    if posting is None:
        return []
    rows = session.execute(select(Event, Source.name).join(Source, Source.id == Event.source_id)
                           .where(Event.posting_id == posting.id).order_by(Event.id)).all()
    return [_event_row(e, name) for e, name in rows]


# --------------------------------------------------------------------------- companies


def companies(session: Session, text: str | None = None) -> list[dict[str, Any]]:
    """Every company seen: postings open now, postings ever, its sources
    (read from the company index alone, without the versions' data)."""
    q = (select(Version.company, Version.source_id, func.count(func.distinct(Version.posting_id)),
                func.count(Version.posting_id).filter(Version.valid_to.is_(None)))
         .where(Version.company.is_not(None)).group_by(Version.company, Version.source_id))
    if text:
        q = q.where(func.lower(Version.company).like(_like(text), escape="\\"))
    names = dict(session.execute(select(Source.id, Source.name)).all())
    out: dict[str, dict[str, Any]] = {}
    for company, source_id, total, open_now in session.execute(q):
        row = out.setdefault(company, {"company": company, "open": 0, "total": 0, "sources": []})
        row["open"] += open_now
        row["total"] += total
        row["sources"].append(names.get(source_id, str(source_id)))
    for row in out.values():
        row["sources"].sort()
    return sorted(out.values(), key=lambda r: (-r["open"], r["company"].lower()))


def company_exists(session: Session, company: str) -> bool:
    return session.scalar(select(Version.id).where(Version.company == company).limit(1)) is not None


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _day(value: Any) -> date:
    """A day as the database's ``date()`` gives it (text on SQLite)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _by_day(session: Session, column: Any, *where: Any) -> Counter[date]:
    return Counter({_day(day): n for day, n in session.execute(
        select(func.date(column), func.count()).where(*where).group_by(func.date(column)))})


def company_timeline(session: Session, company: str, since: datetime | None = None,
                     until: datetime | None = None, now: datetime | None = None) -> dict[str, Any] | None:
    """Open roles over time, computed from when each version was valid (so
    a posting that closed last month still counts in last month's numbers),
    postings added and removed per week, and the median days from first
    seen to expiry. Days are UTC days; the open count of a day is taken at
    its end. None when the company has never been seen."""
    now = now or datetime.now(UTC)
    # counted by UTC day in the database (stored times are UTC): a company
    # with thousands of versions sends back a few hundred rows
    starts = _by_day(session, Version.valid_from, Version.company == company)
    if not starts:
        return None
    ends = _by_day(session, Version.valid_to, Version.company == company, Version.valid_to.is_not(None))
    start = since.astimezone(UTC).date() if since else min(starts)
    end = min(until or now, now).astimezone(UTC).date()
    # a sweep over the versions' starts and ends, sampled at the end of each day
    # (daily points up to a year and a half, weekly beyond)
    step = 1 if (end - start).days <= 550 else 7
    changes: Counter[date] = Counter()
    before = 0
    for sign, counts in ((1, starts), (-1, ends)):
        for day, n in counts.items():
            if day < start:
                before += sign * n
            else:
                changes[day] += sign * n
    points, level, day = [], before, start
    pending = sorted(changes.items())
    i = 0
    while day <= end:
        while i < len(pending) and pending[i][0] <= day:
            level += pending[i][1]
            i += 1
        points.append({"date": day.isoformat(), "open": level})
        day += timedelta(days=step)
    weekly: dict[date, dict[str, int]] = {}
    where = [Event.company == company,
             Event.kind.in_((EventKind.NEW, EventKind.REOPENED, EventKind.EXPIRED))]
    if since:
        where.append(Event.at >= since)
    if until:
        where.append(Event.at < until)
    for kind, day_text, n in session.execute(
            select(Event.kind, func.date(Event.at), func.count()).where(*where)
            .group_by(Event.kind, func.date(Event.at))):
        week = weekly.setdefault(_monday(_day(day_text)), {"added": 0, "removed": 0})
        week["removed" if kind == EventKind.EXPIRED else "added"] += n
    closed = session.execute(
        select(Posting.first_seen, Posting.expired_at)
        .where(Posting.status == PostingStatus.EXPIRED,
               Posting.id.in_(select(Version.posting_id).where(Version.company == company)))).all()
    days = [(gone - seen).total_seconds() / 86400 for seen, gone in closed if gone and seen]
    return {"company": company, "open": points,
            "weekly": [{"week": w.isoformat(), **weekly[w]} for w in sorted(weekly)],
            "median_days_to_close": round(statistics.median(days), 2) if days else None,
            "closed": len(days)}


# --------------------------------------------------------------------------- deadlines


def deadline_candidates(session: Session, lo: str, hi: str) -> list[dict[str, Any]]:
    """Open postings whose deadline text sorts between ``lo`` and ``hi``
    (ISO dates or datetimes compare as text), each with its current data;
    the caller decides exactly which fall in its window."""
    rows = session.execute(
        select(Version, Source.name, Posting.deadline)
        .join(Posting, and_(Posting.id == Version.posting_id, Posting.version == Version.version))
        .join(Source, Source.id == Version.source_id)
        .where(Posting.status == PostingStatus.OPEN, Posting.deadline.is_not(None),
               Posting.deadline >= lo, Posting.deadline <= hi)
        .order_by(Posting.deadline, Posting.id)).all()
    out = []
    for v, name, _ in rows:
        row = dict(v.data)
        row.update(_extra(name, v.data.get("external_id"), v, None))
        out.append(row)
    return out


# --------------------------------------------------------------------------- sources and runs


def sources_health(session: Session) -> list[dict[str, Any]]:
    """Every source: its board, health, last run and open postings."""
    rows = source_status(session)
    boards = dict(session.execute(select(Source.name, Source.board)).all())
    open_counts = dict(session.execute(
        select(Source.name, func.count(Posting.id)).join(Posting, Posting.source_id == Source.id)
        .where(Posting.status == PostingStatus.OPEN).group_by(Source.name)).all())
    for row in rows:
        row["board"] = boards.get(row["source"])
        row["open_postings"] = open_counts.get(row["source"], 0)
        row["suspicious_since"] = row["since"] if row["health"] == HealthState.SUSPICIOUS else None
    return rows


def runs_page(session: Session, sources: tuple[str, ...] = (), statuses: tuple[str, ...] = (),
              limit: int = 50, before_id: int | None = None) -> tuple[list[dict[str, Any]], int | None]:
    """A page of runs, newest first, and the id to continue before."""
    q = select(Run, Source.name).join(Source, Source.id == Run.source_id)
    if sources:
        q = q.where(Source.name.in_(sources))
    if statuses:
        q = q.where(Run.status.in_(statuses))
    if before_id is not None:
        q = q.where(Run.id < before_id)
    rows = session.execute(q.order_by(Run.id.desc()).limit(limit + 1)).all()
    items = []
    for run, name in rows[:limit]:
        row = run_dict(run, name)
        row["reopened"] = run.reopened
        items.append(row)
    return items, (items[-1]["id"] if len(rows) > limit else None)


def status(session: Session) -> dict[str, Any]:
    """The whole store at a glance."""
    health = sources_health(session)
    last = session.execute(select(Run, Source.name).join(Source, Source.id == Run.source_id)
                           .where(Run.finished_at.is_not(None))
                           .order_by(Run.finished_at.desc(), Run.id.desc()).limit(1)).first()
    return {"sources": len(health),
            "open_postings": session.scalar(select(func.count()).select_from(Posting)
                                            .where(Posting.status == PostingStatus.OPEN)),
            "postings": session.scalar(select(func.count()).select_from(Posting)),
            "events": session.scalar(select(func.count()).select_from(Event)),
            "last_finished_run": run_dict(*last) if last else None,
            "unhealthy": [r["source"] for r in health if r["health"] != HealthState.OK]}


def source_names(session: Session) -> list[str]:
    return list(session.scalars(select(Source.name).order_by(Source.name)))


def health_state_of(session: Session, source: str) -> str | None:
    return session.scalar(select(SourceHealth.state).join(Source, Source.id == SourceHealth.source_id)
                          .where(Source.name == source))
