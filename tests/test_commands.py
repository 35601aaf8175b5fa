"""Every chat command is parsed in one place, with helpful errors (pure, no database)."""

import pytest

from bot.cadence import DaySaid
from bot.commands import (
    AddMilestone,
    AskFeedback,
    CommandError,
    CompleteMilestone,
    EndPair,
    ExportData,
    ForgetMe,
    ListFeedback,
    ListMilestones,
    Pause,
    ProposePair,
    RemoveMilestone,
    Resume,
    SetCadence,
    SetShoutoutChannel,
    SetShoutoutConsent,
    SetTimezone,
    ShareWin,
    ShowConfig,
    ShowHelp,
    ShowJournal,
    ShowStats,
    ShowStatus,
    SkipNext,
    StartCheckin,
    StartReview,
    help_for,
    parse_command,
)
from bot.text import clean_text


@pytest.mark.parametrize(
    ("command", "text", "parsed"),
    [
        ("win", "  shipped it  ", ShareWin("shipped it")),
        ("/WIN", "x", ShareWin("x")),
        ("mentor", "", ShowHelp()),
        ("mentor", "help milestone", ShowHelp("milestone")),
        ("mentor", "pair <@U1> <@U2|bob>", ProposePair("U1", "U2")),
        ("mentor", "PAIR <@U1>   <@U2>", ProposePair("U1", "U2")),
        ("mentor", "end", EndPair()),
        ("mentor", "end <@U2>", EndPair("U2")),
        ("mentor", "journal", ShowJournal(1)),
        ("mentor", "journal 3", ShowJournal(3)),
        ("mentor", "journal <@U2>", ShowJournal(1, "U2")),
        ("mentor", "journal 2 <@U2>", ShowJournal(2, "U2")),
        ("mentor", "journal <@U2> page 2", ShowJournal(2, "U2")),
        ("mentor", "milestone add Give a talk", AddMilestone("Give a talk")),
        ("mentor", "milestone add <@U2> Give a talk", AddMilestone("Give a talk", "U2")),
        ("mentor", "milestone done #2", CompleteMilestone(2)),
        # "#2" as the console (always) and Slack (a channel named 2) link it: still #2.
        ("mentor", "milestone done <#2>", CompleteMilestone(2)),
        ("mentor", "milestone remove <#C0123|2>", RemoveMilestone(2)),
        ("mentor", "milestone done <@U2> 2", CompleteMilestone(2, "U2")),
        ("mentor", "milestone done 2 <@U2>", CompleteMilestone(2, "U2")),
        ("mentor", "milestone done Ship it <@U2>", CompleteMilestone(None, "U2", "Ship it")),
        ("mentor", "milestone remove #2 talks", RemoveMilestone(None, title="#2 talks")),
        ("mentor", "milestone list <@U2>", ListMilestones("U2")),
        ("mentor", "milestone add Pair with <@U3>", AddMilestone("Pair with <@U3>")),
        ("mentor", "cadence weekly tue 10:00 <@U2>", SetCadence("weekly tue 10:00", "U2")),
        ("mentor", "pause 2w <@U2>", Pause(days=14, partner_id="U2")),
        (
            "mentor",
            "pause until 2027-01-10 <@U2>",
            Pause(until=DaySaid(1, 10, 2027), partner_id="U2"),
        ),
        ("mentor", "milestones list", ListMilestones()),
        # Asked alone, the milestones are shown: the list says how to add one.
        ("mentor", "milestones", ListMilestones()),
        ("mentor", "milestone <@U2>", ListMilestones("U2")),
        ("mentor", "config", ShowConfig()),
        ("mentor", "config shoutouts <#C1|wins>", SetShoutoutChannel("C1")),
        ("mentor", "config shoutouts OFF", SetShoutoutChannel(None)),
        ("mentor", "config consent yes", SetShoutoutConsent(True)),
        ("mentor", "config consent off", SetShoutoutConsent(False)),
        ("mentor", "config timezone europe/berlin", SetTimezone("Europe/Berlin")),
        ("mentor", "config tz utc", SetTimezone("UTC")),
        ("mentor", "feedback how was my demo?", AskFeedback("how was my demo?")),
        (
            "mentor",
            "feedback <@U2> Was my PR description clear?",
            AskFeedback("Was my PR description clear?", "U2"),
        ),
        # The partner's mention with its punctuation ("@carol: …", "… @bob.").
        (
            "mentor",
            "feedback <@U2>: Was my PR description clear?",
            AskFeedback("Was my PR description clear?", "U2"),
        ),
        ("mentor", "pause 2w <@U2>.", Pause(days=14, partner_id="U2")),
        ("mentor", "status <@U2>?", ShowStatus("U2")),
        ("mentor", "skip <@U2>!", SkipNext("U2")),
        ("mentor", "end <@U2>,", EndPair("U2")),
        # The list, not feedback saying "list", with a partner named before it.
        ("mentor", "feedback <@U2> list", ListFeedback()),
        ("mentor", "feedback <@U2> list 2", ListFeedback(2)),
        ("mentor", "milestone <@U2>, add Ship it", AddMilestone("Ship it", "U2")),
        # The partner before the action too (it said "`<@u2>` is not something I can do").
        ("mentor", "milestone <@U2> add Ship it", AddMilestone("Ship it", "U2")),
        ("mentor", "milestone <@U2> list", ListMilestones("U2")),
        ("mentor", "milestone <@U2> done 1", CompleteMilestone(1, "U2")),
        ("mentor", "feedback list", ListFeedback()),
        ("mentor", "feedback list 2", ListFeedback(2)),
        ("mentor", "feedback list page 2", ListFeedback(2)),
        ("mentor", "feedback list?", ListFeedback()),
        ("mentor", "cadence every 2 weeks thu 9:30", SetCadence("every 2 weeks thu 9:30")),
        ("mentor", "status", ShowStatus()),
        ("mentor", "status <@U2>", ShowStatus("U2")),
        ("mentor", "journal page 2", ShowJournal(2)),
        ("mentor", "checkin", StartCheckin()),
        ("mentor", "skip <@U2>", SkipNext("U2")),
        # Words that say what the command does anyway, around the partner or alone.
        ("mentor", "checkin now", StartCheckin()),
        ("mentor", "checkin <@U2> now", StartCheckin("U2")),
        ("mentor", "status all", ShowStatus()),
        ("mentor", "status me", ShowStatus()),
        ("mentor", "skip next", SkipNext()),
        ("mentor", "skip the next one <@U2>", SkipNext("U2")),
        ("mentor", "review now", StartReview()),
        ("mentor", "resume NOW", Resume()),
        ("mentor", "pause", Pause()),
        ("mentor", "pause 3w", Pause(days=21)),
        ("mentor", "pause 3 weeks", Pause(days=21)),
        ("mentor", "pause 3weeks", Pause(days=21)),
        ("mentor", "pause a week", Pause(days=7)),
        ("mentor", "pause 10 days", Pause(days=10)),
        ("mentor", "pause <@U2> two wks", Pause(days=14, partner_id="U2")),
        ("mentor", "pause 1 month", Pause(days=30)),
        ("mentor", "pause until 2027-01-10", Pause(until=DaySaid(1, 10, 2027))),
        # The day as the bot writes it ("Wed 16 Dec"), and as people say it.
        ("mentor", "pause until Wed 16 Dec", Pause(until=DaySaid(12, 16, None, 2))),
        ("mentor", "pause until december 16th", Pause(until=DaySaid(12, 16))),
        ("mentor", "pause until the 3rd of January 2027", Pause(until=DaySaid(1, 3, 2027))),
        ("mentor", "pause until next monday", Pause(until=DaySaid(weekday=0))),
        ("mentor", "pause until Tomorrow.", Pause(until=DaySaid(ahead=1))),
        ("mentor", "pause for a month", Pause(days=30)),
        ("mentor", "pause for 2 weeks", Pause(days=14)),
        ("mentor", "resume", Resume()),
        ("mentor", "review", StartReview()),
        ("mentor", "export", ExportData()),
        ("mentor", "forget", ForgetMe()),
        ("mentor", "stats", ShowStats()),
    ],
)
def test_commands_parse(command: str, text: str, parsed: object) -> None:
    assert parse_command(command, text) == parsed


