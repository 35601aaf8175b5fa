"""Benchmark: the dispatch pass (``run_due``) against the number of pairs that exist, and
the common alternative of one APScheduler cron job per pair.

Run by hand (``python -m bench.bench_dispatch --help``); the numbers live in
bench/README.md. Benchmarks are never timed inside the tests.

**Ours**, for each backend (SQLite, PostgreSQL) and size (``--sizes``, default 10k, 100k
and 1M pairs):

1. *seed* (its own process): a fresh database migrated with ``Database.upgrade()``, then
   ``--sizes`` active pairs created with ``bot.pairs_import.import_pairs`` as of ``T0``
   (weekly, on every weekday, at several local times, in six timezones, over
   ``--workspaces`` Slack workspaces). Timed: the pairs' creation cost.
2. *measure* (a second, fresh process, so its memory numbers are not the seed's): the
   ``--due`` pairs with ``id % (size // due) == 0`` (spread over the whole table) are made
   due at ``T0``: their rule becomes "weekly, Wednesday 08:55 UTC" and ``next_checkin_at``
   that occurrence, 5 minutes before ``T0`` (so the pass sends it rather than recording
   it as missed); all others keep the schedule the import gave them, after ``T0`` (up to
   a week ahead), and no heads-up, nudge, pause end or anniversary is due at ``T0``.
   Each repeat:

   - resets the due set: deletes the check-ins, answers, flow sessions and outbox rows the
     previous pass created and makes the same pairs due again (then ``VACUUM ANALYZE``
     on PostgreSQL, a WAL checkpoint on SQLite), untimed;
   - the baseline: one bare ``SELECT * FROM pairs WHERE next_checkin_at <= T0 LIMIT due``
     transaction through the same ``Database``: what the index alone costs;
   - ONE ``Engine.run_due(T0)``, timed: it opens ``due`` check-ins (per pair: a check-in,
     two flow sessions, two prompts in the outbox; advances ``next_checkin_at``; the
     answer rows come with the first answers), and runs every other job of the pass
     (which find nothing). The pass's RSS growth is read from ``VmHWM`` (reset through
     ``/proc/self/clear_refs`` right before it).

   Then one more, untimed pass with tracemalloc on (its peak is the pass's Python heap)
   and a statement counter, which also captures the SQL of the check-in claim; that
   statement is run once more under ``EXPLAIN QUERY PLAN`` (SQLite) or
   ``EXPLAIN (ANALYZE, BUFFERS)`` (PostgreSQL, rolled back) with the rows due again.
   ``--profile`` adds one cProfile pass at the smallest size.

**Theirs** (``--compare-apscheduler``, at ``--aps-sizes``, default 10k and 100k): APScheduler
3's ``BackgroundScheduler`` with a ``SQLAlchemyJobStore(url="sqlite:///...")`` (defaults
otherwise: ``ThreadPoolExecutor`` with 10 threads), ``coalesce=True`` and a one-hour
``misfire_grace_time`` (the default of 1 s would drop most of a 1,000-job burst).

1. *seed* (own process): the same pairs, one ``add_job(prompt, CronTrigger(day_of_week,
   hour, minute, timezone), id=..., replace_existing=True)`` per pair on the running
   scheduler, timed. Weekdays that fall within a day of the real today are moved, so that
   no job fires by itself during the run.
2. *measure* (own process): per repeat, with the scheduler paused, ``modify_job(id,
   next_run_time=now)`` for ``--due`` jobs spread over the store (untimed); then the
   clock starts, ``resume()`` wakes the scheduler, and it stops when every one of those
   jobs has run and the scheduler has stored each job's next run time. Each job inserts
   its pair's two prompt rows in one transaction into a separate SQLite file (WAL,
   ``synchronous=NORMAL``, one connection per executor thread): less work than our pass
   does per pair, and no lock contention with the job store.

Memory is the same on both sides: tracemalloc's peak over one untimed pass, and the RSS
growth (``VmHWM`` after minus ``VmRSS`` before) of the creation and of the timed passes
(the largest of the repeats: later repeats reuse memory the first one freed), each in a
process that has done nothing bigger before; and the peak RSS itself (``VmHWM``, the whole
process at its highest during the step: both sides' workers import the same modules).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import importlib.metadata
import json
import math
import os
import pstats
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import make_url

from bench.bench_win import environment, remove_database, statement_time
from bot.clock import ManualClock
from bot.engine import Engine
from bot.pairs_import import import_pairs
from bot.storage.database import Database, sqlite_url
from bot.storage.models import Checkin, CheckinAnswer, FlowSession, OutboxMessage, Pair
from tests.statements import listening, statement_kind

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
DUE_AT = T0 - timedelta(minutes=5)
DEFAULT_PG_URL = "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
# One database per run and size, so runs started side by side do not drop each other's.
PG_DATABASE = "mentorbot_bench_dispatch_{run}_{size}"
ZONES = (
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "America/Los_Angeles",
)
TIMES = ("09:00", "09:30", "10:00", "11:15", "14:00", "16:45")
PASS_GOAL_MS = 200.0
GROWTH_GOAL = 2.0
ALTERNATIVE_GOAL = 10.0
# How long a firing of the alternative may take before the benchmark gives up on it.
APS_TIMEOUT_S = 900.0


class BenchError(Exception):
    """The code under test did not do what the benchmark expects."""


# --- shared ---------------------------------------------------------------------------


def pair_row(number: int, workspaces: int) -> dict[str, str]:
    """The ``number``-th pair, as a ``pairs import`` row (the same for both designs)."""
    return {
        "platform": "slack",
        "workspace_id": f"T{number % workspaces:05d}",
        "mentor_id": f"U{number:07d}A",
        "mentee_id": f"U{number:07d}B",
        "cadence": "weekly",
        "weekday": str(number % 7),
        "time": TIMES[number // 7 % len(TIMES)],
        "timezone": ZONES[number // 42 % len(ZONES)],
    }


def pair_rows(size: int, workspaces: int) -> Iterator[dict[str, str]]:
    return (pair_row(number, workspaces) for number in range(size))


def _status_mib(name: str) -> float:
    """A ``VmRSS``/``VmHWM`` line of /proc/self/status in MiB (NaN where there is none)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return math.nan
    found = re.search(rf"^{name}:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) / 1024 if found else math.nan


def start_rss_peak() -> float:
    """Reset the process' RSS high-water mark (Linux: ``5`` into clear_refs); the RSS now."""
    gc.collect()
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return math.nan
    return _status_mib("VmRSS")


def rss_growth(before: float) -> float:
    """How far RSS rose above ``before`` since :func:`start_rss_peak`."""
    return _status_mib("VmHWM") - before


def rss_peak() -> float:
    """The process' RSS high-water mark since :func:`start_rss_peak` (MiB): its whole
    memory at its peak, where :func:`rss_growth` is only what the step added."""
    return _status_mib("VmHWM")


def code_version() -> str:
    """The commit measured, and which product files differ from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--", "bot", "scheduler"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    changed = [line[3:] for line in status.splitlines() if line.strip()]
    return head + (f" + uncommitted changes to {', '.join(changed)}" if changed else "")


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def spread(values: Sequence[float]) -> tuple[float, float, float]:
    return median(values), min(values, default=math.nan), max(values, default=math.nan)


def run_worker(kind: str, spec: dict[str, Any], work: Path) -> dict[str, Any]:
    """Run one measurement in a fresh Python process and return what it wrote."""
    out = work / f"{kind}-{os.getpid()}-{time.monotonic_ns()}.json"
    command = [
        sys.executable,
        "-m",
        "bench.bench_dispatch",
        "--worker",
        kind,
        "--worker-spec",
        json.dumps(spec),
        "--worker-out",
        str(out),
    ]
    sys.stdout.flush()
    subprocess.run(command, cwd=ROOT, check=True)
    result: dict[str, Any] = json.loads(out.read_text())
    out.unlink()
    return result


# --- ours: seed -------------------------------------------------------------------------


def pg_database_url(admin_url: str, name: str) -> str:
    url = make_url(admin_url).set(database=name)
    return url.render_as_string(hide_password=False)


async def recreate_pg_database(admin_url: str, name: str, *, create: bool = True) -> None:
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def seed_ours(spec: dict[str, Any]) -> dict[str, Any]:
    size, backend = int(spec["pairs"]), str(spec["backend"])
    if backend == "sqlite":
        remove_database(Path(spec["path"]))
        url = sqlite_url(spec["path"])
    else:
        await recreate_pg_database(spec["admin_url"], spec["pg_database"])
        url = pg_database_url(spec["admin_url"], spec["pg_database"])
    database = Database(url)
    await database.upgrade()
    fifth = max(size // 5, 1)
    told = [0]

    def progress(read: int) -> None:  # called after each chunk: tell each fifth once
        if read // fifth > told[0] or read == size:
            told[0] = read // fifth
            print(f"  {backend} {size:,}: {read:,} rows imported", flush=True)

    before = start_rss_peak()
    began = time.perf_counter()
    report = await import_pairs(
        database, pair_rows(size, spec["workspaces"]), T0, progress=progress
    )
    seconds = time.perf_counter() - began
    growth, peak = rss_growth(before), rss_peak()
    await database.dispose()
    if report.created != size or report.rejected:
        raise BenchError(f"the import created {report.created} of {size}: {report.rejected[:3]}")
    return {"import_s": seconds, "import_rss_growth_mib": growth, "import_rss_peak_mib": peak}


# --- ours: measure ----------------------------------------------------------------------


@dataclass(frozen=True)
class PassRepeat:
    pass_ms: float
    baseline_ms: float
    pass_rss_growth_mib: float
    pass_rss_peak_mib: float


async def due_ids(database: Database, size: int, due: int) -> list[int]:
    step = max(size // due, 1)
    async with database.transaction() as session:
        query = select(Pair.id).where(Pair.id % step == 0).order_by(Pair.id).limit(due)
        ids = list((await session.execute(query)).scalars())
    if len(ids) != due:
        raise BenchError(f"found {len(ids)} pairs to make due, wanted {due}")
    return ids


async def reset(database: Database, ids: list[int]) -> None:
    """Undo a pass: what it created goes, the same pairs are due again."""
    async with database.transaction() as session:
        for model in (OutboxMessage, FlowSession, CheckinAnswer, Checkin):
            await session.execute(delete(model))
        await session.execute(
            update(Pair)
            .where(Pair.id.in_(ids))
            .values(
                weekday=DUE_AT.weekday(),
                local_time=f"{DUE_AT:%H:%M}",
                timezone="UTC",
                next_checkin_at=DUE_AT,
                heads_up_at=None,
            )
        )
    if database.is_sqlite:
        # Outside the engine: its connections begin every transaction with BEGIN IMMEDIATE.
        path = make_url(database.url).database
        assert path is not None
        checkpoint = sqlite3.connect(path)
        try:
            checkpoint.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            checkpoint.close()
        return
    async with database.engine.connect() as connection:
        auto = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await auto.exec_driver_sql(
            "VACUUM ANALYZE pairs, checkins, checkin_answers, flow_sessions, outbox"
        )


async def bare_select(database: Database, due: int) -> int:
    """The baseline: the due rows read through the index, in one transaction (ns)."""
    table = Pair.__table__
    began = time.perf_counter_ns()
    async with database.transaction() as session:
        query = select(table).where(table.c.next_checkin_at <= T0).limit(due)
        rows = (await session.execute(query)).all()
    spent = time.perf_counter_ns() - began
    if len(rows) != due:
        raise BenchError(f"the baseline read {len(rows)} due pairs, not {due}")
    return spent


async def one_pass(database: Database, due: int) -> int:
    """``Engine.run_due`` once at ``T0`` (ns), checked to have done exactly the due work."""
    engine = Engine(database, ManualClock(T0))
    began = time.perf_counter_ns()
    report = await engine.run_due(T0)
    spent = time.perf_counter_ns() - began
    if report.checkins_opened != due or report.total != due:
        raise BenchError(f"the pass did not open exactly {due} check-ins: {report}")
    async with database.transaction() as session:
        queued = await session.scalar(select(func.count()).select_from(OutboxMessage))
    if queued != 2 * due:
        raise BenchError(f"the pass queued {queued} prompts, not {2 * due}")
    return spent


def is_claim(statement: str) -> bool:
    """The check-in claim: due pairs joined to their members (and, before the claim
    read columns instead of mapped objects, to their workspace)."""
    return statement.lstrip().startswith("SELECT") and (
        "FROM pairs JOIN" in statement and "pairs.next_checkin_at <=" in statement
    )


async def explain(database: Database, statement: str, parameters: Any) -> list[str]:
    async with database.engine.connect() as connection:
        if database.is_sqlite:
            rows = (
                await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            ).all()
            depth: dict[int, int] = {0: -1}
            lines = []
            for row in rows:
                node, parent, _unused, detail = tuple[Any, ...](row)
                depth[node] = depth.get(parent, -1) + 1
                lines.append("  " * depth[node] + str(detail))
            return lines
        async with connection.begin() as transaction:
            result = await connection.exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters
            )
            lines = [str(row[0]) for row in result.all()]
            await transaction.rollback()
        return lines


async def measure_ours(spec: dict[str, Any]) -> dict[str, Any]:
    backend, size, due = str(spec["backend"]), int(spec["pairs"]), int(spec["due"])
    url = (
        sqlite_url(spec["path"])
        if backend == "sqlite"
        else pg_database_url(spec["admin_url"], spec["pg_database"])
    )
    database = Database(url)
    ids = await due_ids(database, size, due)
    repeats = []
    for index in range(int(spec["repeat"])):
        await reset(database, ids)
        baseline_ns = await bare_select(database, due)
        before = start_rss_peak()
        pass_ns = await one_pass(database, due)
        repeat = PassRepeat(pass_ns / 1e6, baseline_ns / 1e6, rss_growth(before), rss_peak())
        repeats.append(repeat)
        print(
            f"  {backend} {size:,} repeat {index + 1}: pass {repeat.pass_ms:.0f} ms, "
            f"bare SELECT {repeat.baseline_ms:.1f} ms",
            flush=True,
        )

    # Untimed: the Python heap's peak, the statements, and the claim's SQL.
    await reset(database, ids)
    counts: Counter[str] = Counter()
    claims: list[tuple[str, Any]] = []

    def count(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        counts[statement_kind(statement)] += 1
        if is_claim(statement) and not claims:
            claims.append((statement, parameters))

    def count_commit(_conn: Any) -> None:
        counts["COMMIT"] += 1

    with (
        listening(database, "before_cursor_execute", count),
        listening(database, "commit", count_commit),
    ):
        gc.collect()
        tracemalloc.start()
        try:
            await one_pass(database, due)
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    if not claims:
        raise BenchError("no check-in claim statement was seen")

    await reset(database, ids)
    plan = await explain(database, *claims[0])
    if spec.get("profile"):
        await reset(database, ids)
        await profile_pass(database, due, backend, size)
    await database.dispose()
    return {
        "repeats": [asdict(r) for r in repeats],
        "tracemalloc_peak_mib": peak / 2**20,
        "statements_per_due_pair": round(sum(counts.values()) / due, 2),
        "statements": dict(counts.most_common()),
        "claim_sql": claims[0][0],
        "plan": plan,
    }


async def profile_pass(database: Database, due: int, backend: str, size: int) -> None:
    """Where one pass's time goes: time inside each kind of statement, and cProfile."""
    with statement_time(database) as spent:
        profiler = cProfile.Profile()
        profiler.enable()
        wall = await one_pass(database, due)
        profiler.disable()
    print(
        f"\nProfile, {backend} {size:,} pairs, one pass with {due} due "
        f"({wall / 1e6:.0f} ms under cProfile). Time inside cursor.execute, by statement:"
    )
    for kind, total in spent.most_common(15):
        print(f"  {total / 1e6:9.1f} ms  {kind}")
    print(f"  {sum(spent.values()) / 1e6:9.1f} ms  all statements")
    stats = pstats.Stats(profiler, stream=sys.stdout)
    print("cProfile, top functions by own time:")
    stats.sort_stats("tottime").print_stats(15)
    print("cProfile, all functions by cumulative time:")
    stats.sort_stats("cumulative").print_stats(30)
    print("cProfile, mentorbot's own functions by cumulative time:")
    stats.sort_stats("cumulative").print_stats(r"/bot/", 20)


# --- theirs: one APScheduler cron job per pair -------------------------------------------

_prompts_path: str | None = None
_prompts_local = threading.local()


def aps_prompt(pair_id: int, workspace: str, mentor: str, mentee: str) -> None:
    """The per-pair job: queue the pair's two check-in prompts (one transaction)."""
    connection: sqlite3.Connection | None = getattr(_prompts_local, "connection", None)
    if connection is None:
        assert _prompts_path is not None
        connection = sqlite3.connect(_prompts_path, timeout=60, isolation_level=None)
        connection.execute("PRAGMA synchronous=NORMAL")
        _prompts_local.connection = connection
    now = datetime.now(UTC).isoformat()
    text_ = "👋 Time for your check-in with <@{}>. How did it go since last time?"
    connection.execute("BEGIN IMMEDIATE")
    connection.executemany(
        "INSERT INTO prompts (pair_id, workspace, target, text, created_at) VALUES (?,?,?,?,?)",
        [
            (pair_id, workspace, mentor, text_.format(mentee), now),
            (pair_id, workspace, mentee, text_.format(mentor), now),
        ],
    )
    connection.execute("COMMIT")


def create_prompts_table(path: Path) -> None:
    remove_database(path)
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(
        "CREATE TABLE prompts (id INTEGER PRIMARY KEY, pair_id INTEGER, workspace TEXT, "
        "target TEXT, text TEXT, created_at TEXT)"
    )
    connection.commit()
    connection.close()


def count_prompts(path: str) -> int:
    connection = sqlite3.connect(path)
    try:
        found: int = connection.execute("SELECT count(*) FROM prompts").fetchone()[0]
        return found
    finally:
        connection.close()


def aps_scheduler(store_path: str) -> Any:
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    return BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{store_path}")},
        job_defaults={"coalesce": True, "misfire_grace_time": 3600},
        timezone=UTC,
    )


