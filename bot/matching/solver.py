"""The matching round's solver: the pool in plain values, the best proposals out.

A pure function, no database: the Engine loads the pool and writes the proposals.

Objective, lexicographic: first the largest number of matched mentees, then the best
total fit (each pair's ``score``: 10 per shared topic plus the hours of the 09:00-18:00
working day the two zones share, 0-9, so one shared topic outweighs any hours), then
who waited longest (each matched mentee's whole weeks in the pool, up to 52). The three
are folded into one integer weight per pair, ``A + score * B + weeks`` with ``A`` and
``B`` large enough that no total of a lower part can outweigh one unit of a higher part.

The solver is scipy's ``min_weight_full_bipartite_matching`` (LAPJVsp, a combinatorial
shortest-augmenting-path method: exact on integer weights below 2**53, no tolerances,
deterministic). Why it and not networkx's min-cost flow: networkx is pure Python and
takes minutes at 10,000 x 2,000; scipy is already a dependency (the benchmarks' stats)
and runs the same algorithm in C on sparse edges. Capacities become mentor slots; one
"stays unmatched" column per mentee makes every instance have a full matching.

A pool of 10,000 mentees and 2,000 mentors has up to 20 million allowed pairs, times
the capacities as slots: too many edges to hand over at once. So the solver starts from
each mentee's best ``candidates`` mentors and proves the result optimal for the whole
pool: with the matching as a flow, shortest-path potentials of its residual graph (no
negative cycle exists there, as the matching is optimal for the edges given) are
checked against every left-out pair. A left-out pair that would improve the matching
violates them; those pairs are added and the matching solved again, until none does.
That is column generation with an exact optimality certificate, so the answer is the
optimum of the whole pool, not of the pruned one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

WORKDAY_START, WORKDAY_END = 9, 18  # the working day both people share, local hours
WORKDAY_HOURS = WORKDAY_END - WORKDAY_START
TOPIC_POINTS = 10  # per shared topic: more than any difference in shared hours (0-9)
MAX_WAIT_WEEKS = 52
# Each mentee's best mentors handed to the solver first; the certificate adds the rest
# that matter (see the module docstring).
FIRST_CANDIDATES = 20  # measured: one certificate round at 10,000 x 2,000 (bench/README.md)
_CHUNK = 1024  # mentees priced at once (a 1,024 x mentors int64 matrix)


@dataclass(frozen=True, slots=True)
class Mentor:
    user_id: str
    topics: frozenset[str]
    room: int  # capacity minus active pairs and open proposals
    team: str | None = None
    timezone: str = "UTC"


@dataclass(frozen=True, slots=True)
class Mentee:
    user_id: str
    topics: frozenset[str]
    team: str | None = None
    timezone: str = "UTC"
    waited_days: int = 0


@dataclass(frozen=True, slots=True)
class Pool:
    mentors: Sequence[Mentor]
    mentees: Sequence[Mentee]
    # (mentor user id, mentee user id): two people paired or proposed before, in any state
    # (current partners, ended pairs, proposals declined, withdrawn or expired).
    blocked: frozenset[tuple[str, str]] = frozenset()
    # The day the working hours are compared on (daylight saving time moves them).
    on: date = field(default_factory=lambda: datetime.now(UTC).date())


@dataclass(frozen=True, slots=True)
class Proposal:
    mentor: str
    mentee: str
    score: int
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Unmatched:
    user: str
    reason: str


@dataclass(frozen=True, slots=True)
class Round:
    proposals: tuple[Proposal, ...]
    unmatched: tuple[Unmatched, ...]

    def total_score(self) -> int:
        return sum(p.score for p in self.proposals)


def shared_hours(zone_a: str, zone_b: str, on: date) -> int:
    """Whole hours of the 09:00-18:00 working day the two zones share on ``on``."""
    return _hours_between(_offset_minutes(zone_a, on), _offset_minutes(zone_b, on))


@cache
def _offset_minutes(zone: str, on: date) -> int:
    noon = datetime(on.year, on.month, on.day, 12, tzinfo=UTC)
    offset = noon.astimezone(ZoneInfo(zone)).utcoffset() or timedelta(0)
    return int(offset.total_seconds() // 60)


def _hours_between(offset_a: int, offset_b: int) -> int:
    # The two working days in UTC minutes; a day apart on the calendar can still overlap.
    gap = abs(offset_a - offset_b)
    best = max(0, WORKDAY_HOURS * 60 - min(gap, abs(gap - 1440)))
    return best // 60


def pair_score(mentor: Mentor, mentee: Mentee, on: date) -> int:
    shared = len(mentor.topics & mentee.topics)
    return TOPIC_POINTS * shared + shared_hours(mentor.timezone, mentee.timezone, on)


def allowed(mentor: Mentor, mentee: Mentee, blocked: frozenset[tuple[str, str]]) -> bool:
    """The rules no proposal ever breaks (capacity is the solver's constraint)."""
    if mentor.user_id == mentee.user_id:
        return False
    if mentor.team is not None and mentor.team == mentee.team:
        return False
    return (mentor.user_id, mentee.user_id) not in blocked


def reasons_for(mentor: Mentor, mentee: Mentee, on: date) -> tuple[str, ...]:
    shared = sorted(mentor.topics & mentee.topics)
    hours = shared_hours(mentor.timezone, mentee.timezone, on)
    topic_line = f"shared topics: {', '.join(shared)}" if shared else "no shared topics"
    reasons = [topic_line, f"{hours} of {WORKDAY_HOURS} working hours shared"]
    weeks = _weeks(mentee)
    if weeks:
        reasons.append(f"waiting {weeks} week{'s' if weeks != 1 else ''}")
    return tuple(reasons)


def _weeks(mentee: Mentee) -> int:
    return min(max(mentee.waited_days, 0) // 7, MAX_WAIT_WEEKS)


class _Weights:
    """Every (mentee, mentor) pair's weight, computed a block of mentees at a time."""

    def __init__(self, pool: Pool) -> None:
        import numpy as np
        from scipy.sparse import csr_matrix

        self.pool = pool
        mentors, mentees = pool.mentors, pool.mentees
        people: list[Mentor | Mentee] = [*mentors, *mentees]
        topics: dict[str, int] = {}
        for person in people:
            for topic in sorted(person.topics):
                topics.setdefault(topic, len(topics))

        def incidence(people: Sequence[Mentor | Mentee]) -> Any:
            rows = [i for i, p in enumerate(people) for _ in p.topics]
            cols = [topics[t] for p in people for t in p.topics]
            ones = np.ones(len(rows), dtype=np.int32)
            return csr_matrix((ones, (rows, cols)), shape=(len(people), max(len(topics), 1)))

        self.mentee_topics = incidence(mentees)
        self.mentor_topics_t = incidence(mentors).T.tocsc()
        zones: dict[str, int] = {}
        for person in people:
            zones.setdefault(person.timezone, len(zones))
        offsets = [_offset_minutes(z, pool.on) for z in zones]
        self.hours = np.array(
            [[_hours_between(a, b) for b in offsets] for a in offsets], dtype=np.int64
        )
        self.mentor_zone = np.array([zones[m.timezone] for m in mentors], dtype=np.int64)
        self.mentee_zone = np.array([zones[m.timezone] for m in mentees], dtype=np.int64)
        teams: dict[str, int] = {}
        self.mentor_team = np.array(
            [teams.setdefault(m.team, len(teams)) if m.team else -1 for m in mentors],
            dtype=np.int64,
        )
        self.mentee_team = np.array(
            [teams.setdefault(m.team, len(teams)) if m.team else -2 for m in mentees],
            dtype=np.int64,
        )
        self.weeks = np.array([_weeks(m) for m in mentees], dtype=np.int64)
        mentor_index = {m.user_id: j for j, m in enumerate(mentors)}
        mentee_index: dict[str, list[int]] = {}
        for i, m in enumerate(mentees):
            mentee_index.setdefault(m.user_id, []).append(i)
        # Self-pairs (a person in the pool as both) are blocked like past partners.
        self.blocked: dict[int, list[int]] = {}
        pairs = set(pool.blocked) | {(m.user_id, m.user_id) for m in mentors}
        for mentor_id, mentee_id in pairs:
            j = mentor_index.get(mentor_id)
            if j is None:
                continue
            for i in mentee_index.get(mentee_id, ()):
                self.blocked.setdefault(i, []).append(j)
        self.room = np.array([max(m.room, 0) for m in mentors], dtype=np.int64)
        matches_bound = max(min(len(mentees), int(self.room.sum())), 1)
        max_score = TOPIC_POINTS * max((len(m.topics) for m in mentees), default=0)
        max_score += WORKDAY_HOURS
        self.b = MAX_WAIT_WEEKS * matches_bound + 1
        self.a = (max_score * matches_bound + 1) * self.b
        if (self.a + max_score * self.b + MAX_WAIT_WEEKS) * matches_bound >= 2**52:
            raise ValueError("pool too large for exact integer weights")
        if max_score > 32_767:
            raise ValueError("too many topics per person for two-byte scores")
        self._blocks: dict[int, tuple[NDArray[np.int16], NDArray[np.bool_]]] = {}

    def block(self, start: int, stop: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """(score, weight) of mentees ``start:stop`` against every mentor; weight 0 for a
        pair that is not allowed or a mentor without room. Scores and the allowed mask are
        kept after the first call (three bytes per pair); the weights are made again."""
        import numpy as np

        cached = self._blocks.get(start)
        if cached is None:
            overlap = (self.mentee_topics[start:stop] @ self.mentor_topics_t).toarray()
            score16 = (TOPIC_POINTS * overlap).astype(np.int16)
            score16 += self.hours[
                self.mentee_zone[start:stop, None], self.mentor_zone[None, :]
            ].astype(np.int16)
            forbidden = self.mentee_team[start:stop, None] == self.mentor_team[None, :]
            forbidden |= (self.room == 0)[None, :]
            for i in range(start, stop):
                for j in self.blocked.get(i, ()):
                    forbidden[i - start, j] = True
            cached = self._blocks[start] = (score16, forbidden)
        score16, forbidden = cached
        score = score16.astype(np.int64)
        weight = score * self.b
        weight += self.a
        weight += self.weeks[start:stop, None]
        weight[forbidden] = 0
        return score, weight


def solve(pool: Pool, *, candidates: int = FIRST_CANDIDATES) -> Round:
    """The optimal round for ``pool``; the same pool always gives the same round."""
    import numpy as np

    mentors, mentees = list(pool.mentors), list(pool.mentees)
    n, m = len(mentees), len(mentors)
    if n == 0 or m == 0 or sum(max(x.room, 0) for x in mentors) == 0:
        return Round((), _unmatched(pool, set()))
    weights = _Weights(pool)
    # Edges handed to the solver, as (mentee, mentor, weight), chosen by weight.
    rows: list[NDArray[np.int64]] = []
    cols: list[NDArray[np.int64]] = []
    vals: list[NDArray[np.int64]] = []
    for start in range(0, n, _CHUNK):
        stop = min(start + _CHUNK, n)
        _, weight = weights.block(start, stop)
        k = min(candidates, m)
        top = (
            np.argpartition(-weight, k - 1, axis=1)[:, :k]
            if k < m
            else np.tile(np.arange(m), (stop - start, 1))
        )
        picked = np.take_along_axis(weight, top, axis=1)
        keep = picked > 0
        rows.append(np.nonzero(keep)[0].astype(np.int64) + start)
        cols.append(top[keep].astype(np.int64))
        vals.append(picked[keep].astype(np.int64))
    edge_i = np.concatenate(rows)
    edge_j = np.concatenate(cols)
    edge_w = np.concatenate(vals)
    while True:
        match_j = _match(weights.room, n, edge_i, edge_j, edge_w)
        more_i, more_j, more_w = _violations(
            weights, candidates, n, match_j, edge_i, edge_j, edge_w
        )
        if len(more_i) == 0:
            break
        log.debug("certificate round: %d left-out pairs added", len(more_i))
        edge_i = np.concatenate([edge_i, more_i])
        edge_j = np.concatenate([edge_j, more_j])
        edge_w = np.concatenate([edge_w, more_w])
    proposals = []
    for i in np.nonzero(match_j >= 0)[0]:
        mentor, mentee = mentors[int(match_j[i])], mentees[int(i)]
        proposals.append(
            Proposal(
                mentor.user_id,
                mentee.user_id,
                pair_score(mentor, mentee, pool.on),
                reasons_for(mentor, mentee, pool.on),
            )
        )
    matched = {int(i) for i in np.nonzero(match_j >= 0)[0]}
    return Round(tuple(proposals), _unmatched(pool, matched))


def _match(
    room: NDArray[np.int64],
    n: int,
    edge_i: NDArray[np.int64],
    edge_j: NDArray[np.int64],
    edge_w: NDArray[np.int64],
) -> NDArray[np.int64]:
    """The maximum-weight b-matching on these edges: each mentee's mentor, or -1."""
    import numpy as np
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import min_weight_full_bipartite_matching

    if len(edge_w) == 0:
        return np.full(n, -1, dtype=np.int64)
    # Slot s of mentor j is column first_slot[j] + s; column n_slots + i is "mentee i
    # stays unmatched". Costs are shifted to be positive (explicit zeros are no edge).
    first_slot = np.concatenate([[0], np.cumsum(room)])
    n_slots = int(first_slot[-1])
    shift = int(edge_w.max()) + 1
    per_edge = room[edge_j]
    slot_rows = np.repeat(edge_i, per_edge)
    slot_start = np.repeat(first_slot[edge_j] - np.cumsum(per_edge) + per_edge, per_edge)
    slot_cols = slot_start + np.arange(int(per_edge.sum()))
    slot_cost = np.repeat(shift - edge_w, per_edge)
    all_rows = np.concatenate([slot_rows, np.arange(n)])
    all_cols = np.concatenate([slot_cols, n_slots + np.arange(n)])
    all_cost = np.concatenate([slot_cost, np.full(n, shift)]).astype(np.float64)
    graph = csr_matrix((all_cost, (all_rows, all_cols)), shape=(n, n_slots + n))
    matched_rows, matched_cols = min_weight_full_bipartite_matching(graph)
    col_of_row = np.full(n, n_slots, dtype=np.int64)
    col_of_row[matched_rows] = matched_cols
    slot_owner = np.repeat(np.arange(len(room)), room)
    return np.where(col_of_row < n_slots, slot_owner[np.minimum(col_of_row, n_slots - 1)], -1)


def _violations(
    weights: _Weights,
    per_mentee: int,
    n: int,
    match_j: NDArray[np.int64],
    edge_i: NDArray[np.int64],
    edge_j: NDArray[np.int64],
    edge_w: NDArray[np.int64],
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Left-out pairs that could improve the matching; none means it is optimal.

    The matching as a circulation: source -> mentee (1) -> mentor (weight) -> sink
    (room) -> source. Potentials ``d`` are shortest distances in its residual graph
    (costs are minus the weights); a left-out pair (i, j) is priced by the reduced cost
    ``-w + d[i] - d[j]``, negative when it could improve. All non-negative: ``d`` is a
    feasible potential for the residual graph of every pair, so it has no negative
    cycle and the matching is optimal."""
    import numpy as np

    m = len(weights.room)
    mentor_node = n + np.arange(m)
    source, sink = n + m, n + m + 1
    matched = match_j >= 0
    on_edge = matched[edge_i] & (match_j[edge_i] == edge_j)
    load = np.bincount(match_j[matched], minlength=m)
    arcs_from = [
        np.where(on_edge, mentor_node[edge_j], edge_i),  # matched pairs run backwards
        np.full(int((~matched).sum()), source),
        np.nonzero(matched)[0],
        mentor_node[load < weights.room],
        np.full(int((load > 0).sum()), sink),
        np.array([sink]),
        np.array([source] if matched.any() else [], dtype=np.int64),
    ]
    arcs_to = [
        np.where(on_edge, edge_i, mentor_node[edge_j]),
        np.nonzero(~matched)[0],
        np.full(int(matched.sum()), source),
        np.full(int((load < weights.room).sum()), sink),
        mentor_node[load > 0],
        np.array([source]),
        np.array([sink] if matched.any() else [], dtype=np.int64),
    ]
    costs = [
        np.where(on_edge, edge_w, -edge_w),
        *(np.zeros(len(a), dtype=np.int64) for a in arcs_from[1:]),
    ]
    tail = np.concatenate(arcs_from).astype(np.int64)
    head = np.concatenate(arcs_to).astype(np.int64)
    cost = np.concatenate(costs).astype(np.int64)
    order = np.argsort(head, kind="stable")
    tail, head, cost = tail[order], head[order], cost[order]
    starts = np.nonzero(np.r_[True, head[1:] != head[:-1]])[0]
    heads = head[starts]
    d = np.zeros(n + m + 2, dtype=np.int64)
    for _ in range(n + m + 3):
        best = np.minimum.reduceat(d[tail] + cost, starts)
        improved = best < d[heads]
        if not improved.any():
            break
        d[heads[improved]] = best[improved]
    else:  # pragma: no cover - a negative cycle: the matching was not optimal
        raise AssertionError("matching not optimal on its own edges")
    more_i: list[NDArray[np.int64]] = []
    more_j: list[NDArray[np.int64]] = []
    more_w: list[NDArray[np.int64]] = []
    given = np.zeros((n, m), dtype=bool)
    given[edge_i, edge_j] = True
    for start in range(0, n, _CHUNK):
        stop = min(start + _CHUNK, n)
        _, weight = weights.block(start, stop)
        reduced = -weight + d[start:stop, None] - d[None, n : n + m]
        bad_i, bad_j = np.nonzero((reduced < 0) & (weight > 0) & ~given[start:stop])
        if len(bad_i) == 0:
            continue
        # Each mentee's most improving pairs only: enough to make progress, and a round
        # stays small when the first candidates were far off.
        order = np.lexsort((reduced[bad_i, bad_j], bad_i))
        bad_i, bad_j = bad_i[order], bad_j[order]
        first = np.r_[0, np.nonzero(np.diff(bad_i))[0] + 1]
        rank = np.arange(len(bad_i)) - np.repeat(first, np.diff(np.r_[first, len(bad_i)]))
        bad_i, bad_j = bad_i[rank < per_mentee], bad_j[rank < per_mentee]
        more_i.append(bad_i.astype(np.int64) + start)
        more_j.append(bad_j.astype(np.int64))
        more_w.append(weight[bad_i, bad_j].astype(np.int64))
    if not more_i:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    return np.concatenate(more_i), np.concatenate(more_j), np.concatenate(more_w)


NO_MENTOR_IN_POOL = (
    "no mentor is in the pool yet (mentors join with `/mentor join mentor <topics>`)"
)
# A person of both roles, the pool's only mentor: nobody mentors themselves.
NO_OTHER_MENTOR_IN_POOL = (
    "no other mentor is in the pool yet (mentors join with `/mentor join mentor <topics>`)"
)


def _unmatched(pool: Pool, matched: set[int]) -> tuple[Unmatched, ...]:
    """Each mentee left out, with the plainest true reason (counted, not searched)."""
    with_room = [m for m in pool.mentors if m.room > 0]
    ids = {m.user_id for m in with_room}
    per_team: dict[str | None, int] = {}
    for mentor in with_room:
        per_team[mentor.team] = per_team.get(mentor.team, 0) + 1
    team_of = {m.user_id: m.team for m in with_room}
    mentee_team = {m.user_id: m.team for m in pool.mentees}
    # Blocked mentors who would otherwise be allowed (room, another team, not themselves).
    blocked_for: dict[str, int] = {}
    for mentor_id, mentee_id in pool.blocked:
        if mentor_id not in ids or mentor_id == mentee_id or mentee_id not in mentee_team:
            continue
        team = team_of[mentor_id]
        if team is None or team != mentee_team[mentee_id]:
            blocked_for[mentee_id] = blocked_for.get(mentee_id, 0) + 1
    left = []
    for i, mentee in enumerate(pool.mentees):
        if i in matched:
            continue
        is_mentor = mentee.user_id in ids
        others = len(with_room) - is_mentor
        own_team = per_team.get(mentee.team, 0) if mentee.team is not None else 0
        if is_mentor and mentee.team is not None and team_of[mentee.user_id] == mentee.team:
            own_team -= 1
        other_team = others - own_team
        if others <= 0:
            if not any(m.user_id != mentee.user_id for m in pool.mentors):
                mentors_too = any(m.user_id == mentee.user_id for m in pool.mentors)
                reason = NO_OTHER_MENTOR_IN_POOL if mentors_too else NO_MENTOR_IN_POOL
            elif is_mentor:  # they have room themselves, and nobody else has
                reason = "no other mentor has room"
            else:
                reason = "no mentor has room"
        elif other_team <= 0:
            reason = "only mentors in their own team have room"
        elif other_team - blocked_for.get(mentee.user_id, 0) <= 0:
            reason = "the mentors with room were paired or proposed with them before"
        else:
            reason = "the mentors who could take them were better matches for others"
        left.append(Unmatched(mentee.user_id, reason))
    return tuple(left)
