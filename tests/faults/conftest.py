"""Fault tests: PostgreSQL behind a TCP proxy that can pause, drop and resume traffic.
They run only when a PostgreSQL URL is configured (``MENTORBOT_TEST_POSTGRES_URL`` or
``--postgres-url``), on the migrated test database of the run."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.engine import make_url

from bot.storage.database import Database, DatabaseLimits
from tests.conftest import Templates, empty_postgres
from tests.faults.proxy import FaultProxy

# Short limits keep the tests to seconds; the defaults are the settings' (3/10/10/15 s).
QUICK = DatabaseLimits(
    connect_seconds=1.0, statement_seconds=2.0, checkout_seconds=2.0, transaction_seconds=3.0
)
# What the delivery worker logs when a pass gave up on the database.
PASS_CUT_OFF = "a delivery pass could not reach the database"


@pytest.fixture
async def postgres_url(templates: Templates) -> str:
    """The run's migrated test database, emptied."""
    if templates.postgres_url is None:
        pytest.skip("set MENTORBOT_TEST_POSTGRES_URL to run the database fault tests")
    direct = Database(templates.postgres_url)
    async with direct.engine.begin() as conn:
        await empty_postgres(conn)
    await direct.dispose()
    return templates.postgres_url


@pytest.fixture
async def proxy(postgres_url: str) -> AsyncIterator[FaultProxy]:
    url = make_url(postgres_url)
    running = FaultProxy(url.host or "127.0.0.1", url.port or 5432)
    await running.start()
    yield running
    await running.stop()


def behind(postgres_url: str, proxy: FaultProxy) -> str:
    """The test database's URL, through the proxy."""
    url = make_url(postgres_url).set(host=proxy.host, port=proxy.port)
    return url.render_as_string(hide_password=False)
