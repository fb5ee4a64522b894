"""The API operations: validate parameters, change state, render a reply.

Each function runs with the account already authenticated and answers a
:class:`Reply`; failures are raised as :class:`ApiError`.  Nothing here knows
about HTTP transport, faults or latency (see :mod:`driver.emulator.app`).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from .callbacks import subscribe
from .errors import (
    FROM_REQUIRED,
    LABEL_IN_USE,
    LABEL_INVALID,
    TO_REQUIRED,
    ApiError,
    invalid,
    not_found,
)
from .paging import PageRequest, envelope, select
from .params import Params
from .resources import conference_item, conference_json, participant_item, participant_json
from .sids import BYOC_SID, CALL_SID, CONFERENCE_SID, LOWER_CALL_SID
from .state import (
    CONFERENCE_STATUSES,
    LIVE_PARTICIPANT_STATUSES,
    REGIONS,
    Conference,
    Participant,
    State,
)

CONFERENCE_FILTERS = (
    "DateCreated",
    "DateCreated<",
    "DateCreated>",
    "DateUpdated",
    "DateUpdated<",
    "DateUpdated>",
    "FriendlyName",
    "Status",
)
PARTICIPANT_FILTERS = ("Muted", "Hold", "Coaching")

CREATE_BOOLEANS = (
    "Record",
    "Muted",
    "StartConferenceOnEnter",
    "EndConferenceOnExit",
    "EarlyMedia",
    "Coaching",
)
CREATE_METHODS = (
    "StatusCallbackMethod",
    "WaitMethod",
    "ConferenceStatusCallbackMethod",
    "RecordingStatusCallbackMethod",
    "ConferenceRecordingStatusCallbackMethod",
    "AmdStatusCallbackMethod",
)
CREATE_LISTS = (
    "StatusCallbackEvent",
    "ConferenceStatusCallbackEvent",
    "RecordingStatusCallbackEvent",
    "ConferenceRecordingStatusCallbackEvent",
)
CREATE_INTEGERS: dict[str, tuple[int | None, int | None]] = {
    "Timeout": (5, 600),
    "MaxParticipants": (2, 250),
    "TimeLimit": (1, 86400),
    "MachineDetectionTimeout": (None, None),
    "MachineDetectionSpeechThreshold": (None, None),
    "MachineDetectionSpeechEndThreshold": (None, None),
    "MachineDetectionSilenceTimeout": (None, None),
}
CREATE_STRINGS = (
    "From",
    "To",
    "StatusCallback",
    "Label",
    "Beep",
    "WaitUrl",
    "ConferenceRecord",
    "ConferenceTrim",
    "ConferenceStatusCallback",
    "RecordingChannels",
    "RecordingStatusCallback",
    "SipAuthUsername",
    "SipAuthPassword",
    "Region",
    "ConferenceRecordingStatusCallback",
    "CallSidToCoach",
    "JitterBufferSize",
    "Byoc",
    "CallerId",
    "CallReason",
    "RecordingTrack",
    "MachineDetection",
    "AmdStatusCallback",
    "Trim",
    "CallToken",
    "ClientNotificationUrl",
    "CallerDisplayName",
)
UPDATE_BOOLEANS = ("Muted", "Hold", "BeepOnExit", "EndConferenceOnExit", "Coaching")
UPDATE_METHODS = ("HoldMethod", "AnnounceMethod", "WaitMethod")
UPDATE_STRINGS = ("HoldUrl", "AnnounceUrl", "WaitUrl")
MAX_LABEL = 128

_COMPARE: dict[str, Callable[[date, date], bool]] = {
    "": operator.eq,
    "<": operator.le,
    ">": operator.ge,
}


@dataclass(frozen=True, slots=True)
class Reply:
    """A status code and an optional JSON body."""

    status: int
    body: dict[str, object] | None = None


# -- conferences ------------------------------------------------------------------


def list_conferences(state: State, account_sid: str, query: Params, path: str) -> Reply:
    """``GET /Conferences.json`` with filters, newest first."""
    request = PageRequest.parse(query)
    checks: list[Callable[[Conference], bool]] = []
    status = query.choice("Status", CONFERENCE_STATUSES)
    if status is not None:
        checks.append(lambda c: c.status == status)
    name = query.get("FriendlyName")
    if name:
        checks.append(lambda c: c.friendly_name == name)
    for base, attr in (("DateCreated", "date_created"), ("DateUpdated", "date_updated")):
        for suffix, compare in _COMPARE.items():
            day = query.day(base + suffix)
            if day is not None:
                checks.append(date_check(attr, compare, day))
    keep = None if not checks else (lambda c: all(check(c) for check in checks))

    with state.lock:
        listing = state.by_account.get(account_sid, [])

        def locate(sid: str) -> int | None:
            found = state.conference(account_sid, sid)
            return None if found is None else state.conference_position(found)

        window = select(listing, request, keep, locate)
        rendered = [conference_item(c) for c in window.items]
        sids = (window.items[0].sid, window.items[-1].sid) if window.items else None
    filters = [(k, query.get(k) or "") for k in CONFERENCE_FILTERS if query.get(k)]
    return Reply(
        200, envelope("conferences", path, filters, request, rendered, sids, window.has_next)
    )


def date_check(
    attr: str, compare: Callable[[date, date], bool], day: date
) -> Callable[[Conference], bool]:
    """A conference filter comparing the UTC date of ``attr`` with ``day``."""

    def check(conference: Conference) -> bool:
        value: datetime = getattr(conference, attr)
        return compare(value.date(), day)

    return check


def fetch_conference(state: State, account_sid: str, sid: str, path: str) -> Reply:
    """``GET /Conferences/{Sid}.json``."""
    with state.lock:
        return Reply(200, conference_json(_conference(state, account_sid, sid, path)))


def update_conference(state: State, account_sid: str, sid: str, form: Params, path: str) -> Reply:
    """``POST /Conferences/{Sid}.json``: end it (``Status=completed``) or announce."""
    status = form.choice("Status", ("completed",))
    announce_method = form.method("AnnounceMethod")
    with state.lock:
        conference = _conference(state, account_sid, sid, path)
        changing = status is not None or form.get("AnnounceUrl") is not None
        if changing and not conference.live:
            raise invalid(f"Conference {conference.sid} is not in progress and cannot be updated")
        announce = form.get("AnnounceUrl")
        if announce is not None:
            conference.options["AnnounceUrl"] = announce
            conference.options["AnnounceMethod"] = announce_method or "POST"
            # The announcement "plays" at once: its end is reported now.
            state.notify("announcement-end", conference, None, {"AnnounceUrl": announce})
        if status == "completed":
            state.end_conference(conference, "conference-ended-via-api", None)
        return Reply(200, conference_json(conference))


def _conference(state: State, account_sid: str, sid: str, path: str) -> Conference:
    conference = state.conference(account_sid, sid)
    if conference is None:
        raise not_found(path)
    return conference


# -- participants -----------------------------------------------------------------


def list_participants(
    state: State, account_sid: str, conference_sid: str, query: Params, path: str
) -> Reply:
    """``GET /Conferences/{ConferenceSid}/Participants.json``: live participants only."""
    request = PageRequest.parse(query)
    wanted = {name: query.boolean(name) for name in PARTICIPANT_FILTERS}
    muted, hold, coaching = wanted["Muted"], wanted["Hold"], wanted["Coaching"]

    def keep(p: Participant) -> bool:
        return (
            p.status in LIVE_PARTICIPANT_STATUSES
            and (muted is None or p.muted == muted)
            and (hold is None or p.hold == hold)
            and (coaching is None or p.coaching == coaching)
        )

    if muted is None and hold is None and coaching is None:

        def keep(p: Participant) -> bool:  # the unfiltered list: just who is live
            return p.status in LIVE_PARTICIPANT_STATUSES

    with state.lock:
        conference = _conference(state, account_sid, conference_sid, path)

        def locate(sid: str) -> int | None:
            found = state.calls.get(sid)
            return (
                found.index
                if found is not None and found.conference_sid == conference.sid
                else None
            )

        window = select(conference.participants, request, keep, locate)
        rendered = [participant_item(p) for p in window.items]
        sids = (window.items[0].call_sid, window.items[-1].call_sid) if window.items else None
    filters = [(k, query.get(k) or "") for k in PARTICIPANT_FILTERS if k in query]
    return Reply(
        200, envelope("participants", path, filters, request, rendered, sids, window.has_next)
    )


def create_participant(
    state: State, account_sid: str, conference_ref: str, form: Params, path: str
) -> Reply:
    """``POST /Conferences/{ConferenceSid}/Participants.json`` (201).

    ``conference_ref`` is a CF SID (must name a live conference) or a friendly
    name (joins the live conference of that name, or starts a new one).
    """
    options = _create_options(form)
    label = form.get("Label")
    if label is not None:
        _check_label(label)
    coach = form.get("CallSidToCoach")
    coaching = form.boolean("Coaching")
    if coaching is None:
        coaching = coach is not None
    if coaching and coach is None:
        raise invalid("CallSidToCoach is required when Coaching is true")

    with state.lock:
        if CONFERENCE_SID.match(conference_ref):
            conference: Conference | None = state.conference(account_sid, conference_ref)
            if conference is None or not conference.live:
                raise not_found(path)
        else:
            conference = state.live_conference_named(account_sid, conference_ref)
        if conference is not None:
            if label is not None and state.label_in_use(conference, label):
                raise ApiError(
                    400,
                    LABEL_IN_USE,
                    f"Participant label '{label}' is in use by another participant",
                )
            if coach is not None and state.participant(conference, coach) is None:
                raise invalid(
                    f"CallSidToCoach {coach} is not a participant of conference {conference.sid}"
                )
        elif coach is not None:
            raise invalid(
                f"CallSidToCoach {coach} is not a participant of conference {conference_ref}"
            )
        if conference is None:
            region = form.get("Region")
            conference = state.new_conference(
                account_sid, conference_ref, "init", region=region if region in REGIONS else "us1"
            )
            if "MaxParticipants" in options:
                conference.options["MaxParticipants"] = options["MaxParticipants"]
        subscribe(conference, options)
        participant = state.new_participant(
            conference,
            "queued",
            label=label,
            muted=bool(options.get("Muted", False)),
            hold=False,
            coaching=coaching,
            call_sid_to_coach=coach if coaching else None,
            end_conference_on_exit=bool(options.get("EndConferenceOnExit", False)),
            start_conference_on_enter=bool(options.get("StartConferenceOnEnter", True)),
            options=options,
        )
        return Reply(201, participant_json(participant, with_queue_time=True))


def _create_options(form: Params) -> dict[str, object]:
    """Validate every create-participant input; return the ones given, parsed."""
    for key, code in (("From", FROM_REQUIRED), ("To", TO_REQUIRED)):
        if not (form.get(key) or "").strip():
            raise ApiError(400, code, f"A '{key}' is required to add a participant")
    options: dict[str, object] = {}
    for key in CREATE_STRINGS:
        if key in form:
            options[key] = form.get(key)
    for key in CREATE_BOOLEANS:
        if key in form:
            options[key] = form.boolean(key)
    for key in CREATE_METHODS:
        if key in form:
            options[key] = form.method(key)
    for key, (low, high) in CREATE_INTEGERS.items():
        if key in form:
            options[key] = form.integer(key, low, high)
    for key in CREATE_LISTS:
        values = [item for value in form.get_list(key) for item in value.split()]
        if values:
            options[key] = values
    form.pattern("CallSidToCoach", CALL_SID, "Call SID")
    form.pattern("Byoc", BYOC_SID, "BYOC trunk SID")
    return options


def _check_label(label: str) -> None:
    if not label or len(label) > MAX_LABEL or "/" in label or LOWER_CALL_SID.match(label):
        raise ApiError(
            400,
            LABEL_INVALID,
            "Label is invalid: it must be 1 to 128 characters, must not look like a Call SID "
            "and must not contain '/'",
        )


def fetch_participant(
    state: State, account_sid: str, conference_sid: str, ref: str, path: str
) -> Reply:
    """``GET .../Participants/{CallSid}.json`` (CallSid or label)."""
    with state.lock:
        return Reply(
            200, participant_json(_participant(state, account_sid, conference_sid, ref, path))
        )


def update_participant(
    state: State,
    account_sid: str,
    conference_sid: str,
    ref: str,
    form: Params,
    path: str,
    *,
    call_sid: re.Pattern[str] = CALL_SID,
) -> Reply:
    """``POST .../Participants/{CallSid}.json``: mute, hold, coach, announce...

    ``call_sid`` is the shape of the wire's call ids (for ``CallSidToCoach``).
    """
    flags = {key: form.boolean(key) for key in UPDATE_BOOLEANS}
    methods = {key: form.method(key) for key in UPDATE_METHODS}
    coach = form.pattern("CallSidToCoach", call_sid, "Call SID")
    with state.lock:
        conference = _conference(state, account_sid, conference_sid, path)
        participant = _participant(state, account_sid, conference_sid, ref, path)
        coaching = flags["Coaching"]
        if coaching is None and coach is not None:
            coaching = True
        if coaching and coach is None and participant.call_sid_to_coach is None:
            raise invalid("CallSidToCoach is required when Coaching is true")
        if coach is not None and (
            coach == participant.call_sid or state.participant(conference, coach) is None
        ):
            raise invalid(
                f"CallSidToCoach {coach} is not another participant of conference {conference.sid}"
            )

        before = _modifiable(participant)
        participant.update(flags, coaching, coach)
        for key in UPDATE_STRINGS:
            if key in form:
                participant.options[key] = form.get(key)
        for key, method in methods.items():
            if method is not None:
                participant.options[key] = method
        participant.date_updated = state.now()
        participant.changed()
        _notify_changes(state, conference, participant, before, form.get("AnnounceUrl"))
        return Reply(200, participant_json(participant))


def _modifiable(participant: Participant) -> tuple[object, ...]:
    """The fields whose change is a participant-modify event (Coaching, EndConferenceOnExit,
    BeepOnExit, WaitUrl), after muted and hold."""
    options = participant.options
    return (
        participant.muted,
        participant.hold,
        participant.coaching,
        participant.end_conference_on_exit,
        options.get("BeepOnExit"),
        options.get("WaitUrl"),
    )


def _notify_changes(
    state: State,
    conference: Conference,
    participant: Participant,
    before: tuple[object, ...],
    announce_url: str | None,
) -> None:
    """Report an update as Twilio's callbacks do: mute, hold, modify, announcement."""
    after = _modifiable(participant)
    if after[0] != before[0]:
        event = "participant-mute" if participant.muted else "participant-unmute"
        state.notify(event, conference, participant)
    if after[1] != before[1]:
        event = "participant-hold" if participant.hold else "participant-unhold"
        state.notify(event, conference, participant)
    if after[2:] != before[2:]:
        state.notify("participant-modify", conference, participant)
    if announce_url is not None:
        state.notify("announcement-end", conference, participant, {"AnnounceUrl": announce_url})


def delete_participant(
    state: State, account_sid: str, conference_sid: str, ref: str, path: str
) -> Reply:
    """``DELETE .../Participants/{CallSid}.json`` (204): kick the participant."""
    with state.lock:
        participant = _participant(state, account_sid, conference_sid, ref, path)
        state.remove_participant(participant, kicked=True)
        return Reply(204)


def _participant(
    state: State, account_sid: str, conference_sid: str, ref: str, path: str
) -> Participant:
    conference = _conference(state, account_sid, conference_sid, path)
    participant = state.participant(conference, ref)
    if participant is None:
        raise not_found(path)
    return participant
