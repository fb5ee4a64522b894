"""Seeding, the Python API, in-process use and the official SDK."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from driver.emulator import (
    DEMO_ACCOUNT_SID,
    DEMO_AUTH_TOKEN,
    Emulator,
    EmulatorServer,
    create_app,
)

ROOT = f"/2010-04-01/Accounts/{DEMO_ACCOUNT_SID}"


def test_seed_demo_is_deterministic() -> None:
    first, second = Emulator(), Emulator()
    first.seed_demo()
    second.seed_demo()
    shape = [(c["sid"], c["friendly_name"], c["status"]) for c in first.conferences()]
    assert shape == [(c["sid"], c["friendly_name"], c["status"]) for c in second.conferences()]
    statuses = {c["status"] for c in first.conferences()}
    assert statuses == {"init", "in-progress", "completed"}
    assert all(first.participants(str(c["sid"])) for c in first.conferences())


def test_seed_bulk_speed() -> None:
    emu = Emulator()
    started = time.perf_counter()
    emu.seed_bulk(conferences=5000)
    assert time.perf_counter() - started < 1.0
    started = time.perf_counter()
    sids = emu.seed_bulk(conferences=1000, participants_per=100, status="in-progress")
    assert time.perf_counter() - started < 5.0
    assert len(emu.conferences()) == 6000
    assert len(emu.participants(sids[0])) == 100


def test_python_api_validates(emu: Emulator) -> None:
    with pytest.raises(ValueError):
        emu.create_conference("x", status="running")
    with pytest.raises(ValueError):
        emu.add_account("nope", "t")
    with pytest.raises(ValueError):
        emu.add_api_key(DEMO_ACCOUNT_SID, "AK123", "s")
    with pytest.raises(KeyError):
        emu.add_participant("CF" + "0" * 32)
    done = emu.create_conference("done", status="completed")
    with pytest.raises(ValueError):
        emu.add_participant(str(done["sid"]))
    room = emu.create_conference("room", status="init")
    emu.add_participant(str(room["sid"]), label="a", status="ringing")
    with pytest.raises(ValueError):
        emu.add_participant(str(room["sid"]), label="a")
    emu.add_participant(str(room["sid"]), label="b")
    assert emu.conference(str(room["sid"]))["status"] == "in-progress"


def test_in_process_asgi_transport() -> None:
    emu = Emulator()
    emu.seed_demo()

    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(emu))
        auth = (DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN)
        async with httpx.AsyncClient(transport=transport, base_url="http://x", auth=auth) as http:
            return await http.get(f"{ROOT}/Conferences.json", params={"Status": "completed"})

    response = asyncio.run(run())
    assert response.status_code == 200
    assert len(response.json()["conferences"]) == 3


def test_server_starts_fast_and_stops() -> None:
    started = time.perf_counter()
    with EmulatorServer() as running:
        assert time.perf_counter() - started < 0.5
        assert running.base_url.startswith("http://127.0.0.1:")
        assert httpx.get(running.base_url + "/").status_code == 404
    with pytest.raises(RuntimeError):
        _ = running.base_url


def test_official_sdk_round_trip(server: EmulatorServer, emu: Emulator) -> None:
    rest = pytest.importorskip("twilio.rest")
    emu.seed_demo()
    emu.seed_bulk(conferences=120)
    client = rest.Client(DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN)
    client.api.base_url = server.base_url
    assert len(client.conferences.list(page_size=50)) == 126
    live = client.conferences.list(status="in-progress")
    assert {c.friendly_name for c in live} == {"Daily Standup", "Customer Escalation"}
    joined = client.conferences("SDK Room").participants.create(
        from_="+15005550006", to="+14155550100", label="x y"
    )
    assert joined.status == "queued"
    participant = client.conferences(joined.conference_sid).participants("x y")
    assert participant.update(muted=True).muted is True
    assert participant.delete() is True
    assert client.conferences(joined.conference_sid).fetch().status == "completed"
