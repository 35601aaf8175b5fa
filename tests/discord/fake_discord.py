"""A local stand-in for Discord, for driving the real discord.py client over loopback.

An aiohttp server on 127.0.0.1 with the REST routes the bot uses (login, gateway
discovery, command sync, DM channels, channel messages, interaction callbacks and their
webhooks) and a gateway websocket speaking the real protocol: HELLO, IDENTIFY, READY,
GUILD_CREATE, heartbeats and their ACKs, dispatched events with sequence numbers,
RESUME with a replay of what the client missed, RECONNECT (op 7) and dropped sockets.
Interactions are built the way Discord builds them, from the commands the bot synced.

Failures are scripted per route (:meth:`FakeDiscord.fail`), a user can have closed DMs
(code 50007), and ``enforce_nonce`` returns the earlier message as Discord does.
Messages, interaction answers and modals past Discord's limits are refused as Discord
refuses them: 400, code 50035 "Invalid Form Body" with the errors by field
(:func:`message_errors`, :func:`modal_errors`).

A message with files comes as multipart/form-data (``payload_json`` and ``files[n]``);
each file becomes an attachment of the message, its bytes kept (:meth:`FakeDiscord.files`),
and a file over Discord's 10 MiB is refused with 413 / 40005 as Discord refuses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import BodyPartReader, WSMsgType, hdrs, web

API = "/api/v10"
TOKEN = "fake-bot-token"
JSON = dict[str, Any]

# Permissions: everything a server owner has (Administrator included).
ALL_PERMISSIONS = str((1 << 47) - 1)
MEMBER_PERMISSIONS = str((1 << 10) | (1 << 11) | (1 << 14) | (1 << 31))

_snowflakes = itertools.count()

# Discord's limits on what a bot sends (https://discord.com/developers/docs/resources/
# message#create-message, .../resources/message#embed-object-embed-limits,
# .../components/reference, .../interactions/receiving-and-responding#interaction-
# response-object-modal).
CONTENT_CHARS = 2000
EMBEDS = 10
EMBEDS_TOTAL_CHARS = 6000
EMBED_TITLE_CHARS = 256
EMBED_DESCRIPTION_CHARS = 4096
EMBED_FIELDS = 25
FIELD_NAME_CHARS = 256
FIELD_VALUE_CHARS = 1024
ACTION_ROWS = 5
BUTTONS_PER_ROW = 5
BUTTON_LABEL_CHARS = 80
CUSTOM_ID_CHARS = 100
SELECT_OPTIONS = 25
OPTION_CHARS = 100
PLACEHOLDER_CHARS = 150
MODAL_TITLE_CHARS = 45
MODAL_INPUTS = 5
INPUT_LABEL_CHARS = 45
INPUT_PLACEHOLDER_CHARS = 100
INPUT_VALUE_CHARS = 4000
# An autocomplete answer (https://discord.com/developers/docs/interactions/receiving-and-
# responding#interaction-response-object-autocomplete): at most 25 choices, each
# named in 1-100 characters, a string value of at most 100 (.../interactions/application-
# commands#application-command-object-application-command-option-choice-structure).
AUTOCOMPLETE_CHOICES = 25
CHOICE_NAME_CHARS = 100
CHOICE_VALUE_CHARS = 100
INVALID_FORM_BODY = 50035
EMPTY_MESSAGE = 50006


def _units(text: str) -> int:
    """Discord counts UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _too_long(errors: JSON, path: str, value: Any, limit: int) -> None:
    if isinstance(value, str) and _units(value) > limit:
        errors[path] = {
            "_errors": [
                {"code": "BASE_TYPE_MAX_LENGTH", "message": f"Must be {limit} or fewer in length."}
            ]
        }


def _error(errors: JSON, path: str, code: str, message: str) -> None:
    errors[path] = {"_errors": [{"code": code, "message": message}]}


