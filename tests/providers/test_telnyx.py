"""Provider=Telnyx (Call Control v2) against its emulator over real HTTP.

The wire (paths, deep-object query keys, Bearer auth, JSON bodies, envelopes,
string error codes, status words, NULL columns), the connection properties,
every procedure and what it refuses before sending, at most once under
injected faults, the paging that never answers short, and the sandbox.
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

import driver
from driver import loop
from driver.emulator import Emulator, EmulatorServer, RequestRecord
from driver.emulator.wires.telnyx import DEMO_API_KEY, DEMO_CONNECTION_ID
from driver.errors import (
    DataError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
)
from driver.http import OutcomeUnknown
from driver.providers.telnyx_paging import MAX_PASSES, _totals
from tests.conftest import ProviderUnderTest, wire_server

FROM, TO = "+15550100", "+15550199"
NOW = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_telnyx_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never pick up a developer's real Telnyx credentials."""
    for name in ("TELNYX_API_KEY", "TELNYX_CONNECTION_ID"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def tx(wire_servers: dict[str, EmulatorServer]) -> Iterator[ProviderUnderTest]:
    """The Telnyx emulator over HTTP (reset, clock at NOW) and ``connect(**props)`` to it."""
    running = wire_server(wire_servers, "telnyx")
    emulator = running.emulator
    emulator.reset()
    emulator.clock = lambda: NOW
    opened: list[driver.Connection] = []

    def connect(**props: Any) -> driver.Connection:
        props.setdefault("Provider", "Telnyx")
        props.setdefault("BaseUrl", running.base_url + "/v2")
        props.setdefault("ApiKey", DEMO_API_KEY)
        props.setdefault("ConnectionId", DEMO_CONNECTION_ID)
        props.setdefault("Timeout", 5)
        opened.append(driver.connect(**props))
        return opened[-1]

    yield ProviderUnderTest("Telnyx", emulator, running, connect)
    for conn in opened:
        conn.close()
    emulator.reset()


@pytest.fixture
def emu(tx: ProviderUnderTest) -> Iterator[Emulator]:
    yield tx.emu
    tx.emu.wire.before_page = None  # type: ignore[attr-defined]


@pytest.fixture
def conn(tx: ProviderUnderTest) -> driver.Connection:
    return tx.connect()


@pytest.fixture
def http(tx: ProviderUnderTest) -> Iterator[httpx.Client]:
    """A raw client with the demo key, for the wire's own answers."""
    base = tx.server.base_url + "/v2"
    headers = {"Authorization": f"Bearer {DEMO_API_KEY}"}
    with httpx.Client(base_url=base, headers=headers, timeout=5) as client:
        yield client


def rows(conn: driver.Connection, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
    return conn.cursor().execute(sql, params).fetchall()


def dicts(conn: driver.Connection, sql: str, params: Any = ()) -> list[dict[str, Any]]:
    cur = conn.cursor().execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def one(conn: driver.Connection, sql: str, params: Any = ()) -> dict[str, Any]:
    got = dicts(conn, sql, params)
    assert len(got) == 1, got
    return got[0]


def sent(emu: Emulator, method: str | None = None) -> list[RequestRecord]:
    return [r for r in emu.requests if method is None or r.method == method]


def room(emu: Emulator, name: str = "Room", status: str = "in-progress", **kw: Any) -> str:
    return str(emu.create_conference(name, status, **kw)["sid"])


def member(emu: Emulator, conference: str, **kw: Any) -> str:
    return str(emu.add_participant(conference, **kw)["call_sid"])


# --- connection properties ----------------------------------------------------------


def test_missing_api_key_names_the_property_and_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TELNYX_API_KEY", raising=False)
    with pytest.raises(ProgrammingError) as info:
        driver.connect("Provider=Telnyx")
    assert "ApiKey" in str(info.value) and "TELNYX_API_KEY" in str(info.value)
    assert "Sandbox" in str(info.value)


def test_environment_fallbacks(tx: ProviderUnderTest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELNYX_API_KEY", DEMO_API_KEY)
    monkeypatch.setenv("TELNYX_CONNECTION_ID", DEMO_CONNECTION_ID)
    conn = driver.connect(Provider="telnyx", BaseUrl=tx.server.base_url + "/v2", Timeout=5)
    try:
        room(tx.emu)
        assert len(rows(conn, "SELECT Sid FROM Conferences")) == 1
        assert conn.session.provider.settings["ConnectionId"] == DEMO_CONNECTION_ID
        assert DEMO_API_KEY not in repr(conn.session.provider.settings)
    finally:
        conn.close()


def test_twilio_properties_are_refused_by_name(tx: ProviderUnderTest) -> None:
    with pytest.raises(ProgrammingError, match=r"not used by Telnyx; Telnyx takes: .*ApiKey"):
        tx.connect(AccountSid="AC" + "0" * 32)


def test_default_server_is_the_specs(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = driver.connect(Provider="Telnyx", ApiKey="KEYsecret")
    try:
        assert conn.session.provider.base_url() == "https://api.telnyx.com/v2"
        assert "KEYsecret" not in repr(conn.session.provider.auth())
    finally:
        conn.close()


def test_a_rejected_key_is_named_but_never_shown(tx: ProviderUnderTest) -> None:
    conn = tx.connect(ApiKey="KEYnot-the-right-one")
    with pytest.raises(OperationalError) as info:
        rows(conn, "SELECT * FROM Conferences")
    message = str(info.value)
    assert "401" in message and "10009" in message and "ApiKey" in message
    assert "KEYnot-the-right-one" not in message
    assert info.value.code == "10009"


def test_sandbox_reads_and_writes() -> None:
    conn = driver.connect("Provider=Telnyx;Sandbox=true")
    try:
        live = rows(conn, "SELECT Sid, FriendlyName FROM Conferences WHERE Status = 'in-progress'")
        assert {"Daily Standup", "Customer Escalation"} <= {name for _, name in live}
        joined = rows(
            conn,
            "SELECT c.FriendlyName, p.CallSid FROM Conferences c "
            "JOIN Participants p ON p.ConferenceSid = c.Sid WHERE c.FriendlyName = 'Daily Standup'",
        )
        assert len(joined) == 4 and all(call.startswith("v3:") for _, call in joined)
        added = one(
            conn,
            "EXEC AddParticipants ConferenceSid = 'Daily Standup', From = '+15550100', "
            "To = '+15550101'",
        )
        assert added["CallSid"].startswith("v3:") and added["AccountSid"] is None
    finally:
        conn.close()


# --- the wire: reads ---------------------------------------------------------------------


def test_conference_list_request_and_mapping(conn: driver.Connection, emu: Emulator) -> None:
    live = room(emu, "Live")
    ended = room(emu, "Ended", date_created=NOW - timedelta(hours=1))
    ender = member(emu, ended, end_conference_on_exit=True)
    member(emu, ended)
    emu.hang_up(ender)
    emu.requests.clear()
    got = {r["Sid"]: r for r in dicts(conn, "SELECT * FROM Conferences")}
    (request,) = sent(emu)
    assert request.method == "GET" and request.path == "/v2/conferences"
    assert request.query == [("page[number]", "1"), ("page[size]", "250")]
    assert got[live]["Status"] == "in-progress"
    assert got[live]["DateCreated"] == "2026-11-20 12:00:00"
    assert got[ended]["Status"] == "completed"
    assert got[ended]["ReasonConferenceEnded"] == "participant-with-end-conference-on-exit-left"
    assert got[ended]["CallSidEndingConference"] == ender
    for row in got.values():
        assert row["AccountSid"] is None and row["ApiVersion"] is None and row["Uri"] is None


@pytest.mark.parametrize(
    ("internal", "telnyx", "sql"),
    [
        ("last-participant-left", "all_left", "last-participant-left"),
        ("conference-ended-via-api", "ended_via_api", "conference-ended-via-api"),
        (
            "participant-with-end-conference-on-exit-kicked",
            "host_left",
            "participant-with-end-conference-on-exit-left",
        ),
        (None, "time_exceeded", "time_exceeded"),
    ],
)
def test_end_reasons(
    conn: driver.Connection, emu: Emulator, internal: str | None, telnyx: str, sql: str
) -> None:
    sid = room(emu, status="completed", reason_conference_ended=internal)
    if internal is None:
        emu.state.conferences[sid].options["end_reason"] = "time_exceeded"
    assert emu.conferences()[0]["end_reason"] == telnyx
    assert rows(conn, "SELECT ReasonConferenceEnded FROM Conferences") == [(sql,)]


def test_filters_are_pushed_in_telnyx_words(conn: driver.Connection, emu: Emulator) -> None:
    a = room(emu, "A")
    room(emu, "B", status="init")
    room(emu, "A", status="completed")
    emu.requests.clear()
    assert rows(
        conn, "SELECT Sid FROM Conferences WHERE Status = 'in-progress' AND FriendlyName = 'A'"
    ) == [(a,)]
    (request,) = sent(emu)
    assert ("filter[status]", "in_progress") in request.query
    assert ("filter[name]", "A") in request.query
    emu.requests.clear()
    rows(conn, "SELECT Sid FROM Conferences WHERE DateCreated > '2026-01-01'")
    assert all(not k.startswith("filter") for k, _ in sent(emu)[0].query)  # no date filters


def test_fetch_by_id(conn: driver.Connection, emu: Emulator) -> None:
    sid = room(emu)
    emu.requests.clear()
    assert rows(conn, "SELECT FriendlyName FROM Conferences WHERE Sid = ?", (sid,)) == [("Room",)]
    assert [r.path for r in sent(emu)] == [f"/v2/conferences/{sid}"]
    missing = "00000000-0000-4000-8000-000000000000"
    assert rows(conn, "SELECT * FROM Conferences WHERE Sid = ?", (missing,)) == []
    assert rows(conn, "SELECT * FROM Conferences WHERE Sid = 'Room'") == []


def test_participants_mapping_and_nulls(conn: driver.Connection, emu: Emulator) -> None:
    sid = room(emu)
    joined = member(emu, sid, muted=True, label="ann")
    ringing = member(emu, sid, status="ringing", end_conference_on_exit=True)
    emu.requests.clear()
    got = {
        r["CallSid"]: r
        for r in dicts(conn, "SELECT * FROM Participants WHERE ConferenceSid = ?", (sid,))
    }
    assert [r.path for r in sent(emu)] == [f"/v2/conferences/{sid}/participants"]
    assert got[joined]["Status"] == "connected" and got[joined]["Muted"] == 1
    assert got[ringing]["Status"] == "connecting" and got[ringing]["EndConferenceOnExit"] == 1
    for row in got.values():
        assert row["ConferenceSid"] == sid
        for column in (
            "AccountSid",
            "Label",
            "Coaching",
            "CallSidToCoach",
            "StartConferenceOnEnter",
            "QueueTime",
            "Uri",
        ):
            assert row[column] is None, column


def test_participant_filters_pushed(conn: driver.Connection, emu: Emulator) -> None:
    sid = room(emu)
    muted = member(emu, sid, muted=True)
    member(emu, sid, hold=True)
    emu.requests.clear()
    assert rows(
        conn,
        "SELECT CallSid FROM Participants WHERE ConferenceSid = ? AND Muted = 1 AND Hold = 0",
        (sid,),
    ) == [(muted,)]
    (request,) = sent(emu)
    assert ("filter[muted]", "true") in request.query and (
        "filter[on_hold]",
        "false",
    ) in request.query
    emu.requests.clear()
    rows(conn, "SELECT CallSid FROM Participants WHERE ConferenceSid = ? AND Coaching = 1", (sid,))
    assert not any(k.startswith("filter") for k, _ in sent(emu)[0].query)


def test_fanout_lists_live_conferences_in_telnyx_words(
    conn: driver.Connection, emu: Emulator
) -> None:
    live = room(emu, "Live")
    starting = room(emu, "Starting", status="init")
    done = room(emu, "Done", status="completed")
    a, b = member(emu, live), member(emu, starting, status="ringing")
    emu.requests.clear()
    assert sorted(rows(conn, "SELECT CallSid FROM Participants")) == sorted([(a,), (b,)])
    statuses = sorted(
        dict(r.query).get("filter[status]", "") for r in sent(emu) if r.path == "/v2/conferences"
    )
    assert statuses == ["in_progress", "init"]
    assert not any(done in r.path for r in sent(emu))


def test_call_control_ids_are_one_encoded_segment(conn: driver.Connection, emu: Emulator) -> None:
    sid = room(emu)
    call = member(emu, sid)
    assert call.startswith("v3:")
    conn.cursor().execute(
        "EXEC ModifyParticipants ConferenceSid = ?, CallSid = ?, EndConferenceOnExit = 1",
        (sid, call),
    )
    conn.cursor().execute("EXEC RemoveParticipant ConferenceSid = ?, CallSid = ?", (sid, call))
    hangup = sent(emu, "POST")[-1]
    assert hangup.path == f"/v2/calls/{call.replace(':', '%3A')}/actions/hangup"


def test_error_codes_are_strings(conn: driver.Connection, emu: Emulator) -> None:
    sid = room(emu, status="completed")
    with pytest.raises(ProgrammingError) as info:
        conn.cursor().execute("EXEC ModifyConference Sid = ?, Status = 'completed'", (sid,))
    assert info.value.code == "90019" and info.value.status == 422
    assert "Conference has already ended" in str(info.value)
    conn.cursor().execute("SELECT 1").fetchall()  # one failure stays one failure


# --- the wire's own answers (raw HTTP) ---------------------------------------------------


def test_envelopes_and_errors_raw(http: httpx.Client, emu: Emulator) -> None:
    sid = room(emu)
    listing = http.get("/conferences", params={"page[size]": "1"}).json()
    assert listing["meta"] == {
        "page_number": 1,
        "page_size": 1,
        "total_pages": 1,
        "total_results": 1,
    }
    conference = listing["data"][0]
    assert conference["record_type"] == "conference" and conference["status"] == "in_progress"
    assert conference["created_at"] == "2026-11-20T12:00:00.000Z"
    assert conference["expires_at"] == "2026-11-20T16:00:00.000Z"
    assert http.get(f"/conferences/{sid}").json()["data"]["id"] == sid
    missing = http.get("/conferences/nope").json()
    assert missing == {
        "errors": [
            {
                "code": "90058",
                "title": "Invalid conference_id",
                "detail": "The conference does not exist.",
            }
        ]
    }
    bad = httpx.get(http.base_url.join("conferences"), headers={"Authorization": "Bearer wrong"})
    assert bad.status_code == 401 and bad.json()["errors"][0]["code"] == "10009"
    oversize = http.get("/conferences", params={"page[size]": "251"})
    assert oversize.status_code == 422 and oversize.json()["errors"][0]["code"] == "10033"
    cursor = http.get("/conferences", params={"page[after]": "x"})
    assert cursor.status_code == 400
    action = http.post(f"/conferences/{sid}/actions/mute", json={"call_control_ids": []})
    assert action.json() == {"data": {"result": "ok"}}


def test_empty_call_list_means_everyone_on_the_wire(http: httpx.Client, emu: Emulator) -> None:
    """Why the driver never sends one."""
    sid = room(emu)
    member(emu, sid)
    member(emu, sid)
    http.post(f"/conferences/{sid}/actions/mute", json={"call_control_ids": []})
    assert all(p["muted"] for p in emu.live_participants(sid))


# --- AddParticipants -----------------------------------------------------------------------


def test_add_participant_by_name_dials_with_conference_config(
    conn: driver.Connection, emu: Emulator
) -> None:
    sid = room(emu)
    got = one(
        conn,
        "EXEC AddParticipants ConferenceSid = 'Room', From = ?, To = ?, WaitTime = 45, Muted = 1, "
        "Beep = 'onExit', StartConferenceOnEnter = 1, EndConferenceOnExit = 0, EarlyMedia = 0, "
        "Record = 1, RecordingChannels = 'mono', TimeLimit = 600, CallerDisplayName = 'Ops'",
        (FROM, "sip:bob@example.com"),
    )
    (dial,) = [r for r in sent(emu, "POST")]
    assert dial.path == "/v2/calls"
    body = dict(dial.json)
    command = body.pop("command_id")
    assert len(command) == 36
    assert body == {
        "connection_id": DEMO_CONNECTION_ID,
        "from": FROM,
        "to": "sip:bob@example.com",
        "conference_config": {
            "conference_name": "Room",
            "mute": True,
            "start_conference_on_enter": True,
            "end_conference_on_exit": False,
            "early_media": False,
            "beep_enabled": "on_exit",
        },
        "timeout_secs": 45,
        "time_limit_secs": 600,
        "from_display_name": "Ops",
        "record": "record-from-answer",
        "record_channels": "single",
    }
    assert got["AccountSid"] is None and got["ConferenceSid"] == sid and got["Status"] == "queued"
    assert got["CallSid"] in {p["call_control_id"] for p in emu.live_participants(sid)}


def test_add_participant_by_id_and_coaching(conn: driver.Connection, emu: Emulator) -> None:
    sid = room(emu)
    agent = member(emu, sid)
    got = one(
        conn,
        "EXEC AddParticipants ConferenceSid = ?, From = ?, To = ?, Coaching = 1, CallSidToCoach = ?",
        (sid, FROM, TO, agent),
    )
    config = sent(emu, "POST")[-1].json["conference_config"]
    assert config == {"id": sid, "supervisor_role": "whisper", "whisper_call_control_ids": [agent]}
    assert got["ConferenceSid"] == sid
    assert not sent(emu, "GET")  # an id needs no lookup


def test_add_participant_to_a_new_name(conn: driver.Connection, emu: Emulator) -> None:
    got = one(conn, "EXEC AddParticipants ConferenceSid = 'Fresh', From = ?, To = ?", (FROM, TO))
    (created,) = emu.conferences()
    assert created["name"] == "Fresh" and got["ConferenceSid"] == created["id"]


def test_add_participant_needs_connection_id(tx: ProviderUnderTest, emu: Emulator) -> None:
    conn2 = driver.connect(
        Provider="Telnyx", BaseUrl=tx.server.base_url + "/v2", ApiKey=DEMO_API_KEY, Timeout=5
    )
    try:
        room(emu)
        with pytest.raises(
            ProgrammingError, match=r"ConnectionId .*TELNYX_CONNECTION_ID.*nothing was sent"
        ):
            conn2.cursor().execute(
                "EXEC AddParticipants ConferenceSid = 'Room', From = ?, To = ?", (FROM, TO)
            )
        assert not sent(emu)
        assert rows(conn2, "SELECT FriendlyName FROM Conferences") == [("Room",)]  # reads need none
    finally:
        conn2.close()


@pytest.mark.parametrize(
    ("extra", "error", "words"),
    [
        ("Label = 'x'", NotSupportedError, "'Label' is not supported by Telnyx.*cannot label"),
        ("StatusCallback = 'https://a.example/cb'", NotSupportedError, "webhook URL"),
        ("WaitUrl = ''", NotSupportedError, "'WaitUrl'"),
        ("MaxParticipants = 10", NotSupportedError, "'MaxParticipants'"),
        ("Byoc = 'BY" + "0" * 32 + "'", NotSupportedError, "'Byoc'"),
        ("TimeLimit = 20", DataError, "30 to 14400"),
    ],
)
def test_add_participant_refuses_before_sending(
    conn: driver.Connection, emu: Emulator, extra: str, error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words):
        conn.cursor().execute(
            f"EXEC AddParticipants ConferenceSid = 'Room', From = ?, To = ?, {extra}", (FROM, TO)
        )
    assert not sent(emu)


@pytest.mark.parametrize(
    ("field", "value"), [("From", "15550100"), ("To", "919602968074"), ("To", "client:bob")]
)
def test_add_participant_checks_telnyx_addresses(
    conn: driver.Connection, emu: Emulator, field: str, value: str
) -> None:
    values = {"From": FROM, "To": TO, field: value}
    with pytest.raises(DataError, match=r"E\.164"):
        conn.cursor().execute(
            "EXEC AddParticipants ConferenceSid = 'Room', From = ?, To = ?",
            (values["From"], values["To"]),
        )
    assert not sent(emu)


def test_insert_into_participants(conn: driver.Connection, emu: Emulator) -> None:
    sid = room(emu)
    cur = conn.cursor().execute(
        'INSERT INTO Participants (ConferenceSid, "From", "To", Muted) VALUES (?, ?, ?, 1)',
        (sid, FROM, TO),
    )
    assert cur.rowcount == 1
    assert sent(emu, "POST")[-1].json["conference_config"] == {"id": sid, "mute": True}


# --- JoinConference (seed 002) ---------------------------------------------------------------


def test_join_conference_sends_every_seed_field(conn: driver.Connection, emu: Emulator) -> None:
    sid = room(emu)
    agent = member(emu, sid)
    call = emu.create_call(FROM, TO)
    state = base64.b64encode(b'{"order": 42}').decode()
    got = one(
        conn,
        "EXEC JoinConference ConferenceSid = 'Room', CallSid = ?, Muted = 1, Hold = 1, "
        "HoldAudioUrl = 'https://a.example/hold.wav', StartConferenceOnEnter = 1, "
        "EndConferenceOnExit = 1, SoftEndConferenceOnExit = 0, Beep = 'true', "
        "SupervisorRole = 'whisper', WhisperCallSids = ?, ClientState = ?, CommandId = 'cmd-1'",
        (call, agent, state),
    )
    join = sent(emu, "POST")[-1]
    assert join.path == f"/v2/conferences/{sid}/actions/join"
    assert join.json == {
        "call_control_id": call,
        "command_id": "cmd-1",
        "mute": True,
        "hold": True,
        "hold_audio_url": "https://a.example/hold.wav",
        "start_conference_on_enter": True,
        "end_conference_on_exit": True,
        "soft_end_conference_on_exit": False,
        "supervisor_role": "whisper",
        "client_state": state,
        "beep_enabled": "always",
        "whisper_call_control_ids": [agent],
    }
    assert got["ConferenceSid"] == sid and got["CallSid"] == call
    assert got["Status"] == "connected" and got["Muted"] == 1 and got["Hold"] == 1
    assert got["EndConferenceOnExit"] == 1


def test_join_generates_a_command_id(conn: driver.Connection, emu: Emulator) -> None:
    sid = room(emu)
    call = emu.create_call(FROM, TO)
    conn.cursor().execute("EXEC JoinConference ConferenceSid = ?, CallSid = ?", (sid, call))
    assert len(sent(emu, "POST")[-1].json["command_id"]) == 36


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ("HoldAudioUrl = 'https://a.example/x.wav'", DataError),  # needs Hold
        ("Hold = 1, HoldAudioUrl = 'https://a.example/x.wav', HoldMediaName = 'x'", DataError),
        ("ClientState = 'not base64!'", DataError),
        ("SupervisorRole = 'boss'", DataError),
    ],
)
def test_join_seed_rules_hold_before_sending(
    conn: driver.Connection, emu: Emulator, extra: str, error: type[Exception]
) -> None:
    sid = room(emu)
    emu.requests.clear()
    with pytest.raises(error):
        conn.cursor().execute(
            f"EXEC JoinConference ConferenceSid = ?, CallSid = 'v3:abc', {extra}", (sid,)
        )
    assert not sent(emu)


def test_join_needs_a_live_conference(conn: driver.Connection, emu: Emulator) -> None:
    call = emu.create_call(FROM, TO)
    with pytest.raises(
        ProgrammingError, match=r"no live conference is named 'Nowhere'.*AddParticipants"
    ):
        conn.cursor().execute("EXEC JoinConference ConferenceSid = 'Nowhere', CallSid = ?", (call,))
    assert not sent(emu, "POST")


def test_join_a_call_that_ended(conn: driver.Connection, emu: Emulator) -> None:
    sid = room(emu)
    with pytest.raises(ProgrammingError) as info:
        conn.cursor().execute("EXEC JoinConference ConferenceSid = ?, CallSid = 'v3:gone'", (sid,))
    assert info.value.code == "90015"


# --- ModifyParticipants ----------------------------------------------------------------------


def test_modify_becomes_one_command_per_change(conn: driver.Connection, emu: Emulator) -> None:
    sid = room(emu)
    agent, call = member(emu, sid), member(emu, sid)
    emu.requests.clear()
    got = one(
        conn,
        "EXEC ModifyParticipants ConferenceSid = 'Room', CallSid = ?, Muted = 1, Hold = 1, "
        "HoldUrl = 'https://a.example/hold.wav', EndConferenceOnExit = 1, BeepOnExit = 0, "
        "Coaching = 1, CallSidToCoach = ?, AnnounceUrl = 'https://a.example/hi.wav'",
        (call, agent),
    )
    writes = [
        (r.method, r.path.rsplit("/", 1)[-1], r.json) for r in emu.requests if r.method != "GET"
    ]
    assert [w[:2] for w in writes] == [
        ("PATCH", writes[0][1]),
        ("POST", "mute"),
        ("POST", "hold"),
        ("POST", "update"),
        ("POST", "play"),
    ]
    assert writes[0][2] == {"end_conference_on_exit": True, "beep_enabled": "never"}
    assert writes[1][2] == {"call_control_ids": [call]}
    assert writes[2][2] == {"call_control_ids": [call], "audio_url": "https://a.example/hold.wav"}
    update = dict(writes[3][2])
    assert len(update.pop("command_id")) == 36
    assert update == {
        "call_control_id": call,
        "supervisor_role": "whisper",
        "whisper_call_control_ids": [agent],
    }
    assert writes[4][2] == {"audio_url": "https://a.example/hi.wav", "call_control_ids": [call]}
    assert got["Muted"] == 1 and got["Hold"] == 1 and got["EndConferenceOnExit"] == 1
    (p,) = [p for p in emu.live_participants(sid) if p["call_control_id"] == call]
    assert p["whisper_call_control_ids"] == [agent]


def test_no_command_ever_names_no_call(conn: driver.Connection, emu: Emulator) -> None:
    sid = room(emu)
    calls = [member(emu, sid) for _ in range(3)]
    conn.cursor().execute(
        "UPDATE Participants SET Muted = 1, Hold = 1 WHERE ConferenceSid = ? AND CallSid = ?",
        (sid, calls[0]),
    )
    conn.cursor().execute(
        "UPDATE Participants SET Muted = 0, Hold = 0 WHERE ConferenceSid = ?", (sid,)
    )
    for record in sent(emu, "POST"):
        assert record.json.get("call_control_ids") and all(record.json["call_control_ids"])
    assert not any(p["muted"] or p["on_hold"] for p in emu.live_participants(sid))


def test_unmute_and_unhold(conn: driver.Connection, emu: Emulator) -> None:
    sid = room(emu)
    call = member(emu, sid, muted=True, hold=True)
    emu.requests.clear()
    conn.cursor().execute(
        "EXEC ModifyParticipants ConferenceSid = ?, CallSid = ?, Muted = 0, Hold = 0, Coaching = 0",
        (sid, call),
    )
    assert [r.path.rsplit("/", 1)[-1] for r in sent(emu, "POST")] == ["unmute", "unhold", "update"]
    assert sent(emu, "POST")[-1].json["supervisor_role"] == "none"


@pytest.mark.parametrize(
    ("extra", "error", "words"),
    [
        ("HoldMethod = 'GET'", NotSupportedError, "HoldMethod"),
        ("WaitUrl = 'https://a.example/w'", NotSupportedError, "WaitUrl"),
        (
            "AnnounceMethod = 'POST', AnnounceUrl = 'https://a.example/a'",
            NotSupportedError,
            "AnnounceMethod",
        ),
        ("HoldUrl = 'https://a.example/h'", DataError, "needs Hold = 1"),
        ("Hold = 0, HoldUrl = 'https://a.example/h'", DataError, "needs Hold = 1"),
        ("AnnounceUrl = ''", DataError, "empty one plays nothing"),
    ],
)
def test_modify_refuses_before_sending(
    conn: driver.Connection, emu: Emulator, extra: str, error: type[Exception], words: str
) -> None:
    sid = room(emu)
    call = member(emu, sid)
    emu.requests.clear()
    with pytest.raises(error, match=words):
        conn.cursor().execute(
            f"EXEC ModifyParticipants ConferenceSid = ?, CallSid = ?, {extra}", (sid, call)
        )
    assert not sent(emu)


def test_modify_someone_not_in_the_conference(conn: driver.Connection, emu: Emulator) -> None:
    sid, other = room(emu), room(emu, "Other")
    call = member(emu, other)
    emu.requests.clear()
    with pytest.raises(ProgrammingError, match=r"not a live participant") as info:
        conn.cursor().execute(
            "EXEC ModifyParticipants ConferenceSid = ?, CallSid = ?, Muted = 1", (sid, call)
        )
    assert info.value.status == 404
    assert not sent(emu, "POST") and not sent(emu, "PATCH")


def test_partial_failure_says_what_was_carried_out(conn: driver.Connection, emu: Emulator) -> None:
    sid = room(emu)
    call = member(emu, sid)
    emu.faults.add("500", path_contains="/actions/hold", method="POST")
    with pytest.raises(OutcomeUnknown) as info:
        conn.cursor().execute(
            "EXEC ModifyParticipants ConferenceSid = ?, CallSid = ?, Muted = 1, Hold = 1, "
            "AnnounceUrl = 'https://a.example/a.wav'",
            (sid, call),
        )
    message = str(info.value)
    assert "may or may not" in message
    assert "Already carried out by this call: mute." in message
    assert "Not sent: play AnnounceUrl." in message
    assert "To check: SELECT * FROM Participants WHERE ConferenceSid = " in message
    assert len(emu.requests.matching("POST", "/actions/hold")) == 1  # never repeated
    assert not emu.requests.matching("POST", "/actions/play")
    (p,) = emu.live_participants(sid)
    assert p["muted"] and not p["on_hold"]  # the 500 fired before the hold was applied


def test_failure_of_the_first_command(conn: driver.Connection, emu: Emulator) -> None:
    sid = room(emu, status="in-progress")
    call = member(emu, sid)
    emu.faults.add("500", path_contains="/actions/mute", method="POST")
    with pytest.raises(
        OutcomeUnknown, match=r"No earlier request of this call had been sent. Not sent: hold"
    ):
        conn.cursor().execute(
            "EXEC ModifyParticipants ConferenceSid = ?, CallSid = ?, Muted = 1, Hold = 1",
            (sid, call),
        )
    assert rows(conn, "SELECT COUNT(*) FROM Participants WHERE ConferenceSid = ?", (sid,)) == [(1,)]


# --- RemoveParticipant and DELETE ------------------------------------------------------------------


def test_remove_hangs_up_with_a_command_id(conn: driver.Connection, emu: Emulator) -> None:
    sid = room(emu)
    call, other = member(emu, sid), member(emu, sid)
    got = one(conn, "EXEC RemoveParticipant ConferenceSid = 'Room', CallSid = ?", (call,))
    assert got == {"ConferenceSid": sid, "CallSid": call}
    hangup = sent(emu, "POST")[-1]
    assert hangup.path.endswith("/actions/hangup") and set(hangup.json) == {"command_id"}
    assert [p["call_control_id"] for p in emu.live_participants(sid)] == [other]


def test_remove_checks_membership_first(conn: driver.Connection, emu: Emulator) -> None:
    sid, other = room(emu), room(emu, "Other")
    call = member(emu, other)
    with pytest.raises(ProgrammingError, match=r"not a live participant.*nothing was sent"):
        conn.cursor().execute("EXEC RemoveParticipant ConferenceSid = ?, CallSid = ?", (sid, call))
    assert not sent(emu, "POST")
    assert len(emu.live_participants(other)) == 1


def test_delete_where_an_earlier_row_ended_the_conference(
    conn: driver.Connection, emu: Emulator
) -> None:
    sid = room(emu)
    member(emu, sid, end_conference_on_exit=True, date_created=NOW - timedelta(minutes=5))
    member(emu, sid)
    cur = conn.cursor()
    cur.execute("DELETE FROM Participants WHERE ConferenceSid = ?", (sid,))
    assert cur.rowcount == 2
    assert any("already gone" in text for _, text in cur.messages)
    assert emu.conferences()[0]["status"] == "completed"


# --- ModifyConference ----------------------------------------------------------------------------


def test_end_a_conference_by_name(conn: driver.Connection, emu: Emulator) -> None:
    sid = room(emu)
    member(emu, sid)
    got = one(
        conn,
        "EXEC ModifyConference Sid = 'Room', AnnounceUrl = 'https://a.example/bye.wav', Status = 'completed'",
    )
    play, end = sent(emu, "POST")
    assert play.path == f"/v2/conferences/{sid}/actions/play"
    assert play.json == {"audio_url": "https://a.example/bye.wav"}  # everyone hears it
    assert end.path == f"/v2/conferences/{sid}/actions/end" and set(end.json) == {"command_id"}
    assert got["Sid"] == sid and got["Status"] == "completed"
    assert got["ReasonConferenceEnded"] == "conference-ended-via-api"


def test_update_conferences_set_status(conn: driver.Connection, emu: Emulator) -> None:
    keep, end = room(emu, "Keep"), room(emu, "End")
    cur = conn.cursor().execute(
        "UPDATE Conferences SET Status = 'completed' WHERE FriendlyName = 'End'"
    )
    assert cur.rowcount == 1
    statuses = {c["id"]: c["status"] for c in emu.conferences()}
    assert statuses == {keep: "in_progress", end: "completed"}


def test_modify_conference_refuses_announce_method(conn: driver.Connection, emu: Emulator) -> None:
    room(emu)
    with pytest.raises(NotSupportedError, match=r"AnnounceMethod"):
        conn.cursor().execute(
            "EXEC ModifyConference Sid = 'Room', AnnounceUrl = 'https://a.example/x', AnnounceMethod = 'GET'"
        )
    assert not sent(emu)


# --- at most once ----------------------------------------------------------------------------------


def test_dial_retried_with_its_key_places_one_call(conn: driver.Connection, emu: Emulator) -> None:
    sid = room(emu)
    emu.faults.add("drop", path_contains="/v2/calls", method="POST", after_processing=True)
    got = one(conn, "EXEC AddParticipants ConferenceSid = ?, From = ?, To = ?", (sid, FROM, TO))
    dials = emu.requests.matching("POST", "/v2/calls")
    assert len(dials) == 2 and dials[0].json["command_id"] == dials[1].json["command_id"]
    assert [p["call_control_id"] for p in emu.live_participants(sid)] == [got["CallSid"]]


@pytest.mark.parametrize("kind", ["500", "drop"])
def test_keyed_commands_survive_unknown_outcomes(
    conn: driver.Connection, emu: Emulator, kind: str
) -> None:
    sid = room(emu)
    call = member(emu, sid)
    emu.faults.add(kind, path_contains="/actions/hangup", after_processing=True)
    conn.cursor().execute("EXEC RemoveParticipant ConferenceSid = ?, CallSid = ?", (sid, call))
    hangups = emu.requests.matching("POST", "/actions/hangup")
    assert len(hangups) == 2 and hangups[0].json == hangups[1].json
    emu.faults.add(kind, path_contains="/actions/end", after_processing=True)
    conn.cursor().execute("EXEC ModifyConference Sid = ?, Status = 'completed'", (room(emu, "B"),))
    assert len(emu.requests.matching("POST", "/actions/end")) == 2


def test_keyless_command_is_never_repeated(conn: driver.Connection, emu: Emulator) -> None:
    sid = room(emu)
    call = member(emu, sid)
    emu.faults.add("drop", path_contains="/actions/mute", after_processing=True)
    with pytest.raises(OutcomeUnknown, match=r"may or may not have been carried out") as info:
        conn.cursor().execute(
            "EXEC ModifyParticipants ConferenceSid = ?, CallSid = ?, Muted = 1", (sid, call)
        )
    assert "To check: SELECT * FROM Participants WHERE ConferenceSid = " in str(info.value)
    assert len(emu.requests.matching("POST", "/actions/mute")) == 1
    assert emu.live_participants(sid)[0]["muted"]  # it was carried out; the answer was lost


def test_keyless_command_is_resent_after_429(conn: driver.Connection, emu: Emulator) -> None:
    sid = room(emu)
    call = member(emu, sid)
    emu.faults.add("429", path_contains="/actions/play", retry_after=0)
    conn.cursor().execute(
        "EXEC ModifyParticipants ConferenceSid = ?, CallSid = ?, AnnounceUrl = 'https://a.example/a'",
        (sid, call),
    )
    assert len(emu.requests.matching("POST", "/actions/play")) == 2


def test_keyed_command_that_never_answers(tx: ProviderUnderTest, emu: Emulator) -> None:
    conn = tx.connect(RetryBudget=1)
    sid = room(emu)
    call = emu.create_call(FROM, TO)
    emu.faults.add("drop", count=20, path_contains="/actions/join", after_processing=True)
    with pytest.raises(OutcomeUnknown, match=r"same idempotency key.*safe") as info:
        conn.cursor().execute(
            "EXEC JoinConference ConferenceSid = ?, CallSid = ?, CommandId = 'k1'", (sid, call)
        )
    assert "To check: SELECT * FROM Participants" in str(info.value)
    joins = emu.requests.matching("POST", "/actions/join")
    assert len(joins) >= 2 and {r.json["command_id"] for r in joins} == {"k1"}
    assert len(emu.live_participants(sid)) == 1  # carried out once, whatever the retries


# --- paging ---------------------------------------------------------------------------------------


def many(emu: Emulator, count: int, name: str = "c") -> list[str]:
    return [room(emu, f"{name}{i}", date_created=NOW - timedelta(seconds=i)) for i in range(count)]


def list_pages(emu: Emulator) -> list[RequestRecord]:
    return [r for r in emu.requests if r.path == "/v2/conferences"]


def test_pages_after_the_first_are_fetched_concurrently(
    tx: ProviderUnderTest, emu: Emulator
) -> None:
    sids = many(emu, 1100)
    emu.requests.clear()
    emu.latency = 0.3
    got = rows(tx.connect(MaxConcurrency=8), "SELECT Sid FROM Conferences")
    assert sorted(s for (s,) in got) == sorted(sids)
    pages = {dict(r.query)["page[number]"]: r.time for r in list_pages(emu)}
    assert sorted(pages, key=int) == ["1", "2", "3", "4", "5"]
    later = [pages[n] for n in ("2", "3", "4", "5")]
    assert min(later) - pages["1"] >= 0.3  # page 1 first (its totals say how many follow)
    assert max(later) - min(later) < 0.3  # then all the others at once


def test_max_concurrency_one_reads_pages_one_by_one(tx: ProviderUnderTest, emu: Emulator) -> None:
    many(emu, 600)
    emu.requests.clear()
    emu.latency = 0.1
    assert len(rows(tx.connect(MaxConcurrency=1), "SELECT Sid FROM Conferences")) == 600
    times = sorted(r.time for r in list_pages(emu))
    assert len(times) == 3 and all(b - a >= 0.1 for a, b in itertools.pairwise(times))


def test_limit_reads_one_small_page(conn: driver.Connection, emu: Emulator) -> None:
    many(emu, 600)
    emu.requests.clear()
    assert len(rows(conn, "SELECT Sid FROM Conferences LIMIT 5")) == 5
    (request,) = list_pages(emu)
    assert ("page[size]", "5") in request.query


def test_a_small_first_page_then_full_pages(conn: driver.Connection, emu: Emulator) -> None:
    """A reader that wants more than its LIMIT-sized first page gets full pages, no repeats."""
    sids = many(emu, 300)
    emu.requests.clear()
    session = conn.session
    mapping = session.provider.tables["Conferences"]

    async def read_all() -> list[str]:
        out: list[str] = []
        pages = session.requester.pages("Conferences", mapping, {}, [], page_size=5)
        async with loop.closing(pages) as listing:
            async for items in listing:
                out.extend(str(i["id"]) for i in items)
        return out

    got = loop.run(read_all())
    assert len(got) == 300 and sorted(got) == sorted(sids)
    sizes = [dict(r.query)["page[size]"] for r in list_pages(emu)]
    assert sizes == ["5", "250", "250"]


def test_a_conference_added_between_pages(conn: driver.Connection, emu: Emulator) -> None:
    sids = many(emu, 600)
    added: list[str] = []

    def churn(page: int) -> None:
        if page == 2 and not added:  # newest first: every later page shifts by one
            added.append(room(emu, "late"))

    emu.wire.before_page = churn  # type: ignore[attr-defined]
    got = [s for (s,) in rows(conn, "SELECT Sid FROM Conferences")]
    assert len(got) == len(set(got))  # nothing twice
    assert set(got) == set(sids) | set(added)  # nothing missing
    assert len(list_pages(emu)) == 6  # the first pass did not hold still: one more


def test_a_list_read_again_is_not_answered_from_the_cache(
    tx: ProviderUnderTest, emu: Emulator
) -> None:
    sids = many(emu, 600)
    added: list[str] = []

    def churn(page: int) -> None:
        if page == 2 and not added:
            added.append(room(emu, "late"))

    emu.wire.before_page = churn  # type: ignore[attr-defined]
    got = [s for (s,) in rows(tx.connect(CacheTtl=60), "SELECT Sid FROM Conferences")]
    assert len(got) == len(set(got)) and set(got) == set(sids) | set(added)
    assert len(list_pages(emu)) == 6


def test_a_conference_gone_between_pages(conn: driver.Connection, emu: Emulator) -> None:
    sids = many(emu, 600)
    gone: list[str] = []

    def churn(page: int) -> None:
        if page == 3 and not gone:  # one row of page 1 goes: page 3 would skip one
            victim = emu.state.conferences[sids[10]]
            emu.state.by_account[victim.account_sid].remove(victim)
            gone.append(victim.sid)

    emu.wire.before_page = churn  # type: ignore[attr-defined]
    got = [s for (s,) in rows(conn, "SELECT Sid FROM Conferences")]
    assert len(got) == len(set(got))
    assert set(sids) - set(gone) <= set(got) <= set(sids)


def test_one_in_one_out_between_pages_is_caught(conn: driver.Connection, emu: Emulator) -> None:
    """Totals that still agree, but a row shifted past a page boundary."""
    sids = many(emu, 600)
    done: list[str] = []

    def churn(page: int) -> None:
        if page == 2 and not done:
            done.append(room(emu, "late"))
            last = emu.state.conferences[sids[-1]]
            emu.state.by_account[last.account_sid].remove(last)

    emu.wire.before_page = churn  # type: ignore[attr-defined]
    got = {s for (s,) in rows(conn, "SELECT Sid FROM Conferences")}
    assert set(sids[:-1]) | set(done) <= got


def test_a_list_that_never_holds_still(conn: driver.Connection, emu: Emulator) -> None:
    many(emu, 300)

    def churn(page: int) -> None:
        if page == 2:
            room(emu, "again")

    emu.wire.before_page = churn  # type: ignore[attr-defined]
    with pytest.raises(OperationalError, match=r"kept changing"):
        rows(conn, "SELECT Sid FROM Conferences")
    assert len(list_pages(emu)) == 2 * MAX_PASSES
    emu.wire.before_page = None  # type: ignore[attr-defined]
    assert len(rows(conn, "SELECT Sid FROM Conferences")) == 300 + MAX_PASSES


def test_a_failed_page_fails_the_scan_and_leaves_nothing_running(
    conn: driver.Connection, emu: Emulator
) -> None:
    many(emu, 1300)
    emu.faults.add("500", path_contains="/v2/conferences", query_contains="page[number]=3")
    emu.latency = 0.05
    with pytest.raises(OperationalError, match=r"500"):
        rows(conn, "SELECT Sid FROM Conferences")
    assert conn.session.client.in_flight == 0
    assert loop.live_tasks() == 0
    assert len(rows(conn, "SELECT Sid FROM Conferences")) == 1300


def test_an_abandoned_scan_cancels_its_pages(conn: driver.Connection, emu: Emulator) -> None:
    many(emu, 1300)
    emu.latency = 0.05
    cur = conn.cursor().execute("SELECT Sid FROM Conferences WHERE FriendlyName LIKE 'c%'")
    assert cur.fetchone() is not None
    cur.close()
    assert conn.session.client.in_flight == 0
    assert loop.live_tasks() == 0


def test_answers_without_totals_are_refused() -> None:
    with pytest.raises(OperationalError, match=r"meta.total_pages"):
        _totals({"data": []}, 1, "list Conferences")
    with pytest.raises(OperationalError, match=r"asked for page 2"):
        _totals({"meta": {"total_pages": 3, "total_results": 60, "page_number": 1}}, 2, "x")
