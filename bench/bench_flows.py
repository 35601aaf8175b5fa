"""Benchmark: check-in answers and button clicks through the Engine on a SQLite file or
(``--postgres-url``) on PostgreSQL: the two interactions besides ``/win`` that goal 2 of
issue 16 names.

Run by hand (``python -m bench.bench_flows --help``); the numbers live in bench/README.md.
Benchmarks are never timed inside the tests.

The seed is built once through the engine itself: ``--pairs`` pairs formed as in
``bench_win`` (a proposal, then the mentee's Accept), then the clock moved to their first
check-in and the dispatch pass run, so every member has a check-in prompt waiting. Every
repeat then works on fresh copies of that seed (a file copy on SQLite,
``CREATE DATABASE ... TEMPLATE`` on PostgreSQL):

1. every member answers their check-in, the members taking turns at random (fixed seed),
   each event through ``Engine.handle`` timed on its own. Three in four answer question
   by question: a mood button ([Great] [OK] [Rough]), then typed replies to the next
   three questions (one in four of them presses [Skip] on the third instead); the
   others press [Answer in a form] and submit the form. The last answer of a pair's
   second member shares both members' answers;
2. the baseline, on a second copy of the seed: as many bare one-row ``INSERT`` +
   ``COMMIT`` transactions into ``wins`` through the same ``Database`` (``bench_win``'s
   baseline). Steps 1 and 2 take turns in chunks of ``INTERLEAVE``, so machine noise hits
   both alike.

Each answer is checked, so the error path is never what gets timed. The SQL statements
per event are counted, by kind of event, in one extra pass that is not timed.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.bench_win import (
    BenchError,
    Recorder,
    Store,
    baseline_database,
    counting_statements,
    display,
    environment,
    max_rss_mib,
    member_keys,
    percentiles,
    profile_passes,
    ref,
    run_baseline,
    seed,
)
from bench.workdir import run_in_workdir
from bot.clock import ManualClock
from bot.delivery import deliver_all
from bot.effects import Effect, OpenForm, ReplyEphemeral, UpdateMessage
from bot.engine import Engine
from bot.events import ButtonClicked, Event, FormSubmitted, MessageReceived
from bot.refs import Platform
from bot.storage.database import Database

# Pairs formed on Wednesday 2026-11-25 (bench_win's seed) check in on the default
# cadence: Mondays at 10:00 UTC.
FIRST_CHECKIN = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
BETWEEN_EVENTS = timedelta(seconds=10)
# Events (and baseline inserts) per turn when the two take turns.
INTERLEAVE = 100
MOODS = ("great", "ok", "rough")
PROGRESS = (
    "shipped the login page",
    "finally understood the deploy pipeline",
    "gave my first code review",
    "paired with design on onboarding",
)
HARD = ("estimating work", "saying no to meetings", "the legacy billing code", "naming things")
NEXT = ("career paths", "the roadmap", "public speaking", "how to run a retro")

# The kinds of event, as reported: (label, what the issue calls it).
KINDS = {
    "click_mood": "click: mood button on the prompt",
    "click_skip": "click: [Skip] a question",
    "click_form": "click: [Answer in a form]",
    "reply": "answer: typed reply, next question follows",
    "reply_last": "answer: typed reply, the last one",
    "form": "answer: form submitted",
}
CLICKS = ("click_mood", "click_skip", "click_form")
ANSWERS = ("reply", "reply_last", "form")


@dataclass(frozen=True)
class Step:
    """One event of the plan, and what its answer must look like."""

    kind: str
    user: str
    event: Event
    # The member's check-in is done with this event and their partner's is too: both
    # members' answers are shared (more work than a member finishing first).
    shares: bool = False


@dataclass(frozen=True)
class Plan:
    steps: list[Step]
    # user -> their check-in flow's id, from the prompt's buttons.
    flows: dict[str, int]


@dataclass
class Repeat:
    """One repeat's numbers. Latencies in milliseconds."""

    events_per_s: float
    baseline_per_s: float
    baseline_p50_ms: float
    # kind (or "clicks", "answers", "all") -> (p50, p90, p99)
    latency: dict[str, tuple[float, float, float]] = field(default_factory=dict)


async def open_checkins(url: str, pairs: int) -> dict[str, int]:
    """The first check-in of every pair, opened by the dispatch pass at its time; the
    prompts delivered. Returns each member's check-in flow id."""
    database = Database(url)
    clock = ManualClock(FIRST_CHECKIN)
    report = await Engine(database, clock).run_due(FIRST_CHECKIN)
    recorder = Recorder()
    await deliver_all(database, {Platform.CONSOLE: recorder}, clock)
    await database.dispose()
    flows: dict[str, int] = {}
    for user, content in recorder.dms:
        if not content.text.startswith("👋 Time for your check-in"):
            continue
        for button in content.buttons:
            if button.label == "Answer in a form":
                flows[user] = int(button.action_id.split(":")[1])
    if len(flows) != 2 * pairs:
        raise BenchError(f"{len(flows)} check-in prompts for {pairs} pairs ({report})")
    return flows


