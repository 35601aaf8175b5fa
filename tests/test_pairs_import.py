"""`mentorbot pairs import FILE.csv`: pairs that already agreed, created active in bulk,
with every rejected row named and why; importing the same file again changes nothing."""

import asyncio
import csv
import io
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from bot.pairs_import import ImportReport, Rejected, import_pairs
from bot.storage.database import Database
from bot.storage.models import Member, Pair, PairState, Workspace
from tests.conftest import START
from tests.conversation import Chat, pair_up
from tests.test_bad_input import snapshot
from tests.test_console import MENTORBOT, _env

HEADER = "platform,workspace_id,mentor_id,mentee_id,cadence,weekday,time,timezone"


def csv_file(*lines: str, header: str = HEADER) -> io.StringIO:
    return io.StringIO("\n".join((header, *lines)) + "\n")


async def run(database: Database, *lines: str, header: str = HEADER) -> ImportReport:
    return await import_pairs(database, csv_file(*lines, header=header), START)


async def pairs(database: Database) -> list[Pair]:
    async with database.transaction() as session:
        return list((await session.execute(select(Pair).order_by(Pair.id))).scalars())


async def people(database: Database, pair: Pair) -> tuple[str, str, str, str]:
    """(platform, workspace, mentor, mentee) as the platform names them."""
    async with database.transaction() as session:
        mentor = await session.get_one(Member, pair.mentor_id)
        mentee = await session.get_one(Member, pair.mentee_id)
        workspace = await session.get_one(Workspace, pair.workspace_id)
    return workspace.platform, workspace.external_id, mentor.external_id, mentee.external_id


async def test_a_good_file_creates_active_pairs_on_their_rhythm(database: Database) -> None:
    # START is Wednesday 2026-11-25 12:00 UTC: 13:00 in Berlin, 07:00 in New York and
    # already Thursday 01:00 in Auckland.
    report = await run(
        database,
        "console,T1,alice,bob,weekly,thu,09:30,Europe/Berlin",
        "slack,TEAM1,U01,U02,biweekly,0,10:00,America/New_York",
        "discord,4242,111,222,monthly,Friday,8:15,pacific/auckland",
    )
    assert report == ImportReport(created=3, already=0, rejected=[])

    by_people = {await people(database, pair): pair for pair in await pairs(database)}
    berlin = by_people["console", "T1", "alice", "bob"]
    new_york = by_people["slack", "TEAM1", "U01", "U02"]
    auckland = by_people["discord", "4242", "111", "222"]
    for pair in (berlin, new_york, auckland):
        assert pair.state == PairState.ACTIVE
        assert pair.mentor_accepted and pair.mentee_accepted
        assert pair.proposed_by_id is None
        assert pair.created_at == pair.activated_at == START
        assert pair.streak == pair.anniversaries_reached == 0
        assert pair.paused_until is None and pair.ended_at is None

    # Thursday 09:30 in Berlin (CET, UTC+1) is 08:30 UTC, tomorrow: under 24 h away, so
    # there is no heads-up to send.
    assert (berlin.cadence, berlin.weekday, berlin.local_time, berlin.timezone) == (
        "weekly",
        3,
        "09:30",
        "Europe/Berlin",
    )
    assert berlin.next_checkin_at == datetime(2026, 11, 26, 8, 30, tzinfo=UTC)
    assert berlin.heads_up_at is None
    assert berlin.cadence_anchor == date(2026, 11, 25)
    # One month after activation, at the same local time (13:00 in Berlin).
    assert berlin.next_anniversary_at == datetime(2026, 12, 25, 12, 0, tzinfo=UTC)

    # Every other Monday from the soonest one, 30 Nov (the anchor: every other week is
    # counted from there), 10:00 EST = 15:00 UTC; the heads-up a day before.
    assert new_york.next_checkin_at == datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
    assert new_york.heads_up_at == datetime(2026, 11, 29, 15, 0, tzinfo=UTC)
    assert new_york.cadence_anchor == date(2026, 11, 30)

    # The first Friday of December, 08:15 in Auckland (NZDT, UTC+13), with the zone
    # spelled as the tz database does. There it is already 26 Nov: the anchor is the
    # pair's local date.
    assert (auckland.cadence, auckland.weekday, auckland.local_time, auckland.timezone) == (
        "monthly",
        4,
        "08:15",
        "Pacific/Auckland",
    )
    assert auckland.next_checkin_at == datetime(2026, 12, 3, 19, 15, tzinfo=UTC)
    assert auckland.heads_up_at == datetime(2026, 12, 2, 19, 15, tzinfo=UTC)
    assert auckland.cadence_anchor == date(2026, 11, 26)
    assert auckland.next_anniversary_at == datetime(2026, 12, 25, 12, 0, tzinfo=UTC)


