"""End-to-end console tests of the check-in and feedback flows, driven by ``:advance``.

Like tests/test_console.py (whose helpers these tests use), each test runs the real
``mentorbot console`` as a subprocess on a fresh database with the clock fixed at
``START`` (Wed 2026-11-25 12:00 UTC). With ``/mentor cadence weekly fri 10:00`` the
heads-up falls on Thu 26 Nov 10:00, the check-in on Fri 27 Nov 10:00, its nudge 24 hours
later and its close 48 hours later.

The check-in and feedback session is a plain script, runnable by hand on a fresh
database file::

    mentorbot console --db demo.db --start 2026-11-25T12:00:00 \\
        < tests/console_sessions/checkin_and_feedback.txt
"""

from __future__ import annotations

from pathlib import Path

from tests.test_console import SESSIONS, Block, Turn, only, run_console

MOOD_BUTTONS = ["Great 🙌", "OK 🙂", "Rough 😮‍💨", "Answer in a form", "Skip"]
QUESTION = "What is one thing I could change to make my demos easier to follow?"
ANSWER = "Start with the outcome, then show how you got there."
ACTION = "I opened Friday's demo with the result first; people asked better questions."

# Pair alice (mentor) with bob and move the check-ins to Fridays at 10:00, as alice.
PAIR_ON_FRIDAYS = [
    "/mentor pair @alice @bob",
    ":as bob",
    ":click Accept",
    ":as alice",
    "/mentor cadence weekly fri 10:00",
]


def outline(turn: Turn) -> list[str]:
    """Every block printed for a turn, in order: a message's header or a console note."""
    return [block.header for block in turn.blocks]


def prompt(partner: str, wins: list[str], theirs: tuple[str, ...] = ()) -> str:
    """The text of a check-in prompt (without its buttons): the wins of both."""
    lines = [f"👋 Time for your check-in with @{partner}."]
    if wins:
        lines += ["Your wins since last time:", *[f"• {win}" for win in wins]]
    if theirs:
        lines += [f"@{partner}'s wins since last time:", *[f"• {win}" for win in theirs]]
    lines += [
        "How did it go since last time?",
        "(Reply here, answer in a form, or skip any question.)",
    ]
    return "\n".join(lines)


def heads_up(partner: str, when: str) -> str:
    return (
        f"Heads-up: your check-in with @{partner} is tomorrow, {when}, 10:00 (UTC). "
        "If this one doesn't suit you both, you can skip it."
    )


def question(block: Block, text: str) -> None:
    """A check-in question in a DM of its own, with a Skip button."""
    assert block.text == text
    assert block.buttons == ["Skip"]


# -- 1. the scripted session: check-in, then feedback and its follow-up --------------------


