"""`db upgrade` and `db sql`: the database schema."""

from __future__ import annotations

import sys

import typer

from backtestdb import db
from backtestdb.cli.output import console
from backtestdb.config import get_settings

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the latest schema."""
    engine = db.make_engine(get_settings().effective_database_url)
    try:
        db.upgrade(engine)
        console.print(f"Database at revision {db.current_revision(engine)}")
    finally:
        engine.dispose()  # else its pooled connection is left to the garbage collector


@app.command("sql")
def db_sql() -> None:
    """Print the PostgreSQL DDL of all migrations (schema/001_initial_schema.sql)."""
    sys.stdout.write(db.postgresql_ddl())
