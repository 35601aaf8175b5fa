"""Benchmark: dispatch passes with many items due: every member's check-in nudge, then
every check-in's 48-hour close; and the ``/win`` events right after the nudges on the same
pooled connection.

Run by hand (``python -m bench.bench_passes --help``); the numbers live in
bench/README.md. Benchmarks are never timed inside the tests.

Each repeat starts from empty tables: ``--pairs`` pairs imported (weekly, all on the same
Wednesday 09:00 UTC), the pass at that moment opens their check-ins (each member's
prompt, and its nudge timer 24 hours later), and what it queued is marked sent. Then,
through one ``Database`` with a pool of one connection (so the pass and the events after
it share a connection's prepared statements, as one pooled connection does in
``mentorbot run``):

1. ``--wins`` ``/win`` events through ``Engine.handle``, each timed ("before");
2. the pass 25 hours after the opening, timed: it fires every member's nudge
   (``bot/due.py``, ``_together``); the SQL texts the driver was given in it are counted
   (each new text is a statement PostgreSQL prepares: a round trip);
3. the same number of ``/win`` events again ("after"; the first of them is also shown
   on its own);
4. the pass 49 hours after the opening, timed: it closes every check-in (nobody
   answered: each member hears the other did not).

The baseline, measured right before each pass through the same ``Database``: a bare
``SELECT`` of the due timers (what the index alone costs).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import func, select, text, update
from sqlalchemy.engine import make_url

from bench.bench_win import environment
from bench.workdir import run_in_workdir
from bot.clock import ManualClock
from bot.due_report import DueReport
from bot.engine import Engine
from bot.events import CommandInvoked
from bot.pairs_import import import_pairs
from bot.refs import Platform, UserRef
from bot.storage.database import Database, sqlite_url
from bot.storage.models import Base, FlowSession, OutboxMessage, OutboxStatus
from tests.statements import listening

TEAM = "T1"
OPEN = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # a Wednesday
IMPORTED = OPEN - timedelta(days=2)
NUDGES = OPEN + timedelta(hours=25)
CLOSES = OPEN + timedelta(hours=49)
TABLES = ", ".join(table.name for table in Base.metadata.sorted_tables)


class BenchError(Exception):
    """The product did something other than what the bench expects."""


def pair_row(number: int) -> dict[str, str]:
    return {
        "platform": "slack",
        "workspace_id": TEAM,
        "mentor_id": f"UM{number:05d}",
        "mentee_id": f"UE{number:05d}",
        "cadence": "weekly",
        "weekday": "2",
        "time": "09:00",
        "timezone": "UTC",
    }


def win(number: int) -> CommandInvoked:
    user = f"UM{number:05d}"
    return CommandInvoked(
        user=UserRef(Platform.SLACK, TEAM, user),
        user_name=user,
        command="win",
        text=f"closed the ticket nobody wanted (#{number})",
    )


async def timed_wins(engine: Engine, first: int, count: int) -> list[float]:
    """Each ``/win``'s time through the Engine, in ms."""
    took = []
    for number in range(first, first + count):
        began = time.perf_counter()
        await engine.handle(win(number))
        took.append((time.perf_counter() - began) * 1e3)
    return took


async def fresh(database: Database, pairs: int) -> None:
    async with database.engine.begin() as connection:
        if database.is_sqlite:
            for table in reversed(Base.metadata.sorted_tables):
                await connection.execute(table.delete())
        else:
            await connection.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    report = await import_pairs(database, (pair_row(n) for n in range(pairs)), IMPORTED)
    if report.created != pairs:
        raise BenchError(f"the import created {report.created} of {pairs} pairs")
    opened = (await Engine(database, ManualClock(OPEN)).run_due(OPEN)).checkins_opened
    if opened != pairs:
        raise BenchError(f"the opening pass opened {opened} of {pairs} check-ins")
    async with database.transaction() as session:
        await session.execute(
            update(OutboxMessage).values(status=OutboxStatus.SENT.value, sent_at=OPEN)
        )


@dataclass(frozen=True)
class Pass:
    """One timed dispatch pass: its report, its time, and the statements it ran."""

    report: DueReport
    ms: float
    statements: int
    texts: int  # different SQL texts among them


