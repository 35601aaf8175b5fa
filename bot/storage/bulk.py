"""Set-based writes shared by the bulk paths (pairs import, the dispatch pass).

Bulk statements take the models' ``Table`` objects (``table_of``) and convert each
value with its column's own type (UTC datetimes, JSON, encrypted text) exactly as the
ORM would; only values converted that way reach the driver directly (``insert_tuples``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import (
    ARRAY,
    Column,
    ColumnElement,
    Insert,
    Select,
    Table,
    TableClause,
    and_,
    any_,
    bindparam,
    event,
    func,
    text,
)
from sqlalchemy import select as sql_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, Session, make_transient_to_detached
from sqlalchemy.orm.base import instance_state
from sqlalchemy.types import TypeEngine

from bot.storage.models import Base, OutboxMessage, UTCDateTime


def with_keys(
    dialect_name: str,
    table: Table,
    key_columns: tuple[str, str],
    keys: Sequence[tuple[Any, Any]],
    *columns: ColumnElement[Any],
) -> Select[Any]:
    """``SELECT columns FROM table`` for the rows whose two ``key_columns`` (a unique
    index) hold one of ``keys``: the keys bound as one value (a JSON array of couples on
    SQLite, an array per column on PostgreSQL) and joined to the table, so the index is
    searched once per key. An ``OR`` of ``first = ? AND second IN (...)`` groups costs
    SQLite ~5 MiB of planning memory at 50 groups and 4,000 keys; this costs ~0.5 MiB."""
    first, second = table.c[key_columns[0]], table.c[key_columns[1]]
    if dialect_name == "sqlite":
        couples = json.dumps([[a, b] for a, b in keys], ensure_ascii=False)
        each = func.json_each(couples).table_valued("value").alias("keys")
        on = and_(
            first == func.json_extract(each.c.value, "$[0]"),
            second == func.json_extract(each.c.value, "$[1]"),
        )
        return sql_select(*columns).select_from(each.join(table, on))
    listed = func.unnest(
        bindparam(None, [a for a, _ in keys], type_=ARRAY(first.type)),
        bindparam(None, [b for _, b in keys], type_=ARRAY(second.type)),
    )
    both = listed.table_valued("first", "second").render_derived(name="keys")
    on = and_(first == both.c.first, second == both.c.second)
    return sql_select(*columns).select_from(both.join(table, on))


# The databases mentorbot runs on, by their SQLAlchemy dialect names.
DIALECTS = ("sqlite", "postgresql")
StatementT = TypeVar("StatementT")


def per_dialect(build: Callable[[str], StatementT]) -> dict[str, StatementT]:
    """A hot statement built once for each database kind (look it up with
    ``dialect_of``): a statement built per call costs more Python than the database
    takes to run it (bench/README.md, issue 16)."""
    return {name: build(name) for name in DIALECTS}


def upsert_into(
    dialect_name: str, table: TableClause | type[Base]
) -> sqlite.Insert | postgresql.Insert:
    """The dialect's own INSERT, which has ``ON CONFLICT`` (both backends spell it alike)."""
    return sqlite.insert(table) if dialect_name == "sqlite" else postgresql.insert(table)


def insert_ignoring_duplicates(dialect_name: str, table: TableClause | type[Base]) -> Insert:
    """INSERT that skips rows a unique constraint or index already holds (ON CONFLICT DO
    NOTHING on both backends), so a retried pass is a no-op."""
    return upsert_into(dialect_name, table).on_conflict_do_nothing()


