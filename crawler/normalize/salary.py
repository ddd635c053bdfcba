"""Pay: tidy the salary entries a parser read from structured data, and a
first-pass reader for pay stated in text ("USD $139,900 - $274,800 per
year", "$120k–150k base", "£55,000 per annum", "$45/hr").

Text is read only where it clearly states pay for the posting: an amount
with a currency AND a pay context (salary, pay range, base, compensation, a
period such as "per year" or "/hr"). Revenue, funding, headcount and
"$2B company" are not pay, and nothing is ever filled in by guessing: a
period the text does not state stays None.
"""

from __future__ import annotations

import re
from typing import Any

import pycountry

from crawler.normalize.text import clean_text

_CODES = (
    "USD EUR GBP CAD AUD NZD CHF JPY CNY INR SGD HKD SEK NOK DKK PLN CZK HUF BRL MXN ZAR ILS KRW"
    " AED TRY"
).split()
_SYMBOLS = {
    "US$": "USD",
    "CA$": "CAD",
    "C$": "CAD",
    "AU$": "AUD",
    "A$": "AUD",
    "NZ$": "NZD",
    "S$": "SGD",
    "HK$": "HKD",
    "R$": "BRL",
    "MX$": "MXN",
    "£": "GBP",
    "€": "EUR",
    "¥": "JPY",
    "₹": "INR",
    "₩": "KRW",
    "₪": "ILS",
    "$": "$",  # which dollar depends on the posting: resolved by the caller
}
_CODE_ALT = "|".join(_CODES)
_SYMBOL_ALT = "|".join(re.escape(s) for s in sorted(_SYMBOLS, key=len, reverse=True))
_PREFIX = rf"(?:\b(?:{_CODE_ALT})\s?(?:{_SYMBOL_ALT})?|(?:{_SYMBOL_ALT}))"
_SUFFIX = rf"(?:(?:{_CODE_ALT})\b|€|£)"
_NUMBER = r"\d{1,3}(?:[,.\u00a0\u202f ]\d{3})+(?:[.,]\d{1,2})?(?!\d)|\d+(?:[.,]\d{1,2})?(?!\d)"
_BIG = r"[mMbB]n?\b|mm\b|million|billion|mio\b|mrd\b"


def _amount(n: int) -> str:
    return (
        rf"(?P<pre{n}>{_PREFIX})?\s?(?P<num{n}>{_NUMBER})(?:\s?(?P<k{n}>[kK])\b)?"
        rf"(?P<big{n}>\s?(?:{_BIG}))?(?:\s?(?P<post{n}>{_SUFFIX}))?"
    )


_MONEY = re.compile(rf"{_amount(1)}(?:\s*(?P<sep>-|–|—|to|and)\s*{_amount(2)})?")

_PERIOD_WORDS = {
    **dict.fromkeys(("hour", "hr", "h", "hourly"), "hour"),
    **dict.fromkeys(("day", "daily"), "day"),
    **dict.fromkeys(("week", "wk", "weekly"), "week"),
    **dict.fromkeys(("month", "mo", "monthly"), "month"),
    **dict.fromkeys(("year", "yr", "annum", "annual", "annually", "yearly", "pa", "p.a."), "year"),
}
_PERIOD_AFTER = re.compile(
    rf"^\s*(?:(?:{_CODE_ALT})\s*)?(?:"
    r"(?:/\s*|per\s+|an?\s+|each\s+)(?P<unit>hour|hr|h|day|week|wk|month|mo|year|yr|annum)\b"
    r"|\(?(?P<adverb>(?:hourly|daily|weekly|monthly|yearly|annually|annual|pa)\b|p\.a\.)\)?)",
    re.IGNORECASE,
)
_PERIOD_BEFORE = re.compile(
    r"\b(hourly|daily|weekly|monthly|yearly|annually|annual"
    r"|per (?:hour|day|week|month|year|annum))\b",
    re.IGNORECASE,
)
_PAY_WORDS = re.compile(
    r"\b(?:salary|salaries|pay|paid|compensation|base|wages?|rate|ote|earn(?:ings)?"
    r"|remuneration|stipend|gehalt|vergütung|salaire|rémunération|salario|sueldo)\b",
    re.IGNORECASE,
)
_NOT_PAY = re.compile(
    r"\b(?:revenue|raised|raise|funding|funded|valuation|valued|invest\w*|arr|budget|market cap)\b",
    re.IGNORECASE,
)
_UP_TO = re.compile(r"\b(?:up to|max(?:imum)?(?: of)?)\s*$", re.IGNORECASE)
_FROM = re.compile(
    r"\b(?:from|starting at|starts at|at least|min(?:imum)?(?: of)?)\s*$", re.IGNORECASE
)


def number(value: Any) -> int | float | None:
    """A salary amount as an int when whole, else a float. Accepts numbers
    and numeric strings with thousands separators ("139,900", "55.000,50",
    "320000.0"); anything else gives None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        result = float(value)
    elif isinstance(value, str):
        result = _parse_number(value.strip())
        if result is None:
            return None
    else:
        return None
    if result != result or result in (float("inf"), float("-inf")):
        return None
    return int(result) if result.is_integer() else result


def _parse_number(text: str) -> float | None:
    digits = re.sub(r"[\s\u00a0\u202f]", "", text)
    if not re.fullmatch(r"\d[\d.,]*", digits):
        return None
    if "," in digits and "." in digits:
        decimal = "," if digits.rfind(",") > digits.rfind(".") else "."
    elif re.search(r"[.,]\d{3}$", digits) or digits.count(",") + digits.count(".") > 1:
        decimal = None  # "139,900" or "1.200.000": thousands separators only
    else:
        decimal = "," if "," in digits else "."
    thousands = {",", "."} - {decimal}
    for mark in thousands:
        digits = digits.replace(mark, "")
    try:
        return float(digits.replace(",", ".")) if digits else None
    except ValueError:
        return None


def currency_code(value: Any) -> str | None:
    """ISO 4217 code for a currency code or symbol ("usd", "USD", "$" as
    USD, "£", "€", "C$"); None for anything else."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text in _SYMBOLS:
        return "USD" if text == "$" else _SYMBOLS[text]
    if len(text) == 3 and pycountry.currencies.get(alpha_3=text.upper()):
        return text.upper()
    return None


