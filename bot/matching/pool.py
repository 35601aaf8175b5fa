"""The matching pool: profiles (join, profile, leave), the pool as the solver sees it, and
its numbers for the program stats.

Who is in the pool: members with a profile they have not left. A mentor's room is their
capacity minus their live pairs as mentor (active, paused, proposed). A mentee can be
matched when they have no open proposal as mentee and no pair as mentee that started
after they last joined (joining again asks for another mentor). Who may not be matched
with whom is the pairs table itself: any pair of the two, in any state and either way
round (current partners, ended pairs, declined or expired proposals), blocks them.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.access import own_match_profile
from bot.cadence import local_day
from bot.commands import EditProfile, JoinPool, LeavePool, ShowProfile
from bot.content import Form, FormField
from bot.effects import Effect, OpenForm
from bot.errors import UserError
from bot.matching.solver import Mentee, Mentor, Pool
from bot.numbers import how_many
from bot.pairs import PairView, pairs_of
from bot.refs import Platform
from bot.storage.models import (
    LIVE_PAIR_STATES,
    PARTNERED_PAIR_STATES,
    MatchProfile,
    MatchProfileTopic,
    MatchProposal,
    MatchRole,
    MatchTopic,
    Member,
    Pair,
    PairState,
)
from bot.text import as_typed, given_back
from bot.topics import (
    DEFAULT_CAPACITY,
    MAX_CAPACITY,
    MAX_TOPICS,
    TEAM_MAX_CHARS,
    TopicError,
    merge_known,
    normalise_team,
    normalise_topics,
    parse_capacity,
)
from bot.turn import Turn, get_or_create

JOIN_FORM_ID = "match:join"
SUGGESTED_TOPICS = 8
NOT_IN_POOL = "You're not in the matching pool. Join with `/mentor join mentor|mentee [topics…]`."


def _mentors(role: str) -> bool:
    return role in (MatchRole.MENTOR, MatchRole.BOTH)


def _mentees(role: str) -> bool:
    return role in (MatchRole.MENTEE, MatchRole.BOTH)


# --- profiles ----------------------------------------------------------------------------


async def profile_of(session: AsyncSession, member: Member) -> MatchProfile | None:
    query = select(MatchProfile).where(MatchProfile.member_id == member.id)
    return (await session.execute(query)).scalar_one_or_none()


async def topics_of(session: AsyncSession, profile_ids: Sequence[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = defaultdict(list)
    if not profile_ids:
        return found
    rows = await session.execute(
        select(MatchProfileTopic.profile_id, MatchTopic.name)
        .join(MatchTopic, MatchTopic.id == MatchProfileTopic.topic_id)
        .where(MatchProfileTopic.profile_id.in_(list(profile_ids)))
        .order_by(MatchTopic.name)
    )
    for profile_id, name in rows.all():
        found[profile_id].append(name)
    return found


async def set_topics(
    session: AsyncSession, profile: MatchProfile, topics: Sequence[str], now: datetime
) -> None:
    """The profile's topics become exactly ``topics`` (normalised), each a shared row."""
    rows = [
        await get_or_create(
            session,
            MatchTopic,
            {"workspace_id": profile.workspace_id, "name": name},
            {"created_at": now},
        )
        for name in topics
    ]
    await session.execute(
        delete(MatchProfileTopic).where(MatchProfileTopic.profile_id == profile.id)
    )
    session.add_all(
        MatchProfileTopic(workspace_id=profile.workspace_id, profile_id=profile.id, topic_id=t.id)
        for t in rows
    )
    await session.flush()


async def suggested_topics(session: AsyncSession, workspace_id: int, limit: int) -> list[str]:
    """The topics most people in the pool named, most named first."""
    uses = func.count(MatchProfileTopic.profile_id)
    rows = await session.execute(
        select(MatchTopic.name, uses)
        .join(MatchProfileTopic, MatchProfileTopic.topic_id == MatchTopic.id)
        .join(MatchProfile, MatchProfile.id == MatchProfileTopic.profile_id)
        .where(MatchTopic.workspace_id == workspace_id, MatchProfile.left_at.is_(None))
        .group_by(MatchTopic.name)
        .order_by(uses.desc(), MatchTopic.name)
        .limit(limit)
    )
    return [name for name, _ in rows.all()]


