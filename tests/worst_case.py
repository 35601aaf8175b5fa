"""The core at its largest: a conversation through the real Engine with the longest
inputs people may type, for the render-contract tests of each platform.

Answers, wins and feedback of 3,000 ``&`` and ``<`` (Slack escapes each into 4 or 5
characters), long names, a person in 60 pairs (the "which pair?" menu, a status of 60
pairs, a win told to 60 partners), 120 milestones of 200 characters, and the forms. Every
Content the engine answered or sent, and every Form it opened, is collected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import update

from bot.clock import ManualClock
from bot.content import Content, Form
from bot.engine import Engine
from bot.storage.database import Database
from bot.storage.models import Member
from bot.text import TEXT_MAX_CHARS, TITLE_MAX_CHARS
from tests.conversation import Chat, pair_up

AMPERSANDS = "&" * TEXT_MAX_CHARS
ANGLES = "<" * TEXT_MAX_CHARS
MIXED = ("<b>&amp; " * (TEXT_MAX_CHARS // 9))[:TEXT_MAX_CHARS]
# As long as an answer may be, and twice as long in UTF-16 units (what Discord counts).
EMOJI = "😀" * TEXT_MAX_CHARS
# The longest name the console takes as a mention; display names get 200 characters.
LONG = "l" * 32
LONG_NAME = "Maximiliane " * 16 + "Long"  # 196 characters
PAIRS = 60
MILESTONES = 120
FIRST_CHECKIN = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


@dataclass
class Produced:
    contents: list[Content] = field(default_factory=list)
    forms: list[Form] = field(default_factory=list)


_PRODUCED: dict[str, Produced] = {}


async def worst_case_once(backend: str, database: Database, clock: ManualClock) -> Produced:
    """:func:`worst_case`, run once per database backend in a test session (it takes a
    few seconds; what it produced is plain values, the same for every test)."""
    if backend not in _PRODUCED:
        _PRODUCED[backend] = await worst_case(database, clock)
    return _PRODUCED[backend]


async def worst_case(database: Database, clock: ManualClock) -> Produced:
    chat = Chat(database, clock)
    chat.engine = Engine(database, clock, max_pairs_per_person=PAIRS + 5)

    await pair_up(chat, "alice", LONG)
    await chat.say("alice", f"/win {AMPERSANDS}")
    await chat.say(LONG, f"/win {ANGLES}")
    await chat.advance(FIRST_CHECKIN - clock.now())
    # The check-in: every answer as long as it may be, full of what Slack escapes.
    for user in ("alice", LONG):
        await chat.click(user, "Great 🙌")
        for answer in (AMPERSANDS, ANGLES, MIXED):
            await chat.say(user, answer)
    for number in range(MILESTONES):
        title = (f"{number} " + "&<" * TITLE_MAX_CHARS)[:TITLE_MAX_CHARS]
        await chat.say("alice", f"/mentor milestone add {title}")
    await chat.say("alice", "/mentor milestone list")
    await chat.say("alice", "/mentor journal")
    await chat.say("alice", f"/mentor feedback {AMPERSANDS}")
    await chat.say("alice", "/mentor status")

    # carol is in 60 pairs.
    for number in range(PAIRS):
        await pair_up(chat, "carol", f"person{number:02d}")
    await _long_display_names(database)
    await chat.say("carol", "/mentor status")
    await chat.say("carol", "/mentor milestone add which one?")  # "which pair?"
    await chat.say("carol", f"/win {MIXED}")  # told to 60 partners

    # The forms.
    await chat.say("alice", "/mentor review")
    # Answered first: the forms open with the longest answers filled in.
    await chat.say(LONG, "/mentor review")
    await chat.say("alice", MIXED)
    await chat.say(LONG, EMOJI)
    for user in ("alice", LONG):
        for label in ("Answer in a form", "Answer in a form"):
            for button in chat.buttons(user):
                if button.label == label:
                    await chat.press(user, button)
                    break

    produced = Produced(forms=[form for _, form in chat.forms])
    produced.contents = [seen.content for seen in chat.recorder.seen]
    produced.contents += [content for _, content in chat.recorder.posts]
    return produced


async def _long_display_names(database: Database) -> None:
    """Names as long as they are stored (what labels and "which pair?" show)."""
    async with database.transaction() as session:
        await session.execute(update(Member).values(display_name=LONG_NAME))
