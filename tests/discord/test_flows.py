"""The bot's flows on Discord, end to end: the real discord.py client on loopback against
the local fake, through the adapter, the Engine, the database and the delivery worker."""

from __future__ import annotations

from sqlalchemy import func, select

from adapters.discord import render
from bot.storage.database import Database
from bot.storage.models import OutboxMessage, Pair, Win
from tests.discord.chat import DiscordChat, RunningBot
from tests.discord.fake_discord import JSON, FakeDiscord, buttons_of, text_of

QUESTION = "In Tuesday's demo, was the architecture part clear enough for the sales team?"


async def pair_up(chat: DiscordChat, mentor: str, mentee: str) -> None:
    await chat.slash(mentor, "mentor pair", mentor=f"@{mentor}", mentee=f"@{mentee}")
    await chat.dm_arrives(mentee, "would like to")
    await chat.click(mentee, "Accept")
    await chat.dm_arrives(mentor, "You're paired")


async def wins(database: Database) -> int:
    async with database.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(Win)) or 0)


async def test_a_win_is_removed_from_the_journal_by_its_number(
    bot: RunningBot, chat: DiscordChat, database: Database
) -> None:
    """``/mentor journal remove:<n>``: the option the command tree registers, written
    into the chat command's words, answered in the server only to its author."""
    await chat.slash("bob", "win", text="the first")
    await chat.slash("bob", "win", text="the second")
    listed = await chat.slash("bob", "mentor journal")
    assert "• #2 " in listed.text() and "• #1 " in listed.text()
    removed = await chat.slash("bob", "mentor journal", remove=1)
    (callback,) = removed.callbacks
    assert callback["data"]["flags"] == render.EPHEMERAL
    assert removed.text().startswith("Removed win #1 (")
    assert "from your journal: “the first”" in removed.text()
    assert await wins(database) == 1
    assert "• #1 " in (await chat.slash("bob", "mentor journal", page=1)).text()
    # Discord's number option refuses 0 before the bot sees it; a number past the end:
    assert (
        "has no win #7: it has 1 win"
        in (await chat.slash("bob", "mentor journal", remove=7)).text()
    )


async def test_a_partners_wins_are_shown_by_the_journals_partner_option(
    bot: RunningBot, chat: DiscordChat
) -> None:
    """``/mentor journal partner:@bob``: the option the command tree registers, written
    into the chat command's words; with ``remove`` too, only one's own win is removed."""
    await pair_up(chat, "alice", "bob")
    await chat.slash("bob", "win", text="shipped the parser")
    shown = (await chat.slash("alice", "mentor journal", partner="@bob")).text()
    assert shown.startswith(f"{chat.mention('bob')}'s wins since your pair began on ")
    assert shown.endswith(" — shipped the parser")
    refused = (await chat.slash("alice", "mentor journal", remove=1, partner="@bob")).text()
    assert refused.startswith("You can remove only your own wins, by their numbers")


async def test_the_feedback_list_has_pages_by_its_option(
    bot: RunningBot, chat: DiscordChat
) -> None:
    """``/mentor feedback list page:<n>``: the option the command tree registers."""
    await pair_up(chat, "alice", "bob")
    for n in range(1, 12):
        question = f"In my PR number {n}, is the error handling clear?"
        await chat.slash("bob", "mentor feedback ask", question=question)
    first = (await chat.slash("bob", "mentor feedback list")).text()
    assert first.startswith("Your feedback, newest first (page 1 of 2, 11 in all):")
    second = (await chat.slash("bob", "mentor feedback list", page=2)).text()
    assert second.startswith("Your feedback, newest first (page 2 of 2, 11 in all):")
    assert "PR number 1," in second and "PR number 2," not in second


