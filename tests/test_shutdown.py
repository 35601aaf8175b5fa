"""Stopping within a time limit: a step that hangs is abandoned, and the watchdog ends a
process that a stuck stop would keep alive."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from scheduler.shutdown import stop_within


async def test_a_hanging_step_is_abandoned_and_the_rest_after_a_failure_still_run() -> None:
    done: list[str] = []

    async def fails() -> None:
        done.append("fails")
        raise RuntimeError("cannot stop")

    async def works() -> None:
        done.append("works")

    async def hangs() -> None:
        done.append("hangs")
        await asyncio.Event().wait()

    async def never() -> None:
        done.append("never")

    async with asyncio.timeout(10):  # a hang here is the bug
        await stop_within(0.2, [fails, works, hangs, never])
    assert done == ["fails", "works", "hangs"]


def test_the_watchdog_ends_a_process_that_does_not_stop() -> None:
    code = (
        "import time\n"
        "from scheduler.shutdown import Watchdog\n"
        "Watchdog(0.3).arm()\n"
        "time.sleep(30)\n"
    )
    finished = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=20, check=False
    )
    assert finished.returncode == 1
    assert "still stopping" in finished.stderr
