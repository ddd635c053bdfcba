"""Phenom People careers sites: the ``/api/get-jobs`` answers of the site.

``{"jobs": [...], "facets": [...], "totalJob": N}``, one page at a time.
Pure functions from a response to postings, and the small pieces of the
request the page sends (:func:`api_url`, :func:`api_body`); no I/O. Values
are mapped as the site gives them; :mod:`crawler.normalize` tidies them.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

from scrapy.http import Response

from crawler.errors import BoardError
from crawler.items import Posting
from spiders.parsers.values import text as _text
from spiders.parsers.values import texts as _texts

# Some tenants feed jobs through an integration that prefixes the company
# name with its host: "paradox-api.mchire.com-McDonald's".
_INTEGRATION_PREFIX = re.compile(r"^[a-z0-9-]+(?:\.[a-z0-9-]+)+\.[a-z]{2,}-(?=\S)", re.IGNORECASE)


def parse_jobs(response: Response, source: str, site_url: str) -> tuple[list[Posting], int | None]:
    """The postings of one answer and its ``totalJob`` (None when absent).

    Raises :class:`BoardError` for a body that is not JSON, has no ``jobs``
    list, or holds a job without any id. An empty ``jobs`` list is a valid
    answer (past the last page, or an empty board): the caller compares the
    count with ``totalJob``.
    """
    try:
        data = json.loads(response.body)
    except ValueError as exc:
        raise BoardError(f"malformed JSON from Phenom get-jobs: {exc}", response.url) from exc
    if not isinstance(data, dict) or not isinstance(data.get("jobs"), list):
        raise BoardError("Phenom get-jobs answer has no 'jobs' list", response.url)
    origin = _origin(site_url)
    postings = [_posting(job, source, origin, response.url) for job in data["jobs"]]
    total = data.get("totalJob")
    return postings, total if isinstance(total, int) and not isinstance(total, bool) else None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


def _posting(job: Any, source: str, origin: str, url: str) -> Posting:
    if not isinstance(job, dict):
        raise BoardError("Phenom job that is not an object", url)
    # ``reference`` is the id in the posting's own URL (.../job/P8-126884-0);
    # ``uniqueID`` and ``sourceID`` are internal.
    external_id = next((str(job[k]) for k in ("reference", "uniqueID", "sourceID", "jobId")
                        if job.get(k) not in (None, "")), None)
    if external_id is None:
        raise BoardError("Phenom job without an id (reference, uniqueID, sourceID)", url)
    locations = [loc for place in job.get("locations") or [] if (loc := _location(place))]
    employment = [t for t in _texts(job.get("employmentType")) + _texts(job.get("employmentStatus"))]
    remote = job.get("isRemote") in (True, "true", "True")
    return Posting(
        source=source,
        external_id=external_id,
        url=_job_url(job, origin),
        apply_url=_text(job.get("applyURL")),
        title=_text(job.get("title")),
        company=_company(job.get("companyName")),
        department=next(iter(_texts(job.get("category"))), None),
        requisition_id=_text(job.get("reference")) or _text(job.get("requisitionID")),
        locations=locations,
        locations_raw=[loc["raw"] for loc in locations if loc["raw"]],
        workplace_type="remote" if remote else None,
        workplace_type_raw="isRemote: true" if remote else None,
        employment_type_raw=", ".join(dict.fromkeys(employment)) or None,
        posted_at_raw=_text(job.get("postedDate")) or _text(job.get("dateCreated")),
        description_html=_text(job.get("description")),
        # ``lang`` is the language the site was asked in, not the posting's:
        # French postings come back with "lang": "en", so it is not used.
    )




def _company(value: Any) -> str | None:
    name = _text(value)
    return _INTEGRATION_PREFIX.sub("", name) if name else None


def _job_url(job: dict[str, Any], origin: str) -> str | None:
    # ``originalURL`` is the posting's path on the careers site
    # ("<slug>/job/<reference>"), relative to the site's root.
    path = _text(job.get("originalURL"))
    if path:
        return urljoin(origin, path)
    return _text(job.get("applyURL"))


def _location(place: Any) -> dict[str, Any] | None:
    if not isinstance(place, dict):
        return None
    raw = (_text(place.get("locationText")) or _text(place.get("locationParsedText"))
           or _text(place.get("cityState")) or _text(place.get("city")))
    city, region = _text(place.get("city")), _text(place.get("state"))
    country = _text(place.get("countryAbbr")) or _text(place.get("country"))
    if not (raw or city or region or country):
        return None
    return {"raw": raw, "city": city, "region": region, "country": country}


def site_languages(locale: str) -> list[str]:
    """The languages a Phenom site is asked for, from a locale:
    "en_us" -> ["en", "en-us"], "fr_ca" -> ["fr", "fr-ca"], "de" -> ["de"]."""
    parts = [p for p in re.split(r"[_-]", locale.strip().lower()) if p]
    if not parts:
        return []
    return list(dict.fromkeys([parts[0], "-".join(parts)]))


def api_url(site_url: str, api_path: str, page: int, page_size: int, paging: str,
            extra: dict[str, Any] | None = None) -> str:
    """The get-jobs URL of page ``page`` (1-based) on the site's origin:
    ``page_number=N`` (what Phenom's own search page sends), or
    ``from=<offset>&size=<page_size>`` with ``paging = "from_size"``."""
    query: dict[str, Any] = dict(extra or {})
    if paging == "from_size":
        query.update({"from": (page - 1) * page_size, "size": page_size})
    else:
        query["page_number"] = page
    return urljoin(_origin(site_url), api_path.lstrip("/")) + "?" + urlencode(query)


def api_body(locale: str, page: int, page_size: int, paging: str) -> str:
    """The JSON body of a POST to get-jobs."""
    body: dict[str, Any] = {"disable_switch_search_mode": False,
                            "site_available_languages": site_languages(locale)}
    if paging == "from_size":
        body.update({"from": (page - 1) * page_size, "size": page_size})
    return json.dumps(body)
