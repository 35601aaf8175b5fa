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
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_admin", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )

    with op.batch_alter_table("pairs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stall_check_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("stall_nudged_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("stall_alerted_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_index("ix_pairs_stall_check_at", ["stall_check_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pairs", schema=None) as batch_op:
        batch_op.drop_index("ix_pairs_stall_check_at")
        batch_op.drop_column("stall_alerted_at")
        batch_op.drop_column("stall_nudged_at")
        batch_op.drop_column("stall_check_at")

    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("is_admin")
