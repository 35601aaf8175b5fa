"""Matching through the Engine: joining the pool, a round previewed and sent by an admin,
answers, declines, expiry, and the pool in the stats."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.clock import ManualClock
from bot.effects import ReplyEphemeral
from bot.events import CommandInvoked
from bot.storage.database import Database
from bot.storage.models import MatchProfile, MatchTopic, Pair, PairState
from tests.conversation import Chat, pair_up
from tests.statements import trips_per_event
from tests.test_rhythm import status


async def answer(chat: Chat, user: str, words: str, label: str) -> str:
    """Press ``label`` on the newest message to ``user`` that says ``words``."""
    for seen in reversed(chat.recorder.seen):
        if seen.user == user and words in seen.content.text:
            for button in seen.content.buttons:
                if button.label == label:
                    return await chat.press(user, button, seen.message_id)
    raise AssertionError(f"{user} saw no message with {words!r} and [{label}]")


async def join_five(chat: Chat) -> None:
    await chat.say("alice", "/mentor config timezone Europe/Berlin")
    await chat.say("mia", "/mentor config timezone Europe/Paris")
    await chat.say("mo", "/mentor config timezone America/New_York")
    assert "You're in the matching pool" in await chat.say(
        "mia", "/mentor join mentor Python, Databases capacity 2 team payments"
    )
    await chat.say("mo", "/mentor join mentor design, public speaking")
    await chat.say("eve", "/mentor join mentee python")
    await chat.say("ed", "/mentor join mentee public speaking, career team payments")
    await chat.say("ela", "/mentor join mentee database")


async def run_round(chat: Chat, *accepting: str) -> None:
    """alice (an admin) runs a round and sends it; each of ``accepting`` accepts."""
    await chat.say("alice", "/mentor match")
    await chat.click("alice", "Send proposals")
    for user in accepting:
        await chat.click(user, "Accept")


async def test_join_normalises_topics_and_suggests_those_in_use(
    chat: Chat, database: Database
) -> None:
    await chat.say("mia", "/mentor join mentor Python, Databases  capacity 2 team Payments")
    answer = await chat.say("eve", "/mentor join mentee PYTHON")
    assert "Topics: python" in answer
    assert "\nTimezone: not known yet, so UTC" in answer  # spelled as everywhere else
    assert "Topics others named here: database." in answer
    async with database.transaction() as session:
        names = set((await session.execute(select(MatchTopic.name))).scalars())
        assert names == {"python", "database"}
    profile = await chat.say("mia", "/mentor profile")
    assert "Role: a mentor (up to 2 mentees at once)" in profile
    assert "Topics: database, python" in profile and "Team: payments" in profile


async def test_joining_again_says_the_person_was_in_already_and_what_changed(
    chat: Chat,
) -> None:
    """A second ``/mentor join`` does not read as a first one: it says whether it changed
    the profile (and a mentor of both roles reads "mentees", as a mentor alone does)."""
    first = await chat.say("mia", "/mentor join both python, go capacity 2 team platform")
    assert first.startswith("You're in the matching pool.\n")
    assert "Role: a mentor (up to 2 mentees at once) and a mentee" in first
    same = await chat.say("mia", "/mentor join both go, python capacity 2 team platform")
    assert same.startswith("You're in the matching pool already, with this profile:\n")
    changed = await chat.say("mia", "/mentor join mentee rust")
    assert changed.startswith(
        "You were in the matching pool already; I changed your profile to this:\n"
        "Role: a mentee\nTopics: rust\nTeam: platform\n"
    )
    # Joining again names the topics anew; what went is said, with how to keep both.
    assert (
        "Joining again replaced your topics: go, python are no longer among them. To keep "
        "them as well: `/mentor profile topics go, python, rust`"
    ) in changed
    assert "replaced your topics" not in same
    added = await chat.say("mia", "/mentor join mentee rust, go")
    assert "replaced your topics" not in added  # nothing went
    await chat.say("mia", "/mentor leave")
    back = await chat.say("mia", "/mentor join mentee rust")
    assert back.startswith("You're in the matching pool.\n")
    assert "replaced your topics" not in back  # back after leaving: a fresh start


async def test_joining_again_with_ten_topics_says_how_many_a_profile_has(chat: Chat) -> None:
    ten = ", ".join(f"topic {n}" for n in range(10))
    await chat.say("mia", f"/mentor join mentee {ten}")
    answer = await chat.say("mia", "/mentor join mentee rust")
    assert (
        "Joining again replaced your topics: topic 0, topic 1, topic 2, topic 3, topic 4, "
        "topic 5, topic 6, topic 7, topic 8, topic 9 are no longer among them. A profile has "
        "up to 10 topics: `/mentor profile topics …` sets them."
    ) in answer


async def test_bad_join_words_are_explained(chat: Chat) -> None:
    assert "mentor, a mentee or both" in await chat.say("eve", "/mentor join teacher python")
    assert "from 1 to 10" in await chat.say("eve", "/mentor join mentor python capacity 11")
    assert "Name at least one topic" in await chat.say("eve", "/mentor join mentee")
    assert "Capacity is for mentors" in await chat.say("eve", "/mentor join mentee go capacity 2")
    # "team" or "capacity" last, with nothing after it, is asked for (not a topic), and
    # nothing is stored.
    no_team = await chat.say("eve", "/mentor join mentor python team")
    assert no_team.startswith("Say your team's name after `team`.")
    no_capacity = await chat.say("eve", "/mentor join mentor python, capacity")
    assert no_capacity.startswith("Say how many mentees at once after `capacity`.")
    # A topic too long is quoted only as far as the limit.
    assert (await chat.say("eve", "/mentor join mentor " + "y" * 200)).startswith(
        "The topic “" + "y" * 40 + "…” is longer than 40 characters.\nUsage:"
    )
    # A label given twice: which one was meant is a guess, so nothing is stored.
    assert (await chat.say("eve", "/mentor join mentor rust capacity 2 capacity 3")).startswith(
        "You gave `capacity` twice (`2` and `3`): say it once."
    )
    assert (await chat.say("eve", "/mentor join mentor rust team none team web")).startswith(
        "You gave `team` twice (`none` and `web`): say it once."
    )
    # In the console there is no form: the words are needed.
    assert "Say how you join" in await chat.say("eve", "/mentor join")
    assert "not in the matching pool" in await chat.say("eve", "/mentor profile")
    assert "nothing to leave" in await chat.say("eve", "/mentor leave")


async def test_labels_typed_as_the_usage_reads_them_are_labels_not_topics(
    chat: Chat, database: Database
) -> None:
    """The usage line reads ``[topics…] [capacity N] [team NAME]``: people type the word
    "topics", and colons after the labels. None of them becomes a topic called "topics
    python"; a topic that starts with "topic" stays whole."""
    joined = await chat.say(
        "mia", "/mentor join mentor topics: python, public speaking capacity: 2 team: payments"
    )
    assert "Topics: public speaking, python" in joined
    assert "up to 2 mentees" in joined and "Team: payments" in joined
    assert "Topics: python" in await chat.say("eve", "/mentor join mentee topics python")
    nlp = await chat.say("ed", "/mentor join mentee topic modelling, sql")
    assert "Topics: sql, topic modelling" in nlp
    assert "Topics: go, rust" in await chat.say("eve", "/mentor profile topics: rust, go")
    async with database.transaction() as session:
        names = set((await session.execute(select(MatchTopic.name))).scalars())
    assert names == {"python", "public speaking", "topic modelling", "sql", "rust", "go"}


