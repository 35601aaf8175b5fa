"""Files for the person who acted (an export, a stats chart) as attachments of a DM
message: multipart/form-data with ``payload_json`` and ``files[n]`` through discord.py's
own HTTP client, against the fake Discord. Refusals become a sentence for the person;
nothing escapes as an exception."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import discord
import pytest

from adapters.discord.sender import MAX_FILE_BYTES, DiscordSender, file_messages, files_failure
from bot.clock import ManualClock
from bot.content import Content
from bot.effects import Attachment, Effect, SendFiles
from bot.engine import Engine
from bot.events import CommandInvoked, Event, MessageReceived
from bot.refs import Platform, UserRef
from bot.storage.database import Database
from tests.discord.chat import DiscordChat, RunningBot, running_bot
from tests.discord.fake_discord import TOKEN, FakeDiscord, text_of

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
EXPORT = Attachment("export.json", "application/json", b'{"wins": ["shipped it"]}')
BRAG = Attachment("brag.md", "text/markdown", "# Brag doc\n\n- ünïcode wins 🎉\n".encode())
CHART = Attachment("activity.png", "image/png", PNG)
SECRET_TEXT = "a canary win nobody may log"


def files_for(user_id: str, *files: Attachment, text: str = "Here is your export.") -> SendFiles:
    return SendFiles(UserRef(Platform.DISCORD, "1", user_id), Content(text), files)


async def test_files_arrive_in_the_dm_as_attachments_with_their_bytes_and_types(
    sender: DiscordSender, fake: FakeDiscord
) -> None:
    bob = fake.add_user("Bob")
    notices = await sender.deliver_files(files_for(bob, EXPORT, BRAG, CHART))
    assert notices == []
    (message,) = fake.dms(bob)
    assert text_of(message) == "Here is your export."
    assert [(u.filename, u.content_type, u.data) for u in fake.files(message)] == [
        ("export.json", "application/json", EXPORT.data),
        ("brag.md", "text/markdown", BRAG.data),
        ("activity.png", "image/png", PNG),  # an image type: Discord shows it inline
    ]
    assert [a["filename"] for a in message["attachments"]] == [
        "export.json",
        "brag.md",
        "activity.png",
    ]
    (request,) = fake.requests_to("POST", rf"/channels/{fake.dm_channels[bob]}/messages")
    assert request.headers["Content-Type"].startswith("multipart/form-data")
    assert request.body["attachments"] == [
        {"id": 0, "filename": "export.json"},
        {"id": 1, "filename": "brag.md"},
        {"id": 2, "filename": "activity.png"},
    ]
    assert request.body["allowed_mentions"] == {"parse": []}


async def test_more_than_ten_files_go_in_several_messages(
    sender: DiscordSender, fake: FakeDiscord
) -> None:
    bob = fake.add_user("Bob")
    many = [Attachment(f"week-{n}.md", "text/markdown", f"week {n}".encode()) for n in range(12)]
    assert await sender.deliver_files(files_for(bob, *many)) == []
    first, second = fake.dms(bob)
    assert text_of(first) == "Here is your export." and text_of(second) == ""
    assert [u.filename for u in fake.files(first)] == [f"week-{n}.md" for n in range(10)]
    assert [u.data for u in fake.files(second)] == [b"week 10", b"week 11"]


def test_files_are_grouped_by_count_and_size() -> None:
    five = Attachment("a", "text/plain", bytes(5))
    assert [len(g) for g in file_messages([five] * 5, limit=10, per_message=10)] == [2, 2, 1]
    assert [len(g) for g in file_messages([five] * 5, limit=100, per_message=3)] == [3, 2]
    assert file_messages([]) == []


async def test_closed_dms_are_told_in_plain_words_and_nothing_is_logged_of_the_content(
    sender: DiscordSender, fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    bob = fake.add_user("Bob")
    fake.closed_dms.add(bob)
    secret = Attachment("export.json", "application/json", SECRET_TEXT.encode())
    with caplog.at_level(logging.DEBUG, logger="adapters"):
        notices = await sender.deliver_files(files_for(bob, secret, text=SECRET_TEXT))
    assert notices == [
        "I couldn't upload the file (export.json): your DMs are closed to me: allow direct "
        "messages from server members (the server's Privacy Settings) and ask again"
    ]
    assert fake.dms(bob) == []
    assert "50007" in caplog.text
    assert SECRET_TEXT not in caplog.text
    assert TOKEN not in caplog.text


@pytest.mark.parametrize(
    ("status", "code", "reason"),
    [
        (413, 40005, "Discord said they are too big to send"),
        (503, 0, "Discord is having trouble right now; try again in a few minutes"),
        (400, 50035, "Discord refused them (400, code 50035)"),
    ],
)
async def test_discord_refusals_become_sentences(
    sender: DiscordSender, fake: FakeDiscord, status: int, code: int, reason: str
) -> None:
    bob = fake.add_user("Bob")
    fake.fail("POST", r"/channels/\d+/messages", status, {"message": "no", "code": code})
    notices = await sender.deliver_files(files_for(bob, EXPORT, CHART))
    assert notices == [f"I couldn't upload the files (export.json and activity.png): {reason}"]
    assert fake.dm_files(bob) == []


async def test_a_file_over_the_limit_is_refused_politely_without_asking_discord(
    sender: DiscordSender, fake: FakeDiscord
) -> None:
    bob = fake.add_user("Bob")
    big = Attachment("huge.json", "application/json", bytes(MAX_FILE_BYTES + 1))
    assert await sender.deliver_files(files_for(bob, big)) == [
        "huge.json is just over 10 MB, and Discord takes files of at most 10 MB from me, "
        "so I didn't send it."
    ]
    assert fake.requests_to("POST", ".*") == []  # not even the DM channel was opened


async def test_a_file_at_the_limit_goes_and_one_over_it_does_not(
    sender: DiscordSender, fake: FakeDiscord
) -> None:
    bob = fake.add_user("Bob")
    exact = Attachment("exact.bin", "application/octet-stream", b"\x01" * MAX_FILE_BYTES)
    big = Attachment("huge.png", "image/png", bytes(MAX_FILE_BYTES + 1))
    notices = await sender.deliver_files(files_for(bob, big, exact))
    assert [n.split(",")[0] for n in notices] == ["huge.png is just over 10 MB"]
    (upload,) = fake.dm_files(bob)
    assert (upload.filename, upload.data) == ("exact.bin", exact.data)


async def test_past_the_check_discord_itself_refuses_with_40005(
    sender: DiscordSender, fake: FakeDiscord
) -> None:
    """The limit is Discord's own (10 MiB for a bot in a server without boosts): what the
    check keeps back is what Discord would refuse, in words the person understands."""
    assert MAX_FILE_BYTES == 10 * 1024 * 1024
    channel = await sender.dm_channel(fake.add_user("Bob"))
    big = Attachment("huge.json", "application/json", bytes(MAX_FILE_BYTES + 1))
    with pytest.raises(discord.HTTPException) as raised:
        await sender.post_files(channel, {"content": "too big"}, [big])
    assert (raised.value.status, raised.value.code) == (413, 40005)
    assert files_failure(raised.value).reason == "Discord said they are too big to send"


# -- through the running bot -----------------------------------------------------------------


class ExportingEngine(Engine):
    """The real Engine, except that ``/mentor export`` (or ``export`` typed in the DM)
    answers with files, so these tests do not wait for the export itself."""

    async def handle(self, event: Event) -> list[Effect]:
        asked = (isinstance(event, CommandInvoked) and event.text.strip() == "export") or (
            isinstance(event, MessageReceived) and event.text.strip() == "export"
        )
        if asked:
            content = Content("Everything I keep about you.")
            return [SendFiles(event.user, content, (EXPORT, CHART))]
        return await super().handle(event)


@pytest.fixture
async def exporting(
    fake: FakeDiscord, chat: DiscordChat, database: Database, clock: ManualClock
) -> AsyncIterator[None]:
    async with running_bot(
        fake, database, clock, guild_id=chat.guild, engine_factory=ExportingEngine
    ):
        yield


async def test_a_slash_command_answers_privately_and_the_files_go_to_the_dm(
    exporting: None, chat: DiscordChat, fake: FakeDiscord
) -> None:
    record = await chat.slash("alice", "mentor export")
    await fake.until(lambda: "I sent" in record.text())
    assert record.callbacks[0]["type"] == 5  # "thinking…" first: an upload may be slow
    assert record.callbacks[0]["data"]["flags"] == 64  # only alice sees the answer
    assert record.text() == "📎 I sent export.json and activity.png to our DM."
    (message,) = fake.dms(chat.id("alice"))
    assert text_of(message) == "Everything I keep about you."
    assert [(u.filename, u.data) for u in fake.files(message)] == [
        ("export.json", EXPORT.data),
        ("activity.png", PNG),
    ]


async def test_a_slash_command_with_closed_dms_is_told_why(
    exporting: None, chat: DiscordChat, fake: FakeDiscord
) -> None:
    fake.closed_dms.add(chat.id("alice"))
    record = await chat.slash("alice", "mentor export")
    await fake.until(lambda: "couldn't" in record.text())
    assert record.text().startswith(
        "I couldn't upload the files (export.json and activity.png): your DMs are closed"
    )
    assert fake.dm_files(chat.id("alice")) == []


async def test_asked_in_the_dm_the_files_come_in_the_dm(
    exporting: None, chat: DiscordChat, fake: FakeDiscord
) -> None:
    await chat.slash("alice", "mentor help")  # the bot now knows alice's server
    await fake.user_dm(chat.id("alice"), "export")
    await fake.until(lambda: fake.dm_files(chat.id("alice")))
    assert [u.data for u in fake.dm_files(chat.id("alice"))] == [EXPORT.data, PNG]


async def test_asked_in_the_dm_a_refusal_is_said_in_the_dm(
    exporting: None, chat: DiscordChat, fake: FakeDiscord
) -> None:
    await chat.slash("alice", "mentor help")
    fake.fail("POST", r"/channels/\d+/messages", 413, {"message": "big", "code": 40005})
    await fake.user_dm(chat.id("alice"), "export")
    note = await chat.dm_arrives("alice", "couldn't upload")
    assert text_of(note) == (
        "I couldn't upload the files (export.json and activity.png): Discord said they "
        "are too big to send"
    )


async def test_the_real_mentor_export_arrives_as_files_in_the_dm(
    bot: RunningBot, chat: DiscordChat, fake: FakeDiscord
) -> None:
    """The Engine's own ``/mentor export``: its note answers the interaction, its files
    come in the DM."""
    await chat.slash("alice", "win", text="shipped the canary release")
    record = await chat.slash("alice", "mentor export")
    assert record.callbacks[0]["data"]["flags"] == 64
    files = await fake.until(lambda: fake.dm_files(chat.id("alice")))
    assert {u.filename.rsplit(".", 1)[-1] for u in files} == {"json", "md"}
    exported = next(u for u in files if u.filename.endswith(".json"))
    assert exported.content_type == "application/json"
    assert "shipped the canary release" in exported.data.decode()
