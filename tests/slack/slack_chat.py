"""A Slack conversation in a few lines: ``await slack.command(ALICE, "/win shipped it")``
sends a signed request to the real Bolt app over loopback, as Slack would; what the bot
sent back is read from the fake Slack's record (``slack.dms(BOB)``).

Payloads are built from the JSON fixtures of real Slack payloads in ``fixtures/``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

from adapters.slack.app import SlackAdapter
from bot.clock import ManualClock
from bot.delivery import DeliveryReport, deliver_all
from bot.refs import Platform
from bot.storage.database import Database
from tests.slack.fake_slack import TEAM, FakeSlack

FIXTURES = Path(__file__).parent / "fixtures"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
GENERAL = "C0GENERAL"


def fixture(name: str) -> dict[str, Any]:
    data = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def ephemeral_click(slack: SlackChat, user: str, element: dict[str, Any]) -> dict[str, Any]:
    """A press on a button of an ephemeral answer in #general."""
    payload = fixture("block_actions")
    payload["user"] = {"id": user, "username": "alice", "name": "alice", "team_id": TEAM}
    payload["container"] = {
        "type": "message",
        "message_ts": "1700000099.000100",
        "channel_id": GENERAL,
        "is_ephemeral": True,
    }
    payload["channel"] = {"id": GENERAL, "name": "general"}
    payload["response_url"] = slack.fake.response_url()
    payload["actions"][0] |= {"action_id": element["action_id"], "text": element["text"]}
    return payload


def sign(body: str, timestamp: int, secret: str = SECRET) -> str:
    """Slack's v0 signature: HMAC-SHA256 of ``v0:{timestamp}:{body}``."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_win(
    response_url: str, text: str, *, team_id: str = TEAM, trigger: str = "1.2.trigger"
) -> tuple[str, dict[str, str]]:
    """A signed ``/win`` from alice, as Slack POSTs it to ``/slack/events``: the body
    and its headers. Its ``trigger`` id is its delivery key: another is another /win."""
    body = urlencode(
        {
            "command": "/win",
            "text": text,
            "user_id": "U0ALICE",
            "user_name": "alice",
            "team_id": team_id,
            "channel_id": "D0ALICE",
            "trigger_id": trigger,
            "response_url": response_url,
            "api_app_id": "A0APP",
        }
    )
    stamp = int(time.time())
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(stamp),
        "X-Slack-Signature": sign(body, stamp),
    }
    return body, headers


async def win_over_http(
    events_url: str,
    response_url: str,
    text: str,
    *,
    team_id: str = TEAM,
    trigger: str = "1.2.trigger",
) -> str:
    """A signed ``/win`` from alice POSTed to ``events_url`` (a ``/slack/events``), as
    Slack sends it: the text of the answer, which must be a 200."""
    body, headers = signed_win(response_url, text, team_id=team_id, trigger=trigger)
    async with (
        aiohttp.ClientSession() as http,
        http.post(events_url, data=body, headers=headers) as response,
    ):
        assert response.status == 200
        return await response.text()


def trigger_id() -> str:
    """A fresh trigger id, shaped as Slack's."""
    return f"{uuid.uuid4().int % 10**11}.{uuid.uuid4().hex[:12]}"


def _acted_by(payload: dict[str, Any], user: str) -> None:
    """An interaction payload (a click, a submission) as ``user`` sends it."""
    payload["user"] = {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM}
    payload["trigger_id"] = trigger_id()


def im(user: str) -> str:
    """The id of a user's DM with the bot, as the fake answers it."""
    return "D" + user[1:]


@dataclass
class Answer:
    status: int
    body: str

    @property
    def json(self) -> dict[str, Any]:
        data = json.loads(self.body)
        assert isinstance(data, dict)
        return data

    @property
    def text(self) -> str:
        """The text of the ack: a JSON message's ``text``, or the plain body."""
        if self.body.startswith("{"):
            return str(self.json.get("text", ""))
        return self.body


