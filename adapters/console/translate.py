"""A typed console line -> a console action or a core event (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from bot.events import CommandInvoked, Event, MessageReceived
from bot.numbers import whole_number
from bot.refs import Platform, UserRef
from bot.text import COMMAND_NAMES

WORKSPACE_ID = "local"
NAME = re.compile(r"^[a-z0-9][a-z0-9_.\-]{0,31}$")
# A name ends with a letter, digit or "_": "@carol." at the end of a sentence is carol.
_MENTION = re.compile(r"(?<![\w<])@([A-Za-z0-9](?:[A-Za-z0-9_.\-]{0,30}[A-Za-z0-9_])?)")
_CHANNEL = re.compile(r"(?<![\w<])#([A-Za-z0-9](?:[A-Za-z0-9_.\-]{0,78}[A-Za-z0-9_])?)")
_DURATION = re.compile(r"^(\d+)\s*([dhm])$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}
MAX_ADVANCE = timedelta(days=3660)


class ConsoleInputError(ValueError):
    """A console line that cannot be carried out; the message says why and what to type."""


@dataclass(frozen=True, slots=True)
class SwitchUser:
    name: str


@dataclass(frozen=True, slots=True)
class Click:
    label: str


@dataclass(frozen=True, slots=True)
class Advance:
    by: timedelta


@dataclass(frozen=True, slots=True)
class Quit:
    pass


@dataclass(frozen=True, slots=True)
class ShowConsoleHelp:
    pass


@dataclass(frozen=True, slots=True)
class Nothing:
    pass


@dataclass(frozen=True, slots=True)
class CloseForm:
    """``:cancel``: close the open form without sending it, as a modal's Cancel does."""


ConsoleAction = SwitchUser | Click | Advance | Quit | ShowConsoleHelp | Nothing | CloseForm

CONSOLE_HELP = """\
Console commands:
  /win <text>, /mentor <subcommand>   chat commands as the current user (/mentor help)
  :as NAME                            switch to (or create) the local user NAME
  :click LABEL                        press the newest button with that label
  :advance 7d | 3h | 30m              move the clock forward and run what falls due
  :cancel                             close an open form without sending it
  :help                               this help
  :quit                               leave (everything is saved)
Any other line is a direct message to the bot. Mention people as @name, channels as #name."""


def looks_like_a_command(line: str) -> bool:
    """Whether ``line`` starts with one of the bot's commands (``/win``, ``/mentor``):
    typed into a form, it was meant as a command, not as the question's answer."""
    words = line.split(maxsplit=1)
    return bool(words) and words[0].startswith("/") and words[0][1:].lower() in COMMAND_NAMES


def user_ref(name: str) -> UserRef:
    return UserRef(Platform.CONSOLE, WORKSPACE_ID, name)


def valid_name(raw: str) -> str:
    if not raw.strip():
        raise ConsoleInputError("Say which user, like `:as bob`.")
    name = raw.strip().lstrip("@").lower()
    if not NAME.match(name):
        raise ConsoleInputError(
            f"`{raw.strip()}` can't be a user name: use up to 32 letters, digits, "
            "dots, dashes or underscores, like `:as alice`."
        )
    return name


def parse_duration(raw: str) -> timedelta:
    if not raw.strip():
        raise ConsoleInputError("Say how far to move the clock, like `:advance 7d`, `3h` or `30m`.")
    match = _DURATION.match(raw.strip().lower())
    if not match:
        raise ConsoleInputError(
            f"`{raw.strip()}` is not a duration; try `:advance 7d`, `3h` or `30m`."
        )
    amount, unit = whole_number(match.group(1), high=10_000_000), _UNITS[match.group(2)]
    if amount is None:
        raise ConsoleInputError("Advance the clock by a positive amount, at most ten years.")
    delta = timedelta(**{unit: amount})
    if delta > MAX_ADVANCE:
        raise ConsoleInputError("Advance the clock by a positive amount, at most ten years.")
    return delta


def normalize_mentions(text: str) -> str:
    """``@alice`` -> ``<@alice>`` and ``#wins`` -> ``<#wins>``: the core's neutral markup."""
    text = _MENTION.sub(lambda m: f"<@{m.group(1).lower()}>", text)
    return _CHANNEL.sub(lambda m: f"<#{m.group(1).lower()}>", text)


def parse_line(line: str, current_user: str) -> ConsoleAction | Event:
    stripped = line.strip()
    if not stripped:
        return Nothing()
    if stripped.startswith(":"):
        word, _, rest = stripped[1:].partition(" ")
        match word.lower():
            case "as":
                return SwitchUser(valid_name(rest))
            case "click":
                if not rest.strip():
                    raise ConsoleInputError("Say which button, like `:click Accept`.")
                return Click(rest.strip())
            case "advance":
                return Advance(parse_duration(rest))
            case "quit" | "exit" | "q":
                return Quit()
            case "cancel":
                return CloseForm()
            case "help" | "?":
                return ShowConsoleHelp()
            case _:
                raise ConsoleInputError(f"`:{word}` is not a console command. Type `:help`.")
    user = user_ref(current_user)
    if stripped.startswith("/"):
        command, _, text = stripped[1:].partition(" ")
        return CommandInvoked(
            user=user,
            user_name=current_user,
            command=command.lower(),
            text=normalize_mentions(text),
        )
    return MessageReceived(user=user, user_name=current_user, text=line.rstrip("\n"))
