"""Dates: when a posting was published and when applications close.

Output is ISO 8601: a date (``2026-06-30``) when only a date is known, else
the datetime with its offset as the board gave it. Relative text ("4w ago",
"Posted 30+ Days Ago", "yesterday") is resolved against the fetch time with
dateparser. Deadlines are read from structured data or, when there is none,
from explicit sentences in the description; a date is never filled in by
guessing (no year, no date; an ambiguous 03/04/2026 gives nothing).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dateparser

_ISO = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
)
_EPOCH = re.compile(r"\d{10}(?:\d{3})?")
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_DATE_IN_TEXT = re.compile(
    rf"\b(?:{_ISO.pattern}"
    rf"|{_MONTH}\s+{_DAY},?\s+\d{{4}}"
    rf"|{_DAY}\s+(?:of\s+)?{_MONTH},?\s+\d{{4}}"
    r"|\d{1,2}[/.]\d{1,2}[/.]\d{4})(?!\d)",
    re.IGNORECASE,
)
_NUMERIC_DATE = re.compile(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})")
_HAS_TIME = re.compile(r"\d{1,2}:\d{2}")
_POSTED_PREFIX = re.compile(
    r"^\s*(?:date\s+)?(?:re)?(?:posted|published|listed|added)(?:\s+on)?\s*:?\s*", re.IGNORECASE
)
_RELATIVE = re.compile(
    r"\b(?:ago|today|yesterday|just\s+now|hace|il\s+y\s+a|vor|heute|gestern|aujourd'hui|hier"
    r"|hoy|ayer|há)\b|^\d+\s*(?:s|m|h|d|w|y|mo|mins?|hrs?)$",
    re.IGNORECASE,
)
_OPEN_ENDED = re.compile(
    r"\b(?:(?:on\s+an?\s+)?(?:ongoing|rolling)(?:\s+basis)?"
    r"|until\s+(?:the\s+)?(?:position|role|vacancy|job)\s+(?:is|has\s+been)\s+filled"
    r"|until\s+filled|no\s+deadline)\b",
    re.IGNORECASE,
)
_DEADLINE_CUE = re.compile(
    r"\b(?:accept(?:s|ing)?\s+applications?"
    r"|applications?\s+(?:will\s+)?(?:close[sd]?|closing|(?:are|is)\s+due|due"
    r"|must\s+be\s+(?:received|submitted)|deadline)"
    r"|(?:apply|submit\s+(?:your\s+|an\s+)?applications?)\s+(?:by|before|until|no\s+later\s+than)"
    r"|closing\s+date|deadline\s+(?:to\s+apply|for\s+applications?)|deadline\s*:)",
    re.IGNORECASE,
)
# A deadline sentence ends at a line break or a full stop before a capital
# ("Nov. 14" does not end it).
_SENTENCE_END = re.compile(r"\n|\.\s+(?=[A-Z])")
# dateparser is slow and imaginative on long text; these fields are short.
_MAX_FREE_TEXT = 100


def iso_utc(moment: datetime) -> str:
    """The fetch time as an ISO datetime in UTC; a naive datetime is taken
    to be UTC already."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def iso_date(value: Any) -> str | None:
    """An ISO 8601 date or datetime string in its canonical spelling (date
    kept a date, offset kept as given, ``Z`` as ``+00:00``); None for
    anything else, including impossible dates."""
    if not isinstance(value, str) or not _ISO.fullmatch(value.strip()):
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text).isoformat()
        return datetime.fromisoformat(text).isoformat()
    except ValueError:
        return None


def _numeric_date(text: str) -> str | None:
    first, second, year = (int(group) for group in _NUMERIC_DATE.fullmatch(text).groups())
    if first > 12 >= second:
        day, month = first, second
    elif second > 12 >= first or first == second:
        day, month = second, first
    else:
        return None  # 03/04/2026: day-month order unknown
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def _text_date(text: str) -> str | None:
    # A date written in words or numbers, with its year ("November 14th,
    # 2025", "30 June 2026", "6 de noviembre de 2025"); None without one.
    found = _DATE_IN_TEXT.search(text)
    if found:
        candidate = found.group(0)
        if iso := iso_date(candidate):
            return iso
        if _NUMERIC_DATE.fullmatch(candidate):
            return _numeric_date(candidate)
        languages: list[str] | None = ["en"]
    elif len(text) <= _MAX_FREE_TEXT:
        candidate, languages = text, None
    else:
        return None
    parsed = dateparser.parse(
        candidate, languages=languages, settings={"REQUIRE_PARTS": ["day", "month", "year"]}
    )
    if parsed is None:
        return None
    if not found and _HAS_TIME.search(candidate):
        return parsed.isoformat()
    return parsed.date().isoformat()


