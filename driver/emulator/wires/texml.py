"""Telnyx's TeXML REST API (API v2): conferences, participants and calls under ``/v2/texml``.

What this wire renders, from the spec slice (``telnyx/conferences.openapi.yml``):

* paths ``/v2/texml/Accounts/{account_sid}/Conferences[/{sid}[/Participants[/{ref}]]]``
  and ``…/Calls[/{call_sid}]``, without ``.json`` (links carry it, so it is
  accepted too); ``{ref}`` is a participant's call SID or its label;
* ``Authorization: Bearer <API key>``; form bodies, except the JSON ``POST /Calls``;
  list inputs as one space-separated value (a repeated key is refused);
* UUID account and conference ids; call SIDs ``v3:…`` (a ``:`` inside, so
  percent-encoded in paths by clients); RFC 2822 dates; ``api_version`` ``v2/texml``;
* list envelopes ``{<items>, end, first_page_uri, next_page_uri, page, page_size,
  start, uri}`` with links under ``/v2/texml/…`` and no ``previous_page_uri``;
  ``next_page_uri`` is left out on the last page (as in the spec's examples);
* participant status connecting/connected/completed; create participant answers
  200 with the short ``NewParticipantResource``; delete answers 204;
* errors ``{"errors": [{"detail"}]}`` for 404 and ``{"errors": [{"code", "title",
  "detail", "source": {"pointer"}}]}`` otherwise (codes as strings).

Where the spec is silent the emulator chooses, and says so here: 401 (code
10009) for a missing or unknown key or another account's path; 405 for a
method a path does not take; 422 for a body field the operation does not
declare, a label already in use, a change to a completed conference (90019)
or to an ended call (90018); the participant list pages by ``PageSize``
(default 20) only through its own links; ``PageSize`` above 1000 is capped.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, unquote, urlencode

from ..encoding import embed
from ..errors import ApiError
from ..paging import PageRequest, select
from ..params import Params
from ..resources import rfc2822
from ..routing import Match
from ..sids import UuidFactory
from ..state import Call, Conference, Participant
from ..wire import FilterTable, Wire, WireError, WireReply, WireRequest, bearer_token

if TYPE_CHECKING:
    from ..emulator import Emulator

DEMO_ACCOUNT = "5a1c6e2e-9f0b-4c7d-8e3a-2b4f6d8a0c1e"
"""The TeXML account a fresh emulator on this wire starts with."""
DEMO_API_KEY = "KEY0190C0NFSQL5A1C6E2E9F0B4C7D8E3A_texmldemo"
"""The API key (Bearer token) of :data:`DEMO_ACCOUNT`."""

API_VERSION = "v2/texml"
ROOT = "/v2/texml/Accounts"
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 1000
MAX_LABEL = 128
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
CALL_SID = re.compile(r"^v[0-9]+:[A-Za-z0-9_=-]+$")
DISPLAY_NAME = re.compile(r"^[A-Za-z0-9 \-_~!.+]{1,128}$")
_DATE_FILTER = re.compile(r"^(>=|<=|>|<|=)?(\d{4}-\d{2}-\d{2})$")

# Error codes (Telnyx's numbering, as strings).
AUTH_FAILED = "10009"
MISSING = "10004"
BAD_TYPE = "10026"
BAD_ENUM = "10032"
OUT_OF_RANGE = "10033"
INVALID = "10015"
CONFERENCE_ENDED = "90019"
CALL_ENDED = "90018"
_TITLES = {
    AUTH_FAILED: "Authentication failed",
    MISSING: "Missing required parameter",
    BAD_TYPE: "Invalid parameter type",
    BAD_ENUM: "Invalid enumerated value",
    OUT_OF_RANGE: "Value out of range",
    INVALID: "Invalid parameter",
    CONFERENCE_ENDED: "Conference has already ended",
    CALL_ENDED: "Call has already ended",
    "10011": "Too many requests",
    "10007": "Unexpected error",
}
_STATUS_CODES = {401: AUTH_FAILED, 429: "10011", 500: "10007"}

METHODS = ("GET", "POST")
EVENTS = {
    "StatusCallbackEvent": ("initiated", "ringing", "answered", "completed"),
    "ConferenceStatusCallbackEvent": ("start", "end", "join", "leave"),
    "RecordingStatusCallbackEvent": ("in-progress", "completed", "absent"),
    "ConferenceRecordingStatusCallbackEvent": ("in-progress", "completed", "failed", "absent"),
}
# DialConferenceParticipantRequest, by kind.
CREATE_BOOLEANS = (
    "CancelPlaybackOnDetectMessageEnd",
    "CancelPlaybackOnMachineDetection",
    "Coaching",
    "EarlyMedia",
    "EndConferenceOnExit",
    "Muted",
    "Record",
    "StartConferenceOnEnter",
)
CREATE_INTEGERS: dict[str, tuple[int | None, int | None]] = {
    "ConferenceRecordingTimeout": (0, None),
    "MachineDetectionSilenceTimeout": (None, None),
    "MachineDetectionSpeechEndThreshold": (None, None),
    "MachineDetectionSpeechThreshold": (None, None),
    "MachineDetectionTimeout": (None, None),
    "MaxParticipants": (2, 800),
    "TimeLimit": (None, None),
    "Timeout": (5, 120),
}
CREATE_CHOICES: dict[str, tuple[str, ...]] = {
    "AmdStatusCallbackMethod": METHODS,
    "ConferenceRecordingStatusCallbackMethod": METHODS,
    "ConferenceStatusCallbackMethod": METHODS,
    "RecordingStatusCallbackMethod": METHODS,
    "StatusCallbackMethod": METHODS,
    "Beep": ("true", "false", "onEnter", "onExit"),
    "ConferenceRecord": ("true", "false", "record-from-start", "do-not-record"),
    "ConferenceTrim": ("trim-silence", "do-not-trim"),
    "Trim": ("trim-silence", "do-not-trim"),
    "MachineDetection": ("Enable", "DetectMessageEnd"),
    "RecordingChannels": ("mono", "dual"),
    "RecordingTrack": ("inbound", "outbound", "both"),
}
CREATE_STRINGS = (
    "AmdStatusCallback",
    "ApplicationSid",
    "CallSidToCoach",
    "CallerId",
    "ConferenceRecordingStatusCallback",
    "ConferenceStatusCallback",
    "CustomHeaders",
    "From",
    "Label",
    "PreferredCodecs",
    "RecordingStatusCallback",
    "SipAuthPassword",
    "SipAuthUsername",
    "StatusCallback",
    "To",
    "WaitUrl",
)
UPDATE_BOOLEANS = ("BeepOnExit", "Coaching", "EndConferenceOnExit", "Hold", "Muted")
UPDATE_CHOICES = {"AnnounceMethod": METHODS, "HoldMethod": METHODS}
UPDATE_STRINGS = ("AnnounceUrl", "CallSidToCoach", "HoldUrl", "WaitUrl")
CONFERENCE_UPDATE = ("AnnounceMethod", "AnnounceUrl", "Status")
CALL_UPDATE = (
    "FallbackMethod",
    "FallbackUrl",
    "Method",
    "Status",
    "StatusCallback",
    "StatusCallbackMethod",
    "Texml",
    "Url",
)

# Internal (Twilio-vocabulary) statuses as TeXML shows them.
PARTICIPANT_STATUS = {
    "queued": "connecting",
    "connecting": "connecting",
    "ringing": "connecting",
    "connected": "connected",
    "complete": "completed",
    "failed": "completed",
}
_KICKED_ON_EXIT = "participant-with-end-conference-on-exit-kicked"
REASON = {  # TeXML has no "kicked" variants
    _KICKED_ON_EXIT: "participant-with-end-conference-on-exit-left",
    "last-participant-kicked": "last-participant-left",
}
CALL_STATUS = {"queued": "ringing"}

Route = tuple[str, tuple[str, ...]]
_ALLOWED = {
    "conferences": ("GET",),
    "conference": ("GET", "POST"),
    "participants": ("GET", "POST"),
    "participant": ("GET", "POST", "DELETE"),
    "calls": ("POST",),
    "call": ("GET", "POST"),
}


class TexmlSids(UuidFactory):
    """UUIDs for conferences and accounts; ``v3:…`` call SIDs (54 URL-safe base64 characters)."""

    def next(self, prefix: str) -> str:
        if prefix != "CA":
            return super().next(prefix)
        self._counters[prefix] += 1
        seed = f"{self._salt}:{prefix}:{self._counters[prefix]}".encode()
        digest = hashlib.sha512(seed).digest()[:40]
        return "v3:" + base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def unprocessable(code: str, detail: str, pointer: str | None = None) -> WireError:
    """A 422 in TeXML's ``ErrorResponse`` shape."""
    return WireError(422, detail, code, pointer=pointer)


