"""Delivering the outbox: claim due messages, send each through its platform's adapter,
and record the result. A message is marked ``sending`` (with a lease) before the call
and ``sent`` after it, so a crash in between retries it once the lease runs out."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select, update

from bot.clock import Clock
from bot.content import Content
from bot.effects import PostToChannel, SendDM
from bot.refs import ChannelRef, Platform, UserRef
from bot.storage.database import Database
from bot.storage.models import OutboxMessage, OutboxStatus, OutboxTarget, Workspace

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
MAX_BACKOFF = timedelta(minutes=10)
# A message claimed but never marked sent (the process died) is tried again after this.
SENDING_LEASE = timedelta(minutes=5)


class DeliveryFailure(Exception):
    """Raised by a sender. ``permanent`` failures (DMs closed, channel gone, token
    revoked) are never retried; the others are, with backoff or after ``retry_after``."""

    def __init__(
        self, reason: str, *, permanent: bool, retry_after: timedelta | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after


class Sender(Protocol):
    async def perform(self, effect: SendDM | PostToChannel) -> None: ...


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.failed

    def add(self, other: DeliveryReport) -> None:
        self.sent += other.sent
        self.retried += other.retried
        self.failed += other.failed


def backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=2**attempts), MAX_BACKOFF)


def outbox_effect(message: OutboxMessage, workspace: Workspace) -> SendDM | PostToChannel:
    platform = Platform(workspace.platform)
    content = Content.from_json(message.content)
    if message.target_kind == OutboxTarget.DM:
        ref = UserRef(platform, workspace.external_id, message.target_id)
        return SendDM(ref, content, outbox_id=message.id)
    channel = ChannelRef(platform, workspace.external_id, message.target_id)
    return PostToChannel(channel, content, outbox_id=message.id)


async def deliver_outbox(
    database: Database, senders: Mapping[Platform, Sender], clock: Clock, *, batch: int = 100
) -> DeliveryReport:
    """One pass: deliver up to ``batch`` due messages for the platforms in ``senders``."""
    report = DeliveryReport()
    for effect, platform in await _claim(database, list(senders), clock.now(), batch):
        assert effect.outbox_id is not None
        try:
            await senders[platform].perform(effect)
        except DeliveryFailure as failure:
            problem = failure
        except Exception as error:  # an adapter bug or a network error: retry, log the type
            log.exception("delivering outbox message %s failed", effect.outbox_id)
            problem = DeliveryFailure(type(error).__name__, permanent=False)
        else:
            await _mark_sent(database, effect.outbox_id, clock.now())
            report.sent += 1
            continue
        if await _record_failure(database, effect.outbox_id, problem, clock.now()):
            report.retried += 1
        else:
            report.failed += 1
    return report


async def deliver_all(
    database: Database, senders: Mapping[Platform, Sender], clock: Clock, *, batch: int = 100
) -> DeliveryReport:
    """Deliver until nothing due is left, one batch per pass."""
    report = DeliveryReport()
    while True:
        done = await deliver_outbox(database, senders, clock, batch=batch)
        report.add(done)
        if done.handled < batch:
            return report


async def recent_dms(database: Database, user: UserRef, *, limit: int = 20) -> list[SendDM]:
    """The newest DMs delivered to a person, newest first (a console that restarted uses
    them to find the buttons it showed before)."""
    async with database.transaction() as session:
        query = (
            select(OutboxMessage, Workspace)
            .join(Workspace, OutboxMessage.workspace_id == Workspace.id)
            .where(
                Workspace.platform == user.platform.value,
                Workspace.external_id == user.workspace_id,
                OutboxMessage.target_kind == OutboxTarget.DM.value,
                OutboxMessage.target_id == user.user_id,
                OutboxMessage.status == OutboxStatus.SENT.value,
            )
            .order_by(OutboxMessage.id.desc())
            .limit(limit)
        )
        found = []
        for message, workspace in (await session.execute(query)).all():
            effect = outbox_effect(message, workspace)
            assert isinstance(effect, SendDM)
            found.append(effect)
        return found


async def _claim(
    database: Database, platforms: list[Platform], now: datetime, batch: int
) -> list[tuple[SendDM | PostToChannel, Platform]]:
    async with database.transaction() as session:
        query = (
            select(OutboxMessage, Workspace)
            .join(Workspace, OutboxMessage.workspace_id == Workspace.id)
            .where(
                OutboxMessage.status.in_([OutboxStatus.PENDING.value, OutboxStatus.SENDING.value]),
                OutboxMessage.next_attempt_at <= now,
                Workspace.platform.in_([p.value for p in platforms]),
            )
            .order_by(OutboxMessage.id)
            .limit(batch)
        )
        if not database.is_sqlite:
            query = query.with_for_update(skip_locked=True, of=OutboxMessage)
        claimed = []
        for message, workspace in (await session.execute(query)).all():
            message.status = OutboxStatus.SENDING.value
            message.attempts += 1
            message.next_attempt_at = now + SENDING_LEASE
            claimed.append((outbox_effect(message, workspace), Platform(workspace.platform)))
        return claimed


async def _mark_sent(database: Database, outbox_id: int, now: datetime) -> None:
    async with database.transaction() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == outbox_id)
            .values(status=OutboxStatus.SENT.value, sent_at=now, last_error=None)
        )


async def _record_failure(
    database: Database, outbox_id: int, failure: DeliveryFailure, now: datetime
) -> bool:
    """True when the message will be tried again."""
    async with database.transaction() as session:
        message = await session.get(OutboxMessage, outbox_id)
        if message is None:
            return False
        message.last_error = failure.reason[:200]
        if failure.permanent or message.attempts >= MAX_ATTEMPTS:
            message.status = OutboxStatus.FAILED.value
            log.warning("outbox message %s failed for good: %s", outbox_id, failure.reason)
            return False
        message.status = OutboxStatus.PENDING.value
        message.next_attempt_at = now + (failure.retry_after or backoff(message.attempts))
        return True
