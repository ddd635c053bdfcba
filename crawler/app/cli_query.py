"""The commands that read the history: ``postings``, ``history`` and ``runs``.

Application layer, loaded by ``crawler.app.cli``'s group only when one of
them runs; they read the config without checking its boards (reading the
history needs no spider).
"""

from __future__ import annotations

import sys
from datetime import datetime

import click

from crawler import output
from crawler.app.cli_common import WHEN, ctx_config, format_option, open_session, source_names
from crawler.errors import NotFound
from db import queries


@click.command()
@click.option("--source", "-s", multiple=True, help="Only this source (repeatable, or comma-separated).")
@click.option("--at", type=WHEN, default="now", show_default=True,
              help="The moment to look at: now, 2026-11-01, an ISO datetime, 3d (ago).")
@click.option("--status", type=click.Choice(["open", "expired", "all"]), default="open",
              show_default=True, help="Open at that moment, expired by then, or both.")
@click.option("--roles", "by_role", is_flag=True,
              help="One row per role (the same job on several boards, or posted again), with "
                   "its sources and postings; shows the roles as they are now (--at is ignored).")
@format_option()
@click.pass_context
def postings(ctx: click.Context, source: tuple[str, ...], at: datetime, status: str, by_role: bool,
             fmt: str) -> None:
    """Postings as they stood at a moment, with their content then.

    With --roles, one row per role instead: postings that are one job (same
    requisition id, or same company with near-identical title, place and
    description) are shown together, each with its link confidence.

    \b
    Example:
      jobdelta postings --source acme --at 2026-11-01T12:00:00Z --format jsonl
      jobdelta postings --roles --source acme
    """
    cfg = ctx_config(ctx)
    with open_session(cfg) as session:
        if by_role:
            rows = queries.roles(session, sources=source_names(source), status=status)
            if fmt in ("table", "csv"):
                rows = [dict(r, postings=[f"{p['source']}:{p['external_id']}" for p in r["postings"]])
                        for r in rows]
            n = output.write(rows, fmt, sys.stdout,
                             ["role_id", "company", "title", "status", "sources", "postings",
                              "confidence"])
        else:
            rows = queries.postings_at(session, at, sources=source_names(source), status=status)
            n = output.write(rows, fmt, sys.stdout,
                             ["source", "external_id", "status", "title", "locations", "salary",
                              "deadline"])
    if fmt == "table" and n == 0:
        click.echo("no roles" if by_role else "no postings", err=True)


@click.command()
@click.argument("posting", metavar="SOURCE:EXTERNAL_ID")
@format_option(("table", "json", "jsonl"))
@click.pass_context
def history(ctx: click.Context, posting: str, fmt: str) -> None:
    """Every version of one posting, with its validity and the diff to the
    version before.

    \b
    Example:
      jobdelta history acme:4012345 --format json
    """
    source, sep, external_id = posting.partition(":")
    if not sep or not source or not external_id:
        raise click.BadParameter("expected SOURCE:EXTERNAL_ID, e.g. acme:4012345", param_hint="POSTING")
    cfg = ctx_config(ctx)
    with open_session(cfg) as session:
        versions = queries.history(session, source, external_id)
        if versions is None:
            raise NotFound(f"no posting {source}:{external_id}")
    if fmt != "table":
        output.write(versions, fmt, sys.stdout, [])
        return
    for v in versions:
        until = v["valid_to"] or "now"
        click.echo(f"version {v['version']}  {v['valid_from']} .. {until}  {v['posting'].get('title')}")
        for c in v["changes"] or []:
            if "diff" in c:
                click.echo(f"  {c['field']}:")
                for line in c["diff"].splitlines()[2:]:
                    click.echo(f"    {line}")
            else:
                note = f"  ({c['note']})" if c.get("note") else ""
                click.echo(f"  {c['field']}: {output._cell(c['old'])!s} -> {output._cell(c['new'])!s}{note}")


@click.command()
@click.option("--source", "-s", multiple=True, help="Only this source.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10000))
@format_option()
@click.pass_context
def runs(ctx: click.Context, source: tuple[str, ...], limit: int, fmt: str) -> None:
    """Recent crawl runs with their status and counts, newest first.

    \b
    Example:
      jobdelta runs --source acme --limit 5
    """
    cfg = ctx_config(ctx)
    with open_session(cfg) as session:
        rows = queries.runs(session, source_names(source), limit)
    output.write(rows, fmt, sys.stdout,
                 ["id", "source", "started_at", "status", "seen", "new", "changed", "expired", "reason"])
