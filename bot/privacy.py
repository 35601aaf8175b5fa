"""Export and forget: everything stored about a person, handed to them or deleted.

```mermaid
stateDiagram-v2
    [*] --> confirming: /mentor forget
    confirming --> [*]: Delete everything (the session goes with the rest)
    confirming --> kept: Keep my data
    kept --> [*]
```

**Export** (``/mentor export``, ``mentorbot export``): one function, ``export_member``,
builds a JSON file of every row about the member in their workspace and a Markdown brag
doc. Only what *they* wrote is included: a feedback item holds the question and action if
they are its mentee, the answer if they are its mentor; a partner appears as an id only;
messages addressed to them are listed with when and whether they were delivered, not
their words (those may quote the partner, and are in the person's DMs already).
Files have no platform to render mention markup, so ``<@U1>`` in what they wrote becomes
the member's name (``@Alice``), and the brag doc escapes their words for Markdown: what
they typed (``<html>``, ``*stars*``) reads as typed. A look back names its milestone as
the milestones do: ``pair_id`` and ``milestone_number``.

**Forget** (``/mentor forget``, ``mentorbot forget``), in one transaction:

- Their live pairs end, and each partner is told in a DM that the pair ended, without
  details (and without naming them: the message must outlive them).
- Deleted: their wins, the words of their check-in answers, milestones they own
  (automatic ones and goals they set), look backs they wrote, their words in feedback
  items (question and action as mentee, answer as mentor), their conversations (flow
  sessions), outbox messages to them or naming them or quoting their text (sent or not),
  and their member row (with its settings and consent).
- Kept, as anonymous facts, so the program's numbers do not change: that a check-in
  prompt was answered and when (the answer row, without words, belongs to the tombstone;
  when both members of one check-in are forgotten, only the first one's fact can stay),
  and a feedback item's times (asked, answered, acted on; a question keeps an empty text,
  so it still counts as a question).
- Kept, for the partner: pair rows, check-in occurrences (a check-in always concerns two
  people and holds no text), the partner's answers, wins, milestones and look backs, and
  what the partner wrote in feedback items with the forgotten person.
  Their references to the forgotten person are moved to one *tombstone* member per
  workspace (external id ``~forgotten``, no name, no timezone, no consent), so nothing
  cascades away with the member row and no migration is needed. Only ``proposed_by_id``
  (nullable, and a proposer gets DMs) is cleared instead: a proposal they made for two
  other people stays, with no proposer. A partner's look back
  about a goal the forgotten person set keeps its text and loses the link to that goal.
- The partner's conversations about those pairs end (their buttons stop working);
  those about deleted feedback items are deleted with them.
- ``handled_events`` holds platform delivery ids (trigger and interaction ids), which
  name nobody, so nothing there is about a person; ``workspaces`` forgets that they chose
  the shout-out channel.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.commands import ExportData, ForgetMe
from bot.content import ButtonStyle, Content
from bot.effects import Attachment, Effect, SendFiles
from bot.errors import UserError
from bot.flows import checkin
from bot.flows import review as look_back
from bot.flows.sessions import (
    NAMED_PARTNER,
    STALE,
    FlowKind,
    StepResult,
    flow_button,
    move,
    not_for_you,
    start_flow,
)
from bot.matching.pool import profile_of, topics_of
from bot.pairs import FORGOTTEN_MEMBER_ID, pairs_of
from bot.refs import Platform, UserRef
from bot.rhythm import stop_schedule
from bot.storage.database import Database
from bot.storage.models import (
    LIVE_PAIR_STATES,
    Checkin,
    CheckinAnswer,
    Feedback,
    FlowSession,
    MatchProfile,
    MatchProfileTopic,
    MatchProposal,
    MatchRound,
    Member,
    Milestone,
    MilestoneKind,
    OutboxMessage,
    OutboxTarget,
    Pair,
    PairState,
    Review,
    Win,
    Workspace,
)
from bot.text import mentioned_user_ids, named_mentions
from bot.turn import Turn, get_or_create

EXPORT_FORMAT = 1
TOMBSTONE_ID = FORGOTTEN_MEMBER_ID
TOMBSTONE_NAME = "(former member)"
# A forgotten person's question: no words, but still a question (not feedback given
# unprompted, whose question is None), so the program's feedback numbers stay.
FORGOTTEN_QUESTION = ""
# Texts shorter than this could match anyone's message by chance ("ok", "great"), so
# they are not looked for in other people's messages; longer ones are, by their start
# (a quoted text may be shortened).
QUOTE_MIN_CHARS = 8
QUOTE_PROBE_CHARS = 60
OUTBOX_PAGE = 500

# Every table, and where the export puts what it holds about the person.
EXPORTED_TABLES: dict[str, str] = {
    "members": "member",
    "workspaces": "workspace",
    "pairs": "pairs",
    "wins": "wins",
    "milestones": "milestones",
    "checkins": "checkins",
    "checkin_answers": "checkin_answers",
    "feedback": "feedback",
    "reviews": "reviews",
    "flow_sessions": "conversations",
    "outbox": "messages_to_you",
    "match_profiles": "matching_profile",
    "match_profile_topics": "matching_profile",
    "match_proposals": "matching_proposals",
    "match_rounds": "matching_rounds_you_ran",
}
# Tables that hold nothing about a person, with the reason.
NOT_ABOUT_A_PERSON: dict[str, str] = {
    "handled_events": "platform delivery ids (trigger and interaction ids) that name nobody",
    "match_topics": "the workspace's topic words, shared by all who name them (a person's "
    "own choice of topics is exported with their matching profile)",
}


class State(StrEnum):
    CONFIRMING = "confirming"
    KEPT = "kept"


# --- export -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExportBundle:
    """Everything stored about one member: the JSON file and the brag doc, as bytes."""

    user_id: str
    json_data: bytes
    markdown: bytes
    counts: dict[str, int]

    @property
    def json_filename(self) -> str:
        return f"mentorbot-export-{_file_safe(self.user_id)}.json"

    @property
    def markdown_filename(self) -> str:
        return f"mentorbot-brag-doc-{_file_safe(self.user_id)}.md"

    @property
    def is_empty(self) -> bool:
        return not any(self.counts.values())

    def files(self) -> tuple[Attachment, ...]:
        return (
            Attachment(self.json_filename, "application/json", self.json_data),
            Attachment(self.markdown_filename, "text/markdown", self.markdown),
        )


def _file_safe(user_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", user_id)[:64] or "user"


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime | date) else value


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


async def export_member(session: AsyncSession, member: Member, *, now: datetime) -> ExportBundle:
    """The member's data in their workspace, in one query per table (no N+1)."""
    workspace = await session.get(Workspace, member.workspace_id)
    assert workspace is not None
    ws, me = member.workspace_id, member.id
    mentor, mentee = aliased(Member), aliased(Member)
    pair_rows = (
        await session.execute(
            select(Pair, mentor.external_id, mentee.external_id)
            .join(mentor, Pair.mentor_id == mentor.id)
            .join(mentee, Pair.mentee_id == mentee.id)
            .where(Pair.workspace_id == ws, or_(Pair.mentor_id == me, Pair.mentee_id == me))
            .order_by(Pair.id)
        )
    ).all()
    pair_ids = [pair.id for pair, _, _ in pair_rows]
    wins = await _all(session, select(Win).where(Win.workspace_id == ws, Win.member_id == me))
    milestones = await _all(
        session,
        select(Milestone).where(Milestone.workspace_id == ws, Milestone.member_id == me),
    )
    checkins = await _all(
        session,
        select(Checkin).where(Checkin.workspace_id == ws, Checkin.pair_id.in_(pair_ids)),
    )
    answers = await _all(
        session,
        select(CheckinAnswer).where(
            CheckinAnswer.workspace_id == ws, CheckinAnswer.member_id == me
        ),
    )
    feedback = await _all(
        session,
        select(Feedback).where(
            Feedback.workspace_id == ws, or_(Feedback.mentee_id == me, Feedback.mentor_id == me)
        ),
    )
    # A look back names its milestone as the milestones section does: by its number
    # within the pair (pair_id + number), never by an internal row id.
    review_rows = (
        await session.execute(
            select(Review, Milestone.number)
            .outerjoin(Milestone, Review.milestone_id == Milestone.id)
            .where(Review.workspace_id == ws, Review.member_id == me)
        )
    ).all()
    reviews = [review for review, _ in review_rows]
    milestone_number = {review.id: number for review, number in review_rows}
    flows = await _all(
        session,
        select(FlowSession).where(FlowSession.workspace_id == ws, FlowSession.member_id == me),
    )
    messages = await _all(
        session,
        select(OutboxMessage).where(
            OutboxMessage.workspace_id == ws,
            OutboxMessage.target_kind == OutboxTarget.DM.value,
            OutboxMessage.target_id == member.external_id,
        ),
    )
    matching = await _matching_export(session, member, pair_ids)
    # Every answer's check-in is one of their pairs' (the pair rows are never deleted).
    checkin_of = {c.id: c for c in checkins}
    said = await _mention_namer(
        session,
        ws,
        [
            *(w.text for w in wins),
            *(m.title for m in milestones),
            *(t for a in answers for t in (a.mood, a.progress, a.challenge, a.next_topic)),
            *(t for f in feedback for t in (f.question, f.answer, f.action)),
            *(t for r in reviews for t in (r.went_well, r.could_improve)),
        ],
    )

    def who(member_id: int | None) -> str | None:
        if member_id is None:
            return None
        return "you" if member_id == me else "someone else"

    data: dict[str, Any] = {
        "export": {
            "format": EXPORT_FORMAT,
            "generated_at": _iso(now),
            "platform": workspace.platform,
            "workspace_id": workspace.external_id,
            "user_id": member.external_id,
        },
        # Every column of their member row (settings, consent), whatever is added later.
        "member": {
            ("user_id" if column.key == "external_id" else column.key): _plain(
                getattr(member, column.key)
            )
            for column in Member.__table__.columns
            if column.key not in ("id", "workspace_id")
        },
        "workspace": {
            "platform": workspace.platform,
            "workspace_id": workspace.external_id,
            "you_chose_the_shoutout_channel": workspace.shoutout_set_by_id == me,
        },
        "pairs": [
            _pair_json(pair, me, mentor_id, mentee_id) for pair, mentor_id, mentee_id in pair_rows
        ],
        "wins": [
            {"text": said(w.text), "created_at": _iso(w.created_at)}
            for w in sorted(wins, key=lambda w: (w.created_at, w.id))
        ],
        "milestones": [
            {
                "kind": m.kind,
                "code": m.code,
                "number": m.number,
                "title": said(m.title),
                "pair_id": m.pair_id,
                "created_at": _iso(m.created_at),
                "completed_at": _iso(m.completed_at),
                "completed_by": who(m.completed_by_id),
                "celebrated_at": _iso(m.celebrated_at),
                "celebrated_in": m.celebrated_in,
            }
            for m in sorted(milestones, key=lambda m: (m.created_at, m.id))
        ],
        "checkins": [
            {
                "pair_id": c.pair_id,
                "due_at": _iso(c.due_at),
                "state": c.state,
                "opened_at": _iso(c.opened_at),
                "shared_at": _iso(c.shared_at),
            }
            for c in sorted(checkins, key=lambda c: (c.due_at, c.id))
        ],
        "checkin_answers": [
            {
                "pair_id": checkin_of[a.checkin_id].pair_id,
                "checkin_due_at": _iso(checkin_of[a.checkin_id].due_at),
                "mood": said(a.mood),
                "progress": said(a.progress),
                "challenge": said(a.challenge),
                "next_topic": said(a.next_topic),
                "answered_at": _iso(a.answered_at),
            }
            for a in sorted(answers, key=lambda a: a.id)
        ],
        "feedback": [_feedback_json(f, me, said) for f in sorted(feedback, key=lambda f: f.id)],
        "reviews": [
            {
                "pair_id": r.pair_id,
                "occasion": r.occasion,
                "milestone_number": milestone_number[r.id],
                "went_well": said(r.went_well),
                "could_improve": said(r.could_improve),
                "created_at": _iso(r.created_at),
                "answered_at": _iso(r.answered_at),
            }
            for r in sorted(reviews, key=lambda r: r.id)
        ],
        "conversations": [
            {
                "id": f.id,
                "kind": f.kind,
                "state": f.state,
                "data": f.data,
                "pair_id": f.pair_id,
                "created_at": _iso(f.created_at),
                "updated_at": _iso(f.updated_at),
                "ended_at": _iso(f.ended_at),
                "due_at": _iso(f.due_at),
            }
            for f in sorted(flows, key=lambda f: f.id)
        ],
        "messages_to_you": [
            {
                "id": m.id,
                "status": m.status,
                "attempts": m.attempts,
                "created_at": _iso(m.created_at),
                "next_attempt_at": _iso(m.next_attempt_at),
                "sent_at": _iso(m.sent_at),
                "last_error": m.last_error,
            }
            for m in sorted(messages, key=lambda m: m.id)
        ],
        **matching,
    }
    # Singular nouns: the reply counts them ("1 win", "3 wins").
    counts = {
        "win": len(wins),
        "milestone": len(milestones),
        "check-in answer": len(answers),
        "feedback item": len(feedback),
        "look back": len(reviews),
        "pair": len(pair_rows),
    }
    markdown = _brag_doc(member, workspace, wins, milestones, feedback, now, said)
    return ExportBundle(
        user_id=member.external_id,
        json_data=json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8"),
        markdown=markdown.encode("utf-8"),
        counts=counts,
    )


