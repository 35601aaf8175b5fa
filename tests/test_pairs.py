"""Pairs form by consent, end with a confirmation, and ambiguous commands ask which pair."""

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.flows.checkin import NOT_SHARED
from bot.flows.sessions import FlowAction
from bot.storage.models import Checkin, FlowSession, Milestone, Pair, PairState
from tests.conftest import START
from tests.conversation import Chat, behind_another_instance, pair_up
from tests.statements import statements_per_event
from tests.test_rhythm import status


async def _pairs(chat: Chat) -> list[Pair]:
    async with chat.database.transaction() as session:
        return list((await session.execute(select(Pair).order_by(Pair.id))).scalars())


async def test_the_mentee_accepts_and_both_are_told(chat: Chat) -> None:
    answer = await chat.say("alice", "/mentor pair @alice @bob")
    assert answer == "I asked <@bob> whether they'd like you as their mentor."
    assert chat.dms("bob") == [chat.dms("bob")[0]]
    assert "<@alice> would like to mentor you" in chat.dms("bob")[0]
    assert [b.label for b in chat.buttons("bob")] == ["Accept", "Decline"]
    assert (await _pairs(chat))[0].state == PairState.PROPOSED

    answer = await chat.click("bob", "Accept")
    assert "You're paired: <@alice> is mentoring <@bob>" in answer
    assert any("You're paired" in dm for dm in chat.dms("alice"))
    (pair,) = await _pairs(chat)
    assert pair.state == PairState.ACTIVE
    assert pair.next_checkin_at is not None and pair.next_checkin_at > chat.clock.now()


async def test_a_third_person_needs_both_to_accept(chat: Chat) -> None:
    answer = await chat.say("carol", "/mentor pair @alice @bob")
    assert "I asked <@alice> and <@bob> to agree that <@alice> mentors <@bob>" in answer
    assert "suggests that you mentor <@bob>" in chat.dms("alice")[0]
    assert "suggests that <@alice> mentors you" in chat.dms("bob")[0]
    assert "Waiting for <@bob>" in await chat.click("alice", "Accept")
    assert (await _pairs(chat))[0].state == PairState.PROPOSED
    await chat.click("bob", "Accept")
    assert (await _pairs(chat))[0].state == PairState.ACTIVE
    # carol is not in the pair: told that it formed, not "You're paired".
    assert chat.dms("carol")[-1] == (
        "🤝 <@alice> and <@bob> both accepted: <@alice> is mentoring <@bob>. "
        "Their check-ins: every Monday at 10:00 (UTC)."
    )
    assert not any("You're paired" in dm for dm in chat.dms("carol"))


async def test_status_of_someone_who_proposed_two_others_shows_what_waits(chat: Chat) -> None:
    """carol, in no pair herself, proposed pairs for others: `/mentor status` said only
    "You're not in a mentoring pair yet. Start one with …", right after she did. Now it
    names each proposal still waiting, and who is still to accept (three at most)."""
    await chat.say("carol", "/mentor pair @alice @bob")
    await chat.click("alice", "Accept")
    await chat.say("carol", "/mentor pair @dan @erin")
    assert await chat.say("carol", "/mentor status") == (
        "You're not in a mentoring pair yet. Start one with `/mentor pair @mentor @mentee`."
        "\n\nThe pairs you proposed, still waiting:\n"
        "• <@alice> mentoring <@bob>: waiting for <@bob> to accept\n"
        "• <@dan> mentoring <@erin>: waiting for <@dan> and <@erin> to accept"
    )
    for mentor, mentee in (("fay", "gus"), ("hal", "ida")):
        await chat.say("carol", f"/mentor pair @{mentor} @{mentee}")
    assert (await chat.say("carol", "/mentor status")).endswith(
        "• <@fay> mentoring <@gus>: waiting for <@fay> and <@gus> to accept\n• and 1 more"
    )
    # Once they answer, it is no longer waiting; the proposer's own pair shows as ever.
    await chat.click("bob", "Accept")
    await chat.click("erin", "Decline")
    assert "<@alice> mentoring" not in await chat.say("carol", "/mentor status")
    assert "<@dan> mentoring" not in await chat.say("carol", "/mentor status")


