"""Microsoft Careers (apply.careers.microsoft.com): what is Microsoft's own
on top of Eightfold's PCSX API (:mod:`spiders.parsers.eightfold`).

- Search: ``GET {base}/api/pcsx/search?domain=microsoft.com&query=&location=&start=N``
  (10 a page, newest first); ``atsJobId`` is the Microsoft job number.
- Detail: ``GET {base}/api/pcsx/position_details?position_id=ID&domain=microsoft.com&hl=en``.

Microsoft's are the tenant domain, the public site relative posting URLs
are read against, the employer's name and the name in errors; the parsing
is Eightfold's. No real Microsoft response was saved (see the fixtures
README), so the Eightfold functions stay tolerant of both field spellings.
"""

from __future__ import annotations

from scrapy.http import Response

from crawler.items import Gone, Posting
from spiders.parsers import eightfold
from spiders.parsers.eightfold import (
    DETAILS_API,
    PAGE_SIZE,
    SEARCH_API,
    Position,
    SearchPage,
    place,
)

__all__ = ["COMPANY", "DETAILS_API", "DOMAIN", "LABEL", "PAGE_SIZE", "PUBLIC_SITE", "SEARCH_API", "Position",
           "SearchPage", "details_url", "job_page_url", "listing_posting", "parse_position_details",
           "parse_search", "place", "position", "search_page_url", "search_url"]

DOMAIN = "microsoft.com"
PUBLIC_SITE = "https://apply.careers.microsoft.com"
COMPANY = "Microsoft"
LABEL = "Microsoft Careers"


def search_url(base: str, query: str, location: str, start: int) -> str:
    return eightfold.search_url(base, DOMAIN, query, location, start)


def search_page_url(base: str, query: str, location: str, start: int) -> str:
    """The careers site's search page, whose script asks the search API."""
    return eightfold.search_page_url(base, DOMAIN, query, location, start)


def details_url(base: str, position_id: str) -> str:
    return eightfold.details_url(base, DOMAIN, position_id)


def job_page_url(base: str, position_id: str) -> str:
    """The posting's own page, whose script asks the details API."""
    return eightfold.job_page_url(base, DOMAIN, position_id)


def parse_search(response: Response) -> SearchPage:
    """One search page (see :func:`spiders.parsers.eightfold.parse_search`)."""
    return eightfold.parse_search(response, LABEL, PUBLIC_SITE)


def position(item: object, url: str = "") -> Position:
    """One search entry (also read from a details payload)."""
    return eightfold.position(item, url, PUBLIC_SITE, LABEL)


def listing_posting(pos: Position, source: str) -> Posting:
    """A posting from what the search alone shows."""
    return eightfold.listing_posting(pos, source, COMPANY)


def parse_position_details(response: Response, source: str, listed: Position | None = None
                           ) -> Posting | Gone:
    """The posting on a details response (see
    :func:`spiders.parsers.eightfold.parse_position_details`)."""
    return eightfold.parse_position_details(response, source, listed, COMPANY, LABEL, PUBLIC_SITE)
