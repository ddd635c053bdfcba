"""The schema comes only from the Alembic migrations, and the models match
them (`alembic check`) on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from db.engine import get_engine
from db.migrate import alembic_config, check, upgrade
from db.models import Base


def test_models_match_migrations(db_url):
    check(db_url)  # raises when `alembic revision --autogenerate` would find anything
    tables = set(inspect(get_engine(db_url)).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_downgrade_and_upgrade_again(db_url):
    command.downgrade(alembic_config(db_url), "base")
    assert set(inspect(get_engine(db_url)).get_table_names()) <= {"alembic_version"}
    upgrade(db_url)
    check(db_url)


def test_0003_upgrades_a_database_with_runs_and_its_checks_hold(db_url):
    """From 0002 with data in it to 0003: run ids get foreign keys, statuses
    and kinds CHECK constraints that refuse anything outside the vocabulary."""
    from datetime import UTC, datetime

    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    command.downgrade(alembic_config(db_url), "0002")
    now = datetime(2026, 11, 1, tzinfo=UTC).replace(tzinfo=None)
    engine = get_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO sources (id, name, board, params, created_at) "
                          "VALUES (1, 'acme', 'greenhouse', '{}', :now)"), {"now": now})
        conn.execute(text("INSERT INTO runs (id, source_id, started_at, status, seen, new, changed, "
                          "expired, reopened) VALUES (1, 1, :now, 'complete', 0, 0, 0, 0, 0)"),
                     {"now": now})
    upgrade(db_url)
    check(db_url)
    bad = {
        "run status": ("INSERT INTO runs (source_id, started_at, status, seen, new, changed, expired, "
                       "reopened) VALUES (1, :now, 'bogus', 0, 0, 0, 0, 0)"),
        "event kind": ("INSERT INTO events (kind, source_id, at, reason) VALUES ('bogus', 1, :now, 'x')"),
        "event run": ("INSERT INTO events (kind, source_id, at, reason, run_id) "
                      "VALUES ('new', 1, :now, 'x', 999)"),
    }
    for what, sql in bad.items():
        with pytest.raises(IntegrityError), engine.begin() as conn:  # noqa: PT012
            conn.execute(text(sql), {"now": now})
            raise AssertionError(f"{what} outside the schema was accepted")
