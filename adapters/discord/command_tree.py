"""The slash commands: ``/win`` and the ``/mentor`` group, mirroring the chat commands.

Options are typed (members are ``discord.Member`` pickers, the shout-out channel a channel
picker, rhythms and weekdays fixed choices, timezones and milestones autocompleted) so
Discord checks them before they reach the bot. Every callback hands the interaction to the one
``answer`` function: it reads the options from the raw payload
(:func:`adapters.discord.translate.command_text`) and gives the core the text of the chat
command, so the core's single parser still decides what a command means. The parameter
names here are the option names in :data:`adapters.discord.translate.SHAPES`.

The callbacks are where discord.py wants the commands declared; the adapter answers
the commands from ``on_interaction`` (see :class:`Commands`), and ``answer`` ignores an
interaction it has seen, should a later discord.py run them too.

All commands are guild-only: a workspace is a guild, and a command in a DM would belong
to none.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

import discord
from discord import app_commands

from adapters.discord.render import trim, units
from bot.cadence import timezone_names
from bot.commands import MENTOR_USAGE
from bot.milestones import GoalChoice
from bot.text import TEXT_MAX_CHARS, TITLE_MAX_CHARS
from bot.topics import MAX_CAPACITY, TEAM_MAX_CHARS

Answer = Callable[[discord.Interaction], Awaitable[None]]
# The choices offered as someone types an option: what they typed so far.
Suggest = Callable[[discord.Interaction, str], Awaitable[list[app_commands.Choice[str]]]]

# An autocomplete answer holds at most 25 choices, each named in 1-100 characters, with a
# string value of at most 100 (https://discord.com/developers/docs/interactions/
# application-commands#application-command-object-application-command-option-choice-
# structure); Discord counts UTF-16 code units.
MAX_CHOICES = 25
CHOICE_CHARS = 100
PARTNER = "Your partner, when you are in more than one pair"
# A goal is named as in the typed commands: by its title, or its number in the list.
MILESTONE = "Its title, or its number in /mentor milestone list"
# "Wednesday 16 December 2026" is 26: room for a day written out in full.
UNTIL_MAX_CHARS = 32
Rhythm = Literal["weekly", "biweekly", "monthly"]
Weekday = Literal["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
OnOff = Literal["on", "off"]
MatchRoleChoice = Literal["mentor", "mentee", "both"]
ProfileSetting = Literal["role", "topics", "capacity", "team"]
Text = app_commands.Range[str, 1, TEXT_MAX_CHARS]
Title = app_commands.Range[str, 1, TITLE_MAX_CHARS]
Number = app_commands.Range[int, 1, 999_999]
Days = app_commands.Range[int, 1, 183]
TOPICS = [app_commands.Choice(name=topic, value=topic) for topic in MENTOR_USAGE][:MAX_CHOICES]


def timezone_choices(current: str) -> list[str]:
    """Up to 25 timezone names the core accepts that contain what was typed: names
    starting with it first, then cities starting with it, then the rest."""
    wanted = current.strip().lower().replace(" ", "_")
    names = sorted(set(timezone_names().values()))
    if not wanted:
        return ["UTC", *[n for n in names if n.startswith(("Europe/", "America/"))]][:MAX_CHOICES]

    def rank(name: str) -> int:
        lower = name.lower()
        if lower.startswith(wanted):
            return 0
        if lower.rsplit("/", 1)[-1].startswith(wanted):
            return 1
        return 2

    found = [name for name in names if wanted in name.lower()]
    return sorted(found, key=lambda name: (rank(name), name))[:MAX_CHOICES]


def goal_choice(goal: GoalChoice) -> app_commands.Choice[str]:
    """An open goal as a choice: "#2 Ship the API (with alice)", its title cut to fit
    (never the partner's name), carrying the title as the command reads it, or the
    goal's number when the title is longer than a choice's value holds."""
    name = trim(goal.label, CHOICE_CHARS - units(goal.whose)) + goal.whose
    value = goal.title if units(goal.title) <= CHOICE_CHARS else str(goal.number)
    return app_commands.Choice(name=name, value=value)


async def _zones(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=zone, value=zone) for zone in timezone_choices(current)]


class Mentor(app_commands.Group, name="mentor", description="Mentoring pairs", guild_only=True):
    """``/mentor ...``; each subcommand passes the interaction to ``answer``."""

    def __init__(self, answer: Answer, goals: Suggest) -> None:
        super().__init__()
        self._answer = answer
        self._goals = goals

    feedback = app_commands.Group(name="feedback", description="Ask for and give feedback")
    milestone = app_commands.Group(name="milestone", description="Your pair's milestones")
    config = app_commands.Group(name="config", description="Your settings and the server's")

    @app_commands.command(name="help", description="What mentorbot can do")
    @app_commands.describe(topic="A command to explain")
    @app_commands.choices(topic=TOPICS)
    async def help(self, interaction: discord.Interaction, topic: str | None = None) -> None:
        await self._answer(interaction)

    @app_commands.command(name="pair", description="Propose a mentoring pair (both agree)")
    @app_commands.describe(mentor="Who mentors", mentee="Who is mentored")
    async def pair(
        self, interaction: discord.Interaction, mentor: discord.Member, mentee: discord.Member
    ) -> None:
        await self._answer(interaction)

    @app_commands.command(name="cadence", description="Set when your check-ins happen")
    @app_commands.describe(
        rhythm="How often",
        weekday="On which day (the pair's day unless you say)",
        time="Local time, like 09:30 (the pair's time unless you say)",
        timezone="Area/City, like Europe/Berlin (the pair's unless you say; yours with a time)",
        partner=PARTNER,
    )
    @app_commands.autocomplete(timezone=_zones)
    async def cadence(
        self,
        interaction: discord.Interaction,
        rhythm: Rhythm,
        weekday: Weekday | None = None,
        time: app_commands.Range[str, 1, 10] | None = None,
        timezone: app_commands.Range[str, 1, 64] | None = None,
        partner: discord.Member | None = None,
    ) -> None:
        await self._answer(interaction)

    @app_commands.command(name="status", description="Your pairs, next check-in, streak")
    @app_commands.describe(partner="Only your pair with this partner")
    async def status(
        self, interaction: discord.Interaction, partner: discord.Member | None = None
    ) -> None:
        await self._answer(interaction)

    @app_commands.command(name="checkin", description="Start a check-in now")
    @app_commands.describe(partner=PARTNER)
    async def checkin(
        self, interaction: discord.Interaction, partner: discord.Member | None = None
    ) -> None:
        await self._answer(interaction)

    @app_commands.command(name="skip", description="Skip the next check-in")
    @app_commands.describe(partner=PARTNER)
    async def skip(
        self, interaction: discord.Interaction, partner: discord.Member | None = None
    ) -> None:
        await self._answer(interaction)

    @app_commands.command(name="pause", description="Pause check-ins (two weeks unless you say)")
    @app_commands.describe(
        partner=PARTNER,
        days="For this many days",
        until="Until this day: 2027-01-10, 16 Dec or Monday",
    )
    async def pause(
        self,
        interaction: discord.Interaction,
        partner: discord.Member | None = None,
        days: Days | None = None,
        until: app_commands.Range[str, 1, UNTIL_MAX_CHARS] | None = None,
    ) -> None:
        await self._answer(interaction)

    @app_commands.command(name="resume", description="Resume check-ins after a pause")
    @app_commands.describe(partner=PARTNER)
    async def resume(
        self, interaction: discord.Interaction, partner: discord.Member | None = None
    ) -> None:
        await self._answer(interaction)

    @app_commands.command(name="end", description="End a pair (asks first)")
    @app_commands.describe(partner=PARTNER)
    async def end(
        self, interaction: discord.Interaction, partner: discord.Member | None = None
    ) -> None:
        await self._answer(interaction)

    @feedback.command(name="ask", description="Ask your mentor a specific question")
    @app_commands.describe(question="One thing, and what you want to know about it")
    async def feedback_ask(
        self,
        interaction: discord.Interaction,
        question: Text,
        partner: discord.Member | None = None,
    ) -> None:
        await self._answer(interaction)

    @feedback.command(name="list", description="Feedback asked and given in your pairs")
    @app_commands.describe(page="Which page")
    async def feedback_list(
        self, interaction: discord.Interaction, page: Number | None = None
    ) -> None:
        await self._answer(interaction)

    @milestone.command(name="add", description="Set a milestone for your pair")
    @app_commands.describe(title="What you want to reach", partner=PARTNER)
    async def milestone_add(
        self, interaction: discord.Interaction, title: Title, partner: discord.Member | None = None
    ) -> None:
        await self._answer(interaction)

    @milestone.command(name="done", description="Mark a milestone as reached")
    @app_commands.describe(milestone=MILESTONE, partner=PARTNER)
    async def milestone_done(
        self,
        interaction: discord.Interaction,
        milestone: Title,
        partner: discord.Member | None = None,
    ) -> None:
        await self._answer(interaction)

    @milestone.command(name="remove", description="Remove a milestone not reached yet")
    @app_commands.describe(milestone=MILESTONE, partner=PARTNER)
    async def milestone_remove(
        self,
        interaction: discord.Interaction,
        milestone: Title,
        partner: discord.Member | None = None,
    ) -> None:
        await self._answer(interaction)

    @milestone_done.autocomplete("milestone")
    @milestone_remove.autocomplete("milestone")
    async def _open_goals(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await self._goals(interaction, current)

    @milestone.command(name="list", description="Your pair's milestones")
    @app_commands.describe(partner=PARTNER)
    async def milestone_list(
        self, interaction: discord.Interaction, partner: discord.Member | None = None
    ) -> None:
        await self._answer(interaction)

    @app_commands.command(name="review", description="Look back: what went well, what next")
    @app_commands.describe(partner=PARTNER)
    async def review(
        self, interaction: discord.Interaction, partner: discord.Member | None = None
    ) -> None:
        await self._answer(interaction)

    @app_commands.command(name="journal", description="Your wins, newest first, or a partner's")
    @app_commands.describe(
        page="Which page",
        remove="Remove the win with this number",
        partner="Your partner's wins since your pair began",
    )
    async def journal(
        self,
        interaction: discord.Interaction,
        page: Number | None = None,
        remove: Number | None = None,
        partner: discord.Member | None = None,
    ) -> None:
        await self._answer(interaction)

    @config.command(name="show", description="Your settings and the server's")
    async def config_show(self, interaction: discord.Interaction) -> None:
        await self._answer(interaction)

    @config.command(name="shoutouts", description="Where milestones are celebrated (admins)")
    @app_commands.describe(channel="The shout-out channel", off="Turn channel shout-outs off")
    async def config_shoutouts(
        self,
        interaction: discord.Interaction,
        channel: discord.TextChannel | None = None,
        off: bool | None = None,
    ) -> None:
        await self._answer(interaction)

    @config.command(name="consent", description="May your milestones be celebrated in public?")
    @app_commands.describe(allow="on: celebrate them in the channel; off: keep them private")
    async def config_consent(self, interaction: discord.Interaction, allow: OnOff) -> None:
        await self._answer(interaction)

    @config.command(name="timezone", description="Your timezone")
    @app_commands.describe(zone="Area/City, like Europe/Berlin")
    @app_commands.autocomplete(zone=_zones)
    async def config_timezone(
        self, interaction: discord.Interaction, zone: app_commands.Range[str, 1, 64]
    ) -> None:
        await self._answer(interaction)

    @app_commands.command(name="export", description="Export your data")
    async def export(self, interaction: discord.Interaction) -> None:
        await self._answer(interaction)

    @app_commands.command(name="forget", description="Delete your data")
    async def forget(self, interaction: discord.Interaction) -> None:
        await self._answer(interaction)

    @app_commands.command(name="stats", description="How the mentoring program is going (admins)")
    async def stats(self, interaction: discord.Interaction) -> None:
        await self._answer(interaction)

    # --- matching: with no options, /mentor join opens the join form ---------------------

    @app_commands.command(name="join", description="Join the matching pool (a form asks)")
    @app_commands.describe(
        role="As a mentor, a mentee or both",
        topics="Comma-separated: what you can help with, or want to learn",
        capacity=f"Mentors: mentees at once (1-{MAX_CAPACITY})",
        team="Your team: you are never matched inside it",
    )
    async def join(
        self,
        interaction: discord.Interaction,
        role: MatchRoleChoice | None = None,
        topics: app_commands.Range[str, 1, 400] | None = None,
        capacity: app_commands.Range[int, 1, MAX_CAPACITY] | None = None,
        team: app_commands.Range[str, 1, TEAM_MAX_CHARS] | None = None,
    ) -> None:
        await self._answer(interaction)

    @app_commands.command(name="profile", description="Show or change your matching profile")
    @app_commands.describe(setting="What to change", value="Its new value")
    async def profile(
        self,
        interaction: discord.Interaction,
        setting: ProfileSetting | None = None,
        value: app_commands.Range[str, 1, 400] | None = None,
    ) -> None:
        await self._answer(interaction)

    @app_commands.command(name="leave", description="Leave the matching pool (pairs stay)")
    async def leave(self, interaction: discord.Interaction) -> None:
        await self._answer(interaction)

    @app_commands.command(name="match", description="Preview a matching round (admins)")
    async def match(self, interaction: discord.Interaction) -> None:
        await self._answer(interaction)


class Commands(app_commands.CommandTree[discord.Client]):
    """The slash commands as Discord is told of them (synced), and their autocomplete.

    A command itself is answered by the adapter's ``on_interaction``, from the raw
    payload, as buttons and forms are: that is what the callbacks above do anyway (and
    the error handler, for a command the tree could not match or convert), so the tree's
    own run of a command (a task of its own, the options converted into objects, then
    the callback) would only come first and add to every command's time."""

    def _from_interaction(self, interaction: discord.Interaction) -> None:
        if interaction.type is discord.InteractionType.autocomplete:
            super()._from_interaction(interaction)


def build_tree(
    client: discord.Client, answer: Answer, goals: Suggest
) -> app_commands.CommandTree[discord.Client]:
    """The commands, each answered by ``answer``; ``goals`` offers a milestone's choices."""
    tree = Commands(client)

    @app_commands.command(name="win", description="Save a win to your journal")
    @app_commands.describe(text="What went well")
    @app_commands.guild_only()
    async def win(interaction: discord.Interaction, text: Text) -> None:
        await answer(interaction)

    tree.add_command(win)
    tree.add_command(Mentor(answer, goals))
    return tree
