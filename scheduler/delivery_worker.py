"""The delivery worker: woken in-process right after a commit that queued messages, so a
partner's DM follows a ``/win`` within a second; polling only as the fallback for work
queued by other instances and for retries that come due."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

from bot.clock import Clock
from bot.delivery import (
    NO_LIMITS,
    DeliveryReport,
    RateLimits,
    Sender,
    deliver_all,
    next_pending_at,
)
from bot.refs import Platform
from bot.storage.database import Database

log = logging.getLogger(__name__)


class DeliveryWorker:
    def __init__(
        self,
        database: Database,
        senders: Mapping[Platform, Sender],
        clock: Clock,
        *,
        poll_seconds: float = 5.0,
        batch: int = 100,
        limits: RateLimits = NO_LIMITS,
    ) -> None:
        self._database = database
        self._senders = senders
        self._clock = clock
        self._poll_seconds = poll_seconds
        self._batch = batch
        self._limits = limits
        self._wake = asyncio.Event()
        self._stopping = False
        self.total = DeliveryReport()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Deliver until stopped. ``stop`` lets the pass in flight finish first."""
        while not self._stopping:
            await self.drain()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), await self._sleep_seconds())
            self._wake.clear()

    async def _sleep_seconds(self) -> float:
        """Until the next queued message is due (a rate-limited or retried one), or the
        poll interval, whichever is sooner."""
        try:
            due = await next_pending_at(self._database)
        except Exception:
            log.exception("could not read the outbox; polling")
            return self._poll_seconds
        if due is None:
            return self._poll_seconds
        return min(max((due - self._clock.now()).total_seconds(), 0.0), self._poll_seconds)

    async def drain(self) -> DeliveryReport:
        try:
            report = await deliver_all(
                self._database, self._senders, self._clock, batch=self._batch, limits=self._limits
            )
        except Exception:
            log.exception("a delivery pass failed; trying again on the next wake-up")
            return DeliveryReport()
        self.total.add(report)
        return report
