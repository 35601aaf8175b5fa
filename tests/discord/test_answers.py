"""Every interaction gets its first answer in time, even when the core is slow; forms too
long for one modal are asked in parts; buttons keep working after a restart."""

from __future__ import annotations

import asyncio
from typing import Any

from adapters.discord.app import FORM_EXPIRED
from bot.clock import ManualClock
from bot.content import Button, Content, Form, FormField
from bot.effects import Effect, OpenForm, ReplyEphemeral
from bot.engine import Engine
from bot.events import ButtonClicked, CommandInvoked, Event, FormSubmitted
from bot.storage.database import Database
from tests.discord.chat import DiscordChat, running_bot
from tests.discord.fake_discord import FakeDiscord, buttons_of, text_of


class SlowEngine(Engine):
    """The real engine, behind a slow disk."""

    async def handle(self, event: Event) -> list[Effect]:
        await asyncio.sleep(0.25)
        return await super().handle(event)


async def test_a_slow_answer_is_deferred_first_then_followed_up(
    fake: FakeDiscord, chat: DiscordChat, database: Database, clock: ManualClock
) -> None:
    async with running_bot(
        fake, database, clock, guild_id=chat.guild, engine_factory=SlowEngine, defer_after=0.05
    ):
        await chat.slash("alice", "mentor pair", mentor="@alice", mentee="@bob")
        await chat.dm_arrives("bob", "would like to")

        # A click: acknowledged quietly at once, then the clicked message is replaced.
        clicked = await chat.click("bob", "Accept")
        assert [c["type"] for c in clicked.callbacks] == [6]
        await fake.until(lambda: "You're paired" in text_of(fake.dms(chat.id("bob"))[0]))
        assert buttons_of(fake.dms(chat.id("bob"))[0]) == []

        # A command: "thinking…" at once, then the answer fills it in.
        win = await chat.slash("alice", "win", text="slow but sure")
        assert win.callbacks == [{"type": 5, "data": {"flags": 64}}]
        await fake.until(lambda: "Saved to your journal" in win.text())
        await chat.dm_arrives("bob", "slow but sure")

        # A form can't follow a defer: it is offered as a button that opens it.
        await chat.slash("alice", "mentor checkin")
        await chat.dm_arrives("bob", "Time for your check-in")
        late = await chat.click("bob", "Answer in a form")
        assert [c["type"] for c in late.callbacks] == [6]
        await fake.until(lambda: late.followups)
        assert late.followups[0]["flags"] & 64
        opened = await chat.click("bob", "Open the form")
        assert opened.callbacks[0]["type"] == 9  # at once: nothing to ask the core
        submitted = await chat.submit("bob", opened, mood="ok", progress="Steady")
        assert submitted.callbacks[0]["type"] == 5
        await fake.until(lambda: "I'll share your answers" in submitted.text())


SEVEN = Form(
    "flow:99:answers",
    "A long look back",
    tuple(FormField(f"q{n}", f"Question number {n}") for n in range(1, 8)),
)


class LongFormEngine(Engine):
    """The real engine, plus one flow with a seven-question form."""

    submitted: list[FormSubmitted]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.submitted = []

    async def handle(self, event: Event) -> list[Effect]:
        if isinstance(event, CommandInvoked) and event.text == "review":
            button = Button("Answer in a form", "flow:99:form")
            return [ReplyEphemeral(event.user, Content("Look back?", buttons=(button,)))]
        if isinstance(event, ButtonClicked) and event.action_id == "flow:99:form":
            return [
                ReplyEphemeral(event.user, Content("A note first.")),
                OpenForm(event.user, SEVEN),
            ]
        if isinstance(event, FormSubmitted) and event.form_id == SEVEN.form_id:
            self.submitted.append(event)
            return [ReplyEphemeral(event.user, Content("Saved all seven."))]
        return await super().handle(event)


async def test_a_form_of_seven_questions_is_asked_in_two_modals(
    fake: FakeDiscord, chat: DiscordChat, database: Database, clock: ManualClock
) -> None:
    async with running_bot(
        fake, database, clock, guild_id=chat.guild, engine_factory=LongFormEngine
    ) as bot:
        engine = bot.engine
        assert isinstance(engine, LongFormEngine)
        await chat.slash("alice", "mentor review")
        first = await chat.click("alice", "Answer in a form")
        assert first.modal is not None
        assert first.modal["title"] == "A long look back (1/2)"
        assert len(first.modal["components"]) == 5

        part_one = await chat.submit("alice", first, **{f"q{n}": f"a{n}" for n in range(1, 6)})
        assert "Got part 1 of 2" in part_one.text()
        assert not engine.submitted  # nothing reaches the core before the last part

        second = await chat.click("alice", "Continue (2/2)")
        assert second.modal is not None and len(second.modal["components"]) == 2
        done = await chat.submit("alice", second, q6="a6", q7="a7")
        (submitted,) = engine.submitted
        assert dict(submitted.values) == {f"q{n}": f"a{n}" for n in range(1, 8)}
        # The note that came with the form waited for its answer.
        assert done.text() == "A note first.\n\nSaved all seven."

        again = await chat.click("alice", "Continue (2/2)")
        assert again.text() == FORM_EXPIRED


async def test_buttons_keep_working_after_a_restart(
    fake: FakeDiscord, chat: DiscordChat, database: Database, clock: ManualClock
) -> None:
    async with running_bot(fake, database, clock, guild_id=chat.guild):
        await chat.slash("alice", "mentor pair", mentor="@alice", mentee="@bob")
        await chat.dm_arrives("bob", "would like to")
    async with running_bot(fake, database, clock, guild_id=chat.guild):
        clicked = await chat.click("bob", "Accept")
        assert clicked.callbacks[0]["type"] == 7
        await chat.dm_arrives("alice", "You're paired")
        status = await chat.slash("alice", "mentor status")
        assert chat.mention("bob") in status.text()


async def test_deferring_every_slash_command_still_lets_a_click_open_a_form(
    fake: FakeDiscord, chat: DiscordChat, database: Database, clock: ManualClock
) -> None:
    async with running_bot(fake, database, clock, guild_id=chat.guild, defer_after=0):
        answered = await chat.slash("alice", "mentor pair", mentor="@alice", mentee="@bob")
        assert answered.callbacks == [{"type": 5, "data": {"flags": 64}}]
        await fake.until(lambda: "I asked" in answered.text())
        await chat.dm_arrives("bob", "would like to")
        assert (await chat.click("bob", "Accept")).callbacks[0]["type"] == 7
        await chat.slash("alice", "mentor checkin")
        await chat.dm_arrives("bob", "Time for your check-in")
        opened = await chat.click("bob", "Answer in a form")
        assert opened.callbacks[0]["type"] == 9
