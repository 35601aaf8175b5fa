"""When a DM reply could answer more than one open question, ask which one instead of
guessing: a check-in answer must never reach the partner as a feedback answer.

```mermaid
stateDiagram-v2
    [*] --> asked: a DM reply while two or more conversations wait for text
    asked --> chosen: a conversation's button (the saved reply goes to it)
    chosen --> [*]
```
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.effects import Effect
from bot.flows.sessions import FlowKind, flow_button, move, start_flow
from bot.storage.models import FlowSession
from bot.turn import Turn


class State(StrEnum):
    ASKED = "asked"
    CHOSEN = "chosen"


@dataclass(frozen=True, slots=True)
class Answer:
    """The saved reply and the session it is for."""

    flow_id: int
    text: str


async def ask(turn: Turn, text: str, options: list[tuple[FlowSession, str]]) -> list[Effect]:
    flow = await start_flow(
        turn, FlowKind.CHOOSE_CONVERSATION, State.ASKED, member=turn.actor, data={"text": text}
    )
    buttons = tuple(flow_button(flow, str(option.id), label) for option, label in options)
    return turn.reply(
        "You have more than one open question, so I didn't want to guess. "
        "Which one is this reply for?",
        buttons=buttons,
    )


def step(turn: Turn, flow: FlowSession, choice: str) -> Answer | None:
    if flow.ended_at is not None or flow.member_id != turn.actor.id or not choice.isdecimal():
        return None
    move(turn, flow, State.CHOSEN, end=True)
    return Answer(int(choice), str(flow.data["text"]))
