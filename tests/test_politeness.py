"""Politeness and walls: Retry-After honoured, long waits given up, bot-check
pages reported as blocked (whatever their Content-Type), against the real
crawl and unit by unit: crawler.walls.find_wall and the spider middleware
that puts every response through it."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from scrapy import Request, Spider
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.utils.test import get_crawler

from crawler.errors import Walled
from crawler.middlewares.retry import retry_after_seconds
from crawler.middlewares.walls import WallMiddleware
from crawler.replay import Reply
from crawler.walls import blocked_reason, find_wall
from spiders.greenhouse import GreenhouseSpider

from .conftest import DATA

BOARD = (DATA / "fixtures/greenhouse/hunt_vercel_jobs_content_true.json").read_text()
PATH = "/v1/boards/vercel/jobs"


@pytest.mark.parametrize("value, expected", [
    (None, None), (b"", None), (b"7", 7.0), ("120", 120.0), ("soon", None),
])
def test_retry_after_values(value, expected):
    assert retry_after_seconds(value) == expected


def test_retry_after_http_date():
    now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90
    assert retry_after_seconds(format_datetime(now - timedelta(seconds=5), usegmt=True), now) == 0


CHECKPOINT = ("<html><head><title>Vercel Security Checkpoint</title></head>"
              "<body><p>We're verifying your browser</p></body></html>")
JSON = "application/json"
HTML = "text/html; charset=utf-8"
# a real posting page (the saved Meta one): long, and carrying JobPosting data
META_PAGE = (DATA / "fixtures/jsonld/jobseek_meta_software_engineer.html").read_text()
LONG_POSTING = ("<html><head><title>Platform Engineer</title></head><body><h1>Platform Engineer</h1>"
                "<p>You will build our captcha-free signup and access control; no more "
                "'verify you are human' checks.</p>" + "<p>More about the role.</p>" * 100 + "</body></html>")


def _response(body: str | bytes, status: int = 200, ctype: str = HTML, url: str = "https://x.test/jobs"):
    data = body.encode("utf-8") if isinstance(body, str) else body
    return TextResponse(url=url, body=data, status=status, headers={"Content-Type": ctype}, encoding="utf-8")


@pytest.mark.parametrize("body, status, ctype, kind, reason", [
    # HTML walls, by title or by their few words
    (CHECKPOINT, 200, HTML, "challenge", "blocked: 'Security Checkpoint' page instead of the board at"),
    ("<html><title>Just a moment...</title><body>Checking your browser</body></html>", 503, HTML,
     "challenge", "blocked: 'Just a moment...' page"),
    ("<html><body><h1>Please complete the CAPTCHA to continue</h1></body></html>", 200, HTML,
     "challenge", "blocked: 'CAPTCHA' page"),
    ("<html><body>Please sign in to view this page</body></html>", 200, HTML, "login", "blocked: 'sign in to view'"),
    ("<html><head><title>Attention Required! | Cloudflare</title></head><body>" + "x " * 2000 + "</body></html>",
     403, HTML, "waf", "blocked: 'Attention Required! | Cloudflare' page"),
    # a wall served where JSON was expected: HTML-looking, or a short text
    (CHECKPOINT, 200, JSON, "challenge", "blocked: 'Security Checkpoint' page"),
    ("<!-- cf --><!DOCTYPE html><html><title>Just a moment...</title></html>", 200, "application/json; charset=utf-8",
     "challenge", "blocked: 'Just a moment...' page"),
    ("Access denied", 200, JSON, "waf", "blocked: 'Access denied' page"),
    ("Request unsuccessful. Incapsula incident ID: 1-2-3", 200, "text/plain", "waf",
     "blocked: 'Request unsuccessful. Incapsula' page"),
    # refused outright, whatever the body says
    ("<html><body>Forbidden</body></html>", 403, HTML, "http_403", "blocked: HTTP 403 at https://x.test/jobs"),
    ("", 401, JSON, "http_401", "blocked: HTTP 401"),
    ('{"message": "Forbidden"}', 403, JSON, "http_403", "blocked: HTTP 403"),
])
def test_walls_are_named(body, status, ctype, kind, reason):
    wall = find_wall(_response(body, status, ctype))
    assert wall is not None and wall.kind == kind and wall.reason.startswith(reason), wall
    assert blocked_reason(_response(body, status, ctype)) == wall.reason


@pytest.mark.parametrize("body, status, ctype", [
    ('{"jobs": [], "meta": {"total": 0}}', 200, JSON),  # real JSON, however short
    ('{"jobs": [{"id": 1, "title": "Captcha research engineer"}]}', 200, JSON),
    ("[]", 200, JSON),
    ("", 200, JSON),  # empty: its parser says what is wrong with it
    ("", 200, HTML),
    (LONG_POSTING, 200, HTML),  # a long posting that mentions captchas
    (LONG_POSTING, 200, JSON),
    (META_PAGE, 200, HTML),  # a real posting page
    ("<html><body><h1>Jobs</h1><a href=/jobs/1>Engineer</a><footer>This site is protected by reCAPTCHA "
     "and the Google Privacy Policy</footer></body></html>", 200, HTML),  # a form's footer, not a wall
    ("<html><body>Not found</body></html>", 404, HTML),
    ('<?xml version="1.0"?><urlset><url><loc>https://x.test/jobs/1</loc></url></urlset>', 200, "application/xml"),
])
def test_board_content_is_not_a_wall(body, status, ctype):
    assert find_wall(_response(body, status, ctype)) is None
    assert find_wall(HtmlResponse(url="https://x.test/j/1", body=LONG_POSTING.encode(), encoding="utf-8")) is None


def test_a_binary_body_is_not_read_as_text():
    assert find_wall(Response(url="https://x.test/sitemap.xml.gz", body=b"\x1f\x8b\x08\x00captcha\xff")) is None
    assert find_wall(Response(url="https://x.test/a", body=b"", status=407)).kind == "http_407"


# -- the middleware, handed responses as Scrapy would


def _middleware(spider_cls: type[Spider] = GreenhouseSpider) -> tuple[WallMiddleware, Spider]:
    crawler = get_crawler(spider_cls)
    if spider_cls is GreenhouseSpider:
        spider = GreenhouseSpider.from_crawler(crawler, source="s", params={"token": "t"})
    else:
        spider = spider_cls.from_crawler(crawler, name="plain")
    crawler.spider = spider
    crawler.stats.open_spider()
    return WallMiddleware.from_crawler(crawler), spider


def _fetched(body: str, status: int = 200, ctype: str = JSON, meta: dict | None = None) -> TextResponse:
    request = Request("https://x.test/v1/boards/t/jobs", meta=meta or {})
    return TextResponse(url=request.url, body=body.encode(), status=status, request=request,
                        headers={"Content-Type": ctype}, encoding="utf-8")


def test_middleware_fails_the_run_and_raises_into_the_errback():
    mw, spider = _middleware()
    with pytest.raises(Walled) as raised:
        mw.process_spider_input(_fetched(CHECKPOINT))
    assert raised.value.reason.startswith("blocked: 'Security Checkpoint' page")
    assert spider.fatal == raised.value.reason and not spider.complete
    assert spider.crawler.stats.get_value("jobdelta/walls/challenge") == 1
    # an error page is checked too (the middleware runs before HttpErrorMiddleware)
    with pytest.raises(Walled):
        mw.process_spider_input(_fetched("<html><body>Forbidden</body></html>", status=403, ctype=HTML))
    assert spider.crawler.stats.get_value("jobdelta/walls/http_403") == 1
    # a request without an errback: nothing more happens
    assert mw.process_spider_exception(_fetched(CHECKPOINT), raised.value) == []
    assert mw.process_spider_exception(_fetched(CHECKPOINT), ValueError("x")) is None


def test_middleware_lets_the_board_through():
    mw, spider = _middleware()
    assert mw.process_spider_input(_fetched(BOARD)) is None
    assert mw.process_spider_input(_fetched("<html><body>Bad gateway</body></html>", status=502)) is None
    assert spider.fatal is None and spider.errors == []


def test_middleware_leaves_other_spiders_and_self_checked_requests_alone():
    mw, spider = _middleware(Spider)
    assert mw.process_spider_input(_fetched(CHECKPOINT)) is None
    mw, spider = _middleware()
    assert mw.process_spider_input(_fetched(CHECKPOINT, meta={"dont_check_walls": True})) is None
    assert spider.fatal is None


def test_middleware_is_registered_before_http_errors():
    from scrapy.settings.default_settings import SPIDER_MIDDLEWARES_BASE

    from crawler import settings

    order = settings.SPIDER_MIDDLEWARES["crawler.middlewares.walls.WallMiddleware"]
    assert order < SPIDER_MIDDLEWARES_BASE["scrapy.spidermiddlewares.httperror.HttpErrorMiddleware"]


def _config(project, replay):
    project.write_config(f'[[sources]]\nname = "vercel"\nboard = "greenhouse"\ntoken = "vercel"\n'
                         f'base_url = "{replay.url}"\n')


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_retry_after_is_waited_for(project, replay):
    calls: list[float] = []

    def board(path, headers):
        calls.append(time.monotonic())
        if len(calls) == 1:
            return Reply("slow down", status=429, content_type="text/plain", headers={"Retry-After": "2"})
        return Reply(BOARD)

    replay.set_routes({PATH: board})
    _config(project, replay)
    proc = project.cli("crawl")
    assert proc.returncode == 0 and " complete " in proc.stdout, proc.stdout + proc.stderr
    assert len(calls) == 2 and calls[1] - calls[0] >= 2.0


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_long_retry_after_gives_up_and_expires_nothing(project, replay):
    replay.set_routes({PATH: Reply(BOARD)})
    _config(project, replay)
    assert project.cli("crawl").returncode == 0
    calls: list[float] = []

    def storm(path, headers):
        calls.append(time.monotonic())
        return Reply("rate limited", status=429, content_type="text/plain", headers={"Retry-After": "3600"})

    replay.set_routes({PATH: storm})
    proc = project.cli("crawl")
    assert proc.returncode == 1 and "HTTP 429" in proc.stdout
    assert len(calls) == 1  # not retried: waiting an hour would stall the run
    runs = project.json("runs")
    assert runs[0]["status"] == "failed" and runs[0]["expired"] == 0
    assert len(project.json("postings")) == 2


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_bot_check_instead_of_the_board_fails_as_blocked(project, replay):
    replay.set_routes({PATH: Reply(BOARD)})
    _config(project, replay)
    assert project.cli("crawl").returncode == 0
    wall = "<html><head><title>Vercel Security Checkpoint</title></head><body>We're verifying your browser</body></html>"
    replay.set_routes({PATH: Reply(wall, status=429, content_type="text/html")})
    proc = project.cli("crawl")
    assert proc.returncode == 1
    run = project.json("runs")[0]
    assert run["status"] == "failed" and "blocked: 'Security Checkpoint' page" in run["reason"]
    assert json.loads(project.cli("postings", "--format", "json").stdout).__len__() == 2