# Text as people read it: mention markup turned into names (None stays None).
Namer = Callable[[str | None], str | None]


async def _mention_namer(session: AsyncSession, ws: int, texts: Iterable[str | None]) -> Namer:
    """Files are read without a platform to render ``<@U1>``: each mention becomes the
    name of that member in this workspace (one query for all of them)."""
    ids: set[str] = set()
    for text in texts:
        if text is not None:
            ids |= mentioned_user_ids(text)
    names: dict[str, str] = {}
    if ids:
        rows = await session.execute(
            select(Member.external_id, Member.display_name).where(
                Member.workspace_id == ws, Member.external_id.in_(sorted(ids))
            )
        )
        names = {external_id: name for external_id, name in rows.all() if name}

    def said(text: str | None) -> str | None:
        return None if text is None else named_mentions(text, names)

    return said


async def _matching_export(
    session: AsyncSession, member: Member, pair_ids: list[int]
) -> dict[str, Any]:
    """Their matching profile with its topics, the round proposals about their pairs, and
    the rounds they ran (counts only: a preview names other people)."""
    profile = await profile_of(session, member)
    topics = (await topics_of(session, [profile.id]))[profile.id] if profile else []
    proposals = await _all(
        session,
        select(MatchProposal).where(
            MatchProposal.workspace_id == member.workspace_id, MatchProposal.pair_id.in_(pair_ids)
        ),
    )
    rounds = await _all(
        session,
        select(MatchRound).where(
            MatchRound.workspace_id == member.workspace_id, MatchRound.run_by_id == member.id
        ),
    )
    return {
        "matching_profile": None
        if profile is None
        else {
            "role": profile.role,
            "topics": topics,
            "capacity": profile.capacity,
            "team": profile.team,
            "joined_at": _iso(profile.joined_at),
            "left_at": _iso(profile.left_at),
            "updated_at": _iso(profile.updated_at),
        },
        "matching_proposals": [
            {
                "pair_id": p.pair_id,
                "round_id": p.round_id,
                "score": p.score,
                "expires_at": _iso(p.expires_at),
                "expired_at": _iso(p.expired_at),
            }
            for p in sorted(proposals, key=lambda p: p.id)
        ],
        "matching_rounds_you_ran": [
            {
                "id": r.id,
                "created_at": _iso(r.created_at),
                "sent_at": _iso(r.sent_at),
                "canceled_at": _iso(r.canceled_at),
                "pairs_previewed": len(r.preview.get("pairs", [])),
            }
            for r in sorted(rounds, key=lambda r: r.id)
        ],
    }


