"""The delivery worker: woken in-process right after a commit that queued messages, so a
partner's DM follows a ``/win`` within a second; polling only as the fallback for work
queued by other instances and for retries that come due.

An adapter answering an interaction holds the wake-ups its event causes
(:func:`wakes_held`) until the answer is out, so the worker's pass does not run on the
event loop ahead of it; the messages are in the outbox already, so nothing waits on the
hold but the moment the pass starts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from datetime import timedelta

from bot.clock import Clock
from bot.delivery import (
    NO_LIMITS,
    DeliveryFailure,
    DeliveryReport,
    RateLimits,
    Sender,
    deliver_all,
    delivered_before,
    next_pending_at,
)
from bot.effects import PostToChannel, SendDM
from bot.refs import Platform
from bot.storage.database import Database, DatabaseUnavailable
from bot.telemetry import NO_TELEMETRY, Telemetry, counted_senders

log = logging.getLogger(__name__)

# While a rate limit has due messages and no room, a pass ends having claimed nothing
# for its bucket; the wake-ups of new messages start the next pass no sooner than this.
# Under load every event woke a pass that only found the bucket still full (about a
# tenth of a busy process, bench/README.md issue 16); now a message for another bucket
# waits at most this long.
BUSY_PASS_GAP_SECONDS = 0.25


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
        telemetry: Telemetry = NO_TELEMETRY,
    ) -> None:
        self._database = database
        self._senders = senders
        self._telemetry = telemetry
        self._clock = clock
        self._poll_seconds = poll_seconds
        self._batch = batch
        self._limits = limits
        self._wake = asyncio.Event()
        self._stopped = asyncio.Event()
        self._stopping = False
        self.total = DeliveryReport()

    def wake(self) -> None:
        held = _held.get()
        if held is None or not held.hold(self):
            self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._stopped.set()
        self._wake.set()

    async def run(self) -> None:
        """Deliver until stopped. ``stop`` lets the pass in flight finish first."""
        while not self._stopping:
            report = await self.drain()
            sleep = await self._sleep_seconds(report)
            if report.waiting_until is not None:
                # A bucket is full: wake-ups wait out the gap (stopping does not).
                gap = min(sleep, BUSY_PASS_GAP_SECONDS)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopped.wait(), gap)
                sleep -= gap
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), sleep)
            self._wake.clear()

    async def _sleep_seconds(self, report: DeliveryReport) -> float:
        """Until a rate limit with messages waiting has room again, or the next queued
        message is due (a retried one), or the poll interval, whichever is sooner."""
        if report.waiting_until is not None:
            # Due messages wait for room: the outbox's earliest due time is already past.
            left = (report.waiting_until - self._clock.now()).total_seconds()
            return min(max(left, 0.0), self._poll_seconds)
        try:
            due = await next_pending_at(self._database)
        except DatabaseUnavailable:
            return self._poll_seconds
        except Exception:
            log.exception("could not read the outbox; polling")
            return self._poll_seconds
        if due is None:
            return self._poll_seconds
        return min(max((due - self._clock.now()).total_seconds(), 0.0), self._poll_seconds)

    async def drain(self) -> DeliveryReport:
        """Deliver until nothing due is left. After ``stop`` the message in flight
        finishes and the rest of its batch goes back to the queue untried, for the next
        start."""
        # Built per drain: the composition root adds platforms as they start.
        senders = {
            platform: _UntilStopped(sender, self)
            for platform, sender in counted_senders(self._senders, self._telemetry).items()
        }
        try:
            report = await deliver_all(
                self._database,
                senders,
                self._clock,
                batch=self._batch,
                limits=self._limits,
                stopping=lambda: self._stopping,
            )
        except DatabaseUnavailable as error:
            # What was sent and not yet marked is looked for before it is sent again.
            log.warning("a delivery pass could not reach the database (%s); trying again", error)
            return DeliveryReport()
        except Exception:
            log.exception("a delivery pass failed; trying again on the next wake-up")
            return DeliveryReport()
        self.total.add(report)
        if report.recovered or report.unverified:
            self._telemetry.resent(report.recovered, report.unverified)
        return report

    @property
    def stopping(self) -> bool:
        return self._stopping


class HeldWakes:
    """The workers woken inside :func:`wakes_held`, woken for real on ``release`` (the
    first call; a wake after it goes through at once)."""

    def __init__(self) -> None:
        self._workers: list[DeliveryWorker] | None = []

    def hold(self, worker: DeliveryWorker) -> bool:
        if self._workers is None:
            return False
        self._workers.append(worker)
        return True

    def release(self) -> None:
        workers, self._workers = self._workers, None
        for worker in workers or ():
            worker._wake.set()


_held: ContextVar[HeldWakes | None] = ContextVar("held_wakes", default=None)


@contextlib.contextmanager
def wakes_held() -> Iterator[HeldWakes]:
    """Wake-ups asked for in this context (and in tasks started from it) wait until
    ``release()`` or the end of the block, whichever comes first."""
    held = HeldWakes()
    token = _held.set(held)
    try:
        yield held
    finally:
        _held.reset(token)
        held.release()


# A message claimed but not tried when the worker stopped: due again a second later, so
# the next start (this instance or another) sends it. Not an attempt (as a 429 is not).
RELEASED = "not sent yet: the bot was stopping"
RELEASED_FOR = timedelta(seconds=1)


class _UntilStopped:
    def __init__(self, sender: Sender, worker: DeliveryWorker) -> None:
        self._sender = sender
        self._worker = worker

    async def perform(self, effect: SendDM | PostToChannel) -> None:
        if self._worker.stopping:
            raise DeliveryFailure(RELEASED, permanent=False, retry_after=RELEASED_FOR)
        await self._sender.perform(effect)

    async def delivered_before(self, effect: SendDM | PostToChannel) -> bool | None:
        return await delivered_before(self._sender, effect)
