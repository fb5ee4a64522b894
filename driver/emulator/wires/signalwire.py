"""SignalWire's Compatibility ("LaML") REST API, per its spec slice.

Paths ``/api/laml/2010-04-01/Accounts/{ProjectId}/…`` without ``.json``
(resource ``uri`` fields keep it), HTTP Basic with the Project ID and an API
token, UUID ids, form bodies, list envelopes without ``start``/``end``,
``{code, message, more_info, status}`` errors (an ``errors`` array when a
call cannot be created), and request bodies refused when they carry a field
the spec does not list (its ``unevaluatedProperties: not {}``).

Conferences and participants are the shared state's; a participant is listed
once its call is in the conference (``in-progress``), as SignalWire knows no
other participant status while it lasts.  Calls are created and redirected
with inline markup in the ``Twiml`` field (the one field added to the spec's
create- and update-call bodies; see the README), executed by
:mod:`..calls`.  A conference whose first call's ``<Conference>`` names a
``statusCallback`` gets SignalWire's signed status callbacks
(:mod:`.signalwire_callbacks`).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from .. import calls, endpoints
from ..encoding import embed
from ..errors import AUTHENTICATION_FAILED, METHOD_NOT_ALLOWED, ApiError, invalid, not_found
from ..paging import PageRequest, envelope, select
from ..params import Params
from ..resources import API_VERSION, rfc2822
from ..routing import Match, account_segment, match
from ..sids import UuidFactory
from ..state import CONFERENCE_STATUSES, Conference, Participant
from ..wire import (
    TWILIO_FILTERS,
    FilterTable,
    Wire,
    WireError,
    WireReply,
    WireRequest,
    basic_credentials,
)
from .signalwire_callbacks import SignalWireCallbacks

if TYPE_CHECKING:
    from ..emulator import Emulator

BASE_PATH = "/api/laml/2010-04-01"
ROOT = f"{BASE_PATH}/Accounts"
DEMO_PROJECT_ID = "5f1c3b8e-2d4a-4c6e-9a7b-3e8d1f0c2b4a"
"""The project a fresh SignalWire emulator starts with."""
DEMO_API_TOKEN = "PT3a9c1e5b7d2f4a6c8e0b1d3f5a7c9e2b4d6f8a0c1e3b5d7f"
"""The API token of :data:`DEMO_PROJECT_ID`."""
DEMO_SIGNING_KEY = "PSKconfsqlDemoSigningKey0d5e7a9c1b3f"
"""The signing key of :data:`DEMO_PROJECT_ID`: it signs the project's status callbacks
(``confsql listen --sandbox`` trusts it)."""
MORE_INFO = "https://signalwire.com/docs/compatibility-api/reference/errors"

UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
METHODS: dict[str, tuple[str, ...]] = {
    "conferences": ("GET",),
    "conference": ("GET", "POST"),
    "participants": ("GET",),
    "participant": ("GET", "POST", "DELETE"),
    "calls": ("GET", "POST"),
    "call": ("GET", "POST"),
}
_CODES = {401: AUTHENTICATION_FAILED, 404: 20404, 405: METHOD_NOT_ALLOWED, 429: 20429, 500: 20500}
_HTTP_METHODS = ("GET", "POST")

# Request bodies: every field the spec lists (plus Twiml on calls); anything else is refused.
UPDATE_CONFERENCE = frozenset({"Status", "AnnounceUrl", "AnnounceMethod"})
UPDATE_PARTICIPANT = frozenset(
    {
        "AnnounceUrl",
        "AnnounceMethod",
        "Coaching",
        "CallSidToCoach",
        "Hold",
        "HoldMethod",
        "HoldUrl",
        "Muted",
        "WaitUrl",
        "WaitMethod",
    }
)
UPDATE_CALL = frozenset(
    {
        "Url",
        "Method",
        "Status",
        "FallbackUrl",
        "FallbackMethod",
        "StatusCallback",
        "StatusCallbackMethod",
        "Twiml",
    }
)
CREATE_CALL_CHOICES: dict[str, tuple[str, ...]] = {
    "Method": _HTTP_METHODS,
    "FallbackMethod": _HTTP_METHODS,
    "StatusCallbackMethod": _HTTP_METHODS,
    "AsyncAmdStatusCallbackMethod": _HTTP_METHODS,
    "RecordingStatusCallbackMethod": _HTTP_METHODS,
    "MachineDetection": ("Enable", "DetectMessageEnd", "none"),
    "RecordingChannels": ("mono", "dual"),
    "RecordingTrack": ("inbound", "outbound", "both"),
    "Trim": ("trim-silence", "do-not-trim"),
}
CREATE_CALL_INTEGERS: dict[str, tuple[int, int]] = {
    "Timeout": (1, 600),
    "MachineDetectionTimeout": (1, 120),
    "MachineDetectionSpeechThreshold": (1000, 6000),
    "MachineDetectionSpeechEndThreshold": (500, 5000),
    "MachineDetectionSilenceTimeout": (2000, 10000),
    "MachineWordsThreshold": (1, 100),
}
CREATE_CALL_BOOLEANS = ("AsyncAmd", "AsyncAmdPartialResults", "Record")
CREATE_CALL_TEXT = (
    "To",
    "From",
    "Url",
    "ApplicationSid",
    "FallbackUrl",
    "StatusCallback",
    "StatusCallbackEvent",
    "CallerId",
    "SendDigits",
    "AsyncAmdStatusCallback",
    "RecordingStatusCallback",
    "RecordingStatusCallbackEvent",
    "SipAuthUsername",
    "SipAuthPassword",
    "MaxPricePerMinute",
    "Twiml",
)
CREATE_CALL = frozenset(
    (*CREATE_CALL_CHOICES, *CREATE_CALL_INTEGERS, *CREATE_CALL_BOOLEANS, *CREATE_CALL_TEXT)
)
CALL_EVENTS = (
    "initiated",
    "ringing",
    "answered",
    "completed",
    "ringing_forwarded",
    "ringing_queued",
)
RECORDING_EVENTS = ("completed", "in-progress", "absent")
SEND_DIGITS = re.compile(r"^[\d#*wW]{1,32}$")
MAX_PRICE = re.compile(r"^\d+\.?\d{0,4}$")
# The markup's length limits (those of SignalWire's withdrawn Laml/Twiml draft).
MARKUP_LENGTH = (11, 4000)
# The <Conference> attributes SignalWire's cXML documents.
CXML_ATTRIBUTES = calls.COMMON_ATTRIBUTES | {"eventCallbackUrl"}

CONFERENCE_DATES = {"DateCreated": "date_created", "DateUpdated": "date_updated"}
# The day filters: "<" is on or before, ">" on or after (as the Twilio wire reads them).
_COMPARE: dict[str, Callable[[date, date], bool]] = {
    "": operator.eq,
    "<": operator.le,
    ">": operator.ge,
}


class SignalWireWire(Wire):
    """SignalWire: ``/api/laml`` paths without ``.json``, UUIDs, strict request bodies."""

    name = "signalwire"
    base_path = BASE_PATH
    # Twilio's conference filters; the participant list has no Coaching filter.
    list_filters: ClassVar[FilterTable] = {
        "conferences": TWILIO_FILTERS["conferences"],
        "participants": {"Muted": "Muted", "Hold": "Hold"},
    }

    def __init__(self, emulator: Emulator) -> None:
        super().__init__(emulator)
        emulator.state.sids = UuidFactory("confsql-signalwire")
        emulator.state.add_account(DEMO_PROJECT_ID, DEMO_API_TOKEN)
        self.demo_account = DEMO_PROJECT_ID
        # Each project's signing key (Dashboard > API Credentials), which signs its webhooks.
        self.signing_keys = {DEMO_PROJECT_ID: DEMO_SIGNING_KEY}

    def demo_credentials(self) -> dict[str, str]:
        return {"ProjectId": DEMO_PROJECT_ID, "ApiToken": DEMO_API_TOKEN}

    def status_callbacks(self) -> SignalWireCallbacks:
        """SignalWire's fields, signed with the project's signing key."""
        return SignalWireCallbacks(self.emulator.state, self.signing_keys)

    # -- rendering ---------------------------------------------------------------------

    def conference_json(self, conference: Conference) -> dict[str, Any]:
        base = f"{ROOT}/{conference.account_sid}/Conferences/{conference.sid}"
        return {
            "sid": conference.sid,
            "account_sid": conference.account_sid,
            "date_created": rfc2822(conference.date_created),
            "date_updated": rfc2822(conference.date_updated),
            "friendly_name": conference.friendly_name or "",
            "status": conference.status,
            "api_version": API_VERSION,
            "region": conference.region,
            "uri": f"{base}.json",
            "subresource_uris": {
                "participants": f"{base}/Participants.json",
                "recordings": f"{base}/Recordings.json",
            },
        }

    def participant_json(self, participant: Participant) -> dict[str, Any]:
        call = quote(participant.call_sid, safe="")
        return {
            "account_sid": participant.account_sid,
            "call_sid": participant.call_sid,
            "call_sid_to_coach": participant.call_sid_to_coach,
            "coaching": participant.coaching,
            "conference_sid": participant.conference_sid,
            "date_created": rfc2822(participant.date_created),
            # SignalWire knows two: in the conference, or gone (only the first is listed).
            "status": "in-progress" if participant.live else "completed",
            "date_updated": rfc2822(participant.date_updated),
            "end_conference_on_exit": participant.end_conference_on_exit,
            "muted": participant.muted,
            "hold": participant.hold,
            "start_conference_on_enter": participant.start_conference_on_enter,
            "uri": (
                f"{ROOT}/{participant.account_sid}/Conferences/{participant.conference_sid}"
                f"/Participants/{call}.json"
            ),
        }

    def call_json(self, call: calls.CallView) -> dict[str, Any]:
        """The CallResponse: the spec's required fields, null where the emulator has no value."""
        base = f"{ROOT}/{call.account_sid}/Calls/{call.sid}"
        ended = not call.live
        seconds = int((call.date_updated - call.date_created).total_seconds())
        return {
            "sid": call.sid,
            "account_sid": call.account_sid,
            "date_created": rfc2822(call.date_created),
            "date_updated": rfc2822(call.date_updated),
            "parent_call_sid": None,
            "to": call.to or "",
            "formatted_to": call.to or "",
            "to_formatted": call.to or "",
            "from": call.from_ or "",
            "formatted_from": call.from_ or "",
            "from_formatted": call.from_ or "",
            "phone_number_sid": None,
            "status": call.status,
            "start_time": rfc2822(call.date_created) if call.status != "queued" else None,
            "end_time": rfc2822(call.date_updated) if ended else None,
            "duration": seconds if ended else 0,
            "price": None,
            "price_unit": "USD",
            "direction": "outbound",
            "answered_by": None,
            "api_version": API_VERSION,
            "forwarded_from": None,
            "caller_name": None,
            "uri": f"{base}.json",
            "subresource_uris": {"notifications": None, "recordings": f"{base}/Recordings.json"},
            "annotation": None,
            "group_sid": None,
            "audio_in_mos": None,
            "sip_result_code": None,
            "audio_rtt_avg": None,
            "audio_rtt_min": None,
            "audio_rtt_max": None,
            "audio_out_jitter_min": None,
            "audio_out_jitter_max": None,
            "audio_out_jitter_avg": None,
            "audio_out_lost": None,
        }

    def lists(self, participant: Participant) -> bool:
        """Only calls that are in the conference (SignalWire's ``in-progress``)."""
        return participant.status == "connected"

    def _conference_item(self, conference: Conference) -> object:
        item = conference.rendered
        if item is None:
            item = conference.rendered = embed(self.conference_json(conference))
        return item

    def _participant_item(self, participant: Participant) -> object:
        item = participant.rendered
        if item is None:
            item = participant.rendered = embed(self.participant_json(participant))
        return item

    # -- requests ----------------------------------------------------------------------

    def handle(self, request: WireRequest) -> WireReply:
        try:
            return self._handle(request)
        except ApiError as exc:
            raise WireError(exc.status, exc.message, exc.code) from None

    def operation(self, path: str) -> Match | None:
        versioned = _versioned(path)
        return None if versioned is None else match(versioned, suffix="")

    def _handle(self, request: WireRequest) -> WireReply:
        versioned = _versioned(request.path)
        if versioned is None:
            raise not_found(request.path)
        path_account = account_segment(versioned)
        if path_account is None:
            raise not_found(request.path)
        account = self._authenticate(request.headers.get("authorization"))
        request.record.account_sid = account
        if account != path_account:
            raise ApiError(401, AUTHENTICATION_FAILED, "Authentication failed")
        route = match(versioned, suffix="")
        if route is None:
            raise not_found(request.path)
        method = "GET" if request.method == "HEAD" else request.method
        if method not in METHODS[route.operation]:
            raise ApiError(
                405, METHOD_NOT_ALLOWED, f"Method {request.method} is not allowed on {request.path}"
            )
        status, body = self._run(route.operation, route.args, method, account, request)
        return WireReply(status, body)

    def _run(
        self, op: str, args: tuple[str, ...], method: str, account: str, request: WireRequest
    ) -> tuple[int, Any]:
        state, query, form, path = self.emulator.state, request.query, request.form, request.path
        if op == "conferences":
            return 200, self._list_conferences(account, query, path)
        if op == "participants":
            return 200, self._list_participants(account, args[0], query, path)
        if op == "calls":
            if method == "GET":
                return 200, self._list_calls(account, query, path)
            return 200, self._create_call(account, form)
        if op == "call":
            return 200, self._call(account, args[0], method, form, path)
        if method == "POST":
            _only(form, UPDATE_CONFERENCE if op == "conference" else UPDATE_PARTICIPANT)
        with state.lock:
            if op == "conference":
                if method == "POST":
                    endpoints.update_conference(state, account, args[0], form, path)
                return 200, self.conference_json(_conference(state, account, args[0], path))
            participant = self._participant(account, args[0], args[1], path)
            if method == "DELETE":
                endpoints.delete_participant(state, account, args[0], participant.call_sid, path)
                return 204, None
            if method == "POST":
                endpoints.update_participant(
                    state, account, args[0], participant.call_sid, form, path, call_sid=UUID
                )
            return 200, self.participant_json(participant)

    def _authenticate(self, header: str | None) -> str:
        pair = basic_credentials(header)
        account = self.emulator.state.authenticate(*pair) if pair else None
        if account is None:
            raise ApiError(401, AUTHENTICATION_FAILED, "Authentication failed")
        return account

    # -- conferences and participants --------------------------------------------------

    def _list_conferences(self, account: str, query: Params, path: str) -> dict[str, object]:
        request = PageRequest.parse(query)
        checks: list[Callable[[Conference], bool]] = []
        status = query.choice("Status", CONFERENCE_STATUSES)
        if status is not None:
            checks.append(lambda c: c.status == status)
        name = query.get("FriendlyName")
        if name:
            checks.append(lambda c: c.friendly_name == name)
        filters = [(k, v) for k in ("FriendlyName", "Status") if (v := query.get(k) or "")]
        for column, attribute in CONFERENCE_DATES.items():
            for suffix, compare in _COMPARE.items():
                day = query.day(column + suffix)
                if day is not None:
                    checks.append(endpoints.date_check(attribute, compare, day))
                    filters.append((column + suffix, day.isoformat()))
        keep = None if not checks else (lambda c: all(check(c) for check in checks))
        state = self.emulator.state
        with state.lock:
            listing = state.by_account.get(account, [])

            def locate(sid: str) -> int | None:
                found = state.conference(account, sid)
                return None if found is None else state.conference_position(found)

            window = select(listing, request, keep, locate)
            items = [self._conference_item(c) for c in window.items]
            sids = (window.items[0].sid, window.items[-1].sid) if window.items else None
        return _envelope("conferences", path, filters, request, items, sids, window.has_next)

    def _list_participants(
        self, account: str, conference_sid: str, query: Params, path: str
    ) -> dict[str, object]:
        request = PageRequest.parse(query)
        muted, hold = query.boolean("Muted"), query.boolean("Hold")
        filters = [(k, query.get(k) or "") for k in ("Muted", "Hold") if k in query]

        def keep(p: Participant) -> bool:
            return (
                self.lists(p)
                and (muted is None or p.muted == muted)
                and (hold is None or p.hold == hold)
            )

        state = self.emulator.state
        with state.lock:
            conference = _conference(state, account, conference_sid, path)

            def locate(sid: str) -> int | None:
                found = state.calls.get(sid)
                in_it = found is not None and found.conference_sid == conference.sid
                return found.index if found is not None and in_it else None

            window = select(conference.participants, request, keep, locate)
            items = [self._participant_item(p) for p in window.items]
            sids = (window.items[0].call_sid, window.items[-1].call_sid) if window.items else None
        return _envelope("participants", path, filters, request, items, sids, window.has_next)

    def _participant(
        self, account: str, conference_sid: str, call_sid: str, path: str
    ) -> Participant:
        """A listed participant by its call's id (there are no labels), or a 404."""
        conference = _conference(self.emulator.state, account, conference_sid, path)
        found = self.emulator.state.calls.get(call_sid)
        if found is None or found.conference_sid != conference.sid or not self.lists(found):
            raise not_found(path)
        return found

    # -- calls -------------------------------------------------------------------------

    def _list_calls(self, account: str, query: Params, path: str) -> dict[str, object]:
        """The calls placed through the API, newest first (Status, From and To filters)."""
        request = PageRequest.parse(query)
        wanted = {k: query.get(k) for k in ("Status", "From", "To") if query.get(k) is not None}
        state = self.emulator.state
        with state.lock:
            views = [
                view
                for sid in state.live_calls
                if (view := calls.find_call(state, account, sid)) is not None
            ]
            views.sort(key=lambda v: (-v.date_created.timestamp(), v.sid))
            positions = {v.sid: i for i, v in enumerate(views)}

            def keep(v: calls.CallView) -> bool:
                shown = {"Status": v.status, "From": v.from_, "To": v.to}
                return all(shown[k] == value for k, value in wanted.items())

            window = select(views, request, keep if wanted else None, positions.get)
            items = [self.call_json(v) for v in window.items]
            sids = (window.items[0].sid, window.items[-1].sid) if window.items else None
        filters = [(k, str(v)) for k, v in wanted.items()]
        return _envelope("calls", path, filters, request, items, sids, window.has_next)

    def _create_call(self, account: str, form: Params) -> dict[str, Any]:
        """``POST /Calls`` (200): place a call; inline markup dials it into a conference."""
        try:
            dial = _check_create(form)
            state = self.emulator.state
            with state.lock:
                conference = calls.check_dial(state, account, dial) if dial else None
                call = state.new_call(
                    account, form.get("From") or "", form.get("To") or "", "queued"
                )
                if dial is not None:
                    calls.join(state, account, call.sid, dial, conference)
                view = calls.find_call(state, account, call.sid)
                assert view is not None
                return self.call_json(view)
        except ApiError as exc:  # a refused create answers the errors array
            answer = 400 if exc.status in (400, 422) else exc.status
            raise WireError(answer, exc.message, str(exc.code), shape="array") from None

    def _call(self, account: str, sid: str, method: str, form: Params, path: str) -> dict[str, Any]:
        """``GET``/``POST /Calls/{Sid}``: fetch, or update (markup, hang up, or a new Url)."""
        dial = None
        status = None
        if method == "POST":
            _only(form, UPDATE_CALL)
            status = form.choice("Status", ("canceled", "completed"))
            for key in ("Method", "FallbackMethod", "StatusCallbackMethod"):
                form.method(key)
            dial = _markup(form)
        state = self.emulator.state
        with state.lock:
            view = calls.find_call(state, account, sid)
            if view is None:
                raise not_found(path)
            if dial is not None:
                calls.redirect(state, view, dial)
            if status == "completed" or (status == "canceled" and view.status != "in-progress"):
                calls.hang_up(state, view)
            view = calls.find_call(state, account, sid)
            assert view is not None
            return self.call_json(view)

    # -- errors --------------------------------------------------------------------------

    def error(self, error: WireError) -> WireReply:
        code = error.code if error.code is not None else _CODES.get(error.status, 20500)
        headers = {"WWW-Authenticate": 'Basic realm="SignalWire"'} if error.status == 401 else {}
        if error.extra.get("shape") == "array":
            item = {"code": str(code), "message": error.message, "more_info": MORE_INFO}
            return WireReply(error.status, {"errors": [item]}, headers)
        body = {
            "code": int(code) if str(code).isdigit() else 20500,
            "message": error.message,
            "more_info": MORE_INFO,
            "status": error.status,
        }
        return WireReply(error.status, body, headers)


