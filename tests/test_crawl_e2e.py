"""End to end: the real CLI crawls local replay servers over several rounds.

Boards are built from the real saved responses in tests/data/fixtures/
(postings added, edited, removed between rounds; listing pages failing;
malformed JSON; a crawl process killed with SIGKILL). Every round checks the
exact events, and that nothing stored is lost or duplicated.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from crawler.replay import Gate, Reply
from db.models import Event, Posting, Run, Version

from .conftest import DATA

pytestmark = pytest.mark.slow

GH_FIXTURE = DATA / "fixtures" / "greenhouse" / "hunt_vercel_jobs_content_true.json"
NEURA = DATA / "fixtures" / "jsonld" / "jobseek_neura_robotics_manager.html"
NO_JSONLD = DATA / "fixtures" / "html_pages" / "jobseek_decathlon_talentclue_jobpage_es.html"


def gh_jobs() -> dict[str, dict]:
    """The two real Vercel jobs, plus copies of them under new ids."""
    real = json.loads(GH_FIXTURE.read_text())["jobs"]
    jobs = {str(j["id"]): j for j in real}
    for n, base in enumerate(real * 2):
        extra = copy.deepcopy(base)
        extra["id"] = 7000000000 + n
        extra["title"] = f"{base['title']} #{n}"
        extra["absolute_url"] = f"https://job-boards.greenhouse.io/vercel/jobs/{extra['id']}"
        jobs[str(extra["id"])] = extra
    return jobs


def gh_board(jobs: list[dict], total: int | None = None) -> Reply:
    body: dict = {"jobs": jobs}
    if total is not None:
        body["meta"] = {"total": total}
    return Reply(json.dumps(body))


def events_of(project, run_id: int) -> list[tuple[str, str]]:
    rows = project.json("changes", "--since", "30d", "--run", str(run_id))
    return sorted((e["kind"], e["external_id"]) for e in rows)


def crawl(project, *names: str) -> dict:
    proc = project.cli("crawl", *names)
    assert proc.stdout, proc.stderr
    line = [ln for ln in proc.stdout.splitlines() if ln.split() and ln.split()[0] in names][0]
    runs = project.json("runs", "--limit", "1")
    return {"exit": proc.returncode, "line": line, "run": runs[0], "stderr": proc.stderr}


def count(sessions, model, *where) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_greenhouse_rounds(project, replay, sessions):
    jobs = gh_jobs()
    a, b, c, d, e = list(jobs)[:5]
    project.write_config(f'[[sources]]\nname = "vercel"\nboard = "greenhouse"\ntoken = "vercel"\n'
                         f'base_url = "{replay.url}"\n')
    path = "/v1/boards/vercel/jobs"

    # round 1: three postings, all new
    replay.set_routes({path: gh_board([jobs[a], jobs[b], jobs[c]], total=3)})
    r = crawl(project, "vercel")
    assert r["exit"] == 0 and r["run"]["status"] == "complete", r
    assert events_of(project, r["run"]["id"]) == sorted([("new", a), ("new", b), ("new", c)])
    posting = project.json("postings", "--source", "vercel")
    by_id = {p["external_id"]: p for p in posting}
    assert by_id[a]["title"] == "Account Executive, Commercial" and by_id[a]["requisition_id"] == "1311"
    assert by_id[a]["company"] == "Vercel"

    # the same board again: nothing new, and the board answered 304
    r = crawl(project, "vercel")
    assert events_of(project, r["run"]["id"]) == [] and r["run"]["seen"] == 3
    assert [p for p in replay.not_modified if p.startswith(path)] == [f"{path}?content=true"]

    # round 2: a retitled, c removed, d added
    edited = dict(jobs[a], title="Account Executive, Commercial (EMEA)")
    replay.set_routes({path: gh_board([edited, jobs[b], jobs[d]], total=3)})
    r = crawl(project, "vercel")
    assert events_of(project, r["run"]["id"]) == sorted([("changed", a), ("new", d)])
    changed = project.json("changes", "--kind", "changed")[0]
    assert changed["changes"] == [{"field": "title", "old": "Account Executive, Commercial",
                                   "new": "Account Executive, Commercial (EMEA)"}]

    # round 3: the board answers 500 on every try: failed, nothing expires
    replay.set_routes({path: Reply("oops", status=500, content_type="text/plain")})
    r = crawl(project, "vercel")
    assert r["exit"] == 1 and r["run"]["status"] == "failed"
    assert "HTTP 500" in r["run"]["reason"] and events_of(project, r["run"]["id"]) == []

    # round 4: malformed JSON: failed with a clear reason, nothing lost
    replay.set_routes({path: Reply('{"jobs": [{"id": 1,')})
    r = crawl(project, "vercel")
    assert r["run"]["status"] == "failed" and "malformed JSON" in r["run"]["reason"]
    assert events_of(project, r["run"]["id"]) == []

    # round 5: a truncated listing (meta.total says more): partial, no expiry
    replay.set_routes({path: gh_board([edited, jobs[b]], total=3)})
    r = crawl(project, "vercel")
    assert r["run"]["status"] == "partial" and "2 of the 3" in r["run"]["reason"]
    assert events_of(project, r["run"]["id"]) == []

    # round 6: c missing from a second complete run (the failed and partial
    # ones in between do not count): expired with its reason
    replay.set_routes({path: gh_board([edited, jobs[b], jobs[d]], total=3)})
    r = crawl(project, "vercel")
    assert events_of(project, r["run"]["id"]) == sorted([("expired", c)])
    expired = project.json("changes", "--kind", "expired")[0]
    assert expired["reason"] == "expired: missing from 2 consecutive complete runs"

    # round 7: c comes back: reopened; e added
    replay.set_routes({path: gh_board([edited, jobs[b], jobs[c], jobs[d], jobs[e]])})
    r = crawl(project, "vercel")
    assert events_of(project, r["run"]["id"]) == sorted([("new", e), ("reopened", c)])

    # nothing duplicated: one posting row per id, one open version per posting
    assert count(sessions, Posting) == 5
    assert count(sessions, Version, Version.valid_to.is_(None)) == 5
    assert count(sessions, Event, Event.kind == "new") == 5
    history = project.json("history", f"vercel:{a}")
    assert [v["version"] for v in history] == [1, 2]


def test_unreachable_board_fails_clearly_and_keeps_data(project, replay, sessions):
    jobs = gh_jobs()
    replay.set_routes({"/v1/boards/vercel/jobs": gh_board(list(jobs.values())[:2])})
    project.write_config(f'[[sources]]\nname = "vercel"\nboard = "greenhouse"\ntoken = "vercel"\n'
                         f'base_url = "{replay.url}"\n')
    assert crawl(project, "vercel")["run"]["status"] == "complete"
    # the board moves to a port nobody listens on
    project.write_config('[[sources]]\nname = "vercel"\nboard = "greenhouse"\ntoken = "vercel"\n'
                         'base_url = "http://127.0.0.1:9"\n')
    r = crawl(project, "vercel")
    assert r["exit"] == 1 and r["run"]["status"] == "failed"
    assert "board could not be read" in r["run"]["reason"] and "Connection" in r["run"]["reason"]
    assert "failed" in r["line"]
    assert count(sessions, Posting, Posting.status == "open") == 2


def jsonld_page(n: int, title: str | None = None) -> str:
    """The real Neura Robotics JSON-LD page, as posting number n."""
    html = NEURA.read_text()
    html = html.replace("00df0928-b013-448c-b3dd-6c6fb80eadc2", f"00df0928-0000-0000-0000-{n:012d}")
    return html.replace("Manager Ecosystem Integration &amp; Certification (Human)",
                        title or f"Manager Ecosystem Integration #{n}").replace(
        "Manager Ecosystem Integration & Certification (Human)", title or f"Manager Ecosystem Integration #{n}")


def careers_site(pages: dict[int, Reply], per_page: int = 10, fail_listing: int | None = None) -> dict:
    """A careers site: listing pages of `per_page` links with rel=next."""
    ids = sorted(pages)
    chunks = [ids[i:i + per_page] for i in range(0, len(ids), per_page)] or [[]]
    routes: dict = {}
    for k, chunk in enumerate(chunks, 1):
        links = "".join(f'<li><a href="/jobs/{n}">Job {n}</a></li>' for n in chunk)
        nxt = f'<a rel="next" href="/careers?page={k + 1}">next</a>' if k < len(chunks) else ""
        body = f"<html><body><ul>{links}</ul>{nxt}</body></html>"
        path = "/careers" if k == 1 else f"/careers?page={k}"
        routes[path] = Reply(body, content_type="text/html", status=500 if k == fail_listing else 200)
    for n, reply in pages.items():
        routes[f"/jobs/{n}"] = reply
    return routes


def html(text: str, status: int = 200) -> Reply:
    return Reply(text, status=status, content_type="text/html; charset=utf-8")


def jsonld_config(project, replay, defaults: str = "") -> None:
    project.write_config(f'[[sources]]\nname = "careers"\nboard = "jsonld"\nstart_urls = ["/careers"]\n'
                         f'allow = "/jobs/\\\\d+$"\nbase_url = "{replay.url}"\n', defaults=defaults)


def ext(n: int) -> str:
    return f"00df0928-0000-0000-0000-{n:012d}"


def test_jsonld_rounds(project, replay, sessions):
    jsonld_config(project, replay)
    pages = {n: html(jsonld_page(n)) for n in range(1, 13)}
    replay.set_routes(careers_site(pages))
    r = crawl(project, "careers")
    assert r["run"]["status"] == "complete" and r["run"]["new"] == 12, r
    first = project.json("postings", "--source", "careers")
    assert {p["company"] for p in first} == {"Neura Robotics GmbH"}
    assert first[0]["locations"][0]["country"] == "DE"

    # listing page 2 fails: partial, nothing expires although 2 postings are unseen
    replay.set_routes(careers_site(pages, fail_listing=2))
    r = crawl(project, "careers")
    assert r["run"]["status"] == "partial" and "listing page failed: HTTP 500" in r["run"]["reason"]
    assert events_of(project, r["run"]["id"]) == []

    # a posting page without JSON-LD: partial, with the page named
    broken = dict(pages)
    broken[3] = html(NO_JSONLD.read_text())
    replay.set_routes(careers_site(broken))
    r = crawl(project, "careers")
    assert r["run"]["status"] == "partial"
    assert "no schema.org JobPosting" in r["run"]["reason"] and "/jobs/3" in r["run"]["reason"]
    assert events_of(project, r["run"]["id"]) == []

    # posting 4 answers 404 while still linked: expired on that evidence;
    # posting 5 is edited; posting 13 is new
    nxt = dict(pages)
    nxt[4] = html("<html><body>Not found</body></html>", status=404)
    nxt[5] = html(jsonld_page(5, title="Senior Manager Ecosystem Integration"))
    nxt[13] = html(jsonld_page(13))
    replay.set_routes(careers_site(nxt))
    r = crawl(project, "careers")
    assert r["run"]["status"] == "complete"
    assert events_of(project, r["run"]["id"]) == sorted([("changed", ext(5)), ("expired", ext(4)), ("new", ext(13))])
    gone = project.json("changes", "--kind", "expired")[0]
    assert gone["reason"] == "expired: detail page answered 404"


def test_killed_run_keeps_its_batches_and_is_aborted_next_start(project, replay, sessions):
    """SIGKILL mid-crawl: committed batches stay, nothing is duplicated when
    the next run sees the same postings, and the killed run is aborted."""
    jsonld_config(project, replay, defaults="batch_size = 5\nconcurrency_per_domain = 1")
    # the first 12 posting pages asked for answer; the board holds the
    # answers after them: the crawl is killed while it waits, with two
    # batches committed
    gate = Gate()
    served: list[int] = []

    def page(n: int):
        def answer(path, headers):
            served.append(n)
            return Reply(jsonld_page(n), content_type="text/html", gate=gate if len(served) > 12 else None)
        return answer

    replay.set_routes(careers_site({n: page(n) for n in range(1, 31)}, per_page=30))
    env = dict(os.environ, JOBDELTA_CACHE_DIR=str(project.workdir / "httpcache"))
    child = subprocess.Popen([sys.executable, "-m", "crawler.app.runner", "--config", str(project.config), "careers"],
                             cwd=project.workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not gate.arrivals or count(sessions, Posting) < 10:
            assert time.monotonic() < deadline, f"crawl did not get going: {len(replay.requests)} requests"
            assert child.poll() is None, child.stderr.read().decode()[-2000:]
            time.sleep(0.1)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    stored = count(sessions, Posting)
    assert 10 <= stored <= 12
    with sessions() as s:
        killed = s.scalars(select(Run)).one()
        assert killed.status == "running"
    gate.release()
    r = crawl(project, "careers")
    assert r["run"]["status"] == "complete" and r["run"]["new"] == 30 - stored
    with sessions() as s:
        killed = s.get(Run, killed.id)
        assert killed.status == "aborted" and "stopped before finishing" in killed.reason
    assert count(sessions, Posting) == 30
    assert count(sessions, Version) == 30
    assert count(sessions, Event, Event.kind == "new") == 30
    assert project.json("runs")[1]["status"] == "aborted"


def test_second_crawl_of_a_leased_source_is_skipped(project, replay, sessions):
    jsonld_config(project, replay)
    # the board holds the posting page's answer: the first crawl holds the
    # lease until the test lets it go on
    gate = Gate()
    pages = {1: html(jsonld_page(1))}
    pages[1].gate = gate
    replay.set_routes(careers_site(pages))
    env = dict(os.environ, JOBDELTA_CACHE_DIR=str(project.workdir / "httpcache"))
    first = subprocess.Popen([sys.executable, "-m", "crawler.app.cli", "--config", str(project.config), "crawl"],
                             cwd=project.workdir, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert gate.wait_arrived(timeout=120), "the first crawl never reached the posting page"
        r = project.cli("crawl", "careers")
        # refused while the first crawl provably held the lease: its run is
        # still running and the second crawl never reached the board
        with sessions() as s:
            assert [run.status for run in s.scalars(select(Run))] == ["running"]
        assert first.poll() is None and gate.arrivals == 1
    finally:
        gate.release()
        out, _ = first.communicate(timeout=120)
    # another process is crawling the source: skipped, which is no failure
    assert r.returncode == 0, r.stdout + r.stderr
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("careers ")][0]
    assert line.split()[1:3] == ["skipped", "0"], r.stdout
    assert "is being crawled by" in line
    assert first.returncode == 0 and " complete " in out, out
    with sessions() as s:
        assert [run.status for run in s.scalars(select(Run))] == ["complete"]


def test_item_pipeline_error_makes_the_run_partial(project, replay, sessions):
    """A posting whose processing raises in an item pipeline (here a salary
    of 401 digits: valid JSON, too large for normalization) is an error of
    the run: partial, so the posting it could not store does not expire."""
    jobs = gh_jobs()
    a, b = list(jobs)[:2]
    project.write_config(f'[[sources]]\nname = "vercel"\nboard = "greenhouse"\ntoken = "vercel"\n'
                         f'base_url = "{replay.url}"\n', defaults="expire_after_runs = 1")
    path = "/v1/boards/vercel/jobs"
    replay.set_routes({path: gh_board([jobs[a], jobs[b]], total=2)})
    assert crawl(project, "vercel")["run"]["status"] == "complete"

    huge = "1" + "0" * 400
    bad = dict(jobs[a], metadata=[{"name": "Salary", "value_type": "currency_range",
                                   "value": {"min_value": 1, "max_value": 2, "unit": "USD"}}])
    body = json.dumps({"jobs": [bad, jobs[b]], "meta": {"total": 2}}).replace('"max_value": 2', f'"max_value": {huge}')
    replay.set_routes({path: Reply(body)})
    r = crawl(project, "vercel")
    assert r["exit"] == 0 and r["run"]["status"] == "partial", r
    assert "item pipeline error: OverflowError" in r["run"]["reason"], r["run"]["reason"]
    assert r["run"]["seen"] == 1
    # a complete run with expire_after_runs = 1 would have expired it
    assert events_of(project, r["run"]["id"]) == []
    assert count(sessions, Posting, Posting.status == "open") == 2


def test_error_before_the_first_request_fails_with_its_reason(project, replay, sessions):
    """A start URL that is no URL: the crawl cannot start. Failed, with the
    reason, exit 1 (it used to be an aborted run and exit 0)."""
    project.write_config('[[sources]]\nname = "careers"\nboard = "jsonld"\nstart_urls = ["careers"]\n'
                         f'base_url = "{replay.url}"\n')
    r = crawl(project, "careers")
    assert r["exit"] == 1 and r["run"]["status"] == "failed", r
    assert r["run"]["reason"] == "crawl could not start: ValueError: Missing scheme in request url: careers"
    assert "failed" in r["line"] and "Missing scheme" in r["line"]
    assert [p for _, p, _ in replay.requests if p != "/robots.txt"] == []


def test_a_base_url_that_is_no_url_is_refused_by_the_config(project, replay, sessions):
    for url in ("not a url", "file:///etc/passwd"):
        project.write_config(f'[[sources]]\nname = "vercel"\nboard = "greenhouse"\ntoken = "vercel"\n'
                             f'base_url = "{url}"\n')
        r = project.cli("crawl", "vercel")
        assert r.returncode == 1 and r.stdout == "", r.stdout
        assert "sources[0].base_url: must be an http:// or https:// address with a host" in r.stderr
        assert f"got {url!r}" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    with sessions() as s:
        assert s.scalars(select(Run)).all() == []


def test_demo_board_rounds(tmp_path):
    """`jobdelta demo` end to end: both rounds, and the report it prints."""
    demo_dir = tmp_path / "demo"
    proc = subprocess.run([sys.executable, "-m", "crawler.app.cli", "demo", "--dir", str(demo_dir)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rounds = proc.stdout.split("== round ")[1:]
    assert len(rounds) == 2 and all(" complete " in r for r in rounds), proc.stdout
    report = proc.stdout.split("== what changed")[1]
    assert "deadline extended by 7 days" in report and "expired: detail page answered 404" in report
    # the digest a subscriber would get, printed and written
    digest = proc.stdout.split("== the email digest")[1]
    assert "title: Account Executive, Commercial → Account Executive, Commercial (EMEA)" in digest
    assert "salary: none → 70,000–85,000 GBP/year" in digest
    html = (demo_dir / "digest.html").read_text()
    assert "Account Executive, Commercial (EMEA)" in html and "<style" not in html  # CSS inlined
    assert (demo_dir / "digest.txt").read_text().startswith("Subject: jobdelta digest: 5 new, 2 changed")
    meta = "/careers/jobs/meta-software-engineer"
    neura = "00df0928-b013-448c-b3dd-6c6fb80eadc2"
    events = json.loads(subprocess.run(
        [sys.executable, "-m", "crawler.app.cli", "--config", str(demo_dir / "jobdelta.toml"), "changes",
         "--format", "json"], capture_output=True, text=True, check=True, cwd=tmp_path).stdout)
    assert sorted((e["kind"], e["source"], e["external_id"]) for e in events) == sorted([
        ("new", "vercel", "6136160004"), ("new", "vercel", "5999792004"),
        ("new", "careers", neura), ("new", "careers", meta),
        ("changed", "vercel", "6136160004"), ("closing", "vercel", "6136160004"),
        ("new", "vercel", "6200000004"), ("expired", "vercel", "5999792004"),
        ("changed", "careers", meta), ("expired", "careers", neura),
    ])
    changed = {e["external_id"]: e for e in events if e["kind"] == "changed"}
    fields = {c["field"] for c in changed["6136160004"]["changes"]}
    assert {"title", "deadline", "salary", "description"} <= fields
    salary = changed["6136160004"]["posting"]["salary"]
    assert [(s["min"], s["max"], s["currency"], s["period"]) for s in salary] == [(70000, 85000, "GBP", "year")]
