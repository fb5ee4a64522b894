"""``sys_stats``: a connection's request counters as a table.

``SELECT * FROM sys_stats`` shows what the connection sent and why it was
slow, if it was: requests and retries, rows streamed, the concurrency limit
in use (adaptive with ``MaxConcurrency=auto``), requests in flight, 429
answers and the time new requests were held by a shared ``Retry-After`` pause.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import apsw
import apsw.ext

from .http import Stats


def rows(stats: Stats) -> list[tuple[str, Any, str]]:
    """(Name, Value, Description) rows for ``stats``."""
    gate = stats.gate
    return [
        ("Requests", stats.requests, "HTTP requests sent by this connection"),
        ("Retries", stats.retries, "requests sent again (429, connection refused)"),
        ("Rows", stats.rows, "rows streamed from the provider"),
        ("CacheHits", stats.cache_hits, "GET answers reused (CacheTtl)"),
        ("ConcurrencyLimit", gate.limit, "requests allowed in flight now (account-wide)"),
        ("InFlight", gate.in_flight, "requests in flight now (account-wide)"),
        ("PeakInFlight", gate.peak_in_flight, "most requests in flight at once"),
        ("Throttled", gate.throttled, "429 Too Many Requests answers"),
        ("PausedSeconds", round(gate.paused_seconds, 3), "time new requests were held"),
    ]


def install(db: apsw.Connection, stats: Stats) -> None:
    """Register the eponymous ``sys_stats`` table on ``db``."""

    def sys_stats() -> Iterator[tuple[str, Any, str]]:
        yield from rows(stats)

    sys_stats.columns = ("Name", "Value", "Description")  # type: ignore[attr-defined]
    sys_stats.column_access = apsw.ext.VTColumnAccess.By_Index  # type: ignore[attr-defined]
    apsw.ext.make_virtual_module(db, "sys_stats", cast(Any, sys_stats))
