"""The feedback loop: a specific question, the mentor's answer, and a week later (or at
the next check-in) how the mentee acted on it, linked to the question."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.content import Button, Form
from bot.effects import OpenForm
from bot.events import ButtonClicked
from bot.storage.models import CheckinAnswer, Feedback, FlowSession
from tests.conversation import Chat, pair_up
from tests.test_bad_input import said_changing_nothing, snapshot

QUESTION = "In Tuesday's demo, was the architecture part clear enough for the sales team?"
ANSWER = "Mostly. Slow down on the diagrams and say why before how."
ACTION = "I cut the deck to two diagrams and opened with the why. It landed."


async def open_form(chat: Chat, user: str, label: str) -> Form:
    """Press the newest [label] button ``user`` sees; it must open a form."""
    opened = len(chat.forms)
    await chat.click(user, label)
    assert len(chat.forms) == opened + 1, f"[{label}] opened no form"
    return chat.form(user)


async def submit(chat: Chat, user: str, form_id: str, **values: str) -> str:
    return await chat.submit(user, form_id, **values)


async def feedback_rows(chat: Chat) -> list[Feedback]:
    async with chat.database.transaction() as session:
        return list((await session.execute(select(Feedback).order_by(Feedback.id))).scalars())


async def open_flows(chat: Chat) -> int:
    async with chat.database.transaction() as session:
        query = select(func.count()).select_from(FlowSession)
        return int(await session.scalar(query.where(FlowSession.ended_at.is_(None))) or 0)


async def run_due(chat: Chat, by: timedelta) -> None:
    await chat.advance(by)


async def ask_and_answer(chat: Chat) -> None:
    """bob (mentee) asks alice (mentor) a specific question; alice replies in DMs."""
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", f"/mentor feedback {QUESTION}")
    await chat.say("alice", ANSWER)


async def test_a_vague_question_is_coached_then_sent_anyway(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    dms_before = len(chat.dms("alice"))
    coaching = await chat.say("bob", "/mentor feedback any feedback?")
    assert "Name one thing (a demo, a PR, a meeting)" in coaching
    assert "For example: “In Tuesday's demo" in coaching
    assert [b.label for b in chat.buttons("bob")] == ["Send anyway", "I'll rephrase"]
    # Nothing reaches the mentor while the question is being coached.
    assert len(chat.dms("alice")) == dms_before
    assert await feedback_rows(chat) == []

    assert "Sent your question to <@alice>" in await chat.click("bob", "Send anyway")
    assert chat.dms("alice")[-1].startswith("❓ <@bob> asked for your feedback:\nany feedback?")
    assert [b.label for b in chat.buttons("alice")] == ["Answer in a form"]
    [row] = await feedback_rows(chat)
    assert (row.question, row.answer) == ("any feedback?", None)


async def test_a_question_typed_as_a_dm_while_coached_is_not_sent_and_offered_back(
    chat: Chat,
) -> None:
    """The coaching prompt waits for its buttons; the mentee types their better question
    in a DM instead. Nothing reaches the mentor, nothing is stored, and they are told so,
    with the command that asks it."""
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", "/mentor feedback any feedback?")
    dms_before = len(chat.dms("alice"))
    before = await snapshot(chat)
    typed = await chat.say("bob", f"{QUESTION} I mean the `deploy` part")
    assert typed == (
        "I didn't send that to your mentor: your question “any feedback?” waits for "
        "[Send anyway] or [I'll rephrase], where you asked it. To ask this instead, send it "
        f"with the command: `/mentor feedback {QUESTION} I mean the 'deploy' part`"
    )
    assert (await chat.say("bob", "ok")).endswith(
        "To ask another, use `/mentor feedback <your question>`."
    )
    assert await snapshot(chat) == before
    assert len(chat.dms("alice")) == dms_before
    # The buttons still answer it; then a DM is nothing waiting, as before.
    assert "Sent your question to <@alice>" in await chat.click("bob", "Send anyway")
    assert "not waiting for an answer" in await chat.say("bob", "thanks, that was it")


async def test_the_second_half_of_an_answer_is_not_saved_and_says_to_whom_to_send_it(
    chat: Chat,
) -> None:
    """An answer sent as two messages: the first answers, the second finds nothing
    waiting. The reply names who got the first, for a few minutes after it (a feedback
    answer, an action, a finished check-in); nothing more is stored or passed on."""
    await ask_and_answer(chat)
    to_bob = len(chat.dms("bob"))
    after_answer = await said_changing_nothing(chat, "alice", "Also: name the owners.")
    assert after_answer == (
        "I'm not waiting for an answer from you right now, so I didn't save that. If it goes "
        "with what you sent <@bob> a moment ago, write it to them directly: I pass on only "
        "the answers I ask for."
    )
    assert len(chat.dms("bob")) == to_bob
    await run_due(chat, timedelta(minutes=11))
    later = await chat.say("alice", "Also: name the owners.")
    assert later.endswith("Type `/mentor help` to see what I can do.")
    # A check-in's last answer too (the pair's check-in, days later).
    await run_due(chat, timedelta(days=4, hours=22))
    await chat.click("alice", "Great 🙌")
    for words in ("shipped", "naming", "the roadmap"):
        await chat.say("alice", words)
    assert "what you sent <@bob> a moment ago" in await chat.say("alice", "and hiring")


async def test_a_rephrased_question_goes_straight_to_the_mentor(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    for vague in ("How did I do?", "Any thoughts on how things are going in general?"):
        assert "Name one thing" in await chat.say("bob", f"/mentor feedback {vague}")
    assert "ask again with `/mentor feedback" in await chat.click("bob", "I'll rephrase")
    assert not any("asked for your feedback" in dm for dm in chat.dms("alice"))

    assert "Sent your question to <@alice>" in await chat.say("bob", f"/mentor feedback {QUESTION}")
    assert chat.dms("alice")[-1].startswith(f"❓ <@bob> asked for your feedback:\n{QUESTION}")
    assert [row.question for row in await feedback_rows(chat)] == [QUESTION]


async def test_the_mentor_answers_with_a_dm_reply(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", f"/mentor feedback {QUESTION}")
    reply = await chat.say("alice", ANSWER)
    # Said as it will happen: the Monday check-in comes before a week is up.
    assert reply == (
        f"Thanks! I've sent <@bob> your answer to “{QUESTION}” I'll ask them how they "
        "acted on it at your next check-in, Mon 30 Nov, 10:00 (UTC), and tell you."
    )
    assert chat.dms("bob")[-1] == f"💬 <@alice> answered your question “{QUESTION}”:\n{ANSWER}"
    [row] = await feedback_rows(chat)
    assert row.answer == ANSWER and row.answered_at == chat.clock.now()
    # The answer is in; a second reply is not taken for another answer.
    assert "not waiting for an answer" in await chat.say("alice", "one more thing")
    assert [r.answer for r in await feedback_rows(chat)] == [ANSWER]


async def test_the_mentor_answers_with_the_form(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", f"/mentor feedback {QUESTION}")
    form = await open_form(chat, "alice", "Answer in a form")
    assert [f.name for f in form.fields] == ["answer"] and form.fields[0].required
    assert f"I've sent <@bob> your answer to “{QUESTION}”" in await submit(
        chat, "alice", form.form_id, answer=ANSWER
    )
    assert chat.dms("bob")[-1] == f"💬 <@alice> answered your question “{QUESTION}”:\n{ANSWER}"
    # A double submit (or the form after a DM reply) changes nothing.
    assert (await submit(chat, "alice", form.form_id, answer="again")).endswith(
        "answered already, so what you wrote in this form was not saved.\nHere is what you "
        "wrote, to keep:\n\nagain"
    )
    assert [r.answer for r in await feedback_rows(chat)] == [ANSWER]
    assert sum("answered your question" in dm for dm in chat.dms("bob")) == 1


async def test_seven_days_later_the_mentee_is_asked_how_they_acted(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor cadence monthly")  # the next check-in is 12 days away
    await chat.say("bob", f"/mentor feedback {QUESTION}")
    await chat.say("alice", ANSWER)

    await run_due(chat, timedelta(days=7) - timedelta(minutes=1))
    assert not any("How did you act" in dm for dm in chat.dms("bob"))
    await run_due(chat, timedelta(minutes=1))
    follow_up = chat.dms("bob")[-1]
    assert f"You asked <@alice>: “{QUESTION}”\nThey answered: “{ANSWER}”\n" in follow_up
    assert "How did you act on <@alice>'s feedback?" in follow_up
    assert [b.label for b in chat.buttons("bob")] == ["Answer in a form", "Skip"]
    # A timer fires once.
    await run_due(chat, timedelta(days=7))
    assert sum("How did you act" in dm for dm in chat.dms("bob")) == 1

    assert "I've shared that with <@alice>" in await chat.say("bob", ACTION)
    assert chat.dms("alice")[-1] == (
        f"🌱 <@bob> acted on your feedback about “{QUESTION}”:\n{ACTION}"
    )
    [row] = await feedback_rows(chat)
    assert (row.question, row.answer, row.action) == (QUESTION, ANSWER, ACTION)
    assert row.acted_at == chat.clock.now()
    assert await open_flows(chat) == 0


async def test_not_yet_to_the_follow_up_asks_again_and_tells_the_mentor_nothing(
    chat: Chat,
) -> None:
    """ "not yet" was shared as "🌱 bob acted on your feedback: not yet". It is nothing
    acted on: the mentor hears nothing, and bob is asked again a week on (or at his next
    check-in); what he says then goes to her."""
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor cadence monthly")  # the next check-in is 12 days away
    await chat.say("bob", f"/mentor feedback {QUESTION}")
    await chat.say("alice", ANSWER)
    await run_due(chat, timedelta(days=7))
    to_alice = len(chat.dms("alice"))
    assert await chat.say("bob", "Not yet.") == (
        "No rush: I didn't pass “Not yet.” on to <@alice>. I'll ask you again at your next "
        "check-in, Mon 7 Dec, 10:00 (UTC)."
    )
    assert chat.dms("alice")[to_alice:] == []
    [row] = await feedback_rows(chat)
    assert (row.action, row.acted_at) == (None, None)
    await run_due(chat, timedelta(days=5))
    assert sum("How did you act" in dm for dm in chat.dms("bob")) == 2
    assert "I've shared that with <@alice>" in await chat.say("bob", ACTION)
    assert (
        chat.dms("alice")[-1] == f"🌱 <@bob> acted on your feedback about “{QUESTION}”:\n{ACTION}"
    )


async def test_the_follow_up_comes_at_the_next_checkin_when_that_is_first(chat: Chat) -> None:
    await ask_and_answer(chat)  # on Wednesday; the weekly check-in is Monday 10:00
    await run_due(chat, timedelta(days=4, hours=22))  # Monday 10:00
    # One event, one message: the check-in prompt, then the follow-up it made due.
    prompt = chat.dms("bob")[-1]
    assert prompt.startswith("👋 Time for your check-in with <@alice>")
    assert "\n\n🔁 You asked <@alice>" in prompt
    assert prompt.endswith("I'll pass your answer on to <@alice>.")
    assert [b.label for b in chat.buttons("bob")] == [
        "Great 🙌",
        "OK 🙂",
        "Rough 😮‍💨",
        "Answer in a form",
        "Skip",
        "Answer the follow-up in a form",
        "Skip the follow-up",
    ]

    form = await open_form(chat, "bob", "Answer the follow-up in a form")
    assert [f.name for f in form.fields] == ["action"]
    assert "shared that with <@alice>" in await submit(chat, "bob", form.form_id, action=ACTION)
    assert f"🌱 <@bob> acted on your feedback about “{QUESTION}”:\n{ACTION}" in chat.dms("alice")
    # The 7-day timer does not ask again.
    await run_due(chat, timedelta(days=3))
    assert sum("How did you act" in dm for dm in chat.dms("bob")) == 1


async def test_at_a_checkin_a_reply_answers_the_question_asked_last(chat: Chat) -> None:
    await ask_and_answer(chat)
    await run_due(chat, timedelta(days=4, hours=22))  # the check-in, then the follow-up
    # Two questions wait for bob's words: the reply goes to the one he sees right above
    # it (the follow-up came after the check-in prompt), with no "which one?" asked.
    assert "How did you act on" in chat.dms("bob")[-1]
    assert "shared that with <@alice>" in await chat.say("bob", ACTION)
    assert chat.dms("alice")[-1].endswith(ACTION)
    [row] = await feedback_rows(chat)
    assert row.action == ACTION
    # Only the check-in is left, so the next reply goes to it.
    await chat.say("bob", "great")
    assert chat.dms("bob")[-1].startswith("What moved forward since last time?")


@pytest.mark.parametrize("typed", ["great", "Great 🙌", " rough! "])
async def test_a_mood_typed_under_the_prompt_and_follow_up_answers_the_check_in(
    chat: Chat, typed: str
) -> None:
    """The check-in's prompt and the follow-up came in one message, the mood buttons on
    it: a mood typed as a button says it answers "How did it go?", not "How did you act
    on it?" (which would have shared it with alice as what bob did). Other words still
    answer the follow-up, the question asked last."""
    await ask_and_answer(chat)
    await run_due(chat, timedelta(days=4, hours=22))
    to_alice = len(chat.dms("alice"))
    assert "How did you act on" in chat.dms("bob")[-1]
    await chat.say("bob", typed)
    assert chat.dms("bob")[-1].startswith("What moved forward since last time?")
    assert chat.dms("alice")[to_alice:] == []
    [row] = await feedback_rows(chat)
    assert row.action is None
    async with chat.database.transaction() as session:
        [mood] = (await session.execute(select(CheckinAnswer.mood))).scalars().all()
    assert mood == typed.strip().lower().rstrip("!").split()[0]


async def test_a_mood_under_one_partners_follow_up_answers_that_pairs_check_in(
    chat: Chat,
) -> None:
    """bob has two mentors. At the check-in, carol's follow-up joins her prompt and
    alice's comes alone, last, below alice's own prompt. "great" typed under alice's
    follow-up answers alice's check-in; it went to carol's, whose conversation came
    later among the moment's."""
    await pair_up(chat, "alice", "bob")
    await pair_up(chat, "carol", "bob")
    await chat.say("bob", "/mentor feedback @carol In my PR for the parser, are the names clear?")
    await chat.say("bob", f"/mentor feedback @alice {QUESTION}")
    await chat.say("alice", ANSWER)
    await chat.say("carol", "Mostly; rename tmp2.")
    await run_due(chat, timedelta(days=4, hours=22))
    assert chat.dms("bob")[-1].startswith("🔁 You asked <@alice>:")
    await chat.say("bob", "great")
    assert chat.dms("bob")[-1].startswith("Check-in with <@alice>: What moved forward")
    assert [row.action for row in await feedback_rows(chat)] == [None, None]