async def test_team_and_capacity_words_inside_the_topics_stay_topics(
    chat: Chat, database: Database
) -> None:
    """ "Team leadership", "team building" and "capacity planning" are common mentoring
    topics. A label is ``capacity N`` (a number) or ``team NAME`` where the name runs to
    the end (or the next label) and starts no item of the list; "team leadership" after a
    comma, or with more topics after it, is a topic. It used to become the team (and was
    lost as a topic), or "capacity planning" an error."""
    joined = await chat.say("mia", "/mentor join mentor python, team leadership, hiring")
    assert "Topics: hiring, python, team leadership\nTeam: none" in joined
    joined = await chat.say("ed", "/mentor join mentor capacity planning, team building")
    assert "Topics: capacity planning, team building\nTeam: none" in joined
    assert "up to 1 mentee at once" in joined
    # A team of two words, at the end as the usage line has it, or in quotes.
    joined = await chat.say("mo", "/mentor join mentor python capacity 2 team platform infra")
    assert "Topics: python" in joined and "Team: platform infra" in joined
    assert "up to 2 mentees" in joined
    # A capacity in words is still a capacity, asked for in digits.
    assert "not “two”" in await chat.say("ed", "/mentor join mentor python capacity two")
    joined = await chat.say("eve", '/mentor join mentee go team "platform infra"')
    assert "Topics: go\n" in joined and "Team: platform infra" in joined
    async with database.transaction() as session:
        names = set((await session.execute(select(MatchTopic.name))).scalars())
        teams = set((await session.execute(select(MatchProfile.team))).scalars())
    assert names == {
        "python",
        "team leadership",
        "hiring",
        "capacity planning",
        "team building",
        "go",
    }
    assert teams == {None, "platform infra"}


