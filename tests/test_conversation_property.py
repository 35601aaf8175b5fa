"""Property: conversations never lose or misfile what people write.

Hypothesis drives the real Engine on a real SQLite file for two pairs (alice mentors bob,
carol mentors dave) through random interleavings of: typed DM replies, button clicks
(any button anyone ever saw, pressed by anyone: stale ones and other people's included),
forms opened by those buttons and submitted (by anyone), feedback asked and given,
check-ins asked for, milestones completed, look backs asked for, the clock moving (the
dispatch pass runs at each moment on the way: prompts, heads-ups, nudges, follow-ups and
window closes fall due) and process restarts (a new Engine and a new connection pool on
the same database file).

After each step:
- every typed reply and every submitted form answer is stored exactly once, or its author
  was told plainly that it was not saved; once stored it stays (a later step never erases
  it; the exceptions, as the person chose: a mood button replaces a mood, and an answer
  edited in a form that showed it replaces it);
- a typed reply is stored against the question the person saw last in their DMs among
  those still waiting (the newest DM asking it), in that conversation's own record, and
  a form answer in the field of the same name, in the submitter's own record;
- no one gets two DMs for one event, and no clock move sends anyone the same text twice;
- the bot never answers with its "something went wrong" apology.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from sqlalchemy import select

from bot.clock import ManualClock
from bot.engine import SORRY
from bot.flows import checkin, feedback, review
from bot.flows.sessions import FlowAction, FlowKind
from bot.storage.database import Database, sqlite_url
from bot.storage.models import CheckinAnswer, Feedback, FlowSession, Member, Review
from bot.turn import KEEP_MESSAGE
from tests.conftest import START
from tests.conversation import Chat, pair_up

PAIRS = (("alice", "bob"), ("carol", "dave"))
PEOPLE = [person for pair in PAIRS for person in pair]
MENTEES = [mentee for _, mentee in PAIRS]

# What a DM says when it asks a question a reply can answer: (kind, field).
QUESTIONS: dict[str, tuple[str, str]] = {
    **{question: ("checkin", field) for question, field in checkin.QUESTIONS.values()},
    **{question: ("review", field) for question, field in review.QUESTIONS.values()},
    "asked for your feedback": ("feedback", "answer"),
    "How did you act on": ("feedback", "action"),
}
# The text-accepting state of each (kind, field).
STATE_OF = {
    **{("checkin", field): state.value for state, (_, field) in checkin.QUESTIONS.items()},
    **{("review", field): state.value for state, (_, field) in review.QUESTIONS.items()},
    **{("feedback", field): state.value for state, field in feedback.FORM_FIELDS.items()},
}
NOT_SAVED = (
    "not saved",
    "nothing was saved",
    "didn't save",
    "so i left it alone",
)
TOKEN = re.compile(r"zq\d+zq")


@functools.cache
def _template() -> Path:
    """A migrated database file, made once per run and copied for each example; its
    folder is removed when the run ends."""
    folder = tempfile.mkdtemp(prefix="conv-prop-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = Path(folder) / "template.db"

    async def migrate() -> None:
        database = Database(sqlite_url(path))
        await database.upgrade()
        await database.dispose()

    asyncio.run(migrate())
    return path


@dataclass(frozen=True)
class Place:
    """Where an answer is stored: the table, the record and the column."""

    kind: str  # checkin, review, feedback
    record: int
    field: str
    owner: str  # whose record it is (the member who answers there)


class Conversations(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.dir = Path(tempfile.mkdtemp(prefix="conv-prop-"))
        self.path = self.dir / "mentorbot.db"
        shutil.copy(_template(), self.path)
        self.database = Database(sqlite_url(self.path))
        self.clock = ManualClock(START)
        self.chat = Chat(self.database, self.clock, admins=frozenset({"alice"}))
        self.count = 0
        self.milestones = {mentee: 0 for mentee in MENTEES}
        self.stored: dict[str, Place] = {}  # every token stored so far, and where
        self.run(self._setup())

    def run(self, work: Any) -> Any:
        return self.loop.run_until_complete(work)

    def teardown(self) -> None:
        self.run(self.database.dispose())
        self.loop.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    async def _setup(self) -> None:
        for mentor, mentee in PAIRS:
            await pair_up(self.chat, mentor, mentee)
        # Something to answer from the first step: a check-in for each pair, and a
        # question from dave to carol (check-ins also fall due as the clock moves).
        for mentor, _ in PAIRS:
            await self.chat.say(mentor, "/mentor checkin")
        await self.chat.say("dave", "/mentor feedback Was my design doc for search too long?")

    def token(self) -> str:
        self.count += 1
        return f"zq{self.count}zq"

    # --- what people do ------------------------------------------------------------------

    @rule(user=st.sampled_from(PEOPLE), minutes=st.integers(1, 120))
    def reply(self, user: str, minutes: int) -> None:
        self.run(self.chat.advance(timedelta(minutes=minutes)))
        text = self.token()
        expected = self.run(self._asked_last(user))
        answer = self._event(lambda: self.chat.say(user, text))
        where = self.run(self._places()).get(text)
        if where is None:
            assert _told_not_saved(answer), (text, answer)
            return
        assert expected is not None, f"{text} stored at {where} with no question seen"
        assert where == expected, f"{text} stored at {where}, but {user} saw {expected}"
        self.stored[text] = where

    @rule(user=st.sampled_from(PEOPLE), pick=st.integers(0, 10**6), minutes=st.integers(0, 30))
    def click(self, user: str, pick: int, minutes: int) -> None:
        """Any button anyone saw (stale ones, other people's), pressed by ``user``."""
        buttons = [
            (button, seen.message_id)
            for seen in self.chat.recorder.seen
            for button in seen.content.buttons
        ]
        if not buttons:
            return
        self.run(self.chat.advance(timedelta(minutes=minutes)))
        button, message_id = buttons[pick % len(buttons)]
        self._event(lambda: self.chat.press(user, button, message_id))

    @rule(user=st.sampled_from(PEOPLE), pick=st.integers(0, 10**6))
    def answer_with_a_button(self, user: str, pick: int) -> None:
        """A button on one of the newest messages ``user`` sees (what people mostly do)."""
        own = [s for s in self.chat.recorder.seen if s.user == user and s.content.buttons][-3:]
        buttons = [(button, seen.message_id) for seen in own for button in seen.content.buttons]
        if not buttons:
            return
        self.run(self.chat.advance(timedelta(minutes=1)))
        button, message_id = buttons[pick % len(buttons)]
        self._event(lambda: self.chat.press(user, button, message_id))

    @rule(
        user=st.sampled_from(PEOPLE),
        pick=st.integers(0, 10**6),
        filled=st.lists(st.booleans(), min_size=4, max_size=4),
        own=st.booleans(),
    )
    def submit(self, user: str, pick: int, filled: list[bool], own: bool) -> None:
        """A form opened for ``user`` (or, unless ``own``, any form anyone opened),
        submitted by ``user``: some fields written in (over an answer shown, an edit),
        the others left as they opened (empty, or with the answer shown)."""
        forms = [form for owner, form in self.chat.forms if owner == user or not own]
        if not forms:
            return
        self.run(self.chat.advance(timedelta(minutes=1)))
        form = forms[-1 - pick % len(forms)] if own else forms[pick % len(forms)]
        values = {
            field.name: (self.token() if full else field.initial or "")
            for field, full in zip(form.fields, filled, strict=False)
        }
        answer = self._event(lambda: self.chat.submit(user, form.form_id, **values))
        places = self.run(self._places())
        for field in form.fields:
            text = values.get(field.name, "")
            if not text or text == field.initial:
                continue  # left as it opened: no new words
            where = places.get(text)
            if where is None:
                assert _told_not_saved(answer), (text, answer)
                continue
            assert (where.field, where.owner) == (field.name, user), (text, where, user)
            if field.initial:
                # An edit of the answer the form showed: it replaces what was there.
                for old in [old for old, place in self.stored.items() if place == where]:
                    del self.stored[old]
            self.stored[text] = where

    @rule(user=st.sampled_from(PEOPLE))
    def feedback(self, user: str) -> None:
        self.run(self.chat.advance(timedelta(minutes=1)))
        n = self.token()
        if user in MENTEES:
            line = f"/mentor feedback In my PR {n} for the login page, is the error handling clear?"
        else:
            line = f"/mentor feedback Your demo {n} was clear; lead with the result next time."
        self._event(lambda: self.chat.say(user, line))

    @rule(user=st.sampled_from(PEOPLE))
    def checkin_now(self, user: str) -> None:
        self.run(self.chat.advance(timedelta(minutes=1)))
        self._event(lambda: self.chat.say(user, "/mentor checkin"))

    @rule(user=st.sampled_from(PEOPLE))
    def look_back(self, user: str) -> None:
        self.run(self.chat.advance(timedelta(minutes=1)))
        self._event(lambda: self.chat.say(user, "/mentor review"))

    @rule(mentee=st.sampled_from(MENTEES))
    def milestone(self, mentee: str) -> None:
        self.run(self.chat.advance(timedelta(minutes=1)))
        self.milestones[mentee] += 1
        self._event(lambda: self.chat.say(mentee, f"/mentor milestone add Goal {self.token()}"))
        number = self.milestones[mentee]
        self._event(lambda: self.chat.say(mentee, f"/mentor milestone done {number}"))

    @rule(hours=st.integers(1, 80))
    def time_passes(self, hours: int) -> None:
        before = len(self.chat.recorder.seen)
        self.run(self.chat.advance(timedelta(hours=hours)))
        # (two check-ins' prompts read alike; their buttons tell them apart)
        sent = [
            (s.user, s.content.text, tuple(b.action_id for b in s.content.buttons))
            for s in self.chat.recorder.seen[before:]
            if s.kind == "dm"
        ]
        assert len(sent) == len(set(sent)), f"a DM sent twice in one clock move: {sent}"

    @rule()
    def restart(self) -> None:
        """A new process: a new Engine and connection pool on the same database file."""
        self.run(self.database.dispose())
        self.database = Database(sqlite_url(self.path))
        restarted = Chat(
            self.database, self.clock, admins=frozenset({"alice"}), recorder=self.chat.recorder
        )
        restarted.forms = self.chat.forms
        self.chat = restarted

    # --- what must hold ------------------------------------------------------------------

    @invariant()
    def nothing_stored_is_lost(self) -> None:
        places = self.run(self._places())
        for text, where in self.stored.items():
            if where.field == "mood" and text not in places:
                continue  # a mood button replaced the mood: the person's own choice
            assert places.get(text) == where, f"{text} was at {where}, now {places.get(text)}"

    def _event(self, act: Any) -> str:
        """One event: at most one DM per person; never the apology."""
        before = len(self.chat.recorder.seen)
        answer: str = self.run(act())
        assert SORRY not in answer, answer
        dms = [s.user for s in self.chat.recorder.seen[before:] if s.kind == "dm"]
        assert len(dms) == len(set(dms)), f"two DMs for one event: {dms}"
        return answer

    # --- reading the database -------------------------------------------------------------

    async def _places(self) -> dict[str, Place]:
        """Every token in an answer column, and where; a token found twice fails."""
        found: dict[str, Place] = {}

        def put(text: str | None, place: Place) -> None:
            if text and TOKEN.fullmatch(text):
                assert text not in found, f"{text} stored twice: {found[text]} and {place}"
                found[text] = place

        async with self.database.transaction() as session:
            names = {m.id: m.external_id for m in (await session.execute(select(Member))).scalars()}
            for a in (await session.execute(select(CheckinAnswer))).scalars():
                for name in ("mood", "progress", "challenge", "next_topic"):
                    put(getattr(a, name), Place("checkin", a.checkin_id, name, names[a.member_id]))
            for r in (await session.execute(select(Review))).scalars():
                for name in ("went_well", "could_improve"):
                    put(getattr(r, name), Place("review", r.id, name, names[r.member_id]))
            for f in (await session.execute(select(Feedback))).scalars():
                put(f.answer, Place("feedback", f.id, "answer", names[f.mentor_id]))
                put(f.action, Place("feedback", f.id, "action", names[f.mentee_id]))
        return found

    async def _asked_last(self, user: str) -> Place | None:
        """Where a reply from ``user`` belongs: the question in the newest DM they got
        that asks one still waiting for them (a DM can ask more than one: the last)."""
        async with self.database.transaction() as session:
            for seen in reversed(self.chat.recorder.seen):
                if seen.user != user or seen.kind != "dm":
                    continue
                asked = sorted(
                    (seen.content.text.rfind(q), kind_field)
                    for q, kind_field in QUESTIONS.items()
                    if q in seen.content.text
                )
                # In the order of the buttons, which follows the order of the questions.
                flow_ids = [
                    action.session_id
                    for button in reversed(seen.content.buttons)
                    if (action := FlowAction.parse(button.action_id.removeprefix(KEEP_MESSAGE)))
                    is not None
                ]
                for _, (kind, field) in reversed(asked):
                    for flow_id in flow_ids:
                        flow = await session.get(FlowSession, flow_id)
                        if (
                            flow is not None
                            and flow.kind == kind
                            and flow.ended_at is None
                            and flow.state == STATE_OF[(kind, field)]
                            and flow.updated_at <= self.clock.now()
                        ):
                            record = {
                                FlowKind.CHECKIN: "checkin_id",
                                FlowKind.REVIEW: "review_id",
                                FlowKind.FEEDBACK: "feedback_id",
                            }[FlowKind(kind)]
                            return Place(kind, int(flow.data[record]), field, user)
        return None


def _told_not_saved(answer: str) -> bool:
    return any(phrase in answer.lower() for phrase in NOT_SAVED)


Conversations.TestCase.settings = settings(
    max_examples=12,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestConversations = Conversations.TestCase
