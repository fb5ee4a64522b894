"""Per-connection machinery: the provider, its HTTP client, the scanner and the procedure runner.

A :class:`Session` is what the virtual tables and the DB-API share.  It asks
the connection's provider class for the base URL, auth and (for
``Sandbox=true``) the in-process emulator, owns the HTTP client, and runs
procedure calls synchronously for callers on the SQLite side.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Mapping
from typing import Any

import httpx

from . import loop
from .http import ApiClient
from .procedures import ProcedureRunner, Row
from .properties import Settings
from .providers import Provider
from .requests import Requester
from .scan import Scanner
from .schema import Catalog, ProviderMapping
from .statement import Statement
from .throttle import gate_for

AUTO_SCAN_WIDTH = 64


def _account_key(provider: Provider, base_url: str) -> tuple[str, ...]:
    """Which gate a connection shares: one per provider account (secrets only as a hash)."""
    secret = "\x1f".join(
        str(provider.settings[p.name] or "") for p in provider.properties if p.secret
    )
    digest = hashlib.sha256(secret.encode()).hexdigest()[:16]
    return (provider.name, base_url, repr(sorted(provider.root_values().items())), digest)


class Session:
    """Everything one connection needs to talk to its provider."""

    def __init__(self, catalog: Catalog, provider_cls: type[Provider], settings: Settings) -> None:
        self.catalog = catalog
        mapping = catalog.provider(provider_cls.mapping_name)
        assert mapping is not None, f"schema/providers/{provider_cls.mapping_name}.toml"
        self.mapping: ProviderMapping = mapping
        self.settings = settings  # as the user gave them
        transport: httpx.AsyncBaseTransport | None = None
        if settings["Sandbox"] and not settings["BaseUrl"]:
            # The sandbox brings its own transport and demo credentials.
            sandbox = provider_cls(mapping, settings).sandbox()
            transport = sandbox.transport
            merged = Settings({**settings.values, **sandbox.settings}, settings.secrets)
            self.provider = provider_cls(mapping, merged)
            base_url = sandbox.base_url
        else:
            self.provider = provider_cls(mapping, settings)
            base_url = self.provider.base_url()
        fixed = settings["MaxConcurrency"]
        fixed = None if fixed == "auto" else int(fixed)
        gate = gate_for(_account_key(self.provider, base_url), fixed)
        self.client = ApiClient(
            base_url,
            self.provider,
            timeout=float(settings["Timeout"]),
            gate=gate,
            transport=transport,
            cache_ttl=float(settings["CacheTtl"]),
            retry_budget=float(settings["RetryBudget"]),
        )
        self.requester = Requester(self.client, self.provider)
        # How many page streams one scan runs at once; the gate decides how many are sent.
        self.scanner = Scanner(catalog, self.requester, fixed or AUTO_SCAN_WIDTH)
        self.runner = ProcedureRunner(catalog, self.requester)
        # The statement SQLite is stepping right now (set by the DB-API around each step).
        self.current: Statement | None = None

    def statement(self) -> Statement:
        """The statement being stepped; a fresh one for SQL run on the apsw connection directly."""
        return self.current if self.current is not None else Statement()

    def call_procedure(self, name: str, args: Mapping[str, object]) -> list[Row]:
        """Validate ``args`` (nothing is sent if they are bad), then run the procedure."""
        inputs = self.runner.validate(name, args)
        return self.statement().run(self.runner.call(name, inputs))

    def note_rows(self, count: int) -> None:
        """Count rows streamed (progress display)."""
        self.client.stats.rows += count

    def close(self) -> None:
        """Release pooled HTTP connections (never waits on a stopped loop)."""
        if loop.alive():
            with contextlib.suppress(loop.LoopStopped):
                loop.run(self.client.aclose())

    def __repr__(self) -> str:
        return f"Session(provider={self.provider.name!r}, settings={self.settings!r})"

    @property
    def stats(self) -> Any:
        """Request counters (requests, retries, rows)."""
        return self.client.stats
