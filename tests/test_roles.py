"""The same role on several boards, on SQLite and PostgreSQL: postings are
stored by real runs of the recorder, which links them to roles when each
run finishes. The five seeds are five roles; the same job served by two
boards is one role; a repost joins the role of the posting it replaces; no
posting is merged or dropped."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, TextResponse
from sqlalchemy import event, func, select

from crawler.app.extract import extract
from crawler.expiry import Policy
from crawler.leases import ensure_source, start_run
from crawler.normalize import normalize_posting
from crawler.recorder import Outcome, RunRecorder
from crawler.roles import (
    company_key,
    description_sketch,
    features_of,
    link_postings,
    match,
    places_compatible,
    sketch_similarity,
    title_tokens,
)
from db import queries
from db.engine import get_engine
from db.models import Posting, Role, Version
from spiders.parsers import greenhouse, jsonld
from spiders.parsers import microsoft as ms

DATA = Path(__file__).resolve().parent / "data"
SEEDS = sorted((DATA / "seeds").glob("0*.txt"))
FETCHED_AT = datetime(2025, 11, 10, 9, 0, tzinfo=UTC)
VERCEL_URL = "https://boards-api.greenhouse.io/v1/boards/vercel/jobs?content=true"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def tick(self, **kw) -> None:
        self.now += timedelta(**kw)


def crawl(sessions, source: str, board: str, items: list[dict], clock: Clock | None = None) -> None:
    """One complete run of ``source`` over ``items`` (posting dicts). The
    boards here hold one or two postings: a drop from two to one is not a
    collapse these tests are about, so only a drop of 90% counts as one."""
    policy = Policy(suspicious_drop=0.9)
    with sessions.begin() as s:
        src = ensure_source(s, source, board, {})
        run = start_run(s, src, policy.lease_seconds)
        sid, rid = src.id, run.id
    rec = RunRecorder(sessions, sid, rid, policy, batch_size=2, **({"clock": clock} if clock else {}))
    for data in items:
        rec.add(data)
    rec.finish(Outcome(complete=True))


def roles_by_posting(sessions) -> dict[str, tuple[int, float, str]]:
    """``{"source:external_id": (role_id, confidence, reason)}`` for every posting."""
    with sessions() as s:
        rows = queries.roles(s, status="all")
    return {f"{p['source']}:{p['external_id']}": (row["role_id"], p["confidence"], p["reason"])
            for row in rows for p in row["postings"]}


def seed_posting(path: Path, source: str) -> dict:
    [posting] = extract(path.read_bytes(), fetched_at=FETCHED_AT, source=source)
    posting.external_id = path.stem
    return posting.to_dict()


def vercel_postings() -> list[dict]:
    response = TextResponse(url=VERCEL_URL, body=(DATA / "fixtures" / "greenhouse" /
                            "hunt_vercel_jobs_content_true.json").read_bytes(), encoding="utf-8")
    postings, _total = greenhouse.parse_jobs(response, "vercel")
    return [normalize_posting(p, fetched_at=FETCHED_AT).to_dict() for p in postings]


def vercel_careers_page(job: dict, title: str | None = None) -> dict:
    """The employer's own careers page for a Greenhouse job: a schema.org
    JobPosting carrying the same text (as employers embed their Greenhouse
    jobs), under the careers site's own id and address."""
    data = json.loads((DATA / "fixtures" / "greenhouse" /
                       "hunt_vercel_jobs_content_true.json").read_text(encoding="utf-8"))
    [raw] = [j for j in data["jobs"] if str(j["id"]) == job["external_id"]]
    ld = {"@context": "https://schema.org", "@type": "JobPosting",
          "title": title or raw["title"], "identifier": "careers-" + job["requisition_id"] + "-x",
          "hiringOrganization": {"@type": "Organization", "name": "Vercel Inc."},
          "jobLocation": {"@type": "Place", "address": {"@type": "PostalAddress",
                                                        "addressLocality": "London",
                                                        "addressCountry": "GB"}},
          "datePosted": "2026-08-07", "description": job["description"]}
    page = (f'<html><head><script type="application/ld+json">{json.dumps(ld)}</script></head>'
            f"<body><h1>{ld['title']}</h1></body></html>")
    url = f"https://vercel.com/careers/{job['requisition_id']}"
    [posting] = jsonld.extract_postings(HtmlResponse(url=url, body=page.encode(), encoding="utf-8"),
                                        "vercel-careers")
    return normalize_posting(posting, fetched_at=FETCHED_AT).to_dict()


# --------------------------------------------------------------------------- fingerprints


