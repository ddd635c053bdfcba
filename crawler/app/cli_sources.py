"""The source commands: ``jobdelta add`` (an employer in one command) and
``jobdelta sources`` (what is configured, and how each source is doing).

Application layer. ``add`` reads a careers URL with :mod:`crawler.app.discover`
(the URL alone, else the fetched page), tries the board once through the
real ``jobdelta try`` in a process of its own (Scrapy's reactor runs once per
process, and ``--from-file`` tries many), and only then appends a
``[[sources]]`` table to the config with tomlkit, so the file keeps its
comments and layout; the new file is validated before it replaces the old one
(written to a temporary file, then renamed). ``sources`` reads the config,
and the database when there is one, for each source's last run, next run
(:mod:`scheduler.due`) and open postings.

With ``JOBDELTA_OFFLINE_TESTS=1`` nothing here reaches beyond loopback: the
page fetch and the trial refuse any other address.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from crawler import output
from crawler.app.cli_common import is_loopback
from crawler.app.config import config_from_dict, load_config
from crawler.app.discover import Recognised, read_page, recognise_url, slug
from crawler.config import COMMON_SOURCE_KEYS, Config, config_path
from crawler.errors import ConfigError, JobdeltaError

OFFLINE_TESTS_ENV = "JOBDELTA_OFFLINE_TESTS"  # "1": fetch and try nothing beyond loopback
PAGE_TIMEOUT = 20.0  # seconds for the careers page to answer
PAGE_MAX_BYTES = 5 * 1024 * 1024  # a careers page is read up to this many bytes
TRIAL_TIMEOUT = 1800.0  # seconds a trial crawl may take before it counts as failed

# Outcomes of one URL, in the order the summary lists them.
ADDED, WOULD_ADD, PRESENT = "added", "would add", "already present"
UNRECOGNISED, CANNOT_CRAWL, FAILED = "not recognised", "cannot crawl yet", "failed"
_OK = (ADDED, WOULD_ADD, PRESENT)


@dataclass
class Outcome:
    """What ``add`` did with one URL."""

    url: str
    status: str
    name: str | None = None
    board: str | None = None
    detail: str = ""
    entry: dict[str, Any] | None = None  # the source written (or that would be)


@dataclass
class _Options:
    name: str | None
    schedule: str | None
    base_url: str | None
    params: dict[str, Any]
    dry_run: bool
    offline: bool
    user_agent: str
    config_file: Path
    say: Any  # progress lines (stderr)


@dataclass
class _Sources:
    """The config's sources as they grow during one ``add`` (a later line of
    --from-file sees what an earlier one added)."""

    raw: dict[str, Any]
    added: list[dict[str, Any]] = field(default_factory=list)

    @property
    def entries(self) -> list[dict[str, Any]]:
        return list(self.raw.get("sources") or []) + self.added


# -- fetching, never beyond loopback in tests


def _guard(url: str, what: str) -> None:
    if os.environ.get(OFFLINE_TESTS_ENV) == "1" and not is_loopback(urlsplit(url).hostname):
        raise JobdeltaError(f"refusing to {what} {url}: {OFFLINE_TESTS_ENV}=1 allows loopback only")


class _GuardedRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> Any:
        _guard(newurl, "follow a redirect to")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch_page(url: str, user_agent: str, timeout: float = PAGE_TIMEOUT,
               max_bytes: int = PAGE_MAX_BYTES) -> tuple[str, str]:
    """``(final URL, text)`` of a careers page, read up to ``max_bytes``.
    A wall (bot check, login) or an HTTP error is a JobdeltaError."""
    from scrapy.http import HtmlResponse

    from crawler.walls import blocked_reason

    _guard(url, "fetch")
    opener = urllib.request.build_opener(_GuardedRedirect())
    request = urllib.request.Request(url, headers={
        "User-Agent": user_agent, "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"})
    try:
        with opener.open(request, timeout=timeout) as answer:
            body, status = answer.read(max_bytes), answer.status
            final, ctype = answer.geturl(), answer.headers.get("Content-Type", "text/html")
    except urllib.error.HTTPError as exc:
        body, status, final = exc.read(max_bytes), exc.code, exc.geturl() or url
        ctype = exc.headers.get("Content-Type", "text/html") if exc.headers else "text/html"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise JobdeltaError(f"could not fetch {url}: {reason}") from None
    response = HtmlResponse(url=final, status=status, body=body, headers={"Content-Type": ctype})
    blocked = blocked_reason(response)
    if blocked:
        raise JobdeltaError(f"{blocked}: the page cannot be read without a browser; try the board's own "
                            "address (the link behind 'Apply' or 'All jobs')")
    if status >= 400:
        raise JobdeltaError(f"could not fetch {url}: HTTP {status}")
    return final, response.text


# -- trying the board, through the real `jobdelta try`


def _toml_value(value: Any) -> str:
    import tomlkit

    return tomlkit.item(value).as_string()


def try_source(config_file: Path | None, board: str, params: dict[str, Any],
               base_url: str | None) -> dict[str, Any]:
    """Run ``jobdelta try`` for the board in a process of its own and return
    its JSON result (``status``, ``complete``, ``postings``, ``errors``)."""
    for value in [base_url, *_urls_in(params)]:
        if value:
            _guard(value, "try")
    if os.environ.get(OFFLINE_TESTS_ENV) == "1" and not base_url and not _urls_in(params):
        raise JobdeltaError(f"refusing to try {board} at its public address: {OFFLINE_TESTS_ENV}=1 "
                            "allows loopback only (give --base-url)")
    cmd = [sys.executable, "-m", "crawler.app.cli"]
    if config_file is not None:
        cmd += ["--config", str(config_file)]
    cmd += ["try", board, "--format", "json"]
    for key, value in params.items():
        cmd += ["--param", f"{key}={_toml_value(value)}"]
    if base_url:
        cmd += ["--base-url", base_url]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TRIAL_TIMEOUT)
    except subprocess.TimeoutExpired:
        return {"status": "failed", "complete": False, "postings": [],
                "errors": [f"the trial took longer than {TRIAL_TIMEOUT:g}s"]}
    try:
        return json.loads(proc.stdout)
    except ValueError:
        lines = [ln for ln in (proc.stderr or "").strip().splitlines() if ln.strip()]
        return {"status": "failed", "complete": False, "postings": [],
                "errors": [lines[-1] if lines else f"`jobdelta try` exited {proc.returncode}"]}


def _urls_in(params: dict[str, Any]) -> list[str]:
    values = [v for value in params.values() for v in (value if isinstance(value, list) else [value])]
    return [v for v in values if isinstance(v, str) and v.startswith(("http://", "https://"))]


def describe_trial(result: dict[str, Any]) -> str:
    n = len(result.get("postings") or [])
    seen = "saw the whole board" if result.get("complete") else "did NOT see the whole board"
    text = f"{result.get('status')}, {n} posting{'s' if n != 1 else ''}; {seen}"
    errors = result.get("errors") or []
    return text + (f" ({'; '.join(errors[:3])})" if errors else "")


# -- the config file, kept as written


def _defaults(board: str) -> dict[str, Any]:
    from spiders import spider_class

    return {k: p.default for k, p in spider_class(board).params.items()}


def _same_board(entry: dict[str, Any], board: str, params: dict[str, Any]) -> bool:
    if entry.get("board") != board:
        return False
    theirs = {k: v for k, v in entry.items() if k not in COMMON_SOURCE_KEYS}
    defaults = _defaults(board)
    return {**defaults, **theirs} == {**defaults, **params}


def _choose_name(wanted: str | None, suggested: str, board: str, taken: dict[str, dict[str, Any]],
                 say: Any) -> str:
    if wanted:
        if wanted in taken:
            other = taken[wanted]
            raise ConfigError(f"name {wanted!r} is taken by the source {wanted!r} (board {other.get('board')!r}):"
                              " choose another --name")
        return wanted
    base = suggested or board
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    say(f"  the name {base!r} is taken (board {taken[base].get('board')!r}): using {base}-{n} "
        "(or give --name)")
    return f"{base}-{n}"


def render_entry(entry: dict[str, Any], fmt: str) -> str:
    import tomlkit

    if fmt == "json":
        return json.dumps(entry, indent=2, ensure_ascii=False)
    doc = tomlkit.document()
    tables = tomlkit.aot()
    tables.append(tomlkit.item(entry))
    doc["sources"] = tables
    return tomlkit.dumps(doc).strip()


def append_sources(text: str, entries: list[dict[str, Any]], path: Path) -> str:
    """The config text with ``entries`` appended as ``[[sources]]`` tables,
    everything else (comments, order, layout) as it was; checked to load."""
    import tomlkit
    from tomlkit.items import AoT

    doc = tomlkit.parse(text)
    tables = doc.get("sources")
    if tables is None:
        tables = tomlkit.aot()
        for entry in entries:
            tables.append(tomlkit.item(entry))
        if text.strip():
            doc.add(tomlkit.nl())
        doc.append("sources", tables)
    elif isinstance(tables, AoT):
        for entry in entries:
            table = tomlkit.item(entry)
            table.trivia.indent = "\n"  # a blank line before each new table
            tables.append(table)
    else:
        raise ConfigError(f"{path}: 'sources' is not an array of [[sources]] tables; add the source by hand")
    new_text = tomlkit.dumps(doc)
    config_from_dict(tomllib.loads(new_text), path)  # what is written must load
    return new_text


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it
    over ``path``: a reader sees the old file or the new one, never half."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# -- one URL


def _recognise(url: str, opts: _Options) -> tuple[Recognised | None, str]:
    """The board behind ``url`` and, when none is found, what was found
    instead and what to try."""
    from spiders import board_names, check_params

    found = recognise_url(url)
    if found is not None:
        if opts.offline or found.board not in board_names() \
                or not check_params(found.board, {**found.params, **opts.params}):
            return found, ""
        # the URL names the board but not all of its parameters (an Eightfold
        # site's domain): its page may say the rest
        try:
            final, text = fetch_page(url, opts.user_agent)
        except JobdeltaError as exc:
            opts.say(f"  its page could not be read for the missing parameters: {exc}")
            return found, ""
        for more, _ in read_page(text, final).boards:
            if more.board == found.board and set(more.params) > set(found.params):
                return Recognised(found.board, {**more.params, **found.params}, more.name,
                                  f"{found.evidence}, the rest from its page"), ""
        return found, ""
    if opts.offline:
        return None, ("no supported system's URL shape matches; without --offline the page is fetched "
                      "and searched for an embedded board")
    final, text = fetch_page(url, opts.user_agent)
    findings = read_page(text, final)
    for line in findings.summary():
        opts.say(f"  {line}")
    if findings.best is not None:
        return findings.best, ""
    seen = "; ".join(findings.summary()) or "no job board, embed or schema.org JobPosting data"
    return None, (f"{seen} on {final}. Try the board's own address (the link behind 'Apply' or "
                  "'All jobs'), or write the source by hand: `jobdelta boards` lists every board "
                  "(`browser` renders pages that draw their listing with JavaScript)")


def add_one(url: str, opts: _Options, sources: _Sources) -> Outcome:
    """Recognise, check, try and (unless --dry-run) stage one source."""
    from spiders import board_names, check_params

    opts.say(f"{url}:")
    try:
        found, why_not = _recognise(url, opts)
    except JobdeltaError as exc:
        return Outcome(url, FAILED, detail=str(exc))
    if found is None:
        return Outcome(url, UNRECOGNISED, detail=why_not)
    params = {**found.params, **opts.params}
    what = Recognised(found.board, params, found.name, found.evidence).describe()
    opts.say(f"  recognised as {what} from {found.evidence}")
    if found.board not in board_names():
        return Outcome(url, CANNOT_CRAWL, board=found.board,
                       detail=f"recognised as {found.board}, which this version cannot crawl yet")
    problem = check_params(found.board, params)
    if problem:
        return Outcome(url, FAILED, board=found.board,
                       detail=f"{problem}; give it with --param KEY=VALUE")
    entries = sources.entries
    for entry in entries:
        if _same_board(entry, found.board, params):
            return Outcome(url, PRESENT, name=entry.get("name"), board=found.board,
                           detail=f"already present as {entry.get('name')!r}")
    taken = {e["name"]: e for e in entries if isinstance(e.get("name"), str)}
    try:
        name = _choose_name(opts.name, slug(found.name), found.board, taken, opts.say)
    except ConfigError as exc:
        return Outcome(url, FAILED, board=found.board, detail=str(exc))
    entry: dict[str, Any] = {"name": name, "board": found.board, **params}
    if opts.base_url:
        entry["base_url"] = opts.base_url
    if opts.schedule:
        entry["schedule"] = opts.schedule
    try:
        config_from_dict({**sources.raw, "sources": [*entries, entry]}, opts.config_file)
    except ConfigError as exc:
        return Outcome(url, FAILED, name=name, board=found.board, detail=str(exc))
    if opts.offline:
        detail = (f"not tried (--offline): `jobdelta try {found.board} "
                  + " ".join(f"-p '{k}={_toml_value(v)}'" for k, v in params.items()) + "`")
        opts.say(f"  {detail}")
    else:
        result = try_source(opts.config_file, found.board, params, opts.base_url)
        detail = "tried: " + describe_trial(result)
        opts.say(f"  {detail}")
        if result.get("status") == "failed":
            return Outcome(url, FAILED, name=name, board=found.board, detail=detail, entry=entry)
    sources.added.append(entry)
    return Outcome(url, WOULD_ADD if opts.dry_run else ADDED, name=name, board=found.board, detail=detail,
                   entry=entry)


def read_url_file(path: str) -> list[str]:
    """One URL a line; blank lines and ``#`` comments (whole lines, or after
    a space) are skipped."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    urls = []
    for line in lines:
        text = line.split(" #", 1)[0].strip()
        if text and not text.startswith("#"):
            urls.append(text)
    return urls


