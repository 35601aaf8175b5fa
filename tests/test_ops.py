"""The operator's window, over real HTTP on a free port: /healthz says whether the
database answers and the platforms are connected; /metrics counts commands, deliveries
and failures by kind, the outbox by status, and dispatch passes."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import func, select

from adapters.ops import Metrics, OpsServer, OpsStartError
from adapters.slack.app import SlackAdapter, SlackStartError
from bot.clock import ManualClock
from bot.delivery import DeliveryFailure, FailureScope
from bot.engine import Engine
from bot.events import CommandInvoked
from bot.refs import Platform
from bot.settings import Settings
from bot.storage.database import Database, sqlite_url
from bot.storage.models import OutboxMessage
from scheduler.app import BotScheduler
from scheduler.delivery_worker import DeliveryWorker
from tests.conftest import START
from tests.conversation import Chat, pair_up
from tests.discord.chat import running_bot
from tests.discord.fake_discord import FakeDiscord
from tests.slack.fake_slack import BOT_TOKEN, FakeSlack, Person
from tests.slack.slack_chat import SECRET, win_over_http

DMS_CLOSED = DeliveryFailure("cannot_dm_user", permanent=True, scope=FailureScope.RECIPIENT)
SLOW_DOWN = DeliveryFailure("rate limited", permanent=False, retry_after=timedelta(seconds=30))


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again when the probe is


async def _get(port: int, path: str) -> tuple[int, str, str]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}{path}") as response,
    ):
        return response.status, response.headers.get("Content-Type", ""), await response.text()


async def _health(port: int) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/healthz") as response,
    ):
        return response.status, await response.json()


async def _samples(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    status, content_type, body = await _get(port, "/metrics")
    assert status == 200
    assert content_type.startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def _value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
async def ops(database: Database) -> AsyncIterator[OpsServer]:
    server = OpsServer(database, Metrics(), host="127.0.0.1", port=0)
    await server.start()
    yield server
    await server.stop()


async def test_healthz_is_ok_when_the_database_answers(ops: OpsServer) -> None:
    assert ops.port is not None
    assert await _health(ops.port) == (200, {"status": "ok", "database": "ok"})


async def test_a_taken_port_is_told_in_plain_words(ops: OpsServer, database: Database) -> None:
    """The ops server and Slack's own HTTP server say which address they could not
    listen on, with their own start-up error, instead of an OSError's traceback."""
    assert ops.port is not None
    second = OpsServer(database, Metrics(), host="127.0.0.1", port=ops.port)
    with pytest.raises(OpsStartError, match=rf"cannot listen on 127\.0\.0\.1:{ops.port} \("):
        await second.start()
    fake = FakeSlack(users={})
    await fake.start()
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token=SecretStr(BOT_TOKEN),
        slack_signing_secret=SecretStr(SECRET),
        slack_api_url=fake.api_url,
    )
    slack = SlackAdapter(
        settings, Engine(database, ManualClock(START)), host="127.0.0.1", port=ops.port
    )
    try:
        with pytest.raises(SlackStartError, match=rf"cannot listen on 127\.0\.0\.1:{ops.port} \("):
            await slack.start()
    finally:
        await slack.stop(grace_seconds=0)
        await fake.stop()


@pytest.mark.parametrize("where", ["postgresql", "sqlite"])
async def test_healthz_is_503_when_the_database_does_not_answer(where: str, tmp_path: Path) -> None:
    url = (
        f"postgresql://postgres:postgres@127.0.0.1:{_closed_port()}/mentorbot"
        if where == "postgresql"
        else sqlite_url(tmp_path / "no such folder" / "bot.db")
    )
    database = Database(url)
    server = OpsServer(database, Metrics(), host="127.0.0.1", port=0)
    threads_before = set(threading.enumerate())
    await server.start()
    try:
        assert server.port is not None
        status, report = await _health(server.port)
        assert (status, report) == (503, {"status": "unhealthy", "database": "unreachable"})
        # Metrics still answer; the outbox depth, which needs the database, is left out.
        samples = await _samples(server.port)
        assert not any(name == "mentorbot_outbox_depth" for name, _ in samples)
    finally:
        await server.stop()
        await database.dispose()
        await _sqlite_threads_done(threads_before)


