"""The CLI as a user meets it: help texts, README coverage, one-line errors,
and the query commands' output formats on a database filled by real runs of
the recorder."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import click
import pytest
from click.testing import CliRunner

from crawler.app.cli import main
from crawler.expiry import Policy
from crawler.items import Posting
from crawler.leases import ensure_source, start_run
from crawler.recorder import Outcome, RunRecorder

from .conftest import ROOT


def _commands(group, prefix=""):
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        full = f"{prefix}{name}"
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, full + " ")
        else:
            yield full, cmd


ALL = sorted(_commands(main))


@pytest.mark.parametrize("name", [n for n, _ in ALL])
def test_every_command_has_help_with_example_and_is_in_readme(name):
    result = CliRunner().invoke(main, [*name.split(), "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output, f"`jobdelta {name} --help` has no example"
    readme = (ROOT / "README.md").read_text()
    assert f"jobdelta {name}" in readme, f"`jobdelta {name}` is not documented in README.md"


def run(args, tmp_path, env=None):
    return CliRunner().invoke(main, args, env={"JOBDELTA_CONFIG": None, "JOBDELTA_DATABASE_URL": None, **(env or {})},
                              catch_exceptions=False)


def test_errors_are_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = run(["crawl"], tmp_path)
    assert r.exit_code == 1 and r.output == "error: config file jobdelta.toml not found (create one with `jobdelta init`)\n"
    (tmp_path / "jobdelta.toml").write_text('[[sources]]\nname = "a"\nboard = "greenhouse"\n')
    r = run(["crawl"], tmp_path)
    assert r.exit_code == 1
    assert r.output == ("error: jobdelta.toml: sources[0] (a): token: required for board 'greenhouse' "
                        "(the board token in boards.greenhouse.io/<token>)\n")
    (tmp_path / "jobdelta.toml").write_text('[[sources]]\nname = "a"\nboard = "greenhouse"\ntoken = "a"\n')
    r = run(["crawl", "b"], tmp_path)
    assert r.exit_code == 1 and r.output == "error: unknown source 'b' (known: a)\n"
    r = run(["changes"], tmp_path)
    assert r.exit_code == 1 and "has no jobdelta schema: run `jobdelta db upgrade`" in r.output
    r = run(["history", "nocolon"], tmp_path)
    assert r.exit_code == 2 and "expected SOURCE:EXTERNAL_ID" in r.output
    r = run(["changes", "--since", "yesterdayish"], tmp_path)
    assert r.exit_code == 2 and "is not a time" in r.output
    r = run(["changes", "--kind", "nwe"], tmp_path)
    assert r.exit_code == 2 and "unknown kind 'nwe'" in r.output


def test_init_and_upgrade(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = run(["init"], tmp_path)
    assert r.exit_code == 0 and (tmp_path / "jobdelta.toml").exists()
    r = run(["init"], tmp_path)
    assert r.exit_code == 1 and "exists; use --force" in r.output
    r = run(["db", "upgrade"], tmp_path)
    assert r.exit_code == 0 and "newest schema" in r.output
    r = run(["changes"], tmp_path)
    assert r.exit_code == 0


@pytest.fixture
def filled(db_url, sessions, tmp_path):
    """Two runs: three postings, then one changed and one gone."""
    def one_run(items, hours_ago):
        with sessions.begin() as s:
            src = ensure_source(s, "acme", "greenhouse", {"token": "acme"})
            rid = start_run(s, src, 60).id
            sid = src.id
        at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=hours_ago)
        rec = RunRecorder(sessions, sid, rid, Policy(expire_after_runs=1), clock=lambda: at)
        for it in items:
            rec.add(it.to_dict())
        rec.finish(Outcome(complete=True))

    def p(n, title):
        return Posting(source="acme", external_id=str(n), title=title, company="Acme",
                       locations=[{"raw": "Zürich", "city": "Zürich", "region": None, "country": "CH"}],
                       description="Line one.\n\nLine two.")
    one_run([p(1, "Engineer"), p(2, "Designer"), p(3, "Analyst")], hours_ago=2)
    one_run([p(1, "Senior Engineer"), p(2, "Designer")], hours_ago=1)
    cfg = tmp_path / "jobdelta.toml"
    cfg.write_text(f'[database]\nurl = "{db_url}"\n')
    return cfg


def test_query_formats(filled, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    base = ["--config", str(filled)]
    events = json.loads(run([*base, "changes", "--format", "json"], tmp_path).output)
    assert [(e["kind"], e["external_id"]) for e in events] == [
        ("new", "1"), ("new", "2"), ("new", "3"), ("changed", "1"), ("expired", "3")]
    assert set(events[0]) == {"id", "kind", "source", "external_id", "title", "at", "run_id", "reason",
                              "changes", "posting"}
    assert events[3]["changes"] == [{"field": "title", "old": "Engineer", "new": "Senior Engineer"}]

    table = run([*base, "changes", "--kind", "changed,expired"], tmp_path).output.splitlines()
    assert table[0].split() == ["at", "kind", "source", "title", "what"]
    assert "title: Engineer → Senior Engineer" in table[1]
    text = " ".join(" ".join(table[2:]).split())  # the reason may wrap
    assert "missing from 1 consecutive complete run" in text
    flat = list(csv.DictReader(io.StringIO(run([*base, "changes", "--format", "csv"], tmp_path).output)))
    assert [(r["kind"], r["field"], r["old"], r["new"]) for r in flat][3] == (
        "changed", "title", "Engineer", "Senior Engineer")

    rows = list(csv.DictReader(io.StringIO(run([*base, "postings", "--format", "csv"], tmp_path).output)))
    assert [(r["external_id"], r["title"], r["locations"]) for r in rows] == [
        ("1", "Senior Engineer", "Zürich"), ("2", "Designer", "Zürich")]

    lines = run([*base, "postings", "--status", "all", "--format", "jsonl"], tmp_path).output.splitlines()
    parsed = [json.loads(line) for line in lines]
    assert [(p["external_id"], p["status"]) for p in parsed] == [("1", "open"), ("2", "open"), ("3", "expired")]
    assert {"source", "external_id", "url", "apply_url", "title", "company", "department", "requisition_id",
            "locations", "workplace_type", "employment_type", "salary", "posted_at", "deadline", "description",
            "skills", "language"} <= set(parsed[0])

    first_at = events[0]["at"]
    at_first = json.loads(run([*base, "postings", "--at", first_at, "--format", "json"], tmp_path).output)
    assert [(p["external_id"], p["title"]) for p in at_first] == [("1", "Engineer"), ("2", "Designer"), ("3", "Analyst")]

    hist = run([*base, "history", "acme:1"], tmp_path).output
    assert "version 1" in hist and "version 2" in hist and "title: Engineer -> Senior Engineer" in hist
    r = run([*base, "history", "acme:99"], tmp_path)
    assert r.exit_code == 1 and r.output == "error: no posting acme:99\n"

    runs = json.loads(run([*base, "runs", "--format", "json"], tmp_path).output)
    assert [(r["status"], r["seen"], r["new"], r["changed"], r["expired"]) for r in runs] == [
        ("complete", 2, 0, 1, 1), ("complete", 3, 3, 0, 0)]


def test_changes_table_fits_80_columns_and_strips_control_characters(db_url, sessions, tmp_path,
                                                                      monkeypatch):
    """Board text reaches the terminal without its control characters, and
    the table wraps to the terminal's width."""
    evil = "Engineer <script>alert(1)</script> \x1b[31mRED\x1b[0m \x07bell \u202eevil " + "long " * 30
    with sessions.begin() as s:
        src = ensure_source(s, "acme", "greenhouse", {"token": "acme"})
        rid, sid = start_run(s, src, 60).id, src.id
    rec = RunRecorder(sessions, sid, rid, Policy())
    rec.add(Posting(source="acme", external_id="1", title=evil).to_dict())
    rec.finish(Outcome(complete=True))
    cfg = tmp_path / "jobdelta.toml"
    cfg.write_text(f'[database]\nurl = "{db_url}"\n')
    monkeypatch.setenv("COLUMNS", "80")
    out = run(["--config", str(cfg), "changes"], tmp_path).output
    assert all(len(line) <= 80 for line in out.splitlines()), out
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "<script>" in out  # plain text in a terminal: shown, not run
    # a cursor shows each event once
    base = ["--config", str(cfg), "changes", "--new-since-last", "--cursor", "me", "--format", "json"]
    assert [e["external_id"] for e in json.loads(run(base, tmp_path).output)] == ["1"]
    assert json.loads(run(base, tmp_path).output) == []
