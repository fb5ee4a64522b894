"""Shared fixtures: one real HTTP emulator on 127.0.0.1 per session, reset per test."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import driver
from driver.emulator import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, Emulator, EmulatorServer
from driver.providers import provider_class
from tests import oracle


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: two workers per core.  Much of the suite waits on emulator latency
    and subprocesses, so a core has room for a second worker (measured on 2 cores:
    4 workers finish in about 60 % of the time 2 take)."""
    return min(8, 2 * (os.cpu_count() or 1))


SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def server() -> Iterator[EmulatorServer]:
    """The emulator served over real HTTP on 127.0.0.1 for the whole session."""
    with EmulatorServer(Emulator()) as running:
        yield running


@pytest.fixture
def emu(server: EmulatorServer) -> Iterator[Emulator]:
    """The served emulator, empty (demo account only) at the start of each test."""
    _settle(server.emulator)
    server.emulator.reset()
    yield server.emulator
    server.emulator.reset()


def _settle(emulator: Emulator, timeout: float = 2.0) -> None:
    """Wait until no request of an earlier test is still being handled.

    A request an earlier test abandoned may still sleep in the emulator's latency; once
    awake it would take this test's injected fault (or count in its limits and log).
    """
    deadline = time.monotonic() + timeout
    while emulator.limits.in_flight > 0 and time.monotonic() < deadline:
        time.sleep(0.005)


Connect = Callable[..., driver.Connection]


def received(emu: Emulator, conference: str, participant: str) -> dict[str, object]:
    """The inputs the emulator kept for a live participant (by call SID or label), parsed:
    booleans, numbers and lists as such, whatever the wire encoded them as."""
    with emu.state.lock:
        found = emu.state.participant(emu.state.conferences[conference], participant)
        assert found is not None, (conference, participant)
        return dict(found.options)


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
    """Tests never pick up a developer's real provider credentials."""
    for name in (
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_API_KEY",
        "TWILIO_API_SECRET",
        "TWILIO_REGION",
        "TWILIO_EDGE",
        "SIGNALWIRE_SPACE",
        "SIGNALWIRE_PROJECT_ID",
        "SIGNALWIRE_API_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)


# --- the same tests on every provider ------------------------------------------------

# The providers whose emulators join the provider-neutral tests (any_provider, any_data).
PROVIDERS = ["Twilio", "SignalWire", "Telnyx", "TelnyxTeXML"]


@dataclass
class ProviderUnderTest:
    """One provider's emulator, served over HTTP, and a way to connect to it."""

    name: str
    emu: Emulator
    server: EmulatorServer
    connect: Connect


@pytest.fixture(scope="session")
def wire_servers(server: EmulatorServer) -> Iterator[dict[str, EmulatorServer]]:
    """One HTTP emulator per provider wire, started on first use (Twilio's is ``server``)."""
    started = {"twilio": server}
    yield started
    for wire, running in started.items():
        if wire != "twilio":
            running.stop()


@pytest.fixture(params=PROVIDERS)
def any_provider(
    request: pytest.FixtureRequest, wire_servers: dict[str, EmulatorServer]
) -> Iterator[ProviderUnderTest]:
    """Each provider in turn: its emulator (reset) and ``connect(**props)`` to it."""
    yield from serve_provider(str(request.param), wire_servers)


def wire_server(wire_servers: dict[str, EmulatorServer], wire: str) -> EmulatorServer:
    """The session's HTTP emulator speaking ``wire`` (started on first use)."""
    running = wire_servers.get(wire)
    if running is None:
        running = wire_servers[wire] = EmulatorServer(Emulator(wire=wire)).start()
    return running


def serve_provider(
    name: str, wire_servers: dict[str, EmulatorServer]
) -> Iterator[ProviderUnderTest]:
    """Body of a fixture for one provider: its HTTP emulator (reset) and a way to connect."""
    cls = provider_class(name)
    assert cls is not None
    running = wire_server(wire_servers, cls.wire)
    emulator = running.emulator
    emulator.reset()
    opened: list[driver.Connection] = []

    def _connect(**props: Any) -> driver.Connection:
        props.setdefault("Provider", name)
        props.setdefault("BaseUrl", running.base_url + emulator.wire.base_path)
        for key, value in emulator.wire.demo_credentials().items():
            props.setdefault(key, value)
        props.setdefault("Timeout", 5)
        conn = driver.connect(**props)
        opened.append(conn)
        return conn

    yield ProviderUnderTest(name, emulator, running, _connect)
    for conn in opened:
        conn.close()
    emulator.reset()


@pytest.fixture
def any_data(any_provider: ProviderUnderTest) -> dict[str, Any]:
    """The ``data`` set (below) on each provider, with its oracle."""
    made = _populate(any_provider.emu)
    made["oracle"] = oracle.build(any_provider.emu, any_provider.name)
    return made


NOW = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)
STATUSES = ("init", "in-progress", "completed")


@pytest.fixture
def data(emu: Emulator) -> dict[str, Any]:
    """30 conferences over 6 days, 3 statuses, with varied participants and awkward names."""
    made = _populate(emu)
    made["oracle"] = oracle.build(emu)
    return made


def _populate(emu: Emulator) -> dict[str, Any]:
    emu.clock = lambda: NOW
    sids: list[str] = []
    for i in range(30):
        status = STATUSES[i % 3]
        name = ["Sales", "Support", "a/../Calls", "x y", "O'Brien", "Ünïcode?#%"][i % 6]
        created = NOW - timedelta(days=i % 6, hours=i % 5, minutes=i)
        conf = emu.create_conference(
            f"{name} {i}" if i >= 6 else name,
            "in-progress" if status == "completed" else status,
            date_created=created,
        )
        sid = str(conf["sid"])
        sids.append(sid)
        for j in range(i % 4):
            emu.add_participant(
                sid,
                label=f"p{j}" if j % 2 == 0 else None,
                muted=bool(j % 2),
                hold=j == 2,
                status="connected" if status != "init" else "ringing",
            )
        if status == "completed":
            emu.add_participant(sid, label="last", status="connected")
    for i, sid in enumerate(sids):
        if STATUSES[i % 3] == "completed":
            conference = emu.state.conference(emu.demo_account, sid)
            assert conference is not None
            emu.state.end_conference(conference, "conference-ended-via-api", None)
    emu.requests.clear()
    return {"sids": sids}
