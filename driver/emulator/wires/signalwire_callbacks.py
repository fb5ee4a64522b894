"""SignalWire's conference status callbacks, as its cXML ``<Conference>`` noun documents them.

A conference subscribes through the ``statusCallback``, ``statusCallbackMethod`` and
``statusCallbackEvent`` attributes of its first participant's ``<Conference>`` (see
:func:`~driver.emulator.callbacks.subscribe_markup`); the events are Twilio's
(``start end join leave mute hold speaker``).  What differs from Twilio:

* the fields are the ones SignalWire's noun reference lists for the ``statusCallback``
  request: ``AccountSid``, ``ConferenceSid``, ``FriendlyName``, ``Timestamp`` (RFC 2822),
  ``StatusCallbackEvent`` and, for a participant, ``CallSid``, ``Muted``, ``Hold``,
  ``EndConferenceOnExit`` and ``StartConferenceOnEnter``.  It lists no ``SequenceNumber``,
  ``ParticipantLabel``, ``Coaching`` or ``ReasonConferenceEnded``, so none is sent;
* the signature is Twilio's HMAC-SHA1 over the URL and the sorted fields, keyed by the
  project's *signing key* (not its API token), in ``X-SignalWire-Signature``.
  ``X-Twilio-Signature`` carries the same value, for Twilio libraries (SignalWire's SDK
  validators read it as the cXML alias).
"""

from __future__ import annotations

from collections.abc import Mapping

from ..callbacks import TwilioCallbacks, flag
from ..resources import rfc2822
from ..state import Conference, Participant, State


class SignalWireCallbacks(TwilioCallbacks):
    """Twilio's callbacks with SignalWire's fields, key and header."""

    signature_headers = ("X-SignalWire-Signature", "X-Twilio-Signature")

    def __init__(self, state: State, signing_keys: Mapping[str, str]) -> None:
        super().__init__(state)
        self.signing_keys = signing_keys

    def signing_key(self, account_sid: str) -> str | None:
        """The project's signing key."""
        return self.signing_keys.get(account_sid)

    def form(
        self,
        event: str,
        conference: Conference,
        participant: Participant | None,
        extra: Mapping[str, str],
    ) -> list[tuple[str, str]]:
        form = [
            ("AccountSid", conference.account_sid),
            ("ConferenceSid", conference.sid),
            ("FriendlyName", conference.friendly_name or ""),
            ("Timestamp", rfc2822(self.state.now())),
            ("StatusCallbackEvent", event),
        ]
        if participant is not None:
            form += [
                ("CallSid", participant.call_sid),
                ("Muted", flag(participant.muted)),
                ("Hold", flag(participant.hold)),
                ("EndConferenceOnExit", flag(participant.end_conference_on_exit)),
                ("StartConferenceOnEnter", flag(participant.start_conference_on_enter)),
            ]
        return form
