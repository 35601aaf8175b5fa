"""Console stories of issue 12's conversation items, run as people would type them.

Each script in tests/console_sessions/ runs by hand on a fresh database file::

    mentorbot console --db demo.db --start 2026-11-25T12:00:00 \\
        < tests/console_sessions/conversation_replies.txt

and is checked here, turn by turn, as the mentee and the mentor read it.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from tests.test_console import SESSIONS, Transcript, only, run_console

QUESTION = "In Tuesday's demo, was the architecture part clear enough for people outside the team?"
MOOD_BUTTONS = ["Great 🙌", "OK 🙂", "Rough 😮‍💨", "Answer in a form", "Skip"]


def session(tmp_path: Path, name: str) -> Transcript:
    return run_console(tmp_path, (SESSIONS / f"{name}.txt").read_text(encoding="utf-8"))


def test_replies_go_to_the_question_asked_last(tmp_path: Path) -> None:
    """Items 1, 9 and 17: the follow-up comes with the check-in prompt, a reply answers
    it (no "which one?"), the mentor is told when the follow-up will really come, and a
    nudge carries the prompt's buttons."""
    out = session(tmp_path, "conversation_replies")

    answered = out.turn("Mostly: start with the outcome, then the architecture.")
    assert answered.messages[0].text == (
        "Thanks! I've sent @bob your answer to “In Tuesday's demo, was the architecture "
        "part clear enough for people outside the team?” I'll ask them how they acted on "
        "it at your next check-in, Mon 30 Nov, 10:00 (UTC), and tell you."
    )

    week = out.turn(":advance 5d")
    [to_bob] = [m for m in week.messages if m.header == "DM → bob" and "Time for" in m.text]
    assert to_bob.text.startswith("👋 Time for your check-in with @alice.")
    assert to_bob.text.endswith("I'll pass your answer on to @alice.")
    assert to_bob.buttons == [*MOOD_BUTTONS, "Answer the follow-up in a form", "Skip the follow-up"]

    acted = out.turn("I opened Friday's demo with the result; people asked better questions.")
    assert acted.headers == ["DM → bob", "DM → alice"]
    # The check-in's question, above the follow-up, is what his next reply answers.
    assert acted.messages[0].text == (
        "Thanks! I've shared that with @alice.\nYour check-in with @alice is still open: "
        "your next reply here answers “How did it go since last time?”"
    )
    assert acted.messages[1].text.startswith(f"🌱 @bob acted on your feedback about “{QUESTION}”")

    # The check-in is still there to answer: the mood, then the next question.
    mood = out.turn(":click Great")
    assert mood.headers == ["ephemeral → bob", "DM → bob"]
    assert mood.messages[1].text == "What moved forward since last time?"
    assert out.turn("Shipped the login page.").messages[0].text == "What is hard right now?"

    nudged = out.turn(":advance 1d")
    nudge = only(nudged.messages, "DM → alice")
    assert nudge.text.startswith("A gentle nudge: your check-in with @bob")
    assert nudge.buttons == MOOD_BUTTONS
    rough = out.turn(":click Rough")
    assert rough.messages[0].text == "How did it go since last time? Rough 😮‍💨"
    # "or skip any question": bob types it, and the next question follows.
    skipped = out.turn("skip")
    assert skipped.headers == ["DM → bob"]
    assert skipped.messages[0].text == "What would you like to bring to your next conversation?"


def test_forms_show_the_answers_so_far_and_keep_what_fits(tmp_path: Path) -> None:
    """Items 2 and 3: a form after a typed answer opens with it filled in, and a blank
    line keeps it; an over-long form answer is named by its question and asked again
    alone, the earlier answer and the others kept."""
    out = session(tmp_path, "forms_keep_answers")

    opened = out.turn(":click Answer in a form")
    assert opened.messages[0].text == (
        "Look back — answer each line below (a blank line keeps the answer shown, or skips; "
        ":cancel closes it unsent)"
    )
    assert opened.notes == [
        "What went well? (now: “The weekly rhythm kept me going.”; Enter keeps it)"
    ]
    assert out.turn("", 0).notes == ["What could be improved?"]
    shared = only(out.turn("Shorter check-ins on busy weeks.").messages, "DM → alice")
    assert shared.text == (
        "🔎 @bob's look back at your mentoring so far:\n"
        "Went well: The weekly rhythm kept me going.\n"
        "Could improve: Shorter check-ins on busy weeks."
    )

    checkin = out.turn(":click Answer in a form", 1)
    assert checkin.notes == ["How did it go since last time? (now: “ok”; Enter keeps it)"]
    assert out.turn("", 1).notes == [
        "What moved forward since last time? (now: “I moved the parser forward.”; Enter keeps it)"
    ]
    too_long = out.turn("The roadmap")
    assert too_long.messages[0].text == (
        "Your answer to “What moved forward since last time?” is 3,023 characters long; it "
        "can be up to 3,000, so that one was not saved (your earlier answer stays). Could "
        "you say it shorter? Reply here with it."
    )
    done = out.turn("Finished the migration in a shorter answer.")
    assert done.messages[0].text.startswith("Thanks! I'll share your answers with @bob")


