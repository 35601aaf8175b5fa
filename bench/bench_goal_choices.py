"""Benchmark: Discord's autocomplete of the ``milestone`` option (the open goals of the
person's pairs, read through the Engine), against a slash command of the same person
that reads through the Engine too (``/mentor milestone list``), interleaved one by one.

Run by hand (``python -m bench.bench_goal_choices --help``); the numbers live in
bench/README.md. Benchmarks are never timed inside the tests.

The real ``DiscordAdapter`` (discord.py, the Engine, the delivery worker) runs against
the tests' fake Discord on loopback, in one process, on a fresh SQLite file (and on
PostgreSQL with ``--postgres-url``). bob is in two pairs with ``--goals`` open goals
each. Each interaction is timed by the fake, from just before it writes the gateway frame
to the arrival of the bot's interaction callback: an autocomplete's choices, and the
list's answer. Discord drops an autocomplete answer that comes later than 3 seconds.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.bench_discord import create_postgres, drop_postgres
from bench.workdir import add_postgres_url, run_in_workdir
from bot.clock import ManualClock
from bot.storage.database import Database, sqlite_url
from tests.conftest import START
from tests.discord.chat import DiscordChat, running_bot
from tests.discord.fake_discord import FakeDiscord, Interaction


async def _timed(fake: FakeDiscord, payload: dict[str, object]) -> float:
    record: Interaction = await fake.answered(await fake.interact(payload))
    return (record.answered_ns - record.sent_ns) / 1e6


async def _pair(chat: DiscordChat, mentor: str, mentee: str) -> None:
    await chat.slash(mentor, "mentor pair", mentor=f"@{mentor}", mentee=f"@{mentee}")
    await chat.dm_arrives(mentee, "would like to")
    await chat.click(mentee, "Accept")
    await chat.dm_arrives(mentor, "You're paired")


async def measure(url: str, rounds: int, goals: int) -> dict[str, list[float]]:
    database = Database(url)
    await database.upgrade()
    fake = FakeDiscord()
    await fake.start()
    people = {name: fake.add_user(name.title()) for name in ("alice", "bob", "carol")}
    guild = fake.add_guild("Mentoring", owner_id=people["alice"], channels=("general",))
    chat = DiscordChat(fake, guild, people)
    times: dict[str, list[float]] = {"autocomplete": [], "milestone list": []}
    try:
        async with running_bot(fake, database, ManualClock(START), guild_id=guild):
            for mentor in ("alice", "carol"):
                await _pair(chat, mentor, "bob")
                for n in range(goals):
                    title = f"Goal {n} with {mentor}: ship the next part of the API"
                    await chat.slash(
                        "bob", "mentor milestone add", title=title, partner=f"@{mentor}"
                    )
            bob = chat.id("bob")
            for n in range(rounds + 1):
                typed = ("", "ship", "3", "goal 1")[n % 4]
                suggest = fake.autocomplete(guild, bob, "mentor milestone done", "milestone", typed)
                listed = fake.slash(guild, bob, "mentor milestone list")
                took = await _timed(fake, suggest), await _timed(fake, listed)
                if n:  # the first of each is untimed (first contact)
                    times["autocomplete"].append(took[0])
                    times["milestone list"].append(took[1])
    finally:
        await fake.close()
        await database.dispose()
    return times


def _report(backend: str, times: dict[str, list[float]]) -> None:
    print(
        f"\n{backend}: ms from the gateway frame to the callback, {len(times['autocomplete'])} each"
    )
    for name, values in times.items():
        ordered = sorted(values)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        p50, most = statistics.median(values), ordered[-1]
        print(f"  {name:16} p50 {p50:6.2f}  p99 {p99:6.2f}  max {most:6.2f}")
    ratio = statistics.median(times["autocomplete"]) / statistics.median(times["milestone list"])
    print(f"  autocomplete / list, p50: {ratio:.2f}x")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=500, help="timed interactions of each kind")
    parser.add_argument("--goals", type=int, default=15, help="open goals in each of bob's pairs")
    add_postgres_url(parser)
    args = parser.parse_args(argv)

    async def measure_both(folder: Path) -> dict[str, Any]:
        results = {
            "SQLite": await measure(sqlite_url(folder / "bench.db"), args.rounds, args.goals)
        }
        if args.postgres_url:
            url = await create_postgres(args.postgres_url)
            try:
                results["PostgreSQL"] = await measure(url, args.rounds, args.goals)
            finally:
                await drop_postgres(url)
        return results

    for backend, times in run_in_workdir(None, "bench-goal-choices-", measure_both, None).items():
        _report(backend, times)


if __name__ == "__main__":
    main()
