"""Conference status callbacks: the emulator posts signed events, as the providers do.

The state tells its listener, a :class:`Notifier`, of every transition in Twilio's words
(``participant-join``, ``conference-end``…).  The wire's :class:`StatusCallbacks` decides
what the provider would post for it: to which URL, encoded and signed how (Twilio's is
:class:`TwilioCallbacks`; SignalWire's and Telnyx's live with their wires).
:class:`CallbackSender` posts the deliveries in order from a background thread, so requests
to the API never wait for a callback, and a failed callback is logged, not raised.

On Twilio the first participant added to a conference decides its callback: the URL in
``ConferenceStatusCallback``, the method in ``ConferenceStatusCallbackMethod`` (POST) and the
events in ``ConferenceStatusCallbackEvent`` (``start end`` when omitted); later
participants' values are ignored.  A call dialled in by markup (``<Conference
statusCallback=… statusCallbackEvent=…>``) subscribes the same way.  The form carries a
per-conference ``SequenceNumber`` and is signed with the account's auth token
(``X-Twilio-Signature``).
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

import httpx

from ..events.signatures import twilio_signature
from ..events.vocabulary import TWILIO_DEFAULT_SUBSCRIPTION, TWILIO_SUBSCRIPTIONS
from .resources import rfc2822
from .state import Conference, Participant, State

logger = logging.getLogger(__name__)

SUBSCRIPTION = "status_callback"
"""Key of a conference's :class:`Subscription` in ``Conference.options``."""
SEQUENCE = "status_callback_sequence"
CALLBACK_TIMEOUT = 5.0
FORM = "application/x-www-form-urlencoded"

# <Conference> markup attributes -> the participant API's subscription inputs.
_MARKUP_SUBSCRIPTION = {
    "statusCallback": "ConferenceStatusCallback",
    "statusCallbackMethod": "ConferenceStatusCallbackMethod",
    "statusCallbackEvent": "ConferenceStatusCallbackEvent",
}


@dataclass(frozen=True)
class Subscription:
    """Where a conference's events go, and which ones."""

    url: str
    method: str
    events: frozenset[str]


def subscribe(conference: Conference, options: Mapping[str, object]) -> None:
    """Record a joining participant's callback settings, if it is the conference's first."""
    url = options.get("ConferenceStatusCallback")
    if conference.participants or not isinstance(url, str) or not url:
        return
    names = options.get("ConferenceStatusCallbackEvent") or TWILIO_DEFAULT_SUBSCRIPTION
    assert isinstance(names, list | tuple)
    events = frozenset(e for name in names for e in TWILIO_SUBSCRIPTIONS.get(str(name), ()))
    method = str(options.get("ConferenceStatusCallbackMethod") or "POST")
    conference.options[SUBSCRIPTION] = Subscription(url, method, events)


def subscribe_markup(conference: Conference, attributes: Mapping[str, str]) -> None:
    """:func:`subscribe` from a ``<Conference>`` noun's attributes (events space-separated)."""
    options: dict[str, object] = {
        name: attributes[attribute]
        for attribute, name in _MARKUP_SUBSCRIPTION.items()
        if attribute in attributes
    }
    if "ConferenceStatusCallbackEvent" in options:
        options["ConferenceStatusCallbackEvent"] = str(
            options["ConferenceStatusCallbackEvent"]
        ).split()
    subscribe(conference, options)


@dataclass(frozen=True)
class Delivery:
    """One signed callback request (``body`` is None for a GET)."""

    method: str
    url: str
    body: bytes | None
    headers: Mapping[str, str] = field(default_factory=dict)


class StatusCallbacks:
    """What one provider posts for a state transition: none, one or several deliveries.

    Called under the state lock, so an implementation snapshots what it needs now.
    """

    def deliveries(
        self,
        event: str,
        conference: Conference,
        participant: Participant | None,
        extra: Mapping[str, str],
    ) -> list[Delivery]:
        """The requests the provider sends for ``event`` (Twilio's name for it)."""
        raise NotImplementedError


