"""Check-ins, as conversations: prompts on the cadence, answers shared, nudges, streaks."""

import asyncio
import logging
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Select, delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import due
from bot.due_report import DueReport
from bot.engine import Engine
from bot.flows import checkin as checkin_flow
from bot.flows.checkin import BUSY_CLOSE_RETRY, _upsert, spread_offset, take_share_turn
from bot.flows.sessions import FlowKind
from bot.storage.database import Database
from bot.storage.models import (
    Checkin,
    CheckinAnswer,
    CheckinState,
    Feedback,
    FlowSession,
    Member,
    Milestone,
    OutboxMessage,
    OutboxStatus,
    Pair,
    PairState,
    Workspace,
)
from bot.turn import Turn
from tests.conversation import Chat, pair_up
from tests.statements import listening, statement_kind, statements_per_event, trips_per_event

# The default cadence after pairing on Wednesday 2026-11-25: Mondays at 10:00 UTC.
FIRST_CHECKIN = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


async def _checkins(chat: Chat) -> list[Checkin]:
    async with chat.database.transaction() as session:
        return list((await session.execute(select(Checkin).order_by(Checkin.id))).scalars())


async def _pair(chat: Chat) -> Pair:
    async with chat.database.transaction() as session:
        return (await session.execute(select(Pair))).scalar_one()


async def _answers(chat: Chat, user: str) -> CheckinAnswer:
    """The user's answers to their pair's newest check-in: all empty when they have not
    answered (the row is made with a member's first answer, not with the prompt)."""
    async with chat.database.transaction() as session:
        member = (
            await session.execute(select(Member).where(Member.external_id == user))
        ).scalar_one()
        newest = (
            await session.execute(
                select(Checkin.id)
                .join(Pair, Pair.id == Checkin.pair_id)
                .where(or_(Pair.mentor_id == member.id, Pair.mentee_id == member.id))
                .order_by(Checkin.id.desc())
                .limit(1)
            )
        ).scalar_one()
        found = (
            await session.execute(
                select(CheckinAnswer).where(
                    CheckinAnswer.checkin_id == newest, CheckinAnswer.member_id == member.id
                )
            )
        ).scalar_one_or_none()
        return found or CheckinAnswer(checkin_id=newest, member_id=member.id)


