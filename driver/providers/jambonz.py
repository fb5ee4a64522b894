"""jambonz (REST API v1, self-hosted): conferences are names, participants are calls.

Data lives in ``schema/providers/jambonz.toml``.  What is jambonz's own:

* **Connection.** ``BaseUrl`` is required (each jambonz is its own server); Bearer auth with
  an API key; JSON bodies; errors ``{"msg": ...}``; UUID account and call ids.
* **Conferences** are ``GET /Accounts/{AccountSid}/Conferences``: a bare array of the names of
  live conferences.  Sid = FriendlyName = the name, Status ``in-progress``; nothing else.
  With ``EventsDb``, the events `confsql listen` recorded add the dates of each conference's
  current run and the conferences that have ended (:mod:`.jambonz_events`).
* **Participants** has no jambonz resource.  With ``EventsDb`` the rows are derived from the
  recorded join, leave, mute and hold events of the conferences jambonz lists as live;
  without it, reading them raises NotSupportedError saying how to enable it.
* **AddParticipants** places a call (``POST /Calls``, 201 ``{"sid"}``) whose call hook is the
  receiver's ``/jambonz/hook``; the conference parameters travel in the hook URL as a token
  signed with the webhook secret (:mod:`driver.events.hook`), or, with an ``ApplicationSid``
  (whose call hook the user pointed at the receiver), in the call's ``tag``.
* **ModifyParticipants** updates the call (``POST /Calls/{CallSid}``, 202; one change per
  request): Hold is ``conf_hold_status``; Muted is ``conferenceParticipantAction`` mute or
  unmute, because ``conf_mute_status`` mutes every participant who is not a moderator
  (feature-server lib/session/call-session.js ``_lccConfMuteStatus``).  jambonz reports no
  mute or hold events, so confsql reports each accepted change to the receiver itself,
  signed like a jambonz event.
* **RemoveParticipant** hangs up the call (``DELETE /Calls/{CallSid}``, 204);
  **JoinConference** redirects a live call to a call hook that answers the conference verb.
  **ModifyConference** does not exist: jambonz cannot end or change a conference over REST.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, urlencode

import httpx
import orjson

from ..errors import (
    DataError,
    Error,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
)
from ..events.hook import ALL_EVENTS, QUERY_KEY, sign_parameters
from ..events.signatures import jambonz_header
from ..http import OutcomeUnknown
from ..properties import Property, given_as, http_url
from ..schema import Procedure, ProcedureMapping, TableMapping
from . import jambonz_events
from .base import BearerAuth, ErrorBody, Format, Item, Provider, json_body

if TYPE_CHECKING:
    from ..http import ApiClient
    from ..procedures import ProcedureRunner, Row

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_PHONE = re.compile(r"\+?[0-9]{3,15}")
_SIP = re.compile(r"sips?:[^\s@]+@[^\s@]+", re.IGNORECASE)
_USER = re.compile(r"user:([^\s@:]+@[^\s@]+)", re.IGNORECASE)
_SIP_USER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~+-]{0,63}")


def _is_endpoint(text: str) -> bool:
    return any(p.fullmatch(text) for p in (_PHONE, _SIP, _USER))


JAMBONZ_FORMATS: dict[str, Format] = {
    "endpoint": (
        _is_endpoint,
        "a phone number (+E.164 or digits), sip:USER@HOST, or user:NAME@DOMAIN (a registered "
        "jambonz user)",
    ),
    "caller": (
        lambda text: bool(_PHONE.fullmatch(text) or _SIP_USER.fullmatch(text)),
        "a phone number (+E.164 or digits) or the user part of a SIP address",
    ),
    "call": (
        lambda text: _UUID.fullmatch(text) is not None,
        "a jambonz call SID (a UUID such as 2531329f-fb09-4ef7-887e-84e648214436)",
    ),
}

# jambonz's conference verb reports these statusEvents (seed 004; feature-server sends
# stop-talking for the end of speech); confsql's ConferenceStatusCallbackEvent names map so.
STATUS_EVENTS: dict[str, tuple[str, ...]] = {
    "start": ("start",),
    "end": ("end",),
    "join": ("join",),
    "leave": ("leave",),
    "speaker": ("start-talking", "stop-talking"),
}
# The speech settings jambonz's API server asks for when a call names no application
# (api-server lib/routes/api/accounts.js, validateCreateCall; not in the spec slice).  The
# conference verb speaks nothing, so any valid vendor serves; these are its former defaults.
SPEECH_DEFAULTS: tuple[tuple[str, str], ...] = (
    ("speech_synthesis_vendor", "google"),
    ("speech_synthesis_language", "en-US"),
    ("speech_synthesis_voice", "en-US-Wavenet-C"),
    ("speech_recognizer_vendor", "google"),
    ("speech_recognizer_language", "en-US"),
)
# What to do instead of an input jambonz has no equivalent for.
INSTEAD: dict[str, str] = {
    "StatusCallbackEvent": "jambonz posts every call status change to StatusCallback",
    "Coaching": "jambonz coaches by member tag, not by call, which confsql does not map",
    "CallerId": "give the calling number as From",
    "Hold": "join first, then EXEC ModifyParticipants ... Hold = 1",
    "Record": "jambonz records conferences through the conference verb of your own application",
    "ConferenceRecord": (
        "jambonz records conferences through the conference verb of your own application"
    ),
    "BeepOnExit": "jambonz beeps only when a caller enters (Beep on AddParticipants)",
    "EndConferenceOnExit": "give it when the participant joins (AddParticipants or JoinConference)",
}
END_ALTERNATIVES = (
    "jambonz has no REST request that ends or changes a conference. To end one, add its "
    "moderator with EndConferenceOnExit = 1 (the conference ends when that call leaves), or "
    "remove every participant (DELETE FROM Participants WHERE ConferenceSid = '<name>')"
)


def now() -> datetime:
    """The time confsql stamps on the changes it reports (tests may replace it)."""
    return datetime.now(UTC)


def _iso_ms(value: datetime) -> str:
    """ISO 8601 with milliseconds and Z, as jambonz writes ``time``."""
    text = value.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def target(to: str) -> dict[str, str]:
    """A jambonz ``Target`` for an AddParticipants ``To``."""
    user = _USER.fullmatch(to)
    if user:
        return {"type": "user", "name": user.group(1)}
    if _SIP.fullmatch(to):
        return {"type": "sip", "sipUri": to}
    return {"type": "phone", "number": to}


def _sql(text: str) -> str:
    return text.replace("'", "''")


class Jambonz(Provider):
    """jambonz: Bearer auth, JSON, conferences by name, participants derived from events."""

    name = "Jambonz"
    mapping_name = "jambonz"
    wire = "jambonz"
    url_user = "AccountSid"
    url_password = "ApiKey"
    input_advice: ClassVar[Mapping[str, str]] = INSTEAD
    description = (
        "jambonz REST API v1 (self-hosted): conferences by name; Participants derived from "
        "the events `confsql listen` records."
    )
    properties: ClassVar[tuple[Property, ...]] = (
        Property(
            "BaseUrl",
            str,
            None,
            "Root of your jambonz REST API, e.g. https://jambonz.example.com/v1 (required: "
            "jambonz is self-hosted).",
            env="JAMBONZ_REST_API_BASE_URL",
            check=http_url,
        ),
        Property(
            "AccountSid",
            str,
            None,
            "jambonz account SID (a UUID); used in request paths.",
            env="JAMBONZ_ACCOUNT_SID",
        ),
        Property(
            "ApiKey",
            str,
            None,
            "API key of that account, sent as a Bearer token.",
            env="JAMBONZ_API_KEY",
            secret=True,
        ),
        Property(
            "WebhookSecret",
            str,
            None,
            "The account's webhook secret (the one `confsql listen` checks jambonz's "
            "signatures with): signs the conference parameters of the calls EXEC places, and "
            "the mute and hold changes confsql reports.",
            env="JAMBONZ_WEBHOOK_SECRET",
            secret=True,
        ),
        Property(
            "ApplicationSid",
            str,
            None,
            "A jambonz application whose call hook is <WebhookUrl>/jambonz/hook: "
            "AddParticipants places calls with it instead of naming the hook (the conference "
            "parameters then travel in the call's tag).",
            env="JAMBONZ_APPLICATION_SID",
        ),
    )
    credentials = ("AccountSid", "ApiKey")
    formats: ClassVar[Mapping[str, Format]] = JAMBONZ_FORMATS
    identifier = _UUID
    alternatives: ClassVar[Mapping[str, str]] = {"ModifyConference": END_ALTERNATIVES}

    # --- properties --------------------------------------------------------------------

    @classmethod
    def check_settings(cls, values: Mapping[str, Any], from_env: Mapping[str, str]) -> None:
        if not values.get("BaseUrl"):
            raise ProgrammingError(
                "Jambonz is self-hosted, so BaseUrl is required: set BaseUrl to the root of "
                "your jambonz REST API (e.g. BaseUrl=https://jambonz.example.com/v1), or the "
                "JAMBONZ_REST_API_BASE_URL environment variable. To try confsql without a "
                "server, connect with Provider=Jambonz;Sandbox=true."
            )
        missing = [n for n in ("AccountSid", "ApiKey") if not values.get(n)]
        if missing:
            raise ProgrammingError(
                f"no credentials: {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} "
                "missing. Jambonz needs AccountSid (the account's UUID) and ApiKey (an API key "
                "of that account): set them in the connection string, as keyword arguments "
                "(account_sid=..., api_key=...), or in JAMBONZ_ACCOUNT_SID / JAMBONZ_API_KEY."
            )
        for name in ("AccountSid", "ApplicationSid"):
            value = values.get(name)
            if value and not _UUID.fullmatch(str(value)):
                raise ProgrammingError(
                    f"{given_as(name, value, from_env)} is not a jambonz SID (a UUID such as "
                    "2531329f-fb09-4ef7-887e-84e648214436)"
                )

    # --- connection ------------------------------------------------------------------------

    def default_base_url(self) -> str:
        raise ProgrammingError("Jambonz needs BaseUrl (the root of your jambonz REST API)")

    def auth(self) -> httpx.Auth | None:
        key = self.settings["ApiKey"]
        return BearerAuth(str(key)) if key else None

    def credential_hint(self) -> str:
        return f"check ApiKey, and that it belongs to AccountSid {self.settings['AccountSid']}"

    def root_values(self) -> dict[str, str]:
        return {"AccountSid": str(self.settings["AccountSid"] or "")}

    # --- wire ------------------------------------------------------------------------------

    def encode_body(self, fields: Sequence[tuple[str, Any]]) -> dict[str, Any]:
        """A JSON object (nested values, such as the call hook, stay objects)."""
        return json_body(fields)

    def error_body(self, response: httpx.Response) -> ErrorBody:
        """``{"msg": "..."}`` (404s have no body)."""
        try:
            body = response.json()
        except ValueError:
            return ErrorBody()
        message = body.get("msg") if isinstance(body, dict) else None
        return ErrorBody(message=message if isinstance(message, str) and message else None)

    def error(
        self, response: httpx.Response, what: str, mutating: bool, outcome_unknown: type[Error]
    ) -> Error:
        if response.status_code == 480:  # the API server had no feature server to send it to
            return OperationalError(
                f"{what}: jambonz has no feature server available right now (480); nothing "
                "was placed. Try again later.",
                status=480,
            )
        return super().error(response, what, mutating, outcome_unknown)

    async def pages(
        self,
        client: ApiClient,
        url: str,
        query: list[tuple[str, str]],
        mapping: TableMapping,
        page_size: int,
        what: str,
    ) -> AsyncIterator[list[Item]]:
        """One page: the conference names (with what events add), or derived participants."""
        account = str(self.settings["AccountSid"])
        if mapping.items == "conferences":
            live = await self._live_names(client, url, what)
            path = self._events_path()
            recorded: dict[str, list[jambonz_events.Event]] = {}
            if path:  # every run's bounds, and all of what the live conferences recorded
                recorded = await asyncio.to_thread(
                    jambonz_events.read, path, account, None, jambonz_events.BOUNDARIES
                )
                if live:
                    current = await asyncio.to_thread(jambonz_events.read, path, account, live)
                    recorded.update(current)
            yield jambonz_events.conference_items(recorded, live, account)
            return
        path = self._events_path()
        if path is None:
            raise NotSupportedError(
                "Participants on Jambonz: jambonz has no participant listing, so confsql "
                "derives it from the conference events `confsql listen` records. To enable it, "
                "run `confsql listen` (with --jambonz-webhook-secret), connect with "
                "EventsDb=<its database>, WebhookUrl=<its public URL> and WebhookSecret, and "
                "place calls with EXEC AddParticipants (their call hooks subscribe the "
                "conference to its events)."
            )
        wanted = {
            name: [v for k, v in query if k == name]
            for name in ("ConferenceSid", "CallSid", "Label")
        }
        live = await self._live_names(client, self._conferences_url(), what)
        if wanted["ConferenceSid"]:
            live = [n for n in live if n in wanted["ConferenceSid"]]
        recorded = await asyncio.to_thread(jambonz_events.read, path, account, live) if live else {}
        items = [
            m.item(account)
            for m in jambonz_events.live_members(recorded, live)
            if (not wanted["CallSid"] or m.call_sid in wanted["CallSid"])
            and (not wanted["Label"] or m.label in wanted["Label"])
        ]
        yield items

    async def _live_names(self, client: ApiClient, url: str, what: str) -> list[str]:
        """GET .../Conferences: the names of the live conferences (a bare JSON array)."""
        response = await client.request("GET", url, what=what)
        try:
            names = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            names = None
        if response.status_code != 200 or not isinstance(names, list):
            raise OperationalError(
                f"{what}: jambonz answered {response.status_code} without a JSON array of "
                "conference names; the answer was not used (results are never silently "
                "short). Check BaseUrl points at the jambonz REST API (…/v1)."
            )
        if not all(isinstance(n, str) for n in names):
            raise OperationalError(
                f"{what}: jambonz's conference list holds something other than names"
            )
        return list(dict.fromkeys(names))

    def _conferences_url(self) -> str:
        account = quote(str(self.settings["AccountSid"]), safe="")
        return self.mapping.root.replace("{AccountSid}", account) + self.tables["Conferences"].list

    def _events_path(self) -> str | None:
        path = self.settings["EventsDb"]
        return str(path) if path else None

    # --- procedures ------------------------------------------------------------------------

    def check_inputs(
        self, proc: Procedure, mapping: ProcedureMapping, inputs: Mapping[str, object]
    ) -> None:
        """The inputs jambonz has, then its own limits; nothing is sent on failure."""
        super().check_inputs(proc, mapping, inputs)
        where = f"{proc.name} on {self.name}"
        name = inputs.get("ConferenceSid")
        if isinstance(name, str) and ":" in name:
            raise DataError(
                f"{where}: conference name {name[:40]!r} holds ':', which jambonz's conference "
                "list cannot show (it keeps only what follows the last ':'); choose a name "
                "without ':' (nothing was sent)"
            )
        beep = inputs.get("Beep")
        if beep in ("true", "onExit"):
            raise NotSupportedError(
                f"{where}: Beep {beep!r} is not supported: jambonz beeps only when a caller "
                "enters, so give Beep = 'onEnter' (or 'false'); nothing was sent"
            )
        if inputs.get("ConferenceStatusCallbackMethod") == "GET":
            raise NotSupportedError(
                f"{where}: ConferenceStatusCallbackMethod 'GET' is not supported: jambonz sends "
                "a GET status hook without the event's fields; use POST (nothing was sent)"
            )
        events = inputs.get("ConferenceStatusCallbackEvent")
        odd = [e for e in events if e not in STATUS_EVENTS] if isinstance(events, list) else []
        if odd:
            raise NotSupportedError(
                f"{where}: ConferenceStatusCallbackEvent {', '.join(map(repr, odd))} "
                f"{'is' if len(odd) == 1 else 'are'} not supported: jambonz's conference verb "
                f"reports only {', '.join(STATUS_EVENTS)} (nothing was sent)"
            )
        if proc.name == "ModifyParticipants" and "Muted" not in inputs and "Hold" not in inputs:
            raise ProgrammingError(
                f"{where}: give Muted or Hold, the changes jambonz can make to a participant "
                "(nothing was sent)"
            )

    async def call_AddParticipants(
        self, runner: ProcedureRunner, proc: Procedure, values: dict[str, object]
    ) -> list[Row]:
        """``POST /Calls`` (201): a call whose hook answers the conference verb."""
        mapping = self.procedures[proc.name]
        name = str(values["ConferenceSid"])
        application = self.settings["ApplicationSid"]
        secret = self._secret(proc.name)
        parameters = self._conference_parameters(values)
        token = sign_parameters(secret, parameters)
        body: list[tuple[str, Any]] = [("from", values["From"]), ("to", target(str(values["To"])))]
        if application:
            body += [("application_sid", str(application)), ("tag", {QUERY_KEY: token})]
        else:
            body.append(("call_hook", self._hook(proc.name, token)))
            body += list(SPEECH_DEFAULTS)
        if values.get("StatusCallback"):
            method = str(values.get("StatusCallbackMethod") or "POST").lower()
            body.append(("call_status_hook", {"url": values["StatusCallback"], "method": method}))
        if values.get("WaitTime") is not None:
            body.append(("timeout", values["WaitTime"]))
        if values.get("TimeLimit") is not None:
            body.append(("timeLimit", values["TimeLimit"]))
        answer = await runner.requester.client.json(
            mapping.method,
            runner.requester.url(mapping.path, {}),
            body=body,
            what=proc.name,
            expect=mapping.success,
        )
        sid = answer.get("sid") if answer else None
        if not isinstance(sid, str) or not sid:
            raise OutcomeUnknown(
                f"{proc.name}: jambonz's answer has no call sid, so it is not the documented "
                "success; the call may or may not have been placed and was NOT retried."
            )
        await self._settle()
        item = {
            "account_sid": self.settings["AccountSid"],
            "sid": sid,
            "conference_sid": name,
            "status": "queued",
        }
        return [runner.result_row(proc, mapping, item, values)]

    async def call_ModifyParticipants(
        self, runner: ProcedureRunner, proc: Procedure, values: dict[str, object]
    ) -> list[Row]:
        """One ``POST /Calls/{CallSid}`` per change (jambonz takes one at a time), each
        reported to the receiver once jambonz accepted it."""
        mapping = self.procedures[proc.name]
        name = str(values["ConferenceSid"])
        path = self._events_path()
        reporting = bool(self.settings["WebhookUrl"] and self.settings["WebhookSecret"])
        if path and not reporting:
            raise ProgrammingError(
                f"{proc.name} on {self.name}: jambonz reports no mute or hold changes, so "
                "confsql records each one with `confsql listen` itself, and Participants (read "
                "from EventsDb) would show stale values without it: set WebhookUrl and "
                "WebhookSecret (or connect without EventsDb). Nothing was sent."
            )
        member = await self._member(runner, proc.name, name, str(values["CallSid"]))
        call_sid = values["CallSid"] = member.call_sid if member else str(values["CallSid"])
        changes: list[tuple[str, str, Any]] = []  # (report event, field, value)
        if values.get("Muted") is not None:
            word = "mute" if values["Muted"] else "unmute"
            changes.append((word, "conferenceParticipantAction", {"action": word}))
        if values.get("Hold") is not None:
            word = "hold" if values["Hold"] else "unhold"
            changes.append((word, "conf_hold_status", word))
        done: list[str] = []
        for word, field, value in changes:
            try:
                await self._update_call(runner, proc.name, mapping, call_sid, [(field, value)])
            except Error as exc:
                if done:
                    exc.message = (
                        f"{exc.message} ({' and '.join(done)} had already been applied to call "
                        f"{call_sid}; only the rest failed)"
                    )
                    exc.args = (exc.message,)
                if isinstance(exc, OutcomeUnknown):
                    # No query can check it (jambonz shows no mute or hold state), so this is
                    # not left to the runner, which would append one.
                    raise OperationalError(
                        f"{exc.message} jambonz shows no mute or hold state, so no query can "
                        "tell whether it took effect; running the same EXEC again is harmless "
                        "(the change is the same the second time).",
                        status=exc.status,
                        code=exc.code,
                    ) from None
                raise
            done.append(word)
            if reporting:
                await self._report(word, name, call_sid, member.label if member else None)
        if member is not None:
            for word, _, _ in changes:
                if word in ("mute", "unmute"):
                    member.muted = int(word == "mute")
                else:
                    member.hold = int(word == "hold")
            member.updated = now()
            item = member.item(str(self.settings["AccountSid"]))
        else:
            item = {
                "conference_sid": name,
                "call_sid": call_sid,
                "account_sid": self.settings["AccountSid"],
                "muted": values.get("Muted"),
                "hold": values.get("Hold"),
            }
        return [runner.result_row(proc, mapping, item, {})]

    async def call_RemoveParticipant(
        self, runner: ProcedureRunner, proc: Procedure, values: dict[str, object]
    ) -> list[Row]:
        """``DELETE /Calls/{CallSid}`` (204): hangs the participant's call up."""
        mapping = self.procedures[proc.name]
        name = str(values["ConferenceSid"])
        member = await self._member(runner, proc.name, name, str(values["CallSid"]))
        # The call sid, not a label, in the check query of an unknown outcome.
        call_sid = values["CallSid"] = member.call_sid if member else str(values["CallSid"])
        await runner.requester.client.json(
            mapping.method,
            runner.requester.url(mapping.path, {"CallSid": call_sid}),
            what=proc.name,
            expect=mapping.success,
        )
        await self._settle()
        return [
            runner.result_row(proc, mapping, None, {"ConferenceSid": name, "CallSid": call_sid})
        ]

    async def call_JoinConference(
        self, runner: ProcedureRunner, proc: Procedure, values: dict[str, object]
    ) -> list[Row]:
        """Redirect the live call: ``POST /Calls/{CallSid}`` with a ``call_hook`` whose answer
        is the conference verb (its parameters signed, and bound to this call)."""
        mapping = self.procedures[proc.name]
        name = str(values["ConferenceSid"])
        call_sid = str(values["CallSid"])
        secret = self._secret(proc.name)
        parameters = {**self._conference_parameters(values), "callSid": call_sid}
        hook = self._hook(proc.name, sign_parameters(secret, parameters))
        try:
            await self._update_call(runner, proc.name, mapping, call_sid, [("call_hook", hook)])
        except OutcomeUnknown as exc:
            exc.message = (
                f"{exc.message} To check: SELECT * FROM Participants WHERE CallSid = "
                f"'{_sql(call_sid)}'"
            )
            exc.args = (exc.message,)
            raise
        except ProgrammingError as exc:
            if exc.status != 404:
                raise
            raise ProgrammingError(
                f"JoinConference: jambonz knows no live call {call_sid!r}; give the sid of a "
                "call in progress. Nothing was changed.",
                status=404,
            ) from None
        await self._settle()
        item = {
            "conference_sid": name,
            "call_sid": call_sid,
            "account_sid": self.settings["AccountSid"],
            "status": "connecting",
        }
        return [runner.result_row(proc, mapping, item, {})]

    # --- helpers of the procedures ---------------------------------------------------------

    def _secret(self, procedure: str) -> str:
        secret = self.settings["WebhookSecret"]
        if not secret:
            raise ProgrammingError(
                f"{procedure} on {self.name}: WebhookSecret is missing; it signs the conference "
                "parameters the call hook answers with, and `confsql listen` checks them with "
                "the same secret (--jambonz-webhook-secret). Set WebhookSecret (or "
                "JAMBONZ_WEBHOOK_SECRET). Nothing was sent."
            )
        return str(secret)

    def _hook(self, procedure: str, token: str) -> dict[str, str]:
        """The receiver's call hook for ``token`` (a jambonz ``Webhook``)."""
        base = self.settings["WebhookUrl"]
        if not base:
            also = (
                ", or ApplicationSid (an application whose call hook is the receiver's)"
                if procedure == "AddParticipants"
                else ""
            )
            raise ProgrammingError(
                f"{procedure} on {self.name}: a call joins a conference when its call hook "
                "answers the conference verb, and `confsql listen` serves that hook: set "
                f"WebhookUrl to the public URL jambonz reaches it at{also}. Nothing was sent."
            )
        url = f"{str(base).rstrip('/')}/jambonz/hook?{urlencode({QUERY_KEY: token})}"
        return {"url": url, "method": "post"}

    def _conference_parameters(self, values: Mapping[str, object]) -> dict[str, Any]:
        """The conference verb's attributes (and the label) from the EXEC's inputs."""
        out: dict[str, Any] = {"name": str(values["ConferenceSid"])}
        beep = values.get("Beep")
        if beep is not None:
            out["beep"] = beep == "onEnter"
        for source, attribute in (
            ("StartConferenceOnEnter", "startConferenceOnEnter"),
            ("EndConferenceOnExit", "endConferenceOnExit"),
            ("Muted", "joinMuted"),
            ("MaxParticipants", "maxParticipants"),
            ("Label", "label"),
        ):
            if values.get(source) is not None:
                out[attribute] = values[source]
        if values.get("WaitUrl"):
            method = str(values.get("WaitMethod") or "POST").lower()
            out["waitHook"] = {"url": values["WaitUrl"], "method": method}
        if values.get("ConferenceStatusCallback"):
            out["statusHook"] = {"url": values["ConferenceStatusCallback"], "method": "post"}
        names = values.get("ConferenceStatusCallbackEvent")
        if isinstance(names, list):
            out["statusEvents"] = [e for n in names for e in STATUS_EVENTS[str(n)]]
        else:
            out["statusEvents"] = list(ALL_EVENTS)
        return out

    async def _update_call(
        self,
        runner: ProcedureRunner,
        what: str,
        mapping: ProcedureMapping,
        call_sid: str,
        body: list[tuple[str, Any]],
    ) -> None:
        """``POST /Calls/{CallSid}``: 202 (or 200), no body to read."""
        response = await runner.requester.client.request(
            mapping.method,
            runner.requester.url(mapping.path, {"CallSid": call_sid}),
            body=body,
            what=what,
        )
        if response.status_code not in (200, 202):
            raise OutcomeUnknown(
                f"{what}: jambonz answered {response.status_code} where 202 was expected; the "
                "change may or may not have been made and was NOT retried."
            )

    async def _member(
        self, runner: ProcedureRunner, procedure: str, name: str, ref: str
    ) -> jambonz_events.Member | None:
        """The live member ``ref`` (call sid or label) of conference ``name``, by the events.

        Without EventsDb nothing can be checked: a call sid is used as given, and a label
        cannot be resolved.
        """
        path = self._events_path()
        if path is None:
            if _UUID.fullmatch(ref):
                return None
            raise ProgrammingError(
                f"{procedure} on {self.name}: {ref!r} is not a call sid, and a label can only "
                "be looked up in the events `confsql listen` recorded: connect with EventsDb, "
                "or give the call sid. Nothing was sent."
            )
        account = str(self.settings["AccountSid"])
        client = runner.requester.client
        live = await self._live_names(
            client, self._conferences_url(), f"{procedure}: list Conferences"
        )
        recorded = (
            await asyncio.to_thread(jambonz_events.read, path, account, [name])
            if name in live
            else {}
        )
        members = jambonz_events.members(recorded.get(name, ()))
        found = [m for m in members if m.call_sid == ref] or [m for m in members if m.label == ref]
        if len(found) != 1:
            problem = (
                f"{len(found)} live participants of {name!r} are labelled {ref!r}"
                if found
                else f"{ref!r} is not a live participant of conference {name!r} in the recorded "
                "events"
            )
            raise ProgrammingError(
                f"{procedure} on {self.name}: {problem}; nothing was sent. SELECT CallSid, Label "
                f"FROM Participants WHERE ConferenceSid = '{_sql(name)}' lists them (a call "
                "just placed shows once it has joined); to act on a call the events do not "
                "show, give its call sid on a connection without EventsDb.",
                status=None if found else 404,
            )
        return found[0]

    async def _report(self, event: str, name: str, call_sid: str, label: str | None) -> None:
        """Tell the receiver about a change jambonz accepted (signed like a jambonz event)."""
        body: dict[str, Any] = {
            "event": event,
            "conference_sid": name,
            "friendly_name": name,
            "call_sid": call_sid,
            "account_sid": self.settings["AccountSid"],
            "time": _iso_ms(now()),
            "reported_by": "confsql",
        }
        if label is not None:
            body["customerData"] = {QUERY_KEY: {"label": label}}
        content = orjson.dumps(body)
        headers = {
            "Content-Type": "application/json",
            "Jambonz-Signature": jambonz_header(str(self.settings["WebhookSecret"]), content),
        }
        url = f"{str(self.settings['WebhookUrl']).rstrip('/')}/jambonz/status"
        problem: str | None = None
        try:
            async with httpx.AsyncClient(timeout=float(self.settings["Timeout"])) as client:
                response = await client.post(url, content=content, headers=headers)
            if response.status_code != 200:
                problem = f"it answered {response.status_code}"
        except httpx.HTTPError as exc:
            problem = f"{type(exc).__name__}"
        if problem is not None:
            raise OperationalError(
                f"jambonz made the change ({event} call {call_sid}), but reporting it to "
                f"`confsql listen` at {url} failed ({problem}), so ConferenceEvents and "
                "Participants do not show it. Check the receiver is running with this "
                "WebhookSecret, then run the same EXEC again (repeating the change is harmless)."
            )

    async def _settle(self) -> None:
        """In the sandbox, wait until the emulator has run the hooks and events just caused
        (as jambonz would a moment later), so the next statement sees them."""
        if not self.settings["Sandbox"] or self.settings["BaseUrl"]:
            return
        from ..sandbox import sandbox_emulator

        wire = sandbox_emulator(self.wire).wire
        drain = getattr(wire, "drain", None)
        if drain is not None:
            await asyncio.to_thread(drain)
