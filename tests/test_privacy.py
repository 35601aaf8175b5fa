"""Export and forget: alice, who has data in every table, gets all of it and nothing of
anyone else; forgetting her leaves no row about her and her partner's data intact."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from typer.testing import CliRunner

from adapters.cli import app
from bot.clock import ManualClock
from bot.content import Content
from bot.crypto import TextCipher
from bot.delivery import DeliveryFailure
from bot.effects import Effect, ReplyEphemeral, SendFiles, UpdateMessage
from bot.events import ButtonClicked, CommandInvoked
from bot.privacy import EXPORTED_TABLES, NOT_ABOUT_A_PERSON, TOMBSTONE_ID, forget_member
from bot.program import ProgramStats, program_stats
from bot.storage.database import Database, sqlite_url
from bot.storage.models import (
    Base,
    CheckinAnswer,
    FlowSession,
    Member,
    Milestone,
    OutboxMessage,
    Pair,
    Review,
    Win,
    Workspace,
)
from bot.turn import Turn, get_workspace_and_member
from tests.conversation import Chat, pair_up
from tests.test_checkin_at_once import _prompt_with

# What alice wrote: none of it may reach anyone else, and all of it goes with a forget.
ALICE = {
    "win": "ALICE-WIN-q7 shipped the parser rewrite",
    "pending": "ALICE-PENDING-k2 a win still waiting in the outbox",
    "question": "In my PR ALICE-QUESTION-z9 for the login page, is the error handling clear?",
    "action": "ALICE-ACTION-m4 split the handler into two functions",
    "goal": "ALICE-GOAL-p1 give a talk at the meetup",
    "progress": "ALICE-PROGRESS-r8 finished the migration",
    "challenge": "ALICE-CHALLENGE-t3 saying no to meetings",
    "next": "ALICE-NEXT-w6 the roadmap for next quarter",
    "went_well": "ALICE-WENTWELL-x5 we met every week",
    "improve": "ALICE-IMPROVE-y2 set goals earlier",
}
# What bob (her mentor) wrote: his own data, kept after alice is forgotten, and never
# part of alice's export.
BOB = {
    "win": "BOB-WIN-a1 mentored two people",
    "answer": "BOB-ANSWER-b2 the error handling reads well, name the cases",
    "progress": "BOB-PROGRESS-c3 hired a new teammate",
    "challenge": "BOB-CHALLENGE-d4 too many reviews",
    "next": "BOB-NEXT-e5 career ladders",
    "went_well": "BOB-WENTWELL-f6 she prepared well",
    "improve": "BOB-IMPROVE-g7 more async notes",
}
OTHERS = {"carol": "CAROL-WIN-h8 fixed the build", "t2": "T2-ALICE-WIN-j9 another workspace"}


@dataclass
class World:
    t1: Chat  # alice (mentee) and bob (mentor); carol mentors dave; dana is an admin
    t2: Chat  # another workspace where a different person also has the id "alice"


def texts_of(effects: list[Effect]) -> str:
    """Everything a person was handed: replies, updates, files and their bytes."""
    parts: list[str] = []
    for effect in effects:
        match effect:
            case ReplyEphemeral(_, content) | UpdateMessage(_, _, content):
                parts.append(content.text)
                parts += [f"{f.label} {f.value}" for f in content.fields]
            case SendFiles(_, content, files):
                parts.append(content.text)
                parts += [f.data.decode("utf-8", "replace") for f in files]  # PNGs too
            case _:
                parts.append(repr(effect))
    return "\n".join(parts)


async def command(chat: Chat, user: str, line: str) -> list[Effect]:
    name, _, text = line.lstrip("/").partition(" ")
    return await chat.send(
        CommandInvoked(user=chat.ref(user), user_name=user.title(), command=name, text=text)
    )


def files_of(effects: list[Effect]) -> dict[str, bytes]:
    return {f.filename: f.data for e in effects if isinstance(e, SendFiles) for f in e.files}


async def press_on(chat: Chat, user: str, words: str, label: str) -> str:
    """Press ``label`` on the newest message to ``user`` that says ``words``."""
    for seen in reversed(chat.recorder.seen):
        if seen.user == user and words in seen.content.text:
            for button in seen.content.buttons:
                if button.label == label:
                    return await chat.press(user, button, seen.message_id)
    raise AssertionError(f"{user} saw no message with {words!r} and [{label}]")


async def build_world(database: Database, chat_clock: ManualClock) -> World:
    """alice has a row in every table; bob, her mentor, has his own data beside hers."""
    t1 = Chat(database, chat_clock, admins=frozenset({"alice", "dana"}))
    t2 = Chat(database, chat_clock, workspace="T2")
    await pair_up(t1, "bob", "alice")  # bob mentors alice
    await t1.say("alice", "/mentor config timezone Europe/Berlin")
    await t1.say("alice", "/mentor config consent on")
    await t1.say("alice", "/mentor config shoutouts #wins")
    await t1.say("alice", f"/win {ALICE['win']}")
    await t1.say("bob", f"/win {BOB['win']}")
    # Feedback: alice asks, bob answers, and a few days later she says how she acted.
    await t1.say("alice", f"/mentor feedback {ALICE['question']}")
    await t1.say("bob", BOB["answer"])
    await t1.advance(timedelta(days=5))  # Monday: the check-in opens; the follow-up is due
    # (the follow-up comes in the check-in's prompt, with buttons of its own)
    await press_on(t1, "alice", "How did you act on", "Answer the follow-up in a form")
    await t1.submit("alice", action=ALICE["action"])
    # The check-in: both answer everything.
    for user, words in (("alice", ALICE), ("bob", BOB)):
        await t1.click(user, "Great 🙌")
        for key in ("progress", "challenge", "next"):
            await t1.say(user, words[key])
    # A goal: alice sets it, bob marks it done, both look back.
    await t1.say("alice", f"/mentor milestone add {ALICE['goal']}")
    await t1.say("bob", "/mentor milestone done 1")
    for user, words in (("alice", ALICE), ("bob", BOB)):
        await t1.say(user, words["went_well"])
        await t1.say(user, words["improve"])
    # Another pair, an admin, and someone called alice in another workspace.
    await pair_up(t1, "carol", "dave")
    await t1.say("carol", f"/win {OTHERS['carol']}")
    await t1.say("dana", "/mentor config timezone Europe/Paris")
    await t1.say("alice", "/mentor pair @erin @frank")  # a proposal she made for others
    # Matching: alice joins the pool (to mentor as well), runs a round and sends it.
    await t1.say("alice", "/mentor join both python, public speaking team platform")
    await t1.say("gina", "/mentor join mentee python")
    await t1.say("alice", "/mentor match")
    await press_on(t1, "alice", "Matching round preview", "Send proposals")
    await press_on(t1, "gina", "matching round suggests", "Decline")  # no second pair
    await t2.say("alice", f"/win {OTHERS['t2']}")
    # A win whose DM to bob is still waiting (his DMs fail for now).
    t1.recorder.fail_for["bob"] = DeliveryFailure("server error 503", permanent=False)
    await t1.say("alice", f"/win {ALICE['pending']}")
    del t1.recorder.fail_for["bob"]
    await t1.say("alice", "/mentor forget")  # an open question: a forget flow session
    return World(t1, t2)


async def rows(database: Database) -> dict[str, list[dict[str, Any]]]:
    async with database.transaction() as session:
        found = {}
        for table in Base.metadata.sorted_tables:
            result = await session.execute(select(table))
            found[table.name] = [dict(row._mapping) for row in result]
        return found


async def member_id(database: Database, workspace: str, user: str) -> int | None:
    async with database.transaction() as session:
        query = (
            select(Member.id)
            .join(Workspace, Member.workspace_id == Workspace.id)
            .where(Workspace.external_id == workspace, Member.external_id == user)
        )
        return (await session.execute(query)).scalar_one_or_none()


def person_columns() -> list[tuple[str, str]]:
    """Every column that points at a member: foreign keys, and the one plain integer."""
    found = [
        (table.name, column.name)
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if any(fk.column.table.name == "members" for fk in column.foreign_keys)
    ]
    return [*found, ("workspaces", "shoutout_set_by_id")]


def as_text(value: object) -> str:
    return (
        json.dumps(value, ensure_ascii=False, default=str) if not isinstance(value, str) else value
    )


async def bobs_data(database: Database, bob: int) -> dict[str, list[tuple[Any, ...]]]:
    async with database.transaction() as session:
        wins = await session.execute(select(Win.id, Win.text).where(Win.member_id == bob))
        answers = await session.execute(
            select(
                CheckinAnswer.id,
                CheckinAnswer.checkin_id,
                CheckinAnswer.progress,
                CheckinAnswer.challenge,
                CheckinAnswer.next_topic,
            ).where(CheckinAnswer.member_id == bob)
        )
        milestones = await session.execute(
            select(Milestone.id, Milestone.title, Milestone.completed_at).where(
                Milestone.member_id == bob
            )
        )
        reviews = await session.execute(
            select(Review.id, Review.pair_id, Review.went_well, Review.could_improve).where(
                Review.member_id == bob
            )
        )
        pairs = await session.execute(
            select(Pair.id, Pair.created_at).where(
                (Pair.mentor_id == bob) | (Pair.mentee_id == bob)
            )
        )
        return {
            "wins": [tuple(r) for r in wins],
            "answers": [tuple(r) for r in answers],
            "milestones": [tuple(r) for r in milestones],
            "reviews": [tuple(r) for r in reviews],
            "pairs": [tuple(r) for r in pairs],
        }


async def stats_of(database: Database, clock: ManualClock) -> ProgramStats:
    async with database.transaction() as session:
        t1 = await session.scalar(select(Workspace.id).where(Workspace.external_id == "T1"))
        assert t1 is not None
        return await program_stats(session, t1, clock.now() + timedelta(days=3))


def past_numbers(stats: ProgramStats) -> tuple[object, ...]:
    return (
        stats.short_rate,
        stats.long_rate,
        stats.feedback_answered,
        stats.median_feedback_wait,
        [week.checkins_answered for week in stats.weekly],
    )


async def assert_forgotten(database: Database, alice: int) -> None:
    """No row in workspace T1 references alice or holds her words or her id."""
    everything = await rows(database)
    t1 = next(w["id"] for w in everything["workspaces"] if w["external_id"] == "T1")
    for table, column in person_columns():
        assert all(row[column] != alice for row in everything[table]), (table, column)
    for table, table_rows in everything.items():
        for row in table_rows:
            if row.get("workspace_id", row.get("id")) != t1:
                continue
            for column, value in row.items():
                text = as_text(value)
                for canary in ALICE.values():
                    assert canary[:14] not in text, (table, column)
                if column != "external_id" or table != "workspaces":
                    assert "alice" not in text.lower(), (table, column, text)


# --- export ------------------------------------------------------------------------------


def test_every_table_is_exported_or_said_to_hold_nothing_about_a_person() -> None:
    tables = {table.name for table in Base.metadata.sorted_tables}
    assert tables == set(EXPORTED_TABLES) | set(NOT_ABOUT_A_PERSON)
    assert not set(EXPORTED_TABLES) & set(NOT_ABOUT_A_PERSON)
    assert all(reason.strip() for reason in NOT_ABOUT_A_PERSON.values())


async def test_export_holds_everything_about_her_and_nothing_of_anyone_else(
    database: Database, clock: ManualClock
) -> None:
    world = await build_world(database, clock)
    effects = await command(world.t1, "alice", "/mentor export")
    reply = texts_of([e for e in effects if isinstance(e, ReplyEphemeral)])
    assert "I've sent you everything I keep about you" in reply
    assert "2 wins" in reply and "2 pairs)" in reply  # bob mentors her; gina declined her
    files = files_of(effects)
    assert set(files) == {"mentorbot-export-alice.json", "mentorbot-brag-doc-alice.md"}
    exported = json.loads(files["mentorbot-export-alice.json"])
    for table, section in EXPORTED_TABLES.items():
        assert exported[section], f"{table} is covered by {section!r} but it is empty"
    whole = (
        files["mentorbot-export-alice.json"].decode()
        + files["mentorbot-brag-doc-alice.md"].decode()
    )
    for canary in ALICE.values():
        assert canary in whole
    for canary in [*BOB.values(), *OTHERS.values()]:
        assert canary not in whole
    assert [p["partner_id"] for p in exported["pairs"]] == ["bob", "gina"]
    assert exported["member"]["timezone"] == "Europe/Berlin"
    assert exported["member"]["shoutout_consent"] is True
    assert exported["workspace"]["you_chose_the_shoutout_channel"] is True
    assert exported["feedback"][0]["your_answer"] is None  # bob's words stay his
    # A look back names its milestone by the key the milestones carry: pair and number.
    [look_back] = [r for r in exported["reviews"] if r["occasion"] == "milestone"]
    assert "milestone_id" not in look_back
    goals = {(m["pair_id"], m["number"]): m["title"] for m in exported["milestones"]}
    assert goals[(look_back["pair_id"], look_back["milestone_number"])] == ALICE["goal"]
    brag = files["mentorbot-brag-doc-alice.md"].decode()
    assert "## Wins" in brag and "### November 2026" in brag
    assert "\n\n\n" not in brag  # one blank line between parts, in any Markdown viewer
    assert ALICE["goal"] in brag and "First win" in brag
    assert ALICE["question"] in brag and ALICE["action"] in brag


async def test_export_with_no_data_at_all_is_friendly(
    database: Database, clock: ManualClock
) -> None:
    chat = Chat(database, clock)
    effects = await command(chat, "zoe", "/mentor export")
    assert "I keep almost nothing about you yet" in texts_of(effects)
    exported = json.loads(files_of(effects)["mentorbot-export-zoe.json"])
    assert exported["wins"] == [] and exported["pairs"] == []
    brag = files_of(effects)["mentorbot-brag-doc-zoe.md"].decode()
    assert "No wins yet" in brag and "\n\n\n" not in brag


# --- forget ------------------------------------------------------------------------------


async def test_forget_in_chat_leaves_nothing_about_her_and_keeps_bobs_data(
    database: Database, clock: ManualClock
) -> None:
    world = await build_world(database, clock)
    alice = await member_id(database, "T1", "alice")
    bob = await member_id(database, "T1", "bob")
    assert alice is not None and bob is not None
    before = await bobs_data(database, bob)
    assert all(before.values())
    bob_dms = len(world.t1.dms("bob"))
    stats_before = await stats_of(database, clock)
    assert stats_before.long_rate.answered == 2 and stats_before.feedback_answered == 1

    answer = await world.t1.click("alice", "Delete everything")
    assert "Done. I deleted everything I kept about you: 2 wins, 1 check-in answer" in answer
    assert "1 feedback item, 1 look back, 2 milestones" in answer
    assert "What stays has neither your name nor your words" in answer
    assert "This cannot be undone." in answer

    await assert_forgotten(database, alice)
    assert await bobs_data(database, bob) == before
    # The program's numbers about the past are the same: her answers are facts without
    # words or name. (Her pair is now ended and her wins are gone, which is true.)
    assert past_numbers(await stats_of(database, clock)) == past_numbers(stats_before)
    # Bob keeps his answer to her question; her words are gone from his view.
    listed = await world.t1.say("bob", "/mentor feedback list")
    assert BOB["answer"][:30] in listed
    assert "a former member asked you: (deleted at their request)" in listed
    assert "acted on it: (deleted at their request)" in listed
    told = world.t1.dms("bob")[bob_dms:]
    assert len(told) == 1 and "Your mentoring pair with your mentee" in told[0]
    assert "has ended" in told[0] and "alice" not in told[0].lower()
    assert not any(ALICE["pending"] in dm for dm in world.t1.dms("bob"))
    # Bob's status says what happened to his pair and what he can do now.
    status = await world.t1.say("bob", "/mentor status")
    assert status.startswith("You're not in a mentoring pair now. Your mentoring pair with ")
    assert "your mentee ended on 2026-11-30: they left mentorbot" in status
    assert "`/mentor journal`" in status and "`/mentor pair @mentor @mentee`" in status
    assert "alice" not in status.lower() and "~forgotten" not in status
    # The proposal she made for erin and frank still works, and tells nobody in her place.
    await world.t1.click("erin", "Accept")
    assert "You're paired" in await world.t1.click("frank", "Accept")
    assert not any(row["target_id"] == TOMBSTONE_ID for row in (await rows(database))["outbox"])
    # The other workspace's alice is someone else: all hers is still there.
    assert OTHERS["t2"] in await world.t2.say("alice", "/mentor journal")
    assert "journal is empty" in await world.t1.say("alice", "/mentor journal")


async def test_forget_from_the_shell_does_the_same(
    database: Database, clock: ManualClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await build_world(database, clock)
    alice = await member_id(database, "T1", "alice")
    bob = await member_id(database, "T1", "bob")
    assert alice is not None and bob is not None
    before = await bobs_data(database, bob)
    monkeypatch.chdir(tmp_path)
    env = {"DATABASE_URL": database.url}
    runner = CliRunner()

    def cli(*args: str, answer: str | None = None) -> Any:
        return runner.invoke(app, list(args), env=env, input=answer)

    where = ["--platform", "console", "--workspace", "T1", "--user", "alice"]
    exported = await asyncio.to_thread(cli, "export", *where)
    assert exported.exit_code == 0, exported.output
    data = json.loads((tmp_path / "mentorbot-export-alice.json").read_text())
    assert data["wins"][0]["text"] == ALICE["win"]
    brag = await asyncio.to_thread(cli, "export", *where, "--format", "md", "--out", "b.md")
    assert brag.exit_code == 0 and ALICE["goal"] in (tmp_path / "b.md").read_text()

    refused = await asyncio.to_thread(cli, "forget", *where, answer="bob\n")
    assert refused.exit_code == 1 and "nothing was deleted" in refused.output
    assert await member_id(database, "T1", "alice") == alice
    # No answer at all (stdin closed, as under cron): said in words, not "Aborted!".
    unasked = await asyncio.to_thread(cli, "forget", *where, answer="")
    assert unasked.exit_code == 1 and "Aborted" not in unasked.output
    assert "no confirmation was typed, so nothing was deleted (--yes skips asking)" in (
        unasked.output
    )
    assert await member_id(database, "T1", "alice") == alice

    forgot = await asyncio.to_thread(cli, "forget", *where, answer="alice\n")
    assert forgot.exit_code == 0, forgot.output
    assert "Deleted everything stored about alice: 2 wins" in forgot.output
    await assert_forgotten(database, alice)
    assert await bobs_data(database, bob) == before

    unknown = await asyncio.to_thread(cli, "forget", *where, "--yes")
    assert unknown.exit_code == 1 and "I know no user 'alice'" in unknown.output
    # Asked without --yes, it says so before asking to confirm anything.
    nobody = await asyncio.to_thread(cli, "forget", *where, answer="alice\n")
    assert nobody.exit_code == 1 and "I know no user 'alice'" in nobody.output
    assert "Type the user id to confirm" not in nobody.output
    missing = await asyncio.to_thread(cli, "export", *where[:-1], "nobody")
    assert missing.exit_code == 1 and "I know no user 'nobody'" in missing.output
    tombstone = await asyncio.to_thread(cli, "export", *where[:-1], TOMBSTONE_ID)
    assert tombstone.exit_code == 1


# --- bad input ---------------------------------------------------------------------------


async def test_forget_clicked_twice_or_kept_or_by_someone_else(
    database: Database, clock: ManualClock
) -> None:
    chat = Chat(database, clock)
    await pair_up(chat, "bob", "alice")
    await chat.say("alice", f"/win {ALICE['win']}")
    assert "cannot be undone" in await chat.say("alice", "/mentor forget")
    confirm = next(b for b in chat.buttons("alice") if b.label == "Delete everything")

    # Someone else presses alice's button: nothing happens.
    assert "That question was for <@alice>" in await chat.press("bob", confirm)
    # Keep, then a late press of the same question's delete button: nothing happens.
    assert "kept everything" in await chat.click("alice", "Keep my data")
    assert "already answered" in await chat.press("alice", confirm)
    assert await member_id(database, "T1", "alice") is not None

    await chat.say("alice", "/mentor forget")
    assert "Done." in await chat.click("alice", "Delete everything")
    again = await chat.click("alice", "Delete everything")
    assert again == "That question is no longer open, so nothing changed."
    # Someone with little stored hears what there was, not a list of noughts.
    await chat.say("zoe", "/mentor config timezone Europe/Paris")
    await chat.say("zoe", "/mentor forget")
    assert (await chat.click("zoe", "Delete everything")).startswith(
        "Done. I deleted everything I kept about you: 1 conversation, and your settings. What stays"
    )


async def test_a_stale_or_foreign_forget_button_is_explained(
    database: Database, clock: ManualClock
) -> None:
    chat = Chat(database, clock)
    other = Chat(database, clock, workspace="T2")
    await chat.say("alice", "/mentor forget")
    confirm = next(b for b in chat.buttons("alice") if b.label == "Delete everything")
    # The same button id pressed from another workspace finds nothing there.
    effects = await other.send(ButtonClicked(user=other.ref("alice"), action_id=confirm.action_id))
    assert "That question is no longer open, so nothing changed." in texts_of(effects)
    # A made-up flow id.
    effects = await chat.send(ButtonClicked(user=chat.ref("alice"), action_id="flow:999999:delete"))
    assert "That question is no longer open, so nothing changed." in texts_of(effects)
    assert await member_id(database, "T1", "alice") is not None


async def test_forget_finds_her_words_in_messages_stored_encrypted(
    tmp_path: Path, clock: ManualClock
) -> None:
    key = Fernet.generate_key().decode()
    database = Database(sqlite_url(tmp_path / "encrypted.db"), cipher=TextCipher.from_setting(key))
    try:
        await database.upgrade()
        chat = Chat(database, clock)
        await pair_up(chat, "bob", "alice")
        chat.recorder.fail_for["bob"] = DeliveryFailure("server error 503", permanent=False)
        await chat.say("alice", f"/win {ALICE['pending']}")  # waits, encrypted, for bob
        del chat.recorder.fail_for["bob"]
        alice = await member_id(database, "T1", "alice")
        assert alice is not None
        await chat.say("alice", "/mentor forget")
        assert "Done." in await chat.click("alice", "Delete everything")
        await assert_forgotten(database, alice)
        assert not any(ALICE["pending"] in dm for dm in chat.dms("bob"))
    finally:
        await database.dispose()


async def test_export_files_show_names_and_keep_markup_as_written(
    database: Database, clock: ManualClock
) -> None:
    """Files have no platform to render mentions, and Markdown would eat tags: mentions
    become names, and a brag doc shows what was typed, character for character."""
    chat = Chat(database, clock)
    await pair_up(chat, "bob", "alice")
    win = "paired with <@bob> in <#C9|general> on <html> & *all* of it\n- a list line\n1. one"
    await chat.say("alice", f"/win {win}")
    effects = await command(chat, "alice", "/mentor export")
    files = files_of(effects)
    exported = json.loads(files["mentorbot-export-alice.json"])
    assert exported["wins"][0]["text"] == (
        "paired with @Bob in #general on <html> & *all* of it\n- a list line\n1. one"
    )
    brag = files["mentorbot-brag-doc-alice.md"].decode()
    assert "<@bob>" not in brag and "<#C9" not in brag and "<html>" not in brag
    assert (
        ": paired with @Bob in \\#general on \\<html\\> \\& \\*all\\* of it\n"
        "  \\- a list line\n"
        "  1\\. one\n"
    ) in brag


async def test_both_members_of_a_pair_forgotten_one_after_the_other(
    database: Database, clock: ManualClock
) -> None:
    """The second forget finds the tombstone already holding the first one's answer to
    the same check-in: it must not fail (one answer row per member), and nothing of
    either person is left."""
    chat = Chat(database, clock)
    await pair_up(chat, "bob", "alice")
    await chat.advance(timedelta(days=5))  # Monday: the check-in opens
    for user, words in (("alice", ALICE), ("bob", BOB)):
        await chat.click(user, "Great 🙌")
        for key in ("progress", "challenge", "next"):
            await chat.say(user, words[key])
    alice = await member_id(database, "T1", "alice")
    bob = await member_id(database, "T1", "bob")
    assert alice is not None and bob is not None
    for user in ("alice", "bob"):
        await chat.say(user, "/mentor forget")
        assert "Done." in await chat.click(user, "Delete everything")
    everything = await rows(database)
    answers = everything["checkin_answers"]
    assert len(answers) == 1  # the first one's fact; the second's went with its words
    assert answers[0]["progress"] is None and answers[0]["answered_at"] is not None
    for table, column in person_columns():
        assert all(row[column] not in (alice, bob) for row in everything[table]), (table, column)


async def test_forget_also_deletes_what_the_same_event_queued_about_her(chat: Chat) -> None:
    """An event's messages are written together when its work ends (bot/turn.py
    ``outbox_in_one_statement``); forgetting someone writes those queued so far first,
    so a message the same event queued to her or naming her is deleted with the rest,
    and one about nobody in particular stays."""
    await pair_up(chat, "alice", "bob")
    async with chat.database.transaction() as session:
        found = await get_workspace_and_member(session, chat.ref("alice"), chat.clock.now())
        workspace, alice = found.workspace, found.member
        turn = Turn(
            session=session,
            now=chat.clock.now(),
            workspace=workspace,
            actor=alice,
            actor_ref=chat.ref("alice"),
            actor_is_admin=False,
        )
        async with turn.outbox_in_one_statement():
            bob = await turn.member("bob")
            turn.dm(alice, Content("A note to her"))
            turn.post("C0GENERAL", Content("<@alice> reached a milestone"))
            turn.post("C0OTHER", Content("Someone reached a milestone"))
            await forget_member(turn, alice)
            turn.dm(bob, Content("Queued after the forgetting"))
    async with chat.database.transaction() as session:
        texts = list((await session.execute(select(OutboxMessage.content))).scalars())
    said = json.dumps(texts)
    assert "A note to her" not in said and "<@alice>" not in said
    assert "Someone reached a milestone" in said and "Queued after the forgetting" in said


async def test_after_a_forget_every_old_button_says_what_became_of_it(chat: Chat) -> None:
    """alice forgets herself with her check-in open, bob's look back at their pair half
    answered, and a proposal of erin's waiting for her. The buttons left in their DMs
    say what happened (they said "already answered", and a proposal's named the
    stand-in ``~forgotten``); bob is told his look back closed, and his words stay."""
    await chat.say("carol", "/mentor pair @bob @alice")
    accepted = next(b for b in chat.buttons("alice") if b.label == "Accept")
    await chat.click("bob", "Accept")
    await chat.press("alice", accepted)
    await chat.say("erin", "/mentor pair @alice @dan")
    await chat.advance(timedelta(days=5))  # Mon 30 Nov, 10:00: the check-in is open
    await chat.say("bob", "/mentor review")
    await chat.say("bob", BOB["went_well"])
    await chat.say("alice", "/mentor forget")
    await chat.click("alice", "Delete everything")
    assert chat.dms("bob")[-1] == (
        "Your mentoring pair with your mentee (since 2026-11-25) has ended. Thank you for "
        "the time you gave each other.\nYour open look back at the pair closed with it, "
        "unshared. What you wrote in it stays yours: `/mentor export` includes it."
    )
    async with chat.database.transaction() as session:
        kept = (await session.execute(select(Review.went_well))).scalars().all()
    assert kept == [BOB["went_well"]]

    said = [
        # bob's check-in and look back, closed with the pair.
        await chat.click("bob", "Great 🙌"),
        await chat.click("bob", "Skip"),
        # The proposal that became the pair, pressed again.
        await chat.click("bob", "Accept"),
        # alice's old DMs, pressed by the new member she is now: her conversations went
        # with her data; the pair she accepted ended; erin's proposal was withdrawn.
        await chat.click("alice", "Great 🙌"),
        await chat.press("alice", accepted),
        await chat.click("alice", "Decline"),
    ]
    assert said == [
        "That check-in closed when your pair ended, so I didn't save this.",
        "That look back closed when your pair ended, so I didn't save this.",
        "Both of you accepted this proposal (<@bob> is mentoring a former member), and the "
        "pair has ended since.",
        "That question is no longer open, so nothing changed.",
        "This pair has ended, so there is nothing to answer any more.",
        "This proposal didn't go ahead, so there is nothing to answer any more.",
    ]
    async with chat.database.transaction() as session:
        assert (await session.execute(select(Review.went_well))).scalars().all() == kept


async def test_forget_leaves_her_id_in_no_conversation_of_her_partners(chat: Chat) -> None:
    """bob mentors alice and carol, so his check-in questions name the partner (their
    conversations keep the partner's id). alice forgets herself while their check-ins
    are open: bob's conversation with her ends and keeps no trace of her id; the one
    with carol goes on naming carol."""
    await pair_up(chat, "bob", "alice")
    await pair_up(chat, "bob", "carol")
    await chat.advance(timedelta(days=5))  # Mon 30 Nov, 10:00: both check-ins open
    await chat.say("alice", "/mentor forget")
    await chat.click("alice", "Delete everything")
    async with chat.database.transaction() as session:
        flows = list((await session.execute(select(FlowSession))).scalars())
    kept = json.dumps([flow.data for flow in flows])
    assert "alice" not in kept
    assert '"with": "carol"' in kept
    # carol's prompt by name: the two came in one pass, in no set order on PostgreSQL.
    great, prompt = _prompt_with(chat, "bob", "carol")
    await chat.press("bob", great, prompt)
    assert chat.dms("bob")[-1] == "Check-in with <@carol>: What moved forward since last time?"
