"""Benchmark: 500 signed ``/win`` at once over HTTP against one ``mentorbot run`` process
(Slack HTTP mode, the local fake Slack), on SQLite and on PostgreSQL.

Run by hand (``python -m bench.bench_concurrent_win --help``); the numbers live in
bench/README.md. Benchmarks are never timed inside the tests.

The database holds ``--pairs`` Slack pairs; ``--senders`` of their people send
``--burst / --senders`` wins each, all requests started at once (one aiohttp session, no
connection limit). Each request is signed just before it is sent and timed from send to
the whole ack. An ack carries the answer ("Saved to your journal (win #n)") or, past the
adapter's 2 s budget, "one moment" and the answer later through the ``response_url``.
Afterwards the wins table is counted (nothing lost: it must hold every win that was
confirmed, and every request must have been confirmed or told it was not saved), and each
sender's confirmed numbers must be exactly 1..n.

The baseline, in the same run and the same process: ``--baseline`` wins sent one at a
time (ack p50/p99), so the burst's numbers read as a ratio against an unloaded ack.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import func, select

from bench.bench_slack import (
    drop_database,
    free_port,
    mentee_id,
    mentor_id,
    mentorbot_env,
    prepare_database,
    sign,
    win_form,
)
from bench.workdir import add_postgres_url
from bot.engine import NOT_SAVED
from bot.storage.database import Database
from bot.storage.models import Win
from tests.slack.fake_slack import FakeSlack, Person

MENTORBOT = [sys.executable, "-c", "from adapters.cli import main; main()"]
NUMBER = re.compile(r"win #(\d+)")


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _send(
    http: aiohttp.ClientSession, url: str, user: str, text: str, response_url: str
) -> tuple[float, int, str]:
    body = win_form(user, text, response_url)
    stamp = int(time.time())
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(stamp),
        "X-Slack-Signature": sign(body, stamp),
    }
    started = time.perf_counter()
    async with http.post(url, data=body, headers=headers) as response:
        answer = await response.text()
        status = response.status
    return (time.perf_counter() - started) * 1000, status, answer


async def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    url, created = await prepare_database(args, work)
    fake = FakeSlack(everyone=Person("Someone", "Europe/Berlin"))
    await fake.start()
    port = free_port()
    env = mentorbot_env(url, fake.api_url, port)
    log_path = work / "run.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *MENTORBOT, "run", cwd=work, env=env, stdout=log, stderr=log
        )
    events = f"http://127.0.0.1:{port}/slack/events"
    senders = [mentor_id(i) if i % 2 else mentee_id(i) for i in range(args.senders)]
    try:
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(60)
        ) as http:
            for _ in range(200):
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
            # Baseline: one at a time, by people who are not in the burst (after a first
            # contact each, as the burst's senders are).
            for n in range(min(args.baseline, 50)):
                user = mentor_id(args.senders + n)
                await _send(http, events, user, "first", fake.response_url())
            for user in senders:  # first contact for the burst's senders too
                await _send(http, events, user, "first", fake.response_url())
            baseline = []
            for n in range(args.baseline):
                user = mentor_id(args.senders + n % 50)
                ms, status, _ = await _send(http, events, user, "warm", fake.response_url())
                assert status == 200
                baseline.append(ms)
            per_sender = args.burst // len(senders)
            jobs = [
                (user, f"burst win {k} of {user}", fake.response_url())
                for k in range(per_sender)
                for user in senders
            ]
            started = time.perf_counter()
            results = await asyncio.gather(*(_send(http, events, *job) for job in jobs))
            burst_seconds = time.perf_counter() - started
            # Answers that outlasted the ack come through the response_url.
            hooks = {job[2].rsplit("/", 1)[1]: job for job in jobs}
            for _ in range(600):
                late = [r for r in fake.responses() if r["hook"] in hooks]
                waiting = sum("One moment" in answer for _, _, answer in results)
                if len(late) >= waiting:
                    break
                await asyncio.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 20)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await fake.stop()

    answers: dict[str, str] = {}
    for job, (_, _, ack) in zip(jobs, results, strict=True):
        answers[job[2].rsplit("/", 1)[1]] = ack
    for answered in fake.responses():
        if answered["hook"] in answers:
            answers[answered["hook"]] = str(answered.get("text", ""))
    numbers: dict[str, list[int]] = defaultdict(list)
    not_saved = unanswered = 0
    for hook, answer in answers.items():
        found = NUMBER.search(answer)
        if found:
            numbers[hooks[hook][0]].append(int(found.group(1)))
        elif NOT_SAVED in answer:
            not_saved += 1
        else:
            unanswered += 1
    confirmed = sum(len(v) for v in numbers.values())
    exact = all(sorted(v) == list(range(2, len(v) + 2)) for v in numbers.values())
    database = Database(url)
    try:
        async with database.transaction() as session:
            stored = await session.scalar(
                select(func.count()).select_from(Win).where(Win.text.like("burst win %"))
            )
    finally:
        await database.dispose()
    if created and args.postgres_url:
        await drop_database(args.postgres_url, created)
    acks = [ms for ms, _, _ in results]
    # Why the database work of those told "not saved" gave up (the log's warnings).
    reasons = re.findall(r"the database did not answer: ([^\n]+)", log_path.read_text())
    return {
        "database": "postgresql" if args.postgres_url else "sqlite",
        "burst": len(jobs),
        "senders": len(senders),
        "stored": stored,
        "confirmed": confirmed,
        "told_not_saved": not_saved,
        "unanswered": unanswered,
        "gave_up_because": {reason: reasons.count(reason) for reason in sorted(set(reasons))},
        "numbers_exact": exact,
        "acked_with_answer": sum("win #" in a for _, _, a in results),
        "acked_one_moment": sum("One moment" in a for _, _, a in results),
        "http_errors": sum(status != 200 for _, status, _ in results),
        "ack_p50_ms": statistics.median(acks),
        "ack_p99_ms": _percentile(acks, 0.99),
        "ack_max_ms": max(acks),
        "burst_seconds": burst_seconds,
        "baseline_p50_ms": statistics.median(baseline),
        "baseline_p99_ms": _percentile(baseline, 0.99),
        "exit_code": process.returncode,
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--pairs", type=int, default=1000, help="pairs in the database")
    parser.add_argument("--burst", type=int, default=500, help="wins sent at once")
    parser.add_argument("--senders", type=int, default=100, help="people in the burst")
    parser.add_argument("--baseline", type=int, default=50, help="wins sent one at a time")
    add_postgres_url(parser)
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-burst-") as work:
        results = asyncio.run(run(args, Path(work)))
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
