"""A paused pair keeps the check-in that was next when it paused, so resuming (early,
or when the pause ends) schedules none before it: a check-in skipped before the pause
stays skipped

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no default: a pair paused before this keeps resuming as it did (from now).
    op.add_column("pairs", sa.Column("resume_after", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("pairs", "resume_after")
