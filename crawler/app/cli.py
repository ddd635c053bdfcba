"""The ``jobdelta`` command line: one command per operation.

Every domain error (bad config, unknown source, unreachable database) is
printed as one line on stderr with a non-zero exit code, never a traceback.

The group knows its commands by name (:data:`COMMANDS`): a command's module
is imported only when that command runs or its help is shown, so
``jobdelta --help`` imports click and this module, and each command pays
only for what it uses (the crawl commands never load the web app, the read
commands never load a spider). ``tests/test_cli_startup.py`` checks both.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from crawler.errors import JobdeltaError

# command -> ("module:attribute", its one-line help as `jobdelta --help` lists
# it; tests/test_cli_startup.py checks it against the command's own help)
COMMANDS: dict[str, tuple[str, str]] = {
    "accept": ("crawler.app.cli_changes:accept", "Confirm now that SOURCE really shrank."),
    "add": ("crawler.app.cli_sources:add", "Add an employer's board to the config from its careers URL."),
    "alerts": ("crawler.app.cli_alerts:alerts", "Alerts: what was sent to whom, what is waiting, and why."),
    "boards": ("crawler.app.cli_boards:boards", "List every board with its parameters and an example source."),
    "changes": ("crawler.app.cli_changes:changes",
                "List change events: new, changed, expired, reopened, closing."),
    "crawl": ("crawler.app.cli_crawl:crawl", "Crawl sources now and print a summary per source."),
    "daemon": ("crawler.app.cli_schedule:daemon", "Run every scheduled source on its schedule until stopped."),
    "db": ("crawler.app.cli_admin:db", "Database schema commands."),
    "demo": ("crawler.app.cli_boards:demo",
             "Crawl the bundled offline demo board twice and print what changed."),
    "extract": ("crawler.app.cli_boards:extract",
                "Read one posting page (HTML or plain text) and print its canonical fields as JSON."),
    "history": ("crawler.app.cli_query:history",
                "Every version of one posting, with its validity and the diff to the version before."),
    "init": ("crawler.app.cli_admin:init", "Write a commented starter config (default: ./jobdelta.toml)."),
    "postings": ("crawler.app.cli_query:postings", "Postings as they stood at a moment, with their content then."),
    "run-due": ("crawler.app.cli_schedule:run_due",
                "Crawl the sources whose schedule says they are due, then exit."),
    "runs": ("crawler.app.cli_query:runs", "Recent crawl runs with their status and counts, newest first."),
    "serve": ("crawler.app.cli_serve:serve",
              "Serve the history over HTTP, read-only: the pages, the API under /api/v1 (docs at "
              "/api/docs, schema at /openapi.json) and Atom feeds under /feeds."),
    "sources": ("crawler.app.cli_sources:sources_cmd",
                "The configured sources: board, parameters, schedule, next run, last run status and "
                "open postings."),
    "status": ("crawler.app.cli_status:status",
               "Each source's health, schedule and last run, and the alerts waiting or failed; exits 1 "
               "when a source is unhealthy."),
    "try": ("crawler.app.cli_boards:try_",
            "Run one board once, store nothing, and show what it parsed and whether it saw the whole "
            "board."),
    "worker": ("crawler.app.cli_schedule:worker",
               "Take crawl runs from the Celery queue on Redis until stopped."),
}


class _Group(click.Group):
    """Loads a command's module when that command is used, and turns domain
    errors into one line and exit code 1."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, _, attr = COMMANDS[cmd_name][0].partition(":")
            self.add_command(getattr(importlib.import_module(module), attr), cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # the listing reads the table: no command module is imported for it
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = []
        for name in names:
            # a stand-in command shortens the table's help as click shortens a command's
            cmd = self.commands.get(name) or click.Command(name, help=COMMANDS[name][1])
            rows.append((name, cmd.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

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
    # imported here, for start-up speed: only a command that already loaded
    # SQLAlchemy can raise its errors, and `jobdelta --help` never does
    from sqlalchemy.exc import OperationalError, ProgrammingError

    return (OperationalError, ProgrammingError)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
              help="Config file (default: $JOBDELTA_CONFIG, else ./jobdelta.toml).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              envvar="JOBDELTA_LOG_FORMAT",
              help="How crawl, run-due, daemon and worker log on stderr: text, or one JSON object "
                   "per record, with one record per finished run (source, run_id, status, seen, "
                   "new, changed, expired, reopened, reason, duration). Also $JOBDELTA_LOG_FORMAT.")
@click.version_option(package_name="jobdelta")
@click.pass_context
def main(ctx: click.Context, config_file: str | None, log_format: str) -> None:
    """jobdelta watches job boards and tells you what changed.

    \b
    Example:
      jobdelta init && jobdelta crawl && jobdelta changes --since 7d
    """
    ctx.ensure_object(dict).update(config_path=config_file, log_format=log_format)


if __name__ == "__main__":
    main()
