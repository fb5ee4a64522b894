"""The whole loop on every provider whose emulator posts events, over real HTTP:
EXEC AddParticipants with WebhookUrl → emulator → signed webhooks → `confsql listen` → SQL.

Each provider posts what it documents: Twilio and SignalWire every subscribed event as a
signed form (SignalWire without SequenceNumber, labels or the end reason), Telnyx JSON
signed with Ed25519 and no mute or hold events (it has none).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import driver
from driver.emulator import EmulatorServer
from driver.events.server import ReceiverServer
from tests.conftest import ProviderUnderTest, serve_provider

from .conftest import stored

EVENT_PROVIDERS = ["Twilio", "SignalWire", "Telnyx"]

# What each provider posts for the loop below, in order: (event, who).
JOIN_TO_END = {
    "Twilio": [
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
    ],
    "Telnyx": [
        ("conference-start", None),  # conference.created, when ana's dial creates it
        ("participant-join", "ana"),
        ("participant-join", "ben"),
        ("conference.floor.changed", "ana"),  # ana speaks (no mute, hold or speech stop)
        ("participant-leave", "ana"),
        ("participant-leave", "ben"),
        ("conference-end", None),
    ],
}
JOIN_TO_END["SignalWire"] = JOIN_TO_END["Twilio"]
# ReasonConferenceEnded when the moderator (EndConferenceOnExit) is removed.
REASON = {
    "Twilio": "participant-with-end-conference-on-exit-kicked",
    "SignalWire": None,  # its callback documents no reason
    "Telnyx": "participant-with-end-conference-on-exit-left",  # Telnyx says host_left
}


@pytest.fixture(params=EVENT_PROVIDERS)
def p(
    request: pytest.FixtureRequest, wire_servers: dict[str, EmulatorServer]
) -> Iterator[ProviderUnderTest]:
    """Each provider whose emulator posts conference events."""
    yield from serve_provider(str(request.param), wire_servers)


def rows(conn: driver.Connection, sql: str) -> list[tuple[Any, ...]]:
    return conn.cursor().execute(sql).fetchall()


def add(conn: driver.Connection, to: str, **inputs: str) -> str:
    """EXEC AddParticipants into 'standup'; the new call's CallSid."""
    extra = "".join(f", {k} = '{v}'" for k, v in inputs.items())
    cur = conn.cursor().execute(
        f"EXEC AddParticipants ConferenceSid = 'standup', From = '+15005550006', To = '{to}'{extra}"
    )
    assert cur.description is not None
    names = [d[0] for d in cur.description]
    return str(dict(zip(names, cur.fetchone(), strict=True))["CallSid"])


def subscribed_to(p: ProviderUnderTest) -> list[str]:
    """Where each AddParticipants asked the provider to send its events."""
    out = []
    for record in p.emu.requests.matching("POST", ""):
        if p.name == "Twilio" and record.path.endswith("/Participants.json"):
            out.append(dict(record.form)["ConferenceStatusCallback"])
        elif p.name == "SignalWire" and record.path.endswith("/Calls"):
            markup = dict(record.form)["Twiml"]
            out.append(markup.split('statusCallback="', 1)[1].split('"', 1)[0])
        elif p.name == "Telnyx" and record.path.endswith("/calls"):
            out.append(record.json["webhook_url"])
    return out


def test_full_loop(p: ProviderUnderTest, demo_receiver: ReceiverServer, demo_db: Path) -> None:
    conn = p.connect(EventsDb=str(demo_db), WebhookUrl=demo_receiver.url)
    ana = add(conn, "+15005550001", EndConferenceOnExit="1")
    ben = add(conn, "+15005550002")
    route = demo_receiver.url + "/" + p.name.lower()
    assert subscribed_to(p) == [route, route]
    p.emu.advance(2)  # both answer: joins (and the conference starts)
    conn.cursor().execute(
        f"EXEC ModifyParticipants ConferenceSid = 'standup', CallSid = '{ben}', Muted = 1"
    )
    conn.cursor().execute(f"UPDATE Participants SET Hold = 1 WHERE CallSid = '{ben}'")
    conn.cursor().execute(f"UPDATE Participants SET Hold = 0 WHERE CallSid = '{ben}'")
    p.emu.speech(ana, speaking=True)
    p.emu.speech(ana, speaking=False)
    assert p.emu.callbacks.drain()

    # live: the events join the live participant list
    live = rows(
        conn,
        "SELECT p.CallSid, p.Muted, c.FriendlyName FROM ConferenceEvents e "
        "JOIN Participants p ON p.CallSid = e.CallSid "
        "JOIN Conferences c ON c.Sid = e.ConferenceSid "
        "WHERE e.Event = 'participant-join' ORDER BY p.Muted",
    )
    assert live == [(ana, 0, "standup"), (ben, 1, "standup")]

    # the moderator is removed: the conference ends and takes ben with it
    conn.cursor().execute(f"EXEC RemoveParticipant ConferenceSid = 'standup', CallSid = '{ana}'")
    assert p.emu.callbacks.drain()
    assert p.emu.callbacks.failed == 0
    who = {ana: "ana", ben: "ben", None: None}
    timeline = stored(demo_db)
    assert [(r["Event"], who[r["CallSid"]]) for r in timeline] == JOIN_TO_END[p.name]
    assert {r["Provider"] for r in timeline} == {p.name}
    held = [r for r in timeline if r["Event"] == "participant-hold"]
    assert [(r["Muted"], r["Hold"]) for r in held] == ([(1, 1)] if held else [])
    ended = rows(
        conn,
        "SELECT c.FriendlyName, c.Status, e.ReasonConferenceEnded FROM Conferences c "
        "JOIN ConferenceEvents e ON e.ConferenceSid = c.Sid WHERE e.Event = 'conference-end'",
    )
    assert ended == [("standup", "completed", REASON[p.name])]


def test_a_conference_that_empties_ends(
    p: ProviderUnderTest, demo_receiver: ReceiverServer, demo_db: Path
) -> None:
    conn = p.connect(WebhookUrl=demo_receiver.url)
    ana = add(conn, "+15005550001")
    p.emu.advance(2)
    p.emu.hang_up(ana)
    assert p.emu.callbacks.drain()
    events = [(r["Event"], r["ReasonConferenceEnded"]) for r in stored(demo_db)]
    reason = None if p.name == "SignalWire" else "last-participant-left"
    assert events[-2:] == [("participant-leave", None), ("conference-end", reason)]


def test_without_webhook_url_nothing_is_sent(
    p: ProviderUnderTest, demo_receiver: ReceiverServer, demo_db: Path
) -> None:
    conn = p.connect()
    ana = add(conn, "+15005550001")
    p.emu.advance(2)
    p.emu.hang_up(ana)
    assert p.emu.callbacks.drain()
    assert p.emu.callbacks.sent == p.emu.callbacks.failed == 0
    assert stored(demo_db) == []


def test_forged_callbacks_are_not_recorded(
    p: ProviderUnderTest, receiver: ReceiverServer, events_db: Path
) -> None:
    """The shared receiver trusts other keys than the emulators': 403, nothing stored."""
    conn = p.connect(WebhookUrl=receiver.url)
    add(conn, "+15005550001")
    p.emu.advance(2)
    assert p.emu.callbacks.drain()
    assert p.emu.callbacks.failed >= 1
    assert p.emu.callbacks.sent == 0
    assert stored(events_db) == []