async def _forget_matching(session: AsyncSession, ws: int, me: int) -> None:
    """Their profile (and its topic links) goes; rounds they ran lose their name, and
    previews that listed them lose those lines (a preview is kept for its counts)."""
    profiles = select(MatchProfile.id).where(MatchProfile.member_id == me)
    await _run(session, delete(MatchProfileTopic).where(MatchProfileTopic.profile_id.in_(profiles)))
    await _run(session, delete(MatchProfile).where(MatchProfile.member_id == me))
    await _run(
        session,
        update(MatchRound)
        .where(MatchRound.workspace_id == ws, MatchRound.run_by_id == me)
        .values(run_by_id=None),
    )
    for row in await _all(session, select(MatchRound).where(MatchRound.workspace_id == ws)):
        pairs = [p for p in row.preview.get("pairs", []) if me not in (p["mentor"], p["mentee"])]
        left = [u for u in row.preview.get("unmatched", []) if u["member"] != me]
        if len(pairs) != len(row.preview.get("pairs", [])) or len(left) != len(
            row.preview.get("unmatched", [])
        ):
            row.preview = {"pairs": pairs, "unmatched": left}


async def _all(session: AsyncSession, query: Any) -> list[Any]:
    return list((await session.execute(query)).scalars())


def _pair_json(pair: Pair, me: int, mentor_id: str, mentee_id: str) -> dict[str, Any]:
    i_mentor = pair.mentor_id == me
    if pair.proposed_by_id is None:
        proposed_by = None
    elif pair.proposed_by_id == me:
        proposed_by = "you"
    elif pair.proposed_by_id in (pair.mentor_id, pair.mentee_id):
        proposed_by = "your partner"
    else:
        proposed_by = "someone else"
    return {
        "id": pair.id,
        "your_role": "mentor" if i_mentor else "mentee",
        "partner_id": mentee_id if i_mentor else mentor_id,
        "proposed_by": proposed_by,
        "state": pair.state,
        "cadence": pair.cadence,
        "weekday": pair.weekday,
        "local_time": pair.local_time,
        "timezone": pair.timezone,
        "streak": pair.streak,
        "created_at": _iso(pair.created_at),
        "activated_at": _iso(pair.activated_at),
        "ended_at": _iso(pair.ended_at),
        "next_checkin_at": _iso(pair.next_checkin_at),
        "paused_until": _iso(pair.paused_until),
    }


