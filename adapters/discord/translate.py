"""Discord payloads -> core events (pure).

Input is the JSON Discord sends: the ``d`` of an ``INTERACTION_CREATE`` (an application
command, a button click, a modal submit) or of a DM ``MESSAGE_CREATE``. App commands are
turned back into the text of a chat command with neutral mentions (``<@id>``,
``<#id>``), so the core's one parser reads ``/mentor pair`` on Discord exactly as it
reads it everywhere else: the options of each subcommand are written out in the order
the chat command takes its words (:data:`SHAPES`), whatever order the person filled
them in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any, TypedDict

from adapters.discord.render import split_custom_id, split_form_part_id
from bot.events import ButtonClicked, CommandInvoked, Event, FormSubmitted, MessageReceived
from bot.refs import ChannelRef, Platform, UserRef, WorkspaceRef

Payload = Mapping[str, Any]

# Administrator or Manage Server: who may configure the bot in a guild.
ADMIN_PERMISSIONS = (1 << 3) | (1 << 5)


class InteractionType(IntEnum):
    PING = 1
    APPLICATION_COMMAND = 2
    MESSAGE_COMPONENT = 3
    AUTOCOMPLETE = 4
    MODAL_SUBMIT = 5


class OptionType(IntEnum):
    SUB_COMMAND = 1
    SUB_COMMAND_GROUP = 2
    STRING = 3
    INTEGER = 4
    BOOLEAN = 5
    USER = 6
    CHANNEL = 7
    ROLE = 8
    MENTIONABLE = 9
    NUMBER = 10


class Written(StrEnum):
    """How an option's value is written into the chat command's text."""

    AS_IS = "as_is"
    USER = "user"  # <@id>
    CHANNEL = "channel"  # <#id>
    FLAG = "flag"  # the option's name, when true ("off")
    DAYS = "days"  # 14 -> "14d"
    UNTIL = "until"  # 2027-01-10 -> "until 2027-01-10"
    AT = "at"  # 12 -> "at 12": a bare number in the time option is an hour, 12:00
    NAMED = "named"  # capacity 2 -> "capacity 2"
    LABELLED = "labelled"  # team platform infra -> "team: platform infra"


@dataclass(frozen=True, slots=True)
class Option:
    name: str
    written: Written = Written.AS_IS


@dataclass(frozen=True, slots=True)
class Shape:
    """A slash command as chat-command text: the leading words, then the options."""

    words: tuple[str, ...]
    options: tuple[Option, ...] = ()


PARTNER = Option("partner", Written.USER)

# Keyed by the slash command's path: ("mentor", "milestone", "add") is
# /mentor milestone add. The app commands (command_tree.py) declare the same options;
# a test keeps the two in step.
SHAPES: dict[tuple[str, ...], Shape] = {
    ("win",): Shape((), (Option("text"),)),
    ("mentor", "help"): Shape(("help",), (Option("topic"),)),
    ("mentor", "pair"): Shape(
        ("pair",), (Option("mentor", Written.USER), Option("mentee", Written.USER))
    ),
    ("mentor", "cadence"): Shape(
        ("cadence",),
        (
            PARTNER,
            Option("rhythm"),
            Option("weekday"),
            Option("time", Written.AT),
            Option("timezone"),
        ),
    ),
    ("mentor", "status"): Shape(("status",), (PARTNER,)),
    ("mentor", "checkin"): Shape(("checkin",), (PARTNER,)),
    ("mentor", "skip"): Shape(("skip",), (PARTNER,)),
    ("mentor", "pause"): Shape(
        ("pause",), (PARTNER, Option("days", Written.DAYS), Option("until", Written.UNTIL))
    ),
    ("mentor", "resume"): Shape(("resume",), (PARTNER,)),
    ("mentor", "end"): Shape(("end",), (PARTNER,)),
    ("mentor", "feedback", "ask"): Shape(("feedback",), (PARTNER, Option("question"))),
    ("mentor", "feedback", "list"): Shape(("feedback", "list"), (Option("page"),)),
    ("mentor", "milestone", "add"): Shape(("milestone", "add"), (PARTNER, Option("title"))),
    ("mentor", "milestone", "done"): Shape(("milestone", "done"), (PARTNER, Option("milestone"))),
    ("mentor", "milestone", "remove"): Shape(
        ("milestone", "remove"), (PARTNER, Option("milestone"))
    ),
    ("mentor", "milestone", "list"): Shape(("milestone", "list"), (PARTNER,)),
    ("mentor", "review"): Shape(("review",), (PARTNER,)),
    # A partner after "remove 3" reads as a refusal (only your own wins), not as a page.
    ("mentor", "journal"): Shape(
        ("journal",), (Option("remove", Written.NAMED), PARTNER, Option("page"))
    ),
    ("mentor", "config", "show"): Shape(("config",)),
    ("mentor", "config", "shoutouts"): Shape(
        ("config", "shoutouts"), (Option("channel", Written.CHANNEL), Option("off", Written.FLAG))
    ),
    ("mentor", "config", "consent"): Shape(("config", "consent"), (Option("allow"),)),
    ("mentor", "config", "timezone"): Shape(("config", "timezone"), (Option("zone"),)),
    ("mentor", "export"): Shape(("export",)),
    ("mentor", "forget"): Shape(("forget",)),
    ("mentor", "stats"): Shape(("stats",)),
    # Matching: /mentor join with no options opens the join form. The topics come last,
    # after "topics:", where "team building" stays a topic; the team after "team:" runs
    # to that label, so a team name may have several words.
    ("mentor", "join"): Shape(
        ("join",),
        (
            Option("role"),
            Option("capacity", Written.NAMED),
            Option("team", Written.LABELLED),
            Option("topics", Written.LABELLED),
        ),
    ),
    ("mentor", "profile"): Shape(("profile",), (Option("setting"), Option("value"))),
    ("mentor", "leave"): Shape(("leave",)),
    ("mentor", "match"): Shape(("match",)),
}


# --- what an interaction becomes, besides a core event -----------------------------------


@dataclass(frozen=True, slots=True)
class Refusal:
    """An interaction the bot cannot take (no workspace to put it in): say why."""

    text: str


@dataclass(frozen=True, slots=True)
class FormPartRequested:
    """A button asking for (a part of) a form that waits in the adapter."""

    user: UserRef
    form_id: str
    part: int


@dataclass(frozen=True, slots=True)
class FormPartSubmitted:
    """One part of a form too long for one modal: ``submitted`` holds this part's
    values; the adapter adds the other parts' before the core sees it."""

    submitted: FormSubmitted
    part: int
    parts: int


