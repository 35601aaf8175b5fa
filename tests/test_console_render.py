"""The console's pure renderer: what a person reads in the terminal."""

from __future__ import annotations

from adapters.console.render import render_message
from bot.content import Content, Field


def test_fields_show_names_keep_their_lines_indented_and_read_apart() -> None:
    content = Content(
        "Your 2 pairs:",
        fields=(
            Field("You mentoring <@bob>", "State: active\nStreak: 2 check-ins in a row"),
            Field("<@carol> mentoring you", "State: paused\nStreak: 0 check-ins in a row"),
            Field("Channel", "<#wins>"),
        ),
    )
    assert render_message("ephemeral → alice", "ephemeral", content).plain.split("\n") == [
        "ephemeral → alice",
        "  Your 2 pairs:",
        "  ",
        "  You mentoring @bob:",
        "    State: active",
        "    Streak: 2 check-ins in a row",
        "  ",
        "  @carol mentoring you:",
        "    State: paused",
        "    Streak: 0 check-ins in a row",
        "  Channel: #wins",
    ]


def test_control_characters_in_peoples_words_reach_the_terminal_escaped() -> None:
    """A win or answer holding an escape sequence (clear screen, window title) or a
    bidi override is shown escaped by the console and `dispatch`, line breaks kept."""
    hostile = "shipped \x1b[2J it\x1b]0;pwned\x07\nline two \u202egnirts\r"
    shown = render_message(
        "DM → bob\x1b[31m",
        "dm",
        Content(
            hostile,
            title="Win\x9b",
            fields=(Field("Progress\x1b", "a\x1b[1m\nb"),),
        ),
    ).plain
    assert "\x1b" not in shown and "\x07" not in shown and "\u202e" not in shown
    assert "\r" not in shown and "\x9b" not in shown
    assert "shipped \\x1b[2J it\\x1b]0;pwned\\x07" in shown
    assert "line two \\u202egnirts\\x0d" in shown
    assert "DM → bob\\x1b[31m" in shown
    assert shown.count("\n") >= 5  # the line breaks of the text and the field stay breaks


def test_a_mention_in_bold_text_is_shown_as_a_mention() -> None:
    """A milestone's title is shown in bold, and may name someone."""
    shown = render_message("DM → bob", "dm", Content("🎉 reached: *Demo to <@alice>*!"))
    assert shown.plain.endswith("🎉 reached: Demo to @alice!")
    assert any(span.style == "cyan" for span in shown.spans)
