"""matching: profiles, topics, rounds and their proposals

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "match_profiles",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("team", sa.Text(), nullable=True),
        sa.Column("joined_at", _WHEN, nullable=False),
        sa.Column("left_at", _WHEN, nullable=True),
        sa.Column("updated_at", _WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name="fk_match_profiles_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name="fk_match_profiles_member_id_members",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_match_profiles"),
        sa.UniqueConstraint("member_id", name="uq_match_profiles_member_id"),
    )
    op.create_index("ix_match_profiles_workspace_id", "match_profiles", ["workspace_id"])
    op.create_table(
        "match_topics",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name="fk_match_topics_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_match_topics"),
        sa.UniqueConstraint("workspace_id", "name", name="uq_match_topics_workspace_id_name"),
    )
    op.create_table(
        "match_profile_topics",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name="fk_match_profile_topics_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["match_profiles.id"],
            name="fk_match_profile_topics_profile_id_match_profiles",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"],
            ["match_topics.id"],
            name="fk_match_profile_topics_topic_id_match_topics",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_match_profile_topics"),
        sa.UniqueConstraint(
            "profile_id", "topic_id", name="uq_match_profile_topics_profile_id_topic_id"
        ),
    )
    op.create_index("ix_match_profile_topics_topic_id", "match_profile_topics", ["topic_id"])
    op.create_table(
        "match_rounds",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("run_by_id", sa.Integer(), nullable=True),
        sa.Column("preview", sa.JSON(), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("sent_at", _WHEN, nullable=True),
        sa.Column("canceled_at", _WHEN, nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name="fk_match_rounds_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_by_id"],
            ["members.id"],
            name="fk_match_rounds_run_by_id_members",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_match_rounds"),
    )
    op.create_index("ix_match_rounds_workspace_id", "match_rounds", ["workspace_id"])
    op.create_table(
        "match_proposals",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("pair_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("expires_at", _WHEN, nullable=True),
        sa.Column("expired_at", _WHEN, nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name="fk_match_proposals_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["match_rounds.id"],
            name="fk_match_proposals_round_id_match_rounds",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pair_id"], ["pairs.id"], name="fk_match_proposals_pair_id_pairs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_match_proposals"),
        sa.UniqueConstraint("pair_id", name="uq_match_proposals_pair_id"),
    )
    op.create_index("ix_match_proposals_expires_at", "match_proposals", ["expires_at"])
    op.create_index("ix_match_proposals_round_id", "match_proposals", ["round_id"])


def downgrade() -> None:
    op.drop_table("match_proposals")
    op.drop_table("match_rounds")
    op.drop_table("match_profile_topics")
    op.drop_table("match_topics")
    op.drop_table("match_profiles")
