"""`mentorbot run` (Slack over HTTP, against the local fake Slack) with PostgreSQL behind
a proxy that partitions it: /healthz tells the truth, people are answered within Slack's
window, SIGTERM stops the process within 10 s, and after the partition heals every DM is
delivered once (a DM Slack took while its ``sent`` mark could not be written is found in
the DM's history, not sent again)."""

from __future__ import annotations

import asyncio
import io
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy import func, select, text, update

from bot.engine import NOT_SAVED
from bot.pairs_import import import_pairs
from bot.storage.database import Database
from bot.storage.models import OutboxMessage, OutboxStatus
from tests.faults.conftest import PASS_CUT_OFF, behind
from tests.faults.proxy import FaultProxy
from tests.slack.fake_slack import BOT_TOKEN, TEAM, FakeSlack, Person
from tests.slack.slack_chat import SECRET, sign, signed_win
from tests.test_console import _env
from tests.test_run import _free_port, _kill, _start_run, _terminate, _wait_for_port

ALICE, BOB = "U0ALICE", "U0BOB"
# Slack's limit for acknowledging a slash command.
ACK_SECONDS = 3.0
PAIRS = (
    f"platform,workspace_id,mentor_id,mentee_id,cadence,weekday,time,timezone\n"
    f"slack,{TEAM},{BOB},{ALICE},weekly,thu,09:30,UTC\n"
)


def _signed_win(response_url: str, words: str) -> tuple[str, dict[str, str]]:
    """signed_win with a trigger id of its own (Slack's are unique per command, and the
    bot takes a repeated one for a retried delivery)."""
    body, _ = signed_win(response_url, words)
    body = body.replace("trigger_id=1.2.trigger", f"trigger_id={uuid.uuid4().hex}")
    stamp = int(time.time())
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(stamp),
        "X-Slack-Signature": sign(body, stamp),
    }
    return body, headers


@dataclass
class PartitioningSlack(FakeSlack):
    """Cuts the bot off its database right after taking a chat.postMessage, when armed:
    Slack has the message, and the bot cannot write that it does."""

    proxy: FaultProxy | None = None
    armed: bool = False

    async def _api(self, request: web.Request) -> web.Response:
        response = await super()._api(request)
        if self.armed and request.match_info["method"] == "chat.postMessage":
            self.armed = False
            assert self.proxy is not None
            self.proxy.pause()
        return response


async def _eventually(check: Callable[[], Awaitable[bool]], what: str, seconds: float = 20) -> None:
    for _ in range(int(seconds / 0.1)):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"never: {what}")


async def test_run_behind_a_partition(postgres_url: str, proxy: FaultProxy, tmp_path: Path) -> None:
    direct = Database(postgres_url)
    await import_pairs(direct, io.StringIO(PAIRS), datetime.now(UTC))
    fake = PartitioningSlack(users={ALICE: Person("Alice"), BOB: Person("Bob")}, proxy=proxy)
    await fake.start()
    port = _free_port()
    env = {
        **_env(),
        "DATABASE_URL": behind(postgres_url, proxy),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.api_url,
        "PORT": str(port),
        "DISPATCH_INTERVAL_SECONDS": "1",
        "DB_CONNECT_TIMEOUT_SECONDS": "1",
        "DB_STATEMENT_TIMEOUT_SECONDS": "2",
        "DB_POOL_TIMEOUT_SECONDS": "2",
        "DB_TRANSACTION_TIMEOUT_SECONDS": "3",
    }
    base = f"http://127.0.0.1:{port}"
    process, log_path = await _start_run(tmp_path, env, "run")
    http = aiohttp.ClientSession()

    async def health() -> int:
        async with http.get(f"{base}/healthz", timeout=aiohttp.ClientTimeout(5)) as response:
            return response.status

    async def win(words: str) -> str:
        """A signed /win from alice; Slack gives up on the ack after 3 s."""
        body, headers = _signed_win(fake.response_url(), words)
        async with http.post(
            f"{base}/slack/events",
            data=body,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=ACK_SECONDS),
        ) as response:
            assert response.status == 200
            return await response.text()

    def told_bob(words: str) -> int:
        return sum(words in t for t in fake.texts_to(BOB))

    def passes_cut_off() -> int:
        """Delivery passes that gave up on the database, as the log says."""
        return log_path.read_text().count(PASS_CUT_OFF)

    async def all_sent() -> bool:
        async with direct.transaction() as session:
            waiting = await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status != OutboxStatus.SENT.value)
            )
        return waiting == 0

    try:
        await _wait_for_port(port, process)
        assert await health() == 200
        assert "Saved to your journal (win #1)" in await win("before")

        async def bob_has(words: str) -> bool:
            return told_bob(words) > 0

        await _eventually(lambda: bob_has("before"), "bob is told of the first win")
        await _eventually(all_sent, "bob's DM is marked sent")

        # The partition: connections stay open, nothing answers.
        proxy.pause()

        async def unhealthy() -> bool:
            return await health() == 503

        await _eventually(unhealthy, "/healthz says the database is down")
        # Acked within Slack's window: with the answer, or "one moment" and the answer
        # through the response_url.
        acked = await win("during")

        async def told_not_saved() -> bool:
            answers = [acked] + [str(r.get("text")) for r in fake.responses()]
            return any(NOT_SAVED in answer for answer in answers)

        await _eventually(told_not_saved, "alice is told her win was not saved", 15)

        proxy.resume()

        async def healthy() -> bool:
            return await health() == 200

        await _eventually(healthy, "/healthz is ok again")
        assert "(win #2)" in await win("after")
        await _eventually(lambda: bob_has("after"), "bob is told of the win after")
        await _eventually(all_sent, "bob's DM is marked sent")

        # Slack takes bob's DM, then the database is cut off before it is marked sent.
        cut_off_before = passes_cut_off()
        fake.armed = True
        assert "(win #3)" in await win("taken")
        await _eventually(lambda: bob_has("taken"), "Slack has bob's DM")

        async def mark_timed_out() -> bool:
            return passes_cut_off() > cut_off_before

        await _eventually(mark_timed_out, "the sent mark times out (3 s)")
        # The connections are reset before the partition heals. Otherwise the held mark
        # (one statement, without BEGIN or COMMIT, sent whole when it was prepared on
        # that connection before) reaches PostgreSQL once the bytes flow again and
        # records the DM as sent: right too, but then the look in Slack's history is
        # not tried (with DB_POOL_SIZE=1 that happens every time).
        proxy.drop()
        proxy.resume()
        async with direct.transaction() as session:  # the 5-minute lease runs out
            taken = list(
                (
                    await session.execute(
                        update(OutboxMessage)
                        .where(OutboxMessage.status == OutboxStatus.SENDING.value)
                        .values(next_attempt_at=datetime.now(UTC))
                        .returning(OutboxMessage.id)
                    )
                ).scalars()
            )
        assert len(taken) == 1  # Slack has it; our record says "sending"

        await _eventually(all_sent, "every DM is marked sent")
        assert [told_bob(w) for w in ("before", "during", "after", "taken")] == [1, 0, 1, 1]

        # SIGTERM in the middle of a partition still stops the process within 10 s.
        proxy.pause()
        await asyncio.sleep(0.5)
        assert await _terminate(process) < 10
    finally:
        proxy.resume()
        await http.close()
        await _kill(process)
        await fake.stop()
        async with direct.transaction() as session:
            await session.execute(text("SELECT 1"))
        await direct.dispose()
    output = log_path.read_text()
    assert process.returncode == 0, output[-3000:]
    assert "Traceback" not in output, output[output.find("Traceback") - 300 :][:3000]
