"""The dispatch pass's batch path: the cadence worked out once per rule gives what each
pair's own scheduling gives, pairs are advanced in groups exactly as one by one, a pair
that cannot be opened costs only its own check-in, and the pairs import forgets couples
chunk by chunk without letting a repeat through."""

from __future__ import annotations

import io
import logging
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Column, Integer, MetaData, String, Table, cast, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.cadence import CadenceRule, next_checkin
from bot.content import Content
from bot.crypto import TextCipher
from bot.due import run_due
from bot.flows.checkin import Person, _prompt, _Prompts
from bot.pairs_import import ImportReport, import_pairs
from bot.rhythm import Rhythms, schedule_next
from bot.storage.bulk import dialect_of, insert_arrays, table_of, with_keys
from bot.storage.database import Database
from bot.storage.models import (
    Cadence,
    Checkin,
    CheckinState,
    Member,
    OutboxMessage,
    OutboxTarget,
    Pair,
    PairState,
    Workspace,
)
from bot.turn import outbox_row
from tests.conftest import START
from tests.conversation import Chat, pair_up
from tests.statements import listening

HEADER = "platform,workspace_id,mentor_id,mentee_id,cadence,weekday,time,timezone"
# Thursday 26 Nov 2026, 10:00 UTC: the first check-in of a "thu 10:00 UTC" pair
# imported at START (Wednesday noon).
DUE = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)

RULES = [
    CadenceRule(Cadence.WEEKLY, 3, "10:00", "UTC"),
    CadenceRule(Cadence.WEEKLY, 6, "09:30", "Europe/Berlin"),
    CadenceRule(Cadence.BIWEEKLY, 0, "08:15", "America/New_York"),
    CadenceRule(Cadence.BIWEEKLY, 4, "18:00", "Australia/Sydney"),
    CadenceRule(Cadence.MONTHLY, 1, "12:00", "Asia/Kolkata"),
    CadenceRule(Cadence.MONTHLY, 6, "02:30", "Europe/London"),  # into the spring gap
]
ANCHORS = [None, date(2026, 1, 5), date(2026, 1, 12), date(2026, 3, 29)]
# Around both 2026 changes in Europe and America, and an ordinary day.
AFTERS = [
    datetime(2026, 3, 7, 23, 0, tzinfo=UTC),
    datetime(2026, 3, 28, 1, 30, tzinfo=UTC),
    datetime(2026, 10, 24, 12, 0, tzinfo=UTC),
    datetime(2026, 10, 31, 23, 59, tzinfo=UTC),
    datetime(2026, 11, 25, 12, 0, tzinfo=UTC),
]


def pair_with(rule: CadenceRule, anchor: date | None) -> Pair:
    return Pair(
        cadence=rule.cadence.value,
        weekday=rule.weekday,
        local_time=rule.local_time,
        timezone=rule.timezone,
        cadence_anchor=anchor,
    )


def test_the_cadence_worked_out_once_per_rule_is_each_pairs_own() -> None:
    for lead in (timedelta(0), timedelta(days=20)):
        rhythms = Rhythms()  # one per batch, and a batch has one ``now``
        for _ in range(2):  # the second round is answered from what the first worked out
            for rule in RULES:
                columns = (rule.cadence.value, rule.weekday, rule.local_time, rule.timezone)
                assert rhythms.rule(columns) == rule
                for anchor in ANCHORS:
                    for after in AFTERS:
                        pair = pair_with(rule, anchor)
                        schedule_next(pair, after, after - lead)
                        got = rhythms.schedule(rule, anchor, after, after - lead)
                        assert got.next_checkin_at == pair.next_checkin_at
                        assert got.heads_up_at == pair.heads_up_at
                        assert (anchor or got.default_anchor) == pair.cadence_anchor