Translated = Event | Refusal | FormPartRequested | FormPartSubmitted | None


class Who(TypedDict):
    """Who acted, as every event from an interaction carries it."""

    user: UserRef
    user_name: str | None
    user_is_admin: bool | None
    event_key: str


NO_WORKSPACE = (
    "I work inside a server: use my commands there. (This button or form came from a "
    "message I can't place in a server any more.)"
)


@dataclass(frozen=True, slots=True)
class Call:
    """What answering an interaction needs to know about it."""

    interaction_id: str
    token: str
    application_id: str
    type: InteractionType
    workspace_id: str | None
    user_id: str
    message_id: str | None = None  # the message a button was on
    message_is_card: bool = False  # ... and whether it was an embed (DMs) or plain text
    custom_id: str | None = None


def call_of(payload: Payload) -> Call:
    data = payload.get("data") or {}
    message = payload.get("message") or {}
    custom = data.get("custom_id")
    return Call(
        interaction_id=str(payload["id"]),
        token=str(payload["token"]),
        application_id=str(payload["application_id"]),
        type=InteractionType(int(payload["type"])),
        workspace_id=_workspace_of(payload),
        user_id=_user(payload)["id"],
        message_id=str(message["id"]) if "id" in message else None,
        message_is_card=bool(message.get("embeds")),
        custom_id=str(custom) if custom is not None else None,
    )


STRING_SELECT = 3  # a message component's type


def interaction_event(payload: Payload) -> Translated:
    """An application command, a button click or a modal submit, as the core sees it."""
    kind = payload.get("type")
    if kind not in (
        InteractionType.APPLICATION_COMMAND,
        InteractionType.MESSAGE_COMPONENT,
        InteractionType.MODAL_SUBMIT,
    ):
        return None  # pings; autocomplete is answered by discord.py's command tree
    workspace = _workspace_of(payload)
    if workspace is None:
        return Refusal(NO_WORKSPACE)
    data: Payload = payload.get("data") or {}
    user = UserRef(Platform.DISCORD, workspace, _user(payload)["id"])
    who = Who(
        user=user,
        user_name=display_name(payload),
        user_is_admin=is_admin(payload),
        event_key=str(payload["id"]),
    )
    if kind == InteractionType.APPLICATION_COMMAND:
        if (bot_id := _bot_named(data)) is not None:
            return Refusal(
                f"<@{bot_id}> is a bot, and mentoring pairs are people: name a person instead."
            )
        command, text = command_text(data)
        channel_id = _channel_id(payload)
        channel = ChannelRef(Platform.DISCORD, workspace, channel_id) if channel_id else None
        return CommandInvoked(command=command, text=text, channel=channel, **who)
    _, action = split_custom_id(str(data.get("custom_id", "")))
    part = split_form_part_id(action)
    if kind == InteractionType.MESSAGE_COMPONENT:
        if part is not None:
            return FormPartRequested(user, part[2], part[0])
        message = payload.get("message") or {}
        message_id = str(message["id"]) if "id" in message else None
        if data.get("component_type") == STRING_SELECT:
            # A menu's choice acts as the button it stands for: its value is the action id.
            values = data.get("values") or []
            if not values or not isinstance(values[0], str):
                return None
            action = values[0]
        return ButtonClicked(action_id=action, message_id=message_id, **who)
    if part is not None:
        submitted = FormSubmitted(form_id=part[2], values=modal_values(data), **who)
        return FormPartSubmitted(submitted, part[0], part[1])
    return FormSubmitted(form_id=action, values=modal_values(data), **who)


