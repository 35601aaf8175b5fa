"""Inbound events (past tense): what a person did, translated from a platform payload."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.refs import ChannelRef, UserRef, WorkspaceRef


@dataclass(frozen=True, slots=True, kw_only=True)
class Inbound:
    user: UserRef
    # What the platform told us about the person, refreshed on every contact.
    user_name: str | None = None
    # None: the platform did not say (a Discord DM, a failed profile look-up).
    user_is_admin: bool | None = False
    # The platform's id for this delivery (Slack event id, Discord interaction id).
    # A repeat of a key already handled changes nothing.
    event_key: str | None = None
    # The person's timezone as the platform knows it (Slack's users.info ``tz``); kept
    # the first time, never over one the person chose.
    user_timezone: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandInvoked(Inbound):
    """``/win text`` or ``/mentor text``. Adapters normalise mentions in ``text`` to the
    neutral ``<@user_id>`` and ``<#channel_id>`` markup."""

    command: str
    text: str
    channel: ChannelRef | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageReceived(Inbound):
    """A direct message to the bot that is not a command. ``edited``: the person changed
    a message they had sent (``text`` is its new text); an edit answers nothing."""

    text: str
    edited: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ButtonClicked(Inbound):
    action_id: str
    # The platform's id of the message the button was on, so it can be updated.
    message_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FormSubmitted(Inbound):
    form_id: str
    values: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WorkspaceRemoved:
    """The app was uninstalled or its token revoked: stop all delivery there. Arriving
    from the platform itself, it has no person behind it."""

    workspace: WorkspaceRef
    event_key: str | None = None


@dataclass(frozen=True, slots=True)
class WorkspaceAdded:
    """The app was (re)installed: delivery to the workspace may start again."""

    workspace: WorkspaceRef


Event = CommandInvoked | MessageReceived | ButtonClicked | FormSubmitted
