"""Platform identities.

A ``*Ref`` names something as the platform knows it (a Slack team and user id, a Discord
guild and user snowflake, a console name). Our own database keys are ``*_id`` integers.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Platform(StrEnum):
    CONSOLE = "console"
    SLACK = "slack"
    DISCORD = "discord"


@dataclass(frozen=True, slots=True)
class WorkspaceRef:
    """A Slack team, a Discord guild, or the console's single local workspace."""

    platform: Platform
    workspace_id: str


@dataclass(frozen=True, slots=True)
class UserRef:
    platform: Platform
    workspace_id: str
    user_id: str

    @property
    def workspace(self) -> WorkspaceRef:
        return WorkspaceRef(self.platform, self.workspace_id)

    def mention(self) -> str:
        """Neutral mention markup; every adapter renders ``<@id>`` its own way."""
        return f"<@{self.user_id}>"


@dataclass(frozen=True, slots=True)
class ChannelRef:
    platform: Platform
    workspace_id: str
    channel_id: str

    def mention(self) -> str:
        return f"<#{self.channel_id}>"