# -- the commands


def _options_param(values: tuple[str, ...]) -> dict[str, Any]:
    from crawler.app.trial import parse_param

    return dict(parse_param(v) for v in values)


@click.command("add")
@click.argument("url", required=False)
@click.option("--from-file", "from_file", type=click.Path(dir_okay=False), default=None,
              help="Add every URL in this file (one a line, # comments); one write at the end.")
@click.option("--name", default=None, help="The source's name (default: from the board's token).")
@click.option("--schedule", default=None, help='Cron expression or "every 2h" for the new source.')
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE",
              help="Set or correct a board parameter (repeatable), as in `jobdelta try`.")
@click.option("--base-url", default=None,
              help="The board's address, for a mirror (written to the source as base_url).")
@click.option("--dry-run", is_flag=True, help="Print the source that would be added; write nothing.")
@click.option("--offline", is_flag=True,
              help="Recognise from the URL alone: fetch nothing, try nothing.")
@click.option("--format", "fmt", type=click.Choice(("toml", "json")), default="toml", show_default=True,
              help="How --dry-run prints the source; json also makes --from-file's summary a JSON list.")
@click.pass_context
def add(ctx: click.Context, url: str | None, from_file: str | None, name: str | None, schedule: str | None,
        params: tuple[str, ...], base_url: str | None, dry_run: bool, offline: bool, fmt: str) -> None:
    """Add an employer's board to the config from its careers URL.

    The URL is recognised by its shape (boards.greenhouse.io/<token>,
    jobs.lever.co/<site>, <tenant>.wd5.myworkdayjobs.com/<site>,
    <company>.recruitee.com ... every system in `jobdelta boards`), else the
    page is fetched and searched for the board it embeds or links to
    (Greenhouse, Lever, Ashby, Workday ... Eightfold, Phenom and
    SuccessFactors markers), else for schema.org JobPosting data and posting
    links (a jsonld source); --offline reads the URL alone and fetches
    nothing. The board is tried once, as `jobdelta try` does, and the
    count and whether it was seen whole are shown; then a [[sources]]
    table is appended to the config, its comments and layout kept. A board
    that fails the trial writes nothing (exit 1). A source with the same
    board and parameters is "already present" (nothing written, exit 0); a
    name already taken gets a -2 suffix, or give --name.

    With --from-file each line is added the same way, a table of what
    happened is printed, and the config is written once at the end with
    the lines that succeeded; exit 1 when any line failed.

    \b
    Example:
      jobdelta add https://boards.greenhouse.io/vercel --schedule "every 6h"
      jobdelta add https://careers.example.com/jobs --dry-run --format json
      jobdelta add --from-file companies.txt
    """
    if bool(url) == bool(from_file):
        raise click.UsageError("give a URL or --from-file FILE (not both)")
    if from_file and name:
        raise click.UsageError("--name names one source: not with --from-file")
    root = ctx.find_root().obj or {}
    cfg = load_config(root.get("config_path"), required=True)
    path = cfg.path or config_path(root.get("config_path"))
    text = path.read_text(encoding="utf-8")
    sources = _Sources(raw=tomllib.loads(text))
    opts = _Options(name=name, schedule=schedule, base_url=base_url, params=_options_param(params),
                    dry_run=dry_run, offline=offline, user_agent=cfg.defaults.user_agent,
                    config_file=path, say=lambda line: click.echo(line, err=True))
    if schedule:
        from crawler.config import parse_schedule

        try:
            parse_schedule(schedule)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--schedule") from None
    urls = read_url_file(from_file) if from_file else [url or ""]
    outcomes = [add_one(u, opts, sources) for u in urls]
    staged = [o.entry for o in outcomes if o.status in (ADDED, WOULD_ADD) and o.entry]
    if staged and not dry_run:
        write_atomically(path, append_sources(text, staged, path))
    if from_file:
        _report_many(outcomes, path, dry_run, fmt)
    else:
        _report_one(outcomes[0], path, fmt)
    if any(o.status not in _OK for o in outcomes):
        ctx.exit(1)


