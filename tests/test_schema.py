"""The plain-SQL schema file stays what the migrations produce; migrations round-trip."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, inspect

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
    foreign = inspector.get_foreign_keys("trades")[0]
    assert foreign["referred_table"] == "backtests"
    assert foreign["options"]["ondelete"] == "CASCADE"
