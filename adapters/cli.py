"""``mentorbot``: the command line, and the one composition root that wires the core,
the adapters and the scheduler together."""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from adapters import matching_cli
from adapters.console.app import DEFAULT_FILES_DIR, ConsoleApp, PromptSource, stdin_lines
from adapters.console.translate import ConsoleInputError, valid_name
from adapters.discord.app import DiscordAdapter
from adapters.discord.invite import invite_url
from adapters.logs import setup_logging
from adapters.ops import Metrics, OpsServer, OpsStartError
from adapters.slack.app import SlackAdapter, SlackStartError
from adapters.slack.manifest import slack_manifest
from bot.clock import ManualClock, ShiftedClock, SystemClock
from bot.crypto import (
    EncryptedTextError,
    EncryptionKeyError,
    RotationReport,
    TextCipher,
    check_readable,
    cipher_from_setting,
    describe,
    rotate_keys,
)
from bot.delivery import RateLimit, RateLimits, Sender, deliver_all
from bot.engine import Engine
from bot.pairs_import import COLUMNS, ImportReport, import_pairs
from bot.privacy import ExportBundle, ForgetReport, UnknownMember, export_user, forget_user
from bot.program import ProgramStats, metrics_csv, stats_for, weekly_chart_png, weekly_csv
from bot.refs import Platform
from bot.settings import Settings
from bot.storage.database import Database, safe_url, sqlite_url
from bot.storage.models import Base
from scheduler.app import BotScheduler
from scheduler.delivery_worker import DeliveryWorker

T = TypeVar("T")


app = typer.Typer(
    help="mentorbot keeps mentoring pairs in a steady rhythm on Slack, Discord and the terminal.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database commands.", no_args_is_help=True)
app.add_typer(db_app, name="db")
pairs_app = typer.Typer(help="Pair commands.", no_args_is_help=True)
app.add_typer(pairs_app, name="pairs")
# Matching (adapters/matching_cli.py: its heavy imports are inside the commands).
people_app = typer.Typer(help="The matching pool.", no_args_is_help=True)
app.add_typer(people_app, name="people")
people_app.command("import")(matching_cli.people_import)
app.command("match")(matching_cli.match)
err = Console(stderr=True, highlight=False, soft_wrap=True)

PLATFORM_VARIABLES = (
    "SLACK_BOT_TOKEN (with SLACK_SIGNING_SECRET or SLACK_APP_TOKEN) or DISCORD_BOT_TOKEN"
)


def main() -> None:
    app()


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in error.errors()
        )
        _fail(f"the settings are not valid: {problems}")


def _fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", markup=True)
    raise typer.Exit(code)


def _cipher(settings: Settings) -> TextCipher | None:
    """The free-text cipher DATA_ENCRYPTION_KEY asks for (the error never shows the key)."""
    try:
        return cipher_from_setting(settings.data_encryption_key)
    except EncryptionKeyError as error:
        _fail(str(error))


def _announce_storage(cipher: TextCipher | None, plain_level: int = logging.WARNING) -> None:
    # Not the "mentorbot" logger: slack_bolt names its app logger after the app and sets
    # its level.
    logging.getLogger(__name__).log(
        logging.INFO if cipher is not None else plain_level, describe(cipher)
    )


def _setup_logging(settings: Settings) -> None:
    setup_logging(settings)  # LOG_FORMAT, library levels and secret redaction


def _run(work: Coroutine[Any, Any, None]) -> None:
    _run_returning(work)


