"""Every chat command is parsed here, in one place, into a typed value.

A parse error carries what was wrong, the usage and an example, so every platform gives
the same helpful answer.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from bot.cadence import CadenceError, DaySaid, parse_timezone, read_day
from bot.ids import fits_id
from bot.numbers import whole_number
from bot.text import (
    COMMAND_NAMES,
    MENTION_IN_TEXT,
    TITLE_MAX_CHARS,
    WIN_MAX_CHARS,
    as_command,
    as_typed,
    channel_mention_id,
    clean_text,
    given_back,
    user_mention_id,
)
from bot.topics import (
    TopicError,
    normalise_team,
    normalise_topics,
    parse_capacity,
)

T = TypeVar("T")


class CommandError(Exception):
    """A command that could not be understood; ``str()`` is the message for the person."""

    def __init__(self, message: str, *, usage: str | None = None, example: str | None = None):
        super().__init__(message)
        self.message = message
        self.usage = usage
        self.example = example

    def explain(self) -> str:
        lines = [self.message]
        if self.usage:
            lines.append(f"Usage: `{self.usage}`")
        if self.example:
            lines.append(f"Example: `{self.example}`")
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class ShareWin:
    text: str


@dataclass(frozen=True, slots=True)
class ShowHelp:
    topic: str | None = None


@dataclass(frozen=True, slots=True)
class ProposePair:
    mentor_id: str
    mentee_id: str


@dataclass(frozen=True, slots=True)
class EndPair:
    partner_id: str | None = None


@dataclass(frozen=True, slots=True)
class ShowJournal:
    page: int = 1
    # A partner's: the wins they shared since the pair began (each told to this member).
    partner_id: str | None = None


@dataclass(frozen=True, slots=True)
class RemoveWin:
    number: int  # as the journal numbers it: 1 is the oldest


@dataclass(frozen=True, slots=True)
class AddMilestone:
    title: str
    partner_id: str | None = None


@dataclass(frozen=True, slots=True)
class CompleteMilestone:
    number: int | None  # None: named by its title
    partner_id: str | None = None
    title: str | None = None  # as typed, when named by it


@dataclass(frozen=True, slots=True)
class RemoveMilestone:
    number: int | None  # None: named by its title
    partner_id: str | None = None
    title: str | None = None  # as typed, when named by it


@dataclass(frozen=True, slots=True)
class ListMilestones:
    partner_id: str | None = None


@dataclass(frozen=True, slots=True)
class ShowConfig:
    pass


@dataclass(frozen=True, slots=True)
class SetShoutoutChannel:
    channel_id: str | None  # None turns channel shout-outs off


@dataclass(frozen=True, slots=True)
class SetShoutoutConsent:
    allowed: bool


@dataclass(frozen=True, slots=True)
class SetTimezone:
    timezone: str


@dataclass(frozen=True, slots=True)
class SetCadence:
    words: str  # parsed by bot.cadence, which needs the person's timezone as the default
    partner_id: str | None = None


@dataclass(frozen=True, slots=True)
class ShowStatus:
    partner_id: str | None = None  # one pair's status; all of them when None


@dataclass(frozen=True, slots=True)
class StartCheckin:
    partner_id: str | None = None


@dataclass(frozen=True, slots=True)
class SkipNext:
    partner_id: str | None = None


@dataclass(frozen=True, slots=True)
class Pause:
    days: int | None = None  # for this many days (None: not said), or
    until: DaySaid | None = None  # until this local day (found with the clock: DaySaid.after)
    partner_id: str | None = None


@dataclass(frozen=True, slots=True)
class Resume:
    partner_id: str | None = None


@dataclass(frozen=True, slots=True)
class AskFeedback:
    """From the mentee: a question for the mentor. From the mentor: feedback, unprompted."""

    text: str
    partner_id: str | None = None


@dataclass(frozen=True, slots=True)
class ListFeedback:
    page: int = 1


@dataclass(frozen=True, slots=True)
class StartReview:
    partner_id: str | None = None


@dataclass(frozen=True, slots=True)
class ExportData:
    """Everything stored about the person who asks, as files for them."""


@dataclass(frozen=True, slots=True)
class ForgetMe:
    """Delete everything about the person who asks (after they confirm)."""


@dataclass(frozen=True, slots=True)
class ShowStats:
    """The program view, for admins: numbers about pairs, never anyone's words."""


# --- matching (bot/matching/) ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JoinPool:
    """``role`` None: no words given; Slack and Discord ask with a form."""

    role: str | None
    topics: tuple[str, ...] = ()
    capacity: int | None = None  # None: keep (or the default, 1)
    team: str | None = None
    team_given: bool = False  # ``team none`` clears it; not naming a team keeps it


@dataclass(frozen=True, slots=True)
class ShowProfile:
    pass


@dataclass(frozen=True, slots=True)
class EditProfile:
    """One setting of the profile: ``role``, ``topics``, ``capacity`` or ``team``."""

    role: str | None = None
    topics: tuple[str, ...] | None = None
    capacity: int | None = None
    team: str | None = None
    team_given: bool = False


@dataclass(frozen=True, slots=True)
class LeavePool:
    pass


@dataclass(frozen=True, slots=True)
class RunMatch:
    pass


