"""The program view for admins (issue 7). Work in progress: the helper building it
replaces this."""

from __future__ import annotations

from bot.commands import ShowStats
from bot.effects import Effect
from bot.turn import Turn


async def show_stats(turn: Turn, command: ShowStats) -> list[Effect]:
    return turn.reply("Stats are being built.")
