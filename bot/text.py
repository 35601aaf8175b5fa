"""Free text from people: cleaned once on the way in, and the mention markup in it."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from bot.errors import UserError

# The most any one piece of free text may hold (a win, an answer, a question).
TEXT_MAX_CHARS = 3000
WIN_MAX_CHARS = TEXT_MAX_CHARS
TITLE_MAX_CHARS = 200

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# Half of a UTF-16 surrogate pair: searched in C, not a character at a time in Python (a
# 3,000-character answer took 167 µs that way, 18 µs so, and plain ASCII text none).
_SURROGATE = re.compile("[\ud800-\udfff]")
USER_MENTION = re.compile(r"^<@([A-Za-z0-9_.\-]+)(?:\|[^>]*)?>$")
CHANNEL_MENTION = re.compile(r"^<#([A-Za-z0-9_.\-]+)(?:\|[^>]*)?>$")
# Mention markup anywhere in a text: <@U1>, <@U1|alice>, <#C1>, <#C1|general>.
MENTION_IN_TEXT = re.compile(r"<([@#])([A-Za-z0-9_.\-]+)(?:\|([^>]*))?>")


def clean_text(raw: str) -> str:
    """Keep what a person wrote, exactly, except what no database can store.

    NUL and other control characters (PostgreSQL rejects NUL in text) are dropped, and a
    lone UTF-16 surrogate, which is no character at all, becomes U+FFFD. Emoji, combining
    marks, right-to-left text and zero-width joiners pass through untouched.
    """
    if not raw.isascii() and _SURROGATE.search(raw):
        # Through UTF-16: a proper pair becomes its character, a lone half one U+FFFD.
        raw = raw.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return _CONTROL.sub("", raw).strip()


def user_mention_id(token: str) -> str | None:
    match = USER_MENTION.match(token)
    return match.group(1) if match else None


def channel_mention_id(token: str) -> str | None:
    match = CHANNEL_MENTION.match(token)
    return match.group(1) if match else None


def mentioned_user_ids(text: str) -> set[str]:
    return {m[2] for m in MENTION_IN_TEXT.finditer(text) if m[1] == "@"}


def mention_list(ids: Sequence[str]) -> str:
    """People's mentions as a sentence lists them: ``<@a>``, ``<@a> and <@b>``,
    ``<@a>, <@b> and <@c>``."""
    mentions = [f"<@{who}>" for who in ids]
    if len(mentions) <= 2:
        return " and ".join(mentions)
    return ", ".join(mentions[:-1]) + " and " + mentions[-1]


def named_mentions(text: str, names: Mapping[str, str]) -> str:
    """Mention markup as people read it where no platform renders it (files): ``<@U1>``
    becomes ``@`` and the name in ``names`` (else the label it carries, else the id),
    ``<#C1|general>`` becomes ``#general``."""

    def name(match: re.Match[str]) -> str:
        sigil, key, label = match[1], match[2], match[3]
        if sigil == "@":
            return "@" + (names.get(key) or label or key)
        return "#" + (label or key)

    return MENTION_IN_TEXT.sub(name, text)


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def bold(words: str) -> str:
    """Someone's words (a milestone's title) in bold, unless they hold an asterisk: then
    as they typed them, their own bold kept (bold around it would end early, and Slack's
    mrkdwn and Discord's markdown show "*Demo to *the team**" in pieces)."""
    return words if "*" in words else f"*{words}*"


# How much of what someone typed an error repeats (they retype it anyway).
QUOTED_CHARS = 40


# How much of someone's words a reply offers back as a command to send as it is.
OFFERED_CHARS = 300


def as_command(command: str) -> str:
    """A command with the person's words in it, offered back for them to send (in a code
    span): cut short past ``OFFERED_CHARS``, their backticks made quotes."""
    return shorten(command.strip(), OFFERED_CHARS).replace("`", "'")


def as_typed(words: str) -> str:
    """What the person typed, repeated in an error: cut short if it is long, and its own
    backticks made quotes, as errors put it in a code span or quotes (no code span holds
    one: Slack's mrkdwn and Discord's markdown end it there and show the rest as typed)."""
    return shorten(words, QUOTED_CHARS).replace("`", "'")


# The longest refused words a reply gives back (a few messages' worth on any platform).
GIVEN_BACK_MAX_CHARS = 10_000


