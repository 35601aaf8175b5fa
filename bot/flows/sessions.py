"""Starting, finding and ending flow sessions, and the ids their buttons carry."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from sqlalchemy import bindparam, select

from bot.content import Button, ButtonStyle, FormField
from bot.effects import Effect
from bot.numbers import whole_number
from bot.storage.models import FlowSession, Member, Pair
from bot.text import TEXT_MAX_CHARS, given_back
from bot.turn import Turn

FLOW_ACTION_PREFIX = "flow"


class FlowKind(StrEnum):
    PAIR_PROPOSAL = "pair_proposal"
    END_PAIR = "end_pair"
    SHOUTOUT_CONSENT = "shoutout_consent"
    CHOOSE_PAIR = "choose_pair"
    CHOOSE_CONVERSATION = "choose_conversation"
    CHECKIN = "checkin"
    FEEDBACK = "feedback"
    REVIEW = "review"
    FORGET = "forget"


@dataclass(frozen=True, slots=True)
class FlowAction:
    session_id: int
    choice: str

    @classmethod
    def parse(cls, action_id: str) -> FlowAction | None:
        parts = action_id.split(":", 2)
        session_id = whole_number(parts[1]) if len(parts) == 3 else None
        if session_id is None or parts[0] != FLOW_ACTION_PREFIX:
            return None
        return cls(session_id, parts[2])


BUTTON_LABEL_CHARS = 80  # Discord's limit; Slack allows 75 in some places, 2000 in others


async def _partner(turn: Turn, flow: FlowSession) -> Member | None:
    """The other member of the flow's pair."""
    pair = await turn.session.get(Pair, flow.pair_id) if flow.pair_id else None
    if pair is None:
        return None
    return await turn.session.get(
        Member, pair.mentee_id if pair.mentor_id == flow.member_id else pair.mentor_id
    )


async def partner_name(turn: Turn, flow: FlowSession) -> str:
    """The other member of the flow's pair, for labels where a mention cannot render."""
    other = await _partner(turn, flow)
    return (other.display_name or other.external_id) if other else "your partner"


async def partner_mention(turn: Turn, flow: FlowSession) -> str:
    """The other member of the flow's pair, as a mention in a message."""
    other = await _partner(turn, flow)
    return f"<@{other.external_id}>" if other else "your partner"


async def still_open(turn: Turn, flow: FlowSession, conversation: str, question: str) -> str:
    """``ConversationFlow.still_waiting`` of a conversation of questions (a check-in, a
    look back) at ``question``."""
    partner = await partner_mention(turn, flow)
    return (
        f"Your {conversation} with {partner} is still open: your next reply here answers "
        f"“{question}”"
    )


# A conversation's data, for a member in more than one pair when it began: the
# partner's platform id. Two of their conversations can then be open at once, and a
# reply answers the question asked last, so each question says whose it is.
NAMED_PARTNER = "with"


def named_partner(data: Mapping[str, Any]) -> str | None:
    """The partner a conversation's questions name, if any (``NAMED_PARTNER``)."""
    found = data.get(NAMED_PARTNER)
    return found if isinstance(found, str) else None


async def form_title(turn: Turn, flow: FlowSession, plain: str, conversation: str) -> str:
    """A conversation's form title: ``plain``, or for one that names the partner
    (``named_partner``) the ``conversation`` with whom, by name (a title shows no
    mentions; the platform shortens it to its limit)."""
    if named_partner(flow.data) is None:
        return plain
    return f"{conversation} with {await partner_name(turn, flow)}"


def whose(conversation: str, partner: str | None, text: str) -> str:
    """``text``, a question of a ``conversation`` ("Check-in"), naming the partner when
    there is one to name (``named_partner``)."""
    return f"{conversation} with <@{partner}>: {text}" if partner else text


