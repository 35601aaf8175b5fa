"""A dispatch pass's statements do not grow with its batch (issue 16, goal 4).
PostgreSQL's unit of work writes the new outbox messages of one flush as one statement
of arrays (bot/storage/bulk.py, ``ArraysSession``): the rows are those the ORM would
write, the objects get their keys, and what changes them afterwards is an UPDATE. A
batch's list of pairs is bound as one value (``one_of``): one text for any length."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm.exc import StaleDataError

from bot import stalls
from bot.content import Content
from bot.crypto import TextCipher
from bot.flows import feedback
from bot.storage.bulk import one_of
from bot.storage.database import Database
from bot.storage.models import OutboxMessage, OutboxStatus, OutboxTarget, Pair, Workspace
from bot.turn import outbox_row
from tests.conftest import Templates, empty_postgres
from tests.statements import listening, statement_kind

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
CANARY = "zq-canary-outbox the nudge's own words"


@asynccontextmanager
async def _postgres(
    templates: Templates, backend: str, cipher: TextCipher | None = None
) -> AsyncIterator[tuple[Database, Workspace]]:
    """The test PostgreSQL database, emptied, with one workspace."""
    if backend != "postgresql":
        pytest.skip("PostgreSQL only: SQLite's unit of work writes its rows as before")
    assert templates.postgres_url is not None
    database = Database(templates.postgres_url, cipher=cipher)
    try:
        async with database.engine.begin() as conn:
            await empty_postgres(conn)
        async with database.transaction() as session:
            workspace = Workspace(platform="slack", external_id="T1", created_at=NOW)
            session.add(workspace)
        yield database, workspace
    finally:
        await database.dispose()


def _message(workspace: Workspace, to: str, text: str) -> OutboxMessage:
    return OutboxMessage(**outbox_row(workspace, OutboxTarget.DM, to, Content(text), NOW))


@contextmanager
def _recording(database: Database) -> Iterator[list[str]]:
    """The statements SQLAlchemy sends within the block."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        sent.append(statement)

    with listening(database, "before_cursor_execute", record):
        yield sent


def _kinds(sent: list[str]) -> Counter[str]:
    return Counter(statement_kind(statement) for statement in sent)


async def test_a_flush_of_many_new_messages_is_one_statement_and_keeps_them_whole(
    backend: str, templates: Templates
) -> None:
    async with _postgres(templates, backend) as (database, workspace):
        with _recording(database) as sent:
            async with database.transaction() as session:
                messages = [_message(workspace, f"U{n}", f"line {n}") for n in range(5)]
                session.add_all(messages)
                await session.flush()
                flushed = _kinds(sent)
                keys = [message.id for message in messages]
                # Every column is loaded: reading one needs no statement (none could
                # run here: a lazy load in an async session fails).
                assert [m.sent_at for m in messages] == [None] * 5
                assert {m.status for m in messages} == {OutboxStatus.PENDING.value}
                # Changed after its flush, it is an UPDATE of its row.
                messages[2].content = Content("line 2, and more").to_json()
                messages[4].content = Content("line 4, and more").to_json()
        assert flushed == {"WITH": 1}  # the five rows, with their keys
        assert _kinds(sent) == {"WITH": 1, "UPDATE outbox": 1}  # the two changes, one executemany
        assert keys == sorted(keys) and len(set(keys)) == 5  # keys in the order queued

        async with database.transaction() as session:
            stored = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
        assert [m.id for m in stored] == keys
        assert [m.target_id for m in stored] == [f"U{n}" for n in range(5)]
        texts = [Content.from_json(m.content).text for m in stored]
        assert texts == ["line 0", "line 1", "line 2, and more", "line 3", "line 4, and more"]
        assert [m.status for m in stored] == ["pending"] * 5
        assert {(m.attempts, m.next_attempt_at, m.created_at, m.sent_at) for m in stored} == {
            (0, NOW, NOW, None)
        }
        assert {(m.workspace_id, m.target_kind) for m in stored} == {(workspace.id, "dm")}

        # One new message alone is the unit of work's own INSERT, as before.
        with _recording(database) as sent:
            async with database.transaction() as session:
                one = _message(workspace, "U1", "just this")
                session.add(one)
        assert _kinds(sent) == {"INSERT outbox": 1}
        assert one.id is not None and one.id > max(keys)


