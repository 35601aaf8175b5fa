"""``mentorbot``: the command line, and the one composition root that wires the core,
the adapters and the scheduler together."""

from __future__ import annotations

import logging
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from typer.core import TyperArgument, TyperCommand

from adapters import matching_cli
from bot.numbers import how_many

# Start-up stays light (bench/bench_startup.py; tests/test_cli_startup.py checks it):
# `mentorbot --help` imports typer and little else. Each command imports what it uses,
# so a platform library, SQLAlchemy or Alembic load only for the commands that need them.
if TYPE_CHECKING:
    from contextlib import AsyncExitStack

    from rich.console import Console
    from typer._click import Context as ClickContext  # typer's own copy of click

    from bot.clock import Clock, ShiftedClock
    from bot.crypto import TextCipher
    from bot.delivery import RateLimits, Sender
    from bot.engine import Engine
    from bot.pairs_import import ImportReport, Rejected
    from bot.program import ProgramStats
    from bot.refs import Platform
    from bot.settings import Settings
    from bot.storage.database import Database
    from bot.storage.keys import RotationReport

T = TypeVar("T")


app = typer.Typer(
    help="mentorbot keeps mentoring pairs in a steady rhythm on Slack, Discord and the "
    "terminal.\n\nExit codes: 0 done; 1 an error (bad input, an unreadable file or "
    "database, an unknown workspace or user, rows rejected by `pairs import`); 2 a usage "
    "or configuration error (a wrong option, a setting that is not valid, a missing or "
    "refused token or signing secret).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Click's plain help: no `<bool>` placeholders, and rich is not imported for --help.
    rich_markup_mode=None,
)
db_app = typer.Typer(help="Database commands.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(db_app, name="db")
pairs_app = typer.Typer(help="Pair commands.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(pairs_app, name="pairs")


class _ErrorConsole:
    """rich's Console on stderr, built on first use (importing rich costs start-up)."""

    _console: Console | None = None

    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=True, highlight=False, soft_wrap=True)
        return self._console

    def print(self, *objects: Any, **options: Any) -> None:
        self.console.print(*objects, **options)


err = _ErrorConsole()


PLATFORM_VARIABLES = (
    "SLACK_BOT_TOKEN (with SLACK_SIGNING_SECRET or SLACK_APP_TOKEN) or DISCORD_BOT_TOKEN"
)
# The console's one workspace (adapters.console.translate.WORKSPACE_ID).
CONSOLE_WORKSPACE = "local"


def main() -> None:
    app()


def _version(show: bool) -> None:
    if show:
        from importlib.metadata import PackageNotFoundError, version

        try:
            print(f"mentorbot {version('mentorbot')}")
        except PackageNotFoundError:
            print("mentorbot (not installed: run `pip install -e .`)")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", callback=_version, is_eager=True
        ),
    ] = False,
) -> None:
    pass


class _PlainUsage(TyperCommand):
    """The usage line as click writes it (``FILE.csv``), not typer's ``{FILE.csv}``, and
    arguments listed by their name alone (not ``FILE.csv <path>``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if isinstance(param, TyperArgument):
                param.display_type_rich = _no_type  # type: ignore[method-assign]

    def collect_usage_pieces(self, ctx: ClickContext) -> list[str]:
        pieces = super().collect_usage_pieces(ctx)
        return [p[1:-1] if p.startswith("{") and p.endswith("}") else p for p in pieces]


# Matching (adapters/matching_cli.py: its heavy imports are inside the commands).
people_app = typer.Typer(help="The matching pool.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(people_app, name="people")
people_app.command("import", cls=_PlainUsage)(matching_cli.people_import)
app.command("match")(matching_cli.match)


def _settings() -> Settings:
    from pydantic import ValidationError

    from bot.settings import Settings

    try:
        return Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']).upper()}: {_said(e['msg'])}"
            for e in error.errors()
        )
        _fail(f"the settings are not valid: {problems}", 2)


def _fail(message: str, code: int = 1) -> NoReturn:
    from rich.markup import escape

    # The message quotes what the operator gave (a path, a value): shown as typed, never
    # read as markup ("[bold]" in a file name).
    err.print(f"[bold red]error:[/] {escape(message)}", markup=True)
    raise typer.Exit(code)


def _cipher(settings: Settings) -> TextCipher | None:
    """The free-text cipher DATA_ENCRYPTION_KEY asks for (the error never shows the key)."""
    from bot.crypto import EncryptionKeyError, cipher_from_setting

    try:
        return cipher_from_setting(settings.data_encryption_key)
    except EncryptionKeyError as error:
        _fail(str(error))


def _announce_storage(cipher: TextCipher | None, plain_level: int = logging.WARNING) -> None:
    from bot.crypto import describe

    # Not the "mentorbot" logger: slack_bolt names its app logger after the app and sets
    # its level.
    logging.getLogger(__name__).log(
        logging.INFO if cipher is not None else plain_level, describe(cipher)
    )


def _setup_logging(settings: Settings) -> None:
    from adapters.logs import setup_logging

    setup_logging(settings)  # LOG_FORMAT, library levels and secret redaction


def _run(work: Coroutine[Any, Any, None]) -> None:
    _run_returning(work)


def _run_returning(work: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine and turn the errors people cause into one clear line."""
    import asyncio

    from sqlalchemy.exc import SQLAlchemyError

    from bot.crypto import EncryptedTextError

    try:
        return asyncio.run(_settled(work))
    except (SQLAlchemyError, OSError) as error:
        _fail(f"the database could not be used: {type(error).__name__}: {_first_line(error)}")
    except ValueError as error:
        _fail(str(error))
    except EncryptedTextError as error:
        _fail(error.message)