def _feedback_json(item: Feedback, me: int, said: Namer) -> dict[str, Any]:
    """Only the parts the member wrote: a mentee's question and action, a mentor's answer."""
    i_mentee = item.mentee_id == me
    return {
        "pair_id": item.pair_id,
        "your_role": "mentee" if i_mentee else "mentor",
        "kind": "question" if item.question is not None else "feedback given unprompted",
        "your_question": said(item.question) if i_mentee else None,
        "your_answer": None if i_mentee else said(item.answer),
        "your_action": said(item.action) if i_mentee else None,
        "asked_at": _iso(item.asked_at),
        "answered_at": _iso(item.answered_at),
        "acted_at": _iso(item.acted_at),
    }


# What Markdown would read as formatting, a heading, a link, an HTML tag or an entity
# (CommonMark lets a backslash escape any ASCII punctuation).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~&])")
# At the start of a line: a list item (- +; * is escaped anywhere) or a numbered one.
_MARKDOWN_BULLET = re.compile(r"^(\s*)([-+])", re.MULTILINE)
_MARKDOWN_NUMBER = re.compile(r"^(\s*\d+)([.)])", re.MULTILINE)


def markdown_text(text: str) -> str:
    """Someone's words, to show as written in a Markdown file: nothing in them becomes
    formatting or markup (``<html>`` stays visible text)."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    escaped = _MARKDOWN_BULLET.sub(r"\1\\\2", escaped)
    return _MARKDOWN_NUMBER.sub(r"\1\\\2", escaped)


def _indented(text: str) -> str:
    return text.replace("\n", "\n  ")


def _brag_doc(
    member: Member,
    workspace: Workspace,
    wins: Sequence[Win],
    milestones: Sequence[Milestone],
    feedback: Sequence[Feedback],
    now: datetime,
    said: Namer,
) -> str:
    def words(text: str | None) -> str:
        """Someone's words in the doc: mentions as names, escaped, lines kept in the item."""
        return _indented(markdown_text(said(text) or ""))

    zone = ZoneInfo(member.timezone or "UTC")
    name = words(member.display_name or member.external_id)
    lines = [
        f"# Brag doc: {name}",
        "",
        f"_From mentorbot ({workspace.platform} workspace {words(workspace.external_id)}), "
        f"{now.astimezone(zone):%Y-%m-%d}._",
        "",
        "## Wins",
        "",
    ]
    by_month: dict[str, list[Win]] = defaultdict(list)
    for win in sorted(wins, key=lambda w: (w.created_at, w.id)):
        by_month[f"{win.created_at.astimezone(zone):%B %Y}"].append(win)
    if not by_month:
        lines.append("No wins yet: add one with `/win <what went well>`.")
    for month, month_wins in by_month.items():
        lines += [f"### {month}", ""]
        lines += [
            f"- {w.created_at.astimezone(zone):%Y-%m-%d}: {words(w.text)}" for w in month_wins
        ]
        lines.append("")
    if lines[-1]:  # "No wins yet": one blank line before the next heading, as after a month
        lines.append("")
    lines += ["## Milestones reached", ""]
    reached = sorted(
        (m for m in milestones if m.completed_at is not None),
        key=lambda m: (m.completed_at or now, m.id),
    )
    for m in reached:
        assert m.completed_at is not None
        title = f"\\#{m.number} {words(m.title)}" if m.number is not None else words(m.title)
        lines.append(f"- {m.completed_at.astimezone(zone):%Y-%m-%d}: {title}")
    if not reached:
        lines.append("None yet.")
    lines += ["", "## Feedback I acted on", ""]
    acted = [f for f in feedback if f.mentee_id == member.id and f.action]
    for item in sorted(acted, key=lambda f: (f.acted_at or f.asked_at, f.id)):
        day = (item.acted_at or item.asked_at).astimezone(zone)
        about = (
            f"I asked: “{words(item.question)}”"
            if item.question is not None
            else "Feedback my mentor gave me"
        )
        lines.append(f"- {day:%Y-%m-%d}: {about}")
        lines.append(f"  What I did: {words(item.action)}")
    if not acted:
        lines.append("None yet.")
    return "\n".join(lines).rstrip() + "\n"


