"""Neutral content -> Discord message payloads; forms -> modals (pure).

Discord's limits shape everything here: 2,000 characters of message content; an embed's
title 256, description 4,096, 25 fields of 256 + 1,024; 10 embeds and 6,000 characters
across the embeds of one message; 5 rows of 5 buttons, labels of 80 and custom ids of
100 characters; a string select of 25 options takes a row of its own; a modal holds 5
text inputs with labels of 45 characters (https://discord.com/developers/docs/resources/
message#create-message, .../components/reference). Content that
does not fit is split over embeds and messages; past ``MAX_MESSAGES`` it is cut with a
visible marker, never silently.

Lengths are counted in UTF-16 code units, which is never less than what Discord counts,
so an emoji-heavy message can't slip over a limit.

Every button and modal carries the workspace (guild) id in front of the core's opaque id
(``"<guild id>|<action id>"``): a click in a DM, where Discord sends no guild, still
lands in the right workspace, after a restart too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from enum import StrEnum
from typing import Any, TypeVar

from bot.content import Button, ButtonStyle, Content, Form, FormField, FormFieldKind, Select

JsonObject = dict[str, Any]
T = TypeVar("T")

MESSAGE_CHARS = 2000
EMBED_TITLE_CHARS = 256
EMBED_DESCRIPTION_CHARS = 4096
FIELD_NAME_CHARS = 256
FIELD_VALUE_CHARS = 1024
FIELDS_PER_EMBED = 25
EMBEDS_PER_MESSAGE = 10
EMBED_TOTAL_CHARS = 6000
BUTTONS_PER_ROW = 5
ROWS_PER_MESSAGE = 5
BUTTON_LABEL_CHARS = 80
CUSTOM_ID_CHARS = 100
# A string select: 25 options, labels and values of 100, a placeholder of 150
# (https://discord.com/developers/docs/components/reference#string-select).
SELECT_OPTIONS = 25
OPTION_LABEL_CHARS = 100
OPTION_VALUE_CHARS = 100
SELECT_PLACEHOLDER_CHARS = 150
MODAL_TITLE_CHARS = 45
INPUTS_PER_MODAL = 5
INPUT_LABEL_CHARS = 45
INPUT_PLACEHOLDER_CHARS = 100
# A text input's value, typed or pre-filled, and its max_length
# (https://discord.com/developers/docs/components/reference#text-input).
INPUT_VALUE_CHARS = 4000
# A form field whose answer so far does not fit the input: shown empty, which keeps it.
KEPT_WHEN_EMPTY = "Answered already: leave this empty to keep your answer"
# Fields go to a new embed past this size, so any one embed fits a message with the marker.
EMBED_FILL_CHARS = EMBED_TOTAL_CHARS - 200
# One piece of content never becomes more messages than this; the rest is cut. The
# core's longest content (120 milestones of 200 characters, about 25,000 characters in
# descriptions of 4,096, one a message) takes 7: none of it is ever cut.
MAX_MESSAGES = 10

TRIMMED = "\n… (shortened: the rest was too long for Discord)"
EPHEMERAL = 1 << 6
NO_PINGS: JsonObject = {"parse": []}

BRAND_COLOUR = 0x5865F2
CELEBRATION_COLOUR = 0xF1C40F

_BUTTON_STYLES = {ButtonStyle.PRIMARY: 1, ButtonStyle.DEFAULT: 2, ButtonStyle.DANGER: 4}
_CODE_OR_BOLD = re.compile(r"(`[^`\n]*`)|(?<![*\w])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![*\w])")
_WORKSPACE_PREFIX = re.compile(r"^(\d{1,25})\|(.*)$", re.DOTALL)
_FORM_PART = re.compile(r"^part(\d)of(\d)\|(.+)$", re.DOTALL)


class Style(StrEnum):
    PLAIN = "plain"  # message content (replies); an embed when it needs one
    CARD = "card"  # an embed (DMs)
    SHOUTOUT = "shoutout"  # an embed in celebration colours (channel posts)


class RenderError(ValueError):
    """Content that cannot be shown on Discord at all (a core id over Discord's limit)."""


# --- text -------------------------------------------------------------------------------


def discord_markup(text: str) -> str:
    """The core's neutral ``*bold*`` is Discord's ``**bold**``; mentions (``<@id>``,
    ``<#id>``) and backticks mean the same on both, and code spans are left alone."""
    return _CODE_OR_BOLD.sub(lambda m: m.group(1) or f"**{m.group(2)}**", text)


def units(text: str) -> int:
    """Length in UTF-16 code units."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _fit(text: str, limit: int) -> int:
    """The longest prefix of ``text`` (in code points) that is at most ``limit`` units."""
    if len(text) <= limit and units(text) <= limit:
        return len(text)
    used = 0
    for index, ch in enumerate(text):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)


def trim(text: str, limit: int, marker: str = "…") -> str:
    if units(text) <= limit:
        return text
    return text[: _fit(text, limit - units(marker))].rstrip() + marker


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most ``limit`` units, cut at a line break, else at a space, else
    anywhere; nothing is lost."""
    pieces: list[str] = []
    rest = text
    while units(rest) > limit:
        fits = _fit(rest, limit)
        cut = rest.rfind("\n", 0, fits + 1)
        if cut < fits // 2:
            cut = rest.rfind(" ", 0, fits + 1)
        if cut < fits // 2:
            cut = fits
        head = rest[:cut].rstrip()
        pieces.append(head if head else rest[:fits])
        rest = rest[cut:].lstrip("\n ") if head else rest[fits:]
    if rest or not pieces:
        pieces.append(rest)
    return pieces


# --- ids --------------------------------------------------------------------------------


def custom_id(workspace_id: str, action_id: str) -> str:
    """The core's opaque id, with the guild in front so a DM click finds its workspace."""
    full = f"{workspace_id}|{action_id}"
    if len(full) <= CUSTOM_ID_CHARS:
        return full
    if len(action_id) <= CUSTOM_ID_CHARS:
        return action_id  # still works in a guild, where Discord sends the guild id
    raise RenderError(f"a button id of {len(action_id)} characters is over Discord's 100")


def split_custom_id(value: str) -> tuple[str | None, str]:
    """``(guild id or None, the core's id)``."""
    match = _WORKSPACE_PREFIX.match(value)
    if match is None:
        return None, value
    return match.group(1), match.group(2)


def form_part_id(form_id: str, part: int, parts: int) -> str:
    return f"part{part}of{parts}|{form_id}"


def split_form_part_id(value: str) -> tuple[int, int, str] | None:
    """``(part, parts, form id)`` for a part of a split form, else None."""
    match = _FORM_PART.match(value)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2)), match.group(3)


