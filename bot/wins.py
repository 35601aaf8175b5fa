"""Wins: a private journal that the partner hears about."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CTE,
    JSON,
    BindParameter,
    ColumnElement,
    Insert,
    ScalarSelect,
    Select,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.orm.attributes import set_committed_value

from bot.access import own_wins, shared_wins
from bot.commands import MAX_PAGE, RemoveWin, ShareWin, ShowJournal
from bot.content import Content, page_buttons
from bot.effects import Effect, ReplyEphemeral
from bot.flows.celebration import reached_headline, reached_note
from bot.milestones import (
    REACHED_COLUMNS,
    WIN_MILESTONES,
    reach_win_milestone,
    win_milestone_code,
)
from bot.numbers import how_many, whole_number
from bot.pairs import NO_PAIR_HINT, PairView, pairs_of, pick_pair
from bot.partners import listed_partners, partner_rows
from bot.refs import Platform, UserRef
from bot.storage.bulk import dialect_of, insert_ignoring_duplicates, per_dialect, table_of
from bot.storage.database import Database
from bot.storage.models import (
    HandledEvent,
    Member,
    Milestone,
    MilestoneKind,
    OutboxMessage,
    OutboxTarget,
    Win,
    Workspace,
)
from bot.storage.sqlite_driver import execute_deferred
from bot.text import mention_list, shorten
from bot.turn import (
    CLAIM_COLUMNS,
    LastSeen,
    Person,
    Turn,
    at_once_conditions,
    join_contents,
    outbox_cte,
    outbox_row,
    sender_by_ref,
    untaken_dms,
)

JOURNAL_PAGE_SIZE = 10
JOURNAL_ENTRY_CHARS = 500
JOURNAL_ACTION = "journal"
# A button's kind: a page of a partner's wins ("their-journal:<pair id>:<page>").
PARTNER_JOURNAL_ACTION = "their-journal"
# Win news waiting for delivery to one person is batched into one DM of at most this
# many characters (inside Discord's 2,000 per message, the smallest platform limit).
NEWS_BATCH_CHARS = 1800
# Whose news is batched: people in at least this many pairs (others get one DM a win).
NEWS_BATCH_PARTNERS = 5
NEWS_HEADER = "News from your mentoring partners:"
# How many of each such person's newest waiting DMs are looked at for a batch to join.
NEWS_LOOKBACK = 10
_WINS = table_of(Win)
_MEMBERS = table_of(Member)
_MILESTONES = table_of(Milestone)


@dataclass(frozen=True, slots=True)
class Partner(Person):
    """A partner of the person sharing a win, and how many pairs they are in."""

    pairs: int = 1


# The win's INSERT alone, for when nothing of it needs answering (see ``_save``).
_SAVING_ONLY = insert(_WINS).values(
    workspace_id=bindparam("workspace"),
    member_id=bindparam("me"),
    text=bindparam("text"),
    created_at=bindparam("at"),
    delivery_key=bindparam("key"),
)


def _saving_a_win(dialect_name: str, *, telling: bool = False) -> Insert:
    """The win's INSERT, returning the sharer's partners (``listed_partners``) and the
    sharer's count of wins with this one (built once: ``per_dialect``). ``telling``
    (PostgreSQL): it also writes the partners' news DMs (an ``outbox_cte``), returning
    each one's person and id too."""
    me: BindParameter[int] = bindparam("me")
    workspace: BindParameter[int] = bindparam("workspace")
    partners = listed_partners(dialect_name, me, workspace)
    # In a SELECT of its own: SQLite's RETURNING leaves the tables' names off the columns
    # of a subquery's WHERE (SQLAlchemy 2.1), where two tables have the same columns.
    partners = select(partners).scalar_subquery()
    saving = _SAVING_ONLY
    if dialect_name == "sqlite":
        # The count: the trigger adds the one (migration 0009), and ``_save`` knows the
        # new count from the member row read in this transaction.
        return saving.returning(partners)
    # PostgreSQL counts it up in the same statement. Wins sent at once by one person are
    # numbered one after the other: the UPDATE waits for the row lock of the one before,
    # and READ COMMITTED then adds one to the committed count, so a count milestone (first
    # win, 10 wins) is reached by exactly one of them. It is a FOR NO KEY UPDATE lock,
    # which does not wait for the KEY SHARE locks the wins' foreign keys hold on the row
    # (no deadlock between two wins).
    counted = _COUNTING_A_WIN.cte("counted")
    saving = saving.add_cte(counted).returning(
        partners, select(counted.c.wins_count).scalar_subquery()
    )
    if not telling:
        return saving
    # The news to each partner whose news is not batched, as one DM each, when the
    # count reaches no milestone (its celebration joins the news, written as usual).
    no_milestone = [counted.c.wins_count != count for count in WIN_MILESTONES]
    news, written = _telling(me, workspace, counted, not_batched=True, where=no_milestone)
    return saving.add_cte(news).returning(written)


