"""The TeXML emulator and the driver's TeXML requests against Telnyx's spec slice.

Skipped when ``../shared/specs/telnyx/conferences.openapi.yml`` is absent.
Structural checks, no JSON Schema library: every property the emulator
renders is one the spec declares, with the declared JSON type and within its
enum; documented status codes, envelopes and error bodies; every documented
filter and body field accepted; and every request the driver sends is a spec
operation with only the spec's query parameters and body fields.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

import driver
from driver.emulator import Emulator, EmulatorServer
from driver.emulator.wires import texml as wire
from tests.conftest import SHARED, wire_server

yaml = pytest.importorskip("yaml")

SPEC = SHARED / "specs" / "telnyx" / "conferences.openapi.yml"
ROOT = f"/v2/texml/Accounts/{wire.DEMO_ACCOUNT}"
JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "boolean": bool,
    "integer": int,
    "object": dict,
    "array": list,
}
# Described as null while a conference is live (the slice types them as plain strings).
NULLABLE = frozenset({"reason_conference_ended", "call_sid_ending_conference"})
FROM, TO = "+18149044818", "+19196028074"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    if not SPEC.exists():
        pytest.skip(f"spec not found at {SPEC}")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with SPEC.open() as fh:
        loaded: dict[str, Any] = yaml.load(fh, Loader=loader)  # a safe loader (C if available)
    return loaded


@pytest.fixture
def emu(wire_servers: dict[str, EmulatorServer]) -> Iterator[Emulator]:
    running = wire_server(wire_servers, "texml")
    running.emulator.reset()
    yield running.emulator
    running.emulator.reset()


@pytest.fixture
def http(wire_servers: dict[str, EmulatorServer], emu: Emulator) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {wire.DEMO_API_KEY}"}
    base = wire_servers["texml"].base_url
    with httpx.Client(base_url=base, headers=headers, timeout=5) as client:
        yield client


def resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        _, section, name = node["$ref"].rsplit("/", 2)
        node = spec["components"][section][name]
    return node


def schema_of(spec: dict[str, Any], name: str) -> dict[str, Any]:
    return resolve(spec, {"$ref": f"#/components/schemas/{name}"})


def check(spec: dict[str, Any], schema: dict[str, Any], value: Any, where: str = "") -> None:
    """``value`` uses only declared properties, with their types and enums."""
    schema = resolve(spec, schema)
    kind = schema.get("type")
    if kind == "object" and "properties" in schema:
        assert isinstance(value, dict), f"{where}: {value!r} is not an object"
        extra = set(value) - set(schema["properties"])
        assert not extra, f"{where}: undeclared {sorted(extra)}"
        for name, item in value.items():
            prop = resolve(spec, schema["properties"][name])
            if item is None:
                assert name in NULLABLE, f"{where}.{name} may not be null"
                continue
            check(spec, prop, item, f"{where}.{name}")
        return
    if kind is None:
        return
    assert isinstance(value, JSON_TYPES[kind]), f"{where}: {value!r} is not {kind}"
    if kind == "integer":
        assert not isinstance(value, bool)
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
    if kind == "array" and "items" in schema:
        for i, element in enumerate(value):
            check(spec, schema["items"], element, f"{where}[{i}]")


def answer(spec: dict[str, Any], template: str, method: str, status: int) -> dict[str, Any]:
    """The schema a spec operation documents for ``status``."""
    op = spec["paths"][template][method]
    response = resolve(spec, op["responses"][str(status)])
    return dict(response["content"]["application/json"]["schema"])


def seeded(emu: Emulator) -> dict[str, str]:
    emu.seed_demo()
    live = {c.friendly_name: c for c in emu.state.by_account[wire.DEMO_ACCOUNT]}
    standup = live["Daily Standup"]
    return {
        "standup": standup.sid,
        "host": standup.participants[0].call_sid,
        "done": live["Board Review"].sid,
    }


P = "/texml/Accounts/{account_sid}"


# --- responses ----------------------------------------------------------------------


def test_lists_resources_and_paging(
    spec: dict[str, Any], http: httpx.Client, emu: Emulator
) -> None:
    ids = seeded(emu)
    page = http.get(f"{ROOT}/Conferences", params={"PageSize": 4})
    assert page.status_code == 200
    body = page.json()
    check(spec, answer(spec, f"{P}/Conferences", "get", 200), body, "conferences")
    assert set(body) == {*schema_of(spec, "ConferenceResourceIndex")["properties"]}
    assert body["next_page_uri"].startswith(f"{ROOT}/Conferences.json?")
    declared = set(schema_of(spec, "ConferenceResource")["properties"])
    assert all(set(c) == declared for c in body["conferences"])
    last = http.get(body["next_page_uri"]).json()  # a link, as given, on the host
    check(spec, answer(spec, f"{P}/Conferences", "get", 200), last, "conferences page 2")
    assert "next_page_uri" not in last and "previous_page_uri" not in last
    assert len(body["conferences"]) + len(last["conferences"]) == 6
    assert (last["start"], last["page"]) == (4, 1)

    participants = http.get(f"{ROOT}/Conferences/{ids['standup']}/Participants").json()
    check(spec, answer(spec, f"{P}/Conferences/{{conference_sid}}/Participants", "get", 200),
          participants, "participants")  # fmt: skip
    assert {p["status"] for p in participants["participants"]} == {"connected"}
    assert any("coaching_call_sid" in p for p in participants["participants"])
    one = f"{P}/Conferences/{{conference_sid}}/Participants/{{call_sid_or_participant_label}}"
    for ref in (quote(ids["host"], safe=""), "host"):
        got = http.get(f"{ROOT}/Conferences/{ids['standup']}/Participants/{ref}")
        assert got.status_code == 200
        check(spec, answer(spec, one, "get", 200), got.json(), "participant")
    conference = http.get(f"{ROOT}/Conferences/{ids['done']}").json()
    check(spec, answer(spec, f"{P}/Conferences/{{conference_sid}}", "get", 200), conference)
    assert conference["reason_conference_ended"] in ("conference-ended-via-api",)


def test_writes_answer_the_documented_status_and_shape(
    spec: dict[str, Any], http: httpx.Client, emu: Emulator
) -> None:
    ids = seeded(emu)
    participants = f"{P}/Conferences/{{conference_sid}}/Participants"
    one = f"{participants}/{{call_sid_or_participant_label}}"
    base = f"{ROOT}/Conferences/{ids['standup']}/Participants"
    created = http.post(base, data={"From": FROM, "To": TO, "Label": "new"})
    assert created.status_code == 200  # not 201
    check(spec, answer(spec, participants, "post", 200), created.json(), "new participant")
    assert set(created.json()) == set(schema_of(spec, "NewParticipantResource")["properties"]) - {
        "coaching_call_sid"
    }
    updated = http.post(f"{base}/new", data={"Muted": "true", "BeepOnExit": "false"})
    assert updated.status_code == 200
    check(spec, answer(spec, one, "post", 200), updated.json(), "updated participant")
    deleted = http.delete(f"{base}/new")
    assert (deleted.status_code, deleted.content) == (204, b"")

    ended = http.post(f"{ROOT}/Conferences/{ids['standup']}", data={"Status": "completed"})
    assert ended.status_code == 200
    check(spec, answer(spec, f"{P}/Conferences/{{conference_sid}}", "post", 200), ended.json())
    assert ended.json()["status"] == "completed"

    started = http.post(
        f"{ROOT}/Calls", json={"To": TO, "From": FROM, "ApplicationSid": "1846572522338780702"}
    )
    assert started.status_code == 200
    check(spec, answer(spec, f"{P}/Calls", "post", 200), started.json(), "initiated call")
    call = emu.create_call(FROM, TO, wire.DEMO_ACCOUNT)
    path = f"{ROOT}/Calls/{quote(call, safe='')}"
    fetched = http.get(path)
    check(spec, answer(spec, f"{P}/Calls/{{call_sid}}", "get", 200), fetched.json(), "call")
    texml = "<Response><Dial><Conference>Spec</Conference></Dial></Response>"
    moved = http.post(path, data={"Texml": texml})
    assert moved.status_code == 200
    check(spec, answer(spec, f"{P}/Calls/{{call_sid}}", "post", 200), moved.json(), "call")
    assert emu.state.calls[call].live


def test_errors_match_the_spec(spec: dict[str, Any], http: httpx.Client, emu: Emulator) -> None:
    ids = seeded(emu)
    missing = http.get(f"{ROOT}/Conferences/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    check(spec, answer(spec, f"{P}/Conferences/{{conference_sid}}", "get", 404), missing.json())
    assert missing.json() == {"errors": [{"detail": "Resource not found"}]}
    bad = http.post(f"{ROOT}/Conferences/{ids['standup']}", data={"Status": "paused"})
    assert bad.status_code == 422
    check(spec, schema_of(spec, "ErrorResponse"), bad.json(), "422")
    [error] = bad.json()["errors"]
    assert error["code"] == "10032" and error["source"] == {"pointer": "/Status"}
    assert error["detail"] == "Status must be one of completed"


def test_documented_filters_and_fields_are_accepted(
    spec: dict[str, Any], http: httpx.Client, emu: Emulator
) -> None:
    ids = seeded(emu)
    op = spec["paths"][f"{P}/Conferences"]["get"]
    for raw in op["parameters"]:
        param = resolve(spec, raw)
        if param["in"] != "query" or param["name"] in ("Page", "PageToken"):
            continue
        value = param.get("example", (param["schema"].get("enum") or ["x"])[0])
        got = http.get(f"{ROOT}/Conferences", params={param["name"]: str(value)})
        assert got.status_code == 200, (param["name"], got.text)
    for value in ("2026-01-01", ">=2026-01-01", "<2026-01-01", "<=2099-12-31", ">2000-01-01"):
        assert http.get(f"{ROOT}/Conferences", params={"DateUpdated": value}).status_code == 200

    dial = schema_of(spec, "DialConferenceParticipantRequest")["properties"]
    base = f"{ROOT}/Conferences/{ids['standup']}/Participants"
    special = {"CallSidToCoach": ids["host"], "Coaching": "true", "Label": "labelled"}
    for name, raw in dial.items():
        if name in ("From", "To", "CustomHeaders"):  # CustomHeaders is an array: not a form field
            continue
        fields = {"From": FROM, "To": TO, name: _form(special.get(name, raw.get("example")))}
        if name == "Coaching":
            fields["CallSidToCoach"] = ids["host"]
        got = http.post(base, data=fields)
        assert got.status_code == 200, (name, got.text)

    update = schema_of(spec, "call-scripting_UpdateConferenceParticipantRequest")["properties"]
    fields = {name: _form(raw.get("example")) for name, raw in update.items()}
    fields["CallSidToCoach"] = ids["host"]
    got = http.post(f"{base}/bob", data=fields)
    assert got.status_code == 200, got.text
    conference = schema_of(spec, "call-scripting_UpdateConferenceRequest")["properties"]
    fields = {n: _form(raw.get("example")) for n, raw in conference.items() if n != "Status"}
    assert http.post(f"{ROOT}/Conferences/{ids['standup']}", data=fields).status_code == 200
    call = emu.create_call(FROM, TO, wire.DEMO_ACCOUNT)
    calls = schema_of(spec, "UpdateCallRequest")["properties"]
    fields = {n: _form(r.get("example")) for n, r in calls.items() if n not in ("Status", "Texml")}
    assert http.post(f"{ROOT}/Calls/{quote(call, safe='')}", data=fields).status_code == 200


def _form(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- the driver's requests ----------------------------------------------------------------


def _operation(spec: dict[str, Any], method: str, path: str, query: list[Any]) -> dict[str, Any]:
    followed = any(k == "PageToken" for k, _ in query)
    for template, item in spec["paths"].items():
        if not template.startswith("/texml/"):
            continue
        pattern = "^/v2" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        suffix = r"(\.json)?$" if followed else "$"  # a next_page_uri carries .json
        if re.match(pattern + suffix, path) and method.lower() in item:
            op: dict[str, Any] = item[method.lower()]
            return op
    raise AssertionError(f"{method} {path} is not an operation of the spec")


def test_every_driver_request_is_a_spec_operation(
    spec: dict[str, Any], wire_servers: dict[str, EmulatorServer], emu: Emulator
) -> None:
    ids = seeded(emu)
    call = emu.create_call(FROM, TO, wire.DEMO_ACCOUNT)
    base = wire_servers["texml"].base_url + "/v2"
    credentials = {"ApiKey": wire.DEMO_API_KEY, "AccountSid": wire.DEMO_ACCOUNT}
    with driver.connect(
        Provider="TelnyxTeXML", BaseUrl=base, ApplicationSid="1846572522338780702", **credentials
    ) as conn:
        cur = conn.cursor()
        for sql in [
            "SELECT * FROM Conferences",
            "SELECT * FROM Conferences LIMIT 2",
            "SELECT * FROM Conferences WHERE Status = 'completed' AND FriendlyName = 'Board Review'",
            "SELECT * FROM Conferences WHERE DateCreated > '2020-01-01' AND DateUpdated <= '2100-01-01'",
            "SELECT * FROM Participants",
            "SELECT * FROM Participants WHERE Muted = 1 AND Hold = 0 AND Coaching = 0",
            f"SELECT * FROM Participants WHERE ConferenceSid = '{ids['standup']}' "
            f"AND CallSid = '{ids['host']}'",
            "EXEC AddParticipants ConferenceSid = 'Spec Room', From = '+15550001', "
            "To = 'sip:bob@example.com', Label = 'bob', WaitTime = 30, Muted = TRUE, "
            "StatusCallbackEvent = 'ringing answered', ConferenceStatusCallbackEvent = 'start end', "
            "MachineDetection = 'Enable', MachineDetectionTimeout = 10, CallerDisplayName = 'Desk'",
            "EXEC ModifyParticipants ConferenceSid = 'Spec Room', CallSid = 'bob', Hold = TRUE, "
            "HoldMethod = 'GET', BeepOnExit = FALSE",
            f"EXEC JoinConference ConferenceSid = 'Spec Room', CallSid = '{call}', Muted = 1",
            f"EXEC JoinConference ConferenceSid = '{ids['standup']}', CallSid = '{call}'",
            f"UPDATE Participants SET Muted = 0 WHERE CallSid = '{call}'",
            f"DELETE FROM Participants WHERE CallSid = '{call}'",
            "EXEC RemoveParticipant ConferenceSid = 'Spec Room', CallSid = 'bob'",
            f'INSERT INTO Participants (ConferenceSid, "From", "To") '
            f"VALUES ('{ids['standup']}', '+15550001', '+15550002')",
            "UPDATE Conferences SET Status = 'completed' WHERE FriendlyName = 'Daily Standup'",
        ]:
            cur.execute(sql)
            if cur.description:
                cur.fetchall()
    assert len(emu.requests) > 15
    methods = set()
    for record in emu.requests:
        op = _operation(spec, record.method, record.path, record.query)
        methods.add((record.method, op["operationId"]))
        assert record.account_sid == wire.DEMO_ACCOUNT  # authenticated with the Bearer key
        assert record.status is not None and record.status < 300, (record.path, record.status)
        allowed = {resolve(spec, p)["name"] for p in op.get("parameters", ())}
        for key, _ in record.query:
            assert key in allowed, f"{record.method} {record.path}: query {key} not in the spec"
        if record.method == "POST":
            content = op["requestBody"]["content"]
            assert "application/x-www-form-urlencoded" in content and record.json is None
            schema = resolve(spec, content["application/x-www-form-urlencoded"]["schema"])
            keys = [k for k, _ in record.form]
            assert len(keys) == len(set(keys)), f"{record.path}: a key is repeated"
            form: dict[str, Any] = {}
            for key, value in record.form:
                assert key in schema["properties"], f"{record.path}: body field {key} undeclared"
                prop = resolve(spec, schema["properties"][key])
                form[key] = _typed(prop, value)
            check(spec, schema, form, record.path)
    assert {op for _, op in methods} >= {
        "GetTexmlConferences",
        "GetTexmlConference",
        "GetTexmlConferenceParticipants",
        "GetTexmlConferenceParticipant",
        "DialTexmlConferenceParticipant",
        "UpdateTexmlConferenceParticipant",
        "DeleteTexmlConferenceParticipant",
        "UpdateTexmlConference",
        "UpdateTexmlCall",
    }


def _typed(prop: dict[str, Any], value: str) -> Any:
    """A form value as the JSON type the schema declares (so ``check`` can judge it)."""
    if prop.get("type") == "boolean":
        assert value in ("true", "false"), value
        return value == "true"
    if prop.get("type") == "integer":
        assert re.fullmatch(r"-?\d+", value), value
        return int(value)
    return value
