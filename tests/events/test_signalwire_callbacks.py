"""SignalWire's conference status callbacks from the emulator: the fields its cXML reference
lists, signed with the project's signing key, subscribed by the first call's markup."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from twilio.request_validator import RequestValidator

import driver
from driver.emulator import Emulator, EmulatorServer
from driver.emulator.callbacks import Delivery
from driver.emulator.wires.signalwire import DEMO_API_TOKEN, DEMO_SIGNING_KEY
from driver.events.server import ReceiverServer
from tests.conftest import ProviderUnderTest, serve_provider

from .conftest import stored

HOOK = "https://hooks.example.com/signalwire"


@pytest.fixture
def sw(wire_servers: dict[str, EmulatorServer]) -> Iterator[ProviderUnderTest]:
    yield from serve_provider("SignalWire", wire_servers)


def captured(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> list[Delivery]:
    """The deliveries the emulator queues from now on (none is sent)."""
    queued: list[Delivery] = []
    monkeypatch.setattr(emu.callbacks, "submit", queued.append)
    return queued


def add(conn: driver.Connection, to: str, **inputs: str) -> str:
    extra = "".join(f", {k} = '{v}'" for k, v in inputs.items())
    cur = conn.cursor().execute(
        f"EXEC AddParticipants ConferenceSid = 'standup', From = '+15005550006', To = '{to}'{extra}"
    )
    assert cur.description is not None
    names = [d[0] for d in cur.description]
    return str(dict(zip(names, cur.fetchone(), strict=True))["CallSid"])


def test_fields_headers_and_signature(
    sw: ProviderUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued = captured(sw.emu, monkeypatch)
    conn = sw.connect()
    ana = add(
        conn,
        "+15005550001",
        ConferenceStatusCallback=HOOK,
        ConferenceStatusCallbackEvent="join end",
        Muted="1",
    )
    sw.emu.hang_up(ana)
    join, end = queued
    assert (join.method, join.url) == ("POST", HOOK)
    form = parse_qsl((join.body or b"").decode())
    fields = dict(form)
    assert sorted(fields) == sorted(
        [
            "AccountSid",
            "ConferenceSid",
            "FriendlyName",
            "Timestamp",
            "StatusCallbackEvent",
            "CallSid",
            "Muted",
            "Hold",
            "EndConferenceOnExit",
            "StartConferenceOnEnter",
        ]
    )  # no SequenceNumber, ParticipantLabel, Coaching: SignalWire lists none of them
    assert fields["StatusCallbackEvent"] == "participant-join"
    assert (fields["CallSid"], fields["Muted"], fields["FriendlyName"]) == (ana, "true", "standup")
    assert join.headers["Content-Type"] == "application/x-www-form-urlencoded"
    # twilio-python's validator (SignalWire's Python SDK subclasses it) accepts the signature
    # with the project's signing key, not with its API token
    signature = join.headers["X-SignalWire-Signature"]
    assert join.headers["X-Twilio-Signature"] == signature
    assert RequestValidator(DEMO_SIGNING_KEY).validate(HOOK, fields, signature)
    assert not RequestValidator(DEMO_API_TOKEN).validate(HOOK, fields, signature)
    ended = dict(parse_qsl((end.body or b"").decode()))
    assert ended["StatusCallbackEvent"] == "conference-end"
    assert "CallSid" not in ended and "ReasonConferenceEnded" not in ended


def test_the_first_calls_callback_counts_and_get_is_signed(
    sw: ProviderUnderTest, demo_receiver: ReceiverServer, demo_db: Path
) -> None:
    conn = sw.connect()
    ana = add(
        conn,
        "+15005550001",
        ConferenceStatusCallback=demo_receiver.url + "/signalwire?tenant=a",
        ConferenceStatusCallbackMethod="GET",
        ConferenceStatusCallbackEvent="join leave",
    )
    ben = add(conn, "+15005550002", ConferenceStatusCallback="http://127.0.0.1:9/ignored")
    conn.cursor().execute(f"EXEC RemoveParticipant ConferenceSid = 'standup', CallSid = '{ben}'")
    assert sw.emu.callbacks.drain()
    assert sw.emu.callbacks.failed == 0
    assert [(r["Event"], r["CallSid"], r["Provider"]) for r in stored(demo_db)] == [
        ("participant-join", ana, "SignalWire"),
        ("participant-join", ben, "SignalWire"),
        ("participant-leave", ben, "SignalWire"),
    ]


def test_a_project_without_a_signing_key_sends_nothing(
    sw: ProviderUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued = captured(sw.emu, monkeypatch)
    monkeypatch.delitem(sw.emu.wire.signing_keys, sw.emu.demo_account)
    add(sw.connect(), "+15005550001", ConferenceStatusCallback=HOOK)
    assert queued == []
