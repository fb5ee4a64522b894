"""Connection properties: how one is declared, converted and shown.

The properties every provider shares are declared here (:data:`COMMON`);
each provider declares its own (credentials, host parts) on its class in
:mod:`driver.providers`.  :mod:`driver.settings` resolves a connection's
properties in two steps: ``Provider`` first, then the rest against that
provider's list.  Keys are case-insensitive and ``_``/``-`` are ignored, so
``AccountSid``, ``accountsid`` and ``account_sid`` are one property.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from . import dsn as dsn_syntax
from .errors import ProgrammingError


@dataclass(frozen=True)
class Property:
    """One connection property."""

    name: str
    kind: type
    default: Any
    description: str
    env: str | None = None
    secret: bool = False
    minimum: float | None = None
    maximum: float | None = None
    check: Callable[[str], str | None] | None = None  # text -> problem, or None if fine
    words: tuple[str, ...] = ()  # special values a number property also takes (e.g. auto)


_DNS_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def dns_label(text: str) -> str | None:
    """Problem with a host-name part (Region, Edge), or None."""
    if _DNS_LABEL.fullmatch(text):
        return None
    return "must be a single lowercase host-name label (letters, digits and '-'), e.g. ie1"


def http_url(text: str) -> str | None:
    """Problem with a root URL (BaseUrl), or None."""
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http:// or https:// URL with a host, e.g. https://api.example.com"
    if parts.username or parts.password:
        return "must not carry credentials (user:password@); use the credential properties"
    if parts.query or parts.fragment:
        return "must not have a query or fragment"
    del port
    return None


COMMON: tuple[Property, ...] = (
    Property(
        "Provider",
        str,
        "Twilio",
        "Which API to talk to: Twilio, SignalWire, Telnyx, TelnyxTeXML or Jambonz "
        "(case-insensitive); Sandbox is short for Provider=Twilio;Sandbox=true.",
    ),
    Property(
        "Sandbox",
        bool,
        False,
        "Talk to the provider's built-in emulator (in-process, demo data, no account).",
    ),
    Property(
        "BaseUrl",
        str,
        None,
        "Replaces the server URL of the provider's API spec (tests, proxies, a self-run "
        "emulator, a self-hosted server).",
        check=http_url,
    ),
    Property(
        "Timeout",
        float,
        30.0,
        "Seconds to wait for each HTTP request.",
        minimum=0.001,
        maximum=3600,
    ),
    Property(
        "MaxConcurrency",
        int,
        "auto",
        "Most HTTP requests in flight at once: auto adapts to the provider's limits "
        "(starts at 16, within 1 to 256, shared by the connections to one account); a number "
        "fixes it (1 means strictly sequential).",
        minimum=1,
        maximum=256,
        words=("auto",),
    ),
    Property(
        "RetryBudget",
        float,
        60.0,
        "Most seconds spent re-sending requests the provider provably did not process "
        "(429 Too Many Requests, connection refused); 0 turns retrying off.",
        minimum=0,
        maximum=3600,
    ),
    Property(
        "SafeUpdates",
        bool,
        True,
        "Refuse UPDATE and DELETE without WHERE on tables whose writes place or end calls; "
        "write WHERE 1 to mean every row, or set false.",
    ),
    Property(
        "NativeTypes",
        bool,
        False,
        "Return BOOLEAN columns as bool and DATETIME columns as aware UTC datetime "
        "(default: 1/0 and 'YYYY-MM-DD HH:MM:SS' text, as SQLite stores them).",
    ),
    Property(
        "CacheTtl",
        float,
        0.0,
        "Seconds to reuse identical GET responses within a connection; 0 turns the cache off.",
        minimum=0,
        maximum=86400,
    ),
    Property(
        "WebhookUrl",
        str,
        None,
        "Public base URL at which the provider reaches `confsql listen` (a tunnel or ingress); "
        "when set, AddParticipants and JoinConference subscribe the conference to status "
        "events there unless a callback is given.",
        check=http_url,
    ),
    Property(
        "EventsDb",
        str,
        None,
        "SQLite file that `confsql listen` records conference events in; when set, the "
        "ConferenceEvents table reads it (read-only).",
    ),
)

MAX_DSN_LENGTH = 65536


def parse_dsn(dsn: object, known: Collection[str] = ()) -> list[dsn_syntax.Pair]:
    """The pairs of ``Key=Value;...`` (keys as written); malformed text is an error.

    ``known`` (normalised property names) lets a malformed part be reported
    under the property name it starts with.
    """
    if not isinstance(dsn, str):
        raise ProgrammingError(
            f"the connection string must be text (Key=Value;...), not {type(dsn).__name__}"
        )
    if len(dsn) > MAX_DSN_LENGTH:
        raise ProgrammingError(
            f"connection string: {len(dsn)} characters is too long (at most {MAX_DSN_LENGTH})"
        )
    return dsn_syntax.split(dsn, known=known)


@dataclass(frozen=True)
class Settings:
    """A connection's validated properties (every declared one, defaults filled in)."""

    values: Mapping[str, Any]
    secrets: frozenset[str] = frozenset()

    def __getitem__(self, name: str) -> Any:
        return self.values.get(name)

    def shown(self) -> dict[str, Any]:
        """The properties that are set, secrets replaced by '***'."""
        return {
            k: ("***" if k in self.secrets and v else v)
            for k, v in self.values.items()
            if v is not None
        }

    def __repr__(self) -> str:
        return f"Settings({self.shown()})"


