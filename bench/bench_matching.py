"""Benchmark: one matching round over a large pool, against a greedy matcher.

Run by hand (``python -m bench.bench_matching --help``); the numbers live in
bench/README.md. Benchmarks are never timed inside the tests.

The pool (fixed seed): ``--mentees`` mentees and ``--mentors`` mentors, capacities 1-5,
``--topics`` topics (each person 1-4 of them, drawn with a skew so some topics are
popular), ``--teams`` teams (one person in ten has none), ``--zones`` time zones, waits
of 0-180 days, and one mentee in twenty with a past partner (a blocked pair).

- **solver**: ``bot.matching.solver.solve`` (exact: scipy's LAPJVsp plus the optimality
  certificate), timed ``--repeat`` times; the median wall time and CPU time are reported
  (CPU time, ``process_time``, is what a shared, loaded machine distorts least).
- **greedy**: what a simple matcher does: mentees in order of waiting (longest first),
  each to its best-scoring allowed mentor who still has room. Same pool, same run, the
  same weights (score, then wait) computed by the same vectorised code.
- **memory**: in one more, untimed pass of the solver: tracemalloc's peak (numpy and
  scipy report their buffers to it) and the process' peak RSS (``getrusage``) after it,
  which includes the interpreter, numpy and scipy themselves.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import time
import tracemalloc
from datetime import date
from typing import Any

from bot.matching.solver import (
    Mentee,
    Mentor,
    Pool,
    Proposal,
    Round,
    _Weights,
    allowed,
    pair_score,
    reasons_for,
    solve,
)

ZONES = (
    "Pacific/Honolulu",
    "America/Los_Angeles",
    "America/Denver",
    "America/Chicago",
    "America/New_York",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Istanbul",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
)


def make_pool(mentees: int, mentors: int, topics: int, teams: int, zones: int, seed: int) -> Pool:
    rng = random.Random(seed)
    names = [f"topic-{t}" for t in range(topics)]
    weights = [1 / (t + 1) ** 0.6 for t in range(topics)]  # some topics are popular
    zone_names = ZONES[:zones] if zones <= len(ZONES) else ZONES

    def some_topics() -> frozenset[str]:
        return frozenset(rng.choices(names, weights, k=rng.randint(1, 4)))

    def team() -> str | None:
        return None if rng.random() < 0.1 else f"team-{rng.randrange(teams)}"

    mentor_list = [
        Mentor(f"M{j}", some_topics(), rng.randint(1, 5), team(), rng.choice(zone_names))
        for j in range(mentors)
    ]
    mentee_list = [
        Mentee(f"E{i}", some_topics(), team(), rng.choice(zone_names), rng.randint(0, 180))
        for i in range(mentees)
    ]
    blocked = {
        (rng.choice(mentor_list).user_id, mentee.user_id)
        for mentee in mentee_list
        if rng.random() < 0.05
    }
    return Pool(mentor_list, mentee_list, frozenset(blocked), date(2026, 12, 1))


def greedy(pool: Pool) -> Round:
    """Longest-waiting mentee first, each to its best allowed mentor with room."""
    import numpy as np

    weights = _Weights(pool)
    room = weights.room.copy()
    mentors, mentees = list(pool.mentors), list(pool.mentees)
    order = sorted(range(len(mentees)), key=lambda i: (-mentees[i].waited_days, i))
    proposals = []
    chunk = 1024
    blocks = {}
    for start in range(0, len(mentees), chunk):
        _, weight = weights.block(start, min(start + chunk, len(mentees)))
        blocks[start] = weight
    for i in order:
        row = blocks[i - i % chunk][i % chunk]
        candidates = np.where(room > 0, row, 0)
        j = int(np.argmax(candidates))
        if candidates[j] <= 0:
            continue
        room[j] -= 1
        mentor, mentee = mentors[j], mentees[i]
        assert allowed(mentor, mentee, pool.blocked)
        proposals.append(
            Proposal(
                mentor.user_id,
                mentee.user_id,
                pair_score(mentor, mentee, pool.on),
                reasons_for(mentor, mentee, pool.on),
            )
        )
    return Round(tuple(proposals), ())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mentees", type=int, default=10_000)
    parser.add_argument("--mentors", type=int, default=2_000)
    parser.add_argument("--topics", type=int, default=300)
    parser.add_argument("--teams", type=int, default=50)
    parser.add_argument("--zones", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", help="also write the numbers to this file")
    args = parser.parse_args()

    pool = make_pool(args.mentees, args.mentors, args.topics, args.teams, args.zones, args.seed)
    slots = sum(m.room for m in pool.mentors)
    print(f"pool: {len(pool.mentees):,} mentees, {len(pool.mentors):,} mentors, {slots:,} slots")
    solver_times, greedy_times, solver_cpu, greedy_cpu = [], [], [], []
    result = greedy_result = None
    for _ in range(args.repeat):  # taking turns, so the machine's noise hits both alike
        started, cpu = time.perf_counter(), time.process_time()
        result = solve(pool)
        solver_times.append(time.perf_counter() - started)
        solver_cpu.append(time.process_time() - cpu)
        started, cpu = time.perf_counter(), time.process_time()
        greedy_result = greedy(pool)
        greedy_times.append(time.perf_counter() - started)
        greedy_cpu.append(time.process_time() - cpu)
    assert result is not None and greedy_result is not None
    tracemalloc.start()
    solve(pool)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    waits = {m.user_id: m.waited_days for m in pool.mentees}
    numbers: dict[str, Any] = {
        "solver_s_median": statistics.median(solver_times),
        "solver_s": solver_times,
        "solver_cpu_s_median": statistics.median(solver_cpu),
        "greedy_s_median": statistics.median(greedy_times),
        "greedy_cpu_s_median": statistics.median(greedy_cpu),
        "solver_matches": len(result.proposals),
        "greedy_matches": len(greedy_result.proposals),
        "solver_total_score": result.total_score(),
        "greedy_total_score": greedy_result.total_score(),
        "solver_days_waited_of_matched": sum(waits[p.mentee] for p in result.proposals),
        "greedy_days_waited_of_matched": sum(waits[p.mentee] for p in greedy_result.proposals),
        "solver_tracemalloc_peak_mib": peak / 2**20,
        "process_max_rss_mib": rss_mib,
    }
    for key, value in numbers.items():
        print(f"{key:34} {value if isinstance(value, list) else round(value, 3)}")
    print(
        f"matches: +{numbers['solver_matches'] - numbers['greedy_matches']} "
        f"({numbers['solver_matches'] / max(numbers['greedy_matches'], 1):.4f}x), total score: "
        f"{numbers['solver_total_score'] / max(numbers['greedy_total_score'], 1):.4f}x"
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(numbers, out, indent=2)


if __name__ == "__main__":
    main()