def _component_errors(errors: JSON, rows: Any) -> None:
    if not isinstance(rows, list):
        return
    if len(rows) > ACTION_ROWS:
        _error(errors, "components", "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
    ids: list[str] = []
    for r, row in enumerate(rows):
        items = row.get("components") or []
        kinds = {item.get("type") for item in items}
        if not items or len(items) > BUTTONS_PER_ROW or (3 in kinds and len(items) > 1):
            _error(errors, f"components.{r}.components", "COMPONENT_LAYOUT_WIDTH_EXCEEDED", "")
        for c, item in enumerate(items):
            where = f"components.{r}.components.{c}"
            ids.append(str(item.get("custom_id")))
            _too_long(errors, f"{where}.custom_id", item.get("custom_id"), CUSTOM_ID_CHARS)
            if item.get("type") == 2:
                _too_long(errors, f"{where}.label", item.get("label"), BUTTON_LABEL_CHARS)
            if item.get("type") == 3:
                options = item.get("options") or []
                if not 1 <= len(options) <= SELECT_OPTIONS:
                    _error(errors, f"{where}.options", "BASE_TYPE_BAD_LENGTH", "1 to 25")
                for o, option in enumerate(options):
                    _too_long(errors, f"{where}.options.{o}.label", option.get("label"), 100)
                    _too_long(errors, f"{where}.options.{o}.value", option.get("value"), 100)
                _too_long(
                    errors, f"{where}.placeholder", item.get("placeholder"), PLACEHOLDER_CHARS
                )
    if len(ids) != len(set(ids)):
        _error(errors, "components", "COMPONENT_CUSTOM_ID_DUPLICATED", "custom ids must differ")


def message_errors(body: Any, *, files: bool = False) -> JSON | None:
    """The 400 Discord answers a message with (create, edit, interaction answer,
    follow-up), or None when it takes it."""
    if not isinstance(body, dict):
        return None
    errors: JSON = {}
    _too_long(errors, "content", body.get("content"), CONTENT_CHARS)
    embeds = body.get("embeds") or []
    if len(embeds) > EMBEDS:
        _error(errors, "embeds", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
    total = 0
    for e, embed in enumerate(embeds):
        _too_long(errors, f"embeds.{e}.title", embed.get("title"), EMBED_TITLE_CHARS)
        description = embed.get("description")
        _too_long(errors, f"embeds.{e}.description", description, EMBED_DESCRIPTION_CHARS)
        fields = embed.get("fields") or []
        if len(fields) > EMBED_FIELDS:
            _error(errors, f"embeds.{e}.fields", "BASE_TYPE_MAX_LENGTH", "25 or fewer")
        total += _units(embed.get("title") or "") + _units(description or "")
        for f, item in enumerate(fields):
            _too_long(errors, f"embeds.{e}.fields.{f}.name", item.get("name"), FIELD_NAME_CHARS)
            _too_long(errors, f"embeds.{e}.fields.{f}.value", item.get("value"), FIELD_VALUE_CHARS)
            if not item.get("name") or not item.get("value"):
                _error(errors, f"embeds.{e}.fields.{f}", "BASE_TYPE_REQUIRED", "required")
            total += _units(item.get("name") or "") + _units(item.get("value") or "")
    if total > EMBEDS_TOTAL_CHARS:
        _error(errors, "embeds", "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size")
    _component_errors(errors, body.get("components"))
    if errors:
        return {"code": INVALID_FORM_BODY, "message": "Invalid Form Body", "errors": errors}
    if not (body.get("content") or embeds or body.get("components") or files):
        return {"code": EMPTY_MESSAGE, "message": "Cannot send an empty message"}
    return None


def modal_errors(modal: Any) -> JSON | None:
    """The 400 Discord answers a modal with, or None."""
    if not isinstance(modal, dict):
        return None
    errors: JSON = {}
    _too_long(errors, "data.title", modal.get("title"), MODAL_TITLE_CHARS)
    _too_long(errors, "data.custom_id", modal.get("custom_id"), CUSTOM_ID_CHARS)
    rows = modal.get("components") or []
    if not 1 <= len(rows) <= MODAL_INPUTS:
        _error(errors, "data.components", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5")
    for r, row in enumerate(rows):
        for c, item in enumerate(row.get("components") or []):
            where = f"data.components.{r}.components.{c}"
            _too_long(errors, f"{where}.label", item.get("label"), INPUT_LABEL_CHARS)
            _too_long(errors, f"{where}.custom_id", item.get("custom_id"), CUSTOM_ID_CHARS)
            _too_long(
                errors, f"{where}.placeholder", item.get("placeholder"), INPUT_PLACEHOLDER_CHARS
            )
            if int(item.get("max_length") or 0) > INPUT_VALUE_CHARS:
                _error(errors, f"{where}.max_length", "NUMBER_TYPE_MAX", "4000 or less")
            _too_long(errors, f"{where}.value", item.get("value"), INPUT_VALUE_CHARS)
    if errors:
        return {"code": INVALID_FORM_BODY, "message": "Invalid Form Body", "errors": errors}
    return None


def payload_errors(method: str, path: str, body: Any, *, files: bool = False) -> JSON | None:
    """What Discord says of a request's body on the routes that carry messages."""
    if re.fullmatch(r"/channels/\d+/messages(/\d+)?", path) or re.fullmatch(
        r"/webhooks/\d+/[^/]+(/messages/@original)?", path
    ):
        if method == "PATCH":
            return message_errors(body, files=True)  # an edit keeps what it does not set
        return message_errors(body, files=files)
    if re.fullmatch(r"/interactions/\d+/[^/]+/callback", path) and isinstance(body, dict):
        data = body.get("data")
        if body.get("type") in (4, 7):
            return message_errors(data, files=body.get("type") == 7)
        if body.get("type") == 9:
            return modal_errors(data)
        if body.get("type") == 8:
            return autocomplete_errors(data)
    return None


def autocomplete_errors(data: Any) -> JSON | None:
    """The 400 Discord answers an autocomplete result with, or None."""
    choices = (data or {}).get("choices")
    errors: JSON = {}
    if not isinstance(choices, list) or len(choices) > AUTOCOMPLETE_CHOICES:
        _error(errors, "data.choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        choices = []
    for index, choice in enumerate(choices):
        name = choice.get("name")
        if not isinstance(name, str) or not name:
            _error(errors, f"data.choices.{index}.name", "BASE_TYPE_REQUIRED", "Required")
        _too_long(errors, f"data.choices.{index}.name", name, CHOICE_NAME_CHARS)
        _too_long(errors, f"data.choices.{index}.value", choice.get("value"), CHOICE_VALUE_CHARS)
    if errors:
        return {"code": INVALID_FORM_BODY, "message": "Invalid Form Body", "errors": errors}
    return None


def snowflake() -> str:
    """A new id shaped like Discord's: milliseconds in the high bits, so ids grow and
    each new guild can land on another shard."""
    n = next(_snowflakes)
    return str(((1_400_000_000_000 + n) << 22) | (n % 4096))


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def user_object(user_id: str, name: str, *, bot: bool = False) -> JSON:
    return {
        "id": user_id,
        "username": name.lower(),
        "global_name": name,
        "discriminator": "0",
        "avatar": None,
        "bot": bot,
        "public_flags": 0,
    }


def text_of(message: JSON) -> str:
    """What a person reads: the content, then each embed's title, description, fields."""
    parts = [message.get("content") or ""]
    for embed in message.get("embeds") or []:
        parts += [embed.get("title", ""), embed.get("description", "")]
        parts += [f"{f['name']}: {f['value']}" for f in embed.get("fields", [])]
    return "\n".join(part for part in parts if part)


def buttons_of(message: JSON) -> list[JSON]:
    return [
        component
        for row in message.get("components") or []
        for component in row.get("components", [])
        if component.get("type") == 2
    ]


# What Discord takes from a bot in a server without boosts, per file.
MAX_UPLOAD_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Upload:
    """One ``files[n]`` part of a multipart message create."""

    part: str  # ``files[0]``
    filename: str
    content_type: str
    data: bytes


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    files: list[Upload] = field(default_factory=list)
    # perf_counter_ns when the request arrived, and when its response went back.
    arrived_ns: int = 0
    answered_ns: int = 0


@dataclass
class Failure:
    method: str
    path: re.Pattern[str]
    status: int
    body: JSON
    headers: dict[str, str]
    times: int | None  # None: every time
    keep: bool  # do the work anyway, then answer with the failure (a lost response)


@dataclass
class Interaction:
    payload: JSON
    callbacks: list[JSON] = field(default_factory=list)
    # perf_counter_ns when it was sent, when its first answer (perhaps a defer) arrived,
    # and when something the person can read arrived (benchmarks).
    sent_ns: int = 0
    answered_ns: int = 0
    shown_ns: int = 0
    followups: list[JSON] = field(default_factory=list)
    original: JSON | None = None  # the message the first answer made (or edited)

    @property
    def id(self) -> str:
        return str(self.payload["id"])

    @property
    def messages(self) -> list[JSON]:
        """What the person sees as answers: the original, then follow-ups."""
        shown = [self.original] if self.original is not None else []
        return shown + self.followups

    @property
    def modal(self) -> JSON | None:
        for callback in self.callbacks:
            if callback["type"] == 9:
                return dict(callback["data"])
        return None

    def text(self) -> str:
        return "\n".join(text_of(message) for message in self.messages)


@dataclass
class GatewaySession:
    session_id: str
    shard: tuple[int, int]
    seq: int = 0
    history: list[tuple[int, JSON]] = field(default_factory=list)
    socket: web.WebSocketResponse | None = None
    identifies: int = 0
    resumes: int = 0


@dataclass
class Guild:
    id: str
    name: str
    channels: list[JSON]
    owner_id: str


class FakeDiscord:
    def __init__(self, *, shard_count: int = 1, heartbeat_ms: int = 41_250) -> None:
        self.bot = user_object(snowflake(), "mentorbot", bot=True)
        self.application_id = self.bot["id"]
        self.shard_count = shard_count
        self.heartbeat_ms = heartbeat_ms
        self.users: dict[str, JSON] = {}
        self.guilds: dict[str, Guild] = {}
        self.requests: list[Recorded] = []
        self.failures: list[Failure] = []
        self.slow: list[tuple[str, re.Pattern[str], float]] = []
        self.closed_dms: set[str] = set()
        self.channels: dict[str, JSON] = {}
        self.messages: dict[str, list[JSON]] = {}
        self.dm_channels: dict[str, str] = {}  # user id -> channel id
        self._recipients: dict[str, str] = {}  # DM channel id -> user id
        self.interactions: dict[str, Interaction] = {}
        self._by_token: dict[str, Interaction] = {}
        self.commands: dict[str | None, list[JSON]] = {}  # guild id (None: global)
        self.sessions: dict[int, GatewaySession] = {}  # by shard
        # More bots side by side (benchmarks): a token -> where their sessions are kept
        # (at their shard plus this).
        self.other_bots: dict[str, int] = {}
        self.identify_payloads: list[JSON] = []
        self.arrived_ns = 0  # perf_counter_ns of the REST request being handled
        # On the next RESUME, also send again this many interactions the client had seen.
        self.replay_seen = 0
        self._nonces: dict[str, JSON] = {}
        self.attachments: dict[str, Upload] = {}  # attachment id -> what was uploaded
        self._uploaded: list[Upload] = []  # the files of the request being handled
        self._changed = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------

    def application(self) -> web.Application:
        # Room for a file past Discord's limit, so the fake (not aiohttp) refuses it.
        app = web.Application(client_max_size=4 * MAX_UPLOAD_BYTES)
        app.router.add_get("/gateway", self._gateway_socket)
        app.router.add_route("*", API + "/{tail:.*}", self._rest)
        return app

    async def start(self, port: int = 0) -> None:
        self._runner = web.AppRunner(self.application(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = int(site.name.rsplit(":", 1)[1])

    async def close(self) -> None:
        for session in self.sessions.values():
            if session.socket is not None:
                await session.socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{API}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    # -- the world ---------------------------------------------------------------------

    def add_user(self, name: str, *, bot: bool = False) -> str:
        user_id = snowflake()
        self.users[user_id] = user_object(user_id, name, bot=bot)
        return user_id

    def add_guild(
        self,
        name: str,
        *,
        owner_id: str,
        channels: tuple[str, ...] = ("general",),
        shard: int | None = None,
    ) -> str:
        """A server the bot is in; ``shard``: one whose events go to that shard."""
        guild_id = snowflake()
        while shard is not None and self.shard_of(guild_id) != shard:
            guild_id = snowflake()
        self.guilds[guild_id] = Guild(guild_id, name, [], owner_id)
        for channel in channels:
            self.add_channel(guild_id, channel)
        return guild_id

    def add_channel(self, guild_id: str, name: str, *, deny: int = 0) -> str:
        """A text channel; ``deny``: permissions taken from everyone there."""
        channel_id = snowflake()
        channel = {
            "id": channel_id,
            "type": 0,
            "guild_id": guild_id,
            "name": name,
            "position": len(self.guilds[guild_id].channels),
            "permission_overwrites": (
                [{"id": guild_id, "type": 0, "allow": "0", "deny": str(deny)}] if deny else []
            ),
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "flags": 0,
        }
        self.guilds[guild_id].channels.append(channel)
        self.channels[channel_id] = channel
        self.messages[channel_id] = []
        return channel_id

    def channel_named(self, guild_id: str, name: str) -> str:
        return next(str(c["id"]) for c in self.guilds[guild_id].channels if c["name"] == name)

    def shard_of(self, guild_id: str) -> int:
        return (int(guild_id) >> 22) % self.shard_count

    def fail(
        self,
        method: str,
        path: str,
        status: int,
        body: JSON | None = None,
        *,
        times: int | None = 1,
        headers: dict[str, str] | None = None,
        keep: bool = False,
    ) -> None:
        """Answer the next ``times`` requests to ``method path`` (a regex on the path
        after /api/v10) with ``status``."""
        self.failures.append(
            Failure(method, re.compile(path), status, body or {}, headers or {}, times, keep)
        )

    def rate_limit(self, method: str, path: str, retry_after: float, *, times: int = 1) -> None:
        """A 429 the way Discord sends it (discord.py only trusts it with a Via header)."""
        self.fail(
            method,
            path,
            429,
            {"message": "You are being rate limited.", "retry_after": retry_after, "global": False},
            times=times,
            headers={
                "Via": "1.1 google",
                "Retry-After": str(max(1, round(retry_after))),
                "X-RateLimit-Scope": "user",
            },
        )

    def delay(self, method: str, path: str, seconds: float) -> None:
        """Answer every ``method path`` (a regex, as in :meth:`fail`) ``seconds`` late:
        the work is done at once, the response waits (a slow or far-away Discord)."""
        self.slow.append((method, re.compile(path), seconds))

    # -- what happened -----------------------------------------------------------------

    def requests_to(self, method: str, pattern: str) -> list[Recorded]:
        found = re.compile(pattern)
        return [r for r in self.requests if r.method == method and found.fullmatch(r.path)]

    def dms(self, user_id: str) -> list[JSON]:
        channel = self.dm_channels.get(user_id)
        return list(self.messages.get(channel, [])) if channel else []

    def dm_texts(self, user_id: str) -> list[str]:
        return [text_of(message) for message in self.dms(user_id)]

    def posts(self, channel_id: str) -> list[JSON]:
        return list(self.messages.get(channel_id, []))

    def files(self, message: JSON) -> list[Upload]:
        """The files attached to a message, as they were uploaded."""
        return [self.attachments[str(a["id"])] for a in message.get("attachments") or []]

    def dm_files(self, user_id: str) -> list[Upload]:
        return [upload for message in self.dms(user_id) for upload in self.files(message)]

    async def until(self, check: Callable[[], Any], seconds: float = 5.0) -> Any:
        """Wait until ``check()`` is truthy; returns its value."""
        async with asyncio.timeout(seconds):
            while True:
                self._changed.clear()
                value = check()
                if value:
                    return value
                await self._changed.wait()

    def _touch(self) -> None:
        self._changed.set()

    def _later(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- interactions, built as Discord builds them ------------------------------------

    def slash(
        self, guild_id: str, user_id: str, line: str, *, in_channel: str = "general", **options: Any
    ) -> JSON:
        """``slash(g, u, "mentor pair", mentor=a, mentee=b)``: an application command as
        Discord sends it, typed from the commands the bot synced."""
        words = line.lstrip("/").split()
        command = self._synced(guild_id, words[0])
        schema: JSON = command
        outer: list[JSON] = []
        inner = outer
        for word in words[1:]:
            schema = next(o for o in schema.get("options", []) if o["name"] == word)
            level: JSON = {"type": schema["type"], "name": word, "options": []}
            inner.append(level)
            inner = level["options"]
        resolved: JSON = {}
        for name, value in options.items():
            if value is None:
                continue
            declared = next(o for o in schema.get("options", []) if o["name"] == name)
            inner.append(self._option(declared, value, guild_id, resolved))
        data: JSON = {
            "id": command["id"],
            "name": command["name"],
            "type": 1,
            "options": outer,
        }
        if command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        if resolved:
            data["resolved"] = resolved
        channel_id = self.channel_named(guild_id, in_channel)
        return self._interaction(2, data, user_id, guild_id=guild_id, channel_id=channel_id)

    def autocomplete(
        self, guild_id: str, user_id: str, line: str, option: str, typed: str, **options: Any
    ) -> JSON:
        """The person is typing ``typed`` into ``option`` of a slash command. What is typed
        so far is sent as it is: Discord checks an option's length only when the command
        is sent, so an autocomplete may carry an empty value."""
        payload = self.slash(guild_id, user_id, line, **{**options, option: "typing"})
        payload["type"] = 4
        inner = payload["data"]["options"]
        while inner and inner[0]["type"] in (1, 2):
            inner = inner[0]["options"]
        for given in inner:
            if given["name"] == option:
                given["focused"] = True
                given["value"] = typed
        return payload

    def click(self, user_id: str, message: JSON, label: str) -> JSON:
        """A press on the button labelled ``label`` of ``message`` (in a DM, or an
        ephemeral answer in a server)."""
        button = next(b for b in buttons_of(message) if b["label"] == label)
        data = {"custom_id": button["custom_id"], "component_type": 2}
        channel = self.channels[message["channel_id"]]
        return self._interaction(
            3,
            data,
            user_id,
            guild_id=channel.get("guild_id"),
            channel_id=channel["id"],
            message=message,
        )

    def choose(self, user_id: str, message: JSON, label: str) -> JSON:
        """A choice of the option labelled ``label`` in a string select of ``message``:
        Discord sends the select's custom id and the option's value."""
        menu, option = next(
            (component, option)
            for row in message.get("components") or []
            for component in row.get("components", [])
            if component.get("type") == 3
            for option in component.get("options", [])
            if option["label"] == label
        )
        data = {"custom_id": menu["custom_id"], "component_type": 3, "values": [option["value"]]}
        channel = self.channels[message["channel_id"]]
        return self._interaction(
            3,
            data,
            user_id,
            guild_id=channel.get("guild_id"),
            channel_id=channel["id"],
            message=message,
        )

    def submit(self, user_id: str, opened_by: JSON, modal: JSON, values: dict[str, str]) -> JSON:
        """The modal that answered the interaction ``opened_by``, submitted with
        ``values`` (by input custom id)."""
        rows = [
            {
                "type": 1,
                "components": [
                    {
                        "type": 4,
                        "custom_id": i["custom_id"],
                        # a field left alone comes back as it opened
                        "value": values.get(i["custom_id"], i.get("value", "")),
                    }
                    for i in row["components"]
                ],
            }
            for row in modal["components"]
        ]
        data = {"custom_id": modal["custom_id"], "components": rows}
        channel = self.channels[opened_by["channel"]["id"]]
        return self._interaction(
            5,
            data,
            user_id,
            guild_id=channel.get("guild_id"),
            channel_id=channel["id"],
            message=opened_by.get("message"),
        )

    async def interact(self, payload: JSON, *, session: int | None = None) -> Interaction:
        """Send an INTERACTION_CREATE on the right shard (or the given session); the
        record fills as the bot answers."""
        record = self.interactions.get(str(payload["id"]))
        if record is None:
            record = Interaction(payload)
            self.interactions[record.id] = record
            self._by_token[str(payload["token"])] = record
        guild_id = payload.get("guild_id")
        shard = self.shard_of(str(guild_id)) if guild_id else 0
        if session is not None:
            shard = session
        record.sent_ns = time.perf_counter_ns()
        await self.dispatch("INTERACTION_CREATE", payload, shard=shard)
        return record

    async def answered(self, record: Interaction, seconds: float = 5.0) -> Interaction:
        await self.until(lambda: record.callbacks, seconds)
        return record

    def _synced(self, guild_id: str, name: str) -> JSON:
        for scope in (guild_id, None):
            for command in self.commands.get(scope, []):
                if command["name"] == name:
                    return command
        raise AssertionError(f"/{name} was never synced")

    def _option(self, declared: JSON, value: Any, guild_id: str, resolved: JSON) -> JSON:
        kind = declared["type"]
        if kind == 6:  # USER
            user = self.users[str(value)]
            resolved.setdefault("users", {})[user["id"]] = user
            resolved.setdefault("members", {})[user["id"]] = self._member(user, with_user=False)
            value = user["id"]
        elif kind == 7:  # CHANNEL
            channel = self.channels[str(value)]
            resolved.setdefault("channels", {})[channel["id"]] = {
                "id": channel["id"],
                "name": channel["name"],
                "type": channel["type"],
                "permissions": ALL_PERMISSIONS,
                "parent_id": None,
            }
            value = channel["id"]
        elif kind == 4:
            value = int(value)
        elif kind == 5:
            value = bool(value)
        else:
            value = str(value)
            # Discord's client takes no more (or fewer) characters than the option declares
            # (application command option structure: min_length, max_length), so a value
            # the bot's own schema refuses cannot be sent: the test fails here.
            longest, shortest = declared.get("max_length"), declared.get("min_length")
            if (longest is not None and len(value) > longest) or (
                shortest is not None and len(value) < shortest
            ):
                raise ValueError(
                    f"Discord takes {shortest}-{longest} characters in {declared['name']}, "
                    f"not {len(value)}: {value!r}"
                )
        return {"type": kind, "name": declared["name"], "value": value}

    def _member(self, user: JSON, *, with_user: bool = True) -> JSON:
        guild_owner = any(g.owner_id == user["id"] for g in self.guilds.values())
        member: JSON = {
            "roles": [],
            "nick": None,
            "avatar": None,
            "banner": None,
            "joined_at": "2025-01-01T00:00:00+00:00",
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
            "permissions": ALL_PERMISSIONS if guild_owner else MEMBER_PERMISSIONS,
        }
        if with_user:
            member["user"] = user
        return member

    def _interaction(
        self,
        kind: int,
        data: JSON,
        user_id: str,
        *,
        guild_id: str | None,
        channel_id: str,
        message: JSON | None = None,
    ) -> JSON:
        user = self.users[user_id]
        payload: JSON = {
            "id": snowflake(),
            "application_id": self.application_id,
            "type": kind,
            "data": data,
            "token": f"itoken-{snowflake()}",
            "version": 1,
            "locale": "en-US",
            "app_permissions": MEMBER_PERMISSIONS,
            "entitlements": [],
            "attachment_size_limit": 26_214_400,
            "authorizing_integration_owners": {"0": guild_id} if guild_id else {"1": user_id},
            "context": 0 if guild_id else 1,
        }
        channel = dict(self.channels[channel_id])
        if guild_id:
            payload["guild_id"] = guild_id
            payload["guild"] = {"id": guild_id, "locale": "en-US", "features": []}
            payload["guild_locale"] = "en-US"
            payload["member"] = self._member(user)
        else:
            payload["user"] = user
        payload["channel_id"] = channel_id
        payload["channel"] = channel
        if message is not None:
            payload["message"] = message
        return payload

    async def user_dm(self, user_id: str, text: str) -> JSON:
        """``user_id`` writes ``text`` to the bot in their DM (arrives on shard 0)."""
        channel_id = self.dm_channel(user_id)
        message = {
            **self._message(channel_id, {"content": text}),
            "author": self.users[user_id],
        }
        self.messages[channel_id].append(message)
        await self.dispatch("MESSAGE_CREATE", message, shard=0)
        return message

    async def user_edits_dm(self, message: JSON, text: str | None = None) -> JSON:
        """The author of ``message`` (one ``user_dm`` returned) edits it to ``text``: the
        whole message, its ``edited_timestamp`` new, as MESSAGE_UPDATE carries it. With
        ``text`` None, Discord's own change (an embed added to a link): the message as it
        was, ``edited_timestamp`` untouched."""
        changed = dict(message)
        if text is not None:
            changed |= {"content": text, "edited_timestamp": now_iso()}
        else:
            changed |= {"embeds": [{"type": "link", "url": "https://example.com"}]}
        channel = self.messages[str(message["channel_id"])]
        channel[:] = [changed if m["id"] == message["id"] else m for m in channel]
        await self.dispatch("MESSAGE_UPDATE", changed, shard=0)
        return changed

    # -- the gateway -------------------------------------------------------------------

    async def dispatch(self, event: str, data: JSON, *, shard: int = 0) -> None:
        session = self.sessions.get(shard)
        if session is None:
            raise AssertionError(f"shard {shard} never identified")
        session.seq += 1
        frame = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.history.append((session.seq, frame))
        socket = session.socket
        if socket is not None and not socket.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await socket.send_str(json.dumps(frame))
        # Otherwise it waits for the client to RESUME, as Discord keeps it.

    async def drop(self, shard: int = 0, code: int = 4000) -> None:
        """Close the socket under the client (a resumable close code)."""
        session = self.sessions[shard]
        socket, session.socket = session.socket, None
        if socket is not None:
            await socket.close(code=code)

    async def reconnect(self, shard: int = 0) -> None:
        """Op 7: Discord asks the client to reconnect and resume."""
        session = self.sessions[shard]
        socket = session.socket
        assert socket is not None
        session.socket = None
        await socket.send_str(json.dumps({"op": 7, "d": None}))

    async def connected(self, shard: int = 0, *, resumes: int = 0) -> None:
        """Wait until the shard is connected (after at least ``resumes`` resumes)."""

        def ready() -> bool:
            session = self.sessions.get(shard)
            return bool(session and session.socket is not None and session.resumes >= resumes)

        await self.until(ready)

    async def _gateway_socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        await socket.send_str(
            json.dumps({"op": 10, "d": {"heartbeat_interval": self.heartbeat_ms}})
        )
        session: GatewaySession | None = None
        async for frame in socket:
            if frame.type != WSMsgType.TEXT:
                continue
            message = json.loads(frame.data)
            op, data = message.get("op"), message.get("d")
            if op == 1:
                await socket.send_str(json.dumps({"op": 11}))
            elif op == 2:
                session = await self._identify(socket, data)
            elif op == 6:
                session = await self._resume(socket, data)
            self._touch()
        if session is not None and session.socket is socket:
            session.socket = None
        self._touch()
        return socket

    async def _identify(self, socket: web.WebSocketResponse, data: JSON) -> GatewaySession | None:
        token = data.get("token")
        if token != TOKEN and token not in self.other_bots:
            await socket.close(code=4004)  # authentication failed
            return None
        self.identify_payloads.append(data)
        shard_id, count = data.get("shard", [0, 1])
        key = shard_id + self.other_bots.get(str(token), 0)
        session = GatewaySession(snowflake(), (shard_id, count))
        previous = self.sessions.get(key)
        session.identifies = (previous.identifies if previous else 0) + 1
        self.sessions[key] = session
        session.socket = socket
        guilds = [g for g in self.guilds.values() if self.shard_of(g.id) == shard_id]
        ready = {
            "v": 10,
            "user": self.bot,
            "guilds": [{"id": g.id, "unavailable": True} for g in guilds],
            "session_id": session.session_id,
            "resume_gateway_url": self.gateway_url,
            "application": {"id": self.application_id, "flags": 0},
            "shard": [shard_id, count],
            "private_channels": [],
            "relationships": [],
            "user_settings": {},
            "presences": [],
            "geo_ordered_rtc_regions": [],
            "guild_join_requests": [],
            "auth_session_id_hash": "",
        }
        await self.dispatch("READY", ready, shard=key)
        for guild in guilds:
            await self.dispatch("GUILD_CREATE", self.guild_payload(guild.id), shard=key)
        return session

    def guild_payload(self, guild_id: str, *, unavailable: bool | None = False) -> JSON:
        guild = self.guilds[guild_id]
        payload: JSON = {
            "id": guild.id,
            "name": guild.name,
            "icon": None,
            "owner_id": guild.owner_id,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": [
                {
                    "id": guild.id,
                    "name": "@everyone",
                    "permissions": MEMBER_PERMISSIONS,
                    "position": 0,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": False,
                    "flags": 0,
                }
            ],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "joined_at": "2025-01-01T00:00:00+00:00",
            "large": False,
            "member_count": 3,
            "voice_states": [],
            "members": [self._member(self.bot)],
            "channels": guild.channels,
            "threads": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "preferred_locale": "en-US",
            "premium_tier": 0,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
        }
        if unavailable is not None:
            payload["unavailable"] = unavailable
        return payload

    async def _resume(self, socket: web.WebSocketResponse, data: JSON) -> GatewaySession | None:
        session = next(
            (s for s in self.sessions.values() if s.session_id == data.get("session_id")), None
        )
        token = data.get("token")
        if session is None or (token != TOKEN and token not in self.other_bots):
            await socket.send_str(json.dumps({"op": 9, "d": False}))  # start over
            return None
        session.socket = socket
        session.resumes += 1
        last = data.get("seq") or 0
        seen = [f for seq, f in session.history if seq <= last and f["t"] == "INTERACTION_CREATE"]
        again = seen[-self.replay_seen :] if self.replay_seen else []
        self.replay_seen = 0
        for frame in again + [f for seq, f in session.history if seq > last]:
            await socket.send_str(json.dumps(frame))
        key = next(k for k, s in self.sessions.items() if s is session)
        await self.dispatch("RESUMED", {}, shard=key)
        return session

    # -- REST --------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.Response:
        self.arrived_ns = time.perf_counter_ns()
        path = "/" + request.match_info["tail"]
        body: Any = None
        uploads: list[Upload] = []
        if request.content_type == "multipart/form-data":
            body, uploads = await _multipart(request)
        elif request.can_read_body:
            raw = await request.read()
            body = json.loads(raw) if raw else None
        record = Recorded(
            request.method, path, dict(request.query), body, dict(request.headers), uploads
        )
        record.arrived_ns = self.arrived_ns
        self.requests.append(record)
        self._uploaded = uploads
        try:
            response = self._respond(request.method, path, body, dict(request.query), uploads)
            self._touch()
            for method, pattern, seconds in self.slow:
                if method == request.method and pattern.fullmatch(path):
                    await asyncio.sleep(seconds)
            record.answered_ns = time.perf_counter_ns()
            return response
        finally:
            self._touch()

    def _respond(
        self, method: str, path: str, body: Any, query: dict[str, str], uploads: list[Upload]
    ) -> web.Response:
        if any(len(upload.data) > MAX_UPLOAD_BYTES for upload in uploads):
            return _json({"message": "Request entity too large", "code": 40005}, 413)
        refused = payload_errors(method, path, body, files=bool(uploads))
        if refused is not None:
            return _json(refused, 400)
        failure = self._failure_for(method, path)
        if failure is not None and not failure.keep:
            return _json(failure.body, failure.status, failure.headers)
        status, answer = self._route(method, path, body, query)
        if failure is not None:  # the work was done, but the answer is lost
            return _json(failure.body, failure.status, failure.headers)
        if answer is None:
            return web.Response(status=204)
        return _json(answer, status)

    def _failure_for(self, method: str, path: str) -> Failure | None:
        for failure in self.failures:
            if failure.method == method and failure.path.fullmatch(path):
                if failure.times is not None:
                    failure.times -= 1
                    if failure.times <= 0:
                        self.failures.remove(failure)
                return failure
        return None

    def _route(self, method: str, path: str, body: Any, query: dict[str, str]) -> tuple[int, Any]:
        for pattern, handler_method, handler in self._routes():
            match = re.fullmatch(pattern, path)
            if match and handler_method == method:
                return handler(body, query, *match.groups())
        return 404, {"message": "404: Not Found", "code": 0}

    def _routes(self) -> Iterator[tuple[str, str, Callable[..., tuple[int, Any]]]]:
        yield r"/users/@me", "GET", lambda b, q: (200, self.bot)
        yield r"/oauth2/applications/@me", "GET", lambda b, q: (200, self._application())
        yield r"/gateway/bot", "GET", lambda b, q: (200, self._gateway_bot())
        yield r"/gateway", "GET", lambda b, q: (200, {"url": self.gateway_url})
        yield r"/applications/(\d+)/commands", "PUT", self._sync_global
        yield r"/applications/(\d+)/guilds/(\d+)/commands", "PUT", self._sync_guild
        yield r"/users/@me/channels", "POST", self._open_dm
        yield r"/channels/(\d+)/messages", "POST", self._create_message
        yield r"/channels/(\d+)/messages/(\d+)", "PATCH", self._edit_message
        yield r"/interactions/(\d+)/([^/]+)/callback", "POST", self._callback
        yield r"/webhooks/(\d+)/([^/]+)", "POST", self._followup
        yield r"/webhooks/(\d+)/([^/]+)/messages/@original", "PATCH", self._edit_original

    def _application(self) -> JSON:
        return {
            "id": self.application_id,
            "name": "mentorbot",
            "icon": None,
            "description": "",
            "rpc_origins": [],
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": user_object(snowflake(), "owner"),
            "verify_key": "0" * 64,
            "flags": 0,
            "team": None,
            "interactions_endpoint_url": None,
            "bot": self.bot,
        }

    def _gateway_bot(self) -> JSON:
        return {
            "url": self.gateway_url,
            "shards": self.shard_count,
            "session_start_limit": {
                "total": 1000,
                "remaining": 999,
                "reset_after": 0,
                "max_concurrency": 1,
            },
        }

    def _sync(self, scope: str | None, commands: list[JSON]) -> tuple[int, Any]:
        synced = []
        for command in commands:
            entry = {
                **command,
                "id": snowflake(),
                "application_id": self.application_id,
                "version": snowflake(),
                "default_member_permissions": command.get("default_member_permissions"),
                "type": command.get("type", 1),
                "description": command.get("description", ""),
                "nsfw": command.get("nsfw", False),
            }
            if scope is not None:
                entry["guild_id"] = scope
            synced.append(entry)
        self.commands[scope] = synced
        return 200, synced

    def _sync_global(self, body: Any, query: dict[str, str], app: str) -> tuple[int, Any]:
        return self._sync(None, body)

    def _sync_guild(
        self, body: Any, query: dict[str, str], app: str, guild: str
    ) -> tuple[int, Any]:
        return self._sync(guild, body)

    def _open_dm(self, body: Any, query: dict[str, str]) -> tuple[int, Any]:
        user_id = str(body["recipient_id"])
        if user_id not in self.users:
            return 400, {"message": "Unknown User", "code": 10013}
        return 200, self.channels[self.dm_channel(user_id)]

    def dm_channel(self, user_id: str) -> str:
        if user_id not in self.dm_channels:
            channel_id = snowflake()
            self.dm_channels[user_id] = channel_id
            self._recipients[channel_id] = user_id
            self.channels[channel_id] = {
                "id": channel_id,
                "type": 1,
                "last_message_id": None,
                "recipients": [self.users[user_id]],
                "flags": 0,
            }
            self.messages[channel_id] = []
        return self.dm_channels[user_id]

    def _create_message(self, body: Any, query: dict[str, str], channel_id: str) -> tuple[int, Any]:
        channel = self.channels.get(channel_id)
        if channel is None:
            return 404, {"message": "Unknown Channel", "code": 10003}
        if channel["type"] == 1 and self._recipients[channel_id] in self.closed_dms:
            return 403, {"message": "Cannot send messages to this user", "code": 50007}
        nonce = body.get("nonce")
        if nonce is not None and body.get("enforce_nonce") and nonce in self._nonces:
            return 200, self._nonces[nonce]
        message = self._message(channel_id, body)
        message["attachments"] = self._attach(body, self._uploaded)
        if nonce is not None:
            message["nonce"] = nonce
            self._nonces[str(nonce)] = message
        self.messages[channel_id].append(message)
        if channel["type"] == 1 and 0 in self.sessions:
            # Discord tells the bot about its own DMs too (the DM_MESSAGES intent).
            self._later(self.dispatch("MESSAGE_CREATE", message, shard=0))
        return 200, message

    def _message(self, channel_id: str, body: JSON, *, flags: int = 0) -> JSON:
        return {
            "id": snowflake(),
            "channel_id": channel_id,
            "author": self.bot,
            "content": body.get("content", ""),
            "timestamp": now_iso(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": body.get("embeds", []),
            "components": body.get("components", []),
            "pinned": False,
            "type": 0,
            "flags": flags | int(body.get("flags", 0)),
        }

    def _attach(self, body: JSON, uploads: list[Upload]) -> list[JSON]:
        """The message's attachments: each ``files[n]`` part under the id ``payload_json``
        gave it (``attachments: [{"id": n, ...}]``), as Discord reports them."""
        declared = {str(a.get("id")): a for a in body.get("attachments") or []}
        attached = []
        for upload in uploads:
            index = upload.part.removeprefix("files[").removesuffix("]")
            attachment_id = snowflake()
            self.attachments[attachment_id] = upload
            url = f"http://127.0.0.1:{self.port}/attachments/{attachment_id}/{upload.filename}"
            attached.append(
                {
                    "id": attachment_id,
                    "filename": declared.get(index, {}).get("filename", upload.filename),
                    "size": len(upload.data),
                    "url": url,
                    "proxy_url": url,
                    "content_type": upload.content_type,
                }
            )
        return attached

    def _edit_message(
        self, body: Any, query: dict[str, str], channel_id: str, message_id: str
    ) -> tuple[int, Any]:
        for message in self.messages.get(channel_id, []):
            if message["id"] == message_id:
                _apply_edit(message, body)
                return 200, message
        return 404, {"message": "Unknown Message", "code": 10008}

    def _callback(
        self, body: Any, query: dict[str, str], interaction_id: str, token: str
    ) -> tuple[int, Any]:
        record = self.interactions.get(interaction_id)
        if record is None or record.payload["token"] != token:
            return 404, {"message": "Unknown interaction", "code": 10062}
        if record.callbacks:
            return 400, {"message": "Interaction has already been acknowledged.", "code": 40060}
        record.callbacks.append(body)
        record.answered_ns = self.arrived_ns
        if body["type"] in (4, 7, 9):
            record.shown_ns = self.arrived_ns
        kind = body["type"]
        data = body.get("data") or {}
        message: JSON | None = None
        if kind == 4:
            message = self._message(record.payload["channel"]["id"], data)
            record.original = message
        elif kind == 6 and "message" in record.payload:
            record.original = record.payload["message"]
        elif kind == 5:
            record.original = self._message(record.payload["channel"]["id"], {"content": ""})
        elif kind == 7:
            clicked = record.payload["message"]
            self._edit_anywhere(clicked["id"], data)
            record.original = clicked
        if query.get("with_response") in ("1", "true", "True"):
            answer: JSON = {
                "interaction": {
                    "id": interaction_id,
                    "type": record.payload["type"],
                    "response_message_id": message["id"] if message else None,
                    "response_message_loading": kind == 5,
                    "response_message_ephemeral": bool(int(data.get("flags", 0)) & 64),
                }
            }
            if message is not None:
                answer["resource"] = {"type": kind, "message": message}
            return 200, answer
        return 204, None

    def _edit_anywhere(self, message_id: str, body: JSON) -> None:
        for channel in self.messages.values():
            for message in channel:
                if message["id"] == message_id:
                    _apply_edit(message, body)
        for record in self.interactions.values():
            for message in record.messages:
                if message["id"] == message_id:
                    _apply_edit(message, body)

    def _followup(self, body: Any, query: dict[str, str], app: str, token: str) -> tuple[int, Any]:
        record = self._by_token.get(token)
        if record is None or not record.callbacks:
            return 404, {"message": "Unknown Webhook", "code": 10015}
        message = self._message(record.payload["channel"]["id"], body)
        record.followups.append(message)
        record.shown_ns = record.shown_ns or self.arrived_ns
        return 200, message

    def _edit_original(
        self, body: Any, query: dict[str, str], app: str, token: str
    ) -> tuple[int, Any]:
        record = self._by_token.get(token)
        if record is None or record.original is None:
            return 404, {"message": "Unknown Message", "code": 10008}
        record.shown_ns = record.shown_ns or self.arrived_ns
        if record.callbacks and record.callbacks[0]["type"] == 6:
            clicked = record.payload["message"]
            self._edit_anywhere(clicked["id"], body)
        else:
            _apply_edit(record.original, body)
        return 200, record.original


async def _multipart(request: web.Request) -> tuple[JSON, list[Upload]]:
    """A multipart message create: the JSON of ``payload_json`` and the ``files[n]``."""
    body: JSON = {}
    uploads: list[Upload] = []
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        assert isinstance(part, BodyPartReader)
        data = await part.read()
        if part.name == "payload_json":
            body = json.loads(data)
        elif part.name is not None and re.fullmatch(r"files\[\d+\]", part.name):
            content_type = part.headers.get(hdrs.CONTENT_TYPE, "application/octet-stream")
            uploads.append(Upload(part.name, part.filename or "", content_type, bytes(data)))
    return body, uploads


def _apply_edit(message: JSON, body: JSON) -> None:
    for key in ("content", "embeds", "components"):
        if key in body:
            message[key] = body[key]
    message["edited_timestamp"] = now_iso()


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # Exactly "application/json": with a charset discord.py reads the body as text.
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={**(headers or {}), "Content-Type": "application/json"},
    )
