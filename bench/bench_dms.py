"""Benchmark: how many DMs each person of a pair gets over a scripted six weeks.

Run by hand (``python -m bench.bench_dms``); the numbers live in bench/README.md. It is a
count, not a timing: the same story gives the same numbers on every run.

The story goes through the real Engine, a real SQLite file and the real outbox delivery
(the platform end is the tests' recorder, :class:`tests.conversation.Chat`), with the
clock walked so the dispatch pass sends what falls due: heads-ups, check-in prompts,
nudges, feedback follow-ups. alice mentors bob from Wednesday 25 November 2026; the
default cadence puts their check-ins on Mondays at 10:00 UTC. They act as people would,
so where the bot asks "Which one is this reply for?" (as it did before issue 12) they
press the button naming the question they meant, and that click is counted.

Besides the DMs, it counts what each person needed to see (check-in answers shared,
feedback answered and acted on, follow-up questions, look backs shared, milestone news),
in their DMs or in the answers shown to them at once, so a lower DM count can be
checked to have lost nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.clock import ManualClock
from bot.storage.database import Database, sqlite_url
from tests.conversation import Chat, pair_up

START = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday
PEOPLE = ("alice", "bob")
WHICH_ONE = "Which one is this reply for?"

# What each person must have been told by the end, and a phrase that finds it.
NEEDED = {
    "check-in answers shared": "'s check-in answers:",
    "feedback question to answer": "asked for your feedback",
    "feedback answer": "answered your question",
    "feedback given": "shared some feedback with you",
    "follow-up question": "How did you act on",
    "how feedback was acted on": "acted on your feedback",
    "look back question": "What went well?",
    "look back shared": "'s look back at",
    "milestone news": "reached a milestone",
    "pair ended": "ended your mentoring pair",
}


class Story:
    def __init__(self, chat: Chat) -> None:
        self.chat = chat
        self.extra_clicks: Counter[str] = Counter()

    async def at(self, month: int, day: int, hour: int, minute: int = 0) -> None:
        """Walk the clock to that moment (2026, or January 2027), running what falls due."""
        year = 2027 if month == 1 else 2026
        target = datetime(year, month, day, hour, minute, tzinfo=UTC)
        await self.chat.advance(target - self.chat.clock.now())

    async def reply(self, user: str, text: str, meant_for: str) -> None:
        """A DM reply; asked "which one?", the person picks the question they meant."""
        answer = await self.chat.say(user, text)
        if WHICH_ONE in answer:
            (button,) = [b for b in self.chat.buttons(user) if meant_for in b.label]
            await self.chat.press(user, button)
            self.extra_clicks[user] += 1

    async def checkin_by_replies(self, user: str, words: str, skip_hard: bool = False) -> None:
        await self.chat.click(user, "Great 🙌")
        await self.reply(user, f"{words}: moved forward", "Check-in")
        if skip_hard:
            await self.chat.click(user, "Skip")
        else:
            await self.reply(user, f"{words}: what is hard", "Check-in")
        await self.reply(user, f"{words}: for next time", "Check-in")

    async def checkin_by_form(self, user: str, words: str) -> None:
        await self.chat.click(user, "Answer in a form")
        await self.chat.submit(
            user,
            mood="ok",
            progress=f"{words}: moved forward",
            challenge=f"{words}: what is hard",
            next_topic=f"{words}: for next time",
        )

    async def run(self) -> None:
        chat = self.chat
        # Week 1: pairing, a goal, a win, a question for the mentor.
        await pair_up(chat, "alice", "bob")
        await chat.say("bob", "/mentor milestone add Give a talk at the team meeting")
        await chat.say("bob", "/win shipped the login page")
        await self.at(11, 26, 14)
        await chat.say(
            "bob",
            "/mentor feedback In Tuesday's demo, was the architecture part clear enough "
            "for people outside the team?",
        )
        await self.at(11, 26, 16)
        await self.reply("alice", "Mostly: start with the outcome next time.", "Answer to")
        # Monday 30 Nov: the check-in, and with it the follow-up to bob.
        await self.at(11, 30, 10, 30)
        await self.reply("bob", "I opened Friday's demo with the result.", "How you acted")
        await self.checkin_by_replies("bob", "week 1")
        await self.checkin_by_form("alice", "week 1")

        # Week 2: feedback from the mentor unprompted; wins; the check-in.
        await self.at(12, 2, 11)
        await chat.say("alice", "/mentor feedback Your standup updates were crisp this week.")
        await chat.say("bob", "/win paired on the flaky test")
        await self.at(12, 7, 10, 30)
        await self.reply("bob", "I kept leading with blockers.", "How you acted")
        await self.checkin_by_replies("bob", "week 2")
        await self.checkin_by_replies("alice", "week 2", skip_hard=True)

        # Week 3: the goal is done and both look back; alice answers after the nudge.
        await self.at(12, 10, 15)
        await chat.say("bob", "/mentor milestone done 1")
        await self.reply("bob", "The outline session helped.", "Look back")
        await self.reply("bob", "Rehearse a week earlier.", "Look back")
        await self.at(12, 10, 17)
        await chat.click("alice", "Answer in a form")
        await chat.submit("alice", went_well="Bob drove it.", could_improve="")
        await self.at(12, 14, 11)
        await self.checkin_by_replies("bob", "week 3")
        await self.at(12, 15, 12)  # the nudge came at 10:00
        await self.checkin_by_form("alice", "week 3")

        # Week 4: alice skips the check-in from its heads-up.
        await self.at(12, 20, 12)
        await chat.click("alice", "Skip this one")
        await chat.say("bob", "/win gave my first code review")

        # Weeks 5 and 6: check-ins.
        await self.at(12, 28, 11)
        await self.checkin_by_replies("bob", "week 5")
        await self.checkin_by_replies("alice", "week 5")
        await self.at(1, 4, 11)
        await self.checkin_by_form("bob", "week 6")
        await self.checkin_by_replies("alice", "week 6")

        # The pair ends; both look back (bob skips his).
        await self.at(1, 6, 14)
        await chat.say("alice", "/mentor end")
        await chat.click("alice", "End pair")
        await self.reply("alice", "Bob asked sharp questions.", "Look back")
        await self.reply("alice", "We could have set goals earlier.", "Look back")
        await self.at(1, 6, 16)
        await chat.click("bob", "Skip")
        await chat.click("bob", "Skip")


async def measure(work: Path, *, show: bool = False) -> dict[str, Any]:
    database = Database(sqlite_url(work / "story.db"))
    await database.upgrade()
    chat = Chat(database, ManualClock(START), admins=frozenset({"alice"}))
    story = Story(chat)
    await story.run()
    await database.dispose()
    if show:
        for seen in chat.recorder.seen:
            print(f"--- {seen.kind} → {seen.user}\n{seen.content.text}")
    results: dict[str, Any] = {}
    for user in PEOPLE:
        dms = chat.dms(user)
        shown = [seen.content.text for seen in chat.recorder.seen if seen.user == user]
        results[user] = {
            "DMs": len(dms),
            "answers shown to them (ephemeral or updated)": sum(
                1 for s in chat.recorder.seen if s.user == user and s.kind != "dm"
            ),
            "extra clicks for 'which one?'": story.extra_clicks[user],
            # In a DM, or in an answer shown at once (a person's own milestone comes
            # in the answer to the /win that reached it: one event, one message).
            "needed, found in what they were shown": {
                what: sum(phrase in text for text in shown) for what, phrase in NEEDED.items()
            },
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="also write the numbers as JSON")
    parser.add_argument("--show", action="store_true", help="print every DM as well")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-dms-"))
    try:
        results = asyncio.run(measure(work, show=args.show))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results, indent=2, ensure_ascii=False))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
