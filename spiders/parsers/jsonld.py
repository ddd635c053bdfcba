"""schema.org JobPosting pages, and the pages that lead to them.

:func:`extract_postings` reads JobPosting items from JSON-LD (in ``@graph``,
in lists, ``@type`` as a list) and from microdata, with extruct.
:func:`find_links`, :func:`next_page` and :func:`sitemap_urls` read
listing pages and sitemaps for the URLs of posting pages. Pure functions
from a response to postings or URLs; no I/O. Values are mapped as the page
gives them; :mod:`crawler.normalize` tidies them.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

import extruct
import lxml.etree
from extruct.jsonld import JsonLdExtractor
from extruct.utils import parse_html
from scrapy.http import Response
from scrapy.linkextractors import LinkExtractor
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap

from crawler.errors import BoardError
from crawler.items import Posting
from crawler.normalize import clean_url, html_to_text, parse_location
from crawler.normalize.salary import number
from spiders.parsers.values import text as _text
from spiders.parsers.values import texts as _texts

logger = logging.getLogger(__name__)

# Text properties that belong to the posting's text besides ``description``:
# Meta, for one, puts responsibilities and qualifications only here.
_TEXT_SECTIONS = (
    "responsibilities",
    "qualifications",
    "educationRequirements",
    "experienceRequirements",
    "jobBenefits",
    "incentiveCompensation",
)
_ITEMSCOPE = re.compile(rb"itemscope", re.IGNORECASE)
# Containers in which sites nest their postings.
_NESTING_KEYS = ("@graph", "mainEntity", "mainEntityOfPage", "itemListElement", "item")


def extract_postings(response: Response, source: str) -> list[Posting]:
    """Every schema.org JobPosting on the page, JSON-LD first, then
    microdata; [] when the page has none (the caller reports that).

    A broken JSON-LD tag is skipped (and logged), the page's other tags and
    microdata are still read; an empty tag holds no posting.

    ``external_id`` is the posting's ``identifier`` (its ``value`` when it is
    a PropertyValue). Without one, it is the path (and query, tracking
    parameters removed) of the posting's URL, i.e. its ``url`` property or
    else the page URL: it stays the same across runs as long as the page
    keeps its address.
    """
    try:
        tree = parse_html(response.body, encoding=response.encoding)
    except (lxml.etree.LxmlError, ValueError):
        return []  # an empty or unparsable body holds no posting
    items = _jsonld_items(tree, response.url)
    if _ITEMSCOPE.search(response.body):  # no itemscope, no microdata: skip extruct's walk
        items += _microdata_items(tree, response.url)
    postings: list[Posting] = []
    seen: set[tuple[str, str | None]] = set()
    for data in (job for item in items for job in _job_postings(item)):
        posting = _posting(data, response.url, source)
        # A page often states one posting in both JSON-LD and microdata.
        key = (posting.external_id, posting.title)
        if key not in seen:
            seen.add(key)
            postings.append(posting)
    return postings


def _jsonld_items(tree: Any, url: str) -> list[Any]:
    # One tag at a time: extruct gives up on every JSON-LD tag of the page
    # when one of them is broken.
    items: list[Any] = []
    extractor = JsonLdExtractor()
    for node in tree.xpath('//script[@type="application/ld+json"]'):
        try:
            items.extend(extractor.extract_items(node, base_url=url))
        except ValueError as exc:
            if node.text and node.text.strip():
                logger.warning("skipped a broken JSON-LD tag on %s: %s", url, exc)
    return items


def _microdata_items(tree: Any, url: str) -> list[Any]:
    try:
        data = extruct.extract(tree, base_url=url, syntaxes=["microdata"], uniform=True)
    except Exception as exc:  # extruct raises whatever its parser met
        logger.warning("skipped unreadable microdata on %s: %s", url, exc)
        return []
    return data.get("microdata", [])


def _job_postings(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, list):
        for item in data:
            yield from _job_postings(item)
    elif isinstance(data, dict):
        types = data.get("@type")
        types = types if isinstance(types, list) else [types]
        if any(isinstance(t, str) and t.rsplit("/", 1)[-1] == "JobPosting" for t in types):
            yield data
            return
        for key in _NESTING_KEYS:
            yield from _job_postings(data.get(key))


def _posting(data: dict[str, Any], page_url: str, source: str) -> Posting:
    url = _absolute(page_url, _text(data.get("url"))) or page_url
    employment = _texts(data.get("employmentType"))
    description_html, description = _description(data)
    locations = _locations(data)
    salary, salary_texts = _salaries(data)
    return Posting(
        source=source,
        external_id=_identifier(data.get("identifier")) or _path_id(url),
        url=url,
        apply_url=_apply_url(data, url, page_url),
        title=_text(data.get("title")) or _text(data.get("name")),
        company=_text(data.get("hiringOrganization")),
        locations=locations,
        locations_raw=[location["raw"] for location in locations if location["raw"]],
        workplace_type_raw=_workplace(data.get("jobLocationType")),
        employment_type_raw=", ".join(employment) or None,
        salary=salary,
        salary_raw=salary_texts,
        posted_at_raw=_text(data.get("datePosted")),
        deadline_raw=_text(data.get("validThrough")),
        description_html=description_html,
        description=description,
        skills=_skills(data.get("skills")),
        language=_text(data.get("inLanguage")),
    )




def _absolute(base: str, url: str | None) -> str | None:
    if not url:
        return None
    joined = urldefrag(urljoin(base, url)).url
    return joined if urlsplit(joined).scheme in ("http", "https") else None


def _identifier(value: Any) -> str | None:
    if isinstance(value, list):
        return next((found for item in value if (found := _identifier(item))), None)
    if isinstance(value, dict):
        return _text(value.get("value")) or _text(value.get("@value"))
    return _text(value)


def _path_id(url: str) -> str:
    parts = urlsplit(clean_url(url))
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _apply_url(data: dict[str, Any], url: str, page_url: str) -> str | None:
    # Not in schema.org, but common: an explicit applyUrl, or an ApplyAction
    # whose target is a URL or an EntryPoint.
    actions = [
        action
        for action in _as_list(data.get("potentialAction"))
        if isinstance(action, dict) and "ApplyAction" in _texts(action.get("@type"))
    ]
    for candidate in (data.get("applyUrl"), *(action.get("target") for action in actions)):
        if isinstance(candidate, dict):
            candidate = candidate.get("urlTemplate") or candidate.get("url")
        if isinstance(candidate, str) and (found := _absolute(page_url, candidate.strip())):
            return found
    # directApply: the posting page itself takes the application.
    return url if data.get("directApply") in (True, "true", "True") else None


def _workplace(value: Any) -> str | None:
    types = _texts(value)
    return next((t for t in types if "telecommute" in t.casefold()), None)


def _locations(data: dict[str, Any]) -> list[dict[str, Any]]:
    locations = [loc for place in _as_list(data.get("jobLocation")) if (loc := _place(place))]
    if _workplace(data.get("jobLocationType")):
        # Remote postings name the countries or states applicants may live in.
        for area in _as_list(data.get("applicantLocationRequirements")):
            name = _text(area)
            kind = _text(area.get("@type")) if isinstance(area, dict) else "Country"
            if name:
                is_country = kind == "Country"
                locations.append(
                    {
                        "raw": name,
                        "city": None,
                        "region": None if is_country else name,
                        "country": name if is_country else None,
                    }
                )
    return locations


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _place(place: Any) -> dict[str, Any] | None:
    if isinstance(place, str):
        return parse_location(place)
    if not isinstance(place, dict):
        return None
    address = place.get("address")
    if address is None and ("addressLocality" in place or "addressCountry" in place):
        address = place  # the place is written as a PostalAddress
    address = next(iter(_as_list(address)), None)
    if isinstance(address, str):
        address = {"streetAddress": address}
    address = address if isinstance(address, dict) else {}
    locality = _text(address.get("addressLocality"))
    region = _text(address.get("addressRegion"))
    country = _text(address.get("addressCountry"))
    name = _text(place.get("name"))
    if not name:
        text = ", ".join(part for part in (locality, region, country) if part)
        if not text:
            return parse_location(_text(address.get("streetAddress")))
        return {"raw": text, "city": locality, "region": region, "country": country}
    named = parse_location(name) or {}
    country = named.get("country") or country
    if locality and locality.casefold() in name.casefold():
        return {
            "raw": name,
            "city": locality,
            "region": region or named.get("region"),
            "country": country,
        }
    # Some sites repeat one address under every place (Meta gives each of its
    # offices addressLocality "Sunnyvale"): the place's name wins when the
    # address's city is not part of it.
    return {
        "raw": name,
        "city": named.get("city"),
        "region": named.get("region"),
        "country": country,
    }


def _salaries(data: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    # Returns structured entries, and pay written as text ("$50k - $60k")
    # for the normalizer's text reader.
    entries, texts = [], []
    for amount in _as_list(data.get("baseSalary")):
        currency = data.get("salaryCurrency")
        value: Any = amount
        unit = None
        if isinstance(amount, dict):
            currency = amount.get("currency") or currency
            value = amount.get("value")
            unit = amount.get("unitText")
        if isinstance(value, dict):
            unit = value.get("unitText") or unit
            low, high = value.get("minValue"), value.get("maxValue")
            if low is None and high is None:
                low = high = value.get("value")
        elif isinstance(value, str) and number(value) is None:
            texts.append(value)
            continue
        else:
            low = high = value
        if low is None and high is None:
            continue
        entries.append(
            {
                "min": low,
                "max": high,
                "currency": _text(currency),
                "period": _text(unit),
                "raw": json.dumps(amount, ensure_ascii=False),
            }
        )
    return entries, texts


def _skills(value: Any) -> list[str]:
    skills = []
    for text in _texts(value):
        # "Python, SQL, Airflow" is a list; a sentence with a comma is not.
        parts = [part.strip() for part in text.replace(";", ",").split(",")]
        short = all(0 < len(part) <= 40 for part in parts)
        skills.extend(parts if len(parts) > 1 and short else [text])
    return skills


def _description(data: dict[str, Any]) -> tuple[str | None, str | None]:
    # Returns (description_html, description). The description alone is
    # left for the normalizer to read as HTML; with more text sections the
    # parts are joined as text, one paragraph group each, repeats left out.
    description = _text(data.get("description"))
    sections = [
        section
        for key in _TEXT_SECTIONS
        for section in _as_list(data.get(key))
        if isinstance(section, str) and section.strip()
    ]
    if not sections:
        return description, None
    texts: list[str] = []
    for part in (description, *sections):
        text = html_to_text(part)
        if text and not any(text in seen for seen in texts):
            texts.append(text)
    return None, "\n\n".join(texts) or None


def find_links(response: Response, allow: str | None = None) -> list[str]:
    """Absolute links to posting pages on a listing page: those matching the
    regex ``allow`` when given, else every link to the same site (the page's
    host and its subdomains, ``www.`` ignored). Fragments are dropped,
    repeats removed, order kept; links to images, documents and other files
    are left out."""
    if allow:
        extractor = LinkExtractor(allow=allow)
    else:
        host = (urlsplit(response.url).hostname or "").removeprefix("www.")
        extractor = LinkExtractor(allow_domains=[host] if host else None)
    links: list[str] = []
    for link in extractor.extract_links(response):
        url = urldefrag(link.url).url
        if url not in links and url != urldefrag(response.url).url:
            links.append(url)
    return links


def next_page(response: Response) -> str | None:
    """The absolute URL of the next listing page, from ``<a rel="next">`` or
    ``<link rel="next">``; None on the last page."""
    href = response.css('a[rel~="next"]::attr(href), link[rel~="next"]::attr(href)').get()
    return response.urljoin(href.strip()) if href and href.strip() else None


def sitemap_urls(response: Response) -> tuple[list[str], bool]:
    """The ``<loc>`` URLs of a sitemap, and whether it is a sitemap index
    (its URLs are more sitemaps) rather than a list of pages. Gzipped bodies
    are unpacked. Raises :class:`BoardError` when the body is not a sitemap.
    """
    entries, is_index = sitemap_pages(response)
    return [url for url, _ in entries], is_index


def sitemap_pages(response: Response) -> tuple[list[tuple[str, str | None]], bool]:
    """As :func:`sitemap_urls`, each URL with its ``<lastmod>`` (None when
    the sitemap gives none): when it has not moved, the page has not."""
    body = response.body
    try:
        if body[:2] == b"\x1f\x8b":
            body = gunzip(body)
        sitemap = Sitemap(body)
        entries = [(entry["loc"], (entry.get("lastmod") or "").strip() or None)
                   for entry in sitemap if entry.get("loc")]
    except (lxml.etree.LxmlError, StopIteration, OSError, EOFError) as exc:
        raise BoardError(f"unreadable sitemap: {exc or 'empty body'}", response.url) from exc
    if sitemap.type not in ("urlset", "sitemapindex"):
        raise BoardError(f"not a sitemap (root element <{sitemap.type}>)", response.url)
    return entries, sitemap.type == "sitemapindex"
