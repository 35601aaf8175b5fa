"""The SQL statements each event takes, for tests that pin a hot path's count (issue 16):
a query per question, answer or partner then fails a test, not only a benchmark."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import aiosqlite
import asyncpg
from asyncpg.prepared_stmt import PreparedStatement
from sqlalchemy import event as sa_event

from bot.effects import Effect
from bot.events import Event
from bot.storage import sqlite_driver
from bot.storage.database import Database
from tests.conversation import Chat

_TABLE = re.compile(r"^(SELECT|INSERT|DELETE)\b.*?\b(?:FROM|INTO)\s+(\w+)|^(UPDATE)\s+(\w+)", re.S)


def statement_kind(statement: str) -> str:
    """``SELECT members``, ``INSERT outbox``...: the verb and the first table named."""
    found = _TABLE.match(statement.lstrip())
    if found is None:
        return statement.split(None, 1)[0].upper()
    return f"{found[1] or found[3]} {found[2] or found[4]}"


@contextmanager
def listening(database: Database, name: str, listener: Callable[..., None]) -> Iterator[None]:
    """``listener`` hears the event ``name`` (``before_cursor_execute``, ``commit``) of
    every engine of ``database`` within the block: the dispatch pass has its own on
    PostgreSQL (``Database.sync_engines``)."""
    engines = database.sync_engines()
    for engine in engines:
        sa_event.listen(engine, name, listener)
    try:
        yield
    finally:
        for engine in engines:
            sa_event.remove(engine, name, listener)


def work_sent(sent: list[str]) -> list[str]:
    """The statements ``sent_to_postgres`` recorded, but BEGIN and COMMIT."""
    return [s for s in sent if s.split()[0].rstrip(";") not in ("BEGIN", "COMMIT")]


@contextmanager
def alone_statements(database: Database, seen: Callable[[str], None]) -> Iterator[None]:
    """Within the block, ``seen(kind)`` (``statement_kind``) for each statement
    ``database.fetch_alone`` sends: past SQLAlchemy's cursor, so its cursor events
    (``before_cursor_execute``) do not see them."""
    fetch_alone = database.fetch_alone

    async def counted(statement: Any, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        seen(statement_kind(str(statement.compile(dialect=database.engine.dialect))))
        return await fetch_alone(statement, params)

    database.fetch_alone = counted  # type: ignore[method-assign]
    try:
        yield
    finally:
        del database.fetch_alone


@contextmanager
def statements_per_event(chat: Chat) -> Iterator[list[list[str]]]:
    """Within the block, each event the engine handles: the statements it ran besides
    BEGIN and COMMIT (its delivery afterwards not included), those ``Database.fetch_alone``
    sends past SQLAlchemy's cursor too."""
    events: list[list[str]] = []
    handle = chat.engine.handle

    def record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if statement_kind(statement) not in ("BEGIN", "COMMIT"):
            events[-1].append(statement_kind(statement))

    async def counted(event: Event) -> list[Effect]:
        events.append([])
        sync_engine = chat.database.engine.sync_engine
        sa_event.listen(sync_engine, "before_cursor_execute", record)
        try:
            return await handle(event)
        finally:
            sa_event.remove(sync_engine, "before_cursor_execute", record)

    chat.engine.handle = counted  # type: ignore[method-assign]
    try:
        with alone_statements(chat.database, lambda kind: events[-1].append(kind)):
            yield events
    finally:
        del chat.engine.handle


@dataclass
class Trips:
    """How many times work went to SQLite (bot/storage/sqlite_driver.py ``Connection.run``:
    a statement, or deferred ones with the next statement or the COMMIT) while ``on``,
    and how many of those went to aiosqlite's thread rather than running on the event
    loop's (a brief unit of work's, whose BEGIN took the write lock at once)."""

    count: int = 0
    on_thread: int = 0
    on: bool = True


@contextmanager
def trips_to_sqlite() -> Iterator[Trips]:
    """SQLite: the trips to SQLite within the block."""
    trips = Trips()
    run: Any = sqlite_driver.Connection.run
    to_thread: Any = aiosqlite.Connection._execute

    async def counted(self: sqlite_driver.Connection, *args: Any) -> Any:
        if trips.on:
            trips.count += 1
        return await run(self, *args)

    async def counted_on_thread(self: aiosqlite.Connection, fn: Any, *args: Any) -> Any:
        if trips.on:
            trips.on_thread += 1
        return await to_thread(self, fn, *args)

    sqlite_driver.Connection.run = counted  # type: ignore[method-assign, assignment]
    aiosqlite.Connection._execute = counted_on_thread  # type: ignore[method-assign]
    try:
        yield trips
    finally:
        sqlite_driver.Connection.run = run  # type: ignore[method-assign]
        aiosqlite.Connection._execute = to_thread  # type: ignore[method-assign]


@contextmanager
def trips_per_event(chat: Chat, *, on_thread: bool = False) -> Iterator[list[int]]:
    """SQLite: within the block, the trips to SQLite of each event the engine handles
    (its delivery afterwards not included); ``on_thread``: only those that went to
    aiosqlite's thread."""
    per_event: list[int] = []
    handle = chat.engine.handle
    with trips_to_sqlite() as trips:
        trips.on = False

        async def counted(event: Event) -> list[Effect]:
            trips.count, trips.on_thread, trips.on = 0, 0, True
            try:
                return await handle(event)
            finally:
                trips.on = False
                per_event.append(trips.on_thread if on_thread else trips.count)

        chat.engine.handle = counted  # type: ignore[method-assign]
        try:
            yield per_event
        finally:
            chat.engine.handle = handle  # type: ignore[method-assign]


@contextmanager
def sent_to_postgres() -> Iterator[list[str]]:
    """PostgreSQL: each statement asyncpg sends within the block (BEGIN and COMMIT too),
    its SQL, however it was sent: through SQLAlchemy (a prepared statement's ``fetch``,
    a transaction's ``execute``) or straight from ``Database.fetch_alone``. SQLAlchemy's
    cursor events see only the first kind."""
    sent: list[str] = []
    restore: list[tuple[Any, str, Any]] = []

    def record(owner: Any, name: str, sql_of: Any) -> None:
        original = getattr(owner, name)

        async def recorded(self: Any, *args: Any, **kwargs: Any) -> Any:
            sent.append(sql_of(self, args))
            return await original(self, *args, **kwargs)

        setattr(owner, name, recorded)
        restore.append((owner, name, original))

    for name in ("execute", "executemany", "fetch", "fetchrow", "fetchval"):
        record(asyncpg.Connection, name, lambda _self, args: args[0])
    for name in ("fetch", "fetchrow", "fetchval"):
        record(PreparedStatement, name, lambda self, _args: self.get_query())
    try:
        yield sent
    finally:
        for owner, name, original in reversed(restore):
            setattr(owner, name, original)


async def handled_with_statements(chat: Chat, event: Event) -> tuple[list[Effect], list[str]]:
    """The effects of ``event`` through ``chat``'s engine, and the statements it sent to
    PostgreSQL (``sent_to_postgres``, each on one line; none on SQLite); what it queued
    delivered after."""
    with sent_to_postgres() as sent:
        effects = await chat.engine.handle(event)
    await chat.deliver()
    return effects, [" ".join(s.split()) for s in sent]
