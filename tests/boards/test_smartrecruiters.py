"""SmartRecruiters: the golden file from the real saved listing, parser and
spider unit tests, and crawls of a multi-page replay board over rounds.

The real saved listing (Ubisoft, French text) was fetched with ``limit=2``
and reports ``totalFound: 310``; the golden test uses it as it is. The
replay board is built from its two real items plus copies of them under new
ids, served at SmartRecruiters' real paths, with a ``totalFound`` that
matches the items served.

NO REAL DETAIL RESPONSE IS SAVED. Every detail response below
(``/v1/companies/{company}/postings/{id}``) is CONSTRUCTED by
:func:`constructed_detail` from the documented shape (the listing item plus
``jobAd.sections`` with ``title``/``text``, ``applyUrl``, ``postingUrl``,
``active``); it is not a real response, and the detail parser is kept
tolerant of fields it lacks.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from scrapy.http import Request, TextResponse
from scrapy.utils.test import get_crawler

from crawler.errors import BoardError
from crawler.items import Gone, Posting, RawPage, Seen
from crawler.normalize import normalize_posting
from crawler.replay import Reply
from spiders.parsers.smartrecruiters import (
    detail_url,
    fingerprint,
    listing_url,
    next_offset,
    parse_detail,
    parse_listing,
)
from spiders.smartrecruiters import SmartRecruitersSpider

from .replay_helpers import check_golden, crawl, event, events_of, run_errors

DATA = Path(__file__).resolve().parent.parent / "data"
FIXTURE = DATA / "fixtures" / "smartrecruiters" / "hunt_ubisoft_postings_limit2.json"
GOLDEN = DATA / "golden" / "smartrecruiters" / "hunt_ubisoft_postings_limit2.json"
FETCHED_AT = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
LIST_URL = "https://api.smartrecruiters.com/v1/companies/Ubisoft2/postings?limit=2&offset=0"
RELIABILITY, CRM = "744000151912444", "744000151872065"


def response(body: bytes | str | dict, url: str = LIST_URL) -> TextResponse:
    if isinstance(body, dict):
        body = json.dumps(body)
    return TextResponse(url=url, body=body.encode() if isinstance(body, str) else body, encoding="utf-8")


def real_listing() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def constructed_detail(item: dict, job_text: str = "Vous rejoindrez l'équipe infrastructure.") -> dict:
    """A detail response CONSTRUCTED from the documented shape (NOT a real
    response): the listing item, plus the ad's four sections, the posting
    and apply links and the active flag."""
    detail = copy.deepcopy(item)
    detail.update({
        "active": True,
        "postingUrl": f"https://jobs.smartrecruiters.com/Ubisoft2/{item['id']}-constructed",
        "applyUrl": f"https://jobs.smartrecruiters.com/Ubisoft2/{item['id']}-constructed?oga=true",
        "jobAd": {"sections": {
            "companyDescription": {"title": "Company Description",
                                   "text": "<p>Texte construit : description de l'entreprise.</p>"},
            "jobDescription": {"title": "Job Description",
                               "text": f"<p>{job_text}</p><ul><li>Tâche une</li><li>Tâche deux</li></ul>"},
            "qualifications": {"title": "Qualifications", "text": "<p>Cinq ans d'expérience.</p>"},
            "additionalInformation": {"title": "Additional Information",
                                      "text": "<p>Texte construit : informations.</p>"},
        }},
    })
    return detail


# --------------------------------------------------------------------------- golden


def test_golden() -> None:
    page = parse_listing(response(FIXTURE.read_bytes()), "ubisoft", "Ubisoft2")
    check_golden(GOLDEN, page.postings, FETCHED_AT)


def test_golden_values_checked_by_hand() -> None:
    reliability, crm = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert reliability["external_id"] == RELIABILITY and crm["external_id"] == CRM
    assert reliability["title"] == "Spécialiste Fiabilité outils et infrastructures - TGQF"
    assert reliability["url"] == f"https://jobs.smartrecruiters.com/Ubisoft2/{RELIABILITY}"
    assert reliability["company"] == crm["company"] == "Ubisoft"
    assert reliability["requisition_id"] == "REF31910A" and crm["requisition_id"] == "REF31996L"
    assert reliability["locations"] == [{"raw": "Montreal, QC, Canada", "city": "Montreal", "region": "QC",
                                         "country": "CA"}]
    assert crm["locations"] == [{"raw": "Paris, IDF, France", "city": "Paris", "region": "IDF", "country": "FR"}]
    assert reliability["employment_type_raw"] == "Full-time" and reliability["employment_type"] == "full_time"
    assert crm["employment_type_raw"] == "Intern" and crm["employment_type"] == "internship"
    assert reliability["language"] == "fr-CA" and crm["language"] == "fr"
    assert reliability["posted_at"] == "2026-09-25T18:18:52.891000+00:00"
    # remote and hybrid are both false: that states no workplace type
    assert reliability["workplace_type"] is None and reliability["workplace_type_raw"] is None
    # the listing carries no ad text and no apply link: the detail adds them
    assert reliability["description"] is None and reliability["apply_url"] is None


# --------------------------------------------------------------------------- parser


def test_listing_page_and_pagination_math() -> None:
    page = parse_listing(response(FIXTURE.read_bytes()), "ubisoft", "Ubisoft2")
    assert page.total == 310 and [i["id"] for i in page.items] == [RELIABILITY, CRM]
    assert next_offset(0, 2, 310) == 2  # the saved page: 308 more to go
    assert next_offset(308, 2, 310) is None
    assert next_offset(200, 100, 250) is None and next_offset(100, 100, 250) == 200
    assert next_offset(0, 0, 310) is None  # an empty page ends the listing early
    assert next_offset(0, 0, 0) is None
    assert listing_url("https://api.smartrecruiters.com", "Ubisoft2", 200) == (
        "https://api.smartrecruiters.com/v1/companies/Ubisoft2/postings?limit=100&offset=200")


@pytest.mark.parametrize(("body", "message"), [
    ('{"totalFound": 3, "content": [', "malformed JSON from SmartRecruiters"),
    ('{"totalFound": 3}', "SmartRecruiters listing has no 'content' list"),
    ('[]', "SmartRecruiters listing has no 'content' list"),
    ('{"content": []}', "SmartRecruiters listing has no usable 'totalFound' (None)"),
    ('{"totalFound": "310", "content": []}', "no usable 'totalFound' ('310')"),
    ('{"totalFound": true, "content": []}', "no usable 'totalFound' (True)"),
    ('{"totalFound": -1, "content": []}', "no usable 'totalFound' (-1)"),
    ('{"totalFound": 1, "content": [{"name": "no id"}]}', "SmartRecruiters posting without an id"),
])
def test_listing_parser_rejects_what_it_cannot_read(body, message) -> None:
    with pytest.raises(BoardError, match=re.escape(message)):
        parse_listing(response(body), "ubisoft", "Ubisoft2")


def test_empty_listing_is_not_an_error() -> None:
    page = parse_listing(response({"offset": 0, "limit": 100, "totalFound": 0, "content": []}), "u", "Ubisoft2")
    assert page.total == 0 and page.postings == []


def test_fingerprint_follows_date_title_location_and_reference_only() -> None:
    item = real_listing()["content"][0]
    fp = fingerprint(item)
    assert fingerprint(dict(item, customField=[], industry=None)) == fp
    assert fingerprint(dict(item, name="Autre titre")) != fp
    assert fingerprint(dict(item, releasedDate="2026-09-30T00:00:00.000Z")) != fp
    assert fingerprint(dict(item, refNumber="REF1")) != fp
    assert fingerprint(dict(item, location=dict(item["location"], fullLocation="Québec, QC, Canada"))) != fp


def test_detail_url_is_the_ref_path_on_base_url() -> None:
    item = real_listing()["content"][0]
    assert detail_url("http://127.0.0.1:8000", "Ubisoft2", item) == (
        f"http://127.0.0.1:8000/v1/companies/Ubisoft2/postings/{RELIABILITY}")
    assert detail_url("http://mirror", "Ubisoft2", {"id": "42"}) == "http://mirror/v1/companies/Ubisoft2/postings/42"
    assert detail_url("http://mirror", "Ubisoft2", {"id": "42", "ref": "https://evil.example/x"}) == (
        "http://mirror/v1/companies/Ubisoft2/postings/42")


def detail_response(data: dict | str) -> TextResponse:
    return response(data, url=f"https://api.smartrecruiters.com/v1/companies/Ubisoft2/postings/{RELIABILITY}")


def test_detail_builds_the_description_from_the_ad_sections() -> None:
    item = real_listing()["content"][0]
    p = parse_detail(detail_response(constructed_detail(item)), "ubisoft", "Ubisoft2", item)
    normalize_posting(p, fetched_at=FETCHED_AT)
    assert p.description == (
        "Company Description\n\nTexte construit : description de l'entreprise.\n\n"
        "Job Description\n\nVous rejoindrez l'équipe infrastructure.\n\nTâche une\nTâche deux\n\n"
        "Qualifications\n\nCinq ans d'expérience.\n\n"
        "Additional Information\n\nTexte construit : informations.")
    assert p.apply_url == f"https://jobs.smartrecruiters.com/Ubisoft2/{RELIABILITY}-constructed?oga=true"
    assert p.url == f"https://jobs.smartrecruiters.com/Ubisoft2/{RELIABILITY}"
    assert p.title == "Spécialiste Fiabilité outils et infrastructures - TGQF"
    assert p.requisition_id == "REF31910A" and p.locations[0]["country"] == "CA"


def test_detail_parser_is_tolerant() -> None:
    item = real_listing()["content"][0]
    # no jobAd, no id, sections as bare strings or of unknown names
    bare = parse_detail(detail_response({"name": "Titre du détail"}), "ubisoft", "Ubisoft2", item)
    assert bare.external_id == RELIABILITY and bare.title == "Titre du détail"
    assert bare.description_html is None and bare.apply_url is None
    odd = parse_detail(detail_response({"id": "9", "jobAd": {"sections": {
        "jobDescription": "<p>Only text</p>", "videos": {"title": "Extra", "text": "<p>More</p>"},
        "qualifications": {"title": "Qualifications", "text": ""}}}}), "u", "Ubisoft2")
    assert odd.description_html == "<p>Only text</p>\n<h2>Extra</h2>\n<p>More</p>"
    assert odd.url == "https://jobs.smartrecruiters.com/Ubisoft2/9" and odd.locations == []


def test_detail_of_an_inactive_posting_is_gone() -> None:
    item = real_listing()["content"][0]
    gone = parse_detail(detail_response(dict(constructed_detail(item), active=False)), "u", "Ubisoft2", item)
    assert isinstance(gone, Gone) and gone.external_id == RELIABILITY
    assert gone.reason == "posting page says it is no longer active"


@pytest.mark.parametrize(("body", "message"), [
    ('{"id": "1", "jobAd": {', "malformed JSON from SmartRecruiters"),
    ('["a"]', "SmartRecruiters posting is not a JSON object"),
    ('{"name": "x"}', "SmartRecruiters posting without an id"),
])
def test_detail_parser_rejects_what_it_cannot_read(body, message) -> None:
    with pytest.raises(BoardError, match=re.escape(message)):
        parse_detail(detail_response(body), "ubisoft", "Ubisoft2")


# --------------------------------------------------------------------------- spider


def make_spider(known: dict[str, str] | None = None, full_refresh: bool = True) -> SmartRecruitersSpider:
    crawler = get_crawler(SmartRecruitersSpider)
    return SmartRecruitersSpider.from_crawler(
        crawler, source="ubisoft", params={"company": "Ubisoft2"}, base_url="http://127.0.0.1:9",
        known_listing=known, full_refresh=full_refresh)


def test_params() -> None:
    assert SmartRecruitersSpider.check_params({"company": "Ubisoft2"}) is None
    assert SmartRecruitersSpider.check_params({}) == (
        "company: required for board 'smartrecruiters' (the company identifier in "
        "jobs.smartrecruiters.com/<company>)")
    assert "company identifier alone" in SmartRecruitersSpider.check_params({"company": "Ubi soft"})
    assert SmartRecruitersSpider.min_download_delay == 0.1


def test_spider_fetches_details_then_the_next_page() -> None:
    spider = make_spider()
    [first] = list(spider.start_requests())
    assert first.url == "http://127.0.0.1:9/v1/companies/Ubisoft2/postings?limit=100&offset=0"
    out = list(spider.parse_listing_page(response(FIXTURE.read_bytes()), offset=0))
    assert isinstance(out[0], RawPage)
    requests = [x for x in out if isinstance(x, Request)]
    assert [r.url for r in requests] == [
        f"http://127.0.0.1:9/v1/companies/Ubisoft2/postings/{RELIABILITY}",
        f"http://127.0.0.1:9/v1/companies/Ubisoft2/postings/{CRM}",
        "http://127.0.0.1:9/v1/companies/Ubisoft2/postings?limit=100&offset=2",
    ]
    assert requests[0].meta["external_id"] == RELIABILITY
    assert spider.board_complete is None  # 308 of the 310 postings still to come


def test_spider_skips_details_the_listing_shows_unchanged() -> None:
    items = real_listing()["content"]
    known = {RELIABILITY: fingerprint(items[0]), CRM: "an older fingerprint"}
    out = list(make_spider(known, full_refresh=False).parse_listing_page(response(FIXTURE.read_bytes()), 0))
    assert [x.external_id for x in out if isinstance(x, Seen)] == [RELIABILITY]
    assert [r.url.rsplit("/", 1)[1] for r in out if isinstance(r, Request)][:1] == [CRM]
    # a full refresh fetches every detail page whatever the listing shows
    out = list(make_spider(known, full_refresh=True).parse_listing_page(response(FIXTURE.read_bytes()), 0))
    assert not [x for x in out if isinstance(x, Seen)]


def test_spider_completeness_against_total_found() -> None:
    listing = real_listing()
    spider = make_spider()
    list(spider.parse_listing_page(response(dict(listing, totalFound=2)), offset=0))
    assert spider.board_complete is True and spider.complete
    spider = make_spider()
    list(spider.parse_listing_page(response(dict(listing, offset=308)), offset=308))
    assert not spider.complete
    assert spider.errors == ["listing gave 2 distinct postings of the 310 it reports (totalFound)"]


def test_spider_detail_callback_sets_listing_hash_and_raw() -> None:
    item = real_listing()["content"][0]
    spider = make_spider()
    out = list(spider.parse_posting(detail_response(constructed_detail(item)), listing=item, fp="fp-1"))
    raw, posting = out
    assert isinstance(raw, RawPage) and isinstance(posting, Posting)
    assert posting.listing_hash == "fp-1" and posting.raw_sha256 == raw.sha256 and posting.fetched_at


# --------------------------------------------------------------------------- end to end

COMPANY_PATH = "/v1/companies/Ubisoft2/postings"
SERVED_PER_PAGE = 3  # the replay serves 3 items a page, as a board may serve fewer than asked


def board_items(n: int) -> list[dict]:
    """The two real listing items, then copies of them under new ids."""
    real = real_listing()["content"]
    items = copy.deepcopy(real)
    for k in range(len(real), n):
        extra = copy.deepcopy(real[k % 2])
        extra["id"] = f"7440000000{k:05d}"
        extra["uuid"] = f"00000000-0000-4000-8000-{k:012d}"
        extra["name"] = f"{real[k % 2]['name']} #{k}"
        extra["refNumber"] = f"REF9{k:04d}X"
        extra["ref"] = f"https://api.smartrecruiters.com{COMPANY_PATH}/{extra['id']}"
        items.append(extra)
    return items


def sr_routes(items: list[dict], details: dict[str, Reply] | None = None, total: int | None = None,
              pages: dict[int, Reply] | None = None) -> dict:
    """The listing at its real path, paged by offset; one CONSTRUCTED detail
    per item at its ref path (`details` replaces some)."""

    def listing(path: str, headers: dict) -> Reply:
        query = parse_qs(urlsplit(path).query)
        offset, limit = int(query["offset"][0]), int(query["limit"][0])
        assert limit == 100, path
        if pages and offset in pages:
            return pages[offset]
        body = {"offset": offset, "limit": limit, "totalFound": len(items) if total is None else total,
                "content": items[offset:offset + SERVED_PER_PAGE]}
        return Reply(json.dumps(body))

    routes: dict = {COMPANY_PATH: listing}
    for item in items:
        routes[f"{COMPANY_PATH}/{item['id']}"] = Reply(json.dumps(constructed_detail(item)))
    routes.update({f"{COMPANY_PATH}/{k}": v for k, v in (details or {}).items()})
    return routes


def detail_requests(replay, since: int) -> list[str]:
    return sorted(path.rsplit("/", 1)[1] for _, path, _ in replay.requests[since:]
                  if path.startswith(COMPANY_PATH + "/"))


def listing_requests(replay, since: int) -> list[str]:
    return [path for _, path, _ in replay.requests[since:] if path.startswith(COMPANY_PATH + "?")]


def configure(project, replay) -> None:
    project.write_config(f'[[sources]]\nname = "ubisoft"\nboard = "smartrecruiters"\ncompany = "Ubisoft2"\n'
                         f'base_url = "{replay.url}"\n')


@pytest.mark.slow
def test_smartrecruiters_rounds(project, replay, sessions):
    items = board_items(8)
    board = items[:7]
    x, y, z, w = board[2]["id"], board[3]["id"], board[4]["id"], items[7]["id"]
    configure(project, replay)

    # round 1: 7 postings over 3 listing pages, every detail fetched once
    replay.set_routes(sr_routes(board))
    r = crawl(project, sessions, "ubisoft")
    assert r["exit"] == 0 and r["run"]["status"] == "complete", r
    assert r["run"]["new"] == 7
    assert listing_requests(replay, 0) == [f"{COMPANY_PATH}?limit=100&offset={o}" for o in (0, 3, 6)]
    assert detail_requests(replay, 0) == sorted(i["id"] for i in board)
    stored = {p["external_id"]: p for p in project.json("postings", "--source", "ubisoft")}
    real = stored[RELIABILITY]
    assert real["title"] == "Spécialiste Fiabilité outils et infrastructures - TGQF"
    assert real["description"].startswith("Company Description\n\nTexte construit")
    assert real["apply_url"].endswith(f"/Ubisoft2/{RELIABILITY}-constructed?oga=true")
    assert real["requisition_id"] == "REF31910A" and real["language"] == "fr-CA"

    # round 2: x retitled in the listing (and its ad), y's ad edited silently
    # (its listing entry unchanged), z removed, w added. Only x and w are
    # fetched; y and the others are seen unchanged from the listing alone.
    before = len(replay.requests)
    retitled = dict(board[2], name="Titre modifié")
    board2 = [board[0], board[1], retitled, board[3], board[5], board[6], items[7]]
    silent = Reply(json.dumps(constructed_detail(board[3], job_text="Texte modifié en silence.")))
    replay.set_routes(sr_routes(board2, details={y: silent}))
    r = crawl(project, sessions, "ubisoft")
    assert r["run"]["status"] == "complete" and r["run"]["seen"] == 7, r
    assert detail_requests(replay, before) == sorted([x, w])
    assert events_of(sessions, r["run"]["id"]) == [("changed", x), ("new", w)]
    assert {"field": "title", "old": board[2]["name"], "new": "Titre modifié"} in event(sessions, "changed", x).changes

    # round 3: totalFound says 8 but the pages hold 7: partial, nothing expires
    before = len(replay.requests)
    replay.set_routes(sr_routes(board2, total=8))
    r = crawl(project, sessions, "ubisoft")
    assert r["run"]["status"] == "partial", r
    assert "listing gave 7 distinct postings of the 8 it reports (totalFound)" in r["run"]["reason"]
    assert events_of(sessions, r["run"]["id"]) == [] and detail_requests(replay, before) == []

    # round 4: z missing from a second complete run: expired; no detail fetched
    before = len(replay.requests)
    replay.set_routes(sr_routes(board2))
    r = crawl(project, sessions, "ubisoft")
    assert r["run"]["status"] == "complete"
    assert events_of(sessions, r["run"]["id"]) == [("expired", z)]
    assert detail_requests(replay, before) == []


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_smartrecruiters_storms_walls_empty_answers_and_gone_details(project, replay, sessions):
    """Run on SQLite only: the store's side of these runs is the same on
    both databases (test_smartrecruiters_rounds covers PostgreSQL)."""
    items = board_items(5)
    configure(project, replay)
    replay.set_routes(sr_routes(items))
    assert crawl(project, sessions, "ubisoft")["run"]["status"] == "complete"

    # an edited posting whose detail answers 429 on every try: partial, nothing expires
    edited = [dict(items[0], name="Nouveau titre"), *items[1:]]
    storm = Reply("Too Many Requests", status=429, content_type="text/plain", headers={"Retry-After": "1"})
    before = len(replay.requests)
    replay.set_routes(sr_routes(edited, details={RELIABILITY: storm}))
    r = crawl(project, sessions, "ubisoft")
    assert r["run"]["status"] == "partial" and "posting page failed: HTTP 429" in r["run"]["reason"], r
    assert events_of(sessions, r["run"]["id"]) == []
    assert detail_requests(replay, before) == [RELIABILITY] * 3

    # a bot check instead of the second listing page: failed, "blocked"
    wall = Reply("<html><head><title>Just a moment...</title></head></html>", content_type="text/html")
    replay.set_routes(sr_routes(items, pages={3: wall}))
    r = crawl(project, sessions, "ubisoft")
    assert r["run"]["status"] == "failed" and r["run"]["reason"].startswith("blocked: 'Just a moment...' page"), r
    assert events_of(sessions, r["run"]["id"]) == []

    # totalFound 0 and no content from a board that had postings: suspicious
    replay.set_routes(sr_routes([]))
    r = crawl(project, sessions, "ubisoft")
    # the usual count: the complete run's 5 (the partial one's 4 is only a floor)
    assert r["run"]["status"] == "suspicious" and "saw 0 postings against a usual 5" in r["run"]["reason"], r
    assert events_of(sessions, r["run"]["id"]) == []

    # an unknown company: failed, "board not found"
    replay.set_routes({})
    r = crawl(project, sessions, "ubisoft")
    assert r["run"]["status"] == "failed", r
    assert r["run"]["reason"].startswith("board not found: SmartRecruiters has no company 'Ubisoft2' (HTTP 404")

    # a posting whose listing entry moved and whose detail answers 404: the listing
    # still names it, so the 404 is no proof; it is kept as it was, and the
    # contradiction is an error of the run
    moved = [*items[:4], dict(items[4], releasedDate="2026-09-30T08:00:00.000Z")]
    gone = moved[4]["id"]
    replay.set_routes(sr_routes(moved, details={gone: Reply('{"message": "not found"}', status=404)}))
    r = crawl(project, sessions, "ubisoft")
    assert r["run"]["status"] == "complete", r
    assert events_of(sessions, r["run"]["id"]) == []
    assert (f"posting {gone} is listed but its page answered 404: kept as it was, not expired"
            in run_errors(sessions, r["run"]["id"]))
