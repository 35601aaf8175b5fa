"""Slack payloads -> core events (pure).

Slack sends slash commands as form fields, interactions (``block_actions``,
``view_submission``) as a JSON ``payload``, and Events API callbacks as JSON. Each
function here takes one of those shapes as Slack sends it and returns the core event
plus the :class:`Origin` the adapter needs to answer in the right place; nothing here
does I/O.

Text from Slack is escaped (``&amp;``, ``&lt;``, ``&gt;``) and carries Slack's own markup
(``<@U123|name>``, ``<#C123|name>``, ``<!here>``, ``<https://…|label>``).
:func:`normalize_text` turns it into what the person typed, with mentions in the core's
neutral ``<@U123>`` / ``<#C123>`` markup; broadcasts become plain words, so a win
saying ``@channel`` never pings a channel when it is shown again.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.events import (
    ButtonClicked,
    CommandInvoked,
    FormSubmitted,
    MessageReceived,
    WorkspaceRemoved,
)
from bot.refs import ChannelRef, Platform, UserRef, WorkspaceRef

# Our own buttons and modals on the App Home tab; the core never makes ids like these.
HOME_PREFIX = "slack-home:"
# The longest ``event_key`` the core stores.
EVENT_KEY_CHARS = 128

_SLACK_MARKUP = re.compile(r"<([^<>]*)>")
_ID = re.compile(r"^[A-Z0-9][A-Z0-9_\-]*$", re.IGNORECASE)


class NotForUs(ValueError):
    """A payload that is well formed but carries nothing for the core (a bot's message,
    an edit, another app's event)."""


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an interaction happened, so answers go back to the same place."""

    team_id: str
    user_id: str
    channel_id: str | None = None
    # The message a button was on (its ``ts``) and whether only this person sees it.
    message_ts: str | None = None
    is_ephemeral: bool = False
    response_url: str | None = None
    trigger_id: str | None = None
    # A DM with the bot, the App Home tab, or a modal: answers go to the person's DM.
    private: bool = False

    @property
    def user(self) -> UserRef:
        return UserRef(Platform.SLACK, self.team_id, self.user_id)


@dataclass(frozen=True, slots=True)
class HomeAction:
    """A button of our App Home tab (``slack-home:<name>``)."""

    name: str


@dataclass(frozen=True, slots=True)
class HomeForm:
    """A modal opened from the App Home tab, submitted: ``values`` by field name."""

    name: str
    values: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Profile:
    """What ``users.info`` says about a person."""

    name: str | None
    timezone: str | None
    is_admin: bool | None  # None: unknown (the look-up failed)


def normalize_text(text: str) -> str:
    """Slack's escaped text with markup -> what the person typed, neutral mentions."""

    def replace(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@") and _ID.match(target[1:]):
            return f"<{target}>"
        if target.startswith("#") and _ID.match(target[1:]):
            return f"<{target}>"
        if target.startswith("!"):
            # <!here>, <!channel>, <!subteam^S1|@team>, <!date^…|fallback>: the words only.
            if label:
                return label
            return "@" + target[1:].split("^", 1)[0]
        if label and label != target.split(":", 1)[-1].lstrip("/"):
            return f"{label} ({target})"
        return target.removeprefix("mailto:") if label else target

    replaced = _SLACK_MARKUP.sub(replace, text)
    return unescape(replaced)


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def event_key(kind: str, value: str | None) -> str | None:
    """A key the core remembers so a repeated delivery changes nothing."""
    if not value:
        return None
    return f"slack:{kind}:{value}"[:EVENT_KEY_CHARS]


def _str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"the payload has no {key}")
    return value


def _opt(data: Mapping[str, Any] | None, key: str) -> str | None:
    if data is None:
        return None
    value = data.get(key)
    return value if isinstance(value, str) and value else None


# -- slash commands -------------------------------------------------------------------------


def slash_command(form: Mapping[str, str]) -> tuple[CommandInvoked, Origin]:
    """``/win text`` or ``/mentor text`` as the form fields Slack posts."""
    team_id = _str(form, "team_id")
    user_id = _str(form, "user_id")
    channel_id = _opt(form, "channel_id")
    origin = Origin(
        team_id=team_id,
        user_id=user_id,
        channel_id=channel_id,
        response_url=_opt(form, "response_url"),
        trigger_id=_opt(form, "trigger_id"),
        private=_opt(form, "channel_name") == "directmessage",
    )
    channel = ChannelRef(Platform.SLACK, team_id, channel_id) if channel_id else None
    event = CommandInvoked(
        user=origin.user,
        command=_str(form, "command").lstrip("/").lower(),
        text=normalize_text(form.get("text", "")),
        channel=channel,
        # Slack does not resend slash commands by itself, but a proxy or a retried
        # request may: the trigger id is unique per invocation.
        event_key=event_key("command", origin.trigger_id),
    )
    return event, origin


# -- interactions -------------------------------------------------------------------------


def interaction_kind(payload: Mapping[str, Any]) -> str:
    return str(payload.get("type", ""))


def _team_id(payload: Mapping[str, Any]) -> str:
    team = payload.get("team")
    if isinstance(team, Mapping) and isinstance(team.get("id"), str):
        return str(team["id"])
    user = payload.get("user")
    if isinstance(user, Mapping) and isinstance(user.get("team_id"), str):
        return str(user["team_id"])
    raise ValueError("the payload has no team")


def _user_id(payload: Mapping[str, Any]) -> str:
    user = payload.get("user")
    if not isinstance(user, Mapping):
        raise ValueError("the payload has no user")
    return _str(user, "id")


def message_id(channel_id: str, ts: str) -> str:
    """The core's opaque id for a Slack message: channel and timestamp."""
    return f"{channel_id}:{ts}"


def parse_message_id(value: str) -> tuple[str, str] | None:
    channel, _, ts = value.partition(":")
    return (channel, ts) if channel and ts else None


def block_action(payload: Mapping[str, Any]) -> tuple[ButtonClicked | HomeAction, Origin]:
    """A button press (``block_actions``) on a message, or on our App Home tab."""
    actions = payload.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], Mapping):
        raise ValueError("the payload has no action")
    action_id = _str(actions[0], "action_id")
    if actions[0].get("type") == "static_select":
        # A menu's choice acts as the button it stands for: its value is the action id.
        chosen = actions[0].get("selected_option")
        action_id = _str(chosen if isinstance(chosen, Mapping) else {}, "value")
    container = payload.get("container")
    container = container if isinstance(container, Mapping) else {}
    channel = payload.get("channel")
    channel_id = _opt(container, "channel_id") or _opt(
        channel if isinstance(channel, Mapping) else None, "id"
    )
    message = payload.get("message")
    ts = _opt(container, "message_ts") or _opt(
        message if isinstance(message, Mapping) else None, "ts"
    )
    on_home = container.get("type") == "view"
    origin = Origin(
        team_id=_team_id(payload),
        user_id=_user_id(payload),
        channel_id=channel_id,
        message_ts=ts,
        is_ephemeral=bool(container.get("is_ephemeral")),
        response_url=_opt(payload, "response_url"),
        trigger_id=_opt(payload, "trigger_id"),
        private=on_home or (channel_id or "").startswith("D"),
    )
    if action_id.startswith(HOME_PREFIX):
        return HomeAction(action_id.removeprefix(HOME_PREFIX)), origin
    event = ButtonClicked(
        user=origin.user,
        action_id=action_id,
        message_id=message_id(channel_id, ts) if channel_id and ts else None,
        # Slack resends an interaction it saw no answer to; the trigger id is per press.
        event_key=event_key("action", origin.trigger_id),
    )
    return event, origin


