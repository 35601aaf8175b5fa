"""Bad input gets a clear reply and leaves the database exactly as it was."""

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from bot.engine import SORRY
from bot.events import ButtonClicked, CommandInvoked, FormSubmitted, MessageReceived
from bot.refs import Platform, UserRef
from bot.storage.models import Base, Win
from tests.conversation import Chat, pair_up


async def snapshot(chat: Chat) -> dict[str, list[Any]]:
    async with chat.database.transaction() as session:
        return {
            table.name: [
                tuple(row) for row in await session.execute(select(table).order_by(table.c.id))
            ]
            for table in Base.metadata.sorted_tables
        }


async def said_changing_nothing(chat: Chat, user: str, text: str) -> str:
    """``user`` says ``text``: the answer, once it is checked that no table changed."""
    before = await snapshot(chat)
    answer = await chat.say(user, text)
    assert await snapshot(chat) == before, "something was stored"
    return answer


# (what the person typed, a phrase the answer must contain)
BAD_COMMANDS = [
    ("/win", "Tell me what went well"),
    ("/win      ", "Tell me what went well"),
    ("/win \x00\x01\x02", "Tell me what went well"),
    ("/win   .  ", "Tell me what went well"),  # punctuation alone is no win
    ("/win ?!…", "Tell me what went well"),
    ("/win " + "x" * 3001, "3,001 characters long"),
    ("/win " + "🚀" * 3001, "3,001 characters long"),
    ("/win " + "a" * 1_000_000, "1,000,000 characters long"),
    ("/mentor frobnicate", "I don't know `/mentor frobnicate`"),
    # Other names for the commands, and /win typed after /mentor (its words said back).
    (
        "/mentor win shipped the parser",
        "Did you mean `/win shipped the parser`? Wins have a command of their own, so I didn't",
    ),
    # A long win comes back whole, to send as it is; its backticks as quotes.
    (
        "/mentor win " + "shipped `the` parser " * 12,
        "Did you mean `/win " + "shipped 'the' parser " * 11 + "shipped 'the' parser`?",
    ),
    ("/mentor wins", "I don't know `/mentor wins`. Did you mean `/mentor journal`?"),
    ("/mentor brag", "Did you mean `/mentor export`?"),
    ("/mentor goals", "Did you mean `/mentor milestone`?"),
    ("/mentor journal export", "Your journal comes as a brag doc with `/mentor export`."),
    ("/mentor pair", "Name two people"),
    ("/mentor pair @alice", "Name two people"),
    ("/mentor pair @alice @bob @carol", "A pair is two people, and you named 3"),
    ("/mentor pair @alice @alice", "two different people"),
    ("/mentor journal abc", "not a page number"),
    ("/mentor journal -1", "not a page number"),
    ("/mentor journal 99999999999999", "not a page number"),
    ("/mentor journal remove", "Say which win to remove, by its number in `/mentor journal`."),
    ("/mentor journal remove two", "Say which win to remove, by its number"),
    ("/mentor journal remove 0", "Say which win to remove, by its number"),
    ("/mentor journal remove 1 2", "Remove one win at a time, by its number"),
    ("/mentor journal remove 5", "Your journal has no win #5: it has 1 win."),
    ("/mentor journal remove @bob", "You can remove only your own wins, by their numbers"),
    ("/mentor milestone add", "Give the milestone a title"),
    ("/mentor milestone add " + "t" * 201, "keep it under 200"),
    ("/mentor milestone done 0", "by its number"),
    ("/mentor milestone done 1 2", "by its number"),
    ("/mentor milestone frob", "`frob` is not something"),
    ("/mentor milestone list extra", "takes no words"),
    ("/mentor milestone @alice done 1 @bob", "Name one partner: the pair the milestone is of."),
    # What cannot be done to a milestone says what can.
    ("/mentor milestone undo 1", "A milestone marked done stays done: reached milestones"),
    (
        "/mentor milestone rename 2 “Give a talk”",
        "can be replaced: `/mentor milestone remove 2`, then `/mentor milestone add Give a talk`.",
    ),
    ("/mentor milestone edit", "`/mentor milestone remove` with its number, then add it"),
    ("/mentor config shoutouts", "Name the shout-out channel"),
    ("/mentor config shoutouts wins", "Name the shout-out channel with #, like `#wins`, or"),
    # A name the platform did not turn into a channel mention: no channel has it.
    ("/mentor config shoutouts #équipe", "I can't find a channel called `#équipe`. Type #"),
    ("/mentor config shoutouts my wins", "Name the shout-out channel with #, or say `off`."),
    ("/mentor config shoutouts <#C1> <#C2>", "Name one shout-out channel, not 2:"),
    ("/mentor config timezone Mars/Olympus_Mons", "I don't know the timezone"),
    # A city alone is pointed to its zone; two zones are one too many.
    ("/mentor config timezone London", "the timezone 'London' (did you mean Europe/London?)"),
    ("/mentor config timezone new york", "'new york' (did you mean America/New_York?)"),
    ("/mentor config timezone Europe/Paris UTC", "Name one timezone, not 2: the one your"),
    ("/mentor config timezone ../../etc/passwd", "I don't know the timezone"),
    ("/mentor config timezone EST", "is an abbreviation"),
    ("/mentor config timezone", "Name your timezone"),
    ("/mentor config consent maybe", "consent on"),
    ("/mentor config colour blue", "no setting called `colour`"),
    ("/mentor end @bob extra", "partner's @mention"),
    ("/nonsense", "I don't know the command `/nonsense`"),
    ("/mentor pause 3x", "is not a length like `2w`"),
    # Commands that take no words say so, rather than doing what they always do.
    ("/mentor pair bob carol", "`bob` is not an @mention. Mention both people with @"),
    ("/mentor pair @bob carol", "`carol` is not an @mention."),
    ("/mentor stats 2026", "`/mentor stats` takes no words after it."),
    ("/mentor match now", "`/mentor match` takes no words after it."),
    ("/mentor export json", "`/mentor export` takes no words after it."),
    ("/mentor forget everything", "`/mentor forget` takes no words after it."),
    ("/mentor leave now", "`/mentor leave` takes no words after it."),
    ("/mentor status please", "I expected a partner's @mention, not `please`."),
    ("/mentor pause forever", "To stop the check-ins for good, end the pair"),
    ("/mentor pause for good", "To stop the check-ins for good, end the pair"),
    ("/mentor pause 0d", "from one day to six months"),
    ("/mentor pause 300d", "from one day to six months"),
    ("/mentor pause until 2027-13-45", "is not a day I can read: write it like 2027-01-10"),
    ("/mentor pause until Dec", "`Dec` is not a day I can read"),
    # Mentees ask a question with it, mentors give feedback: the answer fits both.
    ("/mentor feedback", "Write your question (mentors: your feedback) right after"),
    ("/mentor feedback " + "q" * 3001, "keep it under 3,000 so it fits in one message"),
    ("/mentor checkin @alice @bob", "partner's @mention"),
    ("/mentor skip now", "partner's @mention"),  # now: the open check-in is not skipped
    ("/mentor skip next next", "I expected a partner's @mention, not `next next`."),
    ("/mentor checkin now please", "I expected a partner's @mention, not `now please`."),
    # Commands in the wrong place: they need a pair, an admin, or a slash.
    ("/mentor end", "not in a mentoring pair yet"),
    ("/mentor milestone done 1", "not in a mentoring pair yet"),
    ("/mentor milestone list", "not in a mentoring pair yet"),
    ("/mentor cadence weekly", "not in a mentoring pair yet"),
    ("/mentor status", "not in a mentoring pair yet"),
    ("/mentor checkin", "not in a mentoring pair yet"),
    ("/mentor skip", "not in a mentoring pair yet"),
    ("/mentor pause", "not in a mentoring pair yet"),
    ("/mentor resume", "not in a mentoring pair yet"),
    ("/mentor review", "not in a mentoring pair yet"),
    ("/mentor feedback how should I structure my design doc?", "not in a mentoring pair yet"),
    ("/mentor config shoutouts #wins", "Only a workspace admin"),
    ("win shipped it", "Did you mean `/win shipped it`? I didn't save that"),
    ("Win: shipped the parser", "Did you mean `/win shipped the parser`? I didn't save that"),
    ("mentor status", "Did you mean `/mentor status`?"),
    ("hello?", "Hi! I keep mentoring pairs on a steady rhythm"),
    ("Thanks!", "You're welcome! 🙂"),
    ("thanks for the reminder", "not waiting for an answer"),
    ("Help!", "Here is what I can do:\n`/win <what went well>`"),
    ("?", "Here is what I can do:\n`/win <what went well>`"),
    ("!!!", "not waiting for an answer"),
    ("hello there, can you help me?", "not waiting for an answer"),
    ("'; DROP TABLE wins; --", "not waiting for an answer"),
]


