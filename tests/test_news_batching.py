"""A person with many partners gets the win news that waits for delivery in one DM,
not one per win."""

from __future__ import annotations

from bot.events import CommandInvoked
from bot.wins import NEWS_BATCH_CHARS, NEWS_BATCH_PARTNERS, NEWS_HEADER
from tests.conversation import Chat, pair_up

PARTNERS = NEWS_BATCH_PARTNERS + 1


async def _win(chat: Chat, user: str, text: str) -> None:
    """A /win whose DMs stay queued (delivery is busy elsewhere)."""
    await chat.engine.handle(CommandInvoked(user=chat.ref(user), command="win", text=text))


async def test_news_waiting_for_one_person_goes_out_in_one_dm(chat: Chat) -> None:
    for n in range(PARTNERS):
        await pair_up(chat, "hub", f"p{n}")
    for n in range(PARTNERS):
        await _win(chat, f"p{n}", f"win number {n}")
    await chat.deliver()
    news = [dm for dm in chat.dms("hub") if "shared a win" in dm]
    assert len(news) == 1
    [batch] = news
    assert batch.startswith(NEWS_HEADER)
    # Each first win reaches a milestone: the hub hears of it on the next line of the
    # same DM (one event, one message), not in a DM of its own.
    assert [line for line in batch.split("\n")[1:]] == [
        line
        for n in range(PARTNERS)
        for line in (
            f"• <@p{n}> shared a win: win number {n}",
            f"• 🎉 <@p{n}> reached a milestone: *First win*",
        )
    ]
    assert not [dm for dm in chat.dms("hub") if "reached a milestone" in dm and dm != batch]


async def test_a_batch_that_is_full_starts_another(chat: Chat) -> None:
    for n in range(NEWS_BATCH_PARTNERS - 1):
        await pair_up(chat, "hub", f"p{n}")
    await pair_up(chat, "hub", "pat")
    long = "x" * 700
    for n in range(3):
        await _win(chat, "pat", f"{n} {long}")
    await chat.deliver()
    news = [dm for dm in chat.dms("hub") if "shared a win" in dm]
    assert len(news) == 2
    assert all(len(dm) <= NEWS_BATCH_CHARS for dm in news)
    assert sum(dm.count("shared a win") for dm in news) == 3


async def test_news_already_sent_is_not_changed(chat: Chat) -> None:
    await pair_up(chat, "hub", "pat")
    await chat.say("pat", "/win first")  # delivered at once
    await chat.say("pat", "/win second")
    assert [dm for dm in chat.dms("hub") if "shared a win" in dm] == [
        "<@pat> shared a win: first\n\n🎉 <@pat> reached a milestone: *First win*",
        "<@pat> shared a win: second",
    ]


async def test_someone_with_few_partners_gets_one_dm_a_win(chat: Chat) -> None:
    await pair_up(chat, "bob", "pat")
    for n in range(3):
        await _win(chat, "pat", f"win number {n}")
    await chat.deliver()
    first_win = "\n\n🎉 <@pat> reached a milestone: *First win*"
    assert [dm for dm in chat.dms("bob") if "shared a win" in dm] == [
        f"<@pat> shared a win: win number {n}{first_win if n == 0 else ''}" for n in range(3)
    ]
