"""Delivering the outbox: claim due messages, send each through its platform's adapter,
and record the result. A message is marked ``sending`` (with a lease) before the call
and ``sent`` after it, so a crash in between retries it once the lease runs out; a
sender that can look (Slack: the outbox id in the message metadata) is asked first
whether the platform already has it, and the re-sends nobody could check are counted.

Within a rate-limit bucket the claim is fair: the messages of one event take turns with
every other event's, smaller events first (``_claim_from``)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol, cast

from sqlalchemy import Select, Table, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.clock import Clock
from bot.content import Content
from bot.delivery_failure import DeliveryFailure as DeliveryFailure
from bot.delivery_failure import FailureScope as FailureScope
from bot.effects import PostToChannel, SendDM
from bot.faults import crash_point
from bot.refs import ChannelRef, Platform, UserRef
from bot.rhythm import resolve_moments
from bot.storage.bulk import table_of
from bot.storage.database import Database
from bot.storage.models import Member, OutboxMessage, OutboxStatus, OutboxTarget, Workspace
from bot.unreachable import unreachable

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
MAX_BACKOFF = timedelta(minutes=10)
# A message claimed but never marked sent (the process died) is tried again after this.
SENDING_LEASE = timedelta(minutes=5)
# How many due messages per claimed one are ranked for a fair claim (see _claim_from).
CLAIM_CANDIDATES = 4


@dataclass(frozen=True)
class RateLimit:
    per_second: float
    burst: int = 1


class TokenBucket:
    def __init__(self, limit: RateLimit, now: datetime) -> None:
        self._limit = limit
        self._tokens = float(limit.burst)
        self._updated = now
        self._held_until: datetime | None = None

    def take(self, now: datetime) -> datetime | None:
        """None: send now (a token was taken). Otherwise the time to try again."""
        if self._held_until is not None and now < self._held_until:
            return self._held_until
        elapsed = max((now - self._updated).total_seconds(), 0.0)
        self._tokens = min(
            float(self._limit.burst), self._tokens + elapsed * self._limit.per_second
        )
        self._updated = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return None
        return now + timedelta(seconds=(1.0 - self._tokens) / self._limit.per_second)

    def hold(self, until: datetime) -> None:
        """The platform said 429: nothing more until ``until``."""
        self._held_until = max(until, self._held_until or until)
        self._tokens = 0.0

    def available(self, now: datetime) -> int:
        """How many sends would be allowed right now (nothing is taken)."""
        if self._held_until is not None and now < self._held_until:
            return 0
        elapsed = max((now - self._updated).total_seconds(), 0.0)
        return int(min(float(self._limit.burst), self._tokens + elapsed * self._limit.per_second))

    def ready_at(self, now: datetime) -> datetime:
        """When the next send will be allowed."""
        if self._held_until is not None and now < self._held_until:
            return self._held_until
        elapsed = max((now - self._updated).total_seconds(), 0.0)
        tokens = min(float(self._limit.burst), self._tokens + elapsed * self._limit.per_second)
        return now + timedelta(seconds=max(1.0 - tokens, 0.0) / self._limit.per_second)


class RateLimits:
    """Token buckets: one per Slack workspace (Slack limits per workspace), one for the
    whole Discord bot (Discord limits per bot); the console has none. Each instance keeps
    its own buckets, so with N instances configure each with 1/N of the rate."""

    def __init__(self, limits: Mapping[Platform, RateLimit]) -> None:
        self._limits = limits
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    @staticmethod
    def key(platform: Platform, workspace: str) -> tuple[str, str]:
        """Messages with the same key share a bucket (or, unlimited, share nothing)."""
        return (platform.value, workspace if platform == Platform.SLACK else "")

    def _bucket(self, platform: Platform, workspace: str, now: datetime) -> TokenBucket | None:
        limit = self._limits.get(platform)
        if limit is None:
            return None
        key = self.key(platform, workspace)
        if key not in self._buckets:
            self._buckets[key] = TokenBucket(limit, now)
        return self._buckets[key]

    def available(self, platform: Platform, workspace: str, now: datetime) -> int | None:
        """Sends allowed now for this workspace; None: no limit."""
        bucket = self._bucket(platform, workspace, now)
        return bucket.available(now) if bucket else None

    def ready_at(self, platform: Platform, workspace: str, now: datetime) -> datetime:
        bucket = self._bucket(platform, workspace, now)
        return bucket.ready_at(now) if bucket else now

    def take(self, platform: Platform, workspace: str, now: datetime) -> datetime | None:
        bucket = self._bucket(platform, workspace, now)
        return bucket.take(now) if bucket else None

    def hold(self, platform: Platform, workspace: str, until: datetime) -> None:
        bucket = self._bucket(platform, workspace, until)
        if bucket is not None:
            bucket.hold(until)


NO_LIMITS = RateLimits({})


class Sender(Protocol):
    async def perform(self, effect: SendDM | PostToChannel) -> None: ...


class Verifying(Protocol):
    """A sender that can tell whether the platform already has a message (a send whose
    ``sent`` mark was never written: the process died, or the database stopped
    answering, right after the platform took it)."""

    async def delivered_before(self, effect: SendDM | PostToChannel) -> bool | None:
        """True: the platform has it; False: it does not; None: no way to tell."""
        ...


async def delivered_before(sender: Sender, effect: SendDM | PostToChannel) -> bool | None:
    """Ask ``sender`` (if it can tell) whether the platform already has ``effect``."""
    check = getattr(sender, "delivered_before", None)
    if check is None:
        return None
    found: bool | None = await check(effect)
    return found


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    deferred: int = 0  # claimed, then held back by a rate limit (a 429 meanwhile)
    # Left in ``sending`` by an attempt whose outcome was never recorded: found on the
    # platform (so not sent again), or sent again without a way to check (a possible
    # duplicate, counted and logged).
    recovered: int = 0
    unverified: int = 0
    # Messages are due but their rate limit has no room: the earliest moment it will.
    waiting_until: datetime | None = None

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.failed

    def add(self, other: DeliveryReport) -> None:
        self.sent += other.sent
        self.retried += other.retried
        self.failed += other.failed
        self.deferred += other.deferred
        self.recovered += other.recovered
        self.unverified += other.unverified
        self.waiting_until = other.waiting_until


def backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=2**attempts), MAX_BACKOFF)


def outbox_effect(
    message: OutboxMessage, workspace: Workspace, sent_at: datetime
) -> SendDM | PostToChannel:
    """The message as sent at ``sent_at``: relative moments ("tomorrow") told then."""
    platform = Platform(workspace.platform)
    content = Content.from_json(message.content)
    text = resolve_moments(content.text, sent_at)
    if text != content.text:
        content = replace(content, text=text)
    if message.target_kind == OutboxTarget.DM:
        ref = UserRef(platform, workspace.external_id, message.target_id)
        return SendDM(ref, content, outbox_id=message.id)
    channel = ChannelRef(platform, workspace.external_id, message.target_id)
    return PostToChannel(channel, content, outbox_id=message.id)


@dataclass(frozen=True)
class Claimed:
    effect: SendDM | PostToChannel
    platform: Platform
    workspace: str  # the platform's workspace id
    blocked: bool  # a DM to someone already known to be unreachable
    # Claimed again after its lease ran out: an earlier attempt may have reached the
    # platform without its ``sent`` mark being written.
    maybe_sent: bool = False


async def deliver_outbox(
    database: Database,
    senders: Mapping[Platform, Sender],
    clock: Clock,
    *,
    batch: int = 100,
    limits: RateLimits = NO_LIMITS,
) -> DeliveryReport:
    """One pass: deliver up to ``batch`` due messages for the platforms in ``senders``."""
    report = DeliveryReport()
    deferred: list[tuple[int, datetime]] = []
    claimed, report.waiting_until = await _claim(
        database, list(senders), clock.now(), batch, limits
    )
    if claimed:
        crash_point("after_claim")
    # Refused for good earlier in this batch: the rest of the batch does not ask again.
    refused: dict[tuple[str, ...], DeliveryFailure] = {}
    for item in claimed:
        outbox_id = item.effect.outbox_id
        assert outbox_id is not None
        earlier = refused.get(_scope_key(item, FailureScope.WORKSPACE)) or refused.get(
            _scope_key(item, FailureScope.RECIPIENT)
        )
        if earlier is not None:
            problem = earlier
        elif item.blocked:  # costs no request: the platform already said no
            problem = DeliveryFailure(
                "recipient unreachable", permanent=True, scope=FailureScope.RECIPIENT
            )
        elif (later := limits.take(item.platform, item.workspace, clock.now())) is not None:
            deferred.append((outbox_id, later))
            continue
        else:
            sender = senders[item.platform]
            if item.maybe_sent:
                found = await _delivered_before(sender, item.effect)
                if found:
                    log.info("outbox message %s was delivered before; not sent again", outbox_id)
                    await _mark_sent(database, outbox_id, clock.now())
                    report.recovered += 1
                    continue
                if found is None:
                    log.warning(
                        "outbox message %s may reach %s twice: an earlier attempt's outcome "
                        "was not recorded and the platform cannot be asked",
                        outbox_id,
                        item.platform.value,
                    )
                    report.unverified += 1
            try:
                await sender.perform(item.effect)
            except DeliveryFailure as failure:
                problem = failure
                if failure.permanent and failure.scope != FailureScope.MESSAGE:
                    refused[_scope_key(item, failure.scope)] = failure
                if failure.retry_after is not None:
                    limits.hold(item.platform, item.workspace, clock.now() + failure.retry_after)
            except Exception as error:  # an adapter bug or a network error: retry, log the type
                log.exception("delivering outbox message %s failed", outbox_id)
                problem = DeliveryFailure(type(error).__name__, permanent=False)
            else:
                crash_point("after_send")  # the platform has it; our record does not yet
                await _mark_sent(database, outbox_id, clock.now())
                crash_point("mid_delivery")
                report.sent += 1
                continue
        if await _record_failure(database, outbox_id, problem, clock.now()):
            report.retried += 1
        else:
            report.failed += 1
    if deferred:
        await _defer(database, deferred)
        report.deferred += len(deferred)
    return report


async def _delivered_before(sender: Sender, effect: SendDM | PostToChannel) -> bool | None:
    try:
        return await delivered_before(sender, effect)
    except Exception as error:  # the look-up failed: send, and count it as unverified
        log.warning("could not look for an earlier delivery: %s", type(error).__name__)
        return None


def _scope_key(item: Claimed, scope: FailureScope) -> tuple[str, ...]:
    """What a permanent failure of this scope makes unreachable. A recipient and a
    channel are both "the target" of a message, so they share one key shape."""
    if scope == FailureScope.WORKSPACE:
        return (item.platform.value, item.workspace)
    target = (
        item.effect.to.user_id
        if isinstance(item.effect, SendDM)
        else item.effect.channel.channel_id
    )
    return (item.platform.value, item.workspace, type(item.effect).__name__, target)


async def deliver_all(
    database: Database,
    senders: Mapping[Platform, Sender],
    clock: Clock,
    *,
    batch: int = 100,
    limits: RateLimits = NO_LIMITS,
    stopping: Callable[[], bool] = lambda: False,
) -> DeliveryReport:
    """Deliver until nothing due is left, one batch per pass (a failure can queue a
    message too: telling the partner that someone is unreachable), or until
    ``stopping()`` says to stop after the pass in flight."""
    report = DeliveryReport()
    while True:
        done = await deliver_outbox(database, senders, clock, batch=batch, limits=limits)
        report.add(done)
        if done.handled == 0 or stopping():
            return report


async def next_pending_at(database: Database) -> datetime | None:
    """When the next queued message falls due (the worker sleeps until then)."""
    found = await database.execute_alone(_NEXT_PENDING_AT)
    return found.scalar()


_NEXT_PENDING_AT = select(func.min(OutboxMessage.next_attempt_at)).where(
    OutboxMessage.status == OutboxStatus.PENDING.value
)


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
            effect = outbox_effect(message, workspace, message.sent_at or message.created_at)
            assert isinstance(effect, SendDM)
            found.append(effect)
        return found


# What is due: waiting, or claimed by an attempt whose lease ran out, at ``now``.
_DUE = (
    OutboxMessage.status.in_([OutboxStatus.PENDING.value, OutboxStatus.SENDING.value]),
    OutboxMessage.next_attempt_at <= bindparam("now"),
)
# The workspaces on ``platforms`` that have something due and still take deliveries.
_WAITING = select(Workspace.id, Workspace.platform, Workspace.external_id).where(
    Workspace.platform.in_(bindparam("platforms", expanding=True)),
    Workspace.delivery_stopped_at.is_(None),
    Workspace.id.in_(select(OutboxMessage.workspace_id).where(*_DUE)),
)


def _claiming() -> Select[OutboxMessage, Workspace, datetime | None]:
    """Up to ``limit`` due messages of ``workspace_ids``, each with its workspace and
    when its recipient was found unreachable by DM (None: not, or not a DM).

    Fair within a bucket: the messages one event queued (they share its moment,
    ``created_at``) take turns with every other event's, and a big fan-out goes after a
    small one: each event's first due message, smallest events first, then each one's
    second, and so on. One person's /win to 500 partners then no longer holds the bucket
    while someone else's single DM waits behind it."""
    cause = OutboxMessage.created_at
    turns = (
        select(
            OutboxMessage.id.label("id"),
            func.row_number().over(partition_by=cause, order_by=OutboxMessage.id).label("turn"),
            func.count().over(partition_by=cause).label("size"),
        )
        .where(*_DUE, OutboxMessage.workspace_id.in_(bindparam("workspace_ids", expanding=True)))
        .subquery("turns")
    )
    # A few times the room (``candidates``): rows another instance holds are skipped by
    # the lock below, and the next in turn are taken instead.
    chosen = (
        select(turns.c.id, turns.c.turn, turns.c.size)
        .order_by(turns.c.turn, turns.c.size, turns.c.id)
        .limit(bindparam("candidates"))
        .subquery("chosen")
    )
    recipient = aliased(Member, name="recipient")
    return (
        select(OutboxMessage, Workspace, recipient.dm_blocked_at)
        .join(chosen, chosen.c.id == OutboxMessage.id)
        .join(Workspace, OutboxMessage.workspace_id == Workspace.id)
        .outerjoin(
            recipient,
            (OutboxMessage.target_kind == OutboxTarget.DM.value)
            & (recipient.workspace_id == OutboxMessage.workspace_id)
            & (recipient.external_id == OutboxMessage.target_id),
        )
        .where(*_DUE)
        .order_by(chosen.c.turn, chosen.c.size, OutboxMessage.id)
        .limit(bindparam("limit"))
    )