@dataclass(frozen=True, slots=True)
class Upserted:
    """What :func:`upsert_profile` did: the profile, whether anything changed, whether
    the person was in the pool before (a profile they had not left), whether joining
    asked for another mentor (they have one: ``upsert_profile``), and the topics the
    profile had before that it has no longer."""

    profile: MatchProfile
    changed: bool
    was_in: bool
    another_mentor: bool = False
    dropped: tuple[str, ...] = ()


async def upsert_profile(
    session: AsyncSession,
    member: Member,
    now: datetime,
    *,
    role: str,
    topics: Sequence[str],
    capacity: int | None,
    team: str | None,
    team_given: bool,
    joining: bool = False,
) -> Upserted:
    """Create or change the profile.
    ``joining``: the person ran ``/mentor join`` themselves, so a mentee who has a mentor
    asks for another one (on a first join, or one after leaving; joining again, with a
    mentor since they joined). An edit or an import does not."""
    profile = await profile_of(session, member)
    # A mentee who joins while paired asks the next round for another mentor: on a first
    # join, or one after leaving, with any pair of theirs; joining again, with a pair
    # since they joined (before it, they were in the pool with it).
    asking = joining and _mentees(role)
    if profile is None:
        another_mentor = asking and await _has_pair_as_mentee_since(session, member, None)
        profile = MatchProfile(
            workspace_id=member.workspace_id,
            member_id=member.id,
            role=role,
            capacity=capacity or DEFAULT_CAPACITY,
            team=team,
            joined_at=now,
            left_at=None,
            updated_at=now,
        )
        session.add(profile)
        await session.flush()
        await set_topics(session, profile, topics, now)
        return Upserted(profile, changed=True, was_in=False, another_mentor=another_mentor)
    before = (
        profile.role,
        profile.capacity,
        profile.team,
        profile.left_at,
        tuple((await topics_of(session, [profile.id]))[profile.id]),
    )
    was_in = profile.left_at is None
    another_mentor = asking and await _has_pair_as_mentee_since(
        session, member, profile.joined_at if was_in else None
    )
    rejoin = not was_in or another_mentor
    profile.role = role
    if capacity is not None:
        profile.capacity = capacity
    if team_given:
        profile.team = team
    profile.left_at = None
    if rejoin:
        profile.joined_at = now
    await set_topics(session, profile, topics, now)
    after = (profile.role, profile.capacity, profile.team, None, tuple(sorted(topics)))
    changed = rejoin or before != after
    if changed:
        profile.updated_at = now
    dropped = tuple(topic for topic in before[4] if topic not in topics)
    return Upserted(
        profile, changed=changed, was_in=was_in, another_mentor=another_mentor, dropped=dropped
    )


async def _has_pair_as_mentee_since(
    session: AsyncSession, member: Member, since: datetime | None
) -> bool:
    """Whether ``member`` has a mentor: is the mentee of an active or paused pair (formed
    ``since`` then). A proposed one is not yet a mentor, and no round proposes another
    while it waits."""
    query = select(Pair.id).where(
        Pair.mentee_id == member.id, Pair.state.in_([s.value for s in PARTNERED_PAIR_STATES])
    )
    if since is not None:
        query = query.where(func.coalesce(Pair.activated_at, Pair.created_at) >= since)
    return (await session.execute(query.limit(1))).first() is not None


def join_form(suggestions: Sequence[str]) -> Form:
    hint = ", ".join(suggestions[:4]) or "python, public speaking, career growth"
    return Form(
        JOIN_FORM_ID,
        "Join the matching pool",
        (
            FormField(
                "role",
                "Mentor, mentee or both?",
                required=True,
                max_length=6,
                placeholder="mentor, mentee or both",
            ),
            FormField(
                "topics",
                "Topics (comma-separated)",
                required=True,
                max_length=400,
                placeholder=hint[:100],
            ),
            FormField(
                "capacity",
                f"Mentors: mentees at once (1-{MAX_CAPACITY})",
                max_length=2,
                placeholder=str(DEFAULT_CAPACITY),
            ),
            FormField(
                "team",
                "Your team (never matched inside it)",
                max_length=TEAM_MAX_CHARS,
                placeholder="optional",
            ),
        ),
        submit_label="Join",
    )


