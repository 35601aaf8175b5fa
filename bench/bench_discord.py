"""Benchmark: ``/win`` interactions through the gateway to the Discord adapter, against a
bare discord.py bot that only responds (the floor).

Run by hand (``python -m bench.bench_discord --help``); the numbers live in
bench/README.md. Benchmarks are never timed inside the tests.

The fake Discord of ``tests/discord/fake_discord.py`` runs in a process of its own (as
Discord is another machine), serving REST and the gateway on loopback. It sends each
``/win`` as an INTERACTION_CREATE on the bot's gateway socket and times it from just
before the frame is written to the arrival of the bot's interaction callback (``POST
/interactions/{id}/{token}/callback``); both stamps are taken in the fake's process with
one clock. Both bots are real discord.py clients with the same intents and settings:

- **mentorbot**: the ``DiscordAdapter`` with the real Engine on a SQLite file (and on
  PostgreSQL with ``--postgres``) holding ``--users / 2`` active Discord pairs (created
  with ``bot.pairs_import.import_pairs``), the delivery worker and the scheduler running.
  Each ``/win`` is one Engine transaction (the win, the partner's DM queued in the
  outbox, milestones), answered with an ephemeral message in the callback; the partner's
  DM is then sent by the worker (its arrival is timed too).
- **floor**: a bare ``discord.Client`` with one ``/win`` app command whose callback only
  calls ``interaction.response.send_message(..., ephemeral=True)``: gateway parsing,
  discord.py's dispatch and one HTTP request, under anything a bot can do.

Interactions go one at a time, paced at ``--rate`` per second (0: back to back); the
bots take turns each round (the order alternating), so machine noise hits both alike.
Before timing, every user sends one win (first contact, first-win milestones) and each
bot start is warmed up with a few interactions.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import io
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import discord
import yarl
from aiohttp import web
from discord import app_commands
from discord.gateway import DiscordWebSocket
from discord.http import Route
from pydantic import SecretStr
from sqlalchemy import func, select

from adapters.discord.app import DEFER_AFTER_SECONDS, DiscordAdapter
from adapters.discord.client import intents
from bench.bench_dispatch import code_version
from bench.bench_win import environment
from bot.clock import SystemClock
from bot.delivery import RateLimit, RateLimits
from bot.effects import Effect
from bot.engine import Engine
from bot.events import Event
from bot.pairs_import import import_pairs
from bot.refs import Platform
from bot.settings import Settings
from bot.storage.database import Database, sqlite_url
from bot.storage.models import OutboxMessage, OutboxStatus
from scheduler.app import BotScheduler
from scheduler.delivery_worker import DeliveryWorker
from tests.discord.fake_discord import JSON, TOKEN, FakeDiscord, text_of

WARMUP_PER_START = 20
PHRASE = "bench win"


# --- the fake Discord, in its own process -------------------------------------------------


class BenchFake(FakeDiscord):
    """The fake, plus ``/bench/run``: send ``/win``s and time their callbacks."""

    def __init__(self, users: int) -> None:
        super().__init__()
        self.people = [self.add_user(f"User{n}") for n in range(users)]
        self.guild = self.add_guild("Bench", owner_id=self.people[0])
        self.dm_arrivals: dict[str, int] = {}
        self.sent = 0

    def application(self) -> web.Application:
        app = super().application()
        app.router.add_get("/bench/world", self._world)
        app.router.add_post("/bench/run", self._run)
        return app

    async def _world(self, request: web.Request) -> web.Response:
        return web.json_response({"guild": self.guild, "people": self.people})

    async def _run(self, request: web.Request) -> web.Response:
        ask = await request.json()
        count, rate, users = int(ask["count"]), float(ask["rate"]), int(ask["users"])
        records = []
        began = time.perf_counter()
        for n in range(count):
            if rate > 0:
                await asyncio.sleep(max(0.0, began + n / rate - time.perf_counter()))
            self.sent += 1
            person = self.people[(self.sent - 1) % users]
            text = f"{PHRASE} {self.sent}"
            payload = self.slash(self.guild, person, "win", text=text)
            record = await self.answered(await self.interact(payload), 30)
            await self.until(functools.partial(getattr, record, "shown_ns"), 30)
            records.append((record, text))
        callbacks = [r.answered_ns - r.sent_ns for r, _ in records]
        shown = [r.shown_ns - r.sent_ns for r, _ in records]
        if ask.get("dms"):
            with contextlib.suppress(TimeoutError):
                await self.until(lambda: all(t in self.dm_arrivals for _, t in records), 30)
        dms = [self.dm_arrivals[t] - r.sent_ns for r, t in records if t in self.dm_arrivals]
        return web.json_response({"callback_ns": callbacks, "shown_ns": shown, "dm_ns": dms})

    def _create_message(self, body: Any, query: dict[str, str], channel_id: str) -> Any:
        text = text_of(body or {})
        marker = text.rsplit(f"{PHRASE} ", 1)
        if len(marker) == 2 and "shared a win" in text:
            self.dm_arrivals.setdefault(f"{PHRASE} {marker[1]}", self.arrived_ns)
        return super()._create_message(body, query, channel_id)


async def serve_fake(users: int) -> None:
    fake = BenchFake(users)
    await fake.start()
    print(json.dumps({"port": fake.port}), flush=True)
    # Serve until the benchmark closes our stdin.
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await fake.close()


# --- the bots -----------------------------------------------------------------------------


class TimedEngine(Engine):
    """The real engine; each ``handle`` is timed, to show where the time goes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.handle_ns: list[int] = []

    async def handle(self, event: Event) -> list[Effect]:
        began = time.perf_counter_ns()
        try:
            return await super().handle(event)
        finally:
            self.handle_ns.append(time.perf_counter_ns() - began)


