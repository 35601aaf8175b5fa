"""``/mentor status``: each of your pairs at a glance, in your own local time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select

from bot.access import counted_wins, own_match_profile, own_milestones, shared_in_pairs
from bot.cadence import describe, held_until, local_day, local_view
from bot.commands import ShowStatus
from bot.content import Content, Field
from bot.effects import Effect, ReplyEphemeral
from bot.flows.checkin import said_nothing
from bot.flows.review import open_after_end
from bot.numbers import how_many
from bot.pairs import (
    FORGOTTEN_MEMBER_ID,
    NO_PAIR_HINT,
    PairView,
    ended_day,
    how_to_answer,
    last_ended,
    not_in_a_pair,
    pairs_of,
    pairs_with_both,
    with_partner,
)
from bot.rhythm import after_the_pause, rule_of
from bot.storage.models import (
    LIVE_PAIR_STATES,
    Checkin,
    CheckinAnswer,
    CheckinState,
    Feedback,
    MatchProfile,
    MatchProposal,
    MatchRole,
    Milestone,
    MilestoneKind,
    Pair,
    PairState,
    Win,
)
from bot.text import mention_list
from bot.turn import Turn


async def show(turn: Turn, command: ShowStatus) -> list[Effect]:
    views = await pairs_of(turn, turn.actor, LIVE_PAIR_STATES)
    if not views:
        return turn.reply(await _no_live_pair(turn))
    if command.partner_id is not None:
        views = await with_partner(turn, views, command.partner_id, LIVE_PAIR_STATES)
    open_feedback = dict(
        (
            await turn.session.execute(
                select(Feedback.pair_id, func.count())
                .where(
                    shared_in_pairs(turn, views, Feedback.workspace_id, Feedback.pair_id),
                    or_(Feedback.answered_at.is_(None), Feedback.acted_at.is_(None)),
                )
                .group_by(Feedback.pair_id)
            )
        ).all()
    )
    # The pair's goals, done and open; and the milestones the actor reached along the way
    # in it (anniversaries, streaks), which `/mentor milestone list` shows under them.
    goals: dict[tuple[int, bool], int] = {}
    reached: dict[int, int] = {}
    done_ = Milestone.completed_at.is_not(None)
    for pair_id, kind, done, count in (
        await turn.session.execute(
            select(Milestone.pair_id, Milestone.kind, done_, func.count())
            .where(
                shared_in_pairs(turn, views, Milestone.workspace_id, Milestone.pair_id),
                or_(
                    Milestone.kind == MilestoneKind.GOAL.value,
                    and_(
                        Milestone.kind == MilestoneKind.AUTO.value,
                        Milestone.member_id == turn.actor.id,
                        done_,
                    ),
                ),
            )
            .group_by(Milestone.pair_id, Milestone.kind, done_)
        )
    ).all():
        if pair_id is None:
            continue
        if kind == MilestoneKind.GOAL.value:
            goals[(pair_id, bool(done))] = count
        else:
            reached[pair_id] = count
    # Each open check-in: when it closes, and who has answered it, in part or in full
    # (as its close will tell them: ``said_nothing``).
    open_checkins: dict[int, _OpenCheckin] = {}
    for pair_id, closes_at, answer in (
        await turn.session.execute(
            select(Checkin.pair_id, Checkin.closes_at, CheckinAnswer)
            .outerjoin(CheckinAnswer, CheckinAnswer.checkin_id == Checkin.id)
            .where(
                shared_in_pairs(turn, views, Checkin.workspace_id, Checkin.pair_id),
                Checkin.state == CheckinState.OPEN.value,
            )
        )
    ).all():
        found = open_checkins.setdefault(pair_id, _OpenCheckin(closes_at, set(), set()))
        if answer is not None and not said_nothing(answer):
            found.started.add(answer.member_id)
            if answer.answered_at is not None:
                found.answered.add(answer.member_id)
    # A round's proposal expires unanswered (bot/matching/rounds.py); one made with
    # ``/mentor pair`` waits. Asked only when a pair is proposed.
    proposed = [v for v in views if v.pair.state == PairState.PROPOSED]
    expires: dict[int, datetime] = {}
    if proposed:
        expires = {
            pair_id: at
            for pair_id, at in (
                await turn.session.execute(
                    select(MatchProposal.pair_id, MatchProposal.expires_at).where(
                        shared_in_pairs(
                            turn, proposed, MatchProposal.workspace_id, MatchProposal.pair_id
                        ),
                        MatchProposal.expires_at.is_not(None),
                    )
                )
            ).all()
            if at is not None
        }
    # Milestones of the actor's own, of no pair (a first win, 10 wins): `/mentor milestone
    # list` shows them with the pair's; said here too, once, above the pairs.
    titles = list(
        (
            await turn.session.execute(
                select(Milestone.title)
                .where(
                    own_milestones(turn),
                    Milestone.pair_id.is_(None),
                    Milestone.kind == MilestoneKind.AUTO.value,
                    Milestone.completed_at.is_not(None),
                )
                .order_by(Milestone.completed_at, Milestone.id)
            )
        ).scalars()
    )
    own_line = f"\nMilestones of your own: {', '.join(titles)}" if titles else ""
    month_start = _month_start(turn)
    wins = dict(
        (
            await turn.session.execute(
                select(Win.member_id, func.count())
                .where(counted_wins(turn, views), Win.created_at >= month_start)
                .group_by(Win.member_id)
            )
        ).all()
    )
    # Pairs they proposed for two others (a program lead who is in a pair too), after
    # their own; not with a partner named, which asks about that pair alone.
    fields = [
        _proposal_fields(turn, v, expires.get(v.pair.id))
        if v.pair.state == PairState.PROPOSED
        else _pair_fields(
            turn, v, open_feedback, (goals, reached), wins, open_checkins.get(v.pair.id)
        )
        for v in views
    ]
    # Pairs they proposed for two others (a program lead who is in a pair too), after
    # their own; not with a partner named, which asks about that pair alone.
    if command.partner_id is None and (others := await _proposed_for_others(turn)):
        fields.append(others)
    heading = "Your mentoring at a glance:" if len(views) == 1 else f"Your {len(views)} pairs:"
    content = Content(heading + own_line, fields=tuple(fields))
    return [ReplyEphemeral(turn.actor_ref, content)]


async def _no_live_pair(turn: Turn) -> str:
    """No pair now: say so, and about the last pair that ended (a partner who used
    forget included), with what they can still do and how to start again; then the
    pairs they proposed for two others that still wait for answers."""
    said = await _no_live_pair_of_their_own(turn)
    proposed = await _proposed_for_others(turn)
    return f"{said}\n\n{proposed.label}:\n{proposed.value}" if proposed else said


# How many pairs someone proposed for others ``/mentor status`` names, one line each.
PROPOSALS_NAMED = 3


async def _proposed_for_others(turn: Turn) -> Field | None:
    """The pairs the actor proposed for two other people (with ``/mentor pair``, or in
    a matching round they ran) that still wait for an answer: each who is still to
    accept (a pair of their own they proposed is one of their pairs above)."""
    query = pairs_with_both(
        turn,
        Pair.proposed_by_id == turn.actor.id,
        Pair.state == PairState.PROPOSED.value,
        Pair.mentor_id != turn.actor.id,
        Pair.mentee_id != turn.actor.id,
    )
    rows = (await turn.session.execute(query)).all()
    if not rows:
        return None
    lines = []
    for pair, mentor, mentee in rows[:PROPOSALS_NAMED]:
        waiting = [
            who.external_id
            for who, accepted in ((mentor, pair.mentor_accepted), (mentee, pair.mentee_accepted))
            if not accepted
        ]
        lines.append(
            f"• <@{mentor.external_id}> mentoring <@{mentee.external_id}>: waiting for "
            f"{mention_list(waiting)} to accept"
        )
    if len(rows) > PROPOSALS_NAMED:
        lines.append(f"• and {how_many(len(rows) - PROPOSALS_NAMED, 'more', 'more')}")
    heading = "The pair you proposed" if len(rows) == 1 else "The pairs you proposed"
    return Field(f"{heading}, still waiting", "\n".join(lines))


async def _no_live_pair_of_their_own(turn: Turn) -> str:
    ended = await pairs_of(turn, turn.actor, (PairState.ENDED,))
    pool = await _pool_role(turn)
    if pool is None:
        hint = NO_PAIR_HINT
    else:
        # In the pool: a round is how they get a pair, so that comes first.
        looking = "a mentee" if pool == MatchRole.MENTOR else "a mentor"
        hint = (
            "You're in the matching pool: the next matching round an admin runs looks for "
            f"{looking} for you (`/mentor profile` shows what it goes by). To pair with "
            "someone you know, use `/mentor pair @mentor @mentee`."
        )
    if not ended:
        return not_in_a_pair(had_one=False, hint=hint)
    last = last_ended(ended)
    role = "mentee" if last.i_mentor else "mentor"
    day = ended_day(turn, last)
    if last.partner.external_id == FORGOTTEN_MEMBER_ID:
        what = (
            f"Your mentoring pair with your {role} ended on {day:%Y-%m-%d}: they left "
            "mentorbot and had their data deleted."
        )
    else:
        what = f"Your mentoring pair with {last.partner_mention} ended on {day:%Y-%m-%d}."
        if await open_after_end(turn, last.partner.external_id) is not None:
            what += (
                " Your look back at it waits for your answers in DMs: `/mentor review` "
                "sends its question again."
            )
    return not_in_a_pair(
        had_one=True,
        hint=f"{what} What you wrote is still yours: `/mentor journal` shows your wins and "
        "`/mentor export` sends you everything. "
        + (f"Ready for a new pair? {hint}" if pool is None else hint),
    )


async def _pool_role(turn: Turn) -> str | None:
    """The actor's role in the matching pool, or None when they are not in it."""
    query = select(MatchProfile.role).where(own_match_profile(turn), MatchProfile.left_at.is_(None))
    return (await turn.session.execute(query)).scalar_one_or_none()


