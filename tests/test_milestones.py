"""Milestones, automatic win milestones, and shout-outs only with consent."""

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import Member, Milestone, MilestoneKind, Pair
from tests.conversation import Chat, behind_another_instance, pair_up, said_alone
from tests.test_rhythm import status

DONE = "/mentor milestone done 1"


async def _milestones(chat: Chat) -> list[Milestone]:
    async with chat.database.transaction() as session:
        return list((await session.execute(select(Milestone).order_by(Milestone.id))).scalars())


async def test_add_list_and_complete_a_goal(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    assert "Milestone #1 added: Give a talk" in await chat.say(
        "bob", "/mentor milestone add Give a talk"
    )
    assert "<@bob> set a milestone for your pair: #1 Give a talk" in chat.dms("alice")
    await chat.say("alice", "/mentor milestone add Review a PR")
    listing = await chat.say("alice", "/mentor milestone list")
    assert "#1 Give a talk — ⬜" in listing and "#2 Review a PR — ⬜" in listing

    assert "Milestone #1 done: Give a talk" in await chat.say("alice", "/mentor milestone done 1")
    assert "#1 Give a talk — ✅ done 2026-11-25" in await chat.say("bob", "/mentor milestone list")
    assert "already done" in await chat.say("bob", "/mentor milestone done 1")
    assert "no milestone #7" in await chat.say("bob", "/mentor milestone done 7")


async def test_milestones_asked_alone_are_shown(chat: Chat) -> None:
    """`/mentor milestones` shows them, as people ask to see them; with nothing set yet
    the list says how to add one (before, it asked what to do with them)."""
    await pair_up(chat, "alice", "bob")
    assert await chat.say("bob", "/mentor milestones") == (
        "Milestones of your pair (<@alice> mentoring you):\n"
        "None yet. Add one with `/mentor milestone add <title>`."
    )
    await chat.say("bob", "/mentor milestone add Give a talk")
    assert "#1 Give a talk — ⬜" in await chat.say("alice", "/mentor milestone @bob")


async def test_a_goal_is_not_added_twice_and_one_set_by_mistake_can_go(chat: Chat) -> None:
    """The same title while that goal is open adds nothing and tells the partner nothing;
    once it is reached, the same goal may be set again. A goal not reached can be removed
    by either of the pair (the other is told); a reached one stays."""
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", "/mentor milestone add Ship it")
    again = await said_alone(chat, "bob", "/mentor milestone add  ship IT ", unheard=("alice",))
    assert again == (
        "Your pair has this milestone open already: #1 Ship it. Mark it done with "
        "`/mentor milestone done 1`; nothing was added."
    )
    await chat.say("bob", "/mentor milestone add Shipp it")  # a typo
    assert await chat.say("alice", "/mentor milestone remove 2") == "Removed milestone #2: Shipp it"
    assert chat.dms("bob")[-1] == "<@alice> removed a milestone of your pair: #2 Shipp it"
    assert "no milestone #2" in await chat.say("bob", "/mentor milestone remove 2")
    await chat.say("bob", "/mentor milestone done 1")
    assert "reached milestones stay" in await chat.say("bob", "/mentor milestone remove 1")
    # A title the pair reached before is a new goal, and the answer says so (it read as
    # any first one).
    assert await chat.say("bob", "/mentor milestone add ship IT") == (
        "Milestone #2 added: ship IT (Your pair reached #1, of the same title, on 2026-11-25: "
        "this one is new.)\nMark it done with `/mentor milestone done 2`."
    )
    titles = [(m.number, m.title, m.completed_at is not None) for m in await _milestones(chat)]
    assert titles == [(1, "Ship it", True), (2, "ship IT", False)]


async def test_a_goal_is_named_by_its_title_too(chat: Chat) -> None:
    """``done Ship the API`` marks that goal done, as people name a goal; its title in
    any case and spacing; an open goal before one reached with the same title. A title
    the pair has not set changes nothing and lists the open ones with their numbers."""
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", "/mentor milestone add Ship the API")
    await chat.say("bob", "/mentor milestone add Give a talk")
    missing = await said_alone(chat, "bob", "/mentor milestone done Ship it", unheard=("alice",))
    assert missing == (
        "Your pair has no milestone called “Ship it”. Open now: #1 Ship the API; "
        "#2 Give a talk. Name one by its number, like `/mentor milestone done 1`."
    )
    done = await chat.say("alice", "/mentor milestone done  ship the api ")
    assert done == "Milestone #1 done: Ship the API 🎉"
    assert "Milestone #3 added" in await chat.say("bob", "/mentor milestone add Ship the API")
    assert await chat.say("bob", "/mentor milestone remove Ship the API") == (
        "Removed milestone #3: Ship the API"
    )
    assert "reached milestones stay" in await chat.say(
        "bob", "/mentor milestone remove Ship the API"
    )
    titles = [(m.number, m.title, m.completed_at is not None) for m in await _milestones(chat)]
    assert titles == [(1, "Ship the API", True), (2, "Give a talk", False)]
    await chat.say("bob", "/mentor milestone remove 2")
    assert await chat.say("bob", "/mentor milestone done Give a talk") == (
        "Your pair has no milestone called “Give a talk”, and none open. "
        "Set one with `/mentor milestone add <title>`."
    )


async def test_quotes_around_a_title_are_not_part_of_it(chat: Chat) -> None:
    """People quote a title to mark where it starts and ends: it was stored, listed
    and celebrated with its quotes ("#1 "Ship the API""), and done by its title
    needed them too."""
    await pair_up(chat, "alice", "bob")
    assert await chat.say("bob", '/mentor milestone add "Ship the API"') == (
        "Milestone #1 added: Ship the API\nMark it done with `/mentor milestone done 1`."
    )
    await chat.say("bob", "/mentor milestone add ‘Give a talk’")
    assert await chat.say("alice", "/mentor milestone done “ship the api”") == (
        "Milestone #1 done: Ship the API 🎉"
    )
    titles = [m.title for m in await _milestones(chat)]
    assert titles == ["Ship the API", "Give a talk"]
    # Quotes inside a title stay; "list all" lists.
    await chat.say("bob", '/mentor milestone add Read "Thinking in Systems"')
    await chat.say("bob", '/mentor milestone add "Ship" the "API"')
    listed = await chat.say("bob", "/mentor milestone list all")
    assert '#3 Read "Thinking in Systems" — ⬜\n#4 "Ship" the "API" — ⬜' in listed


async def test_a_title_with_asterisks_of_its_own_keeps_them_whole(chat: Chat) -> None:
    """A title is celebrated in bold; one with an asterisk is shown as typed instead
    (bold around "*the team*" would end at its first asterisk)."""
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", "/mentor milestone add Demo to *the team*")
    await chat.say("bob", "/mentor milestone add Ship v2")
    await chat.say("bob", "/mentor milestone done 1")
    assert chat.dms("alice")[-1].startswith(
        "🎉 <@bob> reached a milestone: Demo to *the team*\n\n"
        "Time for a short look back at milestone #1 Demo to *the team*. I'll share"
    )
    await chat.say("bob", "/mentor milestone done 2")
    assert chat.dms("alice")[-1].startswith("🎉 <@bob> reached a milestone: *Ship v2*\n\n")


async def test_a_title_in_one_of_several_pairs_needs_no_which_pair(chat: Chat) -> None:
    """Named by its title, a goal only one of alice's pairs has is that pair's: no
    "which pair?". A title two pairs have asks which, among those two; one none has
    says so."""
    await pair_up(chat, "alice", "bob")
    await pair_up(chat, "alice", "carol")
    await pair_up(chat, "alice", "dave")
    await chat.say("alice", "/mentor milestone add @carol Ship it")
    assert await chat.say("alice", "/mentor milestone done ship it") == (
        "Milestone #1 done: Ship it 🎉"
    )
    assert chat.dms("carol")[-1].startswith("🎉 <@alice> reached a milestone: *Ship it*")
    await chat.say("alice", "/mentor milestone add @bob Give a talk")
    await chat.say("alice", "/mentor milestone add @dave Give a talk")
    assert "Which one do you mean?" in await chat.say(
        "alice", "/mentor milestone remove Give a talk"
    )
    assert [b.label for b in chat.buttons("alice")] == [
        "With Bob (your mentee)",
        "With Dave (your mentee)",
    ]
    assert (await chat.click("alice", "With Dave (your mentee)")).endswith(
        "\nRemoved milestone #1: Give a talk"
    )
    assert chat.dms("dave")[-1] == "<@alice> removed a milestone of your pair: #1 Give a talk"
    assert await chat.say("alice", "/mentor milestone done Write docs") == (
        "None of your pairs has a milestone called “Write docs”. "
        "See them with `/mentor milestone list`."
    )


async def test_a_goal_is_named_by_words_of_its_title_when_only_it_has_them(chat: Chat) -> None:
    """``done rust`` for "Learn Rust": an open goal whose title holds those words, as
    whole words, when only one does (it said "no milestone called “rust”"). Several say
    which, with the command to copy; a reached goal and part of a word are no match."""
    await pair_up(chat, "bob", "alice")
    await pair_up(chat, "carol", "alice")
    await chat.say("alice", "/mentor milestone add @bob Learn Rust")
    await chat.say("alice", "/mentor milestone add @carol Give a talk")
    await chat.say("alice", "/mentor milestone add @carol Talk to the team")
    assert "a milestone called “us”" in await chat.say("alice", "/mentor milestone done us")
    assert await chat.say("alice", "/mentor milestone done rust") == (
        "Milestone #1 done: Learn Rust 🎉"
    )
    assert "a milestone called “rust”" in await chat.say("alice", "/mentor milestone done rust")
    several = (
        "More than one open milestone has “talk” in its title: #1 Give a talk; "
        "#2 Talk to the team. Name one by its number, like `/mentor milestone done 1` <@carol>."
    )
    assert await chat.say("alice", "/mentor milestone done talk") == several
    assert await chat.say("alice", "/mentor milestone done @carol TALK") == several.replace(
        "“talk”", "“TALK”"
    )
    assert await chat.say("alice", "/mentor milestone remove the team") == (
        "Removed milestone #2: Talk to the team"
    )
    done = [(m.number, m.title) for m in await _milestones(chat) if m.completed_at]
    assert done == [(1, "Learn Rust")]


async def test_no_channel_celebrates_in_dms_and_hints_once(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", "/mentor milestone add Ship the CLI")
    await chat.say("bob", "/mentor milestone done 1")
    (celebration,) = [dm for dm in chat.dms("bob") if "You reached a milestone" in dm]
    assert "🎉 You reached a milestone: *Ship the CLI*! I told <@alice> too." in celebration
    assert "no shout-out channel is set up yet" in celebration
    assert chat.dms("alice")[-1].startswith("🎉 <@bob> reached a milestone: *Ship the CLI*\n\n")
    await chat.say("bob", "/mentor milestone add Second")
    await chat.say("bob", "/mentor milestone done 2")
    assert sum("no shout-out channel" in dm for dm in chat.dms("bob")) == 1
    assert all(m.celebrated_in == "dm" for m in await _milestones(chat))


async def test_a_pairs_goal_is_told_in_that_pair_and_a_win_count_to_every_partner(
    chat: Chat,
) -> None:
    """alice mentors bob, carol and dan. A goal of her pair with bob is that pair's: bob
    hears of it, carol and dan do not. Her first win is hers: all three hear of it, named
    as a sentence lists people."""
    for mentee in ("bob", "carol", "dan"):
        await pair_up(chat, "alice", mentee)
    await chat.say("alice", "/mentor milestone add <@bob> Run the retro")
    carol, dan = len(chat.dms("carol")), len(chat.dms("dan"))
    await chat.say("alice", "/mentor milestone done 1 <@bob>")
    assert chat.dms("alice")[-1].startswith(
        "🎉 You reached a milestone: *Run the retro*! I told <@bob> too."
    )
    assert chat.dms("bob")[-1].startswith("🎉 <@alice> reached a milestone: *Run the retro*")
    assert chat.dms("carol")[carol:] == [] and chat.dms("dan")[dan:] == []

    answer = await chat.say("alice", "/win ran my first retro")
    assert answer.startswith(
        "Saved to your journal (win #1) and shared with <@bob>, <@carol> and <@dan>. 🎉"
    )
    assert answer.endswith(
        "🎉 You reached a milestone: *First win*! I told <@bob>, <@carol> and <@dan> too."
    )
    for mentee in ("bob", "carol", "dan"):
        assert "🎉 <@alice> reached a milestone: *First win*" in chat.dms(mentee)[-1]


async def test_a_completed_milestone_is_one_message_per_person(chat: Chat) -> None:
    """The celebration and the look back it starts, with the buttons for what comes
    next, in one DM each (it was three or four for bob and two for alice)."""
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", "/mentor milestone add Ship the CLI")
    bob, alice = len(chat.dms("bob")), len(chat.dms("alice"))
    assert "Milestone #1 done" in await chat.say("bob", "/mentor milestone done 1")
    [to_bob] = chat.dms("bob")[bob:]
    assert to_bob.startswith("🎉 You reached a milestone: *Ship the CLI*! I told <@alice> too.")
    assert "Time for a short look back at milestone #1 *Ship the CLI*." in to_bob
    assert [b.label for b in chat.buttons("bob")] == ["Answer in a form", "Skip"]
    [to_alice] = chat.dms("alice")[alice:]
    assert to_alice.startswith("🎉 <@bob> reached a milestone: *Ship the CLI*\n\n")
    assert "What went well?" in to_alice
    assert [b.label for b in chat.buttons("alice")] == ["Answer in a form", "Skip"]
    # The buttons of the joined message work: alice's Skip skips her first question.
    assert await chat.click("alice", "Skip") == "What went well? (skipped)"


async def test_consent_question_and_look_back_share_one_message(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor config shoutouts #wins")
    await chat.say("bob", "/mentor milestone add Pass the exam")
    bob = len(chat.dms("bob"))
    await chat.say("bob", "/mentor milestone done 1")
    [to_bob] = chat.dms("bob")[bob:]
    assert "May I celebrate it with a shout-out in <#wins>?" in to_bob
    assert "What went well?" in to_bob
    assert [b.label for b in chat.buttons("bob")] == [
        "Yes, shout it out",
        "Keep it between us",
        "Answer in a form",
        "Skip",
    ]


async def test_a_shout_out_needs_consent_asked_once(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    assert "will go to <#wins>" in await chat.say("alice", "/mentor config shoutouts #wins")
    # Said again: what holds, not as if it had changed.
    assert "already go to <#wins>" in await chat.say("alice", "/mentor config shoutouts #wins")
    await chat.say("bob", "/win first one")
    question = chat.dms("bob")[-1]
    assert "May I celebrate it with a shout-out in <#wins>?" in question
    assert chat.posts("wins") == []
    # Reached while the question is open: waits, and no second question is asked.
    await chat.say("bob", "/mentor milestone add Pass the exam")
    await chat.say("bob", "/mentor milestone done 1")
    assert sum("May I celebrate" in dm for dm in chat.dms("bob")) == 1
    assert chat.posts("wins") == []
    # An automatic one reached meanwhile is told to bob in the /win's answer, and waits.
    for n in range(2, 10):
        await chat.say("bob", f"/win number {n}")
    assert await chat.say("bob", "/win number 10") == (
        "Saved to your journal (win #10) and shared with <@alice>. 🎉\n\n"
        "🎉 You reached a milestone: *10 wins*! I'll celebrate it once you've said whether "
        "I may shout it out in <#wins> (the question I asked you earlier)."
    )
    assert sum("May I celebrate" in dm for dm in chat.dms("bob")) == 1
    assert chat.posts("wins") == []

    assert "celebrate your milestones in <#wins>" in await chat.click("bob", "Yes, shout it out")
    assert chat.posts("wins") == [
        "🎉 <@bob> reached a milestone: *First win*",
        "🎉 <@bob> reached a milestone: *Pass the exam*",
        "🎉 <@bob> reached a milestone: *10 wins*",
    ]
    await chat.say("bob", "/mentor milestone add Next")
    await chat.say("bob", "/mentor milestone done 2")
    assert chat.posts("wins")[-1] == "🎉 <@bob> reached a milestone: *Next*"
    assert sum("May I celebrate" in dm for dm in chat.dms("bob")) == 1


async def test_a_goal_the_partner_completes_while_consent_is_asked_is_told_to_its_owner(
    chat: Chat,
) -> None:
    """bob's first milestone asked him about shout-outs; he has not answered. alice then
    marks his goal done: he hears of it at once, in one DM with its look back, and the
    celebration waits for his answer (before, he heard nothing of it but the look back)."""
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor config shoutouts #wins")
    await chat.say("bob", "/win first one")
    await chat.say("bob", "/mentor milestone add Pass the exam")
    dms = len(chat.dms("bob"))
    await chat.say("alice", "/mentor milestone done 1")
    [told] = chat.dms("bob")[dms:]
    assert told.startswith(
        "🎉 You reached a milestone: *Pass the exam*! I'll celebrate it once you've said "
        "whether I may shout it out in <#wins> (the question I asked you earlier)."
    )
    assert "Time for a short look back at milestone #1 *Pass the exam*." in told
    assert chat.posts("wins") == []
    await chat.click("bob", "Yes, shout it out")
    assert chat.posts("wins")[-1] == "🎉 <@bob> reached a milestone: *Pass the exam*"


async def test_a_shout_out_of_ones_own_milestone_is_said_in_ones_answer(chat: Chat) -> None:
    """bob agreed to shout-outs. A milestone his own event reaches is posted in #wins,
    and his answer says so: a mention in a channel he is not in would reach no one (in
    DMs his answer says whom it told). Answering the consent question says where, so
    the milestones that waited for it add nothing to it."""
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor config shoutouts #wins")
    await chat.say("bob", "/win first")
    dms = len(chat.dms("bob"))
    assert await chat.click("bob", "Yes, shout it out") == (
        "Thanks! I'll celebrate your milestones in <#wins>."
    )
    assert chat.posts("wins") == ["🎉 <@bob> reached a milestone: *First win*"]
    assert chat.dms("bob")[dms:] == []

    await chat.say("bob", "/mentor milestone add Ship v1")
    dms = len(chat.dms("bob"))
    answer = await chat.say("bob", "/mentor milestone done 1")
    assert answer == "Milestone #1 done: Ship v1 🎉"
    assert chat.posts("wins")[-1] == "🎉 <@bob> reached a milestone: *Ship v1*"
    [told] = chat.dms("bob")[dms:]  # one event, one message: joined to the look back
    assert told.startswith(
        "🎉 You reached a milestone: *Ship v1*! I shouted it out in <#wins> and told "
        "<@alice>.\n\nTime for a short look back at milestone #1 *Ship v1*."
    )
    assert chat.dms("alice")[-1].startswith(
        "🎉 <@bob> reached a milestone: *Ship v1* (celebrated in <#wins>)\n\n"
        "Time for a short look back"
    )


async def test_declined_consent_keeps_it_in_dms(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor config shoutouts #wins")
    await chat.say("bob", "/win first")
    bob = len(chat.dms("bob"))
    assert "DMs only" in await chat.click("bob", "Keep it between us")
    assert chat.posts("wins") == []
    # The click replaced its question, so the celebration that waited for it is a DM.
    assert chat.dms("bob")[bob:] == [
        "🎉 You reached a milestone: *First win*! I told <@alice> too."
    ]
    assert chat.dms("alice")[-1] == "🎉 <@bob> reached a milestone: *First win*"
    # Changed later with /mentor config: the next one goes to the channel.
    await chat.say("bob", "/mentor config consent on")
    await chat.say("bob", "/mentor milestone add Later")
    await chat.say("bob", "/mentor milestone done 1")
    assert chat.posts("wins") == ["🎉 <@bob> reached a milestone: *Later*"]


async def test_consent_by_command_answers_the_open_question(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor config shoutouts #wins")
    await chat.say("bob", "/win first")
    await chat.say("bob", "/mentor config consent on")
    assert chat.posts("wins") == ["🎉 <@bob> reached a milestone: *First win*"]
    # The question's buttons stay on screen: a click says what holds, and changes nothing.
    assert await chat.click("bob", "Yes, shout it out") == (
        "You had agreed already: I'll celebrate your milestones in <#wins>."
    )
    assert len(chat.posts("wins")) == 1


async def test_a_click_after_consent_by_command_says_what_holds(chat: Chat) -> None:
    """bob says `/mentor config consent on` while the question is on screen, then
    presses [Keep it between us] on it: he reads that the shout-out stands, and how to
    stop the next ones, instead of "That question was already answered"."""
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor config shoutouts #wins")
    await chat.say("bob", "/win first")
    await chat.say("bob", "/mentor config consent on")
    assert await chat.click("bob", "Keep it between us") == (
        "You had already said yes, so nothing changed: I celebrate your milestones in "
        "<#wins>. To keep them between you and your partner from now on: `/mentor config "
        "consent off`."
    )
    assert await _consent(chat, "bob") is True
    await chat.say("bob", "/mentor config consent off")
    assert await chat.click("bob", "Yes, shout it out") == (
        "You had already said no, so nothing changed: I celebrate your milestones with you "
        "and your partner in DMs only. To have them shouted out from now on: `/mentor "
        "config consent on`."
    )
    assert await _consent(chat, "bob") is False
    # A click by someone else on bob's answered question changes nothing of his.
    [button] = [
        b
        for seen in chat.recorder.seen
        if seen.user == "bob"
        for b in seen.content.buttons
        if b.label == "Keep it between us"
    ]
    assert "already answered" in await chat.press("alice", button)
    assert await _consent(chat, "bob") is False
    assert len(chat.posts("wins")) == 1


async def _consent(chat: Chat, name: str) -> bool | None:
    async with chat.database.transaction() as session:
        member = (
            await session.execute(select(Member).where(Member.external_id == name))
        ).scalar_one()
        return member.shoutout_consent


async def test_win_count_milestones(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    for n in range(1, 11):
        await chat.say("bob", f"/win number {n}")
    reached = [(m.code, m.title) for m in await _milestones(chat)]
    assert reached == [("wins-1", "First win"), ("wins-10", "10 wins")]
    assert "First win, 10 wins" in "".join(
        line
        for line in (await chat.say("bob", "/mentor milestone list")).splitlines()
        if line.startswith("Reached")
    ).replace(" (2026-11-25)", "")


async def test_only_admins_choose_the_channel(chat: Chat) -> None:
    answer = await chat.say("bob", "/mentor config shoutouts #general")
    assert "Only a workspace admin" in answer
    assert "not set" in await chat.say("bob", "/mentor config")
    assert "will go to <#wins>" in await chat.say("alice", "/mentor config shoutouts #wins")
    assert "<#wins>" in await chat.say("bob", "/mentor config")
    assert "are off" in await chat.say("alice", "/mentor config shoutouts off")
    assert "were already off" in await chat.say("alice", "/mentor config shoutouts off")
    # "none" or "disable" say the same: no channel (it suggested a channel called #none).
    await chat.say("alice", "/mentor config shoutouts #wins")
    assert "are off" in await chat.say("alice", "/mentor config shoutouts none")
    await chat.say("alice", "/mentor config shoutouts #wins")
    assert "are off" in await chat.say("alice", "/mentor config shoutouts Disable")


async def test_milestones_need_a_pair(chat: Chat) -> None:
    """The title typed is said back as not added, before why (the words are hers)."""
    answer = await chat.say("alice", "/mentor milestone add Learn Rust")
    assert answer == (
        "I didn't add “Learn Rust”. You're not in a mentoring pair yet. Start one with "
        "`/mentor pair @mentor @mentee`."
    )
    assert await _milestones(chat) == []


async def test_list_in_several_pairs_shows_every_pair(chat: Chat) -> None:
    """bob has two mentors: `/mentor milestone list` changes nothing, so it shows both
    pairs' goals rather than asking which pair; naming the partner shows that pair's."""
    await pair_up(chat, "alice", "bob")
    await pair_up(chat, "carol", "bob")
    await chat.say("bob", "/mentor milestone add @carol Ship the API")
    assert await chat.say("bob", "/mentor milestone list") == (
        "Milestones of your 2 pairs:\n"
        "\n"
        "With <@alice> (your mentor):\n"
        "None yet. Add one with `/mentor milestone add` <@alice> `<title>`.\n"
        "\n"
        "With <@carol> (your mentor):\n"
        "#1 Ship the API — ⬜"
    )
    assert await chat.say("bob", "/mentor milestone list @carol") == (
        "Milestones of your pair (<@carol> mentoring you):\n#1 Ship the API — ⬜"
    )
    # alice, in one pair, sees hers as before.
    assert await chat.say("alice", "/mentor milestone list") == (
        "Milestones of your pair (you mentoring <@bob>):\n"
        "None yet. Add one with `/mentor milestone add <title>`."
    )


async def test_consent_said_again_says_it_was_so_already(chat: Chat) -> None:
    """A second `/mentor config consent on` (or off) changes nothing, and says so, as
    `/mentor config timezone` does; before, it thanked again as if just agreed."""
    await pair_up(chat, "alice", "bob")
    assert (await chat.say("bob", "/mentor config consent on")).startswith("Thanks!")
    assert await chat.say("bob", "/mentor config consent on") == (
        "You had agreed already: once an admin sets a shout-out channel, I'll celebrate you there."
    )
    await chat.say("alice", "/mentor config shoutouts #wins")
    assert await chat.say("bob", "/mentor config consent on") == (
        "You had agreed already: I'll celebrate your milestones in <#wins>."
    )
    assert (await chat.say("bob", "/mentor config consent off")).startswith("Got it")
    assert await chat.say("bob", "/mentor config consent off") == (
        "That was your choice already: I'll celebrate your milestones with you and your "
        "partner in DMs only."
    )


async def test_status_names_the_milestones_of_your_own_once(chat: Chat) -> None:
    """ "You reached a milestone: First win!", then `/mentor status` said only
    "Milestones: 0 done, 0 open" for the pair: a win's milestone is of no pair. It is
    named once, above the pairs, however many pairs there are."""
    await pair_up(chat, "alice", "bob")
    assert "Milestones of your own" not in await status(chat, "bob")
    await pair_up(chat, "carol", "bob")
    for n in range(1, 11):
        await chat.say("bob", f"/win number {n}")
    shown = await status(chat, "bob")
    assert shown.startswith("Your 2 pairs:\nMilestones of your own: First win, 10 wins\n")
    assert shown.count("First win") == 1
    assert shown.count("Milestones: 0 done, 0 open") == 2
    # Only one's own: alice reached none.
    assert "Milestones of your own" not in await status(chat, "alice")


async def test_a_goal_marked_done_elsewhere_a_moment_before_is_not_done_twice(
    chat: Chat,
) -> None:
    """alice and bob mark their goal done at one moment, on two instances: alice's has
    marked it, not committed yet, when bob's reads it. Bob's waits for hers (the goal's
    row is locked while it is read) and finds it done: no second celebration, no second
    look back. Before, it read the goal as open and celebrated it again. SQLite takes
    writers in turn anyway."""
    if chat.database.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite takes writers in turn")
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor milestone add Give a talk")
    before = {who: len(chat.dms(who)) for who in ("alice", "bob")}
    done = update(Milestone).values(completed_at=chat.clock.now())
    answer = await behind_another_instance(
        chat, lambda session: session.execute(done), lambda: chat.say("bob", DONE)
    )
    assert answer.startswith("Milestone #1 was already done on ")
    assert all(chat.dms(who)[before[who] :] == [] for who in ("alice", "bob"))


async def test_goals_added_by_both_at_once_are_numbered_one_after_the_other(
    chat: Chat,
) -> None:
    """alice and bob each add a goal at one moment, on two instances: alice's has added
    #1, not committed yet, when bob's reads the pair's goals. Bob's waits for hers and
    adds #2. Before, it numbered its goal #1 too, the database refused the second #1,
    and bob was told "something went wrong … nothing was saved"."""
    if chat.database.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite takes writers in turn")
    await pair_up(chat, "alice", "bob")

    async def alices_goal(session: AsyncSession) -> None:
        pair = (await session.execute(select(Pair).with_for_update())).scalar_one()
        alice = await session.scalar(select(Member).where(Member.external_id == "alice"))
        assert alice is not None
        session.add(
            Milestone(
                workspace_id=pair.workspace_id,
                member_id=alice.id,
                pair_id=pair.id,
                kind=MilestoneKind.GOAL.value,
                number=1,
                title="Give a talk",
                created_at=chat.clock.now(),
            )
        )
        await session.flush()

    answer = await behind_another_instance(
        chat, alices_goal, lambda: chat.say("bob", "/mentor milestone add Ship the API")
    )
    assert answer.startswith("Milestone #2 added: Ship the API")
    assert (await chat.say("alice", "/mentor milestone list")).count("#") == 2


async def test_a_goal_removed_elsewhere_a_moment_before_is_not_marked_done(
    chat: Chat,
) -> None:
    """bob marks the goal done on one instance as alice removes it on another: hers has
    deleted it, not committed yet, when bob's reads it. Bob's waits for hers and is told
    it was removed, with nothing written. Before, it read the goal as open, celebrated
    it, and failed writing it ("something went wrong")."""
    if chat.database.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite takes writers in turn")
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor milestone add Give a talk")
    before = {who: len(chat.dms(who)) for who in ("alice", "bob")}
    answer = await behind_another_instance(
        chat, lambda session: session.execute(delete(Milestone)), lambda: chat.say("bob", DONE)
    )
    assert answer == (
        "Milestone #1 was removed a moment ago. See the rest with `/mentor milestone list`."
    )
    assert all(chat.dms(who)[before[who] :] == [] for who in ("alice", "bob"))
