"""The commands about what changed: ``changes`` (the events) and ``accept``
(confirm a drop, so the postings it holds expire).

Application layer, loaded by ``crawler.app.cli``'s group only when one of
them runs.
"""

from __future__ import annotations

import sys
from datetime import datetime

import click

from crawler import output
from crawler.alerts.render import describe_change
from crawler.app.cli_common import (
    EVENT_KINDS,
    WHEN,
    ctx_config,
    format_option,
    open_session,
    source_names,
)
from crawler.health import accept as accept_drop
from crawler.leases import utcnow
from db import queries


@click.command()
@click.option("--since", type=WHEN, default="7d", show_default=True,
              help="Events at or after this time: 7d, 12h, 2026-11-01, an ISO datetime.")
@click.option("--until", type=WHEN, default=None, help="Events at or before this time.")
@click.option("--source", "-s", multiple=True, help="Only this source (repeatable, or comma-separated).")
@click.option("--kind", "-k", default=None,
              help=f"Comma-separated kinds: {','.join(EVENT_KINDS)}.")
@click.option("--run", "run_id", type=int, default=None, help="Only the events of this run id.")
@click.option("--new-since-last", "news", is_flag=True,
              help="Only events not shown before under --cursor (then remember them as shown); "
                   "--since is ignored.")
@click.option("--cursor", default="default", show_default=True,
              help="The name under which --new-since-last remembers what was shown.")
@format_option(("table", "json", "jsonl", "csv"))
@click.pass_context
def changes(ctx: click.Context, since: datetime, until: datetime | None, source: tuple[str, ...],
            kind: str | None, run_id: int | None, news: bool, cursor: str, fmt: str) -> None:
    """List change events: new, changed, expired, reopened, closing.

    The table shows what changed, old -> new, wrapped to the terminal's
    width; `--format csv` has one row per changed field (field, old, new).

    \b
    Example:
      jobdelta changes --since 2d --kind new,changed
      jobdelta changes --new-since-last --cursor morning
    """
    kinds = [k.strip() for k in kind.split(",") if k.strip()] if kind else None
    bad = [k for k in kinds or [] if k not in EVENT_KINDS]
    if bad:
        raise click.BadParameter(f"unknown kind {bad[0]!r} (kinds: {', '.join(EVENT_KINDS)})",
                                 param_hint="--kind")
    cfg = ctx_config(ctx)
    with open_session(cfg) as session:
        if news:
            rows = list(queries.events_after(session, queries.cursor_position(session, cursor),
                                             sources=source_names(source), kinds=kinds))
        else:
            rows = list(queries.changes(session, since=since, until=until, sources=source_names(source),
                                        kinds=kinds, run_id=run_id))
        if fmt == "table":
            n = output.wrapped_table(
                (dict(r, at=r["at"][:16].replace("T", " "),
                      what="; ".join(describe_change(c) for c in r["changes"] or []) or r["reason"])
                 for r in rows), sys.stdout, ["at", "kind", "source", "title", "what"], wrap=("title", "what"))
        elif fmt == "csv":
            flat = ({**r, "field": c["field"], "old": c.get("old"),
                     "new": c.get("new") if "diff" not in c else c["diff"]}
                    for r in rows for c in (r["changes"] or [{"field": None}]))
            n = output.write(flat, "csv", sys.stdout, ["id", "at", "kind", "source", "external_id", "title",
                                                       "reason", "field", "old", "new"])
        else:
            n = output.write(rows, fmt, sys.stdout, [])
        if news and rows:
            queries.move_cursor(session, cursor, max(r["id"] for r in rows), utcnow())
            session.commit()
    if fmt == "table" and n == 0:
        click.echo("no changes" if not news else f"nothing new since the last look ({cursor})", err=True)


@click.command()
@click.argument("source")
@click.pass_context
def accept(ctx: click.Context, source: str) -> None:
    """Confirm now that SOURCE really shrank.

    A run whose count falls to half or less of the usual one (or whose
    proof would expire too many postings at once) is suspicious and expires
    nothing; after `confirm_runs` such runs in a row the drop is confirmed
    on its own. `accept` confirms it at once: the postings missing from all
    of those runs expire (each event's reason says it was accepted) and the
    usual count starts again from the board's new size. Refused while a run
    of SOURCE is in progress, or when it has no drop waiting.

    \b
    Example:
      jobdelta accept acme
    """
    cfg = ctx_config(ctx)
    with open_session(cfg) as session, session.begin():
        what, expired = accept_drop(session, source, utcnow(),
                                    [s.to_subscription() for s in cfg.subscriptions])
    click.echo(f"{source}: accepted ({what}); {expired} posting{'s' if expired != 1 else ''} expired")
