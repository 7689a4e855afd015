"""runs: backtests ingested together (an optimisation's passes, a named batch)

`runs` holds a run's name, kind (optimization | batch), cBot, symbol, timeframe, testing
period and pass count; `backtests.run_id` and `backtests.pass_number` place a backtest in
its run. The foreign key only unlinks: deleting a run deletes its backtests in the
service, which also removes their stored files.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("cbot", sa.String(length=255), nullable=True),
        sa.Column("symbol", sa.String(length=64), nullable=True),
        sa.Column("period", sa.String(length=32), nullable=True),
        sa.Column("testing_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("testing_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source_key", sa.String(length=64), nullable=True),
        sa.Column("pass_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
    )
    op.create_index("ix_runs_created_at", "runs", ["created_at"])
    op.create_index(op.f("ix_runs_source_key"), "runs", ["source_key"])
    with op.batch_alter_table("backtests") as batch:
        batch.add_column(sa.Column("run_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("pass_number", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_backtests_run_id_runs"), "runs", ["run_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_index("ix_backtests_run_id_pass_number", ["run_id", "pass_number"])


def downgrade() -> None:
    with op.batch_alter_table("backtests") as batch:
        batch.drop_index("ix_backtests_run_id_pass_number")
        batch.drop_constraint(op.f("fk_backtests_run_id_runs"), type_="foreignkey")
        batch.drop_column("pass_number")
        batch.drop_column("run_id")
    op.drop_index(op.f("ix_runs_source_key"), table_name="runs")
    op.drop_index("ix_runs_created_at", table_name="runs")
    op.drop_table("runs")
