"""Stopping within a time limit, whatever the database or a platform does: SIGTERM ends
``mentorbot run`` within 10 s (the usual grace before a SIGKILL: Docker's and systemd's
default is 10 s, Kubernetes' 30 s)."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from collections.abc import Awaitable, Callable, Sequence

log = logging.getLogger(__name__)

# The steps of a stop share this; the watchdog ends the process a little after it.
STOP_SECONDS = 8.0
WATCHDOG_SECONDS = 9.5


async def stop_within(seconds: float, steps: Sequence[Callable[[], Awaitable[None]]]) -> None:
    """Run ``steps`` in order; what is left when ``seconds`` are up is abandoned (work in
    flight is cancelled, and what was claimed and not sent waits for the next start)."""
    try:
        async with asyncio.timeout(seconds):
            for step in steps:
                try:
                    await step()
                except Exception as error:  # one part failing to stop does not keep the rest
                    log.warning("stopping: %s failed: %s", _name(step), type(error).__name__)
    except TimeoutError:
        log.warning("stopping took longer than %.0f s; leaving the rest undone", seconds)


class Watchdog:
    """The last resort: armed when a stop is asked for, it ends the process (exit code 1,
    one line on stderr) if it is still there ``seconds`` later, say because a database
    driver holds the event loop. A thread, so a blocked loop cannot hold it up."""

    def __init__(self, seconds: float = WATCHDOG_SECONDS) -> None:
        self._seconds = seconds
        self._timer: threading.Timer | None = None

    def arm(self) -> None:
        if self._timer is not None:
            return
        self._timer = threading.Timer(self._seconds, self._end)
        self._timer.daemon = True
        self._timer.start()

    def disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def _end(self) -> None:
        sys.stderr.write(f"mentorbot: still stopping after {self._seconds:.0f} s; exiting now\n")
        sys.stderr.flush()
        os._exit(1)


def _name(step: Callable[[], Awaitable[None]]) -> str:
    return getattr(step, "__qualname__", type(step).__name__)