def _run_returning(work: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine and turn the errors people cause into one clear line."""
    try:
        return asyncio.run(_settled(work))
    except (SQLAlchemyError, OSError) as error:
        _fail(f"the database could not be used: {type(error).__name__}: {_first_line(error)}")
    except ValueError as error:
        _fail(str(error))
    except EncryptedTextError as error:
        _fail(error.message)


def _check_sqlite_folder(url: str) -> None:
    """Fail clearly before aiosqlite does: its worker thread would print a traceback."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        folder = Path(parsed.database).expanduser().resolve().parent
        if not folder.is_dir():
            _fail(f"cannot create the database file {parsed.database}: {folder} is not a folder")


async def _settled(work: Coroutine[Any, Any, T]) -> T:
    try:
        return await work
    except Exception:
        # When SQLite fails to open a file, aiosqlite's worker thread still posts a result
        # to the loop; give it a moment so it does not find the loop closed and print a
        # traceback over our one-line error.
        await asyncio.sleep(0.2)
        raise


def _first_line(error: BaseException) -> str:
    return str(error).split("\n", 1)[0][:300]


@app.command()
def console(
    db: Annotated[
        Path | None, typer.Option("--db", help="SQLite file to use (default: DATABASE_URL).")
    ] = None,
    as_: Annotated[str, typer.Option("--as", help="The local user you start as.")] = "alice",
    files_dir: Annotated[
        Path,
        typer.Option(
            "--files-dir",
            help="Folder for the files the bot hands people (exports, charts); one "
            "subfolder per user.",
        ),
    ] = DEFAULT_FILES_DIR,
    start: Annotated[
        datetime | None,
        typer.Option(help="Start the clock at this time (UTC) instead of now.", hidden=True),
    ] = None,
) -> None:
    """The whole bot in the terminal: several local users and a clock you can move."""
    settings = _settings()
    logging.basicConfig(level=max(logging.WARNING, logging.getLevelName(settings.log_level)))
    try:
        user = valid_name(as_)
    except ConsoleInputError as error:
        _fail(str(error))
    url = sqlite_url(db) if db is not None else settings.database_url
    _check_sqlite_folder(url)
    _announce_storage(_cipher(settings), plain_level=logging.INFO)  # a sandbox: no warning
    begin = start.replace(tzinfo=start.tzinfo or UTC) if start else SystemClock().now()
    _run(_console(url, user, ManualClock(begin), settings, files_dir))


async def _console(
    url: str, user: str, clock: ManualClock, settings: Settings, files_dir: Path
) -> None:
    database = Database(url, cipher=_cipher(settings))
    try:
        await database.upgrade()
        await check_readable(database, Base.metadata)
        engine = Engine(database, clock, admin_user_ids=settings.admin_user_ids)
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
        )
        lines = stdin_lines(interactive=interactive, prompt=PromptSource(console_app, clock))
        await console_app.run(lines, echo=not interactive)
    finally:
        await database.dispose()


@app.command()
def dispatch(
    now: Annotated[
        datetime | None,
        typer.Option(help="Run the pass as if it were this time (ISO 8601, UTC if no offset)."),
    ] = None,
) -> None:
    """One dispatch pass (due check-ins, nudges, follow-ups), then deliver what it queued.

    For cron-style deploys; messages for platforms this process has no adapter for are
    left in the outbox for `mentorbot run`."""
    settings = _settings()
    _setup_logging(settings)
    _check_sqlite_folder(settings.database_url)
    moment = (now.replace(tzinfo=now.tzinfo or UTC) if now else SystemClock().now()).astimezone(UTC)
    _announce_storage(_cipher(settings))
    _run(_dispatch(settings, ShiftedClock(moment), moment))


async def _dispatch(settings: Settings, clock: ShiftedClock, moment: datetime) -> None:
    database = Database(settings.database_url, cipher=_cipher(settings))
    try:
        await database.upgrade()
        await check_readable(database, Base.metadata)
        engine = Engine(
            database,
            clock,
            admin_user_ids=settings.admin_user_ids,
            dispatch_spread=timedelta(seconds=settings.dispatch_spread_seconds),
        )
        report = await engine.run_due(moment)
        printer = ConsoleApp(
            engine,
            database,
            ManualClock(moment),
            Console(highlight=False, soft_wrap=True, emoji=False),
            user="dispatch",
            everyone_is_admin=False,
        )
        delivered = await deliver_all(database, {Platform.CONSOLE: printer}, clock)
    finally:
        await database.dispose()
    err.print(
        f"dispatch at {moment:%Y-%m-%d %H:%M} UTC: {report.checkins_opened} check-ins "
        f"opened, {report.checkins_missed} missed, {report.timers} reminders, "
        f"{report.heads_ups} heads-ups; {delivered.sent} messages delivered, "
        f"{delivered.retried} to retry, {delivered.failed} failed"
    )


