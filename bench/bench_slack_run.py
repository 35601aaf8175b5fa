"""Benchmark: Slack over HTTP against real ``mentorbot run`` processes (HTTP mode), for
a ``/win``, a button click and a check-in answer, against bare Bolt apps in the same run;
one process, then two on the same database with the load split between them.

Run by hand (``python -m bench.bench_slack_run --help``); the numbers live in
bench/README.md. Benchmarks are never timed inside the tests.

Processes: two ``mentorbot run`` (A and B: Slack HTTP mode, default settings, the same
database, the fake Slack of ``tests/slack/fake_slack.py`` as the Web API), two floor
processes (F1 and F2: a bare slack-bolt ``AsyncApp`` with the same settings whose
listeners only ack), and this one: the load generator and the fake Slack.

The three kinds of request, each signed just before it is sent (v0 HMAC):

- **win**: ``/win <text>`` (a slash command; the ack carries "Saved … (win #n)").
- **click**: a mood button (Great / OK / Rough) pressed on the person's check-in prompt,
  built from the prompt the bot really posted to the fake (a ``block_actions`` payload;
  the mood is stored, the prompt updated through ``chat.update`` after the ack).
- **answer**: a typed answer to the check-in question asked last, as a ``message.im``
  event through the Events API (that is how a typed answer reaches the bot; the form is
  the other way); the ack comes once the answer is committed, the next question follows
  as a DM.

Setup (not timed): ``--pairs`` Slack pairs; every mentor asks ``/mentor checkin`` (their
check-in opens now) and the prompts are delivered to the fake; every mentor then presses
"Great" once through A and once through B (first contact: ``users.info`` is cached in
both, and their check-in moves on to the typed questions).

Each round, for each kind, the targets take turns: floor (F1), mentorbot (A), floor split
(F1+F2), mentorbot split (A+B); each gets a **rate pass** (``--clients`` clients, 8 by
default, one request at a time each: requests per second) and an **in-flight pass**
(``--in-flight`` clients, 50 by default: ack p50/p99). Split targets send request i to
process i mod 2. CPU seconds of each process (``/proc``), of the PostgreSQL backends
serving the bench database and of this process are taken around each pass.

``--pin`` (Linux, with ``--targets mentorbot``): the mentorbot process gets a CPU of its
own and everything else (this process, the floors, a local PostgreSQL server's processes)
the others, as when Slack and the database are other machines; on a machine of two
CPUs shared by all of them, each of the app's database round trips hands its CPU to
another process. PostgreSQL's CPUs are set back afterwards.

``--cpu-quota SHARE`` (Linux, as root): each mentorbot and floor process may use at most
``SHARE`` of one CPU (a control group of its own; ``CpuQuota``), so the two processes of
the split targets have twice the CPU of the one process, and the load generator and
PostgreSQL keep the rest of the machine: goal 3's ratio on a machine too small to give
each process CPUs of its own.

Afterwards, exactly: every win confirmed in an ack (or late through the
``response_url``) is one row, and each sender's numbers are 1..n without a gap or a
repeat; every typed answer is stored once, in the field of the question it answered;
every click and answer was handled once (``handled_events`` holds each delivery's key
once); no request got anything but 200.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import asyncpg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from adapters.slack.sender import SlackSender, web_client
from bench.bench_slack import (
    SECRET,
    drop_database,
    free_port,
    mentor_id,
    mentorbot_env,
    prepare_database,
    sign,
)
from bench.workdir import add_postgres_url
from bot.clock import ManualClock
from bot.delivery import deliver_all
from bot.engine import NOT_SAVED, SORRY, Engine
from bot.events import CommandInvoked
from bot.refs import Platform, UserRef
from bot.storage.database import Database
from bot.storage.models import CheckinAnswer, HandledEvent, Member, Win
from tests.slack.fake_slack import BOT_TOKEN, TEAM, FakeSlack, Person
from tests.slack.slack_chat import fixture, im

KINDS = ("win", "click", "answer")
TARGETS = ("floor", "mentorbot", "floor x2", "mentorbot x2")
MOODS = ("great", "ok", "rough")
# The typed answers, in the order the check-in asks (after the mood button).
FIELDS = ("progress", "challenge", "next_topic")
NUMBER = re.compile(r"win #(\d+)")
WORKING = "One moment"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


# -- the floor: a bare Bolt app in its own process ---------------------------------------


def serve_floor(port: int, api_url: str) -> None:
    """A bare ``AsyncApp`` (signatures verified, ``process_before_response=True``) whose
    listeners only ack: a slash command, a button, a message event."""
    from aiohttp import web
    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
    from slack_bolt.app.async_app import AsyncApp
    from slack_bolt.context.ack.async_ack import AsyncAck
    from slack_sdk.web.async_client import AsyncWebClient

    client = AsyncWebClient(token=BOT_TOKEN, base_url=api_url, retry_handlers=[])
    app = AsyncApp(name="floor", client=client, signing_secret=SECRET, process_before_response=True)

    async def only_ack(ack: AsyncAck) -> None:
        await ack()

    async def nothing() -> None:
        return None

    app.command(re.compile(r"^/"))(only_ack)
    app.action(re.compile(r".*"))(only_ack)
    app.event("message")(nothing)

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    server = web.Application()
    server.router.add_post("/slack/events", events)
    web.run_app(server, host="127.0.0.1", port=port, access_log=None, print=None)


# -- the processes -------------------------------------------------------------------------


@dataclass
class Process:
    name: str
    port: int
    process: asyncio.subprocess.Process

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def cpu_seconds(self) -> float:
        return _cpu_seconds(self.process.pid)


_ROOT = str(Path(__file__).resolve().parents[1])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, from /proc (0 where there is none)."""
    return sum(_cpu_split(pid))


