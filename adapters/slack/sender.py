"""Delivering the outbox to Slack: ``chat.postMessage`` with blocks and a text fallback,
and Slack's answers mapped to the delivery worker's failure classes.

DMs are posted to the user id itself (Slack opens the DM; no ``conversations.open`` per
message). The client is built without slack-sdk's retry handlers: a retried
``chat.postMessage`` after a dropped connection can post twice, and the outbox already
retries, with backoff and the ``Retry-After`` of a 429.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, assert_never

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import render
from bot.content import Content
from bot.delivery import DeliveryFailure, FailureScope
from bot.effects import Attachment, PostToChannel, SendDM

log = logging.getLogger(__name__)

# Slack's error codes, by what they say cannot be reached. The reasons are read by people
# (an admin is told why a shout-out could not be posted), so they are sentences.
CHANNEL_ERRORS = {
    "not_in_channel": "I'm not a member of that channel: invite me with /invite",
    "channel_not_found": "the channel was not found, or it is private and I'm not in it",
    "is_archived": "the channel is archived",
    "restricted_action": "the workspace does not let me post in that channel",
    "restricted_action_read_only_channel": "the channel is read-only",
    "restricted_action_thread_only_channel": "the channel takes replies in threads only",
    "restricted_action_non_threadable_channel": "the workspace does not let me post there",
    "ekm_access_denied": "the workspace's admins suspended posting",
}
RECIPIENT_ERRORS = {
    "user_not_found": "the person is not in the workspace",
    "user_disabled": "the person's account is deactivated",
    "user_not_visible": "I'm not allowed to see that person",
    "cannot_dm_bot": "that is a bot, and bots cannot be sent direct messages",
    "messages_tab_disabled": "the person cannot receive messages from me",
}
WORKSPACE_ERRORS = {
    "invalid_auth": "the bot token is not valid",
    "not_authed": "no bot token was sent",
    "token_revoked": "the bot token was revoked",
    "token_expired": "the bot token expired",
    "account_inactive": "the bot's account or the workspace is deactivated",
    "team_access_not_granted": "the bot has no access to this workspace",
    "missing_scope": "the app lacks the chat:write scope: reinstall it",
    "not_allowed_token_type": "the token is not a bot token",
    "team_not_found": "the workspace is gone",
}
# The message itself is wrong: sending it again would fail again.
MESSAGE_ERRORS = {"msg_too_long", "no_text", "too_many_attachments", "invalid_arguments"}
# The blocks are refused (too long, malformed): the words go again as plain text.
# ``msg_blocks_too_long``: more block text than Slack takes in one message (bolt-js
# issues #2509 and #2867); see ``render.MESSAGE_BLOCK_TEXT_CHARS``.
BLOCK_ERRORS = {"invalid_blocks", "invalid_blocks_format", "msg_blocks_too_long"}
DEFAULT_RETRY_AFTER = timedelta(seconds=30)
# Each outbox message carries its id in the message's metadata (chat.postMessage
# ``metadata``: ``event_type`` and ``event_payload``), so a message whose ``sent`` mark
# was never written can be looked for in the DM (conversations.history with
# ``include_all_metadata``, the ``im:history`` scope) before it is sent again.
OUTBOX_EVENT = "mentorbot_outbox"
# How far back in the DM to look: the newest messages (Slack's default page is 100).
HISTORY_LOOKBACK = 100
# Why an upload failed, in words for the person who asked for the file.
UPLOAD_ERRORS = {
    "missing_scope": "the app may not upload files yet (it needs the files:write "
    "permission): ask whoever runs mentorbot to reinstall it",
    "not_in_channel": "Slack wouldn't let me post in our DM",
    "channel_not_found": "Slack wouldn't let me post in our DM",
    "ratelimited": "Slack asked me to slow down; try again in a minute",
    "rate_limited": "Slack asked me to slow down; try again in a minute",
    "file_upload_size_restricted": "the workspace does not allow files this big",
    "file_uploads_disabled": "the workspace's admins turned file uploads off",
    "file_uploads_except_images_disabled": "the workspace only allows images",
}


class UploadFailed(Exception):
    """An upload Slack did not take; ``reason`` is a sentence for the person."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def upload_failure(error: Exception) -> UploadFailed:
    """A failed upload in plain words (pure). Only the error code is looked at: the
    request (the token, the file) never goes into the reason."""
    if isinstance(error, SlackApiError):
        code, status, _ = slack_error(error)
        if status == 429:
            code = "ratelimited"
        if code in UPLOAD_ERRORS:
            return UploadFailed(UPLOAD_ERRORS[code])
        if code in WORKSPACE_ERRORS:
            return UploadFailed(f"{WORKSPACE_ERRORS[code]} (Slack said {code})")
        if status >= 500 or code in ("internal_error", "fatal_error", "service_unavailable"):
            return UploadFailed("Slack is having trouble right now; try again in a few minutes")
        return UploadFailed(f"Slack said {code or status}")
    if isinstance(error, TimeoutError | aiohttp.ClientError | OSError):
        return UploadFailed("I couldn't reach Slack; try again in a few minutes")
    # SlackRequestError: the upload URL answered something other than 200.
    return UploadFailed("Slack didn't take the file's contents; try again in a few minutes")


