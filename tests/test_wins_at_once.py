"""A keyed /win is one statement on PostgreSQL (bot/wins.py ``share_at_once``, issue 16
goals 2 and 5), with a count milestone it reaches when that is celebrated in DMs: the
same rows, messages and answer as the usual way, and the usual way whenever it would do
more. Someone the process met is found by their ids, anyone else by their platform's. On
SQLite every /win goes the usual way, so these tests hold there too and pin that nothing
else changed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.engine import Engine
from bot.events import CommandInvoked
from bot.storage.database import Database
from bot.storage.models import (
    HandledEvent,
    Member,
    Milestone,
    OutboxMessage,
    Pair,
    Win,
    Workspace,
)
from bot.unreachable import UNREACHABLE_NOTE
from tests.conversation import Chat, pair_up
from tests.statements import handled_with_statements, sent_to_postgres, work_sent

ONE_STATEMENT = "WITH counted AS (UPDATE members"
# The usual way's first statement on PostgreSQL (its win's statement also starts as
# ONE_STATEMENT does).
BEGIN = "BEGIN ISOLATION LEVEL READ COMMITTED;"


def _win(chat: Chat, user: str, text: str, key: str, **more: Any) -> CommandInvoked:
    return CommandInvoked(
        user=chat.ref(user),
        user_name=more.pop("user_name", user.title()),
        command="win",
        text=text,
        event_key=key,
        **more,
    )


def _answer(effects: list[Any]) -> str:
    [effect] = effects
    return str(effect.content.text)


async def _handled(chat: Chat, event: CommandInvoked) -> tuple[str, list[str]]:
    """The answer to ``event`` and the statements it sent to PostgreSQL (none recorded
    on SQLite); its news delivered after."""
    effects, sent = await handled_with_statements(chat, event)
    return _answer(effects), sent


def _at_once(chat: Chat, sent: list[str]) -> bool:
    """Whether the event went as one statement (never on SQLite)."""
    if chat.database.is_sqlite:
        assert sent == []
        return False
    return len(sent) == 1 and sent[0].startswith(ONE_STATEMENT)


def _by_ref(chat: Chat, sent: list[str]) -> bool:
    """Whether the event went as one statement that found the person by their
    platform's ids (someone this process has not met)."""
    return _at_once(chat, sent) and "FROM workspaces AS their_workspace" in sent[0]


def _celebrated_in_dms(chat: Chat, answer: str, count: int, text: str, title: str) -> None:
    """bob's win ``text``, his ``count``th, reached ``title``, celebrated in DMs: in his
    answer, and in the one message alice got, her news with the milestone joined."""
    assert answer == (
        f"Saved to your journal (win #{count}) and shared with <@alice>. 🎉\n\n"
        f"🎉 You reached a milestone: *{title}*! I told <@alice> too."
    )
    assert [dm for dm in chat.dms("alice") if text in dm] == [
        f"<@bob> shared a win: {text}\n\n🎉 <@bob> reached a milestone: *{title}*"
    ]


async def _hint_told(chat: Chat) -> None:
    """The workspace's first milestone (carol's, unpaired) told of the shout-out
    channel: the usual way's, as it adds the hint to the celebration."""
    answer = await chat.say("carol", "/win the workspace's first")
    assert "no shout-out channel is set up yet" in answer


async def _rows(database: Database, model: Any, *where: Any) -> list[Any]:
    """The rows in the order they were written (by primary key): without an ORDER BY,
    PostgreSQL may return them in any order, and a row rewritten moves."""
    order = model.__table__.primary_key.columns
    async with database.transaction() as session:
        found = await session.execute(select(model).where(*where).order_by(*order))
        return list(found.scalars())