def _said(message: str) -> str:
    """A validator's own words, without pydantic's "Value error, " before them."""
    return message.removeprefix("Value error, ")


def _check_database_url(url: str) -> None:
    """DATABASE_URL that is not a URL, or names a database mentorbot does not run on, is
    a configuration error (exit 2), said before SQLAlchemy raises it with a traceback;
    a SQLite file's missing folder is said before aiosqlite's worker thread prints one.
    Nothing of the URL is repeated but its scheme (it may hold a password)."""
    from sqlalchemy.engine import make_url

    from bot.storage.database import async_url

    try:
        async_url(url)  # what the Database will accept, said as it says it
    except ValueError as error:
        _fail(str(error), 2)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        folder = Path(parsed.database).expanduser().resolve().parent
        if not folder.is_dir():
            _fail(f"cannot create the database file {parsed.database}: {folder} is not a folder")


async def _settled(work: Coroutine[Any, Any, T]) -> T:
    import asyncio

    try:
        return await work
    except Exception:
        # When SQLite fails to open a file, aiosqlite's worker thread still posts a result
        # to the loop; give it a moment so it does not find the loop closed and print a
        # traceback over our one-line error.
        await asyncio.sleep(0.2)
        raise


def _read_csv(file: Path) -> str:
    """An import file's text (UTF-8, a byte-order mark allowed, as spreadsheets save it),
    or an error saying why it could not be read, in words."""
    try:
        return file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        _fail(
            f"cannot read {file}: it is not UTF-8 text (byte {error.start + 1} is not); "
            "save it as “CSV UTF-8” and import it again."
        )
    except OSError as error:
        _fail(f"cannot read {file}: {error.strerror or _first_line(error)}.")


def _first_line(error: BaseException) -> str:
    return str(error).split("\n", 1)[0][:300]


def _cannot_write(target: Path | None, error: OSError) -> NoReturn:
    """A file an option named could not be written: which one, and the system's reason
    in words ("No such file or directory"), as a file that cannot be read is said."""
    where = error.filename or target
    _fail(f"cannot write {where}: {error.strerror or _first_line(error)}.")


def _iso8601(value: str | datetime) -> datetime:
    """An ``ISO8601`` option (``--now``, ``--start``), refused in words an operator can act
    on rather than a type checker's ("input is too short")."""
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(
            f"“{value}” is not a date and time. Write it in ISO 8601, like "
            "2026-12-01T10:00 (UTC) or 2026-12-01T10:00+01:00."
        ) from None


def _seconds(value: str | float) -> float:
    """``--max-seconds``: a number of seconds, 0 or more, refused in words (not a type
    checker's "unable to parse string as a number")."""
    if isinstance(value, float | int):
        return float(value)
    try:
        seconds = float(value.strip())
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise typer.BadParameter(f"“{value}” is not a number of seconds, like 50.")
    return seconds


class ExportFormat(StrEnum):
    JSON = "json"
    MD = "md"


def _export_format(value: str) -> ExportFormat:
    """``--format``: json or md, in any case (not pydantic's "Value error, …")."""
    if isinstance(value, ExportFormat):
        return value
    try:
        return ExportFormat(value.strip().lower())
    except ValueError:
        raise typer.BadParameter(f"“{value}” is not a format I write: say json or md.") from None


def _moment(now: datetime | None) -> datetime:
    """``--now`` in UTC (UTC when it has no offset), or the current time."""
    from bot.clock import SystemClock

    return (now.replace(tzinfo=now.tzinfo or UTC) if now else SystemClock().now()).astimezone(UTC)


def _rate_limits(settings: Settings) -> RateLimits:
    """Messages per second per Slack workspace / Discord bot (for `run` and `dispatch`)."""
    from bot.delivery import RateLimit, RateLimits
    from bot.refs import Platform

    return RateLimits(
        {
            Platform.SLACK: RateLimit(settings.slack_messages_per_second, burst=3),
            Platform.DISCORD: RateLimit(settings.discord_messages_per_second, burst=10),
        }
    )


def _no_type(ctx: ClickContext) -> str:
    return ""


