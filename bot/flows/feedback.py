"""The feedback loop: the mentee asks a specific question, the mentor answers, and a week
later (or at the pair's next check-in, whichever is first) the mentee says how they acted
on it; that goes back to the mentor, linked to the question. Mentors can also give
feedback unprompted, which starts at the follow-up.

```mermaid
stateDiagram-v2
    [*] --> coaching: a vague question from the mentee
    [*] --> awaiting_answer: a specific question (the mentor is asked)
    [*] --> follow_up_pending: the mentor gives feedback unprompted
    [*] --> answer_or_new: the mentor gives feedback while a question waits for them
    answer_or_new --> sorted: it is the answer (the question moves on), or other feedback
    answer_or_new --> closed: the pair ended before the mentor chose
    coaching --> awaiting_answer: Send anyway
    coaching --> rephrasing: I'll rephrase
    awaiting_answer --> follow_up_pending: the mentor answers (a reply or the form)
    follow_up_pending --> awaiting_action: 7 days passed, or the next check-in opened
    awaiting_action --> acted: the mentee answers (a reply or the form)
    awaiting_action --> skipped: Skip
    follow_up_pending --> closed: the pair ended before the follow-up
    rephrasing --> [*]
    acted --> [*]
    sorted --> [*]
    skipped --> [*]
    closed --> [*]
```
The session's member is whoever is expected to act next: the mentee while coaching, the
mentor while the question waits, the mentee from the answer on. Nothing reaches the
mentor until a question is sent. The follow-up question is asked in a session of its own
(the waiting one ends as ``followed_up``), so a DM reply goes to it rather than to a
check-in opened in the same dispatch pass. A skipped follow-up closes the item with
``acted_at`` set and no ``action``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot import stalls
from bot.access import own_feedback
from bot.cadence import local_view, outside_quiet_hours
from bot.commands import AskFeedback
from bot.content import ButtonStyle, Content, Form, FormField, FormFieldKind, page_buttons
from bot.effects import Effect, OpenForm, ReplyEphemeral
from bot.flows.sessions import (
    BUTTON_LABEL_CHARS,
    STALE,
    FlowAction,
    FlowKind,
    StepResult,
    flow_button,
    move,
    moved_values,
    newest_open_in_pair,
    not_for_you,
    partner_name,
    start_flow,
)
from bot.numbers import how_many
from bot.pairs import FORGOTTEN_MEMBER_ID, PairView, pick_pair_keeping
from bot.pairs import mention as _m
from bot.storage.bulk import dialect_of, one_of
from bot.storage.models import (
    PARTNERED_PAIR_STATES,
    Feedback,
    FlowSession,
    Member,
    OutboxMessage,
    OutboxStatus,
    OutboxTarget,
    Pair,
    PairState,
)
from bot.text import (
    TEXT_MAX_CHARS,
    as_command,
    clean_answer,
    comparable,
    given_back,
    is_not_yet,
    is_skip,
    shorten,
)
from bot.turn import Turn, join_contents

FOLLOW_UP_AFTER = timedelta(days=7)
_SKIP_FOLLOW_UP = "Skip the follow-up"
# An answer younger than this is not followed up at a check-in yet: nobody acts on
# feedback within the hour, so it waits for the 7-day timer instead.
CHECKIN_FOLLOW_UP_MIN_AGE = timedelta(days=1)
QUOTE_CHARS = 200
LIST_LIMIT = 10
LIST_ACTION = "feedback-list"  # a button's kind: [Newer] / [Older] pages of the list
LIST_TEXT_CHARS = 200


class State(StrEnum):
    COACHING = "coaching"
    REPHRASING = "rephrasing"
    AWAITING_ANSWER = "awaiting_answer"
    FOLLOW_UP_PENDING = "follow_up_pending"
    FOLLOWED_UP = "followed_up"
    AWAITING_ACTION = "awaiting_action"
    ACTED = "acted"
    SKIPPED = "skipped"
    CLOSED = "closed"
    # The mentor wrote ``/mentor feedback <text>`` while their mentee's question waits:
    # is it the answer, or other feedback? The words wait in the session for a button.
    ANSWER_OR_NEW = "answer_or_new"
    SORTED = "sorted"


# The state each button belongs to: a click in any other state is a late or double click.
CHOICES = {
    "send": State.COACHING,
    "rephrase": State.COACHING,
    "answer": State.AWAITING_ANSWER,
    "act": State.AWAITING_ACTION,
    "skip": State.AWAITING_ACTION,
    "is_answer": State.ANSWER_OR_NEW,
    "is_new": State.ANSWER_OR_NEW,
}
# The form field each text-accepting state fills.
FORM_FIELDS = {State.AWAITING_ANSWER: "answer", State.AWAITING_ACTION: "action"}

COACHING = (
    "That question is quite open, and open questions tend to get general answers. "
    "Name one thing (a demo, a PR, a meeting) and what you want to know about it.\n"
    "For example: “In Tuesday's demo, was the architecture part clear enough for "
    "people outside the team?” or “In my PR for the login page, is the error handling "
    "easy to follow?”\n"
    "Send it as it is, or ask again with `/mentor feedback <your question>`."
)


def while_coaching(question: str, typed: str) -> str:
    """A DM typed while the coaching prompt's buttons wait (often the question asked
    again, in the DM rather than with the command): nothing is sent, and they are told
    what waits and how to ask this instead."""
    said = (
        f"I didn't send that to your mentor: your question {_quote(question)} waits for "
        "[Send anyway] or [I'll rephrase], where you asked it."
    )
    if len(typed.split()) < 3:  # "ok", "sure": no question to offer back
        return f"{said} To ask another, use `/mentor feedback <your question>`."
    offered = as_command(f"/mentor feedback {typed}")
    return f"{said} To ask this instead, send it with the command: `{offered}`"


# Phrases that ask for feedback without saying about what.
_GENERIC = re.compile(
    r"\b(?:any|some|got|have|your)\s+(?:feedback|thoughts|tips|advice|comments|suggestions"
    r"|input|notes|ideas|pointers)\b"
    r"|\bthoughts\b"
    r"|\bhow\s+(?:did|do|am|was|have)\s+i\s+(?:do|doing|done|been|performing)\b"
    r"|\bhow\s+(?:is|are|was)\s+(?:it|things|everything|my\s+work|i)\s+going\b"
    r"|\bwhat\s+do\s+you\s+think\b"
    r"|\bwhat\s+should\s+i\s+(?:improve|work\s+on|do\s+better)\b"
    r"|\banything\s+(?:i\s+should|to)\s+(?:improve|change|know|work\s+on)\b"
)
# Words that name no object (the generic phrases' own words among them): what is left once
# these are gone is what the question is about.
_FILLER_WORDS = """
    a about advice after ahead all also am an and any anything are as at be been before
    better bit can change comments could did do doing done else everything feedback few
    for forward from general generally give going got have how i ideas improve in input
    is it just kind know lately let like me more my myself notes of on or overall
    performance performing please pointers recently should so some something stuff
    suggestions thanks that the there things think this thoughts tips to up was way well
    were what whether work working would you your
