"""An edited DM on Slack (``message_changed``), through the real Bolt app over HTTP: the
person is told in their DM that the edit was not saved, once, and what they first sent
stands (the Engine's side: tests/test_edits.py)."""

from __future__ import annotations

from sqlalchemy import select

from bot.storage.models import CheckinAnswer
from tests.slack.conftest import ALICE, BOB
from tests.slack.slack_chat import SlackChat
from tests.slack.test_http import pair


async def test_an_edited_answer_is_not_saved_and_the_dm_says_so(slack: SlackChat) -> None:
    await pair(slack, ALICE, BOB)
    await slack.command(BOB, "/mentor checkin")
    await slack.deliver()
    await slack.dm(BOB, "Calm week")
    await slack.deliver()
    dms = len(slack.dms(BOB))

    answer = await slack.edit(BOB, "Calm week", "Calm week, and a good demo")
    assert answer.status == 200
    await slack.deliver()
    assert slack.dms(BOB)[dms:] == [
        "You edited a message you had sent me. I don't read edits, so I didn't save "
        "“Calm week, and a good demo”: what you first sent stands.\n\n"
        f"Your check-in with <@{ALICE}> is still open: your next reply here answers "
        "“What moved forward since last time?”\nTo change an answer you gave: `/mentor "
        "checkin` sends its question again with the “Answer in a form” button, which "
        "opens with your answers so far."
    ]
    async with slack.database.transaction() as session:
        [kept] = (await session.execute(select(CheckinAnswer))).scalars()
    assert (kept.mood, kept.progress) == ("Calm week", None)

    # A link's preview added to the message (Slack's change, no edit) says nothing.
    body = slack.event_body("message_changed_im")
    for key in ("previous_message", "message"):
        body["event"][key] |= {"user": BOB, "text": "Calm week"}
    del body["event"]["message"]["edited"]
    assert (await slack.event(body)).status == 200
    await slack.deliver()
    assert len(slack.dms(BOB)) == dms + 1
