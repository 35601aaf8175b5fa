"""When a pair's next check-in falls, computed from the local rule with zoneinfo.

Local wall-clock time is what people agree on, so the next time is found in the pair's
timezone and converted to UTC, never by adding 7 x 24 hours. A local time that does not
exist on a DST day (the clocks jump over it) comes out moved forward by the gap; an
ambiguous one (the clocks repeat it) takes the first of the two.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DEFAULT_WEEKDAY = 0
DEFAULT_LOCAL_TIME = "10:00"


def parse_local_time(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def to_utc(local_day: datetime, at: time, zone: ZoneInfo) -> datetime:
    wall = datetime.combine(local_day.date(), at).replace(tzinfo=zone, fold=0)
    return wall.astimezone(UTC)


def next_weekly(after: datetime, weekday: int, local_time: str, timezone: str) -> datetime:
    """The first ``weekday`` at ``local_time`` in ``timezone`` strictly after ``after``."""
    zone = ZoneInfo(timezone)
    at = parse_local_time(local_time)
    local_now = after.astimezone(zone)
    day = local_now + timedelta(days=(weekday - local_now.weekday()) % 7)
    candidate = to_utc(day, at, zone)
    if candidate <= after:
        candidate = to_utc(day + timedelta(days=7), at, zone)
    return candidate
