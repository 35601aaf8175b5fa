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
