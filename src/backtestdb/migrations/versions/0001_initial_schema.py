"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# JSONB on PostgreSQL (indexable, compact), JSON text elsewhere.
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "backtests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("platform", sa.String(length=32), server_default="ctrader", nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=True),
        sa.Column("symbols", JSON, nullable=False),
        sa.Column("period", sa.String(length=32), nullable=True),
        sa.Column("testing_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("testing_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("initial_balance", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("ending_balance", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("ending_equity", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("net_profit", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("gross_profit", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("gross_loss", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("total_trades", sa.Integer(), nullable=False),
        sa.Column("winning_trades", sa.Integer(), nullable=False),
        sa.Column("losing_trades", sa.Integer(), nullable=False),
        sa.Column("win_rate", sa.Numeric(precision=7, scale=2), nullable=False),
        sa.Column("profit_factor", sa.Numeric(precision=14, scale=4), nullable=True),
        sa.Column("max_balance_drawdown", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("max_balance_drawdown_percent", sa.Numeric(precision=7, scale=2), nullable=False),
        sa.Column("max_equity_drawdown", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("max_equity_drawdown_percent", sa.Numeric(precision=7, scale=2), nullable=True),
        sa.Column("commissions", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("swaps", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("reported_statistics", JSON, nullable=False),
        sa.Column("source_files", JSON, nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backtests")),
        sa.UniqueConstraint("content_hash", name=op.f("uq_backtests_content_hash")),
    )
    op.create_index("ix_backtests_created_at", "backtests", ["created_at"])
    op.create_index("ix_backtests_net_profit", "backtests", ["net_profit"])

    op.create_table(
        "daily_summary",
        sa.Column("backtest_id", sa.Uuid(), nullable=False),
        sa.Column("trade_date", sa.Date(), nullable=False),
        sa.Column("total_trades", sa.Integer(), nullable=False),
        sa.Column("winning_trades", sa.Integer(), nullable=False),
        sa.Column("losing_trades", sa.Integer(), nullable=False),
        sa.Column("gross_profit", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("gross_loss", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("net_profit", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("win_rate", sa.Numeric(precision=7, scale=2), nullable=False),
        sa.Column("end_balance", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["backtest_id"],
            ["backtests.id"],
            name=op.f("fk_daily_summary_backtest_id_backtests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("backtest_id", "trade_date", name=op.f("pk_daily_summary")),
    )
    op.create_table(
        "ingestion_jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("job_type", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("errors", JSON, nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("warnings", JSON, nullable=False),
        sa.Column("source_files", JSON, nullable=False),
        sa.Column("options", JSON, nullable=False),
        sa.Column("trades_ingested", sa.Integer(), nullable=False),
        sa.Column("backtest_id", sa.Uuid(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'completed', 'failed')",
            name=op.f("ck_ingestion_jobs_status"),
        ),
        sa.ForeignKeyConstraint(
            ["backtest_id"],
            ["backtests.id"],
            name=op.f("fk_ingestion_jobs_backtest_id_backtests"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingestion_jobs")),
    )
    op.create_index(
        "ix_ingestion_jobs_status_created_at", "ingestion_jobs", ["status", "created_at"]
    )

    op.create_table(
        "parameters",
        sa.Column("backtest_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("value_type", sa.String(length=16), nullable=False),
        sa.Column("group_name", sa.String(length=255), nullable=True),
        sa.Column("display_name", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["backtest_id"],
            ["backtests.id"],
            name=op.f("fk_parameters_backtest_id_backtests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("backtest_id", "name", name=op.f("pk_parameters")),
    )
    op.create_index("ix_parameters_name_value", "parameters", ["name", "value"])

    op.create_table(
        "trades",
        sa.Column("backtest_id", sa.Uuid(), nullable=False),
        sa.Column("trade_number", sa.Integer(), nullable=False),
        sa.Column("deal_id", sa.String(length=64), nullable=True),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("direction", sa.String(length=4), nullable=False),
        sa.Column("open_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("close_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entry_price", sa.Numeric(precision=20, scale=8), nullable=False),
        sa.Column("exit_price", sa.Numeric(precision=20, scale=8), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("volume", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("commission", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("swap", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("pips", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("gross_profit", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("profit", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("balance_after", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("drawdown", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("drawdown_percent", sa.Numeric(precision=9, scale=4), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("extra", JSON, nullable=True),
        sa.CheckConstraint("direction IN ('buy', 'sell')", name=op.f("ck_trades_direction")),
        sa.ForeignKeyConstraint(
            ["backtest_id"],
            ["backtests.id"],
            name=op.f("fk_trades_backtest_id_backtests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("backtest_id", "trade_number", name=op.f("pk_trades")),
    )
    op.create_index("ix_trades_backtest_id_open_time", "trades", ["backtest_id", "open_time"])
    op.create_index("ix_trades_backtest_id_symbol", "trades", ["backtest_id", "symbol"])


def downgrade() -> None:
    op.drop_index("ix_trades_backtest_id_symbol", table_name="trades")
    op.drop_index("ix_trades_backtest_id_open_time", table_name="trades")

    op.drop_table("trades")
    op.drop_index("ix_parameters_name_value", table_name="parameters")

    op.drop_table("parameters")
    op.drop_index("ix_ingestion_jobs_status_created_at", table_name="ingestion_jobs")

    op.drop_table("ingestion_jobs")
    op.drop_table("daily_summary")
    op.drop_index("ix_backtests_net_profit", table_name="backtests")
    op.drop_index("ix_backtests_created_at", table_name="backtests")

    op.drop_table("backtests")