def not_found() -> WireError:
    """TeXML's 404: ``{"errors": [{"detail": "Resource not found"}]}``."""
    return WireError(404, "Resource not found")


class TexmlWire(Wire):
    """Telnyx TeXML: Bearer auth, ``/v2/texml/Accounts/{account_sid}/…``, Twilio-shaped JSON."""

    name = "texml"
    base_path = "/v2"
    # Twilio's names, a date's operator inside its value (filter_pair); the participant list
    # takes no filters.
    list_filters: ClassVar[FilterTable] = {
        "conferences": {k: k for k in ("Status", "FriendlyName", "DateCreated", "DateUpdated")},
    }

    def __init__(self, emulator: Emulator) -> None:
        super().__init__(emulator)
        state = emulator.state
        state.sids = TexmlSids("confsql-texml")
        state.add_account(DEMO_ACCOUNT, "")
        state.add_token(DEMO_API_KEY, DEMO_ACCOUNT)
        self.demo_account = DEMO_ACCOUNT

    def demo_credentials(self) -> dict[str, str]:
        return {"ApiKey": DEMO_API_KEY, "AccountSid": DEMO_ACCOUNT}

    def filter_pair(self, operation: str, key: str, value: str) -> tuple[str, str] | None:
        """``DateCreated=>=2026-11-18`` is the ``DateCreated>=`` filter on ``2026-11-18``."""
        pair = super().filter_pair(operation, key, value)
        bounded = _DATE_FILTER.match(value) if key.startswith("Date") else None
        if pair is None or bounded is None:
            return pair
        op, day = bounded.groups()
        return key + ("" if op in (None, "=") else op), day

    # -- rendering --------------------------------------------------------------------

    def conference_json(self, conference: Conference) -> dict[str, Any]:
        """A ``ConferenceResource``."""
        base = f"{ROOT}/{conference.account_sid}/Conferences/{conference.sid}"
        reason = conference.reason_conference_ended
        return {
            "account_sid": conference.account_sid,
            "api_version": API_VERSION,
            "call_sid_ending_conference": conference.call_sid_ending_conference,
            "date_created": rfc2822(conference.date_created),
            "date_updated": rfc2822(conference.date_updated),
            "friendly_name": conference.friendly_name,
            "reason_conference_ended": REASON.get(reason, reason) if reason else None,
            "region": conference.region,
            "sid": conference.sid,
            "status": conference.status,
            "subresource_uris": {
                "participants": f"{base}/Participants.json",
                "recordings": f"{base}/Recordings.json",
            },
            "uri": f"{base}.json",
        }

    def participant_json(self, participant: Participant) -> dict[str, Any]:
        """A ``ParticipantResource`` (``coaching_call_sid`` only while coaching)."""
        out: dict[str, Any] = {
            "account_sid": participant.account_sid,
            "api_version": API_VERSION,
            "call_sid": participant.call_sid,
            "call_sid_legacy": participant.call_sid,
            "coaching": participant.coaching,
            "conference_sid": participant.conference_sid,
            "date_created": rfc2822(participant.date_created),
            "date_updated": rfc2822(participant.date_updated),
            "end_conference_on_exit": participant.end_conference_on_exit,
            "hold": participant.hold,
            "muted": participant.muted,
            "status": PARTICIPANT_STATUS[participant.status],
            "uri": _participant_uri(participant),
        }
        if participant.coaching and participant.call_sid_to_coach:
            out["coaching_call_sid"] = participant.call_sid_to_coach
            out["coaching_call_sid_legacy"] = participant.call_sid_to_coach
        return out

    def new_participant_json(self, participant: Participant) -> dict[str, Any]:
        """A ``NewParticipantResource``: no dates, label or queue time."""
        out: dict[str, Any] = {
            "account_sid": participant.account_sid,
            "call_sid": participant.call_sid,
            "coaching": participant.coaching,
            "conference_sid": participant.conference_sid,
            "end_conference_on_exit": participant.end_conference_on_exit,
            "hold": participant.hold,
            "muted": participant.muted,
            "status": PARTICIPANT_STATUS[participant.status],
            "uri": _participant_uri(participant),
        }
        if participant.coaching and participant.call_sid_to_coach:
            out["coaching_call_sid"] = participant.call_sid_to_coach
        return out

    def call_json(self, account_sid: str, call_sid: str) -> dict[str, Any]:
        """A ``CallResource`` for a live or ended call (placed, or a participant's leg)."""
        state = self.emulator.state
        call = state.live_calls.get(call_sid)
        participant = state.calls.get(call_sid)
        if call is not None:
            status = CALL_STATUS.get(call.status, call.status)
            if participant is not None and call.status != "completed":
                status = _leg_status(participant)
            created, from_, to = call.date_created, call.from_, call.to
            updated = participant.date_updated if participant is not None else created
        else:
            assert participant is not None
            status = _leg_status(participant)
            created, updated = participant.date_created, participant.date_updated
            from_ = str(participant.options.get("From", ""))
            to = str(participant.options.get("To", ""))
        return {
            "account_sid": account_sid,
            "date_created": rfc2822(created),
            "date_updated": rfc2822(updated),
            "direction": "outbound",
            "from": from_,
            "from_formatted": from_,
            "sid": call_sid,
            "start_time": rfc2822(created),
            "status": status,
            "to": to,
            "to_formatted": to,
            "uri": f"{ROOT}/{account_sid}/Calls/{call_sid}.json",
        }

    # -- transport ----------------------------------------------------------------------

    def handle(self, request: WireRequest) -> WireReply:
        try:
            return self._handle(request)
        except ApiError as exc:  # from the shared paging helpers (a bad page token)
            raise unprocessable(INVALID, exc.message, "/PageToken") from None

    def error(self, error: WireError) -> WireReply:
        if error.status in (404, 405):
            return WireReply(error.status, {"errors": [{"detail": error.message}]})
        code = str(error.code) if error.code is not None else _STATUS_CODES.get(error.status)
        entry: dict[str, Any] = {
            "code": code or "10007",
            "title": _TITLES.get(code or "", "Error"),
            "detail": error.message,
        }
        pointer = error.extra.get("pointer")
        if pointer:
            entry["source"] = {"pointer": pointer}
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else {}
        return WireReply(error.status, {"errors": [entry]}, headers)

    def operation(self, path: str) -> Match | None:
        parts = path.split("/")
        route = _route(parts[5:]) if _under_account(parts) else None
        return None if route is None else Match(*route)

    def _handle(self, request: WireRequest) -> WireReply:
        parts = request.path.split("/")
        if not _under_account(parts):
            raise not_found()
        account_sid = self._authenticate(request.headers.get("authorization"))
        request.record.account_sid = account_sid
        if unquote(parts[4]) != account_sid:
            raise WireError(401, "The account in the path does not belong to this API key")
        route = _route(parts[5:])
        if route is None:
            raise not_found()
        operation, args = route
        method = "GET" if request.method == "HEAD" else request.method
        if method not in _ALLOWED[operation]:
            raise WireError(405, f"Method {request.method} is not allowed on {request.path}")
        return self._run(operation, args, method, account_sid, request)

    def _authenticate(self, header: str | None) -> str:
        token = bearer_token(header)
        if token is None:
            raise WireError(401, "Authentication failed: no API key was sent (Bearer token)")
        account = self.emulator.state.authenticate_token(token)
        if account is None:
            raise WireError(401, "Authentication failed: the API key is not valid")
        return account

    def _run(
        self, operation: str, args: tuple[str, ...], method: str, account: str, request: WireRequest
    ) -> WireReply:
        state = self.emulator.state
        with state.lock:
            if operation == "conferences":
                return self._list_conferences(account, request.query)
            if operation == "conference":
                if method == "GET":
                    return WireReply(200, self.conference_json(self._conference(account, args[0])))
                return self._update_conference(account, args[0], request.form)
            if operation == "participants":
                if method == "GET":
                    return self._list_participants(account, args[0], request.query)
                return self._create_participant(account, args[0], request.form)
            if operation == "participant":
                participant = self._participant(account, args[0], args[1])
                if method == "GET":
                    return WireReply(200, self.participant_json(participant))
                if method == "POST":
                    return self._update_participant(account, participant, request.form)
                state.remove_participant(participant, kicked=True)
                return WireReply(204)
            if operation == "calls":
                return self._initiate_call(account, request.json)
            if method == "GET":
                return WireReply(200, self.call_json(account, self._call(account, args[0])))
            return self._update_call(account, args[0], request.form)

    # -- conferences --------------------------------------------------------------------

    def _conference(self, account: str, sid: str) -> Conference:
        conference = self.emulator.state.conference(account, sid)
        if conference is None:
            raise not_found()
        return conference

    def _list_conferences(self, account: str, query: Params) -> WireReply:
        state = self.emulator.state
        request = _page_request(query)
        checks: list[Callable[[Conference], bool]] = []
        status = query.get("Status")
        if status is not None:
            if status not in ("init", "in-progress", "completed"):
                raise unprocessable(
                    BAD_ENUM, "Status must be one of init, in-progress, completed", "/Status"
                )
            checks.append(lambda c: c.status == status)
        name = query.get("FriendlyName")
        if name is not None:
            checks.append(lambda c: c.friendly_name == name)
        for key, attr in (("DateCreated", "date_created"), ("DateUpdated", "date_updated")):
            raw = query.get(key)
            if raw is not None:
                checks.append(_date_check(key, raw, attr))
        keep = (lambda c: all(check(c) for check in checks)) if checks else None
        listing = state.by_account.get(account, [])

        def locate(sid: str) -> int | None:
            found = state.conference(account, sid)
            return None if found is None else state.conference_position(found)

        window = select(listing, request, keep, locate)
        items = [self._conference_item(c) for c in window.items]
        last = window.items[-1].sid if window.items else None
        filters = [
            (k, query.get(k) or "")
            for k in ("FriendlyName", "Status", "DateCreated", "DateUpdated")
            if k in query
        ]
        path = f"{ROOT}/{account}/Conferences.json"
        return WireReply(
            200, _envelope("conferences", path, filters, request, items, last, window.has_next)
        )

    def _conference_item(self, conference: Conference) -> object:
        item = conference.rendered
        if item is None:
            item = conference.rendered = embed(self.conference_json(conference))
        return item

    def _update_conference(self, account: str, sid: str, form: Params) -> WireReply:
        _only(form, CONFERENCE_UPDATE)
        status = form.get("Status")
        if status is not None and status != "completed":
            raise unprocessable(BAD_ENUM, "Status must be one of completed", "/Status")
        _choice(form, "AnnounceMethod", METHODS)
        conference = self._conference(account, sid)
        if (status is not None or "AnnounceUrl" in form) and not conference.live:
            raise unprocessable(
                CONFERENCE_ENDED, f"Conference {conference.sid} has already ended", None
            )
        if "AnnounceUrl" in form:
            conference.options["AnnounceUrl"] = form.get("AnnounceUrl")
            conference.options["AnnounceMethod"] = form.get("AnnounceMethod") or "POST"
        if status == "completed":
            self.emulator.state.end_conference(conference, "conference-ended-via-api", None)
        return WireReply(200, self.conference_json(conference))

    # -- participants -------------------------------------------------------------------

    def _participant(self, account: str, conference_sid: str, ref: str) -> Participant:
        state = self.emulator.state
        conference = self._conference(account, conference_sid)
        participant = state.participant(conference, ref)
        if participant is None and ref.endswith(".json"):  # a resource uri, followed
            participant = state.participant(conference, ref[: -len(".json")])
        if participant is None:
            raise not_found()
        return participant

    def _list_participants(self, account: str, conference_sid: str, query: Params) -> WireReply:
        state = self.emulator.state
        request = _page_request(query)  # only ever from this wire's own next_page_uri
        conference = self._conference(account, conference_sid)

        def locate(call_sid: str) -> int | None:
            found = state.calls.get(call_sid)
            ours = found is not None and found.conference_sid == conference.sid
            return found.index if found is not None and ours else None

        window = select(conference.participants, request, lambda p: p.live, locate)
        items = [self._participant_item(p) for p in window.items]
        last = window.items[-1].call_sid if window.items else None
        path = f"{ROOT}/{account}/Conferences/{conference.sid}/Participants.json"
        return WireReply(
            200, _envelope("participants", path, [], request, items, last, window.has_next)
        )

    def _participant_item(self, participant: Participant) -> object:
        item = participant.rendered
        if item is None:
            item = participant.rendered = embed(self.participant_json(participant))
        return item

    def _create_participant(self, account: str, ref: str, form: Params) -> WireReply:
        state = self.emulator.state
        options = _create_options(form)
        label = form.get("Label")
        if label is not None and (not label or len(label) > MAX_LABEL or "/" in label):
            raise unprocessable(INVALID, "Label must be 1 to 128 characters without '/'", "/Label")
        coach = form.get("CallSidToCoach")
        coaching = options.get("Coaching")
        if coaching is None:
            coaching = coach is not None
        if coaching and coach is None:
            raise unprocessable(MISSING, "Can't be blank: CallSidToCoach", "/CallSidToCoach")
        conference = state.conference(account, ref)
        if conference is not None and not conference.live:
            raise not_found()
        if conference is None and UUID.match(ref):
            raise not_found()
        if conference is None:  # a name: joins or starts that conference, through an application
            if not form.get("ApplicationSid"):
                raise unprocessable(MISSING, "Can't be blank: ApplicationSid", "/ApplicationSid")
            conference = state.live_conference_named(account, ref)
        if conference is not None:
            if label is not None and state.label_in_use(conference, label):
                raise unprocessable(
                    INVALID, f"Label '{label}' is in use by another participant", "/Label"
                )
            if coach is not None and state.participant(conference, coach) is None:
                raise unprocessable(
                    INVALID, f"CallSidToCoach {coach} is not in this conference", "/CallSidToCoach"
                )
        elif coach is not None:
            raise unprocessable(
                INVALID, f"CallSidToCoach {coach} is not in this conference", "/CallSidToCoach"
            )
        else:
            conference = state.new_conference(account, ref, "init")
            if "MaxParticipants" in options:
                conference.options["MaxParticipants"] = options["MaxParticipants"]
        participant = state.new_participant(
            conference,
            "queued",
            label=label,
            muted=bool(options.get("Muted", False)),
            coaching=bool(coaching),
            call_sid_to_coach=coach if coaching else None,
            end_conference_on_exit=bool(options.get("EndConferenceOnExit", False)),
            start_conference_on_enter=bool(options.get("StartConferenceOnEnter", True)),
            options=options,
        )
        return WireReply(200, self.new_participant_json(participant))

    def _update_participant(
        self, account: str, participant: Participant, form: Params
    ) -> WireReply:
        state = self.emulator.state
        _only(form, (*UPDATE_BOOLEANS, *UPDATE_CHOICES, *UPDATE_STRINGS))
        flags = {key: _boolean(form, key) for key in UPDATE_BOOLEANS}
        for key, allowed in UPDATE_CHOICES.items():
            _choice(form, key, allowed)
        conference = self._conference(account, participant.conference_sid)
        coach = form.get("CallSidToCoach")
        coaching = flags["Coaching"]
        if coaching is None and coach is not None:
            coaching = True
        if coaching and coach is None and participant.call_sid_to_coach is None:
            raise unprocessable(MISSING, "Can't be blank: CallSidToCoach", "/CallSidToCoach")
        if coach is not None and (
            coach == participant.call_sid or state.participant(conference, coach) is None
        ):
            raise unprocessable(
                INVALID,
                f"CallSidToCoach {coach} is not another participant of this conference",
                "/CallSidToCoach",
            )
        participant.update(flags, coaching, coach)
        for key in (*UPDATE_STRINGS, *UPDATE_CHOICES):
            if key in form and key != "CallSidToCoach":
                participant.options[key] = form.get(key)
        participant.date_updated = state.now()
        participant.changed()
        return WireReply(200, self.participant_json(participant))

    # -- calls --------------------------------------------------------------------------

    def _call(self, account: str, call_sid: str) -> str:
        """``call_sid`` if it is a call of ``account`` (live or ended), else 404."""
        state = self.emulator.state
        call = state.live_calls.get(call_sid)
        participant = state.calls.get(call_sid)
        owner = call.account_sid if call else participant.account_sid if participant else None
        if owner != account:
            raise not_found()
        return call_sid

    def _initiate_call(self, account: str, body: object) -> WireReply:
        """``POST /Calls`` (JSON ``InitiateCallRequest``): a new call; no SID in the answer."""
        if not isinstance(body, dict):
            raise unprocessable(BAD_TYPE, "The request body must be a JSON object", "/")
        for key in ("To", "From", "ApplicationSid"):
            if not isinstance(body.get(key), str) or not body[key]:
                raise unprocessable(MISSING, f"Can't be blank: {key}", f"/{key}")
        if "Texml" in body and "Url" in body:
            raise unprocessable(INVALID, "Give either Texml or Url, not both", "/Texml")
        state = self.emulator.state
        call = state.new_call(account, body["From"], body["To"], "queued")
        texml = body.get("Texml")
        if isinstance(texml, str):
            self._execute(account, call, texml)
        return WireReply(200, {"from": call.from_, "status": "accepted", "to": call.to})

    def _update_call(self, account: str, call_sid: str, form: Params) -> WireReply:
        """``POST /Calls/{call_sid}``: end it, or run new TeXML (``<Dial><Conference>``)."""
        state = self.emulator.state
        _only(form, CALL_UPDATE)
        for key in ("Method", "FallbackMethod", "StatusCallbackMethod"):
            _choice(form, key, METHODS)
        self._call(account, call_sid)
        if not state.call_is_live(call_sid):
            raise unprocessable(CALL_ENDED, f"Call {call_sid} has already ended", None)
        call = state.live_calls.get(call_sid)
        status = form.get("Status")
        if status is not None:
            if status != "completed":
                raise unprocessable(BAD_ENUM, "Status must be one of completed", "/Status")
            participant = state.calls.get(call_sid)
            if participant is not None and participant.live:
                state.remove_participant(participant, kicked=False)
            if call is not None:
                call.status = "completed"
        elif form.get("Texml") is not None:
            if call is None:  # a participant's leg placed by the API: now a call of its own
                participant = state.calls[call_sid]
                call = Call(
                    call_sid,
                    account,
                    str(participant.options.get("From", "")),
                    str(participant.options.get("To", "")),
                    "in-progress",
                    participant.date_created,
                )
                state.live_calls[call_sid] = call
            self._execute(account, call, form.get("Texml") or "")
        return WireReply(200, self.call_json(account, call_sid))

    def _execute(self, account: str, call: Call, texml: str) -> None:
        """Run a TeXML document on ``call``: only ``<Dial><Conference>`` changes state."""
        try:
            root = ET.fromstring(texml)
        except ET.ParseError as exc:
            raise unprocessable(
                INVALID, f"Texml is not a TeXML document ({exc})", "/Texml"
            ) from None
        if root.tag != "Response":
            raise unprocessable(INVALID, "Texml must have <Response> as its root", "/Texml")
        call.options["Texml"] = texml
        noun = root.find("./Dial/Conference")
        if noun is None:
            return
        name = (noun.text or "").strip()
        if not name:
            raise unprocessable(INVALID, "<Conference> needs a conference name", "/Texml")
        flags = {
            key: _xml_boolean(noun, key)
            for key in ("muted", "startConferenceOnEnter", "endConferenceOnExit")
        }
        state = self.emulator.state
        conference = state.live_conference_named(account, name)
        if conference is None:
            conference = state.new_conference(account, name, "init")
        state.join_call(
            call.sid,
            conference,
            muted=bool(flags["muted"]),
            end_conference_on_exit=bool(flags["endConferenceOnExit"]),
            start_conference_on_enter=flags["startConferenceOnEnter"] is not False,
            options={"From": call.from_, "To": call.to, "Beep": noun.get("beep")},
        )


