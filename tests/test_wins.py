"""Wins go into the author's journal and to their partners."""

import asyncio
import re
from datetime import timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import event, select

from bot.effects import ReplyEphemeral
from bot.engine import Engine
from bot.events import CommandInvoked
from bot.storage.database import Database, _alembic_config
from bot.storage.models import HandledEvent, Member, Milestone, Win
from bot.turn import Turn, get_workspace_and_member
from tests.conversation import Chat, pair_up
from tests.statements import sent_to_postgres, trips_per_event, trips_to_sqlite, work_sent

ODD_TEXTS = [
    "shipped it 🚀🎉👩🏽‍💻",  # emoji with skin tone and ZWJ sequence
    "e\u0301te\u0301 — café",  # combining marks next to a precomposed one
    "שלום עולם مرحبا",  # right-to-left scripts
    "zero\u200bwidth and \ufeffBOM",
    "'; DROP TABLE wins; --",
    "Robert'); DELETE FROM members WHERE ('1'='1",
    "<script>alert(1)</script> *not bold* `code` <@U999> <!channel>",
    "line one\nline two\n\ttabbed",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙 and 中文 and 日本語",
]


async def _stored(chat: Chat) -> list[str]:
    async with chat.database.transaction() as session:
        return list((await session.execute(select(Win.text).order_by(Win.id))).scalars())


