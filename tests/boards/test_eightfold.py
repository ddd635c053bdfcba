"""Eightfold, any employer (PCSX and apply v2 APIs): golden files, parser
and spider units, and crawls of a replayed board over rounds for both APIs.

tests/data/fixtures/eightfold/ holds one REAL response, an apply v2 listing
page of Freeport-McMoRan (fcx.eightfold.ai, MIT, from konstantinosanagn/ergon;
upstream-truncated to 3 of its 256 positions), and CONSTRUCTED ones: a PCSX
search page and its position details for a fictional tenant
(careers.example.com), and the apply v2 job answer for the real position
42478672 with an invented description. No licensed real PCSX response was
found; README.txt and each file's .source.txt there say what was built from
what. The replayed boards are built from these (plus copies under new ids).
Microsoft, a preset of this board, keeps its own tests in test_microsoft.py.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import scrapy
from scrapy.http import TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from crawler.errors import BoardError
from crawler.items import Gone, Posting, Seen
from crawler.replay import Reply
from spiders.eightfold import EightfoldSpider
from spiders.parsers import eightfold as ef

from ..conftest import DATA
from .replay_helpers import check_golden, crawl, event, events_of

FIXTURES = DATA / "fixtures" / "eightfold"
GOLDEN = DATA / "golden" / "eightfold"
FETCHED_AT = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
V2_LISTING = FIXTURES / "ergon_fcx_apply_v2_jobs.json"
V2_JOB = FIXTURES / "constructed_apply_v2_job_42478672.json"
PCSX_SEARCH = FIXTURES / "constructed_pcsx_search.json"
FCX_SITE, EXAMPLE_SITE = "https://talent.fmjobs.com", "https://careers.example.com"
# the real FCX positions, as listed
ELECTRICAL, BIODIVERSITY, TRAINEE = "42478672", "42477103", "42475929"
# the constructed PCSX positions, newest first
TECHNICIAN, INTERN, STAFF = "563000000001001", "563000000000877", "563000000000512"


def response(body: bytes | str, url: str = f"{EXAMPLE_SITE}/api/pcsx/search?domain=example.com&start=0"
             ) -> TextResponse:
    return TextResponse(url=url, body=body.encode("utf-8") if isinstance(body, str) else body,
                        encoding="utf-8")


def load(path) -> dict:  # noqa: ANN001
    return json.loads(path.read_text(encoding="utf-8"))


def v2_page() -> ef.SearchPage:
    return ef.parse_search(response(V2_LISTING.read_bytes(), f"{FCX_SITE}/api/apply/v2/jobs?domain=fcx.com"),
                           site=FCX_SITE)


def pcsx_page() -> ef.SearchPage:
    return ef.parse_search(response(PCSX_SEARCH.read_bytes()), site=EXAMPLE_SITE)


def pcsx_details_file(pid: str):  # noqa: ANN201
    return FIXTURES / f"constructed_pcsx_details_{pid}.json"


# --------------------------------------------------------------------------- golden


def test_golden_apply_v2_listing() -> None:
    page = v2_page()
    assert page.total == 256 and page.company is None  # the real answer is cut to 3 positions
    out = check_golden(GOLDEN / "ergon_fcx_apply_v2_jobs.json",
                       [ef.listing_posting(p, "fcx") for p in page.positions], FETCHED_AT)
    assert [p["external_id"] for p in out] == [ELECTRICAL, BIODIVERSITY, TRAINEE]
    electrical = out[0]
    assert electrical["title"] == "Manager Engineering - Electrical"
    assert electrical["requisition_id"] == "144860"  # ats_job_id
    assert electrical["department"] == "Engineering Services"
    assert electrical["url"] == electrical["apply_url"] == f"{FCX_SITE}/careers/job/{ELECTRICAL}"
    # "City, ST USA ZIP": the state and the country read from the last part
    assert electrical["locations"] == [
        {"raw": "New Orleans, LA USA 70112", "city": "New Orleans", "region": "LA", "country": "US"}]
    assert electrical["workplace_type"] == "onsite" and electrical["workplace_type_raw"] == "onsite"
    # t_create 1781660892 is 2026-06-17 01:48:12 UTC
    assert electrical["posted_at"] == "2026-06-17T01:48:12+00:00"
    assert electrical["posted_at_raw"] == "1781660892"
    assert out[1]["locations"][0] == {"raw": "Phoenix, AZ USA 85040", "city": "Phoenix", "region": "AZ",
                                      "country": "US"}
    assert out[2]["title"] == "CLP Operator Trainee - Hydromet"
    # no job type in the list: only a title that states it gives one
    assert [(p["employment_type"], p["employment_type_raw"]) for p in out] == [
        (None, None), (None, None), ("internship", "Trainee")]
    for p in out:  # the list carries no description, pay, deadline nor employer
        assert p["description"] is None and p["salary"] == [] and p["deadline"] is None
        assert p["company"] is None


def test_golden_apply_v2_job() -> None:
    listed = v2_page().positions[0]
    posting = ef.parse_position_details(
        response(V2_JOB.read_bytes(), ef.job_url(FCX_SITE, "fcx.com", ELECTRICAL)), "fcx", listed, site=FCX_SITE)
    [job] = check_golden(GOLDEN / "constructed_apply_v2_job_42478672.json", [posting], FETCHED_AT)
    assert job["external_id"] == ELECTRICAL and job["title"] == "Manager Engineering - Electrical"
    assert job["url"] == f"{FCX_SITE}/careers/job/{ELECTRICAL}"  # canonicalPositionUrl
    assert job["requisition_id"] == "144860" and job["posted_at"] == "2026-06-17T01:48:12+00:00"
    assert job["description"].startswith("Description\n\nCONSTRUCTED text for jobdelta's tests")
    assert "Bachelor's degree in Electrical Engineering" in job["description"] and "<li>" not in job["description"]
    assert job["salary"] == [] and job["deadline"] is None and job["employment_type"] is None


def test_golden_pcsx_search() -> None:
    page = pcsx_page()
    assert page.total == 3
    out = check_golden(GOLDEN / "constructed_pcsx_search.json",
                       [ef.listing_posting(p, "example") for p in page.positions], FETCHED_AT)
    by_id = {p["external_id"]: p for p in out}
    assert list(by_id) == [TECHNICIAN, INTERN, STAFF]
    assert by_id[TECHNICIAN]["locations"] == [
        {"raw": "Phoenix, Arizona, United States", "city": "Phoenix", "region": "Arizona", "country": "US"}]
    # country first, as Career Hub sites often write it
    assert by_id[INTERN]["locations"] == [
        {"raw": "India, Karnataka, Bengaluru", "city": "Bengaluru", "region": "Karnataka", "country": "IN"},
        {"raw": "India, Telangana, Hyderabad", "city": "Hyderabad", "region": "Telangana", "country": "IN"}]
    assert by_id[STAFF]["locations"] == [{"raw": "United States", "city": None, "region": None, "country": "US"}]
    assert [by_id[i]["workplace_type"] for i in (TECHNICIAN, INTERN, STAFF)] == ["onsite", "hybrid", "remote"]
    assert by_id[TECHNICIAN]["requisition_id"] == "R-10231"  # atsJobId
    assert by_id[TECHNICIAN]["url"] == f"{EXAMPLE_SITE}/careers/job/{TECHNICIAN}"  # positionUrl, relative
    assert by_id[TECHNICIAN]["posted_at"] == "2026-09-04T00:00:00+00:00"  # postedTs 1788480000


def test_golden_pcsx_details() -> None:
    positions = pcsx_page().positions
    postings = [ef.parse_position_details(
        response(pcsx_details_file(p.external_id).read_bytes(), ef.details_url(EXAMPLE_SITE, "example.com",
                                                                               p.external_id)),
        "example", p, site=EXAMPLE_SITE) for p in positions]
    out = check_golden(GOLDEN / "constructed_pcsx_details.json", postings, FETCHED_AT)
    by_id = {p["external_id"]: p for p in out}
    technician, intern, staff = by_id[TECHNICIAN], by_id[INTERN], by_id[STAFF]
    assert technician["title"] == "Senior Data Center Technician" and technician["company"] is None
    assert technician["salary"] == [{"min": 62000, "max": 94000, "currency": "USD", "period": "year",
                                     "raw": "USD $62,000 - $94,000 per year"}]
    assert technician["deadline"] == "2026-10-30"
    assert technician["deadline_raw"] == "Applications will be accepted until October 30, 2026"
    assert technician["employment_type"] == "full_time"
    assert technician["employment_type_raw"] == "Full-Time"  # efcustomTextEmploymentType
    assert technician["url"] == technician["apply_url"] == f"{EXAMPLE_SITE}/careers/job/{TECHNICIAN}"
    assert technician["description"].startswith("Overview\n\nKeep the servers in our Phoenix data center")
    assert intern["employment_type"] == "internship"
    # the details' applyAction leads to another system
    assert intern["apply_url"].startswith("https://example.wd5.myworkdayjobs.com/External/job/Bengaluru/")
    assert intern["url"] == f"{EXAMPLE_SITE}/careers/job/{INTERN}"  # publicUrl
    assert intern["salary"] == [] and intern["deadline"] is None  # "open until it is filled"
    assert [loc["country"] for loc in intern["locations"]] == ["IN", "IN"]
    assert staff["employment_type_raw"] == "Full time" and staff["employment_type"] == "full_time"
    assert [(s["min"], s["max"], s["currency"], s["period"]) for s in staff["salary"]] == [
        (180000, 240000, "USD", "year")]
    assert staff["workplace_type"] == "remote"


# --------------------------------------------------------------------------- parser


@pytest.mark.parametrize(("body", "message"), [
    ('{"status": 200, "data": {"positions": [', "malformed JSON from Eightfold search"),
    ("[1, 2]", "Eightfold search is not a JSON object"),
    ('{"status": 200, "data": {"count": 4}}', "Eightfold search has no 'positions' list"),
    ('{"message": "Not authorized for PCSX"}', "no 'positions' list: it says 'Not authorized for PCSX'"),
    ('{"count": 1, "positions": [{"name": "no id"}]}', "Eightfold position without an id"),
    ('{"status": 403, "message": "PCSX is not enabled for this user."}', "says status 403 PCSX is not enabled"),
])
def test_search_errors(body: str, message: str) -> None:
    with pytest.raises(BoardError, match=message):
        ef.parse_search(response(body))


@pytest.mark.parametrize(("body", "total", "n"), [
    ('{"status": 200, "data": {"positions": [], "count": 0}}', 0, 0),  # an empty PCSX board
    ('{"domain": "fcx.com", "count": 0}', 0, 0),  # an empty apply v2 board may leave the list out
    ('{"domain": "fcx.com", "count": 0, "positions": []}', 0, 0),
    ('{"positions": [{"id": 7}]}', None, 1),  # no count, nothing but an id
])
def test_empty_boards_and_bare_positions(body: str, total: int | None, n: int) -> None:
    page = ef.parse_search(response(body), site=EXAMPLE_SITE)
    assert (page.total, len(page.positions)) == (total, n)
    if n:
        bare = page.positions[0]
        assert (bare.title, bare.locations, bare.posted_ts, bare.job_number) == (None, (), None, None)
        assert bare.url == f"{EXAMPLE_SITE}/careers/job/7"
        posting = ef.listing_posting(bare, "example")
        assert posting.locations == [] and posting.title is None


def test_company_from_the_apply_v2_branding() -> None:
    body = {"domain": "netflix.com", "count": 0, "positions": [], "branding": {"companyName": "Netflix"}}
    assert ef.parse_search(response(json.dumps(body))).company == "Netflix"


def test_both_spellings_of_a_position() -> None:
    v2 = {"id": 1, "posting_name": "Engineer", "location": "Los Gatos,California,United States of America",
          "t_create": 1700000000, "t_update": 1700000500, "display_job_id": "JR1", "work_location_option": "hybrid",
          "canonicalPositionUrl": "https://explore.jobs.netflix.net/careers/job/1", "job_description": ""}
    pos = ef.position(v2)
    assert (pos.title, pos.locations, pos.posted_ts, pos.updated_ts, pos.job_number, pos.work_option) == (
        "Engineer", ("Los Gatos,California,United States of America",), "1700000000", "1700000500", "JR1", "hybrid")
    assert pos.url == "https://explore.jobs.netflix.net/careers/job/1" and pos.description is None
    assert ef.place(pos.locations[0]) == {"raw": pos.locations[0], "city": "Los Gatos", "region": "California",
                                          "country": "US"}
    # an update the list shows moves the fingerprint, so the job is read again
    assert ef.position({**v2, "t_update": 1700000999}).fingerprint != pos.fingerprint
    assert ef.position(dict(v2)).fingerprint == pos.fingerprint
    # a description in the list is kept (then no job request is needed)
    assert ef.position({**v2, "job_description": "<p>x</p>"}).description == "<p>x</p>"


@pytest.mark.parametrize(("text", "city", "region", "country"), [
    ("United Kingdom, London, London", "London", "London", "United Kingdom"),
    ("India, Karnataka, Bengaluru", "Bengaluru", "Karnataka", "India"),
    ("Multiple Locations, United States", None, None, "United States"),
    ("New Orleans, LA USA 70112", "New Orleans", "LA", "USA"),
    ("Mumbai, Maharashtra, India", "Mumbai", "Maharashtra", "IN"),
    ("Sterling, VA, US", "Sterling", "VA", "US"),
    ("Remote", None, None, None),
])
def test_place(text: str, city: str | None, region: str | None, country: str | None) -> None:
    assert ef.place(text) == {"raw": text, "city": city, "region": region, "country": country}


def test_details_errors_gone_and_missing_fields() -> None:
    pos = pcsx_page().positions[0]
    url = ef.details_url(EXAMPLE_SITE, "example.com", pos.external_id)
    with pytest.raises(BoardError, match="malformed JSON from Eightfold position details"):
        ef.parse_position_details(response("<html>", url), "example", pos)
    with pytest.raises(BoardError, match="no 'jobDescription' or 'job_description'"):
        ef.parse_position_details(response('{"status": 200, "data": {"id": 1}}', url), "example", pos)
    gone = ef.parse_position_details(response('{"status": 404, "message": "Position not found"}', url),
                                     "example", pos)
    assert isinstance(gone, Gone) and gone.external_id == pos.external_id
    # a bare answer: the listing fills in what it leaves out
    bare = ef.parse_position_details(response('{"job_description": "<p>Build things.</p>"}', url),
                                     "example", pos, site=EXAMPLE_SITE)
    assert isinstance(bare, Posting)
    assert (bare.external_id, bare.title, bare.requisition_id) == (pos.external_id, pos.title, "R-10231")
    assert bare.locations_raw == list(pos.locations) and bare.url == pos.url
    assert bare.employment_type_raw is None and bare.skills == []


def test_urls() -> None:
    assert ef.search_url("https://h", "acme.com", "AI", "", 10) == (
        "https://h/api/pcsx/search?domain=acme.com&query=AI&location=&start=10")
    assert ef.details_url("https://h", "acme.com", "42") == (
        "https://h/api/pcsx/position_details?position_id=42&domain=acme.com&hl=en")
    assert ef.jobs_url("https://h", "acme.com", "", "", 20) == "https://h/api/apply/v2/jobs?domain=acme.com&start=20&num=10"
    assert ef.jobs_url("https://h", "acme.com", "data", "Paris", 0) == (
        "https://h/api/apply/v2/jobs?domain=acme.com&query=data&location=Paris&start=0&num=10")
    assert ef.job_url("https://h", "acme.com", "42") == "https://h/api/apply/v2/jobs/42?domain=acme.com"


# --------------------------------------------------------------------------- spider


def spider(params: dict | None = None, known: dict[str, str] | None = None,
           base_url: str | None = "http://board") -> EightfoldSpider:
    crawler = get_crawler(EightfoldSpider)
    crawler.stats = MemoryStatsCollector(crawler)
    given = {"host": "careers.example.com", "domain": "example.com", **(params or {})}
    s = EightfoldSpider.from_crawler(crawler, source="example", params=given, base_url=base_url,
                                     known_listing=known or {}, full_refresh=not known)
    return s


@pytest.mark.parametrize(("params", "problem"), [
    ({"host": "careers.qualcomm.com", "domain": "qualcomm.com"}, None),
    ({"host": "fcx.eightfold.ai", "domain": "fcx.com", "api": "apply_v2", "max_results": 5}, None),
    ({"domain": "qualcomm.com"}, "host: required for board 'eightfold'"),
    ({"host": "careers.qualcomm.com"}, "domain: required for board 'eightfold'"),
    ({"host": "https://careers.qualcomm.com/careers", "domain": "q.com"}, "host: must be the careers host alone"),
    ({"host": "h.com", "domain": "h.com", "api": "v3"}, "api: must be one of 'pcsx', 'apply_v2'"),
    ({"host": "h.com", "domain": "h.com", "max_results": 0}, "max_results: must be at least 1"),
    ({"host": "h.com", "domain": "h.com", "company": "x"}, "unknown key 'company'"),
])
def test_params(params: dict, problem: str | None) -> None:
    result = EightfoldSpider.check_params(params)
    assert (result is None) if problem is None else (problem in result), result


def test_requests_for_each_api() -> None:
    [first] = list(spider(base_url=None).start_requests())
    assert first.url == "https://careers.example.com/api/pcsx/search?domain=example.com&query=&location=&start=0"
    assert "dont_check_walls" not in first.meta  # JSON answers pass the wall middleware
    [first] = list(spider({"api": "apply_v2"}).start_requests())
    assert first.url == "http://board/api/apply/v2/jobs?domain=example.com&start=0&num=10"


def page(ids: range | list[int], count: int | None, api: str = "pcsx") -> TextResponse:
    positions = [{"id": i, "name": f"Job {i}", "postedTs": 1760000000 - i} for i in ids]
    data: dict[str, Any] = {"positions": positions}
    if count is not None:
        data["count"] = count
    return response(json.dumps({"status": 200, "data": data} if api == "pcsx" else data))


def run_page(s: EightfoldSpider, start: int, resp: TextResponse) -> tuple[list[str], list[int], list]:
    out = list(s.parse_search(resp, start))
    requests = [r for r in out if isinstance(r, scrapy.Request)]
    details = [r.meta["external_id"] for r in requests if "external_id" in r.meta]
    listing = [int(parse_qs(urlsplit(r.url).query)["start"][0]) for r in requests if "external_id" not in r.meta]
    return details, listing, out


@pytest.mark.parametrize("api", ["pcsx", "apply_v2"])
def test_paging_to_the_count(api: str) -> None:
    s = spider({"api": api})
    list(s.start_requests())
    assert run_page(s, 0, page(range(10), 25, api))[:2] == ([str(i) for i in range(10)], [10])
    assert run_page(s, 10, page(range(10, 20), 0, api))[1] == [20]  # the first count stands
    details, listing, _ = run_page(s, 20, page(range(20, 25), 25, api))
    assert (len(details), listing, s.board_complete, s.complete) == (5, [], True, True)
    assert s.complete_by == "search count = 25, 25 positions seen"
    one = spider({"api": api})
    list(one.start_requests())
    [request] = [r for r in run_page(one, 0, page([24], 1, api))[2] if isinstance(r, scrapy.Request)]
    assert urlsplit(request.url).path == ("/api/pcsx/position_details" if api == "pcsx" else "/api/apply/v2/jobs/24")


def test_a_short_listing_is_not_complete() -> None:
    s = spider()
    list(s.start_requests())
    run_page(s, 0, page(range(10), 25))
    assert run_page(s, 10, page([], 25))[1] == []
    assert s.board_complete is False and s.errors == ["the search gave 10 of the 25 postings it counts"]


def test_an_empty_board_is_complete() -> None:
    s = spider({"api": "apply_v2"})
    list(s.start_requests())
    assert run_page(s, 0, response('{"domain": "example.com", "count": 0, "positions": []}'))[:2] == ([], [])
    assert s.board_complete is True and s.complete


def test_a_malformed_first_page_fails_the_run_a_later_one_makes_it_partial() -> None:
    s = spider()
    list(s.start_requests())
    list(s.parse_search(response('{"status": 200, "data": {"positions": ['), 0))
    assert s.fatal.startswith("malformed JSON from Eightfold search")
    s = spider()
    list(s.start_requests())
    run_page(s, 0, page(range(10), 25))
    list(s.parse_search(response("{"), 10))
    assert s.fatal is None and not s.complete and s.listing_failures == 1


def test_unchanged_positions_are_seen_and_listed_descriptions_need_no_request() -> None:
    listed = ef.parse_search(page(range(3), 3)).positions
    s = spider(known={p.external_id: p.fingerprint for p in listed[:2]})
    list(s.start_requests())
    details, _, out = run_page(s, 0, page(range(3), 3))
    assert details == ["2"] and [o.external_id for o in out if isinstance(o, Seen)] == ["0", "1"]
    s = spider({"api": "apply_v2"})
    list(s.start_requests())
    body = {"count": 1, "branding": {"companyName": "Acme"},
            "positions": [{"id": 5, "name": "Welder", "job_description": "<p>Weld.</p>"}]}
    details, _, out = run_page(s, 0, response(json.dumps(body)))
    [posting] = [o for o in out if isinstance(o, Posting)]
    assert details == [] and posting.description_html == "<p>Weld.</p>" and posting.company == "Acme"
    assert posting.listing_hash == ef.position(body["positions"][0]).fingerprint and posting.raw_sha256


def test_a_missing_site_is_board_not_found_and_a_later_page_failing_is_partial() -> None:
    def failure(start: int, status: int) -> Failure:
        url = f"http://board/api/pcsx/search?domain=example.com&start={start}"
        failed = Failure(HttpError(TextResponse(url=url, status=status, body=b"not found"), "ignored"))
        failed.request = scrapy.Request(url, cb_kwargs={"start": start})
        return failed

    s = spider()
    s.on_search_error(failure(0, 404))
    assert s.fatal.startswith("board not found: no Eightfold career site answers at 'careers.example.com' "
                              "for domain 'example.com' (HTTP 404 from http://board/api/pcsx/search")
    s = spider()
    s.on_search_error(failure(10, 503))
    assert s.fatal is None and s.listing_failures == 1 and not s.complete


# --------------------------------------------------------------------------- end to end


def pcsx_board(n: int) -> tuple[list[dict], dict[str, dict]]:
    """The three constructed PCSX positions, then copies under new ids, older
    and older; the details of each. The technician's deadline sentence is
    left out, so no posting expires by date whenever the test runs."""
    base = load(PCSX_SEARCH)["data"]["positions"]
    details = {str(p["id"]): load(pcsx_details_file(str(p["id"])))["data"] for p in base}
    deadline = "<p>Applications will be accepted until October 30, 2026.</p>"
    assert deadline in details[TECHNICIAN]["jobDescription"]
    details[TECHNICIAN]["jobDescription"] = details[TECHNICIAN]["jobDescription"].replace(deadline, "")
    positions = copy.deepcopy(base)
    for i in range(n - len(base)):
        src = base[i % len(base)]
        pos = copy.deepcopy(src)
        pos["id"] = 563000000100000 + i
        pos["atsJobId"] = pos["displayJobId"] = f"R-2{i:04d}"
        pos["name"] = f"{src['name']} #{i}"
        pos["postedTs"] = base[-1]["postedTs"] - 86400 * (i + 1)
        pos["positionUrl"] = f"/careers/job/{pos['id']}"
        positions.append(pos)
        details[str(pos["id"])] = {**copy.deepcopy(details[str(src["id"])]), **pos,
                                   "publicUrl": f"{EXAMPLE_SITE}{pos['positionUrl']}"}
    return positions, details


def v2_board(n: int) -> tuple[list[dict], dict[str, dict]]:
    """The three real FCX positions, then copies under new ids; each job's
    answer is the position with the constructed description."""
    base = load(V2_LISTING)["positions"]
    description = load(V2_JOB)["job_description"]
    positions = copy.deepcopy(base)
    for i in range(n - len(base)):
        src = base[i % len(base)]
        pos = copy.deepcopy(src)
        pos["id"] = 42400000 + i
        pos["ats_job_id"] = pos["display_job_id"] = str(140000 + i)
        pos["name"] = pos["posting_name"] = f"{src['name']} #{i}"
        pos["t_create"] = pos["t_update"] = base[-1]["t_create"] - 86400 * (i + 1)
        pos["canonicalPositionUrl"] = f"https://talent.fmjobs.com/careers/job/{pos['id']}"
        positions.append(pos)
    return positions, {str(p["id"]): {**p, "job_description": description} for p in positions}


class FakeEightfold:
    """An Eightfold site on the replay server, in either API: the listing
    (10 a page, with the count) and each position's details."""

    def __init__(self, api: str, positions: list[dict], details: dict[str, dict]):
        self.api, self.positions, self.details = api, positions, details
        self.listing_override: Reply | None = None

    def listing(self, path: str, headers: dict[str, str]) -> Reply:
        if self.listing_override is not None:
            return self.listing_override
        start = int(parse_qs(urlsplit(path).query)["start"][0])
        page = self.positions[start:start + ef.PAGE_SIZE]
        if self.api == "pcsx":
            return Reply(json.dumps({"status": 200, "error": {"message": "", "body": ""},
                                     "data": {"positions": page, "count": len(self.positions)}}))
        return Reply(json.dumps({"domain": "example.com", "count": len(self.positions), "positions": page}))

    def pcsx_details(self, path: str, headers: dict[str, str]) -> Reply:
        pid = parse_qs(urlsplit(path).query)["position_id"][0]
        if pid not in self.details:
            return Reply('{"status": 404, "message": "not found"}', status=404)
        return Reply(json.dumps({"status": 200, "data": self.details[pid]}))

    def routes(self) -> dict:
        if self.api == "pcsx":
            return {ef.SEARCH_API: self.listing, ef.DETAILS_API: self.pcsx_details}
        return {ef.JOBS_API: self.listing,
                **{f"{ef.JOBS_API}/{pid}": Reply(json.dumps(job)) for pid, job in self.details.items()}}