Command = (
    ShareWin
    | ShowHelp
    | ProposePair
    | EndPair
    | ShowJournal
    | RemoveWin
    | AddMilestone
    | CompleteMilestone
    | RemoveMilestone
    | ListMilestones
    | ShowConfig
    | SetShoutoutChannel
    | SetShoutoutConsent
    | SetTimezone
    | SetCadence
    | ShowStatus
    | StartCheckin
    | SkipNext
    | Pause
    | Resume
    | AskFeedback
    | ListFeedback
    | StartReview
    | ExportData
    | ForgetMe
    | ShowStats
    | JoinPool
    | ShowProfile
    | EditProfile
    | LeavePool
    | RunMatch
)


@dataclass(frozen=True, slots=True)
class Usage:
    usage: str
    summary: str
    example: str


WIN_USAGE = Usage(
    "/win <what went well>", "Save a win to your journal", "/win shipped the login page"
)
MENTOR_USAGE: dict[str, Usage] = {
    "help": Usage("/mentor help", "Show this help", "/mentor help"),
    "pair": Usage(
        "/mentor pair @mentor @mentee",
        "Propose a mentoring pair (both have to agree)",
        "/mentor pair @alice @bob",
    ),
    "cadence": Usage(
        "/mentor cadence <weekly|biweekly|monthly> [weekday] [HH:MM] [timezone]",
        "See or set when your check-ins happen",
        "/mentor cadence biweekly thu 9:30 Europe/Berlin",
    ),
    "status": Usage(
        "/mentor status [@partner]", "Your pairs, next check-in, streak and more", "/mentor status"
    ),
    "checkin": Usage("/mentor checkin [@partner]", "Start a check-in now", "/mentor checkin"),
    "skip": Usage("/mentor skip [@partner]", "Skip the next check-in", "/mentor skip"),
    "pause": Usage(
        "/mentor pause [@partner] [2w | 10d | until YYYY-MM-DD]",
        "Pause check-ins for a while (two weeks unless you say)",
        "/mentor pause until 2027-01-10",
    ),
    "resume": Usage(
        "/mentor resume [@partner]", "Resume check-ins after a pause", "/mentor resume"
    ),
    "feedback": Usage(
        "/mentor feedback <a specific question> | list [page]",
        "Ask your mentor a specific question (mentors: give feedback)",
        "/mentor feedback What's one thing that would make my demos clearer?",
    ),
    "review": Usage(
        "/mentor review [@partner]", "Look back: what went well, what to improve", "/mentor review"
    ),
    "end": Usage("/mentor end [@partner]", "End a pair", "/mentor end @bob"),
    "journal": Usage(
        "/mentor journal [@partner] [page] | remove <n>",
        "Your wins, newest first (remove one by its number), or your partner's",
        "/mentor journal 2",
    ),
    "milestone": Usage(
        "/mentor milestone add <title> | done <n or title> | remove <n or title> | list",
        "Set, complete, remove and list your pair's milestones",
        "/mentor milestone add Give my first talk",
    ),
    "export": Usage(
        "/mentor export", "Get everything stored about you, and a brag doc", "/mentor export"
    ),
    "forget": Usage(
        "/mentor forget", "Delete everything stored about you (asks first)", "/mentor forget"
    ),
    "stats": Usage("/mentor stats", "How the mentoring program is going (admins)", "/mentor stats"),
    "join": Usage(
        "/mentor join mentor|mentee|both [topics…] [capacity N] [team NAME]",
        "Join the matching pool (mentors: what you can help with; mentees: what to learn)",
        "/mentor join mentor python, public speaking capacity 2 team payments",
    ),
    "profile": Usage(
        "/mentor profile [role mentor|mentee|both | topics … | capacity N | team NAME|none]",
        "Show or change your matching profile",
        "/mentor profile topics python, career growth",
    ),
    "leave": Usage("/mentor leave", "Leave the matching pool (your pairs stay)", "/mentor leave"),
    "match": Usage(
        "/mentor match",
        "Preview a matching round, then send the proposals (admins)",
        "/mentor match",
    ),
    "config": Usage(
        "/mentor config [shoutouts #channel|off] [consent on|off] [timezone Area/City]",
        "Your settings, and the workspace's shout-out channel (admins)",
        "/mentor config timezone Europe/Berlin",
    ),
}
MAX_PAUSE_DAYS = 183
# A pause with no length said, of a pair not paused yet (a paused one keeps its end).
DEFAULT_PAUSE_DAYS = 14
MAX_PAGE = 999_999  # journal pages (10 wins each: more than anyone will write)
MAX_MILESTONE = 999_999  # a milestone's number in its pair's list
# ``/mentor pause`` lengths: "2w", "10d", "3 weeks", "a week", "one month" (30 days).
_PAUSE_UNITS = {
    **dict.fromkeys(("d", "day", "days"), 1),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), 7),
    **dict.fromkeys(("month", "months"), 30),
}
_PAUSE_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_PAUSE_LENGTH = re.compile(
    rf"(?P<amount>[0-9]+|{'|'.join(_PAUSE_NUMBERS)})\s*"
    rf"(?P<unit>{'|'.join(sorted(_PAUSE_UNITS, key=len, reverse=True))})"
)


def help_text() -> str:
    lines = ["Here is what I can do:", f"`{WIN_USAGE.usage}` — {WIN_USAGE.summary}"]
    lines += [f"`{u.usage}` — {u.summary}" for u in MENTOR_USAGE.values()]
    return "\n".join(lines)