def _telling(
    me: ColumnElement[int],
    workspace: ColumnElement[int],
    counted: CTE,
    *,
    not_batched: bool = False,
    where: Sequence[ColumnElement[bool]] = (),
    given: Mapping[str, ColumnElement[Any]] | None = None,
) -> tuple[CTE, ScalarSelect[Any]]:
    """PostgreSQL: the news DM of a win counted in ``counted`` to each of the sharer's
    partners (``not_batched``: those whose news is not batched), once per person should
    two pairs name the same partner (the second joins it), on the ``where`` conditions;
    and the DMs written, as a JSON array of [person, message id]. The DM's content and
    columns are ``Turn.dms_in_statement``'s parameters, but for those ``given``
    (``outbox_cte``)."""
    rows = partner_rows(me, workspace).subquery("partner_row")
    conditions = [rows.c.pairs < NEWS_BATCH_PARTNERS, *where] if not_batched else list(where)
    told = (
        select(rows.c.external_id)
        .distinct()
        .select_from(rows.join(counted, true()))
        .where(*conditions)
        .subquery("told")
    )
    news = outbox_cte(told, "news", told.c.external_id, given=given)
    written = func.json_agg(func.json_build_array(news.c.target_id, news.c.id), type_=JSON)
    return news, select(written).scalar_subquery()


def _news(user_id: str, text: str) -> Content:
    """What a partner is told of a win."""
    return Content(f"<@{user_id}> shared a win: {text}")


# The count is kept on the member row and counted up in the same transaction as the win
# (PostgreSQL; SQLite's trigger does it there).
_COUNTING_A_WIN = (
    update(_MEMBERS)
    .where(_MEMBERS.c.id == bindparam("me"))
    .values(wins_count=_MEMBERS.c.wins_count + 1)
    .returning(_MEMBERS.c.wins_count)
)
_SAVING_A_WIN = per_dialect(_saving_a_win)
_SAVING_AND_TELLING = _saving_a_win("postgresql", telling=True)


