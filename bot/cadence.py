"""When a pair's check-ins fall: the local rule, its next time, quiet hours and parsing.

Pure: no I/O beyond reading the tz database through :mod:`zoneinfo`, no database.

Local wall-clock time is what people agree on, so every check-in is found as a *local*
date and time in the pair's timezone and then converted to UTC; nothing here ever adds
7 x 24 hours (or 14 x 24) to a UTC instant. The wall time is built with ``fold=0`` and
converted through :mod:`zoneinfo`, which gives PEP 495 semantics:

* a local time that does not exist on a DST day (the clocks jump over it) comes out
  moved forward by the length of the gap: 02:30 on the day New York springs forward is
  03:30 EDT, 02:15 on the day Lord Howe Island springs forward (a 30-minute gap) is
  02:45, 01:30 on the day Antarctica/Troll springs forward (a 2-hour gap) is 03:30;
* an ambiguous local time (the clocks repeat it) takes the first of the two instants.

The rhythms (:class:`~bot.storage.models.Cadence`):

* weekly: every ``weekday`` at ``local_time``;
* biweekly: every other week, namely the weeks whose Monday is an even number of weeks
  from the Monday of the *anchor*'s week. The anchor is the local date the cadence was
  set; it is stored, so skipping a check-in or downtime never shifts the parity;
* monthly: the first ``weekday`` of each calendar month.

Quiet hours: no prompt is sent between 21:00 and 08:00 in the recipient's zone
(:func:`outside_quiet_hours`). :func:`parse_cadence` refuses an agreed time inside the
quiet hours, so the pair's own check-ins never fall in them; :func:`next_checkin` itself
applies the rule as given (it never moves a time for quiet hours), and the dispatcher
uses :func:`outside_quiet_hours` for each recipient's own zone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from difflib import get_close_matches
from functools import cache
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.storage.models import Cadence
from bot.text import as_typed

__all__ = [
    "DEFAULT_CADENCE",
    "DEFAULT_LOCAL_TIME",
    "DEFAULT_TIMEZONE",
    "DEFAULT_WEEKDAY",
    "EXAMPLE",
    "QUIET_END",
    "QUIET_HOURS_REASON",
    "QUIET_START",
    "WEEKDAYS",
    "Cadence",
    "CadenceError",
    "CadenceRule",
    "describe",
    "in_quiet_hours",
    "local_view",
    "next_checkin",
    "next_weekly",
    "occurrences",
    "outside_quiet_hours",
    "parse_cadence",
    "parse_local_time",
    "timezone_names",
]

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WEEKDAY_SHORT = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_SHORT = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

DEFAULT_CADENCE = Cadence.WEEKLY
DEFAULT_WEEKDAY = 0
DEFAULT_LOCAL_TIME = "10:00"
DEFAULT_TIMEZONE = "UTC"

QUIET_START = time(21, 0)
QUIET_END = time(8, 0)
QUIET_HOURS_REASON = "check-ins are never sent between 21:00 and 08:00; pick a time in the day"

_T = TypeVar("_T")

EXAMPLE = "/mentor cadence biweekly thu 09:30 Europe/Berlin"


class CadenceError(ValueError):
    """A cadence that cannot be used. ``message`` is the whole answer for the person:
    what was wrong and an example; ``reason`` is the first part alone."""

    def __init__(self, reason: str, example: str = EXAMPLE) -> None:
        self.reason = reason
        self.example = example
        self.message = f"{reason}. For example: `{example}`"
        super().__init__(self.message)


# --- the rule ---------------------------------------------------------------------------


_HH_MM = re.compile(r"(\d{1,2}):(\d{2})")


def parse_local_time(value: str) -> time:
    """``"HH:MM"`` (24-hour; the hour may have one digit) as a :class:`~datetime.time`."""
    match = _HH_MM.fullmatch(value.strip())
    if match is None:
        raise CadenceError(f"'{as_typed(value)}' is not a time like 09:30")
    hours, minutes = int(match[1]), int(match[2])
    if hours > 23:
        raise CadenceError(f"'{as_typed(value)}' is not a time of day: hours go up to 23")
    if minutes > 59:
        raise CadenceError(f"'{as_typed(value)}' is not a time of day: minutes go up to 59")
    return time(hours, minutes)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CadenceError(f"I don't know the timezone '{as_typed(name)}'") from None


@dataclass(frozen=True)
class CadenceRule:
    """A pair's agreed rhythm. ``weekday``: 0 = Monday; ``local_time``: ``"HH:MM"``
    (24-hour); ``timezone``: an IANA name or ``"UTC"``.

    Construction checks the shape only (a known cadence, weekday 0-6, a valid time, a
    timezone zoneinfo can load), so a stored rule always works; what a person may
    choose (not in quiet hours, no abbreviations) is checked by :func:`parse_cadence`.
    A plain string cadence such as ``"weekly"`` (as stored) becomes a :class:`Cadence`.
    """

    cadence: Cadence
    weekday: int = DEFAULT_WEEKDAY
    local_time: str = DEFAULT_LOCAL_TIME
    timezone: str = DEFAULT_TIMEZONE

    def __post_init__(self) -> None:
        try:
            cadence = Cadence(self.cadence)
        except ValueError:
            raise CadenceError(f"'{self.cadence}' is not a cadence") from None
        object.__setattr__(self, "cadence", cadence)
        if type(self.weekday) is not int or not 0 <= self.weekday <= 6:
            raise CadenceError(f"weekday {self.weekday!r} is not 0 (Monday) to 6 (Sunday)")
        parse_local_time(self.local_time)
        _zone(self.timezone)

    @property
    def at(self) -> time:
        """The agreed local time."""
        return parse_local_time(self.local_time)

    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.timezone)


# --- when -------------------------------------------------------------------------------


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got a naive one")


def _wall_to_utc(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The instant of local ``day`` at ``at`` in ``zone``: fold=0, so a nonexistent
    wall time moves forward by the gap and an ambiguous one takes the first instant."""
    wall = datetime.combine(day, at).replace(tzinfo=zone, fold=0)
    return wall.astimezone(UTC)


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _first_of_month(year: int, month: int, weekday: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7)