def flow_button(
    session: FlowSession | int, choice: str, label: str, style: ButtonStyle = ButtonStyle.DEFAULT
) -> Button:
    """A button for a flow session (or its id, when it was inserted in bulk)."""
    session_id = session if isinstance(session, int) else session.id
    return Button(label, f"{FLOW_ACTION_PREFIX}:{session_id}:{choice}", style)


async def start_flow(
    turn: Turn,
    kind: FlowKind,
    state: StrEnum,
    *,
    member: Member | None = None,
    pair: Pair | None = None,
    data: dict[str, Any] | None = None,
) -> FlowSession:
    flow = FlowSession(
        workspace_id=turn.workspace.id,
        kind=kind.value,
        state=state.value,
        data=data or {},
        member_id=member.id if member else None,
        pair_id=pair.id if pair else None,
        created_at=turn.now,
        updated_at=turn.now,
    )
    turn.session.add(flow)
    await turn.session.flush()  # its id goes into the buttons
    return flow


# Built once: every click and form submission runs it.
_FIND_FLOW = (
    select(FlowSession)
    .where(FlowSession.id == bindparam("id"), FlowSession.workspace_id == bindparam("workspace"))
    .with_for_update()
)


async def find_flow(turn: Turn, session_id: int) -> FlowSession | None:
    """A session of this workspace only: an id from elsewhere finds nothing. The row is
    locked (PostgreSQL) so two clicks at the same moment take turns."""
    if turn.flow_by_id is not None and turn.flow_by_id[0] == session_id:
        return turn.flow_by_id[1]  # read (and locked) with the event's look-up
    params = {"id": session_id, "workspace": turn.workspace.id}
    return (await turn.session.execute(_FIND_FLOW, params)).scalar_one_or_none()


async def open_flow_of(turn: Turn, member: Member, kind: FlowKind) -> FlowSession | None:
    query = (
        select(FlowSession)
        .where(
            FlowSession.member_id == member.id,
            FlowSession.kind == kind.value,
            FlowSession.ended_at.is_(None),
        )
        .limit(1)
    )
    return (await turn.session.execute(query)).scalar_one_or_none()


async def open_flows_of(
    turn: Turn, member: Member, kinds: tuple[str, ...], limit: int
) -> list[FlowSession]:
    """``member``'s open flows of ``kinds`` that have reached them (a question held back
    by quiet hours has not), newest first, as many as ``limit``."""
    query = (
        select(FlowSession)
        .where(
            FlowSession.member_id == member.id,
            FlowSession.kind.in_(kinds),
            FlowSession.ended_at.is_(None),
            FlowSession.updated_at <= turn.now,
        )
        .order_by(FlowSession.updated_at.desc(), FlowSession.id.desc())
        .limit(limit)
    )
    return list((await turn.session.scalars(query)).all())


async def newest_open_in_pair(
    turn: Turn, member: Member, pair: Pair, kind: FlowKind, state: StrEnum | None = None
) -> FlowSession | None:
    """``member``'s newest open conversation of ``kind`` in ``pair`` (at ``state``, when
    given): the one a typed reply would answer, of those."""
    query = select(FlowSession).where(
        FlowSession.member_id == member.id,
        FlowSession.pair_id == pair.id,
        FlowSession.kind == kind.value,
        FlowSession.ended_at.is_(None),
    )
    if state is not None:
        query = query.where(FlowSession.state == state.value)
    query = query.order_by(FlowSession.updated_at.desc(), FlowSession.id.desc()).limit(1)
    return (await turn.session.execute(query)).scalar_one_or_none()


# What moving a flow to its next state writes. bot/flows/checkin.py writes the same
# columns in an answer's own statement on PostgreSQL.
MOVED_COLUMNS = ("state", "updated_at")


def moved_values(turn: Turn, state: StrEnum) -> dict[str, Any]:
    """The values of ``MOVED_COLUMNS`` for a flow moved to ``state`` now."""
    return moved_at(state, turn.now)


