"""Telnyx Call Control's conference webhooks: JSON, signed with Ed25519.

Where they go: a call leg's webhooks go to the ``webhook_url`` its dial gave, or else to
its Call Control application's webhook URL (:attr:`~.telnyx.TelnyxWire.app_webhook_url`, unset on a
fresh emulator).  A participant's events go to its own leg's URL; the events of the whole
conference (``conference.created``, ``conference.ended``, a playback to everyone) go to the
URL of the leg that created the conference.  Nowhere to send means nothing is sent.

What is sent, for the state's transitions (Twilio's words) that Telnyx has a webhook for:

==============================  =========================================
the state's event               Telnyx ``event_type``
==============================  =========================================
(a dial creates the conference) ``conference.created``
``participant-join``            ``conference.participant.joined``
``participant-leave``           ``conference.participant.left``
``conference-end``              ``conference.ended`` (``reason``)
``participant-speech-start``    ``conference.floor.changed``
``announcement-end``            ``conference[.participant].playback.ended``
==============================  =========================================

Telnyx has no webhook for mute, hold, a participant update or the end of speech, so those
send nothing.  The envelope is ``{"data": {"record_type": "event", "event_type", "id",
"occurred_at", "payload"}, "meta": {"attempt", "delivered_to"}}``; the payload fields are
those of Telnyx's webhook models (telnyx-python ``types/conference_*.py``).

The signature (telnyx-python ``lib/webhook_verification.py``): ``telnyx-timestamp`` is the
Unix time of sending and ``telnyx-signature-ed25519`` the base64 Ed25519 signature of
``f"{timestamp}|{body}"``.  The emulator's key pair is fixed
(:data:`~.telnyx.DEMO_WEBHOOK_PUBLIC_KEY` checks it); ``cryptography`` is imported only to
sign.
"""

from __future__ import annotations

import base64
import logging
import time
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson

from ..callbacks import Delivery, StatusCallbacks
from ..state import Conference, Participant
from .telnyx import CREATED, CREATOR, DEMO_CONNECTION_ID, END_REASON, derived_id, iso

if TYPE_CHECKING:
    from .telnyx import TelnyxWire

logger = logging.getLogger("driver.emulator.callbacks")

EVENT_TYPES: dict[str, str] = {
    CREATED: "conference.created",
    "conference-end": "conference.ended",
    "participant-join": "conference.participant.joined",
    "participant-leave": "conference.participant.left",
    "participant-speech-start": "conference.floor.changed",
}
# Types whose payload carries occurred_at too (the others have it on data only).
_OCCURRED_IN_PAYLOAD = frozenset(
    {
        "conference.created",
        "conference.ended",
        "conference.floor.changed",
        "conference.playback.ended",
        "conference.participant.playback.ended",
    }
)


def sign(seed: bytes, timestamp: str, body: bytes) -> str:
    """base64 Ed25519 signature of ``timestamp|body`` (imports ``cryptography``)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.from_private_bytes(seed)
    return base64.b64encode(key.sign(f"{timestamp}|".encode() + body)).decode()


def public_key(seed: bytes) -> str:
    """The base64 public key of ``seed`` (imports ``cryptography``)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    key = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    return base64.b64encode(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


class TelnyxWebhooks(StatusCallbacks):
    """Builds and signs the conference webhooks of a :class:`TelnyxWire`."""

    def __init__(self, wire: TelnyxWire) -> None:
        self.wire = wire
        self.state = wire.state
        self._warned = False

    def deliveries(
        self,
        event: str,
        conference: Conference,
        participant: Participant | None,
        extra: Mapping[str, str],
    ) -> list[Delivery]:
        kind = EVENT_TYPES.get(event)
        if event == "announcement-end":
            kind = (
                "conference.participant.playback.ended"
                if participant
                else "conference.playback.ended"
            )
        if kind is None:
            return []
        creator = conference.options.get(CREATOR)
        leg = participant.call_sid if participant is not None else creator
        url = self.wire.leg_webhook_url(leg) if isinstance(leg, str) else None
        if not url:
            return []
        payload = self._payload(kind, conference, participant, extra)
        now = iso(self.state.now())
        if kind in _OCCURRED_IN_PAYLOAD:
            payload["occurred_at"] = now
        data = {
            "record_type": "event",
            "event_type": kind,
            "id": str(uuid.uuid4()),
            "occurred_at": now,
            "payload": payload,
        }
        body = orjson.dumps({"data": data, "meta": {"attempt": 1, "delivered_to": url}})
        stamp = str(int(time.time()))  # the receiver checks it against its own clock
        try:
            signature = sign(self.wire.webhook_seed, stamp, body)
        except ImportError:
            if not self._warned:
                self._warned = True
                logger.warning(
                    "Telnyx webhooks are not sent: signing them needs the 'cryptography' "
                    "package (pip install 'confsql[listen]')"
                )
            return []
        headers = {
            "Content-Type": "application/json",
            "telnyx-timestamp": stamp,
            "telnyx-signature-ed25519": signature,
        }
        return [Delivery("POST", url, body, headers)]

    def _payload(
        self,
        kind: str,
        conference: Conference,
        participant: Participant | None,
        extra: Mapping[str, str],
    ) -> dict[str, Any]:
        creator = conference.options.get(CREATOR)
        leg = participant
        if leg is None and isinstance(creator, str):  # a conference-wide event
            leg = self.state.calls.get(creator)
        out: dict[str, Any] = {}
        if leg is not None and kind != "conference.playback.ended":
            out.update(
                call_control_id=leg.call_sid,
                call_leg_id=derived_id("leg", leg.call_sid),
                call_session_id=derived_id("session", leg.call_sid),
            )
            state = leg.options.get("client_state")
            if isinstance(state, str):
                out["client_state"] = state
        out["conference_id"] = conference.sid
        out["connection_id"] = self._connection(conference, leg)
        if kind == "conference.ended":
            reason = conference.options.get("end_reason") or END_REASON.get(
                conference.reason_conference_ended or "", "all_left"
            )
            out["reason"] = reason
        if kind.endswith("playback.ended"):
            if isinstance(creator, str):
                out["creator_call_session_id"] = derived_id("session", creator)
            audio = extra.get("AnnounceUrl", "")
            out["media_url" if "://" in audio else "media_name"] = audio
        return out

    @staticmethod
    def _connection(conference: Conference, leg: Participant | None) -> str:
        for options in (leg.options if leg is not None else {}, conference.options):
            connection = options.get("connection_id")
            if isinstance(connection, str):
                return connection
        return DEMO_CONNECTION_ID
