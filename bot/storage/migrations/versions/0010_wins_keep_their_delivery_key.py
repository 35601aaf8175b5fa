"""A win keeps the platform's id of the /win that made it: on SQLite its row is the
/win's claim of that id, one statement fewer

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A keyed /win claimed its key in ``handled_events``. SQLite writes one table a statement,
# so that claim was a statement of its own, and a /win that reaches a milestone took five
# (issue 16 asks for at most four). Now the win's row holds the key, and its unique index
# refuses a second win of one delivery. PostgreSQL claims the key with the look-up, as
# before, and keeps it on the win too: the same rows on both databases.
# A plain ADD COLUMN, not batch mode: rebuilding ``wins`` would drop migration 0009's
# trigger with the old table.
INDEX = "uq_wins_delivery_key"


def upgrade() -> None:
    op.add_column("wins", sa.Column("delivery_key", sa.String(length=128), nullable=True))
    op.create_index(
        INDEX,
        "wins",
        ["workspace_id", "delivery_key"],
        unique=True,
        sqlite_where=sa.text("delivery_key IS NOT NULL"),
        postgresql_where=sa.text("delivery_key IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="wins")
    # SQLite (3.35 and later) drops a column in place: the trigger stays.
    op.drop_column("wins", "delivery_key")
