"""The users.info cache keeps the last hour's people: expired entries are dropped as new
ones come, not only when the cache is full (bench_profile_cache: 50,000 entries are
~14 MB)."""

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.profiles import Profiles
from adapters.slack.translate import Profile
from tests.slack.fake_slack import BOT_TOKEN, FakeSlack, Person


def _profiles(fake: FakeSlack, people: dict[str, Person], **options: Any) -> Profiles:
    """A cache asking the fake Slack (the ``fake`` fixture), which knows ``people`` too."""
    fake.users.update(people)
    return Profiles(AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url), **options)


async def test_expired_profiles_leave_the_cache(fake: FakeSlack) -> None:
    people = {f"U0{c}": Person(f"Person {c}", "UTC") for c in "ABCD"}
    now = [0.0]
    profiles = _profiles(fake, people, ttl_seconds=3600.0, monotonic=lambda: now[0])
    for user in ("U0A", "U0B", "U0C"):
        assert (await profiles.get("T1", user)).name == people[user].name
    assert profiles.cached("T1", "U0A") is not None
    now[0] = 3601.0
    assert (await profiles.get("T1", "U0D")).name == "Person D"
    assert [profiles.cached("T1", u) for u in ("U0A", "U0B", "U0C")] == [None] * 3
    assert len(profiles) == 1
    assert profiles.cached("T1", "U0D") == Profile("Person D", "UTC", is_admin=False)


async def test_the_cache_still_holds_at_most_its_size(fake: FakeSlack) -> None:
    people = {f"U0{n}": Person(f"Person {n}", "UTC") for n in range(5)}
    profiles = _profiles(fake, people, size=3, monotonic=lambda: 0.0)
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


async def test_people_in_one_timezone_share_its_name(fake: FakeSlack) -> None:
    """Each answer decodes its own copy of "Europe/Berlin"; the cache keeps one for all."""
    people = {f"U0{n}": Person(f"Person {n}", "Europe/Berlin") for n in range(3)}
    profiles = _profiles(fake, people)
    found = [await profiles.get("T1", user) for user in people]
    assert [profile.timezone for profile in found] == ["Europe/Berlin"] * 3
    assert found[0].timezone is found[1].timezone is found[2].timezone


async def test_a_failed_look_up_is_kept_a_minute_then_asked_again(fake: FakeSlack) -> None:
    """users.info says user_not_found: the person is unknown for a minute (Slack is not
    asked on every click), then Slack is asked again and a profile found then is kept."""
    now = [0.0]
    profiles = _profiles(fake, {}, failed_ttl_seconds=60.0, monotonic=lambda: now[0])
    assert await profiles.get("T1", "U0A") == Profile(None, None, None)
    now[0] = 59.0
    assert await profiles.get("T1", "U0A") == Profile(None, None, None)
    assert len(fake.called("users.info")) == 1
    fake.users["U0A"] = Person("Person A", "UTC")
    now[0] = 61.0
    assert (await profiles.get("T1", "U0A")).name == "Person A"
    now[0] = 3600.0
    assert await profiles.get("T1", "U0A") == Profile("Person A", "UTC", is_admin=False)
    assert len(fake.called("users.info")) == 2


async def test_someone_looked_up_again_stays_while_their_old_entry_goes(
    fake: FakeSlack,
) -> None:
    """An hour on, alice is looked up again: her new entry is the newest, and when her
    old one's turn comes to go (the oldest, expired), the new one stays."""
    people = {user: Person(f"Person {user}", "UTC") for user in ("U0A", "U0B", "U0C")}
    now = [0.0]
    profiles = _profiles(fake, people, ttl_seconds=3600.0, size=2, monotonic=lambda: now[0])
    await profiles.get("T1", "U0A")
    now[0] = 10.0
    await profiles.get("T1", "U0B")
    now[0] = 3615.0  # both expired
    await profiles.get("T1", "U0A")
    assert profiles.cached("T1", "U0A") is not None
    assert profiles.cached("T1", "U0B") is None
    assert len(profiles) == 1
    now[0] = 3700.0
    await profiles.get("T1", "U0C")
    assert [profiles.cached("T1", u) is not None for u in ("U0A", "U0B", "U0C")] == [
        True,
        False,
        True,
    ]
    await profiles.get("T1", "U0A")
    assert len(fake.called("users.info")) == 4  # alice twice, bob, carol: no more
    profiles.clear()
    assert len(profiles) == 0
    assert profiles.cached("T1", "U0C") is None
