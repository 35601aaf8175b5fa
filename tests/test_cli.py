"""The command line as a newcomer meets it: a start-up that loads no platform library it
does not use, help that says what each option takes, ``--version``, and commands that
say what they did."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters import cli
from adapters.cli import app
from adapters.console.app import DEFAULT_FILES_DIR
from adapters.console.translate import WORKSPACE_ID
from bot.pairs_import import COLUMNS

CLI = "from adapters.cli import main; main()"
# Libraries only some commands use; none may load for --help (or console, or dispatch
# without tokens).
PLATFORM_LIBRARIES = {"slack_bolt", "slack_sdk", "discord", "matplotlib"}
# rich (about 30 ms) is allowed: --help does not need it today, but an output helper may.
HEAVY = PLATFORM_LIBRARIES | {"alembic", "sqlalchemy", "aiohttp", "apscheduler", "pydantic"}


def imported_modules(args: list[str], cwd: Path, stdin: str = "") -> set[str]:
    """The top-level packages a ``mentorbot`` process imported (``python -X importtime``)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SLACK_", "DISCORD_", "DATABASE_", "MENTORBOT_"))
    }
    env["DATABASE_URL"] = f"sqlite:///{cwd / 'bot.db'}"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", CLI, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    names = re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*([\w.]+)$", done.stderr, re.M)
    assert names, done.stderr[-2000:]
    return {name.split(".")[0] for name in names}


def test_help_loads_typer_and_no_heavy_library(tmp_path: Path) -> None:
    loaded = imported_modules(["--help"], tmp_path)
    assert "typer" in loaded
    assert loaded & HEAVY == set()


@pytest.mark.parametrize(
    "args",
    [["console", "--db", "console.db"], ["dispatch"], ["pairs", "import", "--help"]],
)
def test_commands_load_no_platform_library_they_do_not_use(tmp_path: Path, args: list[str]) -> None:
    loaded = imported_modules(args, tmp_path, stdin=":quit\n")
    assert loaded & PLATFORM_LIBRARIES == set()


def test_the_help_texts_agree_with_the_code() -> None:
    # Written out in the CLI so that --help does not import what defines them.
    assert ",".join(COLUMNS) == cli.IMPORT_COLUMNS
    assert cli.CONSOLE_WORKSPACE == WORKSPACE_ID
    assert str(DEFAULT_FILES_DIR) in " ".join(help_of(["console"]).split())


def help_of(command: list[str]) -> str:
    result = CliRunner().invoke(app, [*command, "--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    return result.output


def every_command() -> list[list[str]]:
    found: list[list[str]] = [[]]
    for info in app.registered_commands:
        assert info.name is not None or info.callback is not None
        found.append([info.name or info.callback.__name__.replace("_", "-")])  # type: ignore[union-attr]
    for group in app.registered_groups:
        assert group.typer_instance is not None and group.name is not None
        found += [[group.name, c.name or ""] for c in group.typer_instance.registered_commands]
    return found


@pytest.mark.parametrize("command", every_command(), ids=lambda c: " ".join(c) or "mentorbot")
def test_help_has_no_placeholders_nor_braces(command: list[str]) -> None:
    text = help_of(command)
    # Each option says what it takes in words (FILE, ISO8601, ID), not typer's type names.
    assert re.findall(r"<[a-z ]+>", text) == [], text
    usage = next(line for line in text.splitlines() if line.startswith("Usage:"))
    assert "{" not in usage, usage


def test_console_help_shows_start_and_the_workspace_is_named_right() -> None:
    assert "--start" in help_of(["console"])
    assert f"the console's is {WORKSPACE_ID}" in " ".join(help_of(["export"]).split())
    assert "(console: console)" not in help_of(["forget"])


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert re.fullmatch(r"mentorbot \d+\.\d+\.\d+\S*\n", result.output), result.output


def test_help_documents_the_exit_codes() -> None:
    text = " ".join(help_of([]).split())
    assert "Exit codes: 0 done; 1 an error" in text
    assert "2 a usage or configuration error" in text


def test_db_upgrade_says_it_created_the_database_then_that_it_is_up_to_date(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    first = CliRunner().invoke(app, ["db", "upgrade"], env={"DATABASE_URL": url})
    assert first.exit_code == 0, first.output
    assert "created the database schema (revision " in first.output
    assert "up to date" not in first.output
    again = CliRunner().invoke(app, ["db", "upgrade"], env={"DATABASE_URL": url})
    assert again.exit_code == 0, again.output
    assert "the database was already up to date (revision " in again.output


@pytest.mark.parametrize(
    "args",
    [
        ["dispatch", "--now", "tomorrow"],
        ["stats", "--platform", "console", "--workspace", "local", "--now", "2026-13-01"],
        ["console", "--start", "noon"],
    ],
    ids=["dispatch", "stats", "console"],
)
def test_a_moment_not_in_iso_8601_is_refused_with_an_example(args: list[str]) -> None:
    """``--now`` and ``--start`` take ISO 8601; anything else is a usage error (exit 2)
    that shows how to write it, not a type checker's words ("input is too short")."""
    result = CliRunner().invoke(app, args, terminal_width=200)
    assert result.exit_code == 2, result.output
    said = args[-1]
    assert (
        f"“{said}” is not a date and time. Write it in ISO 8601, like 2026-12-01T10:00 "
        "(UTC) or 2026-12-01T10:00+01:00." in " ".join(result.output.split())
    )
    assert "too short" not in result.output and "outside expected range" not in result.output


EXPORT_BOB = ["export", "--platform", "console", "--workspace", "local", "--user", "bob"]


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["dispatch", "--max-seconds", "abc"], "“abc” is not a number of seconds, like 50."),
        (["dispatch", "--max-seconds", "-1"], "“-1” is not a number of seconds, like 50."),
        (["dispatch", "--max-seconds", "inf"], "“inf” is not a number of seconds, like 50."),
        (
            [*EXPORT_BOB, "--format", "pdf"],
            "“pdf” is not a format I write: say json or md.",
        ),
        (
            ["stats", "--platform", "teams", "--workspace", "T1"],
            "unknown platform 'teams': say slack, discord or console.",
        ),
    ],
    ids=["not-a-number", "negative", "infinite", "format", "platform"],
)
def test_an_option_value_that_is_not_valid_is_a_usage_error_in_words(
    args: list[str], said: str, tmp_path: Path
) -> None:
    """A wrong option value exits with 2, as `mentorbot --help` says, in words an
    operator can act on: not pydantic's ("Value error, …", "unable to parse string as a
    number"), and an unknown platform is a usage error like the rest (it exited 1)."""
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}"}
    result = CliRunner().invoke(app, args, env=env, terminal_width=200)
    assert result.exit_code == 2, result.output
    assert said in " ".join(result.output.split())
    assert "Value error" not in result.output and "unable to parse" not in result.output


def test_options_in_their_usual_spellings_are_read() -> None:
    assert cli._seconds(" 50 ") == 50.0 and cli._seconds("0") == 0.0
    assert cli._export_format("MD") is cli.ExportFormat.MD


def test_an_iso_8601_moment_with_or_without_its_time_and_offset_is_read() -> None:
    assert cli._iso8601("2026-12-01") == datetime(2026, 12, 1)
    assert cli._iso8601(" 2026-12-01T10:00Z ") == datetime(2026, 12, 1, 10, tzinfo=UTC)
    assert cli._moment(cli._iso8601("2026-12-01T11:00+01:00")) == datetime(
        2026, 12, 1, 10, tzinfo=UTC
    )