def _cpu_split(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of a process, from /proc (0 where there is none)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


async def start_mentorbot(
    name: str, url: str, fake: FakeSlack, work: Path, profile: Path | None = None
) -> Process:
    port = free_port()
    env = mentorbot_env(url, fake.api_url, port)
    log = (work / f"{name}.log").open("wb")
    command = [sys.executable, "-c", "from adapters.cli import main; main()", "run"]
    if profile is not None:  # cProfile of the whole process, written when it stops
        runner = (
            "import cProfile, sys; sys.argv = ['mentorbot', 'run']; "
            "from adapters.cli import main; "
            f"cProfile.run('main()', {str(profile)!r})"
        )
        command = [sys.executable, "-c", runner]
    process = await asyncio.create_subprocess_exec(
        *command, cwd=work, env=env, stdout=log, stderr=log
    )
    return Process(name, port, process)


async def start_floor(name: str, fake: FakeSlack, work: Path) -> Process:
    port = free_port()
    log = (work / f"{name}.log").open("wb")
    command = [
        sys.executable,
        "-c",
        f"from bench.bench_slack_run import serve_floor; serve_floor({port}, {fake.api_url!r})",
    ]
    # The floor imports this module: the checkout goes on its path (it runs in `work`).
    path = os.pathsep.join(p for p in (_ROOT, os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path}
    process = await asyncio.create_subprocess_exec(
        *command, cwd=work, env=env, stdout=log, stderr=log
    )
    return Process(name, port, process)


async def wait_listening(http: aiohttp.ClientSession, process: Process) -> None:
    for _ in range(300):
        if process.process.returncode is not None:
            raise RuntimeError(f"{process.name} exited with {process.process.returncode}")
        try:
            # A GET reaches no handler (the route takes POST): nothing is logged.
            async with http.get(process.url):
                return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{process.name} did not start")


async def stop(process: Process) -> None:
    if process.process.returncode is None:
        process.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.process.wait(), 20)
        except TimeoutError:
            process.process.kill()
            await process.process.wait()


# -- the requests --------------------------------------------------------------------------


@dataclass
class Request:
    kind: str
    user: str
    body: str
    content_type: str
    # What the DB must show for it: the win's text, the answer's field and text.
    text: str = ""
    field_name: str = ""
    key: str = ""
    hook: str = ""


@dataclass
class Sent:
    request: Request
    target: str
    nanoseconds: int
    status: int
    answer: str
    started_ns: int = 0  # when it was sent, from the start of its pass


class Load:
    """The requests: the ``/win`` senders and the clickers are the mentors, each of
    whom has an open check-in (their prompt is in ``prompts``)."""

    def __init__(self, fake: FakeSlack, users: list[str], rng: random.Random) -> None:
        self.fake = fake
        self.users = users
        self.rng = rng
        self.prompts: dict[str, dict[str, Any]] = {}
        # The typed answers, question by question for everyone: a person's next answer
        # comes len(users) requests after their last, long after it is committed.
        self.answers = deque((round_, user) for round_ in range(len(FIELDS)) for user in users)
        self.sequence = count(1)

    def find_prompts(self) -> None:
        for call in self.fake.calls:
            if call.method != "chat.postMessage" or not call.result.get("ok"):
                continue
            blocks = call.args.get("blocks") or []
            for block in blocks:
                for element in block.get("elements", []) if block.get("type") == "actions" else []:
                    if str(element.get("action_id", "")).endswith(":mood:great"):
                        user = str(call.args.get("channel"))
                        self.prompts[user] = {
                            "channel": str(call.result.get("channel")),
                            "ts": str(call.result.get("ts")),
                            "text": str(call.args.get("text", "")),
                            "blocks": blocks,
                            "action_id": str(element["action_id"]),
                        }

    def win(self, user: str | None = None) -> Request:
        user = user or self.rng.choice(self.users)
        text = f"bench win {next(self.sequence)} 🎉 shipped the login page"
        hook = self.fake.response_url()
        form = fixture("slash_command") | {
            "team_id": TEAM,
            "user_id": user,
            "user_name": user.lower(),
            "channel_id": "C0GENERAL",
            "channel_name": "general",
            "command": "/win",
            "text": text,
            "response_url": hook,
            "trigger_id": _trigger_id(),
        }
        return Request("win", user, urlencode(form), FORM, text=text, hook=hook)

    def click(self, user: str | None = None, mood: str | None = None) -> Request:
        user = user or self.rng.choice(self.users)
        mood = mood or self.rng.choice(MOODS)
        prompt = self.prompts[user]
        trigger = _trigger_id()
        payload = fixture("block_actions")
        payload["user"] = {"id": user, "username": user.lower(), "name": user.lower()}
        payload["user"]["team_id"] = TEAM
        payload["trigger_id"] = trigger
        payload["team"] = {"id": TEAM, "domain": "bench"}
        payload["container"] |= {"message_ts": prompt["ts"], "channel_id": prompt["channel"]}
        payload["channel"] = {"id": prompt["channel"], "name": "directmessage"}
        payload["message"] |= {
            "ts": prompt["ts"],
            "text": prompt["text"],
            "blocks": prompt["blocks"],
        }
        payload["response_url"] = self.fake.response_url()
        action_id = prompt["action_id"].removesuffix("great") + mood
        payload["actions"][0] |= {
            "action_id": action_id,
            "value": action_id,
            "text": {"type": "plain_text", "text": mood, "emoji": True},
        }
        body = urlencode({"payload": json.dumps(payload)})
        return Request("click", user, body, FORM, text=mood, key=f"slack:action:{trigger}")

    def answer(self) -> Request | None:
        if not self.answers:
            return None
        round_, user = self.answers.popleft()
        text = f"bench answer {FIELDS[round_]} of {user}: the demo went well"
        event_id = f"Ev{uuid.uuid4().hex[:12].upper()}"
        body = fixture("message_im")
        body["team_id"] = TEAM
        body["event_id"] = event_id
        body["event"] |= {
            "user": user,
            "text": text,
            "channel": im(user),
            "team": TEAM,
            "client_msg_id": str(uuid.uuid4()),
            "ts": f"{time.time():.6f}",
        }
        return Request(
            "answer",
            user,
            json.dumps(body),
            JSON,
            text=text,
            field_name=FIELDS[round_],
            key=f"slack:event:{event_id}",
        )

    def make(self, kind: str, count: int) -> list[Request]:
        if kind == "win":
            return [self.win() for _ in range(count)]
        if kind == "click":
            return [self.click() for _ in range(count)]
        made = [self.answer() for _ in range(count)]
        return [r for r in made if r is not None]


def _trigger_id() -> str:
    return f"{uuid.uuid4().int % 10**11}.{uuid.uuid4().hex[:12]}"


async def send(http: aiohttp.ClientSession, url: str, request: Request) -> tuple[int, int, str]:
    stamp = int(time.time())
    headers = {
        "Content-Type": request.content_type,
        "X-Slack-Request-Timestamp": str(stamp),
        "X-Slack-Signature": sign(request.body, stamp),
    }
    data = request.body.encode()
    started = time.perf_counter_ns()
    async with http.post(url, data=data, headers=headers) as response:
        answer = await response.text()
        status = response.status
    return time.perf_counter_ns() - started, status, answer


async def closed_loop(
    http: aiohttp.ClientSession,
    target: str,
    processes: list[Process],
    requests: list[Request],
    clients: int,
) -> tuple[float, list[Sent]]:
    """``clients`` clients, each sending its next request when its last is answered;
    request i goes to process i mod len(processes)."""
    queue = list(enumerate(requests))
    queue.reverse()
    sent: list[Sent] = []
    origin = time.perf_counter_ns()

    async def client() -> None:
        while queue:
            i, request = queue.pop()
            url = processes[i % len(processes)].url
            at = time.perf_counter_ns() - origin
            ns, status, answer = await send(http, url, request)
            sent.append(Sent(request, target, ns, status, answer, at))

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return len(requests) / (time.perf_counter() - started), sent


# -- CPU -----------------------------------------------------------------------------------


async def backend_pids(url: str) -> list[int]:
    """The PostgreSQL backends serving the bench database (empty on SQLite)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        return []
    admin = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(admin)
    try:
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            parsed.database,
        )
    finally:
        await connection.close()
    return [int(row["pid"]) for row in rows]


@dataclass
class Cpu:
    """CPU seconds around a pass: the app's processes, the PostgreSQL backends serving
    the bench database (each counted while it lives through the pass), this process."""

    processes: list[Process]
    backends: list[int]

    def take(self) -> dict[str, Any]:
        return {
            "app user": sum(_cpu_split(p.process.pid)[0] for p in self.processes),
            "app system": sum(_cpu_split(p.process.pid)[1] for p in self.processes),
            "postgres": {pid: _cpu_seconds(pid) for pid in self.backends},
            "load generator": time.process_time(),
        }

    @staticmethod
    def per_request(before: dict[str, Any], after: dict[str, Any], n: int) -> dict[str, float]:
        pg = sum(
            max(0.0, after["postgres"][pid] - seconds)
            for pid, seconds in before["postgres"].items()
            if after["postgres"].get(pid)
        )
        user = (after["app user"] - before["app user"]) * 1000 / n
        system = (after["app system"] - before["app system"]) * 1000 / n
        return {
            "app": user + system,
            "app user": user,
            "app system": system,
            "postgres": pg * 1000 / n,
            "load generator": (after["load generator"] - before["load generator"]) * 1000 / n,
        }


# -- the run -------------------------------------------------------------------------------


def _percentile(samples: list[int], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6


async def open_checkins(url: str, fake: FakeSlack, users: list[str]) -> None:
    """Every mentor asks ``/mentor checkin`` (theirs opens now), then the prompts are
    delivered to the fake, as the delivery worker would."""
    database = Database(url)
    clock = ManualClock(datetime.now(UTC))
    engine = Engine(database, clock)
    try:
        for start in range(0, len(users), 8):
            await asyncio.gather(
                *(
                    engine.handle(
                        CommandInvoked(
                            user=UserRef(Platform.SLACK, TEAM, user),
                            command="mentor",
                            text="checkin",
                            user_name="Someone",
                            user_timezone="Europe/Berlin",
                            event_key=f"slack:command:setup-{user}",
                        )
                    )
                    for user in users[start : start + 8]
                )
            )
        sender = SlackSender(web_client(BOT_TOKEN, fake.api_url))
        await deliver_all(database, {Platform.SLACK: sender}, clock)
    finally:
        await database.dispose()


def _parent(pid: int) -> int:
    """The parent of a process (Linux: ``/proc/<pid>/stat``, after the command's name)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2 :].split()[1])


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError):
                if _parent(int(entry.name)) == parent:
                    found.append(int(entry.name))
    return found


async def postgres_processes(url: str) -> list[int]:
    """The local PostgreSQL server's processes: its postmaster (the parent of this
    connection's backend) and every process it started. New backends are started by
    the postmaster and share its CPU affinity."""
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(plain)
    try:
        # Read while the connection is open: its backend exits when it closes.
        postmaster = _parent(await connection.fetchval("SELECT pg_backend_pid()"))
    finally:
        await connection.close()
    return [postmaster, *_children(postmaster)]


@dataclass
class Pinning:
    """``--pin``: the mentorbot processes on a CPU of their own, everything else (this
    process with the fake Slack and the load, the floors, PostgreSQL) on the others, as
    when Slack and the database are other machines. Undone for PostgreSQL at the end."""

    app: set[int]
    rest: set[int]
    postgres: list[int] = field(default_factory=list)

    @classmethod
    async def start(cls, url: str) -> Pinning:
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            raise SystemExit("--pin needs at least two CPUs")
        pinning = cls({cpus[0]}, set(cpus[1:]))
        os.sched_setaffinity(0, pinning.rest)  # what this process starts inherits it
        if make_url(url).get_backend_name() == "postgresql":
            pinning.postgres = await postgres_processes(url)
            for pid in pinning.postgres:
                pinning.move(pid, pinning.rest)
        return pinning

    def move(self, pid: int, cpus: set[int]) -> None:
        try:
            for thread in Path(f"/proc/{pid}/task").iterdir():
                os.sched_setaffinity(int(thread.name), cpus)
        except PermissionError:
            raise SystemExit(
                f"--pin cannot move process {pid} to CPUs {sorted(cpus)} (not permitted)"
            ) from None

    def stop(self) -> None:
        everything = self.app | self.rest
        for pid in self.postgres:
            with contextlib.suppress(OSError, SystemExit):
                self.move(pid, everything)


# The period in which a quota's share of a CPU is given (``--cpu-quota-period-ms``), the
# kernel's default. A process that spent its share waits out the rest of the period: a
# request's wait of up to 80 ms at a share of 0.2; shorter periods shorten the wait, but
# each slice of CPU then starts with caches another process has used (bench/README.md).
QUOTA_PERIOD_MS = 100.0


@dataclass
class CpuQuota:
    """``--cpu-quota``: each server process (the mentorbot processes and the floors) gets
    at most ``share`` of one CPU, through a control group of its own (Linux, as root;
    cgroup v2's ``cpu.max`` where the unified hierarchy has the cpu controller, else
    cgroup v1's ``cpu.cfs_quota_us``). Two such processes then have twice the CPU of
    one, whatever the machine, and what the load generator and PostgreSQL need stays
    free: the scale-out ratio measures what sharing one database costs, not how many
    CPUs the machine has. The groups are removed at the end."""

    share: float
    period_ms: float = QUOTA_PERIOD_MS
    groups: list[Path] = field(default_factory=list)

    @staticmethod
    def root() -> tuple[Path, bool]:
        """Where the groups go, and whether it is cgroup v2."""
        unified = Path("/sys/fs/cgroup")
        controllers = unified / "cgroup.controllers"
        if controllers.exists() and "cpu" in controllers.read_text().split():
            return unified, True
        v1 = unified / "cpu"
        if (v1 / "cpu.cfs_quota_us").exists():
            return v1, False
        raise SystemExit("--cpu-quota needs the cpu controller of Linux control groups")

    def limit(self, process: Process) -> None:
        root, v2 = self.root()
        group = root / f"mentorbot-bench-{os.getpid()}-{process.name}"
        period = round(self.period_ms * 1000)
        quota = round(self.share * period)
        try:
            group.mkdir()
            self.groups.append(group)
            if v2:
                (group / "cpu.max").write_text(f"{quota} {period}")
            else:
                (group / "cpu.cfs_period_us").write_text(str(period))
                (group / "cpu.cfs_quota_us").write_text(str(quota))
            # All of the process's threads go (cgroup.procs, not tasks).
            (group / "cgroup.procs").write_text(str(process.process.pid))
        except OSError as error:
            raise SystemExit(f"--cpu-quota cannot set up {group}: {error.strerror}") from None

    def throttled_seconds(self) -> dict[str, float]:
        """How long each group's process waited for its share, so far (cpu.stat)."""
        found: dict[str, float] = {}
        for group in self.groups:
            with contextlib.suppress(OSError):
                stat = dict(line.split() for line in (group / "cpu.stat").read_text().splitlines())
                if "throttled_usec" in stat:  # v2
                    found[group.name] = int(stat["throttled_usec"]) / 1e6
                elif "throttled_time" in stat:  # v1, in nanoseconds
                    found[group.name] = int(stat["throttled_time"]) / 1e9
        return found

    def stop(self) -> None:
        for group in self.groups:
            with contextlib.suppress(OSError):
                group.rmdir()  # empty once its process has exited


async def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    url, created = await prepare_database(args, work)
    pinning = await Pinning.start(url) if args.pin else None
    quota = None
    if args.cpu_quota is not None:
        quota = CpuQuota(args.cpu_quota, args.cpu_quota_period_ms)
    try:
        return await _run(args, work, url, created, pinning, quota)
    finally:
        if pinning is not None:
            pinning.stop()
        if quota is not None:
            quota.stop()


async def _run(
    args: argparse.Namespace,
    work: Path,
    url: str,
    created: str | None,
    pinning: Pinning | None,
    quota: CpuQuota | None,
) -> dict[str, Any]:
    fake = FakeSlack(everyone=Person("Someone", "Europe/Berlin"))
    await fake.start()
    rng = random.Random(args.seed)
    users = [mentor_id(i) for i in range(args.pairs)]
    started = time.perf_counter()
    await open_checkins(url, fake, users)
    load = Load(fake, users, rng)
    load.find_prompts()
    missing = [u for u in users if u not in load.prompts]
    if missing:
        raise RuntimeError(f"{len(missing)} mentors got no check-in prompt, e.g. {missing[:3]}")
    print(
        f"opened {len(users):,} check-ins in {time.perf_counter() - started:.0f} s", file=sys.stderr
    )
    bots = [
        await start_mentorbot(name, url, fake, work, args.profile if name == "A" else None)
        for name in ("A", "B")
    ]
    floors = [await start_floor(name, fake, work) for name in ("F1", "F2")]
    targets = {
        "floor": floors[:1],
        "mentorbot": bots[:1],
        "floor x2": floors,
        "mentorbot x2": bots,
    }
    answers_per_pass = min(args.requests, len(load.answers) // (4 * args.rounds))
    passes: list[dict[str, Any]] = []
    everything: list[Sent] = []
    try:
        # Inside the try: should it fail, the processes are still stopped.
        if pinning is not None:
            for bot in bots:
                pinning.move(bot.process.pid, pinning.app)
        if quota is not None:
            for process in bots + floors:
                quota.limit(process)
        connector = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(60)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            for process in bots + floors:
                await wait_listening(http, process)
            # First contact in both processes, and each check-in moves on to the
            # typed questions.
            started = time.perf_counter()
            for bot in bots:
                warm = [load.click(user, "great") for user in users]
                _, sent = await closed_loop(http, "warm-up", [bot], warm, args.in_flight)
                everything += sent
            print(f"warmed up in {time.perf_counter() - started:.0f} s", file=sys.stderr)
            for round_ in range(args.rounds):
                for kind in args.kinds:
                    for target in args.targets:
                        for mode, clients in (
                            ("rate", args.clients),
                            ("in flight", args.in_flight),
                        ):
                            count = answers_per_pass if kind == "answer" else args.requests
                            found, sent = await one_pass(
                                http, url, load, kind, target, targets[target], clients, count
                            )
                            passes.append({"round": round_, "mode": mode, **found})
                            everything += sent
                            print(_line(passes[-1]), file=sys.stderr)
            # Late answers (past the ack budget) come through the response_url.
            waiting = {_hook(s.request) for s in everything if WORKING in s.answer}
            for _ in range(300):
                if waiting <= {r["hook"] for r in fake.responses()}:
                    break
                await asyncio.sleep(0.1)
    finally:
        throttled = quota.throttled_seconds() if quota is not None else None
        for process in bots + floors:
            await stop(process)
        if args.profile is not None:
            print(f"profile of A written to {args.profile}", file=sys.stderr)
        await fake.stop()
    checks = await check(url, everything, fake)
    # What the mentorbot processes logged (LOG_LEVEL=WARNING: warnings and errors only).
    logged = [
        line
        for name in ("A", "B")
        for line in (work / f"{name}.log").read_text(errors="replace").splitlines()
        if " ERROR " in line or (" WARNING " in line and "adapters.cli" not in line)
    ]
    checks["log_warnings_and_errors"] = len(logged)
    checks["log_first_lines"] = logged[:12]
    if created and args.postgres_url:
        await drop_database(args.postgres_url, created)
    return {
        "database": "postgresql" if args.postgres_url else "sqlite",
        "pairs": args.pairs,
        "pinned": None
        if pinning is None
        else {"mentorbot": sorted(pinning.app), "everything else": sorted(pinning.rest)},
        "cpu_quota": None
        if quota is None
        else {"share": quota.share, "period_ms": quota.period_ms, "throttled_seconds": throttled},
        "load_average": os.getloadavg(),
        "checks": checks,
        "passes": passes,
        "exit_codes": {p.name: p.process.returncode for p in bots + floors},
    }


async def one_pass(
    http: aiohttp.ClientSession,
    url: str,
    load: Load,
    kind: str,
    target: str,
    processes: list[Process],
    clients: int,
    count: int,
) -> tuple[dict[str, Any], list[Sent]]:
    """One closed-loop pass: its numbers, and what was sent to mentorbot (to check)."""
    ours = target.startswith("mentorbot")
    if kind == "answer" and not ours:
        # The floor reads the same shape; the real answers are kept for mentorbot.
        requests = [_copy_answer(load) for _ in range(count)]
    else:
        requests = load.make(kind, count)
    cpu = Cpu(processes, await backend_pids(url) if ours else [])
    before = cpu.take()
    rate, sent = await closed_loop(http, target, processes, requests, clients)
    after = cpu.take()
    ns = [s.nanoseconds for s in sent]
    found = {
        "kind": kind,
        "target": target,
        "clients": clients,
        "requests": len(sent),
        "requests_per_second": rate,
        "p50_ms": statistics.median(ns) / 1e6,
        "p99_ms": _percentile(ns, 0.99),
        "max_ms": max(ns) / 1e6,
        "not_200": sum(s.status != 200 for s in sent),
        "one_moment": sum(WORKING in s.answer for s in sent),
        "cpu_ms_per_request": Cpu.per_request(before, after, len(sent)),
        # Each request's send time and ack time (ms), in the order they were answered.
        "timeline": [[round(s.started_ns / 1e6, 2), round(s.nanoseconds / 1e6, 2)] for s in sent],
    }
    return found, sent if ours else []


def _hook(request: Request) -> str:
    return request.hook.rsplit("/", 1)[1]


def _copy_answer(load: Load) -> Request:
    """An answer-shaped event for the floor (which stores nothing)."""
    user = load.rng.choice(load.users)
    event_id = f"Ev{uuid.uuid4().hex[:12].upper()}"
    body = fixture("message_im")
    body["team_id"] = TEAM
    body["event_id"] = event_id
    body["event"] |= {"user": user, "text": "the demo went well", "channel": im(user), "team": TEAM}
    return Request("answer", user, json.dumps(body), JSON)


def _line(found: dict[str, Any]) -> str:
    cpu = found["cpu_ms_per_request"]
    return (
        f"round {found['round']} {found['kind']:6} {found['target']:13} {found['mode']:9} "
        f"{found['requests_per_second']:7.0f}/s p50 {found['p50_ms']:7.1f} ms "
        f"p99 {found['p99_ms']:7.1f} ms; CPU ms/request: app {cpu['app']:.2f}, "
        f"pg {cpu['postgres']:.2f}, generator {cpu['load generator']:.2f}"
    )


async def check(url: str, sent: list[Sent], fake: FakeSlack) -> dict[str, Any]:
    """Nothing lost or doubled, counted in the database and the answers."""
    late = {r["hook"]: str(r.get("text", "")) for r in fake.responses()}
    # What the bot told people in their DMs when their work failed (a click's or an
    # answer's ack is empty: the answer, or the apology, is a DM).
    told = [
        str(c.args.get("text", ""))
        for c in fake.calls
        if c.method == "chat.postMessage"
        and (NOT_SAVED in str(c.args.get("text", "")) or SORRY in str(c.args.get("text", "")))
    ]
    numbers: dict[str, list[int]] = defaultdict(list)
    win_texts: set[str] = set()
    unconfirmed = 0
    for s in sent:
        if s.request.kind != "win":
            continue
        answer = s.answer
        if WORKING in answer:
            answer = late.get(_hook(s.request), "")
        found = NUMBER.search(answer)
        if found:
            numbers[s.request.user].append(int(found.group(1)))
            win_texts.add(s.request.text)
        else:
            unconfirmed += 1
    keys = {s.request.key for s in sent if s.request.key}
    typed = {
        (s.request.user, s.request.field_name): s.request.text
        for s in sent
        if s.request.kind == "answer"
    }
    database = Database(url)
    try:
        async with database.transaction() as session:
            stored_wins = await session.scalar(
                select(func.count()).select_from(Win).where(Win.text.like("bench win %"))
            )
            handled: set[str] = set()
            listed = sorted(keys)
            for start in range(0, len(listed), 5000):
                chunk = listed[start : start + 5000]
                query = select(HandledEvent.key).where(HandledEvent.key.in_(chunk))
                handled |= set((await session.execute(query)).scalars())
            rows = (
                await session.execute(
                    select(
                        Member.external_id,
                        CheckinAnswer.progress,
                        CheckinAnswer.challenge,
                        CheckinAnswer.next_topic,
                    ).join(Member, Member.id == CheckinAnswer.member_id)
                )
            ).all()
    finally:
        await database.dispose()
    stored_answers = {}
    for user, *values in rows:
        for name, value in zip(FIELDS, values, strict=True):
            if value is not None:
                stored_answers[(user, name)] = value
    return {
        "requests_sent_to_mentorbot": len(sent),
        "not_200": sum(s.status != 200 for s in sent),
        "wins_confirmed": sum(len(v) for v in numbers.values()),
        "wins_stored": stored_wins,
        "wins_unconfirmed": unconfirmed,
        "win_numbers_exact": all(sorted(v) == list(range(1, len(v) + 1)) for v in numbers.values()),
        "answers_sent": len(typed),
        "answers_stored_exactly": sum(stored_answers.get(k) == v for k, v in typed.items()),
        "answers_stored_in_all": len(stored_answers),
        "clicks_and_answers_sent": len(keys),
        "clicks_and_answers_handled_once": len(handled),
        "told_not_saved_or_sorry_in_a_dm": len(told),
        "not_handled": [
            f"{s.request.kind} by {s.request.user} to {s.target}: {s.answer[:100]!r}"
            for s in sent
            if s.request.key and s.request.key not in handled
        ][:20],
    }


def summary(results: dict[str, Any]) -> str:
    """Medians over the rounds, per kind and target: the rate pass (requests per second)
    and the in-flight pass (ack p50/p99); CPU per request in the rate pass."""
    by: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for found in results["passes"]:
        by[(found["kind"], found["target"], found["mode"])].append(found)

    def med(kind: str, target: str, mode: str, key: str) -> float:
        return float(statistics.median(p[key] for p in by[(kind, target, mode)]))

    def cpu(kind: str, target: str, part: str) -> float:
        found = by[(kind, target, "rate")]
        return float(statistics.median(p["cpu_ms_per_request"][part] for p in found))

    lines = [
        "| kind | target | req/s, rate pass | ack p50 / p99 ms, rate pass | req/s, in flight "
        "| ack p50 / p99 ms, in flight | CPU ms/request: app (user + sys), PostgreSQL, "
        "load generator |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    kinds = [k for k in KINDS if any(key[0] == k for key in by)]
    targets = [t for t in TARGETS if any(key[1] == t for key in by)]
    for kind in kinds:
        for target in targets:
            rate = (
                f"{med(kind, target, 'rate', 'p50_ms'):.1f} / "
                f"{med(kind, target, 'rate', 'p99_ms'):.1f}"
            )
            flight = (
                f"{med(kind, target, 'in flight', 'p50_ms'):.1f} / "
                f"{med(kind, target, 'in flight', 'p99_ms'):.1f}"
            )
            used = (
                f"{cpu(kind, target, 'app'):.2f} ({cpu(kind, target, 'app user'):.2f} + "
                f"{cpu(kind, target, 'app system'):.2f}), {cpu(kind, target, 'postgres'):.2f}, "
                f"{cpu(kind, target, 'load generator'):.2f}"
            )
            lines.append(
                f"| {kind} | {target} | {med(kind, target, 'rate', 'requests_per_second'):.0f} "
                f"| {rate} | {med(kind, target, 'in flight', 'requests_per_second'):.0f} "
                f"| {flight} | {used} |"
            )
    lines.append("")
    for kind in kinds if set(targets) == set(TARGETS) else []:
        one = med(kind, "mentorbot", "rate", "requests_per_second")
        two = med(kind, "mentorbot x2", "rate", "requests_per_second")
        floor_one = med(kind, "floor", "rate", "requests_per_second")
        floor_two = med(kind, "floor x2", "rate", "requests_per_second")
        lines.append(
            f"{kind}: mentorbot / floor {one / floor_one:.3f} (rate pass); two processes / one: "
            f"mentorbot {two / one:.2f}x, floor {floor_two / floor_one:.2f}x"
        )
    return "\n".join(lines)


def _names(allowed: Sequence[str]) -> Callable[[str], tuple[str, ...]]:
    def parse(text: str) -> tuple[str, ...]:
        names = tuple(name.strip() for name in text.split(","))
        unknown = [name for name in names if name not in allowed]
        if unknown:
            raise argparse.ArgumentTypeError(f"not one of {', '.join(allowed)}: {unknown}")
        return names

    return parse


def _share(text: str) -> float:
    try:
        share = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < share <= 64:
        raise argparse.ArgumentTypeError("a share of one CPU up to 64, e.g. 0.35")
    return share


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--pairs", type=int, default=2000, help="pairs (their mentors send)")
    parser.add_argument("--requests", type=int, default=600, help="per pass")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (medians over them)")
    parser.add_argument("--clients", type=int, default=8, help="clients in the rate pass")
    parser.add_argument("--in-flight", type=int, default=50, help="clients in the other pass")
    parser.add_argument("--seed", type=int, default=7)
    add_postgres_url(parser)
    parser.add_argument(
        "--kinds", type=_names(KINDS), default=KINDS, help="e.g. win,click (default: all)"
    )
    parser.add_argument(
        "--targets",
        type=_names(TARGETS),
        default=TARGETS,
        help="e.g. 'floor,mentorbot' (default: all four)",
    )
    parser.add_argument(
        "--json", type=Path, help="also write the numbers here (with every request's timeline)"
    )
    parser.add_argument(
        "--profile", type=Path, help="run process A under cProfile, its stats written here"
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="Linux: the mentorbot process on a CPU of its own; this process, the floors "
        "and a local PostgreSQL on the others (only with --targets mentorbot)",
    )
    parser.add_argument(
        "--cpu-quota",
        type=_share,
        metavar="SHARE",
        help="Linux, as root: each mentorbot and floor process gets at most this share of "
        "one CPU (e.g. 0.35), so two processes have twice the CPU of one on any machine",
    )
    parser.add_argument(
        "--cpu-quota-period-ms",
        type=float,
        default=QUOTA_PERIOD_MS,
        metavar="MS",
        help=f"the period the share is given in (default {QUOTA_PERIOD_MS:g}, the kernel's; "
        "from 1 to 1000)",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.cpu_quota_period_ms <= 1000:
        parser.error("--cpu-quota-period-ms: from 1 to 1000 (the kernel's bounds)")
    if args.cpu_quota is not None and args.cpu_quota * args.cpu_quota_period_ms < 1:
        parser.error("--cpu-quota: the share of one period must be at least 1 ms")
    if args.pin and args.cpu_quota is not None:
        parser.error("--pin and --cpu-quota each decide where the CPU goes: pick one")
    if args.pin and set(args.targets) != {"mentorbot"}:
        parser.error("--pin measures one mentorbot process: use it with --targets mentorbot")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.profile is not None:
        args.profile = args.profile.resolve()  # the processes run in a temporary folder
    with tempfile.TemporaryDirectory(prefix="bench-slack-run-") as work:
        results = asyncio.run(run(args, Path(work)))
    print(summary(results))
    print(json.dumps(results["checks"], indent=2, ensure_ascii=False))
    if results["pinned"]:
        print(f"CPUs pinned (--pin): {results['pinned']}")
    if results["cpu_quota"]:
        print(f"CPU quota (--cpu-quota): {results['cpu_quota']}")
    print(f"load average at the end: {results['load_average']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