def given_back(parts: Sequence[str], use: str = "to keep") -> str:
    """Words someone wrote that were not saved, given back whole after the reply that
    says so ("Here is what you wrote, to keep: …"): a form closes when it is sent, and a
    slash command's words show nowhere once sent, so they are not lost with the refusal.
    "" when there are none, or when they are far past any limit (a paste gone wrong: the
    reply would be pages long)."""
    words = [part.strip() for part in parts if part.strip()]
    if not words or sum(len(part) for part in words) > GIVEN_BACK_MAX_CHARS:
        return ""
    return f"\nHere is what you wrote, {use}:\n\n" + "\n\n".join(words)


# A typed "skip" (the prompts say "Reply here, answer in a form, or skip"): the [Skip]
# button in words, not an answer that reads "skip".
_SKIP = re.compile(r"skip(?:\s+(?:it|this|this one|that))?\s*[.!]*", re.IGNORECASE)


def _said_by(words: re.Pattern[str]) -> Callable[[str], bool]:
    """Whether a text, all of it but spaces around, is said by ``words``."""

    def said(text: str) -> bool:
        return words.fullmatch(text.strip()) is not None

    return said


is_skip = _said_by(_SKIP)


# "Not yet", to "How did you act on the feedback?": nothing acted on so far, which is
# not news for the mentor ("🌱 bob acted on your feedback: not yet").
_NOT_YET = re.compile(
    r"(?:no[,.]?\s+)?(?:not\s+yet|(?:i\s+)?ha(?:ven['\u2019]t|ve\s+not)\s+yet|not\s+so\s+far)"
    r"\s*[.!]*",
    re.IGNORECASE,
)
is_not_yet = _said_by(_NOT_YET)


# A typed "stop" or "cancel" under a question: someone leaving the conversation, never
# its answer (it would be shared as "Went well: stop").
_STOP = re.compile(r"(?:stop|cancel|quit|exit|abort|never\s*mind)\s*[.!]*", re.IGNORECASE)
is_stop = _said_by(_STOP)


# A DM that asks the bot for help, as people ask a bot in its DMs.
_HELP = re.compile(r"(?:help(?:\s+me)?\s*[.!?]*|\?+)", re.IGNORECASE)
# A DM that only says hello.
_HELLO = re.compile(
    r"(?:hi|hello|hey|yo|good\s+(?:morning|afternoon|evening))(?:\s+there)?\s*[.!?]*",
    re.IGNORECASE,
)


# A DM that only says thanks (to the bot's thanks, or to news it passed on).
_THANKS = re.compile(
    r"(?:(?:many\s+)?thanks(?:\s+(?:a\s+lot|so\s+much))?|thank\s+you(?:\s+so\s+much)?|thx|ty"
    r"|cheers)(?:\s*,?\s*(?:mentorbot|bot))?\s*[.!🙏]*",
    re.IGNORECASE,
)
is_thanks = _said_by(_THANKS)
is_help = _said_by(_HELP)
is_hello = _said_by(_HELLO)


# The bot's slash commands, by name.
COMMAND_NAMES = ("win", "mentor")
# "/win …" typed as a message (not picked from the app's list of commands).
_SLASH_COMMAND = re.compile(rf"/(?:{'|'.join(COMMAND_NAMES)})(?![\w-])", re.IGNORECASE)


def is_slash_command(text: str) -> bool:
    return _SLASH_COMMAND.match(text.strip()) is not None


def said_to_the_bot(text: str) -> bool:
    """A reply that is never an answer to a question, whatever it asks: a stop, a call
    for help, a hello, a thanks, a command sent as a message. It would be shared with the
    partner as "Moved forward: help" (or "/win shipped it", never saved as a win)."""
    return (
        is_stop(text)
        or is_help(text)
        or is_hello(text)
        or is_thanks(text)
        or is_slash_command(text)
    )


def comparable(text: str) -> str:
    """``text`` as two of someone's entries are compared ("is this the same goal, the
    same question?"): case and spacing aside."""
    return " ".join(text.casefold().split())


def clean_answer(raw: str, what: str = "answer") -> str:
    """A written answer, ready to store; empty or oversized ones are refused whole."""
    text = clean_text(raw)
    if not text:
        raise UserError(f"Your {what} was empty, so nothing was saved. Write a few words.")
    if len(text) > TEXT_MAX_CHARS:
        raise UserError(
            f"Your {what} is {len(text):,} characters long; it can be up to "
            f"{TEXT_MAX_CHARS:,}, so nothing was saved. Could you say it shorter?"
        )
    return text
