"""Fuzzing the real Bolt HTTP endpoint over loopback with a seeded generator: random
bodies (bytes, text, JSON of any shape, real payloads with fields replaced, removed or
sent in the wrong encoding), content types and headers, unsigned and signed.

Whatever arrives: no answer is a 5xx, nothing in the log is a traceback or an ERROR,
and the unsigned requests write no row at all.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import logging
import random
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from sqlalchemy import func, select

from adapters.slack.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER
from bot.storage.database import Database
from bot.storage.models import Base
from tests.slack.conftest import ALICE, BOB
from tests.slack.fake_slack import TEAM
from tests.slack.slack_chat import SECRET, SlackChat, fixture, sign

SEED = 20261202
UNSIGNED_REQUESTS = 200
SIGNED_REQUESTS = 250
CONTENT_TYPES = (
    "application/json",
    "application/json; charset=utf-8",
    "application/x-www-form-urlencoded",
    "text/plain",
    "application/octet-stream",
    "multipart/form-data; boundary=xyz",
    "",
)
FIXTURES = (
    "slash_command",
    "block_actions",
    "block_actions_home",
    "view_submission",
    "message_im",
    "app_home_opened",
    "app_uninstalled",
    "tokens_revoked",
)
FORM_ENCODED = {"slash_command"}
INTERACTIONS = {"block_actions", "block_actions_home", "view_submission"}


def any_value(rng: random.Random, depth: int = 0) -> Any:
    """A JSON value of any type, sometimes huge or deep."""
    kind = rng.randrange(11 if depth < 3 else 7)
    match kind:
        case 0:
            return None
        case 1:
            return rng.choice([True, False])
        case 2:
            return rng.choice([0, -1, 1, 2**63, -(2**63) - 1, 10**30, rng.randrange(-1000, 1000)])
        case 3:
            return rng.choice([0.5, -1e308, 1e308])
        case 4:
            return rng.choice(["", " ", "x" * rng.randrange(1, 5000), "\x00\x1b[2J", "ü🎉"])
        case 5:
            return rng.choice([ALICE, BOB, "U" + "9" * 100, "journal:0", "journal:-5", "flow:x:y"])
        case 6:
            return "".join(chr(rng.randrange(1, 0x2FFF)) for _ in range(rng.randrange(0, 40)))
        case 7 | 8:
            return [any_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))]
        case _:
            return {
                rng.choice(
                    ["type", "user", "id", "event", "text", "value", "actions", "view"]
                ): any_value(rng, depth + 1)
                for _ in range(rng.randrange(0, 4))
            }


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place inside a JSON value (dict keys and list indexes)."""
    found: list[tuple[Any, ...]] = []
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, inner in items:
        found.append((*prefix, key))
        found += paths(inner, (*prefix, key))
    return found


def mutated(rng: random.Random, payload: dict[str, Any]) -> dict[str, Any]:
    """A real payload with one to three places replaced by another type, or removed."""
    payload = copy.deepcopy(payload)
    for _ in range(rng.randrange(1, 4)):
        places = paths(payload)
        if not places:
            break
        *parent_path, last = rng.choice(places)
        parent: Any = payload
        for key in parent_path:
            parent = parent[key]
        if rng.random() < 0.2 and isinstance(parent, dict):
            del parent[last]
        else:
            parent[last] = any_value(rng)
    return payload


def real_payload(rng: random.Random) -> tuple[str, dict[str, Any]]:
    name = rng.choice(FIXTURES)
    payload = fixture(name)
    for holder in (payload, payload.get("event"), payload.get("user")):
        if isinstance(holder, dict):
            for key in ("team_id", "team"):
                if isinstance(holder.get(key), str):
                    holder[key] = TEAM
    if name in FORM_ENCODED:
        payload["user_id"] = rng.choice([ALICE, BOB])
        payload["text"] = rng.choice(["", "journal 0", "pause 3d", "help", "status", "x" * 50])
    return name, payload


def encode(rng: random.Random, name: str, payload: dict[str, Any]) -> tuple[bytes, str]:
    """The payload as Slack sends its kind, or, one time in four, the wrong way."""
    wrong = rng.random() < 0.25
    form = name in FORM_ENCODED
    interaction = name in INTERACTIONS
    if form != wrong:
        fields = {k: v if isinstance(v, str) else json.dumps(v) for k, v in payload.items()}
        return urlencode(fields).encode(), "application/x-www-form-urlencoded"
    if interaction and not wrong:
        body = urlencode({"payload": json.dumps(payload)})
        return body.encode(), "application/x-www-form-urlencoded"
    return json.dumps(payload).encode(), "application/json"


