"""Which workspace a direct message belongs to.

Discord sends a DM without a guild, but every conversation in the core lives in a
workspace (a guild). A DM reply goes to the guild where the person has a conversation
open (the newest, if several), else to the newest guild they are known in. Buttons and
forms don't need this: their custom ids carry the guild (see ``render.custom_id``).

This reads the core's tables directly; it would sit better in the core as a query of
its own (named in the issue note).
"""

from __future__ import annotations

from sqlalchemy import select

from bot.refs import Platform
from bot.storage.database import Database
from bot.storage.models import FlowSession, Member, Workspace


class DmRoutes:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def workspace_for(self, user_id: str) -> str | None:
        known = (
            select(Workspace.external_id)
            .join(Member, Member.workspace_id == Workspace.id)
            .where(Workspace.platform == Platform.DISCORD.value, Member.external_id == user_id)
        )
        with_open_conversation = (
            known.join(FlowSession, FlowSession.member_id == Member.id)
            .where(FlowSession.ended_at.is_(None))
            .order_by(FlowSession.updated_at.desc(), FlowSession.id.desc())
            .limit(1)
        )
        async with self._database.transaction() as session:
            found = await session.scalar(with_open_conversation)
            if found is None:
                found = await session.scalar(known.order_by(Member.id.desc()).limit(1))
        return found
