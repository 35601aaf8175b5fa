"""A pair's rhythm, told as conversations: the cadence command and its friendly words,
timezones and quiet hours, the heads-up with [Skip this one], skip, pause and resume,
anniversaries, and the one time-based entry point ``Engine.run_due(now)`` (idempotent,
catching up downtime once).

The clock starts on Wednesday 2026-11-25 at 12:00 UTC, so a default pair's first
check-in is Monday 30 Nov at 10:00 UTC and its heads-up Sunday 29 Nov at 10:00 UTC.
``chat.advance`` walks the clock through every due moment; the downtime tests instead
jump it and call ``run_due`` once, as a bot that was down would.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from bot import turn
from bot.cadence import in_quiet_hours
from bot.content import Button, Content
from bot.due import DueReport, next_due_at
from bot.events import CommandInvoked
from bot.flows.sessions import GONE
from bot.storage.models import (
    Cadence,
    Checkin,
    CheckinState,
    Member,
    Milestone,
    MilestoneKind,
    OutboxMessage,
    OutboxStatus,
    Pair,
    PairState,
    Workspace,
)
from tests.conftest import START
from tests.conversation import Chat, Seen, pair_up, said_alone
from tests.statements import listening, statement_kind
from tests.test_bad_input import snapshot

PROMPT = "👋 Time for your check-in"
HEADS_UP = "Heads-up: your check-in"
NUDGE = "A gentle nudge"
WELCOME_BACK = "Welcome back: your pause"
EXAMPLE = "For example: `/mentor cadence biweekly thu 09:30 Europe/Berlin`"
QUESTION = "In Tuesday's demo, was the architecture part clear enough for the sales team?"

# From the start (Wednesday noon) to Monday 30 Nov at 10:00, the default first check-in.
TO_FIRST_CHECKIN = timedelta(days=4, hours=22)
TO_HEADS_UP = TO_FIRST_CHECKIN - timedelta(hours=24)


def utc(month: int, day: int, hour: int, minute: int = 0, *, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- looking at what happened -------------------------------------------------------------


async def the_pair(chat: Chat, pair_id: int = 1) -> Pair:
    async with chat.database.transaction() as session:
        pair = await session.get(Pair, pair_id)
    assert pair is not None
    return pair


async def checkins(chat: Chat) -> list[tuple[datetime, str]]:
    async with chat.database.transaction() as session:
        query = select(Checkin).order_by(Checkin.due_at, Checkin.id)
        return [(c.due_at, c.state) for c in (await session.execute(query)).scalars()]


async def outbox_to(chat: Chat, user: str, starting: str) -> list[OutboxMessage]:
    """The outbox rows of DMs to ``user`` whose text starts with ``starting``."""
    async with chat.database.transaction() as session:
        rows = (await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars()
        return [
            row
            for row in rows
            if row.target_id == user and Content.from_json(row.content).text.startswith(starting)
        ]


async def auto_milestones(chat: Chat, user: str) -> list[tuple[str | None, datetime | None]]:
    async with chat.database.transaction() as session:
        query = (
            select(Milestone.code, Milestone.completed_at)
            .join(Member, Milestone.member_id == Member.id)
            .where(Member.external_id == user, Milestone.kind == MilestoneKind.AUTO.value)
            .order_by(Milestone.id)
        )
        return [(code, at) for code, at in (await session.execute(query)).all()]


def dms_starting(chat: Chat, user: str, starting: str) -> list[str]:
    return [dm for dm in chat.dms(user) if dm.startswith(starting)]


def newest_dm(chat: Chat, user: str, starting: str) -> Seen:
    for seen in reversed(chat.recorder.seen):
        if seen.user == user and seen.kind == "dm" and seen.content.text.startswith(starting):
            return seen
    raise AssertionError(f"{user} got no DM starting with {starting!r}")


async def status(chat: Chat, user: str) -> str:
    """``/mentor status`` as ``user`` sees it: the text and every field."""
    effects = await chat.send(CommandInvoked(user=chat.ref(user), command="mentor", text="status"))
    (effect,) = effects
    content: Content = effect.content  # type: ignore[union-attr]
    return "\n".join([content.text, *(f"{f.label}\n{f.value}" for f in content.fields)])


async def answer_checkin(chat: Chat, user: str, progress: str) -> str:
    """Answer the newest check-in prompt in a form."""
    prompt = newest_dm(chat, user, PROMPT)
    (button,) = [b for b in prompt.content.buttons if b.label == "Answer in a form"]
    await chat.press(user, button, prompt.message_id)
    return await chat.submit(user, progress=progress)


async def jump(chat: Chat, by: timedelta) -> DueReport:
    """The bot was down for ``by``: the clock jumps, and one dispatch pass runs."""
    chat.clock.advance(by)
    report = await chat.engine.run_due(chat.clock.now())
    await chat.deliver()
    return report


# --- the cadence command --------------------------------------------------------------------

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# What alice types after `/mentor cadence`; the stored rule; the next check-in (UTC); the
# rule in words. The clock reads Wednesday 25 Nov 12:00 UTC.
FRIENDLY = [
    ("weekly", Cadence.WEEKLY, 0, "10:00", "UTC", utc(11, 30, 10), "every Monday at 10:00 (UTC)"),
    (
        "every 2 weeks",
        Cadence.BIWEEKLY,
        0,
        "10:00",
        "UTC",
        # This week's Monday has passed: every other week counts from the next one, as a
        # calendar's "every 2 weeks" starting today does (it was 7 Dec, a week later).
        utc(11, 30, 10),
        "every other Monday at 10:00 (UTC)",
    ),
    (
        "thu 9:30",
        Cadence.WEEKLY,
        3,
        "09:30",
        "UTC",
        utc(11, 26, 9, 30),
        "every Thursday at 09:30 (UTC)",
    ),
    (
        "Europe/Berlin",
        Cadence.WEEKLY,
        0,
        "10:00",
        "Europe/Berlin",
        utc(11, 30, 9),
        "every Monday at 10:00 (Europe/Berlin)",
    ),
    ("mon 5pm", Cadence.WEEKLY, 0, "17:00", "UTC", utc(11, 30, 17), "every Monday at 17:00 (UTC)"),
    (
        "monthly",
        Cadence.MONTHLY,
        0,
        "10:00",
        "UTC",
        utc(12, 7, 10),  # the first Monday of December
        "the first Monday of each month at 10:00 (UTC)",
    ),
    (
        "biweekly thu 9:30 Europe/Berlin",
        Cadence.BIWEEKLY,
        3,
        "09:30",
        "Europe/Berlin",
        utc(11, 26, 8, 30),
        "every other Thursday at 09:30 (Europe/Berlin)",
    ),
    (
        "Every other Friday at 2:15 p.m. america/new_york",
        Cadence.BIWEEKLY,
        4,
        "14:15",
        "America/New_York",
        utc(11, 27, 19, 15),
        "every other Friday at 14:15 (America/New_York)",
    ),
    (
        "fortnightly wednesday noon",
        Cadence.BIWEEKLY,
        2,
        "12:00",
        "UTC",
        utc(12, 2, 12),  # today at noon is now, not after it: next week's is the first
        "every other Wednesday at 12:00 (UTC)",
    ),
    (
        "monthly thu 08:00 Asia/Tokyo",
        Cadence.MONTHLY,
        3,
        "08:00",
        "Asia/Tokyo",
        utc(12, 2, 23),  # Thursday 3 Dec, 08:00 in Tokyo
        "the first Thursday of each month at 08:00 (Asia/Tokyo)",
    ),
]


@pytest.mark.parametrize(
    ("words", "cadence", "weekday", "local_time", "zone", "next_at", "rhythm"),
    FRIENDLY,
    ids=[row[0] for row in FRIENDLY],
)
async def test_the_cadence_in_friendly_words(
    chat: Chat,
    words: str,
    cadence: Cadence,
    weekday: int,
    local_time: str,
    zone: str,
    next_at: datetime,
    rhythm: str,
) -> None:
    await pair_up(chat, "alice", "bob")
    answer = await chat.say("alice", f"/mentor cadence {words}")

    pair = await the_pair(chat)
    assert (pair.cadence, pair.weekday, pair.local_time, pair.timezone) == (
        cadence,
        weekday,
        local_time,
        zone,
    )
    assert pair.next_checkin_at is not None
    assert pair.next_checkin_at == next_at
    assert pair.next_checkin_at.utcoffset() == timedelta(0)  # stored and read back in UTC
    # Every other week counts from the week of the first check-in (its local date);
    # other rhythms keep the day they were set, which they never read.
    first_day = next_at.astimezone(ZoneInfo(zone)).date()
    assert pair.cadence_anchor == (first_day if cadence == Cadence.BIWEEKLY else date(2026, 11, 25))
    heads_up = next_at - timedelta(hours=24)
    assert pair.heads_up_at == (heads_up if heads_up > START else None)

    # Neither has a timezone of their own, so both see the pair's.
    local = next_at.astimezone(ZoneInfo(zone))
    when = f"{DAYS[local.weekday()]} {local.day} {MONTHS[local.month - 1]}, {local:%H:%M} ({zone})"
    if words == "weekly":  # the rhythm every pair starts with: nothing changed
        assert answer == f"Check-ins are already {rhythm}, so nothing changed. Next one: {when}."
        assert "set your check-ins" not in chat.dms("bob")[-1]
        return
    assert answer == f"Check-ins are now {rhythm}. Next one: {when}."
    told = chat.dms("bob")[-1]
    assert told.startswith(f"<@alice> set your check-ins to {rhythm}")
    assert told.endswith(f"Next one: {when}.")


async def test_each_member_is_told_the_next_check_in_in_their_own_time(chat: Chat) -> None:
    await chat.say("bob", "/mentor config timezone America/New_York")
    await pair_up(chat, "alice", "bob")
    answer = await chat.say("alice", "/mentor cadence thu 3pm Europe/Berlin")
    assert answer == (
        "Check-ins are now every Thursday at 15:00 (Europe/Berlin). "
        "Next one: Thu 26 Nov, 15:00 (Europe/Berlin). "
        "For <@bob> that is Thu 26 Nov, 09:00 (America/New_York)."
    )
    assert chat.dms("bob")[-1] == (
        "<@alice> set your check-ins to every Thursday at 15:00 (Europe/Berlin). "
        "Next one: Thu 26 Nov, 09:00 (America/New_York)."
    )


async def test_a_cadence_at_night_for_the_partner_is_said_to_both(chat: Chat) -> None:
    await chat.say("bob", "/mentor config timezone America/Los_Angeles")
    await pair_up(chat, "alice", "bob")
    answer = await chat.say("alice", "/mentor cadence mon 10:00 Europe/Berlin")
    assert answer == (
        "Check-ins are now every Monday at 10:00 (Europe/Berlin). "
        "Next one: Mon 30 Nov, 10:00 (Europe/Berlin).\n"
        "⚠️ For <@bob> that is Mon 30 Nov, 01:00 (America/Los_Angeles), outside "
        "08:00-21:00 there, so their questions wait until Mon 30 Nov, 08:00 "
        "(America/Los_Angeles). A time in the day for both of you works better: "
        "`/mentor cadence` changes it."
    )
    assert chat.dms("bob")[-1].endswith(
        "Next one: Mon 30 Nov, 01:00 (America/Los_Angeles).\n"
        "⚠️ That is outside 08:00-21:00 for you, so your questions wait until "
        "Mon 30 Nov, 08:00 (America/Los_Angeles). If another time suits you both better, "
        "`/mentor cadence` changes it."
    )
    # A time in the day for both: no warning, only when it is for bob.
    answer = await chat.say("alice", "/mentor cadence mon 18:00 Europe/Berlin")
    assert "⚠️" not in answer and "⚠️" not in chat.dms("bob")[-1]
    assert answer.endswith("For <@bob> that is Mon 30 Nov, 09:00 (America/Los_Angeles).")


# What alice types after `/mentor cadence`, and the reason she is given.
INVALID = [
    ("daily", "I can't keep 'daily' check-ins: they can be weekly, biweekly"),
    ("weekly America/New York", "did you mean America/New_York?"),
    ("every 3 weeks", "'every 3 weeks' is not a rhythm I can keep"),
    ("mon 11pm", "23:00 is in the quiet hours"),
    ("thu 6:30", "06:30 is in the quiet hours"),
    ("thu 9:30 EST", "'EST' is an abbreviation"),
    ("weekly Mars/Olympus_Mons", "I don't know the timezone 'Mars/Olympus_Mons'"),
    ("weekly europe/berln", "did you mean Europe/Berlin?"),
    ("UTC+2", "'UTC+2' is a fixed offset"),
    ("mon tue", "Please pick one day, not both 'mon' and 'tue'"),
    ("weekly monthly", "Please pick one rhythm"),
    ("25:00", "hours go up to 23"),
    ("thursday 9", "'9' is not a time"),
]


@pytest.mark.parametrize(("words", "reason"), INVALID, ids=[row[0] for row in INVALID])
async def test_an_invalid_cadence_gets_the_reason_and_an_example_and_changes_nothing(
    chat: Chat, words: str, reason: str
) -> None:
    await pair_up(chat, "alice", "bob")
    before = await snapshot(chat)
    bob_before = chat.dms("bob")

    answer = await chat.say("alice", f"/mentor cadence {words}")
    assert reason in answer
    assert answer.endswith(EXAMPLE)
    assert await snapshot(chat) == before
    assert chat.dms("bob") == bob_before


async def test_a_cadence_without_words_shows_the_rhythm_and_how_to_change_it(
    chat: Chat,
) -> None:
    """`/mentor cadence` alone, as people ask what it is now: each pair's rhythm and
    next check-in (a paused one's restart), and how to change it; nothing changes.
    Before, it answered only with the usage."""
    await pair_up(chat, "alice", "bob")
    before = await snapshot(chat)
    assert await chat.say("alice", "/mentor cadence") == (
        "Check-ins with <@bob>: every Monday at 10:00 (UTC). Next one: Mon 30 Nov, 10:00 "
        "(UTC).\nChange it with `/mentor cadence <weekly|biweekly|monthly> [weekday] "
        "[HH:MM] [timezone]`, like `/mentor cadence biweekly thu 9:30 Europe/Berlin`."
    )
    assert await snapshot(chat) == before
    await pair_up(chat, "alice", "carol")
    await chat.say("alice", "/mentor cadence monthly thu 14:00 @carol")
    await chat.say("alice", "/mentor pause until 2027-01-10 @carol")
    both = await chat.say("alice", "/mentor cadence")
    assert both.splitlines() == [
        "Check-ins with <@bob>: every Monday at 10:00 (UTC). Next one: Mon 30 Nov, 10:00 (UTC).",
        "Check-ins with <@carol>: the first Thursday of each month at 14:00 (UTC). They start "
        "again when the pause ends, Sun 10 Jan, 00:00 (UTC), or earlier with `/mentor resume`. "
        "The first one after the pause: Thu 4 Feb, 14:00 (UTC).",
        "Change it with `/mentor cadence @partner <weekly|biweekly|monthly> [weekday] [HH:MM] "
        "[timezone]`, like `/mentor cadence biweekly thu 9:30 Europe/Berlin`.",
    ]
    assert (await chat.say("alice", "/mentor cadence @carol")).startswith(
        "Check-ins with <@carol>: the first Thursday"
    )
    assert "not in a mentoring pair" in await chat.say("zoe", "/mentor cadence")


async def test_a_new_rhythm_starts_after_the_check_in_open_now(chat: Chat) -> None:
    """Monday's check-in is open until Wednesday; alice moves the rhythm to Tuesdays.
    Before, "Next one: Tue 1 Dec" came with a heads-up, and then no check-in (one was
    open): now the first on the new rhythm is after the open one, and said so."""
    await pair_up(chat, "alice", "bob")
    await chat.advance(TO_FIRST_CHECKIN)
    assert await chat.say("alice", "/mentor cadence weekly tue 15:00") == (
        "Check-ins are now every Tuesday at 15:00 (UTC). Next one: Tue 8 Dec, 15:00 (UTC), "
        "after the check-in open now (it runs until Wed 2 Dec, 10:00 (UTC))."
    )
    assert chat.dms("bob")[-1] == (
        "<@alice> set your check-ins to every Tuesday at 15:00 (UTC). Next one: Tue 8 Dec, "
        "15:00 (UTC), after the check-in open now (it runs until Wed 2 Dec, 10:00 (UTC))."
    )
    heads_ups = len(dms_starting(chat, "bob", HEADS_UP))
    await chat.advance(timedelta(days=2))  # past Tue 1 Dec, 15:00
    assert len(dms_starting(chat, "bob", HEADS_UP)) == heads_ups
    pair = await the_pair(chat)
    assert pair.next_checkin_at == utc(12, 8, 15)


async def test_every_other_week_set_on_the_day_of_the_open_check_in_counts_from_it(
    chat: Chat,
) -> None:
    """Monday's check-in is open; alice sets every other Monday. The open one is the new
    rhythm's first: the next is in two weeks, not next Monday (every other week counts
    from the soonest Monday, which would be next week's, were none open)."""
    await pair_up(chat, "alice", "bob")
    await chat.advance(TO_FIRST_CHECKIN + timedelta(hours=2))
    assert (await chat.say("alice", "/mentor cadence every 2 weeks")).startswith(
        "Check-ins are now every other Monday at 10:00 (UTC). Next one: Mon 14 Dec, 10:00 (UTC)."
    )
    assert (await the_pair(chat)).cadence_anchor == date(2026, 11, 30)
    # Every other Thursday: its first is this week's, after the open one closes.
    assert (await chat.say("alice", "/mentor cadence biweekly thu")).startswith(
        "Check-ins are now every other Thursday at 10:00 (UTC). Next one: Thu 3 Dec, 10:00 (UTC)."
    )


async def test_a_check_in_started_the_day_before_one_planned_takes_its_place(
    chat: Chat,
) -> None:
    """After Sunday's heads-up for Monday, alice starts a check-in: Monday's falls in its
    48 hours, and one check-in runs at a time, so it takes Monday's place. Before, her
    answer said nothing of it, and status still showed Monday's as next."""
    await pair_up(chat, "alice", "bob")
    await chat.advance(TO_HEADS_UP + timedelta(hours=2))  # Sunday 12:00
    assert await chat.say("alice", "/mentor checkin") == (
        "Check-in started: I've sent you and <@bob> the questions in DMs. It takes the "
        "place of the one planned for Mon 30 Nov, 10:00 (UTC); the next is Mon 7 Dec, "
        "10:00 (UTC)."
    )
    assert (await the_pair(chat)).next_checkin_at == utc(12, 7, 10)


async def test_a_cadence_change_keeps_what_it_does_not_say(chat: Chat) -> None:
    """``/mentor cadence biweekly`` after "weekly tue 15:00 Europe/London" changes the
    rhythm only: the day, the time and the timezone agreed stay (before, they went back
    to Monday 10:00). A time typed with no timezone is the typer's clock, as before."""
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", "/mentor cadence weekly tue 15:00 Europe/London")
    assert (await chat.say("alice", "/mentor cadence biweekly")).startswith(
        "Check-ins are now every other Tuesday at 15:00 (Europe/London)."
    )
    assert (await chat.say("alice", "/mentor cadence monthly")).startswith(
        "Check-ins are now the first Tuesday of each month at 15:00 (Europe/London)."
    )
    assert (await chat.say("bob", "/mentor cadence fri")).startswith(
        "Check-ins are now the first Friday of each month at 15:00 (Europe/London)."
    )
    assert (await chat.say("bob", "/mentor cadence Europe/Berlin")).startswith(
        "Check-ins are now the first Friday of each month at 15:00 (Europe/Berlin)."
    )
    await chat.say("alice", "/mentor config timezone Asia/Tokyo")
    assert (await chat.say("alice", "/mentor cadence weekly 9:30")).startswith(
        "Check-ins are now every Friday at 09:30 (Asia/Tokyo)."
    )


async def test_the_rhythm_the_pair_has_set_again_changes_nothing_and_tells_nobody(
    chat: Chat,
) -> None:
    """It said "Check-ins are now ...", DMed the partner "@bob set your check-ins to ...",
    and started the rhythm afresh: a skip of the next check-in was undone."""
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", "/mentor cadence weekly tue 15:00 Europe/London")
    await chat.say("bob", "/mentor skip")
    before = await snapshot(chat)
    alice_dms = len(chat.dms("alice"))
    for words in ("weekly tue 15:00 Europe/London", "weekly", "tuesday 3pm"):
        assert await chat.say("bob", f"/mentor cadence {words}") == (
            "Check-ins are already every Tuesday at 15:00 (Europe/London), so nothing "
            "changed. Next one: Tue 8 Dec, 15:00 (Europe/London)."
        )
    assert await snapshot(chat) == before
    assert len(chat.dms("alice")) == alice_dms
    # A paused pair says when they start again.
    await chat.say("alice", "/mentor pause until 2026-12-20")
    assert (await chat.say("alice", "/mentor cadence weekly")).startswith(
        "Check-ins are already every Tuesday at 15:00 (Europe/London), so nothing changed. "
        "They start again when the pause ends,"
    )
    # A change is a change, as before.
    assert (await chat.say("alice", "/mentor cadence biweekly")).startswith(
        "Check-ins are now every other Tuesday"
    )


async def test_the_proposers_timezone_is_the_default(chat: Chat) -> None:
    assert await chat.say("alice", "/mentor config timezone Asia/Tokyo") == (
        "Your timezone is now Asia/Tokyo."
    )
    assert await chat.say("alice", "/mentor config timezone asia/tokyo") == (
        "Your timezone is already Asia/Tokyo."
    )
    await pair_up(chat, "alice", "bob")
    pair = await the_pair(chat)
    assert pair.timezone == "Asia/Tokyo"
    assert pair.next_checkin_at == utc(11, 30, 1)  # Monday 10:00 in Tokyo
    assert "Check-ins: every Monday at 10:00 (Asia/Tokyo)" in chat.dms("alice")[-1]

    # bob has no timezone of his own: the pair's stays.
    answer = await chat.say("bob", "/mentor cadence thu 9:30")
    assert answer == (
        "Check-ins are now every Thursday at 09:30 (Asia/Tokyo). "
        "Next one: Thu 26 Nov, 09:30 (Asia/Tokyo)."
    )
    assert (await the_pair(chat)).next_checkin_at == utc(11, 26, 0, 30)

    # A named zone wins over the default.
    await chat.say("alice", "/mentor cadence thu 9:30 Europe/Berlin")
    pair = await the_pair(chat)
    assert pair.timezone == "Europe/Berlin" and pair.next_checkin_at == utc(11, 26, 8, 30)

    # Without a timezone anywhere, UTC.
    await pair_up(chat, "carol", "dave")
    carol_and_dave = await the_pair(chat, 2)
    assert carol_and_dave.timezone == "UTC"
    assert carol_and_dave.next_checkin_at == utc(11, 30, 10)


async def test_the_cadence_setters_own_timezone_is_the_default(chat: Chat) -> None:
    await chat.say("bob", "/mentor config timezone America/Chicago")
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", "/mentor cadence wed 9am")
    pair = await the_pair(chat)
    assert pair.timezone == "America/Chicago"
    assert pair.next_checkin_at == utc(11, 25, 15)  # 06:00 in Chicago now: later today


@pytest.mark.parametrize("zone", ["EST", "Japan"])
async def test_a_timezone_accepted_by_config_is_the_cadence_default(chat: Chat, zone: str) -> None:
    await chat.say("alice", f"/mentor config timezone {zone}")
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor cadence thu 9:30")
    async with chat.database.transaction() as session:
        alice = (
            await session.execute(select(Member).where(Member.external_id == "alice"))
        ).scalar_one()
    pair = await the_pair(chat)
    assert pair.next_checkin_at is not None
    # Either config refused the name, or the check-in is at 09:30 in alice's own zone.
    local = pair.next_checkin_at.astimezone(ZoneInfo(alice.timezone or "UTC"))
    assert f"{local:%H:%M}" == "09:30"


# --- status ---------------------------------------------------------------------------------


async def test_status_shows_the_next_check_in_in_each_members_own_time(chat: Chat) -> None:
    await chat.say("alice", "/mentor config timezone Europe/Berlin")
    await chat.say("bob", "/mentor config timezone America/New_York")
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor cadence mon 3pm")  # 14:00 UTC, 09:00 in New York
    await chat.say("bob", "/win shipped the login page")
    await chat.say("bob", "/win fixed the flaky test")
    await chat.say("alice", "/win gave a talk")
    await chat.say("bob", "/mentor milestone add Give a talk")
    await chat.say("bob", "/mentor milestone add Ship the CLI")
    await chat.say("alice", "/mentor milestone done 1")
    await chat.say("bob", f"/mentor feedback {QUESTION}")

    await chat.advance(timedelta(days=5, hours=2))  # Monday 30 Nov, 14:00 UTC
    assert len(dms_starting(chat, "alice", PROMPT)) == len(dms_starting(chat, "bob", PROMPT)) == 1
    await answer_checkin(chat, "alice", "bob's first PR landed")
    await answer_checkin(chat, "bob", "the login page")
    [shared] = [dm for dm in chat.dms("bob") if "You've both answered." in dm]
    assert "Thanks! You've both answered. 📋 <@alice>'s check-in answers:" in shared
    # His look back at "Give a talk" still waits for a reply: the same DM says so.
    assert shared.startswith("Your look back with <@alice> is still open: your next reply "), shared

    mine = await status(chat, "alice")
    # Her first win's milestone is her own, of no pair: said once, above the pair's
    # goals (before, "Milestones: 1 done, 1 open" alone, right after "You reached a
    # milestone: First win!").
    assert mine == (
        "Your mentoring at a glance:\n"
        "Milestones of your own: First win\n"
        "You mentoring <@bob>\n"
        "State: active\n"
        "Check-ins: every Monday at 15:00 (Europe/Berlin)\n"
        "Next check-in: Mon 7 Dec, 15:00 (Europe/Berlin) for you; "
        "Mon 7 Dec, 09:00 (America/New_York) for <@bob>\n"
        "Streak: 1 check-in in a row\n"
        "Open feedback: 1\n"
        "Milestones: 1 done, 1 open\n"
        "Wins this month: you 1, <@bob> 2"
    )
    theirs = await status(chat, "bob")
    assert "<@alice> mentoring you" in theirs
    assert (
        "Next check-in: Mon 7 Dec, 09:00 (America/New_York) for you; "
        "Mon 7 Dec, 15:00 (Europe/Berlin) for <@alice>"
    ) in theirs
    assert "Wins this month: you 2, <@alice> 1" in theirs


async def test_status_says_who_has_answered_the_open_check_in(chat: Chat) -> None:
    """While a check-in is open, each reads how far they and their partner have answered
    it, and when it closes, in their own time; once it is shared the line is gone."""
    await chat.say("bob", "/mentor config timezone Asia/Tokyo")
    await pair_up(chat, "alice", "bob")
    await chat.advance(TO_FIRST_CHECKIN)  # Monday 30 Nov, 10:00 UTC
    assert (
        "Check-in open: neither of you has answered yet (it closes Wed 2 Dec, 10:00 (UTC))"
        in await status(chat, "alice")
    )
    await answer_checkin(chat, "alice", "a good week")
    assert (
        "Check-in open: you've answered; waiting for <@bob> (it closes Wed 2 Dec, 10:00 (UTC))"
        in await status(chat, "alice")
    )
    assert (
        "Check-in open: you haven't answered yet; <@alice> has answered "
        "(it closes Wed 2 Dec, 19:00 (Asia/Tokyo))"
    ) in await status(chat, "bob")
    await chat.click("bob", "Great 🙌")  # one question of four
    assert "Check-in open: you've answered part of it; <@alice> has answered" in await status(
        chat, "bob"
    )
    await answer_checkin(chat, "bob", "the login page")
    assert "Check-in open" not in await status(chat, "alice")


async def test_status_of_a_paused_pair_says_until_when(chat: Chat) -> None:
    await chat.say("bob", "/mentor config timezone Asia/Tokyo")
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor pause 2w")
    mine = await status(chat, "alice")
    assert "State: paused until Wed 9 Dec, 12:00 (UTC)" in mine
    # The first check-in after the pause, in each one's clock, as the pause's end says
    # it (before, a paused pair's status named none).
    assert (
        "Next check-in: Mon 14 Dec, 10:00 (UTC) for you; Mon 14 Dec, 19:00 (Asia/Tokyo) for "
        "<@bob>, once the pause is over"
    ) in mine
    theirs = await status(chat, "bob")
    assert "State: paused until Wed 9 Dec, 21:00 (Asia/Tokyo)" in theirs
    assert "Next check-in: Mon 14 Dec, 19:00 (Asia/Tokyo) for you;" in theirs
    await chat.advance(timedelta(days=14))
    assert "Next check-in: Mon 14 Dec, 10:00 (UTC)" in chat.dms("alice")[-1]  # as said


async def test_status_of_a_pair_paused_after_skips_names_the_check_in_it_kept(
    chat: Chat,
) -> None:
    """Two check-ins skipped, then a pause shorter than them: the pause's end does not
    bring back a skipped one, and status names the one it will be."""
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor skip")
    await chat.say("alice", "/mentor skip")  # next: Mon 14 Dec
    await chat.say("alice", "/mentor pause 3d")
    assert "Next check-in: Mon 14 Dec, 10:00 (UTC), for both of you, once the pause" in (
        await status(chat, "alice")
    )


async def test_a_new_rhythm_for_a_paused_pair_says_when_check_ins_start_again(
    chat: Chat,
) -> None:
    """The pair is paused, not waiting to be active: each hears when the pause ends,
    in their own clock, and the first check-in then (monthly: weeks after the pause)."""
    await chat.say("bob", "/mentor config timezone Asia/Tokyo")
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor pause 2w")
    assert await chat.say("alice", "/mentor cadence monthly") == (
        "Check-ins are now the first Monday of each month at 10:00 (UTC). They start again "
        "when the pause ends, Wed 9 Dec, 12:00 (UTC), or earlier with `/mentor resume`. "
        "The first one after the pause: Mon 4 Jan, 10:00 (UTC)."
    )
    assert chat.dms("bob")[-1] == (
        "<@alice> set your check-ins to the first Monday of each month at 10:00 (UTC). "
        "They start again when the pause ends, Wed 9 Dec, 21:00 (Asia/Tokyo), or earlier "
        "with `/mentor resume`. The first one after the pause: Mon 4 Jan, 19:00 (Asia/Tokyo)."
    )
    # The pause's end sets that one.
    await chat.advance(timedelta(days=15))
    assert "\nNext check-in: Mon 4 Jan, 10:00 (UTC) for you;" in await status(chat, "alice")


# --- the check-ins themselves ---------------------------------------------------------------


async def test_check_ins_keep_their_local_time_across_the_spring_change(chat: Chat) -> None:
    """Berlin moves its clocks on 28 March 2027: 10:00 there is 09:00 UTC before, 08:00 after."""
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor cadence monthly Europe/Berlin")
    await chat.advance(utc(4, 6, 0, year=2027) - START)
    assert [at for at, _ in await checkins(chat)] == [
        utc(12, 7, 9),
        utc(1, 4, 9, year=2027),
        utc(2, 1, 9, year=2027),
        utc(3, 1, 9, year=2027),
        utc(4, 5, 8, year=2027),
    ]
    assert len(dms_starting(chat, "bob", PROMPT)) == 5
    assert len(dms_starting(chat, "bob", HEADS_UP)) == 5


# --- quiet hours ----------------------------------------------------------------------------


async def test_a_prompt_due_at_night_waits_for_the_recipients_morning(chat: Chat) -> None:
    """Monday 10:00 UTC is 02:00 in Los Angeles: bob gets everything at his 08:00."""
    await chat.say("bob", "/mentor config timezone America/Los_Angeles")
    await pair_up(chat, "alice", "bob")

    await chat.advance(TO_HEADS_UP)  # Sunday 10:00 UTC
    assert len(dms_starting(chat, "alice", HEADS_UP)) == 1
    assert dms_starting(chat, "bob", HEADS_UP) == []
    await chat.advance(timedelta(hours=6))  # 08:00 in Los Angeles
    assert dms_starting(chat, "bob", HEADS_UP) == [
        "Heads-up: your check-in with <@alice> is tomorrow, Mon 30 Nov, 02:00 "
        "(America/Los_Angeles). Its questions come to you at 08:00, after your quiet "
        "hours. If this one doesn't suit you both, you can skip it."
    ]
    # The status says it too, to each of them: bob in his night, alice of bob's.
    assert (
        "Next check-in: Mon 30 Nov, 02:00 (America/Los_Angeles) for you; Mon 30 Nov, "
        "10:00 (UTC) for <@alice>\nYour questions come at 08:00, after your quiet hours.\n"
        "Streak" in await status(chat, "bob")
    )
    assert (
        "Next check-in: Mon 30 Nov, 10:00 (UTC) for you; Mon 30 Nov, 02:00 "
        "(America/Los_Angeles) for <@bob>\n<@bob>'s questions come at 08:00, after their "
        "quiet hours.\nStreak" in await status(chat, "alice")
    )

    await chat.advance(timedelta(hours=18))  # Monday 10:00 UTC
    assert len(dms_starting(chat, "alice", PROMPT)) == 1
    assert dms_starting(chat, "bob", PROMPT) == []
    (waiting,) = await outbox_to(chat, "bob", PROMPT)
    assert waiting.status == OutboxStatus.PENDING
    assert waiting.next_attempt_at == utc(11, 30, 16)  # 08:00 in Los Angeles

    await chat.advance(timedelta(hours=5, minutes=59))
    assert dms_starting(chat, "bob", PROMPT) == []
    await chat.advance(timedelta(minutes=1))
    assert len(dms_starting(chat, "bob", PROMPT)) == 1
    (sent,) = await outbox_to(chat, "bob", PROMPT)
    assert sent.sent_at == utc(11, 30, 16)

    # The nudge comes a day after bob got the prompt, in his daytime too.
    await chat.advance(timedelta(hours=23, minutes=59))
    assert dms_starting(chat, "bob", NUDGE) == []
    await chat.advance(timedelta(minutes=1))
    assert len(dms_starting(chat, "bob", NUDGE)) == 1
    for message in await outbox_to(chat, "bob", ""):
        if message.created_at < utc(11, 29, 10):
            continue  # alice's invitation, sent because she acted
        assert message.sent_at is not None
        assert not in_quiet_hours(message.sent_at, "America/Los_Angeles")


async def test_a_check_in_started_by_hand_waits_for_the_partners_morning(chat: Chat) -> None:
    await chat.say("bob", "/mentor config timezone America/Los_Angeles")
    await pair_up(chat, "alice", "bob")
    answer = await chat.say("alice", "/mentor checkin")  # 04:00 in Los Angeles
    assert answer == "Check-in started: I've sent you and <@bob> the questions in DMs."
    assert len(dms_starting(chat, "alice", PROMPT)) == 1
    assert dms_starting(chat, "bob", PROMPT) == []
    await chat.advance(timedelta(hours=3, minutes=59))
    assert dms_starting(chat, "bob", PROMPT) == []
    await chat.advance(timedelta(minutes=1))
    assert len(dms_starting(chat, "bob", PROMPT)) == 1


async def test_whoever_asks_for_a_check_in_at_night_gets_it_at_once(chat: Chat) -> None:
    await chat.say("bob", "/mentor config timezone America/Los_Angeles")
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", "/mentor checkin")  # 04:00 for bob, noon for alice
    assert len(dms_starting(chat, "bob", PROMPT)) == 1
    assert len(dms_starting(chat, "alice", PROMPT)) == 1


async def test_a_heads_up_held_till_morning_says_today(chat: Chat) -> None:
    """The check-in is Monday 20:30 UTC, 21:30 in Berlin. Bob's heads-up falls on Sunday
    21:30 there, in his quiet hours: it waits for his Monday 08:00, when the check-in is
    today. The words are chosen when it is sent, in his zone."""
    await chat.say("bob", "/mentor config timezone Europe/Berlin")
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor cadence weekly mon 20:30")
    await chat.advance(utc(11, 29, 20, 30) - chat.clock.now())
    assert len(dms_starting(chat, "alice", HEADS_UP)) == 1
    assert dms_starting(chat, "bob", HEADS_UP) == []
    await chat.advance(timedelta(hours=10, minutes=30))  # Monday 08:00 in Berlin
    assert dms_starting(chat, "bob", HEADS_UP) == [
        "Heads-up: your check-in with <@alice> is today, Mon 30 Nov, 21:30 "
        "(Europe/Berlin). Its questions come to you at 08:00 the next morning, after your "
        "quiet hours. If this one doesn't suit you both, you can skip it."
    ]
    assert "Your questions come at 08:00 the next morning" in await status(chat, "bob")
    alices = await status(chat, "alice")  # 20:30 is in her day
    assert "Your questions come" not in alices
    assert "<@bob>'s questions come at 08:00 the next morning" in alices


# --- the heads-up and [Skip this one] -------------------------------------------------------


async def test_both_pressing_skip_this_one_at_once_skip_it_once(chat: Chat) -> None:
    """alice and bob each press [Skip this one] on their heads-up at the same moment (on
    PostgreSQL, two transactions at once): one skips it, the other is told it is skipped
    already, and each hears of the skip once. The pair's row is locked while a skip or an
    undo reads it; before, both read the same next check-in, both "skipped" it, and each
    was told twice."""
    await pair_up(chat, "alice", "bob")
    for _ in range(4):  # each round, the next heads-up
        heads_up = (await the_pair(chat)).heads_up_at
        assert heads_up is not None
        await chat.advance(heads_up - chat.clock.now())
        buttons = {who: chat.buttons(who) for who in ("alice", "bob")}
        assert [b.label for b in buttons["alice"]] == ["Skip this one"], buttons
        before = {who: len(chat.dms(who)) for who in ("alice", "bob")}
        answers = await asyncio.gather(
            *(chat.press(who, buttons[who][0]) for who in ("alice", "bob"))
        )
        done = [a for a in answers if a.startswith("Skipped the check-in of")]
        assert len(done) == 1, answers
        [other] = [a for a in answers if a not in done]
        assert other.startswith("That check-in is no longer planned"), answers
        told = {who: chat.dms(who)[before[who] :] for who in ("alice", "bob")}
        assert sorted(len(dms) for dms in told.values()) == [0, 1], told


async def test_both_changing_the_rhythm_at_once_each_hear_it_once(chat: Chat) -> None:
    """alice and bob type the same pause, resume or cadence at one moment: one does it
    and tells the other; the second finds it done ("already …", "aren't paused") and
    tells nobody. Before, on PostgreSQL both did it and each told the other."""
    await pair_up(chat, "alice", "bob")
    for line, unchanged in (
        ("/mentor pause 1w", "Your check-ins are already paused until"),
        ("/mentor resume", "Your check-ins with "),
        ("/mentor cadence biweekly thu 11:00", "Check-ins are already every other Thursday"),
        ("/mentor skip", "Skipped the check-in of Thu 10 Dec"),  # then the one after
    ):
        before = {who: len(chat.dms(who)) for who in ("alice", "bob")}
        answers = await asyncio.gather(chat.say("alice", line), chat.say("bob", line))
        assert sum(a.startswith(unchanged) for a in answers) == 1, (line, answers)
        told = [dm for who in ("alice", "bob") for dm in chat.dms(who)[before[who] :]]
        expected = 2 if line == "/mentor skip" else 1  # two skips: each tells the other
        assert len(told) == expected, (line, told)


async def test_the_heads_up_the_day_before_offers_to_skip_this_one(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.advance(TO_HEADS_UP - timedelta(minutes=1))
    assert dms_starting(chat, "alice", HEADS_UP) == dms_starting(chat, "bob", HEADS_UP) == []

    await chat.advance(timedelta(minutes=1))  # Sunday 10:00
    assert dms_starting(chat, "bob", HEADS_UP) == [
        "Heads-up: your check-in with <@alice> is tomorrow, Mon 30 Nov, 10:00 (UTC). "
        "If this one doesn't suit you both, you can skip it."
    ]
    assert [b.label for b in chat.buttons("bob")] == ["Skip this one"]
    assert dms_starting(chat, "alice", HEADS_UP) == [
        "Heads-up: your check-in with <@bob> is tomorrow, Mon 30 Nov, 10:00 (UTC). "
        "If this one doesn't suit you both, you can skip it."
    ]

    answer = await chat.click("bob", "Skip this one")
    assert answer == (
        "Skipped the check-in of Mon 30 Nov, 10:00 (UTC). Next one: Mon 7 Dec, 10:00 (UTC)."
    )
    assert chat.dms("alice")[-1] == (
        "<@bob> skipped your check-in of Mon 30 Nov, 10:00 (UTC). The one after is "
        "Mon 7 Dec, 10:00 (UTC)."
    )
    pair = await the_pair(chat)
    assert pair.next_checkin_at == utc(12, 7, 10)
    assert pair.heads_up_at == utc(12, 6, 10)

    # A second click, by either of them, skips nothing more.
    before = await snapshot(chat)
    alice_before = chat.dms("alice")
    skipped = (
        "That check-in is no longer planned: it was skipped, or the rhythm changed. The "
        "next one is Mon 7 Dec, 10:00 (UTC)."
    )
    assert await chat.click("alice", "Skip this one") == skipped
    assert await chat.click("bob", "Skip this one") == skipped
    assert await snapshot(chat) == before
    assert chat.dms("alice") == alice_before

    await chat.advance(timedelta(days=8, minutes=-1))  # Monday 7 Dec, 09:59
    assert dms_starting(chat, "alice", PROMPT) == dms_starting(chat, "bob", PROMPT) == []
    assert len(dms_starting(chat, "bob", HEADS_UP)) == 2  # and one for 7 Dec
    await chat.advance(timedelta(minutes=1))
    assert len(dms_starting(chat, "alice", PROMPT)) == len(dms_starting(chat, "bob", PROMPT)) == 1
    assert await checkins(chat) == [(utc(12, 7, 10), CheckinState.OPEN)]


async def test_skip_this_one_says_whose_check_in_to_someone_in_two_pairs(chat: Chat) -> None:
    """bob's mentors share the Monday slot, so his two heads-ups are one event: one DM,
    with [Skip the one with Alice] and [Skip the one with Carol] (it said [Skip this one
    (1)] and (2), a place in the message to count). The reply to a press names the pair
    it skipped, only that pair's check-in moves, and the message stays, so the other
    button still works."""
    await pair_up(chat, "alice", "bob")
    await pair_up(chat, "carol", "bob")
    await chat.advance(TO_HEADS_UP)
    assert dms_starting(chat, "bob", HEADS_UP) == [
        "Heads-up: your check-in with <@alice> is tomorrow, Mon 30 Nov, 10:00 (UTC). "
        "If this one doesn't suit you both, you can skip it.\n\n"
        "Heads-up: your check-in with <@carol> is tomorrow, Mon 30 Nov, 10:00 (UTC). "
        "If this one doesn't suit you both, you can skip it."
    ]
    assert [b.label for b in chat.buttons("bob")] == [
        "Skip the one with Alice",
        "Skip the one with Carol",
    ]
    assert len(dms_starting(chat, "alice", HEADS_UP)) == 1
    # alice, in one pair, reads the button as before.
    assert [b.label for b in chat.buttons("alice")][-1] == "Skip this one"
    assert await chat.click("bob", "Skip the one with Carol") == (
        "Skipped your check-in with <@carol> on Mon 30 Nov, 10:00 (UTC). "
        "Next one: Mon 7 Dec, 10:00 (UTC)."
    )
    assert chat.dms("carol")[-1].startswith("<@bob> skipped your check-in of ")
    async with chat.database.transaction() as session:
        rows = await session.execute(select(Pair.next_checkin_at).order_by(Pair.id))
        assert list(rows.scalars()) == [utc(11, 30, 10), utc(12, 7, 10)]
    assert (await chat.click("bob", "Skip the one with Alice")).startswith(
        "Skipped your check-in with <@alice> on Mon 30 Nov, 10:00 (UTC)."
    )


async def test_joined_heads_ups_come_in_the_order_of_the_pairs(chat: Chat) -> None:
    """Two heads-ups at one moment are joined oldest pair first, whatever order the
    database finds them in: alice's pair, set again after carol's was made, still comes
    first (PostgreSQL returned rows due at one moment in the order of their last write,
    so (1) and (2) could swap between passes)."""
    await pair_up(chat, "alice", "bob")
    await pair_up(chat, "carol", "bob")
    # Another slot and back: the same moment as carol's pair, written again after it.
    await chat.say("alice", "/mentor cadence weekly tue 10:00")
    await chat.say("alice", "/mentor cadence weekly mon 10:00")
    await chat.advance(TO_HEADS_UP)
    [joined] = dms_starting(chat, "bob", HEADS_UP)
    assert joined.index("<@alice>") < joined.index("<@carol>")


async def test_skip_this_one_after_the_check_in_happened_does_nothing(chat: Chat) -> None:
    """A late [Skip this one] skips nothing, and says where that check-in is: open (so
    it can still be answered, or left), then over; it said "already skipped or has
    happened" for both, and for one skipped before."""
    await pair_up(chat, "alice", "bob")
    await chat.advance(TO_FIRST_CHECKIN)
    assert len(dms_starting(chat, "bob", PROMPT)) == 1
    before = await snapshot(chat)
    answer = await chat.click("bob", "Skip this one")
    assert answer == (
        "That check-in has started, so there is nothing to skip: answer it in DMs until "
        "Wed 2 Dec, 10:00 (UTC), or leave it. The next one is Mon 7 Dec, 10:00 (UTC)."
    )
    assert await snapshot(chat) == before
    assert (await the_pair(chat)).next_checkin_at == utc(12, 7, 10)
    await chat.advance(timedelta(days=2))  # it closed on Wednesday
    before = await snapshot(chat)
    assert await chat.click("alice", "Skip this one") == (
        "That check-in has happened. The next one is Mon 7 Dec, 10:00 (UTC)."
    )
    assert await snapshot(chat) == before


async def test_skip_this_one_after_mentor_skip_does_nothing_more(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.advance(TO_HEADS_UP)
    await chat.say("alice", "/mentor skip")
    assert "no longer planned: it was skipped" in await chat.click("bob", "Skip this one")
    assert (await the_pair(chat)).next_checkin_at == utc(12, 7, 10)


async def test_a_skip_is_undone_by_its_button_while_nothing_has_moved_since(chat: Chat) -> None:
    """bob skips twice, one more than he meant. [Undo skip] under the second brings it
    back, and the partner hears of it once; under the first, once the second is undone,
    that one too (undoing in turn). An undo after the rhythm changed, or once its time
    has come, changes nothing and says why."""
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", "/mentor skip")  # Mon 30 Nov
    first = next(b for b in chat.buttons("bob") if b.label == "Undo skip")
    await chat.say("bob", "/mentor skip")  # Mon 7 Dec; next Mon 14 Dec
    second = next(b for b in chat.buttons("bob") if b.label == "Undo skip")
    told = len(chat.dms("alice"))
    # The first one's undo waits for the second's: the next check-in moved since.
    assert await chat.press("bob", first) == (
        "Your check-ins changed since that skip, so I left them as they are. The next one "
        "is Mon 14 Dec, 10:00 (UTC)."
    )
    assert await chat.press("bob", second) == (
        "Undone: the check-in of Mon 7 Dec, 10:00 (UTC) is on again."
    )
    assert chat.dms("alice")[told:] == [
        "<@bob> took back their skip: your check-in of Mon 7 Dec, 10:00 (UTC) is on again."
    ]
    assert await chat.press("bob", second) == (
        "That skip is undone already: the next check-in is Mon 7 Dec, 10:00 (UTC)."
    )
    assert "Undone: the check-in of Mon 30 Nov" in await chat.press("bob", first)
    pair = await the_pair(chat)
    assert (pair.next_checkin_at, pair.heads_up_at) == (utc(11, 30, 10), utc(11, 29, 10))
    assert len(chat.dms("alice")) == told + 2

    # A new rhythm since: the skip's undo leaves it be.
    await chat.say("alice", "/mentor skip")
    undo = next(b for b in chat.buttons("alice") if b.label == "Undo skip")
    await chat.say("alice", "/mentor cadence tue")
    before = await snapshot(chat)
    assert (await chat.press("alice", undo)).startswith("Your check-ins changed since that skip")
    assert await snapshot(chat) == before

    # Its time come: skipped on the heads-up's day, undone after the check-in's hour.
    await chat.say("alice", "/mentor cadence mon")
    await chat.advance(TO_HEADS_UP)
    await chat.click("alice", "Skip this one")  # Mon 30 Nov
    late = next(b for b in chat.buttons("alice") if b.label == "Undo skip")
    await chat.advance(timedelta(days=1, hours=1))
    before = await snapshot(chat)
    assert await chat.press("alice", late) == (
        "The check-in of Mon 30 Nov, 10:00 (UTC) is past, so it can't come back. The next "
        "one is Mon 7 Dec, 10:00 (UTC)."
    )
    assert await snapshot(chat) == before
    # Forged: someone else's pair, or no numbers. Nothing changes.
    await chat.say("carol", "/mentor help")
    before = await snapshot(chat)
    assert await chat.press("carol", Button("Undo skip", undo.action_id)) == (
        "That pair isn't active any more, so there is no skip to undo."
    )
    for forged in ("unskip:1:x:2", "unskip:1", "unskip:1:2:3:4"):
        assert await chat.press("alice", Button("Undo skip", forged)) == GONE.reply
    assert await snapshot(chat) == before


async def test_an_undo_under_a_new_rhythm_with_the_same_next_day_changes_nothing(
    chat: Chat,
) -> None:
    """Skipped Mon 30 Nov (next: Mon 7 Dec), then made monthly: its next check-in is Mon
    7 Dec too, the first Monday of December, but the new rhythm has no Mon 30 Nov. The
    undo leaves it be, rather than telling alice a check-in is "on again"."""
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", "/mentor skip")
    undo = next(b for b in chat.buttons("bob") if b.label == "Undo skip")
    await chat.say("bob", "/mentor cadence monthly")
    before, told = await snapshot(chat), len(chat.dms("alice"))
    assert await chat.press("bob", undo) == (
        "Your check-ins changed since that skip, so I left them as they are. The next one "
        "is Mon 7 Dec, 10:00 (UTC)."
    )
    assert await snapshot(chat) == before
    assert len(chat.dms("alice")) == told


async def test_an_undo_pressed_again_once_its_check_in_came_says_where_it_is(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.advance(TO_HEADS_UP)
    await chat.click("bob", "Skip this one")
    undo = next(b for b in chat.buttons("bob") if b.label == "Undo skip")
    assert (await chat.press("bob", undo)).startswith("Undone: the check-in of Mon 30 Nov")
    await chat.advance(timedelta(days=1))  # Mon 30 Nov, 10:00: it is open
    before = await snapshot(chat)
    assert await chat.press("bob", undo) == (
        "That skip was undone already, and its check-in is open: answer it in DMs until Wed "
        "2 Dec, 10:00 (UTC). The next one is Mon 7 Dec, 10:00 (UTC)."
    )
    assert await snapshot(chat) == before


@pytest.mark.parametrize("stopped", [False, True], ids=["delivering", "delivery-stopped"])
async def test_the_heads_ups_of_a_pass_are_a_few_statements_however_many(
    chat: Chat, monkeypatch: pytest.MonkeyPatch, stopped: bool
) -> None:
    """Three pairs due their heads-ups at one moment, with two DMs written per
    statement: the claim (plain rows, both members with each pair), the pairs no longer
    due in one UPDATE, their workspace read once, and the six DMs in three INSERTs. In a
    workspace that refused us for good they are kept, marked failed, as any DM there."""
    monkeypatch.setattr(turn, "ROWS_PER_INSERT", 2)
    couples = (("alice", "bob"), ("carol", "dave"), ("erin", "frank"))
    for mentor, mentee in couples:
        await pair_up(chat, mentor, mentee)
    await chat.advance(TO_HEADS_UP - timedelta(minutes=1))
    if stopped:
        async with chat.database.transaction() as session:
            await session.execute(update(Workspace).values(delivery_stopped_at=chat.clock.now()))
    chat.clock.advance(timedelta(minutes=1))
    statements: Counter[str] = Counter()

    def record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        statements[statement_kind(statement)] += 1

    with listening(chat.database, "before_cursor_execute", record):
        report = await chat.engine.run_due(chat.clock.now())
    assert report.heads_ups == 3
    assert {kind: n for kind, n in statements.items() if "pairs" not in kind} == {
        "SELECT workspaces": 1,
        "INSERT outbox": 3,
    }
    # What is due, before and after; the claim; the UPDATE.
    assert {kind: n for kind, n in statements.items() if "pairs" in kind} == {
        "SELECT pairs": 3,
        "UPDATE pairs": 1,
    }
    await chat.deliver()
    for mentor, mentee in couples:
        for me, partner in ((mentor, mentee), (mentee, mentor)):
            (message,) = await outbox_to(chat, me, f"{HEADS_UP} with <@{partner}> is ")
            if stopped:
                assert (message.status, message.last_error) == (
                    OutboxStatus.FAILED,
                    "workspace unreachable",
                )
                assert dms_starting(chat, me, HEADS_UP) == []
            else:
                assert message.status == OutboxStatus.SENT
                assert dms_starting(chat, me, HEADS_UP) == [
                    f"Heads-up: your check-in with <@{partner}> is tomorrow, Mon 30 Nov, 10:00 "
                    "(UTC). If this one doesn't suit you both, you can skip it."
                ]
    for pair_id in (1, 2, 3):
        assert (await the_pair(chat, pair_id)).heads_up_at is None


async def test_no_heads_up_when_the_check_in_is_less_than_a_day_away(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor cadence thu 9:30")  # tomorrow morning
    assert (await the_pair(chat)).heads_up_at is None
    await chat.advance(timedelta(hours=22))
    assert dms_starting(chat, "alice", HEADS_UP) == []
    assert len(dms_starting(chat, "alice", PROMPT)) == 1


# --- skip -----------------------------------------------------------------------------------


async def test_mentor_skip_moves_the_next_check_in_one_period_and_tells_both(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    answer = await chat.say("bob", "/mentor skip")
    assert answer == (
        "Skipped the check-in of Mon 30 Nov, 10:00 (UTC). Next one: Mon 7 Dec, 10:00 (UTC)."
    )
    assert chat.dms("alice")[-1] == (
        "<@bob> skipped your check-in of Mon 30 Nov, 10:00 (UTC). The one after is "
        "Mon 7 Dec, 10:00 (UTC)."
    )
    pair = await the_pair(chat)
    assert (pair.next_checkin_at, pair.heads_up_at) == (utc(12, 7, 10), utc(12, 6, 10))

    await chat.advance(timedelta(days=11))  # past Monday 30 Nov, to Sunday 6 Dec 12:00
    assert dms_starting(chat, "alice", PROMPT) == dms_starting(chat, "bob", PROMPT) == []
    # No heads-up for the skipped one; one for the next.
    assert dms_starting(chat, "alice", HEADS_UP) == [
        "Heads-up: your check-in with <@bob> is tomorrow, Mon 7 Dec, 10:00 (UTC). "
        "If this one doesn't suit you both, you can skip it."
    ]
    await chat.advance(timedelta(hours=22))
    assert len(dms_starting(chat, "alice", PROMPT)) == 1


async def test_mentor_skip_while_a_check_in_is_open_says_that_one_stays(chat: Chat) -> None:
    """On the check-in's day, ``/mentor skip`` skips the next one, not the one open now:
    both are told which was skipped, and the skipper that the open one stays open."""
    await pair_up(chat, "alice", "bob")
    await chat.advance(TO_FIRST_CHECKIN)
    assert await chat.say("bob", "/mentor skip") == (
        "Skipped the check-in of Mon 7 Dec, 10:00 (UTC). Next one: Mon 14 Dec, 10:00 (UTC).\n"
        "The check-in open now is not skipped: answer it in DMs until Wed 2 Dec, 10:00 (UTC), "
        "or leave it."
    )
    assert chat.dms("alice")[-1] == (
        "<@bob> skipped your check-in of Mon 7 Dec, 10:00 (UTC). The one after is "
        "Mon 14 Dec, 10:00 (UTC)."
    )


async def test_a_pause_while_a_check_in_is_open_says_that_one_stays(chat: Chat) -> None:
    """A pause stops the check-ins to come, not the one open now, which still takes
    answers: the one who paused is told, as a skip says it."""
    await pair_up(chat, "alice", "bob")
    await chat.advance(TO_FIRST_CHECKIN)
    assert (await chat.say("bob", "/mentor pause 2w")).endswith(
        "\nThe check-in open now is not paused: answer it in DMs until Wed 2 Dec, 10:00 (UTC), "
        "or leave it."
    )
    await chat.click("bob", "OK 🙂")
    assert chat.dms("bob")[-1].startswith("What moved forward since last time?")
    # Paused again, to a new end: said again; with none open, not said.
    assert "The check-in open now is not paused" in await chat.say("bob", "/mentor pause 3w")
    await chat.advance(timedelta(days=3))
    assert "open now" not in await chat.say("bob", "/mentor pause 4w")


async def test_skipping_twice_and_skipping_every_other_week(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor skip")
    assert "Next one: Mon 14 Dec, 10:00 (UTC)." in await chat.say("alice", "/mentor skip")

    # A new rhythm starts afresh (the skips were of the old one): from next Monday.
    await chat.say("alice", "/mentor cadence every 2 weeks")
    assert (await the_pair(chat)).next_checkin_at == utc(11, 30, 10)
    answer = await chat.say("bob", "/mentor skip")
    assert answer.startswith(
        "Skipped the check-in of Mon 30 Nov, 10:00 (UTC). Next one: Mon 14 Dec, 10:00 (UTC)."
    )


async def test_a_skip_of_a_biweekly_pair_without_an_anchor_counts_from_the_skipped_one(
    chat: Chat,
) -> None:
    """A pair stored before anchors were has none: the skipped check-in counts as its
    rhythm's, so the next is two weeks after it, not one."""
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor cadence every 2 weeks")
    async with chat.database.transaction() as session:
        await session.execute(update(Pair).values(cadence_anchor=None))
    assert (await chat.say("alice", "/mentor skip")).startswith(
        "Skipped the check-in of Mon 30 Nov, 10:00 (UTC). Next one: Mon 14 Dec, 10:00 (UTC)."
    )
    assert (await the_pair(chat)).cadence_anchor == date(2026, 11, 30)


async def test_two_skips_on_a_biweekly_pair_say_how_long_until_the_next(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor cadence every 2 weeks")
    # Twelve days away: one skip in a weekly rhythm is no long gap, nothing more to say.
    await chat.say("alice", "/mentor cadence weekly")
    assert "weeks from now" not in await chat.say("alice", "/mentor skip")
    await chat.say("alice", "/mentor cadence every 2 weeks")
    # Nineteen days away after one skip: under three weeks, nothing more to say.
    first = await chat.say("alice", "/mentor skip")
    assert first == (
        "Skipped the check-in of Mon 30 Nov, 10:00 (UTC). Next one: Mon 14 Dec, 10:00 (UTC)."
    )
    second = await chat.say("alice", "/mentor skip")
    gap = (
        "\nThat is 4 weeks from now with no check-in. "
        "`/mentor checkin` starts one any time before then."
    )
    assert second == (
        "Skipped the check-in of Mon 14 Dec, 10:00 (UTC). Next one: Mon 28 Dec, 10:00 (UTC)." + gap
    )
    assert chat.dms("bob")[-1] == (
        "<@alice> skipped your check-in of Mon 14 Dec, 10:00 (UTC). The one after is "
        "Mon 28 Dec, 10:00 (UTC)." + gap
    )


async def test_skip_shows_each_member_their_own_time(chat: Chat) -> None:
    await chat.say("bob", "/mentor config timezone Asia/Kolkata")
    await pair_up(chat, "alice", "bob")
    answer = await chat.say("bob", "/mentor skip")
    assert answer == (
        "Skipped the check-in of Mon 30 Nov, 15:30 (Asia/Kolkata). "
        "Next one: Mon 7 Dec, 15:30 (Asia/Kolkata)."
    )
    assert chat.dms("alice")[-1] == (
        "<@bob> skipped your check-in of Mon 30 Nov, 10:00 (UTC). The one after is "
        "Mon 7 Dec, 10:00 (UTC)."
    )


# --- pause and resume -----------------------------------------------------------------------


async def test_pause_for_two_weeks_then_check_ins_resume_by_themselves(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    answer = await chat.say("alice", "/mentor pause 2w")
    assert answer == (
        "Paused until Wed 9 Dec, 12:00 (UTC). Check-ins start again by themselves then, "
        "or earlier with `/mentor resume`. The first one after the pause: Mon 14 Dec, 10:00 "
        "(UTC)."
    )
    assert chat.dms("bob")[-1] == (
        "<@alice> paused your check-ins until Wed 9 Dec, 12:00 (UTC). The first one after the "
        "pause: Mon 14 Dec, 10:00 (UTC)."
    )
    pair = await the_pair(chat)
    assert pair.state == PairState.PAUSED
    assert (pair.next_checkin_at, pair.heads_up_at, pair.paused_until) == (
        None,
        None,
        utc(12, 9, 12),
    )

    await chat.advance(timedelta(days=14, minutes=-1))
    for user in ("alice", "bob"):
        assert dms_starting(chat, user, PROMPT) == []
        assert dms_starting(chat, user, HEADS_UP) == []
        assert dms_starting(chat, user, WELCOME_BACK) == []
    assert await checkins(chat) == []

    await chat.advance(timedelta(minutes=1))  # Wednesday 9 Dec, 12:00
    assert dms_starting(chat, "alice", WELCOME_BACK) == [
        "Welcome back: your pause with <@bob> is over. Next check-in: Mon 14 Dec, 10:00 (UTC)."
    ]
    assert dms_starting(chat, "bob", WELCOME_BACK) == [
        "Welcome back: your pause with <@alice> is over. Next check-in: Mon 14 Dec, 10:00 (UTC)."
    ]
    pair = await the_pair(chat)
    assert (pair.state, pair.paused_until) == (PairState.ACTIVE, None)
    assert (pair.next_checkin_at, pair.heads_up_at) == (utc(12, 14, 10), utc(12, 13, 10))

    await chat.advance(timedelta(days=4, hours=22))
    assert len(dms_starting(chat, "bob", HEADS_UP)) == 1
    assert len(dms_starting(chat, "bob", PROMPT)) == 1
    assert len(dms_starting(chat, "bob", WELCOME_BACK)) == 1


async def test_pausing_again_changes_the_end_or_says_nothing_changed(chat: Chat) -> None:
    """A paused pair paused again: a new end is told as a change (with the old one); the
    same end changes nothing and tells the partner nothing."""
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor pause 2w")
    to_bob = len(chat.dms("bob"))
    assert await chat.say("alice", "/mentor pause until 2026-12-09") == (
        "Your pause now ends Wed 9 Dec, 00:00 (UTC) (it was to end Wed 9 Dec, 12:00 (UTC)). "
        "Check-ins start again by themselves then, or earlier with `/mentor resume`. The "
        "first one after the pause: Mon 14 Dec, 10:00 (UTC)."
    )
    assert chat.dms("bob")[to_bob:] == [
        "<@alice> changed your pause: check-ins start again Wed 9 Dec, 00:00 (UTC). The first "
        "one after the pause: Mon 14 Dec, 10:00 (UTC)."
    ]
    same = await said_alone(chat, "bob", "/mentor pause until 2026-12-09", unheard=("alice",))
    assert same == (
        "Your check-ins are already paused until Wed 9 Dec, 00:00 (UTC); nothing changed."
    )
    assert (await the_pair(chat)).paused_until == utc(12, 9, 0)


async def test_pause_resume_and_skip_name_the_partner_to_someone_in_two_pairs(
    chat: Chat,
) -> None:
    """alice mentors bob and carol: her answers say whose check-ins they paused, resumed
    or skipped (the resume picked the only paused pair by itself), as the heads-up's
    [Skip this one] does. With one pair they say it as before."""
    await pair_up(chat, "alice", "bob")
    await pair_up(chat, "alice", "carol")
    assert (await chat.say("alice", "/mentor pause @carol")).startswith(
        "Paused your check-ins with <@carol> until Wed 9 Dec, 12:00 (UTC)."
    )
    assert (await chat.say("alice", "/mentor pause @carol 3w")).startswith(
        "Your pause with <@carol> now ends Wed 16 Dec, 12:00 (UTC)"
    )
    assert await chat.say("alice", "/mentor resume") == (
        "Resumed your check-ins with <@carol>. Next one: Mon 30 Nov, 10:00 (UTC)."
    )
    await chat.say("alice", "/mentor skip")
    assert (await chat.click("alice", "With Bob (your mentee)")).endswith(
        "\nSkipped your check-in with <@bob> on Mon 30 Nov, 10:00 (UTC). "
        "Next one: Mon 7 Dec, 10:00 (UTC)."
    )


async def test_a_bare_pause_of_a_paused_pair_keeps_its_end(chat: Chat) -> None:
    """``/mentor pause`` with no length, while paused: it says until when and how to
    change it, rather than moving a three-week pause to the default two weeks (and
    telling the partner so)."""
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor pause 3w")
    again = await said_alone(chat, "bob", "/mentor pause", unheard=("alice",))
    assert again == (
        "Your check-ins with <@alice> are already paused until Wed 16 Dec, 12:00 (UTC); "
        "nothing changed. To change when they start again: `/mentor pause 2w` or "
        "`/mentor pause until 2027-01-10`; to start them now: `/mentor resume`."
    )
    assert (await the_pair(chat)).paused_until == utc(12, 16, 12)


async def test_pause_until_a_day_as_the_bot_writes_it(chat: Chat) -> None:
    """ "Wed 16 Dec", as status and every reply write a day, reads back; so do a day
    without its year (the next one), a weekday, and "for a month"."""
    await pair_up(chat, "alice", "bob")
    assert (await chat.say("alice", "/mentor pause until Wed 16 Dec")).startswith(
        "Paused until Wed 16 Dec, 00:00 (UTC)."
    )
    assert (await the_pair(chat)).paused_until == utc(12, 16, 0)
    assert (await chat.say("alice", "/mentor pause until 5 Jan")).startswith(
        "Your pause now ends Tue 5 Jan, 00:00 (UTC)"  # next year's, the next 5 Jan
    )
    assert (await the_pair(chat)).paused_until == utc(1, 5, 0, year=2027)
    assert (await chat.say("alice", "/mentor pause until monday")).startswith(
        "Your pause now ends Mon 30 Nov, 00:00 (UTC)"
    )
    assert (await chat.say("alice", "/mentor pause for a month")).startswith(
        "Your pause now ends Fri 25 Dec, 12:00 (UTC)"
    )
    # "tomorrow", as people say it: the start of the person's next day.
    assert (await chat.say("alice", "/mentor pause until tomorrow")).startswith(
        "Your pause now ends Thu 26 Nov, 00:00 (UTC)"
    )
    assert (await the_pair(chat)).paused_until == utc(11, 26, 0)


async def test_pause_until_a_date_in_two_timezones(chat: Chat) -> None:
    await chat.say("bob", "/mentor config timezone Asia/Tokyo")
    await pair_up(chat, "alice", "bob")
    answer = await chat.say("bob", "/mentor pause until 2027-01-10")
    # The date is bob's: the pause ends at midnight in Tokyo.
    assert answer.startswith("Paused until Sun 10 Jan, 00:00 (Asia/Tokyo).")
    assert chat.dms("alice")[-1] == (
        "<@bob> paused your check-ins until Sat 9 Jan, 15:00 (UTC). The first one after the "
        "pause: Mon 11 Jan, 10:00 (UTC)."
    )
    assert (await the_pair(chat)).paused_until == utc(1, 9, 15, year=2027)

    await chat.advance(utc(1, 9, 15, year=2027) - START - timedelta(minutes=1))
    assert dms_starting(chat, "alice", PROMPT) == dms_starting(chat, "bob", PROMPT) == []
    assert dms_starting(chat, "alice", HEADS_UP) == dms_starting(chat, "bob", HEADS_UP) == []
    assert await checkins(chat) == []

    await chat.advance(timedelta(minutes=1))
    assert dms_starting(chat, "alice", WELCOME_BACK) == [
        "Welcome back: your pause with <@bob> is over. Next check-in: Mon 11 Jan, 10:00 (UTC)."
    ]
    # Midnight in Tokyo: bob hears it at his 08:00.
    assert dms_starting(chat, "bob", WELCOME_BACK) == []
    await chat.advance(timedelta(hours=8))
    assert dms_starting(chat, "bob", WELCOME_BACK) == [
        "Welcome back: your pause with <@alice> is over. "
        "Next check-in: Mon 11 Jan, 19:00 (Asia/Tokyo)."
    ]
    assert (await the_pair(chat)).next_checkin_at == utc(1, 11, 10, year=2027)


async def test_resume_early_tells_both_and_cancels_the_automatic_resume(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor pause 2w")
    await chat.advance(timedelta(days=3))  # Saturday 28 Nov
    answer = await chat.say("bob", "/mentor resume")
    assert answer == "Resumed. Next check-in: Mon 30 Nov, 10:00 (UTC)."
    assert chat.dms("alice")[-1] == (
        "<@bob> resumed your check-ins. Next one: Mon 30 Nov, 10:00 (UTC)."
    )
    pair = await the_pair(chat)
    assert (pair.state, pair.paused_until) == (PairState.ACTIVE, None)
    assert (pair.next_checkin_at, pair.heads_up_at) == (utc(11, 30, 10), utc(11, 29, 10))

    await chat.advance(timedelta(days=14))
    assert dms_starting(chat, "alice", WELCOME_BACK) == []
    assert dms_starting(chat, "bob", WELCOME_BACK) == []
    assert len(dms_starting(chat, "bob", PROMPT)) == 2  # 30 Nov and 7 Dec


async def test_resume_when_not_paused_says_so(chat: Chat) -> None:
    """With whom, and when the next one is (it said only "Your check-ins aren't paused.")."""
    await pair_up(chat, "alice", "bob")
    before = await snapshot(chat)
    assert await chat.say("bob", "/mentor resume") == (
        "Your check-ins with <@alice> aren't paused; the next one is Mon 30 Nov, 10:00 (UTC)."
    )
    assert await snapshot(chat) == before


async def test_in_two_pairs_a_command_takes_the_only_pair_it_can_be_for(chat: Chat) -> None:
    """bob has two mentors and paused the check-ins with alice. With no partner named,
    /mentor resume is for the paused pair, and skip, checkin and pause for the running
    one: each takes it, rather than asking "which pair?" and then refusing the other.
    With none that fits, it says so and changes nothing."""
    await pair_up(chat, "alice", "bob")
    await pair_up(chat, "carol", "bob")
    await chat.say("bob", "/mentor pause 2w @alice")
    skipped = await chat.say("bob", "/mentor skip")
    # Taken by itself among two: the answer names whose.
    assert skipped.startswith("Skipped your check-in with <@carol> on Mon 30 Nov, 10:00 (UTC).")
    assert chat.dms("carol")[-1].startswith("<@bob> skipped your check-in of ")
    started = await chat.say("bob", "/mentor checkin")
    assert started == "Check-in started: I've sent you and <@carol> the questions in DMs."
    again = await chat.say("bob", "/mentor checkin")
    assert again == (
        "A check-in with <@carol> is already open; I've sent you its question again in DMs: "
        "How did it go since last time?"
    )
    assert (
        await chat.say("bob", "/mentor resume")
        == "Resumed your check-ins with <@alice>. Next one: Mon 30 Nov, 10:00 (UTC)."
    )
    assert chat.dms("alice")[-1].startswith("<@bob> resumed your check-ins.")
    before = await snapshot(chat)
    assert await chat.say("bob", "/mentor resume") == "None of your pairs' check-ins are paused."
    assert await snapshot(chat) == before
    # Both running: pause asks which.
    assert "Which one do you mean?" in await chat.say("bob", "/mentor pause 2w")
    await chat.say("bob", "/mentor pause 2w @alice")
    await chat.say("bob", "/mentor pause 2w @carol")
    before = await snapshot(chat)
    for command in ("/mentor skip", "/mentor checkin"):
        assert await chat.say("bob", command) == (
            "Your check-ins are paused in all your pairs. `/mentor resume` starts them again."
        )
    assert await snapshot(chat) == before


@pytest.mark.parametrize(
    ("words", "reason"),
    [
        ("until 2026-11-25", "Pick a date in the future to pause until, like 2027-01-10."),
        ("until 2026-11-01", "Pick a date in the future to pause until, like 2027-01-10."),
        (
            "until 2027-06-01",
            "A pause can last up to six months: `/mentor pause until 2027-05-27` at the "
            "latest. Nothing changed.",
        ),
        # A day and a weekday that do not go together: said, not guessed.
        ("until Fri 16 Dec", "16 Dec 2026 is a Wednesday, not a Friday. Nothing changed."),
        ("until 30 Feb", "There is no 30 Feb. Nothing changed."),
        ("until 29 Feb", "2027 has no 29 Feb. Nothing changed."),
        # Today as the bot writes it: gone by, not next year's 25 Nov.
        ("until Wed 25 Nov", "Pick a date in the future to pause until, like 2027-01-10."),
        ("until today", "Pick a date in the future to pause until, like 2027-01-10."),
        # (It said "`yesterday` is not a day I can read".)
        ("until yesterday", "Pick a date in the future to pause until, like 2027-01-10."),
    ],
)
async def test_a_pause_date_out_of_range_changes_nothing(
    chat: Chat, words: str, reason: str
) -> None:
    await pair_up(chat, "alice", "bob")
    before = await snapshot(chat)
    assert await chat.say("alice", f"/mentor pause {words}") == reason
    assert await snapshot(chat) == before


async def test_the_latest_pause_end_said_is_one_that_works(chat: Chat) -> None:
    """Refused a pause too long, someone copies the command the answer offers: it works."""
    await pair_up(chat, "alice", "bob")
    refused = await chat.say("alice", "/mentor pause until 2030-01-01")
    offered = refused.split("`")[1]
    assert offered == "/mentor pause until 2027-05-27"
    assert (await chat.say("alice", offered)).startswith("Paused until Thu 27 May, 00:00 (UTC).")


async def test_a_new_cadence_while_paused_starts_after_the_pause(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor pause 1w")
    answer = await chat.say("bob", "/mentor cadence thu 9:30")
    assert "Check-ins are now every Thursday at 09:30 (UTC)." in answer
    assert (await the_pair(chat)).next_checkin_at is None
    await chat.advance(timedelta(days=7))
    assert dms_starting(chat, "bob", WELCOME_BACK) == [
        "Welcome back: your pause with <@alice> is over. Next check-in: Thu 3 Dec, 09:30 (UTC)."
    ]


@pytest.mark.parametrize("command", ["/mentor skip", "/mentor checkin"])
async def test_skip_or_checkin_while_paused_says_the_pair_is_paused(
    chat: Chat, command: str
) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor pause 2w")
    answer = await chat.say("bob", command)
    assert "not in a mentoring pair" not in answer
    assert "paused" in answer


# --- anniversaries --------------------------------------------------------------------------


async def test_anniversaries_at_one_month_three_months_and_one_year(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor cadence monthly")  # fewer moments to walk through

    await chat.advance(utc(12, 25, 12) - START - timedelta(minutes=1))
    assert await auto_milestones(chat, "alice") == []
    await chat.advance(timedelta(minutes=1))
    assert await auto_milestones(chat, "alice") == [("p1-months-1", utc(12, 25, 12))]
    assert await auto_milestones(chat, "bob") == [("p1-months-1", utc(12, 25, 12))]
    # One message each: they reached it together (no second one about the other's copy).
    for user, partner in (("alice", "bob"), ("bob", "alice")):
        told = [dm for dm in chat.dms(user) if "1 month of mentoring" in dm]
        assert len(told) == 1, user
        assert told[0].startswith(
            f"🎉 You and <@{partner}> reached a milestone: *1 month of mentoring*!"
        )

    await chat.advance(utc(11, 26, 12, year=2027) - chat.clock.now())
    expected = [
        ("p1-months-1", utc(12, 25, 12)),
        ("p1-months-3", utc(2, 25, 12, year=2027)),
        ("p1-months-12", utc(11, 25, 12, year=2027)),
    ]
    assert await auto_milestones(chat, "alice") == expected
    assert await auto_milestones(chat, "bob") == expected
    for user, partner in (("alice", "bob"), ("bob", "alice")):
        for title in ("1 month of mentoring", "3 months of mentoring", "1 year of mentoring"):
            told = [dm.split("\n")[0] for dm in chat.dms(user) if f"*{title}*" in dm]
            assert told == [f"🎉 You and <@{partner}> reached a milestone: *{title}*!"], user
        assert not any("2 months" in dm or "6 months" in dm for dm in chat.dms(user))
    pair = await the_pair(chat)
    assert pair.anniversaries_reached == 3
    assert pair.next_anniversary_at == utc(11, 25, 12, year=2028)  # then every year
    listing = await chat.say("bob", "/mentor milestone list")
    assert (
        "Reached along the way: 1 month of mentoring (2026-12-25), "
        "3 months of mentoring (2027-02-25), 1 year of mentoring (2027-11-25)"
    ) in listing
    # The status counts them too, beside the pair's goals: "0 done" alone read as if the
    # milestones just celebrated had not counted. bob's first win is his, not the pair's.
    await chat.say("bob", "/win shipped it")
    await chat.say("bob", "/mentor milestone add Give a talk")
    assert "\nMilestones: 0 done, 1 open; 3 reached along the way\n" in await status(chat, "bob")


async def test_a_milestone_reached_in_two_pairs_is_listed_with_each_partner(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await pair_up(chat, "carol", "bob")
    await chat.say("bob", "/win shipped it")
    await chat.advance(utc(12, 25, 12) - START)
    listing = await chat.say("bob", "/mentor milestone list")
    assert listing.endswith(
        "Reached along the way: First win (2026-11-25), 1 month of mentoring with <@alice> "
        "(2026-12-25), 1 month of mentoring with <@carol> (2026-12-25)"
    )
    # An ended pair's too; one pair's alone needs no name.
    await chat.say("carol", "/mentor end")
    await chat.click("carol", "End pair")
    assert "1 month of mentoring with <@carol> (2026-12-25)" in await chat.say(
        "bob", "/mentor milestone list"
    )
    assert await chat.say("alice", "/mentor milestone list") == (
        "Milestones of your pair (you mentoring <@bob>):\nNone yet. Add one with "
        "`/mentor milestone add <title>`.\nReached along the way: 1 month of mentoring "
        "(2026-12-25)"
    )


async def test_anniversaries_go_to_the_channel_only_with_consent(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor cadence monthly")
    await chat.say("alice", "/mentor config shoutouts #wins")
    await chat.say("alice", "/mentor config consent on")

    await chat.advance(utc(12, 25, 12) - START)
    assert chat.posts("wins") == ["🎉 <@alice> reached a milestone: *1 month of mentoring*"]
    # bob reached it too: he hears of his own copy, not of alice's as well.
    assert not any("celebrated in <#wins>" in dm for dm in chat.dms("bob"))
    # bob was never asked: he is asked now, and nothing of his is posted yet.
    question = chat.dms("bob")[-1]
    assert question.startswith("🎉 You reached a milestone: *1 month of mentoring*!")
    assert "May I celebrate it with a shout-out in <#wins>?" in question
    assert "DMs only" in await chat.click("bob", "Keep it between us")
    assert chat.posts("wins") == ["🎉 <@alice> reached a milestone: *1 month of mentoring*"]
    assert chat.dms("bob")[-1] == (
        "🎉 You and <@alice> reached a milestone: *1 month of mentoring*!"
    )

    await chat.advance(utc(2, 25, 12, year=2027) - chat.clock.now())
    assert chat.posts("wins") == [
        "🎉 <@alice> reached a milestone: *1 month of mentoring*",
        "🎉 <@alice> reached a milestone: *3 months of mentoring*",
    ]
    assert "🎉 You and <@alice> reached a milestone: *3 months of mentoring*!" in chat.dms("bob")
    assert not any("3 months" in dm for dm in chat.dms("alice"))  # her shout-out is public
    assert sum("May I celebrate" in dm for dm in chat.dms("bob")) == 1

    await chat.say("bob", "/mentor config consent on")
    await chat.advance(utc(11, 25, 12, year=2027) - chat.clock.now())
    assert chat.posts("wins")[2:] == [
        "🎉 <@alice> reached a milestone: *1 year of mentoring*",
        "🎉 <@bob> reached a milestone: *1 year of mentoring*",
    ]


async def test_a_paused_pair_still_has_its_anniversary(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.advance(utc(12, 20, 12) - START)
    await chat.say("alice", "/mentor pause 2w")
    await chat.advance(timedelta(days=5))
    assert [code for code, _ in await auto_milestones(chat, "bob")] == ["p1-months-1"]


async def test_an_anniversary_waits_for_the_recipients_morning(chat: Chat) -> None:
    await chat.say("bob", "/mentor config timezone Australia/Sydney")
    await pair_up(chat, "alice", "bob")  # at 12:00 UTC, 23:00 in Sydney
    await chat.say("alice", "/mentor cadence monthly")
    await chat.advance(utc(12, 26, 12) - START)
    messages = await outbox_to(chat, "bob", "🎉")
    assert len(messages) == 1  # "You and @alice reached ...", once
    for message in messages:
        assert message.sent_at is not None
        assert not in_quiet_hours(message.sent_at, "Australia/Sydney")


# --- run_due: one entry point, idempotent, downtime caught up once --------------------------


async def test_a_check_in_missed_by_five_hours_is_sent_once(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    report = await jump(chat, TO_FIRST_CHECKIN + timedelta(hours=5))  # Monday 15:00
    assert (report.checkins_opened, report.checkins_missed) == (1, 0)
    assert report.heads_ups == 0  # "tomorrow" is over; no stale heads-up
    assert await checkins(chat) == [(utc(11, 30, 10), CheckinState.OPEN)]
    for user in ("alice", "bob"):
        assert len(dms_starting(chat, user, PROMPT)) == 1
        assert dms_starting(chat, user, HEADS_UP) == []
    pair = await the_pair(chat)
    assert (pair.next_checkin_at, pair.heads_up_at) == (utc(12, 7, 10), utc(12, 6, 10))

    before = await snapshot(chat)
    again = await chat.engine.run_due(chat.clock.now())
    assert again.total == 0
    assert await snapshot(chat) == before

    await chat.advance(timedelta(days=1))
    assert len(dms_starting(chat, "bob", PROMPT)) == 1


async def test_three_weeks_of_downtime_are_recorded_not_sent(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    seen_before = len(chat.recorder.seen)
    report = await jump(chat, timedelta(weeks=3))  # Wednesday 16 Dec; 30 Nov, 7 and 14 Dec missed
    assert (report.checkins_opened, report.checkins_missed, report.heads_ups) == (0, 1, 0)
    assert len(chat.recorder.seen) == seen_before  # not one message, let alone one a week
    assert await checkins(chat) == [(utc(11, 30, 10), CheckinState.MISSED)]
    pair = await the_pair(chat)
    assert pair.next_checkin_at == utc(12, 21, 10)
    assert pair.next_checkin_at > chat.clock.now()
    assert pair.heads_up_at == utc(12, 20, 10)

    before = await snapshot(chat)
    assert (await chat.engine.run_due(chat.clock.now())).total == 0
    assert await snapshot(chat) == before

    await chat.advance(timedelta(days=4, hours=22))  # Monday 21 Dec, 10:00
    assert len(dms_starting(chat, "alice", HEADS_UP)) == 1
    assert len(dms_starting(chat, "alice", PROMPT)) == len(dms_starting(chat, "bob", PROMPT)) == 1
    assert await checkins(chat) == [
        (utc(11, 30, 10), CheckinState.MISSED),
        (utc(12, 21, 10), CheckinState.OPEN),
    ]


async def test_a_missed_check_in_does_not_count_as_the_previous_one(chat: Chat) -> None:
    """The prompt after downtime lists the wins since the last check-in that happened."""
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", "/win wrote the RFC")
    await jump(chat, timedelta(weeks=3))
    await chat.advance(timedelta(days=4, hours=22))
    assert "• wrote the RFC" in dms_starting(chat, "bob", PROMPT)[0]


async def test_after_long_downtime_the_occurrence_missed_by_an_hour_is_still_sent(
    chat: Chat,
) -> None:
    await pair_up(chat, "alice", "bob")
    # Down from Wednesday 25 Nov until Monday 21 Dec 11:00, an hour after that week's one.
    report = await jump(chat, utc(12, 21, 11) - START)
    assert report.checkins_opened == 1
    assert len(dms_starting(chat, "alice", PROMPT)) == len(dms_starting(chat, "bob", PROMPT)) == 1
    assert (utc(12, 21, 10), CheckinState.OPEN) in await checkins(chat)
    assert (await the_pair(chat)).next_checkin_at == utc(12, 28, 10)


async def test_run_due_twice_at_every_due_moment_does_nothing_the_second_time(
    chat: Chat,
) -> None:
    """Several pairs in different rhythms and zones, walked through five weeks by hand: at
    each due moment the second ``run_due`` reports nothing and changes nothing."""
    await chat.say("bob", "/mentor config timezone America/Los_Angeles")
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", f"/mentor feedback {QUESTION}")
    await chat.say("alice", "Mostly. Slow down on the diagrams.")
    await pair_up(chat, "carol", "dave")
    await chat.say("carol", "/mentor pause 1w")
    await chat.say("erin", "/mentor config timezone Europe/Berlin")
    await pair_up(chat, "erin", "frank")
    await chat.say("erin", "/mentor cadence biweekly thu 9:30")
    await chat.say("alice", "/mentor config shoutouts #wins")
    await chat.say("erin", "/mentor config consent on")

    done = DueReport()
    end = START + timedelta(days=35)
    for _ in range(500):
        moment = await next_due_at(chat.database)
        if moment is None or moment > end:
            break
        chat.clock.set(max(moment, chat.clock.now()))
        first = await chat.engine.run_due(chat.clock.now())
        await chat.deliver()
        before = await snapshot(chat)
        again = await chat.engine.run_due(chat.clock.now())
        assert again == DueReport(), chat.clock.now()
        assert again.total == 0
        assert await snapshot(chat) == before, chat.clock.now()
        for name in vars(done):
            setattr(done, name, getattr(done, name) + getattr(first, name))
        later = await next_due_at(chat.database)
        assert later is None or later > chat.clock.now(), "something stays due"
    else:
        raise AssertionError("more due moments than expected")

    # alice-bob from 30 Nov, carol-dave after their pause, erin-frank every other Thursday.
    assert done.checkins_opened == 5 + 4 + 3
    assert done.heads_ups > 0 and done.timers > 0 and done.checkins_closed > 0
    assert (done.resumed, done.anniversaries, done.checkins_missed) == (1, 3, 0)
    assert chat.posts("wins") == ["🎉 <@erin> reached a milestone: *1 month of mentoring*"]


# --- ended pairs ----------------------------------------------------------------------------


async def test_a_heads_up_skip_of_a_pair_paused_since_says_it_is_paused(chat: Chat) -> None:
    """bob paused after the heads-up came. Its [Skip this one] says the check-ins are
    paused and until when, not "That pair isn't active any more" (it is his pair still);
    resumed, the same button skips that check-in."""
    await pair_up(chat, "alice", "bob")
    await chat.advance(TO_HEADS_UP)
    await chat.say("bob", "/mentor pause 1w")
    before = await snapshot(chat)
    assert await chat.click("bob", "Skip this one") == (
        "Your check-ins with <@alice> are paused until Sun 6 Dec, 10:00 (UTC). "
        "`/mentor resume` starts them again."
    )
    assert await snapshot(chat) == before
    await chat.say("bob", "/mentor resume")
    assert (await chat.click("bob", "Skip this one")).startswith(
        "Skipped the check-in of Mon 30 Nov, 10:00 (UTC)."
    )


async def test_an_ended_pair_gets_nothing_more(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await pair_up(chat, "carol", "dave")
    await chat.say("carol", "/mentor pause 2w")
    await chat.advance(TO_HEADS_UP)
    assert len(dms_starting(chat, "bob", HEADS_UP)) == 1

    await chat.say("alice", "/mentor end")
    await chat.click("alice", "End pair")
    await chat.say("dave", "/mentor end")
    await chat.click("dave", "End pair")
    for pair_id in (1, 2):
        pair = await the_pair(chat, pair_id)
        assert pair.state == PairState.ENDED
        assert (pair.next_checkin_at, pair.heads_up_at) == (None, None)
        assert (pair.paused_until, pair.next_anniversary_at) == (None, None)

    assert await chat.click("bob", "Skip this one") == (
        "That pair isn't active any more, so there was nothing to skip."
    )
    # They had pairs: not "yet".
    assert "not in a mentoring pair now" in await chat.say("bob", "/mentor skip")
    assert "not in a mentoring pair now" in await chat.say("dave", "/mentor resume")

    seen = {user: len(chat.dms(user)) for user in ("alice", "bob", "carol", "dave")}
    await chat.advance(timedelta(days=400))
    for user, count in seen.items():
        assert chat.dms(user)[count:] == [], user
    assert chat.posts("wins") == []
    assert await checkins(chat) == []
    assert (await chat.engine.run_due(chat.clock.now())).total == 0


async def test_ending_a_pair_during_an_open_check_in_sends_nothing_more(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.advance(TO_FIRST_CHECKIN + timedelta(hours=1))
    assert len(dms_starting(chat, "bob", PROMPT)) == 1
    await chat.say("alice", "/mentor end")
    await chat.click("alice", "End pair")
    seen = {user: len(chat.dms(user)) for user in ("alice", "bob")}
    await chat.advance(timedelta(days=3))
    for user, count in seen.items():
        assert chat.dms(user)[count:] == [], user


async def test_a_check_in_started_by_hand_is_not_followed_by_a_second_one(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.advance(TO_FIRST_CHECKIN - timedelta(hours=1))  # Monday 09:00
    await chat.say("alice", "/mentor checkin")
    await chat.advance(timedelta(hours=2))
    assert len(dms_starting(chat, "bob", PROMPT)) == 1
    assert [state for _, state in await checkins(chat)].count(CheckinState.OPEN) == 1


async def test_a_new_timezone_that_puts_a_check_in_at_night_says_so(chat: Chat) -> None:
    """The pair keeps its agreed time; bob's new clock puts it at 02:00, where his
    questions wait for his morning: he reads that, and how to change it, at once."""
    await pair_up(chat, "alice", "bob")
    assert await chat.say("bob", "/mentor config timezone America/Los_Angeles") == (
        "Your timezone is now America/Los_Angeles.\n"
        "⚠️ Your next check-in with <@alice> is Mon 30 Nov, 02:00 (America/Los_Angeles), "
        "outside 08:00-21:00 for you, so its questions will wait until Mon 30 Nov, 08:00 "
        "(America/Los_Angeles). If another time suits you both better, `/mentor cadence` "
        "changes it."
    )
    assert (await the_pair(chat)).next_checkin_at == utc(11, 30, 10)  # unchanged
    # In the day for him: nothing more to say.
    assert await chat.say("bob", "/mentor config timezone Asia/Tokyo") == (
        "Your timezone is now Asia/Tokyo."
    )


async def test_status_of_one_pair_by_its_partner(chat: Chat) -> None:
    """`/mentor status @carol` shows that pair only, as the other commands take a
    partner; someone not a partner is said so."""
    await pair_up(chat, "alice", "bob")
    await pair_up(chat, "carol", "bob")
    both = await status(chat, "bob")
    assert both.startswith("Your 2 pairs:")
    effects = await chat.send(
        CommandInvoked(user=chat.ref("bob"), command="mentor", text="status <@carol>")
    )
    (effect,) = effects
    content: Content = effect.content  # type: ignore[union-attr]
    assert content.text == "Your mentoring at a glance:"
    assert [f.label for f in content.fields] == ["<@carol> mentoring you"]
    assert await chat.say("bob", "/mentor status @zoe") == "You don't have a pair with <@zoe>."
    # Oneself named as the partner: said so, rather than "no pair with you".
    assert await chat.say("bob", "/mentor status @bob") == (
        "<@bob> is you: mention your partner instead, or no one."
    )
    assert "<@bob> is you" in await chat.say("bob", "/mentor skip @bob")


async def test_a_skip_before_a_pause_stays_skipped_when_it_resumes(chat: Chat) -> None:
    """bob skips Monday's check-in, then pauses for a few days: when the pause ends (by
    itself, or early with /mentor resume) the skipped Monday does not come back."""
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", "/mentor skip")  # Mon 30 Nov skipped: next Mon 7 Dec
    await chat.say("bob", "/mentor pause 2d")  # until Fri 27 Nov, 12:00
    await chat.advance(timedelta(days=2))
    assert dms_starting(chat, "bob", WELCOME_BACK) == [
        "Welcome back: your pause with <@alice> is over. Next check-in: Mon 7 Dec, 10:00 (UTC)."
    ]
    pair = await the_pair(chat)
    assert (pair.next_checkin_at, pair.resume_after) == (utc(12, 7, 10), None)
    await chat.advance(timedelta(days=4))  # past Mon 30 Nov: no prompt
    assert dms_starting(chat, "bob", PROMPT) == []

    # Early: skip Mon 7 Dec, pause a week, resume at once: Mon 14 Dec.
    await chat.say("alice", "/mentor skip")
    await chat.say("alice", "/mentor pause 1w")
    assert await chat.say("bob", "/mentor resume") == (
        "Resumed. Next check-in: Mon 14 Dec, 10:00 (UTC)."
    )


async def test_a_pause_without_a_skip_resumes_at_the_next_check_in(chat: Chat) -> None:
    """Nothing skipped: resuming early keeps the check-in that was next; a pause over a
    check-in resumes at the first one after it; a new rhythm while paused starts afresh."""
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", "/mentor pause 2d")
    assert (await chat.say("bob", "/mentor resume")).endswith("Mon 30 Nov, 10:00 (UTC).")
    await chat.say("bob", "/mentor pause 1w")  # over Mon 30 Nov
    await chat.advance(timedelta(days=7))
    assert dms_starting(chat, "bob", WELCOME_BACK)[-1].endswith("Mon 7 Dec, 10:00 (UTC).")
    await chat.say("bob", "/mentor skip")  # Mon 7 Dec skipped
    await chat.say("bob", "/mentor pause 2d")
    await chat.say("bob", "/mentor cadence thu 10:00")
    assert (await chat.say("bob", "/mentor resume")).endswith("Thu 3 Dec, 10:00 (UTC).")


async def test_checkin_while_one_is_open_asks_its_question_again(chat: Chat) -> None:
    """bob lost the prompt: `/mentor checkin` sends him his question again, with its
    buttons, and a reply answers it. Once he has answered it all, he reads what it waits
    for, and nothing is sent."""
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", "/mentor checkin")
    await chat.click("bob", "Great 🙌")
    assert await chat.say("bob", "/mentor checkin") == (
        "A check-in with <@alice> is already open; I've sent you its question again in DMs: "
        "What moved forward since last time?"
    )
    assert chat.dms("bob")[-1] == "What moved forward since last time?"
    assert [b.label for b in chat.buttons("bob")] == ["Answer in a form", "Skip"]
    await chat.say("bob", "the parser")
    assert chat.dms("bob")[-1] == "What is hard right now?"
    await chat.say("bob", "skip")
    await chat.say("bob", "the roadmap")
    to_bob = len(chat.dms("bob"))
    assert await chat.say("bob", "/mentor checkin") == (
        "A check-in with <@alice> is already open, and you've answered it. I'll share your "
        "answers once <@alice> has answered, or on Fri 27 Nov, 12:00 (UTC) at the latest."
    )
    assert len(chat.dms("bob")) == to_bob
