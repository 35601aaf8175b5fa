"""The solver against brute force on small random pools, and its rules."""

from __future__ import annotations

from collections import Counter
from datetime import date
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.matching.solver import (
    NO_MENTOR_IN_POOL,
    NO_OTHER_MENTOR_IN_POOL,
    Mentee,
    Mentor,
    Pool,
    Round,
    _weeks,
    allowed,
    pair_score,
    shared_hours,
    solve,
)

ZONES = (
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Pacific/Auckland",
)
TOPICS = ("python", "go", "sql", "design", "career")
TEAMS = (None, "red", "blue")
ON = date(2026, 12, 1)


@st.composite
def pools(draw: st.DrawFn) -> Pool:
    n_mentors = draw(st.integers(0, 8))
    n_mentees = draw(st.integers(0, 12))
    topics = st.frozensets(st.sampled_from(TOPICS), max_size=3)
    mentors = [
        Mentor(
            f"m{j}",
            draw(topics),
            draw(st.integers(0, 3)),
            draw(st.sampled_from(TEAMS)),
            draw(st.sampled_from(ZONES)),
        )
        for j in range(n_mentors)
    ]
    # Some people are in the pool as both: a mentee may share a mentor's id.
    mentees = [
        Mentee(
            draw(st.sampled_from([f"e{i}", *(m.user_id for m in mentors)])),
            draw(topics),
            draw(st.sampled_from(TEAMS)),
            draw(st.sampled_from(ZONES)),
            draw(st.integers(0, 120)),
        )
        for i in range(n_mentees)
    ]
    mentees = list({m.user_id: m for m in mentees}.values())
    pairs = [(m.user_id, e.user_id) for m in mentors for e in mentees]
    blocked = draw(st.sets(st.sampled_from(pairs), max_size=6)) if pairs else set()
    return Pool(mentors, mentees, frozenset(blocked), ON)


def brute_force(pool: Pool) -> tuple[int, int, int]:
    """The lexicographic optimum (matched mentees, total score, total weeks waited)."""
    mentors, mentees = list(pool.mentors), list(pool.mentees)

    @cache
    def best(i: int, rooms: tuple[int, ...]) -> tuple[int, int, int]:
        if i == len(mentees):
            return (0, 0, 0)
        options = [best(i + 1, rooms)]
        mentee = mentees[i]
        for j, mentor in enumerate(mentors):
            if rooms[j] > 0 and allowed(mentor, mentee, pool.blocked):
                left = (*rooms[:j], rooms[j] - 1, *rooms[j + 1 :])
                count, score, weeks = best(i + 1, left)
                options.append(
                    (count + 1, score + pair_score(mentor, mentee, pool.on), weeks + _weeks(mentee))
                )
        return max(options)

    return best(0, tuple(max(m.room, 0) for m in mentors))


def check_rules(pool: Pool, result: Round) -> None:
    mentors = {m.user_id: m for m in pool.mentors}
    mentees = {m.user_id: m for m in pool.mentees}
    load = Counter(p.mentor for p in result.proposals)
    for mentor_id, count in load.items():
        assert count <= mentors[mentor_id].room
    matched = [p.mentee for p in result.proposals]
    assert len(matched) == len(set(matched))
    for p in result.proposals:
        assert allowed(mentors[p.mentor], mentees[p.mentee], pool.blocked)
        assert p.score == pair_score(mentors[p.mentor], mentees[p.mentee], pool.on)
    assert {u.user for u in result.unmatched} == set(mentees) - set(matched)


def totals(pool: Pool, result: Round) -> tuple[int, int, int]:
    weeks = {m.user_id: _weeks(m) for m in pool.mentees}
    return (
        len(result.proposals),
        result.total_score(),
        sum(weeks[p.mentee] for p in result.proposals),
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pools())
def test_the_round_is_the_brute_force_optimum_and_breaks_no_rule(pool: Pool) -> None:
    result = solve(pool)
    check_rules(pool, result)
    assert totals(pool, result) == brute_force(pool)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pools(), st.integers(1, 3))
