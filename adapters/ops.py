"""The operator's window on a running bot: one aiohttp application on ``PORT``.

- ``GET /healthz``: 200 when the database answers ``SELECT 1`` within a couple of
  seconds and every configured platform is connected, else 503; the JSON body says which
  part is not, e.g. ``{"status": "ok", "database": "ok", "slack": "connected"}``.
- ``GET /metrics``: Prometheus text (commands handled, messages delivered and failed by
  kind, outbox depth by status, dispatch pass duration). With ``METRICS_TOKEN`` set, only
  for requests that carry it as ``Authorization: Bearer <token>`` (else 401).
- With Slack in HTTP mode, the Slack adapter adds ``/slack/events`` to this same
  application, so the process listens on one port; unless ``OPS_PORT`` gives these two
  routes a port of their own (on ``OPS_HOST``, e.g. 127.0.0.1, out of the public's reach).

:class:`Metrics` is the Prometheus end of the core's :class:`~bot.telemetry.Telemetry`;
each has its own registry (several can live in one process, as in tests).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from typing import Protocol

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from sqlalchemy import func, select, text

from adapters.net import listen
from bot.storage.database import Database
from bot.storage.models import OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)

HEALTHZ_PATH = "/healthz"
METRICS_PATH = "/metrics"
DATABASE_TIMEOUT_SECONDS = 2.0
DISPATCH_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class OpsStartError(RuntimeError):
    """The ops server cannot listen (the port is taken or not allowed)."""


class Connectable(Protocol):
    @property
    def connected(self) -> bool: ...


class Metrics:
    """Prometheus counters behind the core's Telemetry protocol."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.commands = Counter(
            "mentorbot_commands_handled",
            "Chat commands handled, by platform and command (win or the /mentor subcommand).",
            ["platform", "command"],
            registry=self.registry,
        )
        self.delivered_messages = Counter(
            "mentorbot_messages_delivered",
            "Outbox messages the platform accepted.",
            ["platform"],
            registry=self.registry,
        )
        self.failed_messages = Counter(
            "mentorbot_messages_failed",
            "Outbox delivery attempts that failed, by kind (rate_limited and retry are "
            "tried again; the others are permanent).",
            ["platform", "reason"],
            registry=self.registry,
        )
        self.outbox_depth = Gauge(
            "mentorbot_outbox_depth",
            "Outbox messages waiting (pending) or in flight (sending), counted when scraped.",
            ["status"],
            registry=self.registry,
        )
        self.resent_messages = Counter(
            "mentorbot_messages_resent",
            "Outbox messages whose earlier attempt's outcome was never recorded: found on "
            "the platform (found) or sent again without a way to check (unchecked: a "
            "possible duplicate).",
            ["outcome"],
            registry=self.registry,
        )
        self.dispatch_seconds = Histogram(
            "mentorbot_dispatch_pass_seconds",
            "How long a dispatch pass (due check-ins, nudges, follow-ups) took.",
            buckets=DISPATCH_BUCKETS,
            registry=self.registry,
        )

    # -- the Telemetry protocol --------------------------------------------------------

    def command_handled(self, platform: str, command: str) -> None:
        self.commands.labels(platform=platform, command=command).inc()

    def delivered(self, platform: str) -> None:
        self.delivered_messages.labels(platform=platform).inc()

    def failed(self, platform: str, reason: str) -> None:
        self.failed_messages.labels(platform=platform, reason=reason).inc()

    def dispatch_pass(self, seconds: float) -> None:
        self.dispatch_seconds.observe(seconds)

    def resent(self, found: int, unchecked: int) -> None:
        if found:
            self.resent_messages.labels(outcome="found").inc(found)
        if unchecked:
            self.resent_messages.labels(outcome="unchecked").inc(unchecked)

    # -- scraping ----------------------------------------------------------------------

    async def scrape(self, database: Database) -> bytes:
        """The exposition text, with the outbox depth read now (left out when the
        database does not answer in time: no number is better than a stale one)."""
        try:
            depth = await asyncio.wait_for(outbox_depth(database), DATABASE_TIMEOUT_SECONDS)
        except Exception as error:
            log.warning("metrics: could not count the outbox (%s)", type(error).__name__)
            self.outbox_depth.clear()
        else:
            for status in QUEUED:
                self.outbox_depth.labels(status=status.value).set(depth.get(status.value, 0))
        return generate_latest(self.registry)