def test_the_latest_occurrence_walks_on_from_the_stored_one() -> None:
    rhythms = Rhythms()
    for rule in RULES:
        anchor = date(2026, 1, 5)
        stored = next_checkin(rule, datetime(2026, 1, 1, tzinfo=UTC), anchor)
        now = datetime(2026, 4, 1, tzinfo=UTC)
        expected = stored
        while (following := next_checkin(rule, expected, anchor)) <= now:
            expected = following
        assert rhythms.latest(rule, stored, anchor, now, 60) == expected
        assert rhythms.latest(rule, stored, anchor, now, 1) == min(
            next_checkin(rule, stored, anchor), expected
        )
        assert rhythms.latest(rule, expected, anchor, now, 60) == expected


def csv_file(*lines: str) -> io.StringIO:
    return io.StringIO("\n".join((HEADER, *lines)) + "\n")


async def all_pairs(database: Database) -> dict[str, Pair]:
    """Every pair, by its mentor's id on the platform."""
    async with database.transaction() as session:
        query = select(Member.external_id, Pair).join(Member, Pair.mentor_id == Member.id)
        return {mentor: pair for mentor, pair in (await session.execute(query)).all()}


async def test_pairs_due_together_are_advanced_as_each_on_its_own(database: Database) -> None:
    # Ten on one rule (one statement for all of them), four every other week with their
    # own anchors (one by one), all stored as due at DUE.
    lines = [f"slack,T1,M{n},E{n},weekly,thu,10:00,UTC" for n in range(10)]
    lines += [f"slack,T1,BM{n},BE{n},biweekly,thu,10:00,Europe/London" for n in range(4)]
    report = await import_pairs(database, csv_file(*lines), START)
    assert report.created == 14
    ids = {mentor: pair.id for mentor, pair in (await all_pairs(database)).items()}
    anchors = {"BM0": date(2026, 11, 16), "BM1": date(2026, 11, 23), "BM2": None, "M2": None}
    async with database.transaction() as session:
        await session.execute(update(Pair).values(next_checkin_at=DUE, heads_up_at=None))
        for mentor, anchor in anchors.items():
            await session.execute(
                update(Pair).where(Pair.id == ids[mentor]).values(cadence_anchor=anchor)
            )
    expected = {}
    for mentor, pair in (await all_pairs(database)).items():
        schedule_next(pair, DUE, DUE)  # what the chat does after a check-in, pair by pair
        expected[mentor] = (pair.cadence_anchor, pair.next_checkin_at, pair.heads_up_at)
    # The biweekly pairs really do differ by anchor: the grouping must keep them apart.
    assert expected["BM0"][1] != expected["BM1"][1]
    # One with no anchor yet (stored before anchors were) counts every other week from
    # the check-in the pass opens now: its next is two weeks on, not one (Thursday 10:00
    # in London is 10:00 UTC in winter). Set by hand, such a rhythm would start at the
    # soonest Thursday after now instead, which is the one opening now.
    expected["BM2"] = (DUE.date(), DUE + timedelta(days=14), DUE + timedelta(days=13))

    due = await run_due(database, DUE)

    assert due.checkins_opened == 14
    after = {
        mentor: (pair.cadence_anchor, pair.next_checkin_at, pair.heads_up_at)
        for mentor, pair in (await all_pairs(database)).items()
    }
    assert after == expected


