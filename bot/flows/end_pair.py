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
from bot.flows.sessions import (
    STALE,
    FlowKind,
    StepResult,
    flow_button,
    move,
    not_for_you,
    start_flow,
)
from bot.pairs import pairs_of, pick_pair
from bot.rhythm import stop_schedule
from bot.storage.models import LIVE_PAIR_STATES, FlowSession, Member, PairState
from bot.turn import Turn


class State(StrEnum):
    CONFIRMING = "confirming"
    ENDED = "ended"
    KEPT = "kept"


async def ask(turn: Turn, command: EndPair) -> list[Effect]:
    view = await pick_pair(turn, command.partner_id, LIVE_PAIR_STATES)
    flow = await start_flow(
        turn, FlowKind.END_PAIR, State.CONFIRMING, member=turn.actor, pair=view.pair
    )
    what = "withdraw the proposal of" if view.pair.state == PairState.PROPOSED else "end"
    return turn.reply(
        f"Do you want to {what} your pair ({view.describe()})? "
        f"I'll tell {view.partner_mention} that it ended, without any details.",
        buttons=(
            flow_button(flow, "end", "End pair", ButtonStyle.DANGER),
            flow_button(flow, "keep", "Keep it"),
        ),
    )


async def step(turn: Turn, flow: FlowSession, choice: str) -> StepResult:
    if flow.ended_at is not None:
        return STALE
    if flow.member_id != turn.actor.id:
        owner = await turn.session.get(Member, flow.member_id)
        return not_for_you(owner) if owner else STALE
    if choice == "keep":
        move(turn, flow, State.KEPT, end=True)
        return StepResult(replace_with="Okay, your pair stays as it is.")
    if choice != "end":
        return STALE
    views = [
        v for v in await pairs_of(turn, turn.actor, LIVE_PAIR_STATES) if v.pair.id == flow.pair_id
    ]
    move(turn, flow, State.ENDED, end=True)
    if not views:
        return StepResult(replace_with="That pair had already ended.")
    view = views[0]
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
