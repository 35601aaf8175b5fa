"""Log hygiene: a whole mentoring scenario on the real Slack adapter (signed requests in,
the real Web API client out, against the fake Slack) and on the real Discord client
(against the fake gateway and REST API), logged at DEBUG in both formats, leaves no
token, signing secret or journal text in the logs."""

from __future__ import annotations

import io
import json
import logging
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from pydantic import SecretStr

from adapters.logs import LIBRARY_LEVELS, REDACTED, Throttled, setup_logging
from adapters.slack.app import SlackAdapter
from bot.clock import ManualClock
from bot.engine import Engine
from bot.refs import Platform
from bot.settings import Settings
from bot.storage.database import Database
from scheduler.delivery_worker import DeliveryWorker
from tests.discord.chat import DiscordChat, running_bot
from tests.discord.fake_discord import TOKEN, FakeDiscord
from tests.slack.fake_slack import BOT_TOKEN, FakeSlack, Person
from tests.slack.slack_chat import SECRET, SlackChat
from tests.test_console import MENTORBOT, START
from tests.test_console import _env as _console_env

ALICE, BOB = "U0ALICE", "U0BOB"
DISCORD_TOKEN = "MTIzNDU2Nzg5.canary.discord-token-value"
WIN = "canary-win-7f3a shipped the billing page"
ANSWER = "canary-answer-91cc the migration scared me"
QUESTION = "canary-question-2be4 how do I pitch this?"
FEEDBACK = "canary-feedback-c0de lead with the number"
CANARIES = (
    BOT_TOKEN,
    SECRET,
    DISCORD_TOKEN,
    "canary-win",
    "canary-answer",
    "canary-question",
    "canary-feedback",
)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """setup_logging owns the root logger, as in the real process; put it back after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    libraries = {name: logging.getLogger(name).level for name in LIBRARY_LEVELS}
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    for name, library_level in libraries.items():
        logging.getLogger(name).setLevel(library_level)


def _settings(fake: FakeSlack, log_format: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token=SecretStr(BOT_TOKEN),
        slack_signing_secret=SecretStr(SECRET),
        slack_api_url=fake.api_url,
        discord_bot_token=SecretStr(DISCORD_TOKEN),
        log_level="DEBUG",
        log_format=log_format,
    )


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    slack = FakeSlack(
        users={ALICE: Person("Alice", "Europe/Berlin", is_admin=True), BOB: Person("Bob")}
    )
    await slack.start()
    yield slack
    await slack.stop()


async def _scenario(slack: SlackChat, worker: DeliveryWorker) -> None:
    async def deliver() -> None:
        await worker.drain()
        await slack.adapter.drain()

    await slack.command(ALICE, f"/mentor pair <@{ALICE}|alice> <@{BOB}|bob>")
    await deliver()
    await slack.click(BOB, "Accept")
    await deliver()
    assert (await slack.command(BOB, f"/win {WIN}")).status == 200
    await deliver()
    assert any("canary-win" in text for text in slack.dms(ALICE))  # it really went out

    await slack.command(BOB, f"/mentor feedback {QUESTION}")
    await deliver()
    await slack.dm(ALICE, FEEDBACK)
    await deliver()
    assert any("canary-feedback" in text for text in slack.dms(BOB))

    await slack.command(BOB, "/mentor checkin")
    await deliver()
    await slack.dm(BOB, f"{ANSWER} (the mood)")  # the form opens with it filled in
    await deliver()
    await slack.click(BOB, "Answer in a form")
    assert ANSWER in str(slack.opened_view())
    await slack.submit(BOB, progress=ANSWER)
    await deliver()

    # A delivery that fails for good is logged (with its reason), never its text.
    slack.fake.fail("chat.postMessage", "messages_tab_disabled", channel=BOB)
    await slack.command(ALICE, f"/win {WIN} again")
    await deliver()
    assert worker.total.failed >= 1
    # And a bad request is logged as such.
    await slack.post("command=/win&text=canary-win-unsigned", "application/x-www-form-urlencoded")


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_no_secret_or_journal_text_reaches_the_logs(
    log_format: str,
    fake: FakeSlack,
    database: Database,
    clock: ManualClock,
    restore_logging: None,
) -> None:
    settings = _settings(fake, log_format)
    captured = io.StringIO()
    setup_logging(settings, stream=captured)
    engine = Engine(database, clock)
    adapter = SlackAdapter(settings, engine, host="127.0.0.1", port=0)
    await adapter.start()
    worker = DeliveryWorker(database, {Platform.SLACK: adapter.sender}, clock)
    slack = SlackChat(fake, adapter, database, clock)
    try:
        await _scenario(slack, worker)
    finally:
        await slack.close()
        await adapter.stop()
    output = captured.getvalue()

    assert "Slack: signed in to team" in output  # the logs were captured, at DEBUG
    assert "failed for good" in output
    for canary in CANARIES:
        assert canary not in output, canary
    if log_format == "json":
        lines = output.splitlines()
        assert lines
        for line in lines:
            record = json.loads(line)
            assert {"time", "level", "logger", "message"} <= set(record)


def test_a_configured_secret_that_is_logged_anyway_is_redacted(
    restore_logging: None,
) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token=SecretStr(BOT_TOKEN),
        discord_bot_token=SecretStr(DISCORD_TOKEN),
        log_format="json",
    )
    captured = io.StringIO()
    setup_logging(settings, stream=captured)
    log = logging.getLogger("tests.careless")
    log.warning("token is %s", BOT_TOKEN)
    try:
        raise RuntimeError(f"refused {DISCORD_TOKEN}")
    except RuntimeError:
        log.exception("calling out failed")
    records = [json.loads(line) for line in captured.getvalue().splitlines()]
    assert records[0]["message"] == f"token is {REDACTED}"
    assert records[1]["message"] == "calling out failed"
    assert f"RuntimeError: refused {REDACTED}" in records[1]["exception"]
    assert BOT_TOKEN not in captured.getvalue() and DISCORD_TOKEN not in captured.getvalue()


def test_an_unknown_log_format_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="must be text or json, not 'xml'"):
        Settings(_env_file=None, log_format="xml")  # type: ignore[call-arg]


@asynccontextmanager
async def _paired_on_discord(
    log_format: str, database: Database, clock: ManualClock
) -> AsyncIterator[tuple[DiscordChat, io.StringIO]]:
    """The bot on the fake Discord, logging at DEBUG into a buffer, alice mentoring bob."""
    discord = FakeDiscord()
    await discord.start()
    people = {name: discord.add_user(name.title()) for name in ("alice", "bob")}
    guild = discord.add_guild("Mentoring", owner_id=people["alice"], channels=("general",))
    chat = DiscordChat(discord, guild, people)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        discord_bot_token=SecretStr(TOKEN),
        log_level="DEBUG",
        log_format=log_format,
    )
    captured = io.StringIO()
    setup_logging(settings, stream=captured)
    try:
        async with running_bot(discord, database, clock, guild_id=guild):
            await chat.slash("alice", "mentor pair", mentor="@alice", mentee="@bob")
            await chat.dm_arrives("bob", "would like to")
            await chat.click("bob", "Accept")
            await chat.dm_arrives("alice", "You're paired")
            yield chat, captured
    finally:
        await discord.close()


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_discord_logs_hold_no_token_or_journal_text(
    log_format: str, database: Database, clock: ManualClock, restore_logging: None
) -> None:
    async with _paired_on_discord(log_format, database, clock) as (chat, captured):
        await chat.slash("bob", "win", text=WIN)
        await chat.dm_arrives("alice", "canary-win")
        await chat.slash("bob", "mentor feedback ask", question=QUESTION)
        await chat.dm_arrives("alice", "canary-question")
    output = captured.getvalue()
    assert "discord" in output  # the library's own records were captured
    for canary in (TOKEN, "canary-win", "canary-question"):
        assert canary not in output, canary
    if log_format == "json":
        for line in output.splitlines():
            assert {"time", "level", "logger", "message"} <= set(json.loads(line))


# -- replies that repeat people's words, at DEBUG --------------------------------------------

MILESTONE = "canary-milestone-5e1d give a lightning talk"
ECHOED = ("canary-win", "canary-milestone", "canary-question")


def _assert_clean(output: str, log_format: str) -> None:
    assert output  # something was logged at DEBUG
    for canary in ECHOED:
        assert canary not in output, canary
    if log_format == "json":
        for line in output.splitlines():
            assert {"time", "level", "logger", "message"} <= set(json.loads(line))


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_slack_replies_that_repeat_peoples_words_stay_out_of_debug_logs(
    log_format: str,
    fake: FakeSlack,
    database: Database,
    clock: ManualClock,
    restore_logging: None,
) -> None:
    settings = _settings(fake, log_format)
    captured = io.StringIO()
    setup_logging(settings, stream=captured)
    adapter = SlackAdapter(settings, Engine(database, clock), host="127.0.0.1", port=0)
    await adapter.start()
    worker = DeliveryWorker(database, {Platform.SLACK: adapter.sender}, clock)
    slack = SlackChat(fake, adapter, database, clock)
    replies: list[str] = []
    try:
        await slack.command(ALICE, f"/mentor pair <@{ALICE}|alice> <@{BOB}|bob>")
        await worker.drain()
        await slack.click(BOB, "Accept")
        for line in (
            f"/win {WIN}",
            "/mentor journal",
            f"/mentor milestone add {MILESTONE}",
            "/mentor milestone list",
            f"/mentor feedback {QUESTION}",
            "/mentor feedback list",
        ):
            answer = await slack.command(BOB, line)
            assert answer.status == 200
            replies.append(answer.body)
            await worker.drain()
            await adapter.drain()
    finally:
        await slack.close()
        await adapter.stop()
    # The replies do repeat the words (in the ack's body, which Bolt logs at DEBUG).
    for canary in ECHOED:
        assert any(canary in reply for reply in replies), canary
    assert "Slack: signed in to team" in captured.getvalue()  # the logs were captured
    _assert_clean(captured.getvalue(), log_format)


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_discord_replies_that_repeat_peoples_words_stay_out_of_debug_logs(
    log_format: str, database: Database, clock: ManualClock, restore_logging: None
) -> None:
    replies: list[str] = []
    async with _paired_on_discord(log_format, database, clock) as (chat, captured):
        for line, options in (
            ("win", {"text": WIN}),
            ("mentor journal", {}),
            ("mentor milestone add", {"title": MILESTONE}),
            ("mentor milestone list", {}),
            ("mentor feedback ask", {"question": QUESTION}),
            ("mentor feedback list", {}),
        ):
            replies.append((await chat.slash("bob", line, **options)).text())
    for canary in ECHOED:
        assert any(canary in reply for reply in replies), (canary, replies)
    assert "discord" in captured.getvalue()
    _assert_clean(captured.getvalue(), log_format)


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_console_replies_that_repeat_peoples_words_stay_out_of_debug_logs(
    log_format: str, tmp_path: Path
) -> None:
    script = "\n".join(
        (
            "/mentor pair @alice @bob",
            ":as bob",
            ":click Accept",
            f"/win {WIN}",
            "/mentor journal",
            f"/mentor milestone add {MILESTONE}",
            "/mentor milestone list",
            f"/mentor feedback {QUESTION}",
            "/mentor feedback list",
            ":quit",
        )
    )
    env = _console_env() | {"LOG_LEVEL": "DEBUG", "LOG_FORMAT": log_format}
    done = subprocess.run(
        [*MENTORBOT, "console", "--db", str(tmp_path / "bot.db"), "--start", START],
        input=script,
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=tmp_path,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for canary in ECHOED:
        assert done.stdout.count(canary) >= 2, canary  # typed, and repeated in a reply
    for canary in ECHOED:
        assert canary not in done.stderr, canary
    if log_format == "json":
        for line in done.stderr.splitlines():
            assert {"time", "level", "logger", "message"} <= set(json.loads(line))


def test_no_library_logger_level_gets_around_the_handler(restore_logging: None) -> None:
    settings = Settings(_env_file=None, log_level="DEBUG")  # type: ignore[call-arg]
    captured = io.StringIO()
    setup_logging(settings, stream=captured)
    # As Bolt does when an app is made, and as any library may do to its own loggers.
    for name in ("slack_bolt.AsyncApp", "sqlalchemy.engine.Engine", "discord.http"):
        logging.getLogger(name).setLevel(logging.DEBUG)
        logging.getLogger(name).debug("body: canary-win-debug")
        logging.getLogger(name).warning("a warning of %s", name)
    logging.getLogger("adapters.slack.app").debug("our own debug line")
    output = captured.getvalue()
    assert "canary-win" not in output
    assert output.count("a warning of") == 3
    assert "our own debug line" in output
    for name in ("slack_bolt.AsyncApp", "sqlalchemy.engine.Engine", "discord.http"):
        logging.getLogger(name).setLevel(logging.NOTSET)


def test_a_throttled_note_is_one_line_per_minute_with_the_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [1000.0]
    note = Throttled(logging.getLogger("tests.throttled"), "refused", clock=lambda: now[0])
    for _ in range(500):
        note.note("no signature headers")
    now[0] += 30
    note.note("a wrong signature")
    assert [r.getMessage() for r in caplog.records] == [
        "refused: 1 since the last note (latest: no signature headers)"
    ]
    now[0] += 31  # a minute after the first line
    note.note("a wrong signature")
    assert caplog.records[-1].getMessage() == (
        "refused: 501 since the last note (latest: a wrong signature)"
    )


def test_bolts_note_that_the_token_is_unused_is_not_in_the_log(
    fake: FakeSlack,
    database: Database,
    clock: ManualClock,
    restore_logging: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As `mentorbot run` starts: SLACK_BOT_TOKEN in the environment, which Bolt reads
    itself beside our client. Its "`token` will be unused" warning alarms operators for
    nothing and is dropped; its other warnings are not."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    settings = _settings(fake, "text")
    captured = io.StringIO()
    setup_logging(settings, stream=captured)
    SlackAdapter(settings, Engine(database, clock), host="127.0.0.1", port=0)
    logging.getLogger("slack_bolt.AsyncApp").warning("another note from Bolt")
    output = captured.getvalue()
    assert "another note from Bolt" in output
    assert "will be unused" not in output


def test_an_unknown_log_level_is_refused_clearly_and_warn_is_warning() -> None:
    with pytest.raises(ValueError, match="must be DEBUG, INFO, WARNING, ERROR or CRITICAL"):
        Settings(_env_file=None, log_level="LOUD")  # type: ignore[call-arg]
    assert Settings(_env_file=None, log_level=" warn ").log_level == "WARNING"  # type: ignore[call-arg]
    assert Settings(_env_file=None, log_level="debug").log_level == "DEBUG"  # type: ignore[call-arg]
