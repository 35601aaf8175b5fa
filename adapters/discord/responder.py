"""Carrying out the core's effects as the answers to one interaction.

Discord wants a first answer to every interaction within 3 seconds, and only one: a
message (type 4), a replaced message (type 7, for a button on it), a modal (type 9), or
a promise to answer later (5: "thinking…", 6: quietly). Everything after the first goes
out as follow-ups on the interaction's webhook. This keeps track of which it is:

    fresh --reply--> replied --reply--> (follow-up)
    fresh --update--> replied
    fresh --form--> modal            (notes for the person wait for the form's submit)
    fresh --defer--> deferred_reply --reply--> replied   (the first reply fills the "thinking…")
    fresh --defer--> deferred_update --update--> (the clicked message is edited)

A modal can only be a first answer, so a form that comes later (or after a modal
submit) is offered as a button that opens it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from enum import StrEnum
from typing import Any, assert_never

import discord
from discord.http import HTTPClient, Route

from adapters.discord import render
from adapters.discord.forms import PendingForms
from adapters.discord.sender import DiscordSender
from adapters.discord.translate import Call, InteractionType
from adapters.files import names
from bot.content import Button, ButtonStyle, Content, Form
from bot.effects import (
    Effect,
    OpenForm,
    PostToChannel,
    ReplyEphemeral,
    SendDM,
    SendFiles,
    UpdateMessage,
)

log = logging.getLogger(__name__)


class CallbackType:
    MESSAGE = 4
    DEFERRED_MESSAGE = 5
    DEFERRED_UPDATE = 6
    UPDATE_MESSAGE = 7
    MODAL = 9


class State(StrEnum):
    FRESH = "fresh"
    REPLIED = "replied"
    MODAL = "modal"
    DEFERRED_REPLY = "deferred_reply"
    DEFERRED_UPDATE = "deferred_update"


OPEN_FORM_TEXT = "Press the button to open the form."


def combine_replies(effects: Sequence[Effect]) -> list[Effect]:
    """Replies one after another become one message (one request, not one each), as long
    as only the last of them has buttons. A form goes first: a modal can only be the
    first answer."""
    combined: list[Effect] = []
    for effect in sorted(effects, key=lambda e: not isinstance(e, OpenForm)):
        previous = combined[-1] if combined else None
        if (
            isinstance(effect, ReplyEphemeral)
            and isinstance(previous, ReplyEphemeral)
            and previous.to == effect.to
            and not (previous.content.buttons or previous.content.fields)
            and not (previous.content.title or effect.content.title)
        ):
            text = f"{previous.content.text}\n\n{effect.content.text}"
            combined[-1] = ReplyEphemeral(effect.to, replace(effect.content, text=text))
        else:
            combined.append(effect)
    return combined


def open_form_prompt(form: Form, part: int, parts: int, text: str = OPEN_FORM_TEXT) -> Content:
    label = "Open the form" if parts == 1 else f"Continue ({part}/{parts})"
    action = render.form_part_id(form.form_id, part, parts)
    return Content(text, buttons=(Button(label, action, ButtonStyle.PRIMARY),))


class InteractionResponder:
    def __init__(
        self,
        http: HTTPClient,
        call: Call,
        *,
        sender: DiscordSender,
        forms: PendingForms,
        answered: Callable[[], None] = lambda: None,
    ) -> None:
        self._http = http
        # Called after each answer the person can read (a defer is not one).
        self._answered = answered
        self._call = call
        self._sender = sender
        self._forms = forms
        self._workspace = call.workspace_id or ""
        self.state = State.FRESH
        self._modal_form: str | None = None

    async def perform(self, effect: Effect) -> None:
        match effect:
            case ReplyEphemeral(_, content):
                await self.say(content)
            case UpdateMessage(_, message_id, content):
                await self._update(message_id, content)
            case OpenForm(_, form):
                await self.open_form(form, 1)
            case SendDM() | PostToChannel():
                await self._sender.perform(effect)
            case SendFiles():
                await self._send_files(effect)
            case _:
                assert_never(effect)

    async def _send_files(self, effect: SendFiles) -> None:
        """The files go to the person's DM; the answer to the interaction stays a note
        only they see: where the files went, or why they did not arrive."""
        if self.state == State.FRESH:
            await self.defer()  # an upload may outlast Discord's 3 seconds
        notices = await self._sender.deliver_files(effect)
        if notices:
            await self.say(Content("\n".join(notices)))
        elif self.state == State.DEFERRED_REPLY:
            await self.say(Content(f"📎 I sent {names(effect.files)} to our DM."))

    async def defer(self) -> None:
        """The answer will take a while: tell Discord now, answer in follow-ups."""
        if self.state != State.FRESH:
            return
        if self._call.type == InteractionType.MESSAGE_COMPONENT:
            await self._callback(CallbackType.DEFERRED_UPDATE)
            self.state = State.DEFERRED_UPDATE
        else:
            await self._callback(CallbackType.DEFERRED_MESSAGE, {"flags": render.EPHEMERAL})
            self.state = State.DEFERRED_REPLY

    async def finish(self) -> None:
        """A click or a form that needed no answer is still acknowledged (quietly)."""
        if self.state == State.FRESH and self._call.type != InteractionType.APPLICATION_COMMAND:
            await self._callback(CallbackType.DEFERRED_UPDATE)
            self.state = State.REPLIED

    async def say(self, content: Content) -> None:
        """Messages only the person sees."""
        if self.state == State.MODAL and self._modal_form is not None:
            pending = self._forms.get(self._call.user_id, self._modal_form)
            if pending is not None:  # shown with the answer to the form
                pending.notes.append(content)
                return
        for payload in render.messages(content, self._workspace, render.Style.PLAIN):
            payload["flags"] = render.EPHEMERAL
            if self.state == State.FRESH:
                await self._callback(CallbackType.MESSAGE, payload)
                self.state = State.REPLIED
            elif self.state == State.DEFERRED_REPLY:
                await self._webhook("PATCH", "/messages/@original", payload)
                self.state = State.REPLIED
            else:
                await self._webhook("POST", "", payload)

    async def open_form(self, form: Form, part: int) -> None:
        self._forms.keep(self._call.user_id, form)
        modals = render.modals(form, self._workspace)
        can_open = self.state == State.FRESH and self._call.type in (
            InteractionType.APPLICATION_COMMAND,
            InteractionType.MESSAGE_COMPONENT,
        )
        if not can_open:
            await self.say(open_form_prompt(form, part, len(modals)))
            return
        await self._callback(CallbackType.MODAL, modals[part - 1])
        self.state = State.MODAL
        self._modal_form = form.form_id

    async def _update(self, message_id: str, content: Content) -> None:
        """Replace the message the button was on (for example to take its buttons)."""
        if message_id != self._call.message_id:
            await self.say(content)
            return
        payload = render.update(content, self._workspace, card=self._call.message_is_card)
        if self.state == State.FRESH and self._call.type == InteractionType.MESSAGE_COMPONENT:
            await self._callback(CallbackType.UPDATE_MESSAGE, payload)
            self.state = State.REPLIED
        elif self.state == State.DEFERRED_UPDATE:
            await self._webhook("PATCH", "/messages/@original", payload)
        else:
            await self.say(content)

    async def _callback(self, kind: int, data: dict[str, Any] | None = None) -> None:
        body: dict[str, Any] = {"type": kind}
        if data is not None:
            body["data"] = data
        route = Route(
            "POST",
            "/interactions/{webhook_id}/{webhook_token}/callback",
            webhook_id=self._call.interaction_id,
            webhook_token=self._call.token,
        )
        await self._request(route, body)
        if kind not in (CallbackType.DEFERRED_MESSAGE, CallbackType.DEFERRED_UPDATE):
            self._answered()

    async def _webhook(self, method: str, tail: str, payload: dict[str, Any]) -> None:
        route = Route(
            method,
            "/webhooks/{webhook_id}/{webhook_token}" + tail,
            webhook_id=self._call.application_id,
            webhook_token=self._call.token,
        )
        await self._request(route, payload)
        self._answered()

    async def _request(self, route: Route, body: dict[str, Any]) -> None:
        try:
            await self._http.request(route, json=body)
        except discord.HTTPException as error:
            # Expired (10062) or answered already (40060): nothing more can be said here.
            log.warning(
                "answering interaction %s failed: %s %s",
                self._call.interaction_id,
                error.status,
                error.text[:200],
            )
