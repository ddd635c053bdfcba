"""Output formats for the CLI: table, json, jsonl, csv.

Reads lists of plain dicts (public field names) and writes them to a stream;
the table view picks a few columns, the machine formats keep every field.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from crawler.normalize.text import strip_controls

FORMATS = ("table", "json", "jsonl", "csv")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return value.get("raw") or json.dumps(value, ensure_ascii=False)
    return str(value)


def write(rows: Iterable[dict[str, Any]], fmt: str, out: TextIO,
          columns: Sequence[str]) -> int:
    """Write rows in ``fmt``; ``columns`` are the table/csv columns.
    Returns the number of rows written."""
    n = 0
    if fmt == "json":
        out.write("[")
        for row in rows:
            n += 1
            out.write(("," if n > 1 else "") + "\n  " + json.dumps(row, ensure_ascii=False, default=str))
        out.write("\n]\n" if n else "]\n")
        return n
    if fmt == "jsonl":
        for row in rows:
            n += 1
            out.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        return n
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(columns)
        for row in rows:
            n += 1
            writer.writerow([_cell(row.get(c)) for c in columns])
        return n
    return _table(rows, out, columns)


def _table(rows: Iterable[dict[str, Any]], out: TextIO, columns: Sequence[str]) -> int:
    # board text is untrusted: no control character reaches the terminal
    cells = [[strip_controls(_cell(r.get(c))).replace("\n", " ").replace("\t", " ") for c in columns]
             for r in rows]
    if not cells:
        return 0
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    # on a terminal, shrink the widest columns until the table fits; into a
    # pipe or file, print every cell whole
    width = shutil.get_terminal_size((160, 24)).columns if out.isatty() else sum(widths) + 2 * len(widths)
    while sum(widths) + 2 * (len(widths) - 1) > width and max(widths) > 12:
        i = widths.index(max(widths))
        widths[i] -= 1

    def line(values: Sequence[str]) -> str:
        parts = [(v if len(v) <= w else v[: w - 1] + "…").ljust(w) for v, w in zip(values, widths, strict=True)]
        return "  ".join(parts).rstrip()

    out.write(line(columns) + "\n")
    for row in cells:
        out.write(line(row) + "\n")
    return len(cells)


def wrapped_table(rows: Iterable[dict[str, Any]], out: TextIO, columns: Sequence[str],
                  wrap: Sequence[str] = ()) -> int:
    """A table whose ``wrap`` columns wrap within the terminal's width
    (``$COLUMNS``, else the terminal's when ``out`` is one, else 100
    columns), drawn by Rich. Returns the number of rows written."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text  # plain text: "[bold]" in a title is no markup

    if os.environ.get("COLUMNS", "").isdigit():
        width = int(os.environ["COLUMNS"])
    elif out.isatty():
        width = shutil.get_terminal_size((100, 24)).columns
    else:
        width = 100
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold", expand=False)
    for c in columns:
        # the last wrapped column (what changed) gets twice the room of the others
        ratio = (2 if c == wrap[-1] else 1) if c in wrap else None
        table.add_column(c, overflow="fold" if c in wrap else "ellipsis", no_wrap=c not in wrap,
                         ratio=ratio)
    n = 0
    for row in rows:
        n += 1
        table.add_row(*(Text(strip_controls(_cell(row.get(c)))) for c in columns))
    if n:
        Console(file=out, width=width, no_color=not out.isatty(), highlight=False,
                soft_wrap=False).print(table)
    return n

