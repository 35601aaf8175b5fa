"""The Slack app manifest (``mentorbot slack-manifest``): paste it at api.slack.com/apps
-> Create New App -> From a manifest, and the app has everything mentorbot uses.

The scopes are the fewest that work: ``commands`` (the slash commands), ``chat:write``
(DMs and shout-outs), ``users:read`` (timezone, name and admin flag on first contact),
``im:history`` (replies typed in the DM with the bot, which answer check-ins and
feedback), ``im:write`` (``conversations.open``: the DM's id, which a file upload needs)
and ``files:write`` (an export or a stats chart, uploaded into that DM). The Messages tab
is left writable for those replies.
"""

from __future__ import annotations

import json
import re
from typing import Any

COMMANDS = (
    ("/win", "Save a win to your journal and tell your partner", "<what went well>"),
    (
        "/mentor",
        "Mentoring pairs: check-ins, feedback, milestones",
        "help | pair @mentor @mentee | status | checkin | feedback <question> | journal | join",
    ),
)
# Where HTTP mode serves slash commands, interactivity and events, all on one URL.
EVENTS_PATH = "/slack/events"
SCOPES = ("commands", "chat:write", "users:read", "im:history", "im:write", "files:write")
BOT_EVENTS = ("app_home_opened", "app_uninstalled", "message.im", "tokens_revoked")


def manifest(
    *, socket_mode: bool, base_url: str | None = None, name: str = "mentorbot"
) -> dict[str, Any]:
    """The manifest as data. HTTP mode needs the public ``base_url`` where Slack reaches
    this process (``https://bot.example.com``); ``/slack/events`` is added to it."""
    if not socket_mode and not base_url:
        raise ValueError(
            "HTTP mode needs the public URL Slack should call, like https://bot.example.com"
        )
    request_url = None if socket_mode else _events_url(str(base_url))
    commands = []
    for command, description, hint in COMMANDS:
        entry: dict[str, Any] = {"command": command}
        if request_url:
            entry["url"] = request_url
        entry |= {"description": description, "usage_hint": hint, "should_escape": True}
        commands.append(entry)
    events: dict[str, Any] = {"bot_events": list(BOT_EVENTS)}
    interactivity: dict[str, Any] = {"is_enabled": True}
    if request_url:
        events = {"request_url": request_url, **events}
        interactivity["request_url"] = request_url
    return {
        "display_information": {
            "name": name,
            "description": "Keeps mentoring pairs in a steady rhythm: check-ins, feedback, wins.",
            "background_color": "#2c5f2d",
        },
        "features": {
            "app_home": {
                "home_tab_enabled": True,
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": False,
            },
            "bot_user": {"display_name": name, "always_online": True},
            "slash_commands": commands,
        },
        "oauth_config": {"scopes": {"bot": list(SCOPES)}},
        "settings": {
            "event_subscriptions": events,
            "interactivity": interactivity,
            "org_deploy_enabled": False,
            "socket_mode_enabled": socket_mode,
            "token_rotation_enabled": False,
        },
    }


def _events_url(base_url: str) -> str:
    base = base_url.rstrip("/")
    if not re.match(r"^https?://[^\s/]+", base, re.IGNORECASE):
        raise ValueError(f"{base_url!r} is not a URL like https://bot.example.com")
    # "The external URLs that the command posts message data to must use TLS (https) with
    # a valid certificate. Self-signed certificates are unsupported." (Slack's slash
    # command docs); events and interactivity go to the same URL.
    if not base.lower().startswith("https://"):
        raise ValueError(
            "Slack calls only https:// URLs with a valid certificate: put the bot behind a "
            f"proxy that ends TLS and give its https:// URL, not {base_url!r}"
        )
    return base if base.endswith(EVENTS_PATH) else base + EVENTS_PATH


def slack_manifest(
    *, socket_mode: bool, base_url: str | None = None, name: str = "mentorbot"
) -> str:
    """The manifest as YAML, ready to paste."""
    return to_yaml(manifest(socket_mode=socket_mode, base_url=base_url, name=name))


_PLAIN = re.compile(r"^[A-Za-z0-9_./-]+$")
_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _RESERVED and not text[0].isdigit():
        return text
    # A JSON string is a valid YAML double-quoted scalar.
    return json.dumps(text, ensure_ascii=False)


def to_yaml(data: Any, indent: int = 0) -> str:
    """Block-style YAML for dicts, lists and scalars (all a manifest needs)."""
    pad = "  " * indent
    lines: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, dict | list) and value:
                lines.append(f"{pad}{key}:")
                lines.append(to_yaml(value, indent + 1).rstrip("\n"))
            else:
                lines.append(f"{pad}{key}: {_scalar(value) if value != [] else '[]'}")
    elif isinstance(data, list):
        for item in data:
            if isinstance(item, dict) and item:
                nested = to_yaml(item, indent + 1).rstrip("\n").split("\n")
                lines.append(f"{pad}- {nested[0].lstrip()}")
                lines += nested[1:]
            else:
                lines.append(f"{pad}- {_scalar(item)}")
    else:
        lines.append(pad + _scalar(data))
    return "\n".join(lines) + "\n"
