"""The real Bolt app over HTTP on loopback: signed requests in, and the fake Slack's
record of what the bot sent out (DMs, channel posts, modals, updates)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from sqlalchemy import func, select

from adapters.slack.app import WORKING, SlackAdapter
from bot.clock import ManualClock
from bot.effects import Effect
from bot.engine import Engine
from bot.events import Event
from bot.storage.database import Database
from bot.storage.models import CheckinAnswer, OutboxMessage, OutboxStatus, Win
from tests.slack.conftest import ALICE, BOB, CAROL, slack_settings
from tests.slack.fake_slack import FakeSlack, message_error
from tests.slack.slack_chat import SlackChat, ephemeral_click, im, sign


async def pair(slack: SlackChat, mentor: str, mentee: str) -> None:
    """``mentor`` proposes the pair with ``/mentor pair``; ``mentee`` presses Accept."""
    answer = await slack.command(mentor, f"/mentor pair <@{mentor}|m> <@{mentee}|e>")
    assert answer.status == 200, answer.body
    await slack.deliver()
    assert (await slack.click(mentee, "Accept")).status == 200
    await slack.deliver()


async def wins(database: Database) -> int:
    async with database.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(Win)) or 0)


async def test_a_win_is_confirmed_in_the_ack_and_the_partner_gets_a_dm(slack: SlackChat) -> None:
    await pair(slack, ALICE, BOB)
    await slack.deliver()
    to_alice = len(slack.fake.posts_to(ALICE))

    answer = await slack.command(
        ALICE, "/win shipped the <https://x.io/login|login page> &amp; 2 > 1"
    )

    assert answer.status == 200
    assert answer.json["response_type"] == "ephemeral"
    # alice hears of the "First win" milestone in this answer, not in a DM of its own
    # (one event, one message per person); the tip that follows it is a context block.
    reached = (
        f"Saved to your journal (win #1) and shared with <@{BOB}>. 🎉\n\n"
        f"🎉 You reached a milestone: *First win*! I told <@{BOB}> too."
    )
    assert answer.json["blocks"][0] == {
        "type": "section",
        "text": {"type": "mrkdwn", "text": reached},
    }
    assert answer.json["blocks"][1]["type"] == "context"
    assert "no shout-out channel is set up yet" in answer.text
    await slack.deliver()
    assert slack.fake.posts_to(ALICE)[to_alice:] == []
    # One message: the win, and the "First win" milestone it reached.
    news = (
        f"<@{ALICE}> shared a win: shipped the login page (https://x.io/login) &amp; 2 &gt; 1"
        f"\n\n🎉 <@{ALICE}> reached a milestone: *First win*"
    )
    dm = next(p for p in slack.fake.posts_to(BOB) if "shared a win" in p["text"])
    assert dm["text"] == news
    assert dm["blocks"] == [{"type": "section", "text": {"type": "mrkdwn", "text": news}}]


async def test_a_win_refused_for_its_length_comes_back_whole_in_messages_slack_takes(
    slack: SlackChat,
) -> None:
    """Slack clears the message box once a command is sent, so a /win too long to keep
    is given back to shorten: 8,000 characters of it, escaped, in as many ephemeral
    messages as Slack's limits need (the ack, then response_url posts), each one a
    message Slack takes."""
    words = "The plan:\n" + "<b>&" * 2000
    escaped = words.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    answer = await slack.command(ALICE, f"/win {escaped}")  # as Slack sends what is typed
    assert answer.status == 200, answer.body
    bodies = [answer.json, *slack.fake.responses()]
    assert len(bodies) > 1
    assert [message_error(body) for body in bodies] == [None] * len(bodies)
    said = "\n".join(
        block["text"]["text"]
        for body in bodies
        for block in body["blocks"]
        if block["type"] == "section"
    )
    assert said.startswith("I didn't save that win: it is 8,010 characters long")
    assert said.replace("\n", "").endswith(escaped.replace("\n", ""))
    assert await wins(slack.database) == 0


async def test_a_command_that_mentions_payload_is_a_command(slack: SlackChat) -> None:
    """Bolt read any form holding the word "payload" as a button's payload: these two
    got a 404 and the win was lost. A form is an interaction only by its field."""
    await pair(slack, ALICE, BOB)

    answer = await slack.command(ALICE, "/win fixed the payload parser")
    assert answer.status == 200, answer.body
    assert answer.text.startswith(f"Saved to your journal (win #1) and shared with <@{BOB}>. 🎉")
    async with slack.database.transaction() as session:
        assert await session.scalar(select(Win.text)) == "fixed the payload parser"

    form = slack.command_form(BOB, "/mentor status") | {"channel_name": "payload-team"}
    status = await slack.post(urlencode(form), "application/x-www-form-urlencoded")
    assert "Your mentoring at a glance" in status.text

    # A form whose payload is not an object is still refused as unreadable.
    refused = await slack.post(
        urlencode({"payload": "[1, 2]"}), "application/x-www-form-urlencoded"
    )
    assert refused.status == 400


async def test_pairing_asks_the_mentee_and_their_accept_button_forms_the_pair(
    slack: SlackChat,
) -> None:
    answer = await slack.command(ALICE, f"/mentor pair <@{ALICE}|alice> <@{BOB}>")
    assert answer.text == f"I asked <@{BOB}> whether they'd like you as their mentor."
    await slack.deliver()
    invitation = slack.shown(BOB)[-1]
    assert invitation.channel == im(BOB)
    labels = [(b["text"]["text"], b.get("style")) for b in invitation.buttons()]
    assert labels == [("Accept", "primary"), ("Decline", "danger")]

    assert (await slack.click(BOB, "Accept")).status == 200

    # The invitation is replaced in place: its buttons are gone.
    update = slack.fake.called("chat.update")[-1]
    assert (update["channel"], update["ts"]) == (im(BOB), invitation.ts)
    assert not any(b["type"] == "actions" for b in update["blocks"])
    await slack.deliver()
    assert any("mentor" in text and "pair" in text.lower() for text in slack.dms(ALICE))
    status = await slack.command(BOB, "/mentor status")
    assert "Your mentoring at a glance" in status.text


async def test_a_check_in_answered_through_a_modal(slack: SlackChat) -> None:
    await pair(slack, ALICE, BOB)
    await slack.command(BOB, "/mentor checkin")
    await slack.deliver()
    assert "Time for your check-in" in slack.dms(BOB)[-1]

    await slack.click(BOB, "Answer in a form")

    opened = slack.fake.called("views.open")[-1]
    assert opened["trigger_id"]
    view = opened["view"]
    assert view["type"] == "modal" and view["callback_id"].endswith(":answers")
    assert [b["block_id"] for b in view["blocks"]] == [
        "mood",
        "progress",
        "challenge",
        "next_topic",
    ]
    assert view["blocks"][1]["element"]["multiline"] is True

    # Only spaces: the modal stays open and says what is wrong.
    blank = await slack.submit(BOB, mood="  ")
    assert blank.json == {
        "response_action": "errors",
        "errors": {"mood": "Answer at least one question, or close the form."},
    }

    done = await slack.submit(BOB, mood="great", progress="Shipped the <login> page")
    assert (done.status, done.body) == (200, "")
    assert "Thanks!" in slack.dms(BOB)[-1]  # the reply to a modal is a DM
    await slack.command(ALICE, "/mentor checkin")  # already open: nothing new
    await slack.deliver()


async def test_a_check_in_form_opens_with_the_answers_given_so_far(slack: SlackChat) -> None:
    await pair(slack, ALICE, BOB)
    await slack.command(BOB, "/mentor checkin")
    await slack.deliver()
    await slack.dm(BOB, "Calm week")
    await slack.dm(BOB, "Shipped the login page")
    await slack.deliver()
    await slack.click(BOB, "Answer in a form")  # the prompt's button
    elements = {b["block_id"]: b["element"] for b in slack.opened_view()["blocks"]}
    assert [elements[name].get("initial_value") for name in elements] == [
        "Calm week",
        "Shipped the login page",
        None,
        None,
    ]
    # The mood left as it opened; the progress edited; the rest answered now.
    done = await slack.submit(
        BOB, progress="Shipped the login page and its tests", challenge="Naming", next_topic="CI"
    )
    assert (done.status, done.body) == (200, "")
    async with slack.database.transaction() as session:
        [answer] = (await session.execute(select(CheckinAnswer))).scalars()
    assert (answer.mood, answer.progress, answer.challenge, answer.next_topic) == (
        "Calm week",
        "Shipped the login page and its tests",
        "Naming",
        "CI",
    )


async def test_feedback_asked_in_a_command_and_answered_in_a_dm(slack: SlackChat) -> None:
    await pair(slack, ALICE, BOB)
    question = "How could I open Friday's demo so people see the result first?"

    asked = await slack.command(BOB, f"/mentor feedback {question}")
    assert asked.text == f"Sent your question to <@{ALICE}>. I'll DM you their answer."
    await slack.deliver()
    assert question in slack.dms(ALICE)[-1]

    # Slack escapes "&" and wraps links; the answer is stored as alice typed it.
    reply = await slack.dm(ALICE, "Open with the outcome &amp; show <https://x.io/demo|the demo>")
    assert reply.status == 200
    await slack.deliver()
    answer = "Open with the outcome &amp; show the demo (https://x.io/demo)"
    assert any(answer in text for text in slack.dms(BOB))


async def test_a_milestone_shout_out_goes_to_the_configured_channel(slack: SlackChat) -> None:
    await pair(slack, ALICE, BOB)
    configured = await slack.command(ALICE, "/mentor config shoutouts <#C0WINS|wins>")
    assert "<#C0WINS>" in configured.text  # alice is an admin (users.info is_admin)

    await slack.command(BOB, "/win my first demo")
    await slack.deliver()
    await slack.click(BOB, "Yes, shout it out")
    await slack.deliver()

    assert slack.channel_posts("C0WINS") == [f"🎉 <@{BOB}> reached a milestone: *First win*"]


async def test_unknown_command_text_gets_the_help(slack: SlackChat) -> None:
    answer = await slack.command(ALICE, "/mentor frobnicate now")

    assert answer.status == 200
    assert answer.text.startswith("I don't know `/mentor frobnicate`.")
    assert "/mentor pair" in answer.text


async def test_a_retried_request_creates_no_second_win(slack: SlackChat) -> None:
    await pair(slack, ALICE, BOB)
    body = urlencode(slack.command_form(ALICE, "/win one win, sent twice"))

    first = await slack.post(body, "application/x-www-form-urlencoded")
    again = await slack.post(
        body,
        "application/x-www-form-urlencoded",
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )

    assert "win #1" in first.text
    assert again.status == 200 and "win #" not in again.text
    assert await wins(slack.database) == 1
    await slack.deliver()
    assert sum("one win, sent twice" in t for t in slack.dms(BOB)) == 1


async def test_a_repeated_event_delivery_answers_once(slack: SlackChat) -> None:
    body = slack.event_body("message_im", user=BOB, text="hello?", channel=im(BOB))

    await slack.event(body)
    await slack.event(body, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "timeout"})

    assert len(slack.dms(BOB)) == 1


async def test_a_bad_signature_is_refused_and_nothing_is_recorded(slack: SlackChat) -> None:
    before = len(slack.fake.calls)
    body = urlencode(slack.command_form(ALICE, "/win forged"))

    forged = await slack.post(body, "application/x-www-form-urlencoded", signature="v0=" + "0" * 64)
    other_secret = await slack.post(
        body,
        "application/x-www-form-urlencoded",
        signature=sign(body, int(time.time()), "not-the-secret"),
    )

    assert (forged.status, other_secret.status) == (401, 401)
    assert await wins(slack.database) == 0
    assert len(slack.fake.calls) == before


async def test_a_stale_timestamp_is_refused_and_nothing_is_recorded(slack: SlackChat) -> None:
    before = len(slack.fake.calls)
    body = urlencode(slack.command_form(ALICE, "/win replayed"))

    stale = await slack.post(
        body, "application/x-www-form-urlencoded", timestamp=int(time.time()) - 301
    )

    assert stale.status == 401
    assert await wins(slack.database) == 0
    assert len(slack.fake.calls) == before


async def test_first_contact_reads_users_info_once_and_keeps_the_timezone(
    slack: SlackChat,
) -> None:
    await slack.command(BOB, "/mentor help")
    answer = await slack.command(BOB, "/mentor config")

    assert [c["user"] for c in slack.fake.called("users.info")] == [BOB]
    assert "Timezone: America/New_York" in answer.text


async def test_the_home_tab_shows_pairs_next_check_in_wins_and_feedback(
    slack: SlackChat,
) -> None:
    await pair(slack, ALICE, BOB)
    await slack.command(BOB, "/win gave my first talk")
    await slack.command(BOB, "/mentor feedback How do I open a demo with the result first?")

    await slack.event(slack.event_body("app_home_opened", user=BOB, channel=im(BOB)))

    published = slack.fake.called("views.publish")[-1]
    assert published["user_id"] == BOB
    view = published["view"]
    assert view["type"] == "home"
    texts = [b["text"]["text"] for b in view["blocks"] if b["type"] == "section"]
    pair_part = next(t for t in texts if t.startswith(f"*<@{ALICE}> mentoring you*"))
    # Bob's next check-in in Bob's own time (users.info said New York), then Alice's.
    assert "Next check-in: Mon 30 Nov, 04:00 (America/New_York) for you" in pair_part
    assert "Streak: 0 check-ins in a row" in pair_part
    assert "Open feedback: 1" in pair_part
    assert any("gave my first talk" in t for t in texts)
    assert any(t.startswith("Your feedback") and "(waiting for an answer)" in t for t in texts)
    buttons = [
        e["text"]["text"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert buttons == ["Share a win", "Ask for feedback", "Check in now", "Help", "Refresh"]


async def test_sharing_a_win_from_the_home_tab(slack: SlackChat) -> None:
    await pair(slack, ALICE, BOB)
    await slack.event(slack.event_body("app_home_opened", user=BOB, channel=im(BOB)))
    published = len(slack.fake.called("views.publish"))

    await slack.press_on_home(BOB, "Share a win")
    assert slack.opened_view()["callback_id"] == "slack-home:win"
    await slack.submit(BOB, win="closed the release checklist")
    await slack.deliver()

    assert any("closed the release checklist" in t for t in slack.dms(ALICE))
    assert any("Saved to your journal" in t for t in slack.dms(BOB))
    assert len(slack.fake.called("views.publish")) == published + 1  # the Home tab is refreshed


async def test_uninstalling_stops_delivery_to_the_workspace(slack: SlackChat) -> None:
    await pair(slack, ALICE, BOB)
    posted = len(slack.fake.called("chat.postMessage"))

    await slack.event(slack.event_body("app_uninstalled"))
    await slack.command(ALICE, "/win after the uninstall")
    await slack.deliver()

    assert len(slack.fake.called("chat.postMessage")) == posted
    async with slack.database.transaction() as session:
        statuses = set((await session.execute(select(OutboxMessage.status))).scalars())
    assert OutboxStatus.PENDING.value not in statuses


class SlowEngine(Engine):
    """An engine whose database takes its time (a lock, a slow disk)."""

    async def handle(self, event: Event) -> list[Effect]:
        await asyncio.sleep(0.5)
        return await super().handle(event)


async def test_the_ack_goes_out_in_time_and_the_answer_follows_by_response_url(
    fake: FakeSlack, database: Database, clock: ManualClock
) -> None:
    adapter = SlackAdapter(
        slack_settings(fake),
        SlowEngine(database, clock),
        host="127.0.0.1",
        port=0,
        ack_budget_seconds=0.05,
    )
    await adapter.start()
    slack = SlackChat(fake, adapter, database, clock)
    try:
        started = time.monotonic()
        body = urlencode(slack.command_form(ALICE, "/win patience"))
        async with slack.session.post(
            slack.events_url,
            data=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": str(int(time.time())),
                "X-Slack-Signature": sign(body, int(time.time())),
            },
        ) as reply:
            acked = time.monotonic() - started
            assert reply.status == 200
            assert (await reply.json())["text"] == WORKING
        assert acked < 0.4
        await adapter.drain()
        [late] = fake.responses()
        assert late["text"].startswith("Saved to your journal (win #1).")
        assert (late["response_type"], late["replace_original"]) == ("ephemeral", False)
        assert await wins(database) == 1
    finally:
        await slack.close()
        await adapter.stop()


async def test_the_ack_budget_counts_from_the_request_s_arrival(
    fake: FakeSlack, database: Database, clock: ManualClock
) -> None:
    """In a burst a request can wait in the event loop before Bolt runs its listener;
    that wait is part of Slack's 3 s. Here the loop is busy for longer than the whole
    budget after the request arrived (a blocking middleware, as CPU-bound work for
    other requests would be): the ack says "one moment" at once, instead of giving the
    work a fresh budget from the listener's start, and the answer follows."""
    adapter = SlackAdapter(
        slack_settings(fake),
        Engine(database, clock),
        host="127.0.0.1",
        port=0,
        ack_budget_seconds=1.0,
    )

    async def busy_loop(next: Callable[[], Awaitable[None]]) -> None:
        time.sleep(1.2)  # noqa: ASYNC251 (blocks the loop, as other requests do)
        await next()

    adapter.app.middleware(busy_loop)
    await adapter.start()
    slack = SlackChat(fake, adapter, database, clock)
    try:
        answer = await slack.command(ALICE, "/win waited in line")
        assert answer.status == 200
        assert answer.text == WORKING
        [late] = fake.responses()
        assert late["text"].startswith("Saved to your journal (win #1).")
        assert await wins(database) == 1
    finally:
        await slack.close()
        await adapter.stop()


