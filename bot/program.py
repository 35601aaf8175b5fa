"""The program view for admins (``/mentor stats``, ``mentorbot stats``): numbers about the
pairs of one workspace, and a chart of weekly activity. Only counts and times are read
(aggregate SQL, a fixed handful of queries); nobody's wins, answers or feedback.

What the numbers mean:
- Check-in answer rate: each member's prompt in a check-in whose 48-hour window has
  closed, opened in the last 4 (or 12) weeks, counts once; it counts as answered when the
  member finished the check-in's questions (skipping some is fine).
- Median time to answer feedback: from the mentee's question to the mentor's answer, for
  questions answered in the last 12 weeks (feedback given unprompted has no wait).
- Stalled pairs: see bot/stalls.py.
- Weekly activity: check-in answers (per member) and wins, per calendar week (Monday to
  Sunday, UTC), the last 12 weeks including the current one.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from bot.access import require_admin
from bot.commands import ShowStats
from bot.content import Content
from bot.effects import Attachment, Effect, SendFiles
from bot.matching.pool import PoolStats, pool_stats
from bot.pairs import MENTEE, MENTOR
from bot.refs import Platform
from bot.stalls import active_pairs_of, pair_activity
from bot.storage.bulk import dialect_of
from bot.storage.database import Database
from bot.storage.models import (
    Checkin,
    CheckinAnswer,
    CheckinState,
    Feedback,
    Pair,
    PairState,
    Win,
    Workspace,
)
from bot.turn import Turn

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SHORT_WEEKS = 4
LONG_WEEKS = 12
CHART_WEEKS = 12
WEEK = timedelta(days=7)
# Every check-in prompts both members of its pair.
MEMBERS_PROMPTED = 2
CHART_NAME = "program-activity.png"


@dataclass(frozen=True, slots=True)
class AnswerRate:
    weeks: int
    prompts: int
    answered: int

    @property
    def rate(self) -> float | None:
        return self.answered / self.prompts if self.prompts else None

    def describe(self) -> str:
        if not self.prompts:
            return f"no check-in closed in the last {self.weeks} weeks"
        assert self.rate is not None
        return (
            f"{self.rate:.0%} over the last {self.weeks} weeks "
            f"({self.answered} of {self.prompts} prompts answered)"
        )


@dataclass(frozen=True, slots=True)
class StalledPair:
    """Names only: platform user ids, rendered as mentions."""

    pair_id: int
    mentor: str
    mentee: str
    since: datetime


@dataclass(frozen=True, slots=True)
class WeekActivity:
    week_start: date  # a Monday (UTC)
    checkins_answered: int
    wins: int


@dataclass(frozen=True, slots=True)
class ProgramStats:
    workspace_id: int
    now: datetime
    proposed: int
    active: int
    paused: int
    ended: int
    short_rate: AnswerRate
    long_rate: AnswerRate
    feedback_answered: int
    median_feedback_wait: timedelta | None
    stalled: tuple[StalledPair, ...]
    weekly: tuple[WeekActivity, ...]
    pool: PoolStats | None = None  # the matching pool (bot/matching/pool.py)

    def metrics(self) -> list[tuple[str, str]]:
        """Name and value of each number, for the CSV and the CLI's table."""
        wait = self.median_feedback_wait
        return [
            ("pairs_proposed", str(self.proposed)),
            ("pairs_active", str(self.active)),
            ("pairs_paused", str(self.paused)),
            ("pairs_ended", str(self.ended)),
            *_rate_metrics(self.short_rate),
            *_rate_metrics(self.long_rate),
            (f"feedback_answered_{LONG_WEEKS}w", str(self.feedback_answered)),
            (
                "feedback_median_answer_hours",
                "" if wait is None else f"{wait.total_seconds() / 3600:.2f}",
            ),
            ("pairs_stalled", str(len(self.stalled))),
            *(self.pool.metrics() if self.pool is not None else []),
        ]


