"""``mentorbot discord-invite``: exactly the scopes and permissions the bot needs."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from adapters.discord.invite import fetch_application_id, invite_url
from tests.discord.chat import settings_for
from tests.discord.fake_discord import FakeDiscord


def test_the_invite_asks_for_the_bot_and_its_commands_and_three_permissions() -> None:
    url = invite_url(1312345678901234567)
    assert url == (
        "https://discord.com/oauth2/authorize?client_id=1312345678901234567"
        "&scope=bot+applications.commands&permissions=19456"
    )
    query = parse_qs(urlsplit(url).query)
    assert query["scope"] == ["bot applications.commands"]
    # View Channel (1 << 10), Send Messages (1 << 11), Embed Links (1 << 14).
    assert int(query["permissions"][0]) == (1 << 10) | (1 << 11) | (1 << 14)


async def test_the_application_id_is_asked_from_discord(fake: FakeDiscord) -> None:
    assert await fetch_application_id(settings_for(fake, None)) == fake.application_id
    fake.fail("GET", "/oauth2/applications/@me", 401, {"message": "401: Unauthorized", "code": 0})
    with pytest.raises(ValueError, match="refused"):
        await fetch_application_id(settings_for(fake, None))
