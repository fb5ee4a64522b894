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
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
    ),
    Property("Edge", str, None, "Twilio Edge location (e.g. dublin, sydney).", env="TWILIO_EDGE"),
    Property(
        "BaseUrl", str, None, "Override the API root URL (tests, proxies, a self-run emulator)."
    ),
    Property("Timeout", float, 30.0, "Seconds to wait for each HTTP request.", minimum=0.001),
    Property(
        "MaxConcurrency",
        int,
        16,
        "Most HTTP requests in flight at once; 1 means strictly sequential.",
        minimum=1,
    ),
    Property(
        "RetryBudget",
        float,
        60.0,
        "Most seconds spent re-sending requests the provider provably did not process "
        "(429 Too Many Requests, connection refused); 0 turns retrying off.",
        minimum=0,
    ),
    Property(
        "CacheTtl",
        float,
        0.0,
        "Seconds to reuse identical GET responses within a connection; 0 turns the cache off.",
        minimum=0,
    ),
)

_BY_KEY = {p.name.lower(): p for p in PROPERTIES}


def _norm(key: str) -> str:
    return key.replace("_", "").replace("-", "").strip().lower()


def parse_dsn(dsn: str) -> dict[str, str]:
    """Split ``Key=Value;Key=Value`` (values may be wrapped in {braces} to hold ';')."""
    out: dict[str, str] = {}
    for match in re.finditer(r"\s*([^=;]+?)\s*=\s*(\{[^}]*\}|[^;]*)\s*(?:;|$)", dsn):
        key, value = match.group(1), match.group(2).strip()
        if value.startswith("{") and value.endswith("}"):
            value = value[1:-1]
        out[key] = value
    leftover = re.sub(r"\s*([^=;]+?)\s*=\s*(\{[^}]*\}|[^;]*)\s*(?:;|$)", "", dsn).strip(" ;")
    if leftover:
        raise ProgrammingError(
            f"connection string: cannot read {leftover[:40]!r}; "
            "use Key=Value pairs separated by ';'"
        )
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
    for source in (parse_dsn(dsn) if dsn else {}, kwargs):
        for key, value in source.items():
            prop = _BY_KEY.get(_norm(key))
            if prop is None:
                close = difflib.get_close_matches(_norm(key), list(_BY_KEY), n=1)
                hint = f"; did you mean {_BY_KEY[close[0]].name}?" if close else ""
                known = ", ".join(p.name for p in PROPERTIES)
                raise ProgrammingError(
                    f"unknown connection property {key!r}{hint} (known: {known})"
                )
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
    for prop in PROPERTIES[1:]:
        raw = given.get(prop.name)
        if raw is None and prop.env and not sandbox:
            raw = env.get(prop.env) or None
        values[prop.name] = prop.default if raw is None else _convert(prop, raw)
    if not sandbox:
        _check_credentials(values, provider.account_sid_pattern)
    return Settings(values)


def _convert(prop: Property, raw: Any) -> Any:
    if prop.kind is str:
        return str(raw).strip()
    try:
        number = prop.kind(raw)
    except (TypeError, ValueError):
        raise ProgrammingError(
            f"connection property {prop.name} must be a number, not {str(raw)[:20]!r}"
        ) from None
    if prop.kind is int and float(raw) != number:
        raise ProgrammingError(f"connection property {prop.name} must be a whole number")
    if prop.minimum is not None and number < prop.minimum:
        raise ProgrammingError(
            f"connection property {prop.name} must be at least {prop.minimum:g}, not {number}"
        )
    return number


def _check_credentials(values: dict[str, Any], pattern: str | None) -> None:
    sid = values.get("AccountSid")
    if not sid:
        raise ProgrammingError(
            "no credentials: set AccountSid and AuthToken (or ApiKey and ApiSecret) in the "
            "connection string, as keyword arguments (account_sid=..., auth_token=...), or in "
            "TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN. To try confsql without an account, "
            "connect with Provider=Sandbox."
        )
    if pattern and not re.match(pattern, sid):
        raise ProgrammingError(
            f"AccountSid {sid[:40]!r} is not an account SID (AC followed by 32 hex digits)"
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