def _rate_metrics(rate: AnswerRate) -> list[tuple[str, str]]:
    value = "" if rate.rate is None else f"{rate.rate:.4f}"
    return [
        (f"checkin_prompts_{rate.weeks}w", str(rate.prompts)),
        (f"checkin_answered_{rate.weeks}w", str(rate.answered)),
        (f"checkin_answer_rate_{rate.weeks}w", value),
    ]


# --- the numbers -------------------------------------------------------------------------


async def program_stats(session: AsyncSession, workspace_id: int, now: datetime) -> ProgramStats:
    states = dict(
        (
            await session.execute(
                select(Pair.state, func.count())
                .where(Pair.workspace_id == workspace_id)
                .group_by(Pair.state)
            )
        ).all()
    )
    short_rate, long_rate = await _answer_rates(session, workspace_id, now)
    answered, median = await _median_feedback_wait(session, workspace_id, now)
    return ProgramStats(
        workspace_id=workspace_id,
        now=now,
        proposed=states.get(PairState.PROPOSED.value, 0),
        active=states.get(PairState.ACTIVE.value, 0),
        paused=states.get(PairState.PAUSED.value, 0),
        ended=states.get(PairState.ENDED.value, 0),
        short_rate=short_rate,
        long_rate=long_rate,
        feedback_answered=answered,
        median_feedback_wait=median,
        stalled=await _stalled(session, workspace_id, now),
        weekly=await weekly_activity(session, workspace_id, now),
        pool=await pool_stats(session, workspace_id, now),
    )


async def stats_for(
    database: Database, platform: Platform, external_id: str, now: datetime
) -> ProgramStats | None:
    """For the shell: None when the workspace is not known here."""
    async with database.transaction() as session:
        workspace_id = await session.scalar(
            select(Workspace.id).where(
                Workspace.platform == platform.value, Workspace.external_id == external_id
            )
        )
        if workspace_id is None:
            return None
        return await program_stats(session, workspace_id, now)


async def _answer_rates(
    session: AsyncSession, workspace_id: int, now: datetime
) -> tuple[AnswerRate, AnswerRate]:
    # Both members of a shared check-in were prompted; an answer row exists only once a
    # member answered (it is made with the first answer), so prompts are counted from
    # the check-ins and answers from the rows.
    per_checkin = (
        select(Checkin.opened_at, func.count(CheckinAnswer.answered_at).label("answered"))
        .select_from(Checkin)
        .outerjoin(CheckinAnswer, CheckinAnswer.checkin_id == Checkin.id)
        .where(
            Checkin.workspace_id == workspace_id,
            Checkin.state == CheckinState.SHARED.value,
            Checkin.opened_at >= now - LONG_WEEKS * WEEK,
        )
        .group_by(Checkin.id, Checkin.opened_at)
        .subquery()
    )
    recent = per_checkin.c.opened_at >= now - SHORT_WEEKS * WEEK
    row = (
        await session.execute(
            select(
                func.count() * MEMBERS_PROMPTED,
                func.sum(per_checkin.c.answered),
                func.sum(case((recent, MEMBERS_PROMPTED), else_=0)),
                func.sum(case((recent, per_checkin.c.answered), else_=0)),
            )
        )
    ).one()
    long_prompts, long_answered, short_prompts, short_answered = (int(n or 0) for n in row)
    return (
        AnswerRate(SHORT_WEEKS, short_prompts, short_answered),
        AnswerRate(LONG_WEEKS, long_prompts, long_answered),
    )


def _seconds_between(
    session: AsyncSession,
    start: InstrumentedAttribute[datetime],
    end: InstrumentedAttribute[datetime | None],
) -> ColumnElement[Any]:
    if dialect_of(session) == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 86400.0
    return func.extract("epoch", end - start)


