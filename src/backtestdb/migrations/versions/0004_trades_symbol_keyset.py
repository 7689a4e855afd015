"""trades: the symbol index also orders by trade_number

A trades page filtered by symbol (keyset by trade_number) sorted every matching row of a
large backtest: 250 ms deep into a million trades (bench/reads.py). With trade_number in
the index the page is read in order.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_trades_backtest_id_symbol", table_name="trades")
    op.create_index(
        "ix_trades_backtest_id_symbol", "trades", ["backtest_id", "symbol", "trade_number"]
    )


def downgrade() -> None:
    op.drop_index("ix_trades_backtest_id_symbol", table_name="trades")
    op.create_index("ix_trades_backtest_id_symbol", "trades", ["backtest_id", "symbol"])
