"""What the platform refuses for good is not tried again, and someone who can act is
told; rate limits and 429s delay only the workspace they belong to."""

from datetime import timedelta

from sqlalchemy import select, update

from bot.clock import ManualClock
from bot.delivery import DeliveryFailure, FailureScope, RateLimit, RateLimits
from bot.effects import ReplyEphemeral
from bot.events import CommandInvoked, WorkspaceAdded, WorkspaceRemoved
from bot.refs import Platform
from bot.storage.database import Database
from bot.storage.models import Member, OutboxMessage, OutboxStatus, Pair, PairState, Workspace
from bot.unreachable import UNREACHABLE_NOTE
from tests.conversation import Chat, Recorder, pair_up

DMS_CLOSED = DeliveryFailure("cannot_dm_user", permanent=True, scope=FailureScope.RECIPIENT)


async def _rows(chat: Chat) -> list[OutboxMessage]:
    async with chat.database.transaction() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        return list((await session.execute(query)).scalars())


async def _pair_state(chat: Chat) -> str:
    async with chat.database.transaction() as session:
        return (await session.execute(select(Pair.state))).scalars().one()


async def test_closed_dms_cost_one_request_and_pause_the_pair(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    chat.recorder.fail_for["bob"] = DMS_CLOSED
    for n in range(3):
        await chat.say("alice", f"/win number {n}")
    await chat.say("alice", "/mentor milestone add Ship it")
    chat.clock.advance(timedelta(days=30))
    await chat.deliver()
    # The proposal reached him; then one refused DM, and no request after that.
    assert chat.recorder.requests["bob"] == 2
    to_bob = [r for r in await _rows(chat) if r.target_id == "bob"]
    assert [r.status for r in to_bob][1:] == [OutboxStatus.FAILED] * (len(to_bob) - 1)
    assert await _pair_state(chat) == PairState.PAUSED
    assert any("I couldn't reach <@bob> by direct message" in dm for dm in chat.dms("alice"))

    # bob comes back: he is told why, ahead of his answer and in it (one message, the
    # one a Slack ack carries), and DMs are tried again.
    effects = await chat.send(
        CommandInvoked(user=chat.ref("bob"), command="win", text="back from leave")
    )
    [answer] = effects
    assert isinstance(answer, ReplyEphemeral)
    assert answer.content.text.startswith(
        f"{UNREACHABLE_NOTE}, so I paused your check-ins with <@alice>. Open your DMs to me, "
        "then `/mentor resume` restarts the check-ins.\n\nSaved to your journal"
    )
    async with chat.database.transaction() as session:
        bob = (
            await session.execute(select(Member).where(Member.external_id == "bob"))
        ).scalar_one()
    assert bob.dm_blocked_at is None
    del chat.recorder.fail_for["bob"]
    assert "Resumed" in await chat.say("alice", "/mentor resume")
    assert any("resumed your check-ins" in dm for dm in chat.dms("bob"))


async def test_a_proposal_whose_invitation_cannot_reach_them_is_told_to_the_other(
    chat: Chat,
) -> None:
    """alice proposes to mentor bob, whose DMs are closed (or who is a bot, on Slack:
    a mention says nothing of it). The invitation is refused for good; before, nothing
    told alice, and the proposal waited for an answer nobody could give. Now she hears
    it, once; the proposal stays, for bob to answer when he comes back."""
    chat.recorder.fail_for["bob"] = DMS_CLOSED
    await chat.say("alice", "/mentor pair @alice @bob")
    await chat.deliver()
    assert [dm for dm in chat.dms("alice") if "couldn't reach" in dm] == [
        "I couldn't reach <@bob> by direct message (their DMs may be closed to me), so they "
        "haven't seen the proposed pair of <@alice> mentoring <@bob>. They'll get a note the "
        "next time they use the bot; until they answer, it stays proposed (`/mentor end` "
        "withdraws it)."
    ]
    # Now that his DMs are known to fail, who proposes him next is told in the answer
    # (no DM to him is tried, so none would fail and tell them later); alice, nothing more.
    assert (await chat.say("carol", "/mentor pair @carol @bob")).endswith(
        " I couldn't reach <@bob> by direct message lately (their DMs may be closed to me), "
        "so they may not see it until they next use the bot."
    )
    await chat.deliver()
    assert len([dm for dm in chat.dms("alice") if "couldn't reach" in dm]) == 1
    # A proposal he made himself (accepted by him) is not one he has not seen: dan's
    # DMs fail at fay's invitation; fay hears it, erin (whom dan asked) does not.
    await chat.say("dan", "/mentor pair @dan @erin")
    chat.recorder.fail_for["dan"] = DMS_CLOSED
    await chat.say("fay", "/mentor pair @fay @dan")
    await chat.deliver()
    assert [dm for dm in chat.dms("fay") if "couldn't reach <@dan>" in dm]
    assert not [dm for dm in chat.dms("erin") if "couldn't reach" in dm]

    # When bob comes back, he hears of the two proposals waiting for him, not of paused
    # check-ins he never had; dan, of fay's only (his own to erin waits for her).
    del chat.recorder.fail_for["bob"]
    assert (await chat.say("bob", "/mentor journal")).startswith(
        f"{UNREACHABLE_NOTE}, so you may not have seen a proposed pair with <@alice> and "
        "<@carol>, which waits for your answer (`/mentor status` shows how to answer). Open "
        "your DMs to me.\n\n"
    )
    assert (await chat.say("dan", "/mentor journal")).startswith(
        f"{UNREACHABLE_NOTE}, so you may not have seen a proposed pair with <@fay>, "
    )
    # Someone whose DMs failed with nothing waiting on them is only asked to open them.
    await chat.say("ivan", "/mentor journal")
    async with chat.database.transaction() as session:
        await session.execute(
            update(Member)
            .where(Member.external_id == "ivan")
            .values(dm_blocked_at=chat.clock.now())
        )
    assert (await chat.say("ivan", "/mentor journal")).startswith(
        f"{UNREACHABLE_NOTE}. Open your DMs to me so my messages reach you.\n\n"
    )


async def test_a_channel_we_cannot_post_in_falls_back_to_dms_and_tells_the_admin(
    chat: Chat,
) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor config shoutouts #wins")
    await chat.say("bob", "/mentor config consent on")
    chat.recorder.fail_for["wins"] = DeliveryFailure(
        "not_in_channel", permanent=True, scope=FailureScope.CHANNEL
    )
    await chat.say("bob", "/win first")
    assert chat.recorder.requests["wins"] == 1
    assert any(
        "I couldn't post a milestone shout-out in <#wins> (not_in_channel)" in dm
        for dm in chat.dms("alice")
    )
    assert "not set" in await chat.say("bob", "/mentor config")
    # The next milestone is celebrated in DMs; the channel is not tried again.
    await chat.say("bob", "/mentor milestone add Demo")
    await chat.say("bob", "/mentor milestone done 1")
    assert chat.recorder.requests["wins"] == 1
    assert any("reached a milestone: *Demo*" in dm for dm in chat.dms("alice"))


async def test_a_revoked_token_stops_all_delivery_to_the_workspace(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    before = sum(chat.recorder.requests.values())
    chat.recorder.fail_with = DeliveryFailure(
        "invalid_auth", permanent=True, scope=FailureScope.WORKSPACE
    )
    await chat.say("alice", "/win one")
    await chat.say("alice", "/win two")
    chat.clock.advance(timedelta(hours=1))
    await chat.deliver()
    assert sum(chat.recorder.requests.values()) == before + 1  # asked once, never again
    async with chat.database.transaction() as session:
        workspace = (await session.execute(select(Workspace))).scalar_one()
    assert workspace.delivery_stopped_at is not None
    assert {r.status for r in await _rows(chat)} <= {OutboxStatus.SENT, OutboxStatus.FAILED}


async def test_a_429_delays_only_its_own_workspace(database: Database, clock: ManualClock) -> None:
    limits = RateLimits({Platform.SLACK: RateLimit(per_second=100, burst=100)})
    recorder = Recorder()
    one = Chat(
        database, clock, workspace="T1", platform=Platform.SLACK, recorder=recorder, limits=limits
    )
    two = Chat(
        database, clock, workspace="T2", platform=Platform.SLACK, recorder=recorder, limits=limits
    )
    await pair_up(one, "alice", "bob")
    await pair_up(two, "carol", "dave")
    recorder.fail_for["bob"] = DeliveryFailure(
        "ratelimited", permanent=False, retry_after=timedelta(seconds=30)
    )
    await one.say("alice", "/mentor milestone add Ship")  # a DM to bob: 429
    del recorder.fail_for["bob"]
    await one.say("alice", "/win held back")  # same workspace: waits out the Retry-After
    await two.say("carol", "/win goes out")  # another workspace: not slowed
    assert two.dms("dave")[-1].startswith("<@carol> shared a win: goes out\n\n🎉")
    assert not any("held back" in dm for dm in one.dms("bob"))
    assert recorder.requests["bob"] == 2  # the proposal, then the 429; none while held
    clock.advance(timedelta(seconds=30))
    await one.deliver()
    assert one.dms("bob")[-1].startswith("<@alice> shared a win: held back\n\n🎉")
    assert any("set a milestone" in dm for dm in one.dms("bob"))
    assert {r.status for r in await _rows(one)} == {OutboxStatus.SENT}


async def test_the_rate_limit_spaces_messages_without_counting_attempts(
    database: Database, clock: ManualClock
) -> None:
    limits = RateLimits({Platform.SLACK: RateLimit(per_second=2, burst=1)})
    chat = Chat(database, clock, platform=Platform.SLACK, limits=limits)
    await chat.say("alice", "/mentor pair @alice @bob")  # one DM: takes the only token
    for n in range(4):
        await chat.say("bob", f"/mentor pair @bob @u{n}")  # each asks someone new
    assert chat.recorder.requests.total() == 1
    for _ in range(4):
        clock.advance(timedelta(milliseconds=500))
        report = await chat.deliver()
        assert report.sent == 1
    assert chat.recorder.requests.total() == 5
    assert {r.attempts for r in await _rows(chat)} == {1}


async def test_a_bucket_without_room_is_not_claimed_from_and_says_when_it_has_room(
    database: Database, clock: ManualClock
) -> None:
    """Nothing is claimed only to be put back: messages for a workspace whose bucket is
    empty stay pending and untouched, and the pass says when the bucket has room again
    (when the worker wakes), while another workspace's messages go out."""
    limits = RateLimits({Platform.SLACK: RateLimit(per_second=2, burst=1)})
    recorder = Recorder()
    one = Chat(
        database, clock, workspace="T1", platform=Platform.SLACK, recorder=recorder, limits=limits
    )
    two = Chat(
        database, clock, workspace="T2", platform=Platform.SLACK, recorder=recorder, limits=limits
    )
    await one.say("alice", "/mentor pair @alice @bob")  # takes T1's only token
    await one.say("carol", "/mentor pair @carol @dave")  # waits: T1 has no room
    await two.say("erin", "/mentor pair @erin @frank")  # T2 has its own bucket
    assert recorder.requests.total() == 2
    waiting = [row for row in await _rows(one) if row.target_id == "dave"]
    assert [(r.status, r.attempts) for r in waiting] == [(OutboxStatus.PENDING, 0)]
    assert waiting[0].next_attempt_at <= clock.now()  # still due: never claimed, put back
    report = await one.deliver()
    assert (report.sent, report.deferred) == (0, 0)
    assert report.waiting_until == clock.now() + timedelta(milliseconds=500)
    clock.advance(timedelta(milliseconds=500))
    report = await one.deliver()
    assert report.sent == 1 and report.waiting_until is None  # dave's; nothing waits now
    assert [r.attempts for r in await _rows(one)] == [1, 1, 1]


async def test_uninstall_stops_delivery_and_a_reinstall_starts_it_again(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    workspace = chat.ref("alice").workspace
    await chat.engine.workspace_changed(WorkspaceRemoved(workspace))
    before = chat.recorder.requests.total()
    await chat.say("alice", "/win while uninstalled")
    assert chat.recorder.requests.total() == before
    assert (await _rows(chat))[-1].status == OutboxStatus.FAILED

    await chat.engine.workspace_changed(WorkspaceAdded(workspace))
    await chat.say("alice", "/win after the reinstall")
    assert "<@alice> shared a win: after the reinstall" in chat.dms("bob")


async def test_the_platform_timezone_is_kept_once_and_never_over_a_chosen_one(
    chat: Chat,
) -> None:
    await chat.send(
        CommandInvoked(
            user=chat.ref("alice"), command="mentor", text="config", user_timezone="Asia/Tokyo"
        )
    )
    assert "Timezone: Asia/Tokyo" in await chat.say("alice", "/mentor config")
    await chat.say("alice", "/mentor config timezone Europe/Lisbon")
    await chat.send(
        CommandInvoked(
            user=chat.ref("alice"), command="mentor", text="config", user_timezone="Asia/Tokyo"
        )
    )
    assert "Timezone: Europe/Lisbon" in await chat.say("alice", "/mentor config")
    # A zone the bot would refuse from a person is not taken from a platform either.
    await chat.send(
        CommandInvoked(user=chat.ref("bob"), command="mentor", text="config", user_timezone="EST")
    )
    assert "UTC (not set)" in await chat.say("bob", "/mentor config")


async def test_a_long_throttle_never_fails_a_message(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    chat.recorder.fail_with = DeliveryFailure(
        "ratelimited", permanent=False, retry_after=timedelta(seconds=2)
    )
    await chat.say("alice", "/win patience")
    for _ in range(20):  # far more 429s than MAX_ATTEMPTS
        chat.clock.advance(timedelta(seconds=2))
        await chat.deliver()
    chat.recorder.fail_with = None
    chat.clock.advance(timedelta(seconds=2))
    await chat.deliver()
    assert chat.dms("bob")[-1].startswith("<@alice> shared a win: patience\n\n🎉")
    assert OutboxStatus.FAILED not in {r.status for r in await _rows(chat)}
