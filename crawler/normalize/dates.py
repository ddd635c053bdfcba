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
# Month names in the languages of the boards we read, to their number.
_MONTHS = {
    **dict.fromkeys(("january", "jan", "januar", "jänner", "janvier", "janv", "enero", "ene",
                     "janeiro", "gennaio", "januari"), 1),
    **dict.fromkeys(("february", "feb", "februar", "février", "févr", "fevrier", "febrero",
                     "fevereiro", "febbraio", "februari"), 2),
    **dict.fromkeys(("march", "mar", "märz", "mär", "mars", "marzo", "março", "maart"), 3),
    **dict.fromkeys(("april", "apr", "avril", "avr", "abril", "abr", "aprile"), 4),
    **dict.fromkeys(("may", "mai", "mayo", "maio", "maggio", "mei"), 5),
    **dict.fromkeys(("june", "jun", "juni", "juin", "junio", "junho", "giugno"), 6),
    **dict.fromkeys(("july", "jul", "juli", "juillet", "juil", "julio", "julho", "luglio"), 7),
    **dict.fromkeys(("august", "aug", "août", "aout", "agosto", "augustus"), 8),
    **dict.fromkeys(("september", "sep", "sept", "septembre", "septiembre", "setiembre",
                     "setembro", "settembre"), 9),
    **dict.fromkeys(("october", "oct", "oktober", "okt", "octobre", "octubre", "outubro",
                     "ottobre"), 10),
    **dict.fromkeys(("november", "nov", "novembre", "noviembre", "novembro"), 11),
    **dict.fromkeys(("december", "dec", "dezember", "dez", "décembre", "decembre", "diciembre",
                     "dic", "dezembro", "dicembre"), 12),
}
_MONTH = "(?:" + "|".join(sorted(map(re.escape, _MONTHS), key=len, reverse=True)) + r")\.?"
_DAY = r"\d{1,2}(?:st|nd|rd|th|er|º|°)?"
_YEAR = r"\d{4}"
_DATE_IN_TEXT = re.compile(
    rf"(?<!\w)(?:(?P<iso>{_ISO.pattern})"
    rf"|(?P<m1>{_MONTH})\s+(?P<d1>{_DAY}),?\s+(?P<y1>{_YEAR})"
    rf"|(?P<d2>{_DAY})\.?\s+(?:of\s+|de\s+)?(?P<m2>{_MONTH}),?\s+(?:de\s+|del\s+)?(?P<y2>{_YEAR})"
    r"|(?P<y3>\d{4})\s*[년年]\s*(?P<m3>\d{1,2})\s*[월月]\s*(?P<d3>\d{1,2})\s*[일日]?"
    r"|(?P<y4>\d{4})[/.](?P<m4>\d{1,2})[/.](?P<d4>\d{1,2})"
    r"|(?P<numeric>\d{1,2}[/.]\d{1,2}[/.]\d{4}))(?!\d)",
    re.IGNORECASE,
)
_NUMERIC_DATE = re.compile(r"(\d{1,2})([/.])(\d{1,2})[/.](\d{4})")
_HAS_TIME = re.compile(r"\d{1,2}:\d{2}")
_POSTED_PREFIX = re.compile(
    r"^\s*(?:date\s+)?(?:re)?(?:posted|published|listed|added|publi[ée]e?|ver[öo]ffentlicht"
    r"|publicad[oa]|pubblicat[oa])(?:\s+(?:on|le|am|el|il))?\s*:?\s*",
    re.IGNORECASE,
)
_RELATIVE = re.compile(
    r"\b(?:ago|today|yesterday|just\s+now|hace|il\s+y\s+a|vor|heute|gestern|aujourd'hui|hier"
    r"|hoy|ayer|há)\b|^\d+\s*(?:s|m|h|d|w|y|mo|mins?|hrs?)$|\d\s*\S{1,2}\s*(?:전|前)$",
    re.IGNORECASE,
)
# Statements that applications stay open with no closing date. A minimum
# open period ("open for a minimum of 5 days") is not a closing date either.
_OPEN_ENDED = re.compile(
    r"\b(?:(?:on\s+an?\s+)?(?:ongoing|rolling|continuous)(?:\s+basis)?"
    r"|until\s+(?:the\s+)?(?:position|role|vacancy|job|post)\s+(?:is|has\s+been)\s+filled"
    r"|until\s+filled|no\s+(?:application\s+)?deadline"
    r"|(?:open\s+for\s+)?(?:a\s+|at\s+least\s+)?minimum\s+of\s+\d+\s+(?:business\s+|calendar\s+)?days"
    r"|laufend|fortlaufend|jusqu['’]à\s+ce\s+que\s+le\s+poste\s+soit\s+pourvu|au\s+fil\s+de\s+l['’]eau"
    r"|hasta\s+cubrir\s+(?:la\s+)?(?:vacante|posici[oó]n)|de\s+forma\s+continua)\b",
    re.IGNORECASE,
)
_DEADLINE_CUE = re.compile(
    r"\b(?:accept(?:s|ing)?\s+applications?"
    r"|applications?\s+(?:will\s+)?(?:close[sd]?|closing|(?:are|is)\s+due|due"
    r"|must\s+be\s+(?:received|submitted)|deadline)"
    r"|applications?\s+(?:are\s+|will\s+be\s+)?accepted"
    r"|(?:apply|submit\s+(?:your\s+|an\s+)?applications?)\s+(?:by|before|until|no\s+later\s+than)"
    r"|(?:posting|position|role|job|vacancy)\s+(?:will\s+)?(?:closes?|expires?|be\s+open\s+(?:for|until))"
    r"|open\s+for\s+applications\s+until|last\s+(?:date|day)\s+to\s+apply"
    r"|closing\s+date|deadline\s+(?:to\s+apply|for\s+applications?)|deadline\s*:"
    # German, French, Spanish, Portuguese, Italian, Dutch, Korean, Japanese
    r"|bewerbungsfrist|bewerbungsschluss|einsendeschluss|bewerbungen?\s+(?:bitte\s+)?bis"
    r"|bewirb\s+dich\s+bis|bewerben\s+sie\s+sich\s+(?:bitte\s+)?bis"
    r"|date\s+limite|cl[ôo]ture\s+des\s+candidatures|date\s+de\s+cl[ôo]ture"
    r"|candidatures?\s+(?:jusqu['’]au|avant\s+le)|postuler\s+(?:avant\s+le|jusqu['’]au)"
    r"|fecha\s+l[ií]mite|fecha\s+de\s+cierre|plazo\s+de\s+(?:presentaci[oó]n|inscripci[oó]n|solicitud)"
    r"|post[uú]la(?:te|r)?\s+hasta|inscripciones\s+hasta|prazo\s+de\s+inscri[cç][aã]o"
    r"|inscri[cç][oõ]es\s+at[ée]|scadenza(?:\s+candidature)?|candidature\s+entro"
    r"|sluitingsdatum|reageren\s+kan\s+tot"
    r")|마감일|접수\s*마감|지원\s*마감|応募締切|締め?切り",
    re.IGNORECASE,
)
# A deadline sentence ends at a line break or a full stop before a capital
# ("Nov. 14" does not end it, nor does the German "30. Juni"; "2025. We" does).
_SENTENCE_END = re.compile(r"\n|(?<!\d)\.\s+(?=[A-Z])|(?<=\d{4})\.\s+(?=[A-Z])")
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
    first_text, mark, second_text, year_text = _NUMERIC_DATE.fullmatch(text).groups()
    first, second, year = int(first_text), int(second_text), int(year_text)
    if mark == "." or (first > 12 >= second):
        # 30.06.2026: dots are written day first wherever they are used
        day, month = first, second
    elif second > 12 >= first or first == second:
        day, month = second, first
    else:
        return None  # 03/04/2026: day-month order unknown
    return _ymd(year, month, day)