def random_body(rng: random.Random) -> tuple[bytes, str]:
    kind = rng.randrange(7)
    match kind:
        case 0:
            return rng.randbytes(rng.randrange(0, 300)), rng.choice(CONTENT_TYPES)
        case 1:
            return rng.choice(
                [b"{x", b"payload=%7Bnot", b"[", b"{}", b"[]", b"null", b"1"]
            ), rng.choice(CONTENT_TYPES)
        case 2:
            return json.dumps(any_value(rng)).encode(), rng.choice(CONTENT_TYPES)
        case 3:
            raw = json.dumps(any_value(rng))
            return f"payload={quote(raw)}".encode(), "application/x-www-form-urlencoded"
        case 4:
            text = "".join(chr(rng.randrange(1, 0x10FFFF)) for _ in range(rng.randrange(0, 60)))
            return text.encode("utf-8", "surrogatepass"), rng.choice(CONTENT_TYPES)
        case _:
            name, payload = real_payload(rng)
            body, content_type = encode(rng, name, mutated(rng, payload))
            return body, rng.choice([content_type, content_type, *CONTENT_TYPES])


def unsigned_headers(rng: random.Random, body: bytes) -> dict[str, str]:
    now = int(time.time())
    good = sign(body.decode("utf-8", "replace"), now)
    choices: list[Callable[[], dict[str, str]]] = [
        lambda: {},
        lambda: {TIMESTAMP_HEADER: str(now)},
        lambda: {SIGNATURE_HEADER: good},
        lambda: {TIMESTAMP_HEADER: "abc", SIGNATURE_HEADER: good},
        lambda: {TIMESTAMP_HEADER: "9" * 5000, SIGNATURE_HEADER: "v0=1"},
        lambda: {TIMESTAMP_HEADER: "-1", SIGNATURE_HEADER: "v0=1"},
        lambda: {TIMESTAMP_HEADER: str(now - 3600), SIGNATURE_HEADER: sign("", now - 3600)},
        lambda: {TIMESTAMP_HEADER: str(now), SIGNATURE_HEADER: "v0=" + "0" * 64},
        lambda: {TIMESTAMP_HEADER: str(now), SIGNATURE_HEADER: sign(body.hex(), now)},
        lambda: {TIMESTAMP_HEADER: str(now), SIGNATURE_HEADER: "ü" * 70},
        lambda: {TIMESTAMP_HEADER: str(now), SIGNATURE_HEADER: sign("x", now, "other-secret")},
    ]
    return rng.choice(choices)()


def extra_headers(rng: random.Random) -> dict[str, str]:
    extra: dict[str, str] = {}
    if rng.random() < 0.2:
        extra["X-Slack-Retry-Num"] = rng.choice(["1", "abc", "-3", "9" * 40])
        extra["X-Slack-Retry-Reason"] = rng.choice(["http_timeout", "", "ü"])
    return extra


