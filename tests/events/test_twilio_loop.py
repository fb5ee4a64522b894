"""The whole Twilio loop over real HTTP: EXEC → emulator → signed callbacks → receiver → SQL."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

import driver
from driver.emulator import Emulator
from driver.events.server import ReceiverServer
from tests.conftest import Connect

from .conftest import stored

EVERYTHING = "start end join leave mute hold modify speaker announcement"


def rows(conn: driver.Connection, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    return conn.cursor().execute(sql, params).fetchall()


def add(conn: driver.Connection, label: str, **inputs: str) -> str:
    extra = "".join(f", {k} = '{v}'" for k, v in inputs.items())
    cur = conn.cursor().execute(
        "EXEC AddParticipants ConferenceSid = 'standup', From = '+15005550006', "
        f"To = '+1500555000{len(label)}', Label = '{label}'{extra}"
    )
    return str(cur.fetchone()[1])


def test_full_loop(
    connect: Connect, emu: Emulator, demo_receiver: ReceiverServer, demo_db: Path
) -> None:
    conn = connect(EventsDb=str(demo_db))
    hook = demo_receiver.url + "/twilio"
    ana = add(
        conn,
        "ana",
        EndConferenceOnExit="1",
        ConferenceStatusCallback=hook,
        ConferenceStatusCallbackEvent=EVERYTHING,
    )
    # only the first participant's callback counts
    ben = add(conn, "ben", ConferenceStatusCallback="http://127.0.0.1:9/ignored")
    emu.advance(2)  # both answer: joins, and the conference starts
    conn.cursor().execute(
        "EXEC ModifyParticipants ConferenceSid = 'standup', CallSid = 'ben', Muted = 1"
    )
    conn.cursor().execute("UPDATE Participants SET Hold = 1 WHERE Label = 'ben'")
    conn.cursor().execute("UPDATE Participants SET Hold = 0 WHERE Label = 'ben'")
    emu.speech(ana, speaking=True)
    emu.speech(ana, speaking=False)
    assert emu.callbacks.drain()

    # live: the events join the live participant list
    live = rows(
        conn,
        "SELECT p.Label, p.Muted, e.Event FROM ConferenceEvents e "
        "JOIN Participants p ON p.CallSid = e.CallSid "
        "WHERE e.Event IN ('participant-join', 'participant-mute') ORDER BY e.SequenceNumber",
    )
    assert live == [
        ("ana", 0, "participant-join"),
        ("ben", 1, "participant-join"),
        ("ben", 1, "participant-mute"),
    ]

    # the moderator is removed: the conference ends and takes ben with it
    conn.cursor().execute("EXEC RemoveParticipant ConferenceSid = 'standup', CallSid = 'ana'")
    assert emu.callbacks.drain()
    timeline = rows(
        conn,
        "SELECT SequenceNumber, Event, Label, Muted, Hold FROM ConferenceEvents "
        "ORDER BY SequenceNumber",
    )
    assert [t[1:3] for t in timeline] == [
        ("participant-join", "ana"),
        ("conference-start", None),
        ("participant-join", "ben"),
        ("participant-mute", "ben"),
        ("participant-hold", "ben"),
        ("participant-unhold", "ben"),
        ("participant-speech-start", "ana"),
        ("participant-speech-stop", "ana"),
        ("participant-leave", "ana"),
        ("participant-leave", "ben"),
        ("conference-end", None),
    ]
    assert [t[0] for t in timeline] == list(range(1, 12))
    assert timeline[4][3:] == (1, 1)  # ben muted, on hold
    ended = rows(
        conn,
        "SELECT c.FriendlyName, c.Status, e.ReasonConferenceEnded, e.AccountSid, e.Provider "
        "FROM Conferences c JOIN ConferenceEvents e ON e.ConferenceSid = c.Sid "
        "WHERE e.Event = 'conference-end'",
    )
    assert ended == [
        (
            "standup",
            "completed",
            "participant-with-end-conference-on-exit-kicked",
            emu.conferences()[0]["account_sid"],
            "Twilio",
        )
    ]
    payload = rows(conn, "SELECT Payload FROM ConferenceEvents WHERE Event = 'conference-end'")
    assert f'"CallSidEndingConference":"{ana}"' in payload[0][0]
    assert ben in {r["CallSid"] for r in stored(demo_db)}
    assert emu.callbacks.failed == 0


def test_default_subscription_is_start_and_end(
    connect: Connect, emu: Emulator, demo_receiver: ReceiverServer, demo_db: Path
) -> None:
    conn = connect()
    ana = add(conn, "ana", ConferenceStatusCallback=demo_receiver.url + "/twilio")
    emu.advance(2)
    emu.hang_up(ana)
    assert emu.callbacks.drain()
    assert [(r["Event"], r["ReasonConferenceEnded"]) for r in stored(demo_db)] == [
        ("conference-start", None),
        ("conference-end", "last-participant-left"),
    ]


def test_get_callbacks(
    connect: Connect, emu: Emulator, demo_receiver: ReceiverServer, demo_db: Path
) -> None:
    conn = connect()
    add(
        conn,
        "ana",
        ConferenceStatusCallback=demo_receiver.url + "/twilio?tenant=a",
        ConferenceStatusCallbackMethod="GET",
        ConferenceStatusCallbackEvent="join modify announcement",
    )
    emu.advance(2)
    conn.cursor().execute(
        "EXEC ModifyParticipants ConferenceSid = 'standup', CallSid = 'ana', "
        "EndConferenceOnExit = 1, AnnounceUrl = 'https://example.com/a.mp3'"
    )
    assert emu.callbacks.drain()
    assert [r["Event"] for r in stored(demo_db)] == [
        "participant-join",
        "participant-modify",
        "announcement-end",
    ]
    assert emu.callbacks.failed == 0


def test_a_failing_callback_is_logged_not_raised(
    connect: Connect, emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "driver.emulator.callbacks")
    conn = connect()
    add(conn, "ana", ConferenceStatusCallback="http://127.0.0.1:9/closed")  # nothing listens
    emu.advance(2)
    assert emu.callbacks.drain()
    assert emu.callbacks.failed >= 1
    assert "conference callback" in caplog.text
    assert rows(conn, "SELECT Status FROM Conferences") == [("in-progress",)]


def test_webhook_url_subscribes_the_conference(
    connect: Connect, emu: Emulator, demo_receiver: ReceiverServer, demo_db: Path
) -> None:
    """With WebhookUrl set, AddParticipants subscribes the conference to every event."""
    conn = connect(EventsDb=str(demo_db), WebhookUrl=demo_receiver.url)
    add(conn, "ana")
    emu.advance(2)
    conn.cursor().execute(
        "EXEC ModifyParticipants ConferenceSid = 'standup', CallSid = 'ana', Muted = 1"
    )
    assert emu.callbacks.drain()
    (post,) = emu.requests.matching("POST", "/Participants.json")
    sent = dict(post.form)
    assert sent["ConferenceStatusCallback"] == demo_receiver.url + "/twilio"
    events = [
        e for (e,) in rows(conn, "SELECT Event FROM ConferenceEvents ORDER BY SequenceNumber")
    ]
    assert events == ["participant-join", "conference-start", "participant-mute"]
    # a callback the user gives wins
    conn.cursor().execute(
        "EXEC AddParticipants ConferenceSid = 'other', From = '+15005550006', To = '+15005550001', "
        "ConferenceStatusCallback = 'https://example.com/mine'"
    )
    last = emu.requests.matching("POST", "/Participants.json")[-1]
    assert dict(last.form)["ConferenceStatusCallback"] == "https://example.com/mine"
