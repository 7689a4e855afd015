"""Alembic, driven from code so an installed package can migrate its own database."""

from __future__ import annotations

import io
from contextlib import redirect_stdout

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from backtestdb.errors import DatabaseNotReady


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