# Built once, as ``_MARKING_SENT`` is: built per claim, it left some 430 objects in
# reference cycles each time, for the collector to find, and building it was about a
# third of a pass delivering one event's news (bench/README.md, issue 16). PostgreSQL
# locks what it claims and skips what another instance holds; SQLite's one writer needs
# neither.
_CLAIMING_ON_SQLITE = _claiming()
_CLAIMING_LOCKED = _CLAIMING_ON_SQLITE.with_for_update(skip_locked=True, of=OutboxMessage)


async def _claim(
    database: Database, platforms: list[Platform], now: datetime, batch: int, limits: RateLimits
) -> tuple[list[Claimed], datetime | None]:
    """Claim due messages, per rate-limit bucket only as many as it has room for now, so
    nothing is claimed only to be put back. Also returns when a bucket that has due
    messages but no room will have room again."""
    async with database.transaction() as session:
        waiting = await session.execute(
            _WAITING, {"platforms": [p.value for p in platforms], "now": now}
        )
        groups: dict[tuple[str, str], tuple[Platform, str, list[int]]] = {}
        for workspace_id, platform_name, external_id in waiting.all():
            platform = Platform(platform_name)
            group = groups.setdefault(
                RateLimits.key(platform, external_id), (platform, external_id, [])
            )
            group[2].append(workspace_id)
        claimed: list[Claimed] = []
        ready: datetime | None = None
        for platform, external_id, workspace_ids in groups.values():
            room = batch - len(claimed)
            if room <= 0:
                break
            available = limits.available(platform, external_id, now)
            if available == 0:
                at = limits.ready_at(platform, external_id, now)
                ready = at if ready is None else min(ready, at)
                continue
            take = room if available is None else min(room, available)
            claimed += await _claim_from(session, workspace_ids, now, take, database)
        return claimed, ready


