"""Benchmark: the resident memory of one ``mentorbot run`` process (Slack HTTP mode,
the local fake Slack) holding 100k pairs, through a simulated hour of traffic.

Run by hand (``python -m bench.bench_memory --help``); the numbers live in
bench/README.md. Benchmarks are never timed inside the tests. Issue 16, goal 4: resident
memory at most 150 MB, and flat over the second half of the hour.

1. **Seed** (this process): a migrated database (PostgreSQL with ``--postgres-url``, else
   a SQLite file) with ``--pairs`` Slack pairs made by ``bot.pairs_import.import_pairs``
   as of ``START`` minus 26 hours: weekly, Monday to Friday, at 32 local times from 09:00
   to 16:45, in six timezones, all in one workspace. Then the dispatch pass is walked
   through those 26 hours (``Engine.run_due`` every 10 minutes), so the bot starts with a
   day's check-ins open (due for their 24-hour nudge in the measured hour), and the
   messages they queued are marked sent (they were delivered "yesterday").
2. **Run**: ``mentorbot run`` in its own process (``bench/fast_clock_run.py``: the
   command's own code, on a clock that runs ``--speed`` times real time from ``START``),
   with default settings except ``DISPATCH_INTERVAL_SECONDS`` (30 s divided by the speed:
   as many dispatch passes as in a real hour) and ``SLACK_MESSAGES_PER_SECOND``
   (``--messages-per-second``, in the bot's time). The bot does the hour's work by
   itself: check-ins that fall due (prompts), heads-ups for tomorrow's, nudges for
   yesterday's, all delivered to the fake Slack through the outbox.
3. **Traffic** (this process, signed requests as Slack sends them): ``--wins-per-hour``
   ``/win`` from people drawn at random among everyone; ``--answer-share`` of the
   people who get a check-in prompt (or its nudge) answer it a few minutes later (a
   mood button, then three typed DMs, a minute or two apart); ``--skip-share`` of those
   who get a heads-up press its "Skip this one".
4. **Memory**: the bot's ``VmRSS`` (``/proc/<pid>/status``; psutil is not needed) every
   real second. Reported: the largest, the RSS at the start, middle and end of the
   simulated time (``--minutes``, default 60), and the slope of a least-squares line
   through each half's samples, in MB per 10 simulated minutes (MB = 10^6 bytes, as the
   goal is written; MiB alongside). ``--tracemalloc`` runs the bot with tracemalloc on
   (slower, more memory: for finding what grows, not for the figures) and prints the
   biggest growth between the snapshot nearest the middle and the last one. The RSS
   is also split into its anonymous part (``RssAnon``: the heaps) and its file part
   (``RssFile``: code mapped from disk). ``--pymalloc`` has the bot write CPython's
   small-object allocator statistics every few seconds: the bytes its live objects
   take (allocated blocks) and the arenas (1 MiB each) that hold them, at the middle
   and the end, with the live bytes' second-half slope. Live bytes flat while arenas
   grow is the allocator's slack (freed blocks scattered over arenas it cannot give
   back), not data kept.
5. **What was done**: the DMs the fake Slack received, by kind; the requests sent and
   refused, with their ack p50; from the database afterwards, the wins stored, the
   check-ins opened, the answers, the messages sent and still queued; the bot's log's
   ERROR lines and its exit code (SIGTERM at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import heapq
import itertools
import json
import os
import random
import re
import signal
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import asyncpg
from sqlalchemy import func, select, update
from sqlalchemy.engine import make_url

from bench.bench_slack import (
    drop_database,
    free_port,
    mentee_id,
    mentor_id,
    mentorbot_env,
    sign,
    win_form,
)
from bench.fast_clock_run import PYMALLOC_MARK
from bench.workdir import add_postgres_url
from bot.clock import ManualClock
from bot.engine import Engine
from bot.events import CommandInvoked
from bot.pairs_import import import_pairs
from bot.refs import Platform, UserRef
from bot.storage.database import Database, sqlite_url
from bot.storage.models import Checkin, CheckinAnswer, OutboxMessage, OutboxStatus, Pair, Win
from tests.slack.fake_slack import TEAM, FakeSlack, Person

# A Wednesday, 13:00 UTC: the afternoon in Europe, the morning in New York.
START = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
SEEDED_AT = START - timedelta(hours=26)
# The seeding walks the dispatch pass through the day before in steps this long.
SEED_STEP = timedelta(minutes=10)
ZONES = (
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "America/Los_Angeles",
)
TIMES = tuple(f"{hour:02d}:{minute:02d}" for hour in range(9, 17) for minute in (0, 15, 30, 45))
DEFAULT_DISPATCH_INTERVAL = 30.0
MB = 1_000_000
MIB = 1024 * 1024
MOODS = ("great", "ok", "rough")
ANSWERS = (
    "shipped the first draft of the design doc",
    "the review queue keeps me waiting",
    "how to ask for a bigger project",
)
PHRASES = (
    "shipped the login page",
    "gave my first code review that got a thank-you",
    "fixed the flaky integration test",
    "asked for help early instead of staying stuck",
)
ROOT = Path(__file__).resolve().parent.parent
FAILED = re.compile(r"Traceback|ERROR", re.MULTILINE)


def pair_row(number: int) -> dict[str, str]:
    return {
        "platform": "slack",
        "workspace_id": TEAM,
        "mentor_id": mentor_id(number),
        "mentee_id": mentee_id(number),
        "cadence": "weekly",
        "weekday": str(number % 5),
        "time": TIMES[number // 5 % len(TIMES)],
        "timezone": ZONES[number // (5 * len(TIMES)) % len(ZONES)],
    }


# -- seeding -------------------------------------------------------------------------------


EARLIER_WINS_AT_ONCE = 8


class EarlierWins:
    """``--wins-before`` keyed ``/win`` through the Engine (as the Slack adapter hands
    them over: the fake Slack's profile, a delivery key), spread evenly over the seeded
    day, from people drawn at random with a generator of their own (the hour's traffic
    draws the same with or without them). A bot that has run for a day has its wins:
    ``mentorbot run`` on PostgreSQL reads who shared the latest of them as it starts
    (``Engine.remember_recent_sharers``)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self._total: int = args.wins_before
        self._pairs: int = args.pairs
        self._rng = random.Random(args.seed + 1)
        self.shared = 0

    async def share_until(self, engine: Engine, moment: datetime) -> None:
        """Those due by ``moment``, at ``moment``."""
        due = round(self._total * ((moment - SEEDED_AT) / (START - SEEDED_AT)))
        events: list[CommandInvoked] = []
        while self.shared + len(events) < due:
            number = self._rng.randrange(self._pairs)
            user = (mentor_id, mentee_id)[self._rng.randrange(2)](number)
            events.append(
                CommandInvoked(
                    user=UserRef(Platform.SLACK, TEAM, user),
                    command="win",
                    text=self._rng.choice(PHRASES),
                    # What the fake Slack's users.info says of everyone (``run``).
                    user_name="Someone",
                    user_timezone="Europe/Berlin",
                    event_key=f"bench:earlier-win:{self.shared + len(events)}",
                )
            )
        # A few at a time, as requests come (the same person's two at once are two
        # transactions like any others).
        for start in range(0, len(events), EARLIER_WINS_AT_ONCE):
            chunk = events[start : start + EARLIER_WINS_AT_ONCE]
            await asyncio.gather(*(engine.handle(event) for event in chunk))
        self.shared += len(events)


async def seed(args: argparse.Namespace, work: Path) -> tuple[str, str | None, dict[str, Any]]:
    """A database as a bot that has run for a day would leave it: its URL, the name of a
    PostgreSQL database to drop afterwards, and what seeding did."""
    if args.postgres_url:
        admin = make_url(args.postgres_url).set(drivername="postgresql")
        name: str | None = f"mentorbot_bench_memory_{uuid.uuid4().hex[:10]}"
        connection = await asyncpg.connect(admin.render_as_string(hide_password=False))
        await connection.execute(f'CREATE DATABASE "{name}"')
        await connection.close()
        url = admin.set(database=name).render_as_string(hide_password=False)
    else:
        name = None
        url = sqlite_url(work / "bench.db")
    database = Database(url)
    seeded: dict[str, Any] = {}
    try:
        await database.upgrade()
        began = time.perf_counter()
        report = await import_pairs(database, (pair_row(n) for n in range(args.pairs)), SEEDED_AT)
        if report.created != args.pairs:
            raise RuntimeError(f"the import created {report.created} of {args.pairs} pairs")
        seeded["import_s"] = round(time.perf_counter() - began, 1)
        async with database.transaction() as session:
            # The heads-ups of check-ins the day before sees were sent the day before that.
            await session.execute(
                update(Pair).where(Pair.heads_up_at < START).values(heads_up_at=None)
            )
        began = time.perf_counter()
        clock = ManualClock(SEEDED_AT)
        engine = Engine(database, clock)
        opened = 0
        moment = SEEDED_AT
        earlier_wins = EarlierWins(args)
        while moment < START:
            moment = min(moment + SEED_STEP, START)
            # Shared just before the pass, and so before START at the last step: the
            # hour's wins are those from START on.
            clock.set(moment - timedelta(seconds=1))
            await earlier_wins.share_until(engine, moment)
            opened += (await engine.run_due(moment)).checkins_opened
        async with database.transaction() as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.PENDING.value)
                .values(status=OutboxStatus.SENT.value, sent_at=START)
            )
        seeded["day_before_s"] = round(time.perf_counter() - began, 1)
        seeded["checkins_open_at_start"] = opened
        seeded["wins_before_start"] = earlier_wins.shared
        print(
            f"seeded {args.pairs:,} pairs in {seeded['import_s']} s, a day of dispatch "
            f"({opened:,} check-ins, {earlier_wins.shared:,} wins) in "
            f"{seeded['day_before_s']} s",
            file=sys.stderr,
        )
    finally:
        await database.dispose()
    return url, name, seeded


