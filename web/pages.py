"""The pages: server-rendered HTML over the history, for people with a browser.

Reads the same query functions as the API (:mod:`db.history`) and the same
query parameters (:mod:`web.params`), so a page's URL and the API's agree on
what a filter means. Every page works without JavaScript: filters are GET
forms and live in the URL, lists continue with ``next`` links;
``static/app.js`` only adds comfort (a filter select submits itself,
relative times as tooltips, keys to step through versions).

Everything a board wrote is untrusted: templates are autoescaped, text is
stripped of control characters and bounded before it is shown, and only
``http``/``https`` URLs become links. The charts of :mod:`web.charts` are the
only markup passed through as it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined

# The alert renderer's rules for untrusted text and links, so a page shows a
# board's text exactly as an email does.
from crawler.alerts.render import (
    NAME_LIMIT,
    REASON_LIMIT,
    TITLE_LIMIT,
    describe_change,
    format_place,
    format_salary,
    one_line,
    web_url,
)
from crawler.normalize.text import strip_controls
from db import history
from db.vocab import EventKind
from web import params as p
from web.api import closing_postings, posting_or_404, version_diff
from web.charts import bar_chart, line_chart
from web.diffs import field_rows

router = APIRouter(include_in_schema=False)

TEMPLATES = Path(__file__).resolve().parent / "templates"
COMPANIES_PAGE = 100  # companies per page
CLOSING_DAYS = 7  # default horizon of /closing
KINDS = tuple(k.value for k in EventKind)
# facet name in db.history.facet_counts -> query parameter and heading
FACETS = (("source", "source", "Source"), ("company", "company", "Company"),
          ("country", "country", "Country"), ("workplace_type", "workplace", "Workplace"),
          ("employment_type", "employment", "Employment"))
NAV = (("/", "Events"), ("/postings", "Postings"), ("/companies", "Companies"),
       ("/closing", "Closing soon"), ("/sources", "Sources"), ("/api/docs", "API docs"))

_ERROR_TITLES = {400: "Bad request", 401: "Unauthorized", 404: "Not found",
                 405: "Method not allowed"}


# --- values as shown ---------------------------------------------------------

def _clip(value: Any, limit: int = TITLE_LIMIT) -> str:
    """One line of untrusted text: control characters and escape sequences
    removed, whitespace squeezed, at most ``limit`` characters."""
    return one_line(value, limit) or ""


def _plain(value: Any) -> str:
    """Untrusted multi-line text (a description): control characters and
    escape sequences removed, line breaks kept."""
    return strip_controls(value) if isinstance(value, str) else ("" if value is None else str(value))


def _vocab(value: Any, limit: int = 40) -> str:
    """A vocabulary value as words: ``full_time`` reads ``full time``."""
    return _clip(value, limit).replace("_", " ")


def _salary(value: Any) -> str:
    shown = format_salary(value or [])
    return "" if shown == "none" else shown


def _places(locations: Any) -> str:
    if not isinstance(locations, list):
        locations = [locations] if locations else []
    return _clip(" / ".join(place for place in map(format_place, locations) if place), TITLE_LIMIT)


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        at = value
    elif isinstance(value, str) and value:
        try:
            at = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)


def _when(value: Any) -> str:
    """``2026-11-28 11:35 UTC`` from an ISO datetime (other text as is, bounded)."""
    at = _moment(value)
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else _clip(value, 40)


def posting_href(source: Any, external_id: Any) -> str | None:
    """The page of a posting, ``/postings/SOURCE:EXTERNAL_ID``; the slashes of
    an id that is a path stay (the route takes the rest of the path)."""
    if source is None or external_id is None:
        return None
    return "/postings/" + quote(f"{source}:{external_id}", safe=":/@")


def _company_href(name: Any) -> str | None:
    """The company's page; names are kept to 300 characters in the filter
    columns (``db.models.posting_facets``), so the link cuts them alike."""
    if not isinstance(name, str) or not name:
        return None
    return "/companies/" + quote(name[:300], safe="")


def _days_left(value: float) -> str:
    """Whole days left, rounded down: a deadline 2.7 days away reads ``2 days``."""
    if value < 1:
        return "less than a day"
    whole = int(value)
    return f"{whole} day" + ("" if whole == 1 else "s")


# --- URLs that keep the filters ----------------------------------------------

def _link(request: Request, **changes: Any) -> str:
    """This page's URL with the query changed: a value of None or "" drops
    the parameter, any other value replaces it. The cursor is dropped unless
    given, so a changed filter starts from the first page."""
    changes.setdefault("cursor", None)
    pairs = [(k, v) for k, v in request.query_params.multi_items()
             if k not in changes and v != ""]
    pairs += [(k, str(v)) for k, v in changes.items() if v not in (None, "")]
    query = urlencode(pairs)
    return request.url.path + (f"?{query}" if query else "")


def _query_without(request: Request, names: Iterable[str]) -> str:
    drop = set(names)
    return urlencode([(k, v) for k, v in request.query_params.multi_items()
                      if k not in drop and v != ""])


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(clip=_clip, plain=_plain, vocab=_vocab, when=_when, days_left=_days_left)
    env.globals.update(nav=NAV, link=_link)
    return env


templates = Jinja2Templates(env=_env())


def _page(request: Request, template: str, title: str, status: int = 200,
          **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, template, {"title": title, **context},
                                      status_code=status)


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """A page saying what went wrong (``message`` is escaped), with ``status``."""
    title = _ERROR_TITLES.get(status, "Server error" if status >= 500 else "Error")
    return _page(request, "error.html", title, status=status, status_code=status,
                 message=_clip(message, 1000))


# --- views of the rows ---------------------------------------------------------

def _event_view(event: dict[str, Any]) -> dict[str, Any]:
    posting = event.get("posting") or {}
    return {"id": event["id"], "kind": event["kind"], "at": event["at"],
            "title": _clip(event.get("title") or posting.get("title")) or "(untitled)",
            "href": posting_href(event.get("source"), event.get("external_id")),
            "company": _clip(event.get("company") or posting.get("company"), NAME_LIMIT),
            "company_href": _company_href(event.get("company") or posting.get("company")),
            "source": _clip(event.get("source"), NAME_LIMIT),
            "reason": _clip(event.get("reason"), REASON_LIMIT),
            "changes": _change_lines(event.get("changes"))}


def _change_lines(changes: Any) -> list[str]:
    """A change event's field changes, one line each; the description is
    only named (its word-level diff is on the posting's page)."""
    return [("description edited" if c.get("field") == "description" else describe_change(c))
            for c in changes or [] if isinstance(c, dict)]


def _by_day(events: list[dict[str, Any]]) -> list[tuple[date | None, list[dict[str, Any]]]]:
    """Events (newest first) under one heading per UTC day."""
    days: list[tuple[date | None, list[dict[str, Any]]]] = []
    for event in events:
        at = _moment(event["at"])
        day = at.date() if at else None
        if not days or days[-1][0] != day:
            days.append((day, []))
        days[-1][1].append(event)
    return days


def _posting_view(row: dict[str, Any]) -> dict[str, Any]:
    return {"title": _clip(row.get("title")) or "(untitled)",
            "href": posting_href(row.get("source"), row.get("external_id")),
            "company": _clip(row.get("company"), NAME_LIMIT),
            "company_href": _company_href(row.get("company")),
            "source": _clip(row.get("source"), NAME_LIMIT),
            "locations": _places(row.get("locations")),
            "workplace": _vocab(row.get("workplace_type")),
            "salary": _salary(row.get("salary")),
            "deadline": _clip(row.get("deadline"), 40),
            "status": row.get("status"), "days_left": row.get("days_left")}


# --- the pages -------------------------------------------------------------------

@router.get("/", response_class=HTMLResponse)
def events(request: Request) -> HTMLResponse:
    q = request.query_params
    p.check_names(q, p.EVENT_PARAMS | p.PAGE_PARAMS)
    f = p.event_filter(q)
    with request.app.state.sessions() as s:
        items, nxt = history.events_page(s, f, p.limit_of(q), p.cursor_of(q))
        names = history.source_names(s)
    feed_query = _query_without(request, p.PAGE_PARAMS)
    return _page(request, "events.html", "Events", f=f, kinds=KINDS, sources=names,
                 workplaces=p.WORKPLACES, days=_by_day([_event_view(e) for e in items]),
                 next_url=_link(request, cursor=nxt) if nxt is not None else None,
                 feed_url="/feeds/events.atom" + (f"?{feed_query}" if feed_query else ""),
                 form=_form(q, p.EVENT_PARAMS))


def _form(q: Any, names: Iterable[str]) -> dict[str, str]:
    """The values to show in a filter form: each parameter as given, bounded."""
    return {name: _clip(",".join(v for v in q.getlist(name) if v), 200) for name in names}


@router.get("/postings", response_class=HTMLResponse)
def postings(request: Request) -> HTMLResponse:
    q = request.query_params
    p.check_names(q, p.POSTING_PARAMS | p.PAGE_PARAMS)
    f = p.posting_filter(q)
    with request.app.state.sessions() as s:
        rows, nxt = history.postings_page(s, f, p.limit_of(q), p.cursor_of(q))
        counts = history.facet_counts(s, f)
    active = {"source": set(f.sources), "company": {f.company}, "country": {f.country},
              "workplace": {f.workplace}, "employment": {f.employment}}
    facets = []
    for key, param, heading in FACETS:
        values = [{"value": row["value"], "label": _facet_label(param, row["value"]),
                   "count": row["count"], "active": row["value"] in active[param],
                   "href": _link(request, **{param: None if row["value"] in active[param]
                                            else row["value"]})}
                  for row in counts.get(key, [])]
        if values:
            facets.append({"param": param, "heading": heading, "values": values})
    return _page(request, "postings.html", "Postings", f=f, facets=facets,
                 rows=[_posting_view(r) for r in rows], statuses=history.POSTING_STATUSES,
                 next_url=_link(request, cursor=nxt) if nxt is not None else None,
                 form=_form(q, p.POSTING_PARAMS),
                 hidden=[(k, v) for k, v in q.multi_items()
                         if k in ("source", "company", "country", "workplace", "employment") and v])


def _facet_label(param: str, value: Any) -> str:
    return _vocab(value) if param in ("workplace", "employment") else _clip(value, NAME_LIMIT)


@router.get("/postings/{key:path}", response_class=HTMLResponse)
def posting(request: Request, key: str) -> HTMLResponse:
    q = request.query_params
    p.check_names(q, {"from", "to"})
    with request.app.state.sessions() as s:
        detail = posting_or_404(s, key)
        its_events = history.posting_events(s, detail["source"], detail["external_id"])
    diff = version_diff(detail, p.one(q, "from"), p.one(q, "to"))
    by_number = {v["version"]: v for v in detail["versions"]}
    old, new = by_number[diff["from"]]["posting"], by_number[diff["to"]]["posting"]
    current = detail["posting"] or {}
    versions = [{"version": v["version"], "valid_from": v["valid_from"], "valid_to": v["valid_to"],
                 "changes": _change_lines(v.get("changes")),
                 "closed_before": before["valid_to"] if before and before["valid_to"] != v["valid_from"]
                 else None,
                 "compare": _link(request, **{"from": max(1, v["version"] - 1),
                                             "to": v["version"]})}
                for before, v in zip([None, *detail["versions"]], detail["versions"], strict=False)]
    links = [(label, current.get(field)) for label, field in
             (("Posting on the board", "url"), ("Apply", "apply_url"))]
    if links[1][1] == links[0][1]:
        links.pop()
    title = _clip(current.get("title") or detail.get("title")) or "(untitled)"
    return _page(request, "posting.html", title, detail=detail, posting=current,
                 company=_clip(current.get("company"), NAME_LIMIT),
                 company_link=_company_href(current.get("company")),
                 versions=versions, diff=diff, rows=field_rows(old, new),
                 description=_plain(current.get("description")),
                 board_links=[(label, _clip(url, 2048), web_url(url)) for label, url in links if url],
                 events=[_event_view(e) for e in its_events])


@router.get("/companies", response_class=HTMLResponse)
def companies(request: Request) -> HTMLResponse:
    q = request.query_params
    p.check_names(q, {"text", "cursor"})
    text = p.one(q, "text")
    with request.app.state.sessions() as s:
        rows = history.companies(s, text)
    start = p.cursor_of(q) or 0
    nxt = start + COMPANIES_PAGE if start + COMPANIES_PAGE < len(rows) else None
    shown = [dict(r, name=_clip(r["company"], NAME_LIMIT), href=_company_href(r["company"]),
                  sources=", ".join(_clip(x, NAME_LIMIT) for x in r["sources"]))
             for r in rows[start:start + COMPANIES_PAGE]]
    return _page(request, "companies.html", "Companies", rows=shown, total=len(rows),
                 text=_clip(text, 200), next_url=_link(request, cursor=nxt) if nxt else None)


@router.get("/companies/{name:path}", response_class=HTMLResponse)
def company(request: Request, name: str) -> HTMLResponse:
    q = request.query_params
    p.check_names(q, p.PAGE_PARAMS)
    with request.app.state.sessions() as s:
        timeline = history.company_timeline(s, name)
        if timeline is None:
            raise p.NotFoundError(f"no company {name[:80]!r} in the history")
        rows, nxt = history.postings_page(s, history.PostingFilter(company=name),
                                          p.limit_of(q), p.cursor_of(q))
    shown = _clip(name, NAME_LIMIT)
    open_chart = line_chart([(pt["date"], pt["open"]) for pt in timeline["open"]],
                            title=f"Open roles at {shown} over time")
    weekly_chart = bar_chart([(w["week"], {"added": w["added"], "removed": w["removed"]})
                              for w in timeline["weekly"]],
                             title=f"Roles added and removed per week at {shown}")
    now_open = timeline["open"][-1]["open"] if timeline["open"] else 0
    return _page(request, "company.html", shown, name=shown, timeline=timeline,
                 now_open=now_open, open_chart=open_chart, weekly_chart=weekly_chart,
                 rows=[_posting_view(r) for r in rows],
                 next_url=_link(request, cursor=nxt) if nxt is not None else None,
                 feed_url=f"/feeds/companies/{quote(name, safe='')}.atom")


@router.get("/closing", response_class=HTMLResponse)
def closing(request: Request) -> HTMLResponse:
    q = request.query_params
    p.check_names(q, {"days"})
    days = p.int_param(q, "days", CLOSING_DAYS, 1, 365)
    with request.app.state.sessions() as s:
        rows = closing_postings(s, days, datetime.now(UTC))
    return _page(request, "closing.html", "Closing soon", days=days,
                 rows=[_posting_view(r) for r in rows])


@router.get("/sources", response_class=HTMLResponse)
def sources(request: Request) -> HTMLResponse:
    q = request.query_params
    p.check_names(q, {"source", "status"} | p.PAGE_PARAMS)
    with request.app.state.sessions() as s:
        health = history.sources_health(s)
        runs, nxt = history.runs_page(s, p.many(q, "source"), p.run_statuses(q), p.limit_of(q),
                                      p.cursor_of(q))
    return _page(request, "sources.html", "Sources", health=health, runs=runs,
                 next_url=_link(request, cursor=nxt) if nxt is not None else None)
