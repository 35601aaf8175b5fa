"""The next check-in follows local wall-clock time across DST changes; the cadence words."""

from dataclasses import FrozenInstanceError
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.cadence import (
    DEFAULT_LOCAL_TIME,
    DEFAULT_WEEKDAY,
    EXAMPLE,
    QUIET_END,
    QUIET_HOURS_REASON,
    QUIET_START,
    WEEKDAYS,
    CadenceError,
    CadenceRule,
    describe,
    fresh_anchor,
    in_quiet_hours,
    local_view,
    next_checkin,
    next_weekly,
    occurrences,
    outside_quiet_hours,
    parse_cadence,
    parse_local_time,
)
from bot.storage.models import Cadence

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"


def at(zone: str, year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    """A local wall time (fold=0) in ``zone`` as aware UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone)).astimezone(UTC)


# --- fresh_anchor: where every other week starts ------------------------------------------


def test_every_other_week_starts_at_the_soonest_of_its_weekday() -> None:
    """Set on Wednesday 25 Nov: every other Monday starts on 30 Nov (a calendar's "every
    2 weeks"), every other Thursday tomorrow; at 20:00 UTC it is already Thursday 09:00
    in Auckland, so its Thursday 08:00 has gone by there and the first is a week on."""
    wednesday = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    monday = CadenceRule(Cadence.BIWEEKLY, 0, "10:00", "UTC")
    assert fresh_anchor(monday, wednesday) == date(2026, 11, 30)
    assert next_checkin(monday, wednesday, fresh_anchor(monday, wednesday)) == datetime(
        2026, 11, 30, 10, 0, tzinfo=UTC
    )
    thursday = CadenceRule(Cadence.BIWEEKLY, 3, "09:30", BERLIN)
    assert fresh_anchor(thursday, wednesday) == date(2026, 11, 26)
    auckland = CadenceRule(Cadence.BIWEEKLY, 3, "08:00", "Pacific/Auckland")
    assert fresh_anchor(auckland, wednesday) == date(2026, 11, 26)  # 01:00 there
    assert fresh_anchor(auckland, wednesday.replace(hour=20)) == date(2026, 12, 3)


def test_set_at_a_check_ins_own_moment_it_starts_with_the_next() -> None:
    """The next check-in is always after now: set at 10:00 on a Monday, every other
    Monday at 10:00 starts a week on (not two: the one at "now" never happens)."""
    monday = CadenceRule(Cadence.BIWEEKLY, 0, "10:00", BERLIN)
    due = at(BERLIN, 2026, 11, 30, 10, 0)
    anchor = fresh_anchor(monday, due)
    assert anchor == date(2026, 12, 7)
    assert next_checkin(monday, due, anchor) == at(BERLIN, 2026, 12, 7, 10, 0)


def test_other_rhythms_keep_the_day_they_were_set() -> None:
    wednesday = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)  # Thursday already in Berlin
    for cadence in (Cadence.WEEKLY, Cadence.MONTHLY):
        assert fresh_anchor(CadenceRule(cadence, 0, "10:00", BERLIN), wednesday) == date(
            2026, 11, 26
        )


# --- next_weekly (kept for existing callers) ------------------------------------------------


def test_the_next_monday_at_ten_in_utc() -> None:
    wednesday = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert next_weekly(wednesday, 0, "10:00", "UTC") == datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def test_later_today_or_next_week() -> None:
    monday_9 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert next_weekly(monday_9, 0, "10:00", "UTC") == datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    monday_10 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    assert next_weekly(monday_10, 0, "10:00", "UTC") == datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def test_local_time_is_kept_across_dst() -> None:
    # Berlin leaves summer time on Sunday 2026-10-25: 10:00 local is 08:00 UTC before, 09:00 after.
    before = datetime(2026, 10, 20, 0, 0, tzinfo=UTC)
    assert next_weekly(before, 0, "10:00", "Europe/Berlin") == datetime(
        2026, 10, 26, 9, 0, tzinfo=UTC
    )
    assert next_weekly(before, 1, "10:00", "Europe/Berlin") == datetime(
        2026, 10, 20, 8, 0, tzinfo=UTC
    )


def test_a_time_skipped_by_dst_moves_forward_by_the_gap() -> None:
    # New York springs forward on Sunday 2027-03-14: 02:30 does not exist, 03:30 EDT does.
    after = datetime(2027, 3, 10, tzinfo=UTC)
    assert next_weekly(after, 6, "02:30", "America/New_York") == datetime(
        2027, 3, 14, 7, 30, tzinfo=UTC
    )


def test_an_ambiguous_time_takes_the_first() -> None:
    # New York falls back on Sunday 2026-11-01: 01:30 happens twice; the first is EDT (05:30 UTC).
    after = datetime(2026, 10, 28, tzinfo=UTC)
    assert next_weekly(after, 6, "01:30", "America/New_York") == datetime(
        2026, 11, 1, 5, 30, tzinfo=UTC
    )


def test_the_old_names_still_work() -> None:
    assert WEEKDAYS[DEFAULT_WEEKDAY] == "Monday"
    assert parse_local_time(DEFAULT_LOCAL_TIME) == time(10, 0)
    assert parse_local_time("9:05") == time(9, 5)
    with pytest.raises(CadenceError):
        parse_local_time("24:00")
    with pytest.raises(CadenceError):
        parse_local_time("ten")


# --- weekly ---------------------------------------------------------------------------------


def test_weekly_keeps_ten_oclock_across_the_spring_change_in_berlin() -> None:
    rule = CadenceRule(Cadence.WEEKLY, 0, "10:00", BERLIN)
    moments = occurrences(
        rule, datetime(2027, 3, 16, tzinfo=UTC), datetime(2027, 4, 6, tzinfo=UTC), date.min
    )
    # 2027-03-28 is the spring change: 09:00 UTC before it, 08:00 UTC after.
    assert moments == [
        datetime(2027, 3, 22, 9, 0, tzinfo=UTC),
        datetime(2027, 3, 29, 8, 0, tzinfo=UTC),
        datetime(2027, 4, 5, 8, 0, tzinfo=UTC),
    ]


def test_downtime_is_caught_up_once() -> None:
    rule = CadenceRule(Cadence.WEEKLY, 0, "10:00", "UTC")
    # Down for five weeks: the answer is the next Monday after coming back, not a missed one.
    back = datetime(2027, 1, 6, 12, 0, tzinfo=UTC)
    assert next_checkin(rule, back, date(2026, 11, 25)) == datetime(2027, 1, 11, 10, tzinfo=UTC)


def test_a_gap_that_crosses_midnight_moves_to_the_next_local_day() -> None:
    # Nuuk springs forward at 23:00 on Saturday 2027-03-27 (-02 to -01): 23:30 does not
    # exist, so Saturday's check-in is at 00:30 on Sunday local time, 01:30 UTC.
    rule = CadenceRule(Cadence.WEEKLY, 5, "23:30", "America/Nuuk")
    expected = datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    assert next_checkin(rule, datetime(2027, 3, 25, tzinfo=UTC), date.min) == expected
    # Asked at 00:10 on Sunday, local time, Saturday's check-in is still ahead.
    assert next_checkin(rule, datetime(2027, 3, 28, 1, 10, tzinfo=UTC), date.min) == expected
    assert expected.astimezone(ZoneInfo("America/Nuuk")).replace(tzinfo=None) == datetime(
        2027, 3, 28, 0, 30
    )


def test_a_half_hour_gap_on_lord_howe_island() -> None:
    # Lord Howe Island springs forward by 30 minutes at 02:00 on Sunday 2026-10-04.
    rule = CadenceRule(Cadence.WEEKLY, 6, "02:15", "Australia/Lord_Howe")
    moment = next_checkin(rule, datetime(2026, 10, 1, tzinfo=UTC), date.min)
    local = moment.astimezone(ZoneInfo("Australia/Lord_Howe"))
    assert (local.date(), local.time()) == (date(2026, 10, 4), time(2, 45))


def test_a_two_hour_gap_at_troll_station() -> None:
    # Antarctica/Troll goes from +00 to +02 at 01:00 on Sunday 2027-03-28.
    rule = CadenceRule(Cadence.WEEKLY, 6, "02:00", "Antarctica/Troll")
    moment = next_checkin(rule, datetime(2027, 3, 25, tzinfo=UTC), date.min)
    assert moment == datetime(2027, 3, 28, 2, 0, tzinfo=UTC)
    assert moment.astimezone(ZoneInfo("Antarctica/Troll")).time() == time(4, 0)


# --- biweekly -------------------------------------------------------------------------------


def test_biweekly_counts_from_the_anchor_week() -> None:
    rule = CadenceRule(Cadence.BIWEEKLY, 0, "10:00", "UTC")
    set_on = date(2026, 11, 25)  # a Wednesday; its week's Monday (23 Nov) has passed
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    assert occurrences(rule, now, datetime(2027, 1, 31, tzinfo=UTC), set_on) == [
        datetime(2026, 12, 7, 10, tzinfo=UTC),
        datetime(2026, 12, 21, 10, tzinfo=UTC),
        datetime(2027, 1, 4, 10, tzinfo=UTC),
        datetime(2027, 1, 18, 10, tzinfo=UTC),
    ]
    # A later weekday in the anchor week is still this week.
    thursday = CadenceRule(Cadence.BIWEEKLY, 3, "10:00", "UTC")
    assert next_checkin(thursday, now, set_on) == datetime(2026, 11, 26, 10, tzinfo=UTC)


def test_biweekly_parity_is_stable_across_a_skip_and_downtime() -> None:
    rule = CadenceRule(Cadence.BIWEEKLY, 0, "10:00", "UTC")
    anchor = date(2026, 11, 25)
    first = next_checkin(rule, datetime(2026, 11, 25, 12, tzinfo=UTC), anchor)
    assert first == datetime(2026, 12, 7, 10, tzinfo=UTC)
    # Skipping 7 Dec: the next is still two weeks on, not one.
    assert next_checkin(rule, first, anchor) == datetime(2026, 12, 21, 10, tzinfo=UTC)
    # Asked in an off week (after five weeks of downtime): the following on-week.
    assert next_checkin(rule, datetime(2027, 1, 10, tzinfo=UTC), anchor) == datetime(
        2027, 1, 18, 10, tzinfo=UTC
    )
    # Asked at any moment of the off week, the answer is the same.
    for hours in range(0, 7 * 24, 5):
        after = datetime(2026, 12, 14, tzinfo=UTC) + timedelta(hours=hours)
        assert next_checkin(rule, after, anchor) == datetime(2026, 12, 21, 10, tzinfo=UTC)


def test_biweekly_parity_does_not_follow_iso_week_numbers() -> None:
    # 2026 has 53 ISO weeks; counting weeks from the anchor's Monday keeps the rhythm.
    rule = CadenceRule(Cadence.BIWEEKLY, 0, "10:00", "UTC")
    anchor = date(2026, 12, 21)
    moments = occurrences(
        rule, datetime(2026, 12, 20, tzinfo=UTC), datetime(2027, 2, 2, tzinfo=UTC), anchor
    )
    assert [m.date() for m in moments] == [
        date(2026, 12, 21),
        date(2027, 1, 4),
        date(2027, 1, 18),
        date(2027, 2, 1),
    ]


def test_biweekly_keeps_local_time_across_dst() -> None:
    rule = CadenceRule(Cadence.BIWEEKLY, 3, "09:30", BERLIN)
    anchor = date(2027, 3, 15)
    moments = occurrences(
        rule, datetime(2027, 3, 15, tzinfo=UTC), datetime(2027, 4, 10, tzinfo=UTC), anchor
    )
    assert moments == [at(BERLIN, 2027, 3, 18, 9, 30), at(BERLIN, 2027, 4, 1, 9, 30)]
    assert [m.hour for m in moments] == [8, 7]


# --- monthly --------------------------------------------------------------------------------


def test_monthly_is_the_first_weekday_of_each_month() -> None:
    rule = CadenceRule(Cadence.MONTHLY, 0, "10:00", "UTC")
    moments = occurrences(
        rule, datetime(2026, 11, 25, tzinfo=UTC), datetime(2027, 3, 31, tzinfo=UTC), date.min
    )
    # 1 Feb 2027 is itself a Monday.
    assert [m.date() for m in moments] == [
        date(2026, 12, 7),
        date(2027, 1, 4),
        date(2027, 2, 1),
        date(2027, 3, 1),
    ]
    # Earlier on the day of the first Monday: that same day.
    assert next_checkin(rule, datetime(2027, 2, 1, 9, 59, tzinfo=UTC), date.min) == datetime(
        2027, 2, 1, 10, tzinfo=UTC
    )
    # Right after it: the next month's.
    assert next_checkin(rule, datetime(2027, 2, 1, 10, tzinfo=UTC), date.min) == datetime(
        2027, 3, 1, 10, tzinfo=UTC
    )


def test_monthly_uses_the_local_calendar() -> None:
    # Sunday 1 Nov 2026 at 10:00 in Auckland is still 31 Oct in UTC.
    rule = CadenceRule(Cadence.MONTHLY, 6, "10:00", "Pacific/Auckland")
    moment = next_checkin(rule, datetime(2026, 10, 20, tzinfo=UTC), date.min)
    assert moment == at("Pacific/Auckland", 2026, 11, 1, 10, 0)
    assert moment.date() == date(2026, 10, 31)


def test_occurrences_exclude_start_and_include_end() -> None:
    rule = CadenceRule(Cadence.WEEKLY, 0, "10:00", "UTC")
    first = datetime(2026, 11, 30, 10, tzinfo=UTC)
    second = datetime(2026, 12, 7, 10, tzinfo=UTC)
    assert occurrences(rule, first, second, date.min) == [second]
    assert occurrences(rule, first, second - timedelta(seconds=1), date.min) == []


# --- quiet hours ----------------------------------------------------------------------------


def test_quiet_hours_bounds() -> None:
    assert (time(21, 0), time(8, 0)) == (QUIET_START, QUIET_END)
    assert outside_quiet_hours(at(BERLIN, 2026, 11, 30, 8, 0), BERLIN) == at(
        BERLIN, 2026, 11, 30, 8, 0
    )
    assert outside_quiet_hours(at(BERLIN, 2026, 11, 30, 20, 59), BERLIN) == at(
        BERLIN, 2026, 11, 30, 20, 59
    )
    assert outside_quiet_hours(at(BERLIN, 2026, 11, 30, 21, 0), BERLIN) == at(
        BERLIN, 2026, 12, 1, 8, 0
    )
    assert outside_quiet_hours(at(BERLIN, 2026, 11, 30, 7, 59), BERLIN) == at(
        BERLIN, 2026, 11, 30, 8, 0
    )
    assert outside_quiet_hours(at(BERLIN, 2026, 12, 1, 0, 0), BERLIN) == at(
        BERLIN, 2026, 12, 1, 8, 0
    )


def test_quiet_hours_are_the_recipients() -> None:
    # 19:00 UTC is fine in London, 04:00 next day in Tokyo: that one waits for 08:00 there.
    moment = datetime(2026, 11, 30, 19, 0, tzinfo=UTC)
    assert outside_quiet_hours(moment, "Europe/London") == moment
    assert outside_quiet_hours(moment, "Asia/Tokyo") == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    assert in_quiet_hours(moment, "Asia/Tokyo")
    assert not in_quiet_hours(moment, "Europe/London")


def test_the_morning_after_a_spring_change() -> None:
    # Berlin springs forward overnight into Sunday 2027-03-28: nine hours after 23:00 CET
    # would be 09:00 CEST; the answer is 08:00 CEST (06:00 UTC).
    night = at(BERLIN, 2027, 3, 27, 23, 0)
    assert outside_quiet_hours(night, BERLIN) == datetime(2027, 3, 28, 6, 0, tzinfo=UTC)


def test_the_morning_after_an_autumn_change() -> None:
    # Berlin falls back overnight into Sunday 2027-10-31: 08:00 CET is 07:00 UTC.
    night = at(BERLIN, 2027, 10, 30, 22, 0)
    assert outside_quiet_hours(night, BERLIN) == datetime(2027, 10, 31, 7, 0, tzinfo=UTC)
    # The second 02:30 (CET, 01:30 UTC) also waits for 08:00 CET.
    second_half_past_two = datetime(2027, 10, 31, 1, 30, tzinfo=UTC)
    assert outside_quiet_hours(second_half_past_two, BERLIN) == datetime(
        2027, 10, 31, 7, 0, tzinfo=UTC
    )


def test_naive_datetimes_are_refused() -> None:
    rule = CadenceRule(Cadence.WEEKLY)
    with pytest.raises(ValueError, match="aware"):
        next_checkin(rule, datetime(2026, 11, 30), date.min)
    with pytest.raises(ValueError, match="aware"):
        outside_quiet_hours(datetime(2026, 11, 30), "UTC")
    with pytest.raises(TypeError, match="local date"):
        next_checkin(rule, datetime(2026, 11, 30, tzinfo=UTC), datetime(2026, 11, 30))


# --- the rule -------------------------------------------------------------------------------


def test_a_rule_is_frozen_and_checked() -> None:
    rule = CadenceRule("biweekly", 3, "09:30", BERLIN)  # type: ignore[arg-type]
    assert rule.cadence is Cadence.BIWEEKLY
    with pytest.raises(FrozenInstanceError):
        rule.weekday = 2  # type: ignore[misc]
    for cadence, weekday, local_time, zone in [
        ("daily", 0, "10:00", "UTC"),
        (Cadence.WEEKLY, 7, "10:00", "UTC"),
        (Cadence.WEEKLY, -1, "10:00", "UTC"),
        (Cadence.WEEKLY, 0, "10:60", "UTC"),
        (Cadence.WEEKLY, 0, "10", "UTC"),
        (Cadence.WEEKLY, 0, "10:00", "Mars/Olympus_Mons"),
        (Cadence.WEEKLY, 0, "10:00", "../etc/passwd"),
    ]:
        with pytest.raises(CadenceError):
            CadenceRule(cadence, weekday, local_time, zone)  # type: ignore[arg-type]


def test_describe() -> None:
    assert describe(CadenceRule(Cadence.WEEKLY, 0, "10:00", BERLIN)) == (
        "every Monday at 10:00 (Europe/Berlin)"
    )
    assert describe(CadenceRule(Cadence.BIWEEKLY, 3, "09:30", "UTC")) == (
        "every other Thursday at 09:30 (UTC)"
    )
    assert describe(CadenceRule(Cadence.MONTHLY, 0, "10:00", "UTC")) == (
        "the first Monday of each month at 10:00 (UTC)"
    )
    assert describe(CadenceRule(Cadence.WEEKLY, 4, "9:05", "UTC")) == (
        "every Friday at 09:05 (UTC)"
    )


def test_local_view() -> None:
    moment = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert local_view(moment, BERLIN) == "Mon 30 Nov, 10:00 (Europe/Berlin)"
    assert local_view(moment, "Pacific/Auckland") == "Mon 30 Nov, 22:00 (Pacific/Auckland)"
    assert local_view(moment, "America/Los_Angeles") == "Mon 30 Nov, 01:00 (America/Los_Angeles)"
    assert local_view(datetime(2027, 1, 1, 23, 0, tzinfo=UTC), "Asia/Tokyo") == (
        "Sat 2 Jan, 08:00 (Asia/Tokyo)"
    )


# --- parsing --------------------------------------------------------------------------------


def rule(cadence: Cadence, weekday: int, local_time: str, zone: str) -> CadenceRule:
    return CadenceRule(cadence, weekday, local_time, zone)


W, B, M = Cadence.WEEKLY, Cadence.BIWEEKLY, Cadence.MONTHLY


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        # Defaults: weekly, Monday, 10:00, the proposer's timezone.
        ("", rule(W, 0, "10:00", NEW_YORK)),
        ("   ", rule(W, 0, "10:00", NEW_YORK)),
        # Cadences.
        ("weekly", rule(W, 0, "10:00", NEW_YORK)),
        ("Weekly", rule(W, 0, "10:00", NEW_YORK)),
        ("every week", rule(W, 0, "10:00", NEW_YORK)),
        ("each week", rule(W, 0, "10:00", NEW_YORK)),
        ("biweekly", rule(B, 0, "10:00", NEW_YORK)),
        ("BIWEEKLY", rule(B, 0, "10:00", NEW_YORK)),
        ("bi-weekly", rule(B, 0, "10:00", NEW_YORK)),
        ("fortnightly", rule(B, 0, "10:00", NEW_YORK)),
        ("every 2 weeks", rule(B, 0, "10:00", NEW_YORK)),
        ("Every two weeks", rule(B, 0, "10:00", NEW_YORK)),
        ("every other week", rule(B, 0, "10:00", NEW_YORK)),
        ("every second week", rule(B, 0, "10:00", NEW_YORK)),
        ("every fortnight", rule(B, 0, "10:00", NEW_YORK)),
        ("monthly", rule(M, 0, "10:00", NEW_YORK)),
        ("every month", rule(M, 0, "10:00", NEW_YORK)),
        ("every 1 month", rule(M, 0, "10:00", NEW_YORK)),
        # Weekdays.
        ("mon", rule(W, 0, "10:00", NEW_YORK)),
        ("Tue", rule(W, 1, "10:00", NEW_YORK)),
        ("tues", rule(W, 1, "10:00", NEW_YORK)),
        ("wednesday", rule(W, 2, "10:00", NEW_YORK)),
        ("Thu.", rule(W, 3, "10:00", NEW_YORK)),
        ("thurs", rule(W, 3, "10:00", NEW_YORK)),
        ("FRIDAY", rule(W, 4, "10:00", NEW_YORK)),
        ("sat", rule(W, 5, "10:00", NEW_YORK)),
        ("Sundays", rule(W, 6, "10:00", NEW_YORK)),
        ("Mon.", rule(W, 0, "10:00", NEW_YORK)),
        ("every thursday", rule(W, 3, "10:00", NEW_YORK)),
        ("every other thursday", rule(B, 3, "10:00", NEW_YORK)),
        # Times.
        ("9:30", rule(W, 0, "09:30", NEW_YORK)),
        ("09:30", rule(W, 0, "09:30", NEW_YORK)),
        ("9.30", rule(W, 0, "09:30", NEW_YORK)),
        ("5pm", rule(W, 0, "17:00", NEW_YORK)),
        ("5PM", rule(W, 0, "17:00", NEW_YORK)),
        ("5 pm", rule(W, 0, "17:00", NEW_YORK)),
        ("5p.m.", rule(W, 0, "17:00", NEW_YORK)),
        ("5:30pm", rule(W, 0, "17:30", NEW_YORK)),
        ("8am", rule(W, 0, "08:00", NEW_YORK)),
        ("12pm", rule(W, 0, "12:00", NEW_YORK)),
        ("17h", rule(W, 0, "17:00", NEW_YORK)),
        ("17h30", rule(W, 0, "17:30", NEW_YORK)),
        ("noon", rule(W, 0, "12:00", NEW_YORK)),
        # A bare hour after "at" is that hour; alone, "9" could be anything.
        ("thu at 9", rule(W, 3, "09:00", NEW_YORK)),
        ("at 14 fri", rule(W, 4, "14:00", NEW_YORK)),
        ("08:00", rule(W, 0, "08:00", NEW_YORK)),
        ("20:59", rule(W, 0, "20:59", NEW_YORK)),
        # Timezones.
        ("Europe/Berlin", rule(W, 0, "10:00", BERLIN)),
        ("europe/berlin", rule(W, 0, "10:00", BERLIN)),
        ("EUROPE/BERLIN", rule(W, 0, "10:00", BERLIN)),
        ("america/argentina/buenos_aires", rule(W, 0, "10:00", "America/Argentina/Buenos_Aires")),
        ("UTC", rule(W, 0, "10:00", "UTC")),
        ("utc", rule(W, 0, "10:00", "UTC")),
        ("Etc/UTC", rule(W, 0, "10:00", "UTC")),
        ("US/Eastern", rule(W, 0, "10:00", "US/Eastern")),
        # Together, in any order.
        ("thu 9:30", rule(W, 3, "09:30", NEW_YORK)),
        ("mon 5pm", rule(W, 0, "17:00", NEW_YORK)),
        ("biweekly thu 09:30 Europe/Berlin", rule(B, 3, "09:30", BERLIN)),
        ("Europe/Berlin 09:30 thu biweekly", rule(B, 3, "09:30", BERLIN)),
        ("every 2 weeks on Thursday at 9:30 europe/berlin", rule(B, 3, "09:30", BERLIN)),
        ("monthly, fri, 2pm, asia/tokyo", rule(M, 4, "14:00", "Asia/Tokyo")),
        ("Wed every other week noon", rule(B, 2, "12:00", NEW_YORK)),
        # Saying the same thing twice is not a conflict.
        ("biweekly every other thu", rule(B, 3, "10:00", NEW_YORK)),
        ("mon monday", rule(W, 0, "10:00", NEW_YORK)),
    ],
)
def test_parse_cadence(words: str, expected: CadenceRule) -> None:
    assert parse_cadence(words, NEW_YORK) == expected


def test_what_is_not_said_keeps_the_current_rule() -> None:
    """A pair's rule being changed keeps the parts not said; its timezone too, unless a
    time is said with none (the typer's clock)."""
    current = rule(W, 1, "15:00", BERLIN)
    assert parse_cadence("biweekly", NEW_YORK, current) == rule(B, 1, "15:00", BERLIN)
    assert parse_cadence("fri", NEW_YORK, current) == rule(W, 4, "15:00", BERLIN)
    assert parse_cadence("asia/tokyo", NEW_YORK, current) == rule(W, 1, "15:00", "Asia/Tokyo")
    assert parse_cadence("9:30", NEW_YORK, current) == rule(W, 1, "09:30", NEW_YORK)
    assert parse_cadence("monthly 9:30 utc", NEW_YORK, current) == rule(M, 1, "09:30", "UTC")


def test_the_default_timezone() -> None:
    assert parse_cadence("weekly", "europe/berlin").timezone == BERLIN
    assert parse_cadence("weekly", "").timezone == "UTC"
    assert parse_cadence("weekly", "Not/A_Zone").timezone == "UTC"
    assert parse_cadence("weekly", "localtime").timezone == "UTC"
    assert parse_cadence("weekly Asia/Tokyo", BERLIN).timezone == "Asia/Tokyo"


@pytest.mark.parametrize(
    ("words", "reason"),
    [
        # Unknown words, named.
        ("weekly blah", "I don't understand 'blah'"),
        ("tuesdy", "I don't understand 'tuesdy' (did you mean 'tuesday'?)"),
        ("berlin", "I don't understand 'berlin' (did you mean Europe/Berlin?)"),
        # A city of several words, as people write it.
        ("mon 10:00 new york", "I don't understand 'new york' (did you mean America/New_York?)"),
        ("thu Sao Paulo", "I don't understand 'Sao Paulo' (did you mean America/Sao_Paulo?)"),
        ("thu ho chi minh city", "I don't understand 'ho chi minh' (did you mean Asia/Ho_Chi"),
        ("weekly hello world", "I don't understand 'hello'"),
        ("9", "'9' is not a time: write it like 09:30, 5pm or 17h"),
        ("at 24", "'24' is not a time of day: hours go up to 23"),
        ("every", "I don't understand 'every': say weekly, every 2 weeks or monthly"),
        ("every 3 weeks", "'every 3 weeks' is not a rhythm I can keep"),
        ("every other month", "'every other month' is not a rhythm I can keep"),
        # Two of one kind.
        ("weekly monthly", "Please pick one rhythm, not both 'weekly' and 'monthly'"),
        ("every 2 weeks weekly", "Please pick one rhythm, not both 'every 2 weeks' and 'weekly'"),
        ("mon tue", "Please pick one day, not both 'mon' and 'tue'"),
        ("9:30 10:00", "Please pick one time, not both '9:30' and '10:00'"),
        ("utc europe/berlin", "Please pick one timezone, not both 'utc' and 'europe/berlin'"),
        # Times that are not times of day.
        ("24:00", "'24:00' is not a time of day: hours go up to 23"),
        ("25:00", "'25:00' is not a time of day: hours go up to 23"),
        ("25h", "'25h' is not a time of day: hours go up to 23"),
        ("9:60", "'9:60' is not a time of day: minutes go up to 59"),
        ("9:5", "'9:5' is not a time: write the minutes with two digits"),
        ("13pm", "'13pm' is not a time: with am/pm the hour goes from 1 to 12"),
        # Quiet hours.
        ("7:59", f"07:59 is in the quiet hours: {QUIET_HOURS_REASON}"),
        ("21:00", f"21:00 is in the quiet hours: {QUIET_HOURS_REASON}"),
        ("9pm", f"21:00 is in the quiet hours: {QUIET_HOURS_REASON}"),
        ("12am", f"00:00 is in the quiet hours: {QUIET_HOURS_REASON}"),
        ("midnight", f"00:00 is in the quiet hours: {QUIET_HOURS_REASON}"),
        # Timezones.
        ("CET", "'CET' is an abbreviation"),
        ("EST", "use a city name like America/New_York"),
        ("pst", "use a city name like America/Los_Angeles"),
        ("IST", "'IST' is an abbreviation, which can mean different places"),
        ("GMT", "use a city name like Europe/London"),
        ("UTC+2", "'UTC+2' is a fixed offset, which ignores summer time"),
        ("+02:00", "'+02:00' is a fixed offset"),
        ("Japan", "'Japan' is an old timezone alias; use an Area/City name"),
        ("EST5EDT", "'EST5EDT' is an old timezone alias"),
        ("europe/berln", "I don't know the timezone 'europe/berln' (did you mean Europe/Berlin?)"),
        ("Mars/Olympus_Mons", "I don't know the timezone 'Mars/Olympus_Mons'"),
        # A zone typed with spaces for its underscores gets the name it means.
        ("weekly America/New York", "'America/New York' (did you mean America/New_York?"),
        ("thu america/port of spain", "(did you mean America/Port_of_Spain?"),
        # Rhythms the bot does not keep are named, with the ones it does.
        ("daily", "I can't keep 'daily' check-ins: they can be weekly, biweekly"),
        ("every day 9:30", "I can't keep 'every day' check-ins: they can be weekly"),
        ("Everyday", "I can't keep 'Everyday' check-ins"),
        # A day, a part of a day, a run of days: not a rhythm, nor a time.
        ("tomorrow", "Check-ins repeat on a weekday, so I can't keep 'tomorrow': name the"),
        ("next week 3pm", "so I can't keep 'next week': name the day, like `weekly thu`."),
        ("every monday morning", "Say the time for 'morning' as a clock time, like 09:30"),
        ("mon-fri", "I can't keep 'mon-fri' check-ins: they can be weekly, biweekly"),
        # "twice" is per a week or a month; twice a month is near every 2 weeks.
        ("twice a week", "I can't keep 'twice a week' check-ins: they can be weekly"),
        ("Twice", "I can't keep 'Twice' check-ins: they can be weekly"),
        ("twice a month tue", "I can't keep 'twice a month' exactly: the nearest is biweekly"),
        ("twice monthly", "I can't keep 'twice monthly' exactly: the nearest is biweekly (every"),
        ("twice per month", "I can't keep 'twice per month' exactly"),
    ],
)
def test_parse_cadence_refuses(words: str, reason: str) -> None:
    with pytest.raises(CadenceError) as caught:
        parse_cadence(words, NEW_YORK)
    assert reason in caught.value.message
    assert caught.value.reason.startswith(reason) or reason in caught.value.reason
    assert f"For example: `{EXAMPLE}`" in caught.value.message
    assert EXAMPLE == "/mentor cadence biweekly thu 09:30 Europe/Berlin"
    assert isinstance(caught.value, ValueError)


def test_the_example_itself_parses() -> None:
    words = EXAMPLE.removeprefix("/mentor cadence ")
    assert parse_cadence(words, "UTC") == rule(B, 3, "09:30", BERLIN)


@pytest.mark.parametrize("cadence", list(Cadence))
@pytest.mark.parametrize("zone", ["UTC", BERLIN, "America/Port_of_Spain"])
def test_the_bots_own_words_parse_back(cadence: Cadence, zone: str) -> None:
    """Someone who copies the rhythm as the bot wrote it ("the first Thursday of each
    month at 16:30 (Europe/Berlin)", from the status or a confirmation) gets that
    rhythm, not "I don't understand 'the'"."""
    for weekday in range(7):
        said = rule(cadence, weekday, "16:30", zone)
        assert parse_cadence(describe(said), NEW_YORK) == said


@pytest.mark.parametrize(
    ("words", "reason"),
    [
        ("monthly on the 31st", "so I can't keep '31st': say which weekday"),
        ("monthly 15th", "so I can't keep '15th'"),
        ("the second Tuesday of each month", "so I can't keep 'second'"),
        ("monthly last friday", "so I can't keep 'last'"),
        # A bare number with monthly and no weekday is a date too (it said "'15' is not
        # a time").
        ("monthly 15", "so I can't keep '15'"),
        ("every month on the 3", "so I can't keep '3'"),
    ],
)
def test_a_day_of_the_month_says_what_monthly_means(words: str, reason: str) -> None:
    with pytest.raises(CadenceError) as caught:
        parse_cadence(words, "UTC")
    assert "Monthly check-ins are on the first of a weekday in each month" in caught.value.message
    assert reason in caught.value.message


@pytest.mark.parametrize("words", ["monthly tue 15", "weekly 15", "monthly 32"])
def test_a_bare_number_that_is_no_date_of_a_monthly_rhythm_is_no_time_either(words: str) -> None:
    with pytest.raises(CadenceError) as caught:
        parse_cadence(words, "UTC")
    assert "is not a time: write it like 09:30" in caught.value.message
    assert parse_cadence("monthly at 15", "UTC") == rule(M, 0, "15:00", "UTC")


def test_the_first_weekday_of_the_month_is_monthly() -> None:
    assert parse_cadence("first tue of the month 9:30", "UTC") == rule(M, 1, "09:30", "UTC")
    assert parse_cadence("monthly on the 1st monday", "UTC") == rule(M, 0, "10:00", "UTC")