# -- the traffic ---------------------------------------------------------------------------


def button_name(element: dict[str, Any]) -> str:
    """A mood button by its mood (``great``), any other by its label."""
    action = str(element["action_id"])
    return action.rsplit(":", 1)[-1] if ":mood:" in action else str(element["text"]["text"])


def win_body(user: str, text: str, response_url: str) -> tuple[str, str]:
    return win_form(user, text, response_url), "application/x-www-form-urlencoded"


def click_body(
    user: str, channel: str, ts: str, element: dict[str, Any], response_url: str
) -> tuple[str, str]:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM},
        "api_app_id": "A0BENCH",
        "container": {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": f"{uuid.uuid4().int % 10**11}.{uuid.uuid4().hex[:12]}",
        "team": {"id": TEAM, "domain": "bench"},
        "channel": {"id": channel, "name": "directmessage"},
        "message": {"type": "message", "user": "U0BOT", "ts": ts, "text": "", "blocks": []},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": element["action_id"],
                "block_id": "b",
                "text": element["text"],
                "value": element.get("value", ""),
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"


def dm_body(user: str, text: str, response_url: str) -> tuple[str, str]:
    """A typed DM (a ``message.im`` event; events have no ``response_url``)."""
    stamp = f"{time.time():.6f}"
    body = {
        "team_id": TEAM,
        "api_app_id": "A0BENCH",
        "type": "event_callback",
        "event_id": f"Ev{uuid.uuid4().hex[:12].upper()}",
        "event_time": int(time.time()),
        "event": {
            "client_msg_id": str(uuid.uuid4()),
            "type": "message",
            "text": text,
            "user": user,
            "ts": stamp,
            "team": TEAM,
            "channel": "D" + user[1:],
            "event_ts": stamp,
            "channel_type": "im",
        },
        "authorizations": [
            {"team_id": TEAM, "user_id": "U0BOT", "is_bot": True, "is_enterprise_install": False}
        ],
    }
    return json.dumps(body), "application/json"


Build = Callable[[str], tuple[str, str]]  # the response_url -> (body, content type)


@dataclass
class Traffic:
    """Requests to send at given wall-clock times, and what came of them."""

    url: str
    fake: FakeSlack
    speed: float
    epoch: float
    rng: random.Random
    answer_share: float
    skip_share: float
    queue: list[tuple[float, int, str, Build]] = field(default_factory=list)
    counter: itertools.count[int] = field(default_factory=itertools.count)
    sent: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    acks_ms: dict[str, list[float]] = field(default_factory=dict)
    delivered: Counter[str] = field(default_factory=Counter)
    other: Counter[str] = field(default_factory=Counter)  # the other DMs, by how they begin
    answering: set[str] = field(default_factory=set)
    skipping: set[str] = field(default_factory=set)
    seen_calls: int = 0

    def at(self, when: float, kind: str, build: Build) -> None:
        heapq.heappush(self.queue, (when, next(self.counter), kind, build))

    def later(self, minutes: float) -> float:
        """The wall-clock time ``minutes`` of the bot's time from now."""
        return time.time() + minutes * 60 / self.speed

    def watch(self) -> None:
        """React to what the bot delivered since the last look: people answer their
        check-in prompts (or nudges) and skip some heads-ups."""
        calls = self.fake.calls
        new, self.seen_calls = calls[self.seen_calls :], len(calls)
        for call in new:
            if call.method != "chat.postMessage" or not call.result.get("ok"):
                continue
            user = str(call.args.get("channel", ""))
            if not user.startswith("U"):
                continue
            text = str(call.args.get("text", ""))
            kind = (
                "prompt"
                if text.startswith("👋 Time for your check-in")
                else "nudge"
                if text.startswith("A gentle nudge")
                else "heads_up"
                if text.startswith("Heads-up:")
                else "other"
            )
            self.delivered[kind] += 1
            if kind == "other":
                self.other[text[:40]] += 1
            buttons = {
                button_name(element): element
                for block in call.args.get("blocks") or []
                if block.get("type") == "actions"
                for element in block.get("elements", [])
            }
            where = (str(call.result.get("channel")), str(call.result.get("ts")))
            if kind in ("prompt", "nudge") and user not in self.answering:
                self.answering.add(user)
                if self.rng.random() < self.answer_share:
                    self._answer(user, where, buttons[self.rng.choice(MOODS)])
            elif kind == "heads_up" and user not in self.skipping:
                self.skipping.add(user)
                if self.rng.random() < self.skip_share:
                    self._skip(user, where, buttons["Skip this one"])

    def _skip(self, user: str, where: tuple[str, str], skip: dict[str, Any]) -> None:
        when = self.later(self.rng.uniform(1, 20))
        self.at(when, "skip", partial(click_body, user, *where, skip))

    def _answer(self, user: str, where: tuple[str, str], mood: dict[str, Any]) -> None:
        when = self.later(self.rng.uniform(1, 15))
        self.at(when, "mood_click", partial(click_body, user, *where, mood))
        for text in ANSWERS:
            when += self.rng.uniform(0.5, 2) * 60 / self.speed
            self.at(when, "checkin_answer", partial(dm_body, user, text))


async def send_one(http: aiohttp.ClientSession, traffic: Traffic, kind: str, build: Build) -> None:
    body, content_type = build(traffic.fake.response_url())
    stamp = int(time.time())
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(stamp),
        "X-Slack-Signature": sign(body, stamp),
    }
    started = time.perf_counter()
    try:
        async with http.post(traffic.url, data=body.encode(), headers=headers) as response:
            answer = await response.text()
            ok = response.status == 200
    except (aiohttp.ClientError, TimeoutError):
        ok, answer = False, ""
    traffic.acks_ms.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
    if kind == "win" and "Saved to your journal" not in answer and "One moment" not in answer:
        ok = False
    traffic.sent[kind] += 1
    if not ok:
        traffic.failed[kind] += 1