def partner_of(user: str) -> str:
    role, number = user[:-3], user[-3:]
    return ("mentee" if role == "mentor" else "mentor") + number


def _answers_of(user: str, flow: int, rng: random.Random) -> list[tuple[str, Event]]:
    """One member's events, in order, each with its kind."""
    who, name = ref(user), display(user)

    def click(kind: str, choice: str, message_id: str) -> tuple[str, Event]:
        action = f"flow:{flow}:{choice}"
        return kind, ButtonClicked(
            user=who, user_name=name, action_id=action, message_id=message_id
        )

    def reply(kind: str, text: str) -> tuple[str, Event]:
        return kind, MessageReceived(user=who, user_name=name, text=text)

    if rng.random() < 0.25:
        values = {
            "mood": rng.choice(MOODS),
            "progress": rng.choice(PROGRESS),
            "challenge": rng.choice(HARD),
            "next_topic": rng.choice(NEXT),
        }
        form = FormSubmitted(
            user=who, user_name=name, form_id=f"flow:{flow}:answers", values=values
        )
        return [click("click_form", "form", f"prompt-{flow}"), ("form", form)]
    events = [click("click_mood", f"mood:{rng.choice(MOODS)}", f"prompt-{flow}")]
    events.append(reply("reply", rng.choice(PROGRESS)))
    if rng.random() < 0.25:
        events.append(click("click_skip", "skip:hard", f"question-{flow}"))
    else:
        events.append(reply("reply", rng.choice(HARD)))
    events.append(reply("reply_last", rng.choice(NEXT)))
    return events


def plan(flows: dict[str, int], seed_value: int) -> Plan:
    """Each member's answers in order, the members taking turns at random."""
    rng = random.Random(seed_value)
    sequences = {user: _answers_of(user, flow, rng) for user, flow in flows.items()}
    # Interleaved: each member's events keep their order, the members' turns shuffled.
    turns = [user for user, events in sequences.items() for _ in events]
    rng.shuffle(turns)
    position: Counter[str] = Counter()
    done: set[str] = set()
    steps: list[Step] = []
    for user in turns:
        kind, one = sequences[user][position[user]]
        position[user] += 1
        last = position[user] == len(sequences[user])
        if last:
            done.add(user)
        steps.append(Step(kind, user, one, shares=last and partner_of(user) in done))
    return Plan(steps, flows)


def answer_text(effects: list[Effect]) -> str:
    return "\n".join(
        e.content.text for e in effects if isinstance(e, ReplyEphemeral | UpdateMessage)
    )


def check(step: Step, effects: list[Effect]) -> None:
    """The answer the engine gives when the event did what it should."""
    text = answer_text(effects)
    match step.kind:
        case "click_mood":
            ok = text.startswith("How did it go since last time?")
        case "click_skip":
            ok = text.endswith("(skipped)")
        case "click_form":
            ok = len(effects) == 1 and isinstance(effects[0], OpenForm)
        case "reply":
            ok = not effects  # the next question goes out as a DM
        case _ if step.shares:
            ok = not effects  # the thanks heads the DM with the partner's answers
        case _:
            ok = text.startswith("Thanks! I'll share your answers")
    if not ok:
        raise BenchError(f"{step.kind} by {step.user} got {effects!r}")


async def run_events(engine: Engine, clock: ManualClock, steps: Sequence[Step]) -> list[int]:
    """Each ``handle`` call's duration in nanoseconds."""
    latencies = []
    for step in steps:
        clock.advance(BETWEEN_EVENTS)
        started = time.perf_counter_ns()
        effects = await engine.handle(step.event)
        latencies.append(time.perf_counter_ns() - started)
        check(step, effects)
    return latencies


def groups(the_plan: Plan) -> dict[str, list[int]]:
    """Positions in the plan of each kind, and of clicks, answers and all together."""
    found: dict[str, list[int]] = defaultdict(list)
    for index, step in enumerate(the_plan.steps):
        found[step.kind].append(index)
        found["clicks" if step.kind in CLICKS else "answers"].append(index)
        found["all"].append(index)
        if step.kind in ("reply_last", "form"):
            found["finishing, shares" if step.shares else "finishing, waits"].append(index)
    return found