@app.command()
def console(
    db: Annotated[
        Path | None,
        typer.Option("--db", metavar="FILE", help="SQLite file to use (default: DATABASE_URL)."),
    ] = None,
    as_: Annotated[
        str, typer.Option("--as", metavar="NAME", help="The local user you start as.")
    ] = "alice",
    files_dir: Annotated[
        Path | None,
        typer.Option(
            "--files-dir",
            metavar="FOLDER",
            help="Folder for the files the bot hands people (exports, charts); one "
            "subfolder per user (default: mentorbot-files).",
        ),
    ] = None,
    start: Annotated[
        datetime | None,
        typer.Option(
            metavar="ISO8601",
            parser=_iso8601,
            help="Start the clock at this time (ISO 8601, UTC if no offset) instead of now; "
            "the scripted sessions in tests/console_sessions/ use 2026-11-25T12:00:00.",
        ),
    ] = None,
) -> None:
    """The whole bot in the terminal: several local users and a clock you can move."""
    from adapters.console.app import DEFAULT_FILES_DIR
    from adapters.console.translate import ConsoleInputError, valid_name
    from adapters.logs import setup_logging
    from bot.storage.database import sqlite_url

    settings = _settings()
    setup_logging(settings, least_level=logging.WARNING)  # the terminal is the chat's
    try:
        user = valid_name(as_)
    except ConsoleInputError as error:
        _fail(str(error))
    url = sqlite_url(db) if db is not None else settings.database_url
    _check_database_url(url)
    _announce_storage(_cipher(settings), plain_level=logging.INFO)  # a sandbox: no warning
    begin = start.replace(tzinfo=start.tzinfo or UTC) if start else None
    folder = files_dir if files_dir is not None else DEFAULT_FILES_DIR
    _run(_console(url, user, begin, settings, folder))


async def _console(
    url: str, user: str, start: datetime | None, settings: Settings, files_dir: Path
) -> None:
    from rich.console import Console

    from adapters.console.app import ConsoleApp, PromptSource, console_clock, stdin_lines
    from bot.clock import SystemClock
    from bot.engine import Engine
    from bot.storage.database import Database
    from bot.storage.keys import check_readable
    from bot.storage.models import Base

    database = Database(url, cipher=_cipher(settings))
    try:
        await database.upgrade()
        await check_readable(database, Base.metadata)
        # Without --start, the clock goes on where this database's last session left it.
        clock, clock_source = await console_clock(database, start, SystemClock().now())
        engine = Engine(
            database,
            clock,
            admin_user_ids=settings.admin_user_ids,
            max_pairs_per_person=settings.max_pairs_per_person,
        )
        interactive = sys.stdin.isatty()
        console_app = ConsoleApp(
            engine,
            database,
            clock,
            Console(highlight=False, soft_wrap=True, emoji=False),
            user=user,
            # A local sandbox: everyone may configure it unless ADMIN_USER_IDS says who.
            everyone_is_admin=not settings.admin_user_ids,
            files_dir=files_dir,
            clock_source=clock_source,
        )
        lines = stdin_lines(interactive=interactive, prompt=PromptSource(console_app, clock))
        await console_app.run(lines, echo=not interactive)
    finally:
        await database.dispose()


# Where each platform's messages go when `dispatch` has no token for it.
TOKEN_FOR = {"slack": "SLACK_BOT_TOKEN", "discord": "DISCORD_BOT_TOKEN"}


@app.command()
def dispatch(
    now: Annotated[
        datetime | None,
        typer.Option(
            metavar="ISO8601",
            parser=_iso8601,
            help="Run the pass as if it were this time (ISO 8601, UTC if no offset).",
        ),
    ] = None,
    max_seconds: Annotated[
        float | None,
        typer.Option(
            metavar="SECONDS",
            parser=_seconds,
            help="Stop delivering after this many seconds (default: when everything due is "
            "sent); what a rate limit held back is sent by the next run. Under cron, 50 "
            "keeps a run from overlapping the next.",
        ),
    ] = None,
) -> None:
    """One dispatch pass (due check-ins, nudges, follow-ups), then deliver what is due
    and exit: for cron.

    Slack messages are sent when SLACK_BOT_TOKEN is set and Discord messages when
    DISCORD_BOT_TOKEN is set (Slack's Web API and Discord's REST API only: no Socket Mode,
    no gateway), with the rate limits, retries and failure handling of `mentorbot run`.
    Without a platform's token its messages stay queued, and it says how many. Several
    at once on one PostgreSQL send each message once."""
    from bot.clock import ShiftedClock

    settings = _settings()
    _setup_logging(settings)
    _check_database_url(settings.database_url)
    moment = _moment(now)
    _announce_storage(_cipher(settings))
    budget = None if max_seconds is None else timedelta(seconds=max_seconds)
    _run(_dispatch(settings, ShiftedClock(moment), moment, budget))