def test_checkin_and_feedback_session(tmp_path: Path) -> None:
    script = (SESSIONS / "checkin_and_feedback.txt").read_text(encoding="utf-8")
    out = run_console(tmp_path, script)
    assert [t.line for t in out.turns] == script.splitlines()

    # The pair forms: alice mentors bob.
    accepted = out.turn(":click Accept")
    assert accepted.user == "bob"
    assert accepted.headers == ["updated → bob", "DM → alice"]
    for message in accepted.messages:
        assert "🤝 You're paired: @alice is mentoring @bob." in message.text

    # alice sets the rhythm; bob is told when the first check-in is.
    cadence = out.turn("/mentor cadence weekly fri 10:00")
    assert cadence.user == "alice"
    assert cadence.headers == ["ephemeral → alice", "DM → bob"]
    assert cadence.messages[0].text == (
        "Check-ins are now every Friday at 10:00 (UTC). Next one: Fri 27 Nov, 10:00 (UTC)."
    )
    assert cadence.messages[1].text == (
        "@alice set your check-ins to every Friday at 10:00 (UTC). "
        "Next one: Fri 27 Nov, 10:00 (UTC)."
    )

    # Each posts a win before the check-in; it is shared with the other.
    for user, partner, win in [
        ("alice", "bob", "shipped the login page"),
        ("bob", "alice", "fixed the flaky test"),
    ]:
        posted = out.turn(f"/win {win}")
        assert posted.user == user
        assert posted.headers[:2] == [f"ephemeral → {user}", f"DM → {partner}"]
        assert "Saved to your journal (win #1)" in posted.messages[0].text
        # One message: the win, and the First win milestone it reached.
        assert posted.messages[1].text == (
            f"@{user} shared a win: {win}\n\n🎉 @{user} reached a milestone: First win"
        )

    # The clock walks to the heads-up (the day before), then to the check-in itself.
    advance = out.turn(":advance 2d")
    assert outline(advance) == [
        "⏰ it is Thu 2026-11-26 10:00 UTC",
        "DM → alice",
        "DM → bob",
        "⏰ it is Fri 2026-11-27 10:00 UTC",
        "DM → alice",
        "DM → bob",
        "⏰ it is Fri 2026-11-27 12:00 UTC",
    ]
    first_heads_ups, prompts = advance.messages[:2], advance.messages[2:]
    assert first_heads_ups[0].text == heads_up("bob", "Fri 27 Nov")
    assert first_heads_ups[1].text == heads_up("alice", "Fri 27 Nov")
    assert all(m.buttons == ["Skip this one"] for m in first_heads_ups)
    # Both get the mood question, with the wins each posted since the pair began.
    assert prompts[0].text == prompt("bob", ["shipped the login page"], ("fixed the flaky test",))
    assert prompts[1].text == prompt("alice", ["fixed the flaky test"], ("shipped the login page",))
    assert all(m.buttons == MOOD_BUTTONS for m in prompts)

    # alice answers: a mood button, then a DM reply to each question.
    mood = out.turn(":click Great 🙌")
    assert mood.user == "alice"
    assert mood.headers == ["updated → alice", "DM → alice"]
    assert mood.messages[0].text == "How did it go since last time? Great 🙌"
    assert mood.messages[0].buttons == []
    question(mood.messages[1], "What moved forward since last time?")
    progress = out.turn("The login page went live")
    assert progress.headers == ["DM → alice"]
    question(progress.messages[0], "What is hard right now?")
    hard = out.turn("Estimating the next sprint")
    assert hard.headers == ["DM → alice"]
    question(hard.messages[0], "What would you like to bring to your next conversation?")
    first_done = out.turn("How to run a good retro")
    assert first_done.headers == ["DM → alice"]  # nothing reaches bob yet
    assert first_done.messages[0].text == (
        "Thanks! I'll share your answers with @bob once they've answered, "
        "or on Sun 29 Nov, 10:00 (UTC) at the latest."
    )

    # bob answers some and skips one.
    mood = out.turn(":click OK 🙂")
    assert mood.user == "bob"
    assert mood.headers == ["updated → bob", "DM → bob"]
    assert mood.messages[0].text == "How did it go since last time? OK 🙂"
    question(mood.messages[1], "What moved forward since last time?")
    progress = out.turn("Fixed the flaky test")
    assert progress.headers == ["DM → bob"]
    question(progress.messages[0], "What is hard right now?")
    skipped = out.turn(":click Skip")
    assert skipped.user == "bob"
    assert skipped.headers == ["updated → bob", "DM → bob"]
    assert skipped.messages[0].text == "What is hard right now? (skipped)"
    assert skipped.messages[0].buttons == []
    question(skipped.messages[1], "What would you like to bring to your next conversation?")

    # The second to finish: each sees the other's answers.
    shared = out.turn("Pairing on the payments service")
    # One event, one message each: the thanks heads bob's DM of alice's answers.
    assert shared.headers == ["DM → alice", "DM → bob"]
    assert shared.messages[0].body == (
        "📋 @bob's check-in answers:",
        "How it went: OK 🙂",
        "Moved forward: Fixed the flaky test",
        "Hard right now: (skipped)",
        "For next time: Pairing on the payments service",
    )
    assert shared.messages[1].body == (
        "Thanks! You've both answered. 📋 @alice's check-in answers:",
        "How it went: Great 🙌",
        "Moved forward: The login page went live",
        "Hard right now: Estimating the next sprint",
        "For next time: How to run a good retro",
    )
    assert [b.header for b in out.messages if "📋" in b.text] == [
        "DM → alice",
        "DM → bob",
    ]

    # bob asks for feedback; alice is asked and answers with a DM line; bob gets it.
    asked = out.turn(f"/mentor feedback {QUESTION}")
    assert asked.user == "bob"
    assert asked.headers == ["ephemeral → bob", "DM → alice"]
    assert asked.messages[0].text == "Sent your question to @alice. I'll DM you their answer."
    assert asked.messages[1].text == (
        f"❓ @bob asked for your feedback:\n{QUESTION}\n"
        "Reply here with your answer, or answer in a form."
    )
    assert asked.messages[1].buttons == ["Answer in a form"]

    answered = out.turn(ANSWER)
    assert answered.user == "alice"
    assert answered.headers == ["DM → alice", "DM → bob"]
    assert answered.messages[0].text == (
        f"Thanks! I've sent @bob your answer to “{QUESTION}” I'll ask them how they acted "
        "on it at your next check-in, Fri 4 Dec, 10:00 (UTC), and tell you."
    )
    assert answered.messages[1].body == (
        f"💬 @alice answered your question “{QUESTION}”:",
        ANSWER,
    )

    # A week on: the next heads-up and check-in, and with the check-in (the first of the
    # two to come) the follow-up question to bob, in the same message as his prompt.
    week = out.turn(":advance 7d")
    assert week.user == "bob"
    assert outline(week) == [
        "⏰ it is Thu 2026-12-03 10:00 UTC",
        "DM → alice",
        "DM → bob",
        "⏰ it is Fri 2026-12-04 10:00 UTC",
        "DM → alice",
        "DM → bob",
        "⏰ it is Fri 2026-12-04 12:00 UTC",
    ]
    assert week.messages[0].text == heads_up("bob", "Fri 4 Dec")
    assert week.messages[1].text == heads_up("alice", "Fri 4 Dec")
    # No wins since the last check-in, so none are listed.
    assert week.messages[2].text == prompt("bob", [])
    to_bob = week.messages[3]
    assert to_bob.text == (
        prompt("alice", []) + "\n\n" + f"🔁 You asked @alice: “{QUESTION}”\n"
        f"They answered: “{ANSWER}”\n"
        "How did you act on @alice's feedback? Reply here, answer in a form, or skip. "
        "I'll pass your answer on to @alice."
    )
    assert to_bob.buttons == [
        *MOOD_BUTTONS,
        "Answer the follow-up in a form",
        "Skip the follow-up",
    ]
    assert len([b for b in out.messages if "How did you act on" in b.text]) == 1

    # Two questions wait for bob's words: his reply answers the one asked last, the
    # follow-up right above it, with no "which one?" in between.
    acted = out.turn(ACTION)
    assert acted.user == "bob"
    assert acted.headers == ["DM → bob", "DM → alice"]
    assert acted.messages[0].text == (
        "Thanks! I've shared that with @alice.\nYour check-in with @alice is still open: "
        "your next reply here answers “How did it go since last time?”"
    )
    # It reaches alice, linked to the question.
    assert acted.messages[1].body == (
        f"🌱 @bob acted on your feedback about “{QUESTION}”:",
        ACTION,
    )

    # The next line answers the check-in that is still open.
    after = out.turn("ok")
    assert after.headers == ["DM → bob"]
    question(after.messages[0], "What moved forward since last time?")

    # bob asks again; alice writes `/mentor feedback …` while his question waits, so she
    # is asked whether it is her answer, and nothing reaches bob before she says.
    second = "In Friday's demo, did I leave enough time for questions?"
    out.turn(f"/mentor feedback {second}")
    which = out.turn("/mentor feedback Nearly: leave ten minutes, not five.")
    assert which.headers == ["ephemeral → alice"]
    assert which.messages[0].text == (
        f"@bob's question “{second}” is waiting for your answer. Is what you wrote your "
        "answer to it? Nothing is sent until you choose."
    )
    assert which.messages[0].buttons == ["Yes, it's my answer", "No, it's other feedback"]
    answered = out.turn(":click Yes, it's my answer")
    assert answered.headers == ["updated → alice", "DM → bob"]
    assert answered.messages[1].body == (
        f"💬 @alice answered your question “{second}”:",
        "Nearly: leave ten minutes, not five.",
    )
    assert out.turn(":quit").blocks == []


