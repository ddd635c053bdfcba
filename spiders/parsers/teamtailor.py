"""Teamtailor career sites: the public jobs RSS feed.

``GET {site}/jobs.rss?offset=N&per_page=100``, where ``{site}`` is
``https://{company}.teamtailor.com`` or the employer's own career domain.
Teamtailor documents the feed ("RSS feed: how-to guide" in its Support
Center): it shows the first 100 jobs unless ``offset`` and ``per_page`` ask
for others, so it is read page by page until a page holds fewer items than
asked for. Each ``<item>`` carries ``title``, ``description`` (HTML, escaped
as XML text), ``pubDate`` (RFC 822), ``link`` (``/jobs/{id}-{slug}``),
``guid``, ``remoteStatus`` (``none``, ``onsite``, ``hybrid``, ``fully``,
``temporary``) and, in the ``tt`` namespace, ``locations/location``
(``name``, ``address``, ``zip``, ``city``, ``country``), ``department``,
``role`` and ``division``. The channel ``title`` names the career site's
company. The feed has no employment type, pay or deadline field: those are
left to what the normalizer finds in the text.

The XML is read with :mod:`defusedxml` (no DTDs, no entity expansion, no
external references: the feed is untrusted). Pure functions from a response
to postings; no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlsplit
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from scrapy.http import Response

from crawler.errors import BoardError
from crawler.items import Posting
from spiders.parsers.values import text

PAGE_SIZE = 100  # items asked for per page: the feed's documented default
TT = "{https://teamtailor.com/locations}"
# remoteStatus values that state a workplace; "none" (no remote status set,
# which is not the same as on site: "onsite" is its own value) and
# "temporary" state none.
REMOTE_STATUS = {"fully": "Remote", "hybrid": "Hybrid", "onsite": "On-site"}
_JOB_ID = re.compile(r"/jobs/(\d+)(?:[-/?#]|$)")


@dataclass
class FeedPage:
    """One page of the feed: its postings and how many items it held."""

    postings: list[Posting]
    items: int


def site_url(company: str) -> str:
    return f"https://{quote(company, safe='.')}.teamtailor.com"


def feed_url(site: str, offset: int, per_page: int = PAGE_SIZE) -> str:
    return f"{site}/jobs.rss?offset={offset}&per_page={per_page}"


def next_offset(offset: int, items: int, per_page: int = PAGE_SIZE) -> int | None:
    """Where the next page starts, or None when this page ended the feed
    (it held fewer items than asked for)."""
    return offset + items if items >= per_page else None


def parse_feed(response: Response, source: str) -> FeedPage:
    """One page of the feed.

    Raises :class:`BoardError` for a body that is not well-formed XML (a
    cut-off feed, an HTML page), XML with a DTD or entity declarations, a
    document that is not an RSS ``<channel>``, or an item with neither a
    ``/jobs/{id}`` link nor a guid. A channel without items is a valid,
    empty page.
    """
    try:
        root = SafeET.fromstring(response.body, forbid_dtd=True)
    except (ParseError, DefusedXmlException) as exc:
        raise BoardError(f"malformed XML from Teamtailor: {exc}", response.url) from exc
    channel = root.find("channel") if root.tag == "rss" else None
    if channel is None:
        raise BoardError(f"Teamtailor feed is not an RSS channel (root <{root.tag}>)", response.url)
    company = text(channel.findtext("title"))
    items = channel.findall("item")
    return FeedPage(postings=[_posting(item, source, company, response.url) for item in items],
                    items=len(items))


def external_id(item: Element) -> str | None:
    """The job's number in its link (``/jobs/8021334-account-executive``),
    the id its pages and apply links use, else its guid."""
    link = text(item.findtext("link")) or ""
    found = _JOB_ID.search(urlsplit(link).path)
    return found.group(1) if found else text(item.findtext("guid"))


def _posting(item: Element, source: str, company: str | None, url: str) -> Posting:
    ext = external_id(item)
    if not ext:
        raise BoardError("Teamtailor item without a /jobs/<id> link or a guid", url)
    locations = [place for loc in item.findall(f"{TT}locations/{TT}location") if (place := _place(loc))]
    status = (text(item.findtext("remoteStatus")) or "").casefold()
    return Posting(
        source=source,
        external_id=ext,
        url=text(item.findtext("link")),
        title=text(item.findtext("title")),
        company=company,
        department=text(item.findtext(f"{TT}department")),
        locations=locations,
        locations_raw=[place["raw"] for place in locations if place["raw"]],
        workplace_type_raw=REMOTE_STATUS.get(status),
        posted_at_raw=_iso(text(item.findtext("pubDate"))),
        description_html=text(item.findtext("description")),
    )


def _place(location: Element) -> dict[str, Any] | None:
    name, city, country = (text(location.findtext(f"{TT}{key}")) for key in ("name", "city", "country"))
    raw = name or ", ".join(part for part in (city, country) if part) or None
    if not (raw or city or country):
        return None
    return {"raw": raw, "city": city, "region": None, "country": country}


def _iso(value: str | None) -> str | None:
    """An RFC 822 ``pubDate`` ("Mon, 06 Jul 2026 08:58:57 +0200") as ISO
    8601 with its own offset, so the time of day is kept; other text as
    it is."""
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).isoformat()
    except (TypeError, ValueError, IndexError):
        return value