async def test_messages_written_as_arrays_are_encrypted_as_any_other(
    backend: str, templates: Templates
) -> None:
    """With a key, the content is stored as the column's type stores it: encrypted."""
    async with _postgres(
        templates, backend, TextCipher.from_setting(Fernet.generate_key().decode())
    ) as (database, workspace):
        with _recording(database) as sent:
            async with database.transaction() as session:
                session.add_all([_message(workspace, f"U{n}", f"{CANARY} {n}") for n in range(3)])
        assert _kinds(sent) == {"WITH": 1}  # written as arrays
        async with database.transaction() as session:
            texts = [
                Content.from_json(c).text
                for c in await session.scalars(
                    select(OutboxMessage.content).order_by(OutboxMessage.id)
                )
            ]
        assert texts == [f"{CANARY} {n}" for n in range(3)]
        assert templates.postgres_url is not None
        plain = make_url(templates.postgres_url).set(drivername="postgresql")
        raw = await asyncpg.connect(plain.render_as_string(hide_password=False))
        try:
            stored = [str(row[0]) for row in await raw.fetch("SELECT content FROM outbox")]
        finally:
            await raw.close()
        assert len(stored) == 3
        assert not any("zq-canary" in text for text in stored)


async def test_the_passes_batch_statements_are_one_text_whatever_their_length(
    database: Database,
) -> None:
    """A list of pairs is bound as one value, so the statement is the same text for any
    number of them: each text is prepared on each pooled connection and kept there
    (PostgreSQL), where an ``IN`` of a parameter each was a text for each length."""
    with _recording(database) as texts:
        for length in (1, 2, 3, 50):
            ids = list(range(1, length + 1))
            async with database.transaction() as session:
                await stalls.watch(session, NOW, ids)
                await feedback.follow_up_now(session, NOW, ids)
                await stalls.pair_activity(
                    session, one_of(database.engine.dialect.name, Pair.id, ids)
                )
    assert len(texts) == 4 * 5  # watch, follow_up_now, and pair_activity's three
    assert len(set(texts)) == 5


async def test_a_change_to_a_message_of_a_rolled_back_savepoint_fails_loudly(
    backend: str, templates: Templates
) -> None:
    """Messages written as arrays in a savepoint that rolls back stay in the session (the
    ORM's own INSERT would make them transient, and a change to one would be dropped
    unsaid): a later change to one fails the unit of work, and nothing of it is kept."""
    async with _postgres(templates, backend) as (database, workspace):
        with pytest.raises(StaleDataError):
            async with database.transaction(scheduled=True) as session:
                with contextlib.suppress(RuntimeError):
                    async with session.begin_nested():
                        gone = [_message(workspace, f"G{n}", "rolled back") for n in range(3)]
                        session.add_all(gone)
                        await session.flush()
                        raise RuntimeError("the batch failed")
                session.add_all([_message(workspace, f"K{n}", "kept") for n in range(2)])
                gone[0].content = Content("changed").to_json()
        async with database.transaction() as session:
            assert (await session.scalars(select(OutboxMessage.target_id))).all() == []
        # Without the change, the rest of the unit of work is kept as usual.
        async with database.transaction(scheduled=True) as session:
            with contextlib.suppress(RuntimeError):
                async with session.begin_nested():
                    session.add_all([_message(workspace, f"G{n}", "gone") for n in range(3)])
                    await session.flush()
                    raise RuntimeError("the batch failed")
            session.add_all([_message(workspace, f"K{n}", "kept") for n in range(2)])
        async with database.transaction() as session:
            stored = (await session.scalars(select(OutboxMessage.target_id))).all()
        assert sorted(stored) == ["K0", "K1"]