async def _median_feedback_wait(
    session: AsyncSession, workspace_id: int, now: datetime
) -> tuple[int, timedelta | None]:
    seconds = _seconds_between(session, Feedback.asked_at, Feedback.answered_at)
    ranked = (
        select(
            seconds.label("seconds"),
            func.row_number().over(order_by=seconds).label("number"),
            func.count().over().label("total"),
        )
        .where(
            Feedback.workspace_id == workspace_id,
            Feedback.question.is_not(None),
            Feedback.answered_at.is_not(None),
            Feedback.answered_at >= now - LONG_WEEKS * WEEK,
        )
        .subquery()
    )
    # The middle one, or the mean of the middle two.
    middle = (ranked.c.number == (ranked.c.total + 1) // 2) | (
        ranked.c.number == (ranked.c.total + 2) // 2
    )
    total, median = (
        await session.execute(
            select(func.max(ranked.c.total), func.avg(ranked.c.seconds)).where(middle)
        )
    ).one()
    if not total:
        return 0, None
    return int(total), timedelta(seconds=round(float(median)))


async def _stalled(
    session: AsyncSession, workspace_id: int, now: datetime
) -> tuple[StalledPair, ...]:
    activity = await pair_activity(session, active_pairs_of(workspace_id))
    since = {
        pair_id: moment
        for pair_id, known in activity.items()
        if (moment := known.stalled_since(now)) is not None
    }
    if not since:
        return ()
    rows = await session.execute(
        select(Pair.id, MENTOR.external_id, MENTEE.external_id)
        .join(MENTOR, Pair.mentor_id == MENTOR.id)
        .join(MENTEE, Pair.mentee_id == MENTEE.id)
        .where(Pair.id.in_(list(since)))
    )
    found = [StalledPair(pair_id, a, b, since[pair_id]) for pair_id, a, b in rows.all()]
    return tuple(sorted(found, key=lambda s: (s.since, s.pair_id)))


def chart_weeks(now: datetime) -> list[date]:
    """The Mondays (UTC) of the last ``CHART_WEEKS`` weeks, the current one last."""
    this_monday = now.astimezone(UTC).date() - timedelta(days=now.astimezone(UTC).weekday())
    return [this_monday - WEEK * back for back in range(CHART_WEEKS - 1, -1, -1)]


async def weekly_activity(
    session: AsyncSession, workspace_id: int, now: datetime
) -> tuple[WeekActivity, ...]:
    mondays = chart_weeks(now)
    bounds = [datetime.combine(day, time(), UTC) for day in [*mondays, mondays[-1] + WEEK]]
    answers = await _per_week(
        session,
        CheckinAnswer.answered_at,
        CheckinAnswer.workspace_id == workspace_id,
        bounds,
    )
    wins = await _per_week(session, Win.created_at, Win.workspace_id == workspace_id, bounds)
    return tuple(
        WeekActivity(day, answers.get(index, 0), wins.get(index, 0))
        for index, day in enumerate(mondays)
    )


async def _per_week(
    session: AsyncSession,
    moment: InstrumentedAttribute[datetime] | InstrumentedAttribute[datetime | None],
    scope: ColumnElement[bool],
    bounds: Sequence[datetime],
) -> dict[int, int]:
    """How many rows fall in each week (index into ``bounds``), counted by the database.
    Week boundaries are compared as values, so this is the same on every backend."""
    week = case(
        *[(moment < bound, index) for index, bound in enumerate(bounds[1:-1])],
        else_=len(bounds) - 2,
    )
    weeks = (
        select(week.label("week")).where(scope, moment >= bounds[0], moment < bounds[-1]).subquery()
    )
    rows = await session.execute(select(weeks.c.week, func.count()).group_by(weeks.c.week))
    return {int(index): int(count) for index, count in rows.all()}


# --- words, files and the chart ----------------------------------------------------------