async def test_a_dry_run_asks_for_the_preview_every_round_starts_with(chat: Chat) -> None:
    await join_five(chat)
    for words in ("dry-run", "--dry-run", "preview"):
        preview = await chat.say("alice", f"/mentor match {words}")
        assert preview.startswith("Matching round preview: 3 pairs. Nobody has been told")
    assert "takes no words after it" in await chat.say("alice", "/mentor match now")
    assert not any(chat.dms(user) for user in ("mia", "mo", "eve", "ed", "ela"))


async def test_only_admins_run_a_round_and_nobody_hears_before_send(chat: Chat) -> None:
    await join_five(chat)
    assert "Only a workspace admin" in await chat.say("eve", "/mentor match")
    preview = await chat.say("alice", "/mentor match")
    assert "Matching round preview: 3 pairs" in preview
    assert (
        "<@mia> mentors <@eve> (score 18): shared topics: python; 8 of 9 working hours shared"
        in preview
    )
    assert (
        "<@mo> mentors <@ed> (score 14): shared topics: public speaking; "
        "4 of 9 working hours shared" in preview
    )
    assert not any(chat.dms(user) for user in ("mia", "mo", "eve", "ed", "ela"))
    assert [b.label for b in chat.buttons("alice")] == ["Send proposals", "Cancel"]
    assert "Canceled" in await chat.click("alice", "Cancel")
    assert "already closed" in await chat.click("alice", "Send proposals")
    assert not any(chat.dms(user) for user in ("mia", "mo", "eve", "ed", "ela"))


async def test_sent_proposals_ask_both_and_a_decline_changes_the_next_round(
    chat: Chat, database: Database
) -> None:
    await join_five(chat)
    await chat.say("alice", "/mentor match")
    with trips_per_event(chat) as trips, trips_per_event(chat, on_thread=True) as threaded:
        sent = await chat.click("alice", "Send proposals")
    assert "Sent 3 proposals" in sent
    if chat.database.is_sqlite:
        # Not a brief unit of work (bot/engine.py ``_brief``): it proposes every pair of
        # the round at once, so it goes to aiosqlite's thread, never the loop's.
        assert threaded == trips
        assert trips[0] > 0
    assert "already sent" in await chat.click("alice", "Send proposals")
    assert "The matching round suggests a pair: <@mia> mentoring <@eve>" in chat.dms("eve")[-1]
    assert "would you like to mentor <@eve>?" in chat.dms("mia")[0]
    # Both accept mia/eve: a pair, and alice (who sent the round) hears it.
    await chat.click("eve", "Accept")
    # mia's two proposals came in one DM (one event, one message): eve's is the first.
    await answer(chat, "mia", "mentor <@eve>", "Accept Eve")
    told = "🤝 <@mia> and <@eve> both accepted: <@mia> is mentoring <@eve>."
    assert any(t.startswith(told) for t in chat.dms("alice"))
    assert not any("You're paired" in t for t in chat.dms("alice"))
    # ed declines mo: both are back in the pool, never proposed together again.
    await chat.click("ed", "Decline")
    # mo joins a mentor from another team: ed's round goes to the new one.
    await chat.say("max", "/mentor join mentor public speaking, career")
    preview = await chat.say("alice", "/mentor match")
    assert "<@max> mentors <@ed>" in preview
    assert "<@mo> mentors <@ed>" not in preview
    # A mentee paired since joining is not matched again; mia's second place is taken.
    assert "<@eve>" not in preview
    async with database.transaction() as session:
        states = {
            (p.mentor_id, p.mentee_id): p.state
            for p in (await session.execute(select(Pair))).scalars()
        }
    assert PairState.DECLINED.value in states.values()


