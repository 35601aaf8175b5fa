"""A matching round: the admin's preview, then the proposals, sent only when they say so.

```mermaid
stateDiagram-v2
    [*] --> previewed: /mentor match (nobody else hears anything)
    previewed --> sent: Send proposals (each pair asked through the consent flow)
    previewed --> canceled: Cancel
    sent --> [*]
    canceled --> [*]
```

Each proposal is an ordinary pair proposal (``bot/flows/pair_proposal.py``) proposed by
the admin, so both people are asked and the admin hears the answers. One nobody answers
in ``EXPIRES_AFTER`` expires in the dispatch pass (``expire_due``): the pair is recorded
as declined, so the next round does not propose the same two again, and the admin is
told. A decline does the same through the consent flow itself.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence, Set
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.access import require_admin, workspace_match_round
from bot.commands import RunMatch
from bot.content import Button, ButtonStyle, Content
from bot.due_report import DueReport
from bot.effects import Effect, ReplyEphemeral, UpdateMessage
from bot.flows import pair_proposal
from bot.flows.sessions import FlowKind, flow_button, start_flow
from bot.matching.pool import load_pool
from bot.matching.solver import Round, solve
from bot.numbers import how_many, whole_number
from bot.pairs import label_name
from bot.storage.models import (
    MatchProposal,
    MatchRound,
    Member,
    Pair,
    PairState,
    Workspace,
)
from bot.turn import Turn, display_name

MATCH_ACTION = "match"
EXPIRES_AFTER = timedelta(days=7)
PREVIEW_LINES = 25  # pairs listed in the chat preview; the CLI's --json lists all


def action_id(round_id: int, choice: str) -> str:
    return f"{MATCH_ACTION}:{round_id}:{choice}"


def parse_action(argument: str) -> tuple[int, str] | None:
    """``<round id>:<send|cancel>`` after the ``match:`` prefix."""
    text, _, choice = argument.partition(":")
    round_id = whole_number(text)  # a forged value gets no traceback (bot/numbers.py)
    if round_id is None or choice not in ("send", "cancel"):
        return None
    return round_id, choice


async def plan(
    session: AsyncSession, workspace_id: int, now: datetime
) -> tuple[Round, dict[str, Member]]:
    """The round the pool gives now, and its members by platform user id. The solver
    runs in a worker thread: a large pool takes seconds, the event loop goes on."""
    loaded = await load_pool(session, workspace_id, now)
    result = await asyncio.to_thread(solve, loaded.pool)
    return result, loaded.members


def as_json(result: Round) -> dict[str, Any]:
    """The CLI's ``--json``: platform user ids."""
    return {
        "pairs": [
            {"mentor": p.mentor, "mentee": p.mentee, "score": p.score, "reasons": list(p.reasons)}
            for p in result.proposals
        ],
        "unmatched": [{"user": u.user, "reason": u.reason} for u in result.unmatched],
    }


def _stored(result: Round, members: dict[str, Member]) -> dict[str, Any]:
    """The preview as kept in the round row: member ids, so it survives renames."""
    return {
        "pairs": [
            {
                "mentor": members[p.mentor].id,
                "mentee": members[p.mentee].id,
                "score": p.score,
                "reasons": list(p.reasons),
            }
            for p in result.proposals
        ],
        "unmatched": [{"member": members[u.user].id, "reason": u.reason} for u in result.unmatched],
    }


def describe(result: Round) -> str:
    """The preview as the admin reads it (mentions render on every platform)."""
    if not result.proposals and not result.unmatched:
        # Nobody left out either: the pool has no one to match, which is what to say (not
        # "every mentee has a proposal" of a pool with no mentees in it).
        return (
            "No pair can be proposed right now: no mentee in the pool is waiting for a "
            "mentor. Mentees join with `/mentor join mentee <topics>`; a paired mentee who "
            "wants another mentor joins again."
        )
    if not result.proposals:
        lines = ["No pair can be proposed right now."]
    else:
        count = len(result.proposals)
        lines = [
            f"Matching round preview: {how_many(count, 'pair', 'pairs')}. "
            "Nobody has been told anything yet."
        ]
        for number, p in enumerate(result.proposals[:PREVIEW_LINES], 1):
            lines.append(
                f"{number}. <@{p.mentor}> mentors <@{p.mentee}> (score {p.score}): "
                + "; ".join(p.reasons)
            )
        if count > PREVIEW_LINES:
            lines.append(
                f"…and {how_many(count - PREVIEW_LINES, 'more pair', 'more pairs')} (all of them: "
                "`mentorbot match --dry-run --json`)."
            )
    if result.unmatched:
        reasons: dict[str, list[str]] = {}
        for left in result.unmatched:
            reasons.setdefault(left.reason, []).append(left.user)
        lines.append(f"Unmatched mentees: {len(result.unmatched)}.")
        for reason, users in reasons.items():
            shown = ", ".join(f"<@{u}>" for u in users[:10])
            more = f" and {len(users) - 10} more" if len(users) > 10 else ""
            lines.append(f"• {shown}{more}: {reason}")
    else:
        lines.append("Every mentee in the pool has a proposal.")
    return "\n".join(lines)


