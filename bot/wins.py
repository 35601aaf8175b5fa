"""Wins: a private journal that the partner hears about."""

from __future__ import annotations

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.orm import aliased

from bot.access import own_wins
from bot.commands import ShareWin, ShowJournal
from bot.content import Button, Content
from bot.effects import Effect, ReplyEphemeral
from bot.milestones import reach_win_milestone
from bot.pairs import NO_PAIR_HINT
from bot.storage.models import (
    PARTNERED_PAIR_STATES,
    Member,
    OutboxMessage,
    OutboxStatus,
    OutboxTarget,
    Pair,
    Win,
)
from bot.text import shorten
from bot.turn import Turn

JOURNAL_PAGE_SIZE = 10
JOURNAL_ENTRY_CHARS = 500
JOURNAL_ACTION = "journal"
# Win news waiting for delivery to one person is batched into one DM of at most this
# many characters (inside Discord's 2,000 per message, the smallest platform limit).
NEWS_BATCH_CHARS = 1800
# Whose news is batched: people in at least this many pairs (others get one DM a win).
NEWS_BATCH_PARTNERS = 5
NEWS_HEADER = "News from your mentoring partners:"
# How many of each such person's newest waiting DMs are looked at for a batch to join.
NEWS_LOOKBACK = 10
# Made once (building aliases per query costs a measurable share of a /win).
PARTNER = aliased(Member, name="partner")
OTHER_PAIR = aliased(Pair, name="other_pair")


async def share(turn: Turn, command: ShareWin) -> list[Effect]:
    # A plain INSERT (no object for the unit of work to track): nothing here reads the
    # row back, and it is the most common write of all.
    await turn.session.execute(
        insert(Win).values(
            workspace_id=turn.workspace.id,
            member_id=turn.actor.id,
            text=command.text,
            created_at=turn.now,
        )
    )
    partners, many = await _partners(turn)
    news = f"<@{turn.actor.external_id}> shared a win: {command.text}"
    waiting = await _news_waiting(turn, many)
    for partner in partners:
        batch = waiting.get(partner.external_id)
        if _add_to(batch, news):
            assert batch is not None
            turn.told_in(partner.external_id, batch)
        else:
            turn.dm(partner, Content(news))
    # The count is kept on the member row and counted up here, in the same transaction
    # as the win. Wins sent at once by one person are numbered one after the other: the
    # UPDATE waits for the one before to commit (SQLite's BEGIN IMMEDIATE already runs
    # writers one at a time; on PostgreSQL the row lock does, and READ COMMITTED then
    # adds one to the committed count), so a count milestone (first win, 10 wins) is
    # reached by exactly one of them. Taken this late so the lock is held as briefly as
    # can be; it is a FOR NO KEY UPDATE lock, which does not wait for the KEY SHARE
    # locks the wins' foreign keys hold on the row (no deadlock between two wins).
    # The news DMs just queued stay unwritten until the commit (no autoflush), so a
    # celebration that joins one (one event, one message per person) changes it before
    # its INSERT rather than costing an UPDATE after it.
    with turn.session.no_autoflush:
        count = int(
            (
                await turn.session.execute(
                    update(Member)
                    .where(Member.id == turn.actor.id)
                    .values(wins_count=Member.wins_count + 1)
                    .returning(Member.wins_count),
                    execution_options={"synchronize_session": False},
                )
            ).scalar_one()
        )
        await reach_win_milestone(turn, turn.actor, count)
    if partners:
        told = " and ".join(f"<@{p.external_id}>" for p in partners)
        return turn.reply(f"Saved to your journal (win #{count}) and shared with {told}. 🎉")
    return turn.reply(
        f"Saved to your journal (win #{count}). You're not in a mentoring pair yet, so "
        f"nobody else was told. {NO_PAIR_HINT}"
    )


async def _partners(turn: Turn) -> tuple[list[Member], list[str]]:
    """The actor's partners (one per partnered pair, oldest pair first) and, of those, the
    ones in at least ``NEWS_BATCH_PARTNERS`` pairs (their news is batched), in one query."""
    me = turn.actor.id
    states = [s.value for s in PARTNERED_PAIR_STATES]
    their_pairs = (
        select(func.count(OTHER_PAIR.id))
        .where(
            OTHER_PAIR.workspace_id == turn.workspace.id,
            OTHER_PAIR.state.in_(states),
            or_(OTHER_PAIR.mentor_id == PARTNER.id, OTHER_PAIR.mentee_id == PARTNER.id),
        )
        .scalar_subquery()
    )
    query = (
        select(PARTNER, their_pairs)
        .select_from(Pair)
        .join(
            PARTNER,
            or_(
                and_(Pair.mentor_id == me, PARTNER.id == Pair.mentee_id),
                and_(Pair.mentee_id == me, PARTNER.id == Pair.mentor_id),
            ),
        )
        .where(
            Pair.workspace_id == turn.workspace.id,
            or_(Pair.mentor_id == me, Pair.mentee_id == me),
            Pair.state.in_(states),
        )
        .order_by(Pair.id)
    )
    partners: list[Member] = []
    many: list[str] = []
    for partner, pairs in (await turn.session.execute(query)).all():
        partners.append(partner)
        if pairs >= NEWS_BATCH_PARTNERS and partner.external_id not in many:
            many.append(partner.external_id)
    return partners, many


