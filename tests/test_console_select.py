"""The console shows a menu (a Select) as one option a line, and ``:click`` picks an
option as it picks a button: the session in tests/console_sessions/which_pair_menu.txt,
where alice, in six pairs, is asked "which pair?" with a menu and chooses p4."""

from __future__ import annotations

from pathlib import Path

from bot.flows.choice import Chosen, answered
from tests.test_console import SESSIONS, only, run_console


def test_which_pair_is_a_menu_and_click_picks_an_option(tmp_path: Path) -> None:
    script = (SESSIONS / "which_pair_menu.txt").read_text(encoding="utf-8")
    out = run_console(tmp_path, script)

    asked = only(
        out.turn("/mentor milestone add Give a lightning talk").blocks, "ephemeral → alice"
    )
    assert asked.body == (
        "You're in more than one pair. Which one do you mean?",
        "Choose one… (:click one)",
        *[f"  [With p{n} (your mentee)]" for n in range(1, 7)],
    )
    chosen = out.turn(":click With p4")
    # The menu is replaced by the question with what was chosen, not a bare "Okay.".
    assert chosen.headers[0] == "updated → alice"
    assert chosen.messages[0].text == (
        "You're in more than one pair. Which one do you mean? With p4 (your mentee)"
    )
    # Marking it done needs the pair named again (the number alone would ask again).
    assert chosen.messages[1].text == (
        "Milestone #1 added: Give a lightning talk\nMark it done with /mentor milestone done 1 @p4."
    )
    assert only(chosen.blocks, "DM → p4").text.startswith("@alice set a milestone for your pair")
    listed = only(out.turn("/mentor milestone list @p4").blocks, "ephemeral → alice")
    assert "#1 Give a lightning talk" in listed.text
    # As the hint said: done, with no second "which pair?".
    done = out.turn("/mentor milestone done 1 @p4")
    assert done.messages[0].text.startswith("Milestone #1 done: Give a lightning talk")
    assert "Which one do you mean?" not in "\n".join(m.text for m in done.messages)


def test_a_question_kept_by_an_earlier_version_is_answered_okay() -> None:
    """ "Which pair?" questions asked before labels were kept still get a plain answer."""
    assert answered(Chosen(4, {"command": "checkin", "text": ""})) == "Okay."
    kept = {"question": "Which one?", "labels": {"4": "With Bob"}}
    assert answered(Chosen(4, kept)) == "Which one? With Bob"
