"""One-response boards read as a stream: the same postings as before, one at a
time; malformed JSON, a response too large and a short count each fail or
limit the run as before, expiring nothing.

The saved board responses and their golden files are those of the board
tests (tests/data/fixtures, tests/data/golden). Greenhouse boards larger
than a saved one are CONSTRUCTED from copies of the saved Vercel jobs under
new ids. Crawls run the real CLI against loopback servers: the replay
server, which announces every body's length, and a server written here that
sends the body without one (ending it by closing the connection), so both
ways Scrapy cuts a download at ``DOWNLOAD_MAXSIZE`` are covered.
"""

from __future__ import annotations

import copy
import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from scrapy.http import TextResponse
from scrapy.utils.test import get_crawler
from sqlalchemy import select

from crawler.items import Posting, RawPage, Seen
from crawler.replay import Reply
from db.models import Posting as PostingRow
from spiders.ashby import AshbySpider
from spiders.breezy import BreezySpider
from spiders.greenhouse import GreenhouseSpider
from spiders.parsers.greenhouse import parse_jobs
from spiders.personio import PersonioSpider
from spiders.pinpoint import PinpointSpider
from spiders.recruitee import RecruiteeSpider
from spiders.workable import WorkableSpider

from .boards.replay_helpers import check_golden, crawl, events_of, run_errors
from .conftest import DATA

FETCHED_AT = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
VERCEL = DATA / "fixtures" / "greenhouse" / "hunt_vercel_jobs_content_true.json"
GH_PATH = "/v1/boards/vercel/jobs"

# (spider, source, params, fixture, golden, the URL it was fetched from)
BOARDS = [
    (GreenhouseSpider, "vercel", {"token": "vercel"}, "greenhouse/hunt_vercel_jobs_content_true.json",
     None, "https://boards-api.greenhouse.io/v1/boards/vercel/jobs?content=true"),
    (AshbySpider, "linear", {"company": "linear"}, "ashby/hunt_linear_job_board.json",
     "ashby/hunt_linear_job_board.json",
     "https://api.ashbyhq.com/posting-api/job-board/linear?includeCompensation=true"),
    (RecruiteeSpider, "aikido", {"company": "aikidosecurity"}, "recruitee/job-agent_aikido_offers.json",
     "recruitee/job-agent_aikido_offers.json", "https://aikidosecurity.recruitee.com/api/offers/"),
    (BreezySpider, "breezy", {"company": "breezy"}, "breezy/hunt_breezy_trial_json.json",
     "breezy/hunt_breezy_trial_json.json", "https://breezy.breezy.hr/json"),
    (PinpointSpider, "aria", {"company": "aria"}, "pinpoint/llm-job-pipeline_aria_postings.json",
     "pinpoint/llm-job-pipeline_aria_postings.json", "https://aria.pinpointhq.com/postings.json"),
    (WorkableSpider, "vasion", {"account": "vasion"}, "workable/job-agent_vasion_widget_details.json",
     "workable/job-agent_vasion_widget_details.json",
     "https://apply.workable.com/api/v1/widget/accounts/vasion?details=true"),
    (PersonioSpider, "personio", {"company": "personio"}, "personio/ats-jobs-scraper_personio_feed.xml",
     "personio/ats-jobs-scraper_personio_feed.json", "https://personio.jobs.personio.de/xml"),
]


def spider_of(cls: Any, source: str, params: dict[str, Any], **kwargs: Any) -> Any:
    return cls.from_crawler(get_crawler(cls), source=source, params=params, **kwargs)


def board_response(url: str, body: bytes) -> TextResponse:
    return TextResponse(url=url, body=body, encoding="utf-8")


def vercel_board(count: int, total: int | None = None, cut_after: int | None = None) -> bytes:
    """A Greenhouse board of ``count`` copies of the saved Vercel jobs under
    new ids; ``cut_after`` breaks the JSON after that many jobs."""
    real = json.loads(VERCEL.read_text(encoding="utf-8"))["jobs"]
    jobs = []
    for k in range(count):
        job = copy.deepcopy(real[k % len(real)])
        job["id"] = 7_000_000 + k
        job["title"] = f"{job['title']} #{k}"
        jobs.append(job)
    if cut_after is not None:
        head = json.dumps({"jobs": jobs[:cut_after]})[:-2]  # without "]}"
        return (head + ', {"id": 7999999, "title": "cut off' + ' here').encode()
    doc: dict[str, Any] = {"jobs": jobs}
    if total is not None:
        doc["meta"] = {"total": total}
    return json.dumps(doc).encode()