async def test_someone_proposed_as_a_mentor_and_as_a_mentee_reads_whom_each_button_is_for(
    chat: Chat,
) -> None:
    """dave joined as both: one round asks him to mentor carol and to be mentored by
    mia, in one DM. Its buttons name the other person of each ([Accept (1)] ... before:
    only a mentor with two mentees had named buttons)."""
    await chat.say("mia", "/mentor join mentor python, go capacity 2")
    await chat.say("bob", "/mentor join mentee python")
    await chat.say("carol", "/mentor join mentee go")
    await chat.say("dave", "/mentor join both rust")
    preview = await chat.say("alice", "/mentor match")
    assert "<@dave> mentors <@carol>" in preview and "<@mia> mentors <@dave>" in preview
    assert "Sent 3 proposals" in await chat.click("alice", "Send proposals")
    [to_dave] = [s.content for s in chat.recorder.seen if s.user == "dave" and s.kind == "dm"]
    assert to_dave.text.index("<@dave> mentoring <@carol>") < to_dave.text.index(
        "<@mia> mentoring <@dave>"
    )
    assert [b.label for b in to_dave.buttons] == [
        "Accept Carol",
        "Decline Carol",
        "Accept Mia",
        "Decline Mia",
    ]
    assert "Waiting for <@mia>" in await answer(chat, "dave", "mentoring <@dave>", "Accept Mia")
    assert "declined" in await answer(chat, "dave", "mentoring <@carol>", "Decline Carol")
    # mia, proposed two mentees, reads their names; bob and carol, proposed once, don't.
    assert [b.label for b in chat.buttons("mia")] == [
        "Accept Bob",
        "Decline Bob",
        "Accept Dave",
        "Decline Dave",
    ]
    assert [b.label for b in chat.buttons("carol")] == ["Accept", "Decline"]


async def test_a_preview_sent_after_the_pool_changed_says_what_was_not_sent(
    chat: Chat,
) -> None:
    """A preview sent after the pool changed: the pairs that no longer fit are counted
    in words that agree with the count ("1 pair no longer fits and was not sent"), and
    a preview none of whose pairs fits says first that no proposal was sent (it said
    "Sent 0 proposals: I asked both people of each pair.")."""
    await join_five(chat)
    older = await chat.send(CommandInvoked(user=chat.ref("alice"), command="mentor", text="match"))
    await chat.say("alice", "/mentor match")
    await chat.say("ed", "/mentor leave")
    assert (await chat.click("alice", "Send proposals")).startswith(
        "Sent 2 proposals: I asked both people of each pair. 1 pair no longer fits and was "
        "not sent (someone left the pool, was paired meanwhile, or a mentor's places "
        "filled)."
    )
    [preview] = [e for e in older if isinstance(e, ReplyEphemeral)]
    [send] = [b for b in preview.content.buttons if b.label == "Send proposals"]
    assert await chat.press("alice", send) == (
        "No proposal was sent: since this preview, none of its 3 pairs fits any more "
        "(someone left the pool, was paired meanwhile, or a mentor's places filled). "
        "`/mentor match` makes a new preview from the pool as it is now."
    )


async def test_mentor_capacity_counts_active_pairs_and_open_proposals(chat: Chat) -> None:
    await chat.say("mia", "/mentor join mentor python")
    await chat.say("eve", "/mentor join mentee python")
    await chat.say("ela", "/mentor join mentee python")
    await chat.say("alice", "/mentor match")
    await chat.click("alice", "Send proposals")
    preview = await chat.say("alice", "/mentor match")
    assert "No pair can be proposed right now." in preview
    assert "no mentor has room" in preview


async def test_an_unanswered_proposal_expires_after_a_week_and_the_admin_is_told(
    chat: Chat, clock: ManualClock
) -> None:
    await chat.say("mia", "/mentor join mentor python")
    await chat.say("eve", "/mentor join mentee python")
    await chat.say("alice", "/mentor match")
    await chat.click("alice", "Send proposals")
    await chat.advance(timedelta(days=6))
    assert not any("expired" in t for t in chat.dms("alice"))
    await chat.advance(timedelta(days=1, hours=1))
    assert any(
        "A matching proposal expired: <@mia> mentoring <@eve>" in t for t in chat.dms("alice")
    )
    assert "expired after 7 days" in chat.dms("eve")[-1]
    assert "didn't go ahead" in await chat.click("eve", "Accept")
    stats = await chat.say("alice", "/mentor stats")
    # One of each is counted as one ("1 mentor", not "1 mentors").
    assert "Matching pool: 1 mentor with 1 open place, 1 mentee waiting" in stats
    assert "1 proposal sent, 0% accepted (0 of 1 answered or expired; 0 open)" in stats
    # Those two are not proposed again, and the admin reads why (nobody declined).
    again = await chat.say("alice", "/mentor match")
    assert "No pair can be proposed" in again
    assert "<@eve>: the mentors with room were paired or proposed with them before" in again


