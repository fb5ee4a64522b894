"""Conference and participant list filters."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from driver.emulator import DEMO_ACCOUNT_SID, Emulator

ROOT = f"/2010-04-01/Accounts/{DEMO_ACCOUNT_SID}"
LIST = f"{ROOT}/Conferences.json"


def names(client: httpx.Client, params: dict[str, str]) -> list[str]:
    response = client.get(LIST, params=params)
    assert response.status_code == 200, response.text
    return [c["friendly_name"] for c in response.json()["conferences"]]


@pytest.fixture
def dated(emu: Emulator) -> Emulator:
    """Conferences created on 1, 2 and 3 March 2026, updated on the 10th for 'two'."""
    for day, name, status in (
        (1, "one", "completed"),
        (2, "two", "in-progress"),
        (3, "three", "init"),
    ):
        updated = datetime(2026, 3, 10, 8, tzinfo=UTC) if name == "two" else None
        emu.create_conference(
            name,
            status,
            date_created=datetime(2026, 3, day, 23, 59, tzinfo=UTC),
            date_updated=updated,
        )
    emu.create_conference("two", "completed", date_created=datetime(2026, 2, 1, tzinfo=UTC))
    return emu


def test_status_filter(client: httpx.Client, dated: Emulator) -> None:
    assert names(client, {"Status": "completed"}) == ["one", "two"]
    assert names(client, {"Status": "in-progress"}) == ["two"]
    assert names(client, {"Status": "init"}) == ["three"]


def test_invalid_status_is_400_naming_the_parameter(client: httpx.Client, dated: Emulator) -> None:
    response = client.get(LIST, params={"Status": "live"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 20001 and "Status" in body["message"]
    assert body["more_info"] == "https://www.twilio.com/docs/errors/20001"


def test_friendly_name_is_exact(client: httpx.Client, dated: Emulator) -> None:
    assert names(client, {"FriendlyName": "two"}) == ["two", "two"]
    assert names(client, {"FriendlyName": "tw"}) == []


def test_date_created_filters(client: httpx.Client, dated: Emulator) -> None:
    assert names(client, {"DateCreated": "2026-03-02"}) == ["two"]
    assert names(client, {"DateCreated<": "2026-03-02"}) == ["two", "one", "two"]
    assert names(client, {"DateCreated>": "2026-03-02"}) == ["three", "two"]
    both = {"DateCreated>": "2026-03-01", "DateCreated<": "2026-03-02"}
    assert names(client, both) == ["two", "one"]


def test_date_filters_are_encoded_on_the_wire(client: httpx.Client, dated: Emulator) -> None:
    response = client.get(f"{LIST}?DateCreated%3E=2026-03-03")
    assert [c["friendly_name"] for c in response.json()["conferences"]] == ["three"]
    assert "DateCreated%3E=2026-03-03" in response.json()["uri"]


def test_date_updated_filters(client: httpx.Client, dated: Emulator) -> None:
    assert names(client, {"DateUpdated": "2026-03-10"}) == ["two"]
    assert names(client, {"DateUpdated>": "2026-03-03"}) == ["three", "two"]
    assert names(client, {"DateUpdated<": "2026-03-01"}) == ["one", "two"]


@pytest.mark.parametrize("key", ["DateCreated", "DateCreated<", "DateUpdated>"])
@pytest.mark.parametrize("value", ["2026-13-01", "yesterday", "2026-3-1"])
def test_invalid_dates_are_400(client: httpx.Client, key: str, value: str) -> None:
    response = client.get(LIST, params={key: value})
    assert response.status_code == 400
    assert key in response.json()["message"]


def test_filters_combine(client: httpx.Client, dated: Emulator) -> None:
    params = {"FriendlyName": "two", "Status": "completed", "DateCreated<": "2026-02-28"}
    assert names(client, params) == ["two"]


def test_participant_filters(client: httpx.Client, emu: Emulator) -> None:
    sid = str(emu.create_conference("room")["sid"])
    emu.add_participant(sid, label="plain")
    emu.add_participant(sid, label="muted", muted=True)
    emu.add_participant(sid, label="held", hold=True)
    host = emu.add_participant(sid, label="host")
    emu.add_participant(sid, label="coach", call_sid_to_coach=str(host["call_sid"]))
    emu.add_participant(sid, label="gone", muted=True, status="complete")
    url = f"{ROOT}/Conferences/{sid}/Participants.json"

    def labels(params: dict[str, str]) -> list[str]:
        return [p["label"] for p in client.get(url, params=params).json()["participants"]]

    assert labels({}) == ["plain", "muted", "held", "host", "coach"]
    assert labels({"Muted": "true"}) == ["muted"]
    assert labels({"Muted": "false", "Hold": "false"}) == ["plain", "host", "coach"]
    assert labels({"Hold": "true"}) == ["held"]
    assert labels({"Coaching": "true"}) == ["coach"]
    assert labels({"Coaching": "True"}) == ["coach"]
    response = client.get(url, params={"Muted": "yes"})
    assert response.status_code == 400 and "Muted" in response.json()["message"]
