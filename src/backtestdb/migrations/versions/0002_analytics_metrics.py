"""analytics metrics on backtests

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
MONEY = sa.Numeric(precision=18, scale=2)
RATIO = sa.Numeric(precision=14, scale=4)

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def columns() -> list[sa.Column[object]]:
    # All nullable: backtests stored before this revision have no figures until refreshed.
    return [
        sa.Column("expectancy", MONEY, nullable=True),
        sa.Column("average_win", MONEY, nullable=True),
        sa.Column("average_loss", MONEY, nullable=True),
        sa.Column("largest_win", MONEY, nullable=True),
        sa.Column("largest_loss", MONEY, nullable=True),
        sa.Column("payoff_ratio", RATIO, nullable=True),
        sa.Column("max_consecutive_wins", sa.Integer(), nullable=True),
        sa.Column("max_consecutive_losses", sa.Integer(), nullable=True),
        sa.Column("recovery_factor", RATIO, nullable=True),
        sa.Column("sharpe_ratio", RATIO, nullable=True),
        sa.Column("sortino_ratio", RATIO, nullable=True),
        sa.Column("calmar_ratio", RATIO, nullable=True),
        sa.Column("cagr_percent", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.Column("metrics", JSON, nullable=True),
        sa.Column("reconciliation", JSON, nullable=True),
    ]


def upgrade() -> None:
    # batch mode: SQLite can add columns in place but cannot drop them; one code path.
    with op.batch_alter_table("backtests") as batch:
        for column in columns():
            batch.add_column(column)


def downgrade() -> None:
    with op.batch_alter_table("backtests") as batch:
        for column in reversed(columns()):
            batch.drop_column(column.name)