async def test_leave_takes_a_person_out_of_the_next_round_and_keeps_pairs(
    chat: Chat, database: Database
) -> None:
    await chat.say("mia", "/mentor join mentor python")
    await chat.say("eve", "/mentor join mentee python")
    assert "You left the matching pool" in await chat.say("eve", "/mentor leave")
    # Only mia is left: the round says there is no mentee to match, not that each has one.
    nobody = await chat.say("alice", "/mentor match")
    assert nobody.startswith("No pair can be proposed right now: no mentee in the pool is")
    assert "Every mentee in the pool has a proposal" not in nobody
    assert "You're in the matching pool" in await chat.say("eve", "/mentor join mentee python")
    assert "<@mia> mentors <@eve>" in await chat.say("alice", "/mentor match")
    async with database.transaction() as session:
        assert len((await session.execute(select(MatchProfile))).scalars().all()) == 2


async def test_leaving_with_a_round_proposal_open_says_it_still_waits_and_how_to_say_no(
    chat: Chat,
) -> None:
    """Leaving the pool answers no proposal a round sent: the answer says which still
    wait, and how to decline one (it said only "Your pairs stay as they are")."""
    await join_five(chat)
    await run_round(chat)
    left = await chat.say("mia", "/mentor leave")
    assert left.endswith(
        "\nProposals from a matching round still wait for an answer: you mentoring <@eve>, "
        "you mentoring <@ela>. Leaving the pool doesn't answer them; to say no to one, "
        "`/mentor end` with the partner, as in `/mentor end` <@eve>."
    )
    assert await chat.say("eve", "/mentor leave") == (
        "You left the matching pool: no round will propose you now. Your pairs stay as they "
        "are, and `/mentor join` puts you back.\nA proposal from a matching round still "
        "waits for an answer: <@mia> mentoring you. Leaving the pool doesn't answer it; to "
        "say no: `/mentor end` <@mia>."
    )
    # The way it names works; a proposal answered, or one made by hand, is not listed.
    await chat.say("ed", "/mentor end <@mo>")
    await chat.click("ed", "Decline it")
    assert "I asked <@mo>" in await chat.say("ed", "/mentor pair <@mo> <@ed>")
    assert "\n" not in await chat.say("ed", "/mentor leave")


async def test_words_that_join_topics_or_say_the_role_are_not_topics(chat: Chat) -> None:
    """ "python and go" made a topic called "and"; "join as a mentor" and "mentee:" were
    refused as roles. A topic with "and" inside stays whole when commas part them."""
    assert "Topics: go, python\n" in await chat.say("mia", "/mentor join mentor python and go")
    assert "Topics: go, sql\n" in await chat.say("mia", "/mentor join as a mentor sql, and go")
    joined = await chat.say("ed", "/mentor join mentee: rock and roll, jazz")
    assert "Role: a mentee\nTopics: jazz, rock and roll\n" in joined


async def test_words_typed_without_commas_join_a_topic_already_in_use(chat: Chat) -> None:
    await chat.say("mo", "/mentor join mentor public speaking, design")
    answer = await chat.say("ed", "/mentor join mentee Public Speaking career")
    assert "Topics: career, public speaking" in answer


async def test_profile_edits_one_setting_at_a_time(chat: Chat) -> None:
    await chat.say("mia", "/mentor join mentor python team payments")
    assert "Topics: career, sql" in await chat.say("mia", "/mentor profile topics SQL, careers")
    assert "up to 3 mentees" in await chat.say("mia", "/mentor profile capacity 3")
    assert "Team: none" in await chat.say("mia", "/mentor profile team none")
    answer = await chat.say("mia", "/mentor profile role mentee")
    assert "Role: a mentee" in answer and "Topics: career, sql" in answer
    assert "Capacity is for mentors" in await chat.say("mia", "/mentor profile capacity 2")
    # Said again: nothing changes, and the answer says so rather than "Saved."
    assert (await chat.say("mia", "/mentor profile role mentee")).startswith(
        "Your profile says that already, so nothing changed. Your matching profile:\nRole: "
        "a mentee\n"
    )
    assert (await chat.say("mia", "/mentor profile topics careers, sql")).startswith(
        "Your profile says that already"
    )
    assert "no profile setting called `colour`" in await chat.say("mia", "/mentor profile colour x")
    assert "no profile setting called `colour`" in await chat.say("mia", "/mentor profile colour")
    # A setting named with nothing after it, or a bad value: the example is of that setting.
    assert (await chat.say("mia", "/mentor profile capacity")) == (
        "Say what to set `capacity` to.\nUsage: `/mentor profile [role mentor|mentee|both | "
        "topics … | capacity N | team NAME|none]`\nExample: `/mentor profile capacity 2`"
    )
    assert "Example: `/mentor profile role both`" in await chat.say("mia", "/mentor profile role")
    assert "Example: `/mentor profile role both`" in await chat.say(
        "mia", "/mentor profile role boss"
    )
    assert "Example: `/mentor profile capacity 2`" in await chat.say(
        "mia", "/mentor profile capacity 99"
    )


