"""iCIMS career portals: the job sitemap and the posting frames.

A portal (``https://careers-acme.icims.com``) publishes ``/sitemap.xml``
listing its posting pages, ``/jobs/{id}/{title-slug}/job``. The public page
holds the posting in an iframe; the frame is the same address with
``in_iframe=1`` and carries the posting as schema.org ``JobPosting``
JSON-LD (title, ``datePosted``, ``validThrough``, ``employmentType``, each
``jobLocation`` address, ``hiringOrganization``, the ad), read with
:mod:`spiders.parsers.jsonld`. Address parts iCIMS has no value for are
written as placeholders ("UNAVAILABLE"); they are passed through as the
page gives them, for :mod:`crawler.normalize` to drop.

The posting's id is the number in its address, not the address: the slug
after it follows the title. Pure functions; no I/O.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from scrapy.http import Response

from crawler.items import Posting
from spiders.parsers.jsonld import extract_postings

# A posting page: /jobs/<id>/job or /jobs/<id>/<slug>/job.
POSTING_URL = r"/jobs/\d+/(?:[^/?#]+/)?job/?(?:[?#]|$)"
_ID = re.compile(r"/jobs/(\d+)/")
_FRAME = "in_iframe"


def sitemap_url(url: str) -> str:
    """The portal's job sitemap: ``/sitemap.xml`` at the root of the host
    ``url`` names (any path of a pasted search or job address is left
    out)."""
    parts = urlsplit(url.strip())
    return urlunsplit((parts.scheme, parts.netloc, "/sitemap.xml", "", ""))


def posting_id(url: str | None) -> str | None:
    """The iCIMS job id a posting address names (``/jobs/75243/...`` →
    ``75243``), or None."""
    match = _ID.search(url) if isinstance(url, str) else None
    return match.group(1) if match else None


def frame_url(url: str) -> str:
    """The posting page's frame, which carries the JSON-LD: the same
    address with ``in_iframe=1``."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != _FRAME]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode([*query, (_FRAME, "1")]), ""))


def _without_frame(url: str | None) -> str | None:
    if not url or _FRAME not in url:
        return url
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != _FRAME]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def read_postings(response: Response, source: str) -> list[Posting]:
    """The postings on a posting frame (see :func:`complete`); [] when it
    has no ``JobPosting`` (the caller reports that)."""
    return [complete(posting, response) for posting in extract_postings(response, source)]


def complete(posting: Posting, response: Response, alone: bool = True) -> Posting:
    """Finish a posting the shared parser read from a frame, in place: the
    job id from its address becomes ``external_id`` (an ``identifier`` the
    page states is kept as ``requisition_id``), and links lose the frame
    parameter."""
    posting.url = _without_frame(posting.url)
    posting.apply_url = _without_frame(posting.apply_url)
    number = posting_id(response.url) or posting_id(posting.url)
    if number and posting.external_id != number:
        stated = posting.external_id
        if not posting.requisition_id and stated and not stated.startswith("/"):
            posting.requisition_id = stated
        posting.external_id = number
    return posting
