"""Fixtures for the Slack adapter: a fake Slack on loopback and the real adapter (Bolt
app, aiohttp server) pointed at it, on the test database of ``tests/conftest.py``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from adapters.slack.app import SlackAdapter
from bot.clock import ManualClock
from bot.engine import Engine
from bot.settings import Settings
from bot.storage.database import Database
from tests.slack.fake_slack import APP_TOKEN, BOT_TOKEN, FakeSlack, Person
from tests.slack.slack_chat import SECRET, SlackChat

ALICE = "U0ALICE"  # a workspace admin, in Berlin
BOB = "U0BOB"  # in New York
CAROL = "U0CAROL"


def slack_settings(fake: FakeSlack, *, socket_mode: bool = False) -> Settings:
    return Settings(
        slack_bot_token=SecretStr(BOT_TOKEN),
        slack_signing_secret=SecretStr(SECRET),
        slack_app_token=SecretStr(APP_TOKEN) if socket_mode else None,
        slack_api_url=fake.api_url,
    )


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    slack = FakeSlack(
        users={
            ALICE: Person("Alice", "Europe/Berlin", is_admin=True),
            BOB: Person("Bob", "America/New_York"),
            CAROL: Person("Carol", "Asia/Tokyo"),
        }
    )
    await slack.start()
    yield slack
    await slack.stop()


@pytest.fixture
async def slack(
    fake: FakeSlack, database: Database, clock: ManualClock
) -> AsyncIterator[SlackChat]:
    adapter = SlackAdapter(slack_settings(fake), Engine(database, clock), host="127.0.0.1", port=0)
    await adapter.start()
    chat = SlackChat(fake, adapter, database, clock)
    yield chat
    await chat.close()
    await adapter.stop()
