"""Stalled pairs: noticed, nudged once, and (a week later, if still stalled) reported to
the workspace's admins by name only.

A pair has stalled when
- its last three check-ins closed without an answer from either member (three cadence
  periods; paused weeks open no check-in, so they do not count), or
- a feedback question has waited for the mentor's answer for 14 days.

The dispatch pass looks at a pair only when its indexed ``stall_check_at`` falls due, so a
pass costs what is due. It is armed when a check-in opens (if unset: looked at in that same
pass), pulled earlier when feedback is asked, and cleared when a check-in is answered (the
pair cannot have stalled then; its next check-in arms it again). Each look sets it to the
earliest moment the pair could stall next: when its third check-in from now would close,
or when a waiting question turns 14 days old. Those are moments the pass visits anyway
(a check-in's close), so a simulated clock (the console's ``:advance``) stops at no
extra moments for pairs that keep talking.

Who "the admins" are: members the bot last saw as admins of the workspace (the platform's
admin flag, or listed in ``ADMIN_USER_IDS``), recorded on every contact
(``Member.is_admin``). Someone who never used the bot is not known; with nobody known the
alert is logged (ids only) and nobody is told.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Interval,
    ScalarSelect,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from bot.cadence import outside_quiet_hours
from bot.content import Content
from bot.due_report import DueReport
from bot.storage.bulk import dialect_of, one_of
from bot.storage.models import (
    Cadence,
    Checkin,
    CheckinAnswer,
    CheckinState,
    Feedback,
    Member,
    OutboxMessage,
    Pair,
    PairState,
    Workspace,
)
from bot.turn import Turn, join_contents, joinable, untaken_dms

log = logging.getLogger(__name__)

UNANSWERED_CHECKINS = 3
FEEDBACK_WAIT = timedelta(days=14)
ALERT_AFTER = timedelta(days=7)
# A check-in's answers are shared at most this long after it opens (bot/flows/checkin.py).
CHECKIN_WINDOW = timedelta(hours=48)
# The shortest gap between two check-ins of each cadence: a look may come early (it then
# finds nothing and looks again later), never late.
SHORTEST_PERIOD = {
    Cadence.WEEKLY.value: timedelta(days=7),
    Cadence.BIWEEKLY.value: timedelta(days=14),
    Cadence.MONTHLY.value: timedelta(days=28),
}

ClaimedPair = tuple[Pair, Workspace, Member, Member]
Claim = Callable[
    [AsyncSession, ColumnElement[bool], InstrumentedAttribute[Any], int],
    Awaitable[list[ClaimedPair]],
]


@dataclass(frozen=True, slots=True)
class PairActivity:
    """What decides whether a pair has stalled (times only; never anyone's words)."""

    pair_id: int
    # Closed check-ins since the last answered one, and when the third of them closed.
    unanswered_checkins: int = 0
    third_unanswered_closed_at: datetime | None = None
    # The oldest feedback question still waiting for an answer.
    oldest_waiting_question_at: datetime | None = None
    # When the check-in open now closes (it may become the next unanswered one).
    open_closes_at: datetime | None = None

    def stalled_since(self, now: datetime) -> datetime | None:
        """When the current stall began, or None if the pair has not stalled."""
        starts = []
        if self.third_unanswered_closed_at is not None:
            starts.append(self.third_unanswered_closed_at)
        if self.oldest_waiting_question_at is not None:
            waited = self.oldest_waiting_question_at + FEEDBACK_WAIT
            if waited <= now:
                starts.append(waited)
        return min(starts) if starts else None


async def pair_activity(
    session: AsyncSession, scope: ColumnElement[bool]
) -> dict[int, PairActivity]:
    """Activity of the pairs matching ``scope`` (a condition on ``Pair``), in three grouped
    queries whatever their number."""
    last_answer = (
        select(Checkin.pair_id, func.max(CheckinAnswer.answered_at).label("at"))
        .join(CheckinAnswer, CheckinAnswer.checkin_id == Checkin.id)
        .join(Pair, Pair.id == Checkin.pair_id)
        .where(scope, CheckinAnswer.answered_at.is_not(None))
        .group_by(Checkin.pair_id)
        .subquery()
    )
    unanswered = (
        select(
            Checkin.pair_id,
            Checkin.shared_at,
            func.row_number()
            .over(partition_by=Checkin.pair_id, order_by=(Checkin.opened_at, Checkin.id))
            .label("number"),
            func.count().over(partition_by=Checkin.pair_id).label("total"),
        )
        .join(Pair, Pair.id == Checkin.pair_id)
        .outerjoin(last_answer, last_answer.c.pair_id == Checkin.pair_id)
        .where(
            scope,
            Checkin.state == CheckinState.SHARED.value,
            or_(last_answer.c.at.is_(None), Checkin.opened_at > last_answer.c.at),
        )
        .subquery()
    )
    found: dict[int, PairActivity] = {}
    rows = await session.execute(
        select(unanswered.c.pair_id, unanswered.c.total, unanswered.c.shared_at).where(
            unanswered.c.number == _third_or_last(unanswered.c.total)
        )
    )
    for pair_id, total, shared_at in rows.all():
        found[pair_id] = PairActivity(
            pair_id,
            unanswered_checkins=total,
            third_unanswered_closed_at=shared_at if total >= UNANSWERED_CHECKINS else None,
        )
    waiting = await session.execute(
        select(Feedback.pair_id, func.min(Feedback.asked_at))
        .join(Pair, Pair.id == Feedback.pair_id)
        .where(scope, Feedback.question.is_not(None), Feedback.answered_at.is_(None))
        .group_by(Feedback.pair_id)
    )
    for pair_id, asked_at in waiting.all():
        found[pair_id] = replace(
            found.get(pair_id, PairActivity(pair_id)), oldest_waiting_question_at=asked_at
        )
    still_open = await session.execute(
        select(Checkin.pair_id, func.min(Checkin.closes_at))
        .join(Pair, Pair.id == Checkin.pair_id)
        .where(scope, Checkin.state == CheckinState.OPEN.value)
        .group_by(Checkin.pair_id)
    )
    for pair_id, closes_at in still_open.all():
        found[pair_id] = replace(
            found.get(pair_id, PairActivity(pair_id)), open_closes_at=closes_at
        )
    return found


def _third_or_last(total: ColumnElement[int]) -> ColumnElement[int]:
    """The third unanswered check-in (the one that made the stall), or the last one when
    there are fewer: one row per pair either way."""
    return case((total < UNANSWERED_CHECKINS, total), else_=UNANSWERED_CHECKINS)


def active_pairs_of(workspace_id: int) -> ColumnElement[bool]:
    """Only active pairs can stall: paused and ended ones are left alone."""
    return and_(Pair.workspace_id == workspace_id, Pair.state == PairState.ACTIVE.value)


def earlier(current: datetime | None, candidate: datetime) -> datetime:
    """For the flows: look at the pair no later than ``candidate``."""
    return candidate if current is None or candidate < current else current


async def watch(session: AsyncSession, at: datetime, pair_ids: Sequence[int]) -> None:
    """Check-ins opened for these pairs: arm the stall check of those not watched (one
    statement for a whole dispatch batch). The pass arms them at its own ``now``, so they
    are looked at in the same pass."""
    if pair_ids:
        await session.execute(
            update(Pair)
            .where(one_of(dialect_of(session), Pair.id, pair_ids), Pair.stall_check_at.is_(None))
            .values(stall_check_at=at)
        )


def waiting_question_since(
    pair_id: ColumnElement[int] | InstrumentedAttribute[int],
) -> ScalarSelect[datetime]:
    """When the oldest feedback question of the pair ``pair_id`` (a column) still waiting
    for the mentor's answer was asked, as a subquery: read with the check-in it concerns."""
    oldest: ScalarSelect[datetime] = (
        select(func.min(Feedback.asked_at))
        .where(
            Feedback.pair_id == pair_id,
            Feedback.question.is_not(None),
            Feedback.answered_at.is_(None),
        )
        .scalar_subquery()
    )
    return oldest


def answered(pair: Pair, waiting_since: datetime | None) -> None:
    """A check-in answer: the pair has not stalled on check-ins. Only a waiting feedback
    question (the oldest asked at ``waiting_since``, :func:`waiting_question_since`) can
    make it stall before its next check-in opens (which arms it again)."""
    pair.stall_check_at = check_after_answer(waiting_since)


def check_after_answer(waiting_since: datetime | None) -> datetime | None:
    """The pair's stall check after a check-in answer (:func:`answered`)."""
    return None if waiting_since is None else waiting_since + FEEDBACK_WAIT


def check_after_answer_in_sql(pair_id: ColumnElement[int]) -> ColumnElement[datetime]:
    """:func:`check_after_answer` as SQL, for the pair ``pair_id`` (a column): for an
    UPDATE that writes it where the answer is saved. NULL plus an interval is NULL, as
    no waiting question gives no check. PostgreSQL only (SQLite keeps datetimes as text,
    without that arithmetic)."""
    return waiting_question_since(pair_id) + literal(FEEDBACK_WAIT, Interval())


def next_look(pair: Pair, activity: PairActivity, now: datetime) -> datetime | None:
    """The earliest moment the pair could stall, as far as is known now."""
    moments = []
    still_needed = max(UNANSWERED_CHECKINS - activity.unanswered_checkins, 1)
    period = SHORTEST_PERIOD.get(pair.cadence, SHORTEST_PERIOD[Cadence.WEEKLY.value])
    if activity.open_closes_at is not None:
        moments.append(activity.open_closes_at + period * (still_needed - 1))
    elif pair.next_checkin_at is not None:
        moments.append(pair.next_checkin_at + period * (still_needed - 1) + CHECKIN_WINDOW)
    if activity.oldest_waiting_question_at is not None:
        moments.append(activity.oldest_waiting_question_at + FEEDBACK_WAIT)
    if not moments:
        return None  # armed again when its next check-in opens
    return max(min(moments), now + timedelta(hours=1))


async def check_stalls(
    session: AsyncSession, now: datetime, batch: int, report: DueReport, *, claim: Claim
) -> int:
    """The dispatch pass's job: the pairs whose stall check is due, nudged or reported."""
    due = await claim(session, Pair.stall_check_at <= now, Pair.stall_check_at, batch)
    active = [item for item in due if item[0].state == PairState.ACTIVE.value]
    for pair, *_ in due:
        if pair.state != PairState.ACTIVE.value:
            pair.stall_check_at = None  # paused or ended: armed again by its next check-in
    if not active:
        return len(due)
    ids = [item[0].id for item in active]
    activity = await pair_activity(session, one_of(dialect_of(session), Pair.id, ids))
    alerts: list[ClaimedPair] = []
    nudging: list[ClaimedPair] = []
    for item in active:
        pair = item[0]
        known = activity.get(pair.id, PairActivity(pair.id))
        since = known.stalled_since(now)
        if since is None:
            pair.stall_nudged_at = pair.stall_alerted_at = None
            pair.stall_check_at = next_look(pair, known, now)
        elif pair.stall_nudged_at is None or since > pair.stall_nudged_at:
            nudging.append(item)
            pair.stall_nudged_at, pair.stall_alerted_at = now, None
            pair.stall_check_at = now + ALERT_AFTER
            report.stall_nudges += 1
        elif pair.stall_alerted_at is None and now >= pair.stall_nudged_at + ALERT_AFTER:
            alerts.append(item)
            pair.stall_alerted_at = now
            pair.stall_check_at = None  # looked at again when its next check-in opens
        elif pair.stall_alerted_at is None:
            pair.stall_check_at = pair.stall_nudged_at + ALERT_AFTER
        else:
            pair.stall_check_at = None
    await _nudge(session, now, nudging)
    report.stall_alerts += await _alert_admins(session, now, alerts)
    return len(due)


async def _nudge(session: AsyncSession, now: datetime, items: list[ClaimedPair]) -> None:
    """Each member of these pairs nudged. A pair stalls as its third silent check-in
    closes, and that close has just queued each of them "Neither of you answered" in
    this same pass: the nudge joins that DM (one message at one moment, not two), while
    it still waits to be sent. One look-up for the whole batch."""
    if not items:
        return
    waiting = await _queued_in_this_pass(session, now, items)
    for pair, workspace, mentor, mentee in items:
        turn = Turn.on_behalf_of(session, now, workspace, mentor)
        for me, partner in ((mentor, mentee), (mentee, mentor)):
            content = Content(
                f"👋 It's been quiet between you and <@{partner.external_id}> for a while. "
                "How about a check-in? `/mentor checkin` starts one now, and "
                "`/mentor feedback list` shows what is waiting for an answer. If now is not a "
                "good time, `/mentor pause` is fine too."
            )
            at = outside_quiet_hours(now, me.timezone or pair.timezone)
            queued = waiting.get((workspace.id, me.external_id))
            if queued is not None and joinable(Content.from_json(queued.content), content):
                queued.content = join_contents(Content.from_json(queued.content), content).to_json()
                queued.next_attempt_at = max(queued.next_attempt_at, at)
            else:
                turn.dm(me, content, at=at)


async def _queued_in_this_pass(
    session: AsyncSession, now: datetime, items: list[ClaimedPair]
) -> dict[tuple[int, str], OutboxMessage]:
    """DMs to the members of ``items`` queued by this pass (made at ``now``) and not yet
    taken for sending; locked (PostgreSQL), so a sender does not take one while the
    nudge joins it, and passed over if a sender has it already."""
    people = {(w.id, m.external_id) for _, w, mentor, mentee in items for m in (mentor, mentee)}
    query = untaken_dms(
        OutboxMessage.workspace_id.in_({workspace for workspace, _ in people}),
        OutboxMessage.target_id.in_({target for _, target in people}),
        OutboxMessage.created_at == now,
    ).order_by(OutboxMessage.id)
    found: dict[tuple[int, str], OutboxMessage] = {}
    for message in (await session.execute(query)).scalars():
        if (message.workspace_id, message.target_id) in people:
            found.setdefault((message.workspace_id, message.target_id), message)
    return found


async def _alert_admins(session: AsyncSession, now: datetime, alerts: list[ClaimedPair]) -> int:
    """One DM per admin and stalled pair; names only. Returns the pairs reported."""
    if not alerts:
        return 0
    workspace_ids = {workspace.id for _, workspace, _, _ in alerts}
    admins: dict[int, list[Member]] = {}
    query = select(Member).where(Member.workspace_id.in_(workspace_ids), Member.is_admin)
    for admin in (await session.execute(query.order_by(Member.id))).scalars():
        admins.setdefault(admin.workspace_id, []).append(admin)
    told = 0
    for pair, workspace, mentor, mentee in alerts:
        if not admins.get(workspace.id):
            log.warning(
                "pair %s in workspace %s still looks stalled, but no admin is known there",
                pair.id,
                workspace.id,
            )
            continue
        # An admin in the pair had the nudge as its member; "for program admins: you and
        # your mentee still look stalled" would tell them again, as if of someone else.
        others = [a for a in admins[workspace.id] if a.id not in (mentor.id, mentee.id)]
        if not others:
            log.info("pair %s still looks stalled; its workspace's admins are in it", pair.id)
            continue
        for admin in others:
            turn = Turn.on_behalf_of(session, now, workspace, admin)
            turn.dm(
                admin,
                Content(
                    f"For program admins: <@{mentor.external_id}> (mentor) and "
                    f"<@{mentee.external_id}> (mentee) still look stalled a week after I "
                    "nudged them: no check-in answered in their last three, or a feedback "
                    "question waiting over 14 days. Maybe check in with them?"
                ),
                at=outside_quiet_hours(now, admin.timezone or "UTC"),
            )
        told += 1
    return told
