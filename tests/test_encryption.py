"""Encryption at rest: with DATA_ENCRYPTION_KEY set, no free text reaches the database
in the clear (not the wins, answers, feedback, reviews or milestone titles, nor the queued
messages and flow data that quote them), everything still reads, and keys rotate."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import make_url
from typer.testing import CliRunner, Result

from adapters.cli import app
from bot.clock import ManualClock
from bot.crypto import (
    NO_KEY,
    PREFIX,
    WRONG_KEY,
    EncryptedTextError,
    EncryptionKeyError,
    TextCipher,
    encrypted_columns,
)
from bot.effects import ReplyEphemeral
from bot.events import ButtonClicked, CommandInvoked, MessageReceived
from bot.storage.database import Database, DriverStatement, sqlite_url
from bot.storage.keys import check_readable, rotate_keys
from bot.storage.models import Base, CheckinAnswer, Win
from tests.conftest import START, Templates, empty_postgres
from tests.conversation import Chat, pair_up
from tests.statements import sent_to_postgres

WIN = "zq-canary-win shipped the secret parser"
QUESTION = "In Tuesday's demo, was the zq-canary-question part clear enough for sales?"
ANSWER = "Mostly. zq-canary-answer: slow down on the diagrams and say why before how."
ACTION = "I cut the deck to two diagrams, zq-canary-action, and it landed."
GOAL = "zq-canary-goal give a talk"
WENT_WELL = "zq-canary-went-well the outline session"
IMPROVE = "zq-canary-improve rehearse earlier"
PROGRESS = "zq-canary-progress finished the migration"
CHALLENGE = "zq-canary-challenge saying no"
NEXT_TOPIC = "zq-canary-topic the roadmap"
CANARIES = (WIN, QUESTION, ANSWER, ACTION, GOAL, WENT_WELL, IMPROVE, PROGRESS, CHALLENGE)
KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()


def _canary_words(text: str) -> str:
    """The distinctive token of a canary (what must never appear in the clear)."""
    return next(word for word in text.split() if word.startswith("zq-canary"))


@dataclass
class Storage:
    """One database (a SQLite file or the test PostgreSQL database) opened with
    different keys over a test, as a restart with a changed setting would."""

    backend: str
    url: str
    sqlite_file: Path | None

    def open(self, keys: str | None) -> Database:
        return Database(self.url, cipher=TextCipher.from_setting(keys) if keys else None)

    def raw_bytes(self) -> bytes:
        """The SQLite file and its write-ahead log, byte for byte."""
        assert self.sqlite_file is not None
        files = [self.sqlite_file, self.sqlite_file.with_name(self.sqlite_file.name + "-wal")]
        return b"".join(path.read_bytes() for path in files if path.exists())

    async def raw_rows(self) -> str:
        """Every row of every table, read with the plain driver (no typed columns)."""
        if self.sqlite_file is not None:
            return await asyncio.to_thread(_sqlite_rows, self.sqlite_file)
        plain = make_url(self.url).set(drivername="postgresql")
        connection = await asyncpg.connect(plain.render_as_string(hide_password=False))
        try:
            found: list[str] = []
            for table in Base.metadata.sorted_tables:
                rows = await connection.fetch(f'SELECT * FROM "{table.name}"')
                found += [repr(tuple(row.values())) for row in rows]
            return "\n".join(found)
        finally:
            await connection.close()


def _sqlite_rows(path: Path) -> str:
    connection = sqlite3.connect(path)
    try:
        found: list[str] = []
        for table in Base.metadata.sorted_tables:
            found += [repr(row) for row in connection.execute(f'SELECT * FROM "{table.name}"')]
        return "\n".join(found)
    finally:
        connection.close()


@pytest.fixture
async def storage(backend: str, templates: Templates, tmp_path: Path) -> AsyncIterator[Storage]:
    if backend == "sqlite":
        path = tmp_path / "mentorbot.db"
        shutil.copy(templates.sqlite_file, path)
        yield Storage(backend, sqlite_url(path), path)
        return
    assert templates.postgres_url is not None
    database = Database(templates.postgres_url)
    async with database.engine.begin() as conn:
        await empty_postgres(conn)
    await database.dispose()
    yield Storage(backend, templates.postgres_url, None)


async def every_text(database: Database) -> str:
    """Every encrypted column of every row, read through the typed ORM columns."""
    found: list[str] = []
    async with database.transaction() as session:
        for columns in encrypted_columns(Base.metadata):
            table = Base.metadata.tables[columns.name]
            query = select(*(table.c[name] for name in columns.names))
            found += [repr(tuple(row)) for row in (await session.execute(query)).all()]
    return "\n".join(found)


async def full_scenario(chat: Chat) -> None:
    """alice mentors bob: a win, feedback asked, answered and acted on, a goal done and
    looked back on, then a check-in both answer."""
    await pair_up(chat, "alice", "bob")
    await chat.say("alice", "/mentor cadence monthly")  # the check-in comes after the rest
    assert "Saved to your journal" in await chat.say("bob", f"/win {WIN}")
    assert chat.dms("alice")[-1].startswith(f"<@bob> shared a win: {WIN}\n\n")

    assert "Sent your question" in await chat.say("bob", f"/mentor feedback {QUESTION}")
    await chat.say("alice", ANSWER)
    await chat.advance(timedelta(days=7))
    assert "How did you act" in chat.dms("bob")[-1]
    assert "shared that with <@alice>" in await chat.say("bob", ACTION)

    await chat.say("bob", f"/mentor milestone add {GOAL}")
    await chat.say("alice", "/mentor milestone done 1")
    await chat.say("bob", WENT_WELL)
    assert "shared your look back" in await chat.say("bob", IMPROVE)
    assert f"Went well: {WENT_WELL}" in chat.dms("alice")[-1]
    await chat.say("alice", "alice: it went fine")  # her own look back
    assert "shared your look back" in await chat.say("alice", "alice: nothing")

    await chat.advance(timedelta(days=6))
    assert any("Time for your check-in" in dm for dm in chat.dms("bob"))
    await chat.click("bob", "Great 🙌")
    await chat.say("bob", PROGRESS)
    await chat.say("bob", CHALLENGE)
    await chat.say("bob", NEXT_TOPIC)
    await chat.click("alice", "OK 🙂")
    for line in ("alice: reviewed the plan", "alice: time", "alice: the talk"):
        await chat.say("alice", line)
    shared = [s.content for s in chat.recorder.seen if s.user == "alice" and s.kind == "dm"]
    assert PROGRESS in repr(shared[-1].fields)  # both answered: the answers were shared


async def journal(chat: Chat, user: str = "bob") -> str:
    return await chat.say(user, "/mentor journal")


async def test_with_a_key_no_free_text_is_stored_in_the_clear(storage: Storage) -> None:
    database = storage.open(KEY_A)
    chat = Chat(database, ManualClock(START), admins=frozenset({"alice"}))
    await full_scenario(chat)
    assert (await chat.deliver()).sent == 0  # everything queued was delivered already

    raw = await storage.raw_rows()
    assert PREFIX in raw  # the rows are there, encrypted
    for canary in (*CANARIES, NEXT_TOPIC):
        assert _canary_words(canary) not in raw, canary
    if storage.sqlite_file is not None:
        for canary in (*CANARIES, NEXT_TOPIC):
            assert _canary_words(canary).encode() not in storage.raw_bytes(), canary

    # Everything still reads, through the engine and the typed columns.
    assert WIN in await journal(chat)
    readable = await every_text(database)
    for canary in (*CANARIES, NEXT_TOPIC):
        assert canary in readable, canary
    await database.dispose()
    if storage.sqlite_file is not None:  # closed: the log is folded into the file
        assert b"zq-canary" not in storage.raw_bytes()


async def run_cli(args: list[str], env: dict[str, str]) -> Result:
    """The real command, in a thread of its own (it runs its own event loop)."""
    return await asyncio.to_thread(CliRunner().invoke, app, args, env=env)


async def test_keys_rotate_and_the_old_key_alone_no_longer_reads(storage: Storage) -> None:
    clock = ManualClock(START)
    first = storage.open(KEY_A)
    chat = Chat(first, clock, admins=frozenset({"alice"}))
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", f"/win {WIN}")
    await chat.say("bob", f"/mentor feedback {QUESTION}")  # a flow waiting for alice
    await chat.say("bob", f"/mentor milestone add {GOAL}")
    await first.dispose()

    both = storage.open(f"{KEY_B},{KEY_A}")
    assert WIN in await journal(Chat(both, clock))
    assert GOAL in await every_text(both)
    await both.dispose()

    env = {"DATABASE_URL": storage.url, "DATA_ENCRYPTION_KEY": f"{KEY_B}, {KEY_A}"}
    rotated = await run_cli(["db", "rotate-key"], env)
    assert rotated.exit_code == 0, rotated.output
    assert "encrypted with the first key (free text is encrypted at rest (2 keys))" in (
        rotated.output
    )
    assert not rotated.output.startswith("0 values")
    again = await run_cli(["db", "rotate-key"], env)
    assert again.exit_code == 0, again.output
    assert again.output.startswith("0 values in 0 rows")  # nothing left to do

    only_b = storage.open(KEY_B)
    await check_readable(only_b, Base.metadata)
    readable = await every_text(only_b)
    for canary in (WIN, QUESTION, GOAL):
        assert canary in readable
    chat_b = Chat(only_b, clock, admins=frozenset({"alice"}))
    assert WIN in await journal(chat_b)
    await chat_b.say("alice", ANSWER)  # the waiting flow continues under the new key
    assert any(ANSWER in dm for dm in chat_b.dms("bob"))
    assert ANSWER in await every_text(only_b)
    await only_b.dispose()

    only_a = storage.open(KEY_A)
    with pytest.raises(EncryptedTextError) as failure:
        await check_readable(only_a, Base.metadata)
    assert failure.value.message == WRONG_KEY
    # A member asking for their journal gets a sentence, not a stack trace.
    assert await journal(Chat(only_a, clock)) == WRONG_KEY
    await only_a.dispose()

    no_key = storage.open(None)
    with pytest.raises(EncryptedTextError, match="set DATA_ENCRYPTION_KEY"):
        await every_text(no_key)
    assert await journal(Chat(no_key, clock)) == NO_KEY
    await no_key.dispose()
    refused = await run_cli(["dispatch"], {"DATABASE_URL": storage.url})
    assert refused.exit_code != 0
    assert "Traceback" not in refused.output
    assert "this database holds encrypted text: set DATA_ENCRYPTION_KEY" in refused.output


async def test_plain_rows_from_before_the_key_still_read_and_rotate_key_encrypts_them(
    storage: Storage,
) -> None:
    clock = ManualClock(START)
    plain = storage.open(None)
    chat = Chat(plain, clock, admins=frozenset({"alice"}))
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", f"/win {WIN}")
    await chat.say("bob", f"/mentor feedback {QUESTION}")
    await plain.dispose()
    assert _canary_words(WIN) in await storage.raw_rows()  # stored in the clear

    keyed = storage.open(KEY_A)
    chat = Chat(keyed, clock, admins=frozenset({"alice"}))
    await chat.say("alice", ANSWER)  # a flow begun in plain text finishes encrypted
    await chat.say("bob", f"/win {GOAL}")
    page = await journal(chat)
    assert WIN in page and GOAL in page
    raw = await storage.raw_rows()
    assert _canary_words(WIN) in raw and _canary_words(GOAL) not in raw

    report = await rotate_keys(keyed, Base.metadata, batch_size=2)  # several batches
    assert report.values > 0
    raw = await storage.raw_rows()
    for canary in (WIN, QUESTION, ANSWER, GOAL):
        assert _canary_words(canary) not in raw, canary
    readable = await every_text(keyed)
    for canary in (WIN, QUESTION, ANSWER, GOAL):
        assert canary in readable, canary
    assert (await rotate_keys(keyed, Base.metadata)).values == 0
    await keyed.dispose()


GARBAGE = "s3cret-garbage-key-value-do-not-echo"


@pytest.mark.parametrize(
    ("setting", "which"),
    [
        (GARBAGE, "the key"),
        (f"{KEY_A},{GARBAGE}", "key 2 of 2"),
        ("c2hvcnQ=", "the key"),  # valid base64, wrong length
        (" , ", "holds no key"),
    ],
    # Named, not shown: the keys are random, and xdist's workers must collect alike.
    ids=["garbage", "garbage-second", "short", "blank"],
)
def test_a_bad_key_is_named_and_never_echoed(setting: str, which: str) -> None:
    with pytest.raises(EncryptionKeyError) as failure:
        TextCipher.from_setting(setting)
    message = str(failure.value)
    assert "DATA_ENCRYPTION_KEY" in message and which in message
    assert GARBAGE not in message and "c2hvcnQ" not in message and KEY_A not in message


def test_a_bad_key_stops_the_start_with_a_clear_error(tmp_path: Path) -> None:
    env = {"DATABASE_URL": sqlite_url(tmp_path / "bot.db"), "DATA_ENCRYPTION_KEY": GARBAGE}
    for command in (
        ["dispatch"],
        ["db", "rotate-key"],
        ["console", "--db", str(tmp_path / "c.db")],
    ):
        done = CliRunner().invoke(app, command, env=env, input=":quit\n")
        assert done.exit_code != 0, command
        assert "Traceback" not in done.output
        assert "DATA_ENCRYPTION_KEY is not valid" in done.output
        assert GARBAGE not in done.output


def test_rotate_key_without_a_key_says_what_to_set(tmp_path: Path) -> None:
    done = CliRunner().invoke(
        app, ["db", "rotate-key"], env={"DATABASE_URL": sqlite_url(tmp_path / "bot.db")}
    )
    assert done.exit_code != 0
    assert "set DATA_ENCRYPTION_KEY first" in done.output


@pytest.mark.parametrize(
    ("keys", "line"),
    [
        (None, "free text is stored in plain text (set DATA_ENCRYPTION_KEY to encrypt it)"),
        (KEY_A, "free text is encrypted at rest (1 key)"),
        (f"{KEY_B},{KEY_A}", "free text is encrypted at rest (2 keys)"),
    ],
    ids=["plain", "one-key", "two-keys"],
)
def test_dispatch_says_once_how_free_text_is_stored(
    tmp_path: Path, keys: str | None, line: str
) -> None:
    env: dict[str, Any] = {"DATABASE_URL": sqlite_url(tmp_path / "bot.db")}
    env["DATA_ENCRYPTION_KEY"] = keys
    env["LOG_LEVEL"] = "INFO"
    moment = datetime(2026, 11, 30, 10, tzinfo=UTC).isoformat()
    done = CliRunner().invoke(app, ["dispatch", "--now", moment], env=env)
    assert done.exit_code == 0, done.output
    assert done.output.count(line) == 1
    assert KEY_A not in done.output and KEY_B not in done.output


def test_ciphertext_differs_each_time_and_round_trips() -> None:
    cipher = TextCipher.from_setting(KEY_A)
    first, second = cipher.encrypt(WIN), cipher.encrypt(WIN)
    assert first != second and first.startswith(PREFIX) and WIN not in first
    assert cipher.decrypt(first) == WIN
    assert cipher.decrypt("written before the key") == "written before the key"
    assert cipher.reencrypted(first) is None
    assert TextCipher.from_setting(f"{KEY_B},{KEY_A}").decrypt(first) == WIN
    with pytest.raises(EncryptedTextError):
        TextCipher.from_setting(KEY_B).decrypt(first)


async def test_a_win_at_once_is_stored_encrypted_too(storage: Storage) -> None:
    """PostgreSQL sends a known person's keyed /win as SQL compiled once
    (``Database.fetch_alone``): its values are still converted by their columns' types,
    so the win and the news that quotes it are encrypted as the usual way's are."""
    database = storage.open(KEY_A)
    chat = Chat(database, ManualClock(START))
    await pair_up(chat, "alice", "bob")
    assert "(win #1)" in await chat.say("bob", "/win the first", key="e1")
    win = CommandInvoked(user=chat.ref("bob"), command="win", text=WIN, event_key="e2")
    with sent_to_postgres() as sent:
        [answer] = await chat.engine.handle(win)
    assert isinstance(answer, ReplyEphemeral) and "(win #2)" in answer.content.text
    if storage.sqlite_file is None:  # at once: one statement
        assert [" ".join(s.split())[:31] for s in sent] == ["WITH counted AS (UPDATE members"]
    await chat.deliver()
    assert chat.dms("alice")[-1] == f"<@bob> shared a win: {WIN}"
    raw = await storage.raw_rows()
    assert PREFIX in raw and _canary_words(WIN) not in raw
    assert WIN in await journal(chat)
    await database.dispose()


