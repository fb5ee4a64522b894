"""Telnyx TeXML REST (API v2, ``/texml/Accounts/{AccountSid}/…``): Twilio's shape, Telnyx's details.

Data lives in ``schema/providers/texml.toml``.  What differs from Twilio:
Bearer auth with an API key; paths without ``.json`` under
``https://api.telnyx.com/v2``; links (``next_page_uri``, ``uri``) that start
with ``/v2/texml/…`` and so are joined to the scheme and host; list inputs
sent as one space-separated value; errors ``{"errors": [{code, title,
detail, source}]}``; participant statuses connecting/connected/completed;
call SIDs like ``v3:9X2v…`` and UUID conference and account ids.

Procedures: AddParticipants is TeXML's own create-participant request
(checked against TeXML's narrower ranges first, and needing a TeXML
application to start a conference); JoinConference redirects the live call
with inline TeXML ``<Dial><Conference>``; the others are the one declared
request, as on Twilio.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar
from xml.sax.saxutils import escape, quoteattr

import httpx

from ..errors import DataError, Error, NotSupportedError, OperationalError, ProgrammingError
from ..http import OutcomeUnknown
from ..properties import Property, given_as
from ..schema import Procedure, ProcedureMapping, TableMapping
from .base import BearerAuth, ErrorBody, Format, form_value
from .twilio import Twilio, _json_object

if TYPE_CHECKING:
    from ..http import ApiClient
    from ..procedures import ProcedureRunner, Row

_PHONE = re.compile(r"\+[1-9][0-9]{1,14}|[0-9]{3,15}")
_SIP = re.compile(r"sip:[^\s@]+@[^\s@]+", re.IGNORECASE)
_CALL_SID = re.compile(r"v[0-9]+:[A-Za-z0-9_=-]+")
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_TWILIO_ACCOUNT = re.compile(r"AC[0-9a-fA-F]{32}")
# TeXML's CallerId (the SIP From display name): "letters, numbers, spaces, and -_~!.+", ≤ 128.
_DISPLAY_NAME = re.compile(r"[A-Za-z0-9 \-_~!.+]{1,128}")


def _is_address(text: str) -> bool:
    return bool(_PHONE.fullmatch(text) or _SIP.fullmatch(text))


TEXML_FORMATS: dict[str, Format] = {
    "endpoint": (_is_address, "a phone number (+E.164) or a sip:USER@HOST address"),
    "caller": (_is_address, "a phone number (+E.164) or a sip:USER@HOST address"),
    "call": (
        lambda text: _CALL_SID.fullmatch(text) is not None,
        "a TeXML call SID such as v3:9X2vxPDFY2RHSJ1EdMS0RHRksMTg7ldNxdjWbVr9zBjbGjGsSe-aiQ",
    ),
}

# What TeXML rings for at most (its Timeout), and the event names each list input may carry.
MAX_TIMEOUT = 120
EVENTS: dict[str, frozenset[str]] = {
    "StatusCallbackEvent": frozenset({"initiated", "ringing", "answered", "completed"}),
    "ConferenceStatusCallbackEvent": frozenset({"start", "end", "join", "leave"}),
    "RecordingStatusCallbackEvent": frozenset({"in-progress", "completed", "absent"}),
    "ConferenceRecordingStatusCallbackEvent": frozenset(
        {"in-progress", "completed", "failed", "absent"}
    ),
}
# Inputs seconds in confsql and milliseconds in TeXML.
MILLISECONDS = frozenset({"MachineDetectionTimeout"})
# What to do instead of an input TeXML has no field for.
INSTEAD: dict[str, str] = {
    "CallerId": (
        "TeXML's CallerId is a SIP display name, not a number: give the number as From "
        "and the name as CallerDisplayName"
    ),
    "WaitMethod": "TeXML fetches WaitUrl without a choice of method; leave WaitMethod out",
    "Hold": "join first, then EXEC ModifyParticipants ... Hold = 1",
    "HoldAudioUrl": "join first, then EXEC ModifyParticipants ... Hold = 1, HoldUrl = '...'",
    "SupervisorRole": (
        "join first, then EXEC ModifyParticipants ... Coaching = 1, CallSidToCoach = '...'"
    ),
    "WhisperCallSids": (
        "join first, then EXEC ModifyParticipants ... Coaching = 1, CallSidToCoach = '...'"
    ),
}


class TelnyxTeXML(Twilio):
    """Telnyx TeXML: Bearer auth, Twilio-shaped resources under ``/v2/texml``."""

    name = "TelnyxTeXML"
    # Catalog lookups go by the TOML's `name` (schema/providers/texml.toml says TelnyxTeXML).
    mapping_name = "TelnyxTeXML"
    wire = "texml"
    description = "Telnyx TeXML REST conferences (API v2, /texml/Accounts/{AccountSid})."
    properties: ClassVar[tuple[Property, ...]] = (
        Property(
            "ApiKey",
            str,
            None,
            "Telnyx API v2 key, sent as a Bearer token.",
            env="TELNYX_API_KEY",
            secret=True,
        ),
        Property(
            "AccountSid",
            str,
            None,
            "TeXML account id (a UUID); always used in request paths.",
            env="TELNYX_ACCOUNT_SID",
        ),
        Property(
            "ApplicationSid",
            str,
            None,
            "TeXML application that handles calls AddParticipants places; needed only to "
            "start a conference that does not exist yet.",
            env="TELNYX_APPLICATION_SID",
        ),
    )
    credentials = ("ApiKey", "AccountSid")
    input_advice: ClassVar[Mapping[str, str]] = INSTEAD
    formats: ClassVar[Mapping[str, Format]] = TEXML_FORMATS
    url_user = "AccountSid"
    url_password = "ApiKey"
    identifier = re.compile(rf"{_UUID}|v[0-9]+:[A-Za-z0-9_=-]+")
    alternatives: ClassVar[Mapping[str, str]] = {}

    # --- properties --------------------------------------------------------------------

    def subscribe(self, proc: Procedure, values: dict[str, object]) -> dict[str, object]:
        """No automatic subscription: TeXML's status callbacks are not Twilio-signed, and
        `confsql listen` does not verify them yet (pass ConferenceStatusCallback yourself)."""
        return values

    @classmethod
    def check_settings(cls, values: Mapping[str, Any], from_env: Mapping[str, str]) -> None:
        missing = [name for name in cls.credentials if not values.get(name)]
        if missing:
            raise ProgrammingError(
                f"no credentials: {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} "
                "missing. TelnyxTeXML needs ApiKey (a Telnyx API v2 key) and AccountSid (the "
                "TeXML account id): set them in the connection string, as keyword arguments "
                "(api_key=..., account_sid=...), or in TELNYX_API_KEY / TELNYX_ACCOUNT_SID. To "
                "try confsql without an account, connect with Provider=TelnyxTeXML;Sandbox=true."
            )
        sid = str(values["AccountSid"])
        if _TWILIO_ACCOUNT.fullmatch(sid):
            raise ProgrammingError(
                f"{given_as('AccountSid', sid, from_env)} is a Twilio account SID; TelnyxTeXML "
                "needs the TeXML account id (a UUID such as 61bf923e-5e4d-4595-a110-56190ea18a1b)"
            )

    # --- connection ------------------------------------------------------------------------

    def default_base_url(self) -> str:
        return self.mapping.base_url

    def auth(self) -> httpx.Auth | None:
        key = self.settings["ApiKey"]
        return BearerAuth(str(key)) if key else None

    def credential_hint(self) -> str:
        sid = self.settings["AccountSid"]
        return f"check ApiKey, and that AccountSid {sid} is the TeXML account of that key"

    # --- wire ------------------------------------------------------------------------------

    def encode_body(self, fields: Any) -> dict[str, Any]:
        """A form; a list input is one value, its items separated by spaces (TeXML's way)."""
        grouped: dict[str, list[str]] = {}
        for key, value in fields:
            grouped.setdefault(key, []).append(form_value(value))
        return {"data": {key: " ".join(values) for key, values in grouped.items()}}

    async def _follow(
        self,
        client: ApiClient,
        url: str,
        query: list[tuple[str, str]],
        mapping: TableMapping,
        page_size: int,
        what: str,
        fields: tuple[str, ...] | None,
    ) -> AsyncIterator[Any]:
        """Follow ``next_page_uri`` (joined to the host) until it is null, missing or empty
        (the items as :meth:`pages` or :meth:`values` give them)."""
        paging = self.mapping.paging
        params = list(query)
        if mapping.items in paging.get("sized_lists", ()):
            params.append((str(paging.get("page_size_param", "PageSize")), str(page_size)))
        target: str | None = url
        sent: list[tuple[str, str]] | None = params
        followed: set[str] = set()
        while target:
            items, nxt = await self.list_page(client, target, sent or None, mapping, what, fields)
            link = _on_host(client.base_url, nxt) if isinstance(nxt, str) and nxt else None
            if link is not None and link in followed:
                raise OperationalError(
                    f"{what}: the provider's next-page link repeats an earlier page ({nxt}); "
                    "stopping rather than returning rows twice"
                )
            target = link
            if link is not None:
                followed.add(link)
            sent = None  # the next-page link carries the whole query
            handed = [items]
            del items
            yield handed.pop()

    def error_body(self, response: httpx.Response) -> ErrorBody:
        """``{"errors": [{"code", "title", "detail", "source", "meta"}]}`` (a 404: ``detail``)."""
        errors = _json_object(response).get("errors")
        if not isinstance(errors, list):
            return ErrorBody()
        entries = [e for e in errors if isinstance(e, dict)]
        if not entries:
            return ErrorBody()
        first = entries[0]
        code = first.get("code")
        texts = []
        for entry in entries:
            text = entry.get("detail") or entry.get("title")
            if isinstance(text, str) and text and text not in texts:
                texts.append(text)
        meta = first.get("meta")
        info = meta.get("url") if isinstance(meta, dict) else None
        return ErrorBody(
            code if isinstance(code, int | str) and not isinstance(code, bool) else None,
            "; ".join(texts) or None,
            info if isinstance(info, str) else None,
        )

    # --- procedures ------------------------------------------------------------------------

    def check_inputs(
        self, proc: Procedure, mapping: ProcedureMapping, inputs: Mapping[str, object]
    ) -> None:
        """The declared inputs TeXML has, then TeXML's own limits; nothing is sent on failure."""
        super().check_inputs(proc, mapping, inputs)
        if proc.name != "AddParticipants":
            return
        wait = inputs.get("WaitTime")
        if isinstance(wait, int) and wait > MAX_TIMEOUT:
            raise DataError(
                f"AddParticipants on {self.name}: WaitTime {wait} is out of range; "
                f"{self.name} rings for 5 to {MAX_TIMEOUT} seconds at most (its Timeout), so "
                "nothing was sent"
            )
        for name, allowed in EVENTS.items():
            given = inputs.get(name)
            odd = [e for e in given if e not in allowed] if isinstance(given, list) else []
            if odd:
                raise NotSupportedError(
                    f"AddParticipants on {self.name}: {name} {', '.join(map(repr, odd))} "
                    f"{'is' if len(odd) == 1 else 'are'} not supported by {self.name}, so "
                    f"nothing was sent; it takes: {', '.join(sorted(allowed))}"
                )
        display = inputs.get("CallerDisplayName")
        if isinstance(display, str) and not _DISPLAY_NAME.fullmatch(display):
            raise DataError(
                f"AddParticipants on {self.name}: CallerDisplayName {display[:40]!r} is not a "
                f"display name {self.name} accepts: 1 to 128 letters, digits, spaces and "
                "-_~!.+ (nothing was sent)"
            )

    async def call(
        self, runner: ProcedureRunner, proc: Procedure, values: dict[str, object]
    ) -> list[Row]:
        """Run the procedure; statuses come back in the SQL vocabulary (completed -> complete)."""
        rows = await super().call(runner, proc, values)
        table = proc.results_table or next(
            (t.name for t in runner.catalog.tables.values() if proc.name == t.insert), None
        )
        mapping = self.tables.get(table) if table else None
        if mapping is None or not mapping.values:
            return rows
        maps = [mapping.values.get(result.name) for result in proc.results]
        return [
            tuple(
                m.get(v, v) if m and isinstance(v, str) else v
                for m, v in zip(maps, row, strict=True)
            )
            for row in rows
        ]

    async def call_AddParticipants(
        self, runner: ProcedureRunner, proc: Procedure, values: dict[str, object]
    ) -> list[Row]:
        """``POST …/Conferences/{ConferenceSid}/Participants`` (200).

        TeXML needs an application to start a conference; without ApplicationSid a
        friendly name can only join the live conference of that name, by its SID.
        """
        mapping = self.procedures[proc.name]
        conference = str(values["ConferenceSid"])
        application = self.settings["ApplicationSid"]
        if not application and not self.is_conference_sid(conference):
            try:
                conference = await runner.conference_sid(conference)
            except ProgrammingError as exc:
                if exc.status != 404:
                    raise
                raise ProgrammingError(
                    f"AddParticipants on {self.name}: no live conference is named "
                    f"{conference!r}, and starting one needs a TeXML application: set the "
                    "ApplicationSid connection property (or TELNYX_APPLICATION_SID), or give the "
                    "SID of a live conference. Nothing was sent."
                ) from None
        body: list[tuple[str, object]] = []
        for name, value in values.items():
            if name == "ConferenceSid":
                continue
            if name in MILLISECONDS and isinstance(value, int):
                value = value * 1000
            for item in value if isinstance(value, list) else [value]:
                body.append((mapping.fields.get(name, name), item))
        if application:
            body.append(("ApplicationSid", str(application)))
        answer = await runner.requester.client.json(
            mapping.method,
            runner.requester.url(mapping.path, {"ConferenceSid": conference}),
            body=body,
            what=proc.name,
            expect=mapping.success,
        )
        return [runner.result_row(proc, mapping, answer, values)]

    async def call_JoinConference(
        self, runner: ProcedureRunner, proc: Procedure, values: dict[str, object]
    ) -> list[Row]:
        """Redirect the live call: ``POST …/Calls/{CallSid}`` with ``Texml=<Response><Dial>
        <Conference …>name</Conference></Dial></Response>``; then read its participant row."""
        mapping = self.procedures[proc.name]
        call_sid = str(values["CallSid"])
        ref = str(values["ConferenceSid"])
        conference_sid: str | None = None
        name = ref
        if self.is_conference_sid(ref):
            name, conference_sid = await self._live_conference_name(runner, ref), ref
        check = f"To check: SELECT * FROM Participants WHERE CallSid = '{_sql(call_sid)}'"
        try:
            await runner.requester.client.json(
                mapping.method,
                runner.requester.url(mapping.path, {"CallSid": call_sid}),
                body=[("Texml", conference_texml(name, values))],
                what=proc.name,
                expect=mapping.success,
            )
        except OutcomeUnknown as exc:
            exc.message = f"{exc.message} {check}"
            exc.args = (exc.message,)
            raise
        except ProgrammingError as exc:
            if exc.status != 404:
                raise
            raise ProgrammingError(
                f"JoinConference: {self.name} knows no call {call_sid!r}; give the CallSid of a "
                "call in progress (a v3:... call SID). Nothing was changed.",
                status=404,
            ) from None
        try:
            return [await self._joined_row(runner, proc, call_sid, name, conference_sid)]
        except Error as exc:
            raise OperationalError(
                f"JoinConference: {self.name} accepted moving call {call_sid} into conference "
                f"{name!r}, but reading its participant row failed ({exc.message}); do not run "
                f"it again. {check}"
            ) from None

    async def _live_conference_name(self, runner: ProcedureRunner, sid: str) -> str:
        """The friendly name of live conference ``sid`` (TeXML dials conferences by name)."""
        table = self.tables["Conferences"]
        assert table.fetch is not None
        found = await runner.requester.fetch("Conferences", table, {"Sid": sid})
        if found is None:
            raise ProgrammingError(
                f"JoinConference: no conference has the SID {sid!r} (SELECT Sid, FriendlyName "
                "FROM Conferences WHERE Status != 'completed' lists the live ones); nothing was "
                "sent",
                status=404,
            )
        name = found.get(table.fields["FriendlyName"])
        if (
            found.get(table.fields["Status"]) == "completed"
            or not isinstance(name, str)
            or not name
        ):
            raise ProgrammingError(
                f"JoinConference: conference {sid} has ended (or has no name to dial), so a call "
                "cannot join it; give a live conference or a new name. Nothing was sent."
            )
        return name

    async def _joined_row(
        self,
        runner: ProcedureRunner,
        proc: Procedure,
        call_sid: str,
        name: str,
        conference_sid: str | None,
    ) -> Row:
        """The participant row of the moved call; NULL where TeXML does not show it yet."""
        table = self.tables["Participants"]
        fields = table.fields
        if conference_sid is None:
            try:
                conference_sid = await runner.conference_sid(name)
            except ProgrammingError as exc:
                if exc.status != 404:
                    raise
        item: dict[str, Any] | None = None
        if conference_sid is not None:
            item = await runner.requester.fetch(
                "Participants", table, {"ConferenceSid": conference_sid, "CallSid": call_sid}
            )
        if item is None:  # not listed (yet): only what is known
            item = {
                fields["ConferenceSid"]: conference_sid,
                fields["CallSid"]: call_sid,
                fields["AccountSid"]: self.settings["AccountSid"],
            }
        return runner.result_row(proc, self.procedures[proc.name], item, {})


def conference_texml(name: str, values: Mapping[str, object]) -> str:
    """``<Response><Dial><Conference …>name</Conference></Dial></Response>`` for JoinConference."""
    attributes = {
        "muted": values.get("Muted"),
        "startConferenceOnEnter": values.get("StartConferenceOnEnter"),
        "endConferenceOnExit": values.get("EndConferenceOnExit"),
        "beep": values.get("Beep"),
    }
    shown = "".join(
        f" {key}={quoteattr(form_value(value))}"
        for key, value in attributes.items()
        if value is not None
    )
    return f"<Response><Dial><Conference{shown}>{escape(name)}</Conference></Dial></Response>"


def _on_host(base_url: str, link: str) -> str:
    """A provider link as an absolute URL: ``/v2/texml/…`` is joined to the scheme and host."""
    if "://" in link:
        return link
    base = httpx.URL(base_url)
    return f"{base.scheme}://{base.netloc.decode('ascii')}/{link.lstrip('/')}"


def _sql(text: str) -> str:
    return text.replace("'", "''")