def test_a_missing_argument_says_what_and_shows_an_example() -> None:
    with pytest.raises(CommandError) as caught:
        parse_command("mentor", "pair <@U1>")
    explained = caught.value.explain()
    assert "Name two people" in explained
    assert "Usage: `/mentor pair @mentor @mentee`" in explained
    assert "Example: `/mentor pair @alice @bob`" in explained


def test_pairing_with_one_person_says_to_mention_yourself_too() -> None:
    """Naming only the other person ("pair me with @bob") is the usual slip: the answer
    says how to be one of the two, naming the person as they were mentioned (so the
    platform shows their name)."""
    with pytest.raises(CommandError) as caught:
        parse_command("mentor", "pair <@U2>")
    explained = caught.value.explain()
    assert explained.startswith(
        "Name two people: first the mentor, then the mentee. To pair with <@U2> yourself, "
        "mention yourself too: first if you will mentor them, second if they will mentor you."
    )
    assert "Example: `/mentor pair @alice @bob`" in explained


def test_pairing_three_people_says_a_pair_is_two() -> None:
    """It said only "Name two people: ..." to someone who had named three."""
    with pytest.raises(CommandError) as caught:
        parse_command("mentor", "pair <@U1> <@U2> <@U3>")
    assert caught.value.explain().startswith(
        "A pair is two people, and you named 3: first the mentor, then the mentee. Propose "
        "each pair with its own `/mentor pair`."
    )
    with pytest.raises(CommandError) as caught:
        parse_command("mentor", "pair <@U1> <@U2> carol")  # two, and a word besides
    assert caught.value.explain().startswith(
        "Propose a pair with the two @mentions alone, not `carol`: first the mentor, then "
        "the mentee. Once both accept, `/mentor cadence` sets when they check in."
    )


