"""Set-based writes shared by the bulk paths (pairs import, the dispatch pass).

Bulk statements go through the models' ``Table`` objects (``table_of``), never through
untyped ``table()`` clauses, so every column's type (UTC datetimes, JSON, encrypted
text) converts the values exactly as the ORM would.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, Insert, Table, TableClause, any_, bindparam, func
from sqlalchemy import select as sql_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from bot.storage.models import Base


def insert_ignoring_duplicates(dialect_name: str, table: TableClause | type[Base]) -> Insert:
    """INSERT that skips rows a unique constraint or index already holds (PostgreSQL's
    ON CONFLICT DO NOTHING, SQLite's INSERT OR IGNORE), so a retried pass is a no-op."""
    if dialect_name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    return postgresql.insert(table).on_conflict_do_nothing()


def dialect_of(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def table_of(model: type[Base]) -> Table:
    """A model's typed ``Table``, for Core statements that skip the ORM's per-row work."""
    return Base.metadata.tables[model.__tablename__]


async def insert_many(
    session: AsyncSession, statement: Insert, rows: Sequence[Mapping[str, Any]]
) -> None:
    """``statement`` (an INSERT without RETURNING) for many rows in one go.

    On PostgreSQL the primary key is returned and thrown away: with RETURNING,
    SQLAlchemy sends the rows as multi-row ``VALUES`` pages, where asyncpg's
    ``executemany`` has the server execute the statement once per row (1,000 rows:
    a few ms against ~40 ms). SQLite's ``executemany`` is already a loop in C.
    """
    if dialect_of(session) == "postgresql":
        statement = statement.returning(*statement.table.primary_key)
    await session.execute(statement, list(rows))


def one_of(
    dialect_name: str,
    column: ColumnElement[Any] | InstrumentedAttribute[Any],
    values: Sequence[Any],
) -> ColumnElement[bool]:
    """``column IN values`` with the list bound as one value (a JSON array for SQLite,
    an array for PostgreSQL): a plain IN binds every element separately, which costs
    more than a lookup of a thousand keys itself and meets the drivers' limits on the
    number of parameters."""
    if dialect_name == "sqlite":
        listed = func.json_each(json.dumps(list(values), ensure_ascii=False)).table_valued("value")
        return column.in_(sql_select(listed.c.value))
    return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