async def test_empty_or_missing_cadence_fields_take_the_defaults(database: Database) -> None:
    report = await run(database, "slack,T1,U1,U2,,,,")
    assert report.created == 1
    report = await run(
        database, "slack,T1,U3,U4", header="platform,workspace_id,mentor_id,mentee_id"
    )
    assert report.created == 1
    for pair in await pairs(database):
        assert (pair.cadence, pair.weekday, pair.local_time, pair.timezone) == (
            "weekly",
            0,
            "10:00",
            "UTC",
        )
        # Monday 10:00 UTC, and the heads-up on Sunday.
        assert pair.next_checkin_at == datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
        assert pair.heads_up_at == datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


async def test_fields_are_read_the_way_people_write_them(database: Database) -> None:
    report = await run(
        database,
        " Slack , T1 , U1 , U2 , Weekly , THURSDAY , 9:05 , EUROPE/BERLIN ",
        "slack,T1,U3,U4,monthly,sun,,Etc/UTC",
        f"slack,{'w' * 64},{'m' * 64},{'e' * 64},,6,,",
        header="Platform, Workspace_ID ,mentor_id,mentee_id,cadence,weekday,time,timezone",
    )
    assert report == ImportReport(created=3, already=0, rejected=[])
    first, second, third = await pairs(database)
    assert await people(database, first) == ("slack", "T1", "U1", "U2")
    assert (first.weekday, first.local_time, first.timezone) == (3, "09:05", "Europe/Berlin")
    assert (second.cadence, second.weekday, second.timezone) == ("monthly", 6, "UTC")
    assert third.weekday == 6


# (the row after the header, a phrase its rejection must contain)
BAD_ROWS = [
    ("teams,T1,U1,U2,,,,", "unknown platform 'teams' (use console, slack, discord)"),
    (",T1,U1,U2,,,,", "no platform"),
    ("slack,,U1,U2,,,,", "no workspace_id"),
    ("slack,T1,,U2,,,,", "no mentor_id"),
    ("slack,T1,U1,  ,,,,", "no mentee_id"),
    ("slack,T1,U1,U1,,,,", "mentor and mentee are the same person ('U1')"),
    (f"slack,T1,{'x' * 65},U2,,,,", "mentor_id is 65 characters long; ids have at most 64"),
    (f"slack,{'t' * 200},U1,U2,,,,", "workspace_id is 200 characters long"),
    ("slack,T1,U 1,U2,,,,", "mentor_id 'U 1' has spaces or control characters"),
    ("slack,T1,U1,U\x002,,,,", "mentee_id 'U\\x002' has spaces or control characters"),
    ("slack,T1,<@U1>,U2,,,,", "mentor_id '<@U1>' is a mention; write the bare id"),
    ("console,T1,@alice,bob,,,,", "is a mention"),
    ("slack,T1,U1,U2,fortnightly,,,", "cadence 'fortnightly' is not one of weekly, biweekly"),
    ("slack,T1,U1,U2,every week,,,", "cadence 'every week' is not one of"),
    ("slack,T1,U1,U2,,7,,", "weekday 7 is not 0 (Monday) to 6 (Sunday)"),
    ("slack,T1,U1,U2,,-1,,", "weekday '-1' is not a day"),
    ("slack,T1,U1,U2,,funday,,", "weekday 'funday' is not a day"),
    ("slack,T1,U1,U2,,th,,", "weekday 'th' is not a day"),
    ("slack,T1,U1,U2,,,9.30,", "time: '9.30' is not a time like 09:30"),
    ("slack,T1,U1,U2,,,5pm,", "time: '5pm' is not a time like 09:30"),
    ("slack,T1,U1,U2,,,24:00,", "hours go up to 23"),
    ("slack,T1,U1,U2,,,10:60,", "minutes go up to 59"),
    ("slack,T1,U1,U2,,,22:00,", "22:00 is in the quiet hours"),
    ("slack,T1,U1,U2,,,07:59,", "07:59 is in the quiet hours"),
    ("slack,T1,U1,U2,,,,Mars/Olympus_Mons", "timezone: I don't know the timezone"),
    ("slack,T1,U1,U2,,,,Europe/Berln", "did you mean Europe/Berlin?"),
    ("slack,T1,U1,U2,,,,CET", "timezone: 'CET' is an abbreviation"),
    ("slack,T1,U1,U2,,,,UTC+2", "timezone: 'UTC+2' is a fixed offset"),
    ("slack,T1,U1,U2,,,,Japan", "timezone: 'Japan' is an old timezone alias"),
    ("slack,T1,U1,U2,,,,thu", "timezone: I don't know the timezone 'thu'"),
    (
        "slack,T1,U1,U2,,,,New York",
        "timezone: I don't know the timezone 'New York' (did you mean America/New_York?)",
    ),
    ("slack,T1,U1,U2,,,", "has 7 fields but the header has 8"),
    ("slack,T1,U1,U2,,,,,", "has 9 fields but the header has 8"),
    ("slack,T1,U1,U2,weekly,mon,10:00,Europe/Berlin,extra", "has 9 fields"),
]


