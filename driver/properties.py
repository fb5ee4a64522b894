"""Connection properties: declared once, parsed from a DSN, keywords and the environment.

``connect("Provider=Twilio;AccountSid=AC…;AuthToken=…")`` and
``connect(account_sid="AC…", auth_token="…")`` are equivalent.  Keys are
case-insensitive and underscores are ignored, so ``AccountSid``,
``accountsid`` and ``account_sid`` are one property.  Missing values fall
back to the ``TWILIO_*`` variables twilio-cli uses.  An unknown key is an
error, so a typo is never silently ignored.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from . import dsn as dsn_syntax
from .errors import ProgrammingError
from .schema import Catalog


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


PROPERTIES: tuple[Property, ...] = (
    Property(
        "Provider",
        str,
        "Twilio",
        "Which API to talk to: Twilio, or Sandbox (built-in emulator, demo data, no account).",
    ),
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
    Property(
        "BaseUrl",
        str,
        None,
        "Override the API root URL (tests, proxies, a self-run emulator).",
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
        16,
        "Most HTTP requests in flight at once; 1 means strictly sequential.",
        minimum=1,
        maximum=256,
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
        "EventsDb",
        str,
        None,
        "SQLite file that `confsql listen` records conference events in; when set, the "
        "ConferenceEvents table reads it (read-only).",
    ),
)

_BY_KEY = {p.name.lower(): p for p in PROPERTIES}  # normalised name -> property


MAX_DSN_LENGTH = 65536


def parse_dsn(dsn: str) -> dict[str, str]:
    """``Key=Value;...`` as a dict keyed as written; duplicate keys are an error."""
    if not isinstance(dsn, str):
        raise ProgrammingError(
            f"the connection string must be text (Key=Value;...), not {type(dsn).__name__}"
        )
    if len(dsn) > MAX_DSN_LENGTH:
        raise ProgrammingError(
            f"connection string: {len(dsn)} characters is too long (at most {MAX_DSN_LENGTH})"
        )
    out: dict[str, str] = {}
    seen: dict[str, str] = {}
    for pair in dsn_syntax.split(dsn, known=_BY_KEY):
        norm = dsn_syntax.normalise(pair.key)
        if norm in seen:
            name = _BY_KEY[norm].name if norm in _BY_KEY else pair.key
            raise ProgrammingError(
                f"connection string: {name} is given twice (at position {pair.position + 1}); "
                "give each property once"
            )
        seen[norm] = pair.key
        out[pair.key] = pair.value
    return out


@dataclass(frozen=True)
class Settings:
    """Validated connection properties."""

    values: Mapping[str, Any]

    def __getitem__(self, name: str) -> Any:
        return self.values.get(name)

    def __repr__(self) -> str:
        shown = {
            k: ("***" if _BY_KEY[k.lower()].secret and v else v)
            for k, v in self.values.items()
            if v is not None
        }
        return f"Settings({shown})"


def resolve(
    dsn: str, kwargs: Mapping[str, Any], catalog: Catalog, environ: Mapping[str, str] | None = None
) -> Settings:
    """Merge DSN, keywords and environment into validated settings."""
    env = os.environ if environ is None else environ
    given: dict[str, Any] = {}
    origin: dict[str, str] = {}  # property -> where its value came from (for messages)
    for where, source in (
        ("the connection string", parse_dsn(dsn) if dsn else {}),
        (
            "the keyword arguments",
            kwargs,
        ),
    ):
        for key, value in source.items():
            prop = _BY_KEY.get(dsn_syntax.normalise(str(key)))
            if prop is None:
                raise ProgrammingError(_unknown(str(key)))
            if prop.name in origin:
                raise ProgrammingError(
                    f"connection property {prop.name} is given twice (in {origin[prop.name]} "
                    f"and in {where}); give it once"
                )
            origin[prop.name] = where
            if value is not None:
                given[prop.name] = value
    provider_name = str(given.get("Provider", "Twilio"))
    provider = catalog.provider(provider_name)
    if provider is None:
        raise ProgrammingError(
            f"unknown Provider {provider_name!r}; available: {', '.join(catalog.providers)}"
        )
    values: dict[str, Any] = {"Provider": provider.name}
    sandbox = provider.name == "Sandbox"
    from_env: dict[str, str] = {}
    for prop in PROPERTIES[1:]:
        raw = given.get(prop.name)
        if raw is None and prop.env and not sandbox:
            raw = env.get(prop.env) or None
            if raw is not None:
                from_env[prop.name] = prop.env
        values[prop.name] = prop.default if raw is None else _convert(prop, raw, from_env)
    if not sandbox:
        _check_credentials(values, provider.account_sid_pattern, from_env)
    return Settings(values)


def _unknown(key: str) -> str:
    """The message for an unknown property; the key is quoted only if it is a plain name."""
    known = ", ".join(p.name for p in PROPERTIES)
    norm = dsn_syntax.normalise(key)
    close = difflib.get_close_matches(norm, list(_BY_KEY), n=1)
    hint = f"; did you mean {_BY_KEY[close[0]].name}?" if close else ""
    shown = repr(key) if _PLAIN_KEY.fullmatch(key) else "(a key that is not a plain name)"
    return f"unknown connection property {shown}{hint} (known: {known})"


# A key that is safe to echo: a short name, not a run of hex digits (a mistyped secret).
_PLAIN_KEY = re.compile(r"(?![0-9a-fA-F]{12,}$)[A-Za-z][A-Za-z0-9_-]{0,31}")


def _convert(prop: Property, raw: Any, from_env: Mapping[str, str]) -> Any:
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
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ProgrammingError(f"{label} must be a number, not {type(raw).__name__}")
    try:
        number = float(raw)
    except ValueError:
        shown = "" if prop.secret else f", not {str(raw)[:20]!r}"
        raise ProgrammingError(f"{label} must be a number{shown}") from None
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


def _check_credentials(
    values: dict[str, Any], pattern: str | None, from_env: Mapping[str, str]
) -> None:
    sid = values.get("AccountSid")
    if not sid:
        raise ProgrammingError(
            "no credentials: set AccountSid and AuthToken (or ApiKey and ApiSecret) in the "
            "connection string, as keyword arguments (account_sid=..., auth_token=...), or in "
            "TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN. To try confsql without an account, "
            "connect with Provider=Sandbox."
        )
    if pattern and not re.match(pattern, sid):
        where = f"{from_env['AccountSid']}=" if "AccountSid" in from_env else "AccountSid "
        raise ProgrammingError(
            f"{where}{sid[:40]!r} is not an account SID (AC followed by 32 hex digits)"
        )
    has_token = bool(values.get("AuthToken"))
    has_key = bool(values.get("ApiKey")) or bool(values.get("ApiSecret"))
    if has_key and not (values.get("ApiKey") and values.get("ApiSecret")):
        missing = "ApiSecret" if values.get("ApiKey") else "ApiKey"
        raise ProgrammingError(f"ApiKey and ApiSecret go together: {missing} is missing")
    if not has_token and not has_key:
        raise ProgrammingError(
            "AuthToken is missing for AccountSid: set AuthToken (or ApiKey and ApiSecret), "
            "or the TWILIO_AUTH_TOKEN environment variable"
        )


def describe() -> list[tuple[str, str, str, str]]:
    """(name, default, environment variable, description) rows for the README."""
    return [
        (
            p.name,
            "" if p.default is None else str(p.default),
            p.env or "",
            p.description,
        )
        for p in PROPERTIES
    ]