async def test_a_reply_goes_to_the_check_in_question_asked_after_the_follow_up(
    chat: Chat,
) -> None:
    await ask_and_answer(chat)
    await run_due(chat, timedelta(days=4, hours=22))
    # A minute later bob answers the check-in's mood with a button: its next question
    # is now the one asked last.
    chat.clock.advance(timedelta(minutes=1))
    await chat.click("bob", "Great 🙌")
    assert chat.dms("bob")[-1].startswith("What moved forward since last time?")
    await chat.say("bob", "Shipped the login page.")
    assert chat.dms("bob")[-1].startswith("What is hard right now?")
    [row] = await feedback_rows(chat)
    assert row.action is None  # not stored against the follow-up
    await chat.say("bob", "Time for reviews.")
    assert chat.dms("bob")[-1].startswith("What would you like to bring")


async def _kept_reply_question(chat: Chat, user: str, text: str) -> tuple[int, int]:
    """A "which one is this reply for?" left open by an earlier version (which held
    replies back while several questions waited): its id and the user's open question."""
    async with chat.database.transaction() as session:
        target = (
            (
                await session.execute(
                    select(FlowSession)
                    .where(
                        FlowSession.kind.in_(["feedback", "checkin"]),
                        FlowSession.ended_at.is_(None),
                    )
                    .order_by(FlowSession.id.desc())
                )
            )
            .scalars()
            .first()
        )
        assert target is not None and target.member_id is not None
        question = FlowSession(
            workspace_id=target.workspace_id,
            kind="choose_conversation",
            state="asked",
            data={"text": text},
            member_id=target.member_id,
            created_at=chat.clock.now(),
            updated_at=chat.clock.now(),
        )
        session.add(question)
        await session.flush()
        return question.id, target.id


