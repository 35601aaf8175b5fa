"""The Engine: one inbound event in, the effects to carry out now back.

Each event is handled in one transaction. DMs and channel posts it causes are written to
the outbox inside that transaction (delivered afterwards by the delivery worker); the
returned effects are the answers that belong inside the platform's interaction window.
Any error rolls the whole transaction back, so bad input never leaves half a record.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import assert_never

from sqlalchemy.ext.asyncio import AsyncSession

from bot import milestones, preferences, wins
from bot.clock import Clock
from bot.commands import (
    MENTOR_USAGE,
    AddMilestone,
    Command,
    CommandError,
    CompleteMilestone,
    EndPair,
    ListMilestones,
    NotAvailableYet,
    ProposePair,
    SetShoutoutChannel,
    SetShoutoutConsent,
    SetTimezone,
    ShareWin,
    ShowConfig,
    ShowHelp,
    ShowJournal,
    help_text,
    parse_command,
)
from bot.content import Content
from bot.effects import Effect, ReplyEphemeral, UpdateMessage
from bot.errors import UserError
from bot.events import ButtonClicked, CommandInvoked, Event, FormSubmitted, MessageReceived
from bot.flows import celebration, choose_pair, end_pair, pair_proposal
from bot.flows.sessions import STALE, FlowAction, FlowKind, StepResult, find_flow
from bot.pairs import AskWhichPair
from bot.storage.database import Database
from bot.turn import Turn, get_member, get_workspace

log = logging.getLogger(__name__)

SORRY = (
    "Sorry, something went wrong on my side and nothing was saved. Please try again in a moment."
)


class Engine:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        *,
        admin_user_ids: Iterable[str] = (),
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        self._db = database
        self._clock = clock
        self._admins = frozenset(admin_user_ids)
        # Called after a commit that queued outbox messages, to wake the delivery worker.
        self._on_queued = on_queued

    async def handle(self, event: Event) -> list[Effect]:
        try:
            async with self._db.transaction() as session:
                turn = await self._begin(session, event)
                if event.event_key is not None and not await turn.claim_event_key(event.event_key):
                    log.info("ignored a repeated delivery of %s", type(event).__name__)
                    return []
                effects = await self._route(turn, event)
                queued = turn.queued
        except CommandError as error:
            return [_reply(event, error.explain())]
        except UserError as error:
            return [_reply(event, error.message)]
        except Exception:
            log.exception("failed to handle %s", type(event).__name__)
            return [_reply(event, SORRY)]
        if queued and self._on_queued is not None:
            self._on_queued()
        return effects

    async def _begin(self, session: AsyncSession, event: Event) -> Turn:
        now = self._clock.now()
        workspace = await get_workspace(session, event.user.workspace, now)
        actor = await get_member(session, workspace, event.user.user_id, now)
        if event.user_name and actor.display_name != event.user_name:
            actor.display_name = event.user_name
        return Turn(
            session=session,
            now=now,
            workspace=workspace,
            actor=actor,
            actor_ref=event.user,
            actor_is_admin=event.user_is_admin or event.user.user_id in self._admins,
        )

    async def _route(self, turn: Turn, event: Event) -> list[Effect]:
        match event:
            case CommandInvoked():
                return await self._run_command(turn, event.command, event.text)
            case ButtonClicked():
                return await self._click(turn, event)
            case MessageReceived():
                return _answer_message(turn, event)
            case FormSubmitted():
                return turn.reply("That form is no longer open, so nothing was saved.")
            case _:
                assert_never(event)

    async def _run_command(self, turn: Turn, name: str, text: str) -> list[Effect]:
        command = parse_command(name, text)
        try:
            return await _perform(turn, command)
        except AskWhichPair as question:
            return await choose_pair.ask(turn, question, name, text)

    async def _click(self, turn: Turn, event: ButtonClicked) -> list[Effect]:
        kind, _, argument = event.action_id.partition(":")
        if kind == wins.JOURNAL_ACTION and argument.isdecimal():
            return _show(turn, event, await wins.journal_page(turn, int(argument)))
        action = FlowAction.parse(event.action_id)
        flow = await find_flow(turn, action.session_id) if action else None
        if action is None or flow is None:
            return _step_effects(turn, event, STALE)
        match flow.kind:
            case FlowKind.PAIR_PROPOSAL:
                result = await pair_proposal.step(turn, flow, action.choice)
            case FlowKind.END_PAIR:
                result = await end_pair.step(turn, flow, action.choice)
            case FlowKind.SHOUTOUT_CONSENT:
                result = await celebration.step(turn, flow, action.choice)
            case FlowKind.CHOOSE_PAIR:
                rerun = choose_pair.step(turn, flow, action.choice)
                if rerun is None:
                    return _step_effects(turn, event, STALE)
                turn.chosen_pair_id = rerun.pair_id
                answer = await self._run_command(turn, rerun.command, rerun.text)
                return _step_effects(turn, event, StepResult(replace_with="Okay.")) + answer
            case _:
                result = STALE
        return _step_effects(turn, event, result)


async def _perform(turn: Turn, command: Command) -> list[Effect]:
    match command:
        case ShareWin():
            return await wins.share(turn, command)
        case ShowJournal():
            return await wins.journal(turn, command)
        case ProposePair():
            return await pair_proposal.propose(turn, command)
        case EndPair():
            return await end_pair.ask(turn, command)
        case AddMilestone():
            return await milestones.add(turn, command)
        case CompleteMilestone():
            return await milestones.complete(turn, command)
        case ListMilestones():
            return await milestones.list_(turn, command)
        case ShowConfig():
            return preferences.show(turn)
        case SetShoutoutChannel():
            return preferences.set_channel(turn, command)
        case SetShoutoutConsent():
            return await preferences.set_consent(turn, command)
        case SetTimezone():
            return preferences.set_timezone(turn, command)
        case ShowHelp():
            return turn.reply(_help(command.topic))
        case NotAvailableYet():
            return turn.reply(
                f"`/mentor {command.name}` is on mentorbot's roadmap but not in this "
                f"version yet.\n{help_text()}"
            )
        case _:
            assert_never(command)


def _help(topic: str | None) -> str:
    usage = MENTOR_USAGE.get(topic or "")
    if usage is None:
        return help_text()
    return f"`{usage.usage}` — {usage.summary}\nExample: `{usage.example}`"


def _answer_message(turn: Turn, event: MessageReceived) -> list[Effect]:
    words = event.text.split()
    first = words[0].lower() if words else ""
    if first in ("win", "mentor"):
        return turn.reply(
            f"Did you mean `/{event.text.strip()}`? Commands start with a slash: "
            "type it as a slash command."
        )
    return turn.reply(
        "I'm not waiting for an answer from you right now. "
        "Type `/mentor help` to see what I can do."
    )


def _reply(event: Event, text: str) -> ReplyEphemeral:
    return ReplyEphemeral(event.user, Content(text))


def _show(turn: Turn, event: ButtonClicked, content: Content) -> list[Effect]:
    if event.message_id is not None:
        return [UpdateMessage(turn.actor_ref, event.message_id, content)]
    return [ReplyEphemeral(turn.actor_ref, content)]


def _step_effects(turn: Turn, event: ButtonClicked, result: StepResult) -> list[Effect]:
    effects = []
    if result.replace_with is not None:
        effects += _show(turn, event, Content(result.replace_with))
    if result.reply is not None:
        effects += turn.reply(result.reply)
    return effects
