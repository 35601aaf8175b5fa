"""Reviews: a short look back (what went well, what could be improved) after a goal
milestone is completed, when a pair ends, or whenever someone asks with
``/mentor review``. Each member answers for themselves; the answers go to the partner and
are kept.

```mermaid
stateDiagram-v2
    [*] --> went_well: a goal milestone done, the pair ended, or /mentor review
    went_well --> could_improve: a reply or Skip
    could_improve --> done: a reply or Skip (the answers go to the partner)
    went_well --> done: Answer in a form (both at once)
    done --> [*]
```
After a milestone or a pair's end both members get a prompt; ``/mentor review`` asks
only the person who typed it. A look back with everything skipped is kept (answered,
both answers empty) and nothing is sent to the partner.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import aliased

from bot.cadence import outside_quiet_hours
from bot.commands import StartReview
from bot.content import ButtonStyle, Content, Form, FormField, FormFieldKind
from bot.effects import Effect, OpenForm
from bot.errors import UserError
from bot.flows.sessions import (
    BUTTON_LABEL_CHARS,
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
    named_partner,
    newest_open_in_pair,
    next_question,
    not_for_you,
    partner_name,
    read_form,
    remember_shown,
    start_flow,
    still_open,
    whose,
    with_note,
)
from bot.pairs import other_member_id, other_member_in_sql, pick_pair
from bot.partners import in_several_pairs
from bot.storage.models import (
    FlowSession,
    Member,
    Milestone,
    MilestoneKind,
    Pair,
    PairState,
    Review,
)
from bot.text import TEXT_MAX_CHARS, bold, clean_answer, is_skip, shorten
from bot.turn import Turn


class State(StrEnum):
    WENT_WELL = "went_well"
    COULD_IMPROVE = "could_improve"
    DONE = "done"


class Occasion(StrEnum):
    MILESTONE = "milestone"
    PAIR_END = "pair_end"
    ASKED = "asked"


# The question asked in each state, and the field of ``Review`` it fills.
QUESTIONS = {
    State.WENT_WELL: ("What went well?", "went_well"),
    State.COULD_IMPROVE: ("What could be improved?", "could_improve"),
}
ORDER = [State.WENT_WELL, State.COULD_IMPROVE, State.DONE]
TITLE_CHARS = 100


async def waiting_for(turn: Turn, flow: FlowSession) -> str:
    label = f"Look back with {await partner_name(turn, flow)}: {QUESTIONS[State(flow.state)][0]}"
    return shorten(label, BUTTON_LABEL_CHARS)


async def still_waiting(turn: Turn, flow: FlowSession) -> str:
    return await still_open(turn, flow, "look back", QUESTIONS[State(flow.state)][0])


def accepts_text(flow: FlowSession) -> bool:
    return flow.ended_at is None and flow.state in QUESTIONS


# --- starting ----------------------------------------------------------------------------


async def start_for_milestone(turn: Turn, milestone: Milestone, pair: Pair) -> None:
    """Both members look back at a completed goal milestone."""
    if milestone.kind != MilestoneKind.GOAL:
        return
    await _start_for_both(turn, pair, Occasion.MILESTONE, milestone)


async def start_for_pair_end(turn: Turn, pair: Pair) -> None:
    """Both members look back at a pair that has just ended (one that was ever active)."""
    if pair.activated_at is None:
        return  # a withdrawn proposal: there is nothing to look back at
    await _start_for_both(turn, pair, Occasion.PAIR_END, None)


async def start(turn: Turn, command: StartReview) -> list[Effect]:
    try:
        view = await pick_pair(turn, command.partner_id)
    except UserError:
        # No pair to look back at now: but the look back at a pair that has ended (asked
        # of both when it ended) may still wait for this person's answers.
        left = await open_after_end(turn, command.partner_id)
        if left is None:
            raise
        flow, partner = left
        return _ask_again(
            turn, flow, f"Your pair with <@{partner}> has ended, and your look back at it is open"
        )
    open_flow = await newest_open_in_pair(turn, turn.actor, view.pair, FlowKind.REVIEW)
    if open_flow is not None:
        return _ask_again(turn, open_flow, "You have a look back open already")
    several = await in_several_pairs(turn.session, [turn.actor.id])
    await _start_one(turn, view.pair, turn.actor, view.partner, Occasion.ASKED, None, several)
    return turn.reply(
        f"I've sent you a short look back in DMs. Your answers go to {view.partner_mention}."
    )


def _ask_again(turn: Turn, flow: FlowSession, why: str) -> list[Effect]:
    """An open look back's question, sent again (``/mentor review`` while it waits)."""
    state = State(flow.state)
    flow.updated_at = turn.now  # asked again: now the question asked last
    turn.dm(turn.actor, _question(flow, state, intro="Your look back is still open."))
    return turn.reply(f"{why}; I've sent you its question again in DMs: {QUESTIONS[state][0]}")