# -- helpers ----------------------------------------------------------------------------


def _under_account(parts: list[str]) -> bool:
    """Whether a split path is ``/v2/texml/Accounts/{AccountSid}/…``."""
    return len(parts) >= 6 and parts[:4] == ["", "v2", "texml", "Accounts"] and bool(parts[4])


def _route(rest: list[str]) -> Route | None:
    """The operation and decoded arguments of the path after the account."""
    if not rest or any(segment == "" for segment in rest):
        return None
    head = rest[0].removesuffix(".json")
    args = tuple(unquote(segment) for segment in rest[1:])
    if head == "Conferences":
        if len(rest) == 1:
            return "conferences", ()
        sid = args[0].removesuffix(".json") if len(rest) == 2 else args[0]
        if len(rest) == 2:
            return "conference", (sid,)
        if rest[2].removesuffix(".json") != "Participants":
            return None
        if len(rest) == 3:
            return "participants", (sid,)
        if len(rest) == 4:
            return "participant", (sid, args[2])
        return None
    if head == "Calls":
        if len(rest) == 1:
            return "calls", ()
        if len(rest) == 2:
            return "call", (args[0].removesuffix(".json"),)
    return None


def _participant_uri(participant: Participant) -> str:
    return (
        f"{ROOT}/{participant.account_sid}/Conferences/{participant.conference_sid}"
        f"/Participants/{participant.call_sid}.json"
    )


