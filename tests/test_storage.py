"""The schema comes from Alembic migrations and behaves the same on both backends."""

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import asyncpg
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import bindparam, func, insert, inspect, select, text, update
from sqlalchemy import event as sa_event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.due import run_due
from bot.storage import sqlite_driver
from bot.storage.database import (
    MIGRATIONS,
    PREPARED_SQL_MAX_CHARS,
    Database,
    async_url,
    safe_url,
)
from bot.storage.models import Base, Member, Pair, PairState, Workspace
from bot.storage.sqlite_driver import DEFERRED
from tests.conftest import empty_postgres
from tests.statements import trips_to_sqlite


async def test_migrations_create_every_model_table(database: Database) -> None:
    async with database.engine.connect() as conn:
        tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
    assert version == ScriptDirectory(str(MIGRATIONS)).get_current_head()


async def test_upgrade_is_safe_to_run_again(database: Database) -> None:
    await database.upgrade()
    await database.upgrade()


async def test_every_table_but_workspaces_is_scoped_by_workspace() -> None:
    for table in Base.metadata.sorted_tables:
        if table.name != "workspaces":
            assert "workspace_id" in table.c, table.name


async def _workspace(database: Database) -> Workspace:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    async with database.transaction() as session:
        workspace = Workspace(platform="console", external_id="T1", created_at=now)
        session.add(workspace)
    return workspace


@dataclass
class Ticks:
    count: int = 0


@asynccontextmanager
async def loop_ticks() -> AsyncIterator[Ticks]:
    """How often the event loop got to run a 10 ms tick within the block: a block whose
    wait holds up the loop lets none through."""
    ticks = Ticks()

    async def tick() -> None:
        while True:
            await asyncio.sleep(0.01)
            ticks.count += 1

    ticker = asyncio.create_task(tick())
    try:
        yield ticks
    finally:
        ticker.cancel()


async def test_datetimes_come_back_aware_and_in_utc(database: Database) -> None:
    workspace = await _workspace(database)
    berlin = timezone(timedelta(hours=1))
    moment = datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=berlin)
    async with database.transaction() as session:
        session.add(Member(workspace_id=workspace.id, external_id="U1", created_at=moment))
    async with database.transaction() as session:
        member = (await session.execute(select(Member))).scalar_one()
    assert member.created_at == moment
    assert member.created_at.tzinfo is not None and member.created_at.utcoffset() == timedelta(0)


async def test_naive_datetimes_are_refused(database: Database) -> None:
    workspace = await _workspace(database)
    with pytest.raises(Exception, match="naive datetime"):
        async with database.transaction() as session:
            session.add(
                Member(workspace_id=workspace.id, external_id="U1", created_at=datetime(2026, 1, 1))
            )


async def test_one_live_pair_per_couple_is_enforced_by_the_database(database: Database) -> None:
    workspace = await _workspace(database)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    async with database.transaction() as session:
        a = Member(workspace_id=workspace.id, external_id="A", created_at=now)
        b = Member(workspace_id=workspace.id, external_id="B", created_at=now)
        session.add_all([a, b])
        await session.flush()

    def pair(state: PairState) -> Pair:
        return Pair(
            workspace_id=workspace.id,
            mentor_id=a.id,
            mentee_id=b.id,
            state=state.value,
            created_at=now,
        )

    async with database.transaction() as session:
        session.add_all([pair(PairState.ENDED), pair(PairState.DECLINED), pair(PairState.ACTIVE)])
    with pytest.raises(IntegrityError):
        async with database.transaction() as session:
            session.add(pair(PairState.PROPOSED))


async def test_foreign_keys_are_enforced(database: Database) -> None:
    with pytest.raises(IntegrityError):
        async with database.transaction() as session:
            session.add(Member(workspace_id=12345, external_id="U1", created_at=datetime.now(UTC)))


async def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(database: Database) -> None:
    if not database.is_sqlite:
        pytest.skip("SQLite only")
    async with database.engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == 10_000
        assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1


