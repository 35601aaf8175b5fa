"""The users.info cache keeps the last hour's people: expired entries are dropped as new
ones come, not only when the cache is full (bench_memory: 50,000 entries are ~24 MB)."""

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.profiles import Profiles
from tests.slack.fake_slack import BOT_TOKEN, FakeSlack, Person


async def test_expired_profiles_leave_the_cache() -> None:
    people = {f"U0{c}": Person(f"Person {c}", "UTC") for c in "ABCD"}
    fake = FakeSlack(users=people)
    await fake.start()
    try:
        now = [0.0]
        client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url)
        profiles = Profiles(client, ttl_seconds=3600.0, monotonic=lambda: now[0])
        for user in ("U0A", "U0B", "U0C"):
            assert (await profiles.get("T1", user)).name == people[user].name
        assert profiles.cached("T1", "U0A") is not None
        now[0] = 3601.0
        assert (await profiles.get("T1", "U0D")).name == "Person D"
        assert [profiles.cached("T1", u) for u in ("U0A", "U0B", "U0C")] == [None] * 3
        assert list(profiles._cache) == [("T1", "U0D")]
    finally:
        await fake.stop()


async def test_the_cache_still_holds_at_most_its_size() -> None:
    people = {f"U0{n}": Person(f"Person {n}", "UTC") for n in range(5)}
    fake = FakeSlack(users=people)
    await fake.start()
    try:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url)
        profiles = Profiles(client, size=3, monotonic=lambda: 0.0)
        for user in people:
            await profiles.get("T1", user)
        assert list(profiles._cache) == [("T1", "U02"), ("T1", "U03"), ("T1", "U04")]
    finally:
        await fake.stop()
