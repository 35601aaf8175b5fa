"""The SQL statements each event takes, for tests that pin a hot path's count (issue 16):
a query per question, answer or partner then fails a test, not only a benchmark."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import aiosqlite
from sqlalchemy import event as sa_event

from bot.effects import Effect
from bot.events import Event
from tests.conversation import Chat

_TABLE = re.compile(r"^(SELECT|INSERT|DELETE)\b.*?\b(?:FROM|INTO)\s+(\w+)|^(UPDATE)\s+(\w+)", re.S)


def statement_kind(statement: str) -> str:
    """``SELECT members``, ``INSERT outbox``...: the verb and the first table named."""
    found = _TABLE.match(statement.lstrip())
    if found is None:
        return statement.split(None, 1)[0].upper()
    return f"{found[1] or found[3]} {found[2] or found[4]}"


@contextmanager
def statements_per_event(chat: Chat) -> Iterator[list[list[str]]]:
    """Within the block, each event the engine handles: the statements it ran besides
    BEGIN and COMMIT (its delivery afterwards not included)."""
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
        yield events
    finally:
        del chat.engine.handle


@dataclass
class Trips:
    """How many times work went to aiosqlite's thread (bot/storage/sqlite_driver.py: a
    statement, or deferred ones with the next statement or the COMMIT) while ``on``."""

    count: int = 0
    on: bool = True


@contextmanager
def trips_to_sqlite() -> Iterator[Trips]:
    """SQLite: the trips to aiosqlite's thread within the block."""
    trips = Trips()
    real: Any = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kw: Any) -> Any:
        if trips.on:
            trips.count += 1
        return await real(self, fn, *args, **kw)

    aiosqlite.Connection._execute = counted  # type: ignore[method-assign]
    try:
        yield trips
    finally:
        aiosqlite.Connection._execute = real  # type: ignore[method-assign]


@contextmanager
def trips_per_event(chat: Chat) -> Iterator[list[int]]:
    """SQLite: within the block, the trips to aiosqlite's thread of each event the
    engine handles (its delivery afterwards not included)."""
    per_event: list[int] = []
    handle = chat.engine.handle
    with trips_to_sqlite() as trips:
        trips.on = False

        async def counted(event: Event) -> list[Effect]:
            trips.count, trips.on = 0, True
            try:
                return await handle(event)
            finally:
                trips.on = False
                per_event.append(trips.count)

        chat.engine.handle = counted  # type: ignore[method-assign]
        try:
            yield per_event
        finally:
            chat.engine.handle = handle  # type: ignore[method-assign]
