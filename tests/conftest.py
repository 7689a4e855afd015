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
from sqlalchemy import Engine, delete, update
from sqlalchemy.orm import Session, sessionmaker

from backtestdb import analytics, db, models
from backtestdb.config import DEFAULT_ALLOWED_HOSTS, Settings, get_settings
from backtestdb.db import make_engine, upgrade
from backtestdb.ingest import IngestRequest
from backtestdb.jobs import run_ingest
from backtestdb.parsing import parse_report
from backtestdb.storage import SourceFile

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
        connection.execute(delete(models.Run))


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return db.session_factory(engine)


@pytest.fixture
def settings(
    database_url: str, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    """Point the process-wide settings (and so the CLI) at the test database; the hosts
    allowed are the default ones plus `testserver`, the Host of starlette's TestClient."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ALLOWED_HOSTS", f"{DEFAULT_ALLOWED_HOSTS},testserver")
    get_settings.cache_clear()
    db.reset_engine()
    yield get_settings()
    get_settings.cache_clear()
    db.reset_engine()


#: What cTrader's default History layout leaves out: NULL in every trade of `sparse_backtest`.
SPARSE_NULLS = ("open_time", "entry_price", "exit_price", "commission", "swap", "deal_id")


@pytest.fixture
def sparse_backtest(factory: sessionmaker[Session], settings: Settings) -> str:
    """The bundled sample (report + History CSV, 200 trades, net 452.42) stored as if its
    CSV were cTrader's default layout: no opening time, prices, fees or deal id (NULL),
    quantities in Lots, so no fee totals either; its figures refreshed and reconciled with
    the report, as an ingest of such a file does. Made with SQL UPDATEs, not a parser."""
    report, history = BASIC / "report.json", BASIC / "history.csv"
    request = IngestRequest(
        report=SourceFile("report", report.name, report),
        csv=SourceFile("history", history.name, history),
        name="Sparse EURUSD",
        force=True,
    )
    _job, outcome = run_ingest(factory, request, settings)
    key = outcome.backtest.id
    with factory.begin() as session:
        trades = update(models.Trade).where(models.Trade.backtest_id == key)
        session.execute(trades.values({**dict.fromkeys(SPARSE_NULLS), "quantity_unit": "Lots"}))
        backtest = update(models.Backtest).where(models.Backtest.id == key)
        session.execute(backtest.values(commissions=None, swaps=None))
        stored = session.get_one(models.Backtest, key)
        analytics.refresh(session, stored, parse_report(report.read_bytes(), report.name).summary)
    return str(key)


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
