"""Neutral message content and forms, rendered by each adapter in its own way.

Text may contain the neutral mention markup ``<@user_id>`` and ``<#channel_id>``; Slack
and Discord show it natively, the console turns it into ``@name`` and ``#name``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ButtonStyle(StrEnum):
    DEFAULT = "default"
    PRIMARY = "primary"
    DANGER = "danger"


@dataclass(frozen=True, slots=True)
class Button:
    """A button. ``action_id`` is opaque to adapters and short enough for Discord's
    100-character custom_id; it carries the flow session id where there is one."""

    label: str
    action_id: str
    style: ButtonStyle = ButtonStyle.DEFAULT


def page_buttons(action: str, page: int, pages: int) -> tuple[Button, ...]:
    """[Newer] and [Older] under page ``page`` of ``pages`` of a list shown newest
    first; each button's action is ``action:<page>``, which the engine routes."""
    newer = (Button("Newer", f"{action}:{page - 1}"),) if page > 1 else ()
    older = (Button("Older", f"{action}:{page + 1}"),) if page < pages else ()
    return newer + older


@dataclass(frozen=True, slots=True)
class Field:
    label: str
    value: str


@dataclass(frozen=True, slots=True)
class Option:
    """One choice of a :class:`Select`. Choosing it is the same as pressing a button
    whose ``action_id`` is ``value``."""

    label: str
    value: str


@dataclass(frozen=True, slots=True)
class Select:
    """A pick-one menu, for more choices than buttons can hold (a Slack ``static_select``,
    a Discord string select, numbered lines on the console). A platform whose menu holds
    fewer options shows several menus, each with its share."""

    action_id: str
    placeholder: str
    options: tuple[Option, ...]


# Past this many choices the core asks with a Select, not buttons: Discord fits five
# buttons in a row, and a screen of buttons is hard to read anyway.
MAX_CHOICE_BUTTONS = 5


@dataclass(frozen=True, slots=True)
class Content:
    text: str
    title: str | None = None
    fields: tuple[Field, ...] = ()
    buttons: tuple[Button, ...] = ()
    select: Select | None = None

    @property
    def choices(self) -> tuple[Button, ...]:
        """Everything that can be clicked: the buttons, then the select's options as
        buttons (what a click on them does is the same)."""
        options = self.select.options if self.select else ()
        return self.buttons + tuple(Button(o.label, o.value) for o in options)

    @property
    def is_plain(self) -> bool:
        """Text alone: no title, fields, buttons or menu."""
        return not (self.title or self.fields or self.buttons or self.select is not None)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "text": self.text,
            "title": self.title,
            "fields": [[f.label, f.value] for f in self.fields],
            "buttons": [[b.label, b.action_id, b.style.value] for b in self.buttons],
        }
        if self.select is not None:
            data["select"] = {
                "action_id": self.select.action_id,
                "placeholder": self.select.placeholder,
                "options": [[o.label, o.value] for o in self.select.options],
            }
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Content:
        stored = data.get("select")
        select = (
            Select(
                str(stored["action_id"]),
                str(stored["placeholder"]),
                tuple(Option(str(label), str(value)) for label, value in stored["options"]),
            )
            if stored
            else None
        )
        return cls(
            text=str(data["text"]),
            title=data.get("title"),
            fields=tuple(Field(str(label), str(value)) for label, value in data.get("fields", [])),
            buttons=tuple(
                Button(str(label), str(action), ButtonStyle(style))
                for label, action, style in data.get("buttons", [])
            ),
            select=select,
        )


class FormFieldKind(StrEnum):
    SHORT_TEXT = "short_text"
    LONG_TEXT = "long_text"


@dataclass(frozen=True, slots=True)
class FormField:
    name: str
    label: str
    kind: FormFieldKind = FormFieldKind.SHORT_TEXT
    required: bool = False
    max_length: int = 3000
    placeholder: str | None = None
    # What the field shows when it opens (an answer given already); sent back as it is
    # unless the person edits it.
    initial: str | None = None


@dataclass(frozen=True, slots=True)
class Form:
    """A small form (a Slack modal, a Discord modal, console prompts)."""

    form_id: str
    title: str
    fields: tuple[FormField, ...] = field(default_factory=tuple)
    submit_label: str = "Send"
