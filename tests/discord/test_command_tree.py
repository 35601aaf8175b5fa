"""The slash commands mirror the chat commands: every option the tree declares is one the
translation writes out, with the type it expects; timezones are autocompleted."""

from __future__ import annotations

import discord
from discord import app_commands

from adapters.discord.command_tree import build_tree, timezone_choices
from adapters.discord.translate import SHAPES, Written
from bot.commands import MENTOR_USAGE
from tests.discord.chat import DiscordChat, RunningBot
from tests.discord.fake_discord import FakeDiscord

TYPES = {
    Written.USER: {discord.AppCommandOptionType.user},
    Written.CHANNEL: {discord.AppCommandOptionType.channel},
    Written.FLAG: {discord.AppCommandOptionType.boolean},
    Written.DAYS: {discord.AppCommandOptionType.integer},
    Written.UNTIL: {discord.AppCommandOptionType.string},
    Written.AS_IS: {discord.AppCommandOptionType.string, discord.AppCommandOptionType.integer},
    Written.NAMED: {discord.AppCommandOptionType.string, discord.AppCommandOptionType.integer},
    Written.LABELLED: {discord.AppCommandOptionType.string},
    Written.AT: {discord.AppCommandOptionType.string},
}


async def _nothing(interaction: discord.Interaction) -> None:
    return None


async def _no_choices(
    interaction: discord.Interaction, typed: str
) -> list[app_commands.Choice[str]]:
    return []


def leaves(tree: app_commands.CommandTree[discord.Client]) -> dict[tuple[str, ...], object]:
    found: dict[tuple[str, ...], object] = {}
    for command in tree.walk_commands():
        if isinstance(command, app_commands.Command):
            found[tuple(command.qualified_name.split())] = command
    return found


def test_every_slash_command_has_a_shape_with_the_same_options_and_types() -> None:
    tree = build_tree(discord.Client(intents=discord.Intents.none()), _nothing, _no_choices)
    commands = leaves(tree)
    assert set(commands) == set(SHAPES)
    for path, shape in SHAPES.items():
        command = commands[path]
        assert isinstance(command, app_commands.Command)
        declared = {p.name: p.type for p in command.parameters}
        assert set(declared) == {o.name for o in shape.options}, path
        for option in shape.options:
            assert declared[option.name] in TYPES[option.written], (path, option.name)
        root = command.root_parent or command
        assert root.guild_only, path  # a workspace is a server: no commands in DMs


def test_every_chat_subcommand_is_a_slash_command() -> None:
    subcommands = {path[1] for path in SHAPES if path[0] == "mentor"}
    assert set(MENTOR_USAGE) <= subcommands


def test_timezones_are_suggested_from_what_the_core_accepts() -> None:
    assert timezone_choices("berl") == ["Europe/Berlin"]
    assert timezone_choices("new y")[0] == "America/New_York"
    assert timezone_choices("europe/")[:2] == ["Europe/Amsterdam", "Europe/Andorra"]
    assert len(timezone_choices("a")) == 25
    assert timezone_choices("")[0] == "UTC"
    assert "EST" not in timezone_choices("est")  # abbreviations are refused by the core
    assert timezone_choices("no such place") == []


async def test_the_timezone_option_is_autocompleted_over_the_gateway(
    bot: RunningBot, chat: DiscordChat, fake: FakeDiscord
) -> None:
    payload = fake.autocomplete(
        chat.guild, chat.id("bob"), "mentor config timezone", "zone", "lisb"
    )
    record = await fake.answered(await fake.interact(payload))
    (callback,) = record.callbacks
    assert callback == {
        "type": 8,
        "data": {"choices": [{"name": "Europe/Lisbon", "value": "Europe/Lisbon"}]},
    }
    answered = await chat.slash("bob", "mentor config timezone", zone="Europe/Lisbon")
    assert "Europe/Lisbon" in answered.text()
