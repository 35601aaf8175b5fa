"""Delivery for ``mentorbot dispatch``: send what is due through the platforms this process
has senders for, with the same rate limits, retries and permanent-failure handling as the
delivery worker of ``mentorbot run`` (both call :func:`bot.delivery.deliver_all`), then
return instead of polling forever.

Several processes can run this at once on one PostgreSQL: each message is claimed by one
of them (``FOR UPDATE SKIP LOCKED``) and marked ``sending`` with a lease, so the others
skip it. A retry that falls due within :data:`RETRY_WAIT` is waited for; a later one (a
longer backoff, a long ``Retry-After``) stays queued for the next run, and so does what a
rate limit would not let out before the run's time budget is spent (so that runs started
by cron once a minute do not pile up, each sending at the full per-process rate).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select

from bot.clock import Clock
from bot.delivery import NO_LIMITS, DeliveryReport, RateLimits, Sender, deliver_all
from bot.refs import Platform
from bot.storage.database import Database
from bot.storage.models import OutboxMessage, OutboxStatus, Workspace

# A retry (backoff after a network error, a short Retry-After, a rate limit's next slot)
# due within this is waited for before exiting; a later one waits for the next run.
RETRY_WAIT = timedelta(seconds=30)
# A pass that handled nothing although something was due (rows another process holds
# locked for an instant): wait this long before looking again, never spin.
IDLE_STEP_SECONDS = 0.05
_QUEUED = (OutboxStatus.PENDING.value, OutboxStatus.SENDING.value)


async def deliver_queued(
    database: Database,
    senders: Mapping[Platform, Sender],
    clock: Clock,
    *,
    limits: RateLimits = NO_LIMITS,
    batch: int = 100,
    retry_wait: timedelta = RETRY_WAIT,
    budget: timedelta | None = None,
) -> DeliveryReport:
    """Deliver until nothing for ``senders``' platforms is due within ``retry_wait``, or
    until ``budget`` has passed (the batch in flight finishes; the rest stays queued)."""
    total = DeliveryReport()
    if not senders:
        return total
    deadline = None if budget is None else clock.now() + budget

    def out_of_time() -> bool:
        return deadline is not None and clock.now() >= deadline

    while True:
        report = await deliver_all(
            database, senders, clock, batch=batch, limits=limits, stopping=out_of_time
        )
        total.add(report)
        due = await next_due_at(database, list(senders))
        if due is None or out_of_time():
            return total
        now = clock.now()
        until = due if report.waiting_until is None else max(due, report.waiting_until)
        if until - now > retry_wait or (deadline is not None and until > deadline):
            return total
        seconds = (until - now).total_seconds()
        if seconds <= 0 and report.handled == 0:
            seconds = IDLE_STEP_SECONDS
        await asyncio.sleep(max(seconds, 0.0))


async def next_due_at(database: Database, platforms: list[Platform]) -> datetime | None:
    """When the next queued message for one of ``platforms`` (in a workspace still
    delivered to) falls due; a ``sending`` one falls due when its lease runs out."""
    async with database.transaction() as session:
        return await session.scalar(
            select(func.min(OutboxMessage.next_attempt_at))
            .select_from(OutboxMessage)
            .join(Workspace, OutboxMessage.workspace_id == Workspace.id)
            .where(
                OutboxMessage.status.in_(_QUEUED),
                Workspace.platform.in_([p.value for p in platforms]),
                Workspace.delivery_stopped_at.is_(None),
            )
        )


@dataclass(frozen=True, slots=True)
class Waiting:
    """A platform's queued messages after a pass: ``due`` could go now but were not sent
    by this run (the rate limit or the time budget held them back, or another process is
    sending them), ``later`` fall due later (a recipient's quiet hours, a retry's
    backoff), the first of them at ``first_later``."""

    due: int = 0
    later: int = 0
    first_later: datetime | None = None

    @property
    def count(self) -> int:
        return self.due + self.later


async def waiting_by_platform(database: Database, now: datetime) -> dict[Platform, Waiting]:
    """The messages queued (pending or being sent) per platform as of ``now``, counting
    only workspaces still delivered to. One being sent (by another process: its
    ``next_attempt_at`` is its lease's end) counts as due, not as later."""
    is_due = or_(
        OutboxMessage.status == OutboxStatus.SENDING.value, OutboxMessage.next_attempt_at <= now
    )
    first = func.min(OutboxMessage.next_attempt_at)
    async with database.transaction() as session:
        rows = await session.execute(
            select(Workspace.platform, is_due, func.count(), first)
            .select_from(OutboxMessage)
            .join(Workspace, OutboxMessage.workspace_id == Workspace.id)
            .where(OutboxMessage.status.in_(_QUEUED), Workspace.delivery_stopped_at.is_(None))
            .group_by(Workspace.platform, is_due)
        )
        waiting: dict[Platform, Waiting] = {}
        for platform, due, count, earliest in rows.all():
            known = waiting.get(Platform(platform), Waiting())
            if due:
                waiting[Platform(platform)] = replace(known, due=int(count))
            else:
                waiting[Platform(platform)] = replace(known, later=int(count), first_later=earliest)
        return waiting
