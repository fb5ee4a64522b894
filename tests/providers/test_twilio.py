"""The Twilio provider: base URL (Region/Edge), Basic auth, environment fallbacks, identity,
and Twilio's wire: ``.json`` paths, ``PageSize``/``PageToken``/``next_page_uri`` paging,
form bodies, and every request an operation of Twilio's spec.

The engine tests (tests/test_*.py) run on this wire but state behaviour through the
emulator's provider-neutral operations; the Twilio spelling of those requests is here.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

import driver
from driver import schema
from driver.emulator import Emulator
from driver.http import USER_AGENT, ApiClient
from driver.loop import run
from driver.providers import Provider
from driver.requests import Requester, segment
from driver.settings import resolve
from driver.throttle import Gate
from tests.conftest import SHARED

SID = "AC" + "a" * 32


def _provider(**props: object) -> Provider:
    cls, settings = resolve("", {"AccountSid": SID, "AuthToken": "tok", **props})
    mapping = schema.load().provider(cls.mapping_name)
    assert mapping is not None
    return cls(mapping, settings)


@pytest.mark.parametrize(
    ("props", "url"),
    [
        ({}, "https://api.twilio.com"),
        ({"Region": "ie1", "Edge": "dublin"}, "https://api.dublin.ie1.twilio.com"),
        ({"Region": "au1"}, "https://api.au1.twilio.com"),
        ({"Edge": "sydney"}, "https://api.sydney.us1.twilio.com"),
        ({"BaseUrl": "http://127.0.0.1:9/proxy/", "Region": "ie1"}, "http://127.0.0.1:9/proxy"),
    ],
)
def test_base_url(props: dict[str, object], url: str) -> None:
    assert _provider(**props).base_url() == url


def test_api_key_wins_over_token_and_secrets_are_masked() -> None:
    provider = _provider(ApiKey="SK" + "b" * 32, ApiSecret="very-secret")
    auth = provider.auth()
    request = next(auth.auth_flow(httpx.Request("GET", "https://x")))  # type: ignore[union-attr]
    sent = base64.b64decode(request.headers["Authorization"].split()[1]).decode()
    assert sent == "SK" + "b" * 32 + ":very-secret"
    settings = provider.settings
    assert "very-secret" not in repr(settings) and "very-secret" not in repr(provider)
    assert "tok" not in repr(settings).replace("'AuthToken': '***'", "")


def test_user_agent_names_confsql_and_version() -> None:
    assert USER_AGENT.startswith(f"confsql/{driver.__version__}")


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("a/../Calls", "a%2F..%2FCalls"),
        ("x y", "x%20y"),
        ("..", "%2E%2E"),
        (".", "%2E"),
        ("q?#", "q%3F%23"),
    ],
)
def test_every_path_segment_is_encoded(value: str, encoded: str) -> None:
    assert segment(value) == encoded


def test_environment_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "from-env")
    monkeypatch.setenv("TWILIO_REGION", "ie1")
    _, settings = resolve("", {})
    assert settings["AuthToken"] == "from-env" and settings["Region"] == "ie1"


def test_sandbox_needs_no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    with driver.connect("Provider=Sandbox") as conn:
        assert conn.cursor().execute("SELECT count(*) FROM Conferences").fetchone()[0] >= 6


# --- paging links: next_page_uri (moved from tests/test_requests.py, test_odd_answers.py) ---

ACCOUNT = "AC" + "0" * 32


def _requester(handler: Any) -> Requester:
    cls, settings = resolve("", {"AccountSid": ACCOUNT, "AuthToken": "t"})
    mapping = schema.load().provider(cls.mapping_name)
    assert mapping is not None
    provider = cls(mapping, settings)
    client = ApiClient(
        "https://api.example.test",
        provider,
        timeout=5,
        gate=Gate(2),
        transport=httpx.MockTransport(handler),
    )
    return Requester(client, provider)


async def _all_pages(requester: Requester) -> list[list[dict[str, Any]]]:
    mapping = requester.provider.tables["Conferences"]
    return [page async for page in requester.pages("Conferences", mapping, {}, [])]


def test_a_next_page_link_that_repeats_raises_instead_of_looping() -> None:
    """A provider bug must not turn into an endless scan or duplicate rows."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(
            200,
            json={
                "conferences": [{"sid": "CF" + "1" * 32}],
                "next_page_uri": f"/2010-04-01/Accounts/{ACCOUNT}/Conferences.json?Page=1",
            },
        )

    with pytest.raises(driver.OperationalError, match="repeats an earlier page"):
        asyncio.run(_all_pages(_requester(handler)))
    assert len(seen) == 2


