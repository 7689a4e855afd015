"""worker leases on ingestion jobs

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def columns() -> list[sa.Column[object]]:
    return [
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        # A server default, so jobs stored before this revision read as never attempted.
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("worker_id", sa.String(length=255), nullable=True),
    ]


def upgrade() -> None:
    # batch mode: SQLite can add columns in place but cannot drop them; one code path.
    with op.batch_alter_table("ingestion_jobs") as batch:
        for column in columns():
            batch.add_column(column)


def downgrade() -> None:
    with op.batch_alter_table("ingestion_jobs") as batch:
        for column in reversed(columns()):
            batch.drop_column(column.name)
