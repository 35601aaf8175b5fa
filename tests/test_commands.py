"""Every chat command is parsed in one place, with helpful errors (pure, no database)."""

from datetime import date

import pytest

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
        ("mentor", "milestone add Give a talk", AddMilestone("Give a talk")),
        ("mentor", "milestone add <@U2> Give a talk", AddMilestone("Give a talk", "U2")),
        ("mentor", "milestone done #2", CompleteMilestone(2)),
        ("mentor", "milestones list", ListMilestones()),
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
        ("mentor", "feedback list", ListFeedback()),
        ("mentor", "cadence every 2 weeks thu 9:30", SetCadence("every 2 weeks thu 9:30")),
        ("mentor", "status", ShowStatus()),
        ("mentor", "checkin", StartCheckin()),
        ("mentor", "skip <@U2>", SkipNext("U2")),
        ("mentor", "pause", Pause(days=14)),
        ("mentor", "pause 3w", Pause(days=21)),
        ("mentor", "pause until 2027-01-10", Pause(until=date(2027, 1, 10))),
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


def test_clean_text_keeps_what_people_wrote() -> None:
    assert clean_text("  👩🏽‍💻 e\u0301 שלום\n\tx ") == "👩🏽‍💻 e\u0301 שלום\n\tx"
    assert clean_text("a\x00b\x1bc") == "abc"
    assert clean_text("lone \ud83d surrogate") == "lone \ufffd surrogate"
    assert clean_text("split pair \ud83d\ude80") == "split pair 🚀"