"""
_FILLER = frozenset(_FILLER_WORDS.split())
MIN_WORDS = 5


def is_vague(question: str) -> bool:
    """Too short to be about anything, or a generic "any feedback?" with no object."""
    words = re.findall(r"[\w'\u2019-]+", question.lower())
    if len(words) < MIN_WORDS:
        return True
    if _GENERIC.search(" ".join(words)) is None:
        return False
    return not any(word not in _FILLER for word in words)


async def waiting_for(turn: Turn, flow: FlowSession) -> str:
    feedback = await turn.session.get(Feedback, int(flow.data["feedback_id"]))
    about = f"“{feedback.question}”" if feedback and feedback.question else "the feedback"
    if flow.state == State.AWAITING_ANSWER:
        label = f"Answer to {await partner_name(turn, flow)}: {about}"
    else:
        label = f"How you acted on {about}"
    return shorten(label, BUTTON_LABEL_CHARS)


async def still_waiting(turn: Turn, flow: FlowSession) -> str:
    loaded = await _load(turn, flow)
    if loaded is None:  # (a waiting conversation has its feedback)
        return "A question is still waiting: your next reply here answers it."
    feedback, mentor, mentee = loaded
    if flow.state == State.AWAITING_ANSWER and feedback.question is not None:
        return (
            f"{_m(mentee)}'s question {_quote(feedback.question)} is still waiting for your "
            "answer: your next reply here answers it."
        )
    about = _quote(feedback.question or feedback.answer or "")
    return (
        f"I'd still like to hear how you acted on {_m(mentor)}'s feedback about {about}: "
        "your next reply here tells them."
    )


def accepts_text(flow: FlowSession) -> bool:
    return flow.ended_at is None and flow.state in FORM_FIELDS


def _quote(text: str) -> str:
    return f"“{shorten(text, QUOTE_CHARS)}”"


# Shown where a person's words were, after they used forget.
FORGOTTEN_WORDS = "(deleted at their request)"


# --- asking and giving -------------------------------------------------------------------


async def ask(turn: Turn, command: AskFeedback) -> list[Effect]:
    view = await pick_pair_keeping(turn, command.partner_id, command.text, verb="send")
    if view.i_mentor:
        waiting = await newest_open_in_pair(
            turn, turn.actor, view.pair, FlowKind.FEEDBACK, State.AWAITING_ANSWER
        )
        if waiting is not None:
            return await _answer_or_new(turn, view, waiting, command.text)
        return turn.reply(await _give_unprompted(turn, view, command.text))
    if is_vague(command.text):
        return await _ask_first(
            turn,
            view,
            State.COACHING,
            {"question": command.text},
            COACHING,
            ("send", "Send anyway", ButtonStyle.DEFAULT),
            ("rephrase", "I'll rephrase", ButtonStyle.PRIMARY),
        )
    asked = await _asked_already(turn, view.pair, command.text)
    if asked is not None:
        return turn.reply(asked)
    feedback = await _new_feedback(turn, view.pair, question=command.text)
    flow = await start_flow(
        turn,
        FlowKind.FEEDBACK,
        State.AWAITING_ANSWER,
        member=view.partner,
        pair=view.pair,
        data={"feedback_id": feedback.id},
    )
    _ask_mentor(turn, flow, feedback, mentor=view.partner, mentee=turn.actor)
    return turn.reply(_sent_note(view.partner))


def _question_words(text: str) -> str:
    """A question as compared with another: its closing "?" aside too."""
    return comparable(text).rstrip("?!. ")


async def _asked_already(turn: Turn, pair: Pair, question: str) -> str | None:
    """The same question still waiting for the mentor's answer (sent twice by a double
    press of Enter, or asked again to hurry them): said, not asked twice. The texts
    are stored encrypted, so they are compared here, of the pair's waiting few."""
    waiting = await turn.session.execute(
        select(Feedback.question, Feedback.asked_at).where(
            Feedback.pair_id == pair.id,
            Feedback.question.is_not(None),
            Feedback.answered_at.is_(None),
        )
    )
    wanted = _question_words(question)
    for text, asked_at in waiting.all():
        if text is not None and _question_words(text) == wanted:
            day = local_view(asked_at, turn.actor.timezone or pair.timezone)
            return (
                f"You asked this on {day}, and it still waits for an answer, so I didn't "
                "send it again. I'll DM you the answer when it comes."
            )
    return None