async def to_first_checkin(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.advance(FIRST_CHECKIN - chat.clock.now())


async def answer_all(chat: Chat, user: str, mood: str = "Great 🙌") -> None:
    await chat.click(user, mood)
    await chat.say(user, f"{user}: shipped the parser")
    await chat.say(user, f"{user}: naming things")
    await chat.say(user, f"{user}: the roadmap")


async def test_both_are_prompted_at_the_agreed_time_with_their_wins(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", "/win fixed the flaky test")
    await chat.advance(FIRST_CHECKIN - chat.clock.now() - timedelta(minutes=1))
    assert not any("Time for your check-in" in dm for dm in chat.dms("bob"))
    await chat.advance(timedelta(minutes=1))
    prompt = chat.dms("bob")[-1]
    assert prompt.startswith("👋 Time for your check-in with <@alice>.")
    assert "Your wins since last time:\n• fixed the flaky test" in prompt
    assert "How did it go since last time?" in prompt
    assert [b.label for b in chat.buttons("bob")] == [
        "Great 🙌",
        "OK 🙂",
        "Rough 😮‍💨",
        "Answer in a form",
        "Skip",
    ]
    # The partner's wins too (shared with them as they came), to talk about.
    theirs = chat.dms("alice")[-1]
    assert theirs.startswith("👋 Time for your check-in with <@bob>.\n<@bob>'s wins since last")
    assert "<@bob>'s wins since last time:\n• fixed the flaky test\nHow did it go" in theirs
    assert "Your wins" not in theirs
    (checkin,) = await _checkins(chat)
    assert checkin.due_at == FIRST_CHECKIN and checkin.state == CheckinState.OPEN
    # The next one is a week later, in local time.
    assert (await _pair(chat)).next_checkin_at == FIRST_CHECKIN + timedelta(days=7)


async def test_a_prompt_lists_a_few_of_the_partners_wins_and_says_there_are_more(
    chat: Chat,
) -> None:
    await pair_up(chat, "alice", "bob")
    for n in range(1, 8):
        await chat.say("bob", f"/win win {n}")
    await chat.advance(FIRST_CHECKIN - chat.clock.now())
    listed = "\n".join(f"• win {n}" for n in range(7, 2, -1))
    more = "• … and more in `/mentor journal` <@bob>"
    assert f"<@bob>'s wins since last time:\n{listed}\n{more}\nHow did" in chat.dms("alice")[-1]
    assert (
        f"Your wins since last time:\n{listed}\n• … and more in `/mentor journal`"
        in (chat.dms("bob")[-1])
    )


async def test_a_prompt_lists_only_the_wins_shared_in_its_own_pair(chat: Chat) -> None:
    """bob is in two pairs due at the same moment: each prompt lists his wins since its
    own pair's start. alice, his mentor since Thursday, is not shown the win he shared
    with carol before; carol, and bob's own prompt with her, are."""
    await pair_up(chat, "carol", "bob")
    await chat.say("bob", "/win told to carol only")
    await chat.advance(timedelta(days=1))
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", "/win told to both")
    await chat.advance(FIRST_CHECKIN - chat.clock.now())

    def prompt(user: str, partner: str) -> str:
        opening = f"👋 Time for your check-in with <@{partner}>."
        return next(dm for dm in reversed(chat.dms(user)) if dm.startswith(opening))

    assert "<@bob>'s wins since last time:\n• told to both\nHow did" in prompt("alice", "bob")
    assert "<@bob>'s wins since last time:\n• told to both\n• told to carol only\n" in (
        prompt("carol", "bob")
    )
    assert "Your wins since last time:\n• told to both\nHow did" in prompt("bob", "alice")
    assert "Your wins since last time:\n• told to both\n• told to carol only\n" in (
        prompt("bob", "carol")
    )


async def test_answers_are_shared_once_both_have_answered(chat: Chat) -> None:
    await to_first_checkin(chat)
    await answer_all(chat, "alice")
    assert not any("check-in answers" in dm for dm in chat.dms("bob"))
    await chat.click("bob", "Rough 😮‍💨")
    assert chat.dms("bob")[-1] == "What moved forward since last time?"
    await chat.say("bob", "not much")
    await chat.click("bob", "Skip")  # what is hard: skipped
    assert chat.dms("bob")[-1] == "What would you like to bring to your next conversation?"
    answer = await chat.say("bob", "how to say no")
    assert answer == ""  # one event, one message: the thanks is in the DM below

    shared_with_bob = [dm for dm in chat.recorder.seen if dm.user == "bob"][-1].content
    assert shared_with_bob.text == "Thanks! You've both answered. 📋 <@alice>'s check-in answers:"
    assert [(f.label, f.value) for f in shared_with_bob.fields] == [
        ("How it went", "Great 🙌"),
        ("Moved forward", "alice: shipped the parser"),
        ("Hard right now", "alice: naming things"),
        ("For next time", "alice: the roadmap"),
    ]
    shared_with_alice = [dm for dm in chat.recorder.seen if dm.user == "alice"][-1].content
    assert [(f.label, f.value) for f in shared_with_alice.fields] == [
        ("How it went", "Rough 😮‍💨"),
        ("Moved forward", "not much"),
        ("Hard right now", "(skipped)"),
        ("For next time", "how to say no"),
    ]
    (checkin,) = await _checkins(chat)
    assert checkin.state == CheckinState.SHARED and checkin.closes_at is None
    assert (await _pair(chat)).streak == 1


async def test_answering_out_of_order_and_double_clicks(chat: Chat) -> None:
    await to_first_checkin(chat)
    prompt_buttons = chat.buttons("alice")
    await chat.click("alice", "OK 🙂")
    await chat.say("alice", "progress")
    # The mood can still be changed from the first message; the question stays.
    great = next(b for b in prompt_buttons if b.label == "Great 🙌")
    await chat.press("alice", great)
    assert (await _answers(chat, "alice")).mood == "great"
    assert chat.dms("alice")[-1] == "What is hard right now?"
    # The first message's Skip belongs to a question already answered.
    skip_mood = next(b for b in prompt_buttons if b.label == "Skip")
    assert "already past that question" in await chat.press("alice", skip_mood)
    skip_hard = next(b for b in chat.buttons("alice") if b.label == "Skip")
    await chat.press("alice", skip_hard)
    # Pressed again, that [Skip] belongs to a question already skipped.
    assert "already past that question" in await chat.press("alice", skip_hard)
    assert chat.dms("alice")[-1] == "What would you like to bring to your next conversation?"


async def test_an_answer_row_is_made_with_the_first_answer_and_only_once(chat: Chat) -> None:
    await to_first_checkin(chat)
    assert await _answer_rows(chat) == []  # prompted, not answered: no row yet
    await chat.click("bob", "Great 🙌")
    await chat.say("bob", "a first step")
    await chat.say("bob", "time")
    # Each answer found the row the first one made.
    assert await _answer_rows(chat) == [("bob", "great", "a first step", "time")]


async def _answer_rows(chat: Chat) -> list[tuple[str, str | None, str | None, str | None]]:
    async with chat.database.transaction() as session:
        query = (
            select(
                Member.external_id,
                CheckinAnswer.mood,
                CheckinAnswer.progress,
                CheckinAnswer.challenge,
            )
            .join(Member, CheckinAnswer.member_id == Member.id)
            .order_by(CheckinAnswer.id)
        )
        return [
            (who, mood, progress, hard)
            for who, mood, progress, hard in await session.execute(query)
        ]


async def test_someone_else_cannot_answer(chat: Chat) -> None:
    await to_first_checkin(chat)
    (great, *_) = chat.buttons("bob")
    assert "That question was for <@bob>" in await chat.press("alice", great)
    assert (await _answers(chat, "bob")).mood is None


async def test_the_last_answer_ends_the_conversation_it_answers(chat: Chat) -> None:
    """Its flow is written ended at the answer's moment, with nothing due (on PostgreSQL
    in the answer's own statement): no nudge, no question, and it is no longer open."""
    await to_first_checkin(chat)
    await chat.advance(timedelta(minutes=5))
    await answer_all(chat, "alice")
    async with chat.database.transaction() as session:
        member = select(Member.id).where(Member.external_id == "alice").scalar_subquery()
        (flow,) = (
            await session.execute(
                select(FlowSession).where(
                    FlowSession.member_id == member, FlowSession.kind == FlowKind.CHECKIN
                )
            )
        ).scalars()
    assert (flow.state, flow.ended_at, flow.due_at) == ("done", chat.clock.now(), None)
    assert flow.updated_at == chat.clock.now()
    assert (await _answers(chat, "alice")).answered_at == chat.clock.now()


async def _pass_statements(chat: Chat, later: timedelta) -> tuple[DueReport, Counter[str]]:
    """The dispatch pass ``later`` from now, and the kinds of statement it ran."""
    chat.clock.advance(later)
    statements: Counter[str] = Counter()

    def record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        statements[statement_kind(statement)] += 1

    with listening(chat.database, "before_cursor_execute", record):
        report = await chat.engine.run_due(chat.clock.now())
    await chat.deliver()
    return report, statements


COUPLES = (("alice", "bob"), ("carol", "dave"), ("erin", "frank"))


async def _three_pairs_at_first_checkin(chat: Chat) -> None:
    """``COUPLES`` paired, their first check-ins open (all at ``FIRST_CHECKIN``)."""
    for mentor, mentee in COUPLES:
        await pair_up(chat, mentor, mentee)
    await chat.advance(FIRST_CHECKIN - chat.clock.now())


async def _pass_failing_for_dave(
    chat: Chat, caplog: pytest.LogCaptureFixture, later: timedelta
) -> DueReport:
    """The dispatch pass ``later`` from now, after dave's timezone became one no zone
    database knows (stored by an older version, say), so anything told to him at a
    local time fails; the dispatch pass's errors are logged to ``caplog``."""
    async with chat.database.transaction() as session:
        await session.execute(
            update(Member).where(Member.external_id == "dave").values(timezone="Mars/Olympus")
        )
    with caplog.at_level(logging.ERROR, logger="bot.due"):
        report, _statements = await _pass_statements(chat, later)
    return report


async def test_passes_of_nudges_and_closes_look_up_nothing_per_item(chat: Chat) -> None:
    """The claim of the check-in nudges brings each flow's pair and the member's partner
    as plain rows, and the claim of the check-ins closing each one's pair and mentor:
    the nudges are their flows' UPDATE (one for all asked at the same moment) and their
    DMs, written together, and the closes read their check-ins whole and their open
    conversations once for all, with no look-up of a pair or a member of their own
    (three pairs here)."""
    await _three_pairs_at_first_checkin(chat)

    report, statements = await _pass_statements(chat, timedelta(hours=25))
    assert report.timers == 6
    assert statements == {
        "SELECT pairs": 2,  # what is due (the earliest moment of each job), before and after
        "SELECT flow_sessions": 1,  # the nudges due, with their pairs and partners
        "SELECT workspaces": 1,  # their workspaces, once for all
        "SAVEPOINT": 1,  # all six in one
        "UPDATE flow_sessions": 1,  # their flows, all asked again at the same moment
        # Their DMs: one statement of six rows (on PostgreSQL arrays, on SQLite the
        # driver's executemany).
        "INSERT outbox": 1,
        "RELEASE": 1,
    }
    for mentor, mentee in COUPLES:
        assert f"gentle nudge: your check-in with <@{mentee}>" in chat.dms(mentor)[-1]
        assert f"gentle nudge: your check-in with <@{mentor}>" in chat.dms(mentee)[-1]

    report, statements = await _pass_statements(chat, timedelta(hours=24))
    assert report.checkins_closed == 3
    assert (statements["SAVEPOINT"], statements["RELEASE"]) == (1, 1)  # all three in one
    assert {kind: n for kind, n in statements.items() if kind.startswith("SELECT")} == {
        "SELECT pairs": 2,  # what is due, before and after
        "SELECT checkins": 1,  # the check-ins closing, with their pairs and mentors
        # Their conversations left open (held first, on PostgreSQL), to end; then the
        # check-ins whole (pairs, members, answers), to share: each once for all three.
        "SELECT flow_sessions": 1,
        "SELECT feedback": 1,
    }
    for mentor, mentee in COUPLES:
        assert f"Neither you nor <@{mentee}> answered the check-in of " in chat.dms(mentor)[-1]
        assert f"Neither you nor <@{mentor}> answered the check-in of " in chat.dms(mentee)[-1]


class _RolledBack(Exception):
    pass


async def _nudges_written(session: AsyncSession) -> tuple[set[tuple[Any, ...]], set[Any]]:
    """The DMs queued (to whom, what, when, how) and every check-in flow's timer and
    last question's moment."""
    messages = await session.execute(
        select(
            OutboxMessage.workspace_id,
            OutboxMessage.target_kind,
            OutboxMessage.target_id,
            OutboxMessage.content,
            OutboxMessage.status,
            OutboxMessage.last_error,
            OutboxMessage.attempts,
            OutboxMessage.next_attempt_at,
            OutboxMessage.created_at,
        ).where(OutboxMessage.status != OutboxStatus.SENT.value)
    )
    flows = await session.execute(
        select(FlowSession.id, FlowSession.state, FlowSession.due_at, FlowSession.updated_at)
    )
    return {(*row[:3], repr(row[3]), *row[4:]) for row in messages}, {tuple(r) for r in flows}


@pytest.mark.parametrize("stopped", [False, True], ids=["delivering", "delivery-stopped"])
async def test_the_passes_nudges_are_what_each_nudge_makes(
    chat: Chat, monkeypatch: pytest.MonkeyPatch, stopped: bool
) -> None:
    """The pass nudges check-in conversations in plain rows (``nudge_due``), and writes
    what ``nudge`` writes for each the usual way (a turn each, its objects flushed):
    the same DMs (to whom, text and buttons, when, and kept as failed in a workspace
    that refused us) and the same flows (no longer due, asked again at the moment the
    DM may go). Among them: two whose quiet hours hold their DM till different
    mornings, one asked the second question, and one whose conversation ended while its
    timer was due (no DM)."""
    await _three_pairs_at_first_checkin(chat)
    await chat.click("carol", "Great 🙌")  # asked the next question; the others are not
    async with chat.database.transaction() as session:
        for user, zone in (("dave", "America/Los_Angeles"), ("erin", "Pacific/Auckland")):
            await session.execute(
                update(Member).where(Member.external_id == user).values(timezone=zone)
            )
        frank = select(Member.id).where(Member.external_id == "frank").scalar_subquery()
        await session.execute(
            update(FlowSession)
            .where(FlowSession.member_id == frank)
            .values(ended_at=chat.clock.now())
        )
        if stopped:
            await session.execute(update(Workspace).values(delivery_stopped_at=chat.clock.now()))
    await chat.deliver()
    chat.clock.advance(timedelta(hours=25))
    now = chat.clock.now()

    one_by_one: tuple[set[tuple[Any, ...]], set[Any]] | None = None
    with pytest.raises(_RolledBack):
        async with chat.database.transaction() as session:
            due_flows = await session.scalars(
                select(FlowSession).where(FlowSession.due_at <= now).order_by(FlowSession.id)
            )
            for flow in due_flows.all():
                workspace = await session.get_one(Workspace, flow.workspace_id)
                member = await session.get_one(Member, flow.member_id)
                await checkin_flow.nudge(Turn.on_behalf_of(session, now, workspace, member), flow)
            await session.flush()
            one_by_one = await _nudges_written(session)
            raise _RolledBack

    async def the_usual_way(*_: Any) -> None:
        raise AssertionError("the pass nudged a conversation the usual way")

    # The pass's own rows, not the timers' pass after it (which would write the same):
    # a nudge the usual way fails its batch, and then the count below.
    monkeypatch.setattr(checkin_flow, "nudge", the_usual_way)
    report = await chat.engine.run_due(now)
    assert report.timers == 6
    async with chat.database.transaction() as session:
        in_rows = await _nudges_written(session)
    assert one_by_one is not None
    assert in_rows == one_by_one
    messages, flows = in_rows
    assert len(messages) == 5  # frank's conversation ended: none for him
    assert all(due_at is None for _, _, due_at, _ in flows)
    assert len({at for *_, at, _ in messages}) == 3  # now, and two quiet hours' ends
    statuses = {status for _, _, _, _, status, *_ in messages}
    assert statuses == {OutboxStatus.FAILED.value if stopped else OutboxStatus.PENDING.value}


async def test_a_nudge_that_fails_costs_only_its_own(
    chat: Chat, caplog: pytest.LogCaptureFixture
) -> None:
    """The pass fires its timers together; when that fails, one by one, so the others
    are nudged and the failing one is logged and no longer due (it would block the
    queue)."""
    await _three_pairs_at_first_checkin(chat)
    # Working out dave's quiet hours fails, so the whole batch does, then his nudge alone.
    report = await _pass_failing_for_dave(chat, caplog, timedelta(hours=25))
    assert report.timers == 5
    # The nudges' batch in plain rows failed, then the timers' batch, then his alone.
    assert "6 check-in nudges together failed; trying them as timers" in caplog.text
    assert "6 timers together failed; trying one by one" in caplog.text
    assert "checkin timer for" in caplog.text
    for user in ("alice", "bob", "carol", "erin", "frank"):
        nudges = [dm for dm in chat.dms(user) if "gentle nudge" in dm]
        assert len(nudges) == 1, user
    assert not any("gentle nudge" in dm for dm in chat.dms("dave"))
    async with chat.database.transaction() as session:
        due = await session.scalars(
            select(FlowSession.due_at).where(FlowSession.due_at.is_not(None))
        )
        assert list(due) == []  # none left due, the failed one neither
    again = await chat.engine.run_due(chat.clock.now())
    assert again.timers == 0


async def test_a_close_that_fails_costs_only_its_own(
    chat: Chat, caplog: pytest.LogCaptureFixture
) -> None:
    """The pass closes its check-ins together; when that fails, one by one: the others
    are shared, and the failing one stays open, to be tried again an hour later."""
    await _three_pairs_at_first_checkin(chat)
    await chat.advance(timedelta(hours=25))  # nudged
    # Telling dave when the check-in was asked fails, so the whole batch does.
    report = await _pass_failing_for_dave(chat, caplog, timedelta(hours=24))
    assert report.checkins_closed == 2
    assert "3 check-ins closing together failed; trying one by one" in caplog.text
    assert "scheduled closing a check-in for" in caplog.text
    for mentor, mentee in (("alice", "bob"), ("erin", "frank")):
        assert f"Neither you nor <@{mentee}> answered the check-in of " in chat.dms(mentor)[-1]
        assert f"Neither you nor <@{mentor}> answered the check-in of " in chat.dms(mentee)[-1]
    assert not any("the check-in of" in dm for dm in chat.dms("carol") + chat.dms("dave"))
    async with chat.database.transaction() as session:
        # By pair (formed in turn: alice's, carol and dave's, erin's): the pass opens its
        # check-ins together, in no set order of their ids.
        query = select(Checkin.state, Checkin.closes_at).order_by(Checkin.pair_id)
        states = [tuple(row) for row in await session.execute(query)]
    later = chat.clock.now() + timedelta(hours=1)
    assert states == [("shared", None), ("open", later), ("shared", None)]


async def test_the_thanks_and_a_missed_check_in_are_told_in_the_pairs_zone(chat: Chat) -> None:
    """Neither person set a timezone of their own: the check-in's close and its missed
    note are told in the pair's zone, as its prompt and heads-up are, not in UTC."""
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor cadence weekly thu 17:00 Asia/Kolkata")
    due_at = (await _pair(chat)).next_checkin_at
    assert due_at is not None
    await chat.advance(due_at.replace(tzinfo=UTC) - chat.clock.now())
    await chat.click("alice", "Great 🙌")
    await chat.say("alice", "shipped the parser")
    await chat.say("alice", "naming things")
    # 17:00 in Kolkata is 11:30 UTC; the answers are shared 48 hours later.
    assert await chat.say("alice", "the roadmap") == (
        "Thanks! I'll share your answers with <@bob> once they've answered, "
        "or on Sat 28 Nov, 17:00 (Asia/Kolkata) at the latest."
    )
    await chat.advance(timedelta(hours=48))
    assert chat.dms("alice")[-1] == (
        "<@bob> didn't answer the check-in of Thu 26 Nov, 17:00 (Asia/Kolkata). Maybe say hello?"
    )


async def test_when_neither_answered_each_is_told_they_both_missed_it(chat: Chat) -> None:
    """Neither said a word: each hears that neither of them answered, not only that the
    partner didn't (which reads as blame to someone who missed it as well)."""
    await to_first_checkin(chat)
    await chat.advance(timedelta(hours=48))
    assert chat.dms("alice")[-1] == (
        "Neither you nor <@bob> answered the check-in of Mon 30 Nov, 10:00 (UTC). Maybe say hello?"
    )
    assert chat.dms("bob")[-1] == (
        "Neither you nor <@alice> answered the check-in of Mon 30 Nov, 10:00 (UTC). "
        "Maybe say hello?"
    )


async def test_one_nudge_after_a_day_then_answers_shared_at_48_hours(chat: Chat) -> None:
    await to_first_checkin(chat)
    await answer_all(chat, "alice")
    await chat.advance(timedelta(hours=24))
    nudges = [dm for dm in chat.dms("bob") if "gentle nudge" in dm]
    assert len(nudges) == 1 and "with <@alice> is still open" in nudges[0]
    assert not any("gentle nudge" in dm for dm in chat.dms("alice"))  # she answered
    await chat.advance(timedelta(hours=24))
    assert sum("gentle nudge" in dm for dm in chat.dms("bob")) == 1
    assert "<@bob> didn't answer the check-in of " in chat.dms("alice")[-1]
    assert "📋 <@alice>'s check-in answers:" in chat.dms("bob")
    (checkin,) = await _checkins(chat)
    assert checkin.state == CheckinState.SHARED
    assert (await _pair(chat)).streak == 0

    # Answering after the window: nothing is saved, and bob is told why.
    answer = await chat.click("bob", "Great 🙌")
    assert "That check-in has closed" in answer
    assert (await _answers(chat, "bob")).mood is None


async def test_partial_answers_are_shared_when_the_window_closes(chat: Chat) -> None:
    await to_first_checkin(chat)
    await answer_all(chat, "alice")
    await chat.click("bob", "OK 🙂")
    await chat.say("bob", "a bit")
    await chat.advance(timedelta(hours=48))
    shared = [s for s in chat.recorder.seen if s.user == "alice"][-1].content
    assert shared.text == "📋 <@bob>'s check-in answers:"
    assert [(f.label, f.value) for f in shared.fields][1:] == [
        ("Moved forward", "a bit"),
        # Bob stopped before these: alice is not told he skipped them.
        ("Hard right now", "(no answer)"),
        ("For next time", "(no answer)"),
    ]
    # The window closed: a late reply belongs to no conversation any more, and bob is
    # told it came too late for the check-in.
    assert (await chat.say("bob", "late thoughts")).startswith(
        "Your check-in with <@alice> closed on Wed 2 Dec, 10:00 (UTC), so I didn't save that."
    )
    assert (await _answers(chat, "bob")).challenge is None


async def test_a_dm_after_a_check_in_closed_unfinished_says_it_came_too_late(
    chat: Chat,
) -> None:
    """Typed after the 48 hours, a reply was most likely a late answer: it is not saved,
    and the person reads when the check-in closed (in their own time) and how to tell
    the partner now. Not after a check-in they finished, not a week on, not once the
    pair has ended (its end said what became of the check-in)."""
    await chat.say("bob", "/mentor config timezone Asia/Tokyo")
    await to_first_checkin(chat)
    await answer_all(chat, "alice")
    await chat.click("bob", "OK 🙂")
    await chat.advance(timedelta(hours=48))
    before = await _answers(chat, "bob")
    assert await chat.say("bob", "Fixed the flaky test") == (
        "Your check-in with <@alice> closed on Wed 2 Dec, 19:00 (Asia/Tokyo), so I didn't "
        "save that. To tell them now, `/mentor checkin` starts a new check-in; or write to "
        "them directly."
    )
    after = await _answers(chat, "bob")
    assert (after.mood, after.progress) == (before.mood, None)
    # alice finished hers: nothing came too late from her.
    assert "not waiting for an answer" in await chat.say("alice", "one more thing")
    # A week on (paused, so no check-in came meanwhile), it is not what a reply meant.
    await chat.say("bob", "/mentor pause 3w")
    await chat.advance(timedelta(days=6, hours=23))
    assert "closed on Wed 2 Dec" in await chat.say("bob", "still there?")
    await chat.advance(timedelta(hours=2))
    assert "not waiting for an answer" in await chat.say("bob", "still there?")
    # The hint works: a check-in started now takes the words.
    await chat.say("bob", "/mentor resume")
    assert "Check-in started" in await chat.say("bob", "/mentor checkin")
    await chat.click("bob", "OK 🙂")
    await chat.say("bob", "Fixed the flaky test")
    assert (await _answers(chat, "bob")).progress == "Fixed the flaky test"


async def test_a_dm_after_the_pair_ended_does_not_offer_a_new_check_in(chat: Chat) -> None:
    await to_first_checkin(chat)
    await chat.click("bob", "OK 🙂")
    await chat.say("bob", "/mentor end")
    await chat.click("bob", "End pair")
    await chat.click("bob", "Skip")  # the look back at the pair: both questions
    await chat.click("bob", "Skip")
    said = await chat.say("bob", "Fixed the flaky test")
    assert "not waiting for an answer" in said and "checkin" not in said


async def test_a_restart_in_the_middle_continues_the_conversation(chat: Chat) -> None:
    await to_first_checkin(chat)
    await chat.click("bob", "Great 🙌")
    await chat.say("bob", "before the restart")
    # A new engine on the same database: nothing about the conversation lived in memory.
    restarted = Chat(chat.database, chat.clock, admins=frozenset({"alice"}))
    await restarted.say("bob", "after the restart")
    assert restarted.dms("bob") == ["What would you like to bring to your next conversation?"]
    await restarted.say("bob", "next time")
    answers = await _answers(chat, "bob")
    assert (answers.progress, answers.challenge, answers.next_topic) == (
        "before the restart",
        "after the restart",
        "next time",
    )
    assert answers.answered_at is not None


async def test_skipping_the_last_question_thanks_as_a_typed_last_answer_does(chat: Chat) -> None:
    """[Skip] on the last question ends the check-in: the question is shown skipped and
    the person is told what happens to their answers, as after a typed last answer."""
    await to_first_checkin(chat)
    await chat.click("alice", "Great 🙌")
    await chat.say("alice", "the parser")
    await chat.say("alice", "estimates")
    answer = await chat.click("alice", "Skip")
    assert answer.startswith("What would you like to bring to your next conversation? (skipped)")
    assert "Thanks! I'll share your answers with <@bob> once they've answered" in answer
    answers = await _answers(chat, "alice")
    assert (answers.challenge, answers.next_topic) == ("estimates", None)
    assert answers.answered_at is not None


async def test_answering_in_a_form(chat: Chat) -> None:
    await to_first_checkin(chat)
    await chat.click("alice", "Answer in a form")
    form = chat.form("alice")
    assert [f.name for f in form.fields] == ["mood", "progress", "challenge", "next_topic"]
    answer = await chat.submit(
        "alice", mood="Great!", progress="📈 a lot", challenge="", next_topic="docs"
    )
    assert "I'll share your answers" in answer
    answers = await _answers(chat, "alice")
    assert (answers.mood, answers.progress, answers.challenge, answers.next_topic) == (
        "great",
        "📈 a lot",
        None,
        "docs",
    )
    assert answers.answered_at is not None
    # The form cannot be sent twice.
    assert "no longer open" in await chat.submit("alice", form.form_id, progress="again")


async def test_a_check_in_closed_by_the_pairs_end_says_so(chat: Chat) -> None:
    """alice ends the pair with the check-in open and her form of it open. A button
    pressed after that is told the pair ended (it was told "answers are shared after 48
    hours" and "your next check-in will come", neither true); the form sent is told it
    is no longer open. Nothing is saved."""
    await to_first_checkin(chat)
    await chat.click("alice", "Answer in a form")
    form = chat.form("alice")
    await chat.say("alice", "/mentor end")
    await chat.click("alice", "End pair")
    # (Each reply then says what a DM answers now: the look back the end began.)
    assert (await chat.click("bob", "Great 🙌")).startswith(
        "That check-in closed when your pair ended, so I didn't save this.\n"
    )
    # What the form held is given back: the form closed when it was sent.
    assert await chat.submit("alice", form.form_id, mood="ok", progress="shipped") == (
        "That form is no longer open, so nothing was saved.\nHere is what you wrote, to "
        "keep:\n\nok\n\nshipped"
    )
    for user in ("alice", "bob"):
        nothing = await _answers(chat, user)
        assert (nothing.mood, nothing.progress, nothing.answered_at) == (None, None, None)


async def test_a_form_sent_empty_saves_nothing_and_says_what_still_waits(chat: Chat) -> None:
    """Every field blank (Discord's modals and the console send that; Slack's modal
    refuses it first): nothing saved, nothing shared, and the check-in still waits,
    rather than "Thanks! I'll share your answers" with none (as a look back's form)."""
    await to_first_checkin(chat)
    await chat.click("alice", "Answer in a form")
    answer = await chat.submit("alice", mood=" ", progress="", challenge="", next_topic="")
    assert answer == (
        "Every answer was empty, so nothing was saved. Write at least one, or press Skip."
    )
    nothing = await _answers(chat, "alice")
    assert (nothing.mood, nothing.progress, nothing.answered_at) == (None, None, None)
    assert "I'll share your answers" in await chat.submit(
        "alice", chat.form("alice").form_id, mood="ok", progress="", challenge="", next_topic=""
    )


async def test_a_nudge_carries_the_same_ways_to_answer_as_the_prompt(chat: Chat) -> None:
    await to_first_checkin(chat)
    prompt = [b.label for b in chat.buttons("bob")]
    await chat.advance(timedelta(hours=24))
    assert "gentle nudge" in chat.dms("bob")[-1]
    assert [b.label for b in chat.buttons("bob")] == prompt
    assert "How did it go" in await chat.click("bob", "Rough 😮‍💨")
    assert (await _answers(chat, "bob")).mood == "rough"


async def test_one_over_long_form_answer_costs_only_itself(chat: Chat) -> None:
    await to_first_checkin(chat)
    await chat.click("alice", "Answer in a form")
    answer = await chat.submit(
        "alice", mood="ok", progress="p" * 3001, challenge="naming", next_topic="docs"
    )
    assert "Your answer to “What moved forward since last time?” is 3,001 characters" in answer
    assert "“progress”" not in answer
    answers = await _answers(chat, "alice")
    assert (answers.mood, answers.progress, answers.challenge, answers.next_topic) == (
        "ok",
        None,
        "naming",
        "docs",
    )
    assert answers.answered_at is None
    # Only that one is asked again: the reply finishes the check-in.
    assert "I'll share your answers" in await chat.say("alice", "the parser")
    answers = await _answers(chat, "alice")
    assert (answers.progress, answers.challenge, answers.next_topic) == (
        "the parser",
        "naming",
        "docs",
    )
    assert answers.answered_at is not None


async def test_a_form_after_typed_answers_shows_them_and_continues(chat: Chat) -> None:
    await to_first_checkin(chat)
    await chat.click("alice", "Great 🙌")
    await chat.say("alice", "shipped the parser")
    await chat.click("alice", "Skip")  # what is hard: skipped
    await chat.click("alice", "Answer in a form")  # the prompt's button, still live
    # The whole check-in, with what alice answered already filled in.
    assert [(f.name, f.initial) for f in chat.form("alice").fields] == [
        ("mood", "great"),
        ("progress", "shipped the parser"),
        ("challenge", None),
        ("next_topic", None),
    ]
    # The mood sent back as shown, the progress emptied: neither erases anything.
    await chat.submit("alice", mood="great", progress="", challenge="naming", next_topic="")
    answers = await _answers(chat, "alice")
    assert (answers.mood, answers.progress, answers.challenge, answers.next_topic) == (
        "great",
        "shipped the parser",
        "naming",
        None,
    )
    assert answers.answered_at is not None


async def test_an_answer_edited_in_the_form_replaces_it_once(chat: Chat) -> None:
    await to_first_checkin(chat)
    await chat.click("alice", "OK 🙂")
    await chat.say("alice", "shipped the parser")
    await chat.click("alice", "Answer in a form")
    await chat.submit(
        "alice", mood="ok", progress="shipped the parser and its tests", next_topic="docs"
    )
    answers = await _answers(chat, "alice")
    assert (answers.mood, answers.progress, answers.next_topic) == (
        "ok",
        "shipped the parser and its tests",
        "docs",
    )
    async with chat.database.transaction() as session:
        rows = await session.scalar(
            select(func.count())
            .select_from(CheckinAnswer)
            .where(CheckinAnswer.checkin_id == answers.checkin_id)
        )
    assert rows == 1  # alice's one row, bob has not answered
    await answer_all(chat, "bob")
    shared = [s.content for s in chat.recorder.seen if s.user == "bob" and s.kind == "dm"][-1]
    # bob finished it: thanked in the same DM
    assert shared.text == "Thanks! You've both answered. 📋 <@alice>'s check-in answers:"
    assert [f.value for f in shared.fields] == [
        "OK 🙂",
        "shipped the parser and its tests",
        "(skipped)",
        "docs",
    ]


async def test_a_form_left_as_shown_never_undoes_a_later_change(chat: Chat) -> None:
    await to_first_checkin(chat)
    await chat.click("alice", "Great 🙌")
    await chat.click("alice", "Answer in a form")
    assert chat.form("alice").fields[0].initial == "great"
    await chat.click("alice", "Rough 😮‍💨")  # the prompt's mood buttons, meanwhile
    await chat.submit("alice", mood="great", progress="the parser")  # the mood as shown
    answers = await _answers(chat, "alice")
    assert (answers.mood, answers.progress) == ("rough", "the parser")


async def test_an_over_long_edit_in_the_form_keeps_the_earlier_answer(chat: Chat) -> None:
    await to_first_checkin(chat)
    await chat.click("alice", "Great 🙌")
    await chat.say("alice", "shipped the parser")
    await chat.click("alice", "Answer in a form")
    answer = await chat.submit(
        "alice", mood="great", progress="p" * 3001, challenge="naming", next_topic="docs"
    )
    assert (
        "Your answer to “What moved forward since last time?” is 3,001 characters long; it "
        "can be up to 3,000, so that one was not saved (your earlier answer stays)."
    ) in answer
    answers = await _answers(chat, "alice")
    assert (answers.progress, answers.challenge, answers.next_topic) == (
        "shipped the parser",
        "naming",
        "docs",
    )
    assert "I'll share your answers" in await chat.say("alice", "the parser, shorter")
    assert (await _answers(chat, "alice")).progress == "the parser, shorter"


async def test_a_form_opened_before_a_typed_answer_never_erases_it(chat: Chat) -> None:
    await to_first_checkin(chat)
    await chat.click("alice", "Answer in a form")  # all four questions
    form = chat.form("alice")
    await chat.say("alice", "calm week")  # the mood, typed meanwhile
    answer = await chat.submit(
        "alice", form.form_id, mood="great", progress="the parser", challenge="", next_topic=""
    )
    assert "“How did it go since last time?” had an answer already" in answer
    # The form's words for it are given back: only the typed answer stays.
    assert (
        "not saved (your earlier answer stays).\nHere is what you wrote, to keep:\n\ngreat\n"
        in answer
    )
    answers = await _answers(chat, "alice")
    assert (answers.mood, answers.progress) == ("calm week", "the parser")


async def test_someone_elses_check_in_form_is_refused_by_name(chat: Chat) -> None:
    await to_first_checkin(chat)
    await chat.click("bob", "Answer in a form")
    form = chat.form("bob")
    answer = await chat.submit("alice", form.form_id, mood="", progress="mine now")
    assert answer == "That question was for <@bob>, so I left it alone."
    assert (await _answers(chat, "bob")).progress is None


async def test_a_streak_of_four_is_a_milestone_for_both(chat: Chat) -> None:
    await to_first_checkin(chat)
    for week in range(4):
        if week:
            await chat.advance(timedelta(days=7))
        await answer_all(chat, "alice")
        await answer_all(chat, "bob")
    assert (await _pair(chat)).streak == 4
    async with chat.database.transaction() as session:
        codes = list(
            (
                await session.execute(select(Milestone.code).where(Milestone.code.like("%streak%")))
            ).scalars()
        )
    assert codes == ["p1-streak-4", "p1-streak-4"]
    for user, partner in (("alice", "bob"), ("bob", "alice")):
        told = [dm for dm in chat.dms(user) if "4 check-ins in a row" in dm]
        assert len(told) == 1 and told[0].startswith(f"🎉 You and <@{partner}> reached"), told
        # One message with the answers that made the streak: its fields follow their intro.
        thanks = "Thanks! You've both answered. " if user == "bob" else ""  # bob finished
        assert told[0].endswith(f"\n\n{thanks}📋 <@{partner}>'s check-in answers:")
        assert chat.dms(user)[-1] == told[0]


async def test_checkin_now_and_not_twice(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    answer = await chat.say("bob", "/mentor checkin")
    assert "Check-in started" in answer
    assert chat.dms("bob")[-1].startswith("👋 Time for your check-in with <@alice>.")
    assert chat.dms("alice")[-1].startswith("👋 Time for your check-in with <@bob>.")
    assert "already open" in await chat.say("alice", "/mentor checkin")
    assert len(await _checkins(chat)) == 1
    # The scheduled one still comes on Monday.
    assert (await _pair(chat)).next_checkin_at == FIRST_CHECKIN


async def test_a_dm_with_no_open_conversation_is_explained(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    assert "not waiting for an answer" in await chat.say("bob", "are you there?")


async def test_prompts_due_together_are_spread_over_a_window(chat: Chat) -> None:
    for n in range(6):
        await pair_up(chat, f"mentor{n}", f"mentee{n}")
    window = timedelta(minutes=10)
    engine = Engine(chat.database, chat.clock, dispatch_spread=window)
    chat.clock.set(FIRST_CHECKIN)
    await engine.run_due()
    async with chat.database.transaction() as session:
        rows = list(
            (
                await session.execute(
                    select(OutboxMessage.target_id, OutboxMessage.next_attempt_at).where(
                        OutboxMessage.status == OutboxStatus.PENDING
                    )
                )
            ).all()
        )
    times = {target: at for target, at in rows}
    assert len(times) == 12
    assert all(FIRST_CHECKIN <= at < FIRST_CHECKIN + window for at in times.values())
    assert len(set(times.values())) == 6  # both members of a pair together; pairs apart
    for n in range(6):
        assert times[f"mentor{n}"] == times[f"mentee{n}"]
        offset = times[f"mentor{n}"] - FIRST_CHECKIN
        assert offset == spread_offset(n + 1, window)  # the same pair, the same offset


LOOK_UP = ["SELECT workspaces"]  # the workspace and the member who acted, in one query
# The next question asked: the flow moves on and the question is queued.
NEXT_QUESTION = ["UPDATE flow_sessions", "INSERT outbox"]
# PostgreSQL: an answer that completes a member's check-in takes its turn at sharing it.
SHARE_TURN = ["SELECT"]


async def test_an_answer_to_a_check_in_that_is_gone_is_not_saved_and_moves_nothing(
    chat: Chat,
) -> None:
    """The answer, its flow's next step and the DM asking the next question are written
    together (on PostgreSQL in one statement): when the check-in is gone, none is, and
    the person is told."""
    await to_first_checkin(chat)
    await chat.click("bob", "Great 🙌")
    assert chat.dms("bob")[-1].startswith("What moved forward")
    asked = len(chat.dms("bob"))
    async with chat.database.transaction() as session:
        bobs = (
            select(FlowSession)
            .join(Member, Member.id == FlowSession.member_id)
            .where(FlowSession.kind == "checkin", Member.external_id == "bob")
        )
        flow = (await session.execute(bobs)).scalar_one()
        assert flow.state == "progress"  # the next question, asked after the mood
        state = flow.state
        await session.execute(delete(CheckinAnswer))
        await session.execute(delete(Checkin))
    assert "so I didn't save this" in await chat.say("bob", "bob: shipped the parser")
    async with chat.database.transaction() as session:
        again = await session.get(FlowSession, flow.id)
        assert again is not None and again.state == state
        assert await session.scalar(select(func.count()).select_from(CheckinAnswer)) == 0
    await chat.deliver()
    assert len(chat.dms("bob")) == asked  # "What is hard right now?" was not asked


async def test_answers_in_replies_take_a_fixed_number_of_statements(chat: Chat) -> None:
    """The hot path (issue 16): a click or a reply writes the answer in one upsert; only
    the answer completing a check-in reads it whole (pair, members, both answers, the
    pair's waiting feedback question), in one query. Nothing per question or partner."""
    await to_first_checkin(chat)
    with statements_per_event(chat) as events, trips_per_event(chat) as trips:
        assert "How did it go" in await chat.click("bob", "Great 🙌")
        await chat.say("bob", "bob: shipped the parser")
        assert "(skipped)" in await chat.click("bob", "Skip")
        assert "I'll share your answers" in await chat.say("bob", "bob: the roadmap")
    if chat.database.is_sqlite:
        # Trips to aiosqlite's thread: BEGIN with the look-up; the answer; the COMMIT,
        # with the flow's move and the next question, deferred. The last answer the
        # same: it reads back whether the partner answered, and the flow's end and the
        # pair's stall check go with the COMMIT.
        assert trips == [3, 3, 3, 3]
    answer = ["INSERT checkin_answers"]  # INSERT ... ON CONFLICT DO UPDATE ... RETURNING
    # The answer, the flow's move on to the next question and the DM asking it; on
    # PostgreSQL one statement, ``WITH moved AS (UPDATE flow_sessions ...), asked AS
    # (INSERT INTO outbox ... FROM moved) INSERT INTO checkin_answers``.
    answer_and_next = (
        ["INSERT checkin_answers", *NEXT_QUESTION] if chat.database.is_sqlite else ["WITH"]
    )
    # The last answer, its partner still to answer: the flow done and the pair's stall
    # check (on PostgreSQL in the answer's statement, ``WITH moved AS (...), stall_checked
    # AS (UPDATE pairs ...) INSERT INTO checkin_answers``), and nothing read whole: the
    # answer's RETURNING says the partner has not answered and when the check-in closes.
    # On PostgreSQL it first takes its turn at sharing the check-in (``SELECT
    # pg_advisory_xact_lock``).
    answer_and_done = (
        [*answer, "UPDATE flow_sessions", "UPDATE pairs"]
        if chat.database.is_sqlite
        else [*SHARE_TURN, "WITH"]
    )
    # The look-up reads the flow a button names, or those waiting for a typed reply, in
    # the same statement.
    assert events == [
        LOOK_UP + answer_and_next,  # the mood button
        LOOK_UP + answer_and_next,  # a typed answer
        LOOK_UP + answer_and_next,  # [Skip]
        LOOK_UP + answer_and_done,
    ]
    await answer_all_counted_shares(chat)


async def answer_all_counted_shares(chat: Chat) -> None:
    """alice answers too: her last answer shares both, in a fixed number of statements."""
    await chat.click("alice", "OK 🙂")
    await chat.say("alice", "alice: reviews")
    await chat.say("alice", "alice: naming things")
    with statements_per_event(chat) as events:
        assert await chat.say("alice", "alice: the roadmap") == ""  # thanked in the DM
    [shares] = events
    # Both DMs in one INSERT (every event's messages are written together).
    dms = ["INSERT outbox"]
    written = ["UPDATE checkins", "UPDATE pairs"]
    # The flow waiting for the reply is read with the look-up; it ends in the answer's
    # statement on PostgreSQL.
    if chat.database.is_sqlite:
        read = ["INSERT checkin_answers", "SELECT feedback", "UPDATE flow_sessions"]
    else:
        read = [*SHARE_TURN, "WITH", "SELECT feedback"]
    assert sorted(shares) == sorted(LOOK_UP + read + written + dms), shares
    for reader, author in (("alice", "bob"), ("bob", "alice")):
        [said] = [s.content for s in chat.recorder.seen if s.user == reader][-1:]
        thanks = "Thanks! You've both answered. " if reader == "alice" else ""
        assert said.text == f"{thanks}📋 <@{author}>'s check-in answers:"
        assert said.fields[-1].value == f"{author}: the roadmap"
    assert (await _pair(chat)).streak == 1


async def test_the_last_answer_sets_the_pairs_stall_check(chat: Chat) -> None:
    """A member's last answer written, the pair can stall only on a feedback question
    still waiting for the mentor: 14 days after it was asked. The check is written with
    the answer (on PostgreSQL in its statement), whether the partner has answered yet or
    not (then it goes with the shared check-in's streak)."""
    await to_first_checkin(chat)
    assert (await _pair(chat)).stall_check_at is not None  # armed as the check-in opened
    await answer_all(chat, "bob")
    assert (await _pair(chat)).stall_check_at is None
    await answer_all(chat, "alice")
    assert (await _pair(chat)).stall_check_at is None

    await chat.say("bob", "/mentor feedback In Tuesday's demo, was the architecture part clear?")
    async with chat.database.transaction() as session:
        asked = (await session.execute(select(Feedback.asked_at))).scalar_one()
    assert asked is not None
    await chat.advance(FIRST_CHECKIN + timedelta(weeks=1) - chat.clock.now())
    await answer_all(chat, "bob")
    pair = await _pair(chat)
    assert pair.stall_check_at == asked + timedelta(days=14)
    assert pair.streak == 1
    await answer_all(chat, "alice")
    pair = await _pair(chat)
    assert pair.stall_check_at == asked + timedelta(days=14)
    assert pair.streak == 2


async def test_two_last_answers_at_once_share_the_check_in(chat: Chat) -> None:
    """Both members send their last answer at the same moment, to two instances: the
    second waits for the first to commit, finds its answer, and shares both then (not
    only at the 48-hour close). SQLite takes writers one at a time anyway."""
    if chat.database.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite takes writers in turn")
    await to_first_checkin(chat)
    for user in ("alice", "bob"):
        await chat.click(user, "Great 🙌")
        await chat.say(user, f"{user}: shipped the parser")
        await chat.say(user, f"{user}: naming things")
    [checkin] = await _checkins(chat)
    async with chat.database.transaction() as session:
        # Another instance is at alice's last answer: it has its turn at the check-in
        # and has written her answer, not committed yet.
        await take_share_turn(session, checkin.id)
        mine = (
            select(CheckinAnswer)
            .join(Member, Member.id == CheckinAnswer.member_id)
            .where(Member.external_id == "alice")
        )
        answer = (await session.execute(mine)).scalar_one()
        answer.next_topic, answer.answered_at = "alice: the roadmap", chat.clock.now()
        bobs = asyncio.create_task(chat.say("bob", "bob: the roadmap"))
        await asyncio.sleep(0.5)
        assert not bobs.done()
    assert await bobs == ""  # thanked in the DM with alice's answers
    for reader, author in (("bob", "alice"), ("alice", "bob")):
        [said] = [s.content for s in chat.recorder.seen if s.user == reader][-1:]
        thanks = "Thanks! You've both answered. " if reader == "bob" else ""
        assert said.text == f"{thanks}📋 <@{author}>'s check-in answers:"
        assert said.fields[-1].value == f"{author}: the roadmap"
    [checkin] = await _checkins(chat)
    assert checkin.state == CheckinState.SHARED
    assert (await _pair(chat)).streak == 1


def _open_conversation(user: str) -> Select[FlowSession]:
    return (
        select(FlowSession)
        .join(Member, Member.id == FlowSession.member_id)
        .where(
            FlowSession.kind == "checkin",
            FlowSession.ended_at.is_(None),
            Member.external_id == user,
        )
    )


def _bobs_open_conversation() -> Select[FlowSession]:
    return _open_conversation("bob")


async def _to_an_hour_before_the_close(chat: Chat) -> datetime:
    """Alice has answered all; bob the first two questions. When the check-in closes."""
    await to_first_checkin(chat)
    await answer_all(chat, "alice")
    await chat.click("bob", "OK 🙂")
    await chat.say("bob", "bob: a bit")
    await chat.advance(timedelta(hours=47))  # bob was nudged at 24 hours
    [checkin] = await _checkins(chat)
    assert checkin.state == CheckinState.OPEN and checkin.closes_at is not None
    return checkin.closes_at


def _shared_with_alice(chat: Chat) -> list[tuple[str, str]]:
    [said] = [s.content for s in chat.recorder.seen if s.user == "alice"][-1:]
    assert said.text == "📋 <@bob>'s check-in answers:"
    return [(f.label, f.value) for f in said.fields]


async def test_an_answer_that_comes_as_the_check_in_closes_is_refused_plainly(
    chat: Chat,
) -> None:
    """PostgreSQL: bob types an answer while another instance's dispatch pass is closing
    the check-in, not committed yet. His answer waits for the close, finds the check-in
    shared without it, and is not saved; he is told so. (It used to be saved into a
    check-in already shared: alice never saw it, and bob was asked the next question.)
    SQLite takes writers one at a time: the answer comes before the close or after it."""
    if chat.database.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite takes writers in turn")
    closes = await _to_an_hour_before_the_close(chat)
    chat.clock.set(closes)
    async with chat.database.transaction() as session:
        report = DueReport()
        await due._close_checkins(session, closes, due.BATCH, report)
        assert report.checkins_closed == 1
        bobs = asyncio.create_task(chat.say("bob", "bob: naming things"))
        await asyncio.sleep(0.5)
        assert not bobs.done()  # waiting for the close
    assert "so I didn't save this" in await bobs
    assert (await _answers(chat, "bob")).challenge is None
    [checkin] = await _checkins(chat)
    assert checkin.state == CheckinState.SHARED
    await chat.deliver()
    shared = _shared_with_alice(chat)
    assert ("Moved forward", "bob: a bit") in shared
    assert ("Hard right now", "(no answer)") in shared  # never asked: not "skipped"
    async with chat.database.transaction() as session:
        assert (await session.execute(_bobs_open_conversation())).first() is None
    assert "closed on Wed 2 Dec, 10:00 (UTC), so I didn't save that." in await chat.say(
        "bob", "bob: naming things"
    )


async def test_a_close_puts_itself_off_for_an_answer_in_flight(chat: Chat) -> None:
    """PostgreSQL: a click on bob's check-in is in flight when its 48 hours end: the
    click's look-up holds his conversation, and its answer would wait for the check-in
    the close holds. The close does not wait for the conversation (the two would wait
    for each other): it puts itself off a minute, and then shares what bob saved."""
    if chat.database.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite takes writers in turn")
    closes = await _to_an_hour_before_the_close(chat)
    chat.clock.set(closes)
    async with chat.database.transaction() as session:
        # As a click's look-up holds it (bot/turn.py).
        await session.execute(_bobs_open_conversation().with_for_update())
        passing = asyncio.create_task(chat.engine.run_due(closes))
        done, _ = await asyncio.wait({passing}, timeout=10)
        assert passing in done, "the pass waited for bob's conversation"
        assert passing.result().checkins_closed == 0
    [checkin] = await _checkins(chat)
    assert checkin.state == CheckinState.OPEN
    assert checkin.closes_at == closes + BUSY_CLOSE_RETRY
    # The click's answer is saved, as bob's next answer here is.
    assert await chat.say("bob", "bob: naming things") == ""  # the next question follows
    await chat.advance(BUSY_CLOSE_RETRY)
    [checkin] = await _checkins(chat)
    assert checkin.state == CheckinState.SHARED
    assert ("Hard right now", "bob: naming things") in _shared_with_alice(chat)


async def test_the_nudges_and_heads_ups_claims_pass_over_what_another_instance_holds(
    chat: Chat,
) -> None:
    """PostgreSQL: while another instance's pass holds one conversation's timer, this
    instance's pass nudges the other five and leaves that one; once it is let go, the
    next pass nudges it, once. The same for a pair's heads-up a week later: two of three
    pairs told, then the third. Nobody is told twice (the claims in plain rows are
    ``FOR UPDATE SKIP LOCKED``, as the timers' and the pairs' claims were)."""
    if chat.database.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite takes writers in turn")
    await _three_pairs_at_first_checkin(chat)
    other = Database(chat.database.url)
    try:
        chat.clock.advance(timedelta(hours=25))
        now = chat.clock.now()
        async with other.transaction() as session:
            due_first = select(FlowSession).where(FlowSession.due_at <= now)
            held = await session.scalar(
                due_first.order_by(FlowSession.id).limit(1).with_for_update()
            )
            assert held is not None
            # Passing over it, not waiting for it (that would wait for ever: it is let
            # go only after this).
            assert (await asyncio.wait_for(chat.engine.run_due(now), 10)).timers == 5
        assert (await chat.engine.run_due(now)).timers == 1
        await chat.deliver()
        for user in [user for couple in COUPLES for user in couple]:
            assert sum("gentle nudge" in dm for dm in chat.dms(user)) == 1, user

        # The next check-ins are on Monday 7 Dec at 10:00; their heads-ups a day before.
        heads_ups = FIRST_CHECKIN + timedelta(days=6)
        await chat.advance(heads_ups - timedelta(minutes=1) - chat.clock.now())
        chat.clock.set(heads_ups)
        async with other.transaction() as session:
            first_pair = select(Pair).order_by(Pair.id).limit(1).with_for_update()
            assert (await session.scalar(first_pair)) is not None
            assert (await asyncio.wait_for(chat.engine.run_due(heads_ups), 10)).heads_ups == 2
        assert (await chat.engine.run_due(heads_ups)).heads_ups == 1
        await chat.deliver()
        for user in [user for couple in COUPLES for user in couple]:
            told = [dm for dm in chat.dms(user) if dm.startswith("Heads-up:")]
            assert sum("tomorrow, Mon 7 Dec" in dm for dm in told) == 1, user
    finally:
        await other.dispose()


async def test_a_close_passes_over_a_check_in_an_answer_is_being_saved_to(
    chat: Chat,
) -> None:
    """PostgreSQL: bob's answer is being saved by another instance, not committed yet,
    when the 48 hours end. The close's claim passes over the check-in the answer holds,
    and the next pass shares it with that answer. (The close used to share the check-in
    without it; the answer was saved after, and never shown to alice.)"""
    if chat.database.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite takes writers in turn")
    closes = await _to_an_hour_before_the_close(chat)
    chat.clock.set(closes)
    [checkin] = await _checkins(chat)
    bob = (await _answers(chat, "bob")).member_id
    async with chat.database.transaction() as session:
        # The answer's own statement (its flow's move left out).
        values = {"v_challenge": "bob: naming things", "checkin": checkin.id, "member": bob}
        saved = await session.execute(_upsert("postgresql", ("challenge",)), values)
        assert saved.first() is not None
        passing = asyncio.create_task(chat.engine.run_due(closes))
        done, _ = await asyncio.wait({passing}, timeout=10)
        assert passing in done, "the pass waited for bob's answer"
        assert passing.result().checkins_closed == 0
    await chat.advance(timedelta(minutes=1))
    [checkin] = await _checkins(chat)
    assert checkin.state == CheckinState.SHARED
    assert ("Hard right now", "bob: naming things") in _shared_with_alice(chat)


async def test_an_event_given_up_in_a_deadlock_is_done_again(chat: Chat) -> None:
    """PostgreSQL: alice ends the pair while a click on bob's check-in is in flight in
    another instance. The click holds bob's conversation, then writes the pair (its
    answer's stall check); ending the pair writes the pair, then ends bob's
    conversation. Each waits for the other, and PostgreSQL gives one up: here ending the
    pair, the first to wait. That event is done again once the click has committed, and
    alice reads that the pair ended, not that something went wrong."""
    if chat.database.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite takes writers in turn")
    await to_first_checkin(chat)
    await chat.say("alice", "/mentor end")
    async with chat.database.transaction() as session:
        # The other instance's click: not the one PostgreSQL gives up (checked later).
        await session.execute(text("SET LOCAL deadlock_timeout = '10s'"))
        await session.execute(_bobs_open_conversation().with_for_update())
        ending = asyncio.create_task(chat.click("alice", "End pair"))
        await asyncio.sleep(0.3)
        assert not ending.done()  # waiting for bob's conversation
        # Waits for the pair until PostgreSQL gives the other event up (1 s).
        await session.execute(update(Pair).values(stall_check_at=None))
    assert "has ended" in await ending
    assert (await _pair(chat)).state == PairState.ENDED
    [checkin] = await _checkins(chat)
    assert checkin.state == CheckinState.CANCELED


async def test_closes_read_together_share_each_its_own(chat: Chat) -> None:
    """One pass closes three check-ins, reading them together: alice answered all of
    hers, dave part of his, nobody in the third pair. Each member reads their own
    partner's answers. On PostgreSQL frank's conversation is held meanwhile, as a
    click's look-up in another instance holds it: his pair's close alone is put off a
    minute, and comes then."""
    await _three_pairs_at_first_checkin(chat)
    await answer_all(chat, "alice")
    await chat.click("dave", "OK 🙂")
    await chat.say("dave", "dave: a bit")
    await chat.advance(timedelta(hours=47))
    [closes] = {checkin.closes_at for checkin in await _checkins(chat)}
    assert closes is not None
    chat.clock.set(closes)
    if chat.database.is_sqlite:
        report = await chat.engine.run_due(closes)
    else:
        async with chat.database.transaction() as session:
            await session.execute(_open_conversation("frank").with_for_update())
            # (A pass that waited for frank's conversation would wait for ever here.)
            report = await asyncio.wait_for(chat.engine.run_due(closes), timeout=10)
    await chat.deliver()
    busy = 0 if chat.database.is_sqlite else 1
    assert report.checkins_closed == 3 - busy

    def shared(reader: str) -> list[tuple[str, str]]:
        [said] = [s.content for s in chat.recorder.seen if s.user == reader][-1:]
        return [(f.label, f.value) for f in said.fields]

    assert shared("bob")[1:] == [
        ("Moved forward", "alice: shipped the parser"),
        ("Hard right now", "alice: naming things"),
        ("For next time", "alice: the roadmap"),
    ]
    assert "<@bob> didn't answer the check-in of " in chat.dms("alice")[-1]
    assert shared("carol")[1:] == [
        ("Moved forward", "dave: a bit"),
        ("Hard right now", "(no answer)"),
        ("For next time", "(no answer)"),
    ]
    assert "<@carol> didn't answer the check-in of " in chat.dms("dave")[-1]
    if busy:
        assert not any("the check-in of" in dm for dm in chat.dms("erin"))
        await chat.advance(BUSY_CLOSE_RETRY)
    assert "Neither you nor <@frank> answered the check-in of " in chat.dms("erin")[-1]
    assert "Neither you nor <@erin> answered the check-in of " in chat.dms("frank")[-1]
    assert {c.state for c in await _checkins(chat)} == {CheckinState.SHARED}


async def test_a_form_takes_a_fixed_number_of_statements(chat: Chat) -> None:
    await to_first_checkin(chat)
    with statements_per_event(chat) as events:
        await chat.click("alice", "Answer in a form")
        answer = await chat.submit(
            "alice", mood="ok", progress="a lot", challenge="naming", next_topic="docs"
        )
    assert "I'll share your answers" in answer
    # The flow the button and the form name is read with the look-up.
    assert events == [
        # The button: her answers so far (to pre-fill), what the form showed noted.
        [*LOOK_UP, "SELECT checkins", "UPDATE flow_sessions"],
        # The form: its turn at sharing the check-in taken (PostgreSQL), the check-in
        # read whole, the answers written in one upsert; her side done, her other open
        # conversations read (does one wait for her next reply?).
        [
            *LOOK_UP,
            *([] if chat.database.is_sqlite else SHARE_TURN),
            "SELECT feedback",
            "INSERT checkin_answers",
            "UPDATE flow_sessions",
            "UPDATE pairs",
            "SELECT flow_sessions",
        ],
    ]
    answers = await _answers(chat, "alice")
    assert (answers.mood, answers.progress, answers.challenge, answers.next_topic) == (
        "ok",
        "a lot",
        "naming",
        "docs",
    )


async def test_a_typed_skip_skips_the_question_as_its_button_does(chat: Chat) -> None:
    """The prompt says "or skip any question": a reply of "skip" (any case, "skip it",
    "skip.") skips it, as [Skip] does. It is not stored as an answer that reads "skip",
    and the next question follows with no echo of the skipped one."""
    await to_first_checkin(chat)
    await chat.say("bob", "skip")  # the mood
    assert chat.dms("bob")[-1].startswith("What moved forward since last time?")
    await chat.say("bob", "Skip it.")
    assert chat.dms("bob")[-1].startswith("What is hard right now?")
    await chat.say("bob", "Skipping ahead was hard")  # words about skipping are words
    last = await chat.say("bob", "SKIP")
    assert last.startswith("Thanks! I'll share your answers with <@alice> once")
    answers = await _answers(chat, "bob")
    assert (answers.mood, answers.progress, answers.challenge, answers.next_topic) == (
        None,
        None,
        "Skipping ahead was hard",
        None,
    )
    assert answers.answered_at is not None
    assert not any("(skipped)" in dm for dm in chat.dms("bob"))
    await answer_all(chat, "alice")
    shared = [dm for dm in chat.recorder.seen if dm.user == "alice"][-1].content
    assert [(f.label, f.value) for f in shared.fields] == [  # a mood skipped is left out
        ("Moved forward", "(skipped)"),
        ("Hard right now", "Skipping ahead was hard"),
        ("For next time", "(skipped)"),
    ]


FEEDBACK_QUESTION = "In my design review yesterday, was my intro too long?"
STILL_WAITING = (
    f"<@bob>'s question “{FEEDBACK_QUESTION}” is still waiting for your answer: your "
    "next reply here answers it."
)


async def test_a_check_in_finished_by_a_click_says_what_the_next_reply_answers(
    chat: Chat,
) -> None:
    """alice's check-in came below bob's question. She skips its last question with the
    button: her next typed reply answers bob's question, further up, and she is told
    so, as she is when a typed answer finishes the check-in. Before, the click's answer
    said nothing of it, and her next words went to bob unannounced."""
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", f"/mentor feedback {FEEDBACK_QUESTION}")
    await chat.advance(FIRST_CHECKIN - chat.clock.now())
    await chat.click("alice", "Great 🙌")
    for _ in range(2):
        assert STILL_WAITING not in await chat.click("alice", "Skip")  # more to ask
    answer = await chat.click("alice", "Skip")
    assert answer.endswith(f"\n{STILL_WAITING}"), answer
    assert answer.count("Thanks!") == 1
    assert (await chat.say("alice", "Yes, by about two minutes.")).startswith("Thanks!")
    assert chat.dms("bob")[-1].endswith("Yes, by about two minutes.")
    # A check-in finished with no question waiting says nothing more.
    await chat.advance(timedelta(days=7))
    await chat.click("alice", "OK 🙂")
    await chat.click("alice", "Skip")
    await chat.click("alice", "Skip")
    assert "still waiting" not in await chat.click("alice", "Skip")


async def test_a_check_in_finished_by_a_form_says_what_the_next_reply_answers(
    chat: Chat,
) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", f"/mentor feedback {FEEDBACK_QUESTION}")
    await chat.advance(FIRST_CHECKIN - chat.clock.now())
    await chat.click("alice", "Answer in a form")
    answer = await chat.submit("alice", mood="ok", progress="", challenge="", next_topic="docs")
    assert answer.startswith("Thanks!") and answer.endswith(f"\n{STILL_WAITING}"), answer
    # An empty form finished nothing: the check-in itself still waits.
    await chat.advance(timedelta(days=7))
    await chat.click("alice", "Answer in a form")
    empty = await chat.submit("alice", mood="", progress="", challenge="", next_topic="")
    assert "still waiting" not in empty


@pytest.mark.parametrize("how", ["typed", "form", "click"])
async def test_a_check_in_shared_by_the_last_answer_says_what_the_next_reply_answers(
    chat: Chat, how: str
) -> None:
    """bob has answered; alice's last answer completes the check-in, and she is thanked
    in the DM that shares bob's answers, not in an answer of its own. That one DM now
    says what her next reply answers too (bob's question, further up). Before, it did
    not, typed or in a form."""
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", f"/mentor feedback {FEEDBACK_QUESTION}")
    await chat.advance(FIRST_CHECKIN - chat.clock.now())
    await answer_all(chat, "bob")
    before = len(chat.dms("alice"))
    if how == "typed":
        await chat.click("alice", "Great 🙌")
        await chat.say("alice", "the roadmap")
        await chat.say("alice", "hiring")
        before = len(chat.dms("alice"))
        assert await chat.say("alice", "the offsite") == ""
    elif how == "form":
        await chat.click("alice", "Answer in a form")
        before = len(chat.dms("alice"))
        await chat.submit("alice", mood="ok", progress="", challenge="", next_topic="docs")
    else:
        await chat.click("alice", "Great 🙌")
        await chat.click("alice", "Skip")
        await chat.click("alice", "Skip")
        before = len(chat.dms("alice"))
        shown = await chat.click("alice", "Skip")
        assert shown.endswith("(skipped)"), shown  # the line is in the DM, said once
    [shared] = chat.dms("alice")[before:]  # one event, one message
    assert "You've both answered." in shared and STILL_WAITING in shared, shared
    # And her next reply does answer bob's question.
    assert (await chat.say("alice", "Yes, by about two minutes.")).startswith("Thanks!")
    assert chat.dms("bob")[-1].endswith("Yes, by about two minutes.")
