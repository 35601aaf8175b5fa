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

from typing import Any, Protocol

import discord


class ClientHooks(Protocol):
    async def setup(self) -> None: ...

    async def interaction(self, interaction: discord.Interaction) -> None: ...

    async def message(self, message: discord.Message) -> None: ...

    async def guild_joined(self, guild: discord.Guild) -> None: ...

    async def guild_removed(self, guild: discord.Guild) -> None: ...


def intents() -> discord.Intents:
    chosen = discord.Intents.none()
    chosen.guilds = True
    chosen.dm_messages = True
    return chosen


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

    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self._mentor.guild_joined(guild)

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        await self._mentor.guild_removed(guild)


class MentorClient(_Events, discord.Client):
    def __init__(self, hooks: ClientHooks, **options: Any) -> None:
        super().__init__(intents=intents(), **options)
        self._mentor = hooks


class ShardedMentorClient(_Events, discord.AutoShardedClient):
    def __init__(self, hooks: ClientHooks, **options: Any) -> None:
        super().__init__(intents=intents(), **options)
        self._mentor = hooks
