"""The check-in: each member of a pair gets a short conversation in DMs on the pair's
cadence; when both have answered (or after 48 hours) each sees the other's answers.

```mermaid
stateDiagram-v2
    [*] --> mood: the check-in falls due (or /mentor checkin)
    mood --> progress: Great / OK / Rough, a reply, or Skip
    progress --> hard: a reply or Skip
    hard --> next_topic: a reply or Skip
    next_topic --> done: a reply or Skip
    mood --> done: Answer in a form (all at once)
    mood --> expired: 48 hours passed
    progress --> expired
    hard --> expired
    next_topic --> expired
    done --> [*]
    expired --> [*]
```
A mood button works in any state while the check-in is open (answering out of order).
One nudge after 24 hours if unanswered, never more. Answers are shared when both are
done, or when the window closes; a check-in both answered adds one to the pair's streak.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache, partial
from typing import Any

from sqlalchemy import (
    CTE,
    JSON,
    ColumnElement,
    DateTime,
    Row,
    ScalarSelect,
    Select,
    Text,
    Update,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    true,
    type_coerce,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.dml import Insert

from bot import stalls
from bot.cadence import local_view, outside_quiet_hours
from bot.content import Button, ButtonStyle, Content, Field, Form, FormField, FormFieldKind
from bot.crypto import EncryptedJSON
from bot.effects import Effect, OpenForm
from bot.flows.sessions import (
    BUTTON_LABEL_CHARS,
    MOVED_COLUMNS,
    NAMED_PARTNER,
    STALE,
    FlowKind,
    StepResult,
    answered_before_note,
    closed_with_pair,
    flow_button,
    form_changes,
    form_title,
    move,
    moved_at,
    moved_values,
    named_partner,
    newest_open_in_pair,
    next_question,
    not_for_you,
    partner_mention,
    partner_name,
    read_form,
    remember_shown,
    still_open,
    upcoming,
    whose,
    with_given_back,
    with_note,
)
from bot.milestones import reach_automatic
from bot.pairs import other_member_id, other_member_in_sql
from bot.partners import in_several_pairs
from bot.refs import UserRef
from bot.storage.bulk import dialect_of, insert_arrays, one_of, table_of, upsert_into
from bot.storage.database import Database
from bot.storage.models import (
    PARTNERED_PAIR_STATES,
    Checkin,
    CheckinAnswer,
    CheckinState,
    FlowSession,
    HandledEvent,
    Member,
    OutboxMessage,
    OutboxTarget,
    Pair,
    Win,
    Workspace,
)
from bot.storage.sqlite_driver import execute_deferred
from bot.text import given_back, is_skip, said_to_the_bot, shorten
from bot.turn import (
    CLAIM_COLUMNS,
    ROWS_PER_INSERT,
    LastSeen,
    OutboxRows,
    Turn,
    at_once_conditions,
    outbox_cte,
    outbox_row,
    sender_by_ref,
    workspaces_by_id,
)

ANSWER_WINDOW = timedelta(hours=48)
NUDGE_AFTER = timedelta(hours=24)
STREAK_MILESTONES = (4, 12, 26)
MOODS = {"great": "Great 🙌", "ok": "OK 🙂", "rough": "Rough 😮‍💨"}
WINS_IN_PROMPT = 5
# Pairs whose rows are built and inserted at a time: bounds the pass's memory (their
# prompts are as many as the other scheduled DMs written in one statement).
_PAIRS_PER_INSERT = ROWS_PER_INSERT // 2


class State(StrEnum):
    MOOD = "mood"
    PROGRESS = "progress"
    HARD = "hard"
    NEXT_TOPIC = "next_topic"
    DONE = "done"
    EXPIRED = "expired"


# The question asked in each state, and the answer field it fills.
QUESTIONS = {
    State.MOOD: ("How did it go since last time?", "mood"),
    State.PROGRESS: ("What moved forward since last time?", "progress"),
    State.HARD: ("What is hard right now?", "challenge"),
    State.NEXT_TOPIC: ("What would you like to bring to your next conversation?", "next_topic"),
}
ORDER = [State.MOOD, State.PROGRESS, State.HARD, State.NEXT_TOPIC, State.DONE]
LABELS = {
    "mood": "How it went",
    "progress": "Moved forward",
    "challenge": "Hard right now",
    "next_topic": "For next time",
}
FORM_FIELDS = ("mood", "progress", "challenge", "next_topic")


def accepts_text(flow: FlowSession) -> bool:
    return flow.ended_at is None and flow.state in (
        State.MOOD,
        State.PROGRESS,
        State.HARD,
        State.NEXT_TOPIC,
    )


async def waiting_for(turn: Turn, flow: FlowSession) -> str:
    label = f"Check-in with {await partner_name(turn, flow)}: {QUESTIONS[State(flow.state)][0]}"
    return shorten(label, BUTTON_LABEL_CHARS)


async def still_waiting(turn: Turn, flow: FlowSession) -> str:
    return await still_open(turn, flow, "check-in", QUESTIONS[State(flow.state)][0])


# How long after a check-in closed unfinished a DM that answers nothing is taken to be
# a late answer to it.
LATE_ANSWER_DAYS = 7


async def closed_before_answered(turn: Turn) -> str | None:
    """For a DM that answers no question: when the person's newest check-in in the last
    week closed before they finished it (its 48 hours ran out), that the words came too
    late for it, rather than the bare "I'm not waiting for an answer"."""
    query = (
        select(FlowSession)
        .where(
            FlowSession.member_id == turn.actor.id,
            FlowSession.kind == FlowKind.CHECKIN.value,
            FlowSession.ended_at >= turn.now - timedelta(days=LATE_ANSWER_DAYS),
        )
        .order_by(FlowSession.ended_at.desc(), FlowSession.id.desc())
        .limit(1)
    )
    flow = (await turn.session.execute(query)).scalar_one_or_none()
    if flow is None or flow.state != State.EXPIRED or flow.ended_at is None:
        return None
    pair = await turn.session.get(Pair, flow.pair_id) if flow.pair_id else None
    if pair is None or pair.state not in PARTNERED_PAIR_STATES:
        return None  # closed with the pair: "your pair ended" said so
    partner = await partner_mention(turn, flow)
    return (
        f"Your check-in with {partner} closed on "
        f"{local_view(flow.ended_at, turn.actor.timezone or pair.timezone)}, so I didn't save "
        "that. To tell them now, `/mentor checkin` starts a new check-in; or write to them "
        "directly."
    )


@dataclass(frozen=True, slots=True)
class Person:
    """A member as a check-in prompt needs them."""

    id: int
    external_id: str
    timezone: str | None

    @classmethod
    def of(cls, member: Member) -> Person:
        return cls(member.id, member.external_id, member.timezone)


@dataclass(frozen=True, slots=True)
class Due:
    """A pair whose check-in falls due at ``at``, with what opening it needs (plain
    values: the dispatch pass claims columns, not mapped objects)."""

    pair_id: int
    workspace_id: int
    timezone: str  # the pair's
    # Wins since then go into the first prompt: when the pair became active.
    started_at: datetime
    mentor: Person
    mentee: Person
    at: datetime

    @classmethod
    def of(cls, pair: Pair, mentor: Member, mentee: Member, at: datetime) -> Due:
        started = pair.activated_at or pair.created_at
        return cls(
            pair.id,
            pair.workspace_id,
            pair.timezone,
            started,
            Person.of(mentor),
            Person.of(mentee),
            at,
        )


_CHECKINS = table_of(Checkin)
# The check-in an answer is for (its statements' ``checkin`` parameter).
_THE_CHECKIN = _CHECKINS.c.id == bindparam("checkin")
_THE_OPEN_CHECKIN = and_(_THE_CHECKIN, _CHECKINS.c.state == CheckinState.OPEN.value)


def _of_open_checkin(*columns: ColumnElement[Any], after: CTE | None = None) -> Select[Any]:
    """``columns`` of the answer's check-in while it is open. An answer writes only
    through this. On PostgreSQL it holds the check-in's row (``FOR KEY SHARE``) to the
    commit: the close's claim (``FOR UPDATE SKIP LOCKED``, bot/due.py) passes over a
    check-in an answer is being saved to, and an answer that comes while a close holds
    the check-in waits for it, then finds it shared and saves nothing (its author is
    told). Neither way is an answer saved to a check-in shared without it. SQLite takes
    writers one at a time; it renders no lock. ``after``: only when that CTE of the
    same statement has a row (PostgreSQL, ``_answer_at_once``)."""
    found = select(*columns).where(_THE_OPEN_CHECKIN)
    if after is None:
        return found.with_for_update(read=True, key_share=True)
    joined = found.select_from(_CHECKINS.join(after, true()))
    return joined.with_for_update(read=True, key_share=True, of=_CHECKINS)


_FLOWS = table_of(FlowSession)
_OUTBOX = table_of(OutboxMessage)


async def open_checkin(
    turn: Turn,
    pair: Pair,
    mentor: Member,
    mentee: Member,
    due_at: datetime,
    *,
    asked_by: Member | None = None,
) -> bool:
    """``/mentor checkin``: open one now; the person who asked gets theirs at once."""
    due = Due.of(pair, mentor, mentee, due_at)
    asker = asked_by.id if asked_by is not None else None
    return bool(await open_checkins(turn.session, turn.now, [due], asked_by=asker))


async def open_checkins(
    session: AsyncSession,
    now: datetime,
    due: Sequence[Due],
    *,
    spread: timedelta = timedelta(0),
    asked_by: int | None = None,
) -> set[int]:
    """Open the check-ins due and queue both members' prompts, for a whole batch in a
    few statements (the dispatch pass must cost what is due, not one round trip per row).

    Idempotent: an occurrence opened before (unique pair and due time) is left alone.
    A pair whose earlier check-in is still open gets this occurrence recorded as skipped.
    ``asked_by``: the member who asked for it (``/mentor checkin``) gets theirs at once.
    Returns the ids of the pairs whose check-in opened."""
    if not due:
        return set()
    dialect = dialect_of(session)
    pair_ids = [d.pair_id for d in due]
    still_open: set[int] = set()
    previous: dict[int, datetime] = {}
    # One look-up for both: which pairs have a check-in open, and when each pair's last
    # one (open or shared) opened.
    states = (
        select(_CHECKINS.c.pair_id, _CHECKINS.c.state, func.max(_CHECKINS.c.opened_at))
        .where(
            one_of(dialect, _CHECKINS.c.pair_id, pair_ids),
            _CHECKINS.c.state.in_([CheckinState.OPEN.value, CheckinState.SHARED.value]),
        )
        .group_by(_CHECKINS.c.pair_id, _CHECKINS.c.state)
    )
    for pair_id, state, opened_at in (await session.execute(states)).all():
        if state == CheckinState.OPEN.value:
            still_open.add(pair_id)
        if pair_id not in previous or opened_at > previous[pair_id]:
            previous[pair_id] = opened_at
    closes_at = now + ANSWER_WINDOW
    inserted = await insert_arrays(
        session,
        _CHECKINS,
        [
            {
                "workspace_id": d.workspace_id,
                "pair_id": d.pair_id,
                "due_at": d.at,
                "state": CheckinState.SKIPPED.value
                if d.pair_id in still_open
                else CheckinState.OPEN.value,
                "opened_at": now,
                "closes_at": None if d.pair_id in still_open else closes_at,
            }
            for d in due
        ],
        returning=("id", "pair_id"),
        ignore_duplicates=True,
    )
    opened = {pair_id: checkin_id for checkin_id, pair_id in inserted if pair_id not in still_open}
    del inserted
    opening = [d for d in due if d.pair_id in opened]
    if not opening:
        return set()
    # Prompts due at one moment in one timezone wait out the same quiet hours: each
    # distinct (moment, zone) is worked out once per batch.
    quiet: dict[tuple[datetime, str], datetime] = {}

    def send_at(d: Due, me: Person) -> datetime:
        if me.id == asked_by:
            return now
        key = (max(now, d.at + spread_offset(d.pair_id, spread)), me.timezone or d.timezone)
        found = quiet.get(key)
        if found is None:
            found = quiet[key] = outside_quiet_hours(*key)
        return found

    wins = await _wins_since(
        session,
        {
            (d.pair_id, me.id): previous.get(d.pair_id) or d.started_at
            for d in opening
            for me in (d.mentor, d.mentee)
        },
    )
    prompts = _Prompts(now, await workspaces_by_id(session, {d.workspace_id for d in opening}))
    several = await in_several_pairs(
        session, [me.id for d in opening for me in (d.mentor, d.mentee)]
    )
    for start in range(0, len(opening), _PAIRS_PER_INSERT):
        # In slices: the rows (prompts above all) of a whole batch held at once would
        # set the pass's peak memory; a slice fills one multi-row INSERT.
        part = opening[start : start + _PAIRS_PER_INSERT]
        await _open_part(session, now, part, opened, send_at, wins, prompts, several)
    await stalls.watch(session, now if asked_by is None else closes_at, list(opened))
    return set(opened)


async def _open_part(
    session: AsyncSession,
    now: datetime,
    part: Sequence[Due],
    opened: Mapping[int, int],
    send_at: Callable[[Due, Person], datetime],
    wins: Mapping[tuple[int, int], list[str]],
    prompts: _Prompts,
    several: set[int],
) -> None:
    """Both members' conversations and prompts, for some pairs whose check-ins
    (``opened``: pair id -> check-in id) were just inserted. Their answer rows come
    with their first answers (see :func:`_answer`). A member in ``several`` pairs has
    their conversation name the partner (``NAMED_PARTNER``)."""
    sends = {(d.pair_id, me.id): send_at(d, me) for d in part for me in (d.mentor, d.mentee)}
    kind, state = FlowKind.CHECKIN.value, State.MOOD.value
    flows = await insert_arrays(
        session,
        _FLOWS,
        [
            {
                "workspace_id": d.workspace_id,
                "kind": kind,
                "state": state,
                "data": {"checkin_id": opened[d.pair_id]}
                | ({NAMED_PARTNER: partner.external_id} if me.id in several else {}),
                "member_id": me.id,
                "pair_id": d.pair_id,
                "created_at": now,
                # When its question reaches them: a reply goes to the question asked last.
                "updated_at": sends[(d.pair_id, me.id)],
                "due_at": sends[(d.pair_id, me.id)] + NUDGE_AFTER,
            }
            for d in part
            for me, partner in _both_sides(d)
        ],
        returning=("id", "pair_id", "member_id"),
    )
    flow_ids = {(pair_id, member_id): flow_id for flow_id, pair_id, member_id in flows}
    del flows
    await insert_arrays(
        session,
        _OUTBOX,
        [
            prompts.row(
                d.workspace_id,
                me.external_id,
                flow_ids[(d.pair_id, me.id)],
                partner,
                wins.get((d.pair_id, me.id), ()),
                wins.get((d.pair_id, partner.id), ()),
                sends[(d.pair_id, me.id)],
            )
            for d in part
            for me, partner in _both_sides(d)
        ],
    )


def _both_sides(due: Due) -> tuple[tuple[Person, Person], tuple[Person, Person]]:
    return (due.mentor, due.mentee), (due.mentee, due.mentor)


def spread_offset(pair_id: int, window: timedelta) -> timedelta:
    """A fixed point in ``window`` for this pair (Knuth's multiplicative hash): the same
    pair always lands at the same offset, and pairs spread evenly across it."""
    fraction = (pair_id * 2654435761 % 2**32) / 2**32
    return timedelta(seconds=int(fraction * window.total_seconds()))


def _of_pairs_open_checkin(pair: Pair, column: Any) -> Select[Any]:
    """``column`` of the pair's open check-in (a pair has one at most)."""
    where = (Checkin.pair_id == pair.id, Checkin.state == CheckinState.OPEN.value)
    return select(column).where(*where).limit(1)


async def has_open(turn: Turn, pair: Pair) -> bool:
    found = await turn.session.execute(_of_pairs_open_checkin(pair, Checkin.id))
    return found.first() is not None


async def open_closes_at(turn: Turn, pair: Pair) -> datetime | None:
    """When the pair's open check-in closes; None when none is open (or it has no end)."""
    found = await turn.session.execute(_of_pairs_open_checkin(pair, Checkin.closes_at))
    closes: datetime | None = found.scalar()
    return closes


async def ask_again(turn: Turn, pair: Pair, partner: Member) -> str:
    """``/mentor checkin`` while the pair's check-in is open: the actor's question is
    asked again in DMs (now the one a reply answers), with the ways to answer it; when
    they have answered it all, they read what it waits for."""
    mention = f"<@{partner.external_id}>"
    flow = await newest_open_in_pair(turn, turn.actor, pair, FlowKind.CHECKIN)
    if flow is None or not accepts_text(flow):
        closes = await open_closes_at(turn, pair)
        when = local_view(closes or turn.now, turn.actor.timezone or pair.timezone)
        return (
            f"A check-in with {mention} is already open, and you've answered it. I'll share "
            f"your answers once {mention} has answered, or on {when} at the latest."
        )
    state = State(flow.state)
    question, _ = QUESTIONS[state]
    flow.updated_at = turn.now  # asked again: now the question a reply answers
    text = whose("Check-in", named_partner(flow.data), question)
    turn.dm(turn.actor, Content(text, buttons=_answer_buttons(flow, state)))
    return (
        f"A check-in with {mention} is already open; I've sent you its question again in "
        f"DMs: {question}"
    )


# Told, beside "your pair ended", to whoever had written in the check-in it closed.
NOT_SHARED = (
    "Your answers to the open check-in were not shared: it closed with the pair. "
    "They stay yours: `/mentor export` includes them."
)


def not_shared_note(member: Member, wrote: set[int]) -> str:
    """The line ``NOT_SHARED`` for a member among ``wrote`` (``cancel_open``), else ""."""
    return f"\n{NOT_SHARED}" if member.id in wrote else ""


async def cancel_open(turn: Turn, pair: Pair) -> set[int]:
    """The pair ended: its open check-in is closed, with no nudge and nothing shared.
    Returns the members who had written something in it (they were promised a share)."""
    query = select(Checkin).where(
        Checkin.pair_id == pair.id, Checkin.state == CheckinState.OPEN.value
    )
    canceled = list((await turn.session.execute(query)).scalars())
    for open_one in canceled:
        open_one.state = CheckinState.CANCELED.value
        open_one.closes_at = None
        await _expire_open_sessions(turn, open_one)
    if not canceled:
        return set()
    answers = select(CheckinAnswer).where(CheckinAnswer.checkin_id.in_([c.id for c in canceled]))
    return {
        a.member_id for a in (await turn.session.execute(answers)).scalars() if not said_nothing(a)
    }


async def record_missed(session: AsyncSession, now: datetime, missed: Sequence[Due]) -> None:
    """Occurrences that fell due while the bot was down for longer than it makes sense
    to send them late: recorded (once; a retried pass changes nothing), not sent."""
    if not missed:
        return
    await insert_arrays(
        session,
        _CHECKINS,
        [
            {
                "workspace_id": d.workspace_id,
                "pair_id": d.pair_id,
                "due_at": d.at,
                "state": CheckinState.MISSED.value,
                "opened_at": now,
                "closes_at": None,
            }
            for d in missed
        ],
        ignore_duplicates=True,
    )


async def _wins_since(
    session: AsyncSession, since: Mapping[tuple[int, int], datetime]
) -> dict[tuple[int, int], list[str]]:
    """Each member's newest wins since their pair's last check-in, by (pair id, member
    id), in one query: the newest few per member since the earliest of those times, then
    each pair's own cut. By pair, as a member in two pairs has two times: their partner
    in a pair begun since the other's last check-in is shown no win from before it."""
    if not since:
        return {}
    members = {member_id for _, member_id in since}
    newest = (
        select(
            Win.member_id,
            Win.text,
            Win.created_at,
            func.row_number()
            .over(partition_by=Win.member_id, order_by=(Win.created_at.desc(), Win.id.desc()))
            .label("rank"),
        )
        .where(
            one_of(dialect_of(session), Win.member_id, sorted(members)),
            Win.created_at >= min(since.values()),
        )
        .subquery()
    )
    query = (
        select(newest.c.member_id, newest.c.text, newest.c.created_at)
        .where(newest.c.rank <= WINS_IN_PROMPT + 1)
        .order_by(newest.c.member_id, newest.c.rank)
    )
    newest_of: dict[int, list[tuple[str, datetime]]] = {}
    for member_id, text, created_at in (await session.execute(query)).all():
        newest_of.setdefault(member_id, []).append((text, created_at))
    found: dict[tuple[int, int], list[str]] = {}
    for key, after in since.items():
        listed = [text for text, at in newest_of.get(key[1], ()) if at >= after]
        if listed:
            found[key] = listed
    return found


def _prompt(
    flow_id: int, partner: Person, wins: Sequence[str], partner_wins: Sequence[str]
) -> Content:
    """What a check-in prompt says: the one definition (:class:`_Prompts` copies it)."""
    text = _prompt_text(partner, wins, partner_wins)
    return Content(text, buttons=_answer_buttons(flow_id, State.MOOD))


def _answer_buttons(flow: FlowSession | int, state: State) -> tuple[Button, ...]:
    """The ways to answer the question of ``state``: the prompt and a nudge carry the same
    (the mood buttons while the mood is asked, a form, Skip)."""
    buttons: tuple[Button, ...] = ()
    if state == State.MOOD:
        buttons = tuple(flow_button(flow, f"mood:{k}", v) for k, v in MOODS.items())
    return (
        *buttons,
        flow_button(flow, "form", "Answer in a form", ButtonStyle.PRIMARY),
        flow_button(flow, f"skip:{state}", "Skip"),
    )


def _prompt_text(partner: Person, wins: Sequence[str], partner_wins: Sequence[str]) -> str:
    """The prompt's words: the wins each of them shared since the pair's last check-in
    (the partner's were shared with this member as they came), then the first question."""
    mention = f"<@{partner.external_id}>"
    lines = [f"👋 Time for your check-in with {mention}."]
    if wins:
        lines.append("Your wins since last time:")
        lines += _listed_wins(wins, "• … and more in `/mentor journal`")
    if partner_wins:
        lines.append(f"{mention}'s wins since last time:")
        # (The mention outside the code span, where it renders as the name they type.)
        lines += _listed_wins(partner_wins, f"• … and more in `/mentor journal` {mention}")
    lines.append(QUESTIONS[State.MOOD][0])
    lines.append("(Reply here, answer in a form, or skip any question.)")
    return "\n".join(lines)


def _listed_wins(wins: Sequence[str], more: str) -> list[str]:
    listed = [f"• {shorten(text, 200)}" for text in wins[:WINS_IN_PROMPT]]
    return [*listed, more] if len(wins) > WINS_IN_PROMPT else listed


class _Prompts(OutboxRows):
    """Prompts as outbox rows, for a whole batch: the rows are those :func:`_prompt`
    and :func:`~bot.turn.outbox_row` make, but built from one sample of each instead
    of two objects, five buttons and a JSON conversion per prompt (a dispatch batch
    queues two thousand)."""

    def __init__(self, now: datetime, workspaces: Mapping[int, Workspace]) -> None:
        super().__init__(now, workspaces)
        sample = _prompt(0, Person(0, "", None), (), ()).to_json()
        # A flow button's action id is the flow's prefix followed by the choice.
        prefix = flow_button(0, "", "").action_id
        assert all(action.startswith(prefix) for _, action, _ in sample["buttons"])
        self._buttons = [
            (label, action[len(prefix) :], style) for label, action, style in sample["buttons"]
        ]
        self._content = {k: v for k, v in sample.items() if k not in ("text", "buttons")}

    def content(
        self, flow_id: int, partner: Person, wins: Sequence[str], partner_wins: Sequence[str]
    ) -> dict[str, Any]:
        """``_prompt(flow_id, partner, wins, partner_wins).to_json()``."""
        prefix = flow_button(flow_id, "", "").action_id
        return {
            **self._content,
            "text": _prompt_text(partner, wins, partner_wins),
            "buttons": [[label, prefix + choice, style] for label, choice, style in self._buttons],
        }

    def row(
        self,
        workspace_id: int,
        target_id: str,
        flow_id: int,
        partner: Person,
        wins: Sequence[str],
        partner_wins: Sequence[str],
        at: datetime,
    ) -> dict[str, Any]:
        """``outbox_row(workspace, DM, target_id, _prompt(...), now, at)``."""
        content = self.content(flow_id, partner, wins, partner_wins)
        return self.dm(workspace_id, target_id, content, at)


# Each event's statements are few and fixed (issue 16): a reply or a click writes the
# member's answer in one upsert; only the answer that completes a check-in reads the rest
# of it (the pair, both members, both answers, a waiting feedback question) in one query.
_ANSWERS = table_of(CheckinAnswer)
_FIELDS = {state: name for state, (_, name) in QUESTIONS.items()}
_MENTOR = aliased(Member, name="mentor")
_MENTEE = aliased(Member, name="mentee")
_MENTOR_ANSWER = aliased(CheckinAnswer, name="mentor_answer")
_MENTEE_ANSWER = aliased(CheckinAnswer, name="mentee_answer")
# Check-ins whole (``_Whole``): one by ``_WHOLE``, many at the close.
_WHOLES = (
    select(
        Checkin,
        Pair,
        _MENTOR,
        _MENTEE,
        _MENTOR_ANSWER,
        _MENTEE_ANSWER,
        stalls.waiting_question_since(Checkin.pair_id),
    )
    .join(Pair, Pair.id == Checkin.pair_id)
    .outerjoin(_MENTOR, _MENTOR.id == Pair.mentor_id)
    .outerjoin(_MENTEE, _MENTEE.id == Pair.mentee_id)
    .outerjoin(
        _MENTOR_ANSWER,
        and_(_MENTOR_ANSWER.checkin_id == Checkin.id, _MENTOR_ANSWER.member_id == Pair.mentor_id),
    )
    .outerjoin(
        _MENTEE_ANSWER,
        and_(_MENTEE_ANSWER.checkin_id == Checkin.id, _MENTEE_ANSWER.member_id == Pair.mentee_id),
    )
)
_WHOLE = _WHOLES.where(Checkin.id == bindparam("checkin"))
_MINE = (
    select(_CHECKINS.c.id, *(_ANSWERS.c[name] for name in FORM_FIELDS))
    .outerjoin(
        _ANSWERS,
        and_(_ANSWERS.c.checkin_id == _CHECKINS.c.id, _ANSWERS.c.member_id == bindparam("member")),
    )
    .where(_THE_CHECKIN)
)
# (dialect, answer fields written, whether it loads the row) -> the upsert, built once.
_UPSERTS: dict[tuple[str, tuple[str, ...], bool], Insert] = {}


@dataclass(slots=True)
class _Whole:
    """A check-in with what sharing it needs."""

    checkin: Checkin
    pair: Pair
    members: dict[int, Member]
    # By member; a member without an answer row never answered (rows come with the
    # first answer).
    answers: dict[int, CheckinAnswer]
    # When the pair's oldest feedback question still waiting for an answer was asked.
    waiting_since: datetime | None


async def _whole(session: AsyncSession, checkin_id: int) -> _Whole | None:
    row = (await session.execute(_WHOLE, {"checkin": checkin_id})).one_or_none()
    return None if row is None else _whole_of(row)


def _whole_of(row: Row[*tuple[Any, ...]]) -> _Whole:
    checkin, pair, mentor, mentee, mentor_answer, mentee_answer, waiting_since = row
    return _Whole(
        checkin,
        pair,
        {m.id: m for m in (mentor, mentee) if m is not None},
        {a.member_id: a for a in (mentor_answer, mentee_answer) if a is not None},
        waiting_since,
    )


def _checkin_id(flow: FlowSession) -> int:
    return int(flow.data["checkin_id"])


async def _mine(turn: Turn, flow: FlowSession) -> dict[str, str | None] | None:
    """The member's answers so far, by field (None for each when they have not answered
    yet); None when the flow's check-in is gone."""
    params = {"checkin": _checkin_id(flow), "member": flow.member_id}
    row = (await turn.session.execute(_MINE, params)).one_or_none()
    return None if row is None else dict(zip(FORM_FIELDS, row[1:], strict=True))


def _upsert(
    dialect: str, names: tuple[str, ...], *, loads: bool = False, after: CTE | None = None
) -> Insert:
    """``INSERT ... SELECT FROM checkins ... ON CONFLICT DO UPDATE`` of the answer fields
    ``names``, returning the row's id, or (``loads``) the row as an object; built once
    per dialect, fields and kind (``after``: see ``_of_open_checkin``; built by the
    caller once)."""
    found = _UPSERTS.get((dialect, names, loads)) if after is None else None
    if found is not None:
        return found
    values = [bindparam(f"v_{name}", type_=_ANSWERS.c[name].type) for name in names]
    source = _of_open_checkin(
        _CHECKINS.c.workspace_id,
        _CHECKINS.c.id,
        bindparam("member", type_=_ANSWERS.c.member_id.type),
        *values,
        after=after,
    )
    into = CheckinAnswer if loads else _ANSWERS
    columns = ["workspace_id", "checkin_id", "member_id", *names]
    insert = upsert_into(dialect, into).from_select(columns, source)
    # Nothing to write (a skip) still returns the row: it names the same member again.
    changes = {name: insert.excluded[name] for name in names or ("member_id",)}
    upsert = insert.on_conflict_do_update(index_elements=["checkin_id", "member_id"], set_=changes)
    found = upsert.returning(CheckinAnswer) if loads else upsert.returning(_ANSWERS.c.id)
    if after is None:
        _UPSERTS[(dialect, names, loads)] = found
    return found


def _upsert_params(flow: FlowSession, values: Mapping[str, Any]) -> dict[str, Any]:
    params = {f"v_{name}": value for name, value in values.items()}
    return params | {"checkin": _checkin_id(flow), "member": flow.member_id}


async def _save(turn: Turn, flow: FlowSession, values: Mapping[str, Any]) -> bool:
    """``values`` written into the member's answers, in one statement: the row is made
    at their first answer rather than with the prompt (a dispatch pass writes two rows
    fewer per check-in, and a member who never answers has no row), and the unique
    (check-in, member) decides between two events at the same moment. False when the
    check-in is gone. A Core statement: loading the row as an object through the ORM's
    RETURNING costs about 0.7 ms more per call (bench/README.md, ``bench_flows``); the
    answer that completes the check-in reads it afterwards."""
    assert flow.member_id is not None
    statement = _upsert(dialect_of(turn.session), tuple(values))
    found = await turn.session.execute(statement, _upsert_params(flow, values))
    return found.first() is not None


# What the answer that completes a check-in also writes to its flow: it ends, and no
# reminder is due for it (``_ended_values``).
_ENDED_COLUMNS = (*MOVED_COLUMNS, "ended_at", "due_at")


def _ended_values(turn: Turn) -> dict[str, Any]:
    """The values of ``_ENDED_COLUMNS`` for a check-in's flow done now."""
    return moved_values(turn, State.DONE) | {"ended_at": turn.now, "due_at": None}


def _moving(columns: tuple[str, ...]) -> Update:
    """The flow's UPDATE of ``columns`` (``moved_<column>`` parameters), for an answer
    that moves it on or ends it."""
    values = {name: bindparam(f"moved_{name}", type_=_FLOWS.c[name].type) for name in columns}
    return update(_FLOWS).where(_FLOWS.c.id == bindparam("flow")).values(values)


def _moving_with_answer(moving: Update) -> CTE:
    """PostgreSQL: ``moving`` as a data-modifying CTE of the answer's upsert (one
    statement less per answer). Only where the check-in is open (the upsert's own
    condition, read again after any wait for its lock): an answer not saved moves
    nothing."""
    there = _of_open_checkin(_CHECKINS.c.id).exists()
    return moving.where(there).returning(_FLOWS.c.id).cte("moved")


# Whether the flow ends -> its UPDATE: on SQLite after the answer's upsert, deferred to
# go to SQLite with the event's next statement; on PostgreSQL inside the upsert.
_MOVING = {False: _moving(MOVED_COLUMNS), True: _moving(_ENDED_COLUMNS)}
_MOVING_WITH_ANSWER = {ends: _moving_with_answer(moving) for ends, moving in _MOVING.items()}
# PostgreSQL: the next question's DM, written by the answer's statement from the flow's
# move: asked exactly when the flow moved on to it (``Turn.dm_in_statement``).
_ASKING = outbox_cte(_MOVING_WITH_ANSWER[False], "asked")

# The answer that completes a member's check-in reads back, in its own statement, what
# the rest of the event needs: whether the partner has answered (only then is the
# check-in read whole, to share it) and when the check-in closes (the thanks says so).
# When the partner is still to answer, it also sets the pair's stall check
# (``stalls.answered``): on PostgreSQL in the same statement; on SQLite from the waiting
# feedback question read back, in a deferred UPDATE.
_PAIRS = table_of(Pair)
_PARTNER_ANSWERS = _ANSWERS.alias("partner_answer")


def _of_checkin(column: ColumnElement[Any]) -> ScalarSelect[Any]:
    """``column`` of the answer's check-in, as a subquery."""
    return select(column).where(_THE_CHECKIN).scalar_subquery()


_PAIR_OF_CHECKIN = _of_checkin(_CHECKINS.c.pair_id)
_PARTNER_ANSWERED = (
    select(_PARTNER_ANSWERS.c.id)
    .where(
        _PARTNER_ANSWERS.c.checkin_id == bindparam("checkin"),
        _PARTNER_ANSWERS.c.member_id != bindparam("member"),
        _PARTNER_ANSWERS.c.answered_at.is_not(None),
    )
    .exists()
)
# The partner the thanks names: the pair's other member (primary keys only).
_OTHER_MEMBER = other_member_in_sql(_PAIRS.c.mentor_id, _PAIRS.c.mentee_id, bindparam("member"))
_PARTNER_MEMBERS = table_of(Member)
_FINISHING = (
    _PARTNER_ANSWERED.label("partner_answered"),
    _of_checkin(_CHECKINS.c.closes_at).label("closes_at"),
    # The zone the thanks tells the close in, for a member who set none of their own.
    select(_PAIRS.c.timezone)
    .where(_PAIRS.c.id == _PAIR_OF_CHECKIN)
    .scalar_subquery()
    .label("pair_timezone"),
    select(_PARTNER_MEMBERS.c.external_id)
    .where(
        _PARTNER_MEMBERS.c.id
        == select(_OTHER_MEMBER).where(_PAIRS.c.id == _PAIR_OF_CHECKIN).scalar_subquery()
    )
    .scalar_subquery()
    .label("partner_id"),
)
_FINISHING_ON_SQLITE = (
    *_FINISHING,
    _PAIR_OF_CHECKIN.label("pair_id"),
    stalls.waiting_question_since(_PAIR_OF_CHECKIN).label("waiting_since"),
)
_STALL_CHECK = (
    update(_PAIRS)
    .where(_PAIRS.c.id == bindparam("pair"))
    .values(stall_check_at=bindparam("stall_check_at", type_=_PAIRS.c.stall_check_at.type))
)
# PostgreSQL: the stall check as a data-modifying CTE of the answer's upsert; its WHERE
# finds no pair when the check-in is gone or no longer open (an answer not saved
# changes nothing). When the partner has answered, the pair is read whole to share the
# check-in, and ``stalls.answered`` writes the check with the streak instead (the row
# written once).
_STALL_CHECK_WITH_ANSWER = (
    update(_PAIRS)
    .where(_PAIRS.c.id == _of_open_checkin(_CHECKINS.c.pair_id).scalar_subquery())
    .where(~_PARTNER_ANSWERED)
    .values(stall_check_at=stalls.check_after_answer_in_sql(_PAIRS.c.id))
    .returning(_PAIRS.c.id)
    .cte("stall_checked")
)
# PostgreSQL: the answers that complete the two sides of a check-in take turns, each
# from before it is saved to its commit, so that the second finds the first's answer and
# shares both (two at once would each find the other still to come, and the check-in
# would be shared only at its close). SQLite takes writers one at a time anyway. An
# advisory lock (the two-key form, in a key space of its own), not an exclusive lock on
# the check-in's row: the answers' own ``FOR KEY SHARE`` of that row must not wait for
# each other, and one that did would also wait for an UPDATE of the check-in (a pair
# ending cancels its open check-in, then ends its conversations: the other way round
# from a click, which holds its conversation first).
_SHARE_TURNS = 0x6D62_0001
_TAKING_SHARE_TURN = select(func.pg_advisory_xact_lock(_SHARE_TURNS, bindparam("checkin")))


async def take_share_turn(session: AsyncSession, checkin_id: int) -> None:
    """Wait for the check-in's turn (``_SHARE_TURNS``) until the transaction ends; on
    SQLite nothing to do."""
    if dialect_of(session) != "sqlite":
        await session.execute(_TAKING_SHARE_TURN, {"checkin": checkin_id})


# (dialect, answer fields written, whether the flow ends, whether it writes the next
# question's DM) -> the statement, built once.
_SAVING_AND_MOVING: dict[tuple[str, tuple[str, ...], bool, bool], Insert] = {}


def _saving_and_moving(dialect: str, names: tuple[str, ...], ends: bool, asks: bool) -> Insert:
    """The answer's upsert for :func:`_save_and_move`: on PostgreSQL with the flow's
    move, and for the last answer the stall check, as CTEs; the last answer returns
    ``_FINISHING`` too (on SQLite also what its stall check needs). ``asks`` (PostgreSQL,
    not the last answer): the next question's DM too (``_ASKING``), its id returned."""
    key = (dialect, names, ends, asks)
    found = _SAVING_AND_MOVING.get(key)
    if found is not None:
        return found
    found = _upsert(dialect, names)
    if dialect == "sqlite":
        found = found.returning(*_FINISHING_ON_SQLITE) if ends else found
    else:
        found = found.add_cte(_MOVING_WITH_ANSWER[ends])
        if ends:
            found = found.add_cte(_STALL_CHECK_WITH_ANSWER).returning(*_FINISHING)
        elif asks:
            asked = select(_ASKING.c.id).scalar_subquery().label("asked")
            found = found.add_cte(_ASKING).returning(asked)
    _SAVING_AND_MOVING[key] = found
    return found


@dataclass(frozen=True, slots=True)
class _Finished:
    """What the answer completing a member's check-in read back (``_FINISHING``)."""

    partner_answered: bool
    closes_at: datetime | None
    pair_timezone: str
    partner_id: str | None  # their external id; None if they are gone


async def _save_and_move(
    turn: Turn,
    flow: FlowSession,
    values: Mapping[str, Any],
    following: State,
    asking: Content | None = None,
) -> _Finished | bool:
    """:func:`_save`, and ``flow`` moved to ``following`` as :func:`move` would have it
    written at the flush, or, ``following`` being ``DONE``, ended; the flow object is
    told so (nothing of it is left to write). On PostgreSQL in the same statement. On
    SQLite the flow's UPDATE is deferred: it goes to SQLite with the event's next
    statement or its COMMIT, rather than as a flush of its own (a trip to aiosqlite's
    thread less per answer; bench/README.md, issue 16). False when the check-in is gone;
    for the last answer, what it read back (the pair's stall check is set too).
    ``asking``: the next question, DMed to the member once the answer is saved; on
    PostgreSQL written by the same statement, when it may be (``Turn.dm_in_statement``)."""
    names, ends = tuple(values), following == State.DONE
    moved = _ended_values(turn) if ends else moved_values(turn, following)
    moving = {f"moved_{k}": v for k, v in moved.items()} | {"flow": flow.id}
    dialect = dialect_of(turn.session)
    dm = None if asking is None or ends else turn.dm_in_statement(turn.actor, asking)
    statement = _saving_and_moving(dialect, names, ends, dm is not None)
    params = _upsert_params(flow, values)
    if dialect == "sqlite":
        # Writers take turns (BEGIN IMMEDIATE): the check-in the answer was saved to is
        # still there for the UPDATEs that follow it.
        row = (await turn.session.execute(statement, params)).first()
        if row is None:
            return False
        await execute_deferred(turn.session, _MOVING[ends], moving)
        if ends and not row.partner_answered:
            # (When the partner has answered, the pair is read whole to share the
            # check-in, and ``stalls.answered`` writes this with the streak.)
            stall = {
                "pair": row.pair_id,
                "stall_check_at": stalls.check_after_answer(row.waiting_since),
            }
            await execute_deferred(turn.session, _STALL_CHECK, stall)
    else:
        row = (await turn.session.execute(statement, params | moving | (dm or {}))).first()
        if row is None:
            return False
    for name, value in moved.items():
        set_committed_value(flow, name, value)
    if asking is not None and not (dm and turn.told_in_statement(turn.actor, dm, row.asked)):
        turn.dm(turn.actor, asking)
    if not ends:
        return True
    return _Finished(bool(row.partner_answered), row.closes_at, row.pair_timezone, row.partner_id)


async def _save_into(
    turn: Turn, flow: FlowSession, values: Mapping[str, Any], whole: _Whole
) -> bool:
    """:func:`_save` for a check-in read whole before (a form's answers depend on the
    stored ones): the member's answer object in ``whole`` comes back updated."""
    assert flow.member_id is not None
    statement = _upsert(dialect_of(turn.session), tuple(values), loads=True)
    # "orm": one statement with these parameters, rows loaded as objects (not the bulk
    # INSERT the ORM would take parameters for), refreshing the object already loaded.
    # Not flushed first: the statement reads the check-in and writes only this row,
    # which no object of this event holds unsaved changes for.
    options = {"dml_strategy": "orm", "populate_existing": True}
    with turn.session.no_autoflush:
        found = await turn.session.execute(
            statement, _upsert_params(flow, values), execution_options=options
        )
    answer: CheckinAnswer | None = found.scalar_one_or_none()
    if answer is not None:
        whole.answers[answer.member_id] = answer
    return answer is not None


_CLOSED = StepResult(
    reply="That check-in has closed (answers are shared after 48 hours), so I didn't "
    "save this. Your next check-in will come on your pair's usual rhythm."
)


async def _ended_with_pair(turn: Turn, flow: FlowSession) -> bool:
    """Whether the check-in of a closed conversation was closed by its pair's end
    (``cancel_open``) rather than by its 48 hours: then no check-in comes after it."""
    if flow.state != State.EXPIRED:
        return False
    checkin = await turn.session.get(Checkin, _checkin_id(flow))
    return checkin is not None and checkin.state == CheckinState.CANCELED.value


async def step(turn: Turn, flow: FlowSession, choice: str) -> StepResult | list[Effect]:
    """A button on a check-in prompt or question."""
    if flow.member_id != turn.actor.id:
        owner = await turn.session.get(Member, flow.member_id)
        return not_for_you(owner) if owner else STALE
    if flow.ended_at is not None:
        if await _ended_with_pair(turn, flow):
            return closed_with_pair("check-in")
        return _CLOSED if flow.state == State.EXPIRED else STALE
    if choice.startswith("mood:") and choice[5:] in MOODS:
        mood = choice[5:]
        shown = _mood_shown(mood, named_partner(flow.data))
        if flow.state == State.MOOD:
            advanced = await _answer_and_advance(turn, flow, {"mood": mood})
            # The last question open, its "thanks" goes with it (a form asked again).
            return _CLOSED if advanced is None else replace(advanced, replace_with=shown)
        if not await _save(turn, flow, {"mood": mood}):
            return _CLOSED
        return StepResult(replace_with=shown)
    if choice.startswith("skip:"):
        if choice[5:] != flow.state:
            return StepResult(reply="You're already past that question.")
        # (before the flow moves on)
        skipped = _skipped_shown(State(flow.state), named_partner(flow.data))
        advanced = await _answer_and_advance(turn, flow, {})
        if advanced is None:
            return _CLOSED
        # Skipping the last question ends the check-in: its "thanks" is said as for a
        # typed last answer.
        return replace(advanced, replace_with=skipped)
    if choice == "form":
        # The whole check-in, showing what is answered already (to keep, or to edit).
        answered_so_far = await _mine(turn, flow)
        if answered_so_far is None:
            return STALE
        fields = tuple(
            FormField(
                name,
                question,
                FormFieldKind.SHORT_TEXT if name == "mood" else FormFieldKind.LONG_TEXT,
                placeholder="great, ok, rough, or your own words" if name == "mood" else None,
                initial=answered_so_far[name] or None,
            )
            for question, name in QUESTIONS.values()
        )
        remember_shown(flow, fields)
        title = await form_title(turn, flow, "Your check-in", "Check-in")
        form = Form(f"flow:{flow.id}:answers", title, fields, submit_label="Share")
        return [OpenForm(turn.actor_ref, form)]
    return STALE


async def on_text(turn: Turn, flow: FlowSession, text: str) -> StepResult:
    """A DM reply: the answer to the question asked last; a typed "skip" skips it."""
    if flow.member_id is None:
        return STALE
    if is_skip(text):
        # As its [Skip] button: the next question (a DM) or the thanks follows; there is
        # no pressed message to show as skipped.
        skipped = await step(turn, flow, f"skip:{flow.state}")
        assert isinstance(skipped, StepResult), "a skip opens no form"
        return StepResult(reply=skipped.reply)
    _, field = QUESTIONS[State(flow.state)]
    value = _mood_word(text) if field == "mood" else text
    return await _answer_and_advance(turn, flow, {field: value}) or _CLOSED


def _open_questions(flow: FlowSession) -> list[tuple[State, str]]:
    """The questions from the one asked now on, with their answer fields."""
    start = ORDER.index(State(flow.state))
    return [(state, QUESTIONS[state][1]) for state in ORDER[start:] if state in QUESTIONS]


async def on_form(turn: Turn, flow: FlowSession, values: dict[str, str]) -> StepResult:
    if flow.member_id != turn.actor.id:
        owner = await turn.session.get(Member, flow.member_id)
        return not_for_you(owner) if owner else STALE
    if not accepts_text(flow):
        return StepResult(
            reply="That check-in is done, so what you wrote in this form was not saved."
            + given_back(list(values.values()))
        )
    if not any(value.strip() for value in values.values()):
        # (Slack's modal refuses it first, ``form_errors``; Discord's and the console's
        # send it.) It answers nothing: not a check-in answered with every one skipped.
        return StepResult(
            reply="Every answer was empty, so nothing was saved. Write at least one, or press Skip."
        )
    # Read whole: what the member answered so far decides what the form changes, and
    # the form completes the check-in (unless an answer was too long), so it takes its
    # turn at sharing it first.
    await take_share_turn(turn.session, _checkin_id(flow))
    whole = await _whole(turn.session, _checkin_id(flow))
    if whole is None or flow.member_id is None:  # what the form held is not saved
        return with_given_back(_CLOSED, values)
    answer = whole.answers.get(flow.member_id)
    open_names = [name for _, name in _open_questions(flow)]
    read = read_form(values, list(FORM_FIELDS))
    answers = {
        name: _mood_word(value) if name == "mood" else value for name, value in read.answers.items()
    }
    stored = {name: getattr(answer, name) if answer else None for name in FORM_FIELDS}
    changes = form_changes(flow, answers, stored, open_names)
    answered_before = [QUESTIONS[_state_of(name)][0] for name in changes.kept]
    dropped = [answers[name] for name in changes.kept]
    note = answered_before_note(answered_before, dropped) if answered_before else ""
    if read.too_long:
        # The answers that fit are kept; only the over-long ones are asked again.
        if not await _save_into(turn, flow, changes.store, whole):
            return with_given_back(_CLOSED, values)
        retry = [name for name, _ in read.too_long]
        state = next(s for s, (_, name) in QUESTIONS.items() if name == retry[0])
        flow.data = {**flow.data, "retry": retry[1:]}
        move(turn, flow, state)
        labels = {name: question for question, name in QUESTIONS.values()}
        kept = [name for name in retry if stored[name]]
        return with_note(note, StepResult(reply=read.refused_note(labels, kept)))
    move(turn, flow, State.NEXT_TOPIC)
    advanced = await _answer_and_advance(turn, flow, changes.store, whole)
    return with_note(note, advanced or with_given_back(_CLOSED, values))


def typed_mood(value: str) -> str | None:
    """The mood a typed answer says as one of the buttons does ("great", "Great 🙌",
    "ok!"), if it does."""
    said = value.strip().lower()
    word = said.rstrip("!.")
    if word in MOODS:
        return word
    return next((mood for mood, label in MOODS.items() if label.lower() == said), None)


def _mood_word(value: str) -> str:
    """A mood typed as one of the buttons' words is stored as that word."""
    return typed_mood(value) or value


def asks_mood(flow: FlowSession) -> bool:
    """Whether the check-in flow waits for its first question, "How did it go?"."""
    return flow.kind == FlowKind.CHECKIN and flow.state == State.MOOD and flow.ended_at is None


def _state_of(name: str) -> State:
    return next(state for state, (_, field) in QUESTIONS.items() if field == name)


async def _answer_and_advance(
    turn: Turn, flow: FlowSession, values: Mapping[str, Any], whole: _Whole | None = None
) -> StepResult | None:
    """``values`` saved as the member's answers, then the next question asked, or the
    check-in done. None when the check-in is gone (nothing changed). ``whole``: the
    check-in, when the caller read it already."""
    finishing = upcoming(flow, ORDER, _FIELDS, State.DONE) == State.DONE
    if finishing:
        values = {**values, "answered_at": turn.now}
        if whole is None:  # (a form took its turn before reading the check-in)
            await take_share_turn(turn.session, _checkin_id(flow))
    # The common step (a typed answer or a click, nothing asked again): the flow moves
    # on, or ends, with the answer (``_save_and_move``).
    moving = whole is None and "retry" not in flow.data
    if moving:
        following = upcoming(flow, ORDER, _FIELDS, State.DONE)
        partner = named_partner(flow.data)
        asking = None if following == State.DONE else _question(flow, following, partner)
        saved = await _save_and_move(turn, flow, values, following, asking)
        if asking is not None:
            return StepResult() if saved else None
    elif whole is None:
        saved = await _save(turn, flow, values)
    else:
        saved = await _save_into(turn, flow, values, whole)
    if not saved:
        return None
    if not moving:
        following = next_question(flow, ORDER, _FIELDS, State.DONE)
        if following != State.DONE:
            move(turn, flow, following)
    if following != State.DONE:
        turn.dm(turn.actor, _question(flow, following, named_partner(flow.data)))
        return StepResult()
    if not moving:
        for name, value in _ended_values(turn).items():
            setattr(flow, name, value)
    elif isinstance(saved, _Finished) and not saved.partner_answered:
        # The partner is still to answer: nothing to share, and the stall check is set.
        return _thanks_until(turn, saved.partner_id, saved.closes_at, saved.pair_timezone)
    if whole is None:
        whole = await _whole(turn.session, _checkin_id(flow))
        assert whole is not None  # the answer just saved refers to it
    stalls.answered(whole.pair, whole.waiting_since)
    if _both_answered(whole):
        # One event, one message: the thanks heads the partner's answers in one DM.
        await _share(turn, whole, thanked=turn.actor.id)
        return StepResult()
    pair = whole.pair
    other = whole.members.get(other_member_id(pair, turn.actor.id))
    partner_id = other.external_id if other is not None else None
    return _thanks_until(turn, partner_id, whole.checkin.closes_at, pair.timezone)


def _mood_shown(mood: str, partner: str | None) -> str:
    """The prompt once a mood button on it was pressed (its buttons gone)."""
    return whose("Check-in", partner, f"{QUESTIONS[State.MOOD][0]} {MOODS[mood]}")


def _skipped_shown(state: State, partner: str | None) -> str:
    """A question's message once its [Skip] was pressed (its button gone)."""
    return whose("Check-in", partner, f"{QUESTIONS[state][0]} (skipped)")


def _question(flow: FlowSession | int, state: State, partner: str | None) -> Content:
    """The DM asking the question of ``state``, with its [Skip] (``flow``: the flow or its
    id; ``partner``: whom it names, ``named_partner``)."""
    question, _ = QUESTIONS[state]
    text = whose("Check-in", partner, question)
    return Content(text, buttons=(flow_button(flow, f"skip:{state}", "Skip"),))


def _thanks_until(
    turn: Turn, partner: str | None, closes_at: datetime | None, pair_timezone: str
) -> StepResult:
    """The thanks for an answer that completes the member's side of a check-in whose
    other side, ``partner``'s (an external id), is still to come (it closes at
    ``closes_at``), told in the member's zone, else the pair's (as the check-in's own
    times are)."""
    closes = closes_at or turn.now
    zone = turn.actor.timezone or pair_timezone
    who = f"<@{partner}>" if partner else "your partner"
    return StepResult(
        reply=f"Thanks! I'll share your answers with {who} once they've answered, "
        f"or on {local_view(closes, zone)} at the latest."
    )


def _both_answered(whole: _Whole) -> bool:
    answers = whole.answers.values()
    return len(answers) == 2 and all(a.answered_at is not None for a in answers)


async def _share(turn: Turn, whole: _Whole, thanked: int | None = None) -> None:
    """Each side gets the other's answers; ``thanked``: the member whose answer completed
    the check-in, thanked in the same DM."""
    checkin, pair, members, answers = whole.checkin, whole.pair, whole.members, whole.answers
    if checkin.state != CheckinState.OPEN:
        return
    # A member without an answer row never answered (rows are made at the first answer).
    for me, partner in ((pair.mentor_id, pair.mentee_id), (pair.mentee_id, pair.mentor_id)):
        if me in members and partner in members:
            said = _shared(
                members[partner],
                answers.get(partner),
                checkin,
                members[me],
                pair.timezone,
                reader_silent=said_nothing(answers.get(me)),
            )
            if me == thanked:
                said = replace(said, text=f"Thanks! You've both answered. {said.text}")
            turn.dm(members[me], said)
    both = _both_answered(whole)
    checkin.state = CheckinState.SHARED.value
    checkin.shared_at = turn.now
    checkin.closes_at = None
    pair.streak = pair.streak + 1 if both else 0
    if both and pair.streak in STREAK_MILESTONES:
        for member in members.values():
            await reach_automatic(
                turn,
                member,
                f"p{pair.id}-streak-{pair.streak}",
                f"{pair.streak} check-ins in a row",
                pair.id,
            )


def said_nothing(answer: CheckinAnswer | None) -> bool:
    """Whether a member gave nothing at all: no answer row, or one with every field empty
    that was never finished (a finished one skipped every question on purpose)."""
    return answer is None or (
        answer.answered_at is None
        and not any((answer.mood, answer.progress, answer.challenge, answer.next_topic))
    )


def _shared(
    author: Member,
    answer: CheckinAnswer | None,
    checkin: Checkin,
    reader: Member,
    pair_timezone: str,
    *,
    reader_silent: bool,
) -> Content:
    who = f"<@{author.external_id}>"
    if answer is None or said_nothing(answer):
        # Named by when it was asked: two check-ins closing unanswered in one stretch
        # (a manual one and the scheduled one) are two different notes, not one repeated.
        asked = local_view(checkin.opened_at, reader.timezone or pair_timezone)
        # A reader who was silent too is not told only that their partner was.
        whom = f"Neither you nor {who}" if reader_silent else who
        verb = "answered" if reader_silent else "didn't answer"
        return Content(f"{whom} {verb} the check-in of {asked}. Maybe say hello?")
    fields = []
    if answer.mood:
        fields.append(Field(LABELS["mood"], MOODS.get(answer.mood, answer.mood)))
    # A member who went through every question skipped the ones left empty; one who
    # stopped part way (the 48 hours ran out) may never have been asked them.
    empty = "(skipped)" if answer.answered_at is not None else "(no answer)"
    for name in ("progress", "challenge", "next_topic"):
        value = getattr(answer, name)
        fields.append(Field(LABELS[name], value if value else empty))
    return Content(f"📋 {who}'s check-in answers:", fields=tuple(fields))


_OPEN_CONVERSATIONS = select(FlowSession).where(
    FlowSession.kind == FlowKind.CHECKIN.value, FlowSession.ended_at.is_(None)
)
# PostgreSQL, the close: each open conversation with whether it could be locked without
# waiting (a lateral subquery: a lock may not reach the nullable side of an outer join).
_FREE_FLOW = _FLOWS.alias("free_flow")
_FREE = (
    select(_FREE_FLOW.c.id)
    .where(_FREE_FLOW.c.id == FlowSession.id)
    .with_for_update(skip_locked=True)
    .lateral("free")
)
_OPEN_CONVERSATIONS_LOCKED = _OPEN_CONVERSATIONS.add_columns(_FREE.c.id).outerjoin(_FREE, true())


def _checkin_of(flow: FlowSession) -> int | None:
    """The check-in ``flow`` is a conversation of (a pair may have two open: a manual
    check-in and the scheduled one)."""
    found = flow.data.get("checkin_id")
    return int(found) if found is not None else None


def _expire(turn: Turn, flows: Iterable[FlowSession]) -> None:
    for flow in flows:
        move(turn, flow, State.EXPIRED, end=True)
        flow.due_at = None


async def _expire_open_sessions(turn: Turn, checkin: Checkin) -> None:
    query = _OPEN_CONVERSATIONS.where(FlowSession.pair_id == checkin.pair_id)
    found = (await turn.session.execute(query)).scalars()
    _expire(turn, [flow for flow in found if _checkin_of(flow) == checkin.id])


@dataclass(slots=True)
class Closing:
    """What closing check-ins needs, read for many at once (``read_for_closing``)."""

    # By check-in: whole, read after its conversations were held.
    wholes: dict[int, _Whole]
    # By check-in: its conversations still open.
    conversations: dict[int, list[FlowSession]]
    # Check-ins with a conversation held by another transaction (PostgreSQL).
    busy: set[int]


async def read_for_closing(session: AsyncSession, checkins: Sequence[Checkin]) -> Closing:
    """``checkins``' open conversations, held (on PostgreSQL, those another transaction
    holds are passed over and their check-ins are busy), then the check-ins that are not
    busy, whole: two statements, however many check-ins."""
    closing = Closing({}, {}, set())
    if not checkins:
        return closing
    dialect = dialect_of(session)
    ids = {checkin.id for checkin in checkins}
    pairs = one_of(dialect, FlowSession.pair_id, sorted({c.pair_id for c in checkins}))
    if dialect == "sqlite":
        # One writer at a time: no other transaction holds a conversation (each is free).
        found = [
            (flow, flow.id) for flow in (await session.scalars(_OPEN_CONVERSATIONS.where(pairs)))
        ]
    else:
        found = [
            (flow, free)
            for flow, free in await session.execute(_OPEN_CONVERSATIONS_LOCKED.where(pairs))
        ]
    for flow, free in found:
        checkin_id = _checkin_of(flow)
        if checkin_id not in ids:
            continue
        if free is None:
            closing.busy.add(checkin_id)
        closing.conversations.setdefault(checkin_id, []).append(flow)
    whole = ids - closing.busy
    if whole:
        rows = await session.execute(_WHOLES.where(one_of(dialect, Checkin.id, sorted(whole))))
        closing.wholes = {row[0].id: _whole_of(row) for row in rows}
    return closing


# How much later a close that found a conversation busy tries again (``close_due``).
BUSY_CLOSE_RETRY = timedelta(minutes=1)


async def nudge(turn: Turn, flow: FlowSession) -> None:
    """The flow's timer: one friendly nudge, never more."""
    flow.due_at = None
    if flow.ended_at is not None:
        return
    pair = await turn.session.get(Pair, flow.pair_id) if flow.pair_id else None
    member = await turn.session.get(Member, flow.member_id) if flow.member_id else None
    if pair is None or member is None:
        return
    partner = await turn.session.get(Member, other_member_id(pair, member.id))
    at = outside_quiet_hours(turn.now, member.timezone or pair.timezone)
    # The nudge asks again, so it is the question asked last.
    flow.updated_at = max(turn.now, at)
    content = _nudge(flow, State(flow.state), partner.external_id if partner else None)
    turn.dm(member, content, at=at)


def _nudge(flow: FlowSession | int, state: State, partner_id: str | None) -> Content:
    """The nudge of a conversation at ``state``: its question again, with the prompt's
    ways to answer."""
    who = f"<@{partner_id}>" if partner_id else "your partner"
    question, _ = QUESTIONS[state]
    return Content(
        f"A gentle nudge: your check-in with {who} is still open for another day. {question}",
        buttons=_answer_buttons(flow, state),
    )


_NUDGED = table_of(Member).alias("nudged")
_NUDGED_PARTNER = table_of(Member).alias("nudged_partner")
_NUDGED_PAIR = table_of(Pair).alias("nudged_pair")
# The check-in conversations whose nudge is due, as plain rows for :func:`nudge_due`:
# loading five mapped objects a timer (its flow, workspace, member, pair and partner)
# and flushing them back set the dispatch pass's peak memory, at the hour's busiest pass
# (bench/README.md, issue 16, goal 4). A conversation at any other state is left to the
# timers' pass (``bot.due._fire_timers``), as is a batch that fails.
NUDGES_DUE = (
    select(
        _FLOWS.c.id,
        _FLOWS.c.workspace_id,
        _FLOWS.c.state,
        _FLOWS.c.ended_at,
        _NUDGED_PAIR.c.id,
        _NUDGED_PAIR.c.timezone,
        _NUDGED.c.external_id,
        _NUDGED.c.timezone,
        _NUDGED_PARTNER.c.external_id,
    )
    .select_from(
        _FLOWS.join(_NUDGED, _NUDGED.c.id == _FLOWS.c.member_id)
        .outerjoin(_NUDGED_PAIR, _NUDGED_PAIR.c.id == _FLOWS.c.pair_id)
        .outerjoin(
            _NUDGED_PARTNER,
            _NUDGED_PARTNER.c.id
            == other_member_in_sql(
                _NUDGED_PAIR.c.mentor_id, _NUDGED_PAIR.c.mentee_id, _NUDGED.c.id
            ),
        )
    )
    .where(
        _FLOWS.c.due_at <= bindparam("now"),
        _FLOWS.c.kind == FlowKind.CHECKIN.value,
        _FLOWS.c.state.in_([state.value for state in QUESTIONS]),
    )
    # The indexed column alone (see bot/due.py, ``_CHECKIN_CLAIM``).
    .order_by(_FLOWS.c.due_at)
    .limit(bindparam("batch"))
)


async def nudge_due(
    session: AsyncSession, now: datetime, due: Sequence[Row[*tuple[Any, ...]]]
) -> None:
    """What :func:`nudge` does for each row of ``NUDGES_DUE``, for them all in a few
    statements: each conversation no longer due, and, when it is open and its pair is
    there, asked its question again by DM (not before its member's quiet hours end)."""
    outbox = OutboxRows(now, await workspaces_by_id(session, {row[1] for row in due}))
    # Each zone's quiet hours worked out once for the batch.
    quiet_ends = cache(partial(outside_quiet_hours, now))
    ended: list[int] = []
    asked: dict[datetime, list[int]] = {}

    def messages() -> Iterator[dict[str, Any]]:
        for flow_id, workspace_id, state, ended_at, pair_id, pair_zone, me, my_zone, partner in due:
            if ended_at is not None or pair_id is None:
                ended.append(flow_id)
                continue
            at = quiet_ends(my_zone or pair_zone)
            asked.setdefault(max(now, at), []).append(flow_id)
            content = _nudge(flow_id, State(state), partner).to_json()
            yield outbox.dm(workspace_id, me, content, at)

    await outbox.insert(session, messages())
    dialect = dialect_of(session)
    if ended:
        await session.execute(
            update(_FLOWS).where(one_of(dialect, _FLOWS.c.id, ended)).values(due_at=None)
        )
    for updated_at, flow_ids in asked.items():
        # The nudge asks again, so it is the question asked last.
        await session.execute(
            update(_FLOWS)
            .where(one_of(dialect, _FLOWS.c.id, flow_ids))
            .values(due_at=None, updated_at=updated_at)
        )


async def close_due(turn: Turn, checkin: Checkin, read: Closing | None = None) -> bool:
    """The 48-hour window ended: each member sees what the other answered, the
    conversations still open end, the streak moves. ``read``: what
    :func:`read_for_closing` read for this check-in among others (else it is read here).
    False when it has to wait: on PostgreSQL, a conversation of the check-in is held by
    an event in another transaction (a click's look-up locks its flow, then its answer
    waits for the lock the close holds on the check-in: waiting for that flow here would
    be a deadlock). The close is then tried ``BUSY_CLOSE_RETRY`` later, after that
    answer is saved."""
    if checkin.state != CheckinState.OPEN:
        return True
    read = read or await read_for_closing(turn.session, [checkin])
    if checkin.id in read.busy:
        checkin.closes_at = turn.now + BUSY_CLOSE_RETRY
        return False
    # Read after the conversations were held: no answer to this check-in is in flight.
    whole = read.wholes[checkin.id]
    assert whole.checkin is checkin
    _expire(turn, read.conversations.get(checkin.id, ()))
    await _share(turn, whole)
    return True


# -- Answers at once (PostgreSQL) -------------------------------------------------------
#
# A mood button or a [Skip] pressed on a check-in's message, or a typed answer to a
# check-in question that asks another, in two statements outside a transaction instead
# of four round trips
# (BEGIN, the look-up, the answer's statement, COMMIT): a read of the flow it answers,
# then one statement that writes what the usual way (``step``, ``on_text``) would, on the
# condition that the flow is still as read. Issue 16, goal 2 (bench/README.md). Anything
# else, the usual way does.

_MEMBERS = table_of(Member)
_HANDLED = table_of(HandledEvent)
# A flow row's version: PostgreSQL gives every new version of a row a new ``xmin`` (the
# transaction that wrote it), so the same value means not written since.
_FLOW_VERSION = literal_column(f"{_FLOWS.name}.xmin::text", Text)


def _open_flows_of_sender(*where: ColumnElement[bool]) -> Select[Any]:
    """PostgreSQL: the open flows (on ``where``) of the member whose platform ids are
    ``platform``, ``team`` and ``user`` (``sender_by_ref``): each one's, its member's and
    its workspace's ids, its state, its data as stored (decrypted by ``_as_read``), its
    version and when it last moved."""
    me, workspace = sender_by_ref()
    return select(
        _FLOWS.c.id,
        _FLOWS.c.member_id,
        _FLOWS.c.workspace_id,
        _FLOWS.c.state,
        type_coerce(_FLOWS.c.data, JSON).label("data"),
        _FLOW_VERSION.label("version"),
        # As the driver reads it: aware, in UTC (``UTCDateTime`` converts).
        type_coerce(_FLOWS.c.updated_at, DateTime(timezone=True)).label("updated_at"),
        _FLOWS.c.kind,
    ).where(
        _FLOWS.c.member_id == me,
        _FLOWS.c.workspace_id == workspace,
        _FLOWS.c.ended_at.is_(None),
        *where,
    )


# The open check-in flow a button names (``flow``), of the person who pressed it.
_CLICKED_FLOW = _open_flows_of_sender(
    _FLOWS.c.id == bindparam("flow", type_=_FLOWS.c.id.type),
    _FLOWS.c.kind == FlowKind.CHECKIN.value,
)
# The kinds of flow a typed DM may answer -> the newest of the sender's open flows of
# those kinds that has reached them (``updated_at``, parameter ``at``: a question held
# back by quiet hours has not), as ``Engine._answer_message`` finds the one it answers.
_NEWEST_FLOWS: dict[tuple[str, ...], Select[Any]] = {}


def _of_kinds(flows: Any, kinds: tuple[str, ...]) -> ColumnElement[bool]:
    """A flow of one of ``kinds``, each a value of the statement's own (a list as one
    parameter needs the compiler at each call, which ``fetch_alone`` skips)."""
    return or_(*(flows.c.kind == kind for kind in kinds))


def _newest_flow(kinds: tuple[str, ...]) -> Select[Any]:
    found = _NEWEST_FLOWS.get(kinds)
    if found is None:
        found = _NEWEST_FLOWS[kinds] = (
            _open_flows_of_sender(
                _of_kinds(_FLOWS, kinds),
                _FLOWS.c.updated_at <= bindparam("at", type_=_FLOWS.c.updated_at.type),
            )
            .order_by(_FLOWS.c.updated_at.desc(), _FLOWS.c.id.desc())
            .limit(1)
        )
    return found


# (the answer's fields, whether the flow moves on to ask the next question, the kinds
# of flow a typed answer may answer or None for a click) -> the statement, built once.
_ANSWERS_AT_ONCE: dict[tuple[tuple[str, ...], bool, tuple[str, ...] | None], Select[Any]] = {}


def _answer_at_once(
    names: tuple[str, ...], asks: bool, kinds: tuple[str, ...] | None
) -> Select[Any]:
    """The statement of an answer at once, for the flow read (parameters ``flow``,
    ``member``, ``workspace``, ``version``, ``checkin``): the answer's upsert of the fields
    ``names`` (none for a skip), the key's claim (``key``, ``at``), and (``asks``) the flow
    moved on and the next question's DM, as ``_save_and_move`` writes them; the claim's
    id and (``asks``) the DM's.

    It writes nothing and returns no row whenever the usual way would do more or other:
    the flow written since it was read (its version), or ended; for a typed answer
    (``kinds``), a flow of those kinds newer than the one read that has reached them
    (``seen_at``: when the one read last moved); anything ``at_once_conditions`` rules
    out (the member's row to be written by the event's look-up, the workspace not
    delivering, the key claimed before); the check-in no longer open. The flow's row
    is locked first (``FOR UPDATE``, as the usual way's look-up locks a clicked one),
    then the check-in's (``FOR KEY SHARE``, as every answer holds it): should another
    event hold the flow, its new version is checked again once it commits. A second
    delivery of the key at the same moment breaks the claims' unique key: the statement
    then writes nothing."""
    found = _ANSWERS_AT_ONCE.get((names, asks, kinds))
    if found is not None:
        return found
    key = bindparam("key", type_=_HANDLED.c.key.type)
    at = bindparam("at", type_=_HANDLED.c.created_at.type)
    member = bindparam("member", type_=_FLOWS.c.member_id.type)
    workspace = bindparam("workspace", type_=_FLOWS.c.workspace_id.type)
    flow = bindparam("flow", type_=_FLOWS.c.id.type)
    as_read = _FLOW_VERSION
    conditions = [
        _FLOWS.c.id == flow,
        _FLOWS.c.member_id == member,
        _FLOWS.c.workspace_id == workspace,
        _FLOWS.c.ended_at.is_(None),
        as_read == bindparam("version", type_=Text),
        exists().where(*at_once_conditions(_MEMBERS.c, member, workspace, key)),
    ]
    if kinds is not None:
        newer = _FLOWS.alias("newer")
        seen_at = bindparam("seen_at", type_=_FLOWS.c.updated_at.type)
        conditions.append(
            ~exists().where(
                newer.c.member_id == member,
                newer.c.workspace_id == workspace,
                _of_kinds(newer, kinds),
                newer.c.ended_at.is_(None),
                newer.c.updated_at <= at,
                or_(
                    newer.c.updated_at > seen_at,
                    and_(newer.c.updated_at == seen_at, newer.c.id > flow),
                ),
            )
        )
    answered = select(_FLOWS.c.id).where(*conditions).with_for_update().cte("answered")
    saved = _upsert("postgresql", names, after=answered).cte("saved")
    claimed = (
        insert(_HANDLED)
        .from_select(CLAIM_COLUMNS, select(workspace, key, at).select_from(saved))
        .returning(_HANDLED.c.id)
        .cte("claimed")
    )
    found = select(claimed.c.id).add_cte(answered, saved, claimed)
    if asks:
        moved = (
            _MOVING[False].where(select(saved.c.id).exists()).returning(_FLOWS.c.id).cte("moved_on")
        )
        asked = outbox_cte(moved, "asked")
        asked_id = select(asked.c.id).scalar_subquery().label("asked")
        found = found.add_columns(asked_id).add_cte(moved, asked)
    _ANSWERS_AT_ONCE[(names, asks, kinds)] = found
    return found


@dataclass(frozen=True, slots=True)
class _Read:
    """A check-in flow as an answer at once read it."""

    flow_id: int
    member_id: int
    workspace_id: int
    state: State
    checkin_id: int
    version: str
    updated_at: datetime
    partner: str | None  # ``named_partner``


def _as_read(database: Database, rows: list[tuple[Any, ...]]) -> _Read | None:
    """The check-in flow the read found, when an answer at once may answer it: not one
    whose answers a form asks again (``retry``), which the usual way moves on from."""
    if not rows:
        return None
    [(flow_id, member, workspace, state, stored, version, updated_at, kind)] = rows
    data = EncryptedJSON().process_result_value(stored, database.engine.dialect)
    if kind != FlowKind.CHECKIN or not isinstance(data, dict) or "retry" in data:
        return None
    if state not in QUESTIONS:
        return None
    checkin_id = int(data["checkin_id"])
    partner = named_partner(data)
    return _Read(flow_id, member, workspace, State(state), checkin_id, version, updated_at, partner)


async def _write_at_once(
    database: Database,
    read: _Read,
    ref: UserRef,
    values: dict[str, str],
    now: datetime,
    *,
    asks: bool,
    kinds: tuple[str, ...] | None,
    key: str,
    seen: LastSeen,
) -> bool | None:
    """``_answer_at_once``'s statement for ``read``'s flow, answered with ``values`` and
    (``asks``) moved on to the next question: whether that question's DM was queued;
    None when it wrote nothing."""
    params: dict[str, Any] = (
        {
            "flow": read.flow_id,
            "member": read.member_id,
            "workspace": read.workspace_id,
            "version": read.version,
            "seen_at": read.updated_at,
            "checkin": read.checkin_id,
            "key": key,
            "at": now,
            "user": ref.user_id,
        }
        | seen.params()
        | {f"v_{field}": value for field, value in values.items()}
    )
    if asks:
        # As ``_answer_and_advance`` moves it: to the next question, asked in a DM.
        following = ORDER[ORDER.index(read.state) + 1]
        question = _question(read.flow_id, following, read.partner)
        dm = outbox_row(Workspace(), OutboxTarget.DM, ref.user_id, question, now)
        dm["workspace_id"] = read.workspace_id
        params |= {f"dm_{column}": value for column, value in dm.items()}
        params |= {f"moved_{column}": value for column, value in moved_at(following, now).items()}
    statement = _answer_at_once(tuple(values), asks, kinds)
    found = await database.fetch_alone(statement, params)
    if not found:
        return None
    return asks and found[0][1] is not None


def _asks_after(state: State) -> bool:
    """Whether the question of ``state`` is followed by another (not the last)."""
    return ORDER[ORDER.index(state) + 1] != State.DONE


def click_choice(choice: str) -> bool:
    """Whether a check-in button's choice may go at once (``click_at_once``): a mood
    (``mood:<mood>``) or a [Skip] (``skip:<state>``)."""
    kind, _, value = choice.partition(":")
    return (kind == "mood" and value in MOODS) or (kind == "skip" and value in _FIELDS)


async def click_at_once(
    database: Database,
    ref: UserRef,
    flow_id: int,
    choice: str,
    now: datetime,
    *,
    key: str,
    seen: LastSeen,
) -> tuple[str, bool] | None:
    """PostgreSQL: a keyed click on check-in flow ``flow_id``'s button ``choice`` (one
    ``click_choice`` takes) by ``ref``, as ``step`` handles it, in a read and one
    statement (``_answer_at_once``): what the clicked message shows now, and whether the
    next question's DM was queued; None when it is for the usual way, nothing having
    been written (a flow not theirs, not a check-in's or ended, a form's answers asked
    again, a [Skip] of a question already past or of the last, anything the statement
    declines)."""
    where = {"flow": flow_id, "platform": ref.platform.value, "team": ref.workspace_id}
    rows = await database.fetch_alone(_CLICKED_FLOW, where | {"user": ref.user_id})
    read = _as_read(database, rows)
    if read is None:
        return None
    kind, _, value = choice.partition(":")
    if kind == "mood":
        # At the mood question a mood moves the flow on, as any answer does; past it,
        # it only changes the mood (answering out of order).
        shown = _mood_shown(value, read.partner)
        values, asks = {"mood": value}, read.state == State.MOOD
    elif value == read.state and _asks_after(read.state):
        values, asks, shown = {}, True, _skipped_shown(read.state, read.partner)
    else:
        return None
    queued = await _write_at_once(
        database,
        read,
        ref,
        values,
        now,
        asks=asks,
        kinds=None,
        key=key,
        seen=seen,
    )
    return None if queued is None else (shown, queued)


async def answer_at_once(
    database: Database,
    ref: UserRef,
    text: str,
    now: datetime,
    *,
    kinds: tuple[str, ...],
    key: str,
    seen: LastSeen,
) -> bool | None:
    """PostgreSQL: a keyed typed DM ``text`` (``clean_answer``'s) by ``ref``, as
    ``Engine._answer_message`` and ``on_text`` handle it, when the newest of their open
    flows of ``kinds`` that has reached them is a check-in's at a question before its
    last, in a read and one statement (``_answer_at_once``): whether the next question's
    DM was queued (its answer is that DM); None when it is for the usual way, nothing
    having been written (the last question, which completes their side and may share
    the check-in; any other flow; anything the statement declines; a typed "skip", which
    ``on_text`` treats as the [Skip] button, not as an answer; a typed "stop", which
    ``Engine._answer_message`` does not save, nor a call for help or a hello)."""
    if is_skip(text) or said_to_the_bot(text):
        return None
    where = {"platform": ref.platform.value, "team": ref.workspace_id, "at": now}
    rows = await database.fetch_alone(_newest_flow(kinds), where | {"user": ref.user_id})
    read = _as_read(database, rows)
    if read is None or not _asks_after(read.state):
        return None
    field = _FIELDS[read.state]
    value = _mood_word(text) if field == "mood" else text
    return await _write_at_once(
        database,
        read,
        ref,
        {field: value},
        now,
        asks=True,
        kinds=kinds,
        key=key,
        seen=seen,
    )
