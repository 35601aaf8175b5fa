"""What a sender raises when a platform refuses a message, and what the refusal makes
unreachable. Its own module so that the core's reactions to a failure (``bot.unreachable``)
and the delivery loop (``bot.delivery``) both read it without importing each other."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum


class FailureScope(StrEnum):
    """What a permanent failure says is unreachable."""

    MESSAGE = "message"  # only this message (too long, malformed)
    RECIPIENT = "recipient"  # the person: DMs closed, unknown or deactivated user
    CHANNEL = "channel"  # the channel: gone, archived, or we are not in it
    WORKSPACE = "workspace"  # everything there: token revoked, app uninstalled


class DeliveryFailure(Exception):
    """Raised by a sender. ``permanent`` failures are never retried, and what they make
    unreachable (``scope``) is not tried again either; the others are retried, with
    backoff or after ``retry_after`` (a 429)."""

    def __init__(
        self,
        reason: str,
        *,
        permanent: bool,
        retry_after: timedelta | None = None,
        scope: FailureScope = FailureScope.MESSAGE,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after
        self.scope = scope
