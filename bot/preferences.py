"""``/mentor config``: a member's own settings and the workspace's shout-out channel."""

from __future__ import annotations

from bot.access import is_admin, require_admin
from bot.commands import SetShoutoutChannel, SetShoutoutConsent, SetTimezone
from bot.effects import Effect
from bot.flows.celebration import State as CelebrationState
from bot.flows.celebration import celebrate_pending, consent_note
from bot.flows.sessions import FlowKind, move, open_flow_of
from bot.pairs import pairs_of
from bot.rhythm import held_till_morning
from bot.turn import Turn


def show(turn: Turn) -> list[Effect]:
    member, workspace = turn.actor, turn.workspace
    consent = {
        None: "not asked yet (I'll ask at your first milestone)",
        True: "yes, in the shout-out channel",
        False: "no, in DMs with your partner only",
    }[member.shoutout_consent]
    channel = (
        f"<#{workspace.shoutout_channel_id}>"
        if workspace.shoutout_channel_id
        else "not set (milestones are celebrated in DMs)"
    )
    return turn.reply(
        "Your settings:\n"
        f"• Timezone: {member.timezone or 'UTC (not set)'} — `/mentor config timezone Area/City`\n"
        f"• Public shout-outs of your milestones: {consent} — `/mentor config consent on|off`\n"
        f"Workspace shout-out channel: {channel}"
        + (" — `/mentor config shoutouts #channel|off`" if is_admin(turn) else "")
    )


def set_channel(turn: Turn, command: SetShoutoutChannel) -> list[Effect]:
    require_admin(
        turn,
        "choose the shout-out channel",
        "You can still decide about your own shout-outs: `/mentor config consent on|off`.",
    )
    same = turn.workspace.shoutout_channel_id == command.channel_id
    turn.workspace.shoutout_channel_id = command.channel_id
    turn.workspace.shoutout_set_by_id = turn.actor.id
    if command.channel_id is None:
        were = "were already" if same else "are"
        return turn.reply(f"Channel shout-outs {were} off; milestones are celebrated in DMs.")
    will = "already go" if same else "will go"
    return turn.reply(
        f"Milestone shout-outs {will} to <#{command.channel_id}>, for the people who agree "
        "(I ask each person once). Make sure I'm a member of that channel."
    )


async def set_consent(turn: Turn, command: SetShoutoutConsent) -> list[Effect]:
    already = turn.actor.shoutout_consent == command.allowed
    turn.actor.shoutout_consent = command.allowed
    question = await open_flow_of(turn, turn.actor, FlowKind.SHOUTOUT_CONSENT)
    if question is not None:  # answered here instead: its buttons stop working
        move(turn, question, CelebrationState.ANSWERED, end=True)
    await celebrate_pending(turn, turn.actor)
    return turn.reply(consent_note(turn, already=already))


async def set_timezone(turn: Turn, command: SetTimezone) -> list[Effect]:
    same = turn.actor.timezone == command.timezone
    turn.actor.timezone = command.timezone
    said = f"Your timezone is {'already' if same else 'now'} {command.timezone}."
    # A pair keeps the time it agreed; its questions wait for the person's morning
    # (quiet hours), so a check-in that falls in their night now is said, with the fix.
    for view in await pairs_of(turn, turn.actor):
        night = held_till_morning(turn.actor, view.pair)
        if night is None:
            continue
        at, morning = night
        said += (
            f"\n⚠️ Your next check-in with {view.partner_mention} is {at}, outside "
            f"08:00-21:00 for you, so its questions will wait until {morning}. If another "
            "time suits you both better, `/mentor cadence` changes it."
        )
    return turn.reply(said)
