"""Telnyx's conference webhooks from the emulator: where they go, what they hold, and the
Ed25519 signature `confsql listen` checks."""

from __future__ import annotations

import base64
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

import driver
from driver.emulator import Emulator, EmulatorServer
from driver.emulator.callbacks import Delivery
from driver.emulator.wires.telnyx import DEMO_WEBHOOK_PUBLIC_KEY, DEMO_WEBHOOK_SEED
from driver.emulator.wires.telnyx_webhooks import public_key
from driver.events.server import ReceiverServer
from driver.events.signatures import telnyx_public_key, verify_telnyx
from tests.conftest import ProviderUnderTest, serve_provider

from .conftest import stored

HOOK = "https://hooks.example.com/telnyx"


@pytest.fixture
def tx(wire_servers: dict[str, EmulatorServer]) -> Iterator[ProviderUnderTest]:
    yield from serve_provider("Telnyx", wire_servers)


def captured(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> list[Delivery]:
    """The deliveries the emulator queues from now on (none is sent)."""
    queued: list[Delivery] = []
    monkeypatch.setattr(emu.callbacks, "submit", queued.append)
    return queued


def data(delivery: Delivery) -> dict[str, Any]:
    body = orjson.loads(delivery.body or b"")
    assert body["meta"] == {"attempt": 1, "delivered_to": delivery.url}
    out: dict[str, Any] = body["data"]
    return out


def add(conn: driver.Connection, to: str, **inputs: str) -> str:
    extra = "".join(f", {k} = '{v}'" for k, v in inputs.items())
    cur = conn.cursor().execute(
        f"EXEC AddParticipants ConferenceSid = 'standup', From = '+15005550006', To = '{to}'{extra}"
    )
    assert cur.description is not None
    names = [d[0] for d in cur.description]
    return str(dict(zip(names, cur.fetchone(), strict=True))["CallSid"])


def test_the_demo_public_key_is_the_seeds() -> None:
    assert public_key(DEMO_WEBHOOK_SEED) == DEMO_WEBHOOK_PUBLIC_KEY


def test_envelope_payloads_and_signature(
    tx: ProviderUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued = captured(tx.emu, monkeypatch)
    conn = tx.connect(WebhookUrl="https://hooks.example.com")
    ana = add(conn, "+15005550001")
    tx.emu.advance(2)
    conn.cursor().execute("EXEC ModifyConference Sid = 'standup', Status = 'completed'")
    kinds = [data(d)["event_type"] for d in queued]
    assert kinds == [
        "conference.created",
        "conference.participant.joined",
        "conference.participant.left",
        "conference.ended",
    ]
    (conference,) = {data(d)["payload"]["conference_id"] for d in queued}
    for delivery in queued:
        assert (delivery.method, delivery.url) == ("POST", HOOK)
        assert delivery.headers["Content-Type"] == "application/json"
        item = data(delivery)
        assert item["record_type"] == "event"
        assert item["payload"]["call_control_id"] == ana
        assert item["payload"]["connection_id"] == tx.emu.wire.demo_credentials()["ConnectionId"]
        # Ed25519 over "timestamp|body", checked as the receiver and Telnyx's SDKs check it
        stamp = delivery.headers["telnyx-timestamp"]
        assert abs(int(stamp) - time.time()) < 60
        raw = base64.b64decode(delivery.headers["telnyx-signature-ed25519"])
        key = Ed25519PublicKey.from_public_bytes(telnyx_public_key(DEMO_WEBHOOK_PUBLIC_KEY))
        key.verify(raw, f"{stamp}|".encode() + (delivery.body or b""))
        verify_telnyx(
            [telnyx_public_key(DEMO_WEBHOOK_PUBLIC_KEY)],
            delivery.body or b"",
            delivery.headers["telnyx-signature-ed25519"],
            stamp,
        )
    ids = {data(d)["id"] for d in queued}
    assert len(ids) == 4
    created, joined, _, ended = (data(d) for d in queued)
    assert "occurred_at" in created["payload"] and "occurred_at" not in joined["payload"]
    assert ended["payload"]["reason"] == "ended_via_api"
    assert conference == tx.emu.conferences()[0]["id"]


def test_mute_hold_and_updates_send_nothing(
    tx: ProviderUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued = captured(tx.emu, monkeypatch)  # nothing is sent to hooks.example.com
    conn = tx.connect(WebhookUrl="https://hooks.example.com")
    ana = add(conn, "+15005550001")
    tx.emu.advance(2)
    queued.clear()
    conn.cursor().execute(f"UPDATE Participants SET Muted = 1, Hold = 1 WHERE CallSid = '{ana}'")
    conn.cursor().execute(
        f"EXEC ModifyParticipants ConferenceSid = 'standup', CallSid = '{ana}', "
        "EndConferenceOnExit = 1, Muted = 0, Hold = 0"
    )
    tx.emu.speech(ana, speaking=False)
    assert queued == []  # Telnyx has no webhook for any of these


def test_announcements_are_playback_ended(
    tx: ProviderUnderTest, demo_receiver: ReceiverServer, demo_db: Path
) -> None:
    conn = tx.connect(WebhookUrl=demo_receiver.url)
    ana = add(conn, "+15005550001")
    tx.emu.advance(2)
    conn.cursor().execute(
        f"EXEC ModifyParticipants ConferenceSid = 'standup', CallSid = '{ana}', "
        "AnnounceUrl = 'https://example.com/one.mp3'"
    )
    conn.cursor().execute(
        "EXEC ModifyConference Sid = 'standup', AnnounceUrl = 'https://example.com/all.mp3'"
    )
    assert tx.emu.callbacks.drain()
    played = [r for r in stored(demo_db) if r["Event"] == "announcement-end"]
    assert [r["CallSid"] for r in played] == [ana, None]
    types = [orjson.loads(r["Payload"])["data"]["event_type"] for r in played]
    assert types == ["conference.participant.playback.ended", "conference.playback.ended"]
    media = [orjson.loads(r["Payload"])["data"]["payload"]["media_url"] for r in played]
    assert media == ["https://example.com/one.mp3", "https://example.com/all.mp3"]


def test_the_applications_webhook_url_and_join(
    tx: ProviderUnderTest, demo_receiver: ReceiverServer, demo_db: Path
) -> None:
    """Without WebhookUrl, calls report to the Call Control App's webhook URL; a call joined
    with JoinConference does too (Telnyx's join takes no webhook URL)."""
    tx.emu.wire.app_webhook_url = demo_receiver.url + "/telnyx"  # type: ignore[attr-defined]
    conn = tx.connect(WebhookUrl="https://elsewhere.example.com")
    ana = add(tx.connect(), "+15005550001")  # no WebhookUrl: the app's URL
    tx.emu.advance(2)
    ben = tx.emu.create_call("+15005550006", "+15005550002")
    conn.cursor().execute(f"EXEC JoinConference ConferenceSid = 'standup', CallSid = '{ben}'")
    assert "webhook_url" not in tx.emu.requests.matching("POST", "/actions/join")[0].json
    assert tx.emu.callbacks.drain()
    assert [(r["Event"], r["CallSid"]) for r in stored(demo_db)] == [
        ("conference-start", None),
        ("participant-join", ana),
        ("participant-join", ben),
    ]


def test_a_call_keeps_its_webhook_url_across_conferences(
    tx: ProviderUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued = captured(tx.emu, monkeypatch)
    conn = tx.connect(WebhookUrl="https://hooks.example.com")
    ana = add(conn, "+15005550001")
    tx.emu.advance(2)
    other = str(tx.emu.create_conference("other")["sid"])
    queued.clear()
    conn.cursor().execute(f"EXEC JoinConference ConferenceSid = '{other}', CallSid = '{ana}'")
    assert [(d.url, data(d)["event_type"]) for d in queued] == [
        (HOOK, "conference.participant.left"),
        (HOOK, "conference.ended"),  # ana was the last in 'standup'
        (HOOK, "conference.participant.joined"),
    ]


def test_nothing_to_sign_imports_no_cryptography() -> None:
    """The emulator imports `cryptography` only when it has a webhook to sign."""
    code = (
        "import sys\n"
        "from driver.emulator import Emulator\n"
        "emu = Emulator(wire='telnyx')\n"
        "sid = emu.create_conference('x')['sid']\n"
        "emu.add_participant(sid)\n"
        "assert 'cryptography' not in sys.modules, 'imported without a webhook to sign'\n"
        "emu.wire.app_webhook_url = 'http://127.0.0.1:9/telnyx'\n"
        "emu.add_participant(sid)\n"
        "assert 'cryptography' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
