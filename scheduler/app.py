"""APScheduler wiring: one periodic dispatch job per process, plus the delivery worker.

APScheduler 3's ``AsyncIOScheduler`` with its default in-memory job store: the database
is the source of truth for what is due, so there are no per-pair jobs and no pickled job
state. Start it once per process from inside the running event loop (on Discord from
``setup_hook``, never ``on_ready``, which fires again on every reconnect).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.engine import Engine
from bot.storage.database import DatabaseUnavailable
from bot.telemetry import NO_TELEMETRY, Telemetry
from scheduler.delivery_worker import DeliveryWorker

log = logging.getLogger(__name__)

DISPATCH_JOB = "dispatch"


class BotScheduler:
    def __init__(
        self,
        engine: Engine,
        worker: DeliveryWorker,
        *,
        interval_seconds: float = 30.0,
        jitter_seconds: float = 3.0,
        telemetry: Telemetry = NO_TELEMETRY,
    ) -> None:
        self._telemetry = telemetry
        self._engine = engine
        self._worker = worker
        self._interval = interval_seconds
        self._jitter = jitter_seconds
        self._scheduler: AsyncIOScheduler | None = None
        self._worker_task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()  # no dispatch pass in flight
        self._idle.set()

    @property
    def running(self) -> bool:
        return self._scheduler is not None

    def start(self) -> None:
        if self._scheduler is not None:
            return  # started once per process
        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.add_job(
            self.dispatch,
            "interval",
            seconds=self._interval,
            jitter=self._jitter,
            id=DISPATCH_JOB,
            coalesce=True,  # after a stall, one pass, not one per missed interval
            max_instances=1,  # a slow pass is never overlapped by the next one
            misfire_grace_time=int(max(self._interval * 10, 60)),
            next_run_time=datetime.now(UTC),  # catch up at start
        )
        scheduler.start()
        self._scheduler = scheduler
        self._worker_task = asyncio.create_task(self._worker.run(), name="delivery-worker")

    async def dispatch(self) -> None:
        if self._scheduler is None:
            return  # stopping: take no new work
        self._idle.clear()
        started = time.perf_counter()
        try:
            report = await self._engine.run_due()
        except DatabaseUnavailable as error:
            log.warning("a dispatch pass could not reach the database (%s); trying again", error)
            return
        except Exception:
            log.exception("a dispatch pass failed; the next one will try again")
            return
        finally:
            self._telemetry.dispatch_pass(time.perf_counter() - started)
            self._idle.set()
        if report.total:
            log.info("dispatch pass: %s", report)

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Stop taking new work, let the delivery in flight finish: all within the grace."""
        deadline = asyncio.get_running_loop().time() + grace_seconds

        def left() -> float:
            return max(deadline - asyncio.get_running_loop().time(), 0.0)

        scheduler, self._scheduler = self._scheduler, None  # dispatch() takes no new work
        # The message in flight finishes; the rest goes back to the queue at once rather
        # than being sent while the dispatch pass finishes.
        self._worker.stop()
        if scheduler is not None:
            scheduler.pause()
            # Shutting down cancels a running job, so let the pass in flight finish first.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), left())
            scheduler.shutdown(wait=False)
        if self._worker_task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._worker_task, left())
            self._worker_task = None
