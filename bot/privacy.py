"""Export and forget (issue 7): everything stored about a person, handed to them or
deleted. Work in progress: the helper building it replaces these."""

from __future__ import annotations

from bot.commands import ExportData, ForgetMe
from bot.effects import Effect
from bot.flows.sessions import STALE, StepResult
from bot.storage.models import FlowSession
from bot.turn import Turn


async def export(turn: Turn, command: ExportData) -> list[Effect]:
    return turn.reply("Export is being built.")


async def ask_forget(turn: Turn, command: ForgetMe) -> list[Effect]:
    return turn.reply("Forget is being built.")


async def forget_step(turn: Turn, flow: FlowSession, choice: str) -> StepResult | list[Effect]:
    return STALE