async def test_a_pair_that_cannot_be_opened_costs_only_its_own_check_in(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    lines = [f"slack,T1,M{n},E{n},weekly,thu,10:00,UTC" for n in range(3)]
    await import_pairs(database, csv_file(*lines), START)
    async with database.transaction() as session:
        # A timezone no zone database knows (stored by an older version, say): working
        # out this member's quiet hours fails, so the whole batch does, then this pair.
        await session.execute(
            update(Member).where(Member.external_id == "E1").values(timezone="Mars/Olympus")
        )

    with caplog.at_level(logging.ERROR, logger="bot.due"):
        due = await run_due(database, DUE)

    assert due.checkins_opened == 2
    pairs = await all_pairs(database)
    async with database.transaction() as session:
        query = select(Member.external_id, Checkin.state).join(
            Member,
            Member.id == select(Pair.mentor_id).where(Pair.id == Checkin.pair_id).scalar_subquery(),
        )
        checkins = sorted((await session.execute(query)).all())
        prompts = sorted((await session.execute(select(OutboxMessage.target_id))).scalars())
    assert checkins == [("M0", CheckinState.OPEN.value), ("M2", CheckinState.OPEN.value)]
    assert prompts == ["E0", "E2", "M0", "M2"]
    assert f"opening the check-in of pair {pairs['M1'].id} failed" in caplog.text
    # Every pair moved on, the failed one too: it cannot block the next passes.
    assert {p.next_checkin_at for p in pairs.values()} == {DUE + timedelta(days=7)}
    assert {p.state for p in pairs.values()} == {PairState.ACTIVE.value}
    again = await run_due(database, DUE)
    assert (again.checkins_opened, again.checkins_missed) == (0, 0)


async def test_a_couple_repeated_in_a_later_chunk_is_already_there(database: Database) -> None:
    lines = (
        "slack,T1,U1,U2,,,,",
        "slack,T1,U3,U4,,,,",
        "slack,T1,U5,U6,,,,",
        "slack,T1,U2,U1,,,,",  # chunk 2: the first couple again, the other way round
        "slack,T1,U1,U2,monthly,,,",  # and again: seen just above, in this chunk
        "slack,T1,U1,U2,,,,",
        "slack,T1,bad id,U9,,,,",
    )
    report = await import_pairs(database, csv_file(*lines), START, chunk=3)
    assert (report.created, report.already) == (3, 3)
    assert [(r.line, "spaces" in r.reason) for r in report.rejected] == [(8, True)]
    pairs = await all_pairs(database)
    assert {mentor: p.cadence for mentor, p in pairs.items()} == dict.fromkeys(
        ("U1", "U3", "U5"), "weekly"
    )

    again = await import_pairs(database, csv_file(*lines), START, chunk=2)
    assert again == ImportReport(created=0, already=6, rejected=report.rejected)
    assert {p.id for p in (await all_pairs(database)).values()} == {p.id for p in pairs.values()}


def test_prompts_built_for_a_batch_are_the_ones_made_one_by_one() -> None:
    now = DUE
    running = Workspace(id=1, platform="slack", external_id="T1")
    stopped = Workspace(id=2, platform="slack", external_id="T2", delivery_stopped_at=now)
    prompts = _Prompts(now, {1: running, 2: stopped})
    partner = Person(7, "U7", "Europe/Berlin")
    many = [f"win {n}" for n in range(8)]
    for workspace in (running, stopped):
        for flow_id, wins, theirs in (
            (1, [], []),
            (42, ["shipped it"], []),
            (7, [], ["gave a talk"]),
            (123456789, many, many[:3]),
        ):
            for at in (now, now + timedelta(hours=3), now - timedelta(hours=1)):
                made = _prompt(flow_id, partner, wins, theirs)
                expected = outbox_row(workspace, OutboxTarget.DM, "U8", made, now, at)
                assert (
                    prompts.row(workspace.id, "U8", flow_id, partner, wins, theirs, at) == expected
                )


async def test_bulk_inserts_store_datetimes_as_the_typed_columns_do(database: Database) -> None:
    """``insert_arrays`` converts each distinct datetime once and binds the result: the
    stored value must be exactly what the column's type stores row by row."""
    moment = datetime(2026, 11, 25, 9, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    async with database.transaction() as session:
        workspace = Workspace(platform="console", external_id="T1", created_at=START)
        session.add(workspace)
        await session.flush()

        def rows(target: str) -> list[dict[str, object]]:
            return [
                outbox_row(workspace, OutboxTarget.DM, target, Content(f"{n}"), moment, at)
                for n, at in enumerate([None, moment + timedelta(hours=1), moment, None])
            ]

        await session.execute(insert(table_of(OutboxMessage)), rows("typed"))
        await insert_arrays(session, table_of(OutboxMessage), rows("bulk"))
    async with database.transaction() as session:
        stored = (
            await session.execute(
                select(
                    OutboxMessage.target_id,
                    cast(OutboxMessage.next_attempt_at, String),
                    cast(OutboxMessage.created_at, String),
                    OutboxMessage.next_attempt_at,
                ).order_by(OutboxMessage.id)
            )
        ).all()
    typed = [tuple(row[1:]) for row in stored if row[0] == "typed"]
    bulk = [tuple(row[1:]) for row in stored if row[0] == "bulk"]
    assert len(typed) == 4
    assert bulk == typed
    assert [row[2] for row in bulk] == [
        moment,
        moment + timedelta(hours=1),
        moment,
        moment,
    ]


@pytest.mark.parametrize("encrypted", [False, True])
async def test_array_inserts_store_what_the_typed_insert_stores(
    database: Database, encrypted: bool
) -> None:
    """``insert_arrays`` (PostgreSQL: one ``unnest`` statement; SQLite: converted tuples
    through the driver's executemany) stores every column as a typed insert does,
    defaults and encrypted columns included, returns what it inserted, and skips
    duplicates when asked."""
    if encrypted:
        database = Database(
            database.url, cipher=TextCipher.from_setting(Fernet.generate_key().decode())
        )
    moment = datetime(2026, 11, 25, 9, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    outbox = table_of(OutboxMessage)
    try:
        async with database.transaction() as session:
            workspace = Workspace(platform="console", external_id="T1", created_at=START)
            session.add(workspace)
            await session.flush()

            def rows(target: str) -> list[dict[str, object]]:
                return [
                    outbox_row(
                        workspace, OutboxTarget.DM, target, Content(f"héllo {n}"), moment, at
                    )
                    for n, at in enumerate([None, moment + timedelta(hours=1), moment])
                ]

            await session.execute(insert(outbox), rows("typed"))
            returned = await insert_arrays(session, outbox, rows("arrays"), returning=("id",))
            assert len(returned) == 3
            assert await insert_arrays(session, outbox, []) == []
        async with database.transaction() as session:
            found = (
                await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))
            ).scalars()
            seen = {
                (m.target_id, m.id): (
                    m.content,
                    m.status,
                    m.attempts,
                    m.next_attempt_at,
                    m.created_at,
                    m.sent_at,
                )
                for m in found
            }
            raw = (
                await session.execute(
                    select(OutboxMessage.target_id, cast(OutboxMessage.content, String))
                )
            ).all()
        typed = [value for (target, _), value in sorted(seen.items()) if target == "typed"]
        arrays = [value for (target, _), value in sorted(seen.items()) if target == "arrays"]
        assert arrays == typed
        assert {outbox_id for target, outbox_id in seen if target == "arrays"} == {
            outbox_id for (outbox_id,) in returned
        }
        assert typed[0][0] == Content("héllo 0").to_json() and typed[0][1] == "pending"
        assert all(("llo " in text) != encrypted for _, text in raw)

        async with database.transaction() as session:
            pair_rows = [{"workspace_id": workspace.id, "external_id": f"U{n}"} for n in (1, 2)]
            for row in pair_rows:
                session.add(Member(**row, created_at=START))
            await session.flush()
            again = await insert_arrays(
                session,
                table_of(Member),
                [{**row, "created_at": START} for row in pair_rows],
                returning=("id",),
                ignore_duplicates=True,
            )
            assert again == []  # both already there: skipped, nothing returned
    finally:
        if encrypted:
            await database.dispose()


async def test_array_inserts_refuse_a_default_computed_per_row(database: Database) -> None:
    """A column left out of the rows gets its default only if it is a plain value; one
    computed per row must be given in the rows, and saying so beats storing a wrong one."""
    table = Table(
        "stamped",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("made", Integer, default=lambda: 1),
    )
    async with database.transaction() as session:
        with pytest.raises(TypeError, match=r"stamped\.made"):
            await insert_arrays(session, table, [{"id": 1}])


async def test_keyed_lookups_find_exactly_the_rows_named(database: Database) -> None:
    """``with_keys`` (SQLite: a JSON array of couples; PostgreSQL: two arrays) returns
    the rows whose two key columns hold one of the couples, however odd the text, and
    nothing for a couple whose parts exist only in other rows."""
    names = ["U1", "é ü 🦊", 'quo"te', "back\\slash", "[1, 2]", "x" * 64]
    async with database.transaction() as session:
        spaces = [
            Workspace(platform="slack", external_id=f"T{n}", created_at=START) for n in (1, 2)
        ]
        session.add_all(spaces)
        await session.flush()
        members = {
            (space.id, name): Member(workspace_id=space.id, external_id=name, created_at=START)
            for space in spaces
            for name in names
        }
        session.add_all(members.values())
        await session.flush()
        table = table_of(Member)
        first, second = spaces
        wanted = [(first.id, name) for name in names] + [(second.id, "U1"), (second.id, "nobody")]
        query = with_keys(
            dialect_of(session),
            table,
            ("workspace_id", "external_id"),
            wanted,
            table.c.id,
            table.c.workspace_id,
            table.c.external_id,
        )
        found = {(a, b): id_ for id_, a, b in await session.execute(query)}
    expected = {key: members[key].id for key in wanted if key in members}
    assert found == expected
    assert len(found) == len(names) + 1


async def test_array_inserts_return_only_the_rows_they_inserted(database: Database) -> None:
    """On SQLite the inserted rows are read back by id (``executemany`` returns none):
    rows skipped as duplicates, and rows that were there before, are not returned."""
    async with database.transaction() as session:
        space = Workspace(platform="slack", external_id="T1", created_at=START)
        session.add(space)
        await session.flush()
        table = table_of(Member)
        before = await insert_arrays(
            session,
            table,
            [
                {"workspace_id": space.id, "external_id": f"U{n}", "created_at": START}
                for n in (1, 3)
            ],
            returning=("id", "external_id"),
        )
        assert sorted(name for _, name in before) == ["U1", "U3"]
        rows = [
            {"workspace_id": space.id, "external_id": f"U{n}", "created_at": START}
            for n in range(1, 6)
        ]
        inserted = await insert_arrays(
            session, table, rows, returning=("id", "external_id"), ignore_duplicates=True
        )
        found = await session.execute(select(Member.external_id, Member.id))
        stored = {name: id_ for name, id_ in found.all()}
    assert sorted(name for _, name in inserted) == ["U2", "U4", "U5"]
    assert {name: id_ for id_, name in inserted} == {
        name: stored[name] for name in ("U2", "U4", "U5")
    }

    # Skipping duplicates skips nothing else: a row that breaks NOT NULL fails the insert.
    with pytest.raises(IntegrityError):
        async with database.transaction() as session:
            await insert_arrays(
                session,
                table,
                [{"workspace_id": space.id, "external_id": None, "created_at": START}],
                returning=("id",),
                ignore_duplicates=True,
            )


async def test_a_pass_runs_only_the_jobs_with_something_due(chat: Chat) -> None:
    """Each job is skipped when its due column holds nothing at or before now (one
    statement for all of them); a job that made work for a later one in the same pass
    (an opened check-in arms the stall check) still has it done."""
    await pair_up(chat, "alice", "bob")
    statements: list[str] = []

    def record(*args: Any) -> None:
        if args[2].lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE")):
            statements.append(args[2])

    with listening(chat.database, "before_cursor_execute", record):
        quiet = await run_due(chat.database, chat.clock.now())
        assert quiet.total == 0
        assert len(statements) == 1  # the earliest moment of each due column, at once
        statements.clear()

        async with chat.database.transaction() as session:
            pair = (await session.execute(select(Pair))).scalar_one()
            first = pair.next_checkin_at
            assert first is not None and pair.stall_check_at is None
        opened = await run_due(chat.database, first)
    assert opened.checkins_opened == 1
    async with chat.database.transaction() as session:
        pair = (await session.execute(select(Pair))).scalar_one()
    # The stall check was armed by the opening and looked at in the same pass, which set
    # it to when the pair could next stall (later than now).
    assert pair.stall_check_at is not None and pair.stall_check_at > first
