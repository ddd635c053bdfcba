"""Shared test fixtures: databases (SQLite and a real PostgreSQL), the replay
server, and a helper that writes configs and runs the real CLI.

PostgreSQL tests create and drop a uniquely named database per test. Off CI,
they skip with the reason when the server is not reachable; in CI
(``CI=true``) an unreachable server is a failure, not a skip.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

# the loopback SMTP and webhook servers of the alert tests assert inside
pytest.register_assert_rewrite("tests.alert_servers")

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
PG_ADMIN_URL = os.environ.get("JOBDELTA_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _pg_unavailable() -> str | None:
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:  # any reason the server cannot be used
        return f"PostgreSQL at {PG_ADMIN_URL} not reachable: {type(exc).__name__}: {str(exc)[:120]}"
    return None


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    reason = _pg_unavailable()
    if reason:
        if IN_CI:
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    return PG_ADMIN_URL


def _create_pg_database(admin_url: str) -> tuple[str, str]:
    from sqlalchemy import create_engine, text

    name = f"jobdelta_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return name, admin_url.rsplit("/", 1)[0] + "/" + name


def _drop_pg_database(admin_url: str, name: str) -> None:
    from sqlalchemy import create_engine, text

    from db.engine import _engine

    _engine.cache_clear()
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database at the newest schema (from the migrations), on
    SQLite and on PostgreSQL."""
    from db.migrate import upgrade

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.db'}"
        upgrade(url)
        yield url
        return
    admin = request.getfixturevalue("pg_admin_url")
    name, url = _create_pg_database(admin)
    try:
        upgrade(url)
        yield url
    finally:
        _drop_pg_database(admin, name)


@pytest.fixture
def sessions(db_url: str):  # noqa: ANN201
    from db.engine import session_factory

    return session_factory(db_url)


class Project:
    """A config file in a temporary directory, and the real CLI run on it."""

    def __init__(self, workdir: Path, db_url: str):
        self.workdir = workdir
        self.db_url = db_url
        self.config = workdir / "jobdelta.toml"

    def write_config(self, sources: str, defaults: str = "") -> Path:
        if "retry_backoff" not in defaults:  # real waits, scaled down for tests
            defaults = f"retry_backoff = 0.1\n{defaults}"
        self.config.write_text(
            f'[database]\nurl = "{self.db_url}"\n\n[defaults]\ndownload_delay = 0\n{defaults}\n\n{sources}\n',
            encoding="utf-8")
        return self.config

    def cli(self, *args: str, check: bool = False, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """Run `jobdelta --config <this config> ARGS` in this process (crawls
        still run in their own processes, as always) and return it like a
        finished subprocess: returncode, stdout, stderr."""
        from click.testing import CliRunner

        from crawler.app.cli import main

        env = {"JOBDELTA_CACHE_DIR": str(self.workdir / "httpcache"), "JOBDELTA_DATABASE_URL": None,
               "JOBDELTA_CONFIG": None}
        old = os.getcwd()
        os.chdir(self.workdir)
        try:
            result = CliRunner().invoke(main, ["--config", str(self.config), *args], env=env)
        finally:
            os.chdir(old)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        proc = subprocess.CompletedProcess(["jobdelta", *args], result.exit_code, result.stdout, result.stderr)
        if check and proc.returncode != 0:
            raise AssertionError(f"jobdelta {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def json(self, *args: str) -> list[dict]:
        return json.loads(self.cli(*args, "--format", "json", check=True).stdout)


@pytest.fixture
def project(tmp_path: Path, db_url: str) -> Project:
    return Project(tmp_path, db_url)


@pytest.fixture
def replay() -> Iterator:
    from crawler.replay import ReplayServer

    with ReplayServer() as server:
        yield server


def process_gone(pid: int) -> bool:
    """True when the process has exited (a zombie waiting for its reaper counts)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True
