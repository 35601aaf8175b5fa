"""End-to-end tests of ``mentorbot console``: the real command, run as a subprocess.

Each test pipes a script into the console (so stdin is not a TTY and every input line is
echoed as ``alice> ...``), fixes the clock with the hidden ``--start`` option and parses
stdout into blocks: a header line (``DM → bob``, ``ephemeral → alice``, ``#wins``, an
echoed input line or a console note) and the indented body lines below it.

The must-show session is a plain script, runnable by hand on a fresh database file::

    mentorbot console --db demo.db < tests/console_sessions/must_show.txt
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SESSIONS = Path(__file__).parent / "console_sessions"
START = "2026-11-25T12:00:00"  # a Wednesday, noon UTC
TODAY = "2026-11-25"

# The installed ``mentorbot`` script is ``adapters.cli:main``; calling it through the
# interpreter running the tests works whether or not a venv's bin/ is on PATH.
MENTORBOT = [sys.executable, "-c", "from adapters.cli import main; main()"]

# Variables that would change what the bot does; none of them leak in from the caller.
_UNSET_PREFIXES = ("SLACK_", "DISCORD_")
_UNSET = {"DATABASE_URL", "ADMIN_USER_IDS", "LOG_LEVEL"}

_ECHO = re.compile(r"^([a-z0-9][a-z0-9_.\-]{0,31})> ?(.*)$")
_MESSAGE_HEADER = re.compile(r"^(?:(?:DM|ephemeral|updated|form) → [a-z0-9_.\-]+|#[a-z0-9_.\-]+)$")
_BUTTONS = re.compile(r"^(?:\[[^\]]+\] ?)+$")


# -- running the console ------------------------------------------------------------------


def _env() -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in _UNSET and not key.startswith(_UNSET_PREFIXES)
    }
    env.update(NO_COLOR="1", TERM="dumb", COLUMNS="200", PYTHONIOENCODING="utf-8")
    return env


def mentorbot(args: Sequence[str], cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MENTORBOT, *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=cwd,
        env=_env(),
        timeout=60,
        check=False,
    )


def run_console(tmp_path: Path, script: str, db: str = "bot.db") -> Transcript:
    """Run one console session to its end; it must exit cleanly."""
    done = mentorbot(["console", "--db", str(tmp_path / db), "--start", START], tmp_path, script)
    assert "Traceback" not in done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 0, done.stderr
    return Transcript.parse(done.stdout)


# -- reading its output -------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """A header line and the body lines indented below it."""

    header: str
    body: tuple[str, ...] = ()

    @property
    def is_message(self) -> bool:
        return bool(_MESSAGE_HEADER.match(self.header))

    @property
    def text(self) -> str:
        """The body without its button line."""
        return "\n".join(line for line in self.body if not _BUTTONS.match(line))

    @property
    def buttons(self) -> list[str]:
        if self.body and _BUTTONS.match(self.body[-1]):
            return re.findall(r"\[([^\]]+)\]", self.body[-1])
        return []


@dataclass
class Turn:
    """One echoed input line and every block printed in answer to it."""

    user: str
    line: str
    blocks: list[Block] = field(default_factory=list)

    @property
    def messages(self) -> list[Block]:
        return [b for b in self.blocks if b.is_message]

    @property
    def headers(self) -> list[str]:
        return [b.header for b in self.messages]

    @property
    def notes(self) -> list[str]:
        """What the console itself said (dim lines that are not bot messages)."""
        return [b.header for b in self.blocks if not b.is_message]


@dataclass
class Transcript:
    banner: list[Block]
    turns: list[Turn]

    @classmethod
    def parse(cls, stdout: str) -> Transcript:
        blocks: list[Block] = []
        for line in stdout.splitlines():
            if line.startswith("  ") and blocks:
                last = blocks[-1]
                blocks[-1] = Block(last.header, (*last.body, line[2:]))
            else:
                blocks.append(Block(line.rstrip()))
        banner: list[Block] = []
        turns: list[Turn] = []
        for block in blocks:
            echo = _ECHO.match(block.header)
            if echo and not block.body:
                turns.append(Turn(echo.group(1), echo.group(2)))
            elif turns:
                turns[-1].blocks.append(block)
            else:
                banner.append(block)
        return cls(banner, turns)

    def turn(self, line: str, nth: int = 0) -> Turn:
        """The ``nth`` turn (from 0) whose input was exactly ``line``."""
        matching = [t for t in self.turns if t.line == line]
        assert len(matching) > nth, f"no turn #{nth} for {line!r} in {[t.line for t in self.turns]}"
        return matching[nth]

    @property
    def messages(self) -> list[Block]:
        return [b for t in self.turns for b in t.messages]


def only(blocks: Sequence[Block], header: str) -> Block:
    found = [b for b in blocks if b.header == header]
    assert len(found) == 1, f"expected one {header!r} block in {blocks}"
    return found[0]


# -- 1. the must-show session -------------------------------------------------------------


def test_must_show_session(tmp_path: Path) -> None:
    script = (SESSIONS / "must_show.txt").read_text(encoding="utf-8")
    out = run_console(tmp_path, script)

    assert out.banner == [
        Block(
            f"mentorbot console — it is Wed {TODAY} 12:00 UTC (set by --start) — you are alice. "
            "Type :help for help."
        )
    ]
    assert [t.line for t in out.turns] == script.splitlines()

    # alice proposes; bob is asked with buttons.
    proposal = out.turn("/mentor pair @alice @bob")
    assert proposal.headers == ["ephemeral → alice", "DM → bob"]
    assert "I asked @bob" in proposal.messages[0].text
    invite = proposal.messages[1]
    assert "@alice would like to mentor you." in invite.text
    assert invite.buttons == ["Accept", "Decline"]

    # bob accepts; both hear about it.
    assert out.turn(":as bob").notes == ["You are now bob."]
    accepted = out.turn(":click Accept")
    assert accepted.user == "bob"
    assert accepted.headers == ["updated → bob", "DM → alice"]
    for message in accepted.messages:
        assert "🤝 You're paired: @alice is mentoring @bob." in message.text
        assert message.buttons == []

    # alice picks the shout-out channel.
    config = out.turn("/mentor config shoutouts #wins")
    assert config.user == "alice"
    assert config.headers == ["ephemeral → alice"]
    assert "#wins" in config.messages[0].text

    # The first win: saved, shared with bob, then alice is asked about a shout-out.
    first = out.turn("/win shipped the login page 🎉")
    assert first.headers == ["ephemeral → alice", "DM → bob", "DM → alice"]
    assert "Saved to your journal (win #1) and shared with @bob." in first.messages[0].text
    assert first.messages[1].body == ("@alice shared a win: shipped the login page 🎉",)
    consent = first.messages[2]
    assert "You reached a milestone: First win" in consent.text
    assert "#wins" in consent.text
    assert consent.buttons == ["Yes, shout it out", "Keep it between us"]

    # She agrees: the First win shout-out goes to #wins, and bob is told.
    agreed = out.turn(":click Yes, shout it out")
    assert agreed.headers == ["updated → alice", "#wins", "DM → bob"]
    assert only(agreed.messages, "updated → alice").buttons == []
    assert only(agreed.messages, "#wins").body == ("🎉 @alice reached a milestone: First win",)
    assert "@alice reached a milestone: First win" in only(agreed.messages, "DM → bob").text

    # Two more wins, each shared with bob and nothing else (no second consent question).
    for number, text in [
        (2, "paired with bob on the flaky test"),
        (3, "gave my first code review"),
    ]:
        win = out.turn(f"/win {text}")
        assert win.headers == ["ephemeral → alice", "DM → bob"]
        assert f"(win #{number})" in win.messages[0].text
        assert win.messages[1].body == (f"@alice shared a win: {text}",)

    # bob saw exactly three wins, in the order they were posted.
    shared = [
        b.body
        for b in out.messages
        if b.header == "DM → bob" and b.text.startswith("@alice shared a win")
    ]
    assert shared == [
        ("@alice shared a win: shipped the login page 🎉",),
        ("@alice shared a win: paired with bob on the flaky test",),
        ("@alice shared a win: gave my first code review",),
    ]

    # A milestone, then completing it: shouted out in #wins (consent was given once).
    added = out.turn("/mentor milestone add Give a lightning talk")
    assert added.headers == ["ephemeral → alice", "DM → bob"]
    assert added.messages[0].text == (
        "Milestone #1 added: Give a lightning talk\nMark it done with /mentor milestone done 1."
    )
    done = out.turn("/mentor milestone done 1")
    # The shout-out, then one DM each: bob hears of it with his look back, alice gets hers.
    assert done.headers == ["ephemeral → alice", "#wins", "DM → bob", "DM → alice"]
    to_bob = only(done.messages, "DM → bob")
    assert to_bob.text.startswith("🎉 @alice reached a milestone: Give a lightning talk")
    assert "What went well?" in to_bob.text
    assert to_bob.buttons == ["Answer in a form", "Skip"]
    assert "Milestone #1 done: Give a lightning talk" in done.messages[0].text
    assert only(done.messages, "#wins").body == (
        "🎉 @alice reached a milestone: Give a lightning talk",
    )

    # Over the whole session #wins got exactly these two posts, in this order.
    assert [b.body for b in out.messages if b.header == "#wins"] == [
        ("🎉 @alice reached a milestone: First win",),
        ("🎉 @alice reached a milestone: Give a lightning talk",),
    ]
    assert out.turn(":quit").blocks == []


# -- 2. a restart keeps everything ------------------------------------------------------

WINS = [
    "shipped it 🚀🎉",
    "cafe\u0301 crème brûlée for the team",  # e + COMBINING ACUTE ACCENT, kept as typed
    "שלום עולם — said hello in Hebrew",  # right-to-left text
    "👩\u200d💻 pair-programmed with 👨\u200d👩\u200d👧",  # zero-width joiner sequences
]


def test_restart_keeps_pairs_wins_and_milestones(tmp_path: Path) -> None:
    first_lines = [
        "/mentor pair @alice @bob",
        ":as bob",
        ":click Accept",
        ":as alice",
        *[f"/win {text}" for text in WINS],
        "/mentor milestone add Ship v1 ✨",
        "/mentor milestone add Write the docs",
        "/mentor milestone done 1",
    ]
    # The first session ends at end of input, without :quit.
    first = run_console(tmp_path, "\n".join(first_lines) + "\n")
    to_bob = [b.text for b in first.messages if b.header == "DM → bob"]
    for text in WINS:
        # (the first arrives with the First win milestone it reached, in one message)
        assert any(dm.startswith(f"@alice shared a win: {text}") for dm in to_bob)

    second = run_console(
        tmp_path,
        "/mentor journal\n/mentor milestone list\n/mentor pair @alice @bob\n:quit\n",
    )
    journal = second.turn("/mentor journal")
    assert journal.headers == ["ephemeral → alice"]
    assert journal.messages[0].body == (
        f"Your wins, newest first (page 1 of 1, {len(WINS)} in all):",
        *[f"• #{n} {TODAY} — {text}" for n, text in reversed(list(enumerate(WINS, 1)))],
    )

    milestones = second.turn("/mentor milestone list")
    assert milestones.headers == ["ephemeral → alice"]
    listing = milestones.messages[0].body
    assert f"#1 Ship v1 ✨ — ✅ done {TODAY}" in listing
    assert any(line.startswith("#2 Write the docs") for line in listing), listing
    assert not any("#2 Write the docs — ✅" in line for line in listing), listing
    assert f"Reached along the way: First win ({TODAY})" in listing

    again = second.turn("/mentor pair @alice @bob")
    assert again.headers == ["ephemeral → alice"]  # nobody is asked again
    assert again.messages[0].text == "@alice is already mentoring @bob."


def test_a_question_asked_before_a_restart_can_still_be_answered(tmp_path: Path) -> None:
    run_console(tmp_path, "/mentor pair @alice @bob\n")
    after = run_console(tmp_path, ":as bob\n:click Accept\n")
    accepted = after.turn(":click Accept")
    assert accepted.headers == ["updated → bob", "DM → alice"]
    assert accepted.messages[0].text.startswith("🤝 You're paired: @alice is mentoring @bob.")


# -- 3. input errors get a friendly line and the session goes on -------------------------

_FRIENDLY = {
    ":as Not A Name!": "`Not A Name!` can't be a user name",
    ":click Nonexistent": "alice has no button labelled [Nonexistent] on screen.",
    ":advance banana": "`banana` is not a duration; try `:advance 7d`",
    ":advance 0d": "Advance the clock by a positive amount",
    ":advance -3d": "is not a duration",
    ":frobnicate": "`:frobnicate` is not a console command. Type `:help`.",
    ":click": "Say which button, like `:click Accept`.",
    ":as": "Say which user, like `:as bob`.",
    ":advance": "Say how far to move the clock, like `:advance 7d`",
}


def test_input_errors_are_friendly_and_the_session_continues(tmp_path: Path) -> None:
    lines = [
        *_FRIENDLY,
        "",
        "/nonsense",
        "/mentor frobnicate",
        "/win",
        "/win    ",
        "win shipped it",
        "/win it still works",
        ":quit",
    ]
    done = mentorbot(
        ["console", "--db", str(tmp_path / "bot.db"), "--start", START],
        tmp_path,
        "\n".join(lines) + "\n",
    )
    assert "Traceback" not in done.stdout
    assert "Traceback" not in done.stderr
    assert done.stderr == ""
    assert done.returncode == 0
    out = Transcript.parse(done.stdout)
    assert [t.line for t in out.turns] == [line.rstrip() for line in lines]
    assert {t.user for t in out.turns} == {"alice"}  # the bad :as changed nobody

    for line, expected in _FRIENDLY.items():
        turn = out.turn(line)
        assert turn.messages == [], line
        assert len(turn.notes) == 1, (line, turn.notes)
        assert expected in turn.notes[0], (line, turn.notes)

    assert out.turn("").blocks == []

    unknown = out.turn("/nonsense")
    assert unknown.headers == ["ephemeral → alice"]
    assert unknown.messages[0].body[0] == "I don't know the command /nonsense."
    assert "Here is what I can do:" in unknown.messages[0].body

    subcommand = out.turn("/mentor frobnicate")
    assert subcommand.headers == ["ephemeral → alice"]
    help_text = subcommand.messages[0].body
    assert help_text[0] == "I don't know /mentor frobnicate."
    assert "Here is what I can do:" in help_text
    assert any(line.startswith("/win <what went well>") for line in help_text)
    assert any(line.startswith("/mentor help") for line in help_text)

    for nth in range(2):  # "/win    " is echoed without its trailing spaces
        turn = out.turn("/win", nth)
        assert turn.headers == ["ephemeral → alice"]
        assert turn.messages[0].body[0] == "Tell me what went well, right after /win."
        assert "Usage: /win <what went well>" in turn.messages[0].body
    assert len([t for t in out.turns if t.line == "/win"]) == 2

    dm = out.turn("win shipped it")
    assert dm.headers == ["DM → alice"]  # the answer to a DM line is a DM
    assert "Did you mean /win shipped it?" in dm.messages[0].text

    works = out.turn("/win it still works")
    assert works.headers[0] == "ephemeral → alice"
    assert "Saved to your journal (win #1)" in works.messages[0].text


# -- 4. the clock --------------------------------------------------------------------------


def test_an_advance_that_ends_on_a_due_moment_says_the_time_once(tmp_path: Path) -> None:
    # The heads-ups fall due at 20:30 on Sunday, the moment the last advance ends on.
    script = (
        "/mentor pair @alice @bob\n:as bob\n:click Accept\n:as alice\n"
        "/mentor cadence weekly mon 20:30\n:advance 4d\n:advance 8h\n:advance 30m\n"
    )
    arrived = run_console(tmp_path, script).turn(":advance 30m")
    assert arrived.notes == ["⏰ it is Sun 2026-11-29 20:30 UTC"]
    assert sorted(arrived.headers) == ["DM → alice", "DM → bob"]
    assert all("Heads-up" in message.text for message in arrived.messages)


def test_advance_prints_the_new_time_and_the_session_continues(tmp_path: Path) -> None:
    out = run_console(tmp_path, ":advance 7d\n:advance 3h\n:advance 30m\n/win after a week\n")
    assert out.turn(":advance 7d").notes == ["⏰ it is Wed 2026-12-02 12:00 UTC"]
    assert out.turn(":advance 3h").notes == ["⏰ it is Wed 2026-12-02 15:00 UTC"]
    assert out.turn(":advance 30m").notes == ["⏰ it is Wed 2026-12-02 15:30 UTC"]

    win = out.turn("/win after a week")
    assert win.headers[0] == "ephemeral → alice"
    assert "Saved to your journal (win #1)" in win.messages[0].text

    journal = run_console(tmp_path, "/mentor journal\n").turn("/mentor journal")
    # The second run starts at --start again, but the win kept the advanced date.
    assert "• #1 2026-12-02 — after a week" in journal.messages[0].body


# -- 5. start-up errors --------------------------------------------------------------------


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_console_with_an_unusable_db_path_fails_with_a_clear_error(tmp_path: Path) -> None:
    done = mentorbot(["console", "--db", "/nonexistent-dir/x.db", "--start", START], tmp_path)
    assert done.returncode != 0
    assert "Traceback" not in done.stdout
    assert done.stderr.strip().splitlines() == [
        "error: cannot create the database file /nonexistent-dir/x.db: "
        "/nonexistent-dir is not a folder"
    ]
    assert not Path("/nonexistent-dir").exists()


def test_console_with_an_unwritable_db_file_fails_with_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "a-folder.db"
    folder.mkdir()  # a folder where the file should be: SQLite cannot open it
    done = mentorbot(["console", "--db", str(folder), "--start", START], tmp_path)
    assert done.returncode != 0
    assert "Traceback" not in done.stdout + done.stderr
    [error] = _error_lines(done.stderr)
    assert "the database could not be used" in error and "unable to open database file" in error


def test_console_rejects_a_bad_starting_user(tmp_path: Path) -> None:
    done = mentorbot(["console", "--db", str(tmp_path / "bot.db"), "--as", "Not A Name"], tmp_path)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: `Not A Name` can't be a user name: use up to 32 letters, digits, dots, "
        "dashes or underscores, like `:as alice`."
    ]


ENV_EXAMPLE = Path(__file__).resolve().parent.parent / ".env.example"


def test_run_with_env_example_copied_as_it_is_names_the_variables(tmp_path: Path) -> None:
    """.env.example leaves each token empty (``SLACK_APP_TOKEN=``): copied to .env as it
    is, nothing is configured, and `run` says so (a configuration error, exit 2), rather
    than starting Slack with an empty token and failing in Bolt with a traceback."""
    (tmp_path / ".env").write_text(ENV_EXAMPLE.read_text())
    done = mentorbot(["run"], tmp_path)
    assert "Traceback" not in done.stdout + done.stderr, done.stderr[-2000:]
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("error: no platform is configured.")


def test_run_with_a_bot_token_and_the_other_slack_variables_empty_asks_for_the_secret(
    tmp_path: Path,
) -> None:
    """Only SLACK_BOT_TOKEN filled in: HTTP mode (SLACK_APP_TOKEN empty is unset, not an
    empty Socket Mode token), which needs the signing secret; said before any request
    to Slack, as a configuration error."""
    lines = ENV_EXAMPLE.read_text().replace("SLACK_BOT_TOKEN=\n", "SLACK_BOT_TOKEN=xoxb-1\n")
    (tmp_path / ".env").write_text(lines + "SLACK_API_URL=http://127.0.0.1:9/api/\n")
    done = mentorbot(["run"], tmp_path)
    assert "Traceback" not in done.stdout + done.stderr, done.stderr[-2000:]
    assert done.returncode == 2, done.stderr[-2000:]
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith("error: SLACK_SIGNING_SECRET is not set: HTTP mode needs it")
    )


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("DATABASE_URL", "garbage", "error: DATABASE_URL is not a URL: write sqlite:///"),
        ("DATABASE_URL", "mysql://u:pw@h/db", "error: DATABASE_URL must be a sqlite:/// or"),
        ("LOG_LEVEL", "LOUD", "error: the settings are not valid: LOG_LEVEL: must be DEBUG,"),
        ("PORT", "abc", "error: the settings are not valid: PORT: Input should be a valid"),
        (
            "DISCORD_GUILD_ID",
            "my-server",
            "error: the settings are not valid: DISCORD_GUILD_ID: must be a server "
            "id: the number Copy Server ID gives (Developer Mode on), not 'my-server'",
        ),
    ],
)
def test_a_setting_that_is_not_valid_is_a_configuration_error_in_words(
    tmp_path: Path, variable: str, value: str, said: str
) -> None:
    """Exit 2 with one line that names the variable, no traceback, and nothing of a URL
    but its scheme (it may hold a password)."""
    (tmp_path / ".env").write_text(f"{variable}={value}\n")
    done = mentorbot(["dispatch"], tmp_path)
    assert "Traceback" not in done.stdout + done.stderr, done.stderr[-2000:]
    assert done.returncode == 2, done.stderr[-2000:]
    [error] = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith(said), error
    assert "pw@" not in done.stderr


def test_run_without_platform_tokens_names_the_variables(tmp_path: Path) -> None:
    done = mentorbot(["run"], tmp_path)  # tmp_path as cwd: no .env is read
    assert done.returncode != 0
    assert "Traceback" not in done.stdout + done.stderr
    [error] = done.stderr.strip().splitlines()
    assert error.startswith("error: no platform is configured.")
    for variable in ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"]:
        assert variable in error
    assert "DISCORD_BOT_TOKEN" in error
