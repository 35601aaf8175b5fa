"""Fixtures: a fake Discord on loopback, a server with people in it, and the bot running
against it (on each database backend)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from discord.http import HTTPClient, Route

from adapters.discord.sender import DiscordSender
from bot.clock import ManualClock
from bot.storage.database import Database
from tests.discord.chat import DiscordChat, RunningBot, running_bot
from tests.discord.fake_discord import TOKEN, FakeDiscord


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    discord = FakeDiscord()
    await discord.start()
    yield discord
    await discord.close()


@pytest.fixture
def chat(fake: FakeDiscord) -> DiscordChat:
    """alice owns the server (an admin); bob and carol are members."""
    people = {name: fake.add_user(name.title()) for name in ("alice", "bob", "carol")}
    guild = fake.add_guild("Mentoring", owner_id=people["alice"], channels=("general", "wins"))
    return DiscordChat(fake, guild, people)


@pytest.fixture
async def bot(
    fake: FakeDiscord, chat: DiscordChat, database: Database, clock: ManualClock
) -> AsyncIterator[RunningBot]:
    async with running_bot(fake, database, clock, guild_id=chat.guild) as running:
        yield running


@pytest.fixture
async def sender(fake: FakeDiscord) -> AsyncIterator[DiscordSender]:
    """The Discord sender alone, on discord.py's HTTP client, against the fake's REST API."""
    base = Route.BASE
    Route.BASE = fake.api_url
    http = HTTPClient(asyncio.get_running_loop(), max_ratelimit_timeout=30.0)
    await http.static_login(TOKEN)
    try:
        yield DiscordSender(http, timeout=5)
    finally:
        await http.close()
        Route.BASE = base