def classify(
    error: str | None,
    *,
    status: int,
    headers: Mapping[str, str],
    dm: bool,
    token_works: bool | None = None,
) -> DeliveryFailure:
    """A failed ``chat.postMessage`` as the delivery worker's failure (pure).

    ``account_inactive`` names the token's own account, but a person deactivated since
    they paired shows up as one too: ``token_works`` (from ``auth.test``) tells them
    apart; ``None`` means it was not checked."""
    if status == 429 or error in ("ratelimited", "rate_limited"):
        return DeliveryFailure(
            "rate limited by Slack", permanent=False, retry_after=_retry_after(headers)
        )
    if error == "account_inactive" and token_works and dm:
        return DeliveryFailure(
            RECIPIENT_ERRORS["user_disabled"], permanent=True, scope=FailureScope.RECIPIENT
        )
    if error == "account_inactive" and token_works:
        return DeliveryFailure("account_inactive", permanent=False)
    if error in WORKSPACE_ERRORS:
        return DeliveryFailure(
            WORKSPACE_ERRORS[error], permanent=True, scope=FailureScope.WORKSPACE
        )
    if dm and error in RECIPIENT_ERRORS:
        return DeliveryFailure(
            RECIPIENT_ERRORS[error], permanent=True, scope=FailureScope.RECIPIENT
        )
    if dm and error in ("channel_not_found", "not_in_channel", "is_archived"):
        # Posting to a user id: an unknown id reads as an unknown channel.
        return DeliveryFailure(
            RECIPIENT_ERRORS["user_not_found"], permanent=True, scope=FailureScope.RECIPIENT
        )
    if not dm and error in CHANNEL_ERRORS:
        return DeliveryFailure(CHANNEL_ERRORS[error], permanent=True, scope=FailureScope.CHANNEL)
    if error in MESSAGE_ERRORS or error in BLOCK_ERRORS:
        return DeliveryFailure(f"Slack refused the message: {error}", permanent=True)
    if status >= 500 or error in ("internal_error", "fatal_error", "service_unavailable"):
        return DeliveryFailure(f"Slack is having trouble ({error or status})", permanent=False)
    # Anything else may pass: try again later rather than lose the message.
    return DeliveryFailure(f"Slack said {error or status}", permanent=False)


def _retry_after(headers: Mapping[str, str]) -> timedelta:
    raw = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    try:
        seconds = float(raw) if raw is not None else None
    except ValueError:
        seconds = None
    if seconds is None or seconds < 0:
        return DEFAULT_RETRY_AFTER
    return timedelta(seconds=min(seconds, 3600))


def slack_error(error: SlackApiError) -> tuple[str | None, int, Mapping[str, str]]:
    response = error.response
    data = response.data if isinstance(response.data, dict) else {}
    code = data.get("error")
    return (str(code) if code else None), int(response.status_code), dict(response.headers or {})


def web_client(token: str, api_url: str) -> AsyncWebClient:
    """The Web API client the bot sends with (``mentorbot run`` and ``dispatch``): no
    automatic retries, since a retried ``chat.postMessage`` can post twice and the outbox
    retries by itself, honouring Retry-After."""
    return AsyncWebClient(token=token, base_url=api_url, timeout=10, retry_handlers=[])


def _metadata(outbox_id: int | None) -> dict[str, Any]:
    if outbox_id is None:
        return {}
    return {"metadata": {"event_type": OUTBOX_EVENT, "event_payload": {"outbox_id": outbox_id}}}


def outbox_id_of(message: object) -> int | None:
    """The outbox id a message posted by the bot carries in its metadata (pure)."""
    metadata = message.get("metadata") if isinstance(message, dict) else None
    if not isinstance(metadata, dict) or metadata.get("event_type") != OUTBOX_EVENT:
        return None
    payload = metadata.get("event_payload")
    found = payload.get("outbox_id") if isinstance(payload, dict) else None
    return found if isinstance(found, int) and not isinstance(found, bool) else None


