"""Discord's refusals, rate limits and lost answers, through the real client and the
outbox: what is refused for good is not asked again, what is only slow is waited out,
and nothing is posted twice."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import discord
import pytest
from sqlalchemy import select

from adapters.discord import sender as sender_module
from adapters.discord.sender import DiscordSender, delivery_failure
from bot.clock import ManualClock
from bot.content import Content
from bot.delivery import DeliveryFailure, FailureScope
from bot.effects import PostToChannel, SendDM
from bot.refs import ChannelRef, Platform, UserRef
from bot.storage.database import Database
from bot.storage.models import OutboxMessage, OutboxStatus, Pair, PairState
from bot.unreachable import UNREACHABLE_NOTE
from tests.discord.chat import DiscordChat, RunningBot, running_bot
from tests.discord.fake_discord import FakeDiscord, text_of
from tests.discord.test_flows import pair_up


async def outbox(database: Database) -> list[OutboxMessage]:
    async with database.transaction() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        return list((await session.execute(query)).scalars())


async def settled(database: Database) -> list[OutboxMessage]:
    """The outbox once nothing due waits any more."""
    async with asyncio.timeout(5):
        while True:
            rows = await outbox(database)
            if not [r for r in rows if r.status == OutboxStatus.SENDING]:
                pending = [r for r in rows if r.status == OutboxStatus.PENDING]
                if not pending:
                    return rows
            await asyncio.sleep(0.02)


async def retrying(database: Database, text: str) -> OutboxMessage:
    """The outbox row whose text holds ``text``, once a failed try put it back."""
    async with asyncio.timeout(5):
        while True:
            rows = [r for r in await outbox(database) if text in r.content["text"]]
            # A 429 is not an attempt (bot/delivery.py), so the error marks the try.
            if rows and rows[0].status == OutboxStatus.PENDING and rows[0].last_error:
                return rows[0]
            await asyncio.sleep(0.02)


def dm_path(fake: FakeDiscord, chat: DiscordChat, who: str) -> str:
    return rf"/channels/{fake.dm_channels[chat.id(who)]}/messages"


async def test_a_429_is_waited_out(bot: RunningBot, chat: DiscordChat, fake: FakeDiscord) -> None:
    await pair_up(chat, "alice", "bob")
    fake.rate_limit("POST", dm_path(fake, chat, "bob"), retry_after=0.2)
    await chat.slash("alice", "win", text="after the wait")
    await chat.dm_arrives("bob", "after the wait")
    asked = [r for r in fake.requests_to("POST", dm_path(fake, chat, "bob")) if r.body["nonce"]]
    assert len(asked) == len(fake.dms(chat.id("bob"))) + 1  # one 429, then through
    # (with the "First win" milestone it reached, in the same message)
    assert [t.split("\n")[0] for t in chat.dms("bob") if "after the wait" in t] == [
        f"{chat.mention('alice')} shared a win: after the wait"
    ]


async def test_a_long_429_goes_back_to_the_outbox_until_retry_after(
    bot: RunningBot, chat: DiscordChat, fake: FakeDiscord, database: Database, clock: ManualClock
) -> None:
    await pair_up(chat, "alice", "bob")
    # Past discord.py's max_ratelimit_timeout (30 s at least): handed to the outbox.
    fake.rate_limit("POST", dm_path(fake, chat, "bob"), retry_after=45)
    await chat.slash("alice", "win", text="later")
    row = await retrying(database, "win: later")
    assert row.next_attempt_at == clock.now() + timedelta(seconds=45)
    assert row.last_error == "rate limited"
    assert row.attempts == 0  # a 429 is not the message's fault: no attempt used up
    clock.advance(timedelta(seconds=45))
    bot.worker.wake()
    await chat.dm_arrives("bob", "shared a win: later")
    rows = await settled(database)
    assert {r.status for r in rows} == {OutboxStatus.SENT}
    assert next(r for r in rows if r.id == row.id).attempts == 1


async def test_closed_dms_cost_one_request_and_the_person_is_told_once_in_the_server(
    bot: RunningBot, chat: DiscordChat, fake: FakeDiscord, database: Database
) -> None:
    await pair_up(chat, "alice", "bob")
    before = len(fake.requests_to("POST", dm_path(fake, chat, "bob")))
    fake.closed_dms.add(chat.id("bob"))
    for n in range(3):
        await chat.slash("alice", "win", text=f"number {n}")
    await chat.dm_arrives("alice", "I couldn't reach")
    await settled(database)
    assert len(fake.requests_to("POST", dm_path(fake, chat, "bob"))) == before + 1
    async with database.transaction() as session:
        assert (await session.execute(select(Pair.state))).scalar_one() == PairState.PAUSED

    fake.closed_dms.clear()
    first = await chat.slash("bob", "mentor status")
    (callback,) = first.callbacks  # the note and the status, in one answer
    assert callback["data"]["flags"] == 64  # only bob sees it, in the server
    assert first.text().startswith(
        f"{UNREACHABLE_NOTE}, so I paused your check-ins with <@{chat.id('alice')}>. Open your "
        "DMs to me, then `/mentor resume` restarts the check-ins.\n\n"
    )
    again = await chat.slash("bob", "mentor status")
    assert UNREACHABLE_NOTE not in again.text()


async def test_an_answer_lost_after_discord_took_the_message_posts_it_once(
    bot: RunningBot, chat: DiscordChat, fake: FakeDiscord, database: Database, clock: ManualClock
) -> None:
    await pair_up(chat, "alice", "bob")
    # Discord creates the message, but the answer that says so is a 503.
    fake.fail("POST", dm_path(fake, chat, "bob"), 503, {"message": "upstream"}, keep=True)
    await chat.slash("alice", "win", text="exactly once")
    await chat.dm_arrives("bob", "exactly once")
    await retrying(database, "exactly once")
    clock.advance(timedelta(seconds=2))  # the outbox's first backoff
    bot.worker.wake()
    rows = await settled(database)
    assert {r.status for r in rows} == {OutboxStatus.SENT}
    win_dm = next(r for r in rows if "exactly once" in r.content["text"])
    assert win_dm.attempts == 2
    asked = [
        r.body["nonce"]
        for r in fake.requests_to("POST", dm_path(fake, chat, "bob"))
        if "exactly once" in str(r.body)
    ]
    assert asked == [f"mb{win_dm.id}"] * 2
    # (with the "First win" milestone it reached, in the same message)
    assert [t.split("\n")[0] for t in chat.dms("bob") if "exactly once" in t] == [
        f"{chat.mention('alice')} shared a win: exactly once"
    ]


@pytest.mark.parametrize(
    ("status", "code", "explained"),
    [
        (404, 10003, "the channel no longer exists (10003)"),
        (403, 50013, "I'm missing the permission to post there"),
        (403, 50001, "I can't see the channel (50001)"),
    ],
)
async def test_a_shoutout_channel_that_refuses_is_explained_to_the_admin(
    bot: RunningBot,
    chat: DiscordChat,
    fake: FakeDiscord,
    database: Database,
    status: int,
    code: int,
    explained: str,
) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.slash("alice", "mentor config shoutouts", channel="#wins")
    await chat.slash("bob", "mentor config consent", allow="on")
    wins = rf"/channels/{chat.channel('wins')}/messages"
    fake.fail("POST", wins, status, {"message": "refused", "code": code}, times=None)
    await chat.slash("bob", "win", text="first")
    told = await chat.dm_arrives("alice", "I couldn't post a milestone shout-out")
    assert explained in text_of(told)
    assert f"<#{chat.channel('wins')}>" in text_of(told)
    await settled(database)
    assert len(fake.requests_to("POST", wins)) == 1


# --- the sender alone, against the fake's REST API ---------------------------------------


@pytest.mark.parametrize(
    ("route", "status", "code", "permanent", "scope"),
    [
        ("dm", 403, 50007, True, FailureScope.RECIPIENT),
        ("dm", 403, 50278, True, FailureScope.RECIPIENT),
        ("dm", 404, 10013, True, FailureScope.RECIPIENT),
        ("dm", 401, 0, True, FailureScope.WORKSPACE),
        ("dm", 400, 40003, False, FailureScope.MESSAGE),
        ("dm", 503, 0, False, FailureScope.MESSAGE),
        ("dm", 400, 50035, True, FailureScope.MESSAGE),
        ("channel", 404, 10003, True, FailureScope.CHANNEL),
        ("channel", 403, 50001, True, FailureScope.CHANNEL),
        ("channel", 403, 50013, True, FailureScope.CHANNEL),
        ("channel", 401, 0, True, FailureScope.WORKSPACE),
    ],
)
async def test_discord_errors_map_to_the_outbox_failure_classes(
    sender: DiscordSender,
    fake: FakeDiscord,
    route: str,
    status: int,
    code: int,
    permanent: bool,
    scope: FailureScope,
) -> None:
    bob = fake.add_user("Bob")
    guild = fake.add_guild("G", owner_id=bob)
    channel = fake.channel_named(guild, "general")
    body = {"message": "no", "code": code}
    if route == "dm":
        fake.fail("POST", r"/channels/\d+/messages", status, body)
        effect: SendDM | PostToChannel = SendDM(
            UserRef(Platform.DISCORD, guild, bob), Content("hi"), outbox_id=1
        )
    else:
        fake.fail("POST", rf"/channels/{channel}/messages", status, body)
        effect = PostToChannel(ChannelRef(Platform.DISCORD, guild, channel), Content("hi"), 2)
    with pytest.raises(DeliveryFailure) as raised:
        await sender.perform(effect)
    assert (raised.value.permanent, raised.value.scope) == (permanent, scope)


async def test_a_long_rate_limit_is_handed_back_with_its_retry_after(
    sender: DiscordSender, fake: FakeDiscord
) -> None:
    bob = fake.add_user("Bob")
    fake.rate_limit("POST", r"/channels/\d+/messages", retry_after=42.5)
    with pytest.raises(DeliveryFailure) as raised:
        await sender.perform(SendDM(UserRef(Platform.DISCORD, "1", bob), Content("hi"), 3))
    assert not raised.value.permanent
    assert raised.value.retry_after == timedelta(seconds=42.5)
    assert delivery_failure(discord.RateLimited(7.0), "dm").retry_after == timedelta(seconds=7)


async def test_a_dm_channel_is_opened_once_even_when_asked_at_the_same_moment(
    sender: DiscordSender, fake: FakeDiscord
) -> None:
    bob = fake.add_user("Bob")
    channels = await asyncio.gather(*(sender.dm_channel(bob) for _ in range(5)))
    assert set(channels) == {fake.dm_channels[bob]}
    await sender.perform(SendDM(UserRef(Platform.DISCORD, "1", bob), Content("one"), 4))
    await sender.perform(SendDM(UserRef(Platform.DISCORD, "1", bob), Content("two"), 5))
    assert len(fake.requests_to("POST", "/users/@me/channels")) == 1
    assert fake.dm_texts(bob) == ["one", "two"]


async def test_a_dm_channel_that_vanished_is_opened_again(
    sender: DiscordSender, fake: FakeDiscord
) -> None:
    bob = fake.add_user("Bob")
    await sender.perform(SendDM(UserRef(Platform.DISCORD, "1", bob), Content("one"), 6))
    fake.fail("POST", r"/channels/\d+/messages", 404, {"message": "gone", "code": 10003})
    with pytest.raises(DeliveryFailure) as raised:
        await sender.perform(SendDM(UserRef(Platform.DISCORD, "1", bob), Content("two"), 7))
    assert not raised.value.permanent  # a DM channel can always be opened again
    await sender.perform(SendDM(UserRef(Platform.DISCORD, "1", bob), Content("two"), 7))
    assert len(fake.requests_to("POST", "/users/@me/channels")) == 2


async def test_the_dm_channels_kept_are_the_most_recently_used(
    sender: DiscordSender, fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Room for two: a third person's DM pushes out whoever was used least recently, who
    gets theirs opened again; the two used lately are not asked for again."""
    monkeypatch.setattr(sender_module, "DM_CHANNELS_KEPT", 2)
    bob, carol, dave = (fake.add_user(name) for name in ("Bob", "Carol", "Dave"))

    def opened() -> list[str]:
        return [r.body["recipient_id"] for r in fake.requests_to("POST", "/users/@me/channels")]

    for user in (bob, carol, bob, dave):  # bob used again after carol: carol goes
        assert await sender.dm_channel(user) == fake.dm_channels[user]
    assert opened() == [bob, carol, dave]
    for user in (bob, dave, carol):
        assert await sender.dm_channel(user) == fake.dm_channels[user]
    assert opened() == [bob, carol, dave, carol]