async def test_a_paired_mentee_is_matched_again_only_after_joining_again(chat: Chat) -> None:
    await chat.say("mia", "/mentor join mentor python capacity 2")
    await chat.say("mo", "/mentor join mentor python")
    await chat.say("eve", "/mentor join mentee python")
    await chat.say("alice", "/mentor match")
    await chat.click("alice", "Send proposals")
    await chat.click("eve", "Accept")
    await answer(chat, "mo" if "<@mo>" in chat.dms("eve")[-1] else "mia", "<@eve>", "Accept")
    # Editing the profile is not asking for another mentor.
    await chat.say("eve", "/mentor profile topics python, sql")
    assert "No pair can be proposed" in await chat.say("alice", "/mentor match")
    await chat.advance(timedelta(days=1))
    await chat.say("eve", "/mentor join mentee python, sql")
    again = await chat.say("alice", "/mentor match")
    assert "Matching round preview: 1 pair." in again and "mentors <@eve>" in again


async def test_status_of_a_proposed_pair_says_whom_it_waits_for_and_when_it_expires(
    chat: Chat,
) -> None:
    """A pair not formed yet reads as a proposal: who has accepted, how to answer (and
    find the question again), and when a round's proposal expires, in the reader's own
    time; not a streak, wins and milestones of a pair that has not started."""
    await chat.say("ed", "/mentor config timezone Asia/Tokyo")
    await chat.say("mia", "/mentor config timezone Europe/Paris")
    await chat.say("mia", "/mentor join mentor python")
    await chat.say("ed", "/mentor join mentee python")
    await run_round(chat)
    theirs = await status(chat, "ed")
    assert theirs == (
        "Your mentoring at a glance:\n"
        "<@mia> mentoring you\n"
        "State: proposed; waiting for your answer\n"
        "The proposal expires Wed 2 Dec, 21:00 (Asia/Tokyo) if not answered.\n"
        "Answer with [Accept] or [Decline] in the DM that proposed it; `/mentor pair` "
        "<@mia> <@ed> sends it to you again.\n"
        "Check-ins once you both accept: every Monday at 10:00 (Asia/Tokyo)"
    )
    await chat.click("mia", "Accept")
    mine = await status(chat, "mia")
    assert "State: proposed; you accepted, waiting for <@ed>" in mine
    assert "The proposal expires Wed 2 Dec, 13:00 (Europe/Paris) if not answered." in mine
    assert "Answer with" not in mine and "Streak" not in mine and "Wins this month" not in mine
    assert "State: proposed; waiting for your answer (<@mia> has accepted)" in await status(
        chat, "ed"
    )
    # The hint works: the question comes again, and answering it forms the pair.
    assert "I sent you the question again" in await chat.say("ed", "/mentor pair @mia @ed")
    assert "You're paired" in await chat.click("ed", "Accept")
    formed = await status(chat, "ed")
    assert "State: active" in formed and "Streak: 0 check-ins in a row" in formed
    # A proposal made with /mentor pair has no expiry.
    await chat.say("bob", "/mentor pair @bob @carol")
    waiting = await status(chat, "carol")
    assert "State: proposed; waiting for your answer (<@bob> has accepted)" in waiting
    assert "expires" not in waiting