async def test_status_of_someone_in_a_pair_shows_pairs_they_proposed_for_others_too(
    chat: Chat,
) -> None:
    """A program lead in a pair of their own proposes pairs for others: their status
    shows their own pair, then what waits of those, and not their own proposal twice."""
    await pair_up(chat, "carol", "zoe")
    await chat.say("carol", "/mentor pair @dan @erin")
    await chat.say("carol", "/mentor pair @carol @yan")
    shown = await status(chat, "carol")
    assert shown.startswith("Your 2 pairs:\nYou mentoring <@zoe>\nState: active\n")
    assert shown.endswith(
        "\nThe pair you proposed, still waiting\n"
        "• <@dan> mentoring <@erin>: waiting for <@dan> and <@erin> to accept"
    )
    assert "You mentoring <@yan>\nState: proposed" in shown  # one of her pairs, not listed
    assert "• <@carol> mentoring <@yan>" not in shown  # again among those for others
    # With a partner named, that pair alone.
    assert "you proposed" not in await chat.say("carol", "/mentor status @zoe")


async def test_the_other_one_clicking_a_proposal_one_declined_hears_it_is_over(
    chat: Chat,
) -> None:
    """carol proposes alice mentoring bob; alice declines. bob's invitation still shows
    its buttons: his [Accept] says the proposal did not go ahead (and takes the buttons
    away), not "That question was already answered", which he never did."""
    await chat.say("carol", "/mentor pair @alice @bob")
    await chat.click("alice", "Decline")
    assert await chat.click("bob", "Accept") == (
        "This proposal didn't go ahead, so there is nothing to answer any more."
    )
    assert (await _pairs(chat))[0].state == PairState.DECLINED


async def test_declining_forms_no_pair_and_tells_the_proposer(chat: Chat) -> None:
    await chat.say("alice", "/mentor pair @alice @bob")
    assert "You declined" in await chat.click("bob", "Decline")
    assert (await _pairs(chat))[0].state == PairState.DECLINED
    assert "<@bob> declined" in chat.dms("alice")[-1]
    # A declined proposal does not block a new one.
    assert "I asked <@bob>" in await chat.say("alice", "/mentor pair @alice @bob")
    answer = await chat.say("bob", "/mentor pair @carol @bob")
    assert answer == "I asked <@carol> whether they'd like to mentor you."


async def test_only_the_asked_people_can_answer_and_only_once(chat: Chat) -> None:
    await chat.say("alice", "/mentor pair @alice @bob")
    (accept, _) = chat.buttons("bob")
    assert "for <@alice> and <@bob>" in await chat.press("mallory", accept)
    await chat.press("bob", accept)
    # Pressed again (a double click, or a second copy of the question): where it stands.
    assert await chat.press("bob", accept) == (
        "Both of you accepted this proposal, so you're paired: <@alice> is mentoring <@bob>."
    )
    assert "for <@alice> and <@bob>" in await chat.press("mallory", accept)
    async with chat.database.transaction() as session:
        sessions = await session.scalar(select(func.count()).select_from(FlowSession))
    assert sessions == 1


async def test_decline_on_a_second_copy_after_the_pair_formed_ends_nothing(chat: Chat) -> None:
    """carol proposed alice and bob; alice had the question sent again, accepted on the
    new copy, and bob accepted: [Decline] on the first copy, still on screen, changes
    nothing and says so, with how to end the pair (it said "That question was already
    answered"). Once the pair ended, a click says that too."""
    await chat.say("carol", "/mentor pair @alice @bob")
    await chat.say("alice", "/mentor pair @alice @bob")
    await chat.click("alice", "Accept")
    await chat.click("bob", "Accept")
    [first, _] = [
        seen for seen in chat.recorder.seen if seen.user == "alice" and seen.content.buttons
    ]
    [decline] = [b for b in first.content.buttons if b.label == "Decline"]
    assert await chat.press("alice", decline, first.message_id) == (
        "Both of you accepted this proposal, so you're paired: <@alice> is mentoring <@bob>. "
        "To end the pair, use `/mentor end`."
    )
    [pair] = await _pairs(chat)
    assert pair.state == PairState.ACTIVE
    await chat.say("bob", "/mentor end")
    await chat.click("bob", "End pair")
    assert await chat.press("alice", decline, first.message_id) == (
        "Both of you accepted this proposal (<@alice> is mentoring <@bob>), and the pair has "
        "ended since."
    )


