"""Commands about a pair's rhythm: cadence, a check-in now, skip, pause and resume."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.cadence import (
    CadenceError,
    describe,
    local_view,
    parse_cadence,
)
from bot.commands import (
    DEFAULT_PAUSE_DAYS,
    MAX_PAUSE_DAYS,
    Pause,
    Resume,
    SetCadence,
    SkipNext,
    StartCheckin,
)
from bot.content import Button, Content
from bot.effects import Effect
from bot.errors import UserError
from bot.flows import checkin, feedback
from bot.flows.checkin import ANSWER_WINDOW
from bot.numbers import TIMESTAMP_MAX, whole_number
from bot.pairs import PairView, lock_live, pairs_of, pick_pair
from bot.rhythm import (
    after_the_pause,
    held_till_morning,
    pause_schedule,
    resume_schedule,
    rule_of,
    schedule_next,
)
from bot.storage.models import (
    PARTNERED_PAIR_STATES,
    Checkin,
    CheckinState,
    Member,
    Pair,
    PairState,
)
from bot.turn import Turn


def _both(turn: Turn, view: PairView, text: str) -> None:
    """Tell the partner; the actor hears it in the reply."""
    turn.dm(view.partner, Content(text))


def when_for(member: Member, pair: Pair) -> str:
    assert pair.next_checkin_at is not None
    return local_view(pair.next_checkin_at, member.timezone or pair.timezone)


async def set_cadence(turn: Turn, command: SetCadence) -> list[Effect]:
    if not command.words:
        return await _show_cadence(turn, command.partner_id)
    view = await pick_pair(turn, command.partner_id)
    await lock_live(turn, view)
    try:
        rule = parse_cadence(
            command.words, turn.actor.timezone or view.pair.timezone, rule_of(view.pair)
        )
    except CadenceError as error:
        raise UserError(error.message) from None
    pair = view.pair
    if rule == rule_of(pair):
        # Nothing to tell the partner, and nothing to start afresh (a skip stays, and
        # every other week keeps its weeks).
        said = f"Check-ins are already {describe(rule)}, so nothing changed."
        if pair.next_checkin_at is None:  # paused
            return turn.reply(said + _after_pause(turn.actor, pair))
        return turn.reply(f"{said} Next one: {when_for(turn.actor, pair)}.")
    pair.cadence, pair.weekday = rule.cadence.value, rule.weekday
    pair.local_time, pair.timezone = rule.local_time, rule.timezone
    pair.cadence_anchor = None  # counted again from this week
    pair.resume_after = None  # a new rhythm starts afresh: a skip of the old one is moot
    open_until = None
    if pair.state == PairState.ACTIVE:
        closes = await checkin.open_closes_at(turn, pair)
        if closes is not None:
            # The check-in open now is the new rhythm's first: every other week counts
            # from its week (else "every other Monday", set on the Monday of one, would
            # come again a week later).
            opened = (closes - ANSWER_WINDOW).astimezone(ZoneInfo(pair.timezone))
            pair.cadence_anchor = opened.date()
        schedule_next(pair, turn.now, turn.now)
        if _after_open_checkin(pair, closes, turn.now):  # the new rhythm starts after it
            open_until = closes
    rhythm = describe(rule_of(pair))
    who = f"<@{turn.actor.external_id}>"
    if pair.next_checkin_at is None:  # paused: nothing is scheduled until it resumes
        _both(
            turn, view, f"{who} set your check-ins to {rhythm}." + _after_pause(view.partner, pair)
        )
        return turn.reply(f"Check-ins are now {rhythm}." + _after_pause(turn.actor, pair))

    def after_open(member: Member) -> str:
        if open_until is None:
            return ""
        until = local_view(open_until, member.timezone or pair.timezone)
        return f", after the check-in open now (it runs until {until})"

    _both(
        turn,
        view,
        f"{who} set your check-ins to {rhythm}. Next one: {when_for(view.partner, pair)}"
        f"{after_open(view.partner)}." + _night_note(view.partner, pair, "you"),
    )
    return turn.reply(
        f"Check-ins are now {rhythm}. Next one: {when_for(turn.actor, pair)}"
        f"{after_open(turn.actor)}." + _partner_time(view, pair)
    )


async def _show_cadence(turn: Turn, partner_id: str | None) -> list[Effect]:
    """``/mentor cadence`` alone: each pair's rhythm (the partner's: that pair's), and
    how to change it. Nothing changes."""
    views = await pairs_of(turn, turn.actor)
    if partner_id is not None or not views:
        views = [await pick_pair(turn, partner_id)]  # says why there is none
    lines = []
    for view in views:
        pair = view.pair
        said = f"Check-ins with {view.partner_mention}: {describe(rule_of(pair))}."
        if pair.next_checkin_at is None:  # paused
            said += _after_pause(turn.actor, pair)
        else:
            said += f" Next one: {when_for(turn.actor, pair)}."
        lines.append(said)
    which = " @partner" if len(views) > 1 else ""
    lines.append(
        f"Change it with `/mentor cadence{which} <weekly|biweekly|monthly> [weekday] [HH:MM] "
        "[timezone]`, like `/mentor cadence biweekly thu 9:30 Europe/Berlin`."
    )
    return turn.reply("\n".join(lines))


def _after_pause(member: Member, pair: Pair) -> str:
    """When a paused pair's check-ins start again, in ``member``'s clock."""
    if pair.paused_until is None:
        return " They start again when your pair resumes: `/mentor resume`."
    ends = local_view(pair.paused_until, member.timezone or pair.timezone)
    return (
        f" They start again when the pause ends, {ends}, or earlier with `/mentor resume`."
        + _first_after_pause(member, pair)
    )


def _first_after_pause(member: Member, pair: Pair) -> str:
    """The first check-in after a pause, as its end will set it, in ``member``'s clock:
    with a monthly rhythm (or a skip before the pause) it is not the day the pause ends."""
    first = after_the_pause(pair)
    if first is None:
        return ""
    return f" The first one after the pause: {local_view(first, member.timezone or pair.timezone)}."


def _partner_time(view: PairView, pair: Pair) -> str:
    """For whoever sets the time: when it falls for the partner, if their clock differs,
    and a warning if that is in their night."""
    at = pair.next_checkin_at
    assert at is not None
    zone = view.partner.timezone or pair.timezone
    note = _night_note(view.partner, pair, view.partner_mention)
    if note:
        return note
    mine = at.astimezone(ZoneInfo(view.me.timezone or pair.timezone)).replace(tzinfo=None)
    if mine == at.astimezone(ZoneInfo(zone)).replace(tzinfo=None):
        return ""  # the same wall clock: nothing to add
    return f" For {view.partner_mention} that is {local_view(at, zone)}."


def _night_note(member: Member, pair: Pair, who: str) -> str:
    """A warning when the pair's time is outside 08:00-21:00 in ``member``'s zone: their
    prompt waits for their morning (quiet hours, bot/cadence.py)."""
    night = held_till_morning(member, pair)
    if night is None:
        return ""
    at, held = night
    if who == "you":
        return (
            f"\n⚠️ That is outside 08:00-21:00 for you, so your questions wait until {held}. "
            "If another time suits you both better, `/mentor cadence` changes it."
        )
    return (
        f"\n⚠️ For {who} that is {at}, outside "
        f"08:00-21:00 there, so their questions wait until {held}. A time in the day for "
        "both of you works better: `/mentor cadence` changes it."
    )


def _not_paused(turn: Turn, view: PairView) -> None:
    pair = view.pair
    if pair.state == PairState.PAUSED:
        until = (
            f" until {local_view(pair.paused_until, turn.actor.timezone or pair.timezone)}"
            if pair.paused_until
            else ""
        )
        raise UserError(
            f"Your check-ins with {view.partner_mention} are paused{until}. "
            "`/mentor resume` starts them again."
        )


# What /mentor checkin and skip say to someone whose pairs are all paused.
_ALL_PAUSED = "Your check-ins are paused in all your pairs. `/mentor resume` starts them again."


async def start_checkin(turn: Turn, command: StartCheckin) -> list[Effect]:
    view = await pick_pair(
        turn, command.partner_id, fitting=(PairState.ACTIVE,), none_fit=_ALL_PAUSED
    )
    await lock_live(turn, view)
    _not_paused(turn, view)
    if await checkin.has_open(turn, view.pair):
        return turn.reply(await checkin.ask_again(turn, view.pair, view.partner))
    mentor, mentee = (view.me, view.partner) if view.i_mentor else (view.partner, view.me)
    await checkin.open_checkin(turn, view.pair, mentor, mentee, turn.now, asked_by=turn.actor)
    await feedback.follow_up_now(turn.session, turn.now, [view.pair.id])
    started = f"Check-in started: I've sent you and {view.partner_mention} the questions in DMs."
    pair = view.pair
    planned = when_for(turn.actor, pair) if pair.next_checkin_at is not None else ""
    if _after_open_checkin(pair, turn.now + ANSWER_WINDOW, turn.now):
        # The one planned within this one's 48 hours: this one takes its place.
        started += (
            f" It takes the place of the one planned for {planned}; the next is "
            f"{when_for(turn.actor, pair)}."
        )
    return turn.reply(started)


def _after_open_checkin(pair: Pair, closes: datetime | None, now: datetime) -> bool:
    """One check-in at a time: the dispatch pass passes by one that falls due while
    another is open, after its heads-up. A next check-in before ``closes`` (when the one
    open closes) moves to the first after it; whether it moved."""
    if closes is None or pair.next_checkin_at is None or pair.next_checkin_at >= closes:
        return False
    schedule_next(pair, closes, now)
    return True


async def skip_next(turn: Turn, command: SkipNext) -> list[Effect]:
    view = await pick_pair(
        turn, command.partner_id, fitting=(PairState.ACTIVE,), none_fit=_ALL_PAUSED
    )
    await lock_live(turn, view)
    _not_paused(turn, view)
    # On a check-in's day, the skip is of the next one: the one open now stays.
    note = await _open_one_stays(turn, view, "skipped")
    return _skip(turn, view, name_partner=view.among > 1, note=note)


async def _open_one_stays(turn: Turn, view: PairView, done: str) -> str:
    """For a skip or a pause: that the pair's check-in open now is not ``done``, and
    until when it takes answers; "" with none open."""
    closes = await checkin.open_closes_at(turn, view.pair)
    if closes is None:
        return ""
    return (
        f"\nThe check-in open now is not {done}: answer it in DMs until "
        f"{local_view(closes, turn.actor.timezone or view.pair.timezone)}, or leave it."
    )


async def skip_occurrence(turn: Turn, pair_id: int, due_timestamp: int) -> list[Effect]:
    """The heads-up's [Skip this one]: only skips the occurrence it was sent for."""
    mine = await _views(turn)
    views = [v for v in mine if v.pair.id == pair_id]
    if not views:
        return turn.reply("That pair isn't active any more, so there was nothing to skip.")
    await lock_live(turn, views[0])
    _not_paused(turn, views[0])  # paused since: says until when, and how to resume
    pair = views[0].pair
    if pair.next_checkin_at is None or int(pair.next_checkin_at.timestamp()) != due_timestamp:
        return turn.reply(await _not_skippable(turn, pair, due_timestamp))
    # In several pairs, the reply to a button says whose check-in it skipped.
    return _skip(turn, views[0], name_partner=len(mine) > 1)


