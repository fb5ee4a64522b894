"""Providers: one module per API, each a :class:`Provider` subclass plus its TOML mapping.

>>> provider_class("twilio").name
'Twilio'
"""

from __future__ import annotations

# Each import registers its class; providers are listed (README, --help) in this order.
from . import twilio  # noqa: F401  (the reference provider, first)

# isort: split
from . import jambonz, signalwire, telnyx, texml  # noqa: F401
from .base import ErrorBody, Provider, Sandbox, form_value, json_body, registry

__all__ = [
    "ErrorBody",
    "Provider",
    "Sandbox",
    "form_value",
    "json_body",
    "provider_class",
    "provider_classes",
]


def provider_class(name: str) -> type[Provider] | None:
    """The provider class called ``name`` (case-insensitive), if any."""
    return registry().get(name.lower())


def provider_classes() -> list[type[Provider]]:
    """Every registered provider class, in registration order."""
    return list(registry().values())
