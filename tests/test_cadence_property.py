"""Properties of the check-in rhythm over every IANA timezone in the tz database.

Walking two years by repeatedly asking for the next check-in after the previous one:
the times strictly increase; every period (local week, anchor-aligned two-week block,
calendar month) has exactly one; each is on the agreed weekday at the agreed local time,
or, only where that time does not exist that day, later by exactly the DST gap; none is
inside the quiet hours in the pair's zone.

The hypothesis database is off so the run leaves no ``.hypothesis`` directory behind.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.cadence import (
    QUIET_END,
    QUIET_START,
    CadenceRule,
    in_quiet_hours,
    next_checkin,
    occurrences,
    outside_quiet_hours,
    parse_cadence,
    parse_local_time,
    timezone_names,
)
from bot.storage.models import Cadence

ZONES = sorted(available_timezones())
TWO_YEARS = timedelta(days=2 * 365 + 1)
SOME_MONDAY = date(2001, 1, 1)


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def period_of(rule: CadenceRule, day: date, anchor: date) -> int:
    """A number for the period ``day`` is in; consecutive periods, consecutive numbers."""
    if rule.cadence is Cadence.WEEKLY:
        return (_monday(day) - SOME_MONDAY).days // 7
    if rule.cadence is Cadence.BIWEEKLY:
        return (_monday(day) - _monday(anchor)).days // 14
    return day.year * 12 + day.month - 1


def check_wall_time(moment: datetime, rule: CadenceRule) -> date:
    """``moment`` is the agreed local time on the agreed weekday, or, where that time does
    not exist, later by exactly the gap; an ambiguous time is its first instant. Returns
    the local date the check-in belongs to (the day before the moment's own local date
    when a gap pushed it past midnight)."""
    zone = ZoneInfo(rule.timezone)
    agreed = parse_local_time(rule.local_time)
    local = moment.astimezone(zone).replace(tzinfo=None)
    fits = []
    for day in (local.date(), local.date() - timedelta(days=1)):
        wall = datetime.combine(day, agreed)
        first, second = (wall.replace(tzinfo=zone, fold=fold) for fold in (0, 1))
        exists = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall
        if exists and local == wall:
            # Ambiguous (fold 0 and 1 differ): the first, i.e. the earlier, instant.
            assert moment == min(first.astimezone(UTC), second.astimezone(UTC))
            fits.append(day)
        elif not exists:
            gap = second.utcoffset() - first.utcoffset()  # type: ignore[operator]
            assert gap > timedelta(0)
            if local == wall + gap:
                fits.append(day)
    assert len(fits) == 1, f"{moment} is {local} in {rule.timezone}, not {agreed} (or a gap)"
    assert fits[0].weekday() == rule.weekday
    return fits[0]


def check_walk(rule: CadenceRule, start: datetime, anchor: date) -> list[datetime]:
    zone = ZoneInfo(rule.timezone)
    end = start + TWO_YEARS
    found: list[datetime] = []
    previous = start
    while True:
        moment = next_checkin(rule, previous, anchor)
        assert moment.tzinfo is UTC
        assert moment > previous
        if moment > end:
            break
        found.append(moment)
        previous = moment

    periods = []
    for moment in found:
        day = check_wall_time(moment, rule)
        local_time = moment.astimezone(zone).time()
        assert QUIET_END <= local_time < QUIET_START
        assert not in_quiet_hours(moment, rule.timezone)
        assert outside_quiet_hours(moment, rule.timezone) == moment
        if rule.cadence is Cadence.BIWEEKLY:
            assert (_monday(day) - _monday(anchor)).days // 7 % 2 == 0
        if rule.cadence is Cadence.MONTHLY:
            assert day.day <= 7
        periods.append(period_of(rule, day, anchor))

    # Exactly one per period: consecutive period numbers, from the period of ``start``
    # (or the next one, if its check-in had passed) to that of ``end`` (or the one before).
    assert periods == list(range(periods[0], periods[0] + len(periods)))
    first_period = period_of(rule, start.astimezone(zone).date(), anchor)
    last_period = period_of(rule, end.astimezone(zone).date(), anchor)
    assert periods[0] in (first_period, first_period + 1)
    assert periods[-1] in (last_period - 1, last_period)

    assert occurrences(rule, start, end, anchor) == found
    return found


local_times = st.builds(
    lambda hour, minute: f"{hour:02d}:{minute:02d}", st.integers(8, 20), st.integers(0, 59)
)
rules = st.builds(
    CadenceRule,
    cadence=st.sampled_from(list(Cadence)),
    weekday=st.integers(0, 6),
    local_time=local_times,
    timezone=st.sampled_from(ZONES),
)
starts = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31, 23, 59), timezones=st.just(UTC)
)


@settings(max_examples=200, deadline=None, database=None)
@given(rule=rules, start=starts, anchor_days_before=st.integers(0, 400))
def test_two_years_of_check_ins(
    rule: CadenceRule, start: datetime, anchor_days_before: int
) -> None:
    anchor = start.astimezone(ZoneInfo(rule.timezone)).date() - timedelta(days=anchor_days_before)
    check_walk(rule, start, anchor)


@pytest.mark.parametrize("cadence", list(Cadence))
def test_every_zone_for_two_years(cadence: Cadence) -> None:
    """Every zone once, with a fixed rule (Sunday 08:00, the morning after most DST
    changes, right at the end of the quiet hours), so no zone is left to chance."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for zone in ZONES:
        rule = CadenceRule(cadence, 6, "08:00", zone)
        found = check_walk(rule, start, date(2025, 12, 31))
        expected = {Cadence.WEEKLY: 104, Cadence.BIWEEKLY: 52, Cadence.MONTHLY: 24}[cadence]
        assert expected <= len(found) <= expected + 1


