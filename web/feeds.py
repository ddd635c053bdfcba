"""Atom feeds of change events (feedgen): every event, one source's, one
company's, or any saved filter in the URL (the ``/api/v1/events`` filters).

Each entry is one event with a stable id (the same event always has the same
id, so a feed reader shows it once), a title that names the kind and the
posting, and a readable summary of the change (the lines an email alert
shows). Board text is stripped of control characters (XML cannot carry them)
and bounded; feedgen escapes it. With auth on, a feed reader passes the feed
token as ``?token=`` (:class:`web.app.Auth`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from feedgen.feed import FeedGenerator
from sqlalchemy.orm import Session

from crawler.alerts.render import describe_change
from crawler.normalize.text import strip_controls
from db import history
from web import params as p
from web.api import session

router = APIRouter(prefix="/feeds")

FEED_ENTRIES = 100  # newest events in a feed
_TITLE_LIMIT = 300
_SUMMARY_LIMIT = 4000
_NAMESPACE = uuid.UUID("5b0c3f52-7f0a-4d8e-9a49-3c1f6f6d1a10")  # jobdelta event ids
_KIND_WORDS = {"new": "New", "changed": "Changed", "expired": "Expired", "reopened": "Reopened",
               "closing": "Closing soon"}


def _xml_text(value: Any, limit: int) -> str:
    """Control-free, XML-safe, bounded text (XML 1.0 cannot hold most C0
    controls, nor lone surrogates)."""
    text = strip_controls(str(value)) if value is not None else ""
    text = "".join(c for c in text if c in "\n\t" or (ord(c) >= 0x20 and not 0xD800 <= ord(c) <= 0xDFFF
                                                      and c not in "\ufffe\uffff"))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def entry_id(event: dict[str, Any]) -> str:
    """Stable across requests and servers on one database: the event's id,
    source and time, as a name-based UUID."""
    name = f"{event['id']}|{event['source']}|{event['external_id']}|{event['at']}|{event['kind']}"
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, name)}"


def entry_title(event: dict[str, Any]) -> str:
    word = _KIND_WORDS.get(event["kind"], event["kind"])
    title = " ".join(_xml_text(event.get("title") or event.get("external_id"), _TITLE_LIMIT).split())
    company = " ".join(_xml_text(event.get("company"), 200).split())
    return f"{word}: {title}" + (f" at {company}" if company else "") + f" ({event['source']})"


def entry_summary(event: dict[str, Any]) -> str:
    lines = [_xml_text(event.get("reason"), 500)]
    for change in event.get("changes") or []:
        lines.append(_xml_text(describe_change(change), 2000))
    return _xml_text("\n".join(line for line in lines if line), _SUMMARY_LIMIT)


def _atom(request: Request, title: str, events: list[dict[str, Any]]) -> Response:
    base = str(request.base_url).rstrip("/")
    fg = FeedGenerator()
    fg.id(f"urn:jobdelta:feed:{quote(request.url.path)}?{quote(request.url.query, safe='=&')}")
    fg.title(_xml_text(title, 300))
    fg.link(href=str(request.url), rel="self", type="application/atom+xml")
    fg.link(href=base + "/", rel="alternate", type="text/html")
    fg.generator("jobdelta")
    fg.updated(datetime.fromisoformat(events[0]["at"]) if events else datetime(2000, 1, 1, tzinfo=UTC))
    for event in reversed(events):  # feedgen lists the last added first
        fe = fg.add_entry()
        fe.id(entry_id(event))
        fe.title(entry_title(event))
        fe.updated(datetime.fromisoformat(event["at"]))
        fe.published(datetime.fromisoformat(event["at"]))
        fe.summary(entry_summary(event))
        fe.link(href=f"{base}/postings/{quote(event['source'], safe='')}:"
                     f"{quote(str(event['external_id']), safe='')}", rel="alternate")
        fe.category(term=event["kind"])
        fe.author(name=_xml_text(event["source"], 200))
    return Response(fg.atom_str(pretty=True), media_type="application/atom+xml; charset=utf-8")


def _feed(request: Request, s: Session, title: str, f: history.EventFilter) -> Response:
    events, _ = history.events_page(s, f, FEED_ENTRIES)
    return _atom(request, title, events)


@router.get("/events.atom", summary="Atom feed of events; takes the /api/v1/events filters")
def events_feed(request: Request, s: Session = Depends(session)) -> Response:
    q = request.query_params
    p.check_names(q, p.EVENT_PARAMS | {"token"})
    f = p.event_filter(q)
    described = ", ".join(f"{k}={v}" for k, v in q.items() if k != "token")
    return _feed(request, s, "jobdelta: events" + (f" ({described})" if described else ""), f)


@router.get("/sources/{name:path}.atom", summary="Atom feed of one source's events")
def source_feed(request: Request, name: str, kind: str | None = Query(None),
                s: Session = Depends(session)) -> Response:
    q = request.query_params
    p.check_names(q, {"kind", "token"})
    if name not in history.source_names(s):
        raise p.NotFoundError(f"no source {name[:80]!r}")
    f = p.event_filter({"kind": q.get("kind"), "source": name})
    return _feed(request, s, f"jobdelta: {name}", f)


@router.get("/companies/{name:path}.atom", summary="Atom feed of one company's events")
def company_feed(request: Request, name: str, kind: str | None = Query(None),
                 s: Session = Depends(session)) -> Response:
    q = request.query_params
    p.check_names(q, {"kind", "token"})
    f = p.event_filter({"kind": q.get("kind"), "company": name})
    events, _ = history.events_page(s, f, FEED_ENTRIES)
    if not events and not history.company_exists(s, name):
        raise p.NotFoundError(f"no company {name[:80]!r} in the history")
    return _atom(request, f"jobdelta: {name}", events)