async def test_the_profile_says_where_the_person_stands_in_the_pool(chat: Chat) -> None:
    """``/mentor profile`` (and the join reply) says what a round would do with the
    person now: a mentor's places taken, and whether a round looks for a mentor for
    them, is waiting on a proposal, or won't look as they have one."""
    await chat.say("mia", "/mentor config timezone Europe/Paris")
    # A first join says what happens next, not where they stand (nowhere yet).
    joined = await chat.say("mia", "/mentor join mentor python capacity 2")
    assert "Places" not in joined and "An admin runs the matching rounds" in joined
    await chat.say("ed", "/mentor join mentee python")
    mine = await chat.say("mia", "/mentor profile")
    assert "Places: 0 of 2 taken" in mine
    assert "Matching:" not in mine  # a mentor alone is not looking for a mentor
    waiting = await chat.say("ed", "/mentor profile")
    assert (
        "Matching: waiting for a mentor since Wed 25 Nov; the next round an admin runs "
        "looks for one." in waiting
    )
    assert "Places" not in waiting
    await run_round(chat)
    assert "Places: 1 of 2 taken: <@ed> (proposed)" in await chat.say("mia", "/mentor profile")
    assert (
        "Matching: <@mia> is proposed as your mentor; no round proposes you another while "
        "that waits." in await chat.say("ed", "/mentor profile")
    )
    await chat.click("mia", "Accept")
    await chat.click("ed", "Accept")
    assert "Places: 1 of 2 taken: <@ed>\n" in await chat.say("mia", "/mentor profile")
    assert (
        "Matching: you have a mentor (<@mia>), so rounds don't look for another. Joining "
        "again (`/mentor join mentee …`) asks for one." in await chat.say("ed", "/mentor profile")
    )
    # Full, then a capacity lowered below the pairs she has: the pairs stay.
    await chat.say("una", "/mentor join mentee python")
    await run_round(chat)
    assert (
        "Places: all 2 taken: <@ed>, <@una> (proposed). No round proposes you another "
        "mentee until one is free." in await chat.say("mia", "/mentor profile")
    )
    assert "Places: 2 taken, more than your 1: <@ed>, <@una> (proposed)." in await chat.say(
        "mia", "/mentor profile capacity 1"
    )
    # A profile left says so, and nothing about places.
    await chat.say("mia", "/mentor leave")
    left = await chat.say("mia", "/mentor profile")
    assert "You left the pool" in left and "Places" not in left
    # Nor how to change it or leave: a profile left is not changed until they join again.
    assert left.endswith("You left the pool; `/mentor join` puts you back.")
    assert "not in the matching pool" in await chat.say("mia", "/mentor profile capacity 2")


async def test_joining_again_with_a_mentor_says_it_asks_for_another(chat: Chat) -> None:
    """A paired mentee who runs ``/mentor join`` again asks the next round for another
    mentor: the reply says so and how to undo it, not "I changed your profile"."""
    await chat.say("mia", "/mentor join mentor python")
    await chat.say("ed", "/mentor join mentee python")
    await run_round(chat, "mia", "ed")
    await chat.advance(timedelta(days=1))
    again = await chat.say("ed", "/mentor join mentee python")
    assert again.startswith(
        "You have a mentor already, so joining again asks the next round for another mentor "
        "as well. If you didn't mean that, `/mentor leave` takes you out of the pool (your "
        "pairs stay). Your profile:\n"
    )
    assert "I changed your profile" not in again
    assert "Matching: waiting for another mentor (besides <@mia>) since Thu 26 Nov" in again
    # Asked once: a second join is "already in", and leave takes the request back.
    assert (await chat.say("ed", "/mentor join mentee python")).startswith(
        "You're in the matching pool already, with this profile:"
    )
    await chat.say("mo", "/mentor join mentor python")
    assert "<@mo> mentors <@ed>" in await chat.say("alice", "/mentor match")
    await chat.say("ed", "/mentor leave")
    assert "No pair can be proposed" in await chat.say("alice", "/mentor match")


