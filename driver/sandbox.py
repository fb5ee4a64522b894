"""``Sandbox=true``: a provider's built-in emulator, in-process, with demo data.

One emulator per provider wire per process, shared by every sandbox
connection to it (like one account on a real provider), reached through
``httpx.ASGITransport``: no port, no network, no account.
"""

from __future__ import annotations

import threading

import httpx

from .emulator import Emulator, create_app

_lock = threading.Lock()
_emulators: dict[str, Emulator] = {}


def sandbox_emulator(wire: str = "twilio") -> Emulator:
    """The process-wide sandbox emulator for ``wire``, seeded with demo data on first use."""
    with _lock:
        emulator = _emulators.get(wire)
        if emulator is None:
            emulator = Emulator(auto_advance=True, wire=wire)
            emulator.seed_demo()
            _emulators[wire] = emulator
        return emulator


def sandbox_transport(wire: str = "twilio") -> tuple[httpx.AsyncBaseTransport, dict[str, str]]:
    """The transport to ``wire``'s sandbox and its demo account's connection properties."""
    emulator = sandbox_emulator(wire)
    return httpx.ASGITransport(app=create_app(emulator)), emulator.wire.demo_credentials()