def _report_one(outcome: Outcome, path: Path, fmt: str) -> None:
    if outcome.status == WOULD_ADD and outcome.entry:
        click.echo(render_entry(outcome.entry, fmt))
        click.echo(f"dry run: {path} not changed", err=True)
    elif outcome.status == ADDED and outcome.entry:
        click.echo(f"added source {outcome.name!r} ({outcome.board}) to {path}")
    elif outcome.status == PRESENT:
        click.echo(f"{outcome.detail}: {path} not changed")
    else:
        click.echo(f"error: {outcome.url}: {outcome.status}: {outcome.detail}; {path} not changed", err=True)


def _report_many(outcomes: list[Outcome], path: Path, dry_run: bool, fmt: str) -> None:
    rows = [{"url": o.url, "outcome": o.status, "source": o.name, "board": o.board, "detail": o.detail}
            for o in outcomes]
    if fmt == "json":  # one JSON list: each line's outcome, with the source it added (or would)
        click.echo(json.dumps([dict(row, entry=o.entry if o.status in (ADDED, WOULD_ADD) else None)
                               for row, o in zip(rows, outcomes, strict=True)], indent=2, ensure_ascii=False))
    else:
        if dry_run:
            for o in outcomes:
                if o.status == WOULD_ADD and o.entry:
                    click.echo(render_entry(o.entry, fmt) + "\n")
        output.wrapped_table(rows, sys.stdout if not dry_run else sys.stderr,
                             ["url", "outcome", "source", "board", "detail"], wrap=("url", "detail"))
    counts = {s: sum(o.status == s for o in outcomes) for s in (ADDED, WOULD_ADD, PRESENT, UNRECOGNISED,
                                                                 CANNOT_CRAWL, FAILED)}
    said = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    written = counts[ADDED]
    tail = f"{path} not changed" if dry_run or not written else f"{path} written once"
    click.echo(f"{said}; {tail}", err=True)


