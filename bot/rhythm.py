"""A pair's rhythm: when its next check-in, heads-up and anniversary fall."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.cadence import (
    CadenceRule,
    fresh_anchor,
    in_quiet_hours,
    local_view,
    next_checkin,
    outside_quiet_hours,
)
from bot.numbers import how_many
from bot.storage.models import Cadence, Member, Pair

HEADS_UP_BEFORE = timedelta(hours=24)
# 1 month, 3 months, 1 year, then every year.
ANNIVERSARY_MONTHS = (1, 3, 12)


def rule_of(pair: Pair) -> CadenceRule:
    return CadenceRule(Cadence(pair.cadence), pair.weekday, pair.local_time, pair.timezone)


def schedule_next(pair: Pair, after: datetime, now: datetime) -> None:
    """Set the first check-in strictly after ``after``, and its heads-up (if still ahead).

    The dispatch pass does the same for a batch of pairs at once (:class:`Rhythms` and
    ``_advance`` in ``bot.due``): a change here belongs there too."""
    pair.cadence_anchor, pair.next_checkin_at = _first_after(pair, after)
    heads_up = pair.next_checkin_at - HEADS_UP_BEFORE
    pair.heads_up_at = heads_up if heads_up > now else None


@dataclass(frozen=True, slots=True)
class Scheduled:
    """Where :func:`schedule_next` puts a pair, as values (the dispatch pass writes them
    for many pairs in one statement). ``default_anchor`` is the anchor a pair gets if it
    has none yet; one it has is kept."""

    default_anchor: date
    next_checkin_at: datetime
    heads_up_at: datetime | None


# (cadence, weekday, local_time, timezone), as stored on a pair.
RuleColumns = tuple[str, int, str, str]


class Rhythms:
    """The cadence arithmetic of one batch of pairs, each result worked out once.

    Pairs that share a rule (and, every other week, an anchor) share their occurrences,
    and a big workspace has a handful of rules for thousands of pairs, so a dispatch
    batch does the zoneinfo arithmetic per distinct rule instead of per pair. The
    answers are those of :func:`schedule_next` and :func:`~bot.cadence.next_checkin`.
    Not thread-safe, and meant to live for one batch (it grows with what it is asked).
    """

    def __init__(self) -> None:
        self._rules: dict[RuleColumns, CadenceRule] = {}
        self._next: dict[tuple[CadenceRule, date | None, datetime], datetime] = {}
        # Only ever asked with one ``now`` (a batch), so ``now`` is not part of the key.
        self._scheduled: dict[tuple[CadenceRule, date | None, datetime], Scheduled] = {}

    def rule(self, columns: RuleColumns) -> CadenceRule:
        found = self._rules.get(columns)
        if found is None:
            cadence, weekday, local_time, timezone = columns
            found = self._rules[columns] = CadenceRule(
                Cadence(cadence), weekday, local_time, timezone
            )
        return found

    def next_after(self, rule: CadenceRule, after: datetime, anchor: date) -> datetime:
        """``next_checkin(rule, after, anchor)``."""
        # Only an every-other-week rule reads its anchor: other pairs share one answer.
        key = (rule, anchor if rule.cadence is Cadence.BIWEEKLY else None, after)
        found = self._next.get(key)
        if found is None:
            found = self._next[key] = next_checkin(rule, after, anchor)
        return found

    def latest(
        self, rule: CadenceRule, due_at: datetime, anchor: date, now: datetime, steps: int
    ) -> datetime:
        """The most recent occurrence at or before ``now``, walking on from ``due_at`` at
        most ``steps`` occurrences (after a long outage the stored one is old)."""
        latest = due_at
        for _ in range(steps):
            following = self.next_after(rule, latest, anchor)
            if following > now:
                break
            latest = following
        return latest

    def schedule(
        self, rule: CadenceRule, anchor: date | None, after: datetime, now: datetime
    ) -> Scheduled:
        """What :func:`schedule_next` sets on a pair with this rule and anchor: its own,
        or for one that has none the one it gets (the dispatch pass: the date of the
        check-in it opened, from which every other week counts on)."""
        biweekly = rule.cadence is Cadence.BIWEEKLY
        key = (rule, anchor if biweekly else None, after)
        found = self._scheduled.get(key)
        if found is None:
            default = anchor if biweekly and anchor is not None else fresh_anchor(rule, after)
            following = self.next_after(rule, after, default)
            heads_up = following - HEADS_UP_BEFORE
            found = self._scheduled[key] = Scheduled(
                default, following, heads_up if heads_up > now else None
            )
        return found


def held_till_morning(member: Member, pair: Pair) -> tuple[str, str] | None:
    """When the pair's next check-in falls in ``member``'s quiet hours (outside
    08:00-21:00 in their zone, else the pair's): its time, and when its questions reach
    them, both in their clock. None when it falls in their day, or none is scheduled."""
    at = pair.next_checkin_at
    zone = member.timezone or pair.timezone
    if at is None or not in_quiet_hours(at, zone):
        return None
    return local_view(at, zone), local_view(outside_quiet_hours(at, zone), zone)


def stop_schedule(pair: Pair) -> None:
    pair.next_checkin_at = None
    pair.heads_up_at = None


def pause_schedule(pair: Pair) -> None:
    """A pause: nothing is due, and the check-in that was next is kept, so that resuming
    does not bring back one skipped before the pause (:func:`resume_schedule`). Pausing
    a paused pair again keeps what the first pause kept."""
    if pair.next_checkin_at is not None:
        pair.resume_after = pair.next_checkin_at
    stop_schedule(pair)


def resume_schedule(pair: Pair, now: datetime) -> None:
    """The pause is over (``/mentor resume``, or its end): the next check-in after now,
    and not before the one that was next when it paused."""
    after = _resumed_after(pair, now)
    pair.resume_after = None
    schedule_next(pair, after, now)


def after_the_pause(pair: Pair) -> datetime | None:
    """The check-in a paused pair's pause leads to, as :func:`resume_schedule` sets it
    when the pause ends by itself; None when no end is set."""
    if pair.paused_until is None:
        return None
    return _first_after(pair, _resumed_after(pair, pair.paused_until))[1]


def _first_after(pair: Pair, after: datetime) -> tuple[date, datetime]:
    """The pair's cadence anchor (its own, or the one it gets now) and its first
    check-in strictly after ``after``."""
    rule = rule_of(pair)
    anchor = pair.cadence_anchor or fresh_anchor(rule, after)
    return anchor, next_checkin(rule, after, anchor)


def _resumed_after(pair: Pair, now: datetime) -> datetime:
    """The next check-in is the first one after this, once the pause is over at ``now``:
    not before the one that was next when it paused (it was not skipped by pausing)."""
    kept = pair.resume_after
    return kept - timedelta(microseconds=1) if kept is not None and kept > now else now


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def anniversary_months(reached: int) -> int:
    """How many months after activation the next anniversary falls."""
    if reached < len(ANNIVERSARY_MONTHS):
        return ANNIVERSARY_MONTHS[reached]
    return 12 * (reached - len(ANNIVERSARY_MONTHS) + 2)


def anniversary_title(months: int) -> str:
    if months < 12:
        return f"{how_many(months, 'month', 'months')} of mentoring"
    return f"{how_many(months // 12, 'year', 'years')} of mentoring"


def schedule_anniversary(pair: Pair) -> None:
    assert pair.activated_at is not None
    zone = ZoneInfo(pair.timezone)
    local = pair.activated_at.astimezone(zone)
    day = add_months(local.date(), anniversary_months(pair.anniversaries_reached))
    pair.next_anniversary_at = (
        datetime.combine(day, local.timetz().replace(tzinfo=None))
        .replace(tzinfo=zone)
        .astimezone(pair.activated_at.tzinfo)
    )


# --- moments told relative to when a message is read ------------------------------------
#
# A DM queued now may be sent hours later (quiet hours, a retry), so "today" or "tomorrow"
# is worked out when it is sent, in the recipient's zone. The text holds a marker with
# the moment and the zone; delivery resolves it. The marker is framed by control
# characters that :func:`bot.text.clean_text` removes from everything people write, so
# no one's words can hold one (and PostgreSQL takes them, unlike NUL).
_MOMENT = re.compile("\x1e([^|\x1e\x1f]+)\\|([^\x1e\x1f]+)\x1f")


def moment_marker(moment: datetime, zone: str) -> str:
    """Stands in a DM's text for "today, Mon 30 Nov, 10:00 (UTC)" or "tomorrow, …" or
    "on …", decided by :func:`resolve_moments` when the DM is sent."""
    return f"\x1e{moment.isoformat()}|{zone}\x1f"


def resolve_moments(text: str, sent_at: datetime) -> str:
    """The text as read at ``sent_at``: each moment relative to that day in its zone."""
    if "\x1e" not in text:
        return text

    def told(match: re.Match[str]) -> str:
        moment, zone = datetime.fromisoformat(match.group(1)), match.group(2)
        local = ZoneInfo(zone)
        days = (moment.astimezone(local).date() - sent_at.astimezone(local).date()).days
        when = local_view(moment, zone)
        if days == 0:
            return f"today, {when}"
        if days == 1:
            return f"tomorrow, {when}"
        return f"on {when}"

    return _MOMENT.sub(told, text)