def moved_at(state: StrEnum, now: datetime) -> dict[str, Any]:
    """The values of ``MOVED_COLUMNS`` for a flow moved to ``state`` at ``now``."""
    return dict(zip(MOVED_COLUMNS, (state.value, now), strict=True))


def move(turn: Turn, flow: FlowSession, state: StrEnum, *, end: bool = False) -> None:
    for name, value in moved_values(turn, state).items():
        setattr(flow, name, value)
    if end:
        flow.ended_at = turn.now


@dataclass(frozen=True, slots=True)
class StepResult:
    """What a click did: the clicked message is replaced (its buttons gone) and/or the
    person gets a private answer. DMs to others go through the outbox as usual."""

    replace_with: str | None = None
    reply: str | None = None


class ConversationFlow(Protocol):
    """What a flow module that talks with a person provides (check-in, feedback, review).

    The engine routes a button ``flow:<id>:<choice>`` to ``step``, a form whose id is
    ``flow:<id>:<name>`` to ``on_form``, and a DM reply to ``on_text`` of the person's most
    recently updated open session whose ``accepts_text`` is true. ``turn.actor`` is the
    person who acted; a step checks that the session is theirs.
    """

    def accepts_text(self, flow: FlowSession) -> bool: ...

    async def waiting_for(self, turn: Turn, flow: FlowSession) -> str:
        """What a text reply would answer, short enough for a button label."""
        ...

    async def still_waiting(self, turn: Turn, flow: FlowSession) -> str:
        """A sentence: this conversation still waits, and the next reply answers it."""
        ...

    async def step(
        self, turn: Turn, flow: FlowSession, choice: str
    ) -> StepResult | list[Effect]: ...

    async def on_text(self, turn: Turn, flow: FlowSession, text: str) -> StepResult: ...

    async def on_form(
        self, turn: Turn, flow: FlowSession, values: dict[str, str]
    ) -> StepResult: ...


STALE = StepResult(reply="That question was already answered, so nothing changed.")
# A button whose conversation is not there (deleted by a forget), or not one of mine.
GONE = StepResult(reply="That question is no longer open, so nothing changed.")


def closed_with_pair(conversation: str) -> StepResult:
    """A click on a conversation its pair's end closed unanswered. (A form sent to it is
    told "That form is no longer open, so nothing was saved", bot/engine.py.)"""
    said = f"That {conversation} closed when your pair ended, so I didn't save this."
    return StepResult(reply=said)


def not_for_you(owner: Member) -> StepResult:
    return StepResult(reply=f"That question was for <@{owner.external_id}>, so I left it alone.")


@dataclass(frozen=True, slots=True)
class FormAnswers:
    """A submitted form read field by field: one over-long answer does not cost the
    others. ``answers`` holds the non-empty answers that fit; ``too_long`` the fields
    (in the form's order) whose answer did not fit, with its length."""

    answers: dict[str, str]
    too_long: list[tuple[str, int]]

    def refused_note(self, labels: dict[str, str], kept: Collection[str] = ()) -> str:
        """What was not saved, named by the question as the person saw it; ``kept``: the
        fields whose earlier answer stays meanwhile."""
        return "\n".join(
            f"Your answer to “{labels.get(name, name)}” is {length:,} characters long; it "
            f"can be up to {TEXT_MAX_CHARS:,}, so that one was not saved"
            f"{' (your earlier answer stays)' if name in kept else ''}. Could you say it "
            "shorter? Reply here with it."
            for name, length in self.too_long
        )


def answered_before_note(labels: list[str], words: Sequence[str] = ()) -> str:
    """For a form opened before some of its questions were answered another way: which,
    and the ``words`` the form held for them, given back (``given_back``)."""
    named = ", ".join(f"“{label}”" for label in labels)
    return (
        f"{named} had an answer already, so what you wrote for it in the form was not "
        "saved (your earlier answer stays)." + given_back(words)
    )


