"""Telnyx Call Control v2: the wire behind ``Provider=Telnyx``.

Served under ``/v2`` (BaseUrl = server URL + ``/v2``), as the spec slice
``telnyx/conferences.openapi.yml`` has it: Bearer auth with an API key, JSON
bodies, every success a 200 with ``{"data": …}``, lists as ``{data, meta}``
with deep-object query keys written literally (``filter[status]``,
``page[size]``), conference actions answering ``{"data": {"result": "ok"}}``,
errors as ``{"errors": [{"code": "90058", "title", "detail", "source"}]}``,
ISO 8601 timestamps, UUID conference ids and ``v3:…`` call_control_ids.

Where the spec is silent, this emulator:

* lists conferences by ``expires_at`` (creation + 4 h) descending, ties by id,
  and a conference's live participants in join order (those that left are
  omitted, as on the Twilio wire);
* answers 422/90058 when a join, leave or update names no conference (those
  operations document no 404), and 422/90019 / 422/90018 for a conference or
  call that has ended;
* refuses request-body and query keys it does not know (400/10015), the
  cursors ``page[after]``/``page[before]`` (no answer ever carries one) and
  ``page[limit]``;
* remembers ``command_id`` exactly where the spec documents it: dial, join,
  leave and update (per operation), hangup (per call) and end (per
  conference); a repeat is answered as the first one was and changes nothing.

Knob for tests: :attr:`TelnyxWire.before_page` runs before each conference
list page is computed, so a test can add or end conferences between pages.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import unquote

from ..routing import Match
from ..sids import UuidFactory
from ..state import Call, Conference, Participant, State
from ..wire import FilterTable, Wire, WireError, WireReply, WireRequest, bearer_token

if TYPE_CHECKING:
    from ..callbacks import StatusCallbacks
    from ..emulator import Emulator
    from ..faults import RequestRecord

# The demo credentials a fresh emulator accepts (never valid on Telnyx itself).
DEMO_API_KEY = "KEY0CONFSQLDEMO0000000000000000000_emulatorOnlyKeyDoNotUse"
DEMO_CONNECTION_ID = "7a1d3f0e-5c2b-4e8a-9b6d-0c4f2e1a3b5d"
# The state keeps data per account; Telnyx paths carry none, so one internal owner.
DEMO_OWNER = "d2c4a6e8-0b1d-4f3a-8c5e-7a9b1c3d5e7f"
DEMO_WEBHOOK_SEED = hashlib.sha256(b"confsql emulator: Telnyx webhook signing key").digest()
"""The Ed25519 private key (seed) that signs the emulator's webhooks."""
DEMO_WEBHOOK_PUBLIC_KEY = "CTMGcpfXDYPewCq5oXYgyWG/CZBHLKLy3oDUR6n6h64="
"""Its public key in base64, as the Telnyx portal shows an account's key
(``confsql listen --telnyx-public-key``; ``confsql listen --sandbox`` trusts it)."""

# Webhooks (see .telnyx_webhooks): keys the wire keeps them in.
CREATED = "conference-created"
"""The wire's own notification when a dial creates a conference (Twilio has no such event)."""
CREATOR = "telnyx_creator"
"""Key in ``Conference.options``: the call_control_id of the leg that created it."""
WEBHOOK_URL = "webhook_url"
"""Key in a leg's options (participant or call): the ``webhook_url`` of its dial."""

LIFETIME = timedelta(hours=4)  # "after 4 hours regardless of the number of participants"
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 250
ERROR_DOCS = "https://developers.telnyx.com/docs/overview/errors/{code}"

# Error codes (the spec's examples).
AUTH_FAILED = "10009"
MISSING = "10004"
BAD_REQUEST = "10015"
INVALID_CONNECTION = "10015"
NOT_E164 = "10016"
INVALID_TYPE = "10026"
INVALID_ENUM = "10032"
OUT_OF_RANGE = "10033"
NOT_FOUND = "10007"
GENERIC = "10007"
INVALID_CALL = "90015"
CALL_ENDED = "90018"
CONFERENCE_ENDED = "90019"
CONFERENCE_NOT_FOUND = "90058"

_TITLES = {
    AUTH_FAILED: "Authentication failed",
    MISSING: "Missing required parameter",
    NOT_E164: "Phone number must be in +E164 format",
    INVALID_TYPE: "Invalid parameter type",
    INVALID_ENUM: "Invalid enumerated value",
    OUT_OF_RANGE: "Value outside of range",
    INVALID_CALL: "Invalid Call Control ID",
    CALL_ENDED: "Call has already ended",
    CONFERENCE_ENDED: "Conference has already ended",
    CONFERENCE_NOT_FOUND: "Invalid conference_id",
}
_STATUS_TITLES = {400: "Bad Request", 404: "Resource not found", 405: "Method not allowed"}
_STATUS_CODES = {400: BAD_REQUEST, 401: AUTH_FAILED, 404: NOT_FOUND, 405: NOT_FOUND, 422: MISSING}

CONFERENCE_STATUS = {"init": "init", "in-progress": "in_progress", "completed": "completed"}
PARTICIPANT_STATUS = {
    "queued": "joining",
    "connecting": "joining",
    "ringing": "joining",
    "connected": "joined",
    "complete": "left",
    "failed": "left",
}
END_REASON = {
    "conference-ended-via-api": "ended_via_api",
    "participant-with-end-conference-on-exit-left": "host_left",
    "participant-with-end-conference-on-exit-kicked": "host_left",
    "last-participant-left": "all_left",
    "last-participant-kicked": "all_left",
}
BEEPS = ("always", "never", "on_enter", "on_exit")
ROLES = ("barge", "monitor", "none", "whisper")
REGIONS = ("Australia", "Europe", "Middle East", "US")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_DESTINATION = re.compile(r"\+[1-9][0-9]{1,14}(,[0-9A-Da-d*#wW]+)?|sips?:[^\s@]+@\S+")


