"""``mentorbot run`` on a fast simulated clock: the process bench/bench_memory.py measures.

Bench-only. The command line never runs on this clock: ``adapters.cli.serve`` takes a
clock only from here. Everything else is ``mentorbot run`` as deployed (settings from
the environment, the Slack adapter, the scheduler, the delivery worker, the ops server).

The clock reads ``START`` until the wall-clock moment ``EPOCH`` and then runs ``SPEED``
times faster than real time, so an hour of the bot's time passes in ``3600 / SPEED``
seconds. Sleeps are real (the scheduler's interval, the worker's poll): the benchmark
sets ``DISPATCH_INTERVAL_SECONDS`` to the default divided by ``SPEED``, so the bot makes
as many dispatch passes in its hour as it would in a real one. The delivery worker's
sleeps are scaled here the same way (its wait for a rate limit's room is a span of the
bot's clock, slept in real seconds; its gap between passes while a rate limit is full is
real seconds): it delivers as often in the bot's hour as in a real one. So are the ages
of the Slack profiles' cache entries (kept an hour of the bot's time).

Environment (set by bench_memory): ``MENTORBOT_BENCH_START`` (ISO 8601),
``MENTORBOT_BENCH_EPOCH`` (Unix seconds), ``MENTORBOT_BENCH_SPEED``; optionally
``MENTORBOT_BENCH_TRACEMALLOC`` (a folder: tracemalloc runs, and a snapshot is dumped
there every ``MENTORBOT_BENCH_SNAPSHOT_SECONDS``, as ``snapshot-<n>.dump``) and
``MENTORBOT_BENCH_TRACE_FRAMES`` (frames kept per allocation, default 1);
``MENTORBOT_BENCH_PYMALLOC_SECONDS`` (every so many seconds, CPython's small-object
allocator writes its statistics, ``sys._debugmallocstats()``, to stderr after a line
``PYMALLOC_MARK <unix time>``).
"""

from __future__ import annotations

import os
import sys
import threading
import time
import tracemalloc
from datetime import datetime, timedelta
from pathlib import Path


class FastClock:
    """``start`` until the wall clock reaches ``epoch``, then ``speed`` times real time."""

    def __init__(self, start: datetime, epoch: float, speed: float) -> None:
        if start.tzinfo is None:
            raise ValueError("FastClock needs a timezone-aware start time")
        self._start = start
        self._epoch = epoch
        self._speed = speed

    def now(self) -> datetime:
        passed = max(time.time() - self._epoch, 0.0) * self._speed
        return self._start + timedelta(seconds=passed)


def _snapshots(folder: Path, every: float) -> None:
    number = 0
    while True:
        time.sleep(every)
        tracemalloc.take_snapshot().dump(str(folder / f"snapshot-{number:03d}.dump"))
        number += 1


PYMALLOC_MARK = "pymalloc statistics at"


def _pymalloc_statistics(every: float) -> None:
    while True:
        time.sleep(every)
        sys.stderr.write(f"{PYMALLOC_MARK} {time.time():.3f}\n")
        sys.stderr.flush()
        sys._debugmallocstats()  # to the C stderr, after the mark


def _scale_delivery_sleeps(speed: float) -> None:
    """The delivery worker sleeps ``speed`` times shorter, as the bot's clock runs."""
    from bot.delivery import DeliveryReport
    from scheduler import delivery_worker

    delivery_worker.BUSY_PASS_GAP_SECONDS /= speed
    sleep_seconds = delivery_worker.DeliveryWorker._sleep_seconds

    async def scaled(worker: delivery_worker.DeliveryWorker, report: DeliveryReport) -> float:
        return await sleep_seconds(worker, report) / speed

    setattr(delivery_worker.DeliveryWorker, "_sleep_seconds", scaled)  # noqa: B010


def _scale_profile_ages(speed: float) -> None:
    """The Slack profiles' cache ages its entries ``speed`` times faster, as the bot's
    clock runs: an entry is kept an hour of the bot's time, not of real time. Without
    this a run of more than the bot's hour kept everyone it met (an hour of real time
    never passed), and its second hour grew by a cache that a real second hour holds
    steady (bench/README.md, issue 16, thirty-second step)."""
    from adapters.slack import profiles

    defaults = profiles.Profiles.__init__.__kwdefaults__
    assert defaults is not None and "monotonic" in defaults
    defaults["monotonic"] = lambda: time.monotonic() * speed


def main() -> None:
    from adapters.cli import serve

    speed = float(os.environ["MENTORBOT_BENCH_SPEED"])
    clock = FastClock(
        datetime.fromisoformat(os.environ["MENTORBOT_BENCH_START"]),
        float(os.environ["MENTORBOT_BENCH_EPOCH"]),
        speed,
    )
    _scale_delivery_sleeps(speed)
    _scale_profile_ages(speed)
    trace = os.environ.get("MENTORBOT_BENCH_TRACEMALLOC")
    if trace:
        tracemalloc.start(int(os.environ.get("MENTORBOT_BENCH_TRACE_FRAMES", "1")))
        every = float(os.environ.get("MENTORBOT_BENCH_SNAPSHOT_SECONDS", "30"))
        threading.Thread(target=_snapshots, args=(Path(trace), every), daemon=True).start()
    pymalloc_every = os.environ.get("MENTORBOT_BENCH_PYMALLOC_SECONDS")
    if pymalloc_every:
        every = float(pymalloc_every)
        threading.Thread(target=_pymalloc_statistics, args=(every,), daemon=True).start()
    serve(clock)


if __name__ == "__main__":
    main()
