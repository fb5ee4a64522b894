"""Fetch, create, update and delete: status codes, bodies and errors."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from driver.emulator import DEMO_ACCOUNT_SID, Emulator

ROOT = f"/2010-04-01/Accounts/{DEMO_ACCOUNT_SID}"
PERSON = {"From": "+15005550006", "To": "+14155550100"}


def participants_url(conference: str) -> str:
    return f"{ROOT}/Conferences/{quote(conference, safe='')}/Participants.json"


def participant_url(conference_sid: str, ref: str) -> str:
    return f"{ROOT}/Conferences/{conference_sid}/Participants/{quote(ref, safe='')}.json"


def assert_error(response: httpx.Response, status: int, code: int, mentions: str = "") -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message", "more_info", "status"}
    assert (body["status"], body["code"]) == (status, code)
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    assert mentions in body["message"]


def test_fetch_conference_and_404(client: httpx.Client, emu: Emulator) -> None:
    made = emu.create_conference("room")
    response = client.get(f"{ROOT}/Conferences/{made['sid']}.json")
    assert response.status_code == 200 and response.json() == made
    assert made["uri"] == f"{ROOT}/Conferences/{made['sid']}.json"
    assert_error(client.get(f"{ROOT}/Conferences/CF{'0' * 32}.json"), 404, 20404)


def test_json_suffix_is_required(client: httpx.Client, emu: Emulator) -> None:
    made = emu.create_conference("room")
    assert_error(client.get(f"{ROOT}/Conferences"), 404, 20404)
    assert_error(client.get(f"{ROOT}/Conferences/{made['sid']}"), 404, 20404)


def test_unknown_routes_are_404_and_wrong_methods_405(client: httpx.Client, emu: Emulator) -> None:
    assert_error(client.get("/"), 404, 20404)
    assert_error(client.get(f"{ROOT}/Calls.json"), 404, 20404)
    assert_error(client.get(f"{ROOT}/Conferences/x/Recordings.json"), 404, 20404)
    assert_error(client.delete(f"{ROOT}/Conferences.json"), 405, 20004)


def test_create_participant_by_friendly_name_starts_a_conference(
    client: httpx.Client, emu: Emulator
) -> None:
    response = client.post(participants_url("MyRoom"), data={**PERSON, "Label": "customer"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "queued" and body["label"] == "customer"
    assert isinstance(body["queue_time"], str) and body["queue_time"].isdigit()
    assert body["call_sid"].startswith("CA") and len(body["call_sid"]) == 34
    (conference,) = emu.conferences()
    assert conference["friendly_name"] == "MyRoom" and conference["status"] == "init"
    assert body["conference_sid"] == conference["sid"]
    again = client.post(participants_url("MyRoom"), data=PERSON).json()
    assert again["conference_sid"] == conference["sid"]
    fetched = client.get(participant_url(str(conference["sid"]), body["call_sid"])).json()
    assert fetched["queue_time"] is None  # only the create response carries it


def test_create_participant_by_sid(client: httpx.Client, emu: Emulator) -> None:
    made = emu.create_conference("room")
    response = client.post(participants_url(str(made["sid"])), data=PERSON)
    assert response.status_code == 201
    assert response.json()["conference_sid"] == made["sid"]


def test_unknown_or_completed_conference_sid_is_404(client: httpx.Client, emu: Emulator) -> None:
    assert_error(client.post(participants_url("CF" + "a" * 32), data=PERSON), 404, 20404)
    done = emu.create_conference("done", "completed")
    assert_error(client.post(participants_url(str(done["sid"])), data=PERSON), 404, 20404)
    assert emu.conferences() == [done]


def test_friendly_name_of_completed_conference_starts_a_new_one(
    client: httpx.Client, emu: Emulator
) -> None:
    done = emu.create_conference("standup", "completed")
    body = client.post(participants_url("standup"), data=PERSON).json()
    assert body["conference_sid"] != done["sid"]
    assert len(emu.conferences()) == 2


@pytest.mark.parametrize(("missing", "code"), [("From", 21603), ("To", 21604)])
def test_from_and_to_are_required(client: httpx.Client, missing: str, code: int) -> None:
    data = {k: v for k, v in PERSON.items() if k != missing}
    assert_error(client.post(participants_url("room"), data=data), 400, code, missing)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("Timeout", "4"),
        ("Timeout", "601"),
        ("Timeout", "soon"),
        ("MaxParticipants", "1"),
        ("MaxParticipants", "251"),
        ("StatusCallbackMethod", "PUT"),
        ("WaitMethod", "DELETE"),
        ("AmdStatusCallbackMethod", "x"),
        ("Muted", "maybe"),
        ("EndConferenceOnExit", "1"),
        ("CallSidToCoach", "CA123"),
        ("Byoc", "BYnope"),
    ],
)
def test_create_validation_names_the_field(client: httpx.Client, field: str, value: str) -> None:
    response = client.post(participants_url("room"), data={**PERSON, field: value})
    assert_error(response, 400, 20001, field)


def test_create_accepts_every_spec_field(client: httpx.Client, emu: Emulator) -> None:
    data: dict[str, str | list[str]] = {
        **PERSON,
        "StatusCallback": "https://example.com/s",
        "StatusCallbackMethod": "GET",
        "StatusCallbackEvent": ["initiated", "ringing", "answered", "completed"],
        "Label": "agent",
        "Timeout": "600",
        "Record": "true",
        "Muted": "true",
        "Beep": "onEnter",
        "StartConferenceOnEnter": "false",
        "EndConferenceOnExit": "true",
        "WaitUrl": "https://example.com/wait",
        "WaitMethod": "POST",
        "EarlyMedia": "false",
        "MaxParticipants": "250",
        "ConferenceRecord": "record-from-start",
        "ConferenceTrim": "trim-silence",
        "ConferenceStatusCallback": "https://example.com/c",
        "ConferenceStatusCallbackMethod": "POST",
        "ConferenceStatusCallbackEvent": ["start", "end", "join"],
        "RecordingChannels": "dual",
        "RecordingStatusCallback": "https://example.com/r",
        "RecordingStatusCallbackMethod": "GET",
        "SipAuthUsername": "u",
        "SipAuthPassword": "p",
        "Region": "ie1",
        "ConferenceRecordingStatusCallback": "https://example.com/cr",
        "ConferenceRecordingStatusCallbackMethod": "POST",
        "RecordingStatusCallbackEvent": ["in-progress", "completed"],
        "ConferenceRecordingStatusCallbackEvent": ["completed"],
        "JitterBufferSize": "small",
        "Byoc": "BY" + "b" * 32,
        "CallerId": "+15005550006",
        "CallReason": "testing",
        "RecordingTrack": "both",
        "TimeLimit": "3600",
        "MachineDetection": "Enable",
        "MachineDetectionTimeout": "30",
        "MachineDetectionSpeechThreshold": "2400",
        "MachineDetectionSpeechEndThreshold": "1200",
        "MachineDetectionSilenceTimeout": "5000",
        "AmdStatusCallback": "https://example.com/amd",
        "AmdStatusCallbackMethod": "POST",
        "Trim": "do-not-trim",
        "CallToken": "token",
        "ClientNotificationUrl": "https://example.com/n",
        "CallerDisplayName": "Agent",
    }
    response = client.post(participants_url("Full"), data=data)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["muted"] is True and body["end_conference_on_exit"] is True
    assert body["start_conference_on_enter"] is False
    assert emu.conferences()[0]["region"] == "ie1"
    form = emu.requests[-1].form
    assert form.count(("StatusCallbackEvent", "ringing")) == 1
    assert len([k for k, _ in form if k == "StatusCallbackEvent"]) == 4


def test_labels_must_be_unique_among_live_participants(client: httpx.Client, emu: Emulator) -> None:
    first = client.post(participants_url("room"), data={**PERSON, "Label": "agent"}).json()
    again = client.post(participants_url("room"), data={**PERSON, "Label": "agent"})
    assert_error(again, 400, 16025, "agent")
    assert client.delete(participant_url(first["conference_sid"], "agent")).status_code == 204
    # The conference ended with its last participant; the name starts a new one.
    reused = client.post(participants_url("room"), data={**PERSON, "Label": "agent"})
    assert reused.status_code == 201


@pytest.mark.parametrize("label", ["a/b", "CA" + "0" * 32, "x" * 129])
def test_invalid_labels(client: httpx.Client, label: str) -> None:
    response = client.post(participants_url("room"), data={**PERSON, "Label": label})
    assert_error(response, 400, 16024, "Label")


def test_fetch_update_delete_by_label_with_percent_encoding(
    client: httpx.Client, emu: Emulator
) -> None:
    sid = str(emu.create_conference("room")["sid"])
    emu.add_participant(sid, label="other")
    made = emu.add_participant(sid, label="Dr. Ünïcode & co?")
    url = participant_url(sid, "Dr. Ünïcode & co?")
    assert "%20" in url and "%3F" in url
    assert client.get(url).json()["call_sid"] == made["call_sid"]
    updated = client.post(url, data={"Muted": "true", "Hold": "true", "HoldUrl": "https://h"})
    assert updated.status_code == 200
    assert updated.json()["muted"] is True and updated.json()["hold"] is True
    deleted = client.delete(url)
    assert deleted.status_code == 204 and deleted.content == b""
    assert_error(client.get(url), 404, 20404)
    assert_error(client.get(participant_url(sid, str(made["call_sid"]))), 404, 20404)
    assert [p["status"] for p in emu.participants(sid)] == ["connected", "complete"]


def test_update_participant_validation(client: httpx.Client, emu: Emulator) -> None:
    sid = str(emu.create_conference("room")["sid"])
    target = emu.add_participant(sid, label="agent")
    emu.add_participant(sid, label="coach")
    url = participant_url(sid, "coach")
    assert_error(client.post(url, data={"Coaching": "true"}), 400, 20001, "CallSidToCoach")
    assert_error(client.post(url, data={"HoldMethod": "PUT"}), 400, 20001, "HoldMethod")
    assert_error(client.post(url, data={"Muted": "on"}), 400, 20001, "Muted")
    coaching = client.post(url, data={"Coaching": "true", "CallSidToCoach": target["call_sid"]})
    assert coaching.json()["coaching"] is True
    assert coaching.json()["call_sid_to_coach"] == target["call_sid"]
    stopped = client.post(url, data={"Coaching": "false"}).json()
    assert stopped["coaching"] is False and stopped["call_sid_to_coach"] is None
    assert_error(client.post(participant_url(sid, "nobody"), data={"Muted": "true"}), 404, 20404)


def test_end_conference_via_api(client: httpx.Client, emu: Emulator) -> None:
    sid = str(emu.create_conference("room")["sid"])
    emu.add_participant(sid, label="a")
    emu.add_participant(sid, label="b")
    url = f"{ROOT}/Conferences/{sid}.json"
    assert_error(client.post(url, data={"Status": "in-progress"}), 400, 20001, "Status")
    assert_error(client.post(url, data={"AnnounceMethod": "PUT"}), 400, 20001, "AnnounceMethod")
    announced = client.post(url, data={"AnnounceUrl": "https://a", "AnnounceMethod": "GET"})
    assert announced.status_code == 200 and announced.json()["status"] == "in-progress"
    ended = client.post(url, data={"Status": "completed"})
    assert ended.status_code == 200
    body = ended.json()
    assert body["status"] == "completed"
    assert body["reason_conference_ended"] == "conference-ended-via-api"
    assert body["call_sid_ending_conference"] is None
    assert {p["status"] for p in emu.participants(sid)} == {"complete"}
    listed = client.get(f"{ROOT}/Conferences/{sid}/Participants.json").json()
    assert listed["participants"] == []
    # Ending it again is refused, as Twilio answers 400 for a conference that is over.
    assert_error(client.post(url, data={"Status": "completed"}), 400, 20001)


def test_participants_of_unknown_conference_are_404(client: httpx.Client, emu: Emulator) -> None:
    assert_error(client.get(participants_url("CF" + "c" * 32)), 404, 20404)
    assert_error(client.get(participants_url("SomeName")), 404, 20404)


def test_percent_encoded_friendly_names_stay_one_segment(
    client: httpx.Client, emu: Emulator
) -> None:
    for name in ("a/../Calls", "x y", "50% off", "a+b"):
        response = client.post(participants_url(name), data=PERSON)
        assert response.status_code == 201, (name, response.text)
    assert sorted(str(c["friendly_name"]) for c in emu.conferences()) == sorted(
        ["a/../Calls", "x y", "50% off", "a+b"]
    )
    assert "a%2F..%2FCalls" in emu.requests[0].path


@pytest.mark.parametrize("name", ["a\nb", "line\r\nbreak", "\n", "tab\there", "nul\x00x"])
def test_friendly_names_with_control_characters_are_routed(
    client: httpx.Client, emu: Emulator, name: str
) -> None:
    created = client.post(participants_url(name), data={**PERSON, "Label": "L\nx"})
    assert created.status_code == 201, created.text
    (conference,) = emu.conferences()
    assert conference["friendly_name"] == name
    again = client.post(participants_url(name), data=PERSON)  # the same room, by name
    assert again.status_code == 201 and again.json()["conference_sid"] == conference["sid"]
    sid = str(conference["sid"])
    listed = client.get(participants_url(sid))
    assert [p["label"] for p in listed.json()["participants"]] == ["L\nx", None]
    fetched = client.get(participant_url(sid, "L\nx"))
    assert fetched.status_code == 200 and fetched.json()["label"] == "L\nx"
    assert client.delete(participant_url(sid, "L\nx")).status_code == 204


def test_other_methods_are_405_not_a_router_default(client: httpx.Client, emu: Emulator) -> None:
    made = emu.create_conference("room")
    for method in ("PUT", "PATCH"):
        assert_error(client.request(method, f"{ROOT}/Conferences/{made['sid']}.json"), 405, 20004)
    assert client.head(f"{ROOT}/Conferences.json").status_code == 200
