"""delivery failures

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN / CREATE INDEX, not batch mode: on SQLite batch mode may copy the
    # table, and dropping the old one runs ON DELETE CASCADE into every table that refers
    # to it (tests/test_migrations.py).
    op.add_column("members", sa.Column("dm_blocked_at", sa.DateTime(timezone=True), nullable=True))

    op.add_column("workspaces", sa.Column("shoutout_set_by_id", sa.Integer(), nullable=True))
    op.add_column(
        "workspaces", sa.Column("delivery_stopped_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    # Plain DROP INDEX / DROP COLUMN (SQLite 3.35+), not batch mode: batch mode copies the
    # table, and dropping the old one runs ON DELETE CASCADE into every table that refers
    # to it (tests/test_migrations.py).
    op.drop_column("workspaces", "delivery_stopped_at")
    op.drop_column("workspaces", "shoutout_set_by_id")

    op.drop_column("members", "dm_blocked_at")
