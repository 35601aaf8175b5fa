"""A Slack message whose ``sent`` mark was never written (the process died, or the
database stopped answering, right after Slack took it) is looked for in the DM before it
is sent again: each post carries its outbox id in the message metadata."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select

from adapters.ops import Metrics
from adapters.slack.sender import OUTBOX_EVENT, SlackSender, outbox_id_of
from bot.clock import ManualClock
from bot.content import Content
from bot.delivery import deliver_outbox
from bot.effects import SendDM
from bot.refs import Platform, UserRef
from bot.storage.database import Database
from bot.storage.models import OutboxMessage, OutboxStatus, OutboxTarget, Workspace
from scheduler.delivery_worker import DeliveryWorker
from tests.slack.fake_slack import BOT_TOKEN, TEAM, FakeSlack


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    await fake.start()
    yield fake
    await fake.stop()


async def _left_sending(database: Database, clock: ManualClock, targets: list[str]) -> list[int]:
    """Messages claimed by an attempt that never recorded its outcome; the lease is over."""
    now = clock.now()
    async with database.transaction() as session:
        workspace = Workspace(platform="slack", external_id=TEAM, created_at=now)
        session.add(workspace)
        await session.flush()
        rows = [
            OutboxMessage(
                workspace_id=workspace.id,
                target_kind=(OutboxTarget.CHANNEL if target.startswith("C") else OutboxTarget.DM),
                target_id=target,
                content=Content(f"news for {target}").to_json(),
                status=OutboxStatus.SENDING.value,
                attempts=1,
                next_attempt_at=now - timedelta(seconds=1),
                created_at=now - timedelta(minutes=6),
            )
            for target in targets
        ]
        session.add_all(rows)
        await session.flush()
        return [row.id for row in rows]


async def test_a_dm_slack_already_has_is_not_sent_again(
    database: Database, clock: ManualClock, slack: FakeSlack
) -> None:
    sender = SlackSender(AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url))
    delivered, lost, channel = await _left_sending(database, clock, ["U0BOB", "U0CAROL", "C0NEWS"])
    # The first attempt reached Slack for bob, and never reached it for carol.
    await sender.perform(SendDM(UserRef(Platform.SLACK, TEAM, "U0BOB"), Content("x"), delivered))

    report = await deliver_outbox(database, {Platform.SLACK: sender}, clock)

    assert len(slack.posts_to("U0BOB")) == 1  # found in the DM's history, not sent again
    assert len(slack.posts_to("U0CAROL")) == 1  # looked for, not there: sent
    assert len(slack.posts_to("C0NEWS")) == 1  # a channel cannot be read: sent, counted
    assert (report.recovered, report.unverified, report.sent) == (1, 1, 2)
    async with database.transaction() as session:
        statuses = (await session.execute(select(OutboxMessage.id, OutboxMessage.status))).all()
    assert dict(statuses) == {delivered: "sent", lost: "sent", channel: "sent"}


async def test_every_post_carries_its_outbox_id(
    database: Database, clock: ManualClock, slack: FakeSlack
) -> None:
    sender = SlackSender(AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url))
    await sender.perform(SendDM(UserRef(Platform.SLACK, TEAM, "U0BOB"), Content("hi"), 42))
    [post] = slack.posts_to("U0BOB")
    assert post["metadata"] == {"event_type": OUTBOX_EVENT, "event_payload": {"outbox_id": 42}}
    assert outbox_id_of(post) == 42
    assert outbox_id_of({"metadata": {"event_type": "other", "event_payload": {}}}) is None
    assert outbox_id_of({"metadata": {"event_type": OUTBOX_EVENT, "event_payload": "7"}}) is None


async def test_the_worker_counts_what_it_found_and_what_it_could_not_check(
    database: Database, clock: ManualClock, slack: FakeSlack
) -> None:
    sender = SlackSender(AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url))
    delivered, _ = await _left_sending(database, clock, ["U0BOB", "C0NEWS"])
    await sender.perform(SendDM(UserRef(Platform.SLACK, TEAM, "U0BOB"), Content("x"), delivered))
    metrics = Metrics()
    worker = DeliveryWorker(database, {Platform.SLACK: sender}, clock, telemetry=metrics)
    await worker.drain()
    found = {
        sample.labels["outcome"]: sample.value
        for family in text_string_to_metric_families(generate_latest(metrics.registry).decode())
        for sample in family.samples
        if sample.name == "mentorbot_messages_resent_total"
    }
    assert found == {"found": 1.0, "unchecked": 1.0}
