"""Progress of ``crawl`` and ``run-due`` on a terminal: one line per source
as its crawl finishes, under a live bar (Rich), on stderr.

Only when stderr is a terminal: into a pipe or a file nothing is added, and
the commands print what they always printed (the summary table on stdout
once every crawl finished; ``--log-format json`` gives a record per run as
it finishes).
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from crawler.normalize.text import strip_controls
from scheduler.launch import FAILED, RunSummary

_STYLE = {"complete": "green", FAILED: "red", "suspicious": "yellow", "partial": "yellow"}


def line(summary: RunSummary) -> str:
    """A finished crawl in one line (plain text)."""
    counts = (f"seen {summary.seen}, new {summary.new}, changed {summary.changed}, "
              f"expired {summary.expired}, reopened {summary.reopened}")
    run = f" (run {summary.run_id})" if summary.run_id is not None else ""
    reason = f": {summary.reason}" if summary.reason else ""
    return f"{summary.source}: {summary.status}{run}; {counts}{reason}"


class CrawlProgress:
    """Call it with each summary (``run_sources(on_result=...)``); use as a
    context manager around the crawls. Inactive unless ``enabled`` and
    ``console`` is a terminal (by default a console on stderr): JSON log
    records and a live bar do not share a stream."""

    def __init__(self, total: int, stream: TextIO | None = None, console: Console | None = None,
                 enabled: bool = True):
        self.console = console or Console(file=stream, stderr=stream is None, highlight=False)
        self.active = enabled and self.console.is_terminal
        self._lock = threading.Lock()
        self._bar = Progress(TextColumn("crawling"), BarColumn(), MofNCompleteColumn(),
                             TimeElapsedColumn(), console=self.console, transient=True)
        self._task = self._bar.add_task("crawl", total=total)

    def __enter__(self) -> CrawlProgress:
        if self.active:
            self._bar.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.active:
            self._bar.stop()

    def __call__(self, summary: RunSummary) -> None:
        if not self.active:
            return
        style = _STYLE.get(summary.status.split(":", 1)[0], "")
        text = escape(strip_controls(line(summary)))  # board and error text: no markup, no controls
        with self._lock:
            self._bar.console.print(f"[{style}]{text}[/]" if style else text, soft_wrap=True)
            self._bar.advance(self._task)
