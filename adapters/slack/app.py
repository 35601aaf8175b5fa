"""The Slack adapter: a slack-bolt ``AsyncApp`` that turns Slack's requests into core
events, asks the Engine, and carries out the effects.

HTTP mode serves ``/slack/events`` on ``PORT`` (aiohttp); Socket Mode connects out with
``SLACK_APP_TOKEN``. Both feed the same listeners. In HTTP mode the signature is checked
on the raw bytes before anything parses them (``signature.py``): what Slack did not sign
gets 401 (400 for a broken timestamp) and one throttled log line a minute; what Slack
signed but Bolt or ``translate`` cannot read gets 400 and a warning.

Acknowledging: Slack wants an answer to a slash command or an interaction within 3 s.
Each request's work (the ``users.info`` look-up on first contact, then the Engine's
transaction) runs as a task; if it finishes within ``ack_budget_seconds`` (2 s), the
ack carries the answer (the ephemeral reply to a slash command, the closing of a modal),
so a crash before the commit shows the person an error instead of losing their words.
If it does not, the ack goes out anyway ("one moment") and the answer follows through
the ``response_url`` or a DM when the work is done. In HTTP mode the budget counts from
the request's arrival (the route's first line), not from when Bolt runs the listener: in
a burst a request can wait in the event loop behind others, and that wait is part of
Slack's 3 s too. Bolt runs with
``process_before_response=True``: the listener returns the ack itself, without Bolt's
10 ms polling, and the work after the ack is in tasks this adapter tracks, so ``stop``
waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import traceback
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar, assert_never

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient as AiohttpSocketModeClient

from adapters.files import MIB, names, not_sent, within_limit
from adapters.logs import Throttled
from adapters.net import listen
from adapters.slack import render, translate
from adapters.slack.body import SignedRequest
from adapters.slack.manifest import EVENTS_PATH
from adapters.slack.profiles import Profiles
from adapters.slack.sender import SlackSender, UploadFailed, slack_error, web_client
from adapters.slack.signature import is_ssl_check, unsigned
from adapters.slack.translate import HomeAction, HomeForm, NotForUs, Origin
from bot.content import Button, ButtonStyle, Content, Form, FormField, FormFieldKind
from bot.delivery import DeliveryFailure
from bot.effects import (
    Attachment,
    Effect,
    OpenForm,
    PostToChannel,
    ReplyEphemeral,
    SendDM,
    SendFiles,
    UpdateMessage,
)
from bot.engine import SORRY, Engine
from bot.events import CommandInvoked, Event, WorkspaceAdded
from bot.refs import Platform, UserRef, WorkspaceRef
from bot.settings import Settings
from bot.text import TEXT_MAX_CHARS

log = logging.getLogger(__name__)


class _NotTheTokenNote(logging.Filter):
    """Bolt reads ``SLACK_BOT_TOKEN`` from the environment itself and, given our client
    (which has that token), warns at every start that the token "will be unused": true,
    harmless, and alarming in an operator's log. Only that one line is dropped."""

    _note = warning_client_prioritized_and_token_skipped()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != self._note


# The logger Bolt's AsyncApp logs its own notes to (``slack_bolt.logger.get_bolt_logger``).
logging.getLogger("slack_bolt.AsyncApp").addFilter(_NotTheTokenNote())

T = TypeVar("T")

