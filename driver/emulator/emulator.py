"""The :class:`Emulator`: state, knobs and a Python API for tests."""

from __future__ import annotations

from datetime import datetime

from .callbacks import CallbackSender, Notifier
from .faults import FaultPlan, RequestLog
from .limits import Limits
from .resources import conference_json, participant_json
from .sids import ACCOUNT_SID, API_KEY_SID
from .state import (
    CONFERENCE_STATUSES,
    LIVE_PARTICIPANT_STATUSES,
    PARTICIPANT_STATUSES,
    REASONS_ENDED,
    Clock,
    Conference,
    State,
    system_clock,
)
from .wire import wire_class


class Emulator:
    """A stateful, in-memory conference API, served in one provider's wire format.

    A fresh emulator has its wire's demo account (on Twilio's wire
    :data:`DEMO_ACCOUNT_SID` with :data:`DEMO_AUTH_TOKEN`) and no conferences.  Serve it with
    :func:`driver.emulator.create_app` or :class:`driver.emulator.EmulatorServer`.

    Knobs: ``latency`` (seconds added to every request), ``faults``
    (:class:`FaultPlan`), ``auto_advance`` (each request advances state one
    step), ``clock`` (callable returning an aware UTC datetime).  Every request
    is recorded in ``requests``.  Conference events are posted, signed, where
    the provider would post them (Twilio: to the ``ConferenceStatusCallback``
    of a conference's first participant), by ``callbacks`` (see
    :mod:`driver.emulator.callbacks`; ``callbacks.drain()`` waits for them).
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        auto_advance: bool = False,
        latency: float = 0.0,
        wire: str = "twilio",
    ) -> None:
        self.state = State(clock or system_clock)
        # The provider wire format served (see driver.emulator.wire); Twilio by default.
        # It registers its demo account (and its identifier style) on the state.
        self.wire = wire_class(wire)(self)
        self.demo_account = self.wire.demo_account
        self.callbacks = CallbackSender()
        self.state.listener = Notifier(self.wire.status_callbacks(), self.callbacks)
        self.faults = FaultPlan()
        self.requests = RequestLog()
        self.latency = latency
        self.auto_advance = auto_advance
        # Concurrency and rate limits of the account (off until set; see .limits).
        self.limits = Limits()
        self._defaults = (self.state.clock, auto_advance, latency)

    # -- knobs --------------------------------------------------------------------

    @property
    def clock(self) -> Clock:
        """The time source for ``date_created``/``date_updated``."""
        return self.state.clock

    @clock.setter
    def clock(self, value: Clock) -> None:
        self.state.clock = value

    def reset(self) -> None:
        """Clear data, faults, the log and callback counters; keep accounts; restore knobs."""
        self.callbacks.reset()
        self.wire.reset()
        self.state.clear()
        self.faults.clear()
        self.requests.clear()
        self.state.clock, self.auto_advance, self.latency = self._defaults
        self.limits.reset()

    def advance(self, steps: int = 1) -> None:
        """Progress state: queued → ringing → connected; init → in-progress."""
        self.state.advance(steps)

    # -- accounts -------------------------------------------------------------------

    def add_account(self, account_sid: str, auth_token: str) -> None:
        """Add an account usable with HTTP Basic ``account_sid:auth_token``."""
        if not ACCOUNT_SID.match(account_sid):
            raise ValueError(f"not an account SID: {account_sid!r}")
        self.state.add_account(account_sid, auth_token)

    def add_api_key(self, account_sid: str, key_sid: str, secret: str) -> None:
        """Add an API key (``SK…``) that authenticates as ``account_sid``."""
        if not API_KEY_SID.match(key_sid):
            raise ValueError(f"not an API key SID: {key_sid!r}")
        if account_sid not in self.state.accounts:
            raise ValueError(f"unknown account {account_sid!r}")
        self.state.add_api_key(account_sid, key_sid, secret)

    # -- seeding ----------------------------------------------------------------------

    def seed_demo(self) -> None:
        """Add a small, deterministic set of live and completed conferences."""
        from .seed import seed_demo

        seed_demo(self)

    def seed_bulk(
        self,
        conferences: int = 5000,
        participants_per: int = 0,
        status: str = "completed",
        account_sid: str | None = None,
    ) -> list[str]:
        """Add many conferences quickly; returns their SIDs (newest first)."""
        from .seed import seed_bulk

        return seed_bulk(self, conferences, participants_per, status, account_sid)

    def create_conference(
        self,
        friendly_name: str | None,
        status: str = "in-progress",
        account_sid: str | None = None,
        date_created: datetime | None = None,
        *,
        date_updated: datetime | None = None,
        region: str = "us1",
        reason_conference_ended: str | None = None,
    ) -> dict[str, object]:
        """Create a conference directly (no participants); returns its resource JSON.

        A ``completed`` conference gets ``reason_conference_ended`` (default
        ``last-participant-left``).
        """
        if status not in CONFERENCE_STATUSES:
            raise ValueError(f"status must be one of {CONFERENCE_STATUSES}")
        account = self._account(account_sid)
        with self.state.lock:
            conference = self.state.new_conference(
                account,
                friendly_name,
                status,
                region=region,
                date_created=date_created,
                date_updated=date_updated,
            )
            if status == "completed":
                reason = reason_conference_ended or "last-participant-left"
                if reason not in REASONS_ENDED:
                    raise ValueError(f"reason_conference_ended must be one of {REASONS_ENDED}")
                conference.reason_conference_ended = reason
                conference.changed()
            return conference_json(conference)

    def add_participant(
        self,
        conference_sid: str,
        label: str | None = None,
        muted: bool = False,
        hold: bool = False,
        coaching: bool = False,
        status: str = "connected",
        account_sid: str | None = None,
        *,
        call_sid_to_coach: str | None = None,
        end_conference_on_exit: bool = False,
        start_conference_on_enter: bool = True,
        date_created: datetime | None = None,
    ) -> dict[str, object]:
        """Put a participant straight into a conference; returns its resource JSON.

        A ``connected`` participant starts an ``init`` conference.  Live
        participants need a live conference and a label not already in use.
        """
        if status not in PARTICIPANT_STATUSES:
            raise ValueError(f"status must be one of {PARTICIPANT_STATUSES}")
        with self.state.lock:
            conference = self._conference(conference_sid)
            if account_sid is not None and account_sid != conference.account_sid:
                raise ValueError(f"conference {conference_sid} belongs to {conference.account_sid}")
            live = status in LIVE_PARTICIPANT_STATUSES
            if live and not conference.live:
                raise ValueError(f"conference {conference_sid} is completed")
            if live and label is not None and self.state.label_in_use(conference, label):
                raise ValueError(f"label {label!r} is in use in conference {conference_sid}")
            participant = self.state.new_participant(
                conference,
                status,
                label=label,
                muted=muted,
                hold=hold,
                coaching=coaching or call_sid_to_coach is not None,
                call_sid_to_coach=call_sid_to_coach,
                end_conference_on_exit=end_conference_on_exit,
                start_conference_on_enter=start_conference_on_enter,
                date_created=date_created,
            )
            return participant_json(participant)

    def create_call(self, from_: str, to: str, account_sid: str | None = None) -> str:
        """A live call in no conference (for JoinConference tests); returns its SID."""
        with self.state.lock:
            return self.state.new_call(self._account(account_sid), from_, to).sid

    def hang_up(self, call_sid: str) -> None:
        """The participant on ``call_sid`` hangs up (ends the conference when Twilio would)."""
        with self.state.lock:
            participant = self.state.calls.get(call_sid)
            if participant is None or not participant.live:
                raise KeyError(f"no live participant on call {call_sid!r}")
            self.state.remove_participant(participant, kicked=False)

    def speech(self, call_sid: str, *, speaking: bool) -> None:
        """The participant on ``call_sid`` starts or stops talking (a ``speaker`` callback)."""
        with self.state.lock:
            participant = self.state.calls.get(call_sid)
            if participant is None or participant.status != "connected":
                raise KeyError(f"no connected participant on call {call_sid!r}")
            event = "participant-speech-start" if speaking else "participant-speech-stop"
            conference = self.state.conferences[participant.conference_sid]
            self.state.notify(event, conference, participant)

    # -- snapshots --------------------------------------------------------------------

    def conferences(self, account_sid: str | None = None) -> list[dict[str, object]]:
        """Every conference of the account (default: the demo account), newest first."""
        account = self._account(account_sid)
        with self.state.lock:
            return [self.wire.conference_json(c) for c in self.state.by_account.get(account, [])]

    def live_participants(self, conference_sid: str) -> list[dict[str, object]]:
        """The participants a list of the conference shows, as the wire renders them."""
        with self.state.lock:
            conference = self._conference(conference_sid)
            listed = [p for p in conference.participants if self.wire.lists(p)]
            return [self.wire.participant_json(p) for p in listed]

    def conference(self, conference_sid: str) -> dict[str, object]:
        """One conference's resource JSON (any account)."""
        with self.state.lock:
            return conference_json(self._conference(conference_sid))

    def participants(self, conference_sid: str) -> list[dict[str, object]]:
        """Every participant of a conference, in join order, including ones that left."""
        with self.state.lock:
            return [participant_json(p) for p in self._conference(conference_sid).participants]

    # -- helpers --------------------------------------------------------------------

    def _account(self, account_sid: str | None) -> str:
        account = account_sid or self.demo_account
        if account not in self.state.accounts:
            raise ValueError(f"unknown account {account!r}")
        return account

    def _conference(self, conference_sid: str) -> Conference:
        conference = self.state.conferences.get(conference_sid)
        if conference is None:
            raise KeyError(f"unknown conference {conference_sid!r}")
        return conference