async def join(turn: Turn, command: JoinPool) -> list[Effect]:
    if command.role is None:
        if turn.platform == Platform.CONSOLE:
            raise UserError(
                "Say how you join, with your topics: "
                "`/mentor join mentor python, public speaking capacity 2`."
            )
        suggestions = await suggested_topics(turn.session, turn.workspace.id, SUGGESTED_TOPICS)
        return [OpenForm(turn.actor_ref, join_form(suggestions))]
    if not command.topics:
        suggestions = await suggested_topics(turn.session, turn.workspace.id, SUGGESTED_TOPICS)
        raise UserError(
            "Name at least one topic"
            + (" you can help with." if _mentors(command.role) else " you want to learn.")
            + _suggestion_line(suggestions)
            + f"\nExample: `/mentor join {command.role} python, public speaking`"
        )
    if command.capacity is not None and not _mentors(command.role):
        raise UserError("Capacity is for mentors: how many mentees they take at once.")
    topics = merge_known(command.topics, await workspace_topics(turn.session, turn.workspace.id))
    upserted = await upsert_profile(
        turn.session,
        turn.actor,
        turn.now,
        role=command.role,
        topics=topics,
        capacity=command.capacity,
        team=command.team,
        team_given=command.team_given,
        joining=True,
    )
    suggestions = await suggested_topics(turn.session, turn.workspace.id, SUGGESTED_TOPICS)
    others = [t for t in suggestions if t not in topics]
    if upserted.another_mentor:
        # Said, as it changes what the next round does: a mentee who only meant to look
        # at their profile, or who thought the pool was for people without a mentor,
        # knows how to undo it.
        said = (
            "You have a mentor already, so joining again asks"
            if upserted.was_in
            else "You're in the matching pool. You have a mentor already, so joining asks"
        ) + (
            " the next round for another mentor as well. If you didn't mean that, "
            "`/mentor leave` takes you out of the pool (your pairs stay). Your profile:\n"
        )
    elif not upserted.was_in:
        said = "You're in the matching pool.\n"
    elif upserted.changed:
        said = "You were in the matching pool already; I changed your profile to this:\n"
    else:
        said = "You're in the matching pool already, with this profile:\n"
    return turn.reply(
        said
        # A first join stands nowhere yet (unless it asks for another mentor); the line
        # below says what happens next.
        + await _describe(
            turn, upserted.profile, standing=upserted.was_in or upserted.another_mentor
        )
        + _dropped_line(upserted, topics)
        + "\nAn admin runs the matching rounds. Nobody is contacted before they do, and no "
        "pair forms unless both of you accept." + _suggestion_line(others)
    )


def _dropped_line(upserted: Upserted, topics: Sequence[str]) -> str:
    """Joining again names the topics anew: someone who meant to add one ("/mentor join
    mentor rust", in the pool with python) learns what went and how to have both."""
    if not upserted.was_in or not upserted.dropped:
        return ""
    said = (
        f"\nJoining again replaced your topics: {', '.join(upserted.dropped)} "
        f"{'is' if len(upserted.dropped) == 1 else 'are'} no longer among them."
    )
    kept = sorted({*upserted.dropped, *topics})
    if len(kept) > MAX_TOPICS:
        return (
            f"{said} A profile has up to {MAX_TOPICS} topics: `/mentor profile topics …` sets them."
        )
    them = "it" if len(upserted.dropped) == 1 else "them"
    return f"{said} To keep {them} as well: `/mentor profile topics {', '.join(kept)}`"


async def workspace_topics(session: AsyncSession, workspace_id: int) -> set[str]:
    """The topics anyone in the workspace has named, as spelled there."""
    query = select(MatchTopic.name).where(MatchTopic.workspace_id == workspace_id)
    return set((await session.execute(query)).scalars())


def _suggestion_line(suggestions: Sequence[str]) -> str:
    if not suggestions:
        return ""
    return f"\nTopics others named here: {', '.join(suggestions)}."


async def join_from_form(turn: Turn, values: dict[str, str]) -> list[Effect]:
    role = values.get("role", "").strip().lower()
    if role not in (r.value for r in MatchRole):
        raise UserError(
            f"“{as_typed(values.get('role', ''))}” is not a role: write mentor, mentee or both."
            + _not_saved(values)
        )
    try:
        topics = normalise_topics(values.get("topics", ""))
        raw_capacity = values.get("capacity", "").strip()
        capacity = parse_capacity(raw_capacity) if raw_capacity and _mentors(role) else None
        team_raw = values.get("team", "")
        team = normalise_team(team_raw)
    except TopicError as error:
        raise UserError(f"{str(error)[:1].upper()}{str(error)[1:]}." + _not_saved(values)) from None
    return await join(turn, JoinPool(role, topics, capacity, team, bool(team_raw.strip())))


