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


@dataclass(frozen=True, slots=True)
class Field:
    label: str
    value: str


@dataclass(frozen=True, slots=True)
class Content:
    text: str
    title: str | None = None
    fields: tuple[Field, ...] = ()
    buttons: tuple[Button, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "title": self.title,
            "fields": [[f.label, f.value] for f in self.fields],
            "buttons": [[b.label, b.action_id, b.style.value] for b in self.buttons],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Content:
        return cls(
            text=str(data["text"]),
            title=data.get("title"),
            fields=tuple(Field(str(label), str(value)) for label, value in data.get("fields", [])),
            buttons=tuple(
                Button(str(label), str(action), ButtonStyle(style))
                for label, action, style in data.get("buttons", [])
            ),
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


@dataclass(frozen=True, slots=True)
class Form:
    """A small form (a Slack modal, a Discord modal, console prompts)."""

    form_id: str
    title: str
    fields: tuple[FormField, ...] = field(default_factory=tuple)
    submit_label: str = "Send"
