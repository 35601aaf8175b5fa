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
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dm_blocked_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shoutout_set_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("delivery_stopped_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.drop_column("delivery_stopped_at")
        batch_op.drop_column("shoutout_set_by_id")

    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("dm_blocked_at")
