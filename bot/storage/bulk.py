"""Set-based writes shared by the bulk paths (pairs import, the dispatch pass)."""

from __future__ import annotations

from sqlalchemy import Insert, TableClause
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import Base


def insert_ignoring_duplicates(dialect_name: str, table: TableClause | type[Base]) -> Insert:
    """INSERT that skips rows a unique constraint or index already holds (PostgreSQL's
    ON CONFLICT DO NOTHING, SQLite's INSERT OR IGNORE), so a retried pass is a no-op."""
    if dialect_name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    return postgresql.insert(table).on_conflict_do_nothing()


def dialect_of(session: AsyncSession) -> str:
    return session.get_bind().dialect.name
