"""checkins feedback reviews

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN / CREATE INDEX, not batch mode: on SQLite batch mode may copy the
    # table, and dropping the old one runs ON DELETE CASCADE into every table that refers
    # to it (tests/test_migrations.py).
    op.create_table(
        "checkins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("pair_id", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("shared_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["pair_id"], ["pairs.id"], name=op.f("fk_checkins_pair_id_pairs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_checkins_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkins")),
        sa.UniqueConstraint("pair_id", "due_at", name=op.f("uq_checkins_pair_id_due_at")),
    )
    op.create_index("ix_checkins_closes_at", "checkins", ["closes_at"], unique=False)

    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("pair_id", sa.Integer(), nullable=False),
        sa.Column("mentee_id", sa.Integer(), nullable=False),
        sa.Column("mentor_id", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("action", sa.Text(), nullable=True),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["mentee_id"],
            ["members.id"],
            name=op.f("fk_feedback_mentee_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["mentor_id"],
            ["members.id"],
            name=op.f("fk_feedback_mentor_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pair_id"], ["pairs.id"], name=op.f("fk_feedback_pair_id_pairs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_feedback_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
    )
    op.create_index("ix_feedback_pair_id", "feedback", ["pair_id"], unique=False)

    op.create_table(
        "checkin_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("checkin_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("mood", sa.Text(), nullable=True),
        sa.Column("progress", sa.Text(), nullable=True),
        sa.Column("challenge", sa.Text(), nullable=True),
        sa.Column("next_topic", sa.Text(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["checkin_id"],
            ["checkins.id"],
            name=op.f("fk_checkin_answers_checkin_id_checkins"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_checkin_answers_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_checkin_answers_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkin_answers")),
        sa.UniqueConstraint(
            "checkin_id", "member_id", name=op.f("uq_checkin_answers_checkin_id_member_id")
        ),
    )
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("pair_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("milestone_id", sa.Integer(), nullable=True),
        sa.Column("occasion", sa.String(length=16), nullable=False),
        sa.Column("went_well", sa.Text(), nullable=True),
        sa.Column("could_improve", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_reviews_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["milestone_id"],
            ["milestones.id"],
            name=op.f("fk_reviews_milestone_id_milestones"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pair_id"], ["pairs.id"], name=op.f("fk_reviews_pair_id_pairs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_reviews_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
    )
    op.create_index("ix_reviews_pair_id", "reviews", ["pair_id"], unique=False)

    op.add_column("flow_sessions", sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_flow_sessions_due_at", "flow_sessions", ["due_at"], unique=False)

    op.add_column("pairs", sa.Column("cadence_anchor", sa.Date(), nullable=True))
    op.add_column("pairs", sa.Column("heads_up_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("pairs", sa.Column("paused_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "pairs", sa.Column("streak", sa.Integer(), nullable=False, server_default=sa.text("0"))
    )
    op.add_column(
        "pairs", sa.Column("next_anniversary_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "pairs",
        sa.Column(
            "anniversaries_reached", sa.Integer(), nullable=False, server_default=sa.text("0")
        ),
    )
    op.create_index("ix_pairs_heads_up_at", "pairs", ["heads_up_at"], unique=False)
    op.create_index("ix_pairs_next_anniversary_at", "pairs", ["next_anniversary_at"], unique=False)
    op.create_index("ix_pairs_paused_until", "pairs", ["paused_until"], unique=False)


def downgrade() -> None:
    # Plain DROP INDEX / DROP COLUMN (SQLite 3.35+), not batch mode: batch mode copies the
    # table, and dropping the old one runs ON DELETE CASCADE into every table that refers
    # to it (tests/test_migrations.py).
    op.drop_index("ix_pairs_paused_until", table_name="pairs")
    op.drop_index("ix_pairs_next_anniversary_at", table_name="pairs")
    op.drop_index("ix_pairs_heads_up_at", table_name="pairs")
    op.drop_column("pairs", "anniversaries_reached")
    op.drop_column("pairs", "next_anniversary_at")
    op.drop_column("pairs", "streak")
    op.drop_column("pairs", "paused_until")
    op.drop_column("pairs", "heads_up_at")
    op.drop_column("pairs", "cadence_anchor")

    op.drop_index("ix_flow_sessions_due_at", table_name="flow_sessions")
    op.drop_column("flow_sessions", "due_at")

    op.drop_index("ix_reviews_pair_id", table_name="reviews")

    op.drop_table("reviews")
    op.drop_table("checkin_answers")
    op.drop_index("ix_feedback_pair_id", table_name="feedback")

    op.drop_table("feedback")
    op.drop_index("ix_checkins_closes_at", table_name="checkins")

    op.drop_table("checkins")
