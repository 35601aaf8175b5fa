"""Matching on Discord, through the real discord.py client against the local fake: the
join form (a modal), the admin's preview with its buttons, and the proposals as DMs with
Accept/Decline."""

from __future__ import annotations

from tests.discord.chat import DiscordChat, RunningBot
from tests.discord.fake_discord import FakeDiscord, buttons_of, text_of


async def test_join_form_preview_and_proposals_as_dms(
    bot: RunningBot, chat: DiscordChat, fake: FakeDiscord
) -> None:
    # /mentor join with no options opens the join form.
    opened = await chat.slash("bob", "mentor join")
    modal = opened.modal
    assert modal is not None and modal["title"] == "Join the matching pool"
    inputs = [row["components"][0] for row in modal["components"]]
    assert [i["custom_id"] for i in inputs] == ["role", "topics", "capacity", "team"]
    assert all(len(i["label"]) <= 45 for i in inputs)  # Discord's label limit
    joined = await chat.submit("bob", opened, role="mentee", topics="Python, public speaking")
    assert "You're in the matching pool." in joined.text()
    assert "Topics: public speaking, python" in joined.text()
    # The options work as words too.
    typed = await chat.slash("carol", "mentor join", role="mentor", topics="python", capacity=2)
    assert "up to 2 mentees at once" in typed.text()

    # Only admins preview a round; nobody hears anything before the admin sends.
    assert "Only a workspace admin" in (await chat.slash("bob", "mentor match")).text()
    preview = await chat.slash("alice", "mentor match")
    assert "Matching round preview: 1 pair." in preview.text()
    assert f"{chat.mention('carol')} mentors {chat.mention('bob')} (score 19)" in preview.text()
    assert [b["label"] for b in buttons_of(preview.messages[0])] == ["Send proposals", "Cancel"]
    assert not any("suggests a pair" in t for t in chat.dms("bob") + chat.dms("carol"))

    sent = await chat.click("alice", "Send proposals")
    assert sent.callbacks[0]["type"] == 7  # the preview is replaced, its buttons gone
    assert "Sent 1 proposal" in text_of(sent.callbacks[0]["data"])
    for who in ("bob", "carol"):
        invitation = await chat.dm_arrives(who, "suggests a pair")
        accept, decline = buttons_of(invitation)
        assert (accept["label"], accept["style"]) == ("Accept", 1)
        assert (decline["label"], decline["style"]) == ("Decline", 4)
    await chat.click("bob", "Accept")
    await chat.click("carol", "Accept")
    welcome = await chat.dm_arrives("bob", "You're paired")
    assert f"{chat.mention('carol')} is mentoring {chat.mention('bob')}" in text_of(welcome)


async def test_each_join_option_keeps_its_words(bot: RunningBot, chat: DiscordChat) -> None:
    """The options are written out as the chat command's words, so the words in one must
    not be read as another's: "team building" in the topics stays a topic, and a team of
    two words stays one team (it used to be "platform", with "infra" a topic)."""
    typed = await chat.slash(
        "carol",
        "mentor join",
        role="mentor",
        topics="python, team building, capacity planning",
        capacity=2,
        team="Platform Infra",
    )
    said = typed.text()
    assert "Topics: capacity planning, python, team building" in said, said
    assert "Team: platform infra" in said and "up to 2 mentees at once" in said, said
    # A topic that reads like a label, with no team given.
    typed = await chat.slash("bob", "mentor join", role="mentee", topics="career, team leadership")
    said = typed.text()
    assert "Topics: career, team leadership\nTeam: none" in said, said
    # Topics with no commas (read as one word each), a team and the word "team" among them.
    typed = await chat.slash(
        "alice", "mentor join", role="mentor", topics="python team", team="web", capacity=3
    )
    said = typed.text()
    assert "Topics: python, team\nTeam: web" in said and "up to 3 mentees" in said, said


async def test_a_join_form_refused_gives_the_words_typed_in_it_back(
    bot: RunningBot, chat: DiscordChat
) -> None:
    """A Discord form closes when it is sent: refused (a role that is none), the topics
    and team typed in it come back whole in the answer, to use again, and nothing is
    saved. They used to be gone ("run `/mentor join` again")."""
    opened = await chat.slash("carol", "mentor join")
    topics = "Python, public speaking, team building, " + "distributed systems " * 3
    refused = await chat.submit("carol", opened, role="boss", topics=topics, team="Platform")
    assert refused.text() == (
        "“boss” is not a role: write mentor, mentee or both. Nothing was saved; run "
        "`/mentor join` again.\nHere is what you wrote, to use again:\n\n"
        f"topics: {topics.strip()}\n\nteam: Platform"
    )
    assert "not in the matching pool" in (await chat.slash("carol", "mentor profile")).text()
    # A capacity that is no number: the same, and a team left empty is not listed.
    opened = await chat.slash("carol", "mentor join")
    refused = await chat.submit("carol", opened, role="mentor", topics="go", capacity="lots")
    assert refused.text().endswith(
        "Nothing was saved; run `/mentor join` again.\nHere is what you wrote, to use "
        "again:\n\ntopics: go"
    ), refused.text()