def _first_day_on_or_after(rule: CadenceRule, day: date, anchor: date) -> date:
    """The first local date on or after ``day`` that has a check-in."""
    if rule.cadence is Cadence.MONTHLY:
        candidate = _first_of_month(day.year, day.month, rule.weekday)
        if candidate >= day:
            return candidate
        year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
        return _first_of_month(year, month, rule.weekday)
    candidate = day + timedelta(days=(rule.weekday - day.weekday()) % 7)
    if rule.cadence is Cadence.BIWEEKLY:
        weeks = (_monday(candidate) - _monday(anchor)).days // 7
        if weeks % 2:
            candidate += timedelta(days=7)
    return candidate


def next_checkin(rule: CadenceRule, after: datetime, anchor: date) -> datetime:
    """The first check-in strictly after ``after``, as an aware UTC datetime.

    ``anchor`` is the local date the cadence was set (only biweekly uses it). Downtime
    is caught up once: the answer is the next one after ``after``, never a missed one.
    """
    _require_aware(after, "after")
    if isinstance(anchor, datetime):
        raise TypeError("anchor is a local date, not a datetime")
    zone = rule.zone
    at = rule.at
    # Start two local days back: a time moved forward by a gap can land on the next
    # local day, after ``after``, while its agreed date is before ``after``'s.
    day = _first_day_on_or_after(rule, after.astimezone(zone).date() - timedelta(days=2), anchor)
    while (moment := _wall_to_utc(day, at, zone)) <= after:
        day = _first_day_on_or_after(rule, day + timedelta(days=1), anchor)
    return moment


def fresh_anchor(rule: CadenceRule, after: datetime) -> date:
    """The anchor of a rhythm that starts at ``after`` (set, or a pair formed): the local
    date of its first check-in after ``after``, so that every other week counts from the
    soonest of its weekday, not from a week whose day has gone by (set on a Wednesday,
    "every other Monday" starts in five days, not twelve). Only a biweekly rhythm reads
    it. A pair advanced from a check-in of its own (the dispatch pass, a skip) counts
    from that one instead: its callers say so."""
    if rule.cadence is not Cadence.BIWEEKLY:
        return after.astimezone(rule.zone).date()
    weekly = CadenceRule(Cadence.WEEKLY, rule.weekday, rule.local_time, rule.timezone)
    return next_checkin(weekly, after, after.date()).astimezone(rule.zone).date()


def occurrences(rule: CadenceRule, start: datetime, end: datetime, anchor: date) -> list[datetime]:
    """Every check-in strictly after ``start`` and up to and including ``end`` (the same
    "after" as :func:`next_checkin`), in order, as aware UTC datetimes."""
    _require_aware(end, "end")
    found: list[datetime] = []
    moment = next_checkin(rule, start, anchor)
    while moment <= end:
        found.append(moment)
        moment = next_checkin(rule, moment, anchor)
    return found


def next_weekly(after: datetime, weekday: int, local_time: str, timezone: str) -> datetime:
    """The first ``weekday`` at ``local_time`` in ``timezone`` strictly after ``after``."""
    rule = CadenceRule(Cadence.WEEKLY, weekday, local_time, timezone)
    return next_checkin(rule, after, anchor=after.date())


