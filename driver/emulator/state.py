"""In-memory model of accounts, conferences and participants.

Everything here is plain data plus the transitions the API can cause.  The
:class:`State` guards all of it with one re-entrant lock; callers take
``state.lock`` around any sequence of reads and writes that must be atomic.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .sids import SidFactory

Clock = Callable[[], datetime]
# Told of conference events (see driver.emulator.callbacks): event name, conference,
# participant (None for conference-wide events) and extra callback fields.
Listener = Callable[[str, "Conference", "Participant | None", dict[str, str]], None]

CONFERENCE_STATUSES = ("init", "in-progress", "completed")
PARTICIPANT_STATUSES = ("queued", "connecting", "ringing", "connected", "complete", "failed")
LIVE_PARTICIPANT_STATUSES = frozenset({"queued", "connecting", "ringing", "connected"})
REASONS_ENDED = (
    "conference-ended-via-api",
    "participant-with-end-conference-on-exit-left",
    "participant-with-end-conference-on-exit-kicked",
    "last-participant-kicked",
    "last-participant-left",
)
REGIONS = ("us1", "us2", "ie1", "de1", "sg1", "br1", "au1", "jp1")

# Why the conference ended -> ReasonParticipantLeft of everyone it took with it.
_LEFT_BECAUSE = {"conference-ended-via-api": "conference_ended_via_api"}
_ENDED_BY = {
    "conference-ended-via-api": "Conference ended via API",
    "participant-with-end-conference-on-exit-left": "Participant with endConferenceOnExit left",
    "participant-with-end-conference-on-exit-kicked": "Participant with endConferenceOnExit kicked",
    "last-participant-left": "Last participant left",
    "last-participant-kicked": "Last participant kicked",
}

# One step of deterministic progression for a participant still being dialled.
NEXT_PARTICIPANT_STATUS = {"queued": "ringing", "connecting": "ringing", "ringing": "connected"}


def system_clock() -> datetime:
    """The real time, as an aware UTC datetime."""
    return datetime.now(UTC)


def to_utc_second(value: datetime) -> datetime:
    """Normalise a datetime to aware UTC with whole seconds (naive means UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0)


@dataclass(slots=True)
class Account:
    """An account and its credentials."""

    sid: str
    auth_token: str


@dataclass(slots=True, eq=False)
class Participant:
    """A call in a conference.

    ``rendered`` caches the list-item encoding (see
    :func:`driver.emulator.resources.participant_item`); whoever changes a
    field the resource shows must call :meth:`changed` afterwards.
    """

    call_sid: str
    account_sid: str
    conference_sid: str
    index: int
    status: str
    date_created: datetime
    date_updated: datetime
    label: str | None = None
    muted: bool = False
    hold: bool = False
    coaching: bool = False
    call_sid_to_coach: str | None = None
    end_conference_on_exit: bool = False
    start_conference_on_enter: bool = True
    queue_time_ms: int = 0
    options: dict[str, object] = field(default_factory=dict)
    rendered: object = field(default=None, init=False, repr=False, compare=False)

    @property
    def live(self) -> bool:
        """Whether the participant is still in (or joining) its conference."""
        return self.status in LIVE_PARTICIPANT_STATUSES

    def changed(self) -> None:
        """Drop the cached rendering after a change to a field the resource shows."""
        self.rendered = None

    def update(
        self, flags: Mapping[str, bool | None], coaching: bool | None, coach: str | None
    ) -> None:
        """Apply an update's Muted, Hold, EndConferenceOnExit and BeepOnExit (``None``
        leaves one as it is) and its coaching (``coach``: the call coached, if given)."""
        if flags["Muted"] is not None:
            self.muted = flags["Muted"]
        if flags["Hold"] is not None:
            self.hold = flags["Hold"]
        if flags["EndConferenceOnExit"] is not None:
            self.end_conference_on_exit = flags["EndConferenceOnExit"]
        if flags["BeepOnExit"] is not None:
            self.options["BeepOnExit"] = flags["BeepOnExit"]
        if coaching is not None:
            self.coaching = coaching
            self.call_sid_to_coach = (coach or self.call_sid_to_coach) if coaching else None