# The queue: what waits and what is in flight. Sent and failed rows are history that
# only grows, so they are not counted at every scrape (the delivered and failed counters
# say how many went each way).
QUEUED = (OutboxStatus.PENDING, OutboxStatus.SENDING)


async def outbox_depth(database: Database) -> dict[str, int]:
    """One indexed range per status (``ix_outbox_status_next_attempt``): costs the queue's
    length, not the outbox's history."""
    async with database.transaction() as session:
        rows = await session.execute(
            select(OutboxMessage.status, func.count())
            .where(OutboxMessage.status.in_([s.value for s in QUEUED]))
            .group_by(OutboxMessage.status)
        )
        return {str(status): int(count) for status, count in rows.all()}


async def database_answers(database: Database) -> bool:
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT_SECONDS):
            async with database.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except Exception as error:
        log.warning("health: the database did not answer (%s)", type(error).__name__)
        return False
    return True


class OpsServer:
    """``/healthz`` and ``/metrics`` (and whatever other routes are added to ``app``
    before :meth:`start`) on one port."""

    def __init__(
        self,
        database: Database,
        metrics: Metrics,
        *,
        host: str = "0.0.0.0",
        port: int = 3000,
        metrics_token: str | None = None,
    ) -> None:
        self._database = database
        self._metrics_token = metrics_token.encode() if metrics_token else None
        self.metrics = metrics
        self._host = host
        self._requested_port = port
        self._platforms: dict[str, Connectable] = {}
        self._runner: web.AppRunner | None = None
        self._stopping = False
        self.port: int | None = None
        self.app = web.Application()
        self.app.router.add_get(HEALTHZ_PATH, self._healthz)
        self.app.router.add_get(METRICS_PATH, self._metrics)

    def watch(self, name: str, platform: Connectable) -> None:
        """A configured platform: /healthz is not ok while it is not connected."""
        self._platforms[name] = platform

    async def start(self) -> None:
        listening = listen(self._host, self._requested_port, OpsStartError)
        # A short shutdown: requests in flight (a Slack ack) finish within seconds.
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=3.0)
        await self._runner.setup()
        await web.SockSite(self._runner, listening).start()
        self.port = int(listening.getsockname()[1])
        log.info("serving %s and %s on %s:%s", HEALTHZ_PATH, METRICS_PATH, self._host, self.port)

    async def stop(self) -> None:
        """Not healthy from now on, and no more requests (SIGTERM: first thing)."""
        self._stopping = True
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def health(self) -> tuple[bool, dict[str, str]]:
        database_ok = await database_answers(self._database)
        report = {"database": "ok" if database_ok else "unreachable"}
        for name, platform in self._platforms.items():
            report[name] = "connected" if platform.connected else "disconnected"
        healthy = (
            not self._stopping
            and database_ok
            and all(value != "disconnected" for value in report.values())
        )
        status = "stopping" if self._stopping else "ok" if healthy else "unhealthy"
        return healthy, {"status": status, **report}

    async def _healthz(self, request: web.Request) -> web.Response:
        healthy, report = await self.health()
        return web.json_response(report, status=200 if healthy else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        if self._metrics_token is not None and not _bearer_is(
            request.headers.get("Authorization", ""), self._metrics_token
        ):
            return web.Response(
                status=401,
                text="/metrics needs the bearer token (METRICS_TOKEN)\n",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        body = await self.metrics.scrape(self._database)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def _bearer_is(authorization: str, token: bytes) -> bool:
    """``Authorization: Bearer <token>`` (RFC 6750 section 2.1), compared in constant time."""
    scheme, _, given = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode("utf-8", "replace"), token)