# --- messages ---------------------------------------------------------------------------


def messages(content: Content, workspace_id: str, style: Style) -> list[JsonObject]:
    """One or more message payloads (content/embeds/components/allowed_mentions); the
    buttons go on the last one. Nothing here pings anyone."""
    if style == Style.PLAIN and _fits_plain(content):
        payloads: list[JsonObject] = [{"content": _plain_text(content)}]
    else:
        colour = CELEBRATION_COLOUR if style == Style.SHOUTOUT else BRAND_COLOUR
        payloads = [{"embeds": group} for group in _pack(_embeds(content, colour))]
    if len(payloads) > MAX_MESSAGES:
        payloads = payloads[:MAX_MESSAGES]
        _mark_trimmed(payloads[-1])
    pages = component_pages(content, workspace_id)
    if pages:
        payloads[-1]["components"] = pages[0]
    for rows in pages[1:]:
        payloads.append({"content": MORE_CHOICES, "components": rows})
    for payload in payloads:
        payload["allowed_mentions"] = NO_PINGS
    return payloads


def update(content: Content, workspace_id: str, *, card: bool) -> JsonObject:
    """A whole replacement for one message (a clicked message loses its buttons): every
    part is set, so nothing of the old message is left behind."""
    style = Style.CARD if card else Style.PLAIN
    parts = messages(replace(content, buttons=(), select=None), workspace_id, style)
    payload = parts[0]
    if len(parts) > 1:
        _mark_trimmed(payload)
    payload.setdefault("content", "")
    payload.setdefault("embeds", [])
    pages = component_pages(content, workspace_id)
    payload["components"] = pages[0] if pages else []
    return payload


