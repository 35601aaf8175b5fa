"""SQLAlchemy's aiosqlite adapter, with one thread hand-off per statement.

aiosqlite runs every ``sqlite3`` call on the connection's own thread; each call is a
queue put there and a wake-up of the event loop back. SQLAlchemy's adapter makes four
such calls for one statement (make a cursor, execute, fetch the rows, close the cursor),
which cost more than most statements themselves. Here the four run as one function on
that thread, so a statement is one hand-off. A transaction's ``BEGIN IMMEDIATE`` goes
along with its first statement, and handing a connection back to the pool after a
COMMIT or ROLLBACK costs no second ROLLBACK: a one-statement transaction went from eight
hand-offs to two.

A statement whose outcome nobody reads (``DEFERRED``: an INSERT with no RETURNING, a
counter's UPDATE) need not cost a hand-off of its own: it waits on the event loop's side
and goes to the thread with the transaction's next statement or its COMMIT, in the order
it was given. Its error, should it have one, is raised by that statement or COMMIT, and
the transaction is rolled back as for any other error: nothing of it is kept.

Every ``sqlite3`` call still runs on aiosqlite's thread, never on the event loop's: a
statement waiting for SQLite's write lock (``busy_timeout``, another process writing)
never holds up the loop. Only the statements' way to the thread changes: the SQL, its
parameters, the rows and the errors (raised from ``sqlite3`` as before) are the same.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite
from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_connection
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util.concurrency import await_

# What one statement gives back from the thread: the rows (None when it returns none),
# the cursor's description, rowcount and lastrowid.
_Outcome = tuple[list[Any] | None, Any, int, int | None]


@dataclass(frozen=True, slots=True)
class _Failed:
    """The statement failed after its transaction's BEGIN went through: the error is
    raised on the event loop's side once the transaction is known to be open."""

    error: Exception


# A statement as the thread runs it: SQL, parameters, and whether it is an executemany.
_Statement = tuple[str, Any, bool]

# The execution option that lets a statement wait for the next hand-off (see the module's
# docstring): ``session.execute(statement, values, execution_options=DEFERRED)``. Only
# for statements whose result, row count and inserted key nobody reads.
DEFERRED = {"mentorbot_deferred": True}


def _execute(cursor: sqlite3.Cursor, operation: str, parameters: Any, many: bool) -> None:
    if many:
        cursor.executemany(operation, parameters)
    elif parameters is None:
        cursor.execute(operation)
    else:
        cursor.execute(operation, parameters)


def _run(
    connection: sqlite3.Connection,
    begin: str | None,
    deferred: Sequence[_Statement],
    operation: str,
    parameters: Any,
    many: bool,
) -> _Outcome | _Failed:
    """On aiosqlite's thread: the whole statement (after ``begin``, when a transaction
    starts with it, and the ``deferred`` statements waiting for it), the cursor closed
    afterwards. An error of ``begin`` is raised as it is: no transaction began."""
    cursor = connection.cursor()
    try:
        if begin is not None:
            cursor.execute(begin)
        try:
            for waiting in deferred:
                _execute(cursor, *waiting)
            if many:
                cursor.executemany(operation, parameters)
            elif parameters is None:
                cursor.execute(operation)
            else:
                cursor.execute(operation, parameters)
            description = cursor.description
            rows = cursor.fetchall() if description else None
        except Exception as error:
            return _Failed(error)
        return rows, description, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


def _commit(connection: sqlite3.Connection, deferred: Sequence[_Statement]) -> None:
    """On aiosqlite's thread: the statements still waiting, then COMMIT. Should one of
    them fail, its error is raised and nothing is committed (the caller rolls back)."""
    if deferred:
        cursor = connection.cursor()
        try:
            for waiting in deferred:
                _execute(cursor, *waiting)
        finally:
            cursor.close()
    connection.commit()


