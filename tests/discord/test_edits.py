"""An edited DM on Discord (MESSAGE_UPDATE over the gateway), through the real discord.py
client and the adapter: the person is told in their DM that the edit was not saved, once
per edit, and what they first sent stands (the Engine's side: tests/test_edits.py)."""

from __future__ import annotations

from sqlalchemy import select

from bot.storage.database import Database
from bot.storage.models import CheckinAnswer
from tests.discord.chat import DiscordChat, RunningBot
from tests.discord.fake_discord import FakeDiscord
from tests.discord.test_flows import pair_up

NOT_READ = "You edited a message you had sent me. I don't read edits"


async def test_an_edited_answer_is_not_saved_and_the_dm_says_so(
    bot: RunningBot, chat: DiscordChat, fake: FakeDiscord, database: Database
) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.slash("bob", "mentor checkin")
    await chat.dm_arrives("bob", "Time for your check-in")
    sent = await fake.user_dm(chat.id("bob"), "Calm week")
    await chat.dm_arrives("bob", "What moved forward")

    edited = await fake.user_edits_dm(sent, "Calm week, and a good demo")
    note = await chat.dm_arrives("bob", NOT_READ)
    assert note["content"] == (
        f"{NOT_READ}, so I didn't save “Calm week, and a good demo”: what you first sent "
        f"stands.\n\nYour check-in with {chat.mention('alice')} is still open: your next "
        "reply here answers “What moved forward since last time?”\nTo change an answer "
        "you gave: `/mentor checkin` sends its question again with the “Answer in a form” "
        "button, which opens with your answers so far."
    )
    async with database.transaction() as session:
        [kept] = (await session.execute(select(CheckinAnswer))).scalars()
    assert (kept.mood, kept.progress) == ("Calm week", None)

    # Discord's own change to the message (a link's embed) is no edit: nothing is said.
    # A second edit is: one note each, so two in all.
    await fake.user_edits_dm(edited)
    await fake.user_edits_dm(edited, "Calm week, a good demo, and a long lunch")
    await chat.dm_arrives("bob", "didn't save “Calm week, a good demo, and a long lunch”")
    assert sum(text.startswith(NOT_READ) for text in chat.dms("bob")) == 2