def quiet_weekday(weekday: int) -> int:
    """A weekday on which no job can fire during this run: none within a day of today
    (local days differ from UTC's by at most one, and never come within 10 hours)."""
    today = datetime.now(UTC).weekday()
    avoid = {(today - 1) % 7, today, (today + 1) % 7}
    allowed = [day for day in range(7) if day not in avoid]
    return weekday if weekday not in avoid else allowed[weekday % len(allowed)]


def seed_theirs(spec: dict[str, Any]) -> dict[str, Any]:
    from apscheduler.triggers.cron import CronTrigger

    size = int(spec["pairs"])
    remove_database(Path(spec["store"]))
    scheduler = aps_scheduler(spec["store"])
    scheduler.start()
    before = start_rss_peak()
    began = time.perf_counter()
    for number, row in enumerate(pair_rows(size, spec["workspaces"])):
        hour, minute = row["time"].split(":")
        trigger = CronTrigger(
            day_of_week=quiet_weekday(int(row["weekday"])),
            hour=int(hour),
            minute=int(minute),
            timezone=row["timezone"],
        )
        scheduler.add_job(
            aps_prompt,
            trigger,
            id=f"pair-{number}",
            args=(number, row["workspace_id"], row["mentor_id"], row["mentee_id"]),
            replace_existing=True,
        )
        if (number + 1) % max(size // 5, 1) == 0:
            print(f"  apscheduler {size:,}: {number + 1:,} jobs added", flush=True)
    seconds = time.perf_counter() - began
    growth, peak = rss_growth(before), rss_peak()
    scheduler.shutdown()
    return {
        "create_s": seconds,
        "create_rss_growth_mib": growth,
        "create_rss_peak_mib": peak,
        "store_mib": Path(spec["store"]).stat().st_size / 2**20,
    }


@dataclass
class Firing:
    """Counts the jobs' outcomes as the scheduler reports them."""

    target: int = 0
    executed: int = 0
    failed: int = 0
    missed: int = 0
    done: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def listen(self, event_: Any) -> None:
        from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED

        with self.lock:
            if event_.code == EVENT_JOB_ERROR:
                self.failed += 1
            elif event_.code == EVENT_JOB_MISSED:
                self.missed += 1
            else:
                self.executed += 1
            if self.executed + self.failed + self.missed >= self.target:
                self.done.set()

    def arm(self, target: int) -> None:
        with self.lock:
            self.target, self.executed, self.failed, self.missed = target, 0, 0, 0
            self.done.clear()


def fire(scheduler: Any, firing: Firing, ids: list[str], prompts: str) -> int:
    """Make ``ids`` due now and time until they have all run and been rescheduled (ns)."""
    scheduler.pause()
    now = datetime.now(UTC)
    for job_id in ids:
        scheduler.modify_job(job_id, next_run_time=now)
    store = scheduler._lookup_jobstore("default")  # for the check that all were rescheduled
    queued = count_prompts(prompts)
    firing.arm(len(ids))
    began = time.perf_counter_ns()
    scheduler.resume()
    if not firing.done.wait(APS_TIMEOUT_S):
        raise BenchError(f"only {firing.executed} of {len(ids)} jobs ran in {APS_TIMEOUT_S} s")
    while (following := store.get_next_run_time()) is not None and following <= now:
        time.sleep(0.001)  # the scheduler's loop is still storing the last next run times
    spent = time.perf_counter_ns() - began
    if firing.failed or firing.missed or firing.executed != len(ids):
        raise BenchError(
            f"jobs ran {firing.executed}, failed {firing.failed}, missed {firing.missed}"
        )
    if count_prompts(prompts) - queued != 2 * len(ids):
        raise BenchError("the jobs did not queue two prompts each")
    return spent


def measure_theirs(spec: dict[str, Any]) -> dict[str, Any]:
    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED

    global _prompts_path
    size, due = int(spec["pairs"]), int(spec["due"])
    _prompts_path = str(spec["prompts"])
    create_prompts_table(Path(_prompts_path))
    scheduler = aps_scheduler(spec["store"])
    firing = Firing()
    scheduler.add_listener(firing.listen, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    scheduler.start()
    step = max(size // due, 1)
    ids = [f"pair-{number}" for number in range(0, size, step)][:due]
    passes, growths, peaks = [], [], []
    for index in range(int(spec["repeat"])):
        before = start_rss_peak()
        spent = fire(scheduler, firing, ids, _prompts_path)
        growths.append(rss_growth(before))
        peaks.append(rss_peak())
        passes.append(spent / 1e6)
        print(f"  apscheduler {size:,} repeat {index + 1}: {spent / 1e6:.0f} ms", flush=True)
    gc.collect()
    tracemalloc.start()
    try:
        fire(scheduler, firing, ids, _prompts_path)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    scheduler.shutdown()
    return {
        "pass_ms": passes,
        "pass_rss_growth_mib": growths,
        "pass_rss_peak_mib": peaks,
        "tracemalloc_peak_mib": peak / 2**20,
    }


def worker_main(kind: str, spec: dict[str, Any], out: Path) -> None:
    if kind == "seed":
        result = asyncio.run(seed_ours(spec))
    elif kind == "measure":
        result = asyncio.run(measure_ours(spec))
    elif kind == "aps-seed":
        result = seed_theirs(spec)
    elif kind == "aps-measure":
        result = measure_theirs(spec)
    else:
        raise SystemExit(f"unknown worker {kind}")
    out.write_text(json.dumps(result))


# --- the run ------------------------------------------------------------------------------


@dataclass
class Ours:
    backend: str
    pairs: int
    due: int
    import_s: float
    import_us_per_pair: float
    import_rss_growth_mib: float
    import_rss_peak_mib: float
    database_mib: float
    pass_ms: list[float]
    baseline_ms: list[float]
    pass_rss_growth_mib: list[float]
    pass_rss_peak_mib: list[float]
    tracemalloc_peak_mib: float
    statements_per_due_pair: float
    statements: dict[str, int]
    claim_sql: str
    plan: list[str]

    @property
    def pass_median(self) -> float:
        return median(self.pass_ms)

    @property
    def ratio(self) -> float:
        return median([p / b for p, b in zip(self.pass_ms, self.baseline_ms, strict=True)])


@dataclass
class Theirs:
    pairs: int
    due: int
    create_s: float
    create_ms_per_pair: float
    create_rss_growth_mib: float
    create_rss_peak_mib: float
    store_mib: float
    pass_ms: list[float]
    pass_rss_growth_mib: list[float]
    pass_rss_peak_mib: list[float]
    tracemalloc_peak_mib: float


def run_ours(args: argparse.Namespace, work: Path, backend: str, size: int) -> Ours:
    spec: dict[str, Any] = {
        "backend": backend,
        "pairs": size,
        "due": args.due,
        "repeat": args.repeat,
        "workspaces": args.workspaces,
        "path": str(work / f"dispatch-{size}.db"),
        "admin_url": args.pg_url,
        "pg_database": PG_DATABASE.format(run=os.getpid(), size=size),
        "profile": args.profile and size == min(args.sizes),
    }
    print(f"{backend}, {size:,} pairs: seeding with pairs import", flush=True)
    seeded = run_worker("seed", spec, work)
    print(f"  {backend} {size:,}: imported in {seeded['import_s']:.1f} s; measuring", flush=True)
    measured = run_worker("measure", spec, work)
    database_mib = Path(spec["path"]).stat().st_size / 2**20 if backend == "sqlite" else math.nan
    if backend == "sqlite" and not args.keep:
        remove_database(Path(spec["path"]))
    elif backend == "postgresql" and not args.keep:
        asyncio.run(recreate_pg_database(args.pg_url, spec["pg_database"], create=False))
    repeats = measured["repeats"]
    return Ours(
        backend=backend,
        pairs=size,
        due=args.due,
        import_s=seeded["import_s"],
        import_us_per_pair=seeded["import_s"] / size * 1e6,
        import_rss_growth_mib=seeded["import_rss_growth_mib"],
        import_rss_peak_mib=seeded["import_rss_peak_mib"],
        database_mib=database_mib,
        pass_ms=[r["pass_ms"] for r in repeats],
        baseline_ms=[r["baseline_ms"] for r in repeats],
        pass_rss_growth_mib=[r["pass_rss_growth_mib"] for r in repeats],
        pass_rss_peak_mib=[r["pass_rss_peak_mib"] for r in repeats],
        tracemalloc_peak_mib=measured["tracemalloc_peak_mib"],
        statements_per_due_pair=measured["statements_per_due_pair"],
        statements=measured["statements"],
        claim_sql=measured["claim_sql"],
        plan=measured["plan"],
    )


def run_theirs(args: argparse.Namespace, work: Path, size: int) -> Theirs:
    spec: dict[str, Any] = {
        "pairs": size,
        "due": args.due,
        "repeat": args.repeat,
        "workspaces": args.workspaces,
        "store": str(work / f"apscheduler-{size}.db"),
        "prompts": str(work / f"apscheduler-prompts-{size}.db"),
    }
    print(f"apscheduler, {size:,} pairs: one add_job per pair", flush=True)
    seeded = run_worker("aps-seed", spec, work)
    print(f"  apscheduler {size:,}: added in {seeded['create_s']:.1f} s; measuring", flush=True)
    measured = run_worker("aps-measure", spec, work)
    if not args.keep:
        remove_database(Path(spec["store"]))
        remove_database(Path(spec["prompts"]))
    return Theirs(
        pairs=size,
        due=args.due,
        create_s=seeded["create_s"],
        create_ms_per_pair=seeded["create_s"] / size * 1e3,
        create_rss_growth_mib=seeded["create_rss_growth_mib"],
        create_rss_peak_mib=seeded["create_rss_peak_mib"],
        store_mib=seeded["store_mib"],
        pass_ms=measured["pass_ms"],
        pass_rss_growth_mib=measured["pass_rss_growth_mib"],
        pass_rss_peak_mib=measured["pass_rss_peak_mib"],
        tracemalloc_peak_mib=measured["tracemalloc_peak_mib"],
    )


def condensed(statement: str) -> str:
    """The claim's SQL on one line, its selected columns shown as ``table.*``."""
    one_line = " ".join(statement.split())
    found = re.match(r"^SELECT (.*?) FROM ", one_line)
    if found is None:
        return one_line
    tables = dict.fromkeys(column.strip().split(".")[0] for column in found.group(1).split(","))
    shown = ", ".join(f"{table}.*" for table in tables)
    return f"SELECT {shown} FROM " + one_line[found.end() :]


def yes(met: bool) -> str:
    return "met" if met else "NOT met"


def dispatch_table(results: list[Ours]) -> str:
    head = (
        "| backend    |     pairs | import (s) | import (µs/pair) | pass p50 (ms) | min "
        "(ms) | max (ms) | bare SELECT p50 (ms) | pass / SELECT | tracemalloc peak (MiB) "
        "| RSS growth, max (MiB) | SQL per due pair |"
    )
    rule = "".join("-" if char != "|" else "|" for char in head)
    rows = [head, rule[:13] + rule[13:].replace("-|", ":|")]
    for r in results:
        middle, low, high = spread(r.pass_ms)
        rows.append(
            f"| {r.backend:<10} | {r.pairs:>9,} | {r.import_s:>10.1f} | "
            f"{r.import_us_per_pair:>16.0f} | {middle:>13.0f} | {low:>8.0f} | {high:>8.0f} | "
            f"{median(r.baseline_ms):>20.2f} | {r.ratio:>13.0f} | "
            f"{r.tracemalloc_peak_mib:>22.1f} | {max(r.pass_rss_growth_mib):>21.1f} | "
            f"{r.statements_per_due_pair:>16.1f} |"
        )
    return "\n".join(rows)


def dispatch_goals(results: list[Ours]) -> list[str]:
    lines = []
    for r in results:
        lines.append(
            f"{r.backend} {r.pairs:,}: a {r.due:,}-due pass takes {r.pass_median:.0f} ms "
            f"(goal under {PASS_GOAL_MS:.0f} ms: {yes(r.pass_median < PASS_GOAL_MS)})"
        )
    for backend in sorted({r.backend for r in results}):
        mine = sorted((r for r in results if r.backend == backend), key=lambda r: r.pairs)
        if len(mine) > 1:
            small, big = mine[0], mine[-1]
            growth = big.pass_median / small.pass_median
            lines.append(
                f"{backend}: the pass at {big.pairs:,} pairs takes {growth:.2f}x the pass at "
                f"{small.pairs:,} (goal within {GROWTH_GOAL:.0f}x: {yes(growth <= GROWTH_GOAL)}); "
                f"bare SELECT {median(big.baseline_ms) / median(small.baseline_ms):.2f}x"
            )
    return lines


def comparison_rows(ours: Ours, theirs: Theirs) -> list[tuple[str, float, float, bool]]:
    """(what, ours, theirs, goal met) for one size."""
    ours_pass, theirs_pass = ours.pass_median, median(theirs.pass_ms)
    ours_create = ours.import_us_per_pair / 1e3
    return [
        (
            "create: ms per pair",
            ours_create,
            theirs.create_ms_per_pair,
            theirs.create_ms_per_pair >= ALTERNATIVE_GOAL * ours_create,
        ),
        (
            f"pass in which {ours.due:,} fire: ms",
            ours_pass,
            theirs_pass,
            theirs_pass >= ALTERNATIVE_GOAL * ours_pass,
        ),
        (
            "pass: tracemalloc peak, MiB",
            ours.tracemalloc_peak_mib,
            theirs.tracemalloc_peak_mib,
            ours.tracemalloc_peak_mib <= theirs.tracemalloc_peak_mib,
        ),
        (
            "pass: RSS growth (max), MiB",
            max(ours.pass_rss_growth_mib),
            max(theirs.pass_rss_growth_mib),
            max(ours.pass_rss_growth_mib) <= max(theirs.pass_rss_growth_mib),
        ),
        (
            "pass: peak RSS (max), MiB",
            max(ours.pass_rss_peak_mib),
            max(theirs.pass_rss_peak_mib),
            max(ours.pass_rss_peak_mib) <= max(theirs.pass_rss_peak_mib),
        ),
        (
            "create: RSS growth, MiB",
            ours.import_rss_growth_mib,
            theirs.create_rss_growth_mib,
            ours.import_rss_growth_mib <= theirs.create_rss_growth_mib,
        ),
        (
            "create: peak RSS, MiB",
            ours.import_rss_peak_mib,
            theirs.create_rss_peak_mib,
            ours.import_rss_peak_mib <= theirs.create_rss_peak_mib,
        ),
    ]


def comparison_table(pairs: list[tuple[Ours, Theirs]]) -> str:
    rows = [
        "|     pairs | measure                          |     ours |   theirs | theirs / ours "
        "| goal                   |",
        "|----------:|----------------------------------|---------:|---------:|--------------:"
        "|------------------------|",
    ]
    for ours, theirs in pairs:
        for what, mine, other, met in comparison_rows(ours, theirs):
            goal = "≥ 10x" if what.startswith(("create: ms", "pass in")) else "ours ≤ theirs"
            digits = 3 if what.startswith("create: ms") else (0 if "ms" in what else 1)
            rows.append(
                f"| {ours.pairs:>9,} | {what:<32} | {mine:>8.{digits}f} | {other:>8.{digits}f} "
                f"| {other / mine if mine else math.inf:>12.2f}x | {goal + ': ' + yes(met):<22} |"
            )
    return "\n".join(rows)


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    code = code_version()
    results: list[Ours] = []
    for backend in args.backends:
        for size in sorted(args.sizes):
            results.append(run_ours(args, work, backend, size))
    compared: list[tuple[Ours, Theirs]] = []
    if args.compare_apscheduler:
        for size in sorted(args.aps_sizes):
            ours = next((r for r in results if r.backend == "sqlite" and r.pairs == size), None)
            if ours is None:
                ours = run_ours(args, work, "sqlite", size)
                results.append(ours)
            compared.append((ours, run_theirs(args, work, size)))

    env = environment()
    env["code"] = code
    if code_version() != code:
        env["code"] = f"{code} at the start; {code_version()} at the end (changed during the run)"
    env["apscheduler"] = importlib.metadata.version("apscheduler")
    env["asyncpg"] = importlib.metadata.version("asyncpg")
    env["load_average"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"\nDispatch pass vs size: {args.due:,} due, medians of {args.repeat} repeats "
        f"({env['nproc']} CPUs, Python {env['python']}, SQLite {env['sqlite']}, "
        f"SQLAlchemy {env['sqlalchemy']}, {env['date']}, load {env['load_average']};\n"
        f"code: {env['code']})\n"
    )
    print(dispatch_table(results))
    print()
    for line in dispatch_goals(results):
        print(line)
    for r in results:
        if r.pairs == max(x.pairs for x in results if x.backend == r.backend):
            print(
                f"\nClaim query plan, {r.backend}, {r.pairs:,} pairs:\n  {condensed(r.claim_sql)}"
            )
            print("\n".join("    " + line for line in r.plan))
    if compared:
        print(
            f"\nOne APScheduler cron job per pair (SQLAlchemyJobStore, SQLite) vs ours "
            f"(pairs import + run_due, SQLite), medians of {args.repeat} repeats:\n"
        )
        print(comparison_table(compared))
    return {
        "config": {
            "sizes": args.sizes,
            "backends": args.backends,
            "due": args.due,
            "repeat": args.repeat,
            "workspaces": args.workspaces,
            "aps_sizes": args.aps_sizes if args.compare_apscheduler else [],
        },
        "environment": env,
        "dispatch": [asdict(r) | {"pass_p50_ms": r.pass_median} for r in results],
        "goals": dispatch_goals(results),
        "apscheduler": [
            {
                "pairs": ours.pairs,
                "theirs": asdict(theirs),
                "rows": [
                    {"what": what, "ours": mine, "theirs": other, "met": met}
                    for what, mine, other, met in comparison_rows(ours, theirs)
                ],
            }
            for ours, theirs in compared
        ],
    }


def sizes(value: str) -> list[int]:
    try:
        found = [int(part.replace("_", "")) for part in value.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {value!r}") from None
    if not found or min(found) < 1:
        raise argparse.ArgumentTypeError("sizes must be positive")
    return found


def backends(value: str) -> list[str]:
    found = [part.strip() for part in value.split(",") if part.strip()]
    if not found or any(name not in ("sqlite", "postgresql") for name in found):
        raise argparse.ArgumentTypeError("backends: sqlite, postgresql or both")
    return found


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_dispatch",
        description="Benchmark the dispatch pass against the number of pairs, and "
        "(--compare-apscheduler) one APScheduler cron job per pair.",
    )
    parser.add_argument(
        "--sizes", type=sizes, default=[10_000, 100_000, 1_000_000], help="pairs, comma-separated"
    )
    parser.add_argument(
        "--backends", type=backends, default=["sqlite", "postgresql"], help="sqlite,postgresql"
    )
    parser.add_argument("--due", type=int, default=1000, help="pairs due in each pass")
    parser.add_argument(
        "--repeat",
        type=int,
        default=5,
        help="timed passes per size (default 5: the first pass of a process is the cold "
        "one, so with 3 the median is in effect the slower of two warm passes)",
    )
    parser.add_argument("--workspaces", type=int, default=50, help="Slack workspaces")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("MENTORBOT_BENCH_PG_URL", DEFAULT_PG_URL),
        help="PostgreSQL admin URL; databases mentorbot_bench_dispatch_<pid>_<size> are "
        "created and dropped (env MENTORBOT_BENCH_PG_URL)",
    )
    parser.add_argument(
        "--compare-apscheduler",
        action="store_true",
        help="also measure one APScheduler cron job per pair (SQLAlchemyJobStore, SQLite)",
    )
    parser.add_argument(
        "--aps-sizes", type=sizes, default=[10_000, 100_000], help="pairs for the comparison"
    )
    parser.add_argument("--db-dir", type=Path, help="put the SQLite files here")
    parser.add_argument(
        "--keep", action="store_true", help="keep the databases (SQLite files, PostgreSQL dbs)"
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument(
        "--profile", action="store_true", help="profile one pass at the smallest size"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a quick look (about 2 min): 10k pairs only, on both backends unless "
        "--backends says otherwise, with the APScheduler comparison at 10k",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-spec", help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.aps_sizes, args.compare_apscheduler = [10_000], [10_000], True
    if args.due < 1 or args.repeat < 1 or args.workspaces < 1:
        parser.error("--due, --repeat and --workspaces must be at least 1")
    if args.worker is None and min(args.sizes + args.aps_sizes) < args.due:
        parser.error("every size must be at least --due")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker is not None:
        worker_main(args.worker, json.loads(args.worker_spec), args.worker_out)
        return
    if args.db_dir is not None:
        args.db_dir.mkdir(parents=True, exist_ok=True)
        results = run(args, args.db_dir.resolve())
    else:
        with tempfile.TemporaryDirectory(prefix="bench-dispatch-") as work:
            results = run(args, Path(work))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