WORKING = "⏳ One moment: I'm still on it, and I'll answer here when it's done."
FORM_TOO_LATE = (
    "Slack gave me too little time to open that form. Press the button again, "
    "or reply here in a message instead."
)
HOME_BUTTONS = (
    Button("Share a win", f"{translate.HOME_PREFIX}win", ButtonStyle.PRIMARY),
    Button("Ask for feedback", f"{translate.HOME_PREFIX}feedback"),
    Button("Check in now", f"{translate.HOME_PREFIX}checkin"),
    Button("Help", f"{translate.HOME_PREFIX}help"),
    Button("Refresh", f"{translate.HOME_PREFIX}refresh"),
)
HOME_FORMS = {
    "win": Form(
        f"{translate.HOME_PREFIX}win",
        "Share a win",
        (FormField("win", "What went well?", FormFieldKind.LONG_TEXT, True, TEXT_MAX_CHARS),),
        submit_label="Share",
    ),
    "feedback": Form(
        f"{translate.HOME_PREFIX}feedback",
        "Ask for feedback",
        (
            FormField(
                "question",
                "Your question for your mentor (one thing, and what you want to know)",
                FormFieldKind.LONG_TEXT,
                True,
                TEXT_MAX_CHARS,
            ),
        ),
        submit_label="Ask",
    ),
}
# Slack takes files up to 1 GB; what the bot makes (an export, a chart) is far smaller,
# so anything past this is refused with a sentence rather than uploaded for minutes.
MAX_FILE_BYTES = 100 * MIB

# What reading a payload of a shape Slack never sends can raise (in Bolt or translate).
UNEXPECTED_SHAPE = (ValueError, TypeError, AttributeError, LookupError)

# Where ``_http`` notes, in Bolt's context, when the request arrived (the event loop's
# clock): the ack budget counts from there.
ARRIVED = "mentorbot_arrived"

# What the Home tab shows, each part the answer of one command.
HOME_PARTS = ("status", "journal", "feedback list")


class SlackStartError(RuntimeError):
    """The adapter cannot start (a refused token, a missing secret, Slack unreachable);
    the message says what to fix and never contains a token. ``configuration``: the
    settings are what to fix (all but an unreachable Slack), which `mentorbot run` says
    with its exit code 2."""

    def __init__(self, message: str, *, configuration: bool = True) -> None:
        super().__init__(message)
        self.configuration = configuration