def test_the_next_page_link_keeps_its_query() -> None:
    urls: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        urls.append(request.url)
        nxt = (
            None
            if len(urls) > 1
            else "/2010-04-01/Accounts/x/Conferences.json?Page=1&PageToken=PA1"
        )
        return httpx.Response(200, json={"conferences": [], "next_page_uri": nxt})

    asyncio.run(_all_pages(_requester(handler)))
    assert urls[0].params.get("PageSize") == "1000"
    assert urls[1].path == "/2010-04-01/Accounts/x/Conferences.json"
    assert dict(urls[1].params) == {"Page": "1", "PageToken": "PA1"}


def test_next_page_link_to_another_origin_is_refused() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if request.url.host == "api.example.test":
            return httpx.Response(
                200,
                json={
                    "conferences": [{"sid": "CF" + "0" * 32}],
                    "next_page_uri": "https://evil.example/2010-04-01/Accounts/x/Conferences.json",
                },
            )
        return httpx.Response(200, json={"conferences": [], "next_page_uri": None})

    with pytest.raises(driver.OperationalError, match="another origin"):
        run(_all_pages(_requester(handler)))
    assert [r.url.host for r in sent] == ["api.example.test"]  # never sent to evil.example


# --- the engine's requests in Twilio's spelling --------------------------------------


def test_reads_spell_twilio_paths_and_paging(conn: driver.Connection, emu: Emulator) -> None:
    """Lists, fetches, LIMIT and the second page as Twilio's URLs (the engine tests name
    them by operation)."""
    sids = emu.seed_bulk(conferences=1001, status="in-progress")
    sid = sids[0]
    emu.add_participant(sid, label="lab")
    root = f"/2010-04-01/Accounts/{emu.wire.demo_account}"
    cur = conn.cursor()
    emu.requests.clear()
    cur.execute("SELECT Sid FROM Conferences").fetchall()
    first, second = emu.requests
    assert first.path == second.path == f"{root}/Conferences.json"
    assert ("PageSize", "1000") in first.query and not any(k == "PageToken" for k, _ in first.query)
    assert any(k == "PageToken" for k, _ in second.query)
    for sql, params, path, query in [
        ("SELECT * FROM Conferences WHERE Sid = ?", (sid,), f"/Conferences/{sid}.json", []),
        ("SELECT * FROM Conferences LIMIT 10", (), "/Conferences.json", [("PageSize", "10")]),
        (
            "SELECT * FROM Participants WHERE ConferenceSid = ?",
            (sid,),
            f"/Conferences/{sid}/Participants.json",
            [("PageSize", "1000")],
        ),
        (
            "SELECT * FROM Participants WHERE ConferenceSid = ? AND Label = 'lab'",
            (sid,),
            f"/Conferences/{sid}/Participants/lab.json",
            [],
        ),
    ]:
        emu.requests.clear()
        cur.execute(sql, params).fetchall()
        (request,) = emu.requests
        assert (request.method, request.path, request.query) == ("GET", root + path, query)


def test_filters_spell_twilio_query_names(conn: driver.Connection, emu: Emulator) -> None:
    """The pushed filters as Twilio's query parameters (the engine tests read them by column
    through ``emu.wire.filters``): a date bound is a whole day, ``>`` on or after and ``<`` on
    or before, booleans are ``true``/``false``, and ``Status IN`` is one list per value."""
    sid = str(emu.create_conference("Sales", "in-progress")["sid"])
    cur = conn.cursor()
    for sql, params, queries in [
        (
            "SELECT Sid FROM Conferences WHERE Status = 'init' AND FriendlyName = 'Sales'",
            (),
            [[("Status", "init"), ("FriendlyName", "Sales")]],
        ),
        (
            "SELECT Sid FROM Conferences WHERE Status IN ('init', 'in-progress')",
            (),
            [[("Status", "init")], [("Status", "in-progress")]],
        ),
        (
            "SELECT Sid FROM Conferences WHERE DateCreated > '2026-11-18 10:00:00'"
            " AND DateCreated < '2026-11-19 08:00:00' AND DateUpdated >= '2026-11-17'",
            (),
            [[("DateCreated>", "2026-11-18"), ("DateCreated<", "2026-11-19"),
              ("DateUpdated>", "2026-11-17")]],
        ),
        (
            "SELECT CallSid FROM Participants WHERE ConferenceSid = ?"
            " AND Muted = 1 AND Hold = 0 AND Coaching = 0",
            (sid,),
            [[("Muted", "true"), ("Hold", "false"), ("Coaching", "false")]],
        ),
    ]:  # fmt: skip
        emu.requests.clear()
        cur.execute(sql, params).fetchall()
        sent = [[p for p in r.query if p[0] != "PageSize"] for r in emu.requests]
        assert sorted(map(sorted, sent)) == sorted(map(sorted, queries)), sql


