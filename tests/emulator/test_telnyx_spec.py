"""Telnyx Call Control against its spec slice (skipped when ../shared/specs is absent).

Both directions: every answer of the Telnyx emulator matches the response
schema the spec documents for that operation and status (only the spec's
property names, their JSON types, enums and formats, required ones present),
and every request the driver sends is an operation of the spec, with only
declared query keys (deep-object ``filter[…]``/``page[…]`` within their
objects), path ids in the declared format and a body that fits the request
schema.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

import driver
from driver.emulator import EmulatorServer, RequestRecord
from driver.emulator.wires.telnyx import DEMO_API_KEY, DEMO_CONNECTION_ID
from tests.conftest import SHARED, wire_server

yaml = pytest.importorskip("yaml")

SPEC = SHARED / "specs" / "telnyx" / "conferences.openapi.yml"
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
    "object": (dict,),
    "array": (list,),
}
FROM, TO = "+15550100", "+15550199"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    if not SPEC.exists():
        pytest.skip("../shared/specs is not present")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loaded: dict[str, Any] = yaml.load(SPEC.read_text(), Loader=loader)
    return loaded


@pytest.fixture
def telnyx(wire_servers: dict[str, EmulatorServer]) -> Iterator[EmulatorServer]:
    running = wire_server(wire_servers, "telnyx")
    running.emulator.reset()
    yield running
    running.emulator.reset()


@pytest.fixture
def http(telnyx: EmulatorServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {DEMO_API_KEY}"}
    with httpx.Client(base_url=telnyx.base_url + "/v2", headers=headers, timeout=5) as client:
        yield client


# --- reading the spec ----------------------------------------------------------------------


def resolve(spec: dict[str, Any], node: Any) -> Any:
    """Follow ``$ref`` (``#/components/…``) until a plain node."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def operation(
    spec: dict[str, Any], method: str, path: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """The spec operation for ``method path`` (path after /v2, decoded segments) and its
    path parameters; templates with fewer placeholders win (``/conferences`` over ``{id}``)."""
    segments = path.strip("/").split("/")
    candidates = []
    for template, item in spec["paths"].items():
        parts = template.strip("/").split("/")
        if len(parts) != len(segments) or method.lower() not in item:
            continue
        values: dict[str, str] = {}
        for part, segment in zip(parts, segments, strict=True):
            if part.startswith("{"):
                values[part.strip("{}")] = unquote(segment)
            elif part != segment:
                break
        else:
            candidates.append((len(values), item[method.lower()], values))
    assert candidates, f"{method} {path} is not an operation of the spec"
    _, op, values = min(candidates, key=lambda c: c[0])
    return op, values


def check(spec: dict[str, Any], schema: Any, value: Any, where: str = "$") -> None:
    """``value`` fits ``schema``: types, enums, formats, bounds, required and known properties."""
    schema = resolve(spec, schema)
    if "oneOf" in schema:
        failures = []
        for choice in schema["oneOf"]:
            try:
                check(spec, choice, value, where)
                return
            except AssertionError as exc:
                failures.append(str(exc))
        raise AssertionError(f"{where}: fits no oneOf choice: {failures}")
    for part in schema.get("allOf", ()):
        check(spec, part, value, where)
    kind = schema.get("type")
    if kind is not None:
        assert isinstance(value, JSON_TYPES[kind]), f"{where}: {value!r} is not {kind}"
        if kind in ("integer", "number"):
            assert not isinstance(value, bool), f"{where}: {value!r} is a boolean"
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
    if "minimum" in schema:
        assert value >= schema["minimum"], f"{where}: {value} < {schema['minimum']}"
    if "maximum" in schema:
        assert value <= schema["maximum"], f"{where}: {value} > {schema['maximum']}"
    fmt = schema.get("format")
    if fmt == "uuid":
        assert UUID.fullmatch(value), f"{where}: {value!r} is not a uuid"
    if fmt == "date-time":
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, dict) and "properties" in schema:
        properties = schema["properties"]
        extra = set(value) - set(properties)
        assert not extra, f"{where}: properties the spec does not have: {sorted(extra)}"
        missing = set(schema.get("required", ())) - set(value)
        assert not missing, f"{where}: required properties missing: {sorted(missing)}"
        for name, item in value.items():
            check(spec, properties[name], item, f"{where}.{name}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            check(spec, schema["items"], item, f"{where}[{index}]")


def check_answer(spec: dict[str, Any], method: str, response: httpx.Response) -> None:
    """A documented status, with a body that fits the schema documented for it."""
    path = response.request.url.path.removeprefix("/v2")
    op, _ = operation(spec, method, path)
    responses = op["responses"]
    documented = resolve(spec, responses.get(str(response.status_code)))
    assert documented is not None, f"{method} {path}: {response.status_code} is not documented"
    schema = documented["content"]["application/json"]["schema"]
    check(spec, schema, response.json(), f"{method} {path} {response.status_code}")


def check_request(spec: dict[str, Any], record: RequestRecord) -> None:
    """A request of the spec: path ids, deep-object query keys and the JSON body."""
    path = record.path.removeprefix("/v2")
    op, path_values = operation(spec, record.method, path)
    parameters = [resolve(spec, p) for p in op.get("parameters", ())]
    by_name = {(p["in"], p["name"]): p for p in parameters}
    for name, value in path_values.items():
        declared = by_name[("path", name)]
        check(spec, declared["schema"], value, f"{record.method} {path} {{{name}}}")
    for key, raw in record.query:
        base, _, rest = key.partition("[")
        declared = by_name.get(("query", base))
        assert declared is not None, f"{record.method} {path}: query key {key!r} is not declared"
        schema = resolve(spec, declared["schema"])
        if rest:
            assert declared.get("style") == "deepObject", key
            schema = resolve(spec, schema["properties"][rest.rstrip("]")])
        value: Any = raw
        if schema.get("type") == "integer":
            value = int(raw)
        elif schema.get("type") == "boolean":
            assert raw in ("true", "false"), f"{key}={raw!r}"
            value = raw == "true"
        check(spec, schema, value, f"{record.method} {path} ?{key}")
    body = op.get("requestBody")
    if record.json is not None or (body and body.get("required")):
        assert body is not None, f"{record.method} {path} takes no body"
        schema = resolve(spec, body)["content"]["application/json"]["schema"]
        check(spec, schema, record.json, f"{record.method} {path} body")
    if record.status is not None:
        assert str(record.status) in op["responses"], f"{record.method} {path}: {record.status}"


# --- the emulator's answers -------------------------------------------------------------------


def test_every_answer_fits_the_spec(
    spec: dict[str, Any], http: httpx.Client, telnyx: EmulatorServer
) -> None:
    emu = telnyx.emulator
    emu.seed_demo()
    host = emu.add_participant(
        str(emu.create_conference("Ended")["sid"]), end_conference_on_exit=True
    )
    emu.hang_up(str(host["call_sid"]))
    ended = next(c for c in emu.conferences() if c.get("ended_by"))
    live = next(c for c in emu.conferences() if c["name"] == "Daily Standup")
    sid = live["id"]
    answers = [
        ("GET", http.get("/conferences")),
        (
            "GET",
            http.get(
                "/conferences",
                params={"filter[status]": "completed", "page[size]": "2", "page[number]": "2"},
            ),
        ),
        ("GET", http.get("/conferences", params={"filter[name]": "Daily Standup"})),
        ("GET", http.get(f"/conferences/{sid}")),
        ("GET", http.get(f"/conferences/{ended['id']}")),
        ("GET", http.get(f"/conferences/{sid}/participants")),
        (
            "GET",
            http.get(
                f"/conferences/{sid}/participants",
                params={
                    "filter[muted]": "true",
                    "filter[on_hold]": "false",
                    "filter[whispering]": "false",
                },
            ),
        ),
    ]
    participants = http.get(f"/conferences/{sid}/participants").json()["data"]
    first, second = participants[0], participants[1]
    one = f"/conferences/{sid}/participants/{first['id']}"
    calls = [p["call_control_id"] for p in participants]
    parked = emu.create_call(FROM, TO)
    answers += [
        ("GET", http.get(one)),
        ("GET", http.get(f"/conferences/{sid}/participants/host")),  # by label
        (
            "PATCH",
            http.patch(
                one,
                json={
                    "beep_enabled": "on_exit",
                    "end_conference_on_exit": False,
                    "soft_end_conference_on_exit": True,
                },
            ),
        ),
        (
            "POST",
            http.post(f"/conferences/{sid}/actions/mute", json={"call_control_ids": [calls[0]]}),
        ),
        (
            "POST",
            http.post(f"/conferences/{sid}/actions/unmute", json={"call_control_ids": [calls[0]]}),
        ),
        (
            "POST",
            http.post(
                f"/conferences/{sid}/actions/hold",
                json={"call_control_ids": [calls[1]], "audio_url": "https://a.example/h.wav"},
            ),
        ),
        (
            "POST",
            http.post(f"/conferences/{sid}/actions/unhold", json={"call_control_ids": [calls[1]]}),
        ),
        (
            "POST",
            http.post(
                f"/conferences/{sid}/actions/update",
                json={
                    "call_control_id": calls[0],
                    "supervisor_role": "whisper",
                    "whisper_call_control_ids": [second["call_control_id"]],
                    "command_id": "u1",
                },
            ),
        ),
        (
            "POST",
            http.post(
                f"/conferences/{sid}/actions/play", json={"audio_url": "https://a.example/p.wav"}
            ),
        ),
        (
            "POST",
            http.post(
                "/conferences/Daily Standup/actions/join",
                json={
                    "call_control_id": parked,
                    "mute": True,
                    "beep_enabled": "never",
                    "command_id": "j1",
                },
            ),
        ),
        ("POST", http.post(f"/conferences/{sid}/actions/leave", json={"call_control_id": parked})),
        (
            "POST",
            http.post(
                "/calls",
                json={
                    "connection_id": DEMO_CONNECTION_ID,
                    "from": FROM,
                    "to": TO,
                    "command_id": "d1",
                    "record": "record-from-answer",
                    "client_state": "aGk=",
                    "conference_config": {
                        "conference_name": "Daily Standup",
                        "mute": True,
                        "early_media": False,
                    },
                },
            ),
        ),
        ("POST", http.post(f"/calls/{calls[2]}/actions/hangup", json={"command_id": "h1"})),
        ("POST", http.post(f"/conferences/{sid}/actions/end", json={"command_id": "e1"})),
        # errors
        (
            "GET",
            httpx.get(http.base_url.join("conferences"), headers={"Authorization": "Bearer nope"}),
        ),
        ("GET", http.get("/conferences/00000000-0000-4000-8000-000000000000")),
        ("GET", http.get("/conferences", params={"page[size]": "251"})),
        ("POST", http.post(f"/conferences/{sid}/actions/end", json={})),
        (
            "POST",
            http.post(f"/conferences/{sid}/actions/mute", json={"call_control_ids": [calls[0]]}),
        ),
        (
            "POST",
            http.post(
                "/calls", json={"connection_id": DEMO_CONNECTION_ID, "from": FROM, "to": "bob"}
            ),
        ),
        ("POST", http.post(f"/calls/{calls[2]}/actions/hangup", json={})),
        (
            "POST",
            http.post(f"/conferences/{ended['id']}/actions/join", json={"call_control_id": parked}),
        ),
    ]
    statuses = [response.status_code for _, response in answers]
    assert statuses.count(200) == 21 and 401 in statuses and 404 in statuses and 422 in statuses
    for method, response in answers:
        check_answer(spec, method, response)


def test_enums_and_paging_bounds_match_the_spec(spec: dict[str, Any]) -> None:
    from driver.emulator.wires import telnyx as wire

    schemas = spec["components"]["schemas"]
    conference = schemas["Conference"]["properties"]
    assert sorted(wire.CONFERENCE_STATUS.values()) == sorted(conference["status"]["enum"])
    assert set(wire.END_REASON.values()) < set(conference["end_reason"]["enum"])
    participant = schemas["Participant"]["properties"]["status"]["enum"]
    assert set(wire.PARTICIPANT_STATUS.values()) == set(participant)
    assert (
        list(wire.BEEPS) == schemas["JoinConferenceRequest"]["properties"]["beep_enabled"]["enum"]
    )
    assert (
        list(wire.ROLES)
        == schemas["JoinConferenceRequest"]["properties"]["supervisor_role"]["enum"]
    )
    page = spec["components"]["parameters"]["call-control_PageConsolidated"]["schema"]["properties"]
    assert (page["size"]["maximum"], page["size"]["default"]) == (
        wire.MAX_PAGE_SIZE,
        wire.DEFAULT_PAGE_SIZE,
    )
    assert spec["servers"][0]["url"] == "https://api.telnyx.com/v2"


# --- the driver's requests ------------------------------------------------------------------


def test_every_request_of_the_driver_is_in_the_spec(
    spec: dict[str, Any], telnyx: EmulatorServer
) -> None:
    emu = telnyx.emulator
    emu.seed_demo()
    parked = emu.create_call(FROM, TO)
    conn = driver.connect(
        Provider="Telnyx",
        BaseUrl=telnyx.base_url + "/v2",
        ApiKey=DEMO_API_KEY,
        ConnectionId=DEMO_CONNECTION_ID,
        Timeout=5,
        WebhookUrl="http://127.0.0.1:9",  # the dial's webhook_url (nothing listens there)
    )
    cur = conn.cursor()
    statements: list[tuple[str, tuple[Any, ...]]] = [
        ("SELECT * FROM Conferences", ()),
        ("SELECT * FROM Conferences LIMIT 3", ()),
        (
            "SELECT * FROM Conferences WHERE Status = 'in-progress' AND FriendlyName = 'Daily Standup'",
            (),
        ),
        (
            "SELECT * FROM Conferences WHERE Sid IN (SELECT Sid FROM Conferences WHERE Status = 'completed')",
            (),
        ),
        ("SELECT * FROM Participants", ()),
        ("SELECT * FROM Participants WHERE Muted = 1 AND Hold = 0", ()),
        (
            "SELECT c.FriendlyName, p.CallSid FROM Conferences c JOIN Participants p ON p.ConferenceSid = c.Sid",
            (),
        ),
        (
            "EXEC AddParticipants ConferenceSid = 'Daily Standup', From = ?, To = ?, WaitTime = 30, Muted = 1, Beep = 'onEnter', StartConferenceOnEnter = 1, EndConferenceOnExit = 0, EarlyMedia = 1, Record = 1, RecordingChannels = 'dual', RecordingTrack = 'both', Trim = 'trim-silence', TimeLimit = 600, CallerDisplayName = 'Ops'",
            (FROM, TO),
        ),
        (
            "EXEC JoinConference ConferenceSid = 'Daily Standup', CallSid = ?, Muted = 1, Hold = 1, HoldMediaName = 'music', StartConferenceOnEnter = 1, EndConferenceOnExit = 0, SoftEndConferenceOnExit = 1, Beep = 'onExit', SupervisorRole = 'monitor', ClientState = 'aGk=', CommandId = 'c1'",
            (parked,),
        ),
        (
            "EXEC ModifyParticipants ConferenceSid = 'Daily Standup', CallSid = ?, Muted = 0, Hold = 1, HoldUrl = 'https://a.example/h.wav', EndConferenceOnExit = 1, BeepOnExit = 1, AnnounceUrl = 'https://a.example/a.wav'",
            (parked,),
        ),
        ("UPDATE Participants SET Hold = 0, Muted = 1 WHERE CallSid = ?", (parked,)),
        ("DELETE FROM Participants WHERE CallSid = ?", (parked,)),
        (
            "EXEC ModifyConference Sid = 'Customer Escalation', AnnounceUrl = 'https://a.example/bye.wav', Status = 'completed'",
            (),
        ),
        ("UPDATE Conferences SET Status = 'completed' WHERE FriendlyName = 'Lobby'", ()),
    ]
    try:
        for sql, params in statements:
            cur.execute(sql, params)
    finally:
        conn.close()
    methods = {(r.method, r.path.rsplit("/", 1)[-1]) for r in emu.requests}
    for expected in (
        ("POST", "calls"),
        ("POST", "join"),
        ("PATCH", None),
        ("POST", "hold"),
        ("POST", "play"),
        ("POST", "hangup"),
        ("POST", "end"),
        ("POST", "mute"),
    ):
        assert any(
            m == expected[0] and (expected[1] is None or p == expected[1]) for m, p in methods
        ), expected
    (dial,) = [r for r in emu.requests if r.path.endswith("/calls")]
    assert dial.json["webhook_url"] == "http://127.0.0.1:9/telnyx"
    for record in emu.requests:
        check_request(spec, record)
