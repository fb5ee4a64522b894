"""Calls, and the inline markup (TwiML, cXML) that dials one into a conference.

Twilio's update-call request and SignalWire's create- and update-call
requests take a document to execute instead of a URL to fetch one from.  The
emulator executes the one document a conference API needs::

    <Response><Dial><Conference muted="true" …>Room name</Conference></Dial></Response>

The call leaves the conference it is in (if any) and joins the live
conference of that name, which is started when there is none: the state's
:meth:`~driver.emulator.state.State.join_call`.  The noun's ``statusCallback``
subscribes the conference to status callbacks when the call is its first
participant (:func:`~driver.emulator.callbacks.subscribe_markup`).  Everything is checked before
anything changes, so a refused request leaves no trace.  Any other document
is refused with a 400: the emulator does not pretend to run what it cannot.

A call is either a :class:`~driver.emulator.state.Call` placed or redirected
through the API or a participant's call; :func:`find_call` gives one view of
both for rendering.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from .callbacks import subscribe_markup
from .errors import ApiError, invalid
from .state import REGIONS, Conference, Participant, State

DOCUMENT_INVALID = 12100  # Twilio: "Document parse failure"
CALL_NOT_IN_PROGRESS = 21220  # Twilio: "Call is not in-progress. Cannot redirect."
MAX_PARTICIPANTS = (2, 250)

# <Conference> attributes both providers document, and what each may hold.
_BOOLEANS = ("muted", "startConferenceOnEnter", "endConferenceOnExit")
_CHOICES: dict[str, tuple[str, ...]] = {
    "beep": ("true", "false", "onEnter", "onExit"),
    "record": ("record-from-start", "do-not-record"),
    "trim": ("trim-silence", "do-not-trim"),
    "waitMethod": ("GET", "POST"),
    "statusCallbackMethod": ("GET", "POST"),
    "recordingStatusCallbackMethod": ("GET", "POST"),
}
COMMON_ATTRIBUTES = frozenset(
    (
        *_BOOLEANS,
        *_CHOICES,
        "coach",
        "maxParticipants",
        "waitUrl",
        "statusCallback",
        "statusCallbackEvent",
        "recordingStatusCallback",
        "recordingStatusCallbackEvent",
    )
)
# A participant's call status -> the status its call shows.
_CALL_STATUS = {
    "queued": "queued",
    "connecting": "ringing",
    "ringing": "ringing",
    "connected": "in-progress",
    "complete": "completed",
    "failed": "failed",
}


@dataclass(frozen=True, slots=True)
class Dial:
    """A parsed ``<Dial><Conference>``: the room's name and the noun's attributes."""

    room: str
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CallView:
    """What a call resource shows, wherever the call lives in the state."""

    sid: str
    account_sid: str
    from_: str | None
    to: str | None
    status: str
    date_created: datetime
    date_updated: datetime

    @property
    def live(self) -> bool:
        """Whether the call can still be redirected."""
        return self.status in ("queued", "ringing", "in-progress")


def find_call(state: State, account_sid: str, sid: str) -> CallView | None:
    """The call ``sid`` of ``account_sid``, placed by the API or a participant's, if any."""
    call = state.live_calls.get(sid)
    participant = state.calls.get(sid)
    if call is not None and call.account_sid == account_sid:
        status = call.status
        updated = call.date_created
        if participant is not None:  # it joined a conference: that says how it is now
            status = _CALL_STATUS[participant.status]
            updated = max(updated, participant.date_updated)
        return CallView(
            call.sid, call.account_sid, call.from_, call.to, status, call.date_created, updated
        )
    if participant is None or participant.account_sid != account_sid:
        return None
    options = participant.options
    return CallView(
        participant.call_sid,
        participant.account_sid,
        _text(options.get("From")),
        _text(options.get("To")),
        _CALL_STATUS[participant.status],
        participant.date_created,
        participant.date_updated,
    )


