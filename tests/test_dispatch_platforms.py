"""The cron deploy from outside, on Slack and on Discord: ``mentorbot pairs import``, then
``mentorbot dispatch --now`` as real processes (three at once on one PostgreSQL, one on
SQLite) with a bot token, against the local fake Slack (Web API) and fake Discord (REST)
running in this test process. Every member gets exactly one prompt, the platform is asked
once per message, and a second pass sends nothing. Nothing but the Web API / REST is
used: no Socket Mode, no gateway.

Without a token, ``dispatch`` leaves the platform's messages queued and says how many.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import Templates
from tests.discord.fake_discord import TOKEN as DISCORD_TOKEN
from tests.discord.fake_discord import FakeDiscord
from tests.slack.fake_slack import BOT_TOKEN as SLACK_TOKEN
from tests.slack.fake_slack import TEAM, FakeSlack
from tests.test_dispatch_processes import (  # noqa: F401 (postgres_url is a fixture)
    MENTORBOT,
    PROMPT,
    _env,
    postgres_url,
    sqlite_copy,
)

F = TypeVar("F")

PAIRS_PG = 150  # three processes share 300 prompts
PAIRS_SQLITE = 60
# Zones with offsets spread over the day: one of them has the due time in daytime, away
# from quiet hours (21:00-08:00 in the recipient's timezone).
ZONES = (
    "UTC",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Sydney",
    "America/Los_Angeles",
    "America/New_York",
)


# -- a fake platform on its own event loop, beside the subprocesses ----------------------


class Background:
    """An event loop in a thread, for a fake the subprocesses talk to over loopback."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, work: Callable[[], Awaitable[F]]) -> F:
        async def wrapped() -> F:
            return await work()

        return asyncio.run_coroutine_threadsafe(wrapped(), self.loop).result(30)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


@pytest.fixture
def background() -> Iterator[Background]:
    loop = Background()
    yield loop
    loop.close()


@pytest.fixture
def fake_slack(background: Background) -> Iterator[FakeSlack]:
    slack = background.run(_new_slack)
    yield slack
    background.run(slack.stop)


async def _new_slack() -> FakeSlack:
    slack = FakeSlack()
    await slack.start()
    return slack


@pytest.fixture
def fake_discord(background: Background) -> Iterator[FakeDiscord]:
    discord = background.run(_new_discord)
    yield discord
    background.run(discord.close)


async def _new_discord() -> FakeDiscord:
    discord = FakeDiscord()
    await discord.start()
    return discord


# -- the scenario ------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    """A weekly slot a little after now, in daytime for its timezone."""

    at: datetime  # UTC
    weekday: str
    time: str
    zone: str


def next_slot(now: datetime) -> Due:
    at = (now + timedelta(minutes=90)).replace(second=0, microsecond=0)
    for zone in ZONES:
        local = at.astimezone(ZoneInfo(zone))
        if 9 <= local.hour < 19:
            return Due(at, f"{local:%a}".lower(), f"{local:%H:%M}", zone)
    raise AssertionError(f"no daytime zone for {at}")


