"""Every chat command is parsed here, in one place, into a typed value.

A parse error carries what was wrong, the usage and an example, so every platform gives
the same helpful answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from bot.cadence import CadenceError, parse_timezone
from bot.matching.topics import (
    TopicError,
    normalise_team,
    normalise_topics,
    parse_capacity,
)
from bot.text import (
    TITLE_MAX_CHARS,
    WIN_MAX_CHARS,
    channel_mention_id,
    clean_text,
    user_mention_id,
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


@dataclass(frozen=True, slots=True)
class AddMilestone:
    title: str
    partner_id: str | None = None


@dataclass(frozen=True, slots=True)
class CompleteMilestone:
    number: int
    partner_id: str | None = None


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
    pass


@dataclass(frozen=True, slots=True)
class StartCheckin:
    partner_id: str | None = None


@dataclass(frozen=True, slots=True)
class SkipNext:
    partner_id: str | None = None


@dataclass(frozen=True, slots=True)
class Pause:
    days: int | None = None  # for this many days, or
    until: date | None = None  # until this local date
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
    pass


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
    | AddMilestone
    | CompleteMilestone
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
        "Set when your check-ins happen",
        "/mentor cadence biweekly thu 9:30 Europe/Berlin",
    ),
    "status": Usage(
        "/mentor status", "Your pairs, next check-in, streak and more", "/mentor status"
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
        "/mentor feedback <a specific question> | list",
        "Ask your mentor a specific question (mentors: give feedback)",
        "/mentor feedback What's one thing that would make my demos clearer?",
    ),
    "review": Usage(
        "/mentor review [@partner]", "Look back: what went well, what to improve", "/mentor review"
    ),
    "end": Usage("/mentor end [@partner]", "End a pair", "/mentor end @bob"),
    "journal": Usage("/mentor journal [page]", "Your wins, newest first", "/mentor journal 2"),
    "milestone": Usage(
        "/mentor milestone add <title> | done <n> | list",
        "Set, complete and list your pair's milestones",
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


def help_text() -> str:
    lines = ["Here is what I can do:", f"`{WIN_USAGE.usage}` — {WIN_USAGE.summary}"]
    lines += [f"`{u.usage}` — {u.summary}" for u in MENTOR_USAGE.values()]
    return "\n".join(lines)


def parse_command(command: str, text: str) -> Command:
    name = command.strip().lstrip("/").lower()
    if name == "win":
        return _parse_win(text)
    if name == "mentor":
        return _parse_mentor(text)
    raise CommandError(f"I don't know the command `/{name}`.\n{help_text()}")


def _parse_win(text: str) -> ShareWin:
    cleaned = clean_text(text)
    if not cleaned:
        raise CommandError(
            "Tell me what went well, right after `/win`.",
            usage=WIN_USAGE.usage,
            example=WIN_USAGE.example,
        )
    if len(cleaned) > WIN_MAX_CHARS:
        raise CommandError(
            f"That win is {len(cleaned):,} characters long; a win can be up to "
            f"{WIN_MAX_CHARS:,}. Could you say it shorter, or share it as two wins?"
        )
    return ShareWin(cleaned)


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
            return ShowJournal(_parse_page(args))
        case "milestone" | "milestones":
            return _parse_milestone(args)
        case "config":
            return _parse_config(args)
        case "cadence":
            partner, rest = _split_partner(args)
            if not rest:
                raise _usage_error("cadence", "Say how often, and optionally when.")
            return SetCadence(" ".join(rest), partner)
        case "status":
            return ShowStatus()
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
            return ExportData()
        case "forget":
            return ForgetMe()
        case "stats":
            return ShowStats()
        case "join":
            return _parse_join(args)
        case "profile":
            return _parse_profile(args)
        case "leave":
            return LeavePool()
        case "match":
            return RunMatch()
        case _:
            raise CommandError(f"I don't know `/mentor {sub}`.\n{help_text()}")


def _usage_error(sub: str, message: str, example: str | None = None) -> CommandError:
    usage = MENTOR_USAGE[sub]
    return CommandError(message, usage=usage.usage, example=example or usage.example)


def _parse_pair(args: list[str]) -> ProposePair:
    ids = [user_mention_id(a) for a in args]
    if len(args) != 2 or None in ids:
        raise _usage_error("pair", "Name two people: first the mentor, then the mentee.")
    mentor_id, mentee_id = ids
    assert mentor_id is not None and mentee_id is not None
    if mentor_id == mentee_id:
        raise _usage_error("pair", "A pair needs two different people.")
    return ProposePair(mentor_id, mentee_id)


def _optional_partner(args: list[str], sub: str) -> str | None:
    if not args:
        return None
    partner = user_mention_id(args[0])
    if partner is None or len(args) > 1:
        raise _usage_error(sub, f"I expected a partner's @mention, not `{' '.join(args)}`.")
    return partner


def _parse_page(args: list[str]) -> int:
    if not args:
        return 1
    if len(args) == 1 and args[0].isdecimal() and 0 < int(args[0]) < 1_000_000:
        return int(args[0])
    raise _usage_error("journal", f"`{' '.join(args)}` is not a page number.")


def _split_partner(args: list[str]) -> tuple[str | None, list[str]]:
    """A leading @mention picks the pair when you are in several."""
    if args and (partner := user_mention_id(args[0])) is not None:
        return partner, args[1:]
    return None, args


def _parse_milestone(args: list[str]) -> Command:
    if not args:
        raise _usage_error("milestone", "Say what to do with milestones: add, done or list.")
    action, rest = args[0].lower(), args[1:]
    partner, rest = _split_partner(rest)
    match action:
        case "add":
            title = " ".join(rest)
            if not title:
                raise _usage_error("milestone", "Give the milestone a title.")
            if len(title) > TITLE_MAX_CHARS:
                raise CommandError(
                    f"That title is {len(title):,} characters; keep it under "
                    f"{TITLE_MAX_CHARS} (put details in a /win when you reach it)."
                )
            return AddMilestone(title, partner)
        case "done" | "complete":
            number = rest[0].lstrip("#") if len(rest) == 1 else ""
            if not number.isdecimal() or not 0 < int(number) < 1_000_000:
                raise _usage_error(
                    "milestone",
                    "Say which milestone is done by its number from `/mentor milestone list`.",
                )
            return CompleteMilestone(int(number), partner)
        case "list":
            if rest:
                raise _usage_error("milestone", "`list` takes no words after it.")
            return ListMilestones(partner)
        case _:
            raise _usage_error("milestone", f"`{action}` is not something I can do to milestones.")


def _parse_pause(args: list[str]) -> Pause:
    partner, rest = _split_partner(args)
    if not rest:
        return Pause(days=14, partner_id=partner)
    spec = " ".join(rest).lower()
    if spec.startswith("until "):
        try:
            until = date.fromisoformat(spec[6:].strip())
        except ValueError:
            raise _usage_error(
                "pause", f"`{spec[6:].strip()}` is not a date like 2027-01-10."
            ) from None
        return Pause(until=until, partner_id=partner)
    amount, unit = spec[:-1].strip(), spec[-1:]
    if unit in ("w", "d") and amount.isdecimal():
        days = int(amount) * (7 if unit == "w" else 1)
        if not 0 < days <= MAX_PAUSE_DAYS:
            raise _usage_error("pause", "A pause can last from one day to six months.")
        return Pause(days=days, partner_id=partner)
    raise _usage_error(
        "pause", f"`{spec}` is not a length like `2w` or `10d`, or `until 2027-01-10`."
    )


def _parse_feedback(words: list[str], raw: str) -> Command:
    if words and words[0].lower() == "list" and len(words) == 1:
        return ListFeedback()
    partner, _ = _split_partner(words)
    # Keep the question exactly as written (line breaks too), minus the subcommand.
    body = clean_text(raw).split(None, 1)[1] if len(words) > 0 else ""
    if partner is not None:
        body = body.split(None, 1)[1] if len(body.split(None, 1)) > 1 else ""
    if not body:
        raise _usage_error("feedback", "Write your question right after `/mentor feedback`.")
    if len(body) > WIN_MAX_CHARS:
        raise CommandError(
            f"That is {len(body):,} characters; keep it under {WIN_MAX_CHARS:,} so it stays a "
            "question your mentor can answer."
        )
    return AskFeedback(body, partner)


def _parse_config(args: list[str]) -> Command:
    if not args:
        return ShowConfig()
    setting, rest = args[0].lower(), args[1:]
    value = rest[0] if len(rest) == 1 else None
    match setting:
        case "shoutouts" | "shoutout" | "channel":
            if value is not None and value.lower() == "off":
                return SetShoutoutChannel(None)
            channel = channel_mention_id(value) if value else None
            if channel is None:
                raise _usage_error("config", "Name the shout-out channel with #, or say `off`.")
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
            if value is None:
                raise _usage_error("config", "Name your timezone, like Europe/Berlin.")
            return SetTimezone(_parse_timezone(value))
        case _:
            raise _usage_error("config", f"There is no setting called `{setting}`.")


def _parse_timezone(value: str) -> str:
    try:
        return parse_timezone(value)
    except CadenceError as error:
        example = "/mentor config timezone Europe/Berlin"
        raise _usage_error("config", f"{error.reason}.", example) from None


# --- matching ------------------------------------------------------------------------

MATCH_ROLES = ("mentor", "mentee", "both")


def _parse_join(args: list[str]) -> JoinPool:
    if not args:
        return JoinPool(None)
    role = args[0].lower()
    if role not in MATCH_ROLES:
        raise _usage_error(
            "join", f"Say whether you join as a mentor, a mentee or both, not `{args[0]}`."
        )
    topics, capacity, team, team_given = _profile_words(args[1:], "join")
    return JoinPool(role, topics, capacity, team, team_given)


def _profile_words(
    words: list[str], sub: str
) -> tuple[tuple[str, ...], int | None, str | None, bool]:
    """Topics, with ``capacity N`` and ``team NAME`` anywhere among them."""
    rest: list[str] = []
    capacity: int | None = None
    team: str | None = None
    team_given = False
    index = 0
    while index < len(words):
        word = words[index].lower().rstrip(",;")
        value = words[index + 1].rstrip(",;") if index + 1 < len(words) else None
        if word == "capacity" and value is not None:
            capacity = _matching_value(sub, parse_capacity, value)
            index += 2
        elif word == "team" and value is not None:
            team, team_given = _matching_value(sub, normalise_team, value), True
            index += 2
        else:
            rest.append(words[index])
            index += 1
    topics = _matching_value(sub, normalise_topics, " ".join(rest))
    return topics, capacity, team, team_given


def _matching_value(sub: str, parse: Callable[[str], T], value: str) -> T:
    try:
        return parse(value)
    except TopicError as error:
        message = str(error)
        raise _usage_error(sub, message[:1].upper() + message[1:] + ".") from None


def _parse_profile(args: list[str]) -> ShowProfile | EditProfile:
    if not args:
        return ShowProfile()
    setting, rest = args[0].lower(), args[1:]
    if not rest:
        raise _usage_error("profile", f"Say what to set `{setting}` to.")
    match setting:
        case "role":
            role = rest[0].lower()
            if len(rest) != 1 or role not in MATCH_ROLES:
                raise _usage_error("profile", "Your role is mentor, mentee or both.")
            return EditProfile(role=role)
        case "topics" | "topic":
            return EditProfile(topics=_matching_value("profile", normalise_topics, " ".join(rest)))
        case "capacity":
            return EditProfile(capacity=_matching_value("profile", parse_capacity, " ".join(rest)))
        case "team":
            team = _matching_value("profile", normalise_team, " ".join(rest))
            return EditProfile(team=team, team_given=True)
        case _:
            raise _usage_error("profile", f"There is no profile setting called `{setting}`.")
