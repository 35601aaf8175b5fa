"""Topics: free words, normalised so "Databases", "database " and "DATABASE" are one.

Pure functions; used by the command parser, the people import and the pool.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from bot.numbers import whole_number
from bot.text import as_typed

TOPIC_MAX_CHARS = 40  # the String(40) of match_topics.name
MAX_TOPICS = 10  # per person: enough to say what you offer or want, few enough to mean it
TEAM_MAX_CHARS = 60
MAX_CAPACITY = 10
DEFAULT_CAPACITY = 1

# Words that join topics in a list rather than name one ("python and go"), alone or
# leading a part (", and go").
_JOINERS = ("and", "or", "&", "plus")
_JOINER = re.compile(rf"^(?:{'|'.join(map(re.escape, _JOINERS))})\s+", re.IGNORECASE)
# Letters, digits and the marks that carry meaning in topic names (c++, c#, node.js, ci/cd).
_NOT_TOPIC = re.compile(r"[^\w+#./ -]+")
_SPACES = re.compile(r"[\s_]+")


class TopicError(ValueError):
    """A topic that cannot be used; ``str()`` says why, for the person."""


def normalise_topic(raw: str) -> str:
    """Lower case, single spaces, no stray punctuation, and the last word singular by
    simple rules (databases -> database, libraries -> library, classes -> class)."""
    text = _SPACES.sub(" ", _NOT_TOPIC.sub(" ", raw.lower())).strip(" .-/")
    if not text:
        raise TopicError(f"“{as_typed(raw.strip())}” has no letters or digits to make a topic of")
    words = text.split(" ")
    words[-1] = _singular(words[-1])
    topic = " ".join(words)
    if len(topic) > TOPIC_MAX_CHARS:
        # Quoted only as far as the limit: a paste of a paragraph is not said back whole.
        raise TopicError(
            f"the topic “{topic[:TOPIC_MAX_CHARS].rstrip()}…” is longer than {TOPIC_MAX_CHARS} "
            "characters"
        )
    return topic


def _singular(word: str) -> str:
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def split_topics(text: str) -> list[str]:
    """Topics as typed: separated by commas or semicolons when there are any, else by
    spaces (so ``python sql`` is two topics and ``machine learning, sql`` is two too)."""
    parts = re.split(r"[,;]", text) if re.search(r"[,;]", text) else text.split()
    # "python and go", "sql, and go": a word that joins topics is none of them.
    parts = [_JOINER.sub("", part.strip()).strip() for part in parts]
    return [part for part in parts if part and part.lower() not in _JOINERS]


def normalise_topics(text: str) -> tuple[str, ...]:
    """Each topic once, in the order first given."""
    topics: list[str] = []
    for part in split_topics(text):
        topic = normalise_topic(part)
        if topic not in topics:
            topics.append(topic)
    if len(topics) > MAX_TOPICS:
        raise TopicError(f"that is {len(topics)} topics; name up to {MAX_TOPICS}")
    return tuple(topics)


# Quotes people put around a name of several words, straight, curly or angled.
_QUOTES = "\"'`\u201c\u201d\u2018\u2019\u00ab\u00bb"


def normalise_team(raw: str) -> str | None:
    """A team name as compared: case, spaces and quotes around it (``team "platform
    infra"``) do not matter; empty or "none" is none."""
    team = _SPACES.sub(" ", raw).strip().strip(_QUOTES).strip()
    if not team or team.lower() in ("none", "-"):
        return None
    if len(team) > TEAM_MAX_CHARS:
        raise TopicError(f"a team name has at most {TEAM_MAX_CHARS} characters")
    return team.lower()


def parse_capacity(raw: str) -> int:
    value = raw.strip()
    if not value:
        return DEFAULT_CAPACITY
    capacity = whole_number(value, high=MAX_CAPACITY)
    if capacity is None:
        raise TopicError(
            f"capacity is how many mentees at once, a number from 1 to {MAX_CAPACITY}, "
            f"not “{as_typed(value)}”"
        )
    return capacity


def topic_key(topic: str) -> str:
    """How two spellings of a topic compare: "public speaking", "public-speaking" and
    "publicspeaking" (each normalised) are one topic."""
    return _KEY_GAPS.sub("", topic)


_KEY_GAPS = re.compile(r"[\s-]+")


def merge_known(topics: Sequence[str], known: Collection[str], longest: int = 4) -> tuple[str, ...]:
    """Topics as the workspace already spells them. Neighbouring topics that together
    are a topic in use become that topic (``public speaking`` typed without a comma is
    the "public speaking" others named, not "public" and "speaking"), and a topic in
    use spelled another way ("public-speaking", "PublicSpeaking") is spelled as it is in
    use, so the people who name it share it."""
    # Reversed: of two spellings in use already, the first in order is kept.
    by_key = {topic_key(name): name for name in sorted(known, reverse=True)}
    merged: list[str] = []
    index = 0
    while index < len(topics):
        for size in range(min(longest, len(topics) - index), 1, -1):
            candidate = by_key.get(topic_key(" ".join(topics[index : index + size])))
            if candidate is not None:
                merged.append(candidate)
                index += size
                break
        else:
            merged.append(by_key.get(topic_key(topics[index]), topics[index]))
            index += 1
    return tuple(dict.fromkeys(merged))
