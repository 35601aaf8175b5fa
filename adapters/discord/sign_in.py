"""Why Discord would not let the bot in, in words an operator can act on: one reading
for `mentorbot run` (the gateway client) and `mentorbot dispatch` (REST alone)."""

from __future__ import annotations

import aiohttp
import discord

REFUSED_TOKEN = "put your application's bot token in it (Developer Portal → Bot → Reset Token)"
# The gateway's close code for a token it does not accept (https://discord.com/developers/
# docs/topics/opcodes-and-status-codes#gateway-gateway-close-event-codes).
AUTHENTICATION_FAILED = 4004


class DiscordStopped(RuntimeError):
    """Discord ended the run for good: discord.py retries what can be retried (a dropped
    gateway, a 5xx), so what reaches the adapter is a refused token or a Discord it could
    not reach as it signed in. The message says what to fix and never holds the token.
    ``configuration``: the settings are what to fix, which the CLI says with its exit
    code 2 (as for Slack); otherwise 1."""

    def __init__(self, message: str, *, configuration: bool = False) -> None:
        super().__init__(message)
        self.configuration = configuration

    @property
    def exit_code(self) -> int:
        return 2 if self.configuration else 1


def why_stopped(error: BaseException, api_url: str) -> DiscordStopped | None:
    """What ``error`` (raised as the bot signed in or ran) means for the operator; None
    for an error that is not Discord's (a bug, to be raised as it is)."""
    if isinstance(error, discord.LoginFailure):
        return DiscordStopped(
            f"Discord refused DISCORD_BOT_TOKEN (401): {REFUSED_TOKEN}", configuration=True
        )
    if isinstance(error, discord.ConnectionClosed):
        if error.code == AUTHENTICATION_FAILED:
            return DiscordStopped(
                f"Discord refused DISCORD_BOT_TOKEN (gateway close code {error.code}): "
                + REFUSED_TOKEN,
                configuration=True,
            )
        return DiscordStopped(f"Discord closed the gateway connection (close code {error.code})")
    if isinstance(error, discord.HTTPException):
        return DiscordStopped(f"Discord answered {error.status} as the bot signed in at {api_url}")
    if isinstance(error, OSError | TimeoutError | aiohttp.ClientError | discord.GatewayNotFound):
        return DiscordStopped(f"could not reach Discord at {api_url} ({type(error).__name__})")
    return None