async def test_a_kept_reply_is_stored_where_chosen_or_said_not_saved(chat: Chat) -> None:
    await ask_and_answer(chat)
    await run_due(chat, timedelta(days=4, hours=22))
    question, target = await _kept_reply_question(chat, "bob", ACTION)
    button = Button("How you acted", f"flow:{question}:{target}")
    answer = await chat.press("bob", button, "dm-1")
    assert answer.startswith("Saved your reply as: How you acted on")
    assert "shared that with <@alice>" in answer
    [row] = await feedback_rows(chat)
    assert row.action == ACTION
    # Chosen for a question answered meanwhile: told plainly, quoting the words.
    question, _ = await _kept_reply_question(chat, "bob", "words for the follow-up")
    answer = await chat.press("bob", Button("How you acted", f"flow:{question}:{target}"), "x")
    assert "your reply “words for the follow-up” was not saved" in answer
    [row] = await feedback_rows(chat)
    assert row.action == ACTION


async def test_two_follow_ups_at_one_check_in_keep_their_buttons_apart(chat: Chat) -> None:
    await ask_and_answer(chat)
    await chat.say("bob", "/mentor feedback Was my retro on Friday too long for the team?")
    await chat.say("alice", "A little: keep it to the three top items.")
    await run_due(chat, timedelta(days=4, hours=22))  # Monday's check-in
    follow_ups = [dm for dm in chat.dms("bob") if "How did you act" in dm]
    assert len(follow_ups) == 2
    assert follow_ups[0].startswith("👋 Time for your check-in")  # one joins the prompt
    assert follow_ups[1].startswith("🔁 You asked <@alice>")  # the other comes on its own
    assert [b.label for b in chat.buttons("bob")] == ["Answer in a form", "Skip"]
    # A reply answers the one asked last: the second.
    assert "shared that with <@alice>" in await chat.say("bob", ACTION)
    rows = await feedback_rows(chat)
    assert [row.action for row in rows] == [None, ACTION]