def transitions(zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, timedelta]]:
    """The UTC offset changes of ``zone`` between ``start`` and ``end``: (instant, old)."""
    found = []
    moment, offset = start, start.astimezone(zone).utcoffset()
    while moment < end:
        later = moment + timedelta(days=1)
        later_offset = later.astimezone(zone).utcoffset()
        if later_offset != offset:
            low, high = moment, later
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if middle.astimezone(zone).utcoffset() == offset:
                    low = middle
                else:
                    high = middle
            assert offset is not None
            found.append((high, offset))
        moment, offset = later, later_offset
    return found


def test_every_dst_change_in_every_zone() -> None:
    """A weekly time inside each real gap moves forward by exactly that gap; a time inside
    each real overlap takes the first instant. (Times in the night, as the quiet-hours
    rule of :func:`parse_cadence` does not apply to a rule built directly.)"""
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2029, 1, 1, tzinfo=UTC)
    gaps = 0
    for name in ZONES:
        zone = ZoneInfo(name)
        for instant, old in transitions(zone, start, end):
            new = instant.astimezone(zone).utcoffset()
            assert new is not None
            # The local wall time halfway through the skipped or repeated stretch.
            change = new - old
            wall = (instant + min(old, new)).replace(tzinfo=None) + abs(change) / 2
            wall -= timedelta(seconds=wall.second, microseconds=wall.microsecond)
            rule = CadenceRule(Cadence.WEEKLY, wall.weekday(), f"{wall:%H:%M}", name)
            moment = next_checkin(rule, instant - timedelta(days=3), date.min)
            assert moment == (wall - old).replace(tzinfo=UTC)
            local = moment.astimezone(zone).replace(tzinfo=None)
            if change > timedelta(0):
                gaps += 1
                assert local == wall + change
                # Asked just before it, even on the next local day, it is still ahead.
                assert next_checkin(rule, moment - timedelta(minutes=1), date.min) == moment
            else:
                assert local == wall
                assert moment < (wall - new).replace(tzinfo=UTC)  # the second instant
            check_wall_time(moment, rule)
    assert gaps > 100


def test_every_zone_name_parses() -> None:
    for name in timezone_names().values():
        assert parse_cadence(f"biweekly thu 9:30 {name.lower()}", "UTC").timezone == name
