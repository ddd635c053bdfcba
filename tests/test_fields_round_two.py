"""Fields still dropped or misread (issue 10, part 1), each checked on real
saved responses and on tables:

- Greenhouse custom fields (``metadata``): pay as min/max pairs and text,
  the employment type by the meaning of the field's name, the workplace and
  a deadline; ``pay_input_ranges`` and the pay block Greenhouse renders into
  ``content``; a currency from the field, else from the one country when it
  has one currency, else none.
- Workday deadlines (``endDate`` / ``jobPostingEndDateAsText``) and
  ``remoteType`` on details and list entries.
- Placeholder places ("UNAVAILABLE", "N/A", "TBD", "-") and "Remote" as a
  city.
- The employment type a title states of the job, when nothing structured
  says it, in crawls and in ``jobdelta extract`` alike.

The real responses and the two constructed ones are described in the
``.source.txt`` beside each file under tests/data/fixtures/{greenhouse,workday}/.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from scrapy.http import TextResponse

from crawler.app.cli import main
from crawler.errors import BoardError
from crawler.items import Posting
from crawler.normalize import (
    country_currency,
    employment_in_title,
    employment_type,
    is_placeholder,
    normalize_locations,
    normalize_posting,
    parse_location,
    stated_employment_type,
    workplace_in_places,
)
from spiders.parsers import greenhouse as gh
from spiders.parsers import workday as wd

from .boards.replay_helpers import check_golden

DATA = Path(__file__).resolve().parent / "data"
FETCHED_AT = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
GH_API = "https://boards-api.greenhouse.io/v1/boards"


def _fixture(board: str, name: str) -> Path:
    return DATA / "fixtures" / board / name


def _response(url: str, body: bytes | str) -> TextResponse:
    data = body.encode("utf-8") if isinstance(body, str) else body
    return TextResponse(url=url, body=data, encoding="utf-8",
                        headers={"Content-Type": "application/json"})


def _normalized(posting: Posting, fetched_at: datetime = FETCHED_AT) -> dict[str, Any]:
    return normalize_posting(posting, fetched_at=fetched_at).to_dict()


# -- golden files (real responses, and the two constructed ones)


def _gh_board(token: str) -> Callable[[Path], list[Posting]]:
    def parse(path: Path) -> list[Posting]:
        postings, _total = gh.parse_jobs(_response(f"{GH_API}/{token}/jobs?content=true",
                                                   path.read_bytes()), token)
        return postings
    return parse


def _gh_job(token: str, job_id: str, query: str = "") -> Callable[[Path], list[Posting]]:
    def parse(path: Path) -> list[Posting]:
        return [gh.parse_job(_response(f"{GH_API}/{token}/jobs/{job_id}{query}", path.read_bytes()),
                             token)]
    return parse


def _wd_detail(site: str) -> Callable[[Path], list[Posting]]:
    def parse(path: Path) -> list[Posting]:
        info = json.loads(path.read_bytes())["jobPostingInfo"]
        tail = info["externalUrl"].split("/job/", 1)[1]
        api = site.replace(".com/", ".com/wday/cxs/x/")
        return [wd.parse_job_detail(_response(f"{api}/job/{tail}", path.read_bytes()), "wd", site)]
    return parse


def _wd_list(site: str) -> Callable[[Path], list[Posting]]:
    def parse(path: Path) -> list[Posting]:
        page = wd.parse_jobs_page(_response(site + "/jobs", path.read_bytes()))
        return [wd.listing_posting(entry, "wd", site) for entry in page.entries]
    return parse


NGC = "https://ngc.wd1.myworkdayjobs.com/Northrop_Grumman_External_Site"
WORKDAY_GOV = "https://workday.wd5.myworkdayjobs.com/Workday"
# The candidatezero Workday files were saved the day after the posting went
# up ("Posted Yesterday", startDate 2026-07-25).
SAVED_WORKDAY_GOV = datetime(2026, 7, 26, 12, 0, tzinfo=UTC)

GOLDEN = [
    ("greenhouse", "candidatezero_gong_jobs_list.json", _gh_board("gongio"), FETCHED_AT),
    ("greenhouse", "candidatezero_gong_job_4679941006.json", _gh_job("gongio", "4679941006"),
     FETCHED_AT),
    ("greenhouse", "constructed_gong_job_4679941006_pay_transparency.json",
     _gh_job("gongio", "4679941006", "?pay_transparency=true"), FETCHED_AT),
    ("greenhouse", "aws_job_streamer_anthropic_jobs.json", _gh_board("anthropic"), FETCHED_AT),
    ("greenhouse", "constructed_custom_fields_jobs.json", _gh_board("example"), FETCHED_AT),
    ("workday", "intern_pipeline_ngc_detail_R10252150.json", _wd_detail(NGC), FETCHED_AT),
    ("workday", "candidatezero_workday_detail_JR-0105486.json", _wd_detail(WORKDAY_GOV),
     SAVED_WORKDAY_GOV),
    ("workday", "candidatezero_workday_jobs_list.json", _wd_list(WORKDAY_GOV), SAVED_WORKDAY_GOV),
]


def _golden_path(board: str, fixture: str) -> Path:
    return DATA / "golden" / board / (Path(fixture).stem + ".json")


@pytest.mark.parametrize(("board", "fixture", "parse", "fetched_at"), GOLDEN,
                         ids=[case[1] for case in GOLDEN])
def test_golden_round_two(board: str, fixture: str, parse: Callable, fetched_at: datetime) -> None:
    check_golden(_golden_path(board, fixture), parse(_fixture(board, fixture)), fetched_at)


@pytest.mark.parametrize(("board", "fixture", "parse", "fetched_at"), GOLDEN,
                         ids=[case[1] for case in GOLDEN])
def test_normalizing_twice_changes_nothing(board: str, fixture: str, parse: Callable,
                                           fetched_at: datetime) -> None:
    once = [_normalized(p, fetched_at) for p in parse(_fixture(board, fixture))]
    twice = [_normalized(p, fetched_at) for p in parse(_fixture(board, fixture))]
    again = [normalize_posting(Posting(**p), fetched_at=fetched_at).to_dict() for p in once]
    assert once == twice == again


def _golden(board: str, fixture: str) -> list[dict[str, Any]]:
    return json.loads(_golden_path(board, fixture).read_text(encoding="utf-8"))


def _by_id(jobs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {job["external_id"]: job for job in jobs}


# The values below were checked by hand against the saved responses; they
# guard the golden files against being regenerated with a wrong value.


def test_gong_time_type_field_is_the_employment_type() -> None:
    jobs = _by_id(_golden("greenhouse", "candidatezero_gong_jobs_list.json"))
    growth = jobs["4678879006"]  # metadata "Time Type": "Full time"
    assert (growth["employment_type"], growth["employment_type_raw"]) == ("full_time", "Full time")
    assert growth["workplace_type"] == "remote"  # location "Remote (US)"
    assert growth["locations"] == [{"raw": "Remote (US)", "city": None, "region": None,
                                    "country": "US"}]
    # Time Type null, and titles that state no type
    assert jobs["4679941006"]["employment_type"] is None
    assert jobs["999000111"]["employment_type"] is None
    # "Austin | Chicago | New York City | Salt Lake City | San Francisco"
    assert [loc["city"] for loc in jobs["4679941006"]["locations"]] == [
        "Austin", "Chicago", "New York City", "Salt Lake City", "San Francisco"]
    assert all(job["salary"] == [] for job in jobs.values())  # saved without content


def test_gong_single_job_pay_from_text_and_from_pay_input_ranges() -> None:
    [text_only] = _golden("greenhouse", "candidatezero_gong_job_4679941006.json")
    assert [(s["min"], s["max"], s["currency"], s["period"]) for s in text_only["salary"]] == [
        (90000, 120000, "USD", "year")]  # "The annual OTE for this position is $90,000 - ..."
    [ranged] = _golden("greenhouse", "constructed_gong_job_4679941006_pay_transparency.json")
    assert ranged["salary"] == [{
        "min": 90000, "max": 120000, "currency": "USD", "period": "year",
        "raw": '{"title": "Annual OTE Range", "min_cents": 9000000, "max_cents": 12000000, '
               '"currency_type": "USD"}'}]
    assert ranged["external_id"] == text_only["external_id"] == "4679941006"


def test_anthropic_location_type_field_and_rendered_pay_block() -> None:
    jobs = _by_id(_golden("greenhouse", "aws_job_streamer_anthropic_jobs.json"))
    assert jobs["5311686008"]["workplace_type"] == "remote"  # "Location Type": "Remote"
    assert jobs["5311686008"]["workplace_type_raw"] == "Remote"
    assert jobs["5215052008"]["workplace_type"] == "onsite"  # "On-Site"
    gtm = jobs["5215052008"]
    assert gtm["salary"] == [{"min": 265000, "max": 365000, "currency": "USD", "period": "year",
                              "raw": "Annual Salary: $265,000 - $365,000 USD"}]
    assert [(loc["city"], loc["region"], loc["country"]) for loc in gtm["locations"]] == [
        ("San Francisco", "CA", "US"), ("New York City", "NY", "US"), ("Seattle", "WA", "US")]
    fellows = jobs["5023394008"]
    assert fellows["employment_type"] is None  # "Anthropic Fellows Program" is no type
    assert {loc["country"] for loc in fellows["locations"]} == {"GB", "CA", "US"}
    assert jobs["5311686008"]["locations"] == [
        {"raw": "Sydney, Australia", "city": "Sydney", "region": "New South Wales", "country": "AU"}]


def test_constructed_custom_fields_values() -> None:
    jobs = _by_id(_golden("greenhouse", "constructed_custom_fields_jobs.json"))
    pay = {job_id: [(s["min"], s["max"], s["currency"], s["period"]) for s in job["salary"]]
           for job_id, job in jobs.items()}
    kinds = {job_id: (job["employment_type"], job["employment_type_raw"])
             for job_id, job in jobs.items()}
    # "Min salary"/"Max salary" in New York: the country's currency, no period stated
    assert pay["7100001"] == [(150000, 185000, "USD", None)]
    assert kinds["7100001"] == ("full_time", "Full-Time: Experienced")
    assert jobs["7100001"]["workplace_type"] == "hybrid"  # "Location Type": "Hybrid"
    # "Salary Range": "$40 - $45 per hour" in Toronto: Canadian dollars
    assert pay["7100002"] == [(40, 45, "CAD", "hour")]
    assert kinds["7100002"] == ("internship", "University - Graduating Intern")  # "Req Type"
    # numbers with a "Salary Frequency": "Monthly" field, in Berlin
    assert pay["7100003"] == [(4500, 5200, "EUR", "month")]
    assert kinds["7100003"] == ("internship", "Summer Internship")  # "Job Type"
    # a job in two countries: no currency is made up
    assert pay["7100004"] == [(90000, 110000, None, None)]
    assert kinds["7100004"] == ("contract", "Contract")  # "Commitment"
    # Panama has two legal tenders; "Job Type": "Engineering" is no type and
    # the title is about a programme, not the job
    assert pay["7100005"] == [(60000, 80000, None, None)]
    assert kinds["7100005"] == (None, None)
    assert jobs["7100005"]["workplace_type"] is None  # "Workplace Type": "Flexible"
    # a currency_range field, a date field as the deadline, the title's type
    assert pay["7100006"] == [(32000, 36000, "GBP", "year")]
    assert kinds["7100006"] == ("internship", "Intern")
    assert jobs["7100006"]["deadline"] == "2026-11-30"


def test_ngc_workday_deadline_from_its_end_date() -> None:
    [job] = _golden("workday", "intern_pipeline_ngc_detail_R10252150.json")
    assert (job["deadline"], job["deadline_raw"]) == ("2026-09-25", "End Date: September 25, 2026")
    assert (job["requisition_id"], job["external_id"]) == ("R10252150", "R10252150")
    assert job["posted_at"] == "2026-09-22"
    assert job["locations"] == [{"raw": "United States-California-San Diego", "city": "San Diego",
                                 "region": "California", "country": "US"}]
    # timeType "Full time" is structured and wins over the title's "Intern"
    assert (job["employment_type"], job["employment_type_raw"]) == ("full_time", "Full time")
    assert job["workplace_type"] is None  # no remoteType on this posting


def test_workday_gov_remote_type_and_no_end_date() -> None:
    [job] = _golden("workday", "candidatezero_workday_detail_JR-0105486.json")
    assert (job["workplace_type"], job["workplace_type_raw"]) == ("onsite", "Onsite")
    assert (job["deadline"], job["deadline_raw"]) == (None, None)  # no endDate: no deadline
    assert job["locations"] == [{"raw": "USA.VA.Reston", "city": "Reston", "region": "VA",
                                 "country": "US"}]
    assert [(s["min"], s["max"], s["currency"]) for s in job["salary"]] == [
        (151500, 227300, "USD"), (137100, 243600, "USD")]
    assert job["company"] == "Workday Government, LLC"


def test_workday_list_remote_type() -> None:
    jobs = _by_id(_golden("workday", "candidatezero_workday_jobs_list.json"))
    assert {k: (j["workplace_type"], j["workplace_type_raw"]) for k, j in jobs.items()} == {
        "JR-0105489-1": ("onsite", "Onsite"),
        "JR-0105486": ("onsite", "Onsite"),
        "JR-0105490-1": ("onsite", "Onsite"),
        "JR-0105494": (None, "Flex"),  # Workday's "Flex" states no one arrangement
    }
    assert jobs["JR-0105486"]["posted_at"] == "2026-07-25"  # "Posted Yesterday"
    assert jobs["JR-0105494"]["posted_at"] == "2026-07-24"  # "Posted 2 Days Ago"
    assert {loc["city"] for job in jobs.values() for loc in job["locations"]} == {"Reston"}


def test_phenom_mcdonalds_titles_state_the_employment_type() -> None:
    """The Phenom golden file (its board gives no employment type of its
    own) now has the type its titles state; the rest is unchanged."""
    jobs = json.loads((DATA / "golden" / "phenom" / "jobseek_mcdonalds_ca_page1.json")
                      .read_text(encoding="utf-8"))
    assert [(j["title"], j["employment_type"], j["employment_type_raw"]) for j in jobs] == [
        ("17th & Tamarack McDonald's Full-Time Crew Member", "full_time", "Full-Time"),
        ("17th & Tamarack McDonald's Part-Time Crew Member", "part_time", "Part-Time"),
        ("6 AM available Full-Time Crew Member", "full_time", "Full-Time"),
    ]


# -- placeholders and "Remote" as a place


@pytest.mark.parametrize(("value", "expected"), [
    (None, False), ("", False), ("   ", False), (3, False),
    ("UNAVAILABLE", True), ("Unavailable", True), ("N/A", True), ("n/a", True), ("N.A.", True),
    ("TBD", True), ("tba", True), ("-", True), ("--", True), ("—", True), ("Unknown", True),
    ("Not Specified", True),
    ("London", False), ("Remote", False), ("NA", False), ("Texas", False), ("US", False),
])
def test_is_placeholder(value: Any, expected: bool) -> None:
    assert is_placeholder(value) is expected


@pytest.mark.parametrize(("text", "expected"), [
    (None, None),
    ("", None),
    ("N/A", None),
    ("-", None),
    ("TBD, TBD", None),
    ("UNAVAILABLE, UNAVAILABLE, United States", (None, None, "US")),
    ("TBD, CA", (None, "CA", "US")),  # a city in California, not Canada
    ("Austin, N/A, US", ("Austin", None, "US")),
    ("UNAVAILABLE, Texas, US", (None, "Texas", "US")),
    ("Remote", (None, None, None)),  # no place, but kept: it states the workplace
    ("London, England, United Kingdom", ("London", "England", "GB")),  # already a place
])
def test_parse_location_drops_placeholders(text: str | None, expected: tuple | None) -> None:
    place = parse_location(text)
    if expected is None:
        assert place is None
    else:
        assert (place["city"], place["region"], place["country"]) == expected
        assert place["raw"] == text


@pytest.mark.parametrize(("locations", "expected"), [
    (None, []),
    ([], []),
    ([{"raw": None, "city": "UNAVAILABLE", "region": "UNAVAILABLE", "country": "US"}],
     [{"raw": None, "city": None, "region": None, "country": "US"}]),
    ([{"raw": "UNAVAILABLE", "city": "UNAVAILABLE", "region": "-", "country": "N/A"}], []),
    ([{"raw": None, "city": "Remote", "region": "CA", "country": "US"}],
     [{"raw": None, "city": None, "region": "CA", "country": "US"}]),
    ([{"raw": None, "city": "TBD", "region": None, "country": None}], []),
    ([{"raw": "Berlin, Germany", "city": "Berlin", "region": None, "country": "DE"}],
     [{"raw": "Berlin, Germany", "city": "Berlin", "region": None, "country": "DE"}]),
])
def test_normalize_locations_drops_placeholders(locations: Any, expected: list) -> None:
    assert normalize_locations(locations, []) == expected
    assert normalize_locations(expected, []) == expected  # already normalized


def test_normalize_locations_from_raw_text_drops_placeholder_texts() -> None:
    assert normalize_locations([], ["N/A", "Austin, TBD, US"]) == [
        {"raw": "Austin, TBD, US", "city": "Austin", "region": None, "country": "US"}]


@pytest.mark.parametrize(("locations", "expected"), [
    (None, []), ([], []), ("Remote", []), ([None, "Remote"], []),
    ([{"city": "Remote", "region": "CA"}], ["Remote"]),
    ([{"city": "Austin"}, {"city": "Work from home"}, {"region": "Remote"}],
     ["Work from home", "Remote"]),
    ([{"city": "Remote Sensing Lab"}], []),
])
def test_workplace_in_places(locations: Any, expected: list[str]) -> None:
    assert workplace_in_places(locations) == expected


def test_remote_as_a_city_is_a_remote_workplace_and_no_place() -> None:
    posting = Posting(source="s", external_id="1", title="Engineer",
                      locations=[{"raw": None, "city": "Remote", "region": "CA", "country": "US"},
                                 {"raw": None, "city": "UNAVAILABLE", "region": None,
                                  "country": None}])
    once = _normalized(posting)
    assert once["locations"] == [{"raw": None, "city": None, "region": "CA", "country": "US"}]
    assert (once["workplace_type"], once["workplace_type_raw"]) == ("remote", "Remote")
    assert normalize_posting(Posting(**once), fetched_at=FETCHED_AT).to_dict() == once


def test_a_stated_workplace_wins_over_remote_as_a_city() -> None:
    posting = Posting(source="s", external_id="1", workplace_type_raw="Hybrid",
                      locations=[{"raw": None, "city": "Remote", "region": None, "country": "US"}])
    assert _normalized(posting)["workplace_type"] == "hybrid"


def test_workday_remote_locality_is_no_city() -> None:
    place = wd._place("US, CA, Remote")
    assert (place["city"], place["region"], place["country"]) == (None, "CA", "US")
    posting = Posting(source="s", external_id="1", locations=[place], locations_raw=[place["raw"]])
    assert _normalized(posting)["workplace_type"] == "remote"


@pytest.mark.parametrize(("country", "currency"), [
    ("US", "USD"), ("United States", "USD"), ("DE", "EUR"), ("Germany", "EUR"), ("GB", "GBP"),
    ("CA", "CAD"), ("Switzerland", "CHF"), ("JP", "JPY"), ("BG", "EUR"),
    ("PA", None), ("Panama", None), ("ZW", None), ("Atlantis", None), (None, None), ("", None),
])
def test_country_currency(country: Any, currency: str | None) -> None:
    assert country_currency(country) == currency


# -- employment type from the title


TITLES_THAT_STATE_IT = [
    ("Software Engineering Intern", "internship", "Intern"),
    ("Software Engineer, Intern (Summer or Winter)", "internship", "Intern"),
    ("Data Analyst, Intern", "internship", "Intern"),
    ("Intern, AI Software Engineering (June-August 2027)", "internship", "Intern"),
    ("2027 Software Engineer Intern - San Diego CA", "internship", "Intern"),
    ("Summer 2027 Intern - Software Engineer", "internship", "Intern"),
    ("2027 Future Talent Program - Manufacturing Strategy, Business Development and Alliances "
     "(MSBDA) Intern", "internship", "Intern"),
    ("Marketing Internship", "internship", "Internship"),
    ("Internship in Data Science", "internship", "Internship"),
    ("People Analytics Co-op (Spring 2027)", "internship", "Co-op"),
    ("Engineering Co-Op", "internship", "Co-Op"),
    ("Co-op Student, Software", "internship", "Co-op"),
    ("Werkstudent Vertrieb (m/w/d)", "part_time", "Werkstudent"),
    ("Werkstudent*in Software Engineering", "part_time", "Werkstudent"),
    ("Praktikum im Bereich Marketing (w/m/d)", "internship", "Praktikum"),
    ("Praktikant Controlling", "internship", "Praktikant"),
    ("Stage - Développeur Full Stack", "internship", "Stage"),
    ("Stage de fin d'études – Data Scientist", "internship", "Stage"),
    ("Stagiaire Marketing", "internship", "Stagiaire"),
    ("Apprenti(e) cuisinier", "other", "Apprenti"),
    ("Apprentice Electrician", "other", "Apprentice"),
    ("Trainee Accountant", "internship", "Trainee"),
    ("Graduate Trainee", "internship", "Trainee"),
    ("Designer (Contract)", "contract", "Contract"),
    ("Software Engineer - 6 Month Contract", "contract", "6 Month Contract"),
    ("Data Engineer (Contract to Hire)", "contract", "Contract to Hire"),
    ("Senior Contractor", "contract", "Contractor"),
    ("Part-time Barista", "part_time", "Part-time"),
    ("Barista, Part Time", "part_time", "Part Time"),
    ("17th & Tamarack McDonald's Part-Time Crew Member", "part_time", "Part-Time"),
    ("6 AM available Full-Time Crew Member", "full_time", "Full-Time"),
    ("Temporary Sales Assistant", "temporary", "Temporary"),
    ("Sales Associate (Temporary)", "temporary", "Temporary"),
    ("Summer Interns", "internship", "Interns"),
]
TITLES_THAT_DO_NOT = [
    None, "", "   ", 7,
    "Manager, Internship Programs", "Intern Recruiting Lead", "Internship Program Manager",
    "Recruiter, Interns", "University Recruiting Manager, Interns", "Trainee Program Coordinator",
    "Apprenticeship Coordinator", "Contract Manager", "Contracts Administrator",
    "Senior Contract Analyst", "Temporary Staffing Specialist", "Internal Audit Data Analytics Lead",
    "International Sales Manager", "Early Stage Investor", "Stage Manager", "Stage Technician",
    "Anthropic Fellows Program", "Software Engineer, New Grad (2027)",
    "Sr. Site Reliability Engineer (US Federal)", "Account Executive, Commercial",
]


@pytest.mark.parametrize(("title", "kind", "words"), TITLES_THAT_STATE_IT,
                         ids=[t[0] for t in TITLES_THAT_STATE_IT])
def test_employment_in_title(title: str, kind: str, words: str) -> None:
    assert employment_in_title(title) == (kind, words)
    assert words in title.replace("(e)", "").replace("*in", "")  # the title's own words
    assert employment_type(words) == kind  # read again, the same type


@pytest.mark.parametrize("title", TITLES_THAT_DO_NOT, ids=[repr(t) for t in TITLES_THAT_DO_NOT])
def test_no_employment_in_title(title: Any) -> None:
    assert employment_in_title(title) is None


@pytest.mark.parametrize(("raw", "expected"), [
    (None, None), ("", None), ([], None), (3, None),
    ("Full-Time: Experienced", "full_time"), ("Summer Internship", "internship"),
    ("University - Graduating Intern", "internship"), ("Regular", "full_time"),
    ("Co-op", "internship"), ("Contract", "contract"), ("Other", "other"),
    ("Engineering", None), ("Backfill", None), ("Evergreen", None),
    ("full_time", "full_time"),  # already normalized
])
def test_stated_employment_type(raw: Any, expected: str | None) -> None:
    assert stated_employment_type(raw) == expected


def test_title_counts_only_when_nothing_structured_says_it() -> None:
    from_title = _normalized(Posting(source="s", external_id="1", title="Data Analyst, Intern"))
    assert (from_title["employment_type"], from_title["employment_type_raw"]) == (
        "internship", "Intern")
    assert normalize_posting(Posting(**from_title), fetched_at=FETCHED_AT).to_dict() == from_title
    structured = _normalized(Posting(source="s", external_id="1", title="Data Analyst, Intern",
                                     employment_type_raw="Full time"))
    assert structured["employment_type"] == "full_time"
    given = _normalized(Posting(source="s", external_id="1", title="Data Analyst, Intern",
                                employment_type="contract"))
    assert given["employment_type"] == "contract"
    team = _normalized(Posting(source="s", external_id="1", title="Manager, Internship Programs"))
    assert (team["employment_type"], team["employment_type_raw"]) == (None, None)


# -- Greenhouse: custom fields and pay ranges, unit by unit


def _gh_job_dict(**changes: Any) -> dict[str, Any]:
    job = {"id": 1, "title": "Engineer", "absolute_url": "https://job-boards.greenhouse.io/x/jobs/1",
           "location": {"name": "New York, NY"}, "metadata": None}
    job.update(changes)
    return job


def _gh_parse(*jobs: dict[str, Any]) -> list[Posting]:
    postings, _total = gh.parse_jobs(_response(f"{GH_API}/x/jobs", json.dumps({"jobs": list(jobs)})),
                                     "x")
    return postings


def _field(name: str, value: Any, value_type: str = "single_select") -> dict[str, Any]:
    return {"id": 1, "name": name, "value": value, "value_type": value_type}


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("Employment Type", "Full-Time: Experienced", "full_time"),
    ("Employment Type", "Summer Internship", "internship"),
    ("Job Type", "Summer Internship", "internship"),
    ("Req Type", "University - Graduating Intern", "internship"),
    ("Commitment", "Part-time", "part_time"),
    ("Time Type", "Full time", "full_time"),
    ("Employee Type", "Regular", "full_time"),
    ("Employment Type", "Evergreen", "other"),  # named a type: what it says is kept
    ("Job Type", "Engineering", None),  # not a type: read nothing
    ("Req Type", "Backfill", None),
    ("Department", "Internship", None),  # a field of another meaning
])
def test_greenhouse_employment_fields_by_meaning(name: str, value: str, expected: str | None) -> None:
    [posting] = _gh_parse(_gh_job_dict(metadata=[_field(name, value)]))
    assert _normalized(posting)["employment_type"] == expected


def test_greenhouse_a_named_employment_field_wins_over_a_maybe_one() -> None:
    [posting] = _gh_parse(_gh_job_dict(metadata=[_field("Job Type", "Summer Internship"),
                                                 _field("Employment Type", "Full time")]))
    assert posting.employment_type_raw == "Full time"


@pytest.mark.parametrize(("fields", "location", "offices", "expected"), [
    # the field's own currency, in its name or its value
    ([_field("Min Salary (EUR)", "50000", "short_text"),
      _field("Max Salary (EUR)", "60000", "short_text")], "Austin, TX", [], (50000, 60000, "EUR")),
    ([_field("Salary Min", "£40,000", "short_text"), _field("Salary Max", "£45,000", "short_text")],
     "Austin, TX", [], (40000, 45000, "GBP")),
    ([_field("Pay Range Minimum", {"amount": "100000.0", "unit": "USD"}, "currency"),
      _field("Pay Range Maximum", {"amount": "120000.0", "unit": "USD"}, "currency")],
     "Berlin, Germany", [], (100000, 120000, "USD")),
    # else the one country's one currency
    ([_field("Min salary", 70000, "number"), _field("Max salary", 80000, "number")],
     "Berlin, Germany", [], (70000, 80000, "EUR")),
    ([_field("Salary Range", "$120k - $150k", "short_text")], "Toronto, ON, Canada", [],
     (120000, 150000, "CAD")),
    ([_field("Salary Range", "120,000 - 150,000", "short_text")], "London, UK", [],
     (120000, 150000, "GBP")),
    # else none: several countries, a country with two currencies, no country
    ([_field("Min salary", 70000, "number"), _field("Max salary", 80000, "number")],
     "Remote", ["London, England, United Kingdom", "Austin, Texas, United States"],
     (70000, 80000, None)),
    ([_field("Min salary", 70000, "number"), _field("Max salary", 80000, "number")],
     "Panama City, Panama", [], (70000, 80000, None)),
    ([_field("Min salary", 70000, "number"), _field("Max salary", 80000, "number")],
     "Remote", [], (70000, 80000, None)),
])
def test_greenhouse_pay_fields_and_their_currency(fields: list, location: str, offices: list,
                                                  expected: tuple) -> None:
    job = _gh_job_dict(metadata=fields, location={"name": location},
                       offices=[{"id": 1, "name": o, "location": o} for o in offices])
    [posting] = _gh_parse(job)
    [entry] = _normalized(posting)["salary"]
    assert (entry["min"], entry["max"], entry["currency"]) == expected


@pytest.mark.parametrize(("fields", "period"), [
    ([_field("Hourly Rate Min", 40, "number"), _field("Hourly Rate Max", 45, "number")], "hour"),
    ([_field("Min salary", 4000, "number"), _field("Max salary", 5000, "number"),
      _field("Salary Frequency", "Monthly")], "month"),
    ([_field("Min salary", 90000, "number"), _field("Max salary", 99000, "number")], None),
    ([_field("Salary Range", "$90,000 - $99,000 per year", "short_text")], "year"),
    ([_field("Pay Range Min", "45", "short_text"), _field("Pay Range Max", "50", "short_text"),
      _field("Salary Type", "Hourly")], "hour"),
])
def test_greenhouse_pay_period_only_where_stated(fields: list, period: str | None) -> None:
    [posting] = _gh_parse(_gh_job_dict(metadata=fields))
    assert [s["period"] for s in _normalized(posting)["salary"]] == [period]


@pytest.mark.parametrize("fields", [
    [_field("Bonus Max", "20000", "short_text")],  # not the pay of the job
    [_field("Salary Grade", "L5", "single_select")],
    [_field("Salary Range", "Competitive", "short_text")],
    [_field("Min salary", None, "number"), _field("Max salary", "", "short_text")],
    [{"name": "Min salary"}, "not a field", None, _field("Max salary", [], "number")],
])
def test_greenhouse_fields_that_state_no_pay(fields: list) -> None:
    [posting] = _gh_parse(_gh_job_dict(metadata=fields))
    assert _normalized(posting)["salary"] == []


@pytest.mark.parametrize("metadata", [None, [], "x", {"name": "Employment Type"}, [None, 3, "x"]])
def test_greenhouse_malformed_metadata_reads_nothing(metadata: Any) -> None:
    [posting] = _gh_parse(_gh_job_dict(metadata=metadata))
    assert (posting.salary, posting.employment_type_raw, posting.deadline_raw) == ([], None, None)


def test_greenhouse_pay_input_ranges() -> None:
    ranges = [
        {"min_cents": 5810000, "max_cents": 13320000, "currency_type": "USD",
         "title": "National Pay Transparency Range", "blurb": "<p>annual bonus and equity</p>"},
        {"min_cents": 4250, "max_cents": 5025, "currency_type": "CAD", "title": "Hourly Pay Range"},
        {"min_cents": None, "max_cents": 9000000, "title": "Annual Salary:"},
        {"min_cents": None, "max_cents": None, "currency_type": "USD"},  # no amount: skipped
        "x",
    ]
    [posting] = _gh_parse(_gh_job_dict(pay_input_ranges=ranges))
    assert [(s["min"], s["max"], s["currency"], s["period"]) for s in _normalized(posting)["salary"]] \
        == [(58100, 133200, "USD", None),  # the title names no period; the blurb is not read
            (42.5, 50.25, "CAD", "hour"),
            (None, 90000, "USD", "year")]  # no currency_type: the country's


def test_greenhouse_pay_input_ranges_come_first() -> None:
    content = ('&lt;div class="content-pay-transparency"&gt;&lt;div class="pay-input"&gt;'
               '&lt;div class="title"&gt;Annual Salary:&lt;/div&gt;&lt;div class="pay-range"&gt;'
               '&lt;span&gt;$1&lt;/span&gt;&lt;span class="divider"&gt;&amp;mdash;&lt;/span&gt;'
               '&lt;span&gt;$2 USD&lt;/span&gt;&lt;/div&gt;&lt;/div&gt;&lt;/div&gt;')
    job = _gh_job_dict(content=content,
                       pay_input_ranges=[{"min_cents": 10000000, "max_cents": 12000000,
                                          "currency_type": "USD", "title": "Annual Salary:"}],
                       metadata=[_field("Min salary", 5, "number"), _field("Max salary", 6, "number")])
    [posting] = _gh_parse(job)
    assert [(s["min"], s["max"]) for s in posting.salary] == [(100000, 120000)]
    [posting] = _gh_parse({**job, "pay_input_ranges": []})  # none given: the rendered block
    assert [(s["min"], s["max"], s["period"]) for s in posting.salary] == [(1, 2, "year")]
    [posting] = _gh_parse({**job, "pay_input_ranges": [], "content": "&lt;p&gt;hi&lt;/p&gt;"})
    assert [(s["min"], s["max"]) for s in posting.salary] == [(5, 6)]  # then the fields


def test_greenhouse_workplace_and_deadline_fields() -> None:
    [remote, flexible, dated, given] = _gh_parse(
        _gh_job_dict(id=1, location={"name": "Hybrid - London"},
                     metadata=[_field("Location Type", "Remote")]),
        _gh_job_dict(id=2, location={"name": "Hybrid - London"},
                     metadata=[_field("Workplace Type", "Flexible")]),
        _gh_job_dict(id=3, metadata=[_field("Application Deadline", "2026-11-30", "date")]),
        _gh_job_dict(id=4, application_deadline="2026-10-15",
                     metadata=[_field("Application Deadline", "2026-11-30", "date")]))
    assert _normalized(remote)["workplace_type"] == "remote"  # the field, before the location text
    assert _normalized(flexible)["workplace_type"] == "hybrid"  # unread field: the location text
    assert _normalized(dated)["deadline"] == "2026-11-30"
    assert _normalized(given)["deadline"] == "2026-10-15"  # the board's own field first


@pytest.mark.parametrize("body", ["<html>", "[]", '{"title": "no id"}', '"x"'])
def test_greenhouse_single_job_malformed(body: str) -> None:
    with pytest.raises(BoardError):
        gh.parse_job(_response(f"{GH_API}/x/jobs/1", body), "x")


# -- Workday: the end date


def _ngc() -> dict[str, Any]:
    return json.loads(_fixture("workday", "intern_pipeline_ngc_detail_R10252150.json").read_bytes())


def _ngc_posting(data: dict[str, Any]) -> dict[str, Any]:
    url = NGC.replace(".com/", ".com/wday/cxs/ngc/") + "/job/x"
    return _normalized(wd.parse_job_detail(_response(url, json.dumps(data)), "ngc", NGC))


@pytest.mark.parametrize(("changes", "deadline", "raw"), [
    ({}, "2026-09-25", "End Date: September 25, 2026"),
    ({"endDate": None}, "2026-09-25", "End Date: September 25, 2026"),  # the text alone
    ({"jobPostingEndDateAsText": None}, "2026-09-25", "2026-09-25"),  # the date alone
    ({"jobPostingEndDateAsText": "End Date: September 26, 2026"}, "2026-09-25", "2026-09-25"),
    ({"jobPostingEndDateAsText": "End Date: soon"}, "2026-09-25", "2026-09-25"),
    ({"endDate": None, "jobPostingEndDateAsText": None}, None, None),  # timeLeftToApply alone
    ({"endDate": "not a date", "jobPostingEndDateAsText": None}, None, None),
])
def test_workday_end_date(changes: dict[str, Any], deadline: str | None, raw: str | None) -> None:
    data = _ngc()
    for key, value in changes.items():
        if value is None:
            data["jobPostingInfo"].pop(key)
        else:
            data["jobPostingInfo"][key] = value
    posting = _ngc_posting(data)
    assert (posting["deadline"], posting["deadline_raw"]) == (deadline, raw)


@pytest.mark.parametrize(("remote_type", "expected"), [
    ("Hybrid", "hybrid"), ("Remote", "remote"), ("On-site", "onsite"), ("Onsite", "onsite"),
    ({"descriptor": "Hybrid", "id": "x"}, "hybrid"), ("Flex", None), (None, None),
])
def test_workday_remote_type(remote_type: Any, expected: str | None) -> None:
    data = copy.deepcopy(_ngc())
    data["jobPostingInfo"]["remoteType"] = remote_type
    assert _ngc_posting(data)["workplace_type"] == expected


# -- jobdelta extract reads the same way


def test_extract_reads_title_type_and_drops_placeholder_places() -> None:
    page = ("Software Engineering Intern\n"
            "Acme Robotics\n"
            "Location: UNAVAILABLE, Texas, United States\n\n"
            "Join the Acme Robotics platform team for twelve weeks this summer and build the tools "
            "our engineers use every day to ship safe robot software.\n"
            "You will pair with a mentor, write production code in Python and Rust, and present "
            "your project to the whole company at the end of the summer.\n")
    result = CliRunner().invoke(main, ["extract", "-", "--fetched-at", "2026-10-01"], input=page,
                                catch_exceptions=False,
                                env={"JOBDELTA_CONFIG": None, "JOBDELTA_DATABASE_URL": None})
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert (printed["employment_type"], printed["employment_type_raw"]) == ("internship", "Intern")
    assert printed["locations"] == [{"raw": "UNAVAILABLE, Texas, United States", "city": None,
                                     "region": "Texas", "country": "US"}]
