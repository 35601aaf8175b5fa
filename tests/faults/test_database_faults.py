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


async def test_the_first_request_after_the_server_dropped_its_connections_works(
    postgres_url: str,
) -> None:
    database = Database(postgres_url)  # with or without time limits
    chat = Chat(database, ManualClock(START))
    try:
        assert "win #1" in await chat.say("alice", "/win before")
        admin = await asyncpg.connect(postgres_url)
        try:
            killed = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        finally:
            await admin.close()
        assert killed >= 1  # the pooled connection is dead now
        assert "win #2" in await chat.say("alice", "/win after")
    finally:
        await database.dispose()