def form_values(view: Mapping[str, Any]) -> dict[str, str]:
    """The inputs of a submitted modal, by block id (= the core's field name)."""
    state = view.get("state")
    values = state.get("values") if isinstance(state, Mapping) else None
    found: dict[str, str] = {}
    if not isinstance(values, Mapping):
        return found
    for block_id, inputs in values.items():
        if not isinstance(inputs, Mapping):
            continue
        for element in inputs.values():
            if isinstance(element, Mapping):
                value = element.get("value")
                found[str(block_id)] = value if isinstance(value, str) else ""
    return found


def form_errors(view: Mapping[str, Any]) -> dict[str, str]:
    """What is wrong with a submitted modal, by block id, as Slack shows it
    (``response_action: errors``). Slack checks required fields and lengths in the
    browser already, but not blanks that are only spaces, and not a form left empty."""
    values = form_values(view)
    blocks = view.get("blocks")
    inputs = [b for b in (blocks if isinstance(blocks, list) else []) if isinstance(b, Mapping)]
    inputs = [b for b in inputs if b.get("type") == "input" and isinstance(b.get("block_id"), str)]
    errors: dict[str, str] = {}
    for block in inputs:
        block_id = str(block["block_id"])
        value = values.get(block_id, "")
        element = block.get("element")
        limit = element.get("max_length") if isinstance(element, Mapping) else None
        if not block.get("optional", False) and not value.strip():
            errors[block_id] = "Please write something here."
        elif isinstance(limit, int) and len(value) > limit:
            errors[block_id] = (
                f"Please keep this under {limit:,} characters (it has {len(value):,})."
            )
    if (
        inputs
        and not errors
        and all(not values.get(str(b["block_id"]), "").strip() for b in inputs)
    ):
        errors[str(inputs[0]["block_id"])] = "Answer at least one question, or close the form."
    return errors


