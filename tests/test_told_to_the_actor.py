"""What an event tells the person who acted, besides its answer (bot/turn.py
``tell_actor``): one event, one message per person. It joins the event's DM to them in
the order things were told, or else the answer only they see, or else is a DM of its own.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.content import Button, Content, Field
from bot.effects import Effect, ReplyEphemeral, UpdateMessage
from bot.storage.models import OutboxMessage
from tests.conversation import Chat, pair_up
from tests.test_outbox_in_statement import alices_turn

NOTE = Content("🎉 You reached a milestone: *First win*!")
LOOK_BACK = Content("What went well?", buttons=(Button("Skip", "flow:1:skip"),))


async def alices_messages(chat: Chat) -> list[Content]:
    async with chat.database.transaction() as session:
        query = select(OutboxMessage).where(OutboxMessage.target_id == "alice")
        rows = (await session.execute(query.order_by(OutboxMessage.id))).scalars()
        return [Content.from_json(message.content) for message in rows]


async def told(chat: Chat, *steps: Any) -> tuple[list[Effect], list[Content]]:
    """Run ``steps`` in one event of alice's: a Content is told to her with
    ``tell_actor``, ("dm", content) is DMed to her, and a list of effects is what the
    event answers. Returns the answer after ``with_notes`` and her new DMs."""
    await pair_up(chat, "alice", "bob")
    before = len(await alices_messages(chat))
    effects: list[Effect] = []
    async with alices_turn(chat) as turn:
        for step in steps:
            if isinstance(step, Content):
                turn.tell_actor(step)
            elif isinstance(step, list):
                effects = step
            else:
                turn.dm(turn.actor, step[1])
        effects = turn.with_notes(effects)
    return effects, (await alices_messages(chat))[before:]


def answer(chat: Chat, content: Content) -> ReplyEphemeral:
    return ReplyEphemeral(chat.ref("alice"), content)


async def test_it_joins_the_answer_when_the_event_dms_them_nothing(chat: Chat) -> None:
    saved = Content("Saved (win #1).", buttons=(Button("Undo", "undo:1"),))
    effects, dms = await told(chat, NOTE, [answer(chat, saved)])
    assert dms == []
    assert effects == [
        answer(chat, Content(f"Saved (win #1).\n\n{NOTE.text}", buttons=saved.buttons))
    ]


async def test_an_answer_with_fields_keeps_them_under_its_own_text(chat: Chat) -> None:
    status = Content("Your pairs:", fields=(Field("With <@bob>", "active"),))
    effects, _ = await told(chat, NOTE, [answer(chat, status)])
    assert effects == [answer(chat, Content(f"{NOTE.text}\n\nYour pairs:", fields=status.fields))]


async def test_it_comes_first_in_a_dm_the_event_queues_after_it(chat: Chat) -> None:
    saved = answer(chat, Content("Milestone #1 done."))
    effects, dms = await told(chat, NOTE, ("dm", LOOK_BACK), [saved])
    assert effects == [saved]
    assert dms == [
        Content(f"{NOTE.text}\n\nWhat went well?", buttons=(Button("Skip", "keep:flow:1:skip"),))
    ]


async def test_it_comes_after_a_dm_the_event_queued_before_it(chat: Chat) -> None:
    effects, dms = await told(chat, ("dm", LOOK_BACK), NOTE, [answer(chat, Content("Done."))])
    assert effects == [answer(chat, Content("Done."))]
    assert [dm.text for dm in dms] == [f"What went well?\n\n{NOTE.text}"]


async def test_without_an_answer_it_is_a_dm_of_its_own(chat: Chat) -> None:
    replaced = UpdateMessage(chat.ref("alice"), "m1", Content("Got it."))
    effects, dms = await told(chat, NOTE, [replaced])
    assert effects == [replaced]
    assert dms == [NOTE]


async def test_an_answer_to_someone_else_is_not_theirs_to_join(chat: Chat) -> None:
    to_bob = ReplyEphemeral(chat.ref("bob"), Content("Hello"))
    effects, dms = await told(chat, NOTE, [to_bob])
    assert effects == [to_bob]
    assert dms == [NOTE]


async def test_what_asks_them_something_stays_a_dm(chat: Chat) -> None:
    question = Content("May I celebrate it?", buttons=(Button("Yes", "flow:2:yes"),))
    effects, dms = await told(chat, question, [answer(chat, Content("Saved."))])
    assert effects == [answer(chat, Content("Saved."))]
    assert dms == [question]
