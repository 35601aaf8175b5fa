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

A statement never waits for SQLite's write lock on the event loop's thread
(``busy_timeout``, another process writing): that would hold up every request. Most
units of work run on aiosqlite's thread. A *brief* one (``ON_LOOP``: a handful of
indexed statements, an event's or a message's sent mark;
``Database.transaction(brief=True)``) runs on the loop's thread instead, which saves
the two hand-offs each of its trips costs (the thread woken, then the loop), but only
when the thread has nothing of this connection's left to run and its ``BEGIN
IMMEDIATE`` takes the write lock at once (``busy_timeout`` 0 for that one statement).
Once the lock is held, nothing in the transaction waits for another connection: in WAL
mode a writer commits without waiting for readers, and the checkpoint a COMMIT may run
is a passive one, which waits for nobody (it does copy and sync pages, on the thread
that commits, about once every thousand pages written). When another
connection holds the lock, the unit of work goes to aiosqlite's thread and waits there,
as any other. Only the statements' way to SQLite changes: the SQL, its parameters, the
rows and the errors (raised from ``sqlite3`` as before) are the same.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import aiosqlite
from sqlalchemy import Executable
from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_connection
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.ext.asyncio import AsyncSession
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


async def execute_deferred(session: AsyncSession, statement: Executable, parameters: Any) -> None:
    """``session.execute(statement, parameters, execution_options=DEFERRED)``, for a
    Core statement. On SQLite, once the session's transaction holds its connection (its
    first statement has run), the statement is given to that connection right here: it
    only waits for the next hand-off, so nothing in giving it does I/O, and it needs
    neither the greenlet an ``await session.execute`` starts nor the ORM's execution
    path (bench/README.md, issue 16, fifteenth step). It goes through Core's
    ``Connection.execute`` as any other statement: compiled and cached, its parameters
    processed, its events fired. Otherwise it goes the usual way: on PostgreSQL, where it
    runs at once; in a transaction with no statement yet, which must first check a
    connection out of the pool; and when the session has changes of its own objects to
    write first (its autoflush, which ``session.execute`` does and Core does not: the
    order of the writes stays as it was, should two of them touch one row)."""
    sync = session.sync_session
    if sync.get_bind().dialect.name == "sqlite":
        transaction = sync.get_transaction()
        # A private attribute, read defensively: without it, the usual way (as right).
        held = getattr(transaction, "_connections", None) if transaction is not None else None
        unflushed = sync.autoflush and (
            sync.new or sync.deleted or sync.identity_map.check_modified()
        )
        if held and not unflushed:
            sync.connection().execute(statement, parameters, execution_options=DEFERRED)
            return
    await session.execute(statement, parameters, execution_options=DEFERRED)


# How long a statement may wait for another connection's write lock, on aiosqlite's
# thread (``PRAGMA busy_timeout``, set on every connection).
BUSY_TIMEOUT_MS = 10_000

# True while a brief unit of work is open in this task (see the module's docstring):
# the transaction that begins then may run on the event loop's thread. Read when the
# transaction begins (``Connection.begin_with_next_statement``).
ON_LOOP: ContextVar[bool] = ContextVar("mentorbot_sqlite_on_loop", default=False)


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
    """The whole statement (after ``begin``, when a transaction starts with it, and the
    ``deferred`` statements waiting for it), the cursor closed afterwards, in one call
    on aiosqlite's thread or on the loop's (``Connection.run``). An error of ``begin``
    is raised as it is: no transaction began."""
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


def _commit(
    connection: sqlite3.Connection, begin: str | None, deferred: Sequence[_Statement]
) -> None:
    """The statements still waiting (after ``begin``, when only such statements were
    given since the transaction began), then COMMIT. Should one of them fail, its error
    is raised and nothing is committed (the caller rolls back)."""
    if begin is not None or deferred:
        cursor = connection.cursor()
        try:
            if begin is not None:
                cursor.execute(begin)
            for waiting in deferred:
                _execute(cursor, *waiting)
        finally:
            cursor.close()
    connection.commit()


def _rollback(connection: sqlite3.Connection, _begin: None) -> None:
    connection.rollback()