def help_for(topic: str | None) -> str:
    """``/mentor help [topic]``: one command's usage (``win``, a subcommand, or the one a
    typo is closest to), or everything, said plainly when the topic is not a command."""
    if not topic:
        return help_text()
    word = topic.lstrip("/")
    if word == "mentor":
        return help_text()
    word = _CALLED_SO.get(word.lower(), word)  # "help brag": the export
    usage = WIN_USAGE if word == "win" else MENTOR_USAGE.get(word)
    if usage is None:
        # A word that is part of commands ("remove", "list"): those commands.
        within = [
            u for u in MENTOR_USAGE.values() if len(word) > 2 and _has_word(u.usage, word.lower())
        ]
        if within:
            return f"`{as_typed(word)}` is part of these commands:\n" + "\n".join(
                f"`{u.usage}` — {u.summary}" for u in within
            )
        close = closest_word(word, MENTOR_USAGE)
        if close is None:
            return f"There is no `/mentor {as_typed(word)}`.\n{help_text()}"
        usage = MENTOR_USAGE[close]
    return f"`{usage.usage}` — {usage.summary}\nExample: `{usage.example}`"


def _has_word(usage: str, word: str) -> bool:
    """Whether ``word`` is one of a usage's own words (not a placeholder like ``<n>``)."""
    return word in re.split(r"[^a-z]+", re.sub(r"<[^>]*>", " ", usage.lower()))


def parse_command(command: str, text: str) -> Command:
    name = command.strip().lstrip("/").lower()
    if name == "win":
        return _parse_win(text)
    if name == "mentor":
        return _parse_mentor(text)
    close = closest_word(name, COMMAND_NAMES)
    if close is not None:
        usage = WIN_USAGE if close == "win" else MENTOR_USAGE["help"]
        raise CommandError(
            f"I don't know the command `/{as_typed(name)}`. Did you mean `/{close}`?",
            usage=usage.usage,
            example=usage.example,
        )
    raise CommandError(f"I don't know the command `/{as_typed(name)}`.\n{help_text()}")


def _says_something(text: str) -> bool:
    """Whether ``text`` has a letter, a digit or a symbol such as an emoji ("🎉"), not
    only punctuation ("/win ." shared a "." with the partner and counted as a win)."""
    return any(char.isalnum() or unicodedata.category(char) == "So" for char in text)


def _parse_win(text: str) -> ShareWin:
    cleaned = clean_text(text)
    if not cleaned or not _says_something(cleaned):
        raise CommandError(
            "Tell me what went well, right after `/win`.",
            usage=WIN_USAGE.usage,
            example=WIN_USAGE.example,
        )
    if len(cleaned) > WIN_MAX_CHARS:
        raise _too_long(
            f"I didn't save that win: it is {len(cleaned):,} characters long, and a win can "
            f"be up to {WIN_MAX_CHARS:,}. Could you say it shorter, or share it as two wins?",
            cleaned,
        )
    return ShareWin(cleaned)


def _too_long(message: str, words: str) -> CommandError:
    """Words refused for their length, given back whole (``given_back``): a slash
    command's words show nowhere else once sent (Slack clears the message box)."""
    return CommandError(message + given_back([words], "to shorten"))


def _parse_mentor(text: str) -> Command:
    words = clean_text(text).split()
    if not words:
        return ShowHelp()
    sub, args = words[0].lower(), words[1:]
    match sub:
        case "help":
            return ShowHelp(args[0].lower() if args else None)
        case "pair":
            return _parse_pair(args)
        case "end":
            return EndPair(_optional_partner(args, "end"))
        case "journal":
            return _parse_journal(args)
        case "milestone" | "milestones":
            return _parse_milestone(args)
        case "config":
            return _parse_config(args)
        case "cadence":
            partner, rest = _split_partner(args, or_last=True)
            # No words: the rhythm as it is, and how to change it (bot/pair_commands.py).
            return SetCadence(" ".join(rest), partner)
        case "status":
            return ShowStatus(_optional_partner(args, "status"))
        case "checkin" | "check-in":
            return StartCheckin(_optional_partner(args, "checkin"))
        case "skip":
            return SkipNext(_optional_partner(args, "skip"))
        case "resume":
            return Resume(_optional_partner(args, "resume"))
        case "pause":
            return _parse_pause(args)
        case "feedback":
            return _parse_feedback(words[1:], text)
        case "review":
            return StartReview(_optional_partner(args, "review"))
        case "export":
            return _no_words(args, "export", ExportData())
        case "forget":
            return _no_words(args, "forget", ForgetMe())
        case "stats":
            return _no_words(args, "stats", ShowStats())
        case "join":
            return _parse_join(args)
        case "profile":
            return _parse_profile(args)
        case "leave":
            return _no_words(args, "leave", LeavePool())
        case "match":
            # Every round starts as a preview, so "dry-run" (as `mentorbot match` spells
            # it) asks for what the command does anyway.
            dry_run = [arg.lower().lstrip("-") for arg in args] in (["dry-run"], ["preview"])
            return _no_words([] if dry_run else args, "match", RunMatch())
        case _:
            raise _unknown_subcommand(sub, text)


# Other names people give the commands ("/mentor wins" for the journal).
_CALLED_SO = {
    "wins": "journal",
    "history": "journal",
    "brag": "export",
    "bragdoc": "export",
    "brag-doc": "export",
    "goal": "milestone",
    "goals": "milestone",
    "unpause": "resume",
    "settings": "config",
    "schedule": "cadence",
    "rhythm": "cadence",
    "ask": "feedback",
    "question": "feedback",
}