@dataclass(slots=True, eq=False)
class Conference:
    """A conference room and its participants (in join order).

    ``rendered`` caches the list-item encoding (see
    :func:`driver.emulator.resources.conference_item`); whoever changes a
    field the resource shows must call :meth:`changed` afterwards.
    """

    sid: str
    account_sid: str
    friendly_name: str | None
    status: str
    region: str
    date_created: datetime
    date_updated: datetime
    reason_conference_ended: str | None = None
    call_sid_ending_conference: str | None = None
    participants: list[Participant] = field(default_factory=list)
    options: dict[str, object] = field(default_factory=dict)
    rendered: object = field(default=None, init=False, repr=False, compare=False)

    @property
    def live(self) -> bool:
        """Whether the conference has not completed."""
        return self.status != "completed"

    def changed(self) -> None:
        """Drop the cached rendering after a change to a field the resource shows."""
        self.rendered = None

    @property
    def sort_key(self) -> tuple[int, str]:
        """Listing order: newest ``date_created`` first, ties by SID."""
        return (-int(self.date_created.timestamp()), self.sid)

    def live_participants(self) -> list[Participant]:
        """Participants that have not left, in join order."""
        return [p for p in self.participants if p.live]


@dataclass(slots=True, eq=False)
class Call:
    """A live call that is not (or not yet) in a conference.

    A call joins a conference as a :class:`Participant` with the same call
    SID (see :meth:`State.join_call`); moving it to another conference ends
    its participation in the first.
    """

    sid: str
    account_sid: str
    from_: str
    to: str
    status: str  # queued | ringing | in-progress | completed
    date_created: datetime
    options: dict[str, object] = field(default_factory=dict)


def conference_sort_key(conference: Conference) -> tuple[int, str]:
    """Key function for bisecting an account's conference list."""
    return conference.sort_key