@pytest.mark.parametrize(("line", "expected"), BAD_COMMANDS, ids=lambda v: repr(v)[:40])
async def test_bad_commands_get_a_clear_reply_and_change_nothing(
    chat: Chat, line: str, expected: str
) -> None:
    await chat.say("zoe", "/win something to have a row")  # not a pair member
    before = await snapshot(chat)
    answer = await chat.say("zoe", line)
    assert expected in answer
    assert "Traceback" not in answer and SORRY not in answer
    assert await snapshot(chat) == before


@pytest.mark.parametrize(
    "text",
    ["/win shipped the `parser`", " /WIN   shipped the `parser`", "/win\nshipped the `parser`"],
)
async def test_a_command_that_came_as_a_message_says_so_and_saves_nothing(
    chat: Chat, text: str
) -> None:
    """Typed in a DM without picking the command from the app's list (on Discord the
    commands are the server's, not a DM's), "/win …" arrives as a message: it is not
    saved as a win (nor as an answer), and the person is told so and what to send; their
    words come back whole, without the backticks that would break the code span."""
    await chat.say("zoe", "/win something to have a row")
    before = await snapshot(chat)
    [effect] = await chat.send(MessageReceived(user=chat.ref("zoe"), user_name="Zoe", text=text))
    said = effect.content.text  # type: ignore[union-attr]
    assert said == (
        "That reached me as a message, not as the /win command, so I didn't save it. Send "
        "it as a command, in a channel of the workspace: type /win, pick it from the list "
        "of commands, then the rest: `/win shipped the 'parser'`"
    )
    assert await snapshot(chat) == before


