"""The Discord adapter: runs the discord.py client, turns what arrives into core events,
and carries out what the core answers.

Interactions (slash commands, button clicks, modal submits) get their first answer
within Discord's 3 seconds: straight from the core's effects when the core is done in
time (it nearly always is), else a defer first and the answers as follow-ups. DM
replies become ``MessageReceived``. DMs and channel posts that the core queues in the
outbox go out through :attr:`DiscordAdapter.sender`, called by the delivery worker.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any, assert_never

import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord import render, translate
from adapters.discord.client import MentorClient, ShardedMentorClient
from adapters.discord.command_tree import MAX_CHOICES, build_tree, goal_choice
from adapters.discord.dm_routes import DmRoutes
from adapters.discord.forms import PendingForms
from adapters.discord.invite import missing_permissions
from adapters.discord.responder import InteractionResponder, combine_replies, open_form_prompt
from adapters.discord.sender import DiscordSender
from adapters.discord.sign_in import why_stopped
from adapters.discord.translate import Call, FormPartRequested, FormPartSubmitted, Refusal
from bot.content import Content
from bot.effects import (
    Effect,
    OpenForm,
    PostToChannel,
    ReplyEphemeral,
    SendDM,
    SendFiles,
    UpdateMessage,
)
from bot.engine import Engine
from bot.events import CommandInvoked, Event, FormSubmitted, WorkspaceAdded, WorkspaceRemoved
from bot.refs import Platform, UserRef
from bot.settings import Settings
from bot.storage.database import Database
from bot.text import channel_mention_id
from scheduler.delivery_worker import wakes_held

log = logging.getLogger(__name__)

SetupCallback = Callable[[], Awaitable[None] | None]

# Answer straight away when the core is done within this; else defer, then follow up.
# (0: slash commands are deferred at once, and answered by a followup.)
DEFER_AFTER_SECONDS = 2.0
INTERACTIONS_REMEMBERED = 10_000
ANSWERED = frozenset(
    {
        discord.InteractionType.application_command,
        discord.InteractionType.component,
        discord.InteractionType.modal_submit,
    }
)
SHOUTOUTS = ["config", "shoutouts"]

FORM_EXPIRED = (
    "That form was open too long (or I restarted since), so I no longer have it. Open it "
    "again with the button on the message it came from; nothing was saved yet."
)
UNKNOWN_DM = (
    "Hi! I work inside your server: try `/mentor help` there. Once you're in a mentoring "
    "pair, you can answer my check-in questions right here."
)


class DiscordAdapter:
    """The entry point for the composition root; see ``adapters/discord/__init__.py``."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        database: Database,
        *,
        on_setup: SetupCallback | None = None,
        sharded: bool = False,
        shard_count: int | None = None,
        defer_after: float = DEFER_AFTER_SECONDS,
        send_timeout: float = 45.0,
        guild_ready_timeout: float = 2.0,
        max_ratelimit_timeout: float = 30.0,
    ) -> None:
        if settings.discord_bot_token is None:
            raise ValueError("DISCORD_BOT_TOKEN is not set")
        self._token = settings.discord_bot_token
        self._guild_id = settings.discord_guild_id
        self._api_url = settings.discord_api_url.rstrip("/")
        self._gateway_url = settings.discord_gateway_url
        self._engine = engine
        self._on_setup = on_setup
        self._defer_after = defer_after
        options: dict[str, Any] = {
            "guild_ready_timeout": guild_ready_timeout,
            # A 429 longer than this (discord.py's least is 30 s) is handed to the outbox
            # to retry later; a shorter one is waited out inside the request.
            "max_ratelimit_timeout": max_ratelimit_timeout,
        }
        self.client: discord.Client
        if sharded:
            self.client = ShardedMentorClient(self, shard_count=shard_count, **options)
        else:
            self.client = MentorClient(self, **options)
        self.tree = build_tree(self.client, self.answer, self.goal_choices)
        self.tree.error(self._tree_error)
        self.sender = DiscordSender(self.client.http, timeout=send_timeout)
        self._forms = PendingForms()
        self._routes = DmRoutes(database)
        self._seen: OrderedDict[int, None] = OrderedDict()

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Log in, connect, and run until :meth:`stop` (or a fatal error)."""
        # discord.py reads both when it builds a request or opens the gateway; the
        # overrides exist so tests can point the real client at a local stand-in.
        Route.BASE = self._api_url
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self._gateway_url)
        try:
            await self.client.start(self._token.get_secret_value())
        except Exception as error:
            stopped = why_stopped(error, self._api_url)
            if stopped is None:
                raise
            raise stopped from None

    async def stop(self) -> None:
        await self.client.close()

    @property
    def connected(self) -> bool:
        """Logged in, on the gateway and ready (for /healthz)."""
        return self.client.is_ready() and not self.client.is_closed()

    async def setup(self) -> None:
        """discord.py's ``setup_hook``: once per process, after login, before the gateway."""
        if self._on_setup is not None:
            started = self._on_setup()
            if inspect.isawaitable(started):
                await started
        await self._sync_commands()

    async def _sync_commands(self) -> None:
        try:
            if self._guild_id:
                guild = discord.Object(id=int(self._guild_id))
                self.tree.copy_global_to(guild=guild)
                await self.tree.sync(guild=guild)  # one server, at once
            else:
                await self.tree.sync()  # every server; Discord may take a while to show them
        except discord.HTTPException:
            log.exception("could not sync the slash commands; those synced before stay")

    # -- interactions ------------------------------------------------------------------

    async def interaction(self, interaction: discord.Interaction) -> None:
        """Slash commands, buttons and modal submits (autocomplete is the tree's)."""
        if interaction.type in ANSWERED:
            await self.answer(interaction)

    async def goal_choices(
        self, interaction: discord.Interaction, typed: str
    ) -> list[app_commands.Choice[str]]:
        """The ``milestone`` option's suggestions: the open goals of the person's pairs
        (of the one with the ``partner`` already chosen) that match what they typed."""
        if interaction.guild_id is None:
            return []  # the commands are guild-only; a DM has no workspace
        partner = getattr(interaction.namespace, "partner", None)
        partner_id = None if partner is None else str(getattr(partner, "id", partner))
        user = UserRef(Platform.DISCORD, str(interaction.guild_id), str(interaction.user.id))
        found = await self._engine.goal_choices(user, typed, partner_id, MAX_CHOICES)
        return [goal_choice(goal) for goal in found]

    async def answer(self, interaction: discord.Interaction) -> None:
        if self._repeated(interaction.id):
            return  # the gateway delivered it again (a resumed session replays events)
        # The delivery worker, woken by the Engine's commit, starts its pass once the
        # person has the answer, not on this event loop ahead of it.
        with wakes_held() as held:
            await self._answer(interaction, held.release)

    async def _answer(self, interaction: discord.Interaction, answered: Callable[[], None]) -> None:
        payload = interaction_payload(interaction)
        call = translate.call_of(payload)
        responder = InteractionResponder(
            self.client.http, call, sender=self.sender, forms=self._forms, answered=answered
        )
        translated = translate.interaction_event(payload)
        match translated:
            case None:
                return
            case Refusal(text):
                await responder.say(Content(text))
            case FormPartRequested(user, form_id, part):
                pending = self._forms.get(user.user_id, form_id)
                if pending is None:
                    await responder.say(Content(FORM_EXPIRED))
                else:
                    await responder.open_form(pending.form, part)
            case FormPartSubmitted(submitted, part, parts):
                await self._form_part(call, responder, submitted, part, parts)
            case _:
                await self._run(translated, responder)

    async def _form_part(
        self,
        call: Call,
        responder: InteractionResponder,
        submitted: FormSubmitted,
        part: int,
        parts: int,
    ) -> None:
        try:
            pending = self._forms.add_values(call.user_id, submitted.form_id, submitted.values)
        except KeyError:
            await responder.say(Content(FORM_EXPIRED))
            return
        if part < parts:
            text = f"Got part {part} of {parts}. Nothing is saved until the last part."
            await responder.say(open_form_prompt(pending.form, part + 1, parts, text))
            return
        await self._run(replace(submitted, values=dict(pending.values)), responder)

    async def _run(self, event: Event, responder: InteractionResponder) -> None:
        if self._defer_after <= 0 and isinstance(event, CommandInvoked):
            # Configured to say "thinking…" at once. Only for slash commands: a click may
            # open a form, and a modal can only be the first answer.
            await responder.defer()
            effects = await self._engine.handle(event)
        else:
            effects = await self._handle_in_time(event, responder)
        if isinstance(event, FormSubmitted):
            finished = self._forms.pop(event.user.user_id, event.form_id)
            if finished is not None:  # notes that waited while the form was open
                effects = [ReplyEphemeral(event.user, n) for n in finished.notes] + effects
        effects += self._channel_check(event, effects)
        for effect in combine_replies(effects):
            await responder.perform(effect)
        await responder.finish()

    async def _handle_in_time(self, event: Event, responder: InteractionResponder) -> list[Effect]:
        """The Engine's effects; when it takes longer than the wait, a defer goes out
        meanwhile. The Engine runs in this task (no task and wait of its own for the
        usual, quick case), the defer in one started by a timer."""
        wait = self._defer_after if self._defer_after > 0 else DEFER_AFTER_SECONDS
        deferring: list[asyncio.Task[None]] = []
        timer = asyncio.get_running_loop().call_later(
            wait, lambda: deferring.append(asyncio.ensure_future(responder.defer()))
        )
        try:
            effects = await self._engine.handle(event)
        finally:
            timer.cancel()
        if deferring:
            await deferring[0]  # its state (deferred) decides how the answers go out
        return effects

    def _channel_check(self, event: Event, effects: Sequence[Effect]) -> list[Effect]:
        """When an admin picks a shout-out channel, say at once if the bot can't post
        there (the core explains it too, but only when a shout-out fails)."""
        words = event.text.split() if isinstance(event, CommandInvoked) else []
        channel_id = (
            channel_mention_id(words[2]) if words[:2] == SHOUTOUTS and len(words) == 3 else None
        )
        taken = channel_id is not None and any(
            isinstance(e, ReplyEphemeral) and f"<#{channel_id}>" in e.content.text for e in effects
        )
        if channel_id is None or not taken:
            return []
        channel = self.client.get_channel(int(channel_id))
        if not isinstance(channel, discord.abc.GuildChannel) or channel.guild.me is None:
            return []
        missing = missing_permissions(channel.permissions_for(channel.guild.me))
        if not missing:
            return []
        note = (
            f"Heads-up: I can't post in <#{channel_id}> yet; I'm missing "
            f"{', '.join(missing)} there. Until someone gives me those, shout-outs there "
            "will fail and I'll celebrate in DMs instead."
        )
        return [ReplyEphemeral(event.user, Content(note))]

    def _repeated(self, interaction_id: int) -> bool:
        if interaction_id in self._seen:
            return True
        self._seen[interaction_id] = None
        if len(self._seen) > INTERACTIONS_REMEMBERED:
            self._seen.popitem(last=False)
        return False

    async def _tree_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """A command the tree could not match or convert (registered by an older
        version, a member it could not resolve): answer it from the raw payload."""
        if isinstance(error, app_commands.CommandInvokeError):
            log.error("answering a slash command failed", exc_info=error.original)
            return
        # The kind only: a conversion error's text quotes what the person typed.
        log.warning("slash command answered from the raw payload: %s", type(error).__name__)
        await self.answer(interaction)

    # -- direct messages ---------------------------------------------------------------

    async def message(self, message: discord.Message) -> None:
        if message.guild is not None or message.author.bot:
            return
        with wakes_held():  # as for an interaction: the reply first, then the worker
            await self._message(message)

    async def message_edited(self, update: discord.RawMessageUpdateEvent) -> None:
        """A DM its author edited: the core tells them the edit was not read. Discord
        sends MESSAGE_UPDATE for its own changes too (an embed added: no new
        ``edited_timestamp``, so the same key as the last edit; never edited: none)."""
        message = update.message
        if message.guild is not None or message.author.bot or message.edited_at is None:
            return
        before = update.cached_message
        if before is not None and before.content == message.content:
            return  # edited, the words the same (an attachment removed)
        with wakes_held():
            await self._message(message)

    async def _message(self, message: discord.Message) -> None:
        channel_id = str(message.channel.id)
        user_id = str(message.author.id)
        workspace_id = await self._routes.workspace_for(user_id)
        if workspace_id is None:
            await self._post_plain(channel_id, Content(UNKNOWN_DM), "")
            return
        event = translate.dm_message_event(message_payload(message), workspace_id)
        if event is None:
            return
        for effect in await self._engine.handle(event):
            await self._perform_in_dm(effect, channel_id, workspace_id)

    async def _perform_in_dm(self, effect: Effect, channel_id: str, workspace_id: str) -> None:
        """Answers to a DM are messages in that DM (there is no interaction to answer)."""
        match effect:
            case ReplyEphemeral(_, content):
                await self._post_plain(channel_id, content, workspace_id)
            case UpdateMessage(_, message_id, content):
                route = Route(
                    "PATCH",
                    "/channels/{channel_id}/messages/{message_id}",
                    channel_id=channel_id,
                    message_id=message_id,
                )
                payload = render.update(content, workspace_id, card=True)
                await self.client.http.request(route, json=payload)
            case OpenForm(to, form):
                self._forms.keep(to.user_id, form)
                await self._post_plain(channel_id, open_form_prompt(form, 1, 1), workspace_id)
            case SendDM() | PostToChannel():
                await self.sender.perform(effect)
            case SendFiles():
                notices = await self.sender.deliver_files(effect)
                if notices:
                    await self._say_in_dm(channel_id, Content("\n".join(notices)), workspace_id)
            case _:
                assert_never(effect)

    async def _say_in_dm(self, channel_id: str, content: Content, workspace_id: str) -> None:
        """A note that may not arrive either (closed DMs): logged, never raised."""
        try:
            await self._post_plain(channel_id, content, workspace_id)
        except discord.HTTPException as error:
            log.warning("Discord: a note in a DM failed: %s %s", error.status, error.code)

    async def _post_plain(self, channel_id: str, content: Content, workspace_id: str) -> None:
        for payload in render.messages(content, workspace_id, render.Style.PLAIN):
            await self.sender.post(channel_id, payload)

    # -- servers -----------------------------------------------------------------------

    async def guild_joined(self, guild: discord.Guild) -> None:
        await self._engine.workspace_changed(WorkspaceAdded(translate.workspace(guild.id)))

    async def guild_removed(self, guild: discord.Guild) -> None:
        await self._engine.workspace_changed(WorkspaceRemoved(translate.workspace(guild.id)))