def _leg_status(participant: Participant) -> str:
    """A participant's leg as a call status."""
    if participant.status == "connected":
        return "in-progress"
    if participant.live:
        return "ringing"
    return "failed" if participant.status == "failed" else "completed"


def _page_request(query: Params) -> PageRequest:
    """``Page``, ``PageSize`` (capped at 1000) and ``PageToken`` (base64 of the last SID)."""
    size = _integer(query, "PageSize", 1, None)
    page = _integer(query, "Page", 0, None)
    token = query.get("PageToken")
    anchor = None
    if token is not None:
        try:
            decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            decoded = ""
        if not decoded.startswith("A:"):
            raise unprocessable(INVALID, f"Invalid PageToken '{token}'", "/PageToken")
        anchor = "PA" + decoded[2:]
    size = DEFAULT_PAGE_SIZE if size is None else min(size, MAX_PAGE_SIZE)
    return PageRequest(size, page or 0, anchor)


def _token(sid: str) -> str:
    return base64.urlsafe_b64encode(f"A:{sid}".encode()).decode("ascii").rstrip("=")


def _envelope(
    key: str,
    path: str,
    filters: Sequence[tuple[str, str]],
    request: PageRequest,
    items: Sequence[object],
    last: str | None,
    has_next: bool,
) -> dict[str, object]:
    """A TeXML list envelope; ``next_page_uri`` only when another page follows."""

    def uri(page: int, token: str | None) -> str:
        pairs = [*filters, ("Page", str(page)), ("PageSize", str(request.page_size))]
        if token is not None:
            pairs.append(("PageToken", token))
        return f"{path}?{urlencode(pairs, quote_via=quote)}"

    start = request.page * request.page_size
    current = None if request.token is None else _token(request.token[2:])
    body: dict[str, object] = {
        key: list(items),
        "end": start + max(len(items) - 1, 0),
        "first_page_uri": uri(0, None),
        "page": request.page,
        "page_size": request.page_size,
        "start": start,
        "uri": uri(request.page, current),
    }
    if has_next and last is not None:
        body["next_page_uri"] = uri(request.page + 1, _token(last))
    return body


