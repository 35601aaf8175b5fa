"""One event's unit of work: the transaction, the clock reading, who acted, and the
messages queued in the outbox as part of it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    CTE,
    BindParameter,
    Boolean,
    ColumnElement,
    Insert,
    ScalarSelect,
    Select,
    and_,
    bindparam,
    exists,
    func,
    insert,
    or_,
    select,
    true,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, make_transient_to_detached
from sqlalchemy.sql.expression import FromClause

from bot.cadence import outside_quiet_hours
from bot.content import Button, Content
from bot.effects import Effect, ReplyEphemeral
from bot.partners import listed_partners
from bot.refs import ChannelRef, Platform, UserRef, WorkspaceRef
from bot.storage.bulk import (
    dialect_of,
    insert_arrays,
    insert_ignoring_duplicates,
    one_of,
    per_dialect,
    table_of,
    upsert_into,
)
from bot.storage.models import (
    Base,
    FlowSession,
    HandledEvent,
    Member,
    OutboxMessage,
    OutboxStatus,
    OutboxTarget,
    Win,
    Workspace,
)
from bot.storage.sqlite_driver import execute_deferred

ModelT = TypeVar("ModelT", bound=Base)

_OUTBOX = table_of(OutboxMessage)
# Built once: a statement built per event has its cache key worked out each time.
_WRITING_OUTBOX = insert(_OUTBOX)


async def get_or_create(
    session: AsyncSession, model: type[ModelT], lookup: dict[str, Any], defaults: dict[str, Any]
) -> ModelT:
    """The row matching ``lookup``, created if missing. Safe when another instance
    creates the same row at the same moment (the unique constraint decides)."""
    query = select(model).filter_by(**lookup)
    found = (await session.execute(query)).scalar_one_or_none()
    if found is not None:
        return found
    row = model(**lookup, **defaults)
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return (await session.execute(query)).scalar_one()
    return row


async def get_workspace(session: AsyncSession, ref: WorkspaceRef, now: datetime) -> Workspace:
    return await get_or_create(
        session,
        Workspace,
        {"platform": ref.platform.value, "external_id": ref.workspace_id},
        {"created_at": now},
    )


async def get_member(
    session: AsyncSession, workspace: Workspace, user_id: str, now: datetime
) -> Member:
    return await get_or_create(
        session,
        Member,
        {"workspace_id": workspace.id, "external_id": user_id},
        {"created_at": now},
    )


# The look-up every event starts with, built once: a statement built per call costs more
# Python than SQLite takes to run it (bench/README.md, issue 16).
_WORKSPACE_AND_MEMBER = (
    select(Workspace, Member)
    .outerjoin(
        Member,
        and_(Member.workspace_id == Workspace.id, Member.external_id == bindparam("user_id")),
    )
    .where(
        Workspace.platform == bindparam("platform"),
        Workspace.external_id == bindparam("workspace_id"),
    )
)


# A select of any columns (the look-up's shapes differ in their columns).
AnySelect = Select[*tuple[Any, ...]]


def _claim_by_workspace_ref(dialect: str) -> Insert:
    """The claim of an event's delivery key (see ``Turn.claim_event_key``) that finds
    its workspace by the platform's ids, as the look-up does: it needs no result of it.
    For a workspace's very first event it claims nothing (there is no workspace row yet),
    and the key is claimed on its own afterwards. Built once per look-up (``_look_up``),
    on PostgreSQL only (``_claiming``)."""
    handled, workspaces = table_of(HandledEvent), table_of(Workspace)
    return (
        upsert_into(dialect, handled)
        .from_select(
            CLAIM_COLUMNS,
            select(
                workspaces.c.id,
                bindparam("key", type_=handled.c.key.type),
                bindparam("at", type_=handled.c.created_at.type),
            ).where(
                workspaces.c.platform == bindparam("platform"),
                workspaces.c.external_id == bindparam("workspace_id"),
            ),
        )
        .on_conflict_do_nothing()
    )


def _claiming(dialect: str, look_up: AnySelect, *, win: bool = False) -> AnySelect:
    """``look_up`` that also says whether the event's delivery key is claimed by this
    event, as its last column (1: claimed now): one round trip less for every event a
    platform sends with a key (bench/README.md, issue 16). PostgreSQL: the claim is a
    data-modifying CTE of the look-up. SQLite has none: the look-up reads whether the
    key was claimed before, and the claim (``_CLAIM_ON_SQLITE``) is written afterwards,
    going to SQLite with the event's next statement. BEGIN IMMEDIATE holds SQLite's
    write lock from the look-up to the COMMIT, so no other connection can claim the key
    in between (the unique key would refuse it, should one try). A ``/win`` (``win``) on
    SQLite: its win's row claims the key (``wins.delivery_key``, unique), so the look-up
    reads the wins' keys too, and no claim of its own is written when the win is
    (``Turn.claim_pending``)."""
    if dialect == "sqlite":
        handled = table_of(HandledEvent)
        before = select(handled.c.id).where(
            handled.c.workspace_id == Workspace.id, handled.c.key == bindparam("key")
        )
        fresh = ~before.exists()
        if win:
            wins = table_of(Win)
            won = select(wins.c.id).where(
                wins.c.workspace_id == Workspace.id, wins.c.delivery_key == bindparam("key")
            )
            fresh = and_(fresh, ~won.exists())
        return look_up.add_columns(fresh)
    claiming = _claim_by_workspace_ref(dialect)
    claimed = claiming.returning(table_of(HandledEvent).c.id).cte("claimed")
    count = select(func.count()).select_from(claimed).scalar_subquery()
    return look_up.add_columns(count).add_cte(claimed)


# A claim's row: the event's delivery key in its workspace (parameters ``workspace``,
# ``key`` and ``at``).
_CLAIM_VALUES: dict[str, BindParameter[Any]] = {
    "workspace_id": bindparam("workspace"),
    "key": bindparam("key"),
    "created_at": bindparam("at"),
}
# The columns every claim writes, in that order: its INSERT ... SELECTs name them too
# (``_claim_by_workspace_ref``, and ``wins._at_once`` from its counted row).
CLAIM_COLUMNS = list(_CLAIM_VALUES)
# SQLite: the claim of a key the look-up found unclaimed (see ``_claiming``).
_CLAIM_ON_SQLITE = insert(table_of(HandledEvent)).values(_CLAIM_VALUES)


@dataclass(frozen=True, slots=True)
class LastSeen:
    """Who an event says its sender is: what the event's look-up writes to their row
    (``write_to``), and what a statement at once checks their row against instead
    (``at_once_conditions``, with ``params``)."""

    name: str | None  # None: the event does not say
    admin: bool | None  # None: the event does not say
    timezone: str | None  # a known timezone the event offers, if any

    def write_to(self, member: Member) -> None:
        """Set on ``member`` what changed (an unchanged value set still costs the
        commit a flush). The admin flag is kept as last seen where the platform did not
        say (a Discord DM); a timezone offered only fills one not set yet."""
        if self.name and member.display_name != self.name:
            member.display_name = self.name
        if self.admin is not None and member.is_admin != self.admin:
            member.is_admin = self.admin
        if self.timezone and member.timezone is None:
            member.timezone = self.timezone

    def params(self) -> dict[str, Any]:
        """``at_once_conditions``'s parameters for it."""
        return {"name": self.name, "admin": self.admin, "zone": self.timezone is not None}


