"""Query parameters shared by the API, the feeds and the pages: which names
each list accepts, and how their values become the filters of
``db.history``. A name that is not accepted, or a value that does not
parse, is a :class:`BadRequest` (400 with the error shape), never ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from db.history import EventFilter, PostingFilter
from db.vocab import EventKind, RunStatus

EVENT_PARAMS = frozenset({"kind", "source", "company", "country", "workplace", "since", "until",
                          "text"})
POSTING_PARAMS = frozenset({"source", "company", "country", "workplace", "employment", "text",
                            "status", "as_of"})
PAGE_PARAMS = frozenset({"limit", "cursor"})
WORKPLACES = ("onsite", "hybrid", "remote")
EMPLOYMENT = ("full_time", "part_time", "contract", "temporary", "internship", "other")
MAX_LIMIT = 500
DEFAULT_LIMIT = 50
_AGO_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class BadRequest(Exception):
    """A request the API refuses: 400 with ``{"error": {"code", "message"}}``."""

    def __init__(self, message: str, code: str = "bad_request", status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


class NotFoundError(BadRequest):
    def __init__(self, message: str):
        super().__init__(message, code="not_found", status=404)


def check_names(params: Mapping[str, Any], allowed: Iterable[str]) -> None:
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise BadRequest(f"unknown parameter {unknown[0]!r} (accepted: {', '.join(sorted(allowed))})",
                         code="unknown_parameter")


def one(params: Mapping[str, Any], name: str) -> str | None:
    values = params.getlist(name) if hasattr(params, "getlist") else [params.get(name)]
    values = [v for v in values if v not in (None, "")]
    if len(values) > 1:
        raise BadRequest(f"{name}: give it once", code="bad_value")
    return values[0].strip() if values else None


def many(params: Mapping[str, Any], name: str) -> tuple[str, ...]:
    values = params.getlist(name) if hasattr(params, "getlist") else [params.get(name)]
    return tuple(dict.fromkeys(p.strip() for v in values if v for p in v.split(",") if p.strip()))


def parse_time(name: str, text: str | None, now: datetime | None = None) -> datetime | None:
    """``7d``/``12h``/``30m``/``2w`` ago, ``now``, an ISO date (midnight
    UTC) or an ISO datetime (UTC when it has no offset)."""
    if text is None:
        return None
    now = now or datetime.now(UTC)
    if text == "now":
        return now
    if len(text) > 1 and text[:-1].isdigit() and text[-1] in _AGO_UNITS:
        return now - timedelta(**{_AGO_UNITS[text[-1]]: int(text[:-1])})
    try:
        value = datetime.fromisoformat(text.replace(" ", "+") if "T" in text else text)
    except ValueError:
        raise BadRequest(f"{name}: {text[:60]!r} is not a time (use 7d, 12h, now, 2026-11-01 or "
                         "2026-11-01T09:30:00Z)", code="bad_value") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _choice(name: str, value: str | None, choices: Iterable[str]) -> str | None:
    if value is not None and value not in choices:
        raise BadRequest(f"{name}: {value[:60]!r} is not one of {', '.join(choices)}", code="bad_value")
    return value


def _country(value: str | None) -> str | None:
    if value is not None and not (len(value) == 2 and value.isalpha()):
        raise BadRequest(f"country: {value[:60]!r} is not a two-letter ISO code", code="bad_value")
    return value.upper() if value else None


def event_filter(params: Mapping[str, Any]) -> EventFilter:
    kinds = many(params, "kind")
    for kind in kinds:
        _choice("kind", kind, [k.value for k in EventKind])
    return EventFilter(kinds=kinds, sources=many(params, "source"), company=one(params, "company"),
                       country=_country(one(params, "country")),
                       workplace=_choice("workplace", one(params, "workplace"), WORKPLACES),
                       since=parse_time("since", one(params, "since")),
                       until=parse_time("until", one(params, "until")),
                       text=one(params, "text"))


def posting_filter(params: Mapping[str, Any]) -> PostingFilter:
    as_of = one(params, "as_of")
    return PostingFilter(
        sources=many(params, "source"), company=one(params, "company"),
        country=_country(one(params, "country")),
        workplace=_choice("workplace", one(params, "workplace"), WORKPLACES),
        employment=_choice("employment", one(params, "employment"), EMPLOYMENT),
        text=one(params, "text"),
        status=_choice("status", one(params, "status"), ("open", "expired", "all")) or "open",
        as_of=None if as_of in (None, "now") else parse_time("as_of", as_of))


def run_statuses(params: Mapping[str, Any]) -> tuple[str, ...]:
    statuses = many(params, "status")
    for status in statuses:
        _choice("status", status, [s.value for s in RunStatus])
    return statuses


def limit_of(params: Mapping[str, Any]) -> int:
    text = one(params, "limit")
    if text is None:
        return DEFAULT_LIMIT
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise BadRequest(f"limit: must be a whole number from 1 to {MAX_LIMIT}", code="bad_value")
    return int(text)


def cursor_of(params: Mapping[str, Any]) -> int | None:
    text = one(params, "cursor")
    if text is None:
        return None
    if not text.isdigit():
        raise BadRequest("cursor: not a cursor this API gave (use the `next` link)", code="bad_value")
    return int(text)


def int_param(params: Mapping[str, Any], name: str, default: int, lo: int, hi: int) -> int:
    text = one(params, name)
    if text is None:
        return default
    if not text.isdigit() or not lo <= int(text) <= hi:
        raise BadRequest(f"{name}: must be a whole number from {lo} to {hi}", code="bad_value")
    return int(text)
