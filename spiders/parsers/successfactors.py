"""SAP SuccessFactors career sites: the public job sitemap and the posting pages.

A Career Site Builder site (``https://jobs.example.com``, or a path on a
shared host such as ``jobsearch.createyourowncareer.com/Acme``) publishes
``{site}/sitemap.xml`` listing every posting page,
``{site}/job/{Title-Slug}/{job id}/``; a legacy career site
(``/career?company=X``) names a posting with ``career_job_req_id``. The
posting pages carry schema.org ``JobPosting`` microdata (or JSON-LD), read
with :mod:`spiders.parsers.jsonld`.

Two things differ from a generic JSON-LD site. The posting's id is the
number in its URL, not the URL itself: the slug before it follows the
title, so a retitled posting keeps its number but not its path. The ad
is split over several ``itemprop="description"`` blocks (one per layout
token); the shared parser keeps the first, so the page's blocks are joined
here. And the language is stated on each field's element (``lang``), not
as ``inLanguage``. Pure functions from a response to URLs or postings; no
I/O.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

import lxml.etree
from scrapy.http import Response
from scrapy.utils.gz import gunzip

from crawler.errors import BoardError
from crawler.items import Posting
from spiders.parsers.jsonld import extract_postings, sitemap_urls

# A posting page: /job/<slug>/<id>/ (Career Site Builder) or a legacy
# career page naming the requisition.
POSTING_URL = r"/job/(?:[^/?#]+/)+\d+/?(?:[?#]|$)|[?&]career_job_req_id=\d+"
_ID = re.compile(r"/job/(?:[^/?#]+/)+?(?P<path>\d+)/?(?:[?#]|$)|[?&]career_job_req_id=(?P<query>\d+)")
# Where a pasted search or job URL stops being the site's base path.
_SITE_TAIL = re.compile(r"/(?:search|job|go|career|viewalljobs|content)(?:/.*)?$|/+$", re.IGNORECASE)


def sitemap_url(url: str) -> str:
    """The job sitemap of a career site: ``{site}/sitemap.xml``. A pasted
    search, job or legacy ``/career`` address is cut back to the site; a
    query (``company=X`` on shared hosts) is kept."""
    parts = urlsplit(url.strip())
    path = _SITE_TAIL.sub("", parts.path)
    return urlunsplit((parts.scheme, parts.netloc, f"{path}/sitemap.xml", parts.query, ""))


def sitemap_entries(response: Response) -> tuple[list[str], bool]:
    """The URLs of a job sitemap and whether it is a sitemap index, as
    :func:`spiders.parsers.jsonld.sitemap_urls` reads them, but strictly:
    a body that is not well-formed XML (a truncated answer, which a
    recovering parser would read as a sitemap without URLs) raises
    :class:`BoardError`, as does one that is no sitemap."""
    body = response.body
    try:
        if body[:2] == b"\x1f\x8b":
            body = gunzip(body)
        lxml.etree.fromstring(body, parser=lxml.etree.XMLParser(resolve_entities=False, no_network=True))
    except (lxml.etree.XMLSyntaxError, OSError, EOFError, ValueError) as exc:
        raise BoardError(f"malformed sitemap XML: {exc}", response.url) from exc
    return sitemap_urls(response)


def posting_id(url: str | None) -> str | None:
    """The job id a posting URL names (``/job/Some-Title/1399744233/`` →
    ``1399744233``), or None."""
    match = _ID.search(url) if isinstance(url, str) else None
    return (match.group("path") or match.group("query")) if match else None


def read_postings(response: Response, source: str) -> list[Posting]:
    """The postings on a posting page (see :func:`complete`); [] when the
    page has no ``JobPosting`` (the caller reports that)."""
    postings = extract_postings(response, source)
    return [complete(posting, response, alone=len(postings) == 1) for posting in postings]


def complete(posting: Posting, response: Response, alone: bool = True) -> Posting:
    """Finish a posting the shared parser read from a posting page, in
    place: the job id from the page's URL (else from the posting's own
    ``url``) becomes ``external_id``, an ``identifier`` the page states is
    kept as ``requisition_id``, and when the page is this one posting's,
    every ``itemprop="description"`` block of it makes the ad, and the
    title's ``lang`` is the posting's language when the page states none
    otherwise."""
    number = posting_id(response.url) or posting_id(posting.url)
    if number and posting.external_id != number:
        stated = posting.external_id
        if not posting.requisition_id and stated and not stated.startswith("/"):
            posting.requisition_id = stated
        posting.external_id = number
    if alone and hasattr(response, "css"):
        scope = '[itemtype*="JobPosting"] '
        blocks = response.css(scope + '[itemprop="description"]').getall()
        if len(blocks) > 1 and posting.description is None:
            posting.description_html = "\n".join(blocks)
        # each field's element states its language (lang="en-GB")
        posting.language = posting.language or response.css(scope + '[itemprop="title"]::attr(lang)').get()
    return posting
