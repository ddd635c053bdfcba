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
