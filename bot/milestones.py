"""Milestones: goals a pair sets and completes, and automatic ones for wins."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Insert, and_, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.access import own_milestones, shared_in_pairs
from bot.commands import AddMilestone, CompleteMilestone, ListMilestones, RemoveMilestone
from bot.content import Content
from bot.effects import Effect
from bot.errors import UserError
from bot.flows import review
from bot.flows.celebration import celebrate, celebrated_in
from bot.pairs import (
    AskWhichPair,
    PairView,
    lock,
    lock_live,
    pairs_of,
    pick_pair,
    pick_pair_keeping,
)
from bot.refs import UserRef
from bot.storage.bulk import dialect_of, insert_ignoring_duplicates, per_dialect, table_of
from bot.storage.models import (
    PARTNERED_PAIR_STATES,
    Member,
    Milestone,
    MilestoneKind,
    Pair,
    PairState,
    Workspace,
)
from bot.text import comparable, shorten
from bot.turn import Person, Turn

# Reached when a member's journal holds this many wins.
WIN_MILESTONES = {1: "First win", 10: "10 wins", 25: "25 wins", 50: "50 wins"}


def win_milestone_code(count: int) -> str:
    """The code of the milestone reached at ``count`` wins: once per person and code (a
    unique key), whichever way the win went (here, or bot/wins.py's one statement)."""
    return f"wins-{count}"


_MILESTONES = table_of(Milestone)
# The columns ``reach_automatic`` writes, each bound by its own name (and a /win's one
# statement, bot/wins.py).
REACHED_COLUMNS = (
    "workspace_id",
    "member_id",
    "pair_id",
    "kind",
    "code",
    "title",
    "created_at",
    "completed_at",
    "celebrated_at",
    "celebrated_in",
)


def _reaching(dialect_name: str) -> Insert:
    """An automatic milestone's INSERT, skipped when reached before, returning its id;
    built once (``per_dialect``): built per call, with the ORM's entity in RETURNING, its
    Python cost a person's first win more than doubled (bench/README.md, issue 16)."""
    columns = _MILESTONES.c
    values = {name: bindparam(name, type_=columns[name].type) for name in REACHED_COLUMNS}
    return (
        insert_ignoring_duplicates(dialect_name, _MILESTONES).values(values).returning(columns.id)
    )


_REACHING = per_dialect(_reaching)


async def add(turn: Turn, command: AddMilestone) -> list[Effect]:
    view = await pick_pair_keeping(turn, command.partner_id, command.title, verb="add")
    # Both members adding a goal at one moment: the second waits, and numbers its goal
    # after the first's (it used to fail on the pair's numbers, and nothing was saved).
    await lock_live(turn, view)
    # The pair's goals (titles are stored encrypted, so compared here): a goal still open
    # with the same title is not added twice, nor told to the partner twice.
    goals = (
        await turn.session.execute(
            select(Milestone.number, Milestone.title, Milestone.completed_at).where(
                Milestone.pair_id == view.pair.id
            )
        )
    ).all()
    wanted = comparable(command.title)
    reached = None  # the latest goal of that title the pair reached, if any
    for number, title, completed_at in goals:
        if title is None or comparable(title) != wanted:
            continue
        if completed_at is None:
            raise UserError(
                f"Your pair has this milestone open already: #{number} {title}. Mark it done "
                f"with `/mentor milestone done {number}`; nothing was added."
            )
        if reached is None or completed_at > reached[1]:
            reached = (number, completed_at)
    number = max((n for n, _, _ in goals if n is not None), default=0) + 1
    turn.session.add(
        Milestone(
            workspace_id=turn.workspace.id,
            member_id=turn.actor.id,
            pair_id=view.pair.id,
            kind=MilestoneKind.GOAL.value,
            number=number,
            title=command.title,
            created_at=turn.now,
        )
    )
    turn.dm(
        view.partner,
        Content(
            f"<@{turn.actor.external_id}> set a milestone for your pair: #{number} {command.title}"
        ),
    )
    # Someone who named the pair, or chose it from the "which pair?" menu, names it again
    # to mark it done (the number alone would ask again); the mention is outside the
    # code span, where it renders as the name they type.
    named = command.partner_id is not None or turn.chosen_pair_id is not None
    which = f" {view.partner_mention}" if named else ""
    again = (
        f" (Your pair reached #{reached[0]}, of the same title, on {reached[1]:%Y-%m-%d}: "
        "this one is new.)"
        if reached is not None
        else ""
    )
    return turn.reply(
        f"Milestone #{number} added: {command.title}{again}\n"
        f"Mark it done with `/mentor milestone done {number}`{which}."
    )


async def _goal(
    turn: Turn, command: CompleteMilestone | RemoveMilestone
) -> tuple[PairView, Milestone]:
    """The pair meant, and its goal the command names (``_named_goal``), its row locked
    and read again: both members marking it done at one moment, or one removing it as
    the other marks it, take turns, and the second reads what the first left (done
    already, or gone), so nothing is celebrated twice or removed once reached."""
    view, milestone = await _named_goal(turn, command)
    await lock_live(turn, view)  # the pair first, as every command that changes it
    if not await lock(turn, milestone):
        raise UserError(
            f"Milestone #{milestone.number} was removed a moment ago. See the rest with "
            "`/mentor milestone list`."
        )
    return view, milestone


async def _named_goal(
    turn: Turn, command: CompleteMilestone | RemoveMilestone
) -> tuple[PairView, Milestone]:
    """The pair meant, and its goal the command names, by number or by title
    (``_goal_by_title``); one it has not is told."""
    if command.title is not None:
        return await _goal_by_title(turn, command, command.title)
    view = await pick_pair(turn, command.partner_id)
    found = await turn.session.execute(
        _GOALS.where(Milestone.pair_id == view.pair.id, Milestone.number == command.number)
    )
    milestone = found.scalar_one_or_none()
    if milestone is None:
        raise UserError(
            f"Your pair has no milestone #{command.number}. See them with `/mentor milestone list`."
        )
    return view, milestone


_GOALS = select(Milestone).where(Milestone.kind == MilestoneKind.GOAL.value)


async def _goal_by_title(
    turn: Turn, command: CompleteMilestone | RemoveMilestone, title: str
) -> tuple[PairView, Milestone]:
    """The goal titled ``title`` (an open one first, else the latest reached). With
    several pairs and none named, the one pair that has it, without asking which."""
    chosen = command.partner_id is not None or turn.chosen_pair_id is not None
    views = [] if chosen else await pairs_of(turn, turn.actor)
    if len(views) < 2:  # one named, the only one, or none (``pick_pair`` says why)
        views = [await pick_pair(turn, command.partner_id)]
    by_pair = {view.pair.id: view for view in views}
    query = _GOALS.where(Milestone.pair_id.in_(list(by_pair))).order_by(Milestone.number)
    every = list((await turn.session.execute(query)).scalars())
    # Titles are stored encrypted, so they are compared here.
    wanted = comparable(title)
    named = [goal for goal in every if goal.title and comparable(goal.title) == wanted]
    said = shorten(title, TITLE_SHOWN_CHARS)
    verb = "done" if isinstance(command, CompleteMilestone) else "remove"
    if not named:
        # Part of a title ("done rust" for "Learn Rust"): an open goal whose title holds
        # those words, when only one does (in its pair).
        named = [goal for goal in every if _holds(goal, wanted)]
        in_one = {goal.pair_id for goal in named if goal.pair_id is not None}
        if len(named) > 1 and len(in_one) == 1:
            fits = "; ".join(f"#{goal.number} {goal.title}" for goal in named[:OPEN_SHOWN])
            whom = _whom(by_pair[in_one.pop()], named_one=chosen or len(views) > 1)
            raise UserError(
                f"More than one open milestone has “{said}” in its title: {fits}. Name one "
                f"by its number, like `/mentor milestone {verb} {named[0].number}`{whom}."
            )
    in_pairs = sorted({goal.pair_id for goal in named if goal.pair_id is not None})
    if len(in_pairs) == 1:
        goal = max(named, key=lambda goal: (goal.completed_at is None, goal.number or 0))
        return by_pair[in_pairs[0]], goal
    if len(views) > 1:
        if in_pairs:  # more than one of them has it
            raise AskWhichPair([by_pair[pair_id] for pair_id in in_pairs])
        raise UserError(
            f"None of your pairs has a milestone called “{said}”. "
            "See them with `/mentor milestone list`."
        )
    still_open = [goal for goal in every if goal.completed_at is None]
    if not still_open:
        raise UserError(
            f"Your pair has no milestone called “{said}”, and none open. "
            "Set one with `/mentor milestone add <title>`."
        )
    shown = "; ".join(f"#{goal.number} {goal.title}" for goal in still_open[:OPEN_SHOWN])
    more = f" (and {len(still_open) - OPEN_SHOWN} more)" if len(still_open) > OPEN_SHOWN else ""
    whom = _whom(views[0], named_one=chosen)
    raise UserError(
        f"Your pair has no milestone called “{said}”. Open now: {shown}{more}. "
        f"Name one by its number, like `/mentor milestone {verb} {still_open[0].number}`{whom}."
    )


def _whom(view: PairView, *, named_one: bool) -> str:
    """The partner to name after a command to copy, when the person named one or chose
    one of several pairs (without, the command would ask which pair again)."""
    return f" {view.partner_mention}" if named_one else ""


def _holds(goal: Milestone, wanted: str) -> bool:
    """Whether ``goal`` is open and its title holds ``wanted`` (``comparable``) as whole
    words: "rust" is in "Learn Rust", "us" is not."""
    if goal.completed_at is not None or not goal.title:
        return False
    return re.search(rf"(?<!\w){re.escape(wanted)}(?!\w)", comparable(goal.title)) is not None


# How many open goals a title that matched none lists, and how much of what was typed
# it repeats.
OPEN_SHOWN = 5
TITLE_SHOWN_CHARS = 80


@dataclass(frozen=True, slots=True)
class GoalChoice:
    """An open goal offered while someone types which milestone they mean (Discord's
    autocomplete): its number and title, and with whom when the goals offered belong to
    more than one of their pairs."""

    number: int
    title: str
    with_whom: str | None = None

    @property
    def label(self) -> str:
        return f"#{self.number} {self.title}"

    @property
    def whose(self) -> str:
        """What follows the label: " (with alice)", or "" for the only pair."""
        return f" (with {self.with_whom})" if self.with_whom else ""


_ME = aliased(Member, name="me")
_PARTNER = aliased(Member, name="partner")
_OPEN_GOALS = (
    select(
        Milestone.pair_id,
        Milestone.number,
        Milestone.title,
        _PARTNER.display_name,
        Pair.mentor_id == _PARTNER.id,
    )
    .select_from(Workspace)
    .join(_ME, _ME.workspace_id == Workspace.id)
    .join(Pair, or_(Pair.mentor_id == _ME.id, Pair.mentee_id == _ME.id))
    .join(
        _PARTNER,
        or_(
            and_(Pair.mentor_id == _PARTNER.id, Pair.mentee_id == _ME.id),
            and_(Pair.mentee_id == _PARTNER.id, Pair.mentor_id == _ME.id),
        ),
    )
    .join(Milestone, Milestone.pair_id == Pair.id)
    .where(
        Pair.state.in_([state.value for state in PARTNERED_PAIR_STATES]),
        Milestone.kind == MilestoneKind.GOAL.value,
        Milestone.completed_at.is_(None),
    )
    .order_by(Pair.id, Milestone.number)
)


async def goal_choices(
    session: AsyncSession, user: UserRef, typed: str, partner_id: str | None, most: int
) -> list[GoalChoice]:
    """The open goals of ``user``'s pairs (of the pair with ``partner_id`` when given)
    that match what they have typed so far: a goal's number ("2", "#2") first, then
    titles that start with it, then titles that hold it; at most ``most``. Nobody
    else's goals, and none reached (done and remove name open ones). One query; the
    titles are stored encrypted, so they are compared here."""
    query = _OPEN_GOALS.where(
        Workspace.platform == user.platform.value,
        Workspace.external_id == user.workspace_id,
        _ME.external_id == user.user_id,
    )
    if partner_id is not None:
        query = query.where(_PARTNER.external_id == partner_id)
    rows = (await session.execute(query)).all()
    wanted = comparable(typed).removeprefix("#").strip()
    several = len({row[0] for row in rows}) > 1
    ranked: list[tuple[int, int, GoalChoice]] = []
    for order, (_, number, title, name, they_mentor) in enumerate(rows):
        if number is None or not title:
            continue
        seen = comparable(title)
        if not wanted or wanted == str(number):
            rank = 0
        elif seen.startswith(wanted):
            rank = 1
        elif wanted in seen:
            rank = 2
        else:
            continue
        whom = (name or ("your mentor" if they_mentor else "your mentee")) if several else None
        ranked.append((rank, order, GoalChoice(number, title, whom)))
    ranked.sort(key=lambda found: found[:2])
    return [choice for _, _, choice in ranked[:most]]


async def complete(turn: Turn, command: CompleteMilestone) -> list[Effect]:
    view, milestone = await _goal(turn, command)
    number = milestone.number
    if milestone.completed_at is not None:
        return turn.reply(
            f"Milestone #{number} was already done on {milestone.completed_at:%Y-%m-%d}. 🎉"
        )
    milestone.completed_at = turn.now
    milestone.completed_by_id = turn.actor.id
    owner = await turn.session.get(Member, milestone.member_id)
    assert owner is not None
    await celebrate(turn, milestone, owner)
    await review.start_for_milestone(turn, milestone, view.pair)
    return turn.reply(f"Milestone #{number} done: {milestone.title} 🎉")


async def remove(turn: Turn, command: RemoveMilestone) -> list[Effect]:
    """A goal set by mistake goes (either of the pair may remove it; the other is told).
    A goal reached stays: it was celebrated, and its look back points at it."""
    view, milestone = await _goal(turn, command)
    number = milestone.number
    if milestone.completed_at is not None:
        raise UserError(
            f"Milestone #{number} was reached on {milestone.completed_at:%Y-%m-%d}; "
            "reached milestones stay in your pair's history."
        )
    await turn.session.delete(milestone)
    turn.dm(
        view.partner,
        Content(
            f"<@{turn.actor.external_id}> removed a milestone of your pair: "
            f"#{number} {milestone.title}"
        ),
    )
    return turn.reply(f"Removed milestone #{number}: {milestone.title}")


async def list_(turn: Turn, command: ListMilestones) -> list[Effect]:
    """The pair's goals; with several pairs and none named, every pair's (a list asks
    for nothing to be changed, so there is no pair to choose)."""
    named = command.partner_id is not None or turn.chosen_pair_id is not None
    views = [] if named else await pairs_of(turn, turn.actor)
    if not views:  # one named, or none at all (``pick_pair`` says what there is)
        views = [await pick_pair(turn, command.partner_id)]
    goals = (
        await turn.session.execute(
            select(Milestone)
            .where(
                shared_in_pairs(turn, views, Milestone.workspace_id, Milestone.pair_id),
                Milestone.kind == MilestoneKind.GOAL.value,
            )
            .order_by(Milestone.number)
        )
    ).scalars()
    of_pair: dict[int | None, list[Milestone]] = {}
    for goal in goals:
        of_pair.setdefault(goal.pair_id, []).append(goal)
    lines = [f"Milestones of your {len(views)} pairs:"] if len(views) > 1 else []
    for view in views:
        if len(views) > 1:
            lines += ["", f"With {view.partner_mention} ({view.partner_role}):"]
            # (The mention outside the code span, where it renders as the name they type.)
            add = f"`/mentor milestone add` {view.partner_mention} `<title>`"
        else:
            lines.append(f"Milestones of your pair ({view.describe()}):")
            add = "`/mentor milestone add <title>`"
        for goal in of_pair.get(view.pair.id, []):
            mark = f"✅ done {goal.completed_at:%Y-%m-%d}" if goal.completed_at else "⬜"
            lines.append(f"#{goal.number} {goal.title} — {mark}")
        if view.pair.id not in of_pair:
            lines.append(f"None yet. Add one with {add}.")
    reached = (
        await turn.session.execute(
            select(Milestone)
            .where(own_milestones(turn), Milestone.kind == MilestoneKind.AUTO.value)
            # Two pairs' anniversaries reached in one pass come by pair (the older pair
            # first), not in the order that pass happened to write them.
            .order_by(Milestone.completed_at, Milestone.pair_id.nulls_first(), Milestone.id)
        )
    ).scalars()
    badges = await _badges(turn, [m for m in reached if m.completed_at])
    if badges:
        lines += [""] if len(views) > 1 else []
        lines.append("Reached along the way: " + ", ".join(badges))
    return turn.reply("\n".join(lines))


async def _badges(turn: Turn, reached: Sequence[Milestone]) -> list[str]:
    """The actor's automatic milestones, each with its day; one reached in two pairs (a
    month of mentoring with each of two mentors) says with whom, as it is there twice."""
    titles = Counter(m.title for m in reached)
    partner: dict[int, str] = {}
    if any(titles[m.title] > 1 and m.pair_id is not None for m in reached):
        views = await pairs_of(turn, turn.actor, tuple(PairState))
        partner = {view.pair.id: view.partner_mention for view in views}
    badges = []
    for m in reached:
        whom = partner.get(m.pair_id) if m.pair_id is not None and titles[m.title] > 1 else None
        badges.append(f"{m.title}{f' with {whom}' if whom else ''} ({m.completed_at:%Y-%m-%d})")
    return badges


async def reach_win_milestone(
    turn: Turn, owner: Member, win_count: int, partners: Sequence[Person] | None = None
) -> None:
    """``partners``: the owner's partners when the caller knows them (a /win), so the
    celebration does not look them up again."""
    title = WIN_MILESTONES.get(win_count)
    if title is not None:
        await reach_automatic(turn, owner, win_milestone_code(win_count), title, partners=partners)


async def reach_automatic(
    turn: Turn,
    owner: Member,
    code: str,
    title: str,
    pair_id: int | None = None,
    *,
    partners: Sequence[Person] | None = None,
) -> Milestone | None:
    """Record and celebrate an automatic milestone, once per member and code. One
    statement: the unique constraint on (member, code) decides, also between two
    instances at the same moment. Celebrated at once (no consent question to wait for),
    it is written as celebrated, rather than updated so afterwards."""
    where = celebrated_in(turn, owner)
    values = {
        "workspace_id": turn.workspace.id,
        "member_id": owner.id,
        "pair_id": pair_id,
        "kind": MilestoneKind.AUTO.value,
        "code": code,
        "title": title,
        "created_at": turn.now,
        "completed_at": turn.now,
        "celebrated_at": None if where is None else turn.now,
        "celebrated_in": where,
    }
    found = await turn.session.scalar(_REACHING[dialect_of(turn.session)], values)
    if found is None:
        return None  # reached before
    # As written; not in the session: nothing of it is left to write (it is written
    # celebrated, or its celebration waits for consent and reads it again then).
    milestone = Milestone(id=found, **values)
    await celebrate(turn, milestone, owner, partners)
    return milestone
