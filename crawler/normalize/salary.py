"""Pay: tidy the salary entries a parser read from structured data, and a
reader for pay stated in text ("USD $139,900 - $274,800 per year", "$120k–150k
base", "£55,000 per annum", "$45/hr", "€4.500 brutto/Monat", "CHF 120'000",
"연봉 5,000만원").

An entry is ``{min, max, currency, period, raw}``, plus ``scope`` when the
text says where the range applies ("within the San Francisco Bay area and
New York City metropolitan area"); an entry without a stated scope has no
``scope`` key.

Text is read only where it clearly states pay for the posting: an amount
with a currency AND a pay context (salary, pay range, base, compensation, a
period such as "per year" or "/hr"), or any amount with a currency in a
field the board labels as pay. Revenue, funding, valuation, headcount and
salary statistics ("average", "median", "data points") are not pay, and
nothing is ever filled in by guessing: a period the text does not state
stays None.
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
    "SFr.": "CHF",
    "Fr.": "CHF",
    "£": "GBP",
    "€": "EUR",
    "¥": "JPY",
    "₹": "INR",
    "₩": "KRW",
    "원": "KRW",
    "₪": "ILS",
    "$": "$",  # which dollar depends on the posting: resolved by the caller
}
_CODE_ALT = "|".join(_CODES)
_SYMBOL_ALT = "|".join(re.escape(s) for s in sorted(_SYMBOLS, key=len, reverse=True) if s != "원")
_PREFIX = rf"(?:\b(?:{_CODE_ALT})[ \u00a0]?(?:{_SYMBOL_ALT})?|(?:{_SYMBOL_ALT}))"
_SUFFIX = rf"(?:(?:{_CODE_ALT})\b|€|£|₩|원)"
# Thousands separated by a comma, dot, space or (Swiss) apostrophe.
_NUMBER = (
    r"\d{1,3}(?:[,.'’\u00a0\u202f ]\d{3})+(?:[.,]\d{1,2})?(?!\d)"
    r"|\d+(?:[.,]\d{1,2})?(?!\d)"
)
_BIG = r"[mMbB]n?\b|mm\b|million|billion|mio\b|mrd\b"
# Korean units of ten thousand and a hundred million won ("5,000만원").
_KOREAN_UNITS = {"만": 10_000, "억": 100_000_000}


# Space within one line: an amount never runs across a line break.
_BREAKS = r"\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029"
_SP = rf"[^\S{_BREAKS}]"
_LINE_BREAK = re.compile(rf"[{_BREAKS}]")


def _amount(n: int) -> str:
    return (
        rf"(?P<pre{n}>{_PREFIX})?{_SP}?(?P<num{n}>{_NUMBER})(?P<kr{n}>{_SP}?[만억])?"
        rf"(?:{_SP}?(?P<k{n}>[kK])\b)?(?P<big{n}>{_SP}?(?:{_BIG}))?"
        rf"(?:{_SP}?(?P<post{n}>{_SUFFIX}))?"
    )


_MONEY = re.compile(
    rf"{_amount(1)}(?:{_SP}*(?P<sep>-|–|—|~|〜|\bto\b|\band\b|\bbis\b|\bà\b|\ba\b){_SP}*"
    rf"{_amount(2)})?"
)

# Period words as boards write them, in the languages of the boards we read.
_PERIOD_WORDS = {
    **dict.fromkeys(("hour", "hr", "h", "hourly", "stunde", "std", "stündlich", "heure",
                     "horaire", "hora", "ora", "시간", "시급", "時給"), "hour"),
    **dict.fromkeys(("day", "daily", "tag", "täglich", "jour", "journalier", "día", "dia",
                     "giorno", "일급", "日給"), "day"),
    **dict.fromkeys(("week", "wk", "weekly", "woche", "wöchentlich", "semaine", "semana",
                     "settimana", "주급"), "week"),
    **dict.fromkeys(("month", "mo", "monthly", "monat", "monatlich", "mois", "mensuel",
                     "mensuelle", "mes", "mensual", "mese", "mensile", "월", "월급", "月給"),
                    "month"),
    **dict.fromkeys(("year", "yr", "annum", "annual", "annually", "yearly", "pa", "p.a.", "jahr",
                     "jährlich", "an", "année", "annuel", "annuelle", "año", "anual", "anno",
                     "annuo", "annua", "년", "연", "연봉", "年収"), "year"),
}
_UNITS = (
    r"hour|hr|h|day|week|wk|month|mo|year|yr|annum"
    r"|stunde|std\.?|tag|woche|monat|jahr|heure|jour|semaine|mois|an|année"
    r"|hora|d[ií]a|semana|mes|año|anno|mese|ora|시간|월|년"
)
_ADVERBS = (
    r"hourly|daily|weekly|monthly|yearly|annually|annual|pa"
    r"|stündlich|täglich|wöchentlich|monatlich|jährlich|horaire|journalier"
    r"|mensuel(?:le)?|annuel(?:le)?|mensual|anual|mensile|annuo|annua"
)
_GROSS = r"(?:brutto|netto|gross|brut|bruto|lordo|before\s+tax)"
_PERIOD_AFTER = re.compile(
    rf"^\s*(?:(?:{_CODE_ALT})\s*)?(?:{_GROSS}\s*)?(?:"
    r"(?:/\s*|per\s+|an?\s+|each\s+|pro\s+|im\s+|je\s+|par\s+|por\s+|al\s+|à\s+l['’]|de\s+l['’]"
    rf"|la\s+|all['’])(?P<unit>{_UNITS})(?!\w)"
    rf"|\(?(?P<adverb>(?:{_ADVERBS})(?!\w)|p\.a\.)\)?)",
    re.IGNORECASE,
)
_PERIOD_BEFORE = re.compile(
    r"(?<!\w)(hourly|daily|weekly|monthly|yearly|annually|annual"
    r"|per (?:hour|day|week|month|year|annum)"
    r"|jahresgehalt|monatsgehalt|stundenlohn|stundensatz|jahresbrutto|monatsbrutto"
    r"|salaire annuel|salaire mensuel|taux horaire|salario anual|salario mensual|sueldo anual"
    r"|sueldo mensual|ral|연봉|월급|시급|年収|月給|時給)(?!\w)",
    re.IGNORECASE,
)
_PERIOD_PHRASES = {
    "jahresgehalt": "year", "jahresbrutto": "year", "monatsgehalt": "month",
    "monatsbrutto": "month", "stundenlohn": "hour", "stundensatz": "hour",
    "salaire annuel": "year", "salaire mensuel": "month", "taux horaire": "hour",
    "salario anual": "year", "salario mensual": "month", "sueldo anual": "year",
    "sueldo mensual": "month", "ral": "year",
}
_PAY_WORDS = re.compile(
    r"(?<!\w)(?:salary|salaries|pay|paid|compensation|base|wages?|rate|ote|earn(?:ings)?"
    r"|remuneration|stipend|gehalt\w*|lohn|vergütung|brutto|salaire|rémunération|salario|sueldo"
    r"|retribuci[oó]n|retribuzione|remunera[cç][aã]o|연봉|급여|월급|시급|年収|月給|時給)(?!\w)",
    re.IGNORECASE,
)
# Words that make an amount something other than this posting's pay: company
# figures, and salary statistics of the kind aggregators show beside a posting.
_NOT_PAY = re.compile(
    r"\b(?:revenue|raised|raise|funding|funded|valuation|valued|invest\w*|arr|budget|market cap"
    r"|average|avg|median|mean|data points?|reports?|reported|self-reported)\b",
    re.IGNORECASE,
)
_UP_TO = re.compile(r"\b(?:up to|max(?:imum)?(?: of)?|bis zu|jusqu['’]à|hasta)\s*$", re.IGNORECASE)
_FROM = re.compile(
    r"\b(?:from|starting at|starts at|at least|min(?:imum)?(?: of)?|ab|à partir de|desde)\s*$",
    re.IGNORECASE,
)
# Where a range applies, as the sentence before it says: "within the San
# Francisco Bay area ...", "across the U.S.", "for candidates based in Texas".
_SCOPE_CUE = re.compile(
    r"\b(?:(?P<strong>based|located|working|living)\s+in|across|within|in|for)\s+(?:the\s+)?"
    r"(?P<scope>[A-Z][^,;:()\n]*?)(?=\s*(?:[,;:(]|\bis\b|\bare\b|\bwill\b|$))"
)
_PLACE_WORDS = re.compile(
    r"\b(?:area|region|metro\w*|city|cities|state|states|province|canton|county|zone"
    r"|locations?|offices?)\b",
    re.IGNORECASE,
)
_SENTENCE_START = re.compile(r"(?:\n|[.!?]\s+(?=[A-Z]))")


def number(value: Any) -> int | float | None:
    """A salary amount as an int when whole, else a float. Accepts numbers
    and numeric strings with thousands separators ("139,900", "55.000,50",
    "120'000", "320000.0"); anything else gives None."""
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
    digits = re.sub(r"[\s\u00a0\u202f'’]", "", text)
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
    USD, "£", "€", "C$", "₩", "Fr."); None for anything else."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text in _SYMBOLS:
        return "USD" if text == "$" else _SYMBOLS[text]
    if len(text) == 3 and pycountry.currencies.get(alpha_3=text.upper()):
        return text.upper()
    return None


def _period_of(word: str) -> str | None:
    word = word.casefold().rstrip(".")
    return _PERIOD_WORDS.get(word) or _PERIOD_PHRASES.get(" ".join(word.split()))


def salary_period(value: Any) -> str | None:
    """``hour``, ``day``, ``week``, ``month`` or ``year`` from a unit as boards
    write it ("YEAR", "1 YEAR", "per annum", "hourly", "HOUR", "/hr",
    "per-year-salary", "Monat", "par an"); None for anything else."""
    if not isinstance(value, str):
        return None
    words = re.findall(r"p\.a\.|\w+", value.casefold())
    for word in words:
        if word in _PERIOD_WORDS and word not in ("h", "pa", "mo", "an", "연", "월", "년"):
            return _PERIOD_WORDS[word]
    return _PERIOD_WORDS.get(words[0]) if len(words) == 1 else None


def normalize_salary_entry(entry: Any) -> Any:
    """One structured salary entry as ``{min, max, currency, period, raw}``
    (and ``scope`` when the entry has one): amounts as numbers, currency as
    ISO 4217, period in the closed set. Values that cannot be read become
    None; non-dict input is returned as is."""
    if not isinstance(entry, dict):
        return entry
    raw = clean_text(entry.get("raw"))
    tidy = {
        "min": number(entry.get("min")),
        "max": number(entry.get("max")),
        "currency": currency_code(entry.get("currency")),
        "period": salary_period(entry.get("period")),
    }
    scope = clean_text(entry.get("scope"))
    if isinstance(scope, str):
        tidy["scope"] = scope
    tidy["raw"] = raw if isinstance(raw, str) else None
    return tidy


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
        word = match.group("unit") or match.group("adverb")
        return _period_of(word), match.end()
    if found := _PERIOD_BEFORE.findall(before):
        phrase = found[-1].casefold()
        return salary_period(phrase) or _period_of(phrase), 0
    return None, 0


def read_salaries(text: Any, dollar: str = "USD", pay_field: bool = False) -> list[dict[str, Any]]:
    """Salary entries stated in text.

    Accepts a string; reads ranges ("$120k–150k", "USD 163,000.00 -
    296,400.00 per year", "5,000만원 ~ 7,000만원"), single amounts ("$45/hr",
    "£55,000"), "up to" and "from" amounts. In running text an amount counts
    only with a currency and a pay word or period near it on the same line;
    in a board's pay field (``pay_field``) the currency is enough. Never with
    millions/billions, or next to revenue, funding, valuation or salary
    statistics. A bare "$" is read as ``dollar``. Non-strings and text
    without pay give [].
    """
    if not isinstance(text, str):
        return []
    entries = []
    for match in _MONEY.finditer(text):
        entry = _entry(text, match, dollar, pay_field)
        if entry and entry not in entries:
            entries.append(entry)
    return entries


def _entry(text: str, match: re.Match[str], dollar: str, pay_field: bool) -> dict[str, Any] | None:
    groups = match.groupdict()
    end = match.end()
    line_start = max((b.end() for b in _LINE_BREAK.finditer(text, 0, match.start())), default=0)
    before = text[max(line_start, match.start() - 120) : match.start()]
    if groups["sep"] in ("and", "a") and not re.search(r"\bbetween\s*$", before, re.IGNORECASE):
        # "$90,000 and 401(k)" is one amount and something else, not a range.
        end = max(match.end(name) for name in ("num1", "kr1", "k1", "big1", "post1")
                  if groups[name])
        groups.update(num2=None, kr2=None, k2=None, big2=None, pre2=None, post2=None)
    if groups["big1"] or groups["big2"]:
        return None
    currency = _currency(groups["pre1"], groups["post1"], dollar) or _currency(
        groups["pre2"], groups["post2"], dollar
    )
    if currency is None:
        return None
    line_end = _LINE_BREAK.search(text, end)
    after = text[end : min(line_end.start() if line_end else len(text), end + 40)]
    if _NOT_PAY.search(before[-40:]) or _NOT_PAY.search(after[:20]):
        return None
    period, period_end = _period(before, after)
    if period is None and not pay_field and not (
        _PAY_WORDS.search(before) or _PAY_WORDS.search(after)
    ):
        return None
    low = _scaled(groups["num1"], groups["kr1"], groups["k1"] or (groups["num2"] and groups["k2"]))
    high = _scaled(groups["num2"], groups["kr2"], groups["k2"]) if groups["num2"] else None
    if groups["num2"] and not groups["kr1"] and groups["kr2"] and low is not None and low < 10_000:
        # "5,000~7,000만원": the unit of the upper bound applies to the lower.
        low = _scaled(groups["num1"], groups["kr2"], None)
    if low is None or low <= 0 or (high is not None and high < low):
        return None
    if high is None:
        if _UP_TO.search(before):
            low, high = None, low
        elif not _FROM.search(before):
            high = low
    entry: dict[str, Any] = {"min": low, "max": high, "currency": currency, "period": period}
    if scope := _scope(text, match.start()):
        entry["scope"] = scope
    entry["raw"] = clean_text(text[match.start() : end + period_end])
    return entry


def _scaled(digits: str | None, korean: str | None, thousands: Any) -> int | float | None:
    value = number(digits)
    if value is None:
        return None
    if korean and korean.strip() in _KOREAN_UNITS:
        return number(value * _KOREAN_UNITS[korean.strip()])
    # "$120-150k": the k of the upper bound applies to a small lower bound.
    return number(value * 1000) if thousands and value < 1000 else value


def _scope(text: str, start: int) -> str | None:
    """Where the range at ``start`` applies, when its sentence says so before
    it: a country or US state, or a named area ("the San Francisco Bay area
    and New York City metropolitan area"); "based in X" takes any name."""
    from crawler.normalize.places import country_code, us_state

    sentence_start = 0
    for found in _SENTENCE_START.finditer(text, max(0, start - 300), start):
        sentence_start = found.end()
    sentence = text[max(sentence_start, start - 300) : start]
    for cue in reversed(list(_SCOPE_CUE.finditer(sentence))):
        scope = cue.group("scope").strip()
        if not scope or len(scope) > 100 or currency_code(scope):
            continue
        if cue.group("strong") or country_code(scope) or us_state(scope) or _PLACE_WORDS.search(scope):
            return scope
    return None
