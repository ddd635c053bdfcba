"""JSON-LD carried inside Next.js script data (spiders.parsers.nextjs).

No real Next.js careers page was saved, so the two pages used here are
CONSTRUCTED: the real Meta JobPosting JSON-LD of
tests/data/fixtures/jsonld/jobseek_meta_software_engineer.html, put into the
two carriers Next.js uses, the way Next.js writes them:

- tests/data/spa/nextjs_meta_app_router.html: App Router flight data, the
  JSON-LD as the escaped ``__html`` of a script element, cut across two
  ``self.__next_f.push([1, "..."])`` chunks, ``<`` written as ``\\u003c``;
- tests/data/spa/nextjs_meta_pages_router.html: Pages Router
  ``__NEXT_DATA__``, the JSON-LD as a JSON string in the page props.

Both are rebuilt here from the real fixture and must equal the saved files,
and both must give exactly the posting the plain JSON-LD page gives.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse

from crawler.normalize import normalize_posting
from spiders.parsers.jsonld import extract_postings
from spiders.parsers.nextjs import extract_nextjs_postings, flight_payload

DATA = Path(__file__).resolve().parent.parent / "data"
META = DATA / "fixtures" / "jsonld" / "jobseek_meta_software_engineer.html"
PAGES = DATA / "spa"
GOLDEN = DATA / "golden" / "nextjs"
# the address the saved Meta page stands for (as in tests/test_golden.py)
URL = "https://www.metacareers.com/profile/job_details/software-engineer-infrastructure"
FETCHED_AT = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
UPDATE = os.environ.get("JOBDELTA_UPDATE_GOLDEN") == "1"
APP, PAGES_ROUTER = "nextjs_meta_app_router.html", "nextjs_meta_pages_router.html"


def meta_jsonld() -> dict:
    text = META.read_text(encoding="utf-8")
    return json.loads(re.search(r'<script type="application/ld\+json"[^>]*>(.*?)</script>', text, re.S).group(1))


def compact(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))  # as JSON.stringify writes


def _escape(js: str) -> str:
    # Next.js writes "<" as \u003c inside its inline scripts
    return js.replace("<", "\\u003c")


def push(chunk: str) -> str:
    return f"<script>self.__next_f.push({_escape(compact([1, chunk]))})</script>"


def app_router_page(jsonld: dict) -> str:
    title = jsonld["title"]
    element = ["$", "script", None, {"type": "application/ld+json",
                                     "dangerouslySetInnerHTML": {"__html": compact(jsonld)}}]
    rows = [
        '1:HL["/_next/static/css/a1b2c3.css","style"]',
        '2:I[7123,["static/chunks/7123-4e5f.js","static/chunks/app/jobs/page-9a8b.js"],"default"]',
        "3:" + compact(element),
        "0:" + compact(["$", "$L2", None, {"children": [["$", "h1", None, {"children": title}], "$3"]}]),
    ]
    payload = "\n".join(rows) + "\n"
    cut = payload.index("Bachelor")  # the JSON-LD is cut across two chunks
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charSet="utf-8"/>'
        f"<title>{title} | Meta Careers</title>"
        '<script src="/_next/static/chunks/webpack-1f2e.js" async=""></script></head>'
        f'<body><main><h1>{title}</h1></main>'
        "<script>(self.__next_f=self.__next_f||[]).push([0])</script>"
        + push(payload[:cut]) + push(payload[cut:])
        + "</body></html>\n"
    )


def pages_router_page(jsonld: dict) -> str:
    data = {"props": {"pageProps": {"job": {"id": "software-engineer-infrastructure", "title": jsonld["title"]},
                                    "structuredData": compact(jsonld)}, "__N_SSP": True},
            "page": "/jobs/[id]", "query": {"id": "software-engineer-infrastructure"},
            "buildId": "jd-constructed", "isFallback": False, "gssp": True, "scriptLoader": []}
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charSet="utf-8"/>'
        f"<title>{jsonld['title']} | Meta Careers</title></head>"
        f'<body><div id="__next"><h1>{jsonld["title"]}</h1></div>'
        f'<script id="__NEXT_DATA__" type="application/json">{_escape(compact(data))}</script>'
        "</body></html>\n"
    )


BUILDERS = {APP: app_router_page, PAGES_ROUTER: pages_router_page}


def page(name: str, url: str = URL) -> HtmlResponse:
    return HtmlResponse(url=url, body=(PAGES / name).read_bytes(), encoding="utf-8")


@pytest.mark.parametrize("name", [APP, PAGES_ROUTER])
def test_constructed_pages_carry_the_real_jsonld_unchanged(name: str) -> None:
    built = BUILDERS[name](meta_jsonld())
    if UPDATE:
        (PAGES / name).write_text(built, encoding="utf-8")
    assert (PAGES / name).read_text(encoding="utf-8") == built
    # and the plain extractor sees nothing on them: the JSON-LD is script data
    assert extract_postings(page(name), "meta") == []


@pytest.mark.parametrize("name", [APP, PAGES_ROUTER])
def test_golden(name: str) -> None:
    output = [normalize_posting(p, fetched_at=FETCHED_AT).to_dict()
              for p in extract_nextjs_postings(page(name), "meta")]
    golden = GOLDEN / (Path(name).stem + ".json")
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(json.dumps(output, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert golden.exists(), f"no golden file {golden}: run with JOBDELTA_UPDATE_GOLDEN=1"
    assert output == json.loads(golden.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", [APP, PAGES_ROUTER])
def test_same_posting_as_the_plain_jsonld_page(name: str) -> None:
    plain = extract_postings(HtmlResponse(url=URL, body=META.read_bytes(), encoding="utf-8"), "meta")
    carried = extract_nextjs_postings(page(name), "meta")
    assert [p.to_dict() for p in carried] == [p.to_dict() for p in plain]
    [job] = json.loads((GOLDEN / (Path(name).stem + ".json")).read_text(encoding="utf-8"))
    assert job["title"] == "Software Engineer, Infrastructure" and job["company"] == "Meta"
    assert job["deadline"] == "2026-06-08T12:50:57-07:00" and job["employment_type"] == "full_time"
    assert job["posted_at"].startswith("2025-06-10")
    assert [loc["raw"] for loc in job["locations"]][:2] == ["Sunnyvale, CA", "Bellevue, WA"]
    assert job["url"] == URL and job["apply_url"] == URL  # directApply: the page itself
    assert "&nbsp;" not in job["description"] and "Bachelor's degree" in job["description"]


def test_flight_chunks_are_joined_in_page_order() -> None:
    payload = flight_payload(page(APP))
    assert payload.startswith('1:HL["/_next/static/css/a1b2c3.css","style"]\n')
    assert '\\"@type\\":\\"JobPosting\\"' in payload  # the JSON-LD, still escaped once


def html(body: str, url: str = "https://jobs.example.com/jobs/42") -> HtmlResponse:
    return HtmlResponse(url=url, body=f"<html><head></head><body>{body}</body></html>".encode(), encoding="utf-8")


JOB = {"@context": "https://schema.org", "@type": "JobPosting", "title": "Data Engineer",
       "identifier": {"@type": "PropertyValue", "value": "R-42"},
       "hiringOrganization": {"@type": "Organization", "name": "Example"},
       "jobLocation": {"@type": "Place", "address": {"addressLocality": "Berlin", "addressCountry": "DE"}},
       "description": "<p>Build pipelines.</p>"}


def test_job_posting_as_an_object_in_flight_rows_and_in_a_text_row() -> None:
    row = "5:" + json.dumps(["$", "$L6", None, {"jsonLd": JOB}]) + "\n"
    [p] = extract_nextjs_postings(html(push(row)), "ex")
    assert (p.external_id, p.title, p.company) == ("R-42", "Data Engineer", "Example")
    # a text row ("T<byte length>,") may hold new lines and non-ASCII text
    text = "Überblick\n<script type=\"application/ld+json\">" + json.dumps(dict(JOB, title="Daten-Ingenieur")) + "</script>"
    row = f"7:T{len(text.encode()):x},{text}8:[\"$\",\"p\",null,{{}}]\n"
    [p] = extract_nextjs_postings(html(push(row[:40]) + push(row[40:])), "ex")
    assert p.title == "Daten-Ingenieur"


def test_graph_and_several_postings_are_read_and_repeats_dropped() -> None:
    other = dict(JOB, title="ML Engineer", identifier="R-43")
    data = {"props": {"pageProps": {"ld": {"@graph": [JOB, other]}, "again": json.dumps(JOB)}}}
    body = f'<script id="__NEXT_DATA__" type="application/json">{json.dumps(data)}</script>'
    postings = extract_nextjs_postings(html(body), "ex")
    assert [(p.external_id, p.title) for p in postings] == [("R-42", "Data Engineer"), ("R-43", "ML Engineer")]


@pytest.mark.parametrize("body", [
    "",
    "<script>self.__next_f.push([1,\"0:[\\\"$\\\",\\\"div\\\",null,{}]\\n\"])</script>",
    "<script>self.__next_f.push([1,\"broken</script>",
    '<script id="__NEXT_DATA__" type="application/json">{not json</script>',
    '<script id="__NEXT_DATA__" type="application/json">{"props": {"pageProps": {"t": "JobPosting"}}}</script>',
    "<script>self.__next_f.push([1,\"3:{\\\"@type\\\":\\\"JobPosting\\\",\"])</script>",
])
def test_pages_without_a_readable_posting_give_nothing(body: str) -> None:
    assert extract_nextjs_postings(html(body), "ex") == []


def test_a_description_holding_a_closing_script_tag_survives() -> None:
    job = dict(JOB, description="<p>Use <code>&lt;/script&gt;</code> and </script> safely</p>")
    [p] = extract_nextjs_postings(html(push("3:" + json.dumps({"ld": job}) + "\n")), "ex")
    assert "</script> safely" in p.description_html
