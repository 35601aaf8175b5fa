"""``mentorbot dispatch`` as real processes: several at once on one PostgreSQL, killed
with SIGKILL at the crash points of ``bot.faults``, on SQLite, and after downtime.

Every run is the installed command in a subprocess (``DISPATCH_SPREAD_SECONDS=0``, the
console platform, so each delivered message is a ``DM → <user>`` block on stdout). What
a member "received" is what the processes printed: a printed block was handed to the
platform. Pairs are created with :func:`bot.pairs_import.import_pairs` (set-based
inserts), never through the chat.

The numbers (how the work was split, duplicates per crash point) are printed; run with
``-n 0 -s`` to see them (xdist's workers keep a test's output).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from adapters.console.translate import WORKSPACE_ID
from bot.delivery import SENDING_LEASE
from bot.due import BATCH
from bot.pairs_import import import_pairs
from bot.storage.database import Database, sqlite_url
from bot.storage.models import Checkin, CheckinState, Member, OutboxMessage, OutboxStatus, Pair
from tests.conftest import Templates, empty_postgres

T = TypeVar("T")

MENTORBOT = [sys.executable, "-c", "from adapters.cli import main; main()"]
PROMPT = "👋 Time for your check-in"

# Imported on Monday 30 Nov 2026 at 09:00 UTC, a weekly Monday 10:00 UTC pair's first
# check-in is that day at 10:00; the heads-up (24 h before) is already past, so nothing
# but the prompts is due at DUE.
IMPORTED = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
DUE = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
NEXT_WEEK = DUE + timedelta(days=7)
# Past the lease of a message left ``sending`` by a killed process.
AFTER_LEASE = DUE + SENDING_LEASE + timedelta(minutes=1)

MANY = 10_000  # pairs for the three processes: 20,000 members
FEW = BATCH + 50  # pairs for each crash: two dispatch batches, five delivery batches

# Variables that would change what the bot does; none leak in from the caller.
# PYTHONUNBUFFERED goes too: a printed message must reach the pipe without it.
_UNSET_PREFIXES = ("SLACK_", "DISCORD_", "DISPATCH_", "MENTORBOT_")
_UNSET = {"DATABASE_URL", "ADMIN_USER_IDS", "LOG_LEVEL", "PYTHONUNBUFFERED"}
_HEADER = re.compile(r"^DM → ([a-z0-9_.\-]+)$")
_SUMMARY = re.compile(r"(\d+) check-ins? opened, (\d+) missed.*?(\d+) messages? delivered")


# -- fixtures ----------------------------------------------------------------------------


@pytest.fixture
def postgres_url(templates: Templates) -> str:
    """The session's migrated PostgreSQL test database, emptied."""
    if templates.postgres_url is None:
        pytest.skip("needs PostgreSQL: set MENTORBOT_TEST_POSTGRES_URL")
    url = templates.postgres_url

    async def empty() -> None:
        database = Database(url)
        async with database.engine.begin() as connection:
            await empty_postgres(connection)
        await database.dispose()

    asyncio.run(empty())
    return url