async def export(turn: Turn, command: ExportData) -> list[Effect]:
    bundle = await export_member(turn.session, turn.actor, now=turn.now)
    if bundle.is_empty:
        note = (
            "I keep almost nothing about you yet: no wins, pairs, answers or feedback, only "
            "your name and settings. I've sent you that file anyway, with an empty brag doc."
        )
    else:
        held = ", ".join(_count(n, what) for what, n in bundle.counts.items() if n)
        note = f"I've sent you everything I keep about you ({held}) in a DM."
    files = SendFiles(
        turn.actor_ref,
        Content(
            "Your mentorbot data: everything I keep about you in this workspace (JSON), and a "
            "brag doc of your wins, milestones and the feedback you acted on (Markdown)."
        ),
        bundle.files(),
    )
    return [*turn.reply(note), files]


# --- forget -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ForgetReport:
    """What was deleted, for the person (counts only)."""

    wins: int = 0
    checkin_answers: int = 0
    feedback: int = 0
    reviews: int = 0
    milestones: int = 0
    conversations: int = 0
    messages: int = 0
    pairs_ended: int = 0

    def counts(self, *, without_none: bool = False) -> str:
        """Each kind's count ("2 wins, 0 look backs, …"); ``without_none``: only the
        kinds that had any (the person does not need "0 look backs" read to them)."""
        kinds = (
            (self.wins, "win"),
            (self.checkin_answers, "check-in answer"),
            (self.feedback, "feedback item"),
            (self.reviews, "look back"),
            (self.milestones, "milestone"),
            (self.conversations, "conversation"),
            (self.messages, "message"),
        )
        return ", ".join(_count(n, what) for n, what in kinds if n or not without_none)

    def describe(self) -> str:
        """For the person who asked."""
        counted = self.counts(without_none=True)
        text = (
            f"Done. I deleted everything I kept about you: {counted + ', and ' if counted else ''}"
            "your settings."
        )
        if self.pairs_ended:
            text += (
                f" {_count(self.pairs_ended, 'pair')} ended; I told "
                f"{'your partner' if self.pairs_ended == 1 else 'your partners'} only that "
                "it ended."
            )
        return f"{text} {KEPT_FACTS} This cannot be undone."


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


