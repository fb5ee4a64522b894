"""Conformance with the sliced Twilio OpenAPI spec (skipped when it is absent).

Checks that resources and list envelopes carry exactly the spec's property
names and JSON types, that enums stay within the spec's, and that every
documented list filter and request-body field is accepted.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from driver.emulator import DEMO_ACCOUNT_SID, Emulator

SPEC_PATH = (
    Path(__file__).resolve().parents[2]
    / ".."
    / "shared"
    / "specs"
    / "twilio"
    / "conferences-participants.openapi.json"
)
ROOT = f"/2010-04-01/Accounts/{DEMO_ACCOUNT_SID}"
CONFERENCES = "/2010-04-01/Accounts/{AccountSid}/Conferences.json"
CONFERENCE = "/2010-04-01/Accounts/{AccountSid}/Conferences/{Sid}.json"
PARTICIPANTS = "/2010-04-01/Accounts/{AccountSid}/Conferences/{ConferenceSid}/Participants.json"
PARTICIPANT = (
    "/2010-04-01/Accounts/{AccountSid}/Conferences/{ConferenceSid}/Participants/{CallSid}.json"
)
JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "boolean": bool,
    "integer": int,
    "object": dict,
    "array": list,
}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    if not SPEC_PATH.exists():
        pytest.skip(f"spec not found at {SPEC_PATH}")
    loaded: dict[str, Any] = json.loads(SPEC_PATH.read_text())
    return loaded


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def check_object(spec: dict[str, Any], schema: dict[str, Any], value: dict[str, Any]) -> None:
    """Exactly the schema's properties, each of the declared JSON type and enum."""
    schema = resolve(spec, schema)
    assert set(value) == set(schema["properties"]), set(value) ^ set(schema["properties"])
    for name, raw in schema["properties"].items():
        prop = resolve(spec, raw)
        item = value[name]
        if item is None:
            assert prop.get("nullable") or "$ref" in raw, f"{name} may not be null"
            continue
        expected = JSON_TYPES[prop["type"]]
        assert isinstance(item, expected), f"{name}: {item!r} is not {prop['type']}"
        if prop["type"] == "integer":
            assert not isinstance(item, bool)
        if "enum" in prop:
            assert item in prop["enum"], f"{name}: {item!r} not in {prop['enum']}"
        if "pattern" in prop:
            assert re.match(prop["pattern"], str(item)), f"{name}: {item!r} !~ {prop['pattern']}"
        if isinstance(item, list) and "items" in prop:
            for element in item:
                check_object(spec, prop["items"], element)


def response_schema(spec: dict[str, Any], path: str, method: str, status: str) -> dict[str, Any]:
    content = spec["paths"][path][method]["responses"][status]["content"]
    schema: dict[str, Any] = content["application/json"]["schema"]
    return schema


@pytest.fixture
def populated(emu: Emulator) -> tuple[str, str]:
    """A demo data set; returns a live conference SID and one of its call SIDs."""
    emu.seed_demo()
    live = next(c for c in emu.conferences() if c["friendly_name"] == "Daily Standup")
    host = emu.participants(str(live["sid"]))[0]
    return str(live["sid"]), str(host["call_sid"])


def test_conference_resources_and_envelope(
    spec: dict[str, Any], client: httpx.Client, populated: tuple[str, str]
) -> None:
    listed = client.get(f"{ROOT}/Conferences.json", params={"PageSize": "2"}).json()
    check_object(spec, response_schema(spec, CONFERENCES, "get", "200"), listed)
    second = client.get(listed["next_page_uri"]).json()
    check_object(spec, response_schema(spec, CONFERENCES, "get", "200"), second)
    for conference in listed["conferences"] + second["conferences"]:
        fetched = client.get(f"{ROOT}/Conferences/{conference['sid']}.json").json()
        check_object(spec, response_schema(spec, CONFERENCE, "get", "200"), fetched)
    ended = client.post(f"{ROOT}/Conferences/{populated[0]}.json", data={"Status": "completed"})
    check_object(spec, response_schema(spec, CONFERENCE, "post", "200"), ended.json())


