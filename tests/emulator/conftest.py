"""Shared fixtures: one real HTTP emulator per session, reset before each test."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # allow plain `pytest` without installing the package
    sys.path.insert(0, str(REPO_ROOT))

if TYPE_CHECKING:
    from driver.emulator import Emulator, EmulatorServer


@pytest.fixture(scope="session")
def server() -> Iterator[EmulatorServer]:
    """The emulator served over HTTP on 127.0.0.1 for the whole session."""
    from driver.emulator import Emulator, EmulatorServer

    with EmulatorServer(Emulator()) as running:
        yield running


@pytest.fixture
def emu(server: EmulatorServer) -> Iterator[Emulator]:
    """The served emulator, empty (demo account only) at the start of each test."""
    server.emulator.reset()
    yield server.emulator
    server.emulator.reset()


@pytest.fixture
def client(server: EmulatorServer, emu: Emulator) -> Iterator[httpx.Client]:
    """An httpx client authenticated as the demo account."""
    from driver.emulator import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN

    with httpx.Client(
        base_url=server.base_url, auth=(DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN), timeout=5
    ) as http:
        yield http