def _relative_date(text: str, fetched_at: datetime) -> str | None:
    base = datetime.fromisoformat(iso_utc(fetched_at)).replace(tzinfo=None)
    parsed = dateparser.parse(
        text,
        settings={
            "RELATIVE_BASE": base,
            "PREFER_DATES_FROM": "past",
            "TIMEZONE": "UTC",
            "RETURN_AS_TIMEZONE_AWARE": False,
        },
    )
    if parsed is None:
        return None
    # "3 days ago" is known to the day only; "2 hours ago" to the hour.
    if (base - parsed) % timedelta(days=1) == timedelta(0):
        return parsed.date().isoformat()
    return parsed.replace(tzinfo=UTC).isoformat()


def posted_at(raw: Any, fetched_at: datetime) -> tuple[str, bool] | None:
    """``(iso, relative)`` for the board's posted-at value, or None when it
    cannot be read.

    Accepts ISO strings (kept), epoch seconds or milliseconds as digits
    (Lever's ``createdAt``), relative text in several languages ("4w ago",
    "Posted 30+ Days Ago", "Posted Today", "yesterday", "il y a 3 jours";
    resolved against ``fetched_at``, and ``relative`` is True) and dates in
    words with a year. Anything else gives None.
    """
    if not isinstance(raw, str) or not raw.strip():
        return None
    text = " ".join(raw.split())
    if iso := iso_date(text):
        return iso, False
    if _EPOCH.fullmatch(text):
        seconds = int(text) / (1000 if len(text) == 13 else 1)
        return datetime.fromtimestamp(int(seconds), UTC).isoformat(), False
    # "Posted 30+ Days Ago" is at least 30 days ago: read it as 30.
    text = re.sub(r"(\d)\+", r"\1", _POSTED_PREFIX.sub("", text))
    if _RELATIVE.search(text):
        resolved = _relative_date(text, fetched_at) if len(text) <= _MAX_FREE_TEXT else None
        return (resolved, True) if resolved else None
    resolved = _text_date(text)
    return (resolved, False) if resolved else None


def deadline(raw: Any) -> str | None:
    """The ISO deadline in a deadline value: a structured ``validThrough`` /
    ``application_deadline`` (ISO kept as given), or text holding a date
    with its year ("until November 14th, 2025"). Open-ended text ("on an
    ongoing basis", "until the position is filled") and anything unreadable
    give None."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    text = " ".join(raw.split())
    if iso := iso_date(text):
        return iso
    if _OPEN_ENDED.search(text):
        return None
    return _text_date(text)


def deadline_in_text(text: Any) -> tuple[str | None, str] | None:
    """The first sentence of a description that states when applications
    close: ``(iso_date, matched_text)``, with ``iso_date`` None when it says
    applications are taken on an ongoing basis or until filled. Cues are
    "accept applications ... until", "apply by", "applications close",
    "application deadline", "closing date". None when no sentence states
    one (or for non-strings)."""
    if not isinstance(text, str):
        return None
    for cue in _DEADLINE_CUE.finditer(text):
        rest = text[cue.end() : cue.end() + 120]
        if end := _SENTENCE_END.search(rest):
            rest = rest[: end.start()]
        open_ended = _OPEN_ENDED.search(rest)
        found = _DATE_IN_TEXT.search(rest)
        if open_ended and (found is None or open_ended.start() < found.start()):
            return None, text[cue.start() : cue.end() + open_ended.end()]
        if found and (value := deadline(found.group(0))):
            return value, text[cue.start() : cue.end() + found.end()]
    return None