def at_once_conditions(
    member: Any, me: ColumnElement[int], workspace: ColumnElement[int], key: ColumnElement[str]
) -> list[ColumnElement[bool]]:
    """PostgreSQL, for a statement that handles an event outside the usual way (a
    ``/win``, a check-in's click or typed answer at once): the conditions under which the
    usual way would do no more than it. ``member`` (the members table's columns, or an
    alias's) is ``me`` of ``workspace`` and the one whose platform id is parameter
    ``user``; the event's look-up would write nothing to their row (``LastSeen.write_to``,
    its parameters ``LastSeen.params``) and add nothing to the answer (their DMs not
    stopped); the workspace delivers; the event's ``key`` was not claimed before."""
    name = bindparam("name", type_=member.display_name.type)
    admin = bindparam("admin", type_=member.is_admin.type)
    workspaces, handled = table_of(Workspace), table_of(HandledEvent)
    return [
        member.id == me,
        member.workspace_id == workspace,
        member.external_id == bindparam("user", type_=member.external_id.type),
        member.dm_blocked_at.is_(None),
        or_(name.is_(None), member.display_name == name),
        or_(admin.is_(None), member.is_admin == admin),
        or_(~bindparam("zone", type_=Boolean), member.timezone.is_not(None)),
        ~exists().where(
            workspaces.c.id == workspace, workspaces.c.delivery_stopped_at.is_not(None)
        ),
        ~exists().where(handled.c.workspace_id == workspace, handled.c.key == key),
    ]