def describe(stats: ProgramStats) -> str:
    lines = [
        "📊 Program stats for this workspace",
        f"Pairs: {stats.active} active, {stats.paused} paused, {stats.ended} ended"
        + (f" ({stats.proposed} proposed, not yet agreed)" if stats.proposed else ""),
        # None closed in the longer window: none in the shorter one either, said once.
        "Check-in answer rate: "
        + (
            f"{stats.short_rate.describe()}; {stats.long_rate.describe()}."
            if stats.long_rate.prompts
            else f"{stats.long_rate.describe()}."
        ),
        "(Each member's prompt counts once, from check-ins whose 48-hour window has closed.)",
    ]
    if stats.median_feedback_wait is None:
        lines.append(f"Feedback: no question answered in the last {LONG_WEEKS} weeks.")
    else:
        lines.append(
            "Median time to answer a feedback question: "
            f"{_duration(stats.median_feedback_wait)} ({stats.feedback_answered} answered "
            f"in the last {LONG_WEEKS} weeks)."
        )
    if stats.stalled:
        lines.append(
            "Stalled pairs (no check-in answered in their last three, or a feedback "
            "question waiting 14 days or more):"
        )
        lines += [f"• <@{s.mentor}> mentoring <@{s.mentee}>" for s in stats.stalled]
    else:
        lines.append("No pair looks stalled.")
    if stats.pool is not None:
        lines.append(stats.pool.describe())
    return "\n".join(lines)


def _duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days} d"] if days else []
    if hours or days:
        parts.append(f"{hours} h")
    if not days:
        parts.append(f"{minutes} min")
    return " ".join(parts)


def metrics_csv(stats: ProgramStats) -> str:
    """``metric,value``: one header row, then one row per number."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("metric", "value"))
    writer.writerows(stats.metrics())
    return out.getvalue()


def weekly_csv(stats: ProgramStats) -> str:
    """``week_start,checkins_answered,wins``: the chart's numbers."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("week_start", "checkins_answered", "wins"))
    writer.writerows((w.week_start.isoformat(), w.checkins_answered, w.wins) for w in stats.weekly)
    return out.getvalue()


def weekly_chart_png(weekly: Sequence[WeekActivity]) -> bytes:
    """A small bar chart: answered check-ins and wins per week. No names on it."""
    out = io.BytesIO()
    weekly_chart(weekly).savefig(out, format="png")
    return out.getvalue()


def weekly_chart(weekly: Sequence[WeekActivity]) -> Figure:
    """The chart of ``weekly_chart_png``, drawn."""
    # Imported here: matplotlib takes a while to load, and only this needs it. The Agg
    # canvas draws without a display and without pyplot's global state.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(6.4, 3.2), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = list(range(len(weekly)))
    width = 0.4
    axes.bar(
        [p - width / 2 for p in positions],
        [w.checkins_answered for w in weekly],
        width,
        label="Check-ins answered",
    )
    axes.bar([p + width / 2 for p in positions], [w.wins for w in weekly], width, label="Wins")
    axes.set_xticks(positions, [w.week_start.strftime("%b %d") for w in weekly], fontsize=7)
    axes.set_title(f"Weekly activity, last {len(weekly)} weeks")
    axes.set_xlabel("Week starting (Monday, UTC)")
    axes.set_ylabel("Count")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    # Counts start at 0. With none at all matplotlib would centre the axis on 0, from
    # -0.05 to 0.05: 0 to 1 instead.
    highest = max((max(w.checkins_answered, w.wins) for w in weekly), default=0)
    axes.set_ylim(0, None if highest else 1)
    axes.legend(fontsize=8)
    figure.tight_layout()
    return figure


async def show_stats(turn: Turn, command: ShowStats) -> list[Effect]:
    require_admin(turn, "see program stats", "Your own numbers are in `/mentor status`.")
    stats = await program_stats(turn.session, turn.workspace.id, turn.now)
    if not any(w.checkins_answered or w.wins for w in stats.weekly):
        # A chart of nothing but zeros says nothing: no DM of it.
        none = f"No check-in answered and no win in the last {CHART_WEEKS} weeks: no chart yet."
        return turn.reply(f"{describe(stats)}\n{none}")
    chart = await asyncio.to_thread(weekly_chart_png, stats.weekly)
    files = (Attachment(CHART_NAME, "image/png", chart),)
    note = Content(f"Weekly activity in this workspace, last {CHART_WEEKS} weeks.")
    return [*turn.reply(describe(stats)), SendFiles(turn.actor_ref, note, files)]
