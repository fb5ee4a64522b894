"""Cached list renderings and the JSON encoder never change what the API says.

List pages reuse each resource's encoding until the model object reports a
change; these tests warm the caches, change things every way the API (and
the Python facade) can, and compare every list with a fresh rendering.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
from starlette.responses import JSONResponse

from driver.emulator import DEMO_ACCOUNT_SID, Emulator, encoding
from driver.emulator.resources import _format_date, rfc2822
from driver.emulator.state import LIVE_PARTICIPANT_STATUSES

ROOT = f"/2010-04-01/Accounts/{DEMO_ACCOUNT_SID}"
PERSON = {"From": "+15005550006", "To": "+14155550100"}


class StepClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 5, 4, 10, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def assert_lists_fresh(client: httpx.Client, emu: Emulator) -> None:
    """Every list page equals a fresh rendering of the model."""
    listed = client.get(f"{ROOT}/Conferences.json", params={"PageSize": "1000"}).json()
    assert listed["conferences"] == emu.conferences()
    for conference in emu.conferences():
        sid = conference["sid"]
        page = client.get(
            f"{ROOT}/Conferences/{sid}/Participants.json", params={"PageSize": "1000"}
        ).json()
        live = [p for p in emu.participants(sid) if p["status"] in LIVE_PARTICIPANT_STATUSES]
        assert page["participants"] == live
        for participant in live:
            fetched = client.get(
                f"{ROOT}/Conferences/{sid}/Participants/{participant['call_sid']}.json"
            )
            assert fetched.json() == participant


def test_lists_follow_every_kind_of_change(client: httpx.Client, emu: Emulator) -> None:
    clock = StepClock()
    emu.clock = clock
    emu.seed_demo()
    emu.seed_bulk(3, 4, "in-progress")
    assert_lists_fresh(client, emu)  # warm every cache

    standup = next(c for c in emu.conferences() if c["friendly_name"] == "Daily Standup")
    url = f"{ROOT}/Conferences/{standup['sid']}"
    members = emu.participants(standup["sid"])
    host, bob = members[0]["call_sid"], members[1]["call_sid"]

    clock.now += timedelta(seconds=7)
    updated = client.post(
        f"{url}/Participants/{host}.json",
        data={"Muted": "true", "Hold": "true", "EndConferenceOnExit": "true"},
    )
    assert updated.status_code == 200
    assert_lists_fresh(client, emu)

    clock.now += timedelta(seconds=7)
    client.post(f"{url}/Participants/{bob}.json", data={"CallSidToCoach": host})
    assert_lists_fresh(client, emu)
    clock.now += timedelta(seconds=7)
    client.post(f"{url}/Participants/{bob}.json", data={"Coaching": "false"})
    assert_lists_fresh(client, emu)

    # A new participant starts a new (init) conference, then progresses.
    clock.now += timedelta(seconds=7)
    created = client.post(f"{ROOT}/Conferences/Fresh/Participants.json", data=PERSON).json()
    assert_lists_fresh(client, emu)
    for _ in range(2):
        clock.now += timedelta(seconds=7)
        emu.advance()
        assert_lists_fresh(client, emu)
    assert emu.conference(created["conference_sid"])["status"] == "in-progress"

    # Kicking the end-conference-on-exit host ends the conference for everyone.
    clock.now += timedelta(seconds=7)
    assert client.delete(f"{url}/Participants/{host}.json").status_code == 204
    assert emu.conference(standup["sid"])["status"] == "completed"
    assert_lists_fresh(client, emu)

    # Ending via the API, and kicking the last participant.
    bulk = next(c for c in emu.conferences() if c["friendly_name"] == "bulk-00000")
    clock.now += timedelta(seconds=7)
    ended = client.post(f"{ROOT}/Conferences/{bulk['sid']}.json", data={"Status": "completed"})
    assert ended.json()["reason_conference_ended"] == "conference-ended-via-api"
    assert_lists_fresh(client, emu)
    clock.now += timedelta(seconds=7)
    fresh = f"{ROOT}/Conferences/{created['conference_sid']}"
    client.delete(f"{fresh}/Participants/{created['call_sid']}.json")
    assert emu.conference(created["conference_sid"])["status"] == "completed"
    assert_lists_fresh(client, emu)

    # The Python facade: a completed conference gets its reason.
    emu.create_conference(
        "Archived", "completed", reason_conference_ended="last-participant-kicked"
    )
    assert_lists_fresh(client, emu)


def test_filtered_and_unfiltered_pages_share_cached_items(
    client: httpx.Client, emu: Emulator
) -> None:
    [sid] = emu.seed_bulk(1, 30, "in-progress")
    url = f"{ROOT}/Conferences/{sid}/Participants.json"
    everyone = client.get(url, params={"PageSize": "1000"}).json()["participants"]
    muted = client.get(url, params={"PageSize": "1000", "Muted": "true"}).json()["participants"]
    assert muted == [p for p in everyone if p["muted"]]
    target = everyone[0]["call_sid"]
    client.post(f"{ROOT}/Conferences/{sid}/Participants/{target}.json", data={"Muted": "true"})
    muted = client.get(url, params={"PageSize": "1000", "Muted": "true"}).json()["participants"]
    assert muted[0]["call_sid"] == target and muted[0]["muted"] is True
    assert_lists_fresh(client, emu)


CONTENT = [
    {"a": None, "b": True, "c": False, "d": 0, "e": -12, "f": 1.5, "g": []},
    {"naïve ☃": '🚀 "q" \\ / \u0001 \u001f \u007f \u2028 é', "nested": {"x": [1, {"y": "z"}]}},
    [],
    "plain",
]


@pytest.mark.parametrize("content", CONTENT)
def test_body_bytes_match_starlette_json(content: object) -> None:
    expected = JSONResponse(content).body
    assert encoding.JSONBody(content).body == expected
    assert json.loads(encoding.dumps(content)) == content


@pytest.mark.parametrize("use_orjson", [True, False])
def test_embedded_items_encode_like_the_dicts(
    monkeypatch: pytest.MonkeyPatch, use_orjson: bool
) -> None:
    if not use_orjson:
        monkeypatch.setattr(encoding, "_orjson", None)
    elif encoding._orjson is None:
        pytest.skip("orjson is not installed")
    items = [dict(entry) for entry in CONTENT if isinstance(entry, dict)]
    envelope = {"page": 0, "items": [encoding.embed(item) for item in items]}
    assert encoding.dumps(envelope) == JSONResponse({"page": 0, "items": items}).body


def test_cached_dates_match_formatting() -> None:
    start = datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC)
    for step in range(0, 400 * 86400, 3607):
        value = start + timedelta(seconds=step)
        expected = value.strftime("%a, %d %b %Y %H:%M:%S +0000")
        assert rfc2822(value) == expected
        assert rfc2822(value) == expected  # cached
    # Another zone's equal instant is formatted from its own fields, as before.
    other = start.astimezone(timezone(timedelta(hours=1)))
    assert other == start
    assert rfc2822(other) == _format_date(other) == "Sat, 01 Jan 2000 00:59:59 +0000"
