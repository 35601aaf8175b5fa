"""One person's news to many partners does not hold a workspace's delivery bucket: anyone
else's DM leaves within a few sends."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import ManualClock
from bot.delivery import RateLimit, RateLimits, deliver_outbox
from bot.events import CommandInvoked
from bot.refs import Platform
from bot.storage.database import Database
from tests.conversation import Chat, Recorder, pair_up

PARTNERS = 25


async def test_a_single_dm_is_not_held_behind_a_big_fan_out(
    database: Database, clock: ManualClock
) -> None:
    # More partners than the default MAX_PAIRS_PER_PERSON: an operator raised it.
    setup = Chat(database, clock, platform=Platform.SLACK, max_pairs_per_person=PARTNERS + 1)
    for n in range(PARTNERS):
        await pair_up(setup, "hub", f"p{n:02d}")
    await pair_up(setup, "carol", "dave")
    await setup.say("hub", "/win warm-up")  # the first-win celebration is out of the way
    await setup.say("carol", "/win warm-up")
    clock.advance(timedelta(minutes=1))

    # One message a second, as Slack's default per workspace.
    limits = RateLimits({Platform.SLACK: RateLimit(1.0, burst=1)})
    recorder = Recorder()
    chat = Chat(database, clock, platform=Platform.SLACK, limits=limits, recorder=recorder)
    await chat.engine.handle(CommandInvoked(user=chat.ref("hub"), command="win", text="big"))
    clock.advance(timedelta(seconds=1))
    await chat.engine.handle(CommandInvoked(user=chat.ref("carol"), command="win", text="small"))

    order: list[str] = []
    for _ in range(PARTNERS + 5):
        await deliver_outbox(database, {Platform.SLACK: recorder}, clock, limits=limits)
        order = [seen.user for seen in recorder.seen if seen.kind == "dm"]
        clock.advance(timedelta(seconds=1))
    assert sorted(order) == sorted([f"p{n:02d}" for n in range(PARTNERS)] + ["dave"])
    # dave's one DM goes out among the first sends, not after the hub's 25.
    assert order.index("dave") <= 2