def sender_by_ref() -> tuple[ScalarSelect[int], ScalarSelect[int]]:
    """A member's id and their workspace's, found by the platform's ids (parameters
    ``platform``, ``team`` and ``user``): for a statement at once about someone the
    process has not met."""
    workspaces = table_of(Workspace).alias("their_workspace")
    members = table_of(Member).alias("them")
    workspace = (
        select(workspaces.c.id)
        .where(
            workspaces.c.platform == bindparam("platform", type_=workspaces.c.platform.type),
            workspaces.c.external_id == bindparam("team", type_=workspaces.c.external_id.type),
        )
        .scalar_subquery()
    )
    me = (
        select(members.c.id)
        .where(
            members.c.workspace_id == workspace,
            members.c.external_id == bindparam("user", type_=members.c.external_id.type),
        )
        .scalar_subquery()
    )
    return me, workspace


def _with_open_flows(kinds: tuple[str, ...]) -> AnySelect:
    """The look-up with the member's open flows of ``kinds``, one row each, newest
    first (a row with no flow when there is none): a typed DM needs them to find the
    question it answers, and reading them here costs no round trip of their own."""
    return (
        _WORKSPACE_AND_MEMBER.add_columns(FlowSession)
        .outerjoin(
            FlowSession,
            and_(
                FlowSession.member_id == Member.id,
                FlowSession.workspace_id == Workspace.id,
                FlowSession.kind.in_(kinds),
                FlowSession.ended_at.is_(None),
            ),
        )
        .order_by(FlowSession.updated_at.desc(), FlowSession.id.desc())
    )


def _with_flow_by_id(dialect: str) -> AnySelect:
    """The look-up with the flow a button or form names (``flow:<id>:…``), when it is
    this workspace's: a click needs it first thing, and reading it here costs no round
    trip of its own. On PostgreSQL the row is locked, as ``find_flow`` locks it (two
    clicks on one flow take turns), in a lateral subquery: a lock may not reach the
    nullable side of an outer join itself."""
    by_id = and_(FlowSession.id == bindparam("flow_id"), FlowSession.workspace_id == Workspace.id)
    if dialect != "postgresql":
        return _WORKSPACE_AND_MEMBER.add_columns(FlowSession).outerjoin(FlowSession, by_id)
    locked = select(FlowSession).where(by_id).with_for_update().lateral("clicked_flow")
    flow = aliased(FlowSession, locked)
    return _WORKSPACE_AND_MEMBER.add_columns(flow).outerjoin(flow, true())


# SQLite: the look-up of a ``/win`` with the member's partners (bot/partners.py). Read
# here, under the write lock BEGIN IMMEDIATE takes, the win's own statements need give
# no answer and go to SQLite with the COMMIT (bot/wins.py): a trip to aiosqlite's
# thread less. PostgreSQL reads them in the win's INSERT, as its RETURNING.
_WITH_PARTNERS = _WORKSPACE_AND_MEMBER.add_columns(
    listed_partners("sqlite", table_of(Member).c.id, table_of(Workspace).c.id)
)

# Built once per shape: (dialect, claiming the key, the open flows' kinds, a flow by id,
# the partners).
_LOOK_UPS: dict[tuple[str, bool, tuple[str, ...] | None, bool, bool], AnySelect] = {}


def _look_up(
    dialect: str, claiming: bool, kinds: tuple[str, ...] | None, by_id: bool, partners: bool
) -> AnySelect:
    key = (dialect, claiming, kinds, by_id, partners)
    if key not in _LOOK_UPS:
        built = _WORKSPACE_AND_MEMBER
        if kinds is not None:
            built = _with_open_flows(kinds)
        elif by_id:
            built = _with_flow_by_id(dialect)
        elif partners:
            built = _WITH_PARTNERS
        _LOOK_UPS[key] = _claiming(dialect, built, win=partners) if claiming else built
    return _LOOK_UPS[key]


@dataclass(frozen=True, slots=True)
class LookUp:
    """Who an event comes from (see ``get_workspace_and_member``)."""

    workspace: Workspace
    member: Member
    # Whether the event's delivery key was claimed now (False: a repeated delivery).
    # None: not claimed yet.
    claimed: bool | None
    # The member's open flows of the kinds asked for, newest first; None: not asked.
    open_flows: list[FlowSession] | None = None
    # The flow asked for by id and what was found (None: not this workspace's, or gone);
    # None: not asked.
    flow_by_id: tuple[int, FlowSession | None] | None = None
    # The member's partners as ``listed_partners`` gives them (SQLite, a ``/win``);
    # None: not read.
    partners: list[Any] | None = None
    # SQLite, a ``/win``: the key was found unclaimed and no claim was written yet (the
    # win's row claims it, or ``Turn.write_claim``).
    claim_pending: bool = False