def view_submission(payload: Mapping[str, Any]) -> tuple[FormSubmitted | HomeForm, Origin]:
    view = payload.get("view")
    if not isinstance(view, Mapping):
        raise ValueError("the payload has no view")
    callback_id = _str(view, "callback_id")
    origin = Origin(
        team_id=_team_id(payload),
        user_id=_user_id(payload),
        trigger_id=_opt(payload, "trigger_id"),
        private=True,
    )
    values = {name: value.strip("\n") for name, value in form_values(view).items()}
    if callback_id.startswith(HOME_PREFIX):
        return HomeForm(callback_id.removeprefix(HOME_PREFIX), values), origin
    event = FormSubmitted(
        user=origin.user,
        form_id=callback_id,
        values=values,
        # The trigger id is new for each submission and the same when Slack resends one.
        event_key=event_key("view", origin.trigger_id),
    )
    return event, origin


# -- Events API ---------------------------------------------------------------------------


def _event(body: Mapping[str, Any]) -> Mapping[str, Any]:
    event = body.get("event")
    if not isinstance(event, Mapping):
        raise ValueError("the body has no event")
    return event


def direct_message(body: Mapping[str, Any]) -> tuple[MessageReceived, Origin]:
    """A ``message.im`` event: a person wrote to the bot in their DM with it, or edited
    what they had written (``message_changed``: ``MessageReceived.edited``)."""
    event = _event(body)
    if event.get("channel_type") != "im" or event.get("type") != "message":
        raise NotForUs("not a direct message")
    edited = event.get("subtype") == "message_changed"
    if edited:
        written = _edited(event)  # the message as it reads now
    elif event.get("subtype") not in (None, "file_share") or event.get("bot_id"):
        raise NotForUs("a deletion, a bot's message or another subtype")
    else:
        written = event
    team_id = _opt(written, "team") or _str(body, "team_id")
    origin = Origin(
        team_id=team_id,
        user_id=_str(written, "user"),
        channel_id=_opt(event, "channel"),
        private=True,
    )
    message = MessageReceived(
        user=origin.user,
        text=normalize_text(str(written.get("text") or "")),
        event_key=event_key("event", _opt(body, "event_id")),
        edited=edited,
    )
    return message, origin


def _edited(event: Mapping[str, Any]) -> Mapping[str, Any]:
    """The message of a ``message_changed`` event, when the person who wrote it edited
    its words. Slack sends the same subtype when it changes a message itself (a link's
    preview added, a language detected, a reply counted: no ``edited``, or the same
    text) and when a bot's message is updated (``chat.update``): none of those is theirs.
    https://docs.slack.dev/reference/events/message/message_changed/"""
    message = event.get("message")
    before = event.get("previous_message")
    if not isinstance(message, Mapping) or message.get("bot_id"):
        raise NotForUs("a bot's message changed")
    if message.get("subtype") not in (None, "file_share"):
        raise NotForUs("a message of another subtype changed")
    if not isinstance(message.get("edited"), Mapping):
        raise NotForUs("changed by Slack, not edited")
    if isinstance(before, Mapping) and before.get("text") == message.get("text"):
        raise NotForUs("edited without its words changing")
    return message


def home_opened(body: Mapping[str, Any]) -> Origin:
    """``app_home_opened`` for the Home tab (the Messages tab sends it too: not for us)."""
    event = _event(body)
    if event.get("tab", "home") != "home":
        raise NotForUs("the Messages tab")
    return Origin(team_id=_str(body, "team_id"), user_id=_str(event, "user"), private=True)


def workspace_removed(body: Mapping[str, Any]) -> WorkspaceRemoved:
    """``app_uninstalled``, or ``tokens_revoked`` naming a bot token: nothing more can be
    sent to this workspace. A revoked *user* token does not concern a bot."""
    event = _event(body)
    if event.get("type") == "tokens_revoked":
        tokens = event.get("tokens")
        bots = tokens.get("bot") if isinstance(tokens, Mapping) else None
        if not bots:
            raise NotForUs("only user tokens were revoked")
    elif event.get("type") != "app_uninstalled":
        raise NotForUs("not an uninstall")
    return WorkspaceRemoved(
        WorkspaceRef(Platform.SLACK, _str(body, "team_id")),
        event_key=event_key("event", _opt(body, "event_id")),
    )


# -- users.info ------------------------------------------------------------------------


def profile(user: Mapping[str, Any]) -> Profile:
    """The ``user`` object of ``users.info``: the name people know, the timezone, and
    whether they are a workspace admin or owner."""
    details = user.get("profile")
    details = details if isinstance(details, Mapping) else {}
    timezone = _opt(user, "tz")
    name = (
        _opt(details, "display_name")
        or _opt(details, "real_name")
        or _opt(user, "real_name")
        or _opt(user, "name")
    )
    return Profile(
        name=name,
        # A few hundred names serve everyone: one copy each, not one a person (the profile
        # cache keeps a profile for each of up to 50,000 people).
        timezone=None if timezone is None else sys.intern(timezone),
        is_admin=bool(user.get("is_admin") or user.get("is_owner")),
    )
