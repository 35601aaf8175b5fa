"""Who may read what: the access rules, in one place.

- A member reads their own journal, check-in answers, feedback and milestones, and what
  their partner shared with them: the items of a pair they belong to.
- Nobody reads across workspaces: every predicate here is scoped by the turn's workspace,
  so an id (or the same user id string) from another workspace finds nothing.
- Admins (Slack workspace admins, Discord members with Manage Server, ``ADMIN_USER_IDS``)
  configure the workspace and see program metrics: counts, never journal text, answers or
  feedback of others. Being an admin widens none of the predicates below.

Every command that reads data decides whose rows to read through these functions.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, false, or_
from sqlalchemy.orm import InstrumentedAttribute

from bot.errors import UserError
from bot.pairs import PairView
from bot.storage.models import Feedback, MatchProfile, MatchRound, Milestone, Win
from bot.turn import Turn

ADMIN_ONLY = "Only a workspace admin can {action}."
ASK_AN_ADMIN = "Ask one of your workspace admins if you need it."


def is_admin(turn: Turn) -> bool:
    """Admins configure the workspace and see program metrics (never others' text)."""
    return turn.actor_is_admin


def require_admin(turn: Turn, action: str = "do that", hint: str | None = None) -> None:
    """Refuse, with a friendly sentence, anyone who is not an admin of this workspace.
    ``action`` completes "Only a workspace admin can ..."; ``hint`` says what they can do."""
    if not is_admin(turn):
        raise UserError(f"{ADMIN_ONLY.format(action=action)} {hint or ASK_AN_ADMIN}")


def own_wins(turn: Turn) -> ColumnElement[bool]:
    """The actor's journal: their wins in this workspace, nobody else's."""
    return and_(Win.workspace_id == turn.workspace.id, Win.member_id == turn.actor.id)


def own_milestones(turn: Turn) -> ColumnElement[bool]:
    """Milestones the actor reached or set, in this workspace."""
    return and_(Milestone.workspace_id == turn.workspace.id, Milestone.member_id == turn.actor.id)


def own_feedback(turn: Turn) -> ColumnElement[bool]:
    """Feedback items the actor is part of (as mentee or mentor), in this workspace: an
    item is shared between the two members of its pair and nobody else."""
    return and_(
        Feedback.workspace_id == turn.workspace.id,
        or_(Feedback.mentee_id == turn.actor.id, Feedback.mentor_id == turn.actor.id),
    )


def shared_in_pairs(
    turn: Turn,
    views: Sequence[PairView],
    workspace_column: InstrumentedAttribute[int],
    pair_column: InstrumentedAttribute[int] | InstrumentedAttribute[int | None],
) -> ColumnElement[bool]:
    """Rows of the pairs the actor belongs to (``views`` from ``pairs_of(turn,
    turn.actor)`` or ``pick_pair``): what the two members share with each other."""
    mine = [view.pair.id for view in views if _is_actors(turn, view)]
    return and_(workspace_column == turn.workspace.id, pair_column.in_(mine))


def partners_counted(turn: Turn, views: Sequence[PairView]) -> list[int]:
    """Whose win counts the actor may see: their own and their partners' (a partner's wins
    are shared with them as they happen); the texts stay each author's own."""
    return [turn.actor.id, *[v.partner.id for v in views if _is_actors(turn, v)]]


def counted_wins(turn: Turn, views: Sequence[PairView]) -> ColumnElement[bool]:
    return and_(
        Win.workspace_id == turn.workspace.id, Win.member_id.in_(partners_counted(turn, views))
    )


def shared_wins(turn: Turn, view: PairView) -> ColumnElement[bool]:
    """A partner's wins the actor was told of: those they shared since the pair began
    (the news of each went to the actor). Earlier ones, shared with others or nobody,
    stay theirs alone; a pair that is not the actor's reads nothing."""
    if not _is_actors(turn, view):
        return false()
    return and_(
        Win.workspace_id == turn.workspace.id,
        Win.member_id == view.partner.id,
        Win.created_at >= view.began,
    )


def _is_actors(turn: Turn, view: PairView) -> bool:
    """A pair view is usable only when it is the actor's own, in this workspace."""
    return view.me.id == turn.actor.id and view.pair.workspace_id == turn.workspace.id


def own_match_profile(turn: Turn) -> ColumnElement[bool]:
    """The actor's matching profile, in this workspace. Others' profiles are read only to
    run a round (the pool as a whole, for an admin), never shown one by one."""
    return and_(
        MatchProfile.workspace_id == turn.workspace.id, MatchProfile.member_id == turn.actor.id
    )


def workspace_match_round(turn: Turn, round_id: int) -> ColumnElement[bool]:
    """A matching round of this workspace: a round id from elsewhere finds nothing."""
    return and_(MatchRound.id == round_id, MatchRound.workspace_id == turn.workspace.id)
