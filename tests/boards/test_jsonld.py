"""`jsonld` behind walls: a captcha page in place of a listing page or a
posting page fails the run as blocked, and nothing expires.

The careers site is built from the real Neura Robotics JSON-LD posting
(tests/data/fixtures/jsonld/, renumbered as postings 1..12), listed ten to a
page with ``rel=next``. The captcha page is CONSTRUCTED (no real one was
saved): a reCAPTCHA interstitial answering HTTP 200 as text/html, the way
such walls are served. Crawled with the real CLI on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest

from crawler.replay import Reply

from ..conftest import DATA
from .replay_helpers import crawl, events_of

pytestmark = pytest.mark.slow

NEURA = DATA / "fixtures" / "jsonld" / "jobseek_neura_robotics_manager.html"
NEURA_ID = "00df0928-b013-448c-b3dd-6c6fb80eadc2"
HTML = "text/html; charset=utf-8"
CAPTCHA_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>One more step</title>
<script src="https://www.google.com/recaptcha/api.js" async defer></script></head>
<body><main><h1>One more step</h1>
<p>Please complete the CAPTCHA below so we know you are not a robot.</p>
<form method="post" action="/challenge"><div class="g-recaptcha" data-sitekey="6Lc_example"></div>
<button type="submit">Continue</button></form>
<p>Why am I seeing this? Unusual traffic came from your network.</p></main></body></html>"""


def posting_page(n: int) -> str:
    """The real Neura posting page as posting number n (its own id and title)."""
    html = NEURA.read_text(encoding="utf-8").replace(NEURA_ID, ext(n))
    for title in ("Manager Ecosystem Integration &amp; Certification (Human)",
                  "Manager Ecosystem Integration & Certification (Human)"):
        html = html.replace(title, f"Manager Ecosystem Integration #{n}")
    return html


def ext(n: int) -> str:
    return f"00df0928-0000-0000-0000-{n:012d}"


def site(postings: range, listing: dict[int, Reply] | None = None,
         pages: dict[int, Reply] | None = None) -> dict[str, Reply]:
    """Listing pages of ten links each (page k at /careers?page=k), posting
    pages at /jobs/N; ``listing`` and ``pages`` replace some of them."""
    ids = list(postings)
    chunks = [ids[i:i + 10] for i in range(0, len(ids), 10)]
    routes: dict[str, Reply] = {}
    for k, chunk in enumerate(chunks, 1):
        links = "".join(f'<li><a href="/jobs/{n}">Manager Ecosystem Integration #{n}</a></li>' for n in chunk)
        nxt = f'<a rel="next" href="/careers?page={k + 1}">Next</a>' if k < len(chunks) else ""
        body = f"<html><head><title>Jobs at Neura</title></head><body><ul>{links}</ul>{nxt}</body></html>"
        routes["/careers" if k == 1 else f"/careers?page={k}"] = (listing or {}).get(k) or Reply(body, content_type=HTML)
    for n in ids:
        routes[f"/jobs/{n}"] = (pages or {}).get(n) or Reply(posting_page(n), content_type=HTML)
    return routes


def configure(project, replay) -> None:
    # one complete run missing a posting would expire it: a wall read as an
    # empty page would show at once
    project.write_config(f'[[sources]]\nname = "neura"\nboard = "jsonld"\nstart_urls = ["/careers"]\n'
                         f'allow = "/jobs/\\\\d+$"\nbase_url = "{replay.url}"\n',
                         defaults="expire_after_runs = 1")


def open_ids(project) -> set[str]:
    return {p["external_id"] for p in project.json("postings", "--source", "neura")}


def first_round(project, replay, sessions) -> None:
    configure(project, replay)
    replay.set_routes(site(range(1, 13)))
    r = crawl(project, sessions, "neura")
    assert r["run"]["status"] == "complete" and r["run"]["new"] == 12, r
    assert open_ids(project) == {ext(n) for n in range(1, 13)}


def test_captcha_instead_of_listing_page_2_fails_blocked_and_expires_nothing(project, replay, sessions):
    first_round(project, replay, sessions)

    replay.set_routes(site(range(1, 13), listing={2: Reply(CAPTCHA_PAGE, content_type=HTML)}))
    r = crawl(project, sessions, "neura")
    assert r["exit"] == 1 and r["run"]["status"] == "failed", r
    assert r["run"]["reason"].startswith("blocked: 'CAPTCHA' page instead of the board at "), r
    assert "/careers?page=2" in r["run"]["reason"]
    assert events_of(sessions, r["run"]["id"]) == []
    assert open_ids(project) == {ext(n) for n in range(1, 13)}  # 11 and 12 were behind the wall

    # the wall gone, the board reads whole again, with no event
    replay.set_routes(site(range(1, 13)))
    r = crawl(project, sessions, "neura")
    assert r["run"]["status"] == "complete" and events_of(sessions, r["run"]["id"]) == [], r


def test_captcha_instead_of_a_posting_page_fails_blocked(project, replay, sessions):
    first_round(project, replay, sessions)

    replay.set_routes(site(range(1, 13), pages={7: Reply(CAPTCHA_PAGE, content_type=HTML)}))
    r = crawl(project, sessions, "neura")
    assert r["run"]["status"] == "failed", r
    assert r["run"]["reason"].startswith("blocked: 'CAPTCHA' page instead of the board at "), r
    assert r["run"]["reason"].endswith("/jobs/7"), r
    assert events_of(sessions, r["run"]["id"]) == []
    assert open_ids(project) == {ext(n) for n in range(1, 13)}
