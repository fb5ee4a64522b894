"""The driver's requests conform to the official Twilio spec (skipped when ../shared/specs is absent)."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

import pytest

import driver
from driver.emulator import Emulator
from tests.conftest import SHARED

SPEC = SHARED / "specs" / "twilio" / "conferences-participants.openapi.json"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    if not SPEC.exists():
        pytest.skip("../shared/specs is not present")
    loaded: dict[str, Any] = json.loads(SPEC.read_text())
    return loaded


def _operation(spec: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    for template, item in spec["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in item:
            op: dict[str, Any] = item[method.lower()]
            return op
    raise AssertionError(f"{method} {path} is not an operation of the spec")


def test_every_request_is_a_spec_operation(
    spec: dict[str, Any], conn: driver.Connection, emu: Emulator
) -> None:
    emu.seed_demo()
    cur = conn.cursor()
    statements = [
        "SELECT * FROM Conferences",
        "SELECT * FROM Conferences LIMIT 3",
        "SELECT * FROM Conferences WHERE Status = 'completed' AND FriendlyName = 'Board Review'",
        "SELECT * FROM Conferences WHERE DateCreated > '2020-01-01 00:00:00' AND DateUpdated <= '2100-01-01'",
        "SELECT * FROM Participants",
        "SELECT * FROM Participants WHERE Muted = 1 AND Hold = 0 AND Coaching = 0",
        "SELECT c.Sid, p.Label FROM Conferences c JOIN Participants p ON p.ConferenceSid = c.Sid",
        "EXEC AddParticipants ConferenceSid = 'Spec Room', From = '+15550001', To = 'client:bob', "
        "Label = 'bob', WaitTime = 30, StatusCallbackEvent = 'ringing answered', Muted = TRUE",
        "EXEC ModifyParticipants ConferenceSid = 'Spec Room', CallSid = 'bob', Hold = TRUE, HoldMethod = 'GET'",
        "SELECT * FROM Participants WHERE ConferenceSid IN (SELECT Sid FROM Conferences WHERE FriendlyName = 'Spec Room') AND Label = 'bob'",
        "UPDATE Participants SET Muted = 0 WHERE Label = 'bob'",
        "DELETE FROM Participants WHERE Label = 'bob'",
        "UPDATE Conferences SET Status = 'completed' WHERE FriendlyName = 'Daily Standup'",
    ]
    for sql in statements:
        cur.execute(sql)
    assert len(emu.requests) > 10
    for record in emu.requests:
        path = unquote(record.path)
        op = _operation(spec, record.method, record.path)
        query_names = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
        for name, _ in record.query:
            assert name in query_names, f"{record.method} {path}: query {name} not in spec"
        if record.form:
            body = op["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
            for name, value in record.form:
                prop = body["properties"].get(name)
                assert prop is not None, f"{record.method} {path}: form field {name} not in spec"
                if prop.get("type") == "boolean":
                    assert value in ("true", "false")
                if "enum" in prop:
                    assert value in prop["enum"]
            for required in body.get("required", []):
                assert required in dict(record.form)
        assert record.status is not None and record.status < 400, (
            record.method,
            path,
            record.status,
        )
