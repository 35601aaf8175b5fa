"""A pair's rhythm: when its next check-in, heads-up and anniversary fall."""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.cadence import CadenceRule, next_checkin
from bot.storage.models import Cadence, Pair

HEADS_UP_BEFORE = timedelta(hours=24)
# 1 month, 3 months, 1 year, then every year.
ANNIVERSARY_MONTHS = (1, 3, 12)


def rule_of(pair: Pair) -> CadenceRule:
    return CadenceRule(Cadence(pair.cadence), pair.weekday, pair.local_time, pair.timezone)


def schedule_next(pair: Pair, after: datetime, now: datetime) -> None:
    """Set the first check-in strictly after ``after``, and its heads-up (if still ahead)."""
    anchor = pair.cadence_anchor or after.astimezone(ZoneInfo(pair.timezone)).date()
    pair.cadence_anchor = anchor
    pair.next_checkin_at = next_checkin(rule_of(pair), after, anchor)
    heads_up = pair.next_checkin_at - HEADS_UP_BEFORE
    pair.heads_up_at = heads_up if heads_up > now else None


def stop_schedule(pair: Pair) -> None:
    pair.next_checkin_at = None
    pair.heads_up_at = None


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
        return f"{months} month{'s' if months > 1 else ''} of mentoring"
    years = months // 12
    return f"{years} year{'s' if years > 1 else ''} of mentoring"


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