async def test_a_keyed_win_of_someone_known_is_one_statement_with_its_news(chat: Chat) -> None:
    for partner in ("alice", "carol"):
        await pair_up(chat, partner, "bob")
    first, sent = await _handled(chat, _win(chat, "bob", "the first", "k1"))
    assert first.startswith("Saved to your journal (win #1)")
    # The workspace's first milestone tells of the shout-out channel: the usual way.
    assert "no shout-out channel is set up yet" in first
    assert not _at_once(chat, sent)
    second, sent = await _handled(chat, _win(chat, "bob", "the second", "k2"))
    assert second == "Saved to your journal (win #2) and shared with <@alice> and <@carol>. 🎉"
    # PostgreSQL: no BEGIN, no look-up, no COMMIT: the claim, the win, its count and
    # the news in one statement, a transaction of its own.
    assert _at_once(chat, sent) is not chat.database.is_sqlite, sent
    for partner in ("alice", "carol"):
        assert [dm for dm in chat.dms(partner) if "the second" in dm] == [
            "<@bob> shared a win: the second"
        ]
    # Delivered again (a retried request): nothing more, on either way.
    assert await chat.engine.handle(_win(chat, "bob", "the second", "k2")) == []
    assert [w.text for w in await _rows(chat.database, Win)] == ["the first", "the second"]
    [bob] = await _rows(chat.database, Member, Member.external_id == "bob")
    assert bob.wins_count == 2