# What forget keeps, said to the person both before and after.
KEPT_FACTS = (
    "What stays has neither your name nor your words: that a check-in or a feedback "
    "question was answered, and when, so the program's numbers stay true."
)
CONFIRM_TEXT = (
    "This deletes everything I keep about you in this workspace: your wins, check-in "
    "answers, feedback, look backs, milestones, conversations and settings. Your pairs "
    f"end, and your partners are told only that the pair ended. {KEPT_FACTS} "
    "It cannot be undone.\n"
    "Want a copy first? Use `/mentor export` before you confirm."
)


async def ask_forget(turn: Turn, command: ForgetMe) -> list[Effect]:
    query = select(FlowSession).where(
        FlowSession.workspace_id == turn.workspace.id,
        FlowSession.member_id == turn.actor.id,
        FlowSession.kind == FlowKind.FORGET.value,
        FlowSession.ended_at.is_(None),
    )
    for earlier in (await turn.session.execute(query)).scalars():
        move(turn, earlier, State.KEPT, end=True)  # only the newest question counts
    flow = await start_flow(turn, FlowKind.FORGET, State.CONFIRMING, member=turn.actor)
    return turn.reply(
        CONFIRM_TEXT,
        buttons=(
            flow_button(flow, "delete", "Delete everything", ButtonStyle.DANGER),
            flow_button(flow, "keep", "Keep my data"),
        ),
    )


async def forget_step(turn: Turn, flow: FlowSession, choice: str) -> StepResult | list[Effect]:
    if flow.ended_at is not None:
        return STALE
    if flow.member_id != turn.actor.id:
        owner = await turn.session.get(Member, flow.member_id) if flow.member_id else None
        return not_for_you(owner) if owner else STALE
    if choice == "keep":
        move(turn, flow, State.KEPT, end=True)
        return StepResult(replace_with="Okay, I kept everything as it is.")
    if choice != "delete":
        return STALE
    report = await forget_member(turn, turn.actor)
    return StepResult(replace_with=report.describe())


async def forget_member(turn: Turn, member: Member) -> ForgetReport:
    """Delete every row about ``member`` in the turn's workspace, ending their pairs and
    telling partners; the partner's own data stays (see the module docstring)."""
    session, ws, me = turn.session, turn.workspace.id, member.id
    assert member.workspace_id == ws
    ended = await _end_pairs(turn, member)
    tombstone = await get_or_create(
        session,
        Member,
        {"workspace_id": ws, "external_id": TOMBSTONE_ID},
        {"display_name": TOMBSTONE_NAME, "created_at": turn.now},
    )
    pair_ids = list(
        (
            await session.execute(
                select(Pair.id).where(
                    Pair.workspace_id == ws, or_(Pair.mentor_id == me, Pair.mentee_id == me)
                )
            )
        ).scalars()
    )
    texts = await _texts_of(session, ws, me)
    await turn.write_outbox()  # what this event told partners is looked through too
    messages = await _delete_messages(session, ws, member.external_id, texts)
    # The partner's look backs keep their words; only the link to a deleted goal goes.
    owned_milestones = select(Milestone.id).where(Milestone.member_id == me)
    await _run(
        session,
        update(Review)
        .where(Review.workspace_id == ws, Review.milestone_id.in_(owned_milestones))
        .where(Review.member_id != me)
        .values(milestone_id=None),
    )
    reviews = await _run(session, delete(Review).where(Review.member_id == me))
    milestones = await _run(session, delete(Milestone).where(Milestone.member_id == me))
    answers = await _keep_answered_facts(session, me, tombstone.id)
    feedback = await _keep_feedback_facts(session, me, tombstone.id)
    conversations = await _run(
        session,
        delete(FlowSession).where(
            or_(
                FlowSession.member_id == me,
                and_(
                    FlowSession.pair_id.in_(pair_ids),
                    FlowSession.kind == FlowKind.FEEDBACK.value,
                ),
            )
        ),
    )
    # The partner's conversations about these pairs stop (their buttons go stale).
    await _run(
        session,
        update(FlowSession)
        .where(FlowSession.pair_id.in_(pair_ids), FlowSession.ended_at.is_(None))
        .values(ended_at=turn.now, updated_at=turn.now, due_at=None),
    )
    # Those of a partner in several pairs name her (her platform id, ``NAMED_PARTNER``):
    # that goes too. Stored encrypted, so read and written back here.
    partners_flows = select(FlowSession).where(FlowSession.pair_id.in_(pair_ids))
    for flow in (await session.execute(partners_flows)).scalars():
        if NAMED_PARTNER in flow.data:
            flow.data = {k: v for k, v in flow.data.items() if k != NAMED_PARTNER}
    wins = await _run(session, delete(Win).where(Win.member_id == me))
    await _forget_matching(session, ws, me)
    for column in (Pair.mentor_id, Pair.mentee_id):
        await _run(
            session,
            update(Pair)
            .where(Pair.workspace_id == ws, column == me)
            .values({column: tombstone.id}),
        )
    # A proposer is told when a proposal is answered: the tombstone must not be, so a
    # proposal they made for two others simply has no proposer any more.
    await _run(
        session,
        update(Pair)
        .where(Pair.workspace_id == ws, Pair.proposed_by_id == me)
        .values(proposed_by_id=None),
    )
    await _run(
        session,
        update(Milestone)
        .where(Milestone.workspace_id == ws, Milestone.completed_by_id == me)
        .values(completed_by_id=tombstone.id),
    )
    if turn.workspace.shoutout_set_by_id == me:
        turn.workspace.shoutout_set_by_id = None
    member.dm_blocked_at = None  # nothing may touch the row once it is gone
    await session.delete(member)
    await session.flush()
    return ForgetReport(
        wins=wins,
        checkin_answers=answers,
        feedback=feedback,
        reviews=reviews,
        milestones=milestones,
        conversations=conversations,
        messages=messages,
        pairs_ended=ended,
    )