async def _not_skippable(turn: Turn, pair: Pair, due_timestamp: int) -> str:
    """Why a heads-up's [Skip this one] skips nothing now, and what comes next: its
    check-in has started (answer it, or leave it), has happened, or is no longer planned
    (skipped before, or the rhythm changed). One read, on this late click only."""
    zone = turn.actor.timezone or pair.timezone
    upcoming = pair.next_checkin_at
    after = f" The next one is {local_view(upcoming, zone)}." if upcoming is not None else ""
    held = await _held(turn, pair, datetime.fromtimestamp(due_timestamp, UTC))
    if held is None:
        return f"That check-in is no longer planned: it was skipped, or the rhythm changed.{after}"
    if held.is_open:
        return (
            f"That check-in has started, so there is nothing to skip: answer it in DMs"
            f"{held.until}, or leave it.{after}"
        )
    return f"That check-in has happened.{after}"


@dataclass(frozen=True, slots=True)
class _Held:
    is_open: bool
    until: str  # " until <when it closes>", or ""


async def _held(turn: Turn, pair: Pair, due: datetime) -> _Held | None:
    """The pair's check-in due at ``due``, if one was held: whether it is open, and until
    when. One read, on a late click only."""
    found = (
        await turn.session.execute(
            select(Checkin.state, Checkin.closes_at)
            .where(Checkin.pair_id == pair.id, Checkin.due_at == due)
            .limit(1)
        )
    ).first()
    if found is None:
        return None
    state, closes = found
    zone = turn.actor.timezone or pair.timezone
    until = f" until {local_view(closes, zone)}" if closes is not None else ""
    return _Held(state == CheckinState.OPEN.value, until)


