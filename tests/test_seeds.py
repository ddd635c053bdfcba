"""The five real seed postings (tests/data/seeds/, page text of five
Microsoft roles from five boards) read through the extract path, every
canonical field checked, the ones that must stay null included; and real
descriptions from the saved board responses giving the pay and deadline
their text states.

The values were decided by reading each page by hand:

- 000 shows no title, company, place, pay, date or deadline: they stay
  null (the title appears only inside a sentence, "As a Principal
  Architect in ...", which is not a title field). Its first line is the
  board's note about its country filter, not the posting.
- 001 (Dice) shows no title or place either; its header gives On Site,
  Full Time and the pay line; the employer is named by its
  equal-opportunity sentence; "will accept applications for the role until
  November 14th, 2025" is the deadline. Dice's AI disclaimer is not the
  posting's text.
- 002 has its title glued to the breadcrumb ("JobsSenior AI Hardware
  Architect"); "competitive pay" states no amount; no deadline.
- 003 has two pay ranges, the second for the San Francisco Bay area and New
  York City (its ``scope``); the first is for "across the U.S."; it takes
  applications "on an ongoing basis": no deadline, the sentence kept raw.
- 004 is an English posting in a Korean page: the language is English,
  the Korean menus are not the posting. Two places in one line; "4w ago"
  is four weeks before the fetch; "Starting January 26, 2026" is a
  return-to-office date and "open for a minimum of 5 days ... until the
  position is filled" no closing date; "$163,358 total / year" and the
  "$3000B" valuation are the site's company statistics, not this pay.
"""

from __future__ import annotations

import copy
import html
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, TextResponse

from crawler.app.extract import extract
from crawler.items import PUBLIC_FIELDS
from crawler.normalize import normalize_posting
from spiders.parsers import greenhouse, jsonld

DATA = Path(__file__).resolve().parent / "data"
SEEDS = DATA / "seeds"
FETCHED_AT = datetime(2025, 11, 10, 9, 0, tzinfo=UTC)

NOTHING = {
    "source": "", "external_id": "", "url": None, "apply_url": None, "title": None,
    "company": None, "department": None, "requisition_id": None, "locations": [],
    "workplace_type": None, "employment_type": None, "salary": [], "posted_at": None,
    "deadline": None, "skills": [], "language": "en", "locations_raw": [],
    "workplace_type_raw": None, "employment_type_raw": None, "salary_raw": [],
    "posted_at_raw": None, "deadline_raw": None, "posted_at_relative": False,
    "fetched_at": "2025-11-10T09:00:00+00:00",
}  # fmt: skip

DICE_SKILLS = [
    "Accountability", "IaaS", "Microsoft Office", "Skype", "Scheduling", "Fusion",
    "Workload Analysis", "Microsoft Azure", "Leadership", "Mentorship", "Electrical Engineering",
    "Computer Engineering", "Mechanical Engineering", "Performance Engineering", "GPU", "PyTorch",
    "CUDA", "Performance Tuning", "Collaboration", "Machine Learning (ML)", "Screening", "PASS",
    "Cloud Computing", "Log Management", "Training", "Transformer", "Artificial Intelligence",
    "Modeling", "Benchmarking", "IT Management", "Communication", "Computer Hardware", "IC",
    "Integrated Circuit", "Internal Communications", "Legal", "Recruiting", "Microsoft", "SPARC",
]  # fmt: skip

