"""Benchmark: ``/win`` through the Engine on a SQLite file or (``--postgres-url``) on
PostgreSQL.

Run by hand (``python -m bench.bench_win --help``); the numbers live in bench/README.md.
Benchmarks are never timed inside the tests.

The seed is built once through the engine itself: ``--users`` people in ``--users / 2``
active pairs, each proposed by the mentor with ``/mentor pair`` and accepted by the mentee
with the button from the DM. Every repeat then works on fresh copies of that seed (a
file copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL):

1. ``--wins`` ``/win`` commands through ``Engine.handle``, spread over the users with the
   clock moving a little between them, each call timed on its own;
2. the baseline, on a second copy of the seed: as many bare one-row ``INSERT`` + ``COMMIT``
   transactions into ``wins`` through the same ``Database`` — one write
   transaction, the floor under anything the engine does. Steps 1 and 2 take turns in
   chunks of ``INTERLEAVE``, so machine noise hits both alike;
3. the outbox the wins filled, delivered with ``deliver_all`` and timed as a whole.

Throughput is sequential: one caller, wins per second of time spent in the loop.
Memory and the SQL statement mix are measured in one extra pass of step 1 that is not
timed: tracemalloc hooks every allocation and would slow the timed loop down.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import importlib.metadata
import os
import platform
import pstats
import random
import resource
import shutil
import sqlite3
import statistics
import sys
import time
import tracemalloc
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import event, insert, make_url, select
from sqlalchemy import text as sql_text

from bench.workdir import run_in_workdir
from bot.clock import ManualClock
from bot.content import Content
from bot.delivery import deliver_all
from bot.effects import Effect, PostToChannel, ReplyEphemeral, SendDM, UpdateMessage
from bot.engine import Engine
from bot.events import ButtonClicked, CommandInvoked, Event
from bot.milestones import WIN_MILESTONES
from bot.refs import Platform, UserRef
from bot.storage.database import Database, sqlite_url
from bot.storage.models import Member, Win
from tests.statements import alone_statements, statement_kind

WORKSPACE = "bench"
START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
BETWEEN_PAIRS = timedelta(minutes=1)
BETWEEN_WINS = timedelta(seconds=30)
# The trigger that counts a win up on SQLite (bot/storage/migrations, 0009).
WINS_COUNTED = "wins_counted"
# /win commands (and baseline inserts) per turn when the two take turns.
INTERLEAVE = 100
PHRASES = (
    "shipped the login page",
    "gave my first code review that got a thank-you",
    "fixed the flaky integration test",
    "asked for help early instead of staying stuck",
    "paired with the design team on the onboarding flow",
    "wrote the migration guide 🎉",
    "closed 5 support tickets",
    "presented the roadmap at the all-hands",
)


class BenchError(Exception):
    """The engine did not do what the benchmark expects (it would be timing an error path)."""


@dataclass
class Recorder:
    """The platform end of the outbox: keeps what would have been sent."""

    dms: list[tuple[str, Content]] = field(default_factory=list)
    posts: int = 0

    async def perform(self, effect: SendDM | PostToChannel) -> None:
        if isinstance(effect, SendDM):
            self.dms.append((effect.to.user_id, effect.content))
        else:
            self.posts += 1

    def button(self, user: str, label: str) -> str:
        """The action id of the newest button labelled ``label`` sent to ``user``."""
        for to, content in reversed(self.dms):
            if to != user:
                continue
            for button in content.buttons:
                if button.label == label:
                    return button.action_id
        raise BenchError(f"{user} got no [{label}] button")


@dataclass(frozen=True)
class Repeat:
    """One repeat's numbers. Latencies in milliseconds."""

    wins_per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    plain_p50_ms: float
    milestone_p50_ms: float
    delivered: int
    deliver_msgs_per_s: float
    baseline_per_s: float
    baseline_p50_ms: float
    baseline_p90_ms: float
    baseline_p99_ms: float
    p50_vs_baseline: float
    plain_vs_baseline: float


