"""Fixtures: a real database per test, on SQLite and (when configured) on PostgreSQL.

Set ``MENTORBOT_TEST_POSTGRES_URL`` (for example
``postgresql://postgres:postgres@127.0.0.1:5432/postgres``) or pass ``--postgres-url`` to
run every database test on PostgreSQL too; each run creates and drops its own database.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import ManualClock
from bot.storage.database import Database, sqlite_url
from bot.storage.models import Base
from tests.conversation import Chat

# A Wednesday, at noon UTC.
START = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

# No test is timed: the machines are shared and noisy, and xdist runs tests side by side.
# So Hypothesis has no deadline for an example and no health check on how long
# generating one takes; a test's own settings may still ask for more examples.
settings.register_profile("untimed", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("untimed")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--postgres-url",
        default=os.environ.get("MENTORBOT_TEST_POSTGRES_URL"),
        help="an admin URL of a PostgreSQL server; database tests then run on it too",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        url = metafunc.config.getoption("--postgres-url")
        backends = ["sqlite", "postgresql"] if url else ["sqlite"]
        if not url and os.environ.get("CI"):
            raise pytest.UsageError(
                "CI must run the PostgreSQL tests: set MENTORBOT_TEST_POSTGRES_URL"
            )
        metafunc.parametrize("backend", backends)


@dataclass(frozen=True)
class Templates:
    sqlite_file: Path
    postgres_url: str | None


def _plain(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _migrate(url: str) -> None:
    database = Database(url)
    await database.upgrade()
    await database.dispose()


@pytest.fixture(scope="session")
def templates(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Iterator[Templates]:
    """Migrated once per run: a SQLite file to copy, and a PostgreSQL database to reuse."""
    sqlite_file = tmp_path_factory.mktemp("template") / "template.db"
    asyncio.run(_migrate(sqlite_url(sqlite_file)))
    admin_url = pytestconfig.getoption("--postgres-url")
    if not admin_url:
        yield Templates(sqlite_file, None)
        return
    name = f"mentorbot_test_{uuid.uuid4().hex[:12]}"
    admin = _plain(admin_url)

    async def create() -> None:
        connection = await asyncpg.connect(admin)
        await connection.execute(f'CREATE DATABASE "{name}"')
        await connection.close()

    async def drop() -> None:
        connection = await asyncpg.connect(admin)
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.close()

    asyncio.run(create())
    test_url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    try:
        asyncio.run(_migrate(test_url))
        yield Templates(sqlite_file, test_url)
    finally:
        asyncio.run(drop())


TABLES = ", ".join(table.name for table in Base.metadata.sorted_tables)
# Rows from which TRUNCATE is the quicker way to empty the tables: each deleted row runs
# the foreign key checks of every table that refers to it (both take about 0.05 s for 300
# imported pairs; for 1,000 pairs DELETE takes 0.18 s, TRUNCATE 0.09 s).
_MANY_ROWS = 500
# The rows in each table, counted up to _MANY_ROWS.
_ROWS = text(
    "SELECT "
    + ", ".join(
        f"(SELECT count(*) FROM (SELECT 1 FROM {table.name} LIMIT {_MANY_ROWS}) AS counted)"
        for table in Base.metadata.sorted_tables
    )
)
# Each table's id sequence back at its start, as TRUNCATE's RESTART IDENTITY does it.
_RESTART_IDS = text(
    "SELECT setval(s.seqrelid, s.seqstart, false) FROM pg_sequence s"
    " JOIN pg_depend d ON d.objid = s.seqrelid AND d.deptype IN ('a', 'i')"
    " AND d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass"
    " JOIN pg_class t ON t.oid = d.refobjid"
    " WHERE t.relname = ANY(:tables) AND t.relnamespace = current_schema()::regnamespace"
)


async def empty_postgres(connection: AsyncConnection) -> None:
    """Every table emptied and its ids started again, as ``TRUNCATE ... RESTART IDENTITY
    CASCADE`` leaves them. Most tests leave a few rows in a few tables, and deleting those
    is cheap, while TRUNCATE gives every table, index and sequence new files and drops the
    old ones at commit (a median of 0.03 s of each test's set-up against 0.09-0.13 s, over
    the ~550 tests on PostgreSQL); after the few tests that leave hundreds of rows or more,
    TRUNCATE it is."""
    rows = (await connection.execute(_ROWS)).one()
    if sum(rows) >= _MANY_ROWS:
        await connection.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
        return
    tables_and_rows = zip(Base.metadata.sorted_tables, rows, strict=True)
    for table, count in reversed(list(tables_and_rows)):  # the referencing tables first
        if count:
            await connection.execute(table.delete())
    tables = [table.name for table in Base.metadata.sorted_tables]
    await connection.execute(_RESTART_IDS, {"tables": tables})


@pytest.fixture
async def database(backend: str, templates: Templates, tmp_path: Path) -> AsyncIterator[Database]:
    if backend == "sqlite":
        path = tmp_path / "mentorbot.db"
        shutil.copy(templates.sqlite_file, path)
        db = Database(sqlite_url(path))
    else:
        assert templates.postgres_url is not None
        db = Database(templates.postgres_url)
        async with db.engine.begin() as conn:
            await empty_postgres(conn)
    yield db
    await db.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def chat(database: Database, clock: ManualClock) -> Chat:
    """alice is the workspace admin."""
    return Chat(database, clock, admins=frozenset({"alice"}))
