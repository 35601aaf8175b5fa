"""Neutral content -> Discord payloads within Discord's limits."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.discord import render
from adapters.discord.render import Style
from bot.content import Button, ButtonStyle, Content, Field, Form, FormField, FormFieldKind

GUILD = "1287654321098765432"


def embed_chars(message: dict[str, Any]) -> int:
    total = 0
    for embed in message.get("embeds", []):
        total += len(embed.get("title", "")) + len(embed.get("description", ""))
        total += sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", []))
    return total


def assert_within_limits(message: dict[str, Any]) -> None:
    assert len(message.get("content", "")) <= 2000
    assert len(message.get("embeds", [])) <= 10
    assert embed_chars(message) <= 6000
    for embed in message.get("embeds", []):
        assert len(embed.get("title", "")) <= 256
        assert len(embed.get("description", "")) <= 4096
        assert len(embed.get("fields", [])) <= 25
        for field in embed.get("fields", []):
            assert len(field["name"]) <= 256 and 0 < len(field["value"]) <= 1024
    rows = message.get("components", [])
    assert len(rows) <= 5
    for row in rows:
        assert len(row["components"]) <= 5
        for button in row["components"]:
            assert len(button["label"]) <= 80 and len(button["custom_id"]) <= 100
    assert message["allowed_mentions"] == {"parse": []}


def test_neutral_bold_becomes_discord_bold_and_code_is_left_alone() -> None:
    text = "🎉 <@1> reached a milestone: *Ship it* — use `/mentor *config*` or *x* y*z"
    assert render.discord_markup(text) == (
        "🎉 <@1> reached a milestone: **Ship it** — use `/mentor *config*` or **x** y*z"
    )
    assert render.discord_markup("**already** bold") == "**already** bold"


def test_a_short_reply_is_plain_content_with_buttons_that_carry_the_server() -> None:
    content = Content(
        "Which pair?",
        buttons=(
            Button("Bob", "flow:3:1"),
            Button("End pair", "flow:3:end", ButtonStyle.DANGER),
            Button("Accept", "flow:3:accept", ButtonStyle.PRIMARY),
        ),
    )
    (message,) = render.messages(content, GUILD, Style.PLAIN)
    assert message["content"] == "Which pair?"
    (row,) = message["components"]
    assert [(b["label"], b["style"], b["custom_id"]) for b in row["components"]] == [
        ("Bob", 2, f"{GUILD}|flow:3:1"),
        ("End pair", 4, f"{GUILD}|flow:3:end"),
        ("Accept", 1, f"{GUILD}|flow:3:accept"),
    ]
    assert render.split_custom_id(row["components"][0]["custom_id"]) == (GUILD, "flow:3:1")
    assert render.split_custom_id("flow:3:1") == (None, "flow:3:1")


def test_a_dm_is_an_embed_card() -> None:
    content = Content("How it went:", title="Check-in", fields=(Field("Moved forward", "*a lot*"),))
    (message,) = render.messages(content, GUILD, Style.CARD)
    (embed,) = message["embeds"]
    assert embed["title"] == "Check-in"
    assert embed["description"] == "How it went:"
    assert embed["fields"] == [{"name": "Moved forward", "value": "**a lot**", "inline": False}]
    assert embed["color"] == render.BRAND_COLOUR
    assert "content" not in message
    (shoutout,) = render.messages(Content("🎉 yay"), GUILD, Style.SHOUTOUT)
    assert shoutout["embeds"][0]["color"] == render.CELEBRATION_COLOUR


def test_a_reply_over_2000_characters_becomes_an_embed_and_nothing_is_lost() -> None:
    text = "\n".join(f"• 2026-11-{n % 28 + 1:02d} — " + "w" * 480 for n in range(10))
    messages = render.messages(Content(text), GUILD, Style.PLAIN)
    for message in messages:
        assert_within_limits(message)
    descriptions = [e["description"] for m in messages for e in m["embeds"]]
    assert "\n".join(descriptions) == text


def test_long_fields_are_continued_and_messages_split_within_every_limit() -> None:
    answers = tuple(Field(f"Question {n}", f"answer {n} " + "x" * 2990) for n in range(4))
    content = Content(
        "y" * 3000,
        fields=answers,
        buttons=tuple(Button(f"B{n}", f"flow:1:{n}") for n in range(30)),
    )
    messages = render.messages(content, GUILD, Style.CARD)
    assert len(messages) > 1
    for message in messages:
        assert_within_limits(message)
    assert all("components" not in m for m in messages[:-1])  # buttons under the last
    assert sum(len(r["components"]) for r in messages[-1]["components"]) == 25
    values = [f for m in messages for e in m["embeds"] for f in e.get("fields", [])]
    assert values[1]["name"] == "Question 0 (continued)"
    assert "".join(f["value"] for f in values if f["name"].startswith("Question 2")) == (
        answers[2].value
    )


def test_content_past_the_message_cap_is_cut_with_a_marker() -> None:
    fields = tuple(Field(f"F{n}", "z" * 1000) for n in range(200))
    messages = render.messages(Content("start", fields=fields), GUILD, Style.CARD)
    assert len(messages) == render.MAX_MESSAGES
    for message in messages:
        assert_within_limits(message)
    assert messages[-1]["embeds"][-1]["fields"][-1]["value"].endswith(render.TRIMMED)


def test_lengths_count_utf16_units_so_emoji_never_overflow() -> None:
    text = "🎉" * 1500  # 1,500 code points, 3,000 UTF-16 units
    messages = render.messages(Content(text), GUILD, Style.PLAIN)
    assert "content" not in messages[0]  # over 2,000 units: an embed
    assert "".join(e["description"] for m in messages for e in m["embeds"]) == text
    pieces = render.split_text("🎉" * 3000, 4096)
    assert all(render.units(p) <= 4096 for p in pieces) and "".join(pieces) == "🎉" * 3000


def test_an_update_replaces_everything_of_the_old_message() -> None:
    payload = render.update(Content("Okay."), GUILD, card=True)
    assert payload["content"] == "" and payload["components"] == []
    assert payload["embeds"][0]["description"] == "Okay."
    plain = render.update(Content("Okay."), GUILD, card=False)
    assert plain == {
        "content": "Okay.",
        "embeds": [],
        "components": [],
        "allowed_mentions": {"parse": []},
    }
    long = render.update(Content("w " * 20_000), GUILD, card=False)
    assert_within_limits(long)
    assert long["embeds"][-1]["description"].endswith(render.TRIMMED)


def test_a_form_is_a_modal_with_short_labels_and_the_whole_question_as_placeholder() -> None:
    form = Form(
        "flow:9:answers",
        "Your check-in",
        (
            FormField("mood", "How did it go since last time?", placeholder="great, ok, rough"),
            FormField(
                "next_topic",
                "What would you like to bring to your next conversation?",
                FormFieldKind.LONG_TEXT,
                required=True,
                max_length=5000,
            ),
        ),
    )
    (modal,) = render.modals(form, GUILD)
    assert modal["custom_id"] == f"{GUILD}|flow:9:answers"
    assert modal["title"] == "Your check-in"
    first, second = (row["components"][0] for row in modal["components"])
    assert first == {
        "type": 4,
        "custom_id": "mood",
        "label": "How did it go since last time?",
        "style": 1,
        "required": False,
        "max_length": 3000,
        "placeholder": "great, ok, rough",
    }
    assert len(second["label"]) <= 45 and second["label"].endswith("…")
    assert second["placeholder"] == "What would you like to bring to your next conversation?"
    assert second["style"] == 2 and second["required"] and second["max_length"] == 4000


def test_a_form_of_more_than_five_fields_is_asked_in_parts() -> None:
    fields = tuple(FormField(f"q{n}", f"Question {n}") for n in range(7))
    first, second = render.modals(Form("flow:4:answers", "Look back", fields), GUILD)
    assert len(first["components"]) == 5 and len(second["components"]) == 2
    assert first["custom_id"] == f"{GUILD}|part1of2|flow:4:answers"
    assert second["title"] == "Look back (2/2)"
    _, action = render.split_custom_id(second["custom_id"])
    assert render.split_form_part_id(action) == (2, 2, "flow:4:answers")


def test_an_id_too_long_for_discord_is_refused_not_cut() -> None:
    assert render.custom_id(GUILD, "a" * 90) == "a" * 90  # works in a server
    with pytest.raises(render.RenderError):
        render.custom_id(GUILD, "a" * 101)