def with_given_back(result: StepResult, values: Mapping[str, str]) -> StepResult:
    """``result`` (a form that saved nothing) with what the form held given back after
    its reply (``given_back``)."""
    words = given_back(list(values.values()))
    if not words:
        return result
    return StepResult(result.replace_with, (result.reply or "Nothing was saved.") + words)


def with_note(note: str, result: StepResult) -> StepResult:
    """``result`` with ``note`` said first."""
    if not note:
        return result
    return StepResult(result.replace_with, f"{note}\n{result.reply}" if result.reply else note)


def read_form(values: dict[str, str], names: list[str]) -> FormAnswers:
    """The answers to the fields ``names`` (already cleaned by the engine)."""
    answers: dict[str, str] = {}
    too_long: list[tuple[str, int]] = []
    for name in names:
        value = values.get(name, "").strip()
        if len(value) > TEXT_MAX_CHARS:
            too_long.append((name, len(value)))
        elif value:
            answers[name] = value
    return FormAnswers(answers, too_long)


# In a flow's data while a form of its answers is open: what the form showed pre-filled,
# as fingerprints (the words themselves are kept once, in their own record).
FORM_SHOWN = "form_shown"


def _fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def remember_shown(flow: FlowSession, fields: Sequence[FormField]) -> None:
    """Note what a form opens pre-filled with, so that its submission can tell an answer
    the person edited from one they left as it was shown."""
    shown = {f.name: _fingerprint(f.initial) for f in fields if f.initial}
    flow.data = {**flow.data, FORM_SHOWN: shown}


@dataclass(frozen=True, slots=True)
class FormChanges:
    """What a submitted form changes: ``store`` the answers to write; ``kept`` the fields
    answered another way after the form opened (that answer stays, the form's is not
    saved)."""

    store: dict[str, str]
    kept: list[str]


def form_changes(
    flow: FlowSession,
    answers: Mapping[str, str],
    stored: Mapping[str, str | None],
    open_names: Collection[str],
) -> FormChanges:
    """Merge a form's non-empty ``answers`` into the ``stored`` ones: an open or skipped
    question takes the form's answer; a pre-filled one takes it only when the person
    edited it (left as shown, it never undoes a change made since); an empty field never
    erases anything (``answers`` holds no empty ones)."""
    shown: dict[str, str] = flow.data.get(FORM_SHOWN) or {}
    flow.data = {k: v for k, v in flow.data.items() if k != FORM_SHOWN}
    store: dict[str, str] = {}
    kept: list[str] = []
    for name, value in answers.items():
        current = stored.get(name)
        if value == current:
            continue
        if name in shown:
            if shown[name] != _fingerprint(value):
                store[name] = value  # edited where it was shown: the new words replace it
        elif name in open_names or not current:
            store[name] = value
        else:
            kept.append(name)
    return FormChanges(store, kept)


StateT = TypeVar("StateT", bound=StrEnum)


def upcoming(
    flow: FlowSession, order: Sequence[StateT], fields: Mapping[StateT, str], done: StateT
) -> StateT:
    """The state a question-by-question flow (check-in, look-back) asks next: the one
    after the current in ``order``; after a form, only the answers that did not fit
    (their field names in ``flow.data["retry"]``) are asked again, then ``done``. Changes
    nothing (:func:`next_question` moves on)."""
    retry = flow.data.get("retry")
    if retry is None:
        return order[order.index(type(done)(flow.state)) + 1]
    if retry:
        return next(state for state, name in fields.items() if name == retry[0])
    return done


def next_question(
    flow: FlowSession, order: Sequence[StateT], fields: Mapping[StateT, str], done: StateT
) -> StateT:
    """:func:`upcoming`, with the answer asked again taken off the flow's retry list."""
    following = upcoming(flow, order, fields, done)
    retry = flow.data.get("retry")
    if retry is not None:
        data = {key: value for key, value in flow.data.items() if key != "retry"}
        if retry:
            data["retry"] = retry[1:]
        flow.data = data
    return following