async def _dispatch(
    settings: Settings, clock: ShiftedClock, moment: datetime, budget: timedelta | None
) -> None:
    import contextlib

    from rich.console import Console

    from adapters.console.app import ConsoleApp
    from bot.clock import ManualClock
    from bot.engine import Engine
    from bot.refs import Platform
    from bot.storage.database import Database
    from bot.storage.keys import check_readable
    from bot.storage.models import Base
    from scheduler.dispatch_once import deliver_queued, waiting_by_platform

    database = Database(settings.database_url, cipher=_cipher(settings))
    try:
        async with contextlib.AsyncExitStack() as stack:
            await database.upgrade()
            await check_readable(database, Base.metadata)
            engine = Engine(
                database,
                clock,
                admin_user_ids=settings.admin_user_ids,
                dispatch_spread=timedelta(seconds=settings.dispatch_spread_seconds),
                max_pairs_per_person=settings.max_pairs_per_person,
            )
            # Tokens are checked before anything is queued: a refused one stops here.
            senders = await _platform_senders(settings, engine, stack)
            report = await engine.run_due(moment)
            senders[Platform.CONSOLE] = ConsoleApp(
                engine,
                database,
                ManualClock(moment),
                Console(highlight=False, soft_wrap=True, emoji=False),
                user="dispatch",
                everyone_is_admin=False,
            )
            delivered = await deliver_queued(
                database, senders, clock, limits=_rate_limits(settings), budget=budget
            )
        waiting = await waiting_by_platform(database, clock.now())
    finally:
        await database.dispose()
    err.print(
        f"dispatch at {moment:%Y-%m-%d %H:%M} UTC: "
        f"{how_many(report.checkins_opened, 'check-in', 'check-ins')} opened, "
        f"{report.checkins_missed} missed, {how_many(report.timers, 'reminder', 'reminders')}, "
        f"{how_many(report.heads_ups, 'heads-up', 'heads-ups')}; "
        f"{how_many(delivered.sent, 'message', 'messages')} delivered, "
        f"{how_many(delivered.retried, 'attempt', 'attempts')} to be retried, "
        f"{delivered.failed} failed for good",
        markup=False,
    )
    for platform, queued in sorted(waiting.items()):
        if platform not in senders:
            err.print(
                f"{_waiting(queued.count, platform)}: set "
                f"{TOKEN_FOR.get(platform.value, 'its token')} to deliver "
                f"{_them(queued.count)} (or run `mentorbot run`)",
                markup=False,
            )
            continue
        if queued.due:
            err.print(
                how_many(
                    queued.due,
                    f"message for {platform.value} is due and not sent yet",
                    f"messages for {platform.value} are due and not sent yet",
                )
                + f" (the rate limit held {_them(queued.due)} back, or another process is "
                f"sending {_them(queued.due)}): the next dispatch (or `mentorbot run`) sends "
                f"{_them(queued.due)}",
                markup=False,
            )
        if queued.first_later is not None:
            first = f"{queued.first_later.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
            where = f"for {platform.value}"
            err.print(
                f"1 message {where} is due later (quiet hours or a retry), at {first}: "
                "a dispatch from then (or `mentorbot run`) sends it"
                if queued.later == 1
                else f"{queued.later} messages {where} are due later (quiet hours or "
                f"retries), the first at {first}: dispatches from then (or `mentorbot "
                "run`) send them",
                markup=False,
            )


def _waiting(count: int, platform: Platform) -> str:
    """``3 messages for slack wait``, ``1 message for slack waits``."""
    where = f"for {platform.value}"
    return how_many(count, f"message {where} waits", f"messages {where} wait")


def _them(count: int) -> str:
    return "it" if count == 1 else "them"


async def _platform_senders(
    settings: Settings, engine: Engine, stack: AsyncExitStack
) -> dict[Platform, Sender]:
    """A sender for each platform whose token is set: Slack's Web API, Discord's REST
    API; never Socket Mode or the gateway. A refused token ends the command."""
    from bot.refs import Platform

    senders: dict[Platform, Sender] = {}
    if settings.slack_bot_token is not None:
        senders[Platform.SLACK] = await _slack_sender(settings, engine, stack)
    if settings.discord_bot_token is not None:
        from adapters.discord.sender import rest_sender
        from adapters.discord.sign_in import why_stopped

        token = settings.discord_bot_token.get_secret_value()
        try:
            senders[Platform.DISCORD] = await stack.enter_async_context(
                rest_sender(token, settings.discord_api_url)
            )
        except Exception as error:
            stopped = why_stopped(error, settings.discord_api_url)
            if stopped is None:
                raise
            _fail(str(stopped), stopped.exit_code)
    return senders


async def _slack_sender(settings: Settings, engine: Engine, stack: AsyncExitStack) -> Sender:
    import aiohttp
    from slack_sdk.errors import SlackApiError

    from adapters.slack.sender import SlackSender, slack_error, web_client
    from bot.events import WorkspaceAdded
    from bot.refs import Platform, WorkspaceRef

    assert settings.slack_bot_token is not None
    client = web_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url)
    # One session for the whole pass (slack_sdk would open a connection per message).
    client.session = await stack.enter_async_context(
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
    )
    try:
        signed_in = await client.auth_test()
    except SlackApiError as error:
        code, _, _ = slack_error(error)
        _fail(
            f"Slack refused SLACK_BOT_TOKEN ({code}): copy the Bot User OAuth Token "
            "(xoxb-…) from your app's OAuth & Permissions page",
            2,
        )
    except (TimeoutError, aiohttp.ClientError) as error:
        _fail(f"could not reach Slack at {settings.slack_api_url} ({type(error).__name__})")
    team = str(signed_in.get("team_id") or "")
    if not team:
        _fail("auth.test named no team: is SLACK_BOT_TOKEN a bot token?", 2)
    # The token works, so the app is installed: delivery there may go on (again).
    await engine.workspace_changed(WorkspaceAdded(WorkspaceRef(Platform.SLACK, team)))
    return SlackSender(client)


# The columns of a `pairs import` file (bot.pairs_import.COLUMNS; a test keeps them equal).
IMPORT_COLUMNS = "platform,workspace_id,mentor_id,mentee_id,cadence,weekday,time,timezone"


