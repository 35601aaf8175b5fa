"""The README, read as a newcomer would: it starts with the two commands to try the bot
and to run the tests, its console example is what the console prints, every command it
names exists, the PostgreSQL set-up is CI's, and the lines that had gone stale stay gone."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.cli import app

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
CLI = "from adapters.cli import main; main()"


def blocks(kind: str = "") -> list[str]:
    """The fenced blocks of one kind (``sh``; "" for plain ones), in order."""
    fenced = re.findall(r"^```(\w*)\n(.*?)^```$", README, re.S | re.M)
    return [body for found, body in fenced if found == kind]


def test_the_readme_starts_with_try_it_and_run_the_tests() -> None:
    first, second = blocks("sh")[:2]
    assert "```sh" not in README[: README.index("**Try it")]
    assert first.strip().endswith("pip install -e . && mentorbot console")
    assert second.strip().endswith("pip install -e '.[dev]' && python3 -m pytest -q")
    for command in (first, second):
        assert command.startswith("python3 -m venv .venv && . .venv/bin/activate && ")


def console_example() -> str:
    found = next(block for block in blocks() if block.startswith("mentorbot console — "))
    return found


def test_the_console_example_is_what_the_console_prints(tmp_path: Path) -> None:
    example = console_example()
    banner = example.splitlines()[0]
    stamp = re.search(r"it is \w+ (\d{4}-\d\d-\d\d \d\d:\d\d) UTC", banner)
    assert stamp is not None
    start = datetime.strptime(stamp.group(1), "%Y-%m-%d %H:%M").isoformat()
    assert f"mentorbot console --start {start}" in " ".join(README.split())
    typed = [m.group(1) for m in re.finditer(r"^[a-z]+> (.*)$", example, re.M)]
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SLACK_", "DISCORD_", "DATABASE_", "MENTORBOT_", "ADMIN_"))
    }
    env.update(NO_COLOR="1", TERM="dumb", COLUMNS="200", PYTHONIOENCODING="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", CLI, "console", "--db", "readme.db", "--start", start],
        input="\n".join(typed) + "\n",
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=tmp_path,
        env=env,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == example


COMMAND = re.compile(r"`mentorbot ((?:[a-z][a-z-]+)(?: [a-z][a-z-]+)?)")


@pytest.mark.parametrize("words", sorted(set(COMMAND.findall(README))))
def test_every_command_the_readme_names_exists(words: str) -> None:
    command = words.split()
    shown = CliRunner().invoke(app, [*command, "--help"])
    if shown.exit_code != 0 and len(command) == 2:
        # "`mentorbot dispatch` does" names the command, and the next word is prose.
        command = command[:1]
        shown = CliRunner().invoke(app, [*command, "--help"])
    assert shown.exit_code == 0, (words, shown.output)


def test_the_postgres_set_up_line_is_the_one_ci_runs() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "ALTER USER postgres PASSWORD 'postgres'" in ci
    assert "sudo -u postgres psql -c \"ALTER USER postgres PASSWORD 'postgres'\"" in README
    url = re.search(r'MENTORBOT_TEST_POSTGRES_URL="?([^"\s]+)', ci)
    assert url is not None
    assert f"MENTORBOT_TEST_POSTGRES_URL={url.group(1)}" in README


@pytest.mark.parametrize(
    "stale",
    [
        "come with the next issues",  # export and forget exist
        "I asked @bob to accept @alice mentoring @bob",  # not what the bot says
        "`run`, `dispatch` and `console` log",  # the console logs nothing on start
        "left in the outbox for `mentorbot run`",  # dispatch delivers
    ],
)
def test_stale_lines_stay_gone(stale: str) -> None:
    assert stale not in " ".join(README.split())
