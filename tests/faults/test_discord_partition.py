"""Discord with PostgreSQL behind a partition: a person is answered within the
interaction's life, and after the partition heals a DM Discord took while its ``sent``
mark could not be written is not posted twice (the outbox id is the message's nonce,
with ``enforce_nonce``)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.delivery import SENDING_LEASE
from bot.engine import NOT_SAVED
from bot.storage.database import Database
from bot.storage.models import OutboxMessage, OutboxStatus
from tests.conftest import START
from tests.discord.chat import DiscordChat, eventually, running_bot
from tests.discord.fake_discord import FakeDiscord
from tests.discord.test_flows import pair_up
from tests.faults.conftest import PASS_CUT_OFF, QUICK, behind
from tests.faults.proxy import FaultProxy


async def _statuses(database: Database) -> list[str]:
    async with database.transaction() as session:
        return list((await session.execute(select(OutboxMessage.status))).scalars())


async def test_discord_answers_in_a_partition_and_sends_each_dm_once(
    postgres_url: str, proxy: FaultProxy, caplog: pytest.LogCaptureFixture
) -> None:
    database = Database(behind(postgres_url, proxy), limits=QUICK)
    direct = Database(postgres_url)
    clock = ManualClock(START)
    fake = FakeDiscord()
    await fake.start()
    people = {name: fake.add_user(name.title()) for name in ("alice", "bob", "carol")}
    guild = fake.add_guild("Mentoring", owner_id=people["alice"], channels=("general",))
    chat = DiscordChat(fake, guild, people)
    # Discord takes bob's DM, then the bot is cut off from its database (once).
    create = fake._create_message
    cuts: list[str] = []

    def cut_after_taking(body: Any, query: dict[str, str], channel_id: str) -> tuple[int, Any]:
        answer = create(body, query, channel_id)
        if "taken" in str(body) and not cuts:
            cuts.append(channel_id)
            proxy.pause()
        return answer

    fake._create_message = cut_after_taking  # type: ignore[method-assign]
    try:
        async with running_bot(fake, database, clock, guild_id=guild) as bot:
            await pair_up(chat, "alice", "bob")
            await pair_up(chat, "alice", "carol")
            # The news to bob, then to carol, claimed in one batch.
            await chat.slash("alice", "win", text="taken")
            await chat.dm_arrives("bob", "taken")

            async def mark_gave_up() -> bool:
                return any(PASS_CUT_OFF in r.getMessage() for r in caplog.records)

            await eventually(mark_gave_up, QUICK.transaction_seconds + 5)  # the sent mark, 3 s

            payload = fake.slash(guild, chat.id("alice"), "win", text="during")
            during = await fake.interact(payload)
            # Deferred within Discord's 3 s, then the answer as a follow-up.
            await fake.until(lambda: NOT_SAVED in during.text(), 15)

            proxy.resume()
            clock.advance(SENDING_LEASE + timedelta(seconds=1))  # the lease runs out
            bot.worker.wake()

            async def settled() -> bool:
                return set(await _statuses(direct)) == {OutboxStatus.SENT.value}

            for _ in range(200):
                if await settled():
                    break
                await asyncio.sleep(0.1)
            assert await settled()
            # alice's first win: each partner hears of it and of the milestone in one
            # DM, once.
            for partner in ("bob", "carol"):
                [taken] = [t for t in chat.dms(partner) if "taken" in t]
                assert taken.startswith(f"{chat.mention('alice')} shared a win: taken")
                assert taken.count("shared a win") == 1
                assert "reached a milestone" in taken
                assert not any("during" in t for t in chat.dms(partner))

            # Sent again without a look (Discord has no history to ask), counted: bob's DM
            # if its sent mark was lost, and carol's, which the failed pass left "sending".
            # The nonce made Discord answer with the message it already had. The pass adds
            # to the worker's total after its last commit, so the rows can read "sent" a
            # moment before the count does.
            async def counted() -> bool:
                return bot.worker.total.unverified >= 1

            await eventually(counted, 10)
    finally:
        proxy.resume()
        await fake.close()
        await database.dispose()
        await direct.dispose()
