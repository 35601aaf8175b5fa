"""A test reads like a conversation: ``await chat.say("alice", "/win shipped it")``, then
``chat.dms("bob")`` holds what bob was sent. Messages go through the real Engine, the real
database and the real outbox delivery; only the platform at the end is this recorder."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from adapters.console.translate import normalize_mentions
from bot.clock import ManualClock
from bot.content import Button, Content, Form
from bot.delivery import NO_LIMITS, DeliveryReport, RateLimits, deliver_all
from bot.due import walk_clock
from bot.effects import Effect, OpenForm, PostToChannel, ReplyEphemeral, SendDM, UpdateMessage
from bot.engine import Engine
from bot.events import ButtonClicked, CommandInvoked, Event, FormSubmitted, MessageReceived
from bot.refs import Platform, UserRef
from bot.storage.database import Database
from bot.turn import DEFAULT_MAX_PAIRS_PER_PERSON


@dataclass
class Seen:
    """A message one user saw: a DM, an ephemeral reply or an update."""

    user: str
    kind: str
    content: Content
    message_id: str


@dataclass
class Recorder:
    """The platform end of the outbox: records what would have been sent."""

    seen: list[Seen] = field(default_factory=list)
    posts: list[tuple[str, Content]] = field(default_factory=list)
    fail_with: Exception | None = None
    # Per recipient (user or channel id): how it fails, and how often it was asked.
    fail_for: dict[str, Exception] = field(default_factory=dict)
    requests: Counter[str] = field(default_factory=Counter)

    async def perform(self, effect: SendDM | PostToChannel) -> None:
        target = effect.to.user_id if isinstance(effect, SendDM) else effect.channel.channel_id
        self.requests[target] += 1
        if self.fail_with is not None:
            raise self.fail_with
        if target in self.fail_for:
            raise self.fail_for[target]
        match effect:
            case SendDM(to, content, outbox_id):
                self.seen.append(Seen(to.user_id, "dm", content, f"dm-{outbox_id}"))
            case PostToChannel(channel, content, _):
                self.posts.append((channel.channel_id, content))


class Chat:
    def __init__(
        self,
        database: Database,
        clock: ManualClock,
        *,
        workspace: str = "T1",
        admins: frozenset[str] = frozenset(),
        platform: Platform = Platform.CONSOLE,
        recorder: Recorder | None = None,
        limits: RateLimits = NO_LIMITS,
        max_pairs_per_person: int = DEFAULT_MAX_PAIRS_PER_PERSON,
    ) -> None:
        self.database = database
        self.clock = clock
        self.workspace = workspace
        self.platform = platform
        self.limits = limits
        self.engine = Engine(
            database, clock, admin_user_ids=admins, max_pairs_per_person=max_pairs_per_person
        )
        self.recorder = recorder or Recorder()
        self.forms: list[tuple[str, Form]] = []
        self._replies = 0

    def ref(self, user: str) -> UserRef:
        return UserRef(self.platform, self.workspace, user)

    async def send(self, event: Event) -> list[Effect]:
        effects = await self.engine.handle(event)
        for effect in effects:
            self._record(effect)
        await self.deliver()
        return effects

    async def deliver(self) -> DeliveryReport:
        return await deliver_all(
            self.database, {self.platform: self.recorder}, self.clock, limits=self.limits
        )

    async def advance(self, by: timedelta) -> None:
        """Move the clock, running what falls due at each moment on the way."""
        await walk_clock(self.database, self.clock, by, self._tick)

    async def _tick(self) -> None:
        await self.engine.run_due(self.clock.now())
        await self.deliver()

    async def say(self, user: str, line: str, *, key: str | None = None) -> str:
        """Run one line as ``user``; returns the text of the ephemeral answer(s)."""
        if line.startswith("/"):
            command, _, text = line[1:].partition(" ")
            event: Event = CommandInvoked(
                user=self.ref(user),
                user_name=user.title(),
                command=command,
                text=normalize_mentions(text),
                event_key=key,
            )
        else:
            event = MessageReceived(
                user=self.ref(user), user_name=user.title(), text=line, event_key=key
            )
        return _answer(await self.send(event))

    async def edit(self, user: str, text: str, *, key: str | None = None) -> str:
        """``user`` edits a message they had sent the bot, to ``text``; the answer's text."""
        event = MessageReceived(
            user=self.ref(user), user_name=user.title(), text=text, event_key=key, edited=True
        )
        return _answer(await self.send(event))

    async def click(self, user: str, label: str) -> str:
        """Press the newest button labelled ``label`` that ``user`` can see."""
        for seen in reversed(self.recorder.seen):
            if seen.user != user:
                continue
            for button in seen.content.buttons:
                if button.label == label:
                    return await self.press(user, button, seen.message_id)
        raise AssertionError(f"{user} sees no [{label}] button")

    async def press(self, user: str, button: Button, message_id: str | None = None) -> str:
        event = ButtonClicked(
            user=self.ref(user),
            user_name=user.title(),
            action_id=button.action_id,
            message_id=message_id,
        )
        return _answer(await self.send(event))

    def form(self, user: str) -> Form:
        """The newest form opened for ``user`` (by a button such as [Answer in a form])."""
        for owner, form in reversed(self.forms):
            if owner == user:
                return form
        raise AssertionError(f"no form was opened for {user}")

    async def submit(self, user: str, form_id: str | None = None, **values: str) -> str:
        """Submit a form as ``user``: the newest one opened for them, unless named."""
        event = FormSubmitted(
            user=self.ref(user), form_id=form_id or self.form(user).form_id, values=values
        )
        return _answer(await self.send(event))

    def dms(self, user: str) -> list[str]:
        return [s.content.text for s in self.recorder.seen if s.user == user and s.kind == "dm"]

    def posts(self, channel: str) -> list[str]:
        return [content.text for ch, content in self.recorder.posts if ch == channel]

    def buttons(self, user: str) -> list[Button]:
        """The buttons on the newest message ``user`` saw that has any."""
        for seen in reversed(self.recorder.seen):
            if seen.user == user and seen.content.buttons:
                return list(seen.content.buttons)
        return []

    def _record(self, effect: Effect) -> None:
        match effect:
            case ReplyEphemeral(to, content):
                self._replies += 1
                self.recorder.seen.append(
                    Seen(to.user_id, "ephemeral", content, f"e{self._replies}")
                )
            case UpdateMessage(to, message_id, content):
                self.recorder.seen.append(Seen(to.user_id, "updated", content, message_id))
            case OpenForm(to, form):
                self.forms.append((to.user_id, form))
            case SendDM() | PostToChannel():
                raise AssertionError(f"unexpected effect from the engine: {effect}")


