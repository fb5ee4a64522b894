"""The provider seam: one class per provider, its data in ``schema/providers/<name>.toml``.

As in sqlglot's dialects, the TOML keeps the data (paths, fields, filters,
the fan-out, which inputs each procedure sends) and the class keeps the
behaviour: its connection properties, base URL and auth, how a request body
is encoded, how an answer is unwrapped and paged, how errors map to PEP 249,
how timestamps read, and the procedures that need more than the one declared
request.  The engine asks the provider; it never names one.

A new provider is a subclass registered by its ``name`` (see
:func:`driver.providers.provider_class`), a TOML file, an emulator wire module
and a test module.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
import orjson

from ..errors import (
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
)
from ..http import json_object
from ..loop import closing
from ..properties import Property, Settings
from ..schema import Procedure, ProcedureMapping, ProviderMapping, TableMapping
from ..values import iso8601
from .listing import list_decoder

if TYPE_CHECKING:
    from ..http import ApiClient
    from ..procedures import ProcedureRunner, Row

Format = tuple[Callable[[str], bool], str]  # (check, description in words)
Item = dict[str, Any]

_REGISTRY: dict[str, type[Provider]] = {}


@dataclass(frozen=True)
class ErrorBody:
    """What a provider's error answer says: its code, message and documentation link."""

    code: int | str | None = None
    message: str | None = None
    more_info: str | None = None


@dataclass(frozen=True)
class Sandbox:
    """How a provider's sandbox is reached: an in-process transport and fixed settings."""

    transport: httpx.AsyncBaseTransport
    base_url: str
    settings: Mapping[str, Any]


class BearerAuth(httpx.Auth):
    """``Authorization: Bearer <API key>`` (the key never appears in a repr)."""

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def __repr__(self) -> str:
        return "BearerAuth(***)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request


