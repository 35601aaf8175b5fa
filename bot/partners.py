"""Who a person's partners are, as one SQL expression: read with a ``/win`` (the news
goes to them), in the win's own statement or in the event's look-up."""

from __future__ import annotations

from sqlalchemy import JSON, ColumnElement, ScalarSelect, and_, func, or_, select

from bot.storage.bulk import table_of
from bot.storage.models import PARTNERED_PAIR_STATES, Member, Pair

_MEMBERS = table_of(Member)
_PAIRS = table_of(Pair)
_PAIR = _PAIRS.alias("pair")
_PARTNER = _MEMBERS.alias("partner")
_OTHER_PAIR = _PAIRS.alias("other_pair")


def partnered(state: ColumnElement[str]) -> ColumnElement[bool]:
    # Not IN: an IN list is filled in on every execution, this is compiled once.
    return or_(*(state == s.value for s in PARTNERED_PAIR_STATES))


def listed_partners(
    dialect_name: str, me: ColumnElement[int], workspace: ColumnElement[int]
) -> ScalarSelect[object]:
    """The partners of member ``me`` in ``workspace`` as a JSON array, one entry per
    partnered pair: ``[pair id, partner's external id, partner's timezone, how many pairs
    the partner is in]`` (the pair's id keeps them in the pairs' order; the count says
    whether their news is batched). NULL on PostgreSQL when there are none."""
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
    if dialect_name == "sqlite":
        listed = func.json_group_array(func.json_array(*fields), type_=JSON)
    else:
        listed = func.json_agg(func.json_build_array(*fields), type_=JSON)
    return (
        select(listed)
        .select_from(
            _PAIR.join(
                _PARTNER,
                or_(
                    and_(pairs.mentor_id == me, partner.id == pairs.mentee_id),
                    and_(pairs.mentee_id == me, partner.id == pairs.mentor_id),
                ),
            )
        )
        .where(
            pairs.workspace_id == workspace,
            or_(pairs.mentor_id == me, pairs.mentee_id == me),
            partnered(pairs.state),
        )
        .scalar_subquery()
    )
