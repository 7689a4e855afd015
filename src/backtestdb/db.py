"""Engine, sessions, the schema's migrations, the metadata naming convention and the column
types both backends share; the time limits of read transactions.

Alembic is driven from code (the scripts are in `migrations/`), so an installed package
migrates its own database: the embedded SQLite on first use, PostgreSQL only when asked.
"""

from __future__ import annotations

import io
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from psycopg.errors import QueryCanceled
from sqlalchemy import JSON, Connection, DateTime, Engine, MetaData, create_engine, event, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, SessionTransaction, sessionmaker
from sqlalchemy.types import TypeDecorator

from backtestdb.config import get_settings
from backtestdb.errors import DatabaseNotReady

# Stable constraint names, so Alembic migrations look the same on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone, so we restore it)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; backtestdb stores aware UTC times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    # SQLite ignores ON DELETE CASCADE unless asked per connection.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _clear_sqlite_deadline(dbapi_connection: Any, _record: Any) -> None:
    # A read's deadline (read_session_factory) must not follow its connection back into
    # the pool, where a write would inherit it.
    if dbapi_connection is not None:
        dbapi_connection.set_progress_handler(None, 0)


def make_engine(url: str, **pool: Any) -> Engine:
    """The engine for `url`; `pool` passes pool options (pool_size, max_overflow)."""
    if url.startswith("sqlite"):
        database = url.split("///", 1)[-1]
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **pool)
        event.listen(engine, "connect", _enable_sqlite_foreign_keys)
        event.listen(engine, "checkin", _clear_sqlite_deadline)
        return engine
    return create_engine(url, pool_pre_ping=True, **pool)


@lru_cache
def get_engine() -> Engine:
    """The process-wide engine, migrated on first use when the settings say so."""
    settings = get_settings()
    engine = make_engine(settings.effective_database_url)
    ensure_schema(engine, migrate=settings.should_auto_migrate)
    return engine


def reset_engine() -> None:
    """Close the process-wide engine's connections and forget it (tests, settings changes)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()


def session_factory(engine: Engine | None = None) -> sessionmaker[Session]:
    return sessionmaker(engine or get_engine(), expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit when the block ends normally, roll back when it raises."""
    with factory() as session, session.begin():
        yield session


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """How long a read may take: each statement, and the idle time inside its transaction."""

    statement_seconds: float
    idle_seconds: float


#: SQLite calls the deadline check every this many virtual-machine steps (a few µs).
SQLITE_DEADLINE_STEPS = 1000
_POSTGRES_LIMITS = text(
    "SELECT set_config('statement_timeout', :statement, true),"
    " set_config('idle_in_transaction_session_timeout', :idle, true)"
)


def read_session_factory(engine: Engine, limits: ReadLimits) -> sessionmaker[Session]:
    """Sessions for reads: every transaction they begin is bounded by `limits`, so neither
    a costly query nor a forgotten transaction holds a pooled connection for long."""
    factory = session_factory(engine)

    def bound(_session: Session, _transaction: SessionTransaction, connection: Connection) -> None:
        apply_read_limits(connection, limits)

    event.listen(factory, "after_begin", bound)
    return factory


def apply_read_limits(connection: Connection, limits: ReadLimits) -> None:
    """PostgreSQL: SET LOCAL statement_timeout and idle_in_transaction_session_timeout (they
    end with the transaction). SQLite has neither: a progress handler interrupts whatever
    runs past the deadline (cleared when the connection goes back to the pool)."""
    if connection.dialect.name == "postgresql":
        milliseconds = {
            "statement": str(max(1, round(limits.statement_seconds * 1000))),
            "idle": str(max(1, round(limits.idle_seconds * 1000))),
        }
        connection.execute(_POSTGRES_LIMITS, milliseconds)
    elif connection.dialect.name == "sqlite":
        deadline = time.monotonic() + limits.statement_seconds
        raw = cast(sqlite3.Connection, connection.connection.dbapi_connection)
        raw.set_progress_handler(lambda: time.monotonic() > deadline, SQLITE_DEADLINE_STEPS)


def is_statement_timeout(error: DBAPIError) -> bool:
    """Whether the database stopped a statement for running past its read limit."""
    cause = error.orig
    if isinstance(cause, QueryCanceled):
        return True
    return isinstance(cause, sqlite3.OperationalError) and str(cause) == "interrupted"


def alembic_config(engine: Engine | None = None, url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", "backtestdb:migrations")
    if url is not None:
        config.set_main_option("sqlalchemy.url", url)
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def ensure_schema(engine: Engine, *, migrate: bool) -> None:
    """Migrate an out-of-date database, or refuse to work on one with a clear message."""
    try:
        current = current_revision(engine)
    except OperationalError as error:
        raise DatabaseNotReady(f"Cannot reach the database: {error.orig}") from error
    if current == head_revision():
        return
    if not migrate:
        raise DatabaseNotReady(
            f"The database schema is at revision {current or 'none'}, not {head_revision()}: "
            "run `backtestdb db upgrade`"
        )
    upgrade(engine)


def postgresql_ddl() -> str:
    """The plain PostgreSQL DDL of all migrations (what schema/001_initial_schema.sql holds)."""
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        command.upgrade(alembic_config(url="postgresql+psycopg://"), "head", sql=True)
    return buffer.getvalue()
