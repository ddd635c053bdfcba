"""The CLI starts lazily: ``jobdelta --help`` imports no command's module,
and the read commands (``runs``, ``status``) no spider, Scrapy, Alembic or
web app. Checked in sys.modules of a fresh interpreter, never with a clock
(``bench/cli_startup.py`` prints the times). Also: the group's listing,
read from its table, says what each command's own help says; progress on a
terminal, and none into a pipe."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import click
import pytest
from rich.console import Console

from crawler.app.cli import COMMANDS, main
from crawler.app.progress import CrawlProgress
from scheduler.launch import RunSummary

from .conftest import ROOT

HEAVY = ("scrapy", "twisted", "spiders.", "dateparser", "pydantic", "sqlalchemy", "alembic", "rich",
         "crawler.config", "crawler.normalize", "web", "fastapi", "uvicorn", "celery", "prometheus_client",
         "crawler.app.cli_")
NEVER_FOR_READING = ("scrapy", "twisted", "spiders.", "alembic", "web", "fastapi", "uvicorn", "celery",
                     "playwright", "deepdiff")


def loaded_after(code: str, env: dict[str, str] | None = None) -> list[str]:
    """The modules loaded after running ``code`` in a fresh interpreter."""
    script = f"import sys\n{code}\nimport json\nprint(json.dumps(sorted(sys.modules)))\n"
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def matching(modules: list[str], names: tuple[str, ...]) -> list[str]:
    """The modules that are one of ``names`` or inside it; a name ending in
    "." or "_" is a prefix (``spiders.``: any spider module, not the board
    table in ``spiders`` itself)."""
    return [m for m in modules
            if any(m.startswith(n) if n.endswith((".", "_")) else m == n or m.startswith(n + ".")
                   for n in names)]


def test_importing_the_cli_and_its_help_load_no_command():
    modules = loaded_after("import crawler.app.cli")
    assert matching(modules, HEAVY) == []
    modules = loaded_after("from crawler.app.cli import main\n"
                           "try:\n    main(['--help'], prog_name='jobdelta')\nexcept SystemExit:\n    pass")
    assert matching(modules, HEAVY) == []


@pytest.mark.parametrize("command", ["runs", "status"])
def test_the_read_commands_load_no_spider_scrapy_alembic_or_web_app(command, tmp_path):
    config = tmp_path / "jobdelta.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "j.db"}"\n\n'
                      '[[sources]]\nname = "acme"\nboard = "greenhouse"\ntoken = "acme"\n')
    from db.migrate import upgrade

    upgrade(f"sqlite:///{tmp_path / 'j.db'}")
    modules = loaded_after("from crawler.app.cli import main\n"
                           f"try:\n    main(['--config', {str(config)!r}, {command!r}], prog_name='jobdelta')\n"
                           "except SystemExit as exc:\n    assert exc.code in (0, None), exc.code")
    assert f"crawler.app.cli_{'query' if command == 'runs' else 'status'}" in modules
    assert matching(modules, NEVER_FOR_READING) == []


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_listing_says_what_each_commands_help_says(name):
    command = main.get_command(click.Context(main), name)
    assert command is not None and command.name == name
    listed = click.Command(name, help=COMMANDS[name][1]).get_short_help_str(500)
    assert listed == command.get_short_help_str(500)


def summary(source: str, status: str = "complete", **kw) -> RunSummary:
    return RunSummary(source, 7, status, seen=10, new=2, changed=1, **kw)


def test_progress_on_a_terminal_prints_a_line_per_source_and_nothing_elsewhere():
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120, color_system=None)
    with CrawlProgress(2, console=console) as progress:
        progress(summary("acme"))
        progress(summary("beta", "failed", reason="board could not be read: HTTP 503 \x1b[31m[red]x"))
    text = screen.getvalue()
    assert "acme: complete (run 7); seen 10, new 2, changed 1, expired 0, reopened 0" in text
    assert "beta: failed (run 7); seen 10" in text and "HTTP 503 [red]x" in text  # no markup, no escape
    assert "\x1b[31m" not in text

    pipe = io.StringIO()
    with CrawlProgress(1, console=Console(file=pipe)) as progress:
        progress(summary("acme"))
    assert pipe.getvalue() == ""