async def _views(turn: Turn) -> list[PairView]:
    return await pairs_of(turn, turn.actor, PARTNERED_PAIR_STATES)


def _skip(
    turn: Turn, view: PairView, *, name_partner: bool = False, note: str = ""
) -> list[Effect]:
    """The pair's next check-in skipped, told to both by its day (a check-in may be
    open now); ``note`` ends the skipper's answer."""
    pair = view.pair
    assert pair.next_checkin_at is not None
    skipped_at = pair.next_checkin_at
    skipped, skipped_for_partner = when_for(turn.actor, pair), when_for(view.partner, pair)
    if pair.cadence_anchor is None:  # (stored before anchors were): counted from this one
        pair.cadence_anchor = pair.next_checkin_at.astimezone(ZoneInfo(pair.timezone)).date()
    schedule_next(pair, pair.next_checkin_at, turn.now)
    who = f"<@{turn.actor.external_id}>"
    gap = _long_gap(turn, pair)
    _both(
        turn,
        view,
        f"{who} skipped your check-in of {skipped_for_partner}. "
        f"The one after is {when_for(view.partner, pair)}." + gap,
    )
    which = f"your check-in with {view.partner_mention} on" if name_partner else "the check-in of"
    return turn.reply(
        f"Skipped {which} {skipped}. Next one: {when_for(turn.actor, pair)}." + gap + note,
        buttons=(Button("Undo skip", unskip_action(pair, skipped_at)),),
    )


