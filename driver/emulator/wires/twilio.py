"""Twilio's REST API 2010-04-01: the wire the emulator was built on.

Paths ``/2010-04-01/Accounts/{AccountSid}/…​.json`` (:mod:`..routing`), HTTP
Basic with the account or an API key, form bodies, the operations in
:mod:`..endpoints` and Twilio's error body.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import calls, endpoints
from ..errors import AUTHENTICATION_FAILED, METHOD_NOT_ALLOWED, ApiError, error_body, not_found
from ..params import Params
from ..resources import call_json, conference_json, participant_json
from ..routing import METHODS, Match, account_segment, match
from ..sids import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN
from ..wire import Wire, WireError, WireReply, WireRequest, basic_credentials

if TYPE_CHECKING:
    from ..emulator import Emulator
    from ..state import Conference, Participant

# The <Conference> attributes TwiML documents that the emulator executes.
TWIML_ATTRIBUTES = calls.COMMON_ATTRIBUTES | {"region", "jitterBufferSize"}

# Twilio's code for each status the transport may have to answer on its own.
_CODES = {401: AUTHENTICATION_FAILED, 404: 20404, 405: METHOD_NOT_ALLOWED, 429: 20429, 500: 20500}


class TwilioWire(Wire):
    """Twilio: Basic auth, ``.json`` paths, form bodies, ``{code, message, more_info, status}``."""

    name = "twilio"

    def __init__(self, emulator: Emulator) -> None:
        super().__init__(emulator)
        emulator.state.add_account(DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN)
        self.demo_account = DEMO_ACCOUNT_SID

    def conference_json(self, conference: Conference) -> dict[str, Any]:
        return conference_json(conference)

    def participant_json(self, participant: Participant) -> dict[str, Any]:
        return participant_json(participant)

    def demo_credentials(self) -> dict[str, str]:
        return {"AccountSid": DEMO_ACCOUNT_SID, "AuthToken": DEMO_AUTH_TOKEN}

    def operation(self, path: str) -> Match | None:
        return match(path)

    def handle(self, request: WireRequest) -> WireReply:
        try:
            return self._handle(request)
        except ApiError as exc:
            raise WireError(exc.status, exc.message, exc.code) from None

    def _handle(self, request: WireRequest) -> WireReply:
        path_account = account_segment(request.path)
        if path_account is None:
            raise not_found(request.path)
        account_sid = self._authenticate(request.headers.get("authorization"))
        request.record.account_sid = account_sid
        if account_sid != path_account:
            raise ApiError(
                401,
                AUTHENTICATION_FAILED,
                "Authentication Error - the account in the URL is not yours",
            )
        route = match(request.path)
        if route is None or route.operation not in METHODS:
            raise not_found(request.path)
        method = "GET" if request.method == "HEAD" else request.method
        if method not in METHODS[route.operation]:
            raise ApiError(
                405, METHOD_NOT_ALLOWED, f"Method {request.method} is not allowed on {request.path}"
            )
        reply = self._run(route.operation, route.args, method, account_sid, request)
        return WireReply(reply.status, reply.body)

    def _run(
        self,
        op: str,
        args: tuple[str, ...],
        method: str,
        account_sid: str,
        request: WireRequest,
    ) -> endpoints.Reply:
        state, query, form = self.emulator.state, request.query, request.form
        base = request.path
        if op == "conferences":
            return endpoints.list_conferences(state, account_sid, query, base)
        if op == "conference":
            if method == "GET":
                return endpoints.fetch_conference(state, account_sid, args[0], base)
            return endpoints.update_conference(state, account_sid, args[0], form, base)
        if op == "call":
            return self._call(args[0], method, account_sid, form, base)
        if op == "participants":
            if method == "GET":
                return endpoints.list_participants(state, account_sid, args[0], query, base)
            return endpoints.create_participant(state, account_sid, args[0], form, base)
        if method == "GET":
            return endpoints.fetch_participant(state, account_sid, args[0], args[1], base)
        if method == "POST":
            return endpoints.update_participant(state, account_sid, args[0], args[1], form, base)
        return endpoints.delete_participant(state, account_sid, args[0], args[1], base)

    def _call(
        self, sid: str, method: str, account_sid: str, form: Params, path: str
    ) -> endpoints.Reply:
        """``GET``/``POST /Calls/{Sid}.json``: fetch a call, or update it (inline TwiML that
        dials it into a conference, ``Status=completed`` to hang up; a ``Url`` is kept)."""
        state = self.emulator.state
        status = form.choice("Status", ("canceled", "completed"))
        for key in ("Method", "FallbackMethod", "StatusCallbackMethod"):
            form.method(key)
        form.integer("TimeLimit", 1, None)
        twiml = form.get("Twiml")
        if twiml is not None and form.get("Url") is not None:
            raise ApiError(400, 20001, "Twiml and Url are mutually exclusive")
        dial = calls.parse_markup(twiml, TWIML_ATTRIBUTES) if twiml is not None else None
        with state.lock:
            view = calls.find_call(state, account_sid, sid)
            if view is None:
                raise not_found(path)
            if method == "POST":
                if dial is not None:
                    calls.redirect(state, view, dial)
                if status == "completed" or (status == "canceled" and view.status != "in-progress"):
                    calls.hang_up(state, view)
                view = calls.find_call(state, account_sid, sid)
                assert view is not None
            return endpoints.Reply(200, call_json(view))

    def _authenticate(self, header: str | None) -> str:
        """The account proven by an ``Authorization: Basic`` header, or a 401."""
        if not header:
            raise ApiError(
                401, AUTHENTICATION_FAILED, "Authentication Error - No credentials provided"
            )
        pair = basic_credentials(header)
        account_sid = self.emulator.state.authenticate(*pair) if pair else None
        if account_sid is None:
            raise ApiError(
                401, AUTHENTICATION_FAILED, "Authentication Error - invalid username or password"
            )
        return account_sid

    def error(self, error: WireError) -> WireReply:
        code = error.code if isinstance(error.code, int) else _CODES.get(error.status, 20500)
        headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if error.status == 401 else {}
        return WireReply(error.status, error_body(error.status, code, error.message), headers)
