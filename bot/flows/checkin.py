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

from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.cadence import local_view, outside_quiet_hours
from bot.content import ButtonStyle, Content, Field, Form, FormField, FormFieldKind
from bot.effects import Effect, OpenForm
from bot.flows.sessions import (
    BUTTON_LABEL_CHARS,
    STALE,
    FlowKind,
    StepResult,
    flow_button,
    move,
    not_for_you,
    partner_name,
    start_flow,
)
from bot.milestones import reach_automatic
from bot.storage.models import (
    Checkin,
    CheckinAnswer,
    CheckinState,
    FlowSession,
    Member,
    Pair,
    Win,
)
from bot.text import shorten
from bot.turn import Turn

ANSWER_WINDOW = timedelta(hours=48)
NUDGE_AFTER = timedelta(hours=24)
STREAK_MILESTONES = (4, 12, 26)
MOODS = {"great": "Great 🙌", "ok": "OK 🙂", "rough": "Rough 😮‍💨"}
WINS_IN_PROMPT = 5


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


async def open_checkin(
    turn: Turn,
    pair: Pair,
    mentor: Member,
    mentee: Member,
    due_at: datetime,
    *,
    asked_by: Member | None = None,
    spread: timedelta = timedelta(0),
) -> Checkin | None:
    """Open the check-in due at ``due_at`` and prompt both members; None if that
    occurrence was opened before (the unique key makes a second call do nothing)."""
    checkin = Checkin(
        workspace_id=turn.workspace.id,
        pair_id=pair.id,
        due_at=due_at,
        state=CheckinState.OPEN.value,
        opened_at=turn.now,
        closes_at=turn.now + ANSWER_WINDOW,
    )
    try:
        async with turn.session.begin_nested():
            turn.session.add(checkin)
    except IntegrityError:
        return None
    previous = await _previous_opened_at(turn, pair, checkin)
    since = previous or pair.activated_at or pair.created_at
    for me, partner in ((mentor, mentee), (mentee, mentor)):
        turn.session.add(
            CheckinAnswer(workspace_id=turn.workspace.id, checkin_id=checkin.id, member_id=me.id)
        )
        # The person who asked for it now gets it now; everyone else not at night, and
        # a big workspace's prompts for the same minute go out over a short window.
        zone = me.timezone or pair.timezone
        planned = max(turn.now, due_at + spread_offset(pair.id, spread))
        send_at = turn.now if me is asked_by else outside_quiet_hours(planned, zone)
        flow = await start_flow(
            turn,
            FlowKind.CHECKIN,
            State.MOOD,
            member=me,
            pair=pair,
            data={"checkin_id": checkin.id},
        )
        flow.due_at = send_at + NUDGE_AFTER
        wins = await _wins_since(turn, me, since)
        turn.dm(me, _prompt(flow, partner, wins), at=send_at)
    return checkin


def spread_offset(pair_id: int, window: timedelta) -> timedelta:
    """A fixed point in ``window`` for this pair (Knuth's multiplicative hash): the same
    pair always lands at the same offset, and pairs spread evenly across it."""
    fraction = (pair_id * 2654435761 % 2**32) / 2**32
    return timedelta(seconds=int(fraction * window.total_seconds()))


async def has_open(turn: Turn, pair: Pair) -> bool:
    query = select(Checkin.id).where(
        Checkin.pair_id == pair.id, Checkin.state == CheckinState.OPEN.value
    )
    return (await turn.session.execute(query.limit(1))).first() is not None


async def cancel_open(turn: Turn, pair: Pair) -> None:
    """The pair ended: its open check-in is closed, with no nudge and nothing shared."""
    query = select(Checkin).where(
        Checkin.pair_id == pair.id, Checkin.state == CheckinState.OPEN.value
    )
    for open_one in (await turn.session.execute(query)).scalars():
        open_one.state = CheckinState.CANCELED.value
        open_one.closes_at = None
        await _expire_open_sessions(turn, open_one)


async def record_unsent(
    turn: Turn, pair: Pair, due_at: datetime, state: CheckinState = CheckinState.MISSED
) -> None:
    """An occurrence that is not sent: it fell due while the bot was down for longer than
    it makes sense to send it late (missed), or while another was still open (skipped)."""
    missed = Checkin(
        workspace_id=turn.workspace.id,
        pair_id=pair.id,
        due_at=due_at,
        state=state.value,
        opened_at=turn.now,
    )
    try:
        async with turn.session.begin_nested():
            turn.session.add(missed)
    except IntegrityError:
        pass


async def _previous_opened_at(turn: Turn, pair: Pair, current: Checkin) -> datetime | None:
    query = (
        select(Checkin.opened_at)
        .where(Checkin.pair_id == pair.id, Checkin.id != current.id)
        .where(Checkin.state != CheckinState.MISSED.value)
        .order_by(Checkin.opened_at.desc())
        .limit(1)
    )
    return (await turn.session.execute(query)).scalar_one_or_none()


