"""Slack's request signature (v0), checked on the raw bytes of a request before
anything parses them, so unsigned garbage costs an HMAC and nothing else.

Source: https://api.slack.com/authentication/verifying-requests-from-slack (the
signature is ``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}`` with the signing
secret; requests more than five minutes old are to be refused, against replays).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from enum import StrEnum

MAX_AGE_SECONDS = 5 * 60
# A Unix time in seconds has 10 digits until the year 2286; anything longer is not one.
MAX_TIMESTAMP_DIGITS = 12
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
SIGNATURE_HEADER = "X-Slack-Signature"


class Unsigned(StrEnum):
    """Why a request is not Slack's: fixed words, safe to log (nothing of the request)."""

    MISSING = "no signature headers"
    MALFORMED_TIMESTAMP = "a timestamp that is not a number"
    STALE = "a timestamp more than 5 minutes away"
    WRONG = "a wrong signature"

    @property
    def status(self) -> int:
        """401 for a request that is not signed by Slack; 400 for a broken header."""
        return 400 if self is Unsigned.MALFORMED_TIMESTAMP else 401


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode("ascii") + b":" + body
    return "v0=" + hmac.new(secret, base, hashlib.sha256).hexdigest()


def unsigned(secret: bytes, body: bytes, headers: Mapping[str, str], now: float) -> Unsigned | None:
    """None when Slack signed ``body`` with ``secret``; otherwise why not."""
    stamp = headers.get(TIMESTAMP_HEADER)
    given = headers.get(SIGNATURE_HEADER)
    if stamp is None or given is None:
        return Unsigned.MISSING
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= MAX_TIMESTAMP_DIGITS):
        return Unsigned.MALFORMED_TIMESTAMP
    if abs(now - int(stamp)) > MAX_AGE_SECONDS:
        return Unsigned.STALE
    expected = signature(secret, stamp, body).encode("ascii")
    if not hmac.compare_digest(expected, given.encode("utf-8", "replace")):
        return Unsigned.WRONG
    return None


# Slack's SSL certificate check for slash-command URLs is a tiny form POST
# (``ssl_check=1&token=…``) that Bolt answers before verifying signatures; it gets its
# 200 here without being parsed (https://api.slack.com/interactivity/slash-commands).
SSL_CHECK_MAX_BYTES = 512


def is_ssl_check(body: bytes) -> bool:
    return len(body) <= SSL_CHECK_MAX_BYTES and b"ssl_check=1" in body.split(b"&")
