"""The outbox's Discord end: DMs and channel posts over REST, Discord's refusals mapped
to the core's failure classes.

Each outbox message carries its id as the message ``nonce`` with ``enforce_nonce``: if
Discord took a message but the answer never reached us (a timeout, a crash before the
outbox row was marked sent), the retry gets the message created the first time back
instead of posting it twice. A DM channel is opened once per person and remembered.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from datetime import timedelta
from typing import Any, Literal, assert_never

import aiohttp
import discord
from discord.http import HTTPClient, Route

from adapters.discord import render
from bot.delivery import DeliveryFailure, FailureScope
from bot.effects import PostToChannel, SendDM

log = logging.getLogger(__name__)

# Discord's JSON error codes that say something is unreachable for good.
UNKNOWN_CHANNEL = 10003
UNKNOWN_USER = 10013
MISSING_ACCESS = 50001
CANNOT_DM_USER = 50007
MISSING_PERMISSIONS = 50013
NO_MUTUAL_GUILDS = 50278
OPENING_DMS_TOO_FAST = 40003

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


def nonce(outbox_id: int, part: int) -> str:
    """At most 25 characters, unique per outbox message and part."""
    return f"mb{outbox_id}" if part == 0 else f"mb{outbox_id}.{part}"


class DiscordSender:
    """Implements :class:`bot.delivery.Sender` for Discord."""

    def __init__(self, http: HTTPClient, *, timeout: float = 30.0) -> None:
        self._http = http
        self._timeout = timeout
        self._dm_channels: OrderedDict[str, str] = OrderedDict()
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
                        self._dm_channels.pop(to.user_id, None)  # opened again next time
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

    async def post(self, channel_id: str, payload: render.JsonObject) -> Any:
        """One message, no nonce (answers in a DM conversation)."""
        route = Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id)
        return await self._http.request(route, json=payload)

    async def dm_channel(self, user_id: str) -> str:
        """The DM channel with ``user_id``: opened once, then remembered. Callers asking
        at the same moment share one request."""
        known = self._dm_channels.get(user_id)
        if known is not None:
            self._dm_channels.move_to_end(user_id)
            return known
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
        self._dm_channels[user_id] = channel_id
        if len(self._dm_channels) > DM_CHANNELS_KEPT:
            self._dm_channels.popitem(last=False)
        return channel_id

    async def _post(
        self, channel_id: str, payloads: list[render.JsonObject], outbox_id: int | None
    ) -> None:
        for part, payload in enumerate(payloads):
            if outbox_id is not None:
                payload = {**payload, "nonce": nonce(outbox_id, part), "enforce_nonce": True}
            await self.post(channel_id, payload)
