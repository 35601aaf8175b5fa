"""`mentorbot people import` and `mentorbot match` from the shell."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from typer.testing import CliRunner

from adapters.cli import app
from bot.clock import ManualClock
from bot.matching.people_import import import_people
from bot.storage.database import Database
from bot.storage.models import MatchProfile, MatchTopic, Member, Pair, PairState
from tests.conversation import Chat

HEADER = "platform,workspace_id,user_id,role,topics,capacity,team,timezone\n"
GOOD = (
    "console,T1,mia,mentor,Python;Databases,2,Payments,Europe/Paris\n"
    "console,T1,mo,both,design;public speaking,,,\n"
    "console,T1,eve,mentee,python,,,America/New_York\n"
    "console,T1,ed,mentee,public speaking,,payments,\n"
)
BAD = (
    "teams,T1,x,mentor,python,,,\n"
    "console,T1,y,teacher,python,,,\n"
    "console,T1,z,mentor,,,,\n"
    "console,T1,w,mentor,python,11,,\n"
    "console,T1,v,mentee,python,2,,\n"
    "console,T1,u,mentee,python,,,Mars/Base\n"
    "console,T1,eve,mentee,go,,,\n"
)


def cli(database: Database, *args: str) -> Any:
    return CliRunner().invoke(app, list(args), env={"DATABASE_URL": database.url})


async def test_people_import_refuses_bad_rows_and_is_idempotent(
    database: Database, tmp_path: Path
) -> None:
    path = tmp_path / "people.csv"
    path.write_text(HEADER + GOOD + BAD, encoding="utf-8")
    first = await asyncio.to_thread(cli, database, "people", "import", str(path))
    assert first.exit_code == 1, first.output
    assert "4 joined the pool, 0 updated, 0 unchanged, 7 rows rejected" in first.output
    for line, reason in (
        (6, "unknown platform 'teams'"),
        (7, "role 'teacher' is not mentor, mentee or both"),
        (8, "no topics"),
        (9, "from 1 to 10"),
        (10, "capacity is for mentors"),
        (11, "timezone"),
        (12, "user_id eve is already on line 4"),
    ):
        assert f"line {line}: " in first.output and reason in first.output, reason
    again = await asyncio.to_thread(cli, database, "people", "import", str(path))
    assert "0 joined the pool, 0 updated, 4 unchanged, 7 rows rejected" in again.output
    # One bad row is "1 row", as an operator writes it.
    path.write_text(HEADER + GOOD + BAD.splitlines(keepends=True)[0], encoding="utf-8")
    once = await asyncio.to_thread(cli, database, "people", "import", str(path))
    assert "0 joined the pool, 0 updated, 4 unchanged, 1 row rejected" in once.output
    async with database.transaction() as session:
        profiles = (await session.execute(select(MatchProfile))).scalars().all()
        assert len(profiles) == 4
        mia = (
            await session.execute(select(Member).where(Member.external_id == "mia"))
        ).scalar_one()
        assert mia.timezone == "Europe/Paris"
        assert {p.team for p in profiles} == {"payments", None}


async def test_a_row_with_several_problems_names_them_all(
    database: Database, tmp_path: Path
) -> None:
    """An operator fixes a row once, not once per import: every problem of a row is
    listed, each on its own line under the row's number."""
    path = tmp_path / "people.csv"
    path.write_text(HEADER + "teams,,U 5,mentr,!!!;,-1,,Mars/Base\n", encoding="utf-8")
    result = await asyncio.to_thread(cli, database, "people", "import", str(path))
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    first = lines.index("  line 2: unknown platform 'teams' (use console, slack, discord)")
    indent = " " * len("  line 2: ")
    assert lines[first + 1 :] == [
        f"{indent}no workspace_id",
        f"{indent}user_id 'U 5' has spaces or control characters",
        f"{indent}role 'mentr' is not mentor, mentee or both",
        f"{indent}“!!!” has no letters or digits to make a topic of",
        f"{indent}capacity is how many mentees at once, a number from 1 to 10, not “-1”",
        f"{indent}timezone: I don't know the timezone 'Mars/Base'",
    ]
    async with database.transaction() as session:
        assert (await session.execute(select(MatchProfile))).first() is None


async def test_a_changed_row_updates_the_profile(database: Database, clock: ManualClock) -> None:
    rows = [
        dict(
            zip(
                HEADER.strip().split(","),
                ["console", "T1", "mia", "mentor", "python", "2", "", ""],
                strict=True,
            )
        )
    ]
    assert (await import_people(database, rows, clock.now())).joined == 1
    rows[0]["capacity"] = "3"
    report = await import_people(database, rows, clock.now())
    assert (report.joined, report.updated, report.unchanged) == (0, 1, 0)


