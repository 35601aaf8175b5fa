"""Effects (imperative): what an adapter must do. Every adapter's ``perform`` handles
every one of them (``match`` + ``assert_never``)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.content import Content, Form
from bot.refs import ChannelRef, UserRef


@dataclass(frozen=True, slots=True)
class ReplyEphemeral:
    """An answer only the person who acted sees, sent inside the interaction window."""

    to: UserRef
    content: Content


@dataclass(frozen=True, slots=True)
class SendDM:
    to: UserRef
    content: Content
    outbox_id: int | None = None


@dataclass(frozen=True, slots=True)
class PostToChannel:
    channel: ChannelRef
    content: Content
    outbox_id: int | None = None


@dataclass(frozen=True, slots=True)
class OpenForm:
    to: UserRef
    form: Form


@dataclass(frozen=True, slots=True)
class UpdateMessage:
    """Replace the message a button was clicked on (for example to remove its buttons)."""

    to: UserRef
    message_id: str
    content: Content


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file to hand to someone: a name to save it under, its media type and bytes."""

    filename: str
    media_type: str  # "application/json", "text/markdown", "image/png"
    data: bytes


@dataclass(frozen=True, slots=True)
class SendFiles:
    """Files for the person who acted, in their DM with the bot (an export, a chart), with
    ``content`` as the message that goes with them. Sent at once, never through the outbox:
    an export holds everything about someone and must not wait in a table."""

    to: UserRef
    content: Content
    files: tuple[Attachment, ...]


Effect = ReplyEphemeral | SendDM | PostToChannel | OpenForm | UpdateMessage | SendFiles
