"""The outbox's Discord end: DMs and channel posts over REST, Discord's refusals mapped
to the core's failure classes.

Each outbox message carries its id as the message ``nonce`` with ``enforce_nonce``: if
Discord took a message but the answer never reached us (a timeout, a crash before the
outbox row was marked sent), the retry gets the message created the first time back
instead of posting it twice. A DM channel is opened once per person and remembered.

Files (an export, a stats chart) skip the outbox: they go at once, as attachments of a
DM message (multipart/form-data: ``payload_json`` plus ``files[n]``, through
discord.py's own HTTP client, which keeps to the rate limits), and what went wrong is
said in words for the person who asked for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any, Literal, assert_never

import aiohttp
import discord
from discord.http import HTTPClient, Route

from adapters.discord import render
from adapters.files import MIB, not_sent, within_limit
from bot.delivery import DeliveryFailure, FailureScope
from bot.effects import Attachment, PostToChannel, SendDM, SendFiles

log = logging.getLogger(__name__)

# Discord's JSON error codes that say something is unreachable for good.
UNKNOWN_CHANNEL = 10003
UNKNOWN_USER = 10013
MISSING_ACCESS = 50001
CANNOT_DM_USER = 50007
MISSING_PERMISSIONS = 50013
NO_MUTUAL_GUILDS = 50278
OPENING_DMS_TOO_FAST = 40003
REQUEST_TOO_LARGE = 40005

RECIPIENT_GONE = {
    CANNOT_DM_USER: "their DMs are closed to me",
    NO_MUTUAL_GUILDS: "we no longer share a server",
    UNKNOWN_USER: "Discord doesn't know this user",
}
CHANNEL_GONE = {
    UNKNOWN_CHANNEL: "the channel no longer exists",
    MISSING_ACCESS: "I can't see the channel",
    MISSING_PERMISSIONS: "I'm missing the permission to post there: I need View Channel, "
    "Send Messages and Embed Links",
}
# Why files did not arrive, in words for the person who asked for them.
FILE_ERRORS = {
    CANNOT_DM_USER: "your DMs are closed to me: allow direct messages from server members "
    "(the server's Privacy Settings) and ask again",
    NO_MUTUAL_GUILDS: "we no longer share a server",
    UNKNOWN_CHANNEL: "our DM was gone; ask again and I'll open a new one",
    REQUEST_TOO_LARGE: "Discord said they are too big to send",
}
# What Discord takes from a bot in a server without boosts: 10 MiB, 10 files a message.
MAX_FILE_BYTES = 10 * MIB
FILES_PER_MESSAGE = 10
# Retry-After when Discord (or Cloudflare) gives none we can read.
DEFAULT_RETRY_AFTER = timedelta(seconds=60)
DM_CHANNELS_KEPT = 50_000

Target = Literal["dm", "channel"]


def delivery_failure(error: Exception, target: Target) -> DeliveryFailure:
    """What a failed Discord request means for the outbox."""
    if isinstance(error, discord.RateLimited):
        return DeliveryFailure(
            "rate limited", permanent=False, retry_after=timedelta(seconds=error.retry_after)
        )
    if isinstance(error, TimeoutError | aiohttp.ClientError | OSError):
        return DeliveryFailure(f"network: {type(error).__name__}", permanent=False)
    if not isinstance(error, discord.HTTPException):
        return DeliveryFailure(type(error).__name__, permanent=False)
    code, status = error.code, error.status
    if status == 401:
        return DeliveryFailure(
            "the bot token was refused (401)", permanent=True, scope=FailureScope.WORKSPACE
        )
    if status == 429:  # not Discord's own 429 (no Via header): Cloudflare, wait longer
        return DeliveryFailure("rate limited", permanent=False, retry_after=DEFAULT_RETRY_AFTER)
    if target == "dm" and code in RECIPIENT_GONE:
        return DeliveryFailure(
            f"{RECIPIENT_GONE[code]} ({code})", permanent=True, scope=FailureScope.RECIPIENT
        )
    if target == "dm" and code == UNKNOWN_CHANNEL:
        return DeliveryFailure("the DM channel was gone; opening it again", permanent=False)
    if target == "dm" and code in (MISSING_ACCESS, MISSING_PERMISSIONS):
        return DeliveryFailure(
            f"Discord refused the DM ({code})", permanent=True, scope=FailureScope.RECIPIENT
        )
    if target == "channel" and code in CHANNEL_GONE:
        return DeliveryFailure(
            f"{CHANNEL_GONE[code]} ({code})", permanent=True, scope=FailureScope.CHANNEL
        )
    if code == OPENING_DMS_TOO_FAST:
        return DeliveryFailure("opening DMs too fast (40003)", permanent=False)
    if status >= 500:
        return DeliveryFailure(f"Discord server error {status}", permanent=False)
    # Any other 4xx is about this message (malformed, too long): retrying won't help.
    return DeliveryFailure(f"refused: {status} {code} {error.text[:120]}", permanent=True)


class FilesNotSent(Exception):
    """Files Discord did not take; ``reason`` is a sentence for the person."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def files_failure(error: Exception) -> FilesNotSent:
    """A failed file message in plain words (pure)."""
    if isinstance(error, discord.RateLimited):
        return FilesNotSent("Discord asked me to slow down; try again in a minute")
    if isinstance(error, TimeoutError | aiohttp.ClientError | OSError):
        return FilesNotSent("I couldn't reach Discord; try again in a few minutes")
    if not isinstance(error, discord.HTTPException):
        return FilesNotSent("something went wrong on my side; try again in a few minutes")
    if error.code in FILE_ERRORS:
        return FilesNotSent(FILE_ERRORS[error.code])
    if error.status == 413:
        return FilesNotSent(FILE_ERRORS[REQUEST_TOO_LARGE])
    if error.status == 429:
        return FilesNotSent("Discord asked me to slow down; try again in a minute")
    if error.status >= 500:
        return FilesNotSent("Discord is having trouble right now; try again in a few minutes")
    return FilesNotSent(f"Discord refused them ({error.status}, code {error.code})")