def _month_start(turn: Turn) -> datetime:
    zone = ZoneInfo(turn.actor.timezone or "UTC")
    local = turn.now.astimezone(zone)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


@dataclass(slots=True)
class _OpenCheckin:
    closes_at: datetime | None
    started: set[int]  # the members who have answered any of it
    answered: set[int]  # the members who have been through all of it


def _open_checkin_line(turn: Turn, view: PairView, found: _OpenCheckin) -> str:
    me, partner = turn.actor.id, view.partner.id
    if not found.started & {me, partner}:
        who = "neither of you has answered yet"
    else:
        if me in found.answered:
            mine = "you've answered"
        elif me in found.started:
            mine = "you've answered part of it"
        else:
            mine = "you haven't answered yet"
        theirs = (
            f"{view.partner_mention} has answered"
            if partner in found.answered
            else f"waiting for {view.partner_mention}"
        )
        who = f"{mine}; {theirs}"
    if found.closes_at is None:
        return f"Check-in open: {who}"
    closes = local_view(found.closes_at, _zone(turn.actor.timezone, view.pair.timezone))
    return f"Check-in open: {who} (it closes {closes})"


def _proposal_fields(turn: Turn, view: PairView, expires_at: datetime | None) -> Field:
    """A pair not formed yet: who it waits for, and what it will be once it starts (a
    streak, wins and milestones would all read 0 and say nothing)."""
    pair = view.pair
    mine, theirs = (
        (pair.mentor_accepted, pair.mentee_accepted)
        if view.i_mentor
        else (pair.mentee_accepted, pair.mentor_accepted)
    )
    if mine:
        state = f"proposed; you accepted, waiting for {view.partner_mention}"
    else:
        state = "proposed; waiting for your answer" + (
            f" ({view.partner_mention} has accepted)" if theirs else ""
        )
    lines = [f"State: {state}"]
    zone = _zone(turn.actor.timezone, pair.timezone)
    if expires_at is not None:
        lines.append(f"The proposal expires {local_view(expires_at, zone)} if not answered.")
    if mine:
        # A proposal made by hand waits as long as it takes: when it was made, and the
        # way out for the one waiting.
        days = (turn.now - pair.created_at).days
        ago = f" ({days} days ago)" if days >= 2 else ""
        lines.append(
            f"Proposed on {local_day(pair.created_at, zone)}{ago}; `/mentor end` "
            f"{view.partner_mention} withdraws it."
        )
    if not mine:
        lines.append(how_to_answer(view))
    lines.append(f"Check-ins once you both accept: {describe(rule_of(pair))}")
    title = view.describe()
    return Field(title[:1].upper() + title[1:], "\n".join(lines))


