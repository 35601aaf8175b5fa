"""A win taken out of its author's journal, by its number there: gone from the journal,
the brag doc and the check-ins, its words said back, the count kept going down with it,
and never saved again by a late retry of the /win that made it."""

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.effects import ReplyEphemeral
from bot.engine import SORRY
from bot.events import CommandInvoked
from bot.privacy import export_member
from bot.storage.models import HandledEvent, Member, Milestone, Win
from tests.conversation import Chat, pair_up

FIRST_CHECKIN = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


async def _texts(chat: Chat) -> list[str]:
    async with chat.database.transaction() as session:
        query = select(Win.text).order_by(Win.created_at, Win.id)
        return list((await session.execute(query)).scalars())


async def _wins_count(chat: Chat, user: str) -> int:
    async with chat.database.transaction() as session:
        query = select(Member.wins_count).where(Member.external_id == user)
        return int((await session.execute(query)).scalar_one())


async def test_a_win_is_removed_by_its_number_and_said_back_whole(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    for text in ("first thing", "second thing\nwith a second line", "third thing"):
        await chat.say("bob", f"/win {text}")
        chat.clock.advance(timedelta(minutes=1))
    journal = await chat.say("bob", "/mentor journal")
    lines = [line for line in journal.splitlines() if line.startswith("•")]
    assert [line.split(" — ")[0] for line in lines] == [
        "• #3 2026-11-25",
        "• #2 2026-11-25",
        "• #1 2026-11-25",
    ]
    told_alice = len(chat.dms("alice"))

    assert await chat.say("bob", "/mentor journal remove 2") == (
        "Removed win #2 (2026-11-25) from your journal: “second thing\nwith a second line”\n"
        "It no longer shows in your journal, brag doc or check-ins, nor to <@alice> (the DM "
        "that told them of it is not taken back). To keep it after all, share it again with "
        "`/win`. The wins after it moved up one number: what was #3 is now #2."
    )
    assert "second thing" not in await chat.say("alice", "/mentor journal @bob")
    assert await _texts(chat) == ["first thing", "third thing"]
    assert len(chat.dms("alice")) == told_alice  # her DM of it stays; nothing new
    assert "• #2 2026-11-25 — third thing" in await chat.say("bob", "/mentor journal")
    # The kept count went down with it: the next win is #3, not #4.
    assert (await chat.say("bob", "/win fourth thing")).startswith("Saved to your journal (win #3)")
    assert await _wins_count(chat, "bob") == 3
    # The last one has no wins after it to renumber; "#1" and "delete" read as well.
    assert (await chat.say("bob", "/mentor journal delete #3")).endswith("with `/win`.")

    # Gone from the brag doc and from the check-in's list of wins too.
    async with chat.database.transaction() as session:
        query = select(Member).where(Member.external_id == "bob")
        bob = (await session.execute(query)).scalar_one()
        bundle = await export_member(session, bob, now=chat.clock.now())
    assert b"third thing" in bundle.markdown and b"second thing" not in bundle.markdown
    assert b"second thing" not in bundle.json_data
    await chat.advance(FIRST_CHECKIN - chat.clock.now())
    prompt = chat.dms("bob")[-1]
    assert "Your wins since last time:\n• third thing\n• first thing\n" in prompt


async def test_a_win_from_before_the_pair_was_told_to_no_partner(chat: Chat) -> None:
    await chat.say("bob", "/win before any pair")
    chat.clock.advance(timedelta(minutes=1))
    await pair_up(chat, "alice", "bob")
    removed = await chat.say("bob", "/mentor journal remove 1")
    assert "It no longer shows in your journal, brag doc or check-ins. To keep" in removed


async def test_milestones_reached_stay_reached_and_are_not_celebrated_again(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    assert "First win" in await chat.say("bob", "/win the only one")
    assert "Removed win #1" in await chat.say("bob", "/mentor journal remove 1")
    assert "journal is empty, so there is no win to remove" in await chat.say(
        "bob", "/mentor journal remove 1"
    )
    again = await chat.say("bob", "/win the only one, again")
    assert again.startswith("Saved to your journal (win #1)") and "milestone" not in again
    async with chat.database.transaction() as session:
        reached = await session.scalar(select(func.count()).select_from(Milestone))
    assert reached == 1


async def test_a_late_retry_of_a_removed_win_saves_nothing(chat: Chat) -> None:
    """On SQLite the win's row was its /win's claim: removing it keeps the claim (a row
    of its own), so the platform's retry of that delivery is still a repeat."""
    await pair_up(chat, "alice", "bob")
    assert "win #1" in await chat.say("bob", "/win only once", key="evt-1")
    await chat.say("bob", "/mentor journal remove 1")
    assert await chat.say("bob", "/win only once", key="evt-1") == ""
    assert await _texts(chat) == []
    assert await _wins_count(chat, "bob") == 0
    async with chat.database.transaction() as session:
        keys = list((await session.execute(select(HandledEvent.key))).scalars())
    assert keys.count("evt-1") == 1


async def test_only_their_own_wins_and_only_what_is_there(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/win alice's win")
    await chat.say("bob", "/win bob's win")
    assert await chat.say("bob", "/mentor journal remove 2") == (
        "Your journal has no win #2: it has 1 win. `/mentor journal` shows their numbers."
    )
    assert "Removed win #1" in await chat.say("bob", "/mentor journal remove 1")
    assert await _texts(chat) == ["alice's win"]


async def test_removals_and_wins_at_the_same_moment_keep_the_count_true(chat: Chat) -> None:
    """Six "remove 1" and six new wins at once (PostgreSQL runs them side by side; two
    removals may find the same win, and the second then says it went a moment ago): no
    answer is an error, and the kept count is the number of wins left."""
    for n in range(8):
        await chat.say("bob", f"/win old {n}")
    events = [
        CommandInvoked(user=chat.ref("bob"), command="mentor", text="journal remove 1")
        for _ in range(6)
    ] + [CommandInvoked(user=chat.ref("bob"), command="win", text=f"new {n}") for n in range(6)]
    answers = await asyncio.gather(*(chat.engine.handle(event) for event in events))
    said = [e.content.text for effects in answers for e in effects if isinstance(e, ReplyEphemeral)]
    assert len(said) == len(events)
    assert not [text for text in said if SORRY in text]
    removed = [text for text in said if text.startswith("Removed win #1")]
    gone = [text for text in said if "was removed a moment ago" in text]
    assert len(removed) + len(gone) == 6 and removed
    left = await _texts(chat)
    assert len(left) == 8 + 6 - len(removed)
    assert await _wins_count(chat, "bob") == len(left)
    assert all(f"new {n}" in left for n in range(6))
