"""SignalWire's Compatibility ("LaML") REST API: Twilio's shape on a Space of your own.

Data lives in ``schema/providers/signalwire.toml``.  What differs from
Twilio: the host is the Space (``https://{Space}.signalwire.com/api/laml/
2010-04-01``), the Basic credentials are the Project ID and an API token,
ids are UUIDs, paths have no ``.json``, next-page links start with
``/api/laml/2010-04-01`` (joined to the host, see :meth:`Twilio.next_url`),
a create-call error answers an ``errors`` array, and dates may spell
September ``Sept``.

There is no create-participant request: AddParticipants places a call
(``POST /Calls``) whose inline markup dials it into the conference, as
JoinConference redirects a live call (inherited from :class:`Twilio`).  The
markup goes in the ``Twiml`` field; see the README's SignalWire section for
why, and for how certain that is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from ..errors import DataError, NotSupportedError, ProgrammingError
from ..properties import Property, given_as
from ..schema import Procedure, ProcedureMapping
from ..values import rfc2822
from .base import ErrorBody, Format
from .markup import check_markup_text, conference_markup, markup_value
from .twilio import Twilio, _json_object, is_caller, is_endpoint

if TYPE_CHECKING:
    from ..procedures import ProcedureRunner, Row

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_DOMAIN = ".signalwire.com"
_APP = re.compile(r"app:", re.IGNORECASE)


def space_problem(text: str) -> str | None:
    """Problem with a Space (a name like ``example`` or a host ``example.signalwire.com``)."""
    host = text.lower()
    labels = host[: -len(_DOMAIN)].split(".") if host.endswith(_DOMAIN) else [host]
    if all(_LABEL.fullmatch(label) for label in labels):
        return None
    return (
        "must be your Space's name (e.g. example) or its host (example.signalwire.com), "
        "without https:// or a path"
    )


def _uuid_format(what: str) -> Format:
    return (lambda text: _UUID.fullmatch(text) is not None), (
        f"a {what} SID: a UUID such as b3877c40-da60-4998-90ad-b792e98472ca"
    )


SIGNALWIRE_FORMATS: dict[str, Format] = {
    "endpoint": (
        lambda text: is_endpoint(text) and not _APP.match(text),
        "a phone number (+E.164 or digits), client:NAME or sip:USER@HOST",
    ),
    "caller": (
        lambda text: is_caller(text) and not _APP.match(text),
        "a phone number (+E.164 or digits), client:NAME, sip:USER@HOST or the user part "
        "of a SIP address",
    ),
    "call": _uuid_format("call"),
    # Byoc has no SignalWire equivalent (NotSupportedError follows); any text passes here.
    "trunk": (lambda text: True, "text"),
}

# AddParticipants inputs -> attributes of the cXML <Conference> noun.
CONFERENCE_ATTRIBUTES = {
    "Muted": "muted",
    "Beep": "beep",
    "StartConferenceOnEnter": "startConferenceOnEnter",
    "EndConferenceOnExit": "endConferenceOnExit",
    "WaitUrl": "waitUrl",
    "WaitMethod": "waitMethod",
    "MaxParticipants": "maxParticipants",
    "ConferenceRecord": "record",
    "ConferenceTrim": "trim",
    "ConferenceStatusCallback": "statusCallback",
    "ConferenceStatusCallbackMethod": "statusCallbackMethod",
    "ConferenceStatusCallbackEvent": "statusCallbackEvent",
    "ConferenceRecordingStatusCallback": "recordingStatusCallback",
    "ConferenceRecordingStatusCallbackMethod": "recordingStatusCallbackMethod",
    "ConferenceRecordingStatusCallbackEvent": "recordingStatusCallbackEvent",
}
# AddParticipants inputs -> fields of the create-call request (CreateCallRequest).
CALL_FIELDS = {
    "From": "From",
    "To": "To",
    "StatusCallback": "StatusCallback",
    "StatusCallbackMethod": "StatusCallbackMethod",
    "StatusCallbackEvent": "StatusCallbackEvent",
    "WaitTime": "Timeout",
    "Record": "Record",
    "RecordingChannels": "RecordingChannels",
    "RecordingStatusCallback": "RecordingStatusCallback",
    "RecordingStatusCallbackMethod": "RecordingStatusCallbackMethod",
    "RecordingStatusCallbackEvent": "RecordingStatusCallbackEvent",
    "RecordingTrack": "RecordingTrack",
    "CallerId": "CallerId",
    "MachineDetection": "MachineDetection",
    "MachineDetectionTimeout": "MachineDetectionTimeout",
    "MachineDetectionSpeechThreshold": "MachineDetectionSpeechThreshold",
    "MachineDetectionSpeechEndThreshold": "MachineDetectionSpeechEndThreshold",
    "MachineDetectionSilenceTimeout": "MachineDetectionSilenceTimeout",
    "AmdStatusCallback": "AsyncAmdStatusCallback",
    "AmdStatusCallbackMethod": "AsyncAmdStatusCallbackMethod",
    "Trim": "Trim",
}
# List inputs SignalWire takes only some values of: input -> the values it takes.
TAKES_VALUES = {
    "ConferenceStatusCallbackEvent": ("start", "end", "join", "leave", "mute", "hold", "speaker"),
    "ConferenceRecordingStatusCallbackEvent": ("in-progress", "completed", "failed"),
    "RecordingStatusCallbackEvent": ("in-progress", "completed", "absent"),
}
# ConferenceRecord's participant-API spellings -> the <Conference record> values.
RECORD_VALUES = {"true": "record-from-start", "false": "do-not-record"}


class SignalWire(Twilio):
    """SignalWire Compatibility API: Twilio's wire with a Space host, UUIDs and no ``.json``."""

    name = "SignalWire"
    mapping_name = "signalwire"
    wire = "signalwire"
    description = "SignalWire Compatibility (LaML) REST API conferences."
    properties: ClassVar[tuple[Property, ...]] = (
        Property(
            "Space",
            str,
            None,
            "SignalWire Space: its name (example) or host (example.signalwire.com); the API "
            "is https://{Space}.signalwire.com/api/laml/2010-04-01. Not needed with BaseUrl.",
            env="SIGNALWIRE_SPACE",
            check=space_problem,
        ),
        Property(
            "ProjectId",
            str,
            None,
            "Project ID (a UUID): the HTTP Basic user, and the account in request paths.",
            env="SIGNALWIRE_PROJECT_ID",
        ),
        Property(
            "ApiToken",
            str,
            None,
            "API token of the project (HTTP Basic password).",
            env="SIGNALWIRE_API_TOKEN",
            secret=True,
        ),
    )
    credentials = ("ProjectId", "ApiToken")
    # `confsql listen` takes SignalWire's conference events here; cXML names these events.
    webhook_path = "/signalwire"
    webhook_events = TAKES_VALUES["ConferenceStatusCallbackEvent"]
    url_user = "ProjectId"
    url_password = "ApiToken"
    formats: ClassVar[Mapping[str, Format]] = SIGNALWIRE_FORMATS
    identifier = _UUID
    input_advice: ClassVar[Mapping[str, str]] = {
        **Twilio.input_advice,
        "AddParticipants.Label": "SignalWire participants have no label: use the CallSid "
        "AddParticipants returns",
        "ModifyParticipants.EndConferenceOnExit": "set it when the call joins (AddParticipants "
        "or JoinConference EndConferenceOnExit)",
    }

    # --- properties --------------------------------------------------------------------

    @classmethod
    def check_settings(cls, values: Mapping[str, Any], from_env: Mapping[str, str]) -> None:
        project, token = values.get("ProjectId"), values.get("ApiToken")
        if not project and not token:
            raise ProgrammingError(
                "no credentials: set ProjectId and ApiToken (and Space) in the connection "
                "string, as keyword arguments (project_id=..., api_token=..., space=...), or in "
                "SIGNALWIRE_PROJECT_ID / SIGNALWIRE_API_TOKEN / SIGNALWIRE_SPACE. To try "
                "confsql without an account, connect with Provider=SignalWire;Sandbox=true."
            )
        if not project:
            raise ProgrammingError(
                "ProjectId is missing for ApiToken: set ProjectId or SIGNALWIRE_PROJECT_ID"
            )
        if not _UUID.fullmatch(str(project)):
            raise ProgrammingError(
                f"{given_as('ProjectId', project, from_env)} is not a SignalWire Project ID "
                "(a UUID such as b3877c40-da60-4998-90ad-b792e98472af)"
            )
        if not token:
            raise ProgrammingError(
                "ApiToken is missing for ProjectId: set ApiToken or the SIGNALWIRE_API_TOKEN "
                "environment variable"
            )
        if not values.get("Space") and not values.get("BaseUrl"):
            raise ProgrammingError(
                "Space is missing: set Space to your SignalWire Space (example, or "
                "example.signalwire.com) or SIGNALWIRE_SPACE; or set BaseUrl"
            )

    @classmethod
    def url_properties(cls, user: str | None, password: str | None) -> dict[str, str]:
        """A URL's user is the Project ID, its password the API token (the base's
        ``url_user``/``url_password``, not Twilio's API-key rule)."""
        return super(Twilio, cls).url_properties(user, password)

    # --- connection ------------------------------------------------------------------------

    def default_base_url(self) -> str:
        """``https://{Space}.signalwire.com/api/laml/2010-04-01`` (a host Space used as is)."""
        space = str(self.settings["Space"] or "").lower()
        problem = space_problem(space) if space else "is missing"
        if problem:
            raise ProgrammingError(f"Space {problem}")
        host = space if space.endswith(_DOMAIN) else space + _DOMAIN
        url = self.mapping.base_url.replace("{Space}" + _DOMAIN, host)
        if httpx.URL(url).host != host:  # never another domain
            raise ProgrammingError("Space must be a SignalWire Space name or host")
        return url

    def auth(self) -> httpx.Auth | None:
        project, token = self.settings["ProjectId"], self.settings["ApiToken"]
        return httpx.BasicAuth(project, token) if project and token else None

    def credential_hint(self) -> str:
        project = self.settings["ProjectId"]
        if project:
            return f"check ApiToken for ProjectId {project}, or that the ProjectId is right"
        return "no credentials were sent; set ProjectId and ApiToken"

    def root_values(self) -> dict[str, str]:
        return {"ProjectId": str(self.settings["ProjectId"] or "")}

    # --- wire ------------------------------------------------------------------------------

    def error_body(self, response: httpx.Response) -> ErrorBody:
        """``{"code", "message", "more_info", "status"}``, or (creating a call)
        ``{"errors": [{"code", "message", "more_info"}, …]}``: the first of them."""
        body = _json_object(response)
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            code, message, info = first.get("code"), first.get("message"), first.get("more_info")
            return ErrorBody(
                code if isinstance(code, int | str) and not isinstance(code, bool) else None,
                str(message) if message else None,
                info if isinstance(info, str) else None,
            )
        return super().error_body(response)

    def decode_datetime(self, raw: str) -> str | None:
        """RFC 2822, also with SignalWire's ``Sept`` (its docs' spelling of September)."""
        return rfc2822(raw.replace(" Sept ", " Sep ", 1) if " Sept " in raw else raw)

    # --- procedures ------------------------------------------------------------------------

    def check_inputs(
        self, proc: Procedure, mapping: ProcedureMapping, inputs: Mapping[str, object]
    ) -> None:
        super().check_inputs(proc, mapping, inputs)
        if proc.name == "AddParticipants":
            self.check_add(inputs)

    def check_add(self, inputs: Mapping[str, object]) -> None:
        """AddParticipants values SignalWire cannot take, checked before anything is sent."""
        for name, takes in TAKES_VALUES.items():
            given = inputs.get(name)
            refused = [v for v in given if v not in takes] if isinstance(given, list) else []
            if refused:
                raise NotSupportedError(
                    f"AddParticipants on SignalWire: {name} {', '.join(map(repr, refused))} "
                    f"{'is' if len(refused) == 1 else 'are'} not supported by SignalWire, so "
                    f"nothing was sent; it takes {', '.join(takes)}"
                )
        coaching, coach = inputs.get("Coaching"), inputs.get("CallSidToCoach")
        if coaching is True and coach is None:
            raise DataError(
                "AddParticipants: Coaching = 1 needs CallSidToCoach (the call to coach); "
                "nothing was sent"
            )
        if coaching is False and coach is not None:
            raise DataError(
                "AddParticipants: CallSidToCoach is given with Coaching = 0; drop one of them. "
                "Nothing was sent."
            )
        check_markup_text("AddParticipants", inputs)

    async def call_AddParticipants(
        self, runner: ProcedureRunner, proc: Procedure, values: dict[str, object]
    ) -> list[Row]:
        """Place a call whose inline markup dials it into the conference.

        The result's ConferenceSid is the SID given, or that of the live
        conference with the given name when there is one before the call is
        placed; a call that starts a conference cannot say which (NULL).
        """
        mapping = self.procedures[proc.name]
        ref = str(values["ConferenceSid"])
        room, conference_sid = await self.conference_room(runner, ref)
        if conference_sid is None:
            conference_sid = await self.known_conference(runner, room)
        attributes = [
            (attribute, markup_value(values[name]))
            for name, attribute in CONFERENCE_ATTRIBUTES.items()
            if name in values
        ]
        if "ConferenceRecord" in values:  # the participant API's true/false spellings too
            record = str(values["ConferenceRecord"])
            attributes = [
                (a, RECORD_VALUES.get(record, record) if a == "record" else v)
                for a, v in attributes
            ]
        if values.get("Coaching") is not False and "CallSidToCoach" in values:
            attributes.append(("coach", str(values["CallSidToCoach"])))
        body: list[tuple[str, Any]] = []
        for name, field in CALL_FIELDS.items():
            value = values.get(name)
            if value is None:
                continue
            if name == "RecordingStatusCallbackEvent":  # one space-separated string
                body.append((field, markup_value(value)))
            elif isinstance(value, list):  # StatusCallbackEvent: the key repeated
                body.extend((field, item) for item in value)
            else:
                body.append((field, value))
        if "AmdStatusCallback" in values:  # the participant API's AMD callback is the async one
            body.append(("AsyncAmd", True))
        body.append((self.markup_field, conference_markup(proc.name, room, attributes)))
        answer = await runner.requester.client.json(
            mapping.method,
            runner.requester.url(mapping.path, {}),
            body=body,
            what=proc.name,
            expect=mapping.success,
        )
        call = self.unwrap(answer) if answer is not None else {}
        # result_row raises OutcomeUnknown when the answer is not the documented call.
        return [runner.result_row(proc, mapping, call, {**values, "ConferenceSid": conference_sid})]

    async def known_conference(self, runner: ProcedureRunner, name: str) -> str | None:
        """The SID of the one live conference called ``name`` before the call is placed
        (None when there is none yet, or several); read errors are raised (nothing sent)."""
        try:
            return await runner.conference_sid(name)
        except ProgrammingError:
            return None