def _not_saved(values: Mapping[str, str]) -> str:
    """A join form refused: nothing saved, and the words typed in it given back whole to
    use again (a Discord form closes when it is sent, and takes them with it)."""
    typed = {name: values.get(name, "").strip() for name in ("topics", "team")}
    wrote = [f"{name}: {words}" for name, words in typed.items() if words]
    return " Nothing was saved; run `/mentor join` again." + given_back(wrote, "to use again")


async def _describe(turn: Turn, profile: MatchProfile, *, standing: bool = True) -> str:
    """The profile, and (``standing``) where the person stands in the pool now."""
    topics = (await topics_of(turn.session, [profile.id]))[profile.id]
    role = {
        MatchRole.MENTOR: f"a mentor (up to {how_many(profile.capacity, 'mentee', 'mentees')}"
        " at once)",
        MatchRole.MENTEE: "a mentee",
        MatchRole.BOTH: f"a mentor (up to {how_many(profile.capacity, 'mentee', 'mentees')}"
        " at once) and a mentee",
    }[MatchRole(profile.role)]
    zone = turn.actor.timezone
    lines = [
        f"Role: {role}",
        f"Topics: {', '.join(topics) or 'none yet'}",
        f"Team: {profile.team or 'none'}",
        "Timezone: "
        + (zone or "not known yet, so UTC (set it with `/mentor config timezone Area/City`)"),
    ]
    if profile.left_at is not None:
        lines.append("You left the pool; `/mentor join` puts you back.")
    elif standing:
        lines += await _standing(turn, profile)
    return "\n".join(lines)


async def _standing(turn: Turn, profile: MatchProfile) -> list[str]:
    """Where the person stands in the pool now, by the rules a round applies
    (:func:`load_pool`): a mentor's places, and whether a round would look for a mentor
    for them. One query: their live pairs with the partners."""
    views = await pairs_of(turn, turn.actor, LIVE_PAIR_STATES)
    lines = []
    if _mentors(profile.role):
        mine = [v for v in views if v.i_mentor]
        names = ", ".join(
            v.partner_mention + (" (proposed)" if v.pair.state == PairState.PROPOSED else "")
            for v in mine
        )
        if len(mine) < profile.capacity:
            taken = f"Places: {len(mine)} of {profile.capacity} taken"
            lines.append(taken + (f": {names}" if names else ""))
        else:  # full, or over (the capacity was lowered below the pairs they have)
            taken = (
                f"all {profile.capacity} taken"
                if len(mine) == profile.capacity
                else f"{len(mine)} taken, more than your {profile.capacity}"
            )
            lines.append(
                f"Places: {taken}: {names}. No round proposes you another mentee until one is free."
            )
    if _mentees(profile.role):
        mentors = [v for v in views if not v.i_mentor]
        proposed = [v for v in mentors if v.pair.state == PairState.PROPOSED]
        since = [
            v
            for v in mentors
            if v.pair.state != PairState.PROPOSED
            and (v.pair.activated_at or v.pair.created_at) >= profile.joined_at
        ]
        if proposed:
            lines.append(
                f"Matching: {proposed[0].partner_mention} is proposed as your mentor; no round "
                "proposes you another while that waits."
            )
        elif since:
            lines.append(
                f"Matching: you have a mentor ({since[0].partner_mention}), so rounds don't "
                "look for another. Joining again (`/mentor join mentee …`) asks for one."
            )
        else:
            waiting = local_day(profile.joined_at, turn.actor.timezone or "UTC")
            others = ", ".join(v.partner_mention for v in mentors)
            lines.append(
                f"Matching: waiting for {'another' if others else 'a'} mentor"
                + (f" (besides {others})" if others else "")
                + f" since {waiting}; the next round an admin runs looks for one."
            )
    return lines


async def _own_profile(turn: Turn) -> MatchProfile | None:
    query = select(MatchProfile).where(own_match_profile(turn))
    return (await turn.session.execute(query)).scalar_one_or_none()


async def show_profile(turn: Turn, command: ShowProfile) -> list[Effect]:
    profile = await _own_profile(turn)
    if profile is None:
        raise UserError(NOT_IN_POOL)
    # A profile left says how to come back (``_describe``); it is not changed until then.
    how = (
        ""
        if profile.left_at is not None
        else "\nChange it with `/mentor profile topics …`, `capacity N`, `team NAME|none` or "
        "`role mentor|mentee|both`; leave with `/mentor leave`."
    )
    return turn.reply("Your matching profile:\n" + await _describe(turn, profile) + how)


