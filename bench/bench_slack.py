"""Benchmark: signed ``/win`` requests over HTTP to the Slack adapter, against a bare
Bolt app that only acks (the floor).

Run by hand (``python -m bench.bench_slack --help``); the numbers live in
bench/README.md. Benchmarks are never timed inside the tests.

Both apps are real slack-bolt ``AsyncApp``s behind the same aiohttp route on loopback,
with the same settings (request signatures verified, ``process_before_response=True``,
the Web API pointed at the local fake Slack of ``tests/slack/fake_slack.py``):

- **mentorbot**: the ``SlackAdapter`` with the real Engine on a database holding
  ``--pairs`` active Slack pairs (created with ``bot.pairs_import.import_pairs``). Each
  ``/win`` is one Engine transaction (the win, the partner's DM in the outbox, milestones)
  and its confirmation comes back in the ack.
- **floor**: a bare ``AsyncApp`` whose ``/win`` listener only calls ``ack()``: the cost
  of HTTP, signature checking and Bolt's dispatch, under anything an app can do.
- **floor, Bolt's default mode** (for reference): the same bare app with
  ``process_before_response=False``, where Bolt polls for the ack every 10 ms.

Each request is signed just before it is sent (v0 HMAC) and timed from send to the
full response. The sequential pass (one client) gives the ack latency; the two apps take
turns in chunks so machine noise hits both alike. The concurrent pass (``--clients``
clients at once) gives requests per second. Before timing, every user who will send wins
sends one, so ``users.info`` (first contact) is cached as in a running bot.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import platform
import random
import shutil
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import asyncpg
from aiohttp import web
from pydantic import SecretStr
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from adapters.slack.app import SlackAdapter
from bench.workdir import add_postgres_url
from bot.clock import ManualClock
from bot.delivery import deliver_all
from bot.effects import ReplyEphemeral
from bot.engine import Engine
from bot.events import CommandInvoked
from bot.pairs_import import import_pairs
from bot.refs import Platform, UserRef
from bot.settings import Settings
from bot.storage.database import Database, sqlite_url
from bot.storage.models import Pair
from tests.slack.fake_slack import BOT_TOKEN, TEAM, FakeSlack, Person

SECRET = "bench-signing-secret"
START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
CHUNK = 100
# Where late answers go (set to the fake Slack's webhook once it runs).
RESPONSE_URL = "http://127.0.0.1:9/respond"
PHRASES = (
    "shipped the login page",
    "gave my first code review that got a thank-you",
    "fixed the flaky integration test",
    "asked for help early instead of staying stuck",
    "wrote the migration guide 🎉",
)


def sign(body: str, timestamp: int) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(SECRET.encode(), base, hashlib.sha256).hexdigest()


def mentor_id(i: int) -> str:
    return f"UM{i:06d}"


def mentee_id(i: int) -> str:
    return f"UE{i:06d}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def mentorbot_env(url: str, api_url: str, port: int) -> dict[str, str]:
    """The environment of a ``mentorbot run`` in Slack HTTP mode against the fake Slack
    at ``api_url``, on ``url``, listening on ``port`` (no other platform's settings)."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))},
        "DATABASE_URL": url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": api_url,
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
    }


def win_form(user: str, text: str, response_url: str = RESPONSE_URL) -> str:
    """A signed-to-be ``/win`` slash command's form body, as Slack posts it."""
    return urlencode(
        {
            "token": "x",
            "team_id": TEAM,
            "team_domain": "bench",
            "channel_id": "C0GENERAL",
            "channel_name": "general",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/win",
            "text": text,
            "api_app_id": "A0BENCH",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": f"{uuid.uuid4().int % 10**11}.{uuid.uuid4().hex[:12]}",
        }
    )


# -- the apps ------------------------------------------------------------------------------


class Served:
    """An app behind an aiohttp route on a loopback port."""

    def __init__(self, runner: web.AppRunner, url: str) -> None:
        self.runner = runner
        self.url = url

    @classmethod
    async def bolt(cls, app: AsyncApp) -> Served:
        async def events(request: web.Request) -> web.Response:
            return await to_aiohttp_response(
                await app.async_dispatch(await to_bolt_request(request))
            )

        server = web.Application()
        server.router.add_post("/slack/events", events)
        runner = web.AppRunner(server, access_log=None)
        await runner.setup()
        listening = socket.create_server(("127.0.0.1", 0), backlog=512)
        listening.setblocking(False)
        await web.SockSite(runner, listening).start()
        return cls(runner, f"http://127.0.0.1:{listening.getsockname()[1]}/slack/events")


async def floor_app(api_url: str, *, process_before_response: bool) -> Served:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=api_url, retry_handlers=[])
    app = AsyncApp(
        name="floor",
        client=client,
        signing_secret=SECRET,
        process_before_response=process_before_response,
    )

    async def only_ack(ack: AsyncAck) -> None:
        await ack()

    app.command("/win")(only_ack)
    return await Served.bolt(app)


# -- the load ------------------------------------------------------------------------------


