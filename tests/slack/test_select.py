"""A "which pair?" with more pairs than buttons should hold: a ``static_select``, whose
choice runs the command for the chosen pair, through the real Bolt app and the fake."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.clock import ManualClock
from bot.pairs_import import import_pairs
from bot.storage.database import Database
from bot.storage.models import Member, Milestone, Pair
from tests.discord.chat import eventually
from tests.slack.conftest import ALICE
from tests.slack.fake_slack import TEAM, FakeSlack, Person, message_error
from tests.slack.slack_chat import SlackChat, _acted_by, fixture

PARTNERS = 12


def choose_payload(user: str, ack: dict[str, Any], label: str, response_url: str) -> dict[str, Any]:
    """``block_actions`` as Slack sends a choice in a menu of an ephemeral message."""
    menu, option = next(
        (element, option)
        for block in ack["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element["type"] == "static_select"
        for option in element["options"]
        if option["text"]["text"] == label
    )
    payload = fixture("block_actions")
    _acted_by(payload, user)
    payload["team"] = {"id": TEAM, "domain": "example"}
    payload["container"] = {
        "type": "message",
        "message_ts": "1700000099.000100",
        "channel_id": "C0GENERAL",
        "is_ephemeral": True,
    }
    payload["channel"] = {"id": "C0GENERAL", "name": "general"}
    payload["message"] = {"ts": "1700000099.000100", "text": ack["text"], "blocks": ack["blocks"]}
    payload["response_url"] = response_url
    payload["actions"] = [
        {
            "type": "static_select",
            "action_id": menu["action_id"],
            "block_id": "b1",
            "selected_option": option,
            "placeholder": menu["placeholder"],
            "action_ts": "1700000100.000100",
        }
    ]
    return payload


async def test_which_pair_beyond_buttons_is_a_menu_and_its_choice_counts(
    slack: SlackChat, fake: FakeSlack, database: Database, clock: ManualClock
) -> None:
    fake.everyone = Person("Someone")
    partners = [f"U0P{n:02d}" for n in range(PARTNERS)]
    rows = [
        {"platform": "slack", "workspace_id": TEAM, "mentor_id": ALICE, "mentee_id": partner}
        for partner in partners
    ]
    assert (await import_pairs(database, rows, clock.now())).created == PARTNERS

    asked = await slack.command(ALICE, "/mentor milestone add ship the parser")

    ack = asked.json
    assert message_error(ack) is None
    assert not [
        e
        for b in ack["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["type"] == "button"
    ]
    label = next(
        o["text"]["text"]
        for b in ack["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        for o in e.get("options", [])
        if partners[9] in o["text"]["text"]
    )
    url = fake.response_url()
    answer = await slack.interaction(choose_payload(ALICE, ack, label, url))
    assert answer.status == 200
    await slack.deliver()

    async def added() -> list[int | None]:
        async with database.transaction() as session:
            return list((await session.execute(select(Milestone.pair_id))).scalars())

    async def any_added() -> bool:
        return bool(await added())

    await eventually(any_added)
    (pair_id,) = await added()
    async with database.transaction() as session:
        pair = await session.get(Pair, pair_id)
        assert pair is not None
        mentee = await session.get(Member, pair.mentee_id)
    assert mentee is not None and mentee.external_id == partners[9]
