"""Wins sent at the same moment: each is told its own number, and a count milestone is
reached exactly once (on SQLite and on PostgreSQL)."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import event, func, select, text

from bot.clock import ManualClock
from bot.effects import ReplyEphemeral
from bot.engine import Engine
from bot.events import CommandInvoked
from bot.storage.database import Database, DatabaseLimits, DatabaseUnavailable, sqlite_url
from bot.storage.models import Milestone, Win
from bot.telemetry import NoTelemetry
from tests.conftest import START
from tests.conversation import Chat, pair_up

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


async def test_a_burst_beyond_the_pool_is_served_first_come_first_served(
    database: Database,
) -> None:
    """Twenty units of work in a loop for one connection: each gets it in the order it
    asked. The pool's own queue let a newcomer take a connection just handed back ahead
    of the one woken for it (this test saw one wait behind 177 later ones), which made
    the slowest acks with 50 requests in flight three times the median."""
    pooled = Database(database.url, pool_size=1)
    tickets = itertools.count()
    served: list[int] = []

    async def worker() -> None:
        for _ in range(10):
            ticket = next(tickets)
            async with pooled.transaction() as session:
                await session.execute(text("SELECT 1"))
                served.append(ticket)

    try:
        await asyncio.gather(*(worker() for _ in range(20)))
    finally:
        await pooled.dispose()
    assert served == list(range(200))


async def test_waiting_too_long_for_a_pooled_connection_is_a_plain_unavailable(
    database: Database,
) -> None:
    """The wait for a turn has the pool's limit (``DB_POOL_TIMEOUT_SECONDS``): past it the
    unit of work is refused as "the database did not answer", the one holding the
    connection is not disturbed, and the next one after it works."""
    limits = DatabaseLimits(checkout_seconds=0.2, transaction_seconds=5.0)
    pooled = Database(database.url, pool_size=1, limits=limits)
    holding = asyncio.Event()
    done = asyncio.Event()

    async def holder() -> int:
        async with pooled.transaction() as session:
            value = await session.scalar(text("SELECT 41 + 1"))
            holding.set()
            await done.wait()
        assert value is not None
        return int(value)

    try:
        held = asyncio.create_task(holder())
        await holding.wait()
        # The turn's own limit, not the whole request's (5 s): "(TimeoutError)".
        with pytest.raises(DatabaseUnavailable, match=r"did not answer \(TimeoutError\)"):
            async with pooled.transaction() as session:
                await session.execute(text("SELECT 1"))
        done.set()
        assert await held == 42
        async with pooled.transaction() as session:
            assert await session.scalar(text("SELECT 7")) == 7
    finally:
        await pooled.dispose()


async def test_a_unit_of_work_opened_inside_another_is_refused_rather_than_waiting_forever(
    database: Database,
) -> None:
    """Each unit of work holds a connection's turn: a second one opened by the same task
    inside the first would wait for the first to end (with one connection, forever). It
    is a bug, refused at once; the outer one is not disturbed and commits."""
    pooled = Database(database.url, pool_size=1)
    try:
        async with pooled.transaction() as session:
            # Bounded, so a wait for itself fails here instead of hanging the run.
            async with asyncio.timeout(5):
                with pytest.raises(RuntimeError, match="inside another"):
                    async with pooled.transaction():
                        pass
            assert await session.scalar(text("SELECT 5")) == 5
        async with pooled.transaction() as session:
            assert await session.scalar(text("SELECT 6")) == 6
    finally:
        await pooled.dispose()


def test_a_disposed_database_serves_the_next_event_loop(tmp_path: Path) -> None:
    """The waiting line for a connection belongs to one event loop, as the pool does: a
    command-line tool that runs twice (``asyncio.run`` each time) with one ``Database``
    and disposes of it in between is served both times, waits included."""
    database = Database(sqlite_url(tmp_path / "two-loops.db"), pool_size=1)

    async def burst() -> list[int]:
        async def one(n: int) -> int:
            async with database.transaction() as session:
                value = await session.scalar(text(f"SELECT {n}"))
            assert value is not None
            return int(value)

        try:
            return list(await asyncio.gather(*(one(n) for n in range(5))))
        finally:
            await database.dispose()

    assert asyncio.run(burst()) == [0, 1, 2, 3, 4]
    assert asyncio.run(burst()) == [0, 1, 2, 3, 4]


class _CommandsCounted(NoTelemetry):
    """What the Engine counts of the commands it handled (tests may hand it a recorder)."""

    def __init__(self) -> None:
        self.commands: Counter[str] = Counter()

    def command_handled(self, platform: str, command: str) -> None:
        self.commands[command] += 1


# PostgreSQL gives the first win's transaction up, as it gives one of two deadlocked
# transactions up (a sequence: its count survives the rollback), and only the first.
_GIVE_WAY_ONCE = [
    "CREATE SEQUENCE give_way_once",
    """CREATE FUNCTION give_way_once() RETURNS trigger AS $$
    BEGIN
        IF nextval('give_way_once') = 1 THEN
            RAISE EXCEPTION 'given up for another' USING ERRCODE = 'deadlock_detected';
        END IF;
        RETURN NEW;
    END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER give_way_once BEFORE INSERT ON wins
    FOR EACH ROW EXECUTE FUNCTION give_way_once()""",
]
_NO_MORE_GIVING_WAY = [
    "DROP TRIGGER IF EXISTS give_way_once ON wins",
    "DROP FUNCTION IF EXISTS give_way_once()",
    "DROP SEQUENCE IF EXISTS give_way_once",
]


async def test_a_win_given_up_once_is_saved_once_told_once_counted_once(
    database: Database, clock: ManualClock
) -> None:
    """PostgreSQL gives a ``/win``'s transaction up (SQLSTATE 40P01, as in a deadlock):
    the Engine runs the event again, and the win is stored once, alice is told its
    number once, bob hears of it once, and the command is counted once."""
    if database.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite takes writers in turn and never gives one up")
    counted = _CommandsCounted()
    chat = Chat(database, clock)
    chat.engine = Engine(database, clock, telemetry=counted)
    await pair_up(chat, "alice", "bob")
    async with database.engine.begin() as connection:
        for statement in _GIVE_WAY_ONCE:
            await connection.execute(text(statement))
    try:
        answer = await chat.say("alice", "/win shipped the parser")
    finally:
        async with database.engine.begin() as connection:
            for statement in _NO_MORE_GIVING_WAY:
                await connection.execute(text(statement))
    assert "win #1" in answer
    async with database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Win)) == 1
    [heard] = [dm for dm in chat.dms("bob") if "shipped the parser" in dm]
    assert heard.startswith("<@alice> shared a win: shipped the parser")
    assert counted.commands["win"] == 1