def _at_once(me: ColumnElement[int], workspace: ColumnElement[int]) -> Select[Any]:
    """PostgreSQL: a keyed ``/win`` in one statement, sent outside a transaction (so one
    of its own), for member ``me`` of ``workspace`` (their ids as parameters, for
    someone an earlier event found; or found by their platform's ids,
    ``turn.sender_by_ref``): the key's claim, the win, its count, the news to each
    partner and a count milestone it reaches, as the usual way (``share``) writes them;
    and the count, the member's and workspace's ids, the partners and the news DMs
    written.

    It writes nothing and returns no row whenever the usual way would do more or other:
    the key claimed before, the count reaching a milestone other than the one expected
    (parameter ``reach``, 0 for none) or one the usual way would celebrate otherwise than
    in DMs with nothing more said (a shout-out channel and consent not refused, or no
    channel and its hint not sent yet), a partner whose news is batched, the workspace
    not delivering, the person's DMs stopped, their row no longer theirs (forgotten, or
    never made), or their name, admin flag or timezone to be written (``LastSeen``'s
    parameters; ``turn.at_once_conditions``). These are conditions of the member
    row's UPDATE, which everything else is written from: PostgreSQL checks the row's
    own again on its newest version when another win of theirs held it, so two at once
    are counted one after the other and a milestone is never passed by. A second
    delivery of the key at the same moment breaks the claims' unique key, and a
    milestone reached before breaks the milestones' (one per person and code): the
    statement then writes nothing (bench/README.md, issue 16)."""
    key = bindparam("key", type_=_WINS.c.delivery_key.type)
    at = bindparam("at", type_=_WINS.c.created_at.type)
    reach = bindparam("reach", type_=_MEMBERS.c.wins_count.type)
    member = _MEMBERS.c
    handled, milestones = table_of(HandledEvent), _MILESTONES
    here = table_of(Workspace).c
    batched = partner_rows(me, workspace).subquery("partner_row")
    count = member.wins_count + 1
    # Where the usual way celebrates a milestone in DMs and adds nothing to it
    # (bot/flows/celebration.py): no shout-out channel and its hint told before, or a
    # channel and the person's consent refused.
    in_dms = or_(
        exists().where(
            here.id == workspace,
            here.shoutout_channel_id.is_(None),
            here.shoutout_hint_sent_at.is_not(None),
        ),
        and_(
            member.shoutout_consent.is_(False),
            exists().where(here.id == workspace, here.shoutout_channel_id.is_not(None)),
        ),
    )
    counted = (
        update(_MEMBERS)
        .where(
            *at_once_conditions(member, me, workspace, key),
            or_(and_(*(count != n for n in WIN_MILESTONES)), and_(count == reach, in_dms)),
            ~exists().where(_WINS.c.workspace_id == workspace, _WINS.c.delivery_key == key),
            ~exists().where(batched.c.pairs >= NEWS_BATCH_PARTNERS),
        )
        .values(wins_count=count)
        .returning(member.id, member.workspace_id, member.wins_count)
        .cte("counted")
    )
    found = counted.c
    claimed = (
        insert(handled)
        .from_select(CLAIM_COLUMNS, select(found.workspace_id, key, at).select_from(counted))
        .returning(handled.c.id)
        .cte("claimed")
    )
    text = bindparam("text", type_=_WINS.c.text.type)
    saved = (
        insert(_WINS)
        .from_select(
            ["workspace_id", "member_id", "text", "created_at", "delivery_key"],
            select(found.workspace_id, found.id, text, at, key).select_from(counted),
        )
        .returning(_WINS.c.id)
        .cte("saved")
    )
    # As ``milestones.reach_automatic`` writes it, celebrated in DMs.
    reaching = {
        "workspace_id": found.workspace_id,
        "member_id": found.id,
        "pair_id": null(),
        "kind": literal(MilestoneKind.AUTO.value, type_=milestones.c.kind.type),
        "code": bindparam("code", type_=milestones.c.code.type),
        "title": bindparam("title", type_=milestones.c.title.type),
        "created_at": at,
        "completed_at": at,
        "celebrated_at": at,
        "celebrated_in": literal("dm", type_=milestones.c.celebrated_in.type),
    }
    values = select(*(reaching[name] for name in REACHED_COLUMNS))
    reached = (
        insert(milestones)
        .from_select(REACHED_COLUMNS, values.select_from(counted).where(found.wins_count == reach))
        .returning(milestones.c.id)
        .cte("reached")
    )
    # The news, or with the milestone reached joined to it (one event, one message).
    content_type = table_of(OutboxMessage).c.content.type
    content = case(
        (found.wins_count == reach, bindparam("dm_reached_content", type_=content_type)),
        else_=bindparam("dm_content", type_=content_type),
    )
    given = {"workspace_id": found.workspace_id, "content": content}
    news, written = _telling(me, workspace, counted, given=given)
    return (
        select(
            found.wins_count,
            found.id,
            found.workspace_id,
            listed_partners("postgresql", me, workspace),
            written,
        )
        .select_from(counted)
        .add_cte(claimed, saved, reached, news)
    )


_AT_ONCE = _at_once(
    bindparam("me", type_=_MEMBERS.c.id.type),
    bindparam("workspace", type_=_WINS.c.workspace_id.type),
)
_AT_ONCE_BY_REF = _at_once(*sender_by_ref())


@dataclass(frozen=True, slots=True)
class Sharer:
    """Who shares a win, as an earlier event of theirs found them (``share_at_once``),
    and their count of wins then."""

    workspace_id: int
    member_id: int
    wins: int
    # Whether their milestones were celebrated in DMs with nothing more said, as the
    # event that found them saw it (a shout-out, or its consent question, is the usual
    # way's: a win reaching a milestone then goes there without trying the statement).
    in_dms: bool = True
    # Whether a partner of theirs got news in batches then (the statement declines it).
    batched: bool = False

    def next_is_milestone(self) -> bool:
        return self.wins + 1 in WIN_MILESTONES

    def reach(self) -> int:
        """The count milestone their next win reaches, as far as this count knows
        (another instance may have counted more: the statement checks it again); 0 for
        none."""
        return self.wins + 1 if self.next_is_milestone() else 0


