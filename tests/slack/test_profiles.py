"""The users.info cache keeps the last hour's people: expired entries are dropped as new
ones come, not only when the cache is full (bench_profile_cache: 50,000 entries are
~17 MB)."""

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.profiles import Profiles
from adapters.slack.translate import Profile
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
        assert len(profiles) == 1
        assert profiles.cached("T1", "U0D") == Profile("Person D", "UTC", is_admin=False)
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
        assert len(profiles) == 3
        assert [profiles.cached("T1", user) is not None for user in people] == [
            False,
            False,
            True,
            True,
            True,
        ]
        # The same person in another workspace is someone else to the cache.
        assert profiles.cached("T2", "U04") is None
    finally:
        await fake.stop()


async def test_people_in_one_timezone_share_its_name() -> None:
    """Each answer decodes its own copy of "Europe/Berlin"; the cache keeps one for all."""
    people = {f"U0{n}": Person(f"Person {n}", "Europe/Berlin") for n in range(3)}
    fake = FakeSlack(users=people)
    await fake.start()
    try:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url)
        profiles = Profiles(client)
        found = [await profiles.get("T1", user) for user in people]
        assert [profile.timezone for profile in found] == ["Europe/Berlin"] * 3
        assert found[0].timezone is found[1].timezone is found[2].timezone
    finally:
        await fake.stop()
