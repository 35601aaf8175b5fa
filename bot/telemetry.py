"""What the core tells an operator about its work, without knowing who listens.

The Engine, the delivery worker and the scheduler call a :class:`Telemetry`; the
composition root hands them one that feeds Prometheus (``adapters/ops.py``), tests may
hand them a recorder, and everyone else gets :data:`NO_TELEMETRY`. Labels are small,
fixed vocabularies (a command's name, a failure's kind), never what people wrote.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from bot.commands import MENTOR_USAGE
from bot.delivery import DeliveryFailure, FailureScope, Sender, delivered_before
from bot.effects import PostToChannel, SendDM
from bot.refs import Platform

# Other spellings the parser accepts for a /mentor subcommand.
_ALIASES = {"milestones": "milestone", "check-in": "checkin"}
UNKNOWN_COMMAND = "unknown"


class Telemetry(Protocol):
    def command_handled(self, platform: str, command: str) -> None: ...

    def delivered(self, platform: str) -> None: ...

    def failed(self, platform: str, reason: str) -> None: ...

    def dispatch_pass(self, seconds: float) -> None: ...

    def resent(self, found: int, unchecked: int) -> None:
        """Messages left ``sending`` by an attempt whose outcome was never recorded:
        ``found`` on the platform (not sent again), ``unchecked`` sent again blind."""
        ...


class NoTelemetry:
    def command_handled(self, platform: str, command: str) -> None:
        pass

    def delivered(self, platform: str) -> None:
        pass

    def failed(self, platform: str, reason: str) -> None:
        pass

    def dispatch_pass(self, seconds: float) -> None:
        pass

    def resent(self, found: int, unchecked: int) -> None:
        pass


NO_TELEMETRY: Telemetry = NoTelemetry()


def command_label(command: str, text: str) -> str:
    """``win``, a ``/mentor`` subcommand (``help`` when none is given), or ``unknown``;
    never the words after it."""
    name = command.strip().lstrip("/").lower()
    if name == "win":
        return "win"
    if name != "mentor":
        return UNKNOWN_COMMAND
    words = text.split(maxsplit=1)
    if not words:
        return "help"
    sub = words[0].lower()
    sub = _ALIASES.get(sub, sub)
    return sub if sub in MENTOR_USAGE else UNKNOWN_COMMAND


def failure_kind(failure: DeliveryFailure) -> str:
    """A failed delivery attempt as one of a few kinds (the reason itself is a sentence
    for people, too varied to be a metric label)."""
    if failure.retry_after is not None:
        return "rate_limited"
    if not failure.permanent:
        return "retry"
    match failure.scope:
        case FailureScope.MESSAGE:
            return "message_refused"
        case FailureScope.RECIPIENT:
            return "recipient_unreachable"
        case FailureScope.CHANNEL:
            return "channel_gone"
        case FailureScope.WORKSPACE:
            return "token_revoked"


class CountedSender:
    """A :class:`Sender` that reports each attempt: delivered, or failed by kind."""

    def __init__(self, platform: Platform, sender: Sender, telemetry: Telemetry) -> None:
        self._platform = platform.value
        self._sender = sender
        self._telemetry = telemetry

    async def perform(self, effect: SendDM | PostToChannel) -> None:
        try:
            await self._sender.perform(effect)
        except DeliveryFailure as failure:
            self._telemetry.failed(self._platform, failure_kind(failure))
            raise
        except Exception:
            self._telemetry.failed(self._platform, "error")
            raise
        self._telemetry.delivered(self._platform)

    async def delivered_before(self, effect: SendDM | PostToChannel) -> bool | None:
        return await delivered_before(self._sender, effect)


def counted_senders(
    senders: Mapping[Platform, Sender], telemetry: Telemetry
) -> dict[Platform, Sender]:
    return {
        platform: CountedSender(platform, sender, telemetry) for platform, sender in senders.items()
    }
