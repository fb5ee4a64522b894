"""Telnyx Call Control v2 (``Provider=Telnyx``).

Data lives in ``schema/providers/telnyx.toml``.  What is Telnyx's own:
Bearer auth with an API key, JSON bodies, ``{"data": …}`` envelopes, string
error codes, ISO 8601 timestamps, UUID conference ids and ``v3:…``
call_control_ids, page-number paging (:mod:`.telnyx_paging`), and
procedures that become one or several commands (:mod:`.telnyx_commands`).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from ..errors import DataError, Error, OperationalError, ProgrammingError
from ..properties import Property
from ..schema import Procedure, ProcedureMapping, TableMapping
from .base import BearerAuth, ErrorBody, Format, Item, Provider, json_body
from .telnyx_commands import WEBHOOK_URL, Commands
from .telnyx_paging import scan_pages

if TYPE_CHECKING:
    from ..http import ApiClient
    from ..procedures import ProcedureRunner, Row

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
CALL_CONTROL_ID = re.compile(rf"v[0-9]+:[A-Za-z0-9_=+/.-]+|{_UUID}")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_DESTINATION = re.compile(r"\+[1-9][0-9]{1,14}(,[0-9A-Da-d*#wW]+)?|sips?:[^\s@;]+@[^\s@;]+(;\S*)?")

TELNYX_FORMATS: dict[str, Format] = {
    "endpoint": (
        lambda text: _DESTINATION.fullmatch(text) is not None,
        "a +E.164 number (',digits' may follow, sent as DTMF on answer) or sip:USER@HOST",
    ),
    "caller": (lambda text: _E164.fullmatch(text) is not None, "a +E.164 number"),
    "call": (
        lambda text: CALL_CONTROL_ID.fullmatch(text) is not None,
        "a Telnyx call_control_id (v3:… or v2:…)",
    ),
}

# Error codes that mean "that conference or call is not (or no longer) there": the input
# named something that is not live, as a 404 does on other providers.
NOT_LIVE = frozenset({"90015", "90018", "90019", "90058"})

# Why an input has no Telnyx equivalent (said in the NotSupportedError).
WHY_NOT: dict[str, str] = {
    "Label": "Telnyx's dial cannot label a participant",
    "StatusCallback": "Telnyx sends call events to the Call Control App's webhook URL",
    "StatusCallbackMethod": "Telnyx sends call events to the Call Control App's webhook URL",
    "StatusCallbackEvent": "Telnyx sends every call event to the Call Control App's webhook URL",
    "WaitUrl": "a Telnyx conference that has not started holds its participants instead",
    "WaitMethod": "a Telnyx conference that has not started holds its participants instead",
    "HoldMethod": "Telnyx fetches hold audio itself",
    "AnnounceMethod": "Telnyx fetches announcement audio itself",
    "MaxParticipants": "Telnyx sets it only when a conference is created from a live call",
    "Region": "Telnyx places conferences itself (its regions are not Twilio's)",
}


class Telnyx(Provider):
    """Telnyx Call Control: Bearer auth, JSON, ``{"data": …}``, page numbers, commands."""

    name = "Telnyx"
    mapping_name = "telnyx"
    wire = "telnyx"
    description = "Telnyx Call Control v2 conferences (JSON API at api.telnyx.com/v2)."
    properties: ClassVar[tuple[Property, ...]] = (
        Property(
            "ApiKey",
            str,
            None,
            "Telnyx API key (sent as a Bearer token).",
            env="TELNYX_API_KEY",
            secret=True,
        ),
        Property(
            "ConnectionId",
            str,
            None,
            "Id of the Call Control App (connection) that places outbound calls; needed only "
            "by AddParticipants.",
            env="TELNYX_CONNECTION_ID",
        ),
    )
    credentials = ("ApiKey",)
    # Where `confsql listen` takes Telnyx's webhooks (see subscribe).
    webhook_path: ClassVar[str] = "/telnyx"
    formats: ClassVar[Mapping[str, Format]] = TELNYX_FORMATS
    url_password = "ApiKey"
    input_advice: ClassVar[Mapping[str, str]] = WHY_NOT
    identifier = re.compile(rf"{_UUID}|v[0-9]+:[A-Za-z0-9_=+/.-]+")

    # --- properties --------------------------------------------------------------------

    @classmethod
    def check_settings(cls, values: Mapping[str, Any], from_env: Mapping[str, str]) -> None:
        if not values.get("ApiKey"):
            raise ProgrammingError(
                "no credentials: set ApiKey (a Telnyx API key) in the connection string, as a "
                "keyword argument (api_key=...), or in TELNYX_API_KEY. To try confsql without "
                "an account, connect with Provider=Telnyx;Sandbox=true."
            )

    # --- connection ------------------------------------------------------------------------

    def auth(self) -> httpx.Auth | None:
        key = self.settings["ApiKey"]
        return BearerAuth(str(key)) if key else None

    def credential_hint(self) -> str:
        return "check ApiKey (or TELNYX_API_KEY): Telnyx did not accept it as an API key"

    # --- wire ------------------------------------------------------------------------------

    def encode_body(self, fields: Sequence[tuple[str, Any]]) -> dict[str, Any]:
        """A JSON object (lists and nested objects are given as such)."""
        return json_body(fields)

    def unwrap(self, body: Item) -> Item:
        """The resource in ``{"data": {…}}``, its nested objects flattened."""
        data = body.get("data")
        if not isinstance(data, dict):
            raise OperationalError("the provider's answer has no 'data' object")
        return flatten(data)

    def items(self, body: Item, mapping: TableMapping, what: str) -> list[Item]:
        """The resources in ``{"data": […]}`` (``conference.id`` etc. flattened)."""
        data = body.get("data")
        if not isinstance(data, list) or not all(isinstance(i, dict) for i in data):
            raise OperationalError(f"{what}: the provider's answer has no 'data' list")
        return [flatten(item) for item in data]

    def pages(
        self,
        client: ApiClient,
        url: str,
        query: list[tuple[str, str]],
        mapping: TableMapping,
        page_size: int,
        what: str,
    ) -> AsyncIterator[list[Item]]:
        """Page-number paging that never returns a short or repeated answer."""
        return scan_pages(self, client, url, query, mapping, page_size, what)

    def error_body(self, response: httpx.Response) -> ErrorBody:
        """``{"errors": [{"code": "90058", "title", "detail", "source", "meta"}]}``."""
        try:
            body = response.json()
        except ValueError:
            return ErrorBody()
        errors = body.get("errors") if isinstance(body, dict) else None
        first = errors[0] if isinstance(errors, list) and errors else None
        if not isinstance(first, dict):
            return ErrorBody()
        code = first.get("code")
        words = [str(first[k]) for k in ("title", "detail") if first.get(k)]
        source = first.get("source")
        if isinstance(source, dict):
            where = source.get("pointer") or source.get("parameter")
            if isinstance(where, str) and where.strip("/"):
                # A JSON pointer as a field path (/conference_config/id -> conference_config.id).
                words.append(f"(at {where.strip('/').replace('/', '.')})")
        meta = first.get("meta")
        url = meta.get("url") if isinstance(meta, dict) else None
        return ErrorBody(
            str(code) if isinstance(code, str | int) and not isinstance(code, bool) else None,
            ": ".join(words[:2]) + "".join(f" {w}" for w in words[2:]) if words else None,
            url if isinstance(url, str) else None,
        )

    def error(
        self, response: httpx.Response, what: str, mutating: bool, outcome_unknown: type[Error]
    ) -> Error:
        """As every provider, except that a 422 naming a call or conference that is not
        live is a ProgrammingError (the input named nothing live), like a 404."""
        err = super().error(response, what, mutating, outcome_unknown)
        if response.status_code == 422 and err.code in NOT_LIVE:
            return ProgrammingError(
                err.message, status=err.status, code=err.code, more_info=err.more_info
            )
        return err

    # --- procedures ------------------------------------------------------------------------

    def subscribe(self, proc: Procedure, values: dict[str, object]) -> dict[str, object]:
        """With WebhookUrl set, AddParticipants dials with ``webhook_url`` at `confsql
        listen`: Telnyx then posts that call's webhooks there (its conference events, and
        ``conference.created``/``ended`` when the call creates the conference) instead of to
        the Call Control App's webhook URL.  JoinConference cannot: Telnyx's join takes no
        webhook URL, so a joined call's events go where that call's already go."""
        base = self.settings["WebhookUrl"]
        if not base or proc.name != "AddParticipants" or WEBHOOK_URL in values:
            return values
        return {**values, WEBHOOK_URL: str(base).rstrip("/") + self.webhook_path}

    def check_inputs(
        self, proc: Procedure, mapping: ProcedureMapping, inputs: Mapping[str, object]
    ) -> None:
        """NotSupportedError naming the inputs Telnyx has no equivalent for, and why."""
        super().check_inputs(proc, mapping, inputs)
        limit = inputs.get("TimeLimit")
        if isinstance(limit, int) and not 30 <= limit <= 14400:
            raise DataError(
                f"{proc.name} on Telnyx: TimeLimit must be from 30 to 14400 seconds (Telnyx's "
                f"time_limit_secs), not {limit}; nothing was sent"
            )

    async def call_AddParticipants(
        self, runner: ProcedureRunner, proc: Procedure, values: dict[str, object]
    ) -> list[Row]:
        return await Commands(self, runner, proc, values).add_participant()

    async def call_JoinConference(
        self, runner: ProcedureRunner, proc: Procedure, values: dict[str, object]
    ) -> list[Row]:
        return await Commands(self, runner, proc, values).join_conference()

    async def call_ModifyParticipants(
        self, runner: ProcedureRunner, proc: Procedure, values: dict[str, object]
    ) -> list[Row]:
        return await Commands(self, runner, proc, values).modify_participant()

    async def call_RemoveParticipant(
        self, runner: ProcedureRunner, proc: Procedure, values: dict[str, object]
    ) -> list[Row]:
        return await Commands(self, runner, proc, values).remove_participant()

    async def call_ModifyConference(
        self, runner: ProcedureRunner, proc: Procedure, values: dict[str, object]
    ) -> list[Row]:
        return await Commands(self, runner, proc, values).modify_conference()


def flatten(item: Item) -> Item:
    """A copy with ``parent.child`` keys for nested objects (``conference.id``, ``ended_by.…``);
    the answer itself stays as it came (the connection may cache it)."""
    out = dict(item)
    for key, value in item.items():
        if isinstance(value, dict):
            for child, inner in value.items():
                out[f"{key}.{child}"] = inner
    return out