LABELS = {
    "wins_per_s": "engine /win throughput (wins/s)",
    "p50_ms": "engine /win latency p50 (ms)",
    "p90_ms": "engine /win latency p90 (ms)",
    "p99_ms": "engine /win latency p99 (ms)",
    "plain_p50_ms": "  p50, wins reaching no milestone",
    "milestone_p50_ms": "  p50, wins reaching a milestone",
    "delivered": "outbox messages delivered",
    "deliver_msgs_per_s": "outbox delivery (messages/s)",
    "baseline_per_s": "baseline INSERT+COMMIT (tx/s)",
    "baseline_p50_ms": "baseline latency p50 (ms)",
    "baseline_p90_ms": "baseline latency p90 (ms)",
    "baseline_p99_ms": "baseline latency p99 (ms)",
    "p50_vs_baseline": "engine p50 / baseline p50",
    "plain_vs_baseline": "  no-milestone p50 / baseline p50",
}


@dataclass(frozen=True)
class Memory:
    wins: int
    tracemalloc_peak_mib: float
    # Still allocated after the loop and a full collection: caches, or a leak.
    retained_mib: float
    statements_per_win: dict[str, float]
    # Statements other than BEGIN and COMMIT, per /win, for wins reaching no milestone
    # and for those reaching one (the "statements per /win").
    plain_statements: float
    milestone_statements: float


@dataclass(frozen=True)
class Plan:
    users: list[str]
    # (user, text) per /win, the same for every repeat and for the baseline.
    wins: list[tuple[str, str]]
    # Whether that /win reaches an automatic milestone (the 1st, 10th... win of its user).
    milestone: list[bool]
    # Whether each /win carries a delivery key, as every platform's does (a Slack
    # command's trigger id, a Discord interaction's id), which the event claims.
    keyed: bool = True


def ref(user: str) -> UserRef:
    return UserRef(Platform.CONSOLE, WORKSPACE, user)


def display(user: str) -> str:
    return user.capitalize()


def answer(effects: list[Effect]) -> str:
    return "\n".join(
        e.content.text for e in effects if isinstance(e, ReplyEphemeral | UpdateMessage)
    )


async def expect(engine: Engine, event: Event, start: str) -> None:
    text = answer(await engine.handle(event))
    if not text.startswith(start):
        raise BenchError(f"expected an answer starting {start!r}, got {text!r}")


def remove_database(path: Path) -> None:
    """The file and SQLite's sidecars, left over from an earlier run in ``--db-dir``."""
    for leftover in (path, *(path.with_name(path.name + end) for end in ("-wal", "-shm"))):
        leftover.unlink(missing_ok=True)


def copy_database(source: Path, target: Path) -> Path:
    remove_database(target)
    shutil.copyfile(source, target)
    wal = source.with_name(source.name + "-wal")
    if wal.exists():  # normally checkpointed away when the last connection closed
        shutil.copyfile(wal, target.with_name(target.name + "-wal"))
    return target


class Store:
    """Where the databases live: SQLite files in the work folder, or databases on a
    PostgreSQL server (made from the seed with ``CREATE DATABASE ... TEMPLATE``)."""

    def __init__(self, work: Path, postgres_url: str | None) -> None:
        self.work = work
        self.admin = (
            make_url(postgres_url).set(drivername="postgresql").render_as_string(False)
            if postgres_url
            else None
        )
        self.prefix = f"bench_win_{uuid.uuid4().hex[:8]}"
        self.made: list[str] = []

    @property
    def name(self) -> str:
        return "postgresql" if self.admin else "sqlite"

    async def _admin(self, sql: str) -> None:
        assert self.admin is not None
        connection = await asyncpg.connect(self.admin)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    def _url(self, name: str) -> str:
        assert self.admin is not None
        return make_url(self.admin).set(database=name).render_as_string(False)

    async def seed_url(self) -> str:
        if self.admin is None:
            template = self.work / "seed.db"
            remove_database(template)
            return sqlite_url(template)
        name = f"{self.prefix}_seed"
        await self._admin(f'CREATE DATABASE "{name}"')
        self.made.append(name)
        return self._url(name)

    async def copy(self, name: str) -> str:
        """A fresh copy of the seed (no connection to the seed may be open)."""
        if self.admin is None:
            return sqlite_url(copy_database(self.work / "seed.db", self.work / f"{name}.db"))
        copy = f"{self.prefix}_{name.replace('-', '_')}"
        await self._admin(f'CREATE DATABASE "{copy}" TEMPLATE "{self.prefix}_seed"')
        self.made.append(copy)
        return self._url(copy)

    async def drop_all(self) -> None:
        for name in reversed(self.made):
            await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.made.clear()


