"""The read-only HTTP API under ``/api/v1``: events, postings (as of any
moment, with facets), one posting's versions and diffs, companies and their
timelines, deadlines closing soon, sources, runs and status.

Every list is paged by a cursor and carries a ``next`` link; ``events`` and
``postings`` also stream in full as ``.csv`` and ``.ndjson``. Field names
are DESIGN.md's. Errors have one shape, ``{"error": {"code", "message"}}``
(see :mod:`web.params`); ETags and 304s are the app's (:mod:`web.app`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from crawler.changes import days_until, field_changes
from db import history
from web import params as p
from web.diffs import word_diff

router = APIRouter(prefix="/api/v1")
_CHUNK = 256 * 1024  # characters of CSV or NDJSON per streamed chunk

_EVENT_COLUMNS = ("id", "kind", "source", "external_id", "title", "company", "at", "run_id",
                  "reason", "changes", "posting")
_POSTING_COLUMNS = ("source", "external_id", "status", "version", "valid_from", "valid_to", "title",
                    "company", "department", "requisition_id", "locations", "workplace_type",
                    "employment_type", "salary", "posted_at", "deadline", "url", "apply_url",
                    "skills", "language", "description")


def session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as s:
        yield s


def _page(request: Request, items: list[dict[str, Any]], cursor: int | None,
          **extra: Any) -> dict[str, Any]:
    nxt = str(request.url.include_query_params(cursor=cursor)) if cursor is not None else None
    return {"items": items, "next": nxt, **extra}


def _stream(request: Request, rows: Callable[[Session], Iterator[Any]], fmt: str,
            columns: tuple[str, ...], name: str) -> StreamingResponse:
    """Stream every row as CSV or NDJSON from a session of its own (the
    request's session is closed before the body is sent)."""
    sessions = request.app.state.sessions

    def lines() -> Iterator[str]:
        # rows are sent in chunks of about _CHUNK characters: one message
        # per row would cost more than encoding the row
        with sessions() as s:
            buf = io.StringIO()
            if fmt == "ndjson":
                for row in rows(s):
                    buf.write(row if isinstance(row, str) else json.dumps(row, ensure_ascii=False))
                    buf.write("\n")
                    if buf.tell() >= _CHUNK:
                        yield buf.getvalue()
                        buf.seek(0)
                        buf.truncate()
                yield buf.getvalue()
                return
            writer = csv.writer(buf)
            writer.writerow(columns)
            for row in rows(s):
                writer.writerow([_csv_cell(row.get(c)) for c in columns])
                if buf.tell() >= _CHUNK:
                    yield buf.getvalue()
                    buf.seek(0)
                    buf.truncate()
            yield buf.getvalue()

    media = "application/x-ndjson" if fmt == "ndjson" else "text/csv; charset=utf-8"
    return StreamingResponse(lines(), media_type=media, headers={
        "Content-Disposition": f'attachment; filename="{name}.{fmt}"'})


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


# --------------------------------------------------------------------------- events

_EVENT_DOC = ("Change events, newest first: `new`, `changed` (with its field diff), `expired`, "
              "`reopened`, `closing`. Filters combine; `kind` and `source` take several values "
              "(repeated or comma-separated). `since`/`until`: 7d, 12h, now, an ISO date or datetime.")


def _event_filters(kind: str | None = Query(None, description="new, changed, expired, reopened, closing"),
                   source: str | None = Query(None), company: str | None = Query(None),
                   country: str | None = Query(None, description="ISO 3166-1 alpha-2"),
                   workplace: str | None = Query(None, description="onsite, hybrid, remote"),
                   since: str | None = Query(None), until: str | None = Query(None),
                   text: str | None = Query(None, description="in the title or company")) -> None:
    """Only documents the filters in the OpenAPI schema; they are read from
    the query string by web.params, which also refuses unknown names."""


@router.get("/events", dependencies=[Depends(_event_filters)], summary="Change events",
            description=_EVENT_DOC)
def events(request: Request, limit: int = Query(p.DEFAULT_LIMIT), cursor: str | None = Query(None),
           s: Session = Depends(session)) -> dict[str, Any]:
    q = request.query_params
    p.check_names(q, p.EVENT_PARAMS | p.PAGE_PARAMS)
    items, nxt = history.events_page(s, p.event_filter(q), p.limit_of(q), p.cursor_of(q))
    return _page(request, items, nxt)


@router.get("/events.{fmt}", dependencies=[Depends(_event_filters)],
            summary="Every matching event, streamed as CSV or NDJSON", description=_EVENT_DOC)
def events_export(request: Request, fmt: str) -> StreamingResponse:
    q = request.query_params
    _export_format(fmt)
    p.check_names(q, p.EVENT_PARAMS)
    f = p.event_filter(q)
    return _stream(request, lambda s: history.iter_events(s, f), fmt, _EVENT_COLUMNS, "events")


def _export_format(fmt: str) -> None:
    if fmt not in ("csv", "ndjson"):
        raise p.NotFoundError(f"no export format {fmt[:20]!r} (csv or ndjson)")


# --------------------------------------------------------------------------- postings

_POSTING_DOC = ("Postings as they stood at `as_of` (default now): for `open`, the version valid "
                "then; for `expired`/`all`, each posting's latest version begun by then. Agrees "
                "with `jobdelta postings --at`.")


def _posting_filters(source: str | None = Query(None), company: str | None = Query(None),
                     country: str | None = Query(None), workplace: str | None = Query(None),
                     employment: str | None = Query(None, description=", ".join(p.EMPLOYMENT)),
                     text: str | None = Query(None, description="in the title or company"),
                     status: str | None = Query(None, description="open (default), expired, all"),
                     as_of: str | None = Query(None, description="a point in time (default now)")) -> None:
    """Documents the posting filters (read by web.params)."""


@router.get("/postings", dependencies=[Depends(_posting_filters)], summary="Postings",
            description=_POSTING_DOC)
def postings(request: Request, limit: int = Query(p.DEFAULT_LIMIT), cursor: str | None = Query(None),
             s: Session = Depends(session)) -> dict[str, Any]:
    q = request.query_params
    p.check_names(q, p.POSTING_PARAMS | p.PAGE_PARAMS)
    f = p.posting_filter(q)
    items, nxt = history.postings_page(s, f, p.limit_of(q), p.cursor_of(q))
    return _page(request, items, nxt, as_of=(f.as_of or datetime.now(UTC)).isoformat(timespec="seconds"))


@router.get("/postings/facets", dependencies=[Depends(_posting_filters)],
            summary="Counts of the matching postings by source, company, country, workplace and "
                    "employment type")
def postings_facets(request: Request, s: Session = Depends(session)) -> dict[str, Any]:
    q = request.query_params
    p.check_names(q, p.POSTING_PARAMS)
    return {"facets": history.facet_counts(s, p.posting_filter(q))}


@router.get("/postings.{fmt}", dependencies=[Depends(_posting_filters)],
            summary="Every matching posting, streamed as CSV or NDJSON", description=_POSTING_DOC)
def postings_export(request: Request, fmt: str) -> StreamingResponse:
    q = request.query_params
    _export_format(fmt)
    p.check_names(q, p.POSTING_PARAMS)
    f = p.posting_filter(q)
    if fmt == "ndjson":
        return _stream(request, lambda s: history.iter_posting_json(s, f), fmt, (), "postings")
    return _stream(request, lambda s: history.iter_postings(s, f), fmt, _POSTING_COLUMNS, "postings")


def _split_key(key: str) -> tuple[str, str]:
    source, sep, external_id = key.partition(":")
    if not sep or not source or not external_id:
        raise p.BadRequest(f"{key[:80]!r} is not SOURCE:EXTERNAL_ID", code="bad_value")
    return source, external_id


def posting_or_404(s: Session, key: str) -> dict[str, Any]:
    source, external_id = _split_key(key)
    detail = history.posting_detail(s, source, external_id)
    if detail is None:
        raise p.NotFoundError(f"no posting {external_id[:80]!r} in source {source[:80]!r}")
    return detail


@router.get("/postings/{key:path}/diff", summary="What changed between two versions of a posting")
def posting_diff(request: Request, key: str, from_: str | None = Query(None, alias="from"),
                 to: str | None = Query(None), s: Session = Depends(session)) -> dict[str, Any]:
    """Field by field (`{field, old, new}`, lists compared as sets, as events
    do) and the description word by word: hunks of `[op, text]` with `op`
    one of equal, delete, insert, skip. Default: the last two versions."""
    p.check_names(request.query_params, {"from", "to"})
    detail = posting_or_404(s, key)
    return version_diff(detail, p.one(request.query_params, "from"), p.one(request.query_params, "to"))


def version_diff(detail: dict[str, Any], a: str | None, b: str | None) -> dict[str, Any]:
    versions = {v["version"]: v for v in detail["versions"]}
    last = max(versions)
    to_v = _version_number("to", b, versions) if b else last
    from_v = _version_number("from", a, versions) if a else max(1, to_v - 1)
    old, new = versions[from_v]["posting"], versions[to_v]["posting"]
    return {"key": detail["key"], "from": from_v, "to": to_v,
            "from_valid_from": versions[from_v]["valid_from"],
            "to_valid_from": versions[to_v]["valid_from"],
            "changes": field_changes(old, new),
            "description": [[list(seg) for seg in hunk]
                            for hunk in word_diff(old.get("description"), new.get("description"))]}


def _version_number(name: str, text: str, versions: dict[int, Any]) -> int:
    if not text.isdigit() or int(text) not in versions:
        raise p.BadRequest(f"{name}: no version {text[:20]!r} (versions 1 to {max(versions)})",
                           code="bad_value")
    return int(text)


@router.get("/postings/{key:path}", summary="One posting: its current version and every version")
def posting(request: Request, key: str, s: Session = Depends(session)) -> dict[str, Any]:
    """`key` is `SOURCE:EXTERNAL_ID`. `versions` are oldest first, each with
    its validity and the diff to the version before; `events` are the
    posting's events."""
    p.check_names(request.query_params, ())
    detail = posting_or_404(s, key)
    detail["events"] = history.posting_events(s, detail["source"], detail["external_id"])
    return detail


# --------------------------------------------------------------------------- companies


@router.get("/companies", summary="Companies: postings open now and ever, and their sources")
def companies(request: Request, text: str | None = Query(None), limit: int = Query(p.DEFAULT_LIMIT),
              cursor: str | None = Query(None), s: Session = Depends(session)) -> dict[str, Any]:
    q = request.query_params
    p.check_names(q, {"text"} | p.PAGE_PARAMS)
    rows = history.companies(s, p.one(q, "text"))
    start, limit = p.cursor_of(q) or 0, p.limit_of(q)
    nxt = start + limit if start + limit < len(rows) else None
    return _page(request, rows[start:start + limit], nxt)


@router.get("/companies/{name}/timeline", summary="A company's open roles over time")
def company_timeline(request: Request, name: str, since: str | None = Query(None),
                     until: str | None = Query(None), s: Session = Depends(session)) -> dict[str, Any]:
    """Open roles at the end of each day, computed from when each posting was
    open (not from what is open today); postings added (new, reopened) and
    removed (expired) per ISO week, by Monday; the median days from first
    seen to expiry of the postings that closed."""
    q = request.query_params
    p.check_names(q, {"since", "until"})
    timeline = history.company_timeline(s, name, p.parse_time("since", p.one(q, "since")),
                                        p.parse_time("until", p.one(q, "until")))
    if timeline is None:
        raise p.NotFoundError(f"no company {name[:80]!r} in the history")
    return timeline


# --------------------------------------------------------------------------- deadlines


def closing_postings(s: Session, days: int, now: datetime) -> list[dict[str, Any]]:
    """Open postings whose deadline falls within ``days`` days from now."""
    lo = (now - timedelta(days=1)).date().isoformat()
    hi = (now + timedelta(days=days + 1)).date().isoformat() + "\uffff"
    out = []
    for row in history.deadline_candidates(s, lo, hi):
        left = days_until(row.get("deadline"), now)
        if left is not None and 0 <= left <= days:
            row["days_left"] = round(left, 2)
            out.append(row)
    return sorted(out, key=lambda r: (r["days_left"], r["key"]))


@router.get("/closing", summary="Open postings whose deadline falls within the next N days")
def closing(request: Request, days: int = Query(7, description="1 to 365"),
            s: Session = Depends(session)) -> dict[str, Any]:
    q = request.query_params
    p.check_names(q, {"days"})
    n = p.int_param(q, "days", 7, 1, 365)
    return {"days": n, "items": closing_postings(s, n, datetime.now(UTC))}


# --------------------------------------------------------------------------- sources, runs, status


@router.get("/sources", summary="Sources and their health")
def sources(request: Request, s: Session = Depends(session)) -> dict[str, Any]:
    p.check_names(request.query_params, ())
    return {"items": history.sources_health(s)}


@router.get("/runs", summary="Runs, newest first")
def runs(request: Request, source: str | None = Query(None), status: str | None = Query(None),
         limit: int = Query(p.DEFAULT_LIMIT), cursor: str | None = Query(None),
         s: Session = Depends(session)) -> dict[str, Any]:
    q = request.query_params
    p.check_names(q, {"source", "status"} | p.PAGE_PARAMS)
    items, nxt = history.runs_page(s, p.many(q, "source"), p.run_statuses(q), p.limit_of(q),
                                   p.cursor_of(q))
    return _page(request, items, nxt)


@router.get("/status", summary="The store at a glance")
def status(request: Request, s: Session = Depends(session)) -> dict[str, Any]:
    p.check_names(request.query_params, ())
    return history.status(s)