class SlackAdapter:
    """Slack for mentorbot. ``await start()`` checks the token (``auth.test``), then
    serves HTTP or connects Socket Mode; ``await stop()`` lets the work in flight
    finish. ``sender`` is the outbox's Slack end for the delivery worker."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        host: str = "0.0.0.0",
        port: int | None = None,
        ack_budget_seconds: float = 2.0,
        profile_ttl_seconds: float = 3600.0,
        max_file_bytes: int = MAX_FILE_BYTES,
        server: web.Application | None = None,
    ) -> None:
        if settings.slack_bot_token is None:
            raise SlackStartError("SLACK_BOT_TOKEN is not set")
        self._settings = settings
        self._engine = engine
        self._host = host
        self._port = settings.port if port is None else port
        self._budget = ack_budget_seconds
        self._max_file_bytes = max_file_bytes
        self._socket_mode = settings.slack_app_token is not None
        if not self._socket_mode and settings.slack_signing_secret is None:
            raise SlackStartError(
                "SLACK_SIGNING_SECRET is not set: HTTP mode needs it to verify Slack's "
                "requests (or set SLACK_APP_TOKEN for Socket Mode)"
            )
        self.client = web_client(
            settings.slack_bot_token.get_secret_value(), settings.slack_api_url
        )
        self.sender = SlackSender(self.client)
        self._profiles = Profiles(self.client, ttl_seconds=profile_ttl_seconds)
        secret = settings.slack_signing_secret
        self.app = AsyncApp(
            name="mentorbot",
            client=self.client,
            signing_secret=secret.get_secret_value() if secret else "",
            process_before_response=True,
            request_verification_enabled=not self._socket_mode,
        )
        self._register()
        self.app.error(self._on_error)
        self._secret = secret.get_secret_value().encode() if secret else b""
        self._refused = Throttled(log, "Slack: refused unsigned or malformed requests")
        # Given the process's HTTP application (the ops server on PORT), HTTP mode serves
        # its route there, on the one port, instead of listening itself.
        self._shared_server = server is not None
        if server is not None and not self._socket_mode:
            server.router.add_post(EVENTS_PATH, self._http)
        self._signed_in = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self.team_id: str | None = None
        self.bot_user_id: str | None = None
        self.port: int | None = None

    # -- start and stop ---------------------------------------------------------------------

    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:
            await self.stop(grace_seconds=0)  # nothing half-started is left behind
            raise

    async def _start(self) -> None:
        await self._check_token()
        assert self.team_id is not None
        # The token works, so the app is installed: delivery there may go on (again).
        await self._engine.workspace_changed(
            WorkspaceAdded(WorkspaceRef(Platform.SLACK, self.team_id))
        )
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        # The Web API calls share it too: without a session of its own, slack_sdk opens
        # one per call, a new connection (a TLS handshake with Slack) for every message.
        self.client.session = self._session
        if self._socket_mode:
            token = self._settings.slack_app_token
            assert token is not None
            self._socket = AsyncSocketModeHandler(self.app, token.get_secret_value())
            try:
                await self._socket.connect_async()  # type: ignore[no-untyped-call]
            except SlackApiError as error:
                code, _, _ = slack_error(error)
                raise SlackStartError(
                    f"Slack refused SLACK_APP_TOKEN ({code}): use the app-level token "
                    "(xapp-…) with the connections:write scope"
                ) from None
            log.info("Slack: connected in Socket Mode")
            return
        if self._shared_server:
            log.info("Slack: serving %s on the ops server's port", EVENTS_PATH)
            return
        server = web.Application()
        server.router.add_post(EVENTS_PATH, self._http)
        self._runner = web.AppRunner(server, access_log=None)
        await self._runner.setup()
        listening = listen(self._host, self._port, SlackStartError)
        await web.SockSite(self._runner, listening).start()
        self.port = int(listening.getsockname()[1])
        log.info("Slack: listening on %s:%s%s", self._host, self.port, EVENTS_PATH)

    async def _check_token(self) -> None:
        try:
            response = await self.client.auth_test()
        except SlackApiError as error:
            code, _, _ = slack_error(error)
            raise SlackStartError(
                f"Slack refused SLACK_BOT_TOKEN ({code}): copy the Bot User OAuth Token "
                "(xoxb-…) from your app's OAuth & Permissions page"
            ) from None
        except (TimeoutError, aiohttp.ClientError) as error:
            raise SlackStartError(
                f"could not reach Slack at {self._settings.slack_api_url} ({type(error).__name__})",
                configuration=False,
            ) from None
        self.team_id = str(response.get("team_id") or "")
        self.bot_user_id = str(response.get("user_id") or "")
        if not self.team_id:
            raise SlackStartError("auth.test named no team: is SLACK_BOT_TOKEN a bot token?")
        self._signed_in = True
        log.info("Slack: signed in to team %s as %s", self.team_id, self.bot_user_id)

    @property
    def connected(self) -> bool:
        """``auth.test`` succeeded and, in Socket Mode, the websocket is up (/healthz)."""
        if not self._signed_in:
            return False
        if not self._socket_mode:
            return True
        client = self._socket.client if self._socket is not None else None
        if not isinstance(client, AiohttpSocketModeClient):
            return False
        session = client.current_session
        return not client.closed and session is not None and not session.closed

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Stop taking requests, let the work in flight finish (within the grace)."""
        self._signed_in = False
        if self._socket is not None:
            with contextlib.suppress(Exception):
                await self._socket.close_async()  # type: ignore[no-untyped-call]
            self._socket = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.drain(grace_seconds)
        if self._session is not None:
            # Anything sent after this (the delivery worker's last pass) gets a session
            # of its own per call again.
            self.client.session = None
            await self._session.close()
            self._session = None

    async def drain(self, grace_seconds: float = 10.0) -> None:
        """Wait until the work after the acks is done (tests use it too)."""
        deadline = asyncio.get_running_loop().time() + grace_seconds
        while self._tasks:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                log.warning("Slack: %d tasks still running at stop", len(self._tasks))
                return
            await asyncio.wait(set(self._tasks), timeout=left)

    # -- requests ---------------------------------------------------------------------------

    async def _http(self, request: web.Request) -> web.Response:
        """The signature is checked on the raw bytes before anything parses them: an
        unsigned or malformed request gets 401/400 and at most one throttled log line.
        A signed request of a shape we cannot read (not UTF-8, not the JSON or form it
        claims, a string where an object belongs) gets 400 and a warning."""
        arrived = asyncio.get_running_loop().time()
        raw = await request.read()
        why = unsigned(self._secret, raw, request.headers, time.time())
        if why is not None and is_ssl_check(raw):
            return web.Response(status=200)
        if why is not None:
            self._refused.note(why)
            return web.Response(status=why.status, text=why.value)
        try:
            bolt_request = SignedRequest(
                raw.decode("utf-8"),
                content_type=request.content_type,
                query=request.query_string,
                headers=request.headers,  # type: ignore[arg-type]
                context={ARRIVED: arrived},
            )
            response = await self.app.async_dispatch(bolt_request)
        except UNEXPECTED_SHAPE as error:
            response = await self._on_error(error)
        return await to_aiohttp_response(response)

    async def _on_error(self, error: Exception) -> BoltResponse:
        """What Bolt or a listener raised. On a signed request of an unexpected shape
        (reading it raised one of ``UNEXPECTED_SHAPE``): 400 and a warning naming where,
        instead of Bolt's 500 and traceback. Anything else is a bug: 500 and the
        traceback, as Bolt would."""
        if isinstance(error, UNEXPECTED_SHAPE):
            log.warning(
                "Slack: a signed request of an unexpected shape (%s); answered 400",
                _where(error),
            )
            return BoltResponse(status=400, body="unexpected request")
        log.error("Slack: handling a request failed", exc_info=error)
        return BoltResponse(status=500, body="")

    def _register(self) -> None:
        everything = re.compile(r".*", re.DOTALL)
        self.app.command(re.compile(r"^/"))(self._on_command)
        self.app.action(everything)(self._on_action)
        self.app.view_submission(everything)(self._on_view)
        self.app.event("message")(self._on_message)
        self.app.event("app_home_opened")(self._on_home_opened)
        self.app.event("app_uninstalled")(self._on_removed)
        self.app.event("tokens_revoked")(self._on_removed)

    def _spawn(self, work: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _within_budget(
        self, task: asyncio.Task[T], context: AsyncBoltContext | None = None
    ) -> T | None:
        """The task's result if it is done within what is left of the ack budget: counted
        from the request's arrival when ``_http`` noted it (HTTP mode), else from now."""
        left = self._budget
        arrived = context.get(ARRIVED) if context is not None else None
        if isinstance(arrived, float):
            left -= asyncio.get_running_loop().time() - arrived
        if left <= 0:
            return task.result() if task.done() else None
        done, _ = await asyncio.wait({task}, timeout=left)
        return task.result() if task in done else None

    async def _on_command(
        self, ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        try:
            event, origin = translate.slash_command(body)
        except ValueError as error:
            log.warning("Slack: a slash command without %s", error)
            await ack()
            return
        work = self._spawn(self._handle(event, origin))
        effects = await self._within_budget(work, context)
        if effects is None:
            await ack(render.ephemeral(Content(WORKING)))
            self._spawn(self._finish(work, origin))
            return
        answer = next(
            (e for e in effects if isinstance(e, ReplyEphemeral) and e.to == origin.user), None
        )
        reply = answer.content if answer else _files_note(effects, origin)
        # A reply too long for one message: the ack carries the first part.
        parts = render.ephemerals(reply) if reply else []
        await ack(parts[0] if parts else "")
        rest = [e for e in effects if e is not answer]
        if len(parts) > 1 or rest:
            self._spawn(self._after_ack(parts[1:], rest, origin))

    async def _after_ack(
        self, parts: list[dict[str, Any]], rest: list[Effect], origin: Origin
    ) -> None:
        """The rest of a long reply (in order, through the ``response_url``), then the
        other effects."""
        for body in parts:
            if origin.response_url is not None:
                await self._respond(origin.response_url, body)
        await self._perform_all(rest, origin)

    async def _on_action(
        self, ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        try:
            clicked, origin = translate.block_action(body)
        except ValueError as error:
            log.warning("Slack: a button press without %s", error)
            await ack()
            return
        if isinstance(clicked, HomeAction):
            await ack()
            self._spawn(self._home_action(clicked, origin))
            return
        await self._answer(ack, self._spawn(self._handle(clicked, origin)), origin, context)

    async def _on_view(
        self, ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        view = body.get("view")
        errors = translate.form_errors(view if isinstance(view, dict) else {})
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        try:
            submitted, origin = translate.view_submission(body)
        except ValueError as error:
            log.warning("Slack: a form submission without %s", error)
            await ack()
            return
        if isinstance(submitted, HomeForm):
            command = _home_command(submitted, origin)
            if command is None:
                await ack()
                return
            work = self._spawn(self._handle(command, origin, refresh_home=True))
        else:
            work = self._spawn(self._handle(submitted, origin))
        await self._answer(ack, work, origin, context)

    async def _answer(
        self,
        ack: AsyncAck,
        work: asyncio.Task[list[Effect]],
        origin: Origin,
        context: AsyncBoltContext,
    ) -> None:
        """Ack once the work is done (or the budget is spent), then carry out the rest."""
        effects = await self._within_budget(work, context)
        await ack()
        if effects is None:
            self._spawn(self._finish(work, origin))
        elif effects:
            self._spawn(self._perform_all(effects, origin))

    async def _on_message(self, body: dict[str, Any], context: AsyncBoltContext) -> None:
        try:
            message, origin = translate.direct_message(body)
        except NotForUs:
            return
        except ValueError as error:
            log.warning("Slack: a message event without %s", error)
            return
        work = self._spawn(self._handle(message, origin))
        effects = await self._within_budget(work, context)
        if effects is None:
            self._spawn(self._finish(work, origin))
        elif effects:
            self._spawn(self._perform_all(effects, origin))

    async def _on_home_opened(self, body: dict[str, Any]) -> None:
        try:
            origin = translate.home_opened(body)
        except (NotForUs, ValueError):
            return
        self._spawn(self._publish_home(origin))

    async def _on_removed(self, body: dict[str, Any], context: AsyncBoltContext) -> None:
        try:
            removed = translate.workspace_removed(body)
        except (NotForUs, ValueError):
            return
        log.warning(
            "Slack: team %s removed the app; delivery there stops",
            removed.workspace.workspace_id,
        )
        await self._within_budget(self._spawn(self._engine.workspace_changed(removed)), context)

    # -- the work ---------------------------------------------------------------------------

    async def _handle(
        self, event: Event, origin: Origin, *, refresh_home: bool = False
    ) -> list[Effect]:
        """The person's profile (cached), then the Engine. Never raises: a bug shows the
        person the core's "sorry" rather than a Slack error."""
        try:
            person = await self._profiles.get(origin.team_id, origin.user_id)
            event = replace(
                event,
                user_name=person.name,
                user_timezone=person.timezone,
                user_is_admin=person.is_admin,
            )
            effects = await self._engine.handle(event)
        except Exception:
            log.exception("Slack: handling %s failed", type(event).__name__)
            return [ReplyEphemeral(origin.user, Content(SORRY))]
        if refresh_home:
            self._spawn(self._publish_home(origin))
        return effects

    async def _finish(self, work: asyncio.Task[list[Effect]], origin: Origin) -> None:
        """The answer of work that outlasted the ack."""
        await self._perform_all(await work, origin)

    async def _perform_all(self, effects: list[Effect], origin: Origin) -> None:
        for effect in effects:
            try:
                await self.perform(effect, origin)
            except (SlackApiError, DeliveryFailure, TimeoutError, aiohttp.ClientError) as error:
                reason = error.reason if isinstance(error, DeliveryFailure) else repr(error)
                log.warning("Slack: could not carry out %s: %s", type(effect).__name__, reason)

    async def perform(self, effect: Effect, origin: Origin) -> None:
        """Carry out one effect, answering where the person acted."""
        match effect:
            case ReplyEphemeral(to, content):
                await self._reply(to, content, origin)
            case SendDM(to, content, _):
                await self.sender.post(to.user_id, content, dm=True)
            case PostToChannel(channel, content, _):
                await self.sender.post(channel.channel_id, content, dm=False)
            case OpenForm(to, form):
                await self._open_form(to, form, origin)
            case UpdateMessage(to, message_id, content):
                await self._update(to, message_id, content, origin)
            case SendFiles(to, content, files):
                await self._send_files(to, content, files, origin)
            case _:
                assert_never(effect)

    async def _reply(self, to: UserRef, content: Content, origin: Origin) -> None:
        """Where the person acted: in their DM with the bot (or from the Home tab or a
        modal) the answer is a DM; in a channel it is ephemeral, through the
        ``response_url`` (which works where the bot is not a member)."""
        if origin.private or to.user_id != origin.user_id:
            await self.sender.post(to.user_id, content, dm=True)
        elif origin.response_url is not None:
            for body in render.ephemerals(content):
                await self._respond(origin.response_url, {**body, "replace_original": False})
        elif origin.channel_id is not None:
            for body in render.messages(content):
                await self.client.chat_postEphemeral(
                    channel=origin.channel_id, user=to.user_id, **body
                )
        else:
            await self.sender.post(to.user_id, content, dm=True)

    async def _send_files(
        self, to: UserRef, content: Content, files: tuple[Attachment, ...], origin: Origin
    ) -> None:
        """Upload the files into the person's DM with the bot. Never raises: a file too
        big, or an upload Slack refused, is told to the person where they acted."""
        fitting, said = within_limit(files, self._max_file_bytes, "Slack")
        notices = list(said)
        if fitting:
            try:
                await self.sender.upload(to.user_id, content, fitting)
            except UploadFailed as failure:
                notices.append(not_sent(fitting, failure.reason))
        if not notices:
            return
        try:
            await self._reply(to, Content("\n".join(notices)), origin)
        except (SlackApiError, DeliveryFailure, TimeoutError, aiohttp.ClientError) as error:
            reason = error.reason if isinstance(error, DeliveryFailure) else type(error).__name__
            log.warning("Slack: could not say why files were not sent: %s", reason)

    async def _update(self, to: UserRef, message_id: str, content: Content, origin: Origin) -> None:
        here = (
            translate.message_id(origin.channel_id, origin.message_ts)
            if origin.channel_id and origin.message_ts
            else None
        )
        if origin.is_ephemeral and origin.response_url is not None and message_id == here:
            # Ephemeral messages cannot be edited with chat.update; their response_url can.
            await self._respond(
                origin.response_url, render.ephemeral(content, replace_original=True)
            )
            return
        where = translate.parse_message_id(message_id)
        if where is None:
            await self._reply(to, content, origin)
            return
        channel, ts = where
        await self.client.chat_update(channel=channel, ts=ts, **render.message(content))

    async def _open_form(self, to: UserRef, form: Form, origin: Origin) -> None:
        if origin.trigger_id is None:
            await self.sender.post(to.user_id, Content(FORM_TOO_LATE), dm=True)
            return
        try:
            await self.client.views_open(trigger_id=origin.trigger_id, view=render.modal(form))
        except SlackApiError as error:
            code, _, _ = slack_error(error)
            if code not in ("expired_trigger_id", "invalid_trigger_id", "exchanged_trigger_id"):
                raise
            await self.sender.post(to.user_id, Content(FORM_TOO_LATE), dm=True)

    async def _respond(self, url: str, body: dict[str, Any]) -> None:
        if self._session is None:
            raise RuntimeError("the Slack adapter is not started")
        async with self._session.post(url, json=body) as response:
            if response.status >= 400:
                log.warning("Slack: response_url answered HTTP %s", response.status)

    # -- App Home ---------------------------------------------------------------------------

    async def _home_action(self, action: HomeAction, origin: Origin) -> None:
        form = HOME_FORMS.get(action.name)
        if form is not None:
            await self._perform_all([OpenForm(origin.user, form)], origin)
            return
        text = {"checkin": "checkin", "help": "help"}.get(action.name)
        if text is None:
            await self._publish_home(origin)
            return
        command = CommandInvoked(
            user=origin.user,
            command="mentor",
            text=text,
            event_key=translate.event_key("home", origin.trigger_id),
        )
        await self._perform_all(await self._handle(command, origin, refresh_home=True), origin)

    async def _publish_home(self, origin: Origin) -> None:
        """The Home tab, built from the answers of ``/mentor status``, ``journal`` and
        ``feedback list``: the person's pairs with the next check-in in their local time,
        the streak and open feedback, then their recent wins and feedback."""
        parts: list[Content] = []
        for text in HOME_PARTS:
            command = CommandInvoked(user=origin.user, command="mentor", text=text)
            for effect in await self._handle(command, origin):
                if isinstance(effect, ReplyEphemeral | UpdateMessage):
                    parts.append(replace(effect.content, buttons=()))
        try:
            await self.client.views_publish(
                user_id=origin.user_id, view=render.home(parts, HOME_BUTTONS)
            )
        except SlackApiError as error:
            log.warning("Slack: views.publish failed: %s", slack_error(error)[0])


def _where(error: BaseException) -> str:
    """The error's type and the innermost line it came from: enough to find a shape
    Bolt or translate does not expect, without logging the payload."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return type(error).__name__
    last = frames[-1]
    return f"{type(error).__name__} at {Path(last.filename).name}:{last.lineno}"


def _files_note(effects: list[Effect], origin: Origin) -> Content | None:
    """The ack of a slash command typed in a channel whose answer is files: say where
    they are going (they arrive in the DM, not where the command was typed)."""
    sending = next((e for e in effects if isinstance(e, SendFiles) and e.to == origin.user), None)
    if sending is None or origin.private or not sending.files:
        return None
    return Content(f"📎 I'm sending {names(sending.files)} to our DM.")


def _home_command(form: HomeForm, origin: Origin) -> CommandInvoked | None:
    key = translate.event_key("home", origin.trigger_id)
    match form.name:
        case "win":
            text = form.values.get("win", "")
            return CommandInvoked(user=origin.user, command="win", text=text, event_key=key)
        case "feedback":
            text = "feedback " + form.values.get("question", "")
            return CommandInvoked(user=origin.user, command="mentor", text=text, event_key=key)
        case _:
            return None


OnStarted = Callable[["SlackAdapter"], Awaitable[None]]


async def run_slack(
    settings: Settings, engine: Engine, *, on_started: OnStarted | None = None
) -> None:
    """Run until cancelled: start, call ``on_started`` (e.g. to start the delivery worker
    with ``adapter.sender``), serve, and stop cleanly when the task is cancelled."""
    adapter = SlackAdapter(settings, engine)
    await adapter.start()
    try:
        if on_started is not None:
            await on_started(adapter)
        await asyncio.Event().wait()
    finally:
        await adapter.stop()