async def test_a_button_on_an_ephemeral_answer_replaces_it_through_the_response_url(
    slack: SlackChat,
) -> None:
    await pair(slack, ALICE, BOB)
    await pair(slack, ALICE, CAROL)
    question = await slack.command(ALICE, "/mentor checkin")
    assert question.text.startswith("You're in more than one pair. Which one do you mean?")
    [actions] = [b for b in question.json["blocks"] if b["type"] == "actions"]
    with_bob = next(e for e in actions["elements"] if "Bob" in e["text"]["text"])

    await slack.interaction(ephemeral_click(slack, ALICE, with_bob))

    replaced = [r for r in slack.fake.responses() if r.get("replace_original")]
    # The question answered: what was chosen stays on it.
    assert [r["text"] for r in replaced] == [
        "You're in more than one pair. Which one do you mean? With Bob (your mentee)"
    ]
    await slack.deliver()
    # Alice asked, so hers comes now; Bob's waits for his morning in New York.
    assert slack.dms(ALICE)[-1].startswith(f"👋 Time for your check-in with <@{BOB}>.")
    assert not any("Time for your check-in with <@U0CAROL>" in t for t in slack.dms(ALICE))


async def test_a_skip_is_undone_by_the_button_on_its_ephemeral_answer(slack: SlackChat) -> None:
    await pair(slack, ALICE, BOB)
    skipped = await slack.command(BOB, "/mentor skip")
    assert skipped.text.startswith("Skipped the check-in of Mon 30 Nov")
    [actions] = [b for b in skipped.json["blocks"] if b["type"] == "actions"]
    [undo] = actions["elements"]
    assert undo["text"]["text"] == "Undo skip"

    await slack.interaction(ephemeral_click(slack, BOB, undo))

    answers = [r["text"] for r in slack.fake.responses()]
    assert any(text.startswith("Undone: the check-in of Mon 30 Nov") for text in answers), answers
    await slack.deliver()
    assert slack.dms(ALICE)[-2:] == [
        f"<@{BOB}> skipped your check-in of Mon 30 Nov, 10:00 (Europe/Berlin). The one after "
        "is Mon 7 Dec, 10:00 (Europe/Berlin).",
        f"<@{BOB}> took back their skip: your check-in of Mon 30 Nov, 10:00 (Europe/Berlin) is "
        "on again.",
    ]


async def test_web_api_calls_share_connections_rather_than_open_one_each(
    slack: SlackChat,
) -> None:
    """slack_sdk opens a session, so a connection (with Slack a TLS handshake), for each
    call unless given one: the adapter gives it its own, kept open while it runs."""
    await pair(slack, ALICE, BOB)
    for number in range(6):
        assert "Saved" in (await slack.command(ALICE, f"/win number {number}")).text
        await slack.deliver()
    posts = [c for c in slack.fake.calls if c.method == "chat.postMessage"]
    assert len(posts) >= 6
    connections = {c.peer for c in posts}
    assert None not in connections
    assert len(connections) <= 2, connections
