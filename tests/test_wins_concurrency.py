"""Wins sent at the same moment: each is told its own number, and a count milestone is
reached exactly once (on SQLite and on PostgreSQL)."""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import event, func, select

from bot.clock import ManualClock
from bot.effects import ReplyEphemeral
from bot.events import CommandInvoked
from bot.storage.database import Database
from bot.storage.models import Milestone, Win
from tests.conftest import START
from tests.conversation import Chat

AT_ONCE = 12


async def _wins_at_once(chat: Chat, user: str, texts: list[str]) -> list[int]:
    events = [CommandInvoked(user=chat.ref(user), command="win", text=t) for t in texts]
    answers = await asyncio.gather(*(chat.engine.handle(event) for event in events))
    numbers = []
    for effects in answers:
        [text] = [e.content.text for e in effects if isinstance(e, ReplyEphemeral)]
        found = re.search(r"win #(\d+)", text)
        assert found is not None, text
        numbers.append(int(found.group(1)))
    return numbers


async def test_wins_at_once_are_numbered_exactly(chat: Chat) -> None:
    await chat.say("alice", "/win warm-up")  # the member exists: the race is on the count
    numbers = await _wins_at_once(chat, "alice", [f"win {n}" for n in range(AT_ONCE)])
    assert sorted(numbers) == list(range(2, AT_ONCE + 2))


async def test_the_first_win_and_the_tenth_are_each_reached_once(chat: Chat) -> None:
    await chat.say("bob", "/mentor status")  # bob exists, with no wins
    numbers = await _wins_at_once(chat, "bob", [f"win {n}" for n in range(AT_ONCE)])
    assert sorted(numbers) == list(range(1, AT_ONCE + 1))
    async with chat.database.transaction() as session:
        codes = list(
            (await session.execute(select(Milestone.code).order_by(Milestone.code))).scalars()
        )
        stored = await session.scalar(select(func.count()).select_from(Win))
    assert codes == ["wins-1", "wins-10"]
    assert stored == AT_ONCE


async def test_wins_at_once_share_the_pooled_connections_and_open_no_more(
    database: Database,
) -> None:
    """A burst beyond the pool waits for a pooled connection rather than opening (and
    afterwards closing) one more: PostgreSQL keeps ``pool_size`` open, SQLite one, which
    every transaction's write lock would make the others wait for anyway."""
    pooled = Database(database.url, pool_size=3)
    opened = 0

    def count(*_args: object) -> None:
        nonlocal opened
        opened += 1

    event.listen(pooled.engine.sync_engine, "connect", count)
    try:
        chat = Chat(pooled, ManualClock(START))
        await chat.say("alice", "/win warm-up")
        numbers = await _wins_at_once(chat, "alice", [f"win {n}" for n in range(3 * AT_ONCE)])
    finally:
        await pooled.dispose()
    assert sorted(numbers) == list(range(2, 3 * AT_ONCE + 2))
    assert opened == (1 if database.is_sqlite else 3)
