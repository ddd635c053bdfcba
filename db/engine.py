"""Engines and sessions for the configured database URL.

SQLite gets the pragmas a multi-process crawler needs (WAL, a busy timeout,
foreign keys); PostgreSQL needs nothing special. Query functions take a
session and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import importlib.util
import os
from functools import lru_cache

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def _normalize_url(url: str) -> str:
    # "postgresql://" alone would pick psycopg2, which we do not install.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    # a relative SQLite path means "in the working directory now": pin it, so
    # a cached engine never points at another directory's file
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////") and ":memory:" not in url:
        return "sqlite:///" + os.path.abspath(url[len("sqlite:///"):])
    return url


def get_engine(url: str) -> Engine:
    return _engine(_normalize_url(url))


@lru_cache(maxsize=8)
def _engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    if url.startswith("postgresql+psycopg") and importlib.util.find_spec("psycopg") is None:
        # psycopg is the optional postgres extra: name it, not SQLAlchemy's bare import error
        raise ModuleNotFoundError("a PostgreSQL database needs the postgres extra: "
                                  "pip install 'jobdelta[postgres]'", name="psycopg")
    return create_engine(url, pool_pre_ping=True)


def session_factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(get_engine(url), expire_on_commit=False)
