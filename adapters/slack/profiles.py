"""Who a Slack user is (name, timezone, admin), from ``users.info`` on first contact,
then from a cache: one call per person per hour, not one per click."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.translate import Profile, profile

log = logging.getLogger(__name__)

UNKNOWN = Profile(name=None, timezone=None, is_admin=None)


def _key(team_id: str, user_id: str) -> str:
    # Slack's team and user IDs are letters and digits, so ":" cannot make two pairs alike.
    return f"{team_id}:{user_id}"


@dataclass(frozen=True, slots=True)
class _Kept:
    """A cache entry: its key, what ``users.info`` said and when, in one object of five
    slots rather than a ``(time, Profile)`` tuple holding a ``Profile`` (72 bytes, not
    112)."""

    key: str
    stored: float
    name: str | None
    timezone: str | None
    is_admin: bool | None

    @property
    def failed(self) -> bool:
        # A profile that was read always says whether the person is an admin
        # (``translate.profile``); only ``UNKNOWN`` does not.
        return self.is_admin is None

    def profile(self) -> Profile:
        return Profile(self.name, self.timezone, self.is_admin)


class Profiles:
    def __init__(
        self,
        client: AsyncWebClient,
        *,
        ttl_seconds: float = 3600.0,
        failed_ttl_seconds: float = 60.0,
        size: int = 50_000,
        timeout_seconds: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._ttl = ttl_seconds
        self._failed_ttl = failed_ttl_seconds
        self._size = size
        self._timeout = timeout_seconds
        self._monotonic = monotonic
        # Keyed by one string, "team:user", not a tuple of two strings; each value one
        # object. With the timezone names shared (translate.profile), an entry is ~280
        # bytes with its place in ``_order`` (bench/bench_profile_cache.py), and the
        # cache holds up to `size`.
        self._cache: dict[str, _Kept] = {}
        # The entries in the order stored, oldest first, for the oldest to go first: a
        # pointer each, where an OrderedDict's links take ~50 bytes. (A plain dict's own
        # order will not do: finding its first entry steps over every one deleted before
        # it since the dict last grew, ~60 µs more for each new person once the cache
        # was full; bench/README.md, issue 16, twenty-eighth step.) An entry stored
        # again leaves its old one here, no longer in ``_cache``, until it is the oldest.
        self._order: deque[_Kept] = deque()
        # One users.info call per person at a time, however many requests wait for it.
        self._pending: dict[str, asyncio.Future[Profile]] = {}

    def __len__(self) -> int:
        return len(self._cache)

    def clear(self) -> None:
        self._cache.clear()
        self._order.clear()

    def cached(self, team_id: str, user_id: str) -> Profile | None:
        return self._fresh(_key(team_id, user_id))

    def _fresh(self, key: str) -> Profile | None:
        entry = self._cache.get(key)
        if entry is None:
            return None
        ttl = self._failed_ttl if entry.failed else self._ttl
        return entry.profile() if self._monotonic() - entry.stored <= ttl else None

    async def get(self, team_id: str, user_id: str) -> Profile:
        """The person's profile; a look-up that fails or is slow gives ``UNKNOWN`` (tried
        again a minute later) rather than hold up the answer."""
        key = _key(team_id, user_id)
        found = self._fresh(key)
        if found is not None:
            return found
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._look_up(key, user_id))
            self._pending[key] = pending
            pending.add_done_callback(lambda _: self._pending.pop(key, None))
        return await asyncio.shield(pending)

    async def _look_up(self, key: str, user_id: str) -> Profile:
        found = await self._users_info(user_id)
        # A failed look-up is kept for a minute too: Slack is not asked on every click
        # while it is down, or about someone it does not know.
        now = self._monotonic()
        kept = _Kept(key, now, found.name, found.timezone, found.is_admin)
        self._cache[key] = kept
        self._order.append(kept)
        # Oldest first: whatever has expired goes too (it would not be served again), so
        # the cache holds the last hour's people, not the `size` most recent of all time.
        while self._order:
            oldest = self._order[0]
            if self._cache.get(oldest.key) is oldest:
                if len(self._cache) <= self._size and now - oldest.stored <= self._ttl:
                    break
                del self._cache[oldest.key]
            self._order.popleft()  # gone, or stored again since
        return found

    async def _users_info(self, user_id: str) -> Profile:
        try:
            response = await asyncio.wait_for(self._client.users_info(user=user_id), self._timeout)
        except SlackApiError as error:
            log.warning("users.info failed: %s", error.response.get("error"))
            return UNKNOWN
        except (TimeoutError, aiohttp.ClientError) as error:
            log.warning("users.info failed: %s", type(error).__name__)
            return UNKNOWN
        user = response.get("user")
        return profile(user) if isinstance(user, dict) else UNKNOWN