async def _rephrased_since(turn: Turn, pair: Pair, flow: FlowSession, mentor: Member) -> str | None:
    """A question the mentee asked in the pair after the coaching prompt was shown: they
    did what it suggested (asked again, more specifically), so the prompt's [Send anyway],
    still on screen, does not send the open question as well."""
    query = (
        select(Feedback.question)
        .where(
            Feedback.pair_id == pair.id,
            Feedback.mentee_id == turn.actor.id,
            Feedback.question.is_not(None),
            Feedback.asked_at > flow.created_at,
        )
        .order_by(Feedback.asked_at.desc(), Feedback.id.desc())
        .limit(1)
    )
    later = (await turn.session.execute(query)).scalar()
    if not later:
        return None
    question = shorten(str(flow.data["question"]), QUOTE_CHARS)
    return (
        f"You asked {_m(mentor)} “{shorten(later, QUOTE_CHARS)}” after this, so I didn't send "
        f"“{question}”. To send it as well, ask it again with `/mentor feedback`."
    )


def _sent_note(mentor: Member) -> str:
    return f"Sent your question to {_m(mentor)}. I'll DM you their answer."


async def _new_feedback(
    turn: Turn, pair: Pair, *, question: str | None, answer: str | None = None
) -> Feedback:
    feedback = Feedback(
        workspace_id=turn.workspace.id,
        pair_id=pair.id,
        mentee_id=pair.mentee_id,
        mentor_id=pair.mentor_id,
        question=question,
        answer=answer,
        asked_at=turn.now,
        answered_at=turn.now if answer is not None else None,
    )
    turn.session.add(feedback)
    pair.stall_check_at = stalls.earlier(pair.stall_check_at, turn.now + stalls.FEEDBACK_WAIT)
    await turn.session.flush()  # its id goes into the flow session
    return feedback


def _ask_mentor(
    turn: Turn, flow: FlowSession, feedback: Feedback, *, mentor: Member, mentee: Member
) -> None:
    assert feedback.question is not None
    turn.dm(
        mentor,
        Content(
            f"❓ {_m(mentee)} asked for your feedback:\n{feedback.question}\n"
            "Reply here with your answer, or answer in a form.",
            buttons=(flow_button(flow, "answer", "Answer in a form", ButtonStyle.PRIMARY),),
        ),
    )