def _versioned(path: str) -> str | None:
    """A path under :data:`ROOT` as Twilio spells it (``/2010-04-01/Accounts/…``)."""
    if not path.startswith(ROOT + "/"):
        return None
    return path[len(BASE_PATH) - len("/2010-04-01") :]


def _envelope(
    key: str,
    path: str,
    filters: list[tuple[str, str]],
    request: PageRequest,
    items: Sequence[object],
    sids: tuple[str, str] | None,
    has_next: bool,
) -> dict[str, object]:
    """SignalWire's list envelope: Twilio's without ``start`` and ``end``."""
    body = envelope(key, path, filters, request, items, sids, has_next)
    del body["start"], body["end"]
    return body


def _conference(state: Any, account: str, sid: str, path: str) -> Conference:
    conference: Conference | None = state.conference(account, sid)
    if conference is None:
        raise not_found(path)
    return conference


def _only(form: Params, allowed: frozenset[str]) -> None:
    """A 422 naming the body fields the spec does not list (unevaluatedProperties)."""
    unknown = list(dict.fromkeys(key for key, _ in form.pairs if key not in allowed))
    if unknown:
        raise ApiError(422, 20001, f"Unknown parameter(s): {', '.join(unknown)}")


def _markup(form: Params) -> calls.Dial | None:
    """The ``Twiml`` document of a create/update call request, parsed (None without one)."""
    text = form.get("Twiml")
    if text is None:
        return None
    if form.get("Url") is not None or form.get("ApplicationSid") is not None:
        raise invalid("Twiml cannot be used together with Url or ApplicationSid")
    low, high = MARKUP_LENGTH
    if not low <= len(text) <= high:
        raise invalid(f"Twiml must be {low} to {high} characters long")
    return calls.parse_markup(text, CXML_ATTRIBUTES)