@pytest.mark.parametrize(("row", "phrase"), BAD_ROWS)
async def test_each_bad_row_is_rejected_with_its_reason(chat: Chat, row: str, phrase: str) -> None:
    before = await snapshot(chat)
    report = await run(chat.database, row)
    assert report.created == report.already == 0
    (rejected,) = report.rejected
    assert rejected.line == 2
    assert phrase in rejected.reason
    assert await snapshot(chat) == before  # not even a member or workspace was made


async def test_a_row_with_several_problems_names_them_all(chat: Chat) -> None:
    """Every problem of a row, in the order of its columns, so one import shows all that
    needs fixing (not one reason per try)."""
    report = await run(chat.database, "teams,,@bob,@bob,fortnightly,funday,25:00,Mars/Base")
    (rejected,) = report.rejected
    assert rejected.problems == (
        "unknown platform 'teams' (use console, slack, discord)",
        "no workspace_id",
        "mentor_id '@bob' is a mention; write the bare id",
        "mentee_id '@bob' is a mention; write the bare id",
        "mentor and mentee are the same person ('@bob')",
        "cadence 'fortnightly' is not one of weekly, biweekly, monthly",
        "weekday 'funday' is not a day: write mon ... sun, the full name, or 0 (Monday) to 6 "
        "(Sunday)",
        "time: '25:00' is not a time of day: hours go up to 23 (write HH:MM, 24-hour)",
        "timezone: I don't know the timezone 'Mars/Base'",
    )
    # The quiet hours are a rule of the whole rhythm: checked once its fields are good.
    report = await run(chat.database, "slack,T1,U1,U1,weekly,mon,03:00,UTC")
    (rejected,) = report.rejected
    assert rejected.problems[0] == "mentor and mentee are the same person ('U1')"
    assert "03:00 is in the quiet hours" in rejected.problems[1]


async def test_rejections_name_csv_lines_and_good_rows_still_count(chat: Chat) -> None:
    stream = io.StringIO(
        f"{HEADER}\n"
        "slack,T1,U1,U2,,,,\n"  # line 2
        "\n"  # line 3: blank lines are skipped
        "slack,T1,U3,U3,,,,\n"  # line 4
        'slack,T1,U4,U5,weekly,,,"Europe/\n'  # lines 5-6: a field over two lines
        'Berlin"\n'
        ",,,,,,,\n"  # line 7: a row of empty fields, as spreadsheets write them
        "slack,T1,U6,U7,,,23:30,\n"  # line 8
        'slack,T1,"U8,U9,,,,\n'  # line 9: an unclosed quote runs to the end
    )
    report = await import_pairs(chat.database, stream, START)
    assert report.created == 1
    assert [(r.line, r.reason.split(" ")[0]) for r in report.rejected] == [
        (4, "mentor"),
        (5, "timezone:"),
        (8, "23:30"),
        (9, "not"),
    ]
    assert "not readable as CSV" in report.rejected[-1].reason