async def test_a_follow_up_never_joins_another_pairs_check_in_prompt(chat: Chat) -> None:
    """bob has two mentors whose check-ins open at the same moment. alice's feedback is
    followed up with alice's check-in or on its own, never inside carol's prompt; and a
    reply right after it answers it."""
    await pair_up(chat, "alice", "bob")
    await pair_up(chat, "carol", "bob")
    await chat.say("alice", f"/mentor feedback @bob {ANSWER}")
    await run_due(chat, timedelta(days=4, hours=22))  # Monday 10:00: both check-ins
    follow_ups = [dm for dm in chat.dms("bob") if "How did you act on <@alice>'s" in dm]
    assert len(follow_ups) == 1 and "<@carol>" not in follow_ups[0]
    [carols] = [dm for dm in chat.dms("bob") if "Time for your check-in with <@carol>" in dm]
    assert "🔁" not in carols
    assert "shared that with <@alice>" in await chat.say("bob", ACTION)


async def test_a_reply_delivered_twice_among_open_conversations_is_stored_once(
    chat: Chat,
) -> None:
    """A typed DM's look-up reads the person's open conversations, one row each, and on
    PostgreSQL claims the event's key in the same statement: the reply goes to the one
    asked last, and a second delivery of it changes nothing and says nothing."""
    await ask_and_answer(chat)
    await chat.say("bob", "/mentor feedback Was my retro on Friday too long for the team?")
    await chat.say("alice", "A little: keep it to the three top items.")
    await run_due(chat, timedelta(days=4, hours=22))  # a check-in and two follow-ups open
    sent_to_alice = len(chat.dms("alice"))
    assert "shared that with <@alice>" in await chat.say("bob", ACTION, key="dm-1")
    assert await chat.say("bob", ACTION, key="dm-1") == ""
    rows = await feedback_rows(chat)
    assert [row.action for row in rows] == [None, ACTION]
    await chat.deliver()
    assert len(chat.dms("alice")) == sent_to_alice + 1
    # The next reply answers the next open question, the first follow-up.
    assert "shared that with <@alice>" in await chat.say("bob", "Cut it to three.", key="dm-2")
    assert [row.action for row in await feedback_rows(chat)] == ["Cut it to three.", ACTION]