# The milestone a /win of someone this process has not met is expected to reach: their
# first win, the one every sharer reaches (any other, the usual way reaches).
FIRST_REACH = 1


async def share_at_once(
    database: Database,
    sharer: Sharer | None,
    ref: UserRef,
    text: str,
    now: datetime,
    *,
    key: str,
    seen: LastSeen,
) -> tuple[list[Effect], bool, Sharer] | None:
    """PostgreSQL: a keyed ``/win`` (``text`` as ``parse_command`` read it) in one
    statement (``_at_once``), of ``sharer`` or (None) of whoever ``ref`` names: its
    answer, whether it queued news to send, and the sharer with their count of wins with
    it; None when it is for the usual way (``share``, in the event's transaction),
    having written nothing."""
    news = _news(ref.user_id, text)
    # The workspace delivers (the statement checks it), so the news is sent as usual.
    dm = outbox_row(Workspace(), OutboxTarget.DM, "", news, now)
    for found in ("workspace_id", "target_id", "content"):
        del dm[found]
    reach = FIRST_REACH if sharer is None else sharer.reach()
    title = WIN_MILESTONES.get(reach)
    reached = join_contents(news, Content(reached_headline(ref.user_id, title))) if title else None
    params = (
        {
            "user": ref.user_id,
            "text": text,
            "at": now,
            "key": key,
            "reach": reach,
            "code": win_milestone_code(reach) if title else None,
            "title": title,
            "dm_content": news.to_json(),
            "dm_reached_content": reached.to_json() if reached else None,
        }
        | seen.params()
        | {f"dm_{column}": value for column, value in dm.items()}
    )
    if sharer is None:
        statement = _AT_ONCE_BY_REF
        params |= {"platform": ref.platform.value, "team": ref.workspace_id}
    else:
        statement = _AT_ONCE
        params |= {"me": sharer.member_id, "workspace": sharer.workspace_id}
    rows = await database.fetch_alone(statement, params)
    if not rows:
        return None
    [(count, member_id, workspace_id, listed, written)] = rows
    partners = _partners_of(listed)
    answer = _saved(int(count), partners)
    if title and count == reach:
        # Joined to the answer, as ``Turn.tell_actor`` joins it the usual way.
        answer += "\n\n" + reached_note(title, [p.external_id for p in partners])
    in_dms = True if sharer is None else sharer.in_dms
    sharer = Sharer(int(workspace_id), int(member_id), int(count), in_dms)
    return [ReplyEphemeral(ref, Content(answer))], bool(written), sharer


# How many of the latest wins a start reads for who shared them (``recent_sharers``): a
# walk back along the wins' key, bounded however many there are.
RECENT_WINS_READ = 50_000


def _recent_sharers() -> Select[Any]:
    """The people who shared the latest ``scan`` wins, at most ``kept`` of them (those
    whose last win is newest), each with their workspace's platform ids and their
    count of wins, oldest first."""
    workspaces = table_of(Workspace)
    latest = (
        select(_WINS.c.member_id, _WINS.c.id)
        .order_by(_WINS.c.id.desc())
        .limit(bindparam("scan"))
        .subquery("latest")
    )
    last = func.max(latest.c.id).label("last")
    sharers = (
        select(latest.c.member_id, last)
        .group_by(latest.c.member_id)
        .order_by(last.desc())
        .limit(bindparam("kept"))
        .subquery("sharer")
    )
    return (
        select(
            workspaces.c.platform,
            workspaces.c.external_id,
            _MEMBERS.c.external_id,
            _MEMBERS.c.workspace_id,
            _MEMBERS.c.id,
            _MEMBERS.c.wins_count,
        )
        .select_from(sharers)
        .join(_MEMBERS, _MEMBERS.c.id == sharers.c.member_id)
        .join(workspaces, workspaces.c.id == _MEMBERS.c.workspace_id)
        .order_by(sharers.c.last)
    )


_RECENT_SHARERS = _recent_sharers()


