"""Emulator fixtures: `server` and `emu` come from tests/conftest.py; this adds a raw HTTP client."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from driver.emulator import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, Emulator, EmulatorServer


@pytest.fixture
def client(server: EmulatorServer, emu: Emulator) -> Iterator[httpx.Client]:
    """An httpx client authenticated as the demo account."""
    with httpx.Client(
        base_url=server.base_url, auth=(DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN), timeout=5
    ) as http:
        yield http
