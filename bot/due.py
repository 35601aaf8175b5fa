"""Time-based work, in one pass: ``run_due(now)``.

Each job claims what is due through an indexed column (``next_checkin_at``,
``heads_up_at``, ``paused_until``, ``next_anniversary_at``, a flow session's ``due_at``,
a check-in's ``closes_at``) with a batch limit, so a pass costs what is due, not what
exists. Handling an item clears or advances its due column in the same transaction, so
calling ``run_due`` again at the same ``now`` does nothing. On PostgreSQL the claim is
``FOR UPDATE SKIP LOCKED``: several instances split the work and never do it twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, partial, reduce
from typing import Any, TypeVar

from sqlalchemy import Column, ColumnElement, Row, Select, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from bot import stalls
from bot.cadence import held_until, local_view, outside_quiet_hours
from bot.clock import ManualClock
from bot.content import Button, Content
from bot.due_report import DueReport as DueReport
from bot.faults import crash_point
from bot.flows import checkin, feedback
from bot.flows.sessions import FlowKind
from bot.matching import rounds as matching_rounds
from bot.milestones import reach_automatic
from bot.pairs import MENTEE, MENTOR, label_name, other_member_in_sql
from bot.rhythm import (
    Rhythms,
    Scheduled,
    anniversary_months,
    anniversary_title,
    moment_marker,
    resume_schedule,
    schedule_anniversary,
)
from bot.storage.bulk import dialect_of, one_of, table_of
from bot.storage.database import Database
from bot.storage.models import (
    PARTNERED_PAIR_STATES,
    Checkin,
    CheckinState,
    FlowSession,
    MatchProposal,
    Member,
    OutboxMessage,
    OutboxStatus,
    Pair,
    PairState,
    Workspace,
)
from bot.turn import OutboxRows, Turn, join_contents, workspaces_by_id

log = logging.getLogger(__name__)

BATCH = 1000
# A year of weekly occurrences: the catch-up walk after an outage never runs longer.
MAX_CATCH_UP_STEPS = 60
# A check-in missed by more than this (the bot was down) is recorded, not sent late.
MISSED_AFTER = timedelta(hours=12)
SKIP_ACTION = "skip"
RETRY_FAILED_AFTER = timedelta(hours=1)


Job = Callable[[AsyncSession, datetime, int, DueReport], Awaitable[int]]


async def run_due(
    database: Database, now: datetime, *, batch: int = BATCH, spread: timedelta = timedelta(0)
) -> DueReport:
    """``spread``: prompts that fall due together go out over this window, each pair at
    its own fixed offset, instead of in one burst."""
    report = DueReport()
    # Each job with the indexed column its work falls due by: a job whose column holds
    # nothing at or before ``now`` has nothing to do, and is not run (a transaction each,
    # ~1 ms on SQLite, for nothing). The column is a superset of the job's condition, so
    # a job with work is never skipped.
    jobs: list[tuple[Job, InstrumentedAttribute[datetime | None]]] = [
        (_resume_paused, Pair.paused_until),
        (partial(_open_checkins, spread=spread), Pair.next_checkin_at),
        (_close_checkins, Checkin.closes_at),
        (_nudge_checkins, FlowSession.due_at),
        (_fire_timers, FlowSession.due_at),
        (_send_heads_ups, Pair.heads_up_at),
        (_celebrate_anniversaries, Pair.next_anniversary_at),
        (partial(stalls.check_stalls, claim=_due_pairs), Pair.stall_check_at),
        (matching_rounds.expire_due, MatchProposal.expires_at),
    ]
    earliest = await _earliest(database, [column for _, column in jobs])
    for number, (job, _) in enumerate(jobs):
        first = earliest[number]
        if first is None or first > now:
            continue
        did_work = False
        while True:
            # On the pass's own connection (PostgreSQL: bot/storage/database.py).
            async with database.transaction(scheduled=True) as session:
                handled = await job(session, now, batch, report)
            if handled:
                did_work = True
                crash_point("after_dispatch_batch")
            if handled < batch:
                break
        if did_work:  # it may have made work for the jobs after it (a nudge, a stall check)
            earliest = await _earliest(database, [column for _, column in jobs])
    return report


async def _earliest(
    database: Database, columns: Sequence[InstrumentedAttribute[datetime | None]]
) -> list[datetime | None]:
    """The earliest value of each column (an index's first entry), in one statement (on
    its own: an idle pass is one round trip to PostgreSQL)."""
    earliest = select(*(select(func.min(column)).scalar_subquery() for column in columns))
    return list((await database.execute_alone(earliest, scheduled=True)).one())


async def next_due_at(database: Database) -> datetime | None:
    """The earliest moment anything falls due (each from its index), for a simulated
    clock that moves from one due moment to the next (the console's ``:advance``)."""
    columns: list[InstrumentedAttribute[datetime | None]] = [
        Pair.next_checkin_at,
        Pair.heads_up_at,
        Pair.paused_until,
        Pair.next_anniversary_at,
        Pair.stall_check_at,
        FlowSession.due_at,
        Checkin.closes_at,
        MatchProposal.expires_at,
    ]
    async with database.transaction() as session:
        found = [await session.scalar(select(func.min(column))) for column in columns]
        found.append(
            await session.scalar(
                select(func.min(OutboxMessage.next_attempt_at)).where(
                    OutboxMessage.status == OutboxStatus.PENDING.value
                )
            )
        )
    moments = [moment for moment in found if moment is not None]
    return min(moments) if moments else None


def _skip_locked(session: AsyncSession) -> bool:
    """Claims lock their rows and skip locked ones where the database can (PostgreSQL);
    SQLite has a single writer, so a claim there is already exclusive."""
    return session.get_bind().dialect.name == "postgresql"


async def walk_clock(
    database: Database,
    clock: ManualClock,
    by: timedelta,
    step: Callable[[], Awaitable[None]],
) -> None:
    """Move a simulated clock (the console, tests) forward from one due moment to the
    next, calling ``step`` (run what is due, deliver) at each, so every check-in, nudge
    and close happens at its own time rather than all at the end."""
    target = clock.now() + by
    while (moment := await next_due_at(database)) is not None and moment <= target:
        clock.set(max(moment, clock.now()))
        await step()
        after = await next_due_at(database)
        if after is not None and after <= clock.now():
            break  # something due cannot be handled now; don't spin on it
    clock.set(target)
    await step()


DuePair = tuple[Pair, Workspace, Member, Member]


async def _due_pairs(
    session: AsyncSession,
    condition: ColumnElement[bool],
    order: InstrumentedAttribute[Any],
    batch: int,
) -> list[DuePair]:
    """Pairs with their workspace and both members, in one query."""
    mentor, mentee = MENTOR, MENTEE
    query = (
        select(Pair, Workspace, mentor, mentee)
        .join(Workspace, Pair.workspace_id == Workspace.id)
        .join(mentor, Pair.mentor_id == mentor.id)
        .join(mentee, Pair.mentee_id == mentee.id)
        .where(condition)
        # The indexed column alone: with a tie-breaker PostgreSQL sorts every row due at
        # the same moment before the LIMIT (20,000 due at once: 92 ms a claim, not 3 ms).
        .order_by(order)
        .limit(batch)
    )
    if _skip_locked(session):
        query = query.with_for_update(skip_locked=True, of=Pair)
    return [(p, w, a, b) for p, w, a, b in (await session.execute(query)).all()]


# What the work of one item of a pass gives (``_each``).
_Done = TypeVar("_Done")


async def _each(
    session: AsyncSession, what: str, item_id: int, work: Awaitable[_Done]
) -> _Done | None:
    """One item in its own savepoint: a failure is logged and leaves the others alone.
    What ``work`` gave, or None when it failed."""
    try:
        async with session.begin_nested():
            return await work
    except Exception:
        log.exception("scheduled %s for %s failed", what, item_id)
        return None


_PAIRS = table_of(Pair)
_FLOWS = table_of(FlowSession)
_MENTOR = table_of(Member).alias("mentor")
_MENTEE = table_of(Member).alias("mentee")


def _active_pairs_due(due: Column[Any], *columns: ColumnElement[Any]) -> Select[Any]:
    """``columns`` of the active pairs whose ``due`` column is at or before ``now``, each
    with its mentor and mentee joined (``_MENTOR``, ``_MENTEE``), earliest first,
    ``batch`` at most: a pass's claim of pairs in plain rows."""
    return (
        select(*columns)
        .join(_MENTOR, _PAIRS.c.mentor_id == _MENTOR.c.id)
        .join(_MENTEE, _PAIRS.c.mentee_id == _MENTEE.c.id)
        .where(_PAIRS.c.state == PairState.ACTIVE.value, due <= bindparam("now"))
        # The indexed column alone (see _due_pairs).
        .order_by(due)
        .limit(bindparam("batch"))
    )


# The columns the pass needs, claimed as plain rows: loading four mapped objects per
# pair (and flushing them back) cost more than everything the database did.
_CHECKIN_CLAIM = _active_pairs_due(
    _PAIRS.c.next_checkin_at,
    _PAIRS.c.id,
    _PAIRS.c.workspace_id,
    _PAIRS.c.cadence,
    _PAIRS.c.weekday,
    _PAIRS.c.local_time,
    _PAIRS.c.timezone,
    _PAIRS.c.cadence_anchor,
    _PAIRS.c.next_checkin_at,
    _PAIRS.c.activated_at,
    _PAIRS.c.created_at,
    _MENTOR.c.id,
    _MENTOR.c.external_id,
    _MENTOR.c.timezone,
    _MENTEE.c.id,
    _MENTEE.c.external_id,
    _MENTEE.c.timezone,
)
# A pair keeps the anchor it has; one without gets the default its rhythm gave it.
_ADVANCE_VALUES = {
    "cadence_anchor": func.coalesce(
        _PAIRS.c.cadence_anchor, bindparam("anchor", type_=_PAIRS.c.cadence_anchor.type)
    ),
    "next_checkin_at": bindparam("next_checkin_at"),
    "heads_up_at": bindparam("heads_up_at"),
}
_ADVANCE_ONE = update(_PAIRS).where(_PAIRS.c.id == bindparam("pair_id")).values(_ADVANCE_VALUES)
# Pairs that move to the same next occurrence, at least this many, share one UPDATE.
_ADVANCE_TOGETHER = 8


async def _advance(session: AsyncSession, scheduled: dict[Scheduled, list[int]]) -> None:
    """Store each pair's next occurrence: pairs due together on one rhythm (the usual
    case: a workspace's pairs on its default cadence) in one statement per group, the
    rest in one ``executemany``."""
    one_by_one: list[dict[str, Any]] = []
    for when, pair_ids in scheduled.items():
        values = {
            "anchor": when.default_anchor,
            "next_checkin_at": when.next_checkin_at,
            "heads_up_at": when.heads_up_at,
        }
        if len(pair_ids) >= _ADVANCE_TOGETHER:
            together = (
                update(_PAIRS)
                .where(one_of(dialect_of(session), _PAIRS.c.id, pair_ids))
                .values(_ADVANCE_VALUES)
            )
            await session.execute(together, values)
        else:
            one_by_one += [{"pair_id": pair_id, **values} for pair_id in pair_ids]
    if one_by_one:
        await session.execute(_ADVANCE_ONE, one_by_one)


async def _open_checkins(
    session: AsyncSession, now: datetime, batch: int, report: DueReport, *, spread: timedelta
) -> int:
    query = _CHECKIN_CLAIM
    if _skip_locked(session):
        query = query.with_for_update(skip_locked=True, of=_PAIRS)
    due = (await session.execute(query, {"now": now, "batch": batch})).all()
    rhythms = Rhythms()
    opening: list[checkin.Due] = []
    missed: list[checkin.Due] = []
    scheduled: dict[Scheduled, list[int]] = {}
    for row in due:
        (pair_id, workspace_id, cadence, weekday, local_time, timezone, anchor, due_at) = row[:8]
        rule = rhythms.rule((cadence, weekday, local_time, timezone))
        latest = rhythms.latest(rule, due_at, anchor or due_at.date(), now, MAX_CATCH_UP_STEPS)
        started_at = row[8] or row[9]
        mentor = checkin.Person(row[10], row[11], row[12])
        mentee = checkin.Person(row[13], row[14], row[15])
        if latest != due_at or latest < now - MISSED_AFTER:
            # Never one message per missed week: the stored occurrence is recorded, not
            # sent; the latest is sent if it is recent enough.
            missed.append(
                checkin.Due(pair_id, workspace_id, timezone, started_at, mentor, mentee, due_at)
            )
        if latest >= now - MISSED_AFTER:
            opening.append(
                checkin.Due(pair_id, workspace_id, timezone, started_at, mentor, mentee, latest)
            )
        # Advanced whatever happens below: downtime is caught up once, and a failing pair
        # cannot block the pass.
        # A pair with no anchor yet counts every other week from the check-in due now.
        counted = anchor or latest.astimezone(rule.zone).date()
        scheduled.setdefault(rhythms.schedule(rule, counted, max(now, latest), now), []).append(
            pair_id
        )
    claimed = len(due)
    del due
    await _advance(session, scheduled)
    await checkin.record_missed(session, now, missed)
    report.checkins_missed += len(missed)
    opened = await _open_batch(session, now, opening, spread)
    await feedback.follow_up_now(session, now, opened)
    report.checkins_opened += len(opened)
    return claimed


async def _open_batch(
    session: AsyncSession, now: datetime, opening: list[checkin.Due], spread: timedelta
) -> set[int]:
    """The whole batch in a few statements; if that fails, pair by pair, so one bad row
    costs its own check-in (logged) and not everyone's."""
    try:
        async with session.begin_nested():
            return await checkin.open_checkins(session, now, opening, spread=spread)
    except Exception:
        log.exception("opening %d check-ins together failed; trying one by one", len(opening))
    opened: set[int] = set()
    for item in opening:
        try:
            async with session.begin_nested():
                opened |= await checkin.open_checkins(session, now, [item], spread=spread)
        except Exception:
            log.exception("opening the check-in of pair %s failed", item.pair_id)
    return opened


async def _close_checkins(
    session: AsyncSession, now: datetime, batch: int, report: DueReport
) -> int:
    # The pair and its mentor come with each check-in, not a look-up each.
    query = (
        select(Checkin, Workspace, Member)
        .join(Workspace, Checkin.workspace_id == Workspace.id)
        .outerjoin(Pair, Checkin.pair_id == Pair.id)
        .outerjoin(Member, Member.id == Pair.mentor_id)
        .where(Checkin.closes_at <= now, Checkin.state == CheckinState.OPEN.value)
        .order_by(Checkin.closes_at, Checkin.id)
        .limit(batch)
    )
    if _skip_locked(session):
        query = query.with_for_update(skip_locked=True, of=Checkin)

    def close(row: _AnyRow, read: checkin.Closing | None = None) -> Awaitable[bool] | None:
        item, workspace, member = row
        if member is None:
            item.closes_at = None
            return None
        turn = Turn.on_behalf_of(session, now, workspace, member)
        return checkin.close_due(turn, item, read)

    async def close_all(rows: Sequence[_AnyRow]) -> int:
        # What their closes need, read for them all at once (two statements).
        closing = [item for item, _, member in rows if member is not None]
        read = await checkin.read_for_closing(session, closing)
        closed = 0
        for row in rows:
            work = close(row, read)
            if work is not None:
                closed += await work
        return closed

    async def close_alone(row: _AnyRow) -> bool:
        item = row[0]
        work = close(row)  # reads for itself: what the batch read was rolled back
        if work is None:
            return False
        closed = await _each(session, "closing a check-in", item.id, work)
        if closed is None:
            item.closes_at = now + RETRY_FAILED_AFTER
        return bool(closed)

    claimed, closed = await _together(session, query, "check-ins closing", close_all, close_alone)
    report.checkins_closed += closed
    return claimed


_PARTNER = aliased(Member, name="partner")
# A row of any claim's columns (the passes' claims differ).
_AnyRow = Row[*tuple[Any, ...]]


async def _nudge_checkins(
    session: AsyncSession, now: datetime, batch: int, report: DueReport
) -> int:
    """The check-in conversations whose nudge is due, in plain rows and a few statements
    (``checkin.nudge_due``). When the batch fails, nothing of it is written and the
    timers' pass after it (``_fire_timers``) tries each of them the usual way."""
    query = checkin.NUDGES_DUE
    if _skip_locked(session):
        query = query.with_for_update(skip_locked=True, of=_FLOWS)
    due = (await session.execute(query, {"now": now, "batch": batch})).all()
    if not due:
        return 0
    try:
        async with session.begin_nested():
            await checkin.nudge_due(session, now, due)
    except Exception:
        log.exception("%d check-in nudges together failed; trying them as timers", len(due))
        return 0
    report.timers += len(due)
    return len(due)


async def _fire_timers(session: AsyncSession, now: datetime, batch: int, report: DueReport) -> int:
    # The flow's pair and the member's partner come with it: a nudge names the partner,
    # and looking each pair up in turn was a query per timer.
    query = (
        select(FlowSession, Workspace, Member, Pair, _PARTNER)
        .join(Workspace, FlowSession.workspace_id == Workspace.id)
        .join(Member, FlowSession.member_id == Member.id)
        .outerjoin(Pair, FlowSession.pair_id == Pair.id)
        .outerjoin(
            _PARTNER,
            _PARTNER.id == other_member_in_sql(Pair.mentor_id, Pair.mentee_id, Member.id),
        )
        .where(FlowSession.due_at <= now)
        .order_by(FlowSession.due_at, FlowSession.id)
        .limit(batch)
    )
    if _skip_locked(session):
        query = query.with_for_update(skip_locked=True, of=FlowSession)

    async def fire(row: _AnyRow) -> bool:
        flow, workspace, member = row[:3]
        await _fire(Turn.on_behalf_of(session, now, workspace, member), flow)
        return True

    async def fire_all(rows: Sequence[_AnyRow]) -> int:
        for row in rows:
            await fire(row)
        return len(rows)

    async def fire_alone(row: _AnyRow) -> bool:
        flow = row[0]
        if await _each(session, f"{flow.kind} timer", flow.id, fire(row)):
            return True
        flow.due_at = None  # a timer that keeps failing must not block the queue
        return False

    claimed, fired = await _together(session, query, "timers", fire_all, fire_alone)
    report.timers += fired
    return claimed


async def _together(
    session: AsyncSession,
    claim: Select[*tuple[Any, ...]],
    what: str,
    together: Callable[[Sequence[_AnyRow]], Awaitable[int]],
    alone: Callable[[_AnyRow], Awaitable[bool]],
) -> tuple[int, int]:
    """The rows ``claim`` finds, and how many of them were done: ``together`` does them
    all in one savepoint (what they change is written together when it ends; a savepoint
    each cost two statements an item) and says how many it did (not put off till later,
    nor with nothing to do), or, when that fails, ``alone`` does each, so an item that
    fails costs only its own."""
    # Held for the loop: the session keeps only weak references to what it loaded.
    rows = (await session.execute(claim)).all()
    if not rows:
        return 0, 0
    try:
        async with session.begin_nested():
            done = await together(rows)
    except Exception:
        log.exception("%d %s together failed; trying one by one", len(rows), what)
    else:
        return len(rows), done
    # The rollback expired what the batch had changed: read again (the rows are still
    # this transaction's).
    rows = (await session.execute(claim, execution_options=_READ_AGAIN)).all()
    done = 0
    for row in rows:
        done += await alone(row)
    return len(rows), done


_READ_AGAIN = {"populate_existing": True}


async def _fire(turn: Turn, flow: FlowSession) -> None:
    match flow.kind:
        case FlowKind.CHECKIN:
            await checkin.nudge(turn, flow)
        case FlowKind.FEEDBACK:
            await feedback.on_due(turn, flow)
        case _:
            flow.due_at = None


# The pairs whose heads-up is due, as plain rows with both members' ids and timezones
# (loading four mapped objects a pair set the dispatch pass's peak memory: bench/
# README.md, issue 16, goal 4).
_HEADS_UPS_DUE = _active_pairs_due(
    _PAIRS.c.heads_up_at,
    _PAIRS.c.id,
    _PAIRS.c.workspace_id,
    _PAIRS.c.next_checkin_at,
    _PAIRS.c.timezone,
    _MENTOR.c.external_id,
    _MENTOR.c.timezone,
    _MENTOR.c.display_name,
    _MENTEE.c.external_id,
    _MENTEE.c.timezone,
    _MENTEE.c.display_name,
)


async def _send_heads_ups(
    session: AsyncSession, now: datetime, batch: int, report: DueReport
) -> int:
    """Each pair due a heads-up no longer due one, and, when its check-in is still to
    come, both members told by DM (not in their quiet hours), with a button to skip it:
    the claim, one UPDATE, and the DMs ``ROWS_PER_INSERT`` to a statement."""
    query = _HEADS_UPS_DUE
    if _skip_locked(session):
        query = query.with_for_update(skip_locked=True, of=_PAIRS)
    due = (await session.execute(query, {"now": now, "batch": batch})).all()
    if not due:
        return 0
    await session.execute(
        update(_PAIRS)
        .where(one_of(dialect_of(session), _PAIRS.c.id, [row[0] for row in due]))
        .values(heads_up_at=None)
    )
    outbox = OutboxRows(now, await workspaces_by_id(session, {row[1] for row in due}))
    # Each zone's quiet hours worked out once for the batch.
    send_at = cache(partial(outside_quiet_hours, now))
    held_until_in = cache(held_until)  # pairs due at one moment share their slot

    # One DM per person and moment: someone in two pairs on the same slot reads both
    # heads-ups in one message (``join_contents``), each with its own button, which names
    # the partner ([Skip the one with Alice]) rather than a place in the message.
    told: dict[tuple[int, str, datetime], list[_HeadsUp]] = {}
    # By pair, oldest first: the claim orders by the indexed moment alone, and pairs due
    # at one moment came in any order (the joined DM's texts and buttons with them).
    due.sort(key=lambda row: row[0])
    for row in due:
        pair_id, workspace_id, at, pair_zone = row[:4]
        mentor, mentor_zone, mentor_name, mentee, mentee_zone, mentee_name = row[4:]
        if at is None or at <= now:
            continue
        sides = (
            (mentor, mentor_zone, mentee, mentee_name),
            (mentee, mentee_zone, mentor, mentor_name),
        )
        for me, my_zone, partner, partner_name in sides:
            zone = my_zone or pair_zone
            # "tomorrow" or "today" as it is when they read it (quiet hours may hold it).
            when = moment_marker(at, zone)
            held = held_until_in(at, zone)
            later = f" Its questions come to you {held}, after your quiet hours." if held else ""
            told.setdefault((workspace_id, me, send_at(zone)), []).append(
                _HeadsUp(
                    f"Heads-up: your check-in with <@{partner}> is {when}.{later} "
                    "If this one doesn't suit you both, you can skip it.",
                    skip_action(pair_id, at),
                    partner_name or partner,
                )
            )
        report.heads_ups += 1

    await outbox.insert(
        session,
        (
            outbox.dm(workspace_id, me, _one_message(parts).to_json(), at)
            for (workspace_id, me, at), parts in told.items()
        ),
    )
    return len(due)


@dataclass(frozen=True, slots=True)
class _HeadsUp:
    text: str
    skip_action: str
    partner_name: str


def _one_message(parts: list[_HeadsUp]) -> Content:
    """Someone's heads-ups of one moment as one DM; with more than one, each [Skip]
    button names whose check-in it skips."""
    if len(parts) == 1:
        return Content(parts[0].text, buttons=(Button("Skip this one", parts[0].skip_action),))
    return reduce(
        join_contents,
        (
            Content(
                part.text,
                buttons=(
                    Button(f"Skip the one with {label_name(part.partner_name)}", part.skip_action),
                ),
            )
            for part in parts
        ),
    )


def skip_action(pair_id: int, at: datetime) -> str:
    """A heads-up's skip button names the occurrence, so a late click skips nothing else."""
    return f"{SKIP_ACTION}:{pair_id}:{int(at.timestamp())}"


async def _resume_paused(
    session: AsyncSession, now: datetime, batch: int, report: DueReport
) -> int:
    due = await _due_pairs(
        session,
        (Pair.state == PairState.PAUSED.value) & (Pair.paused_until <= now),
        Pair.paused_until,
        batch,
    )
    for pair, workspace, mentor, mentee in due:
        pair.state = PairState.ACTIVE.value
        pair.paused_until = None
        resume_schedule(pair, now)
        turn = Turn.on_behalf_of(session, now, workspace, mentor)
        assert pair.next_checkin_at is not None
        for me, partner in ((mentor, mentee), (mentee, mentor)):
            zone = me.timezone or pair.timezone
            turn.dm(
                me,
                Content(
                    f"Welcome back: your pause with <@{partner.external_id}> is over. "
                    f"Next check-in: {local_view(pair.next_checkin_at, zone)}."
                ),
                at=outside_quiet_hours(now, zone),
            )
        report.resumed += 1
    return len(due)


async def _celebrate_anniversaries(
    session: AsyncSession, now: datetime, batch: int, report: DueReport
) -> int:
    due = await _due_pairs(
        session,
        Pair.state.in_([s.value for s in PARTNERED_PAIR_STATES])
        & (Pair.next_anniversary_at <= now),
        Pair.next_anniversary_at,
        batch,
    )
    for pair, workspace, mentor, mentee in due:
        months = anniversary_months(pair.anniversaries_reached)
        pair.anniversaries_reached += 1
        schedule_anniversary(pair)
        for member in (mentor, mentee):
            turn = Turn.on_behalf_of(session, now, workspace, member)
            await _each(
                session,
                "anniversary",
                pair.id,
                _reach(
                    turn, member, f"p{pair.id}-months-{months}", anniversary_title(months), pair.id
                ),
            )
        report.anniversaries += 1
    return len(due)


async def _reach(turn: Turn, member: Member, code: str, title: str, pair_id: int) -> None:
    await reach_automatic(turn, member, code, title, pair_id)
