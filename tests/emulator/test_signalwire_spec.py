"""The SignalWire wire and the driver's requests against SignalWire's spec slice.

Skipped when ../shared/specs is absent.  Checks, structurally (no JSON Schema
library): every response body has the schema's required properties, nothing
the schema does not list (its ``unevaluatedProperties: not {}``), and values of
the declared types, enums, UUID format and patterns; every documented query
parameter and body field is accepted and unlisted body fields are refused;
and every request the driver sends is an operation of the spec with listed
parameters and fields.  The one field not in the slice is ``Twiml`` on the
create- and update-call bodies: the inline markup (see the README).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from driver import schema
from driver.emulator import Emulator, EmulatorServer
from driver.emulator.state import CONFERENCE_STATUSES
from driver.emulator.wires.signalwire import DEMO_API_TOKEN, DEMO_PROJECT_ID
from tests.conftest import SHARED, ProviderUnderTest, serve_provider

yaml = pytest.importorskip("yaml")

SPEC = SHARED / "specs" / "signalwire" / "conferences.openapi.yml"
ROOT = f"/api/laml/2010-04-01/Accounts/{DEMO_PROJECT_ID}"
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "boolean": bool,
    "integer": int,
    "number": (int, float),
    "object": dict,
    "array": list,
}
MARKUP = "<Response><Dial><Conference>Spec Room</Conference></Dial></Response>"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    if not SPEC.exists():
        pytest.skip("../shared/specs is not present")
    loaded: dict[str, Any] = yaml.safe_load(SPEC.read_text())
    return loaded


@pytest.fixture
def sw(wire_servers: dict[str, EmulatorServer]) -> Iterator[ProviderUnderTest]:
    yield from serve_provider("SignalWire", wire_servers)


@pytest.fixture
def http(sw: ProviderUnderTest) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=sw.server.base_url, auth=(DEMO_PROJECT_ID, DEMO_API_TOKEN), timeout=5
    ) as client:
        yield client


@pytest.fixture
def live(sw: ProviderUnderTest) -> tuple[str, str, str]:
    """Demo data; a live conference, one of its calls and a call in no conference."""
    sw.emu.seed_demo()
    standup = next(c for c in sw.emu.conferences() if c["friendly_name"] == "Daily Standup")
    sid = str(standup["sid"])
    member = str(sw.emu.live_participants(sid)[0]["call_sid"])
    return sid, member, sw.emu.create_call("+15550001000", "+15550002000")


# --- a small structural validator ------------------------------------------------------


def resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = spec["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def problems(spec: dict[str, Any], node: dict[str, Any], value: Any, where: str) -> list[str]:
    """Why ``value`` does not fit the schema ``node`` (empty when it does)."""
    node = resolve(spec, node)
    found: list[str] = []
    for part in node.get("allOf", []):
        found += problems(spec, part, value, where)
    if "anyOf" in node:
        if all(problems(spec, option, value, where) for option in node["anyOf"]):
            found.append(f"{where}: {value!r} fits none of anyOf")
        return found
    kind = node.get("type")
    if kind == "null":
        return found if value is None else [*found, f"{where}: {value!r} is not null"]
    wrong_type = not isinstance(value, TYPES.get(kind, object)) or (
        kind != "boolean" and isinstance(value, bool)
    )
    if kind is not None and wrong_type:
        return [*found, f"{where}: {value!r} is not {kind}"]
    if "enum" in node and value not in node["enum"]:
        found.append(f"{where}: {value!r} not in {node['enum']}")
    if node.get("format") == "uuid" and not UUID.match(str(value)):
        found.append(f"{where}: {value!r} is not a UUID")
    if "pattern" in node and not re.search(node["pattern"], str(value)):
        found.append(f"{where}: {value!r} !~ {node['pattern']}")
    if kind == "object" or "properties" in node:
        properties = node.get("properties", {})
        for name in node.get("required", []):
            if name not in value:
                found.append(f"{where}: {name} is required")
        if node.get("unevaluatedProperties") == {"not": {}}:
            found += [
                f"{where}: {name} is not in the schema" for name in value if name not in properties
            ]
        for name, item in value.items():
            if name in properties:
                found += problems(spec, properties[name], item, f"{where}.{name}")
    if kind == "array" and "items" in node:
        for index, item in enumerate(value):
            found += problems(spec, node["items"], item, f"{where}[{index}]")
    return found


def operation(spec: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    """The spec operation serving ``path`` (below the server URL's ``/api/laml/2010-04-01``)."""
    below = path.removeprefix("/api/laml/2010-04-01")
    for template, item in spec["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, below) and method.lower() in item:
            op: dict[str, Any] = item[method.lower()]
            return op
    raise AssertionError(f"{method} {path} is not an operation of the spec")


def check(spec: dict[str, Any], response: httpx.Response, status: int = 200) -> Any:
    """The response has the status and a body fitting the spec's schema for it."""
    assert response.status_code == status, response.text
    op = operation(spec, response.request.method, response.request.url.path)
    answer = op["responses"][str(status)]
    if "content" not in answer:
        assert not response.content
        return None
    body = response.json()
    assert problems(spec, answer["content"]["application/json"]["schema"], body, "body") == []
    return body


def body_schema(spec: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    op = operation(spec, method, path)
    return resolve(
        spec, op["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    )


def sample(spec: dict[str, Any], name: str, node: dict[str, Any], call_sid: str) -> Any:
    """A valid form value for a field or query parameter of this schema."""
    node = resolve(spec, node)
    for part in node.get("allOf", []):
        if resolve(spec, part).get("format") == "uuid":
            return call_sid
    if "enum" in node:
        return node["enum"][-1]
    kind = node.get("type")
    if kind == "boolean":
        return "false"
    if kind == "integer":
        return str(node.get("minimum", 1))
    if kind == "array":
        return ["completed"]
    if name == "SendDigits":
        return "1ww2"
    if name == "MaxPricePerMinute":
        return "0.0075"
    if name == "RecordingStatusCallbackEvent":  # a space-separated list in a string
        return "in-progress completed"
    if name.startswith("DateCreated") or name.startswith("DateUpdated"):
        return "2026-01-01"
    if node.get("format") == "uri" or name.endswith("Url") or name.endswith("Callback"):
        return "https://example.com/hook"
    return "value"


# --- the emulator's answers ----------------------------------------------------------


def test_server_and_enums_match_the_spec(spec: dict[str, Any]) -> None:
    mapping = schema.load().provider("signalwire")
    assert mapping is not None
    assert spec["servers"][0]["url"].replace("{space_name}", "{Space}") == mapping.base_url
    schemas = spec["components"]["schemas"]
    assert schemas["ConferenceStatus"]["enum"] == list(CONFERENCE_STATUSES)
    assert set(schemas["ParticipantStatus"]["enum"]) == set(
        mapping.tables["Participants"].values["Status"]
    )


def test_conferences(spec: dict[str, Any], http: httpx.Client, live: tuple[str, str, str]) -> None:
    first = check(spec, http.get(f"{ROOT}/Conferences", params={"PageSize": "4"}))
    assert first["next_page_uri"].startswith(f"{ROOT}/Conferences?")
    second = check(spec, http.get(first["next_page_uri"]))
    assert second["next_page_uri"] is None
    for conference in first["conferences"] + second["conferences"]:
        check(spec, http.get(f"{ROOT}/Conferences/{conference['sid']}"))
    check(spec, http.post(f"{ROOT}/Conferences/{live[0]}", data={"AnnounceUrl": "https://e.x"}))
    check(spec, http.post(f"{ROOT}/Conferences/{live[0]}", data={"Status": "completed"}))


def test_participants(spec: dict[str, Any], http: httpx.Client, live: tuple[str, str, str]) -> None:
    base = f"{ROOT}/Conferences/{live[0]}/Participants"
    listed = check(spec, http.get(base, params={"PageSize": "1"}))
    check(spec, http.get(listed["next_page_uri"]))
    check(spec, http.get(f"{base}/{live[1]}"))
    check(spec, http.post(f"{base}/{live[1]}", data={"Muted": "true", "Hold": "true"}))
    check(spec, http.delete(f"{base}/{live[1]}"), 204)


def test_calls(spec: dict[str, Any], http: httpx.Client, live: tuple[str, str, str]) -> None:
    created = check(
        spec, http.post(f"{ROOT}/Calls", data={"From": "+1555", "To": "+1556", "Twiml": MARKUP})
    )
    check(spec, http.get(f"{ROOT}/Calls/{created['sid']}"))
    check(spec, http.post(f"{ROOT}/Calls/{live[2]}", data={"Twiml": MARKUP}))
    check(spec, http.post(f"{ROOT}/Calls/{live[2]}", data={"Status": "completed"}))
    listed = check(spec, http.get(f"{ROOT}/Calls", params={"PageSize": "1"}))
    check(spec, http.get(listed["next_page_uri"]))


def test_error_bodies(spec: dict[str, Any], http: httpx.Client, live: tuple[str, str, str]) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    check(spec, http.get(f"{ROOT}/Conferences/{missing}"), 404)
    check(spec, http.get(f"{ROOT}/Conferences", auth=(DEMO_PROJECT_ID, "wrong")), 401)
    check(spec, http.post(f"{ROOT}/Calls", data={"From": "+1555", "Twiml": MARKUP}), 400)
    base = f"{ROOT}/Conferences/{live[0]}/Participants/{live[1]}"
    check(spec, http.post(base, data={"EndConferenceOnExit": "true"}), 422)
    check(spec, http.post(f"{ROOT}/Conferences/{live[0]}", data={"Status": "ended"}), 400)


def test_every_query_parameter_is_accepted(
    spec: dict[str, Any], http: httpx.Client, live: tuple[str, str, str]
) -> None:
    urls = {
        "/Accounts/{AccountSid}/Conferences": f"{ROOT}/Conferences",
        "/Accounts/{AccountSid}/Conferences/{ConferenceSid}/Participants": (
            f"{ROOT}/Conferences/{live[0]}/Participants"
        ),
        "/Accounts/{AccountSid}/Calls": f"{ROOT}/Calls",
    }
    for template, url in urls.items():
        for param in spec["paths"][template]["get"]["parameters"]:
            param = (
                param
                if "name" in param
                else spec["components"]["parameters"][param["$ref"].rsplit("/", 1)[-1]]
            )
            if param["in"] != "query":
                continue
            if param["name"] == "PageToken":
                first = http.get(url, params={"PageSize": "1"}).json()
                response = http.get(first["next_page_uri"] or url)
            else:
                value = sample(spec, param["name"], param["schema"], live[1])
                response = http.get(url, params={param["name"]: value})
            assert response.status_code == 200, (template, param["name"], response.text)


def test_every_body_field_is_accepted_and_others_refused(
    spec: dict[str, Any], http: httpx.Client, live: tuple[str, str, str]
) -> None:
    conference, member, call = live
    other = http.post(
        f"{ROOT}/Calls",
        data={"From": "+1", "To": "+2", "Twiml": MARKUP.replace("Spec Room", "Daily Standup")},
    ).json()["sid"]
    targets = [
        f"{ROOT}/Conferences/{conference}/Participants/{other}",
        f"{ROOT}/Calls",
        f"{ROOT}/Calls/{call}",
        f"{ROOT}/Conferences/{conference}",  # last: it ends the conference
    ]
    for url in targets:
        body = body_schema(spec, "POST", url)
        assert body.get("unevaluatedProperties") == {"not": {}}
        data = {name: sample(spec, name, node, member) for name, node in body["properties"].items()}
        if url.endswith("/Calls"):
            data.pop("ApplicationSid")  # Url, ApplicationSid and Twiml are alternatives
        response = http.post(url, data=data)
        assert response.status_code == 200, (url, response.text)
        refused = http.post(url, data={**data, "Unlisted": "1"})
        assert refused.status_code in (400, 422), url
        assert "Unlisted" in refused.text


# --- the driver's requests -------------------------------------------------------------


def test_every_request_the_driver_sends_is_in_the_spec(
    spec: dict[str, Any], sw: ProviderUnderTest, live: tuple[str, str, str]
) -> None:
    conn = sw.connect()
    emu: Emulator = sw.emu
    emu.requests.clear()
    cur = conn.cursor()
    for sql, params in [
        ("SELECT * FROM Conferences", ()),
        ("SELECT * FROM Conferences LIMIT 2", ()),
        (
            "SELECT * FROM Conferences WHERE Status = 'completed' AND FriendlyName = 'Board Review'",
            (),
        ),
        (
            "SELECT * FROM Conferences WHERE DateCreated > '2020-01-01' AND DateUpdated <= '2100-01-01'",
            (),
        ),
        ("SELECT * FROM Participants WHERE Muted = 1 AND Hold = 0 AND Coaching = 0", ()),
        (
            "SELECT c.Sid, p.CallSid FROM Conferences c JOIN Participants p ON p.ConferenceSid = c.Sid",
            (),
        ),
        (
            "EXEC AddParticipants ConferenceSid = 'Spec Room', From = '+15550001', To = 'sip:bob@e.x', "
            "WaitTime = 30, StatusCallbackEvent = 'ringing answered', Muted = TRUE, Record = 1, "
            "RecordingStatusCallbackEvent = 'completed absent', AmdStatusCallback = 'https://e.x/a', "
            "MachineDetection = 'Enable', ConferenceStatusCallbackEvent = 'start end'",
            (),
        ),
        (
            "EXEC JoinConference ConferenceSid = 'Spec Room', CallSid = ?, Beep = 'false'",
            (live[2],),
        ),
        (
            "EXEC ModifyParticipants ConferenceSid = 'Spec Room', CallSid = ?, Hold = TRUE, HoldMethod = 'GET'",
            (live[2],),
        ),
        ("UPDATE Participants SET Muted = 0 WHERE CallSid = ?", (live[2],)),
        ("DELETE FROM Participants WHERE CallSid = ?", (live[2],)),
        ("UPDATE Conferences SET Status = 'completed' WHERE FriendlyName = 'Daily Standup'", ()),
    ]:
        cur.execute(sql, params)
    assert len(emu.requests) > 10
    for record in emu.requests:
        path = unquote(record.path)
        op = operation(spec, record.method, record.path)
        names = set()
        for param in op.get("parameters", []):
            if "$ref" in param:
                param = spec["components"]["parameters"][param["$ref"].rsplit("/", 1)[-1]]
            if param["in"] == "query":
                names.add(param["name"])
        for name, _ in record.query:
            assert name in names, f"{record.method} {path}: query {name} is not in the spec"
        if record.form:
            body = body_schema(spec, record.method, record.path)
            for name, value in record.form:
                if name == "Twiml" and "/Calls" in path:
                    assert value.startswith("<Response><Dial><Conference")
                    continue
                node = body["properties"].get(name)
                assert node is not None, f"{record.method} {path}: {name} is not in the spec"
                node = resolve(spec, node)
                if node.get("type") == "array":
                    node = resolve(spec, node["items"])
                shown = value if node.get("type") != "boolean" else value == "true"
                if node.get("type") == "boolean":
                    assert value in ("true", "false")
                if node.get("type") == "integer":
                    shown = int(value)
                assert problems(spec, node, shown, name) == [], (path, name, value)
            for name in body.get("required", []):
                assert name in dict(record.form)
        assert record.status is not None and record.status < 400, (
            record.method,
            path,
            record.status,
        )
