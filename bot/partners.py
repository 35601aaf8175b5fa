"""Who a person's partners are, as one SQL expression: read with a ``/win`` (the news
goes to them), in the win's own statement or in the event's look-up. And how many pairs
people are in (``pair_counts``), for a batch of them in one statement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    FromClause,
    ScalarSelect,
    Select,
    and_,
    func,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.bulk import dialect_of, one_of, table_of
from bot.storage.models import LIVE_PAIR_STATES, PARTNERED_PAIR_STATES, Member, Pair, PairState

_MEMBERS = table_of(Member)
_PAIRS = table_of(Pair)
_PAIR = _PAIRS.alias("pair")
_PARTNER = _MEMBERS.alias("partner")
_OTHER_PAIR = _PAIRS.alias("other_pair")


def partnered(state: ColumnElement[str]) -> ColumnElement[bool]:
    # Not IN: an IN list is filled in on every execution, this is compiled once.
    return or_(*(state == s.value for s in PARTNERED_PAIR_STATES))


def partner_rows(me: ColumnElement[int], workspace: ColumnElement[int]) -> Select[Any]:
    """The partners of member ``me`` in ``workspace``, a row per partnered pair: the
    pair's id (``pair_id``), the partner's ``external_id`` and ``timezone``, and how many
    pairs the partner is in (``pairs``: whether their news is batched)."""
    fields, joined, where = _partners(me, workspace)
    pair_id, external_id, timezone, pairs = fields
    labelled = (pair_id.label("pair_id"), external_id, timezone, pairs.label("pairs"))
    return select(*labelled).select_from(joined).where(where)


def listed_partners(
    dialect_name: str, me: ColumnElement[int], workspace: ColumnElement[int]
) -> ScalarSelect[object]:
    """The partners of member ``me`` in ``workspace`` as a JSON array, one entry per
    partnered pair: ``[pair id, partner's external id, partner's timezone, how many pairs
    the partner is in]`` (the pair's id keeps them in the pairs' order; the count says
    whether their news is batched). NULL on PostgreSQL when there are none."""
    fields, joined, where = _partners(me, workspace)
    if dialect_name == "sqlite":
        listed = func.json_group_array(func.json_array(*fields), type_=JSON)
    else:
        listed = func.json_agg(func.json_build_array(*fields), type_=JSON)
    return select(listed).select_from(joined).where(where).scalar_subquery()


def _partners(
    me: ColumnElement[int], workspace: ColumnElement[int]
) -> tuple[tuple[ColumnElement[Any], ...], FromClause, ColumnElement[bool]]:
    """What ``listed_partners`` and ``partner_rows`` read, from where, on what condition."""
    partner, other = _PARTNER.c, _OTHER_PAIR.c
    their_pairs = (
        select(func.count(other.id))
        .where(
            other.workspace_id == workspace,
            partnered(other.state),
            or_(other.mentor_id == partner.id, other.mentee_id == partner.id),
        )
        .scalar_subquery()
    )
    pairs = _PAIR.c
    fields = (pairs.id, partner.external_id, partner.timezone, their_pairs)
    joined = _PAIR.join(
        _PARTNER,
        or_(
            and_(pairs.mentor_id == me, partner.id == pairs.mentee_id),
            and_(pairs.mentee_id == me, partner.id == pairs.mentor_id),
        ),
    )
    where = and_(
        pairs.workspace_id == workspace,
        or_(pairs.mentor_id == me, pairs.mentee_id == me),
        partnered(pairs.state),
    )
    return fields, joined, where


async def pair_counts(
    session: AsyncSession,
    member_ids: Sequence[int],
    states: Sequence[PairState] = LIVE_PAIR_STATES,
    *,
    more_than: int = 0,
) -> dict[int, int]:
    """How many pairs in these states each member is in (either role), in one query;
    only the counts above ``more_than`` are read (the others come back as 0). The ids go
    as one value (``one_of``): the dispatch pass asks this for a whole batch of members."""
    wanted = [s.value for s in states]
    dialect = dialect_of(session)
    roles = union_all(
        *(
            select(side.label("member")).where(
                one_of(dialect, side, member_ids), Pair.state.in_(wanted)
            )
            for side in (Pair.mentor_id, Pair.mentee_id)
        )
    ).subquery()
    query = select(roles.c.member, func.count()).group_by(roles.c.member)
    if more_than:
        query = query.having(func.count() > more_than)
    counts = {member_id: 0 for member_id in member_ids}
    counts.update({int(m): int(n) for m, n in (await session.execute(query)).all()})
    return counts


async def in_several_pairs(session: AsyncSession, member_ids: Sequence[int]) -> set[int]:
    """Which of ``member_ids`` are in more than one active or paused pair: two of their
    check-ins, or look backs, can be open at once. One statement for any number."""
    counts = await pair_counts(session, member_ids, PARTNERED_PAIR_STATES, more_than=1)
    return {member_id for member_id, count in counts.items() if count > 1}
