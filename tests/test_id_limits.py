"""Ids longer than their columns: SQLite stored them, PostgreSQL failed with a traceback.
One rule (bot/ids.py, read from the columns) refuses them at the edge with a clear
reply, so both databases accept and refuse exactly the same inputs."""

from __future__ import annotations

import logging
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.engine import SORRY, UNREADABLE_SENDER
from bot.events import CommandInvoked
from bot.ids import ID_MAX_CHARS, fits_id
from bot.refs import Platform, UserRef
from bot.storage.models import Member, Workspace
from tests.conversation import Chat
from tests.test_bad_input import snapshot

TOO_LONG = "too long to be real"
ID_CHARS = string.ascii_uppercase + string.digits + "_.-"
ids = st.one_of(
    st.text(ID_CHARS, min_size=1, max_size=2 * ID_MAX_CHARS),
    st.integers(ID_MAX_CHARS - 2, ID_MAX_CHARS + 2).map(lambda n: "U" * n),
)


async def answer(chat: Chat, text: str, user: str = "alice") -> str:
    event = CommandInvoked(user=chat.ref(user), command="mentor", text=text)
    effects = await chat.send(event)
    return "\n".join(e.content.text for e in effects if hasattr(e, "content"))


def test_the_limit_is_the_narrowest_id_column() -> None:
    assert ID_MAX_CHARS == 64
    assert Member.__table__.c.external_id.type.length == ID_MAX_CHARS  # type: ignore[attr-defined]


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    derandomize=True,  # the same inputs on SQLite and on PostgreSQL
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(person=ids, channel=ids)
async def test_both_databases_accept_and_refuse_the_same_ids(
    chat: Chat, caplog: pytest.LogCaptureFixture, person: str, channel: str
) -> None:
    proposed = await answer(chat, f"pair <@alice> <@{person}>")
    assert SORRY not in proposed
    assert (TOO_LONG in proposed) == (not fits_id(person)), proposed
    configured = await answer(chat, f"config shoutouts <#{channel}>")
    assert SORRY not in configured
    assert (TOO_LONG in configured) == (not fits_id(channel)), configured

    async with chat.database.transaction() as session:
        stored = set(await session.scalars(select(Member.external_id)))
        shoutouts = set(await session.scalars(select(Workspace.shoutout_channel_id)))
    assert (person in stored) == fits_id(person)
    assert (channel in shoutouts) == fits_id(channel)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    "text",
    [f"pair <@A{'A' * 79}> <@U0BOB>", f"config shoutouts <#C{'C' * 99}>", f"end <@B{'B' * 70}>"],
    ids=["pair", "shoutouts", "end"],
)
async def test_the_issues_long_ids_are_refused_clearly(
    chat: Chat, caplog: pytest.LogCaptureFixture, text: str
) -> None:
    before = await snapshot(chat)
    said = await answer(chat, text)
    assert TOO_LONG in said and SORRY not in said
    assert len(said) < 600
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    after = await snapshot(chat)
    # The sender is remembered (workspace and member rows); nothing else.
    assert {name: rows for name, rows in after.items() if rows != before[name]}.keys() <= {
        "workspaces",
        "members",
    }


async def test_an_event_from_an_id_too_long_is_refused(
    chat: Chat, caplog: pytest.LogCaptureFixture
) -> None:
    before = await snapshot(chat)
    for user in (UserRef(Platform.SLACK, "T1", "U" * 80), UserRef(Platform.SLACK, "T" * 80, "U1")):
        effects = await chat.send(CommandInvoked(user=user, command="win", text="shipped it"))
        assert [e.content.text for e in effects] == [UNREADABLE_SENDER]  # type: ignore[union-attr]
    assert await snapshot(chat) == before
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