async def drive(traffic: Traffic, until: float, clients: int) -> None:
    """Send each request at its time (at most ``clients`` at once) until ``until``."""
    limit = asyncio.Semaphore(clients)
    tasks: set[asyncio.Task[None]] = set()

    async def one(kind: str, build: Build) -> None:
        async with limit:
            await send_one(http, traffic, kind, build)

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(30)) as http:
        while time.time() < until:
            traffic.watch()
            now = time.time()
            while traffic.queue and traffic.queue[0][0] <= now:
                _, _, kind, build = heapq.heappop(traffic.queue)
                task = asyncio.create_task(one(kind, build))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            await asyncio.sleep(0.05)
        if tasks:
            await asyncio.wait(tasks, timeout=30)


# -- memory --------------------------------------------------------------------------------


# What ``/proc/<pid>/status`` splits the resident set into (proc(5)): anonymous pages
# (the heaps: what the process allocated) and file pages (the interpreter, the C
# extensions and the modules mapped from disk, read in as code paths are first run).
RSS_PARTS = ("VmRSS", "RssAnon", "RssFile")


def rss_parts(pid: int) -> tuple[int, int, int] | None:
    """VmRSS, RssAnon and RssFile of ``pid`` in bytes."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = [re.search(rf"^{name}:\s+(\d+) kB", status, re.MULTILINE) for name in RSS_PARTS]
    if not all(found):
        return None
    rss, anon, file = (int(match.group(1)) * 1024 for match in found if match)
    return rss, anon, file


Sample = tuple[float, int, int, int]  # wall time, VmRSS, RssAnon, RssFile


async def sample_rss(pid: int, samples: list[Sample], stop: asyncio.Event) -> None:
    while not stop.is_set():
        parts = rss_parts(pid)
        if parts is not None:
            samples.append((time.time(), *parts))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


def slope(points: Sequence[tuple[float, float]]) -> float:
    """The least-squares slope of ``points`` (x, y)."""
    mean_x = statistics.fmean(x for x, _ in points)
    mean_y = statistics.fmean(y for _, y in points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread if spread else 0.0


def memory_figures(
    samples: list[Sample], epoch: float, speed: float, length: float = 60
) -> dict[str, Any]:
    """RSS at the start, middle and end of the bot's hour, the largest, and each half's
    slope in MB per 10 minutes of the bot's time; the same for its anonymous part."""

    def minute(wall: float) -> float:
        return (wall - epoch) * speed / 60

    half = length / 2
    figures: dict[str, Any] = {}
    for index, prefix in ((1, "rss"), (2, "anon")):
        timed = [(minute(sample[0]), sample[index]) for sample in samples]
        hour = [(m, size) for m, size in timed if 0 <= m <= length]

        def at(target: float, hour: list[tuple[float, float]] = hour) -> float:
            nearest = min(hour, key=lambda point: abs(point[0] - target))
            return round(nearest[1] / MB, 1)

        second_half = [(m / 10, size / MB) for m, size in hour if m >= half]
        first_half = [(m / 10, size / MB) for m, size in hour if m < half]
        figures |= {
            f"{prefix}_max_mb": round(max(size for _, size in timed) / MB, 1),
            f"{prefix}_before_start_mb": round(timed[0][1] / MB, 1),
            f"{prefix}_minute_0_mb": at(0),
            f"{prefix}_middle_mb": at(half),
            f"{prefix}_end_mb": at(length),
            f"{prefix}_slope_first_half_mb_per_10_min": round(slope(first_half), 2),
            f"{prefix}_slope_second_half_mb_per_10_min": round(slope(second_half), 2),
        }
        if prefix == "rss":
            figures |= second_half_steps([(m, size / MB) for m, size in hour if m >= half])
    figures["rss_max_mib"] = round(max(sample[1] for sample in samples) / MIB, 1)
    figures["samples"] = len(samples)
    return figures


