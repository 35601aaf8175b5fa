"""A keyed mood or [Skip] click on a check-in's message, and a keyed typed answer to a
check-in question that asks another, are a read and one statement on PostgreSQL
(bot/flows/checkin.py ``click_at_once``, ``answer_at_once``; issue 16 goal 2): the same
rows, messages and answer as the usual way (``step``, ``on_text``), and the usual way
whenever it would do more or other. On SQLite every click and answer goes the usual way,
so these tests hold there too and pin that nothing else changed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bot.content import Button
from bot.effects import Effect, ReplyEphemeral, UpdateMessage
from bot.engine import Engine
from bot.events import ButtonClicked, CommandInvoked, Event, MessageReceived
from bot.flows.sessions import GONE
from bot.storage.database import Database
from bot.storage.models import (
    Checkin,
    CheckinAnswer,
    Feedback,
    FlowSession,
    HandledEvent,
    Member,
    OutboxMessage,
    Pair,
    Win,
    Workspace,
)
from bot.unreachable import UNREACHABLE_NOTE
from tests.conversation import Chat, pair_up
from tests.statements import handled_with_statements, sent_to_postgres
from tests.test_checkins import FIRST_CHECKIN, to_first_checkin
from tests.test_feedback import open_form

THE_READ = "SELECT flow_sessions.id, flow_sessions.member_id"
THE_STATEMENT = "WITH answered AS (SELECT flow_sessions.id"
PROMPT = "How did it go since last time?"
NEXT = "What moved forward since last time?"


def _mood_button(chat: Chat, user: str, label: str = "Great 🙌") -> tuple[Button, str]:
    """The mood button ``label`` on ``user``'s check-in prompt, and the prompt's id."""
    for seen in reversed(chat.recorder.seen):
        if seen.user == user and any(b.label == label for b in seen.content.buttons):
            return next(b for b in seen.content.buttons if b.label == label), seen.message_id
    raise AssertionError(f"{user} sees no [{label}]")


def _click(chat: Chat, user: str, button: Button, message_id: str, key: str, **more: Any) -> Any:
    return ButtonClicked(
        user=chat.ref(user),
        user_name=more.pop("user_name", user.title()),
        action_id=button.action_id,
        message_id=message_id,
        event_key=key,
        **more,
    )


def _at_once(chat: Chat, sent: list[str]) -> bool:
    """Whether the event went as the read and the one statement (never on SQLite)."""
    if chat.database.is_sqlite:
        assert sent == []
        return False
    return len(sent) == 2 and sent[0].startswith(THE_READ) and sent[1].startswith(THE_STATEMENT)


def _texts(effects: list[Effect]) -> list[str]:
    """What each effect says (every one here says something)."""
    return [e.content.text for e in effects if isinstance(e, ReplyEphemeral | UpdateMessage)]


def _shown(effects: list[Effect]) -> str:
    [text] = _texts(effects)
    assert len(effects) == 1, effects
    return text


def _updated(effects: list[Effect]) -> UpdateMessage:
    """The one effect, the clicked message updated."""
    [effect] = effects
    assert isinstance(effect, UpdateMessage), effect
    return effect


async def _rows(database: Database, model: Any, *where: Any) -> list[Any]:
    """The rows in the order they were written (by primary key): without an ORDER BY,
    PostgreSQL may return them in any order, and a row rewritten moves."""
    order = model.__table__.primary_key.columns
    async with database.transaction() as session:
        found = await session.execute(select(model).where(*where).order_by(*order))
        return list(found.scalars())


async def _bobs_flow(chat: Chat) -> FlowSession:
    bob = select(Member.id).where(Member.external_id == "bob").scalar_subquery()
    [flow] = await _rows(chat.database, FlowSession, FlowSession.member_id == bob)
    assert isinstance(flow, FlowSession)
    return flow


async def _bobs_answer(chat: Chat) -> CheckinAnswer | None:
    bob = select(Member.id).where(Member.external_id == "bob").scalar_subquery()
    found = await _rows(chat.database, CheckinAnswer, CheckinAnswer.member_id == bob)
    return found[0] if found else None


async def test_a_mood_click_on_the_prompt_is_a_read_and_one_statement(chat: Chat) -> None:
    await to_first_checkin(chat)
    great, prompt = _mood_button(chat, "bob")
    dms_before = len(chat.dms("bob"))
    effects, sent = await handled_with_statements(chat, _click(chat, "bob", great, prompt, "c1"))
    # PostgreSQL: no BEGIN, no look-up of the ORM's, no COMMIT.
    assert _at_once(chat, sent) is not chat.database.is_sqlite, sent
    # The prompt shows the choice, its buttons gone; the next question follows once.
    assert _updated(effects).message_id == prompt
    assert _shown(effects) == f"{PROMPT} Great 🙌"
    assert chat.dms("bob")[dms_before:] == [NEXT]
    answer = await _bobs_answer(chat)
    assert answer is not None and answer.mood == "great"
    flow = await _bobs_flow(chat)
    assert (flow.state, flow.updated_at, flow.ended_at) == ("progress", chat.clock.now(), None)
    [claim] = await _rows(chat.database, HandledEvent, HandledEvent.key == "c1")
    assert claim.created_at == chat.clock.now()
    # The next question's [Skip] is the flow's, and works.
    assert "already past" not in await chat.click("bob", "Skip")
    assert chat.dms("bob")[-1] == "What is hard right now?"
    # Delivered again (a retried request): nothing more, on either way.
    assert await chat.engine.handle(_click(chat, "bob", great, prompt, "c1")) == []
    assert chat.dms("bob").count(NEXT) == 1


async def test_a_mood_changed_later_is_one_statement_and_asks_nothing(chat: Chat) -> None:
    """Past the mood question, a mood button still changes the mood (answering out of
    order): saved, nothing asked, the flow where it was."""
    await to_first_checkin(chat)
    great, prompt = _mood_button(chat, "bob")
    rough, _ = _mood_button(chat, "bob", "Rough 😮‍💨")
    await handled_with_statements(chat, _click(chat, "bob", great, prompt, "c1"))
    await chat.say("bob", "the parser")
    dms_before = list(chat.dms("bob"))
    moved_at = (await _bobs_flow(chat)).updated_at
    effects, sent = await handled_with_statements(chat, _click(chat, "bob", rough, prompt, "c2"))
    assert _at_once(chat, sent) is not chat.database.is_sqlite, sent
    assert _shown(effects) == f"{PROMPT} Rough 😮‍💨"
    assert chat.dms("bob") == dms_before
    answer = await _bobs_answer(chat)
    assert answer is not None
    assert (answer.mood, answer.progress) == ("rough", "the parser")
    flow = await _bobs_flow(chat)
    assert (flow.state, flow.updated_at) == ("hard", moved_at)


async def test_a_click_without_a_key_or_on_no_prompt_goes_the_usual_way(chat: Chat) -> None:
    await to_first_checkin(chat)
    great, prompt = _mood_button(chat, "bob")
    with sent_to_postgres() as sent:
        await chat.press("bob", great, prompt)  # no delivery key: the console's
    assert not _at_once(chat, sent)
    assert (await _bobs_flow(chat)).state == "progress"
    # A flow id no one has: gone, either way.
    stale = Button(great.label, "flow:999999:mood:great")
    effects, sent = await handled_with_statements(chat, _click(chat, "bob", stale, prompt, "c2"))
    assert not _at_once(chat, sent)
    assert _shown(effects) == GONE.reply, effects


async def test_someone_elses_prompt_goes_the_usual_way(chat: Chat) -> None:
    await to_first_checkin(chat)
    great, prompt = _mood_button(chat, "bob")
    effects, sent = await handled_with_statements(chat, _click(chat, "alice", great, prompt, "c1"))
    assert not _at_once(chat, sent)
    assert _shown(effects) == "That question was for <@bob>, so I left it alone."
    assert await _bobs_answer(chat) is None


async def test_a_click_on_a_closed_check_in_goes_the_usual_way(chat: Chat) -> None:
    """The check-in closed but its flow not yet ended: nothing saved, and bob is told."""
    await to_first_checkin(chat)
    great, prompt = _mood_button(chat, "bob")
    async with chat.database.transaction() as session:
        await session.execute(update(Checkin).values(state="closed"))
    effects, sent = await handled_with_statements(chat, _click(chat, "bob", great, prompt, "c1"))
    assert not _at_once(chat, sent)
    if not chat.database.is_sqlite:
        assert sent[1].startswith(THE_STATEMENT), sent  # tried, declined
    assert "has closed" in _shown(effects)
    assert await _bobs_answer(chat) is None


async def test_answers_asked_again_after_a_form_go_the_usual_way(chat: Chat) -> None:
    """A form whose mood was too long asks the mood again (the flow's data says so):
    the usual way moves on from there as a form's retry does."""
    await to_first_checkin(chat)
    great, prompt = _mood_button(chat, "bob")
    await chat.click("bob", "Answer in a form")
    await chat.submit("bob", mood="x" * 5000, progress="p", challenge="c", next_topic="n")
    flow = await _bobs_flow(chat)
    assert (flow.state, flow.data.get("retry")) == ("mood", [])
    effects, sent = await handled_with_statements(chat, _click(chat, "bob", great, prompt, "c1"))
    assert not _at_once(chat, sent)
    # The mood was the last answer asked for: bob's side is done, and he is thanked.
    [shown, thanks] = _texts(effects)
    assert shown == f"{PROMPT} Great 🙌"
    assert thanks.startswith("Thanks!"), thanks
    assert (await _bobs_flow(chat)).ended_at is not None


@pytest.mark.parametrize(
    "said",
    [{"user_name": "Robert"}, {"user_is_admin": True}, {"user_timezone": "Europe/Paris"}],
    ids=["name", "admin", "timezone"],
)
async def test_a_click_that_changes_who_they_are_goes_the_usual_way(
    chat: Chat, said: dict[str, Any]
) -> None:
    await to_first_checkin(chat)
    great, prompt = _mood_button(chat, "bob")
    effects, sent = await handled_with_statements(
        chat, _click(chat, "bob", great, prompt, "c1", **said)
    )
    assert not _at_once(chat, sent)
    assert _shown(effects) == f"{PROMPT} Great 🙌"
    [bob] = await _rows(chat.database, Member, Member.external_id == "bob")
    name, value = next(iter(said.items()))
    stored = {"user_name": "display_name", "user_is_admin": "is_admin", "user_timezone": "timezone"}
    assert getattr(bob, stored[name]) == value


async def test_a_click_of_someone_whose_dms_stopped_goes_the_usual_way(chat: Chat) -> None:
    await to_first_checkin(chat)
    great, prompt = _mood_button(chat, "bob")
    async with chat.database.transaction() as session:
        await session.execute(
            update(Member).where(Member.external_id == "bob").values(dm_blocked_at=chat.clock.now())
        )
    effects, sent = await handled_with_statements(chat, _click(chat, "bob", great, prompt, "c1"))
    assert not _at_once(chat, sent)
    assert any(UNREACHABLE_NOTE in text for text in _texts(effects)), effects
    [bob] = await _rows(chat.database, Member, Member.external_id == "bob")
    assert bob.dm_blocked_at is None


async def test_a_click_in_a_workspace_that_stopped_delivery_goes_the_usual_way(
    chat: Chat,
) -> None:
    await to_first_checkin(chat)
    great, prompt = _mood_button(chat, "bob")
    async with chat.database.transaction() as session:
        await session.execute(update(Workspace).values(delivery_stopped_at=chat.clock.now()))
    effects, sent = await handled_with_statements(chat, _click(chat, "bob", great, prompt, "c1"))
    assert not _at_once(chat, sent)
    assert _shown(effects) == f"{PROMPT} Great 🙌"
    [question] = [
        m
        for m in await _rows(chat.database, OutboxMessage, OutboxMessage.target_id == "bob")
        if m.content["text"] == NEXT
    ]
    assert (question.status, question.last_error) == ("failed", "workspace unreachable")


@asynccontextmanager
async def _another_instance_between(
    chat: Chat, monkeypatch: pytest.MonkeyPatch, event: Event
) -> AsyncIterator[None]:
    """Within the block, ``event`` is handled by another instance (an engine with
    connections of its own) right after the first statement ``fetch_alone`` sends: for an
    event at once, between its read and its statement."""
    database = chat.database
    fetch_alone = database.fetch_alone
    elsewhere = Database(database.url)
    other = Engine(elsewhere, chat.clock)
    reads = 0

    async def read_then_other(statement: Any, params: dict[str, Any]) -> list[Any]:
        nonlocal reads
        found = await fetch_alone(statement, params)
        reads += 1
        if reads == 1:
            await other.handle(event)
        return found

    monkeypatch.setattr(database, "fetch_alone", read_then_other)
    try:
        yield
    finally:
        monkeypatch.undo()
        await elsewhere.dispose()
    assert reads >= 1, "nothing was read at once"


async def test_a_flow_written_between_the_read_and_the_statement_goes_the_usual_way(
    chat: Chat, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bob's typed mood lands between the click's read and its statement (another
    instance): the statement finds the flow's new version, writes nothing, and the usual
    way saves the click's mood over the typed one as it does for any later click, with
    no second question."""
    await to_first_checkin(chat)
    if chat.database.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite's clicks have no read of their own")
    great, prompt = _mood_button(chat, "bob")
    typed = MessageReceived(user=chat.ref("bob"), user_name="Bob", text="rough")
    async with _another_instance_between(chat, monkeypatch, typed):
        click = _click(chat, "bob", great, prompt, "c1")
        effects, sent = await handled_with_statements(chat, click)
    assert not _at_once(chat, sent)
    assert _shown(effects) == f"{PROMPT} Great 🙌"
    answer = await _bobs_answer(chat)
    assert answer is not None and answer.mood == "great"
    assert (await _bobs_flow(chat)).state == "progress"
    assert chat.dms("bob").count(NEXT) == 1


async def test_one_click_delivered_to_two_instances_at_once_is_saved_once(chat: Chat) -> None:
    """Two instances get the same delivery of bob's click at the same moment: one
    saves it and asks the next question; the other writes nothing and its usual way finds
    the key claimed."""
    await to_first_checkin(chat)
    great, prompt = _mood_button(chat, "bob")
    elsewhere = Database(chat.database.url)
    other = Engine(elsewhere, chat.clock)
    twice = _click(chat, "bob", great, prompt, "c1")
    handles: list[Callable[[ButtonClicked], Awaitable[Any]]] = [chat.engine.handle, other.handle]
    try:
        with sent_to_postgres() as sent:
            answers = await asyncio.gather(*(handle(twice) for handle in handles))
    finally:
        await elsewhere.dispose()
    await chat.deliver()
    assert sorted(len(a) for a in answers) == [0, 1], answers
    # Both tried it at once (the read and the statement each) on PostgreSQL.
    tried = [s for s in sent if " ".join(s.split()).startswith(THE_STATEMENT)]
    assert len(tried) == (0 if chat.database.is_sqlite else 2), sent
    assert chat.dms("bob").count(NEXT) == 1
    assert len(await _rows(chat.database, HandledEvent, HandledEvent.key == "c1")) == 1
    answer = await _bobs_answer(chat)
    assert answer is not None and answer.mood == "great"


HARD = "What is hard right now?"
LAST = "What would you like to bring to your next conversation?"


def _typed(chat: Chat, user: str, text: str, key: str, **more: Any) -> MessageReceived:
    return MessageReceived(
        user=chat.ref(user),
        user_name=more.pop("user_name", user.title()),
        text=text,
        event_key=key,
        **more,
    )


async def test_typed_answers_that_ask_another_are_a_read_and_one_statement(chat: Chat) -> None:
    """bob types his mood, then what moved forward, then what is hard: each saved in its
    field, the next question its answer; the last question's answer, which completes his
    side, goes the usual way and thanks him."""
    await to_first_checkin(chat)
    for key, text, field, value, asked in (
        ("m1", "Great!", "mood", "great", NEXT),
        ("m2", "the parser", "progress", "the parser", HARD),
        ("m3", "  time  ", "challenge", "time", LAST),
    ):
        dms_before = len(chat.dms("bob"))
        effects, sent = await handled_with_statements(chat, _typed(chat, "bob", text, key))
        assert _at_once(chat, sent) is not chat.database.is_sqlite, sent
        assert effects == []
        assert chat.dms("bob")[dms_before:] == [asked]
        answer = await _bobs_answer(chat)
        assert answer is not None and getattr(answer, field) == value
        # Delivered again: nothing more.
        assert await chat.engine.handle(_typed(chat, "bob", text, key)) == []
        assert chat.dms("bob")[dms_before:] == [asked]
    assert (await _bobs_flow(chat)).state == "next_topic"
    effects, sent = await handled_with_statements(chat, _typed(chat, "bob", "docs", "m4"))
    assert not _at_once(chat, sent)
    assert _shown(effects).startswith("Thanks!")
    flow = await _bobs_flow(chat)
    assert flow.ended_at is not None
    answer = await _bobs_answer(chat)
    assert answer is not None and answer.answered_at == chat.clock.now()


async def test_a_typed_answer_goes_to_the_newest_question_either_way(chat: Chat) -> None:
    """A feedback question that reached alice after her check-in question is the one
    her reply answers: not at once (it is no check-in's). Answered, her check-in's
    question is the newest again, and her next reply is at once."""
    await to_first_checkin(chat)
    await chat.click("alice", "Great 🙌")
    await chat.say("bob", "/mentor feedback Was my demo on Tuesday clear for sales?")
    effects, sent = await handled_with_statements(chat, _typed(chat, "alice", "Mostly, yes.", "a1"))
    assert not _at_once(chat, sent)
    assert "Mostly, yes." in chat.dms("bob")[-1]
    effects, sent = await handled_with_statements(chat, _typed(chat, "alice", "the roadmap", "a2"))
    assert _at_once(chat, sent) is not chat.database.is_sqlite, sent
    assert effects == []
    assert chat.dms("alice")[-1] == HARD


async def test_a_question_that_reaches_them_meanwhile_is_the_one_answered(
    chat: Chat, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bob's feedback question reaches alice between her reply's read and its statement
    (another instance): the statement finds a newer question, writes nothing, and the
    usual way answers that one, as it would have had the reply come a moment later."""
    if chat.database.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite's answers have no read of their own")
    await to_first_checkin(chat)
    await chat.click("alice", "Great 🙌")
    asked = CommandInvoked(
        user=chat.ref("bob"),
        user_name="Bob",
        command="mentor",
        text="feedback Was my demo on Tuesday clear for sales?",
    )
    async with _another_instance_between(chat, monkeypatch, asked):
        reply = _typed(chat, "alice", "Mostly, yes.", "a1")
        _, sent = await handled_with_statements(chat, reply)
    assert not _at_once(chat, sent)
    alice = select(Member.id).where(Member.external_id == "alice").scalar_subquery()
    [answer] = await _rows(chat.database, CheckinAnswer, CheckinAnswer.member_id == alice)
    assert answer.progress is None  # not the check-in's
    [asked] = await _rows(chat.database, Feedback)
    assert asked.answer == "Mostly, yes."


async def test_a_typed_answer_that_is_empty_or_too_long_goes_the_usual_way(chat: Chat) -> None:
    await to_first_checkin(chat)
    await chat.click("bob", "Great 🙌")
    effects, sent = await handled_with_statements(chat, _typed(chat, "bob", "x" * 5000, "m1"))
    assert not _at_once(chat, sent)
    assert "5,000 characters long" in _shown(effects)
    answer = await _bobs_answer(chat)
    assert answer is not None and answer.progress is None
    assert (await _bobs_flow(chat)).state == "progress"


def _skip_button(chat: Chat, user: str) -> tuple[Button, str]:
    """The [Skip] on the newest question ``user`` was asked, and that message's id."""
    return _mood_button(chat, user, "Skip")


async def test_a_skip_that_asks_the_next_question_is_a_read_and_one_statement(
    chat: Chat,
) -> None:
    """[Skip] on the question after the mood: the answers' row is made (a skip writes no
    field), the flow moves on, the next question follows once, and the skipped question
    says so. The last question's [Skip] completes bob's side: the usual way."""
    await to_first_checkin(chat)
    await chat.click("bob", "Great 🙌")
    skip, asked = _skip_button(chat, "bob")
    effects, sent = await handled_with_statements(chat, _click(chat, "bob", skip, asked, "s1"))
    assert _at_once(chat, sent) is not chat.database.is_sqlite, sent
    assert _updated(effects).message_id == asked
    assert _shown(effects) == f"{NEXT} (skipped)"
    assert chat.dms("bob")[-1] == HARD
    answer = await _bobs_answer(chat)
    assert answer is not None and (answer.mood, answer.progress) == ("great", None)
    assert (await _bobs_flow(chat)).state == "hard"
    # The same [Skip] again, a new delivery: that question is past, either way.
    effects, sent = await handled_with_statements(chat, _click(chat, "bob", skip, asked, "s2"))
    assert not _at_once(chat, sent)
    assert _shown(effects) == "You're already past that question."
    assert chat.dms("bob").count(HARD) == 1
    await chat.say("bob", "time")
    skip, asked = _skip_button(chat, "bob")
    effects, sent = await handled_with_statements(chat, _click(chat, "bob", skip, asked, "s3"))
    assert not _at_once(chat, sent)
    [shown, thanks] = _texts(effects)
    assert (shown, thanks[:7]) == (f"{LAST} (skipped)", "Thanks!")
    assert (await _bobs_flow(chat)).ended_at is not None


def _seen(chat: Chat, message_id: str) -> Any:
    return next(seen for seen in chat.recorder.seen if seen.message_id == message_id)


def _prompt_with(chat: Chat, user: str, partner: str) -> tuple[Button, str]:
    """[Great 🙌] on ``user``'s check-in prompt with ``partner``, and the prompt's id."""
    for seen in reversed(chat.recorder.seen):
        if seen.user == user and f"check-in with <@{partner}>." in seen.content.text:
            great = next(b for b in seen.content.buttons if b.label == "Great 🙌")
            return great, seen.message_id
    raise AssertionError(f"{user} has no prompt with {partner}")


async def test_someone_in_two_pairs_is_told_whose_check_in_each_question_is(
    chat: Chat,
) -> None:
    """alice mentors bob and carol, and both check-ins are open at once: a reply answers
    the question asked last, so each question she is asked, and each message her clicks
    leave, says whose check-in it is, at once or the usual way. bob, in one pair, is
    asked plainly. Before, alice read "What is hard right now?" with nothing to say
    which of her two check-ins it was."""
    await pair_up(chat, "alice", "bob")
    await pair_up(chat, "alice", "carol")
    await chat.advance(FIRST_CHECKIN - chat.clock.now())
    with_carol = "Check-in with <@carol>: "
    great, prompt = _prompt_with(chat, "alice", "carol")
    # Its form says whose check-in it is too; bob's, in one pair, is "Your check-in".
    form = next(b for b in _seen(chat, prompt).content.buttons if b.label == "Answer in a form")
    await chat.press("alice", form, prompt)
    assert chat.form("alice").title == "Check-in with Carol"
    assert (await open_form(chat, "bob", "Answer in a form")).title == "Your check-in"
    # A moment later, as in life: both prompts came at one instant, and the click makes
    # carol's the one asked last. (With the clock still, the two tied, and which one a
    # reply answered hung on their ids, which PostgreSQL's due pass gives in no set order.)
    chat.clock.advance(timedelta(minutes=1))
    effects, sent = await handled_with_statements(chat, _click(chat, "alice", great, prompt, "c1"))
    assert _at_once(chat, sent) is not chat.database.is_sqlite, sent
    assert _shown(effects) == f"{with_carol}{PROMPT} Great 🙌"
    assert chat.dms("alice")[-1] == f"{with_carol}{NEXT}"
    # Typed, at once: the next question of carol's check-in, named.
    effects, sent = await handled_with_statements(chat, _typed(chat, "alice", "the plan", "a1"))
    assert _at_once(chat, sent) is not chat.database.is_sqlite, sent
    assert chat.dms("alice")[-1] == f"{with_carol}{HARD}"
    skip, asked = _skip_button(chat, "alice")
    effects, sent = await handled_with_statements(chat, _click(chat, "alice", skip, asked, "s1"))
    assert _at_once(chat, sent) is not chat.database.is_sqlite, sent
    assert _shown(effects) == f"{with_carol}{HARD} (skipped)"
    assert chat.dms("alice")[-1] == f"{with_carol}{LAST}"
    # The usual way (no key): bob's check-in, the other one, named too.
    great, prompt = _prompt_with(chat, "alice", "bob")
    await chat.press("alice", great, prompt)
    assert chat.dms("alice")[-1] == f"Check-in with <@bob>: {NEXT}"
    # bob has one pair: his questions are as ever.
    await chat.click("bob", "Great 🙌")
    await chat.say("bob", "the parser")
    assert chat.dms("bob")[-2:] == [NEXT, HARD]
    carol = select(Member.id).where(Member.external_id == "carol").scalar_subquery()
    [answer] = await _rows(
        chat.database,
        CheckinAnswer,
        CheckinAnswer.checkin_id.in_(
            select(Checkin.id).join(Pair, Pair.id == Checkin.pair_id).where(Pair.mentee_id == carol)
        ),
    )
    assert (answer.mood, answer.progress, answer.challenge) == ("great", "the plan", None)


async def test_a_typed_skip_goes_the_usual_way_and_skips(chat: Chat) -> None:
    """A keyed "skip" (as every real platform's DM is keyed) skips the question, as its
    [Skip] does: on PostgreSQL it goes the usual way, which knows a skip. Before, the read
    and one statement stored "skip" as bob's answer, shared with alice."""
    await to_first_checkin(chat)
    await chat.engine.handle(_typed(chat, "bob", "Great!", "s1"))
    _effects, sent = await handled_with_statements(chat, _typed(chat, "bob", "Skip it.", "s2"))
    assert not _at_once(chat, sent)
    assert chat.dms("bob")[-1] == HARD
    answer = await _bobs_answer(chat)
    assert answer is not None and answer.progress is None
    assert (await _bobs_flow(chat)).state == "hard"


@pytest.mark.parametrize("typed", ["stop", "Cancel!", "never mind"])
async def test_a_typed_stop_is_not_saved_as_an_answer(chat: Chat, typed: str) -> None:
    """A keyed "stop" or "cancel" under a question is not its answer (it would be shared
    with alice as what moved forward): on PostgreSQL it goes the usual way, which says
    it was not saved and which question still waits; nothing is written."""
    await to_first_checkin(chat)
    await chat.engine.handle(_typed(chat, "bob", "Great!", "s1"))
    effects, sent = await handled_with_statements(chat, _typed(chat, "bob", typed, "s2"))
    assert not _at_once(chat, sent)
    assert chat.dms("bob")[-1] == NEXT  # asked once, before
    assert _texts(effects) == [
        f"I didn't save “{typed}” as an answer. Your check-in with <@alice> is still open: "
        f"your next reply here answers “{NEXT}” If you'd rather not answer now, just leave it."
    ]
    answer = await _bobs_answer(chat)
    assert answer is not None and answer.progress is None
    assert (await _bobs_flow(chat)).state == "progress"


@pytest.mark.parametrize(
    ("typed", "first"),
    [
        ("help", "Here is what I can do:"),
        ("?", "Here is what I can do:"),
        ("Help me!", "Here is what I can do:"),
        ("hi", "Hi!"),
        ("Hello there!", "Hi!"),
        # A thanks (to the bot's thanks for the last answer) was shared with alice as
        # what moved forward.
        ("thanks!", "You're welcome!"),
        ("Thank you so much", "You're welcome!"),
    ],
)
async def test_a_typed_help_or_hello_is_not_saved_as_an_answer(
    chat: Chat, typed: str, first: str
) -> None:
    """bob, under "What moved forward?", types "help" (or "hi"): he is asking the bot,
    not answering alice. Before, it was stored as what moved forward and shared with
    her. Now he gets the help (or a hello), told it was not saved and which question
    still waits; nothing is written, on PostgreSQL's read and one statement too."""
    await to_first_checkin(chat)
    await chat.engine.handle(_typed(chat, "bob", "Great!", "s1"))
    effects, sent = await handled_with_statements(chat, _typed(chat, "bob", typed, "s2"))
    assert not _at_once(chat, sent)
    assert chat.dms("bob")[-1] == NEXT  # asked once, before
    [said] = _texts(effects)
    still = f"Your check-in with <@alice> is still open: your next reply here answers “{NEXT}”"
    assert said.startswith(first), said
    assert said.endswith(f"I didn't save “{typed}” as an answer. {still}"), said
    answer = await _bobs_answer(chat)
    assert answer is not None and answer.progress is None
    assert (await _bobs_flow(chat)).state == "progress"
    await chat.say("bob", "The parser")
    assert chat.dms("bob")[-2:] == [NEXT, HARD]


@pytest.mark.parametrize("typed", ["/win shipped the parser", "/WIN: shipped the parser"])
async def test_a_command_typed_as_a_message_is_not_saved_as_an_answer(
    chat: Chat, typed: str
) -> None:
    """bob, under "What moved forward?", sends "/win shipped the parser" as a message (the
    command not picked from the app's list). It is neither his answer (shared with alice
    as what moved forward) nor a win: he is told so, what to send, and which question
    still waits; nothing is written, on PostgreSQL's read and one statement too."""
    await to_first_checkin(chat)
    await chat.engine.handle(_typed(chat, "bob", "Great!", "s1"))
    wins_before = await _wins(chat)
    effects, sent = await handled_with_statements(chat, _typed(chat, "bob", typed, "s2"))
    assert not _at_once(chat, sent)
    assert _texts(effects) == [
        "That reached me as a message, not as the /win command, so I didn't save it. Send "
        "it as a command, in a channel of the workspace: type /win, pick it from the list "
        "of commands, then the rest: `/win shipped the parser`\n\n"
        f"Your check-in with <@alice> is still open: your next reply here answers “{NEXT}”"
    ]
    answer = await _bobs_answer(chat)
    assert answer is not None and answer.progress is None
    assert (await _bobs_flow(chat)).state == "progress"
    assert await _wins(chat) == wins_before


async def _wins(chat: Chat) -> int:
    async with chat.database.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(Win)) or 0)