def test_a_hostile_name_is_one_path_segment(conn: driver.Connection, emu: Emulator) -> None:
    for name in ("a/../Calls", "x y", "q?x=1#frag", "%2F", "..", "ünï"):
        emu.requests.clear()
        conn.cursor().execute(
            "EXEC AddParticipants ConferenceSid = ?, From = '+15550001111', To = '+15550002222'",
            (name,),
        )
        (req,) = emu.requests.matching("POST")
        assert req.path.endswith("/Participants.json") and req.path.count("/") == 6
        assert unquote(req.path.split("/")[5]) == name


@pytest.fixture
def room(emu: Emulator) -> dict[str, str]:
    """Live conference 'Room' (alice, bob, carol) and another live one, 'Other' (dave)."""
    sid = str(emu.create_conference("Room")["sid"])
    out = {"sid": sid}
    for label in ("alice", "bob", "carol"):
        out[label] = str(emu.add_participant(sid, label=label)["call_sid"])
    out["other"] = str(emu.create_conference("Other")["sid"])
    out["dave"] = str(emu.add_participant(out["other"], label="dave")["call_sid"])
    emu.requests.clear()
    return out


PHONE_A = "+18149044818"
PHONE_B = "919602968074"
ADD = f"EXEC AddParticipants ConferenceSid = 'Room', From = '{PHONE_A}', To = '{PHONE_B}'"
URL = "https://example.com/"

# (statement, parameters, the form of every write it sends, in the order it is sent)
# (moved from tests/test_dml.py and tests/test_exec.py, which check the outcome)
FORMS: list[tuple[str, Any, list[tuple[str, str]]]] = [
    (
        'INSERT INTO Participants (ConferenceSid, "From", "To", Label, Muted) '
        "VALUES ('Room', ?, ?, 'erin', 1)",
        (PHONE_A, PHONE_B),
        [("From", PHONE_A), ("To", PHONE_B), ("Label", "erin"), ("Muted", "true")],
    ),
    (
        "EXEC AddParticipants ConferenceSid = 'Room', From = ?, To = ?, Label = 'erin', Muted = 1",
        (PHONE_A, PHONE_B),
        [("From", PHONE_A), ("To", PHONE_B), ("Label", "erin"), ("Muted", "true")],
    ),
    (
        'INSERT INTO Participants (ConferenceSid, "From", "To", WaitTime, StatusCallbackEvent, '
        "EarlyMedia) VALUES ('NewRoom', 'client:a', 'sip:b@example.com', 20, "
        "'ringing answered', 0)",
        (),
        [
            ("From", "client:a"),
            ("To", "sip:b@example.com"),
            ("StatusCallbackEvent", "ringing"),
            ("StatusCallbackEvent", "answered"),
            ("Timeout", "20"),
            ("EarlyMedia", "false"),
        ],
    ),
    ("UPDATE Participants SET Muted = 1 WHERE Label = 'bob'", (), [("Muted", "true")]),
    (
        "UPDATE Participants SET Muted = 1, Hold = 1 WHERE Label = 'bob'",
        (),
        [("Muted", "true"), ("Hold", "true")],
    ),
    (
        f"UPDATE Participants SET Hold = 1, HoldUrl = '{URL}h.mp3', HoldMethod = 'get' "
        "WHERE Label IN ('alice', 'carol')",
        (),
        [("Hold", "true"), ("HoldUrl", f"{URL}h.mp3"), ("HoldMethod", "GET")],
    ),
    (
        f"UPDATE Participants SET AnnounceUrl = '{URL}a.xml', AnnounceMethod = 'GET', "
        "WaitUrl = '', WaitMethod = 'post' WHERE Label = 'carol'",
        (),
        [
            ("AnnounceUrl", f"{URL}a.xml"),
            ("AnnounceMethod", "GET"),
            ("WaitUrl", ""),
            ("WaitMethod", "POST"),
        ],
    ),
    (
        "UPDATE Conferences SET Status = 'completed' WHERE FriendlyName = 'Room'",
        (),
        [("Status", "completed")],
    ),
    (
        f"UPDATE Conferences SET AnnounceUrl = '{URL}all.xml', AnnounceMethod = 'get' "
        "WHERE FriendlyName = 'Other'",
        (),
        [("AnnounceUrl", f"{URL}all.xml"), ("AnnounceMethod", "GET")],
    ),
    (ADD, (), [("From", PHONE_A), ("To", PHONE_B)]),
    (ADD + ", Label = 'O''Brien'", (), [("From", PHONE_A), ("To", PHONE_B), ("Label", "O'Brien")]),
    (
        "EXEC AddParticipants ConferenceSid = ?, From = ?, To = ?, Muted = ?, WaitTime = ?",
        ("Room", PHONE_A, "client:alice", True, 30),
        [("From", PHONE_A), ("To", "client:alice"), ("Timeout", "30"), ("Muted", "true")],
    ),
    (
        "EXEC AddParticipants ConferenceSid = :c, From = :f, To = :t, Label = :l",
        {"c": "Room", "f": PHONE_A, "t": "sip:bob@example.com", "l": "x"},
        [("From", PHONE_A), ("To", "sip:bob@example.com"), ("Label", "x")],
    ),
    (ADD + ", Label = NULL, WaitTime = ?", (None,), [("From", PHONE_A), ("To", PHONE_B)]),
    (
        ADD + ", Muted = TRUE, EarlyMedia = FALSE, Record = 1, EndConferenceOnExit = 0",
        (),
        [
            ("From", PHONE_A),
            ("To", PHONE_B),
            ("Record", "true"),
            ("Muted", "true"),
            ("EndConferenceOnExit", "false"),
            ("EarlyMedia", "false"),
        ],
    ),
    (
        "EXEC AddParticipants ConferenceSid = 'Room', From = 'support', To = ?",
        ("sip:bob@sip.example.com",),
        [("From", "support"), ("To", "sip:bob@sip.example.com")],
    ),
    (
        ADD + ", StatusCallbackEvent = ?",
        ("ringing,answered",),
        [
            ("From", PHONE_A),
            ("To", PHONE_B),
            ("StatusCallbackEvent", "ringing"),
            ("StatusCallbackEvent", "answered"),
        ],
    ),
    (
        "EXEC ModifyParticipants ConferenceSid = 'Room', CallSid = 'bob', Muted = TRUE, "
        f"Hold = 1, HoldUrl = '{URL}hold.mp3', HoldMethod = 'get', BeepOnExit = false, "
        "EndConferenceOnExit = true",
        (),
        [
            ("Muted", "true"),
            ("Hold", "true"),
            ("HoldUrl", f"{URL}hold.mp3"),
            ("HoldMethod", "GET"),
            ("BeepOnExit", "false"),
            ("EndConferenceOnExit", "true"),
        ],
    ),
    (
        f"EXEC ModifyConference Sid = 'Room', AnnounceUrl = '{URL}a', AnnounceMethod = 'get'",
        (),
        [("AnnounceUrl", f"{URL}a"), ("AnnounceMethod", "GET")],
    ),
]