def _begin_at_once(connection: sqlite3.Connection, begin: str) -> bool:
    """On the event loop's thread: ``begin`` if it takes SQLite's write lock without
    waiting. False: another connection holds it, and nothing began."""
    connection.execute("PRAGMA busy_timeout = 0")
    try:
        connection.execute(begin)
    except sqlite3.OperationalError as error:
        # SQLITE_BUSY and its extended codes (the low byte is the primary code).
        if (getattr(error, "sqlite_errorcode", 0) & 0xFF) == sqlite3.SQLITE_BUSY:
            return False
        raise
    finally:
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return True


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
            begin = adapted.pending_begin
            deferred, adapted.deferred = adapted.deferred, []
            # Not known while SQLite works (a failing BEGIN leaves it as it was).
            adapted.in_transaction = None
            outcome = await adapted.run(_run, begin, deferred, operation, parameters, many)
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

    __slots__ = (
        "_finished",
        "_handed",
        "deferred",
        "in_transaction",
        "on_loop",
        "pending_begin",
    )
    _cursor_cls = _Cursor

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self.pending_begin: str | None = None
        self.in_transaction: bool | None = None
        # Statements waiting for the next hand-off (``DEFERRED``), in the order given.
        self.deferred: list[_Statement] = []
        # The transaction is a brief unit of work's: it may run on the loop's thread.
        self.on_loop = False
        # Work handed to aiosqlite's thread, and work finished there, each counted on
        # one thread only (no count is lost): while they differ, the thread may still
        # be running a statement whose caller stopped waiting (cancelled), and nothing
        # runs on the loop's thread meanwhile.
        self._handed = 0
        self._finished = 0

    def begin_with_next_statement(self, begin: str) -> None:
        """Start a transaction with ``begin`` (``BEGIN IMMEDIATE``), sent together with
        the transaction's first statement rather than on its own; on the loop's thread
        when the unit of work is brief (``ON_LOOP``)."""
        self.pending_begin = begin
        self.on_loop = ON_LOOP.get()

    async def run(self, work: Callable[..., Any], begin: str | None, *args: Any) -> Any:
        """``work(sqlite3_connection, begin, *args)``: on the event loop's thread when
        the transaction may run there (``on_loop``), the thread is idle, and ``begin``,
        if the transaction starts now, takes the write lock at once; on aiosqlite's
        thread otherwise (where BEGIN may wait for the lock)."""
        raw: sqlite3.Connection = self._connection._conn
        idle = self._handed == self._finished
        if self.on_loop and idle and (begin is None or _begin_at_once(raw, begin)):
            return work(raw, None, *args)
        self._handed += 1

        def on_thread() -> Any:
            try:
                return work(raw, begin, *args)
            finally:
                self._finished += 1

        return await self._connection._execute(on_thread)

    def commit(self) -> None:
        if self.pending_begin is not None and not self.deferred:
            # Nothing ran since BEGIN would have been sent: there is nothing to commit.
            self.pending_begin = None
            self.in_transaction = False
            self.on_loop = False
            return
        # A BEGIN still pending (only deferred statements were given since) goes to
        # SQLite with them, then COMMIT.
        begin, self.pending_begin = self.pending_begin, None
        deferred, self.deferred = self.deferred, []
        self.in_transaction = None  # open, should the COMMIT fail: rolled back then
        try:
            if self._connection._connection:
                await_(self.run(_commit, begin, deferred))
        except Exception as error:
            self._handle_exception(error)
        finally:
            self.on_loop = False
        self.in_transaction = False

    def rollback(self) -> None:
        self.pending_begin = None
        self.deferred.clear()
        if self.in_transaction is False:
            self.on_loop = False
            return  # the pool's reset after a COMMIT or ROLLBACK: nothing to undo
        try:
            # In turn with the rest (``run``): a ROLLBACK left running on the thread
            # would undo the next transaction, begun on the loop's thread meanwhile.
            if self._connection._connection:
                await_(self.run(_rollback, None))
        except Exception as error:
            self._handle_exception(error)
        finally:
            self.on_loop = False
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
        # A brief unit of work's statements run on the event loop's thread, one at a
        # time with those on aiosqlite's (see ``Connection.run``).
        connection = self.aiosqlite.connect(*arg, **{**kw, "check_same_thread": False})
        connection._thread.daemon = True  # as SQLAlchemy's: never keeps Python running
        return Connection(self, await_(connection))


def dbapi() -> OneHandOffDBAPI:
    return OneHandOffDBAPI(aiosqlite, sqlite3)
