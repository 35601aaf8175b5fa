"""Migrations keep what people wrote: stepping down and back up leaves every row of the
tables both revisions have.

On SQLite, Alembic's batch mode alters a table by copying it, dropping the old one and
renaming the copy; with foreign keys on, dropping ``members`` or ``workspaces`` runs their
``ON DELETE CASCADE`` and empties ``wins`` and ``pairs`` (found with migration 0008). This
walks every downgrade the revisions have since the first with a filled database.
"""

from collections.abc import Callable

from alembic import command
from alembic.config import Config
from sqlalchemy import func, select, text

from bot.storage.database import _alembic_config
from bot.storage.models import Member, Pair, Win, Workspace
from tests.conversation import Chat, pair_up

# Every revision a downgrade can stop at and still have the tables counted below.
_STEPS = ["0009", "0008", "0007", "0006", "0005", "0004", "0003", "0002", "0001"]


async def _migrate(chat: Chat, step: Callable[[Config, str], None], revision: str) -> None:
    async with chat.database.engine.begin() as conn:
        await conn.run_sync(lambda c: step(_alembic_config(c), revision))


async def _counts(chat: Chat) -> dict[str, int]:
    async with chat.database.engine.connect() as conn:
        return {
            model.__tablename__: (
                await conn.execute(select(func.count()).select_from(model.__table__))
            ).scalar_one()
            for model in (Workspace, Member, Pair, Win)
        }


async def test_every_downgrade_and_the_way_back_keep_the_rows(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await pair_up(chat, "carol", "bob")
    for n in range(3):
        await chat.say("bob", f"/win number {n}")
    await chat.say("alice", "/win mine")
    before = await _counts(chat)
    assert before == {"workspaces": 1, "members": 3, "pairs": 2, "wins": 4}

    for revision in _STEPS:
        await _migrate(chat, command.downgrade, revision)
        assert await _counts(chat) == before, f"rows lost stepping down to {revision}"
    for revision in [*reversed(_STEPS[:-1]), "head"]:
        await _migrate(chat, command.upgrade, revision)
        assert await _counts(chat) == before, f"rows lost stepping up to {revision}"
    await chat.database.dispose()  # nothing cached from the old columns
    assert await _counts(chat) == before
    async with chat.database.engine.connect() as conn:
        texts = (await conn.execute(text("SELECT text FROM wins ORDER BY id"))).scalars().all()
    assert texts == ["number 0", "number 1", "number 2", "mine"]
    # Counted up after the way back too (on SQLite by migration 0009's trigger).
    assert "(win #4)" in await chat.say("bob", "/win after the way back")
    assert "(win #5)" in await chat.say("bob", "/win and one more")