def configure(project, replay, api: str) -> None:  # noqa: ANN001
    project.write_config(
        f'[[sources]]\nname = "acme"\nboard = "eightfold"\nhost = "careers.example.com"\n'
        f'domain = "example.com"\napi = "{api}"\nbase_url = "{replay.url}"\n',
        defaults="full_refresh_every = 10")


def listing_starts(replay, since: int) -> list[str]:  # noqa: ANN001
    return [parse_qs(urlsplit(p).query)["start"][0] for _m, p, _h in replay.requests[since:]
            if urlsplit(p).path in (ef.SEARCH_API, ef.JOBS_API)]


def details_fetched(replay, since: int) -> list[str]:  # noqa: ANN001
    found = []
    for _m, p, _h in replay.requests[since:]:
        parts = urlsplit(p)
        if parts.path == ef.DETAILS_API:
            found.append(parse_qs(parts.query)["position_id"][0])
        elif parts.path.startswith(ef.JOBS_API + "/"):
            found.append(parts.path.rsplit("/", 1)[1])
    return sorted(found)


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the store is tested on both elsewhere
@pytest.mark.parametrize("api", ["pcsx", "apply_v2"])
def test_eightfold_rounds(project, replay, sessions, api: str):  # noqa: ANN001
    """Kept to a few requests a round: the board's 0.6 s between requests
    holds in tests too."""
    positions, details = (pcsx_board if api == "pcsx" else v2_board)(12)
    newest, pool = positions[-1], positions[:11]  # one held back, added later
    edited, removed = str(pool[0]["id"]), str(pool[1]["id"])
    board = FakeEightfold(api, pool, details)
    replay.set_routes(board.routes())
    configure(project, replay, api)

    # round 1: 11 positions over two pages, every posting's details fetched, all new
    r = crawl(project, sessions, "acme")
    assert r["exit"] == 0 and r["run"]["status"] == "complete" and r["run"]["new"] == 11, r
    assert events_of(sessions, r["run"]["id"]) == sorted(("new", str(p["id"])) for p in pool)
    assert listing_starts(replay, 0) == ["0", "10"]
    assert details_fetched(replay, 0) == sorted(str(p["id"]) for p in pool)
    stored = {p["external_id"]: p for p in project.json("postings", "--source", "acme")}
    first = stored[edited]
    if api == "pcsx":
        assert first["title"] == "Senior Data Center Technician" and first["requisition_id"] == "R-10231"
        assert first["url"] == f"{EXAMPLE_SITE}/careers/job/{TECHNICIAN}"
        assert first["salary"][0]["raw"] == "USD $62,000 - $94,000 per year" and first["deadline"] is None
    else:
        assert first["title"] == "Manager Engineering - Electrical" and first["requisition_id"] == "144860"
        assert first["url"] == f"{FCX_SITE}/careers/job/{ELECTRICAL}"
        assert first["locations"][0]["country"] == "US"
        assert first["description"].startswith("Description\n\nCONSTRUCTED text")

    # round 2: one retitled, one removed, one newer on top: exactly those events, and
    # only the two whose listing moved are read again
    retitle = "Lead " + pool[0]["name"]
    board.positions = [newest] + [dict(p, name=retitle) if str(p["id"]) == edited else p
                                  for p in pool if str(p["id"]) != removed]
    details[edited] = dict(details[edited], name=retitle)
    if api == "apply_v2":
        details[edited]["posting_name"] = retitle
    replay.set_routes(board.routes())
    mark = len(replay.requests)
    r = crawl(project, sessions, "acme")
    assert r["run"]["status"] == "complete", r
    assert events_of(sessions, r["run"]["id"]) == sorted([("changed", edited), ("new", str(newest["id"]))])
    assert [c["field"] for c in event(sessions, "changed", edited).changes] == ["title"]
    assert details_fetched(replay, mark) == sorted([edited, str(newest["id"])])

    # round 3: an error round, failed, nothing expires: PCSX answers 500 (retried, then
    # given up), apply v2 a listing cut mid-way (malformed JSON)
    if api == "pcsx":
        board.listing_override = Reply("upstream error", status=500, content_type="text/plain")
        reason = "HTTP 500"
    else:
        board.listing_override = Reply(board.listing("/x?start=0", {}).data[:200])
        reason = "malformed JSON from Eightfold search"
    r = crawl(project, sessions, "acme")
    assert r["exit"] == 1 and r["run"]["status"] == "failed" and reason in r["run"]["reason"], r
    assert events_of(sessions, r["run"]["id"]) == []

    # round 4: whole again; the removed posting is missing from a second complete run
    board.listing_override = None
    r = crawl(project, sessions, "acme")
    assert r["run"]["status"] == "complete", r
    assert events_of(sessions, r["run"]["id"]) == [("expired", removed)]
    assert event(sessions, "expired", removed).reason == "expired: missing from 2 consecutive complete runs"
