"""Files for the person who acted (an export, a stats chart), uploaded through the real
slack_sdk ``files_upload_v2`` into their DM with the bot, against the fake Slack: an
upload URL per file, the bytes POSTed there, one completion that shares them in the DM
with the message as its comment. Refusals become a sentence for the person."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from adapters.slack.app import MAX_FILE_BYTES, SlackAdapter
from adapters.slack.translate import Origin
from bot.clock import ManualClock
from bot.content import Content
from bot.effects import Attachment, Effect, SendFiles
from bot.engine import Engine
from bot.events import CommandInvoked, Event
from bot.refs import Platform, UserRef
from bot.storage.database import Database
from tests.slack.conftest import ALICE, slack_settings
from tests.slack.fake_slack import BOT_TOKEN, TEAM, FakeSlack
from tests.slack.slack_chat import GENERAL, SlackChat, im

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
EXPORT = Attachment("export.json", "application/json", b'{"wins": ["shipped <it> & more"]}')
BRAG = Attachment("brag.md", "text/markdown", "# Brag doc\n\n- ünïcode wins 🎉\n".encode())
CHART = Attachment("activity.png", "image/png", PNG)


def files_for(user: str, *files: Attachment, text: str = "Here is your export.") -> SendFiles:
    return SendFiles(UserRef(Platform.SLACK, TEAM, user), Content(text), files)


def in_channel(fake: FakeSlack, user: str = ALICE) -> Origin:
    """A slash command typed in #general: answers only the person sees go to its
    response_url."""
    return Origin(TEAM, user, channel_id=GENERAL, response_url=fake.response_url())


def notices(fake: FakeSlack) -> list[str]:
    return [str(r.get("text", "")) for r in fake.responses()]


async def test_files_arrive_in_the_dm_with_their_bytes_names_and_message(
    slack: SlackChat, fake: FakeSlack
) -> None:
    effect = files_for(ALICE, EXPORT, BRAG, CHART, text="Your *export* is ready <@U0BOB>")
    await slack.adapter.perform(effect, in_channel(fake))

    assert fake.called("conversations.open") == [{"users": ALICE}]
    shared = fake.shared_files(im(ALICE))
    assert [(u.filename, u.title, u.data) for u in shared] == [
        ("export.json", "export.json", EXPORT.data),
        ("brag.md", "brag.md", BRAG.data),
        ("activity.png", "activity.png", PNG),
    ]
    # One completion shares them all, with the message once, as Slack text (escaped,
    # the mention kept as a mention).
    (completed,) = fake.called("files.completeUploadExternal")
    assert completed["channel_id"] == im(ALICE)
    assert completed["initial_comment"] == "Your *export* is ready <@U0BOB>"
    assert {u.initial_comment for u in shared} == {"Your *export* is ready <@U0BOB>"}
    assert notices(fake) == []  # nothing went wrong, so nothing else is said


async def test_a_file_of_several_megabytes_arrives_whole(slack: SlackChat, fake: FakeSlack) -> None:
    data = bytes(range(256)) * (12 * 1024)  # 3 MB
    chart = Attachment("activity.png", "image/png", data)
    await slack.adapter.perform(files_for(ALICE, chart), in_channel(fake))
    (upload,) = fake.shared_files(im(ALICE))
    assert upload.data == data


async def test_slack_text_in_the_message_is_escaped(slack: SlackChat, fake: FakeSlack) -> None:
    await slack.adapter.perform(files_for(ALICE, EXPORT, text="wins & <b>"), in_channel(fake))
    (upload,) = fake.shared_files(im(ALICE))
    assert upload.initial_comment == "wins &amp; &lt;b&gt;"


async def test_a_missing_scope_is_told_in_plain_words_and_nothing_escapes(
    slack: SlackChat, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    fake.fail("files.getUploadURLExternal", "missing_scope")
    with caplog.at_level(logging.DEBUG):
        await slack.adapter.perform(files_for(ALICE, EXPORT), in_channel(fake))
    assert fake.shared_files(im(ALICE)) == []
    (notice,) = notices(fake)
    assert notice.startswith("I couldn't upload the file (export.json): ")
    assert "files:write" in notice
    assert "Traceback" not in caplog.text
    assert "missing_scope" in caplog.text  # the operator can tell what went wrong…
    assert BOT_TOKEN not in caplog.text  # …without the token
    assert "shipped" not in caplog.text  # …or the file's contents


async def test_a_refused_upload_url_is_told_and_nothing_is_shared(
    slack: SlackChat, fake: FakeSlack
) -> None:
    fake.fail("upload", "upstream broke", status=500)
    await slack.adapter.perform(files_for(ALICE, EXPORT, BRAG), in_channel(fake))
    assert fake.called("files.completeUploadExternal") == []
    assert fake.shared_files(im(ALICE)) == []
    (notice,) = notices(fake)
    assert notice.startswith("I couldn't upload the files (export.json and brag.md): ")


async def test_rate_limited_completion_is_told(slack: SlackChat, fake: FakeSlack) -> None:
    fake.fail("files.completeUploadExternal", "ratelimited", status=429, retry_after=30)
    await slack.adapter.perform(files_for(ALICE, CHART), in_channel(fake))
    assert notices(fake) == [
        "I couldn't upload the file (activity.png): Slack asked me to slow down; "
        "try again in a minute"
    ]


async def test_in_the_dm_the_notice_is_a_dm(slack: SlackChat, fake: FakeSlack) -> None:
    fake.fail("files.completeUploadExternal", "not_in_channel")
    origin = Origin(TEAM, ALICE, channel_id=im(ALICE), private=True)
    await slack.adapter.perform(files_for(ALICE, EXPORT), origin)
    (text,) = slack.dms(ALICE)
    assert text == "I couldn't upload the file (export.json): Slack wouldn't let me post in our DM"


@pytest.fixture
async def small_limit(
    fake: FakeSlack, database: Database, clock: ManualClock
) -> AsyncIterator[SlackAdapter]:
    adapter = SlackAdapter(
        slack_settings(fake), Engine(database, clock), host="127.0.0.1", port=0, max_file_bytes=2048
    )
    await adapter.start()
    yield adapter
    await adapter.stop()


async def test_a_file_over_the_limit_is_refused_politely_and_the_rest_goes(
    small_limit: SlackAdapter, fake: FakeSlack
) -> None:
    assert MAX_FILE_BYTES == 100 * 1024 * 1024  # the default, far above any export
    big = Attachment("huge.json", "application/json", b"x" * 5000)
    await small_limit.perform(files_for(ALICE, big, EXPORT), in_channel(fake))
    assert [u.filename for u in fake.shared_files(im(ALICE))] == ["export.json"]
    assert [u.filename for u in fake.uploads.values()] == ["export.json"]  # not even tried
    assert notices(fake) == [
        "huge.json is 4.9 KB, and Slack takes files of at most 2 KB from me, so I didn't send it."
    ]


async def test_only_files_over_the_limit_sends_nothing_but_the_notice(
    small_limit: SlackAdapter, fake: FakeSlack
) -> None:
    big = Attachment("huge.png", "image/png", bytes(4096))
    await small_limit.perform(files_for(ALICE, big), in_channel(fake))
    assert fake.called("conversations.open") == []
    assert fake.uploads == {}
    (notice,) = notices(fake)
    assert notice.startswith("huge.png is 4 KB, and Slack takes files of at most 2 KB")


# -- through a slash command ----------------------------------------------------------------


class ExportingEngine(Engine):
    """The real Engine, except that ``/mentor export`` answers with files (so this test
    does not wait for the export itself to be built)."""

    async def handle(self, event: Event) -> list[Effect]:
        if isinstance(event, CommandInvoked) and event.text.strip() == "export":
            return [SendFiles(event.user, Content("Everything I keep about you."), (EXPORT,))]
        return await super().handle(event)


@pytest.fixture
async def exporting(
    fake: FakeSlack, database: Database, clock: ManualClock
) -> AsyncIterator[SlackChat]:
    engine = ExportingEngine(database, clock)
    adapter = SlackAdapter(slack_settings(fake), engine, host="127.0.0.1", port=0)
    await adapter.start()
    chat = SlackChat(fake, adapter, database, clock)
    yield chat
    await chat.close()
    await adapter.stop()


async def test_a_slash_command_in_a_channel_says_where_the_files_went(
    exporting: SlackChat, fake: FakeSlack
) -> None:
    answer = await exporting.command(ALICE, "/mentor export")
    assert answer.status == 200
    assert answer.text == "📎 I'm sending export.json to our DM."
    assert answer.json["response_type"] == "ephemeral"
    (upload,) = fake.shared_files(im(ALICE))
    assert (upload.filename, upload.data) == ("export.json", EXPORT.data)
    assert upload.initial_comment == "Everything I keep about you."


async def test_a_slash_command_whose_upload_fails_is_answered_in_plain_words(
    exporting: SlackChat, fake: FakeSlack
) -> None:
    fake.fail("files.getUploadURLExternal", "file_uploads_disabled")
    answer = await exporting.command(ALICE, "/mentor export")
    assert answer.status == 200
    assert notices(fake) == [
        "I couldn't upload the file (export.json): the workspace's admins turned file uploads off"
    ]


async def test_the_real_mentor_export_arrives_as_files_in_the_dm(
    slack: SlackChat, fake: FakeSlack
) -> None:
    """The Engine's own ``/mentor export``: its answer is the ack, its files the DM's."""
    await slack.command(ALICE, "/win shipped the canary release")
    answer = await slack.command(ALICE, "/mentor export")
    assert answer.status == 200 and answer.text  # the Engine's own note
    shared = fake.shared_files(im(ALICE))
    assert {u.filename.rsplit(".", 1)[-1] for u in shared} == {"json", "md"}
    exported = next(u for u in shared if u.filename.endswith(".json"))
    assert exported.data is not None
    assert "shipped the canary release" in exported.data.decode()
    assert shared[0].initial_comment  # the message that goes with them