# --------------------------------------------------------------------------- the same postings


@pytest.mark.parametrize(("cls", "source", "params", "fixture", "golden", "url"), BOARDS,
                         ids=[b[0].board for b in BOARDS])
def test_spider_streams_the_postings_the_golden_file_holds(cls, source, params, fixture, golden, url):
    body = (DATA / "fixtures" / fixture).read_bytes()
    spider = spider_of(cls, source, params)
    out = list(spider.parse_board(board_response(url, body)))
    assert isinstance(out[0], RawPage) and out[0].body is body  # kept as it came, not copied
    postings = [o for o in out if isinstance(o, Posting)]
    assert postings and len(postings) == len(out) - 1 and spider.complete
    assert all(p.raw_sha256 == out[0].sha256 and p.source_hash for p in postings)
    for p in postings:
        p.fetched_at = None
    if golden is None:  # Greenhouse: its golden test reads the same saved board (tests/test_golden.py)
        whole = json.loads(body)["jobs"]
        assert [p.external_id for p in postings] == [str(job["id"]) for job in whole]
        return
    check_golden(DATA / "golden" / golden, postings, FETCHED_AT)


def test_streamed_greenhouse_board_equals_the_whole_parse_of_it():
    body = vercel_board(300, total=300)
    spider = spider_of(GreenhouseSpider, "vercel", {"token": "vercel"})
    streamed = [o for o in spider.parse_board(board_response("http://127.0.0.1/b", body))
                if isinstance(o, Posting)]
    whole, total = parse_jobs(board_response("http://127.0.0.1/b", body), "vercel")
    assert total == 300 and spider.complete_by == "meta.total = 300"
    for p in streamed:
        p.fetched_at = p.raw_sha256 = p.source_hash = None
    assert streamed == whole and len(whole) == 300


def test_postings_leave_one_at_a_time_before_the_body_is_read_to_its_end():
    # the body breaks after 3 jobs: the first three are yielded, then the run fails
    spider = spider_of(GreenhouseSpider, "vercel", {"token": "vercel"})
    out = spider.parse_board(board_response("http://127.0.0.1/b", vercel_board(50, cut_after=3)))
    assert isinstance(next(out), RawPage)
    first = next(out)
    assert isinstance(first, Posting) and first.external_id == "7000000" and spider.fatal is None
    rest = list(out)
    assert [p.external_id for p in rest] == ["7000001", "7000002"]
    assert spider.fatal.startswith("malformed JSON from Greenhouse board: ") and not spider.complete


# --------------------------------------------------------------------------- unchanged entries


def test_an_unchanged_entry_is_seen_without_parsing_and_still_counts():
    body = vercel_board(4, total=4)
    url = "http://127.0.0.1/b"
    first = spider_of(GreenhouseSpider, "vercel", {"token": "vercel"})
    hashes = {p.external_id: p.source_hash for p in first.parse_board(board_response(url, body))
              if isinstance(p, Posting)}
    edited = json.loads(body)
    edited["jobs"][1]["title"] = "Edited"
    hashes["7000003"] = "0" * 64  # stored from other content
    spider = spider_of(GreenhouseSpider, "vercel", {"token": "vercel"}, known_raw=hashes)
    out = [o for o in spider.parse_board(board_response(url, json.dumps(edited).encode()))
           if not isinstance(o, RawPage)]
    assert [(type(o).__name__, o.external_id) for o in out] == [
        ("Seen", "7000000"), ("Posting", "7000001"), ("Seen", "7000002"), ("Posting", "7000003")]
    assert spider.complete and spider.complete_by == "meta.total = 4"
    assert spider.crawler.stats.get_value("jobdelta/postings/unchanged_raw") == 2


def test_a_short_count_is_incomplete_whether_entries_were_seen_or_parsed():
    body = vercel_board(3, total=5)
    url = "http://127.0.0.1/b"
    first = spider_of(GreenhouseSpider, "vercel", {"token": "vercel"})
    hashes = {p.external_id: p.source_hash for p in first.parse_board(board_response(url, body))
              if isinstance(p, Posting)}
    assert not first.complete and first.errors == ["listing holds 3 of the 5 jobs it reports"]
    again = spider_of(GreenhouseSpider, "vercel", {"token": "vercel"}, known_raw=hashes)
    out = list(again.parse_board(board_response(url, body)))
    assert sum(isinstance(o, Seen) for o in out) == 3
    assert not again.complete and again.errors == ["listing holds 3 of the 5 jobs it reports"]