async def test_check_in_answers_at_once_read_and_write_encrypted_rows(storage: Storage) -> None:
    """A mood click and a typed answer at once (PostgreSQL) read their flow's encrypted
    data (the check-in it belongs to) and store the answer and the next question's DM
    encrypted, as the usual way does."""
    database = storage.open(KEY_A)
    chat = Chat(database, ManualClock(START))
    await pair_up(chat, "alice", "bob")
    await chat.advance(datetime(2026, 11, 30, 10, 0, tzinfo=UTC) - chat.clock.now())
    great = next(b for b in chat.buttons("bob") if b.label == "Great 🙌")
    click = ButtonClicked(user=chat.ref("bob"), action_id=great.action_id, event_key="c1")
    typed = MessageReceived(user=chat.ref("bob"), text=WIN, event_key="t1")
    with sent_to_postgres() as sent:
        await chat.engine.handle(click)
        assert await chat.engine.handle(typed) == []
    if storage.sqlite_file is None:  # at once: a read and one statement each
        assert [s.split()[0] for s in sent] == ["SELECT", "WITH", "SELECT", "WITH"], sent
    await chat.deliver()
    assert chat.dms("bob")[-2:] == [
        "What moved forward since last time?",
        "What is hard right now?",
    ]
    async with database.transaction() as session:
        answer = (await session.execute(select(CheckinAnswer))).scalar_one()
    assert (answer.mood, answer.progress) == ("great", WIN)
    raw = await storage.raw_rows()
    assert _canary_words(WIN) not in raw
    await database.dispose()


async def test_a_statement_sent_by_the_driver_reads_no_encrypted_column(storage: Storage) -> None:
    """``DriverStatement`` hands back rows as the driver reads them, which for an
    encrypted column would be its ciphertext: such a statement is refused when it is
    compiled, before it could answer anyone with it."""
    database = storage.open(KEY_A)
    try:
        one = Win.id == bindparam("id")
        with pytest.raises(ValueError, match="converts"):
            DriverStatement(select(Win.id, Win.text).where(one), database.engine.dialect)
        returning = update(Win).where(one).values(text="").returning(Win.text)
        with pytest.raises(ValueError, match="converts"):
            DriverStatement(returning, database.engine.dialect)
        DriverStatement(select(Win.id, Win.member_id).where(one), database.engine.dialect)
        # Nor one whose SQL the compiler finishes at each call (a list as one parameter).
        listed = select(Win.id).where(Win.member_id.in_([1, 2]))
        with pytest.raises(ValueError, match="rendered per call"):
            DriverStatement(listed, database.engine.dialect)
    finally:
        await database.dispose()
