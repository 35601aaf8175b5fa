"""Socket Mode: the same Bolt app, reached through a local websocket standing in for
Slack's (``apps.connections.open`` on the fake returns its ``ws://`` URL)."""

from __future__ import annotations

from adapters.slack.app import SlackAdapter
from bot.clock import ManualClock
from bot.delivery import deliver_all
from bot.engine import Engine
from bot.refs import Platform
from bot.storage.database import Database
from tests.slack.conftest import ALICE, BOB, slack_settings
from tests.slack.fake_slack import FakeSlack
from tests.slack.slack_chat import SlackChat


async def test_a_win_through_socket_mode(
    fake: FakeSlack, database: Database, clock: ManualClock
) -> None:
    adapter = SlackAdapter(slack_settings(fake, socket_mode=True), Engine(database, clock))
    await adapter.start()
    forms = SlackChat(fake, adapter, database, clock)
    try:
        assert fake.called("apps.connections.open")
        assert adapter.port is None  # no HTTP server in Socket Mode

        proposed = await fake.envelope(
            "slash_commands", forms.command_form(ALICE, f"/mentor pair <@{ALICE}> <@{BOB}>")
        )
        assert proposed["payload"]["text"].startswith("I asked <@U0BOB>")
        await deliver_all(database, {Platform.SLACK: adapter.sender}, clock)
        clicked = await fake.envelope("interactive", forms.click_payload(BOB, "Accept"))
        assert clicked == {"envelope_id": clicked["envelope_id"]}
        await adapter.drain()

        ack = await fake.envelope("slash_commands", forms.command_form(ALICE, "/win over a socket"))

        # With the "First win" milestone alice reached: one message to her.
        assert ack["payload"]["text"].startswith(
            f"Saved to your journal (win #1) and shared with <@{BOB}>. 🎉\n\n"
            f"🎉 You reached a milestone: *First win*! I told <@{BOB}> too."
        )
        assert ack["payload"]["response_type"] == "ephemeral"
        await deliver_all(database, {Platform.SLACK: adapter.sender}, clock)
        assert fake.texts_to(BOB)[-1].startswith(f"<@{ALICE}> shared a win: over a socket\n\n")
    finally:
        await forms.close()
        await adapter.stop()