def test_a_command_typed_into_a_form_is_not_an_answer_and_cancel_closes_it(
    tmp_path: Path,
) -> None:
    """A console form takes a line per question. A line that starts like a command is not
    saved as the answer (nor run): the person is told and asked again. ``:cancel`` closes
    the form with nothing in it sent, as a modal's Cancel does; then commands run again."""
    out = run_console(
        tmp_path,
        "/mentor pair @alice @bob\n:as bob\n:click Accept\n/mentor checkin\n"
        ":click Answer in a form\nGreat\n/mentor end\nGood progress\n:cancel\n"
        "/mentor status\n:cancel\n:quit\n",
    )
    opened = out.turn(":click Answer in a form")
    assert opened.messages[0].text == (
        "Your check-in — answer each line below (a blank line skips one; :cancel closes it unsent)"
    )
    assert out.turn("Great").notes == ["What moved forward since last time?"]
    command = out.turn("/mentor end")
    assert command.messages == []
    assert command.notes == [
        "“Your check-in” is still open, so that command was not run and not saved as an "
        "answer. Answer the question below, or type :cancel to close the form first.",
        "What moved forward since last time?",
    ]
    assert out.turn("Good progress").notes == ["What is hard right now?"]
    assert out.turn(":cancel").notes == [
        "Closed “Your check-in” without sending it: nothing typed into it was saved."
    ]
    # The form's two answers were not sent; the pair did not end; the check-in waits.
    status = out.turn("/mentor status").messages[0].text
    assert "State: active" in status
    assert out.turn(":cancel", 1).notes == ["bob has no form open."]
    with closing(sqlite3.connect(tmp_path / "bot.db")) as db:
        written = "mood IS NOT NULL OR progress IS NOT NULL OR challenge IS NOT NULL"
        assert db.execute(f"SELECT count(*) FROM checkin_answers WHERE {written}").fetchone() == (
            0,
        )


def test_two_check_ins_at_once_a_reply_answers_the_question_asked_last(
    tmp_path: Path,
) -> None:
    """bob has two mentors, both check-ins open at once. Each line typed or clicked comes
    a moment after the last, so a reply answers the question asked last, as on a
    platform; on one frozen instant the two would tie, and it went to the other. Each of
    bob's questions, and his thanks, say whose check-in it is; alice, in one pair, reads
    hers plainly."""
    out = session(tmp_path, "two_checkins_at_once")
    # carol's prompt is the newer: its mood, then a reply; then alice's mood.
    shipped = out.turn("Shipped the parser").messages[0].text
    assert shipped.startswith("Check-in with @carol: What is hard right now?")
    # alice's check-in asked "What moved forward" last: this answers it.
    ok = out.turn(":click OK").messages
    assert ok[0].text.startswith("Check-in with @alice: How did it go since last time? OK")
    assert ok[1].text.startswith("Check-in with @alice: What moved forward since last")
    named = out.turn("Naming things").messages[0].text
    assert named.startswith("Check-in with @alice: What is hard right now?")
    thanks = out.turn("Whether to split the parser module").messages[0].text
    assert thanks.startswith("Thanks! I'll share your answers with @alice once they've")
    last = out.turn("Code review habits").messages[0].text
    assert last.startswith("Check-in with @carol: What would you like to bring")
    skipped, thanked = out.turn(":click Skip").messages
    assert skipped.text.endswith("to your next conversation? (skipped)")
    assert thanked.text.startswith("Thanks! I'll share your answers with @carol once they've")
    # alice has one pair: her questions are as ever.
    assert (
        out.turn("Helped bob with the parser")
        .messages[0]
        .text.startswith("What is hard right now?")
    )
    with closing(sqlite3.connect(tmp_path / "bot.db")) as db:
        rows = db.execute(
            "SELECT mentor.external_id, a.mood, a.progress, a.challenge, a.next_topic "
            "FROM checkin_answers a JOIN checkins c ON c.id = a.checkin_id "
            "JOIN pairs p ON p.id = c.pair_id JOIN members mentor ON mentor.id = p.mentor_id "
            "JOIN members m ON m.id = a.member_id WHERE m.external_id = 'bob' "
            "ORDER BY mentor.external_id"
        ).fetchall()
    assert rows == [
        (
            "alice",
            "ok",
            "Naming things",
            "Time to write tests",
            "Whether to split the parser module",
        ),
        ("carol", "great", "Shipped the parser", "Code review habits", None),
    ]


