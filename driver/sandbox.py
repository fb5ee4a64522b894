"""Provider=Sandbox: the built-in emulator, in-process, with demo data.

One emulator per process, shared by every sandbox connection (like one
account on a real provider), reached through ``httpx.ASGITransport``: no
port, no network, no account.
"""

from __future__ import annotations

import threading

import httpx

from .emulator import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, Emulator, create_app

_lock = threading.Lock()
_emulator: Emulator | None = None


def sandbox_emulator() -> Emulator:
    """The process-wide sandbox emulator, seeded with demo data on first use."""
    global _emulator
    with _lock:
        if _emulator is None:
            emulator = Emulator(auto_advance=True)
            emulator.seed_demo()
            _emulator = emulator
        return _emulator


def sandbox_transport() -> tuple[httpx.AsyncBaseTransport, str, str]:
    """Transport, account SID and auth token for a sandbox connection."""
    app = create_app(sandbox_emulator())
    return httpx.ASGITransport(app=app), DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN
