"""A database that stops answering: every operation has a time limit, the person is told
plainly that nothing was saved, and the first request after the database dropped its
connections works."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import func, select, text

from bot.clock import ManualClock
from bot.effects import ReplyEphemeral
from bot.engine import NOT_SAVED
from bot.events import CommandInvoked
from bot.storage import database as database_module
from bot.storage.database import Database, DatabaseUnavailable
from bot.storage.models import Win
from tests.conftest import START
from tests.conversation import Chat
from tests.faults.conftest import QUICK, behind
from tests.faults.proxy import FaultProxy

# The tests wait this long before calling a hang a hang (the limits here are 1-3 s).
HANG = 20


async def test_a_statement_on_a_partitioned_connection_gives_up(
    postgres_url: str, proxy: FaultProxy
) -> None:
    database = Database(behind(postgres_url, proxy), limits=QUICK)
    try:
        async with database.transaction() as session:
            await session.execute(text("SELECT 1"))
        proxy.pause()  # the pooled connection is open; nothing answers on it any more
        with pytest.raises(DatabaseUnavailable):
            async with asyncio.timeout(HANG):
                async with database.transaction() as session:
                    await session.execute(text("SELECT 1"))
        proxy.resume()
        async with database.transaction() as session:
            assert await session.scalar(text("SELECT 2")) == 2
    finally:
        proxy.resume()
        await asyncio.wait_for(database.dispose(), HANG)


async def test_connecting_to_a_partitioned_database_gives_up(
    postgres_url: str, proxy: FaultProxy
) -> None:
    database = Database(behind(postgres_url, proxy), limits=QUICK)
    proxy.pause()  # the connection is accepted, and then nothing answers
    try:
        with pytest.raises(DatabaseUnavailable):
            async with asyncio.timeout(HANG):
                async with database.transaction() as session:
                    await session.execute(text("SELECT 1"))
    finally:
        proxy.resume()
        await asyncio.wait_for(database.dispose(), HANG)


async def test_a_win_during_a_partition_is_refused_in_plain_words(
    postgres_url: str, proxy: FaultProxy
) -> None:
    database = Database(behind(postgres_url, proxy), limits=QUICK)
    chat = Chat(database, ManualClock(START))
    try:
        assert "win #1" in await chat.say("alice", "/win before")
        proxy.pause()
        during = CommandInvoked(user=chat.ref("alice"), command="win", text="during")
        async with asyncio.timeout(HANG):
            effects = await chat.engine.handle(during)
        assert [e.content.text for e in effects if isinstance(e, ReplyEphemeral)] == [NOT_SAVED]
        proxy.resume()
        assert "win #2" in await chat.say("alice", "/win after")
        async with database.transaction() as session:
            assert await session.scalar(select(func.count()).select_from(Win)) == 2
    finally:
        proxy.resume()
        await asyncio.wait_for(database.dispose(), HANG)


async def _drop_connections(postgres_url: str, *, wait_until_gone: bool) -> None:
    """The server ends every other connection to this database (as a restart does);
    with ``wait_until_gone`` it returns once those backends have exited, their sockets
    closed, and this process's event loop has had a moment to read that."""
    admin = await asyncpg.connect(postgres_url)
    try:
        pids = await admin.fetch(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        await admin.fetch(
            "SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) pid",
            [row["pid"] for row in pids],
        )
        assert pids  # the pooled connection is dead now
        for _ in range(500):
            if not wait_until_gone or not await admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1::int[])",
                [row["pid"] for row in pids],
            ):
                break
            await asyncio.sleep(0.01)
    finally:
        await admin.close()
    if wait_until_gone:
        await asyncio.sleep(0.05)


async def test_the_first_request_after_the_server_dropped_its_connections_works(
    postgres_url: str,
) -> None:
    """The server's goodbye closed the pooled connection's socket: found on checkout
    without a round trip, and replaced."""
    database = Database(postgres_url)  # with or without time limits
    chat = Chat(database, ManualClock(START))
    try:
        assert "win #1" in await chat.say("alice", "/win before")
        await _drop_connections(postgres_url, wait_until_gone=True)
        assert "win #2" in await chat.say("alice", "/win after")
    finally:
        await database.dispose()


async def test_a_connection_idle_for_a_while_is_pinged_before_it_is_used(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Idle long enough, a pooled connection is pinged on checkout: here the request
    comes before the socket's close is read, and still works."""
    monkeypatch.setattr(database_module, "PING_AFTER_IDLE_SECONDS", 0.0)
    database = Database(postgres_url, limits=QUICK)
    chat = Chat(database, ManualClock(START))
    try:
        assert "win #1" in await chat.say("alice", "/win before")
        await _drop_connections(postgres_url, wait_until_gone=False)
        assert "win #2" in await chat.say("alice", "/win after")
    finally:
        await database.dispose()


async def test_a_dead_connection_used_at_once_costs_one_request_told_plainly(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not pinged (used a moment ago) and its close not yet read: the one request that
    meets it is told plainly it was not saved; the pool is replaced, and the next works."""
    monkeypatch.setattr(database_module, "PING_AFTER_IDLE_SECONDS", 3600.0)
    database = Database(postgres_url, limits=QUICK)
    chat = Chat(database, ManualClock(START))
    try:
        assert "win #1" in await chat.say("alice", "/win before")
        await _drop_connections(postgres_url, wait_until_gone=False)
        during = CommandInvoked(user=chat.ref("alice"), command="win", text="during")
        effects = await chat.engine.handle(during)
        texts = [e.content.text for e in effects if isinstance(e, ReplyEphemeral)]
        # Either the socket's close was read in time (saved) or the author is told.
        assert texts == [NOT_SAVED] or "win #2" in texts[0], texts
        assert "win #" in await chat.say("alice", "/win after")
        async with database.transaction() as session:
            saved = await session.scalar(select(func.count()).select_from(Win))
        assert saved == (3 if texts != [NOT_SAVED] else 2)
    finally:
        await database.dispose()
