"""Logging for the long-running commands: readable lines (``LOG_FORMAT=text``) or one
JSON object per line (``LOG_FORMAT=json``), on stderr.

What people write (wins, answers, feedback) and the credentials must never reach a log.
The main guarantee is that our code logs ids, kinds and counts, never text. Two more
layers, both filters on the handler (so no logger's level gets around them): records of
libraries that log whole requests, responses and SQL parameters at DEBUG are dropped
below INFO or WARNING whatever ``LOG_LEVEL`` says, and any configured secret that still
turns up is replaced with ``[redacted]``.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from typing import TextIO

from pydantic import SecretStr
from pythonjsonlogger.json import JsonFormatter

from bot.settings import Settings

REDACTED = "[redacted]"
SECRET_SETTINGS = (
    "slack_bot_token",
    "slack_signing_secret",
    "slack_app_token",
    "discord_bot_token",
    "data_encryption_key",
    "metrics_token",
)
# Shorter values would redact ordinary words; no real credential is this short.
MIN_SECRET_CHARS = 6
# The least level each library logs at. At DEBUG these log request and response bodies
# (message text), SQL statements with their parameters (journal text) or headers.
LIBRARY_LEVELS = {
    "sqlalchemy": logging.WARNING,
    "aiosqlite": logging.WARNING,
    "asyncpg": logging.WARNING,
    "alembic": logging.WARNING,
    "slack_sdk": logging.INFO,
    "slack_bolt": logging.INFO,
    "discord": logging.INFO,
    "aiohttp": logging.INFO,
    "apscheduler": logging.INFO,
    "asyncio": logging.INFO,
}
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The attributes every LogRecord has; anything else was passed as ``extra``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def setup_logging(
    settings: Settings, *, stream: TextIO | None = None, least_level: int = logging.NOTSET
) -> logging.Handler:
    """Replace the root logger's handlers with one in the configured format; returns it.
    ``least_level`` raises ``LOG_LEVEL`` to at least that (the console keeps its
    terminal for the conversation: warnings and worse only)."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(json_formatter() if settings.log_format == "json" else text_formatter())
    handler.addFilter(LibraryLevels(LIBRARY_LEVELS))
    handler.addFilter(Redactor(configured_secrets(settings)))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    level = logging.getLevelName(settings.log_level)
    root.setLevel(max(level if isinstance(level, int) else logging.INFO, least_level))
    for name, least in LIBRARY_LEVELS.items():
        # Saves formatting what the handler would drop; the handler's filter is the
        # guarantee, since a library may set its own loggers' levels.
        logging.getLogger(name).setLevel(max(least, root.level))
    return handler


def text_formatter() -> logging.Formatter:
    return logging.Formatter(TEXT_FORMAT)


def json_formatter() -> logging.Formatter:
    """time, level, logger, message, and ``exception`` (the traceback) when there is one."""
    return JsonFormatter(
        "{levelname}{name}{message}",
        style="{",
        rename_fields={"levelname": "level", "name": "logger", "exc_info": "exception"},
        timestamp="time",
        json_ensure_ascii=False,
    )


def configured_secrets(settings: Settings) -> list[str]:
    found = []
    for name in SECRET_SETTINGS:
        value = getattr(settings, name, None)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if not isinstance(value, str):
            continue
        # DATA_ENCRYPTION_KEY lists several keys: each one alone is a secret too.
        parts = [value, *(part.strip() for part in value.split(","))]
        found += [part for part in parts if len(part) >= MIN_SECRET_CHARS]
    return list(dict.fromkeys(found))


class LibraryLevels(logging.Filter):
    """Drops a library's records below its least level in ``LIBRARY_LEVELS``, whatever
    level its logger has. Runs on the handler, so no logger level can get around it:
    Bolt, for one, sets ``slack_bolt.AsyncApp`` to the root's level when an app is
    made, and then logs every response body (the replies that repeat people's words)
    at DEBUG."""

    def __init__(self, levels: Mapping[str, int]) -> None:
        super().__init__()
        self._levels = dict(levels)

    def filter(self, record: logging.LogRecord) -> bool:
        name = record.name
        while name:
            least = self._levels.get(name)
            if least is not None:
                return record.levelno >= least
            name = name.rpartition(".")[0]
        return True


class Redactor(logging.Filter):
    """Replaces each secret in a record (message, traceback, stack, extras) before any
    formatter sees it. Runs on the handler, so records of every logger pass through."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Longest first, so a secret that contains another is replaced whole; and the
        # JSON-escaped spelling too, for secrets inside a logged JSON body.
        spellings = {form for secret in secrets for form in (secret, json.dumps(secret)[1:-1])}
        self._secrets = sorted(spellings, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: show it as it is
            message = str(record.msg)
        record.msg, record.args = self.redact(message), ()
        if record.exc_info:
            # Formatted here, so the traceback's text can be searched too; both
            # formatters print ``exc_text`` when ``exc_info`` is gone.
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip()
            record.exc_info = None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, self.redact(value))
        return True


class Throttled:
    """One log line for a thing that can happen thousands of times a second (refused
    requests): the first occurrence is logged at once, later ones at most once per
    ``every_seconds``, each line counting what happened since the last. ``what`` and
    ``reason`` are fixed words of our own, never anything the sender chose."""

    def __init__(
        self,
        logger: logging.Logger,
        what: str,
        *,
        every_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._what = what
        self._every = every_seconds
        self._clock = clock
        self._count = 0
        self._last: float | None = None

    def note(self, reason: str) -> None:
        self._count += 1
        now = self._clock()
        if self._last is not None and now - self._last < self._every:
            return
        self._logger.warning(
            "%s: %d since the last note (latest: %s)", self._what, self._count, reason
        )
        self._count, self._last = 0, now
