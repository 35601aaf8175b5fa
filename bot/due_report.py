"""What one dispatch pass did, job by job. Its own module so the jobs that live beside
their flows (stalls, matching rounds) can fill it in without importing the pass."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass
class DueReport:
    checkins_opened: int = 0
    checkins_missed: int = 0
    heads_ups: int = 0
    timers: int = 0
    checkins_closed: int = 0
    resumed: int = 0
    anniversaries: int = 0
    stall_nudges: int = 0
    stall_alerts: int = 0
    proposals_expired: int = 0

    @property
    def total(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))
