"""Setting up: ``init`` (a starter config) and ``db upgrade``.

Application layer, loaded by ``crawler.app.cli``'s group only when one of
them runs.
"""

from __future__ import annotations

from pathlib import Path

import click

from crawler.app.cli_common import ctx_config, safe_url
from crawler.config import STARTER_CONFIG, config_path
from crawler.errors import ConfigError
from db.migrate import upgrade


@click.group()
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
    cfg = ctx_config(ctx.find_root())
    upgrade(cfg.database_url)
    click.echo(f"database {safe_url(cfg.database_url)} is at the newest schema")


@click.command()
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
