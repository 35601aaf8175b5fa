"""Bulk import of pairs that already agreed to work together (``mentorbot pairs import``).

The file is CSV with the header
``platform,workspace_id,mentor_id,mentee_id,cadence,weekday,time,timezone``; the last
four columns may be left out or empty for the defaults (weekly, Monday, 10:00, UTC).
Each valid row becomes an *active* pair, scheduled as if both people had just accepted
in the chat; a row whose two people already have a live pair (either way round) changes
nothing, so importing the same file twice is harmless. Every other row is reported with
its line number and the reason.

Rows are written in chunks, one transaction per chunk and a handful of set-based
statements per chunk (no statement per row): that is what makes 100k rows take seconds.
A chunk that was committed stays even if a later one fails; running the import again
finishes the job, because it is idempotent.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, TypeVar, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    TableClause,
    select,
)
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from bot.cadence import (
    DEFAULT_CADENCE,
    DEFAULT_LOCAL_TIME,
    DEFAULT_TIMEZONE,
    DEFAULT_WEEKDAY,
    WEEKDAYS,
    Cadence,
    CadenceError,
    CadenceRule,
    parse_cadence,
    parse_local_time,
    parse_timezone,
)
from bot.escaping import escape_controls
from bot.ids import ID_MAX_CHARS
from bot.numbers import whole_number
from bot.partners import pair_counts
from bot.refs import Platform
from bot.rhythm import schedule_anniversary, schedule_next
from bot.storage.bulk import insert_ignoring_duplicates, insert_tuples, one_of, with_keys
from bot.storage.database import Database
from bot.storage.models import LIVE_PAIR_STATES, Base, Pair, PairState
from bot.turn import DEFAULT_MAX_PAIRS_PER_PERSON

COLUMNS = (
    "platform",
    "workspace_id",
    "mentor_id",
    "mentee_id",
    "cadence",
    "weekday",
    "time",
    "timezone",
)
REQUIRED_COLUMNS = COLUMNS[:4]
MAX_ID_LENGTH = ID_MAX_CHARS  # the same rule as ids typed in commands (bot/ids.py)
# Rows per transaction. Smaller chunks hold fewer rows in flight: 10k pairs on SQLite
# measured 4.3 MiB of RSS growth at 500 against 7.4 MiB at 2,000, and 0.60 s against 0.51.
DEFAULT_CHUNK = 500

_WORKSPACES: Table = Base.metadata.tables["workspaces"]
_MEMBERS: Table = Base.metadata.tables["members"]
_PAIRS: Table = Base.metadata.tables["pairs"]
_LIVE = [state.value for state in LIVE_PAIR_STATES]


Rows = Iterable[Mapping[str, str | None]] | IO[str]


@dataclass(frozen=True)
class Rejected:
    """A row that was not imported. ``line`` is the CSV line (the header is line 1);
    ``reason`` is why, and ``more`` the row's other problems, if it has several."""

    line: int
    reason: str
    more: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Reasons quote the file's values; they are shown on the operator's terminal.
        object.__setattr__(self, "reason", escape_controls(self.reason))
        object.__setattr__(self, "more", tuple(escape_controls(more) for more in self.more))

    @classmethod
    def of(cls, line: int, problems: Sequence[str]) -> Rejected:
        return cls(line, problems[0], tuple(problems[1:]))

    @property
    def problems(self) -> tuple[str, ...]:
        return (self.reason, *self.more)


@dataclass
class ImportReport:
    created: int = 0
    # Rows whose two people already had a live pair (either way round), in the database
    # or earlier in the same file: left unchanged.
    already: int = 0
    rejected: list[Rejected] = field(default_factory=list)


