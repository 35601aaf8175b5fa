"""Who can reach /healthz and /metrics: the operator can give them their own interface
and port (OPS_HOST, OPS_PORT) away from Slack's public /slack/events, and require a
bearer token for /metrics (METRICS_TOKEN)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from adapters.ops import Metrics, OpsServer
from bot.settings import Settings
from bot.storage.database import Database
from tests.slack.fake_slack import BOT_TOKEN, FakeSlack, Person
from tests.slack.slack_chat import SECRET, win_over_http
from tests.test_console import _env
from tests.test_run import _free_port, _kill, _start_run, _terminate, _wait_for_port

TOKEN = "metrics-token-3f9a1c"


@pytest.fixture
async def guarded(database: Database) -> AsyncIterator[str]:
    server = OpsServer(database, Metrics(), host="127.0.0.1", port=0, metrics_token=TOKEN)
    await server.start()
    yield f"http://127.0.0.1:{server.port}"
    await server.stop()


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer", "Bearer ü"],
)
async def test_metrics_without_the_token_are_refused(
    guarded: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{guarded}/metrics", headers=headers) as r,
    ):
        assert r.status == 401
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
        assert "mentorbot_" not in await r.text()


async def test_metrics_with_the_token_and_healthz_without_it(guarded: str) -> None:
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"bearer {TOKEN}"}  # the scheme is case-insensitive
        async with http.get(f"{guarded}/metrics", headers=headers) as response:
            assert response.status == 200
            assert "mentorbot_commands_handled" in await response.text()
        async with http.get(f"{guarded}/healthz") as response:
            assert response.status == 200


def test_the_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPS_HOST", "127.0.0.1")
    monkeypatch.setenv("OPS_PORT", "9100")
    monkeypatch.setenv("METRICS_TOKEN", TOKEN)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (settings.ops_host, settings.ops_port) == ("127.0.0.1", 9100)
    assert settings.metrics_token is not None
    assert settings.metrics_token.get_secret_value() == TOKEN
    assert TOKEN not in repr(settings)
    monkeypatch.setenv("OPS_PORT", "")
    monkeypatch.setenv("METRICS_TOKEN", "")
    empty = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (empty.ops_port, empty.metrics_token) == (None, None)


async def test_run_serves_ops_on_their_own_loopback_port(tmp_path: Path) -> None:
    """Slack's events alone on PORT (all interfaces), /healthz and /metrics on
    127.0.0.1:OPS_PORT, /metrics behind the token; the token never reaches the log."""
    fake = FakeSlack(users={"U0ALICE": Person("Alice", "Europe/Berlin")})
    await fake.start()
    port, ops_port = _free_port(), _free_port()
    env = {
        **_env(),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.api_url,
        "PORT": str(port),
        "OPS_HOST": "127.0.0.1",
        "OPS_PORT": str(ops_port),
        "METRICS_TOKEN": TOKEN,
        "LOG_LEVEL": "DEBUG",
    }
    process, log_path = await _start_run(tmp_path, env, "run")
    try:
        await _wait_for_port(ops_port, process)
        await _wait_for_port(port, process)
        public, private = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{ops_port}"
        async with aiohttp.ClientSession() as http:
            answer = await win_over_http(f"{public}/slack/events", fake.response_url(), "ops apart")
            assert "Saved to your journal" in answer
            for path in ("/healthz", "/metrics"):
                async with http.get(f"{public}{path}") as r:
                    assert r.status == 404, path  # not on the public port
            async with http.get(f"{private}/healthz") as r:
                assert r.status == 200
            async with http.get(f"{private}/metrics") as r:
                assert r.status == 401
            bearer = {"Authorization": f"Bearer {TOKEN}"}
            async with http.get(f"{private}/metrics", headers=bearer) as r:
                assert r.status == 200 and 'command="win"' in await r.text()
        assert await _terminate(process) < 10
    finally:
        await _kill(process)
        await fake.stop()
    output = log_path.read_text()
    assert process.returncode == 0, output[-2000:]
    assert f"on 127.0.0.1:{ops_port}" in output
    assert TOKEN not in output