def test_starting_from_few_candidates_still_reaches_the_optimum(pool: Pool, first: int) -> None:
    """The optimality certificate adds every left-out pair that matters."""
    result = solve(pool, candidates=first)
    check_rules(pool, result)
    assert totals(pool, result) == brute_force(pool)


@settings(max_examples=50, deadline=None)
@given(pools())
def test_the_same_pool_gives_the_same_round(pool: Pool) -> None:
    assert solve(pool) == solve(pool)


def test_shared_working_hours() -> None:
    assert shared_hours("Europe/Berlin", "Europe/Paris", ON) == 9
    assert shared_hours("UTC", "America/New_York", ON) == 4  # 14:00-18:00 UTC
    assert shared_hours("Asia/Tokyo", "America/New_York", ON) == 0
    # A calendar day apart still overlaps: Auckland (UTC+13 in December) is one hour
    # ahead of Honolulu (UTC-10) on the clock, a day later on the calendar.
    assert shared_hours("Pacific/Auckland", "Pacific/Honolulu", ON) == 8
    # Daylight saving time moves it: New York is UTC-4 in July.
    assert shared_hours("UTC", "America/New_York", date(2026, 7, 1)) == 5


def test_unmatched_mentees_are_told_why() -> None:
    pool = Pool(
        [Mentor("m1", frozenset({"go"}), 1, "red"), Mentor("m2", frozenset(), 1, None)],
        [
            Mentee("a", frozenset({"go"}), "blue"),
            Mentee("b", frozenset(), "red"),
            Mentee("c", frozenset({"go"}), None),
        ],
        frozenset({("m2", "b")}),
        ON,
    )
    result = solve(pool)
    assert len(result.proposals) == 2
    reasons = {u.user: u.reason for u in result.unmatched}
    assert reasons == {"b": "the mentors with room were paired or proposed with them before"}
    empty = solve(Pool([Mentor("m1", frozenset(), 0)], [Mentee("a", frozenset())], on=ON))
    assert empty.unmatched[0].reason == "no mentor has room"
    own = solve(
        Pool([Mentor("m1", frozenset(), 2, "red")], [Mentee("a", frozenset(), "red")], on=ON)
    )
    assert own.unmatched[0].reason == "only mentors in their own team have room"
    nobody = solve(Pool([], [Mentee("a", frozenset())], on=ON))
    assert nobody.unmatched[0].reason == NO_MENTOR_IN_POOL
    # A mentor of both roles with room is not "no mentor has room" to the admin.
    themselves = solve(
        Pool(
            [Mentor("a", frozenset(), 1), Mentor("m1", frozenset(), 0)],
            [Mentee("a", frozenset())],
            on=ON,
        )
    )
    assert themselves.unmatched[0].reason == "no other mentor has room"
    # The pool's only mentor, of both roles: not "no mentor is in the pool".
    alone = solve(Pool([Mentor("a", frozenset(), 1)], [Mentee("a", frozenset())], on=ON))
    assert alone.unmatched[0].reason == NO_OTHER_MENTOR_IN_POOL


@settings(max_examples=200, deadline=None)
@given(pools())
def test_the_reason_for_an_unmatched_mentee_is_true(pool: Pool) -> None:
    result = solve(pool)
    for left in result.unmatched:
        mentee = next(m for m in pool.mentees if m.user_id == left.user)
        room = [m for m in pool.mentors if m.room > 0 and m.user_id != mentee.user_id]
        other_team = [m for m in room if m.team is None or m.team != mentee.team]
        fine = [m for m in other_team if allowed(m, mentee, pool.blocked)]
        others = [m for m in pool.mentors if m.user_id != mentee.user_id]
        own_room = any(m.user_id == mentee.user_id and m.room > 0 for m in pool.mentors)
        mentors_too = any(m.user_id == mentee.user_id for m in pool.mentors)
        expected = (
            (NO_OTHER_MENTOR_IN_POOL if mentors_too else NO_MENTOR_IN_POOL)
            if not others
            else "no other mentor has room"
            if not room and own_room
            else "no mentor has room"
            if not room
            else "only mentors in their own team have room"
            if not other_team
            else "the mentors with room were paired or proposed with them before"
            if not fine
            else "the mentors who could take them were better matches for others"
        )
        assert left.reason == expected