async def _give_unprompted(turn: Turn, view: PairView, text: str) -> str:
    """Feedback from the mentor that answers no question: sent, and followed up."""
    feedback = await _new_feedback(turn, view.pair, question=None, answer=text)
    flow = await start_flow(
        turn,
        FlowKind.FEEDBACK,
        State.FOLLOW_UP_PENDING,
        member=view.partner,
        pair=view.pair,
        data={"feedback_id": feedback.id},
    )
    flow.due_at = turn.now + FOLLOW_UP_AFTER
    turn.dm(view.partner, Content(f"💬 {_m(turn.actor)} shared some feedback with you:\n{text}"))
    return f"Sent your feedback to {view.partner_mention}. {_when_followed_up(turn, view.pair)}"


async def _answer_or_new(
    turn: Turn, view: PairView, waiting: FlowSession, text: str
) -> list[Effect]:
    """Feedback written while the mentee's question waits may well be its answer: the
    mentor says which, and the words wait for that (neither guessed nor sent twice)."""
    feedback = await turn.session.get(Feedback, int(waiting.data["feedback_id"]))
    question = _quote(feedback.question) if feedback and feedback.question else "question"
    return await _ask_first(
        turn,
        view,
        State.ANSWER_OR_NEW,
        {"text": text, "question_flow": waiting.id},
        f"{view.partner_mention}'s question {question} is waiting for your answer. Is what "
        "you wrote your answer to it? Nothing is sent until you choose.",
        ("is_answer", "Yes, it's my answer", ButtonStyle.PRIMARY),
        ("is_new", "No, it's other feedback", ButtonStyle.DEFAULT),
    )


async def _ask_first(
    turn: Turn,
    view: PairView,
    state: State,
    data: dict[str, Any],
    text: str,
    *choices: tuple[str, str, ButtonStyle],
) -> list[Effect]:
    """Words that wait, in a session of the actor's, for them to pick what happens to
    them (coaching a vague question; answer or other feedback): nothing is sent yet."""
    flow = await start_flow(
        turn, FlowKind.FEEDBACK, state, member=turn.actor, pair=view.pair, data=data
    )
    return turn.reply(
        text,
        buttons=tuple(flow_button(flow, choice, label, style) for choice, label, style in choices),
    )


async def _sort(turn: Turn, flow: FlowSession, choice: str) -> StepResult:
    """[Yes, it's my answer] or [No, it's other feedback]: the words go where the mentor
    said, once."""
    text = str(flow.data["text"])
    question_id = flow.data.get("question_flow")
    pair = await turn.session.get(Pair, flow.pair_id) if flow.pair_id else None
    mentee = await turn.session.get(Member, pair.mentee_id) if pair is not None else None
    if pair is None or mentee is None or pair.state not in PARTNERED_PAIR_STATES:
        move(turn, flow, State.CLOSED, end=True)
        flow.data = {}  # not sent, and said so: the words are not kept either
        return StepResult(replace_with="That pair has ended, so I didn't send what you wrote.")
    move(turn, flow, State.SORTED, end=True)
    flow.data = {}  # the words now live in their feedback row
    question = await turn.session.get(FlowSession, int(question_id)) if question_id else None
    if (
        choice == "is_answer"
        and question is not None
        and question.ended_at is None
        and question.state == State.AWAITING_ANSWER
        and question.member_id == turn.actor.id
    ):
        answered = await _record(turn, question, text)
        return StepResult(replace_with=answered.reply)
    sent = await _give_unprompted(turn, PairView(pair, turn.actor, mentee), text)
    if choice == "is_answer":  # answered meanwhile (a DM, the form): the words still go
        sent = f"That question was answered meanwhile, so I sent this as other feedback. {sent}"
    return StepResult(replace_with=sent)


def _when_followed_up(turn: Turn, pair: Pair) -> str:
    """When the mentee will be asked how they acted on feedback given now, for the
    mentor who gave it."""
    return f"I'll ask them how they acted on it {_follow_up_when(turn, pair)}, and tell you."


def _follow_up_when(turn: Turn, pair: Pair) -> str:
    """When a follow-up set now asks, as it will happen: with the pair's next check-in
    when that comes first (and at least a day later, see :func:`follow_up_now`), else a
    week from now; told in the actor's zone."""
    in_a_week = turn.now + FOLLOW_UP_AFTER
    upcoming = pair.next_checkin_at
    with_checkin = (
        pair.state == PairState.ACTIVE
        and upcoming is not None
        and turn.now + CHECKIN_FOLLOW_UP_MIN_AGE <= upcoming < in_a_week
    )
    zone = turn.actor.timezone or pair.timezone
    # The moment's own parentheses hold its zone; the words around it use commas, not a
    # second pair ("(Fri 4 Dec, 10:00 (UTC))" read as a typo).
    if with_checkin and upcoming is not None:
        return f"at your next check-in, {local_view(upcoming, zone)}"
    return f"in a week, on {local_view(in_a_week, zone)}"


