"""The optional parts of jobdelta and how a missing one is reported.

The core install crawls HTTP and API boards into SQLite and serves the web
app. Three extras add to it (``pip install 'jobdelta[browser]'``, ``[workers]``,
``[postgres]``, or ``[all]``): ``browser`` for boards rendered in headless
Chromium (scrapy-playwright, playwright), ``workers`` for the Celery queue on
Redis (``daemon --queue``, ``run-due --queue``, ``worker``), ``postgres`` for
a PostgreSQL database (psycopg). A feature whose extra is not installed says
so in one line naming the extra (:class:`MissingExtra`), never a traceback.
"""

from __future__ import annotations

import importlib.util

from crawler.errors import JobdeltaError

# the modules whose presence means the extra is installed
EXTRAS: dict[str, tuple[str, ...]] = {
    "browser": ("playwright", "scrapy_playwright"),
    "workers": ("celery", "kombu", "redis"),
    "postgres": ("psycopg",),
}


class MissingExtra(JobdeltaError):
    """A feature was asked for whose optional dependencies are not installed."""


class Absent(Exception):
    """Stands in for a name imported from a missing extra, so the modules
    that use it still import; the feature refuses to run before it is used."""


def installed(extra: str) -> bool:
    return all(importlib.util.find_spec(module) is not None for module in EXTRAS[extra])


def needs(extra: str, what: str) -> str:
    """The one line that says ``what`` needs ``extra`` and how to install it."""
    return f"{what} needs the {extra} extra: pip install 'jobdelta[{extra}]'"


def missing(extra: str, what: str) -> str | None:
    """:func:`needs` when the extra is not installed, else None."""
    return None if installed(extra) else needs(extra, what)


def require(extra: str, what: str) -> None:
    """Raise :class:`MissingExtra` when the extra is not installed."""
    problem = missing(extra, what)
    if problem:
        raise MissingExtra(problem)


def database_problem(url: str) -> str | None:
    """The missing extra a database URL needs, in one line, else None."""
    if url.split(":", 1)[0].split("+", 1)[0] in ("postgresql", "postgres"):
        return missing("postgres", "a PostgreSQL database")
    return None