async def test_a_win_is_answered_and_the_partner_gets_a_dm(
    bot: RunningBot, chat: DiscordChat, fake: FakeDiscord, database: Database
) -> None:
    await pair_up(chat, "alice", "bob")
    answered = await chat.slash("alice", "win", text="shipped the *login* page")
    (callback,) = answered.callbacks
    assert callback["type"] == 4
    assert callback["data"]["flags"] == render.EPHEMERAL
    # alice hears of the "First win" milestone in this answer: one message to her.
    assert callback["data"]["content"].startswith(
        f"Saved to your journal (win #1) and shared with {chat.mention('bob')}. 🎉\n\n"
        f"🎉 You reached a milestone: **First win**! I told {chat.mention('bob')} too.\n"
        "Tip: no shout-out channel is set up yet."
    )
    async with database.transaction() as session:
        queued = (await session.execute(select(OutboxMessage))).scalars()
        told = [m.target_id for m in queued if "First win" in m.content["text"]]
    assert told == [chat.id("bob")]
    dm = await chat.dm_arrives("bob", "shared a win")
    assert dm["content"] == ""
    (embed,) = dm["embeds"]
    # One message: the win, and the "First win" milestone it reached.
    assert embed["description"] == (
        f"{chat.mention('alice')} shared a win: shipped the **login** page\n\n"
        f"🎉 {chat.mention('alice')} reached a milestone: **First win**"
    )
    assert embed["color"] == render.BRAND_COLOUR
    sent = fake.requests_to("POST", rf"/channels/{dm['channel_id']}/messages")[-1].body
    assert sent["enforce_nonce"] is True and sent["nonce"].startswith("mb")
    assert sent["allowed_mentions"] == {"parse": []}
    # The DM channel was opened once, for all of bob's DMs.
    opened = [r for r in fake.requests_to("POST", "/users/@me/channels")]
    assert [r.body["recipient_id"] for r in opened].count(chat.id("bob")) == 1
    assert len(fake.dms(chat.id("bob"))) >= 2


async def test_a_pair_is_proposed_and_accepted_with_a_button(
    bot: RunningBot, chat: DiscordChat, fake: FakeDiscord
) -> None:
    answered = await chat.slash("alice", "mentor pair", mentor="@alice", mentee="@bob")
    assert "I asked" in answered.text()
    invitation = await chat.dm_arrives("bob", "would like to mentor you")
    accept, decline = buttons_of(invitation)
    assert (accept["label"], accept["style"]) == ("Accept", 1)
    assert (decline["label"], decline["style"]) == ("Decline", 4)
    assert accept["custom_id"].startswith(f"{chat.guild}|flow:")

    clicked = await chat.click("bob", "Accept")
    (callback,) = clicked.callbacks
    assert callback["type"] == 7  # the invitation itself is replaced, its buttons gone
    assert callback["data"]["components"] == []
    assert "You're paired" in text_of(fake.dms(chat.id("bob"))[0])
    welcome = await chat.dm_arrives("alice", "You're paired")
    assert "is mentoring" in text_of(welcome)
    status = await chat.slash("bob", "mentor status")
    assert chat.mention("alice") in status.text()


async def test_a_checkin_is_answered_through_a_modal(
    bot: RunningBot, chat: DiscordChat, fake: FakeDiscord
) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.slash("alice", "mentor checkin")
    await chat.dm_arrives("bob", "Time for your check-in")
    opened = await chat.click("bob", "Answer in a form")
    (callback,) = opened.callbacks
    assert callback["type"] == 9
    modal = callback["data"]
    assert modal["title"] == "Your check-in"
    inputs = [row["components"][0] for row in modal["components"]]
    assert [i["custom_id"] for i in inputs] == ["mood", "progress", "challenge", "next_topic"]
    assert all(len(i["label"]) <= 45 for i in inputs)

    submitted = await chat.submit(
        "bob", opened, mood="great", progress="Shipped the parser", next_topic="Naming"
    )
    assert f"I'll share your answers with <@{chat.id('alice')}> once they've answered" in (
        submitted.text()
    )
    assert submitted.callbacks[0]["data"]["flags"] == render.EPHEMERAL

    await chat.dm_arrives("alice", "Time for your check-in")
    alice_form = await chat.click("alice", "Answer in a form")
    done = await chat.submit("alice", alice_form, mood="ok", progress="Reviewed two PRs")
    assert done.callbacks  # the modal is answered (and closes)
    # One event, one message: the thanks heads the DM with bob's answers.
    shared = await chat.dm_arrives("alice", "Thanks! You've both answered.")
    fields = {f["name"]: f["value"] for f in shared["embeds"][0]["fields"]}
    assert fields["Moved forward"] == "Shipped the parser"
    assert fields["For next time"] == "Naming"


