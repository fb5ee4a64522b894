"""Per-connection machinery: the provider client, scanner and procedure runner.

A :class:`Session` is what the virtual tables and the DB-API share.  It turns
connection settings into a base URL and credentials, owns the HTTP client,
and runs procedure calls synchronously for callers on the SQLite side.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

import httpx

from . import loop
from .http import ApiClient, Credentials
from .procedures import ProcedureRunner, Row
from .properties import Settings
from .requests import Requester
from .scan import Scanner
from .schema import Catalog, Provider
from .statement import Statement


def base_url(provider: Provider, settings: Settings) -> str:
    """BaseUrl if given, else the provider's regional or default root."""
    if settings["BaseUrl"]:
        return str(settings["BaseUrl"]).rstrip("/")
    region, edge = settings["Region"], settings["Edge"]
    if provider.regional_base_url and (region or edge):
        template = provider.regional_base_url
        if not edge:
            template = template.replace("{edge}.", "")
        return template.format(edge=edge or "", region=region or provider.default_region or "")
    return provider.base_url


def credentials(settings: Settings) -> Credentials | None:
    """The HTTP Basic pair: API key if given, else AccountSid/AuthToken."""
    if settings["ApiKey"] and settings["ApiSecret"]:
        return Credentials(settings["ApiKey"], settings["ApiSecret"], "ApiKey/ApiSecret")
    if settings["AccountSid"] and settings["AuthToken"]:
        return Credentials(settings["AccountSid"], settings["AuthToken"], "AccountSid/AuthToken")
    return None


class Session:
    """Everything one connection needs to talk to its provider."""

    def __init__(self, catalog: Catalog, settings: Settings) -> None:
        self.catalog = catalog
        self.settings = settings
        provider = catalog.provider(settings["Provider"])
        assert provider is not None
        self.provider = provider
        transport: httpx.AsyncBaseTransport | None = None
        url = base_url(provider, settings)
        creds = credentials(settings)
        account = settings["AccountSid"]
        if provider.name == "Sandbox" and not settings["BaseUrl"]:
            from .sandbox import sandbox_transport

            transport, account, creds = sandbox_transport()
        self.client = ApiClient(
            url,
            creds,
            timeout=float(settings["Timeout"]),
            max_concurrency=int(settings["MaxConcurrency"]),
            transport=transport,
            cache_ttl=float(settings["CacheTtl"]),
            retry_budget=float(settings["RetryBudget"]),
        )
        self.requester = Requester(self.client, provider, str(account))
        self.scanner = Scanner(catalog, self.requester, int(settings["MaxConcurrency"]))
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
