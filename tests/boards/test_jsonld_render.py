"""`jsonld` on sites that give JSON-LD only to a browser (`render = true`,
real headless Chromium) and on Next.js sites that carry it in script data.

The pages are built from the real Meta JSON-LD posting (tests/data/fixtures/
jsonld/); the script that injects it is ours."""

from __future__ import annotations

import json

import pytest

from crawler.replay import Reply

from .test_nextjs import app_router_page, meta_jsonld

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

LISTING = '<html><body><a href="/jobs/swe-infra">Software Engineer, Infrastructure</a></body></html>'


def injected_page(jsonld: dict) -> str:
    """The posting's JSON-LD exists only after JavaScript runs."""
    return ("<!DOCTYPE html><html><head><title>Job</title></head><body><div id=app></div><script>"
            "const s = document.createElement('script'); s.type = 'application/ld+json';"
            f"s.text = JSON.stringify({json.dumps(jsonld)}); document.head.appendChild(s);"
            "document.getElementById('app').textContent = 'Loaded';</script></body></html>")


def config(project, replay, render: bool) -> None:
    project.write_config(f'[[sources]]\nname = "meta"\nboard = "jsonld"\nstart_urls = ["/careers"]\n'
                         f'allow = "/jobs/"\nrender = {str(render).lower()}\nbase_url = "{replay.url}"\n')


def test_render_reads_json_ld_that_only_a_browser_sees(project, replay):
    html = "text/html; charset=utf-8"
    replay.set_routes({"/careers": Reply(LISTING, content_type=html),
                       "/jobs/swe-infra": Reply(injected_page(meta_jsonld()), content_type=html)})
    config(project, replay, render=False)
    proc = project.cli("crawl")
    assert proc.returncode == 0
    run = project.json("runs")[0]
    assert run["status"] == "partial" and "no schema.org JobPosting" in run["reason"]

    config(project, replay, render=True)
    proc = project.cli("crawl")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = project.json("runs")[0]
    assert run["status"] == "complete" and run["new"] == 1, run
    [posting] = project.json("postings", "--status", "all")  # its deadline has passed: expired at once
    assert posting["title"] == "Software Engineer, Infrastructure" and posting["company"] == "Meta"
    assert len(posting["locations"]) == 9 and posting["employment_type"] == "full_time"


def test_next_js_script_data_without_a_browser(project, replay):
    html = "text/html; charset=utf-8"
    replay.set_routes({"/careers": Reply(LISTING, content_type=html),
                       "/jobs/swe-infra": Reply(app_router_page(meta_jsonld()), content_type=html)})
    config(project, replay, render=False)
    proc = project.cli("crawl")
    assert proc.returncode == 0
    assert project.json("runs")[0]["status"] == "complete"
    [posting] = project.json("postings", "--status", "all")  # its deadline has passed: expired at once
    assert posting["title"] == "Software Engineer, Infrastructure"
    assert posting["deadline"] == "2026-06-08T12:50:57-07:00"


def test_a_rendered_captcha_page_fails_the_run_as_blocked(project, replay):
    """Rendered pages pass the same wall check: a challenge that a browser
    sees instead of the posting is a wall, not a page without JSON-LD."""
    html = "text/html; charset=utf-8"
    challenge = ("<!DOCTYPE html><html><head><title>One more step</title></head><body>"
                 "<h1>One more step</h1><div id=box></div><script>document.getElementById('box')"
                 ".textContent = 'Please complete the CAPTCHA below to continue';</script></body></html>")
    replay.set_routes({"/careers": Reply(LISTING, content_type=html),
                       "/jobs/swe-infra": Reply(challenge, content_type=html)})
    config(project, replay, render=True)
    proc = project.cli("crawl")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    run = project.json("runs")[0]
    assert run["status"] == "failed", run
    assert run["reason"].startswith("blocked: 'CAPTCHA' page instead of the board at ") and \
        run["reason"].endswith("/jobs/swe-infra"), run
    assert project.json("postings", "--status", "all") == []
