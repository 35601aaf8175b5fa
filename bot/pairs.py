"""Pairs: who mentors whom, finding a person's pairs, and picking one when it is unclear."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, case, or_, select
from sqlalchemy.orm import aliased

from bot.errors import UserError
from bot.partners import pair_counts
from bot.storage.models import (
    LIVE_PAIR_STATES,
    PARTNERED_PAIR_STATES,
    Member,
    Milestone,
    Pair,
    PairState,
)
from bot.text import shorten
from bot.turn import Turn, display_name

# The longest name in a pair's label: "With <name> (your mentor)" then fits 75 characters.
LABEL_NAME_CHARS = 50
NO_PAIR_HINT = "Start one with `/mentor pair @mentor @mentee`."
# The member that stands in for everyone who used forget (bot/privacy.py): one per
# workspace, no name, no settings; a pair with them ended when they left.
FORGOTTEN_MEMBER_ID = "~forgotten"
# How the stand-in is named in text: it has no platform account to mention.
FORMER_MEMBER = "a former member"
# Made once: building aliases per query was a measurable share of every /win.
MENTOR = aliased(Member, name="mentor")
MENTEE = aliased(Member, name="mentee")


@dataclass(frozen=True, slots=True)
class PairView:
    """A pair as seen by one of its members."""

    pair: Pair
    me: Member
    partner: Member
    # How many of the actor's pairs the command could have meant (``pick_pair``): with
    # more than one, its answer names the partner.
    among: int = 1

    @property
    def i_mentor(self) -> bool:
        return self.pair.mentor_id == self.me.id

    def describe(self) -> str:
        """For text, where mentions render."""
        if self.i_mentor:
            return f"you mentoring {self.partner_mention}"
        return f"{self.partner_mention} mentoring you"

    @property
    def partner_role(self) -> str:
        """What the partner is to me: "your mentee" or "your mentor"."""
        return "your mentee" if self.i_mentor else "your mentor"

    def label(self) -> str:
        """For button and menu labels, where mentions do not render. A long name is
        shortened here, so the label fits every platform (Slack's menu options hold 75
        characters) and still ends with the role."""
        return f"With {label_name(display_name(self.partner))} ({self.partner_role})"

    @property
    def partner_mention(self) -> str:
        return mention(self.partner)

    @property
    def began(self) -> datetime:
        """When both had agreed: from then on each win of one was told to the other."""
        return self.pair.activated_at or self.pair.created_at


async def lock(turn: Turn, row: Pair | Milestone) -> bool:
    """A pair's (or a goal's) row, locked until the turn commits, and read again; whether
    it is still there. Two changes to one pair at one moment on PostgreSQL (both members
    press [Skip this one], or [End pair], or type the same pause) then take turns, the
    second reading what the first left, so one does it and the other is told it is done
    already, and each member hears of it once. SQLite takes whole transactions in turn
    already, and writes no lock."""
    model = type(row)
    locked = select(model).where(model.id == row.id).with_for_update()
    found = await turn.session.execute(locked.execution_options(populate_existing=True))
    return found.scalar_one_or_none() is not None


async def lock_live(turn: Turn, view: PairView) -> None:
    """``lock`` for a command that changes a live pair: one that ended meanwhile (its
    end committed while this waited for the row) is told so, and nothing is changed.
    Without this the command would pause, reschedule or add to a pair that ended."""
    await lock(turn, view.pair)
    if view.pair.state not in LIVE_PAIR_STATES:
        raise UserError(
            f"Your pair with {view.partner_mention} ended a moment ago, so nothing changed."
        )


def mention(member: Member) -> str:
    """A member as mention markup, or ``FORMER_MEMBER`` for the forgotten stand-in (a
    pair that ended when someone used forget still names its two)."""
    if member.external_id == FORGOTTEN_MEMBER_ID:
        return FORMER_MEMBER
    return f"<@{member.external_id}>"


def label_name(name: str) -> str:
    """A person's name for a button or menu label, shortened when long."""
    return shorten(name, LABEL_NAME_CHARS)