def command_text(data: Payload) -> tuple[str, str]:
    """``("mentor", "pair <@1> <@2>")`` from an application command's ``data``."""
    path = [str(data["name"])]
    options: Sequence[Payload] = data.get("options") or []
    while len(options) == 1 and options[0].get("type") in (
        OptionType.SUB_COMMAND,
        OptionType.SUB_COMMAND_GROUP,
    ):
        path.append(str(options[0]["name"]))
        options = options[0].get("options") or []
    given = {str(option["name"]): option for option in options}
    shape = SHAPES.get(tuple(path))
    if shape is None:
        # A command this version does not know (an old registration): the words as
        # given, so the core explains what it does not understand.
        shape = Shape(
            tuple(path[1:]), tuple(Option(name, _written(o)) for name, o in given.items())
        )
    words = list(shape.words)
    for option in shape.options:
        if option.name in given:
            word = _write(option, given[option.name].get("value"))
            if word:
                words.append(word)
    return path[0], " ".join(words)


def _bot_named(data: Payload) -> str | None:
    """A bot picked in a user option (``/mentor pair mentee:@Carl-bot``): Discord marks it
    in the resolved users (``bot: true``). Its id, or None. Proposing it would ask a bot
    to agree, in a DM Discord refuses (a bot cannot DM a bot)."""
    users: Payload = (data.get("resolved") or {}).get("users") or {}
    return next((str(uid) for uid, user in users.items() if user.get("bot")), None)


def _written(option: Payload) -> Written:
    match option.get("type"):
        case OptionType.USER:
            return Written.USER
        case OptionType.CHANNEL:
            return Written.CHANNEL
        case _:
            return Written.AS_IS


def _write(option: Option, value: Any) -> str:
    if value is None:
        return ""
    match option.written:
        case Written.USER:
            return f"<@{value}>"
        case Written.CHANNEL:
            return f"<#{value}>"
        case Written.FLAG:
            return option.name if value is True else ""
        case Written.DAYS:
            return f"{value}d"
        case Written.UNTIL:
            return f"until {value}"
        case Written.AT:
            return f"at {value}"
        case Written.NAMED:
            return f"{option.name} {value}"
        case Written.LABELLED:
            return f"{option.name}: {value}"
        case Written.AS_IS:
            return str(value)


def modal_values(data: Payload) -> dict[str, str]:
    """Text inputs by their custom id, from rows of inputs or from labelled inputs."""
    values: dict[str, str] = {}
    stack: list[Payload] = list(data.get("components") or [])
    while stack:
        component = stack.pop(0)
        if component.get("type") == 4 and "custom_id" in component:
            values[str(component["custom_id"])] = str(component.get("value") or "")
        stack.extend(component.get("components") or [])
        if isinstance(component.get("component"), Mapping):
            stack.append(component["component"])
    return values


def dm_message_event(payload: Payload, workspace_id: str) -> MessageReceived | None:
    """A direct message to the bot (``MESSAGE_CREATE`` without a guild), or one its
    author edited (``MESSAGE_UPDATE`` with an ``edited_timestamp``: each edit has its own,
    and so its own key; an update Discord makes itself, an embed added, keeps the last
    one). Discord sends no guild with a DM, so the caller says which workspace the
    conversation belongs to."""
    author = payload.get("author") or {}
    if author.get("bot") or payload.get("guild_id"):
        return None
    user = UserRef(Platform.DISCORD, workspace_id, str(author["id"]))
    edited = payload.get("edited_timestamp")
    key = str(payload["id"]) if not edited else f"{payload['id']}:edited:{edited}"
    return MessageReceived(
        user=user,
        user_name=_name_of(author, None),
        event_key=key,
        text=str(payload.get("content") or ""),
        edited=bool(edited),
    )


def workspace(guild_id: int | str) -> WorkspaceRef:
    return WorkspaceRef(Platform.DISCORD, str(guild_id))


def display_name(payload: Payload) -> str | None:
    member = payload.get("member") or {}
    return _name_of(_user(payload), member.get("nick"))


def is_admin(payload: Payload) -> bool | None:
    """Manage Server in the guild the interaction came from; None in a DM (no member, so
    the permissions are unknown there)."""
    member = payload.get("member")
    if not member:
        return None
    return bool(int(member.get("permissions") or 0) & ADMIN_PERMISSIONS)


def _name_of(user: Payload, nick: str | None) -> str | None:
    name = nick or user.get("global_name") or user.get("username")
    return str(name) if name else None


def _user(payload: Payload) -> Payload:
    member = payload.get("member")
    user: Payload = member["user"] if member else payload["user"]
    return {**user, "id": str(user["id"])}


def _workspace_of(payload: Payload) -> str | None:
    if payload.get("guild_id"):
        return str(payload["guild_id"])
    custom = (payload.get("data") or {}).get("custom_id")
    return split_custom_id(str(custom))[0] if custom else None


def _channel_id(payload: Payload) -> str | None:
    channel = payload.get("channel") or {}
    found = channel.get("id") or payload.get("channel_id")
    return str(found) if found else None