def _unknown_subcommand(sub: str, text: str) -> CommandError:
    """A typo gets the one command it is closest to, with its usage; anything else the
    whole help. ``/mentor win …`` is the /win command, its words said back unsaved."""
    if sub == "win":
        words = clean_text(text).split(None, 1)[1:]
        # Offered to send as it is (as a command typed as a message is, bot/engine.py).
        said = as_command(f"/win {words[0]}") if words else "/win <what went well>"
        return CommandError(
            f"Did you mean `{said}`? Wins have a command of their own, so I didn't save that.",
            usage=WIN_USAGE.usage,
            example=WIN_USAGE.example,
        )
    close = _CALLED_SO.get(sub) or closest_word(sub, MENTOR_USAGE)
    if close is None:
        return CommandError(f"I don't know `/mentor {as_typed(sub)}`.\n{help_text()}")
    usage = MENTOR_USAGE[close]
    return CommandError(
        f"I don't know `/mentor {as_typed(sub)}`. Did you mean `/mentor {close}`?",
        usage=usage.usage,
        example=usage.example,
    )


def closest_word(typed: str, words: Iterable[str]) -> str | None:
    """The word ``typed`` is most likely a typo of: at most two edits away (one for short
    words), a swap of two neighbours counting as one edit; among equals, the one with the
    same letters (``stauts`` -> ``status``, not ``stats``), then the same length."""
    typed = typed.lower()
    best: tuple[int, bool, int, str] | None = None
    for word in words:
        distance = _edits(typed, word)
        if distance > (1 if len(word) <= 4 else 2):
            continue
        key = (distance, sorted(typed) != sorted(word), abs(len(word) - len(typed)), word)
        if best is None or key < best:
            best = key
    return best[3] if best is not None else None


