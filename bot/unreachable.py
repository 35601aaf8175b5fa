"""What to do when the platform says, for good, that someone or something cannot be
reached: stop trying it, pause what depends on it, and tell a person who can act."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content import Content
from bot.delivery_failure import DeliveryFailure, FailureScope
from bot.pairs import has_accepted, pairs_of
from bot.rhythm import pause_schedule
from bot.storage.models import (
    Member,
    OutboxMessage,
    OutboxStatus,
    OutboxTarget,
    Pair,
    PairState,
    Workspace,
)
from bot.text import mention_list
from bot.turn import Turn

UNREACHABLE_NOTE = "I couldn't send you a direct message earlier (your DMs may be closed to me)"


async def returning_note(turn: Turn) -> str:
    """What someone whose DMs failed for good is told when they next use the bot: what
    stopped because of it, and how to start it again. One query, only on that turn.

    Pairs paused with no end are those ``_recipient`` paused (a pause someone asks for
    always has one); a proposal they have not accepted is one whose invitation they may
    never have seen."""
    views = await pairs_of(turn, turn.actor, (PairState.PAUSED, PairState.PROPOSED))
    paused = [
        v.partner.external_id
        for v in views
        if v.pair.state == PairState.PAUSED and v.pair.paused_until is None
    ]
    unseen = [
        v.partner.external_id
        for v in views
        if v.pair.state == PairState.PROPOSED and not has_accepted(v.pair, v.me.id)
    ]
    stopped = []
    if paused:
        stopped.append(f"I paused your check-ins with {mention_list(paused)}")
    if unseen:
        stopped.append(
            f"you may not have seen a proposed pair with {mention_list(unseen)}, which waits "
            "for your answer (`/mentor status` shows how to answer)"
        )
    if not stopped:
        return f"{UNREACHABLE_NOTE}. Open your DMs to me so my messages reach you."
    restart = ", then `/mentor resume` restarts the check-ins" if paused else ""
    return f"{UNREACHABLE_NOTE}, so {', and '.join(stopped)}. Open your DMs to me{restart}."


async def unreachable(
    session: AsyncSession,
    workspace: Workspace,
    message: OutboxMessage,
    failure: DeliveryFailure,
    now: datetime,
) -> None:
    match failure.scope:
        case FailureScope.RECIPIENT if message.target_kind == OutboxTarget.DM:
            await _recipient(session, workspace, message.target_id, now)
        case FailureScope.CHANNEL if message.target_kind == OutboxTarget.CHANNEL:
            await _channel(session, workspace, message.target_id, failure.reason, now)
        case FailureScope.WORKSPACE:
            workspace.delivery_stopped_at = now
            await stop_workspace(session, workspace)
        case _:
            pass


async def stop_workspace(session: AsyncSession, workspace: Workspace) -> None:
    """Everything waiting for a workspace that refused us for good is recorded failed."""
    await _fail_pending(session, workspace, None, None, "workspace unreachable")


async def _fail_pending(
    session: AsyncSession,
    workspace: Workspace,
    target_kind: OutboxTarget | None,
    target_id: str | None,
    reason: str,
) -> None:
    query = update(OutboxMessage).where(
        OutboxMessage.workspace_id == workspace.id,
        OutboxMessage.status == OutboxStatus.PENDING.value,
    )
    if target_kind is not None:
        query = query.where(
            OutboxMessage.target_kind == target_kind.value, OutboxMessage.target_id == target_id
        )
    await session.execute(query.values(status=OutboxStatus.FAILED.value, last_error=reason))


async def _recipient(
    session: AsyncSession, workspace: Workspace, user_id: str, now: datetime
) -> None:
    member = (
        await session.execute(
            select(Member).where(Member.workspace_id == workspace.id, Member.external_id == user_id)
        )
    ).scalar_one_or_none()
    if member is None or member.dm_blocked_at is not None:
        return
    member.dm_blocked_at = now
    await _fail_pending(session, workspace, OutboxTarget.DM, user_id, "recipient unreachable")
    turn = Turn.on_behalf_of(session, now, workspace, member)
    for view in await pairs_of(turn, member, (PairState.ACTIVE, PairState.PROPOSED)):
        if view.pair.state == PairState.PROPOSED:
            _proposal_unseen(turn, view.pair, member, view.partner)
            continue
        view.pair.state = PairState.PAUSED.value
        view.pair.paused_until = None  # until someone resumes it
        pause_schedule(view.pair)
        turn.dm(
            view.partner,
            Content(
                f"I couldn't reach <@{member.external_id}> by direct message (their DMs may "
                "be closed to me), so I paused your check-ins. They'll get a note the next "
                "time they use the bot; either of you can restart with `/mentor resume`."
            ),
        )


def _proposal_unseen(turn: Turn, pair: Pair, member: Member, partner: Member) -> None:
    """A proposal ``member`` was asked to agree to, while DMs to them fail: its
    invitation never reached them, so the other one of the two hears it (or it would
    wait for an answer nobody can give, unsaid)."""
    if has_accepted(pair, member.id):
        return
    mentor, mentee = (member, partner) if pair.mentor_id == member.id else (partner, member)
    turn.dm(
        partner,
        Content(
            f"I couldn't reach <@{member.external_id}> by direct message (their DMs may be "
            f"closed to me), so they haven't seen the proposed pair of <@{mentor.external_id}> "
            f"mentoring <@{mentee.external_id}>. They'll get a note the next time they use "
            "the bot; until they answer, it stays proposed (`/mentor end` withdraws it)."
        ),
    )


async def _channel(
    session: AsyncSession, workspace: Workspace, channel_id: str, reason: str, now: datetime
) -> None:
    await _fail_pending(session, workspace, OutboxTarget.CHANNEL, channel_id, reason[:200])
    if workspace.shoutout_channel_id != channel_id:
        return
    workspace.shoutout_channel_id = None
    admin = (
        await session.get(Member, workspace.shoutout_set_by_id)
        if workspace.shoutout_set_by_id
        else None
    )
    if admin is None:
        return
    Turn.on_behalf_of(session, now, workspace, admin).dm(
        admin,
        Content(
            f"I couldn't post a milestone shout-out in <#{channel_id}> ({reason}). I've "
            "switched shout-outs to DMs for now. Invite me to the channel, or pick another "
            "with `/mentor config shoutouts #channel`."
        ),
    )
