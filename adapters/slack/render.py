"""Neutral content -> Slack Block Kit (pure).

A message is sections of ``mrkdwn`` text (the core's ``*bold*`` and backticks are
Slack's own), ``context`` blocks for the small print (lines in parentheses, tips),
the fields as a section's two-column ``fields`` when short and as their own sections
when long, and the buttons in an ``actions`` block whose ``action_id`` is the core's
``Button.action_id``. Every message also gets a plain ``text`` fallback (notifications,
screen readers). A form becomes a modal whose ``callback_id`` is the form id and whose
input blocks are named after the fields.

Text is escaped the way Slack asks (``&``, ``<``, ``>``), except the core's neutral
mentions ``<@U123>`` and ``<#C123>``, which Slack shows natively.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from bot.content import Button, ButtonStyle, Content, Field, Form, FormFieldKind

# Slack's limits (Block Kit reference).
SECTION_TEXT_CHARS = 3000
FIELD_TEXT_CHARS = 2000
FIELDS_PER_SECTION = 10
BUTTONS_PER_ACTIONS = 25
BUTTON_TEXT_CHARS = 75
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
VIEW_TITLE_CHARS = 24
INPUT_LABEL_CHARS = 2000
PLACEHOLDER_CHARS = 150
INPUT_MAX_LENGTH = 3000
FALLBACK_CHARS = 3000
# A field this short and on one line sits in a two-column ``fields`` section.
SHORT_FIELD_CHARS = 80

Block = dict[str, Any]

_MENTION = re.compile(r"<[@#][A-Za-z0-9_.\-]+>")
_SMALL_PRINT = re.compile(r"^\(.*\)$|^Tip:", re.DOTALL)


def escape(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` for mrkdwn, keeping neutral mentions as mentions."""
    out: list[str] = []
    position = 0
    for match in _MENTION.finditer(text):
        out.append(_escape_plain(text[position : match.start()]))
        out.append(match.group(0))
        position = match.end()
    out.append(_escape_plain(text[position:]))
    return "".join(out)


def _escape_plain(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def plain(text: str, limit: int = SECTION_TEXT_CHARS) -> dict[str, Any]:
    return {"type": "plain_text", "text": shorten(text, limit) or " ", "emoji": True}


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def _section(text: str) -> Block:
    return {"type": "section", "text": _mrkdwn(text)}


def _chunks(lines: Iterable[str], limit: int) -> list[str]:
    """Lines joined into pieces of at most ``limit`` characters (a longer line is cut)."""
    pieces: list[str] = []
    current = ""
    for line in lines:
        while len(line) > limit:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:limit])
            line = line[limit:]
        if current and len(current) + 1 + len(line) > limit:
            pieces.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current.strip():
        pieces.append(current)
    return pieces


def text_blocks(text: str) -> list[Block]:
    """Sections for the text, with lines in parentheses and tips as ``context``."""
    blocks: list[Block] = []
    normal: list[str] = []

    def flush() -> None:
        blocks.extend(_section(piece) for piece in _chunks(normal, SECTION_TEXT_CHARS))
        normal.clear()

    for line in text.split("\n"):
        if _SMALL_PRINT.match(line.strip()):
            flush()
            small = shorten(escape(line.strip()), SECTION_TEXT_CHARS)
            blocks.append({"type": "context", "elements": [_mrkdwn(small)]})
        else:
            normal.append(escape(line))
    flush()
    return blocks


def field_blocks(fields: Sequence[Field]) -> list[Block]:
    blocks: list[Block] = []
    short: list[dict[str, str]] = []

    def flush() -> None:
        for start in range(0, len(short), FIELDS_PER_SECTION):
            blocks.append({"type": "section", "fields": short[start : start + FIELDS_PER_SECTION]})
        short.clear()

    for item in fields:
        label, value = escape(item.label), escape(item.value)
        if len(item.value) <= SHORT_FIELD_CHARS and "\n" not in item.value:
            short.append(_mrkdwn(shorten(f"*{label}*\n{value}", FIELD_TEXT_CHARS)))
            continue
        flush()
        blocks.extend(
            _section(piece) for piece in _chunks([f"*{label}*", *value.split("\n")], 3000)
        )
    flush()
    return blocks


