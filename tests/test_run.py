"""`mentorbot run`: the real process, Slack over HTTP against a local fake Slack, the
scheduler and the delivery worker; SIGTERM stops it cleanly and quickly."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select, text

from adapters import cli
from bot.clock import ManualClock
from bot.content import Content
from bot.engine import Engine
from bot.storage.database import Database
from bot.storage.models import OutboxMessage, OutboxTarget, Workspace
from tests.slack.fake_slack import BOT_TOKEN, TEAM, FakeSlack, Person
from tests.slack.slack_chat import SECRET, trigger_id, win_over_http
from tests.test_console import MENTORBOT, _env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _wait_for_port(port: int, process: asyncio.subprocess.Process) -> None:
    for _ in range(200):
        if process.returncode is not None:
            raise AssertionError("mentorbot run exited early")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return
    raise AssertionError("mentorbot run never listened")


async def test_run_serves_slack_and_stops_on_sigterm(tmp_path: Path) -> None:
    fake = FakeSlack(users={"U0ALICE": Person("Alice", "Europe/Berlin", is_admin=True)})
    await fake.start()
    port = _free_port()
    env = {
        **_env(),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.api_url,
        "PORT": str(port),
        "DISPATCH_INTERVAL_SECONDS": "1",
        "LOG_LEVEL": "DEBUG",
    }
    # Files, not pipes: DEBUG logs would fill an unread pipe and block the process.
    out_path, err_path = tmp_path / "out.txt", tmp_path / "err.txt"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        process = await asyncio.create_subprocess_exec(
            *MENTORBOT, "run", cwd=tmp_path, env=env, stdout=out, stderr=err
        )
    try:
        await _wait_for_port(port, process)
        events = f"http://127.0.0.1:{port}/slack/events"
        answer = await win_over_http(
            events, fake.response_url(), "shipped the runner 🚀", team_id="T0TEAM"
        )
        assert "Saved to your journal" in answer
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 15)
        assert time.monotonic() - started < 10
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await fake.stop()
    output = out_path.read_text() + err_path.read_text()
    assert process.returncode == 0, output[-2000:]
    assert "Traceback" not in output, output[output.find("Traceback") - 500 :][:3000]
    # Secrets never reach the logs, even at DEBUG.
    assert BOT_TOKEN not in output and SECRET not in output
    assert "auth.test" in [call.method for call in fake.calls]
    assert (tmp_path / "bot.db").stat().st_size > 0


def _slack_env(database: Database, fake: FakeSlack, port: int, **more: str) -> dict[str, str]:
    """``mentorbot run``'s settings for Slack over HTTP on ``port``, against ``fake``."""
    return {
        **_env(),
        "DATABASE_URL": database.url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.api_url,
        "PORT": str(port),
        **more,
    }


async def _start_run(
    tmp_path: Path, env: dict[str, str], name: str
) -> tuple[asyncio.subprocess.Process, Path]:
    """``mentorbot run`` with its output in a file (a pipe nobody reads would block it)."""
    log_path = tmp_path / f"{name}.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *MENTORBOT, "run", cwd=tmp_path, env=env, stdout=log, stderr=log
        )
    return process, log_path


@contextlib.asynccontextmanager
async def _serving(
    tmp_path: Path, env: dict[str, str], name: str, port: int
) -> AsyncIterator[Path]:
    """``mentorbot run`` listening on ``port`` for the block (its log given), then sent
    SIGTERM, which it must obey within 10 s, exiting 0."""
    process, log = await _start_run(tmp_path, env, name)
    try:
        await _wait_for_port(port, process)
        yield log
        assert await _terminate(process) < 10
    finally:
        await _kill(process)
    assert process.returncode == 0, _tail(log)


async def _terminate(process: asyncio.subprocess.Process) -> float:
    """SIGTERM; how long the process took to exit."""
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    await asyncio.wait_for(process.wait(), 15)
    return time.monotonic() - started


async def _kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.kill()
        await process.wait()


async def test_health_metrics_and_slack_events_share_port(tmp_path: Path) -> None:
    fake = FakeSlack(users={"U0ALICE": Person("Alice", "Europe/Berlin")})
    await fake.start()
    port = _free_port()
    env = {
        **_env(),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.api_url,
        "PORT": str(port),
        "LOG_FORMAT": "json",
    }
    process, log_path = await _start_run(tmp_path, env, "run")
    try:
        await _wait_for_port(port, process)
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz") as response:
                assert response.status == 200
                assert await response.json() == {
                    "status": "ok",
                    "database": "ok",
                    "slack": "connected",
                }
            answer = await win_over_http(f"{base}/slack/events", fake.response_url(), "one port")
            assert "Saved to your journal" in answer
            async with http.get(f"{base}/metrics") as response:
                assert response.status == 200
                metrics = await response.text()
        handled = {
            (sample.labels["platform"], sample.labels["command"]): sample.value
            for family in text_string_to_metric_families(metrics)
            for sample in family.samples
            if sample.name == "mentorbot_commands_handled_total"
        }
        assert handled == {("slack", "win"): 1.0}
        assert await _terminate(process) < 10
    finally:
        await _kill(process)
        await fake.stop()
    output = log_path.read_text()
    assert process.returncode == 0, output[-2000:]
    for line in output.splitlines():
        if line.startswith("{"):
            assert {"time", "level", "logger", "message"} <= set(json.loads(line))


@dataclass
class SlowSlack(FakeSlack):
    """Takes a while over every chat.postMessage, like a platform under load."""

    delay: float = 0.02

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["method"] == "chat.postMessage":
            await asyncio.sleep(self.delay)
        return await super()._api(request)


QUEUED = 60


