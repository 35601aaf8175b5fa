"""Content is stored in the outbox as JSON: it comes back exactly as it went in, menu
included, and rows stored before menus existed still read."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from bot.content import Button, ButtonStyle, Content, Field, Option, Select

_text = st.text(max_size=50)
_contents = st.builds(
    Content,
    text=_text,
    title=st.none() | _text,
    fields=st.lists(st.builds(Field, _text, _text), max_size=4).map(tuple),
    buttons=st.lists(
        st.builds(Button, _text, _text, st.sampled_from(list(ButtonStyle))), max_size=4
    ).map(tuple),
    select=st.none()
    | st.builds(
        Select, _text, _text, st.lists(st.builds(Option, _text, _text), max_size=30).map(tuple)
    ),
)


@given(_contents)
def test_content_survives_the_outbox(content: Content) -> None:
    stored = json.loads(json.dumps(content.to_json()))
    assert Content.from_json(stored) == content


def test_a_row_stored_before_menus_existed_still_reads() -> None:
    old = {"text": "hi", "title": None, "fields": [], "buttons": [["Yes", "flow:1:yes", "primary"]]}
    assert Content.from_json(old) == Content(
        "hi", buttons=(Button("Yes", "flow:1:yes", ButtonStyle.PRIMARY),)
    )


def test_a_menus_options_can_be_clicked_like_buttons() -> None:
    menu = Select("choose:1", "Choose one…", (Option("With bob", "flow:1:7"),))
    content = Content("Which pair?", buttons=(Button("Cancel", "flow:1:no"),), select=menu)
    assert content.choices == (Button("Cancel", "flow:1:no"), Button("With bob", "flow:1:7"))
