"""Celebrating a reached milestone: a shout-out in the workspace's channel, but only with
the person's consent (asked once, the first time), otherwise in DMs with the partner.

```mermaid
stateDiagram-v2
    [*] --> asked: a milestone is reached, a channel is set, consent never given
    asked --> answered: Yes / Keep it between us (pending milestones are celebrated)
    answered --> [*]
```
A milestone stays uncelebrated (``celebrated_at`` empty) while the question is open.

A pair's own milestones (an anniversary, a check-in streak) are reached by both members,
each with a record of their own: each is told once ("You and @partner reached ..."), and
neither also hears of the other's copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from sqlalchemy import select

from bot.content import ButtonStyle, Content
from bot.flows.sessions import (
    STALE,
    FlowKind,
    StepResult,
    flow_button,
    move,
    not_for_you,
    open_flow_of,
    start_flow,
)
from bot.pairs import PairView, pairs_of
from bot.storage.models import FlowSession, Member, Milestone, MilestoneKind
from bot.text import bold, mention_list
from bot.turn import Person, Turn


class State(StrEnum):
    ASKED = "asked"
    ANSWERED = "answered"


CHANNEL_HINT = (
    "Tip: no shout-out channel is set up yet. A workspace admin can pick one with "
    "`/mentor config shoutouts #channel`, so milestones can be celebrated in public "
    "(only for people who agree)."
)


def celebrated_in(turn: Turn, owner: Member) -> str | None:
    """Where a milestone of ``owner``'s reached now is celebrated: ``"channel"`` or
    ``"dm"``, or None while their consent to a shout-out is yet to be asked."""
    channel = turn.workspace.shoutout_channel_id
    if channel is not None and owner.shoutout_consent is None:
        return None
    return "channel" if channel is not None and owner.shoutout_consent is True else "dm"


def in_dms(turn: Turn, owner: Member) -> bool:
    """Whether a milestone of ``owner``'s reached now is celebrated in DMs with nothing
    more said (no shout-out channel and its hint told before, or a channel and their
    consent refused): what a /win's one statement does itself (bot/wins.py)."""
    workspace = turn.workspace
    if workspace.shoutout_channel_id is None:
        return workspace.shoutout_hint_sent_at is not None
    return owner.shoutout_consent is False


async def celebrate(
    turn: Turn, milestone: Milestone, owner: Member, partners: Sequence[Person] | None = None
) -> None:
    """``partners``: the owner's partners in their partnered pairs, when the caller has
    them already (they are looked up otherwise)."""
    channel = turn.workspace.shoutout_channel_id
    if celebrated_in(turn, owner) is None:
        assert channel is not None
        if await open_flow_of(turn, owner, FlowKind.SHOUTOUT_CONSENT) is None:
            await _ask_consent(turn, milestone, owner, channel)
        elif milestone.kind == MilestoneKind.AUTO or owner.id != turn.actor.id:
            # The question is still open, so this one waits for it too. A goal its owner
            # marked done was told in the command's answer; an automatic one (10 wins, a
            # streak, an anniversary), or a goal the partner marked done, would otherwise
            # go unsaid until they answer.
            _tell_owner(
                turn,
                owner,
                f"🎉 You reached a milestone: {bold(milestone.title)}! I'll celebrate it once "
                f"you've said whether I may shout it out in <#{channel}> (the question I "
                "asked you earlier).",
            )
        return
    await _celebrate_now(turn, milestone, owner, partners)


def _tell_owner(turn: Turn, owner: Member, note: str) -> None:
    """The milestone's owner hears ``note``: in the answer to what they did, or in a DM
    when someone else's event reached it."""
    if owner.external_id == turn.actor.external_id:
        turn.tell_actor(Content(note))
    else:
        turn.dm(owner, Content(note))


async def _ask_consent(turn: Turn, milestone: Milestone, owner: Member, channel: str) -> None:
    flow = await start_flow(turn, FlowKind.SHOUTOUT_CONSENT, State.ASKED, member=owner)
    turn.dm(
        owner,
        Content(
            f"🎉 You reached a milestone: {bold(milestone.title)}!\n"
            f"May I celebrate it with a shout-out in <#{channel}>? I'll only ask once; "
            "change it any time with `/mentor config consent on` or `off`.",
            buttons=(
                flow_button(flow, "yes", "Yes, shout it out", ButtonStyle.PRIMARY),
                flow_button(flow, "no", "Keep it between us"),
            ),
        ),
    )


