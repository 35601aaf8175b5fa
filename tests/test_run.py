"""`mentorbot run`: the real process, Slack over HTTP against a local fake Slack, the
scheduler and the delivery worker; SIGTERM stops it cleanly and quickly."""

from __future__ import annotations

import asyncio
import signal
import socket
import time
import urllib.parse
from pathlib import Path

import aiohttp

from tests.slack.fake_slack import BOT_TOKEN, FakeSlack, Person
from tests.slack.slack_chat import SECRET, sign
from tests.test_console import MENTORBOT, _env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _wait_for_port(port: int, process: asyncio.subprocess.Process) -> None:
    for _ in range(200):
        if process.returncode is not None:
            raise AssertionError("mentorbot run exited early")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return
    raise AssertionError("mentorbot run never listened")


async def test_run_serves_slack_and_stops_on_sigterm(tmp_path: Path) -> None:
    fake = FakeSlack(users={"U0ALICE": Person("Alice", "Europe/Berlin", is_admin=True)})
    await fake.start()
    port = _free_port()
    env = {
        **_env(),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.api_url,
        "PORT": str(port),
        "DISPATCH_INTERVAL_SECONDS": "1",
        "LOG_LEVEL": "DEBUG",
    }
    # Files, not pipes: DEBUG logs would fill an unread pipe and block the process.
    out_path, err_path = tmp_path / "out.txt", tmp_path / "err.txt"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        process = await asyncio.create_subprocess_exec(
            *MENTORBOT, "run", cwd=tmp_path, env=env, stdout=out, stderr=err
        )
    try:
        await _wait_for_port(port, process)
        body = urllib.parse.urlencode(
            {
                "command": "/win",
                "text": "shipped the runner 🚀",
                "user_id": "U0ALICE",
                "user_name": "alice",
                "team_id": "T0TEAM",
                "channel_id": "D0ALICE",
                "trigger_id": "1.2.trigger",
                "response_url": fake.response_url(),
                "api_app_id": "A0APP",
            }
        )
        stamp = int(time.time())
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"http://127.0.0.1:{port}/slack/events",
                data=body,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Slack-Request-Timestamp": str(stamp),
                    "X-Slack-Signature": sign(body, stamp),
                },
            ) as response,
        ):
            assert response.status == 200
            assert "Saved to your journal" in await response.text()
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 15)
        assert time.monotonic() - started < 10
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await fake.stop()
    output = out_path.read_text() + err_path.read_text()
    assert process.returncode == 0, output[-2000:]
    assert "Traceback" not in output, output[output.find("Traceback") - 500 :][:3000]
    # Secrets never reach the logs, even at DEBUG.
    assert BOT_TOKEN not in output and SECRET not in output
    assert "auth.test" in [call.method for call in fake.calls]
    assert (tmp_path / "bot.db").stat().st_size > 0
