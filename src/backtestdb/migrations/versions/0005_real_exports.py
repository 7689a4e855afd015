"""trades: the columns real exports leave out become nullable; quantity units; trade_events

cTrader's default History layout has no opening time, no deal id and no fees, so only
symbol, direction, closing time and net (and the derived balance columns) stay NOT
NULL. `quantity_unit` keeps the unit written beside a quantity ("13.8 Lots").
`trade_events` holds the position events of an events.json, keyed (backtest_id, serial).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

MONEY = sa.Numeric(precision=18, scale=2)
PRICE = sa.Numeric(precision=20, scale=8)
AMOUNT = sa.Numeric(precision=20, scale=4)
#: (column, type) made nullable.
NULLABLE = (
    ("open_time", sa.DateTime(timezone=True)),
    ("entry_price", PRICE),
    ("exit_price", PRICE),
    ("commission", MONEY),
    ("swap", MONEY),
)

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("trades") as batch:
        for name, type_ in NULLABLE:
            batch.alter_column(name, existing_type=type_, nullable=True)
        batch.add_column(sa.Column("quantity_unit", sa.String(length=16), nullable=True))
    op.create_table(
        "trade_events",
        sa.Column("backtest_id", sa.Uuid(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        #: The trade the position became; NULL for a position still open at the end.
        sa.Column("trade_number", sa.Integer(), nullable=True),
        sa.Column("position_id", sa.String(length=64), nullable=True),
        sa.Column("order_id", sa.String(length=64), nullable=True),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("direction", sa.String(length=4), nullable=True),
        sa.Column("volume", AMOUNT, nullable=True),
        sa.Column("quantity", AMOUNT, nullable=True),
        sa.Column("entry_price", PRICE, nullable=True),
        sa.Column("close_price", PRICE, nullable=True),
        sa.Column("stop_loss", PRICE, nullable=True),
        sa.Column("take_profit", PRICE, nullable=True),
        sa.Column("gross_profit", MONEY, nullable=True),
        sa.Column("pips", AMOUNT, nullable=True),
        sa.Column("balance", MONEY, nullable=True),
        sa.Column("equity", MONEY, nullable=True),
        sa.ForeignKeyConstraint(
            ["backtest_id"],
            ["backtests.id"],
            name=op.f("fk_trade_events_backtest_id_backtests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("backtest_id", "serial", name=op.f("pk_trade_events")),
    )
    op.create_index(
        "ix_trade_events_backtest_id_trade_number",
        "trade_events",
        ["backtest_id", "trade_number"],
    )


def downgrade() -> None:
    op.drop_index("ix_trade_events_backtest_id_trade_number", table_name="trade_events")
    op.drop_table("trade_events")
    with op.batch_alter_table("trades") as batch:
        batch.drop_column("quantity_unit")
        for name, type_ in reversed(NULLABLE):
            batch.alter_column(name, existing_type=type_, nullable=False)