async def test_a_look_back_form_opens_with_the_answer_given_so_far(
    bot: RunningBot, chat: DiscordChat, fake: FakeDiscord
) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.slash("bob", "mentor review")
    await chat.dm_arrives("bob", "What went well?")
    await fake.user_dm(chat.id("bob"), "The weekly rhythm kept me going.")
    await chat.dm_arrives("bob", "What could be improved?")
    opened = await chat.click("bob", "Answer in a form")
    assert opened.modal is not None
    inputs = [row["components"][0] for row in opened.modal["components"]]
    assert [(i["custom_id"], i.get("value")) for i in inputs] == [
        ("went_well", "The weekly rhythm kept me going."),
        ("could_improve", None),
    ]
    # The first answer left as it opened, the second written now.
    await chat.submit("bob", opened, could_improve="Shorter check-ins on busy weeks.")
    shared = await chat.dm_arrives("alice", "look back")
    assert "Went well: The weekly rhythm kept me going." in text_of(shared)
    assert "Could improve: Shorter check-ins on busy weeks." in text_of(shared)


async def test_feedback_is_asked_and_answered_in_a_dm_and_in_a_form(
    bot: RunningBot, chat: DiscordChat, fake: FakeDiscord
) -> None:
    await pair_up(chat, "alice", "bob")
    asked = await chat.slash("bob", "mentor feedback ask", question=QUESTION)
    assert "Sent your question" in asked.text()
    await chat.dm_arrives("alice", QUESTION)

    # alice answers by replying in the DM: Discord sends no server with it.
    await fake.user_dm(chat.id("alice"), "Mostly. Slow down on the diagrams.")
    answer = await chat.dm_arrives("bob", "answered your question")
    assert "Slow down on the diagrams." in text_of(answer)
    # The answer to her DM is a DM too: plain text, like a reply in a conversation.
    thanks = await chat.dm_arrives("alice", "your answer to")
    assert thanks["content"].startswith(
        f"Thanks! I've sent {chat.mention('bob')} your answer to “{QUESTION}”"
    )
    posted = fake.requests_to("POST", rf"/channels/{thanks['channel_id']}/messages")
    (request,) = [r for r in posted if r.body.get("content") == thanks["content"]]
    assert "nonce" not in request.body  # not from the outbox: nothing to deduplicate

    # A second question, answered through the form.
    await chat.slash("bob", "mentor feedback ask", question=QUESTION + " And the demo?")
    await chat.dm_arrives("alice", "And the demo?")
    opened = await chat.click("alice", "Answer in a form")
    assert opened.modal is not None and opened.modal["title"] == "Feedback"
    await chat.submit("alice", opened, answer="Yes: open with the why.")
    answered = await chat.dm_arrives("bob", "open with the why")
    assert "answered your question" in text_of(answered)


