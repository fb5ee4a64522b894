"""Shared fixtures: one real HTTP emulator on 127.0.0.1 per session, reset per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import driver
from driver.emulator import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, Emulator, EmulatorServer

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def server() -> Iterator[EmulatorServer]:
    """The emulator served over real HTTP on 127.0.0.1 for the whole session."""
    with EmulatorServer(Emulator()) as running:
        yield running


@pytest.fixture
def emu(server: EmulatorServer) -> Iterator[Emulator]:
    """The served emulator, empty (demo account only) at the start of each test."""
    server.emulator.reset()
    yield server.emulator
    server.emulator.reset()


Connect = Callable[..., driver.Connection]


@pytest.fixture
def connect(server: EmulatorServer, emu: Emulator) -> Iterator[Connect]:
    """Open driver connections to the served emulator; all are closed after the test."""
    opened: list[driver.Connection] = []

    def _connect(**props: Any) -> driver.Connection:
        props.setdefault("BaseUrl", server.base_url)
        props.setdefault("AccountSid", DEMO_ACCOUNT_SID)
        props.setdefault("AuthToken", DEMO_AUTH_TOKEN)
        props.setdefault("Timeout", 5)
        conn = driver.connect(**props)
        opened.append(conn)
        return conn

    yield _connect
    for conn in opened:
        conn.close()


@pytest.fixture
def conn(connect: Connect) -> driver.Connection:
    """One connection to the served emulator with default properties."""
    return connect()


@pytest.fixture(autouse=True)
def _no_twilio_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never pick up a developer's real Twilio credentials."""
    for name in (
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_API_KEY",
        "TWILIO_API_SECRET",
        "TWILIO_REGION",
        "TWILIO_EDGE",
    ):
        monkeypatch.delenv(name, raising=False)