class _Cursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor that holds the outcome of its last statement; the ``sqlite3`` cursor
    behind it lives only for the length of one hand-off."""

    __slots__ = ("_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_dbapi_connection) -> None:
        # No cursor on the thread yet (the base class would make one: a hand-off).
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = {}  # type: ignore[assignment]
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        pass

    async def _async_soft_close(self) -> None:
        pass  # nothing open on the thread

    def close(self) -> None:
        self._rows.clear()

    def _outcome(self, outcome: _Outcome) -> None:
        rows, self._description, self._rowcount, self._lastrowid = outcome
        self._rows = collections.deque(rows or ())

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        await self._go(operation, parameters, False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        await self._go(operation, seq_of_parameters, True)

    def defer(self, operation: str, parameters: Any, many: bool) -> None:
        """Keep the statement for the transaction's next hand-off (``DEFERRED``)."""
        adapted = self._adapt_connection
        assert isinstance(adapted, Connection)
        adapted.deferred.append((operation, parameters, many))
        self._outcome((None, None, -1, None))

    async def _go(self, operation: Any, parameters: Any, many: bool) -> None:
        adapted = self._adapt_connection
        assert isinstance(adapted, Connection)
        async with adapted._execute_mutex:
            connection = self._connection
            begin = adapted.pending_begin
            deferred, adapted.deferred = adapted.deferred, []
            # Not known while the thread works (a failing BEGIN leaves it as it was).
            adapted.in_transaction = None
            outcome = await connection._execute(
                _run, connection._conn, begin, deferred, operation, parameters, many
            )
            # The BEGIN went through (the statement itself may have failed).
            adapted.pending_begin = None
            if isinstance(outcome, _Failed):
                raise outcome.error
            self._outcome(outcome)

    def nextset(self) -> None:
        return None

    def setinputsizes(self, *inputsizes: Any) -> None:
        return None

    def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        rows = self._rows
        return [rows.popleft() for _ in range(min(size or 1, len(rows)))]


class Connection(AsyncAdapt_aiosqlite_connection):
    """``pending_begin``: the BEGIN to send with the next statement. ``in_transaction``:
    False only when the connection is known to be outside a transaction (after a COMMIT
    or ROLLBACK), None when that is not known."""

    __slots__ = ("deferred", "in_transaction", "pending_begin")
    _cursor_cls = _Cursor

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self.pending_begin: str | None = None
        self.in_transaction: bool | None = None
        # Statements waiting for the next hand-off (``DEFERRED``), in the order given.
        self.deferred: list[_Statement] = []

    def begin_with_next_statement(self, begin: str) -> None:
        """Start a transaction with ``begin`` (``BEGIN IMMEDIATE``), sent together with
        the transaction's first statement rather than on its own."""
        self.pending_begin = begin

    def commit(self) -> None:
        if self.pending_begin is not None and not self.deferred:
            # Nothing ran since BEGIN would have been sent: there is nothing to commit.
            self.pending_begin = None
            self.in_transaction = False
            return
        if self.pending_begin is not None:
            # Only deferred statements since: they go to SQLite with BEGIN, then COMMIT.
            begin, self.pending_begin = self.pending_begin, None
            self.deferred.insert(0, (begin, None, False))
        deferred, self.deferred = self.deferred, []
        self.in_transaction = None  # open, should the COMMIT fail: rolled back then
        if self._connection._connection:
            try:
                await_(self._connection._execute(_commit, self._connection._conn, deferred))
            except Exception as error:
                self._handle_exception(error)
        self.in_transaction = False

    def rollback(self) -> None:
        self.pending_begin = None
        self.deferred.clear()
        if self.in_transaction is False:
            return  # the pool's reset after a COMMIT or ROLLBACK: nothing to undo
        super().rollback()
        self.in_transaction = False


def execute_deferring(cursor: Any, statement: str, parameters: Any, context: Any = None) -> None:
    """The dialect's ``do_execute``: a statement with ``DEFERRED`` among its execution
    options waits for the next hand-off; every other goes at once."""
    if context is not None and context.execution_options.get("mentorbot_deferred"):
        cursor.defer(statement, parameters, False)
    else:
        cursor.execute(statement, parameters)


def executemany_deferring(
    cursor: Any, statement: str, parameters: Any, context: Any = None
) -> None:
    """The dialect's ``do_executemany``, as ``execute_deferring``."""
    if context is not None and context.execution_options.get("mentorbot_deferred"):
        cursor.defer(statement, parameters, True)
    else:
        cursor.executemany(statement, parameters)


class OneHandOffDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """Pass as ``module=`` to ``create_async_engine`` for a ``sqlite+aiosqlite`` URL."""

    def connect(self, *arg: Any, **kw: Any) -> Connection:
        connection = self.aiosqlite.connect(*arg, **kw)
        connection._thread.daemon = True  # as SQLAlchemy's: never keeps Python running
        return Connection(self, await_(connection))


def dbapi() -> OneHandOffDBAPI:
    return OneHandOffDBAPI(aiosqlite, sqlite3)