# --- the steps ---------------------------------------------------------------------------


async def _load(turn: Turn, flow: FlowSession) -> tuple[Feedback, Member, Member] | None:
    """The feedback item with its mentor and mentee."""
    feedback_id = flow.data.get("feedback_id")
    feedback = await turn.session.get(Feedback, int(feedback_id)) if feedback_id else None
    if feedback is None:
        return None
    mentor = await turn.session.get(Member, feedback.mentor_id)
    mentee = await turn.session.get(Member, feedback.mentee_id)
    if mentor is None or mentee is None:
        return None
    return feedback, mentor, mentee


async def _not_yours(turn: Turn, flow: FlowSession) -> StepResult:
    owner = await turn.session.get(Member, flow.member_id) if flow.member_id else None
    return not_for_you(owner) if owner else STALE


# A question closed because its pair ended (State.CLOSED is only ever that).
_PAIR_ENDED = StepResult(reply="That pair has ended, so this question is closed.")


async def close_for_ended_pair(turn: Turn, pair: Pair) -> None:
    """The pair ended: its questions still waiting for words (the mentor's answer, the
    mentee's "how did you act on it?") and follow-ups not yet asked close, so a later DM
    is not taken as an answer for someone who is no longer a partner. Its coaching
    questions stay: their buttons say the pair ended (``_send_anyway``)."""
    await turn.session.execute(
        update(FlowSession)
        .where(
            FlowSession.pair_id == pair.id,
            FlowSession.kind == FlowKind.FEEDBACK.value,
            FlowSession.ended_at.is_(None),
            FlowSession.state.in_(
                [State.AWAITING_ANSWER, State.FOLLOW_UP_PENDING, State.AWAITING_ACTION]
            ),
        )
        .values(**moved_values(turn, State.CLOSED), ended_at=turn.now, due_at=None)
        .execution_options(synchronize_session=False)
    )


async def step(turn: Turn, flow: FlowSession, choice: str) -> StepResult | list[Effect]:
    """A button: Send anyway / I'll rephrase, Answer in a form, Skip."""
    if flow.state == State.CLOSED:
        return _PAIR_ENDED
    if flow.ended_at is not None or CHOICES.get(choice) != flow.state:
        return STALE
    if flow.member_id != turn.actor.id:
        return await _not_yours(turn, flow)
    match choice:
        case "send":
            return await _send_anyway(turn, flow)
        case "rephrase":
            move(turn, flow, State.REPHRASING, end=True)
            return StepResult(
                replace_with="Okay: ask again with `/mentor feedback <your question>`, "
                "naming one thing and what you want to know about it."
            )
        case "answer":
            return [OpenForm(turn.actor_ref, _form(flow, "answer", "Your answer"))]
        case "act":
            return [OpenForm(turn.actor_ref, _form(flow, "action", "How you acted on it"))]
        case "is_answer" | "is_new":
            return await _sort(turn, flow, choice)
        case _:  # "skip"
            loaded = await _load(turn, flow)
            if loaded is None:
                return STALE
            feedback, _, _ = loaded
            feedback.acted_at = turn.now
            move(turn, flow, State.SKIPPED, end=True)
            return StepResult(replace_with="Skipped. I won't ask about this feedback again.")


def _form(flow: FlowSession, name: str, label: str) -> Form:
    field = FormField(
        name, label, FormFieldKind.LONG_TEXT, required=True, max_length=TEXT_MAX_CHARS
    )
    return Form(f"flow:{flow.id}:{name}", "Feedback", (field,), submit_label="Send")


async def _send_anyway(turn: Turn, flow: FlowSession) -> StepResult:
    pair = await turn.session.get(Pair, flow.pair_id) if flow.pair_id else None
    if pair is None or pair.state not in PARTNERED_PAIR_STATES:
        move(turn, flow, State.CLOSED, end=True)
        flow.data = {}  # not sent, and said so: the words are not kept either
        return StepResult(replace_with="That pair has ended, so I didn't send the question.")
    mentor = await turn.session.get(Member, pair.mentor_id)
    assert mentor is not None
    asked = await _asked_already(turn, pair, str(flow.data["question"])) or (
        await _rephrased_since(turn, pair, flow, mentor)
    )
    if asked is not None:
        move(turn, flow, State.REPHRASING, end=True)
        return StepResult(replace_with=asked)
    feedback = await _new_feedback(turn, pair, question=str(flow.data["question"]))
    flow.data = {"feedback_id": feedback.id}
    flow.member_id = mentor.id
    move(turn, flow, State.AWAITING_ANSWER)
    _ask_mentor(turn, flow, feedback, mentor=mentor, mentee=turn.actor)
    return StepResult(replace_with=_sent_note(mentor))