async def _news_waiting(turn: Turn, partner_ids: list[str]) -> dict[str, OutboxMessage]:
    """Win news to these partners still waiting in the outbox (not yet claimed for
    sending), so a person with many partners gets their news in one DM rather than one
    per win while delivery is busy. Locked (PostgreSQL), so the delivery worker does not
    claim one while a line is added to it."""
    if not partner_ids:
        return {}
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.workspace_id == turn.workspace.id,
            OutboxMessage.target_kind == OutboxTarget.DM.value,
            OutboxMessage.target_id.in_(partner_ids),
            OutboxMessage.status == OutboxStatus.PENDING.value,
            OutboxMessage.attempts == 0,
        )
        .order_by(OutboxMessage.id.desc())
        .limit(NEWS_LOOKBACK * len(partner_ids))
        .with_for_update(skip_locked=True)
    )
    waiting: dict[str, OutboxMessage] = {}
    for message in (await turn.session.execute(query)).scalars():
        content = Content.from_json(message.content)
        if not content.buttons and _is_news(content.text):
            waiting.setdefault(message.target_id, message)
    return waiting


def _is_news(text: str) -> bool:
    first = text.split("\n", 1)[0]
    return first == NEWS_HEADER or (first.startswith("<@") and "> shared a win: " in first)


def _add_to(message: OutboxMessage | None, news: str) -> bool:
    """Add a line of news to a waiting DM, if there is one and it has room."""
    if message is None:
        return False
    text = Content.from_json(message.content).text
    # A waiting DM may tell two things of one event (a win and the milestone it reached,
    # bot/turn.py join_contents): each of its paragraphs becomes a line of the batch.
    parts = text.split("\n")[1:] if text.startswith(NEWS_HEADER) else text.split("\n\n")
    lines = [part if part.startswith("• ") else f"• {part}" for part in parts if part]
    batched = "\n".join([NEWS_HEADER, *lines, f"• {news}"])
    if len(batched) > NEWS_BATCH_CHARS:
        return False
    message.content = Content(batched).to_json()
    return True


async def _count(turn: Turn) -> int:
    total = await turn.session.scalar(select(func.count()).select_from(Win).where(own_wins(turn)))
    return int(total or 0)


async def journal(turn: Turn, command: ShowJournal) -> list[Effect]:
    return [ReplyEphemeral(turn.actor_ref, await journal_page(turn, command.page))]


async def journal_page(turn: Turn, page: int) -> Content:
    return journal_content(await _count(turn), page, await _page(turn, page))


async def _page(turn: Turn, page: int) -> list[Win]:
    query = (
        select(Win)
        .where(own_wins(turn))
        .order_by(Win.created_at.desc(), Win.id.desc())
        .offset((page - 1) * JOURNAL_PAGE_SIZE)
        .limit(JOURNAL_PAGE_SIZE)
    )
    return list((await turn.session.execute(query)).scalars())


def journal_content(total: int, page: int, wins: list[Win]) -> Content:
    pages = max(1, -(-total // JOURNAL_PAGE_SIZE))
    if total == 0:
        return Content("Your journal is empty. Add your first win with `/win <what went well>`.")
    if not wins:
        has = "1 page" if pages == 1 else f"{pages} pages"
        return Content(f"Your journal has {has}; there is no page {page}.")
    lines = [f"Your wins, newest first (page {page} of {pages}, {total} in all):"]
    lines += [
        f"• {win.created_at:%Y-%m-%d} — {shorten(win.text, JOURNAL_ENTRY_CHARS)}" for win in wins
    ]
    buttons = []
    if page > 1:
        buttons.append(Button("Newer", f"{JOURNAL_ACTION}:{page - 1}"))
    if page < pages:
        buttons.append(Button("Older", f"{JOURNAL_ACTION}:{page + 1}"))
    return Content("\n".join(lines), buttons=tuple(buttons))