def _date_check(key: str, raw: str, attr: str) -> Callable[[Conference], bool]:
    """``DateCreated=>=2023-05-22`` and friends: the operator is inside the value (UTC days)."""
    match = _DATE_FILTER.match(raw)
    try:
        day = date.fromisoformat(match.group(2)) if match else None
    except ValueError:
        day = None
    if match is None or day is None:
        raise unprocessable(
            INVALID, f"{key} must be YYYY-MM-DD, optionally after >=, <=, > or <", f"/{key}"
        )
    op = match.group(1) or "="
    compare: dict[str, Callable[[date, date], bool]] = {
        "=": lambda a, b: a == b,
        ">=": lambda a, b: a >= b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        "<": lambda a, b: a < b,
    }

    def check(conference: Conference) -> bool:
        value: datetime = getattr(conference, attr)
        return compare[op](value.date(), day)

    return check


def _only(form: Params, allowed: Sequence[str]) -> None:
    """422 for a body field the operation does not declare, or one given twice."""
    for key in form.keys():  # noqa: SIM118  (Params is not a Mapping)
        if key not in allowed:
            raise unprocessable(INVALID, f"Unknown parameter {key}", f"/{key}")
        if len(form.get_list(key)) > 1:
            raise unprocessable(INVALID, f"{key} was given more than once", f"/{key}")


