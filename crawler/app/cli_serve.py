"""``jobdelta serve``: the history over HTTP (the web app under uvicorn).

Application layer, loaded by ``crawler.app.cli``'s group only when it runs.
"""

from __future__ import annotations

import click
import uvicorn

from crawler.app.cli_common import ctx_config, is_loopback, open_session, safe_url
from crawler.errors import ConfigError
from web.app import WebSettings, create_app


@click.command()
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
    cfg = ctx_config(ctx)
    token = cfg.web.token
    if cfg.web.token_env and not token:
        raise ConfigError(f"[web] token_env: ${cfg.web.token_env} is not set")
    if not is_loopback(host) and not token:
        raise ConfigError(f"refusing to listen on {host}: without a token ([web] token_env) "
                          "the history is served on loopback only")
    open_session(cfg).close()  # the schema must be there
    app = create_app(WebSettings(cfg.database_url, token=token, feed_token=cfg.web.feed_token))
    click.echo(f"jobdelta: serving {safe_url(cfg.database_url)} on http://{host}:{port}/", err=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=log_level == "debug")
