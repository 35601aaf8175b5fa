"""Reviews: after a goal milestone and when a pair ends, each member looks back (what went
well, what could be improved); the answers go to the partner and are kept."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.effects import OpenForm
from bot.events import ButtonClicked
from bot.storage.models import Review
from tests.conversation import Chat, pair_up
from tests.test_bad_input import snapshot
from tests.test_feedback import open_form, run_due, submit

WENT_WELL = "The outline session on Monday made the talk hang together."
IMPROVE = "Start rehearsing a week earlier."


async def reviews(chat: Chat) -> list[Review]:
    async with chat.database.transaction() as session:
        return list((await session.execute(select(Review).order_by(Review.id))).scalars())


async def complete_a_goal(chat: Chat) -> None:
    """alice mentors bob; bob sets a goal, alice marks it done."""
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", "/mentor milestone add Give a talk")
    await chat.say("alice", "/mentor milestone done 1")


async def test_both_members_look_back_after_a_goal_milestone(chat: Chat) -> None:
    await complete_a_goal(chat)
    for me, partner in (("alice", "bob"), ("bob", "alice")):
        prompt = chat.dms(me)[-1]
        # One message: the celebration, then the look back it starts.
        assert prompt.startswith("🎉 ")
        assert "\n\nTime for a short look back at milestone #1 *Give a talk*." in prompt
        assert f"I'll share your answers with <@{partner}>" in prompt
        assert "What went well?" in prompt
        assert [b.label for b in chat.buttons(me)] == ["Answer in a form", "Skip"]
    assert [(r.occasion, r.milestone_id is not None) for r in await reviews(chat)] == [
        ("milestone", True),
        ("milestone", True),
    ]

    # bob answers in DMs, one question at a time.
    assert await chat.say("bob", WENT_WELL) == ""
    assert chat.dms("bob")[-1] == "What could be improved?"
    assert "shared your look back with <@alice>" in await chat.say("bob", IMPROVE)
    assert chat.dms("alice")[-1] == (
        "🔎 <@bob>'s look back at milestone #1 *Give a talk*:\n"
        f"Went well: {WENT_WELL}\nCould improve: {IMPROVE}"
    )
    # alice answers in the form, leaving one answer empty.
    form = await open_form(chat, "alice", "Answer in a form")
    assert [f.name for f in form.fields] == ["went_well", "could_improve"]
    assert "shared your look back with <@bob>" in await submit(
        chat, "alice", form.form_id, went_well="Bob drove the agenda.", could_improve=""
    )
    assert chat.dms("bob")[-1] == (
        "🔎 <@alice>'s look back at milestone #1 *Give a talk*:\n"
        "Went well: Bob drove the agenda.\nCould improve: (skipped)"
    )
    kept = {(r.went_well, r.could_improve) for r in await reviews(chat)}
    assert kept == {(WENT_WELL, IMPROVE), ("Bob drove the agenda.", None)}
    assert all(r.answered_at == chat.clock.now() for r in await reviews(chat))


async def test_automatic_milestones_get_no_review(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", "/win shipped the first PR")  # reaches "First win"
    assert await reviews(chat) == []
    assert not any("What went well?" in dm for dm in chat.dms("bob") + chat.dms("alice"))


async def test_both_members_look_back_when_a_pair_ends(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor end")
    await chat.click("alice", "End pair")
    # alice's confirmation said it ended; her DM asks her to look back.
    assert chat.dms("alice")[-1].startswith("Time for a short look back at your pair with <@bob>.")
    # bob hears of the end and is asked to look back in one message.
    assert chat.dms("bob")[-1].startswith(
        "<@alice> ended your mentoring pair. Thank you for the time you gave each other.\n\n"
        "Time for a short look back at your pair with <@alice>."
    )
    assert sum("ended your mentoring pair" in dm for dm in chat.dms("bob")) == 1
    assert len(chat.dms("bob")) == 2  # the pairing, then this one
    assert [r.occasion for r in await reviews(chat)] == ["pair_end", "pair_end"]

    await chat.say("alice", "Bob asked sharp questions every week.")
    await chat.say("alice", "We could have set goals earlier.")
    assert chat.dms("bob")[-1] == (
        "🔎 <@alice>'s look back at your pair:\n"
        "Went well: Bob asked sharp questions every week.\n"
        "Could improve: We could have set goals earlier."
    )
    # bob skips both: kept as answered, nothing is sent to alice.
    alice_dms = len(chat.dms("alice"))
    assert await chat.click("bob", "Skip") == "What went well? (skipped)"
    assert "nothing to share" in await chat.click("bob", "Skip")
    assert len(chat.dms("alice")) == alice_dms
    bobs = [r for r in await reviews(chat) if r.went_well is None]
    assert len(bobs) == 1 and bobs[0].answered_at is not None


async def test_mentor_review_after_the_pair_ended_asks_its_open_look_back_again(
    chat: Chat,
) -> None:
    """The pair has ended, its look back waits: ``/mentor review`` sends that question
    again (it said "You're not in a mentoring pair now", with the look back open)."""
    await pair_up(chat, "alice", "bob")
    await pair_up(chat, "carol", "dave")
    await chat.say("bob", "/mentor end")
    await chat.click("bob", "End pair")
    before = len(await reviews(chat))
    # Her status says it waits, and how to get its question again.
    assert (
        "ended on 2026-11-25. Your look back at it waits for your answers in DMs: "
        "`/mentor review` sends its question again." in await chat.say("alice", "/mentor status")
    )
    answer = await chat.say("alice", "/mentor review")
    assert answer == (
        "Your pair with <@bob> has ended, and your look back at it is open; I've sent you "
        "its question again in DMs: What went well?"
    )
    assert chat.dms("alice")[-1].startswith("Your look back is still open.\nWhat went well?")
    await chat.say("alice", WENT_WELL)
    assert "What could be improved?" in await chat.say("alice", "/mentor review @bob")
    assert chat.dms("alice")[-1].endswith("What could be improved?")
    assert len(await reviews(chat)) == before  # asked again, none started
    # Someone else's ended pair, or another person named, is not theirs to answer.
    assert "not in a mentoring pair now" in await chat.say("alice", "/mentor review @carol")
    await chat.say("alice", IMPROVE)
    assert chat.dms("bob")[-1].startswith("🔎 <@alice>'s look back at your pair:")
    # Answered: nothing is open, and the answers are as before.
    assert "not in a mentoring pair now" in await chat.say("alice", "/mentor review")
    assert "look back" not in await chat.say("alice", "/mentor status")


async def test_a_look_back_asked_for_becomes_the_one_at_the_pairs_end(chat: Chat) -> None:
    """bob asked for a look back and answered its first question; then alice ends the
    pair. bob is not asked a second look back beside it (his next reply would have gone
    to one of two): the open one is asked on, and it is shared as the pair's."""
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", "/mentor review")
    await chat.say("bob", WENT_WELL)
    await chat.say("alice", "/mentor end")
    await chat.click("alice", "End pair")
    assert chat.dms("bob")[-1] == (
        "<@alice> ended your mentoring pair. Thank you for the time you gave each other.\n\n"
        "Time for a short look back at your pair with <@alice>: the one you started is still "
        "open. I'll share your answers with <@alice>; skip anything you like.\n"
        "What could be improved?"
    )
    assert chat.dms("alice")[-1].startswith("Time for a short look back at your pair with <@bob>.")
    assert [(r.member_id, r.occasion) for r in await reviews(chat)] == [
        (2, "pair_end"),
        (1, "pair_end"),
    ]
    await chat.say("bob", IMPROVE)
    assert chat.dms("alice")[-1] == (
        f"🔎 <@bob>'s look back at your pair:\nWent well: {WENT_WELL}\nCould improve: {IMPROVE}"
    )
    # Nothing of bob's is open any more: a reply is not taken as an answer.
    assert "not waiting for an answer" in await chat.say("bob", "one more thing")