def test_urls_people_write_pick_the_async_drivers() -> None:
    assert async_url("sqlite:///x.db") == "sqlite+aiosqlite:///x.db"
    assert async_url("postgresql://u:p@h/db") == "postgresql+asyncpg://u:p@h/db"
    assert async_url("postgres://u:p@h/db") == "postgresql+asyncpg://u:p@h/db"
    with pytest.raises(ValueError, match="DATABASE_URL must be"):
        async_url("mysql://u:p@h/db")
    with pytest.raises(ValueError, match="DATABASE_URL is not a URL") as refused:
        async_url("postgres:secret@h")
    assert "secret" not in str(refused.value)
    assert "secret" not in safe_url("postgresql://u:secret@h/db")


async def test_a_sqlite_writer_holds_the_write_lock_from_its_first_statement(
    database: Database,
) -> None:
    """BEGIN IMMEDIATE goes to SQLite with a transaction's first statement
    (bot/storage/sqlite_driver.py): a second writer, here another process's Database on
    the same file, waits at its first statement until the first one commits, so a read
    that turns into a write sees the other's write instead of failing with "database is
    locked"; and it waits on aiosqlite's thread, with the event loop free meanwhile."""
    if not database.is_sqlite:
        pytest.skip("SQLite only")
    workspace = await _workspace(database)
    other = Database(database.url)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    count = select(func.count()).select_from(Member)
    first_read = asyncio.Event()

    async def first() -> None:
        async with database.transaction() as session:
            assert await session.scalar(count) == 0
            first_read.set()
            await asyncio.sleep(0.3)  # the second writer is waiting now
            session.add(Member(workspace_id=workspace.id, external_id="A", created_at=now))

    async def second() -> int:
        await first_read.wait()
        async with other.transaction() as session:
            seen = await session.scalar(count)  # waits for the first to commit
            session.add(Member(workspace_id=workspace.id, external_id="B", created_at=now))
        return int(seen or 0)

    try:
        async with loop_ticks() as ticks:
            _, seen = await asyncio.gather(first(), second())
    finally:
        await other.dispose()
    assert seen == 1
    assert ticks.count >= 15
    async with database.transaction() as session:
        assert await session.scalar(count) == 2


async def test_a_sqlite_transaction_goes_on_after_its_first_statement_failed(
    database: Database,
) -> None:
    """The first statement carries BEGIN (bot/storage/sqlite_driver.py): when it fails,
    the transaction has still begun; what follows belongs to it, and a rollback undoes
    it all. (PostgreSQL aborts a transaction at a failed statement.)"""
    if not database.is_sqlite:
        pytest.skip("SQLite only")
    workspace = await _workspace(database)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    duplicate = insert(Workspace).values(platform="console", external_id="T1", created_at=now)

    async def second_workspace(session: AsyncSession) -> None:
        with pytest.raises(IntegrityError):
            await session.execute(duplicate)
        await session.execute(
            insert(Member).values(workspace_id=workspace.id, external_id="U1", created_at=now)
        )

    with pytest.raises(RuntimeError):
        async with database.transaction() as session:
            await second_workspace(session)
            raise RuntimeError("undo it")
    async with database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Member)) == 0
    async with database.transaction() as session:
        await second_workspace(session)
    async with database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Member)) == 1


async def test_a_deferred_statement_belongs_to_its_transaction(database: Database) -> None:
    """``DEFERRED`` (bot/storage/sqlite_driver.py): on SQLite the statement waits for
    the next one or the COMMIT; on both backends the transaction's next statement sees
    it, COMMIT keeps it and a rollback undoes it."""
    workspace = await _workspace(database)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    count = select(func.count()).select_from(Member)

    def member(external_id: str) -> Any:
        return insert(Member).values(
            workspace_id=workspace.id, external_id=external_id, created_at=now
        )

    async with database.transaction() as session:
        await session.execute(member("A"), execution_options=DEFERRED)
        assert await session.scalar(count) == 1  # the next statement sees it
        await session.execute(member("B"), execution_options=DEFERRED)  # goes with COMMIT
    with pytest.raises(RuntimeError):
        async with database.transaction() as session:
            await session.execute(member("C"), execution_options=DEFERRED)
            raise RuntimeError("undo it")
    async with database.transaction() as session:
        # Only deferred statements in a transaction: BEGIN goes with them, then COMMIT.
        await session.execute(member("D"), execution_options=DEFERRED)
    async with database.transaction() as session:
        names = await session.scalars(select(Member.external_id).order_by(Member.external_id))
        assert list(names) == ["A", "B", "D"]