def test_one_event_one_message_per_person(tmp_path: Path) -> None:
    """Item 11: a win that reaches a milestone, a milestone done, a pair ended: one DM
    each, carrying the buttons for what comes next. The person who shared the win hears
    of their milestone in the command's answer, not in a DM of its own."""
    out = session(tmp_path, "one_message_per_event")

    win = out.turn("/win shipped the login page")
    assert win.headers == ["ephemeral → bob", "DM → alice"]
    assert only(win.messages, "ephemeral → bob").body[:3] == (
        "Saved to your journal (win #1) and shared with @alice. 🎉",
        "",
        "🎉 You reached a milestone: First win! I told @alice too.",
    )
    assert only(win.messages, "DM → alice").body == (
        "@bob shared a win: shipped the login page",
        "",
        "🎉 @bob reached a milestone: First win",
    )

    done = out.turn("/mentor milestone done 1")
    assert done.headers == ["ephemeral → bob", "DM → alice", "DM → bob"]
    for message in done.messages[1:]:
        assert "reached a milestone: Give a talk at the team meeting" in message.text
        assert "Time for a short look back at milestone #1" in message.text
        assert message.buttons == ["Answer in a form", "Skip"]

    ended = out.turn(":click End pair")
    assert ended.headers == ["updated → alice", "DM → bob", "DM → alice"]
    to_bob = only(ended.messages, "DM → bob")
    assert to_bob.text.startswith("@alice ended your mentoring pair.")
    assert "Time for a short look back at your pair with @alice." in to_bob.text
    assert to_bob.buttons == ["Answer in a form", "Skip"]


def test_a_held_heads_up_says_today(tmp_path: Path) -> None:
    """Item 8: bob's heads-up waits out his night in Berlin; sent on the check-in's day,
    it says "today", in his zone."""
    out = session(tmp_path, "heads_up_when_sent")
    evening = out.turn(":advance 30m", 0)
    assert only(evening.messages, "DM → alice").text.startswith(
        "Heads-up: your check-in with @bob is tomorrow, Mon 30 Nov, 20:30 (UTC)."
    )
    assert [m for m in evening.messages if m.header == "DM → bob"] == []
    morning = out.turn(":advance 30m", 1)
    assert only(morning.messages, "DM → bob").text.startswith(
        "Heads-up: your check-in with @alice is today, Mon 30 Nov, 21:30 (Europe/Berlin)."
    )