async def open_after_end(turn: Turn, partner_id: str | None) -> tuple[FlowSession, str] | None:
    """The actor's newest open look back at a pair that has ended (with ``partner_id``,
    when named), and that partner's platform id: one query."""
    partner = aliased(Member)
    query = (
        select(FlowSession, partner.external_id)
        .join(Pair, Pair.id == FlowSession.pair_id)
        .join(
            partner,
            partner.id == other_member_in_sql(Pair.mentor_id, Pair.mentee_id, turn.actor.id),
        )
        .where(
            FlowSession.member_id == turn.actor.id,
            FlowSession.kind == FlowKind.REVIEW.value,
            FlowSession.ended_at.is_(None),
            Pair.state == PairState.ENDED.value,
        )
        .order_by(FlowSession.updated_at.desc(), FlowSession.id.desc())
        .limit(1)
    )
    if partner_id is not None:
        query = query.where(partner.external_id == partner_id)
    row = (await turn.session.execute(query)).first()
    return (row[0], row[1]) if row is not None else None


async def _start_for_both(
    turn: Turn, pair: Pair, occasion: Occasion, milestone: Milestone | None
) -> None:
    mentor = await turn.session.get(Member, pair.mentor_id)
    mentee = await turn.session.get(Member, pair.mentee_id)
    assert mentor is not None and mentee is not None
    several = await in_several_pairs(turn.session, [mentor.id, mentee.id])
    for me, partner in ((mentor, mentee), (mentee, mentor)):
        found = await _open_look_back(turn, me, pair) if occasion == Occasion.PAIR_END else None
        if found is not None and found[1].occasion == Occasion.ASKED.value:
            # Their `/mentor review` at this pair is open: it becomes this look back (a
            # second one beside it would split their replies between the two).
            asked, review = found
            review.occasion = Occasion.PAIR_END.value
            who = f"<@{partner.external_id}>"
            intro = (
                f"Time for a short look back at your pair with {who}: the one you started is "
                "still open."
            )
            _send(turn, asked, pair, me, State(asked.state), intro + _shared(who))
            continue
        await _start_one(turn, pair, me, partner, occasion, milestone, several)


async def _open_look_back(turn: Turn, me: Member, pair: Pair) -> tuple[FlowSession, Review] | None:
    """``me``'s newest open look back at ``pair``, with its answers."""
    flow = await newest_open_in_pair(turn, me, pair, FlowKind.REVIEW)
    review = await _load(turn, flow) if flow is not None else None
    return (flow, review) if flow is not None and review is not None else None


def _shared(who: str) -> str:
    """Said as a look back begins: whom its answers go to."""
    return f" I'll share your answers with {who}; skip anything you like."


async def _start_one(
    turn: Turn,
    pair: Pair,
    me: Member,
    partner: Member,
    occasion: Occasion,
    milestone: Milestone | None,
    several: set[int],
) -> None:
    """``me``'s look back at their pair with ``partner``; its questions name the partner
    when ``me`` is in ``several`` pairs (``in_several_pairs``)."""
    review = Review(
        workspace_id=turn.workspace.id,
        pair_id=pair.id,
        member_id=me.id,
        milestone_id=milestone.id if milestone else None,
        occasion=occasion.value,
        created_at=turn.now,
    )
    turn.session.add(review)
    await turn.session.flush()  # its id goes into the flow session
    data: dict[str, Any] = {"review_id": review.id}
    if me.id in several:
        data[NAMED_PARTNER] = partner.external_id
    flow = await start_flow(turn, FlowKind.REVIEW, State.WENT_WELL, member=me, pair=pair, data=data)
    who = f"<@{partner.external_id}>"
    # The news itself (the celebration, the pair's end) is told in the same message, by
    # whoever queued it first: the look back only adds its own question.
    match occasion:
        case Occasion.MILESTONE:
            assert milestone is not None
            intro = f"Time for a short look back at milestone {_milestone_name(milestone)}."
        case Occasion.PAIR_END:
            intro = f"Time for a short look back at your pair with {who}."
        case Occasion.ASKED:
            intro = f"A short look back at your mentoring with {who}."
    intro += _shared(who)
    _send(turn, flow, pair, me, State.WENT_WELL, intro)


