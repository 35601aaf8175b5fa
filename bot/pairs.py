"""Pairs: who mentors whom, finding a person's pairs, and picking one when it is unclear."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import aliased

from bot.errors import UserError
from bot.storage.models import PARTNERED_PAIR_STATES, Member, Pair, PairState
from bot.turn import Turn, display_name

NO_PAIR_HINT = "Start one with `/mentor pair @mentor @mentee`."
# The member that stands in for everyone who used forget (bot/privacy.py): one per
# workspace, no name, no settings; a pair with them ended when they left.
FORGOTTEN_MEMBER_ID = "~forgotten"
# Made once: building aliases per query was a measurable share of every /win.
MENTOR = aliased(Member, name="mentor")
MENTEE = aliased(Member, name="mentee")


@dataclass(frozen=True, slots=True)
class PairView:
    """A pair as seen by one of its members."""

    pair: Pair
    me: Member
    partner: Member

    @property
    def i_mentor(self) -> bool:
        return self.pair.mentor_id == self.me.id

    def describe(self) -> str:
        """For text, where mentions render."""
        if self.i_mentor:
            return f"you mentoring {self.partner_mention}"
        return f"{self.partner_mention} mentoring you"

    def label(self) -> str:
        """For button labels, where mentions do not render."""
        role = "you mentor" if self.i_mentor else "your mentor"
        return f"With {display_name(self.partner)} ({role})"

    @property
    def partner_mention(self) -> str:
        return f"<@{self.partner.external_id}>"


async def pairs_of(
    turn: Turn, member: Member, states: Sequence[PairState] = PARTNERED_PAIR_STATES
) -> list[PairView]:
    """The member's pairs in these states, each with the partner, in one query."""
    mentor, mentee = MENTOR, MENTEE
    query = (
        select(Pair, mentor, mentee)
        .join(mentor, Pair.mentor_id == mentor.id)
        .join(mentee, Pair.mentee_id == mentee.id)
        .where(
            Pair.workspace_id == turn.workspace.id,
            or_(Pair.mentor_id == member.id, Pair.mentee_id == member.id),
            Pair.state.in_([s.value for s in states]),
        )
        .order_by(Pair.id)
    )
    views = []
    for pair, mentor_row, mentee_row in (await turn.session.execute(query)).all():
        if pair.mentor_id == member.id:
            views.append(PairView(pair, mentor_row, mentee_row))
        else:
            views.append(PairView(pair, mentee_row, mentor_row))
    return views


class AskWhichPair(Exception):
    """More than one pair fits the command; the engine asks the person which one and
    runs the command again with their choice."""

    def __init__(self, candidates: list[PairView]) -> None:
        super().__init__("which pair?")
        self.candidates = candidates


async def pick_pair(
    turn: Turn,
    partner_id: str | None,
    states: Sequence[PairState] = PARTNERED_PAIR_STATES,
) -> PairView:
    """The pair a command is about: the one named by partner, the only one, or the one
    chosen from a "which pair?" question. Several fit -> raises ``AskWhichPair``."""
    views = await pairs_of(turn, turn.actor, states)
    if not views:
        raise UserError(f"You're not in a mentoring pair yet. {NO_PAIR_HINT}")
    if turn.chosen_pair_id is not None:
        for view in views:
            if view.pair.id == turn.chosen_pair_id:
                return view
        raise UserError("That pair is no longer active, so I didn't do anything.")
    if partner_id is not None:
        matching = [v for v in views if v.partner.external_id == partner_id]
        if not matching:
            raise UserError(f"You don't have a pair with <@{partner_id}>.")
        views = matching
    if len(views) == 1:
        return views[0]
    raise AskWhichPair(views)