def dialect_of(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def table_of(model: type[Base]) -> Table:
    """A model's typed ``Table``, for Core statements that skip the ORM's per-row work."""
    return Base.metadata.tables[model.__tablename__]


async def insert_arrays(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    returning: Sequence[str] = (),
    ignore_duplicates: bool = False,
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (all with the same keys) into ``table`` and return the
    ``returning`` columns of the rows inserted.

    On PostgreSQL in one statement, ``INSERT ... SELECT * FROM unnest(CAST($1 AS T1[]),
    ...)``: an array per column instead of a parameter per value, which the server parses
    and plans once and asyncpg sends without per-row work (2,000 conversations: ~35 ms
    instead of ~55). Each value is converted first by its column's own type (UTC
    datetimes, JSON, encrypted text), each distinct datetime once, so what is stored is
    what a typed insert stores.

    On SQLite, the same converted values as one tuple per row through the driver's
    ``executemany`` (a loop in C), see :func:`insert_tuples`.

    A column left out of ``rows`` gets its Python-side default, which must be a plain
    value (a default computed per row has to be given in ``rows``)."""
    if not rows:
        return []
    dialect = session.get_bind().dialect
    columns, arrays = _columns_and_arrays(table, rows, dialect)
    if dialect.name == "sqlite":
        (key,) = [column.name for column in table.primary_key.columns]
        return await insert_tuples(
            session,
            table.name,
            [column.name for column in columns],
            list(zip(*arrays, strict=True)),
            returning=returning,
            ignore_duplicates=ignore_duplicates,
            key=key,
        )
    quote = dialect.identifier_preparer.quote
    listed = ", ".join(quote(c.name) for c in columns)
    sql = f"INSERT INTO {quote(table.name)} ({listed}) SELECT * FROM {_unnest(columns, dialect)}"
    if ignore_duplicates:
        sql += " ON CONFLICT DO NOTHING"
    parameters = {f"a{i}": values for i, values in enumerate(arrays)}
    if returning:
        sql += " RETURNING " + ", ".join(quote(name) for name in returning)
    result = await session.execute(text(sql), parameters)
    return [tuple(row) for row in result.all()] if returning else []


def insert_arrays_numbered(
    connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]
) -> list[int]:
    """PostgreSQL: insert ``rows`` (all with the same keys) into ``table``, whose integer
    primary key a sequence fills, in one statement, and return their keys in the order of
    ``rows``, as the unit of work needs them. Each row's key is drawn from the sequence
    with the row's number (``unnest ... WITH ORDINALITY``) before the rows are written,
    so which key is whose is read, not assumed from the order the server inserts them.
    For the unit of work's own flush (a synchronous ``connection``); ``insert_arrays``
    for the rest."""
    dialect = connection.dialect
    if dialect.name != "postgresql":
        raise ValueError("insert_arrays_numbered draws keys from a sequence: PostgreSQL only")
    (key,) = table.primary_key.columns
    columns, arrays = _columns_and_arrays(table, rows, dialect)
    quote = dialect.identifier_preparer.quote
    names = [quote(c.name) for c in columns]
    listed = ", ".join(names)
    numbered = ", ".join([*names, "at_row"])
    sequence = f"nextval(pg_get_serial_sequence('{table.name}', '{key.name}'))"
    sql = (
        f"WITH numbered AS MATERIALIZED (SELECT {sequence} AS drawn, * "
        f"FROM {_unnest(columns, dialect)} WITH ORDINALITY AS given({numbered})), "
        f"written AS (INSERT INTO {quote(table.name)} ({quote(key.name)}, {listed}) "
        f"SELECT drawn, {listed} FROM numbered) "
        "SELECT drawn FROM numbered ORDER BY at_row"
    )
    parameters = {f"a{i}": values for i, values in enumerate(arrays)}
    return [int(found) for found in connection.execute(text(sql), parameters).scalars()]


# The fewest new rows of one model one flush writes as arrays (``ArraysSession``).
ARRAY_FLUSH_ROWS = 2


class ArraysSession(Session):
    """PostgreSQL's unit of work. The new outbox messages one flush has (a dispatch
    pass's nudges and heads-ups, queued by scheduled work as objects of the unit of
    work) go in one statement of an array per column (``insert_arrays_numbered``),
    instead of SQLAlchemy's "insertmanyvalues": one ``INSERT ... VALUES`` of a parameter
    per value, 89 KB of SQL and 4,180 parameters for a pass's 418 nudges, which asyncpg
    prepared on each connection in turn (then let go of: ``_forget_big_statements``),
    and whose building raised the process' memory by 0.1-4.5 MB at each pass of the
    hour that had work, kept by the allocators afterwards (bench/README.md, issue 16, goal
    4). Written, they are the session's as any flushed row is: with their keys, and what
    later changes them is an ``UPDATE``. One difference from the ORM's own ``INSERT``:
    should a savepoint they were written in roll back, they stay in the session as
    objects of rows that are not there (the ORM would make them transient), so a later
    change to one fails the unit of work (``StaleDataError``) instead of being dropped
    unsaid. The pass lets go of a failed batch's turns and reads its rows again
    (``bot/due.py`` ``_together``): nothing refers to them."""


@event.listens_for(ArraysSession, "before_flush")
def _new_outbox_in_arrays(session: Session, _context: Any, _instances: Any) -> None:
    new = [found for found in session.new if type(found) is OutboxMessage]
    if len(new) < ARRAY_FLUSH_ROWS:
        return
    new.sort(key=lambda message: instance_state(message).insert_order or 0)  # as queued
    table = table_of(OutboxMessage)
    (key,) = table.primary_key.columns
    filled = [c for c in table.columns if c is not key]
    rows = []
    for message in new:
        given = message.__dict__
        if key.name in given:
            return  # a key of its own: the unit of work writes them all, as before
        rows.append({c.name: given.get(c.name, _plain_default(c)) for c in filled})
    keys = insert_arrays_numbered(session.connection(), table, rows)
    for message, row, drawn in zip(new, rows, keys, strict=True):
        session.expunge(message)
        for name, value in row.items():
            setattr(message, name, value)
        message.id = drawn
        # Now as the database holds it: what changes it from here is an UPDATE.
        make_transient_to_detached(message)
        session.add(message)


def _plain_default(column: Column[Any]) -> Any:
    """A column's value when a new row gives none: its plain Python-side default, or
    NULL."""
    default = column.default
    if default is None:
        return None
    if not default.is_scalar:
        raise TypeError(f"{column.table.name}.{column.name}: give its per-row default in the rows")
    return default.arg  # type: ignore[attr-defined]


def _columns_and_arrays(
    table: Table, rows: Sequence[Mapping[str, Any]], dialect: Dialect
) -> tuple[list[Column[Any]], list[list[Any]]]:
    """The columns ``rows`` fill (and those their Python-side defaults fill), and each
    one's values as its type binds them."""
    names = list(rows[0])
    defaults = _scalar_defaults(table, names)
    columns = [table.c[name] for name in [*names, *defaults]]
    return columns, [_converted(column, rows, defaults, dialect) for column in columns]


