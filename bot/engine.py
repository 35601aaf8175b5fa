"""The Engine: one inbound event in, the effects to carry out now back.

Each event is handled in one transaction. DMs and channel posts it causes are written to
the outbox inside that transaction (delivered afterwards by the delivery worker); the
returned effects are the answers that belong inside the platform's interaction window.
Any error rolls the whole transaction back, so bad input never leaves half a record.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import TypeVar, assert_never

from sqlalchemy import and_, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from bot import due, milestones, pair_commands, preferences, privacy, program, status, wins
from bot.cadence import CadenceError, parse_timezone
from bot.clock import Clock
from bot.commands import (
    MAX_PAGE,
    AddMilestone,
    AskFeedback,
    Command,
    CommandError,
    CompleteMilestone,
    EditProfile,
    EndPair,
    ExportData,
    ForgetMe,
    JoinPool,
    LeavePool,
    ListFeedback,
    ListMilestones,
    Pause,
    ProposePair,
    RemoveMilestone,
    RemoveWin,
    Resume,
    RunMatch,
    SetCadence,
    SetShoutoutChannel,
    SetShoutoutConsent,
    SetTimezone,
    ShareWin,
    ShowConfig,
    ShowHelp,
    ShowJournal,
    ShowProfile,
    ShowStats,
    ShowStatus,
    SkipNext,
    StartCheckin,
    StartReview,
    help_for,
    help_text,
    parse_command,
)
from bot.content import Content
from bot.effects import Effect, ReplyEphemeral, UpdateMessage
from bot.errors import UserError
from bot.events import (
    ButtonClicked,
    CommandInvoked,
    Event,
    FormSubmitted,
    MessageReceived,
    WorkspaceAdded,
    WorkspaceRemoved,
)
from bot.flows import (
    celebration,
    checkin,
    choice,
    end_pair,
    feedback,
    pair_proposal,
    review,
)
from bot.flows.sessions import (
    GONE,
    STALE,
    ConversationFlow,
    FlowAction,
    FlowKind,
    StepResult,
    find_flow,
    open_flows_of,
)
from bot.ids import NAME_MAX_CHARS, fits_id
from bot.matching import pool as matching_pool
from bot.matching import rounds as matching_rounds
from bot.numbers import TIMESTAMP_MAX, whole_number
from bot.pairs import AskWhichPair, has_accepted, how_to_answer, pairs_of
from bot.refs import UserRef
from bot.storage.database import (
    UNIQUE_VIOLATION,
    Database,
    DatabaseUnavailable,
    gave_way,
    sqlstate,
)
from bot.storage.models import (
    Checkin,
    CheckinAnswer,
    Feedback,
    FlowSession,
    PairState,
    Review,
)
from bot.telemetry import NO_TELEMETRY, Telemetry, command_label
from bot.text import (
    COMMAND_NAMES,
    as_command,
    clean_answer,
    clean_text,
    given_back,
    is_hello,
    is_help,
    is_thanks,
    said_to_the_bot,
    shorten,
)
from bot.turn import (
    DEFAULT_MAX_PAIRS_PER_PERSON,
    KEEP_MESSAGE,
    LastSeen,
    Turn,
    get_workspace,
    get_workspace_and_member,
)
from bot.unreachable import returning_note, stop_workspace

log = logging.getLogger(__name__)

# The flows that hold a conversation: buttons, DM replies and forms go to them.
CONVERSATIONS: dict[str, ConversationFlow] = {
    FlowKind.CHECKIN: checkin,
    FlowKind.FEEDBACK: feedback,
    FlowKind.REVIEW: review,
}

SORRY = (
    "Sorry, something went wrong on my side and nothing was saved. Please try again in a moment."
)
# The database did not answer within its time limits (bot/storage/database.py).
NOT_SAVED = (
    "I couldn't save that: my database isn't answering right now. Please try again in a minute."
)

UNREADABLE_SENDER = "Sorry, I couldn't tell who sent that, so nothing was saved."

# How many times an event is tried when PostgreSQL gives its transaction up for
# another's (``gave_way``: two events waiting for each other's rows): the second try
# comes once the other has committed. A third failure is told as ``SORRY``.
EVENT_ATTEMPTS = 3
# People who shared a win, kept per process for their next keyed /win (~0.23 KB each).
SHARERS_KEPT = 10_000


T = TypeVar("T")


class Engine:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        *,
        admin_user_ids: Iterable[str] = (),
        on_queued: Callable[[], None] | None = None,
        dispatch_spread: timedelta = timedelta(0),
        telemetry: Telemetry = NO_TELEMETRY,
        max_pairs_per_person: int = DEFAULT_MAX_PAIRS_PER_PERSON,
    ) -> None:
        self._db = database
        self._max_pairs = max_pairs_per_person
        self._telemetry = telemetry
        self._clock = clock
        self._admins = frozenset(admin_user_ids)
        # Called after a commit that queued outbox messages, to wake the delivery worker.
        self._on_queued = on_queued
        self._spread = dispatch_spread
        # PostgreSQL: who shared a win before, by their platform ids (oldest first, at
        # most SHARERS_KEPT), with their ids and count of wins: their next keyed /win's
        # statement (``_win_at_once``) needs no look-up, and expects the milestone it
        # may reach (someone not kept is expected to reach their first win).
        self._sharers: dict[UserRef, wins.Sharer] = {}

    async def handle(self, event: Event) -> list[Effect]:
        if not (fits_id(event.user.user_id) and fits_id(event.user.workspace_id)):
            # No platform sends such ids; storing one would fail on PostgreSQL only.
            log.warning("refused %s: an id longer than any column holds", type(event).__name__)
            return [_reply(event, UNREADABLE_SENDER)]
        if (at_once := await self._win_at_once(event)) is not None:
            return at_once
        if (at_once := await self._click_at_once(event)) is not None:
            return at_once
        if (at_once := await self._answer_at_once(event)) is not None:
            return at_once
        for attempt in range(1, EVENT_ATTEMPTS + 1):
            try:
                done = await self._handle_in_one_transaction(event, first=attempt == 1)
            except CommandError as error:
                return [_reply(event, error.explain())]
            except UserError as error:
                return [_reply(event, error.message)]
            except DatabaseUnavailable:
                return [_reply(event, NOT_SAVED)]
            except Exception as error:
                if gave_way(error) and attempt < EVENT_ATTEMPTS:
                    # Nothing of this attempt was saved or sent (what it says and sends
                    # is returned, or queued in the same transaction): it runs again.
                    what = type(event).__name__
                    log.info("%s gave way to another transaction; running it again", what)
                    continue
                log.exception("failed to handle %s", type(event).__name__)
                return [_reply(event, SORRY)]
            break
        effects, queued = done
        if queued and self._on_queued is not None:
            self._on_queued()
        return effects

    async def goal_choices(
        self, user: UserRef, typed: str, partner_id: str | None, most: int
    ) -> list[milestones.GoalChoice]:
        """What someone typing a milestone's name is offered (Discord's autocomplete): the
        open goals of their pairs that match (``milestones.goal_choices``). A read, in a
        transaction of its own; it writes nothing and never raises: with no answer from
        the database the person sees no suggestion and types the name or number."""
        ids = (user.user_id, user.workspace_id, *([partner_id] if partner_id else []))
        if not all(fits_id(one) for one in ids):
            return []
        try:
            async with self._db.transaction(brief=True) as session:
                return await milestones.goal_choices(session, user, typed, partner_id, most)
        except DatabaseUnavailable:
            return []
        except Exception:
            log.exception("failed to suggest milestones")
            return []

    async def remember_recent_sharers(self) -> int:
        """PostgreSQL, as the process starts: the people who shared the latest wins
        (at most SHARERS_KEPT), remembered as if this process had met them, so that each
        one's first keyed /win after a start needs no look-up in its statement
        (``_win_at_once``), and one reaching a milestone past the first is expected.
        How many; none on SQLite, where every /win goes the usual way."""
        if self._db.is_sqlite:
            return 0
        found = await wins.recent_sharers(self._db, SHARERS_KEPT)
        for who, sharer in found:
            self._remember(who, sharer)
        return len(found)

    async def _win_at_once(self, event: Event) -> list[Effect] | None:
        """PostgreSQL: a keyed /win in one statement outside a transaction
        (``wins.share_at_once``: one round trip instead of four, and none of the ORM's
        work; goals 2 and 5 of issue 16, bench/README.md), with a count milestone it
        reaches when that is celebrated in DMs. Someone this process has not met is
        found by their platform's ids in the same statement. None: the usual way handles
        it (anything the statement leaves to it, a key another delivery claimed at the
        same moment), nothing having been written."""
        if self._db.is_sqlite or not isinstance(event, CommandInvoked):
            return None
        if (key := event.event_key) is None:
            return None
        try:
            command = parse_command(event.command, event.text)
        except CommandError:
            return None  # the usual way explains it
        if not isinstance(command, ShareWin):
            return None
        # Someone not met yet (None) is found by their platform's ids; once a /win of
        # theirs is saved, either way, they are remembered (``_remember_sharer``).
        sharer = self._sharers.get(event.user)
        if sharer is not None and (
            sharer.batched or (sharer.next_is_milestone() and not sharer.in_dms)
        ):
            # The statement would only decline it (a partner's news batched, or the
            # milestone celebrated otherwise), as far as their last /win the usual way
            # saw; this one, the usual way too, sees it again.
            return None
        done = await self._at_once(
            event,
            "a /win",
            lambda seen: wins.share_at_once(
                self._db,
                sharer,
                event.user,
                command.text,
                self._clock.now(),
                key=key,
                seen=seen,
            ),
        )
        if not isinstance(done, tuple):
            return done
        effects, queued, sharer = done
        self._remember(event.user, sharer)
        self._telemetry.command_handled(
            event.user.platform.value, command_label(event.command, event.text)
        )
        if queued and self._on_queued is not None:
            self._on_queued()
        return effects

    async def _click_at_once(self, event: Event) -> list[Effect] | None:
        """PostgreSQL: a keyed press of a mood button or a [Skip] on a check-in's message
        in a read and one statement outside a transaction (``checkin.click_at_once``: two
        round trips instead of four; goal 2 of issue 16, bench/README.md). None: the
        usual way handles it, nothing having been written."""
        if self._db.is_sqlite or not isinstance(event, ButtonClicked):
            return None
        if (key := event.event_key) is None or event.action_id.startswith(KEEP_MESSAGE):
            return None
        action = FlowAction.parse(event.action_id)
        if action is None or not checkin.click_choice(action.choice):
            return None
        done = await self._at_once(
            event,
            "a click",
            lambda seen: checkin.click_at_once(
                self._db,
                event.user,
                action.session_id,
                action.choice,
                self._clock.now(),
                key=key,
                seen=seen,
            ),
        )
        if not isinstance(done, tuple):
            return done
        shown, queued = done
        if queued and self._on_queued is not None:
            self._on_queued()
        return _show(event, Content(shown))

    async def _answer_at_once(self, event: Event) -> list[Effect] | None:
        """PostgreSQL: a keyed typed DM answering a check-in question that asks another,
        in a read and one statement outside a transaction (``checkin.answer_at_once``:
        two round trips instead of four; goal 2 of issue 16, bench/README.md). Its answer
        is the next question's DM, as the usual way's is. None: the usual way handles it,
        nothing having been written."""
        if self._db.is_sqlite or not isinstance(event, MessageReceived) or event.edited:
            return None
        if (key := event.event_key) is None:
            return None
        try:
            text = clean_answer(event.text)
        except UserError:
            return None  # the usual way explains it, or answers what is not waiting
        done = await self._at_once(
            event,
            "an answer",
            lambda seen: checkin.answer_at_once(
                self._db,
                event.user,
                text,
                self._clock.now(),
                kinds=_TEXT_FLOW_KINDS,
                key=key,
                seen=seen,
            ),
        )
        if not isinstance(done, bool):
            return done
        if done and self._on_queued is not None:
            self._on_queued()
        return []

    async def _at_once(
        self,
        event: Event,
        what: str,
        attempt: Callable[[LastSeen], Awaitable[T | None]],
    ) -> T | list[Effect] | None:
        """An event outside the usual way (``_win_at_once``, ``_click_at_once``,
        ``_answer_at_once``): what ``attempt`` gave, given who the event says its sender
        is; the answer when the database did not answer; None (the usual way) when
        ``attempt`` declined or failed, nothing of it written (one statement: all or
        nothing; the usual way tells a delivery already claimed from one that was not)."""
        try:
            return await attempt(self._as_seen(event))
        except DatabaseUnavailable:
            return [_reply(event, NOT_SAVED)]
        except Exception as error:
            # A unique key refusing it is another delivery of it at the same moment
            # (expected); for anything else, only the error's kind is logged:
            # PostgreSQL's details may quote the row, and with it what they wrote.
            code = sqlstate(error)
            level = logging.INFO if code == UNIQUE_VIOLATION else logging.WARNING
            log.log(
                level, "%s at once failed (%s %s); the usual way", what, type(error).__name__, code
            )
            return None

    def _as_seen(self, event: Event) -> LastSeen:
        """Who the event says its sender is: their name (shortened to what a row holds),
        whether they are an admin (the platform's word, or ``ADMIN_USER_IDS``; None when
        neither says), and the timezone it offers when it is one we know."""
        listed = event.user.user_id in self._admins
        said = event.user_is_admin is not None or listed
        zone = event.user_timezone
        return LastSeen(
            name=shorten(event.user_name, NAME_MAX_CHARS) if event.user_name else None,
            admin=(bool(event.user_is_admin) or listed) if said else None,
            timezone=zone if zone and _known_zone(zone) else None,
        )

    def _remember_sharer(self, event: Event, turn: Turn) -> None:
        """After a keyed /win the usual way (PostgreSQL), who shared it, for the next."""
        if self._db.is_sqlite or not isinstance(event, CommandInvoked):
            return
        if event.command != "win" or event.event_key is None:
            return
        actor = turn.actor
        dms = celebration.in_dms(turn, actor)
        found = wins.Sharer(turn.workspace.id, actor.id, actor.wins_count, dms, turn.news_batched)
        self._remember(event.user, found)

    def _remember(self, who: UserRef, sharer: wins.Sharer) -> None:
        """``who`` as the newest of the people remembered, the oldest let go past
        SHARERS_KEPT."""
        self._sharers.pop(who, None)
        while len(self._sharers) >= SHARERS_KEPT:
            del self._sharers[next(iter(self._sharers))]
        # Kept with one copy of each workspace's id for all its people, not the copy
        # each request (or row of ``wins.recent_sharers``) decoded: ~60 of an entry's bytes.
        kept = UserRef(who.platform, sys.intern(who.workspace_id), who.user_id)
        self._sharers[kept] = sharer

    async def _handle_in_one_transaction(
        self, event: Event, *, first: bool
    ) -> tuple[list[Effect], bool]:
        """The event's effects, and whether it queued messages to send. ``first``: its
        first try (a command is counted once)."""
        async with self._db.transaction(brief=_brief(event)) as session:
            turn, claimed = await self._begin(session, event)
            if claimed is None and event.event_key is not None:
                claimed = await turn.claim_event_key(event.event_key)
            if claimed is False:
                log.info("ignored a repeated delivery of %s", type(event).__name__)
                return [], False
            async with turn.outbox_in_one_statement():
                effects = turn.with_notes(await self._route(turn, event, count=first))
            await turn.write_claim()
            self._remember_sharer(event, turn)
            if turn.actor.dm_blocked_at is not None:
                # They are here, so they can be told why DMs stopped; try DMs again.
                turn.actor.dm_blocked_at = None
                # In their answer (not a DM: those may still be closed), ahead of it.
                note = await returning_note(turn)
                told = turn.answer_with(effects, note, first=True)
                effects = told if told is not None else turn.reply(note) + effects
            return effects, bool(turn.queued)

    async def workspace_changed(self, event: WorkspaceRemoved | WorkspaceAdded) -> None:
        """Uninstalled or token revoked: nothing more is sent there, and what waits is
        recorded as failed. Installed again: delivery may start again."""
        now = self._clock.now()
        async with self._db.transaction() as session:
            workspace = await get_workspace(session, event.workspace, now)
            if isinstance(event, WorkspaceAdded):
                workspace.delivery_stopped_at = None
                return
            if workspace.delivery_stopped_at is None:
                workspace.delivery_stopped_at = now
                await stop_workspace(session, workspace)

    async def run_due(self, now: datetime | None = None) -> due.DueReport:
        """All time-based work due at ``now`` (check-ins, heads-ups, nudges, follow-ups,
        window closes, pause ends, anniversaries). Idempotent: a second call at the same
        ``now`` does nothing. Everything it sends goes through the outbox, so it returns
        a report of what it did rather than effects to carry out."""
        report = await due.run_due(self._db, now or self._clock.now(), spread=self._spread)
        if report.total and self._on_queued is not None:
            self._on_queued()
        return report

    async def _begin(self, session: AsyncSession, event: Event) -> tuple[Turn, bool | None]:
        """The event's turn, and whether its delivery key was claimed with the look-up
        (None: not yet; bot/turn.py ``get_workspace_and_member``)."""
        now = self._clock.now()
        # A typed DM answers an open conversation, a button or a form names one: those
        # are read with the look-up.
        flows = _TEXT_FLOW_KINDS if isinstance(event, MessageReceived) else None
        found = await get_workspace_and_member(
            session,
            event.user,
            now,
            event_key=event.event_key,
            open_flows=flows,
            flow_id=_named_flow(event),
            win_partners=isinstance(event, CommandInvoked) and event.command == "win",
        )
        actor = found.member
        seen = self._as_seen(event)
        seen.write_to(actor)
        turn = Turn(
            session=session,
            now=now,
            workspace=found.workspace,
            actor=actor,
            actor_ref=event.user,
            actor_is_admin=bool(seen.admin),
            max_pairs=self._max_pairs,
            open_flows=found.open_flows,
            flow_by_id=found.flow_by_id,
            partners=found.partners,
            event_key=event.event_key,
            claim_pending=found.claim_pending,
        )
        return turn, found.claimed

    async def _route(self, turn: Turn, event: Event, *, count: bool) -> list[Effect]:
        match event:
            case CommandInvoked():
                # Counted once per command (a repeated delivery never gets here, and a
                # second try is not counted), bad input included; the label is the
                # command's name, never its text.
                if count:
                    self._telemetry.command_handled(
                        event.user.platform.value, command_label(event.command, event.text)
                    )
                return await self._run_command(turn, event.command, event.text)
            case ButtonClicked():
                return await self._click(turn, event)
            case MessageReceived(edited=True):
                return await _edit_not_read(turn, event)
            case MessageReceived():
                return await _answer_message(turn, event)
            case FormSubmitted():
                return await _submit_form(turn, event)
            case _:
                assert_never(event)

    async def _run_command(self, turn: Turn, name: str, text: str) -> list[Effect]:
        command = parse_command(name, text)
        try:
            return await _perform(turn, command)
        except AskWhichPair as question:
            return await choice.ask(
                turn,
                FlowKind.CHOOSE_PAIR,
                "You're in more than one pair. Which one do you mean?",
                {"command": name, "text": text},
                [(view.pair.id, view.label()) for view in question.candidates],
            )

    async def _click(self, turn: Turn, event: ButtonClicked) -> list[Effect]:
        if event.action_id.startswith(KEEP_MESSAGE):
            # A button of a joined message: answered on its own, the message stays.
            action_id = event.action_id.removeprefix(KEEP_MESSAGE)
            event = dataclasses.replace(event, action_id=action_id, message_id=None)
        kind, argument = _kind_and_argument(event.action_id)
        # Button values come back as sent, or forged: every number is checked here.
        page = whole_number(argument, high=MAX_PAGE)
        if kind == wins.JOURNAL_ACTION and page is not None:
            return _show(event, await wins.journal_page(turn, page))
        if kind == wins.PARTNER_JOURNAL_ACTION:
            return _show(event, await wins.partner_journal_click(turn, argument))
        if kind == feedback.LIST_ACTION and page is not None:
            return _show(event, await feedback.list_page(turn, page))
        if kind == matching_rounds.MATCH_ACTION and (
            parsed := matching_rounds.parse_action(argument)
        ):
            return await matching_rounds.click(turn, *parsed, event.message_id)
        if kind == pair_commands.UNSKIP_ACTION and (undo := pair_commands.parse_unskip(argument)):
            return await pair_commands.undo_skip(turn, *undo)
        if kind == due.SKIP_ACTION:
            pair_text, _, stamp_text = argument.partition(":")
            pair_id = whole_number(pair_text)
            stamp = whole_number(stamp_text, low=0, high=TIMESTAMP_MAX)
            if pair_id is not None and stamp is not None:
                return await pair_commands.skip_occurrence(turn, pair_id, stamp)
        action = FlowAction.parse(event.action_id)
        flow = await find_flow(turn, action.session_id) if action else None
        if action is None or flow is None:
            return _step_effects(turn, event, GONE)
        match flow.kind:
            case FlowKind.PAIR_PROPOSAL:
                result = await pair_proposal.step(turn, flow, action.choice)
            case FlowKind.END_PAIR:
                result = await end_pair.step(turn, flow, action.choice)
            case FlowKind.SHOUTOUT_CONSENT:
                result = await celebration.step(turn, flow, action.choice)
            case FlowKind.FORGET:
                outcome = await privacy.forget_step(turn, flow, action.choice)
                if isinstance(outcome, list):
                    return outcome
                result = outcome
            case FlowKind.CHECKIN | FlowKind.FEEDBACK | FlowKind.REVIEW:
                outcome = await CONVERSATIONS[flow.kind].step(turn, flow, action.choice)
                if isinstance(outcome, list):
                    return outcome
                result = await _said_what_next(turn, flow, outcome)
            case FlowKind.CHOOSE_PAIR | FlowKind.CHOOSE_CONVERSATION:
                chosen = choice.step(turn, flow, action.choice)
                if chosen is None:
                    return _step_effects(turn, event, STALE)
                if flow.kind == FlowKind.CHOOSE_CONVERSATION:
                    return await _deliver_kept(turn, event, chosen)
                answer = await self._carry_on(turn, flow, chosen)
                shown = StepResult(replace_with=choice.answered(chosen))
                return _step_effects(turn, event, shown) + answer
            case _:
                result = STALE
        return _step_effects(turn, event, result)

    async def _carry_on(
        self, turn: Turn, question: FlowSession, chosen: choice.Chosen
    ) -> list[Effect]:
        """After "which pair?": run the command for the chosen pair."""
        turn.chosen_pair_id = chosen.option
        return await self._run_command(turn, str(chosen.data["command"]), str(chosen.data["text"]))


async def _deliver_kept(turn: Turn, event: ButtonClicked, chosen: choice.Chosen) -> list[Effect]:
    """A "which question is this reply for?" answered (asked by earlier versions, which
    held a reply back while several questions waited): the kept reply is stored in the
    chosen conversation, and the person is told where, or told plainly that it was not
    saved because that question is no longer waiting."""
    text = str(chosen.data["text"])
    target = await find_flow(turn, chosen.option)
    if (
        target is None
        or target.kind not in CONVERSATIONS
        or target.member_id != turn.actor.id
        or not CONVERSATIONS[target.kind].accepts_text(target)
    ):
        return _step_effects(
            turn,
            event,
            StepResult(
                replace_with=f"That question was answered meanwhile, so your reply "
                f"“{shorten(text, 200)}” was not saved. Please send it again if you want it kept."
            ),
        )
    where = await CONVERSATIONS[target.kind].waiting_for(turn, target)
    saved = StepResult(replace_with=f"Saved your reply as: {where}")
    return _step_effects(turn, event, saved) + await _answer_text(turn, target, text)


async def _perform(turn: Turn, command: Command) -> list[Effect]:
    match command:
        case ShareWin():
            return await wins.share(turn, command)
        case ShowJournal():
            return await wins.journal(turn, command)
        case RemoveWin():
            return await wins.remove(turn, command)
        case ProposePair():
            return await pair_proposal.propose(turn, command)
        case EndPair():
            return await end_pair.ask(turn, command)
        case AddMilestone():
            return await milestones.add(turn, command)
        case CompleteMilestone():
            return await milestones.complete(turn, command)
        case RemoveMilestone():
            return await milestones.remove(turn, command)
        case ListMilestones():
            return await milestones.list_(turn, command)
        case ShowConfig():
            return preferences.show(turn)
        case SetShoutoutChannel():
            return preferences.set_channel(turn, command)
        case SetShoutoutConsent():
            return await preferences.set_consent(turn, command)
        case SetTimezone():
            return await preferences.set_timezone(turn, command)
        case ShowHelp():
            return turn.reply(help_for(command.topic))
        case SetCadence():
            return await pair_commands.set_cadence(turn, command)
        case ShowStatus():
            return await status.show(turn, command)
        case StartCheckin():
            return await pair_commands.start_checkin(turn, command)
        case SkipNext():
            return await pair_commands.skip_next(turn, command)
        case Pause():
            return await pair_commands.pause(turn, command)
        case Resume():
            return await pair_commands.resume(turn, command)
        case AskFeedback():
            return await feedback.ask(turn, command)
        case ListFeedback():
            return await feedback.list_(turn, command.page)
        case StartReview():
            return await review.start(turn, command)
        case ExportData():
            return await privacy.export(turn, command)
        case ForgetMe():
            return await privacy.ask_forget(turn, command)
        case ShowStats():
            return await program.show_stats(turn, command)
        case JoinPool():
            return await matching_pool.join(turn, command)
        case ShowProfile():
            return await matching_pool.show_profile(turn, command)
        case EditProfile():
            return await matching_pool.edit_profile(turn, command)
        case LeavePool():
            return await matching_pool.leave(turn, command)
        case RunMatch():
            return await matching_rounds.run_match(turn, command)
        case _:
            assert_never(command)


def _brief(event: Event) -> bool:
    """Whether the event's unit of work is brief (bot/storage/database.py: on SQLite it
    may run on the event loop's thread): a /win, a click, a typed reply, a form, the
    commonest events, each a handful of indexed statements. Not a /mentor command, which
    may read a whole workspace (an admin's stats, a matching round, an export), nor the
    button that sends a matching round (it proposes every pair of the round at once)."""
    match event:
        case CommandInvoked():
            return event.command == "win"
        case ButtonClicked():
            return _kind_and_argument(event.action_id)[0] != matching_rounds.MATCH_ACTION
        case _:
            return True


def _kind_and_argument(action_id: str) -> tuple[str, str]:
    """A button's kind (``journal``, ``match``...) and the rest of its action id, a
    joined message's button (``KEEP_MESSAGE``) as any other."""
    kind, _, argument = action_id.removeprefix(KEEP_MESSAGE).partition(":")
    return kind, argument


def _known_zone(name: str) -> bool:
    try:
        parse_timezone(name)
    except CadenceError:
        return False
    return True


async def _answer_message(turn: Turn, event: MessageReceived) -> list[Effect]:
    """A DM reply answers the question asked last in that DM: the one the person sees
    right above it (a session's ``updated_at`` is when its current question reached them).
    Nothing is held back or guessed at: the words are stored there at once."""
    text = clean_text(event.text)
    waiting = _waiting_for_text(turn)
    if waiting and not text:
        return turn.reply("I only read text here: reply with words, or use the buttons above.")
    if waiting:
        answered = _answered_by(waiting, text)
        if said_to_the_bot(text):
            still = await CONVERSATIONS[answered.kind].still_waiting(turn, answered)
            if (meant := _command_in_words(text)) is not None:  # "/win …" as a message
                return turn.reply(f"{meant}\n\n{still}")
            not_saved = f"I didn't save “{text}” as an answer. {still}"
            if is_help(text):
                return turn.reply(f"{help_text()}\n\n{not_saved}")
            if is_hello(text):
                return turn.reply(f"Hi! {not_saved}")
            if is_thanks(text):
                return turn.reply(f"You're welcome! {not_saved}")
            rather_not = _RATHER_NOT.get(
                answered.kind, "If you'd rather not answer now, just leave it."
            )
            return turn.reply(f"{not_saved} {rather_not}")
        return await _answer_text(turn, answered, text, [f for f in waiting if f is not answered])
    if is_help(text):
        return turn.reply(help_text())
    if is_hello(text):
        return turn.reply(
            "Hi! I keep mentoring pairs on a steady rhythm: check-ins, wins, feedback and "
            "milestones. Type `/mentor help` to see what I can do."
        )
    if is_thanks(text):
        # Often meant for the partner whose news just came: it goes nowhere, and says so.
        return turn.reply(
            "You're welcome! 🙂 I pass on only the answers I ask for, so if that thanks was "
            "for your partner, tell them directly."
        )
    if (meant := _command_in_words(text)) is not None:
        return turn.reply(meant)
    if (button := await _waits_for_a_button(turn, text)) is not None:
        return turn.reply(button)
    if (late := await checkin.closed_before_answered(turn)) is not None:
        return turn.reply(late)
    if (partner := await _just_answered(turn)) is not None:
        # Often the rest of an answer sent in two messages ("Also add owners.").
        return turn.reply(
            "I'm not waiting for an answer from you right now, so I didn't save that. If it "
            f"goes with what you sent {partner} a moment ago, write it to them directly: I "
            "pass on only the answers I ask for."
        )
    return turn.reply(
        "I'm not waiting for an answer from you right now, so I didn't save that. "
        "Type `/mentor help` to see what I can do."
    )


# How long after someone finished an answer a DM is taken to be its second half.
JUST_ANSWERED = timedelta(minutes=10)


async def _just_answered(turn: Turn) -> str | None:
    """For a DM that answers no question: the partner whom this person finished telling
    something in the last few minutes (a feedback answer or action, a check-in, a look
    back), by mention; the newest when several. The actor's pairs, then one query over
    their rows (each table read by its pair index)."""
    views = await pairs_of(turn, turn.actor)
    if not views:
        return None
    pairs, me, since = [view.pair.id for view in views], turn.actor.id, turn.now - JUST_ANSWERED
    moments = union_all(
        select(Feedback.pair_id, Feedback.answered_at.label("at")).where(
            Feedback.pair_id.in_(pairs), Feedback.mentor_id == me, Feedback.answered_at >= since
        ),
        select(Feedback.pair_id, Feedback.acted_at.label("at")).where(
            Feedback.pair_id.in_(pairs), Feedback.mentee_id == me, Feedback.acted_at >= since
        ),
        select(Checkin.pair_id, CheckinAnswer.answered_at.label("at"))
        .join(CheckinAnswer, CheckinAnswer.checkin_id == Checkin.id)
        .where(
            Checkin.pair_id.in_(pairs),
            CheckinAnswer.member_id == me,
            CheckinAnswer.answered_at >= since,
        ),
        select(Review.pair_id, Review.answered_at.label("at")).where(
            Review.pair_id.in_(pairs), Review.member_id == me, Review.answered_at >= since
        ),
    ).subquery()
    newest = select(moments.c.pair_id).order_by(moments.c.at.desc()).limit(1)
    found = await turn.session.scalar(newest)
    return next((v.partner_mention for v in views if v.pair.id == found), None)


# Questions only their buttons answer: a forget's confirmation, a shout-out's consent,
# an end's confirmation, a which-pair menu. How long one is taken to be what a typed
# "yes" answered (an old menu left open is not).
_BUTTON_KINDS = tuple(
    str(kind)
    for kind in (
        FlowKind.FORGET,
        FlowKind.SHOUTOUT_CONSENT,
        FlowKind.END_PAIR,
        FlowKind.CHOOSE_PAIR,
        FlowKind.CHOOSE_CONVERSATION,
    )
)
BUTTON_QUESTION_RECENT = timedelta(days=1)


async def _waits_for_a_button(turn: Turn, text: str) -> str | None:
    """For a DM that answers no question: a question of the bot's that only its buttons
    answer, when one waits for this person. A typed "yes" or "accept" is not its answer
    (never a forget's), and they are told where to press, rather than that nothing
    waits for them; a feedback question being coached is not sent (the DM is offered
    back as the question to ask). A question asked in the last day first, then a
    proposed pair."""
    query = (
        select(FlowSession.kind, FlowSession.data)
        .where(
            FlowSession.workspace_id == turn.workspace.id,
            FlowSession.member_id == turn.actor.id,
            or_(
                FlowSession.kind.in_(_BUTTON_KINDS),
                and_(
                    FlowSession.kind == FlowKind.FEEDBACK.value,
                    FlowSession.state == feedback.State.COACHING.value,
                ),
            ),
            FlowSession.ended_at.is_(None),
            FlowSession.updated_at >= turn.now - BUTTON_QUESTION_RECENT,
        )
        .order_by(FlowSession.updated_at.desc())
        .limit(1)
    )
    kind, data = (await turn.session.execute(query)).first() or (None, None)
    if kind == FlowKind.FEEDBACK:
        return feedback.while_coaching(str((data or {}).get("question", "")), text)
    if kind == FlowKind.FORGET:
        return (
            "I didn't delete anything: your data stays unless you press [Delete everything] "
            "where `/mentor forget` asked you."
        )
    if kind is not None:
        return (
            "I didn't save that: a question of mine waits for you to press one of its "
            "buttons, and I don't read a typed answer to it."
        )
    asked = [
        view
        for view in await pairs_of(turn, turn.actor, (PairState.PROPOSED,))
        if not has_accepted(view.pair, turn.actor.id)
    ]
    if not asked:
        return None
    view = asked[-1]  # the newest
    return (
        f"I didn't save that: a proposed pair ({view.describe()}) waits for your answer. "
        f"{how_to_answer(view)}"
    )


async def _edit_not_read(turn: Turn, event: MessageReceived) -> list[Effect]:
    """A message the person edited after sending it. What it first said was answered
    (and kept, where it answered a question) when it came; its new words are not read,
    and the person is told so, quoting them, with the question still waiting, if any."""
    text = clean_text(event.text)
    new_words = f", so I didn't save “{shorten(text, EDIT_QUOTED_CHARS)}”" if text else ""
    said = (
        f"You edited a message you had sent me. I don't read edits{new_words}: what you "
        "first sent stands."
    )
    waiting = _waiting_for_text(turn)
    if waiting:
        newest = waiting[0]
        said += f"\n\n{await CONVERSATIONS[newest.kind].still_waiting(turn, newest)}"
        if (asks_again := _ASKED_AGAIN_BY.get(newest.kind)) is not None:
            said += (
                f"\nTo change an answer you gave: {asks_again} sends its question again "
                "with the “Answer in a form” button, which opens with your answers so far."
            )
    return turn.reply(said)


# How much of an edited message the answer that did not read it quotes back.
EDIT_QUOTED_CHARS = 300
# The command that sends an open conversation's question again, with its form (which
# opens with the answers given so far), by the conversation's kind.
_ASKED_AGAIN_BY: dict[str, str] = {
    FlowKind.CHECKIN: "`/mentor checkin`",
    FlowKind.REVIEW: "`/mentor review`",
}

# For someone who would rather not answer ("stop", "never mind"): a check-in closes by
# itself, but a look back stays open until its questions are answered or skipped, and
# one with every question skipped is sent to nobody.
_RATHER_NOT: dict[str, str] = {
    FlowKind.REVIEW: "If you'd rather not answer, press Skip: a look back with every question "
    "skipped is not sent to anyone.",
}


def _command_in_words(text: str) -> str | None:
    """A message that reads as a command ("win shipped it", "win: shipped it", or "/win
    shipped it" sent as a message, as a chat app does when the command was not picked
    from its list): what to send instead, and that nothing was saved. None otherwise."""
    first, rest = [*text.split(maxsplit=1), "", ""][:2]
    command = first.lower().lstrip("/").rstrip(":,.")
    if command not in COMMAND_NAMES:
        return None
    meant = as_command(f"/{command} {rest.strip()}")
    if first.startswith("/"):
        return (
            f"That reached me as a message, not as the /{command} command, so I didn't save "
            f"it. Send it as a command, in a channel of the workspace: type /{command}, pick "
            f"it from the list of commands, then the rest: `{meant}`"
        )
    return f"Did you mean `{meant}`? I didn't save that: commands start with a slash."


def _answered_by(waiting: Sequence[FlowSession], text: str) -> FlowSession:
    """The conversation a reply answers, of those waiting (newest first): the newest,
    the question right above it; but a mood typed as the buttons say it ("great")
    answers a check-in's "How did it go?" asked at the same moment in the same pair (a
    feedback follow-up joins the prompt, and its question comes last), which it is the
    answer to, rather than telling the mentor "great" was how the feedback was acted on.
    Not another pair's check-in: a member in two pairs gets their prompts and follow-ups
    at one moment, and a mood under one partner's follow-up is not for the other."""
    newest = waiting[0]
    if checkin.asks_mood(newest) or checkin.typed_mood(text) is None:
        return newest
    together = (
        flow
        for flow in waiting[1:]
        if flow.updated_at == newest.updated_at and flow.pair_id == newest.pair_id
    )
    return next((flow for flow in together if checkin.asks_mood(flow)), newest)


async def _answer_text(
    turn: Turn, flow: FlowSession, text: str, older: Sequence[FlowSession] = ()
) -> list[Effect]:
    """``older``: the person's other conversations waiting for a reply, newest first."""
    result = await CONVERSATIONS[flow.kind].on_text(turn, flow, clean_answer(text))
    return _answer_effects(turn, await _said_what_next(turn, flow, result, older))


async def _said_what_next(
    turn: Turn,
    flow: FlowSession,
    result: StepResult,
    older: Sequence[FlowSession] | None = None,
) -> StepResult:
    """A reply, a click or a form that finished ``flow``'s questions says what the
    person's next typed reply answers when another conversation waits for one, so their
    next words go where they expect (a mentor's check-in, finished below her mentee's
    question). Said in the DM this event sends them, when it sends one (the check-in
    shared, which thanks them), else in its answer (a click's: the message it changed):
    one message. ``older``: the person's other open conversations, newest first, when the
    event's look-up read them (a typed reply); else they are read, only then: one
    SELECT. (Finishing one starts no conversation with them that a reply could answer.)"""
    if CONVERSATIONS[flow.kind].accepts_text(flow):
        return result  # it goes on: its next question is the newest
    if older is None:
        found = await open_flows_of(turn, turn.actor, _TEXT_FLOW_KINDS, WAITING_LOOKED_AT + 1)
        older = [other for other in found if other.id != flow.id][:WAITING_LOOKED_AT]
    waiting = [other for other in older if CONVERSATIONS[other.kind].accepts_text(other)]
    if not waiting:
        return result
    next_one = await CONVERSATIONS[waiting[0].kind].still_waiting(turn, waiting[0])
    if result.reply is not None:
        return dataclasses.replace(result, reply=f"{result.reply}\n{next_one}")
    if result.replace_with is not None and not turn.has_dm_to_actor():
        # A click's answer is the message it changed.
        return dataclasses.replace(result, replace_with=f"{result.replace_with}\n{next_one}")
    turn.dm(turn.actor, Content(next_one))  # joins the DM this event queued them
    return result


def _named_flow(event: Event) -> int | None:
    """The flow session a button or a form names (``flow:<id>:…``), if any."""
    match event:
        case ButtonClicked():
            action = FlowAction.parse(event.action_id.removeprefix(KEEP_MESSAGE))
        case FormSubmitted():
            action = FlowAction.parse(event.form_id)
        case _:
            action = None
    return action.session_id if action else None


# The flows a typed DM may answer: the event's look-up reads them (``_begin``).
_TEXT_FLOW_KINDS = tuple(str(kind) for kind in CONVERSATIONS)
# How many of a person's open conversations a typed DM looks through, newest first.
WAITING_LOOKED_AT = 20


def _waiting_for_text(turn: Turn) -> list[FlowSession]:
    """The person's open conversations that a text reply could answer, newest first. A
    question still held back by quiet hours has not reached them: it is not waiting."""
    assert turn.open_flows is not None, "a typed DM's look-up reads them"
    looked_at = turn.open_flows[:WAITING_LOOKED_AT]
    return [
        flow
        for flow in looked_at
        if CONVERSATIONS[flow.kind].accepts_text(flow) and flow.updated_at <= turn.now
    ]


async def _submit_form(turn: Turn, event: FormSubmitted) -> list[Effect]:
    if event.form_id == matching_pool.JOIN_FORM_ID:
        return await matching_pool.join_from_form(turn, dict(event.values))
    action = FlowAction.parse(event.form_id)
    flow = await find_flow(turn, action.session_id) if action else None
    if flow is None or flow.kind not in CONVERSATIONS or flow.ended_at is not None:
        return turn.reply(
            "That form is no longer open, so nothing was saved."
            + given_back(list(event.values.values()))
        )
    # Only cleaned here: each flow checks the lengths, so one over-long answer is named
    # by its question and costs none of the others.
    values = {name: clean_text(value) for name, value in event.values.items()}
    result = await CONVERSATIONS[flow.kind].on_form(turn, flow, values)
    return _answer_effects(turn, await _said_what_next(turn, flow, result))


def _answer_effects(turn: Turn, result: StepResult) -> list[Effect]:
    """Outside a button click there is no message to replace: both parts are replies."""
    texts = [t for t in (result.replace_with, result.reply) if t]
    return [e for text in texts for e in turn.reply(text)]


def _reply(event: Event, text: str) -> ReplyEphemeral:
    return ReplyEphemeral(event.user, Content(text))


def _show(event: ButtonClicked, content: Content) -> list[Effect]:
    """``content`` in place of the clicked message, or said to its presser when the
    platform names none."""
    if event.message_id is not None:
        return [UpdateMessage(event.user, event.message_id, content)]
    return [ReplyEphemeral(event.user, content)]


def _step_effects(turn: Turn, event: ButtonClicked, result: StepResult) -> list[Effect]:
    effects = []
    if result.replace_with is not None:
        effects += _show(event, Content(result.replace_with))
    if result.reply is not None:
        effects += turn.reply(result.reply)
    return effects