@pairs_app.command("import", cls=_PlainUsage)
def pairs_import(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE.csv",
            show_default=False,
            help="A CSV file whose first line names its columns: "
            + IMPORT_COLUMNS.replace(",", ", "),
        ),
    ],
) -> None:
    """Bulk-create active pairs (already agreed) from a CSV file; importing the same file
    again changes nothing.

    Good rows are imported even when others are rejected; then each rejected line is
    listed and the exit code is 1 (0 when every row was imported or already there)."""
    settings = _settings()
    _setup_logging(settings)
    _check_database_url(settings.database_url)
    text = _read_csv(file)
    report = _run_returning(
        _import(settings.database_url, text, _cipher(settings), settings.max_pairs_per_person)
    )
    err.print(import_summary(report), markup=False)
    print_rejections(report.rejected)


MAX_REJECTIONS_SHOWN = 50


def print_rejections(rejections: Sequence[Rejected]) -> None:
    """Each rejected line with all its problems, one under the other; then exit 1 if
    there were any (the good rows are in all the same)."""
    for rejected in rejections[:MAX_REJECTIONS_SHOWN]:
        label = f"  line {rejected.line}: "
        err.print(f"{label}{rejected.reason}", markup=False)
        for more in rejected.more:
            err.print(f"{' ' * len(label)}{more}", markup=False)
    if len(rejections) > MAX_REJECTIONS_SHOWN:
        err.print(f"  … and {len(rejections) - MAX_REJECTIONS_SHOWN} more")
    if rejections:
        raise typer.Exit(1)


def import_summary(report: ImportReport) -> str:
    """What an import did, in words: the good rows are in even when some were rejected."""
    done = (
        f"{how_many(report.created, 'pair', 'pairs')} created, "
        f"{how_many(report.already, 'pair was', 'pairs were')} already there"
    )
    if not report.rejected:
        return f"{done}."
    rejected = len(report.rejected)
    return (
        f"{done}; {how_many(rejected, 'row was', 'rows were')} rejected and not imported "
        f"(fix {'it' if rejected == 1 else 'them'} and import the file again: rows already "
        "imported are skipped)."
    )