async def _wins_since(turn: Turn, member: Member, since: datetime) -> list[str]:
    query = (
        select(Win.text)
        .where(Win.member_id == member.id, Win.created_at >= since)
        .order_by(Win.created_at.desc(), Win.id.desc())
        .limit(WINS_IN_PROMPT + 1)
    )
    return list((await turn.session.execute(query)).scalars())


def _prompt(flow: FlowSession, partner: Member, wins: list[str]) -> Content:
    lines = [f"👋 Time for your check-in with <@{partner.external_id}>."]
    if wins:
        lines.append("Your wins since last time:")
        lines += [f"• {shorten(text, 200)}" for text in wins[:WINS_IN_PROMPT]]
        if len(wins) > WINS_IN_PROMPT:
            lines.append("• … and more in `/mentor journal`")
    lines.append(QUESTIONS[State.MOOD][0])
    lines.append("(Reply here, answer in a form, or skip any question.)")
    buttons = tuple(flow_button(flow, f"mood:{k}", v) for k, v in MOODS.items())
    buttons += (
        flow_button(flow, "form", "Answer in a form", ButtonStyle.PRIMARY),
        flow_button(flow, f"skip:{State.MOOD}", "Skip"),
    )
    return Content("\n".join(lines), buttons=buttons)


async def _load(turn: Turn, flow: FlowSession) -> tuple[Checkin, CheckinAnswer] | None:
    checkin = await turn.session.get(Checkin, int(flow.data["checkin_id"]))
    if checkin is None:
        return None
    answer = (
        await turn.session.execute(
            select(CheckinAnswer).where(
                CheckinAnswer.checkin_id == checkin.id,
                CheckinAnswer.member_id == flow.member_id,
            )
        )
    ).scalar_one_or_none()
    return (checkin, answer) if answer is not None else None


def _closed_note(checkin: Checkin) -> StepResult:
    return StepResult(
        reply="That check-in has closed (answers are shared after 48 hours), so I didn't "
        "save this. Your next check-in will come on your pair's usual rhythm."
    )


async def step(turn: Turn, flow: FlowSession, choice: str) -> StepResult | list[Effect]:
    """A button on a check-in prompt or question."""
    if flow.member_id != turn.actor.id:
        owner = await turn.session.get(Member, flow.member_id)
        return not_for_you(owner) if owner else STALE
    loaded = await _load(turn, flow)
    if loaded is None:
        return STALE
    checkin, answer = loaded
    if flow.ended_at is not None:
        return _closed_note(checkin) if flow.state == State.EXPIRED else STALE
    if choice.startswith("mood:") and choice[5:] in MOODS:
        answer.mood = choice[5:]
        if flow.state == State.MOOD:
            await _advance(turn, flow, checkin, answer)
        return StepResult(replace_with=f"{QUESTIONS[State.MOOD][0]} {MOODS[answer.mood]}")
    if choice.startswith("skip:"):
        if choice[5:] != flow.state:
            return StepResult(reply="You're already past that question.")
        skipped = QUESTIONS[State(flow.state)][0]
        await _advance(turn, flow, checkin, answer)
        return StepResult(replace_with=f"{skipped} (skipped)")
    if choice == "form":
        fields = tuple(
            FormField(
                name,
                QUESTIONS[state][0],
                FormFieldKind.SHORT_TEXT if name == "mood" else FormFieldKind.LONG_TEXT,
                placeholder="great, ok, rough, or your own words" if name == "mood" else None,
            )
            for state, (_, name) in QUESTIONS.items()
        )
        form = Form(f"flow:{flow.id}:answers", "Your check-in", fields, submit_label="Share")
        return [OpenForm(turn.actor_ref, form)]
    return STALE


async def on_text(turn: Turn, flow: FlowSession, text: str) -> StepResult:
    """A DM reply: the answer to the question asked last."""
    loaded = await _load(turn, flow)
    if loaded is None:
        return STALE
    checkin, answer = loaded
    _, field = QUESTIONS[State(flow.state)]
    if field == "mood":
        word = text.strip().lower().rstrip("!.")
        answer.mood = word if word in MOODS else text
    else:
        setattr(answer, field, text)
    return await _advance(turn, flow, checkin, answer)


async def on_form(turn: Turn, flow: FlowSession, values: dict[str, str]) -> StepResult:
    if flow.member_id != turn.actor.id or flow.ended_at is not None:
        return STALE
    loaded = await _load(turn, flow)
    if loaded is None:
        return STALE
    checkin, answer = loaded
    for name in FORM_FIELDS:
        value = values.get(name, "").strip()
        if name == "mood" and value.lower().rstrip("!.") in MOODS:
            value = value.lower().rstrip("!.")
        if value:
            setattr(answer, name, value)
    move(turn, flow, State.NEXT_TOPIC)
    return await _advance(turn, flow, checkin, answer)