def _spec(**groups: str) -> dict[str, type]:
    """Body keys by JSON type: ``_spec(str="a b", bool="c")`` -> {"a": str, "b": str, "c": bool}."""
    kinds = {"str": str, "bool": bool, "int": int, "list": list, "dict": dict, "any": object}
    return {key: kinds[kind] for kind, keys in groups.items() for key in keys.split()}


# Body keys each operation takes (anything else is refused, so a client's slip shows).
_JOINING = "end_conference_on_exit soft_end_conference_on_exit hold mute start_conference_on_enter"
CONFERENCE_CONFIG = _spec(
    str="id conference_name hold_audio_url hold_media_name supervisor_role beep_enabled",
    bool="early_media start_conference_on_create " + _JOINING,
    list="whisper_call_control_ids",
)
DIAL = _spec(
    str="connection_id to from from_display_name command_id client_state record record_channels "
    "record_track record_trim record_format webhook_url webhook_url_method",
    int="timeout_secs time_limit_secs",
    dict="conference_config",
)
JOIN = _spec(
    str="call_control_id client_state command_id hold_audio_url hold_media_name supervisor_role "
    "beep_enabled region",
    bool=_JOINING,
    list="whisper_call_control_ids",
)
LEAVE = _spec(str="call_control_id command_id beep_enabled region")
MUTE = _spec(list="call_control_ids", str="region")
HOLD = _spec(list="call_control_ids", str="audio_url media_name region")
UPDATE = _spec(
    str="call_control_id command_id region supervisor_role", list="whisper_call_control_ids"
)
END = _spec(str="command_id")
PLAY = _spec(str="audio_url media_name region", list="call_control_ids", any="loop")
PATCH = _spec(str="beep_enabled", bool="end_conference_on_exit soft_end_conference_on_exit")
HANGUP = _spec(str="client_state command_id", any="custom_headers")