class State:
    """All emulator data, indexed for the lookups the API needs."""

    def __init__(self, clock: Clock = system_clock) -> None:
        self.lock = threading.RLock()
        self.clock: Clock = clock
        self.sids = SidFactory()
        self.accounts: dict[str, Account] = {}
        self.api_keys: dict[str, tuple[str, str]] = {}
        self.tokens: dict[str, str] = {}  # bearer token -> account
        self.conferences: dict[str, Conference] = {}
        self.by_account: dict[str, list[Conference]] = {}
        self.calls: dict[str, Participant] = {}
        self.live_calls: dict[str, Call] = {}  # calls placed or redirected, by call SID
        self.pending: dict[str, Participant] = {}
        self._live_by_name: dict[tuple[str, str], Conference] = {}
        self.listener: Listener | None = None

    # -- housekeeping -------------------------------------------------------

    def now(self) -> datetime:
        """The clock's current time, normalised to whole UTC seconds."""
        return to_utc_second(self.clock())

    def notify(
        self,
        event: str,
        conference: Conference,
        participant: Participant | None = None,
        fields: dict[str, str] | None = None,
    ) -> None:
        """Tell the listener (conference status callbacks) that ``event`` happened."""
        if self.listener is not None:
            self.listener(event, conference, participant, fields or {})

    def clear(self) -> None:
        """Drop conferences and participants (accounts stay) and restart SIDs."""
        with self.lock:
            self.conferences.clear()
            self.by_account = {sid: [] for sid in self.accounts}
            self.calls.clear()
            self.live_calls.clear()
            self.pending.clear()
            self._live_by_name.clear()
            self.sids.reset()

    # -- accounts -----------------------------------------------------------

    def add_account(self, account_sid: str, auth_token: str) -> None:
        """Register (or re-key) an account."""
        with self.lock:
            self.accounts[account_sid] = Account(account_sid, auth_token)
            self.by_account.setdefault(account_sid, [])

    def add_api_key(self, account_sid: str, key_sid: str, secret: str) -> None:
        """Register an API key that authenticates as ``account_sid``."""
        with self.lock:
            self.api_keys[key_sid] = (account_sid, secret)

    def add_token(self, token: str, account_sid: str) -> None:
        """Register a bearer token (an API key) that authenticates as ``account_sid``."""
        with self.lock:
            self.tokens[token] = account_sid

    def authenticate_token(self, token: str) -> str | None:
        """The account a bearer token proves, or ``None``."""
        with self.lock:
            account = self.tokens.get(token)
            return account if account in self.accounts else None

    def authenticate(self, username: str, password: str) -> str | None:
        """The account SID these Basic credentials prove, or ``None``."""
        with self.lock:
            account = self.accounts.get(username)
            if account is not None:
                return account.sid if account.auth_token == password else None
            key = self.api_keys.get(username)
            if key is not None and key[1] == password and key[0] in self.accounts:
                return key[0]
            return None

    # -- conferences ----------------------------------------------------------

    def new_conference(
        self,
        account_sid: str,
        friendly_name: str | None,
        status: str,
        *,
        region: str = "us1",
        date_created: datetime | None = None,
        date_updated: datetime | None = None,
    ) -> Conference:
        """Create and index a conference."""
        with self.lock:
            created = to_utc_second(date_created) if date_created else self.now()
            updated = to_utc_second(date_updated) if date_updated else created
            conference = Conference(
                sid=self.sids.next("CF"),
                account_sid=account_sid,
                friendly_name=friendly_name,
                status=status,
                region=region,
                date_created=created,
                date_updated=updated,
            )
            self.conferences[conference.sid] = conference
            listing = self.by_account.setdefault(account_sid, [])
            bisect.insort(listing, conference, key=conference_sort_key)
            self._index_name(conference)
            return conference

    def add_conferences_sorted(self, conferences: Iterable[Conference]) -> None:
        """Index many conferences at once (one sort instead of many inserts)."""
        with self.lock:
            touched: set[str] = set()
            for conference in conferences:
                self.conferences[conference.sid] = conference
                self.by_account.setdefault(conference.account_sid, []).append(conference)
                touched.add(conference.account_sid)
                self._index_name(conference)
            for account_sid in touched:
                self.by_account[account_sid].sort(key=conference_sort_key)

    def _index_name(self, conference: Conference) -> None:
        if conference.live and conference.friendly_name is not None:
            self._live_by_name[(conference.account_sid, conference.friendly_name)] = conference

    def conference(self, account_sid: str, sid: str) -> Conference | None:
        """The conference ``sid`` if it belongs to ``account_sid``."""
        conference = self.conferences.get(sid)
        if conference is None or conference.account_sid != account_sid:
            return None
        return conference

    def live_conference_named(self, account_sid: str, name: str) -> Conference | None:
        """The live conference with this friendly name, if any."""
        conference = self._live_by_name.get((account_sid, name))
        return conference if conference is not None and conference.live else None

    def conference_position(self, conference: Conference) -> int:
        """Index of ``conference`` in its account's listing order."""
        listing = self.by_account[conference.account_sid]
        return bisect.bisect_left(listing, conference.sort_key, key=conference_sort_key)

    def end_conference(self, conference: Conference, reason: str, call_sid: str | None) -> None:
        """Complete a conference and every participant still in it."""
        now = self.now()
        conference.status = "completed"
        conference.reason_conference_ended = reason
        conference.call_sid_ending_conference = call_sid
        conference.date_updated = now
        conference.changed()
        left_because = _LEFT_BECAUSE.get(reason, "moderator_ended_conference")
        for participant in conference.participants:
            if participant.live:
                self._set_status(participant, "complete", now, left_because)
        key = (conference.account_sid, conference.friendly_name or "")
        if self._live_by_name.get(key) is conference:
            del self._live_by_name[key]
        extra = {"ReasonConferenceEnded": reason, "Reason": _ENDED_BY.get(reason, reason)}
        if call_sid is not None:
            extra["CallSidEndingConference"] = call_sid
            ending = self.calls.get(call_sid)
            if ending is not None and ending.label is not None:
                extra["ParticipantLabelEndingConference"] = ending.label
        self.notify("conference-end", conference, None, extra)

    # -- participants -----------------------------------------------------------

    def new_participant(
        self,
        conference: Conference,
        status: str,
        *,
        label: str | None = None,
        muted: bool = False,
        hold: bool = False,
        coaching: bool = False,
        call_sid_to_coach: str | None = None,
        end_conference_on_exit: bool = False,
        start_conference_on_enter: bool = True,
        options: dict[str, object] | None = None,
        date_created: datetime | None = None,
        call_sid: str | None = None,
    ) -> Participant:
        """Create a participant in ``conference`` (on a new call unless ``call_sid`` is given)."""
        with self.lock:
            now = self.now()
            created = to_utc_second(date_created) if date_created else now
            participant = Participant(
                call_sid=call_sid or self.sids.next("CA"),
                account_sid=conference.account_sid,
                conference_sid=conference.sid,
                index=len(conference.participants),
                status=status,
                date_created=created,
                date_updated=created,
                label=label,
                muted=muted,
                hold=hold,
                coaching=coaching,
                call_sid_to_coach=call_sid_to_coach,
                end_conference_on_exit=end_conference_on_exit,
                start_conference_on_enter=start_conference_on_enter,
                options=options or {},
            )
            conference.participants.append(participant)
            self.calls[participant.call_sid] = participant
            if status in NEXT_PARTICIPANT_STATUS:
                self.pending[participant.call_sid] = participant
            if status == "connected":
                self._on_connected(participant, now)
            return participant

    # -- calls ------------------------------------------------------------------

    def new_call(self, account_sid: str, from_: str, to: str, status: str = "in-progress") -> Call:
        """A live call outside any conference (e.g. one placed by the API)."""
        with self.lock:
            call = Call(self.sids.next("CA"), account_sid, from_, to, status, self.now())
            self.live_calls[call.sid] = call
            return call

    def join_call(self, call_sid: str, conference: Conference, **fields: Any) -> Participant:
        """Move a live call into ``conference`` (leaving the one it is in, if any).

        ``fields`` are :meth:`new_participant`'s keyword arguments.
        """
        with self.lock:
            current = self.calls.get(call_sid)
            if current is not None and current.live:
                if current.conference_sid == conference.sid:
                    return current
                self.remove_participant(current, kicked=False)
            call = self.live_calls.get(call_sid)
            if call is not None:
                call.status = "in-progress"
            return self.new_participant(conference, "connected", call_sid=call_sid, **fields)

    def call_is_live(self, call_sid: str) -> bool:
        """Whether ``call_sid`` is a live call (in a conference or not)."""
        with self.lock:
            participant = self.calls.get(call_sid)
            if participant is not None and participant.live:
                return True
            call = self.live_calls.get(call_sid)
            return call is not None and call.status != "completed"

    def participant(self, conference: Conference, ref: str) -> Participant | None:
        """A live participant of ``conference`` by call SID or label."""
        found = self.calls.get(ref)
        if found is not None and found.conference_sid == conference.sid and found.live:
            return found
        for candidate in conference.participants:
            if candidate.live and candidate.label == ref:
                return candidate
        return None

    def label_in_use(self, conference: Conference, label: str) -> bool:
        """Whether a live participant of ``conference`` already has ``label``."""
        return any(p.live and p.label == label for p in conference.participants)

    def remove_participant(self, participant: Participant, *, kicked: bool) -> None:
        """Take a participant out; end the conference when that is what Twilio does."""
        now = self.now()
        why = "participant_updated_via_api" if kicked else "participant_hung_up"
        self._set_status(participant, "complete", now, why)
        conference = self.conferences[participant.conference_sid]
        if not conference.live:
            return
        how = "kicked" if kicked else "left"
        if participant.end_conference_on_exit:
            reason = f"participant-with-end-conference-on-exit-{how}"
            self.end_conference(conference, reason, participant.call_sid)
        elif not any(p.live for p in conference.participants):
            self.end_conference(conference, f"last-participant-{how}", participant.call_sid)

    def _set_status(
        self, participant: Participant, status: str, now: datetime, why: str | None = None
    ) -> None:
        joined = participant.status == "connected"
        participant.status = status
        participant.date_updated = now
        participant.changed()
        if status not in NEXT_PARTICIPANT_STATUS:
            self.pending.pop(participant.call_sid, None)
        if joined and status == "complete":
            conference = self.conferences[participant.conference_sid]
            left = {"ParticipantCallStatus": "completed"}
            if why is not None:
                left["ReasonParticipantLeft"] = why
            self.notify("participant-leave", conference, participant, left)

    def _on_connected(self, participant: Participant, now: datetime) -> None:
        conference = self.conferences[participant.conference_sid]
        self.notify("participant-join", conference, participant)
        if conference.status == "init" and participant.start_conference_on_enter:
            conference.status = "in-progress"
            conference.date_updated = now
            conference.changed()
            self.notify("conference-start", conference)

    # -- progression ------------------------------------------------------------

    def advance(self, steps: int = 1) -> None:
        """Move every dialling participant one status along, ``steps`` times."""
        with self.lock:
            for _ in range(steps):
                if not self.pending:
                    return
                now = self.now()
                for participant in list(self.pending.values()):
                    new_status = NEXT_PARTICIPANT_STATUS[participant.status]
                    self._set_status(participant, new_status, now)
                    if new_status == "connected":
                        self._on_connected(participant, now)