async def on_text(turn: Turn, flow: FlowSession, text: str) -> StepResult:
    """A DM reply: the mentor's answer, or how the mentee acted on it (a typed "skip"
    skips that, as its [Skip] does; a mentor's answer has no skip)."""
    if not accepts_text(flow) or flow.member_id != turn.actor.id:
        return STALE
    if is_skip(text) and flow.state == State.AWAITING_ACTION:
        skipped = await step(turn, flow, "skip")
        assert isinstance(skipped, StepResult), "a skip opens no form"
        return StepResult(reply=skipped.replace_with or skipped.reply)
    if is_skip(text):  # the mentor's answer: "skip" would reach the mentee as one
        loaded = await _load(turn, flow)
        if loaded is None:
            return STALE
        return StepResult(
            reply=f"There is no skipping {_m(loaded[2])}'s question, so I didn't send "
            f"“{text}” as your answer. If you'd rather not answer it, tell them so in your "
            "own words."
        )
    return await _record(turn, flow, text)


async def on_form(turn: Turn, flow: FlowSession, values: dict[str, str]) -> StepResult:
    name = FORM_FIELDS.get(State(flow.state)) if flow.ended_at is None else None
    if name is None or name not in values:
        # The form of a step already done (answered by a reply meanwhile).
        return StepResult(
            reply="That question was answered already, so what you wrote in this form was "
            "not saved." + given_back(list(values.values()))
        )
    if flow.member_id != turn.actor.id:
        return await _not_yours(turn, flow)
    return await _record(turn, flow, values[name])


async def _record(turn: Turn, flow: FlowSession, raw: str) -> StepResult:
    loaded = await _load(turn, flow)
    if loaded is None:
        return STALE
    feedback, mentor, mentee = loaded
    if flow.state == State.AWAITING_ANSWER:
        pair = await turn.session.get(Pair, feedback.pair_id)
        assert pair is not None
        return _answered(turn, flow, pair, feedback, mentor, mentee, clean_answer(raw))
    action = clean_answer(raw, "note")
    if not is_not_yet(action):
        return _acted(turn, flow, feedback, mentor, mentee, action)
    # Nothing acted on so far: asked again later, and the mentor told nothing yet.
    pair = await turn.session.get(Pair, feedback.pair_id)
    assert pair is not None
    flow.due_at = turn.now + FOLLOW_UP_AFTER
    move(turn, flow, State.FOLLOW_UP_PENDING)
    return StepResult(
        reply=f"No rush: I didn't pass “{action}” on to {_m(mentor)}. I'll ask you again "
        f"{_follow_up_when(turn, pair)}."
    )


def _answered(
    turn: Turn,
    flow: FlowSession,
    pair: Pair,
    feedback: Feedback,
    mentor: Member,
    mentee: Member,
    answer: str,
) -> StepResult:
    assert feedback.question is not None
    feedback.answer = answer
    feedback.answered_at = turn.now
    turn.dm(
        mentee,
        Content(f"💬 {_m(mentor)} answered your question {_quote(feedback.question)}:\n{answer}"),
    )
    flow.member_id = mentee.id
    flow.due_at = turn.now + FOLLOW_UP_AFTER
    move(turn, flow, State.FOLLOW_UP_PENDING)
    # Named by its question: a typed reply answers the question asked last, and someone
    # with two waiting sees which one this was.
    quoted = _quote(feedback.question)
    stop = "" if quoted[-2] in "?!." else "."  # “…team?” needs no full stop after it
    sent = f"Thanks! I've sent {_m(mentee)} your answer to {quoted}{stop}"
    return StepResult(reply=f"{sent} {_when_followed_up(turn, pair)}")


def _acted(
    turn: Turn,
    flow: FlowSession,
    feedback: Feedback,
    mentor: Member,
    mentee: Member,
    action: str,
) -> StepResult:
    feedback.action = action
    feedback.acted_at = turn.now
    about = feedback.question if feedback.question is not None else feedback.answer or ""
    turn.dm(
        mentor,
        Content(f"🌱 {_m(mentee)} acted on your feedback about {_quote(about)}:\n{action}"),
    )
    move(turn, flow, State.ACTED, end=True)
    return StepResult(reply=f"Thanks! I've shared that with {_m(mentor)}.")


# --- the follow-up timer -------------------------------------------------------------------


