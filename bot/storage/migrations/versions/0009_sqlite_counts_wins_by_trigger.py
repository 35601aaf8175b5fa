"""SQLite counts a member's wins by trigger: a /win is one statement fewer there

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite has no data-modifying CTEs: without this, a win's INSERT and its count's UPDATE
# are two statements (issue 16 asks for at most 4 a /win). PostgreSQL counts a win up in
# the win's own INSERT (bot/wins.py), which also returns the new count, exact when one
# person's wins arrive at once; it gets no trigger. Only bot/wins.py inserts wins.
# An older mentorbot still running on the same SQLite file would count its wins itself
# as well (twice): stop it before a newer one starts there (README.md says so).
# A later migration that rebuilds ``wins`` in batch mode (copy, drop, rename) drops this
# trigger with the old table and must create it again: tests/test_migrations.py checks
# that the count still goes up after every way down and back.
TRIGGER = "wins_counted"


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        f"CREATE TRIGGER {TRIGGER} AFTER INSERT ON wins BEGIN "
        "UPDATE members SET wins_count = wins_count + 1 WHERE id = NEW.member_id; END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}")
