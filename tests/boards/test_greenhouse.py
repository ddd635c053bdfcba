"""Greenhouse: what its completeness rests on, and walls served as JSON.

The board is the real Vercel response in tests/data/fixtures/greenhouse/
(two jobs; its saver cut the ``meta`` object, so it has no ``meta.total``).
The bot-check page is CONSTRUCTED after Vercel's Security Checkpoint (the
wall in front of Vercel-hosted sites), served with HTTP 200 and
``Content-Type: application/json`` as API gateways do.
"""

from __future__ import annotations

import json

import pytest
from scrapy.http import TextResponse
from scrapy.utils.test import get_crawler

from crawler.items import Posting
from crawler.replay import Reply
from spiders.greenhouse import GreenhouseSpider

from ..conftest import DATA
from .replay_helpers import crawl, events_of

BOARD = (DATA / "fixtures" / "greenhouse" / "hunt_vercel_jobs_content_true.json").read_text(encoding="utf-8")
PATH = "/v1/boards/vercel/jobs"
URL = f"https://boards-api.greenhouse.io{PATH}?content=true"
CHECKPOINT = ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
              "<title>Vercel Security Checkpoint</title></head><body><main>"
              "<p>We're verifying your browser</p><p>Website owner? Click here to fix</p>"
              "</main></body></html>")


def with_meta(total: int | None) -> str:
    data = json.loads(BOARD)
    if total is not None:
        data["meta"] = {"total": total}
    return json.dumps(data)


def listing(body: str) -> tuple[GreenhouseSpider, list[Posting]]:
    spider = GreenhouseSpider.from_crawler(get_crawler(GreenhouseSpider), source="vercel",
                                           params={"token": "vercel"})
    response = TextResponse(url=URL, body=body.encode(), encoding="utf-8",
                            headers={"Content-Type": "application/json"})
    out = list(spider.parse_board(response))
    return spider, [o for o in out if isinstance(o, Posting)]


def test_without_meta_total_the_whole_response_is_the_basis_and_says_so():
    assert "meta" not in json.loads(BOARD)  # the real saved answer
    spider, postings = listing(BOARD)
    assert len(postings) == 2 and spider.complete
    assert spider.complete_by == "whole response without meta.total; count checked against recent runs only"


@pytest.mark.parametrize("total, complete, complete_by", [
    (2, True, "meta.total = 2"),
    (3, False, None),  # a job missing from the answer
])
def test_with_meta_total_the_count_must_match(total, complete, complete_by):
    spider, postings = listing(with_meta(total))
    assert len(postings) == 2 and spider.complete is complete and spider.complete_by == complete_by
    assert spider.errors == ([] if complete else ["listing holds 2 of the 3 jobs it reports"])


def configure(project, replay) -> None:
    project.write_config(f'[[sources]]\nname = "vercel"\nboard = "greenhouse"\ntoken = "vercel"\n'
                         f'base_url = "{replay.url}"\n', defaults="expire_after_runs = 1")


@pytest.mark.slow
def test_bot_check_served_as_json_fails_blocked_not_malformed(project, replay, sessions):
    configure(project, replay)
    replay.set_routes({PATH: Reply(BOARD)})
    r = crawl(project, sessions, "vercel")
    assert r["run"]["status"] == "complete" and r["run"]["new"] == 2, r

    replay.set_routes({PATH: Reply(CHECKPOINT, content_type="application/json")})
    r = crawl(project, sessions, "vercel")
    assert r["exit"] == 1 and r["run"]["status"] == "failed", r
    assert r["run"]["reason"].startswith("blocked: 'Security Checkpoint' page instead of the board at "), r
    assert "malformed JSON" not in r["run"]["reason"]
    assert events_of(sessions, r["run"]["id"]) == []
    assert len(project.json("postings", "--source", "vercel")) == 2

    # a short non-JSON text where JSON was expected is a wall too when it names one
    replay.set_routes({PATH: Reply("Access denied", content_type="application/json; charset=utf-8")})
    r = crawl(project, sessions, "vercel")
    assert r["run"]["status"] == "failed" and r["run"]["reason"].startswith("blocked: 'Access denied' page"), r
    assert len(project.json("postings", "--source", "vercel")) == 2