# (seed, every field but the description, description: first words, last
# words, text that must not be in it)
CASES = [
    ("000_e75e2fd055abcfd8.txt", {}, (
        "In the era of artificial intelligence (AI), efficiency across every layer",
        "Exposure or familiarity with datacenter infrastructure or server hardware",
        ["This list contains only the countries"],
    )),
    ("001_0356e76024dc94b0.txt", {
        "company": "Microsoft",
        "workplace_type": "onsite", "workplace_type_raw": "On Site",
        "employment_type": "full_time", "employment_type_raw": "Full Time",
        "salary": [{"min": 163000, "max": 296400, "currency": "USD", "period": "year",
                    "raw": "USD 163,000.00 - 296,400.00 per year"}],
        "salary_raw": ["USD 163,000.00 - 296,400.00 per year"],
        "deadline": "2025-11-14",
        "deadline_raw": "accept applications for the role until November 14th, 2025",
        "skills": DICE_SKILLS,
    }, (
        "Do you want to be at the forefront of innovating the latest hardware designs",
        "country where you work.\n#AHSI #SPARC",
        ["Dice believes", "Job Details", "Skills\n", "On Site", "Accountability\nIaaS"],
    )),
    ("002_0eba972f1f4e242a.txt", {
        "title": "Senior AI Hardware Architect", "company": "Microsoft",
    }, (
        "The Senior AI Hardware Architect role at Microsoft focuses on optimizing",
        "Specific benefits can vary by region.",
        ["Is this posting expired or inaccurate", "JobsSenior", "Job description"],
    )),
    ("003_5c3d8204a225cd0b.txt", {
        "title": "Principal Engineer Manager", "company": "Microsoft",
        "locations": [{"raw": "Multiple Locations, United States", "city": None, "region": None,
                       "country": "US"}],
        "locations_raw": ["Multiple Locations, United States"],
        "salary": [
            {"min": 139900, "max": 274800, "currency": "USD", "period": "year", "scope": "U.S.",
             "raw": "USD $139,900 - $274,800 per year"},
            {"min": 188000, "max": 304200, "currency": "USD", "period": "year",
             "scope": "San Francisco Bay area and New York City metropolitan area",
             "raw": "USD $188,000 - $304,200 per year"},
        ],
        "salary_raw": ["USD $139,900 - $274,800 per year", "USD $188,000 - $304,200 per year"],
        "deadline_raw": "accept applications and processes offers for these roles on an ongoing basis",
    }, (
        "Overview\nThe HPC/AI (High-Performance Computing and Artificial Intelligence) organization",
        "- Apply data-driven insights to optimize performance, scalability, and customer satisfaction.",
        ["\nSave\n", "Multiple Locations, United States"],
    )),
    ("004_7091c9251e9d39dd.txt", {
        "title": "Principal Hardware-Software Co-Design Engineer, AI HPC Systems - MAI "
                 "Superintelligence Team",
        "company": "Microsoft",
        "locations": [
            {"raw": "United Kingdom, London, London", "city": "London", "region": "London",
             "country": "GB"},
            {"raw": "Switzerland, Zürich, Zürich", "city": "Zürich", "region": "Zürich",
             "country": "CH"},
        ],
        "locations_raw": ["United Kingdom, London, London; Switzerland, Zürich, Zürich"],
        "workplace_type": "onsite", "workplace_type_raw": "On-site",
        "employment_type": "full_time", "employment_type_raw": "Full-time",
        "posted_at": "2025-10-13", "posted_at_raw": "4w ago", "posted_at_relative": True,
        "deadline_raw": "position will be open for a minimum of 5 days, with applications "
                        "accepted on an ongoing basis until the position is filled",
        "skills": ["Hardware-software co-design", "Systems programming", "C/C++", "CUDA", "Python",
                   "Performance modeling", "Distributed systems", "AI infrastructure"],
    }, (
        "Overview:\n\nOur team’s mission is to architect, co-design, and productionize",
        "read more about requesting accommodations.",
        ["트렌딩", "채용", "Total Views", "$163,358", "$3000B", "Required Skills", "4w ago",
         "Interview Experience"],
    )),
]  # fmt: skip


def _extract(name: str) -> dict:
    [posting] = extract((SEEDS / name).read_bytes(), fetched_at=FETCHED_AT)
    return posting.to_dict()


def test_every_canonical_field_is_checked() -> None:
    assert set(NOTHING) | {"description"} == set(PUBLIC_FIELDS)
    assert sorted(name for name, *_ in CASES) == sorted(p.name for p in SEEDS.glob("*.txt"))


@pytest.mark.parametrize(("name", "fields", "text"), CASES, ids=[c[0][:3] for c in CASES])
def test_seed_fields(name: str, fields: dict, text: tuple) -> None:
    got = _extract(name)
    description = got.pop("description")
    assert got == {**NOTHING, **fields}
    first, last, absent = text
    assert description.startswith(first)
    assert description.endswith(last)
    for chrome in absent:
        assert chrome not in description, f"{chrome!r} is page chrome, not the posting"


@pytest.mark.parametrize("name", [c[0] for c in CASES], ids=[c[0][:3] for c in CASES])
def test_seed_extraction_is_stable(name: str) -> None:
    # bytes and text read the same, and normalizing the result again changes nothing
    once = extract((SEEDS / name).read_text(encoding="utf-8"), fetched_at=FETCHED_AT)[0]
    assert once.to_dict() == _extract(name)
    again = copy.deepcopy(once)
    assert normalize_posting(again, fetched_at=FETCHED_AT).to_dict() == once.to_dict()


def test_relative_date_follows_the_fetch_time() -> None:
    later = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)
    [posting] = extract((SEEDS / "004_7091c9251e9d39dd.txt").read_bytes(), fetched_at=later)
    assert (posting.posted_at, posting.posted_at_raw) == ("2025-11-03", "4w ago")


# --------------------------------------------------------------------------- saved board responses

VERCEL = DATA / "fixtures" / "greenhouse" / "hunt_vercel_jobs_content_true.json"
GREENHOUSE_URL = "https://boards-api.greenhouse.io/v1/boards/vercel/jobs?content=true"


def _seed_paragraphs(name: str, *starts: str) -> list[str]:
    lines = (SEEDS / name).read_text(encoding="utf-8").splitlines()
    return [next(line for line in lines if line.startswith(start)) for start in starts]


