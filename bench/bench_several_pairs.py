"""Benchmark: what the dispatch pass's look-up of people in several pairs costs.

Run by hand (``python -m bench.bench_several_pairs --help``); the numbers live in
bench/README.md. Benchmarks are never run inside the tests.

When check-ins open, ``bot.partners.in_several_pairs`` finds which of the due
pairs' members are in more than one active or paused pair (their questions then say
whose check-in they belong to): one statement for the whole batch. This seeds
``--pairs`` pairs as ``bench_dispatch`` does (``pairs import``), takes the members of
``--due`` pairs spread over the table (as ``bench_dispatch``'s due set), and times, in
turns, ``--repeat`` times each, through the same ``Database``:

- the look-up, in a transaction of its own;
- the baseline: a bare ``SELECT * FROM pairs LIMIT due`` transaction (``due`` whole
  rows read, as ``bench_dispatch``'s baseline reads the due pairs).

It prints the medians and their ratio, on SQLite and (``--postgres-url``) PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from bench.bench_dispatch import due_ids, pg_database_url, recreate_pg_database, seed_ours
from bench.workdir import add_postgres_url
from bot.partners import in_several_pairs
from bot.storage.database import Database, sqlite_url
from bot.storage.models import Pair


async def measure(url: str, pairs: int, due: int, repeat: int) -> dict[str, float]:
    database = Database(url)
    try:
        ids = await due_ids(database, pairs, due)
        async with database.transaction() as session:
            rows = (
                await session.execute(
                    select(Pair.mentor_id, Pair.mentee_id).where(Pair.id.in_(ids))
                )
            ).all()
        members = [member for row in rows for member in row]
        bare = text("SELECT * FROM pairs LIMIT :due")
        looked, baseline = [], []
        for _ in range(repeat):
            began = time.perf_counter()
            async with database.transaction() as session:
                found = await in_several_pairs(session, members)
            looked.append(time.perf_counter() - began)
            began = time.perf_counter()
            async with database.transaction() as session:
                (await session.execute(bare, {"due": due})).all()
            baseline.append(time.perf_counter() - began)
        if found:
            raise SystemExit(f"expected nobody in several pairs, found {len(found)}")
        look_ms, base_ms = statistics.median(looked) * 1000, statistics.median(baseline) * 1000
        return {"members": len(members), "lookup_ms": look_ms, "baseline_ms": base_ms}
    finally:
        await database.dispose()


async def run(args: argparse.Namespace, work: Path) -> list[tuple[str, dict[str, Any]]]:
    results = []
    backends = ["sqlite"] + (["postgresql"] if args.postgres_url else [])
    for backend in backends:
        spec: dict[str, Any] = {
            "pairs": args.pairs,
            "backend": backend,
            "workspaces": 50,
            "path": str(work / "several.db"),
            "admin_url": args.postgres_url,
            "pg_database": f"mentorbot_bench_several_{args.pairs}",
        }
        await seed_ours(spec)
        if backend == "sqlite":
            url = sqlite_url(spec["path"])
        else:
            url = pg_database_url(args.postgres_url, spec["pg_database"])
        try:
            results.append((backend, await measure(url, args.pairs, args.due, args.repeat)))
        finally:
            if backend != "sqlite":
                await recreate_pg_database(args.postgres_url, spec["pg_database"], create=False)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument(
        "--due", type=int, default=1_000, help="due pairs whose members are looked up"
    )
    parser.add_argument("--repeat", type=int, default=200)
    add_postgres_url(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-several-") as work:
        results = asyncio.run(run(args, Path(work)))
    for backend, found in results:
        print(
            f"{backend}, {args.pairs:,} pairs, {found['members']:,} members: look-up "
            f"{found['lookup_ms']:.2f} ms, bare SELECT of {args.due:,} pairs "
            f"{found['baseline_ms']:.2f} ms (medians of {args.repeat}); "
            f"{found['lookup_ms'] / found['baseline_ms']:.2f}x"
        )


if __name__ == "__main__":
    main()