class Provider:
    """Behaviour shared by every provider; subclasses override what differs.

    Class attributes are data the engine and the catalog read without a
    connection (``name``, ``properties``, ``formats``); instances hold one
    connection's resolved settings.
    """

    name: ClassVar[str] = ""
    mapping_name: ClassVar[str] = ""  # schema/providers/<mapping_name>.toml
    wire: ClassVar[str] = ""  # the emulator wire (driver/emulator/wires) serving its sandbox
    description: ClassVar[str] = ""
    properties: ClassVar[tuple[Property, ...]] = ()
    # Property names whose absence is reported together as "no credentials".
    credentials: ClassVar[tuple[str, ...]] = ()
    # Input formats (schema ``format = "…"``) this provider checks its own way.
    formats: ClassVar[Mapping[str, Format]] = {}
    # The URL user and password of a SQLAlchemy URL: which properties they fill.
    url_user: ClassVar[str | None] = None
    url_password: ClassVar[str | None] = None
    # The shape of the provider's generated ids (conference, call), e.g. Twilio's SIDs.
    identifier: ClassVar[re.Pattern[str] | None] = None
    # Procedures the provider cannot run at all -> what to do instead (NotSupportedError).
    alternatives: ClassVar[Mapping[str, str]] = {}
    # Why an input the provider refuses has no equivalent, or what to do instead; said in
    # its NotSupportedError.  Keyed by input name, or "Procedure.Input" for one procedure.
    input_advice: ClassVar[Mapping[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            _REGISTRY[cls.name.lower()] = cls

    def __init__(self, mapping: ProviderMapping, settings: Settings) -> None:
        self.mapping = mapping
        self.settings = settings

    def __repr__(self) -> str:
        return f"<provider {self.name}>"

    @property
    def tables(self) -> Mapping[str, TableMapping]:
        """The provider's table mappings (from its TOML)."""
        return self.mapping.tables

    @property
    def procedures(self) -> Mapping[str, ProcedureMapping]:
        """The provider's procedure mappings (from its TOML)."""
        return self.mapping.procedures

    # --- connection properties ----------------------------------------------------

    @classmethod
    def check_settings(cls, values: Mapping[str, Any], from_env: Mapping[str, str]) -> None:
        """Raise ProgrammingError if the resolved properties cannot work (e.g. no credentials)."""

    @classmethod
    def url_properties(cls, user: str | None, password: str | None) -> dict[str, str]:
        """Connection properties from a SQLAlchemy URL's user and password."""
        out: dict[str, str] = {}
        if user and cls.url_user:
            out[cls.url_user] = user
        if password is not None and cls.url_password:
            out[cls.url_password] = password
        return out

    # --- where requests go ------------------------------------------------------------

    def base_url(self) -> str:
        """The API root: ``BaseUrl`` when set (it replaces the spec's server), else derived."""
        base = self.settings["BaseUrl"]
        return str(base).rstrip("/") if base else self.default_base_url()

    def default_base_url(self) -> str:
        """The server written in the provider's spec (subclasses may derive a host)."""
        return self.mapping.base_url

    def auth(self) -> httpx.Auth | None:
        """How requests authenticate."""
        return None

    def credential_hint(self) -> str:
        """Which credential to check after a 401/403 (never the secret itself)."""
        names = [p.name for p in self.properties if p.name in self.credentials]
        return "check " + " and ".join(names) if names else "check the credentials"

    def root_values(self) -> dict[str, str]:
        """Values of the ``{placeholders}`` in the mapping's root path (e.g. the account)."""
        return {}

    def sandbox(self) -> Sandbox:
        """This provider's built-in emulator (its ``wire``) with demo data, in-process."""
        if not self.wire:
            raise NotSupportedError(f"{self.name} has no sandbox; connect with BaseUrl instead")
        from ..sandbox import sandbox_transport

        transport, credentials = sandbox_transport(self.wire)
        return Sandbox(transport, self.mapping.sandbox_url, credentials)

    # --- the wire -------------------------------------------------------------------------

    def encode_body(self, fields: Sequence[tuple[str, Any]]) -> dict[str, Any]:
        """httpx keyword arguments carrying ``fields`` (form by default; lists repeat the key)."""
        grouped: dict[str, list[str]] = {}
        for key, value in fields:
            grouped.setdefault(key, []).append(form_value(value))
        return {"data": grouped}

    def unwrap(self, body: Item) -> Item:
        """A single resource from its answer (some providers wrap it in an envelope)."""
        return body

    def items(self, body: Item, mapping: TableMapping, what: str) -> list[Item]:
        """The resources of one list page."""
        items = body.get(mapping.items)
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise OperationalError(f"{what}: the provider's answer has no '{mapping.items}' list")
        return items

    async def pages(
        self,
        client: ApiClient,
        url: str,
        query: list[tuple[str, str]],
        mapping: TableMapping,
        page_size: int,
        what: str,
    ) -> AsyncIterator[list[Item]]:
        """Every page of a list, in order, following the provider's paging."""
        raise NotImplementedError
        yield []  # pragma: no cover

    async def values(
        self,
        client: ApiClient,
        url: str,
        query: list[tuple[str, str]],
        mapping: TableMapping,
        page_size: int,
        what: str,
        fields: tuple[str, ...],
    ) -> AsyncIterator[Iterable[tuple[Any, ...]]]:
        """As :meth:`pages`, each item as a tuple of ``fields``' values (``None`` where it
        has no such field): what a table scan reads.  A page is read once.

        This default reads the dict items of :meth:`pages`.  A provider whose list
        answers are one envelope object decodes them straight into tuples instead
        (:meth:`list_page`): a large scan then takes about a third less CPU.
        """
        async with closing(self.pages(client, url, query, mapping, page_size, what)) as pages:
            async for items in pages:
                yield values_of(items, fields)

    async def list_page(
        self,
        client: ApiClient,
        target: str,
        params: list[tuple[str, str]] | None,
        mapping: TableMapping,
        what: str,
        fields: tuple[str, ...] | None,
    ) -> tuple[Iterable[Any], Any]:
        """One page of a list envelope: (its items, the raw value of the next-page field).

        The envelope is an object holding the items under ``mapping.items`` and
        the next page's link under the paging's ``next_field``.  With ``fields``,
        the items come back as tuples of those fields' values (``None`` where an
        item has no such field), decoded straight from the bytes: no dict is
        built per item (:mod:`.listing`).  An answer of another shape takes the
        ordinary path, which says what is wrong with it.
        """
        next_field = str(self.mapping.paging.get("next_field", "next_page_uri"))
        content = await client.content("GET", target, params=params, what=what)
        assert content is not None
        if fields is not None:
            decoded = list_decoder(mapping.items, next_field, fields).decode(content)
            if decoded is not None:
                return decoded
        body = json_object(content, what, mutating=False)
        items = self.items(body, mapping, what)
        nxt = body.get(next_field)
        del body
        if fields is not None:
            return values_of(items, fields), nxt
        return items, nxt

    def error_body(self, response: httpx.Response) -> ErrorBody:
        """The provider's code and message from an error answer."""
        return ErrorBody()

    def error(
        self, response: httpx.Response, what: str, mutating: bool, outcome_unknown: type[Error]
    ) -> Error:
        """A PEP 249 exception for an error answer (4xx/5xx other than 429)."""
        status = response.status_code
        body = self.error_body(response)
        message = _without_urls(body.message or response.reason_phrase or "error")
        detail = f"{what}: provider error {status}" + (f" (code {body.code})" if body.code else "")
        detail += f": {message}"
        code, info = body.code, body.more_info
        if status in (401, 403):
            return OperationalError(
                f"{detail}. The provider rejected the credentials: {self.credential_hint()}.",
                status=status,
                code=code,
                more_info=info,
            )
        if status >= 500 and mutating:
            # Advising a retry would invite a duplicate: the provider may have acted first.
            return outcome_unknown(
                f"{detail}. The provider failed while handling the request, so it may or may "
                "not have been carried out; it was NOT retried. Check the current state before "
                "trying again.",
                status=status,
                code=code,
                more_info=info,
            )
        if status >= 500:
            return OperationalError(
                f"{detail}. The provider failed; try again later.",
                status=status,
                code=code,
                more_info=info,
            )
        cls: type[Error] = {404: ProgrammingError, 409: IntegrityError, 400: DataError}.get(
            status, DataError if status == 422 else DatabaseError
        )
        return cls(detail, status=status, code=code, more_info=info)

    def retry_after(self, response: httpx.Response) -> float | None:
        """Seconds a 429 asks the client to wait, if it says."""
        raw = response.headers.get("Retry-After")
        if raw is None:
            return None
        try:
            return max(0.0, float(raw))
        except ValueError:
            return None

    def rate_limit(self, response: httpx.Response) -> tuple[int, float] | None:
        """(requests remaining, seconds until the window resets) from rate-limit headers.

        Reads the common spellings (``X-RateLimit-Remaining``/``-Reset`` and the
        IETF ``RateLimit-Remaining``/``-Reset``); a reset that looks like a Unix
        time is turned into seconds from now.
        """
        headers = response.headers
        for prefix in ("x-ratelimit-", "ratelimit-"):
            remaining, reset = headers.get(prefix + "remaining"), headers.get(prefix + "reset")
            if remaining is None or reset is None:
                continue
            try:
                left, until = int(float(remaining)), float(reset)
            except ValueError:
                return None
            if until > 1_000_000_000:  # an epoch time
                until -= time.time()
            return left, max(0.0, until)
        return None

    def decode_datetime(self, raw: str) -> str | None:
        """A provider timestamp as UTC 'YYYY-MM-DD HH:MM:SS' (None if unreadable)."""
        return iso8601(raw)

    # --- identities and procedures -------------------------------------------------------

    def is_identifier(self, value: str) -> bool:
        """Whether ``value`` looks like one of the provider's generated ids (not a name/label)."""
        pattern = self.identifier
        return pattern is not None and pattern.fullmatch(value) is not None

    def unsupported_procedure(self, name: str) -> str:
        """What to do instead of procedure ``name``, which this provider cannot run."""
        return self.alternatives.get(name, "the provider offers no way to do this")

    def is_conference_sid(self, value: str) -> bool:
        """Whether ``value`` is a conference identifier rather than a friendly name."""
        pattern = self.mapping.conference_sid_pattern
        return pattern is None or re.match(pattern, value) is not None

    def check_inputs(
        self, proc: Procedure, mapping: ProcedureMapping, inputs: Mapping[str, object]
    ) -> None:
        """NotSupportedError, before anything is sent, for inputs this provider cannot honour."""
        refused = [name for name in inputs if not mapping.takes(name)]
        if refused:
            takes = [i.name for i in proc.inputs if mapping.takes(i.name)]
            advice = self.input_advice
            said = [
                f"{name}: {text}"
                for name in refused
                if (text := advice.get(f"{proc.name}.{name}") or advice.get(name))
            ]
            raise NotSupportedError(
                f"{proc.name} on {self.name}: {_quote_list(refused)} "
                f"{'is' if len(refused) == 1 else 'are'} not supported by {self.name}, so "
                f"nothing was sent; {self.name} takes: {', '.join(takes)}"
                + (f" ({'; '.join(said)})" if said else "")
            )

    def subscribe(self, proc: Procedure, values: dict[str, object]) -> dict[str, object]:
        """Inputs that subscribe the conference to status events at ``WebhookUrl``, if set.

        The default adds nothing; providers whose procedures take a callback add
        it when the user gave none.
        """
        return values

    async def call(
        self, runner: ProcedureRunner, proc: Procedure, values: dict[str, object]
    ) -> list[Row]:
        """Run a procedure: ``call_<Name>`` if this class defines one, else the declared request."""
        values = self.subscribe(proc, values)
        special = getattr(self, f"call_{proc.name}", None)
        if special is not None:
            rows: list[Row] = await special(runner, proc, values)
            return rows
        return await runner.send_declared(proc, values)


def values_of(items: Sequence[Item], fields: Sequence[str]) -> list[tuple[Any, ...]]:
    """Tuples of ``fields``' values, one per item (``None`` for a field an item lacks)."""
    return [tuple(item.get(f) for f in fields) for item in items]


def form_value(value: Any) -> str:
    """A validated input as form text (booleans as true/false)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def json_body(
    fields: Sequence[tuple[str, Any]], lists: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """httpx keyword arguments for a JSON body; a key given twice (or in ``lists``) is a list."""
    body: dict[str, Any] = {}
    for key, value in fields:
        if key in lists:
            body.setdefault(key, []).append(value)
        elif key in body:
            previous = body[key]
            body[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            body[key] = value
    return {"content": orjson.dumps(body), "headers": {"Content-Type": "application/json"}}


_URLISH = re.compile(r"(?:https?://|/)[^\s'\"]*/[^\s'\"]*")


def _without_urls(message: str) -> str:
    """A provider message without the resource URLs or paths it quotes (the caller's
    message already names the row; raw paths only confuse)."""
    return " ".join(_URLISH.sub("", message).split())


def _quote_list(names: Sequence[str]) -> str:
    return ", ".join(repr(n) for n in names)


def registry() -> Mapping[str, type[Provider]]:
    """Registered provider classes by lower-case name."""
    return _REGISTRY
