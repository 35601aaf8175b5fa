"""console clock: the console's simulated time, kept in its workspace row

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN / CREATE INDEX, not batch mode: on SQLite batch mode may copy the
    # table, and dropping the old one runs ON DELETE CASCADE into every table that refers
    # to it (tests/test_migrations.py).
    op.add_column("workspaces", sa.Column("console_now", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # Plain DROP INDEX / DROP COLUMN (SQLite 3.35+), not batch mode: batch mode copies the
    # table, and dropping the old one runs ON DELETE CASCADE into every table that refers
    # to it (tests/test_migrations.py).
    op.drop_column("workspaces", "console_now")
