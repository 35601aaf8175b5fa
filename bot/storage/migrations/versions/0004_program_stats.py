"""program stats: stall checks on pairs, admins as last seen

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN / CREATE INDEX, not batch mode: on SQLite batch mode may copy the
    # table, and dropping the old one runs ON DELETE CASCADE into every table that refers
    # to it (tests/test_migrations.py).
    op.add_column(
        "members",
        sa.Column("is_admin", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )

    op.add_column("pairs", sa.Column("stall_check_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("pairs", sa.Column("stall_nudged_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("pairs", sa.Column("stall_alerted_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_pairs_stall_check_at", "pairs", ["stall_check_at"], unique=False)


def downgrade() -> None:
    # Plain DROP INDEX / DROP COLUMN (SQLite 3.35+), not batch mode: batch mode copies the
    # table, and dropping the old one runs ON DELETE CASCADE into every table that refers
    # to it (tests/test_migrations.py).
    op.drop_index("ix_pairs_stall_check_at", table_name="pairs")
    op.drop_column("pairs", "stall_alerted_at")
    op.drop_column("pairs", "stall_nudged_at")
    op.drop_column("pairs", "stall_check_at")

    op.drop_column("members", "is_admin")