@pytest.mark.parametrize(
    ("command", "said"),
    [
        ("/win", "I didn't save that win: it is 3,001 characters long, and a win can be up to"),
        ("/mentor feedback", "I didn't send that: it is 3,001 characters; keep it under 3,000"),
    ],
)
async def test_words_refused_for_their_length_come_back_whole(
    chat: Chat, command: str, said: str
) -> None:
    """A slash command's words show nowhere once sent: refused for their length, they
    are given back (line breaks too) to shorten, and nothing is stored."""
    await pair_up(chat, "alice", "bob")
    before = await snapshot(chat)
    words = "The plan:\n" + "<b>&" * 747 + "!!!"
    answer = await chat.say("bob", f"{command} {words}")
    assert answer.startswith(said)
    assert answer.endswith(f"\nHere is what you wrote, to shorten:\n\n{words}")
    # A milestone's title too; a paste far past any limit is not sent back.
    title = "t" * 201
    titled = await chat.say("bob", f"/mentor milestone add {title}")
    assert titled.startswith("I didn't add that milestone: its title is 201 characters")
    assert titled.endswith(f"\n\n{title}")
    pasted = await chat.say("bob", "/win " + "a" * 10_001)
    assert pasted == (
        "I didn't save that win: it is 10,001 characters long, and a win can be up to 3,000. "
        "Could you say it shorter, or share it as two wins?"
    )
    assert await snapshot(chat) == before


# Commands whose refusal repeats a word of theirs ({} is that word).
ECHOING = [
    "/mentor {}",
    "/mentor milestone {} 1",
    "/mentor config {} on",
    "/mentor profile {} 2",
    "/mentor join {} python",
    "/mentor join mentor python capacity {}",
    "/mentor status {} please",
    "/mentor journal {}",
    "/mentor pair bob {}",
    "/mentor pair @alice @bob {}",
    "/mentor pause {}",
    "/mentor pause until {}",
    "/mentor config shoutouts {}",
    "/mentor config timezone {}",
    "/mentor config timezone Europe/{}",
    "/mentor cadence {}",
    "/mentor cadence weekly mon 10:00 {}",
    "/mentor cadence every {} weeks",
    "/mentor cadence mon {}",
]


@pytest.mark.parametrize("word", ["`rm`", "w" * 300], ids=["backticks", "long"])
@pytest.mark.parametrize("command", ECHOING)
async def test_words_said_back_in_an_error_are_short_and_keep_its_code_spans(
    chat: Chat, command: str, word: str
) -> None:
    """A refusal says back the word it could not use, in a code span or quotes: a long
    word cut short (it is retyped anyway), and backticks of theirs as quotes, so the
    code span does not end there and the rest show as typed (Slack mrkdwn, Discord)."""
    await pair_up(chat, "alice", "bob")
    answer = await said_changing_nothing(chat, "bob", command.format(word))
    assert "Traceback" not in answer and SORRY not in answer
    for line in answer.splitlines():
        assert line.count("`") % 2 == 0, line
    assert "w" * 41 not in answer