# --- quiet hours ------------------------------------------------------------------------


def in_quiet_hours(at: datetime, timezone: str) -> bool:
    """Whether ``at`` is between 21:00 and 08:00 local time in ``timezone``."""
    _require_aware(at, "at")
    local = at.astimezone(_zone(timezone)).time()
    return not QUIET_END <= local < QUIET_START


def outside_quiet_hours(at: datetime, timezone: str) -> datetime:
    """``at`` itself (as UTC) if it is between 08:00 and 21:00 in ``timezone``, else the
    next local 08:00 there (DST-safe, as above), as an aware UTC datetime."""
    _require_aware(at, "at")
    zone = _zone(timezone)
    local = at.astimezone(zone)
    if QUIET_END <= local.time() < QUIET_START:
        return at.astimezone(UTC)
    day = local.date() if local.time() < QUIET_END else local.date() + timedelta(days=1)
    morning = _wall_to_utc(day, QUIET_END, zone)
    while morning <= at:  # only if the tz data ever moved a morning backwards past ``at``
        day += timedelta(days=1)
        morning = _wall_to_utc(day, QUIET_END, zone)
    return morning


def held_until(at: datetime, timezone: str) -> str | None:
    """When a check-in at ``at`` falls in the quiet hours in ``timezone``: when its
    questions come there, said from ``at`` ("at 08:00", or "at 08:00 the next morning"
    for one in the evening). None when it falls in the day."""
    morning = outside_quiet_hours(at, timezone)
    if morning == at:
        return None
    zone = _zone(timezone)
    later = morning.astimezone(zone).date() != at.astimezone(zone).date()
    return f"at {morning.astimezone(zone):%H:%M}" + (" the next morning" if later else "")


# --- words ------------------------------------------------------------------------------


def describe(rule: CadenceRule) -> str:
    """The rule in words: "every Monday at 10:00 (Europe/Berlin)", "every other Thursday
    at 09:30 (UTC)", "the first Monday of each month at 10:00 (UTC)"."""
    day = WEEKDAYS[rule.weekday]
    at = f"{rule.at:%H:%M} ({rule.timezone})"
    if rule.cadence is Cadence.BIWEEKLY:
        return f"every other {day} at {at}"
    if rule.cadence is Cadence.MONTHLY:
        return f"the first {day} of each month at {at}"
    return f"every {day} at {at}"


def local_view(moment: datetime, timezone: str) -> str:
    """``moment`` as the person sees it: "Mon 30 Nov, 10:00 (Europe/Berlin)"."""
    local = moment.astimezone(_zone(timezone))
    return f"{local_day(moment, timezone)}, {local:%H:%M} ({timezone})"


def local_day(moment: datetime, timezone: str) -> str:
    """The day of ``moment`` in ``timezone``: "Mon 30 Nov"."""
    _require_aware(moment, "moment")
    local = moment.astimezone(_zone(timezone))
    return f"{_WEEKDAY_SHORT[local.weekday()]} {local.day} {_MONTH_SHORT[local.month - 1]}"


# --- parsing ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DaySaid:
    """A day as people type it, read without a clock: ``2027-01-10`` (a date), ``Wed 16
    Dec`` / ``december 16th`` (a day of the year, its year left out or given), or
    ``monday`` / ``next monday`` (a weekday), ``tomorrow`` or ``today`` (days ahead).
    :meth:`after` finds it in the calendar."""

    month: int | None = None
    day: int | None = None
    year: int | None = None
    weekday: int | None = None  # alone: the next such day; with a date: said with it
    ahead: int | None = None  # days after today: "tomorrow" is 1, "yesterday" -1

    def after(self, today: date) -> date:
        """The day meant, after ``today`` (the person's local date): a day of the year
        without its year is the next one; a weekday alone is the next one (a week on,
        when today is that weekday). Raises ValueError with a sentence for the person."""
        if self.ahead is not None:
            return today + timedelta(days=self.ahead)
        if self.month is None or self.day is None:
            assert self.weekday is not None
            return today + timedelta(days=(self.weekday - today.weekday() - 1) % 7 + 1)
        if self.year is not None:
            found = _calendar_day(self.year, self.month, self.day)
        else:  # the next one: this year's if it is ahead, else next year's
            this_year = _maybe_day(today.year, self.month, self.day)
            if this_year is not None and this_year > today:
                found = this_year
            elif this_year is not None and self.weekday == this_year.weekday():
                return this_year  # "Wed 25 Nov", gone by: the caller asks for a day ahead
            else:
                found = _calendar_day(today.year + 1, self.month, self.day)
        if self.weekday is not None and found.weekday() != self.weekday:
            raise ValueError(
                f"{found.day} {_MONTH_SHORT[found.month - 1]} {found.year} is a "
                f"{WEEKDAYS[found.weekday()]}, not a {WEEKDAYS[self.weekday]}"
            )
        return found