async def test_a_win_at_once_leaves_the_rows_the_usual_way_leaves(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await _handled(chat, _win(chat, "bob", "the first", "k1"))
    quick, sent = await _handled(chat, _win(chat, "bob", "the second", "k2"))
    assert _at_once(chat, sent) is not chat.database.is_sqlite, sent
    # A new name to write: the usual way.
    usual, sent = await _handled(chat, _win(chat, "bob", "the third", "k3", user_name="Robert"))
    assert not _at_once(chat, sent)
    assert quick == "Saved to your journal (win #2) and shared with <@alice>. 🎉"
    assert usual == "Saved to your journal (win #3) and shared with <@alice>. 🎉"

    def row(record: Any, *names: str) -> tuple[Any, ...]:
        return tuple(getattr(record, name) for name in names)

    second, third = await _rows(chat.database, Win, Win.delivery_key.in_(["k2", "k3"]))
    same = ("workspace_id", "member_id", "created_at")
    assert row(second, *same) == row(third, *same)
    assert (second.text, second.delivery_key) == ("the second", "k2")
    claims = await _rows(chat.database, HandledEvent, HandledEvent.key.in_(["k2", "k3"]))
    # PostgreSQL claims a /win's key in handled_events too, either way; SQLite's win row
    # is its claim.
    assert sorted(c.key for c in claims) == ([] if chat.database.is_sqlite else ["k2", "k3"])
    if claims:
        assert row(claims[0], "workspace_id", "created_at") == row(
            claims[1], "workspace_id", "created_at"
        )
    news = [
        m
        for m in await _rows(chat.database, OutboxMessage, OutboxMessage.target_id == "alice")
        if "shared a win: the " in m.content["text"]
    ][-2:]
    assert [m.content["text"] for m in news] == [
        "<@bob> shared a win: the second",
        "<@bob> shared a win: the third",
    ]
    kept = ("workspace_id", "target_kind", "status", "attempts", "last_error", "created_at")
    assert row(news[0], *kept) == row(news[1], *kept)
    assert {**news[0].content, "text": ""} == {**news[1].content, "text": ""}
    [bob] = await _rows(chat.database, Member, Member.external_id == "bob")
    assert bob.wins_count == 3


async def _known_bob(chat: Chat) -> None:
    """alice mentors bob, and bob shared a first win through this engine."""
    await pair_up(chat, "alice", "bob")
    await _handled(chat, _win(chat, "bob", "the first", "k0"))


async def test_a_win_reaching_a_milestone_is_one_statement_celebrated_as_usual(
    chat: Chat,
) -> None:
    """bob's tenth win reaches a milestone celebrated in DMs (no shout-out channel, its
    hint told at his first): on PostgreSQL one statement writes the milestone and joins
    it to alice's news, and bob's answer says it, as the usual way (SQLite) does."""
    await _known_bob(chat)
    for n in range(2, 10):
        answer, sent = await _handled(chat, _win(chat, "bob", f"win {n}", f"k{n}"))
        assert answer.startswith(f"Saved to your journal (win #{n})")
        assert _at_once(chat, sent) is not chat.database.is_sqlite
    answer, sent = await _handled(chat, _win(chat, "bob", "the tenth", "k10"))
    assert _at_once(chat, sent) is not chat.database.is_sqlite, sent
    _celebrated_in_dms(chat, answer, 10, "the tenth", "10 wins")
    assert not [dm for dm in chat.dms("bob") if "10 wins" in dm]
    first, tenth = await _rows(chat.database, Milestone)
    columns = ("workspace_id", "member_id", "pair_id", "kind", "number", "completed_by_id")
    assert [getattr(tenth, c) for c in columns] == [getattr(first, c) for c in columns]
    assert (tenth.code, tenth.title, tenth.celebrated_in) == ("wins-10", "10 wins", "dm")
    assert tenth.created_at == tenth.completed_at == tenth.celebrated_at == chat.clock.now()
    # Delivered again: nothing more.
    assert await chat.engine.handle(_win(chat, "bob", "the tenth", "k10")) == []
    assert len(await _rows(chat.database, Milestone)) == 2
    answer, sent = await _handled(chat, _win(chat, "bob", "the eleventh", "k11"))
    assert answer.startswith("Saved to your journal (win #11)")
    assert _at_once(chat, sent) is not chat.database.is_sqlite


async def test_a_first_win_of_someone_not_met_is_one_statement(chat: Chat) -> None:
    """A process that has not met bob (just started, or another instance) finds him by
    his platform's ids in the same statement, his first win's milestone included."""
    await pair_up(chat, "alice", "bob")
    await _hint_told(chat)
    answer, sent = await _handled(chat, _win(chat, "bob", "the first", "k1"))
    assert _by_ref(chat, sent) is not chat.database.is_sqlite, sent
    _celebrated_in_dms(chat, answer, 1, "the first", "First win")
    [bob] = await _rows(chat.database, Member, Member.external_id == "bob")
    assert bob.wins_count == 1
    [reached] = await _rows(chat.database, Milestone, Milestone.member_id == bob.id)
    assert (reached.code, reached.title, reached.celebrated_in) == ("wins-1", "First win", "dm")
    # Met now: his next is found by his ids.
    answer, sent = await _handled(chat, _win(chat, "bob", "the second", "k2"))
    assert answer == "Saved to your journal (win #2) and shared with <@alice>. 🎉"
    assert _at_once(chat, sent) is not chat.database.is_sqlite
    assert not _by_ref(chat, sent)
    # Someone with no member row (never seen anywhere): the statement finds nobody, the
    # usual way makes them.
    answer, sent = await _handled(chat, _win(chat, "dora", "a first ever", "k3"))
    assert answer.startswith("Saved to your journal (win #1). You're not in a mentoring pair")
    assert "You reached a milestone: *First win*!" in answer
    assert not _at_once(chat, sent)


@pytest.mark.parametrize("consent", [None, True, False])
async def test_a_milestone_celebrated_otherwise_goes_the_usual_way(
    chat: Chat, consent: bool | None
) -> None:
    """With a shout-out channel, bob's first win asks his consent (unasked), or is
    shouted out in the channel (given): the usual way's. Refused, it is celebrated in
    DMs, and at once."""
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor config shoutouts #wins")
    async with chat.database.transaction() as session:
        await session.execute(
            update(Member).where(Member.external_id == "bob").values(shoutout_consent=consent)
        )
    answer, sent = await _handled(chat, _win(chat, "bob", "the first", "k1"))
    assert answer.startswith("Saved to your journal (win #1) and shared with <@alice>. 🎉")
    assert _at_once(chat, sent) is (consent is False and not chat.database.is_sqlite), sent
    news = "<@bob> shared a win: the first"
    headline = "🎉 <@bob> reached a milestone: *First win*"
    if consent is None:
        assert answer == "Saved to your journal (win #1) and shared with <@alice>. 🎉"
        assert "May I celebrate it with a shout-out in <#wins>?" in chat.dms("bob")[-1]
        assert chat.dms("alice")[-1] == news
    elif consent:
        # His reply says where it went: a mention in a channel he is not in reaches no one.
        assert answer == (
            "Saved to your journal (win #1) and shared with <@alice>. 🎉\n\n"
            "🎉 You reached a milestone: *First win*! I shouted it out in <#wins> and told "
            "<@alice>."
        )
        assert chat.posts("wins") == [headline]
        assert chat.dms("alice")[-1] == f"{news}\n\n{headline} (celebrated in <#wins>)"
    else:
        assert answer.endswith("\n\n🎉 You reached a milestone: *First win*! I told <@alice> too.")
        assert chat.dms("alice")[-1] == f"{news}\n\n{headline}"
    if consent is not True:
        assert chat.posts("wins") == []
    [reached] = await _rows(chat.database, Milestone)
    assert reached.code == "wins-1"


async def test_a_milestone_of_someone_met_shouted_out_is_not_tried_at_once(chat: Chat) -> None:
    """bob agreed to shout-outs: his first win went the usual way (to the channel), and
    the engine remembers his milestones are celebrated so. His tenth goes the usual way
    without trying the statement, which would only decline it: four statements, not
    five (goal 1 of issue 16)."""
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor config shoutouts #wins")
    async with chat.database.transaction() as session:
        await session.execute(
            update(Member).where(Member.external_id == "bob").values(shoutout_consent=True)
        )
    for n in range(1, 10):
        _answer_n, sent = await _handled(chat, _win(chat, "bob", f"win {n}", f"k{n}"))
        assert _at_once(chat, sent) is (n > 1 and not chat.database.is_sqlite), (n, sent)
    answer, sent = await _handled(chat, _win(chat, "bob", "the tenth", "k10"))
    assert answer == (
        "Saved to your journal (win #10) and shared with <@alice>. 🎉\n\n"
        "🎉 You reached a milestone: *10 wins*! I shouted it out in <#wins> and told <@alice>."
    )
    if not chat.database.is_sqlite:
        assert sent[0].startswith("BEGIN"), sent
        assert len(work_sent(sent)) == 4, sent
    assert chat.posts("wins")[-1] == "🎉 <@bob> reached a milestone: *10 wins*"


async def test_a_milestone_reached_before_is_not_celebrated_again(chat: Chat) -> None:
    """bob's count back at none, yet his first win's milestone kept (no command does it;
    the milestones' unique key guards it all the same): his next win breaks that key in
    the statement, which writes nothing, and the usual way saves the win uncelebrated."""
    await pair_up(chat, "alice", "bob")
    await _hint_told(chat)
    await _handled(chat, _win(chat, "bob", "the first", "k1"))
    async with chat.database.transaction() as session:
        await session.execute(
            update(Member).where(Member.external_id == "bob").values(wins_count=0)
        )
    restarted = Chat(chat.database, chat.clock, recorder=chat.recorder)
    answer, sent = await _handled(restarted, _win(chat, "bob", "again", "k2"))
    assert answer == "Saved to your journal (win #1) and shared with <@alice>. 🎉"
    if not chat.database.is_sqlite:
        assert sent[0].startswith(ONE_STATEMENT), sent  # tried, refused, the usual way
        assert len(work_sent(sent)) == 5, sent
    assert [dm for dm in chat.dms("alice") if "again" in dm] == ["<@bob> shared a win: again"]
    [bob] = await _rows(chat.database, Member, Member.external_id == "bob")
    assert bob.wins_count == 1
    reached = await _rows(chat.database, Milestone, Milestone.member_id == bob.id)
    assert [m.code for m in reached] == ["wins-1"]


async def test_a_milestone_another_instance_brought_near_is_reached(chat: Chat) -> None:
    """This engine last saw bob at eight wins; another instance (or the usual way
    elsewhere) counted his ninth. His tenth here is tried at once, as this engine
    thinks it his ninth: the statement finds the count in the row, declines, and the
    usual way reaches the milestone, once."""
    await _known_bob(chat)
    for n in range(2, 9):
        _answer_n, sent = await _handled(chat, _win(chat, "bob", f"win {n}", f"k{n}"))
        assert _at_once(chat, sent) is not chat.database.is_sqlite
    other = Chat(chat.database, chat.clock, recorder=chat.recorder)
    ninth, _sent = await _handled(other, _win(chat, "bob", "the ninth", "k9"))
    assert ninth.startswith("Saved to your journal (win #9)")
    answer, sent = await _handled(chat, _win(chat, "bob", "the tenth", "k10"))
    assert "You reached a milestone: *10 wins*" in answer
    assert answer.startswith("Saved to your journal (win #10)")
    if not chat.database.is_sqlite:
        assert sent[0].startswith(ONE_STATEMENT), sent  # tried, declined, then the usual way
        assert len(work_sent(sent)) == 5, sent
    codes = [m.code for m in await _rows(chat.database, Milestone)]
    assert sorted(codes) == ["wins-1", "wins-10"]
    [bob] = await _rows(chat.database, Member, Member.external_id == "bob")
    assert bob.wins_count == 10
    # Known again at ten: the eleventh is one statement.
    answer, sent = await _handled(chat, _win(chat, "bob", "the eleventh", "k11"))
    assert answer.startswith("Saved to your journal (win #11)")
    assert _at_once(chat, sent) is not chat.database.is_sqlite


@pytest.mark.parametrize(
    "said",
    [
        {"user_name": "Robert"},  # a new name is written
        {"user_is_admin": True},  # so is being an admin
        {"user_timezone": "Europe/Paris"},  # and a first timezone
    ],
)
async def test_a_win_that_changes_who_they_are_goes_the_usual_way(
    chat: Chat, said: dict[str, Any]
) -> None:
    await _known_bob(chat)
    answer, sent = await _handled(chat, _win(chat, "bob", "the second", "k2", **dict(said)))
    assert answer.startswith("Saved to your journal (win #2)")
    assert not _at_once(chat, sent)
    [bob] = await _rows(chat.database, Member, Member.external_id == "bob")
    name, value = next(iter(said.items()))
    stored = {"user_name": "display_name", "user_is_admin": "is_admin", "user_timezone": "timezone"}
    assert getattr(bob, stored[name]) == value
    # Told once, the next one is at once again.
    _, sent = await _handled(chat, _win(chat, "bob", "the third", "k3", **dict(said)))
    assert _at_once(chat, sent) is not chat.database.is_sqlite


async def test_a_win_of_someone_whose_dms_stopped_goes_the_usual_way(chat: Chat) -> None:
    await _known_bob(chat)
    async with chat.database.transaction() as session:
        await session.execute(
            update(Member).where(Member.external_id == "bob").values(dm_blocked_at=chat.clock.now())
        )
    answer, sent = await _handled(chat, _win(chat, "bob", "the second", "k2"))
    assert not _at_once(chat, sent)
    assert answer.startswith(UNREACHABLE_NOTE)
    [bob] = await _rows(chat.database, Member, Member.external_id == "bob")
    assert bob.dm_blocked_at is None


async def test_a_win_in_a_workspace_that_stopped_delivery_goes_the_usual_way(chat: Chat) -> None:
    await _known_bob(chat)
    async with chat.database.transaction() as session:
        await session.execute(update(Workspace).values(delivery_stopped_at=chat.clock.now()))
    answer, sent = await _handled(chat, _win(chat, "bob", "the second", "k2"))
    assert not _at_once(chat, sent)
    assert answer.startswith("Saved to your journal (win #2)")
    [news] = [
        m
        for m in await _rows(chat.database, OutboxMessage, OutboxMessage.target_id == "alice")
        if "the second" in m.content["text"]
    ]
    assert (news.status, news.last_error) == ("failed", "workspace unreachable")


async def test_a_win_whose_partner_gets_news_in_batches_goes_the_usual_way(chat: Chat) -> None:
    """alice in five pairs gets her news in batches: bob's win is tried, declined, and
    goes the usual way, which the engine remembers: his next goes there without the
    try. Once alice is in four pairs, his next /win the usual way sees it, and the one
    after is one statement again."""
    await _known_bob(chat)
    for mentee in ("cy", "di", "ed", "flo"):
        await pair_up(chat, "alice", mentee)  # alice is in five pairs now
    answer, sent = await _handled(chat, _win(chat, "bob", "the second", "k2"))
    assert not _at_once(chat, sent)
    if not chat.database.is_sqlite:
        assert sent[0].startswith(ONE_STATEMENT), sent  # tried, declined
    assert answer == "Saved to your journal (win #2) and shared with <@alice>. 🎉"
    assert "<@bob> shared a win: the second" in chat.dms("alice")[-1]
    answer, sent = await _handled(chat, _win(chat, "bob", "the third", "k3"))
    assert answer == "Saved to your journal (win #3) and shared with <@alice>. 🎉"
    assert sent[:1] == ([] if chat.database.is_sqlite else [BEGIN]), sent  # not tried
    async with chat.database.transaction() as session:
        cy = select(Member.id).where(Member.external_id == "cy").scalar_subquery()
        await session.execute(update(Pair).where(Pair.mentee_id == cy).values(state="ended"))
    _answer4, sent = await _handled(chat, _win(chat, "bob", "the fourth", "k4"))
    assert sent[:1] == ([] if chat.database.is_sqlite else [BEGIN]), sent
    answer, sent = await _handled(chat, _win(chat, "bob", "the fifth", "k5"))
    assert answer == "Saved to your journal (win #5) and shared with <@alice>. 🎉"
    assert _at_once(chat, sent) is not chat.database.is_sqlite, sent
    assert [dm for dm in chat.dms("alice") if "the fifth" in dm] == [
        "<@bob> shared a win: the fifth"
    ]


async def test_a_win_that_is_not_a_win_goes_the_usual_way(chat: Chat) -> None:
    """An empty /win is explained; it saves nothing either way."""
    await _known_bob(chat)
    answer, sent = await _handled(chat, _win(chat, "bob", "  ", "k2"))
    assert not _at_once(chat, sent)
    assert "Tell me what went well" in answer
    assert [w.text for w in await _rows(chat.database, Win)] == ["the first"]


async def test_a_forgotten_person_is_not_found_at_once(chat: Chat) -> None:
    """Forgetting bob (another instance may do it) leaves this engine's memory of him
    stale: his next /win finds no row of his, goes the usual way, and starts again."""
    await _known_bob(chat)
    await chat.say("bob", "/mentor forget")
    assert "deleted everything" in await chat.click("bob", "Delete everything")
    answer, sent = await _handled(chat, _win(chat, "bob", "after", "k2"))
    assert not _at_once(chat, sent)
    assert answer.startswith("Saved to your journal (win #1)")
    answer, sent = await _handled(chat, _win(chat, "bob", "after that", "k3"))
    assert answer.startswith("Saved to your journal (win #2)")
    assert _at_once(chat, sent) is not chat.database.is_sqlite


async def test_one_delivery_at_once_in_two_instances_is_saved_once(chat: Chat) -> None:
    """Two instances that both know alice get the same delivery at the same moment:
    one saves it; the other's statement breaks the claim's unique key (or finds it
    claimed), writes nothing, and its usual way finds the key claimed."""
    await chat.say("alice", "/win one")
    await chat.say("alice", "/mentor status")
    elsewhere = Database(chat.database.url)
    other = Engine(elsewhere, chat.clock, admin_user_ids={"alice"})
    try:
        await chat.engine.handle(_win(chat, "alice", "here", "w1"))
        await other.handle(_win(chat, "alice", "there", "w2"))
        for key in ("w3", "w4", "w5"):
            twice = _win(chat, "alice", key, key)
            with sent_to_postgres() as sent:
                answers = await asyncio.gather(chat.engine.handle(twice), other.handle(twice))
            assert sorted(len(a) for a in answers) == [0, 1], answers
            # Both tried it at once (one statement each) on PostgreSQL.
            tried = [s for s in sent if " ".join(s.split()).startswith(ONE_STATEMENT)]
            assert len(tried) == (0 if chat.database.is_sqlite else 2), sent
    finally:
        await elsewhere.dispose()
    texts = [w.text for w in await _rows(chat.database, Win)]
    assert texts == ["one", "here", "there", "w3", "w4", "w5"]
    [alice] = await _rows(chat.database, Member, Member.external_id == "alice")
    assert alice.wins_count == 6


async def test_the_people_shared_with_most_lately_are_the_ones_kept(
    chat: Chat, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With room for two, bob and carol known, bob's win at once makes him the newest:
    dave's first win lets carol go, not bob, whose next win is still found by his ids;
    carol's is found by her platform's."""
    monkeypatch.setattr("bot.engine.SHARERS_KEPT", 2)
    for mentee in ("bob", "carol", "dave"):
        await pair_up(chat, "alice", mentee)
    await _handled(chat, _win(chat, "bob", "bob's first", "b1"))
    await _handled(chat, _win(chat, "carol", "carol's first", "c1"))
    _answer_b, sent = await _handled(chat, _win(chat, "bob", "bob's second", "b2"))
    assert _at_once(chat, sent) is not chat.database.is_sqlite
    await _handled(chat, _win(chat, "dave", "dave's first", "d1"))
    _answer_b, sent = await _handled(chat, _win(chat, "bob", "bob's third", "b3"))
    assert _at_once(chat, sent) is not chat.database.is_sqlite
    assert not _by_ref(chat, sent)
    _answer_c, sent = await _handled(chat, _win(chat, "carol", "carol's second", "c2"))
    assert _by_ref(chat, sent) is not chat.database.is_sqlite  # let go


async def test_a_restarted_process_remembers_who_shared_lately(chat: Chat) -> None:
    """A process that starts again (a new engine on the same database) reads who shared
    the latest wins: on PostgreSQL bob's first /win after it finds him by his ids, as his
    later ones did before the restart. One that does not read them finds him by his
    platform's. Nothing is read on SQLite, where every /win goes the usual way."""
    await _known_bob(chat)
    cold = Chat(chat.database, chat.clock, recorder=chat.recorder)
    answer, sent = await _handled(cold, _win(chat, "bob", "the second", "k2"))
    assert answer == "Saved to your journal (win #2) and shared with <@alice>. 🎉"
    assert _by_ref(cold, sent) is not chat.database.is_sqlite
    restarted = Chat(chat.database, chat.clock, recorder=chat.recorder)
    remembered = await restarted.engine.remember_recent_sharers()
    assert remembered == (0 if chat.database.is_sqlite else 1)
    answer, sent = await _handled(restarted, _win(chat, "bob", "the third", "k3"))
    assert answer == "Saved to your journal (win #3) and shared with <@alice>. 🎉"
    assert _at_once(restarted, sent) is not chat.database.is_sqlite, sent
    assert not _by_ref(restarted, sent)
    assert [dm for dm in chat.dms("alice") if "the third" in dm] == [
        "<@bob> shared a win: the third"
    ]
    texts = [w.text for w in await _rows(chat.database, Win)]
    assert texts == ["the first", "the second", "the third"]
    [bob] = await _rows(chat.database, Member, Member.external_id == "bob")
    assert bob.wins_count == 3


async def test_a_start_remembers_the_latest_sharers_and_no_more_than_kept(
    chat: Chat, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With room for two: dave and bob shared the latest wins, carol an older one. A new
    process remembers dave and bob (their next /win found by their ids on PostgreSQL),
    not carol, whose next /win finds her by her platform's."""
    for mentee in ("bob", "carol", "dave"):
        await pair_up(chat, "alice", mentee)
    for who, key in (("bob", "b1"), ("carol", "c1"), ("dave", "d1"), ("bob", "b2")):
        await _handled(chat, _win(chat, who, f"{who}'s {key}", key))
    monkeypatch.setattr("bot.engine.SHARERS_KEPT", 2)
    restarted = Chat(chat.database, chat.clock, recorder=chat.recorder)
    remembered = await restarted.engine.remember_recent_sharers()
    assert remembered == (0 if chat.database.is_sqlite else 2)
    for who, key, count, kept in (
        ("dave", "d2", 2, True),
        ("bob", "b3", 3, True),
        ("carol", "c2", 2, False),
    ):
        answer, sent = await _handled(restarted, _win(chat, who, f"{who}'s {key}", key))
        assert answer.startswith(f"Saved to your journal (win #{count})"), answer
        assert _at_once(restarted, sent) is not chat.database.is_sqlite, (who, sent)
        assert _by_ref(restarted, sent) is (not kept and not chat.database.is_sqlite), who
