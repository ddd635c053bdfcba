"""Oracle Recruiting Cloud: golden files from the real saved responses, parser
and spider unit tests, and crawls of a paged replay board over rounds.

The saved responses are real UNDP answers (``estm.fa.em2.oraclecloud.com``,
site ``CX_1``) kept by llm-job-pipeline (MIT), trimmed upstream: a 3-job
search split into two listing pages, and the detail of requisition 36148
(its description cut short, its flexible fields whole). See the
``.source.txt`` beside each.

The replay board is built from the three real requisitions plus copies of
them under new ids, served at Oracle's real paths two a page (fewer than
the 25 asked, as a board may serve). The detail of every requisition but
36148 is the real detail of 36148 RENUMBERED and retitled to match its
listing entry (:func:`detail_of`); the structured-field tests below set
fields the trimmed UNDP items lack (``WorkplaceTypeCode``,
``secondaryLocations``, ``JobType``, pay flexible fields ...) on a real
item, with the names and shapes Oracle's API uses; those values are
CONSTRUCTED for the test, not copied from a response.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from scrapy.http import Request, TextResponse
from scrapy.utils.test import get_crawler

from crawler.errors import BoardError
from crawler.items import Posting, RawPage, Seen
from crawler.normalize import normalize_posting
from crawler.replay import Reply
from spiders.oracle import OracleSpider
from spiders.parsers.oracle import (
    OracleSite,
    detail_url,
    fingerprint,
    listing_url,
    next_offset,
    parse_detail,
    parse_listing,
    posting_url,
    site_from_url,
)

from .replay_helpers import check_golden, crawl, event, events_of, run_errors

DATA = Path(__file__).resolve().parent.parent / "data"
FIXTURES = DATA / "fixtures" / "oracle"
PAGE1 = FIXTURES / "llm-job-pipeline_undp_requisitions_page1.json"
PAGE2 = FIXTURES / "llm-job-pipeline_undp_requisitions_page2.json"
DETAIL = FIXTURES / "llm-job-pipeline_undp_requisition_details_36148.json"
GOLDEN_LISTING = DATA / "golden" / "oracle" / "llm-job-pipeline_undp_requisitions.json"
GOLDEN_DETAIL = DATA / "golden" / "oracle" / "llm-job-pipeline_undp_requisition_details_36148.json"
FETCHED_AT = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
HOST = "estm.fa.em2.oraclecloud.com"
SITE = OracleSite(host=HOST, site="CX_1")
PUBLIC = f"https://{HOST}"
API = f"https://{HOST}/hcmRestApi/resources/latest"
ANALYST, ADVISOR, MINETECH = "36148", "36505", "36541"


def response(body: bytes | str | dict, url: str | None = None) -> TextResponse:
    if isinstance(body, dict):
        body = json.dumps(body)
    return TextResponse(url=url or listing_url(PUBLIC, "CX_1", 0),
                        body=body.encode() if isinstance(body, str) else body, encoding="utf-8")


def real_items() -> list[dict]:
    return [item for path in (PAGE1, PAGE2)
            for item in json.loads(path.read_text(encoding="utf-8"))["items"][0]["requisitionList"]]


def real_detail() -> dict:
    return json.loads(DETAIL.read_text(encoding="utf-8"))


def detail_response(data: dict | str, requisition: str = ANALYST) -> TextResponse:
    return response(data, url=detail_url(PUBLIC, "CX_1", requisition))


def normalized(posting: Posting) -> Posting:
    return normalize_posting(posting, fetched_at=FETCHED_AT)


# --------------------------------------------------------------------------- golden


def test_golden_listing() -> None:
    postings = [p for path in (PAGE1, PAGE2)
                for p in parse_listing(response(path.read_bytes()), "undp", SITE, PUBLIC).postings]
    check_golden(GOLDEN_LISTING, postings, FETCHED_AT)


def test_golden_detail() -> None:
    listing = real_items()[0]
    posting = parse_detail(detail_response(DETAIL.read_bytes()), "undp", SITE, PUBLIC, listing)
    check_golden(GOLDEN_DETAIL, [posting], FETCHED_AT)


def test_golden_values_checked_by_hand() -> None:
    analyst, advisor, minetech = json.loads(GOLDEN_LISTING.read_text(encoding="utf-8"))
    assert [analyst["external_id"], advisor["external_id"], minetech["external_id"]] == [ANALYST, ADVISOR, MINETECH]
    assert analyst["title"] == "Research Analyst [Open to internal and external applicants]"
    assert analyst["url"] == f"https://{HOST}/hcmUI/CandidateExperience/en/sites/CX_1/job/36148"
    assert analyst["requisition_id"] == "36148"  # the page's "Job Identification"
    assert analyst["locations"] == [{"raw": "Bangkok, Thailand", "city": "Bangkok", "region": None, "country": "TH"}]
    assert advisor["locations"] == [{"raw": "Madrid, Spain", "city": "Madrid", "region": None, "country": "ES"}]
    assert minetech["locations"] == [{"raw": "Lusaka, Zambia", "city": "Lusaka", "region": None, "country": "ZM"}]
    # the listing gives a posting date only, and no end date
    assert analyst["posted_at"] == "2026-09-03" and minetech["posted_at"] == "2026-08-27"
    assert analyst["deadline"] is None
    # WorkplaceType "" and no code: no workplace stated; no schedule in the listing
    assert analyst["workplace_type"] is None and analyst["employment_type"] is None
    assert analyst["description"] is None and analyst["salary"] == []

    [detail] = json.loads(GOLDEN_DETAIL.read_text(encoding="utf-8"))
    assert detail["external_id"] == ANALYST and detail["title"] == analyst["title"]
    # ExternalPostedStartDate / ExternalPostedEndDate, not the listing's date
    assert detail["posted_at"] == "2026-09-03T06:29:07+00:00"
    assert detail["deadline"] == "2026-09-11T03:59:00+00:00" and detail["deadline_raw"] == "2026-09-11T03:59:00+00:00"
    assert detail["employment_type_raw"] == "Full time" and detail["employment_type"] == "full_time"
    assert detail["locations"] == analyst["locations"]
    assert detail["description"].startswith("Tiered Approach\n\nIn line with the commitment")
    assert "Tier 1: Other UNDP/UNCDF/UNV staff" in detail["description"]
    # the flexible fields name no pay ("Grade: NPSA-9" is no salary)
    assert detail["salary"] == [] and detail["salary_raw"] == []
    assert detail["company"] is None and detail["department"] is None


# --------------------------------------------------------------------------- parser


def test_urls_and_paging_math() -> None:
    assert listing_url(PUBLIC, "CX_1", 50) == (
        f"{API}/recruitingCEJobRequisitions?onlyData=true&expand=requisitionList.secondaryLocations"
        "&finder=findReqs;siteNumber=CX_1,limit=25,offset=50,sortBy=POSTING_DATES_DESC")
    assert detail_url(PUBLIC, "CX_1", "36148") == (
        f"{API}/recruitingCEJobRequisitionDetails?expand=all&onlyData=true"
        "&finder=ById;Id=%2236148%22,siteNumber=CX_1")
    assert detail_url("http://mirror", "CX_1", "W7/3") .endswith("Id=%22W7%2F3%22,siteNumber=CX_1")
    assert posting_url(PUBLIC, OracleSite(HOST, "CX_45", "fr-CA"), "R1") == (
        f"{PUBLIC}/hcmUI/CandidateExperience/fr-CA/sites/CX_45/job/R1")
    assert next_offset(0, 2, 3) == 2 and next_offset(2, 1, 3) is None
    assert next_offset(0, 25, 60) == 25 and next_offset(50, 10, 60) is None
    assert next_offset(0, 0, 3) is None  # an empty page ends the listing early


@pytest.mark.parametrize(("url", "expected"), [
    ("https://eeho.fa.us2.oraclecloud.com/hcmUI/CandidateExperience/en/sites/CX_1/requisitions",
     OracleSite("eeho.fa.us2.oraclecloud.com", "CX_1", "en")),
    ("https://ABC.fa.em2.oraclecloud.com/hcmUI/CandidateExperience/fr-CA/sites/CX_45/job/123?x=1",
     OracleSite("abc.fa.em2.oraclecloud.com", "CX_45", "fr-CA")),
    ("https://jobs.example.com/en/sites/CampusHiring", OracleSite("jobs.example.com", "CampusHiring", "en")),
    ("https://eeho.fa.us2.oraclecloud.com/hcmUI/CandidateExperience/en", None),
    ("https://eeho.fa.us2.oraclecloud.com/hcmUI/CandidateExperience/en/sites/CX_1,limit=1", None),
    ("ftp://eeho.fa.us2.oraclecloud.com/en/sites/CX_1", None),
])
def test_site_from_url(url, expected) -> None:
    assert site_from_url(url) == expected


@pytest.mark.parametrize(("body", "message"), [
    ('{"items": [{"TotalJobsCount": 3, "requisitionList": [', "malformed JSON from Oracle Recruiting Cloud"),
    ('[]', "listing has no search result in 'items'"),
    ('{"items": []}', "listing has no search result in 'items'"),
    ('{"items": [{"requisitionList": []}]}', "no usable 'TotalJobsCount' (None)"),
    ('{"items": [{"TotalJobsCount": "3", "requisitionList": []}]}', "no usable 'TotalJobsCount' ('3')"),
    ('{"items": [{"TotalJobsCount": true, "requisitionList": []}]}', "no usable 'TotalJobsCount' (True)"),
    ('{"items": [{"TotalJobsCount": -1, "requisitionList": []}]}', "no usable 'TotalJobsCount' (-1)"),
    # without `expand` the API gives a real total and no list: never an empty board
    ('{"items": [{"TotalJobsCount": 3}]}', "listing has no 'requisitionList'"),
    ('{"items": [{"TotalJobsCount": 1, "requisitionList": [{"Title": "no id"}]}]}', "requisition without an Id"),
])
def test_listing_parser_rejects_what_it_cannot_read(body, message) -> None:
    with pytest.raises(BoardError, match=re.escape(message)):
        parse_listing(response(body), "undp", SITE, PUBLIC)


def test_empty_board_is_not_an_error() -> None:
    page = parse_listing(response({"items": [{"TotalJobsCount": 0, "requisitionList": []}]}), "u", SITE, PUBLIC)
    assert page.total == 0 and page.items == [] and page.postings == []


def test_fingerprint_follows_what_the_listing_shows() -> None:
    item = real_items()[0]
    fp = fingerprint(item)
    assert fingerprint(dict(item, ShortDescriptionStr="other", Distance=5, Relevancy=3.2)) == fp
    for change in ({"Title": "Other"}, {"PostedDate": "2026-09-30"}, {"PostingEndDate": "2026-10-30"},
                   {"PrimaryLocation": "Hanoi, Viet Nam"}, {"WorkplaceTypeCode": "ORA_REMOTE"},
                   {"secondaryLocations": [{"Name": "Hanoi, Viet Nam"}]}, {"JobSchedule": "Part time"}):
        assert fingerprint(dict(item, **change)) != fp, change


def test_structured_fields_come_from_their_own_fields() -> None:
    """A real item with the fields Oracle also publishes set (CONSTRUCTED
    values, real field names and shapes)."""
    item = dict(real_items()[0], WorkplaceTypeCode="ORA_HYBRID", WorkplaceType="", JobType="Temporary",
                JobSchedule="Full time", Organization="Innovation Unit", LegalEmployer="UNDP",
                PostingEndDate="2026-10-15",
                secondaryLocations=[{"RequisitionLocationId": 1, "GeographyId": 2, "Name": "Hanoi, Viet Nam",
                                     "CountryCode": "VN", "Latitude": None, "Longitude": None},
                                    {"Name": "Bangkok, Thailand", "CountryCode": "TH"}])
    p = normalized(parse_listing(response({"items": [{"TotalJobsCount": 1, "requisitionList": [item]}]}),
                                 "undp", SITE, PUBLIC).postings[0])
    assert p.workplace_type == "hybrid" and p.workplace_type_raw == "Hybrid"
    assert p.employment_type == "temporary" and p.employment_type_raw == "Temporary, Full time"
    assert p.department == "Innovation Unit" and p.company == "UNDP"
    assert p.deadline == "2026-10-15" and p.deadline_raw == "2026-10-15"
    # the primary place, then each secondary one once, with its ISO code
    assert p.locations == [{"raw": "Bangkok, Thailand", "city": "Bangkok", "region": None, "country": "TH"},
                           {"raw": "Hanoi, Viet Nam", "city": "Hanoi", "region": None, "country": "VN"}]


@pytest.mark.parametrize(("fields", "workplace", "raw"), [
    ({"WorkplaceTypeCode": "ORA_REMOTE", "WorkplaceType": "Remote"}, "remote", "Remote"),
    ({"WorkplaceTypeCode": "ORA_ON_SITE", "WorkplaceType": ""}, "onsite", "On-site"),
    ({"WorkplaceTypeCode": None, "WorkplaceType": "Hybride"}, "hybrid", "Hybride"),  # label-only tenants
    ({"WorkplaceTypeCode": None, "WorkplaceType": ""}, None, None),
    ({"WorkplaceTypeCode": "ORA_SOMETHING_NEW", "WorkplaceType": ""}, None, "ORA_SOMETHING_NEW"),
])
def test_workplace_code_and_label(fields, workplace, raw) -> None:
    item = dict(real_items()[1], **fields)
    p = normalized(parse_listing(response({"items": [{"TotalJobsCount": 1, "requisitionList": [item]}]}),
                                 "undp", SITE, PUBLIC).postings[0])
    assert (p.workplace_type, p.workplace_type_raw) == (workplace, raw)


@pytest.mark.parametrize(("fields", "raw", "kind"), [
    ({"JobSchedule": "Part time", "JobType": "Regular"}, "Part time, Regular", "part_time"),
    ({"JobSchedule": "Full time", "JobType": "Regular"}, "Full time, Regular", "full_time"),
    ({"JobSchedule": "Full time", "JobType": "Intern"}, "Intern, Full time", "internship"),
    ({"JobSchedule": None, "ContractType": "Fixed Term"}, "Fixed Term", "temporary"),
    ({"JobSchedule": None, "JobType": None}, None, None),
])
def test_employment_from_job_type_and_schedule(fields, raw, kind) -> None:
    item = dict(real_items()[1], **fields)
    p = normalized(parse_listing(response({"items": [{"TotalJobsCount": 1, "requisitionList": [item]}]}),
                                 "undp", SITE, PUBLIC).postings[0])
    assert (p.employment_type_raw, p.employment_type) == (raw, kind)


def test_detail_builds_the_ad_and_reads_pay_from_flexible_fields() -> None:
    """The real detail with the other ad sections and a pay field filled in
    (CONSTRUCTED values; the prompts are ones tenants use)."""
    data = real_detail()
    data["items"][0].update({
        "ExternalResponsibilitiesStr": "<ul><li>Run the lab.</li></ul>",
        "ExternalQualificationsStr": "<p>Master's degree.</p>",
        "ContentLocale": "en",
        "requisitionFlexFields": [*data["items"][0]["requisitionFlexFields"],
                                  {"Prompt": "Pay Range", "Value": "$46.06 - $69.10 hourly"},
                                  {"Prompt": "Pay Range Statement", "Value": "$46.06 - $69.10 hourly"}],
    })
    p = normalized(parse_detail(detail_response(data), "undp", SITE, PUBLIC, real_items()[0]))
    assert p.description.endswith("happens through pr\n\nResponsibilities\n\nRun the lab.\n\n"
                                  "Qualifications\n\nMaster's degree.")
    assert p.salary_raw[0] == "$46.06 - $69.10 hourly"
    assert [(s["min"], s["max"], s["currency"], s["period"]) for s in p.salary] == [(46.06, 69.1, "USD", "hour")]
    assert p.language == "en"


def test_detail_parser_is_tolerant_and_an_empty_detail_is_none() -> None:
    item = real_items()[2]
    bare = parse_detail(detail_response({"items": [{"Title": None, "PrimaryLocation": None}]}), "u", SITE,
                        PUBLIC, item)
    # nulls in the detail do not blank what the listing showed
    assert bare.external_id == MINETECH and bare.title == item["Title"]
    assert bare.locations[0]["country"] == "ZM" and bare.description_html is None
    assert parse_detail(detail_response({"items": [], "count": 0}), "u", SITE, PUBLIC, item) is None


@pytest.mark.parametrize(("body", "message"), [
    ('{"items": [{"Id": "1"', "malformed JSON from Oracle Recruiting Cloud"),
    ('{"count": 0}', "detail has no 'items' list"),
    ('{"items": ["x"]}', "detail is not a JSON object"),
    ('{"items": [{"Title": "no id"}]}', "requisition without an Id"),
])
def test_detail_parser_rejects_what_it_cannot_read(body, message) -> None:
    with pytest.raises(BoardError, match=re.escape(message)):
        parse_detail(detail_response(body), "undp", SITE, PUBLIC)


# --------------------------------------------------------------------------- spider


def make_spider(known: dict[str, str] | None = None, full_refresh: bool = True,
                params: dict | None = None, base_url: str | None = "http://127.0.0.1:9") -> OracleSpider:
    crawler = get_crawler(OracleSpider)
    return OracleSpider.from_crawler(crawler, source="undp",
                                     params=params or {"host": HOST, "site": "CX_1"},
                                     base_url=base_url, known_listing=known, full_refresh=full_refresh)


def test_params() -> None:
    check = OracleSpider.check_params
    assert check({"url": "https://eeho.fa.us2.oraclecloud.com/hcmUI/CandidateExperience/en/sites/CX_1"}) is None
    assert check({"host": HOST, "site": "CX_1"}) is None
    assert check({}) == "url, or site (with host): required for board 'oracle'"
    assert check({"url": "https://example.com/careers"}).startswith("url: not an Oracle Recruiting Cloud career site")
    assert "site number alone" in check({"host": HOST, "site": "CX_1,limit=1"})
    assert "host name alone" in check({"host": "https://x.com/", "site": "CX_1"})


def test_spider_reads_pages_then_details_and_links_to_the_real_host() -> None:
    spider = make_spider()
    [first] = list(spider.start_requests())
    assert first.url == listing_url("http://127.0.0.1:9", "CX_1", 0)
    out = list(spider.parse_listing_page(response(PAGE1.read_bytes()), offset=0))
    assert isinstance(out[0], RawPage)
    requests = [x for x in out if isinstance(x, Request)]
    assert [r.url for r in requests] == [detail_url("http://127.0.0.1:9", "CX_1", ANALYST),
                                         detail_url("http://127.0.0.1:9", "CX_1", ADVISOR),
                                         listing_url("http://127.0.0.1:9", "CX_1", 2)]
    assert requests[0].meta["external_id"] == ANALYST and spider.board_complete is None
    out = list(spider.parse_posting(detail_response(DETAIL.read_bytes()), listing=real_items()[0], fp="fp-1"))
    raw, posting = out
    assert isinstance(raw, RawPage) and posting.listing_hash == "fp-1" and posting.raw_sha256 == raw.sha256
    # the API was asked at base_url; the posting links to the career site itself
    assert posting.url == f"https://{HOST}/hcmUI/CandidateExperience/en/sites/CX_1/job/36148"


def test_spider_from_a_career_site_url_without_base_url() -> None:
    url = "https://eeho.fa.us2.oraclecloud.com/hcmUI/CandidateExperience/de/sites/CX_1001/requisitions"
    spider = make_spider(params={"url": url}, base_url=None)
    [first] = list(spider.start_requests())
    assert first.url == listing_url("https://eeho.fa.us2.oraclecloud.com", "CX_1001", 0)
    assert spider._public == "https://eeho.fa.us2.oraclecloud.com" and spider._site.language == "de"


def test_spider_skips_details_the_listing_shows_unchanged() -> None:
    items = real_items()
    known = {ANALYST: fingerprint(items[0]), ADVISOR: "an older fingerprint"}
    out = list(make_spider(known, full_refresh=False).parse_listing_page(response(PAGE1.read_bytes()), 0))
    assert [x.external_id for x in out if isinstance(x, Seen)] == [ANALYST]
    assert [r.url for r in out if isinstance(r, Request)][0] == detail_url("http://127.0.0.1:9", "CX_1", ADVISOR)
    out = list(make_spider(known, full_refresh=True).parse_listing_page(response(PAGE1.read_bytes()), 0))
    assert not [x for x in out if isinstance(x, Seen)]


def test_spider_completeness_against_total_jobs_count() -> None:
    spider = make_spider()
    list(spider.parse_listing_page(response(PAGE1.read_bytes()), offset=0))
    list(spider.parse_listing_page(response(PAGE2.read_bytes()), offset=2))
    assert spider.board_complete is True and spider.complete
    assert spider.complete_by == "TotalJobsCount = 3 distinct requisitions, every page read"
    spider = make_spider()
    page = json.loads(PAGE2.read_text(encoding="utf-8"))
    page["items"][0]["requisitionList"] = []  # an empty page before the total
    list(spider.parse_listing_page(response(PAGE1.read_bytes()), offset=0))
    list(spider.parse_listing_page(response(page), offset=2))
    assert not spider.complete
    assert spider.errors == ["listing gave 2 distinct requisitions of the 3 it reports (TotalJobsCount)"]


def test_a_bad_later_page_makes_the_run_partial_a_bad_first_page_fails_it() -> None:
    spider = make_spider()
    list(spider.parse_listing_page(response("{"), offset=0))
    assert spider.fatal and spider.fatal.startswith("malformed JSON from Oracle Recruiting Cloud")
    spider = make_spider()
    list(spider.parse_listing_page(response("{"), offset=2))
    assert spider.fatal is None and spider.listing_failures == 1


def test_a_listed_requisition_with_an_empty_detail_is_kept_not_gone() -> None:
    spider = make_spider()
    out = list(spider.parse_posting(detail_response({"items": []}), listing=real_items()[0], fp="fp"))
    assert isinstance(out[0], RawPage) and out[1] == Seen(source="undp", external_id=ANALYST)
    assert spider.errors == [f"posting {ANALYST} is listed but its detail holds no requisition: "
                             "kept as it was, not expired"]


# --------------------------------------------------------------------------- end to end

LIST_PATH = "/hcmRestApi/resources/latest/recruitingCEJobRequisitions"
DETAIL_PATH = "/hcmRestApi/resources/latest/recruitingCEJobRequisitionDetails"
SERVED_PER_PAGE = 2


def board_items(n: int) -> list[dict]:
    """The three real requisitions, then copies of them under new ids."""
    real = real_items()
    items = copy.deepcopy(real)
    for k in range(len(real), n):
        extra = copy.deepcopy(real[k % len(real)])
        extra["Id"] = str(900000 + k)
        extra["Title"] = f"{real[k % len(real)]['Title']} #{k}"
        items.append(extra)
    return items


def detail_of(item: dict, description: str | None = None) -> dict:
    """The real detail of 36148 for ``item``: renumbered and retitled to its
    listing entry (the real one for 36148 itself)."""
    data = real_detail()
    entry = data["items"][0]
    entry.update({"Id": item["Id"], "Title": item["Title"], "PrimaryLocation": item["PrimaryLocation"],
                  "PrimaryLocationCountry": item["PrimaryLocationCountry"]})
    if description is not None:
        entry["ExternalDescriptionStr"] = description
    return data


def finder(path: str) -> dict[str, str]:
    query = unquote(urlsplit(path).query)
    value = re.search(r"finder=\w+;([^&]*)", query).group(1)
    return dict(part.split("=", 1) for part in value.split(","))


def oracle_routes(items: list[dict], details: dict[str, Reply] | None = None, total: int | None = None,
                  pages: dict[int, Reply] | None = None) -> dict:
    by_id = {item["Id"]: item for item in items}

    def listing(path: str, headers: dict) -> Reply:
        args = finder(path)
        assert args["siteNumber"] == "CX_1" and args["limit"] == "25", path
        assert "expand=requisitionList.secondaryLocations" in path, path
        offset = int(args["offset"])
        if pages and offset in pages:
            return pages[offset]
        body = {"items": [{"TotalJobsCount": len(items) if total is None else total,
                           "requisitionList": items[offset:offset + SERVED_PER_PAGE]}],
                "count": 1, "hasMore": False, "limit": 25, "offset": 0}
        return Reply(json.dumps(body))

    def detail(path: str, headers: dict) -> Reply:
        args = finder(path)
        ext = args["Id"].strip('"')
        if details and ext in details:
            return details[ext]
        if ext in by_id:
            return Reply(json.dumps(detail_of(by_id[ext])))
        return Reply(json.dumps({"items": [], "count": 0}))

    return {LIST_PATH: listing, DETAIL_PATH: detail}


def detail_requests(replay, since: int) -> list[str]:
    return sorted(finder(path)["Id"].strip('"') for _, path, _ in replay.requests[since:]
                  if path.startswith(DETAIL_PATH))


def listing_offsets(replay, since: int) -> list[int]:
    return [int(finder(path)["offset"]) for _, path, _ in replay.requests[since:] if path.startswith(LIST_PATH)]


def configure(project, replay) -> None:
    # the real detail closed on 2026-09-11: without this every posting built
    # from it would expire for its deadline, whatever the listing says
    project.write_config(f'[[sources]]\nname = "undp"\nboard = "oracle"\nhost = "{HOST}"\nsite = "CX_1"\n'
                         f'base_url = "{replay.url}"\n', defaults="expire_on_deadline = false")


@pytest.mark.slow
def test_oracle_rounds(project, replay, sessions):
    items = board_items(6)
    board = items[:5]
    x, y, z, w = board[2]["Id"], board[3]["Id"], board[4]["Id"], items[5]["Id"]
    configure(project, replay)

    # round 1: 5 requisitions over 3 listing pages, every detail fetched once
    replay.set_routes(oracle_routes(board))
    r = crawl(project, sessions, "undp")
    assert r["exit"] == 0 and r["run"]["status"] == "complete", r
    assert r["run"]["new"] == 5 and listing_offsets(replay, 0) == [0, 2, 4]
    assert detail_requests(replay, 0) == sorted(i["Id"] for i in board)
    stored = {p["external_id"]: p for p in project.json("postings", "--source", "undp")}
    real = stored[ANALYST]
    assert real["title"] == "Research Analyst [Open to internal and external applicants]"
    assert real["deadline"] == "2026-09-11T03:59:00+00:00" and real["employment_type"] == "full_time"
    assert real["url"] == f"https://{HOST}/hcmUI/CandidateExperience/en/sites/CX_1/job/36148"
    assert real["description"].startswith("Tiered Approach")

    # round 2: x retitled in the listing (and its detail), y's ad edited
    # silently (its listing entry unchanged), z removed, w added. Only x and w
    # are fetched; y and the others are seen unchanged from the listing alone.
    before = len(replay.requests)
    retitled = dict(board[2], Title="MineTech Hub Lead [Open to Tier 1 & 2 applicants]")
    board2 = [board[0], board[1], retitled, board[3], items[5]]
    silent = Reply(json.dumps(detail_of(board[3], description="<p>Edited silently.</p>")))
    replay.set_routes(oracle_routes(board2, details={y: silent}))
    r = crawl(project, sessions, "undp")
    assert r["run"]["status"] == "complete" and r["run"]["seen"] == 5, r
    assert detail_requests(replay, before) == sorted([x, w])
    assert events_of(sessions, r["run"]["id"]) == [("changed", x), ("new", w)]
    assert {"field": "title", "old": board[2]["Title"], "new": retitled["Title"]} in event(sessions, "changed", x).changes

    # round 3: the first listing page is malformed: failed, nothing expires
    before = len(replay.requests)
    replay.set_routes(oracle_routes(board2, pages={0: Reply('{"items": [{"TotalJobsCount": 5, "requisi')}))
    r = crawl(project, sessions, "undp")
    assert r["exit"] == 1 and r["run"]["status"] == "failed", r
    assert r["run"]["reason"].startswith("malformed JSON from Oracle Recruiting Cloud"), r
    assert events_of(sessions, r["run"]["id"]) == [] and detail_requests(replay, before) == []

    # round 4: z missing from a second complete run: expired; no detail fetched
    before = len(replay.requests)
    replay.set_routes(oracle_routes(board2))
    r = crawl(project, sessions, "undp")
    assert r["run"]["status"] == "complete", r
    assert events_of(sessions, r["run"]["id"]) == [("expired", z)]
    assert detail_requests(replay, before) == []


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_oracle_short_listings_empty_details_and_unknown_sites(project, replay, sessions):
    """Run on SQLite only: the store's side of these runs is the same on
    both databases (test_oracle_rounds covers PostgreSQL)."""
    items = board_items(5)
    configure(project, replay)
    replay.set_routes(oracle_routes(items))
    assert crawl(project, sessions, "undp")["run"]["status"] == "complete"

    # TotalJobsCount says 6 but the pages hold 5: partial, nothing expires
    replay.set_routes(oracle_routes(items[:4], total=6))
    r = crawl(project, sessions, "undp")
    assert r["run"]["status"] == "partial", r
    assert "listing gave 4 distinct requisitions of the 6 it reports (TotalJobsCount)" in r["run"]["reason"]
    assert events_of(sessions, r["run"]["id"]) == []

    # a listed requisition whose listing entry moved and whose detail is empty:
    # kept as it was, and the contradiction is an error of the run
    moved = [*items[:4], dict(items[4], PostedDate="2026-09-30")]
    gone = items[4]["Id"]
    replay.set_routes(oracle_routes(moved, details={gone: Reply('{"items": [], "count": 0}')}))
    r = crawl(project, sessions, "undp")
    assert r["run"]["status"] == "complete", r
    assert events_of(sessions, r["run"]["id"]) == []
    assert (f"posting {gone} is listed but its detail holds no requisition: kept as it was, not expired"
            in run_errors(sessions, r["run"]["id"]))

    # an unknown site: failed, "board not found"
    replay.set_routes({})
    r = crawl(project, sessions, "undp")
    assert r["run"]["status"] == "failed", r
    assert r["run"]["reason"].startswith("board not found: no Oracle Recruiting Cloud career site there"), r
