"""A signed HTTP request's body, read for Bolt.

Slack posts three shapes to the one URL
(https://api.slack.com/apis/connections/events-api, /interactivity/handling,
/interactivity/slash-commands): Events API callbacks as JSON; slash commands as a form
(``command=/win&text=…``); buttons, menus and modal submissions as a form with one field,
``payload``, that holds the interaction's JSON.

Bolt tells the last two apart by whether the word "payload" appears *anywhere* in the
body, so ``/win fixed the payload parser`` (or any command sent from a channel whose
name holds the word) was read as an interaction without a payload: an empty body, no
listener, a 404 for Slack to show as an error, and the person's words lost. Here a form
is an interaction only when it has a ``payload`` field.

The form is decoded with yarl's ``query_to_pairs`` (aiohttp's URL library, in C; the
same pairs as ``urllib.parse.parse_qsl(…, keep_blank_values=True)``). A click's payload
carries the whole message it was pressed on, ~3.5 KB with ~600 escapes, which the
standard library's pure-Python decoder took ~80 µs for, a few percent of the request.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from yarl import query_to_pairs

JSON = "application/json"
PAYLOAD = "payload"


def read_body(text: str, content_type: str) -> dict[str, Any]:
    """The request's fields: the JSON object, the interaction's payload, or the form.

    Raises ValueError for malformed JSON and TypeError when the JSON is not an object."""
    if content_type == JSON or text.startswith("{"):  # Bolt's rule for JSON, kept
        body: Any = json.loads(text)
    else:
        form = dict(query_to_pairs(text))
        payload = form.get(PAYLOAD)
        body = form if payload is None else json.loads(payload)
    if not isinstance(body, dict):
        raise TypeError("the body is not an object")
    return body


class SignedRequest(AsyncBoltRequest):
    """Bolt's HTTP request with its body already read by ``read_body`` (Bolt's own
    reading is skipped: it is given an empty body, then the one read here)."""

    def __init__(
        self,
        text: str,
        *,
        content_type: str,
        query: str,
        headers: dict[str, str | Sequence[str]],
        context: dict[str, Any],
    ) -> None:
        body = read_body(text, content_type)
        super().__init__(body="", query=query, headers=headers, context=context)
        self.raw_body = text  # what Bolt's own signature check reads
        self.body = body
        self.context = build_async_context(AsyncBoltContext(context), body)
