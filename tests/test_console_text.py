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
    assert "• #2 2026-11-30 — after the restart" in journal

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


# -- how people's words read ----------------------------------------------------------------


def test_status_with_two_pairs_reads_as_two_blocks_with_names(tmp_path: Path) -> None:
    out = session(tmp_path, "status_two_pairs.txt")
    [status] = out.turn("/mentor status").messages
    assert status.header == "ephemeral → bob"
    assert "<@" not in status.text
    assert status.body == (
        "Your 2 pairs:",
        "",
        "@alice mentoring you:",
        "  State: active",
        "  Check-ins: every Monday at 10:00 (UTC)",
        "  Next check-in: Mon 30 Nov, 10:00 (UTC), for both of you",
        "  Streak: 0 check-ins in a row",
        "  Open feedback: 0",
        "  Milestones: 0 done, 0 open",
        "  Wins this month: you 0, @alice 0",
        "",
        "@carol mentoring you:",
        "  State: active",
        "  Check-ins: every Monday at 10:00 (UTC)",
        "  Next check-in: Mon 30 Nov, 10:00 (UTC), for both of you",
        "  Streak: 0 check-ins in a row",
        "  Open feedback: 0",
        "  Milestones: 0 done, 0 open",
        "  Wins this month: you 0, @carol 1",
    )


def test_typos_and_common_inputs_get_a_short_helpful_answer(tmp_path: Path) -> None:
    out = session(tmp_path, "typos_and_friendly_inputs.txt")

    def answer(line: str) -> str:
        [message] = out.turn(line).messages
        return message.text

    assert answer("/mentor stauts") == (
        "I don't know /mentor stauts. Did you mean /mentor status?\n"
        "Usage: /mentor status [@partner]\n"
        "Example: /mentor status"
    )
    assert answer("/mentor cadence daily").startswith(
        "I can't keep 'daily' check-ins: they can be weekly, biweekly (every 2 weeks) or monthly."
    )
    assert answer("/mentor cadence monthly on the 31st").startswith(
        "Monthly check-ins are on the first of a weekday in each month, so I can't keep "
        "'31st': say which weekday, like monthly tue for the first Tuesday."
    )
    for line in (
        "/mentor cadence weekly thu 10:00 America/New York",
        "/mentor config timezone America/New York",
    ):
        assert "did you mean America/New_York?" in answer(line)
    # The pair's 10:00 UTC is 05:00 for bob now: said at once, with the way to change it.
    assert answer("/mentor config timezone America/New_York") == (
        "Your timezone is now America/New_York.\n"
        "⚠️ Your next check-in with @alice is Mon 30 Nov, 05:00 (America/New_York), outside "
        "08:00-21:00 for you, so its questions will wait until Mon 30 Nov, 08:00 "
        "(America/New_York). If another time suits you both better, /mentor cadence changes it."
    )
    paused = out.turn("/mentor pause 3 weeks").messages
    assert paused[0].text.startswith("Paused until Wed 16 Dec, 07:00 (America/New_York).")
    assert paused[1].header == "DM → alice"
    # Not a typo of anything: the whole help, as before.
    assert "Here is what I can do:" in answer("/mentor xyzzy")


def test_a_time_at_night_for_the_partner_and_two_skips_are_said(tmp_path: Path) -> None:
    out = session(tmp_path, "cadence_at_night_and_skips.txt")
    night = out.turn("/mentor cadence biweekly mon 10:00").messages
    assert night[0].header == "ephemeral → alice"
    assert night[0].body[1] == (
        "⚠️ For @bob that is Mon 30 Nov, 01:00 (America/Los_Angeles), outside 08:00-21:00 "
        "there, so their questions wait until Mon 30 Nov, 08:00 (America/Los_Angeles). "
        "A time in the day for both of you works better: /mentor cadence changes it."
    )
    assert night[1].header == "DM → bob"
    assert night[1].body[1].startswith("⚠️ That is outside 08:00-21:00 for you")

    day = out.turn("/mentor cadence biweekly mon 18:00").messages
    assert day[0].text.endswith("For @bob that is Mon 30 Nov, 09:00 (America/Los_Angeles).")
    assert "⚠️" not in day[1].text

    second = out.turn("/mentor skip", nth=1).messages
    for message in second:
        # (The skipper's answer ends with its button, [Undo skip].)
        assert [line for line in message.body if line != "[Undo skip]"][-1] == (
            "That is 4 weeks from now with no check-in. "
            "/mentor checkin starts one any time before then."
        )
    assert second[0].body[-1] == "[Undo skip]" and "[Undo skip]" not in second[1].body
    assert "Next one: Mon 28 Dec, 18:00 (Europe/Berlin)." in second[0].text
    assert "The one after is Mon 28 Dec, 09:00 (America/Los_Angeles)." in second[1].text


def test_after_forget_the_partner_keeps_their_words_and_the_numbers_stay(
    tmp_path: Path,
) -> None:
    out = session(tmp_path, "forget_keeps_the_facts.txt")
    before = out.turn("/mentor stats").messages[0].body
    after = out.turn("/mentor stats", nth=1).messages[0].body
    assert "100% over the last 4 weeks (2 of 2 prompts answered)" in before[2]
    assert before[2:] == after[2:]  # only the pair counts changed: it ended
    assert after[1] == "Pairs: 0 active, 0 paused, 1 ended"

    [status] = out.turn("/mentor status").messages
    assert status.text.startswith(
        "You're not in a mentoring pair now. Your mentoring pair with your mentee ended on "
        "2026-12-03: they left mentorbot and had their data deleted."
    )
    [listed] = out.turn("/mentor feedback list").messages
    assert listed.body == (
        "Your feedback, newest first.",
        "Answered:",
        "• 2026-11-25 a former member asked you: (deleted at their request)",
        "   answer: Start with the outcome, then show how you got there.",
        "   acted on it: (deleted at their request)",
    )
    assert "bob" not in listed.text


# -- names in a sentence ----------------------------------------------------------------------


def test_a_name_at_the_end_of_a_sentence_is_the_name_without_its_full_stop(
    tmp_path: Path,
) -> None:
    """ "/mentor status @carol." read "@carol." as a name and said "You don't have a pair
    with @carol.."; a name ends with a letter, digit or "_" (first.last stays whole)."""
    out = run_console(
        tmp_path,
        "/mentor pair @alice @carol.\n:as carol\n:click Accept\n:as alice\n"
        "/mentor status @carol.\n/mentor pair @alice @first.last\n:quit\n",
    )
    assert out.turn("/mentor pair @alice @carol.").messages[0].text == (
        "I asked @carol whether they'd like you as their mentor."
    )
    status = out.turn("/mentor status @carol.")
    assert status.messages[0].text.startswith("Your mentoring at a glance:")
    asked = out.turn("/mentor pair @alice @first.last")
    assert asked.messages[0].text == "I asked @first.last whether they'd like you as their mentor."
