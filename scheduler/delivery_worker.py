"""The delivery worker: woken in-process right after a commit that queued messages, so a
partner's DM follows a ``/win`` within a second; polling only as the fallback for work
queued by other instances and for retries that come due."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

from bot.clock import Clock
from bot.delivery import DeliveryReport, Sender, deliver_all
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
    ) -> None:
        self._database = database
        self._senders = senders
        self._clock = clock
        self._poll_seconds = poll_seconds
        self._batch = batch
        self._wake = asyncio.Event()
        self._stopping = False
        self.total = DeliveryReport()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_seconds)
            self._wake.clear()
            await self.drain()

    async def drain(self) -> DeliveryReport:
        try:
            report = await deliver_all(
                self._database, self._senders, self._clock, batch=self._batch
            )
        except Exception:
            log.exception("a delivery pass failed; trying again on the next wake-up")
            return DeliveryReport()
        self.total.add(report)
        return report