# A rise of RSS from one sample to the next (a real second) at least this big is a step.
STEP_MB = 0.25


def second_half_steps(half: Sequence[tuple[float, float]]) -> dict[str, Any]:
    """How much RSS grew over ``half`` (minute, MB), and the steps among it: the rises
    of at least ``STEP_MB`` from one sample to the next, each at its minute. Growth that
    comes in a few steps at the hour's busiest moments (a dispatch pass, a burst of
    answers) is a new high of what is in use at once; growth spread over every sample is
    drift (bench/README.md, issue 16, the twentieth step)."""
    if len(half) < 2:
        return {}
    steps = [
        (minute, size - before)
        for (_, before), (minute, size) in itertools.pairwise(half)
        if size - before >= STEP_MB
    ]
    return {
        "rss_second_half_growth_mb": round(half[-1][1] - half[0][1], 2),
        "rss_second_half_in_steps_mb": round(sum((rise for _, rise in steps), 0.0), 2),
        "rss_second_half_steps": [[round(minute, 1), round(rise, 2)] for minute, rise in steps],
    }


# How often (real seconds) ``--pymalloc`` has the bot write its allocator statistics.
PYMALLOC_EVERY_SECONDS = 6.0


def pymalloc_figures(
    log_text: str, epoch: float, speed: float, length: float = 60
) -> dict[str, Any]:
    """The live bytes and the arenas of CPython's small-object allocator at the
    statistics nearest the middle and the end, and the live bytes' second-half slope
    (MB per 10 minutes of the bot's time)."""
    points: list[tuple[float, float, int]] = []  # minute, live MB, arenas
    for part in log_text.split(PYMALLOC_MARK + " ")[1:]:
        stamp, _, text = part.partition("\n")
        live = re.search(r"^# bytes in allocated blocks\s*=\s*([\d,]+)", text, re.MULTILINE)
        arenas = re.search(r"^# arenas allocated current\s*=\s*([\d,]+)", text, re.MULTILINE)
        if live and arenas:
            minute = (float(stamp) - epoch) * speed / 60
            points.append(
                (minute, int(live[1].replace(",", "")) / MB, int(arenas[1].replace(",", "")))
            )
    hour = [point for point in points if 0 <= point[0] <= length]
    if not hour:
        return {}
    middle = min(hour, key=lambda point: abs(point[0] - length / 2))
    end = hour[-1]
    second_half = [(minute / 10, live) for minute, live, _ in hour if minute >= length / 2]
    return {
        "live_mb_middle": round(middle[1], 1),
        "live_mb_end": round(end[1], 1),
        "live_slope_second_half_mb_per_10_min": round(slope(second_half), 2),
        "arenas_middle": middle[2],
        "arenas_end": end[2],
    }