async def test_a_milestone_is_shouted_out_in_the_channel(
    bot: RunningBot, chat: DiscordChat, fake: FakeDiscord
) -> None:
    await pair_up(chat, "alice", "bob")
    configured = await chat.slash("alice", "mentor config shoutouts", channel="#wins")
    assert chat.channel("wins") in configured.text()
    assert "Heads-up" not in configured.text()
    await chat.slash("bob", "win", text="first green build")
    await chat.dm_arrives("bob", "May I celebrate it")
    await chat.click("bob", "Yes, shout it out")
    post = await chat.post_arrives("wins", "reached a milestone")
    (embed,) = post["embeds"]
    assert embed["description"] == f"🎉 {chat.mention('bob')} reached a milestone: **First win**"
    assert embed["color"] == render.CELEBRATION_COLOUR
    assert post["components"] == []
    sent = fake.requests_to("POST", rf"/channels/{chat.channel('wins')}/messages")[0].body
    assert sent["allowed_mentions"] == {"parse": []} and sent["enforce_nonce"] is True
    await chat.dm_arrives("alice", "celebrated in")


async def test_a_repeated_interaction_does_nothing_twice(
    bot: RunningBot, chat: DiscordChat, fake: FakeDiscord, database: Database
) -> None:
    await pair_up(chat, "alice", "bob")
    payload = fake.slash(chat.guild, chat.id("alice"), "win", text="only once")
    first = await fake.answered(await fake.interact(payload))
    await fake.interact(payload)  # the same INTERACTION_CREATE again
    await chat.dm_arrives("bob", "only once")
    await chat.slash("alice", "mentor status")  # handled after the repeat, in order
    assert len(first.callbacks) == 1
    assert len(fake.requests_to("POST", rf"/interactions/{first.id}/.*/callback")) == 1
    assert [t.split("\n")[0] for t in chat.dms("bob") if "only once" in t] == [
        f"{chat.mention('alice')} shared a win: only once"
    ]
    assert await wins(database) == 1


async def test_the_bot_ignores_its_own_dms_and_greets_strangers(
    bot: RunningBot, chat: DiscordChat, fake: FakeDiscord
) -> None:
    await pair_up(chat, "alice", "bob")  # the bot's own DMs come back over the gateway
    await fake.user_dm(chat.id("carol"), "hello?")
    reply = await fake.until(lambda: fake.dms(chat.id("carol"))[1:])
    assert "I work inside your server" in text_of(reply[0])
    assert not [m for m in fake.dms(chat.id("bob")) if "not waiting" in text_of(m)]


async def test_an_admin_hears_at_once_when_the_bot_cannot_post_in_the_chosen_channel(
    bot: RunningBot, chat: DiscordChat, fake: FakeDiscord
) -> None:
    locked = fake.add_channel(chat.guild, "announcements", deny=(1 << 11) | (1 << 14))
    await fake.dispatch("CHANNEL_CREATE", fake.channels[locked])
    answered = await chat.slash("alice", "mentor config shoutouts", channel="#announcements")
    assert f"Milestone shout-outs will go to <#{locked}>" in answered.text()
    assert "I'm missing Send Messages, Embed Links there" in answered.text()
    refused = await chat.slash("bob", "mentor config shoutouts", channel="#announcements")
    assert "Heads-up" not in refused.text()  # not an admin: nothing was chosen


async def test_a_pause_until_a_day_as_the_bot_writes_it(
    bot: RunningBot, chat: DiscordChat, fake: FakeDiscord
) -> None:
    """The `until` option takes a day as people and the bot write it ("Wed 16 Dec 2026",
    "Wednesday 16 December"), within the length the command declares to Discord."""
    await pair_up(chat, "alice", "bob")
    paused = await chat.slash("alice", "mentor pause", until="Wednesday 16 December")
    assert paused.text().startswith("Paused until Wed 16 Dec, 00:00 (UTC).")
    await chat.dm_arrives("bob", "paused your check-ins until Wed 16 Dec")


async def test_the_time_option_reads_a_bare_number_as_an_hour(
    bot: RunningBot, chat: DiscordChat
) -> None:
    """The time option holds a time of day and nothing else, so "12" is 12:00 there (in
    typed words a bare number could be a day: `/mentor cadence monthly 12` is not noon).
    It used to answer "'12' is not a time"."""
    await pair_up(chat, "alice", "bob")
    for typed, said in (("12", "12:00"), ("9:30", "09:30"), ("5pm", "17:00"), ("at 11", "11:00")):
        answered = await chat.slash("alice", "mentor cadence", time=typed)
        assert f"at {said} (UTC)" in answered.text(), (typed, answered.text())
    refused = await chat.slash("alice", "mentor cadence", time="25")
    assert refused.text().startswith("'25' is not a time of day: hours go up to 23.")


