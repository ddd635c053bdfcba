"""``jobdelta crawl``: crawl sources now, each in a crawl process of its own.

Application layer, loaded by ``crawler.app.cli``'s group only when it runs.
"""

from __future__ import annotations

import logging
import sys

import click

from crawler import output
from crawler.app.cli_common import ctx_config
from crawler.app.logs import on_result, setup_logging
from crawler.app.progress import CrawlProgress
from crawler.errors import ConfigError
from db.migrate import upgrade
from scheduler.alerts import send_after_runs
from scheduler.launch import exit_status, run_sources


@click.command()
@click.argument("sources", nargs=-1)
@click.option("--jobs", "-j", default=1, show_default=True, type=click.IntRange(1, 1000),
              help="Sources crawled at once, sharing crawl processes ([defaults] "
                   "crawl_processes, sources_per_process).")
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
    cfg = ctx_config(ctx, required=True, check_boards=True)
    names = list(sources) or [s.name for s in cfg.sources if s.enabled]
    for name in names:
        cfg.source(name)  # unknown names fail before anything starts
    if not names:
        raise ConfigError(f"{cfg.path}: no sources configured")
    upgrade(cfg.database_url)
    json_logs = (ctx.find_root().obj or {}).get("log_format") == "json"
    if json_logs:
        setup_logging("json")
    log_runs = on_result(cfg.database_url, logger=logging.getLogger("jobdelta.run") if json_logs else None)
    with CrawlProgress(len(names), enabled=not json_logs) as progress:
        results = run_sources(cfg, names, jobs=jobs, quiet=not verbose,
                              on_result=lambda r: (progress(r), log_runs(r)))
    rows = [vars(r) for r in results]
    output.write(rows, "table", sys.stdout,
                 ["source", "run_id", "status", "seen", "new", "changed", "expired", "reopened", "reason"])
    send_after_runs(cfg)
    status = exit_status(results)  # 1 when any failed; 130/143 when SIGINT/SIGTERM stopped them
    if status:
        ctx.exit(status)