async def import_pairs(
    database: Database,
    rows: Rows,
    now: datetime,
    *,
    progress: Callable[[int], None] | None = None,
    chunk: int = DEFAULT_CHUNK,
    max_pairs_per_person: int | None = DEFAULT_MAX_PAIRS_PER_PERSON,
) -> ImportReport:
    """Create the active pairs ``rows`` describe, as of ``now`` (an aware datetime).

    ``rows`` is a text stream of CSV with its header (open files with
    ``encoding="utf-8-sig", newline=""``), or mappings from column names to values (as
    :class:`csv.DictReader` gives them; line numbers then count from 2). ``progress`` is
    called after each chunk with the number of rows read so far. A row that would put
    someone in more than ``max_pairs_per_person`` live pairs is rejected (None: no cap).
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    if chunk < 1:
        raise ValueError("chunk must be at least 1")
    report = ImportReport()
    records = csv_records(cast(IO[str], rows)) if hasattr(rows, "read") else mapping_records(rows)
    checker = _RowChecker()
    writer = _Writer(database, now, max_pairs_per_person)
    # Couples seen earlier in this chunk: (platform, workspace, frozenset of the two ids).
    # Only this chunk's: those of earlier chunks are in the database by now, where the
    # writer's live-couple look-up counts them as already there, so memory stays flat
    # however long the file is.
    seen: set[tuple[str, str, frozenset[str]]] = set()
    pending: list[_Row] = []
    read = 0

    async def flush() -> None:
        if pending:
            async with database.transaction() as session:
                created, already, refused = await writer.write(session, pending)
            report.created += created
            report.already += already
            report.rejected += refused
            pending.clear()
        seen.clear()
        if progress is not None:
            progress(read)

    for record in records:
        if isinstance(record, Rejected) and record.line == 1:
            report.rejected.append(record)  # the header: no row can be read without it
            break
        read += 1
        if isinstance(record, Rejected):
            report.rejected.append(record)
        else:
            line, values = record
            checked = checker.check(line, values)
            if isinstance(checked, Rejected):
                report.rejected.append(checked)
            elif checked.couple in seen:
                report.already += 1
            else:
                seen.add(checked.couple)
                pending.append(checked)
        if read % chunk == 0:
            await flush()
    if read % chunk or read == 0:
        await flush()
    return report


# --- reading --------------------------------------------------------------------------


_Record = tuple[int, dict[str, str]] | Rejected


def _header_problem(
    names: Sequence[str],
    columns: Sequence[str] = COLUMNS,
    required: Sequence[str] = REQUIRED_COLUMNS,
) -> str | None:
    missing = [name for name in required if name not in names]
    unknown = [name for name in names if name not in columns]
    doubled = sorted({name for name in names if names.count(name) > 1})
    problems = []
    if missing:
        verb = "are" if len(missing) > 1 else "is"
        problems.append(
            f"column{'s' if len(missing) > 1 else ''} {', '.join(missing)} {verb} missing"
        )
    if unknown:
        shown = ", ".join(repr(name) for name in unknown)
        problems.append(f"unknown column{'s' if len(unknown) > 1 else ''} {shown}")
    if doubled:
        problems.append(f"column{'s' if len(doubled) > 1 else ''} {', '.join(doubled)} twice")
    if not problems:
        return None
    return f"the header is wrong: {'; '.join(problems)} (expected: {','.join(columns)})"


def _column_name(raw: str) -> str:
    return raw.strip().lstrip("\ufeff").strip().lower()


def csv_records(
    stream: IO[str],
    columns: Sequence[str] = COLUMNS,
    required: Sequence[str] = REQUIRED_COLUMNS,
) -> Iterator[_Record]:
    """Each CSV row as (line, {column: value}), or why it cannot be read; line 1 is the
    header (a rejection there ends the file). Shared with the people import."""
    reader = csv.reader(stream, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as error:
        yield Rejected(1, f"the header is not readable CSV: {error}")
        return
    except UnicodeDecodeError:
        yield Rejected(1, "the file is not UTF-8 text")
        return
    if header is None:
        yield Rejected(1, f"the file is empty; it needs the header {','.join(columns)}")
        return
    names = [_column_name(name) for name in header]
    problem = _header_problem(names, columns, required)
    if problem is not None:
        yield Rejected(1, problem)
        return
    last = reader.line_num
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield Rejected(last + 1, f"not readable as CSV: {error}")
            last = reader.line_num
            continue
        except UnicodeDecodeError:
            yield Rejected(last + 1, "not UTF-8 text; nothing after it was read")
            return
        line, last = last + 1, reader.line_num
        if not any(value.strip() for value in fields):
            continue  # a blank line, or one with only commas
        if len(fields) != len(names):
            yield Rejected(line, f"has {len(fields)} fields but the header has {len(names)}")
            continue
        yield line, dict(zip(names, fields, strict=True))


def mapping_records(
    rows: Iterable[Mapping[str, str | None]],
    columns: Sequence[str] = COLUMNS,
    required: Sequence[str] = REQUIRED_COLUMNS,
) -> Iterator[_Record]:
    checked_header = False
    for index, row in enumerate(rows):
        line = index + 2
        if not checked_header:
            names = [_column_name(name) for name in row if name is not None]
            problem = _header_problem(names, columns, required)
            if problem is not None:
                yield Rejected(1, problem)
                return
            checked_header = True
        if None in row:  # csv.DictReader puts surplus fields under the key None
            yield Rejected(line, "has more fields than the header")
            continue
        values = {_column_name(name): value for name, value in row.items() if name is not None}
        if any(value is None for value in values.values()):
            yield Rejected(line, "has fewer fields than the header")
            continue
        fields = {name: value or "" for name, value in values.items()}
        if not any(value.strip() for value in fields.values()):
            continue
        yield line, fields


# --- checking -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    line: int
    platform: str
    workspace: str
    mentor: str
    mentee: str
    rule: CadenceRule

    @property
    def couple(self) -> tuple[str, str, frozenset[str]]:
        return self.platform, self.workspace, frozenset((self.mentor, self.mentee))


PLATFORMS = {platform.value: platform.value for platform in Platform}
PLATFORM_LIST = ", ".join(platform.value for platform in Platform)


class _RowChecker:
    """Checks rows; remembers the verdict on each cadence seen, since a big file
    repeats a few cadences many times."""

    def __init__(self) -> None:
        self._rules: dict[tuple[str, str, str, str], CadenceRule | tuple[str, ...]] = {}

    def check(self, line: int, values: Mapping[str, str]) -> _Row | Rejected:
        """The row's pair, or every reason it cannot be imported (all of them, so one
        import shows all that needs fixing in a row)."""
        problems: list[str] = []
        platform, ids = platform_and_ids(
            values, ("workspace_id", "mentor_id", "mentee_id"), problems
        )
        workspace, mentor, mentee = ids
        if mentor and mentor == mentee:
            problems.append(f"mentor and mentee are the same person ('{mentor}')")
        key = (
            values.get("cadence", "").strip(),
            values.get("weekday", "").strip(),
            values.get("time", "").strip(),
            values.get("timezone", "").strip(),
        )
        rule = self._rules.get(key)
        if rule is None:
            rule = self._rules[key] = _rule(*key)
        if isinstance(rule, tuple):
            problems += rule
        if problems or platform is None or isinstance(rule, tuple):
            return Rejected.of(line, problems)
        return _Row(line, platform, workspace, mentor, mentee, rule)


def platform_and_ids(
    values: Mapping[str, str], id_columns: Sequence[str], problems: list[str]
) -> tuple[str | None, list[str]]:
    """A row's platform (None when it names none we know) and its ids in ``id_columns``,
    as written less spaces around them; what is wrong with them is added to ``problems``.
    Shared with the people import."""
    raw_platform = values["platform"].strip()
    platform = PLATFORMS.get(raw_platform.lower())
    if platform is None:
        shown = f"unknown platform '{raw_platform}'" if raw_platform else "no platform"
        problems.append(f"{shown} (use {PLATFORM_LIST})")
    ids = [values[name].strip() for name in id_columns]
    problems += [
        problem
        for name, value in zip(id_columns, ids, strict=True)
        if (problem := id_problem(name, value)) is not None
    ]
    return platform, ids


def id_problem(name: str, value: str) -> str | None:
    if not value:
        return f"no {name}"
    if len(value) > MAX_ID_LENGTH:
        return f"{name} is {len(value)} characters long; ids have at most {MAX_ID_LENGTH}"
    if " " in value or not value.isprintable():  # other spaces are not printable
        return f"{name} {value!r} has spaces or control characters"
    if value.startswith(("@", "<@", "<#")):
        return f"{name} '{value}' is a mention; write the bare id"
    return None


_T = TypeVar("_T")


class Invalid(Exception):
    """A field that cannot be used; the argument is the reason shown for its row."""


def _rule(
    cadence: str, weekday: str, local_time: str, timezone: str
) -> CadenceRule | tuple[str, ...]:
    """The rule these four fields describe, or why they describe none. Each field is
    read as its own kind (so a weekday in the time column is an error, not a weekday);
    then the whole goes through :func:`~bot.cadence.parse_cadence`, which applies the
    rules for what people may choose in the chat (no check-ins in the quiet hours)."""
    problems: list[str] = []

    def read(reader: Callable[[str], _T], value: str, default: _T) -> _T:
        try:
            return reader(value) if value else default
        except Invalid as invalid:
            problems.append(str(invalid))
            return default

    rhythm = read(_cadence, cadence, DEFAULT_CADENCE)
    day = read(_weekday, weekday, DEFAULT_WEEKDAY)
    at = read(_local_time, local_time, DEFAULT_LOCAL_TIME)
    zone = read(timezone_name, timezone, DEFAULT_TIMEZONE)
    if problems:
        return tuple(problems)
    try:
        return parse_cadence(f"{rhythm.value} {WEEKDAYS[day]} {at} {zone}", DEFAULT_TIMEZONE)
    except CadenceError as error:
        return (error.reason,)


def _cadence(value: str) -> Cadence:
    try:
        return Cadence(value.lower())
    except ValueError:
        choices = ", ".join(cadence.value for cadence in Cadence)
        raise Invalid(f"cadence '{value}' is not one of {choices}") from None


def _weekday(value: str) -> int:
    """0 (Monday) to 6 (Sunday), from a number or a name ("thu", "Thursday")."""
    if value.isdigit():
        number = whole_number(value, low=0, high=6)
        if number is not None:
            return number
        raise Invalid(f"weekday {value[:40]} is not 0 (Monday) to 6 (Sunday)")
    word = value.lower()
    for number, name in enumerate(WEEKDAYS):
        if len(word) >= 3 and name.lower().startswith(word):
            return number
    raise Invalid(
        f"weekday '{value}' is not a day: write mon ... sun, the full name, "
        "or 0 (Monday) to 6 (Sunday)"
    )


def _local_time(value: str) -> str:
    try:
        return f"{parse_local_time(value):%H:%M}"
    except CadenceError as error:
        raise Invalid(f"time: {error.reason} (write HH:MM, 24-hour)") from None


def timezone_name(value: str) -> str:
    """The canonical name of a timezone the chat accepts, else why not: the chat's own
    explanation (abbreviations, fixed offsets, a city's zone, "did you mean"), as
    `/mentor config timezone` gives it."""
    try:
        return parse_timezone(value)
    except CadenceError as error:
        raise Invalid(f"timezone: {error.reason}") from None


# --- writing --------------------------------------------------------------------------


_SCHEDULE_COLUMNS = (
    "cadence",
    "weekday",
    "local_time",
    "timezone",
    "cadence_anchor",
    "next_checkin_at",
    "heads_up_at",
    "next_anniversary_at",
)


@dataclass(frozen=True)
class _Target:
    """A table to insert into, with untyped columns so that values go to the driver as
    given, and the values (already converted) that every inserted row shares."""

    table: TableClause
    shared: dict[str, Any]


class _Writer:
    """Stores chunks of checked rows with a few set-based statements each.

    Everything but a pair's three ids is the same for all pairs with the same cadence
    (the import has one ``now``): it is worked out once per cadence, by the functions
    that schedule a pair accepted in the chat, and converted for the driver once, by the
    columns' own types, instead of once per row.
    """

    def __init__(self, database: Database, now: datetime, max_pairs: int | None) -> None:
        self._max_pairs = max_pairs
        self._dialect = database.engine.dialect
        self._is_sqlite = database.is_sqlite
        self._now = now
        self._workspaces = self._target(_WORKSPACES, ("platform", "external_id"), now)
        self._members = self._target(_MEMBERS, ("workspace_id", "external_id"), now)
        self._pairs = self._target(
            _PAIRS,
            ("workspace_id", "mentor_id", "mentee_id", *_SCHEDULE_COLUMNS),
            now,
            proposed_by_id=None,
            state=PairState.ACTIVE.value,
            mentor_accepted=True,
            mentee_accepted=True,
            streak=0,
            anniversaries_reached=0,
            activated_at=now,
        )
        self._schedules: dict[CadenceRule, dict[str, Any]] = {}

    def _target(
        self, table: Table, per_row: tuple[str, ...], now: datetime, **shared: Any
    ) -> _Target:
        values: dict[str, Any] = {"created_at": now, **shared}
        # Column defaults are applied by the typed table only: give them here, so a
        # column added later with a default needs no change in this module.
        for column in table.columns:
            if column.primary_key or column.name in values or column.name in per_row:
                continue
            if isinstance(column.default, ScalarElementColumnDefault):
                values[column.name] = column.default.arg
            elif column.default is not None:  # one value per row: give it in ``per_row``
                raise TypeError(f"{table.name}.{column.name}: a default the import can't give")
        names = ("id", *per_row, *values)
        plain = sql_table(table.name, *(sql_column(name) for name in names))
        return _Target(plain, {name: self._bind(table, name, v) for name, v in values.items()})

    def _bind(self, table: Table, name: str, value: Any) -> Any:
        column_type = table.c[name].type.dialect_impl(self._dialect)
        process = column_type.bind_processor(self._dialect)
        return value if process is None else process(value)

    async def _insert(
        self,
        session: AsyncSession,
        table: TableClause,
        rows: list[dict[str, Any]],
        returning: tuple[str, ...],
    ) -> list[tuple[Any, ...]]:
        """Insert ``rows`` (values converted already, the same keys in the same order),
        skipping those a unique index holds; the ``returning`` columns of those stored."""
        if not rows:
            return []
        if self._is_sqlite:
            names = list(rows[0])
            values = [tuple(row[name] for name in names) for row in rows]
            return await insert_tuples(
                session,
                table.name,
                names,
                values,
                returning=returning,
                ignore_duplicates=True,
            )
        insert = insert_ignoring_duplicates("postgresql", table).returning(
            *(table.c[name] for name in returning)
        )
        return [tuple(row) for row in await session.execute(insert, rows)]

    def _schedule(self, rule: CadenceRule) -> dict[str, Any]:
        """A new active pair's rhythm columns, set by the same functions that schedule
        a pair accepted in the chat (run on a scratch Pair that is never stored)."""
        found = self._schedules.get(rule)
        if found is not None:
            return found
        pair = Pair(
            cadence=rule.cadence.value,
            weekday=rule.weekday,
            local_time=rule.local_time,
            timezone=rule.timezone,
            activated_at=self._now,
            anniversaries_reached=0,
        )
        schedule_next(pair, self._now, self._now)
        schedule_anniversary(pair)
        columns = {
            name: self._bind(_PAIRS, name, getattr(pair, name)) for name in _SCHEDULE_COLUMNS
        }
        self._schedules[rule] = columns = {**self._pairs.shared, **columns}
        return columns

    async def write(
        self, session: AsyncSession, rows: list[_Row]
    ) -> tuple[int, int, list[Rejected]]:
        """Store one chunk: (pairs created, rows whose two people already had a pair,
        rows refused because someone would be in too many pairs)."""
        workspaces = await self._ensure(
            session,
            _WORKSPACES,
            self._workspaces,
            ("platform", "external_id"),
            {(row.platform, row.workspace) for row in rows},
        )
        members = await self._ensure(
            session,
            _MEMBERS,
            self._members,
            ("workspace_id", "external_id"),
            {
                (workspaces[row.platform, row.workspace], person)
                for row in rows
                for person in (row.mentor, row.mentee)
            },
        )

        # Every live pair between two people of this chunk has one of them as mentor.
        query = select(_PAIRS.c.mentor_id, _PAIRS.c.mentee_id).where(
            self._one_of(_PAIRS.c.mentor_id, sorted(set(members.values()))),
            _PAIRS.c.state.in_(_LIVE),
        )
        live = {frozenset(couple) for couple in await session.execute(query)}

        counts = await self._pair_counts(session, sorted(set(members.values())))
        refused: list[Rejected] = []
        values: list[dict[str, Any]] = []
        for row in rows:
            workspace_id = workspaces[row.platform, row.workspace]
            mentor_id = members[workspace_id, row.mentor]
            mentee_id = members[workspace_id, row.mentee]
            if frozenset((mentor_id, mentee_id)) in live:
                continue
            full = [
                person
                for person, member_id in ((row.mentor, mentor_id), (row.mentee, mentee_id))
                if self._max_pairs is not None and counts.get(member_id, 0) >= self._max_pairs
            ]
            if full:
                refused.append(
                    Rejected(
                        row.line,
                        f"{' and '.join(full)} would be in more than {self._max_pairs} pairs "
                        "(MAX_PAIRS_PER_PERSON)",
                    )
                )
                continue
            counts[mentor_id] = counts.get(mentor_id, 0) + 1
            counts[mentee_id] = counts.get(mentee_id, 0) + 1
            values.append(
                {
                    "workspace_id": workspace_id,
                    "mentor_id": mentor_id,
                    "mentee_id": mentee_id,
                    **self._schedule(row.rule),
                }
            )
        values.sort(key=lambda value: (value["mentor_id"], value["mentee_id"]))
        # The partial unique index uq_pairs_live_couple skips a pair another
        # instance created since the lookup above; what is returned counts what was stored.
        created = len(await self._insert(session, self._pairs.table, values, ("id",)))
        return created, len(rows) - created - len(refused), refused

    async def _pair_counts(self, session: AsyncSession, member_ids: list[int]) -> dict[int, int]:
        """Live pairs per member (either role); nothing when there is no cap."""
        if self._max_pairs is None or not member_ids:
            return {}
        return await pair_counts(session, member_ids, LIVE_PAIR_STATES)

    async def _ensure(
        self,
        session: AsyncSession,
        table: Table,
        target: _Target,
        key_columns: tuple[str, str],
        keys: set[tuple[Any, str]],
    ) -> dict[tuple[Any, str], int]:
        """The ids of the rows with these natural keys, inserting the missing ones."""
        found = await self._lookup(session, table, key_columns, keys)
        # In key order, as is the pairs' insert: two imports at once then wait for each
        # other's rows in the same order instead of deadlocking on PostgreSQL.
        missing = sorted(keys - found.keys())
        if missing:
            first, second = key_columns
            rows = [{first: a, second: b, **target.shared} for a, b in missing]
            for id_, a, b in await self._insert(session, target.table, rows, ("id", *key_columns)):
                found[a, b] = id_
            # Rows another instance inserted at the same moment were skipped.
            raced = [key for key in missing if key not in found]
            if raced:
                found.update(await self._lookup(session, table, key_columns, raced))
        return found

    async def _lookup(
        self,
        session: AsyncSession,
        table: Table,
        key_columns: tuple[str, str],
        keys: Iterable[tuple[Any, str]],
    ) -> dict[tuple[Any, str], int]:
        listed = sorted(keys)
        if not listed:
            return {}
        first, second = table.c[key_columns[0]], table.c[key_columns[1]]
        dialect = "sqlite" if self._is_sqlite else "postgresql"
        query = with_keys(dialect, table, key_columns, listed, table.c.id, first, second)
        return {(a, b): id_ for id_, a, b in await session.execute(query)}

    def _one_of(self, column: ColumnElement[Any], values: Sequence[Any]) -> ColumnElement[bool]:
        return one_of("sqlite" if self._is_sqlite else "postgresql", column, values)