# --------------------------------------------------------------------------- runs


def configure(project, base_url: str, source_extra: str = "") -> None:
    project.write_config(f'[[sources]]\nname = "vercel"\nboard = "greenhouse"\ntoken = "vercel"\n'
                         f'base_url = "{base_url}"\n{source_extra}',
                         defaults="expire_after_runs = 1\nobey_robots = false")


def open_ids(sessions) -> set[str]:
    with sessions() as s:
        return set(s.scalars(select(PostingRow.external_id).where(PostingRow.status == "open")))


class _NoLengthHandler(BaseHTTPRequestHandler):
    """Answers every GET with the server's body, without a Content-Length:
    the body ends when the connection closes."""

    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.server.body)  # type: ignore[attr-defined]


@pytest.fixture
def no_length_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NoLengthHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_malformed_json_midway_fails_the_run_and_expires_nothing(project, replay, sessions):
    configure(project, replay.url)
    replay.set_routes({GH_PATH: Reply(vercel_board(6, total=6))})
    r = crawl(project, sessions, "vercel")
    assert r["run"]["status"] == "complete" and r["run"]["new"] == 6, r
    before = open_ids(sessions)

    replay.set_routes({GH_PATH: Reply(vercel_board(6, cut_after=2))})
    r = crawl(project, sessions, "vercel")
    assert r["run"]["status"] == "failed", r
    assert r["run"]["reason"].startswith("malformed JSON from Greenhouse board: "), r
    assert not [e for e in events_of(sessions, r["run"]["id"]) if e[0] == "expired"]
    assert open_ids(sessions) == before


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_response_over_max_download_mb_fails_the_run_naming_the_setting(project, replay, sessions,
                                                                          no_length_server):
    body = vercel_board(60, total=60)  # about 110 KB
    assert 100_000 < len(body) < 200_000
    configure(project, replay.url)
    replay.set_routes({GH_PATH: Reply(body)})
    r = crawl(project, sessions, "vercel")
    assert r["run"]["status"] == "complete" and r["run"]["new"] == 60, r
    before = open_ids(sessions)

    # the replay server announces the length: Scrapy refuses before reading
    # (the board moved on, so the request is not answered 304 from the store)
    body = vercel_board(61, total=61)
    replay.set_routes({GH_PATH: Reply(body)})
    configure(project, replay.url, "max_download_mb = 0.05\n")
    r = crawl(project, sessions, "vercel")
    assert r["run"]["status"] == "failed", r
    assert r["run"]["reason"] == (f"board response of {len(body) / 2**20:.3g} MB larger than "
                                  "max_download_mb = 0.05 MB (raise it for this source: max_download_mb = 1)"), r
    assert run_errors(sessions, r["run"]["id"]) == [r["run"]["reason"]]

    # no length announced: Scrapy cuts the download when the bytes pass the limit
    no_length_server.body = body
    host, port = no_length_server.server_address
    configure(project, f"http://{host}:{port}", "max_download_mb = 0.05\n")
    r = crawl(project, sessions, "vercel")
    assert r["run"]["status"] == "failed", r
    assert r["run"]["reason"] == ("board response larger than max_download_mb = 0.05 MB "
                                  "(raise it for this source: max_download_mb = 1)"), r
    assert open_ids(sessions) == before
    with sessions() as s:
        assert s.scalar(select(PostingRow.id).where(PostingRow.status != "open")) is None

    # raised for this source, the same board is read whole
    configure(project, f"http://{host}:{port}", "max_download_mb = 1\n")
    r = crawl(project, sessions, "vercel")
    assert r["run"]["status"] == "complete" and r["run"]["seen"] == 61 and r["run"]["new"] == 1, r


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_count_below_meta_total_makes_the_run_partial(project, replay, sessions):
    configure(project, replay.url)
    replay.set_routes({GH_PATH: Reply(vercel_board(4, total=4))})
    assert crawl(project, sessions, "vercel")["run"]["status"] == "complete"
    replay.set_routes({GH_PATH: Reply(vercel_board(3, total=4))})
    r = crawl(project, sessions, "vercel")
    assert r["run"]["status"] == "partial", r
    assert "listing holds 3 of the 4 jobs it reports" in run_errors(sessions, r["run"]["id"])
    assert not [e for e in events_of(sessions, r["run"]["id"]) if e[0] == "expired"]