class FloorBot(discord.Client):
    """Only responds: the least any discord.py bot does for a slash command."""

    def __init__(self, guild_id: str) -> None:
        super().__init__(intents=intents(), guild_ready_timeout=0.05)
        self.tree = app_commands.CommandTree(self)
        self._guild = discord.Object(id=int(guild_id))

        @app_commands.command(name="win", description="Save a win")
        async def win(interaction: discord.Interaction, text: str) -> None:
            await interaction.response.send_message("Saved.", ephemeral=True)

        self.tree.add_command(win, guild=self._guild)

    async def setup_hook(self) -> None:
        await self.tree.sync(guild=self._guild)


@dataclass(frozen=True)
class Mode:
    name: str
    url: str | None = None  # None: the floor
    defer_after: float = DEFER_AFTER_SECONDS
    wake_delay: float = 0.0


@dataclass
class Bot:
    name: str
    client: discord.Client
    task: asyncio.Task[None]
    engine: TimedEngine | None = None
    database: Database | None = None


def point_at(port: int) -> None:
    Route.BASE = f"http://127.0.0.1:{port}/api/v10"
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(f"ws://127.0.0.1:{port}/gateway")


async def wait_ready(client: discord.Client, task: asyncio.Task[None]) -> None:
    async with asyncio.timeout(30):
        while not client.is_ready():
            if task.done():
                task.result()
            await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def floor_bot(port: int, guild: str) -> AsyncIterator[Bot]:
    point_at(port)
    client = FloorBot(guild)
    task = asyncio.create_task(client.start(TOKEN))
    await wait_ready(client, task)
    try:
        yield Bot("floor", client, task)
    finally:
        await client.close()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def mentor_bot(port: int, guild: str, mode: Mode) -> AsyncIterator[Bot]:
    assert mode.url is not None
    database = Database(mode.url)
    worker_box: list[DeliveryWorker] = []
    clock = SystemClock()
    loop = asyncio.get_running_loop()
    if mode.wake_delay:
        # The worker starts delivering a moment later, after the interaction's answer.
        engine = TimedEngine(
            database, clock, on_queued=lambda: loop.call_later(mode.wake_delay, worker_box[0].wake)
        )
    else:
        engine = TimedEngine(database, clock, on_queued=lambda: worker_box[0].wake())
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        discord_bot_token=SecretStr(TOKEN),
        discord_guild_id=guild,
        discord_api_url=f"http://127.0.0.1:{port}/api/v10",
        discord_gateway_url=f"ws://127.0.0.1:{port}/gateway",
    )
    adapter = DiscordAdapter(
        settings,
        engine,
        database,
        on_setup=lambda: scheduler.start(),
        guild_ready_timeout=0.05,
        defer_after=mode.defer_after,
    )
    # As `mentorbot run` wires it.
    rate = RateLimit(settings.discord_messages_per_second, burst=10)
    limits = RateLimits({Platform.DISCORD: rate})
    worker = DeliveryWorker(database, {Platform.DISCORD: adapter.sender}, clock, limits=limits)
    worker_box.append(worker)
    scheduler = BotScheduler(engine, worker, interval_seconds=3600, jitter_seconds=0)
    task = asyncio.create_task(adapter.start())
    await wait_ready(adapter.client, task)
    try:
        yield Bot(mode.name, adapter.client, task, engine, database)
        await drained(database)
    finally:
        await adapter.stop()
        await scheduler.stop(grace_seconds=5)
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await database.dispose()


