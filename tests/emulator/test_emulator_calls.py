"""The Twilio wire's Calls resource: fetch, and update with inline TwiML that dials a conference.

The markup machinery (driver/emulator/calls.py) is shared with the SignalWire
wire, whose own tests are in tests/providers/test_signalwire.py and
tests/emulator/test_signalwire_spec.py.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

import driver
from driver.emulator import DEMO_ACCOUNT_SID, Emulator
from tests.conftest import SHARED

ROOT = f"/2010-04-01/Accounts/{DEMO_ACCOUNT_SID}"
SPEC = SHARED / "specs" / "twilio" / "conferences-participants.openapi.json"
CALL = "/2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json"


def dial(room: str, **attributes: str) -> str:
    attrs = "".join(f' {k}="{v}"' for k, v in attributes.items())
    return f"<Response><Dial><Conference{attrs}>{room}</Conference></Dial></Response>"


def live(emu: Emulator, conference_sid: str) -> list[str]:
    return [str(p["call_sid"]) for p in emu.live_participants(conference_sid)]


@pytest.fixture
def call(emu: Emulator) -> str:
    return emu.create_call("+15550001000", "+15550002000")


def test_fetch_a_placed_call_and_a_participants_call(
    client: httpx.Client, emu: Emulator, call: str
) -> None:
    placed = client.get(f"{ROOT}/Calls/{call}.json").json()
    assert (placed["sid"], placed["status"], placed["from"]) == (
        call,
        "in-progress",
        "+15550001000",
    )
    room = str(emu.create_conference("R")["sid"])
    created = client.post(
        f"{ROOT}/Conferences/{room}/Participants.json", data={"From": "+1555", "To": "+1556"}
    ).json()
    joined = client.get(f"{ROOT}/Calls/{created['call_sid']}.json").json()
    assert (joined["status"], joined["to"], joined["start_time"]) == ("queued", "+1556", None)
    assert client.get(f"{ROOT}/Calls/CA{'0' * 32}.json").status_code == 404
    assert client.get(f"{ROOT}/Calls.json").status_code == 404  # not in Twilio's slice


def test_twiml_dials_the_call_in_and_moves_it(
    client: httpx.Client, emu: Emulator, call: str
) -> None:
    answer = client.post(
        f"{ROOT}/Calls/{call}.json",
        data={"Twiml": dial("First", muted="true", startConferenceOnEnter="false")},
    )
    assert answer.status_code == 200 and answer.json()["status"] == "in-progress"
    [first] = emu.conferences()
    assert (first["friendly_name"], first["status"]) == ("First", "init")  # nobody started it
    [member] = emu.live_participants(str(first["sid"]))
    assert (member["call_sid"], member["muted"], member["start_conference_on_enter"]) == (
        call,
        True,
        False,
    )
    other = str(emu.create_conference("Second")["sid"])
    client.post(f"{ROOT}/Calls/{call}.json", data={"Twiml": dial("Second", beep="onEnter")})
    assert live(emu, str(first["sid"])) == [] and live(emu, other) == [call]
    assert emu.conference(str(first["sid"]))["status"] == "completed"


def test_status_completed_hangs_up(client: httpx.Client, emu: Emulator, call: str) -> None:
    client.post(f"{ROOT}/Calls/{call}.json", data={"Twiml": dial("Room")})
    answer = client.post(f"{ROOT}/Calls/{call}.json", data={"Status": "completed"}).json()
    assert answer["status"] == "completed" and answer["end_time"] is not None
    again = client.post(f"{ROOT}/Calls/{call}.json", data={"Twiml": dial("Room")})
    assert again.status_code == 400 and again.json()["code"] == 21220


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({"Twiml": "<Response><Say>hi</Say></Response>"}, 12100),
        ({"Twiml": "<Response><Dial>"}, 12100),
        ({"Twiml": dial("")}, 12100),
        ({"Twiml": dial("R", color="red")}, 12100),
        ({"Twiml": dial("R", muted="yes")}, 20001),
        ({"Twiml": dial("R", maxParticipants="1")}, 20001),
        ({"Twiml": dial("R", coach="CA" + "0" * 32)}, 20001),
        ({"Twiml": dial("R"), "Url": "https://e.x"}, 20001),
        ({"Status": "paused"}, 20001),
    ],
)
def test_refused_updates_change_nothing(
    client: httpx.Client, emu: Emulator, call: str, data: dict[str, str], code: int
) -> None:
    answer = client.post(f"{ROOT}/Calls/{call}.json", data=data)
    assert answer.status_code == 400 and answer.json()["code"] == code, answer.text
    assert emu.conferences() == []


def test_a_full_conference_refuses_the_call(client: httpx.Client, emu: Emulator, call: str) -> None:
    other = emu.create_call("+1", "+2")
    client.post(f"{ROOT}/Calls/{other}.json", data={"Twiml": dial("Full", maxParticipants="2")})
    third = emu.create_call("+1", "+3")
    client.post(f"{ROOT}/Calls/{third}.json", data={"Twiml": dial("Full")})
    answer = client.post(f"{ROOT}/Calls/{call}.json", data={"Twiml": dial("Full")})
    assert answer.status_code == 400 and "full" in answer.json()["message"]


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    if not SPEC.exists():
        pytest.skip("../shared/specs is not present")
    loaded: dict[str, Any] = json.loads(SPEC.read_text())
    return loaded


def test_call_resource_matches_the_spec(
    spec: dict[str, Any], client: httpx.Client, call: str
) -> None:
    schemas = spec["components"]["schemas"]
    properties = schemas["api.v2010.account.call"]["properties"]
    for answer in (
        client.get(f"{ROOT}/Calls/{call}.json"),
        client.post(f"{ROOT}/Calls/{call}.json", data={"Twiml": dial("Spec")}),
        client.post(f"{ROOT}/Calls/{call}.json", data={"Status": "completed"}),
    ):
        body = answer.json()
        assert set(body) == set(properties)
        assert body["status"] in schemas["call_enum_status"]["enum"]
        for name, value in body.items():
            kind = properties[name].get("type")
            if value is not None and kind:
                assert isinstance(value, {"string": str, "object": dict}[kind]), name


def test_join_conference_request_is_the_specs_update_call(
    spec: dict[str, Any], conn: driver.Connection, emu: Emulator, call: str
) -> None:
    conn.cursor().execute("EXEC JoinConference ConferenceSid = 'Spec', CallSid = ?", (call,))
    [post] = [r for r in emu.requests if r.method == "POST"]
    assert post.path == f"{ROOT}/Calls/{call}.json"
    body = spec["paths"][CALL]["post"]["requestBody"]["content"]
    fields = body["application/x-www-form-urlencoded"]["schema"]["properties"]
    assert [k for k, _ in post.form] == ["Twiml"] and "Twiml" in fields