async def send(session: aiohttp.ClientSession, url: str, user: str, text: str) -> tuple[int, str]:
    """One signed /win; returns the nanoseconds from send to the whole answer."""
    body = win_form(user, text)
    stamp = int(time.time())
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(stamp),
        "X-Slack-Signature": sign(body, stamp),
    }
    started = time.perf_counter_ns()
    async with session.post(url, data=body.encode(), headers=headers) as reply:
        answer = await reply.text()
        status = reply.status
    elapsed = time.perf_counter_ns() - started
    if status != 200:
        raise RuntimeError(f"{url} answered {status}: {answer[:200]}")
    return elapsed, answer


@dataclass
class Latency:
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def of(cls, samples_ns: list[int]) -> Latency:
        ordered = sorted(samples_ns)
        cut = statistics.quantiles(ordered, n=100, method="inclusive")
        return cls(cut[49] / 1e6, cut[89] / 1e6, cut[98] / 1e6, ordered[-1] / 1e6)


Target = Callable[[str, str], Awaitable[tuple[int, str]]]


def over_http(session: aiohttp.ClientSession, url: str) -> Target:
    async def target(user: str, text: str) -> tuple[int, str]:
        return await send(session, url, user, text)

    return target


def engine_alone(engine: Engine) -> Target:
    """The same /win straight into ``Engine.handle`` (with an event key, as the adapter
    passes one): what the adapter cannot be faster than, on top of the floor."""

    async def target(user: str, text: str) -> tuple[int, str]:
        event = CommandInvoked(
            user=UserRef(Platform.SLACK, TEAM, user),
            command="win",
            text=text,
            user_name="Someone",
            user_timezone="Europe/Berlin",
            event_key=f"slack:command:{uuid.uuid4().hex}",
        )
        started = time.perf_counter_ns()
        effects = await engine.handle(event)
        elapsed = time.perf_counter_ns() - started
        return elapsed, " ".join(e.content.text for e in effects if isinstance(e, ReplyEphemeral))

    return target


async def sequential(
    targets: dict[str, Target], users: Sequence[str], requests: int, rng: random.Random
) -> dict[str, list[int]]:
    """``requests`` /win per target, one at a time, the targets taking turns in chunks."""
    samples: dict[str, list[int]] = {name: [] for name in targets}
    for start in range(0, requests, CHUNK):
        for name, target in targets.items():
            for _ in range(min(CHUNK, requests - start)):
                elapsed, answer = await target(rng.choice(users), rng.choice(PHRASES))
                if not name.startswith("floor") and "Saved to your journal" not in answer:
                    raise RuntimeError(f"unexpected answer: {answer[:200]}")
                samples[name].append(elapsed)
    return samples


async def concurrent(
    session: aiohttp.ClientSession,
    url: str,
    users: Sequence[str],
    requests: int,
    clients: int,
    rng: random.Random,
) -> tuple[float, list[int]]:
    """``requests`` /win from ``clients`` clients at once: requests/s and latencies."""
    queue = [(rng.choice(users), rng.choice(PHRASES)) for _ in range(requests)]
    samples: list[int] = []

    async def client() -> None:
        while queue:
            user, text = queue.pop()
            elapsed, _ = await send(session, url, user, text)
            samples.append(elapsed)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return requests / (time.perf_counter() - started), samples


# -- the database --------------------------------------------------------------------------