async def test_a_win_is_confirmed_and_dmed_to_the_partner(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    bob = len(chat.dms("bob"))
    answer = await chat.say("bob", "/win asked my first question in standup")
    # One event, one message per person: bob's milestone joins the answer, not a DM.
    assert answer.startswith(
        "Saved to your journal (win #1) and shared with <@alice>. 🎉\n\n"
        "🎉 You reached a milestone: *First win*! I told <@alice> too."
    )
    assert chat.dms("bob")[bob:] == []
    # One event, one message: the win and the first-win milestone it reached.
    assert chat.dms("alice")[-1] == (
        "<@bob> shared a win: asked my first question in standup\n\n"
        "🎉 <@bob> reached a milestone: *First win*"
    )


async def test_a_win_without_a_pair_is_kept_and_explained(chat: Chat) -> None:
    answer = await chat.say("alice", "/win fixed the flaky test")
    assert "Saved to your journal (win #1)" in answer
    assert "not in a mentoring pair right now" in answer and "/mentor pair" in answer
    assert await _stored(chat) == ["fixed the flaky test"]


async def test_a_pending_proposal_does_not_share_wins(chat: Chat) -> None:
    await chat.say("alice", "/mentor pair @alice @bob")
    await chat.say("alice", "/win early")
    assert not any("early" in dm for dm in chat.dms("bob"))


@pytest.mark.parametrize("text", ODD_TEXTS)
async def test_unicode_and_odd_text_round_trip_exactly(chat: Chat, text: str) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", f"/win {text}")
    assert await _stored(chat) == [text]
    assert chat.dms("bob")[-1].startswith(f"<@alice> shared a win: {text}\n\n🎉")
    journal = await chat.say("alice", "/mentor journal")
    assert text in journal


async def test_journal_is_newest_first_and_paged(chat: Chat) -> None:
    for n in range(1, 24):
        await chat.say("alice", f"/win win number {n}")
        chat.clock.advance(timedelta(minutes=1))
    page1 = await chat.say("alice", "/mentor journal")
    assert "page 1 of 3, 23 in all" in page1
    lines = [line for line in page1.splitlines() if line.startswith("•")]
    assert [line.rsplit(" ", 1)[-1] for line in lines] == [str(n) for n in range(23, 13, -1)]
    assert [b.label for b in chat.buttons("alice")] == ["Older"]

    page2 = await chat.click("alice", "Older")
    assert "page 2 of 3" in page2 and "win number 13" in page2 and "win number 14" not in page2
    assert [b.label for b in chat.buttons("alice")] == ["Newer", "Older"]
    page3 = await chat.say("alice", "/mentor journal 3")
    assert page3.endswith("— win number 1") and "win number 4" not in page3
    assert "there is no page 9" in await chat.say("alice", "/mentor journal 9")


async def test_the_journal_is_only_the_authors(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/win alice's secret win")
    assert "journal is empty" in await chat.say("bob", "/mentor journal")


async def test_a_partners_wins_since_the_pair_began_are_shown_to_them(chat: Chat) -> None:
    """``/mentor journal @bob``: the wins bob shared since the pair began, each told to
    alice as it came, newest first and paged; not those from before, nor anyone's
    whose partner the asker is not."""
    await chat.say("bob", "/win from before the pair, told to nobody")
    chat.clock.advance(timedelta(minutes=1))
    await pair_up(chat, "alice", "bob")
    for n in range(1, 13):
        chat.clock.advance(timedelta(minutes=1))
        await chat.say("bob", f"/win bob's win {n}")
    page1 = await chat.say("alice", "/mentor journal @bob")
    assert page1.startswith(
        "<@bob>'s wins since your pair began on 2026-11-25, newest first (page 1 of 2, 12 in all):"
        "\n• 2026-11-25 — bob's win 12\n"
    )
    assert "told to nobody" not in page1 and "#" not in page1  # their journal's numbers
    assert [b.label for b in chat.buttons("alice")] == ["Older"]
    page2 = await chat.click("alice", "Older")
    assert page2.endswith("• 2026-11-25 — bob's win 2\n• 2026-11-25 — bob's win 1")
    assert "told to nobody" not in page2
    assert "there is no page 3" in await chat.say("alice", "/mentor journal 3 @bob")
    assert await chat.say("bob", "/mentor journal @alice") == (
        "<@alice> hasn't shared a win since your pair began on 2026-11-25."
    )
    # Not a partner: nothing of theirs is read.
    assert "not in a mentoring pair" in await chat.say("carol", "/mentor journal @bob")
    await pair_up(chat, "carol", "dave")
    refused = await chat.say("carol", "/mentor journal @bob")
    assert refused.startswith("You don't have a pair with <@bob>") and "win" not in refused
    # Once the pair has ended, its pages' buttons show nothing more.
    await chat.say("alice", "/mentor end")
    await chat.click("alice", "End pair")
    gone = await chat.click("alice", "Newer")
    assert gone.startswith("That pair is no longer active, so I can't show those wins any more.")
    assert "bob's win" not in gone


async def test_a_repeated_delivery_creates_one_win(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    first = await chat.say("alice", "/win only once", key="evt-1")
    again = await chat.say("alice", "/win only once", key="evt-1")
    assert "win #1" in first and again == ""
    assert await _stored(chat) == ["only once"]
    assert sum("only once" in dm for dm in chat.dms("bob")) == 1


async def test_win_numbers_start_again_after_forget(chat: Chat) -> None:
    """The count kept on the member row goes with the wins: a forgotten person who comes
    back starts a new journal, at win #1; their partner's count is untouched."""
    await pair_up(chat, "alice", "bob")
    assert "(win #1)" in await chat.say("alice", "/win mine")
    assert "(win #1)" in await chat.say("bob", "/win one")
    assert "(win #2)" in await chat.say("bob", "/win two")
    await chat.say("bob", "/mentor forget")
    await chat.click("bob", "Delete everything")
    assert "(win #1)" in await chat.say("bob", "/win back again")
    assert "(win #2)" in await chat.say("alice", "/win mine are kept")
    async with chat.database.transaction() as session:
        counts = dict((await session.execute(select(Member.external_id, Member.wins_count))).all())
    assert counts["bob"] == 1 and counts["alice"] == 2


async def test_the_migration_counts_the_wins_already_kept(chat: Chat) -> None:
    """Upgrading from 0007: each member's count is the number of wins in their journal,
    so the next /win gets the next number."""
    await pair_up(chat, "alice", "bob")
    for n in range(3):
        await chat.say("bob", f"/win {n}")
    await chat.say("alice", "/win mine")
    async with chat.database.engine.begin() as conn:
        await conn.run_sync(lambda c: command.downgrade(_alembic_config(c), "0007"))
    async with chat.database.engine.begin() as conn:
        await conn.run_sync(lambda c: command.upgrade(_alembic_config(c), "head"))
    await chat.database.dispose()  # nothing cached from the old columns
    assert "(win #4)" in await chat.say("bob", "/win after the upgrade")
    assert "(win #2)" in await chat.say("alice", "/win after the upgrade")


def _statements_of(chat: Chat) -> tuple[list[str], Any]:
    """The statements run until the returned function is called, besides BEGIN and
    COMMIT."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if statement.split(None, 1)[0].upper() not in ("BEGIN", "COMMIT"):
            statements.append(statement)

    engine = chat.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    return statements, lambda: event.remove(engine, "before_cursor_execute", record)


def _kinds(statements: list[str]) -> list[str]:
    """``INSERT wins``, ``UPDATE members``...: each statement's verb and first table."""
    kinds = []
    for statement in statements:
        verb = statement.split(None, 1)[0].upper()
        table = re.search(r"\b(?:FROM|INTO|UPDATE)\s+(\w+)", statement)
        kind = f"{verb} {table.group(1) if table else '?'}"
        main = re.search(r"\)\s*(INSERT INTO|UPDATE|SELECT|DELETE FROM)\s+(\w+)", statement)
        if verb == "WITH" and main and table:
            # A statement with a data-modifying CTE: "INSERT wins, UPDATE members".
            kind = f"{main.group(1).split()[0]} {main.group(2)}, UPDATE {table.group(1)}"
        kinds.append(kind)
    return kinds


async def test_a_win_runs_on_the_event_loops_thread_and_a_mentor_command_does_not(
    chat: Chat,
) -> None:
    """SQLite (bot/storage/sqlite_driver.py): a /win is a brief unit of work, whose
    statements run on the event loop's thread, with no trip to aiosqlite's; a /mentor
    command, which may read a whole workspace (an admin's stats), goes to that thread."""
    if not chat.database.is_sqlite:
        pytest.skip("SQLite only")
    await pair_up(chat, "alice", "bob")
    win = CommandInvoked(user=chat.ref("bob"), command="win", text="on the loop")
    stats = CommandInvoked(user=chat.ref("bob"), command="mentor", text="status")
    for event_, on_thread in ((win, False), (stats, True)):
        with trips_to_sqlite() as trips:
            await chat.engine.handle(event_)
        assert trips.count >= 2
        assert (trips.on_thread == trips.count) is on_thread, (event_.command, trips)
        assert trips.on_thread in (0, trips.count)
    assert await _stored(chat) == ["on the loop"]


async def test_a_win_takes_a_fixed_number_of_statements(chat: Chat) -> None:
    """The hot path (issue 16): the look-up, the win returning the partners, the kept
    count and the outbox rows for all partners in one INSERT; no statement per partner,
    no count of the journal. PostgreSQL counts up and writes the partners' news in the
    win's INSERT (data-modifying CTEs); SQLite, which has none, counts up by a trigger
    on the win's INSERT and writes the news in one INSERT, both going with the COMMIT."""
    for partner in ("alice", "carol", "dave"):
        await pair_up(chat, partner, "bob")
    await chat.say("bob", "/win the first, which reaches a milestone")
    statements, stop = _statements_of(chat)
    win = CommandInvoked(user=chat.ref("bob"), user_name="Bob", command="win", text="second")
    with trips_per_event(chat) as trips:
        try:
            effects = await chat.engine.handle(win)  # the event alone, not its delivery
        finally:
            stop()
    [reply] = effects
    assert isinstance(reply, ReplyEphemeral)
    assert reply.content.text.startswith("Saved to your journal (win #2) and shared with ")
    counting = _win_counting(chat)
    news = ["INSERT outbox"] if chat.database.is_sqlite else []
    assert _kinds(statements) == [*_win_look_up(chat), *counting, *news], statements
    assert not any("from wins" in s.lower() for s in statements)  # kept, not counted
    if chat.database.is_sqlite:
        # BEGIN with the look-up; the win, its count and its news with the COMMIT.
        assert trips == [2]
    await chat.deliver()
    for partner in ("alice", "carol", "dave"):
        assert [dm for dm in chat.dms(partner) if "shared a win: second" in dm] == [
            "<@bob> shared a win: second"
        ]


async def test_a_win_with_its_delivery_key_takes_four_statements_at_most(chat: Chat) -> None:
    """Goal 1 of issue 16 as the platforms send a /win: with the delivery key every Slack
    command and Discord interaction carries, which the event claims. PostgreSQL: the
    look-up with the claim, and the win with its count and news. SQLite: the look-up
    (which reads whether the key was claimed), the win (counted up by a trigger,
    migration 0009; its row holds the key, which is the claim, migration 0010) and the
    news. A /win that reaches a milestone: one statement more on SQLite, four.
    PostgreSQL: a keyed /win is one statement, with no BEGIN and no COMMIT, also bob's
    first, whose milestone is celebrated in DMs (the workspace's shout-out tip went with
    alice's), and his second (tests/test_wins_at_once.py); counted as the driver sends
    them, since it goes past SQLAlchemy's cursor. The usual way's four for a milestone
    on PostgreSQL: ``test_a_win_reaching_a_milestone_takes_one_statement_more``."""
    for partner in ("alice", "carol"):
        await pair_up(chat, partner, "bob")
    await chat.say("alice", "/win mine first (the workspace's shout-out tip goes with it)")
    counts = []
    for n, text in enumerate(["the first, which reaches a milestone", "second"], start=1):
        statements, stop = _statements_of(chat)
        win = CommandInvoked(user=chat.ref("bob"), command="win", text=text, event_key=f"c:{n}")
        try:
            with sent_to_postgres() as sent:
                assert f"(win #{n})" in _answer(await chat.engine.handle(win))
        finally:
            stop()
        if chat.database.is_sqlite:
            counts.append(len(statements))
        else:
            counts.append(len(work_sent(sent)))
            assert "BEGIN" not in " ".join(sent), sent
        if chat.database.is_sqlite:
            milestone = ["INSERT milestones"] if n == 1 else []
            assert _kinds(statements) == [
                *_win_look_up(chat),
                "INSERT wins",
                *milestone,
                "INSERT outbox",
            ], statements
            assert "handled_events" not in " ".join(statements[1:]), statements
        assert await chat.engine.handle(win) == []  # the repeat: claimed
    assert counts == ([4, 3] if chat.database.is_sqlite else [1, 1]), counts
    stored = await _stored(chat)
    assert stored[1:] == ["the first, which reaches a milestone", "second"]
    async with chat.database.transaction() as session:
        keys = (await session.execute(select(Win.delivery_key).order_by(Win.id))).scalars()
        assert list(keys) == [None, "c:1", "c:2"]  # kept on both databases
    async with chat.database.transaction() as session:
        count = await session.scalar(
            select(Member.wins_count).where(Member.external_id == chat.ref("bob").user_id)
        )
    assert count == 2


def _win_counting(chat: Chat) -> list[str]:
    """A ``/win``'s INSERT and its counting up: on PostgreSQL one statement (a
    data-modifying CTE); on SQLite the INSERT, which a trigger counts up (migration
    0009)."""
    return ["INSERT wins"] if chat.database.is_sqlite else ["INSERT wins, UPDATE members"]


def _win_look_up(chat: Chat) -> list[str]:
    """A ``/win``'s look-up: on SQLite it reads the partners too (bot/turn.py), and its
    first FROM is theirs."""
    return ["SELECT pairs"] if chat.database.is_sqlite else ["SELECT workspaces"]


async def test_a_win_reaching_a_milestone_takes_one_statement_more(chat: Chat) -> None:
    """The milestone, written celebrated; the partners already known, and the owner's
    DM in the same outbox INSERT as the partners' news with the celebration joined."""
    for partner in ("alice", "carol", "dave"):
        await pair_up(chat, partner, "bob")
    await chat.say("alice", "/win mine first (the workspace's shout-out tip goes with it)")
    statements, stop = _statements_of(chat)
    try:
        await chat.say("bob", "/win my first")
    finally:
        stop()
    counting = _win_counting(chat)
    assert _kinds(statements)[: len(counting) + 3] == [
        *_win_look_up(chat),
        *counting,
        "INSERT milestones",
        "INSERT outbox",
    ], statements
    assert "UPDATE milestones" not in _kinds(statements)
    async with chat.database.transaction() as session:
        reached = (
            await session.execute(select(Milestone).where(Milestone.code == "wins-1"))
        ).scalars()
        assert {m.celebrated_in for m in reached} == {"dm"}
    assert "reached a milestone: *First win*" in chat.dms("carol")[-1]
    assert "shared a win: my first" in chat.dms("carol")[-1]


async def test_a_delivery_key_is_claimed_with_the_look_up_and_a_repeat_changes_nothing(
    chat: Chat,
) -> None:
    """A platform's delivery id (a retried Slack request, a replayed Discord event) is
    claimed in the event's transaction: on PostgreSQL in the look-up's own statement
    (a data-modifying CTE); on SQLite the look-up reads whether it was claimed before,
    under the write lock BEGIN IMMEDIATE took, and the claim's INSERT goes to SQLite with
    the event's next statement: no trip to SQLite's thread of its own. The repeat saves
    nothing and answers nothing, also when it is the workspace's very first event
    (claimed after the workspace is made) and from another workspace with the same key
    (its own claim)."""
    first = CommandInvoked(user=chat.ref("zoe"), command="win", text="first", event_key="k1")
    assert "win #1" in _answer(await chat.engine.handle(first))  # a new workspace
    assert await chat.engine.handle(first) == []
    # alice's first win is her workspace's first milestone, which tells of the shout-out
    # channel: the usual way on PostgreSQL too (not one statement, bot/wins.py).
    hers = Chat(chat.database, chat.clock, workspace="T3")
    await hers.say("alice", "/mentor status")
    statements, stop = _statements_of(chat)
    win = CommandInvoked(user=hers.ref("alice"), command="win", text="keyed", event_key="k2")
    with trips_per_event(hers) as trips:
        try:
            assert "win #1" in _answer(await hers.engine.handle(win))
        finally:
            stop()
    claims = [s for s in statements if "handled_events" in s]
    if chat.database.is_sqlite:
        # The win's row is the claim (its key is unique): no claim of its own.
        assert _kinds(statements)[:2] == [*_win_look_up(chat), "INSERT wins"]
        assert "NOT (EXISTS (SELECT handled_events.id" in statements[0]
        assert "wins.delivery_key = ?" in statements[0]
        assert claims == statements[:1], statements
        # BEGIN and the look-up; the milestone (a first win), with the win and its count;
        # and the COMMIT. One trip more: the workspace's shout-out tip marked told (its
        # first milestone), and alice has no partner to send news to.
        assert _kinds(statements)[2:] == ["INSERT milestones", "UPDATE workspaces"]
        assert trips == [4]
    else:
        assert claims == [statements[0]], statements
        assert " ".join(statements[0].split()).startswith(
            "WITH claimed AS (INSERT INTO handled_events"
        )
    assert await hers.engine.handle(win) == []
    other = Chat(chat.database, chat.clock, workspace="T2")
    again = CommandInvoked(user=other.ref("alice"), command="win", text="there", event_key="k2")
    assert "win #1" in _answer(await other.engine.handle(again))
    assert sorted(await _stored(chat)) == ["first", "keyed", "there"]


def _answer(effects: list[Any]) -> str:
    [text] = [e.content.text for e in effects if isinstance(e, ReplyEphemeral)]
    return str(text)


async def test_a_win_whose_key_was_claimed_before_is_not_saved_again(chat: Chat) -> None:
    """A /win whose key ``handled_events`` holds (every keyed /win's claim was there
    before migration 0010, and PostgreSQL's still is) is a repeat on both databases."""
    await chat.say("alice", "/mentor status")
    async with chat.database.transaction() as session:
        alice = await session.scalar(
            select(Member).where(Member.external_id == chat.ref("alice").user_id)
        )
        assert alice is not None
        now = chat.clock.now()
        session.add(HandledEvent(workspace_id=alice.workspace_id, key="old:1", created_at=now))
    old = CommandInvoked(user=chat.ref("alice"), command="win", text="again", event_key="old:1")
    assert await chat.engine.handle(old) == []
    assert await _stored(chat) == []
    assert "(win #1)" in await chat.say("alice", "/win the first")


async def test_a_win_look_up_leaves_its_claim_to_the_win_or_to_write_claim(chat: Chat) -> None:
    """SQLite: a /win's look-up finds its key unclaimed and writes no claim
    (``claim_pending``); the win's row claims it, and an event that saves no win has it
    written by ``Turn.write_claim`` (the Engine calls it after every event). PostgreSQL
    claims it in the look-up itself."""
    await chat.say("alice", "/mentor status")
    ref = chat.ref("alice")
    async with chat.database.transaction() as session:
        found = await get_workspace_and_member(
            session, ref, chat.clock.now(), event_key="w:1", win_partners=True
        )
        assert found.claimed is True
        assert found.claim_pending is chat.database.is_sqlite
        turn = Turn(
            session=session,
            now=chat.clock.now(),
            workspace=found.workspace,
            actor=found.member,
            actor_ref=ref,
            actor_is_admin=False,
            event_key="w:1",
            claim_pending=found.claim_pending,
        )
        await turn.write_claim()
        assert not turn.claim_pending
    async with chat.database.transaction() as session:
        assert list((await session.execute(select(HandledEvent.key))).scalars()) == ["w:1"]
        again = await get_workspace_and_member(
            session, ref, chat.clock.now(), event_key="w:1", win_partners=True
        )
        assert again.claimed is False
        assert not again.claim_pending


async def test_one_delivery_handled_twice_at_the_same_moment_is_saved_once(chat: Chat) -> None:
    """Two instances given the same delivery at once (a Slack retry landing elsewhere),
    each with its own engine and connections: on PostgreSQL the unique key decides inside
    the look-up's statement; on SQLite the second waits for the first's write lock and
    its look-up then finds the key claimed. One answers, one does not."""
    await chat.say("alice", "/mentor status")
    elsewhere = Database(chat.database.url)
    other = Engine(elsewhere, chat.clock)
    try:
        for key in ("k9", "k10"):
            twice = CommandInvoked(user=chat.ref("alice"), command="win", text=key, event_key=key)
            answers = await asyncio.gather(chat.engine.handle(twice), other.handle(twice))
            assert sorted(len(a) for a in answers) == [0, 1]
    finally:
        await elsewhere.dispose()
    assert await _stored(chat) == ["k9", "k10"]
    assert "(win #3)" in await chat.say("alice", "/win counted once each")