async def test_two_options_that_exclude_each_other_are_named_not_quoted(
    bot: RunningBot, chat: DiscordChat
) -> None:
    """Both of pause's days and until, or both of shoutouts' channel and off: the answer
    names the choice, never the words the options were written into ("`3d until
    2027-01-10` is not a length"), which the person never typed."""
    await pair_up(chat, "alice", "bob")
    paused = await chat.slash("alice", "mentor pause", days=3, until="2027-01-10")
    assert paused.text().startswith(
        "Say how long (like `2w`) or until when (like `until 2027-01-10`), not both."
    )
    channel = await chat.slash("alice", "mentor config shoutouts", channel="#wins", off=True)
    assert channel.text().startswith("Name a shout-out channel or say `off`, not both.")


async def test_a_skip_is_undone_by_the_button_on_its_answer(
    bot: RunningBot, chat: DiscordChat, fake: FakeDiscord
) -> None:
    await pair_up(chat, "alice", "bob")
    skipped = await chat.slash("bob", "mentor skip")
    assert skipped.text().startswith("Skipped the check-in of Mon 30 Nov")
    undone = await chat.click("bob", "Undo skip")
    assert "Undone: the check-in of Mon 30 Nov" in undone.text()
    await chat.dm_arrives("alice", "took back their skip: your check-in of Mon 30 Nov")


async def test_status_of_one_pair_by_its_partner_option(
    bot: RunningBot, chat: DiscordChat, fake: FakeDiscord
) -> None:
    await pair_up(chat, "alice", "bob")
    await pair_up(chat, "carol", "bob")
    shown = await chat.slash("bob", "mentor status", partner="@carol")
    assert "mentoring you" in shown.text()
    assert chat.mention("carol") in shown.text() and chat.mention("alice") not in shown.text()


async def test_a_milestone_is_done_or_removed_by_its_title_or_its_number(
    bot: RunningBot, chat: DiscordChat, fake: FakeDiscord
) -> None:
    """`/mentor milestone done|remove` take a goal's title, as the typed commands do
    (Slack, the console), or its number from the list. Before, Discord's option was an
    integer: a goal could only be named by its number there."""
    await pair_up(chat, "alice", "bob")
    await chat.slash("bob", "mentor milestone add", title="Give my first talk")
    await chat.slash("bob", "mentor milestone add", title="Ship the API")
    await chat.slash("bob", "mentor milestone add", title="Write a design doc")
    done = await chat.slash("bob", "mentor milestone done", milestone="give my first TALK")
    assert done.text().startswith("Milestone #1 done: Give my first talk"), done.text()
    removed = await chat.slash("bob", "mentor milestone remove", milestone="3")
    assert "Write a design doc" in removed.text(), removed.text()
    unknown = await chat.slash("bob", "mentor milestone done", milestone="Learn Rust")
    assert "Learn Rust" in unknown.text(), unknown.text()
    listed = await chat.slash("bob", "mentor milestone list")
    assert "Ship the API" in listed.text() and "Write a design doc" not in listed.text()


async def _goals_suggested(
    chat: DiscordChat, who: str, line: str, typed: str, **options: str
) -> list[JSON]:
    return await chat.suggested(who, line, "milestone", typed, **options)


