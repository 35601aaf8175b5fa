"""One event, one message per person: joined parts keep buttons a person can tell apart."""

from __future__ import annotations

from bot.content import Button, Content
from bot.turn import KEEP_MESSAGE, join_contents


def _proposal(partner: str) -> Content:
    return Content(
        f"Would you like to mentor {partner}?",
        buttons=(Button("Accept", f"p:{partner}:yes"), Button("Decline", f"p:{partner}:no")),
    )


def test_repeated_labels_are_numbered_in_the_order_their_parts_are_told() -> None:
    joined = join_contents(join_contents(_proposal("eve"), _proposal("ela")), _proposal("una"))
    assert [b.label for b in joined.buttons] == [
        "Accept (1)",
        "Decline (1)",
        "Accept (2)",
        "Decline (2)",
        "Accept (3)",
        "Decline (3)",
    ]
    # Each numbered button still does what its own part asked.
    assert [b.action_id for b in joined.buttons] == [
        KEEP_MESSAGE + f"p:{who}:{answer}"
        for who in ("eve", "ela", "una")
        for answer in ("yes", "no")
    ]


def test_labels_that_differ_are_left_as_they_are() -> None:
    joined = join_contents(
        Content("Milestone reached", buttons=(Button("Celebrate", "c"),)),
        Content("A look back?", buttons=(Button("Look back", "r"), Button("Not now", "n"))),
    )
    assert [b.label for b in joined.buttons] == ["Celebrate", "Look back", "Not now"]
