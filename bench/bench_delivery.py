"""Benchmark: outbox delivery against a local fake platform that enforces a rate limit.

Run by hand (``python -m bench.bench_delivery --help``); the numbers live in
bench/README.md. Benchmarks are never timed inside the tests.

The fake is an in-process Slack: a ``Sender`` whose ``perform()`` keeps a token bucket per
workspace (``--rate`` requests per second, ``--server-burst`` deep) on the real monotonic
clock. A request that finds no token is refused the way Slack refuses it: a 429, raised
as ``DeliveryFailure("ratelimited", permanent=False, retry_after=...)`` with the wait in
whole seconds, rounded up (Slack's ``Retry-After`` header is an integer;
``--exact-retry-after`` gives the exact wait instead). ``--latency-ms`` makes every
request take that long, as a network round trip would. The fake records every request:
when, for which workspace and outbox id, accepted or refused.

Each repeat, on a fresh database (SQLite file by default), ``--messages`` outbox rows are
queued directly (one bulk insert, interleaved over ``--workspaces`` Slack workspaces, all
due now), and the real ``scheduler.delivery_worker.DeliveryWorker`` runs with
``SystemClock`` and ``RateLimits({Platform.SLACK: RateLimit(per_second=--rate,
burst=--burst)})`` until the fake has accepted every message. Two scenarios:

1. **steady**: only those workspaces;
2. **one throttled**: one more workspace with as many messages, whose fake answers every
   request with 429 and ``Retry-After: --hot-retry-after`` for the first ``--hot-seconds``
   after the worker starts (then it behaves like the others).

Per workspace: the accepted rate, ``(accepted - server burst) / (last accept - first
accept)``, i.e. the steady rate after the initial burst, which a perfect client would
make exactly ``--rate``. The goal is within 10% of it. Afterwards every row must be
``sent`` (none ``failed`` or left pending), every message the fake refused with a 429
must have been accepted later, and none accepted twice.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import math
import os
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import func, insert, select
from sqlalchemy.engine import make_url

from bench.bench_dispatch import code_version
from bench.bench_win import environment, remove_database
from bench.workdir import run_in_workdir
from bot.clock import SystemClock
from bot.content import Content
from bot.delivery import DeliveryFailure, RateLimit, RateLimits
from bot.effects import PostToChannel, SendDM
from bot.refs import Platform
from bot.storage.database import Database, sqlite_url
from bot.storage.models import Member, OutboxMessage, OutboxStatus, OutboxTarget, Workspace
from scheduler.delivery_worker import DeliveryWorker

DEFAULT_PG_URL = "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
PG_DATABASE = "mentorbot_bench_delivery"
HOT = "THOT"
GOAL = 0.9  # at least 90% of the configured rate
PEOPLE = 40  # recipients per workspace


class BenchError(Exception):
    """The delivery did not end the way the benchmark requires."""


@dataclass
class Bucket:
    rate: float
    burst: int
    tokens: float
    updated: float

    def take(self, now: float) -> float | None:
        """None: accepted. Otherwise the seconds until a token is there."""
        self.tokens = min(float(self.burst), self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return None
        return (1.0 - self.tokens) / self.rate


@dataclass
class FakeSlack:
    """A platform with a server-side rate limit per workspace."""

    rate: float
    burst: int
    latency: float = 0.0
    exact_retry_after: bool = False
    hot_until: float = 0.0  # monotonic; the HOT workspace answers 429 until then
    hot_retry_after: float = 2.0
    buckets: dict[str, Bucket] = field(default_factory=dict)
    accepted: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    accepted_ids: Counter[int] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    refused_ids: set[int] = field(default_factory=set)
    # Requests to the HOT workspace while it answered 429 no matter what.
    hot_requests: int = 0
    total_accepted: int = 0

    async def perform(self, effect: SendDM | PostToChannel) -> None:
        if self.latency:
            await asyncio.sleep(self.latency)
        workspace = effect.to.workspace_id if isinstance(effect, SendDM) else ""
        assert effect.outbox_id is not None
        now = time.monotonic()
        if workspace == HOT and now < self.hot_until:
            self.hot_requests += 1
            self._refuse(workspace, effect.outbox_id, self.hot_retry_after)
        bucket = self.buckets.get(workspace)
        if bucket is None:
            bucket = self.buckets[workspace] = Bucket(self.rate, self.burst, self.burst, now)
        wait = bucket.take(now)
        if wait is not None:
            self._refuse(workspace, effect.outbox_id, wait if self.exact_retry_after else None)
        self.accepted[workspace].append(now)
        self.accepted_ids[effect.outbox_id] += 1
        self.total_accepted += 1

    def _refuse(self, workspace: str, outbox_id: int, seconds: float | None) -> None:
        self.refused[workspace] += 1
        self.refused_ids.add(outbox_id)
        if seconds is None:  # Slack's Retry-After: whole seconds
            bucket = self.buckets[workspace]
            seconds = float(max(math.ceil((1.0 - bucket.tokens) / bucket.rate), 1))
        raise DeliveryFailure(
            "ratelimited", permanent=False, retry_after=timedelta(seconds=seconds)
        )


@dataclass(frozen=True)
class WorkspaceResult:
    workspace: str
    messages: int
    rate: float  # accepted per second after the initial burst
    refused: int
    span_s: float


@dataclass(frozen=True)
class Run:
    scenario: str
    seconds: float  # worker start to the last message accepted
    total_rate: float
    workspaces: list[WorkspaceResult]
    hot: WorkspaceResult | None
    hot_requests_in_window: int
    statuses: dict[str, int]
    refused_then_sent: int
    refused_messages: int
    duplicates: int
    worker_sent: int
    worker_retried: int
    worker_failed: int
    worker_deferred: int


async def fresh_database(args: argparse.Namespace, work: Path, name: str) -> Database:
    if args.backend == "sqlite":
        path = work / f"{name}.db"
        remove_database(path)
        database = Database(sqlite_url(path))
    else:
        admin = await asyncpg.connect(args.pg_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
            await admin.execute(f'CREATE DATABASE "{PG_DATABASE}"')
        finally:
            await admin.close()
        url = make_url(args.pg_url).set(database=PG_DATABASE)
        database = Database(url.render_as_string(hide_password=False))
    await database.upgrade()
    return database


async def queue(database: Database, names: list[str], per_workspace: int) -> int:
    """``per_workspace`` due DMs for each workspace, interleaved; returns how many."""
    clock = SystemClock()
    now = clock.now()
    async with database.transaction() as session:
        ids = {}
        for name in names:
            workspace = Workspace(platform=Platform.SLACK.value, external_id=name, created_at=now)
            session.add(workspace)
            await session.flush()
            ids[name] = workspace.id
        await session.execute(
            insert(Member),
            [
                {"workspace_id": ids[name], "external_id": f"U{n:03d}", "created_at": now}
                for name in names
                for n in range(PEOPLE)
            ],
        )
        rows = [
            {
                "workspace_id": ids[name],
                "target_kind": OutboxTarget.DM.value,
                "target_id": f"U{n % PEOPLE:03d}",
                "content": Content(f"Benchmark message {n} for {name}").to_json(),
                "status": OutboxStatus.PENDING.value,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for n in range(per_workspace)
            for name in names
        ]
        await session.execute(insert(OutboxMessage), rows)
    return len(rows)


def workspace_result(fake: FakeSlack, name: str, burst: int) -> WorkspaceResult:
    times = fake.accepted[name]
    span = times[-1] - times[0] if len(times) > 1 else math.nan
    counted = len(times) - burst
    return WorkspaceResult(
        workspace=name,
        messages=len(times),
        rate=counted / span if span and counted > 0 else math.nan,
        refused=fake.refused[name],
        span_s=span,
    )


async def one_run(args: argparse.Namespace, work: Path, scenario: str) -> Run:
    names = [f"T{n:03d}" for n in range(args.workspaces)]
    hot = scenario == "one throttled"
    if hot:
        names.append(HOT)
    database = await fresh_database(args, work, scenario.replace(" ", "-"))
    per_workspace = args.messages // args.workspaces
    queued = await queue(database, names, per_workspace)
    fake = FakeSlack(
        rate=args.rate,
        burst=args.server_burst,
        latency=args.latency_ms / 1000,
        exact_retry_after=args.exact_retry_after,
        hot_retry_after=args.hot_retry_after,
    )
    limits = RateLimits({Platform.SLACK: RateLimit(per_second=args.rate, burst=args.burst)})
    worker = DeliveryWorker(database, {Platform.SLACK: fake}, SystemClock(), limits=limits)
    began = time.monotonic()
    if hot:
        fake.hot_until = began + args.hot_seconds
    task = asyncio.create_task(worker.run(), name="delivery-worker")
    allowed = queued / (args.rate * len(names)) * 4 + args.hot_seconds + 60
    while fake.total_accepted + worker.total.failed < queued:
        if time.monotonic() - began > allowed or task.done():
            worker.stop()
            raise BenchError(f"only {fake.total_accepted} of {queued} accepted after {allowed} s")
        await asyncio.sleep(0.02)
    last = max(times[-1] for times in fake.accepted.values())
    worker.stop()
    await task
    async with database.transaction() as session:
        counted = await session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        )
        statuses = {status: n for status, n in counted}
    await database.dispose()

    duplicates = sum(n - 1 for n in fake.accepted_ids.values() if n > 1)
    refused_then_sent = sum(1 for outbox_id in fake.refused_ids if fake.accepted_ids[outbox_id])
    run = Run(
        scenario=scenario,
        seconds=last - began,
        total_rate=queued / (last - began),
        workspaces=[
            workspace_result(fake, name, args.server_burst) for name in names if name != HOT
        ],
        hot=workspace_result(fake, HOT, args.server_burst) if hot else None,
        hot_requests_in_window=fake.hot_requests,
        statuses=statuses,
        refused_then_sent=refused_then_sent,
        refused_messages=len(fake.refused_ids),
        duplicates=duplicates,
        worker_sent=worker.total.sent,
        worker_retried=worker.total.retried,
        worker_failed=worker.total.failed,
        worker_deferred=worker.total.deferred,
    )
    if not handled(run):
        print(f"NOT every message ended sent exactly once: {run}", flush=True)
    return run


def handled(run: Run) -> bool:
    """Every row sent, each message refused with a 429 sent later, none sent twice."""
    all_sent = set(run.statuses) == {OutboxStatus.SENT.value}
    return all_sent and not run.duplicates and run.refused_then_sent == run.refused_messages


def rates(run: Run) -> list[float]:
    return [w.rate for w in run.workspaces]


def summary_row(args: argparse.Namespace, runs: list[Run]) -> str:
    slowest = statistics.median(min(rates(r)) for r in runs)
    middle = statistics.median(statistics.median(rates(r)) for r in runs)
    fastest = statistics.median(max(rates(r)) for r in runs)
    refused = statistics.median(sum(w.refused for w in r.workspaces) for r in runs)
    per = args.messages // args.workspaces
    sent = all(handled(r) for r in runs)
    return (
        f"| {runs[0].scenario:<13} | {args.workspaces:>10} | {per:>7} | {args.rate:>6.1f} | "
        f"{slowest:>7.2f} | {middle:>7.2f} | {fastest:>7.2f} | {slowest / args.rate:>12.1%} | "
        f"{refused:>16.0f} | {'yes' if sent else 'NO':>17} |"
    )


def table(args: argparse.Namespace, runs: dict[str, list[Run]]) -> str:
    rows = [
        "| scenario      | workspaces | msgs/ws | rate/s | slowest |  median | fastest | "
        "slowest/rate | 429s (the others) | all sent, 0 failed |",
        "|---------------|-----------:|--------:|-------:|--------:|--------:|--------:|"
        "-------------:|-----------------:|------------------:|",
    ]
    rows += [summary_row(args, found) for found in runs.values()]
    return "\n".join(rows)


def hot_lines(args: argparse.Namespace, runs: list[Run]) -> list[str]:
    lines = []
    for index, run in enumerate(runs):
        assert run.hot is not None
        lines.append(
            f"repeat {index + 1}: the throttled workspace got {run.hot_requests_in_window} "
            f"requests in its {args.hot_seconds:g} s of 429s (Retry-After "
            f"{args.hot_retry_after:g} s; honouring it allows at most "
            f"{math.floor(args.hot_seconds / args.hot_retry_after) + 1}), then sent its "
            f"{run.hot.messages} messages at {run.hot.rate:.2f}/s; "
            f"{run.hot.refused} 429s in all; of {run.refused_messages} refused messages "
            f"{run.refused_then_sent} were sent later; rows: {run.statuses}"
        )
    return lines


async def main_async(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    code = code_version()
    runs: dict[str, list[Run]] = {"steady": [], "one throttled": []}
    for index in range(args.repeat):
        for scenario in runs:
            run = await one_run(args, work, scenario)
            runs[scenario].append(run)
            print(
                f"repeat {index + 1}/{args.repeat}, {scenario}: {run.total_rate:.1f} msg/s in "
                f"all, per workspace {min(rates(run)):.2f} to {max(rates(run)):.2f}/s "
                f"(limit {args.rate:g}), 429s {sum(w.refused for w in run.workspaces)}"
                + (f" + {run.hot.refused} on the throttled one" if run.hot else ""),
                flush=True,
            )
    if args.backend == "postgresql":
        admin = await asyncpg.connect(args.pg_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
        finally:
            await admin.close()

    env = environment()
    env["load_average"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    env["asyncpg"] = importlib.metadata.version("asyncpg")
    env["code"] = code
    if code_version() != code:
        env["code"] = f"{code} at the start; {code_version()} at the end (changed during the run)"
    print(
        f"\nDelivery through DeliveryWorker against a fake Slack limited to {args.rate:g} msg/s "
        f"per workspace (server burst {args.server_burst}, client RateLimit burst "
        f"{args.burst}, latency {args.latency_ms:g} ms), {args.backend}, medians of "
        f"{args.repeat} repeats\n({env['nproc']} CPUs, Python {env['python']}, "
        f"SQLite {env['sqlite']}, {env['date']}, load {env['load_average']}; code: "
        f"{env['code']}).\nRates in msg/s per workspace, after the initial burst:\n"
    )
    print(table(args, runs))
    print()
    for line in hot_lines(args, runs["one throttled"]):
        print(line)
    steady = statistics.median(min(rates(r)) for r in runs["steady"])
    throttled = statistics.median(min(rates(r)) for r in runs["one throttled"])
    print(
        f"\ngoal, within 10% of the rate: slowest workspace {steady / args.rate:.1%} of it "
        f"({'met' if steady >= GOAL * args.rate else 'NOT met'}); with one workspace "
        f"throttled, the others' slowest {throttled / args.rate:.1%} "
        f"({'met' if throttled >= GOAL * args.rate else 'NOT met'}); no 429 left unhandled: "
        + (
            "met (every run ended with all rows sent, each refused message sent later, none twice)"
            if all(handled(r) for found in runs.values() for r in found)
            else "NOT met (see the runs above: rows failed, or were sent twice)"
        )
    )
    return {
        "config": {
            key: value for key, value in vars(args).items() if key not in ("json", "db_dir")
        },
        "environment": env,
        "runs": {name: [asdict(r) for r in found] for name, found in runs.items()},
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_delivery",
        description="Benchmark outbox delivery against a rate-limited fake Slack.",
    )
    parser.add_argument("--messages", type=int, default=3000, help="queued, over --workspaces")
    parser.add_argument("--workspaces", type=int, default=8, help="Slack workspaces")
    parser.add_argument("--rate", type=float, default=10.0, help="msg/s per workspace, both ends")
    parser.add_argument("--burst", type=int, default=1, help="the worker's RateLimit burst")
    parser.add_argument("--server-burst", type=int, help="the fake's burst (default: --burst)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="per request")
    parser.add_argument(
        "--exact-retry-after",
        action="store_true",
        help="the fake's Retry-After is the exact wait, not whole seconds",
    )
    parser.add_argument(
        "--hot-seconds", type=float, default=10.0, help="how long the throttled one says 429"
    )
    parser.add_argument(
        "--hot-retry-after", type=float, default=2.0, help="its Retry-After, seconds"
    )
    parser.add_argument("--repeat", type=int, default=3, help="repeats of both scenarios")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("MENTORBOT_BENCH_PG_URL", DEFAULT_PG_URL),
        help=f"PostgreSQL admin URL; database {PG_DATABASE} is created and dropped",
    )
    parser.add_argument("--db-dir", type=Path, help="put the SQLite files here")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    if args.server_burst is None:
        args.server_burst = args.burst
    if args.workspaces < 1 or args.repeat < 1 or args.burst < 1 or args.server_burst < 1:
        parser.error("--workspaces, --repeat and the bursts must be at least 1")
    if args.messages // args.workspaces <= args.server_burst + 1 or args.rate <= 0:
        parser.error("each workspace needs more messages than the burst, and a positive rate")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    run_in_workdir(args.db_dir, "bench-delivery-", lambda work: main_async(args, work), args.json)


if __name__ == "__main__":
    main()
