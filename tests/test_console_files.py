"""Files in ``mentorbot console``: the bot hands someone files (an export, a chart), and
the console writes them into ``--files-dir``, one folder per user, never over an older
file, and shows the message under ``DM → user`` with a ``📎`` line per file."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console

from adapters.console.app import ConsoleApp, safe_filename
from bot.clock import ManualClock
from bot.content import Content
from bot.effects import Attachment, SendFiles
from bot.engine import Engine
from bot.refs import Platform, UserRef
from bot.storage.database import Database
from tests.test_console import START, Transcript, mentorbot

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
EXPORT = Attachment("export.json", "application/json", b'{"wins": ["shipped it"]}')
BRAG = Attachment("brag.md", "text/markdown", "# Brag doc\n\n- ünïcode wins 🎉\n".encode())
CHART = Attachment("activity.png", "image/png", PNG)


class Screen:
    """The console app on a captured screen, with its files folder."""

    def __init__(self, database: Database, clock: ManualClock, files_dir: Path) -> None:
        self.output = io.StringIO()
        console = Console(file=self.output, width=300, no_color=True, emoji=False)
        self.app = ConsoleApp(
            Engine(database, clock),
            database,
            clock,
            console,
            user="alice",
            everyone_is_admin=True,
            files_dir=files_dir,
        )

    async def hand(self, user: str, *files: Attachment, text: str = "Your export.") -> list[str]:
        """Perform one SendFiles; the lines it printed."""
        start = self.output.tell()
        effect = SendFiles(UserRef(Platform.CONSOLE, "console", user), Content(text), files)
        await self.app.perform(effect)
        return self.output.getvalue()[start:].splitlines()


async def test_files_are_written_per_user_and_shown_under_the_dm(
    database: Database, clock: ManualClock, tmp_path: Path
) -> None:
    screen = Screen(database, clock, tmp_path / "files")
    lines = await screen.hand("bob", EXPORT, BRAG, CHART)
    folder = tmp_path / "files" / "bob"
    assert lines == [
        "DM → bob",
        "  Your export.",
        f"  📎 export.json (24 bytes) saved to {folder / 'export.json'}",
        f"  📎 brag.md (34 bytes) saved to {folder / 'brag.md'}",
        f"  📎 activity.png (2 KB) saved to {folder / 'activity.png'}",
    ]
    assert (folder / "export.json").read_bytes() == EXPORT.data
    assert (folder / "brag.md").read_bytes() == BRAG.data
    assert (folder / "activity.png").read_bytes() == PNG
    assert sorted(p.name for p in (tmp_path / "files").iterdir()) == ["bob"]


async def test_an_older_file_is_never_overwritten(
    database: Database, clock: ManualClock, tmp_path: Path
) -> None:
    screen = Screen(database, clock, tmp_path)
    newer = Attachment("export.json", "application/json", b'{"wins": []}')
    await screen.hand("alice", EXPORT)
    await screen.hand("alice", newer)
    lines = await screen.hand("alice", newer, Attachment("notes", "text/plain", b"n"))
    folder = tmp_path / "alice"
    assert lines[-2:] == [
        f"  📎 export.json (12 bytes) saved to {folder / 'export-2.json'}",
        f"  📎 notes (1 byte) saved to {folder / 'notes'}",
    ]
    assert (folder / "export.json").read_bytes() == EXPORT.data
    assert (folder / "export-1.json").read_bytes() == newer.data
    assert (folder / "export-2.json").read_bytes() == newer.data
    await screen.hand("alice", Attachment("notes", "text/plain", b"m"))
    assert (folder / "notes-1").read_bytes() == b"m"


async def test_a_file_name_cannot_reach_outside_the_users_folder(
    database: Database, clock: ManualClock, tmp_path: Path
) -> None:
    screen = Screen(database, clock, tmp_path / "files")
    sneaky = Attachment("../../escaped.txt", "text/plain", b"x")
    lines = await screen.hand("bob", sneaky)
    assert lines[-1].endswith(str(tmp_path / "files" / "bob" / "escaped.txt"))
    assert not (tmp_path / "escaped.txt").exists()
    assert [safe_filename(n) for n in ("..", "a\\b.md", " ", "x/.")] == [
        "file",
        "b.md",
        "file",
        "file",
    ]


async def test_a_folder_that_cannot_be_written_is_said_plainly(
    database: Database, clock: ManualClock, tmp_path: Path
) -> None:
    blocker = tmp_path / "files"
    blocker.write_text("a file where the folder should be")
    screen = Screen(database, clock, blocker)
    lines = await screen.hand("bob", EXPORT)  # no exception
    assert lines[0] == "DM → bob"
    assert lines[-1].startswith(
        f"  📎 I couldn't save export.json (24 bytes) in {blocker / 'bob'}: "
    )
    assert "Traceback" not in screen.output.getvalue()


def test_mentor_export_writes_into_files_dir(tmp_path: Path) -> None:
    """The real command end to end: ``/mentor export`` typed in ``mentorbot console``."""
    files = tmp_path / "exports"
    script = "/win shipped the thing\n/mentor export\n:quit\n"
    done = mentorbot(
        ["console", "--db", str(tmp_path / "bot.db"), "--start", START, "--files-dir", str(files)],
        tmp_path,
        script,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    turn = Transcript.parse(done.stdout).turn("/mentor export")
    dm = next(b for b in turn.messages if b.header == "DM → alice")
    saved = [line for line in dm.body if line.startswith("📎 ")]
    assert saved, dm
    written = sorted((files / "alice").iterdir())
    assert {line.rsplit(" saved to ", 1)[1] for line in saved} == {str(p) for p in written}
    exported = next(p for p in written if p.suffix == ".json")
    assert "shipped the thing" in exported.read_text(encoding="utf-8")
    json.loads(exported.read_text(encoding="utf-8"))  # a whole JSON document
