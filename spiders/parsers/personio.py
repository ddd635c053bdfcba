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
from typing import Any
from urllib.parse import quote
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from scrapy.http import Response

from crawler.errors import BoardError
from crawler.items import Posting
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


def parse_feed(response: Response, source: str, company: str, domain: str = "de") -> list[Posting]:
    """Every position of the feed.

    Raises :class:`BoardError` for a body that is not well-formed XML
    (a cut-off feed, an HTML page), XML with a DTD or entity declarations,
    a root other than ``<workzag-jobs>``, or a position without an id.
    ``<workzag-jobs></workzag-jobs>`` is a valid, empty board.
    """
    root = _load(response)
    site = site_url(company, domain)
    postings: list[Posting] = []
    seen: set[str] = set()
    for position in root.findall("position"):
        posting = _posting(position, source, site, response.url)
        if posting.external_id not in seen:  # a feed may repeat a position verbatim
            seen.add(posting.external_id)
            postings.append(posting)
    return postings


def _load(response: Response) -> Element:
    try:
        root = SafeET.fromstring(response.body, forbid_dtd=True)
    except (ParseError, DefusedXmlException) as exc:
        raise BoardError(f"malformed XML from Personio: {exc}", response.url) from exc
    if root.tag != ROOT:
        raise BoardError(f"Personio feed has no <{ROOT}> root (found <{root.tag}>)", response.url)
    return root


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
