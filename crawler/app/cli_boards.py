"""The commands that read a board without the history: ``try`` (one board
once, nothing stored), ``extract`` (one saved page), ``boards`` (what can be
crawled) and ``demo`` (the bundled offline board).

Application layer, loaded by ``crawler.app.cli``'s group only when one of
them runs.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from crawler import output
from crawler.app.cli_common import WHEN, ctx_config, format_option
from crawler.app.demo import run_demo
from crawler.app.extract import extract as extract_page
from crawler.app.trial import parse_param, try_board
from crawler.errors import JobdeltaError
from spiders import board_names, spider_class


@click.command("try")
@click.argument("board")
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE",
              help="A board parameter (repeatable); values are read as TOML when they parse.")
@click.option("--base-url", default=None, help="Override the board's address.")
@click.option("--verbose", "-v", is_flag=True, help="Show the crawl log on stderr.")
@format_option(("table", "json"))
@click.pass_context
def try_(ctx: click.Context, board: str, params: tuple[str, ...], base_url: str | None,
         verbose: bool, fmt: str) -> None:
    """Run one board once, store nothing, and show what it parsed and
    whether it saw the whole board. Exits 1 when the board could not be read.

    \b
    Example:
      jobdelta try greenhouse --param token=vercel
    """
    cfg = ctx_config(ctx)
    result = try_board(cfg, board, dict(parse_param(p) for p in params), base_url, verbose=verbose)
    if fmt == "json":
        click.echo(json.dumps(vars(result), indent=2, ensure_ascii=False, default=str))
    else:
        output.write(result.postings, "table", sys.stdout,
                     ["external_id", "title", "locations", "workplace_type", "salary", "deadline", "posted_at"])
        seen = "saw the whole board" if result.complete else "did NOT see the whole board"
        click.echo(f"\n{board}: {result.status}, {len(result.postings)} postings, {result.requests} requests; {seen}")
        for err in result.errors:
            click.echo(f"  error: {err}")
        for g in result.gone:
            click.echo(f"  gone: {g}")
    if result.status == "failed":
        ctx.exit(1)


@click.command()
@click.argument("file", required=False, default="-", type=click.File("rb"))
@click.option("--format", "fmt", type=click.Choice(["json"]), default="json", show_default=True,
              help="Output format.")
@click.option("--fetched-at", type=WHEN, default="now", show_default=True,
              help="When the page was fetched: resolves relative dates (\"4w ago\"). "
                   "now, 2026-11-01, an ISO datetime, 3d (ago).")
@click.option("--url", default=None, help="The page's address (used for its URL and id).")
def extract(file: Any, fmt: str, fetched_at: datetime, url: str | None) -> None:
    """Read one posting page (HTML or plain text) and print its canonical
    fields as JSON.

    FILE is a saved page, or - (the default) for standard input. HTML is
    read from its schema.org JobPosting data first, then from the page text;
    plain text (a page copied from a browser) is read line by line, the
    posting told apart from the page around it. The fields go through the
    same normalization as a crawl, with the *_raw fields showing the text
    each value was read from. A page with several postings prints a list.

    \b
    Example:
      jobdelta extract saved-posting.txt --fetched-at 2025-11-10
      curl -s https://acme.example/jobs/42 | jobdelta extract - --url https://acme.example/jobs/42
    """
    postings = extract_page(file.read(), fetched_at=fetched_at, url=url)
    if not postings:
        raise JobdeltaError(f"no posting found in {getattr(file, 'name', '<stdin>')}")
    found = [p.to_dict() for p in postings]
    click.echo(json.dumps(found[0] if len(found) == 1 else found, indent=2, ensure_ascii=False))


@click.command()
@format_option(("table", "json"))
def boards(fmt: str) -> None:
    """List every board with its parameters and an example source.

    \b
    Example:
      jobdelta boards --format json
    """
    rows = []
    for name in board_names():
        cls = spider_class(name)
        params = {k: {"type": _type_label(p.kind), "required": p.required, "default": p.default, "help": p.help}
                  for k, p in cls.params.items()}
        rows.append({"board": name, "title": cls.title, "default_base_url": cls.default_base_url,
                     "params": params, "example": cls.example})
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for row in rows:
        click.echo(f"{row['board']}: {row['title']}")
        for key, p in row["params"].items():
            flag = "required" if p["required"] else f"default {p['default']!r}" if p["default"] is not None else "optional"
            click.echo(f"  {key} ({p['type']}, {flag}): {p['help']}")
        click.echo("  base_url (string, optional): override the board's address"
                   + (f" (default {row['default_base_url']})" if row["default_base_url"] else ""))
        click.echo("  example:")
        for line in ["[[sources]]", f'name = "my-{row["board"]}"', *row["example"].splitlines()]:
            click.echo(f"    {line}")
        click.echo("")


def _type_label(kind: Any) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return "|".join({"str": "string", "int": "integer", "bool": "boolean", "list": "list",
                     "dict": "table", "float": "number"}.get(k.__name__, k.__name__) for k in kinds)


@click.command()
@click.option("--dir", "workdir", type=click.Path(file_okay=False), default="jobdelta-demo",
              show_default=True, help="Where the demo keeps its config and SQLite database.")
def demo(workdir: str) -> None:
    """Crawl the bundled offline demo board twice and print what changed.

    A local server replays real board responses (a Greenhouse board and a
    careers site with JSON-LD pages); between the two rounds postings are
    added, edited and removed. Nothing leaves this machine.

    \b
    Example:
      jobdelta demo --dir /tmp/jd-demo
    """
    run_demo(Path(workdir), sys.stdout)