def how_to_answer(view: PairView) -> str:
    """For the one a proposed pair waits for (``view.me``): where its question is, and
    how to have it again."""
    me = f"<@{view.me.external_id}>"
    mentor, mentee = (me, view.partner_mention) if view.i_mentor else (view.partner_mention, me)
    # The mentions stay outside the code span, where they render as names.
    return (
        "Answer with [Accept] or [Decline] in the DM that proposed it; "
        f"`/mentor pair` {mentor} {mentee} sends it to you again."
    )


def has_accepted(pair: Pair, member_id: int) -> bool:
    """Whether this one of the pair's two (a member's id) agreed to it."""
    return pair.mentor_accepted if member_id == pair.mentor_id else pair.mentee_accepted


def other_member_id(pair: Pair, member_id: int) -> int:
    """The other one of the pair's two, by member id."""
    return pair.mentee_id if member_id == pair.mentor_id else pair.mentor_id


def other_member_in_sql(
    mentor_id: SQLColumnExpression[int],
    mentee_id: SQLColumnExpression[int],
    member_id: SQLColumnExpression[int] | int,
) -> ColumnElement[int]:
    """``other_member_id`` inside a statement: of a pair's mentor and mentee id columns,
    the one that is not ``member_id``."""
    return case((mentor_id == member_id, mentee_id), else_=mentor_id)


def pairs_with_both(turn: Turn, *where: ColumnElement[bool]) -> Select[*tuple[Any, ...]]:
    """The workspace's pairs that fit ``where``, in the order they were made, each with
    its mentor and its mentee (``MENTOR``, ``MENTEE``): one query."""
    return (
        select(Pair, MENTOR, MENTEE)
        .join(MENTOR, Pair.mentor_id == MENTOR.id)
        .join(MENTEE, Pair.mentee_id == MENTEE.id)
        .where(Pair.workspace_id == turn.workspace.id, *where)
        .order_by(Pair.id)
    )


