"""The SQL statements each event takes, for tests that pin a hot path's count (issue 16):
a query per question, answer or partner then fails a test, not only a benchmark."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiosqlite
from sqlalchemy import event as sa_event

from bot.effects import Effect
from bot.events import Event
from tests.conversation import Chat

_TABLE = re.compile(r"^(SELECT|INSERT|DELETE)\b.*?\b(?:FROM|INTO)\s+(\w+)|^(UPDATE)\s+(\w+)", re.S)


def _kind(statement: str) -> str:
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
        if _kind(statement) not in ("BEGIN", "COMMIT"):
            events[-1].append(_kind(statement))

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


@contextmanager
def trips_per_event(chat: Chat) -> Iterator[list[int]]:
    """SQLite: within the block, how many times each event the engine handles goes to
    aiosqlite's thread (bot/storage/sqlite_driver.py: a statement, or deferred ones
    with the next statement or the COMMIT)."""
    trips: list[int] = []
    handle = chat.engine.handle
    real: Any = aiosqlite.Connection._execute
    counting = False

    async def counted_trip(self: aiosqlite.Connection, fn: Any, *args: Any, **kw: Any) -> Any:
        if counting:
            trips[-1] += 1
        return await real(self, fn, *args, **kw)

    async def counted(event: Event) -> list[Effect]:
        nonlocal counting
        trips.append(0)
        counting = True
        try:
            return await handle(event)
        finally:
            counting = False

    aiosqlite.Connection._execute = counted_trip  # type: ignore[method-assign]
    chat.engine.handle = counted  # type: ignore[method-assign]
    try:
        yield trips
    finally:
        chat.engine.handle = handle  # type: ignore[method-assign]
        aiosqlite.Connection._execute = real  # type: ignore[method-assign]