def _send(turn: Turn, flow: FlowSession, pair: Pair, me: Member, state: State, intro: str) -> None:
    """A look back's question to ``me``, with the news that brought it (``intro``)."""
    # Whoever acted is awake; the partner is not woken at night.
    zone = me.timezone or pair.timezone
    at = None if me.id == turn.actor.id else outside_quiet_hours(turn.now, zone)
    flow.updated_at = max(turn.now, at or turn.now)  # when the question reaches them
    turn.dm(me, _question(flow, state, intro=intro), at=at)


async def closed_by_forget_note(turn: Turn, pair: Pair, member: Member) -> str:
    """Told to ``member`` beside "your pair ended" when their partner used forget: their
    open look back at the pair closes unshared (bot/privacy.py); "" when none is open."""
    found = await _open_look_back(turn, member, pair)
    if found is None:
        return ""
    _, review = found
    wrote = bool(review.went_well or review.could_improve)
    kept = " What you wrote in it stays yours: `/mentor export` includes it." if wrote else ""
    return f"\nYour open look back at the pair closed with it, unshared.{kept}"


def _milestone_name(milestone: Milestone) -> str:
    return f"#{milestone.number} {bold(shorten(milestone.title, TITLE_CHARS))}"


def _question(flow: FlowSession, state: State, *, intro: str | None = None) -> Content:
    question, _ = QUESTIONS[state]
    # (The intro names the partner, when there is one.)
    text = (
        f"{intro}\n{question}" if intro else whose("Look back", named_partner(flow.data), question)
    )
    if state == State.WENT_WELL:
        text += "\n(Reply here, answer in a form, or skip.)"
    return Content(
        text,
        buttons=(
            flow_button(flow, "form", "Answer in a form", ButtonStyle.PRIMARY),
            flow_button(flow, f"skip:{state}", "Skip"),
        ),
    )


# --- the steps ---------------------------------------------------------------------------


def _closed_unanswered(flow: FlowSession) -> bool:
    """A look back closed before its last answer: only a partner's forget does that
    (bot/privacy.py), ending the pair; a look back at a pair ended otherwise stays open."""
    return flow.ended_at is not None and flow.state in QUESTIONS


async def _load(turn: Turn, flow: FlowSession) -> Review | None:
    review_id = flow.data.get("review_id")
    return await turn.session.get(Review, int(review_id)) if review_id else None


async def step(turn: Turn, flow: FlowSession, choice: str) -> StepResult | list[Effect]:
    """A button: Answer in a form, or Skip (the skip names its question, so a double
    click cannot skip the next one too)."""
    live = choice == "form" or choice == f"skip:{flow.state}"
    if _closed_unanswered(flow):
        return closed_with_pair("look back")
    if flow.ended_at is not None or not accepts_text(flow) or not live:
        return STALE
    if flow.member_id != turn.actor.id:
        owner = await turn.session.get(Member, flow.member_id) if flow.member_id else None
        return not_for_you(owner) if owner else STALE
    review = await _load(turn, flow)
    if review is None:
        return STALE
    if choice == "form":
        # Both questions, showing what is answered already (to keep, or to edit).
        fields = tuple(
            FormField(
                name,
                question,
                FormFieldKind.LONG_TEXT,
                max_length=TEXT_MAX_CHARS,
                initial=getattr(review, name) or None,
            )
            for question, name in QUESTIONS.values()
        )
        remember_shown(flow, fields)
        title = await form_title(turn, flow, "Look back", "Look back")
        form = Form(f"flow:{flow.id}:answers", title, fields, submit_label="Share")
        return [OpenForm(turn.actor_ref, form)]
    # The question stays readable, shown skipped (as a check-in's does), not "Skipped."
    question, _ = QUESTIONS[State(flow.state)]
    shown = whose("Look back", named_partner(flow.data), f"{question} (skipped)")
    result = await _advance(turn, flow, review)
    return StepResult(replace_with=shown, reply=result.reply)