def write_csv(
    path: Path,
    platform: str,
    workspace: str,
    couples: Sequence[tuple[str, str]],
    due: Due | None = None,
) -> Due:
    """Pairs due at the next slot, or at ``due`` (a second file due with the first: the
    next slot moves on with the clock's minute)."""
    due = due or next_slot(datetime.now(UTC))
    lines = ["platform,workspace_id,mentor_id,mentee_id,cadence,weekday,time,timezone"]
    lines += [
        f"{platform},{workspace},{a},{b},weekly,{due.weekday},{due.time},{due.zone}"
        for a, b in couples
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return due


def mentorbot(folder: Path, url: str, args: list[str], extra: dict[str, str]) -> Any:
    return subprocess.Popen(
        [*MENTORBOT, *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=folder,
        env={**_env(url, None), **extra},
    )


@dataclass(frozen=True)
class Done:
    returncode: int
    stdout: str
    stderr: str


def finish(process: Any) -> Done:
    stdout, stderr = process.communicate(timeout=600)
    done = Done(process.returncode, stdout.decode(), stderr.decode())
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return done


def import_pairs_cli(folder: Path, url: str, csv: Path) -> None:
    done = finish(mentorbot(folder, url, ["pairs", "import", str(csv)], {}))
    assert "created" in done.stderr


def dispatch_all(folder: Path, url: str, due: Due, processes: int, env: dict[str, str]) -> None:
    started = [
        mentorbot(folder, url, ["dispatch", "--now", due.at.isoformat()], env)
        for _ in range(processes)
    ]
    for done in map(finish, started):
        assert "wait:" not in done.stderr  # nothing left for want of a token


# -- Slack -------------------------------------------------------------------------------


def slack_env(fake: FakeSlack) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": SLACK_TOKEN,
        "SLACK_API_URL": fake.api_url,
        "SLACK_MESSAGES_PER_SECOND": "1000",  # the default (1/s) would take minutes here
    }


def slack_prompts(fake: FakeSlack) -> Counter[str]:
    """Who was asked to check in, one count per chat.postMessage Slack accepted."""
    posted = [c for c in fake.calls if c.method == "chat.postMessage"]
    assert all(c.result.get("ok") for c in posted)
    assert all(str(c.args.get("text", "")).startswith(PROMPT) for c in posted), posted[:2]
    return Counter(str(c.args["channel"]) for c in posted)


def slack_members(pairs: int) -> list[tuple[str, str]]:
    return [(f"U0MENTOR{i:04d}", f"U0MENTEE{i:04d}") for i in range(pairs)]


@pytest.mark.parametrize(("store", "processes"), [("postgresql", 3), ("sqlite", 1)])
def test_cron_dispatch_delivers_to_slack_once(
    request: pytest.FixtureRequest,
    templates: Templates,
    tmp_path: Path,
    fake_slack: FakeSlack,
    store: str,
    processes: int,
) -> None:
    if store == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
        pairs = PAIRS_PG
    else:
        url = sqlite_copy(templates, tmp_path / "mentorbot.db")
        pairs = PAIRS_SQLITE
    couples = slack_members(pairs)
    due = write_csv(tmp_path / "pairs.csv", "slack", TEAM, couples)
    import_pairs_cli(tmp_path, url, tmp_path / "pairs.csv")

    dispatch_all(tmp_path, url, due, processes, slack_env(fake_slack))

    received = slack_prompts(fake_slack)
    assert received == Counter({member: 1 for couple in couples for member in couple})
    # Web API only: the token checked once per process, then the posts; no Socket Mode.
    methods = Counter(c.method for c in fake_slack.calls)
    assert methods == Counter({"auth.test": processes, "chat.postMessage": 2 * pairs})

    dispatch_all(tmp_path, url, due, processes, slack_env(fake_slack))
    assert slack_prompts(fake_slack) == received  # the second pass sends nothing


def test_dispatch_waits_out_a_429_and_gives_up_on_someone_slack_does_not_know(
    templates: Templates, tmp_path: Path, fake_slack: FakeSlack
) -> None:
    url = sqlite_copy(templates, tmp_path / "mentorbot.db")
    couples = slack_members(3)
    due = write_csv(tmp_path / "pairs.csv", "slack", TEAM, couples)
    import_pairs_cli(tmp_path, url, tmp_path / "pairs.csv")
    slow, gone = couples[1][0], couples[2][1]
    fake_slack.fail("chat.postMessage", "ratelimited", channel=slow, status=429, retry_after=1)
    fake_slack.fail("chat.postMessage", "user_not_found", channel=gone, times=99)

    process = mentorbot(
        tmp_path, url, ["dispatch", "--now", due.at.isoformat()], slack_env(fake_slack)
    )
    done = finish(process)

    def accepted(channel: str) -> list[str]:
        return fake_slack.texts_to(channel)

    # The 429 was waited out (Retry-After: 1) in the same run: one prompt, no more.
    assert [t[: len(PROMPT)] for t in accepted(slow)] == [PROMPT]
    assert len(fake_slack.posts_to(slow)) == 1
    assert len([c for c in fake_slack.calls if c.args.get("channel") == slow]) == 2
    # Slack does not know that person: tried once, never again, and their partner is told.
    assert accepted(gone) == []
    assert len([c for c in fake_slack.calls if c.args.get("channel") == gone]) == 1
    partner = couples[2][0]
    assert accepted(partner)[0].startswith(PROMPT)
    assert len(accepted(partner)) == 2, accepted(partner)
    for member in (couples[0][0], couples[0][1], couples[1][1]):
        assert len(accepted(member)) == 1
    assert "1 attempt to be retried, 1 failed for good" in done.stderr

    calls = len(fake_slack.calls)
    dispatch_all(tmp_path, url, due, 1, slack_env(fake_slack))
    assert [c.method for c in fake_slack.calls[calls:]] == ["auth.test"]  # nothing more


def test_dispatch_says_when_a_retry_it_did_not_wait_for_falls_due(
    templates: Templates, tmp_path: Path, fake_slack: FakeSlack
) -> None:
    """Slack asks for 5 minutes (a 429 with Retry-After: 300, which holds the method for
    the whole workspace), longer than a run waits: the summary says both prompts are due
    later and from when, not that a rate limit held them back (the next run, a minute
    later, would have nothing to send yet)."""
    url = sqlite_copy(templates, tmp_path / "mentorbot.db")
    couples = slack_members(1)
    due = write_csv(tmp_path / "pairs.csv", "slack", TEAM, couples)
    import_pairs_cli(tmp_path, url, tmp_path / "pairs.csv")
    fake_slack.fail(
        "chat.postMessage", "ratelimited", channel=couples[0][0], status=429, retry_after=300
    )

    args = ["dispatch", "--now", due.at.isoformat()]
    done = finish(mentorbot(tmp_path, url, args, slack_env(fake_slack)))
    assert "0 messages delivered, 1 attempt to be retried" in done.stderr
    [line] = [line for line in done.stderr.splitlines() if "due later" in line]
    said = re.fullmatch(
        r"2 messages for slack are due later \(quiet hours or retries\), the first at "
        r"(\d{4}-\d\d-\d\d \d\d:\d\d) UTC: dispatches from then \(or `mentorbot run`\) "
        r"send them",
        line,
    )
    assert said is not None, line
    at = datetime.strptime(said[1], "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
    assert due.at + timedelta(minutes=4) <= at <= due.at + timedelta(minutes=7), (at, due.at)
    assert "held" not in done.stderr


def test_a_rate_limited_dispatch_stops_at_its_time_limit_and_the_next_run_finishes(
    templates: Templates, tmp_path: Path, fake_slack: FakeSlack
) -> None:
    url = sqlite_copy(templates, tmp_path / "mentorbot.db")
    couples = slack_members(10)
    due = write_csv(tmp_path / "pairs.csv", "slack", TEAM, couples)
    import_pairs_cli(tmp_path, url, tmp_path / "pairs.csv")
    slow = {**slack_env(fake_slack), "SLACK_MESSAGES_PER_SECOND": "2"}  # burst 3

    args = ["dispatch", "--now", due.at.isoformat(), "--max-seconds", "2"]
    first = finish(mentorbot(tmp_path, url, args, slow))
    sent = sum(slack_prompts(fake_slack).values())
    # 3 at once, then 2 a second for about 2 s: far from all 20 (the default 1 a second
    # would have kept it running for 17 s).
    assert 3 <= sent <= 10, sent
    assert (
        f"{20 - sent} messages for slack are due and not sent yet (the rate limit held them "
        "back, or another process is sending them): the next dispatch (or `mentorbot run`) "
        "sends them"
    ) in first.stderr
    assert "due later" not in first.stderr

    dispatch_all(tmp_path, url, due, 1, slack_env(fake_slack))
    assert slack_prompts(fake_slack) == Counter(
        {member: 1 for couple in couples for member in couple}
    )


def test_a_refused_slack_token_stops_dispatch_before_it_queues(
    templates: Templates, tmp_path: Path, fake_slack: FakeSlack
) -> None:
    url = sqlite_copy(templates, tmp_path / "mentorbot.db")
    due = write_csv(tmp_path / "pairs.csv", "slack", TEAM, slack_members(2))
    import_pairs_cli(tmp_path, url, tmp_path / "pairs.csv")

    env = {**slack_env(fake_slack), "SLACK_BOT_TOKEN": "xoxb-not-the-token"}
    process = mentorbot(tmp_path, url, ["dispatch", "--now", due.at.isoformat()], env)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 2
    assert "Slack refused SLACK_BOT_TOKEN (invalid_auth)" in stderr.decode()
    assert "xoxb-not-the-token" not in stderr.decode()
    assert "Traceback" not in stderr.decode()
    assert [c.method for c in fake_slack.calls] == ["auth.test"]

    # With the right token, everything is sent.
    dispatch_all(tmp_path, url, due, 1, slack_env(fake_slack))
    assert sum(slack_prompts(fake_slack).values()) == 4


def test_without_a_token_dispatch_says_what_waits_for_which_platform(
    templates: Templates, tmp_path: Path
) -> None:
    url = sqlite_copy(templates, tmp_path / "mentorbot.db")
    due = write_csv(tmp_path / "pairs.csv", "slack", TEAM, slack_members(3))
    import_pairs_cli(tmp_path, url, tmp_path / "pairs.csv")
    discord_csv = tmp_path / "discord.csv"
    write_csv(discord_csv, "discord", "1234", [("111", "222")], due)
    import_pairs_cli(tmp_path, url, discord_csv)

    done = finish(mentorbot(tmp_path, url, ["dispatch", "--now", due.at.isoformat()], {}))
    assert "0 messages delivered" in done.stderr
    assert "6 messages for slack wait: set SLACK_BOT_TOKEN to deliver them" in done.stderr
    assert "2 messages for discord wait: set DISCORD_BOT_TOKEN to deliver them" in done.stderr


def test_the_dispatch_summary_counts_one_as_one(templates: Templates, tmp_path: Path) -> None:
    """One pair due, no token: the operator reads "1 check-in opened", not "1 check-ins"."""
    url = sqlite_copy(templates, tmp_path / "mentorbot.db")
    due = write_csv(tmp_path / "pairs.csv", "slack", TEAM, slack_members(1))
    import_pairs_cli(tmp_path, url, tmp_path / "pairs.csv")
    done = finish(mentorbot(tmp_path, url, ["dispatch", "--now", due.at.isoformat()], {}))
    assert (
        "1 check-in opened, 0 missed, 0 reminders, 0 heads-ups; 0 messages delivered, "
        "0 attempts to be retried, 0 failed for good"
    ) in done.stderr
    assert "2 messages for slack wait: set SLACK_BOT_TOKEN to deliver them" in done.stderr


# -- Discord -----------------------------------------------------------------------------


def discord_env(fake: FakeDiscord) -> dict[str, str]:
    return {
        "DISCORD_BOT_TOKEN": DISCORD_TOKEN,
        "DISCORD_API_URL": fake.api_url,
        # Pointed at the fake too, so a gateway connection would show (and none may).
        "DISCORD_GATEWAY_URL": fake.gateway_url,
    }


def discord_prompts(fake: FakeDiscord, members: Sequence[str]) -> Counter[str]:
    """Per member: the messages Discord was asked to create in their DM (a resend that
    Discord deduplicated by its nonce counts too) and that each is a prompt."""
    asked: Counter[str] = Counter()
    for member in members:
        channel = fake.dm_channels.get(member)
        if channel is None:
            continue
        posts = fake.requests_to("POST", rf"/channels/{channel}/messages")
        asked[member] = len(posts)
        texts = fake.dm_texts(member)
        assert len(texts) == len(posts)
        assert all(text.startswith(PROMPT) for text in texts), texts
    return asked


@pytest.mark.parametrize(("store", "processes"), [("postgresql", 3), ("sqlite", 1)])
def test_cron_dispatch_delivers_to_discord_over_rest_once(
    request: pytest.FixtureRequest,
    templates: Templates,
    tmp_path: Path,
    fake_discord: FakeDiscord,
    store: str,
    processes: int,
) -> None:
    if store == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
        pairs = PAIRS_PG
    else:
        url = sqlite_copy(templates, tmp_path / "mentorbot.db")
        pairs = PAIRS_SQLITE
    couples = [
        (fake_discord.add_user(f"mentor{i}"), fake_discord.add_user(f"mentee{i}"))
        for i in range(pairs)
    ]
    members = [member for couple in couples for member in couple]
    guild = fake_discord.add_guild("mentoring", owner_id=couples[0][0])
    due = write_csv(tmp_path / "pairs.csv", "discord", guild, couples)
    import_pairs_cli(tmp_path, url, tmp_path / "pairs.csv")

    dispatch_all(tmp_path, url, due, processes, discord_env(fake_discord))

    received = discord_prompts(fake_discord, members)
    assert received == Counter(dict.fromkeys(members, 1))
    # REST only: no gateway discovery, no websocket session.
    assert fake_discord.sessions == {}
    assert fake_discord.requests_to("GET", r"/gateway(/bot)?") == []
    assert len(fake_discord.requests_to("GET", r"/users/@me")) == processes  # the logins

    dispatch_all(tmp_path, url, due, processes, discord_env(fake_discord))
    assert discord_prompts(fake_discord, members) == received  # the second pass sends nothing


def test_discord_dispatch_waits_out_a_429_and_gives_up_on_closed_dms(
    templates: Templates, tmp_path: Path, fake_discord: FakeDiscord
) -> None:
    url = sqlite_copy(templates, tmp_path / "mentorbot.db")
    couples = [
        (fake_discord.add_user(f"mentor{i}"), fake_discord.add_user(f"mentee{i}")) for i in range(3)
    ]
    guild = fake_discord.add_guild("mentoring", owner_id=couples[0][0])
    due = write_csv(tmp_path / "pairs.csv", "discord", guild, couples)
    import_pairs_cli(tmp_path, url, tmp_path / "pairs.csv")
    closed = couples[2][1]
    fake_discord.closed_dms.add(closed)
    # Discord's own 429 on the first message: discord.py waits it out inside the request.
    fake_discord.rate_limit("POST", r"/channels/\d+/messages", retry_after=0.5)

    dispatch_all(tmp_path, url, due, 1, discord_env(fake_discord))

    assert fake_discord.failures == []  # the 429 was answered
    for member in (couples[0][0], couples[0][1], couples[1][0], couples[1][1]):
        texts = fake_discord.dm_texts(member)
        assert len(texts) == 1 and texts[0].startswith(PROMPT), (member, texts)
    # Closed DMs (50007): tried once, never again; the partner gets the prompt and a note.
    channel = fake_discord.dm_channels[closed]
    assert len(fake_discord.requests_to("POST", rf"/channels/{channel}/messages")) == 1
    assert fake_discord.dm_texts(closed) == []
    partner = fake_discord.dm_texts(couples[2][0])
    assert len(partner) == 2 and partner[0].startswith(PROMPT), partner

    before = len(fake_discord.requests)
    dispatch_all(tmp_path, url, due, 1, discord_env(fake_discord))
    assert [r.path for r in fake_discord.requests[before:]] == ["/users/@me"]  # nothing more


def test_a_refused_discord_token_stops_dispatch_before_it_sends(
    templates: Templates, tmp_path: Path, fake_discord: FakeDiscord
) -> None:
    """In the words `mentorbot run` uses (tests/discord/test_run.py): one sign-in, then
    nothing more, a configuration error (2); the next pass with the token sends it all."""
    url = sqlite_copy(templates, tmp_path / "mentorbot.db")
    couples = [(fake_discord.add_user("mentor"), fake_discord.add_user("mentee"))]
    guild = fake_discord.add_guild("mentoring", owner_id=couples[0][0])
    due = write_csv(tmp_path / "pairs.csv", "discord", guild, couples)
    import_pairs_cli(tmp_path, url, tmp_path / "pairs.csv")
    fake_discord.fail("GET", "/users/@me", 401, {"message": "401: Unauthorized", "code": 0})

    env = {**discord_env(fake_discord), "DISCORD_BOT_TOKEN": "not-the-token-5e1"}
    process = mentorbot(tmp_path, url, ["dispatch", "--now", due.at.isoformat()], env)
    _, stderr = process.communicate(timeout=120)
    said = stderr.decode()
    assert process.returncode == 2, said[-3000:]
    assert "Traceback" not in said and "not-the-token-5e1" not in said
    assert [line for line in said.splitlines() if line.startswith("error:")] == [
        "error: Discord refused DISCORD_BOT_TOKEN (401): put your application's bot token "
        "in it (Developer Portal → Bot → Reset Token)"
    ]
    assert [r.path for r in fake_discord.requests] == ["/users/@me"]

    dispatch_all(tmp_path, url, due, 1, discord_env(fake_discord))
    assert discord_prompts(fake_discord, couples[0]) == Counter(dict.fromkeys(couples[0], 1))
