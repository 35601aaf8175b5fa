"""The next check-in follows local wall-clock time across DST changes."""

from datetime import UTC, datetime

from bot.cadence import next_weekly


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
