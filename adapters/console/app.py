"""The console bot: reads lines (a TTY prompt, or stdin for scripts), turns them into
events for the Engine, and prints every effect and delivered message."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import assert_never

from rich.console import Console
from rich.text import Text
from sqlalchemy import select

from adapters.console.render import render_message
from adapters.console.translate import (
    CONSOLE_HELP,
    WORKSPACE_ID,
    Advance,
    Click,
    CloseForm,
    ConsoleInputError,
    Nothing,
    Quit,
    ShowConsoleHelp,
    SwitchUser,
    looks_like_a_command,
    parse_line,
    user_ref,
)
from adapters.files import size_text
from bot.clock import ManualClock
from bot.content import Button, Content, FormField
from bot.delivery import deliver_all, recent_dms
from bot.due import walk_clock
from bot.effects import (
    Attachment,
    Effect,
    OpenForm,
    PostToChannel,
    ReplyEphemeral,
    SendDM,
    SendFiles,
    UpdateMessage,
)
from bot.engine import Engine
from bot.events import ButtonClicked, Event, FormSubmitted, MessageReceived
from bot.refs import Platform
from bot.storage.database import Database
from bot.storage.models import Workspace
from bot.turn import get_or_create

log = logging.getLogger(__name__)

# How far the console's clock moves for each event typed or clicked (``ConsoleApp._send``).
A_MOMENT = timedelta(milliseconds=1)

# Where ``mentorbot console`` writes the files the bot hands people (an export, a chart).
DEFAULT_FILES_DIR = Path("mentorbot-files")


@dataclass
class Shown:
    """A message shown to a local user, kept so ``:click`` can find its buttons."""

    message_id: str
    user: str
    buttons: tuple[Button, ...]


@dataclass
class OpenConsoleForm:
    form_id: str
    title: str
    fields: tuple[FormField, ...]
    values: dict[str, str]

    def ask(self) -> str:
        """The next question, with the answer it has already."""
        field = self.fields[len(self.values)]
        if field.initial:
            return f"{field.label} (now: “{field.initial}”; Enter keeps it)"
        return field.label


class ConsoleApp:
    def __init__(
        self,
        engine: Engine,
        database: Database,
        clock: ManualClock,
        console: Console,
        *,
        user: str,
        everyone_is_admin: bool,
        files_dir: Path = DEFAULT_FILES_DIR,
        clock_source: str = "",
    ) -> None:
        self._engine = engine
        self._database = database
        self._clock = clock
        self._out = console
        self.user = user
        self._everyone_is_admin = everyone_is_admin
        self._files_dir = files_dir
        self._clock_source = clock_source
        self._shown: list[Shown] = []
        self._forms: dict[str, OpenConsoleForm] = {}
        self._next_message = 0
        self._in_dm = False
        # The last "⏰ it is …" line of the ``:advance`` under way.
        self._time_said: str | None = None

    # -- the loop ----------------------------------------------------------------------

    async def run(self, lines: AsyncIterator[str], *, echo: bool) -> None:
        source = f" ({self._clock_source})" if self._clock_source else ""
        self._out.print(
            Text(
                f"mentorbot console — {self._clock_line()}{source} — you are {self.user}. "
                "Type :help for help.",
                style="dim",
            )
        )
        await save_clock(self._database, self._clock)
        await self.catch_up()  # whatever fell due or was queued since the last exit
        async for line in lines:
            if echo:
                self._out.print(Text(f"{self.user}> {line.rstrip()}", style="bold"))
            if not await self.handle_line(line):
                break

    async def handle_line(self, line: str) -> bool:
        """Carry out one line; False when the person wants to quit."""
        form = self._forms.get(self.user)
        if form is not None and not line.startswith(":"):
            if looks_like_a_command(line):
                # Meant as a command, not as this question's answer: neither is done, and
                # the person is told so (a modal has no command line to mistake).
                self._note(
                    f"“{form.title}” is still open, so that command was not run and not "
                    "saved as an answer. Answer the question below, or type :cancel to "
                    "close the form first."
                )
                self._note(form.ask())
                return True
            await self._answer_form(line)
            return True
        try:
            action = parse_line(line, self.user)
        except ConsoleInputError as error:
            self._note(str(error))
            return True
        match action:
            case Quit():
                return False
            case Nothing():
                pass
            case ShowConsoleHelp():
                self._out.print(CONSOLE_HELP, markup=False, highlight=False)
            case SwitchUser(name):
                self.user = name
                self._note(f"You are now {name}.")
            case Click(label):
                await self._click(label)
            case Advance(by):
                await self._advance(by)
            case CloseForm():
                self._close_form()
            case _:
                await self._send(replace(action, user_is_admin=self._everyone_is_admin))
        return True

    async def _send(self, event: Event) -> None:
        # Each event comes a moment after the last, as on a platform: otherwise two
        # questions asked a line apart would tie, and a typed reply (which answers the
        # question asked last) could go to the other one. A millisecond: no time shown
        # changes. Kept at once, so a session that is killed does not resume before
        # what it wrote.
        self._clock.advance(A_MOMENT)
        await save_clock(self._database, self._clock)
        self._in_dm = isinstance(event, MessageReceived)
        try:
            for effect in await self._engine.handle(event):
                await self.perform(effect)
        finally:
            self._in_dm = False
        await self.deliver()

    async def deliver(self) -> None:
        await deliver_all(self._database, {Platform.CONSOLE: self}, self._clock)

    async def _advance(self, by: timedelta) -> None:
        self._time_said = None
        await walk_clock(self._database, self._clock, by, self._tick)

    async def _tick(self) -> None:
        # Said once a minute: a step at a due moment and the step at the advance's end
        # (a moment later: ``A_MOMENT``) show the same time.
        said = f"⏰ {self._clock_line()}"
        if said != self._time_said:
            self._note(said)
            self._time_said = said
        await save_clock(self._database, self._clock)
        await self.catch_up()

    async def catch_up(self) -> None:
        """Run what fell due, then show what it sent."""
        await self._engine.run_due(self._clock.now())
        await self.deliver()

    async def _click(self, label: str) -> None:
        wanted = label.strip().strip("[]").strip()
        shown = [(s.buttons, s.message_id) for s in reversed(self._shown) if s.user == self.user]
        found = _find_button(shown, wanted)
        if not found:
            # Shown before a restart: the delivered DMs still carry their buttons.
            dms = await recent_dms(self._database, user_ref(self.user))
            found = _find_button([(dm.content.choices, _dm_message_id(dm)) for dm in dms], wanted)
        if not found:
            self._note(f"{self.user} has no button labelled [{wanted}] on screen.")
            return
        if len(found) > 1:
            labels = " ".join(f"[{button.label}]" for button, _ in found)
            self._note(f"[{wanted}] could be any of {labels}: say more of the label.")
            return
        [(button, message_id)] = found
        await self._send(
            ButtonClicked(
                user=user_ref(self.user),
                user_name=self.user,
                user_is_admin=self._everyone_is_admin,
                action_id=button.action_id,
                message_id=message_id,
            )
        )

    def _close_form(self) -> None:
        form = self._forms.pop(self.user, None)
        if form is None:
            self._note(f"{self.user} has no form open.")
            return
        # As a modal closed with Cancel: nothing typed into it is sent (answers given in
        # DMs before it opened stay as they were).
        self._note(f"Closed “{form.title}” without sending it: nothing typed into it was saved.")

    async def _answer_form(self, line: str) -> None:
        form = self._forms[self.user]
        field = form.fields[len(form.values)]
        typed = line.rstrip("\n")
        # An empty line leaves the field as it opened, as a modal sends it back.
        form.values[field.name] = typed if typed.strip() else field.initial or ""
        if len(form.values) < len(form.fields):
            self._note(form.ask())
            return
        del self._forms[self.user]
        await self._send(
            FormSubmitted(
                user=user_ref(self.user),
                user_name=self.user,
                user_is_admin=self._everyone_is_admin,
                form_id=form.form_id,
                values=form.values,
            )
        )

    # -- carrying out effects (also the console's outbox sender) -------------------------

    async def perform(self, effect: Effect) -> None:
        match effect:
            case ReplyEphemeral(to, content) if self._in_dm:
                # The answer to a direct message is part of that DM conversation.
                self._show(f"DM → {to.user_id}", "dm", to.user_id, content)
            case ReplyEphemeral(to, content):
                self._show(f"ephemeral → {to.user_id}", "ephemeral", to.user_id, content)
            case SendDM(to, content, _):
                self._show(f"DM → {to.user_id}", "dm", to.user_id, content, _dm_message_id(effect))
            case PostToChannel(channel, content, _):
                self._show(f"#{channel.channel_id}", "channel", None, content)
            case UpdateMessage(to, message_id, content):
                for shown in self._shown:
                    if shown.message_id == message_id:
                        shown.buttons = content.choices
                self._show(f"updated → {to.user_id}", "updated", to.user_id, content, message_id)
            case OpenForm(to, form):
                opened = OpenConsoleForm(form.form_id, form.title, form.fields, {})
                self._forms[to.user_id] = opened
                blank = (
                    "keeps the answer shown, or skips"
                    if any(f.initial for f in form.fields)
                    else "skips one"
                )
                lines = [
                    f"{form.title} — answer each line below (a blank line {blank}; "
                    ":cancel closes it unsent)"
                ]
                self._show(
                    f"form → {to.user_id}", "ephemeral", to.user_id, Content("\n".join(lines))
                )
                if form.fields:
                    self._note(opened.ask())
            case SendFiles(to, content, files):
                lines = [self._save(to.user_id, file) for file in files]
                self._show(f"DM → {to.user_id}", "dm", to.user_id, content, files=lines)
            case _:
                assert_never(effect)

    def _show(
        self,
        header: str,
        kind: str,
        user: str | None,
        content: Content,
        message_id: str | None = None,
        *,
        files: Sequence[str] = (),
    ) -> None:
        if kind != "updated":
            if message_id is None:
                self._next_message += 1
                message_id = f"m{self._next_message}"
            if user is not None:
                self._shown.append(Shown(message_id, user, content.choices))
        self._out.print(render_message(header, kind, content, files))

    def _save(self, user: str, file: Attachment) -> str:
        """Write one file into the person's folder, never over an older one (``-1``,
        ``-2`` go before the extension); the line that says where it went."""
        folder = self._files_dir / user
        name = safe_filename(file.filename)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = _write_new(folder, name, file.data)
        except OSError as error:
            log.warning("console: could not save a file in %s: %s", folder, error.strerror)
            reason = error.strerror or type(error).__name__
            return f"📎 I couldn't save {name} ({size_text(len(file.data))}) in {folder}: {reason}"
        return f"📎 {name} ({size_text(len(file.data))}) saved to {path}"

    def _note(self, text: str) -> None:
        self._out.print(Text(text, style="dim"))

    def _clock_line(self) -> str:
        return f"it is {self._clock.now():%a %Y-%m-%d %H:%M} UTC"


# Where a console session's clock came from, for the banner.
CLOCK_FROM_START = "set by --start"
CLOCK_KEPT = "where the last session left it"
CLOCK_NOW = "the real time: no clock saved in this database yet"


async def console_clock(
    database: Database, start: datetime | None, now: datetime
) -> tuple[ManualClock, str]:
    """The clock a console session starts with, and where it came from: ``start`` when
    given, else where this database's console clock stopped, else ``now``."""
    if start is not None:
        return ManualClock(start), CLOCK_FROM_START
    async with database.transaction() as session:
        saved = await session.scalar(
            select(Workspace.console_now).where(
                Workspace.platform == Platform.CONSOLE.value,
                Workspace.external_id == WORKSPACE_ID,
            )
        )
    if saved is not None:
        return ManualClock(saved), CLOCK_KEPT
    return ManualClock(now), CLOCK_NOW