def _answer(effects: list[Effect]) -> str:
    return "\n".join(
        e.content.text for e in effects if isinstance(e, ReplyEphemeral | UpdateMessage)
    )


async def said_alone(chat: Chat, user: str, text: str, *, unheard: tuple[str, ...]) -> str:
    """``user`` says ``text``: the answer, once it is checked that none of ``unheard``
    got a DM for it (a command that changed nothing tells no one)."""
    before = [len(chat.dms(other)) for other in unheard]
    answer = await chat.say(user, text)
    assert [len(chat.dms(other)) for other in unheard] == before, "someone else was told"
    return answer


async def behind_another_instance(
    chat: Chat,
    change: Callable[[AsyncSession], Awaitable[object]],
    then: Callable[[], Coroutine[Any, Any, str]],
) -> str:
    """``then`` (an event, as one instance) while another instance's transaction holds
    ``change`` made and not committed yet: it has to wait for that one (PostgreSQL row
    locks; asserted), and its answer once the other commits is returned."""
    async with chat.database.transaction() as session:
        await change(session)
        waiting: asyncio.Task[str] = asyncio.create_task(then())
        await asyncio.sleep(0.5)
        assert not waiting.done(), "it read the row without waiting for the other instance"
    return await waiting


async def pair_up(chat: Chat, mentor: str, mentee: str) -> None:
    """``mentor`` proposes, ``mentee`` accepts."""
    await chat.say(mentor, f"/mentor pair @{mentor} @{mentee}")
    await chat.click(mentee, "Accept")