MORE_CHOICES = "More choices:"


def components(buttons: Sequence[Button], workspace_id: str) -> list[JsonObject]:
    shown = list(buttons)[: BUTTONS_PER_ROW * ROWS_PER_MESSAGE]
    return [
        {"type": 1, "components": [_button(b, workspace_id) for b in row]}
        for row in _chunks(shown, BUTTONS_PER_ROW)
    ]


def component_pages(content: Content, workspace_id: str) -> list[list[JsonObject]]:
    """The action rows of the content, five to a message: the buttons, then a string
    select per 25 options. Rows that do not fit one message go on the next ones."""
    rows = components(content.buttons, workspace_id)
    if content.select is not None:
        rows += select_rows(content.select, workspace_id)
    return [list(page) for page in _chunks(rows, ROWS_PER_MESSAGE)]


def select_rows(select: Select, workspace_id: str) -> list[JsonObject]:
    """A string select per 25 options (each in its own row); with several, each
    placeholder says which options it holds. Choosing sends the option's value, the
    core's action id."""
    options = select.options
    pages = list(_chunks(options, SELECT_OPTIONS))
    rows: list[JsonObject] = []
    for number, page in enumerate(pages):
        placeholder = select.placeholder
        if len(pages) > 1:
            first = number * SELECT_OPTIONS + 1
            placeholder += f" ({first} to {first + len(page) - 1} of {len(options)})"
        for option in page:
            if units(option.value) > OPTION_VALUE_CHARS:
                raise RenderError(f"an option value of {len(option.value)} characters")
        menu = {
            "type": 3,
            "custom_id": custom_id(workspace_id, f"{select.action_id}#{number}"),
            "placeholder": trim(placeholder, SELECT_PLACEHOLDER_CHARS),
            "min_values": 1,
            "max_values": 1,
            "options": [
                {"label": trim(_label(o.label), OPTION_LABEL_CHARS), "value": o.value} for o in page
            ],
        }
        rows.append({"type": 1, "components": [menu]})
    return rows


def _button(button: Button, workspace_id: str) -> JsonObject:
    return {
        "type": 2,
        "style": _BUTTON_STYLES[button.style],
        "label": trim(_label(button.label), BUTTON_LABEL_CHARS),
        "custom_id": custom_id(workspace_id, button.action_id),
    }


def _label(text: str) -> str:
    """Labels show no markdown: the neutral bold markers are dropped."""
    return text.replace("*", "") or "…"


def _fits_plain(content: Content) -> bool:
    return not content.fields and units(_plain_text(content)) <= MESSAGE_CHARS


def _plain_text(content: Content) -> str:
    text = discord_markup(content.text)
    if content.title:
        text = f"**{content.title}**\n{text}"
    return text or "\u200b"


def _embed_chars(embed: JsonObject) -> int:
    total = units(embed.get("title", "")) + units(embed.get("description", ""))
    for field in embed.get("fields", []):
        total += units(field["name"]) + units(field["value"])
    return total


def _embeds(content: Content, colour: int) -> list[JsonObject]:
    first: JsonObject = {"color": colour}
    if content.title:
        first["title"] = trim(discord_markup(content.title), EMBED_TITLE_CHARS)
    text = discord_markup(content.text)
    chunks = split_text(text, EMBED_DESCRIPTION_CHARS) if text.strip() else []
    if chunks:
        first["description"] = chunks[0]
    embeds = [first] + [{"color": colour, "description": chunk} for chunk in chunks[1:]]
    for field in content.fields:
        name = trim(discord_markup(field.label), FIELD_NAME_CHARS) or "\u200b"
        values = split_text(discord_markup(field.value), FIELD_VALUE_CHARS)
        for number, value in enumerate(values):
            label = name if number == 0 else trim(f"{name} (continued)", FIELD_NAME_CHARS)
            value = value or "\u200b"
            entry: JsonObject = {"name": label, "value": value, "inline": False}
            last = embeds[-1]
            full = len(last.get("fields", [])) >= FIELDS_PER_EMBED
            if full or _embed_chars(last) + units(label) + units(value) > EMBED_FILL_CHARS:
                last = {"color": colour}
                embeds.append(last)
            last.setdefault("fields", []).append(entry)
    if "title" not in first and "description" not in first and "fields" not in first:
        first["description"] = "\u200b"
    return embeds