async def on_due(turn: Turn, flow: FlowSession) -> None:
    """The follow-up is due: ask the mentee how they acted on the feedback."""
    flow.due_at = None  # a timer fires once
    if flow.ended_at is not None or flow.state != State.FOLLOW_UP_PENDING:
        return
    loaded = await _load(turn, flow)
    pair = await turn.session.get(Pair, flow.pair_id) if flow.pair_id else None
    if loaded is None or pair is None or pair.state not in PARTNERED_PAIR_STATES:
        move(turn, flow, State.CLOSED, end=True)
        return
    feedback, mentor, mentee = loaded
    if feedback.question is not None:
        recap = (
            f"🔁 You asked {_m(mentor)}: {_quote(feedback.question)}\n"
            f"They answered: {_quote(feedback.answer or '')}"
        )
    else:
        recap = f"🔁 {_m(mentor)} gave you feedback: {_quote(feedback.answer or '')}"
    # Asked in a session of its own: a check-in opened in the same pass is older, so a DM
    # reply goes to this question, the one the mentee saw last.
    move(turn, flow, State.FOLLOWED_UP, end=True)
    asking = await start_flow(
        turn,
        FlowKind.FEEDBACK,
        State.AWAITING_ACTION,
        member=mentee,
        pair=pair,
        data={"feedback_id": feedback.id},
    )
    at = outside_quiet_hours(turn.now, mentee.timezone or pair.timezone)
    asking.updated_at = max(turn.now, at)  # when the question reaches them
    text = (
        f"{recap}\nHow did you act on {_m(mentor)}'s feedback? Reply here, answer in a "
        f"form, or skip. I'll pass your answer on to {_m(mentor)}."
    )
    joining = await _queued_at_this_moment(turn, mentee, max(turn.now, at))
    if joining is not None and _SKIP_FOLLOW_UP in str(joining.content):
        joining = None  # one follow-up per prompt: their buttons must be told apart
    if joining is not None and not await _prompts_pair(turn, joining, pair.id):
        # A mentee in several pairs: the newest prompt is another pair's check-in. The
        # follow-up comes on its own, last, naming the mentor, so a reply answers it.
        joining = None
    if joining is not None:
        # Asked because the check-in opened: one message with its prompt (this question
        # last, so a reply answers it), its buttons named apart from the check-in's.
        follow_up = Content(
            text,
            buttons=(
                flow_button(asking, "act", "Answer the follow-up in a form"),
                flow_button(asking, "skip", _SKIP_FOLLOW_UP),
            ),
        )
        joining.content = join_contents(Content.from_json(joining.content), follow_up).to_json()
        return
    turn.dm(
        mentee,
        Content(
            text,
            buttons=(
                flow_button(asking, "act", "Answer in a form", ButtonStyle.PRIMARY),
                flow_button(asking, "skip", "Skip"),
            ),
        ),
        at=at,
    )


async def _queued_at_this_moment(
    turn: Turn, member: Member, send_at: datetime
) -> OutboxMessage | None:
    """A DM to ``member`` queued by this dispatch pass (at ``turn.now``) for the same
    moment and not sent yet, such as the prompt of the check-in whose opening made this
    follow-up due. Locked, so delivery cannot take it while it is joined."""
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING.value,
            OutboxMessage.next_attempt_at == send_at,
            OutboxMessage.workspace_id == turn.workspace.id,
            OutboxMessage.target_kind == OutboxTarget.DM.value,
            OutboxMessage.target_id == member.external_id,
            OutboxMessage.created_at == turn.now,
        )
        .order_by(OutboxMessage.id.desc())
        .limit(1)
        .with_for_update()
    )
    return (await turn.session.execute(query)).scalar_one_or_none()


async def _prompts_pair(turn: Turn, message: OutboxMessage, pair_id: int) -> bool:
    """Whether ``message`` is a question of ``pair_id``'s check-in: its buttons carry
    the check-in conversation's id (the first flow button tells)."""
    for button in Content.from_json(message.content).buttons:
        action = FlowAction.parse(button.action_id)
        if action is not None:
            flow = await turn.session.get(FlowSession, action.session_id)
            return flow is not None and flow.kind == FlowKind.CHECKIN and flow.pair_id == pair_id
    return False


async def follow_up_now(session: AsyncSession, now: datetime, pair_ids: Iterable[int]) -> None:
    """These pairs' check-ins opened: follow-ups waiting for their 7 days are due now
    (one statement for a whole dispatch batch)."""
    ids = list(pair_ids)
    if not ids:
        return
    await session.execute(
        update(FlowSession)
        .where(
            one_of(dialect_of(session), FlowSession.pair_id, ids),
            FlowSession.kind == FlowKind.FEEDBACK.value,
            FlowSession.state == State.FOLLOW_UP_PENDING.value,
            FlowSession.ended_at.is_(None),
            FlowSession.due_at > now,
            FlowSession.due_at <= now + FOLLOW_UP_AFTER - CHECKIN_FOLLOW_UP_MIN_AGE,
        )
        .values(due_at=now)
        .execution_options(synchronize_session=False)
    )