@dataclass
class Shown:
    """A message the bot put in a DM (posted or updated), with its buttons."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]

    def buttons(self) -> Iterator[dict[str, Any]]:
        for block in self.blocks:
            if block.get("type") == "actions":
                yield from block.get("elements", [])


class SlackChat:
    def __init__(
        self,
        fake: FakeSlack,
        adapter: SlackAdapter,
        database: Database,
        clock: ManualClock,
        *,
        secret: str = SECRET,
    ) -> None:
        self.fake = fake
        self.adapter = adapter
        self.database = database
        self.clock = clock
        self.secret = secret
        self.session = aiohttp.ClientSession()

    async def close(self) -> None:
        await self.session.close()

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.adapter.port}/slack/events"

    # -- sending what Slack sends -------------------------------------------------------

    async def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        stamp = int(time.time()) if timestamp is None else timestamp
        sent = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(stamp),
            "X-Slack-Signature": signature or sign(body, stamp, self.secret),
            **(headers or {}),
        }
        async with self.session.post(self.events_url, data=body.encode(), headers=sent) as reply:
            answer = Answer(reply.status, await reply.text())
        # The work after the ack (DMs, forms, updates) is done before the test looks.
        await self.adapter.drain()
        return answer

    def command_form(self, user: str, line: str, *, channel: str = GENERAL) -> dict[str, str]:
        command, _, text = line.partition(" ")
        form = fixture("slash_command")
        form |= {
            "team_id": TEAM,
            "user_id": user,
            "user_name": user.lower(),
            "channel_id": channel,
            "channel_name": "directmessage" if channel.startswith("D") else "general",
            "command": command,
            "text": text,
            "response_url": self.fake.response_url(),
            "trigger_id": trigger_id(),
        }
        return form

    async def command(
        self,
        user: str,
        line: str,
        *,
        channel: str = GENERAL,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """``/win shipped it`` typed by ``user``: form-encoded and signed."""
        body = urlencode(self.command_form(user, line, channel=channel))
        return await self.post(body, "application/x-www-form-urlencoded", headers=headers)

    async def interaction(self, payload: Mapping[str, Any]) -> Answer:
        body = urlencode({"payload": json.dumps(payload)})
        return await self.post(body, "application/x-www-form-urlencoded")

    def shown(self, user: str) -> list[Shown]:
        """Every message the bot put in ``user``'s DM, oldest first; updates replace."""
        found: dict[tuple[str, str], Shown] = {}
        for call in self.fake.calls:
            if call.method == "chat.postMessage" and call.args.get("channel") == user:
                channel, ts = str(call.result.get("channel")), str(call.result.get("ts"))
            elif call.method == "chat.update" and call.args.get("channel") == im(user):
                channel, ts = im(user), str(call.args.get("ts"))
            else:
                continue
            text, blocks = str(call.args.get("text", "")), list(call.args.get("blocks") or [])
            found[(channel, ts)] = Shown(channel, ts, text, blocks)
        return list(found.values())

    def button(self, user: str, label: str) -> tuple[Shown, dict[str, Any]]:
        for message in reversed(self.shown(user)):
            for element in message.buttons():
                if element["text"]["text"] == label:
                    return message, element
        raise AssertionError(f"{user} sees no [{label}] button")

    def click_payload(self, user: str, label: str) -> dict[str, Any]:
        message, element = self.button(user, label)
        payload = fixture("block_actions")
        _acted_by(payload, user)
        payload["team"] = {"id": TEAM, "domain": "example"}
        payload["container"] |= {"message_ts": message.ts, "channel_id": message.channel}
        payload["channel"] = {"id": message.channel, "name": "directmessage"}
        payload["message"] |= {"ts": message.ts, "text": message.text, "blocks": message.blocks}
        payload["response_url"] = self.fake.response_url()
        payload["actions"][0] |= {
            "action_id": element["action_id"],
            "value": element.get("value", ""),
            "text": element["text"],
        }
        return payload

    async def click(self, user: str, label: str) -> Answer:
        """``user`` presses the newest button labelled ``label`` in their DM."""
        return await self.interaction(self.click_payload(user, label))

    async def press_on_home(self, user: str, label: str) -> Answer:
        """``user`` presses a button on their App Home tab (as last published)."""
        views = [c["view"] for c in self.fake.called("views.publish") if c["user_id"] == user]
        assert views, f"no Home tab was published for {user}"
        elements = [e for b in views[-1]["blocks"] if b["type"] == "actions" for e in b["elements"]]
        element = next(e for e in elements if e["text"]["text"] == label)
        payload = fixture("block_actions_home")
        _acted_by(payload, user)
        payload["actions"][0] |= {"action_id": element["action_id"], "text": element["text"]}
        return await self.interaction(payload)

    def opened_view(self) -> dict[str, Any]:
        opened = self.fake.called("views.open")
        assert opened, "no modal was opened"
        view = opened[-1]["view"]
        assert isinstance(view, dict)
        return view

    def submission(self, user: str, view: Mapping[str, Any], **values: str) -> dict[str, Any]:
        payload = fixture("view_submission")
        _acted_by(payload, user)
        # A field left alone comes back as it opened (its initial_value, if any).
        state = {
            block["block_id"]: {
                "value": {
                    "type": "plain_text_input",
                    "value": values.get(block["block_id"], block["element"].get("initial_value")),
                }
            }
            for block in view["blocks"]
            if block.get("type") == "input"
        }
        payload["view"] = {
            **payload["view"],
            **view,
            "id": f"V{uuid.uuid4().hex[:8]}",
            "state": {"values": state},
        }
        return payload

    async def submit(self, user: str, **values: str) -> Answer:
        """``user`` fills in the newest modal opened and presses its submit button."""
        return await self.interaction(self.submission(user, self.opened_view(), **values))

    def event_body(self, name: str, **event: Any) -> dict[str, Any]:
        body = fixture(name)
        body["team_id"] = TEAM
        body["event"] |= event
        body["event_id"] = f"Ev{uuid.uuid4().hex[:10].upper()}"
        return body

    async def event(
        self, body: Mapping[str, Any], *, headers: Mapping[str, str] | None = None
    ) -> Answer:
        return await self.post(json.dumps(body), "application/json", headers=headers)

    async def dm(self, user: str, text: str) -> Answer:
        """``user`` writes ``text`` to the bot in their DM (a ``message.im`` event)."""
        body = self.event_body("message_im", user=user, text=text, channel=im(user), team=TEAM)
        return await self.event(body)

    async def edit(self, user: str, before: str, after: str) -> Answer:
        """``user`` edits a message they had written in their DM, ``before``, to ``after``
        (a ``message_changed`` event)."""
        body = self.event_body("message_changed_im", channel=im(user))
        for key, text in (("previous_message", before), ("message", after)):
            body["event"][key] |= {"user": user, "text": text}
        body["event"]["message"]["edited"]["user"] = user
        return await self.event(body)

    # -- what people saw ----------------------------------------------------------------

    async def deliver(self) -> DeliveryReport:
        """Send what the outbox holds through the adapter's sender (the delivery worker's
        job in production)."""
        return await deliver_all(self.database, {Platform.SLACK: self.adapter.sender}, self.clock)

    def dms(self, user: str) -> list[str]:
        return self.fake.texts_to(user)

    def channel_posts(self, channel: str) -> list[str]:
        return self.fake.texts_to(channel)
