"""Slack's refusals, mapped to the delivery worker's classes, and what then happens: a
429 waits out its Retry-After and then delivers, a lost channel tells the admin who chose
it, a deactivated person pauses the pair; nothing is lost and nothing is sent twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select

from adapters.slack.sender import SlackSender, classify
from bot.content import Content
from bot.delivery import DeliveryFailure, FailureScope
from bot.effects import PostToChannel, SendDM
from bot.refs import ChannelRef, Platform, UserRef
from bot.storage.models import OutboxMessage, OutboxStatus
from tests.slack.conftest import ALICE, BOB
from tests.slack.fake_slack import BOT_TOKEN, FakeSlack
from tests.slack.slack_chat import SlackChat
from tests.slack.test_http import pair

CHANNEL = FailureScope.CHANNEL
RECIPIENT = FailureScope.RECIPIENT
WORKSPACE = FailureScope.WORKSPACE


@pytest.mark.parametrize(
    ("error", "dm", "scope"),
    [
        ("channel_not_found", False, CHANNEL),
        ("not_in_channel", False, CHANNEL),
        ("is_archived", False, CHANNEL),
        ("user_not_found", True, RECIPIENT),
        ("cannot_dm_bot", True, RECIPIENT),
        ("channel_not_found", True, RECIPIENT),  # a user id Slack does not know
        ("invalid_auth", True, WORKSPACE),
        ("token_revoked", False, WORKSPACE),
        ("not_authed", True, WORKSPACE),
    ],
)
def test_permanent_refusals_name_what_is_unreachable(
    error: str, dm: bool, scope: FailureScope
) -> None:
    failure = classify(error, status=200, headers={}, dm=dm)
    assert (failure.permanent, failure.scope) == (True, scope)


def test_account_inactive_is_the_person_when_the_token_still_works() -> None:
    person = classify("account_inactive", status=200, headers={}, dm=True, token_works=True)
    bot = classify("account_inactive", status=200, headers={}, dm=True, token_works=False)
    assert (person.permanent, person.scope) == (True, RECIPIENT)
    assert (bot.permanent, bot.scope) == (True, WORKSPACE)


def test_rate_limits_and_slack_trouble_are_retried() -> None:
    limited = classify("ratelimited", status=429, headers={"Retry-After": "7"}, dm=True)
    broken = classify(None, status=503, headers={}, dm=False)
    odd = classify("something_new", status=200, headers={}, dm=False)
    assert (limited.permanent, limited.retry_after) == (False, timedelta(seconds=7))
    assert not broken.permanent and not odd.permanent


def test_the_reason_for_a_lost_channel_reads_as_a_sentence() -> None:
    failure = classify("not_in_channel", status=200, headers={}, dm=False)
    assert failure.reason == "I'm not a member of that channel: invite me with /invite"


async def test_a_429_waits_for_retry_after_then_delivers_once(slack: SlackChat) -> None:
    await pair(slack, ALICE, BOB)
    slack.fake.fail("chat.postMessage", "ratelimited", channel=BOB, status=429, retry_after=7)

    await slack.command(ALICE, "/win patience pays")
    first = await slack.deliver()
    assert first.retried == 1 and "patience pays" not in " ".join(slack.dms(BOB))

    slack.clock.advance(timedelta(seconds=6))
    assert (await slack.deliver()).sent == 0  # Retry-After is not over yet
    slack.clock.advance(timedelta(seconds=1))
    await slack.deliver()

    assert sum("patience pays" in t for t in slack.dms(BOB)) == 1
    tries = [p for p in slack.fake.called("chat.postMessage") if "patience" in p["text"]]
    assert len(tries) == 2  # the refused one and the delivered one


async def test_a_lost_shout_out_channel_tells_the_admin_and_falls_back_to_dms(
    slack: SlackChat,
) -> None:
    await pair(slack, ALICE, BOB)
    await slack.command(ALICE, "/mentor config shoutouts <#C0GONE|old-wins>")
    await slack.command(BOB, "/mentor config consent on")
    slack.fake.fail("chat.postMessage", "channel_not_found", channel="C0GONE")

    await slack.command(BOB, "/win first one")
    await slack.deliver()

    note = slack.dms(ALICE)[-1]
    assert note.startswith("I couldn't post a milestone shout-out in <#C0GONE> (the channel")
    async with slack.database.transaction() as session:
        failed = (
            await session.execute(select(OutboxMessage).where(OutboxMessage.target_id == "C0GONE"))
        ).scalar_one()
    assert failed.status == OutboxStatus.FAILED.value  # recorded, not silently dropped
    await slack.command(BOB, "/mentor milestone add Demo day")
    await slack.command(BOB, "/mentor milestone done 1")
    await slack.deliver()
    # One refused try, then shout-outs went back to DMs: nothing more is tried there.
    assert len([c for c in slack.fake.called("chat.postMessage") if c["channel"] == "C0GONE"]) == 1
    assert any("Demo day" in t for t in slack.dms(ALICE))


async def test_a_deactivated_partner_pauses_the_pair_and_the_other_is_told(
    slack: SlackChat,
) -> None:
    await pair(slack, ALICE, BOB)
    slack.fake.fail("chat.postMessage", "account_inactive", channel=BOB)

    await slack.command(ALICE, "/win a quiet week")
    await slack.deliver()

    assert "I couldn't reach <@U0BOB> by direct message" in slack.dms(ALICE)[-1]
    status = await slack.command(ALICE, "/mentor status")
    assert "State: paused" in str(status.json["blocks"])


async def test_sender_maps_an_invalid_token_to_the_whole_workspace(fake: FakeSlack) -> None:
    sender = SlackSender(AsyncWebClient(token="xoxb-revoked", base_url=fake.api_url))
    with pytest.raises(DeliveryFailure) as refused:
        await sender.perform(SendDM(UserRef(Platform.SLACK, "T0001", BOB), Content("hi")))
    assert (refused.value.permanent, refused.value.scope) == (True, WORKSPACE)


async def test_sender_falls_back_to_text_when_slack_refuses_the_blocks(fake: FakeSlack) -> None:
    sender = SlackSender(AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url))
    fake.fail("chat.postMessage", "invalid_blocks")

    await sender.perform(PostToChannel(ChannelRef(Platform.SLACK, "T0001", "C1"), Content("*hi*")))

    tried = fake.called("chat.postMessage")
    assert [("blocks" in t, t["text"]) for t in tried] == [(True, "*hi*"), (False, "*hi*")]
    assert len(fake.posts_to("C1")) == 1