def test_participant_resources_and_envelope(
    spec: dict[str, Any], client: httpx.Client, populated: tuple[str, str]
) -> None:
    conference_sid, call_sid = populated
    base = f"{ROOT}/Conferences/{conference_sid}/Participants"
    listed = client.get(f"{base}.json").json()
    check_object(spec, response_schema(spec, PARTICIPANTS, "get", "200"), listed)
    fetched = client.get(f"{base}/{call_sid}.json").json()
    check_object(spec, response_schema(spec, PARTICIPANT, "get", "200"), fetched)
    updated = client.post(f"{base}/{call_sid}.json", data={"Muted": "true"}).json()
    check_object(spec, response_schema(spec, PARTICIPANT, "post", "200"), updated)
    created = client.post(f"{base}.json", data={"From": "+1", "To": "+2"})
    assert created.status_code == 201
    check_object(spec, response_schema(spec, PARTICIPANTS, "post", "201"), created.json())
    assert "204" in spec["paths"][PARTICIPANT]["delete"]["responses"]
    assert client.delete(f"{base}/{call_sid}.json").status_code == 204


def sample(spec: dict[str, Any], name: str, schema: dict[str, Any], call_sid: str) -> Any:
    """A valid value for a parameter of this schema."""
    schema = resolve(spec, schema)
    if "enum" in schema:
        return schema["enum"][-1]
    kind, fmt = schema.get("type"), schema.get("format")
    if fmt == "date":
        return "2026-01-01"
    if kind == "boolean":
        return "false"
    if kind == "integer":
        return str(
            max(schema.get("minimum", 1), {"Timeout": 60, "MaxParticipants": 10}.get(name, 1))
        )
    if kind == "array":
        return ["completed"]
    pattern = schema.get("pattern", "")
    if pattern.startswith("^CA"):
        return call_sid
    if pattern.startswith("^BY"):
        return "BY" + "b" * 32
    if fmt == "uri":
        return "https://example.com/hook"
    return "value"


def test_every_list_filter_is_accepted(
    spec: dict[str, Any], client: httpx.Client, populated: tuple[str, str]
) -> None:
    conference_sid, call_sid = populated
    urls = {
        CONFERENCES: f"{ROOT}/Conferences.json",
        PARTICIPANTS: f"{ROOT}/Conferences/{conference_sid}/Participants.json",
    }
    for path, url in urls.items():
        params = [p for p in spec["paths"][path]["get"]["parameters"] if p["in"] == "query"]
        assert params
        for param in params:
            if param["name"] == "PageToken":
                first = client.get(url, params={"PageSize": "1"}).json()
                response = client.get(first["next_page_uri"])
            else:
                value = sample(spec, param["name"], param["schema"], call_sid)
                response = client.get(url, params={param["name"]: value})
            assert response.status_code == 200, (param["name"], response.text)
            assert param["name"] in str(response.request.url).replace("%3C", "<").replace(
                "%3E", ">"
            )


def test_every_body_field_is_accepted(
    spec: dict[str, Any], client: httpx.Client, populated: tuple[str, str]
) -> None:
    conference_sid, call_sid = populated
    other = client.post(
        f"{ROOT}/Conferences/{conference_sid}/Participants.json", data={"From": "+1", "To": "+2"}
    ).json()["call_sid"]
    targets = {
        (PARTICIPANTS, "post"): f"{ROOT}/Conferences/{conference_sid}/Participants.json",
        (PARTICIPANT, "post"): f"{ROOT}/Conferences/{conference_sid}/Participants/{other}.json",
        (CONFERENCE, "post"): f"{ROOT}/Conferences/{conference_sid}.json",
    }
    for (path, method), url in targets.items():
        body = spec["paths"][path][method]["requestBody"]["content"]
        properties = body["application/x-www-form-urlencoded"]["schema"]["properties"]
        data = {name: sample(spec, name, schema, call_sid) for name, schema in properties.items()}
        data.pop("Label", None)  # labels must be unique; covered elsewhere
        response = client.post(url, data=data)
        assert response.status_code in (200, 201), (path, response.text)


def test_enums_match_the_spec(spec: dict[str, Any]) -> None:
    from driver.emulator.state import (
        CONFERENCE_STATUSES,
        PARTICIPANT_STATUSES,
        REASONS_ENDED,
    )

    schemas = spec["components"]["schemas"]
    assert list(CONFERENCE_STATUSES) == schemas["conference_enum_status"]["enum"]
    assert list(PARTICIPANT_STATUSES) == schemas["participant_enum_status"]["enum"]
    assert list(REASONS_ENDED) == schemas["conference_enum_reason_conference_ended"]["enum"]