async def recent_sharers(database: Database, kept: int) -> list[tuple[UserRef, Sharer]]:
    """PostgreSQL, as a process starts: who shared the latest wins (at most ``kept``
    people, among the last ``RECENT_WINS_READ`` wins), oldest first, each as a keyed
    ``/win`` of theirs would find them, so that win can be one statement
    (``share_at_once``) without one the usual way first. The statement checks all it
    relies on again (the row still theirs, the count), so one read here and changed
    since goes the usual way, as a person met earlier in the process does. One
    statement."""
    found = await database.execute_alone(_RECENT_SHARERS, {"scan": RECENT_WINS_READ, "kept": kept})
    rows: list[tuple[str, str, str, int, int, int]] = [tuple(row) for row in found]
    return [
        (UserRef(Platform(platform), ws, user), Sharer(workspace_id, member_id, count))
        for platform, ws, user, workspace_id, member_id, count in rows
    ]


async def share(turn: Turn, command: ShareWin) -> list[Effect]:
    """When no milestone is reached, on PostgreSQL two statements: the event's look-up
    (bot/turn.py) with its key's claim, and the win with its sharer's partners, its
    counting up and the news to each partner whose news is not batched (a batched
    partner's goes into a waiting DM, or the event's outbox INSERT). On SQLite three:
    the look-up reads the partners, the kept count and whether the event's key was
    claimed, and the win (counted up by a trigger; its row, holding the key, is the
    claim) and the news need no answer, so they go to SQLite with the COMMIT: two trips
    to its thread in all (tests/test_wins.py)."""
    news = _news(turn.actor.external_id, command.text).text
    telling = turn.dms_in_statement(Content(news)) if turn.partners is None else None
    partners, count, written = await _save(turn, command.text, telling)
    many = list(dict.fromkeys(p.external_id for p in partners if p.pairs >= NEWS_BATCH_PARTNERS))
    turn.news_batched = bool(many)
    waiting = await _news_waiting(turn, many)
    # The news DMs stay unwritten until the event's work ends (one INSERT for all of
    # them, bot/engine.py), so a celebration that joins one (one event, one message per
    # person) changes it before its INSERT rather than costing an UPDATE after it; nor
    # does the unit of work write the waiting DMs news joined before the count's UPDATE
    # (no autoflush).
    with turn.session.no_autoflush:
        for partner in partners:
            if telling and turn.told_in_statement(
                partner, telling, written.pop(partner.external_id, None)
            ):
                continue
            batch = waiting.get(partner.external_id)
            if _add_to(batch, news):
                assert batch is not None
                turn.told_in(partner.external_id, batch)
            else:
                turn.dm(partner, Content(news))
        await reach_win_milestone(turn, turn.actor, count, partners)
    return turn.reply(_saved(count, partners))


def _saved(count: int, partners: list[Partner]) -> str:
    """A saved win's answer."""
    if partners:
        told = mention_list([p.external_id for p in partners])
        return f"Saved to your journal (win #{count}) and shared with {told}. 🎉"
    return (
        f"Saved to your journal (win #{count}). You're not in a mentoring pair right now, so "
        f"nobody else was told. {NO_PAIR_HINT}"
    )


async def _save(
    turn: Turn, text: str, telling: dict[str, Any] | None
) -> tuple[list[Partner], int, dict[str, int]]:
    """Save the win and count it; the sharer's partners, oldest pair first, the
    sharer's count of wins with this one, and the news DMs written with it (PostgreSQL,
    ``telling``: ``Turn.dms_in_statement``'s parameters), their ids by person."""
    dialect = dialect_of(turn.session)
    me = turn.actor.id
    values = {
        "me": me,
        "workspace": turn.workspace.id,
        "text": text,
        "at": turn.now,
        "key": turn.take_event_key(),  # on SQLite, the event's claim (bot/turn.py)
    }
    written: dict[str, int] = {}
    listed: list[Any] | None
    if dialect == "sqlite":
        # BEGIN IMMEDIATE runs writers one at a time: the kept count on the member row,
        # read in this transaction, is the newest, and the win's INSERT counts it up (a
        # trigger, migration 0009). With the partners read by the look-up (bot/turn.py),
        # the win needs no answer and goes to SQLite with the event's next statement or
        # its COMMIT.
        if turn.partners is not None:
            await execute_deferred(turn.session, _SAVING_ONLY, values)
            listed = turn.partners
        else:
            listed = (await turn.session.execute(_SAVING_A_WIN[dialect], values)).scalar()
        count = turn.actor.wins_count + 1
    elif telling is not None:
        found = await turn.session.execute(_SAVING_AND_TELLING, values | telling)
        listed, count, news = found.one()
        written = {target_id: message_id for target_id, message_id in news or []}
    else:
        listed, count = (await turn.session.execute(_SAVING_A_WIN[dialect], values)).one()
    # The row as the database now has it (not written again: not a change to flush).
    set_committed_value(turn.actor, "wins_count", int(count))
    return _partners_of(listed), int(count), written


