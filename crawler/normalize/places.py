"""Locations: the board's location text ("Hybrid - London", "Remote, US",
"London, England, United Kingdom", "Sunnyvale, CA", country first as in
"United Kingdom, London, London", "Multiple Locations, United States") read
into ``{raw, city, region, country}`` with ``country`` an ISO 3166-1 alpha-2
code when it is known (pycountry, plus the names boards use that pycountry
does not know: "USA", "UK", "England" ...). A text listing several places
("United Kingdom, London, London; Switzerland, Zürich, Zürich", "Remote - US,
Canada") is read into one location per place. Names are kept as written
(NFC), so "Zürich" stays "Zürich". Placeholders that boards put where a
place is unknown ("UNAVAILABLE", "N/A", "TBD", "-") are no place: they are
dropped from every part of a location, and a location that is nothing else
is dropped. A country's own currency is known here too (:func:`country_currency`),
for pay that names no currency."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import pycountry

from crawler.normalize.text import clean_text
from crawler.normalize.workplace import WORKPLACE_WORDS, workplace_label

_COUNTRY_ALIASES = {
    **dict.fromkeys(
        ("us", "u.s.", "usa", "u.s.a.", "united states", "united states of america"), "US"
    ),
    **dict.fromkeys(
        (
            "uk",
            "u.k.",
            "england",
            "scotland",
            "wales",
            "northern ireland",
            "great britain",
            "britain",
        ),
        "GB",
    ),
    **dict.fromkeys(("korea", "south korea"), "KR"),
    **dict.fromkeys(("the netherlands", "holland", "nederland"), "NL"),
    **dict.fromkeys(("north macedonia", "macedonia"), "MK"),
    **dict.fromkeys(("schweiz", "suisse", "svizzera"), "CH"),
    **dict.fromkeys(("belgique", "belgië"), "BE"),
    "uae": "AE",
    "russia": "RU",
    "turkey": "TR",
    "czech republic": "CZ",
    "ivory coast": "CI",
    "vietnam": "VN",
    "hong kong sar": "HK",
    "mainland china": "CN",
    # native names boards print without translating
    "deutschland": "DE",
    "österreich": "AT",
    "españa": "ES",
    "méxico": "MX",
    "brasil": "BR",
    "italia": "IT",
    "polska": "PL",
    "sverige": "SE",
    "norge": "NO",
    "danmark": "DK",
    "suomi": "FI",
    "éire": "IE",
}
# Areas that are neither a city nor a country; they go to ``region``.
_AREAS = {
    "emea",
    "europe",
    "americas",
    "north america",
    "latin america",
    "latam",
    "apac",
    "asia",
    "asia pacific",
    "worldwide",
    "anywhere",
    "global",
    "international",
}
_PARTS = re.compile(r"[,;|()\[\]]|\s[-–—/]\s")
_PART_TRIM = " -–—·/:."
# "Multiple Locations", "3 Locations": a summary of a list, not a place.
_NOT_A_PLACE = re.compile(r"^(?:multiple|various|several|many|other|\d+)\s+locations?$",
                          re.IGNORECASE)
# What boards write where a place is unknown. Compared casefolded, with
# surrounding dots, stars and spaces removed.
_PLACEHOLDERS = frozenset({
    "unavailable", "not available", "n/a", "n.a", "n. a", "tbd", "tba", "tbc", "to be determined",
    "to be announced", "to be confirmed", "none", "null", "nil", "unknown", "undefined",
    "not specified", "unspecified", "not applicable", "no location", "location",
})
# Separators between whole places in one text; "," and " - " separate the
# parts of one place.
_PLACES = re.compile(r"\s*;\s*|\s+\|\s+")
# "US or Canada", "US and UK": countries joined by words.
_JOINERS = re.compile(r"\s+(?:or|and|&|\+)\s+", re.IGNORECASE)


def is_placeholder(value: Any) -> bool:
    """True for a board's stand-in for an unknown place: "UNAVAILABLE",
    "N/A", "TBD", "Unknown", "-", "--" (any text without a letter or a
    digit). False for places, for blank text and for non-strings."""
    if not isinstance(value, str) or not value.strip():
        return False
    text = " ".join(value.split()).casefold().strip(" .*")
    return not any(ch.isalnum() for ch in text) or text in _PLACEHOLDERS


def country_code(value: Any) -> str | None:
    """ISO 3166-1 alpha-2 code for a country name or code ("USA", "US",
    "United States", "UK", "England", "Germany", "DE", "Schweiz" ...), or
    None when the value is not a known country (or not a string)."""
    if not isinstance(value, str):
        return None
    return _country_code(" ".join(value.split()).casefold())


@lru_cache(maxsize=4096)
def _country_code(key: str) -> str | None:
    if not key:
        return None
    if key in _COUNTRY_ALIASES:
        return _COUNTRY_ALIASES[key]
    try:
        return pycountry.countries.lookup(key).alpha_2
    except LookupError:
        return None


@lru_cache(maxsize=1)
def _subdivisions() -> tuple[dict[str, str], dict[str, str]]:
    # US states and Canadian provinces by code ("CA", "ON"), and US, Canadian
    # and Australian states by name ("Texas", "Ontario", "Victoria").
    codes: dict[str, str] = {}
    names: dict[str, str] = {}
    for country in ("US", "CA", "AU"):
        for sub in pycountry.subdivisions.get(country_code=country):
            if country != "AU":
                codes[sub.code.split("-", 1)[1]] = country
            names[sub.name.casefold()] = country
    return codes, names


def us_state(value: Any) -> bool:
    """True for the name or two-letter code of a US state ("Texas", "TX")."""
    if not isinstance(value, str):
        return False
    codes, names = _subdivisions()
    text = " ".join(value.split())
    return codes.get(text) == "US" or names.get(text.casefold()) == "US"


def _state_country(part: str) -> str | None:
    # An upper-case two-letter part after a city is read as a US state or a
    # Canadian province: "Sunnyvale, CA" is California, not Canada.
    codes, names = _subdivisions()
    if len(part) == 2 and part.isupper():
        return codes.get(part)
    return names.get(part.casefold())


def _parts(text: str) -> list[str]:
    pieces = (piece.strip(_PART_TRIM) for piece in _PARTS.split(WORKPLACE_WORDS.sub(" ", text)))
    parts = [" ".join(piece.split()) for piece in pieces if any(ch.isalnum() for ch in piece)]
    return [part for part in parts if not _NOT_A_PLACE.match(part)]


def parse_location(value: Any) -> dict[str, Any] | None:
    """``{raw, city, region, country}`` read from one location text.

    Workplace words and list summaries ("Multiple Locations") are cut out
    first, and placeholder parts ("UNAVAILABLE", "N/A", "TBD") are no city
    or region ("Hybrid - London" is the city London, "Remote, US" the country
    US). A text that starts with a country and does not end with one is
    read country first ("United Kingdom, London, London": country GB, region
    London, city London). Otherwise the last part is read as a US
    state or Canadian province when it follows a city, else as a country
    when it is one; the first remaining part is the city and the last
    remaining part the region ("London, England, United Kingdom"). A lone
    area ("EMEA") is a region. Non-ASCII names are kept as written. Returns
    None for blank text, for text that is only placeholders ("N/A", "-")
    and for non-strings.
    """
    raw = clean_text(value) if isinstance(value, str) else None
    if not raw:
        return None
    parts = _parts(raw)
    if parts and all(is_placeholder(part) for part in parts) and not WORKPLACE_WORDS.search(raw):
        return None  # "N/A", "TBD, TBD": no place at all
    if not parts and is_placeholder(raw):
        return None  # "-"
    place = _read_parts(raw, parts)
    for key in ("city", "region"):
        if is_placeholder(place[key]):
            place[key] = None
    return place


def _read_parts(raw: str, parts: list[str]) -> dict[str, Any]:
    # Placeholders still hold their position here ("TBD, CA" is a city in
    # California, not Canada); the caller blanks them.
    city = region = country = None
    if len(parts) >= 2 and country_code(parts[0]) and not country_code(parts[-1]):
        # Country first, city last: "United Kingdom, London, London",
        # "United States, Washington, Redmond".
        region = parts[1] if len(parts) > 2 else None
        return {"raw": raw, "city": parts[-1], "region": region, "country": country_code(parts[0])}
    if len(parts) >= 2 and (state_country := _state_country(parts[-1])):
        region, country = parts.pop(), state_country
    elif parts and (code := country_code(parts[-1])):
        country = code
        parts.pop()
    if parts:
        if country is None and len(parts) == 1 and parts[0].casefold() in _AREAS:
            region = parts[0]
        else:
            city = parts[0]
            if len(parts) >= 2 and region is None:
                region = parts[-1]
    return {"raw": raw, "city": city, "region": region, "country": country}


def parse_locations(value: Any) -> list[dict[str, Any]]:
    """Every place in one location text, each read with
    :func:`parse_location`: places separated by ";" or " | " are read one by
    one, and a text naming only countries ("Remote - US, Canada", "Remote
    (US or UK)") gives one location per country, each keeping the text as
    its ``raw``. [] for blank text and non-strings."""
    raw = clean_text(value) if isinstance(value, str) else None
    if not raw:
        return []
    found: list[dict[str, Any]] = []
    for piece in _PLACES.split(raw):
        parts = [p for part in _parts(piece) for p in _JOINERS.split(part) if p]
        codes = [country_code(part) for part in parts]
        if len(parts) >= 2 and all(codes) and len(set(codes)) == len(codes):
            found += [{"raw": piece, "city": None, "region": None, "country": c} for c in codes]
        elif place := parse_location(piece):
            found.append(place)
    return found


def _locality(value: Any) -> Any:
    # A city or region that is a placeholder, or a workplace word ("Remote"
    # as a city), is no place. The workplace it states is read by
    # :func:`crawler.normalize.workplace.workplace_in_places`.
    text = clean_text(value)
    if is_placeholder(text) or (isinstance(text, str) and workplace_label(text)):
        return None
    return text


def _tidy_location(location: dict[str, Any]) -> dict[str, Any]:
    raw = clean_text(location.get("raw"))
    raw = raw if isinstance(raw, str) else None
    country = location.get("country")
    if is_placeholder(country):
        country = None
    code = country_code(country)
    if code is None and not country and raw:
        code = (parse_location(raw) or {}).get("country")
    tidy = {
        "raw": raw,
        "city": _locality(location.get("city")),
        "region": _locality(location.get("region")),
        "country": code,
    }
    return {key: value if isinstance(value, str) else None for key, value in tidy.items()}


def _is_place(location: dict[str, Any]) -> bool:
    # Something placeful, or a text that is more than placeholders ("Remote"
    # is kept: it states the workplace).
    if location["city"] or location["region"] or location["country"]:
        return True
    raw = location["raw"]
    return bool(raw) and not is_placeholder(raw) and (
        parse_location(raw) is not None or bool(WORKPLACE_WORDS.search(raw)))


def normalize_locations(locations: Any, locations_raw: Any) -> list[dict[str, Any]]:
    """The posting's ``locations``.

    Structured locations a parser supplied (a list of dicts) are kept: their
    text is tidied, a country given as a name becomes its code (an unknown
    one becomes None; ``raw`` keeps the text) and a missing country is read
    from ``raw``. Placeholder parts ("UNAVAILABLE", "N/A", "TBD", "-") and a
    workplace word as the city or region ("Remote") become None, and a
    location left with no place is dropped. When there are none, each text of ``locations_raw`` is
    read with :func:`parse_locations` (a list of places gives one location
    each). Duplicates are dropped, order kept.
    Anything that is not a list counts as empty.
    """
    result: list[dict[str, Any]] = []
    if isinstance(locations, list) and locations:
        for location in locations:
            if isinstance(location, dict):
                result.append(_tidy_location(location))
            elif parsed := parse_location(location):
                result.append(parsed)
    elif isinstance(locations_raw, list):
        result = [parsed for text in locations_raw for parsed in parse_locations(text)]
    unique: list[dict[str, Any]] = []
    for location in result:
        if location not in unique and _is_place(location):
            unique.append(location)
    return unique


# Countries whose one legal tender is this currency. Countries that use
# two (Panama, Cuba, Zimbabwe, El Salvador, Bhutan, Lesotho, Namibia ...)
# are left out on purpose: their pay without a stated currency stays
# without one.
_CURRENCIES = {
    "USD": ("US", "PR", "EC"),
    "EUR": ("AT", "BE", "BG", "CY", "DE", "EE", "ES", "FI", "FR", "GR", "HR", "IE", "IT", "LT", "LU",
            "LV", "MT", "NL", "PT", "SI", "SK"),
    "GBP": ("GB",), "CAD": ("CA",), "AUD": ("AU",), "NZD": ("NZ",), "CHF": ("CH",), "JPY": ("JP",),
    "CNY": ("CN",), "HKD": ("HK",), "TWD": ("TW",), "KRW": ("KR",), "SGD": ("SG",), "INR": ("IN",),
    "ILS": ("IL",), "AED": ("AE",), "SAR": ("SA",), "QAR": ("QA",), "TRY": ("TR",), "SEK": ("SE",),
    "NOK": ("NO",), "DKK": ("DK",), "ISK": ("IS",), "PLN": ("PL",), "CZK": ("CZ",), "HUF": ("HU",),
    "RON": ("RO",), "RSD": ("RS",), "UAH": ("UA",), "BRL": ("BR",), "MXN": ("MX",),
    "ARS": ("AR",), "CLP": ("CL",), "COP": ("CO",), "PEN": ("PE",), "UYU": ("UY",), "CRC": ("CR",),
    "ZAR": ("ZA",), "NGN": ("NG",), "KES": ("KE",), "EGP": ("EG",), "MAD": ("MA",),
    "PHP": ("PH",), "MYR": ("MY",), "THB": ("TH",), "IDR": ("ID",), "VND": ("VN",), "PKR": ("PK",),
    "BDT": ("BD",), "LKR": ("LK",),
}
_COUNTRY_CURRENCY = {code: currency for currency, codes in _CURRENCIES.items() for code in codes}


def country_currency(value: Any) -> str | None:
    """The ISO 4217 code of the one currency of a country given by name or
    code ("US" → "USD", "Germany" → "EUR"); None for a country with two legal
    tenders (Panama, Zimbabwe ...), one not in the table, an unknown country
    and non-strings. Pay that names no currency takes it from the posting's
    country only through this, never by guessing."""
    code = country_code(value)
    return _COUNTRY_CURRENCY.get(code) if code else None
