"""The plain-SQL schema file stays what the migrations produce; migrations round-trip."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, delete, insert, inspect, select, update
from sqlalchemy.exc import IntegrityError

from backtestdb import models
from backtestdb.db import postgresql_ddl

SCHEMA_FILE = Path(__file__).parent.parent / "schema" / "001_initial_schema.sql"

SEED_COLUMNS = {
    "trades": {"backtest_id", "open_time", "close_time", "symbol", "direction", "entry_price",
               "exit_price", "profit", "pips", "balance_after", "drawdown", "drawdown_percent"},
    "daily_summary": {"backtest_id", "trade_date", "total_trades", "winning_trades",
                      "net_profit", "win_rate"},
    "backtests": {"id", "name", "description", "initial_balance", "total_trades", "win_rate",
                  "net_profit", "created_at"},
    "ingestion_jobs": {"id", "job_type", "status", "error_message", "created_at"},
    "parameters": {"backtest_id", "name", "value", "value_type"},
}  # fmt: skip


def test_schema_sql_matches_migrations() -> None:
    assert SCHEMA_FILE.read_text() == postgresql_ddl(), "run `make schema` and commit the result"


def test_seed_columns_exist(engine: Engine) -> None:
    inspector = inspect(engine)
    for table, columns in SEED_COLUMNS.items():
        assert columns <= {c["name"] for c in inspector.get_columns(table)}, table


def test_trades_are_keyed_by_backtest(engine: Engine) -> None:
    inspector = inspect(engine)
    assert inspector.get_pk_constraint("trades")["constrained_columns"] == [
        "backtest_id",
        "trade_number",
    ]
    if engine.dialect.name == "sqlite":  # PostgreSQL checks it by trigger (migration 0008)
        foreign = inspector.get_foreign_keys("trades")[0]
        assert foreign["referred_table"] == "backtests"
        assert foreign["options"]["ondelete"] == "CASCADE"


def a_trade(backtest_id: uuid.UUID, number: int = 1) -> dict[str, object]:
    return {
        "backtest_id": backtest_id, "trade_number": number, "symbol": "EURUSD",
        "direction": "buy", "close_time": datetime(2026, 1, 2, tzinfo=UTC),
        "profit": Decimal("1.00"), "balance_after": Decimal("1001.00"),
        "drawdown": Decimal(0), "drawdown_percent": Decimal(0),
    }  # fmt: skip


def a_backtest(connection: Connection) -> uuid.UUID:
    backtest_id = uuid.uuid4()
    connection.execute(
        insert(models.Backtest).values(
            id=backtest_id, name="b", initial_balance=1000, net_profit=0, gross_profit=0,
            gross_loss=0, total_trades=0, winning_trades=0, losing_trades=0, win_rate=0,
            max_balance_drawdown=0, max_balance_drawdown_percent=0, symbols=[],
            reported_statistics={}, source_files=[],
        )
    )  # fmt: skip
    return backtest_id


def test_a_trade_needs_its_backtest(engine: Engine) -> None:
    """On both backends, whether by foreign key (SQLite) or by trigger (PostgreSQL)."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA foreign_keys = ON")
        with pytest.raises(IntegrityError, match=r"foreign key|FOREIGN KEY"):
            connection.execute(insert(models.Trade).values(a_trade(uuid.uuid4())))
        connection.rollback()
        kept = a_backtest(connection)
        connection.execute(insert(models.Trade).values([a_trade(kept, 1), a_trade(kept, 2)]))
        with pytest.raises(IntegrityError, match=r"foreign key|FOREIGN KEY"):
            connection.execute(
                update(models.Trade).where(models.Trade.trade_number == 2)
                .values(backtest_id=uuid.uuid4())
            )  # fmt: skip
        connection.rollback()


def test_deleting_a_backtest_deletes_its_trades(engine: Engine) -> None:
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA foreign_keys = ON")
        gone, kept = a_backtest(connection), a_backtest(connection)
        connection.execute(insert(models.Trade).values([a_trade(gone), a_trade(kept)]))
        connection.execute(delete(models.Backtest).where(models.Backtest.id == gone))
        left = connection.execute(select(models.Trade.backtest_id)).scalars().all()
    assert left == [kept]
