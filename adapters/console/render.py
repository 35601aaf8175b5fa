"""Neutral content -> terminal text (pure).

Each message gets a header line saying where it went (``DM → alice``,
``ephemeral → bob``, ``#wins``), its body indented below, then its buttons.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rich.text import Text

from bot.content import Content, Field
from bot.escaping import escape_controls

_MARKUP = re.compile(r"<@([^>|]+)(?:\|[^>]*)?>|<#([^>|]+)(?:\|[^>]*)?>|\*([^*\n]+)\*|`([^`\n]+)`")

HEADER_STYLES = {
    "dm": "bold cyan",
    "ephemeral": "bold yellow",
    "channel": "bold green",
    "updated": "bold magenta",
}


def inline(text: str) -> Text:
    """Mentions become ``@name``/``#name``; ``*bold*`` and ``code`` get styles. One line
    of people's text: control characters (an escape sequence in a win, a carriage
    return) are shown escaped, never sent to the terminal."""
    text = escape_controls(text)
    out = Text()
    position = 0
    for match in _MARKUP.finditer(text):
        out.append(text[position : match.start()])
        user, channel, bold, code = match.groups()
        if user is not None:
            out.append(f"@{user}", style="cyan")
        elif channel is not None:
            out.append(f"#{channel}", style="green")
        elif bold is not None:
            inner = inline(bold)  # a mention in bold text (a milestone's title) too
            inner.stylize("bold")
            out.append_text(inner)
        else:
            out.append(code, style="italic")
        position = match.end()
    out.append(text[position:])
    return out


def _fields(fields: Sequence[Field]) -> list[Text]:
    """A one-line field as ``Label: value``; a longer one as its label, then each line of
    its value indented below it, with a blank line before it so two read apart."""
    lines: list[Text] = []
    for field in fields:
        label = inline(field.label)
        label.stylize("bold")
        value = field.value.split("\n")
        if len(value) == 1:
            lines.append(label + Text(": ", style="bold") + inline(field.value))
            continue
        lines += [Text(""), label + Text(":", style="bold")]
        lines += [Text("  ") + inline(line) for line in value]
    return lines


def render_message(header: str, kind: str, content: Content, files: Sequence[str] = ()) -> Text:
    """``files``: one line per file that came with the message, shown as written."""
    out = Text(escape_controls(header), style=HEADER_STYLES[kind])
    body: list[Text] = []
    if content.title:
        title = inline(content.title)
        title.stylize("bold")
        body.append(title)
    body += [inline(line) for line in content.text.split("\n")]
    body += _fields(content.fields)
    body += [Text(escape_controls(line)) for line in files]
    if content.buttons:
        labels = " ".join(f"[{b.label}]" for b in content.buttons)
        body.append(Text(escape_controls(labels), style="bold blue"))
    if content.select is not None:
        # A menu: one option a line, each picked with ``:click`` like a button.
        menu = escape_controls(f"{content.select.placeholder} (:click one)")
        body.append(Text(menu, style="bold blue"))
        body += [
            Text(escape_controls(f"  [{o.label}]"), style="bold blue")
            for o in content.select.options
        ]
    for line in body:
        out.append("\n  ")
        out.append_text(line)
    return out