async def _claim_from(
    session: AsyncSession,
    workspace_ids: list[int],
    now: datetime,
    limit: int,
    database: Database,
) -> list[Claimed]:
    query = _CLAIMING_ON_SQLITE if database.is_sqlite else _CLAIMING_LOCKED
    values = {
        "workspace_ids": workspace_ids,
        "now": now,
        "candidates": limit * CLAIM_CANDIDATES,
        "limit": limit,
    }
    claimed = []
    for message, workspace, blocked_at in (await session.execute(query, values)).all():
        maybe_sent = message.status == OutboxStatus.SENDING.value
        message.status = OutboxStatus.SENDING.value
        message.attempts += 1
        message.next_attempt_at = now + SENDING_LEASE
        claimed.append(
            Claimed(
                outbox_effect(message, workspace, now),
                Platform(workspace.platform),
                workspace.external_id,
                blocked_at is not None,
                maybe_sent,
            )
        )
    return claimed


async def _defer(database: Database, deferred: list[tuple[int, datetime]]) -> None:
    """Back to pending, untouched by the attempt: a rate limit is not a failure."""
    table = cast(Table, OutboxMessage.__table__)
    statement = (
        update(table)
        .where(table.c.id == bindparam("outbox_id"))
        .values(
            status=OutboxStatus.PENDING.value,
            attempts=table.c.attempts - 1,
            next_attempt_at=bindparam("later"),
        )
    )
    async with database.transaction() as session:
        await session.execute(
            statement, [{"outbox_id": outbox_id, "later": later} for outbox_id, later in deferred]
        )


