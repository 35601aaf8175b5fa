"""Slack payloads (JSON fixtures of real shapes) -> core events. Pure: no I/O."""

from __future__ import annotations

import pytest

from adapters.slack import translate
from adapters.slack.translate import HomeAction, HomeForm, NotForUs
from bot.events import ButtonClicked, CommandInvoked, FormSubmitted
from bot.refs import ChannelRef, Platform, UserRef, WorkspaceRef
from tests.slack.slack_chat import fixture


@pytest.mark.parametrize(
    ("slack", "neutral"),
    [
        ("pair <@U1|alice> <@U2>", "pair <@U1> <@U2>"),
        ("config shoutouts <#C9|wins>", "config shoutouts <#C9>"),
        ("ping <!here> and <!channel>", "ping @here and @channel"),
        ("hi <!subteam^S1|@design>", "hi @design"),
        (
            "see <https://x.io/a|the doc> or <https://x.io/b>",
            "see the doc (https://x.io/a) or https://x.io/b",
        ),
        ("mail <mailto:a@x.io|a@x.io>", "mail a@x.io"),
        ("2 &gt; 1 &amp;&amp; 1 &lt; 2", "2 > 1 && 1 < 2"),
        ("🎉 café — ok", "🎉 café — ok"),
    ],
)
def test_text_from_slack_becomes_what_the_person_typed(slack: str, neutral: str) -> None:
    assert translate.normalize_text(slack) == neutral


def test_a_slash_command() -> None:
    event, origin = translate.slash_command(fixture("slash_command"))

    assert event == CommandInvoked(
        user=UserRef(Platform.SLACK, "T0001", "U2147483697"),
        command="mentor",
        text="pair <@U2147483697> <@U0BOB>",
        channel=ChannelRef(Platform.SLACK, "T0001", "C2147483705"),
        event_key="slack:command:13345224609.738474920.8088930838d88f008e0",
    )
    assert origin.response_url == "https://hooks.slack.com/commands/1234/5678"
    assert not origin.private


def test_a_button_press_in_a_dm() -> None:
    event, origin = translate.block_action(fixture("block_actions"))

    assert event == ButtonClicked(
        user=UserRef(Platform.SLACK, "T0001", "U0BOB"),
        action_id="flow:1:accept",
        message_id="D0BOB:1700000000.000200",
        event_key="slack:action:12466734323.1395872398.f3e5f1a9d8b2",
    )
    assert origin.private and not origin.is_ephemeral
    assert translate.parse_message_id("D0BOB:1700000000.000200") == ("D0BOB", "1700000000.000200")


def test_a_button_press_on_the_home_tab_is_ours() -> None:
    action, origin = translate.block_action(fixture("block_actions_home"))
    assert action == HomeAction("win")
    assert origin.private and origin.trigger_id


def test_a_modal_submission() -> None:
    event, origin = translate.view_submission(fixture("view_submission"))

    assert isinstance(event, FormSubmitted)
    assert event.form_id == "flow:7:answers"
    assert dict(event.values) == {
        "mood": "great",
        "progress": "Shipped the <login> page &amp; its tests",
    }
    assert event.event_key == "slack:view:12345.98765.abcd2358fdea"
    assert origin.private


def test_a_home_modal_submission() -> None:
    payload = fixture("view_submission")
    payload["view"]["callback_id"] = "slack-home:win"
    payload["view"]["state"]["values"] = {
        "win": {"value": {"type": "plain_text_input", "value": "x"}}
    }
    form, _ = translate.view_submission(payload)
    assert form == HomeForm("win", {"win": "x"})