def _unnest(columns: Sequence[Column[Any]], dialect: Dialect) -> str:
    """``unnest(CAST(:a0 AS T0[]), ...)``: one array parameter per column."""
    return "unnest({})".format(
        ", ".join(
            f"CAST(:a{i} AS {column.type.compile(dialect=dialect)}[])"
            for i, column in enumerate(columns)
        )
    )


async def insert_tuples(
    session: AsyncSession,
    table_name: str,
    names: Sequence[str],
    rows: list[tuple[Any, ...]],
    *,
    returning: Sequence[str] = (),
    ignore_duplicates: bool = False,
    key: str = "id",
) -> list[tuple[Any, ...]]:
    """SQLite only: insert ``rows`` (values ready for the driver, in the order of
    ``names``) with the driver's ``executemany``, and return the ``returning`` columns
    of the rows inserted.

    SQLAlchemy builds and processes a parameter dictionary per row of an executemany
    (~40 ms of a 1,000-due pass), and sends a ``RETURNING`` insert as multi-row
    ``VALUES`` pages, each a new statement for SQLite to prepare and cache (most of a
    cold pass's memory). ``executemany`` can't return rows, so the inserted ones are read
    back by ``key`` (an integer primary key): all of them are above the table's largest
    key before the insert, and nobody else inserts in between because every transaction
    here holds SQLite's one write lock from its start (``BEGIN IMMEDIATE``)."""
    connection = await session.connection()
    if connection.dialect.name != "sqlite":
        raise ValueError("insert_tuples reads inserted rows back by id: SQLite only")
    quote = connection.dialect.identifier_preparer.quote
    name, id_ = quote(table_name), quote(key)
    last = None
    if returning:
        last = (await connection.exec_driver_sql(f"SELECT max({id_}) FROM {name}")).scalar()
    listed = ", ".join(quote(column) for column in names)
    marks = ", ".join("?" for _ in names)
    # ON CONFLICT DO NOTHING skips only rows a unique index holds; INSERT OR IGNORE would
    # also drop rows that break NOT NULL or CHECK, silently.
    skip = " ON CONFLICT DO NOTHING" if ignore_duplicates else ""
    sql = f"INSERT INTO {name} ({listed}) VALUES ({marks}){skip}"
    await connection.exec_driver_sql(sql, rows)
    if not returning:
        return []
    wanted = ", ".join(quote(column) for column in returning)
    query = f"SELECT {wanted} FROM {name} WHERE {id_} > ? ORDER BY {id_}"
    result = await connection.exec_driver_sql(query, (-1 if last is None else last,))
    return [tuple(row) for row in result.all()]


def _converted(
    column: Column[Any],
    rows: Sequence[Mapping[str, Any]],
    defaults: Mapping[str, Any],
    dialect: Dialect,
) -> list[Any]:
    """A column's values as its type binds them (each distinct datetime converted once)."""
    process = _processor(column.type, dialect)
    if column.name in defaults:
        value = defaults[column.name]
        return [process(value) if process else value] * len(rows)
    values = [row[column.name] for row in rows]
    if process is None:
        return values
    if isinstance(column.type, UTCDateTime):  # a batch shares a few moments
        done: dict[Any, Any] = {}
        return [done[v] if v in done else done.setdefault(v, process(v)) for v in values]
    return [process(v) for v in values]


def _scalar_defaults(table: Table, names: Sequence[str]) -> dict[str, Any]:
    """The Python-side defaults of the columns ``names`` leaves out (a typed INSERT
    would fill them in)."""
    return {
        column.name: _plain_default(column)
        for column in table.columns
        if column.name not in names and column.default is not None
    }


def _processor(column_type: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    return column_type.dialect_impl(dialect).bind_processor(dialect)


def one_of(
    dialect_name: str,
    column: ColumnElement[Any] | InstrumentedAttribute[Any],
    values: Sequence[Any],
) -> ColumnElement[bool]:
    """``column IN values`` with the list bound as one value (a JSON array for SQLite,
    an array for PostgreSQL): a plain IN binds every element separately, which costs
    more than a lookup of a thousand keys itself and meets the drivers' limits on the
    number of parameters, and is a statement text of its own for each length, which
    asyncpg prepares and keeps on each pooled connection in turn (bench/README.md,
    issue 16, goal 4)."""
    if dialect_name == "sqlite":
        listed = func.json_each(json.dumps(list(values), ensure_ascii=False)).table_valued("value")
        return column.in_(sql_select(listed.c.value))
    return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