@pytest.mark.parametrize(
    "text",
    [
        "pair <@U1> and <@U2>",
        "pair <@U1>, <@U2>",
        "pair <@U1> with <@U2>",
        "pair mentor <@U1> mentee <@U2>",
        "pair mentee: <@U2> mentor: <@U1>",  # the labels say the roles, not the order
        "pair <@U1> → <@U2>",
    ],
)
def test_words_between_the_two_people_say_nothing_the_order_does_not(text: str) -> None:
    assert parse_command("mentor", text) == ProposePair("U1", "U2")


def refusal(command: str, text: str) -> str:
    """What a command that cannot be carried out says, usage and example included."""
    with pytest.raises(CommandError) as caught:
        parse_command(command, text)
    return caught.value.explain()


def test_pairing_oneself_named_as_me_says_to_mention_oneself() -> None:
    assert refusal("mentor", "pair me and <@U2>").startswith(
        "Mention yourself with @ too, not `me`: first the mentor, then the mentee."
    )
    one = refusal("mentor", "pair <@U1>:")  # one person: said as for one
    assert one.startswith("Name two people: first the mentor, then the")
    assert "To pair with <@U1> yourself" in one


@pytest.mark.parametrize(
    ("typed", "meant", "usage"),
    [
        ("stauts", "status", "/mentor status [@partner]"),
        ("statsu", "status", "/mentor status [@partner]"),
        ("chekin", "checkin", "/mentor checkin [@partner]"),
        ("pasue", "pause", "/mentor pause [@partner] [2w | 10d | until YYYY-MM-DD]"),
        ("ned", "end", "/mentor end [@partner]"),
        ("STATS", None, None),  # not a typo: a command, whatever its case
    ],
)
def test_a_typo_gets_the_command_it_is_closest_to(
    typed: str, meant: str | None, usage: str | None
) -> None:
    if meant is None:
        assert parse_command("mentor", typed) == ShowStats()
        return
    with pytest.raises(CommandError) as caught:
        parse_command("mentor", typed)
    explained = caught.value.explain()
    assert explained.startswith(f"I don't know `/mentor {typed}`. Did you mean `/mentor {meant}`?")
    assert f"Usage: `{usage}`" in explained
    assert "Here is what I can do" not in explained
    assert len(explained.splitlines()) == 3


def test_a_typo_in_the_command_itself_gets_the_command() -> None:
    assert refusal("/mentr", "status").startswith(
        "I don't know the command `/mentr`. Did you mean `/mentor`?\nUsage: `/mentor help`"
    )
    assert "Did you mean `/win`?" in refusal("/wn", "shipped it")


def test_a_word_far_from_every_command_gets_the_whole_help() -> None:
    with pytest.raises(CommandError) as caught:
        parse_command("mentor", "xyzzy")
    assert "Here is what I can do:" in caught.value.explain()