@pytest.mark.parametrize(
    ("header", "phrase"),
    [
        ("platform,workspace_id,mentor_id", "column mentee_id is missing"),
        ("platform,mentor_id", "columns workspace_id, mentee_id are missing"),
        (HEADER + ",notes", "unknown column 'notes'"),
        (HEADER.replace("timezone", "tz"), "unknown column 'tz'"),
        (HEADER + ",time", "column time twice"),
        ("slack,T1,U1,U2,,,,", "columns platform, workspace_id, mentor_id, mentee_id are missing"),
    ],
)
async def test_a_wrong_header_stops_the_import_and_says_what_is_wrong(
    chat: Chat, header: str, phrase: str
) -> None:
    before = await snapshot(chat)
    report = await run(chat.database, "slack,T1,U1,U2,,,,", header=header)
    assert report.created == report.already == 0
    (rejected,) = report.rejected
    assert rejected.line == 1
    assert phrase in rejected.reason
    assert f"(expected: {HEADER})" in rejected.reason
    assert await snapshot(chat) == before


async def test_an_empty_file_says_so(database: Database) -> None:
    report = await import_pairs(database, io.StringIO(""), START)
    assert report.rejected == [Rejected(1, f"the file is empty; it needs the header {HEADER}")]


async def test_a_spreadsheet_byte_order_mark_is_not_part_of_the_header(
    database: Database,
) -> None:
    stream = io.StringIO("\ufeff" + HEADER + "\nslack,T1,U1,U2,,,,\n")
    assert (await import_pairs(database, stream, START)).created == 1


async def test_importing_the_same_file_again_changes_nothing(chat: Chat) -> None:
    lines = (
        "console,T1,alice,bob,weekly,thu,09:30,Europe/Berlin",
        "console,T1,alice,carol,biweekly,fri,11:00,",
        "slack,TEAM1,U01,U02,,,,",
        "slack,TEAM1,U01,U01,,,,",
        "console,Zürich,josé,zoë,,,,",
        "discord,G😀,U😀,U🙂,,,,",
    )
    first = await run(chat.database, *lines)
    assert (first.created, first.already, len(first.rejected)) == (5, 0, 1)
    before = await snapshot(chat)
    again = await run(chat.database, *lines)
    assert (again.created, again.already) == (0, 5)
    assert again.rejected == first.rejected
    assert await snapshot(chat) == before