async def save_clock(database: Database, clock: ManualClock) -> None:
    """Keep the console's time in its workspace row, for the next session."""
    async with database.transaction() as session:
        workspace = await get_or_create(
            session,
            Workspace,
            {"platform": Platform.CONSOLE.value, "external_id": WORKSPACE_ID},
            {"created_at": clock.now()},
        )
        workspace.console_now = clock.now()


def safe_filename(name: str) -> str:
    """The name a file is saved under: its last path part, so a name can never reach
    outside the person's folder."""
    last = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return last if last not in ("", ".", "..") else "file"


def _write_new(folder: Path, name: str, data: bytes) -> Path:
    """``folder/name``, or ``name-1``, ``name-2``… when that exists; created exclusively,
    so not even a second console at the same moment overwrites a file."""
    # ``brag.md`` -> ``brag-1.md``; a name without an extension (or a dotfile) gets ``-1``.
    stem, dot, extension = name.rpartition(".")
    if not stem:
        stem, dot, extension = name, "", ""
    number = 0
    while True:
        candidate = name if number == 0 else f"{stem}-{number}{dot}{extension}"
        path = folder / candidate
        try:
            with path.open("xb") as out:
                out.write(data)
        except FileExistsError:
            number += 1
            continue
        return path


def _dm_message_id(dm: SendDM) -> str | None:
    return f"out-{dm.outbox_id}" if dm.outbox_id is not None else None