@click.command("sources")
@click.option("--format", "fmt", type=click.Choice(output.FORMATS), default="table", show_default=True,
              help="Output format.")
@click.pass_context
def sources_cmd(ctx: click.Context, fmt: str) -> None:
    """The configured sources: board, parameters, schedule, next run, last
    run status and open postings.

    Last run and open postings come from the database when it exists and
    has the schema (else they are empty). The next run follows
    `jobdelta run-due`: a scheduled source that never ran is due now, an
    unscheduled one runs only when crawled by hand.

    \b
    Example:
      jobdelta sources --format json
    """
    root = ctx.find_root().obj or {}
    cfg = load_config(root.get("config_path"), required=True)
    rows = source_rows(cfg)
    if fmt in ("table", "csv"):
        rows = [dict(r, params=" ".join(f"{k}={_toml_value(v)}" for k, v in r["params"].items()))
                for r in rows]
    n = output.write(rows, fmt, sys.stdout, ["name", "board", "params", "schedule", "next_run",
                                             "last_status", "last_run", "open_postings"])
    if fmt == "table" and n == 0:
        click.echo(f"no sources in {cfg.path}: add one with `jobdelta add URL`", err=True)


def source_rows(cfg: Config) -> list[dict[str, Any]]:
    from scheduler.due import schedule_status

    state = _database_state(cfg)
    last_started = state["last_started"] if state else {}
    due = {d.source: d for d in schedule_status(cfg.sources, last_started)}
    rows = []
    for src in cfg.sources:
        status = (state or {}).get("status", {}).get(src.name, {})
        if not src.enabled:
            next_run = "disabled"
        elif not src.schedule:
            next_run = "by hand"
        elif src.name in due and due[src.name].last_started is None:
            next_run = "now (never ran)"
        else:
            at = due[src.name].due_at if src.name in due else None
            next_run = at.isoformat(timespec="seconds") if at else "no fire time left"
        rows.append({"name": src.name, "board": src.board, "params": src.params,
                     "base_url": src.base_url, "schedule": src.schedule, "enabled": src.enabled,
                     "next_run": next_run, "last_status": status.get("last_status"),
                     "last_run": status.get("last_run"),
                     "open_postings": (state or {}).get("open", {}).get(src.name, 0 if state else None)})
    return rows


