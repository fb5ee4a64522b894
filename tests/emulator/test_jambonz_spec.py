"""The jambonz emulator and the driver's jambonz requests against jambonz's spec slice.

Skipped when ``../shared/specs/jambonz/calls-conferences.openapi.yml`` is absent.
Structural checks, no JSON Schema library: every answer has a documented status and, where
one is documented, fits its schema (declared properties, JSON types, enums, required keys);
every documented request field is accepted; every request the driver sends is a spec
operation whose body uses only declared fields, with the declared types and enums.  The one
exception is named: without an application, the driver also sends the speech settings that
jambonz's API server requires (not in the slice).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import apsw
import httpx
import pytest

import driver
from driver.emulator import Emulator, EmulatorServer
from driver.emulator.faults import RequestRecord
from driver.emulator.wires import jambonz as wire
from driver.events import ReceiverConfig, Secrets
from driver.events.server import ReceiverServer
from driver.providers.jambonz import SPEECH_DEFAULTS
from tests.conftest import SHARED, wire_server

yaml = pytest.importorskip("yaml")

SPEC = SHARED / "specs" / "jambonz" / "calls-conferences.openapi.yml"
ROOT = f"/v1/Accounts/{wire.DEMO_ACCOUNT}"
JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "boolean": bool,
    "integer": int,
    "object": dict,
    "array": list,
}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# Sent by the driver beyond the slice: jambonz's API server asks for them when a call names
# no application (api-server lib/routes/api/accounts.js, validateCreateCall).
UNDECLARED_BUT_REQUIRED = frozenset(name for name, _ in SPEECH_DEFAULTS)


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    if not SPEC.exists():
        pytest.skip(f"spec not found at {SPEC}")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with SPEC.open() as fh:
        loaded: dict[str, Any] = yaml.load(fh, Loader=loader)  # a safe loader (C if available)
    return loaded


@pytest.fixture
def jambonz_server(wire_servers: dict[str, EmulatorServer]) -> EmulatorServer:
    running = wire_server(wire_servers, "jambonz")
    return running


@pytest.fixture
def emu(jambonz_server: EmulatorServer) -> Iterator[Emulator]:
    jambonz_server.emulator.reset()
    yield jambonz_server.emulator
    jambonz_server.emulator.reset()


@pytest.fixture
def http(jambonz_server: EmulatorServer, emu: Emulator) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {wire.DEMO_API_KEY}"}
    with httpx.Client(base_url=jambonz_server.base_url, headers=headers, timeout=5) as client:
        yield client


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReceiverServer]:
    path = tmp_path_factory.mktemp("jambonz-spec") / "events.db"
    config = ReceiverConfig("", str(path), Secrets(jambonz=(wire.DEMO_WEBHOOK_SECRET,)))
    with ReceiverServer(config) as running:
        yield running


def resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        _, section, name = node["$ref"].rsplit("/", 2)
        node = spec["components"][section][name]
    return node


def check(spec: dict[str, Any], schema: dict[str, Any], value: Any, where: str = "") -> None:
    """``value`` has the schema's required keys, only declared ones, declared types and enums."""
    schema = resolve(spec, schema)
    kind = schema.get("type", "object" if "properties" in schema else None)
    if kind == "object" and "properties" in schema:
        assert isinstance(value, dict), f"{where}: {value!r} is not an object"
        missing = set(schema.get("required", ())) - set(value)
        assert not missing, f"{where}: missing {sorted(missing)}"
        extra = set(value) - set(schema["properties"])
        assert not extra, f"{where}: undeclared {sorted(extra)}"
        for name, item in value.items():
            check(spec, schema["properties"][name], item, f"{where}.{name}")
        return
    if kind is None:
        return
    assert isinstance(value, JSON_TYPES[kind]), f"{where}: {value!r} is not {kind}"
    if kind == "integer":
        assert not isinstance(value, bool)
    if schema.get("format") == "uuid":
        assert UUID.match(value), f"{where}: {value!r} is not a uuid"
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
    if kind == "array" and "items" in schema:
        for i, element in enumerate(value):
            check(spec, schema["items"], element, f"{where}[{i}]")


def operation(spec: dict[str, Any], template: str, method: str) -> dict[str, Any]:
    op: dict[str, Any] = spec["paths"][template][method.lower()]
    return op


