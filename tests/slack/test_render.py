"""Neutral content -> Block Kit, and forms -> modals. Pure: no I/O."""

from __future__ import annotations

from adapters.slack import render
from bot.content import Button, ButtonStyle, Content, Field, Form, FormField, FormFieldKind


def test_text_is_escaped_but_mentions_and_bold_stay_native() -> None:
    text = "*<@U1>* wrote: <!channel> a < b & c in <#C2>"
    assert render.escape(text) == "*<@U1>* wrote: &lt;!channel&gt; a &lt; b &amp; c in <#C2>"


def test_a_message_has_sections_context_fields_buttons_and_a_fallback() -> None:
    content = Content(
        "👋 Time for your check-in with <@U2>.\nHow did it go?\n(Reply here, or skip.)",
        title="Check-in",
        fields=(Field("Mood", "great"), Field("Moved forward", "line one\nline two")),
        buttons=(
            Button("Great 🙌", "flow:3:mood:great"),
            Button("Answer in a form", "flow:3:form", ButtonStyle.PRIMARY),
        ),
    )

    message = render.message(content)

    assert message["text"].startswith("Check-in\n👋 Time for your check-in with <@U2>.")
    assert [b["type"] for b in message["blocks"]] == [
        "section",
        "section",
        "context",
        "section",
        "section",
        "actions",
    ]
    title, body, small, short, long, actions = message["blocks"]
    assert title["text"]["text"] == "*Check-in*"
    assert body["text"]["text"] == "👋 Time for your check-in with <@U2>.\nHow did it go?"
    assert small["elements"][0]["text"] == "(Reply here, or skip.)"
    assert short["fields"] == [{"type": "mrkdwn", "text": "*Mood*\ngreat"}]
    assert long["text"]["text"] == "*Moved forward*\nline one\nline two"
    assert actions["elements"] == [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": "Great 🙌", "emoji": True},
            "action_id": "flow:3:mood:great",
            "value": "flow:3:mood:great",
        },
        {
            "type": "button",
            "text": {"type": "plain_text", "text": "Answer in a form", "emoji": True},
            "action_id": "flow:3:form",
            "value": "flow:3:form",
            "style": "primary",
        },
    ]


def test_long_text_is_split_into_sections_within_slacks_limit() -> None:
    text = "\n".join(f"• win number {i} " + "x" * 80 for i in range(100))
    blocks = render.blocks(Content(text))
    assert len(blocks) > 1
    assert all(len(b["text"]["text"]) <= render.SECTION_TEXT_CHARS for b in blocks)


def test_a_huge_message_keeps_its_buttons() -> None:
    text = "\n\n".join("(" + "y" * 50 + ")" for _ in range(80))
    blocks = render.blocks(Content(text, buttons=(Button("Older", "journal:2"),)))
    assert len(blocks) == render.MESSAGE_BLOCKS
    assert blocks[-1]["type"] == "actions"


def test_a_form_becomes_a_modal_named_by_the_form_id() -> None:
    form = Form(
        "flow:9:answer",
        "A rather long title for a Slack modal",
        (
            FormField("answer", "Your answer", FormFieldKind.LONG_TEXT, required=True),
            FormField("mood", "Mood", placeholder="great, ok, rough"),
        ),
        submit_label="Send",
    )

    view = render.modal(form)

    assert view["callback_id"] == "flow:9:answer"
    assert len(view["title"]["text"]) <= 24 and view["submit"]["text"] == "Send"
    answer, mood = view["blocks"]
    assert answer == {
        "type": "input",
        "block_id": "answer",
        "label": {"type": "plain_text", "text": "Your answer", "emoji": True},
        "optional": False,
        "element": {
            "type": "plain_text_input",
            "action_id": "value",
            "multiline": True,
            "max_length": 3000,
        },
    }
    assert mood["optional"] is True
    assert mood["element"]["placeholder"]["text"] == "great, ok, rough"


def test_an_ephemeral_answer_says_so() -> None:
    body = render.ephemeral(Content("hi"), replace_original=False)
    assert body["response_type"] == "ephemeral" and body["replace_original"] is False
