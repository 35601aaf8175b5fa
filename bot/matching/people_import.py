"""Bulk import of the matching pool (``mentorbot people import FILE.csv``).

The header is ``platform,workspace_id,user_id,role,topics,capacity,team,timezone``
(role ``mentor``, ``mentee`` or ``both``; topics separated by ``;``; capacity, team and
timezone may be empty for the defaults: capacity 1, no team, the timezone the person
has or UTC). Reading and the reasons a row is refused are those of the pairs import
(``bot/pairs_import.py``). Each valid row puts its person in the pool exactly as
``/mentor join`` would; a row that matches the profile as stored changes nothing, so
importing the same file again is harmless. A timezone given in the file is the person's
from then on, unless they had chosen one themselves (theirs is kept).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, cast

from bot.matching.pool import upsert_profile, workspace_topics
from bot.pairs_import import (
    Invalid,
    Rejected,
    csv_records,
    mapping_records,
    platform_and_ids,
    timezone_name,
)
from bot.refs import Platform, WorkspaceRef
from bot.storage.database import Database
from bot.storage.models import MatchRole
from bot.topics import (
    MAX_TOPICS,
    TopicError,
    merge_known,
    normalise_team,
    normalise_topic,
    parse_capacity,
)
from bot.turn import get_member, get_workspace

COLUMNS = ("platform", "workspace_id", "user_id", "role", "topics", "capacity", "team", "timezone")
REQUIRED_COLUMNS = COLUMNS[:5]
CHUNK = 500


@dataclass
class PeopleReport:
    joined: int = 0  # new in the pool, or back after leaving
    updated: int = 0  # in the pool before, with something different now
    unchanged: int = 0
    rejected: list[Rejected] = field(default_factory=list)


@dataclass(frozen=True)
class _Person:
    line: int
    platform: str
    workspace: str
    user: str
    role: str
    topics: tuple[str, ...]
    capacity: int | None
    team: str | None
    timezone: str | None


def _check(line: int, values: Mapping[str, str]) -> _Person | Rejected:
    """The person a row describes, or every reason it cannot be used (so one pass over
    the file finds all that needs fixing in a row, not one reason per import)."""
    problems: list[str] = []
    platform, ids = platform_and_ids(values, ("workspace_id", "user_id"), problems)
    role = values["role"].strip().lower()
    if role not in (r.value for r in MatchRole):
        problems.append(f"role '{values['role'].strip()}' is not mentor, mentee or both")
    topics: list[str] = []
    unusable = 0
    for part in values["topics"].split(";"):
        try:
            if part.strip() and (topic := normalise_topic(part)) not in topics:
                topics.append(topic)
        except TopicError as error:
            problems.append(str(error))
            unusable += 1
    if not topics and not unusable:
        problems.append("no topics (separate several with ;)")
    if len(topics) > MAX_TOPICS:
        problems.append(f"{len(topics)} topics; a person has at most {MAX_TOPICS}")
    raw_capacity = values.get("capacity", "").strip()
    capacity = None
    if raw_capacity and role == MatchRole.MENTEE:
        problems.append("capacity is for mentors (role mentor or both)")
    elif raw_capacity:
        try:
            capacity = parse_capacity(raw_capacity)
        except TopicError as error:
            problems.append(str(error))
    team = None
    try:
        team = normalise_team(values.get("team", ""))
    except TopicError as error:
        problems.append(str(error))
    raw_zone = values.get("timezone", "").strip()
    zone = None
    try:
        zone = timezone_name(raw_zone) if raw_zone else None
    except Invalid as error:
        problems.append(str(error))
    if problems or platform is None:
        return Rejected.of(line, problems)
    return _Person(line, platform, ids[0], ids[1], role, tuple(topics), capacity, team, zone)


async def import_people(
    database: Database,
    rows: Iterable[Mapping[str, str | None]] | IO[str],
    now: datetime,
    *,
    progress: Callable[[int], None] | None = None,
) -> PeopleReport:
    """Put the people ``rows`` describe in their workspace's pool, as of ``now``."""
    report = PeopleReport()
    if hasattr(rows, "read"):
        records = csv_records(cast(IO[str], rows), COLUMNS, REQUIRED_COLUMNS)
    else:
        records = mapping_records(rows, COLUMNS, REQUIRED_COLUMNS)
    pending: list[_Person] = []
    read = 0
    seen: dict[tuple[str, str, str], int] = {}
    # Each workspace's topics, by its id, once read.
    spelled: dict[int, set[str]] = {}

    async def flush() -> None:
        if pending:
            async with database.transaction() as session:
                for person in pending:
                    ref = WorkspaceRef(Platform(person.platform), person.workspace)
                    workspace = await get_workspace(session, ref, now)
                    member = await get_member(session, workspace, person.user, now)
                    if person.timezone and member.timezone is None:
                        member.timezone = person.timezone
                    # Spelled as the workspace spells them, this file's rows so far too.
                    if (known := spelled.get(workspace.id)) is None:
                        known = spelled[workspace.id] = await workspace_topics(
                            session, workspace.id
                        )
                    topics = merge_known(person.topics, known, longest=1)
                    known.update(topics)
                    upserted = await upsert_profile(
                        session,
                        member,
                        now,
                        role=person.role,
                        topics=topics,
                        capacity=person.capacity,
                        team=person.team,
                        team_given=True,
                    )
                    if not upserted.was_in:
                        report.joined += 1
                    elif upserted.changed:
                        report.updated += 1
                    else:
                        report.unchanged += 1
            pending.clear()
        if progress is not None:
            progress(read)

    for record in records:
        if isinstance(record, Rejected):
            report.rejected.append(record)
            if record.line == 1:
                break
            read += 1
            continue
        read += 1
        line, values = record
        checked = _check(line, values)
        if isinstance(checked, Rejected):
            report.rejected.append(checked)
            continue
        key = (checked.platform, checked.workspace, checked.user)
        if key in seen:
            report.rejected.append(
                Rejected(line, f"user_id {checked.user} is already on line {seen[key]}")
            )
            continue
        seen[key] = line
        pending.append(checked)
        if len(pending) >= CHUNK:
            await flush()
    await flush()
    return report