async def run_match(turn: Turn, command: RunMatch) -> list[Effect]:
    require_admin(turn, "run a matching round")
    result, members = await plan(turn.session, turn.workspace.id, turn.now)
    text = describe(result)
    if not result.proposals:
        return turn.reply(text)
    row = MatchRound(
        workspace_id=turn.workspace.id,
        run_by_id=turn.actor.id,
        preview=_stored(result, members),
        created_at=turn.now,
    )
    turn.session.add(row)
    await turn.session.flush()
    buttons = (
        Button("Send proposals", action_id(row.id, "send"), ButtonStyle.PRIMARY),
        Button("Cancel", action_id(row.id, "cancel"), ButtonStyle.DANGER),
    )
    return turn.reply(text, buttons=buttons)


async def click(turn: Turn, round_id: int, choice: str, message_id: str | None) -> list[Effect]:
    require_admin(turn, "send a matching round")
    query = select(MatchRound).where(workspace_match_round(turn, round_id)).with_for_update()
    row = (await turn.session.execute(query)).scalar_one_or_none()
    if row is None or row.sent_at is not None or row.canceled_at is not None:
        done = "sent" if row is not None and row.sent_at is not None else "closed"
        return turn.reply(f"That matching round was already {done}, so nothing changed.")
    if choice == "cancel":
        row.canceled_at = turn.now
        return _show(turn, message_id, "Canceled: no proposals were sent.")
    row.sent_at = turn.now
    sent, stale = await send(turn, row)
    why = "someone left the pool, was paired meanwhile, or a mentor's places filled"
    if not sent:
        # Nothing went out: say so first, and how to get a round that fits the pool now.
        it = "its pair no longer fits" if stale == 1 else f"none of its {stale} pairs fits any more"
        return _show(
            turn,
            message_id,
            f"No proposal was sent: since this preview, {it} ({why}). `/mentor match` makes "
            "a new preview from the pool as it is now.",
        )
    text = f"Sent {how_many(sent, 'proposal', 'proposals')}: I asked both people of each pair."
    if stale:
        verb = "no longer fits and was" if stale == 1 else "no longer fit and were"
        text += f" {how_many(stale, 'pair', 'pairs')} {verb} not sent ({why})."
    text += f" Unanswered proposals expire after {EXPIRES_AFTER.days} days; I'll tell you."
    return _show(turn, message_id, text)


def _show(turn: Turn, message_id: str | None, text: str) -> list[Effect]:
    if message_id is not None:
        return [UpdateMessage(turn.actor_ref, message_id, Content(text))]
    return [ReplyEphemeral(turn.actor_ref, Content(text))]


async def send(turn: Turn, row: MatchRound) -> tuple[int, int]:
    """Propose each pair of the round that still fits the rules now; (sent, not sent)."""
    loaded = await load_pool(turn.session, turn.workspace.id, turn.now)
    room = {m.user_id: m.room for m in loaded.pool.mentors}
    waiting = {m.user_id for m in loaded.pool.mentees}
    by_id = {m.id: m for m in loaded.members.values()}
    proposer = await turn.session.get(Member, row.run_by_id) if row.run_by_id else None
    stale = 0
    fitting: list[tuple[Member, Member, dict[str, Any]]] = []
    for item in row.preview.get("pairs", []):
        mentor, mentee = by_id.get(int(item["mentor"])), by_id.get(int(item["mentee"]))
        if (
            mentor is None
            or mentee is None
            or room.get(mentor.external_id, 0) <= 0
            or mentee.external_id not in waiting
            or (mentor.external_id, mentee.external_id) in loaded.pool.blocked
        ):
            stale += 1
            continue
        room[mentor.external_id] -= 1
        waiting.discard(mentee.external_id)
        fitting.append((mentor, mentee, item))
    # Someone proposed twice (a mentor given two mentees, someone who is both a mentor
    # and a mentee) reads both in one DM (one event, one message): their buttons name
    # the other person of each ([Accept Eve] [Decline Eve] [Accept Ela] ...).
    proposals = Counter(person.id for mentor, mentee, _ in fitting for person in (mentor, mentee))
    several = {person for person, count in proposals.items() if count > 1}
    for mentor, mentee, item in fitting:
        await _propose(
            turn, row, mentor, mentee, proposer, int(item["score"]), item["reasons"], several
        )
    return len(fitting), stale