async def test_a_deferred_statement_that_fails_keeps_nothing_of_its_transaction(
    database: Database,
) -> None:
    """Its error comes with the COMMIT it waited for: nothing of the transaction is kept,
    and the connection goes on to serve the next transaction."""
    workspace = await _workspace(database)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    duplicate = insert(Workspace).values(platform="console", external_id="T1", created_at=now)
    with pytest.raises(IntegrityError):
        async with database.transaction() as session:
            await session.execute(
                insert(Member).values(workspace_id=workspace.id, external_id="A", created_at=now)
            )
            await session.execute(duplicate, execution_options=DEFERRED)
    async with database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Member)) == 0
        await session.execute(
            insert(Member).values(workspace_id=workspace.id, external_id="B", created_at=now)
        )
    async with database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Member)) == 1


async def test_a_deferred_statement_costs_no_hand_off_of_its_own(database: Database) -> None:
    """Two deferred writes and the COMMIT are one trip to aiosqlite's thread."""
    if not database.is_sqlite:
        pytest.skip("SQLite only")
    workspace = await _workspace(database)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with trips_to_sqlite() as trips:
        async with database.transaction() as session:
            assert await session.scalar(select(func.count()).select_from(Member)) == 0
            for name in ("A", "B"):
                await session.execute(
                    insert(Member).values(
                        workspace_id=workspace.id, external_id=name, created_at=now
                    ),
                    execution_options=DEFERRED,
                )
    assert trips.count == 2  # BEGIN with the SELECT; the two INSERTs with the COMMIT
    async with database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Member)) == 2