async def test_the_milestone_option_suggests_the_open_goals_of_ones_pairs(
    bot: RunningBot, chat: DiscordChat, fake: FakeDiscord
) -> None:
    """Typing into `milestone` of `/mentor milestone done|remove` lists the open goals of
    the person's pairs that match (by title, or by number), newest pairs' too; reached
    goals and other people's are not offered. A choice carries the goal's title, which
    the command reads as typed."""
    await pair_up(chat, "alice", "bob")
    await chat.slash("bob", "mentor milestone add", title="Give my first talk")
    await chat.slash("bob", "mentor milestone add", title="Ship the API")
    await chat.slash("bob", "mentor milestone add", title="Write a design doc")
    await chat.slash("bob", "mentor milestone done", milestone="1")
    assert await _goals_suggested(chat, "bob", "mentor milestone done", "") == [
        {"name": "#2 Ship the API", "value": "Ship the API"},
        {"name": "#3 Write a design doc", "value": "Write a design doc"},
    ]
    assert await _goals_suggested(chat, "alice", "mentor milestone remove", "DESIGN") == [
        {"name": "#3 Write a design doc", "value": "Write a design doc"},
    ]
    assert await _goals_suggested(chat, "bob", "mentor milestone done", "#2") == [
        {"name": "#2 Ship the API", "value": "Ship the API"},
    ]
    assert await _goals_suggested(chat, "carol", "mentor milestone done", "") == []
    done = await chat.slash("bob", "mentor milestone done", milestone="Ship the API")
    assert done.text().startswith("Milestone #2 done: Ship the API"), done.text()

    # In two pairs, each choice says with whom; the partner option narrows them.
    await pair_up(chat, "carol", "bob")
    await chat.slash("bob", "mentor milestone add", title="Learn Rust", partner="@carol")
    assert await _goals_suggested(chat, "bob", "mentor milestone done", "") == [
        {"name": "#3 Write a design doc (with Alice)", "value": "Write a design doc"},
        {"name": "#1 Learn Rust (with Carol)", "value": "Learn Rust"},
    ]
    assert await _goals_suggested(chat, "bob", "mentor milestone done", "", partner="@carol") == [
        {"name": "#1 Learn Rust", "value": "Learn Rust"}
    ]


async def test_goal_choices_fit_discords_limits(
    bot: RunningBot, chat: DiscordChat, fake: FakeDiscord
) -> None:
    """30 open goals: 25 choices at most. A title longer than a choice's 100 characters
    is cut in the name (with "…"), and the choice carries its number instead."""
    await pair_up(chat, "alice", "bob")
    long = "Present the quarterly roadmap to the whole engineering organisation, " * 2
    await chat.slash("bob", "mentor milestone add", title=long.strip())
    for n in range(2, 31):
        await chat.slash("bob", "mentor milestone add", title=f"Goal {n} 🎯")
    choices = await _goals_suggested(chat, "bob", "mentor milestone done", "")
    assert len(choices) == 25
    first = choices[0]
    assert first["value"] == "1" and first["name"].startswith("#1 Present the quarterly")
    assert first["name"].endswith("…") and len(first["name"]) <= 100
    done = await chat.slash("bob", "mentor milestone done", milestone=first["value"])
    assert done.text().startswith("Milestone #1 done: Present the quarterly"), done.text()


async def test_a_bot_picked_as_mentor_or_mentee_is_refused_before_anything_is_asked(
    bot: RunningBot, chat: DiscordChat, fake: FakeDiscord, database: Database
) -> None:
    """Discord's user picker offers the server's bots too. One picked as mentee (or the
    bot itself) is refused in the answer, with no pair stored and no DM sent: Discord
    would refuse a DM to a bot, and nobody there could agree."""
    carl = fake.add_user("Carl-bot", bot=True)
    for mentee in (carl, fake.bot["id"]):
        fake.users.setdefault(mentee, fake.bot)
        answered = await chat.slash("alice", "mentor pair", mentor="@alice", mentee=mentee)
        assert answered.text() == (
            f"<@{mentee}> is a bot, and mentoring pairs are people: name a person instead."
        )
    async with database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Pair)) == 0
    assert fake.dms(carl) == []
    answered = await chat.slash("alice", "mentor pair", mentor="@alice", mentee="@bob")
    assert "I asked" in answered.text()