UNSKIP_ACTION = "unskip"


def unskip_action(pair: Pair, skipped: datetime) -> str:
    """A skip's [Undo skip] names the occurrence skipped and the one it left next: an
    undo after anything else moved the next check-in changes nothing."""
    assert pair.next_checkin_at is not None
    stamps = f"{int(skipped.timestamp())}:{int(pair.next_checkin_at.timestamp())}"
    return f"{UNSKIP_ACTION}:{pair.id}:{stamps}"


def parse_unskip(argument: str) -> tuple[int, int, int] | None:
    """The pair id and the two times of an [Undo skip]'s action (``unskip_action``), or
    None for a forged one."""
    parts = argument.split(":")
    if len(parts) != 3:
        return None
    pair_id = whole_number(parts[0])
    skipped, upcoming = (whole_number(part, low=0, high=TIMESTAMP_MAX) for part in parts[1:])
    if pair_id is None or skipped is None or upcoming is None:
        return None
    return pair_id, skipped, upcoming


async def undo_skip(turn: Turn, pair_id: int, skipped_stamp: int, next_stamp: int) -> list[Effect]:
    """[Undo skip]: the skipped check-in is planned again, when it is still ahead and
    the pair's next check-in is still the one the skip left (a second skip, a new
    rhythm or a pause since has its own reply, and its own undo)."""
    mine = await _views(turn)
    views = [v for v in mine if v.pair.id == pair_id]
    if not views:
        return turn.reply("That pair isn't active any more, so there is no skip to undo.")
    view = views[0]
    await lock_live(turn, view)
    _not_paused(turn, view)  # paused since: says until when, and how to resume
    pair = view.pair
    skipped = datetime.fromtimestamp(skipped_stamp, UTC)
    upcoming = pair.next_checkin_at
    zone = turn.actor.timezone or pair.timezone
    if upcoming == skipped:
        again = when_for(turn.actor, pair)
        return turn.reply(f"That skip is undone already: the next check-in is {again}.")
    after = f" The next one is {local_view(upcoming, zone)}." if upcoming is not None else ""
    changed = f"Your check-ins changed since that skip, so I left them as they are.{after}"
    if upcoming is None or int(upcoming.timestamp()) != next_stamp:
        return turn.reply(changed)
    if skipped <= turn.now:
        # Its time has passed: skipped (nothing to bring back), or undone and held.
        held = await _held(turn, pair, skipped)
        if held is not None:
            where = f"is open: answer it in DMs{held.until}" if held.is_open else "has happened"
            return turn.reply(f"That skip was undone already, and its check-in {where}.{after}")
        past = f"The check-in of {local_view(skipped, zone)} is past, so it can't come back."
        return turn.reply(past + after)
    closes = await checkin.open_closes_at(turn, pair)
    if closes is not None and skipped < closes:
        return turn.reply(
            f"The check-in of {local_view(skipped, zone)} can't come back: the one open now "
            f"takes its place.{after}"
        )
    anchor, heads_up = pair.cadence_anchor, pair.heads_up_at
    schedule_next(pair, skipped - timedelta(microseconds=1), turn.now)
    if pair.next_checkin_at != skipped:  # (its rule no longer gives that day)
        pair.cadence_anchor, pair.next_checkin_at, pair.heads_up_at = anchor, upcoming, heads_up
        return turn.reply(changed)
    who = f"<@{turn.actor.external_id}>"
    _both(
        turn,
        view,
        f"{who} took back their skip: your check-in of {when_for(view.partner, pair)} is on again.",
    )
    which = f"your check-in with {view.partner_mention} on" if len(mine) > 1 else "the check-in of"
    return turn.reply(f"Undone: {which} {when_for(turn.actor, pair)} is on again.")


