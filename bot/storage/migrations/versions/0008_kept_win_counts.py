"""kept win counts: each member's number of wins on their row, so /win does not count

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ALTER TABLE ... ADD COLUMN, not batch mode: batch mode copies the members
    # table on SQLite, and dropping the old one would cascade-delete every row that
    # refers to a member (wins, pairs, answers...).
    op.add_column(
        "members",
        sa.Column("wins_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.execute(
        "UPDATE members SET wins_count = "
        "(SELECT count(*) FROM wins WHERE wins.member_id = members.id)"
    )


def downgrade() -> None:
    # A plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not batch mode (see upgrade).
    op.drop_column("members", "wins_count")
