"""A pair forms by consent: each person who did not propose it accepts or declines.

```mermaid
stateDiagram-v2
    [*] --> awaiting: /mentor pair @mentor @mentee
    awaiting --> awaiting: one of two accepts
    awaiting --> accepted: the last one accepts (the pair becomes active)
    awaiting --> declined: someone declines
    awaiting --> withdrawn: the pair was ended before everyone accepted
    accepted --> [*]
    declined --> [*]
    withdrawn --> [*]
```
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ColumnElement, and_, bindparam, or_, select
from sqlalchemy.orm import aliased

from bot.cadence import describe, local_day
from bot.commands import ProposePair
from bot.content import ButtonStyle, Content
from bot.effects import Effect
from bot.errors import UserError
from bot.flows.sessions import (
    STALE,
    FlowKind,
    StepResult,
    flow_button,
    move,
    start_flow,
)
from bot.pairs import (
    FORGOTTEN_MEMBER_ID,
    PairView,
    has_accepted,
    other_member_id,
    too_many_pairs,
)
from bot.pairs import mention as _m
from bot.rhythm import rule_of, schedule_anniversary, schedule_next
from bot.storage.models import (
    LIVE_PAIR_STATES,
    PARTNERED_PAIR_STATES,
    FlowSession,
    Member,
    Pair,
    PairState,
)
from bot.text import mention_list
from bot.turn import Turn


class State(StrEnum):
    AWAITING = "awaiting"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


# A click on a proposal declined, withdrawn, expired or ended by a forget since: each of
# those told the person why in a DM of its own, so this says only that it is over.
WITHDRAWN = "This proposal didn't go ahead, so there is nothing to answer any more."
# The same, for a proposal that became a pair and has ended since.
PAIR_OVER = "This pair has ended, so there is nothing to answer any more."


def _formed(pair: Pair, mentor: Member, mentee: Member, choice: str) -> str:
    """Said to a click on a proposal that became a pair: nothing changes."""
    who = f"{_m(mentor)} is mentoring {_m(mentee)}"
    if pair.state not in PARTNERED_PAIR_STATES:
        return f"Both of you accepted this proposal ({who}), and the pair has ended since."
    end = " To end the pair, use `/mentor end`." if choice == "decline" else ""
    return f"Both of you accepted this proposal, so you're paired: {who}.{end}"


async def propose(turn: Turn, command: ProposePair) -> list[Effect]:
    mentor = await turn.member(command.mentor_id)
    mentee = await turn.member(command.mentee_id)
    existing = await _live_pair_between(turn, mentor, mentee)
    if existing is not None:
        return await _already(turn, existing, mentor, mentee)
    full = await too_many_pairs(turn, [mentor, mentee])
    if full is not None:
        raise UserError(full)

    pair = Pair(
        workspace_id=turn.workspace.id,
        mentor_id=mentor.id,
        mentee_id=mentee.id,
        proposed_by_id=turn.actor.id,
        state=PairState.PROPOSED.value,
        mentor_accepted=mentor.id == turn.actor.id,
        mentee_accepted=mentee.id == turn.actor.id,
        timezone=turn.actor.timezone or "UTC",
        created_at=turn.now,
    )
    turn.session.add(pair)
    await turn.session.flush()
    flow = await start_flow(turn, FlowKind.PAIR_PROPOSAL, State.AWAITING, pair=pair)
    asked = [m for m in (mentor, mentee) if m.id != turn.actor.id]
    for member in asked:
        await _invite(turn, flow, pair, mentor, mentee, member)
    again = await _proposed_before(turn, mentor, mentee) + _unreachable(asked)
    if turn.actor.id == mentor.id:
        return turn.reply(f"I asked {_m(mentee)} whether they'd like you as their mentor." + again)
    if turn.actor.id == mentee.id:
        return turn.reply(f"I asked {_m(mentor)} whether they'd like to mentor you." + again)
    return turn.reply(
        f"I asked {_m(mentor)} and {_m(mentee)} to agree that {_m(mentor)} mentors "
        f"{_m(mentee)}. I'll let you know when they answer." + again
    )


async def _proposed_before(turn: Turn, one: Member, other: Member) -> str:
    """A note for whoever proposes again two people who were proposed before (either
    way round), so they know they are asking again: from the newest of their past pairs,
    one that did not form or one that ended. "" when there was none."""
    query = (
        select(Pair.state, Pair.ended_at)
        .where(
            _of_the_two(turn, one, other),
            Pair.state.in_((PairState.DECLINED.value, PairState.ENDED.value)),
            Pair.ended_at.is_not(None),
        )
        .order_by(Pair.ended_at.desc(), Pair.id.desc())
        .limit(1)
    )
    before = (await turn.session.execute(query)).one_or_none()
    if before is None or before.ended_at is None:  # the query keeps none without one
        return ""
    state, day = before.state, local_day(before.ended_at, turn.actor.timezone or "UTC")
    if turn.actor.id in (one.id, other.id):
        partner = other if turn.actor.id == one.id else one
        who = f"You and {_m(partner)} were"
    else:
        who = f"{_m(one)} and {_m(other)} were"
    if state == PairState.ENDED:
        return f" {who} a mentoring pair until {day}: this asks again."
    # Declined or expired unanswered: either way it did not form.
    return f" {who} proposed as a pair before, on {day}, and it did not form: this asks again."


def _unreachable(asked: list[Member]) -> str:
    """Those asked whose DMs the platform refused lately (bot/unreachable.py): the
    invitation waits for them, and the proposer knows it (no DM would say so later)."""
    closed = [member.external_id for member in asked if member.dm_blocked_at is not None]
    if not closed:
        return ""
    who = mention_list(closed)
    return (
        f" I couldn't reach {who} by direct message lately (their DMs may be closed to me), "
        "so they may not see it until they next use the bot."
    )


def _of_the_two(turn: Turn, one: Member, other: Member) -> ColumnElement[bool]:
    """Pairs of these two people in this workspace, whichever way round."""
    return and_(
        Pair.workspace_id == turn.workspace.id,
        or_(
            and_(Pair.mentor_id == one.id, Pair.mentee_id == other.id),
            and_(Pair.mentor_id == other.id, Pair.mentee_id == one.id),
        ),
    )


async def _live_pair_between(turn: Turn, one: Member, other: Member) -> Pair | None:
    """A live pair of these two people, whichever way round."""
    query = select(Pair).where(
        _of_the_two(turn, one, other), Pair.state.in_([s.value for s in LIVE_PAIR_STATES])
    )
    return (await turn.session.execute(query.limit(1))).scalar_one_or_none()


async def _already(turn: Turn, pair: Pair, one: Member, other: Member) -> list[Effect]:
    mentor, mentee = (one, other) if pair.mentor_id == one.id else (other, one)
    if pair.state != PairState.PROPOSED:
        # Typed the other way round: two people are one pair, in one set of roles.
        swap = (
            " A pair of two people has one mentor: to swap the roles, end this pair "
            "(`/mentor end`) and propose it again the other way round."
            if pair.mentor_id != one.id
            else ""
        )
        raise UserError(f"{_m(mentor)} is already mentoring {_m(mentee)}.{swap}")
    me = turn.actor
    waiting_for_me = (me.id == mentor.id and not pair.mentor_accepted) or (
        me.id == mentee.id and not pair.mentee_accepted
    )
    flow = (
        await turn.session.execute(
            select(FlowSession).where(
                FlowSession.pair_id == pair.id,
                FlowSession.kind == FlowKind.PAIR_PROPOSAL.value,
                FlowSession.ended_at.is_(None),
            )
        )
    ).scalar_one_or_none()
    # ``one`` is the mentor as typed: a proposal the other way round says so.
    swapped = pair.mentor_id != one.id
    if waiting_for_me and flow is not None:
        await _invite(turn, flow, pair, mentor, mentee, me)
        how = (
            " It has the roles the other way round from what you typed: decline it and "
            "propose again to swap them."
            if swapped
            else ""
        )
        return turn.reply(
            f"That pair ({_m(mentor)} mentoring {_m(mentee)}) is already proposed and waiting "
            f"for your answer; I sent you the question again.{how}"
        )
    # Named: whose answer it waits for (not "them", which read as both).
    waiting = [
        member
        for member, accepted in ((mentor, pair.mentor_accepted), (mentee, pair.mentee_accepted))
        if not accepted
    ]
    whom = " and ".join(_m(member) for member in waiting) or "them"
    raise UserError(
        f"{_m(mentor)} mentoring {_m(mentee)} is already proposed; I'm waiting for {whom} to "
        "accept."
        + (" It has the roles the other way round from what you typed." if swapped else "")
    )


async def _invite(
    turn: Turn, flow: FlowSession, pair: Pair, mentor: Member, mentee: Member, to: Member
) -> None:
    proposer = await turn.session.get(Member, pair.proposed_by_id) if pair.proposed_by_id else None
    if proposer is None:  # the proposer's data was deleted; the question still stands
        proposer = mentee if to.id == mentor.id else mentor
    buttons = (
        flow_button(flow, "accept", "Accept", ButtonStyle.PRIMARY),
        flow_button(flow, "decline", "Decline", ButtonStyle.DANGER),
    )
    turn.dm(to, Content(_invitation(proposer, mentor, mentee, to), buttons=buttons))


def _invitation(proposer: Member, mentor: Member, mentee: Member, to: Member) -> str:
    if to.id == mentor.id:
        ask = (
            f"{_m(proposer)} would like you to be their mentor."
            if proposer.id == mentee.id
            else f"{_m(proposer)} suggests that you mentor {_m(mentee)}."
        )
    else:
        ask = (
            f"{_m(proposer)} would like to mentor you."
            if proposer.id == mentor.id
            else f"{_m(proposer)} suggests that {_m(mentor)} mentors you."
        )
    return (
        f"{ask}\nAs a pair you get a short check-in on a steady rhythm, share wins with "
        "each other and celebrate milestones together. Do you agree?"
    )


# A proposal with both people, in one query (a click on it needs all three).
_MENTOR = aliased(Member, name="mentor")
_MENTEE = aliased(Member, name="mentee")
# The pair's row is locked as it is read (PostgreSQL; SQLite takes writers in turn): an
# accept as the proposal is withdrawn (or declined) elsewhere at one moment waits for
# the other, and reads what it left, in this one statement (bot.pairs.lock, folded in).
_PROPOSAL = (
    select(Pair, _MENTOR, _MENTEE)
    .join(_MENTOR, _MENTOR.id == Pair.mentor_id)
    .join(_MENTEE, _MENTEE.id == Pair.mentee_id)
    .where(Pair.id == bindparam("pair"))
    .with_for_update(of=Pair)
    .execution_options(populate_existing=True)
)


async def step(turn: Turn, flow: FlowSession, choice: str) -> StepResult:
    found = (
        (await turn.session.execute(_PROPOSAL, {"pair": flow.pair_id})).one_or_none()
        if flow.pair_id
        else None
    )
    if found is None:
        return STALE
    pair, mentor, mentee = found
    me = turn.actor
    if me.id not in (mentor.id, mentee.id):
        if FORGOTTEN_MEMBER_ID in (mentor.external_id, mentee.external_id):
            # The one who used forget, pressing their old DM: a new member now, and
            # the proposal (or the pair it became) ended with their data.
            return StepResult(replace_with=PAIR_OVER if pair.activated_at else WITHDRAWN)
        return StepResult(reply=f"This proposal is for {_m(mentor)} and {_m(mentee)}.")
    if flow.ended_at is not None and flow.state == State.ACCEPTED:
        # A late click on the pair that formed (a second copy of the question, sent
        # again by `/mentor pair`, keeps its buttons): where the pair stands now.
        return StepResult(replace_with=_formed(pair, mentor, mentee, choice))
    if flow.ended_at is not None and flow.state != State.AWAITING:
        # Declined (by either of the two: the other one's invitation is the same
        # conversation) or withdrawn: over, not "already answered" by the one clicking.
        return StepResult(replace_with=WITHDRAWN)
    if pair.state != PairState.PROPOSED:
        # Withdrawn while it waited (expired, or ended by a partner's forget, which
        # ends their conversations): said so, not "already answered".
        if flow.ended_at is None:
            move(turn, flow, State.WITHDRAWN, end=True)
        return StepResult(replace_with=WITHDRAWN)
    if flow.ended_at is not None:
        return STALE
    if has_accepted(pair, me.id):
        return StepResult(reply="You already accepted; I'm waiting for the other person.")
    others = [m for m in await _people(turn, pair, mentor, mentee) if m.id != me.id]

    if choice == "decline":
        pair.state = PairState.DECLINED.value
        pair.ended_at = turn.now
        move(turn, flow, State.DECLINED, end=True)
        for member in others:
            turn.dm(member, Content(_declined(me, mentor, mentee)))
        return StepResult(replace_with=DECLINED_REPLY)
    if choice != "accept":
        return STALE

    other_accepted = has_accepted(pair, other_member_id(pair, me.id))
    if other_accepted:
        # Pairs started since the proposal count: the cap holds when it becomes a pair.
        # Checked before this acceptance is recorded: refused, it is not recorded.
        full = await too_many_pairs(
            turn, [mentor, mentee], PARTNERED_PAIR_STATES, outcome="so this pair can't start yet"
        )
        if full is not None:
            return StepResult(reply=full)
    if me.id == mentor.id:
        pair.mentor_accepted = True
    else:
        pair.mentee_accepted = True
    if not other_accepted:
        waiting = mentee if me.id == mentor.id else mentor
        return StepResult(replace_with=f"You accepted. Waiting for {_m(waiting)} to accept too.")

    pair.state = PairState.ACTIVE.value
    pair.activated_at = turn.now
    schedule_next(pair, turn.now, turn.now)
    schedule_anniversary(pair)
    move(turn, flow, State.ACCEPTED, end=True)
    welcome = (
        f"🤝 You're paired: {_m(mentor)} is mentoring {_m(mentee)}.\n"
        f"Check-ins: {describe(rule_of(pair))} (change it with `/mentor cadence`). Share wins "
        "with `/win <text>` and set goals with `/mentor milestone add <title>`."
    )
    # A third person who proposed the pair (an admin's round, or /mentor pair of two
    # others) is not in it: told that it formed, not "You're paired".
    formed = (
        f"🤝 {_m(mentor)} and {_m(mentee)} both accepted: {_m(mentor)} is mentoring "
        f"{_m(mentee)}. Their check-ins: {describe(rule_of(pair))}."
    )
    for member in others:
        turn.dm(member, Content(welcome if member.id in (mentor.id, mentee.id) else formed))
    return StepResult(replace_with=welcome)


def _mentor_and_mentee(view: PairView) -> tuple[Member, Member]:
    return (view.me, view.partner) if view.i_mentor else (view.partner, view.me)


def declines(view: PairView) -> bool:
    """Whether the actor's ``/mentor end`` of the proposal ``view`` declines it (they
    were asked and have not accepted) rather than withdrawing it."""
    return not has_accepted(view.pair, view.me.id)


async def told_of_withdrawal(turn: Turn, view: PairView) -> list[Member]:
    """Who hears that the actor withdrew (or declined) the proposal ``view``: everyone
    it asked or told, but them."""
    mentor, mentee = _mentor_and_mentee(view)
    people = await _people(turn, view.pair, mentor, mentee)
    return [member for member in people if member.id != turn.actor.id]


async def withdraw(turn: Turn, view: PairView) -> str:
    """The proposal ``view`` withdrawn by the actor, or declined (``declines``), with
    ``/mentor end``: kept as one that did not form, as a decline by button is, and told
    to the others; a late click on it hears ``WITHDRAWN``. The actor's answer."""
    mentor, mentee = _mentor_and_mentee(view)
    declined = declines(view)
    view.pair.state = PairState.DECLINED.value
    view.pair.ended_at = turn.now
    told = (
        _declined(turn.actor, mentor, mentee)
        if declined
        else f"{_m(turn.actor)} withdrew the proposed pair of {_m(mentor)} mentoring "
        f"{_m(mentee)}, so there is nothing to answer any more."
    )
    for member in await told_of_withdrawal(turn, view):
        turn.dm(member, Content(told))
    return DECLINED_REPLY if declined else "You withdrew the proposal: no pair was formed."


def _declined(me: Member, mentor: Member, mentee: Member) -> str:
    return f"{_m(me)} declined the pair of {_m(mentor)} mentoring {_m(mentee)}."


DECLINED_REPLY = "You declined. No pair was formed."


async def _people(turn: Turn, pair: Pair, mentor: Member, mentee: Member) -> list[Member]:
    """Everyone who hears about the proposal: the two, and a third person who proposed."""
    people = [mentor, mentee]
    if pair.proposed_by_id is not None and pair.proposed_by_id not in (mentor.id, mentee.id):
        proposer = await turn.session.get(Member, pair.proposed_by_id)
        if proposer is not None:
            people.append(proposer)
    return people