def tracemalloc_growth(
    folder: Path, spawned: float, every: float, epoch: float, speed: float, frames: int
) -> list[str]:
    """The biggest growth between the snapshot nearest minute 30 and the last one."""
    dumps = sorted(folder.glob("snapshot-*.dump"))
    if len(dumps) < 2:
        return []
    minutes = [((spawned + (n + 1) * every) - epoch) * speed / 60 for n in range(len(dumps))]
    middle = min(range(len(dumps)), key=lambda n: abs(minutes[n] - minutes[-1] / 2))
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]
    first = tracemalloc.Snapshot.load(str(dumps[middle])).filter_traces(ignore)
    last = tracemalloc.Snapshot.load(str(dumps[-1])).filter_traces(ignore)
    lines = [
        f"minute {minutes[middle]:.0f} -> {minutes[-1]:.0f}: "
        f"{sum(s.size for s in first.statistics('filename')) / MB:.1f} -> "
        f"{sum(s.size for s in last.statistics('filename')) / MB:.1f} MB traced"
    ]
    grouping = "traceback" if frames > 1 else "lineno"
    for stat in last.compare_to(first, grouping)[:25]:
        lines.append(str(stat))
        if frames > 1:
            lines += [f"    {line}" for line in stat.traceback.format()]
    return lines