def _partners_of(listed: list[Any] | None) -> list[Partner]:
    """``listed_partners``'s rows as partners, oldest pair first."""
    return [
        Partner(external_id, timezone, pairs)
        for _pair_id, external_id, timezone, pairs in sorted(
            listed or [],  # PostgreSQL's json_agg of no rows is NULL
            key=lambda row: row[0],
        )
    ]


async def _news_waiting(turn: Turn, partner_ids: list[str]) -> dict[str, OutboxMessage]:
    """Win news to these partners still waiting in the outbox (not yet claimed for
    sending), so a person with many partners gets their news in one DM rather than one
    per win while delivery is busy. Locked (PostgreSQL), so the delivery worker does not
    claim one while a line is added to it."""
    if not partner_ids:
        return {}
    query = (
        untaken_dms(
            OutboxMessage.workspace_id == turn.workspace.id,
            OutboxMessage.target_id.in_(partner_ids),
        )
        .order_by(OutboxMessage.id.desc())
        .limit(NEWS_LOOKBACK * len(partner_ids))
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


async def _count(turn: Turn, whose: ColumnElement[bool] | None = None) -> int:
    """How many wins ``whose`` (an access rule; the actor's own journal by default)."""
    where = own_wins(turn) if whose is None else whose
    total = await turn.session.scalar(select(func.count()).select_from(Win).where(where))
    return int(total or 0)


async def journal(turn: Turn, command: ShowJournal) -> list[Effect]:
    if command.partner_id is None:
        return [ReplyEphemeral(turn.actor_ref, await journal_page(turn, command.page))]
    view = await pick_pair(turn, command.partner_id)
    return [ReplyEphemeral(turn.actor_ref, await partner_journal_page(turn, view, command.page))]


async def partner_journal_page(turn: Turn, view: PairView, page: int) -> Content:
    """A page of the wins the partner shared since the pair began, newest first: each
    was told to this member as it came (``shared_wins``). Not numbered: the numbers of
    their journal would count wins they shared before."""
    shared = shared_wins(turn, view)
    found = await _page(turn, page, shared)
    return partner_journal_content(view, await _count(turn, shared), page, found)


def partner_journal_content(view: PairView, total: int, page: int, wins: list[Win]) -> Content:
    pages = _pages(total)
    began = view.began
    whose = f"{view.partner_mention}'s wins since your pair began on {began:%Y-%m-%d}"
    if total == 0:
        return Content(
            f"{view.partner_mention} hasn't shared a win since your pair began on {began:%Y-%m-%d}."
        )
    if not wins:
        return Content(f"{whose} fill {how_many(pages, 'page', 'pages')}; there is no page {page}.")
    lines = [f"{whose}, newest first (page {page} of {pages}, {total} in all):"]
    lines += [
        f"• {win.created_at:%Y-%m-%d} — {shorten(win.text, JOURNAL_ENTRY_CHARS)}" for win in wins
    ]
    action = f"{PARTNER_JOURNAL_ACTION}:{view.pair.id}"
    return Content("\n".join(lines), buttons=page_buttons(action, page, pages))


async def partner_journal_click(turn: Turn, argument: str) -> Content:
    """[Newer] / [Older] under a partner's wins: the pair is checked again (ended since,
    or a forged id: not the clicker's) before anything of theirs is read."""
    pair_text, _, page_text = argument.partition(":")
    pair_id, page = whole_number(pair_text), whole_number(page_text, high=MAX_PAGE)
    views = [view for view in await pairs_of(turn, turn.actor) if view.pair.id == pair_id]
    if not views or page is None:
        return Content(
            "That pair is no longer active, so I can't show those wins any more. Your "
            "partners' wins come to you in DMs as they share them."
        )
    return await partner_journal_page(turn, views[0], page)


async def remove(turn: Turn, command: RemoveWin) -> list[Effect]:
    """A win taken out of its author's journal, by its number there (1 the oldest, as
    ``journal_content`` numbers them): gone from the journal, the brag doc, the export
    and the check-ins' list of wins. Its words are said back in full, so a mistake
    costs nothing. The kept count goes down with it; milestones reached stay reached.
    Partners who were told of it when it was shared are not told again."""
    query = (
        select(Win)
        .where(own_wins(turn))
        .order_by(Win.created_at, Win.id)
        .offset(command.number - 1)
        .limit(1)
    )
    win = (await turn.session.execute(query)).scalar_one_or_none()
    if win is None:
        total = await _count(turn)
        if total == 0:
            return turn.reply("Your journal is empty, so there is no win to remove.")
        return turn.reply(
            f"Your journal has no win #{command.number}: it has "
            f"{how_many(total, 'win', 'wins')}. `/mentor journal` shows their numbers."
        )
    if win.delivery_key is not None:
        # The win's row may be its /win's only claim of its delivery (SQLite's usual
        # way: bot/turn.py): kept as a claim of its own, so that a late retry of that
        # /win saves nothing again. Where handled_events holds it already, nothing.
        claim = {"workspace_id": win.workspace_id, "key": win.delivery_key}
        await turn.session.execute(
            insert_ignoring_duplicates(dialect_of(turn.session), HandledEvent).values(
                claim | {"created_at": turn.now}
            )
        )
    # In SQL, not by the objects: a removal of the same win at the same moment finds it
    # gone, and a /win counted by another instance meanwhile is not counted away.
    gone = await turn.session.execute(delete(Win).where(Win.id == win.id).returning(Win.id))
    if gone.first() is None:
        return turn.reply(
            f"Win #{command.number} was removed a moment ago. `/mentor journal` shows your "
            "journal as it is now."
        )
    count = (
        await turn.session.execute(
            update(Member)
            .where(Member.id == turn.actor.id)
            .values(wins_count=case((Member.wins_count > 0, Member.wins_count - 1), else_=0))
            .returning(Member.wins_count)
        )
    ).scalar_one()
    set_committed_value(turn.actor, "wins_count", count)
    # Partners it was shared with (their pair began before it): it leaves what they see
    # of the journal too, but the DM that told them of it is not taken back.
    told = [
        view.partner.external_id
        for view in await pairs_of(turn, turn.actor)
        if win.created_at >= view.began
    ]
    shown = "in your journal, brag doc or check-ins"
    if told:
        shown = (
            f"in your journal, brag doc or check-ins, nor to {mention_list(told)} (the DM "
            "that told them of it is not taken back)"
        )
    said = (
        f"Removed win #{command.number} ({win.created_at:%Y-%m-%d}) from your journal: "
        f"“{win.text}”\nIt no longer shows {shown}. To keep it after all, share it again "
        "with `/win`."
    )
    if command.number <= count:
        # Numbers are places in the journal: say so before a second removal goes by
        # the old ones.
        said += (
            f" The wins after it moved up one number: what was #{command.number + 1} is "
            f"now #{command.number}."
        )
    return turn.reply(said)


async def journal_page(turn: Turn, page: int) -> Content:
    return journal_content(await _count(turn), page, await _page(turn, page))


def _pages(total: int) -> int:
    return max(1, -(-total // JOURNAL_PAGE_SIZE))


async def _page(turn: Turn, page: int, whose: ColumnElement[bool] | None = None) -> list[Win]:
    """A page of the wins ``whose`` (the actor's own by default), newest first."""
    query = (
        select(Win)
        .where(own_wins(turn) if whose is None else whose)
        .order_by(Win.created_at.desc(), Win.id.desc())
        .offset((page - 1) * JOURNAL_PAGE_SIZE)
        .limit(JOURNAL_PAGE_SIZE)
    )
    return list((await turn.session.execute(query)).scalars())


def journal_content(total: int, page: int, wins: list[Win]) -> Content:
    pages = _pages(total)
    if total == 0:
        return Content("Your journal is empty. Add your first win with `/win <what went well>`.")
    if not wins:
        has = how_many(pages, "page", "pages")
        return Content(f"Your journal has {has}; there is no page {page}.")
    lines = [f"Your wins, newest first (page {page} of {pages}, {total} in all):"]
    # Numbered as they were shared, 1 the oldest (``remove`` takes the number).
    first = total - (page - 1) * JOURNAL_PAGE_SIZE
    lines += [
        f"• #{first - n} {win.created_at:%Y-%m-%d} — {shorten(win.text, JOURNAL_ENTRY_CHARS)}"
        for n, win in enumerate(wins)
    ]
    return Content("\n".join(lines), buttons=page_buttons(JOURNAL_ACTION, page, pages))