async def _keep_answered_facts(session: AsyncSession, me: int, tombstone: int) -> int:
    """Their check-in answers lose every word and their author (moved to the tombstone);
    that the prompt was answered, and when, stays, so past answer rates do not change.
    Returns how many answers' words were deleted."""
    words = {"mood": None, "progress": None, "challenge": None, "next_topic": None}
    # A check-in whose other member was forgotten before already has the tombstone's
    # answer, and an answer row is one per member: this one's fact goes with its words.
    taken = select(CheckinAnswer.checkin_id).where(CheckinAnswer.member_id == tombstone)
    kept = await _run(
        session,
        update(CheckinAnswer)
        .where(CheckinAnswer.member_id == me, CheckinAnswer.checkin_id.not_in(taken))
        .values(member_id=tombstone, **words),
    )
    return kept + await _run(session, delete(CheckinAnswer).where(CheckinAnswer.member_id == me))


async def _keep_feedback_facts(session: AsyncSession, me: int, tombstone: int) -> int:
    """A feedback item they were part of keeps the partner's words and the times (asked,
    answered, acted on: the program's numbers); their words and their name go. A question
    keeps an empty text (``FORGOTTEN_QUESTION``), so it still counts as a question.
    Returns how many items lost their words."""
    await _run(
        session,
        update(Feedback)
        .where(Feedback.mentee_id == me, Feedback.question.is_not(None))
        .values(question=FORGOTTEN_QUESTION),
    )
    as_mentee = await _run(
        session,
        update(Feedback).where(Feedback.mentee_id == me).values(action=None, mentee_id=tombstone),
    )
    as_mentor = await _run(
        session,
        update(Feedback).where(Feedback.mentor_id == me).values(answer=None, mentor_id=tombstone),
    )
    return as_mentee + as_mentor