@pytest.mark.parametrize(
    ("title", "tokens"),
    [
        (None, []),
        ("", []),
        ("Sr. Software Engineer (m/w/d)", ["engineer", "senior", "software"]),
        ("Senior Software Engineer", ["engineer", "senior", "software"]),
        ("Software Engineer II", ["engineer", "ii", "software"]),
        ("Software Engineer 2", ["engineer", "ii", "software"]),
        ("Ingénieur logiciel (H/F)", ["ingénieur", "logiciel"]),
    ],
)
def test_title_tokens(title, tokens) -> None:
    assert title_tokens(title) == tokens


def test_company_key_ignores_case_punctuation_and_legal_form() -> None:
    assert company_key("Vercel Inc.", "a") == company_key("vercel", "b") == "c:vercel"
    assert company_key("Neura Robotics GmbH", "a") == "c:neura robotics"
    # no company: only postings of the same source share it
    assert company_key(None, "acme") == "s:acme" != company_key(None, "acme-careers")


def test_sketch_similarity() -> None:
    text = " ".join(f"word{i}" for i in range(400))
    assert sketch_similarity(description_sketch(text), description_sketch(text)) == 1.0
    edited = text.replace("word200", "changed")  # one word: five shingles of 396
    assert 0.9 < sketch_similarity(description_sketch(text), description_sketch(edited)) < 1.0
    other = " ".join(f"other{i}" for i in range(400))
    assert sketch_similarity(description_sketch(text), description_sketch(other)) == 0.0
    assert description_sketch("too short") is None
    assert sketch_similarity(None, description_sketch(text)) == 0.0


@pytest.mark.parametrize(
    ("a", "b", "compatible"),
    [
        ([], [["GB", "london"]], True),  # one states no place
        ([["GB", "london"]], [["GB", "london"], ["CH", "zürich"]], True),
        ([["US", None]], [["US", "redmond"]], True),  # "Multiple Locations, United States"
        ([["GB", "london"]], [["CH", "zürich"]], False),
        ([["US", "austin"]], [["US", "seattle"]], False),
    ],
)
def test_places_compatible(a, b, compatible) -> None:
    assert places_compatible(a, b) is compatible


def test_requisition_id_links_even_when_the_text_differs() -> None:
    a = features_of(1, "microsoft", "open", None, {"external_id": "1", "company": "Microsoft",
                                                    "title": "Principal Engineer Manager",
                                                    "requisition_id": "200018352"})
    b = features_of(2, "dice", "open", None, {"external_id": "d", "company": "Microsoft Corporation",
                                              "title": "Principal Engineering Manager",
                                              "requisition_id": "200018352"})
    assert match(b, a) == (0.9, "same role as microsoft:1: same requisition id 200018352")
    b_other_company = features_of(3, "dice", "open", None, {"company": "Contoso",
                                                            "requisition_id": "200018352"})
    assert match(b_other_company, a) is None


# --------------------------------------------------------------------------- in the database


def test_five_seeds_are_five_roles(sessions) -> None:
    # Five Microsoft roles from five boards. 000 names no employer on its
    # page; a source watching Microsoft would, so every seed is at the same
    # company here and the titles and descriptions alone must keep them apart.
    for path in SEEDS:
        source = "board-" + path.name[:3]
        data = seed_posting(path, source)
        data["company"] = data["company"] or "Microsoft"
        crawl(sessions, source, "browser", [data])
    links = roles_by_posting(sessions)
    assert len(links) == 5 and len({role for role, _c, _r in links.values()}) == 5
    assert {(c, r) for _role, c, r in links.values()} == {(1.0, "first posting of the role")}
    with sessions() as s:
        rows = queries.roles(s, status="all")
        assert [(r["company"], len(r["postings"])) for r in rows] == [("Microsoft", 1)] * 5
        # 001's deadline (November 14th, 2025) has passed: its role is no longer open
        assert [r["postings"][0]["external_id"] for r in rows if r["status"] == "expired"] == [
            "001_0356e76024dc94b0"]


def test_same_role_on_the_employer_board_and_an_aggregator(sessions) -> None:
    # Microsoft's own board and the Korean aggregator's page (seed 004) of the same job.
    body = (DATA / "fixtures" / "microsoft" / "constructed_details_1970393556642101.json").read_bytes()
    own = ms.parse_position_details(TextResponse(url="https://apply.careers.microsoft.com/api",
                                                 body=body, encoding="utf-8"), "microsoft")
    crawl(sessions, "microsoft", "microsoft", [normalize_posting(own, FETCHED_AT).to_dict()])
    crawl(sessions, "aggregator", "browser",
          [seed_posting(DATA / "seeds" / "004_7091c9251e9d39dd.txt", "aggregator")])
    links = roles_by_posting(sessions)
    own_role, _c, _r = links["microsoft:1970393556642101"]
    role, confidence, reason = links["aggregator:004_7091c9251e9d39dd"]
    assert role == own_role and confidence >= 0.9
    assert reason.startswith("same role as microsoft:1970393556642101: same company, title 100%")


