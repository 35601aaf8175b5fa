"""Discord payloads -> core events, on JSON fixtures shaped like what Discord sends."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from adapters.discord.translate import (
    FormPartRequested,
    FormPartSubmitted,
    InteractionType,
    Refusal,
    call_of,
    command_text,
    dm_message_event,
    interaction_event,
)
from bot.commands import (
    AddMilestone,
    Pause,
    ProposePair,
    SetCadence,
    SetShoutoutChannel,
    ShareWin,
    parse_command,
)
from bot.events import ButtonClicked, CommandInvoked, FormSubmitted, MessageReceived
from bot.refs import ChannelRef, Platform, UserRef

FIXTURES = Path(__file__).parent / "fixtures"
GUILD = "1287654321098765432"
ALICE = "1200000000000000001"
BOB = "1200000000000000002"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def command(name: str) -> CommandInvoked:
    event = interaction_event(fixture(name))
    assert isinstance(event, CommandInvoked)
    return event


def test_win_becomes_the_chat_command_with_who_and_where() -> None:
    event = command("slash_win")
    assert event.command == "win"
    assert event.text == "shipped the **login** page 🎉 <@1200000000000000002>"
    assert event.user == UserRef(Platform.DISCORD, GUILD, ALICE)
    assert event.user_name == "Ali"  # the server nickname first
    assert event.event_key == "1320000000000000001"
    assert event.channel == ChannelRef(Platform.DISCORD, GUILD, "1287654321098765433")
    assert not event.user_is_admin
    assert parse_command(event.command, event.text) == ShareWin(event.text)


def test_members_become_neutral_mentions_in_the_order_the_command_takes_them() -> None:
    event = command("slash_mentor_pair")  # Discord sent mentee before mentor
    assert event.text == f"pair <@{ALICE}> <@{BOB}>"
    assert parse_command(event.command, event.text) == ProposePair(ALICE, BOB)


def test_cadence_options_are_written_as_the_chat_command_words() -> None:
    event = command("slash_mentor_cadence")
    assert event.text == f"cadence <@{BOB}> biweekly Thursday at 9:30 Europe/Berlin"
    assert parse_command("mentor", event.text) == SetCadence(
        "biweekly Thursday at 9:30 Europe/Berlin", BOB
    )


def test_subcommand_groups_become_two_words() -> None:
    event = command("slash_mentor_milestone_add")
    assert event.text == f"milestone add <@{BOB}> Give my first talk"
    assert parse_command("mentor", event.text) == AddMilestone("Give my first talk", BOB)


def test_a_channel_option_becomes_a_channel_mention_and_admins_are_known() -> None:
    event = command("slash_mentor_config_shoutouts")
    assert event.text == "config shoutouts <#1287654321098765434>"
    assert parse_command("mentor", event.text) == SetShoutoutChannel("1287654321098765434")
    assert event.user_is_admin


def test_a_number_of_days_becomes_a_length() -> None:
    assert command("slash_mentor_pause_days").text == "pause 10d"
    assert parse_command("mentor", "pause 10d") == Pause(days=10)


def _milestone(verb: str, option: dict[str, Any]) -> dict[str, Any]:
    """``/mentor milestone <verb>`` with ``option``, as Discord sends it."""
    return {
        "name": "mentor",
        "options": [
            {
                "name": "milestone",
                "type": 2,
                "options": [{"name": verb, "type": 1, "options": [option]}],
            }
        ],
    }


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"name": "mentor", "options": [{"name": "status", "type": 1}]}, "status"),
        ({"name": "mentor", "options": [{"name": "help", "type": 1}]}, "help"),
        (
            {
                "name": "mentor",
                "options": [
                    {
                        "name": "pause",
                        "type": 1,
                        "options": [{"name": "until", "type": 3, "value": "2027-01-10"}],
                    }
                ],
            },
            "pause until 2027-01-10",
        ),
        (
            {
                "name": "mentor",
                "options": [
                    {
                        "name": "config",
                        "type": 2,
                        "options": [
                            {
                                "name": "shoutouts",
                                "type": 1,
                                "options": [{"name": "off", "type": 5, "value": True}],
                            }
                        ],
                    }
                ],
            },
            "config shoutouts off",
        ),
        (
            {
                "name": "mentor",
                "options": [
                    {"name": "config", "type": 2, "options": [{"name": "show", "type": 1}]}
                ],
            },
            "config",
        ),
        (
            {
                "name": "mentor",
                "options": [
                    {"name": "feedback", "type": 2, "options": [{"name": "list", "type": 1}]}
                ],
            },
            "feedback list",
        ),
        (
            {
                "name": "mentor",
                "options": [
                    {
                        "name": "journal",
                        "type": 1,
                        "options": [{"name": "remove", "type": 4, "value": 3}],
                    }
                ],
            },
            "journal remove 3",
        ),
        # A subcommand this version doesn't know: its words, for the core to explain.
        ({"name": "mentor", "options": [{"name": "dance", "type": 1}]}, "dance"),
        (
            _milestone("done", {"name": "milestone", "type": 3, "value": "Ship it"}),
            "milestone done Ship it",
        ),
        (
            _milestone("remove", {"name": "milestone", "type": 3, "value": "2"}),
            "milestone remove 2",
        ),
    ],
)
def test_command_text(data: dict[str, Any], expected: str) -> None:
    assert command_text(data)[1] == expected


def test_a_button_in_a_dm_finds_its_server_in_the_custom_id() -> None:
    payload = fixture("button_in_dm")
    event = interaction_event(payload)
    assert event == ButtonClicked(
        user=UserRef(Platform.DISCORD, GUILD, BOB),
        user_name="Bob",
        user_is_admin=None,  # a DM says nothing about the server's permissions
        event_key="1320000000000000010",
        action_id="flow:17:form",
        message_id="1330000000000000002",
    )
    call = call_of(payload)
    assert call.type == InteractionType.MESSAGE_COMPONENT
    assert call.workspace_id == GUILD
    assert call.message_is_card  # the DM was an embed: an update stays one


def test_a_button_on_an_ephemeral_answer_in_a_server() -> None:
    payload = fixture("button_in_guild_ephemeral")
    event = interaction_event(payload)
    assert isinstance(event, ButtonClicked)
    assert event.action_id == "flow:23:2"
    assert event.user == UserRef(Platform.DISCORD, GUILD, ALICE)
    assert not call_of(payload).message_is_card


def test_a_dm_button_without_a_server_is_refused_politely() -> None:
    assert isinstance(interaction_event(fixture("button_in_dm_without_guild")), Refusal)


def test_a_modal_submit_gives_every_input_by_name() -> None:
    event = interaction_event(fixture("modal_submit_in_dm"))
    assert isinstance(event, FormSubmitted)
    assert event.form_id == "flow:17:answers"
    assert event.user == UserRef(Platform.DISCORD, GUILD, BOB)
    assert dict(event.values) == {
        "mood": "great",
        "progress": "Shipped the login page.\nAnd wrote tests.",
        "challenge": "",
        "next_topic": "Code review habits",
    }


def test_a_modal_with_labelled_inputs() -> None:
    event = interaction_event(fixture("modal_submit_with_labels"))
    assert isinstance(event, FormSubmitted)
    assert dict(event.values) == {"answer": "Slow down on the demo's first minute."}


def test_a_part_of_a_long_form() -> None:
    event = interaction_event(fixture("modal_submit_part"))
    assert isinstance(event, FormPartSubmitted)
    assert (event.part, event.parts) == (1, 2)
    assert event.submitted.form_id == "flow:40:answers"
    assert event.submitted.values["mood"] == "great"
    clicked = fixture("button_in_dm")
    clicked["data"]["custom_id"] = f"{GUILD}|part2of2|flow:40:answers"
    assert interaction_event(clicked) == FormPartRequested(
        UserRef(Platform.DISCORD, GUILD, BOB), "flow:40:answers", 2
    )


def test_autocomplete_is_left_to_the_command_tree() -> None:
    assert interaction_event(fixture("autocomplete_timezone")) is None


def test_a_dm_becomes_a_message_in_the_given_workspace() -> None:
    payload = fixture("message_create_dm")
    assert dm_message_event(payload, GUILD) == MessageReceived(
        user=UserRef(Platform.DISCORD, GUILD, BOB),
        user_name="Bob",
        event_key="1330000000000000009",
        text="It went great, thanks!",
    )
    own = {**payload, "author": {**payload["author"], "bot": True}}
    assert dm_message_event(own, GUILD) is None


def test_an_edited_dm_is_an_edited_message_keyed_by_its_edit() -> None:
    """MESSAGE_UPDATE carries the whole message; each edit has its own timestamp, and
    so its own key (a repeat of one edit, or Discord's own change after it, has the
    same)."""
    payload = fixture("message_create_dm")
    at = "2026-12-07T21:00:00.000000+00:00"
    edited = {**payload, "content": "It went great!", "edited_timestamp": at}
    assert dm_message_event(edited, GUILD) == MessageReceived(
        user=UserRef(Platform.DISCORD, GUILD, BOB),
        user_name="Bob",
        event_key=f"1330000000000000009:edited:{at}",
        text="It went great!",
        edited=True,
    )