class SlackSender:
    """The outbox's Slack end (the core's ``Sender`` protocol)."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def perform(self, effect: SendDM | PostToChannel) -> None:
        match effect:
            case SendDM(to, content, outbox_id):
                await self.post(to.user_id, content, dm=True, outbox_id=outbox_id)
            case PostToChannel(channel, content, outbox_id):
                await self.post(channel.channel_id, content, dm=False, outbox_id=outbox_id)
            case _:
                assert_never(effect)

    async def delivered_before(self, effect: SendDM | PostToChannel) -> bool | None:
        """Whether the DM already holds this outbox message (its id in the metadata).
        None for a channel post (reading channels needs a scope the bot does not ask
        for) and when Slack does not answer the look-up."""
        if not isinstance(effect, SendDM) or effect.outbox_id is None:
            return None
        try:
            opened = await self._client.conversations_open(users=effect.to.user_id)
            channel = opened.get("channel")
            channel_id = str(channel.get("id", "")) if isinstance(channel, dict) else ""
            if not channel_id:
                return None
            history = await self._client.conversations_history(
                channel=channel_id, limit=HISTORY_LOOKBACK, include_all_metadata=True
            )
        except (SlackClientError, TimeoutError, aiohttp.ClientError) as error:
            code = slack_error(error)[0] if isinstance(error, SlackApiError) else None
            log.warning("Slack: could not read the DM's history: %s", code or type(error).__name__)
            return None
        messages = history.get("messages")
        return any(
            outbox_id_of(message) == effect.outbox_id
            for message in (messages if isinstance(messages, list) else [])
        )

    async def post(
        self, channel: str, content: Content, *, dm: bool, outbox_id: int | None = None
    ) -> dict[str, Any]:
        """``chat.postMessage``, once per part of content too long for one message;
        raises :class:`DeliveryFailure` when Slack says no. Returns Slack's answer to
        the last part.

        Only the last part carries the outbox id in its metadata: finding it in the DM's
        history (:meth:`delivered_before`) then means every part went, and a crash between
        parts re-sends the earlier parts rather than losing the later ones."""
        data: dict[str, Any] = {}
        parts = render.messages(content)
        try:
            for number, body in enumerate(parts, start=1):
                tag = _metadata(outbox_id) if number == len(parts) else {}
                data = await self._post_part(channel, body, tag)
        except SlackApiError as error:
            code, status, headers = slack_error(error)
            token_works = await self._token_works() if code == "account_inactive" else None
            raise classify(
                code, status=status, headers=headers, dm=dm, token_works=token_works
            ) from None
        except (TimeoutError, aiohttp.ClientError) as error:
            reason = f"could not reach Slack ({type(error).__name__})"
            raise DeliveryFailure(reason, permanent=False) from error
        return data

    async def _post_part(
        self, channel: str, body: dict[str, Any], tag: dict[str, Any]
    ) -> dict[str, Any]:
        """One message. If Slack refuses its blocks, every word of it still goes, as
        plain text in as many messages as it takes; then its buttons are tried alone."""
        try:
            return await self._post(channel, **body, **tag)
        except SlackApiError as error:
            code, _, _ = slack_error(error)
            if code not in BLOCK_ERRORS:
                raise
        log.warning("Slack refused the blocks of a message (%s); sending it as text", code)
        data: dict[str, Any] = {}
        for piece in render.plain_pieces(body["blocks"]):
            data = await self._post(channel, text=piece, **tag)
        actions = [b for b in body["blocks"] if b["type"] == "actions"]
        if actions:
            try:
                data = await self._post(channel, text="…", blocks=actions, **tag)
            except SlackApiError as error:
                code, _, _ = slack_error(error)
                if code not in BLOCK_ERRORS:
                    raise
                log.warning("Slack refused the buttons of a message too (%s)", code)
        return data

    async def _post(self, channel: str, **body: Any) -> dict[str, Any]:
        response = await self._client.chat_postMessage(
            channel=channel, unfurl_links=False, unfurl_media=False, **body
        )
        return response.data if isinstance(response.data, dict) else {}

    async def upload(self, user_id: str, content: Content, files: Sequence[Attachment]) -> str:
        """The files into the DM with ``user_id``, ``content`` as their message
        (``files_upload_v2``: an upload URL per file, the bytes, then one completion
        that shares them all in the DM). Returns the DM's id; raises
        :class:`UploadFailed` when Slack says no."""
        try:
            opened = await self._client.conversations_open(users=user_id)
            channel = opened.get("channel")
            channel_id = str(channel.get("id", "")) if isinstance(channel, dict) else ""
            if not channel_id:
                raise UploadFailed("Slack didn't open our DM; try again in a few minutes")
            await self._client.files_upload_v2(
                channel=channel_id,
                initial_comment=render.fallback_text(content),
                file_uploads=[
                    {"content": f.data, "filename": f.filename, "title": f.filename} for f in files
                ],
            )
        except (SlackClientError, TimeoutError, aiohttp.ClientError, OSError) as error:
            failure = upload_failure(error)
            code = slack_error(error)[0] if isinstance(error, SlackApiError) else None
            log.warning(
                "Slack: uploading %d file(s) failed: %s", len(files), code or type(error).__name__
            )
            raise failure from None
        return channel_id

    async def _token_works(self) -> bool | None:
        try:
            await asyncio.wait_for(self._client.auth_test(), 10)
        except SlackApiError:
            return False
        except (TimeoutError, aiohttp.ClientError):
            return None
        return True
