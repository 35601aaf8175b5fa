"""The outbox: delivered in order, retried with backoff, permanent failures recorded once."""

import asyncio
import gc
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.delivery import (
    MAX_ATTEMPTS,
    SENDING_LEASE,
    DeliveryFailure,
    DeliveryReport,
    RateLimit,
    RateLimits,
    deliver_all,
)
from bot.events import CommandInvoked
from bot.refs import Platform
from bot.storage.models import OutboxMessage, OutboxStatus
from scheduler import delivery_worker
from scheduler.delivery_worker import DeliveryWorker
from scheduler.dispatch_once import Waiting, waiting_by_platform
from tests.conversation import Chat, Recorder, pair_up
from tests.statements import trips_to_sqlite


async def _outbox(chat: Chat) -> list[OutboxMessage]:
    async with chat.database.transaction() as session:
        return list(
            (await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars()
        )


async def test_messages_are_marked_sent_in_order(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    for n in range(5):
        await chat.say("alice", f"/win {n}")
    rows = await _outbox(chat)
    assert {r.status for r in rows} == {OutboxStatus.SENT}
    wins = [dm for dm in chat.dms("bob") if "shared a win" in dm]
    # (the first one carries the "First win" milestone it reached: one event, one message)
    assert [dm.split("\n")[0] for dm in wins] == [f"<@alice> shared a win: {n}" for n in range(5)]


async def test_the_sent_mark_runs_on_the_event_loops_thread(chat: Chat) -> None:
    """SQLite: marking a message sent (one row by its key) is a brief unit of work, run
    on the event loop's thread (bot/storage/sqlite_driver.py), two trips to SQLite with
    no hand-off; the claim, which may read many due messages, stays on aiosqlite's."""
    if not chat.database.is_sqlite:
        pytest.skip("SQLite only")
    await pair_up(chat, "alice", "bob")
    for text in ("one DM", "another DM"):
        await chat.engine.handle(CommandInvoked(user=chat.ref("alice"), command="win", text=text))
    with trips_to_sqlite() as trips:
        report = await chat.deliver()
    assert report.sent == 2  # bob's news of each win
    # Each sent mark: BEGIN with the UPDATE, then the COMMIT.
    assert trips.count - trips.on_thread == 2 * report.sent
    assert trips.on_thread > 0  # the claim
    assert {r.status for r in await _outbox(chat)} == {OutboxStatus.SENT}


async def test_a_delivery_pass_leaves_nothing_for_the_cycle_collector(chat: Chat) -> None:
    """A pass that claims and sends a /win's news, as the worker runs one after each
    event, frees what it made as it goes. Its claim was built per pass and left some 430
    objects in reference cycles each time (an alias of the members table, subqueries,
    their columns), which only the cycle collector frees; building it was about a third
    of such a pass (bench/README.md, issue 16, twentieth step). The event's own unit of
    work leaves none either."""
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/win warm-up")  # first contact, the milestone, a first claim
    gc.collect()
    gc.disable()
    try:
        for text in ("one", "two", "three"):
            win = CommandInvoked(user=chat.ref("alice"), command="win", text=text)
            await chat.engine.handle(win)
            report = await chat.deliver()
            assert report.sent == 1  # bob's news of the win
        found = gc.collect()
    finally:
        gc.enable()
    assert found == 0
    assert [dm.split("\n")[0] for dm in chat.dms("bob")[-3:]] == [
        f"<@alice> shared a win: {text}" for text in ("one", "two", "three")
    ]


async def test_a_transient_failure_is_retried_with_backoff(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    chat.recorder.fail_with = DeliveryFailure("server error 503", permanent=False)
    await chat.say("alice", "/win try again")
    (row,) = [r for r in await _outbox(chat) if "try again" in r.content["text"]]
    assert row.status == OutboxStatus.PENDING and row.attempts == 1
    assert row.next_attempt_at == chat.clock.now() + timedelta(seconds=2)
    assert row.last_error == "server error 503"

    chat.recorder.fail_with = None
    assert (await chat.deliver()).sent == 0  # not due yet
    chat.clock.advance(timedelta(seconds=2))
    # The win's DM to bob, with the "First win" milestone it reached (alice heard of it
    # in her command's answer).
    assert (await chat.deliver()).sent == 1
    assert chat.dms("bob")[-1].startswith("<@alice> shared a win: try again\n\n🎉")


async def test_retry_after_is_honoured(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    chat.recorder.fail_with = DeliveryFailure(
        "ratelimited", permanent=False, retry_after=timedelta(seconds=30)
    )
    await chat.say("alice", "/win slow down")
    (row,) = [r for r in await _outbox(chat) if "slow down" in r.content["text"]]
    assert row.next_attempt_at == chat.clock.now() + timedelta(seconds=30)


async def test_a_permanent_failure_is_recorded_once_and_not_retried(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    chat.recorder.fail_with = DeliveryFailure("cannot DM this user", permanent=True)
    await chat.say("alice", "/win nobody hears")
    chat.clock.advance(timedelta(days=1))
    report = await chat.deliver()
    assert report.handled == 0
    (row,) = [r for r in await _outbox(chat) if "nobody hears" in r.content["text"]]
    assert row.status == OutboxStatus.FAILED and row.attempts == 1


async def test_an_unexpected_error_is_retried_and_gives_up_after_max_attempts(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    chat.recorder.fail_with = ConnectionResetError("peer reset with token xoxb-secret")
    await chat.say("alice", "/win flaky")
    for _ in range(MAX_ATTEMPTS + 2):
        chat.clock.advance(timedelta(minutes=11))
        await chat.deliver()
    (row,) = [r for r in await _outbox(chat) if "flaky" in r.content["text"]]
    assert row.status == OutboxStatus.FAILED and row.attempts == MAX_ATTEMPTS
    # Only the error's type is kept: exception text can carry secrets.
    assert row.last_error == "ConnectionResetError"


async def test_a_message_left_sending_by_a_crash_is_sent_after_the_lease(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    chat.recorder.fail_with = DeliveryFailure("x", permanent=False)
    await chat.say("alice", "/win crashed mid-send")
    # As if a process claimed it and died before marking it sent.
    async with chat.database.transaction() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.PENDING)
            .values(status=OutboxStatus.SENDING, next_attempt_at=chat.clock.now() + SENDING_LEASE)
        )
    chat.recorder.fail_with = None
    assert (await chat.deliver()).sent == 0
    chat.clock.advance(SENDING_LEASE)
    assert (await chat.deliver()).sent == 1
    assert chat.dms("bob")[-1].startswith("<@alice> shared a win: crashed mid-send\n\n🎉")


async def test_only_platforms_with_a_sender_are_claimed(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/win console only")
    other = Recorder()
    report = await deliver_all(chat.database, {Platform.SLACK: other}, chat.clock)
    assert report.handled == 0 and other.seen == []


async def test_the_worker_delivers_when_woken(chat: Chat) -> None:
    recorder = Recorder()
    worker = DeliveryWorker(
        chat.database, {Platform.CONSOLE: recorder}, chat.clock, poll_seconds=60
    )
    chat.engine._on_queued = worker.wake  # the composition root wires it the same way
    task = asyncio.create_task(worker.run())
    # Straight to the engine: chat.say would deliver by itself.
    await chat.engine.handle(
        CommandInvoked(user=chat.ref("alice"), command="mentor", text="pair <@alice> <@bob>")
    )
    for _ in range(200):
        if recorder.seen:
            break
        await asyncio.sleep(0.01)
    worker.stop()
    await asyncio.wait_for(task, 5)
    assert [s.user for s in recorder.seen] == ["bob"]


async def test_a_full_rate_limit_lets_wake_ups_start_a_pass_only_after_a_gap(
    chat: Chat, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a bucket has due messages and no room, each new message's wake-up would
    start a pass that claims nothing: they wait out ``BUSY_PASS_GAP_SECONDS`` instead,
    and stopping still ends the wait at once."""
    monkeypatch.setattr(delivery_worker, "BUSY_PASS_GAP_SECONDS", 0.2)
    recorder = Recorder()
    limits = RateLimits({Platform.CONSOLE: RateLimit(per_second=0.01, burst=1)})
    worker = DeliveryWorker(
        chat.database, {Platform.CONSOLE: recorder}, chat.clock, poll_seconds=60, limits=limits
    )
    passes = 0
    drain = worker.drain

    async def counted() -> DeliveryReport:
        nonlocal passes
        passes += 1
        return await drain()

    monkeypatch.setattr(worker, "drain", counted)
    chat.engine._on_queued = worker.wake
    task = asyncio.create_task(worker.run())
    began = asyncio.get_running_loop().time()
    await chat.engine.handle(  # sent: the bucket's one token
        CommandInvoked(user=chat.ref("alice"), command="mentor", text="pair <@alice> <@bob>")
    )
    for number in range(30):  # each queues a DM to bob, which waits for the bucket
        await chat.engine.handle(
            CommandInvoked(user=chat.ref("bob"), command="mentor", text=f"pair <@bob> <@c{number}>")
        )
        await asyncio.sleep(0.01)
    took = asyncio.get_running_loop().time() - began
    worker.stop()
    await asyncio.wait_for(task, 1)  # not held up by the gap
    assert len(recorder.seen) == 1
    # 31 wake-ups (about 0.3 s on a quiet machine, longer on a busy one): the first
    # pass, and one per gap that passed meanwhile, not one per wake-up.
    gaps = took / delivery_worker.BUSY_PASS_GAP_SECONDS
    assert 2 <= passes <= 3 + gaps, (passes, took)


async def test_what_still_waits_after_a_dispatch_is_told_apart(chat: Chat) -> None:
    """``mentorbot dispatch``'s last lines (``waiting_by_platform``): a message being sent
    by another process counts as due (its ``next_attempt_at`` is its lease's end, not a
    time it falls due), a pending one due now as due, and one held for later (quiet
    hours, a retry) as later, with the first such time. A message being sent used to be
    told as due later, "(quiet hours or retries)"."""
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/win one")
    await chat.say("alice", "/win two")
    await chat.say("alice", "/win three")
    now = chat.clock.now()
    lease_end, later = now + timedelta(minutes=2), now + timedelta(hours=3)
    ids = sorted(m.id for m in await _outbox(chat))[-3:]
    async with chat.database.transaction() as session:
        states = zip(
            ids,
            (
                (OutboxStatus.SENDING, lease_end),
                (OutboxStatus.PENDING, now),
                (OutboxStatus.PENDING, later),
            ),
            strict=True,
        )
        for message_id, (status, at) in states:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id)
                .values(status=status.value, next_attempt_at=at)
            )
    assert await waiting_by_platform(chat.database, now) == {
        Platform.CONSOLE: Waiting(due=2, later=1, first_later=later)
    }
