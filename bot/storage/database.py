"""Connecting to the database and running its migrations."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Executable, Result, event, exc, text
from sqlalchemy.engine import Dialect, Engine, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from bot.crypto import TextCipher, attach_cipher
from bot.storage import sqlite_driver
from bot.storage.bulk import ArraysSession
from bot.storage.models import Base

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant will do: it keeps two instances starting together from migrating at once.
_MIGRATION_LOCK_KEY = 724_115_001


@dataclass(frozen=True)
class DatabaseLimits:
    """How long any database operation may take, so a database that stops answering (a
    network partition, not a refused connection) turns into a plain "not saved" within
    seconds instead of a request that hangs until it is back. The defaults are those of
    the ``DB_*_TIMEOUT_SECONDS`` settings (bot/settings.py)."""

    connect_seconds: float = 3.0  # opening a PostgreSQL connection (asyncpg ``timeout``)
    # One statement on PostgreSQL (asyncpg ``command_timeout``). A client-side timer: in a
    # burst that keeps the event loop busy, 5 s refused good work (bench_concurrent_win).
    statement_seconds: float = 10.0
    # Waiting for a free pooled connection (``pool_timeout``): in a burst of requests
    # they queue here, so it is longer than any one statement should take.
    checkout_seconds: float = 10.0
    # One whole unit of work, everything above included; also bounds SQLite's lock waits.
    transaction_seconds: float = 15.0


# PostgreSQL connections one process keeps open (DB_POOL_SIZE). All of them stay open:
# a connection opened for a burst and closed after it (SQLAlchemy's default overflow)
# costs a connect, authentication and set-up, and under load that churn cut what one
# process could do to a quarter (bench/README.md, issue 16).
DEFAULT_POOL_SIZE = 10


class DatabaseUnavailable(Exception):
    """The database did not answer in time or the connection to it failed; nothing of
    the unit of work was saved. The message names no values and no password."""


def _unavailable(error: BaseException) -> bool:
    """The database (or the way to it) is down, rather than the work being wrong."""
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, exc.OperationalError):
        # SQLite's busy timeout ran out; other operational errors are bugs (no such table).
        return "database is locked" in str(error.orig)
    return isinstance(
        error,
        TimeoutError  # our deadline, or asyncpg's connect or statement timeout
        | OSError  # the connection was refused or reset
        | exc.TimeoutError  # the pool had no free connection in time
        | exc.InterfaceError,  # the connection is closed
    )


def _did_not_answer(error: Exception, deadline: asyncio.Timeout) -> DatabaseUnavailable:
    """What a unit of work raises when ``_unavailable(error)``: the database (or the way
    to it) is down or did not answer within ``deadline``; logged here, once."""
    why = "the request's time limit" if deadline.expired() else type(error).__name__
    log.warning("the database did not answer: %s", why)
    return DatabaseUnavailable(f"the database did not answer ({why})")


# PostgreSQL gave this transaction up so that another could go on: two were waiting for
# each other (deadlock_detected), or one changed what the other had to read the same
# (serialization_failure). Nothing of it was saved, and the work may simply be done again.
_GAVE_WAY = frozenset({"40P01", "40001"})
# A unique key refused a row.
UNIQUE_VIOLATION = "23505"


def sqlstate(error: BaseException) -> str | None:
    """PostgreSQL's code for what ``error`` reports (``23505``: a unique key refused a
    row), as the driver raised it or SQLAlchemy wrapped it; None for other errors."""
    code = getattr(getattr(error, "orig", error), "sqlstate", None)
    return code if isinstance(code, str) else None


def gave_way(error: BaseException) -> bool:
    """Whether ``error`` is the database giving this transaction up for another's sake
    (``_GAVE_WAY``): doing the work again from the start is expected to succeed."""
    return isinstance(error, exc.DBAPIError) and sqlstate(error) in _GAVE_WAY


def async_url(url: str) -> str:
    """Accept the URLs people write and pick the async driver for them. One that is not
    a URL, or names another database, is a ValueError that repeats nothing of it but its
    scheme (a URL may hold a password)."""
    try:
        parsed = make_url(url)
    except exc.ArgumentError:
        raise ValueError(
            "DATABASE_URL is not a URL: write sqlite:///path/to/mentorbot.db or "
            "postgresql://user:password@host:5432/dbname."
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ValueError(f"DATABASE_URL must be a sqlite:/// or postgresql:// URL, not {backend}://...")


def sqlite_url(path: Path | str) -> str:
    return f"sqlite+aiosqlite:///{Path(path)}"


def safe_url(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


class Database:
    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        cipher: TextCipher | None = None,
        limits: DatabaseLimits | None = None,
        pool_size: int = DEFAULT_POOL_SIZE,
    ) -> None:
        self.url = async_url(url)
        # None: no limits of our own (the command-line tools, which an operator watches);
        # `mentorbot run` passes the settings' (bot/settings.py).
        self.limits = limits
        options: dict[str, Any] = {}
        parsed = make_url(self.url)
        # How many units of work may hold a connection at once: the pool's size. Those
        # past it wait their turn at this gate, first come first served, rather than in
        # the pool's queue, where a newcomer takes a connection just handed back ahead
        # of the one woken for it, who goes to the back of the line again: with 50
        # requests in flight some waited three or four turns (ack p99 3.5x the p50,
        # bench/README.md, issue 16). 0: no pool to queue for (SQLite in memory).
        self._turns = 0
        # The tasks holding a turn: one that asks for a second would wait for itself.
        self._holders: set[asyncio.Task[Any] | None] = set()
        if parsed.get_backend_name() == "sqlite":
            # One hand-off to aiosqlite's thread per statement instead of four (none
            # for a brief unit of work's, bot/storage/sqlite_driver.py).
            options["module"] = sqlite_driver.dbapi()
            if parsed.database not in (None, "", ":memory:"):
                # One connection: every transaction takes SQLite's write lock (BEGIN
                # IMMEDIATE), so a second connection only waits in SQLite's busy handler,
                # which sleeps up to 100 ms at a time; waiting for the pooled connection
                # is a queue instead (8 at once: 1,228 transactions a second, not 224).
                options["pool_size"] = 1
                options["max_overflow"] = 0
                self._turns = 1
        else:
            options["pool_size"] = pool_size
            options["max_overflow"] = 0
            self._turns = pool_size
        if limits is not None:
            options["pool_timeout"] = limits.checkout_seconds
        if limits is not None and parsed.get_backend_name() != "sqlite":
            options["connect_args"] = {
                "timeout": limits.connect_seconds,
                "command_timeout": limits.statement_seconds,
            }
        # Free text is encrypted with this database's own cipher (None: plain text); the
        # column types find it on each engine's dialect, which no other database shares.
        self.cipher = cipher
        self._sqlite = parsed.get_backend_name() == "sqlite"
        self.engine: AsyncEngine = self._new_engine(echo, options)
        # ``execute_alone``'s and ``fetch_alone``'s on PostgreSQL: the same pool, each
        # connection set to autocommit as it is handed out and set back as it returns
        # (SQLAlchemy's own ``isolation_level`` option of an engine), with no hand-off of
        # its own for it. A statement sent outside a transaction, PostgreSQL runs as one
        # of its own.
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self.sessions, self._alone_sessions = self._sessionmakers(self.engine, self._autocommit)
        # PostgreSQL: the dispatch pass's own connection (``scheduled``), besides the
        # pool's. A pass on one of the pool's connections held it from the requests
        # for as long as it ran, and prepared its own statements on each of them in
        # turn: the first pass to land on a connection prepared ~25 statements there
        # in the middle of its burst of objects, which then kept the allocators' new
        # memory from going back (bench/README.md, issue 16, goal 4). SQLite: one
        # connection for everything.
        self._pass_engine: AsyncEngine | None = None
        self._pass_sessions, self._pass_alone_sessions = self.sessions, self._alone_sessions
        if not self._sqlite:
            self._pass_engine = self._new_engine(echo, options | {"pool_size": 1})
            self._pass_sessions, self._pass_alone_sessions = self._sessionmakers(
                self._pass_engine, self._pass_engine.execution_options(isolation_level="AUTOCOMMIT")
            )
        self._gate = self._new_gate()
        # ``fetch_alone``'s statements, compiled for this database's dialect.
        self._compiled: dict[Executable, DriverStatement] = {}

    def _new_engine(self, echo: bool, options: dict[str, Any]) -> AsyncEngine:
        engine = create_async_engine(
            # A failing statement's message must not quote its values (a win, an answer).
            self.url,
            echo=echo,
            hide_parameters=True,
            **options,
        )
        attach_cipher(engine.dialect, self.cipher)
        _one_savepoint_name(engine)
        if self._sqlite:
            _configure_sqlite(engine)
            return engine
        _check_on_checkout(engine)
        _array_codecs_on_connect(engine)
        _forget_big_statements(engine)
        if self.limits is not None:
            _close_within(engine, self.limits.statement_seconds)
        return engine

    def _sessionmakers(
        self, engine: AsyncEngine, autocommit: AsyncEngine
    ) -> tuple[async_sessionmaker[AsyncSession], async_sessionmaker[AsyncSession]]:
        """Units of work on ``engine``, and ``execute_alone``'s (``autocommit``, the same
        pool, on PostgreSQL)."""
        sessions = async_sessionmaker(
            engine,
            expire_on_commit=False,
            sync_session_class=Session if self._sqlite else ArraysSession,
        )
        if self._sqlite:
            return sessions, sessions
        return sessions, async_sessionmaker(autocommit, expire_on_commit=False)

    def sync_engines(self) -> list[Engine]:
        """Every engine this database sends statements through (the pool's, and on
        PostgreSQL the dispatch pass's), for event listeners that watch them all."""
        engines = [self.engine.sync_engine]
        if self._pass_engine is not None:
            engines.append(self._pass_engine.sync_engine)
        return engines

    @property
    def is_sqlite(self) -> bool:
        return self._sqlite

    async def execute_alone(
        self,
        statement: Executable,
        params: dict[str, Any] | None = None,
        *,
        brief: bool = False,
        scheduled: bool = False,
    ) -> Result[Any]:
        """One statement that is a unit of work on its own, as :meth:`transaction` runs
        it (its turn, its time limit, ``brief``), its rows read. On PostgreSQL it goes
        without ``BEGIN`` and ``COMMIT``: a statement sent outside a transaction is one
        of its own, all or nothing, and as durable when its answer comes as a ``COMMIT``
        is (``synchronous_commit`` on). One round trip instead of three (bench/README.md,
        issue 16). Only one statement can run so, hence a method, not a block."""
        async with self.transaction(brief=brief, scheduled=scheduled, _alone=True) as session:
            return await session.execute(statement, params)

    async def fetch_alone(
        self, statement: Executable, params: dict[str, Any]
    ) -> list[tuple[Any, ...]]:
        """PostgreSQL: :meth:`execute_alone` for a hot statement, sent by the driver as
        SQL compiled once (per statement and database), each value converted by its
        parameter's type as SQLAlchemy would. Skipping the ORM's and the compiler's work
        per call saves ~0.4 ms of a paced ``/win`` (bench/README.md, issue 16). Its rows
        as tuples, as the driver reads them (``DriverStatement``)."""
        if self._sqlite:
            raise ValueError("fetch_alone sends PostgreSQL's own SQL: PostgreSQL only")
        compiled = self._compiled.get(statement)
        if compiled is None:
            compiled = self._compiled[statement] = DriverStatement(statement, self.engine.dialect)
        values = compiled.values(params)
        deadline = asyncio.timeout(self.limits.transaction_seconds if self.limits else None)
        held: asyncio.Semaphore | None = None
        try:
            try:
                async with deadline:
                    held = await self._take_turn()
                    # A pooled connection of the same pool, in autocommit as
                    # ``execute_alone``'s session has it, with no session around it.
                    async with self._autocommit.connect() as connection:
                        raw = await connection.get_raw_connection()
                        driver = raw.driver_connection
                        rows = await driver.fetch(compiled.sql, *values)  # type: ignore[union-attr]
            finally:
                self._give_turn(held)  # the connection is back in the pool: the next turn
        except Exception as error:
            if not _unavailable(error):
                raise
            raise _did_not_answer(error, deadline) from None
        return [tuple(row) for row in rows]

    @asynccontextmanager
    async def transaction(
        self, *, brief: bool = False, scheduled: bool = False, _alone: bool = False
    ) -> AsyncIterator[AsyncSession]:
        """One unit of work: committed when the block ends, rolled back if it raises.
        Raises :class:`DatabaseUnavailable` when the database does not answer within
        ``limits.transaction_seconds`` (the block is cancelled) or the connection fails.
        ``brief``: a handful of indexed statements (an event's, a message's sent mark),
        which on SQLite may run on the event loop's thread, never waiting for a lock
        there (bot/storage/sqlite_driver.py); a pass over many rows is not brief.
        ``scheduled``: the dispatch pass's, which on PostgreSQL has a connection of its
        own and takes no turn at the pool's. ``_alone``: :meth:`execute_alone`'s, whose
        one statement PostgreSQL runs in autocommit."""
        deadline = asyncio.timeout(self.limits.transaction_seconds if self.limits else None)
        own = scheduled and self._pass_engine is not None
        if not own and self._gate is not None and asyncio.current_task() in self._holders:
            raise RuntimeError("a unit of work was opened inside another of the same task")
        if own:
            session = (self._pass_alone_sessions if _alone else self._pass_sessions)()
        else:
            session = (self._alone_sessions if _alone else self.sessions)()
        held: asyncio.Semaphore | None = None  # the turn this unit of work holds
        on_loop = sqlite_driver.ON_LOOP.set(brief) if self._sqlite else None
        try:
            try:
                try:
                    async with deadline:
                        held = None if own else await self._take_turn()
                        # The session begins with its first statement (autobegin), as
                        # ``session.begin()`` would only then reach the database: without
                        # a hand-off of its own for the begin (bench/README.md, issue 16).
                        yield session
                        try:
                            await session.commit()
                        except BaseException:
                            # As ``session.begin()``'s block did. A failed COMMIT leaves
                            # the pooled connection marked as reset, and the pool would
                            # not roll back what SQLite still holds open.
                            await session.rollback()
                            raise
                except BaseException:
                    # As ``async with session`` closes it, rolling back what the block
                    # began: to the end, even when this task is cancelled meanwhile (the
                    # connection goes back to the pool).
                    await session.__aexit__(None, None, None)
                    raise
                # Committed: the commit gave the connection back to the pool, so the
                # close only lets go of the ORM objects. It does no I/O and needs no
                # hand-off to a greenlet (``AsyncSession.close`` spawns one: ~8.5 µs,
                # bench/README.md, issue 16).
                session.sync_session.close()
            finally:
                self._give_turn(held)  # the connection is back in the pool: the next turn
                if on_loop is not None:
                    sqlite_driver.ON_LOOP.reset(on_loop)
        except Exception as error:
            if not _unavailable(error):
                raise
            raise _did_not_answer(error, deadline) from None

    async def _take_turn(self) -> asyncio.Semaphore | None:
        """A unit of work's turn at the pool's connections (``_turn``), which it gives
        back with ``_give_turn`` once its connection is back in the pool; None: there is
        no pool to wait for."""
        gate = self._gate
        if gate is None:
            return None
        task = asyncio.current_task()
        if task in self._holders:
            raise RuntimeError("a unit of work was opened inside another of the same task")
        await self._turn(gate)
        self._holders.add(task)
        return gate

    def _give_turn(self, held: asyncio.Semaphore | None) -> None:
        if held is not None:
            self._holders.discard(asyncio.current_task())
            held.release()

    async def _turn(self, gate: asyncio.Semaphore) -> None:
        """Wait for a connection's turn, at most ``limits.checkout_seconds`` (the pool's
        own timeout, which its queue no longer reaches)."""
        if self.limits is None:
            await gate.acquire()
            return
        try:
            async with asyncio.timeout(self.limits.checkout_seconds):
                await gate.acquire()
        except TimeoutError:
            raise exc.TimeoutError("no pooled connection came free in time") from None

    async def upgrade(self) -> None:
        """Bring the schema to the newest migration (safe to call on every start)."""
        if self.is_sqlite:
            async with self.engine.begin() as conn:
                await conn.run_sync(_upgrade_on)
            return
        # Its own connection without the statement limit: a migration of a big table, or
        # waiting for another instance's, may take longer than any request should.
        engine = create_async_engine(
            self.url,
            hide_parameters=True,
            poolclass=NullPool,
            connect_args={"timeout": self.limits.connect_seconds} if self.limits else {},
        )
        try:
            async with engine.begin() as conn:
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
                )
                await conn.run_sync(_upgrade_on)
        finally:
            await engine.dispose()

    async def open_pool(self) -> int:
        """PostgreSQL: open every pooled connection now, at the start, and the dispatch
        pass's, and say how many are open. Opened one at a time as bursts of requests
        first needed them, the last ones opened 30 to 40 minutes into an hour of
        traffic, and each took its memory then (its prepared statements, asyncpg's
        codecs): a third of the second half's growth (bench/README.md, issue 16, goal
        4). No request waits for a connect either. One the server refuses is logged, and
        left to the pool to open when it is needed, as before."""
        if self.is_sqlite:
            return 0
        engines = [self.engine] * self._turns
        if self._pass_engine is not None:
            engines.append(self._pass_engine)
        tried = await asyncio.gather(
            *(engine.connect().start() for engine in engines), return_exceptions=True
        )
        opened = [found for found in tried if not isinstance(found, BaseException)]
        for connection in opened:
            await connection.close()  # back to the pool, open
        failed = [found for found in tried if isinstance(found, BaseException)]
        if failed:
            log.warning(
                "opened %d of %d database connections at the start (%s); the rest when needed",
                len(opened),
                len(tried),
                type(failed[0]).__name__,
            )
        return len(opened)

    async def dispose(self) -> None:
        """Close the pooled connections (with limits: each within
        ``limits.statement_seconds`` on PostgreSQL, then cut)."""
        await self.engine.dispose()
        if self._pass_engine is not None:
            await self._pass_engine.dispose()
        # Its waiters belong to this event loop, as the pool did; a later one gets both new.
        self._gate = self._new_gate()

    def _new_gate(self) -> asyncio.Semaphore | None:
        return asyncio.Semaphore(self._turns) if self._turns else None