# -- 2. a vague feedback question is coached first ------------------------------------------


def test_a_vague_feedback_question_is_coached_and_can_be_sent_anyway(tmp_path: Path) -> None:
    lines = [
        "/mentor pair @alice @bob",
        ":as bob",
        ":click Accept",
        "/mentor feedback any feedback?",
        ":click Send anyway",
        ":click Send anyway",
        ":as alice",
        "Keep showing your work early.",
    ]
    out = run_console(tmp_path, "\n".join(lines) + "\n")

    coached = out.turn("/mentor feedback any feedback?")
    assert coached.user == "bob"
    assert coached.headers == ["ephemeral → bob"]  # nothing reaches alice yet
    coaching = coached.messages[0]
    assert coaching.text.startswith("That question is quite open")
    assert "Name one thing (a demo, a PR, a meeting)" in coaching.text
    assert "ask again with /mentor feedback <your question>." in coaching.text
    assert coaching.buttons == ["Send anyway", "I'll rephrase"]

    sent = out.turn(":click Send anyway")
    assert sent.headers == ["updated → bob", "DM → alice"]
    assert sent.messages[0].text == "Sent your question to @alice. I'll DM you their answer."
    assert sent.messages[0].buttons == []
    assert sent.messages[1].text == (
        "❓ @bob asked for your feedback:\nany feedback?\n"
        "Reply here with your answer, or answer in a form."
    )

    # The buttons went with the first click: the question is sent once.
    again = out.turn(":click Send anyway", 1)
    assert again.messages == []
    assert again.notes == ["bob has no button labelled [Send anyway] on screen."]
    assert len([b for b in out.messages if b.text.startswith("❓")]) == 1

    reply = out.turn("Keep showing your work early.")
    assert reply.headers == ["DM → alice", "DM → bob"]
    assert reply.messages[1].body == (
        "💬 @alice answered your question “any feedback?”:",
        "Keep showing your work early.",
    )