def _hand_offs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the ``AsyncSession`` methods run in a greenlet of their own from now
    on (SQLAlchemy's ``greenlet_spawn``, ~8.5 µs each: bench/README.md, issue 16), until
    ``monkeypatch.undo()``."""
    from sqlalchemy.util.concurrency import greenlet_spawn as spawn

    spawned: list[str] = []

    async def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
        spawned.append(fn.__name__)
        return await spawn(fn, *args, **kwargs)

    monkeypatch.setattr("sqlalchemy.ext.asyncio.session.greenlet_spawn", counted)
    return spawned


async def test_a_statement_given_with_execute_deferred_is_written_as_with_execute(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``execute_deferred`` (bot/storage/sqlite_driver.py): on SQLite, once the
    transaction's first statement has run, it starts no greenlet (an ``await
    session.execute`` starts one, ~8.5 µs: bench/README.md, issue 16); before that, and on
    PostgreSQL, it goes the usual way. Either way the row is written as
    ``session.execute`` writes it (its time as the same text, its parameters processed),
    the COMMIT keeps it, a rollback undoes it, and one that fails fails its transaction."""
    workspace = await _workspace(database)
    at = datetime(2026, 1, 1, 9, 30, 15, 123456, tzinfo=UTC)

    def member(external_id: str) -> Any:
        return insert(Member).values(
            workspace_id=workspace.id, external_id=external_id, created_at=bindparam("at")
        )

    spawned = _hand_offs(monkeypatch)
    async with database.transaction() as session:
        # No statement yet: the connection is still to be checked out (the usual way).
        await sqlite_driver.execute_deferred(session, member("A"), {"at": at})
        assert spawned == ["execute"]
        await session.execute(member("B"), {"at": at})
        spawned.clear()
        await sqlite_driver.execute_deferred(session, member("C"), {"at": at})
        assert spawned == ([] if database.is_sqlite else ["execute"])
    monkeypatch.undo()
    with pytest.raises(RuntimeError):
        async with database.transaction() as session:
            await session.execute(select(func.count()).select_from(Member))
            await sqlite_driver.execute_deferred(session, member("D"), {"at": at})
            raise RuntimeError("undo it")
    with pytest.raises(IntegrityError):
        async with database.transaction() as session:
            await session.execute(member("E"), {"at": at})
            await sqlite_driver.execute_deferred(session, member("A"), {"at": at})
    async with database.transaction() as session:
        rows = await session.execute(
            select(Member.external_id, Member.created_at).order_by(Member.external_id)
        )
        assert [(name, when.replace(tzinfo=UTC)) for name, when in rows] == [
            ("A", at),
            ("B", at),
            ("C", at),
        ]
        if database.is_sqlite:
            stored = await session.scalars(text("SELECT DISTINCT created_at FROM members"))
            assert list(stored) == ["2026-01-01 09:30:15.123456"]
    # A change of the session's own objects is written first, as ``session.execute``'s
    # autoflush writes it: the statement's write of the same column comes after it.
    async with database.transaction() as session:
        a = (await session.execute(select(Member).where(Member.external_id == "A"))).scalar_one()
        a.wins_count = 5
        seven = update(Member).where(Member.id == a.id).values(wins_count=7)
        await sqlite_driver.execute_deferred(session, seven, {})
    async with database.transaction() as session:
        assert await session.scalar(select(Member.wins_count).where(Member.id == a.id)) == 7


async def test_savepoints_nest_under_one_name(database: Database) -> None:
    """Every savepoint is ``SAVEPOINT mentorbot_savepoint`` (bot/storage/database.py):
    a dispatch pass of many items adds no statement text per item for the driver to
    prepare and keep, and nesting still undoes exactly what it should."""
    workspace = await _workspace(database)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    said: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if "SAVEPOINT" in statement.upper():
            said.append(statement)

    async def add(session: AsyncSession, external_id: str) -> None:
        await session.execute(
            insert(Member).values(
                workspace_id=workspace.id, external_id=external_id, created_at=now
            )
        )

    sa_event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    try:
        async with database.transaction() as session:
            for number in range(50):  # one savepoint per item, as the dispatch pass
                async with session.begin_nested():
                    await add(session, f"item{number}")
            # A failing inner one is undone; the outer one's work before and after stays.
            async with session.begin_nested():
                await add(session, "outer")
                with pytest.raises(IntegrityError):
                    async with session.begin_nested():
                        await add(session, "item0")
                await add(session, "after")
            # An outer one rolled back after its inner one was rolled back goes back to
            # where it began, not to where the inner one began.
            with pytest.raises(RuntimeError):
                async with session.begin_nested():
                    await add(session, "gone")
                    with pytest.raises(IntegrityError):
                        async with session.begin_nested():
                            await add(session, "item1")
                    raise RuntimeError("undo the outer one")
            # An outer one rolled back takes the inner one it released with it.
            with pytest.raises(RuntimeError):
                async with session.begin_nested():
                    async with session.begin_nested():
                        await add(session, "inner")
                    raise RuntimeError("undo the outer one")
    finally:
        sa_event.remove(database.engine.sync_engine, "before_cursor_execute", record)
    async with database.transaction() as session:
        names = set(await session.scalars(select(Member.external_id)))
    assert names == {f"item{number}" for number in range(50)} | {"outer", "after"}
    assert len(said) > 100
    assert sorted(set(said)) == [
        "RELEASE SAVEPOINT mentorbot_savepoint",
        "ROLLBACK TO SAVEPOINT mentorbot_savepoint",
        "SAVEPOINT mentorbot_savepoint",
    ]


async def _thread_of_each_statement(database: Database) -> None:
    """SQLite: ``thread_id()`` in SQL names the thread that runs the statement."""
    async with database.engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.create_function("thread_id", 0, threading.get_ident)


async def test_a_brief_unit_of_work_runs_on_the_event_loops_thread(database: Database) -> None:
    """An event's unit of work (``brief``) saves the trips to aiosqlite's thread: its
    statements and its COMMIT run on the loop's thread; any other unit of work's (a
    dispatch pass, which may read many rows) go to aiosqlite's thread, as before. Both
    keep what they write."""
    if not database.is_sqlite:
        pytest.skip("SQLite only")
    workspace = await _workspace(database)
    await _thread_of_each_statement(database)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    loop_thread = threading.get_ident()
    for brief, name in ((True, "A"), (False, "B")):
        with trips_to_sqlite() as trips:
            async with database.transaction(brief=brief) as session:
                ran_on = await session.scalar(text("SELECT thread_id()"))
                member = {"workspace_id": workspace.id, "external_id": name, "created_at": now}
                await session.execute(insert(Member).values(member), execution_options=DEFERRED)
        assert (ran_on == loop_thread) is brief
        assert trips.count == 2  # BEGIN with the SELECT; the INSERT with the COMMIT
        assert trips.on_thread == (0 if brief else 2)
    async with database.transaction() as session:
        assert set(await session.scalars(select(Member.external_id))) == {"A", "B"}


async def test_a_brief_unit_of_work_waits_for_a_lock_on_aiosqlites_thread(
    database: Database,
) -> None:
    """A brief unit of work never waits for SQLite's write lock on the event loop's
    thread: while another connection (here another program's) holds it, the unit of
    work goes to aiosqlite's thread and waits there, the loop free meanwhile; then it
    goes on as usual, and the connection still waits for the lock as long as before."""
    if not database.is_sqlite:
        pytest.skip("SQLite only")
    workspace = await _workspace(database)
    await _thread_of_each_statement(database)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    path = make_url(database.url).database
    assert path is not None
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute(
            "INSERT INTO members (workspace_id, external_id, created_at) "
            "VALUES (?, 'other', '2026-01-01 00:00:00.000000')",
            (workspace.id,),
        )
        asyncio.get_running_loop().call_later(0.3, other.execute, "COMMIT")
        async with loop_ticks() as ticks, database.transaction(brief=True) as session:
            ran_on = await session.scalar(text("SELECT thread_id()"))
            seen = await session.scalar(select(func.count()).select_from(Member))
            session.add(Member(workspace_id=workspace.id, external_id="mine", created_at=now))
    finally:
        other.close()
    assert ran_on != threading.get_ident()
    assert seen == 1  # the other's row: it waited for the other's COMMIT
    assert ticks.count >= 15  # the loop went on while it waited
    async with database.transaction(brief=True) as session:
        assert await session.scalar(text("SELECT thread_id()")) == threading.get_ident()
        assert await session.scalar(text("PRAGMA busy_timeout")) == 10_000
        names = set(await session.scalars(select(Member.external_id)))
    assert names == {"other", "mine"}


async def test_nothing_runs_on_the_loops_thread_while_aiosqlites_still_runs_a_statement(
    database: Database,
) -> None:
    """A statement handed to aiosqlite's thread runs to its end there even when its
    caller stops waiting (cancelled); meanwhile a brief unit of work's statement on the
    same connection waits its turn on that thread rather than running beside it on the
    loop's (bot/storage/sqlite_driver.py ``Connection.run``)."""
    if not database.is_sqlite:
        pytest.skip("SQLite only")
    await _thread_of_each_statement(database)
    finished = threading.Event()

    def nap() -> int:
        time.sleep(0.3)
        finished.set()
        return 1

    async with database.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        adapted = raw.dbapi_connection
        assert isinstance(adapted, sqlite_driver.Connection)
        assert adapted.driver_connection is not None
        await adapted.driver_connection.create_function("nap", 0, nap)

        def reading(sql: str) -> Any:
            def work(connection: sqlite3.Connection, begin: str | None) -> Any:
                assert begin is None
                return connection.execute(sql).fetchone()[0]

            return work

        napping = asyncio.ensure_future(adapted.run(reading("SELECT nap()"), None))
        await asyncio.sleep(0.05)
        napping.cancel()  # its caller stops waiting; the thread goes on with it
        with pytest.raises(asyncio.CancelledError):
            await napping
        adapted.on_loop = True
        try:
            ran_on = await adapted.run(reading("SELECT thread_id()"), None)
        finally:
            adapted.on_loop = False
        assert finished.is_set()  # it waited for the nap to end
        assert ran_on != threading.get_ident()
        # The thread idle again, the next one runs on the loop's thread.
        adapted.on_loop = True
        try:
            assert await adapted.run(reading("SELECT thread_id()"), None) == threading.get_ident()
        finally:
            adapted.on_loop = False


def _members(workspace: Workspace, *names: str) -> Any:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        {"workspace_id": workspace.id, "external_id": name, "created_at": now} for name in names
    ]
    return insert(Member).values(rows).returning(Member.external_id)


