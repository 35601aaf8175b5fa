"""The gateway side: start-up work once, commands synced where they belong, a dropped or
recycled connection resumed without losing or doubling anything, servers joined and
left, and sharding (DMs only on shard 0) changing nothing for the adapter."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.storage.database import Database, sqlite_url
from bot.storage.models import Win, Workspace
from tests.conftest import Templates
from tests.discord.chat import DiscordChat, RunningBot, eventually, running_bot
from tests.discord.fake_discord import FakeDiscord, text_of
from tests.discord.test_flows import pair_up


async def count_wins(database: Database) -> int:
    async with database.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(Win)) or 0)


async def test_start_up_work_runs_once_and_commands_sync_to_the_configured_server(
    bot: RunningBot, chat: DiscordChat, fake: FakeDiscord
) -> None:
    assert bot.setups == ["setup"]
    assert bot.scheduler.running
    assert None not in fake.commands  # DISCORD_GUILD_ID set: nothing global
    synced = {c["name"]: c for c in fake.commands[chat.guild]}
    assert set(synced) == {"win", "mentor"}
    subcommands = {o["name"]: o for o in synced["mentor"]["options"]}
    assert {"pair", "cadence", "checkin", "feedback", "milestone", "config"} <= set(subcommands)
    assert {o["name"] for o in subcommands["milestone"]["options"]} == {
        "add",
        "done",
        "remove",
        "list",
    }
    (identify,) = fake.identify_payloads
    assert identify["intents"] == (1 << 0) | (1 << 12)  # GUILDS, DIRECT_MESSAGES
    assert not fake.requests_to("GET", "/gateway/bot")  # DISCORD_GATEWAY_URL, not asked

    await fake.reconnect()
    await fake.connected(resumes=1)
    await chat.slash("alice", "mentor status")
    assert bot.setups == ["setup"]  # on_ready may run again; setup_hook does not
    assert fake.sessions[0].identifies == 1


async def test_commands_sync_globally_without_a_server_id(
    fake: FakeDiscord, chat: DiscordChat, database: Database, clock: ManualClock
) -> None:
    async with running_bot(fake, database, clock, guild_id=None):
        assert {c["name"] for c in fake.commands[None]} == {"win", "mentor"}
        assert all(c.get("dm_permission") is False for c in fake.commands[None])
        answered = await chat.slash("bob", "mentor help", topic="pair")
        assert "/mentor pair @mentor @mentee" in answered.text()


async def test_a_reconnect_resumes_and_nothing_is_lost_or_doubled(
    bot: RunningBot, chat: DiscordChat, fake: FakeDiscord, database: Database
) -> None:
    await pair_up(chat, "alice", "bob")
    sent = []

    # Discord recycles the connection (op 7); a /win arrives while the client is away.
    await fake.reconnect()
    sent.append(await fake.interact(fake.slash(chat.guild, chat.id("alice"), "win", text="one")))
    await fake.connected(resumes=1)

    # The socket drops right after a /win went out, and another waits for the resume.
    sent.append(await fake.interact(fake.slash(chat.guild, chat.id("alice"), "win", text="two")))
    await fake.drop()
    sent.append(await fake.interact(fake.slash(chat.guild, chat.id("alice"), "win", text="three")))
    await fake.connected(resumes=2)

    # A resume that replays events the client had already seen changes nothing either.
    fake.replay_seen = 3
    await fake.drop()
    await fake.connected(resumes=3)

    for record in sent:
        await fake.answered(record)
    await chat.slash("alice", "mentor status")
    for word in ("one", "two", "three"):
        await chat.dm_arrives("bob", f"shared a win: {word}")
    assert [len(r.callbacks) for r in sent] == [1, 1, 1]
    assert await count_wins(database) == 3
    shared = [t for t in chat.dms("bob") if "shared a win" in t]
    assert len(shared) == 3
    assert fake.sessions[0].identifies == 1 and fake.sessions[0].resumes == 3
    assert bot.setups == ["setup"]


async def test_leaving_a_server_stops_delivery_there_and_a_new_invite_restarts_it(
    bot: RunningBot, chat: DiscordChat, fake: FakeDiscord, database: Database
) -> None:
    await pair_up(chat, "alice", "bob")

    async def stopped() -> bool:
        async with database.transaction() as session:
            found = await session.scalar(select(Workspace.delivery_stopped_at))
        return found is not None

    async def started() -> bool:
        return not await stopped()

    await fake.dispatch("GUILD_DELETE", {"id": chat.guild})  # removed (not an outage)
    await eventually(stopped)
    await fake.dispatch("GUILD_CREATE", fake.guild_payload(chat.guild, unavailable=None))
    await eventually(started)
    await chat.slash("alice", "win", text="back again")
    await chat.dm_arrives("bob", "back again")


@pytest.fixture
async def sqlite_database(templates: Templates, tmp_path: Path) -> AsyncIterator[Database]:
    """The sharding test is about the gateway, not storage: SQLite only."""
    path = tmp_path / "mentorbot.db"
    shutil.copy(templates.sqlite_file, path)
    database = Database(sqlite_url(path))
    yield database
    await database.dispose()


async def test_sharding_changes_nothing_dms_arrive_on_shard_0_only(
    sqlite_database: Database, clock: ManualClock
) -> None:
    fake = FakeDiscord(shard_count=2)
    await fake.start()
    try:
        people = {name: fake.add_user(name.title()) for name in ("alice", "bob")}
        # A server on shard 1, away from the DMs.
        guild = fake.add_guild("Big server", owner_id=people["alice"], shard=1)
        chat = DiscordChat(fake, guild, people)
        async with running_bot(fake, sqlite_database, clock, guild_id=guild, sharded=True):
            assert fake.requests_to("GET", "/gateway/bot")
            assert sorted(p["shard"] for p in fake.identify_payloads) == [[0, 2], [1, 2]]
            await pair_up(chat, "alice", "bob")  # interactions on shard 1
            assert fake.interactions[next(iter(fake.interactions))].payload["guild_id"] == guild
            await chat.slash("bob", "mentor feedback ask", question="Was my demo's intro too long?")
            await chat.dm_arrives("alice", "asked for your feedback")
            await fake.user_dm(chat.id("alice"), "A little: start with the demo.")  # shard 0
            answer = await chat.dm_arrives("bob", "answered your question")
            assert "start with the demo" in text_of(answer)
    finally:
        await fake.close()


async def test_rate_limit_buckets_of_past_interactions_are_still_dropped(bot: RunningBot) -> None:
    http = bot.adapter.client.http
    # discord.py makes a bucket per interaction route (its id and token are in the key).
    for n in range(300):
        http.get_ratelimit(f"POST /interactions/{{id}}/{{token}}/callback:{n}+token{n}")
    buckets: dict[str, Any] = http._buckets
    for bucket in buckets.values():
        bucket._last_request -= 301  # unused for longer than discord.py keeps them
    for n in range(300, 900):
        http.get_ratelimit(f"POST /interactions/{{id}}/{{token}}/callback:{n}+token{n}")
    # The 300 expired ones went in a sweep; never more than twice those in use are kept.
    assert not [key for key, bucket in buckets.items() if bucket.is_inactive()]
    assert len(buckets) <= 2 * 600