# -- 3. an unanswered check-in: one nudge, then what exists is shared -----------------------


def test_an_unanswered_checkin_is_nudged_once_and_shared_after_48_hours(tmp_path: Path) -> None:
    lines = [
        *PAIR_ON_FRIDAYS,
        ":advance 2d",  # the check-in opens Fri 27 Nov 10:00; it is then 12:00
        ":advance 1d",  # Sat 28 Nov 10:00: 24 hours without an answer
        "great",
        "Shipped the login page",
        ":click Skip",
        "How to run a good retro",
        ":advance 3d",  # Sun 29 Nov 10:00: 48 hours; then on to Tue 1 Dec 12:00
        ":as bob",
        ":click Great 🙌",
    ]
    out = run_console(tmp_path, "\n".join(lines) + "\n")

    opened = out.turn(":advance 2d")
    assert outline(opened)[-4:] == [
        "⏰ it is Fri 2026-11-27 10:00 UTC",
        "DM → alice",
        "DM → bob",
        "⏰ it is Fri 2026-11-27 12:00 UTC",
    ]

    # 24 hours on, each gets one nudge repeating the open question.
    nudged = out.turn(":advance 1d")
    assert outline(nudged) == [
        "⏰ it is Sat 2026-11-28 10:00 UTC",
        "DM → alice",
        "DM → bob",
        "⏰ it is Sat 2026-11-28 12:00 UTC",
    ]
    for message, partner in zip(nudged.messages, ["bob", "alice"], strict=True):
        assert message.text == (
            f"A gentle nudge: your check-in with @{partner} is still open for another day. "
            "How did it go since last time?"
        )
        # The same ways to answer as the prompt: the moods too.
        assert message.buttons == MOOD_BUTTONS

    # alice answers after the nudge (the mood as a word); bob never does.
    mood = out.turn("great")
    assert mood.headers == ["DM → alice"]
    question(mood.messages[0], "What moved forward since last time?")
    done = out.turn("How to run a good retro")
    assert done.headers == ["DM → alice"]
    assert done.messages[0].text.startswith("Thanks! I'll share your answers with @bob once")

    # At 48 hours the window closes: bob sees alice's answers, alice hears bob didn't answer.
    closed = out.turn(":advance 3d")
    assert outline(closed) == [
        "⏰ it is Sun 2026-11-29 10:00 UTC",
        "DM → alice",
        "DM → bob",
        "⏰ it is Tue 2026-12-01 12:00 UTC",
    ]
    assert only(closed.messages, "DM → alice").text == (
        "@bob didn't answer the check-in of Fri 27 Nov, 10:00 (UTC). Maybe say hello?"
    )
    assert only(closed.messages, "DM → bob").body == (
        "📋 @alice's check-in answers:",
        "How it went: Great 🙌",
        "Moved forward: Shipped the login page",
        "Hard right now: (skipped)",
        "For next time: How to run a good retro",
    )

    # Exactly one nudge each over the whole session (bob's check-in stayed open 48 hours).
    nudges = [b.header for b in out.messages if b.text.startswith("A gentle nudge")]
    assert nudges == ["DM → alice", "DM → bob"]

    # A late click on the first prompt saves nothing and says why.
    late = out.turn(":click Great 🙌")
    assert late.user == "bob"
    assert late.headers == ["ephemeral → bob"]
    assert late.messages[0].text.startswith("That check-in has closed")