async def test_a_statement_alone_is_a_unit_of_work_of_its_own(database: Database) -> None:
    """``execute_alone``: its rows come back, what it wrote is kept, and a statement that
    fails part way keeps nothing of itself (two members, the second a duplicate)."""
    workspace = await _workspace(database)
    found = await database.execute_alone(_members(workspace, "A", "B"), brief=True)
    assert sorted(found.scalars()) == ["A", "B"]
    with pytest.raises(IntegrityError):
        await database.execute_alone(_members(workspace, "C", "A"))
    async with database.transaction() as session:
        assert set(await session.scalars(select(Member.external_id))) == {"A", "B"}


async def test_a_unit_of_work_hands_off_for_its_statements_and_its_commit_only(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each hand-off to a greenlet costs ~8.5 µs (bench/README.md, issue 16): a unit of
    work begins with its first statement and closes after its commit without one of its
    own. A failing block rolls back and closes; a failing commit rolls back (the next
    unit of work on the pooled connection begins afresh: the deferred test above)."""
    workspace = await _workspace(database)
    spawned = _hand_offs(monkeypatch)
    async with database.transaction() as session:
        await session.execute(_members(workspace, "A"))
    assert spawned == ["execute", "commit"]
    spawned.clear()
    await database.execute_alone(_members(workspace, "B"))
    assert spawned == ["execute", "commit"]
    spawned.clear()
    with pytest.raises(IntegrityError):
        async with database.transaction() as session:
            await session.execute(_members(workspace, "C"))
            await session.execute(_members(workspace, "A"))
    assert spawned == ["execute", "execute", "close"]
    monkeypatch.undo()
    async with database.transaction() as session:
        assert set(await session.scalars(select(Member.external_id))) == {"A", "B"}


async def test_a_statement_alone_goes_to_postgresql_without_begin_and_commit(
    backend: str, templates: Any
) -> None:
    """On PostgreSQL the statement goes without a ``BEGIN`` or a ``COMMIT`` (one round
    trip, not three), and the pooled connection it used is transactional again afterwards:
    the next unit of work on it that fails keeps nothing of its first statement."""
    if backend != "postgresql":
        pytest.skip("PostgreSQL only")
    database = Database(templates.postgres_url, pool_size=1)
    try:
        async with database.engine.begin() as conn:
            await empty_postgres(conn)
        workspace = await _workspace(database)
        # asyncpg tells its query loggers of the statements it sends as text (BEGIN,
        # COMMIT, ROLLBACK), not of the prepared ones, and a moment later (call_soon). A
        # BEGIN after the isolation level was set back names it: the same, READ COMMITTED.
        sent: list[str] = []
        async with database.engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw is not None
            raw.add_query_logger(lambda record: sent.append(record.query.split()[0].strip(";")))

        async def sent_since(start: int) -> list[str]:
            await asyncio.sleep(0)
            return sent[start:]

        found = await database.execute_alone(_members(workspace, "A"), brief=True)
        assert list(found.scalars()) == ["A"]
        assert await sent_since(0) == []
        with pytest.raises(IntegrityError):
            async with database.transaction() as session:
                await session.execute(_members(workspace, "B"))
                await session.execute(_members(workspace, "A"))
        assert await sent_since(0) == ["BEGIN", "ROLLBACK"]
        async with database.transaction() as session:
            assert set(await session.scalars(select(Member.external_id))) == {"A"}
        assert await sent_since(2) == ["BEGIN", "COMMIT"]
    finally:
        await database.dispose()


async def test_a_long_statement_is_not_kept_prepared_on_postgresql(
    backend: str, templates: Any
) -> None:
    """A statement text longer than ``PREPARED_SQL_MAX_CHARS`` (a batch's) is closed on
    the server once it has run, while a short one stays prepared for its next use."""
    if backend != "postgresql":
        pytest.skip("PostgreSQL only")
    database = Database(templates.postgres_url, pool_size=1)
    prepared = text("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE :marker")
    # A long text of a few parameters: a comment makes it long.
    long = text("SELECT CAST(:a AS int) + :b /* long */ -- " + "x" * PREPARED_SQL_MAX_CHARS)
    short = text("SELECT CAST(:a AS int) + :b /* short */")
    try:
        for statement in (long, short, long, short):
            async with database.transaction() as session:
                assert await session.scalar(statement, {"a": 1, "b": 2}) == 3
        async with database.transaction() as session:
            # asyncpg closes a statement let go of when it next prepares one: this.
            kept = {
                marker: await session.scalar(prepared, {"marker": f"%/* {marker} */%"})
                for marker in ("long", "short")
            }
        assert kept == {"long": 0, "short": 1}
    finally:
        await database.dispose()


async def test_open_pool_opens_every_connection_at_the_start(backend: str, templates: Any) -> None:
    """``mentorbot run`` opens the whole pool as it starts (PostgreSQL), and the dispatch
    pass's own connection, so no connection is opened, and takes its memory, late in a
    long run."""
    if backend != "postgresql":
        pytest.skip("PostgreSQL only")
    database = Database(templates.postgres_url, pool_size=4)
    try:
        assert database.engine.pool.checkedin() == 0  # type: ignore[attr-defined]
        assert await database.open_pool() == 5
        assert database.engine.pool.checkedin() == 4  # type: ignore[attr-defined]
        async with database.transaction() as session:
            assert await session.scalar(text("SELECT 1")) == 1
    finally:
        await database.dispose()


async def test_open_pool_takes_what_the_server_gives_and_says_so(
    backend: str, templates: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A server that takes fewer connections than the pool's size (a role's limit here)
    does not stop the start: the rest are opened when needed, as before, and the log says
    how many opened."""
    if backend != "postgresql":
        pytest.skip("PostgreSQL only")
    owner = Database(templates.postgres_url, pool_size=1)
    role = "mentorbot_two_connections"
    url = make_url(async_url(templates.postgres_url)).set(username=role, password="two")
    try:
        async with owner.engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
            await conn.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD 'two' CONNECTION LIMIT 2"))
        limited = Database(url.render_as_string(hide_password=False), pool_size=4)
        try:
            with caplog.at_level(logging.WARNING, logger="bot.storage.database"):
                assert await limited.open_pool() == 2
            assert "opened 2 of 5 database connections at the start" in caplog.text
            assert "two" not in caplog.text.replace(role, "")  # no password in the log
            async with limited.transaction() as session:
                assert await session.scalar(text("SELECT 1")) == 1
        finally:
            await limited.dispose()
    finally:
        async with owner.engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
        await owner.dispose()


async def test_a_new_connection_knows_every_array_type_it_binds(
    backend: str, templates: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """asyncpg looks a type it has no codec for up on the server, on each connection, at
    its first use: the arrays the bulk statements bind are learned as the connection
    opens, and a dispatch pass's statements look nothing up later."""
    if backend != "postgresql":
        pytest.skip("PostgreSQL only")
    looked_up: list[set[int]] = []
    # asyncpg's own method for it (not public): with another name, this test fails.
    look_up = asyncpg.Connection._introspect_types  # type: ignore[attr-defined]

    async def recorded(self: Any, types: Any, *args: Any) -> Any:
        looked_up.append(set(types))
        return await look_up(self, types, *args)

    monkeypatch.setattr(asyncpg.Connection, "_introspect_types", recorded)
    database = Database(templates.postgres_url, pool_size=1)
    try:
        async with database.transaction() as session:
            await session.execute(text("SELECT 1"))
        assert len(looked_up) == 1  # as the connection opened, all at once
        async with database.transaction() as session:
            for name in ("INTEGER", "VARCHAR", "JSON", "TIMESTAMP WITH TIME ZONE", "DATE"):
                found = await session.scalar(
                    text(f"SELECT CAST(:a AS {name}[]) IS NULL"), {"a": None}
                )
                assert found is True
        assert len(looked_up) == 1  # nothing more
    finally:
        await database.dispose()


async def test_the_dispatch_pass_has_a_connection_of_its_own(backend: str, templates: Any) -> None:
    """On PostgreSQL the pass's units of work (``scheduled``) do not wait for the pool's
    connections, all held here by requests, nor take their turn; and its statements are
    prepared on its own connection, not on theirs."""
    if backend != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has one connection for everything")
    database = Database(templates.postgres_url, pool_size=1)
    try:
        async with database.transaction() as request:
            await request.execute(text("SELECT 1"))  # the pool's one connection, held
            async with asyncio.timeout(5):
                report = await run_due(database, datetime(2026, 11, 30, 10, 0, tzinfo=UTC))
                async with database.transaction(scheduled=True) as session:
                    mine = await session.scalar(text("SELECT pg_backend_pid()"))
            theirs = await request.scalar(text("SELECT pg_backend_pid()"))
        assert report.total == 0
        assert mine != theirs
    finally:
        await database.dispose()