async def _sqlite_threads_done(before: set[threading.Thread], seconds: float = 5.0) -> None:
    """Wait, with the test's loop still running, for the aiosqlite threads started since
    ``before`` to end. A connection that failed to open is stopped without being awaited
    (aiosqlite's ``_connect``): under load its thread may answer after the test's loop
    has closed, and the warning it raises lands on whichever test runs next."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        started = set(threading.enumerate()) - before
        if not any(t.name.endswith("(_connection_worker_thread)") for t in started):
            return
        await asyncio.sleep(0.01)


async def test_metrics_count_commands_deliveries_failures_and_the_outbox(
    chat: Chat, database: Database, clock: ManualClock, ops: OpsServer
) -> None:
    assert ops.port is not None
    metrics = ops.metrics
    chat.engine = Engine(database, clock, admin_user_ids={"alice"}, telemetry=metrics)
    await pair_up(chat, "alice", "bob")  # one /mentor pair; the click is not a command
    worker = DeliveryWorker(database, {Platform.CONSOLE: chat.recorder}, clock, telemetry=metrics)

    async def win(text: str) -> None:
        await chat.engine.handle(CommandInvoked(user=chat.ref("alice"), command="win", text=text))

    await win("shipped the canary-win-text release")
    await chat.engine.handle(
        CommandInvoked(user=chat.ref("bob"), command="mentor", text="Milestones list")
    )
    await chat.engine.handle(
        CommandInvoked(user=chat.ref("bob"), command="mentor", text="frobnicate the canary")
    )
    assert (await worker.drain()).sent >= 1  # bob hears of alice's win

    chat.recorder.fail_for["bob"] = SLOW_DOWN
    await win("second")
    assert (await worker.drain()).retried == 1
    chat.recorder.fail_for["bob"] = DMS_CLOSED
    clock.advance(timedelta(minutes=1))
    await win("third")
    await worker.drain()  # the throttled one is refused for good; the third is not asked

    samples = await _samples(ops.port)
    handled = "mentorbot_commands_handled_total"
    assert _value(samples, handled, platform="console", command="pair") == 1
    assert _value(samples, handled, platform="console", command="win") == 3
    assert _value(samples, handled, platform="console", command="milestone") == 1
    assert _value(samples, handled, platform="console", command="unknown") == 1
    commands = {dict(labels)["command"] for name, labels in samples if name == handled}
    assert commands == {"pair", "win", "milestone", "unknown"}  # never what people wrote
    delivered = _value(samples, "mentorbot_messages_delivered_total", platform="console")
    assert delivered == worker.total.sent
    failed = "mentorbot_messages_failed_total"
    assert _value(samples, failed, platform="console", reason="rate_limited") == 1
    assert _value(samples, failed, platform="console", reason="recipient_unreachable") == 1

    async with database.transaction() as session:
        rows = await session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        )
        counted = {str(status): float(count) for status, count in rows.all()}
    for status in ("pending", "sending"):
        depth = _value(samples, "mentorbot_outbox_depth", status=status)
        assert depth == counted.get(status, 0.0), status
    # History is not the queue: sent and failed rows are counted by the counters above.
    assert not any(
        dict(labels).get("status") in ("sent", "failed")
        for name, labels in samples
        if name == "mentorbot_outbox_depth"
    )
    assert counted["failed"] >= 2


async def test_dispatch_passes_are_timed(
    database: Database, clock: ManualClock, ops: OpsServer
) -> None:
    assert ops.port is not None
    worker = DeliveryWorker(database, {}, clock, telemetry=ops.metrics)
    engine = Engine(database, clock, telemetry=ops.metrics)
    scheduler = BotScheduler(
        engine, worker, interval_seconds=3600, jitter_seconds=0, telemetry=ops.metrics
    )
    scheduler.start()
    try:
        await scheduler.dispatch()
    finally:
        await scheduler.stop(grace_seconds=5)
    samples = await _samples(ops.port)
    assert _value(samples, "mentorbot_dispatch_pass_seconds_count") >= 1
    assert _value(samples, "mentorbot_dispatch_pass_seconds_bucket", le="+Inf") >= 1


async def test_slack_events_health_and_metrics_share_one_port(
    database: Database, clock: ManualClock
) -> None:
    fake = FakeSlack(users={"U0ALICE": Person("Alice", "Europe/Berlin")})
    await fake.start()
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token=SecretStr(BOT_TOKEN),
        slack_signing_secret=SecretStr(SECRET),
        slack_api_url=fake.api_url,
    )
    metrics = Metrics()
    server = OpsServer(database, metrics, host="127.0.0.1", port=0)
    slack = SlackAdapter(settings, Engine(database, clock, telemetry=metrics), server=server.app)
    server.watch("slack", slack)
    try:
        assert not slack.connected
        await slack.start()
        await server.start()
        assert server.port is not None
        assert await _health(server.port) == (
            200,
            {"status": "ok", "database": "ok", "slack": "connected"},
        )
        events = f"http://127.0.0.1:{server.port}/slack/events"
        answer = await win_over_http(events, fake.response_url(), "one port for everything")
        assert "Saved to your journal" in answer
        samples = await _samples(server.port)
        assert (
            _value(samples, "mentorbot_commands_handled_total", platform="slack", command="win")
            == 1
        )

        # Stopping: the platform first shows as disconnected, then nothing answers.
        await slack.stop(grace_seconds=2)
        assert await _health(server.port) == (
            503,
            {"status": "unhealthy", "database": "ok", "slack": "disconnected"},
        )
        port = server.port
        await server.stop()
        with pytest.raises(aiohttp.ClientConnectionError):
            await _health(port)
    finally:
        await slack.stop(grace_seconds=0)
        await server.stop()
        await fake.stop()


async def test_discord_health_follows_the_gateway(database: Database, clock: ManualClock) -> None:
    fake = FakeDiscord()
    await fake.start()
    server = OpsServer(database, Metrics(), host="127.0.0.1", port=0)
    await server.start()
    try:
        assert server.port is not None
        async with running_bot(fake, database, clock) as bot:
            server.watch("discord", bot.adapter)
            status, report = await _health(server.port)
            assert (status, report["discord"]) == (200, "connected")
        status, report = await _health(server.port)
        assert (status, report["discord"]) == (503, "disconnected")
    finally:
        await server.stop()
        await fake.close()
