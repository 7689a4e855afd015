"""backtests: commissions and swaps become nullable (unknown when the file has no fees)

cTrader's default History layout has no Commissions and no Swap column: its trades store
NULL fees (0005), and the backtest's totals are unknown too, not 0.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

MONEY = sa.Numeric(precision=18, scale=2)
COLUMNS = ("commissions", "swaps")

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("backtests") as batch:
        for name in COLUMNS:
            batch.alter_column(name, existing_type=MONEY, nullable=True)


def downgrade() -> None:
    for name in COLUMNS:
        op.execute(f"UPDATE backtests SET {name} = 0 WHERE {name} IS NULL")
    with op.batch_alter_table("backtests") as batch:
        for name in COLUMNS:
            batch.alter_column(name, existing_type=MONEY, nullable=False)
