"""Ending a pair asks first; a click on "End pair" ends it and tells the partner.

```mermaid
stateDiagram-v2
    [*] --> confirming: /mentor end
    confirming --> ended: End pair
    confirming --> kept: Keep it
    ended --> [*]
    kept --> [*]
```
"""

from __future__ import annotations

from enum import StrEnum

from bot.commands import EndPair
from bot.content import ButtonStyle, Content
from bot.effects import Effect
from bot.flows import checkin, feedback, review
from bot.flows.pair_proposal import declines, told_of_withdrawal, withdraw
from bot.flows.sessions import (
    STALE,
    FlowKind,
    StepResult,
    flow_button,
    move,
    not_for_you,
    start_flow,
)
from bot.pairs import lock, pairs_of, pick_pair
from bot.rhythm import stop_schedule
from bot.storage.models import LIVE_PAIR_STATES, FlowSession, Member, Pair, PairState
from bot.turn import Turn


class State(StrEnum):
    CONFIRMING = "confirming"
    ENDED = "ended"
    KEPT = "kept"


PROPOSAL = "proposal"  # in the flow's data: the question was about a proposal


async def ask(turn: Turn, command: EndPair) -> list[Effect]:
    view = await pick_pair(turn, command.partner_id, LIVE_PAIR_STATES)
    proposed = view.pair.state == PairState.PROPOSED
    flow = await start_flow(
        turn,
        FlowKind.END_PAIR,
        State.CONFIRMING,
        member=turn.actor,
        pair=view.pair,
        # What the question is about: [Withdraw it] on a proposal never ends the pair
        # it became when the others accepted meanwhile.
        data={PROPOSAL: True} if proposed else None,
    )
    keep = flow_button(flow, "keep", "Keep it")
    if proposed:
        told = " and ".join(f"<@{m.external_id}>" for m in await told_of_withdrawal(turn, view))
        if declines(view):  # asked, not accepted: /mentor end says no, as [Decline] does
            return turn.reply(
                f"Do you want to decline the proposal ({view.describe()})? "
                f"I'll tell {told} that you declined.",
                buttons=(flow_button(flow, "end", "Decline it", ButtonStyle.DANGER), keep),
            )
        whose = "your" if view.pair.proposed_by_id == turn.actor.id else "the"
        return turn.reply(
            f"Do you want to withdraw {whose} proposal ({view.describe()})? "
            f"I'll tell {told} that it was withdrawn.",
            buttons=(flow_button(flow, "end", "Withdraw it", ButtonStyle.DANGER), keep),
        )
    return turn.reply(
        f"Do you want to end your pair ({view.describe()})? "
        f"I'll tell {view.partner_mention} that it ended, without any details.",
        buttons=(flow_button(flow, "end", "End pair", ButtonStyle.DANGER), keep),
    )


async def step(turn: Turn, flow: FlowSession, choice: str) -> StepResult:
    if flow.ended_at is not None:
        return STALE
    if flow.member_id != turn.actor.id:
        owner = await turn.session.get(Member, flow.member_id)
        return not_for_you(owner) if owner else STALE
    if choice == "keep":
        move(turn, flow, State.KEPT, end=True)
        pair = await turn.session.get(Pair, flow.pair_id) if flow.pair_id else None
        if pair is not None and pair.state == PairState.PROPOSED:
            return StepResult(replace_with="Okay, the proposal stays open.")
        return StepResult(replace_with="Okay, your pair stays as it is.")
    if choice != "end":
        return STALE
    views = [
        v for v in await pairs_of(turn, turn.actor, LIVE_PAIR_STATES) if v.pair.id == flow.pair_id
    ]
    if views:  # both pressing [End pair] at one moment: the second finds it ended
        await lock(turn, views[0].pair)
        views = [v for v in views if v.pair.state in LIVE_PAIR_STATES]
    if views and views[0].pair.state != PairState.PROPOSED and flow.data.get(PROPOSAL):
        move(turn, flow, State.KEPT, end=True)
        return StepResult(
            replace_with=f"Your pair with {views[0].partner_mention} started meanwhile (the "
            "proposal was accepted), so nothing changed. To end the pair, use `/mentor end`."
        )
    move(turn, flow, State.ENDED, end=True)
    if not views:
        return StepResult(replace_with="That pair had already ended.")
    view = views[0]
    if view.pair.state == PairState.PROPOSED:
        return StepResult(replace_with=await withdraw(turn, view))
    view.pair.state = PairState.ENDED.value
    view.pair.ended_at = turn.now
    view.pair.paused_until = None
    view.pair.next_anniversary_at = None
    stop_schedule(view.pair)
    wrote = await checkin.cancel_open(turn, view.pair)
    await feedback.close_for_ended_pair(turn, view.pair)
    turn.dm(
        view.partner,
        Content(
            f"<@{turn.actor.external_id}> ended your mentoring pair. "
            "Thank you for the time you gave each other."
            + checkin.not_shared_note(view.partner, wrote)
        ),
    )
    await review.start_for_pair_end(turn, view.pair)
    return StepResult(
        replace_with=f"Your pair with {view.partner_mention} has ended."
        + checkin.not_shared_note(turn.actor, wrote)
    )