_OUTBOX = table_of(OutboxMessage)
# Every message delivered is marked so in a transaction of its own: built once, and on
# the table (no ORM session to keep in step), it costs a fraction of the Python it did
# built per message (bench/README.md, issue 16).
_MARKING_SENT = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("outbox_id"))
    .values(status=OutboxStatus.SENT.value, sent_at=bindparam("now"), last_error=None)
)


async def _mark_sent(database: Database, outbox_id: int, now: datetime) -> None:
    # One row by its key, one statement: brief (on SQLite it may run on the event loop's
    # thread), and alone (on PostgreSQL one round trip, without BEGIN and COMMIT).
    await database.execute_alone(_MARKING_SENT, {"outbox_id": outbox_id, "now": now}, brief=True)


async def _record_failure(
    database: Database, outbox_id: int, failure: DeliveryFailure, now: datetime
) -> bool:
    """True when the message will be tried again."""
    async with database.transaction() as session:
        message = await session.get(OutboxMessage, outbox_id)
        if message is None:
            return False
        message.last_error = failure.reason[:200]
        if failure.retry_after is not None and not failure.permanent:
            # "Slow down" (a 429) says nothing about the message: it is not an attempt,
            # or a long throttle would use them all up and fail a good message.
            message.attempts -= 1
        if not failure.permanent and message.attempts < MAX_ATTEMPTS:
            message.status = OutboxStatus.PENDING.value
            message.next_attempt_at = now + (failure.retry_after or backoff(message.attempts))
            return True
        message.status = OutboxStatus.FAILED.value
        log.warning(
            "outbox message %s failed for good (%s): %s", outbox_id, failure.scope, failure.reason
        )
        if failure.permanent and failure.scope != FailureScope.MESSAGE:
            workspace = await session.get(Workspace, message.workspace_id)
            assert workspace is not None
            await unreachable(session, workspace, message, failure, now)
        return False