async def test_an_answer_from_the_hour_before_a_checkin_waits_for_its_week(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", f"/mentor feedback {QUESTION}")
    chat.clock.advance(timedelta(days=4, hours=21))  # Monday 09:00
    await chat.say("alice", ANSWER)
    await run_due(chat, timedelta(hours=1))  # the check-in opens at 10:00
    assert any("Time for your check-in" in dm for dm in chat.dms("bob"))
    assert not any("How did you act" in dm for dm in chat.dms("bob"))
    await run_due(chat, timedelta(days=7) - timedelta(hours=1))
    assert sum("How did you act" in dm for dm in chat.dms("bob")) == 1


async def test_the_follow_up_waits_for_the_mentees_morning(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor cadence monthly")
    await chat.say("bob", "/mentor config timezone America/Los_Angeles")
    await chat.say("bob", f"/mentor feedback {QUESTION}")
    await chat.say("alice", ANSWER)
    await run_due(chat, timedelta(days=7))  # 12:00 UTC is 04:00 in Los Angeles
    assert not any("How did you act" in dm for dm in chat.dms("bob"))
    await run_due(chat, timedelta(hours=4))  # 08:00 there
    assert "How did you act" in chat.dms("bob")[-1]


async def test_a_reply_goes_to_a_question_seen_not_one_held_for_the_morning(
    chat: Chat,
) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor cadence monthly")
    await chat.say("bob", "/mentor config timezone America/Los_Angeles")
    await chat.say("bob", f"/mentor feedback {QUESTION}")
    await chat.say("alice", ANSWER)
    await run_due(chat, timedelta(days=6, hours=23))
    await chat.say("bob", "/mentor review")  # a look back, asked at once
    await run_due(chat, timedelta(hours=1, minutes=30))  # the follow-up waits for 08:00
    assert not any("How did you act" in dm for dm in chat.dms("bob"))
    assert await chat.say("bob", "We kept a steady rhythm.") == ""
    assert chat.dms("bob")[-1] == "What could be improved?"
    [row] = await feedback_rows(chat)
    assert row.action is None
    await run_due(chat, timedelta(hours=4))  # 08:00 there: now the follow-up is asked last
    assert "How did you act" in chat.dms("bob")[-1]
    assert "shared that with <@alice>" in await chat.say("bob", ACTION)


async def test_the_list_links_answer_and_action_to_the_question(chat: Chat) -> None:
    await ask_and_answer(chat)
    await run_due(chat, timedelta(days=5))
    # The check-in is open too; the follow-up was asked last, so the reply goes to it.
    assert "shared that with <@alice>" in await chat.say("bob", ACTION)
    chat.clock.advance(timedelta(days=1))
    await chat.say("bob", "/mentor feedback Was my retro on Friday too long for the team?")
    await pair_up(chat, "carol", "dave")
    await chat.say("dave", "/mentor feedback Is my design doc for search too detailed?")

    listing = await chat.say("bob", "/mentor feedback list")
    assert listing.index("Open:") < listing.index("Was my retro") < listing.index("Answered:")
    assert listing.index("Answered:") < listing.index(QUESTION)
    assert f"you asked <@alice>: “{QUESTION}”\n   answer: {ANSWER}\n" in listing
    assert f"   acted on it: {ACTION}" in listing
    # A question not answered yet has nothing to act on: no "acted on it" line.
    assert (
        "Open:\n• 2026-12-01 you asked <@alice>: “Was my retro on Friday too long for the "
        "team?”\n   answer: (waiting for an answer)\nAnswered:\n"
    ) in listing
    assert "design doc" not in listing  # someone else's

    mentor_view = await chat.say("alice", "/mentor feedback list")
    assert f"<@bob> asked you: “{QUESTION}”" in mentor_view and ACTION in mentor_view
    assert "design doc" not in mentor_view
    carol_view = await chat.say("carol", "/mentor feedback list")
    assert "design doc" in carol_view and QUESTION not in carol_view
    assert "No feedback yet" in await chat.say("erin", "/mentor feedback list")


async def test_the_list_shows_what_a_pairs_end_left_unfinished_as_closed(chat: Chat) -> None:
    """bob's question was answered, but not yet followed up; his second waits for an
    answer. The pair ends: neither waits for anyone any more, so the list no longer
    shows them as open (before: "(waiting for an answer)" and "(not yet)" for good)."""
    await ask_and_answer(chat)
    await chat.say("bob", "/mentor feedback Was my retro on Friday too long for the team?")
    await chat.say("alice", "/mentor end")
    await chat.click("alice", "End pair")
    for who in ("bob", "alice"):
        listing = await chat.say(who, "/mentor feedback list")
        assert "Open:" not in listing and "(waiting for an answer)" not in listing
        closed = listing.split("Closed when the pair ended:\n", 1)[1]
        assert closed.index("Was my retro") < closed.index(QUESTION)
        # A question never answered had nothing to act on: no line for it.
        assert closed.count("   acted on it: (not asked: the pair ended)") == 1
        assert "   answer: (not answered before the pair ended)" in closed
        assert f"   answer: {ANSWER}" in closed


async def test_answering_one_question_says_which_the_next_reply_answers(chat: Chat) -> None:
    """carol, then bob, ask alice a question. Her reply answers bob's, the one she sees
    last; carol's, further up, is what her next reply answers, and she is told so (before,
    her next words, "Thanks for asking!", went to carol as the answer without a word)."""
    await pair_up(chat, "alice", "bob")
    await pair_up(chat, "alice", "carol")
    await chat.say("carol", "/mentor feedback In my API design doc, is the error section clear?")
    await chat.say("bob", f"/mentor feedback {QUESTION}")
    answered = await chat.say("alice", ANSWER)
    assert answered.startswith(f"Thanks! I've sent <@bob> your answer to “{QUESTION}”")
    assert answered.endswith(
        "\n<@carol>'s question “In my API design doc, is the error section clear?” is still "
        "waiting for your answer: your next reply here answers it."
    )
    last = await chat.say("alice", "Yes: name each error's cause.")
    assert last.startswith("Thanks! I've sent <@carol> your answer")
    assert "still waiting" not in last


async def test_a_follow_up_answered_before_the_check_in_says_the_check_in_is_next(
    chat: Chat,
) -> None:
    """The follow-up came with the check-in, and was asked last: bob's reply answers it.
    The check-in's first question, above it, is what his next reply answers."""
    await ask_and_answer(chat)
    await run_due(chat, timedelta(days=5))
    acted = await chat.say("bob", ACTION)
    assert acted == (
        "Thanks! I've shared that with <@alice>.\nYour check-in with <@alice> is still "
        "open: your next reply here answers “How did it go since last time?”"
    )


async def test_the_mentor_gives_feedback_unprompted(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor cadence monthly")
    note = "Your standup updates were crisp this week; keep leading with blockers."
    # Monthly: the next check-in is further than a week away, so it is a week.
    assert await chat.say("alice", f"/mentor feedback {note}") == (
        "Sent your feedback to <@bob>. I'll ask them how they acted on it in a week, "
        "on Wed 2 Dec, 12:00 (UTC), and tell you."
    )
    assert chat.dms("bob")[-1] == f"💬 <@alice> shared some feedback with you:\n{note}"
    [row] = await feedback_rows(chat)
    assert (row.question, row.answer) == (None, note)

    await run_due(chat, timedelta(days=7))
    assert f"<@alice> gave you feedback: “{note}”" in chat.dms("bob")[-1]
    assert "Skipped" in await chat.click("bob", "Skip")
    assert "already answered" in await chat.click("bob", "Skip")
    assert not any("acted on your feedback" in dm for dm in chat.dms("alice"))
    listing = await chat.say("alice", "/mentor feedback list")
    assert f"you gave <@bob> feedback: “{note}”" in listing and "(skipped)" in listing


async def test_a_mentor_of_two_picks_whom_the_feedback_is_for(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await pair_up(chat, "alice", "carol")
    assert "Which one" in await chat.say("alice", "/mentor feedback Great demo, well paced.")
    await chat.click("alice", "With Carol (your mentee)")
    assert chat.dms("carol")[-1].endswith("Great demo, well paced.")
    assert not any("Great demo" in dm for dm in chat.dms("bob"))


async def test_a_third_persons_click_does_nothing(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.say("carol", "/mentor feedback list")  # carol is known, in no pair
    await chat.say("bob", "/mentor feedback thoughts?")
    send_anyway = chat.buttons("bob")[0]
    before = await snapshot(chat)
    assert "That question was for <@bob>" in await chat.press("carol", send_anyway)
    assert await snapshot(chat) == before

    await chat.click("bob", "Send anyway")
    answer_button = chat.buttons("alice")[0]
    before = await snapshot(chat)
    effects = await chat.engine.handle(
        ButtonClicked(user=chat.ref("carol"), action_id=answer_button.action_id)
    )
    assert not any(isinstance(e, OpenForm) for e in effects)
    assert "That question was for <@alice>" in effects[0].content.text  # type: ignore[union-attr]
    form_id = answer_button.action_id  # a form id has the same shape: flow:<id>:answer
    assert "was for <@alice>" in await submit(chat, "carol", form_id, answer="mine now")
    assert "not waiting for an answer" in await chat.say("carol", "my answer")
    assert await snapshot(chat) == before


async def test_a_double_click_sends_once(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", "/mentor feedback any feedback?")
    send_anyway = chat.buttons("bob")[0]
    assert "Sent your question" in await chat.press("bob", send_anyway)
    assert "already answered" in await chat.press("bob", send_anyway)
    assert len(await feedback_rows(chat)) == 1
    assert sum("asked for your feedback" in dm for dm in chat.dms("alice")) == 1


async def test_dm_replies_go_to_the_right_conversation(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await pair_up(chat, "alice", "carol")
    await chat.say("bob", f"/mentor feedback {QUESTION}")
    chat.clock.advance(timedelta(minutes=5))
    await chat.say("carol", "/mentor feedback Was my first code review too harsh on Sam?")
    # Two questions wait for alice's answer: a reply goes to the one asked last (carol's).
    # The thanks names the question answered, so alice sees which one it was.
    assert await chat.say("alice", "A little: start with what works.") == (
        "Thanks! I've sent <@carol> your answer to “Was my first code review too harsh on "
        "Sam?” I'll ask them how they acted on it at your next check-in, Mon 30 Nov, 10:00 "
        f"(UTC), and tell you.\n<@bob>'s question “{QUESTION}” is still waiting for your "
        "answer: your next reply here answers it."
    )
    assert chat.dms("carol")[-1].endswith("A little: start with what works.")
    assert not any("start with what works" in dm for dm in chat.dms("bob"))
    # One question is left, so the next reply goes straight to it.
    await chat.say("alice", ANSWER)
    assert chat.dms("bob")[-1].endswith(ANSWER)
    assert not any(ANSWER in dm for dm in chat.dms("carol"))
    # The mentees are not waiting to write anything yet: a thanks (for alice, likely) is
    # said to go nowhere, the rest is said not to be saved.
    assert await chat.say("bob", "thanks!") == (
        "You're welcome! 🙂 I pass on only the answers I ask for, so if that thanks was for "
        "your partner, tell them directly."
    )
    assert "not waiting for an answer" in await chat.say("bob", "I'll try it tomorrow")


async def test_bad_input_gets_a_clear_reply_and_changes_nothing(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", f"/mentor feedback {QUESTION}")
    form = await open_form(chat, "alice", "Answer in a form")
    before = await snapshot(chat)
    assert "3,001 characters" in await chat.say("alice", "x" * 3001)
    assert "3,001 characters" in await submit(chat, "alice", form.form_id, answer="y" * 3001)
    assert "was empty, so nothing was saved" in await submit(
        chat, "alice", form.form_id, answer=" \n\x00 "
    )
    assert "Write your question" in await chat.say("bob", "/mentor feedback")
    assert "keep it under 3,000" in await chat.say("bob", "/mentor feedback " + "q" * 3001)
    assert "not in a mentoring pair" in await chat.say("zoe", f"/mentor feedback {QUESTION}")
    assert await snapshot(chat) == before


async def test_questions_waiting_in_a_pair_close_when_it_ends(chat: Chat) -> None:
    """bob's question waits for alice's answer when the pair ends: alice's next DM is not
    sent to her former mentee as an answer, and her button says the pair ended (a pair
    ended by forget deletes these questions: bot/privacy.py)."""
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", f"/mentor feedback {QUESTION}")
    answer_button = chat.buttons("alice")[0]
    form = await open_form(chat, "alice", "Answer in a form")  # sent after the end
    await chat.say("bob", "/mentor end")
    await chat.click("bob", "End pair")
    for words in ("Went well: the demos.", "Could improve: fewer meetings."):
        await chat.say("alice", words)  # her look back, asked last
    to_bob = len(chat.dms("bob"))
    assert (await chat.say("alice", ANSWER)).startswith("I'm not waiting for an answer")
    assert len(chat.dms("bob")) == to_bob
    [row] = await feedback_rows(chat)
    assert row.answer is None
    assert await chat.press("alice", answer_button) == (
        "That pair has ended, so this question is closed."
    )
    assert await submit(chat, "alice", form.form_id, answer=ANSWER) == (
        f"That form is no longer open, so nothing was saved.\nHere is what you wrote, to "
        f"keep:\n\n{ANSWER}"
    )
    assert len(chat.dms("bob")) == to_bob
    async with chat.database.transaction() as session:
        flows = (await session.execute(select(FlowSession.kind, FlowSession.state))).all()
    assert ("feedback", "closed") in flows and ("feedback", "awaiting_answer") not in flows


async def test_a_coached_question_is_not_sent_once_the_pair_ended(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", "/mentor feedback any tips?")
    send_anyway = chat.buttons("bob")[0]
    await chat.say("alice", "/mentor end")
    await chat.click("alice", "End pair")
    assert "That pair has ended" in await chat.press("bob", send_anyway)
    assert await feedback_rows(chat) == []
    async with chat.database.transaction() as session:  # nor kept where it waited
        datas = (await session.execute(select(FlowSession.data))).scalars().all()
    assert not any("any tips?" in str(data) for data in datas)


async def test_feedback_while_a_question_waits_asks_whether_it_is_the_answer(
    chat: Chat,
) -> None:
    """alice writes ``/mentor feedback …`` while bob's question waits for her: she is
    asked whether it answers it, and nothing is sent until she says. Her words reach bob
    once, as she chose, and the question she did not answer still waits."""
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", f"/mentor feedback {QUESTION}")
    to_bob = len(chat.dms("bob"))
    asked = await chat.say("alice", f"/mentor feedback {ANSWER}")
    assert asked == (
        f"<@bob>'s question “{QUESTION}” is waiting for your answer. Is what you wrote "
        "your answer to it? Nothing is sent until you choose."
    )
    assert [b.label for b in chat.buttons("alice")] == [
        "Yes, it's my answer",
        "No, it's other feedback",
    ]
    assert len(chat.dms("bob")) == to_bob and (await feedback_rows(chat))[0].answer is None
    yes = chat.buttons("alice")[0]
    assert (await chat.press("alice", yes)).startswith(
        f"Thanks! I've sent <@bob> your answer to “{QUESTION}”"
    )
    assert chat.dms("bob")[-1] == (f"💬 <@alice> answered your question “{QUESTION}”:\n{ANSWER}")
    [row] = await feedback_rows(chat)
    assert (row.question, row.answer) == (QUESTION, ANSWER)
    assert "already answered" in await chat.press("alice", yes)  # a double click
    assert len(chat.dms("bob")) == to_bob + 1 and len(await feedback_rows(chat)) == 1

    # Other feedback: sent as such, and the new question still waits for her reply.
    await chat.say("bob", "/mentor feedback Was my first code review too harsh on Sam?")
    await chat.say("alice", "/mentor feedback Your standup updates are crisp.")
    assert (await chat.click("alice", "No, it's other feedback")).startswith(
        "Sent your feedback to <@bob>."
    )
    assert chat.dms("bob")[-1] == (
        "💬 <@alice> shared some feedback with you:\nYour standup updates are crisp."
    )
    await chat.say("alice", "A little: start with what works.")
    assert chat.dms("bob")[-1].endswith("A little: start with what works.")
    rows = await feedback_rows(chat)
    assert [(r.question, r.answer) for r in rows[1:]] == [
        ("Was my first code review too harsh on Sam?", "A little: start with what works."),
        (None, "Your standup updates are crisp."),
    ]


async def test_an_answer_or_feedback_choice_after_the_question_closed(chat: Chat) -> None:
    """The question was answered by a DM meanwhile: [Yes] still sends the words, as
    other feedback, and says so. The pair ended meanwhile: nothing is sent, and alice
    reads that it was not."""
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", f"/mentor feedback {QUESTION}")
    await chat.say("alice", "/mentor feedback Slow down on the diagrams.")
    yes = chat.buttons("alice")[0]
    await chat.say("alice", ANSWER)  # the DM reply answers the question
    assert (await chat.press("alice", yes)).startswith(
        "That question was answered meanwhile, so I sent this as other feedback. "
        "Sent your feedback to <@bob>."
    )
    assert [(r.question, r.answer) for r in await feedback_rows(chat)] == [
        (QUESTION, ANSWER),
        (None, "Slow down on the diagrams."),
    ]

    await chat.say("bob", "/mentor feedback Was my first code review too harsh on Sam?")
    await chat.say("alice", "/mentor feedback Be kinder to Sam.")
    choice = chat.buttons("alice")[0]
    await chat.say("bob", "/mentor end")
    await chat.click("bob", "End pair")
    to_bob = len(chat.dms("bob"))
    # The end offered a closing look back: her next reply answers it, and she is told.
    assert await chat.press("alice", choice) == (
        "That pair has ended, so I didn't send what you wrote.\n"
        "Your look back with <@bob> is still open: your next reply here answers “What went "
        "well?”"
    )
    assert len(chat.dms("bob")) == to_bob
    assert not any(r.answer == "Be kinder to Sam." for r in await feedback_rows(chat))
    async with chat.database.transaction() as session:  # nor kept where it waited
        datas = (await session.execute(select(FlowSession.data))).scalars().all()
    assert not any("Be kinder to Sam." in str(data) for data in datas)


async def test_a_typed_skip_skips_the_follow_up_and_is_no_mentors_answer(chat: Chat) -> None:
    """bob's "skip" to "how did you act on it?" skips it, as its [Skip] does, and alice
    hears nothing. alice's "skip" to bob's question is not sent to him as her answer:
    there is no skip there, and she is told so."""
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", f"/mentor feedback {QUESTION}")
    to_bob = len(chat.dms("bob"))
    assert await chat.say("alice", "skip") == (
        "There is no skipping <@bob>'s question, so I didn't send “skip” as your answer. "
        "If you'd rather not answer it, tell them so in your own words."
    )
    assert len(chat.dms("bob")) == to_bob and (await feedback_rows(chat))[0].answer is None
    await chat.say("alice", ANSWER)
    await run_due(chat, timedelta(days=7))
    assert any("How did you act on" in dm for dm in chat.dms("bob"))
    to_alice = len(chat.dms("alice"))
    assert await chat.say("bob", "Skip this one") == (
        "Skipped. I won't ask about this feedback again."
    )
    [row] = await feedback_rows(chat)
    assert (row.action, row.acted_at is not None) == (None, True)
    assert len(chat.dms("alice")) == to_alice


async def test_the_same_question_while_it_waits_is_not_asked_twice(chat: Chat) -> None:
    """bob sends his question twice (Enter pressed twice, or to hurry alice): it is
    asked once, and bob reads why. Once answered, asking it again is a new question."""
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", f"/mentor feedback {QUESTION}")
    to_alice = len(chat.dms("alice"))
    again = await chat.say("bob", f"/mentor feedback  {QUESTION.lower().rstrip('?')}")
    assert again == (
        "You asked this on Wed 25 Nov, 12:00 (UTC), and it still waits for an answer, so I "
        "didn't send it again. I'll DM you the answer when it comes."
    )
    # A vague one sent anyway is looked at the same way.
    await chat.say("bob", "/mentor feedback any feedback?")
    await chat.click("bob", "Send anyway")
    await chat.say("bob", "/mentor feedback any feedback?")
    assert (await chat.click("bob", "Send anyway")).startswith("You asked this on")
    assert len(chat.dms("alice")) == to_alice + 1
    assert [r.question for r in await feedback_rows(chat)] == [QUESTION, "any feedback?"]
    await chat.say("alice", ANSWER)  # answers the one asked last: "any feedback?"
    await chat.say("alice", ANSWER)
    assert (await chat.say("bob", f"/mentor feedback {QUESTION}")).startswith(
        "Sent your question to <@alice>."
    )
    assert len(await feedback_rows(chat)) == 3


async def test_the_list_pages_through_every_item(chat: Chat) -> None:
    """The list showed the newest ten and "(Showing the newest 10.)", with no way to see
    the rest; `/mentor feedback list 2` was sent to the mentor as a question. Now it has
    pages, as the journal does: by number, and by [Older] / [Newer]."""
    await pair_up(chat, "alice", "bob")
    for n in range(1, 24):
        await chat.say("bob", f"/mentor feedback In my PR number {n}, is the error handling clear?")
    first = await chat.say("bob", "/mentor feedback list")
    assert first.startswith("Your feedback, newest first (page 1 of 3, 23 in all):\nOpen:\n")
    assert "PR number 23," in first and "PR number 14," in first and "PR number 13," not in first
    second = await chat.click("bob", "Older")
    assert second.startswith("Your feedback, newest first (page 2 of 3, 23 in all):")
    assert "PR number 13," in second and "PR number 4," in second and "PR number 3," not in second
    assert "PR number 14," in await chat.click("bob", "Newer")
    for typed in ("list 3", "list page 3", "LIST 3"):
        third = await chat.say("bob", f"/mentor feedback {typed}")
        assert third.startswith("Your feedback, newest first (page 3 of 3, 23 in all):")
        assert [n for n in range(1, 24) if f"PR number {n}," in third] == [1, 2, 3]
    assert await chat.say("bob", "/mentor feedback list 4") == (
        "Your feedback fills 3 pages; there is no page 4. `/mentor feedback list` shows the newest."
    )
    assert "`0` is not a page number." in await chat.say("bob", "/mentor feedback list 0")
    # One word after "list" is a page, or a mistyped one (it was coached as a question).
    assert "`x` is not a page number." in await chat.say("bob", "/mentor feedback list x")
    assert (await chat.say("bob", "/mentor feedback list?")).startswith("Your feedback, newest")
    # Punctuation alone asks nothing (it was coached, and could be sent anyway).
    assert "Write your question" in await chat.say("bob", "/mentor feedback ?")
    assert len(await feedback_rows(chat)) == 23  # none of these was a question
    # Words after "list" that are no page are a question, as before.
    asked = await chat.say("bob", "/mentor feedback list three things I could do better in my talk")
    assert asked.startswith("Sent your question to <@alice>.")
    assert len(await feedback_rows(chat)) == 24


async def test_a_question_with_no_pair_to_send_it_to_is_said_back_as_not_sent(
    chat: Chat,
) -> None:
    """Words typed are kept, or their author is told plainly they were not: a question
    with no pair (or with someone who is no partner, or a pair not started) says "I
    didn't send" it, quoting it, before why."""
    assert await chat.say("bob", f"/mentor feedback {QUESTION}") == (
        f"I didn't send “{QUESTION}”. You're not in a mentoring pair yet. Start one with "
        "`/mentor pair @mentor @mentee`."
    )
    await chat.say("alice", "/mentor pair @alice @bob")
    assert (await chat.say("alice", f"/mentor feedback {QUESTION}")).startswith(
        f"I didn't send “{QUESTION}”. Your pair with <@bob> hasn't started yet"
    )
    await chat.click("bob", "Accept")
    assert (await chat.say("bob", f"/mentor feedback @carol {QUESTION}")).startswith(
        f"I didn't send “{QUESTION}”. You don't have a pair with <@carol>"
    )
    assert await feedback_rows(chat) == []


async def test_send_anyway_after_asking_again_sends_nothing_more(chat: Chat) -> None:
    """bob is coached on "any feedback?", asks again more specifically, as the prompt
    suggests, then presses the prompt's [Send anyway], still on screen: the open
    question is not sent as well (it was, so alice got both). Asking it again sends it."""
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", "/mentor feedback any feedback?")
    chat.clock.advance(timedelta(minutes=2))
    await chat.say("bob", f"/mentor feedback {QUESTION}")
    to_alice = len(chat.dms("alice"))
    assert await chat.click("bob", "Send anyway") == (
        f"You asked <@alice> “{QUESTION}” after this, so I didn't send “any feedback?”. "
        "To send it as well, ask it again with `/mentor feedback`."
    )
    assert len(chat.dms("alice")) == to_alice
    assert [r.question for r in await feedback_rows(chat)] == [QUESTION]
    chat.clock.advance(timedelta(minutes=2))
    await chat.say("bob", "/mentor feedback any feedback?")
    assert (await chat.click("bob", "Send anyway")).startswith("Sent your question to <@alice>.")
    assert [r.question for r in await feedback_rows(chat)] == [QUESTION, "any feedback?"]