async def get_workspace_and_member(
    session: AsyncSession,
    ref: UserRef,
    now: datetime,
    *,
    event_key: str | None = None,
    open_flows: tuple[str, ...] | None = None,
    flow_id: int | None = None,
    win_partners: bool = False,
) -> LookUp:
    """The workspace and the member an event comes from, in one query when both exist
    (every event but a person's first); created if missing, as ``get_or_create`` does.
    With an ``event_key``, the query also claims it (``_claiming``). With ``open_flows``
    (flow kinds), it also reads the member's open flows of those kinds; otherwise, with
    a ``flow_id``, that flow of the workspace (locked on PostgreSQL). With
    ``win_partners`` on SQLite, the member's partners (``_WITH_PARTNERS``)."""
    values: dict[str, Any] = {
        "user_id": ref.user_id,
        "platform": ref.platform.value,
        "workspace_id": ref.workspace_id,
    }
    dialect = dialect_of(session)
    claiming = event_key is not None
    if claiming:
        values |= {"key": event_key, "at": now}
    by_id = open_flows is None and flow_id is not None
    if by_id:
        values["flow_id"] = flow_id
    partners = win_partners and not by_id and open_flows is None and dialect == "sqlite"
    statement = _look_up(dialect, claiming, open_flows, by_id, partners)
    rows = (await session.execute(statement, values)).all()
    found = rows[0] if rows else None
    claimed = bool(found[-1]) if claiming and found is not None else None
    workspace = found[0] if found else await get_workspace(session, ref.workspace, now)
    pending = False
    if claimed and dialect == "sqlite":
        if partners:
            pending = True  # a /win: its win's row claims the key (``_claiming``)
        else:
            await _write_claim(session, workspace, event_key, now)
    member = found[1] if found else None
    if member is None:
        member = await get_member(session, workspace, ref.user_id, now)
    flows = None
    if open_flows is not None:
        flows = [row[2] for row in rows if row[2] is not None]
    named = None
    if by_id and flow_id is not None:
        # A workspace's first event reads no flow: none of its flows exists yet.
        named = (flow_id, found[2] if found else None)
    listed = None
    if partners and found is not None and found[1] is not None:
        listed = found[2] or []
    return LookUp(workspace, member, claimed, flows, named, listed, pending)


async def _write_claim(
    session: AsyncSession, workspace: Workspace, key: str | None, now: datetime
) -> None:
    """SQLite: the claim of a key the look-up found unclaimed, written with the event's
    next statement (``_claiming``)."""
    claim = {"workspace": workspace.id, "key": key, "at": now}
    await execute_deferred(session, _CLAIM_ON_SQLITE, claim)


# The columns ``outbox_row`` fills.
_OUTBOX_COLUMNS = (
    "workspace_id",
    "target_kind",
    "target_id",
    "content",
    "status",
    "last_error",
    "attempts",
    "next_attempt_at",
    "created_at",
)


def outbox_row(
    workspace: Workspace,
    target: OutboxTarget,
    target_id: str,
    content: Content,
    now: datetime,
    at: datetime | None = None,
) -> dict[str, Any]:
    """One outbox message as column values, sent now or (quiet hours) not before ``at``.
    A workspace that refused us for good gets nothing until it is set up again: the
    message is kept, marked failed, rather than left waiting forever."""
    stopped = workspace.delivery_stopped_at is not None
    return {
        "workspace_id": workspace.id,
        "target_kind": target.value,
        "target_id": target_id,
        "content": content.to_json(),
        "status": (OutboxStatus.FAILED if stopped else OutboxStatus.PENDING).value,
        "last_error": "workspace unreachable" if stopped else None,
        "attempts": 0,
        "next_attempt_at": max(at, now) if at else now,
        "created_at": now,
    }


async def workspaces_by_id(session: AsyncSession, ids: Iterable[int]) -> dict[int, Workspace]:
    """The workspaces of a batch's rows, by id, in one look-up."""
    query = select(Workspace).where(one_of(dialect_of(session), Workspace.id, sorted(set(ids))))
    return {workspace.id: workspace for workspace in (await session.execute(query)).scalars()}