async def test_a_pair_formed_in_the_chat_is_already_there_either_way_round(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.say("carol", "/mentor pair @carol @dave")  # proposed, not yet accepted
    before = await snapshot(chat)
    report = await run(
        chat.database,
        "console,T1,alice,bob,,,,",
        "console,T1,bob,alice,monthly,,,",
        "console,T1,carol,dave,,,,",
    )
    assert report == ImportReport(created=0, already=3, rejected=[])
    assert await snapshot(chat) == before


async def test_an_ended_pair_does_not_block_a_new_one(chat: Chat) -> None:
    await pair_up(chat, "alice", "bob")
    async with chat.database.transaction() as session:
        await session.execute(update(Pair).values(state=PairState.ENDED.value, ended_at=START))
    report = await run(chat.database, "console,T1,alice,bob,,,,")
    assert report.created == 1
    ended, active = await pairs(chat.database)
    assert (ended.state, active.state) == (PairState.ENDED, PairState.ACTIVE)
    # The people are the ones the chat knows; no second alice or bob.
    assert (ended.mentor_id, ended.mentee_id) == (active.mentor_id, active.mentee_id)


async def test_repeats_in_the_file_are_already_there(database: Database) -> None:
    report = await run(
        database,
        "slack,T1,U1,U2,weekly,,,",
        "slack,T1,U1,U2,monthly,,,",  # the same two, another rhythm: the first one stands
        "slack,T1,U2,U1,,,,",  # reversed
        "slack,T2,U1,U2,,,,",  # another workspace: other people
        "discord,T1,U1,U2,,,,",  # another platform: other people
    )
    assert report == ImportReport(created=3, already=2, rejected=[])
    assert [pair.cadence for pair in await pairs(database)] == ["weekly", "weekly", "weekly"]
    report = await run(database, "slack,T1,U2,U1,,,,")
    assert report == ImportReport(created=0, already=1, rejected=[])


async def test_imported_pairs_are_prompted_by_the_dispatcher(chat: Chat) -> None:
    await run(chat.database, "console,T1,alice,bob,weekly,thu,09:30,Europe/Berlin")
    await chat.advance(datetime(2026, 11, 26, 8, 29, tzinfo=UTC) - chat.clock.now())
    assert not any("Time for your check-in" in dm for dm in chat.dms("bob"))
    await chat.advance(timedelta(minutes=1))
    assert chat.dms("alice")[-1].startswith("👋 Time for your check-in with <@bob>.")
    assert chat.dms("bob")[-1].startswith("👋 Time for your check-in with <@alice>.")
    (pair,) = await pairs(chat.database)
    assert pair.next_checkin_at == datetime(2026, 12, 3, 8, 30, tzinfo=UTC)


async def test_rows_may_come_as_mappings(database: Database) -> None:
    reader = csv.DictReader(csv_file("slack,T1,U1,U2,,,,", "slack,T1,U3,U3,,,,", "slack,T1"))
    report = await import_pairs(database, reader, START)
    assert report.created == 1
    assert report.rejected == [
        Rejected(3, "mentor and mentee are the same person ('U3')"),
        Rejected(4, "has fewer fields than the header"),
    ]
    rows = [{"platform": "slack", "workspace_id": "T1", "mentor_id": "U5"}]
    report = await import_pairs(database, rows, START)
    assert report.rejected == [Rejected(1, report.rejected[0].reason)]
    assert "column mentee_id is missing" in report.rejected[0].reason


async def test_progress_is_told_after_each_chunk(database: Database) -> None:
    seen: list[int] = []
    lines = [f"slack,T1,M{i},E{i},,,," for i in range(5)]
    await import_pairs(database, csv_file(*lines), START, progress=seen.append, chunk=2)
    assert seen == [2, 4, 5]


async def test_now_must_be_aware(database: Database) -> None:
    with pytest.raises(ValueError, match="aware"):
        await import_pairs(database, csv_file(), datetime(2026, 11, 25, 12))


def big_file(rows: int) -> io.StringIO:
    """``rows`` pairs in two workspaces; each mentor has five mentees."""
    zones = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney"]
    lines = [
        f"slack,T{i // 5 % 2},M{i // 5},E{i},{('weekly', 'biweekly', 'monthly')[i % 3]},"
        f"{i % 7},{8 + i % 12:02d}:{i % 4 * 15:02d},{zones[i % 5]}"
        for i in range(rows)
    ]
    return csv_file(*lines)


async def test_five_thousand_rows(database: Database) -> None:
    seen: list[int] = []
    report = await import_pairs(database, big_file(5000), START, progress=seen.append, chunk=2000)
    assert report == ImportReport(created=5000, already=0, rejected=[])
    assert seen == [2000, 4000, 5000]
    async with database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Pair)) == 5000
        assert await session.scalar(select(func.count()).select_from(Member)) == 6000
        missing = select(func.count()).where(Pair.next_checkin_at.is_(None))
        assert await session.scalar(missing) == 0
    report = await import_pairs(database, big_file(5000), START, chunk=700)
    assert report == ImportReport(created=0, already=5000, rejected=[])


async def test_two_imports_of_one_file_at_once_create_each_pair_once(
    database: Database,
) -> None:
    reports = await asyncio.gather(
        import_pairs(database, big_file(600), START, chunk=100),
        import_pairs(database, big_file(600), START, chunk=100),
    )
    assert sum(r.created for r in reports) == 600
    assert sum(r.already for r in reports) == 600
    async with database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Pair)) == 600
        assert await session.scalar(select(func.count()).select_from(Member)) == 720


def test_the_cli_imports_reports_rejections_and_changes_nothing_the_second_time(
    tmp_path: Path,
) -> None:
    csv_file = tmp_path / "pairs.csv"
    csv_file.write_text(
        "platform,workspace_id,mentor_id,mentee_id,cadence,weekday,time,timezone\n"
        "console,local,alice,bob,weekly,thu,09:30,Europe/Berlin\n"
        "console,local,carol,carol,,,,\n",
        encoding="utf-8",
    )
    env = {**_env(), "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"}
    first = subprocess.run(
        [*MENTORBOT, "pairs", "import", str(csv_file)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert first.returncode == 1  # a row was rejected
    assert (
        "1 pair created, 0 pairs were already there; 1 row was rejected and not imported "
        "(fix it and import the file again: rows already imported are skipped)."
    ) in first.stderr
    assert "line 3: mentor and mentee are the same person ('carol')" in first.stderr
    again = subprocess.run(
        [*MENTORBOT, "pairs", "import", str(csv_file)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert again.returncode == 1
    assert "0 pairs created, 1 pair was already there; 1 row was rejected" in again.stderr
    assert "Traceback" not in first.stderr + again.stderr
