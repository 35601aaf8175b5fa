"""The shell's matching commands: ``mentorbot people import`` and ``mentorbot match``.

Registered on the CLI's Typer app by ``adapters/cli.py``; the heavy imports (the
database, the solver and scipy behind it) happen inside the commands, so starting
``mentorbot`` for anything else stays light.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.numbers import how_many

if TYPE_CHECKING:
    from bot.crypto import TextCipher
    from bot.matching.people_import import PeopleReport
    from bot.refs import Platform

_MENTION = re.compile(r"<@([^>]+)>")


def people_import(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE.csv",
            show_default=False,
            help="CSV: platform,workspace_id,user_id,role,topics,capacity,team,timezone",
        ),
    ],
) -> None:
    """Put people in the matching pool from a CSV file (role mentor, mentee or both;
    topics separated by ;); importing the same file again changes nothing."""
    from adapters import cli

    settings = cli._settings()
    cli._setup_logging(settings)
    cli._check_database_url(settings.database_url)
    text = cli._read_csv(file)
    report = cli._run_returning(_import(settings.database_url, text, cli._cipher(settings)))
    cli.err.print(
        f"{report.joined} joined the pool, {report.updated} updated, "
        f"{report.unchanged} unchanged, {how_many(len(report.rejected), 'row', 'rows')} rejected"
    )
    cli.print_rejections(report.rejected)


async def _import(url: str, text: str, cipher: TextCipher | None) -> PeopleReport:
    import io

    from bot.clock import SystemClock
    from bot.matching.people_import import import_people
    from bot.storage.database import Database

    database = Database(url, cipher=cipher)
    try:
        await database.upgrade()
        return await import_people(database, io.StringIO(text, newline=""), SystemClock().now())
    finally:
        await database.dispose()


def match(
    platform: Annotated[str, typer.Option(metavar="PLATFORM", help="slack, discord or console.")],
    workspace: Annotated[
        str,
        typer.Option(
            metavar="ID", help="The Slack team id or Discord server id (the console's is local)."
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only show the round; send nothing.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the round as JSON (platform user ids).")
    ] = False,
) -> None:
    """A matching round: the best proposals for the pool, each asked of both people by
    DM (delivered by the running bot or `mentorbot dispatch`). --dry-run only shows it."""
    from adapters import cli

    settings = cli._settings()
    cli._setup_logging(settings)
    chosen = cli._platform(platform)
    cli._check_database_url(settings.database_url)
    found = cli._run_returning(
        _match(settings.database_url, cli._cipher(settings), chosen, workspace, dry_run)
    )
    if found is None:
        cli._fail(f"no {chosen.value} workspace {workspace!r} is known in this database.")
    preview, text, sent = found
    if as_json:
        print(json.dumps(preview, ensure_ascii=False, indent=2))
    else:
        print(_MENTION.sub(r"\1", text))
    if sent is not None:
        cli.err.print(sent, markup=False)


async def _match(
    url: str, cipher: TextCipher | None, platform: Platform, workspace: str, dry_run: bool
) -> tuple[dict[str, object], str, str | None] | None:
    from sqlalchemy import select

    from bot.clock import SystemClock
    from bot.matching import rounds
    from bot.storage.database import Database
    from bot.storage.models import Workspace

    database = Database(url, cipher=cipher)
    now = SystemClock().now()
    try:
        await database.upgrade()
        async with database.transaction() as session:
            query = select(Workspace).where(
                Workspace.platform == platform.value, Workspace.external_id == workspace
            )
            row = (await session.execute(query)).scalar_one_or_none()
            if row is None:
                return None
            result, members = await rounds.plan(session, row.id, now)
            sent = None
            if not dry_run:
                done = await rounds.run_and_send(session, row, now, result, members)
                queued = how_many(done.sent, "proposal", "proposals")
                sent = f"{queued} queued; each person is asked by DM."
                if done.stale:
                    gone = ("no longer fits and was not sent", "no longer fit and were not sent")
                    sent += f" {how_many(done.stale, *gone)}."
            return rounds.as_json(result), rounds.describe(result), sent
    finally:
        await database.dispose()