def interaction_payload(interaction: discord.Interaction) -> dict[str, Any]:
    """The parts of the INTERACTION_CREATE payload the adapter reads, in Discord's shape
    (discord.py keeps ``data`` as it came; the rest it parsed into objects)."""
    user = interaction.user
    who = {"id": str(user.id), "username": user.name, "global_name": user.global_name}
    payload: dict[str, Any] = {
        "id": str(interaction.id),
        "application_id": str(interaction.application_id),
        "type": interaction.type.value,
        "token": interaction.token,
        "data": interaction.data or {},
    }
    if interaction.channel_id is not None:
        payload["channel"] = {"id": str(interaction.channel_id)}
    if interaction.guild_id is not None:
        payload["guild_id"] = str(interaction.guild_id)
    if isinstance(user, discord.Member):
        payload["member"] = {
            "user": who,
            "nick": user.nick,
            "permissions": str(interaction.permissions.value),
        }
    else:
        payload["user"] = who
    if interaction.message is not None:
        payload["message"] = {
            "id": str(interaction.message.id),
            "embeds": [{} for _ in interaction.message.embeds],
        }
    return payload


def message_payload(message: discord.Message) -> dict[str, Any]:
    author = message.author
    return {
        "id": str(message.id),
        "channel_id": str(message.channel.id),
        "content": message.content,
        "edited_timestamp": message.edited_at.isoformat() if message.edited_at else None,
        "author": {
            "id": str(author.id),
            "username": author.name,
            "global_name": author.global_name,
            "bot": author.bot,
        },
    }


__all__ = ["DiscordAdapter", "SetupCallback"]