def button(item: Button) -> Block:
    element: Block = {
        "type": "button",
        "text": plain(item.label, BUTTON_TEXT_CHARS),
        "action_id": item.action_id,
        "value": item.action_id,
    }
    if item.style != ButtonStyle.DEFAULT:
        element["style"] = item.style.value
    return element


def button_blocks(buttons: Sequence[Button]) -> list[Block]:
    return [
        {"type": "actions", "elements": [button(b) for b in buttons[i : i + BUTTONS_PER_ACTIONS]]}
        for i in range(0, len(buttons), BUTTONS_PER_ACTIONS)
    ]


def blocks(content: Content, *, limit: int = MESSAGE_BLOCKS) -> list[Block]:
    found: list[Block] = []
    if content.title:
        found.append(_section(f"*{escape(shorten(content.title, SECTION_TEXT_CHARS - 2))}*"))
    found += text_blocks(content.text)
    found += field_blocks(content.fields)
    actions = button_blocks(content.buttons)
    # Never drop the buttons: cut the text instead if a message is too long for Slack.
    room = max(limit - len(actions), 1)
    if len(found) > room:
        found = [*found[: room - 1], _section("… (shortened)")]
    return found + actions


def fallback_text(content: Content) -> str:
    """The plain ``text`` of a message: what notifications and screen readers show."""
    parts = [content.title, content.text] if content.title else [content.text]
    parts += [f"{f.label}: {f.value}" for f in content.fields]
    return shorten(escape("\n".join(p for p in parts if p)), FALLBACK_CHARS)


def message(content: Content) -> dict[str, Any]:
    """``text`` and ``blocks`` for chat.postMessage, chat.update or a response."""
    return {"text": fallback_text(content), "blocks": blocks(content)}


def ephemeral(content: Content, *, replace_original: bool | None = None) -> dict[str, Any]:
    """The body of a slash command's ack or a ``response_url`` post: only the person
    who acted sees it."""
    body = {**message(content), "response_type": "ephemeral"}
    if replace_original is not None:
        body["replace_original"] = replace_original
    return body


def modal(form: Form) -> dict[str, Any]:
    """A form as a modal; the submission comes back with ``callback_id`` = the form id,
    each answer under the block id = the field's name."""
    inputs: list[Block] = []
    for item in form.fields[:VIEW_BLOCKS]:
        element: Block = {
            "type": "plain_text_input",
            "action_id": "value",
            "multiline": item.kind == FormFieldKind.LONG_TEXT,
            "max_length": max(1, min(item.max_length, INPUT_MAX_LENGTH)),
        }
        if item.placeholder:
            element["placeholder"] = plain(item.placeholder, PLACEHOLDER_CHARS)
        inputs.append(
            {
                "type": "input",
                "block_id": item.name,
                "label": plain(item.label, INPUT_LABEL_CHARS),
                "optional": not item.required,
                "element": element,
            }
        )
    return {
        "type": "modal",
        "callback_id": form.form_id,
        "title": plain(form.title, VIEW_TITLE_CHARS),
        "submit": plain(form.submit_label, VIEW_TITLE_CHARS),
        "close": plain("Cancel", VIEW_TITLE_CHARS),
        "blocks": inputs,
    }


def home(sections: Sequence[Content], buttons: Sequence[Button]) -> dict[str, Any]:
    """The App Home tab: the common actions on top, then each part with a divider."""
    found: list[Block] = [
        {"type": "header", "text": plain("Your mentoring", 150)},
        *button_blocks(buttons),
    ]
    for part in sections:
        found.append({"type": "divider"})
        found += blocks(part, limit=VIEW_BLOCKS)
    if len(found) > VIEW_BLOCKS:
        found = [*found[: VIEW_BLOCKS - 1], _section("… (more in `/mentor status`)")]
    return {"type": "home", "blocks": found}