def _boolean(form: Params, key: str) -> bool | None:
    value = form.get(key)
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise unprocessable(BAD_TYPE, f"The '{key}' parameter must be of type 'boolean'", f"/{key}")
    return lowered == "true"


def _integer(params: Params, key: str, low: int | None, high: int | None) -> int | None:
    value = params.get(key)
    if value is None:
        return None
    if not re.fullmatch(r"[+-]?\d+", value.strip()):
        raise unprocessable(BAD_TYPE, f"The '{key}' parameter must be of type 'integer'", f"/{key}")
    number = int(value)
    if (low is not None and number < low) or (high is not None and number > high):
        bounds = f"at least {low}" if high is None else f"between {low} and {high}"
        raise unprocessable(OUT_OF_RANGE, f"{key} must be {bounds}", f"/{key}")
    return number


def _choice(form: Params, key: str, allowed: Sequence[str]) -> str | None:
    value = form.get(key)
    if value is not None and value not in allowed:
        raise unprocessable(BAD_ENUM, f"{key} must be one of {', '.join(allowed)}", f"/{key}")
    return value


def _create_options(form: Params) -> dict[str, object]:
    """Validate a ``DialConferenceParticipantRequest``; the fields given, parsed."""
    _only(
        form,
        (*CREATE_BOOLEANS, *CREATE_INTEGERS, *CREATE_CHOICES, *CREATE_STRINGS, *EVENTS),
    )
    for key in ("From", "To"):
        if not (form.get(key) or "").strip():
            raise unprocessable(MISSING, f"Can't be blank: {key}", f"/{key}")
    options: dict[str, object] = {}
    for key in CREATE_STRINGS:
        if key in form:
            options[key] = form.get(key)
    for key in CREATE_BOOLEANS:
        if key in form:
            options[key] = _boolean(form, key)
    for key, (low, high) in CREATE_INTEGERS.items():
        if key in form:
            options[key] = _integer(form, key, low, high)
    for key, allowed in CREATE_CHOICES.items():
        if key in form:
            options[key] = _choice(form, key, allowed)
    for key, allowed in EVENTS.items():
        if key in form:
            events = (form.get(key) or "").split()
            odd = [e for e in events if e not in allowed]
            if odd or not events:
                raise unprocessable(
                    BAD_ENUM,
                    f"{key} must be space-separated values of {', '.join(allowed)}",
                    f"/{key}",
                )
            options[key] = events
    caller = form.get("CallerId")
    if caller is not None and not DISPLAY_NAME.match(caller):
        raise unprocessable(
            INVALID,
            "CallerId must be 1 to 128 letters, numbers, spaces and -_~!.+ characters",
            "/CallerId",
        )
    coach = form.get("CallSidToCoach")
    if coach is not None and not CALL_SID.match(coach):
        raise unprocessable(INVALID, f"CallSidToCoach {coach} is not a call SID", "/CallSidToCoach")
    return options


def _xml_boolean(element: ET.Element, key: str) -> bool | None:
    value = element.get(key)
    if value is None:
        return None
    if value.lower() not in ("true", "false"):
        raise unprocessable(INVALID, f"<Conference {key}> must be true or false", "/Texml")
    return value.lower() == "true"