async def _goals(chat: Chat) -> list[Milestone]:
    async with chat.database.transaction() as session:
        return list((await session.execute(select(Milestone))).scalars())


async def _ended(session: AsyncSession) -> None:
    """Another instance's end of the pair (or withdrawal of the proposal), uncommitted."""
    await session.execute(update(Pair).values(state=PairState.ENDED.value, ended_at=START))


async def test_an_accept_as_the_proposal_is_withdrawn_elsewhere_forms_no_pair(
    chat: Chat,
) -> None:
    """alice withdraws her proposal (`/mentor end`, [End pair]) on one instance as bob
    accepts it on another: hers has ended it, not committed yet, when bob's reads it.
    Bob's waits for hers and finds it withdrawn. Before, it read the proposal as open
    and made the pair active over the withdrawal, after alice was told it was
    withdrawn. SQLite takes writers in turn anyway."""
    if chat.database.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite takes writers in turn")
    await chat.say("alice", "/mentor pair @alice @bob")
    [accept, _] = chat.buttons("bob")
    answer = await behind_another_instance(chat, _ended, lambda: chat.press("bob", accept))
    assert answer == "This proposal didn't go ahead, so there is nothing to answer any more."
    [pair] = await _pairs(chat)
    assert pair.state == PairState.ENDED and pair.activated_at is None


async def test_a_live_pair_cannot_be_proposed_twice(chat: Chat) -> None:
    await chat.say("alice", "/mentor pair @alice @bob")
    # It names whose answer it waits for, and roles typed the other way round.
    assert await chat.say("alice", "/mentor pair @alice @bob") == (
        "<@alice> mentoring <@bob> is already proposed; I'm waiting for <@bob> to accept."
    )
    assert await chat.say("alice", "/mentor pair @bob @alice") == (
        "<@alice> mentoring <@bob> is already proposed; I'm waiting for <@bob> to accept. "
        "It has the roles the other way round from what you typed."
    )
    await chat.click("bob", "Accept")
    assert await chat.say("bob", "/mentor pair @alice @bob") == (
        "<@alice> is already mentoring <@bob>."
    )
    # The other way round is the same two people: the answer says how to swap the roles.
    assert await chat.say("bob", "/mentor pair @bob @alice") == (
        "<@alice> is already mentoring <@bob>. A pair of two people has one mentor: to swap "
        "the roles, end this pair (`/mentor end`) and propose it again the other way round."
    )
    assert len(await _pairs(chat)) == 1


async def test_proposing_again_as_the_one_asked_resends_the_question(chat: Chat) -> None:
    await chat.say("carol", "/mentor pair @alice @bob")
    answer = await chat.say("bob", "/mentor pair @alice @bob")
    assert answer == (
        "That pair (<@alice> mentoring <@bob>) is already proposed and waiting for your "
        "answer; I sent you the question again."
    )
    assert len(chat.dms("bob")) == 2 and "suggests that <@alice> mentors you" in chat.dms("bob")[1]
    # Typed the other way round: the same proposal, and bob hears its roles differ.
    swapped = await chat.say("bob", "/mentor pair @bob @alice")
    assert swapped.startswith("That pair (<@alice> mentoring <@bob>) is already proposed")
    assert swapped.endswith(
        "It has the roles the other way round from what you typed: decline it and propose "
        "again to swap them."
    )
    await chat.click("bob", "Accept")
    await chat.click("alice", "Accept")
    assert [p.state for p in await _pairs(chat)] == [PairState.ACTIVE]


