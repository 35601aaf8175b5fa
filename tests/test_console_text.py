"""Console sessions about how people's words and the clock read in the terminal
(issue 12): each script in tests/console_sessions/ is run with the real command, and
what the mentee and the mentor read is checked line by line."""

from __future__ import annotations

from pathlib import Path

from tests.test_console import SESSIONS, TODAY, Transcript, mentorbot, run_console


def session(tmp_path: Path, name: str) -> Transcript:
    return run_console(tmp_path, (SESSIONS / name).read_text(encoding="utf-8"))


def banner_of(stdout: str) -> str:
    return stdout.splitlines()[0]


# -- the clock and :click -------------------------------------------------------------------


def test_click_takes_a_unique_part_of_a_label_in_any_case(tmp_path: Path) -> None:
    out = session(tmp_path, "clock_and_click.txt")
    assert out.turn(":click accept").headers == ["updated → bob", "DM → alice"]
    # "e" is in two labels of the check-in prompt: nothing is pressed, both are named.
    assert out.turn(":click e").notes == [
        "[e] could be any of [Great 🙌] [Answer in a form]: say more of the label."
    ]
    assert out.turn(":click e").messages == []
    great = out.turn(":click great")
    assert great.headers[0] == "updated → bob"
    assert "Great 🙌" in great.messages[0].text


def test_a_restart_without_start_goes_on_where_the_clock_stopped(tmp_path: Path) -> None:
    db = str(tmp_path / "bot.db")
    first = run_console(tmp_path, ":advance 5d\n/win before the restart\n")
    assert first.turn(":advance 5d").notes[-1] == "⏰ it is Mon 2026-11-30 12:00 UTC"

    script = "/win after the restart\n/mentor journal\n"
    again = mentorbot(["console", "--db", db], tmp_path, script)
    assert again.returncode == 0, again.stderr
    assert banner_of(again.stdout) == (
        "mentorbot console — it is Mon 2026-11-30 12:00 UTC (where the last session left "
        "it) — you are alice. Type :help for help."
    )
    journal = Transcript.parse(again.stdout).turn("/mentor journal").messages[0].body
    assert "• 2026-11-30 — after the restart" in journal

    # --start still sets the clock; a database that never had a console says so.
    assert banner_of(run_console_raw(tmp_path, ["--start", f"{TODAY}T12:00:00"])).startswith(
        f"mentorbot console — it is Wed {TODAY} 12:00 UTC (set by --start)"
    )
    fresh = mentorbot(["console", "--db", str(tmp_path / "fresh.db")], tmp_path, "")
    assert "(the real time: no clock saved in this database yet)" in banner_of(fresh.stdout)


def run_console_raw(tmp_path: Path, args: list[str]) -> str:
    done = mentorbot(["console", "--db", str(tmp_path / "bot.db"), *args], tmp_path, "")
    assert done.returncode == 0, done.stderr
    return done.stdout