async def _celebrate_now(
    turn: Turn,
    milestone: Milestone,
    owner: Member,
    partners: Sequence[Person] | None = None,
    *,
    consent_answered: bool = False,
) -> None:
    """``consent_answered``: it waited for its owner's consent, which their event gave
    now (its answer says where their milestones go)."""
    channel = turn.workspace.shoutout_channel_id
    public = celebrated_in(turn, owner) == "channel"
    headline = reached_headline(owner.external_id, milestone.title)
    together = milestone.kind == MilestoneKind.AUTO and milestone.pair_id is not None
    views: list[PairView] = []
    told: Sequence[Member | Person]
    if milestone.pair_id is not None:
        # A pair's milestone is that pair's, not news for the owner's other partners.
        # An automatic one (a streak, an anniversary) the partner reached too, and is
        # told with their own copy; a goal the pair set is told to the partner.
        views = [view for view in await pairs_of(turn, owner) if view.pair.id == milestone.pair_id]
        told = [] if together else [view.partner for view in views]
    elif partners is not None:
        told = partners
    else:
        told = [view.partner for view in await pairs_of(turn, owner)]
    together_with = views[0].partner.external_id if together and views else None
    told_ids = [p.external_id for p in told]
    if public:
        assert channel is not None
        turn.post(channel, Content(headline))
        for partner in told:
            turn.dm(partner, Content(f"{headline} (celebrated in <#{channel}>)"))
        own_event = not turn.scheduled and owner.external_id == turn.actor.external_id
        if own_event and not consent_answered:
            # Their own event reached it: its answer says where it went, as it says whom
            # it told in DMs (a mention in a channel they are not in reaches no one).
            turn.tell_actor(
                Content(reached_note(milestone.title, told_ids, together_with, channel))
            )
    else:
        note = reached_note(milestone.title, told_ids, together_with)
        if channel is None and turn.workspace.shoutout_hint_sent_at is None:
            turn.workspace.shoutout_hint_sent_at = turn.now
            note += "\n" + CHANNEL_HINT
        _tell_owner(turn, owner, note)
        for partner in told:
            turn.dm(partner, Content(headline))
    # Already so when it was written celebrated (bot/milestones.py): not set again then,
    # as even an unchanged value set costs the commit a flush.
    if milestone.celebrated_at is None:
        milestone.celebrated_at = turn.now
        milestone.celebrated_in = "channel" if public else "dm"


def reached_headline(owner_id: str, title: str) -> str:
    """What the partners (or the channel) are told of someone's milestone."""
    return f"🎉 <@{owner_id}> reached a milestone: {bold(title)}"


def reached_note(
    title: str,
    told: Sequence[str],
    together_with: str | None = None,
    channel: str | None = None,
) -> str:
    """What someone is told of their own milestone: whom else it was told (``told``, by
    their ids), for a pair's own, with whom they reached it, and the channel it was
    shouted out in (None: celebrated in DMs)."""
    if together_with is not None:
        note = f"🎉 You and <@{together_with}> reached a milestone: {bold(title)}!"
    else:
        note = f"🎉 You reached a milestone: {bold(title)}!"
    if channel is not None:
        note += f" I shouted it out in <#{channel}>"
        return note + (f" and told {mention_list(told)}." if told else ".")
    if told:
        note += f" I told {mention_list(told)} too."
    return note


async def celebrate_pending(turn: Turn, owner: Member) -> None:
    """Everything reached while the consent question was open, oldest first."""
    query = (
        select(Milestone)
        .where(
            Milestone.member_id == owner.id,
            Milestone.completed_at.is_not(None),
            Milestone.celebrated_at.is_(None),
        )
        .order_by(Milestone.completed_at, Milestone.id)
    )
    for milestone in (await turn.session.execute(query)).scalars():
        await _celebrate_now(turn, milestone, owner, consent_answered=True)


async def step(turn: Turn, flow: FlowSession, choice: str) -> StepResult:
    if choice not in ("yes", "no"):
        return STALE
    if flow.ended_at is not None:
        if flow.member_id != turn.actor.id or turn.actor.shoutout_consent is None:
            return STALE
        return StepResult(replace_with=_answered_before(turn, choice == "yes"))
    if flow.member_id != turn.actor.id:
        owner = await turn.session.get(Member, flow.member_id)
        return not_for_you(owner) if owner else STALE
    turn.actor.shoutout_consent = choice == "yes"
    move(turn, flow, State.ANSWERED, end=True)
    await celebrate_pending(turn, turn.actor)
    return StepResult(replace_with=consent_note(turn))


def _answered_before(turn: Turn, wanted: bool) -> str:
    """A click on the question after it was answered (by `/mentor config consent`, whose
    answer leaves the question's buttons on screen): what holds now, and how to change
    it, in place of the question. The click changes nothing: the later answer stands."""
    if turn.actor.shoutout_consent == wanted:
        return consent_note(turn, already=True)
    channel = turn.workspace.shoutout_channel_id
    if wanted:
        return (
            "You had already said no, so nothing changed: I celebrate your milestones with "
            "you and your partner in DMs only. To have them shouted out from now on: "
            "`/mentor config consent on`."
        )
    where = (
        f"I celebrate your milestones in <#{channel}>"
        if channel
        else "once an admin sets a shout-out channel, I'll celebrate you there"
    )
    return (
        f"You had already said yes, so nothing changed: {where}. To keep them between you "
        "and your partner from now on: `/mentor config consent off`."
    )


def consent_note(turn: Turn, *, already: bool = False) -> str:
    """What the actor's choice means now; ``already``: they had made it before."""
    channel = turn.workspace.shoutout_channel_id
    if turn.actor.shoutout_consent and channel:
        agreed = "You had agreed already:" if already else "Thanks!"
        return f"{agreed} I'll celebrate your milestones in <#{channel}>."
    if turn.actor.shoutout_consent and already:
        return (
            "You had agreed already: once an admin sets a shout-out channel, I'll celebrate "
            "you there."
        )
    if turn.actor.shoutout_consent:
        return "Thanks! Once an admin sets a shout-out channel, I'll celebrate you there."
    said = "That was your choice already:" if already else "Got it:"
    return f"{said} I'll celebrate your milestones with you and your partner in DMs only."
