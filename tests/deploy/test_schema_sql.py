"""schema/001_initial_schema.sql, applied with psql, gives the database the migrations give."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from backtestdb.db import make_engine, upgrade
from tests.deploy.conftest import REPO, libpq_url, run_ok

pytestmark = pytest.mark.postgres

TABLES = ["alembic_version", "backtests", "daily_summary", "ingestion_jobs", "parameters",
          "runs", "trade_events", "trades"]  # fmt: skip
COLUMNS = """
    SELECT table_name, column_name, ordinal_position, data_type, udt_name, is_nullable,
           column_default, character_maximum_length, numeric_precision, numeric_scale
    FROM information_schema.columns WHERE table_schema = 'public'
    ORDER BY table_name, ordinal_position
"""
INDEXES = "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1"
CONSTRAINTS = """
    SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2
"""


def describe(name: str) -> dict[str, list[tuple[object, ...]]]:
    with psycopg.connect(libpq_url(name)) as connection:
        return {q: connection.execute(q).fetchall() for q in (COLUMNS, INDEXES, CONSTRAINTS)}


def test_schema_file_applies_and_matches_migrations(
    make_database: Callable[[], str], tmp_path: Path
) -> None:
    from_sql, from_alembic = make_database(), make_database()
    run_ok(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", libpq_url(from_sql),
            "-f", str(REPO / "schema" / "001_initial_schema.sql")], {}, tmp_path)  # fmt: skip
    engine = make_engine(libpq_url(from_alembic).replace("postgresql://", "postgresql+psycopg://"))
    try:
        upgrade(engine)
    finally:
        engine.dispose()

    plain, migrated = describe(from_sql), describe(from_alembic)
    assert sorted({row[0] for row in plain[COLUMNS]}) == TABLES
    assert len(plain[COLUMNS]) > len(TABLES)
    assert plain == migrated