def test_only_a_snowflake_is_kept_as_its_integer() -> None:
    assert sender_module.snowflake("1183470092313669632") == 1183470092313669632
    assert sender_module.snowflake(str(2**64 - 1)) == 2**64 - 1
    for not_one in ("", " 1", "1 ", "-1", "1e3", "\u0663", str(2**64), "1" * 21):
        assert sender_module.snowflake(not_one) is None


CALLBACK = r"/interactions/\d+/[^/]+/callback"


async def test_the_partners_dm_starts_once_the_answer_is_out(
    fake: FakeDiscord, chat: DiscordChat, database: Database, clock: ManualClock
) -> None:
    # The worker polls rarely here: only the wake-up after the commit can send the DM.
    async with running_bot(fake, database, clock, guild_id=chat.guild, poll_seconds=30):
        await pair_up(chat, "alice", "bob")
        await settled(database)
        await asyncio.sleep(0.2)  # the worker's pass is over: it waits to be woken
        fake.delay("POST", CALLBACK, 0.3)  # a far-away Discord takes its time to answer
        await chat.slash("alice", "win", text="answered first")
        (callback,) = fake.requests_to("POST", CALLBACK)[-1:]
        await fake.until(lambda: callback.answered_ns)
        await chat.dm_arrives("bob", "answered first")
    (dm,) = fake.requests_to("POST", dm_path(fake, chat, "bob"))[-1:]
    # The worker's pass waited for the answer instead of running ahead of it.
    assert dm.arrived_ns > callback.answered_ns


async def test_an_answer_that_failed_still_wakes_the_worker(
    fake: FakeDiscord, chat: DiscordChat, database: Database, clock: ManualClock
) -> None:
    async with running_bot(fake, database, clock, guild_id=chat.guild, poll_seconds=30):
        await pair_up(chat, "alice", "bob")
        # The interaction expired before the answer came: the win is saved all the same,
        # and the partner hears of it without waiting for the worker's next poll.
        fake.fail("POST", CALLBACK, 404, {"message": "Unknown interaction", "code": 10062})
        await fake.interact(fake.slash(chat.guild, chat.id("alice"), "win", text="saved anyway"))
        await chat.dm_arrives("bob", "saved anyway", seconds=5)
