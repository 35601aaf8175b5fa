"""The matching story in the console, run as a user would (tests/console_sessions/matching.txt):
five people join, the admin previews and sends a round, both sides of a pair accept, one
proposal is declined, and the next round matches those two with others."""

from __future__ import annotations

from pathlib import Path

from tests.test_console import SESSIONS, run_console


def test_matching_session(tmp_path: Path) -> None:
    script = (SESSIONS / "matching.txt").read_text(encoding="utf-8")
    out = run_console(tmp_path, script)
    assert [t.line for t in out.turns] == script.splitlines()

    # Five people join; each hears what their profile says.
    joins = [t for t in out.turns if t.line.startswith("/mentor join")]
    assert len(joins) == 7  # five, then two more before the second round
    for turn in joins:
        assert turn.headers == [f"ephemeral → {turn.user}"]
        assert "You're in the matching pool." in turn.messages[0].text
    assert "Topics: database, python" in joins[0].messages[0].text  # "databases" normalised
    assert (
        "Topics: public speaking"
        in out.turn("/mentor join mentee public speaking").messages[0].text
    )  # two words, one topic already in use

    # The admin's preview reaches only her, with the why of each pair and two buttons.
    preview = out.turn("/mentor match")
    assert preview.user == "alice" and preview.headers == ["ephemeral → alice"]
    text = preview.messages[0].text
    assert "Matching round preview: 3 pairs. Nobody has been told anything yet." in text
    assert "@mia mentors @eve (score 18): shared topics: python; 8 of 9 working hours" in text
    assert "@mo mentors @ed (score 14): shared topics: public speaking; 4 of 9" in text
    assert "@mia mentors @ela (score 18): shared topics: database" in text
    assert preview.messages[0].buttons == ["Send proposals", "Cancel"]
    # Nobody heard anything before the admin sent.
    before = out.turns[: out.turns.index(out.turn(":click Send proposals"))]
    assert not [h for t in before for h in t.headers if h.startswith("DM")]

    # Sending asks both people of each pair, in DMs with Accept and Decline: one DM per
    # person, so mia's two proposals come together, their buttons told apart.
    sent = out.turn(":click Send proposals")
    assert sent.headers == [
        "updated → alice",
        "DM → mia",
        "DM → eve",
        "DM → mo",
        "DM → ed",
        "DM → ela",
    ]
    assert "Sent 3 proposals" in sent.messages[0].text
    assert sent.messages[0].buttons == []
    to_mia = sent.messages[1]
    assert to_mia.text.index("@mia mentoring @eve") < to_mia.text.index("@mia mentoring @ela")
    # Her buttons say which mentee each answers for (not "Accept (1)", "Accept (2)").
    assert to_mia.buttons == ["Accept eve", "Decline eve", "Accept ela", "Decline ela"]
    for dm in sent.messages[2:]:
        assert "The matching round suggests a pair" in dm.text
        assert dm.buttons == ["Accept", "Decline"]

    # ed and mo both accept: a pair, and the admin hears it.
    assert "Waiting for @mo" in out.turn(":click Accept", 0).messages[0].text
    paired = out.turn(":click Accept", 1)
    assert paired.user == "mo"
    assert paired.headers == ["updated → mo", "DM → ed", "DM → alice"]
    for message in paired.messages[:2]:
        assert "🤝 You're paired: @mo is mentoring @ed." in message.text
    # alice sent the round; she is not in the pair, so she is told that it formed.
    assert paired.messages[2].text == (
        "🤝 @mo and @ed both accepted: @mo is mentoring @ed. "
        "Their check-ins: every Monday at 10:00 (America/New_York)."
    )

    # mia accepts ela, ela declines: mia and the admin are told.
    assert "Waiting for @ela" in out.turn(":click Accept ela").messages[0].text
    declined = out.turn(":click Decline")
    assert declined.headers == ["updated → ela", "DM → mia", "DM → alice"]
    assert "@ela declined the pair of @mia mentoring @ela." in declined.messages[1].text

    # The next round matches those two with others, never with each other again.
    second = out.turn("/mentor match", 1).messages[0].text
    assert "Matching round preview: 2 pairs." in second
    assert "@max mentors @ela" in second and "@mia mentors @una" in second
    assert "@mia mentors @ela" not in second
    assert "@eve" not in second and "@ed " not in second  # a proposal open, a pair since
    assert "Sent 2 proposals" in out.turn(":click Send proposals", 1).messages[0].text

    stats = out.turn("/mentor stats").messages[0].text
    assert "Matching pool: 3 mentors with 0 open places, 0 mentees waiting." in stats
    assert "Matching rounds: 5 proposals sent, 50% accepted (1 of 2 answered or expired" in stats

    # una's status reads her proposal as one: whom it waits for, and when it expires.
    status = out.turn("/mentor status").messages[0].text
    assert "State: proposed; waiting for your answer" in status
    assert "The proposal expires Wed 2 Dec, 13:00 (Europe/Paris) if not answered." in status
    assert "Streak" not in status
    # mia's profile counts her places, the proposals waiting for her included.
    profile = out.turn("/mentor profile").messages[0].text
    assert (
        "Places: all 2 taken: @eve (proposed), @una (proposed). No round proposes you "
        "another mentee until one is free." in profile
    )
    assert out.turn(":quit").blocks == []
