"""Who reads what: every command that reads data, run by alice, her partner bob, carol
from another pair, someone also called "alice" in another workspace, and dana, an admin.
alice's words (canaries) reach only alice and, where she shared them, bob."""

from __future__ import annotations

import json

from bot.clock import ManualClock
from bot.storage.database import Database
from tests.test_privacy import ALICE, BOB, OTHERS, World, build_world, command, files_of, texts_of

READING_COMMANDS = (
    "/mentor journal",
    "/mentor journal <@alice>",  # her wins since the pair began: bob's to read, no one else's
    "/mentor feedback list",
    "/mentor status",
    "/mentor milestone list",
    "/mentor export",
    "/mentor config",
    "/mentor stats",
)


async def everything_seen(world: World, user: str, *, workspace: str = "T1") -> dict[str, str]:
    """What ``user`` is shown by each reading command: replies, files and any DMs."""
    chat = world.t1 if workspace == "T1" else world.t2
    seen = {}
    for line in READING_COMMANDS:
        dms_before = len(chat.dms(user))
        effects = await command(chat, user, line)
        seen[line] = texts_of(effects) + "\n".join(chat.dms(user)[dms_before:])
    return seen


def leaked(seen: dict[str, str], canaries: list[str]) -> list[tuple[str, str]]:
    return [(line, c) for line, text in seen.items() for c in canaries if c in text]


async def test_outsiders_and_admins_never_read_alices_words(
    database: Database, clock: ManualClock
) -> None:
    world = await build_world(database, clock)
    private = [*ALICE.values(), *BOB.values()]

    carol = await everything_seen(world, "carol")  # another pair, same workspace
    assert leaked(carol, private) == []
    assert OTHERS["carol"] in carol["/mentor journal"]
    assert "Only a workspace admin can see program stats" in carol["/mentor stats"]

    stranger = await everything_seen(world, "alice", workspace="T2")  # same id, elsewhere
    assert leaked(stranger, private) == []
    assert OTHERS["t2"] in stranger["/mentor journal"]
    assert "Europe/Berlin" not in stranger["/mentor config"]
    assert "Only a workspace admin" in stranger["/mentor stats"]

    dana = await everything_seen(world, "dana")  # an admin of alice's workspace
    assert leaked(dana, private) == []
    assert "journal is empty" in dana["/mentor journal"]
    assert "not in a mentoring pair" in dana["/mentor status"]
    assert "Only a workspace admin" not in dana["/mentor stats"]
    assert "shoutouts #channel" in dana["/mentor config"]  # admins configure the workspace

    refused = await world.t1.say("carol", "/mentor config shoutouts #general")
    assert "Only a workspace admin can choose the shout-out channel" in refused
    assert "Milestone shout-outs will go to" in await world.t1.say(
        "dana", "/mentor config shoutouts #general"
    )


async def test_alice_reads_hers_and_bob_only_what_she_shared_with_him(
    database: Database, clock: ManualClock
) -> None:
    world = await build_world(database, clock)

    alice = await everything_seen(world, "alice")
    assert ALICE["win"] in alice["/mentor journal"]
    assert ALICE["question"][:60] in alice["/mentor feedback list"]
    assert BOB["answer"][:60] in alice["/mentor feedback list"]  # bob's answer to her
    assert ALICE["goal"] in alice["/mentor milestone list"]
    assert "Europe/Berlin" in alice["/mentor config"]
    assert "Your mentoring at a glance" in alice["/mentor status"]
    assert leaked(alice, [BOB["win"], OTHERS["carol"], OTHERS["t2"]]) == []
    exported = json.loads(
        files_of(await command(world.t1, "alice", "/mentor export"))["mentorbot-export-alice.json"]
    )
    assert [w["text"] for w in exported["wins"]] == [ALICE["win"], ALICE["pending"]]

    bob = await everything_seen(world, "bob")
    assert BOB["win"] in bob["/mentor journal"]
    assert ALICE["win"] not in bob["/mentor journal"]  # the journal is the author's own
    # ...and what she shared with him since they paired, named: his to read again.
    assert ALICE["win"] in bob["/mentor journal <@alice>"]
    assert ALICE["pending"] in bob["/mentor journal <@alice>"]  # shared, its DM on its way
    assert ALICE["question"][:60] in bob["/mentor feedback list"]  # asked of him
    assert ALICE["action"][:60] in bob["/mentor feedback list"]  # shared with him
    assert ALICE["goal"] in bob["/mentor milestone list"]  # the pair's goal
    assert "wins this month: you 1, <@alice> 2" in bob["/mentor status"].lower()
    assert "Europe/Berlin" not in bob["/mentor config"]
    assert "Only a workspace admin" in bob["/mentor stats"]
    # alice's journal, answers and look back are hers alone.
    for key in ("win", "pending", "progress", "challenge", "next", "went_well", "improve"):
        assert leaked({"bob": bob["/mentor export"]}, [ALICE[key]]) == []
    assert leaked(bob, [ALICE["progress"], ALICE["went_well"], OTHERS["carol"]]) == []
