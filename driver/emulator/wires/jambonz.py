"""jambonz's REST API (v1): conference names and calls under ``/v1/Accounts/{AccountSid}``.

What this wire renders, from the spec slice (``jambonz/calls-conferences.openapi.yml``):

* ``GET  …/Conferences``        → 200, a bare JSON array of the live conferences' names;
* ``POST …/Calls``              → 201 ``{"sid": "<uuid>"}`` (JSON body: ``from``, ``to`` Target,
  ``call_hook`` or ``application_sid``, ``call_status_hook``, ``tag``, ``timeout``, …);
* ``GET  …/Calls``              → 200, an array of ``Call`` (filters ``direction``, ``from``,
  ``to``, ``callStatus``);
* ``GET  …/Calls/{CallSid}``    → 200 ``Call``, or 404 without a body;
* ``POST …/Calls/{CallSid}``    → 202 without a body (the update: one change per request);
* ``DELETE …/Calls/{CallSid}``  → 204, or 404 without a body;
* ``Authorization: Bearer <API key>``; errors ``{"msg": …}``; UUID ids.

Where the spec is silent the emulator follows jambonz's api-server (lib/routes/api/accounts.js):
400 ``{"msg"}`` for a create or update it refuses (its wording: ``missing from parameter``,
``either call_hook or application_sid required``, ``multiple options are not allowed in
updateCall``, …), 401 for a missing or unknown key, 403 ``insufficient permissions`` for
another account's path, ``PUT`` accepted as the update too, 404 without a body for any other
path.  What happens to a call afterwards (its hook, the conference verb, status events) is
:mod:`.jambonz_calls`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import unquote

import orjson

from ..routing import Match
from ..sids import UuidFactory
from ..state import Call, Conference, Participant
from ..wire import FilterTable, Wire, WireError, WireReply, WireRequest, bearer_token
from .jambonz_calls import CallEngine, Hook

if TYPE_CHECKING:
    from ..emulator import Emulator

DEMO_ACCOUNT = "9351f46a-678c-43f5-b8a6-d4eb58d131af"
"""The jambonz account a fresh emulator on this wire starts with."""
DEMO_API_KEY = "0f8a2c6e-confsql-jambonz-demo-api-key"
"""The API key (Bearer token) of :data:`DEMO_ACCOUNT`."""
DEMO_WEBHOOK_SECRET = "wh_secret_confsql_jambonz_demo"
"""The demo account's webhook secret: it signs hooks and events (``confsql listen --sandbox``
trusts it)."""

ROOT = "/v1/Accounts"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
# updateCall's options: exactly one per request (api-server validateUpdateCall).
UPDATE_OPTIONS = (
    "call_hook",
    "child_call_hook",
    "call_status",
    "listen_status",
    "transcribe_status",
    "conf_hold_status",
    "conf_mute_status",
    "mute_status",
    "sip_request",
    "record",
    "tag",
    "dtmf",
    "conferenceParticipantAction",
    "dub",
    "boostAudioSignal",
    "media_path",
)
UPDATE_ENUMS = {
    "call_status": ("completed", "no-answer"),
    "listen_status": ("pause", "silence", "resume"),
    "mute_status": ("mute", "unmute"),
    "conf_hold_status": ("hold", "unhold"),
    "conf_mute_status": ("mute", "unmute"),
}
PARTICIPANT_ACTIONS = ("tag", "untag", "coach", "uncoach", "mute", "unmute", "hold", "unhold")
TARGET_TYPES = {"phone": "number", "teams": "number", "user": "name", "sip": "sipUri"}
CALL_STATUS = {"queued": "queued", "in-progress": "in-progress", "completed": "completed"}


def bad_request(message: str) -> WireError:
    """api-server's 400: ``{"msg": message}``."""
    return WireError(400, message)


def not_found() -> WireError:
    """404 without a body (the spec documents none)."""
    return WireError(404, "", bare=True)