async def drained(database: Database) -> None:
    """Wait until the outbox has nothing left to send (so no backlog is timed later)."""
    waiting = (
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.status.in_([OutboxStatus.PENDING.value, OutboxStatus.SENDING.value]))
    )
    async with asyncio.timeout(300):
        while True:
            async with database.transaction() as session:
                if not await session.scalar(waiting):
                    return
            await asyncio.sleep(0.1)


async def seed(url: str, guild: str, people: Sequence[str], now: datetime) -> None:
    database = Database(url)
    try:
        await database.upgrade()
        rows = io.StringIO(
            "platform,workspace_id,mentor_id,mentee_id,cadence,weekday,time,timezone\n"
            + "".join(
                f"discord,{guild},{people[i]},{people[i + 1]},,,,\n"
                for i in range(0, len(people) - 1, 2)
            ),
            newline="",
        )
        await import_pairs(database, rows, now)
    finally:
        await database.dispose()


# --- running it ---------------------------------------------------------------------------


@dataclass
class Numbers:
    callback_ns: list[int] = field(default_factory=list)
    shown_ns: list[int] = field(default_factory=list)
    dm_ns: list[int] = field(default_factory=list)
    engine_ns: list[int] = field(default_factory=list)
    round_p50_ms: list[float] = field(default_factory=list)


async def run(session: aiohttp.ClientSession, port: int, ask: dict[str, Any]) -> JSON:
    async with session.post(f"http://127.0.0.1:{port}/bench/run", json=ask) as response:
        response.raise_for_status()
        result: JSON = await response.json()
        return result


def quantile(values: Sequence[int], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] / 1e6


def summary(numbers: Sequence[int]) -> dict[str, float]:
    return {
        "n": len(numbers),
        "p50_ms": quantile(numbers, 0.5),
        "p90_ms": quantile(numbers, 0.9),
        "p99_ms": quantile(numbers, 0.99),
        "mean_ms": statistics.fmean(numbers) / 1e6 if numbers else float("nan"),
    }


def modes_for(args: argparse.Namespace, folder: Path) -> list[Mode]:
    """Each mentorbot mode on a database of its own, so none inherits another's wins
    (and its milestones) or outbox."""
    modes = [Mode("floor"), Mode("mentorbot (SQLite)", sqlite_url(folder / "direct.db"))]
    if args.postgres:
        modes.append(Mode("mentorbot (PostgreSQL)", args.postgres))
    if args.defer_first:
        url = sqlite_url(folder / "defer.db")
        modes.append(Mode("mentorbot (SQLite), defer first", url, defer_after=0.0))
    if args.wake_delay:
        name = f"mentorbot (SQLite), worker woken {args.wake_delay * 1000:g} ms later"
        url = sqlite_url(folder / "wake.db")
        modes.append(Mode(name, url, wake_delay=args.wake_delay))
    return modes


