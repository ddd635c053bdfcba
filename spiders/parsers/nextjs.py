"""schema.org JobPosting data that Next.js sites carry inside script data.

Some Next.js careers sites print no ``<script type="application/ld+json">``
tag in the HTML: the JSON-LD travels inside the framework's own data and
is only turned into a tag by JavaScript. Two carriers are read:

- the App Router's flight data, ``self.__next_f.push([1, "..."])`` script
  chunks; the chunks are joined (one payload may be cut across several) and
  their lines read as JSON, where the JSON-LD sits as an escaped string (the
  ``__html`` of a script element) or as an object;
- the Pages Router's ``<script id="__NEXT_DATA__">`` JSON, where it sits in
  the page props, as an object or as a JSON string.

Every JobPosting found is handed to :func:`spiders.parsers.jsonld.extract_postings`
as a JSON-LD tag of the same page, so the fields are read exactly as for a
plain JSON-LD page. Pure functions; no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html import escape
from typing import Any

from scrapy.http import HtmlResponse, Response

from crawler.items import Posting
from spiders.parsers.jsonld import extract_postings

_FLIGHT_ROW = re.compile(r"[0-9a-fA-F]+:(?:T(?P<text_len>[0-9a-fA-F]+),)?")
_MAX_DEPTH = 60  # nesting levels read, against pathological payloads
_MAX_NESTED_PARSES = 2000  # JSON strings parsed inside one page, at most


def extract_nextjs_postings(response: Response, source: str) -> list[Posting]:
    """Every schema.org JobPosting carried in the page's Next.js script data
    (flight chunks or ``__NEXT_DATA__``); [] when there is none."""
    if not hasattr(response, "xpath"):
        return []  # not a text page
    found: list[dict[str, Any]] = []
    budget = [_MAX_NESTED_PARSES]
    next_data = response.xpath('//script[@id="__NEXT_DATA__"]/text()').get()
    if next_data:
        found.extend(_job_postings(_loads(next_data), budget))
    payload = flight_payload(response)
    if payload:
        from_rows = [p for value in _flight_values(payload) for p in _job_postings(value, budget)]
        # rows that did not read as rows: look for the JSON-LD in the raw text
        found.extend(from_rows or _job_postings(payload, budget))
    if not found:
        return []
    return extract_postings(_as_jsonld_page(response, found), source)


def flight_payload(response: Response) -> str:
    """The App Router's flight data of the page: the string chunks of every
    ``self.__next_f.push([1, "..."])`` script, joined in page order."""
    decoder = json.JSONDecoder()
    chunks: list[str] = []
    for script in response.xpath("//script[not(@src)]/text()").getall():
        for part in script.split("self.__next_f.push(")[1:]:
            try:
                value, _ = decoder.raw_decode(part.lstrip())
            except ValueError:
                continue
            if isinstance(value, list) and len(value) >= 2 and value[0] == 1 and isinstance(value[1], str):
                chunks.append(value[1])
    return "".join(chunks)


def _flight_values(payload: str) -> Iterator[Any]:
    # The payload is a run of rows "<hex id>:<value>": a JSON value up to the
    # end of its line (optionally tagged by capitals: I[...], HL[...]), or a
    # text row "T<hex byte length>,<text>" whose text may span lines.
    pos = 0
    while pos < len(payload):
        row = _FLIGHT_ROW.match(payload, pos)
        if row is None:  # not a row: skip the line
            end = payload.find("\n", pos)
            pos = len(payload) if end < 0 else end + 1
            continue
        pos = row.end()
        if row.group("text_len") is not None:
            size = int(row.group("text_len"), 16)
            text = payload[pos:pos + size]  # at least the text: its size counts bytes
            text = text.encode("utf-8")[:size].decode("utf-8", "ignore")
            pos += len(text)
            yield text
            continue
        end = payload.find("\n", pos)
        end = len(payload) if end < 0 else end
        body, pos = payload[pos:end], end + 1
        value = _loads(body.lstrip("ABCDEFGHIJKLMNOPQRSUVWXYZ"))
        yield value if value is not None else body


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _is_job_posting(data: dict[str, Any]) -> bool:
    types = data.get("@type")
    types = types if isinstance(types, list) else [types]
    return any(isinstance(t, str) and t.rsplit("/", 1)[-1] == "JobPosting" for t in types)


def _job_postings(data: Any, budget: list[int], depth: int = 0) -> Iterator[dict[str, Any]]:
    """JobPosting objects anywhere in ``data``, including inside strings that
    hold JSON (the ``__html`` of a JSON-LD script element)."""
    if depth > _MAX_DEPTH:
        return
    if isinstance(data, dict):
        if _is_job_posting(data):
            yield data
            return
        for value in data.values():
            yield from _job_postings(value, budget, depth + 1)
    elif isinstance(data, list):
        for value in data:
            yield from _job_postings(value, budget, depth + 1)
    elif isinstance(data, str) and "JobPosting" in data:
        text = data.strip()
        if text[:1] in "{[" and budget[0] > 0:
            budget[0] -= 1
            parsed = _loads(text)
            if parsed is not None:
                yield from _job_postings(parsed, budget, depth + 1)
                return
        yield from _embedded_objects(text, budget, depth)


def _embedded_objects(text: str, budget: list[int], depth: int) -> Iterator[dict[str, Any]]:
    # JSON-LD written into a longer text (a text row, an HTML fragment): try
    # the JSON objects that start before each mention of JobPosting.
    decoder = json.JSONDecoder()
    end = 0
    for mention in re.finditer(r"JobPosting", text):
        if mention.start() < end:
            continue
        start = text.rfind("{", end, mention.start())
        while start >= end and budget[0] > 0:
            budget[0] -= 1
            try:
                value, stop = decoder.raw_decode(text, start)
            except ValueError:
                start = text.rfind("{", end, start)
                continue
            if stop > mention.start():
                found = list(_job_postings(value, budget, depth + 1))
                if found:
                    yield from found
                    end = stop
                    break
            start = text.rfind("{", end, start)


def _as_jsonld_page(response: Response, postings: list[dict[str, Any]]) -> HtmlResponse:
    # "</" is escaped so a description holding "</script>" cannot end the tag.
    tags = "".join(
        '<script type="application/ld+json">'
        + json.dumps(p, ensure_ascii=False).replace("</", "<\\/")
        + "</script>"
        for p in postings
    )
    html = f"<!DOCTYPE html><html><head><title>{escape(response.url)}</title>{tags}</head><body></body></html>"
    return HtmlResponse(url=response.url, body=html.encode("utf-8"), encoding="utf-8")
