"""Matching on Slack, through the real Bolt app against the local fake: the join form (a
modal), the admin's preview with its buttons, and the proposals as DMs with
Accept/Decline."""

from __future__ import annotations

from tests.slack.conftest import ALICE, BOB, CAROL
from tests.slack.slack_chat import SlackChat, ephemeral_click, im


async def test_join_form_preview_and_proposals_as_dms(slack: SlackChat) -> None:
    # /mentor join with no words opens the join form.
    answer = await slack.command(BOB, "/mentor join")
    assert answer.status == 200
    view = slack.opened_view()
    assert view["type"] == "modal" and view["callback_id"] == "match:join"
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == [
        "role",
        "topics",
        "capacity",
        "team",
    ]
    done = await slack.submit(BOB, role="mentee", topics="Python, public speaking")
    assert done.status == 200
    await slack.deliver()
    joined = slack.dms(BOB)[-1]  # the answer to a modal is a DM
    assert "You're in the matching pool." in joined and "Topics: public speaking, python" in joined
    # The words work on Slack too.
    typed = await slack.command(CAROL, "/mentor join mentor python capacity 2")
    assert "You're in the matching pool." in typed.text

    # Only admins preview a round; nobody is told anything before the admin sends.
    refused = await slack.command(BOB, "/mentor match")
    assert "Only a workspace admin" in refused.text
    preview = await slack.command(ALICE, "/mentor match")
    assert preview.json["response_type"] == "ephemeral"
    assert "Matching round preview: 1 pair." in preview.text
    assert f"<@{CAROL}> mentors <@{BOB}> (score 10): shared topics: python" in preview.text
    [actions] = [b for b in preview.json["blocks"] if b["type"] == "actions"]
    labels = [(e["text"]["text"], e.get("style")) for e in actions["elements"]]
    assert labels == [("Send proposals", "primary"), ("Cancel", "danger")]
    await slack.deliver()
    assert not any("suggests a pair" in t for t in slack.dms(BOB) + slack.dms(CAROL))

    send = actions["elements"][0]
    await slack.interaction(ephemeral_click(slack, ALICE, send))
    replaced = [r for r in slack.fake.responses() if r.get("replace_original")]
    assert replaced[-1]["text"].startswith("Sent 1 proposal:")
    await slack.deliver()
    for user in (BOB, CAROL):
        invitation = slack.shown(user)[-1]
        assert invitation.channel == im(user)
        assert "The matching round suggests a pair" in invitation.text
        buttons = [(b["text"]["text"], b.get("style")) for b in invitation.buttons()]
        assert buttons == [("Accept", "primary"), ("Decline", "danger")]
    assert (await slack.click(BOB, "Accept")).status == 200
    assert (await slack.click(CAROL, "Accept")).status == 200
    await slack.deliver()
    assert any(f"You're paired: <@{CAROL}> is mentoring <@{BOB}>" in t for t in slack.dms(BOB))