async def one_repeat(store: Store, index: int, the_plan: Plan) -> Repeat:
    database = Database(await store.copy(f"engine-{index}"))
    clock = ManualClock(FIRST_CHECKIN)
    engine = Engine(database, clock)
    floor = await baseline_database(store, f"baseline-{index}")
    floor_clock = ManualClock(FIRST_CHECKIN)
    members = await member_keys(floor)
    wins = [(step.user, f"baseline #{n}") for n, step in enumerate(the_plan.steps)]

    latencies: list[int] = []
    baseline: list[int] = []
    engine_ns = baseline_ns = 0
    steps = the_plan.steps
    for begin in range(0, len(steps), INTERLEAVE):
        began = time.perf_counter_ns()
        latencies += await run_events(engine, clock, steps[begin : begin + INTERLEAVE])
        engine_ns += time.perf_counter_ns() - began
        began = time.perf_counter_ns()
        baseline += await run_baseline(
            floor, floor_clock, members, wins[begin : begin + INTERLEAVE]
        )
        baseline_ns += time.perf_counter_ns() - began
    await floor.dispose()
    # Everything the answers queued (next questions, shared answers) can be delivered.
    report = await deliver_all(database, {Platform.CONSOLE: Recorder()}, clock)
    await database.dispose()
    if report.sent == 0 or report.retried or report.failed:
        raise BenchError(f"delivery did not send everything: {report}")

    result = Repeat(
        events_per_s=len(latencies) / (engine_ns / 1e9),
        baseline_per_s=len(baseline) / (baseline_ns / 1e9),
        baseline_p50_ms=statistics.median(baseline) / 1e6,
    )
    result.latency["baseline"] = percentiles(baseline)
    for name, positions in groups(the_plan).items():
        if len(positions) >= 2:
            result.latency[name] = percentiles([latencies[i] for i in positions])
    return result


async def count_statements(store: Store, the_plan: Plan) -> dict[str, Counter[str]]:
    """Per kind of event: statements (by verb and table) summed over its events, and
    ``events``, how many there were. One untimed pass."""
    database = Database(await store.copy("statements"))
    clock = ManualClock(FIRST_CHECKIN)
    engine = Engine(database, clock)
    per_kind: dict[str, Counter[str]] = defaultdict(Counter)
    try:
        with counting_statements(database) as current:
            for step in the_plan.steps:
                current.clear()
                await run_events(engine, clock, [step])
                names = [step.kind]
                if step.kind in ("reply_last", "form"):
                    names.append("finishing, shares" if step.shares else "finishing, waits")
                for name in names:
                    per_kind[name].update(current)
                    per_kind[name]["events"] += 1
    finally:
        await database.dispose()
    return per_kind


def besides_begin_commit(counts: Counter[str]) -> float:
    work = sum(n for kind, n in counts.items() if kind not in ("BEGIN", "COMMIT", "events"))
    return work / counts["events"]


async def profile(store: Store, the_plan: Plan) -> None:
    """Where the time goes: time inside each kind of SQL statement, then cProfile."""
    await profile_passes(
        store,
        FIRST_CHECKIN,
        lambda engine, clock: run_events(engine, clock, the_plan.steps),
        events=len(the_plan.steps),
        each="an event",
        own_rows=25,
    )


ROWS = [
    "clicks",
    *CLICKS,
    "answers",
    *ANSWERS,
    "finishing, waits",
    "finishing, shares",
    "all",
]
ROW_LABELS = {
    "clicks": "all button clicks",
    "answers": "all check-in answers",
    "finishing, waits": "  last answer, partner still to answer",
    "finishing, shares": "  last answer, shares both",
    "all": "every event",
    **KINDS,
}


def table(repeats: list[Repeat], counts: dict[str, Counter[str]], total: Counter[str]) -> str:
    """Medians over the repeats: p50, p90, p99, p50 / baseline p50, statements."""
    head = f"| {'event':<44} | {'n':>5} | {'p50 ms':>7} | {'p90 ms':>7} | {'p99 ms':>7} |"
    head += f" {'p50/base':>8} | {'stmts':>5} |"
    rows = [head, f"|{'-' * 46}|{'-' * 6}:|{'-' * 8}:|{'-' * 8}:|{'-' * 8}:|{'-' * 9}:|------:|"]
    base = statistics.median(r.baseline_p50_ms for r in repeats)
    for name in [*ROWS, "baseline"]:
        if name not in repeats[0].latency:
            continue
        p50, p90, p99 = (statistics.median(r.latency[name][i] for r in repeats) for i in range(3))
        ratio = statistics.median(r.latency[name][0] / r.baseline_p50_ms for r in repeats)
        if name == "baseline":
            statements, n = "1", total["all"]
        else:
            statements = f"{besides_begin_commit(counts[name]):.2f}" if name in counts else ""
            n = total[name]
        label = "baseline INSERT+COMMIT" if name == "baseline" else ROW_LABELS[name]
        rows.append(
            f"| {label:<44} | {n:>5} | {p50:>7.2f} | {p90:>7.2f} | {p99:>7.2f} |"
            f" {ratio:>8.2f} | {statements:>5} |"
        )
    rows.append(f"\nbaseline p50 {base:.2f} ms (median of the repeats)")
    return "\n".join(rows)