def _pack(embeds: Iterable[JsonObject]) -> list[list[JsonObject]]:
    """Embeds into messages: at most 10 each, at most 6,000 characters across them."""
    groups: list[list[JsonObject]] = []
    size = 0
    for embed in embeds:
        chars = _embed_chars(embed)
        # Room is kept for the marker in case the message is the last one shown.
        budget = EMBED_TOTAL_CHARS - units(TRIMMED)
        if not groups or len(groups[-1]) >= EMBEDS_PER_MESSAGE or size + chars > budget:
            groups.append([])
            size = 0
        groups[-1].append(embed)
        size += chars
    return groups


def _mark_trimmed(payload: JsonObject) -> None:
    """Make it visible that the content went on beyond this message."""
    if "content" in payload:
        payload["content"] = trim(payload["content"], MESSAGE_CHARS - units(TRIMMED), "")
        payload["content"] += TRIMMED
        return
    last = payload["embeds"][-1]
    if last.get("fields"):
        field = last["fields"][-1]
        field["value"] = trim(field["value"], FIELD_VALUE_CHARS - units(TRIMMED), "") + TRIMMED
    else:
        description = last.get("description", "")
        room = EMBED_DESCRIPTION_CHARS - units(TRIMMED)
        last["description"] = trim(description, room, "") + TRIMMED


# --- forms ------------------------------------------------------------------------------


def modals(form: Form, workspace_id: str) -> list[JsonObject]:
    """A modal per five fields; a longer form is asked in parts (each part's custom id
    says which part it is and how many there are)."""
    if not form.fields:
        raise RenderError(f"form {form.form_id} has no fields")
    parts = list(_chunks(list(form.fields), INPUTS_PER_MODAL))
    shown: list[JsonObject] = []
    for number, fields in enumerate(parts, 1):
        if len(parts) == 1:
            title, action = form.title, form.form_id
        else:
            title = f"{form.title} ({number}/{len(parts)})"
            action = form_part_id(form.form_id, number, len(parts))
        shown.append(
            {
                "custom_id": custom_id(workspace_id, action),
                "title": trim(title, MODAL_TITLE_CHARS),
                "components": [{"type": 1, "components": [_text_input(f)]} for f in fields],
            }
        )
    return shown


def _text_input(field: FormField) -> JsonObject:
    label = trim(_label(field.label), INPUT_LABEL_CHARS)
    placeholder = field.placeholder
    if placeholder is None and label != field.label:
        placeholder = field.label  # the whole question, where the label had to be cut
    entry: JsonObject = {
        "type": 4,
        "custom_id": field.name,
        "label": label,
        "style": 1 if field.kind == FormFieldKind.SHORT_TEXT else 2,
        "required": field.required,
        "max_length": max(1, min(field.max_length, INPUT_VALUE_CHARS)),
    }
    if field.initial and units(field.initial) <= INPUT_VALUE_CHARS:
        # Discord counts UTF-16 units, the core characters: room for a whole answer.
        entry["max_length"] = max(entry["max_length"], units(field.initial))
        entry["value"] = field.initial
    elif field.initial:
        # Never cut: sent back cut, it would replace the whole answer with part of it.
        placeholder = KEPT_WHEN_EMPTY
    if placeholder:
        entry["placeholder"] = trim(placeholder, INPUT_PLACEHOLDER_CHARS)
    return entry


def _chunks(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
