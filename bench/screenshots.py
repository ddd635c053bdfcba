"""Screenshots of the web app's pages for docs/screenshots/.

Builds the web tests' history (tests/web_history.py: five rounds of real
crawls of a replayed Greenhouse board) into a temporary SQLite database,
serves the app on 127.0.0.1 with uvicorn, and saves a full-page PNG of each
page at desktop width (1280x800) and phone width (375x812), light theme, in
Debian's Chromium (headless; never ``playwright install``):
``<page>-desktop.png`` and ``<page>-phone.png``. A request to any other host
is refused (and makes the exit status 1), so the pictures show only what the
app serves itself.

    .venv/bin/python bench/screenshots.py                    # into docs/screenshots/
    .venv/bin/python bench/screenshots.py --out /tmp/shots --page posting

Run from the repository root.
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import uvicorn  # noqa: E402
from playwright.sync_api import BrowserContext, Route, sync_playwright  # noqa: E402

from crawler.browser import CHROMIUM_ARGS, chromium_path  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from tests import web_history  # noqa: E402
from web.app import WebSettings, create_app  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
SIZES = {"desktop": (1280, 800), "phone": (375, 812)}  # CSS pixels, width x height
START_TIMEOUT = 30.0  # seconds for uvicorn to start listening
LOAD_TIMEOUT = 30_000  # milliseconds for a page and what it waits for


def pages(ids: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Page name -> (path, a selector that is there once the page is drawn).
    The posting is b: a deadline, and a description edit to show as a word diff."""
    return {
        "events": ("/", "h1"),
        "postings": ("/postings", "h1"),
        "posting": (f"/postings/vercel:{ids['b']}", "h1"),
        "company": ("/companies/Vercel", "svg.chart-line"),
        "closing": ("/closing", "h1"),
        "sources": ("/sources", "h1"),
        "api-docs": ("/api/docs", '.opblock-summary-path[data-path="/api/v1/events"]'),
    }


@contextmanager
def serving(database_url: str) -> Iterator[str]:
    """The app on 127.0.0.1 and a free port, in a thread; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(WebSettings(database_url)),
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the web app did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(START_TIMEOUT)
        sock.close()


def _shoot(context: BrowserContext, url: str, ready: str, target: Path) -> list[str]:
    """A full-page PNG of ``url`` once ``ready`` is there and the network is
    quiet; returns the requests to other hosts it refused."""
    origin = "{0.scheme}://{0.netloc}/".format(urlsplit(url))
    refused: list[str] = []

    def route(r: Route) -> None:
        if r.request.url.startswith(origin):
            r.continue_()
        else:
            refused.append(r.request.url)
            r.abort()

    page = context.new_page()
    try:
        page.route("**/*", route)
        response = page.goto(url, timeout=LOAD_TIMEOUT)
        if response is None or response.status != 200:
            raise RuntimeError(f"{url}: HTTP {response and response.status}")
        page.wait_for_selector(ready, timeout=LOAD_TIMEOUT)
        page.wait_for_load_state("networkidle", timeout=LOAD_TIMEOUT)
        page.screenshot(path=str(target), full_page=True, animations="disabled")
    finally:
        page.close()
    return refused


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the PNGs")
    parser.add_argument("--page", action="append", choices=list(pages({"b": "b"})),
                        help="only this page (repeatable)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    problems = 0
    with tempfile.TemporaryDirectory(prefix="jobdelta-shots-") as tmp:
        workdir = Path(tmp)
        url = f"sqlite:///{workdir / 'history.db'}"
        upgrade(url)
        print("building the history (five crawl rounds) ...", flush=True)
        wanted = pages(web_history.build(workdir, url).ids)
        with serving(url) as base, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_path(), headless=True,
                                         args=CHROMIUM_ARGS)
            try:
                for size, (width, height) in SIZES.items():
                    context = browser.new_context(viewport={"width": width, "height": height},
                                                  color_scheme="light")
                    for name in args.page or wanted:
                        path, ready = wanted[name]
                        target = args.out / f"{name}-{size}.png"
                        refused = _shoot(context, base + path, ready, target)
                        problems += len(refused)
                        note = f"  refused: {', '.join(refused)}" if refused else ""
                        print(f"{target}  {target.stat().st_size // 1024} kB{note}", flush=True)
                    context.close()
            finally:
                browser.close()
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