class DriverStatement:
    """A statement compiled once for the driver: its SQL with numbered parameters, and
    each parameter's name and conversion (its type's bind processor) in their order.
    Its rows are the driver's: a statement whose columns' types convert what is read
    (an encrypted column) is refused. JSON needs none: SQLAlchemy gives each of its
    PostgreSQL connections a codec that decodes it (``setup_asyncpg_json_codec``)."""

    def __init__(self, statement: Executable, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
        if not compiled.positiontup:
            raise ValueError("a DriverStatement needs the dialect's numbered parameters")
        if compiled.post_compile_params:
            # (a list as one parameter, ``in_``): rendered only at each call, by the
            # compiler this skips.
            raise ValueError("a DriverStatement takes no parameter rendered per call")
        for column in getattr(statement, "exported_columns", ()):  # a SELECT's, a RETURNING's
            if column.type.dialect_impl(dialect).result_processor(dialect, None) is not None:
                raise ValueError(f"a DriverStatement reads no {column.type!r}: it converts")
        self.sql = str(compiled)
        self._compiled = compiled
        self._order = [
            (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in compiled.positiontup
        ]

    def values(self, params: dict[str, Any]) -> list[Any]:
        """The values in order: those given, and the statement's own literals."""
        given = self._compiled.construct_params(params)
        return [
            given[name] if process is None else process(given[name])
            for name, process in self._order
        ]


def _alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _upgrade_on(connection: Connection) -> None:
    command.upgrade(_alembic_config(connection), "head")


def _close_within(engine: AsyncEngine, seconds: float) -> None:
    """Closing a connection says goodbye to the server and waits for it; a server that
    does not answer (a partition) gets ``seconds``, then the connection is cut, so
    stopping never waits on it."""

    def close(dbapi_connection: Any) -> None:
        try:
            dbapi_connection.run_async(lambda driver: driver.close(timeout=seconds))
        except (TimeoutError, OSError, asyncio.CancelledError):
            dbapi_connection.driver_connection.terminate()
        except Exception as error:
            log.warning("closing a database connection failed: %s", type(error).__name__)
            dbapi_connection.driver_connection.terminate()

    engine.sync_engine.dialect.do_close = close  # type: ignore[method-assign]


# The name of every savepoint (see _one_savepoint_name).
SAVEPOINT = "mentorbot_savepoint"


def _one_savepoint_name(engine: AsyncEngine) -> None:
    """Every savepoint goes by one name, instead of SQLAlchemy's ``sa_savepoint_<n>``
    numbered per connection. Each statement text is a statement of its own to the
    driver: asyncpg prepares every one (a round trip) and keeps up to 100 per connection,
    and a dispatch pass that gave 400 items a savepoint each made 800 new statements,
    which pushed the statements every request uses out of the pooled connections' caches
    (prepared again on their next use) and kept each cache full of dead names. One name
    does the same: savepoints nest last in, first out (``begin_nested`` blocks), and both
    PostgreSQL and SQLite release or roll back to the newest savepoint of a name."""
    dialect = engine.sync_engine.dialect
    savepoint = dialect.do_savepoint
    rollback_to = dialect.do_rollback_to_savepoint
    release = dialect.do_release_savepoint

    def do_savepoint(connection: Connection, _name: str) -> None:
        savepoint(connection, SAVEPOINT)

    def do_rollback_to_savepoint(connection: Connection, _name: str) -> None:
        rollback_to(connection, SAVEPOINT)
        # ROLLBACK TO keeps the savepoint; under one name it would then stand in for the
        # one it was nested in (whose own rollback would stop at it), so it goes.
        release(connection, SAVEPOINT)

    def do_release_savepoint(connection: Connection, _name: str) -> None:
        release(connection, SAVEPOINT)

    for method in (do_savepoint, do_rollback_to_savepoint, do_release_savepoint):
        setattr(dialect, method.__name__, method)


# The longest statement text a pooled PostgreSQL connection keeps prepared: asyncpg's own
# ``max_cacheable_statement_size`` (15 KiB), which SQLAlchemy's cache does not apply.
PREPARED_SQL_MAX_CHARS = 15 * 1024


def _forget_big_statements(engine: AsyncEngine) -> None:
    """A long statement is let go of once it has run, instead of staying prepared on its
    connection (SQLAlchemy keeps up to 100 a connection, whatever their size). Such a
    text is a batch's: the unit of work writing a dispatch pass's 1,000 messages at once
    is one ``INSERT`` of 10,000 parameters, 89 KB of SQL, whose prepared form takes its
    share of memory on the server and here (a type and a codec per parameter), on each
    of the pooled connections in turn, and a batch of another size is another text. Let
    go of, asyncpg closes it on the server with its next statement. Preparing it again
    is one round trip a batch (bench/README.md, issue 16, goal 4)."""
    dialect = engine.sync_engine.dialect
    execute = dialect.do_execute

    def do_execute(cursor: Any, statement: str, parameters: Any, context: Any = None) -> None:
        try:
            execute(cursor, statement, parameters, context)
        finally:
            if len(statement) > PREPARED_SQL_MAX_CHARS:
                # SQLAlchemy's adapter's own attributes: should a later version rename
                # them, this lets nothing go rather than fail the statement (and
                # tests/test_storage.py fails instead).
                adapted = getattr(cursor, "_adapt_connection", None)
                prepared = getattr(adapted, "_prepared_statement_cache", None)
                if prepared is not None:
                    prepared.pop(statement, None)

    dialect.do_execute = do_execute  # type: ignore[method-assign]


def _array_codecs_on_connect(engine: AsyncEngine) -> None:
    """Each new connection learns, as it opens, the array type of every column type
    (one statement, prepared and dropped). asyncpg looks up a type it has no codec for
    on the server the first time a statement of the connection uses it (two statements
    more, one of them prepared), and every array the bulk statements bind is such a type
    (``bot/storage/bulk.py``): without this, each connection did it at its first
    dispatch pass, minutes or an hour after it opened, and kept what it learned then
    (bench/README.md, issue 16, goal 4)."""
    dialect = engine.sync_engine.dialect
    columns = [column for table in Base.metadata.sorted_tables for column in table.columns]
    types = sorted({f"{column.type.compile(dialect=dialect)}[]" for column in columns})
    sql = "SELECT " + ", ".join(f"CAST(NULL AS {name})" for name in types)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.run_async(lambda driver: driver.prepare(sql))


# A pooled PostgreSQL connection idle this long is pinged before it is used again.
PING_AFTER_IDLE_SECONDS = 10.0


def _check_on_checkout(engine: AsyncEngine) -> None:
    """A connection the server dropped (``pg_terminate_backend``, a restart) is found on
    checkout and replaced, instead of failing the first request. The server's goodbye
    has closed the socket by then, which asyncpg knows without asking; only a connection
    idle for ``PING_AFTER_IDLE_SECONDS`` (one a firewall may have dropped without a word)
    is pinged. SQLAlchemy's ``pool_pre_ping`` pinged on every checkout: a round trip that
    cost each event about 0.34 ms (bench/README.md, issue 16)."""

    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if dbapi_connection.driver_connection.is_closed():
            raise exc.DisconnectionError("the server closed the connection")
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dbapi_connection.ping()
        except Exception as error:
            raise exc.DisconnectionError(type(error).__name__) from None


def _configure_sqlite(engine: AsyncEngine) -> None:
    # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINTs; take it over.
    # BEGIN IMMEDIATE takes the write lock up front, so two writers wait on busy_timeout
    # instead of failing with "database is locked" when a read turns into a write.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={sqlite_driver.BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    # It goes to SQLite with the transaction's first statement (bot/storage/sqlite_driver.py).
    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        adapted = conn.connection.dbapi_connection
        assert isinstance(adapted, sqlite_driver.Connection)
        adapted.begin_with_next_statement("BEGIN IMMEDIATE")

    # A statement marked ``sqlite_driver.DEFERRED`` goes with the transaction's next one.
    dialect = engine.sync_engine.dialect
    dialect.do_execute = sqlite_driver.execute_deferring  # type: ignore[method-assign]
    dialect.do_executemany = sqlite_driver.executemany_deferring  # type: ignore[method-assign]