def _pair_fields(
    turn: Turn,
    view: PairView,
    open_feedback: dict[int, int],
    milestones: tuple[dict[tuple[int, bool], int], dict[int, int]],
    wins: dict[int, int],
    open_checkin: _OpenCheckin | None,
) -> Field:
    pair = view.pair
    lines = [f"State: {pair.state}"]
    if pair.state == PairState.PAUSED and pair.paused_until is not None:
        lines[0] += (
            f" until {local_view(pair.paused_until, _zone(turn.actor.timezone, pair.timezone))}"
        )
    lines.append(f"Check-ins: {describe(rule_of(pair))}")
    if open_checkin is not None:
        lines.append(_open_checkin_line(turn, view, open_checkin))
    paused = pair.state == PairState.PAUSED
    # A paused pair's is the first one after the pause, as its end will say.
    if (upcoming := after_the_pause(pair) if paused else pair.next_checkin_at) is not None:
        mine = local_view(upcoming, _zone(turn.actor.timezone, pair.timezone))
        theirs = local_view(upcoming, _zone(view.partner.timezone, pair.timezone))
        if mine == theirs:
            line = f"Next check-in: {mine}, for both of you"
        else:
            line = f"Next check-in: {mine} for you; {theirs} for {view.partner_mention}"
        lines.append(f"{line}, once the pause is over" if paused else line)
        lines.extend(_held_lines(upcoming, turn, view))
    lines.append(f"Streak: {how_many(pair.streak, 'check-in', 'check-ins')} in a row")
    lines.append(f"Open feedback: {open_feedback.get(pair.id, 0)}")
    goals, reached = milestones
    done, open_ = goals.get((pair.id, True), 0), goals.get((pair.id, False), 0)
    along = f"; {reached[pair.id]} reached along the way" if reached.get(pair.id) else ""
    lines.append(f"Milestones: {done} done, {open_} open{along}")
    lines.append(
        f"Wins this month: you {wins.get(turn.actor.id, 0)}, "
        f"{view.partner_mention} {wins.get(view.partner.id, 0)}"
    )
    title = view.describe()
    return Field(title[:1].upper() + title[1:], "\n".join(lines))


def _held_lines(upcoming: datetime, turn: Turn, view: PairView) -> list[str]:
    """For each of the two whose clock puts the next check-in in their quiet hours, when
    their questions come (the prompt waits for their morning; bot/cadence.py)."""
    pair, lines = view.pair, []
    if held := held_until(upcoming, _zone(turn.actor.timezone, pair.timezone)):
        lines.append(f"Your questions come {held}, after your quiet hours.")
    if held := held_until(upcoming, _zone(view.partner.timezone, pair.timezone)):
        lines.append(f"{view.partner_mention}'s questions come {held}, after their quiet hours.")
    return lines


def _zone(member_zone: str | None, pair_zone: str) -> str:
    return member_zone or pair_zone