def responses(op: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {int(code): answer for code, answer in op["responses"].items()}


def check_answer(
    spec: dict[str, Any], template: str, method: str, response: httpx.Response
) -> None:
    """A documented status; a body fitting its schema, or none when none is documented."""
    documented = responses(operation(spec, template, method))
    assert response.status_code in documented, (
        f"{method} {template}: {response.status_code} is not documented ({sorted(documented)})"
    )
    content = documented[response.status_code].get("content")
    if content is None:
        if response.status_code in (204, 404) or 200 <= response.status_code < 300:
            assert response.content == b"", f"{method} {template}: an undocumented body"
        return
    check(spec, content["application/json"]["schema"], response.json(), f"{method} {template}")


def create_body(**extra: Any) -> dict[str, Any]:
    return {
        "from": "16172375089",
        "to": {"type": "phone", "number": "+16172375080"},
        "call_hook": {"url": "http://127.0.0.1:9/hook", "method": "post"},
        **extra,
    }


# -- the emulator's answers ---------------------------------------------------------------


def test_conference_list(spec: dict[str, Any], http: httpx.Client, emu: Emulator) -> None:
    emu.create_conference("Daily Standup")
    emu.create_conference("done", "completed")
    response = http.get(f"{ROOT}/Conferences")
    check_answer(spec, "/Accounts/{AccountSid}/Conferences", "GET", response)
    assert response.json() == ["Daily Standup"]


def test_create_call(spec: dict[str, Any], http: httpx.Client, emu: Emulator) -> None:
    response = http.post(f"{ROOT}/Calls", json=create_body())
    check_answer(spec, "/Accounts/{AccountSid}/Calls", "POST", response)
    assert response.status_code == 201


def test_create_call_takes_every_documented_field(
    spec: dict[str, Any], http: httpx.Client, emu: Emulator
) -> None:
    schema = operation(spec, "/Accounts/{AccountSid}/Calls", "POST")["requestBody"]["content"]
    properties = schema["application/json"]["schema"]["properties"]
    application = emu.wire.add_application("http://127.0.0.1:9/app")
    body = create_body(
        application_sid=application,
        answerOnBridge=False,
        call_status_hook={"url": "http://127.0.0.1:9/status", "method": "get"},
        fromHost="blf.finotel.com",
        timeout=30,
        timeLimit=60,
        tag={"callCount": 10},
        headers={"X-Custom-Header": "Hello"},
        sipRequestWithinDialogHook="/customHook",
    )
    assert set(body) == set(properties)
    check(spec, schema["application/json"]["schema"], body, "request")
    response = http.post(f"{ROOT}/Calls", json=body)
    check_answer(spec, "/Accounts/{AccountSid}/Calls", "POST", response)
    assert response.status_code == 201
    for to in (
        {"type": "sip", "sipUri": "sip:alice@example.com"},
        {"type": "user", "name": "bob@example.com"},
        {"type": "teams", "number": "+15550100", "tenant": "t.onmicrosoft.com"},
    ):
        answer = http.post(f"{ROOT}/Calls", json=create_body(to=to))
        assert answer.status_code == 201, to


def test_calls_render_the_call_schema(
    spec: dict[str, Any], http: httpx.Client, emu: Emulator
) -> None:
    sid = http.post(f"{ROOT}/Calls", json=create_body()).json()["sid"]
    emu.wire.drain()  # the hook fails (nothing listens): the call ends
    live = http.post(f"{ROOT}/Calls", json=create_body(call_hook="http://127.0.0.1:9/x"))
    listed = http.get(f"{ROOT}/Calls")
    check_answer(spec, "/Accounts/{AccountSid}/Calls", "GET", listed)
    one = http.get(f"{ROOT}/Calls/{live.json()['sid']}")
    check_answer(spec, "/Accounts/{AccountSid}/Calls/{CallSid}", "GET", one)
    gone = http.get(f"{ROOT}/Calls/{sid}")
    assert gone.status_code == 404
    check_answer(spec, "/Accounts/{AccountSid}/Calls/{CallSid}", "GET", gone)
    filtered = http.get(f"{ROOT}/Calls", params={"direction": "inbound"})
    assert filtered.json() == []


@pytest.mark.parametrize(
    "change",
    [
        {"call_hook": {"url": "http://127.0.0.1:9/next", "method": "post"}},
        {"child_call_hook": {"url": "http://127.0.0.1:9/child"}},
        {"conf_mute_status": "mute"},
        {"conf_hold_status": "hold"},
        {"listen_status": "pause"},
        {"mute_status": "unmute"},
        {"whisper": {"url": "http://127.0.0.1:9/whisper"}},
        {"sip_request": {"method": "INFO", "content_type": "text/plain", "content": "x"}},
        {"record": {"action": "startCallRecording", "siprecServerURL": "sip:rec@example.com"}},
        {"conferenceParticipantAction": {"action": "mute"}},
        {"conferenceParticipantAction": {"action": "tag", "tag": "vip"}},
        {"call_status": "completed"},
    ],
)
def test_update_call_takes_each_documented_change(
    spec: dict[str, Any], http: httpx.Client, emu: Emulator, change: dict[str, Any]
) -> None:
    template = "/Accounts/{AccountSid}/Calls/{CallSid}"
    body_schema = operation(spec, template, "POST")["requestBody"]["content"]
    check(spec, body_schema["application/json"]["schema"], change, "request")
    with emu.state.lock:
        conference = emu.state.new_conference(emu.demo_account, "room", "in-progress")
        member = emu.state.new_participant(conference, "connected")
    response = http.post(f"{ROOT}/Calls/{member.call_sid}", json=change)
    check_answer(spec, template, "POST", response)
    assert response.status_code == 202


def test_update_call_refusals(spec: dict[str, Any], http: httpx.Client, emu: Emulator) -> None:
    template = "/Accounts/{AccountSid}/Calls/{CallSid}"
    with emu.state.lock:
        conference = emu.state.new_conference(emu.demo_account, "room", "in-progress")
        call = emu.state.new_participant(conference, "connected").call_sid
    for body, words in (
        ({}, "no valid options"),
        ({"conf_mute_status": "mute", "conf_hold_status": "hold"}, "multiple options"),
        ({"conf_hold_status": "pause"}, "invalid conf_hold_status"),
        ({"conferenceParticipantAction": {"action": "kick"}}, "invalid action"),
    ):
        response = http.post(f"{ROOT}/Calls/{call}", json=body)
        check_answer(spec, template, "POST", response)
        assert response.status_code == 400 and words in response.json()["msg"]
    missing = http.post(
        f"{ROOT}/Calls/00000000-0000-4000-8000-000000000000", json={"mute_status": "mute"}
    )
    check_answer(spec, template, "POST", missing)
    assert missing.status_code == 404 and missing.content == b""


def test_delete_call(spec: dict[str, Any], http: httpx.Client, emu: Emulator) -> None:
    template = "/Accounts/{AccountSid}/Calls/{CallSid}"
    with emu.state.lock:
        conference = emu.state.new_conference(emu.demo_account, "room", "in-progress")
        call = emu.state.new_participant(conference, "connected").call_sid
    deleted = http.delete(f"{ROOT}/Calls/{call}")
    check_answer(spec, template, "DELETE", deleted)
    assert deleted.status_code == 204
    again = http.delete(f"{ROOT}/Calls/{call}")
    check_answer(spec, template, "DELETE", again)
    assert again.status_code == 404


def test_create_call_refusals_are_400(
    spec: dict[str, Any], http: httpx.Client, emu: Emulator
) -> None:
    for body, words in (
        (create_body(**{"from": ""}), "missing from parameter"),
        (create_body(to={"type": "phone"}), "missing or invalid to property"),
        ({k: v for k, v in create_body().items() if k != "call_hook"}, "either call_hook"),
        (create_body(call_hook={"url": "/relative"}), "absolute url"),
        (create_body(application_sid="00000000-0000-4000-8000-000000000000"), "not found"),
    ):
        response = http.post(f"{ROOT}/Calls", json=body)
        check_answer(spec, "/Accounts/{AccountSid}/Calls", "POST", response)
        assert response.status_code == 400 and words in response.json()["msg"]
    assert emu.state.live_calls == {}


def test_server_errors_are_general_errors(
    spec: dict[str, Any], http: httpx.Client, emu: Emulator
) -> None:
    emu.faults.add("500", path_contains="/Conferences")
    response = http.get(f"{ROOT}/Conferences")
    check_answer(spec, "/Accounts/{AccountSid}/Conferences", "GET", response)
    check(spec, {"$ref": "#/components/schemas/GeneralError"}, response.json())


# -- the driver's requests ------------------------------------------------------------------


TEMPLATES = [
    (re.compile(r"^/v1/Accounts/([^/]+)/Conferences$"), "/Accounts/{AccountSid}/Conferences"),
    (re.compile(r"^/v1/Accounts/([^/]+)/Calls$"), "/Accounts/{AccountSid}/Calls"),
    (re.compile(r"^/v1/Accounts/([^/]+)/Calls/([^/]+)$"), "/Accounts/{AccountSid}/Calls/{CallSid}"),
]


def spec_operation(spec: dict[str, Any], record: RequestRecord) -> tuple[str, dict[str, Any]]:
    for pattern, template in TEMPLATES:
        if pattern.match(record.path):
            methods = spec["paths"][template]
            assert record.method.lower() in methods, (
                f"{record.method} {template} is not in the spec"
            )
            return template, methods[record.method.lower()]
    raise AssertionError(f"{record.method} {record.path} is not a spec path")


def check_request(spec: dict[str, Any], record: RequestRecord) -> None:
    template, op = spec_operation(spec, record)
    declared = {p["name"] for p in op.get("parameters", ()) if p.get("in") == "query"}
    assert {k for k, _ in record.query} <= declared, f"{template}: query {record.query}"
    if record.method in ("GET", "DELETE"):
        assert record.json is None and record.form == []
        return
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    body = dict(record.json)
    extra = set(body) - set(schema["properties"])
    assert extra <= UNDECLARED_BUT_REQUIRED, f"{template}: undeclared {sorted(extra)}"
    check(spec, schema, {k: v for k, v in body.items() if k not in extra}, template)


def test_driver_requests_follow_the_spec(
    spec: dict[str, Any], jambonz_server: EmulatorServer, emu: Emulator, receiver: ReceiverServer
) -> None:
    db = apsw.Connection(receiver.config.events_db)
    db.execute('DELETE FROM "ConferenceEvents"')
    db.close()
    application = emu.wire.add_application(receiver.url + "/jambonz/hook")
    props = {
        "Provider": "Jambonz",
        "BaseUrl": jambonz_server.base_url + "/v1",
        "AccountSid": wire.DEMO_ACCOUNT,
        "ApiKey": wire.DEMO_API_KEY,
        "WebhookSecret": wire.DEMO_WEBHOOK_SECRET,
        "WebhookUrl": receiver.url,
        "EventsDb": receiver.config.events_db,
    }
    with (
        driver.connect(**props) as conn,
        driver.connect(**props, ApplicationSid=application) as app,
    ):
        cur = conn.cursor()
        ana = cur.execute(
            "EXEC AddParticipants ConferenceSid = 'spec', From = '+15550100', "
            "To = 'sip:ana@example.com', Label = 'ana', Muted = 1, Beep = 'onEnter', "
            "StartConferenceOnEnter = 1, EndConferenceOnExit = 1, MaxParticipants = 5, "
            "WaitTime = 30, TimeLimit = 600, StatusCallback = 'https://s.example.com/c', "
            "StatusCallbackMethod = 'GET', WaitUrl = 'https://s.example.com/w', "
            "ConferenceStatusCallbackEvent = 'start end join leave speaker'"
        ).fetchone()[1]
        app.cursor().execute(
            "EXEC AddParticipants ConferenceSid = 'spec', From = '+15550100', "
            "To = 'user:ben@example.com', Label = 'ben'"
        )
        lobby = cur.execute(
            "EXEC AddParticipants ConferenceSid = 'lobby', From = 'alice', To = '+15550103'"
        ).fetchone()[1]
        assert emu.wire.drain()
        cur.execute("SELECT * FROM Conferences c JOIN Participants p ON p.ConferenceSid = c.Sid")
        assert len(cur.fetchall()) == 3
        cur.execute(
            "EXEC ModifyParticipants ConferenceSid = 'spec', CallSid = 'ben', Muted = 1, Hold = 1"
        )
        cur.execute(
            "EXEC ModifyParticipants ConferenceSid = 'spec', CallSid = 'ben', Muted = 0, Hold = 0"
        )
        cur.execute(f"EXEC JoinConference ConferenceSid = 'spec', CallSid = '{lobby}', Muted = 1")
        assert emu.wire.drain()
        cur.execute(f"EXEC RemoveParticipant ConferenceSid = 'spec', CallSid = '{ana}'")
    records = list(emu.requests)
    assert {(r.method, spec_operation(spec, r)[0]) for r in records} == {
        ("GET", "/Accounts/{AccountSid}/Conferences"),
        ("POST", "/Accounts/{AccountSid}/Calls"),
        ("POST", "/Accounts/{AccountSid}/Calls/{CallSid}"),
        ("DELETE", "/Accounts/{AccountSid}/Calls/{CallSid}"),
    }
    for record in records:
        check_request(spec, record)
        assert record.status is not None and record.status < 300, (record.method, record.path)
    placed = [r.json for r in records if r.method == "POST" and r.path.endswith("/Calls")]
    assert [sorted(UNDECLARED_BUT_REQUIRED & set(b)) for b in placed] == [
        sorted(UNDECLARED_BUT_REQUIRED),
        [],  # with an application, jambonz takes the application's speech settings
        sorted(UNDECLARED_BUT_REQUIRED),
    ]


def test_spec_is_where_the_tests_say(spec: dict[str, Any]) -> None:
    assert Path(SPEC).name == "calls-conferences.openapi.yml"
    assert spec["servers"][0]["url"] == "/v1"