def _tail(log: Path) -> str:
    return log.read_text()[-3000:]


async def _queue_messages(database: Database) -> None:
    now = datetime.now(UTC)
    async with database.transaction() as session:
        workspace = Workspace(platform="slack", external_id=TEAM, created_at=now)
        session.add(workspace)
        await session.flush()
        session.add_all(
            OutboxMessage(
                workspace_id=workspace.id,
                target_kind=OutboxTarget.DM.value,
                target_id=f"U{n:04d}",
                content=Content(f"queued message {n}").to_json(),
                next_attempt_at=now,
                created_at=now,
            )
            for n in range(QUEUED)
        )


async def _statuses(database: Database) -> dict[str, int]:
    async with database.transaction() as session:
        rows = await session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        )
        return {str(status): int(count) for status, count in rows.all()}


async def test_sigterm_during_delivery_loses_nothing(tmp_path: Path, database: Database) -> None:
    await _queue_messages(database)
    fake = SlowSlack()
    await fake.start()
    port = _free_port()
    env = _slack_env(database, fake, port, SLACK_MESSAGES_PER_SECOND="1000")

    def delivered() -> list[str]:
        return [text for n in range(QUEUED) for text in fake.texts_to(f"U{n:04d}")]

    async def until(count: int, process: asyncio.subprocess.Process, log: Path) -> None:
        for _ in range(600):
            if len(delivered()) >= count:
                return
            if process.returncode is not None:
                raise AssertionError(f"mentorbot run exited early:\n{_tail(log)}")
            await asyncio.sleep(0.05)

    try:
        first, first_log = await _start_run(tmp_path, env, "first")
        try:
            await until(10, first, first_log)
            assert len(delivered()) < QUEUED  # still delivering when the signal comes
            assert await _terminate(first) < 10
        finally:
            await _kill(first)
        assert first.returncode == 0, first_log.read_text()[-2000:]
        # Whatever Slack accepted is recorded as sent; the rest waits, not half-claimed.
        statuses = await _statuses(database)
        assert statuses.get("sent", 0) == len(delivered())
        assert statuses.get("pending", 0) == QUEUED - len(delivered()) > 0
        assert set(statuses) <= {"sent", "pending"}
        # Every request the first run made was one Slack accepted and we recorded.
        assert len(fake.called("chat.postMessage")) == statuses["sent"]

        second, second_log = await _start_run(tmp_path, env, "second")
        try:
            await until(QUEUED, second, second_log)
            assert await _terminate(second) < 10
        finally:
            await _kill(second)
        assert second.returncode == 0, second_log.read_text()[-2000:]
    finally:
        await fake.stop()
    assert sorted(delivered()) == sorted(f"queued message {n}" for n in range(QUEUED))
    assert await _statuses(database) == {"sent": QUEUED}


async def test_run_opens_its_whole_pool_as_it_starts(tmp_path: Path, database: Database) -> None:
    """On PostgreSQL, ``mentorbot run`` opens all ``DB_POOL_SIZE`` connections before it
    takes requests, not late in a long run (bench/README.md, issue 16, goal 4)."""
    if database.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite has one connection")
    fake = FakeSlack(users={})
    await fake.start()
    port = _free_port()
    env = _slack_env(database, fake, port, DB_POOL_SIZE="4")
    others = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    try:
        async with database.transaction() as session:
            before = await session.scalar(others)
        async with _serving(tmp_path, env, "run", port), database.transaction() as session:
            opened = await session.scalar(others)
    finally:
        await fake.stop()
    # Its four, whatever else it holds (nothing else runs on the database meanwhile).
    assert opened is not None and before is not None and opened - before >= 4


async def test_run_remembers_who_shared_the_latest_wins_as_it_starts(
    tmp_path: Path, database: Database
) -> None:
    """On PostgreSQL, a ``mentorbot run`` that starts again reads who shared the latest
    wins before it takes requests, so their first /win after the restart can be one
    statement (tests/test_wins_at_once.py shows it is)."""
    if database.is_sqlite:
        pytest.skip("PostgreSQL only: on SQLite every /win goes the usual way")
    fake = FakeSlack(users={"U0ALICE": Person("Alice", "Europe/Berlin")})
    await fake.start()
    port = _free_port()
    env = _slack_env(database, fake, port)
    logs = []
    try:
        events = f"http://127.0.0.1:{port}/slack/events"
        for number, text in enumerate(("before the restart", "after it"), start=1):
            async with _serving(tmp_path, env, f"run-{number}", port) as log:
                logs.append(log)
                answer = await win_over_http(
                    events, fake.response_url(), text, trigger=trigger_id()
                )
                assert f"Saved to your journal (win #{number})" in answer
    finally:
        await fake.stop()
    first, second = (log.read_text() for log in logs)
    assert "remembered who shared the latest wins" not in first  # none had, yet
    assert "remembered who shared the latest wins (1)" in second, second[-2000:]


async def test_a_start_that_cannot_read_who_shared_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A start whose read of who shared the latest wins fails (here: nothing listens on
    the server's port) logs the kind of failure, and no password, and goes on: each
    one's first /win then goes the usual way."""
    port = _free_port()  # nothing listens there
    database = Database(f"postgresql+asyncpg://mentorbot:secret-word@127.0.0.1:{port}/mentorbot")
    engine = Engine(database, ManualClock(datetime(2026, 11, 25, 12, tzinfo=UTC)))
    try:
        with caplog.at_level(logging.INFO):
            await cli._remember_sharers(engine)
    finally:
        await database.dispose()
    assert "could not read who shared wins lately (DatabaseUnavailable)" in caplog.text
    assert "remembered" not in caplog.text
    assert "secret-word" not in caplog.text
