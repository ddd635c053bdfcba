"""Ashby posting API: ``GET {base}/posting-api/job-board/{board}?includeCompensation=true``.

One response ``{jobs, apiVersion}`` holds the whole board (no pagination),
so a parsed response is a complete listing. Postings marked ``isListed:
false`` are not on the public board and are left out. Pure functions from a
response to postings; no I/O. Values are mapped as the board gives them;
:mod:`crawler.normalize` tidies them.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

from scrapy.http import Response

from crawler.errors import BoardError
from crawler.items import Posting
from crawler.normalize import parse_location
from spiders.parsers.stream import JsonDocument, Listing
from spiders.parsers.values import text as _text

# Ashby intervals are "<n> <UNIT>" ("1 YEAR", "1 HOUR"); only a single unit
# names a pay period, "6 MONTH" does not.
_INTERVAL = re.compile(r"\s*(?:(\d+(?:\.\d+)?)\s+)?([A-Za-z_]+)\s*")


def board_url(base_url: str, board: str) -> str:
    return f"{base_url}/posting-api/job-board/{quote(board, safe='')}?includeCompensation=true"


def read_board(response: Response, source: str) -> Listing:
    """The board's jobs as a stream (:mod:`spiders.parsers.stream`); an
    unlisted job makes no posting.

    Reading raises :class:`BoardError` for a body that is not JSON, has no
    ``jobs`` list, or holds a job without an id. ``{"jobs": []}`` is a
    valid, empty board.
    """
    doc = JsonDocument(response, "Ashby")
    return Listing(entries=doc.items("jobs", "Ashby job board response has no 'jobs' list"),
                   posting=lambda job: _posting(job, source, response.url),
                   external_id=lambda job: str(job["id"]) if isinstance(job, dict) and job.get("id") else None)


def parse_board(response: Response, source: str) -> list[Posting]:
    """The listed postings of the board, all at once (see :func:`read_board`)."""
    return list(read_board(response, source).postings())


def _posting(job: Any, source: str, url: str) -> Posting | None:
    if not isinstance(job, dict) or not job.get("id"):
        raise BoardError("Ashby job without an id", url)
    if job.get("isListed") is False:
        return None
    locations, locations_raw = _locations(job)
    salary, salary_raw = _salary(job.get("compensation"))
    workplace = _text(job.get("workplaceType")) or ("Remote" if job.get("isRemote") is True else None)
    html = _text(job.get("descriptionHtml"))
    return Posting(
        source=source,
        external_id=str(job["id"]),
        url=job.get("jobUrl"),
        apply_url=job.get("applyUrl"),
        title=job.get("title"),
        department=_text(job.get("department")) or _text(job.get("team")),
        locations=locations,
        locations_raw=locations_raw,
        workplace_type_raw=workplace,
        employment_type_raw=_text(job.get("employmentType")),
        posted_at_raw=_text(job.get("publishedAt")),
        salary=salary,
        salary_raw=salary_raw,
        description_html=html,
        description=None if html else _text(job.get("descriptionPlain")),
    )



def _locations(job: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    # The main location and the secondary ones, each a text ("Europe",
    # "San Francisco") with an optional structured postal address.
    entries: list[tuple[Any, Any]] = [(job.get("location"), job.get("address"))]
    for extra in job.get("secondaryLocations") or []:
        if isinstance(extra, dict):
            entries.append((extra.get("location"), extra.get("address")))
        else:
            entries.append((extra, None))
    locations: list[dict[str, Any]] = []
    texts: list[str] = []
    for text, address in entries:
        text = _text(text)
        postal = address.get("postalAddress") if isinstance(address, dict) else None
        postal = postal if isinstance(postal, dict) else {}
        place = parse_location(text) or {"raw": None, "city": None, "region": None, "country": None}
        # the postal address is the board's structured data: it wins over
        # what the location text suggests
        place = {
            "raw": place["raw"],
            "city": _text(postal.get("addressLocality")) or place["city"],
            "region": _text(postal.get("addressRegion")) or place["region"],
            "country": _text(postal.get("addressCountry")) or place["country"],
        }
        if not any(place.values()) or place in locations:
            continue
        locations.append(place)
        if text and text not in texts:
            texts.append(text)
    return locations, texts


def _salary(compensation: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """Salary entries from the compensation tiers' "Salary" components
    (equity, bonus and commission are not salary). With no structured tier,
    the board's pay summary text (if any) goes to ``salary_raw`` for the
    normalizer to read."""
    if not isinstance(compensation, dict):
        return [], []
    components: list[tuple[dict[str, Any], str | None]] = []
    for tier in compensation.get("compensationTiers") or []:
        if isinstance(tier, dict):
            summary = _text(tier.get("tierSummary"))
            components += [(c, summary) for c in tier.get("components") or [] if isinstance(c, dict)]
    if not components:
        components = [(c, None) for c in compensation.get("summaryComponents") or [] if isinstance(c, dict)]
    entries: list[dict[str, Any]] = []
    for component, tier_summary in components:
        if component.get("compensationType") != "Salary":
            continue
        if component.get("minValue") is None and component.get("maxValue") is None:
            continue
        entry = {
            "min": component.get("minValue"),
            "max": component.get("maxValue"),
            "currency": component.get("currencyCode"),
            "period": _period(component.get("interval")),
            "raw": _text(component.get("summary")) or tier_summary
            or json.dumps(component, ensure_ascii=False, sort_keys=True),
        }
        if entry not in entries:
            entries.append(entry)
    if entries:
        return entries, [e["raw"] for e in entries]
    summary = _text(compensation.get("scrapeableCompensationSalarySummary")) or _text(
        compensation.get("compensationTierSummary"))
    return [], [summary] if summary else []


def _period(interval: Any) -> str | None:
    # "1 YEAR" -> "YEAR" (the normalizer reads the unit); "6 MONTH" is no
    # pay period we have, so it is left unknown rather than guessed.
    match = _INTERVAL.fullmatch(interval) if isinstance(interval, str) else None
    if match is None:
        return None
    count, unit = match.groups()
    return unit if count is None or float(count) == 1 else None