class OutboxRows:
    """DMs of scheduled work as outbox rows, for a whole batch: each is the row
    :func:`~bot.turn.outbox_row` makes, from one made per workspace and moment."""

    def __init__(self, now: datetime, workspaces: Mapping[int, Workspace]) -> None:
        self._now = now
        self._workspaces = workspaces
        self._rows: dict[tuple[int, datetime], dict[str, Any]] = {}

    def dm(
        self, workspace_id: int, target_id: str, content: dict[str, Any], at: datetime
    ) -> dict[str, Any]:
        """``outbox_row(workspace, DM, target_id, <content as JSON>, now, at)``."""
        key = (workspace_id, at)
        template = self._rows.get(key)
        if template is None:
            workspace = self._workspaces[workspace_id]
            template = outbox_row(workspace, OutboxTarget.DM, "", Content(""), self._now, at)
            self._rows[key] = template
        return {**template, "target_id": target_id, "content": content}

    @staticmethod
    async def insert(session: AsyncSession, rows: Iterable[Mapping[str, Any]]) -> None:
        """Write ``rows`` (``dm``'s) ``ROWS_PER_INSERT`` at a time, each slice built as
        it is written: a pass's DMs (and the statement's buffers) all held at once set its
        peak memory (bench/README.md, issue 16, goal 4)."""
        part: list[Mapping[str, Any]] = []
        for row in rows:
            part.append(row)
            if len(part) == ROWS_PER_INSERT:
                await insert_arrays(session, table_of(OutboxMessage), part)
                part = []
        await insert_arrays(session, table_of(OutboxMessage), part)


# Outbox rows written in one statement by ``OutboxRows.insert``.
ROWS_PER_INSERT = 200


def outbox_cte(
    source: FromClause,
    name: str,
    target_id: ColumnElement[str] | None = None,
    *,
    given: Mapping[str, ColumnElement[Any]] | None = None,
) -> CTE:
    """PostgreSQL: a DM written by another statement, as its data-modifying CTE, once
    for each row of ``source`` (one of that statement's CTEs or subqueries: the DM is
    written exactly when that row is), from ``Turn.dm_in_statement``'s parameters, or,
    ``target_id`` being a column of ``source``, to each row's person from
    ``Turn.dms_in_statement``'s. ``given``: columns whose values the statement finds
    itself (its DM's content told apart by what it wrote). It returns each DM's ``id``
    and ``target_id``."""
    found = dict(given or {})
    if target_id is not None:
        found["target_id"] = target_id
    values = [
        found.get(column, bindparam(f"dm_{column}", type_=_OUTBOX.c[column].type))
        for column in _OUTBOX_COLUMNS
    ]
    row = select(*values).select_from(source)
    writing = insert(_OUTBOX).from_select(_OUTBOX_COLUMNS, row)
    return writing.returning(_OUTBOX.c.id, _OUTBOX.c.target_id).cte(name)


# Buttons one message may carry on every platform (Slack: 25 elements in an actions
# block; Discord: 5 action rows of 5 buttons).
MESSAGE_BUTTONS = 25


def untaken_dms(*where: ColumnElement[bool]) -> Select[OutboxMessage]:
    """DMs in the outbox no sender has taken yet (pending, never tried), to have more
    joined to them: locked as they are read (PostgreSQL), so a sender does not take one
    meanwhile, and one a sender holds is passed over."""
    return (
        select(OutboxMessage)
        .where(
            OutboxMessage.target_kind == OutboxTarget.DM.value,
            OutboxMessage.status == OutboxStatus.PENDING.value,
            OutboxMessage.attempts == 0,
            *where,
        )
        .with_for_update(skip_locked=True)
    )


def joinable(first: Content, then: Content) -> bool:
    """Two messages with fields cannot share one text above them; nor may the buttons
    pass what one message allows."""
    fits = len(first.buttons) + len(then.buttons) <= MESSAGE_BUTTONS
    return fits and not (first.fields and then.fields)


# A button on a joined message says so in its action id: a click then answers on its
# own instead of replacing the message, which still asks the other part's question.
KEEP_MESSAGE = "keep:"


def join_contents(first: Content, then: Content) -> Content:
    """Two things told to one person at one event, as one message: both texts, and the
    buttons for what comes next of both. Fields stay right under the text that
    introduces them, so the text of a message with fields comes last."""
    texts = (then.text, first.text) if first.fields else (first.text, then.text)
    return Content(
        "\n\n".join(texts),
        title=first.title or then.title,
        fields=first.fields + then.fields,
        buttons=_told_apart(tuple(_kept(b) for b in first.buttons + then.buttons)),
    )


# The number a joined message puts after a label that two of its parts share.
_PART_NUMBER = re.compile(r" \((\d+)\)$")


def _told_apart(buttons: tuple[Button, ...]) -> tuple[Button, ...]:
    """Two parts with the same buttons (two proposals: [Accept] [Decline] twice) would
    leave nobody knowing which [Accept] is which: a label that repeats is numbered in the
    order its parts are told, ``Accept (1)``, ``Accept (2)``, however many are joined."""
    bases = [_PART_NUMBER.sub("", button.label) for button in buttons]
    repeated = {base for base in bases if bases.count(base) > 1}
    seen: dict[str, int] = {}
    told: list[Button] = []
    for base, button in zip(bases, buttons, strict=True):
        if base not in repeated:
            told.append(button)
            continue
        seen[base] = seen.get(base, 0) + 1
        told.append(replace(button, label=f"{base} ({seen[base]})"))
    return tuple(told)