async def test_unknown_subcommand_shows_the_help(chat: Chat) -> None:
    answer = await chat.say("alice", "/mentor frobnicate")
    assert "/mentor pair @mentor @mentee" in answer and "/win <what went well>" in answer


FORGED_ACTIONS = ["flow:999999:accept", "flow:abc:accept", "flow:1", "journal:abc", "", "x" * 5000]


@pytest.mark.parametrize("action", FORGED_ACTIONS, ids=lambda v: repr(v)[:20])
async def test_forged_or_stale_buttons_change_nothing(chat: Chat, action: str) -> None:
    await chat.say("alice", "/mentor pair @alice @bob")
    before = await snapshot(chat)
    event = ButtonClicked(user=chat.ref("bob"), action_id=action, message_id="m1")
    effects = await chat.send(event)
    assert "no longer open, so nothing changed" in effects[0].content.text  # type: ignore[union-attr]
    assert await snapshot(chat) == before


async def test_a_button_from_another_workspace_does_nothing(chat: Chat) -> None:
    await chat.say("alice", "/mentor pair @alice @bob")
    (accept, _) = chat.buttons("bob")
    before = await snapshot(chat)
    stranger = UserRef(Platform.CONSOLE, "OTHER-WORKSPACE", "bob")
    effects = await chat.send(ButtonClicked(user=stranger, action_id=accept.action_id))
    assert "no longer open, so nothing changed" in effects[0].content.text  # type: ignore[union-attr]
    after = await snapshot(chat)
    # Only the stranger's workspace and member rows were added; the pair is untouched.
    assert after["pairs"] == before["pairs"] and after["flow_sessions"] == before["flow_sessions"]


async def test_a_form_that_is_not_open(chat: Chat) -> None:
    effects = await chat.send(FormSubmitted(user=chat.ref("alice"), form_id="nope", values={}))
    assert "no longer open" in effects[0].content.text  # type: ignore[union-attr]


async def test_a_failure_midway_rolls_back_the_whole_event(chat: Chat) -> None:
    """The win and its partner DM are one transaction: if queueing the DM fails, the win
    is not stored either, and the person is told nothing was saved."""
    await pair_up(chat, "alice", "bob")
    before = await snapshot(chat)
    async with chat.database.transaction() as session:
        await session.execute(text("ALTER TABLE outbox RENAME TO outbox_away"))
    try:
        effects = await chat.engine.handle(
            CommandInvoked(user=chat.ref("alice"), command="win", text="lost?")
        )
    finally:
        async with chat.database.transaction() as session:
            await session.execute(text("ALTER TABLE outbox_away RENAME TO outbox"))
    assert effects[0].content.text == SORRY  # type: ignore[union-attr]
    async with chat.database.transaction() as session:
        assert list((await session.execute(select(Win.text))).scalars()) == []
    assert await snapshot(chat) == before


async def test_a_typed_yes_to_a_question_of_buttons_says_where_to_press(chat: Chat) -> None:
    """ "yes" typed to a proposal said "I'm not waiting for an answer from you", which
    was not true. A question only its buttons answer is named, and the typed word is no
    answer to it: nothing changes, and a forget's "yes" never deletes."""
    await chat.say("alice", "/mentor pair @alice @bob")
    await chat.say("bob", "/mentor help")  # bob's first word to the bot records his name
    assert await said_changing_nothing(chat, "bob", "yes") == (
        "I didn't save that: a proposed pair (<@alice> mentoring you) waits for your answer. "
        "Answer with [Accept] or [Decline] in the DM that proposed it; `/mentor pair` "
        "<@alice> <@bob> sends it to you again."
    )
    # alice accepted it by proposing: nothing of hers waits.
    assert "not waiting for an answer" in await chat.say("alice", "yes")
    await chat.say("bob", "/mentor forget")
    assert await said_changing_nothing(chat, "bob", "yes, delete everything") == (
        "I didn't delete anything: your data stays unless you press [Delete everything] "
        "where `/mentor forget` asked you."
    )
    # A day on, the forget question is old: the proposal is what still waits.
    await chat.advance(timedelta(days=1, minutes=1))
    assert (await chat.say("bob", "ok")).startswith("I didn't save that: a proposed pair")
    await chat.click("bob", "Accept")
    assert "not waiting for an answer" in await chat.say("bob", "ok")