async def edit_profile(turn: Turn, command: EditProfile) -> list[Effect]:
    profile = await _own_profile(turn)
    if profile is None or profile.left_at is not None:
        raise UserError(NOT_IN_POOL)
    role = command.role or profile.role
    if command.capacity is not None and not _mentors(role):
        raise UserError("Capacity is for mentors: how many mentees they take at once.")
    topics = command.topics
    if topics is None:
        topics = tuple((await topics_of(turn.session, [profile.id]))[profile.id])
    else:
        topics = merge_known(topics, await workspace_topics(turn.session, turn.workspace.id))
    upserted = await upsert_profile(
        turn.session,
        turn.actor,
        turn.now,
        role=role,
        topics=topics,
        capacity=command.capacity,
        team=command.team,
        team_given=command.team_given,
    )
    said = (
        "Saved. Your matching profile:\n"
        if upserted.changed
        else "Your profile says that already, so nothing changed. Your matching profile:\n"
    )
    return turn.reply(said + await _describe(turn, profile))


async def leave(turn: Turn, command: LeavePool) -> list[Effect]:
    profile = await _own_profile(turn)
    if profile is None or profile.left_at is not None:
        raise UserError("You're not in the matching pool, so there was nothing to leave.")
    profile.left_at = turn.now
    profile.updated_at = turn.now
    said = (
        "You left the matching pool: no round will propose you now. Your pairs stay as they "
        "are, and `/mentor join` puts you back."
    )
    if waiting := await _round_proposals_open(turn):
        # A round's proposal is not withdrawn by leaving: say so, and how to say no.
        which = ", ".join(view.describe() for view in waiting)
        end = f"`/mentor end` {waiting[0].partner_mention}"
        said += (
            f"\nA proposal from a matching round still waits for an answer: {which}. "
            f"Leaving the pool doesn't answer it; to say no: {end}."
            if len(waiting) == 1
            else f"\nProposals from a matching round still wait for an answer: {which}. "
            f"Leaving the pool doesn't answer them; to say no to one, `/mentor end` with "
            f"the partner, as in {end}."
        )
    return turn.reply(said)


async def _round_proposals_open(turn: Turn) -> list[PairView]:
    """The actor's proposed pairs that a matching round proposed and that have not
    expired, with their partners."""
    proposed = await pairs_of(turn, turn.actor, [PairState.PROPOSED])
    if not proposed:
        return []
    from_rounds = set(
        (
            await turn.session.execute(
                select(MatchProposal.pair_id).where(
                    MatchProposal.pair_id.in_([view.pair.id for view in proposed]),
                    MatchProposal.expired_at.is_(None),
                )
            )
        ).scalars()
    )
    return [view for view in proposed if view.pair.id in from_rounds]


# --- the pool as the solver sees it -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoadedPool:
    pool: Pool
    members: dict[str, Member]  # by platform user id
    capacity: dict[str, int]  # each mentor's capacity, for the stats


async def load_pool(session: AsyncSession, workspace_id: int, now: datetime) -> LoadedPool:
    """Everyone in the pool, each mentor's room, and who may not meet whom: four queries."""
    rows = (
        await session.execute(
            select(MatchProfile, Member)
            .join(Member, Member.id == MatchProfile.member_id)
            .where(MatchProfile.workspace_id == workspace_id, MatchProfile.left_at.is_(None))
            .order_by(MatchProfile.joined_at, MatchProfile.id)
        )
    ).all()
    topics = await topics_of(session, [profile.id for profile, _ in rows])
    pairs = (
        await session.execute(
            select(
                Pair.mentor_id,
                Pair.mentee_id,
                Pair.state,
                func.coalesce(Pair.activated_at, Pair.created_at),
            ).where(Pair.workspace_id == workspace_id)
        )
    ).all()
    external = dict(
        (
            await session.execute(
                select(Member.id, Member.external_id).where(Member.workspace_id == workspace_id)
            )
        ).all()
    )
    live = {s.value for s in LIVE_PAIR_STATES}
    partnered = {s.value for s in PARTNERED_PAIR_STATES}
    load: dict[int, int] = defaultdict(int)
    proposed_mentee: set[int] = set()
    paired_since: dict[int, datetime] = {}
    blocked: set[tuple[str, str]] = set()
    for mentor_id, mentee_id, state, started in pairs:
        one, other = external.get(mentor_id), external.get(mentee_id)
        if one is not None and other is not None:
            blocked.add((one, other))
            blocked.add((other, one))
        if state in live:
            load[mentor_id] += 1
        if state == PairState.PROPOSED.value:
            proposed_mentee.add(mentee_id)
        elif state in partnered:
            paired_since[mentee_id] = max(started, paired_since.get(mentee_id, started))
    mentors: list[Mentor] = []
    mentees: list[Mentee] = []
    members: dict[str, Member] = {}
    capacity: dict[str, int] = {}
    for profile, member in rows:
        members[member.external_id] = member
        zone = member.timezone or "UTC"
        names = frozenset(topics[profile.id])
        if _mentors(profile.role):
            room = max(profile.capacity - load[member.id], 0)
            mentors.append(Mentor(member.external_id, names, room, profile.team, zone))
            capacity[member.external_id] = profile.capacity
        if _mentees(profile.role):
            since = paired_since.get(member.id)
            if member.id in proposed_mentee or (since is not None and since >= profile.joined_at):
                continue
            waited = max((now - profile.joined_at).days, 0)
            mentees.append(Mentee(member.external_id, names, profile.team, zone, waited))
    return LoadedPool(Pool(mentors, mentees, frozenset(blocked), now.date()), members, capacity)


