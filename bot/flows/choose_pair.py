"""When a command fits more than one of a person's pairs, ask which one, then run the
command again with that pair.

```mermaid
stateDiagram-v2
    [*] --> asked: a command that needs a pair, and several fit
    asked --> chosen: a pair's button (the command runs again for that pair)
    chosen --> [*]
```
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.effects import Effect
from bot.flows.sessions import FlowKind, flow_button, move, start_flow
from bot.pairs import AskWhichPair
from bot.storage.models import FlowSession
from bot.turn import Turn


class State(StrEnum):
    ASKED = "asked"
    CHOSEN = "chosen"


@dataclass(frozen=True, slots=True)
class Rerun:
    command: str
    text: str
    pair_id: int


async def ask(turn: Turn, question: AskWhichPair, command: str, text: str) -> list[Effect]:
    flow = await start_flow(
        turn,
        FlowKind.CHOOSE_PAIR,
        State.ASKED,
        member=turn.actor,
        data={"command": command, "text": text},
    )
    buttons = tuple(flow_button(flow, str(v.pair.id), v.label()) for v in question.candidates)
    return turn.reply("You're in more than one pair. Which one do you mean?", buttons=buttons)


def step(turn: Turn, flow: FlowSession, choice: str) -> Rerun | None:
    """The command to run again, or None when the question is stale or not theirs."""
    if flow.ended_at is not None or flow.member_id != turn.actor.id or not choice.isdecimal():
        return None
    move(turn, flow, State.CHOSEN, end=True)
    return Rerun(str(flow.data["command"]), str(flow.data["text"]), int(choice))
