"""Greenhouse Job Board API: the whole board,
``GET {base}/v1/boards/{token}/jobs?content=true``, and one job,
``GET {base}/v1/boards/{token}/jobs/{id}``.

One response holds the whole board: its ``meta.total``, when present, is
what the listing is counted against; without it a whole parsed response is
the only proof (the spider says so). Pure functions from a response to
postings; no I/O. The values are mapped as the board gives them;
:mod:`crawler.normalize` tidies them. Walls in place of the answer are
found before it gets here (:mod:`crawler.walls`).

Beyond the fixed fields, a job carries what the board chose to publish:

- ``pay_input_ranges`` (asked for with ``pay_transparency=true``, on the
  list and on one job): ``{min_cents, max_cents, currency_type, title,
  blurb}``. Amounts are cents; the period is only ever stated by the
  ``title`` the employer wrote ("Annual Salary:"), so a title that names
  none leaves it None. When a job has them they are its pay. Without the
  parameter the same ranges are still in ``content``, rendered by
  Greenhouse as a ``content-pay-transparency`` block (a ``title`` and a
  ``pay-range`` of two amounts per range): that block is read the same way.
- ``metadata``, the employer's own custom fields ``{id, name, value,
  value_type}``. Their names are free text, so they are read by meaning:
  pay as a ``currency_range``, a pair of minimum and maximum fields ("Min
  salary" / "Max salary", "Pay Range Minimum (EUR)") or one text field
  ("Salary Range"); the employment type ("Employment Type", "Time Type",
  and, when the value names a type, "Job Type", "Req Type", "Commitment");
  the workplace ("Location Type", "Workplace Type") and an application
  deadline. A field's currency comes from the field itself, else from the
  posting's one country when that country has one currency, else it stays
  None.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from typing import Any

from scrapy import Selector
from scrapy.http import Response

from crawler.errors import BoardError
from crawler.items import Posting
from crawler.normalize import (
    country_currency,
    currency_code,
    parse_location,
    parse_locations,
    read_salaries,
    salary_period,
    stated_employment_type,
    workplace_phrase,
    workplace_type,
)
from crawler.normalize.salary import number
from spiders.parsers.stream import JsonDocument, Listing
from spiders.parsers.values import text


def read_jobs(response: Response, source: str) -> Listing:
    """The board's jobs as a stream (:mod:`spiders.parsers.stream`), and its
    ``meta.total`` once they are read (None when absent).

    Reading raises :class:`BoardError` for a body that is not JSON, has no
    ``jobs`` list, or holds a job without an id: such a listing is not
    complete, and treating it as one would expire every posting it lost.
    """
    doc = JsonDocument(response, "Greenhouse board")
    return Listing(
        entries=doc.items("jobs", "Greenhouse board response has no 'jobs' list"),
        posting=lambda job: _posting(job, source, response.url),
        external_id=_job_id,
        total=lambda: _total(doc.value("meta.total")),
    )


def parse_jobs(response: Response, source: str) -> tuple[list[Posting], int | None]:
    """The board's postings and its ``meta.total`` (None when absent), all
    at once (see :func:`read_jobs`)."""
    listing = read_jobs(response, source)
    return list(listing.postings()), listing.total()


def parse_job(response: Response, source: str) -> Posting:
    """The posting of one job's response (``/jobs/{id}``, with
    ``pay_transparency=true`` when its pay ranges are wanted). Raises
    :class:`BoardError` for a body that is not JSON or not a job with an id."""
    return _posting(_json(response, "job"), source, response.url)


def _json(response: Response, what: str) -> Any:
    try:
        return json.loads(response.body)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise BoardError(f"malformed JSON from Greenhouse {what}: {exc}", response.url) from exc


def _total(total: Any) -> int | None:
    return total if isinstance(total, int) and not isinstance(total, bool) else None


def _job_id(job: Any) -> str | None:
    return str(job["id"]) if isinstance(job, dict) and job.get("id") not in (None, "") else None


def _posting(job: Any, source: str, url: str) -> Posting:
    if not isinstance(job, dict) or job.get("id") in (None, ""):
        raise BoardError("Greenhouse job without an id", url)
    location_name = _name(job.get("location"))
    locations, locations_raw = _locations(location_name, job.get("offices"))
    departments = [name for d in job.get("departments") or [] if (name := _name(d))]
    fields = _custom_fields(job.get("metadata"))
    currency = _country_currency(locations)
    salary = (_pay_ranges(job.get("pay_input_ranges"), currency)
              or _content_pay_ranges(job.get("content"), currency) or _field_pay(fields, currency))
    return Posting(
        source=source,
        external_id=str(job["id"]),
        url=job.get("absolute_url"),
        # Greenhouse takes applications on the posting page itself.
        apply_url=job.get("absolute_url"),
        title=job.get("title"),
        company=job.get("company_name"),
        department=departments[0] if departments else None,
        requisition_id=job.get("requisition_id"),
        locations=locations,
        locations_raw=locations_raw,
        workplace_type_raw=fields.workplace or workplace_phrase(location_name),
        employment_type_raw=fields.employment,
        posted_at_raw=job.get("first_published"),
        deadline_raw=job.get("application_deadline") or fields.deadline,
        description_html=job.get("content"),
        language=job.get("language"),
        salary=salary,
    )


def _name(value: Any) -> str | None:
    name = value.get("name") if isinstance(value, dict) else None
    return name.strip() or None if isinstance(name, str) else None


def _locations(location_name: str | None, offices: Any) -> tuple[list[dict[str, Any]], list[str]]:
    # The job's location name is free text ("Hybrid - London", "San
    # Francisco, CA | New York City, NY"); its offices carry the full place
    # ("London, England, United Kingdom"). An office in the same city
    # completes that location; an office elsewhere is another location of
    # the job.
    locations = parse_locations(location_name)
    raw = [location_name] if location_name else []
    for office in offices if isinstance(offices, list) else []:
        office_text = office.get("location") if isinstance(office, dict) else None
        place = parse_location(office_text)
        if place is None or office_text in raw:
            continue
        raw.append(office_text)
        same = next((loc for loc in locations if _same(loc["city"], place["city"])), None)
        if same is not None:
            for key in ("region", "country"):
                same[key] = same[key] or place[key]
        elif place not in locations:
            locations.append(place)
    return locations, raw


def _same(a: str | None, b: str | None) -> bool:
    return bool(a and b and a.casefold() == b.casefold())


def _country_currency(locations: list[dict[str, Any]]) -> str | None:
    # The currency of the posting's one country, when it has one; a job in
    # several countries, or in none we know, gets none.
    countries = {location.get("country") for location in locations}
    if len(countries) != 1 or None in countries:
        return None
    return country_currency(countries.pop())


# -- pay_input_ranges


_DOLLARS = ("USD", "CAD", "AUD", "NZD", "SGD", "HKD")


def _cents(value: Any) -> int | float | None:
    amount = number(value)
    return None if amount is None else number(amount / 100)


def _pay_ranges(ranges: Any, currency: str | None) -> list[dict[str, Any]]:
    entries = []
    for item in ranges if isinstance(ranges, list) else []:
        if not isinstance(item, dict):
            continue
        low, high = _cents(item.get("min_cents")), _cents(item.get("max_cents"))
        if low is None and high is None:
            continue
        title = text(item.get("title"))
        stated = {key: item.get(key) for key in ("title", "min_cents", "max_cents", "currency_type")}
        entries.append({
            "min": low,
            "max": high,
            "currency": currency_code(text(item.get("currency_type"))) or currency,
            # only the employer's title can say it ("Annual Salary:"); the
            # blurb is prose about the range ("annual bonus", "equity").
            "period": salary_period(title),
            "raw": json.dumps(stated, ensure_ascii=False),
        })
    return entries


def _content_pay_ranges(content: Any, currency: str | None) -> list[dict[str, Any]]:
    """The pay ranges Greenhouse renders into ``content`` (HTML, escaped
    once more in the JSON): ``div.pay-input`` blocks, each with a
    ``div.title`` and a ``div.pay-range`` of two ``span`` amounts."""
    if not isinstance(content, str) or "pay-range" not in content:
        return []
    page = Selector(text=html.unescape(content))
    entries = []
    for block in page.css("div.content-pay-transparency div.pay-input"):
        title = text(" ".join(block.css("div.title ::text").getall()))
        amounts = [t for span in block.css("div.pay-range > span:not(.divider)")
                   if (t := text(" ".join(span.css("::text").getall())))]
        if not amounts:
            continue
        stated = " - ".join(amounts)
        dollar = currency if currency in _DOLLARS else "USD"
        for entry in read_salaries(stated, dollar, pay_field=True)[:1]:
            entries.append({
                **entry,
                "currency": entry["currency"] or currency,
                "period": salary_period(title),
                "raw": f"{title} {stated}" if title else stated,
            })
    return entries


# -- metadata (custom fields)

_PAY_NAME = re.compile(r"\b(?:salary|salaries|pay|compensation|comp|wages?|rate|ote|remuneration"
                       r"|stipend)\b", re.IGNORECASE)
_NOT_PAY = re.compile(r"\b(?:bonus|equity|stock|commission|relocation|sign[- ]?on|budget|allowance"
                      r"|grade|level|transparency rule|currency|type|frequency|period)\b",
                      re.IGNORECASE)
# "Salary Frequency": "Monthly", "Pay Period": "Hourly", "Salary Type": "Annual"
_PERIOD_NAME = re.compile(r"\b(?:frequency|period|interval|basis|unit|type)\b", re.IGNORECASE)
_MIN_NAME = re.compile(r"\b(?:min|minimum|low|lower|bottom|floor|from|start|starting)\b",
                       re.IGNORECASE)
_MAX_NAME = re.compile(r"\b(?:max|maximum|high|higher|upper|top|ceiling|to)\b", re.IGNORECASE)
_CODE = re.compile(r"\b[A-Z]{3}\b")
# Fields that are an employment type by their name ...
_EMPLOYMENT_NAME = re.compile(
    r"\b(?:employment|employee type|worker (?:sub ?)?type|type of employment|contract type"
    r"|time type|job schedule|schedule type|full[- ]?time or part[- ]?time)\b", re.IGNORECASE)
# ... and those that are one only when their value names a type.
_MAYBE_EMPLOYMENT_NAME = re.compile(
    r"\b(?:job type|req(?:uisition)? type|position type|role type|hire type|opening type"
    r"|type of (?:position|role|job|hire)|commitment)\b", re.IGNORECASE)
_WORKPLACE_NAME = re.compile(
    r"\b(?:location type|workplace(?: type)?|work(?:place)? (?:type|arrangement|model|style|mode"
    r"|setup|location type)|remote(?: status| type| option| policy)?|office (?:type|policy))\b",
    re.IGNORECASE)
_DEADLINE_NAME = re.compile(r"\b(?:application deadline|deadline|closing date|close date|apply by"
                            r"|application (?:end|close) date|posting end date)\b", re.IGNORECASE)


@dataclass
class _Fields:
    """What the custom fields state, as the board wrote it."""

    pay_ranges: list[dict[str, Any]] = field(default_factory=list)  # currency/number ranges
    pay_minimums: list[tuple[str, Any]] = field(default_factory=list)  # (name, value)
    pay_maximums: list[tuple[str, Any]] = field(default_factory=list)
    pay_texts: list[tuple[str, str]] = field(default_factory=list)  # (name, text)
    pay_period: str | None = None  # from a field that states the pay's period
    employment: str | None = None
    workplace: str | None = None
    deadline: str | None = None


def _custom_fields(metadata: Any) -> _Fields:
    found = _Fields()
    maybe_employment = None
    for item in metadata if isinstance(metadata, list) else []:
        if not isinstance(item, dict):
            continue
        name = text(item.get("name")) or ""
        kind = item.get("value_type")
        value = item.get("value")
        if value in (None, "", []):
            continue
        if kind in ("currency_range", "number_range"):
            if isinstance(value, dict) and (kind == "currency_range" or _is_pay_name(name)):
                found.pay_ranges.append({"name": name, "value": value})
            continue
        if _is_pay_name(name):
            if _MIN_NAME.search(name) and not _MAX_NAME.search(name):
                found.pay_minimums.append((name, value))
            elif _MAX_NAME.search(name) and not _MIN_NAME.search(name):
                found.pay_maximums.append((name, value))
            elif isinstance(value, str):
                found.pay_texts.append((name, value))
            continue
        value_text = ", ".join(v for v in map(text, value if isinstance(value, list) else [value])
                               if v) or None
        if value_text is None:
            continue
        if _PAY_NAME.search(name) and _PERIOD_NAME.search(name):
            found.pay_period = found.pay_period or salary_period(value_text)
        elif _EMPLOYMENT_NAME.search(name):
            found.employment = found.employment or value_text
        elif _MAYBE_EMPLOYMENT_NAME.search(name):
            if stated_employment_type(value_text):
                maybe_employment = maybe_employment or value_text
        elif _WORKPLACE_NAME.search(name):
            if workplace_type(value_text):
                found.workplace = found.workplace or value_text
        elif _DEADLINE_NAME.search(name):
            found.deadline = found.deadline or value_text
    found.employment = found.employment or maybe_employment
    return found


def _is_pay_name(name: str) -> bool:
    return bool(_PAY_NAME.search(name)) and not _NOT_PAY.search(name)


def _field_pay(fields: _Fields, currency: str | None) -> list[dict[str, Any]]:
    # A bare "$" is the posting's country's dollar, else the US dollar (as
    # in the normalizer's reading of text).
    dollar = currency if currency in _DOLLARS else "USD"
    entries = [*_pair_pay(fields, currency, dollar), *_text_pay(fields.pay_texts, currency, dollar)]
    for entry in entries:
        entry["period"] = entry["period"] or fields.pay_period
    return [*_range_pay(fields.pay_ranges, currency), *entries]


def _range_pay(ranges: list[dict[str, Any]], currency: str | None) -> list[dict[str, Any]]:
    # A "currency_range" field's period is a year unless its name says
    # otherwise (the board's own pay range field).
    entries = []
    for item in ranges:
        name, value = item["name"], item["value"]
        entries.append({
            "min": value.get("min_value"),
            "max": value.get("max_value"),
            "currency": currency_code(text(value.get("unit"))) or _named_currency(name) or currency,
            "period": _period_in(name) or "year",
            "raw": json.dumps(item, ensure_ascii=False),
        })
    return entries


def _pair_pay(fields: _Fields, currency: str | None, dollar: str) -> list[dict[str, Any]]:
    """One entry per minimum field and its maximum field ("Min salary" and
    "Max salary"; the key is the name without its min/max word)."""
    maximums = {_pair_key(name): (name, value) for name, value in fields.pay_maximums}
    lone_max = fields.pay_maximums[0] if len(fields.pay_maximums) == 1 else None
    entries = []
    for name, value in fields.pay_minimums:
        partner = maximums.get(_pair_key(name)) or (lone_max if len(fields.pay_minimums) == 1
                                                    else None)
        low, low_currency, low_period = _amount(value, dollar)
        high, high_currency, high_period = (_amount(partner[1], dollar) if partner
                                            else (None, None, None))
        if low is None and high is None:
            continue
        names = [name, partner[0]] if partner else [name]
        stated = {n: v for n, v in [(name, value), *([partner] if partner else [])]}
        entries.append({
            "min": low,
            "max": high,
            "currency": low_currency or high_currency
                        or next(filter(None, map(_named_currency, names)), None) or currency,
            "period": low_period or high_period or next(filter(None, map(salary_period, names)), None),
            "raw": json.dumps(stated, ensure_ascii=False),
        })
    return entries


def _pair_key(name: str) -> str:
    return " ".join(_MAX_NAME.sub(" ", _MIN_NAME.sub(" ", name)).casefold().split())


def _amount(value: Any, dollar: str = "USD") -> tuple[int | float | None, str | None, str | None]:
    """Amount, currency and period of one pay field's value: a number, a
    numeric text ("120000", "120,000", "$120k", "EUR 50.000 per year") or a
    currency value ``{amount, unit}``."""
    if isinstance(value, dict):
        amount = number(value.get("amount") if "amount" in value else value.get("value"))
        return amount, currency_code(text(value.get("unit"))), None
    if isinstance(value, str):
        if found := read_salaries(value, dollar, pay_field=True):
            entry = found[0]
            return entry["min"] if entry["min"] is not None else entry["max"], entry["currency"], \
                entry["period"]
        digits = re.fullmatch(r"\s*(\d[\d,.'\s]*?)\s*([kK])?\s*", value)
        if digits:
            amount = number(digits.group(1))
            return (amount * 1000 if amount is not None and digits.group(2) else amount), None, None
        return None, None, None
    return number(value), None, None


def _text_pay(texts: list[tuple[str, str]], currency: str | None, dollar: str) -> list[dict[str, Any]]:
    """Pay stated in a text field ("Salary Range": "$120,000 - $150,000"):
    read as a pay field is; a range without a currency takes the
    country's, when there is one."""
    entries = []
    for name, value in texts:
        found = read_salaries(value, dollar, pay_field=True)
        if not found:
            bare = re.fullmatch(r"\s*(\d[\d,.'\s]*[kK]?)\s*(?:-|–|—|to)\s*(\d[\d,.'\s]*[kK]?)\s*", value)
            if not bare:
                continue
            low, high = (_amount(part)[0] for part in bare.groups())
            found = [{"min": low, "max": high, "currency": None, "period": None, "raw": value}]
        for entry in found:
            entries.append({
                **entry,
                "currency": entry["currency"] or _named_currency(name) or currency,
                "period": entry["period"] or salary_period(name),
                "raw": f"{name}: {entry['raw']}",
            })
    return entries


def _named_currency(name: str) -> str | None:
    # "Min Salary (USD)", "Salary Range EUR"
    return next(filter(None, map(currency_code, _CODE.findall(name))), None)


def _period_in(name: str) -> str | None:
    lowered = name.casefold()
    for word, period in (("hour", "hour"), ("day", "day"), ("week", "week"), ("month", "month")):
        if word in lowered:
            return period
    return None

