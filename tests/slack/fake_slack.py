"""A local stand-in for Slack, on loopback: the Web API (``/api/<method>``), the
``response_url`` webhooks (``/respond/<id>``), the file upload URLs that
``files.getUploadURLExternal`` hands out (``/upload/<file id>``) and the Socket Mode
websocket (``/link``).

Every call is recorded with its method and arguments, so a test can say what Slack
received. Failures are scripted per method and channel (``fail(...)``), including a 429
with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
TEAM = "T0001"
BOT_USER = "U0BOT"

# Slack's message limits, enforced as Slack does (Block Kit reference,
# https://api.slack.com/reference/block-kit; chat.postMessage's reference). slack_sdk's
# models check most single-block limits; the rest are checked here.
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
SECTION_TEXT_CHARS = 3000
FIELD_TEXT_CHARS = 2000
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
BUTTON_TEXT_CHARS = 75
SELECT_OPTIONS = 100
OPTION_TEXT_CHARS = 75
OPTION_VALUE_CHARS = 150
VIEW_TITLE_CHARS = 24
# chat.postMessage: ``msg_too_long`` past 40,000 characters of ``text``.
MESSAGE_TEXT_CHARS = 40_000
# ``msg_blocks_too_long`` past about 12,000 characters of text across a message's blocks
# (not in Slack's reference: bolt-js issues #2509 and #2867).
MESSAGE_BLOCK_TEXT_CHARS = 12_000


def _block_text(value: Any) -> int:
    if isinstance(value, dict):
        return sum(
            len(v) if k == "text" and isinstance(v, str) else _block_text(v)
            for k, v in value.items()
        )
    if isinstance(value, list):
        return sum(_block_text(item) for item in value)
    return 0


def _block_problem(block: Any) -> str | None:
    """What Slack would refuse in one block (None: nothing)."""
    if not isinstance(block, dict):
        return "a block is not an object"
    try:
        parsed = Block.parse(block)
        if parsed is None:
            return f"unknown block type {block.get('type')!r}"
        parsed.validate_json()
    except (SlackObjectFormationError, KeyError, TypeError, ValueError) as error:
        return str(error)
    kind = block.get("type")
    if kind == "section":
        text = (block.get("text") or {}).get("text", "")
        if len(text) > SECTION_TEXT_CHARS:
            return "section text over 3000"
        if any(len(f.get("text", "")) > FIELD_TEXT_CHARS for f in block.get("fields", [])):
            return "field text over 2000"
    if kind == "context" and len(block.get("elements", [])) > CONTEXT_ELEMENTS:
        return "context over 10 elements"
    if kind == "actions":
        elements = block.get("elements", [])
        if len(elements) > ACTIONS_ELEMENTS:
            return "actions over 25 elements"
        for element in elements:
            button = element.get("type") == "button"
            if button and len(element["text"]["text"]) > BUTTON_TEXT_CHARS:
                return "button text over 75"
            if element.get("type") == "static_select":
                options = element.get("options", [])
                if not 1 <= len(options) <= SELECT_OPTIONS:
                    return "static_select needs 1 to 100 options"
                for option in options:
                    if len(option["text"]["text"]) > OPTION_TEXT_CHARS:
                        return "option text over 75"
                    if len(option["value"]) > OPTION_VALUE_CHARS:
                        return "option value over 150"
    return None


def _action_ids(blocks: list[Any]) -> list[str]:
    return [
        str(element["action_id"])
        for block in blocks
        if isinstance(block, dict) and block.get("type") == "actions"
        for element in block.get("elements", [])
        if "action_id" in element
    ]


def message_error(args: Mapping[str, Any]) -> str | None:
    """The error Slack answers a message with (chat.postMessage, chat.update,
    chat.postEphemeral, a response_url post), or None when it takes it."""
    blocks = args.get("blocks")
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except ValueError:
            return "invalid_blocks_format"
    text = str(args.get("text") or "")
    if not blocks and not text.strip():
        return "no_text"
    if len(text) > MESSAGE_TEXT_CHARS:
        return "msg_too_long"
    if not blocks:
        return None
    if not isinstance(blocks, list) or len(blocks) > MESSAGE_BLOCKS:
        return "invalid_blocks"
    if any(_block_problem(block) for block in blocks):
        return "invalid_blocks"
    ids = _action_ids(blocks)
    if len(ids) != len(set(ids)):
        return "invalid_blocks"  # action ids must be unique in a message
    if _block_text(blocks) > MESSAGE_BLOCK_TEXT_CHARS:
        return "msg_blocks_too_long"
    return None


def view_error(view: Any) -> str | None:
    """What Slack says of a modal or Home tab (views.open, views.publish), or None."""
    if isinstance(view, str):
        view = json.loads(view)
    if not isinstance(view, dict):
        return "invalid_arguments"
    blocks = view.get("blocks") or []
    if len(blocks) > VIEW_BLOCKS or any(_block_problem(block) for block in blocks):
        return "invalid_arguments"
    for key in ("title", "submit", "close"):
        if key in view and len(view[key].get("text", "")) > VIEW_TITLE_CHARS:
            return "invalid_arguments"
    try:
        View(**view).validate_json()
    except (SlackObjectFormationError, TypeError, ValueError):
        return "invalid_arguments"
    ids = _action_ids(blocks)
    return "invalid_arguments" if len(ids) != len(set(ids)) else None


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    # What the fake answered (a posted message's ``channel`` and ``ts``).
    result: dict[str, Any] = field(default_factory=dict)
    # The caller's end of the TCP connection the call came over (host, port).
    peer: tuple[str, int] | None = None


@dataclass
class Failure:
    method: str
    error: str
    channel: str | None = None
    status: int = 200
    retry_after: int | None = None
    times: int = 1


@dataclass
class Person:
    name: str
    tz: str = "UTC"
    is_admin: bool = False


@dataclass
class Upload:
    """A file as ``files_upload_v2`` sends it: announced (``files.getUploadURLExternal``),
    its bytes POSTed to the upload URL, then shared (``files.completeUploadExternal``)."""

    id: str
    filename: str
    length: int
    data: bytes | None = None
    title: str | None = None
    channel: str | None = None
    initial_comment: str | None = None


@dataclass
class FakeSlack:
    users: dict[str, Person] = field(default_factory=dict)
    # Who anyone not in ``users`` is (None: users.info says user_not_found).
    everyone: Person | None = None
    calls: list[Call] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    uploads: dict[str, Upload] = field(default_factory=dict)
    port: int = 0
    _runner: web.AppRunner | None = None
    _socket: web.WebSocketResponse | None = None
    _acks: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    _connected: asyncio.Event = field(default_factory=asyncio.Event)
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # -- running ----------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    async def start(self) -> None:
        # Uploads of several MB reach the fake's upload URL (aiohttp's default is 1 MB).
        app = web.Application(client_max_size=256 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/respond/{hook}", self._respond)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/link", self._link)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        listening = socket.create_server(("127.0.0.1", 0))
        listening.setblocking(False)
        await web.SockSite(self._runner, listening).start()
        self.port = int(listening.getsockname()[1])

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def response_url(self) -> str:
        return f"{self.url}/respond/{uuid.uuid4().hex[:12]}"

    def fail(
        self,
        method: str,
        error: str,
        *,
        channel: str | None = None,
        status: int = 200,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        self.failures.append(Failure(method, error, channel, status, retry_after, times))

    # -- what was received ------------------------------------------------------------

    def called(self, method: str) -> list[dict[str, Any]]:
        return [c.args for c in self.calls if c.method == method]

    def posts_to(self, channel: str) -> list[dict[str, Any]]:
        """The messages delivered to a channel or user id (refused attempts left out)."""
        return [
            c.args
            for c in self.calls
            if c.method == "chat.postMessage"
            and c.args.get("channel") == channel
            and c.result.get("ok")
        ]

    def texts_to(self, channel: str) -> list[str]:
        return [str(args.get("text", "")) for args in self.posts_to(channel)]

    def responses(self) -> list[dict[str, Any]]:
        return self.called("response_url")

    def shared_files(self, channel: str) -> list[Upload]:
        """The files shared into a channel (a DM's id), in the order they were shared."""
        return [u for u in self.uploads.values() if u.channel == channel]

    # -- the Web API ------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        raw = await request.text()
        if raw and request.content_type == "application/json":
            args |= json.loads(raw)
        elif raw:
            args |= dict(parse_qsl(raw))
        peer = request.transport.get_extra_info("peername") if request.transport else None
        call = Call(method, args, peer=tuple(peer) if peer else None)
        self.calls.append(call)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        expected = APP_TOKEN if method == "apps.connections.open" else BOT_TOKEN
        if token != expected:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        failure = self._failure(method, args)
        if failure is not None:
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after else {}
            return web.json_response(
                {"ok": False, "error": failure.error}, status=failure.status, headers=headers
            )
        refused = self._refused(method, args)
        if refused is not None:
            return web.json_response({"ok": False, "error": refused})
        call.result = self._answer(method, args)
        return web.json_response(call.result)

    @staticmethod
    def _refused(method: str, args: Mapping[str, Any]) -> str | None:
        """Payloads Slack would refuse, refused the same way."""
        if method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            return message_error(args)
        if method in ("views.open", "views.publish", "views.update", "views.push"):
            return view_error(args.get("view"))
        return None

    def _failure(self, method: str, args: Mapping[str, Any]) -> Failure | None:
        for failure in self.failures:
            if failure.method != method or failure.times <= 0:
                continue
            if failure.channel is not None and args.get("channel") != failure.channel:
                continue
            failure.times -= 1
            return failure
        return None

    def _answer(self, method: str, args: Mapping[str, Any]) -> dict[str, Any]:
        ts = f"1700000{next(self._ts):03d}.000100"
        match method:
            case "auth.test":
                return {
                    "ok": True,
                    "url": "https://example.slack.com/",
                    "team": "Example",
                    "user": "mentorbot",
                    "team_id": TEAM,
                    "user_id": BOT_USER,
                    "bot_id": "B0BOT",
                    "is_enterprise_install": False,
                }
            case "chat.postMessage" if not _valid_metadata(args.get("metadata")):
                return {"ok": False, "error": "invalid_metadata_format"}
            case "conversations.history":
                return self._history(args)
            case "chat.postMessage":
                channel = str(args.get("channel", ""))
                # Posting to a user id opens the DM: Slack answers with the DM's id.
                im = "D" + channel[1:] if channel.startswith("U") else channel
                return {"ok": True, "channel": im, "ts": ts, "message": {"ts": ts}}
            case "chat.postEphemeral":
                return {"ok": True, "message_ts": ts}
            case "chat.update":
                return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts")}
            case "views.open" | "views.publish":
                return {"ok": True, "view": {"id": f"V{ts}", **dict(args.get("view") or {})}}
            case "users.info":
                person = self.users.get(str(args.get("user")), self.everyone)
                if person is None:
                    return {"ok": False, "error": "user_not_found"}
                user_id = str(args["user"])
                return {
                    "ok": True,
                    "user": {
                        "id": user_id,
                        "team_id": TEAM,
                        "name": person.name.lower(),
                        "real_name": person.name,
                        "tz": person.tz,
                        "is_admin": person.is_admin,
                        "is_owner": False,
                        "profile": {"real_name": person.name, "display_name": person.name},
                    },
                }
            case "conversations.open":
                user = str(args.get("users", "")).split(",")[0]
                return {"ok": True, "channel": {"id": "D" + user[1:]}}
            case "files.getUploadURLExternal":
                return self._announce(args)
            case "files.completeUploadExternal":
                return self._complete(args)
            case "apps.connections.open":
                return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/link"}
            case _:
                return {"ok": True}

    def _history(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """conversations.history: the channel's messages, newest first, up to ``limit``
        (Slack's default 100, at most 999); a message's ``metadata`` only with
        ``include_all_metadata``."""
        channel = str(args.get("channel", ""))
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        limit = min(int(args.get("limit") or 100), 999)
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        messages = []
        for call in reversed(self.calls):
            if call.method != "chat.postMessage" or call.result.get("channel") != channel:
                continue
            message = {"type": "message", "text": call.args.get("text", "")}
            message |= {"ts": call.result["ts"], "bot_id": "B0BOT", "user": BOT_USER}
            if with_metadata and call.args.get("metadata"):
                message["metadata"] = call.args["metadata"]
            messages.append(message)
        return {"ok": True, "messages": messages[:limit], "has_more": len(messages) > limit}

    async def _respond(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls.append(Call("response_url", {"hook": request.match_info["hook"], **body}))
        refused = message_error(body)
        if refused is not None:
            # A response_url answers 400 with the error in plain text.
            return web.Response(status=400, text=refused)
        return web.Response(text="ok")

    # -- file uploads -----------------------------------------------------------------

    def _announce(self, args: Mapping[str, Any]) -> dict[str, Any]:
        filename, length = str(args.get("filename") or ""), str(args.get("length") or "")
        if not filename or not length.isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{uuid.uuid4().hex[:10].upper()}"
        self.uploads[file_id] = Upload(file_id, filename, int(length))
        return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    async def _upload(self, request: web.Request) -> web.Response:
        """The upload URL: takes the bytes (as Slack's does, with no token)."""
        upload = self.uploads.get(request.match_info["file_id"])
        data = await request.read()
        self.calls.append(Call("upload", {"file_id": request.match_info["file_id"]}))
        failure = self._failure("upload", {})
        if failure is not None:
            return web.Response(status=failure.status, text=failure.error)
        if upload is None:
            return web.Response(status=404, text="unknown upload")
        if len(data) != upload.length:
            return web.Response(status=400, text="length does not match")
        upload.data = data
        return web.Response(text=f"OK - {len(data)}")

    def _complete(self, args: Mapping[str, Any]) -> dict[str, Any]:
        files = json.loads(str(args.get("files") or "[]"))
        channel = args.get("channel_id")
        if not files or not channel:
            return {"ok": False, "error": "invalid_arguments"}
        shared = []
        for item in files:
            upload = self.uploads.get(str(item.get("id")))
            if upload is None or upload.data is None:
                return {"ok": False, "error": "file_not_found"}
            upload.title = item.get("title")
            upload.channel = str(channel)
            upload.initial_comment = args.get("initial_comment")
            shared.append({"id": upload.id, "name": upload.filename, "title": upload.title})
        return {"ok": True, "files": shared}

    # -- Socket Mode ------------------------------------------------------------------

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        link = web.WebSocketResponse()
        await link.prepare(request)
        self._socket = link
        await link.send_json(
            {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A123456"}}
        )
        self._connected.set()
        async for message in link:
            if message.type != WSMsgType.TEXT:
                continue
            ack = json.loads(message.data)
            waiting = self._acks.pop(str(ack.get("envelope_id")), None)
            if waiting is not None and not waiting.done():
                waiting.set_result(ack)
        return link

    async def envelope(self, kind: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Send one Socket Mode envelope and wait for the app's ack of it."""
        await asyncio.wait_for(self._connected.wait(), 5)
        assert self._socket is not None
        envelope_id = uuid.uuid4().hex
        answered: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = answered
        await self._socket.send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": dict(payload),
                "accepts_response_payload": kind != "events_api",
                "retry_attempt": 0,
                "retry_reason": "",
            }
        )
        return await asyncio.wait_for(answered, 5)


def _valid_metadata(metadata: Any) -> bool:
    """chat.postMessage ``metadata``: absent, or an object with a string ``event_type``
    and an object ``event_payload`` (Slack's message metadata format)."""
    if metadata is None:
        return True
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except ValueError:
            return False
    return (
        isinstance(metadata, dict)
        and isinstance(metadata.get("event_type"), str)
        and isinstance(metadata.get("event_payload"), dict)
    )