def convert(prop: Property, raw: Any, from_env: Mapping[str, str]) -> Any:
    """``raw`` as the property's type, checked; ProgrammingError naming where it came from."""
    label = _label(prop.name, from_env)
    if prop.kind is str:
        if not isinstance(raw, str):
            raise ProgrammingError(f"{label} must be text, not {type(raw).__name__}")
        text = raw.strip()
        problem = prop.check(text) if prop.check and text else None
        if problem:
            raise ProgrammingError(f"{label} {problem}")
        return text
    if prop.kind is bool:
        return _boolean(label, raw)
    if isinstance(raw, str) and raw.strip().lower() in prop.words:
        return raw.strip().lower()
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ProgrammingError(f"{label} must be a number, not {type(raw).__name__}")
    try:
        number = float(raw)
    except OverflowError:
        raise ProgrammingError(f"{label} is out of range") from None
    except ValueError:
        shown = "" if prop.secret else f", not {str(raw)[:20]!r}"
        also = "".join(f" or {w}" for w in prop.words)
        raise ProgrammingError(f"{label} must be a number{also}{shown}") from None
    if not math.isfinite(number):
        raise ProgrammingError(f"{label} must be a finite number, not {number}")
    if prop.kind is int and not number.is_integer():
        raise ProgrammingError(f"{label} must be a whole number, not {number:g}")
    low, high = prop.minimum, prop.maximum
    if (low is not None and number < low) or (high is not None and number > high):
        span = f"from {low:g} to {high:g}" if high is not None else f"at least {low:g}"
        raise ProgrammingError(f"{label} must be {span}, not {number:g}")
    return int(number) if prop.kind is int else number


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def _boolean(label: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    text = raw.strip().lower() if isinstance(raw, str) else None
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ProgrammingError(f"{label} must be true or false")


def _label(name: str, from_env: Mapping[str, str]) -> str:
    """How to name a property in a message: by its environment variable if it came from one."""
    if name in from_env:
        return f"{name} (from the environment variable {from_env[name]})"
    return f"connection property {name}"


def given_as(name: str, value: object, from_env: Mapping[str, str]) -> str:
    """``AccountSid 'x'`` or ``TWILIO_ACCOUNT_SID='x'``: a (non-secret) value, as given."""
    shown = repr(str(value)[:40])
    return f"{from_env[name]}={shown}" if name in from_env else f"{name} {shown}"


def describe(properties: Sequence[Property]) -> list[tuple[str, str, str, str]]:
    """(name, default, environment variable, description) rows for the README."""
    return [
        (p.name, "" if p.default is None else str(p.default), p.env or "", p.description)
        for p in properties
    ]