def _greenhouse_with_content(paragraphs: list[str]) -> list:
    """The saved Vercel board response with its first job's content replaced
    by real posting paragraphs, HTML-escaped twice as Greenhouse sends it."""
    data = json.loads(VERCEL.read_text(encoding="utf-8"))
    job = data["jobs"][0]
    job["content"] = html.escape("".join(f"<p>{html.escape(p)}</p>" for p in paragraphs))
    response = TextResponse(url=GREENHOUSE_URL, body=json.dumps(data).encode(), encoding="utf-8")
    postings, _total = greenhouse.parse_jobs(response, "vercel")
    return [normalize_posting(p, fetched_at=FETCHED_AT) for p in postings]


def test_saved_greenhouse_content_states_no_pay_and_no_deadline() -> None:
    # The saved Vercel content was cut short by its saver: it states neither.
    response = TextResponse(url=GREENHOUSE_URL, body=VERCEL.read_bytes(), encoding="utf-8")
    postings, _total = greenhouse.parse_jobs(response, "vercel")
    for posting in postings:
        normalize_posting(posting, fetched_at=FETCHED_AT)
        assert (posting.salary, posting.deadline, posting.deadline_raw) == ([], None, None)
        assert posting.language == "en" and posting.requisition_id in ("1311", "1240")


def test_greenhouse_content_with_two_pay_ranges_and_an_ongoing_window() -> None:
    paragraphs = _seed_paragraphs("003_5c3d8204a225cd0b.txt", "Software Engineering M5",
                                  "Microsoft will accept applications")
    posting = _greenhouse_with_content(paragraphs)[0]
    assert [(s["min"], s["max"], s["currency"], s["period"], s.get("scope"))
            for s in posting.salary] == [
        (139900, 274800, "USD", "year", "U.S."),
        (188000, 304200, "USD", "year",
         "San Francisco Bay area and New York City metropolitan area"),
    ]  # fmt: skip
    assert posting.deadline is None
    assert posting.deadline_raw.endswith("on an ongoing basis")


def test_greenhouse_content_with_pay_and_a_closing_date() -> None:
    paragraphs = _seed_paragraphs("001_0356e76024dc94b0.txt", "USD 163,000.00",
                                  "Microsoft will accept applications")
    posting = _greenhouse_with_content(paragraphs)[0]
    assert posting.salary == [{"min": 163000, "max": 296400, "currency": "USD", "period": "year",
                               "raw": "USD 163,000.00 - 296,400.00 per year"}]
    assert posting.deadline == "2025-11-14"


@pytest.mark.parametrize(
    ("fixture", "url", "deadline", "language"),
    [
        ("jobseek_meta_software_engineer.html",
         "https://www.metacareers.com/profile/job_details/software-engineer-infrastructure",
         "2026-06-08T12:50:57-07:00", "en"),
        # a far-future placeholder, but it is what the structured data states
        ("jobseek_neura_robotics_manager.html",
         "https://jobs.neura-robotics.com/offer/manager-ecosystem-integration-certi/"
         "00df0928-b013-448c-b3dd-6c6fb80eadc2", "2035-11-06T00:00:00+01:00", "en"),
    ],
)  # fmt: skip
def test_jsonld_pages_give_their_deadline_and_no_invented_pay(fixture, url, deadline, language):
    body = (DATA / "fixtures" / "jsonld" / fixture).read_bytes()
    [spider] = jsonld.extract_postings(HtmlResponse(url=url, body=body, encoding="utf-8"), "s")
    normalize_posting(spider, fetched_at=FETCHED_AT)
    # "competitive salary package" (Neura) states no amount: no salary
    assert (spider.deadline, spider.salary, spider.language) == (deadline, [], language)
    # the extract command reads the page the same way the jsonld spider does
    [page] = extract(body, fetched_at=FETCHED_AT, url=url, source="s")
    assert page.to_dict() == spider.to_dict()


def test_page_without_structured_data_is_read_from_its_text() -> None:
    # Decathlon's ld+json tag is empty: the posting comes from the page itself.
    body = (DATA / "fixtures" / "html_pages" / "jobseek_decathlon_talentclue_jobpage_es.html")
    [posting] = extract(body.read_bytes(), fetched_at=FETCHED_AT)
    assert posting.title == "VENDEDOR/A DEPORTES DE AGUA Decathlon Albacete"
    assert posting.locations == [{"raw": "Albacete (España)", "city": "Albacete", "region": None,
                                  "country": "ES"}]
    assert (posting.workplace_type, posting.workplace_type_raw) == ("onsite", "Presencial")
    assert (posting.department, posting.language) == ("Ventas al detalle", "es")
    assert (posting.company, posting.salary, posting.deadline) == (None, [], None)
    assert posting.description.startswith("DECATHLON\n\nSomos una marca multiespecialista")
    assert "Autocompletar con b4work" not in posting.description
