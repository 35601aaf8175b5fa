"""The OAuth2 URL that adds mentorbot to a Discord server (``mentorbot discord-invite``).

Scopes: ``bot`` (the bot user joins the server) and ``applications.commands`` (its slash
commands appear there). Permissions, for the one thing the bot does in channels,
posting milestone shout-outs: View Channel, Send Messages, Embed Links = 19456.
Everything else happens in interactions and DMs, which need no server permission.
"""

from __future__ import annotations

from urllib.parse import urlencode

import aiohttp
import discord

from bot.settings import Settings

AUTHORIZE_URL = "https://discord.com/oauth2/authorize"
SCOPES = ("bot", "applications.commands")
NEEDED = {
    "view_channel": "View Channel",
    "send_messages": "Send Messages",
    "embed_links": "Embed Links",
}
PERMISSIONS = discord.Permissions(**dict.fromkeys(NEEDED, True))


def missing_permissions(granted: discord.Permissions) -> list[str]:
    """Which of the permissions a shout-out needs are not ``granted`` (by name)."""
    return [name for flag, name in NEEDED.items() if not getattr(granted, flag)]


def invite_url(application_id: int | str) -> str:
    query = urlencode(
        {
            "client_id": str(application_id),
            "scope": " ".join(SCOPES),
            "permissions": str(PERMISSIONS.value),
        }
    )
    return f"{AUTHORIZE_URL}?{query}"


async def fetch_application_id(settings: Settings) -> str:
    """The application id behind DISCORD_BOT_TOKEN, asked from Discord."""
    if settings.discord_bot_token is None:
        raise ValueError("DISCORD_BOT_TOKEN is not set")
    url = settings.discord_api_url.rstrip("/") + "/oauth2/applications/@me"
    headers = {"Authorization": f"Bot {settings.discord_bot_token.get_secret_value()}"}
    timeout = aiohttp.ClientTimeout(total=30)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(url, headers=headers) as response,
    ):
        if response.status == 401:
            raise ValueError("Discord refused DISCORD_BOT_TOKEN (401)")
        response.raise_for_status()
        data = await response.json()
    return str(data["id"])