def _edits(a: str, b: str) -> int:
    """Insertions, deletions, substitutions and swaps of neighbours turning ``a`` into
    ``b`` (the optimal string alignment distance)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]


def _usage_error(sub: str, message: str, example: str | None = None) -> CommandError:
    usage = MENTOR_USAGE[sub]
    return CommandError(message, usage=usage.usage, example=example or usage.example)


# Punctuation typed after a name ("@carol:", "@bob.", "@alice,"), not part of it.
_AFTER_A_NAME = ".,;:!?"

# Words people put between or before the two names ("@alice and @bob", "mentor @alice
# mentee @bob"): they say nothing the order does not.
_PAIR_JOINERS = frozenset({"and", "with", "&", "+", "->", "→"})
_PAIR_LABELS = ("mentor", "mentee")


def _parse_pair(args: list[str]) -> ProposePair:
    args = [arg.strip(_AFTER_A_NAME) for arg in args]
    args = [arg for arg in args if arg.lower() not in _PAIR_JOINERS]
    args = _pair_by_labels([arg for arg in args if arg])
    ids = [_person(a, "pair") for a in args]
    if len(args) > 2 and len([found for found in ids if found is not None]) == 2:
        # Two people and words besides ("@alice @bob weekly"): the pair is proposed with
        # the two alone, and what else it should be is set once it forms.
        extra = " ".join(arg for arg, found in zip(args, ids, strict=True) if found is None)
        raise _usage_error(
            "pair",
            f"Propose a pair with the two @mentions alone, not `{as_typed(extra)}`: first "
            "the mentor, then the mentee. Once both accept, `/mentor cadence` sets when "
            "they check in.",
        )
    if len(args) == 2 and None in ids:
        # Two names typed without @ (or a name the platform did not turn into a mention).
        plain = next(arg for arg, found in zip(args, ids, strict=True) if found is None)
        if plain.lower() in ("me", "myself", "i"):
            raise _usage_error(
                "pair",
                f"Mention yourself with @ too, not `{as_typed(plain)}`: first the mentor, then the "
                "mentee.",
            )
        raise _usage_error(
            "pair",
            f"`{as_typed(plain)}` is not an @mention. Mention both people with @, first the "
            "mentor, then the mentee.",
        )
    if len(args) == 1 and ids[0] is not None:
        # The most common slip: naming only the other person, as in "pair me with @bob".
        raise _usage_error(
            "pair",
            f"Name two people: first the mentor, then the mentee. To pair with {args[0]} "
            "yourself, mention yourself too: first if you will mentor them, second if they "
            "will mentor you.",
        )
    if len(args) > 2 and None not in ids:
        # "@alice @bob @carol": a pair is two people; each pair is proposed on its own.
        raise _usage_error(
            "pair",
            f"A pair is two people, and you named {len(args)}: first the mentor, then the "
            "mentee. Propose each pair with its own `/mentor pair`.",
        )
    if len(args) != 2 or None in ids:
        raise _usage_error("pair", "Name two people: first the mentor, then the mentee.")
    mentor_id, mentee_id = ids
    assert mentor_id is not None and mentee_id is not None
    if mentor_id == mentee_id:
        raise _usage_error("pair", "A pair needs two different people.")
    return ProposePair(mentor_id, mentee_id)


def _pair_by_labels(args: list[str]) -> list[str]:
    """``mentee @bob mentor @alice`` as ``@alice @bob``: each label names whose role the
    mention after it has (``args`` have their punctuation off: ``mentor:`` is a label).
    Without both labels, the words as they were (labels gone)."""
    labelled: dict[str, str] = {}
    for label, person in itertools.pairwise(args):
        if label.lower() in _PAIR_LABELS and _person(person) is not None:
            labelled[label.lower()] = person
    rest = [arg for arg in args if arg.lower() not in _PAIR_LABELS]
    if len(labelled) == 2 and len(rest) == 2:
        return [labelled["mentor"], labelled["mentee"]]
    return rest


_T_COMMAND = TypeVar("_T_COMMAND", bound=Command)


def _no_words(args: list[str], sub: str, command: _T_COMMAND) -> _T_COMMAND:
    """A command that takes no words refuses them, rather than doing what it always
    does while the person thinks it did what they typed (`/mentor stats 2026`)."""
    if args:
        raise _usage_error(sub, f"`/mentor {as_typed(sub)}` takes no words after it.")
    return command


# Words that say what a command does anyway ("/mentor checkin now", "/mentor skip the next
# one"): read as if not there, before or after the partner. Not "please" or "today":
# words a command does not take are said to be so.
_SAYS_WHAT_IT_DOES = {
    "checkin": {"now"},
    "review": {"now"},
    "resume": {"now"},
    "status": {"all", "me", "mine"},
    "skip": {"next", "the", "one", "next one", "the next", "the next one"},
}


def _optional_partner(args: list[str], sub: str) -> str | None:
    meant = _SAYS_WHAT_IT_DOES.get(sub, set())
    words = [arg for arg in args if _person(arg) is None]
    if words and " ".join(words).lower() in meant:
        args = [arg for arg in args if arg not in words]
    if not args:
        return None
    partner = _person(args[0], sub)
    if partner is None or len(args) > 1:
        said = as_typed(" ".join(args))
        raise _usage_error(sub, f"I expected a partner's @mention, not `{said}`.")
    return partner


def _parse_journal(args: list[str]) -> ShowJournal | RemoveWin:
    if not args or args[0].lower() not in ("remove", "delete"):
        people = [found for arg in args if (found := _person(arg, "journal")) is not None]
        if len(people) > 1:
            raise _usage_error(
                "journal", "Name one partner, whose wins to show.", "/mentor journal @bob"
            )
        rest = [arg for arg in args if _person(arg) is None]
        return ShowJournal(_parse_page(rest), people[0] if people else None)
    number = _listed_number(args[1]) if len(args) == 2 else None
    if number is None and any(_person(arg) is not None for arg in args[1:]):
        raise _usage_error(
            "journal",
            "You can remove only your own wins, by their numbers in `/mentor journal`.",
            "/mentor journal remove 3",
        )
    if number is None:
        said = "Remove one win at a time" if len(args) > 2 else "Say which win to remove"
        raise _usage_error(
            "journal", f"{said}, by its number in `/mentor journal`.", "/mentor journal remove 3"
        )
    return RemoveWin(number)


def _parse_page(args: list[str]) -> int:
    if not args:
        return 1
    if len(args) == 2 and args[0].lower() == "page":  # "page 2", as the journal says it
        args = args[1:]
    page = whole_number(args[0], high=MAX_PAGE) if len(args) == 1 else None
    if page is not None:
        return page
    if [arg.lower() for arg in args] in (["export"], ["brag"], ["download"]):
        raise _usage_error(
            "journal", "Your journal comes as a brag doc with `/mentor export`.", "/mentor export"
        )
    raise _usage_error("journal", f"`{as_typed(' '.join(args))}` is not a page number.")


def _person(token: str, sub: str | None = None) -> str | None:
    """The id in a user mention, or None when ``token`` is not one. Punctuation typed
    after it ("@carol:", "/mentor status @bob?") is not part of it."""
    return _fitting(user_mention_id(token.rstrip(_AFTER_A_NAME)), token, sub)


def _fitting(found: str | None, token: str, sub: str | None) -> str | None:
    """A mentioned id, refused clearly when it is longer than any real one (the same
    rule on SQLite and PostgreSQL: bot/ids.py)."""
    if found is None or fits_id(found):
        return found
    message = f"`{as_typed(token)}` is not a mention I can use: it is too long to be real."
    if sub is None:
        raise CommandError(message)
    raise _usage_error(sub, message)


def _split_partner(args: list[str], *, or_last: bool = False) -> tuple[str | None, list[str]]:
    """A leading @mention picks the pair when you are in several. With ``or_last``, for
    words that never hold a mention themselves (a cadence, a pause's length, a
    milestone's number), a trailing one does too: ``pause 2w @bob``."""
    if args and (partner := _person(args[0])) is not None:
        return partner, args[1:]
    if or_last and len(args) > 1 and (partner := _person(args[-1])) is not None:
        return partner, args[:-1]
    return None, args


# A word that is a number ("2", "#2"), not a title's; or that a platform made a channel's
# link of ("#2" on a workspace with such a channel): the number way says what to type.
_NUMBERED = re.compile(r"#?[0-9]+|<#[^>]*>")


def _listed_number(word: str) -> int | None:
    """A goal's or a win's number as typed: "2", "#2", or the channel link a platform made of "#2"
    (the console's ``<#2>``; Slack's ``<#C0123|2>``, where a channel is named 2)."""
    if (link := MENTION_IN_TEXT.fullmatch(word)) is not None and link[1] == "#":
        word = link[3] or link[2]
    return whole_number(word.lstrip("#"), high=MAX_MILESTONE)


def _parse_milestone(args: list[str]) -> Command:
    first, rest = _split_partner(args)  # "/mentor milestone @carol add …"
    if not rest:
        # `/mentor milestones`, as people ask to see them (the list shows how to add one).
        return ListMilestones(first)
    action, rest = rest[0].lower(), rest[1:]
    # A title may end with a mention ("Pair with @carol"); a number or "list" never does.
    partner, rest = _split_partner(rest, or_last=action != "add")
    if first is not None and partner is not None and first != partner:
        raise _usage_error("milestone", "Name one partner: the pair the milestone is of.")
    partner = partner or first
    match action:
        case "add":
            title = _unquoted(" ".join(rest))
            if not title:
                raise _usage_error("milestone", "Give the milestone a title.")
            if len(title) > TITLE_MAX_CHARS:
                raise _too_long(
                    f"I didn't add that milestone: its title is {len(title):,} characters; "
                    f"keep it under {TITLE_MAX_CHARS} (put details in a /win when you reach it).",
                    title,
                )
            return AddMilestone(title, partner)
        case "done" | "complete" | "remove" | "delete":
            done = action in ("done", "complete")
            kind = CompleteMilestone if done else RemoveMilestone
            # By its title too, as people name a goal ("done Ship the API"); words that
            # are all numbers are a number, one or none.
            if rest and not all(_NUMBERED.fullmatch(word) for word in rest):
                return kind(None, partner, title=_unquoted(" ".join(rest)))
            number = _listed_number(rest[0]) if len(rest) == 1 else None
            if number is None:
                raise _usage_error(
                    "milestone",
                    f"Say which milestone {'is done' if done else 'to remove'} by its number "
                    "from `/mentor milestone list`, or by its title.",
                )
            return kind(number, partner)
        case "list":
            if rest and [word.lower() for word in rest] != ["all"]:  # the list shows all
                raise _usage_error("milestone", "`list` takes no words after it.")
            return ListMilestones(partner)
        case "undo" | "undone" | "reopen":
            raise _usage_error(
                "milestone",
                "A milestone marked done stays done: reached milestones stay in your pair's "
                "history. To aim for it again, add it anew with `/mentor milestone add`.",
            )
        case "edit" | "rename" | "change":
            number = _listed_number(rest[0]) if rest else None
            title = _unquoted(" ".join(rest[1:]))
            whom = f" <@{partner}>" if partner else ""
            if number is not None and title:
                shown = as_typed(title)
                how = (
                    f"`/mentor milestone remove {number}`{whom}, then `/mentor milestone add "
                    f"{shown}`{whom}"
                )
            else:
                how = "`/mentor milestone remove` with its number, then add it with the new title"
            raise _usage_error(
                "milestone",
                f"A milestone's title can't be changed, but an open one can be replaced: {how}.",
            )
        case _:
            raise _usage_error(
                "milestone", f"`{as_typed(action)}` is not something I can do to milestones."
            )


# Quotation marks people put around a title, opening and closing.
_QUOTES = {'"': '"', "'": "'", "“": "”", "\u2018": "\u2019", "«": "»", "„": "“"}


def _unquoted(title: str) -> str:
    """``"Ship the API"`` as ``Ship the API``: quotes around a whole title mark where it
    starts and ends, and are not part of it."""
    inner = title[1:-1]
    # Not '"Ship" the "API"': quotes inside are the title's own.
    quoted = len(title) > 2 and _QUOTES.get(title[0]) == title[-1]
    return inner.strip() if quoted and title[0] not in inner and title[-1] not in inner else title


def _parse_pause(args: list[str]) -> Pause:
    partner, rest = _split_partner(args, or_last=True)
    if not rest:
        return Pause(partner_id=partner)  # two weeks, or what a pause set
    said = " ".join(rest)
    spec = said.lower()
    if spec.startswith("until "):
        until = read_day(spec[6:])
        if until is None:
            raise _usage_error(
                "pause",
                f"`{as_typed(said[6:].strip())}` is not a day I can read: write it like "
                "2027-01-10, 10 Jan, Monday or tomorrow.",
            )
        return Pause(until=until, partner_id=partner)
    length = _PAUSE_LENGTH.fullmatch(spec.removeprefix("for "))
    if length is not None:
        amount, unit = length["amount"], length["unit"]
        number = (
            whole_number(amount, low=0, high=MAX_PAUSE_DAYS)
            if amount.isdigit()
            else _PAUSE_NUMBERS[amount]
        )
        days = None if number is None else number * _PAUSE_UNITS[unit]
        if days is None or not 0 < days <= MAX_PAUSE_DAYS:
            raise _usage_error("pause", "A pause can last from one day to six months.")
        return Pause(days=days, partner_id=partner)
    before, until_too, _ = spec.partition(" until ")
    if until_too and _PAUSE_LENGTH.fullmatch(before.removeprefix("for ")):
        raise _usage_error(
            "pause", "Say how long (like `2w`) or until when (like `until 2027-01-10`), not both."
        )
    if spec in _FOR_GOOD:
        raise _usage_error(
            "pause",
            "A pause can last up to six months. To stop the check-ins for good, end the "
            "pair with `/mentor end`.",
        )
    raise _usage_error(
        "pause",
        f"`{as_typed(said)}` is not a length like `2w`, `3 weeks` or `10 days`, "
        "or `until 2027-01-10`.",
    )


# Words for a pause with no end: what they ask for is an end of the pair.
_FOR_GOOD = frozenset({"forever", "indefinitely", "permanently", "for good", "always"})


def _parse_feedback(words: list[str], raw: str) -> Command:
    listing = bool(words) and words[0].lower().rstrip("?.!:") == "list"  # "list?" too
    if listing and (page := _list_page(words[1:])) is not None:
        return ListFeedback(page)
    partner, after = _split_partner(words)
    # "/mentor feedback @carol list": the list (every pair's), not feedback saying "list".
    listing = partner is not None and bool(after) and after[0].lower().rstrip("?.!:") == "list"
    if listing and (page := _list_page(after[1:])) is not None:
        return ListFeedback(page)
    # Keep the question exactly as written (line breaks too), minus the subcommand.
    body = clean_text(raw).split(None, 1)[1] if len(words) > 0 else ""
    if partner is not None:
        body = body.split(None, 1)[1] if len(body.split(None, 1)) > 1 else ""
    if not body or not _says_something(body):  # "?" alone asks nothing
        # Mentees ask a question with it, mentors give feedback: not known here.
        raise _usage_error(
            "feedback",
            "Write your question (mentors: your feedback) right after `/mentor feedback`.",
        )
    if len(body) > WIN_MAX_CHARS:
        raise _too_long(
            f"I didn't send that: it is {len(body):,} characters; keep it under "
            f"{WIN_MAX_CHARS:,} so it fits in one message.",
            body,
        )
    return AskFeedback(body, partner)


def _list_page(args: list[str]) -> int | None:
    """The page of ``/mentor feedback list``, ``list 2`` or ``list page 2``; None when
    the words after "list" are more than a page (then they start a question: "list
    three things I could do better in my talk?")."""
    if not args:
        return 1
    if len(args) == 2 and args[0].lower() == "page":
        args = args[1:]
    if len(args) != 1:
        return None
    # One word after "list" is its page, a number or not ("list x", "list -1"): no
    # question is one word long after "list".
    page = whole_number(args[0], high=MAX_PAGE)
    if page is None:
        raise _usage_error(
            "feedback", f"`{as_typed(args[0])}` is not a page number.", "/mentor feedback list 2"
        )
    return page


def _parse_config(args: list[str]) -> Command:
    if not args:
        return ShowConfig()
    setting, rest = args[0].lower(), args[1:]
    value = rest[0] if len(rest) == 1 else None
    match setting:
        case "shoutouts" | "shoutout" | "channel":
            if value is not None and value.lower() in _NO_CHANNEL:
                return SetShoutoutChannel(None)
            channel = _fitting(channel_mention_id(value), value, "config") if value else None
            if channel is None:
                named = sum(channel_mention_id(word) is not None for word in rest)
                off = any(word.lower() in _NO_CHANNEL for word in rest)
                if named > 1:
                    said = _one_channel(named)
                elif named and off:  # Discord's channel and off options, both filled in
                    said = "Name a shout-out channel or say `off`, not both."
                else:
                    said = _no_channel(value)
                raise _usage_error("config", said, "/mentor config shoutouts #wins")
            return SetShoutoutChannel(channel)
        case "consent":
            if value is not None and value.lower() in ("on", "yes", "off", "no"):
                return SetShoutoutConsent(value.lower() in ("on", "yes"))
            raise _usage_error(
                "config",
                "Say `consent on` to let me celebrate your milestones in the shout-out "
                "channel, or `consent off` to keep them between you and your partner.",
                "/mentor config consent on",
            )
        case "timezone" | "tz":
            if not rest:
                raise _usage_error("config", "Name your timezone, like Europe/Berlin.")
            return SetTimezone(_parse_timezone(" ".join(rest)))
        case _:
            raise _usage_error("config", f"There is no setting called `{as_typed(setting)}`.")


# Words for "no shout-out channel" (`off` is the one the help shows).
_NO_CHANNEL = ("off", "none", "no", "disable", "disabled")


def _one_channel(named: int) -> str:
    return f"Name one shout-out channel, not {named}: every shout-out goes to that one."


def _no_channel(typed: str | None) -> str:
    """Why ``typed`` (one word, or None for none or several) names no channel."""
    if typed is None:
        return "Name the shout-out channel with #, or say `off`."
    if typed.startswith("#"):
        # A channel name the platform did not turn into a mention: none is called that.
        return (
            f"I can't find a channel called `{as_typed(typed)}`. Type # and pick the channel "
            "from the list, or say `off`."
        )
    return f"Name the shout-out channel with #, like `#{as_typed(typed)}`, or say `off`."


def _parse_timezone(value: str) -> str:
    try:
        return parse_timezone(value)
    except CadenceError as error:
        example = "/mentor config timezone Europe/Berlin"
        raise _usage_error("config", f"{error.reason}.", example) from None


# --- matching ------------------------------------------------------------------------

MATCH_ROLES = ("mentor", "mentee", "both")


def _parse_join(args: list[str]) -> JoinPool:
    # "join as a mentor …", "join mentee: …": the role, as the usage line's is.
    while args and args[0].lower() in ("as", "a", "an"):
        args = args[1:]
    if not args:
        return JoinPool(None)
    role = args[0].lower().rstrip(":,")
    if role not in MATCH_ROLES:
        raise _usage_error(
            "join",
            f"Say whether you join as a mentor, a mentee or both, not `{as_typed(args[0])}`.",
        )
    topics, capacity, team, team_given = _profile_words(args[1:], "join")
    return JoinPool(role, topics, capacity, team, team_given)


def _profile_words(
    words: list[str], sub: str
) -> tuple[tuple[str, ...], int | None, str | None, bool]:
    """Topics, with the labels ``capacity N`` and ``team NAME`` among them. The labels may
    carry a colon, and the topics one of their own (``topics: python, go``), as the usage
    line ``[topics…] [capacity N] [team NAME]`` invites people to type.

    "Team leadership", "team building" and "capacity planning" are topics people have, so
    a label word is a label only where a topic could not be: ``capacity`` before a number
    or inside a list item (:func:`_is_label`); ``team`` (without a colon) not after a
    comma or ``topics:``, its name running to the end or to the next label, so a name may
    have several words ("team platform infra"); with more topics after it, it is one word.
    Discord writes its options in this form (adapters/discord/translate.py), the topics
    last after ``topics:``, so none of their words is read as a label."""
    rest: list[str] = []
    capacity: int | None = None
    team: str | None = None
    team_given = False
    index = 0
    while index < len(words):
        lower = words[index].lower()
        word = lower.rstrip(",;:")
        value = words[index + 1].rstrip(",;") if index + 1 < len(words) else None
        if lower in ("topics:", "topic:") or (word == "topics" and not rest):
            index += 1  # a label, not a topic ("topic modelling" stays a topic)
        elif word == "capacity" and _is_label(words, index):
            if value is None:  # last, with nothing after it: asked for, not a topic
                raise _usage_error(sub, "Say how many mentees at once after `capacity`.")
            if capacity is not None:
                raise _said_twice(sub, word, str(capacity), value)
            capacity = _matching_value(sub, parse_capacity, value)
            index += 2
        elif word == "team" and (name := _team_name(words, index)) is not None:
            if not name:
                raise _usage_error(sub, "Say your team's name after `team`.")
            if team_given:
                raise _said_twice(sub, word, team or "none", " ".join(name))
            team, team_given = _matching_value(sub, normalise_team, " ".join(name)), True
            index += 1 + len(name)
        else:
            rest.append(words[index])
            index += 1
    topics = _matching_value(sub, normalise_topics, " ".join(rest))
    return topics, capacity, team, team_given


def _is_label(words: list[str], index: int) -> bool:
    """Whether the word at ``index`` is a label (``capacity``, ``team``, ``topics:``):
    with a colon always; ``capacity`` last (asked for), before a number, or inside a list
    item ("python capacity lots" is a capacity not understood; "python, capacity
    planning" a topic)."""
    lower = words[index].lower().rstrip(",;")
    if lower.endswith(":"):
        return lower[:-1] in ("capacity", "team", "topics", "topic")
    if lower == "capacity":
        after = words[index + 1].rstrip(",;").lower() if index + 1 < len(words) else ""
        number = after[:1].isdigit() or after[:1] in "+-" or after in _NUMBER_WORDS
        return not after or number or not _starts_item(words, index)
    return lower == "team"


def _starts_item(words: list[str], index: int) -> bool:
    """Whether the word at ``index`` starts an item of the topic list: the first word, or
    one after a comma or ``topics:``."""
    before = words[index - 1].lower() if index > 0 else ""
    return not before or before[-1] in ",;" or before in ("topics:", "topic:")


# "capacity two" is a capacity said in words (which the answer asks for in digits).
_NUMBER_WORDS = frozenset(
    ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
)


def _team_name(words: list[str], index: int) -> list[str] | None:
    """The words of the team named by ``team`` at ``index``, up to the next label or the
    end (empty: asked for); None when the word is part of a topic instead: after a comma
    or anywhere after ``topics:`` ("team payments python, go" names a team first)."""
    explicit = words[index].endswith(":")
    after_comma = index > 0 and _starts_item(words, index)
    if not explicit and (after_comma or _after_topics_label(words, index)):
        return None
    end = index + 1
    while end < len(words) and not _is_label(words, end):
        end += 1
    name = words[index + 1 : end]
    commas = [i for i, part in enumerate(name[:-1]) if part[-1] in ",;"]
    if commas:
        # Topics after the team ("team: platform infra, python", "team payments python,
        # go"): the name ends at its comma, or without a colon it is one word.
        name = name[: commas[0] + 1] if explicit else name[:1]
    return [part.rstrip(",;") for part in name]


def _after_topics_label(words: list[str], index: int) -> bool:
    """Whether an explicit ``topics:`` comes before ``index``: what follows it is topics,
    but for labels with a colon and ``capacity N``."""
    return any(part.lower() in ("topics:", "topic:") for part in words[:index])


def _said_twice(sub: str, label: str, first: str, second: str) -> CommandError:
    """``capacity 2 … capacity 3``: which one was meant is a guess, so none is taken."""
    return _usage_error(
        sub,
        f"You gave `{label}` twice (`{as_typed(first)}` and `{as_typed(second)}`): say it once.",
    )


def _matching_value(
    sub: str, parse: Callable[[str], T], value: str, example: str | None = None
) -> T:
    try:
        return parse(value)
    except TopicError as error:
        message = str(error)
        raise _usage_error(sub, message[:1].upper() + message[1:] + ".", example) from None


# What each profile setting takes, shown when it was named with nothing after it.
_PROFILE_EXAMPLES = {
    "role": "both",
    "topics": "python, career growth",
    "topic": "python, career growth",
    "capacity": "2",
    "team": "payments",
}


def _parse_profile(args: list[str]) -> ShowProfile | EditProfile:
    if not args:
        return ShowProfile()
    setting, rest = args[0].lower().rstrip(":"), args[1:]
    if setting not in _PROFILE_EXAMPLES:
        raise _usage_error("profile", f"There is no profile setting called `{as_typed(setting)}`.")
    example = f"/mentor profile {setting} {_PROFILE_EXAMPLES[setting]}"
    if not rest:
        raise _usage_error("profile", f"Say what to set `{setting}` to.", example)
    value = " ".join(rest)
    match setting:
        case "role":
            role = rest[0].lower()
            if len(rest) != 1 or role not in MATCH_ROLES:
                raise _usage_error("profile", "Your role is mentor, mentee or both.", example)
            return EditProfile(role=role)
        case "capacity":
            return EditProfile(capacity=_matching_value("profile", parse_capacity, value, example))
        case "team":
            team = _matching_value("profile", normalise_team, value, example)
            return EditProfile(team=team, team_given=True)
        case _:  # topics, topic
            return EditProfile(topics=_matching_value("profile", normalise_topics, value, example))
