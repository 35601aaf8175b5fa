"""MAX_PAIRS_PER_PERSON: nobody is put in more pairs than the cap, whether by a proposal,
an accept (the cap may have been lowered since the proposal) or a pairs import; each
refusal says who is full and what to do."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from bot.engine import Engine
from bot.pairs_import import Rejected, import_pairs
from bot.settings import Settings
from bot.storage.database import Database
from bot.storage.models import Pair, PairState
from tests.conftest import START
from tests.conversation import Chat, pair_up


async def count_pairs(database: Database, state: PairState | None = None) -> int:
    query = select(func.count()).select_from(Pair)
    if state is not None:
        query = query.where(Pair.state == state.value)
    async with database.transaction() as session:
        return int(await session.scalar(query) or 0)


def capped(chat: Chat, cap: int) -> None:
    chat.engine = Engine(chat.database, chat.clock, max_pairs_per_person=cap)


def test_the_cap_is_a_setting_with_a_default_of_20() -> None:
    assert Settings().max_pairs_per_person == 20
    assert Settings(max_pairs_per_person=3).max_pairs_per_person == 3


async def test_a_proposal_past_the_cap_is_refused_with_the_reason(chat: Chat) -> None:
    capped(chat, 2)
    await pair_up(chat, "alice", "bob")
    await pair_up(chat, "alice", "carol")

    mine = await chat.say("alice", "/mentor pair @alice @dave")
    theirs = await chat.say("erin", "/mentor pair @alice @frank")

    assert mine.startswith("You're already in 2 pairs, the most one person can be in here (2)")
    assert "`/mentor end`" in mine and "MAX_PAIRS_PER_PERSON" in mine
    assert theirs.startswith("<@alice> is already in 2 pairs")
    assert await count_pairs(chat.database) == 2
    assert not chat.dms("dave") and not chat.dms("frank")
    # Someone else is not held back by alice's pairs.
    await pair_up(chat, "dave", "frank")
    assert await count_pairs(chat.database, PairState.ACTIVE) == 3


async def test_an_accept_past_the_cap_is_refused_and_the_proposal_kept(chat: Chat) -> None:
    capped(chat, 3)
    await chat.say("bob", "/mentor pair @bob @alice")
    await chat.say("carol", "/mentor pair @carol @alice")
    capped(chat, 1)  # the operator lowered the cap meanwhile

    await accept(chat, "carol")
    refused = await accept(chat, "bob")

    assert await count_pairs(chat.database, PairState.ACTIVE) == 1
    assert await count_pairs(chat.database, PairState.PROPOSED) == 1
    assert refused.startswith("You're already in 1 pairs, the most one person can be in here")
    assert "so this pair can't start yet" in refused
    # Once there is room, the same button works.
    capped(chat, 2)
    assert "You're paired" in await accept(chat, "bob")


async def accept(chat: Chat, proposer: str) -> str:
    """alice presses Accept on the proposal that came from ``proposer``."""
    (seen,) = [
        s
        for s in chat.recorder.seen
        if s.user == "alice" and f"<@{proposer}>" in s.content.text and s.content.buttons
    ]
    button = next(b for b in seen.content.buttons if b.label == "Accept")
    return await chat.press("alice", button, seen.message_id)


async def test_an_import_refuses_rows_past_the_cap_by_line(database: Database) -> None:
    rows = io.StringIO(
        "platform,workspace_id,mentor_id,mentee_id\n"
        "slack,T1,U0ALICE,U0B1\n"
        "slack,T1,U0ALICE,U0B2\n"
        "slack,T1,U0B3,U0ALICE\n"
        "slack,T1,U0B1,U0B2\n"
    )

    report = await import_pairs(database, rows, START, max_pairs_per_person=2)

    assert report.created == 3
    assert report.rejected == [
        Rejected(4, "U0ALICE would be in more than 2 pairs (MAX_PAIRS_PER_PERSON)")
    ]
    # Again, with the same file: nothing new, the full one still refused.
    again = await import_pairs(
        database,
        io.StringIO("platform,workspace_id,mentor_id,mentee_id\nslack,T1,U0B3,U0ALICE\n"),
        START,
        max_pairs_per_person=2,
    )
    assert (again.created, len(again.rejected)) == (0, 1)