def _find_button(
    messages: Sequence[tuple[tuple[Button, ...], str | None]], wanted: str
) -> list[tuple[Button, str | None]]:
    """Among messages with their ids, newest first: the newest button labelled
    ``wanted``, ignoring case; else, on the newest message that has any, every button
    whose label holds it (``:click great``, ``:click acted``), more than one meaning the
    person has to say more. An exact label wins over a newer partial one: ``:click
    Skip`` is the question's [Skip], not the [Undo skip] shown after it."""
    key = wanted.casefold()
    for buttons, message_id in messages:
        for button in buttons:
            if button.label.casefold() == key:
                return [(button, message_id)]
    for buttons, message_id in messages:
        matching = [b for b in buttons if key in b.label.casefold()]
        if matching:
            return [(button, message_id) for button in matching]
    return []


async def stdin_lines(*, interactive: bool, prompt: PromptSource) -> AsyncIterator[str]:
    while True:
        if interactive:
            try:
                line = await asyncio.to_thread(input, prompt())
            except EOFError:
                return
        else:
            line = await asyncio.to_thread(sys.stdin.readline)
            if not line:
                return
        yield line


class PromptSource:
    def __init__(self, app: ConsoleApp, clock: ManualClock) -> None:
        self._app = app
        self._clock = clock

    def __call__(self) -> str:
        now: datetime = self._clock.now()
        return f"[{now:%a %d %b %H:%M} UTC] {self._app.user}> "
