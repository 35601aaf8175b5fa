"""Starting: a refused token or a missing secret stops the adapter with a clear message
that never contains the token."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from adapters.slack.app import SlackAdapter, SlackStartError
from bot.clock import ManualClock
from bot.engine import Engine
from bot.settings import Settings
from bot.storage.database import Database
from tests.slack.conftest import slack_settings
from tests.slack.fake_slack import FakeSlack


async def test_a_wrong_token_stops_the_start_with_a_clear_message(
    fake: FakeSlack, database: Database, clock: ManualClock
) -> None:
    settings = slack_settings(fake).model_copy(
        update={"slack_bot_token": SecretStr("xoxb-wrong-secret-value")}
    )
    adapter = SlackAdapter(settings, Engine(database, clock), host="127.0.0.1", port=0)

    with pytest.raises(SlackStartError) as refused:
        await adapter.start()

    assert "Slack refused SLACK_BOT_TOKEN (invalid_auth)" in str(refused.value)
    assert "wrong-secret-value" not in str(refused.value)
    assert adapter.port is None


async def test_slack_out_of_reach_stops_the_start(database: Database, clock: ManualClock) -> None:
    settings = Settings(
        slack_bot_token=SecretStr("xoxb-x"),
        slack_signing_secret=SecretStr("s"),
        slack_app_token=None,
        slack_api_url="http://127.0.0.1:9/api/",  # the discard port: nothing listens
    )
    adapter = SlackAdapter(settings, Engine(database, clock), host="127.0.0.1", port=0)
    with pytest.raises(SlackStartError, match="could not reach Slack"):
        await adapter.start()


def test_http_mode_needs_the_signing_secret(database: Database, clock: ManualClock) -> None:
    settings = Settings(
        slack_bot_token=SecretStr("xoxb-x"),
        slack_signing_secret=None,
        slack_app_token=None,
    )
    with pytest.raises(SlackStartError, match="SLACK_SIGNING_SECRET"):
        SlackAdapter(settings, Engine(database, clock))