# A skip that leaves this long, or longer, until the next check-in is said out loud.
LONG_GAP = timedelta(days=21)


def _long_gap(turn: Turn, pair: Pair) -> str:
    """When skipping leaves three weeks or more until the next check-in: how long, and
    how to meet sooner."""
    assert pair.next_checkin_at is not None
    wait = pair.next_checkin_at - turn.now
    if wait < LONG_GAP:
        return ""
    return (
        f"\nThat is {wait.days // 7} weeks from now with no check-in. "
        "`/mentor checkin` starts one any time before then."
    )


async def pause(turn: Turn, command: Pause) -> list[Effect]:
    # (A paused pair may be paused again, to change when it resumes.)
    view = await pick_pair(turn, command.partner_id, fitting=(PairState.ACTIVE,))
    await lock_live(turn, view)
    pair = view.pair
    zone = ZoneInfo(turn.actor.timezone or pair.timezone)
    if pair.state == PairState.PAUSED and command.until is None and command.days is None:
        # No length said: they may not remember the pause; the default two weeks would
        # move its end (and tell the partner), which they did not ask for.
        assert pair.paused_until is not None
        until_text = local_view(pair.paused_until, turn.actor.timezone or pair.timezone)
        return turn.reply(
            f"Your check-ins with {view.partner_mention} are already paused until "
            f"{until_text}; nothing changed. To change when they start again: "
            "`/mentor pause 2w` or `/mentor pause until 2027-01-10`; to start them now: "
            "`/mentor resume`."
        )
    if command.until is not None:
        local_today = turn.now.astimezone(zone).date()
        try:
            day = command.until.after(local_today)
        except ValueError as wrong:  # "16 Dec 2026 is a Wednesday, not a Friday"
            raise UserError(f"{wrong}. Nothing changed.") from None
        if day <= local_today:
            raise UserError("Pick a date in the future to pause until, like 2027-01-10.")
        latest = local_today + timedelta(days=MAX_PAUSE_DAYS)
        if day > latest:
            raise UserError(
                f"A pause can last up to six months: `/mentor pause until {latest:%Y-%m-%d}` "
                "at the latest. Nothing changed."
            )
        until = datetime.combine(day, time(0, 0)).replace(tzinfo=zone)
    else:
        until = turn.now + timedelta(days=command.days or DEFAULT_PAUSE_DAYS)
    until_text = local_view(until, turn.actor.timezone or pair.timezone)
    was = pair.paused_until if pair.state == PairState.PAUSED else None
    was_text = local_view(was, turn.actor.timezone or pair.timezone) if was else None
    # In several pairs, whose check-ins it is.
    with_whom = f" with {view.partner_mention}" if view.among > 1 else ""
    if was_text == until_text:  # to the minute they are shown
        return turn.reply(
            f"Your check-ins{with_whom} are already paused until {until_text}; nothing changed."
        )
    pair.state = PairState.PAUSED.value
    pair.paused_until = until
    pause_schedule(pair)
    who = f"<@{turn.actor.external_id}>"
    partner_until = local_view(until, view.partner.timezone or pair.timezone)
    again = " by themselves then, or earlier with `/mentor resume`." + _first_after_pause(
        turn.actor, pair
    )
    partner_first = _first_after_pause(view.partner, pair)
    again += await _open_one_stays(turn, view, "paused")
    if was_text is not None:
        _both(
            turn,
            view,
            f"{who} changed your pause: check-ins start again {partner_until}.{partner_first}",
        )
        return turn.reply(
            f"Your pause{with_whom} now ends {until_text} (it was to end {was_text}). "
            f"Check-ins start again{again}"
        )
    _both(turn, view, f"{who} paused your check-ins until {partner_until}.{partner_first}")
    paused = f"Paused your check-ins{with_whom}" if with_whom else "Paused"
    return turn.reply(f"{paused} until {until_text}. Check-ins start again{again}")


async def resume(turn: Turn, command: Resume) -> list[Effect]:
    none_paused = "None of your pairs' check-ins are paused."
    view = await pick_pair(
        turn, command.partner_id, fitting=(PairState.PAUSED,), none_fit=none_paused
    )
    await lock_live(turn, view)
    pair = view.pair
    if pair.state != PairState.PAUSED:
        # Said with the next one: what someone who types it wants to know.
        raise UserError(
            f"Your check-ins with {view.partner_mention} aren't paused; the next one is "
            f"{when_for(turn.actor, pair)}."
        )
    pair.state = PairState.ACTIVE.value
    pair.paused_until = None
    resume_schedule(pair, turn.now)
    who = f"<@{turn.actor.external_id}>"
    _both(turn, view, f"{who} resumed your check-ins. Next one: {when_for(view.partner, pair)}.")
    if view.among > 1:  # in several pairs, whose check-ins
        return turn.reply(
            f"Resumed your check-ins with {view.partner_mention}. "
            f"Next one: {when_for(turn.actor, pair)}."
        )
    return turn.reply(f"Resumed. Next check-in: {when_for(turn.actor, pair)}.")
