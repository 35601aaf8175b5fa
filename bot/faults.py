"""Crash points for fault-injection tests.

``MENTORBOT_CRASH_AT=name`` (or ``name:n``) makes the process kill itself with SIGKILL the
first (or n-th) time it passes the crash point ``name``: no cleanup, no flush, exactly
like a machine losing power there. Unset, a crash point costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

_VARIABLE = "MENTORBOT_CRASH_AT"
_passed: dict[str, int] = {}


def crash_point(name: str) -> None:
    wanted = os.environ.get(_VARIABLE)
    if not wanted:
        return
    point, _, count = wanted.partition(":")
    if point != name:
        return
    _passed[name] = _passed.get(name, 0) + 1
    if _passed[name] >= (int(count) if count.isdecimal() else 1):
        os.kill(os.getpid(), signal.SIGKILL)
