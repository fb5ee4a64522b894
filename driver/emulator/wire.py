"""The seam between the emulator's transport and one provider's wire format.

:mod:`.app` does what every provider shares: it reads the request, logs it,
adds latency and injects faults.  A :class:`Wire` does the rest the way its
provider does: authentication, routing, operations, the JSON shapes, error
bodies and identifier formats.  Wires register by name; an
:class:`~driver.emulator.Emulator` serves one wire over its :class:`State`.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from .faults import RequestRecord
from .params import Params
from .routing import Match

if TYPE_CHECKING:
    from .callbacks import StatusCallbacks
    from .emulator import Emulator
    from .state import Conference, Participant

_WIRES: dict[str, type[Wire]] = {}

# Per list operation ("conferences", "participants"): {query parameter: column (and bound)}.
FilterTable = Mapping[str, Mapping[str, str]]

# A list request's filters, read back from the log by :meth:`Wire.filters`: per list
# operation, each query parameter the wire filters on -> the table column it filters,
# with the bound for a date ("DateCreated>=": Twilio's ``DateCreated>`` is on or after
# the day).  This is Twilio's spelling (its emulated API reads exactly these); SignalWire
# and TeXML start from it, Telnyx spells its own.
TWILIO_FILTERS: FilterTable = {
    "conferences": {
        "Status": "Status",
        "FriendlyName": "FriendlyName",
        **{
            f"{column}{op}": f"{column}{bound}"
            for column in ("DateCreated", "DateUpdated")
            for op, bound in (("", ""), ("<", "<="), (">", ">="))
        },
    },
    "participants": {"Muted": "Muted", "Hold": "Hold", "Coaching": "Coaching"},
}
# Filtered columns whose values :meth:`Wire.filters` writes as "true"/"false".
BOOLEAN_FILTERS = frozenset({"Muted", "Hold", "Coaching"})


@dataclass(slots=True)
class WireRequest:
    """One request as the wire sees it (the body already parsed by content type)."""

    method: str
    path: str  # raw (percent-encoded), without the query
    query: Params
    form: Params
    json: Any
    headers: Mapping[str, str]
    record: RequestRecord


@dataclass(slots=True)
class WireReply:
    """A status code, an optional JSON body (object or array) and extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class WireError(Exception):
    """An error the wire answers in its provider's error shape."""

    def __init__(
        self, status: int, message: str, code: int | str | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.extra = extra


class Wire:
    """One provider's API over the shared emulator state."""

    name: ClassVar[str] = ""
    # Where the API lives under the server's root (BaseUrl = server URL + base_path).
    base_path: ClassVar[str] = ""
    demo_account: str = ""  # the account a fresh emulator starts with (set by __init__)
    # What :meth:`filters` reads: list operation -> {query parameter: column (and bound)}.
    list_filters: ClassVar[FilterTable] = TWILIO_FILTERS
    # Per filtered column, the wire's values that confsql spells otherwise (wire -> confsql).
    filter_values: ClassVar[FilterTable] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            _WIRES[cls.name] = cls

    def __init__(self, emulator: Emulator) -> None:
        """Attach to ``emulator``: register the demo account (and identifier style)."""
        self.emulator = emulator

    def conference_json(self, conference: Conference) -> dict[str, Any]:
        """A conference as this provider renders it in a list."""
        raise NotImplementedError

    def participant_json(self, participant: Participant) -> dict[str, Any]:
        """A participant as this provider renders it in a list."""
        raise NotImplementedError

    def lists(self, participant: Participant) -> bool:
        """Whether a list of its conference shows ``participant`` (Twilio: while it is live)."""
        return participant.live

    def demo_credentials(self) -> dict[str, str]:
        """The demo account's credentials, named as the provider's connection properties."""
        raise NotImplementedError

    def reset(self) -> None:
        """Forget what the wire keeps beside the shared state (called by ``Emulator.reset``)."""

    def status_callbacks(self) -> StatusCallbacks:
        """How this provider posts conference events (default: Twilio's signed form)."""
        from .callbacks import TwilioCallbacks

        return TwilioCallbacks(self.emulator.state)

    def operation(self, path: str) -> Match | None:
        """The :data:`~.routing.OPERATIONS` entry a raw path names, or ``None`` (no API path).

        Called before authentication for the request log and the fault selectors: it
        looks at the path's shape only and never raises.
        """
        return None

    def later_page(self, record: RequestRecord) -> bool:
        """Whether a logged list request asks for a page after the first.

        By default Twilio's spelling, which SignalWire and TeXML share: a ``PageToken``
        or a ``Page`` above 0.
        """
        query = dict(record.query)
        return "PageToken" in query or query.get("Page", "0") not in ("", "0")

    def page_size(self, record: RequestRecord) -> int | None:
        """The page size a logged list request asks for (by default ``PageSize``), if any."""
        return _int(dict(record.query).get("PageSize"))

    def filters(self, record: RequestRecord) -> dict[str, str]:
        """The filters a logged list request sent, by table column: ``{"Status": "init"}``.

        Keys are column names, a date bound's with its operator (``"DateCreated>="``); values
        are in confsql's words: booleans ``"true"``/``"false"``, statuses as the table shows
        them (Telnyx's ``in_progress`` is ``"in-progress"``).  Parameters that filter no
        column (paging, Telnyx's ``filter[whispering]``) are left out, and so is every
        parameter of a request that is no conference or participant list.  A repeated
        parameter gives its last value.  Lets an engine test say "the Status filter was
        pushed" without naming a provider's query parameter.
        """
        found: dict[str, str] = {}
        for key, value in record.query:
            pair = self.filter_pair(record.operation or "", key, value)
            if pair is not None:
                column, raw = pair
                base = column.rstrip("<>=")
                if base in BOOLEAN_FILTERS:
                    raw = raw.strip().lower()
                found[column] = self.filter_values.get(base, {}).get(raw, raw)
        return found

    def filter_pair(self, operation: str, key: str, value: str) -> tuple[str, str] | None:
        """The column (with its bound) and raw value of one query parameter, if it filters.

        By default a lookup in :attr:`list_filters`; a wire whose parameter carries more
        (TeXML puts a date's operator in the value) overrides this.
        """
        column = self.list_filters.get(operation, {}).get(key)
        return None if column is None else (column, value)

    def handle(self, request: WireRequest) -> WireReply:
        """Authenticate, route and run one request (raise :class:`WireError` to refuse)."""
        raise NotImplementedError

    def error(self, error: WireError) -> WireReply:
        """The provider's error answer for ``error``."""
        raise NotImplementedError

    def too_many_requests(self, retry_after: float | None) -> WireReply:
        """The provider's 429 answer."""
        reply = self.error(WireError(429, "Too Many Requests"))
        if retry_after is not None:
            reply.headers["Retry-After"] = _seconds(retry_after)
        return reply

    def rate_limit_headers(self, limit: int, remaining: int, reset: float) -> dict[str, str]:
        """The provider's rate-limit headers (``X-RateLimit-*`` unless it spells them otherwise)."""
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(math.ceil(reset)),
        }

    def internal_error(self) -> WireReply:
        """The provider's 500 answer."""
        return self.error(WireError(500, "Internal Server Error"))


def wire_class(name: str) -> type[Wire]:
    """The wire registered as ``name``."""
    from . import wires  # noqa: F401  (registers the provider wires)

    try:
        return _WIRES[name]
    except KeyError:
        raise ValueError(f"unknown emulator wire {name!r}; known: {', '.join(_WIRES)}") from None


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """(username, password) of an ``Authorization: Basic`` header, if well formed."""
    if not header:
        return None
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else None


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer`` header, if any."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _int(raw: str | None) -> int | None:
    """``raw`` as an int, or ``None`` when it is absent or not a number."""
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