def test_two_mentors_two_weeks(tmp_path: Path) -> None:
    """bob has two mentors on the same Monday slot. alice's follow-up does not hide
    inside carol's prompt: it comes on its own, last, and his reply answers it. A week
    on, the [Skip this one] he presses says whose check-in it skipped; and when alice
    ends the pair while he is answering her check-in, he hears his answers were not
    shared. On the way, his status says how far each open check-in is answered."""
    out = session(tmp_path, "two_mentors_two_weeks")
    week = out.turn(":advance 5d").messages
    prompts = [m for m in week if m.header == "DM → bob" and "Time for your check-in" in m.text]
    assert [("@alice" in p.text, "🔁" in p.text) for p in prompts] == [
        (True, False),
        (False, False),
    ]
    assert week[-1].header == "DM → bob"
    assert week[-1].text.startswith("🔁 @alice gave you feedback: “In Tuesday's demo")
    acted = out.turn("I cut the intro to one slide and it landed.")
    assert acted.headers == ["DM → bob", "DM → alice"]
    # carol's check-in was asked last of the two: his next reply answers it.
    assert acted.messages[0].text == (
        "Thanks! I've shared that with @alice.\nYour check-in with @carol is still open: "
        "your next reply here answers “How did it go since last time?”"
    )

    # His status tells the two open check-ins apart: carol's is part answered.
    status = out.turn("/mentor status").messages[0].text
    assert "Check-in open: neither of you has answered yet (it closes Wed 2 Dec" in status
    assert "Check-in open: you've answered part of it; waiting for @carol" in status

    # His two heads-ups came as one DM, a [Skip] for each, named for the partner.
    heads_up = out.turn(":advance 6d").messages
    [both] = [m for m in heads_up if m.header == "DM → bob" and "Heads-up" in m.text]
    assert "check-in with @alice is tomorrow" in both.text.split("\n\n")[0]
    assert "check-in with @carol is tomorrow" in both.text.split("\n\n")[1]
    assert both.buttons == ["Skip the one with alice", "Skip the one with carol"]
    skipped = out.turn(":click Skip the one with carol")
    assert skipped.headers == ["ephemeral → bob", "DM → carol"]
    assert skipped.messages[0].text == (
        "Skipped your check-in with @carol on Mon 7 Dec, 10:00 (UTC). "
        "Next one: Mon 14 Dec, 10:00 (UTC)."
    )
    monday = out.turn(":advance 1d").messages
    assert [m.header for m in monday] == ["DM → alice", "DM → bob"]  # carol's is skipped

    ended = out.turn(":click End pair")
    assert ended.headers == ["updated → alice", "DM → bob", "DM → alice"]
    assert ended.messages[0].text == "Your pair with @bob has ended."
    to_bob = only(ended.messages, "DM → bob")
    assert to_bob.body[:2] == (
        "@alice ended your mentoring pair. Thank you for the time you gave each other.",
        "Your answers to the open check-in were not shared: it closed with the pair. They "
        "stay yours: /mentor export includes them.",
    )


def test_second_thoughts_read_as_their_people_read_them(tmp_path: Path) -> None:
    """tests/console_sessions/second_thoughts.txt: a proposal withdrawn and one declined
    with /mentor end, a typed mood under the prompt that carries a follow-up, a typed
    "stop", a skip on the check-in's day, a cadence change that keeps what it does not
    say, and a bare pause of a paused pair."""
    out = session(tmp_path, "second_thoughts")

    waits = out.turn("/mentor cadence weekly fri")
    assert waits.messages[0].text == (
        "Your pair with @bob hasn't started yet: it waits for @bob's answer."
    )
    withdrawn = out.turn(":click Withdraw it")
    assert only(withdrawn.messages, "DM → bob").text == (
        "@alice withdrew the proposed pair of @alice mentoring @bob, so there is nothing "
        "to answer any more."
    )
    assert out.turn(":click Accept").messages[0].text == (
        "This proposal didn't go ahead, so there is nothing to answer any more."
    )
    declined = out.turn(":click Decline it")
    assert only(declined.messages, "DM → carol").text == (
        "@bob declined the pair of @carol mentoring @bob."
    )

    # The prompt carries the follow-up; "great" answers the check-in's mood, not it.
    mood = out.turn("great")
    assert [m.text for m in mood.messages] == ["What moved forward since last time?"]
    assert out.turn("stop").messages[0].text.startswith("I didn't save “stop” as an answer.")
    assert out.turn("I split the loop out.").messages[0].text == "What is hard right now?"

    skipped = out.turn("/mentor skip")
    assert skipped.messages[0].text.endswith(
        "The check-in open now is not skipped: answer it in DMs until Wed 2 Dec, 10:00 (UTC), "
        "or leave it."
    )
    assert only(skipped.messages, "DM → bob").text.startswith(
        "@alice skipped your check-in of Mon 7 Dec, 10:00 (UTC)."
    )
    # The skip's answer shows [Undo skip]; ":click Skip" is still the question's [Skip]
    # (a label typed whole wins over a newer one that only holds it).
    assert "[Undo skip]" in skipped.messages[0].body
    pressed = out.turn(":click Skip")
    assert pressed.headers == ["updated → alice", "DM → alice"]
    assert pressed.messages[0].text == "How did it go since last time? (skipped)"

    assert (
        out.turn("/mentor cadence biweekly")
        .messages[0]
        .text.startswith("Check-ins are now every other Tuesday at 15:00 (Europe/London).")
    )
    again = out.turn("/mentor pause")
    assert again.headers == ["ephemeral → bob"]  # alice is not told of a change
    assert again.messages[0].text.startswith(
        "Your check-ins with @alice are already paused until Mon 21 Dec"
    )
