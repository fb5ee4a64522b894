"""Conference status callbacks: the emulator posts signed events, as Twilio does.

The first participant added to a conference decides its callback: the URL in
``ConferenceStatusCallback``, the method in ``ConferenceStatusCallbackMethod`` (POST) and the
events in ``ConferenceStatusCallbackEvent`` (``start end`` when omitted); later
participants' values are ignored.  :class:`Notifier` turns the state's transitions into form
fields with a per-conference ``SequenceNumber`` and signs them with the account's auth token
(``X-Twilio-Signature``); :class:`CallbackSender` posts them from a background thread, so
requests to the API never wait for a callback, and a failed callback is logged, not raised.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Subscription:
    """Where a conference's events go, and which ones."""

    url: str
    method: str
    events: frozenset[str]


def subscribe(conference: Conference, options: dict[str, object]) -> None:
    """Record a joining participant's callback settings, if it is the conference's first."""
    url = options.get("ConferenceStatusCallback")
    if conference.participants or not isinstance(url, str) or not url:
        return
    names = options.get("ConferenceStatusCallbackEvent") or TWILIO_DEFAULT_SUBSCRIPTION
    assert isinstance(names, list | tuple)
    events = frozenset(e for name in names for e in TWILIO_SUBSCRIPTIONS.get(str(name), ()))
    method = str(options.get("ConferenceStatusCallbackMethod") or "POST")
    conference.options[SUBSCRIPTION] = Subscription(url, method, events)


@dataclass(frozen=True)
class Delivery:
    """One signed callback request."""

    method: str
    url: str
    form: list[tuple[str, str]]
    signature: str


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
        headers = {"X-Twilio-Signature": delivery.signature}
        try:
            if delivery.method == "GET":
                response = client.get(delivery.url, headers=headers)
            else:
                response = client.post(delivery.url, data=dict(delivery.form), headers=headers)
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


def _flag(value: bool) -> str:
    return "true" if value else "false"


class Notifier:
    """The state's listener: builds and queues a callback for each subscribed event."""

    def __init__(self, state: State, sender: CallbackSender) -> None:
        self.state = state
        self.sender = sender

    def __call__(
        self,
        event: str,
        conference: Conference,
        participant: Participant | None,
        extra: dict[str, str],
    ) -> None:
        """Called under the state lock: snapshot the fields now, send later."""
        subscription = conference.options.get(SUBSCRIPTION)
        if not isinstance(subscription, Subscription) or event not in subscription.events:
            return
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
                ("Muted", _flag(participant.muted)),
                ("Hold", _flag(participant.hold)),
                ("Coaching", _flag(participant.coaching)),
                ("EndConferenceOnExit", _flag(participant.end_conference_on_exit)),
                ("StartConferenceOnEnter", _flag(participant.start_conference_on_enter)),
            ]
            if participant.label is not None:
                form.append(("ParticipantLabel", participant.label))
        form += sorted(extra.items())
        url = subscription.url
        if subscription.method == "GET":
            url += ("&" if "?" in url else "?") + urlencode(form)
            signed: list[tuple[str, str]] = []
        else:
            signed = form
        token = self.state.accounts[conference.account_sid].auth_token
        signature = twilio_signature(token, url, signed)
        self.sender.submit(Delivery(subscription.method, url, form, signature))