def salary_period(value: Any) -> str | None:
    """``hour``, ``day``, ``week``, ``month`` or ``year`` from a unit as boards
    write it ("YEAR", "1 YEAR", "per annum", "hourly", "HOUR", "/hr"); None
    for anything else."""
    if not isinstance(value, str):
        return None
    words = re.findall(r"p\.a\.|[a-z]+", value.casefold())
    for word in words:
        if word in _PERIOD_WORDS and word not in ("h", "pa", "mo"):
            return _PERIOD_WORDS[word]
    return _PERIOD_WORDS.get(words[0]) if len(words) == 1 else None


def normalize_salary_entry(entry: Any) -> Any:
    """One structured salary entry as ``{min, max, currency, period, raw}``:
    amounts as numbers, currency as ISO 4217, period in the closed set.
    Values that cannot be read become None; non-dict input is returned as
    is."""
    if not isinstance(entry, dict):
        return entry
    raw = clean_text(entry.get("raw"))
    return {
        "min": number(entry.get("min")),
        "max": number(entry.get("max")),
        "currency": currency_code(entry.get("currency")),
        "period": salary_period(entry.get("period")),
        "raw": raw if isinstance(raw, str) else None,
    }


def _currency(prefix: str | None, suffix: str | None, dollar: str) -> str | None:
    for text in (prefix, suffix):
        if not text:
            continue
        if code := re.search(rf"\b(?:{_CODE_ALT})\b", text):
            return code.group(0)
        symbol = _SYMBOLS.get(text.strip())
        if symbol:
            return dollar if symbol == "$" else symbol
    return None


def _period(before: str, after: str) -> tuple[str | None, int]:
    # Returns the period and how many characters after the amount state it,
    # so that the raw text can include "per year".
    if match := _PERIOD_AFTER.match(after):
        word = (match.group("unit") or match.group("adverb")).casefold()
        return _PERIOD_WORDS.get(word), match.end()
    if found := _PERIOD_BEFORE.findall(before):
        return salary_period(found[-1]), 0
    return None, 0


def read_salaries(text: Any, dollar: str = "USD") -> list[dict[str, Any]]:
    """Salary entries ``{min, max, currency, period, raw}`` stated in text.

    Accepts a string; reads ranges ("$120k–150k", "USD 163,000.00 -
    296,400.00 per year"), single amounts ("$45/hr"), "up to" and "from"
    amounts. An amount counts only with a currency and a pay word or period
    near it on the same line, and never with millions/billions or next to
    revenue, funding or valuation. A bare "$" is read as ``dollar``.
    Non-strings and text without pay give [].
    """
    if not isinstance(text, str):
        return []
    entries = []
    for match in _MONEY.finditer(text):
        entry = _entry(text, match, dollar)
        if entry and entry not in entries:
            entries.append(entry)
    return entries


def _entry(text: str, match: re.Match[str], dollar: str) -> dict[str, Any] | None:
    groups = match.groupdict()
    end = match.end()
    before_start = max(text.rfind("\n", 0, match.start()) + 1, match.start() - 120)
    before = text[before_start : match.start()]
    if groups["sep"] == "and" and not re.search(r"\bbetween\s*$", before, re.IGNORECASE):
        # "$90,000 and 401(k)" is one amount and something else, not a range.
        end = max(match.end(name) for name in ("num1", "k1", "big1", "post1") if groups[name])
        groups.update(num2=None, k2=None, big2=None, pre2=None, post2=None)
    if groups["big1"] or groups["big2"]:
        return None
    currency = _currency(groups["pre1"], groups["post1"], dollar) or _currency(
        groups["pre2"], groups["post2"], dollar
    )
    if currency is None:
        return None
    line_end = text.find("\n", end)
    after = text[end : min(len(text) if line_end == -1 else line_end, end + 40)]
    if _NOT_PAY.search(before[-40:]):
        return None
    period, period_end = _period(before, after)
    if period is None and not (_PAY_WORDS.search(before) or _PAY_WORDS.search(after)):
        return None
    low = _scaled(groups["num1"], groups["k1"] or (groups["num2"] and groups["k2"]))
    high = _scaled(groups["num2"], groups["k2"]) if groups["num2"] else None
    if low is None or low <= 0 or (high is not None and high < low):
        return None
    if high is None:
        if _UP_TO.search(before):
            low, high = None, low
        elif not _FROM.search(before):
            high = low
    raw = text[match.start() : end + period_end].strip()
    return {"min": low, "max": high, "currency": currency, "period": period, "raw": raw}


def _scaled(digits: str | None, thousands: Any) -> int | float | None:
    value = number(digits)
    if value is None:
        return None
    # "$120-150k": the k of the upper bound applies to a small lower bound.
    return number(value * 1000) if thousands and value < 1000 else value