async def on_text(turn: Turn, flow: FlowSession, text: str) -> StepResult:
    """A DM reply: the answer to the question asked last; a typed "skip" skips it."""
    if not accepts_text(flow) or flow.member_id != turn.actor.id:
        return STALE
    if is_skip(text):  # as its [Skip] button; the next question or the thanks follows
        skipped = await step(turn, flow, f"skip:{flow.state}")
        assert isinstance(skipped, StepResult), "a skip opens no form"
        return StepResult(reply=skipped.reply)
    review = await _load(turn, flow)
    if review is None:
        return STALE
    _, name = QUESTIONS[State(flow.state)]
    setattr(review, name, clean_answer(text))
    return await _advance(turn, flow, review)


async def on_form(turn: Turn, flow: FlowSession, values: dict[str, str]) -> StepResult:
    """Both answers at once; an empty one counts as skipped, but not both."""
    if not accepts_text(flow):
        return STALE
    if flow.member_id != turn.actor.id:
        owner = await turn.session.get(Member, flow.member_id) if flow.member_id else None
        return not_for_you(owner) if owner else STALE
    review = await _load(turn, flow)
    if review is None:
        return STALE
    open_names = [name for _, name in _open_questions(flow)]
    read = read_form(values, [name for _, name in QUESTIONS.values()])
    if not read.answers and not read.too_long and not (review.went_well or review.could_improve):
        raise UserError(
            "Both answers were empty, so nothing was saved. Write at least one, or press Skip."
        )
    stored = {name: getattr(review, name) for _, name in QUESTIONS.values()}
    changes = form_changes(flow, read.answers, stored, open_names)
    for name, value in changes.store.items():
        setattr(review, name, value)
    labels = {name: question for question, name in QUESTIONS.values()}
    answered_before = [labels[name] for name in changes.kept]
    dropped = [read.answers[name] for name in changes.kept]
    note = answered_before_note(answered_before, dropped) if answered_before else ""
    if read.too_long:
        # The answers that fit are kept; only the over-long ones are asked again.
        retry = [name for name, _ in read.too_long]
        state = next(s for s, (_, name) in QUESTIONS.items() if name == retry[0])
        flow.data = {**flow.data, "retry": retry[1:]}
        move(turn, flow, state)
        kept = [name for name in retry if stored[name]]
        return with_note(note, StepResult(reply=read.refused_note(labels, kept)))
    move(turn, flow, State.COULD_IMPROVE)
    return with_note(note, await _advance(turn, flow, review))


def _open_questions(flow: FlowSession) -> list[tuple[str, str]]:
    """The questions from the one asked now on (question, answer field)."""
    start = ORDER.index(State(flow.state))
    return [QUESTIONS[state] for state in ORDER[start:] if state in QUESTIONS]


async def _advance(turn: Turn, flow: FlowSession, review: Review) -> StepResult:
    fields = {state: name for state, (_, name) in QUESTIONS.items()}
    following = next_question(flow, ORDER, fields, State.DONE)
    if following != State.DONE:
        move(turn, flow, following)
        turn.dm(turn.actor, _question(flow, following))
        return StepResult()
    move(turn, flow, State.DONE, end=True)
    review.answered_at = turn.now
    if not (review.went_well or review.could_improve):
        return StepResult(reply="Okay, nothing to share this time.")
    partner = await _partner(turn, review)
    if partner is None:
        return StepResult(reply="Thanks! Your look back is saved.")
    what = await _subject(turn, review)
    turn.dm(
        partner,
        Content(
            f"🔎 <@{turn.actor.external_id}>'s look back at {what}:\n"
            f"Went well: {review.went_well or '(skipped)'}\n"
            f"Could improve: {review.could_improve or '(skipped)'}"
        ),
    )
    return StepResult(reply=f"Thanks! I've shared your look back with <@{partner.external_id}>.")


async def _partner(turn: Turn, review: Review) -> Member | None:
    pair = await turn.session.get(Pair, review.pair_id)
    if pair is None:
        return None
    return await turn.session.get(Member, other_member_id(pair, review.member_id))


async def _subject(turn: Turn, review: Review) -> str:
    if review.milestone_id is not None:
        milestone = await turn.session.get(Milestone, review.milestone_id)
        if milestone is not None:
            return f"milestone {_milestone_name(milestone)}"
    if review.occasion == Occasion.PAIR_END:
        return "your pair"
    return "your mentoring so far"