async def _advance(
    turn: Turn, flow: FlowSession, checkin: Checkin, answer: CheckinAnswer
) -> StepResult:
    following = ORDER[ORDER.index(State(flow.state)) + 1]
    if following != State.DONE:
        move(turn, flow, following)
        question, _ = QUESTIONS[following]
        skip = flow_button(flow, f"skip:{following}", "Skip")
        turn.dm(turn.actor, Content(question, buttons=(skip,)))
        return StepResult()
    move(turn, flow, State.DONE, end=True)
    flow.due_at = None
    answer.answered_at = turn.now
    if await _both_answered(turn, checkin):
        await share(turn, checkin)
        return StepResult(reply="Thanks! You've both answered; I've shared your answers.")
    closes = checkin.closes_at or turn.now
    zone = turn.actor.timezone or "UTC"
    return StepResult(
        reply="Thanks! I'll share your answers with your partner once they've answered, "
        f"or on {local_view(closes, zone)} at the latest."
    )


async def _answers(turn: Turn, checkin: Checkin) -> list[CheckinAnswer]:
    query = select(CheckinAnswer).where(CheckinAnswer.checkin_id == checkin.id)
    return list((await turn.session.execute(query)).scalars())


async def _both_answered(turn: Turn, checkin: Checkin) -> bool:
    answers = await _answers(turn, checkin)
    return len(answers) == 2 and all(a.answered_at is not None for a in answers)


async def share(turn: Turn, checkin: Checkin) -> None:
    """Each member sees the other's answers; the window closes; the streak moves."""
    if checkin.state != CheckinState.OPEN:
        return
    pair = await turn.session.get(Pair, checkin.pair_id)
    assert pair is not None
    answers = await _answers(turn, checkin)
    members = {m.id: m for m in await _members(turn, [a.member_id for a in answers])}
    for mine in answers:
        for theirs in answers:
            if theirs.member_id != mine.member_id:
                turn.dm(members[mine.member_id], _shared(members[theirs.member_id], theirs))
    both = len(answers) == 2 and all(a.answered_at is not None for a in answers)
    checkin.state = CheckinState.SHARED.value
    checkin.shared_at = turn.now
    checkin.closes_at = None
    await _expire_open_sessions(turn, checkin)
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


async def _members(turn: Turn, ids: list[int]) -> list[Member]:
    return list((await turn.session.execute(select(Member).where(Member.id.in_(ids)))).scalars())


def _shared(author: Member, answer: CheckinAnswer) -> Content:
    who = f"<@{author.external_id}>"
    if answer.answered_at is None and not any(
        (answer.mood, answer.progress, answer.challenge, answer.next_topic)
    ):
        return Content(f"{who} didn't answer this check-in. Maybe say hello?")
    fields = []
    if answer.mood:
        fields.append(Field(LABELS["mood"], MOODS.get(answer.mood, answer.mood)))
    for name in ("progress", "challenge", "next_topic"):
        value = getattr(answer, name)
        fields.append(Field(LABELS[name], value if value else "(skipped)"))
    return Content(f"📋 {who}'s check-in answers:", fields=tuple(fields))


async def _expire_open_sessions(turn: Turn, checkin: Checkin) -> None:
    query = select(FlowSession).where(
        FlowSession.pair_id == checkin.pair_id,
        FlowSession.kind == FlowKind.CHECKIN.value,
        FlowSession.ended_at.is_(None),
    )
    for flow in (await turn.session.execute(query)).scalars():
        if flow.data.get("checkin_id") == checkin.id:
            move(turn, flow, State.EXPIRED, end=True)
            flow.due_at = None


async def nudge(turn: Turn, flow: FlowSession) -> None:
    """The flow's timer: one friendly nudge, never more."""
    flow.due_at = None
    if flow.ended_at is not None:
        return
    pair = await turn.session.get(Pair, flow.pair_id) if flow.pair_id else None
    member = await turn.session.get(Member, flow.member_id) if flow.member_id else None
    if pair is None or member is None:
        return
    partner_id = pair.mentee_id if pair.mentor_id == member.id else pair.mentor_id
    partner = await turn.session.get(Member, partner_id)
    who = f"<@{partner.external_id}>" if partner else "your partner"
    question, _ = QUESTIONS[State(flow.state)]
    turn.dm(
        member,
        Content(
            f"A gentle nudge: your check-in with {who} is still open for another day. {question}",
            buttons=(
                flow_button(flow, "form", "Answer in a form", ButtonStyle.PRIMARY),
                flow_button(flow, f"skip:{flow.state}", "Skip"),
            ),
        ),
        at=outside_quiet_hours(turn.now, member.timezone or pair.timezone),
    )


async def close_due(turn: Turn, checkin: Checkin) -> None:
    """The 48-hour window ended: share what there is."""
    await share(turn, checkin)
