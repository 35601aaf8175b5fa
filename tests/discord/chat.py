"""A Discord test reads like a conversation: ``await chat.slash("alice", "win", text=...)``,
then ``await chat.dm_arrives("bob", "shared a win")``. Everything goes through the real
discord.py client, the adapter, the Engine, the database and the delivery worker; only
Discord itself is the local fake."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from adapters.discord.app import DiscordAdapter
from bot.clock import ManualClock
from bot.delivery import RateLimit, RateLimits
from bot.engine import Engine
from bot.refs import Platform
from bot.settings import Settings
from bot.storage.database import Database
from scheduler.app import BotScheduler
from scheduler.delivery_worker import DeliveryWorker
from tests.discord.fake_discord import JSON, TOKEN, FakeDiscord, Interaction, buttons_of, text_of


@dataclass
class DiscordChat:
    fake: FakeDiscord
    guild: str
    people: dict[str, str] = field(default_factory=dict)  # name -> user id

    def id(self, name: str) -> str:
        return self.people[name]

    def mention(self, name: str) -> str:
        return f"<@{self.people[name]}>"

    def channel(self, name: str) -> str:
        return self.fake.channel_named(self.guild, name)

    async def slash(self, who: str, line: str, **options: Any) -> Interaction:
        """Run a slash command as ``who``; an option value ``"@name"`` is that person,
        ``"#name"`` that channel. Returns once the bot has answered."""
        values = {name: self._value(value) for name, value in options.items()}
        payload = self.fake.slash(self.guild, self.id(who), line, **values)
        return await self.fake.answered(await self.fake.interact(payload))

    async def suggested(
        self, who: str, line: str, option: str, typed: str, **options: Any
    ) -> list[JSON]:
        """What Discord shows ``who`` typing ``typed`` into ``option`` of ``line`` (the
        other options given as for :meth:`slash`): the choices of the bot's autocomplete
        answer, which the fake checks against Discord's limits."""
        values = {name: self._value(value) for name, value in options.items()}
        payload = self.fake.autocomplete(self.guild, self.id(who), line, option, typed, **values)
        record = await self.fake.answered(await self.fake.interact(payload))
        (callback,) = record.callbacks
        assert callback["type"] == 8, callback  # APPLICATION_COMMAND_AUTOCOMPLETE_RESULT
        return list(callback["data"]["choices"])

    async def click(self, who: str, label: str) -> Interaction:
        """Press the newest button labelled ``label`` that ``who`` can see."""
        message = self.newest_with_button(who, label)
        payload = self.fake.click(self.id(who), message, label)
        return await self.fake.answered(await self.fake.interact(payload))

    async def submit(self, who: str, opened: Interaction, **values: str) -> Interaction:
        """Fill in and submit the modal that ``opened`` showed."""
        modal = opened.modal
        assert modal is not None, f"no modal was opened: {opened.callbacks}"
        payload = self.fake.submit(self.id(who), opened.payload, modal, values)
        return await self.fake.answered(await self.fake.interact(payload))

    async def dm_arrives(self, who: str, part: str, seconds: float = 5.0) -> JSON:
        def found() -> JSON | None:
            return next((m for m in self.fake.dms(self.id(who)) if part in text_of(m)), None)

        message: JSON = await self.fake.until(found, seconds)
        return message

    async def post_arrives(self, channel: str, part: str, seconds: float = 5.0) -> JSON:
        def found() -> JSON | None:
            posts = self.fake.posts(self.channel(channel))
            return next((m for m in posts if part in text_of(m)), None)

        message: JSON = await self.fake.until(found, seconds)
        return message

    def dms(self, who: str) -> list[str]:
        return self.fake.dm_texts(self.id(who))

    def newest_with_button(self, who: str, label: str) -> JSON:
        user_id = self.id(who)
        seen = list(self.fake.dms(user_id))
        for record in self.fake.interactions.values():
            member = record.payload.get("member") or {}
            if (member.get("user") or record.payload.get("user") or {}).get("id") == user_id:
                seen += record.messages
        seen.sort(key=lambda message: int(message["id"]))
        for message in reversed(seen):
            if any(button["label"] == label for button in buttons_of(message)):
                return message
        raise AssertionError(f"{who} sees no [{label}] button")

    def _value(self, value: Any) -> Any:
        if isinstance(value, str) and value.startswith("@") and value[1:] in self.people:
            return self.people[value[1:]]
        if isinstance(value, str) and value.startswith("#"):
            return self.channel(value[1:])
        return value


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 5.0) -> None:
    """Wait until an async condition holds (for what the fake can't see: the database)."""
    async with asyncio.timeout(seconds):
        while True:
            if await check():
                return
            await asyncio.sleep(0.01)


@dataclass
class RunningBot:
    adapter: DiscordAdapter
    engine: Engine
    worker: DeliveryWorker
    scheduler: BotScheduler
    setups: list[str]


def settings_for(fake: FakeDiscord, guild_id: str | None) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        discord_bot_token=SecretStr(TOKEN),
        discord_guild_id=guild_id,
        discord_api_url=fake.api_url,
        discord_gateway_url=fake.gateway_url,
    )


@contextlib.asynccontextmanager
async def running_bot(
    fake: FakeDiscord,
    database: Database,
    clock: ManualClock,
    *,
    guild_id: str | None = None,
    sharded: bool = False,
    defer_after: float = 2.0,
    engine_factory: Callable[..., Engine] = Engine,
    send_timeout: float = 10.0,
    poll_seconds: float = 0.05,
) -> AsyncIterator[RunningBot]:
    """The bot wired as the composition root wires it: the engine wakes the delivery
    worker, and the scheduler starts from the adapter's ``on_setup``."""
    holder: list[DeliveryWorker] = []
    setups: list[str] = []
    engine = engine_factory(database, clock, on_queued=lambda: holder[0].wake())
    settings = settings_for(fake, guild_id)

    def on_setup() -> None:
        setups.append("setup")
        scheduler.start()

    adapter = DiscordAdapter(
        settings,
        engine,
        database,
        on_setup=on_setup,
        sharded=sharded,
        defer_after=defer_after,
        guild_ready_timeout=0.01,
        send_timeout=send_timeout,
    )
    limits = RateLimits({Platform.DISCORD: RateLimit(per_second=1000, burst=1000)})
    worker = DeliveryWorker(
        database,
        {Platform.DISCORD: adapter.sender},
        clock,
        poll_seconds=poll_seconds,
        limits=limits,
    )
    holder.append(worker)
    scheduler = BotScheduler(engine, worker, interval_seconds=3600, jitter_seconds=0)
    task = asyncio.create_task(adapter.start())
    try:
        async with asyncio.timeout(10):
            while not adapter.client.is_ready():
                if task.done():
                    task.result()
                await asyncio.sleep(0.005)
        yield RunningBot(adapter, engine, worker, scheduler, setups)
    finally:
        await adapter.stop()
        await scheduler.stop(grace_seconds=2)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)