def file_messages(
    files: Sequence[Attachment], limit: int = MAX_FILE_BYTES, per_message: int = FILES_PER_MESSAGE
) -> list[list[Attachment]]:
    """The files grouped into messages, in order: at most ``per_message`` files and
    ``limit`` bytes in each (every file is at most ``limit`` on its own)."""
    groups: list[list[Attachment]] = []
    size = 0
    for file in files:
        if not groups or len(groups[-1]) == per_message or size + len(file.data) > limit:
            groups.append([])
            size = 0
        groups[-1].append(file)
        size += len(file.data)
    return groups


def snowflake(discord_id: str) -> int | None:
    """A Discord ID as the integer it is (a snowflake: at most 64 bits, sent as a string
    of digits), or None for anything else, which is then not kept."""
    if not (discord_id.isascii() and discord_id.isdigit()) or len(discord_id) > 20:
        return None
    number = int(discord_id)
    return number if number < 1 << 64 else None


def nonce(outbox_id: int, part: int) -> str:
    """At most 25 characters, unique per outbox message and part."""
    return f"mb{outbox_id}" if part == 0 else f"mb{outbox_id}.{part}"


class DiscordSender:
    """Implements :class:`bot.delivery.Sender` for Discord."""

    def __init__(self, http: HTTPClient, *, timeout: float = 30.0) -> None:
        self._http = http
        self._timeout = timeout
        # Each person's DM channel, by their ID, the least recently used first, at most
        # DM_CHANNELS_KEPT. Both IDs are kept as the integers Discord's snowflakes are,
        # not as their strings: ~177 bytes an entry instead of ~227 (bench/README.md,
        # ``bench_profile_cache --cache dm-channels``). An OrderedDict: a plain dict
        # would be smaller, but finding its oldest entry means stepping over every one
        # deleted before it since the dict last grew (``adapters/slack/profiles.py``).
        self._dm_channels: OrderedDict[int, int] = OrderedDict()
        self._opening: dict[str, asyncio.Future[str]] = {}

    async def perform(self, effect: SendDM | PostToChannel) -> None:
        match effect:
            case SendDM(to, content, outbox_id):
                payloads = render.messages(content, to.workspace_id, render.Style.CARD)
                try:
                    async with asyncio.timeout(self._timeout):
                        channel = await self.dm_channel(to.user_id)
                        await self._post(channel, payloads, outbox_id)
                except Exception as error:
                    if isinstance(error, discord.NotFound) and error.code == UNKNOWN_CHANNEL:
                        self._forget_dm_channel(to.user_id)  # opened again next time
                    raise delivery_failure(error, "dm") from error
            case PostToChannel(channel, content, outbox_id):
                payloads = render.messages(content, channel.workspace_id, render.Style.SHOUTOUT)
                try:
                    async with asyncio.timeout(self._timeout):
                        await self._post(channel.channel_id, payloads, outbox_id)
                except Exception as error:
                    raise delivery_failure(error, "channel") from error
            case _:
                assert_never(effect)

    async def deliver_files(self, effect: SendFiles) -> list[str]:
        """The files in a DM with the person, ``content`` as their message. Never
        raises: returns what to tell the person (nothing when everything arrived)."""
        fitting, refused = within_limit(effect.files, MAX_FILE_BYTES, "Discord")
        notices = list(refused)
        if fitting:
            to = effect.to
            payloads = render.messages(effect.content, to.workspace_id, render.Style.PLAIN)
            try:
                await self.send_files(to.user_id, payloads, fitting)
            except FilesNotSent as failure:
                notices.append(not_sent(fitting, failure.reason))
        return notices

    async def send_files(
        self, user_id: str, payloads: list[render.JsonObject], files: Sequence[Attachment]
    ) -> None:
        """The message (its last part carries the first files) and the files in the DM
        with ``user_id``; raises :class:`FilesNotSent`."""
        try:
            async with asyncio.timeout(self._timeout):
                channel = await self.dm_channel(user_id)
                for payload in payloads[:-1]:
                    await self.post(channel, payload)
                for n, group in enumerate(file_messages(files)):
                    carrier = payloads[-1] if n == 0 else {"allowed_mentions": render.NO_PINGS}
                    await self.post_files(channel, carrier, group)
        except Exception as error:
            if isinstance(error, discord.NotFound) and error.code == UNKNOWN_CHANNEL:
                self._forget_dm_channel(user_id)  # opened again next time
            status = error.status if isinstance(error, discord.HTTPException) else None
            code = error.code if isinstance(error, discord.HTTPException) else None
            log.warning(
                "Discord: %d file(s) for a DM were not sent: %s (status %s, code %s)",
                len(files),
                type(error).__name__,
                status,
                code,
            )
            raise files_failure(error) from None

    async def post_files(
        self, channel_id: str, payload: render.JsonObject, files: Sequence[Attachment]
    ) -> Any:
        """One message with ``files`` attached: ``payload_json`` names each
        ``files[n]`` part, which carries its own media type (a PNG shows inline)."""
        route = Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id)
        uploads = [discord.File(io.BytesIO(f.data), filename=f.filename) for f in files]
        body = {
            **payload,
            "attachments": [{"id": n, "filename": u.filename} for n, u in enumerate(uploads)],
        }
        form: list[dict[str, Any]] = [{"name": "payload_json", "value": json.dumps(body)}]
        form += [
            {
                "name": f"files[{n}]",
                "value": upload.fp,
                "filename": upload.filename,
                "content_type": file.media_type,
            }
            for n, (upload, file) in enumerate(zip(uploads, files, strict=True))
        ]
        try:
            # ``files``: discord.py rewinds them when it sends the request again (a 429).
            return await self._http.request(route, files=uploads, form=form)
        finally:
            for upload in uploads:
                upload.close()

    async def post(self, channel_id: str, payload: render.JsonObject) -> Any:
        """One message, no nonce (answers in a DM conversation)."""
        route = Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id)
        return await self._http.request(route, json=payload)

    async def dm_channel(self, user_id: str) -> str:
        """The DM channel with ``user_id``: opened once, then remembered. Callers asking
        at the same moment share one request."""
        key = snowflake(user_id)
        if key is not None and (known := self._dm_channels.get(key)) is not None:
            self._dm_channels.move_to_end(key)
            return str(known)
        opening = self._opening.get(user_id)
        if opening is None:
            opening = asyncio.ensure_future(self._open(user_id))
            self._opening[user_id] = opening
            opening.add_done_callback(lambda _: self._opening.pop(user_id, None))
        return await asyncio.shield(opening)

    async def _open(self, user_id: str) -> str:
        route = Route("POST", "/users/@me/channels")
        data = await self._http.request(route, json={"recipient_id": user_id})
        channel_id = str(data["id"])
        key, value = snowflake(user_id), snowflake(channel_id)
        if key is not None and value is not None:
            self._dm_channels[key] = value
            if len(self._dm_channels) > DM_CHANNELS_KEPT:
                self._dm_channels.popitem(last=False)
        return channel_id

    def _forget_dm_channel(self, user_id: str) -> None:
        key = snowflake(user_id)
        if key is not None:
            self._dm_channels.pop(key, None)

    async def _post(
        self, channel_id: str, payloads: list[render.JsonObject], outbox_id: int | None
    ) -> None:
        for part, payload in enumerate(payloads):
            if outbox_id is not None:
                payload = {**payload, "nonce": nonce(outbox_id, part), "enforce_nonce": True}
            await self.post(channel_id, payload)


@contextlib.asynccontextmanager
async def rest_sender(
    token: str, api_url: str, *, max_ratelimit_timeout: float = 30.0
) -> AsyncIterator[DiscordSender]:
    """A sender over REST alone, for ``mentorbot dispatch``: discord.py's HTTP client
    logged in with the bot token (``GET /users/@me``), no gateway connection. Raises
    :class:`discord.LoginFailure` when Discord refuses the token."""
    # discord.py reads the base URL when it builds a request; tests point it at a fake.
    Route.BASE = api_url.rstrip("/")
    http = HTTPClient(asyncio.get_running_loop(), max_ratelimit_timeout=max_ratelimit_timeout)
    try:
        await http.static_login(token)
        yield DiscordSender(http)
    finally:
        await http.close()