class CallbackSender:
    """Posts deliveries in order from one daemon thread; failures are logged."""

    def __init__(self) -> None:
        self._queue: queue.Queue[Delivery] = queue.Queue()
        self._idle = threading.Condition()
        self._outstanding = 0
        self._thread: threading.Thread | None = None
        self.sent = 0
        self.failed = 0

    def submit(self, delivery: Delivery) -> None:
        """Queue a delivery (never blocks on the network)."""
        with self._idle:
            self._outstanding += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="confsql-emulator-callbacks", daemon=True
                )
                self._thread.start()
                atexit.register(self.drain, 2.0)  # a short-lived process still delivers
        self._queue.put(delivery)

    def reset(self) -> None:
        """Let queued deliveries finish, then zero the counters."""
        self.drain()
        self.sent = self.failed = 0

    def drain(self, timeout: float = 5.0) -> bool:
        """Wait until every queued delivery was attempted; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._outstanding == 0, timeout)

    def _run(self) -> None:
        with httpx.Client(timeout=CALLBACK_TIMEOUT) as client:
            while True:
                delivery = self._queue.get()
                try:
                    self._post(client, delivery)
                finally:
                    with self._idle:
                        self._outstanding -= 1
                        self._idle.notify_all()

    def _post(self, client: httpx.Client, delivery: Delivery) -> None:
        try:
            response = client.request(
                delivery.method,
                delivery.url,
                content=delivery.body,
                headers=dict(delivery.headers),
            )
        except httpx.HTTPError as exc:
            self.failed += 1
            logger.warning("conference callback to %s failed: %s", delivery.url, exc)
            return
        if response.is_success:
            self.sent += 1
        else:
            self.failed += 1
            logger.warning(
                "conference callback to %s answered %s", delivery.url, response.status_code
            )


def flag(value: bool) -> str:
    """A boolean as the form fields spell it."""
    return "true" if value else "false"


class TwilioCallbacks(StatusCallbacks):
    """Twilio's conference status callbacks: the subscribed events of each conference, as
    signed form fields (a signed query string for a GET)."""

    signature_headers: tuple[str, ...] = ("X-Twilio-Signature",)

    def __init__(self, state: State) -> None:
        self.state = state

    def signing_key(self, account_sid: str) -> str | None:
        """The key that signs the account's callbacks: its auth token."""
        account = self.state.accounts.get(account_sid)
        return account.auth_token if account is not None else None

    def form(
        self,
        event: str,
        conference: Conference,
        participant: Participant | None,
        extra: Mapping[str, str],
    ) -> list[tuple[str, str]]:
        """The callback's fields, with the conference's next ``SequenceNumber``."""
        sequence = int(str(conference.options.get(SEQUENCE, 0))) + 1
        conference.options[SEQUENCE] = sequence
        form = [
            ("ConferenceSid", conference.sid),
            ("FriendlyName", conference.friendly_name or ""),
            ("AccountSid", conference.account_sid),
            ("SequenceNumber", str(sequence)),
            ("Timestamp", rfc2822(self.state.now())),
            ("StatusCallbackEvent", event),
        ]
        if participant is not None:
            form += [
                ("CallSid", participant.call_sid),
                ("Muted", flag(participant.muted)),
                ("Hold", flag(participant.hold)),
                ("Coaching", flag(participant.coaching)),
                ("EndConferenceOnExit", flag(participant.end_conference_on_exit)),
                ("StartConferenceOnEnter", flag(participant.start_conference_on_enter)),
            ]
            if participant.label is not None:
                form.append(("ParticipantLabel", participant.label))
        return form + sorted(extra.items())

    def deliveries(
        self,
        event: str,
        conference: Conference,
        participant: Participant | None,
        extra: Mapping[str, str],
    ) -> list[Delivery]:
        subscription = conference.options.get(SUBSCRIPTION)
        if not isinstance(subscription, Subscription) or event not in subscription.events:
            return []
        key = self.signing_key(conference.account_sid)
        if key is None:
            logger.warning(
                "no signing key for account %s: callback not sent", conference.account_sid
            )
            return []
        return [self.signed(key, subscription, self.form(event, conference, participant, extra))]

    def signed(
        self, key: str, subscription: Subscription, form: Sequence[tuple[str, str]]
    ) -> Delivery:
        """The request carrying ``form`` to the subscription, with its signature headers."""
        url = subscription.url
        if subscription.method == "GET":
            url += ("&" if "?" in url else "?") + urlencode(form)
            signed: Sequence[tuple[str, str]] = []
            body: bytes | None = None
            headers: dict[str, str] = {}
        else:
            signed = form
            body = urlencode(form).encode()
            headers = {"Content-Type": FORM}
        signature = twilio_signature(key, url, signed)
        headers.update({name: signature for name in self.signature_headers})
        return Delivery(subscription.method, url, body, headers)


class Notifier:
    """The state's listener: queues what the wire's :class:`StatusCallbacks` would post."""

    def __init__(self, callbacks: StatusCallbacks, sender: CallbackSender) -> None:
        self.callbacks = callbacks
        self.sender = sender

    def __call__(
        self,
        event: str,
        conference: Conference,
        participant: Participant | None,
        extra: dict[str, str],
    ) -> None:
        """Called under the state lock: the deliveries are built now and sent later."""
        for delivery in self.callbacks.deliveries(event, conference, participant, extra):
            self.sender.submit(delivery)
