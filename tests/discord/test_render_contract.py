"""The render contract on Discord: every Content and Form the core produces, at its
largest (``tests/worst_case.py``), renders within Discord's documented limits (2,000
characters of content; 10 embeds and 6,000 characters across them, a description of
4,096, a title of 256, 25 fields of 256 + 1,024; 5 action rows of 5 buttons, labels of
80, custom ids of 100, a select of 25 options; modals of 5 inputs, labels of 45), checked
the way the fake Discord answers (400, code 50035). Nothing people wrote is lost: long
content becomes several messages, and the worst check-in share arrives whole.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from adapters.discord import render
from adapters.discord.command_tree import goal_choice
from adapters.discord.sender import DiscordSender
from bot.clock import ManualClock
from bot.content import Button, Content, Option, Select
from bot.effects import SendDM
from bot.milestones import GoalChoice
from bot.refs import Platform, UserRef
from bot.storage.database import Database
from tests.discord.fake_discord import (
    FakeDiscord,
    autocomplete_errors,
    message_errors,
    modal_errors,
)
from tests.worst_case import EMOJI, MIXED, Produced, worst_case_once

GUILD = "123456789012345678"
_SPACE = re.compile(r"\s+")


@pytest.fixture
async def produced(backend: str, database: Database, clock: ManualClock) -> Produced:
    return await worst_case_once(backend, database, clock)


def _flat(text: str) -> str:
    return _SPACE.sub("", text)


def assert_every_word(content: Content, shown: str) -> None:
    flat = _flat(shown)
    pieces = [content.title or "", content.text]
    pieces += [piece for f in content.fields for piece in (f.label, f.value)]
    for piece in pieces:
        assert _flat(render.discord_markup(piece)) in flat, piece[:80]


def _shown(messages: list[dict[str, Any]]) -> str:
    """What a person reads, with a field's "(continued)" names left out, so a value
    split over fields reads as one."""
    parts: list[str] = []
    for message in messages:
        parts.append(message.get("content") or "")
        for embed in message.get("embeds") or []:
            parts += [embed.get("title", ""), embed.get("description", "")]
            for field in embed.get("fields", []):
                if not field["name"].endswith("(continued)"):
                    parts.append(field["name"])
                parts.append(field["value"])
    return "\n".join(parts)


def _components(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for p in payloads for row in p.get("components", []) for c in row["components"]]


@pytest.mark.parametrize("style", list(render.Style))
def test_every_message_fits_within_discords_limits(produced: Produced, style: render.Style) -> None:
    for content in produced.contents:
        payloads = render.messages(content, GUILD, style)
        for payload in payloads:
            assert message_errors(payload) is None, content.text[:80]
        assert_every_word(content, _shown(payloads))
        shown = _components(payloads)
        assert [c["custom_id"] for c in shown if c["type"] == 2] == [
            render.custom_id(GUILD, b.action_id) for b in content.buttons
        ]
        options = [o["value"] for c in shown if c["type"] == 3 for o in c["options"]]
        assert options == ([o.value for o in content.select.options] if content.select else [])
        for card in (True, False):
            assert message_errors(render.update(content, GUILD, card=card)) is None


def test_every_form_fits_in_discord_modals(produced: Produced) -> None:
    assert produced.forms
    for form in produced.forms:
        modals = render.modals(form, GUILD)
        assert sum(len(m["components"]) for m in modals) == len(form.fields)
        for modal in modals:
            assert modal_errors(modal) is None


def test_a_form_opens_with_the_answers_given_so_far(produced: Produced) -> None:
    initials = {f.initial for form in produced.forms for f in form.fields if f.initial}
    assert {MIXED.strip(), EMOJI} <= initials  # (kept without the trailing space)
    for form in produced.forms:
        modals = render.modals(form, GUILD)
        inputs = {
            i["custom_id"]: i for m in modals for row in m["components"] for i in row["components"]
        }
        for field in form.fields:
            shown = inputs[field.name]
            if field.initial == EMOJI:
                # 6,000 UTF-16 units: past what an input holds, so shown empty (which
                # keeps the answer), never cut (which would replace it with a part).
                assert "value" not in shown
                assert shown["placeholder"] == render.KEPT_WHEN_EMPTY
            else:
                assert shown.get("value") == field.initial
                assert render.units(field.initial or "") <= shown["max_length"]


def test_more_choices_than_a_message_holds_go_on_more_messages() -> None:
    """Five rows of 25 options fit a message; 150 options and two rows of buttons need
    a second message, and every option can still be chosen."""
    options = tuple(Option("Pair " + "x" * 120, f"flow:9:{n}") for n in range(150))
    content = Content(
        "Which pair?",
        buttons=tuple(Button(f"b{n}", f"flow:9:b{n}") for n in range(7)),
        select=Select("choose:9", "Choose one…", options),
    )
    payloads = render.messages(content, GUILD, render.Style.CARD)
    # The words with 2 rows of buttons and 3 menus, then the last 3 menus.
    assert [len(p["components"]) for p in payloads] == [5, 3]
    for payload in payloads:
        assert message_errors(payload) is None
    menus = [c for c in _components(payloads) if c["type"] == 3]
    assert [len(m["options"]) for m in menus] == [25] * 6
    assert menus[-1]["placeholder"] == "Choose one… (126 to 150 of 150)"
    assert len({m["custom_id"] for m in menus}) == 6


async def test_the_worst_share_arrives_whole_through_the_sender(
    fake: FakeDiscord, sender: DiscordSender, produced: Produced
) -> None:
    share = max(
        (c for c in produced.contents if "check-in answers" in c.text),
        key=lambda c: sum(len(f.value) for f in c.fields),
    )
    user = fake.add_user("Bob")

    await sender.perform(SendDM(UserRef(Platform.DISCORD, GUILD, user), share, outbox_id=7))

    received = fake.dms(user)
    assert len(received) > 1
    assert_every_word(share, _shown(received))


async def test_the_fake_refuses_what_discord_refuses(fake: FakeDiscord) -> None:
    """A payload past a limit is answered 400 / 50035 with the field that is wrong."""
    too_long = {"content": "x" * 2001}
    errors = message_errors(too_long)
    assert errors is not None and errors["code"] == 50035 and "content" in errors["errors"]
    six_rows = {"components": [{"type": 1, "components": [{"type": 2}]}] * 6}
    assert message_errors(six_rows) is not None
    big_embeds = {"embeds": [{"description": "x" * 4000}, {"description": "y" * 2500}]}
    errors = message_errors(big_embeds)
    assert errors is not None and "embeds" in errors["errors"]
    value = {"type": 4, "custom_id": "q", "label": "Q", "style": 2, "value": "😀" * 2001}
    errors = modal_errors({"title": "T", "custom_id": "f", "components": [{"components": [value]}]})
    assert errors is not None and "data.components.0.components.0.value" in errors["errors"]
    assert message_errors({"content": ""}) == {
        "code": 50006,
        "message": "Cannot send an empty message",
    }


def _choices(*pairs: tuple[str, str]) -> dict[str, list[dict[str, str]]]:
    return {"choices": [{"name": name, "value": value} for name, value in pairs]}


def test_an_autocomplete_answer_past_discords_limits_is_refused_here_first() -> None:
    """The fake refuses what Discord refuses: more than 25 choices, a name or a value
    past 100 UTF-16 units; and a goal's choice always fits, however long its title."""
    assert autocomplete_errors(_choices(*[("x", "x")] * 25)) is None
    assert autocomplete_errors(_choices(*[("x", "x")] * 26)) is not None
    assert autocomplete_errors(_choices(("🎯" * 50, "x"))) is None  # 100 units
    assert autocomplete_errors(_choices(("🎯" * 51, "x"))) is not None
    assert autocomplete_errors(_choices(("x", "y" * 101))) is not None
    assert autocomplete_errors(_choices(("", "x"))) is not None
    long = goal_choice(GoalChoice(7, "🎯 " * 100, "Alice"))
    assert autocomplete_errors(_choices((long.name, long.value))) is None
    assert long.value == "7" and long.name.startswith("#7 🎯")
    assert long.name.endswith("… (with Alice)")
    short = goal_choice(GoalChoice(2, "Ship the API"))
    assert (short.name, short.value) == ("#2 Ship the API", "Ship the API")