def iso(value: datetime) -> str:
    """ISO 8601 with milliseconds and ``Z``, as Telnyx writes timestamps."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def derived_id(kind: str, call_control_id: str) -> str:
    """A stable UUID for something tied to one call leg (participant id, leg, session)."""
    digest = hashlib.sha256(f"{kind}:{call_control_id}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


class TelnyxIds(UuidFactory):
    """UUIDs for conferences; ``v3:…`` tokens (URL-safe base64) for call legs.

    ``on_reset`` runs when the state is cleared, so the wire forgets its
    per-state memory (``command_id``s) at the same moment.
    """

    def __init__(self, salt: str, on_reset: Callable[[], None]) -> None:
        super().__init__(salt)
        self._on_reset = on_reset

    def next(self, prefix: str) -> str:
        """A call_control_id for a call (``CA``), a UUID for anything else."""
        if prefix != "CA":
            return super().next(prefix)
        self._counters[prefix] += 1
        seed = f"{self._salt}:{prefix}:{self._counters[prefix]}".encode()
        token = base64.urlsafe_b64encode(hashlib.sha512(seed).digest()[:40]).decode()
        return "v3:" + token.rstrip("=")

    def reset(self) -> None:
        """Restart the counters and tell the wire its state was cleared."""
        super().reset()
        self._on_reset()


class TelnyxWire(Wire):
    """Telnyx Call Control v2 over the shared emulator state."""

    name = "telnyx"
    base_path = "/v2"
    # Deep-object filters; dates cannot be filtered, nor is whispering a column.
    list_filters: ClassVar[FilterTable] = {
        "conferences": {"filter[status]": "Status", "filter[name]": "FriendlyName"},
        "participants": {"filter[muted]": "Muted", "filter[on_hold]": "Hold"},
    }
    filter_values: ClassVar[FilterTable] = {
        "Status": {wire: ours for ours, wire in CONFERENCE_STATUS.items()}
    }

    def __init__(self, emulator: Emulator) -> None:
        super().__init__(emulator)
        self.state: State = emulator.state
        self.state.sids = TelnyxIds("confsql-telnyx", self._forget)
        self.state.add_account(DEMO_OWNER, uuid.uuid4().hex)  # no Basic auth on this wire
        self.state.add_token(DEMO_API_KEY, DEMO_OWNER)
        self.demo_account = DEMO_OWNER
        self.connections = {DEMO_CONNECTION_ID}
        # (operation, scope, command_id) -> the answer first given.
        self.commands: dict[tuple[str, str, str], dict[str, Any]] = {}
        # Test knob: called with the requested page number before a conference page is cut.
        self.before_page: Callable[[int], None] | None = None
        # The demo Call Control application's webhook URL: where a call's webhooks go when
        # its dial gave no webhook_url (None: nowhere). Cleared with the state.
        self.app_webhook_url: str | None = None
        # Signs the webhooks (Ed25519 seed; DEMO_WEBHOOK_PUBLIC_KEY is its public key).
        self.webhook_seed = DEMO_WEBHOOK_SEED

    def _forget(self) -> None:
        self.commands.clear()
        self.before_page = None
        self.app_webhook_url = None

    def status_callbacks(self) -> StatusCallbacks:
        """Telnyx's conference webhooks: JSON signed with Ed25519 (.telnyx_webhooks)."""
        from .telnyx_webhooks import TelnyxWebhooks

        return TelnyxWebhooks(self)

    def leg_webhook_url(self, call_control_id: str) -> str | None:
        """Where a call leg's webhooks go: its dial's webhook_url, else the application's."""
        for leg in (
            self.state.calls.get(call_control_id),
            self.state.live_calls.get(call_control_id),
        ):
            url = leg.options.get(WEBHOOK_URL) if leg is not None else None
            if isinstance(url, str) and url:
                return url
        return self.app_webhook_url

    # --- rendering --------------------------------------------------------------

    def conference_json(self, conference: Conference) -> dict[str, Any]:
        """A ``Conference`` (list item and ``data`` of a fetch)."""
        out: dict[str, Any] = {
            "record_type": "conference",
            "id": conference.sid,
            "name": conference.friendly_name or "",
            "created_at": iso(conference.date_created),
            "expires_at": iso(conference.date_created + LIFETIME),
            "updated_at": iso(conference.date_updated),
            "region": conference.region,
            "status": CONFERENCE_STATUS[conference.status],
        }
        connection = conference.options.get("connection_id")
        if isinstance(connection, str):
            out["connection_id"] = connection
        if conference.status == "completed":
            reason = conference.options.get("end_reason") or END_REASON.get(
                conference.reason_conference_ended or "", "all_left"
            )
            out["end_reason"] = reason
            ending = conference.call_sid_ending_conference
            if ending:
                out["ended_by"] = {
                    "call_control_id": ending,
                    "call_session_id": derived_id("session", ending),
                }
        return out

    def participant_json(self, participant: Participant) -> dict[str, Any]:
        """A ``Participant`` as the participant list renders it."""
        conference = self.state.conferences[participant.conference_sid]
        return {
            "record_type": "participant",
            "id": derived_id("participant", participant.call_sid),
            "call_leg_id": derived_id("leg", participant.call_sid),
            "call_control_id": participant.call_sid,
            "conference": {"id": conference.sid, "name": conference.friendly_name or ""},
            "whisper_call_control_ids": _whispers_to(participant),
            "created_at": iso(participant.date_created),
            "updated_at": iso(participant.date_updated),
            "end_conference_on_exit": participant.end_conference_on_exit,
            "soft_end_conference_on_exit": bool(
                participant.options.get("soft_end_conference_on_exit", False)
            ),
            "status": PARTICIPANT_STATUS[participant.status],
            "muted": participant.muted,
            "on_hold": participant.hold,
        }

    def participant_resource(self, participant: Participant) -> dict[str, Any]:
        """A ``ConferenceParticipant`` (fetch and PATCH answers: flat ``conference_id``)."""
        out: dict[str, Any] = {
            "id": derived_id("participant", participant.call_sid),
            "call_control_id": participant.call_sid,
            "call_leg_id": derived_id("leg", participant.call_sid),
            "conference_id": participant.conference_sid,
            "created_at": iso(participant.date_created),
            "updated_at": iso(participant.date_updated),
            "end_conference_on_exit": participant.end_conference_on_exit,
            "soft_end_conference_on_exit": bool(
                participant.options.get("soft_end_conference_on_exit", False)
            ),
            "muted": participant.muted,
            "on_hold": participant.hold,
            "status": PARTICIPANT_STATUS[participant.status],
            "whisper_call_control_ids": _whispers_to(participant),
        }
        if participant.label is not None:
            out["label"] = participant.label
        return out

    def demo_credentials(self) -> dict[str, str]:
        return {"ApiKey": DEMO_API_KEY, "ConnectionId": DEMO_CONNECTION_ID}

    # --- transport -------------------------------------------------------------

    def error(self, error: WireError) -> WireReply:
        code = str(error.code) if error.code is not None else None
        code = code or _STATUS_CODES.get(error.status, GENERIC)
        item: dict[str, Any] = {
            "code": code,
            "title": error.extra.get("title")
            or _TITLES.get(code)
            or _STATUS_TITLES.get(error.status, "Error"),
            "detail": error.message,
        }
        pointer = error.extra.get("pointer")
        if pointer:
            item["source"] = {"pointer": pointer}
        parameter = error.extra.get("parameter")
        if parameter:
            item["source"] = {"parameter": parameter}
        if error.status == 401:
            item["meta"] = {"url": ERROR_DOCS.format(code=code)}
        return WireReply(error.status, {"errors": [item]})

    def too_many_requests(self, retry_after: float | None) -> WireReply:
        reply = self.error(WireError(429, "Too many requests", GENERIC, title="Too many requests"))
        if retry_after is not None:
            value = float(retry_after)
            reply.headers["Retry-After"] = str(int(value)) if value.is_integer() else f"{value:g}"
        return reply

    def internal_error(self) -> WireReply:
        return self.error(WireError(500, "Internal server error", GENERIC))

    def operation(self, path: str) -> Match | None:
        prefix = self.base_path + "/"
        if not path.startswith(prefix):
            return None
        parts = [unquote(p) for p in path[len(prefix) :].split("/")]
        if "" in parts:
            return None
        head, rest = parts[0], tuple(parts[1:])
        if head == "calls":
            if not rest:
                return Match("calls", ())
            if len(rest) == 3 and rest[1] == "actions":
                return Match("call", (rest[0], rest[2]))
            return None
        if head != "conferences" or len(rest) > 3:
            return None
        if len(rest) == 3 and rest[1] == "actions":
            return Match("conference", (rest[0], rest[2]))
        if len(rest) >= 2 and rest[1] != "participants":
            return None
        operation = ("conferences", "conference", "participants", "participant")[len(rest)]
        return Match(operation, rest[:1] + rest[2:])

    def later_page(self, record: RequestRecord) -> bool:
        number = dict(record.query).get("page[number]", "1")
        return number.strip() not in ("", "1")

    def page_size(self, record: RequestRecord) -> int | None:
        size = dict(record.query).get("page[size]")
        return int(size) if size is not None and size.strip().isdigit() else None

    def handle(self, request: WireRequest) -> WireReply:
        prefix = self.base_path + "/"
        if not request.path.startswith(prefix):
            raise WireError(404, "Resource not found")
        owner = self._authenticate(request.headers.get("authorization"))
        request.record.account_sid = owner
        parts = [unquote(p) for p in request.path[len(prefix) :].split("/")]
        method = request.method.upper()
        with self.state.lock:
            return WireReply(200, self._route(owner, parts, method, request))

    def _authenticate(self, header: str | None) -> str:
        token = bearer_token(header)
        owner = self.state.authenticate_token(token) if token else None
        if owner is None:
            raise WireError(
                401,
                "The required authentication headers were either invalid or not included in "
                "the request.",
                AUTH_FAILED,
            )
        return owner

    def _route(self, owner: str, parts: list[str], method: str, request: WireRequest) -> Any:
        n = len(parts)
        allowed: str
        if parts[0] == "conferences":
            if n == 1:
                allowed = "GET"
                if method == allowed:
                    return self.list_conferences(owner, request)
            elif n == 2:
                allowed = "GET"
                if method == allowed:
                    _no_query(request)
                    return {"data": self.conference_json(self._by_id(owner, parts[1]))}
            elif n == 3 and parts[2] == "participants":
                allowed = "GET"
                if method == allowed:
                    return self.list_participants(owner, parts[1], request)
            elif n == 4 and parts[2] == "participants":
                allowed = "GET, PATCH"
                if method == "GET":
                    _no_query(request)
                    found = self._participant_by_id(owner, parts[1], parts[3])
                    return {"data": self.participant_resource(found)}
                if method == "PATCH":
                    return self.patch_participant(owner, parts[1], parts[3], request)
            elif n == 4 and parts[2] == "actions":
                allowed = "POST"
                action = _ACTIONS.get(parts[3])
                if action is None:
                    raise WireError(404, f"Unknown conference action {parts[3]!r}")
                if method == allowed:
                    return action(self, owner, parts[1], request)
            else:
                raise WireError(404, "Resource not found")
        elif parts[0] == "calls" and n == 1:
            allowed = "POST"
            if method == allowed:
                return self.dial(owner, request)
        elif parts[0] == "calls" and n == 4 and parts[2:] == ["actions", "hangup"]:
            allowed = "POST"
            if method == allowed:
                return self.hangup(owner, parts[1], request)
        else:
            raise WireError(404, "Resource not found")
        raise WireError(405, f"Method {method} is not allowed here (allowed: {allowed})")

    # --- conferences ---------------------------------------------------------------

    def list_conferences(self, owner: str, request: WireRequest) -> dict[str, Any]:
        """``GET /conferences``: ``filter[name]``, ``filter[status]``, page-number paging."""
        query = request.query
        _known(query.keys(), ("filter[name]", "filter[status]", "region", *_PAGE_KEYS))
        number, size = _paging(query)
        status = _choice(query.get("filter[status]"), ("init", "in_progress", "completed"))
        name = query.get("filter[name]")
        _region(query.get("region"), parameter="region")
        if self.before_page is not None:
            self.before_page(number)
        wanted = next((k for k, v in CONFERENCE_STATUS.items() if v == status), None)
        chosen = [
            c
            for c in self.state.by_account.get(owner, [])
            if (wanted is None or c.status == wanted) and (name is None or c.friendly_name == name)
        ]
        window = chosen[(number - 1) * size : number * size]
        return {
            "data": [self.conference_json(c) for c in window],
            "meta": _meta(number, size, len(chosen)),
        }

    def list_participants(self, owner: str, ref: str, request: WireRequest) -> dict[str, Any]:
        """``GET /conferences/{id}/participants`` (id only): live participants, join order."""
        query = request.query
        flags = ("filter[muted]", "filter[on_hold]", "filter[whispering]")
        _known(query.keys(), (*flags, "region", *_PAGE_KEYS))
        number, size = _paging(query)
        muted, on_hold, whispering = (_query_bool(query.get(k), k) for k in flags)
        conference = self._by_id(owner, ref)
        chosen = [
            p
            for p in conference.live_participants()
            if (muted is None or p.muted == muted)
            and (on_hold is None or p.hold == on_hold)
            and (whispering is None or bool(_whispers_to(p)) == whispering)
        ]
        window = chosen[(number - 1) * size : number * size]
        return {
            "data": [self.participant_json(p) for p in window],
            "meta": _meta(number, size, len(chosen)),
        }

    def _by_id(self, owner: str, ref: str) -> Conference:
        """A conference by id only (fetch, participants, end): 404/90058 otherwise."""
        conference = self.state.conference(owner, ref)
        if conference is None:
            raise WireError(404, "The conference does not exist.", CONFERENCE_NOT_FOUND)
        return conference

    def _by_id_or_name(self, owner: str, ref: str, status: int = 404) -> Conference:
        """A conference by id, or the live one of that name (the actions that take either)."""
        conference = self.state.conference(owner, ref) or self.state.live_conference_named(
            owner, ref
        )
        if conference is None:
            raise WireError(status, "The conference does not exist.", CONFERENCE_NOT_FOUND)
        return conference

    # --- conference actions ------------------------------------------------------------

    def join(self, owner: str, ref: str, request: WireRequest) -> dict[str, Any]:
        """``POST /conferences/{id}/actions/join``: move a live call into the conference."""
        body = _body(request, JOIN, required=("call_control_id",))
        conference = self._by_id_or_name(owner, ref, status=422)
        repeat = self._repeat("join", "", body)
        if repeat is not None:
            return repeat
        _live(conference)
        call_control_id = body["call_control_id"]
        self._call_is_live(call_control_id)
        _beep(body)
        role = _choice(body.get("supervisor_role"), ROLES, pointer="/supervisor_role")
        whispers = _ids(body, "whisper_call_control_ids")
        _check_hold_media(body, "hold_audio_url", "hold_media_name")
        state = body.get("client_state")
        if state is not None:
            _base64(state, "/client_state")
        participant = self.state.join_call(
            call_control_id,
            conference,
            muted=bool(body.get("mute", False)),
            hold=bool(body.get("hold", False)),
            end_conference_on_exit=bool(body.get("end_conference_on_exit", False)),
            start_conference_on_enter=bool(body.get("start_conference_on_enter", False)),
            coaching=role == "whisper" and bool(whispers),
            call_sid_to_coach=whispers[0] if role == "whisper" and len(whispers) == 1 else None,
            options={
                **self._leg_options(call_control_id),
                **{
                    k: v
                    for k, v in body.items()
                    if k not in ("call_control_id", "command_id", "mute", "hold")
                },
            },
        )
        participant.options["whisper_call_control_ids"] = whispers if role == "whisper" else []
        return self._done("join", "", body)

    def leave(self, owner: str, ref: str, request: WireRequest) -> dict[str, Any]:
        """``POST /conferences/{id}/actions/leave``: back to parked (the call stays up)."""
        body = _body(request, LEAVE, required=("call_control_id",))
        conference = self._by_id_or_name(owner, ref, status=422)
        repeat = self._repeat("leave", "", body)
        if repeat is not None:
            return repeat
        _live(conference)
        _beep(body)
        participant = self._member(conference, body["call_control_id"], "/call_control_id")
        self.state.remove_participant(participant, kicked=False)
        call = self.state.live_calls.get(participant.call_sid)
        if call is None:
            call = Call(participant.call_sid, owner, "", "", "in-progress", self.state.now())
            call.options.update(self._leg_options(participant.call_sid))
            self.state.live_calls[call.sid] = call
        call.status = "in-progress"
        return self._done("leave", "", body)

    def mute(self, owner: str, ref: str, request: WireRequest) -> dict[str, Any]:
        """``actions/mute``: the listed participants, or everyone when the list is empty."""
        return self._set_flag(owner, ref, request, "muted", True, MUTE)

    def unmute(self, owner: str, ref: str, request: WireRequest) -> dict[str, Any]:
        """``actions/unmute``."""
        return self._set_flag(owner, ref, request, "muted", False, MUTE)

    def hold(self, owner: str, ref: str, request: WireRequest) -> dict[str, Any]:
        """``actions/hold`` (``audio_url`` or ``media_name``, not both)."""
        return self._set_flag(owner, ref, request, "hold", True, HOLD)

    def unhold(self, owner: str, ref: str, request: WireRequest) -> dict[str, Any]:
        """``actions/unhold`` (``call_control_ids`` required)."""
        return self._set_flag(owner, ref, request, "hold", False, MUTE)

    def _set_flag(
        self,
        owner: str,
        ref: str,
        request: WireRequest,
        flag: str,
        value: bool,
        fields: Mapping[str, type],
    ) -> dict[str, Any]:
        required = ("call_control_ids",) if (flag, value) == ("hold", False) else ()
        body = _body(request, fields, required=required)
        conference = self._by_id_or_name(owner, ref)
        _live(conference)
        _check_hold_media(body, "audio_url", "media_name")
        targets = self._members(conference, _ids(body, "call_control_ids"))
        now = self.state.now()
        for participant in targets:
            if getattr(participant, flag) == value:
                continue
            setattr(participant, flag, value)
            if flag == "hold" and value and "audio_url" in body:
                participant.options["hold_audio_url"] = body["audio_url"]
            participant.date_updated = now
            participant.changed()
            word = "mute" if flag == "muted" else "hold"
            event = f"participant-{word}" if value else f"participant-un{word}"
            self.state.notify(event, conference, participant)
        return _ok()

    def update(self, owner: str, ref: str, request: WireRequest) -> dict[str, Any]:
        """``actions/update``: a participant's supervisor role and whisper targets."""
        body = _body(request, UPDATE, required=("call_control_id", "supervisor_role"))
        conference = self._by_id_or_name(owner, ref, status=422)
        repeat = self._repeat("update", "", body)
        if repeat is not None:
            return repeat
        _live(conference)
        role = _choice(body["supervisor_role"], ROLES, pointer="/supervisor_role")
        participant = self._member(conference, body["call_control_id"], "/call_control_id")
        whispers = _ids(body, "whisper_call_control_ids")
        self._members(conference, whispers, "/whisper_call_control_ids")
        participant.options["supervisor_role"] = role
        participant.options["whisper_call_control_ids"] = whispers if role == "whisper" else []
        participant.coaching = role == "whisper" and bool(whispers)
        participant.call_sid_to_coach = whispers[0] if len(whispers) == 1 else None
        participant.date_updated = self.state.now()
        participant.changed()
        self.state.notify("participant-modify", conference, participant)
        return self._done("update", "", body)

    def end(self, owner: str, ref: str, request: WireRequest) -> dict[str, Any]:
        """``actions/end`` (id only): hang up everyone and close the conference."""
        body = _body(request, END, optional_body=True)
        conference = self._by_id(owner, ref)
        repeat = self._repeat("end", conference.sid, body)
        if repeat is not None:
            return repeat
        _live(conference)
        self.state.end_conference(conference, "conference-ended-via-api", None)
        return self._done("end", conference.sid, body)

    def play(self, owner: str, ref: str, request: WireRequest) -> dict[str, Any]:
        """``actions/play``: to the listed participants, or the whole conference."""
        body = _body(request, PLAY)
        conference = self._by_id_or_name(owner, ref)
        _live(conference)
        _check_hold_media(body, "audio_url", "media_name")
        audio = body.get("audio_url") or body.get("media_name")
        if not audio:
            raise WireError(
                422, "audio_url or media_name is required", MISSING, pointer="/audio_url"
            )
        listeners: list[Participant | None] = list(
            self._members(conference, _ids(body, "call_control_ids"))
        )
        if not body.get("call_control_ids"):
            listeners = [None]  # the whole conference hears it
        for participant in listeners:
            self.state.notify("announcement-end", conference, participant, {"AnnounceUrl": audio})
        conference.options["played"] = audio
        return _ok()

    # --- participants --------------------------------------------------------------------

    def _participant_by_id(self, owner: str, ref: str, participant_id: str) -> Participant:
        """A participant by its id or label (fetch and PATCH)."""
        conference = self._by_id(owner, ref)
        for participant in conference.participants:
            if participant_id in (
                derived_id("participant", participant.call_sid),
                participant.label,
            ):
                return participant
        raise WireError(404, "The participant does not exist.", NOT_FOUND)

    def patch_participant(
        self, owner: str, ref: str, participant_id: str, request: WireRequest
    ) -> dict[str, Any]:
        """``PATCH /conferences/{id}/participants/{participant_id}``."""
        body = _body(request, PATCH, optional_body=True)
        participant = self._participant_by_id(owner, ref, participant_id)
        conference = self.state.conferences[participant.conference_sid]
        _live(conference)
        _beep(body)
        if "end_conference_on_exit" in body:
            participant.end_conference_on_exit = body["end_conference_on_exit"]
        for key in ("soft_end_conference_on_exit", "beep_enabled"):
            if key in body:
                participant.options[key] = body[key]
        participant.date_updated = self.state.now()
        participant.changed()
        self.state.notify("participant-modify", conference, participant)
        return {"data": self.participant_resource(participant)}

    def _member(self, conference: Conference, call_control_id: str, pointer: str) -> Participant:
        """The live participant of ``conference`` on that call, or 422/90015."""
        found = self.state.calls.get(call_control_id)
        if found is None or not found.live or found.conference_sid != conference.sid:
            raise WireError(
                422,
                f"The call_control_id provided was not valid: {call_control_id!r} is not in "
                "this conference.",
                INVALID_CALL,
                pointer=pointer,
            )
        return found

    def _members(
        self, conference: Conference, ids: list[str], pointer: str = "/call_control_ids"
    ) -> list[Participant]:
        """The participants named (every live one when ``ids`` is empty, as Telnyx does)."""
        if not ids:
            return conference.live_participants()
        return [self._member(conference, i, pointer) for i in ids]

    # --- calls -------------------------------------------------------------------------

    def dial(self, owner: str, request: WireRequest) -> dict[str, Any]:
        """``POST /calls``: place a call, into a conference with ``conference_config``."""
        body = _body(request, DIAL, required=("connection_id", "to", "from"))
        repeat = self._repeat("dial", "", body)
        if repeat is not None:
            return repeat
        if body["connection_id"] not in self.connections:
            raise WireError(
                422,
                "The requested connection_id (Call Control App ID) is either invalid or does "
                "not exist.",
                INVALID_CONNECTION,
                pointer="/connection_id",
                title="Invalid value for connection_id (Call Control App ID)",
            )
        if not _DESTINATION.fullmatch(body["to"]):
            raise WireError(
                422, "The 'to' parameter must be in E164 format.", NOT_E164, pointer="/to"
            )
        if not _E164.fullmatch(body["from"]):
            raise WireError(
                422, "The 'from' parameter must be in E164 format.", NOT_E164, pointer="/from"
            )
        _range(body, "timeout_secs", 5, 600)
        _range(body, "time_limit_secs", 30, 14400)
        _choice(body.get("record"), ("record-from-answer",), pointer="/record")
        _choice(body.get("record_channels"), ("single", "dual"), pointer="/record_channels")
        _choice(body.get("record_track"), ("both", "inbound", "outbound"), pointer="/record_track")
        _choice(body.get("record_trim"), ("trim-silence",), pointer="/record_trim")
        _choice(body.get("webhook_url_method"), ("POST", "GET"), pointer="/webhook_url_method")
        if body.get("client_state") is not None:
            _base64(body["client_state"], "/client_state")
        config = body.get("conference_config")
        if config is None:
            call = self.state.new_call(owner, body["from"], body["to"], "queued")
            call.options.update(_dialled_leg(body))
            call_sid = call.sid
        else:
            call_sid = self._dial_into(owner, config, body).call_sid
        data: dict[str, Any] = {
            "call_control_id": call_sid,
            "call_leg_id": derived_id("leg", call_sid),
            "call_session_id": derived_id("session", call_sid),
            "is_alive": False,
            "record_type": "call",
        }
        if body.get("record"):
            data["recording_id"] = derived_id("recording", call_sid)
        if body.get("client_state") is not None:
            data["client_state"] = body["client_state"]
        answer = {"data": data}
        self._remember("dial", "", body, answer)
        return answer

    def _dial_into(
        self, owner: str, config: Mapping[str, Any], body: Mapping[str, Any]
    ) -> Participant:
        config = _fields(config, CONFERENCE_CONFIG, "/conference_config")
        ref, name = config.get("id"), config.get("conference_name")
        if (ref is None) == (name is None):
            raise WireError(
                422,
                "conference_config needs exactly one of id and conference_name",
                MISSING,
                pointer="/conference_config/id",
            )
        _beep(config)
        role = _choice(
            config.get("supervisor_role"), ROLES, pointer="/conference_config/supervisor_role"
        )
        whispers = _ids(config, "whisper_call_control_ids")
        _check_hold_media(config, "hold_audio_url", "hold_media_name")
        created = False
        if ref is not None:
            conference = self.state.conference(owner, ref)
            if conference is None:
                raise WireError(
                    422,
                    "The conference does not exist.",
                    CONFERENCE_NOT_FOUND,
                    pointer="/conference_config/id",
                )
            _live(conference)
        else:
            found = self.state.live_conference_named(owner, str(name))
            if found is None:
                started = config.get("start_conference_on_create", True)
                found = self.state.new_conference(owner, name, "in-progress" if started else "init")
                found.options["connection_id"] = body["connection_id"]
                created = True
            conference = found
        options = {k: v for k, v in config.items() if k not in ("id", "conference_name")}
        options["whisper_call_control_ids"] = whispers if role == "whisper" else []
        options.update(from_=body["from"], to=body["to"], **_dialled_leg(body))
        participant = self.state.new_participant(
            conference,
            "queued",
            muted=bool(config.get("mute", False)),
            hold=bool(config.get("hold", False)),
            end_conference_on_exit=bool(config.get("end_conference_on_exit", False)),
            start_conference_on_enter=bool(config.get("start_conference_on_enter", False)),
            coaching=role == "whisper" and bool(whispers),
            call_sid_to_coach=whispers[0] if role == "whisper" and len(whispers) == 1 else None,
            options=options,
        )
        if created:  # Telnyx tells the creating leg's webhook URL (see .telnyx_webhooks)
            conference.options[CREATOR] = participant.call_sid
            self.state.notify(CREATED, conference, participant)
        return participant

    def _leg_options(self, call_control_id: str) -> dict[str, object]:
        """What a call leg keeps when it moves between conferences: webhook URL, connection."""
        out: dict[str, object] = {}
        for leg in (
            self.state.live_calls.get(call_control_id),
            self.state.calls.get(call_control_id),
        ):
            if leg is not None:
                out.update((k, v) for k, v in leg.options.items() if k in _LEG_KEYS)
        return out

    def hangup(self, owner: str, call_control_id: str, request: WireRequest) -> dict[str, Any]:
        """``POST /calls/{call_control_id}/actions/hangup``."""
        body = _body(request, HANGUP, optional_body=True)
        repeat = self._repeat("hangup", call_control_id, body)
        if repeat is not None:
            return repeat
        self._call_is_live(call_control_id)
        participant = self.state.calls.get(call_control_id)
        if participant is not None and participant.live:
            self.state.remove_participant(participant, kicked=True)
        call = self.state.live_calls.get(call_control_id)
        if call is not None:
            call.status = "completed"
        return self._done("hangup", call_control_id, body)

    def _call_is_live(self, call_control_id: str) -> None:
        """422/90018 for a call that ended, 422/90015 for one never seen."""
        if self.state.call_is_live(call_control_id):
            return
        known = call_control_id in self.state.calls or call_control_id in self.state.live_calls
        if known:
            raise WireError(
                422, "This call is no longer active and can't receive commands.", CALL_ENDED
            )
        raise WireError(
            422,
            "The call_control_id provided was not valid.",
            INVALID_CALL,
            pointer="/call_control_id",
        )

    # --- command_id ---------------------------------------------------------------------

    def _repeat(self, op: str, scope: str, body: Mapping[str, Any]) -> dict[str, Any] | None:
        """The first answer to an earlier command with this ``command_id``, if any."""
        command = body.get("command_id")
        if command is None:
            return None
        return self.commands.get((op, scope, command))

    def _remember(
        self, op: str, scope: str, body: Mapping[str, Any], answer: dict[str, Any]
    ) -> None:
        command = body.get("command_id")
        if command is not None:
            self.commands[(op, scope, command)] = answer

    def _done(self, op: str, scope: str, body: Mapping[str, Any]) -> dict[str, Any]:
        answer = _ok()
        self._remember(op, scope, body, answer)
        return answer


