"""The tables. Every row belongs to one workspace (a Slack team, a Discord guild, the
console), so nothing is ever read across workspaces by accident."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Free text (and what quotes it) is stored encrypted when DATA_ENCRYPTION_KEY is set.
from bot.crypto import EncryptedJSON, EncryptedText


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on both backends.

    SQLite keeps no offset, so values are stored as naive UTC and made aware on the way
    back; PostgreSQL stores ``timestamptz``. Naive input is a programming error.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        date: Date(),
        dict[str, Any]: JSON(),
    }


class PairState(StrEnum):
    PROPOSED = "proposed"
    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"
    DECLINED = "declined"


# Pairs in these states are "live": they block a second proposal for the same two people.
LIVE_PAIR_STATES = (PairState.PROPOSED, PairState.ACTIVE, PairState.PAUSED)
# Pairs in these states count as partners for wins and celebrations.
PARTNERED_PAIR_STATES = (PairState.ACTIVE, PairState.PAUSED)


class Cadence(StrEnum):
    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    MONTHLY = "monthly"


class MilestoneKind(StrEnum):
    GOAL = "goal"
    AUTO = "auto"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class OutboxTarget(StrEnum):
    DM = "dm"
    CHANNEL = "channel"


def unique_where(name: str, *columns: str, where: str) -> Index:
    """A unique index over the rows ``where`` holds (a partial index), the same condition
    on both databases."""
    condition = text(where)
    return Index(name, *columns, unique=True, sqlite_where=condition, postgresql_where=condition)


class Workspace(Base):
    __tablename__ = "workspaces"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    shoutout_channel_id: Mapped[str | None] = mapped_column(String(64))
    # Who chose the channel: told if posting there fails for good.
    shoutout_set_by_id: Mapped[int | None] = mapped_column(Integer)
    # When admins were last told that no shout-out channel is set (told once).
    shoutout_hint_sent_at: Mapped[datetime | None]
    # Set when the platform refused us for good (token revoked, app uninstalled):
    # nothing is sent to this workspace until it is installed again.
    delivery_stopped_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    # The console only: its simulated time (``--start``, ``:advance``), so a restarted
    # console goes on where it stopped. None on the chat platforms.
    console_now: Mapped[datetime | None]


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("workspace_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str | None] = mapped_column(String(200))
    timezone: Mapped[str | None] = mapped_column(String(64))
    # None: never asked; True/False: the member's answer about public shout-outs.
    shoutout_consent: Mapped[bool | None] = mapped_column(Boolean)
    # Set when a DM to them failed for good (DMs closed, unknown user); no DM is tried
    # again until they use the bot.
    dm_blocked_at: Mapped[datetime | None]
    # Whether the platform (or ADMIN_USER_IDS) said they are an admin when last seen:
    # they are the ones told about stalled pairs.
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_at: Mapped[datetime]
    # How many wins their journal holds, kept rather than counted (bot/wins.py adds one in
    # the transaction that stores a win; forget deletes the wins with this row).
    wins_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class Pair(Base):
    __tablename__ = "pairs"
    __table_args__ = (
        # One live pair per mentor/mentee couple; ended and declined ones are history.
        unique_where(
            "uq_pairs_live_couple",
            "workspace_id",
            "mentor_id",
            "mentee_id",
            where="state IN ('proposed', 'active', 'paused')",
        ),
        Index("ix_pairs_mentor_id", "mentor_id"),
        Index("ix_pairs_mentee_id", "mentee_id"),
        Index("ix_pairs_next_checkin_at", "next_checkin_at"),
        Index("ix_pairs_heads_up_at", "heads_up_at"),
        Index("ix_pairs_paused_until", "paused_until"),
        Index("ix_pairs_next_anniversary_at", "next_anniversary_at"),
        Index("ix_pairs_stall_check_at", "stall_check_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    mentor_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    mentee_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    proposed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL")
    )
    state: Mapped[str] = mapped_column(String(16))
    mentor_accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    mentee_accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    cadence: Mapped[str] = mapped_column(String(16), default=Cadence.WEEKLY.value)
    weekday: Mapped[int] = mapped_column(Integer, default=0)  # Monday = 0
    local_time: Mapped[str] = mapped_column(String(5), default="10:00")  # HH:MM
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    next_checkin_at: Mapped[datetime | None]
    # Every other week counts from this local date's week: the rhythm's first check-in
    # (or the one open when it was set; bot/cadence.py ``fresh_anchor``).
    cadence_anchor: Mapped[date | None]
    # When to send the "check-in tomorrow" heads-up; cleared once sent.
    heads_up_at: Mapped[datetime | None]
    paused_until: Mapped[datetime | None]
    # While paused: the check-in that was next when it paused (one skipped before the
    # pause included). Resuming schedules none before it (bot/rhythm.py ``resume_schedule``).
    resume_after: Mapped[datetime | None]
    # Consecutive check-ins both members answered.
    streak: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    next_anniversary_at: Mapped[datetime | None]
    anniversaries_reached: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # When to look again whether the pair has stalled (bot/stalls.py); the nudge and the
    # admin alert of the current stall, so neither is sent twice.
    stall_check_at: Mapped[datetime | None]
    stall_nudged_at: Mapped[datetime | None]
    stall_alerted_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    activated_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]


class Win(Base):
    __tablename__ = "wins"
    __table_args__ = (
        Index("ix_wins_member_created", "member_id", "created_at"),
        # One win per platform delivery: a retried /win finds its win (bot/turn.py).
        unique_where(
            "uq_wins_delivery_key", "workspace_id", "delivery_key", where="delivery_key IS NOT NULL"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(EncryptedText)
    created_at: Mapped[datetime]
    # The platform's id of the /win that made it (a Slack trigger id, a Discord
    # interaction id; None from the console), as ``handled_events`` keeps them: on SQLite
    # the win's row is the /win's claim of it (migration 0010).
    delivery_key: Mapped[str | None] = mapped_column(String(128))


class Milestone(Base):
    __tablename__ = "milestones"
    __table_args__ = (
        UniqueConstraint("member_id", "code"),  # an automatic milestone is reached once
        UniqueConstraint("pair_id", "number"),  # goals are numbered within their pair
        Index("ix_milestones_member_id", "member_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    pair_id: Mapped[int | None] = mapped_column(ForeignKey("pairs.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))
    code: Mapped[str | None] = mapped_column(String(32))  # automatic ones: "wins-10"
    number: Mapped[int | None] = mapped_column(Integer)  # goals: 1, 2, 3 within the pair
    title: Mapped[str] = mapped_column(EncryptedText)
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    completed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL")
    )
    celebrated_at: Mapped[datetime | None]
    celebrated_in: Mapped[str | None] = mapped_column(String(8))  # "channel" or "dm"


class FlowSession(Base):
    """One conversation's state, committed on every step so a restart continues it."""

    __tablename__ = "flow_sessions"
    __table_args__ = (
        Index("ix_flow_sessions_member_kind", "member_id", "kind", "ended_at"),
        Index("ix_flow_sessions_due_at", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign key on PostgreSQL (migration 0005: a trigger per row on a hot table).
    workspace_id: Mapped[int]
    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    pair_id: Mapped[int | None] = mapped_column(ForeignKey("pairs.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    # When it last moved, or when its current question reaches the person (later, when
    # held back by quiet hours): a DM reply answers the question asked last.
    updated_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    # The session's one timer (a nudge, a follow-up); the dispatch pass fires it once.
    due_at: Mapped[datetime | None]


class CheckinState(StrEnum):
    OPEN = "open"
    SHARED = "shared"  # both answered, or the window closed and answers were shared
    MISSED = "missed"  # fell due while the bot was down too long; not sent
    SKIPPED = "skipped"  # fell due while another check-in was still open
    CANCELED = "canceled"  # the pair ended while it was open


class Checkin(Base):
    """One occurrence of a pair's check-in, unique per (pair, due time)."""

    __tablename__ = "checkins"
    __table_args__ = (
        UniqueConstraint("pair_id", "due_at"),
        Index("ix_checkins_closes_at", "closes_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign key on PostgreSQL (migration 0005: a trigger per row on a hot table).
    workspace_id: Mapped[int]
    pair_id: Mapped[int] = mapped_column(ForeignKey("pairs.id", ondelete="CASCADE"))
    due_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(8))
    opened_at: Mapped[datetime]
    # While open: when answers are shared even if someone has not answered (48 h).
    closes_at: Mapped[datetime | None]
    shared_at: Mapped[datetime | None]


class CheckinAnswer(Base):
    __tablename__ = "checkin_answers"
    __table_args__ = (UniqueConstraint("checkin_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    checkin_id: Mapped[int] = mapped_column(ForeignKey("checkins.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    mood: Mapped[str | None] = mapped_column(EncryptedText)  # "great"/"ok"/"rough" or words
    progress: Mapped[str | None] = mapped_column(EncryptedText)
    challenge: Mapped[str | None] = mapped_column(EncryptedText)
    next_topic: Mapped[str | None] = mapped_column(EncryptedText)
    answered_at: Mapped[datetime | None]


class Feedback(Base):
    """A question from the mentee and the mentor's answer, or feedback the mentor gave
    unprompted; then how the mentee acted on it."""

    __tablename__ = "feedback"
    __table_args__ = (Index("ix_feedback_pair_id", "pair_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    pair_id: Mapped[int] = mapped_column(ForeignKey("pairs.id", ondelete="CASCADE"))
    mentee_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    mentor_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    question: Mapped[str | None] = mapped_column(EncryptedText)  # None: unprompted feedback
    answer: Mapped[str | None] = mapped_column(EncryptedText)
    action: Mapped[str | None] = mapped_column(EncryptedText)  # how the mentee acted on it
    asked_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    acted_at: Mapped[datetime | None]


class Review(Base):
    """A short look back (went well / could improve) after a milestone or a pair's end."""

    __tablename__ = "reviews"
    __table_args__ = (Index("ix_reviews_pair_id", "pair_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    pair_id: Mapped[int] = mapped_column(ForeignKey("pairs.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    milestone_id: Mapped[int | None] = mapped_column(
        ForeignKey("milestones.id", ondelete="CASCADE")
    )
    occasion: Mapped[str] = mapped_column(String(16))  # "milestone", "pair_end", "asked"
    went_well: Mapped[str | None] = mapped_column(EncryptedText)
    could_improve: Mapped[str | None] = mapped_column(EncryptedText)
    created_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]


class OutboxMessage(Base):
    """A DM or channel post to deliver, written in the transaction that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next_attempt", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign key on PostgreSQL (migration 0005: a trigger per row on a hot table).
    workspace_id: Mapped[int]
    target_kind: Mapped[str] = mapped_column(String(8))
    target_id: Mapped[str] = mapped_column(String(64))
    content: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON)
    status: Mapped[str] = mapped_column(String(8), default=OutboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(200))


class HandledEvent(Base):
    """Platform delivery ids already handled, so a retried request changes nothing."""

    __tablename__ = "handled_events"
    __table_args__ = (UniqueConstraint("workspace_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]


# --- matching (bot/matching/, DESIGN.md section 8) ---------------------------------------


class MatchRole(StrEnum):
    MENTOR = "mentor"
    MENTEE = "mentee"
    BOTH = "both"


class MatchProfile(Base):
    """A person in the matching pool of their workspace (one profile per member).

    ``left_at`` set: they left the pool (``/mentor leave``); the row stays so joining
    again keeps their topics. ``joined_at`` is when they last joined: how long they have
    waited, and (for a mentee with a pair) whether they asked for another mentor since."""

    __tablename__ = "match_profiles"
    __table_args__ = (
        UniqueConstraint("member_id"),
        Index("ix_match_profiles_workspace_id", "workspace_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(8))
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    team: Mapped[str | None] = mapped_column(EncryptedText)
    joined_at: Mapped[datetime]
    left_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class MatchTopic(Base):
    """A topic of a workspace, normalised (bot/topics.py), shared by everyone who
    names it: the words people are offered as suggestions."""

    __tablename__ = "match_topics"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime]


class MatchProfileTopic(Base):
    __tablename__ = "match_profile_topics"
    __table_args__ = (
        UniqueConstraint("profile_id", "topic_id"),
        Index("ix_match_profile_topics_topic_id", "topic_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    profile_id: Mapped[int] = mapped_column(ForeignKey("match_profiles.id", ondelete="CASCADE"))
    topic_id: Mapped[int] = mapped_column(ForeignKey("match_topics.id", ondelete="CASCADE"))


class MatchRound(Base):
    """One run of ``/mentor match``: the preview the admin saw, then sent or canceled."""

    __tablename__ = "match_rounds"
    __table_args__ = (Index("ix_match_rounds_workspace_id", "workspace_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    run_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    # {"pairs": [{"mentor": member id, "mentee": member id, "score", "reasons"}],
    #  "unmatched": [{"member": member id, "reason"}]}; reasons quote topics.
    preview: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    canceled_at: Mapped[datetime | None]


class MatchProposal(Base):
    """A pair proposed by a round; it expires if not answered in time."""

    __tablename__ = "match_proposals"
    __table_args__ = (
        UniqueConstraint("pair_id"),
        Index("ix_match_proposals_expires_at", "expires_at"),
        Index("ix_match_proposals_round_id", "round_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    round_id: Mapped[int] = mapped_column(ForeignKey("match_rounds.id", ondelete="CASCADE"))
    pair_id: Mapped[int] = mapped_column(ForeignKey("pairs.id", ondelete="CASCADE"))
    score: Mapped[int] = mapped_column(Integer)
    # Cleared once the proposal is answered or has expired (the due job looks at it once).
    expires_at: Mapped[datetime | None]
    expired_at: Mapped[datetime | None]
