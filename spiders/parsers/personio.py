"""Personio positions feed: ``GET https://{company}.jobs.personio.{de,com}/xml``.

One XML document ``<workzag-jobs>`` holds every open position of the
career site (there is no paging and no total), so a parsed feed is the
whole board. Each ``<position>`` carries ``id``, ``name``, ``subcompany``
(the employing entity), ``office`` and ``additionalOffices/office``,
``department``, ``recruitingCategory``, ``employmentType`` (``permanent``,
``intern``, ``trainee``, ``freelance``, ``temporary``,
``working_student``), ``schedule`` (``full-time``, ``part-time``,
``full-or-part-time``), ``seniority``, ``yearsOfExperience``,
``occupation``, ``occupationCategory``, ``keywords``, ``createdAt`` and
``jobDescriptions/jobDescription`` sections (a ``name`` and HTML in CDATA
as ``value``). The feed has no country, no pay and no deadline field:
those are left to what the normalizer finds in the text, never guessed
here. ``seniority``, ``yearsOfExperience``, ``recruitingCategory`` and
``occupation*`` have no canonical field and are not mapped.

The XML is read with :mod:`defusedxml` (no DTDs, no entity expansion, no
external references: the feed is untrusted). Pure functions from a
response to postings; no I/O.
"""

from __future__ import annotations

import html
import io
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from scrapy.http import Response

from crawler.errors import BoardError
from crawler.items import Posting
from spiders.parsers.stream import Listing
from spiders.parsers.values import text, texts

ROOT = "workzag-jobs"
DOMAINS = ("de", "com")
# Personio employment types that decide the canonical type on their own;
# for the others (``permanent``, ``working_student``) the schedule says
# whether the job is full or part time.
_DECIDING_TYPES = frozenset({"intern", "trainee", "freelance", "temporary"})


def site_url(company: str, domain: str = "de") -> str:
    """The public career site of ``company`` (where the postings live)."""
    return f"https://{quote(company, safe='')}.jobs.personio.{domain}"


def feed_url(base_url: str) -> str:
    return f"{base_url}/xml"


def read_feed(response: Response, source: str, company: str, domain: str = "de") -> Listing:
    """The feed's positions as a stream (:mod:`spiders.parsers.stream`):
    each ``<position>`` is parsed as it ends and dropped once read, so the
    document is never built whole; a position the feed repeats is read once.

    Reading raises :class:`BoardError` for a body that is not well-formed
    XML (a cut-off feed, an HTML page), XML with a DTD or entity
    declarations, a root other than ``<workzag-jobs>``, or a position
    without an id. ``<workzag-jobs></workzag-jobs>`` is a valid, empty board.
    """
    site = site_url(company, domain)
    return Listing(entries=_positions(response),
                   posting=lambda position: _posting(position, source, site, response.url),
                   external_id=lambda position: _field(position, "id"),
                   raw=ElementTree.tostring, context=(site,))


def parse_feed(response: Response, source: str, company: str, domain: str = "de") -> list[Posting]:
    """Every position of the feed, all at once (see :func:`read_feed`)."""
    return list(read_feed(response, source, company, domain).postings())


def _positions(response: Response) -> Iterator[Element]:
    seen: set[str] = set()
    depth = 0
    root: Element | None = None
    try:
        for event, element in SafeET.iterparse(io.BytesIO(response.body), events=("start", "end"),
                                               forbid_dtd=True):
            if event == "start":
                depth += 1
                if root is None:
                    root = element
                    if root.tag != ROOT:
                        raise BoardError(f"Personio feed has no <{ROOT}> root (found <{root.tag}>)",
                                         response.url)
                continue
            depth -= 1
            if depth != 1 or element.tag != "position":
                continue
            ext = _field(element, "id")
            if ext is None or ext not in seen:  # a feed may repeat a position verbatim
                if ext is not None:
                    seen.add(ext)
                yield element
            if root is not None:
                root.clear()  # what was read is not kept
    except (ParseError, DefusedXmlException) as exc:
        raise BoardError(f"malformed XML from Personio: {exc}", response.url) from exc


def _field(position: Element, name: str) -> str | None:
    return text(position.findtext(name))


def _posting(position: Element, source: str, site: str, url: str) -> Posting:
    ext = _field(position, "id")
    if not ext:
        raise BoardError("Personio position without an id", url)
    offices = texts([_field(position, "office"),
                     *(o.text for o in position.findall("additionalOffices/office"))])
    return Posting(
        source=source,
        external_id=ext,
        url=f"{site}/job/{quote(ext, safe='')}",
        title=_field(position, "name"),
        company=_field(position, "subcompany"),
        department=_field(position, "department"),
        locations_raw=offices,
        employment_type_raw=_employment(_field(position, "employmentType"), _field(position, "schedule")),
        posted_at_raw=_field(position, "createdAt"),
        description_html=_sections(position),
        skills=_keywords(_field(position, "keywords")),
    )


def _employment(kind: str | None, schedule: str | None) -> str | None:
    """The feed's employment type and schedule as one text, the value that
    decides the canonical type first (the normalizer reads the first value
    it recognizes): an internship, traineeship, freelance or temporary job
    is that whatever its hours; a permanent job is full or part time as its
    schedule says."""
    if kind and kind.casefold() in _DECIDING_TYPES:
        values: list[Any] = [kind, schedule]
    elif schedule and schedule.casefold() == "part-time":
        values = [schedule, kind]
    else:
        values = [kind, schedule]
    return ", ".join(texts(values)) or None


def _keywords(value: str | None) -> list[str]:
    return texts([part for part in (value or "").split(",")])


def _sections(position: Element) -> str | None:
    """The description sections as one HTML document, each under its name
    (the name is text, escaped here; the value is the board's HTML)."""
    parts: list[str] = []
    for section in position.findall("jobDescriptions/jobDescription"):
        name, value = text(section.findtext("name")), text(section.findtext("value"))
        if not value:
            continue
        if name:
            parts.append(f"<h2>{html.escape(name)}</h2>")
        parts.append(value)
    return "\n".join(parts) or None