async def seed(url: str, users: int) -> tuple[list[str], datetime]:
    """Pairs formed the way people form them: a proposal, then the mentee's Accept."""
    database = Database(url)
    await database.upgrade()
    clock = ManualClock(START)
    engine = Engine(database, clock)
    recorder = Recorder()
    senders = {Platform.CONSOLE: recorder}
    people = []
    for number in range(users // 2):
        mentor, mentee = f"mentor{number:03d}", f"mentee{number:03d}"
        proposal = CommandInvoked(
            user=ref(mentor),
            user_name=display(mentor),
            command="mentor",
            text=f"pair <@{mentor}> <@{mentee}>",
        )
        await expect(engine, proposal, "I asked")
        await deliver_all(database, senders, clock)
        accept = ButtonClicked(
            user=ref(mentee),
            user_name=display(mentee),
            action_id=recorder.button(mentee, "Accept"),
            message_id=f"invitation-{number}",
        )
        await expect(engine, accept, "🤝 You're paired")
        await deliver_all(database, senders, clock)
        clock.advance(BETWEEN_PAIRS)
        people += [mentor, mentee]
    await database.dispose()
    return people, clock.now()


def plan(users: list[str], wins: int, seed_value: int, *, keyed: bool = True) -> Plan:
    rng = random.Random(seed_value)
    chosen = [(rng.choice(users), f"{rng.choice(PHRASES)} (#{n})") for n in range(wins)]
    counts: Counter[str] = Counter()
    reaches = []
    for user, _text in chosen:
        counts[user] += 1
        reaches.append(counts[user] in WIN_MILESTONES)
    return Plan(users, chosen, reaches, keyed)


def win_events(the_plan: Plan) -> list[CommandInvoked]:
    return [
        CommandInvoked(
            user=ref(user),
            user_name=display(user),
            command="win",
            text=text,
            event_key=f"command:bench-{n}" if the_plan.keyed else None,
        )
        for n, (user, text) in enumerate(the_plan.wins)
    ]


async def run_wins(engine: Engine, clock: ManualClock, events: Sequence[Event]) -> list[int]:
    """Each ``handle`` call's duration in nanoseconds."""
    latencies = []
    for win in events:
        clock.advance(BETWEEN_WINS)
        started = time.perf_counter_ns()
        effects = await engine.handle(win)
        latencies.append(time.perf_counter_ns() - started)
        if not answer(effects).startswith("Saved to your journal"):
            raise BenchError(f"a /win was not saved: {answer(effects)!r}")
    return latencies


async def member_keys(database: Database) -> dict[str, tuple[int, int]]:
    """external id -> (member id, workspace id)."""
    async with database.transaction() as session:
        rows = await session.execute(select(Member.external_id, Member.id, Member.workspace_id))
        return {external: (member_id, workspace_id) for external, member_id, workspace_id in rows}


async def baseline_database(store: Store, name: str) -> Database:
    """A copy of the seed for the baseline: on SQLite without the trigger that counts a
    win up (migration 0009), so its INSERT stays one bare row; the Engine's ``/win`` has
    the trigger and pays for it."""
    floor = Database(await store.copy(name))
    if floor.is_sqlite:
        async with floor.transaction() as session:
            await session.execute(sql_text(f"DROP TRIGGER {WINS_COUNTED}"))
    return floor


async def run_baseline(
    database: Database,
    clock: ManualClock,
    members: dict[str, tuple[int, int]],
    wins: Sequence[tuple[str, str]],
) -> list[int]:
    """Each bare INSERT + COMMIT transaction's duration in nanoseconds."""
    latencies = []
    for user, text in wins:
        clock.advance(BETWEEN_WINS)
        member_id, workspace_id = members[user]
        started = time.perf_counter_ns()
        # Brief, as an event's (on SQLite on the event loop's thread): the cheapest
        # transaction the Database has.
        async with database.transaction(brief=True) as session:
            await session.execute(
                insert(Win).values(
                    workspace_id=workspace_id,
                    member_id=member_id,
                    text=text,
                    created_at=clock.now(),
                )
            )
        latencies.append(time.perf_counter_ns() - started)
    return latencies


def percentiles(latencies_ns: list[int]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(latencies_ns, n=100, method="inclusive")
    return cuts[49] / 1e6, cuts[89] / 1e6, cuts[98] / 1e6


def median_ms(latencies_ns: list[int]) -> float:
    return statistics.median(latencies_ns) / 1e6 if latencies_ns else float("nan")


async def one_repeat(store: Store, index: int, start: datetime, the_plan: Plan) -> Repeat:
    events = win_events(the_plan)
    database = Database(await store.copy(f"engine-{index}"))
    clock = ManualClock(start)
    engine = Engine(database, clock)
    floor = await baseline_database(store, f"baseline-{index}")
    floor_clock = ManualClock(start)
    members = await member_keys(floor)

    # Engine and baseline take turns in chunks, so a noisy neighbour on a shared machine
    # slows both alike instead of skewing their ratio.
    latencies: list[int] = []
    baseline: list[int] = []
    engine_ns = baseline_ns = 0
    for begin in range(0, len(events), INTERLEAVE):
        began = time.perf_counter_ns()
        latencies += await run_wins(engine, clock, events[begin : begin + INTERLEAVE])
        engine_ns += time.perf_counter_ns() - began
        chunk = the_plan.wins[begin : begin + INTERLEAVE]
        began = time.perf_counter_ns()
        baseline += await run_baseline(floor, floor_clock, members, chunk)
        baseline_ns += time.perf_counter_ns() - began
    await floor.dispose()

    recorder = Recorder()
    began = time.perf_counter_ns()
    report = await deliver_all(database, {Platform.CONSOLE: recorder}, clock)
    deliver_s = (time.perf_counter_ns() - began) / 1e9
    if report.sent == 0 or report.retried or report.failed:
        raise BenchError(f"delivery did not send everything: {report}")
    await database.dispose()

    wins_per_s = len(latencies) / (engine_ns / 1e9)
    baseline_per_s = len(baseline) / (baseline_ns / 1e9)
    p50, p90, p99 = percentiles(latencies)
    marked = list(zip(latencies, the_plan.milestone, strict=True))
    b50, b90, b99 = percentiles(baseline)
    plain_p50 = median_ms([ns for ns, reached in marked if not reached])
    return Repeat(
        wins_per_s=wins_per_s,
        p50_ms=p50,
        p90_ms=p90,
        p99_ms=p99,
        plain_p50_ms=plain_p50,
        milestone_p50_ms=median_ms([ns for ns, reached in marked if reached]),
        delivered=report.sent,
        deliver_msgs_per_s=report.sent / deliver_s,
        baseline_per_s=baseline_per_s,
        baseline_p50_ms=b50,
        baseline_p90_ms=b90,
        baseline_p99_ms=b99,
        p50_vs_baseline=p50 / b50,
        plain_vs_baseline=plain_p50 / b50,
    )


@contextmanager
def statement_time(database: Database) -> Iterator[Counter[str]]:
    """Within the block, the time spent inside ``cursor.execute`` (ns) by statement kind."""
    spent: Counter[str] = Counter()
    began: dict[int, int] = {}

    def before(_conn: Any, cursor: Any, _statement: str, *_rest: Any) -> None:
        began[id(cursor)] = time.perf_counter_ns()

    def after(_conn: Any, cursor: Any, statement: str, *_rest: Any) -> None:
        spent[statement_kind(statement)] += time.perf_counter_ns() - began.pop(id(cursor))

    sync_engine = database.engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", before)
    event.listen(sync_engine, "after_cursor_execute", after)
    try:
        yield spent
    finally:
        event.remove(sync_engine, "before_cursor_execute", before)
        event.remove(sync_engine, "after_cursor_execute", after)


@contextmanager
def counting_statements(database: Database) -> Iterator[Counter[str]]:
    """Statements by kind (``statement_kind``) and COMMITs, counted while the block runs;
    those ``Database.fetch_alone`` sends past SQLAlchemy's cursor (PostgreSQL's one-statement
    ``/win``) too."""
    counts: Counter[str] = Counter()

    def count(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        counts[statement_kind(statement)] += 1

    def count_commit(_conn: Any) -> None:
        counts["COMMIT"] += 1

    sync_engine = database.engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", count)
    event.listen(sync_engine, "commit", count_commit)
    try:
        with alone_statements(database, lambda kind: counts.update([kind])):
            yield counts
    finally:
        event.remove(sync_engine, "before_cursor_execute", count)
        event.remove(sync_engine, "commit", count_commit)


async def measure_memory(
    store: Store, start: datetime, events: Sequence[Event], milestone: Sequence[bool]
) -> Memory:
    """The engine loop once more, untimed, with tracemalloc and a statement counter on."""
    database = Database(await store.copy("memory"))
    clock = ManualClock(start)
    engine = Engine(database, clock)
    work: dict[bool, list[int]] = {False: [], True: []}
    gc.collect()
    tracemalloc.start()
    try:
        with counting_statements(database) as counts:
            for one, reaches in zip(events, milestone, strict=False):
                before = sum(n for kind, n in counts.items() if kind not in ("BEGIN", "COMMIT"))
                await run_wins(engine, clock, [one])
                after = sum(n for kind, n in counts.items() if kind not in ("BEGIN", "COMMIT"))
                work[reaches].append(after - before)
            _current, peak = tracemalloc.get_traced_memory()
            gc.collect()
            retained, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    await database.dispose()
    per_win = {kind: round(n / len(events), 3) for kind, n in counts.most_common()}
    per_win["total"] = round(sum(counts.values()) / len(events), 3)
    return Memory(
        wins=len(events),
        tracemalloc_peak_mib=peak / 2**20,
        retained_mib=retained / 2**20,
        statements_per_win=per_win,
        plain_statements=statistics.fmean(work[False]) if work[False] else float("nan"),
        milestone_statements=statistics.fmean(work[True]) if work[True] else float("nan"),
    )


async def profile_passes(
    store: Store,
    start: datetime,
    run: Callable[[Engine, ManualClock], Awaitable[object]],
    *,
    events: int,
    each: str,
    own_rows: int,
) -> None:
    """Where the time goes in ``run`` (``events`` events through an Engine on a copy of
    ``store``, its clock at ``start``): time inside each kind of SQL statement in one
    plain pass, then cProfile over a second pass, with ``own_rows`` of mentorbot's own
    functions. ``each`` names one event in the report ("a /win", "an event")."""
    database = Database(await store.copy("sql-time"))
    clock = ManualClock(start)
    with statement_time(database) as spent:
        wall = time.perf_counter_ns()
        await run(Engine(database, clock), clock)
        wall = time.perf_counter_ns() - wall
    await database.dispose()
    per_event = events * 1e6
    print(
        f"\nTime inside cursor.execute per {each.split()[-1]}, by statement "
        f"({each} took {wall / per_event:.2f} ms on average in this pass):"
    )
    for kind, total in spent.most_common():
        print(f"  {total / per_event:7.3f} ms  {kind}")
    print(f"  {sum(spent.values()) / per_event:7.3f} ms  all statements")

    database = Database(await store.copy("profile"))
    clock = ManualClock(start)
    engine = Engine(database, clock)
    profiler = cProfile.Profile()
    profiler.enable()
    await run(engine, clock)
    profiler.disable()
    await database.dispose()
    stats = pstats.Stats(profiler, stream=sys.stdout)
    print("cProfile, top functions by own time:")
    stats.sort_stats("tottime").print_stats(15)
    print("cProfile, mentorbot's own functions by cumulative time:")
    stats.sort_stats("cumulative").print_stats(r"/bot/", own_rows)


async def profile(store: Store, start: datetime, events: Sequence[Event]) -> None:
    """Where a /win's time goes (``profile_passes``)."""
    await profile_passes(
        store,
        start,
        lambda engine, clock: run_wins(engine, clock, events),
        events=len(events),
        each="a /win",
        own_rows=15,
    )


def environment() -> dict[str, str]:
    return {
        "date": datetime.now(UTC).date().isoformat(),
        "nproc": str(os.cpu_count()),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": importlib.metadata.version("sqlalchemy"),
        "aiosqlite": importlib.metadata.version("aiosqlite"),
        "platform": platform.platform(),
    }


def max_rss_mib() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 2**10  # bytes vs KiB


def medians(repeats: list[Repeat]) -> dict[str, float]:
    return {f.name: statistics.median(getattr(r, f.name) for r in repeats) for f in fields(Repeat)}


def table(repeats: list[Repeat]) -> str:
    middle = medians(repeats)
    rows = [f"| {'metric':<34} | {'median':>9} | {'min':>9} | {'max':>9} |"]
    rows.append(f"|{'-' * 36}|{'-' * 10}:|{'-' * 10}:|{'-' * 10}:|")
    for name, label in LABELS.items():
        values = [float(getattr(r, name)) for r in repeats]
        cells = [middle[name], min(values), max(values)]
        digits = 0 if name.endswith("_per_s") or name == "delivered" else 2
        rows.append(f"| {label:<34} | " + " | ".join(f"{v:>9.{digits}f}" for v in cells) + " |")
    return "\n".join(rows)


async def main_async(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    if args.users < 2 or args.users % 2:
        raise SystemExit("--users must be an even number of at least 2")
    if args.wins < 2 or args.repeat < 1 or args.memory_wins < 1:
        raise SystemExit("--wins must be at least 2, --repeat and --memory-wins at least 1")
    store = Store(work, args.postgres_url)
    try:
        return await measure(args, store)
    finally:
        await store.drop_all()


async def measure(args: argparse.Namespace, store: Store) -> dict[str, Any]:
    work = store.work
    began = time.perf_counter()
    users, start = await seed(await store.seed_url(), args.users)
    seeded_s = time.perf_counter() - began
    print(f"seeded {len(users)} users in {len(users) // 2} pairs in {seeded_s:.1f}s ({work})")
    the_plan = plan(users, args.wins, args.seed, keyed=not args.unkeyed)

    repeats = []
    for index in range(args.repeat):
        repeat = await one_repeat(store, index, start, the_plan)
        print(
            f"repeat {index + 1}/{args.repeat}: {repeat.wins_per_s:.0f} wins/s, "
            f"p50 {repeat.p50_ms:.2f} ms, baseline p50 {repeat.baseline_p50_ms:.2f} ms, "
            f"delivery {repeat.deliver_msgs_per_s:.0f} msg/s"
        )
        repeats.append(repeat)
    events = win_events(the_plan)
    memory = await measure_memory(store, start, events[: args.memory_wins], the_plan.milestone)
    if args.profile:
        await profile(store, start, events)
    rss = max_rss_mib()

    env = environment()
    print(
        f"\n/win through the Engine on {store.name}: {args.wins} wins, {args.users} users, "
        f"medians of {args.repeat} repeats; {sum(the_plan.milestone)} of the wins reach a "
        f"milestone; {'no delivery keys' if args.unkeyed else 'each with a delivery key'}\n"
        f"({env['nproc']} CPUs, Python {env['python']}, SQLite {env['sqlite']}, {env['date']})\n"
    )
    print(table(repeats))
    statements = ", ".join(f"{k} {v:g}" for k, v in memory.statements_per_win.items())
    print(
        f"\nmemory: tracemalloc peak {memory.tracemalloc_peak_mib:.1f} MiB over "
        f"{memory.wins} untimed /win, {memory.retained_mib:.2f} MiB still held after them "
        f"and a gc; process max RSS {rss:.0f} MiB"
        f"\nSQL per /win: {statements}"
        f"\nstatements per /win besides BEGIN and COMMIT: {memory.plain_statements:.2f} "
        f"reaching no milestone, {memory.milestone_statements:.2f} reaching one"
    )
    return {
        "config": {
            "wins": args.wins,
            "users": args.users,
            "repeat": args.repeat,
            "seed": args.seed,
            "memory_wins": args.memory_wins,
            "keyed": not args.unkeyed,
        },
        "environment": {**env, "database": store.name},
        "seed_seconds": seeded_s,
        "medians": medians(repeats),
        "repeats": [asdict(r) for r in repeats],
        "memory": {**asdict(memory), "max_rss_mib": rss},
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_win",
        description="Benchmark /win through the Engine on a SQLite file or PostgreSQL.",
    )
    parser.add_argument(
        "--postgres-url",
        help="run on PostgreSQL: an admin URL (databases are created and dropped)",
    )
    parser.add_argument("--wins", type=int, default=2000, help="/win commands per repeat")
    parser.add_argument("--users", type=int, default=200, help="people, in users/2 pairs")
    parser.add_argument("--repeat", type=int, default=3, help="repeats, each on a fresh db")
    parser.add_argument("--db-dir", type=Path, help="keep the database files here")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--seed", type=int, default=2026, help="random seed for who wins when")
    parser.add_argument(
        "--memory-wins",
        type=int,
        default=800,
        help="/win commands in the untimed tracemalloc pass (its peak levels off by ~800)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="also profile one pass (cProfile, SQL time)"
    )
    parser.add_argument(
        "--unkeyed",
        action="store_true",
        help="/win without a delivery key (the shape of the runs before 2026-12-05; "
        "every platform event has one)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    run_in_workdir(args.db_dir, "bench-win-", lambda work: main_async(args, work), args.json)


if __name__ == "__main__":
    main()
