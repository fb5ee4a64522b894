"""Twilio Programmable Voice (REST API 2010-04-01): the reference provider.

Data lives in ``schema/providers/twilio.toml``.  What is Twilio's own: HTTP
Basic with the account (or an API key), regional hosts, form bodies,
``next_page_uri`` paging, RFC 2822 timestamps, its error body, and its
address and SID formats.  SignalWire and Telnyx TeXML speak the same shape
and subclass this class.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

import httpx

from ..errors import DataError, Error, NotSupportedError, OperationalError, ProgrammingError
from ..http import OutcomeUnknown
from ..properties import Property, dns_label, given_as
from ..schema import Procedure, ProcedureMapping, TableMapping
from ..values import rfc2822
from .base import ErrorBody, Format, Item, Provider
from .markup import check_markup_text, conference_markup, markup_value

if TYPE_CHECKING:
    from ..http import ApiClient
    from ..procedures import ProcedureRunner, Row

_PHONE = re.compile(r"\+[1-9][0-9]{1,14}|[0-9]{3,15}")
_CLIENT = re.compile(r"client:[^\s?]+(\?\S*)?", re.IGNORECASE)
_SIP = re.compile(r"sip:[^\s@]+@[^\s@]+", re.IGNORECASE)
_APP = re.compile(r"app:AP[0-9a-fA-F]{32}(\?\S*)?", re.IGNORECASE)
_SIP_USER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~+-]*")


def is_endpoint(text: str) -> bool:
    """A phone number, client:NAME, sip:USER@HOST or app:AP… identifier."""
    return any(p.fullmatch(text) for p in (_PHONE, _CLIENT, _SIP, _APP))


def is_caller(text: str) -> bool:
    """An endpoint, or the bare user part of a SIP address (when dialling sip:)."""
    return is_endpoint(text) or bool(_SIP_USER.fullmatch(text))


def sid_format(prefix: str, what: str) -> Format:
    """A Twilio SID: two capital letters and 32 hex digits."""
    pattern = re.compile(prefix + r"[0-9a-fA-F]{32}")
    return (lambda text: pattern.fullmatch(text) is not None), (
        f"a {what} SID: {prefix} followed by 32 hex digits"
    )


# JoinConference inputs -> attributes of the <Conference> noun (TwiML and cXML alike).
JOIN_ATTRIBUTES = {
    "Muted": "muted",
    "StartConferenceOnEnter": "startConferenceOnEnter",
    "EndConferenceOnExit": "endConferenceOnExit",
    "Beep": "beep",
}

TWILIO_FORMATS: dict[str, Format] = {
    "endpoint": (
        is_endpoint,
        "a phone number (+E.164 or digits), client:NAME, sip:USER@HOST or app:AP... SID",
    ),
    "caller": (
        is_caller,
        "a phone number (+E.164 or digits), client:NAME, sip:USER@HOST, app:AP... SID "
        "or the user part of a SIP address",
    ),
    "call": sid_format("CA", "call"),
    "trunk": sid_format("BY", "trunk"),
}


class Twilio(Provider):
    """Twilio: Basic auth, form bodies, next_page_uri paging, RFC 2822 dates."""

    name = "Twilio"
    mapping_name = "twilio"
    wire = "twilio"
    description = "Twilio Programmable Voice conferences (REST API 2010-04-01)."
    properties: ClassVar[tuple[Property, ...]] = (
        Property(
            "AccountSid",
            str,
            None,
            "Account SID (AC…); always used in request paths.",
            env="TWILIO_ACCOUNT_SID",
        ),
        Property(
            "AuthToken",
            str,
            None,
            "Auth token for AccountSid (HTTP Basic password).",
            env="TWILIO_AUTH_TOKEN",
            secret=True,
        ),
        Property(
            "ApiKey",
            str,
            None,
            "API key SID (SK…), used instead of AccountSid/AuthToken for auth.",
            env="TWILIO_API_KEY",
        ),
        Property("ApiSecret", str, None, "Secret of ApiKey.", env="TWILIO_API_SECRET", secret=True),
        Property(
            "Region",
            str,
            None,
            "Twilio Region (e.g. ie1, au1): selects api.{edge}.{region}.twilio.com.",
            env="TWILIO_REGION",
            check=dns_label,
        ),
        Property(
            "Edge",
            str,
            None,
            "Twilio Edge location (e.g. dublin, sydney).",
            env="TWILIO_EDGE",
            check=dns_label,
        ),
    )
    credentials: ClassVar[tuple[str, ...]] = ("AccountSid", "AuthToken", "ApiKey", "ApiSecret")
    # The form field of an update (or create) call request that carries inline markup.
    markup_field: ClassVar[str] = "Twiml"
    input_advice: ClassVar[Mapping[str, str]] = {
        "JoinConference.Hold": "to hold the call, run ModifyParticipants with Hold = 1 once "
        "it has joined",
    }
    formats: ClassVar[Mapping[str, Format]] = TWILIO_FORMATS
    account_pattern = re.compile(r"AC[0-9a-fA-F]{32}")
    identifier = re.compile(r"[A-Z]{2}[0-9a-fA-F]{32}")

    # --- properties --------------------------------------------------------------------

    @classmethod
    def check_settings(cls, values: Mapping[str, Any], from_env: Mapping[str, str]) -> None:
        sid = values.get("AccountSid")
        if not sid:
            raise ProgrammingError(
                "no credentials: set AccountSid and AuthToken (or ApiKey and ApiSecret) in the "
                "connection string, as keyword arguments (account_sid=..., auth_token=...), or "
                "in TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN. To try confsql without an account, "
                "connect with Provider=Sandbox."
            )
        if not cls.account_pattern.fullmatch(sid):
            raise ProgrammingError(
                f"{given_as('AccountSid', sid, from_env)} is not an account SID "
                "(AC followed by 32 hex digits)"
            )
        key, secret = values.get("ApiKey"), values.get("ApiSecret")
        if bool(key) != bool(secret):
            missing = "ApiSecret" if key else "ApiKey"
            raise ProgrammingError(f"ApiKey and ApiSecret go together: {missing} is missing")
        if not values.get("AuthToken") and not key:
            raise ProgrammingError(
                "AuthToken is missing for AccountSid: set AuthToken (or ApiKey and ApiSecret), "
                "or the TWILIO_AUTH_TOKEN environment variable"
            )

    @classmethod
    def url_properties(cls, user: str | None, password: str | None) -> dict[str, str]:
        """A URL's user is the account (or an ``SK…`` API key); its password, the secret."""
        api_key = bool(user) and str(user).startswith("SK")
        out: dict[str, str] = {}
        if user:
            out["ApiKey" if api_key else "AccountSid"] = user
        if password is not None:
            out["ApiSecret" if api_key else "AuthToken"] = password
        return out

    # --- connection ------------------------------------------------------------------------

    def default_base_url(self) -> str:
        """``api.twilio.com``, or the regional host when Region or Edge is set."""
        region, edge = self.settings["Region"], self.settings["Edge"]
        template = self.mapping.regional_base_url
        if not template or not (region or edge):
            return self.mapping.base_url
        if not edge:
            template = template.replace("{edge}.", "")
        url = template.format(edge=edge or "", region=region or self.mapping.default_region or "")
        # Region and Edge are checked as host-name labels; the host must still be the one
        # the template names (never another domain).
        if not httpx.URL(url).host.endswith(template.rsplit("}", 1)[1].split("/", 1)[0]):
            raise ProgrammingError("Region and Edge must be host-name labels, e.g. ie1, dublin")
        return url

    def auth(self) -> httpx.Auth | None:
        key, secret = self.settings["ApiKey"], self.settings["ApiSecret"]
        if key and secret:
            return httpx.BasicAuth(key, secret)
        sid, token = self.settings["AccountSid"], self.settings["AuthToken"]
        return httpx.BasicAuth(sid, token) if sid and token else None

    def credential_hint(self) -> str:
        key, sid = self.settings["ApiKey"], self.settings["AccountSid"]
        if key:
            return f"check ApiSecret for ApiKey {key}, and that the key belongs to AccountSid"
        if sid:
            return f"check AuthToken for AccountSid {sid}, or that the AccountSid is right"
        return "no credentials were sent; set AccountSid and AuthToken"

    # Where `confsql listen` takes this provider's events, and which events to send there.
    webhook_path: ClassVar[str] = "/twilio"
    webhook_events: ClassVar[tuple[str, ...]] = (
        "start",
        "end",
        "join",
        "leave",
        "mute",
        "hold",
        "modify",
        "speaker",
        "announcement",
    )

    def subscribe(self, proc: Procedure, values: dict[str, object]) -> dict[str, object]:
        """With WebhookUrl set, a new participant's conference reports to ``confsql listen``."""
        base = self.settings["WebhookUrl"]
        mapping = self.procedures.get(proc.name)
        if not base or mapping is None or not mapping.takes("ConferenceStatusCallback"):
            return values
        if "ConferenceStatusCallback" in values or proc.input("ConferenceStatusCallback") is None:
            return values
        return {
            **values,
            "ConferenceStatusCallback": str(base).rstrip("/") + self.webhook_path,
            "ConferenceStatusCallbackEvent": list(self.webhook_events),
        }

    def root_values(self) -> dict[str, str]:
        return {"AccountSid": str(self.settings["AccountSid"] or "")}

    # --- procedures ------------------------------------------------------------------------

    def check_inputs(
        self, proc: Procedure, mapping: ProcedureMapping, inputs: Mapping[str, object]
    ) -> None:
        """The declared inputs it takes (with advice for some it does not), then the
        JoinConference rules only this API has: its markup has no supervisor roles, and
        the call must be one of its call SIDs."""
        super().check_inputs(proc, mapping, inputs)
        if proc.name == "JoinConference":
            self.check_join(inputs)

    def check_join(self, inputs: Mapping[str, object]) -> None:
        """JoinConference inputs that the markup cannot express, or a CallSid of another form."""
        role = inputs.get("SupervisorRole")
        if role not in (None, "none", "barge"):
            raise NotSupportedError(
                f"JoinConference on {self.name}: SupervisorRole = {role!r} is not supported by "
                f"{self.name} (its <Conference> markup has no supervisor roles), so nothing was "
                "sent; use 'none' or 'barge' (an ordinary participant), or, to whisper to one "
                "call, AddParticipants with Coaching = 1 and CallSidToCoach"
            )
        check, described = self.formats["call"]
        call = str(inputs.get("CallSid", ""))
        if not check(call):
            raise DataError(
                f"JoinConference input 'CallSid' {call[:60]!r} is not a call on {self.name} "
                f"(expected {described}); nothing was sent"
            )
        check_markup_text("JoinConference", inputs)

    async def call_JoinConference(
        self, runner: ProcedureRunner, proc: Procedure, values: dict[str, object]
    ) -> list[Row]:
        """Redirect the live call to markup that dials it into the conference, then read
        its participant row (columns nobody reported stay NULL)."""
        mapping = self.procedures[proc.name]
        call_sid = str(values["CallSid"])
        room, conference_sid = await self.conference_room(runner, str(values["ConferenceSid"]))
        attributes = [
            (attribute, markup_value(values[name]))
            for name, attribute in JOIN_ATTRIBUTES.items()
            if name in values
        ]
        markup = conference_markup(proc.name, room, attributes)
        answer = await runner.requester.client.json(
            mapping.method,
            runner.requester.url(mapping.path, {"CallSid": call_sid}),
            body=[(self.markup_field, markup)],
            what=proc.name,
            expect=mapping.success,
        )
        call = self.unwrap(answer) if answer is not None else {}
        if "sid" not in call:
            raise OutcomeUnknown(
                f"{proc.name}: the provider's answer lacks the call's sid, so it is not the "
                "documented success; the call may or may not have been moved and was NOT "
                "retried."
            )
        if conference_sid is None:
            conference_sid = await self.live_conference(runner, room)
        return [await self.participant_row(runner, proc, values, call, conference_sid)]

    async def conference_room(self, runner: ProcedureRunner, ref: str) -> tuple[str, str | None]:
        """The name to put in ``<Conference>`` and, when ``ref`` is a SID, that SID.

        Markup names a conference; a SID is looked up (it must be live, or the
        name would start a new conference instead of joining that one).
        """
        if not self.is_conference_sid(ref):
            return ref, None
        table = self.tables["Conferences"]
        found = await runner.requester.fetch("Conferences", table, {"Sid": ref})
        if found is None:
            raise ProgrammingError(
                f"no conference has SID {ref!r}; give the SID of a live conference or a "
                "conference name (SELECT Sid, FriendlyName FROM Conferences WHERE Status != "
                "'completed'). Nothing was sent.",
                status=404,
            )
        status = found.get(table.fields["Status"])
        status = table.values.get("Status", {}).get(str(status), status)
        if status == "completed":
            raise ProgrammingError(
                f"conference {ref} has ended (Status = 'completed'); a call can only be dialled "
                "into a live conference (a name starts a new one). Nothing was sent."
            )
        name = found.get(table.fields["FriendlyName"])
        if not isinstance(name, str) or not name:
            raise NotSupportedError(
                f"conference {ref} has no name, and {self.name} call markup addresses a "
                "conference by name only; nothing was sent"
            )
        return name, ref

    async def live_conference(self, runner: ProcedureRunner, name: str) -> str | None:
        """The SID of the one live conference called ``name``, or None when there is no
        single one or it cannot be read now (never an error: this runs after a change)."""
        try:
            return await runner.conference_sid(name)
        except Error:
            return None

    async def participant_row(
        self,
        runner: ProcedureRunner,
        proc: Procedure,
        values: dict[str, object],
        call: Item,
        conference_sid: str | None,
    ) -> Row:
        """The call's Participants row after it was dialled in: fetched when it is there,
        else the columns known from the request and the call (the rest NULL)."""
        call_sid = str(call.get("sid") or values["CallSid"])
        if conference_sid is not None:
            try:
                found = await runner.requester.fetch(
                    "Participants",
                    self.tables["Participants"],
                    {"ConferenceSid": conference_sid, "CallSid": call_sid},
                )
            except Error:  # the change is made; a failed read must not report it as failed
                found = None
            if found is not None:
                return runner.result_row(proc, self.procedures[proc.name], found, values)
        known = {
            "ConferenceSid": conference_sid,
            "CallSid": call_sid,
            "AccountSid": call.get("account_sid"),
        }
        return tuple(known.get(result.name) for result in proc.results)

    # --- wire ------------------------------------------------------------------------------

    def pages(
        self,
        client: ApiClient,
        url: str,
        query: list[tuple[str, str]],
        mapping: TableMapping,
        page_size: int,
        what: str,
    ) -> AsyncIterator[list[Item]]:
        """Follow ``next_page_uri`` (placed by :meth:`next_url`) until it is null; page
        URLs are never built."""
        return self._follow(client, url, query, mapping, page_size, what, None)

    def values(
        self,
        client: ApiClient,
        url: str,
        query: list[tuple[str, str]],
        mapping: TableMapping,
        page_size: int,
        what: str,
        fields: tuple[str, ...],
    ) -> AsyncIterator[Iterable[tuple[Any, ...]]]:
        """As :meth:`pages`, items decoded straight into tuples (:meth:`list_page`)."""
        return self._follow(client, url, query, mapping, page_size, what, fields)

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
        """The pages of :meth:`pages` (``fields`` None) or :meth:`values`."""
        paging = self.mapping.paging
        params: list[tuple[str, str]] | None = [
            *query,
            (str(paging.get("page_size_param", "PageSize")), str(page_size)),
        ]
        target: str | None = url
        followed: set[str] = set()
        while target:
            items, nxt = await self.list_page(client, target, params, mapping, what, fields)
            if isinstance(nxt, str) and nxt in followed:
                raise OperationalError(
                    f"{what}: the provider's next-page link repeats an earlier page ({nxt}); "
                    "stopping rather than returning rows twice"
                )
            target = self.next_url(client.base_url, nxt) if isinstance(nxt, str) and nxt else None
            if isinstance(nxt, str) and target:
                followed.add(nxt)
            params = None  # the next-page link carries the whole query
            # Hand the page over without keeping it in this frame: while a page waits
            # for the consumer, its parsed JSON must not stay alive here as well.
            handed = [items]
            del items
            yield handed.pop()

    def next_url(self, base_url: str, link: str) -> str:
        """Where a next-page link points, as an absolute URL on the base URL's origin.

        Links are absolute paths from the API's host, e.g. Twilio's
        ``/2010-04-01/Accounts/…`` or SignalWire's ``/api/laml/2010-04-01/Accounts/…``:
        they already include the path of the spec's server URL.  So they are joined
        to where that API is mounted: the base URL without the server's path (for
        Twilio, whose server has no path, the base URL itself; so a BaseUrl with a
        path prefix, e.g. a proxy, keeps its prefix).  Absolute URLs are returned
        as they are; the HTTP client refuses any that leave the base URL's origin.
        """
        if "://" in link or not link.startswith("/"):
            return link
        base = urlsplit(base_url)
        api_path = urlsplit(self.mapping.base_url).path.rstrip("/")
        mount = base.path.rstrip("/")
        if api_path:
            mount = mount[: -len(api_path)] if mount.endswith(api_path) else ""
        return f"{base.scheme}://{base.netloc}{mount}{link}"

    def error_body(self, response: httpx.Response) -> ErrorBody:
        """``{"code", "message", "more_info", "status"}``."""
        body = _json_object(response)
        code = body.get("code")
        info = body.get("more_info")
        message = body.get("message")
        return ErrorBody(
            code if isinstance(code, int | str) and not isinstance(code, bool) else None,
            str(message) if message else None,
            info if isinstance(info, str) else None,
        )

    def decode_datetime(self, raw: str) -> str | None:
        return rfc2822(raw)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