@pytest.mark.parametrize(
    ("topic", "starts"),
    [
        ("feedback", "`/mentor feedback <a specific question> | list [page]` — Ask your mentor"),
        ("win", "`/win <what went well>` — Save a win"),
        ("/win", "`/win <what went well>` — Save a win"),
        ("check-in", "`/mentor checkin [@partner]` — Start a check-in now"),
        (
            "milestones",
            "`/mentor milestone add <title> | done <n or title> | remove <n or title> | list`",
        ),
        ("feedbak", "`/mentor feedback <a specific question> | list [page]`"),
        ("brag", "`/mentor export` — Get everything stored about you, and a brag doc"),
        ("Goals", "`/mentor milestone add <title>"),
        ("mentor", "Here is what I can do:"),
        (None, "Here is what I can do:"),
        ("nonsense", "There is no `/mentor nonsense`.\nHere is what I can do:"),
        # A word of commands, asked after as if it were one: those commands.
        (
            "remove",
            "`remove` is part of these commands:\n`/mentor journal [@partner] [page] | remove "
            "<n>` — Your wins, newest first (remove one by its number), or your partner's\n"
            "`/mentor milestone add",
        ),
        ("Consent", "`Consent` is part of these commands:\n`/mentor config [shoutouts"),
        ("n", "There is no `/mentor n`."),  # a placeholder's letter is no word of theirs
    ],
)
def test_help_on_a_topic_finds_the_command_meant(topic: str | None, starts: str) -> None:
    """``/mentor help win``, a spelling the commands accept, a typo, or a word that is
    part of commands: that command's usage, or theirs; a word that is no command is
    said to be none before the whole help."""
    assert help_for(topic).startswith(starts)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("journal <@U2> <@U3>", "Name one partner, whose wins to show."),
        ("journal soon", "`soon` is not a page number."),
        ("journal <@U2> soon", "`soon` is not a page number."),
    ],
)
def test_a_journal_asked_of_someone_says_whose_it_shows(text: str, said: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_command("mentor", text)
    assert caught.value.explain().startswith(said)


@pytest.mark.parametrize("length", ["3 fortnights", "soon", "-2w", "0 days"])
def test_a_pause_length_it_cannot_read_says_which_it_can(length: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_command("mentor", f"pause {length}")
    explained = caught.value.explain()
    assert "`3 weeks`" in explained or "one day to six months" in explained


@pytest.mark.parametrize("said", ["2w until 2027-01-10", "for 3 days until friday"])
def test_a_pause_with_both_a_length_and_an_end_asks_for_one(said: str) -> None:
    """Discord's pause has a days option and an until option: both filled in are written
    "3d until 2027-01-10", which the person never typed, so the answer names the two
    choices rather than quoting that."""
    with pytest.raises(CommandError) as caught:
        parse_command("mentor", f"pause {said}")
    assert caught.value.explain().startswith(
        "Say how long (like `2w`) or until when (like `until 2027-01-10`), not both."
    )


def test_a_shout_out_channel_and_off_together_asks_for_one() -> None:
    with pytest.raises(CommandError) as caught:
        parse_command("mentor", "config shoutouts <#C123> off")
    assert caught.value.explain().startswith("Name a shout-out channel or say `off`, not both.")


def test_a_timezone_typed_with_a_space_gets_its_name() -> None:
    with pytest.raises(CommandError) as caught:
        parse_command("mentor", "config timezone America/New York")
    assert "did you mean America/New_York?" in caught.value.explain()
    assert parse_command("mentor", "config timezone America/New_York") == SetTimezone(
        "America/New_York"
    )


def test_clean_text_keeps_what_people_wrote() -> None:
    assert clean_text("  👩🏽‍💻 e\u0301 שלום\n\tx ") == "👩🏽‍💻 e\u0301 שלום\n\tx"
    assert clean_text("a\x00b\x1bc") == "abc"
    assert clean_text("lone \ud83d surrogate") == "lone \ufffd surrogate"
    assert clean_text("split pair \ud83d\ude80") == "split pair 🚀"
    # Surrogates anywhere in a long text, on either side of the ASCII fast path.
    assert clean_text("x" * 2999 + "\udfff") == "x" * 2999 + "\ufffd"
    assert clean_text("\ud800" + "é" * 2999) == "\ufffd" + "é" * 2999
