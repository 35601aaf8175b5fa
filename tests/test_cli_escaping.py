"""Stored or imported text on the operator's terminal: control characters (ESC, OSC,
C1, carriage returns, bidi overrides) are shown escaped, never sent to the terminal."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.escaping import escape_controls
from bot.pairs_import import Rejected
from bot.storage.database import Database, sqlite_url
from bot.storage.models import Feedback, Member, Pair, PairState, Workspace
from tests.test_console import MENTORBOT, _env

CLEAR = "\x1b[2J"
TITLE = "\x1b]0;owned\x07"  # OSC: set the window title
HOSTILE = (CLEAR, TITLE, "\x9b2J", "\r", "\u202e", "\x00", "\x7f", "\u2028")


def mentorbot(cwd: Path, url: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    """The command line in a process of its own, on the database at ``url``."""
    return subprocess.run(
        [*MENTORBOT, *arguments],
        cwd=cwd,
        env={**_env(), "DATABASE_URL": url},
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )


@pytest.mark.parametrize("raw", HOSTILE, ids=repr)
def test_each_control_character_is_shown_escaped(raw: str) -> None:
    shown = escape_controls(f"bob{raw}x")
    assert shown.isprintable() and shown.startswith("bob\\") and shown.endswith("x")
    assert escape_controls(shown) == shown  # escaping twice changes nothing


def test_printable_text_of_every_script_is_left_as_it_is() -> None:
    for text in ("plain", "Zoë Ødegård", "李小龍", "مرحبا", "👩\u200d💻 shipped 🎉", "a\u00a0b"):
        assert escape_controls(text) == text


def test_a_rejection_quoting_the_file_is_escaped() -> None:
    assert Rejected(2, f"unknown platform '{TITLE}'").reason == (
        "unknown platform '\\x1b]0;owned\\x07'"
    )


def test_pairs_import_shows_the_files_escape_sequences_escaped(tmp_path: Path) -> None:
    csv_file = tmp_path / "pairs.csv"
    csv_file.write_text(
        "platform,workspace_id,mentor_id,mentee_id,cadence,weekday,time,timezone\n"
        f"slack{CLEAR},T1,U1,U2,,,,\n"
        f"slack,T1,U3,U4,weekly{TITLE},,,\n"
        f"slack,T1,U5,U6,weekly,thu{CLEAR},,\n"
        f"slack,T1,U7,U8,weekly,thu,09:30,Europe/Berlin\u202e{TITLE}\n"
        f"slack,T1,U9,U9{CLEAR},,,,\n"
        f'slack,T1,"<@U1{CLEAR}>",U2,,,,\n',
        encoding="utf-8",
    )
    done = mentorbot(tmp_path, f"sqlite:///{tmp_path / 'bot.db'}", "pairs", "import", str(csv_file))
    assert done.returncode == 1
    assert "6 rows were rejected" in done.stderr
    for raw in ("\x1b", "\x07", "\u202e"):
        assert raw not in done.stderr + done.stdout
    assert "\\x1b[2J" in done.stderr and "\\x1b]0;owned\\x07" in done.stderr


async def test_stats_show_stored_ids_escaped(tmp_path: Path) -> None:
    """Ids arrive from the platforms as they are; a stalled pair's ids are printed."""
    url = sqlite_url(tmp_path / "bot.db")
    database = Database(url)
    await database.upgrade()
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    long_ago = now - timedelta(days=30)
    try:
        async with database.transaction() as session:
            workspace = Workspace(platform="slack", external_id="T1", created_at=long_ago)
            session.add(workspace)
            await session.flush()
            mentor, mentee = (
                Member(workspace_id=workspace.id, external_id=name, created_at=long_ago)
                for name in (f"U1{TITLE}", f"U2{CLEAR}\u202e")
            )
            session.add_all([mentor, mentee])
            await session.flush()
            pair = Pair(
                workspace_id=workspace.id,
                mentor_id=mentor.id,
                mentee_id=mentee.id,
                state=PairState.ACTIVE.value,
                created_at=long_ago,
                activated_at=long_ago,
            )
            session.add(pair)
            await session.flush()
            session.add(
                Feedback(
                    workspace_id=workspace.id,
                    pair_id=pair.id,
                    mentee_id=mentee.id,
                    mentor_id=mentor.id,
                    question="waiting for an answer",
                    asked_at=long_ago,
                )
            )
    finally:
        await database.dispose()
    arguments = ["stats", "--platform", "slack", "--workspace", "T1", "--now", now.isoformat()]
    done = await asyncio.to_thread(mentorbot, tmp_path, url, *arguments)
    assert done.returncode == 0, done.stderr
    assert "stalled: U1\\x1b]0;owned\\x07 mentoring U2\\x1b[2J\\u202e" in done.stdout
    for raw in ("\x1b", "\x07", "\u202e"):
        assert raw not in done.stdout + done.stderr


def test_a_path_in_an_error_is_shown_as_typed_not_read_as_markup(tmp_path: Path) -> None:
    """An error quotes the path the operator gave; "[bold]" in it was read as the
    terminal library's markup, so the path shown was not the one typed."""
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    missing = tmp_path / "[bold]pairs[/bold].csv"
    done = mentorbot(tmp_path, url, "pairs", "import", str(missing))
    assert done.returncode == 1
    assert done.stderr.strip() == f"error: cannot read {missing}: No such file or directory."
    # A file that cannot be written names itself, and the system's reason in words.
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(
        "platform,workspace_id,mentor_id,mentee_id\nconsole,local,alice,bob\n", encoding="utf-8"
    )
    assert mentorbot(tmp_path, url, "pairs", "import", str(pairs)).returncode == 0
    out = tmp_path / "no-such-folder" / "[red]stats[/red].csv"
    arguments = ("stats", "--platform", "console", "--workspace", "local", "--csv", str(out))
    done = mentorbot(tmp_path, url, *arguments)
    assert done.returncode == 1, done.stderr
    wanted = f"error: cannot write {out}: No such file or directory."
    assert done.stderr.strip().endswith(wanted), done.stderr