def test_form_errors_are_found_before_the_core_sees_the_form() -> None:
    view = fixture("view_submission")["view"]
    assert translate.form_errors(view) == {}

    view["blocks"][0]["optional"] = False
    view["state"]["values"]["mood"]["value"]["value"] = "   "
    assert translate.form_errors(view) == {"mood": "Please write something here."}

    view["blocks"][0]["optional"] = True
    view["state"]["values"]["progress"]["value"]["value"] = None
    assert translate.form_errors(view) == {
        "mood": "Answer at least one question, or close the form."
    }

    view["blocks"][1]["element"]["max_length"] = 5
    view["state"]["values"]["progress"]["value"]["value"] = "too long"
    assert translate.form_errors(view) == {
        "progress": "Please keep this under 5 characters (it has 8)."
    }


def test_a_direct_message() -> None:
    message, origin = translate.direct_message(fixture("message_im"))

    assert message.user == UserRef(Platform.SLACK, "T0001", "U2147483697")
    assert (
        message.text
        == "Start with the outcome & then show the demo (https://example.com/demo), <@U0BOB>"
    )
    assert message.event_key == "slack:event:Ev0MSG0001"
    assert origin.private


@pytest.mark.parametrize(
    "change",
    [
        {"subtype": "message_deleted"},
        {"bot_id": "B0BOT"},
        {"channel_type": "channel"},
    ],
)
def test_deletions_bots_and_channel_messages_are_not_for_the_core(
    change: dict[str, str],
) -> None:
    body = fixture("message_im")
    body["event"] |= change
    with pytest.raises(NotForUs):
        translate.direct_message(body)


def test_an_edit_of_a_direct_message_is_an_edited_message() -> None:
    message, origin = translate.direct_message(fixture("message_changed_im"))

    assert message.edited
    assert message.user == UserRef(Platform.SLACK, "T0001", "U2147483697")
    assert message.text == "Start with the outcome, then the demo"
    assert message.event_key == "slack:event:Ev0EDIT0001"
    assert origin.private and origin.channel_id == "D0ALICE"
    # A new message is not an edit.
    assert not translate.direct_message(fixture("message_im"))[0].edited


@pytest.mark.parametrize(
    "change",
    [
        {"edited": None},  # Slack changed it (a link's preview, a language detected)
        {"text": "Start with the outcome"},  # edited, the words the same
        {"bot_id": "B0BOT"},  # the bot's own message, updated with chat.update
        {"subtype": "bot_message"},
    ],
)
def test_changes_that_are_not_a_persons_edit_are_not_for_the_core(
    change: dict[str, object],
) -> None:
    body = fixture("message_changed_im")
    body["event"]["message"] |= change
    if change.get("edited", "") is None:
        del body["event"]["message"]["edited"]
    with pytest.raises(NotForUs):
        translate.direct_message(body)


def test_uninstall_and_a_revoked_bot_token_remove_the_workspace() -> None:
    removed = translate.workspace_removed(fixture("app_uninstalled"))
    revoked = translate.workspace_removed(fixture("tokens_revoked"))

    assert removed.workspace == WorkspaceRef(Platform.SLACK, "T0001")
    assert removed.event_key == "slack:event:Ev0UNINST1"
    assert revoked.workspace == WorkspaceRef(Platform.SLACK, "T0001")


def test_a_revoked_user_token_does_not_concern_the_bot() -> None:
    body = fixture("tokens_revoked")
    body["event"]["tokens"]["bot"] = []
    with pytest.raises(NotForUs):
        translate.workspace_removed(body)


def test_home_opened_on_the_messages_tab_is_not_for_us() -> None:
    body = fixture("app_home_opened")
    assert translate.home_opened(body).user_id == "U0BOB"
    body["event"]["tab"] = "messages"
    with pytest.raises(NotForUs):
        translate.home_opened(body)


def test_a_profile_from_users_info() -> None:
    profile = translate.profile(fixture("users_info")["user"])
    # An owner counts as an admin; no display name set, so the real name.
    assert profile == translate.Profile("Steve Jobs", "America/Los_Angeles", True)


def test_payloads_missing_what_we_need_are_refused() -> None:
    form = fixture("slash_command")
    del form["user_id"]
    with pytest.raises(ValueError, match="user_id"):
        translate.slash_command(form)
