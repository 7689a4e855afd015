"""Fixtures: every database test runs on SQLite and on the machine's PostgreSQL.

PostgreSQL gets a fresh database per test run (dropped at the end). Under CI=true an
unreachable PostgreSQL fails the run instead of skipping its tests.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session, sessionmaker

from backtestdb import db, models
from backtestdb.config import Settings, get_settings
from backtestdb.db import make_engine, upgrade

DATA = Path(__file__).parent / "data"
BASIC = DATA / "basic"
ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def admin_connection() -> psycopg.Connection[tuple[object, ...]]:
    """An autocommit connection to the admin database; unreachable fails under CI."""
    try:
        return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        message = f"PostgreSQL at {ADMIN_URL} is unreachable: {error}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """A new empty database for the block; yields its plain postgresql:// URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with admin_connection() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with scratch_database("backtestdb_test") as url:
        yield url.replace("postgresql://", "postgresql+psycopg://", 1)


_engines: dict[str, Engine] = {}


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
        return url
    return f"sqlite:///{tmp_path_factory.getbasetemp() / 'backtestdb.sqlite3'}"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated engine shared by the run; every table is emptied after each test."""
    if database_url not in _engines:
        _engines[database_url] = make_engine(database_url)
        upgrade(_engines[database_url])
    engine = _engines[database_url]
    yield engine
    with engine.begin() as connection:
        for table in (models.Trade, models.DailySummary, models.Parameter, models.IngestionJob):
            connection.execute(delete(table))
        connection.execute(delete(models.Backtest))


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return db.session_factory(engine)


@pytest.fixture
def settings(
    database_url: str, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    """Point the process-wide settings (and so the CLI) at the test database."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    db.reset_engine()
    yield get_settings()
    get_settings.cache_clear()
    db.reset_engine()


def row_counts(engine: Engine) -> dict[str, int]:
    from sqlalchemy import func, select

    with engine.connect() as connection:
        return {
            table.__tablename__: connection.scalar(select(func.count()).select_from(table)) or 0
            for table in (
                models.Backtest,
                models.Trade,
                models.Parameter,
                models.DailySummary,
                models.IngestionJob,
            )
        }
