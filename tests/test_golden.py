"""Golden files: each saved board response next to the canonical postings
its parser and the normalizer must produce.

A board layout change is fixed by updating the parser until its golden file
passes again. To rewrite the golden files after a deliberate change, run
``JOBDELTA_UPDATE_GOLDEN=1 pytest tests/test_golden.py`` and review every
changed value by eye against DESIGN.md before committing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, TextResponse

from crawler.normalize import normalize_posting
from spiders.parsers import greenhouse, jsonld

DATA = Path(__file__).resolve().parent / "data"
FETCHED_AT = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
UPDATE = os.environ.get("JOBDELTA_UPDATE_GOLDEN") == "1"


def _greenhouse(path: Path, url: str) -> list:
    response = TextResponse(url=url, body=path.read_bytes(), encoding="utf-8")
    postings, _total = greenhouse.parse_jobs(response, "vercel")
    return postings


def _jsonld(source: str) -> Callable[[Path, str], list]:
    def parse(path: Path, url: str) -> list:
        response = HtmlResponse(url=url, body=path.read_bytes(), encoding="utf-8")
        return jsonld.extract_postings(response, source)

    return parse


# (board, fixture, the URL it was fetched from, parser). The saved JSON-LD
# pages do not record their address: the Meta URL is a stand-in of the real
# shape (metacareers.com/profile/job_details/<id>), the Neura one is the
# posting's own `url` property, the Decathlon one is named in its source file.
CASES = [
    (
        "greenhouse",
        "hunt_vercel_jobs_content_true.json",
        "https://boards-api.greenhouse.io/v1/boards/vercel/jobs?content=true",
        _greenhouse,
    ),
    (
        "jsonld",
        "jobseek_meta_software_engineer.html",
        "https://www.metacareers.com/profile/job_details/software-engineer-infrastructure",
        _jsonld("meta"),
    ),
    (
        "jsonld",
        "jobseek_neura_robotics_manager.html",
        "https://jobs.neura-robotics.com/offer/manager-ecosystem-integration-certi/"
        "00df0928-b013-448c-b3dd-6c6fb80eadc2",
        _jsonld("neura-robotics"),
    ),
    (
        "html_pages",
        "jobseek_decathlon_talentclue_jobpage_es.html",
        "https://decathlon.talentclue.com/es/node/124223851/4590",
        _jsonld("decathlon"),
    ),
]


def canonical_output(board: str, fixture: str, url: str, parse: Callable) -> list[dict]:
    postings = parse(DATA / "fixtures" / board / fixture, url)
    return [normalize_posting(p, fetched_at=FETCHED_AT).to_dict() for p in postings]


@pytest.mark.parametrize(("board", "fixture", "url", "parse"), CASES, ids=[c[1] for c in CASES])
def test_golden(board: str, fixture: str, url: str, parse: Callable) -> None:
    output = canonical_output(board, fixture, url, parse)
    golden = DATA / "golden" / board / (Path(fixture).stem + ".json")
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(json.dumps(output, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert golden.exists(), f"no golden file {golden}: run with JOBDELTA_UPDATE_GOLDEN=1"
    assert output == json.loads(golden.read_text(encoding="utf-8"))


@pytest.mark.parametrize(("board", "fixture", "url", "parse"), CASES, ids=[c[1] for c in CASES])
def test_normalizing_twice_changes_nothing(board: str, fixture: str, url: str, parse) -> None:
    postings = parse(DATA / "fixtures" / board / fixture, url)
    once = [normalize_posting(p, fetched_at=FETCHED_AT).to_dict() for p in postings]
    twice = [normalize_posting(p, fetched_at=FETCHED_AT).to_dict() for p in postings]
    assert once == twice


def _golden(board: str, fixture: str) -> list[dict]:
    path = DATA / "golden" / board / (Path(fixture).stem + ".json")
    return json.loads(path.read_text(encoding="utf-8"))


# The values below were checked by hand against the saved responses; they
# guard the golden files against being regenerated with a wrong value.


def test_vercel_values() -> None:
    jobs = _golden("greenhouse", "hunt_vercel_jobs_content_true.json")
    assert [job["requisition_id"] for job in jobs] == ["1311", "1240"]
    for job in jobs:
        assert job["locations"] == [
            {"raw": "Hybrid - London", "city": "London", "region": "England", "country": "GB"}
        ]
        assert job["workplace_type"] == "hybrid"
        assert job["company"] == "Vercel"
        assert job["apply_url"] == job["url"]
        assert job["description"].startswith("About Vercel:\n\nVercel is the agentic")
        assert "&lt;" not in job["description"] and "<p>" not in job["description"]


def test_meta_values() -> None:
    [job] = _golden("jsonld", "jobseek_meta_software_engineer.html")
    assert [loc["city"] for loc in job["locations"]] == [
        "Sunnyvale", "Bellevue", "Redmond", "Austin", "Menlo Park", "Seattle", "Burlingame",
        None, "New York",
    ]  # fmt: skip
    assert {loc["country"] for loc in job["locations"]} == {"US"}
    assert job["employment_type"] == "full_time"
    assert job["deadline"] == "2026-06-08T12:50:57-07:00"
    assert "&nbsp;" not in job["description"]


def test_neura_values() -> None:
    [job] = _golden("jsonld", "jobseek_neura_robotics_manager.html")
    assert job["locations"] == [
        {"raw": "Metzingen, DE", "city": "Metzingen", "region": None, "country": "DE"}
    ]
    # A far-future placeholder, but it is what the structured data states.
    assert job["deadline"] == "2035-11-06T00:00:00+01:00"
    assert job["external_id"] == "00df0928-b013-448c-b3dd-6c6fb80eadc2"
    assert "\\n" not in job["description"]
