"""A "which pair?" with more pairs than buttons allow: a string select, whose choice
runs the command for the chosen pair, through the real discord.py against the fake."""

from __future__ import annotations

from sqlalchemy import select

from bot.clock import ManualClock
from bot.pairs_import import import_pairs
from bot.storage.database import Database
from bot.storage.models import Member, Milestone, Pair
from tests.discord.chat import DiscordChat, RunningBot
from tests.discord.fake_discord import FakeDiscord, buttons_of

PARTNERS = 30  # more than Discord's 25 buttons, and more than one select's 25 options


async def test_which_pair_beyond_buttons_is_a_menu_and_its_choice_counts(
    bot: RunningBot,
    chat: DiscordChat,
    fake: FakeDiscord,
    database: Database,
    clock: ManualClock,
) -> None:
    partners = [fake.add_user(f"Partner {n:02d}") for n in range(PARTNERS)]
    rows = [
        {
            "platform": "discord",
            "workspace_id": chat.guild,
            "mentor_id": chat.id("alice"),
            "mentee_id": partner,
        }
        for partner in partners
    ]
    # Pairs made before there was a cap: more than MAX_PAIRS_PER_PERSON.
    report = await import_pairs(database, rows, clock.now(), max_pairs_per_person=None)
    assert report.created == PARTNERS

    asked = await chat.slash("alice", "mentor milestone add", title="ship the parser")

    (message,) = asked.messages
    assert not buttons_of(message)
    menus = [c for row in message["components"] for c in row["components"] if c["type"] == 3]
    assert [len(m["options"]) for m in menus] == [25, 5]
    # The 28th pair: only the second menu holds it.
    # (Imported people have no name yet: the label shows their id.)
    label = next(o["label"] for o in menus[1]["options"] if partners[27] in o["label"])
    chosen = await fake.answered(await fake.interact(fake.choose(chat.id("alice"), message, label)))

    # The question with the choice after it, then the command's own answer, for the pair.
    await fake.until(lambda: "ship the parser" in chosen.text())
    async with database.transaction() as session:
        (pair_id,) = (await session.execute(select(Milestone.pair_id))).scalars()
        pair = await session.get(Pair, pair_id)
        assert pair is not None
        mentee = await session.get(Member, pair.mentee_id)
    assert mentee is not None and mentee.external_id == partners[27]