def _ymd(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def _found_date(found: re.Match[str]) -> str | None:
    # The ISO date of one _DATE_IN_TEXT match; None when it is impossible.
    g = found.groupdict()
    if g["iso"]:
        return iso_date(g["iso"])
    if g["numeric"]:
        return _numeric_date(g["numeric"])
    for n in "1234":
        if g[f"y{n}"]:
            month = g[f"m{n}"]
            month_number = int(month) if month.isdigit() else _MONTHS.get(
                month.casefold().rstrip("."))
            day = int(re.match(r"\d+", g[f"d{n}"]).group(0))
            return _ymd(int(g[f"y{n}"]), month_number, day) if month_number else None
    return None


def _text_date(text: str) -> str | None:
    # A date written in words or numbers, with its year ("November 14th,
    # 2025", "30 June 2026", "6 de noviembre de 2025", "30. Juni 2026",
    # "2025년 11월 14일"); None without one.
    if found := _DATE_IN_TEXT.search(text):
        return _found_date(found)
    if len(text) > _MAX_FREE_TEXT:
        return None
    parsed = dateparser.parse(text, settings={"REQUIRE_PARTS": ["day", "month", "year"]})
    if parsed is None:
        return None
    if _HAS_TIME.search(text):
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


def looks_posted(text: Any) -> bool:
    """True when a short text is a posted date as pages print it ("4w ago",
    "Posted 3 days ago", "Posted on 2026-06-01", "yesterday"), so a page
    reader can tell it from a title; the date itself is read by
    :func:`posted_at`."""
    if not isinstance(text, str) or not text.strip() or len(text) > 40:
        return False
    text = " ".join(text.split())
    if _POSTED_PREFIX.match(text) and _POSTED_PREFIX.sub("", text):
        return True
    return bool(_RELATIVE.search(text)) and not _OPEN_ENDED.search(text) and len(text.split()) <= 5


def deadline(raw: Any) -> str | None:
    """The ISO deadline in a deadline value: a structured ``validThrough`` /
    ``application_deadline`` (ISO kept as given), or text holding a date
    with its year ("until November 14th, 2025", "Bewerbungsfrist: 30. Juni
    2026", "date limite : 15/12/2025"). Open-ended text ("on an ongoing
    basis", "until the position is filled", "open for a minimum of 5 days")
    and anything unreadable give None."""
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
    applications are taken on an ongoing basis, until filled, or for a
    minimum period (``matched_text`` is then the statement up to the end of
    its sentence). Cues are "accept applications ... until", "apply by",
    "applications close", "application deadline", "closing date", "will be
    open for", and their German ("Bewerbungsfrist"), French ("date limite"),
    Spanish ("fecha límite") and other counterparts. Dates elsewhere
    (founding years, return-to-office dates) are never read. None when no
    sentence states one (or for non-strings)."""
    if not isinstance(text, str):
        return None
    for cue in _DEADLINE_CUE.finditer(text):
        rest = text[cue.end() : cue.end() + 160]
        if end := _SENTENCE_END.search(rest):
            rest = rest[: end.start()]
        open_ended = _OPEN_ENDED.search(rest)
        found = _DATE_IN_TEXT.search(rest)
        if open_ended and (found is None or open_ended.start() < found.start()):
            statement = text[cue.start() : cue.end() + len(rest)].strip().rstrip(".").strip()
            return None, statement
        if found and (value := _found_date(found)):
            return value, text[cue.start() : cue.end() + found.end()]
    return None