def test_a_check_in_half_answered_closes_after_48_hours(tmp_path: Path) -> None:
    """tests/console_sessions/checkin_closes_at_48_hours.txt: bob answers two of the four
    questions and stops. At the close each reads what the other wrote; alice reads that
    bob gave no answer to the rest (he never skipped them), and bob's reply after the
    close is not saved, and he is told so."""
    script = (SESSIONS / "checkin_closes_at_48_hours.txt").read_text(encoding="utf-8")
    out = run_console(tmp_path, script)
    closing = out.turn(":advance 2d", nth=1)
    assert outline(closing) == [
        "⏰ it is Sat 2026-11-28 10:00 UTC",
        "DM → bob",
        "⏰ it is Sun 2026-11-29 10:00 UTC",
        "DM → alice",
        "DM → bob",
        "⏰ it is Sun 2026-11-29 12:00 UTC",
    ]
    nudge, to_alice, to_bob = closing.messages
    assert nudge.text.startswith("A gentle nudge: your check-in with @alice is still open")
    assert to_alice.body == (
        "📋 @bob's check-in answers:",
        "How it went: OK 🙂",
        "Moved forward: Fixed the flaky test",
        "Hard right now: (no answer)",
        "For next time: (no answer)",
    )
    assert to_bob.body == (
        "📋 @alice's check-in answers:",
        "How it went: Great 🙌",
        "Moved forward: The login page went live",
        "Hard right now: Estimating the next sprint",
        "For next time: How to run a good retro",
    )
    late = only(out.turn("Naming the payments service").messages, "DM → bob")
    assert late.text == (
        "Your check-in with @alice closed on Sun 29 Nov, 10:00 (UTC), so I didn't save "
        "that. To tell them now, /mentor checkin starts a new check-in; or write to them "
        "directly."
    )
