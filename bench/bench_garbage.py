"""Benchmark: what 300 unsigned garbage requests to Slack's HTTP endpoint cost in log
bytes (issue 13: the goal is under 30 KB), with the answers they got.

Run by hand (``python -m bench.bench_garbage --help``); the numbers live in
bench/README.md. The real ``SlackAdapter`` (Bolt app, aiohttp server) serves on
loopback against the fake Slack of ``tests/slack/fake_slack.py``, on a fresh SQLite file,
with ``setup_logging`` at ``LOG_LEVEL=INFO`` writing into memory. The requests cycle
through the four kinds of issue 13: ``{x`` sent as JSON without a signature, a form
``payload=%7Bnot`` with a wrong signature, random raw bytes, and a timestamp header
``abc``. Nothing here is timed but the whole run (wall clock, for reference).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from pydantic import SecretStr

from adapters.logs import setup_logging
from adapters.slack.app import SlackAdapter
from bot.clock import ManualClock
from bot.engine import Engine
from bot.settings import Settings
from bot.storage.database import Database, sqlite_url
from tests.slack.fake_slack import BOT_TOKEN, FakeSlack

SECRET = "bench-signing-secret"


def garbage(index: int, rng: random.Random) -> tuple[bytes, dict[str, str]]:
    """The ``index``-th request: its body and headers."""
    stamp = str(int(time.time()))
    match index % 4:
        case 0:
            return b"{x", {"Content-Type": "application/json"}
        case 1:
            return b"payload=%7Bnot", {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": "v0=" + "0" * 64,
            }
        case 2:
            return rng.randbytes(64), {"Content-Type": "application/octet-stream"}
        case _:
            return b"command=%2Fwin&text=hello", {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": "abc",
                "X-Slack-Signature": "v0=abc",
            }


async def measure(work: Path, requests: int, seed: int) -> dict[str, Any]:
    fake = FakeSlack()
    await fake.start()
    database = Database(sqlite_url(work / "garbage.sqlite3"))
    await database.upgrade()
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token=SecretStr(BOT_TOKEN),
        slack_signing_secret=SecretStr(SECRET),
        slack_api_url=fake.api_url,
        log_level="INFO",
        log_format="text",
    )
    captured = io.StringIO()
    setup_logging(settings, stream=captured)
    adapter = SlackAdapter(
        settings,
        Engine(database, ManualClock(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))),
        host="127.0.0.1",
        port=0,
    )
    await adapter.start()
    before = len(captured.getvalue().encode())
    statuses: Counter[int] = Counter()
    rng = random.Random(seed)
    url = f"http://127.0.0.1:{adapter.port}/slack/events"
    started = time.perf_counter()
    try:
        async with aiohttp.ClientSession() as session:
            for index in range(requests):
                body, headers = garbage(index, rng)
                async with session.post(url, data=body, headers=headers) as reply:
                    await reply.read()
                    statuses[reply.status] += 1
        elapsed = time.perf_counter() - started
    finally:
        await adapter.stop()
        await database.dispose()
        await fake.stop()
        logging.getLogger().handlers.clear()
    log = captured.getvalue()[before:]
    return {
        "requests": requests,
        "log_bytes": len(log.encode()),
        "log_lines": len(log.splitlines()),
        "tracebacks": log.count("Traceback (most recent call last)"),
        "error_records": sum(" ERROR " in line for line in log.splitlines()),
        "statuses": dict(sorted(statuses.items())),
        "seconds": round(elapsed, 3),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-garbage-") as work:
        results = asyncio.run(measure(Path(work), args.requests, args.seed))
    print(json.dumps(results, indent=2), file=sys.stdout)
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
