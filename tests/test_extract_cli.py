"""`jobdelta extract` and `jobdelta postings --roles` as a user meets them:
the real commands, their exact output, and one-line errors."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.app.cli import main
from crawler.app.extract import extract
from crawler.expiry import Policy
from crawler.items import PUBLIC_FIELDS
from crawler.leases import ensure_source, start_run
from crawler.recorder import Outcome, RunRecorder

DATA = Path(__file__).resolve().parent / "data"
SEED = DATA / "seeds" / "004_7091c9251e9d39dd.txt"
META = DATA / "fixtures" / "jsonld" / "jobseek_meta_software_engineer.html"


def run(args, stdin=None):
    return CliRunner().invoke(main, args, input=stdin, catch_exceptions=False,
                              env={"JOBDELTA_CONFIG": None, "JOBDELTA_DATABASE_URL": None})


def test_extract_a_text_page() -> None:
    r = run(["extract", str(SEED), "--fetched-at", "2025-11-10T09:00:00Z"])
    assert r.exit_code == 0
    printed = json.loads(r.output)
    assert list(printed) == list(PUBLIC_FIELDS)  # every canonical field, in the contract's order
    [expected] = extract(SEED.read_bytes(), fetched_at=datetime(2025, 11, 10, 9, tzinfo=UTC))
    assert printed == expected.to_dict()
    assert (printed["posted_at"], printed["posted_at_raw"]) == ("2025-10-13", "4w ago")
    assert [loc["country"] for loc in printed["locations"]] == ["GB", "CH"]
    # a date alone is midnight UTC
    later = json.loads(run(["extract", str(SEED), "--fetched-at", "2025-12-01"]).output)
    assert (later["posted_at"], later["fetched_at"]) == ("2025-11-03", "2025-12-01T00:00:00+00:00")


def test_extract_from_stdin_with_its_url() -> None:
    url = "https://jobs.example.com/microsoft/200019764?utm_source=feed"
    r = run(["extract", "-", "--url", url, "--fetched-at", "2025-11-10"],
            stdin=SEED.read_text(encoding="utf-8"))
    assert r.exit_code == 0
    printed = json.loads(r.output)
    assert printed["url"] == "https://jobs.example.com/microsoft/200019764"  # tracking removed
    assert printed["title"].startswith("Principal Hardware-Software Co-Design Engineer")


def test_extract_an_html_page_reads_its_structured_data() -> None:
    r = run(["extract", str(META), "--fetched-at", "2026-10-01"])
    assert r.exit_code == 0
    printed = json.loads(r.output)
    assert (printed["title"], printed["deadline"], printed["employment_type"]) == (
        "Software Engineer, Infrastructure", "2026-06-08T12:50:57-07:00", "full_time")
    assert printed["url"] is None  # the page's address was not given: none is made up


def test_extract_errors_are_one_line() -> None:
    r = CliRunner().invoke(main, ["extract", "-"], input="  \n\n")
    assert r.exit_code == 1 and r.output == "error: no posting found in <stdin>\n"
    r = CliRunner().invoke(main, ["extract", "missing.html"])
    assert r.exit_code == 2 and "'missing.html': No such file" in r.output
    r = CliRunner().invoke(main, ["extract", str(SEED), "--format", "table"])
    assert r.exit_code == 2 and "Invalid value for '--format': 'table'" in r.output
    r = CliRunner().invoke(main, ["extract", str(SEED), "--fetched-at", "soonish"])
    assert r.exit_code == 2 and "is not a time" in r.output


def test_extract_help_ends_with_an_example() -> None:
    r = run(["extract", "--help"])
    assert r.exit_code == 0
    usage, _options = r.output.split("Options:")
    assert usage.rstrip().splitlines()[-3:] == [
        "  Example:",
        "    jobdelta extract saved-posting.txt --fetched-at 2025-11-10",
        "    curl -s https://acme.example/jobs/42 | jobdelta extract - --url https://acme.example/jobs/42",
    ]


# --------------------------------------------------------------------------- postings --roles


@pytest.fixture
def two_boards(db_url, sessions, tmp_path) -> Path:
    """One job on an ATS and on the employer's careers site, and another job
    on the ATS only."""
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    description = ("You will build the deployment pipeline that serves millions of requests, "
                   "own its reliability, and work with the teams who depend on it every day.")

    def one_run(source, board, items):
        with sessions.begin() as s:
            src = ensure_source(s, source, board, {})
            rid, sid = start_run(s, src, 60).id, src.id
        rec = RunRecorder(sessions, sid, rid, Policy(), clock=lambda: at)
        for data in items:
            rec.add(data)
        rec.finish(Outcome(complete=True))

    def posting(source, ext, title, req=None):
        return {"source": source, "external_id": ext, "title": title, "company": "Acme",
                "requisition_id": req, "description": description,
                "locations": [{"raw": "Zürich", "city": "Zürich", "region": None, "country": "CH"}]}

    one_run("acme-ats", "greenhouse", [posting("acme-ats", "11", "Platform Engineer", "R-7"),
                                       posting("acme-ats", "12", "Data Analyst")])
    one_run("acme-careers", "jsonld", [posting("acme-careers", "/jobs/platform",
                                               "Platform Engineer (m/w/d)", "R-7")])
    cfg = tmp_path / "jobdelta.toml"
    cfg.write_text(f'[database]\nurl = "{db_url}"\n')
    return cfg


def test_postings_by_role(two_boards) -> None:
    base = ["--config", str(two_boards), "postings", "--roles"]
    table = run(base).output.splitlines()
    assert [re.split(r"\s{2,}", line) for line in table] == [
        ["role_id", "company", "title", "status", "sources", "postings", "confidence"],
        ["1", "Acme", "Platform Engineer", "open", "acme-ats; acme-careers",
         "acme-ats:11; acme-careers:/jobs/platform", "1.0"],
        ["2", "Acme", "Data Analyst", "open", "acme-ats", "acme-ats:12", "1.0"],
    ]
    rows = json.loads(run([*base, "--format", "json"]).output)
    assert [(r["role_id"], r["sources"], r["boards"]) for r in rows] == [
        (1, ["acme-ats", "acme-careers"], ["greenhouse", "jsonld"]), (2, ["acme-ats"], ["greenhouse"])]
    assert rows[0]["postings"][1] == {
        "source": "acme-careers", "external_id": "/jobs/platform", "title": "Platform Engineer (m/w/d)",
        "status": "open", "url": None, "confidence": 1.0,
        "reason": "same role as acme-ats:11: same requisition id R-7"}
    # a source filter keeps the roles seen there, with all their postings
    only = json.loads(run([*base, "--source", "acme-careers", "--format", "json"]).output)
    assert [(r["role_id"], len(r["postings"])) for r in only] == [(1, 2)]
    csv_rows = list(csv.DictReader(io.StringIO(run([*base, "--format", "csv"]).output)))
    assert csv_rows[0]["postings"] == "acme-ats:11; acme-careers:/jobs/platform"
    r = run([*base, "--status", "expired"])
    assert r.exit_code == 0 and r.output == "no roles\n"


def test_postings_help_shows_the_roles_example() -> None:
    r = run(["postings", "--help"])
    assert r.exit_code == 0 and "jobdelta postings --roles --source acme" in r.output
