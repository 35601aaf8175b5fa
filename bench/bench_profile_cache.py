"""Benchmark: what the Slack profile cache, or the Discord DM channels, hold in memory.

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

``--cache dm-channels`` measures the Discord sender's DM channels instead
(``adapters/discord/sender.py``, at most 50,000 people): a real ``DiscordSender`` on
discord.py's ``HTTPClient`` opens a DM with ``--people`` people of the local fake Discord
(each user ID a new string, as an outbox row gives it).

For the profiles it also times the cache's own work for someone new once it is full
(``users.info`` answering at once, in this process): each new person pushes the oldest
out, ``FULL_TIMES`` times the cache's size in all, one at a time.

``--code DIR`` measures another checkout's cache too (a process of its own, with
``PYTHONPATH=DIR``; this file runs there as it is), in the same run: before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

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
# New people timed once the profile cache is full, as a multiple of its size.
FULL_TIMES = 3
CACHES = ("profiles", "dm-channels")


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
        _clear(profiles)  # the cache alone is measured
        # A new string for the team each time, as each request's payload gives.
        filled = await _fill(lambda user: profiles.get(json.loads(json.dumps(TEAM)), user), ids)
        held = len(profiles._cache)  # older trees have no len()
        freed = _freed(lambda: _clear(profiles))
        tracemalloc.stop()  # it would slow every allocation timed next
        per_new_person = await _full(profiles, people)
    finally:
        await fake.stop()
    return _result(people, held, freed, filled) | per_new_person


async def _fill(look_up: Callable[[str], Awaitable[object]], ids: list[str]) -> float:
    """Seconds to look everyone in ``ids`` up, ``CONCURRENT`` at a time."""
    started = time.perf_counter()
    for start in range(0, len(ids), CONCURRENT):
        await asyncio.gather(*(look_up(user) for user in ids[start : start + CONCURRENT]))
    return time.perf_counter() - started


def _result(people: int, held: int, freed: float, filled: float) -> dict[str, float]:
    if held != people:
        raise SystemExit(f"the cache held {held} people, not {people}")
    return {
        "people": people,
        "bytes_per_entry": freed / people,
        "cache_mb": freed / 1e6,
        "fill_seconds": filled,
    }


async def _full(profiles: Any, people: int) -> dict[str, float]:
    """The cache's own work for someone new once it is full (the oldest goes as they
    come): ``users.info`` answers at once here, so only the cache is timed, over
    ``FULL_TIMES`` times ``people`` new people one at a time."""
    from adapters.slack.translate import Profile

    found = Profile("Someone", TIMEZONES[0], is_admin=False)

    async def at_once(_user_id: str) -> Profile:
        return found

    profiles._users_info = at_once
    for number in range(people):  # full again
        await profiles.get(TEAM, f"F{number:08d}")
    times = []
    for number in range(FULL_TIMES * people):
        user = f"N{number:08d}"
        began = time.perf_counter()
        await profiles.get(TEAM, user)
        times.append(time.perf_counter() - began)
    if len(profiles._cache) != people:
        raise SystemExit(f"the full cache holds {len(profiles._cache)}, not {people}")
    times.sort()
    return {
        "full_us_mean": statistics.fmean(times) * 1e6,
        "full_us_p50": times[len(times) // 2] * 1e6,
        "full_us_p99": times[len(times) * 99 // 100] * 1e6,
    }


def _clear(profiles: Any) -> None:
    clear = getattr(profiles, "clear", None)  # older trees have none
    if clear is not None:
        clear()
    else:
        profiles._cache.clear()


def _freed(clear: Callable[[], None]) -> float:
    """The traced bytes that ``clear`` gives back."""
    gc.collect()
    held = tracemalloc.get_traced_memory()[0]
    clear()
    gc.collect()
    return held - tracemalloc.get_traced_memory()[0]


async def measure_dm_channels(people: int) -> dict[str, float]:
    from discord.http import HTTPClient, Route

    from adapters.discord.sender import DiscordSender
    from tests.discord.fake_discord import TOKEN, FakeDiscord

    fake = FakeDiscord()
    await fake.start()
    ids = [fake.add_user(f"Person Number {number}") for number in range(people)]
    base, Route.BASE = Route.BASE, fake.api_url
    http = HTTPClient(asyncio.get_running_loop(), max_ratelimit_timeout=30.0)
    try:
        await http.static_login(TOKEN)
        sender = DiscordSender(http)
        await sender.dm_channel(json.loads(json.dumps(ids[0])))  # warm the client
        sender._dm_channels.clear()
        # A new string for each ID, as each outbox row gives it.
        filled = await _fill(lambda user: sender.dm_channel(json.loads(json.dumps(user))), ids)
        held = len(sender._dm_channels)
        freed = _freed(sender._dm_channels.clear)
    finally:
        await http.close()
        Route.BASE = base
        await fake.close()
    return _result(people, held, freed, filled)


def _run_elsewhere(code: Path, cache: str, people: int) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(code))
    done = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--cache",
            cache,
            "--people",
            str(people),
            "--json-only",
        ],
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
    line = (
        f"{label:<12} {int(result['people']):>7,} people  "
        f"{result['bytes_per_entry']:>6.0f} bytes an entry  {result['cache_mb']:>6.2f} MB  "
        f"(filled in {result['fill_seconds']:.1f} s)"
    )
    if "full_us_mean" in result:
        line += (
            f"; someone new when full: mean {result['full_us_mean']:.1f} µs, "
            f"p50 {result['full_us_p50']:.1f}, p99 {result['full_us_p99']:.1f}"
        )
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", choices=CACHES, default="profiles", help="which cache")
    parser.add_argument("--people", type=int, default=20_000, help="entries (default 20,000)")
    parser.add_argument("--code", type=Path, help="another checkout, measured too")
    parser.add_argument("--json-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.people < 1:
        parser.error("--people must be at least 1")
    if args.code is not None and not (args.code / "adapters/slack/profiles.py").is_file():
        parser.error(f"--code {args.code}: no checkout of mentorbot there")
    tracemalloc.start()
    run = measure if args.cache == "profiles" else measure_dm_channels
    this = asyncio.run(run(args.people))
    if args.json_only:
        print(json.dumps(this))
        return
    print(_line("this tree", this))
    if args.code is not None:
        other = _run_elsewhere(args.code.resolve(), args.cache, args.people)
        print(_line(str(args.code), other))
        print(f"this tree / other: {this['bytes_per_entry'] / other['bytes_per_entry']:.2f}x")
        print(
            f"at 50,000 people: {this['bytes_per_entry'] * 50_000 / 1e6:.1f} MB against "
            f"{other['bytes_per_entry'] * 50_000 / 1e6:.1f} MB"
        )


if __name__ == "__main__":
    main()