def _maybe_day(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:  # 29 Feb, in a year without one
        return None


def _calendar_day(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:  # the 28th or the 1st was not meant either: said, not guessed
        named = f"{day} {_MONTH_SHORT[month - 1]}"
        if (month, day) == (2, 29):
            raise ValueError(f"{year} has no {named}") from None
        raise ValueError(f"There is no {named}") from None


_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
_MONTH_WORDS = {
    **{name.lower(): number for number, name in enumerate(_MONTHS, 1)},
    **{name.lower(): number for number, name in enumerate(_MONTH_SHORT, 1)},
    "sept": 9,
}
_DAY_OF_MONTH = re.compile(r"(?P<day>[0-9]{1,2})(?:st|nd|rd|th)?")


def read_day(words: str) -> DaySaid | None:
    """``words`` as a day (:class:`DaySaid`), or None if they are not one. ISO dates,
    and any order of [weekday] [day] [month] [year] with "next", "the", "on", "of" and
    commas left out: the bot's own "Wed 16 Dec" reads back."""
    text = words.strip().lower()
    if text.rstrip(".") in _DAYS_AHEAD:
        return DaySaid(ahead=_DAYS_AHEAD[text.rstrip(".")])
    try:
        found = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        return DaySaid(found.month, found.day, found.year)
    month = day = year = weekday = None
    for token in text.replace(",", " ").split():
        token = token.rstrip(".")
        if token in ("next", "the", "on", "of"):
            continue
        if token in _MONTH_WORDS and month is None:
            month = _MONTH_WORDS[token]
        elif token in _WEEKDAY_WORDS and weekday is None:
            weekday = _WEEKDAY_WORDS[token]
        elif (number := _DAY_OF_MONTH.fullmatch(token)) and day is None:
            day = int(number["day"])
        elif len(token) == 4 and token.isdigit() and year is None:
            year = int(token)
        else:
            return None
    if (month is None) != (day is None) or (year is not None and month is None):
        return None
    if month is None and weekday is None:
        return None
    if day is not None and not 1 <= day <= 31:
        return None
    return DaySaid(month, day, year, weekday)


_DAYS_AHEAD = {"yesterday": -1, "today": 0, "tomorrow": 1, "tmrw": 1}


def _weekday_words() -> dict[str, int]:
    words = {"tues": 1, "weds": 2, "thur": 3, "thurs": 3}
    for number, name in enumerate(WEEKDAYS):
        words |= {name.lower(): number, name.lower() + "s": number, name[:3].lower(): number}
    return words


_WEEKDAY_WORDS = _weekday_words()
_CADENCE_WORDS = {
    "weekly": Cadence.WEEKLY,
    "biweekly": Cadence.BIWEEKLY,
    "bi-weekly": Cadence.BIWEEKLY,
    "fortnightly": Cadence.BIWEEKLY,
    "monthly": Cadence.MONTHLY,
}
_EVERY = {"every", "each"}
# Rhythms people ask for that the bot does not keep: named, so the answer lists the ones
# it does instead of not understanding.
_UNSUPPORTED_RHYTHMS = {"daily", "everyday", "weekdays", "hourly", "yearly", "annually"}
_DAY = {"day", "days", "weekday", "weekdays", "morning", "evening"}
RHYTHMS_OFFERED = "weekly, biweekly (every 2 weeks) or monthly"
_ONE = {"1", "one", "a"}
_TWO = {"2", "two", "other", "second", "2nd"}
_WEEK = {"week", "weeks"}
_MONTH = {"month", "months"}
# A day rather than a rhythm ("tomorrow"), and a part of a day rather than a time.
_ONE_DAY = {"today", "tomorrow", "tonight", "next"}
_PART_OF_DAY = {"morning", "afternoon", "evening", "lunchtime", "noonish"}
_DAY_RANGE = re.compile(r"([a-z]+)-([a-z]+)")
# What "twice" is per: "twice a month", "twice weekly".
_PER = _WEEK | _MONTH | {"weekly", "monthly"}
# "the first Monday of each month at 10:00 (UTC)", the bot's own words, read back.
_FILLERS = {"on", "at", "the", "of"}
# A monthly check-in is on the first of its weekday in the month (``_first_of_month``).
_FIRST = {"first", "1st"}
# Another week of the month, or a date: named, so the answer says what monthly means.
_MONTH_DAY = re.compile(r"(?:\d{1,2}(?:st|nd|rd|th)|second|third|fourth|fifth|last)")
_NUMBER_WORDS = {"three": 3, "four": 4, "five": 5, "six": 6, "third": 3, "3rd": 3, "4th": 4}

# Spoken names people often type instead of a zone, and where to point them instead.
_ABBREVIATIONS = {
    "et": "America/New_York",
    "est": "America/New_York",
    "edt": "America/New_York",
    "ct": "America/Chicago",
    "cst": "America/Chicago",
    "cdt": "America/Chicago",
    "mt": "America/Denver",
    "mst": "America/Denver or America/Phoenix",
    "mdt": "America/Denver",
    "pt": "America/Los_Angeles",
    "pst": "America/Los_Angeles",
    "pdt": "America/Los_Angeles",
    "akst": "America/Anchorage",
    "akdt": "America/Anchorage",
    "hst": "Pacific/Honolulu",
    "gmt": "Europe/London (or UTC for a clock without summer time)",
    "bst": "Europe/London",
    "wet": "Europe/Lisbon",
    "west": "Europe/Lisbon",
    "cet": "Europe/Berlin or Europe/Paris",
    "cest": "Europe/Berlin or Europe/Paris",
    "met": "Europe/Berlin or Europe/Paris",
    "mez": "Europe/Berlin",
    "mesz": "Europe/Berlin",
    "eet": "Europe/Athens or Europe/Helsinki",
    "eest": "Europe/Athens or Europe/Helsinki",
    "msk": "Europe/Moscow",
    "ist": "Asia/Kolkata, Europe/Dublin or Asia/Jerusalem",
    "sast": "Africa/Johannesburg",
    "wat": "Africa/Lagos",
    "eat": "Africa/Nairobi",
    "pkt": "Asia/Karachi",
    "sgt": "Asia/Singapore",
    "hkt": "Asia/Hong_Kong",
    "jst": "Asia/Tokyo",
    "kst": "Asia/Seoul",
    "awst": "Australia/Perth",
    "acst": "Australia/Adelaide",
    "acdt": "Australia/Adelaide",
    "aest": "Australia/Sydney or Australia/Brisbane",
    "aedt": "Australia/Sydney",
    "nzst": "Pacific/Auckland",
    "nzdt": "Pacific/Auckland",
    "brt": "America/Sao_Paulo",
}
_UTC_NAMES = {"utc", "etc/utc", "uct", "etc/uct", "universal", "etc/universal", "zulu", "etc/zulu"}
_OFFSET = re.compile(r"(?:utc|gmt)?[+-]\d{1,2}(?::?\d{2})?")
_TIME = re.compile(r"(\d+)(?:([:.h])(\d*))?(am|pm)?")
_AM_PM = re.compile(r"(?<![a-z])([ap])\.m\.?", re.IGNORECASE)


@cache
def timezone_names() -> dict[str, str]:
    """The timezones :func:`parse_cadence` accepts, by lower-case name: every zone with
    an Area/Location name (IANA links such as ``US/Eastern`` included) and ``UTC``, which
    its aliases (``Etc/UTC``, ``Zulu``, ...) also stand for."""
    names = {name.lower(): name for name in available_timezones() if "/" in name}
    names.update(dict.fromkeys(_UTC_NAMES, "UTC"))
    return names


@cache
def _legacy_names() -> frozenset[str]:
    return frozenset(name.lower() for name in available_timezones() if "/" not in name)


def _canonical_default(name: str) -> str:
    word = (name or "").strip().lower()
    return "UTC" if word in _UTC_NAMES else timezone_names().get(word, DEFAULT_TIMEZONE)


def _day_of_month(lowered: Sequence[str], i: int) -> bool:
    """Whether the bare number ``lowered[i]`` reads as a day of the month ("monthly 15",
    "monthly on the 15"): a number from 1 to 31, not after "at", in words that say
    monthly and name no weekday (with one, "monthly tue 15" more likely means 15:00).
    (A bare number is no time of day either: ``_parse_time``.)"""
    word = lowered[i]
    if not word.isdigit() or not 1 <= int(word) <= 31 or (i > 0 and lowered[i - 1] == "at"):
        return False
    if any(other in _WEEKDAY_WORDS for other in lowered):
        return False
    return any(_CADENCE_WORDS.get(other) == Cadence.MONTHLY or other in _MONTH for other in lowered)


def _parse_time(token: str, word: str, *, after_at: bool = False) -> time | None:
    """``word`` (lower case) as a time of day, None if it does not look like one. A bare
    number is an hour only ``after_at`` ("at 9"): alone, it could be anything."""
    if word in {"noon", "midday"}:
        return time(12, 0)
    if word == "midnight":
        return time(0, 0)
    match = _TIME.fullmatch(word)
    if match is None:
        return None
    hours_text, separator, minutes_text, meridiem = match.groups()
    if separator is None and meridiem is None and not after_at:
        raise CadenceError(f"'{as_typed(token)}' is not a time: write it like 09:30, 5pm or 17h")
    if separator in {":", "."} and len(minutes_text) != 2:
        raise CadenceError(f"'{as_typed(token)}' is not a time: write the minutes with two digits")
    if separator == "h" and minutes_text and len(minutes_text) != 2:
        raise CadenceError(f"'{as_typed(token)}' is not a time: write the minutes with two digits")
    hours, minutes = int(hours_text), int(minutes_text or 0)
    if meridiem is not None:
        if not 1 <= hours <= 12:
            raise CadenceError(
                f"'{as_typed(token)}' is not a time: with am/pm the hour goes from 1 to 12"
            )
        hours = hours % 12 + (12 if meridiem == "pm" else 0)
    if hours > 23:
        raise CadenceError(f"'{as_typed(token)}' is not a time of day: hours go up to 23")
    if minutes > 59:
        raise CadenceError(f"'{as_typed(token)}' is not a time of day: minutes go up to 59")
    return time(hours, minutes)


def _parse_timezone(token: str, word: str) -> str | None:
    """``token`` as a timezone name, None if it does not look like one."""
    names = timezone_names()
    if word in _UTC_NAMES:
        return "UTC"
    if word in names:
        return names[word]
    if word in _ABBREVIATIONS:
        raise CadenceError(
            f"'{as_typed(token)}' is an abbreviation, which can mean different places and often "
            f"ignores summer time; use a city name like {_ABBREVIATIONS[word]}"
        )
    if _OFFSET.fullmatch(word):
        raise CadenceError(
            f"'{as_typed(token)}' is a fixed offset, which ignores summer time; "
            "use a city name like Europe/Berlin or America/New_York"
        )
    if word in _legacy_names():
        raise CadenceError(
            f"'{as_typed(token)}' is an old timezone alias; use an Area/City name like "
            "Europe/Berlin or America/New_York"
        )
    if "/" in word:
        close = get_close_matches(word, names, n=1, cutoff=0.75)
        hint = f" (did you mean {names[close[0]]}?)" if close else ""
        raise CadenceError(f"I don't know the timezone '{as_typed(token)}'{hint}")
    return None


def parse_timezone(value: str) -> str:
    """A timezone someone typed, as the IANA name to store; CadenceError says why not."""
    token = value.strip()
    words = token.split()
    if len(words) > 1 and (spaced := _spaced_zone(words, 0)) is not None:
        raise _spaced_zone_error(spaced[1], spaced[0])
    if len(words) > 1 and all(_names_a_zone(word) for word in words):
        raise CadenceError(f"Name one timezone, not {len(words)}: the one your clock keeps")
    zone = _parse_timezone(token, token.lower())
    if zone is not None:
        return zone
    # Only a timezone is asked for here: a city alone ("London", "new york") is pointed
    # to its zone, and anything else is named as no timezone.
    cities = _zones_of_city(token.lower().replace(" ", "_"))
    meant = f" (did you mean {' or '.join(cities)}?)" if cities else ""
    raise CadenceError(f"I don't know the timezone '{as_typed(token)}'{meant}")


def _names_a_zone(word: str) -> bool:
    try:
        return _parse_timezone(word, word.lower()) is not None
    except CadenceError:
        return False


def _zones_of_city(word: str) -> list[str]:
    """The zones whose city is ``word`` (lower case, underscores for spaces)."""
    return sorted(
        name for lower, name in timezone_names().items() if lower.rsplit("/", 1)[-1] == word
    )


def _unknown_word(token: str, word: str, after: Sequence[str] = ()) -> CadenceError:
    """Why ``token`` is not understood, with what it was likely meant to be: a word of
    the rhythm spelled another way, or a city for its timezone, of one word ("berlin")
    or of the words after it too ("new york", "ho chi minh")."""
    vocabulary = [*_WEEKDAY_WORDS, *_CADENCE_WORDS, "noon", "every"]
    close = get_close_matches(word, vocabulary, n=1, cutoff=0.75)
    if close:
        return CadenceError(f"I don't understand '{as_typed(token)}' (did you mean '{close[0]}'?)")
    for count in range(len(after), -1, -1):  # the longest city first
        city = [token, *after[:count]]
        if cities := _zones_of_city("_".join(city).lower()):
            meant = " or ".join(cities)
            said = as_typed(" ".join(city))
            return CadenceError(f"I don't understand '{said}' (did you mean {meant}?)")
    return CadenceError(f"I don't understand '{as_typed(token)}'")


def _tokens(words: str) -> list[str]:
    text = _AM_PM.sub(lambda m: m[1] + "m", words).replace(",", " ")
    # "(Europe/Berlin)" as the bot writes it: the parentheses are not part of the zone.
    tokens = [token.rstrip(".;!").strip("()") for token in text.split()]
    tokens = [token for token in tokens if token]
    merged: list[str] = []
    for token in tokens:  # "5 pm" -> "5pm"
        if merged and token.lower() in {"am", "pm"} and merged[-1][:1].isdigit():
            merged[-1] += token
        else:
            merged.append(token)
    return merged


def _every(tokens: list[str], words: list[str], i: int) -> tuple[Cadence | None, int]:
    """Read "every ..." at ``i``: the cadence it names (None for "every thursday", where
    it only introduces the weekday) and how many tokens it used."""
    rest = words[i + 1 : i + 4]
    if rest[:1] and rest[0] in _DAY:
        raise _unsupported_rhythm(" ".join(tokens[i : i + 2]))
    if rest[:1] and rest[0] in _WEEKDAY_WORDS:
        return None, 1
    if rest[:1] == ["fortnight"]:
        return Cadence.BIWEEKLY, 2
    if rest[:1] and rest[0] in _WEEK:
        return Cadence.WEEKLY, 2
    if rest[:1] and rest[0] in _MONTH:
        return Cadence.MONTHLY, 2
    if len(rest) >= 2 and rest[0] in _ONE | _TWO:
        every_two = rest[0] in _TWO
        if rest[1] in _WEEK:
            return (Cadence.BIWEEKLY if every_two else Cadence.WEEKLY), 3
        if rest[1] in _MONTH and not every_two:
            return Cadence.MONTHLY, 3
        if rest[1] in _WEEKDAY_WORDS and every_two and rest[0] != "2":
            return Cadence.BIWEEKLY, 2  # "every other thursday"
    phrase = as_typed(" ".join(tokens[i : i + 3]))
    counted = rest[:1] and (rest[0].isdigit() or rest[0] in _NUMBER_WORDS or rest[0] in _TWO)
    if counted and len(rest) >= 2 and rest[1] in _WEEK | _MONTH:
        raise CadenceError(
            f"'{phrase}' is not a rhythm I can keep: choose weekly, every 2 weeks or monthly"
        )
    raise CadenceError(f"I don't understand '{phrase}': say weekly, every 2 weeks or monthly")


def _twice(tokens: list[str], after: list[str]) -> CadenceError:
    """ "twice a month" (nearest: every 2 weeks), "twice a week": rhythms not kept.
    ``tokens``: "twice" and the two after it; ``after``: those two, lower case."""
    per = next((n for n, word in enumerate(after) if word in _PER), None)
    said = " ".join(tokens[: per + 2] if per is not None else tokens[:1])
    if per is not None and after[per] in _MONTH | {"monthly"}:
        return CadenceError(
            f"I can't keep '{as_typed(said)}' exactly: the nearest is biweekly (every 2 weeks), "
            "like `/mentor cadence biweekly`"
        )
    return _unsupported_rhythm(said)


def _unsupported_rhythm(said: str) -> CadenceError:
    return CadenceError(f"I can't keep '{as_typed(said)}' check-ins: they can be {RHYTHMS_OFFERED}")


def _spaced_zone(tokens: list[str], i: int) -> tuple[str, str] | None:
    """The zone meant by ``America/New York`` (a zone name typed with spaces for its
    underscores) starting at token ``i``, and the words typed; None if there is none."""
    if "/" not in tokens[i]:
        return None
    names = timezone_names()
    for end in range(i + 2, min(i + 4, len(tokens)) + 1):
        joined = "_".join(tokens[i:end]).lower()
        if joined in names:
            return names[joined], " ".join(tokens[i:end])
    return None


def _spaced_zone_error(typed: str, zone: str) -> CadenceError:
    return CadenceError(
        f"I don't know the timezone '{as_typed(typed)}' (did you mean {zone}? Timezone names are "
        "written with _ instead of spaces)"
    )


def parse_cadence(
    words: str, default_timezone: str, current: CadenceRule | None = None
) -> CadenceRule:
    """Read ``[weekly|biweekly|monthly] [weekday] [HH:MM] [timezone]`` in any order and
    case, friendly forms included ("every 2 weeks", "thu 9:30", "mon 5pm",
    "europe/berlin"). Missing parts keep ``current``'s (a pair's rule being changed:
    "biweekly" changes the rhythm only), else default to weekly, Monday and 10:00. The
    timezone: the one said; else, with no time said, ``current``'s; else
    ``default_timezone`` (the typer's: a time typed is their clock; UTC if it is empty
    or not a zone name this module accepts).

    Timezones: Area/City names (IANA links such as ``US/Eastern`` too), matched without
    regard to case, and ``UTC``. Abbreviations ("CET", "EST", "PST", "IST", "GMT") are
    refused with a city to use instead, even those that are keys in the tz database:
    they name different places, and the database's "EST" is a fixed UTC-5 without summer
    time, not New York time. Fixed offsets ("UTC+2") and old aliases ("Japan",
    "EST5EDT") are refused the same way.

    Saying the same thing twice ("biweekly every other thu") is fine; two different
    cadences, weekdays, times or timezones are refused, as is a time in the quiet hours.
    """
    tokens = _tokens(words)
    lowered = [token.lower() for token in tokens]
    cadence: tuple[Cadence, str] | None = None
    weekday: tuple[int, str] | None = None
    at: tuple[time, str] | None = None
    zone: tuple[str, str] | None = None
    i = 0
    while i < len(tokens):
        token, word = tokens[i], lowered[i]
        used = 1
        if word in _UNSUPPORTED_RHYTHMS:
            raise _unsupported_rhythm(token)
        if word == "twice":
            raise _twice(tokens[i : i + 3], lowered[i + 1 : i + 3])
        if word in _ONE_DAY:
            said = " ".join(tokens[i : i + 2]) if word == "next" else token  # "next week"
            raise CadenceError(
                f"Check-ins repeat on a weekday, so I can't keep '{as_typed(said)}': name the day, "
                "like `weekly thu`. For a check-in now, `/mentor checkin` starts one"
            )
        if word in _PART_OF_DAY:
            raise CadenceError(
                f"Say the time for '{as_typed(token)}' as a clock time, like 09:30 or 2pm"
            )
        if (days := _DAY_RANGE.fullmatch(word)) and {days[1], days[2]} <= _WEEKDAY_WORDS.keys():
            raise _unsupported_rhythm(token)  # "mon-fri": every weekday
        if (spaced := _spaced_zone(tokens, i)) is not None:
            raise _spaced_zone_error(spaced[1], spaced[0])
        if word in _CADENCE_WORDS:
            cadence = _once("rhythm", cadence, _CADENCE_WORDS[word], token)
        elif word in _EVERY:
            every, used = _every(tokens, lowered, i)
            if every is not None:
                cadence = _once("rhythm", cadence, every, " ".join(tokens[i : i + used]))
        elif word in _WEEKDAY_WORDS:
            weekday = _once("day", weekday, _WEEKDAY_WORDS[word], token)
        elif word in _FIRST or word in _MONTH:  # "the first Monday of the month"
            cadence = _once("rhythm", cadence, Cadence.MONTHLY, token)
        elif _MONTH_DAY.fullmatch(word) or _day_of_month(lowered, i):
            raise CadenceError(
                f"Monthly check-ins are on the first of a weekday in each month, so I can't "
                f"keep '{as_typed(token)}': say which weekday, like `monthly tue` for the first "
                "Tuesday"
            )
        elif word in _FILLERS:
            pass
        elif (
            local_time := _parse_time(token, word, after_at=i > 0 and lowered[i - 1] == "at")
        ) is not None:
            at = _once("time", at, local_time, token)
        elif (name := _parse_timezone(token, word)) is not None:
            zone = _once("timezone", zone, name, token)
        else:
            raise _unknown_word(token, word, tokens[i + 1 : i + 3])
        i += used

    kept = current.local_time if current else DEFAULT_LOCAL_TIME
    agreed = at[0] if at else parse_local_time(kept)
    if not QUIET_END <= agreed < QUIET_START:
        raise CadenceError(f"{agreed:%H:%M} is in the quiet hours: {QUIET_HOURS_REASON}")
    if zone is not None:
        timezone = zone[0]
    elif at is None and current is not None:
        timezone = current.timezone
    else:
        timezone = _canonical_default(default_timezone)
    return CadenceRule(
        cadence=cadence[0] if cadence else (current.cadence if current else DEFAULT_CADENCE),
        weekday=weekday[0] if weekday else (current.weekday if current else DEFAULT_WEEKDAY),
        local_time=f"{agreed:%H:%M}",
        timezone=timezone,
    )


def _once(kind: str, chosen: tuple[_T, str] | None, value: _T, said: str) -> tuple[_T, str]:
    """Remember ``value`` (said as ``said``) unless a different ``kind`` was chosen."""
    if chosen is None:
        return value, said
    if chosen[0] != value:
        first, then = as_typed(chosen[1]), as_typed(said)
        raise CadenceError(f"Please pick one {kind}, not both '{first}' and '{then}'")
    return chosen