class JambonzWire(Wire):
    """jambonz: Bearer auth, ``/v1/Accounts/{sid}/…``, JSON, calls run through hooks."""

    name = "jambonz"
    base_path = "/v1"
    # The conference list takes no filters, and there is no participant list.
    list_filters: ClassVar[FilterTable] = {}

    def __init__(self, emulator: Emulator) -> None:
        super().__init__(emulator)
        state = emulator.state
        state.sids = UuidFactory("confsql-jambonz")
        state.add_account(DEMO_ACCOUNT, DEMO_WEBHOOK_SECRET)  # the "token" signs webhooks
        state.add_token(DEMO_API_KEY, DEMO_ACCOUNT)
        self.demo_account = DEMO_ACCOUNT
        self.calls = CallEngine(state)
        self.applications: dict[str, tuple[str, Hook]] = {}  # sid -> (account, call hook)

    def demo_credentials(self) -> dict[str, str]:
        return {
            "AccountSid": DEMO_ACCOUNT,
            "ApiKey": DEMO_API_KEY,
            "WebhookSecret": DEMO_WEBHOOK_SECRET,
        }

    def reset(self) -> None:
        """Finish queued hooks and events; forget applications and waiting callers."""
        self.calls.reset()
        self.applications.clear()

    # -- test helpers ---------------------------------------------------------------------

    def add_application(self, call_hook: str, account: str | None = None) -> str:
        """Register an application whose call hook is ``call_hook``; returns its sid."""
        sid = self.emulator.state.sids.next("AP")
        self.applications[sid] = (account or self.demo_account, Hook(call_hook))
        return sid

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every hook fetch and status event queued so far has been sent."""
        return self.calls.drain(timeout)

    def hang_up(self, call_sid: str) -> None:
        """The far end of ``call_sid`` hangs up."""
        self.calls.hang_up(call_sid)

    def speech(self, call_sid: str, *, speaking: bool) -> None:
        """The member on ``call_sid`` starts or stops talking (start-/stop-talking events)."""
        self.calls.speech(call_sid, speaking=speaking)

    # -- rendering --------------------------------------------------------------------------

    def conference_json(self, conference: Conference) -> dict[str, Any]:
        """A conference as the emulator's snapshots show it (the API shows only names)."""
        return {"name": conference.friendly_name, "status": conference.status}

    def participant_json(self, participant: Participant) -> dict[str, Any]:
        """A member as the emulator's snapshots show it (the API has no such resource)."""
        return {
            "call_sid": participant.call_sid,
            "muted": participant.muted,
            "hold": participant.hold,
            "end_conference_on_exit": participant.end_conference_on_exit,
        }

    def call_json(self, call: Call) -> dict[str, Any]:
        """A ``Call``."""
        application = call.options.get("application_sid")
        out: dict[str, Any] = {
            "account_sid": call.account_sid,
            "call_id": str(call.options.get("call_id") or f"{call.sid}@emulator.jambonz"),
            "call_sid": call.sid,
            "call_status": CALL_STATUS.get(call.status, "completed"),
            "direction": "outbound",
            "from": call.from_,
            "service_url": "http://127.0.0.1:3000",
            "sip_status": 200 if call.status == "in-progress" else 100,
            "to": call.to,
        }
        if isinstance(application, str):
            out["application_sid"] = application
        return out

    # -- transport ------------------------------------------------------------------------

    def error(self, error: WireError) -> WireReply:
        if error.extra.get("bare"):
            return WireReply(error.status)
        return WireReply(error.status, {"msg": error.message})

    def operation(self, path: str) -> Match | None:
        parts = path.split("/")
        if len(parts) < 5 or parts[:3] != ["", "v1", "Accounts"] or not parts[3]:
            return None
        rest = [unquote(p) for p in parts[4:]]
        if rest == ["Conferences"]:
            return Match("conferences", ())
        if rest == ["Calls"]:
            return Match("calls", ())
        if len(rest) == 2 and rest[0] == "Calls" and rest[1]:
            return Match("call", (rest[1],))
        return None

    def handle(self, request: WireRequest) -> WireReply:
        parts = request.path.split("/")
        if len(parts) < 5 or parts[:3] != ["", "v1", "Accounts"] or not parts[3]:
            raise not_found()
        account = self._authenticate(request.headers.get("authorization"))
        request.record.account_sid = account
        if unquote(parts[3]) != account:
            raise WireError(403, "insufficient permissions")
        rest = [unquote(p) for p in parts[4:]]
        method = request.method
        with self.emulator.state.lock:
            if rest == ["Conferences"] and method == "GET":
                return WireReply(200, self._conference_names(account))
            if rest == ["Calls"] and method == "POST":
                return self._create_call(account, request.json)
            if rest == ["Calls"] and method == "GET":
                return WireReply(200, self._list_calls(account, request))
            if len(rest) == 2 and rest[0] == "Calls" and rest[1]:
                if method == "GET":
                    return WireReply(200, self.call_json(self._call(account, rest[1])))
                if method in ("POST", "PUT"):
                    return self._update_call(account, rest[1], request.json)
                if method == "DELETE":
                    call = self._call(account, rest[1])
                    self.calls.hang_up(call.sid)
                    return WireReply(204)
        raise not_found()

    def _authenticate(self, header: str | None) -> str:
        token = bearer_token(header)
        account = self.emulator.state.authenticate_token(token) if token else None
        if account is None:
            raise WireError(401, "unauthorized")
        return account

    # -- operations -------------------------------------------------------------------------

    def _conference_names(self, account: str) -> list[str]:
        listing = self.emulator.state.by_account.get(account, [])
        live = [c for c in listing if c.status == "in-progress" and c.friendly_name]
        live.sort(key=lambda c: (c.date_created, c.sid))
        return [str(c.friendly_name) for c in live]

    def _call(self, account: str, call_sid: str) -> Call:
        call = self.calls.live_call(account, call_sid)
        if call is None:
            raise not_found()
        return call

    def _list_calls(self, account: str, request: WireRequest) -> list[dict[str, Any]]:
        query = request.query
        direction = query.get("direction")
        if direction is not None and direction not in ("inbound", "outbound"):
            raise bad_request("invalid direction")
        calls = [
            c
            for c in self.emulator.state.live_calls.values()
            if c.account_sid == account and c.status in ("queued", "in-progress")
        ]
        rendered = [self.call_json(c) for c in calls]
        for key, field in (("direction", "direction"), ("from", "from"), ("to", "to")):
            wanted = query.get(key)
            if wanted is not None:
                rendered = [c for c in rendered if c[field] == wanted]
        status = query.get("callStatus")
        if status is not None:
            rendered = [c for c in rendered if c["call_status"] == status]
        return rendered

    def _create_call(self, account: str, body: Any) -> WireReply:
        if not isinstance(body, dict):
            raise bad_request("Bad request")
        source = body.get("from")
        if not isinstance(source, str) or not 1 <= len(source) <= 256:
            raise bad_request("missing from parameter")
        to = body.get("to")
        key = TARGET_TYPES.get(str(to.get("type"))) if isinstance(to, dict) else None
        if key is None or not isinstance(to.get(key), str):  # type: ignore[union-attr]
            raise bad_request(f"missing or invalid to property: {orjson.dumps(to).decode()}")
        for name in ("timeout", "timeLimit"):
            if name in body and (not isinstance(body[name], int) or isinstance(body[name], bool)):
                raise bad_request(f"Invalid {name}")
        tag = body.get("tag")
        if tag is not None and not isinstance(tag, dict):
            raise bad_request("Invalid tag")
        application = body.get("application_sid")
        if application is not None:
            found = self.applications.get(application) if isinstance(application, str) else None
            if found is None or found[0] != account:
                raise bad_request(f"application_sid not found {application}")
            hook: Hook | None = found[1]  # the application's call hook replaces any given
        else:
            hook = self._webhook(body, "call_hook")
            if hook is None:
                raise bad_request("either call_hook or application_sid required")
        status_hook = self._webhook(body, "call_status_hook")
        assert hook is not None
        target = to[key]  # type: ignore[index]
        call = self.calls.place(
            account,
            source,
            target,
            hook,
            tag=tag,
            application_sid=application if isinstance(application, str) else None,
            status_hook=status_hook,
        )
        return WireReply(201, {"sid": call.sid})

    def _webhook(self, body: dict[str, Any], name: str) -> Hook | None:
        raw = body.get(name)
        if raw is None:
            return None
        if isinstance(raw, str):
            raw = {"url": raw, "method": "POST"}
        if not isinstance(raw, dict) or not isinstance(raw.get("url"), str):
            raise bad_request(f"{name} must be string or an object containing a url property")
        if not re.match(r"^(https?|wss?):", raw["url"]):
            raise bad_request(f"{name} url be an absolute url")
        method = raw.get("method", "post")
        if not isinstance(method, str) or method.lower() not in ("get", "post"):
            raise bad_request(f"{name} method must be get or post")
        return Hook(raw["url"], method.upper())

    def _update_call(self, account: str, call_sid: str, body: Any) -> WireReply:
        if not isinstance(body, dict):
            raise bad_request("no valid options supplied to updateCall")
        given = [name for name in UPDATE_OPTIONS if body.get(name)]
        if not given and not body.get("whisper"):
            raise bad_request("no valid options supplied to updateCall")
        if len(given) > 1 and set(given) != {"call_hook", "child_call_hook"}:
            raise bad_request("multiple options are not allowed in updateCall")
        for name, allowed in UPDATE_ENUMS.items():
            if name in given and body[name] not in allowed:
                raise bad_request(f"invalid {name}")
        action = body.get("conferenceParticipantAction")
        if action:
            verb = action.get("action") if isinstance(action, dict) else None
            if verb not in PARTICIPANT_ACTIONS:
                raise bad_request(f"conferenceParticipantAction invalid action property {verb}")
            if verb in ("tag", "coach") and not action.get("tag"):
                raise bad_request(
                    f"conferenceParticipantAction requires tag property when action is '{verb}'"
                )
        tag = body.get("tag")
        if tag and not isinstance(tag, dict):
            raise bad_request("invalid tag data")
        hook = self._webhook(body, "call_hook") if "call_hook" in given else None
        call = self._call(account, call_sid)
        engine = self.calls
        if hook is not None:
            engine.redirect(call.sid, hook)
        elif body.get("call_status") == "completed" or (
            body.get("call_status") == "no-answer" and call.status == "queued"
        ):
            engine.hang_up(call.sid)
        elif body.get("conf_hold_status"):
            engine.hold(call.sid, body["conf_hold_status"] == "hold")
        elif body.get("conf_mute_status"):
            engine.mute_others(call.sid, body["conf_mute_status"] == "mute")
        elif body.get("mute_status"):
            engine.mute(call.sid, body["mute_status"] == "mute")
        elif action:
            verb = action["action"]
            if verb in ("mute", "unmute"):
                engine.mute(call.sid, verb == "mute")
            elif verb in ("hold", "unhold"):
                engine.hold(call.sid, verb == "hold")
        elif isinstance(tag, dict):
            call.options["customer_data"] = tag
        return WireReply(202)
