"""Fault injection, latency and the request log."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from driver.emulator import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, Emulator, EmulatorServer

ROOT = f"/2010-04-01/Accounts/{DEMO_ACCOUNT_SID}"
LIST = f"{ROOT}/Conferences.json"
CREATE = f"{ROOT}/Conferences/Room/Participants.json"
PERSON = {"From": "+15005550006", "To": "+14155550100"}


def test_429_with_and_without_retry_after(client: httpx.Client, emu: Emulator) -> None:
    emu.faults.add("429", retry_after=2)
    emu.faults.add("429")
    first = client.get(LIST)
    assert first.status_code == 429 and first.headers["retry-after"] == "2"
    assert first.json() == {
        "code": 20429,
        "message": "Too Many Requests",
        "more_info": "https://www.twilio.com/docs/errors/20429",
        "status": 429,
    }
    second = client.get(LIST)
    assert second.status_code == 429 and "retry-after" not in second.headers
    assert client.get(LIST).status_code == 200


def test_429_before_processing_changes_nothing(client: httpx.Client, emu: Emulator) -> None:
    emu.faults.add("429", method="POST")
    assert client.post(CREATE, data=PERSON).status_code == 429
    assert emu.conferences() == []


def test_500_after_processing_still_applies(client: httpx.Client, emu: Emulator) -> None:
    emu.faults.add("500", after_processing=True)
    response = client.post(CREATE, data=PERSON)
    assert response.status_code == 500 and response.json()["code"] == 20500
    assert len(emu.conferences()) == 1


def test_drop_closes_the_connection(client: httpx.Client, emu: Emulator) -> None:
    emu.faults.add("drop", method="POST")
    with pytest.raises(httpx.TransportError):
        client.post(CREATE, data=PERSON)
    assert emu.conferences() == []
    assert emu.requests[-1].fault == "drop" and emu.requests[-1].status is None
    assert client.get(LIST).status_code == 200  # the client recovers on a new connection


def test_drop_after_processing_leaves_outcome_unknown(client: httpx.Client, emu: Emulator) -> None:
    emu.faults.add("drop", method="POST", after_processing=True)
    with pytest.raises(httpx.TransportError):
        client.post(CREATE, data=PERSON)
    (conference,) = emu.conferences()
    assert len(emu.participants(str(conference["sid"]))) == 1


def test_timeout_hang(client: httpx.Client, emu: Emulator) -> None:
    emu.faults.add("timeout-hang", retry_after=0.6, method="POST")
    started = time.perf_counter()
    with pytest.raises(httpx.ReadTimeout):
        client.post(CREATE, data=PERSON, timeout=0.15)
    assert time.perf_counter() - started < 0.5
    time.sleep(0.7)
    assert emu.conferences() == []  # the client gave up before the request was applied


def test_timeout_hang_after_processing(client: httpx.Client, emu: Emulator) -> None:
    emu.faults.add("timeout-hang", retry_after=0.5, after_processing=True)
    with pytest.raises(httpx.ReadTimeout):
        client.post(CREATE, data=PERSON, timeout=0.15)
    assert len(emu.conferences()) == 1


def test_slow_answer_when_client_waits(client: httpx.Client, emu: Emulator) -> None:
    emu.faults.add("timeout-hang", retry_after=0.2)
    started = time.perf_counter()
    assert client.post(CREATE, data=PERSON).status_code == 201
    assert time.perf_counter() - started >= 0.2


def test_faults_match_path_and_method_and_fire_in_order(
    client: httpx.Client, emu: Emulator
) -> None:
    emu.faults.add("500", count=2, path_contains="/Participants", method="POST")
    emu.faults.add("429", path_contains="Conferences.json")
    assert client.get(f"{ROOT}/Conferences/CF{'0' * 32}/Participants.json").status_code == 404
    assert client.get(LIST).status_code == 429
    assert client.post(CREATE, data=PERSON).status_code == 500
    assert len(emu.faults) == 1 and emu.faults.pending[0].count == 1
    assert client.post(CREATE, data=PERSON).status_code == 500
    assert client.post(CREATE, data=PERSON).status_code == 201
    assert len(emu.faults) == 0
    with pytest.raises(ValueError):
        emu.faults.add("teapot")


def test_request_log(client: httpx.Client, emu: Emulator) -> None:
    client.get(f"{LIST}?DateCreated%3C=2026-01-01&FriendlyName=a%20b")
    client.post(CREATE, data={**PERSON, "StatusCallbackEvent": ["ringing", "answered"]})
    httpx.get(client.base_url.join(LIST), auth=(DEMO_ACCOUNT_SID, "bad"))
    listed, created, denied = emu.requests
    assert (listed.method, listed.path, listed.status) == ("GET", LIST, 200)
    assert listed.query == [("DateCreated<", "2026-01-01"), ("FriendlyName", "a b")]
    assert created.status == 201 and created.form[-2:] == [
        ("StatusCallbackEvent", "ringing"),
        ("StatusCallbackEvent", "answered"),
    ]
    assert created.account_sid == DEMO_ACCOUNT_SID
    assert denied.status == 401 and denied.time >= listed.time
    emu.requests.clear()
    assert emu.requests == []


def test_latency_overlaps_for_concurrent_requests(server: EmulatorServer, emu: Emulator) -> None:
    emu.latency = 0.3

    async def burst() -> list[int]:
        auth = (DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN)
        async with httpx.AsyncClient(base_url=server.base_url, auth=auth) as http:
            responses = await asyncio.gather(*(http.get(LIST) for _ in range(10)))
        return [r.status_code for r in responses]

    started = time.perf_counter()
    statuses = asyncio.run(burst())
    elapsed = time.perf_counter() - started
    assert statuses == [200] * 10
    assert 0.3 <= elapsed < 1.5  # ten requests in parallel, not 3 s in series


# --- every kind before and after processing ---------------------------------------------


@pytest.mark.parametrize("after_processing", [False, True])
def test_500_before_or_after_processing(
    client: httpx.Client, emu: Emulator, after_processing: bool
) -> None:
    emu.faults.add("500", method="POST", after_processing=after_processing)
    assert client.post(CREATE, data=PERSON).status_code == 500
    assert len(emu.conferences()) == (1 if after_processing else 0)


@pytest.mark.parametrize("status", [None, 301, 307])
@pytest.mark.parametrize("after_processing", [False, True])
def test_redirect_has_an_empty_body_and_points_elsewhere(
    client: httpx.Client, emu: Emulator, after_processing: bool, status: int | None
) -> None:
    emu.faults.add("redirect", method="POST", after_processing=after_processing, status=status)
    response = client.post(CREATE, data=PERSON)
    assert response.status_code == (status or 302) and response.content == b""
    assert response.headers["location"] == "/moved" + CREATE
    assert emu.requests[-1].status == response.status_code
    assert emu.requests[-1].fault == "redirect"
    assert len(emu.conferences()) == (1 if after_processing else 0)
    assert client.get(response.headers["location"]).status_code == 404


@pytest.mark.parametrize("status", [None, 201, 204])
@pytest.mark.parametrize("after_processing", [False, True])
def test_empty_2xx(
    client: httpx.Client, emu: Emulator, after_processing: bool, status: int | None
) -> None:
    emu.faults.add("empty-2xx", method="POST", after_processing=after_processing, status=status)
    response = client.post(CREATE, data=PERSON)
    assert response.status_code == (status or 200) and response.content == b""
    assert len(emu.conferences()) == (1 if after_processing else 0)


def test_204_on_the_second_page_of_a_list(client: httpx.Client, emu: Emulator) -> None:
    emu.seed_bulk(5)
    emu.faults.add("empty-2xx", status=204, query_contains="PageToken=")
    first = client.get(LIST, params={"PageSize": 2})
    assert first.status_code == 200 and len(first.json()["conferences"]) == 2
    second = client.get(first.json()["next_page_uri"])
    assert second.status_code == 204 and second.content == b""
    assert client.get(first.json()["next_page_uri"]).status_code == 200  # fired once


def test_429_after_processing_applies(client: httpx.Client, emu: Emulator) -> None:
    emu.faults.add("429", method="POST", after_processing=True)
    assert client.post(CREATE, data=PERSON).status_code == 429
    assert len(emu.conferences()) == 1


def test_fault_status_is_checked_against_its_kind(emu: Emulator) -> None:
    with pytest.raises(ValueError, match="takes no status"):
        emu.faults.add("drop", status=500)
    with pytest.raises(ValueError, match="answers one of"):
        emu.faults.add("redirect", status=200)
    with pytest.raises(ValueError, match="answers one of"):
        emu.faults.add("empty-2xx", status=302)
    assert emu.faults.add("empty-2xx", status=204).answer_status == 204
    assert emu.faults.add("redirect").answer_status == 302


def test_query_contains_narrows_a_fault(client: httpx.Client, emu: Emulator) -> None:
    emu.faults.add("500", query_contains="Status=completed")
    assert client.get(LIST, params={"Status": "init"}).status_code == 200
    assert client.get(LIST, params={"Status": "completed"}).status_code == 500
    assert len(emu.faults) == 0


def test_discard_withdraws_one_fault_and_says_how_many_firings_were_left(
    client: httpx.Client, emu: Emulator
) -> None:
    first = emu.faults.add("500", count=3)
    twin = emu.faults.add("500", count=3)  # equal but a different fault
    assert client.get(LIST).status_code == 500
    assert emu.faults.discard(twin) == 3
    assert emu.faults.pending == [first] and first.count == 2
    assert emu.faults.discard(twin) == 0
    assert client.get(LIST).status_code == 500 and first.count == 1
    assert client.get(LIST).status_code == 500 and first.count == 0
    assert emu.faults.discard(first) == 0 and client.get(LIST).status_code == 200


def test_skip_lets_the_first_matching_requests_through(client: httpx.Client, emu: Emulator) -> None:
    emu.faults.add("500", method="POST", skip=2)
    statuses = [client.post(CREATE, data=PERSON).status_code for _ in range(4)]
    assert statuses == [201, 201, 500, 201]
    assert client.get(LIST).status_code == 200
    with pytest.raises(ValueError, match="skip"):
        emu.faults.add("500", skip=-1)
