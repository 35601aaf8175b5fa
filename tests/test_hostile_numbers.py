"""Numbers typed or forged into button values: huge, zero, or past Python's 4,300-digit
limit. Each gets a clear reply, never "Sorry" and never an ERROR in the log, on SQLite
and PostgreSQL alike (negative OFFSET and integer overflow fail only on one of them)."""

from __future__ import annotations

import logging

import pytest

from adapters.console.translate import ConsoleInputError, parse_duration
from bot.engine import SORRY
from bot.events import ButtonClicked
from bot.numbers import DB_INT_MAX, whole_number
from tests.conversation import Chat, pair_up
from tests.test_bad_input import snapshot

DIGITS = "9" * 5000
HUGE = "99999999999999999999"

TYPED = [
    (f"/mentor pause {DIGITS}d", "from one day to six months"),
    (f"/mentor pause {DIGITS}w", "from one day to six months"),
    (f"/mentor pause {HUGE}w", "from one day to six months"),
    (f"/mentor milestone done {DIGITS}", "by its number"),
    (f"/mentor milestone done #{HUGE}", "by its number"),
    (f"/mentor journal {DIGITS}", "is not a page number"),
    ("/mentor journal 0", "is not a page number"),
    ("/mentor journal ３", "is not a page number"),  # a full-width digit
]


@pytest.mark.parametrize(("line", "expected"), TYPED, ids=lambda v: repr(v)[:30])
async def test_huge_numbers_typed_get_a_clear_reply(
    chat: Chat, caplog: pytest.LogCaptureFixture, line: str, expected: str
) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", "/win a row to page through")
    before = await snapshot(chat)
    answer = await chat.say("bob", line)
    assert expected in answer
    assert SORRY not in answer
    assert len(answer) < 500  # the 5,000 digits are not repeated back
    assert await snapshot(chat) == before
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


FORGED = [
    "journal:0",
    f"journal:{HUGE}",
    f"journal:{DIGITS}",
    f"flow:{HUGE}:accept",
    f"flow:{DIGITS}:accept",
    f"skip:{HUGE}:1700000000",
    f"skip:1:{DIGITS}",
    f"unskip:{HUGE}:1700000000:1700600000",
    f"unskip:1:{DIGITS}:1700600000",
]


@pytest.mark.parametrize("action", FORGED, ids=lambda v: v[:24])
async def test_forged_numbers_in_buttons_change_nothing(
    chat: Chat, caplog: pytest.LogCaptureFixture, action: str
) -> None:
    await pair_up(chat, "alice", "bob")
    await chat.say("bob", "/win a row to page through")
    before = await snapshot(chat)
    effects = await chat.send(ButtonClicked(user=chat.ref("bob"), action_id=action))
    text = effects[0].content.text  # type: ignore[union-attr]
    assert SORRY not in text
    assert "no longer open, so nothing changed" in text
    assert await snapshot(chat) == before
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_forged_pair_choice_is_stale(chat: Chat, caplog: pytest.LogCaptureFixture) -> None:
    await pair_up(chat, "alice", "bob")
    await pair_up(chat, "alice", "carol")
    assert "Which one do you mean?" in await chat.say("alice", "/mentor checkin")
    offered = chat.buttons("alice")[0].action_id
    prefix = offered.rsplit(":", 1)[0]
    before = await snapshot(chat)
    for choice in (HUGE, DIGITS):
        forged = ButtonClicked(user=chat.ref("alice"), action_id=f"{prefix}:{choice}")
        text = (await chat.send(forged))[0].content.text  # type: ignore[union-attr]
        assert SORRY not in text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert (await snapshot(chat))["pairs"] == before["pairs"]


def test_whole_numbers_are_ascii_digits_within_range() -> None:
    assert whole_number("42") == 42
    assert whole_number("0" * 5000 + "7") == 7
    assert whole_number(str(DB_INT_MAX)) == DB_INT_MAX
    for refused in ("", "0", "-1", "+1", " 1", "1.0", "٣", "３", "²", str(DB_INT_MAX + 1), DIGITS):
        assert whole_number(refused) is None, refused
    assert whole_number("0", low=0) == 0
    assert whole_number("8", high=7) is None


@pytest.mark.parametrize("raw", [f"{DIGITS}d", f"{HUGE}h", "0m"], ids=lambda v: v[:12])
def test_the_console_clock_refuses_huge_advances_in_words(raw: str) -> None:
    with pytest.raises(ConsoleInputError, match="positive amount, at most ten years"):
        parse_duration(raw)