async def test_joining_for_the_first_time_with_a_mentor_says_it_asks_for_another(
    chat: Chat,
) -> None:
    """ed has a mentor by `/mentor pair`, not by a round. His first `/mentor join mentee`
    asks the next round for another mentor too: the reply says so, and how to undo it
    (before, it read as any first join, and only his profile said it)."""
    await pair_up(chat, "mia", "ed")
    await chat.advance(timedelta(days=1))
    joined = await chat.say("ed", "/mentor join mentee python")
    assert joined.startswith(
        "You're in the matching pool. You have a mentor already, so joining asks the next "
        "round for another mentor as well. If you didn't mean that, `/mentor leave` takes "
        "you out of the pool (your pairs stay). Your profile:\n"
    )
    assert "Matching: waiting for another mentor (besides <@mia>) since Thu 26 Nov" in joined
    await chat.say("mo", "/mentor join mentor python")
    assert "<@mo> mentors <@ed>" in await chat.say("alice", "/mentor match")
    # Without a mentor, a first join reads as before; a pair only proposed is no mentor
    # yet (no round proposes another while it waits).
    first = await chat.say("una", "/mentor join mentee python")
    assert first.startswith("You're in the matching pool.\nRole: a mentee")
    assert "Matching:" not in first
    await chat.say("mia", "/mentor pair @mia @ivy")
    proposed = await chat.say("ivy", "/mentor join mentee python")
    assert proposed.startswith("You're in the matching pool.\nRole: a mentee")


async def test_status_without_a_pair_says_the_pool_looks_for_one(chat: Chat) -> None:
    """Someone in the pool with no pair reads that a round is looking for them, not
    only to start a pair themselves; an ended pair is still told about."""
    before = await chat.say("ed", "/mentor status")
    assert (
        before
        == "You're not in a mentoring pair yet. Start one with `/mentor pair @mentor @mentee`."
    )
    await chat.say("ed", "/mentor join mentee python")
    assert await chat.say("ed", "/mentor status") == (
        "You're not in a mentoring pair yet. You're in the matching pool: the next matching "
        "round an admin runs looks for a mentor for you (`/mentor profile` shows what it "
        "goes by). To pair with someone you know, use `/mentor pair @mentor @mentee`."
    )
    await chat.say("mia", "/mentor join mentor python")
    assert "looks for a mentee for you" in await chat.say("mia", "/mentor status")
    await run_round(chat, "mia", "ed")
    await chat.say("ed", "/mentor end")
    await chat.click("ed", "End pair")
    ended = await chat.say("mia", "/mentor status")
    assert ended.startswith("You're not in a mentoring pair now. Your mentoring pair with <@ed>")
    assert ended.endswith(
        "`/mentor export` sends you everything. You're in the matching pool: the next "
        "matching round an admin runs looks for a mentee for you (`/mentor profile` shows "
        "what it goes by). To pair with someone you know, use `/mentor pair @mentor @mentee`."
    )
    await chat.say("mia", "/mentor leave")
    assert "Ready for a new pair? Start one with" in await chat.say("mia", "/mentor status")


async def test_a_proposal_withdrawn_by_a_forget_says_so_on_a_late_click(chat: Chat) -> None:
    """ed uses forget while a round's proposal waits: mia is told it was withdrawn, and
    her old [Accept] says that too, not "already answered"."""
    await chat.say("mia", "/mentor join mentor python")
    await chat.say("ed", "/mentor join mentee python")
    await run_round(chat)
    accept = chat.buttons("mia")[0]
    await chat.say("ed", "/mentor forget")
    await chat.click("ed", "Delete everything")
    assert "withdrawn" in chat.dms("mia")[-1]
    assert await chat.press("mia", accept) == (
        "This proposal didn't go ahead, so there is nothing to answer any more."
    )


async def test_a_topic_written_with_a_hyphen_or_run_together_is_the_one_in_use(
    chat: Chat, database: Database
) -> None:
    """mo offers "public speaking"; ed wants "public-speaking", jo "PublicSpeaking": one
    topic, as the workspace first named it, so the round sees what they share. Before,
    each was a topic of its own: the round saw nothing in common, and ed read
    "public-speaking" as someone else's topic in his suggestions."""
    await chat.say("mo", "/mentor join mentor public speaking, front end capacity 3")
    ed = await chat.say("ed", "/mentor join mentee public-speaking, frontends")
    assert "Topics: front end, public speaking" in ed
    jo = await chat.say("jo", "/mentor join mentee PublicSpeaking")
    assert "Topics: public speaking" in jo
    assert "Topics others named here: front end." in jo
    async with database.transaction() as session:
        names = set((await session.execute(select(MatchTopic.name))).scalars())
    assert names == {"public speaking", "front end"}
    preview = await chat.say("alice", "/mentor match")
    assert "shared topics: front end, public speaking" in preview, preview
    assert "shared topics: public speaking" in preview, preview
    # A topic of its own stays as typed: "e-commerce" is in use by nobody else.
    assert "Topics: e-commerce" in await chat.say("ed", "/mentor profile topics e-commerce")
