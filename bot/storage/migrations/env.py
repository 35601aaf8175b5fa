"""Alembic environment.

The app runs migrations on a connection it already holds (``Database.upgrade``); the
``alembic`` command line (``alembic -c alembic.ini revision --autogenerate``) connects
with ``DATABASE_URL`` itself.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from bot.storage.database import async_url
from bot.storage.models import Base

config = context.config
target_metadata = Base.metadata


def _run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_standalone() -> None:
    url = async_url(os.environ.get("DATABASE_URL", "sqlite:///mentorbot.db"))
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(_run_on)
    await engine.dispose()


provided = config.attributes.get("connection")
if provided is not None:
    _run_on(provided)
else:
    asyncio.run(_run_standalone())