_ACTIONS: dict[str, Callable[[TelnyxWire, str, str, WireRequest], dict[str, Any]]] = {
    "join": TelnyxWire.join,
    "leave": TelnyxWire.leave,
    "mute": TelnyxWire.mute,
    "unmute": TelnyxWire.unmute,
    "hold": TelnyxWire.hold,
    "unhold": TelnyxWire.unhold,
    "update": TelnyxWire.update,
    "end": TelnyxWire.end,
    "play": TelnyxWire.play,
}
_PAGE_KEYS = ("page[number]", "page[size]")


def _ok() -> dict[str, Any]:
    return {"data": {"result": "ok"}}


_LEG_KEYS = (WEBHOOK_URL, "connection_id", "client_state")


def _dialled_leg(body: Mapping[str, Any]) -> dict[str, object]:
    """What a dial tells about its call leg: its webhook URL, application and client state."""
    return {key: body[key] for key in _LEG_KEYS if body.get(key) is not None}


def _whispers_to(participant: Participant) -> list[str]:
    """Whom a participant whispers to (set by join/update/dial, or by the test facade)."""
    stored = participant.options.get("whisper_call_control_ids")
    if isinstance(stored, list):
        return [str(i) for i in stored]
    if participant.coaching and participant.call_sid_to_coach:
        return [participant.call_sid_to_coach]
    return []