async def _run(session: AsyncSession, statement: Any) -> int:
    result = await session.execute(statement.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


async def _end_pairs(turn: Turn, member: Member) -> int:
    views = await pairs_of(turn, member, LIVE_PAIR_STATES)
    for view in views:
        pair = view.pair
        was_proposal = pair.state == PairState.PROPOSED
        pair.state = (PairState.DECLINED if was_proposal else PairState.ENDED).value
        pair.ended_at = turn.now
        pair.paused_until = None
        pair.next_anniversary_at = None
        stop_schedule(pair)
        wrote = await checkin.cancel_open(turn, pair)
        role = "mentor" if view.i_mentor else "mentee"  # what they were to the partner
        if was_proposal:
            text = (
                f"The proposed mentoring pair with your would-be {role} was withdrawn, "
                "so there is nothing to answer any more."
            )
        else:
            text = (
                f"Your mentoring pair with your {role} (since "
                f"{(pair.activated_at or pair.created_at):%Y-%m-%d}) has ended. "
                "Thank you for the time you gave each other."
            ) + checkin.not_shared_note(view.partner, wrote)
            text += await look_back.closed_by_forget_note(turn, pair, view.partner)
        turn.dm(view.partner, Content(text))
    await turn.session.flush()
    return sum(1 for v in views if v.pair.state == PairState.ENDED)


async def _texts_of(session: AsyncSession, ws: int, me: int) -> list[str]:
    """What the member wrote, to find messages quoting it."""
    found: list[str | None] = []
    found += (await session.execute(select(Win.text).where(Win.member_id == me))).scalars()
    # Goals only: automatic milestones have the same titles for everyone ("First win").
    found += (
        await session.execute(
            select(Milestone.title).where(
                Milestone.member_id == me, Milestone.kind == MilestoneKind.GOAL.value
            )
        )
    ).scalars()
    for answer in (
        await session.execute(
            select(
                CheckinAnswer.mood,
                CheckinAnswer.progress,
                CheckinAnswer.challenge,
                CheckinAnswer.next_topic,
            ).where(CheckinAnswer.member_id == me)
        )
    ).all():
        found += answer
    for asked in (
        await session.execute(
            select(Feedback.question, Feedback.action).where(Feedback.mentee_id == me)
        )
    ).all():
        found += asked
    found += (
        await session.execute(select(Feedback.answer).where(Feedback.mentor_id == me))
    ).scalars()
    for review in (
        await session.execute(
            select(Review.went_well, Review.could_improve).where(Review.member_id == me)
        )
    ).all():
        found += review
    return [t for t in found if t is not None and len(t) >= QUOTE_MIN_CHARS]


async def _delete_messages(
    session: AsyncSession, ws: int, external_id: str, texts: Iterable[str]
) -> int:
    """Outbox messages to them, naming them, or quoting what they wrote (sent or not).

    Matched here rather than in SQL: the content may be stored encrypted, and a quote
    may be shortened. Read in pages by id, so a long history is never loaded at once."""
    needles = [f"<@{external_id}>", f"<@{external_id}|"]
    needles += sorted({t[:QUOTE_PROBE_CHARS] for t in texts})
    doomed: list[int] = []
    last_id = 0
    while True:
        page = (
            await session.execute(
                select(
                    OutboxMessage.id,
                    OutboxMessage.target_kind,
                    OutboxMessage.target_id,
                    OutboxMessage.content,
                )
                .where(OutboxMessage.workspace_id == ws, OutboxMessage.id > last_id)
                .order_by(OutboxMessage.id)
                .limit(OUTBOX_PAGE)
            )
        ).all()
        for message_id, kind, target, content in page:
            words = json.dumps(content, ensure_ascii=False)
            to_them = kind == OutboxTarget.DM.value and target == external_id
            if to_them or any(needle in words for needle in needles):
                doomed.append(message_id)
        if len(page) < OUTBOX_PAGE:
            break
        last_id = page[-1][0]
    for start in range(0, len(doomed), OUTBOX_PAGE):
        batch = doomed[start : start + OUTBOX_PAGE]
        await _run(session, delete(OutboxMessage).where(OutboxMessage.id.in_(batch)))
    return len(doomed)


# --- the shell's entry points (mentorbot export / forget) --------------------------------


class UnknownMember(UserError):
    pass


async def _find_member(
    session: AsyncSession, platform: Platform, workspace_id: str, user_id: str
) -> tuple[Workspace, Member]:
    """Looks only: unlike a chat event, the shell never creates a member."""
    workspace = (
        await session.execute(
            select(Workspace).where(
                Workspace.platform == platform.value, Workspace.external_id == workspace_id
            )
        )
    ).scalar_one_or_none()
    member = None
    if workspace is not None and user_id != TOMBSTONE_ID:
        member = (
            await session.execute(
                select(Member).where(
                    Member.workspace_id == workspace.id, Member.external_id == user_id
                )
            )
        ).scalar_one_or_none()
    if workspace is None or member is None:
        raise UnknownMember(
            f"I know no user {user_id!r} in {platform.value} workspace {workspace_id!r}: "
            "nothing is stored about them there. Check the platform, workspace and user ids."
        )
    return workspace, member


async def export_user(
    database: Database, platform: Platform, workspace_id: str, user_id: str, now: datetime
) -> ExportBundle:
    """``mentorbot export``: the same bundle ``/mentor export`` sends. Raises
    ``UnknownMember`` when nothing is stored about that user."""
    async with database.transaction() as session:
        _, member = await _find_member(session, platform, workspace_id, user_id)
        return await export_member(session, member, now=now)


async def check_known(
    database: Database, platform: Platform, workspace_id: str, user_id: str
) -> None:
    """Raises ``UnknownMember`` when nothing is stored about that user: asked before
    ``mentorbot forget`` asks its question, so nobody confirms a deletion of no one."""
    async with database.transaction() as session:
        await _find_member(session, platform, workspace_id, user_id)


async def forget_user(
    database: Database, platform: Platform, workspace_id: str, user_id: str, now: datetime
) -> ForgetReport:
    """``mentorbot forget``: what ``/mentor forget`` does on confirmation, in one
    transaction. Raises ``UnknownMember`` when nothing is stored about that user."""
    async with database.transaction() as session:
        workspace, member = await _find_member(session, platform, workspace_id, user_id)
        turn = Turn(
            session=session,
            now=now,
            workspace=workspace,
            actor=member,
            actor_ref=UserRef(platform, workspace_id, user_id),
            actor_is_admin=False,
        )
        return await forget_member(turn, member)
