"""A question answered by picking one of several options, asked instead of guessing:
"which pair?" for a command that fits more than one of your pairs. What the person already
said is kept with the question; once they choose, the engine carries on with it.

A DM reply is never held behind such a question: it answers the question asked last.
"Which question is this for?" (``CHOOSE_CONVERSATION``) was asked by earlier versions;
one still open is honoured: the kept reply is stored where chosen, or its author is told
plainly that it was not saved.

```mermaid
stateDiagram-v2
    [*] --> asked: a command or reply that fits several options
    asked --> chosen: an option's button (the command runs, or the reply is delivered)
    chosen --> [*]
```
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.content import MAX_CHOICE_BUTTONS, Content, Option, Select
from bot.effects import Effect, ReplyEphemeral
from bot.flows.sessions import FlowKind, flow_button, move, start_flow
from bot.numbers import whole_number
from bot.storage.models import FlowSession
from bot.turn import Turn


class State(StrEnum):
    ASKED = "asked"
    CHOSEN = "chosen"


@dataclass(frozen=True, slots=True)
class Chosen:
    option: int  # a pair id or a flow session id, as the question offered
    data: dict[str, Any]  # what was kept with the question


async def ask(
    turn: Turn,
    kind: FlowKind,
    question: str,
    data: dict[str, Any],
    options: list[tuple[int, str]],
) -> list[Effect]:
    # The question and the labels are kept, so the answered question can say what was chosen.
    shown = {"question": question, "labels": {str(option): label for option, label in options}}
    flow = await start_flow(turn, kind, State.ASKED, member=turn.actor, data={**data, **shown})
    buttons = tuple(flow_button(flow, str(option), label) for option, label in options)
    if len(buttons) <= MAX_CHOICE_BUTTONS:
        return turn.reply(question, buttons=buttons)
    menu = Select(
        f"choose:{flow.id}", "Choose one…", tuple(Option(b.label, b.action_id) for b in buttons)
    )
    return [ReplyEphemeral(turn.actor_ref, Content(question, select=menu))]


def step(turn: Turn, flow: FlowSession, choice: str) -> Chosen | None:
    """The option chosen, or None when the question is stale or not theirs."""
    option = whole_number(choice)  # a pair or flow id: a forged value may be anything
    if flow.ended_at is not None or flow.member_id != turn.actor.id or option is None:
        return None
    move(turn, flow, State.CHOSEN, end=True)
    return Chosen(option, dict(flow.data))


def answered(chosen: Chosen) -> str:
    """The question with the option chosen after it ("Which one do you mean? With
    @bob"); a question asked by an earlier version kept no labels: "Okay."."""
    labels = chosen.data.get("labels")
    label = labels.get(str(chosen.option)) if isinstance(labels, dict) else None
    question = chosen.data.get("question")
    if not isinstance(label, str) or not isinstance(question, str):
        return "Okay."
    return f"{question} {label}"