async def test_an_import_spells_a_topic_as_it_is_in_use(
    database: Database, clock: ManualClock
) -> None:
    """One topic written three ways, across the workspace and within one file, is one
    topic, spelled as first named; importing the file again changes nothing."""
    rows = [
        dict(zip(HEADER.strip().split(","), values, strict=True))
        for values in (
            ["console", "T1", "mia", "mentor", "public speaking;front-end", "2", "", ""],
            ["console", "T1", "ed", "mentee", "Public-Speaking;frontend", "", "", ""],
            ["console", "T1", "jo", "mentee", "publicspeaking", "", "", ""],
        )
    ]
    assert (await import_people(database, rows, clock.now())).joined == 3
    async with database.transaction() as session:
        names = set((await session.execute(select(MatchTopic.name))).scalars())
    assert names == {"public speaking", "front-end"}
    report = await import_people(database, rows, clock.now())
    assert (report.joined, report.updated, report.unchanged) == (0, 0, 3)


async def test_match_dry_run_prints_json_and_sends_nothing_then_a_real_run_sends(
    database: Database, clock: ManualClock, tmp_path: Path
) -> None:
    path = tmp_path / "people.csv"
    path.write_text(HEADER + GOOD, encoding="utf-8")
    assert (await asyncio.to_thread(cli, database, "people", "import", str(path))).exit_code == 0
    where = ["--platform", "console", "--workspace", "T1"]
    dry = await asyncio.to_thread(cli, database, "match", *where, "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    round_ = json.loads(dry.stdout)
    pairs = {(p["mentor"], p["mentee"]) for p in round_["pairs"]}
    # ed is in mia's team (payments): mo takes him; eve learns python from mia, whose
    # second place goes to mo (in the pool as both).
    assert pairs == {("mia", "eve"), ("mo", "ed"), ("mia", "mo")}
    assert round_["unmatched"] == []
    assert all(isinstance(p["score"], int) and p["reasons"] for p in round_["pairs"])
    async with database.transaction() as session:
        assert (await session.execute(select(Pair))).first() is None
    text = await asyncio.to_thread(cli, database, "match", *where, "--dry-run")
    assert "mia mentors eve" in text.stdout
    sent = await asyncio.to_thread(cli, database, "match", *where)
    assert sent.exit_code == 0 and "3 proposals queued" in sent.output
    async with database.transaction() as session:
        states = [p.state for p in (await session.execute(select(Pair))).scalars()]
    assert states == [PairState.PROPOSED.value] * 3
    # The people are asked in DMs; their answers go through the consent flow.
    # Sent by the shell on the real clock, outside each person's quiet hours: a day on,
    # everything queued is due whatever the time of day now.
    clock.set(datetime.now(UTC) + timedelta(days=1))
    chat = Chat(database, clock, admins=frozenset({"alice"}))
    await chat.deliver()
    assert "would you like to mentor <@eve>?" in chat.dms("mia")[-1]
    # Nobody sent the round in chat: the admins seen in the workspace hear of an expiry.
    await chat.say("alice", "/mentor config")
    await chat.advance(timedelta(days=8))
    expired = [t for t in chat.dms("alice") if t.startswith("A matching proposal expired")]
    assert len(expired) == 3
    stats = await asyncio.to_thread(cli, database, "stats", *where)
    assert stats.exit_code == 0, stats.output
    for metric in ("pool_mentors", "pool_open_capacity", "match_proposals_open", "match_rate"):
        assert metric in stats.stdout
    unknown = await asyncio.to_thread(
        cli, database, "match", "--platform", "slack", "--workspace", "T9"
    )
    assert unknown.exit_code == 1 and "no slack workspace 'T9'" in unknown.output


async def test_an_import_file_that_cannot_be_read_is_said_in_words(
    database: Database, tmp_path: Path
) -> None:
    """A spreadsheet saved in Windows-1252 ("José"), a missing file: either import says
    what is wrong and what to do, not a codec's or the OS's message; nothing is stored."""
    latin = tmp_path / "people.csv"
    latin.write_bytes((HEADER + "console,T1,José,mentee,python,,,\n").encode("cp1252"))
    for command in ("people", "pairs"):
        done = await asyncio.to_thread(cli, database, command, "import", str(latin))
        assert done.exit_code == 1, done.output
        said = _unwrapped(done.output)
        byte = len(HEADER) + len("console,T1,Jos") + 1
        assert (
            _unwrapped(f"cannot read {latin}: it is not UTF-8 text (byte {byte} is not);") in said
        )
        assert _unwrapped("save it as “CSV UTF-8” and import it again.") in said
        assert "codec" not in said
    missing = await asyncio.to_thread(cli, database, "people", "import", str(tmp_path / "no.csv"))
    assert missing.exit_code == 1
    assert _unwrapped(f"cannot read {tmp_path / 'no.csv'}: No such file or directory.") in (
        _unwrapped(missing.output)
    )
    async with database.transaction() as session:
        assert (await session.execute(select(Member))).first() is None


def _unwrapped(text: str) -> str:
    """``text`` without its white space: the terminal wraps a long path anywhere."""
    return "".join(text.split())