async def test_a_withdrawn_proposal_gets_no_review(chat: Chat) -> None:
    await chat.say("alice", "/mentor pair @alice @bob")
    await chat.say("alice", "/mentor end")
    await chat.click("alice", "Withdraw it")
    assert await reviews(chat) == []


async def test_mentor_review_asks_only_the_person_who_typed_it(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    alice_dms = len(chat.dms("alice"))
    assert "sent you a short look back in DMs" in await chat.say("bob", "/mentor review")
    assert chat.dms("bob")[-1].startswith("A short look back at your mentoring with <@alice>.")
    assert len(chat.dms("alice")) == alice_dms
    # Asking again re-sends the open one instead of starting a second.
    assert "open already" in await chat.say("bob", "/mentor review")
    assert "What went well?" in chat.dms("bob")[-1]
    assert len(await reviews(chat)) == 1

    await chat.say("bob", WENT_WELL)
    assert "open already" in await chat.say("bob", "/mentor review @alice")
    assert chat.dms("bob")[-1].endswith("What could be improved?")
    await chat.say("bob", IMPROVE)
    assert chat.dms("alice")[-1].startswith("🔎 <@bob>'s look back at your mentoring so far:")
    assert "not waiting for an answer" in await chat.say("alice", "hm?")


async def test_a_double_click_on_skip_skips_one_question(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", "/mentor review")
    skip = chat.buttons("bob")[-1]
    # The question stays readable, shown skipped, as a check-in's does (it read
    # "Skipped.", with the question gone).
    assert await chat.press("bob", skip) == "What went well? (skipped)"
    assert "already answered" in await chat.press("bob", skip)
    assert chat.dms("bob")[-1] == "What could be improved?"
    [review] = await reviews(chat)
    assert review.answered_at is None
    assert "shared your look back" in await chat.say("bob", IMPROVE)


async def test_a_third_persons_click_does_nothing(chat: Chat) -> None:
    await complete_a_goal(chat)
    await chat.say("carol", "/mentor help")  # carol is known, in no pair
    before = await snapshot(chat)
    skip = chat.buttons("bob")[-1]
    assert "That question was for <@bob>" in await chat.press("carol", skip)
    form_button = chat.buttons("bob")[0]
    effects = await chat.engine.handle(
        ButtonClicked(user=chat.ref("carol"), action_id=form_button.action_id)
    )
    assert not any(isinstance(e, OpenForm) for e in effects)
    # (a button of a joined message carries the keep: mark; the form's id does not)
    form_id = form_button.action_id.removeprefix("keep:").replace(":form", ":answers")
    assert "was for <@bob>" in await submit(chat, "carol", form_id, went_well="mine")
    assert await snapshot(chat) == before


async def test_a_click_on_a_joined_message_keeps_its_other_question(chat: Chat) -> None:
    """The consent question and the look back share one message: answering one of them
    leaves the message (and the other question's buttons) in place."""
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor config shoutouts #wins")
    await chat.say("bob", "/mentor milestone add Give a talk")
    await chat.say("bob", "/mentor milestone done 1")
    before = len(chat.recorder.seen)
    assert "celebrate your milestones in <#wins>" in await chat.click("bob", "Yes, shout it out")
    assert not [s for s in chat.recorder.seen[before:] if s.kind == "updated"]
    # the look back's, still there
    assert await chat.click("bob", "Skip") == "What went well? (skipped)"
    assert chat.dms("bob")[-1] == "What could be improved?"


async def test_bad_input_gets_a_clear_reply_and_changes_nothing(chat: Chat) -> None:
    await complete_a_goal(chat)
    form = await open_form(chat, "bob", "Answer in a form")
    before = await snapshot(chat)
    assert "3,001 characters" in await chat.say("bob", "x" * 3001)
    assert "Both answers were empty" in await submit(
        chat, "bob", form.form_id, went_well="  ", could_improve="\x00"
    )
    assert "not in a mentoring pair" in await chat.say("zoe", "/mentor review")
    assert "partner's @mention" in await chat.say("bob", "/mentor review alice")
    assert await snapshot(chat) == before
    # A double submit: the second finds the look back done.
    await submit(chat, "bob", form.form_id, went_well=WENT_WELL)
    assert "no longer open" in await submit(chat, "bob", form.form_id, went_well="again")
    assert sum("🔎 <@bob>'s look back at milestone" in dm for dm in chat.dms("alice")) == 1


async def test_one_over_long_answer_in_the_form_costs_only_itself(chat: Chat) -> None:
    await complete_a_goal(chat)
    form = await open_form(chat, "bob", "Answer in a form")
    answer = await submit(chat, "bob", form.form_id, went_well=WENT_WELL, could_improve="y" * 3001)
    # Named as bob saw it, never by an internal key; the answer that fit is kept.
    assert "Your answer to “What could be improved?” is 3,001 characters long" in answer
    assert "could_improve" not in answer
    mine = [r for r in await reviews(chat) if r.went_well]
    assert [r.went_well for r in mine] == [WENT_WELL]
    assert not any("🔎 <@bob>'s look back at milestone" in dm for dm in chat.dms("alice"))
    # Only the over-long one is asked again; a reply finishes the look back.
    assert "shared your look back with <@alice>" in await chat.say("bob", IMPROVE)
    assert chat.dms("alice")[-1].endswith(f"Went well: {WENT_WELL}\nCould improve: {IMPROVE}")


async def test_a_form_after_a_typed_answer_shows_it_and_continues(chat: Chat) -> None:
    await complete_a_goal(chat)
    await chat.say("bob", WENT_WELL)
    form = await open_form(chat, "bob", "Answer in a form")
    # Both questions, the one answered already filled in with bob's answer.
    assert [(f.name, f.initial) for f in form.fields] == [
        ("went_well", WENT_WELL),
        ("could_improve", None),
    ]
    # Sent back as shown, and a blank one skipped: nothing is erased.
    await submit(chat, "bob", form.form_id, went_well=WENT_WELL, could_improve="")
    [mine] = [r for r in await reviews(chat) if r.member_id and r.answered_at]
    assert (mine.went_well, mine.could_improve) == (WENT_WELL, None)
    assert chat.dms("alice")[-1].endswith(f"Went well: {WENT_WELL}\nCould improve: (skipped)")


async def test_an_answer_emptied_in_the_form_stays_and_an_edited_one_replaces_it(
    chat: Chat,
) -> None:
    await complete_a_goal(chat)
    await chat.say("bob", WENT_WELL)
    form = await open_form(chat, "bob", "Answer in a form")
    await submit(chat, "bob", form.form_id, went_well="", could_improve=IMPROVE)
    assert chat.dms("alice")[-1].endswith(f"Went well: {WENT_WELL}\nCould improve: {IMPROVE}")

    await chat.say("alice", WENT_WELL)
    form = await open_form(chat, "alice", "Answer in a form")
    assert form.fields[0].initial == WENT_WELL
    edited = "The outline session on Monday, and the dry run on Thursday."
    await submit(chat, "alice", form.form_id, went_well=edited, could_improve=IMPROVE)
    assert chat.dms("bob")[-1].endswith(f"Went well: {edited}\nCould improve: {IMPROVE}")
    theirs = [(r.went_well, r.could_improve) for r in await reviews(chat)]
    assert theirs == [(edited, IMPROVE), (WENT_WELL, IMPROVE)]  # one row each, once


async def test_an_over_long_edit_in_the_form_keeps_the_earlier_answer(chat: Chat) -> None:
    await complete_a_goal(chat)
    await chat.say("bob", WENT_WELL)
    form = await open_form(chat, "bob", "Answer in a form")
    answer = await submit(chat, "bob", form.form_id, went_well="w" * 3001, could_improve=IMPROVE)
    assert (
        "Your answer to “What went well?” is 3,001 characters long; it can be up to 3,000, "
        "so that one was not saved (your earlier answer stays)."
    ) in answer
    [mine] = [r for r in await reviews(chat) if r.could_improve]
    assert (mine.went_well, mine.could_improve) == (WENT_WELL, IMPROVE)
    assert "shared your look back with <@alice>" in await chat.say("bob", "Shorter now.")
    assert chat.dms("alice")[-1].endswith(f"Went well: Shorter now.\nCould improve: {IMPROVE}")


async def test_the_partners_prompt_waits_for_their_morning(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor config timezone America/Los_Angeles")
    await chat.say("bob", "/mentor milestone add Give a talk")
    await chat.say("bob", "/mentor milestone done 1")  # 12:00 UTC, 04:00 for alice
    assert "What went well?" in chat.dms("bob")[-1]
    assert not any("What went well?" in dm for dm in chat.dms("alice"))
    await run_due(chat, timedelta(hours=4))
    assert "What went well?" in chat.dms("alice")[-1]


async def test_someone_in_two_pairs_is_told_whose_look_back_each_question_is(
    chat: Chat,
) -> None:
    """alice mentors bob and carol, and both pairs complete a goal: two look backs open
    for her, and a reply answers the question asked last, so her second questions say
    whose look back they are. bob and carol, in one pair each, are asked plainly."""
    await pair_up(chat, "alice", "bob")
    await pair_up(chat, "alice", "carol")
    await chat.say("bob", "/mentor milestone add Give a talk")
    await chat.say("carol", "/mentor milestone add Ship the API")
    await chat.say("alice", "/mentor milestone done @bob 1")
    await chat.say("alice", "/mentor milestone done @carol 1")
    # Her newest question is carol's look back's first: the intro names carol.
    assert "milestone #1 *Ship the API*" in chat.dms("alice")[-1]
    # Its form says whose look back it is too; bob's, in one pair, is plainly "Look back".
    assert (await open_form(chat, "alice", "Answer in a form")).title == "Look back with Carol"
    assert (await open_form(chat, "bob", "Answer in a form")).title == "Look back"
    assert await chat.say("alice", "Carol scoped it well.") == ""
    assert chat.dms("alice")[-1] == "Look back with <@carol>: What could be improved?"
    # Finished with a click, it says what her next reply answers, as a typed answer does.
    assert await chat.click("alice", "Skip") == (
        "Look back with <@carol>: What could be improved? (skipped)\n"
        "Thanks! I've shared your look back with <@carol>.\n"
        "Your look back with <@bob> is still open: your next reply here answers “What went "
        "well?”"
    )
    await chat.say("alice", "Bob rehearsed twice.")
    assert chat.dms("alice")[-1] == "Look back with <@bob>: What could be improved?"
    assert "shared your look back with <@bob>" in await chat.say("alice", IMPROVE)
    await chat.say("bob", WENT_WELL)
    assert chat.dms("bob")[-1] == "What could be improved?"
    kept = {(r.went_well, r.could_improve) for r in await reviews(chat) if r.answered_at}
    assert kept == {("Carol scoped it well.", None), ("Bob rehearsed twice.", IMPROVE)}


async def test_a_typed_skip_skips_a_look_back_question(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", "/mentor review")
    await chat.say("bob", WENT_WELL)
    assert (await chat.say("bob", "skip")).startswith("Thanks! I've shared your look back")
    [review] = await reviews(chat)
    assert (review.went_well, review.could_improve) == (WENT_WELL, None)
    assert chat.dms("alice")[-1].endswith("Could improve: (skipped)")


async def test_a_look_back_left_waiting_is_named_as_what_the_next_reply_answers(
    chat: Chat,
) -> None:
    """alice started a look back, then bob's question came, below it. Her reply answers
    bob's question; the look back, further up, is what her next reply answers."""
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor review")
    chat.clock.advance(timedelta(minutes=1))
    await chat.say("bob", "/mentor feedback In my demo on Friday, was the pacing right?")
    answered = await chat.say("alice", "Yes, until the Q&A.")
    assert answered.endswith(
        "\nYour look back with <@bob> is still open: your next reply here answers “What went well?”"
    )
    assert chat.dms("bob")[-1].endswith("Yes, until the Q&A.")
    assert await chat.say("alice", WENT_WELL) == ""  # its next question follows
    assert chat.dms("alice")[-1] == "What could be improved?"


async def test_a_typed_stop_in_a_look_back_is_not_shared(chat: Chat) -> None:
    """ "stop" under "What went well?" was shared with bob as "Went well: stop"; now it
    is not saved, and the look back still waits for her words."""
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor review")
    to_bob = len(chat.dms("bob"))
    assert await chat.say("alice", "stop") == (
        "I didn't save “stop” as an answer. Your look back with <@bob> is still open: your "
        "next reply here answers “What went well?” If you'd rather not answer, press Skip: "
        "a look back with every question skipped is not sent to anyone."
    )
    assert chat.dms("bob")[to_bob:] == []
    [review] = await reviews(chat)
    assert (review.went_well, review.answered_at) == (None, None)
    await chat.say("alice", "Weekly calls")
    assert chat.dms("alice")[-1].startswith("What could be improved?")


async def test_a_look_back_left_by_skipping_as_the_stop_answer_says_is_sent_to_nobody(
    chat: Chat,
) -> None:
    """A look back never closes by itself (a check-in does, after 48 hours): "stop" says
    to skip, and doing so closes it with nothing sent and nothing left waiting."""
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor review")
    to_bob = len(chat.dms("bob"))
    assert "press Skip" in await chat.say("alice", "never mind")
    await chat.click("alice", "Skip")
    await chat.click("alice", "Skip")
    assert chat.dms("bob")[to_bob:] == []
    [review] = await reviews(chat)
    assert (review.went_well, review.could_improve) == (None, None)
    assert review.answered_at is not None
    assert "not waiting for an answer" in await chat.say("alice", "stop")