async def prepare_database(args: argparse.Namespace, work: Path) -> tuple[str, str | None]:
    """A migrated database holding ``--pairs`` Slack pairs; its URL, and the name of a
    PostgreSQL database to drop afterwards."""
    if args.postgres_url:
        admin = make_url(args.postgres_url).set(drivername="postgresql")
        name = f"mentorbot_bench_{uuid.uuid4().hex[:10]}"
        connection = await asyncpg.connect(admin.render_as_string(hide_password=False))
        await connection.execute(f'CREATE DATABASE "{name}"')
        await connection.close()
        url = admin.set(database=name).render_as_string(hide_password=False)
    else:
        name = None
        url = sqlite_url(work / "bench.db")
    database = Database(url)
    try:
        await database.upgrade()
        rows = (
            {
                "platform": "slack",
                "workspace_id": TEAM,
                "mentor_id": mentor_id(i),
                "mentee_id": mentee_id(i),
            }
            for i in range(args.pairs)
        )
        started = time.perf_counter()
        report = await import_pairs(database, rows, START)
        print(
            f"imported {report.created:,} pairs in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
    finally:
        await database.dispose()
    return url, name


async def drop_database(admin_url: str, name: str) -> None:
    admin = make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(admin)
    await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await connection.close()


# -- the run -------------------------------------------------------------------------------


async def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    url, created = await prepare_database(args, work)
    fake = FakeSlack(everyone=Person("Someone", "Europe/Berlin"))
    await fake.start()
    global RESPONSE_URL
    RESPONSE_URL = fake.response_url()
    database = Database(url)
    clock = ManualClock(START)
    settings = Settings(
        slack_bot_token=SecretStr(BOT_TOKEN),
        slack_signing_secret=SecretStr(SECRET),
        slack_app_token=None,
        slack_api_url=fake.api_url,
    )
    engine = Engine(database, clock)
    adapter = SlackAdapter(settings, engine, host="127.0.0.1", port=0)
    await adapter.start()
    ours = f"http://127.0.0.1:{adapter.port}/slack/events"
    floor = await floor_app(fake.api_url, process_before_response=True)
    polling = await floor_app(fake.api_url, process_before_response=False)
    rng = random.Random(args.seed)
    users = [
        rng.choice((mentor_id, mentee_id))(i) for i in rng.sample(range(args.pairs), args.users)
    ]
    connector = aiohttp.TCPConnector(limit=args.clients * 2)
    results: dict[str, Any] = {}
    try:
        async with aiohttp.ClientSession(connector=connector) as session:
            for user in users:  # first contact: users.info, then cached
                await send(session, ours, user, "warming up")
                await send(session, floor.url, user, "warming up")
                await send(session, polling.url, user, "warming up")
            urls = {"mentorbot": ours, "floor": floor.url, "floor, Bolt default": polling.url}
            targets = {name: over_http(session, url) for name, url in urls.items()}
            targets["engine alone"] = engine_alone(engine)
            samples = await sequential(targets, users, args.requests, rng)
            for name, found in samples.items():
                results[name] = {"sequential": Latency.of(found).__dict__}
            for name, target in urls.items():
                rate, found = await concurrent(
                    session, target, users, args.requests, args.clients, rng
                )
                results[name]["concurrent"] = {
                    "requests_per_second": rate,
                    **Latency.of(found).__dict__,
                }
        await adapter.drain()
        started = time.perf_counter()
        delivered = await deliver_all(database, {Platform.SLACK: adapter.sender}, clock)
        results["delivery"] = {
            "sent": delivered.sent,
            "messages_per_second": delivered.sent / (time.perf_counter() - started),
        }
        async with database.transaction() as session_db:
            results["pairs_in_database"] = await session_db.scalar(
                select(func.count()).select_from(Pair)
            )
    finally:
        await adapter.stop()
        await floor.runner.cleanup()
        await polling.runner.cleanup()
        await database.dispose()
        await fake.stop()
        if created is not None:
            await drop_database(args.postgres_url, created)
    results["database"] = "postgresql" if created else "sqlite"
    results["environment"] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "machine": f"{platform.system()} {platform.release()} {platform.machine()}",
    }
    return results


def table(results: dict[str, Any]) -> str:
    names = ("mentorbot", "floor", "floor, Bolt default")
    alone = results["engine alone"]["sequential"]
    overhead = {
        key: results["mentorbot"]["sequential"][key]
        - results["floor"]["sequential"][key]
        - alone[key]
        for key in ("p50_ms", "p90_ms")
    }
    rows = [
        ("ack p50, one client (ms)", "sequential", "p50_ms", "{:.2f}"),
        ("ack p90, one client (ms)", "sequential", "p90_ms", "{:.2f}"),
        ("ack p99, one client (ms)", "sequential", "p99_ms", "{:.2f}"),
        ("ack max, one client (ms)", "sequential", "max_ms", "{:.2f}"),
        ("requests/s, concurrent", "concurrent", "requests_per_second", "{:.0f}"),
        ("ack p50, concurrent (ms)", "concurrent", "p50_ms", "{:.2f}"),
        ("ack p99, concurrent (ms)", "concurrent", "p99_ms", "{:.2f}"),
    ]
    lines = ["| metric | " + " | ".join(names) + " | mentorbot / floor |", "|---" * 5 + "|"]
    for label, part, key, style in rows:
        values = [results[name][part][key] for name in names]
        ratio = values[0] / values[1] if values[1] else float("nan")
        cells = " | ".join(style.format(v) for v in values)
        lines.append(f"| {label} | {cells} | {ratio:.2f} |")
    lines.append("")
    lines.append(
        f"Engine.handle alone (same /win, same database): p50 {alone['p50_ms']:.2f} ms, "
        f"p90 {alone['p90_ms']:.2f} ms, p99 {alone['p99_ms']:.2f} ms. What the adapter adds "
        f"beyond floor + engine: p50 {overhead['p50_ms']:.2f} ms, p90 {overhead['p90_ms']:.2f} ms."
    )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--pairs", type=int, default=100_000, help="pairs in the database")
    parser.add_argument("--users", type=int, default=200, help="people sending wins")
    parser.add_argument("--requests", type=int, default=2000, help="per app and pass")
    parser.add_argument("--clients", type=int, default=8, help="in the concurrent pass")
    parser.add_argument("--seed", type=int, default=7)
    add_postgres_url(parser)
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-slack-"))
    try:
        results = asyncio.run(run(args, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(table(results))
    print(
        f"database: {results['database']}, {results['pairs_in_database']:,} pairs; "
        f"delivered afterwards: {results['delivery']['sent']:,} messages at "
        f"{results['delivery']['messages_per_second']:.0f}/s"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
