"""Benchmark: what the Slack profile cache holds in memory, a person at a time.

Run by hand (``python -m bench.bench_profile_cache --help``); the numbers live in
bench/README.md. Benchmarks are never run inside the tests.

The Slack adapter keeps what ``users.info`` said of each person it met in the last hour
(``adapters/slack/profiles.py``, at most 50,000 people), so one process answering a large
workspace holds that many entries, and issue 16's goal 4 (at most 150 MB) has to leave
room for them. This fills a real ``Profiles`` with ``--people`` people through a real
``AsyncWebClient`` against the local fake Slack on loopback (each answer decoded from
JSON, each team ID a new string, as a request's payload gives it), then empties the cache
and reports what that gave back: tracemalloc's traced bytes before and after
``clear()``, divided by the number of entries. Only the cache's own memory counts: the
fake's record of calls and the client's buffers stay where they are.

``--code DIR`` measures another checkout's ``Profiles`` too (a process of its own, with
``PYTHONPATH=DIR``; this file runs there as it is), in the same run: before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

# Six timezones, as bench_memory's pairs have; each answer carries its own copy.
TIMEZONES = (
    "America/Los_Angeles",
    "America/New_York",
    "Europe/London",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Australia/Sydney",
)
TEAM = "T0BENCH01"
CONCURRENT = 50


async def measure(people: int) -> dict[str, float]:
    from slack_sdk.web.async_client import AsyncWebClient

    from adapters.slack.profiles import Profiles
    from tests.slack.fake_slack import BOT_TOKEN, FakeSlack, Person

    users = {
        f"U{number:08d}": Person(f"Person Number {number}", TIMEZONES[number % len(TIMEZONES)])
        for number in range(people)
    }
    fake = FakeSlack(users=users)
    await fake.start()
    try:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url)
        profiles = Profiles(client, size=max(people, 1))
        ids = list(users)
        # Warm the client (its session, its connection) outside the measurement.
        await profiles.get(json.loads(json.dumps(TEAM)), ids[0])
        profiles._cache.clear()  # the cache alone is measured
        started = time.perf_counter()
        for start in range(0, people, CONCURRENT):
            await asyncio.gather(
                *(
                    # A new string for the team each time, as each request's payload gives.
                    profiles.get(json.loads(json.dumps(TEAM)), user)
                    for user in ids[start : start + CONCURRENT]
                )
            )
        filled = time.perf_counter() - started
        held_people = len(profiles._cache)  # older trees have no len()
        if held_people != people:
            raise SystemExit(f"the cache holds {held_people} people, not {people}")
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
        profiles._cache.clear()
        gc.collect()
        freed = held - tracemalloc.get_traced_memory()[0]
    finally:
        await fake.stop()
    return {
        "people": people,
        "bytes_per_entry": freed / people,
        "cache_mb": freed / 1e6,
        "fill_seconds": filled,
    }


def _run_elsewhere(code: Path, people: int) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(code))
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--people", str(people), "--json-only"],
        env=env,
        cwd=code,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"{code}: the bench failed there:\n{done.stderr[-2000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _line(label: str, result: dict[str, float]) -> str:
    return (
        f"{label:<12} {int(result['people']):>7,} people  "
        f"{result['bytes_per_entry']:>6.0f} bytes an entry  {result['cache_mb']:>6.2f} MB  "
        f"(filled in {result['fill_seconds']:.1f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20_000, help="entries (default 20,000)")
    parser.add_argument("--code", type=Path, help="another checkout, measured too")
    parser.add_argument("--json-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.people < 1:
        parser.error("--people must be at least 1")
    if args.code is not None and not (args.code / "adapters/slack/profiles.py").is_file():
        parser.error(f"--code {args.code}: no checkout of mentorbot there")
    tracemalloc.start()
    this = asyncio.run(measure(args.people))
    if args.json_only:
        print(json.dumps(this))
        return
    print(_line("this tree", this))
    if args.code is not None:
        other = _run_elsewhere(args.code.resolve(), args.people)
        print(_line(str(args.code), other))
        print(f"this tree / other: {this['bytes_per_entry'] / other['bytes_per_entry']:.2f}x")
        print(
            f"at 50,000 people: {this['bytes_per_entry'] * 50_000 / 1e6:.1f} MB against "
            f"{other['bytes_per_entry'] * 50_000 / 1e6:.1f} MB"
        )


if __name__ == "__main__":
    main()
