"""The ``jobdelta`` command line: one command per operation.

Every domain error (bad config, unknown source, unreachable database) is
printed as one line on stderr with a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import ipaddress
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from crawler import output
from crawler.app.config import load_config
from crawler.config import STARTER_CONFIG, Config, config_path
from crawler.errors import ConfigError, JobdeltaError, NotFound

_AGO = re.compile(r"^(\d+)\s*(m|h|d|w)$")
EVENT_KINDS = ("new", "changed", "expired", "reopened", "closing")


def parse_when(text: str, *, now: datetime | None = None) -> datetime:
    """``7d``/``12h``/``30m``/``2w`` ago, ``now``, an ISO date (midnight UTC)
    or an ISO datetime (UTC when it has no offset)."""
    now = now or datetime.now(UTC)
    text = text.strip()
    if text == "now":
        return now
    m = _AGO.match(text)
    if m:
        n, unit = int(m.group(1)), m.group(2)
        return now - timedelta(**{{"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[unit]: n})
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a time: use 7d, 12h, now, 2026-11-01 or "
                                 "2026-11-01T09:30:00+00:00") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class _When(click.ParamType):
    name = "WHEN"

    def convert(self, value: Any, param: Any, ctx: Any) -> datetime:
        return value if isinstance(value, datetime) else parse_when(str(value))


WHEN = _When()


class _Group(click.Group):
    """Turns domain errors into one line and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except JobdeltaError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(1)
        except _db_errors() as exc:
            orig = getattr(exc, "orig", None) or exc
            first = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
            click.echo(f"error: database: {first}", err=True)
            ctx.exit(1)


def _db_errors() -> tuple[type[BaseException], ...]:
    from sqlalchemy.exc import OperationalError, ProgrammingError

    return (OperationalError, ProgrammingError)


def _config(ctx: click.Context, required: bool = False) -> Config:
    obj = ctx.ensure_object(dict)
    return load_config(obj.get("config_path"), required=required)


def _session(cfg: Config):  # noqa: ANN202
    from db.engine import session_factory
    from db.migrate import is_current

    if not is_current(cfg.database_url):
        raise JobdeltaError(f"database {_safe_url(cfg.database_url)} has no jobdelta schema: "
                            "run `jobdelta db upgrade` (or `jobdelta crawl`) first")
    return session_factory(cfg.database_url)()


def _safe_url(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]+@", r"//\1:***@", url)


def _sources(values: tuple[str, ...]) -> list[str] | None:
    names = [n for v in values for n in v.split(",") if n]
    return names or None


def _fmt_option(choices: tuple[str, ...] = output.FORMATS) -> Callable[[Any], Any]:
    return click.option("--format", "fmt", type=click.Choice(choices), default="table",
                        show_default=True, help="Output format.")


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
              help="Config file (default: $JOBDELTA_CONFIG, else ./jobdelta.toml).")
@click.version_option(package_name="jobdelta")
@click.pass_context
def main(ctx: click.Context, config_file: str | None) -> None:
    """jobdelta watches job boards and tells you what changed.

    \b
    Example:
      jobdelta init && jobdelta crawl && jobdelta changes --since 7d
    """
    ctx.ensure_object(dict)["config_path"] = config_file