def parse_markup(text: str, allowed: Collection[str]) -> Dial:
    """The ``<Dial><Conference>`` of a document, or a 400 saying why it is not run.

    ``allowed`` names the ``<Conference>`` attributes the provider documents.
    """
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ApiError(
            400, DOCUMENT_INVALID, f"The call markup is not well-formed XML: {exc}"
        ) from None
    verbs = list(root)
    nouns = list(verbs[0]) if len(verbs) == 1 else []
    if (
        root.tag != "Response"
        or len(verbs) != 1
        or verbs[0].tag != "Dial"
        or verbs[0].attrib
        or len(nouns) != 1
        or nouns[0].tag != "Conference"
        or list(nouns[0])
    ):
        raise ApiError(
            400,
            DOCUMENT_INVALID,
            "The emulator executes only <Response><Dial><Conference>name</Conference>"
            "</Dial></Response>",
        )
    conference = nouns[0]
    unknown = sorted(set(conference.attrib) - set(allowed))
    if unknown:
        raise ApiError(400, DOCUMENT_INVALID, f"<Conference> has no attribute {', '.join(unknown)}")
    room = conference.text or ""
    if not room.strip():
        raise ApiError(400, DOCUMENT_INVALID, "<Conference> names no conference")
    return Dial(room, dict(conference.attrib))


def check_dial(state: State, account_sid: str, dial: Dial) -> Conference | None:
    """Validate the attributes against the state; the live conference to join, if any.

    Raises a 400 (nothing changed) when the call could not join as asked.
    """
    attributes = dial.attributes
    for name in _BOOLEANS:
        if name in attributes and attributes[name] not in ("true", "false"):
            raise invalid(f"<Conference {name}> must be true or false, not {attributes[name]!r}")
    for name, allowed in _CHOICES.items():
        if name in attributes and attributes[name] not in allowed:
            raise invalid(f"<Conference {name}> must be one of {', '.join(allowed)}")
    if "maxParticipants" in attributes:
        low, high = MAX_PARTICIPANTS
        raw = attributes["maxParticipants"]
        if not raw.isdigit() or not low <= int(raw) <= high:
            raise invalid(f"<Conference maxParticipants> must be from {low} to {high}")
    conference = state.live_conference_named(account_sid, dial.room)
    coach = attributes.get("coach")
    if coach is not None and (conference is None or state.participant(conference, coach) is None):
        raise invalid(f"<Conference coach> {coach} is not a call in conference {dial.room!r}")
    if conference is not None:
        limit = conference.options.get("MaxParticipants")
        if isinstance(limit, int) and len(conference.live_participants()) >= limit:
            raise invalid(f"Conference {dial.room!r} is full ({limit} participants)")
    return conference


def join(
    state: State, account_sid: str, call_sid: str, dial: Dial, conference: Conference | None
) -> Participant:
    """Dial the call into the conference :func:`check_dial` returned (or a new one)."""
    attributes = dial.attributes
    if conference is None:
        region = attributes.get("region", "us1")
        conference = state.new_conference(
            account_sid, dial.room, "init", region=region if region in REGIONS else "us1"
        )
        if "maxParticipants" in attributes:
            conference.options["MaxParticipants"] = int(attributes["maxParticipants"])
    subscribe_markup(conference, attributes)  # the first participant's statusCallback counts
    coach = attributes.get("coach")
    options: dict[str, object] = {
        name: value
        for name, value in attributes.items()
        if name not in (*_BOOLEANS, "coach", "maxParticipants")
    }
    return state.join_call(
        call_sid,
        conference,
        muted=attributes.get("muted") == "true",
        start_conference_on_enter=attributes.get("startConferenceOnEnter", "true") == "true",
        end_conference_on_exit=attributes.get("endConferenceOnExit") == "true",
        coaching=coach is not None,
        call_sid_to_coach=coach,
        options=options,
    )


def redirect(state: State, view: CallView, dial: Dial) -> None:
    """Run ``dial`` on the live call ``view`` (a 400 when it is no longer live)."""
    if not view.live:
        raise ApiError(400, CALL_NOT_IN_PROGRESS, "Call is not in-progress. Cannot redirect.")
    conference = check_dial(state, view.account_sid, dial)
    join(state, view.account_sid, view.sid, dial, conference)


def hang_up(state: State, view: CallView) -> None:
    """End the call ``view``: it leaves its conference, or its API-placed call completes."""
    participant = state.calls.get(view.sid)
    if participant is not None and participant.live:
        state.remove_participant(participant, kicked=False)
    call = state.live_calls.get(view.sid)
    if call is not None:
        call.status = "completed"


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
