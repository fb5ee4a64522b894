"""Resolve a connection's properties: ``Provider`` first, then the rest against its list.

``connect("Provider=Telnyx;ApiKey=…")`` and ``connect(provider="telnyx",
api_key="…")`` are equivalent.  Every key must be a property of the chosen
provider (or a common one): a key that belongs to another provider is an
error naming the chosen provider's properties, and an unknown one gets a
did-you-mean.  Missing values fall back to the provider's environment
variables (``TWILIO_*``, ``TELNYX_*``, …), except in the sandbox.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from typing import Any

from . import dsn as dsn_syntax
from .errors import ProgrammingError
from .properties import COMMON, Property, Settings, convert, parse_dsn
from .providers import Provider, provider_class, provider_classes

_SANDBOX = next(p for p in COMMON if p.name == "Sandbox")
# A key that is safe to echo: a short name, not a run of hex digits (a mistyped secret).
_PLAIN_KEY = re.compile(r"(?![0-9a-fA-F]{12,}$)[A-Za-z][A-Za-z0-9_-]{0,31}")


def all_properties() -> dict[str, Property]:
    """Every property any provider takes, by normalised name (first declaration wins)."""
    out = {dsn_syntax.normalise(p.name): p for p in COMMON}
    for cls in provider_classes():
        for prop in cls.properties:
            out.setdefault(dsn_syntax.normalise(prop.name), prop)
    return out


def secret_names() -> frozenset[str]:
    """Normalised names that are a secret for at least one provider (mask them everywhere)."""
    props = [*COMMON, *(p for cls in provider_classes() for p in cls.properties)]
    return frozenset(dsn_syntax.normalise(p.name) for p in props if p.secret)


def secret_env_vars() -> frozenset[str]:
    """Environment variables that hold a secret for some provider."""
    props = [p for cls in provider_classes() for p in cls.properties]
    return frozenset(p.env for p in props if p.secret and p.env)


def properties_of(cls: type[Provider]) -> tuple[Property, ...]:
    """The common properties followed by the provider's own."""
    return (*COMMON, *cls.properties)


def resolve(
    dsn: object, kwargs: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> tuple[type[Provider], Settings]:
    """The provider class and validated settings for ``connect(dsn, **kwargs)``."""
    known = all_properties()
    given: dict[str, tuple[str, Any]] = {}  # normalised key -> (key as written, value)
    origin: dict[str, str] = {}
    pairs = [(p.key, p.value) for p in parse_dsn(dsn, known)] if dsn else []
    for where, source in (
        ("the connection string", pairs),
        ("the keyword arguments", list(kwargs.items())),
    ):
        for key, value in source:
            norm = dsn_syntax.normalise(str(key))
            if norm in origin:
                name = known[norm].name if norm in known else str(key)
                raise ProgrammingError(
                    f"connection property {name} is given twice (in {origin[norm]} and in "
                    f"{where}); give it once"
                )
            origin[norm] = where
            given[norm] = (str(key), value)

    cls, sandbox = _provider(given)
    allowed = {dsn_syntax.normalise(p.name): p for p in properties_of(cls)}
    for norm, (key, _) in given.items():
        if norm not in allowed:
            raise ProgrammingError(_not_taken(key, norm, cls, known))

    env = os.environ if environ is None else environ
    values: dict[str, Any] = {"Provider": cls.name, "Sandbox": sandbox}
    from_env: dict[str, str] = {}
    for norm, prop in allowed.items():
        if prop.name in values:
            continue
        raw = given.get(norm, (prop.name, None))[1]
        if raw is None and prop.env and not sandbox:
            raw = env.get(prop.env) or None
            if raw is not None:
                from_env[prop.name] = prop.env
        values[prop.name] = prop.default if raw is None else convert(prop, raw, from_env)
    if not sandbox:
        cls.check_settings(values, from_env)
    secrets = frozenset(p.name for p in allowed.values() if p.secret)
    return cls, Settings(values, secrets)


def _provider(given: Mapping[str, tuple[str, Any]]) -> tuple[type[Provider], bool]:
    """The provider class and whether the sandbox is wanted."""
    raw_name = given.get("provider", ("Provider", None))[1]
    if raw_name is not None and not isinstance(raw_name, str):
        raise ProgrammingError(
            f"connection property Provider must be text, not {type(raw_name).__name__}"
        )
    name = "Twilio" if raw_name is None else raw_name.strip()
    raw_sandbox = given.get("sandbox", ("Sandbox", None))[1]
    sandbox = False
    if raw_sandbox is not None:
        sandbox = bool(convert(_SANDBOX, raw_sandbox, {}))
    if name.lower() == "sandbox":  # the short form of Provider=Twilio;Sandbox=true
        name, sandbox = "Twilio", True
    cls = provider_class(name)
    if cls is None:
        names = ", ".join([c.name for c in provider_classes()] + ["Sandbox"])
        shown = repr(name[:40]) if _PLAIN_KEY.fullmatch(name) else "(not a provider name)"
        raise ProgrammingError(f"unknown Provider {shown}; available: {names}")
    return cls, sandbox


def _not_taken(key: str, norm: str, cls: type[Provider], known: Mapping[str, Property]) -> str:
    """Why ``key`` is refused: another provider's property, or unknown (with a suggestion)."""
    takes = ", ".join(p.name for p in properties_of(cls))
    if norm in known:
        return (
            f"connection property {known[norm].name} is not used by {cls.name}; "
            f"{cls.name} takes: {takes}"
        )
    names = {dsn_syntax.normalise(p.name): p.name for p in properties_of(cls)}
    close = difflib.get_close_matches(norm, list(names), n=1)
    hint = f"; did you mean {names[close[0]]}?" if close else ""
    shown = repr(key) if _PLAIN_KEY.fullmatch(key) else "(a key that is not a plain name)"
    return f"unknown connection property {shown}{hint} ({cls.name} takes: {takes})"