@main.command()
@click.argument("sources", nargs=-1)
@click.option("--jobs", "-j", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Sources crawled in parallel (each in its own process).")
@click.option("--verbose", "-v", is_flag=True, help="Show the crawl log on stderr.")
@click.pass_context
def crawl(ctx: click.Context, sources: tuple[str, ...], jobs: int, verbose: bool) -> None:
    """Crawl sources now and print a summary per source.

    With no SOURCE, every enabled source in the config is crawled. A source
    another process is crawling is "skipped". Then the alerts the runs made
    due are sent (one line per subscription on stderr). Exits 1 when any
    source failed; 130 or 143 when SIGINT or SIGTERM stopped the crawls
    (their runs "aborted: interrupted").

    \b
    Example:
      jobdelta crawl acme acme-careers --jobs 2
    """
    from db.migrate import upgrade
    from scheduler.launch import exit_status, run_sources

    cfg = _config(ctx, required=True)
    names = list(sources) or [s.name for s in cfg.sources if s.enabled]
    for name in names:
        cfg.source(name)  # unknown names fail before anything starts
    if not names:
        raise ConfigError(f"{cfg.path}: no sources configured")
    upgrade(cfg.database_url)
    from scheduler.alerts import send_after_runs

    results = run_sources(cfg, names, jobs=jobs, quiet=not verbose)
    rows = [vars(r) for r in results]
    output.write(rows, "table", sys.stdout,
                 ["source", "run_id", "status", "seen", "new", "changed", "expired", "reopened", "reason"])
    send_after_runs(cfg)
    status = exit_status(results)  # 1 when any failed; 130/143 when SIGINT/SIGTERM stopped them
    if status:
        ctx.exit(status)


@main.command()
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
@_fmt_option(("table", "json", "jsonl", "csv"))
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
    from crawler.alerts.render import describe_change
    from crawler.leases import utcnow
    from db import queries

    kinds = [k.strip() for k in kind.split(",") if k.strip()] if kind else None
    bad = [k for k in kinds or [] if k not in EVENT_KINDS]
    if bad:
        raise click.BadParameter(f"unknown kind {bad[0]!r} (kinds: {', '.join(EVENT_KINDS)})",
                                 param_hint="--kind")
    cfg = _config(ctx)
    with _session(cfg) as session:
        if news:
            rows = list(queries.events_after(session, queries.cursor_position(session, cursor),
                                             sources=_sources(source), kinds=kinds))
        else:
            rows = list(queries.changes(session, since=since, until=until, sources=_sources(source),
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


@main.command()
@click.option("--source", "-s", multiple=True, help="Only this source (repeatable, or comma-separated).")
@click.option("--at", type=WHEN, default="now", show_default=True,
              help="The moment to look at: now, 2026-11-01, an ISO datetime, 3d (ago).")
@click.option("--status", type=click.Choice(["open", "expired", "all"]), default="open",
              show_default=True, help="Open at that moment, expired by then, or both.")
@click.option("--roles", "by_role", is_flag=True,
              help="One row per role (the same job on several boards, or posted again), with "
                   "its sources and postings; shows the roles as they are now (--at is ignored).")
@_fmt_option()
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
    from db import queries

    cfg = _config(ctx)
    with _session(cfg) as session:
        if by_role:
            rows = queries.roles(session, sources=_sources(source), status=status)
            if fmt in ("table", "csv"):
                rows = [dict(r, postings=[f"{p['source']}:{p['external_id']}" for p in r["postings"]])
                        for r in rows]
            n = output.write(rows, fmt, sys.stdout,
                             ["role_id", "company", "title", "status", "sources", "postings",
                              "confidence"])
        else:
            rows = queries.postings_at(session, at, sources=_sources(source), status=status)
            n = output.write(rows, fmt, sys.stdout,
                             ["source", "external_id", "status", "title", "locations", "salary",
                              "deadline"])
    if fmt == "table" and n == 0:
        click.echo("no roles" if by_role else "no postings", err=True)


@main.command()
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
    import json as _json

    from crawler.app.extract import extract as extract_page

    postings = extract_page(file.read(), fetched_at=fetched_at, url=url)
    if not postings:
        raise JobdeltaError(f"no posting found in {getattr(file, 'name', '<stdin>')}")
    found = [p.to_dict() for p in postings]
    click.echo(_json.dumps(found[0] if len(found) == 1 else found, indent=2, ensure_ascii=False))


@main.command()
@click.argument("posting", metavar="SOURCE:EXTERNAL_ID")
@_fmt_option(("table", "json", "jsonl"))
@click.pass_context
def history(ctx: click.Context, posting: str, fmt: str) -> None:
    """Every version of one posting, with its validity and the diff to the
    version before.

    \b
    Example:
      jobdelta history acme:4012345 --format json
    """
    from db import queries

    source, sep, external_id = posting.partition(":")
    if not sep or not source or not external_id:
        raise click.BadParameter("expected SOURCE:EXTERNAL_ID, e.g. acme:4012345", param_hint="POSTING")
    cfg = _config(ctx)
    with _session(cfg) as session:
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


@main.command()
@click.option("--source", "-s", multiple=True, help="Only this source.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10000))
@_fmt_option()
@click.pass_context
def runs(ctx: click.Context, source: tuple[str, ...], limit: int, fmt: str) -> None:
    """Recent crawl runs with their status and counts, newest first.

    \b
    Example:
      jobdelta runs --source acme --limit 5
    """
    from db import queries

    cfg = _config(ctx)
    with _session(cfg) as session:
        rows = queries.runs(session, _sources(source), limit)
    output.write(rows, fmt, sys.stdout,
                 ["id", "source", "started_at", "status", "seen", "new", "changed", "expired", "reason"])


@main.command()
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
    from crawler.health import accept as accept_drop
    from crawler.leases import utcnow

    cfg = _config(ctx)
    with _session(cfg) as session, session.begin():
        what, expired = accept_drop(session, source, utcnow(),
                                    [s.to_subscription() for s in cfg.subscriptions])
    click.echo(f"{source}: accepted ({what}); {expired} posting{'s' if expired != 1 else ''} expired")


@main.command()
@_fmt_option(("table", "json"))
def boards(fmt: str) -> None:
    """List every board with its parameters and an example source.

    \b
    Example:
      jobdelta boards --format json
    """
    import json as _json

    from spiders import board_names, spider_class

    rows = []
    for name in board_names():
        cls = spider_class(name)
        params = {k: {"type": _type_label(p.kind), "required": p.required, "default": p.default, "help": p.help}
                  for k, p in cls.params.items()}
        rows.append({"board": name, "title": cls.title, "default_base_url": cls.default_base_url,
                     "params": params, "example": cls.example})
    if fmt == "json":
        click.echo(_json.dumps(rows, indent=2, ensure_ascii=False))
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


@main.command("try")
@click.argument("board")
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE",
              help="A board parameter (repeatable); values are read as TOML when they parse.")
@click.option("--base-url", default=None, help="Override the board's address.")
@click.option("--verbose", "-v", is_flag=True, help="Show the crawl log on stderr.")
@_fmt_option(("table", "json"))
@click.pass_context
def try_(ctx: click.Context, board: str, params: tuple[str, ...], base_url: str | None,
         verbose: bool, fmt: str) -> None:
    """Run one board once, store nothing, and show what it parsed and
    whether it saw the whole board. Exits 1 when the board could not be read.

    \b
    Example:
      jobdelta try greenhouse --param token=vercel
    """
    import json as _json

    from crawler.app.trial import parse_param, try_board

    cfg = _config(ctx)
    result = try_board(cfg, board, dict(parse_param(p) for p in params), base_url, verbose=verbose)
    if fmt == "json":
        click.echo(_json.dumps(vars(result), indent=2, ensure_ascii=False, default=str))
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


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Create or upgrade the schema to the newest migration.

    \b
    Example:
      JOBDELTA_DATABASE_URL=postgresql://jobdelta@localhost/jobdelta jobdelta db upgrade
    """
    from db.migrate import upgrade

    cfg = _config(ctx.find_root())
    upgrade(cfg.database_url)
    click.echo(f"database {_safe_url(cfg.database_url)} is at the newest schema")


@main.command()
@click.argument("path", required=False, type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.pass_context
def init(ctx: click.Context, path: str | None, force: bool) -> None:
    """Write a commented starter config (default: ./jobdelta.toml).

    \b
    Example:
      jobdelta init && $EDITOR jobdelta.toml
    """
    target = Path(path) if path else config_path(ctx.obj.get("config_path"))
    if target.exists() and not force:
        raise ConfigError(f"{target} exists; use --force to overwrite it")
    target.write_text(STARTER_CONFIG, encoding="utf-8")
    click.echo(f"wrote {target}")


@main.command()
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
    from crawler.app.demo import run_demo

    run_demo(Path(workdir), sys.stdout)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Beyond loopback only with a token ([web] token_env).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, log_level: str) -> None:
    """Serve the history over HTTP, read-only: the pages, the API under
    /api/v1 (docs at /api/docs, schema at /openapi.json) and Atom feeds
    under /feeds.

    Without a token it listens on loopback only. With `[web] token_env` set
    (and that variable holding a token), every request needs
    `Authorization: Bearer <token>`; feeds also accept `?token=` with the
    token of `[web] feed_token_env`.

    \b
    Example:
      jobdelta serve --port 8000   # then open http://127.0.0.1:8000/
    """
    import uvicorn

    from web.app import WebSettings, create_app

    cfg = _config(ctx)
    token = cfg.web.token
    if cfg.web.token_env and not token:
        raise ConfigError(f"[web] token_env: ${cfg.web.token_env} is not set")
    if not _is_loopback(host) and not token:
        raise ConfigError(f"refusing to listen on {host}: without a token ([web] token_env) "
                          "the history is served on loopback only")
    _session(cfg).close()  # the schema must be there
    app = create_app(WebSettings(cfg.database_url, token=token, feed_token=cfg.web.feed_token))
    click.echo(f"jobdelta: serving {_safe_url(cfg.database_url)} on http://{host}:{port}/", err=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=log_level == "debug")


def _add_scheduler_commands() -> None:
    # the scheduling commands live with the scheduler package, the alert
    # commands beside this module
    from crawler.app.cli_alerts import register
    from crawler.app.cli_schedule import daemon, run_due, worker
    from crawler.app.cli_sources import register as register_sources

    for command in (run_due, daemon, worker):
        main.add_command(command)
    register(main)
    register_sources(main)


_add_scheduler_commands()

if __name__ == "__main__":
    main()