async def rows(database: Database) -> dict[str, int]:
    async with database.transaction() as session:
        return {
            table.name: int(await session.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
        }


async def send(slack: SlackChat, body: bytes, content_type: str, headers: dict[str, str]) -> int:
    sent = {"Content-Type": content_type, **headers} if content_type else headers
    async with slack.session.post(slack.events_url, data=body, headers=sent) as reply:
        await reply.read()
        status = reply.status
    await slack.adapter.drain()
    return status


@pytest.fixture
def every_record(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    for name in ("slack_bolt", "slack_bolt.AsyncApp", "adapters", "aiohttp"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


async def test_random_requests_get_no_5xx_no_traceback_and_unsigned_ones_write_nothing(
    slack: SlackChat, database: Database, every_record: pytest.LogCaptureFixture
) -> None:
    rng = random.Random(SEED)
    # Known people, so signed requests can reach the Engine and write.
    assert (await slack.command(ALICE, f"/mentor pair <@{ALICE}> <@{BOB}>")).status == 200
    before = await rows(database)

    statuses: list[int] = []
    failed: list[tuple[int, str, bytes]] = []
    for _ in range(UNSIGNED_REQUESTS):
        body, content_type = random_body(rng)
        headers = unsigned_headers(rng, body) | extra_headers(rng)
        statuses.append(await send(slack, body, content_type, headers))

    assert await rows(database) == before
    assert set(statuses) <= {400, 401, 413}, sorted(set(statuses))
    refusals = [r for r in every_record.records if "refused unsigned" in r.getMessage()]
    assert len(refusals) == 1  # throttled: one line for all of them

    for _ in range(SIGNED_REQUESTS):
        body, content_type = random_body(rng)
        stamp = int(time.time())
        signature = "v0=" + sign_bytes(body, stamp)
        headers = {TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: signature}
        status = await send(slack, body, content_type, headers | extra_headers(rng))
        statuses.append(status)
        if status >= 500:
            failed.append((status, content_type, body[:300]))

    assert failed == []
    assert 200 in statuses[UNSIGNED_REQUESTS:]  # some signed ones were real requests
    bad = [
        f"{r.levelname} {r.name}: {r.getMessage()}"
        for r in every_record.records
        if r.levelno >= logging.ERROR or r.exc_info or r.exc_text
    ]
    assert bad == []


def sign_bytes(body: bytes, stamp: int) -> str:
    base = f"v0:{stamp}:".encode() + body
    return hmac.new(SECRET.encode(), base, hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    ("body", "content_type", "headers", "status"),
    [
        (b"{x", "application/json", {}, 401),
        (b"payload=%7Bnot", "application/x-www-form-urlencoded", {SIGNATURE_HEADER: "v0=1"}, 401),
        (bytes(range(256)), "application/octet-stream", {}, 401),
        (b"command=%2Fwin", "application/x-www-form-urlencoded", {TIMESTAMP_HEADER: "abc"}, 400),
    ],
    ids=["json", "form", "bytes", "timestamp"],
)
async def test_unsigned_garbage_is_refused_before_parsing_with_one_short_line(
    slack: SlackChat,
    every_record: pytest.LogCaptureFixture,
    body: bytes,
    content_type: str,
    headers: dict[str, str],
    status: int,
) -> None:
    sent = {SIGNATURE_HEADER: "v0=" + "0" * 64} | headers
    statuses = [await send(slack, body, content_type, sent) for _ in range(20)]
    assert statuses == [status] * 20
    ours = [r for r in every_record.records if r.levelno >= logging.WARNING]
    assert len(ours) == 1
    assert ours[0].getMessage().startswith("Slack: refused unsigned or malformed requests: 1 ")
    assert len(ours[0].getMessage()) < 120 and not ours[0].exc_info


def signed(body: str) -> dict[str, str]:
    stamp = int(time.time())
    return {TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: sign(body, stamp)}


async def test_signed_payloads_of_odd_shapes_get_400_and_a_warning(
    slack: SlackChat, every_record: pytest.LogCaptureFixture
) -> None:
    as_string = slack.event_body("message_im", user=BOB, text="hi")
    as_string["event"] = "a message"
    number_user = slack.event_body("message_im", user=12345, text="hi", channel="D0BOB")
    click = urlencode({"payload": json.dumps(fixture("block_actions"))})
    for body in (json.dumps(as_string), json.dumps(number_user), click):
        # The click is a form body, sent as JSON.
        status = await send(slack, body.encode(), "application/json", signed(body))
        assert status == 400, body
    warnings = [r.getMessage() for r in every_record.records if r.levelno == logging.WARNING]
    assert len([w for w in warnings if "unexpected shape" in w]) == 3, warnings
    assert not [r for r in every_record.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_slacks_unsigned_ssl_check_is_answered_without_a_log_line(
    slack: SlackChat, every_record: pytest.LogCaptureFixture
) -> None:
    body = b"ssl_check=1&token=gIkuvaNzQIHg97ATvDxqgjtO"
    assert await send(slack, body, "application/x-www-form-urlencoded", {}) == 200
    assert await send(slack, body + b"&x=" + b"y" * 600, "text/plain", {}) == 401
    ours = [r.getMessage() for r in every_record.records if r.name.startswith("adapters")]
    assert len(ours) == 1 and "refused unsigned" in ours[0]  # the second one only
