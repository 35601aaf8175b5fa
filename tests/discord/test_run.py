"""`mentorbot run` with Discord, the real process against the local fake Discord: when
Discord stops the bot for good (a refused token, a Discord it cannot reach), the run
ends with a line that says what to fix and an exit code that is not 0, so a supervisor
that restarts on failure (deploy/mentorbot.service) restarts it, and a refused token
reads as the configuration error the help promises (exit 2)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.discord.fake_discord import TOKEN, FakeDiscord
from tests.test_console import _env
from tests.test_run import _free_port, _kill, _start_run


async def _run_until_it_stops(tmp_path: Path, **settings: str) -> tuple[int, str]:
    """``mentorbot run`` with only Discord configured; its exit code and output once it
    stops by itself (within 60 s)."""
    env = {
        **_env(),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "PORT": str(_free_port()),
        **settings,
    }
    process, log = await _start_run(tmp_path, env, "run")
    try:
        await asyncio.wait_for(process.wait(), 60)
    finally:
        await _kill(process)
    assert process.returncode is not None
    return process.returncode, log.read_text()


def _error_line(output: str) -> str:
    assert "Traceback" not in output, _tail_of(output)
    [error] = [line for line in output.splitlines() if line.startswith("error:")]
    return error


def _tail_of(output: str) -> str:
    return output[-3000:]


async def test_a_token_discord_refuses_at_sign_in_is_a_configuration_error(
    tmp_path: Path,
) -> None:
    fake = FakeDiscord()
    await fake.start()
    fake.fail("GET", "/users/@me", 401, {"message": "401: Unauthorized", "code": 0}, keep=True)
    try:
        code, output = await _run_until_it_stops(
            tmp_path,
            DISCORD_BOT_TOKEN="refused-token-7f3a",
            DISCORD_API_URL=fake.api_url,
            DISCORD_GATEWAY_URL=fake.gateway_url,
        )
    finally:
        await fake.close()
    assert code == 2, _tail_of(output)
    assert _error_line(output) == (
        "error: Discord refused DISCORD_BOT_TOKEN (401): put your application's bot token "
        "in it (Developer Portal → Bot → Reset Token)"
    )
    assert "refused-token-7f3a" not in output


async def test_a_token_the_gateway_refuses_is_a_configuration_error(tmp_path: Path) -> None:
    """Signed in over REST, then the gateway closes with 4004 (authentication failed):
    discord.py gives up on that code, and so does the run, in the same words."""
    fake = FakeDiscord()
    await fake.start()
    try:
        code, output = await _run_until_it_stops(
            tmp_path,
            DISCORD_BOT_TOKEN=f"{TOKEN}-not-quite",
            DISCORD_API_URL=fake.api_url,
            DISCORD_GATEWAY_URL=fake.gateway_url,
        )
    finally:
        await fake.close()
    assert code == 2, _tail_of(output)
    assert _error_line(output).startswith(
        "error: Discord refused DISCORD_BOT_TOKEN (gateway close code 4004):"
    )
    assert f"{TOKEN}-not-quite" not in output


async def test_a_discord_it_cannot_reach_is_an_error_a_supervisor_restarts(
    tmp_path: Path,
) -> None:
    """Nothing listens on the port: an error (exit 1, so ``Restart=on-failure`` starts
    it again), not a clean stop (0) that leaves the bot down."""
    api_url = f"http://127.0.0.1:{_free_port()}/api/v10"
    code, output = await _run_until_it_stops(
        tmp_path, DISCORD_BOT_TOKEN=TOKEN, DISCORD_API_URL=api_url
    )
    assert code == 1, _tail_of(output)
    said = f"error: could not reach Discord at {api_url} (ClientConnectorError)"
    assert _error_line(output) == said
    assert TOKEN not in output