async def test_one_person_can_mentor_one_and_be_mentored_by_another(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await pair_up(chat, "carol", "alice")
    states = [p.state for p in await _pairs(chat)]
    assert states == [PairState.ACTIVE, PairState.ACTIVE]
    await chat.say("alice", "/win gave my first talk")
    assert chat.dms("bob")[-1].startswith("<@alice> shared a win: gave my first talk\n\n")
    assert chat.dms("carol")[-1].startswith("<@alice> shared a win: gave my first talk\n\n")


async def test_end_asks_first_then_ends_and_tells_the_partner(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    answer = await chat.say("bob", "/mentor end")
    assert "Do you want to end your pair (<@alice> mentoring you)?" in answer
    assert "stays as it is" in await chat.click("bob", "Keep it")
    assert (await _pairs(chat))[0].state == PairState.ACTIVE

    await chat.say("bob", "/mentor end")
    assert "has ended" in await chat.click("bob", "End pair")
    (pair,) = await _pairs(chat)
    assert pair.state == PairState.ENDED and pair.next_checkin_at is None
    assert any("<@bob> ended your mentoring pair" in dm for dm in chat.dms("alice"))
    # Wins no longer go to a former partner.
    await chat.say("bob", "/win solo win")
    assert not any("solo win" in dm for dm in chat.dms("alice"))
    # Status tells each of them the pair ended, rather than that they never had one.
    assert await chat.say("alice", "/mentor status") == (
        "You're not in a mentoring pair now. Your mentoring pair with <@bob> ended on "
        "2026-11-25. Your look back at it waits for your answers in DMs: `/mentor review` "
        "sends its question again. What you wrote is still yours: `/mentor journal` shows "
        "your wins and `/mentor export` sends you everything. Ready for a new pair? Start "
        "one with `/mentor pair @mentor @mentee`."
    )


async def test_an_end_pressed_by_both_at_once_ends_the_pair_once(chat: Chat) -> None:
    """Both members press [End pair] at one moment, on two instances: alice's has ended
    the pair, not committed yet, when bob's reads it. Bob's waits for hers (the pair's
    row is locked while it is read) and finds it ended: no second look back, no DM.
    Before, it read the pair as active and ended it again (each got two DMs and two
    look backs). SQLite takes writers in turn anyway."""
    if chat.database.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite takes writers in turn")
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", "/mentor end")
    [end, _] = chat.buttons("bob")
    before = {who: len(chat.dms(who)) for who in ("alice", "bob")}
    answer = await behind_another_instance(chat, _ended, lambda: chat.press("bob", end))
    assert answer == "That pair had already ended."
    assert {who: chat.dms(who)[before[who] :] for who in ("alice", "bob")} == {
        "alice": [],
        "bob": [],
    }
    async with chat.database.transaction() as session:
        looks = await session.scalar(
            select(func.count()).select_from(FlowSession).where(FlowSession.kind == "review")
        )
    assert looks == 0


@pytest.mark.parametrize(
    "line",
    [
        "/mentor pause 1w",
        "/mentor resume",
        "/mentor skip",
        "/mentor cadence biweekly thu 11:00",
        "/mentor checkin",
        "/mentor milestone add Ship the API",
        "/mentor milestone done 1",
    ],
)
async def test_a_change_as_the_pair_ends_elsewhere_changes_nothing(chat: Chat, line: str) -> None:
    """bob changes the pair on one instance as alice ends it on another: hers has ended
    it, not committed yet, when bob's reads it. Bob's waits for hers, is told the pair
    ended, and changes nothing. Before, it paused (or rescheduled, or added a goal to)
    the pair that had ended: a pause even made it live again."""
    if chat.database.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite takes writers in turn")
    await pair_up(chat, "alice", "bob")
    if line == "/mentor resume":
        await chat.say("alice", "/mentor pause 1w")
    if line == "/mentor milestone done 1":
        await chat.say("alice", "/mentor milestone add Give a talk")
    before = {who: len(chat.dms(who)) for who in ("alice", "bob")}
    answer = await behind_another_instance(chat, _ended, lambda: chat.say("bob", line))
    assert answer == "Your pair with <@alice> ended a moment ago, so nothing changed."
    [pair] = await _pairs(chat)
    assert pair.state == PairState.ENDED
    assert {who: chat.dms(who)[before[who] :] for who in ("alice", "bob")} == {
        "alice": [],
        "bob": [],
    }
    async with chat.database.transaction() as session:
        made = [
            await session.scalar(select(func.count()).select_from(model))
            for model in (Checkin, Milestone)
        ]
    assert made == [0, 1 if line == "/mentor milestone done 1" else 0]
    assert [m.completed_at for m in await _goals(chat)] == (
        [None] if line == "/mentor milestone done 1" else []
    )


@pytest.mark.parametrize("label", ["Skip this one", "Undo skip"])
async def test_a_skip_button_pressed_as_the_pair_ends_elsewhere_changes_nothing(
    chat: Chat, label: str
) -> None:
    """The heads-up's [Skip this one] and a skip's [Undo skip], pressed on one instance
    as the partner ends the pair on another: they wait for the pair's row (the test
    fails if they read it without waiting), are told the pair ended, and move no
    check-in. (The race of both pressing [Skip this one]: tests/test_rhythm.py.)"""
    if chat.database.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite takes writers in turn")
    await pair_up(chat, "alice", "bob")
    if label == "Undo skip":
        await chat.say("bob", "/mentor skip")
    else:
        [pair] = await _pairs(chat)
        assert pair.heads_up_at is not None
        await chat.advance(pair.heads_up_at - chat.clock.now())
    [button] = [b for b in chat.buttons("bob") if b.label == label]
    [pair] = await _pairs(chat)
    before = {who: len(chat.dms(who)) for who in ("alice", "bob")}
    answer = await behind_another_instance(chat, _ended, lambda: chat.press("bob", button))
    assert answer == "Your pair with <@alice> ended a moment ago, so nothing changed."
    [after] = await _pairs(chat)
    assert after.state == PairState.ENDED
    assert after.next_checkin_at == pair.next_checkin_at
    assert all(chat.dms(who)[before[who] :] == [] for who in ("alice", "bob"))


async def test_an_end_tells_whoever_had_answered_the_open_check_in_it_was_not_shared(
    chat: Chat,
) -> None:
    """alice was promised her answers would be shared once bob answered; bob had begun.
    The pair ends first: each is told their answers were not shared and stay theirs.
    carol and dave, who had written nothing, hear only that the pair ended; and a
    partner who forgets their data leaves the same note for the one who had answered."""
    for mentor, mentee in (("alice", "bob"), ("carol", "dave"), ("erin", "frank")):
        await pair_up(chat, mentor, mentee)
        await chat.say(mentor, "/mentor checkin")
    await chat.click("alice", "Great 🙌")
    for words in ("shipped it", "naming", "the roadmap"):
        await chat.say("alice", words)
    await chat.click("bob", "OK 🙂")
    await chat.click("erin", "Rough 😮‍💨")

    await chat.say("alice", "/mentor end")
    assert await chat.click("alice", "End pair") == (
        f"Your pair with <@bob> has ended.\n{NOT_SHARED}"
    )
    assert chat.dms("bob")[-1].startswith(
        "<@alice> ended your mentoring pair. Thank you for the time you gave each other.\n"
        f"{NOT_SHARED}\n\nTime for a short look back"
    )
    await chat.say("carol", "/mentor end")
    assert await chat.click("carol", "End pair") == "Your pair with <@dave> has ended."
    assert NOT_SHARED not in chat.dms("dave")[-1]
    await chat.say("frank", "/mentor forget")
    await chat.click("frank", "Delete everything")
    assert chat.dms("erin")[-1].endswith(
        "has ended. Thank you for the time you gave each other.\n" + NOT_SHARED
    )


async def test_the_day_a_pair_ended_is_told_in_the_pairs_zone(chat: Chat) -> None:
    """Neither person set a timezone: the day is the pair's (Auckland is 13 hours ahead
    of UTC in November, so noon UTC on the 25th is already the 26th there)."""
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor cadence weekly mon 10:00 Pacific/Auckland")
    await chat.say("bob", "/mentor end")
    await chat.click("bob", "End pair")
    assert "ended on 2026-11-26." in await chat.say("alice", "/mentor status")


async def test_ending_a_proposal_withdraws_it(chat: Chat) -> None:
    """A proposal never formed a pair: withdrawing it says so to everyone it asked (not
    "ended your mentoring pair", "thank you for the time"), and it is kept as one that
    did not form (declined), not as a pair that ended."""
    await chat.say("alice", "/mentor pair @alice @bob")
    assert await chat.say("alice", "/mentor end") == (
        "Do you want to withdraw your proposal (you mentoring <@bob>)? "
        "I'll tell <@bob> that it was withdrawn."
    )
    assert [b.label for b in chat.buttons("alice")] == ["Withdraw it", "Keep it"]
    assert await chat.click("alice", "Keep it") == "Okay, the proposal stays open."
    await chat.say("alice", "/mentor end")
    to_bob = len(chat.dms("bob"))
    assert await chat.click("alice", "Withdraw it") == (
        "You withdrew the proposal: no pair was formed."
    )
    assert chat.dms("bob")[to_bob:] == [
        "<@alice> withdrew the proposed pair of <@alice> mentoring <@bob>, so there is "
        "nothing to answer any more."
    ]
    assert "didn't go ahead" in await chat.click("bob", "Accept")
    [pair] = await _pairs(chat)
    assert (pair.state, pair.ended_at) == (PairState.DECLINED, chat.clock.now())
    for who in ("alice", "bob"):
        assert (await chat.say(who, "/mentor status")).startswith(
            "You're not in a mentoring pair yet."
        )


async def test_withdraw_it_after_the_proposal_was_accepted_ends_nothing(chat: Chat) -> None:
    """alice asks to withdraw her proposal, and bob accepts it before she confirms: her
    [Withdraw it] was about a proposal, so it does not end the pair it became (it ended
    it, and told bob "alice ended your mentoring pair"). The same for [Decline it]."""
    await chat.say("alice", "/mentor pair @alice @bob")
    await chat.say("alice", "/mentor end")
    await chat.click("bob", "Accept")
    to_bob = len(chat.dms("bob"))
    assert await chat.click("alice", "Withdraw it") == (
        "Your pair with <@bob> started meanwhile (the proposal was accepted), so nothing "
        "changed. To end the pair, use `/mentor end`."
    )
    [pair] = await _pairs(chat)
    assert pair.state == PairState.ACTIVE
    assert chat.dms("bob")[to_bob:] == []
    # carol proposed dave and erin; erin asks to decline, then accepts on her DM.
    await chat.say("carol", "/mentor pair @dave @erin")
    await chat.click("dave", "Accept")
    await chat.say("erin", "/mentor end")
    await chat.click("erin", "Accept")
    assert (await chat.click("erin", "Decline it")).startswith(
        "Your pair with <@dave> started meanwhile"
    )
    assert [p.state for p in await _pairs(chat)] == [PairState.ACTIVE, PairState.ACTIVE]
    # An end asked of a pair already started still ends it.
    await chat.say("erin", "/mentor end")
    assert await chat.click("erin", "End pair") == "Your pair with <@dave> has ended."


async def test_withdrawing_a_proposal_someone_else_made_tells_them_too(chat: Chat) -> None:
    """dave accepted alice's proposal of carol and him, then withdraws it: carol and
    alice are told. Someone asked who has not accepted declines it with /mentor end,
    as with the [Decline] button."""
    await chat.say("alice", "/mentor pair @carol @dave")
    await chat.click("dave", "Accept")
    assert await chat.say("dave", "/mentor end") == (
        "Do you want to withdraw the proposal (<@carol> mentoring you)? "
        "I'll tell <@carol> and <@alice> that it was withdrawn."
    )
    to_alice, to_carol = len(chat.dms("alice")), len(chat.dms("carol"))
    await chat.click("dave", "Withdraw it")
    told = (
        "<@dave> withdrew the proposed pair of <@carol> mentoring <@dave>, so there is "
        "nothing to answer any more."
    )
    assert chat.dms("alice")[to_alice:] == [told]
    assert chat.dms("carol")[to_carol:] == [told]

    await chat.say("alice", "/mentor pair @carol @dave")
    assert await chat.say("carol", "/mentor end") == (
        "Do you want to decline the proposal (you mentoring <@dave>)? "
        "I'll tell <@dave> and <@alice> that you declined."
    )
    to_alice = len(chat.dms("alice"))
    assert await chat.click("carol", "Decline it") == "You declined. No pair was formed."
    assert chat.dms("alice")[to_alice:] == [
        "<@carol> declined the pair of <@carol> mentoring <@dave>."
    ]
    assert [p.state for p in await _pairs(chat)] == [PairState.DECLINED] * 2
    # dave's own [Accept] on it, after carol's decline: over, not "withdrawn".
    assert await chat.click("dave", "Accept") == (
        "This proposal didn't go ahead, so there is nothing to answer any more."
    )


async def test_an_ambiguous_command_asks_which_pair(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await pair_up(chat, "alice", "dave")
    answer = await chat.say("alice", "/mentor milestone add Write the design doc")
    assert "Which one do you mean?" in answer
    labels = [b.label for b in chat.buttons("alice")]
    assert labels == ["With Bob (your mentee)", "With Dave (your mentee)"]
    answer = await chat.click("alice", "With Dave (your mentee)")
    assert "Milestone #1 added: Write the design doc" in answer
    assert "#1 Write the design doc" in chat.dms("dave")[-1]
    assert not any("design doc" in dm for dm in chat.dms("bob"))
    # Naming the partner skips the question; the question cannot be answered twice.
    assert "Milestone #1 added" in await chat.say("alice", "/mentor milestone add @bob Ship it")
    assert "already answered" in await chat.click("alice", "With Bob (your mentee)")


async def test_end_with_a_partner_who_is_not_one(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    assert "You don't have a pair with <@zed>" in await chat.say("alice", "/mentor end @zed")


async def test_a_click_waits_while_another_holds_its_flow(chat: Chat) -> None:
    """A click reads the flow its button names with the event's look-up, and on
    PostgreSQL locks it there: a click while another instance works on the same flow
    waits for it, then acts on what that one left (here: the proposal closed), not on
    what it read before."""
    if chat.database.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite has no row locks (it takes writers in turn)")
    await chat.say("alice", "/mentor pair @alice @bob")
    [accept] = [b for b in chat.buttons("bob") if b.label == "Accept"]
    action = FlowAction.parse(accept.action_id)
    assert action is not None
    async with chat.database.transaction() as session:
        # Another instance holds the proposal's row and closes it (as a Decline would).
        held = select(FlowSession).where(FlowSession.id == action.session_id)
        flow = (await session.execute(held.with_for_update())).scalar_one()
        click = asyncio.create_task(chat.press("bob", accept))
        await asyncio.sleep(0.5)
        assert not click.done()
        flow.ended_at = chat.clock.now()
    assert "You're paired" not in await click
    assert not [pair for pair in await _pairs(chat) if pair.state == PairState.ACTIVE]


async def test_accept_and_decline_take_a_fixed_number_of_statements(chat: Chat) -> None:
    """The hot path (issue 16): a click on a proposal reads the pair and both people in
    one query; the acceptance is written once, with the pair it starts."""
    for user in ("alice", "bob", "carol", "dave"):
        await chat.say(user, "/mentor help")  # their names are known: no update of them
    await chat.say("alice", "/mentor pair @alice @bob")
    await chat.say("carol", "/mentor pair @carol @dave")
    with statements_per_event(chat) as events:
        assert "You're paired" in await chat.click("bob", "Accept")
        assert "You declined" in await chat.click("dave", "Decline")
    # The flow the button names is read with the look-up.
    look_up = ["SELECT workspaces", "SELECT pairs"]
    assert events == [
        # The cap (a count of pairs), then the flow, the pair and the welcome DM.
        [*look_up, "SELECT pairs", "UPDATE flow_sessions", "UPDATE pairs", "INSERT outbox"],
        [*look_up, "UPDATE flow_sessions", "UPDATE pairs", "INSERT outbox"],
    ]
    accepted, declined = await _pairs(chat)
    assert (accepted.state, accepted.mentor_accepted, accepted.mentee_accepted) == (
        PairState.ACTIVE,
        True,
        True,
    )
    assert declined.state == PairState.DECLINED


async def test_proposing_again_a_pair_that_did_not_form_says_so(chat: Chat) -> None:
    """bob declined carol's proposal; whoever proposes the two again is told it is a
    second ask, and the invitation goes as usual. A first proposal says nothing of it."""
    first = await chat.say("carol", "/mentor pair @bob @carol")
    assert first == "I asked <@bob> whether they'd like to mentor you."
    await chat.click("bob", "Decline")
    chat.clock.advance(timedelta(days=1))
    assert await chat.say("carol", "/mentor pair @bob @carol") == (
        "I asked <@bob> whether they'd like to mentor you. You and <@bob> were proposed as "
        "a pair before, on Wed 25 Nov, and it did not form: this asks again."
    )
    assert chat.dms("bob")[-1].startswith("<@carol> would like you to be their mentor.")
    await chat.click("bob", "Decline")
    assert (await chat.say("alice", "/mentor pair @carol @bob")).endswith(
        "<@carol> and <@bob> were proposed as a pair before, on Thu 26 Nov, and it did not "
        "form: this asks again."
    )


async def test_proposing_again_a_pair_that_ended_says_they_were_a_pair(chat: Chat) -> None:
    """bob declined alice once, then they were a pair, and it ended. A new proposal of
    the two says they were a pair until it ended, not "it did not form" (which the first
    proposal was, but the pair they had since is what they remember)."""
    await chat.say("alice", "/mentor pair @alice @bob")
    await chat.click("bob", "Decline")
    await pair_up(chat, "alice", "bob")
    chat.clock.advance(timedelta(days=1))
    await chat.say("bob", "/mentor end")
    await chat.click("bob", "End pair")
    chat.clock.advance(timedelta(days=1))
    assert await chat.say("alice", "/mentor pair @bob @alice") == (
        "I asked <@bob> whether they'd like to mentor you. You and <@bob> were a mentoring "
        "pair until Thu 26 Nov: this asks again."
    )
    await chat.say("alice", "/mentor end")
    await chat.click("alice", "Withdraw it")
    # The newest of the two's pairs is the one that did not form (withdrawn), so that
    # is what a third proposal is told.
    assert (await chat.say("carol", "/mentor pair @alice @bob")).endswith(
        "<@alice> and <@bob> were proposed as a pair before, on Fri 27 Nov, and it did not "
        "form: this asks again."
    )


async def test_a_pair_not_started_yet_is_named_as_such(chat: Chat) -> None:
    """A command about a pair still waiting for its answer says so, and whose answer it
    waits for, rather than "you're not in a pair" to someone who just proposed one."""
    await chat.say("alice", "/mentor pair @alice @bob")
    assert await chat.say("alice", "/mentor cadence weekly fri") == (
        "Your pair with <@bob> hasn't started yet: it waits for <@bob>'s answer."
    )
    assert await chat.say("bob", "/mentor skip @alice") == (
        "Your pair with <@alice> hasn't started yet: it waits for your answer "
        "([Accept] or [Decline] in my DM to you)."
    )
    await pair_up(chat, "alice", "carol")
    assert await chat.say("alice", "/mentor checkin @bob") == (
        "Your pair with <@bob> hasn't started yet: it waits for <@bob>'s answer."
    )
    assert [p.state for p in await _pairs(chat)] == [PairState.PROPOSED, PairState.ACTIVE]


async def test_status_of_a_proposal_waiting_on_the_other_says_since_when_and_the_way_out(
    chat: Chat,
) -> None:
    """A proposal made by hand does not expire: weeks on, the one who accepted reads
    when it was made and how to withdraw it (it said only "waiting for <@bob>")."""
    await chat.say("alice", "/mentor pair @alice @bob")
    await chat.advance(timedelta(days=40))
    assert await status(chat, "alice") == (
        "Your mentoring at a glance:\nYou mentoring <@bob>\n"
        "State: proposed; you accepted, waiting for <@bob>\n"
        "Proposed on Wed 25 Nov (40 days ago); `/mentor end` <@bob> withdraws it.\n"
        "Check-ins once you both accept: every Monday at 10:00 (UTC)"
    )
    assert "Proposed on" not in await status(chat, "bob")  # his to answer
    await chat.say("alice", "/mentor end @bob")
    assert "withdrew" in await chat.click("alice", "Withdraw it")


async def test_a_pair_that_ended_is_named_as_such(chat: Chat) -> None:
    """A command naming a former partner says the pair ended and when, with or without
    another pair, rather than "you don't have a pair with" them."""
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", "/mentor end")
    await chat.click("bob", "End pair")
    await pair_up(chat, "alice", "carol")
    ended = "Your pair with <@bob> ended on 2026-11-25."
    assert await chat.say("alice", "/mentor end @bob") == ended
    assert await chat.say("alice", "/mentor status @bob") == ended
    assert await chat.say("bob", "/mentor pause @alice") == (
        "Your pair with <@alice> ended on 2026-11-25. "
        "Start a new one with `/mentor pair @mentor @mentee`."
    )
    assert await chat.say("alice", "/mentor status @zed") == "You don't have a pair with <@zed>."
