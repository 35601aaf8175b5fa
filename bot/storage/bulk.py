"""Set-based writes shared by the bulk paths (pairs import, the dispatch pass).

Bulk statements go through the models' ``Table`` objects (``table_of``), never through
untyped ``table()`` clauses, so every column's type (UTC datetimes, JSON, encrypted
text) converts the values exactly as the ORM would.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    DateTime,
    Insert,
    String,
    Table,
    TableClause,
    any_,
    bindparam,
    func,
)
from sqlalchemy import select as sql_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.types import TypeEngine

from bot.storage.models import Base, UTCDateTime


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
    statement, rows = converting_once(session, statement, rows)
    await session.execute(statement, list(rows))


def converting_once(
    session: AsyncSession, statement: Insert, rows: Sequence[Mapping[str, Any]]
) -> tuple[Insert, Sequence[Mapping[str, Any]]]:
    """``statement`` and ``rows`` with each datetime converted once per distinct value
    rather than once per row: a batch's rows share a few moments (now, a due time), and
    the conversion (to UTC; on SQLite then naive and SQLite's text) was a fifth of a
    dispatch pass on SQLite. The values are the column type's own conversion, bound as
    a type that renders as the column's (PostgreSQL casts every parameter) and converts
    nothing more, so what is stored is what the typed column would store."""
    if not rows:
        return statement, rows
    dialect = session.get_bind().dialect
    table = statement.table
    if not isinstance(table, Table):
        return statement, rows  # an untyped table() has no column types to apply
    names = [
        name for name in rows[0] if name in table.c and isinstance(table.c[name].type, UTCDateTime)
    ]
    bound_as = _converted_datetime(dialect)
    if not names or bound_as is None:
        return statement, rows
    convert = {name: _processor(table.c[name].type, dialect) for name in names}
    done: dict[datetime | None, Any] = {}
    converted: list[dict[str, Any]] = []
    for row in rows:
        values = dict(row)
        for name in names:
            value = values.pop(name)
            found = done.get(value, done)
            if found is done:
                process = convert[name]
                found = done[value] = process(value) if process is not None else value
            values[_ONCE + name] = found
        converted.append(values)
    return statement.values(
        {name: bindparam(_ONCE + name, type_=bound_as) for name in names}
    ), converted


def _converted_datetime(dialect: Dialect) -> TypeEngine[Any] | None:
    """The type to bind a converted datetime as: SQLite's converted value is the text
    stored; PostgreSQL's is an aware datetime, bound as ``timestamptz`` (which converts
    nothing there). None where neither holds: convert row by row."""
    if dialect.name == "sqlite":
        return String()
    stamp = DateTime(timezone=True)
    return stamp if _processor(stamp, dialect) is None else None


def _processor(column_type: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    return column_type.dialect_impl(dialect).bind_processor(dialect)


# Bound parameters may not take a column's own name in an INSERT's VALUES.
_ONCE = "converted_"


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