def _check_create(form: Params) -> calls.Dial | None:
    """Validate a create-call body (CreateCallRequest, plus Twiml); its parsed markup."""
    _only(form, CREATE_CALL)
    for key in ("To", "From"):
        if not (form.get(key) or "").strip():
            raise invalid(f"'{key}' is required")
    if not any(form.get(key) for key in ("Url", "ApplicationSid", "Twiml")):
        raise invalid("One of Url, ApplicationSid or Twiml is required")
    for key, allowed in CREATE_CALL_CHOICES.items():
        form.choice(key, allowed)
    for key, (low, high) in CREATE_CALL_INTEGERS.items():
        form.integer(key, low, high)
    for key in CREATE_CALL_BOOLEANS:
        form.boolean(key)
    for event in form.get_list("StatusCallbackEvent"):
        if event not in CALL_EVENTS:
            raise invalid(f"Invalid value for StatusCallbackEvent: '{event}'")
    for event in (form.get("RecordingStatusCallbackEvent") or "").split():
        if event not in RECORDING_EVENTS:
            raise invalid(f"Invalid value for RecordingStatusCallbackEvent: '{event}'")
    form.pattern("ApplicationSid", UUID, "UUID")
    form.pattern("SendDigits", SEND_DIGITS, "digit sequence")
    form.pattern("MaxPricePerMinute", MAX_PRICE, "price")
    return _markup(form)
