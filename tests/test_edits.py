"""A message edited after it was sent: the bot does not read edits, and says so.

Slack (``message_changed``) and Discord (``MESSAGE_UPDATE``) tell a bot when someone
edits a DM they sent it. The edit answered nothing before and does not now; what changed
is that the person is told their new words were not saved, rather than hearing nothing
(the adapters' own tests: tests/slack/test_edits.py, tests/discord/test_edits.py)."""

from __future__ import annotations

from tests.conversation import Chat
from tests.test_bad_input import snapshot
from tests.test_checkins import _answers, to_first_checkin
from tests.test_feedback import open_form, submit

NOT_READ = "You edited a message you had sent me. I don't read edits"


async def test_an_edited_answer_is_not_saved_and_its_author_is_told(chat: Chat) -> None:
    await to_first_checkin(chat)
    await chat.say("bob", "a good week")
    assert chat.dms("bob")[-1].startswith("What moved forward since last time?")
    before = await snapshot(chat)
    dms = len(chat.dms("bob"))

    answer = await chat.edit("bob", "a great week, actually", key="edit-1")
    assert answer == (
        f"{NOT_READ}, so I didn't save “a great week, actually”: what you first sent "
        "stands.\n\nYour check-in with <@alice> is still open: your next reply here answers "
        "“What moved forward since last time?”\nTo change an answer you gave: `/mentor "
        "checkin` sends its question again with the “Answer in a form” button, which opens "
        "with your answers so far."
    )
    assert (await _answers(chat, "bob")).mood == "a good week"
    # Nothing else is written but the edit's key; nothing is sent to anyone.
    after = await snapshot(chat)
    assert {t: rows for t, rows in after.items() if t != "handled_events"} == {
        t: rows for t, rows in before.items() if t != "handled_events"
    }
    assert len(chat.dms("bob")) == dms and chat.dms("alice")[-1].startswith("👋")
    # The same edit delivered again says nothing the second time.
    assert await chat.edit("bob", "a great week, actually", key="edit-1") == ""

    # The next reply answers the question still waiting, as the note said.
    await chat.say("bob", "the parser")
    assert (await _answers(chat, "bob")).progress == "the parser"
    # And the way to change an answer it names works: the form opens with them.
    assert "already open" in await chat.say("bob", "/mentor checkin")
    form = await open_form(chat, "bob", "Answer in a form")
    assert [f.initial for f in form.fields][:2] == ["a good week", "the parser"]
    await submit(chat, "bob", form.form_id, mood="a great week", progress="the parser")
    assert (await _answers(chat, "bob")).mood == "a great week"


async def test_an_edit_with_nothing_waiting_says_only_that_it_was_not_read(chat: Chat) -> None:
    assert await chat.edit("carol", "hello again") == (
        f"{NOT_READ}, so I didn't save “hello again”: what you first sent stands."
    )
    # A message edited down to nothing (its words removed, a file kept) quotes nothing.
    assert await chat.edit("carol", " \x00 ") == f"{NOT_READ}: what you first sent stands."
    # An edit that reads as a command or a greeting is still only an edit.
    assert (await chat.edit("carol", "/win shipped it")).startswith(NOT_READ)
    assert await chat.say("carol", "/mentor journal") == (
        "Your journal is empty. Add your first win with `/win <what went well>`."
    )
