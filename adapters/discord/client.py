"""The discord.py client: intents, and the events the adapter listens to.

Intents, the least that works (none of them privileged):

- ``guilds``: the guilds the bot is in and their channels. Without it the gateway sends
  no GUILD_CREATE/GUILD_DELETE, so the bot could not tell that it was added to a server
  (delivery there may start again) or removed from one (stop delivering there), and
  discord.py would know no channels for the interactions it receives.
- ``dm_messages``: replies typed in a DM answer check-ins and feedback questions. A DM's
  text arrives without the privileged message-content intent.

Not needed: ``members`` and ``presences`` (privileged; member options arrive resolved in
the interaction itself), ``message_content`` (privileged; commands are slash commands),
``guild_messages`` (the bot reads nothing in channels).

With :class:`discord.AutoShardedClient` (large bots) each shard gets its own guilds'
events, and DMs come on shard 0 only; every handler here is the same for all shards, so
the adapter does not care which shard an event came on.
"""

from __future__ import annotations

from collections.abc import Callable, Sized
from typing import Any, Protocol

import discord
from discord.http import HTTPClient


class ClientHooks(Protocol):
    async def setup(self) -> None: ...

    async def interaction(self, interaction: discord.Interaction) -> None: ...

    async def message(self, message: discord.Message) -> None: ...

    async def message_edited(self, update: discord.RawMessageUpdateEvent) -> None: ...

    async def guild_joined(self, guild: discord.Guild) -> None: ...

    async def guild_removed(self, guild: discord.Guild) -> None: ...


def intents() -> discord.Intents:
    chosen = discord.Intents.none()
    chosen.guilds = True
    chosen.dm_messages = True
    return chosen


# discord.py starts scanning its rate-limit buckets at this many (discord/http.py).
SWEEP_FROM = 256


class _AmortizedSweep:
    """discord.py keeps a rate-limit bucket per route and major parameters, so every
    interaction gets buckets of its own (its id and token are major parameters), kept
    until 300 s after their last request. Once there are 256, it scans every bucket for
    expired ones each time it adds one: at 25 interactions a second that is some 7,500
    buckets scanned per interaction (about 2 ms). This scans only when the buckets have
    doubled since the last scan: the same buckets are dropped, at a constant cost per
    bucket added, and there are never more than twice as many as are in use."""

    def __init__(self, http: HTTPClient, sweep: Callable[[], None]) -> None:
        self._buckets: Sized = getattr(http, "_buckets", ())
        self._sweep = sweep
        self._next = SWEEP_FROM

    def __call__(self) -> None:
        if len(self._buckets) >= self._next:
            self._sweep()
            self._next = max(SWEEP_FROM, 2 * len(self._buckets))


def amortize_bucket_sweeps(http: HTTPClient) -> None:
    sweep = getattr(http, "_try_clear_expired_ratelimits", None)
    if callable(sweep) and isinstance(getattr(http, "_buckets", None), dict):
        # (Left as it is if a later discord.py changed how it keeps its buckets.)
        http._try_clear_expired_ratelimits = _AmortizedSweep(http, sweep)  # type: ignore[method-assign]


class _Events:
    """The events both client classes pass on to the adapter."""

    _mentor: ClientHooks

    async def setup_hook(self) -> None:
        # Runs once, after login and before the gateway connects; on_ready runs again
        # after every reconnect, so nothing that must happen once goes there.
        await self._mentor.setup()

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        await self._mentor.interaction(interaction)

    async def on_message(self, message: discord.Message) -> None:
        await self._mentor.message(message)

    async def on_raw_message_edit(self, update: discord.RawMessageUpdateEvent) -> None:
        # (raw: ``on_message_edit`` comes only for a message still in the client's cache)
        await self._mentor.message_edited(update)

    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self._mentor.guild_joined(guild)

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        await self._mentor.guild_removed(guild)


class MentorClient(_Events, discord.Client):
    def __init__(self, hooks: ClientHooks, **options: Any) -> None:
        super().__init__(intents=intents(), **options)
        self._mentor = hooks
        amortize_bucket_sweeps(self.http)


class ShardedMentorClient(_Events, discord.AutoShardedClient):
    def __init__(self, hooks: ClientHooks, **options: Any) -> None:
        super().__init__(intents=intents(), **options)
        self._mentor = hooks
        amortize_bucket_sweeps(self.http)
