"""Neutral content -> Slack Block Kit (pure).

A message is sections of ``mrkdwn`` text (the core's ``*bold*`` and backticks are
Slack's own), ``context`` blocks for the small print (lines in parentheses, tips),
the fields as a section's two-column ``fields`` when short and as their own sections
when long, and the buttons in an ``actions`` block whose ``action_id`` is the core's
``Button.action_id``. Every message also gets a plain ``text`` fallback (notifications,
screen readers). A form becomes a modal whose ``callback_id`` is the form id and whose
input blocks are named after the fields.

Text is escaped the way Slack asks (``&``, ``<``, ``>``), except the core's neutral
mentions ``<@U123>`` and ``<#C123>``, which Slack shows natively. Text is escaped first
and measured after, since escaping makes it longer (``&`` is five characters), and it is
never cut inside an entity or a mention.

Content longer than one message allows is split over several (:func:`messages`), the
buttons and menus on the last; a single message (an ephemeral answer, an edit) is cut
with a visible marker.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from bot.content import Button, ButtonStyle, Content, Field, Form, FormFieldKind, Select

# Slack's limits (Block Kit reference, https://api.slack.com/reference/block-kit/blocks
# and .../block-elements; chat.postMessage, https://api.slack.com/methods/chat.postMessage).
SECTION_TEXT_CHARS = 3000
CONTEXT_ELEMENTS = 10
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
# A form field whose answer so far does not fit the input (the core's answers always
# do): shown empty, which keeps the answer.
KEPT_WHEN_EMPTY = "Answered already: leave this empty to keep your answer"
# Options in one static_select (https://api.slack.com/reference/block-kit/block-elements
# #static_select), an option's text (75) and value (150).
SELECT_OPTIONS = 100
OPTION_TEXT_CHARS = 75
OPTION_VALUE_CHARS = 150
ACTION_ID_CHARS = 255
# chat.postMessage truncates ``text`` past 40,000 characters.
MESSAGE_TEXT_CHARS = 40_000
# The text of all blocks of one message together: Slack answers ``msg_blocks_too_long``
# past about 12,000 characters. Not in Slack's reference; seen and reported in bolt-js
# issues #2509 and #2867.
MESSAGE_BLOCK_TEXT_CHARS = 12_000
# A piece of plain text, when a message's blocks are refused (the fallback): kept well
# under what Slack shows without a "show more".
PLAIN_PIECE_CHARS = 3500
# A field this short and on one line sits in a two-column ``fields`` section.
SHORT_FIELD_CHARS = 80

Block = dict[str, Any]

_MENTION = re.compile(r"<[@#][A-Za-z0-9_.\-]+>")
# Units that must not be cut in two: an entity made by escaping, or a mention.
_UNIT = re.compile(r"&(?:amp|lt|gt);|<[@#][A-Za-z0-9_.\-]+>")
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
    """Text cut to ``limit`` characters with a "…"; never inside an entity or mention,
    so ``text`` may be escaped already (escape first, then cut)."""
    if len(text) <= limit:
        return text
    return text[: _safe_cut(text, limit - 1)].rstrip() + "…"


def _safe_cut(text: str, at: int) -> int:
    """``at``, moved back to the start of an entity or mention it would cut in two."""
    start = max(0, at - 40)
    for match in _UNIT.finditer(text, start, min(len(text), at + 40)):
        if match.start() < at < match.end():
            return match.start()
    return at


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
            cut = _safe_cut(line, limit) or limit
            pieces.append(line[:cut])
            line = line[cut:]
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
            for piece in _chunks([escape(line.strip())], SECTION_TEXT_CHARS):
                blocks.append({"type": "context", "elements": [_mrkdwn(piece)]})
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
        short_enough = len(label) + len(value) + 3 <= FIELD_TEXT_CHARS
        if len(item.value) <= SHORT_FIELD_CHARS and "\n" not in item.value and short_enough:
            short.append(_mrkdwn(f"*{label}*\n{value}"))
            continue
        flush()
        blocks.extend(
            _section(piece)
            for piece in _chunks([f"*{label}*", *value.split("\n")], SECTION_TEXT_CHARS)
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


def select_blocks(select: Select) -> list[Block]:
    """A menu per 100 options (Slack's most for a ``static_select``); with several, each
    placeholder says which of the options it holds. Choosing sends the option's value,
    which is the core's action id."""
    options = select.options
    pages = [options[i : i + SELECT_OPTIONS] for i in range(0, len(options), SELECT_OPTIONS)]
    elements: list[Block] = []
    for number, page in enumerate(pages):
        placeholder = select.placeholder
        if len(pages) > 1:
            first = number * SELECT_OPTIONS + 1
            placeholder += f" ({first} to {first + len(page) - 1} of {len(options)})"
        elements.append(
            {
                "type": "static_select",
                "action_id": f"{select.action_id}#{number}"[:ACTION_ID_CHARS],
                "placeholder": plain(placeholder, PLACEHOLDER_CHARS),
                "options": [
                    {"text": plain(o.label, OPTION_TEXT_CHARS), "value": o.value} for o in page
                ],
            }
        )
    # A block per menu: a message too long for all of them can take them in turns.
    return [{"type": "actions", "elements": [element]} for element in elements]


def _body(content: Content) -> list[Block]:
    """The title, text and fields as blocks (no actions)."""
    found: list[Block] = []
    if content.title:
        # Escape first, then cut: escaping makes text longer.
        found.append(_section(f"*{shorten(escape(content.title), SECTION_TEXT_CHARS - 2)}*"))
    found += text_blocks(content.text)
    found += field_blocks(content.fields)
    return found


def _actions(content: Content) -> list[Block]:
    found = button_blocks(content.buttons)
    if content.select is not None:
        found += select_blocks(content.select)
    return found


def block_chars(block: Any) -> int:
    """The characters of text in blocks (every text object's ``text``, options
    included): what Slack's limit on a message's block text counts."""
    if isinstance(block, dict):
        return sum(
            len(v) if k == "text" and isinstance(v, str) else block_chars(v)
            for k, v in block.items()
        )
    if isinstance(block, list):
        return sum(block_chars(item) for item in block)
    return 0


def blocks(content: Content, *, limit: int = MESSAGE_BLOCKS) -> list[Block]:
    """All of it in one message (or view) of at most ``limit`` blocks and Slack's block
    text limit: cut with a visible marker if it is longer."""
    found = _body(content)
    actions = _actions(content)
    # Never drop the buttons: cut the text instead if a message is too long for Slack.
    room = max(limit - len(actions), 1)
    budget = MESSAGE_BLOCK_TEXT_CHARS - block_chars(actions)
    if len(found) <= room and block_chars(found) <= budget:
        return found + actions
    kept: list[Block] = []
    size = len(SHORTENED)
    for block in found:
        size += block_chars(block)
        if len(kept) + 2 > room or size > budget:
            break
        kept.append(block)
    return [*kept, _section(SHORTENED), *actions]


SHORTENED = "… (shortened: the rest was too long for Slack)"


def fallback_text(content: Content) -> str:
    """The plain ``text`` of a message: what notifications and screen readers show."""
    parts = [content.title, content.text] if content.title else [content.text]
    parts += [f"{f.label}: {f.value}" for f in content.fields]
    return shorten(escape("\n".join(p for p in parts if p)), FALLBACK_CHARS)


def message(content: Content) -> dict[str, Any]:
    """``text`` and ``blocks`` for one chat.update or response (cut if too long)."""
    return {"text": fallback_text(content), "blocks": blocks(content)}


def messages(content: Content) -> list[dict[str, Any]]:
    """``text`` and ``blocks`` for as many chat.postMessage calls as the content needs:
    each within 50 blocks and Slack's block text limit, nothing cut; the buttons and
    menus come last (on the last message, unless there are more menus than one message
    holds). Each message's ``text`` is its own words (its notification)."""
    groups: list[list[Block]] = [[]]
    size = 0
    for block in _body(content) + _actions(content):
        chars = block_chars(block)
        full = len(groups[-1]) >= MESSAGE_BLOCKS or size + chars > MESSAGE_BLOCK_TEXT_CHARS
        if groups[-1] and full:
            groups.append([])
            size = 0
        groups[-1].append(block)
        size += chars
    if len(groups) == 1:
        return [{"text": fallback_text(content), "blocks": groups[0]}]
    return [{"text": _group_text(group), "blocks": group} for group in groups if group]


def _group_text(group: Sequence[Block]) -> str:
    return shorten("\n".join(_texts(group)), FALLBACK_CHARS) or "…"


def plain_pieces(found: Sequence[Block]) -> list[str]:
    """Every word of a message's blocks as plain ``text`` messages, for when Slack
    refuses the blocks: nothing is cut, each piece at most ``PLAIN_PIECE_CHARS``."""
    return _chunks(_texts(found), PLAIN_PIECE_CHARS) or ["…"]


def _texts(found: Sequence[Block]) -> list[str]:
    """The mrkdwn of the blocks' sections and context, in order (already escaped)."""
    texts: list[str] = []
    for block in found:
        if block["type"] == "section":
            if "text" in block:
                texts.append(block["text"]["text"])
            texts += [f["text"] for f in block.get("fields", [])]
        elif block["type"] == "context":
            texts += [e["text"] for e in block["elements"]]
    return texts


def ephemeral(content: Content, *, replace_original: bool | None = None) -> dict[str, Any]:
    """The body of a slash command's ack or a ``response_url`` post: only the person
    who acted sees it."""
    body = {**message(content), "response_type": "ephemeral"}
    if replace_original is not None:
        body["replace_original"] = replace_original
    return body


def ephemerals(content: Content) -> list[dict[str, Any]]:
    """:func:`ephemeral` for content of any length: the first is the ack (or the first
    ``response_url`` post), the others follow it; none replaces anything."""
    return [{**body, "response_type": "ephemeral"} for body in messages(content)]


def modal(form: Form) -> dict[str, Any]:
    """A form as a modal; the submission comes back with ``callback_id`` = the form id,
    each answer under the block id = the field's name."""
    inputs: list[Block] = []
    for item in form.fields[:VIEW_BLOCKS]:
        max_length = max(1, min(item.max_length, INPUT_MAX_LENGTH))
        element: Block = {
            "type": "plain_text_input",
            "action_id": "value",
            "multiline": item.kind == FormFieldKind.LONG_TEXT,
            "max_length": max_length,
        }
        placeholder = item.placeholder
        if item.initial and _browser_length(item.initial) <= max_length:
            element["initial_value"] = item.initial  # plain text: shown as written
        elif item.initial:
            # Never cut: sent back cut, it would replace the whole answer with part of it.
            placeholder = KEPT_WHEN_EMPTY
        if placeholder:
            element["placeholder"] = plain(placeholder, PLACEHOLDER_CHARS)
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


def _browser_length(text: str) -> int:
    """Slack does not say how an ``initial_value`` counts against ``max_length``; in
    UTF-16 units, as a browser counts an input, is the longer count, so it always fits."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


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
    return {"type": "home", "blocks": _unique_actions(found)}


def _unique_actions(found: list[Block]) -> list[Block]:
    """Slack refuses a view where two elements share an action id: a button shown
    twice (by two parts) is kept once, where it first appears."""
    seen: set[str] = set()
    kept: list[Block] = []
    for block in found:
        if block["type"] == "actions":
            elements = [e for e in block["elements"] if e["action_id"] not in seen]
            seen.update(e["action_id"] for e in elements)
            if not elements:
                continue
            block = {**block, "elements": elements}
        kept.append(block)
    return kept
