"""The program view: admins see numbers and names, never anyone's words; stalled pairs are
nudged once, and admins are told a week later only if nothing changed."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import matplotlib.image
import pytest
from sqlalchemy import event, insert, select
from typer.testing import CliRunner

from adapters.cli import app
from bot import due, stalls
from bot.clock import ManualClock
from bot.due import DueReport
from bot.effects import ReplyEphemeral, SendFiles
from bot.events import CommandInvoked
from bot.program import WeekActivity, program_stats, weekly_chart, weekly_chart_png
from bot.storage.database import Database
from bot.storage.models import Member, Pair, PairState, Workspace
from tests.conftest import START
from tests.conversation import Chat, pair_up
from tests.statements import listening

WEEK = timedelta(days=7)
# The pairs' default cadence: Mondays 10:00 UTC. START is a Wednesday (25 Nov 2026).
FIRST_CHECKIN = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
CANARY_ANSWER = "canary-answer-7f3a"
CANARY_WIN = "canary-win-91bd"
CANARY_QUESTION = "In my PR for the canary-question-c2e8 page, is the error handling clear?"
CANARY_FEEDBACK = "canary-feedback-5d10"
CANARIES = (CANARY_ANSWER, CANARY_WIN, "canary-question-c2e8", CANARY_FEEDBACK)
NUDGE = "It's been quiet between you and"
ALERT = "For program admins:"


async def answer_checkin(chat: Chat, user: str) -> None:
    """Answer the newest check-in prompt (not a feedback follow-up sent with it)."""
    prompt = next(
        seen
        for seen in reversed(chat.recorder.seen)
        if seen.user == user and "Time for your check-in" in seen.content.text
    )
    [form] = [b for b in prompt.content.buttons if b.label == "Answer in a form"]
    await chat.press(user, form, prompt.message_id)
    await chat.submit(
        user, mood="ok", progress=CANARY_ANSWER, challenge=CANARY_ANSWER, next_topic="x"
    )


async def move_to(chat: Chat, moment: datetime) -> None:
    await chat.advance(moment - chat.clock.now())


async def workspace_id(chat: Chat) -> int:
    async with chat.database.transaction() as session:
        found = await session.scalar(
            select(Workspace.id).where(Workspace.external_id == chat.workspace)
        )
    assert found is not None
    return found


async def known_history(chat: Chat) -> None:
    """Six weekly check-ins (30 Nov to 4 Jan) for two active pairs, one paused, one ended,
    one proposed; two feedback questions answered after 2 h and 6 h, one never."""
    await chat.say("alice", "/mentor help")  # the admin has been seen
    for mentor, mentee in (("carol", "dave"), ("erin", "frank"), ("gina", "hank")):
        await pair_up(chat, mentor, mentee)
    await pair_up(chat, "ivan", "judy")
    await chat.say("judy", "/mentor end")
    await chat.click("judy", "End pair")
    await chat.say("kate", "/mentor pair @kate @liam")  # proposed, never accepted
    await chat.say("gina", "/mentor pause 12w")
    await chat.say("dave", f"/win {CANARY_WIN} shipped")

    await chat.say("dave", f"/mentor feedback {CANARY_QUESTION}")
    await chat.advance(timedelta(hours=2))
    await chat.say("carol", CANARY_FEEDBACK)
    await chat.say("dave", "/mentor feedback In Tuesday's demo, was the architecture part clear?")
    await chat.advance(timedelta(hours=6))
    await chat.say("carol", CANARY_FEEDBACK)
    await chat.say("frank", "/mentor feedback In my design doc, is the rollout plan too risky?")

    # Who answers each week's check-in of carol and dave (erin and frank never do).
    answering = [("carol", "dave"), ("carol",), (), ("carol", "dave"), ("dave",), ()]
    for week, users in enumerate(answering):
        await move_to(chat, FIRST_CHECKIN + week * WEEK + timedelta(hours=1))
        for user in users:
            await answer_checkin(chat, user)
        if week == 1:
            await chat.say("carol", f"/win {CANARY_WIN} gave a talk")
    await move_to(chat, FIRST_CHECKIN + 5 * WEEK + timedelta(days=3, hours=2))  # Thu 7 Jan


async def test_the_numbers_are_exact_in_chat_and_in_the_cli_csv(chat: Chat, tmp_path: Path) -> None:
    await known_history(chat)
    now = chat.clock.now()
    workspace = await workspace_id(chat)  # a unit of work of its own, not one inside another
    async with chat.database.transaction() as session:
        stats = await program_stats(session, workspace, now)
    assert (stats.proposed, stats.active, stats.paused, stats.ended) == (1, 2, 1, 1)
    # 12 weeks: 6 check-ins x 2 pairs x 2 members; carol and dave answered 6 of theirs.
    assert (stats.long_rate.prompts, stats.long_rate.answered) == (24, 6)
    # 4 weeks (since 10 Dec): the check-ins of 14, 21, 28 Dec and 4 Jan.
    assert (stats.short_rate.prompts, stats.short_rate.answered) == (16, 3)
    assert (stats.feedback_answered, stats.median_feedback_wait) == (2, timedelta(hours=4))
    assert [(s.mentor, s.mentee) for s in stats.stalled] == [("erin", "frank")]
    assert stats.weekly[0].week_start == date(2026, 10, 19)
    by_week = {w.week_start: (w.checkins_answered, w.wins) for w in stats.weekly}
    assert len(by_week) == 12
    assert {week: n for week, n in by_week.items() if n != (0, 0)} == {
        date(2026, 11, 23): (0, 1),
        date(2026, 11, 30): (2, 0),
        date(2026, 12, 7): (1, 1),
        date(2026, 12, 21): (2, 0),
        date(2026, 12, 28): (1, 0),
    }

    effects = await chat.send(
        CommandInvoked(user=chat.ref("alice"), user_name="Alice", command="mentor", text="stats")
    )
    [reply] = [e for e in effects if isinstance(e, ReplyEphemeral)]
    text = reply.content.text
    assert "Pairs: 2 active, 1 paused, 1 ended (1 proposed, not yet agreed)" in text
    assert "19% over the last 4 weeks (3 of 16 prompts answered)" in text
    assert "25% over the last 12 weeks (6 of 24 prompts answered)" in text
    assert "Median time to answer a feedback question: 4 h 0 min (2 answered" in text
    assert "• <@erin> mentoring <@frank>" in text and "<@carol> mentoring" not in text
    [files] = [e for e in effects if isinstance(e, SendFiles)]
    assert files.to == chat.ref("alice")
    [chart] = files.files
    assert (chart.media_type, chart.data[:8]) == ("image/png", b"\x89PNG\r\n\x1a\n")
    # Nothing anyone wrote reaches the admin: not in the reply, the chart or any DM.
    everything = [text, files.content.text, *chat.dms("alice")]
    assert not [c for c in CANARIES for part in everything if c in part]
    assert not [c for c in CANARIES if c.encode() in chart.data]

    await cli_writes_the_same_numbers_as_csv(chat, tmp_path)


async def test_a_member_who_is_not_an_admin_is_refused(chat: Chat) -> None:
    await pair_up(chat, "carol", "dave")
    answer = await chat.say("dave", "/mentor stats")
    assert answer.startswith("Only a workspace admin can see program stats.")
    assert "Pairs:" not in answer


async def test_the_chart_is_a_small_png_of_the_weekly_series() -> None:
    weekly = [WeekActivity(date(2026, 11, 2) + WEEK * i, i % 3, i) for i in range(12)]
    png = await asyncio.to_thread(weekly_chart_png, weekly)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = matplotlib.image.imread(io.BytesIO(png), format="png")
    assert pixels.shape[:2] == (320, 640)
    # Different data, a different picture: the bars are drawn from the series.
    other = await asyncio.to_thread(
        weekly_chart_png, [WeekActivity(w.week_start, 0, 0) for w in weekly]
    )
    assert other != png


async def test_the_chart_counts_from_zero() -> None:
    """Counts start at 0: with none at all the axis runs from 0 to 1 (matplotlib alone
    drew it from -0.05 to 0.05, ticks like -0.045 included)."""
    weeks = [date(2026, 11, 2) + WEEK * i for i in range(12)]
    [axes] = weekly_chart([WeekActivity(week, 0, 0) for week in weeks]).axes
    assert axes.get_ylim() == (0.0, 1.0)
    assert min(axes.get_yticks()) == 0
    [axes] = weekly_chart([WeekActivity(week, i % 3, i) for i, week in enumerate(weeks)]).axes
    assert axes.get_ylim()[0] == 0 and axes.get_ylim()[1] >= 11


async def test_stats_with_no_activity_send_no_chart(chat: Chat) -> None:
    """A workspace where nobody answered a check-in or shared a win: the admin reads
    that there is no chart yet, and gets no DM of an empty one."""
    await pair_up(chat, "alice", "bob")
    effects = await chat.send(
        CommandInvoked(user=chat.ref("alice"), user_name="Alice", command="mentor", text="stats")
    )
    assert not [e for e in effects if isinstance(e, SendFiles)]
    [reply] = [e for e in effects if isinstance(e, ReplyEphemeral)]
    # None closed in 12 weeks, said once (not for 4 weeks, then for 12).
    assert "\nCheck-in answer rate: no check-in closed in the last 12 weeks.\n" in (
        reply.content.text
    )
    assert reply.content.text.endswith(
        "\nNo check-in answered and no win in the last 12 weeks: no chart yet."
    )
    await chat.say("bob", "/win the first")
    effects = await chat.send(
        CommandInvoked(user=chat.ref("alice"), user_name="Alice", command="mentor", text="stats")
    )
    assert [e for e in effects if isinstance(e, SendFiles)]


async def silent_pair(chat: Chat) -> None:
    """erin mentors frank; nobody answers. Their third unanswered check-in (14 Dec)
    closes on Wed 16 Dec, 10:00: they have stalled."""
    await chat.say("alice", "/mentor help")
    await pair_up(chat, "erin", "frank")


def nudges(chat: Chat, user: str) -> list[str]:
    return [dm for dm in chat.dms(user) if NUDGE in dm]


async def test_a_stalled_pair_is_nudged_once_then_admins_are_told_a_week_later(
    chat: Chat,
) -> None:
    await silent_pair(chat)
    stalled_at = FIRST_CHECKIN + 2 * WEEK + timedelta(hours=48)
    await move_to(chat, stalled_at - timedelta(minutes=1))
    assert nudges(chat, "erin") == nudges(chat, "frank") == []
    await move_to(chat, stalled_at + timedelta(hours=1))
    assert len(nudges(chat, "erin")) == len(nudges(chat, "frank")) == 1
    assert "<@frank>" in nudges(chat, "erin")[0] and "/mentor checkin" in nudges(chat, "erin")[0]
    # It came as the third silent check-in closed: one DM tells both, not two at once.
    for me, partner in (("erin", "frank"), ("frank", "erin")):
        [nudge] = nudges(chat, me)
        assert nudge.startswith(
            f"Neither you nor <@{partner}> answered the check-in of Mon 14 Dec, 10:00 (UTC). "
            f"Maybe say hello?\n\n👋 {NUDGE} <@{partner}> for a while."
        )
        assert sum("answered the check-in of" in dm for dm in chat.dms(me)) == 3
    assert not [dm for dm in chat.dms("alice") if ALERT in dm]

    await move_to(chat, stalled_at + WEEK - timedelta(minutes=1))
    assert not [dm for dm in chat.dms("alice") if ALERT in dm]
    await move_to(chat, stalled_at + WEEK + timedelta(hours=1))
    [alert] = [dm for dm in chat.dms("alice") if ALERT in dm]
    assert "<@erin> (mentor) and <@frank> (mentee) still look stalled" in alert
    # Never twice: not the nudge, not the alert, however long it stays stalled.
    await chat.advance(4 * WEEK)
    assert len(nudges(chat, "erin")) == len(nudges(chat, "frank")) == 1
    assert len([dm for dm in chat.dms("alice") if ALERT in dm]) == 1
    assert not [dm for dm in chat.dms("erin") + chat.dms("frank") if ALERT in dm]
    # Each command the nudge names works as named (`/mentor feedback` alone asked for a
    # question to send).
    for command in re.findall(r"`/mentor ([^`]+)`", nudges(chat, "erin")[0]):
        said = await chat.say("erin", f"/mentor {command}")
        assert "Usage:" not in said and "Write your question" not in said, command


@pytest.mark.parametrize(
    ("admins", "told"), [({"alice", "zed"}, ["zed"]), ({"alice"}, [])], ids=["zed too", "alone"]
)
async def test_an_admin_in_the_stalled_pair_is_not_alerted_about_it(
    database: Database, clock: ManualClock, admins: set[str], told: list[str]
) -> None:
    """alice is an admin, and she mentors frank; they stall. She had the nudge as frank's
    mentor: "for program admins: alice and frank still look stalled" would tell her
    again, as if of someone else. Another admin (zed) is told; with alice the only
    admin, nobody is."""
    chat = Chat(database, clock, admins=frozenset(admins))
    for admin in sorted(admins):
        await chat.say(admin, "/mentor help")
    await pair_up(chat, "alice", "frank")
    stalled_at = FIRST_CHECKIN + 2 * WEEK + timedelta(hours=48)
    await move_to(chat, stalled_at + WEEK + timedelta(hours=1))
    assert len(nudges(chat, "alice")) == len(nudges(chat, "frank")) == 1
    people = ("alice", "frank", "zed")
    assert [who for who in people if any(ALERT in dm for dm in chat.dms(who))] == told


async def test_no_alert_when_the_pair_checked_in_after_the_nudge(chat: Chat) -> None:
    await silent_pair(chat)
    stalled_at = FIRST_CHECKIN + 2 * WEEK + timedelta(hours=48)
    await move_to(chat, stalled_at + timedelta(hours=1))
    assert len(nudges(chat, "frank")) == 1
    await move_to(chat, FIRST_CHECKIN + 3 * WEEK + timedelta(hours=1))
    await answer_checkin(chat, "frank")
    await chat.advance(3 * WEEK)
    assert not [dm for dm in chat.dms("alice") if ALERT in dm]
    assert len(nudges(chat, "frank")) == 1


async def test_a_paused_pair_is_not_nudged(chat: Chat) -> None:
    await silent_pair(chat)
    # Three check-ins went unanswered; before the third one's window closes, they pause.
    await move_to(chat, FIRST_CHECKIN + 2 * WEEK + timedelta(hours=1))
    await chat.say("erin", "/mentor pause 8w")
    await chat.advance(6 * WEEK)
    assert nudges(chat, "erin") == nudges(chat, "frank") == []
    assert not [dm for dm in chat.dms("alice") if ALERT in dm]


async def test_with_no_admin_known_the_alert_is_logged_and_nobody_told(
    chat: Chat, caplog: Any
) -> None:
    await pair_up(chat, "erin", "frank")  # the admin never used the bot
    await move_to(chat, FIRST_CHECKIN + 3 * WEEK + timedelta(days=3))
    assert "no admin is known there" in caplog.text
    assert chat.dms("alice") == []


async def cli_writes_the_same_numbers_as_csv(chat: Chat, tmp_path: Path) -> None:
    """``mentorbot stats --csv`` on the same database (one history serves both tests:
    building it walks six weeks of check-ins)."""
    now = chat.clock.now()
    workspace = await workspace_id(chat)  # a unit of work of its own, not one inside another
    async with chat.database.transaction() as session:
        stats = await program_stats(session, workspace, now)
    target = tmp_path / "stats.csv"
    arguments = [
        "stats",
        "--platform",
        "console",
        "--workspace",
        chat.workspace,
        "--csv",
        str(target),
        "--chart",
        str(tmp_path / "chart.png"),
        "--now",
        now.isoformat(),
    ]
    result = await asyncio.to_thread(
        CliRunner().invoke, app, arguments, env={"DATABASE_URL": chat.database.url}
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(target.read_text(encoding="utf-8").splitlines()))
    assert rows[0] == ["metric", "value"]
    assert [tuple(row) for row in rows[1:]] == stats.metrics()
    metrics = dict(rows[1:])
    assert (metrics["pairs_active"], metrics["checkin_answer_rate_4w"]) == ("2", "0.1875")
    assert metrics["feedback_median_answer_hours"] == "4.00"
    weekly = list(csv.DictReader(io.StringIO((tmp_path / "stats-weekly.csv").read_text())))
    assert [(w["week_start"], w["checkins_answered"], w["wins"]) for w in weekly] == [
        (w.week_start.isoformat(), str(w.checkins_answered), str(w.wins)) for w in stats.weekly
    ]
    assert (tmp_path / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [c for c in CANARIES if c in result.output]

    unknown = await asyncio.to_thread(
        CliRunner().invoke,
        app,
        ["stats", "--platform", "console", "--workspace", "nope"],
        env={"DATABASE_URL": chat.database.url},
    )
    assert unknown.exit_code == 1
    assert "no console workspace 'nope' is known" in unknown.output
    assert "It knows: T1." in unknown.output  # the workspaces that exist are named


@contextmanager
def counted(database: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", record)


async def test_the_stall_job_touches_only_pairs_whose_check_is_due(database: Database) -> None:
    now = START
    async with database.transaction() as session:
        workspace = Workspace(platform="console", external_id="T9", created_at=now)
        session.add(workspace)
        await session.flush()
        ids = (
            await session.execute(
                insert(Member).returning(Member.id),
                [
                    {"workspace_id": workspace.id, "external_id": f"u{i}", "created_at": now}
                    for i in range(600)
                ],
            )
        ).scalars()
        members = list(ids)
        pairs = [
            {
                "workspace_id": workspace.id,
                "mentor_id": members[2 * i],
                "mentee_id": members[2 * i + 1],
                "state": PairState.ACTIVE.value,
                "created_at": now,
                "activated_at": now,
                "next_checkin_at": now + timedelta(days=5),
                # Half watched (looked at later), half not yet watched.
                "stall_check_at": now + timedelta(days=1 + i % 20) if i % 2 else None,
            }
            for i in range(300)
        ]
        await session.execute(insert(Pair), pairs)

    async def one_pass(at: datetime) -> tuple[int, DueReport, list[str]]:
        report = DueReport()
        with counted(database) as statements:
            async with database.transaction() as session:
                handled = await stalls.check_stalls(
                    session, at, due.BATCH, report, claim=due._due_pairs
                )
        return handled, report, [s for s in statements if "pairs" in s.lower()]

    handled, report, statements = await one_pass(now)
    assert (handled, report.stall_nudges) == (0, 0)
    assert len(statements) == 1 and statements[0].lstrip().upper().startswith("SELECT")
    # Two days on, the 15 due ones are looked at in a fixed number of statements and
    # moved to when they could stall (three check-ins on); the other 285 are not touched.
    handled, report, statements = await one_pass(now + timedelta(days=2, hours=1))
    assert handled == 15 and report.stall_nudges == 0
    assert len(statements) <= 5  # the claim, three grouped look-ups, one UPDATE
    next_look = now + timedelta(days=5) + 2 * WEEK + timedelta(hours=48)
    async with database.transaction() as session:
        looked = list(
            (await session.execute(select(Pair.stall_check_at).order_by(Pair.id))).scalars()
        )
    assert looked.count(next_look) == 15
    assert looked.count(None) == 150


async def test_pairs_stalled_together_find_their_closes_dms_in_one_look(chat: Chat) -> None:
    """Three pairs stall in one pass: the nudges join the DMs their closes queued with
    one look-up of the outbox for the whole batch, not one per pair or person."""
    await chat.say("alice", "/mentor help")
    for mentor, mentee in (("erin", "frank"), ("gus", "hal"), ("ida", "jo")):
        await pair_up(chat, mentor, mentee)
    stalled_at = FIRST_CHECKIN + 2 * WEEK + timedelta(hours=48)
    await move_to(chat, stalled_at - timedelta(minutes=1))
    statements: list[str] = []
    with listening(
        chat.database, "before_cursor_execute", lambda *args: statements.append(args[2])
    ):
        await move_to(chat, stalled_at + timedelta(minutes=1))
    looks = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert sum("FROM outbox" in s and "created_at = " in s for s in looks) == 1
    for person in ("erin", "frank", "gus", "hal", "ida", "jo"):
        [nudge] = nudges(chat, person)
        assert nudge.startswith("Neither you nor ")


async def test_who_is_an_admin_is_kept_where_the_platform_does_not_say(
    database: Database, clock: ManualClock
) -> None:
    """A Discord DM carries no server permissions (``user_is_admin=None``): the last word
    from the server stands. A later "not an admin" from the platform demotes."""
    chat = Chat(database, clock)

    async def admin_flag() -> bool:
        async with database.transaction() as session:
            return bool(
                await session.scalar(select(Member.is_admin).where(Member.external_id == "dana"))
            )

    async def act(flag: bool | None) -> None:
        await chat.send(
            CommandInvoked(user=chat.ref("dana"), command="mentor", text="help", user_is_admin=flag)
        )

    await act(True)
    assert await admin_flag()
    await act(None)
    assert await admin_flag()
    await act(False)
    assert not await admin_flag()
