"""Benchmark: ``/win`` interactions through the gateway to the Discord adapter, against a
bare discord.py bot that only responds (the floor), interleaved one by one.

Run by hand (``python -m bench.bench_discord --help``); the numbers live in
bench/README.md. Benchmarks are never timed inside the tests.

The fake Discord of ``tests/discord/fake_discord.py`` runs in a process of its own (as
Discord is another machine), serving REST and the gateway on loopback, and every bot runs
in a process of its own too (as each would in production), all connected to the fake at
once. The fake sends each ``/win`` as an INTERACTION_CREATE on one bot's gateway socket
and times it from just before the frame is written to the arrival of that bot's
interaction callback (``POST /interactions/{id}/{token}/callback``); both stamps are
taken in the fake's process with one clock. The bots take turns interaction by
interaction (always in the same order), so machine noise hits all alike; the ratios to the
floor come from the same run.

- **floor**: a bare ``discord.Client`` with one ``/win`` app command whose callback only
  calls ``interaction.response.send_message(..., ephemeral=True)``: gateway parsing,
  discord.py's dispatch and one HTTP request, under anything a bot can do.
- **mentorbot**: the ``DiscordAdapter`` as ``mentorbot run`` wires it (the real Engine,
  the delivery worker woken by the engine, the scheduler, Discord's rate limit) on a
  SQLite file (and on PostgreSQL with ``--postgres-url``) holding ``--users / 2`` active
  Discord pairs. Each ``/win`` is one Engine transaction (the win, the partner's DM
  queued in the outbox, milestones), answered with an ephemeral message in the callback;
  the partner's DM is then sent by the worker (its arrival is timed too, and the next
  interaction waits for it, so no bot's DM overlaps another bot's turn).
- **floor + INSERT+COMMIT** (``--writing-floor``): the floor whose callback first writes the
  text as one row in one transaction through the same ``Database`` (SQLite, and PostgreSQL
  with ``--postgres-url``), as ``bench_win``'s baseline does: the least a bot that keeps
  what it is told, durably, before it answers can do. Goal 5's ratio, read against it,
  shows how much of it is the commit itself.

Each person's first ``/win`` to a bot is untimed (first contact, the "First win"
milestone). ``--restart`` then starts each mentorbot again before the timed run, so the
timed ``/win`` include each person's first to a process that has just started, as after a
deploy (on PostgreSQL it reads who shared the latest wins as it starts, as ``mentorbot
run`` does).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import aiohttp
import asyncpg
import discord
import yarl
from aiohttp import web
from discord import app_commands
from discord.gateway import DiscordWebSocket
from discord.http import Route
from pydantic import SecretStr
from sqlalchemy import Column, Integer, MetaData, Table, Text, func, insert, select
from sqlalchemy.engine import make_url

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
from tests.discord.fake_discord import JSON, TOKEN, FakeDiscord, Interaction, text_of

WARMUP_PER_START = 20
WRITING_FLOOR = "floor + INSERT+COMMIT"
PHRASE = "bench win"
_WIN_MARKER = re.compile(rf"{PHRASE} \d+")
SESSION_SPACING = 100  # bot n's gateway session is kept at n * 100 in the fake


# What the writing floor writes: one row a /win, in a table of its own.
_FLOOR_METADATA = MetaData()
_FLOOR_WRITES = Table(
    "bench_floor_writes",
    _FLOOR_METADATA,
    Column("id", Integer, primary_key=True),
    Column("text", Text, nullable=False),
)


def token_of(bot: int) -> str:
    return f"{TOKEN}-{bot}"


# --- the fake Discord, in its own process -------------------------------------------------


class BenchFake(FakeDiscord):
    """The fake, serving several bots at once, plus ``/bench/run``: send ``/win``s to
    them in turn and time their callbacks."""

    def __init__(self, users: int, bots: int) -> None:
        super().__init__()
        self.other_bots = {token_of(n): (n + 1) * SESSION_SPACING for n in range(bots)}
        self.people = [self.add_user(f"User{n}") for n in range(users)]
        self.guild = self.add_guild("Bench", owner_id=self.people[0])
        self.dm_arrivals: dict[str, int] = {}
        self.sent = 0
        self.sent_to: Counter[int] = Counter()

    def application(self) -> web.Application:
        app = super().application()
        app.router.add_get("/bench/world", self._world)
        app.router.add_post("/bench/run", self._run)
        return app

    async def _world(self, request: web.Request) -> web.Response:
        return web.json_response({"guild": self.guild, "people": self.people})

    async def _run(self, request: web.Request) -> web.Response:
        """``count`` rounds; in each, one ``/win`` to every bot in ``bots``, always in the
        same order, paced at ``rate`` interactions a second in all (0: back to back). The
        same order: each bot's turn comes as long after its last as every other bot's.
        (Alternating the order gave the first and the last bot two turns in a row at each
        turnaround, which found them warm and made them look ~0.3 ms faster than a bot in
        the middle: bench/README.md, Discord, 2026-12-03.)"""
        ask = await request.json()
        count, rate, users = int(ask["count"]), float(ask["rate"]), int(ask["users"])
        bots: list[int] = ask["bots"]
        dms: list[bool] = ask["dms"]
        got: dict[int, JSON] = {b: {"callback_ns": [], "shown_ns": [], "dm_ns": []} for b in bots}
        began = time.perf_counter()
        step = 0
        for _round in range(count):
            for bot in bots:
                if rate > 0:
                    await asyncio.sleep(max(0.0, began + step / rate - time.perf_counter()))
                step += 1
                record, text = await self._one(bot, users)
                got[bot]["callback_ns"].append(record.answered_ns - record.sent_ns)
                got[bot]["shown_ns"].append(record.shown_ns - record.sent_ns)
                if dms[bots.index(bot)]:
                    with contextlib.suppress(TimeoutError):
                        await self.until(functools.partial(self.dm_arrivals.get, text), 10)
                    if text in self.dm_arrivals:
                        got[bot]["dm_ns"].append(self.dm_arrivals[text] - record.sent_ns)
        return web.json_response({str(b): numbers for b, numbers in got.items()})

    async def _one(self, bot: int, users: int) -> tuple[Interaction, str]:
        self.sent += 1
        # Each bot's /wins go round all the people, whatever the number of bots (with 5
        # bots, a shared count gave each bot 80 people, who reached "10 wins" mid-run).
        person = self.people[self.sent_to[bot] % users]
        self.sent_to[bot] += 1
        text = f"{PHRASE} {self.sent}"
        payload = self.slash(self.guild, person, "win", text=text)
        session = (bot + 1) * SESSION_SPACING
        record = await self.answered(await self.interact(payload, session=session), 30)
        await self.until(lambda: record.shown_ns, 30)
        return record, text

    def _create_message(self, body: Any, query: dict[str, str], channel_id: str) -> Any:
        text = text_of(body or {})
        # The win's own marker, also in a DM that tells of a milestone after it.
        marker = _WIN_MARKER.search(text)
        if marker is not None and "shared a win" in text:
            self.dm_arrivals.setdefault(marker[0], self.arrived_ns)
        return super()._create_message(body, query, channel_id)


async def serve_fake(users: int, bots: int) -> None:
    fake = BenchFake(users, bots)
    await fake.start()
    print(json.dumps({"port": fake.port}), flush=True)
    # Serve until the benchmark closes our stdin.
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await fake.close()


# --- the bots, each in its own process ----------------------------------------------------


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
    """Only responds: the least any discord.py bot does for a slash command. With a
    ``database``, it first writes the text in one INSERT+COMMIT (each write timed)."""

    def __init__(self, guild_id: str, database: Database | None = None) -> None:
        super().__init__(intents=intents(), guild_ready_timeout=0.05)
        self.tree = app_commands.CommandTree(self)
        self._guild = discord.Object(id=int(guild_id))
        self.write_ns: list[int] = []

        @app_commands.command(name="win", description="Save a win")
        async def win(interaction: discord.Interaction, text: str) -> None:
            if database is not None:
                began = time.perf_counter_ns()
                async with database.transaction(brief=True) as session:
                    await session.execute(insert(_FLOOR_WRITES), {"text": text})
                self.write_ns.append(time.perf_counter_ns() - began)
            await interaction.response.send_message("Saved.", ephemeral=True)

        self.tree.add_command(win, guild=self._guild)

    async def setup_hook(self) -> None:
        await self.tree.sync(guild=self._guild)


@dataclass(frozen=True)
class Mode:
    name: str
    url: str | None = None  # None: the floor
    writes: bool = False  # the floor, writing each /win to ``url`` first
    defer_after: float = DEFER_AFTER_SECONDS
    code: str | None = None  # run the bot with this folder's code (PYTHONPATH)

    @property
    def runs_mentorbot(self) -> bool:
        return self.url is not None and not self.writes

    @property
    def backend(self) -> str | None:
        """``sqlite``, ``postgresql``; None for the floor that writes nothing."""
        return make_url(self.url).get_backend_name() if self.url is not None else None


@dataclass(frozen=True)
class BotSpec:
    mode: Mode
    bot: int
    port: int
    guild: str


async def wait_ready(client: discord.Client, task: asyncio.Task[None]) -> None:
    async with asyncio.timeout(60):
        while not client.is_ready():
            if task.done():
                task.result()
            await asyncio.sleep(0.01)


def settings_for(spec: BotSpec) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        discord_bot_token=SecretStr(token_of(spec.bot)),
        discord_guild_id=spec.guild,
        discord_api_url=f"http://127.0.0.1:{spec.port}/api/v10",
        discord_gateway_url=f"ws://127.0.0.1:{spec.port}/gateway",
    )


@contextlib.asynccontextmanager
async def floor_bot(spec: BotSpec) -> AsyncIterator[FloorBot]:
    settings = settings_for(spec)
    Route.BASE = settings.discord_api_url
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)
    database = Database(spec.mode.url) if spec.mode.writes and spec.mode.url else None
    if database is not None:
        async with database.engine.begin() as connection:
            await connection.run_sync(_FLOOR_METADATA.create_all)
    client = FloorBot(spec.guild, database)
    task = asyncio.create_task(client.start(token_of(spec.bot)))
    await wait_ready(client, task)
    try:
        yield client
    finally:
        await client.close()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if database is not None:
            await database.dispose()


@contextlib.asynccontextmanager
async def mentor_bot(spec: BotSpec) -> AsyncIterator[TimedEngine]:
    assert spec.mode.url is not None
    database = Database(spec.mode.url)
    worker_box: list[DeliveryWorker] = []
    clock = SystemClock()
    engine = TimedEngine(database, clock, on_queued=lambda: worker_box[0].wake())
    settings = settings_for(spec)
    adapter = DiscordAdapter(
        settings,
        engine,
        database,
        on_setup=lambda: scheduler.start(),
        guild_ready_timeout=0.05,
        defer_after=spec.mode.defer_after,
    )
    # As `mentorbot run` wires it.
    rate = RateLimit(settings.discord_messages_per_second, burst=10)
    limits = RateLimits({Platform.DISCORD: rate})
    worker = DeliveryWorker(database, {Platform.DISCORD: adapter.sender}, clock, limits=limits)
    worker_box.append(worker)
    scheduler = BotScheduler(engine, worker, interval_seconds=3600, jitter_seconds=0)
    await engine.remember_recent_sharers()
    task = asyncio.create_task(adapter.start())
    await wait_ready(adapter.client, task)
    try:
        yield engine
    finally:
        await adapter.stop()
        await scheduler.stop(grace_seconds=5)
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await database.dispose()


async def serve_bot(spec: BotSpec) -> None:
    """Run one bot until stdin closes; ``clear`` forgets the Engine's (or the writing
    floor's INSERT+COMMIT's) timings so far, ``report`` prints them."""
    loop = asyncio.get_running_loop()
    handle_ns: list[int]
    async with contextlib.AsyncExitStack() as stack:
        if spec.mode.url is None or spec.mode.writes:
            handle_ns = (await stack.enter_async_context(floor_bot(spec))).write_ns
        else:
            handle_ns = (await stack.enter_async_context(mentor_bot(spec))).handle_ns
        print(json.dumps({"ready": True}), flush=True)
        while line := (await loop.run_in_executor(None, sys.stdin.readline)).strip():
            if line == "clear":
                handle_ns.clear()
            print(json.dumps({"engine_ns": handle_ns}), flush=True)


class BotProcess:
    def __init__(self, spec: BotSpec, folder: Path) -> None:
        env = dict(os.environ)
        if spec.mode.code is not None:
            env["PYTHONPATH"] = spec.mode.code
        self.spec = spec
        self.log = (folder / f"bot-{spec.bot}.log").open("a")  # a bot started again adds
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.bench_discord", "--serve-bot", json.dumps(asdict(spec))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env=env,
            cwd=spec.mode.code,
        )

    def _ask(self, line: str | None) -> JSON:
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        if line is not None:
            stdin.write(line + "\n")
            stdin.flush()
        answer = stdout.readline()
        if not answer:
            raise RuntimeError(f"{self.spec.mode.name} stopped; see {self.log.name}")
        result: JSON = json.loads(answer)
        return result

    async def ready(self) -> None:
        await asyncio.to_thread(self._ask, None)

    async def engine_ns(self, *, clear: bool = False) -> list[int]:
        result = await asyncio.to_thread(self._ask, "clear" if clear else "report")
        return list(result["engine_ns"])

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


# --- the databases ------------------------------------------------------------------------


async def drained(url: str) -> None:
    """Wait until the outbox has nothing left to send (so no backlog is timed later)."""
    waiting = (
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.status.in_([OutboxStatus.PENDING.value, OutboxStatus.SENDING.value]))
    )
    database = Database(url)
    try:
        async with asyncio.timeout(300):
            while True:
                async with database.transaction() as session:
                    if not await session.scalar(waiting):
                        return
                await asyncio.sleep(0.1)
    finally:
        await database.dispose()


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


async def create_postgres(admin_url: str) -> str:
    admin = make_url(admin_url).set(drivername="postgresql")
    name = f"mentorbot_bench_discord_{uuid.uuid4().hex[:10]}"
    connection = await asyncpg.connect(admin.render_as_string(hide_password=False))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return admin.set(database=name).render_as_string(hide_password=False)


async def drop_postgres(url: str) -> None:
    parsed = make_url(url).set(drivername="postgresql")
    admin = parsed.set(database="postgres").render_as_string(hide_password=False)
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
    finally:
        await connection.close()


# --- running it ---------------------------------------------------------------------------


@dataclass
class Numbers:
    callback_ns: list[int] = field(default_factory=list)
    shown_ns: list[int] = field(default_factory=list)
    dm_ns: list[int] = field(default_factory=list)
    engine_ns: list[int] = field(default_factory=list)


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


def parts_p50(numbers: Sequence[int], parts: int = 4) -> list[float]:
    """The p50 of each quarter of the run, in order: how steady it was."""
    size = max(1, len(numbers) // parts)
    return [quantile(numbers[i * size : (i + 1) * size], 0.5) for i in range(parts)]


def modes_for(args: argparse.Namespace, folder: Path, postgres: str | None) -> list[Mode]:
    """Each mentorbot mode on a database of its own, so none inherits another's wins
    (and its milestones) or outbox."""
    modes = [Mode("floor"), Mode("mentorbot (SQLite)", sqlite_url(folder / "direct.db"))]
    if postgres:
        modes.append(Mode("mentorbot (PostgreSQL)", postgres))
    if args.writing_floor:
        url = sqlite_url(folder / "floor-writes.db")
        modes.append(Mode(f"{WRITING_FLOOR} (SQLite)", url, writes=True))
        if postgres:
            # The same database as mentorbot's, a table of its own.
            modes.append(Mode(f"{WRITING_FLOOR} (PostgreSQL)", postgres, writes=True))
    if args.defer_first:
        url = sqlite_url(folder / "defer.db")
        modes.append(Mode("mentorbot (SQLite), defer first", url, defer_after=0.0))
    for n, code in enumerate(args.compare):
        url = sqlite_url(folder / f"compare-{n}.db")
        modes.append(Mode(f"mentorbot (SQLite), code in {code}", url, code=str(code)))
    return modes


async def bench(
    args: argparse.Namespace, port: int, folder: Path, modes: list[Mode], load: float
) -> JSON:
    numbers = {mode.name: Numbers() for mode in modes}
    bots: list[BotProcess] = []
    # A timed run takes minutes: no client timeout (the fake has its own, per interaction).
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as session:
        async with session.get(f"http://127.0.0.1:{port}/bench/world") as response:
            world = await response.json()
        guild, people = world["guild"], world["people"]
        for url in sorted({m.url for m in modes if m.url is not None and m.runs_mentorbot}):
            await seed(url, guild, people, datetime.now(UTC))
        try:
            for n, mode in enumerate(modes):
                bots.append(BotProcess(BotSpec(mode, n, port, guild), folder))
                await bots[-1].ready()
                # Everyone's first win (first contact, milestones) is not timed.
                warm = len(people) if mode.runs_mentorbot else WARMUP_PER_START
                ask = {"count": warm, "rate": 0, "users": len(people), "bots": [n], "dms": [False]}
                await run(session, port, ask)
                if mode.url is not None and mode.runs_mentorbot:
                    await drained(mode.url)
                print(f"  {mode.name}: started and warmed up", file=sys.stderr)
                if args.restart and mode.runs_mentorbot:
                    # Everyone has shared a win; the timed ones are each person's first
                    # of this process (the floor has nothing to remember).
                    bots[-1].close()
                    bots[-1] = BotProcess(BotSpec(mode, n, port, guild), folder)
                    await bots[-1].ready()
                    print(f"  {mode.name}: started again", file=sys.stderr)
            for bot in bots:
                await bot.engine_ns(clear=True)
            print(f"timing {args.wins} /wins per bot at {args.rate:g}/s", file=sys.stderr)
            ask = {
                "count": args.wins,
                "rate": args.rate,
                "users": len(people),
                "bots": list(range(len(modes))),
                "dms": [m.runs_mentorbot for m in modes],
            }
            result = await run(session, port, ask)
            for n, (mode, bot) in enumerate(zip(modes, bots, strict=True)):
                got = numbers[mode.name]
                got.callback_ns = result[str(n)]["callback_ns"]
                got.shown_ns = result[str(n)]["shown_ns"]
                got.dm_ns = result[str(n)]["dm_ns"]
                got.engine_ns = await bot.engine_ns()
        finally:
            for bot in bots:
                bot.close()
    floor = summary(numbers["floor"].callback_ns)
    results: JSON = {
        "environment": environment(),
        "load_average": {"start": load, "end": os.getloadavg()[0]},
        "code": code_version(),
        "settings": {
            k: [str(c) for c in v] if k == "compare" else v
            for k, v in vars(args).items()
            if k not in ("serve_fake", "serve_bot", "postgres_url", "json")
        },
        "callback": {name: summary(n.callback_ns) for name, n in numbers.items()},
        "callback_p50_by_quarter_ms": {
            name: parts_p50(n.callback_ns) for name, n in numbers.items()
        },
        "shown": {name: summary(n.shown_ns) for name, n in numbers.items()},
        "dm": {name: summary(n.dm_ns) for name, n in numbers.items() if n.dm_ns},
        "engine_handle": {
            mode.name: summary(numbers[mode.name].engine_ns)
            for mode in modes
            if numbers[mode.name].engine_ns and mode.runs_mentorbot
        },
        "floor_write": {
            mode.name: summary(numbers[mode.name].engine_ns) for mode in modes if mode.writes
        },
    }
    # Where the callback carries the Engine's answer (not a defer).
    results["answered_in_callback"] = [
        m.name for m in modes if m.runs_mentorbot and m.defer_after > 0
    ]
    results["ratio_to_floor"] = {
        name: {
            "p50": results["callback"][name]["p50_ms"] / floor["p50_ms"],
            "p99": results["callback"][name]["p99_ms"] / floor["p99_ms"],
        }
        for name in numbers
    }
    # mentorbot (this checkout's, answering in the callback) against the writing floor on
    # the same kind of database.
    writing = {mode.backend: mode.name for mode in modes if mode.writes}
    results["ratio_to_writing_floor"] = {
        mode.name: results["callback"][mode.name]["p50_ms"]
        / results["callback"][writing[mode.backend]]["p50_ms"]
        for mode in modes
        if mode.name in results["answered_in_callback"]
        and mode.code is None
        and mode.backend in writing
    }
    return results


def table(results: JSON) -> str:
    rows = [
        "| time to the interaction callback | n | p50 (ms) | p99 (ms) | p50 / floor | "
        "p99 / floor | p50 of each quarter (ms) |",
        "|---|--:|--:|--:|--:|--:|---|",
    ]
    for name, s in results["callback"].items():
        ratio = results["ratio_to_floor"][name]
        quarters = " · ".join(f"{v:.2f}" for v in results["callback_p50_by_quarter_ms"][name])
        rows.append(
            f"| {name} | {s['n']} | {s['p50_ms']:.2f} | {s['p99_ms']:.2f} | "
            f"**{ratio['p50']:.2f}x** | **{ratio['p99']:.2f}x** | {quarters} |"
        )
    rows += [
        "",
        "| also measured (ms after the interaction was sent) | n | p50 | p90 | p99 |",
        "|---|--:|--:|--:|--:|",
    ]
    sections = (
        ("answer shown", "shown"),
        ("`Engine.handle`", "engine_handle"),
        ("the INSERT+COMMIT alone", "floor_write"),
        ("partner's DM arrives", "dm"),
    )
    for title, key in sections:
        for name, s in results[key].items():
            if name == "floor":
                continue
            rows.append(
                f"| {title}, {name} | {s['n']} | {s['p50_ms']:.2f} | {s['p90_ms']:.2f} | "
                f"{s['p99_ms']:.2f} |"
            )
    floor = results["callback"]["floor"]["p50_ms"]
    rows.append("")
    for name, engine in results["engine_handle"].items():
        if name not in results["answered_in_callback"]:
            continue
        adapter = results["callback"][name]["p50_ms"] - engine["p50_ms"] - floor
        rows.append(
            f"- {name}: callback p50 - `Engine.handle` p50 - floor p50 = {adapter:.2f} ms "
            "(what the adapter adds, roughly)"
        )
    for name, ratio in results["ratio_to_writing_floor"].items():
        rows.append(f"- {name}: callback p50 / the writing floor's on its database = {ratio:.2f}x")
    return "\n".join(rows)


def start_fake(users: int, bots: int) -> tuple[subprocess.Popen[str], int]:
    command = [sys.executable, "-m", "bench.bench_discord", "--serve-fake"]
    command += ["--users", str(users), "--bots", str(bots)]
    fake = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert fake.stdout is not None
    return fake, int(json.loads(fake.stdout.readline())["port"])


def close_fake(fake: subprocess.Popen[str]) -> None:
    stdin: IO[str] | None = fake.stdin
    if stdin is not None:
        stdin.close()
    try:
        fake.wait(10)
    except subprocess.TimeoutExpired:
        fake.kill()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wins", type=int, default=1000, help="timed /wins per bot")
    parser.add_argument("--users", type=int, default=400, help="people (in users/2 pairs)")
    parser.add_argument(
        "--rate", type=float, default=30.0, help="/wins per second, all bots together (0: flat out)"
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("MENTORBOT_BENCH_POSTGRES_URL"),
        help="also run mentorbot on PostgreSQL: an admin URL (a database is created and "
        "dropped); default $MENTORBOT_BENCH_POSTGRES_URL",
    )
    parser.add_argument(
        "--defer-first",
        action="store_true",
        help="also run mentorbot deferring every slash command at once (defer_after=0)",
    )
    parser.add_argument(
        "--compare",
        type=Path,
        action="append",
        default=[],
        help="also run mentorbot (SQLite) with the code in this folder (another checkout, "
        "holding this bench/bench_discord.py); may be given more than once",
    )
    parser.add_argument(
        "--writing-floor",
        action="store_true",
        help="also run the floor writing each /win in one INSERT+COMMIT first (SQLite, and "
        "PostgreSQL with --postgres-url)",
    )
    parser.add_argument(
        "--restart",
        action="store_true",
        help="start each mentorbot again after its warm-up, so every person's first /win "
        "after a start is timed",
    )
    parser.add_argument("--json", type=Path, help="write every number here too")
    parser.add_argument("--serve-fake", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--bots", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--serve-bot", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_fake:
        asyncio.run(serve_fake(args.users, args.bots))
        return
    if args.serve_bot:
        spec = json.loads(args.serve_bot)
        asyncio.run(serve_bot(BotSpec(**{**spec, "mode": Mode(**spec["mode"])})))
        return
    folder = Path(tempfile.mkdtemp(prefix="bench-discord-"))
    postgres = asyncio.run(create_postgres(args.postgres_url)) if args.postgres_url else None
    modes = modes_for(args, folder, postgres)
    fake, port = start_fake(args.users, len(modes))
    load = os.getloadavg()[0]
    try:
        results = asyncio.run(bench(args, port, folder, modes, load))
    finally:
        close_fake(fake)
        if postgres:
            asyncio.run(drop_postgres(postgres))
        shutil.rmtree(folder, ignore_errors=True)
    print(table(results))
    loads = results["load_average"]
    print(f"\nload average {loads['start']:.2f} at the start, {loads['end']:.2f} at the end")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
