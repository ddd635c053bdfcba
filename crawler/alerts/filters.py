"""A subscription's filters, and which alert reaches whom and why.

Pure functions, no I/O. :class:`Subscription` is what the engine knows of a
subscriber (the application builds it from the config with
``SubscriptionConfig.to_subscription()``, so nothing here imports the
config); :func:`judge` reads one *alert* (a change event or a health notice,
see :mod:`crawler.alerts`) and returns a :class:`Verdict` that says which
filter let it through or stopped it, in words a person can check:

    stopped: title 'Sales Manager' does not match (?i)engineer
    passes: new at acme; title matches (?i)engineer; salary 163000-296400 USD/year >= 150000 USD/year

Rules:

- a health notice needs only the kind ``health`` and the source filter;
- every event (``expired`` and ``closing`` too) is judged on the posting it
  carries (``posting``; the event's own ``title`` when the posting has none);
- ``changed`` with ``fields`` set passes only when its ``changes`` touch one
  of those fields (``reopened`` is not filtered by ``fields``);
- title and keyword matching ignore case, accents and look-alike letters
  (:func:`fold`): both the text and the pattern or keywords are folded;
  keywords match whole words or phrases in the title or the description;
- a filter that is set and cannot be checked because the posting lacks the
  value (no company, no location with a country, no workplace type) stops
  the alert; the salary floor is the one exception (``salary_required``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from confusable_homoglyphs.confusables import confusables_data

from crawler.items import PUBLIC_FIELDS, VOLATILE_FIELDS
from db.vocab import EventKind

HEALTH = "health"
# Every kind of alert a subscription can ask for: the event kinds and health notices.
ALERT_KINDS: tuple[str, ...] = (*(k.value for k in EventKind), HEALTH)

# The posting fields a `changed` event can name (what `fields` may ask for):
# the content fields, without identity, volatile values and raw text.
CHANGE_FIELDS: tuple[str, ...] = tuple(
    f for f in PUBLIC_FIELDS
    if f not in VOLATILE_FIELDS and f not in ("source", "external_id") and not f.endswith("_raw"))

# Multipliers from a salary period to a year of full-time work: 40 hours a
# week and 5 days a week for 52 weeks (2080 hours, 260 days), 12 months.
YEARLY_FACTORS: dict[str, int] = {"hour": 2080, "day": 260, "week": 52, "month": 12, "year": 1}


@dataclass(frozen=True)
class SalaryFloor:
    """The least pay a subscriber wants: ``amount`` ``currency`` per ``period``."""

    amount: float
    currency: str  # ISO 4217
    period: str = "year"  # a key of YEARLY_FACTORS

    @property
    def yearly(self) -> float:
        return self.amount * YEARLY_FACTORS[self.period]

    def __str__(self) -> str:
        return f"{_num(self.amount)} {self.currency}/{self.period}"


@dataclass(frozen=True)
class Subscription:
    """One subscriber as the engine sees it: where alerts go, which reach it
    (``None`` or an empty tuple means "no filter"), and how to deliver.

    ``channel`` is ``email``, ``webhook`` or ``apprise`` (``db.vocab.Channel``)
    and ``target`` the address, URL or Apprise URL."""

    name: str
    channel: str
    target: str
    sources: tuple[str, ...] | None = None  # None: every source
    kinds: frozenset[str] = frozenset(ALERT_KINDS)
    title: str | None = None  # regex, matched on the folded title
    keywords: tuple[str, ...] = ()
    companies: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()  # ISO 3166-1 alpha-2, upper case
    cities: tuple[str, ...] = ()
    workplace: tuple[str, ...] = ()
    employment: tuple[str, ...] = ()
    min_salary: SalaryFloor | None = None
    salary_required: bool = False
    fields: tuple[str, ...] = ()  # for `changed`: only changes of these fields
    # delivery, passed through as plain values
    mode: str = "immediate"  # or "digest"
    digest: str | None = None  # cron expression of the digest
    timezone: str | None = None  # IANA zone the digest cron is read in
    secret_env: str | None = None  # webhooks: environment variable holding the whsec_ secret
    batch: bool = False  # webhooks: one POST per delivery batch
    timeout: float | None = None  # webhooks: seconds
    summary_over: int | None = None  # apprise: more alerts than this at once become one summary


@dataclass(frozen=True)
class Verdict:
    passes: bool
    why: str

    def __bool__(self) -> bool:
        return self.passes

    def __str__(self) -> str:
        return f"{'passes' if self.passes else 'stopped'}: {self.why}"


# --- folding: case, accents and look-alike letters --------------------------


def _lookalike_table() -> dict[int, str]:
    # Every non-ASCII character that the Unicode confusables list says looks
    # like one ASCII letter (Cyrillic "е", Greek "Ε" and "ο", dotless "ı" ...)
    # maps to that letter. Digits and punctuation are left alone.
    latin: dict[str, str] = {}
    for char, glyphs in confusables_data.items():
        if len(char) != 1 or char.isascii():
            continue
        for glyph in glyphs:
            if len(glyph["c"]) == 1 and glyph["c"].isascii() and glyph["c"].isalpha():
                latin[char] = glyph["c"]
                break
    # The list maps capital I-like letters (Greek Ι, Cyrillic І) to small "l",
    # the shape they share; a capital whose twin is a small letter takes its
    # own small letter's twin (ι, і: "i") when it has one.
    return {ord(char): latin.get(char.lower(), twin) if char.isupper() and twin.islower() else twin
            for char, twin in latin.items()}


_LOOKALIKES = _lookalike_table()


def fold(text: str) -> str:
    """Text as matching sees it: NFKC (full-width and ligature forms become
    plain letters), look-alike letters from other scripts mapped to their
    Latin twins, case folded, accents removed. ``fold("Ｅngíneer")``,
    ``fold("Еngineer")`` (Cyrillic Е) and ``fold("ΕNGΙNΕΕR")`` (Greek) are
    all ``"engineer"``."""
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKC", text).translate(_LOOKALIKES).casefold()
    text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    # again: a letter may look Latin only once its accent is gone (Cyrillic "ё")
    return unicodedata.normalize("NFC", text).translate(_LOOKALIKES).casefold()


_ESCAPE = re.compile(r"\\N\{[^}]*\}|\\.", re.DOTALL)


def fold_pattern(pattern: str) -> str:
    """A regular expression folded like the text it is matched on: literal
    characters go through :func:`fold`; escapes with an ASCII letter or digit
    (``\\b``, ``\\S``, ``\\d``, ``\\x41``) stay as written, other escaped
    characters and ``\\N{NAME}`` become folded literals."""
    out: list[str] = []
    last = 0
    for m in _ESCAPE.finditer(pattern):
        out.append(fold(pattern[last:m.start()]))
        escape = m.group()
        if escape.startswith("\\N{"):
            out.append(re.escape(fold(unicodedata.lookup(escape[3:-1]))))
        elif escape[1].isascii() and escape[1].isalnum():
            out.append(escape)
        else:
            out.append(re.escape(fold(escape[1])))
        last = m.end()
    out.append(fold(pattern[last:]))
    return "".join(out)


@lru_cache(maxsize=1024)
def compile_title(pattern: str) -> re.Pattern[str]:
    """The compiled, folded form of a title filter. Raises ``re.error`` (or
    ``KeyError`` for an unknown ``\\N{NAME}``) when the pattern is not valid."""
    return re.compile(fold_pattern(pattern))


# One alert is judged against every subscription: fold its description once.
_fold_cached = lru_cache(maxsize=256)(fold)


@lru_cache(maxsize=1024)
def _keyword_patterns(keywords: tuple[str, ...]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    # Whole words or phrases: "go" is not found in "google", "c++" is found in "C++ and CUDA".
    return tuple((k, re.compile(rf"(?<!\w){re.escape(fold(k))}(?!\w)")) for k in keywords)


# --- judging -----------------------------------------------------------------


def judge(alert: dict[str, Any], sub: Subscription) -> Verdict:
    """Does ``alert`` reach ``sub``? The verdict names the filter that
    stopped it, or every filter that let it through."""
    kind = alert.get("kind")
    source = alert.get("source")
    if kind not in sub.kinds:
        return Verdict(False, f"kind {kind} not in kinds {', '.join(k for k in ALERT_KINDS if k in sub.kinds)}")
    if sub.sources is not None and source not in sub.sources:
        return Verdict(False, f"source {source} not in sources {', '.join(sub.sources)}")
    reasons = [f"{kind} at {source}"]
    if kind == HEALTH:
        return Verdict(True, "; ".join(reasons))

    posting = alert.get("posting") or {}
    checks = [_fields(alert, sub), _title(alert, posting, sub), _keywords(alert, posting, sub),
              _company(posting, sub), _countries(posting, sub), _cities(posting, sub),
              _one_of("workplace", posting.get("workplace_type"), sub.workplace),
              _one_of("employment", posting.get("employment_type"), sub.employment),
              _salary(posting, sub)]
    for check in checks:
        if check is None:
            continue
        if not check.passes:
            return check
        reasons.append(check.why)
    return Verdict(True, "; ".join(reasons))


def _fields(alert: dict[str, Any], sub: Subscription) -> Verdict | None:
    if alert.get("kind") != EventKind.CHANGED or not sub.fields:
        return None
    changed = [c.get("field") for c in alert.get("changes") or [] if isinstance(c, dict)]
    hits = [f for f in changed if f in sub.fields]
    if hits:
        return Verdict(True, f"changed {', '.join(hits)}")
    return Verdict(False, f"changed {', '.join(map(str, changed)) or 'nothing'}, "
                          f"none of fields {', '.join(sub.fields)}")


def _title_of(alert: dict[str, Any], posting: dict[str, Any]) -> str:
    return posting.get("title") or alert.get("title") or ""


def _title(alert: dict[str, Any], posting: dict[str, Any], sub: Subscription) -> Verdict | None:
    if sub.title is None:
        return None
    title = _title_of(alert, posting)
    if compile_title(sub.title).search(fold(title)):
        return Verdict(True, f"title matches {sub.title}")
    return Verdict(False, f"title {title!r} does not match {sub.title}")


def _keywords(alert: dict[str, Any], posting: dict[str, Any], sub: Subscription) -> Verdict | None:
    if not sub.keywords:
        return None
    text = _fold_cached(f"{_title_of(alert, posting)}\n{posting.get('description') or ''}")
    for keyword, pattern in _keyword_patterns(sub.keywords):
        if pattern.search(text):
            return Verdict(True, f"keyword {keyword!r} found")
    return Verdict(False, f"no keyword of {', '.join(sub.keywords)} in title or description")


def _company(posting: dict[str, Any], sub: Subscription) -> Verdict | None:
    if not sub.companies:
        return None
    company = posting.get("company")
    if company and any(fold(company) == fold(c) for c in sub.companies):
        return Verdict(True, f"company {company}")
    shown = repr(company) if company else "unknown"
    return Verdict(False, f"company {shown} not in companies {', '.join(sub.companies)}")


def _locations(posting: dict[str, Any]) -> list[dict[str, Any]]:
    return [loc for loc in posting.get("locations") or [] if isinstance(loc, dict)]


def _countries(posting: dict[str, Any], sub: Subscription) -> Verdict | None:
    if not sub.countries:
        return None
    wanted = {c.upper() for c in sub.countries}
    for loc in _locations(posting):
        country = (loc.get("country") or "").upper()
        if country in wanted:
            return Verdict(True, f"location in {country}")
    have = sorted({(loc.get("country") or "").upper() for loc in _locations(posting)} - {""})
    return Verdict(False, f"no location in countries {', '.join(sub.countries)} "
                          f"(posting: {', '.join(have) or 'no country'})")


def _cities(posting: dict[str, Any], sub: Subscription) -> Verdict | None:
    if not sub.cities:
        return None
    wanted = {fold(c) for c in sub.cities}
    for loc in _locations(posting):
        city = loc.get("city")
        if city and fold(city) in wanted:
            return Verdict(True, f"location in {city}")
    have = [loc["city"] for loc in _locations(posting) if loc.get("city")]
    return Verdict(False, f"no location in cities {', '.join(sub.cities)} "
                          f"(posting: {', '.join(have) or 'no city'})")


def _one_of(name: str, value: Any, allowed: tuple[str, ...]) -> Verdict | None:
    if not allowed:
        return None
    if value in allowed:
        return Verdict(True, f"{name} {value}")
    shown = value if value else "unknown"
    return Verdict(False, f"{name} {shown} not in {', '.join(allowed)}")


# --- salary ------------------------------------------------------------------


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}".rstrip("0").rstrip(".")


def _amount(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _salary(posting: dict[str, Any], sub: Subscription) -> Verdict | None:
    """The floor, compared per year (YEARLY_FACTORS) in the floor's currency
    only. An entry in another currency, or without a stated period or
    amount, cannot be compared (no exchange rates, no guessing) and counts as
    no salary. A range reaches the floor when its max (its min when it has
    no max) does; any one comparable entry reaching it is enough."""
    floor = sub.min_salary
    if floor is None:
        return None
    entries = [e for e in posting.get("salary") or [] if isinstance(e, dict)]
    best: tuple[float, dict[str, Any]] | None = None
    for entry in entries:
        top = _amount(entry.get("max"))
        top = top if top is not None else _amount(entry.get("min"))
        period, currency = entry.get("period"), (entry.get("currency") or "").upper()
        if top is None or period not in YEARLY_FACTORS or currency != floor.currency:
            continue
        yearly = top * YEARLY_FACTORS[period]
        if best is None or yearly > best[0]:
            best = (yearly, entry)
    if best is None:
        if not entries:
            what = "no salary"
        else:
            other = sorted({(e.get("currency") or "?").upper() for e in entries} - {floor.currency})
            what = (f"salary only in {', '.join(other)}" if other
                    else "salary without an amount or a period")
        if sub.salary_required:
            return Verdict(False, f"{what} and salary_required (floor {floor})")
        return Verdict(True, f"{what} (salary not required)")
    yearly, entry = best
    shown = _describe(entry)
    if entry["period"] != floor.period:
        shown += f" = {_num(yearly / YEARLY_FACTORS[floor.period])} {floor.currency}/{floor.period}"
    if yearly >= floor.yearly:
        return Verdict(True, f"salary {shown} >= {floor}")
    return Verdict(False, f"salary {shown} < {floor}")


def _describe(entry: dict[str, Any]) -> str:
    low, high = _amount(entry.get("min")), _amount(entry.get("max"))
    amounts = [_num(a) for a in (low, high) if a is not None]
    if len(amounts) == 2 and amounts[0] == amounts[1]:
        amounts = amounts[:1]
    return f"{'-'.join(amounts)} {(entry.get('currency') or '').upper()}/{entry['period']}"