def _database_state(cfg: Config) -> dict[str, Any] | None:
    """Last run starts, last statuses and open postings per source; None
    when there is no database (a SQLite file not made yet) or no schema."""
    url = cfg.database_url
    if url.startswith("sqlite"):
        file = url.split("///", 1)[1] if "///" in url else ""
        if not file or file == ":memory:" or not Path(file).exists():
            return None
    from sqlalchemy import func, select
    from sqlalchemy.exc import SQLAlchemyError

    from db import queries
    from db.engine import session_factory
    from db.migrate import is_current
    from db.models import Posting, Source
    from db.vocab import PostingStatus
    from scheduler.due import last_run_starts

    try:
        if not is_current(url):
            return None
        with session_factory(url)() as session:
            status = {row["source"]: row for row in queries.source_status(session)}
            # counted here: db.queries has no count of open postings per source yet
            open_counts = dict(session.execute(
                select(Source.name, func.count(Posting.id)).join(Posting, Posting.source_id == Source.id)
                .where(Posting.status == PostingStatus.OPEN).group_by(Source.name)).all())
            return {"last_started": last_run_starts(session), "status": status, "open": open_counts}
    except SQLAlchemyError as exc:
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        click.echo(f"note: database not read ({first[0] if first else type(exc).__name__})", err=True)
        return None