async def bench(args: argparse.Namespace, port: int, folder: Path) -> dict[str, Any]:
    modes = modes_for(args, folder)
    numbers = {mode.name: Numbers() for mode in modes}
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/bench/world") as response:
            world = await response.json()
        guild, people = world["guild"], world["people"]
        for url in sorted({m.url for m in modes if m.url is not None}):
            await seed(url, guild, people, datetime.now(UTC))
        warmed: set[str] = set()

        async def one(mode: Mode) -> None:
            bot_for = floor_bot(port, guild) if mode.url is None else mentor_bot(port, guild, mode)
            async with bot_for as bot:
                # Everyone's first win (first contact, milestones) is not timed.
                first = mode.url is not None and mode.url not in warmed
                warm = len(people) if first else WARMUP_PER_START
                ask = {"count": warm, "rate": 0, "users": len(people), "dms": False}
                await run(session, port, ask)
                if mode.url is not None:
                    warmed.add(mode.url)
                    await drained(Database(mode.url))
                if bot.engine is not None:
                    bot.engine.handle_ns.clear()
                ask = {
                    "count": args.wins,
                    "rate": args.rate,
                    "users": len(people),
                    "dms": mode.url is not None,
                }
                result = await run(session, port, ask)
                got = numbers[mode.name]
                got.callback_ns += result["callback_ns"]
                got.shown_ns += result["shown_ns"]
                got.dm_ns += result["dm_ns"]
                got.round_p50_ms.append(quantile(result["callback_ns"], 0.5))
                if bot.engine is not None:
                    got.engine_ns += bot.engine.handle_ns
            print(
                f"  {mode.name}: {len(result['callback_ns'])} callbacks, "
                f"p50 {quantile(result['callback_ns'], 0.5):.2f} ms",
                file=sys.stderr,
            )

        for round_number in range(args.rounds):
            print(f"round {round_number + 1} of {args.rounds}", file=sys.stderr)
            for mode in modes if round_number % 2 == 0 else modes[::-1]:
                await one(mode)
    floor = summary(numbers["floor"].callback_ns)
    results: dict[str, Any] = {
        "environment": environment(),
        "code": code_version(),
        "settings": {
            k: str(v) if isinstance(v, Path) else v
            for k, v in vars(args).items()
            if k not in ("serve_fake", "postgres")
        },
        "round_p50_ms": {name: n.round_p50_ms for name, n in numbers.items()},
        "callback": {name: summary(n.callback_ns) for name, n in numbers.items()},
        "shown": {name: summary(n.shown_ns) for name, n in numbers.items()},
        "dm": {name: summary(n.dm_ns) for name, n in numbers.items() if n.dm_ns},
        "engine_handle": {name: summary(n.engine_ns) for name, n in numbers.items() if n.engine_ns},
    }
    results["ratio_to_floor"] = {
        name: {
            "p50": results["callback"][name]["p50_ms"] / floor["p50_ms"],
            "p99": results["callback"][name]["p99_ms"] / floor["p99_ms"],
        }
        for name in numbers
        if name != "floor"
    }
    return results


def table(results: dict[str, Any]) -> str:
    rows = [
        "| time to the interaction callback | n | p50 (ms) | p90 (ms) | p99 (ms) | mean (ms) |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for name, s in results["callback"].items():
        rows.append(
            f"| {name} | {s['n']} | {s['p50_ms']:.2f} | {s['p90_ms']:.2f} | "
            f"{s['p99_ms']:.2f} | {s['mean_ms']:.2f} |"
        )
    for name, ratio in results["ratio_to_floor"].items():
        rows.append(f"| {name} / floor | | {ratio['p50']:.2f}x | | {ratio['p99']:.2f}x | |")
    for name, p50s in results["round_p50_ms"].items():
        rows.append(
            f"| {name}: p50 of each round | | {' · '.join(f'{v:.2f}' for v in p50s)} | | | |"
        )
    sections = (
        ("answer shown", "shown"),
        ("engine.handle", "engine_handle"),
        ("partner's DM arrives", "dm"),
    )
    for title, key in sections:
        for name, s in results[key].items():
            rows.append(
                f"| {title}, {name} | {s['n']} | {s['p50_ms']:.2f} | {s['p90_ms']:.2f} | "
                f"{s['p99_ms']:.2f} | {s['mean_ms']:.2f} |"
            )
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wins", type=int, default=400, help="timed /wins per bot per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--users", type=int, default=400, help="people (in users/2 pairs)")
    parser.add_argument("--rate", type=float, default=25.0, help="/wins per second (0: flat out)")
    parser.add_argument("--postgres", help="also run mentorbot on this (empty) PostgreSQL URL")
    parser.add_argument(
        "--defer-first",
        action="store_true",
        help="also run mentorbot deferring every interaction at once (defer_after=0)",
    )
    parser.add_argument(
        "--wake-delay",
        type=float,
        default=0.0,
        help="also run mentorbot with the delivery worker woken this many seconds after a commit",
    )
    parser.add_argument("--json", type=Path, help="write every number here too")
    parser.add_argument("--serve-fake", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_fake:
        asyncio.run(serve_fake(args.users))
        return
    fake = subprocess.Popen(
        [sys.executable, "-m", "bench.bench_discord", "--serve-fake", "--users", str(args.users)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert fake.stdout is not None and fake.stdin is not None
    folder = Path(tempfile.mkdtemp(prefix="bench-discord-"))
    try:
        port = int(json.loads(fake.stdout.readline())["port"])
        results = asyncio.run(bench(args, port, folder))
    finally:
        fake.stdin.close()
        fake.wait(10)
        shutil.rmtree(folder, ignore_errors=True)
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
