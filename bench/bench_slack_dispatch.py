"""Benchmark: CPU per request of the Slack adapter's Bolt app itself, without HTTP and
without a database, against a bare Bolt app (the floor), in one process.

Run by hand (``python -m bench.bench_slack_dispatch --help``); the numbers live in
bench/README.md (section ``bench_slack_run``). Benchmarks are never timed inside the
tests.

Both apps get the same signed ``/win`` as an ``AsyncBoltRequest`` straight into
``AsyncApp.async_dispatch`` (signature check, Bolt's middleware, the listener, the ack):

- **floor**: a bare ``AsyncApp`` (``process_before_response=True``) whose listener only
  acks;
- **adapter**: the ``SlackAdapter``'s app, with an Engine that answers at once (no
  database): what the adapter adds to Bolt (translate, the profile cache, the task and
  its ack budget, rendering the answer).

They take turns in ``--rounds`` rounds of ``--requests`` requests; the process's CPU time
per request is reported (medians over the rounds).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from pydantic import SecretStr
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.app import ARRIVED, SlackAdapter
from bench.bench_slack import SECRET, sign
from bot.clock import ManualClock
from bot.content import Content
from bot.effects import Effect, ReplyEphemeral
from bot.engine import Engine
from bot.events import Event, WorkspaceAdded, WorkspaceRemoved
from bot.settings import Settings
from bot.storage.database import Database
from tests.slack.fake_slack import BOT_TOKEN, TEAM, FakeSlack, Person
from tests.slack.slack_chat import fixture

ANSWER = Content("Saved to your journal (win #3) and shared with <@UE000001>. 🎉")


class AnsweringEngine(Engine):
    """Answers a ``/win`` at once, without a database: the bench measures the adapter."""

    async def handle(self, event: Event) -> list[Effect]:
        return [ReplyEphemeral(event.user, ANSWER)]

    async def workspace_changed(self, event: WorkspaceAdded | WorkspaceRemoved) -> None:
        return None


def requests(count: int) -> list[AsyncBoltRequest]:
    made = []
    stamp = int(time.time())
    for i in range(count):
        form = fixture("slash_command") | {
            "team_id": TEAM,
            "user_id": "UM000001",
            "command": "/win",
            "text": f"shipped the login page {i}",
            "trigger_id": f"{i}.{i}",
        }
        body = urlencode(form)
        headers: dict[str, str | Sequence[str]] = {
            "content-type": ["application/x-www-form-urlencoded"],
            "x-slack-request-timestamp": [str(stamp)],
            "x-slack-signature": [sign(body, stamp)],
        }
        made.append(AsyncBoltRequest(body=body, headers=headers))
    return made


async def cpu_per_request(app: AsyncApp, count: int) -> float:
    batch = requests(count)
    loop = asyncio.get_running_loop()
    started = time.process_time()
    for request in batch:
        request.context[ARRIVED] = loop.time()
        response = await app.async_dispatch(request)
        if response.status != 200:
            raise RuntimeError(f"answered {response.status}: {response.body!r}")
    return (time.process_time() - started) * 1e6 / count


async def run(args: argparse.Namespace) -> dict[str, Any]:
    fake = FakeSlack(everyone=Person("Someone", "Europe/Berlin"))
    await fake.start()
    settings = Settings(
        slack_bot_token=SecretStr(BOT_TOKEN),
        slack_signing_secret=SecretStr(SECRET),
        slack_app_token=None,
        slack_api_url=fake.api_url,
    )
    # Never used: the engine answers without it.
    database = Database("sqlite+aiosqlite:///:memory:")
    adapter = SlackAdapter(
        settings,
        AnsweringEngine(database, ManualClock(datetime.now(UTC))),
        host="127.0.0.1",
        port=0,
    )
    await adapter.start()
    floor = AsyncApp(
        name="floor",
        client=AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url),
        signing_secret=SECRET,
        process_before_response=True,
    )

    async def only_ack(ack: AsyncAck) -> None:
        await ack()

    floor.command("/win")(only_ack)
    apps = {"floor": floor, "adapter": adapter.app}
    found: dict[str, list[float]] = {name: [] for name in apps}
    try:
        for app in apps.values():  # first contact, auth.test: then cached
            await cpu_per_request(app, 10)
        for _ in range(args.rounds):
            for name, app in apps.items():
                found[name].append(await cpu_per_request(app, args.requests))
    finally:
        await adapter.stop()
        await database.dispose()
        await fake.stop()
    medians = {name: statistics.median(values) for name, values in found.items()}
    return {
        "cpu_us_per_request": medians,
        "adapter_adds_us": medians["adapter"] - medians["floor"],
        "rounds": found,
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=2000, help="per app and round")
    parser.add_argument("--rounds", type=int, default=5)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    print(json.dumps(asyncio.run(run(parse_args(argv))), indent=2))


if __name__ == "__main__":
    main()
