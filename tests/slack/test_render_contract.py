"""The render contract on Slack: every Content and Form the core produces, at its
largest (``tests/worst_case.py``), renders within Slack's documented limits, checked by
slack_sdk's block and view models and by the message limits they don't check (the same
checks the fake Slack answers with). Nothing of what people wrote is lost on the way:
long content becomes several messages, and a refused message goes again as plain text.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import render
from adapters.slack.sender import SlackSender, classify
from bot.clock import ManualClock
from bot.content import Button, Content, Field, Form, FormField, FormFieldKind, Option, Select
from bot.effects import SendDM
from bot.refs import Platform, UserRef
from bot.storage.database import Database
from tests.discord.chat import eventually
from tests.slack.conftest import ALICE, BOB
from tests.slack.fake_slack import (
    BOT_TOKEN,
    MESSAGE_BLOCK_TEXT_CHARS,
    SECTION_TEXT_CHARS,
    FakeSlack,
    message_error,
    view_error,
)
from tests.slack.slack_chat import SlackChat
from tests.slack.test_http import pair
from tests.worst_case import AMPERSANDS, ANGLES, EMOJI, MIXED, Produced, worst_case_once

_SPACE = re.compile(r"\s+")


@pytest.fixture
async def produced(backend: str, database: Database, clock: ManualClock) -> Produced:
    return await worst_case_once(backend, database, clock)


def _texts(blocks: list[dict[str, Any]]) -> str:
    """The mrkdwn a person reads in these blocks, in order."""
    out: list[str] = []
    for block in blocks:
        if block["type"] == "section":
            out += [block["text"]["text"]] if "text" in block else []
            out += [f["text"] for f in block.get("fields", [])]
        elif block["type"] == "context":
            out += [e["text"] for e in block["elements"]]
    return "".join(out)


def _flat(text: str) -> str:
    return _SPACE.sub("", text)


def assert_every_word(content: Content, shown: str) -> None:
    """Every piece of the content is in what was shown, escaped, whole and in order."""
    flat = _flat(shown)
    pieces = [content.title or "", content.text]
    pieces += [piece for f in content.fields for piece in (f.label, f.value)]
    for piece in pieces:
        assert _flat(render.escape(piece)) in flat, piece[:80]


def test_the_worst_case_is_as_big_as_promised(produced: Produced) -> None:
    """The scenario produced what it says: a share of 3,000-character answers, a menu of
    60 pairs, 120 milestones (otherwise the other tests prove little)."""
    texts = [c.text for c in produced.contents]
    shares = [c for c in produced.contents if "check-in answers" in c.text]
    assert shares and all(len(c.fields) == 4 for c in shares)
    assert any(f.value == AMPERSANDS for c in shares for f in c.fields)
    menus = [c.select for c in produced.contents if c.select is not None]
    assert menus and len(menus[0].options) == 60
    assert any(t.count("\n#") >= 119 for t in texts)
    assert produced.forms


def test_every_message_fits_within_slacks_limits(produced: Produced) -> None:
    for content in produced.contents:
        parts = render.messages(content)
        for body in parts:
            assert message_error(body) is None, content.text[:80]
        assert_every_word(content, "".join(_texts(body["blocks"]) for body in parts))
        # The buttons and menus are all there, after the words.
        last = [
            e
            for body in parts
            for b in body["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
        ]
        assert [e["action_id"] for e in last if e["type"] == "button"] == [
            b.action_id for b in content.buttons
        ]
        options = [o["value"] for e in last if e["type"] == "static_select" for o in e["options"]]
        assert options == ([o.value for o in content.select.options] if content.select else [])
        # One message (an ephemeral answer, an edit) fits too, cut with a marker.
        assert message_error(render.message(content)) is None
        assert message_error(render.ephemeral(content)) is None


def test_every_form_and_the_home_tab_fit(produced: Produced) -> None:
    long_label = "&<" * 1500
    big = Form(
        "flow:1:answers",
        "A look back with a title far too long for Slack",
        tuple(
            FormField(f"q{n}", long_label, FormFieldKind.LONG_TEXT, max_length=10_000)
            for n in range(120)
        ),
        submit_label="Share everything I wrote",
    )
    for form in [*produced.forms, big]:
        assert view_error(render.modal(form)) is None
    home = render.home(produced.contents, [Button("x" * 100, f"home:{n}") for n in range(30)])
    assert view_error(home) is None


def test_a_form_opens_with_the_answers_given_so_far(produced: Produced) -> None:
    initials = {f.initial for form in produced.forms for f in form.fields if f.initial}
    assert {MIXED.strip(), EMOJI} <= initials  # (kept without the trailing space)
    for form in produced.forms:
        view = render.modal(form)
        assert view_error(view) is None
        elements = {block["block_id"]: block["element"] for block in view["blocks"]}
        for item in form.fields:
            element = elements[item.name]
            if item.initial == EMOJI:
                # 6,000 UTF-16 units: past what the input may hold, so shown empty (which
                # keeps the answer), never cut (which would replace it with a part).
                assert "initial_value" not in element
                assert element["placeholder"]["text"] == render.KEPT_WHEN_EMPTY
            else:
                # Shown whole and as written (plain text: not escaped).
                assert element.get("initial_value") == item.initial
                assert len(item.initial or "") <= element["max_length"]


def test_an_answer_longer_than_its_input_is_never_cut_into_it() -> None:
    form = Form(
        "flow:1:answers",
        "Look back",
        (FormField("went_well", "What went well?", max_length=10, initial="x" * 11),),
    )
    element = render.modal(form)["blocks"][0]["element"]
    assert "initial_value" not in element  # empty keeps the answer; a cut one would replace it
    assert element["placeholder"]["text"] == render.KEPT_WHEN_EMPTY
    assert view_error(render.modal(form)) is None


def test_a_title_is_escaped_before_it_is_cut() -> None:
    """``&`` is five characters once escaped: cut first, a title of 2,998 ``&`` became
    a section of 14,992 characters."""
    content = Content("hi", title="&" * 2998)
    blocks = render.message(content)["blocks"]
    assert len(blocks[0]["text"]["text"]) <= SECTION_TEXT_CHARS
    assert message_error(render.message(content)) is None
    # Never cut inside an entity: what is left ends on whole ``&amp;``.
    assert blocks[0]["text"]["text"].removesuffix("…*").endswith("&amp;")


@pytest.mark.parametrize("text", [AMPERSANDS, ANGLES, MIXED, "<@U1> & " * 400])
def test_small_print_fields_and_text_are_escaped_before_they_are_measured(text: str) -> None:
    content = Content(
        f"{text}\n({text})",
        title=text[:200],
        fields=(Field(text[:70], text[:80]), Field(text, text)),
    )
    for body in render.messages(content):
        assert message_error(body) is None
    assert_every_word(content, "".join(_texts(b["blocks"]) for b in render.messages(content)))


@pytest.mark.parametrize(("label", "messages"), [("Pair", 1), ("Pair " + "&" * 90, 2)])
def test_a_menu_of_many_options_is_split_into_menus_of_a_hundred(label: str, messages: int) -> None:
    options = tuple(Option(f"{n} {label}", f"flow:9:{n}") for n in range(250))
    content = Content("Which pair?", select=Select("choose:9", "Choose one…", options))
    parts = render.messages(content)
    assert len(parts) == messages
    assert all(message_error(body) is None for body in parts)
    menus = [
        e for body in parts for b in body["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert [len(m["options"]) for m in menus] == [100, 100, 50]
    assert menus[2]["placeholder"]["text"] == "Choose one… (201 to 250 of 250)"


def test_msg_blocks_too_long_is_a_content_error_not_a_temporary_one() -> None:
    failure = classify("msg_blocks_too_long", status=200, headers={}, dm=True)
    assert failure.permanent


def _posted_words(fake: FakeSlack, channel: str) -> str:
    shown: list[str] = []
    for args in fake.posts_to(channel):
        blocks = args.get("blocks")
        blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
        shown.append(_texts(blocks) if blocks else str(args["text"]))
    return "".join(shown)


async def test_the_worst_share_arrives_whole_through_the_sender(
    fake: FakeSlack, produced: Produced
) -> None:
    """Four 3,000-character answers: over 12,000 characters of block text once escaped,
    which Slack refuses in one message. Sent as several, every word arrives."""
    share = max(
        (c for c in produced.contents if "check-in answers" in c.text),
        key=lambda c: sum(len(render.escape(f.value)) for f in c.fields),
    )
    assert sum(len(render.escape(f.value)) for f in share.fields) > MESSAGE_BLOCK_TEXT_CHARS
    sender = SlackSender(AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url))

    await sender.perform(SendDM(UserRef(Platform.SLACK, "T0001", BOB), share))

    assert len(fake.posts_to(BOB)) > 1
    assert not [c for c in fake.calls if c.method == "chat.postMessage" and not c.result]
    assert_every_word(share, _posted_words(fake, BOB))


async def test_refused_blocks_go_again_as_plain_text_with_every_word(fake: FakeSlack) -> None:
    """Slack refuses the blocks (say its count of block text differs from ours): every
    word goes as plain text instead of the message being retried and dropped."""
    content = Content(
        "📋 Alice's check-in answers:",
        fields=(Field("Moved forward", MIXED), Field("Hard right now", AMPERSANDS)),
        buttons=(Button("Thanks", "flow:1:thanks"),),
    )
    fake.fail("chat.postMessage", "msg_blocks_too_long")
    sender = SlackSender(AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url))

    await sender.perform(SendDM(UserRef(Platform.SLACK, "T0001", BOB), content))

    posts = fake.posts_to(BOB)
    texts = [str(p["text"]) for p in posts if not p.get("blocks")]
    assert len(texts) >= 2 and all(len(t) <= render.PLAIN_PIECE_CHARS for t in texts)
    assert_every_word(content, _posted_words(fake, BOB))
    # The button still came, on a message of its own.
    assert "flow:1:thanks" in str(posts[-1].get("blocks"))


async def test_a_reply_too_long_for_one_message_arrives_whole(
    slack: SlackChat, fake: FakeSlack
) -> None:
    """``/mentor milestone list`` of 40 titles of 200 ``&<``: about 36,000 characters
    once escaped. The ack carries the first part, the ``response_url`` the rest."""
    await pair(slack, ALICE, BOB)
    titles = [(f"{n} " + "&<" * 100)[:200] for n in range(40)]
    for title in titles:
        assert (await slack.command(ALICE, f"/mentor milestone add {title}")).status == 200
    hooks_before = len(fake.responses())

    listed = await slack.command(ALICE, "/mentor milestone list")

    assert message_error(listed.json) is None
    wanted = [_flat(render.escape(title)) for title in titles]

    async def arrived() -> bool:
        bodies = [listed.json, *fake.responses()[hooks_before:]]
        shown = _flat("".join(_texts(body["blocks"]) for body in bodies))
        return all(title in shown for title in wanted)

    await eventually(arrived)
    more = fake.responses()[hooks_before:]
    assert len(more) >= 2
    assert all(message_error(body) is None for body in more)
    assert all(body["response_type"] == "ephemeral" for body in [listed.json, *more])


def test_a_long_name_is_shortened_in_a_menu_but_the_role_stays(produced: Produced) -> None:
    (menu,) = [c.select for c in produced.contents if c.select is not None]
    for option in menu.options:
        assert len(option.label) <= render.OPTION_TEXT_CHARS
        assert option.label.endswith("(your mentee)")
