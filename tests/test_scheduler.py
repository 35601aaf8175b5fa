"""The real APScheduler job and delivery worker, on the real clock: a pair that is due
gets its prompts without anyone calling run_due, once, and stop() is prompt."""

import asyncio
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update

from bot.clock import SystemClock
from bot.engine import Engine
from bot.refs import Platform
from bot.storage.database import Database
from bot.storage.models import Member, Pair
from scheduler.app import BotScheduler
from scheduler.delivery_worker import DeliveryWorker
from tests.conversation import Chat, Recorder, pair_up


async def test_the_scheduler_dispatches_and_delivers_on_its_own(
    chat: Chat, database: Database
) -> None:
    await pair_up(chat, "alice", "bob")
    clock = SystemClock()
    # Real time: put the pair where it is daytime now, or quiet hours hold the prompts.
    zone = next(
        name
        for name in ("UTC", "Asia/Tokyo", "America/Los_Angeles", "Asia/Kolkata", "Europe/Berlin")
        if 9 <= clock.now().astimezone(ZoneInfo(name)).hour < 19
    )
    async with database.transaction() as session:  # due a minute ago, in real time
        await session.execute(
            update(Pair).values(next_checkin_at=clock.now() - timedelta(minutes=1), timezone=zone)
        )
        await session.execute(update(Member).values(timezone=zone))

    recorder = Recorder()
    worker = DeliveryWorker(database, {Platform.CONSOLE: recorder}, clock, poll_seconds=0.2)
    engine = Engine(database, clock, on_queued=worker.wake)
    scheduler = BotScheduler(engine, worker, interval_seconds=0.2, jitter_seconds=0)
    scheduler.start()
    scheduler.start()  # started once per process: a second call changes nothing
    try:
        for _ in range(100):
            if len(recorder.seen) >= 2:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.6)  # a few more dispatch passes: nothing is sent twice
    finally:
        await asyncio.wait_for(scheduler.stop(grace_seconds=5), 6)
    prompts = sorted(s.user for s in recorder.seen if "Time for your check-in" in s.content.text)
    assert prompts == ["alice", "bob"]
    assert not scheduler.running