def sqlite_copy(templates: Templates, path: Path) -> str:
    """A fresh migrated SQLite file at ``path``."""
    shutil.copy(templates.sqlite_file, path)
    return sqlite_url(path)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_url(request: pytest.FixtureRequest, templates: Templates, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_copy(templates, tmp_path / "mentorbot.db")
    url: str = request.getfixturevalue("postgres_url")
    return url


# -- creating pairs ----------------------------------------------------------------------


def mentor(i: int) -> str:
    return f"mentor{i:05d}"


def mentee(i: int) -> str:
    return f"mentee{i:05d}"


def everyone(pairs: int) -> set[str]:
    return {name for i in range(pairs) for name in (mentor(i), mentee(i))}


def partner_of(name: str) -> str:
    """mentor00042 and mentee00042 are a pair, and so are late1 and late2."""
    if name.startswith(("mentor", "mentee")):
        return ("mentee" if name.startswith("mentor") else "mentor") + name[6:]
    return name[:-1] + ("2" if name.endswith("1") else "1")


def import_rows(
    url: str,
    couples: Sequence[tuple[str, str]],
    now: datetime,
    *,
    weekday: str = "mon",
    at: str = "10:00",
) -> None:
    rows = [
        {
            "platform": "console",
            "workspace_id": WORKSPACE_ID,
            "mentor_id": a,
            "mentee_id": b,
            "cadence": "weekly",
            "weekday": weekday,
            "time": at,
            "timezone": "UTC",
        }
        for a, b in couples
    ]

    async def run() -> None:
        database = Database(url)
        try:
            report = await import_pairs(database, rows, now)
        finally:
            await database.dispose()
        assert report.rejected == []
        assert report.created == len(rows)

    asyncio.run(run())


def import_pairs_due(url: str, pairs: int) -> None:
    """``pairs`` weekly Monday 10:00 UTC pairs, due at ``DUE``."""
    import_rows(url, [(mentor(i), mentee(i)) for i in range(pairs)], IMPORTED)


# -- running the command -----------------------------------------------------------------


def _env(url: str, crash: str | None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in _UNSET and not key.startswith(_UNSET_PREFIXES)
    }
    env.update(
        NO_COLOR="1",
        TERM="dumb",
        COLUMNS="200",
        PYTHONIOENCODING="utf-8",
        DATABASE_URL=url,
        DISPATCH_SPREAD_SECONDS="0",
    )
    if crash is not None:
        env["MENTORBOT_CRASH_AT"] = crash
    return env


@dataclass(frozen=True)
class Block:
    header: str
    body: tuple[str, ...]


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def blocks(self) -> list[Block]:
        """stdout as header lines with the indented lines below them."""
        blocks: list[Block] = []
        for line in self.stdout.splitlines():
            if line.startswith("  ") and blocks:
                blocks[-1] = Block(blocks[-1].header, (*blocks[-1].body, line[2:]))
            else:
                blocks.append(Block(line.rstrip(), ()))
        return blocks

    @property
    def prompts(self) -> list[str]:
        """The members who got a check-in prompt, in the order it was printed; each
        prompt names the right partner."""
        found = []
        for block in self.blocks:
            match = _HEADER.match(block.header)
            if match and block.body and block.body[0].startswith(PROMPT):
                found.append(match.group(1))
                partner = partner_of(match.group(1))
                assert block.body[0] == f"{PROMPT} with @{partner}.", block
        return found

    @property
    def summary(self) -> tuple[int, int, int]:
        """(check-ins opened, missed, messages delivered) from the stderr summary."""
        match = _SUMMARY.search(self.stderr)
        assert match, self.stderr[-2000:]
        opened, missed, delivered = match.groups()
        return int(opened), int(missed), int(delivered)


class Dispatch:
    """``mentorbot dispatch --now`` in a subprocess, output to files (not pipes, so no
    process ever waits on a reader while the others run)."""

    def __init__(self, folder: Path, url: str, now: datetime, crash: str | None = None) -> None:
        self._name = f"run{len(list(folder.glob('run*.out')))}"
        self._stdout = (folder / f"{self._name}.out").open("w+b")
        self._stderr = (folder / f"{self._name}.err").open("w+b")
        self.process = subprocess.Popen(
            [*MENTORBOT, "dispatch", "--now", now.isoformat()],
            stdin=subprocess.DEVNULL,
            stdout=self._stdout,
            stderr=self._stderr,
            cwd=folder,  # no developer's .env is read
            env=_env(url, crash),
        )

    def wait(self, timeout: float = 300) -> Run:
        try:
            returncode = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise
        outputs = []
        for handle in (self._stdout, self._stderr):
            handle.seek(0)
            outputs.append(handle.read().decode("utf-8"))
            handle.close()
        return Run(returncode, outputs[0], outputs[1])


def dispatch(folder: Path, url: str, now: datetime, crash: str | None = None) -> Run:
    run = Dispatch(folder, url, now, crash).wait()
    if crash is None:
        assert run.returncode == 0, run.stderr[-3000:]
        assert "Traceback" not in run.stderr, run.stderr[-3000:]
    return run


# -- what the database says --------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    checkins: Counter[str]  # by state
    outbox: Counter[str]  # by status
    next_checkins: Counter[datetime | None]  # pairs by next check-in
    attempts: Counter[int]  # outbox rows by the number of times they were claimed


async def _count(session: AsyncSession, column: InstrumentedAttribute[T]) -> Counter[T]:
    rows = await session.execute(select(column, func.count()).group_by(column))
    return Counter({value: count for value, count in rows})


def stored(url: str) -> Stored:
    async def read() -> Stored:
        database = Database(url)
        try:
            async with database.transaction() as session:
                return Stored(
                    await _count(session, Checkin.state),
                    await _count(session, OutboxMessage.status),
                    await _count(session, Pair.next_checkin_at),
                    await _count(session, OutboxMessage.attempts),
                )
        finally:
            await database.dispose()

    return asyncio.run(read())


def all_sent(url: str, pairs: int) -> bool:
    return stored(url).outbox == Counter({OutboxStatus.SENT.value: 2 * pairs})


def assert_settled(url: str, pairs: int) -> Stored:
    """``pairs`` pairs prompted and fully delivered: one open check-in each, both prompts
    sent, the next check-in a week later."""
    now = stored(url)
    assert now.checkins == Counter({CheckinState.OPEN.value: pairs})
    assert now.outbox == Counter({OutboxStatus.SENT.value: 2 * pairs})
    assert now.next_checkins == Counter({NEXT_WEEK: pairs})
    return now


def only_prompts(run: Run) -> None:
    """Everything the run printed is a check-in prompt (no heads-up, no anniversary)."""
    assert len(run.prompts) == len(run.blocks), [b for b in run.blocks if b.header][:5]


def duplicates(received: Counter[str]) -> dict[str, int]:
    return {name: count for name, count in received.items() if count > 1}


# -- 1. three processes on one PostgreSQL ------------------------------------------------


def test_three_processes_send_each_prompt_exactly_once(postgres_url: str, tmp_path: Path) -> None:
    import_pairs_due(postgres_url, MANY)

    started = [Dispatch(tmp_path, postgres_url, DUE) for _ in range(3)]
    runs = [process.wait(timeout=1200) for process in started]

    for run in runs:
        assert run.returncode == 0, run.stderr[-3000:]
        assert "Traceback" not in run.stderr, run.stderr[-3000:]
        only_prompts(run)
    received = Counter(name for run in runs for name in run.prompts)
    split = [(run.summary[0], len(run.prompts)) for run in runs]
    print(
        f"\n{MANY} pairs over 3 processes: (check-ins opened, prompts delivered) = {split}; "
        f"{sum(received.values())} prompts, {len(duplicates(received))} members twice"
    )
    assert duplicates(received) == {}
    assert set(received) == everyone(MANY)  # nobody missing, nobody else
    assert sum(opened for opened, _ in split) == MANY
    assert [run.summary[2] for run in runs] == [delivered for _, delivered in split]
    # They really ran side by side: the pass is MANY / BATCH batches, seconds long, and the
    # processes start within a fraction of that, so at least two claimed a share.
    assert sum(1 for opened, _ in split if opened > 0) >= 2, split

    after = assert_settled(postgres_url, MANY)
    assert after.attempts == Counter({1: 2 * MANY})  # no message was claimed twice


# -- 2. killed at each crash point, then restarted ---------------------------------------


@pytest.mark.parametrize(
    ("crash", "in_flight"),
    [
        ("after_dispatch_batch", 0),  # a batch of check-ins committed, nothing delivered
        ("after_claim", 0),  # a batch of messages marked sending, none sent
        ("mid_delivery:50", 0),  # the 50th message sent and recorded
        ("after_send:50", 1),  # the 50th printed, not yet recorded: the one window
    ],
)
def test_killed_dispatch_loses_nothing_and_doubles_only_in_flight(
    postgres_url: str, tmp_path: Path, crash: str, in_flight: int
) -> None:
    import_pairs_due(postgres_url, FEW)

    killed = dispatch(tmp_path, postgres_url, DUE, crash)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    only_prompts(killed)
    at_kill = stored(postgres_url)
    point = crash.partition(":")[0]
    if point == "after_dispatch_batch":
        assert killed.prompts == []
        assert at_kill.checkins == Counter({CheckinState.OPEN.value: BATCH})
        assert at_kill.outbox == Counter({OutboxStatus.PENDING.value: 2 * BATCH})
    elif point == "after_claim":
        assert killed.prompts == []
        assert at_kill.outbox[OutboxStatus.SENDING.value] > 0
        assert OutboxStatus.SENT.value not in at_kill.outbox
    elif point == "mid_delivery":
        assert len(killed.prompts) == 50
        assert at_kill.outbox[OutboxStatus.SENT.value] == 50
    else:
        assert len(killed.prompts) == 50
        assert at_kill.outbox[OutboxStatus.SENT.value] == 49

    restarts: list[Run] = []
    while not all_sent(postgres_url, FEW):
        assert len(restarts) < 3, stored(postgres_url)
        restarts.append(dispatch(tmp_path, postgres_url, AFTER_LEASE))
    assert restarts, "the killed run cannot have finished"
    for run in restarts:
        only_prompts(run)

    received = Counter(name for run in (killed, *restarts) for name in run.prompts)
    doubled = duplicates(received)
    print(
        f"\ncrash at {crash}: {len(killed.prompts)} prompts before the kill, "
        f"{len(restarts)} restart(s), {sum(received.values())} prompts for {2 * FEW} "
        f"members, duplicates: {sum(doubled.values()) - len(doubled)} {sorted(doubled)}"
    )
    assert set(received) == everyone(FEW)  # nothing lost
    assert sum(doubled.values()) - len(doubled) == in_flight, doubled
    if in_flight:
        # The only duplicate is the message the platform had accepted at the kill.
        assert doubled == {killed.prompts[-1]: 2}
    assert_settled(postgres_url, FEW)


# -- 3. SQLite: one process, the same guarantees -----------------------------------------


def test_sqlite_one_prompt_each_and_a_rerun_sends_nothing(
    templates: Templates, tmp_path: Path
) -> None:
    url = sqlite_copy(templates, tmp_path / "mentorbot.db")
    pairs = 500
    import_pairs_due(url, pairs)

    first = dispatch(tmp_path, url, DUE)
    only_prompts(first)
    received = Counter(first.prompts)
    assert duplicates(received) == {}
    assert set(received) == everyone(pairs)
    assert first.summary == (pairs, 0, 2 * pairs)
    assert_settled(url, pairs)

    again = dispatch(tmp_path, url, DUE)
    assert again.stdout == ""
    assert again.summary == (0, 0, 0)
    assert_settled(url, pairs)


def test_sqlite_crash_after_send_loses_nothing(templates: Templates, tmp_path: Path) -> None:
    url = sqlite_copy(templates, tmp_path / "mentorbot.db")
    pairs = 150
    import_pairs_due(url, pairs)

    killed = dispatch(tmp_path, url, DUE, "after_send:50")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert len(killed.prompts) == 50
    # Before the lease runs out, a restart leaves the messages in flight alone; after
    # it, they are sent again (the one printed at the kill, a second time).
    early = dispatch(tmp_path, url, DUE)
    late = dispatch(tmp_path, url, AFTER_LEASE)
    for run in (killed, early, late):
        only_prompts(run)
    assert killed.prompts[-1] not in early.prompts
    assert killed.prompts[-1] in late.prompts

    received = Counter(name for run in (killed, early, late) for name in run.prompts)
    doubled = duplicates(received)
    print(f"\nSQLite, crash at after_send:50: duplicates {doubled}")
    assert set(received) == everyone(pairs)
    assert doubled == {killed.prompts[-1]: 2}
    assert_settled(url, pairs)


# -- 4. downtime is caught up once -------------------------------------------------------


def test_downtime_sends_a_recent_check_in_once_and_records_an_old_one_missed(
    any_url: str, tmp_path: Path
) -> None:
    now = datetime(2026, 11, 30, 13, 0, tzinfo=UTC)  # a Monday
    thursday = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
    # Imported on Thursday 26 Nov: "late" is due Monday 10:00 (3 h before now), "gone"
    # (Fridays 13:00) on Friday 27 Nov (3 days before now).
    import_rows(any_url, [("late1", "late2")], thursday)
    import_rows(any_url, [("gone1", "gone2")], thursday, weekday="fri", at="13:00")
    # Imported on Sunday 8 Nov, so the bot was down for weeks: "long" (Mondays 10:00)
    # has been due since 9 Nov and its latest occurrence is 3 h before now; "away"
    # (Fridays 13:00) since 13 Nov and its latest is 3 days before now.
    sunday = datetime(2026, 11, 8, 12, 0, tzinfo=UTC)
    import_rows(any_url, [("long1", "long2")], sunday)
    import_rows(any_url, [("away1", "away2")], sunday, weekday="fri", at="13:00")

    first = dispatch(tmp_path, any_url, now)
    only_prompts(first)
    # One prompt each for the two whose latest occurrence is recent; none for the others,
    # and never one per missed week.
    assert sorted(first.prompts) == ["late1", "late2", "long1", "long2"]
    assert first.summary == (2, 3, 4)

    again = dispatch(tmp_path, any_url, now)
    assert again.stdout == ""
    assert again.summary == (0, 0, 0)

    async def read() -> tuple[dict[str, list[tuple[datetime, str]]], dict[str, datetime]]:
        database = Database(any_url)
        try:
            async with database.transaction() as session:
                rows = await session.execute(
                    select(Member.external_id, Checkin.due_at, Checkin.state)
                    .join(Pair, Pair.id == Checkin.pair_id)
                    .join(Member, Member.id == Pair.mentor_id)
                    .order_by(Checkin.id)
                )
                checkins: dict[str, list[tuple[datetime, str]]] = {}
                for name, due_at, state in rows:
                    checkins.setdefault(name, []).append((due_at.astimezone(UTC), state))
                pairs = await session.execute(
                    select(Member.external_id, Pair.next_checkin_at).join(
                        Member, Member.id == Pair.mentor_id
                    )
                )
                nexts = {name: moment.astimezone(UTC) for name, moment in pairs if moment}
        finally:
            await database.dispose()
        return checkins, nexts

    checkins, nexts = asyncio.run(read())
    assert checkins == {
        "late1": [(datetime(2026, 11, 30, 10, 0, tzinfo=UTC), CheckinState.OPEN.value)],
        "gone1": [(datetime(2026, 11, 27, 13, 0, tzinfo=UTC), CheckinState.MISSED.value)],
        # The stored occurrence is recorded missed, the latest one opened; the weeks in
        # between leave nothing.
        "long1": [
            (datetime(2026, 11, 9, 10, 0, tzinfo=UTC), CheckinState.MISSED.value),
            (datetime(2026, 11, 30, 10, 0, tzinfo=UTC), CheckinState.OPEN.value),
        ],
        "away1": [(datetime(2026, 11, 13, 13, 0, tzinfo=UTC), CheckinState.MISSED.value)],
    }
    # Each pair's next check-in is its first one after now, on its own rhythm.
    assert nexts == {
        "late1": datetime(2026, 12, 7, 10, 0, tzinfo=UTC),
        "gone1": datetime(2026, 12, 4, 13, 0, tzinfo=UTC),
        "long1": datetime(2026, 12, 7, 10, 0, tzinfo=UTC),
        "away1": datetime(2026, 12, 4, 13, 0, tzinfo=UTC),
    }