def test_greenhouse_posting_and_the_employers_own_page_are_one_role(sessions) -> None:
    commercial, majors = vercel_postings()
    crawl(sessions, "vercel", "greenhouse", [commercial, majors])
    careers = vercel_careers_page(commercial)
    crawl(sessions, "vercel-careers", "jsonld", [careers])
    links = roles_by_posting(sessions)
    role, confidence, reason = links[f"vercel-careers:{careers['external_id']}"]
    assert role == links["vercel:6136160004"][0]
    assert (confidence, reason) == (1.0, "same role as vercel:6136160004: same company, title 100% "
                                         "and description 100% alike, places compatible")
    # "Majors" has the same (cut short) description and place: another title, another role
    assert links["vercel:5999792004"][0] != role
    with sessions() as s:
        [row] = [r for r in queries.roles(s) if r["role_id"] == role]
        assert (row["sources"], row["boards"]) == (["vercel", "vercel-careers"], ["greenhouse", "jsonld"])
        # linked, not merged: each posting keeps its own row and version
        assert s.scalar(select(func.count()).select_from(Posting)) == 3
        assert s.scalar(select(func.count()).select_from(Version)) == 3


def test_a_repost_is_linked_to_its_predecessor(sessions) -> None:
    clock = Clock()
    commercial, majors = vercel_postings()
    crawl(sessions, "vercel", "greenhouse", [commercial, majors], clock)
    for _ in range(2):  # missing from two complete runs: expired
        clock.tick(days=1)
        crawl(sessions, "vercel", "greenhouse", [majors], clock)
    clock.tick(days=5)
    repost = dict(commercial, external_id="7000000001",
                  url="https://job-boards.greenhouse.io/vercel/jobs/7000000001")
    crawl(sessions, "vercel", "greenhouse", [majors, repost], clock)
    links = roles_by_posting(sessions)
    role, confidence, reason = links["vercel:7000000001"]
    assert role == links["vercel:6136160004"][0] != links["vercel:5999792004"][0]
    assert confidence == 1.0
    assert reason.startswith("repost of (expired 2026-11-03) vercel:6136160004:")
    with sessions() as s:
        [row] = [r for r in queries.roles(s, status="all") if r["role_id"] == role]
        assert [(p["external_id"], p["status"]) for p in row["postings"]] == [
            ("6136160004", "expired"), ("7000000001", "open")]


def test_a_posting_that_changes_into_another_job_leaves_its_role(sessions) -> None:
    clock = Clock()
    commercial, _majors = vercel_postings()
    crawl(sessions, "vercel", "greenhouse", [commercial], clock)
    careers = vercel_careers_page(commercial)
    crawl(sessions, "vercel-careers", "jsonld", [careers], clock)
    assert len({role for role, *_ in roles_by_posting(sessions).values()}) == 1
    clock.tick(days=1)
    crawl(sessions, "vercel-careers", "jsonld",
          [vercel_careers_page(commercial, title="Solutions Engineer, Enterprise")], clock)
    links = roles_by_posting(sessions)
    assert links[f"vercel-careers:{careers['external_id']}"][0] != links["vercel:6136160004"][0]
    assert links[f"vercel-careers:{careers['external_id']}"][1:] == (1.0, "first posting of the role")
    with sessions() as s:  # no role is left without postings
        assert s.scalar(select(func.count()).select_from(Role)) == 2


def test_linking_is_batched(sessions, db_url) -> None:
    """The statements linking issues do not grow with the number of
    postings: no query per posting, and candidates come through the keys'
    index, not a scan."""
    commercial, _majors = vercel_postings()
    clock = Clock()

    def count_statements(n: int, kind: str) -> int:
        # the same n jobs on an ATS and on the careers site: each careers
        # posting has a candidate to be compared with
        for source in (f"{kind}-ats", f"{kind}-careers"):
            crawl(sessions, source, "greenhouse", [
                dict(commercial, external_id=f"{source}-{i}", title=f"{kind} role {i}",
                     requisition_id=None) for i in range(n)], clock)
        with sessions() as s:
            ids = list(s.scalars(select(Posting.id)
                                 .where(Posting.external_id.like(f"{kind}-careers-%"))))
        statements = []
        engine = get_engine(db_url)
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            with sessions.begin() as s:
                assigned = link_postings(s, ids, clock())
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        links = roles_by_posting(sessions)
        assert len(assigned) == n and all(
            links[f"{kind}-careers:{kind}-careers-{i}"][0] == links[f"{kind}-ats:{kind}-ats-{i}"][0]
            for i in range(n))
        return len(statements)

    assert count_statements(5, "small") == count_statements(60, "large")
