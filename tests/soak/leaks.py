"""What a finished statement left behind: HTTP requests still checked out, tasks still running.

Both read private state (the driver's pooled httpx clients, httpcore's pool,
the driver's event loop), so each answers ``None`` when that state is not
where it was looked for: a probe that cannot see says so instead of guessing.
"""

from __future__ import annotations

import asyncio
from typing import Any

import driver
from driver import loop


def checked_out(conn: driver.Connection) -> int | None:
    """Requests the connection's HTTP pools still hold (active or queued); None if unknown."""
    client = getattr(getattr(conn, "session", None), "client", None)
    clients: Any = getattr(client, "_clients", None)
    if not isinstance(clients, list):
        return None
    total = 0
    for http in clients:
        pool = getattr(getattr(http, "_transport", None), "_pool", None)
        requests = getattr(pool, "_requests", None)
        if not isinstance(requests, list):
            return None
        total += len(requests)
    return total


def running_tasks() -> int:
    """Tasks not yet done on the driver's event loop (shared by every connection)."""
    io = loop.get_loop()
    for _ in range(10):  # all_tasks from another thread can race with the loop
        try:
            return sum(1 for task in asyncio.all_tasks(io) if not task.done())
        except RuntimeError:
            continue
    return 0