def merged(counts: dict[str, Counter[str]], names: Sequence[str]) -> Counter[str]:
    found: Counter[str] = Counter()
    for name in names:
        found.update(counts.get(name, Counter()))
    return found


async def main_async(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    if args.pairs < 1 or args.repeat < 1:
        raise SystemExit("--pairs and --repeat must be at least 1")
    store = Store(work, args.postgres_url)
    store.prefix = store.prefix.replace("bench_win_", "bench_flows_")
    try:
        return await measure(args, store)
    finally:
        await store.drop_all()


async def measure(args: argparse.Namespace, store: Store) -> dict[str, Any]:
    began = time.perf_counter()
    url = await store.seed_url()
    await seed(url, 2 * args.pairs)
    flows = await open_checkins(url, args.pairs)
    seeded_s = time.perf_counter() - began
    print(f"seeded {args.pairs} pairs with their check-ins open in {seeded_s:.1f}s ({store.work})")
    the_plan = plan(flows, args.seed)
    total: Counter[str] = Counter({k: len(v) for k, v in groups(the_plan).items()})

    repeats = []
    for index in range(args.repeat):
        repeat = await one_repeat(store, index, the_plan)
        clicks, answers = repeat.latency["clicks"][0], repeat.latency["answers"][0]
        print(
            f"repeat {index + 1}/{args.repeat}: {repeat.events_per_s:.0f} events/s, "
            f"click p50 {clicks:.2f} ms, answer p50 {answers:.2f} ms, "
            f"baseline p50 {repeat.baseline_p50_ms:.2f} ms"
        )
        repeats.append(repeat)
    counts = await count_statements(store, the_plan)
    counts["clicks"] = merged(counts, CLICKS)
    counts["answers"] = merged(counts, ANSWERS)
    counts["all"] = merged(counts, [*CLICKS, *ANSWERS])
    if args.profile:
        await profile(store, the_plan)

    env = environment()
    print(
        f"\nCheck-in clicks and answers through the Engine on {store.name}: "
        f"{len(the_plan.steps)} events from {2 * args.pairs} members of {args.pairs} pairs, "
        f"medians of {args.repeat} repeats\n"
        f"({env['nproc']} CPUs, Python {env['python']}, SQLite {env['sqlite']}, {env['date']})\n"
    )
    print(table(repeats, counts, total))
    print("\nSQL statements per event (besides BEGIN and COMMIT), by kind of event:")
    for name in [*CLICKS, *ANSWERS, "finishing, waits", "finishing, shares"]:
        if name not in counts:
            continue
        mix = counts[name]
        n = mix["events"]
        parts = ", ".join(
            f"{kind} {value / n:.2g}"
            for kind, value in mix.most_common()
            if kind not in ("BEGIN", "COMMIT", "events")
        )
        print(f"  {ROW_LABELS[name].strip()}: {besides_begin_commit(mix):.2f} = {parts}")
    print(
        f"\nevents/s (sequential): {statistics.median(r.events_per_s for r in repeats):.0f}, "
        f"baseline tx/s {statistics.median(r.baseline_per_s for r in repeats):.0f}; "
        f"process max RSS {max_rss_mib():.0f} MiB"
    )
    return {
        "config": {"pairs": args.pairs, "repeat": args.repeat, "seed": args.seed},
        "environment": {**env, "database": store.name},
        "seed_seconds": seeded_s,
        "events": dict(total),
        "repeats": [
            {
                "events_per_s": r.events_per_s,
                "baseline_per_s": r.baseline_per_s,
                "latency_ms": {k: list(v) for k, v in r.latency.items()},
            }
            for r in repeats
        ],
        "statements": {
            name: {k: v / mix["events"] for k, v in mix.items() if k != "events"}
            for name, mix in counts.items()
        },
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_flows",
        description="Benchmark check-in clicks and answers through the Engine.",
    )
    parser.add_argument(
        "--postgres-url",
        help="run on PostgreSQL: an admin URL (databases are created and dropped)",
    )
    parser.add_argument(
        "--pairs", type=int, default=150, help="pairs, each with a check-in open (2 members)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="repeats, each on a fresh db")
    parser.add_argument("--db-dir", type=Path, help="keep the database files here")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--seed", type=int, default=2026, help="random seed for who answers how")
    parser.add_argument(
        "--profile", action="store_true", help="also profile one pass (cProfile, SQL time)"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    run_in_workdir(args.db_dir, "bench-flows-", lambda work: main_async(args, work), args.json)


if __name__ == "__main__":
    main()