# --- numbers ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PoolStats:
    mentors: int
    mentees_waiting: int
    open_capacity: int
    median_wait_days: float | None
    longest_wait_days: int | None
    proposals_sent: int
    accepted: int
    declined: int
    expired: int
    open: int

    @property
    def match_rate(self) -> float | None:
        """Accepted among the round proposals that were answered or expired."""
        decided = self.accepted + self.declined + self.expired
        return self.accepted / decided if decided else None

    def metrics(self) -> list[tuple[str, str]]:
        rate = self.match_rate
        return [
            ("pool_mentors", str(self.mentors)),
            ("pool_mentees_waiting", str(self.mentees_waiting)),
            ("pool_open_capacity", str(self.open_capacity)),
            ("pool_median_wait_days", _number(self.median_wait_days)),
            ("pool_longest_wait_days", _number(self.longest_wait_days)),
            ("match_proposals_sent", str(self.proposals_sent)),
            ("match_proposals_accepted", str(self.accepted)),
            ("match_proposals_declined", str(self.declined)),
            ("match_proposals_expired", str(self.expired)),
            ("match_proposals_open", str(self.open)),
            ("match_rate", "" if rate is None else f"{rate:.4f}"),
        ]

    def describe(self) -> str:
        wait = (
            f"; waiting {self.median_wait_days:g} days at the median, "
            f"{self.longest_wait_days} at the longest"
            if self.median_wait_days is not None
            else ""
        )
        rate = self.match_rate
        decided = self.accepted + self.declined + self.expired
        rate_text = (
            f"{rate:.0%} accepted ({self.accepted} of {decided} answered or expired; "
            f"{self.open} open)"
            if rate is not None
            else f"no proposal answered yet ({self.open} open)"
        )
        return (
            f"Matching pool: {how_many(self.mentors, 'mentor', 'mentors')} with "
            f"{how_many(self.open_capacity, 'open place', 'open places')}, "
            f"{how_many(self.mentees_waiting, 'mentee', 'mentees')} waiting{wait}.\n"
            f"Matching rounds: {how_many(self.proposals_sent, 'proposal', 'proposals')} sent, "
            f"{rate_text}."
        )


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


async def pool_stats(session: AsyncSession, workspace_id: int, now: datetime) -> PoolStats:
    loaded = await load_pool(session, workspace_id, now)
    waits = [m.waited_days for m in loaded.pool.mentees]
    outcomes = (
        await session.execute(
            select(Pair.state, MatchProposal.expired_at.is_not(None), func.count())
            .join(Pair, Pair.id == MatchProposal.pair_id)
            .where(MatchProposal.workspace_id == workspace_id)
            .group_by(Pair.state, MatchProposal.expired_at.is_not(None))
        )
    ).all()
    accepted = declined = expired = still_open = 0
    for state, did_expire, count in outcomes:
        if did_expire:
            expired += count
        elif state == PairState.PROPOSED.value:
            still_open += count
        elif state == PairState.DECLINED.value:
            declined += count
        else:
            accepted += count  # active, paused, or ended after being accepted
    return PoolStats(
        mentors=len(loaded.pool.mentors),
        mentees_waiting=len(waits),
        open_capacity=sum(m.room for m in loaded.pool.mentors),
        median_wait_days=statistics.median(waits) if waits else None,
        longest_wait_days=max(waits) if waits else None,
        proposals_sent=accepted + declined + expired + still_open,
        accepted=accepted,
        declined=declined,
        expired=expired,
        open=still_open,
    )