async def _import(url: str, text: str, cipher: TextCipher | None, max_pairs: int) -> ImportReport:
    import io

    from rich.progress import Progress

    from bot.clock import SystemClock
    from bot.pairs_import import import_pairs
    from bot.storage.database import Database

    database = Database(url, cipher=cipher)
    rows = max(text.count("\n") - 1, 0)
    try:
        await database.upgrade()
        with Progress(console=err.console, transient=True) as progress:
            task = progress.add_task("importing pairs", total=rows or None)
            report = await import_pairs(
                database,
                io.StringIO(text, newline=""),
                SystemClock().now(),
                progress=lambda done: progress.update(task, completed=done),
                max_pairs_per_person=max_pairs,
            )
            progress.update(task, completed=rows)
        return report
    finally:
        await database.dispose()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create the database, or bring its schema up to date (Alembic migrations)."""
    from bot.storage.database import safe_url

    settings = _settings()
    _setup_logging(settings)
    _check_database_url(settings.database_url)
    before, after = _run_returning(_upgrade(settings.database_url, _cipher(settings)))
    where = safe_url(settings.database_url)
    if before is None:
        err.print(f"created the database schema (revision {after}): {where}", markup=False)
    elif before != after:
        err.print(f"upgraded the database from revision {before} to {after}: {where}", markup=False)
    else:
        err.print(f"the database was already up to date (revision {after}): {where}", markup=False)


async def _upgrade(url: str, cipher: TextCipher | None) -> tuple[str | None, str | None]:
    """The schema revision before and after the upgrade (None: no schema yet)."""
    from bot.storage.database import Database

    database = Database(url, cipher=cipher)
    try:
        before = await _revision(database)
        await database.upgrade()
        return before, await _revision(database)
    finally:
        await database.dispose()


async def _revision(database: Database) -> str | None:
    from sqlalchemy import inspect, text

    async with database.engine.connect() as connection:
        has_table = await connection.run_sync(
            lambda sync: inspect(sync).has_table("alembic_version")
        )
        if not has_table:
            return None
        found = await connection.scalar(text("SELECT version_num FROM alembic_version"))
        return str(found) if found is not None else None


PlatformOption = Annotated[str, typer.Option(metavar="PLATFORM", help="slack, discord or console.")]
WorkspaceOption = Annotated[
    str,
    typer.Option(
        metavar="ID",
        help=f"The Slack team id or Discord server id (the console's is {CONSOLE_WORKSPACE}).",
    ),
]
UserOption = Annotated[str, typer.Option(metavar="ID", help="The user's id on that platform.")]


@app.command()
def stats(
    platform: PlatformOption,
    workspace: WorkspaceOption,
    csv: Annotated[
        Path | None,
        typer.Option(
            "--csv",
            metavar="FILE",
            help="Write metric,value rows here, and the weekly series to NAME-weekly.csv.",
        ),
    ] = None,
    chart: Annotated[
        Path | None,
        typer.Option("--chart", metavar="FILE", help="Write the weekly activity chart (PNG)."),
    ] = None,
    now: Annotated[
        datetime | None,
        typer.Option(
            metavar="ISO8601",
            parser=_iso8601,
            help="Report as of this time (ISO 8601, UTC if no offset).",
        ),
    ] = None,
) -> None:
    """The program view for admins: pairs, check-in answer rates, feedback answer time and
    stalled pairs of one workspace (numbers and names only, never anyone's words)."""
    from rich.console import Console
    from rich.table import Table

    from bot.escaping import escape_controls
    from bot.program import metrics_csv, weekly_chart_png, weekly_csv

    settings = _settings()
    _setup_logging(settings)
    chosen = _platform(platform)
    _check_database_url(settings.database_url)
    moment = _moment(now)
    found, known = _run_returning(
        _stats(settings.database_url, _cipher(settings), chosen, workspace, moment)
    )
    if found is None:
        _fail(_unknown_workspace(chosen, workspace, known))
    table = Table(title=escape_controls(f"mentorbot program stats: {chosen.value} {workspace}"))
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in found.metrics():
        table.add_row(escape_controls(name), escape_controls(value or "n/a"))
    out = Console(highlight=False, soft_wrap=True)
    out.print(table)
    for stalled in found.stalled:
        shown = escape_controls(f"stalled: {stalled.mentor} mentoring {stalled.mentee}")
        out.print(shown, markup=False)
    try:
        if csv is not None:
            csv.write_text(metrics_csv(found), encoding="utf-8")
            weekly = csv.with_name(f"{csv.stem}-weekly{csv.suffix or '.csv'}")
            weekly.write_text(weekly_csv(found), encoding="utf-8")
            err.print(f"wrote {csv} and {weekly}", markup=False)
        if chart is not None:
            chart.write_bytes(weekly_chart_png(found.weekly))
            err.print(f"wrote {chart}", markup=False)
    except OSError as error:
        _cannot_write(csv or chart, error)


MAX_WORKSPACES_LISTED = 20


def _unknown_workspace(platform: Platform, workspace: str, known: list[str]) -> str:
    """An unknown workspace, with the ones this database knows for that platform."""
    said = f"no {platform.value} workspace {workspace!r} is known in this database"
    if not known:
        return f"{said}, and it knows no {platform.value} workspace at all."
    listed = ", ".join(known[:MAX_WORKSPACES_LISTED])
    more = len(known) - MAX_WORKSPACES_LISTED
    return f"{said}. It knows: {listed}" + (f" (and {more} more)." if more > 0 else ".")


async def _stats(
    url: str, cipher: TextCipher | None, platform: Platform, workspace: str, now: datetime
) -> tuple[ProgramStats | None, list[str]]:
    from sqlalchemy import select

    from bot.program import stats_for
    from bot.storage.database import Database
    from bot.storage.models import Workspace

    database = Database(url, cipher=cipher)
    try:
        await database.upgrade()
        found = await stats_for(database, platform, workspace, now)
        if found is not None:
            return found, []
        async with database.transaction() as session:
            known = await session.scalars(
                select(Workspace.external_id)
                .where(Workspace.platform == platform.value)
                .order_by(Workspace.external_id)
            )
            return None, list(known)
    finally:
        await database.dispose()


def _platform(name: str) -> Platform:
    from bot.refs import Platform

    try:
        return Platform(name.strip().lower())
    except ValueError:
        _fail(f"unknown platform {name!r}: say slack, discord or console.", 2)


@app.command("export")
def export_command(
    platform: PlatformOption,
    workspace: WorkspaceOption,
    user: UserOption,
    format_: Annotated[
        ExportFormat,
        typer.Option(
            "--format",
            metavar="json|md",
            parser=_export_format,
            help="json: everything stored about them; md: the brag doc.",
        ),
    ] = ExportFormat.JSON,
    out: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Where to write it (default: the current folder, named as in chat).",
        ),
    ] = None,
) -> None:
    """Write everything stored about one person (what `/mentor export` sends them)."""
    settings = _settings()
    _setup_logging(settings)
    chosen = _platform(platform)
    _check_database_url(settings.database_url)
    from bot.privacy import export_user

    bundle = _run_returning(
        _about_one(
            settings,
            lambda database: export_user(database, chosen, workspace, user, _moment(None)),
        )
    )
    if format_ is ExportFormat.JSON:
        name, data = bundle.json_filename, bundle.json_data
    else:
        name, data = bundle.markdown_filename, bundle.markdown
    target = out if out is not None else Path.cwd() / name
    try:
        target.write_bytes(data)
    except OSError as error:
        _cannot_write(target, error)
    err.print(f"wrote the {format_.value} export of {user} to {target}", markup=False)