async def _propose(
    turn: Turn,
    row: MatchRound,
    mentor: Member,
    mentee: Member,
    proposer: Member | None,
    score: int,
    reasons: Sequence[str],
    several: Set[int] = frozenset(),
) -> None:
    """``several``: the ids of the people with other proposals in this round, whose
    copy's buttons say whom they answer for."""
    pair = Pair(
        workspace_id=turn.workspace.id,
        mentor_id=mentor.id,
        mentee_id=mentee.id,
        # The admin who sent the round: they hear the answers. Both people are asked,
        # even when the admin is one of them (nobody chose this pair themselves).
        proposed_by_id=proposer.id if proposer else None,
        state=PairState.PROPOSED.value,
        mentor_accepted=False,
        mentee_accepted=False,
        timezone=mentee.timezone or mentor.timezone or "UTC",
        created_at=turn.now,
    )
    turn.session.add(pair)
    await turn.session.flush()
    turn.session.add(
        MatchProposal(
            workspace_id=turn.workspace.id,
            round_id=row.id,
            pair_id=pair.id,
            score=score,
            expires_at=turn.now + EXPIRES_AFTER,
        )
    )
    flow = await start_flow(turn, FlowKind.PAIR_PROPOSAL, pair_proposal.State.AWAITING, pair=pair)
    why = "; ".join(reasons)
    for to, other in ((mentor, mentee), (mentee, mentor)):
        whom = f" {label_name(display_name(other))}" if to.id in several else ""
        buttons = (
            flow_button(flow, "accept", f"Accept{whom}", ButtonStyle.PRIMARY),
            flow_button(flow, "decline", f"Decline{whom}", ButtonStyle.DANGER),
        )
        ask = (
            f"would you like to mentor <@{mentee.external_id}>?"
            if to.id == mentor.id
            else f"would you like <@{mentor.external_id}> as your mentor?"
        )
        text = (
            f"🤝 The matching round suggests a pair: <@{mentor.external_id}> mentoring "
            f"<@{mentee.external_id}>.\nWhy: {why}.\nAs a pair you get a short check-in on "
            "a steady rhythm, share wins with each other and celebrate milestones together. "
            f"So, {ask} (This proposal expires in {EXPIRES_AFTER.days} days.)"
        )
        turn.dm(to, Content(text, buttons=buttons))


# --- expiry (the dispatch pass) -----------------------------------------------------------


async def expire_due(session: AsyncSession, now: datetime, batch: int, report: DueReport) -> int:
    """Round proposals whose week is up: unanswered ones expire (recorded as declined, the
    admin and the two told); answered ones just leave the index. Costs what is due."""
    query = (
        select(MatchProposal, Pair, Workspace)
        .join(Pair, Pair.id == MatchProposal.pair_id)
        .join(Workspace, Workspace.id == MatchProposal.workspace_id)
        .where(MatchProposal.expires_at <= now)
        .order_by(MatchProposal.expires_at)
        .limit(batch)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=MatchProposal)
    rows = (await session.execute(query)).all()
    for proposal, pair, workspace in rows:
        proposal.expires_at = None
        if pair.state != PairState.PROPOSED.value:
            continue
        await _expire(session, now, proposal, pair, workspace)
        report.proposals_expired += 1
    return len(rows)


async def _expire(
    session: AsyncSession, now: datetime, proposal: MatchProposal, pair: Pair, workspace: Workspace
) -> None:
    pair.state = PairState.DECLINED.value
    pair.ended_at = now
    proposal.expired_at = now
    mentor = await session.get(Member, pair.mentor_id)
    mentee = await session.get(Member, pair.mentee_id)
    assert mentor is not None and mentee is not None
    # The proposal's conversation stays open: a late click hears that it was withdrawn
    # (the consent flow sees the pair is no longer proposed) and ends it.
    turn = Turn.on_behalf_of(session, now, workspace, mentor)
    couple = f"<@{mentor.external_id}> mentoring <@{mentee.external_id}>"
    for member in (mentor, mentee):
        turn.dm(
            member,
            Content(
                f"The proposed pair of {couple} expired after {EXPIRES_AFTER.days} days "
                "without both answers, so no pair was formed. You stay in the matching pool."
            ),
        )
    # The admin who sent the round; a round sent from the shell has none, so the
    # workspace's admins as last seen are told instead (as for stalled pairs).
    if pair.proposed_by_id is not None:
        admins = [m for m in [await session.get(Member, pair.proposed_by_id)] if m is not None]
    else:
        query = select(Member).where(Member.workspace_id == workspace.id, Member.is_admin)
        admins = list((await session.execute(query.order_by(Member.id).limit(20))).scalars())
    for admin in admins:
        if admin.id in (mentor.id, mentee.id):
            continue
        turn.dm(
            admin,
            Content(
                f"A matching proposal expired: {couple} was not answered by both within "
                f"{EXPIRES_AFTER.days} days. The next round will not propose those two again."
            ),
        )


@dataclass(frozen=True, slots=True)
class SentRound:
    sent: int
    stale: int


async def run_and_send(
    session: AsyncSession,
    workspace: Workspace,
    now: datetime,
    result: Round,
    members: dict[str, Member],
) -> SentRound:
    """The CLI's round without ``--dry-run``: stored and sent at once, with no admin (the
    operator ran it); DMs wait out the recipients' quiet hours like scheduled ones."""
    row = MatchRound(
        workspace_id=workspace.id,
        run_by_id=None,
        preview=_stored(result, members),
        created_at=now,
        sent_at=now,
    )
    session.add(row)
    await session.flush()
    if not result.proposals:
        return SentRound(0, 0)
    anyone = next(iter(members.values()))
    turn = Turn.on_behalf_of(session, now, workspace, anyone)
    sent, stale = await send(turn, row)
    return SentRound(sent, stale)