# --- the list ------------------------------------------------------------------------------


async def list_(turn: Turn, page: int = 1) -> list[Effect]:
    return [ReplyEphemeral(turn.actor_ref, await list_page(turn, page))]


async def list_page(turn: Turn, page: int) -> Content:
    """The actor's feedback, as mentee or mentor, newest first, ``LIST_LIMIT`` a page
    (open items first on each page); [Newer] and [Older] turn the pages, as in the
    journal."""
    total = int(
        await turn.session.scalar(
            select(func.count()).select_from(Feedback).where(own_feedback(turn))
        )
        or 0
    )
    if not total:
        return Content(
            "No feedback yet. Mentees: ask your mentor a specific question with "
            "`/mentor feedback <question>`. Mentors: give feedback the same way."
        )
    pages = -(-total // LIST_LIMIT)
    if page > pages:
        has = how_many(pages, "page", "pages")
        return Content(
            f"Your feedback fills {has}; there is no page {page}. `/mentor feedback list` "
            "shows the newest."
        )
    mentor, mentee = aliased(Member), aliased(Member)
    query = (
        select(Feedback, mentor, mentee, Pair.state)
        .join(mentor, Feedback.mentor_id == mentor.id)
        .join(mentee, Feedback.mentee_id == mentee.id)
        .join(Pair, Feedback.pair_id == Pair.id)
        .where(own_feedback(turn))
        .order_by(Feedback.asked_at.desc(), Feedback.id.desc())
        .offset((page - 1) * LIST_LIMIT)
        .limit(LIST_LIMIT)
    )
    shown = [(f, a, b, state) for f, a, b, state in (await turn.session.execute(query)).all()]
    # An item its pair's end left unfinished waits for nobody: no answer or follow-up
    # comes any more (the pair's conversations closed with it).
    done_items = [r for r in shown if r[0].acted_at is not None]
    ended = [r for r in shown if r[0].acted_at is None and r[3] == PairState.ENDED]
    open_items = [r for r in shown if r[0].acted_at is None and r[3] != PairState.ENDED]
    lines = [
        "Your feedback, newest first."
        if pages == 1
        else f"Your feedback, newest first (page {page} of {pages}, {total} in all):"
    ]
    sections = (
        ("Open:", open_items, False),
        ("Answered:", done_items, False),
        ("Closed when the pair ended:", ended, True),
    )
    for title, items, closed in sections:
        if items:
            lines.append(title)
            for feedback, mentor_row, mentee_row, _state in items:
                lines += _describe(turn.actor, feedback, mentor_row, mentee_row, closed=closed)
    return Content("\n".join(lines), buttons=page_buttons(LIST_ACTION, page, pages))


def _describe(
    me: Member, feedback: Feedback, mentor: Member, mentee: Member, *, closed: bool = False
) -> list[str]:
    """``closed``: its pair ended before it was done, so nothing more comes of it."""
    i_mentor = me.id == mentor.id

    def cut(text: str) -> str:
        return shorten(text, LIST_TEXT_CHARS)

    day = f"{feedback.asked_at:%Y-%m-%d}"
    if feedback.question is not None:
        who = f"{_m(mentee)} asked you" if i_mentor else f"you asked {_m(mentor)}"
        answer = "(not answered before the pair ended)" if closed else "(waiting for an answer)"
        # An empty question or answer: its author used forget (bot/privacy.py).
        question = f"“{cut(feedback.question)}”" if feedback.question else FORGOTTEN_WORDS
        if feedback.answer:
            answer = cut(feedback.answer)
        elif feedback.answered_at is not None:
            answer = FORGOTTEN_WORDS
        lines = [f"• {day} {who}: {question}", f"   answer: {answer}"]
    else:
        who = f"you gave {_m(mentee)} feedback" if i_mentor else f"{_m(mentor)} gave you feedback"
        given = f"“{cut(feedback.answer)}”" if feedback.answer else FORGOTTEN_WORDS
        lines = [f"• {day} {who}: {given}"]
    if feedback.answered_at is None:
        return lines  # a question not answered: nothing to act on yet
    if feedback.action:
        action = cut(feedback.action)
    elif feedback.acted_at is not None:
        action = FORGOTTEN_WORDS if mentee.external_id == FORGOTTEN_MEMBER_ID else "(skipped)"
    elif closed:
        action = "(not asked: the pair ended)"
    else:
        action = "(not yet)"
    return [*lines, f"   acted on it: {action}"]