@pytest.mark.parametrize(("sql", "params", "form"), FORMS, ids=range(len(FORMS)))
def test_writes_send_twilio_form_bodies(
    conn: driver.Connection,
    emu: Emulator,
    room: dict[str, str],
    sql: str,
    params: Any,
    form: list[tuple[str, str]],
) -> None:
    """Booleans as ``true``/``false``, methods upper-cased, ``WaitTime`` as ``Timeout``,
    a list as repeated fields, NULL as absent, ``ConferenceSid`` only in the path."""
    conn.cursor().execute(sql, params)
    sent = [r for r in emu.requests if r.method == "POST"]
    assert sent and all(r.status is not None and r.status < 400 for r in sent)
    assert all(r.form == form for r in sent), [r.form for r in sent]


def test_every_seed_input_is_sent_as_its_form_field(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    from tests.test_exec import SEED_INPUTS, _all_inputs

    inputs = _all_inputs(room["alice"])
    inputs["ConferenceSid"] = room["sid"]
    sql = "EXEC AddParticipants " + ", ".join(f"{n} = :{n}" for n in inputs)
    conn.cursor().execute(sql, inputs).fetchall()
    form = emu.requests[-1].form
    keys = [k for k, _ in form]
    assert "ConferenceSid" not in keys  # it went into the path
    assert "WaitTime" not in keys and ("Timeout", "45") in form
    for name in set(SEED_INPUTS) - {"ConferenceSid", "WaitTime"}:
        assert name in keys, name
    sent = dict(form)
    assert sent["StatusCallbackMethod"] == "GET"  # closed sets are sent as declared
    assert sent["Record"] == "true" and sent["Muted"] == "false"
    assert sent["StartConferenceOnEnter"] == "true" and sent["EndConferenceOnExit"] == "false"
    assert sent["EarlyMedia"] == "true" and sent["Coaching"] == "true"
    assert sent["WaitUrl"] == ""
    assert [v for k, v in form if k == "StatusCallbackEvent"] == [
        "initiated", "ringing", "answered", "completed",
    ]  # fmt: skip
    assert [v for k, v in form if k == "ConferenceStatusCallbackEvent"] == [
        "start", "end", "join", "leave", "mute", "hold", "modify", "speaker", "announcement",
    ]  # fmt: skip
    assert [v for k, v in form if k == "RecordingStatusCallbackEvent"] == [
        "in-progress", "completed", "absent",
    ]  # fmt: skip


# --- every request is an operation of Twilio's spec (moved from tests/test_spec_requests.py;
# skipped when ../shared/specs is absent) ----------------------------------------------

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
