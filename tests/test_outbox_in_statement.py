"""A DM written by the statement that causes it (bot/turn.py ``dm_in_statement``): on
PostgreSQL the next question of a check-in is written by the answer's own statement.
One event, one message per person still holds: what else the event tells that person
joins the DM already written, and a DM is written only when its statement's row is."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import literal, select, text, true

from bot.clock import ManualClock
from bot.content import Button, Content
from bot.crypto import TextCipher
from bot.storage.database import Database, sqlite_url
from bot.storage.models import OutboxMessage
from bot.turn import Turn, get_workspace_and_member, outbox_cte
from tests.conftest import START, Templates, empty_postgres
from tests.conversation import Chat, pair_up


@asynccontextmanager
async def alices_turn(chat: Chat) -> AsyncIterator[Turn]:
    """An event of alice's, its messages written as every event's are."""
    async with chat.database.transaction() as session:
        found = await get_workspace_and_member(session, chat.ref("alice"), chat.clock.now())
        turn = Turn(
            session=session,
            now=chat.clock.now(),
            workspace=found.workspace,
            actor=found.member,
            actor_ref=chat.ref("alice"),
            actor_is_admin=False,
        )
        async with turn.outbox_in_one_statement():
            yield turn


async def write_in_statement(turn: Turn, params: dict[str, Any], *, when: bool) -> int | None:
    """A statement that writes the DM from a CTE of one row, or of none (``when``)."""
    source = select(literal(1).label("one")).where(true() if when else ~true()).cte("source")
    told = outbox_cte(source, "told")
    found = await turn.session.execute(select(told.c.id), params)
    return found.scalar_one_or_none()


async def bobs_messages(chat: Chat) -> list[dict[str, Any]]:
    async with chat.database.transaction() as session:
        query = select(OutboxMessage).where(OutboxMessage.target_id == "bob")
        rows = (await session.execute(query.order_by(OutboxMessage.id))).scalars()
        return [message.content for message in rows]


QUESTION = Content("What is hard right now?", buttons=(Button("Skip", "flow:1:skip"),))


async def test_what_else_the_event_tells_them_joins_the_dm_the_statement_wrote(
    chat: Chat,
) -> None:
    await pair_up(chat, "alice", "bob")
    before = len(await bobs_messages(chat))
    async with alices_turn(chat) as turn:
        bob = await turn.member("bob")
        params = turn.dm_in_statement(bob, QUESTION)
        if chat.database.is_sqlite:
            # SQLite writes every message of the event in one INSERT at its end.
            assert params is None
            turn.dm(bob, QUESTION)
        else:
            assert params is not None
            written = await write_in_statement(turn, params, when=True)
            assert turn.told_in_statement(bob, params, written)
            # Told once already in this event: the next DM joins it, not a statement.
            assert turn.dm_in_statement(bob, Content("Another")) is None
        turn.dm(bob, Content("You reached a milestone: 10 wins"))
        assert turn.queued == 1
    messages = (await bobs_messages(chat))[before:]
    assert len(messages) == 1, json.dumps(messages)
    content = Content.from_json(messages[0])
    assert content.text == "What is hard right now?\n\nYou reached a milestone: 10 wins"
    assert [b.label for b in content.buttons] == ["Skip"]


async def test_a_dm_is_written_only_with_its_statements_row(chat: Chat) -> None:
    if chat.database.is_sqlite:
        async with alices_turn(chat) as turn:
            assert turn.dm_in_statement(await turn.member("bob"), QUESTION) is None
        return
    await pair_up(chat, "alice", "bob")
    before = len(await bobs_messages(chat))
    async with alices_turn(chat) as turn:
        bob = await turn.member("bob")
        params = turn.dm_in_statement(bob, QUESTION)
        assert params is not None
        written = await write_in_statement(turn, params, when=False)
        assert written is None and not turn.told_in_statement(bob, params, written)
        assert turn.queued == 0
        # Not written: the next DM to bob is a message of its own, written at the end.
        turn.dm(bob, Content("Something else"))
    texts = [Content.from_json(m).text for m in (await bobs_messages(chat))[before:]]
    assert texts == ["Something else"]


async def test_news_to_people_a_statement_names_waits_for_anything_told_earlier(
    chat: Chat,
) -> None:
    """A statement that names whom it tells (a win's partners) may write their DMs only
    while nothing was told anyone in the event: it cannot join what it does not know."""
    await pair_up(chat, "alice", "bob")
    async with alices_turn(chat) as turn:
        news = Content("<@alice> shared a win: the parser")
        if chat.database.is_sqlite:
            assert turn.dms_in_statement(news) is None
            return
        assert turn.dms_in_statement(news) is not None
        turn.dm(await turn.member("carol"), Content("Something for carol"))
        assert turn.dms_in_statement(news) is None


async def test_a_dm_a_statement_writes_is_encrypted_as_any_other(
    backend: str, templates: Templates, tmp_path: Path
) -> None:
    """With DATA_ENCRYPTION_KEY set, the news a win's own statement writes (PostgreSQL)
    is stored encrypted, and reaches the partner in the clear."""
    cipher = TextCipher.from_setting(Fernet.generate_key().decode())
    if backend == "sqlite":
        path = tmp_path / "mentorbot.db"
        shutil.copy(templates.sqlite_file, path)
        database = Database(sqlite_url(path), cipher=cipher)
    else:
        assert templates.postgres_url is not None
        database = Database(templates.postgres_url, cipher=cipher)
        async with database.engine.begin() as conn:
            await empty_postgres(conn)
    chat = Chat(database, ManualClock(START), admins=frozenset({"alice"}))
    try:
        await pair_up(chat, "alice", "bob")
        await chat.say("bob", "/win the first one (a milestone)")
        assert "(win #2)" in await chat.say("bob", "/win zq-canary-news the parser")
        assert chat.dms("alice")[-1] == "<@bob> shared a win: zq-canary-news the parser"
        async with database.transaction() as session:
            raw = select(text("CAST(content AS TEXT)")).select_from(OutboxMessage.__table__)
            stored = "\n".join((await session.execute(raw)).scalars())
        assert "shared a win" not in stored and "zq-canary" not in stored
    finally:
        await database.dispose()