async def pairs_of(
    turn: Turn, member: Member, states: Sequence[PairState] = PARTNERED_PAIR_STATES
) -> list[PairView]:
    """The member's pairs in these states, each with the partner, in one query."""
    query = pairs_with_both(
        turn,
        or_(Pair.mentor_id == member.id, Pair.mentee_id == member.id),
        Pair.state.in_([s.value for s in states]),
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


def not_in_a_pair(*, had_one: bool, hint: str = NO_PAIR_HINT) -> str:
    """What someone with no active pair is told: "yet" only if they never had one."""
    return f"You're not in a mentoring pair {'now' if had_one else 'yet'}. {hint}"


async def with_partner(
    turn: Turn, views: Sequence[PairView], partner_id: str, states: Sequence[PairState]
) -> list[PairView]:
    """The pairs of ``views`` (the actor's pairs in ``states``) with that partner; none
    is said (raises ``UserError``, ``no_pair``)."""
    matching = [view for view in views if view.partner.external_id == partner_id]
    if not matching:
        raise UserError(await no_pair(turn, partner_id, states, alone=False))
    return matching


async def no_pair(
    turn: Turn, partner_id: str | None, states: Sequence[PairState], *, alone: bool
) -> str:
    """Why a command finds no pair of the actor's in ``states`` (with ``partner_id``,
    when named); ``alone``: they have none in those states at all. A pair of theirs not
    started yet says so, and whose answer it waits for; one with the partner named that
    ended says when. Read on this error path only."""
    looked = [state for state in (PairState.PROPOSED, PairState.ENDED) if state not in states]
    others = await pairs_of(turn, turn.actor, looked) if looked else []
    named = sorted(
        (v for v in others if partner_id is None or v.partner.external_id == partner_id),
        key=lambda view: view.pair.id,
        reverse=True,
    )
    for view in named:
        if view.pair.state == PairState.PROPOSED:
            mine = has_accepted(view.pair, view.me.id)
            whose = (
                f"{view.partner_mention}'s answer"
                if mine
                else "your answer ([Accept] or [Decline] in my DM to you)"
            )
            return (
                f"Your pair with {view.partner_mention} hasn't started yet: it waits for {whose}."
            )
    if partner_id is not None and named:
        last = last_ended(named)
        ended = f"Your pair with {last.partner_mention} ended on {ended_day(turn, last):%Y-%m-%d}."
        return f"{ended} Start a new one with `/mentor pair @mentor @mentee`." if alone else ended
    if alone:
        return not_in_a_pair(had_one=any(v.pair.state == PairState.ENDED for v in others))
    if partner_id == turn.actor.external_id:
        return f"<@{partner_id}> is you: mention your partner instead, or no one."
    return f"You don't have a pair with <@{partner_id}>."


def last_ended(views: Sequence[PairView]) -> PairView:
    """The pair of ``views`` (ended ones) that ended last."""
    return max(views, key=lambda view: (view.pair.ended_at or view.pair.created_at, view.pair.id))


def ended_day(turn: Turn, view: PairView) -> datetime:
    """When the pair ended, in the actor's timezone (else the pair's)."""
    zone = ZoneInfo(turn.actor.timezone or view.pair.timezone)
    return (view.pair.ended_at or turn.now).astimezone(zone)


async def pick_pair(
    turn: Turn,
    partner_id: str | None,
    states: Sequence[PairState] = PARTNERED_PAIR_STATES,
    *,
    fitting: Sequence[PairState] = (),
    none_fit: str | None = None,
) -> PairView:
    """The pair a command is about: the one named by partner, the only one, or the one
    chosen from a "which pair?" question. Several fit -> raises ``AskWhichPair``.

    ``fitting``: the states the command is for (``/mentor resume``: paused). With no
    partner named and several pairs, only the pairs in those states are offered, and
    the only one is taken; when none is, ``none_fit`` is said (else all are offered)."""
    views = await pairs_of(turn, turn.actor, states)
    if not views:
        raise UserError(await no_pair(turn, partner_id, states, alone=True))
    views = [dataclasses.replace(view, among=len(views)) for view in views]
    if turn.chosen_pair_id is not None:
        for view in views:
            if view.pair.id == turn.chosen_pair_id:
                return view
        raise UserError("That pair is no longer active, so I didn't do anything.")
    if partner_id is not None:
        views = await with_partner(turn, views, partner_id, states)
    if len(views) > 1 and partner_id is None and fitting:
        fit = [v for v in views if v.pair.state in fitting]
        if fit:
            views = fit
        elif none_fit is not None:
            raise UserError(none_fit)
    if len(views) == 1:
        return views[0]
    raise AskWhichPair(views)


async def pick_pair_keeping(
    turn: Turn, partner_id: str | None, words: str, *, verb: str
) -> PairView:
    """``pick_pair`` for a command that carries the person's words (a question, a
    milestone's title): when no pair fits, the answer says first that they were not
    kept, quoting them ("I didn't send “…”." for ``verb`` "send"), then why ("You're not
    in a mentoring pair yet ...")."""
    try:
        return await pick_pair(turn, partner_id)
    except UserError as error:
        quoted = shorten(words, QUOTED_WORDS_CHARS)
        raise UserError(f"I didn't {verb} “{quoted}”. {error.message}") from None


# How much of someone's words an answer that did not keep them quotes back.
QUOTED_WORDS_CHARS = 200


async def too_many_pairs(
    turn: Turn,
    people: Sequence[Member],
    states: Sequence[PairState] = LIVE_PAIR_STATES,
    *,
    outcome: str = "so I didn't start another",
) -> str | None:
    """What to tell ``turn.actor`` when one of ``people`` is already in
    ``turn.max_pairs`` pairs in these states (MAX_PAIRS_PER_PERSON); None when
    there is room."""
    counts = await pair_counts(turn.session, [p.id for p in people], states)
    for person in people:
        if counts[person.id] < turn.max_pairs:
            continue
        who = "You're" if person.id == turn.actor.id else f"<@{person.external_id}> is"
        return (
            f"{who} already in {counts[person.id]} pairs, the most one person can be in "
            f"here ({turn.max_pairs}), {outcome}. End one with `/mentor end` first, or ask "
            "whoever runs mentorbot to raise MAX_PAIRS_PER_PERSON."
        )
    return None