@pairs_app.command("import")
def pairs_import(
    file: Annotated[Path, typer.Argument(help="CSV: " + ",".join(COLUMNS))],
) -> None:
    """Bulk-create active pairs (already agreed) from a CSV file; importing the same file
    again changes nothing."""
    settings = _settings()
    _setup_logging(settings)
    _check_sqlite_folder(settings.database_url)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        _fail(f"cannot read {file}: {_first_line(error)}")
    report = _run_returning(_import(settings.database_url, text, _cipher(settings)))
    err.print(
        f"{report.created} pairs created, {report.already} already there, "
        f"{len(report.rejected)} rows rejected"
    )
    for rejected in report.rejected[:MAX_REJECTIONS_SHOWN]:
        err.print(f"  line {rejected.line}: {rejected.reason}", markup=False)
    if len(report.rejected) > MAX_REJECTIONS_SHOWN:
        err.print(f"  … and {len(report.rejected) - MAX_REJECTIONS_SHOWN} more")
    if report.rejected:
        raise typer.Exit(1)


MAX_REJECTIONS_SHOWN = 50


async def _import(url: str, text: str, cipher: TextCipher | None) -> ImportReport:
    database = Database(url, cipher=cipher)
    rows = max(text.count("\n") - 1, 0)
    try:
        await database.upgrade()
        with Progress(console=err, transient=True) as progress:
            task = progress.add_task("importing pairs", total=rows or None)
            report = await import_pairs(
                database,
                io.StringIO(text, newline=""),
                SystemClock().now(),
                progress=lambda done: progress.update(task, completed=done),
            )
            progress.update(task, completed=rows)
        return report
    finally:
        await database.dispose()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema up to date (Alembic migrations)."""
    settings = _settings()
    _setup_logging(settings)
    _check_sqlite_folder(settings.database_url)
    _run(_upgrade(settings.database_url, _cipher(settings)))
    err.print(f"database is up to date: {safe_url(settings.database_url)}")


async def _upgrade(url: str, cipher: TextCipher | None) -> None:
    database = Database(url, cipher=cipher)
    try:
        await database.upgrade()
    finally:
        await database.dispose()


@app.command()
def stats(
    platform: Annotated[str, typer.Option(help="slack, discord or console.")],
    workspace: Annotated[str, typer.Option(help="The Slack team or Discord guild id.")],
    csv: Annotated[
        Path | None,
        typer.Option(
            "--csv",
            help="Write metric,value rows here, and the weekly series to NAME-weekly.csv.",
        ),
    ] = None,
    chart: Annotated[
        Path | None, typer.Option("--chart", help="Write the weekly activity chart (PNG).")
    ] = None,
    now: Annotated[
        datetime | None,
        typer.Option(help="Report as of this time (ISO 8601, UTC if no offset)."),
    ] = None,
) -> None:
    """The program view for admins: pairs, check-in answer rates, feedback answer time and
    stalled pairs of one workspace (numbers and names only, never anyone's words)."""
    settings = _settings()
    _setup_logging(settings)
    try:
        chosen = Platform(platform.strip().lower())
    except ValueError:
        _fail(f"unknown platform {platform!r}: say slack, discord or console.")
    _check_sqlite_folder(settings.database_url)
    moment = (now.replace(tzinfo=now.tzinfo or UTC) if now else SystemClock().now()).astimezone(UTC)
    found = _run_returning(
        _stats(settings.database_url, _cipher(settings), chosen, workspace, moment)
    )
    if found is None:
        _fail(f"no {chosen.value} workspace {workspace!r} is known in this database.")
    table = Table(title=f"mentorbot program stats: {chosen.value} {workspace}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in found.metrics():
        table.add_row(name, value or "n/a")
    out = Console(highlight=False, soft_wrap=True)
    out.print(table)
    for stalled in found.stalled:
        out.print(f"stalled: {stalled.mentor} mentoring {stalled.mentee}", markup=False)
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
        _fail(f"cannot write the file: {_first_line(error)}")


async def _stats(
    url: str, cipher: TextCipher | None, platform: Platform, workspace: str, now: datetime
) -> ProgramStats | None:
    database = Database(url, cipher=cipher)
    try:
        await database.upgrade()
        return await stats_for(database, platform, workspace, now)
    finally:
        await database.dispose()


class ExportFormat(StrEnum):
    JSON = "json"
    MD = "md"


PlatformOption = Annotated[str, typer.Option(help="slack, discord or console.")]
WorkspaceOption = Annotated[
    str, typer.Option(help="The Slack team or Discord guild id (console: console).")
]
UserOption = Annotated[str, typer.Option(help="The user's id on that platform.")]


def _platform(name: str) -> Platform:
    try:
        return Platform(name.strip().lower())
    except ValueError:
        _fail(f"unknown platform {name!r}: say slack, discord or console.")


@app.command("export")
def export_command(
    platform: PlatformOption,
    workspace: WorkspaceOption,
    user: UserOption,
    format_: Annotated[
        ExportFormat,
        typer.Option("--format", help="json: everything stored about them; md: the brag doc."),
    ] = ExportFormat.JSON,
    out: Annotated[
        Path | None,
        typer.Option(help="Where to write it (default: the current folder, named as in chat)."),
    ] = None,
) -> None:
    """Write everything stored about one person (what `/mentor export` sends them)."""
    settings = _settings()
    _setup_logging(settings)
    chosen = _platform(platform)
    _check_sqlite_folder(settings.database_url)
    bundle = _run_returning(
        _export(settings.database_url, _cipher(settings), chosen, workspace, user)
    )
    if format_ is ExportFormat.JSON:
        name, data = bundle.json_filename, bundle.json_data
    else:
        name, data = bundle.markdown_filename, bundle.markdown
    target = out if out is not None else Path.cwd() / name
    try:
        target.write_bytes(data)
    except OSError as error:
        _fail(f"cannot write {target}: {_first_line(error)}")
    err.print(f"wrote the {format_.value} export of {user} to {target}", markup=False)


async def _export(
    url: str, cipher: TextCipher | None, platform: Platform, workspace: str, user: str
) -> ExportBundle:
    database = Database(url, cipher=cipher)
    try:
        await database.upgrade()
        return await export_user(database, platform, workspace, user, SystemClock().now())
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
    _check_sqlite_folder(settings.database_url)
    if not yes:
        typed = typer.prompt(f"This deletes everything about {user}. Type the user id to confirm")
        if typed.strip() != user:
            _fail("that is not the user id, so nothing was deleted.")
    report = _run_returning(
        _forget(settings.database_url, _cipher(settings), chosen, workspace, user)
    )
    print(f"Deleted everything stored about {user}: {report.counts()}, and their settings.")
    if report.pairs_ended:
        print(f"Pairs ended: {report.pairs_ended}; each partner is told only that it ended.")


async def _forget(
    url: str, cipher: TextCipher | None, platform: Platform, workspace: str, user: str
) -> ForgetReport:
    database = Database(url, cipher=cipher)
    try:
        await database.upgrade()
        return await forget_user(database, platform, workspace, user, SystemClock().now())
    except UnknownMember as error:
        _fail(error.message)
    finally:
        await database.dispose()


@db_app.command("rotate-key")
def db_rotate_key() -> None:
    """Encrypt all free text with the first DATA_ENCRYPTION_KEY: text under an older key
    and plain text written before encryption was on. Safe to run again."""
    settings = _settings()
    _setup_logging(settings)
    cipher = _cipher(settings)
    if cipher is None:
        _fail("set DATA_ENCRYPTION_KEY first: rotate-key encrypts with its first key.", 2)
    _check_sqlite_folder(settings.database_url)
    report = _run_returning(_rotate_key(settings.database_url, cipher))
    err.print(
        f"{report.values} values in {report.rows} rows encrypted with the first key "
        f"({describe(cipher)})"
    )


async def _rotate_key(url: str, cipher: TextCipher) -> RotationReport:
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
    settings = _settings()
    _setup_logging(settings)
    if settings.slack_bot_token is None and settings.discord_bot_token is None:
        _fail(f"no platform is configured. Set {PLATFORM_VARIABLES} (see .env.example).", 2)
    _check_sqlite_folder(settings.database_url)
    _announce_storage(_cipher(settings))
    _run(_serve(settings))


async def _serve(settings: Settings) -> None:
    database = Database(settings.database_url, cipher=_cipher(settings))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, stop.set)
    senders: dict[Platform, Sender] = {}
    limits = RateLimits(
        {
            Platform.SLACK: RateLimit(settings.slack_messages_per_second, burst=3),
            Platform.DISCORD: RateLimit(settings.discord_messages_per_second, burst=10),
        }
    )
    clock = SystemClock()
    metrics = Metrics()
    worker = DeliveryWorker(database, senders, clock, limits=limits, telemetry=metrics)
    engine = Engine(
        database,
        clock,
        admin_user_ids=settings.admin_user_ids,
        on_queued=worker.wake,
        dispatch_spread=timedelta(seconds=settings.dispatch_spread_seconds),
        telemetry=metrics,
    )
    scheduler = BotScheduler(
        engine, worker, interval_seconds=settings.dispatch_interval_seconds, telemetry=metrics
    )
    # /healthz and /metrics on PORT; Slack's /slack/events too, in HTTP mode.
    ops = OpsServer(database, metrics, port=settings.port)
    # How to stop each platform that started, newest first.
    stoppers: list[Callable[[], Awaitable[None]]] = []
    discord_task: asyncio.Task[None] | None = None
    try:
        await database.upgrade()
        await check_readable(database, Base.metadata)
        if settings.slack_bot_token is not None:
            slack = SlackAdapter(settings, engine, server=ops.app)
            ops.watch("slack", slack)
            senders[Platform.SLACK] = slack.sender
            await slack.start()
            stoppers.append(lambda: slack.stop(grace_seconds=4))
        if settings.discord_bot_token is not None:
            # Discord starts the scheduler from setup_hook, once, never from on_ready.
            discord_adapter = DiscordAdapter(settings, engine, database, on_setup=scheduler.start)
            senders[Platform.DISCORD] = discord_adapter.sender
            ops.watch("discord", discord_adapter)
            discord_task = asyncio.create_task(discord_adapter.start(), name="discord")
            discord_task.add_done_callback(lambda _: stop.set())  # a fatal error ends the run
            stoppers.append(discord_adapter.stop)
        await ops.start()
        scheduler.start()  # once per process: a no-op when Discord already started it
        err.print("mentorbot is running; Ctrl-C or SIGTERM stops it.")
        await stop.wait()
    except (SlackStartError, OpsStartError) as error:
        _fail(str(error))
    finally:
        # Stop taking new work, finish what is in flight, within about 10 s: first no
        # more requests (and /healthz no longer ok), then the scheduler and delivery.
        await ops.stop()
        await scheduler.stop(grace_seconds=5)
        for stop_platform in reversed(stoppers):
            await stop_platform()
        if discord_task is not None and discord_task.done() and not discord_task.cancelled():
            failure = discord_task.exception()
            if failure is not None:
                err.print(f"error: Discord stopped: {type(failure).__name__}", markup=False)
        await database.dispose()


@app.command("slack-manifest")
def slack_manifest_command(
    socket: Annotated[bool, typer.Option("--socket", help="Socket Mode (no public URL).")] = False,
    http: Annotated[
        str | None, typer.Option("--http", help="Your public base URL, for HTTP mode.")
    ] = None,
) -> None:
    """Print a Slack app manifest (YAML) to paste at api.slack.com/apps."""
    if socket == (http is not None):
        _fail("say either --socket or --http https://your.host (one of them).", 2)
    print(slack_manifest(socket_mode=socket, base_url=http), end="")


@app.command("discord-invite")
def discord_invite(
    application_id: Annotated[
        str | None,
        typer.Option(help="Your application id (default: read from DISCORD_BOT_TOKEN)."),
    ] = None,
) -> None:
    """Print the OAuth2 URL that adds the bot to a Discord server, with exactly the
    scopes (bot, applications.commands) and permissions it needs."""
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
    head = token.split(".", 1)[0]
    try:
        return base64.b64decode(head + "=" * (-len(head) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        _fail("DISCORD_BOT_TOKEN does not look like a bot token; give --application-id.", 2)
