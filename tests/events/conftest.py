"""Receivers on 127.0.0.1: one that trusts a test key per provider (with signed senders for
each), and one that trusts the emulators' demo keys (for the loops through the emulators)."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import apsw
import httpx
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from driver.emulator import DEMO_AUTH_TOKEN
from driver.emulator.wires.signalwire import DEMO_SIGNING_KEY
from driver.emulator.wires.telnyx import DEMO_WEBHOOK_PUBLIC_KEY
from driver.events import ReceiverConfig, Secrets
from driver.events.server import ReceiverServer
from driver.events.signatures import jambonz_header, telnyx_public_key, twilio_signature

TWILIO_TOKEN = "twilio-token-0123456789abcdef"
SIGNALWIRE_KEY = "PSK_signalwire_signing_key"
JAMBONZ_SECRET = "s3cret-for-jambonz-hooks"
TELNYX_PRIVATE = Ed25519PrivateKey.generate()
TELNYX_PUBLIC = TELNYX_PRIVATE.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
TELNYX_PUBLIC_B64 = base64.b64encode(TELNYX_PUBLIC).decode()

CONFERENCE = "CF" + "0" * 31 + "1"
ACCOUNT = "AC" + "0" * 31 + "1"


def secrets() -> Secrets:
    """One key per provider."""
    return Secrets(
        twilio=(TWILIO_TOKEN,),
        signalwire=(SIGNALWIRE_KEY,),
        telnyx=(TELNYX_PUBLIC,),
        jambonz=(JAMBONZ_SECRET,),
    )


@pytest.fixture(scope="session")
def shared_receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReceiverServer]:
    """One receiver for the session (starting one per test would dominate the run time)."""
    path = tmp_path_factory.mktemp("events") / "events.db"
    with ReceiverServer(ReceiverConfig("", str(path), secrets())) as running:
        yield running


def emptied(receiver: ReceiverServer) -> Path:
    """The receiver's database file, its table emptied."""
    path = Path(receiver.config.events_db)
    db = apsw.Connection(str(path))
    try:
        db.set_busy_timeout(5000)
        db.execute('DELETE FROM "ConferenceEvents"')
    finally:
        db.close()
    return path


@pytest.fixture
def events_db(shared_receiver: ReceiverServer) -> Path:
    """The shared receiver's database, emptied for this test."""
    return emptied(shared_receiver)


@pytest.fixture
def receiver(shared_receiver: ReceiverServer, events_db: Path) -> ReceiverServer:
    """The shared receiver (its WebhookUrl is its own local URL), with an empty table."""
    return shared_receiver


@pytest.fixture(scope="session")
def demo_receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReceiverServer]:
    """A receiver that trusts the emulators' demo keys: Twilio's demo auth token,
    SignalWire's demo signing key and the Telnyx emulator's public key."""
    path = tmp_path_factory.mktemp("demo") / "events.db"
    trusted = Secrets(
        twilio=(DEMO_AUTH_TOKEN,),
        signalwire=(DEMO_SIGNING_KEY,),
        telnyx=(telnyx_public_key(DEMO_WEBHOOK_PUBLIC_KEY),),
    )
    with ReceiverServer(ReceiverConfig("", str(path), trusted)) as running:
        yield running


@pytest.fixture
def demo_db(demo_receiver: ReceiverServer) -> Path:
    """The demo receiver's database, emptied for this test."""
    return emptied(demo_receiver)


def stored(events_db: Path, where: str = "1") -> list[dict[str, Any]]:
    """The rows of the receiver's table (read straight from the file)."""
    db = apsw.Connection(str(events_db), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        cursor = db.cursor()
        cursor.exec_trace = None
        sql = f'SELECT * FROM "ConferenceEvents" WHERE {where} ORDER BY rowid'
        names = [c[1] for c in db.execute('PRAGMA table_info("ConferenceEvents")')]
        return [dict(zip(names, row, strict=True)) for row in cursor.execute(sql)]
    finally:
        db.close()


# -- one signed request per provider ------------------------------------------------------


def twilio_form(sequence: int = 1, event: str = "participant-join", **extra: str) -> dict[str, str]:
    """The fields of a Twilio conference status callback."""
    form = {
        "ConferenceSid": CONFERENCE,
        "FriendlyName": "standup",
        "AccountSid": ACCOUNT,
        "SequenceNumber": str(sequence),
        "Timestamp": "Thu, 01 Jun 2017 20:48:32 +0000",
        "StatusCallbackEvent": event,
        "CallSid": "CA" + "0" * 31 + "2",
        "Muted": "false",
        "Hold": "false",
        "Coaching": "false",
        "ParticipantLabel": "ana",
    }
    form.update(extra)
    return form


def post_twilio(
    url: str,
    form: dict[str, str],
    key: str = TWILIO_TOKEN,
    header: str = "X-Twilio-Signature",
    signature: str | None = None,
) -> httpx.Response:
    """POST a form signed as Twilio (or SignalWire) signs it."""
    sig = twilio_signature(key, url, list(form.items())) if signature is None else signature
    return httpx.post(url, data=form, headers={header: sig} if sig else {})


def telnyx_body(
    event_type: str = "conference.participant.joined", event_id: str = "evt-1", **payload: Any
) -> bytes:
    """A Telnyx Call Control webhook body."""
    fields = {
        "call_control_id": "v3:call-1",
        "conference_id": "c0nf-1",
        "occurred_at": "2024-05-01T10:00:00.123456Z",
        **payload,
    }
    data = {
        "record_type": "event",
        "event_type": event_type,
        "id": event_id,
        "occurred_at": "2024-05-01T10:00:00.123456Z",
        "payload": fields,
    }
    return orjson.dumps({"data": data, "meta": {"attempt": 1, "delivered_to": "x"}})


def telnyx_headers(body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Headers Telnyx sends with ``body``: content type, timestamp, Ed25519 signature."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = TELNYX_PRIVATE.sign(f"{stamp}|".encode() + body)
    return {
        "content-type": "application/json",
        "telnyx-timestamp": stamp,
        "telnyx-signature-ed25519": base64.b64encode(signature).decode(),
    }


def jambonz_body(
    event: str = "join", time_: str = "2024-05-01T10:00:00.336Z", **extra: Any
) -> bytes:
    """A jambonz conference statusHook body (keys in snake_case, as sent over HTTP)."""
    fields = {
        "event": event,
        "conference_sid": "standup",
        "friendly_name": "standup",
        "call_sid": "9f1e-call",
        "account_sid": "acct-1",
        "time": time_,
        "members": 2,
        "duration": 12.5,
        **extra,
    }
    return orjson.dumps(fields)


def jambonz_headers(body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Headers jambonz sends with ``body``."""
    return {
        "content-type": "application/json",
        "Jambonz-Signature": jambonz_header(JAMBONZ_SECRET, body, timestamp),
    }