async def timed_pass(database: Database, engine: Engine, moment: datetime) -> Pass:
    texts: set[str] = set()
    statements = 0

    def heard(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        nonlocal statements
        statements += 1
        texts.add(statement)

    with listening(database, "before_cursor_execute", heard):
        began = time.perf_counter()
        report = await engine.run_due(moment)
        ms = (time.perf_counter() - began) * 1e3
    return Pass(report, ms, statements, len(texts))


async def one_repeat(database: Database, pairs: int, wins: int) -> dict[str, Any]:
    await fresh(database, pairs)
    clock = ManualClock(NUDGES)
    engine = Engine(database, clock)
    before = await timed_wins(engine, 0, wins)
    began = time.perf_counter()
    async with database.transaction() as session:
        due = await session.scalar(
            select(func.count()).select_from(FlowSession).where(FlowSession.due_at <= NUDGES)
        )
    baseline_ms = (time.perf_counter() - began) * 1e3
    nudging = await timed_pass(database, engine, NUDGES)
    if nudging.report.timers != 2 * pairs or due != 2 * pairs:
        raise BenchError(f"{nudging.report.timers} nudges fired, {due} due, of {2 * pairs}")
    after = await timed_wins(engine, wins, wins)
    clock.set(CLOSES)
    closing = await timed_pass(database, engine, CLOSES)
    if closing.report.checkins_closed != pairs:
        raise BenchError(f"{closing.report.checkins_closed} check-ins closed of {pairs}")
    return {
        "pass_ms": nudging.ms,
        "baseline_ms": baseline_ms,
        "nudges": nudging.report.timers,
        "statements": nudging.statements,
        "texts": nudging.texts,
        "win_before_ms": statistics.median(before),
        "win_after_ms": statistics.median(after),
        "first_win_after_ms": after[0],
        "close_ms": closing.ms,
        "close_statements": closing.statements,
        "close_texts": closing.texts,
    }


async def measure(url: str, args: argparse.Namespace) -> dict[str, Any]:
    database = Database(url, pool_size=1)
    try:
        await database.upgrade()
        repeats = [await one_repeat(database, args.pairs, args.wins) for _ in range(args.repeat)]
    finally:
        await database.dispose()
    return {
        key: round(statistics.median(r[key] for r in repeats), 3)
        for key in repeats[0]
        if key not in ("nudges",)
    } | {"nudges": repeats[0]["nudges"], "repeats": args.repeat}


async def main_async(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    results: dict[str, Any] = {"environment": environment(), "pairs": args.pairs}
    if "sqlite" in args.backends:
        results["sqlite"] = await measure(sqlite_url(work / "passes.db"), args)
    if "postgresql" in args.backends:
        admin = make_url(args.postgres_url).set(drivername="postgresql")
        name = f"mentorbot_bench_passes_{uuid.uuid4().hex[:10]}"
        plain = admin.render_as_string(hide_password=False)
        connection = await asyncpg.connect(plain)
        await connection.execute(f'CREATE DATABASE "{name}"')
        await connection.close()
        try:
            url = admin.set(database=name).render_as_string(hide_password=False)
            results["postgresql"] = await measure(url, args)
        finally:
            connection = await asyncpg.connect(plain)
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await connection.close()
    return results


def show(results: dict[str, Any]) -> None:
    print(f"{results['pairs']:,} pairs (median of the repeats); the nudges' pass:")
    print(
        "| backend | pass (ms) | per nudge (ms) | baseline SELECT (ms) | statements | SQL texts "
        "| /win before | /win after | first /win after |"
    )
    measured = [(b, results[b]) for b in ("sqlite", "postgresql") if b in results]
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for backend, found in measured:
        print(
            f"| {backend} | {found['pass_ms']:.1f} | {found['pass_ms'] / found['nudges']:.3f} "
            f"| {found['baseline_ms']:.2f} | {found['statements']:.0f} | {found['texts']:.0f} "
            f"| {found['win_before_ms']:.2f} | {found['win_after_ms']:.2f} "
            f"| {found['first_win_after_ms']:.2f} |"
        )
    print("\nThe closes' pass (every check-in, nobody answered):")
    print("| backend | pass (ms) | per close (ms) | statements | SQL texts |")
    print("|---|--:|--:|--:|--:|")
    for backend, found in measured:
        print(
            f"| {backend} | {found['close_ms']:.1f} | {found['close_ms'] / results['pairs']:.3f} "
            f"| {found['close_statements']:.0f} | {found['close_texts']:.0f} |"
        )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=200, help="pairs (two nudges each)")
    parser.add_argument("--wins", type=int, default=20, help="/win events before and after")
    parser.add_argument("--repeat", type=int, default=7, help="repeats (medians reported)")
    parser.add_argument(
        "--backends", default="sqlite,postgresql", help="comma-separated: sqlite,postgresql"
    )
    parser.add_argument(
        "--postgres-url",
        default="postgresql://postgres:postgres@127.0.0.1:5432/postgres",
        help="an admin URL (a database is created and dropped)",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    results = run_in_workdir(
        None, "mentorbot-passes-", lambda work: main_async(args, work), args.json
    )
    show(results)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