def _meta(number: int, size: int, total: int) -> dict[str, int]:
    return {
        "page_number": number,
        "page_size": size,
        "total_pages": math.ceil(total / size),
        "total_results": total,
    }


def _live(conference: Conference) -> None:
    if not conference.live:
        raise WireError(
            422, "This conference is no longer active and can't receive commands.", CONFERENCE_ENDED
        )


def _no_query(request: WireRequest) -> None:
    _known(request.query.keys(), ("region",))


def _known(keys: Iterable[str], allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    for key in keys:
        if key in ("page[after]", "page[before]", "page[limit]"):
            raise WireError(
                400,
                f"{key} is not served by this emulator: no answer carries a cursor; use "
                "page[number] and page[size]",
                BAD_REQUEST,
                parameter=key,
            )
        if key not in allowed:
            raise WireError(400, f"Unknown query parameter {key!r}", BAD_REQUEST, parameter=key)


def _paging(query: Any) -> tuple[int, int]:
    number = _query_int(query.get("page[number]"), "page[number]", 1, None, 1)
    size = _query_int(query.get("page[size]"), "page[size]", 1, MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE)
    return number, size


def _query_int(raw: str | None, key: str, low: int, high: int | None, default: int) -> int:
    if raw is None:
        return default
    if not re.fullmatch(r"[0-9]{1,9}", raw):
        raise WireError(422, f"{key} must be an integer", INVALID_TYPE, parameter=key)
    value = int(raw)
    if value < low or (high is not None and value > high):
        top = f" to {high}" if high is not None else " or more"
        raise WireError(
            422, f"The value is outside of allowed range {low}{top}", OUT_OF_RANGE, parameter=key
        )
    return value


def _query_bool(raw: str | None, key: str) -> bool | None:
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise WireError(422, f"{key} must be true or false", INVALID_TYPE, parameter=key)
    return raw == "true"


def _region(raw: str | None, **where: str) -> None:
    if raw is not None and raw not in REGIONS:
        raise WireError(
            422, f"The value must be one of: {', '.join(REGIONS)}.", INVALID_ENUM, **where
        )


def _choice(raw: Any, allowed: Iterable[str], **where: str) -> str | None:
    """``raw`` if it is one of ``allowed`` (``None`` stays ``None``), else 422/10032."""
    allowed = tuple(allowed)
    if raw is None:
        return None
    if raw not in allowed:
        where = where or {"parameter": "filter[status]"}
        raise WireError(
            422, f"The value must be one of: {', '.join(allowed)}.", INVALID_ENUM, **where
        )
    return str(raw)


def _range(body: Mapping[str, Any], key: str, low: int, high: int) -> None:
    value = body.get(key)
    if value is not None and not low <= value <= high:
        raise WireError(
            422,
            f"The value is outside of allowed range {low} to {high}",
            OUT_OF_RANGE,
            pointer=f"/{key}",
        )


def _beep(body: Mapping[str, Any]) -> None:
    _choice(body.get("beep_enabled"), BEEPS, pointer="/beep_enabled")


def _base64(value: str, pointer: str) -> None:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise WireError(
            422, "It must be a valid Base-64 encoded string.", INVALID_TYPE, pointer=pointer
        ) from None


def _check_hold_media(body: Mapping[str, Any], url: str, media: str) -> None:
    if body.get(url) is not None and body.get(media) is not None:
        raise WireError(
            422,
            f"{media} and {url} cannot be used together in one request.",
            INVALID_ENUM,
            pointer=f"/{media}",
        )


def _ids(body: Mapping[str, Any], key: str) -> list[str]:
    value = body.get(key)
    return [] if value is None else list(value)


def _body(
    request: WireRequest,
    fields: Mapping[str, type],
    required: Iterable[str] = (),
    optional_body: bool = False,
) -> dict[str, Any]:
    """The JSON object body, with only known keys of the right JSON types."""
    if request.query.keys():
        raise WireError(400, "This operation takes no query parameters", BAD_REQUEST)
    if request.json is None and (optional_body or not required):
        return {}
    if not isinstance(request.json, dict):
        raise WireError(400, "Error decoding request body: a JSON object is expected", "10028")
    body = _fields(request.json, fields, "")
    for key in required:
        if body.get(key) in (None, "", []) and not (key == "call_control_ids" and key in body):
            raise WireError(
                422,
                f"The '{key}' parameter is required and cannot be blank.",
                MISSING,
                pointer=f"/{key}",
            )
    return body


def _fields(raw: Mapping[str, Any], fields: Mapping[str, type], at: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in raw.items():
        kind = fields.get(key)
        pointer = f"{at}/{key}"
        if kind is None:
            raise WireError(400, f"Unknown parameter {pointer!r}", BAD_REQUEST, pointer=pointer)
        if value is None or kind is object:
            out[key] = value
            continue
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if kind is list and ok:
            ok = all(isinstance(v, str) and v for v in value)
        if not ok:
            raise WireError(
                422,
                f"The '{key}' parameter must be of type '{_JSON_TYPE[kind]}'",
                INVALID_TYPE,
                pointer=pointer,
            )
        out[key] = value
    return out


_JSON_TYPE: dict[type, str] = {
    str: "string",
    bool: "boolean",
    int: "integer",
    list: "array of strings",
    dict: "object",
}