async def _about_one(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """``work`` on the database, about one person (export, forget): a person it does not
    know is said in one line (``UnknownMember``), like any error people cause."""
    from bot.privacy import UnknownMember
    from bot.storage.database import Database

    database = Database(settings.database_url, cipher=_cipher(settings))
    try:
        await database.upgrade()
        return await work(database)
    except UnknownMember as error:
        _fail(error.message)
    finally:
        await database.dispose()


@app.command("forget")
def forget_command(
    platform: PlatformOption,
    workspace: WorkspaceOption,
    user: UserOption,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete everything stored about one person (what `/mentor forget` does): their
    pairs end and partners are told, without details. This cannot be undone."""
    settings = _settings()
    _setup_logging(settings)
    chosen = _platform(platform)
    _check_database_url(settings.database_url)
    from bot.privacy import check_known, forget_user

    if not yes:
        # Said before the question: nobody confirms the deletion of someone unknown.
        _run_returning(
            _about_one(settings, lambda database: check_known(database, chosen, workspace, user))
        )
        try:
            typed = typer.prompt(
                f"This deletes everything about {user}. Type the user id to confirm"
            )
        except typer.Abort:  # no input (stdin closed, as under cron) or Ctrl-C
            err.print()
            _fail("no confirmation was typed, so nothing was deleted (--yes skips asking).")
        if typed.strip() != user:
            _fail("that is not the user id, so nothing was deleted.")
    report = _run_returning(
        _about_one(
            settings,
            lambda database: forget_user(database, chosen, workspace, user, _moment(None)),
        )
    )
    print(f"Deleted everything stored about {user}: {report.counts()}, and their settings.")
    if report.pairs_ended:
        print(f"Pairs ended: {report.pairs_ended}; each partner is told only that it ended.")


@db_app.command("rotate-key")
def db_rotate_key() -> None:
    """Encrypt all free text with the first DATA_ENCRYPTION_KEY: text under an older key
    and plain text written before encryption was on. Safe to run again."""
    from bot.crypto import describe

    settings = _settings()
    _setup_logging(settings)
    cipher = _cipher(settings)
    if cipher is None:
        _fail("set DATA_ENCRYPTION_KEY first: rotate-key encrypts with its first key.", 2)
    _check_database_url(settings.database_url)
    report = _run_returning(_rotate_key(settings.database_url, cipher))
    err.print(
        f"{how_many(report.values, 'value', 'values')} in {how_many(report.rows, 'row', 'rows')} "
        "encrypted with the first key "
        f"({describe(cipher)})"
    )


async def _rotate_key(url: str, cipher: TextCipher) -> RotationReport:
    from bot.storage.database import Database
    from bot.storage.keys import rotate_keys
    from bot.storage.models import Base

    database = Database(url, cipher=cipher)
    try:
        await database.upgrade()
        return await rotate_keys(database, Base.metadata)
    finally:
        await database.dispose()


@app.command()
def run() -> None:
    """Run the bot on every platform whose credentials are set, with the scheduler and
    the delivery worker. SIGTERM or Ctrl-C stops it after the work in flight."""
    serve()


def serve(clock: Clock | None = None) -> None:
    """What ``mentorbot run`` does. ``clock``: the command line never passes one (the
    bot runs on the system clock); bench/bench_memory.py runs the same process on a
    fast simulated clock to put an hour of traffic through it in minutes."""
    settings = _settings()
    _setup_logging(settings)
    if settings.slack_bot_token is None and settings.discord_bot_token is None:
        _fail(f"no platform is configured. Set {PLATFORM_VARIABLES} (see .env.example).", 2)
    _check_database_url(settings.database_url)
    _announce_storage(_cipher(settings))
    _run(_serve(settings, clock))


async def _remember_sharers(engine: Engine) -> None:
    """Who shared the latest wins, read as the process starts (PostgreSQL), so each one's
    first /win after a restart is as quick as their later ones. A start goes on without
    it: their first /win then goes the usual way, as it did before."""
    log = logging.getLogger(__name__)
    try:
        remembered = await engine.remember_recent_sharers()
    except Exception as error:  # its kind only: the database's details may quote a row
        log.warning(
            "could not read who shared wins lately (%s); each one's next /win goes the usual way",
            type(error).__name__,
        )
        return
    if remembered:
        log.info("remembered who shared the latest wins (%d)", remembered)


async def _serve(settings: Settings, given_clock: Clock | None = None) -> None:
    import asyncio
    import gc
    import signal

    from adapters.net import read_in_small_pieces
    from adapters.ops import Metrics, OpsServer, OpsStartError
    from bot.clock import SystemClock
    from bot.engine import Engine
    from bot.refs import Platform
    from bot.storage.database import Database
    from bot.storage.keys import check_readable
    from bot.storage.models import Base
    from scheduler.app import BotScheduler
    from scheduler.delivery_worker import DeliveryWorker
    from scheduler.shutdown import STOP_SECONDS, Watchdog, stop_within

    read_in_small_pieces()  # before any socket is opened (memory over days: adapters/net.py)
    database = Database(
        settings.database_url,
        cipher=_cipher(settings),
        limits=settings.database_limits(),
        pool_size=settings.db_pool_size,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    watchdog = Watchdog()  # SIGTERM ends the process within 10 s, whatever the DB does

    def on_signal() -> None:
        stop.set()
        watchdog.arm()

    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, on_signal)
    senders: dict[Platform, Sender] = {}
    limits = _rate_limits(settings)
    clock = given_clock or SystemClock()
    metrics = Metrics()
    worker = DeliveryWorker(database, senders, clock, limits=limits, telemetry=metrics)
    engine = Engine(
        database,
        clock,
        admin_user_ids=settings.admin_user_ids,
        on_queued=worker.wake,
        dispatch_spread=timedelta(seconds=settings.dispatch_spread_seconds),
        telemetry=metrics,
        max_pairs_per_person=settings.max_pairs_per_person,
    )
    scheduler = BotScheduler(
        engine, worker, interval_seconds=settings.dispatch_interval_seconds, telemetry=metrics
    )
    # /healthz and /metrics on OPS_HOST:OPS_PORT, or on PORT with Slack's /slack/events.
    ops_shared = settings.ops_port in (None, settings.port)
    token = settings.metrics_token
    ops = OpsServer(
        database,
        metrics,
        host=settings.ops_host,
        port=settings.ops_port or settings.port,
        metrics_token=token.get_secret_value() if token else None,
    )
    # How to stop each platform that started, newest first.
    stoppers: list[Callable[[], Awaitable[None]]] = []
    discord_task: asyncio.Task[None] | None = None
    slack_start_error: type[Exception] = OpsStartError
    try:
        await database.upgrade()
        await check_readable(database, Base.metadata)
        await database.open_pool()  # all of them now, not late in a long run
        await _remember_sharers(engine)
        if settings.slack_bot_token is not None:
            from adapters.slack.app import SlackAdapter, SlackStartError

            slack_start_error = SlackStartError
            slack = SlackAdapter(settings, engine, server=ops.app if ops_shared else None)
            ops.watch("slack", slack)
            senders[Platform.SLACK] = slack.sender
            await slack.start()
            stoppers.append(lambda: slack.stop(grace_seconds=4))
        if settings.discord_bot_token is not None:
            from adapters.discord.app import DiscordAdapter

            # Discord starts the scheduler from setup_hook, once, never from on_ready.
            discord_adapter = DiscordAdapter(settings, engine, database, on_setup=scheduler.start)
            senders[Platform.DISCORD] = discord_adapter.sender
            ops.watch("discord", discord_adapter)
            discord_task = asyncio.create_task(discord_adapter.start(), name="discord")
            discord_task.add_done_callback(lambda _: stop.set())  # a fatal error ends the run
            stoppers.append(discord_adapter.stop)
        await ops.start()
        scheduler.start()  # once per process: a no-op when Discord already started it
        # What starting made (modules, compiled statements, settings) lives as long as
        # the process: out of the collector's way, a full collection under load no
        # longer walks it (bench/README.md, issue 16: the acks' p99).
        gc.freeze()
        err.print("mentorbot is running; Ctrl-C or SIGTERM stops it.")
        await stop.wait()
    except (slack_start_error, OpsStartError) as error:
        # A refused token or a missing secret is a configuration error (exit 2, as the
        # help says); a Slack or a port that cannot be reached is an error (1).
        _fail(str(error), 2 if getattr(error, "configuration", False) else 1)
    finally:
        # Stop taking new work, finish what is in flight, within about 10 s: first no
        # more requests (and /healthz no longer ok), then the scheduler and delivery.
        await stop_within(
            STOP_SECONDS,
            [
                ops.stop,
                lambda: scheduler.stop(grace_seconds=4),
                *reversed(stoppers),
                database.dispose,
            ],
        )
    # After the finally: a Discord that stopped the run is an error a supervisor restarts
    # (1), or a refused token (2), never a clean exit (0) that leaves the bot down.
    if discord_task is not None and discord_task.done() and not discord_task.cancelled():
        from adapters.discord.sign_in import DiscordStopped

        failure = discord_task.exception()
        if isinstance(failure, DiscordStopped):
            _fail(str(failure), failure.exit_code)
        if failure is not None:
            _fail(f"Discord stopped: {type(failure).__name__}", 1)


@app.command("slack-manifest")
def slack_manifest_command(
    socket: Annotated[bool, typer.Option("--socket", help="Socket Mode (no public URL).")] = False,
    http: Annotated[
        str | None,
        typer.Option("--http", metavar="URL", help="Your public base URL, for HTTP mode."),
    ] = None,
) -> None:
    """Print a Slack app manifest (YAML) to paste at api.slack.com/apps."""
    from adapters.slack.manifest import slack_manifest

    if socket == (http is not None):
        _fail("say either --socket or --http https://your.host (one of them).", 2)
    try:
        manifest = slack_manifest(socket_mode=socket, base_url=http)
    except ValueError as error:  # a --http that is not a URL
        _fail(f"{error}.", 2)
    print(manifest, end="")


@app.command("discord-invite")
def discord_invite(
    application_id: Annotated[
        str | None,
        typer.Option(
            metavar="ID", help="Your application id (default: read from DISCORD_BOT_TOKEN)."
        ),
    ] = None,
) -> None:
    """Print the OAuth2 URL that adds the bot to a Discord server, with exactly the
    scopes (bot, applications.commands) and permissions it needs."""
    from adapters.discord.invite import invite_url

    if application_id is None:
        token = _settings().discord_bot_token
        if token is None:
            _fail("give --application-id, or set DISCORD_BOT_TOKEN to read it from.", 2)
        application_id = _application_id(token.get_secret_value())
    if not application_id.isdecimal():
        _fail("the application id is a number, like 1234567890123456789.", 2)
    print(invite_url(application_id))


def _application_id(token: str) -> str:
    """A bot token's first part is its user id (the application id), base64-encoded."""
    import base64
    import binascii

    head = token.split(".", 1)[0]
    try:
        return base64.b64decode(head + "=" * (-len(head) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        _fail("DISCORD_BOT_TOKEN does not look like a bot token; give --application-id.", 2)