# -- the run -------------------------------------------------------------------------------


async def counts(url: str) -> dict[str, int]:
    database = Database(url)
    try:
        async with database.transaction() as session:

            async def count(query: Any) -> int:
                return int(await session.scalar(query) or 0)

            return {
                "wins_stored": await count(
                    select(func.count()).select_from(Win).where(Win.created_at >= START)
                ),
                "checkins_opened_in_hour": await count(
                    select(func.count()).select_from(Checkin).where(Checkin.due_at >= START)
                ),
                "checkin_answers": await count(select(func.count()).select_from(CheckinAnswer)),
                "outbox_sent_in_hour": await count(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(
                        OutboxMessage.status == OutboxStatus.SENT.value,
                        OutboxMessage.sent_at > START,
                    )
                ),
                "outbox_waiting_at_end": await count(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.status == OutboxStatus.PENDING.value)
                ),
            }
    finally:
        await database.dispose()


async def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    url, created, seeded = await seed(args, work)
    fake = FakeSlack(everyone=Person("Someone", "Europe/Berlin"))
    await fake.start()
    port = free_port()
    spawned = time.time()
    epoch = spawned + args.warm_up
    trace = work / "tracemalloc" if args.tracemalloc else None
    env = {
        **mentorbot_env(url, fake.api_url, port),
        "SLACK_MESSAGES_PER_SECOND": str(args.messages_per_second),
        "DISPATCH_INTERVAL_SECONDS": str(DEFAULT_DISPATCH_INTERVAL / args.speed),
        "MENTORBOT_BENCH_START": START.isoformat(),
        "MENTORBOT_BENCH_EPOCH": str(epoch),
        "MENTORBOT_BENCH_SPEED": str(args.speed),
    }
    env.update(item.split("=", 1) for item in args.env)
    if trace is not None:
        trace.mkdir(exist_ok=True)
        env["MENTORBOT_BENCH_TRACEMALLOC"] = str(trace)
        env["MENTORBOT_BENCH_SNAPSHOT_SECONDS"] = str(args.snapshot_seconds)
        env["MENTORBOT_BENCH_TRACE_FRAMES"] = str(args.trace_frames)
    if args.pymalloc:
        env["MENTORBOT_BENCH_PYMALLOC_SECONDS"] = str(PYMALLOC_EVERY_SECONDS)
    log_path = work / "run.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.fast_clock_run", cwd=ROOT, env=env, stdout=log, stderr=log
        )
    samples: list[Sample] = []
    stop_sampling = asyncio.Event()
    sampler = asyncio.create_task(sample_rss(process.pid, samples, stop_sampling))
    rng = random.Random(args.seed)
    traffic = Traffic(
        f"http://127.0.0.1:{port}/slack/events",
        fake,
        args.speed,
        epoch,
        rng,
        args.answer_share,
        args.skip_share,
    )
    hour_ends = epoch + args.minutes * 60 / args.speed
    people = [f(n) for n in range(args.pairs) for f in (mentor_id, mentee_id)]
    for _ in range(round(args.wins_per_hour * args.minutes / 60)):
        user, phrase = rng.choice(people), rng.choice(PHRASES)
        traffic.at(
            rng.uniform(epoch, hour_ends),
            "win",
            partial(win_body, user, phrase),
        )
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                if process.returncode is not None:
                    raise RuntimeError(f"mentorbot run exited: {log_path.read_text()[-2000:]}")
                await asyncio.sleep(0.1)
        ready = time.time()
        if ready > epoch:
            print(
                f"warning: the bot was ready {ready - epoch:.1f} s after its hour began",
                file=sys.stderr,
            )
        await drive(traffic, hour_ends, args.clients)
        stop_sampling.set()
        await sampler
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)
    finally:
        stop_sampling.set()
        if process.returncode is None:
            process.kill()
            await process.wait()
        await fake.stop()
    done = await counts(url)
    if created and args.postgres_url:
        await drop_database(args.postgres_url, created)
    log_text = log_path.read_text(errors="replace")
    results: dict[str, Any] = {
        "database": "postgresql" if args.postgres_url else "sqlite",
        "pairs": args.pairs,
        "speed": args.speed,
        "simulated_minutes": args.minutes,
        "real_seconds": round(args.minutes * 60 / args.speed, 1),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        **memory_figures(samples, epoch, args.speed, args.minutes),
        "seed": seeded,
        "dms_delivered_by_kind": dict(traffic.delivered),
        "other_dms_begin": dict(traffic.other.most_common(8)),
        "requests_sent": dict(traffic.sent),
        "requests_failed": dict(traffic.failed),
        "ack_p50_ms": {k: round(statistics.median(v), 1) for k, v in traffic.acks_ms.items()},
        **done,
        "log_errors": len(FAILED.findall(log_text)),
        "exit_code": process.returncode,
    }
    if args.pymalloc:
        results["pymalloc"] = pymalloc_figures(log_text, epoch, args.speed, args.minutes)
    if trace is not None:
        results["tracemalloc_growth"] = tracemalloc_growth(
            trace, spawned, args.snapshot_seconds, epoch, args.speed, args.trace_frames
        )
    if args.rss_csv:
        args.rss_csv.write_text(
            "minute,rss_mb,anon_mb,file_mb\n"
            + "".join(
                f"{(w - epoch) * args.speed / 60:.2f},{r / MB:.2f},{a / MB:.2f},{f / MB:.2f}\n"
                for w, r, a, f in samples
            )
        )
    return results


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--pairs", type=int, default=100_000, help="pairs in the database")
    parser.add_argument(
        "--speed",
        type=float,
        default=20.0,
        help="how much faster than real time the bot's clock runs (20: the hour in 3 min)",
    )
    parser.add_argument(
        "--minutes", type=float, default=60.0, help="how long the bot runs, in its own time"
    )
    parser.add_argument("--wins-per-hour", type=int, default=2_000, help="/win in the hour")
    parser.add_argument(
        "--answer-share",
        type=float,
        default=0.5,
        help="of those who get a check-in prompt or nudge, the share who answer it",
    )
    parser.add_argument(
        "--skip-share", type=float, default=0.05, help="of those who get a heads-up, who skip"
    )
    parser.add_argument(
        "--messages-per-second",
        type=float,
        default=3.0,
        help="SLACK_MESSAGES_PER_SECOND, in the bot's time",
    )
    parser.add_argument("--clients", type=int, default=16, help="requests in flight at most")
    parser.add_argument(
        "--warm-up", type=float, default=8.0, help="real seconds before the bot's hour starts"
    )
    parser.add_argument("--seed", type=int, default=16, help="the traffic's random seed")
    parser.add_argument(
        "--wins-before",
        type=int,
        default=0,
        help="/win shared in the seeded day before the hour (through the Engine, spread "
        "evenly): a database with a history of wins, as a bot that has run would have",
    )
    add_postgres_url(parser)
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="run the bot with tracemalloc and print what grew over the second half",
    )
    parser.add_argument("--snapshot-seconds", type=float, default=15.0)
    parser.add_argument(
        "--pymalloc",
        action="store_true",
        help="have the bot write its small-object allocator's statistics: live bytes, arenas",
    )
    parser.add_argument("--trace-frames", type=int, default=1, help="frames per allocation")
    parser.add_argument(
        "--db-dir", type=Path, help="work here and keep the SQLite file and the bot's log"
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="one more environment variable for the bot (e.g. MALLOC_ARENA_MAX=2)",
    )
    parser.add_argument("--rss-csv", type=Path, help="write every RSS sample here")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.db_dir is not None:
        args.db_dir.mkdir(parents=True, exist_ok=True)
        results = asyncio.run(run(args, args.db_dir))
    else:
        with tempfile.TemporaryDirectory(prefix="bench-memory-") as work:
            results = asyncio.run(run(args, Path(work)))
    growth = results.pop("tracemalloc_growth", None)
    print(json.dumps(results, indent=2))
    if growth:
        print("\n".join(growth))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
