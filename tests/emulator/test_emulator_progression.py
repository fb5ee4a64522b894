"""Deterministic state progression and conference endings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from driver.emulator import DEMO_ACCOUNT_SID, Emulator

ROOT = f"/2010-04-01/Accounts/{DEMO_ACCOUNT_SID}"
PERSON = {"From": "+15005550006", "To": "+14155550100"}


class StepClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 5, 4, 10, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_advance_moves_queued_to_ringing_to_connected(client: httpx.Client, emu: Emulator) -> None:
    clock = StepClock()
    emu.clock = clock
    created = client.post(f"{ROOT}/Conferences/Room/Participants.json", data=PERSON).json()
    assert created["date_created"] == "Mon, 04 May 2026 10:00:00 +0000"
    url = f"{ROOT}/Conferences/{created['conference_sid']}"
    call = f"{url}/Participants/{created['call_sid']}.json"
    assert client.get(call).json()["status"] == "queued"
    assert client.get(f"{url}.json").json()["status"] == "init"

    clock.now += timedelta(seconds=5)
    emu.advance()
    assert client.get(call).json()["status"] == "ringing"
    assert client.get(f"{url}.json").json()["status"] == "init"

    clock.now += timedelta(seconds=5)
    emu.advance()
    participant = client.get(call).json()
    assert participant["status"] == "connected"
    assert participant["date_updated"] == "Mon, 04 May 2026 10:00:10 +0000"
    conference = client.get(f"{url}.json").json()
    assert conference["status"] == "in-progress"
    assert conference["date_updated"] == "Mon, 04 May 2026 10:00:10 +0000"

    emu.advance(steps=3)  # nothing left to progress
    assert client.get(call).json()["status"] == "connected"


def test_state_is_still_without_advance(client: httpx.Client, emu: Emulator) -> None:
    created = client.post(f"{ROOT}/Conferences/Room/Participants.json", data=PERSON).json()
    for _ in range(3):
        client.get(f"{ROOT}/Conferences.json")
    assert emu.participants(created["conference_sid"])[0]["status"] == "queued"


def test_auto_advance_steps_once_per_request(client: httpx.Client, emu: Emulator) -> None:
    emu.auto_advance = True
    created = client.post(f"{ROOT}/Conferences/Room/Participants.json", data=PERSON).json()
    assert created["status"] == "queued"
    url = f"{ROOT}/Conferences/{created['conference_sid']}/Participants/{created['call_sid']}.json"
    assert client.get(url).json()["status"] == "ringing"
    assert client.get(url).json()["status"] == "connected"


def test_start_conference_on_enter_false_keeps_init(client: httpx.Client, emu: Emulator) -> None:
    data = {**PERSON, "StartConferenceOnEnter": "false"}
    created = client.post(f"{ROOT}/Conferences/Room/Participants.json", data=data).json()
    emu.advance(2)
    assert emu.conference(created["conference_sid"])["status"] == "init"


def test_kicking_the_last_participant_ends_the_conference(
    client: httpx.Client, emu: Emulator
) -> None:
    sid = str(emu.create_conference("room")["sid"])
    first = emu.add_participant(sid, label="a")
    last = emu.add_participant(sid, label="b")
    assert client.delete(f"{ROOT}/Conferences/{sid}/Participants/a.json").status_code == 204
    assert emu.conference(sid)["status"] == "in-progress"
    assert client.delete(f"{ROOT}/Conferences/{sid}/Participants/b.json").status_code == 204
    ended = emu.conference(sid)
    assert ended["status"] == "completed"
    assert ended["reason_conference_ended"] == "last-participant-kicked"
    assert ended["call_sid_ending_conference"] == last["call_sid"]
    assert first["call_sid"] != last["call_sid"]


def test_kicking_an_end_conference_on_exit_participant_ends_it(
    client: httpx.Client, emu: Emulator
) -> None:
    sid = str(emu.create_conference("room")["sid"])
    moderator = emu.add_participant(sid, label="mod", end_conference_on_exit=True)
    emu.add_participant(sid, label="guest")
    assert client.delete(f"{ROOT}/Conferences/{sid}/Participants/mod.json").status_code == 204
    ended = emu.conference(sid)
    assert ended["reason_conference_ended"] == "participant-with-end-conference-on-exit-kicked"
    assert ended["call_sid_ending_conference"] == moderator["call_sid"]
    assert [p["status"] for p in emu.participants(sid)] == ["complete", "complete"]


def test_end_conference_on_exit_can_be_set_by_update(client: httpx.Client, emu: Emulator) -> None:
    sid = str(emu.create_conference("room")["sid"])
    emu.add_participant(sid, label="a")
    emu.add_participant(sid, label="b")
    url = f"{ROOT}/Conferences/{sid}/Participants/a.json"
    assert client.post(url, data={"EndConferenceOnExit": "true"}).json()["end_conference_on_exit"]
    client.delete(url)
    assert emu.conference(sid)["status"] == "completed"


def test_sids_are_deterministic_after_reset(client: httpx.Client, emu: Emulator) -> None:
    first = client.post(f"{ROOT}/Conferences/Room/Participants.json", data=PERSON).json()
    emu.reset()
    second = client.post(f"{ROOT}/Conferences/Room/Participants.json", data=PERSON).json()
    assert (first["call_sid"], first["conference_sid"]) == (
        second["call_sid"],
        second["conference_sid"],
    )