def _kept(button: Button) -> Button:
    if button.action_id.startswith(KEEP_MESSAGE):
        return button
    return replace(button, action_id=KEEP_MESSAGE + button.action_id)


@dataclass(frozen=True, slots=True)
class Person:
    """Whom a DM goes to, when their member row was not loaded (bot/wins.py reads the
    partners a win's news goes to along with the win)."""

    external_id: str
    timezone: str | None = None


def display_name(member: Member) -> str:
    """For places where a mention cannot render (button labels)."""
    return member.display_name or member.external_id


# How many pairs (proposed, active or paused) one person may be in, unless configured
# otherwise: a "which pair?" question stays a short menu, and one person's news does not
# flood the delivery queue.
DEFAULT_MAX_PAIRS_PER_PERSON = 20


@dataclass
class Turn:
    session: AsyncSession
    now: datetime
    workspace: Workspace
    actor: Member
    actor_ref: UserRef
    actor_is_admin: bool
    # Set when a person picked a pair from a "which pair?" question.
    chosen_pair_id: int | None = None
    # Scheduled work (nobody is waiting for an answer): DMs wait out quiet hours.
    scheduled: bool = False
    # The most pairs one person may be in (MAX_PAIRS_PER_PERSON).
    max_pairs: int = DEFAULT_MAX_PAIRS_PER_PERSON
    # The actor's open conversations, newest first, when the look-up read them (a
    # typed DM); None: not read.
    open_flows: list[FlowSession] | None = None
    # The flow a clicked button or submitted form names, read (and locked) with the
    # look-up, and its id; None: not read (``find_flow`` reads it).
    flow_by_id: tuple[int, FlowSession | None] | None = None
    # The actor's partners, read with the look-up (SQLite, a ``/win``: ``LookUp``);
    # None: not read (the win's INSERT returns them).
    partners: list[Any] | None = None
    # The platform's id of this delivery (a Slack trigger id, a Discord interaction id);
    # None: none (the console, scheduled work).
    event_key: str | None = None
    # SQLite, a ``/win``: its key is not claimed yet. The win's row claims it
    # (``take_event_key``); when no win is saved, the Engine does (``write_claim``).
    claim_pending: bool = False
    # A ``/win``: whether a partner of the sharer gets news in batches (bot/wins.py).
    news_batched: bool = False
    queued: int = field(default=0)
    # This turn's DM to each person: one event, one message per person (see ``_queue``).
    _dms: dict[str, OutboxMessage] = field(default_factory=dict, repr=False)
    # People whose DM of this event is a batch of news lines (``told_in``).
    _batches: set[str] = field(default_factory=set, repr=False)
    # Messages queued inside ``outbox_in_one_statement``, written when it ends.
    _unwritten: list[OutboxMessage] | None = field(default=None, repr=False)
    # DMs of this event a statement wrote itself (``dm_in_statement``), by person: the
    # row's id and its columns' values.
    _written: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict, repr=False)
    # What this event tells the actor besides its answer (``tell_actor``).
    _notes: list[Content] = field(default_factory=list, repr=False)

    @classmethod
    def on_behalf_of(
        cls, session: AsyncSession, now: datetime, workspace: Workspace, member: Member
    ) -> Turn:
        """A turn for scheduled work: nobody acted; ``member`` is whom it concerns."""
        ref = UserRef(Platform(workspace.platform), workspace.external_id, member.external_id)
        return cls(session, now, workspace, member, ref, actor_is_admin=False, scheduled=True)

    @property
    def platform(self) -> Platform:
        return self.actor_ref.platform

    def ref(self, member: Member) -> UserRef:
        return UserRef(self.platform, self.workspace.external_id, member.external_id)

    def channel(self, channel_id: str) -> ChannelRef:
        return ChannelRef(self.platform, self.workspace.external_id, channel_id)

    async def member(self, user_id: str) -> Member:
        return await get_member(self.session, self.workspace, user_id, self.now)

    def reply(self, text: str, *, buttons: tuple[Button, ...] = ()) -> list[Effect]:
        return [ReplyEphemeral(self.actor_ref, Content(text, buttons=buttons))]

    def dm(self, member: Member | Person, content: Content, *, at: datetime | None = None) -> None:
        """Queue a DM, sent now or (quiet hours) not before ``at``. DMs from scheduled work
        never arrive between 21:00 and 08:00 in a recipient's known timezone."""
        if at is None and self.scheduled and member.timezone:
            at = outside_quiet_hours(self.now, member.timezone)
        self._queue(OutboxTarget.DM, member.external_id, content, at)

    def post(self, channel_id: str, content: Content) -> None:
        self._queue(OutboxTarget.CHANNEL, channel_id, content, None)

    def tell_actor(self, content: Content) -> None:
        """Something the actor is told of their own event that asks nothing of them (a
        milestone they reached). One event, one message per person: it joins the event's
        DM to them, in the order things were told, or else its answer to them
        (``with_notes``). Anything but plain text (buttons, a menu, fields, a title), and
        anything of scheduled work, is a DM as usual."""
        me = self.actor.external_id
        if self.scheduled or not content.is_plain or self._has_dm(me):
            self.dm(self.actor, content)
        else:
            self._notes.append(content)

    def _has_dm(self, target_id: str) -> bool:
        return target_id in self._dms or target_id in self._written

    def has_dm_to_actor(self) -> bool:
        """Whether this event has queued a DM to the actor (what else it tells them
        joins it: ``dm``)."""
        return self._has_dm(self.actor.external_id)

    def with_notes(self, effects: list[Effect]) -> list[Effect]:
        """``effects`` once what ``tell_actor`` kept has joined the front of the DM this
        event queued to the actor after it, or, when there is none, the first answer only
        the actor sees (a DM of its own when there is neither: a click that replaced its
        message)."""
        notes, self._notes = self._notes, []
        if not notes:
            return effects
        text = "\n\n".join(note.text for note in notes)
        me = self.actor.external_id
        if not self._has_dm(me) and (answered := self.answer_with(effects, text)) is not None:
            return answered
        self._queue(OutboxTarget.DM, me, Content(text), None, first=True)
        return effects

    def answer_with(
        self, effects: list[Effect], text: str, *, first: bool = False
    ) -> list[Effect] | None:
        """``effects`` with ``text`` joined to the first answer only the actor sees, after
        its text (``first``: before it); None when there is no such answer. The answer
        keeps its buttons (``text`` asks nothing), and its fields stay right under the
        text that introduces them (``join_contents``)."""
        for index, effect in enumerate(effects):
            if isinstance(effect, ReplyEphemeral) and effect.to == self.actor_ref:
                reply = effect.content
                texts = (text, reply.text) if first or reply.fields else (reply.text, text)
                content = replace(reply, text="\n\n".join(texts))
                return [*effects[:index], replace(effect, content=content), *effects[index + 1 :]]
        return None

    def _queue(
        self,
        target: OutboxTarget,
        target_id: str,
        content: Content,
        at: datetime | None,
        *,
        first: bool = False,
    ) -> None:
        """``first``: joined to a DM already queued, it comes before what that DM says."""
        row = outbox_row(self.workspace, target, target_id, content, self.now, at)
        earlier = self._dms.get(target_id) if target == OutboxTarget.DM else None
        if target == OutboxTarget.DM and target_id in self._written:
            earlier = self._written_message(target_id)
        if earlier is not None and target_id in self._batches and content.is_plain:
            # A batch of news (one line each): what else this event tells them is a line.
            batch = Content.from_json(earlier.content)
            lines = "\n".join(f"• {part}" for part in content.text.split("\n\n") if part)
            earlier.content = replace(batch, text=f"{batch.text}\n{lines}").to_json()
            return
        if earlier is not None and joinable(Content.from_json(earlier.content), content):
            # One event, one message per person: what else this event tells them joins
            # the DM already queued (sent when the later of the two may be).
            queued = Content.from_json(earlier.content)
            joined = join_contents(content, queued) if first else join_contents(queued, content)
            earlier.content = joined.to_json()
            earlier.next_attempt_at = max(earlier.next_attempt_at, row["next_attempt_at"])
            return
        message = OutboxMessage(**row)
        if self._unwritten is not None:
            self._unwritten.append(message)
        else:
            self.session.add(message)
        if target == OutboxTarget.DM:
            self._dms[target_id] = message
        self.queued += 1

    @asynccontextmanager
    async def outbox_in_one_statement(self) -> AsyncIterator[None]:
        """The messages this block queues go to the outbox in one INSERT when it ends,
        rather than as objects of the unit of work (which writes them one INSERT each on
        SQLite, and costs more Python per row than the INSERT). Until then, what else the
        block tells a person joins their message as usual; after it, anything more to
        them is a message of its own. Should the block raise, they are left to the unit
        of work as any other message is (nothing is lost if the transaction goes on).
        Every event's work runs inside one (bot/engine.py)."""
        assert self._unwritten is None, "already inside one"
        self._unwritten = []
        try:
            yield
        except BaseException:
            unwritten, self._unwritten = self._unwritten, None
            self.session.add_all(unwritten)
            raise
        await self.write_outbox()
        self._unwritten = None

    async def write_outbox(self) -> None:
        """Write the messages queued so far inside ``outbox_in_one_statement`` now, for
        work that reads or deletes outbox rows (forgetting someone); what the block
        queues after this is written when it ends."""
        unwritten = self._unwritten
        if not unwritten:
            return
        self._unwritten = []
        rows = [{name: getattr(message, name) for name in _OUTBOX_COLUMNS} for message in unwritten]
        # Nothing reads it back: on SQLite it goes with the transaction's next statement.
        await execute_deferred(self.session, _WRITING_OUTBOX, rows if len(rows) > 1 else rows[0])
        for message in unwritten:
            if self._dms.get(message.target_id) is message:
                del self._dms[message.target_id]

    def dm_in_statement(self, member: Member | Person, content: Content) -> dict[str, Any] | None:
        """PostgreSQL: ``member``'s DM as the parameters of a statement that writes it
        itself (an ``outbox_cte``: one statement less than the event's outbox INSERT),
        when nothing else was told them in this event so far; once the statement ran,
        ``told_in_statement`` says whether it did. None: queue it with ``dm``."""
        to = member.external_id
        if self._has_dm(to):
            return None
        return self._in_statement(to, content)

    def dms_in_statement(self, content: Content) -> dict[str, Any] | None:
        """PostgreSQL: the parameters of a statement that writes ``content`` as a DM to
        each person its rows name (``outbox_cte`` with a ``target_id``), when nothing was
        told anyone in this event so far; ``told_in_statement`` for each it wrote. None:
        queue them with ``dm``."""
        if self._dms or self._written:
            return None
        return self._in_statement(None, content)

    def _in_statement(self, to: str | None, content: Content) -> dict[str, Any] | None:
        if self.scheduled or dialect_of(self.session) == "sqlite":
            # (A scheduled DM may wait out quiet hours, each in their own timezone.)
            return None
        row = outbox_row(self.workspace, OutboxTarget.DM, to or "", content, self.now)
        if to is None:
            del row["target_id"]
        return {f"dm_{name}": value for name, value in row.items()}

    def told_in_statement(
        self, member: Member | Person, params: dict[str, Any], message_id: int | None
    ) -> bool:
        """The statement with ``params`` (``dm_in_statement``, ``dms_in_statement``) ran
        and wrote ``member``'s DM as ``message_id``; None: it wrote nothing. What else
        this event tells them still joins that DM (``_written_message``)."""
        if message_id is None:
            return False
        row = {name.removeprefix("dm_"): value for name, value in params.items()}
        row["target_id"] = member.external_id
        self._written[member.external_id] = (message_id, row)
        self.queued += 1
        return True

    def _written_message(self, target_id: str) -> OutboxMessage:
        """The DM a statement wrote to this person in this event, as an object of the
        unit of work: what joins it is written as its UPDATE at the commit."""
        message_id, row = self._written.pop(target_id)
        message = OutboxMessage(id=message_id, **row)
        make_transient_to_detached(message)
        self.session.add(message)
        self._dms[target_id] = message
        return message

    def told_in(self, target_id: str, message: OutboxMessage) -> None:
        """This event's news to a person went into ``message``, a DM still waiting from
        an earlier event (bot/wins.py batches win news): what else the event tells them
        joins it too, rather than leaving as a message of its own."""
        if target_id not in self._dms:
            self._dms[target_id] = message
            self._batches.add(target_id)

    def take_event_key(self) -> str | None:
        """The event's delivery key, for the row it makes (a win): on SQLite that row's
        unique key is the event's claim, so none other is written (``_claiming``)."""
        self.claim_pending = False
        return self.event_key

    async def write_claim(self) -> None:
        """The claim the look-up left to the event's row (``claim_pending``), when the
        event's work made none: an event that saved no win is still handled once. (A
        refused command rolls back whole, and nothing of it is kept to repeat.)"""
        if self.claim_pending:
            self.claim_pending = False
            await _write_claim(self.session, self.workspace, self.event_key, self.now)

    async def claim_event_key(self, key: str) -> bool:
        """False when this platform delivery was handled before (a retry). One statement:
        the unique constraint decides, also between two instances at the same moment."""
        claim = _CLAIMS[dialect_of(self.session)]
        found = await self.session.execute(
            claim, {"workspace": self.workspace.id, "key": key, "at": self.now}
        )
        return found.first() is not None


def _claim(dialect_name: str) -> Any:
    table = table_of(HandledEvent)
    return (
        insert_ignoring_duplicates(dialect_name, table).values(_CLAIM_VALUES).returning(table.c.id)
    )


_CLAIMS = per_dialect(_claim)
