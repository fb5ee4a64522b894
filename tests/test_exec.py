"""EXEC through the DB-API against the emulator over real HTTP.

Grammar, bindings and every refusal (nothing is sent for a bad call), the
AddParticipants request mapping and validation (seed 001), ModifyParticipants
and RemoveParticipant results, and that SELECT never places a call.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import driver
from driver import schema
from driver.emulator import DEMO_ACCOUNT_SID, Emulator
from tests.conftest import SHARED, received

SEED_001 = SHARED / "seeds" / "001_c6e62cc26662d886.txt"
PHONE_A = "+18149044818"
PHONE_B = "919602968074"
ADD = f"EXEC AddParticipants ConferenceSid = 'Room', From = '{PHONE_A}', To = '{PHONE_B}'"
CF_SID = re.compile(r"^CF[0-9a-f]{32}$")
CA_SID = re.compile(r"^CA[0-9a-f]{32}$")
ADD_RESULTS = ["AccountSid", "CallSid", "ConferenceSid", "Status"]
CATALOG = schema.load()
PARTICIPANT_COLUMNS = [c.name for c in CATALOG.tables["Participants"].columns]


def writes(emu: Emulator) -> list[tuple[str, str | None, tuple[str, ...]]]:
    """Every request that could change something: (method, operation, path arguments)."""
    return [
        (r.method, r.operation, r.args) for r in emu.requests if r.method not in ("GET", "HEAD")
    ]


def run(conn: driver.Connection, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    cur = conn.cursor().execute(sql, params)
    return cur.fetchall()


def names(cur: driver.Cursor) -> list[str]:
    assert cur.description is not None
    return [d[0] for d in cur.description]


def live(emu: Emulator, conference_sid: str) -> list[dict[str, object]]:
    live_statuses = {"queued", "connecting", "ringing", "connected"}
    return [p for p in emu.participants(conference_sid) if p["status"] in live_statuses]


@pytest.fixture
def room(emu: Emulator) -> dict[str, str]:
    """A live conference 'Room' with participants labelled alice and bob."""
    conf = emu.create_conference("Room")
    sid = str(conf["sid"])
    alice = emu.add_participant(sid, label="alice")
    bob = emu.add_participant(sid, label="bob")
    emu.requests.clear()
    return {"sid": sid, "alice": str(alice["call_sid"]), "bob": str(bob["call_sid"])}


# --- grammar and bindings -------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        ADD,
        ADD + ";",
        f"execute AddParticipants conferencesid = 'Room', FROM = '{PHONE_A}', to = '{PHONE_B}'",
        f"EXEC dbo.addparticipants @ConferenceSid = 'Room', @From = '{PHONE_A}', @To = '{PHONE_B}'",
        f"EXEC [AddParticipants] ConferenceSid = 'Room', From = '{PHONE_A}', To = '{PHONE_B}' ;",
        f"  -- comment\nEXEC AddParticipants ConferenceSid='Room',From='{PHONE_A}',To='{PHONE_B}'",
    ],
)
def test_exec_spellings(conn: driver.Connection, emu: Emulator, sql: str) -> None:
    cur = conn.cursor().execute(sql)
    assert names(cur) == ADD_RESULTS
    (row,) = cur.fetchall()
    assert cur.fetchone() is None
    assert writes(emu) == [("POST", "participants", ("Room",))]
    assert received(emu, row[2], row[1]) == {"From": PHONE_A, "To": PHONE_B}
    assert row[0] == DEMO_ACCOUNT_SID and CA_SID.match(row[1]) and CF_SID.match(row[2])


def test_seed_example_verbatim_creates_conference(conn: driver.Connection, emu: Emulator) -> None:
    sql = (
        "EXEC AddParticipants ConferenceSid = 'MyConference', From = '+18149044818', "
        "To = '919602968074'"
    )
    cur = conn.cursor().execute(sql)
    assert names(cur) == ADD_RESULTS
    assert cur.rowcount == 1
    rows = cur.fetchall()
    assert len(rows) == 1
    account, call, conference, status = rows[0]
    [conf] = emu.conferences()
    assert conf["friendly_name"] == "MyConference"
    assert conference == conf["sid"] and CF_SID.match(conference)  # the real SID, not the name
    assert account == DEMO_ACCOUNT_SID and status == "queued"
    [p] = emu.participants(conference)
    assert p["call_sid"] == call
    # a second call with the same friendly name joins the same live conference
    again = run(conn, sql)
    assert again[0][2] == conference and len(emu.conferences()) == 1
    assert len(live(emu, conference)) == 2


def test_escaped_quote_and_keyword_names(conn: driver.Connection, emu: Emulator) -> None:
    (row,) = run(conn, ADD + ", Label = 'O''Brien'")
    assert received(emu, row[2], row[1])["Label"] == "O'Brien"
    assert [p["label"] for p in emu.participants(row[2])] == ["O'Brien"]


def test_positional_bindings(conn: driver.Connection, emu: Emulator) -> None:
    sql = "EXEC AddParticipants ConferenceSid = ?, From = ?, To = ?, Muted = ?, WaitTime = ?"
    (row,) = run(conn, sql, ("Room", PHONE_A, "client:alice", True, 30))
    assert received(emu, row[2], row[1]) == {
        "From": PHONE_A,
        "To": "client:alice",
        "Timeout": 30,
        "Muted": True,
    }
    assert row[3] == "queued"


@pytest.mark.parametrize("marker", [":", "@"])
def test_named_bindings(conn: driver.Connection, emu: Emulator, marker: str) -> None:
    sql = (
        f"EXEC AddParticipants ConferenceSid = {marker}conf, From = {marker}from, "
        f"To = {marker}to, Label = {marker}label"
    )
    params = {"conf": "Room", "from": PHONE_A, "to": "sip:bob@example.com", "label": "x"}
    (row,) = run(conn, sql, params)
    assert received(emu, row[2], row[1]) == {
        "From": PHONE_A,
        "To": "sip:bob@example.com",
        "Label": "x",
    }


def test_executemany_runs_one_exec_per_parameter_set(
    conn: driver.Connection, emu: Emulator
) -> None:
    sql = "EXEC AddParticipants ConferenceSid = :c, From = :f, To = :t, Label = :l"
    params = [{"c": "Room", "f": PHONE_A, "t": PHONE_B, "l": f"p{i}"} for i in range(3)]
    cur = conn.cursor()
    cur.executemany(sql, params)
    assert cur.rowcount == 3
    posts = writes(emu)
    assert len(posts) == 3 and all(m == "POST" for m, _, _ in posts)
    [conf] = emu.conferences()
    assert [p["label"] for p in emu.participants(str(conf["sid"]))] == ["p0", "p1", "p2"]


def test_null_means_not_given(conn: driver.Connection, emu: Emulator) -> None:
    (row,) = run(conn, ADD + ", Label = NULL, WaitTime = ?", (None,))
    assert received(emu, row[2], row[1]) == {"From": PHONE_A, "To": PHONE_B}


def test_true_false_literals_sent_as_words(conn: driver.Connection, emu: Emulator) -> None:
    (row,) = run(
        conn, ADD + ", Muted = TRUE, EarlyMedia = FALSE, Record = 1, EndConferenceOnExit = 0"
    )
    got = received(emu, row[2], row[1])
    assert got["Muted"] is True and got["EarlyMedia"] is False
    assert got["Record"] is True and got["EndConferenceOnExit"] is False


# --- refusals: ProgrammingError naming the problem, nothing sent -----------------------


@pytest.mark.parametrize(
    ("sql", "params", "needles"),
    [
        (ADD + ", WaitTime = 10 + 20", None, ["WaitTime", "expression"]),
        (ADD + ", WaitTime = abs(30)", None, ["WaitTime", "function"]),
        (ADD + ", Label = 'a' || 'b'", None, ["Label"]),
        (ADD + ", Label = 'a', label = 'b'", None, ["Label", "twice"]),
        (ADD + ", @to = '+15550001111'", None, ["To", "twice"]),
        ("EXEC AddParticipant ConferenceSid = 'Room'", None, ["AddParticipant", "AddParticipants"]),
        (
            "EXEC NoSuchProc",
            None,
            [
                "NoSuchProc",
                "AddParticipants",
                "ModifyConference",
                "ModifyParticipants",
                "RemoveParticipant",
            ],
        ),
        (ADD + ", WaitTim = 30", None, ["WaitTim", "WaitTime"]),
        (ADD + ", Lable = 'x'", None, ["Lable", "Label"]),
        (ADD + ", Order = 1", None, ["Order"]),
        (f"EXEC AddParticipants ConferenceSid = 'Room', From = '{PHONE_A}'", None, ["To"]),
        (f"EXEC AddParticipants From = '{PHONE_A}', To = '{PHONE_B}'", None, ["ConferenceSid"]),
        (ADD.replace(f"'{PHONE_B}'", "NULL"), None, ["To"]),
        (ADD + " garbage", None, ["garbage"]),
        (ADD + "; SELECT 1", None, ["SELECT 1"]),
        (ADD + ", Label = ?", (), ["?"]),
        (ADD + ", Label = :lbl", {"other": 1}, ["lbl"]),
        ("EXEC ModifyParticipants ConferenceSid = 'Room', Muted = 1", None, ["CallSid"]),
    ],
)
def test_bad_calls_are_refused_before_sending(
    conn: driver.Connection, emu: Emulator, sql: str, params: Any, needles: list[str]
) -> None:
    with pytest.raises(driver.ProgrammingError) as info:
        conn.cursor().execute(sql, params)
    for needle in needles:
        assert needle.lower() in str(info.value).lower(), (needle, str(info.value))
    assert writes(emu) == []


def test_unknown_procedure_lists_known_ones(conn: driver.Connection, emu: Emulator) -> None:
    with pytest.raises(driver.ProgrammingError) as info:
        conn.cursor().execute("EXEC DropEverything")
    message = str(info.value)
    for proc in conn.provider.procedures:
        assert proc in message
    assert emu.requests == []


def test_select_never_places_a_call(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    sid = room["sid"]
    for sql, params in [
        ("SELECT * FROM sys_procedures", None),
        ("SELECT * FROM sys_procedureparameters", None),
        ("SELECT * FROM sys_tables", None),
        ("SELECT * FROM sys_tablecolumns", None),
        ("SELECT * FROM Conferences", None),
        ("SELECT * FROM Participants", None),
        ("SELECT * FROM Participants WHERE ConferenceSid = ?", (sid,)),
        ("SELECT * FROM Participants WHERE ConferenceSid = ? AND CallSid = ?", (sid, room["bob"])),
        ("SELECT * FROM Participants WHERE ConferenceSid = ? AND Label = 'alice'", (sid,)),
        ("SELECT Sid FROM Conferences WHERE Status = 'completed'", None),
        ("SELECT 'EXEC AddParticipants ConferenceSid = 1'", None),
        ("SELECT count(*) FROM Participants p JOIN Conferences c ON p.ConferenceSid = c.Sid", None),
    ]:
        conn.cursor().execute(sql, params).fetchall()
    assert emu.requests, "the table scans should have sent GETs"
    assert writes(emu) == []


# --- AddParticipants: seed 001 inputs, mapping, validation --------------------------------

SEED_INPUTS = [
    "ConferenceSid", "From", "To", "StatusCallback", "StatusCallbackMethod",
    "StatusCallbackEvent", "Label", "WaitTime", "Record", "Muted", "Beep",
    "StartConferenceOnEnter", "EndConferenceOnExit", "WaitUrl", "WaitMethod", "EarlyMedia",
    "MaxParticipants", "ConferenceRecord", "ConferenceTrim", "ConferenceStatusCallback",
    "ConferenceStatusCallbackMethod", "ConferenceStatusCallbackEvent", "RecordingChannels",
    "RecordingStatusCallback", "RecordingStatusCallbackMethod", "Region",
    "ConferenceRecordingStatusCallback", "ConferenceRecordingStatusCallbackMethod",
    "RecordingStatusCallbackEvent", "ConferenceRecordingStatusCallbackEvent", "Coaching",
    "CallSidToCoach", "JitterBufferSize", "Byoc", "CallerId", "CallReason", "RecordingTrack",
    "TimeLimit", "MachineDetection", "MachineDetectionTimeout",
    "MachineDetectionSpeechThreshold", "MachineDetectionSpeechEndThreshold",
    "MachineDetectionSilenceTimeout", "AmdStatusCallback", "AmdStatusCallbackMethod", "Trim",
    "CallToken", "ClientNotificationUrl", "CallerDisplayName",
]  # fmt: skip


def _seed_input_names(path: Path) -> list[str]:
    text = path.read_text()
    section = text.split("Input", 1)[1].split("Result Set Columns", 1)[0]
    return [
        line.split("|")[1].strip()
        for line in section.splitlines()
        if line.startswith("|") and line.split("|")[1].strip() not in ("Name", "")
    ]


def test_seed_001_inputs_match_schema() -> None:
    declared = [i.name for i in CATALOG.procedures["AddParticipants"].inputs]
    assert declared == SEED_INPUTS
    if SEED_001.exists():  # the shared seed, when this checkout has it
        assert _seed_input_names(SEED_001) == SEED_INPUTS


def _all_inputs(coach: str) -> dict[str, object]:
    url = "https://example.com/cb"
    return {
        "ConferenceSid": "Room",
        "From": PHONE_A,
        "To": PHONE_B,
        "StatusCallback": url,
        "StatusCallbackMethod": "get",
        "StatusCallbackEvent": "initiated ringing, answered,completed",
        "Label": "everything",
        "WaitTime": 45,
        "Record": True,
        "Muted": False,
        "Beep": "onEnter",
        "StartConferenceOnEnter": 1,
        "EndConferenceOnExit": 0,
        "WaitUrl": "",
        "WaitMethod": "POST",
        "EarlyMedia": "true",
        "MaxParticipants": 250,
        "ConferenceRecord": "record-from-start",
        "ConferenceTrim": "do-not-trim",
        "ConferenceStatusCallback": url,
        "ConferenceStatusCallbackMethod": "POST",
        "ConferenceStatusCallbackEvent": "start end join leave mute hold modify speaker "
        "announcement",
        "RecordingChannels": "dual",
        "RecordingStatusCallback": url,
        "RecordingStatusCallbackMethod": "GET",
        "Region": "ie1",
        "ConferenceRecordingStatusCallback": url,
        "ConferenceRecordingStatusCallbackMethod": "GET",
        "RecordingStatusCallbackEvent": "in-progress,completed,absent",
        "ConferenceRecordingStatusCallbackEvent": "in-progress completed failed absent",
        "Coaching": True,
        "CallSidToCoach": coach,
        "JitterBufferSize": "small",
        "Byoc": "BY" + "a" * 32,
        "CallerId": "client:agent",
        "CallReason": "Your order",
        "RecordingTrack": "both",
        "TimeLimit": 86400,
        "MachineDetection": "DetectMessageEnd",
        "MachineDetectionTimeout": 3,
        "MachineDetectionSpeechThreshold": 6000,
        "MachineDetectionSpeechEndThreshold": 500,
        "MachineDetectionSilenceTimeout": 10000,
        "AmdStatusCallback": url,
        "AmdStatusCallbackMethod": "POST",
        "Trim": "trim-silence",
        "CallToken": "tok-123",
        "ClientNotificationUrl": url,
        "CallerDisplayName": "Support Desk",
    }


def test_every_seed_input_is_accepted_and_mapped(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    inputs = _all_inputs(room["alice"])
    inputs["ConferenceSid"] = room["sid"]
    assert sorted(inputs) == sorted(SEED_INPUTS)
    sql = "EXEC AddParticipants " + ", ".join(f"{n} = :{n}" for n in inputs)
    cur = conn.cursor().execute(sql, inputs)
    assert names(cur) == ADD_RESULTS
    (row,) = cur.fetchall()
    assert row[2] == room["sid"]
    assert writes(emu) == [("POST", "participants", (room["sid"],))]
    got = received(emu, row[2], row[1])
    assert "ConferenceSid" not in got  # it named the conference
    assert "WaitTime" not in got and got["Timeout"] == 45
    assert got["StatusCallbackMethod"] == "GET"  # closed sets are sent as declared
    assert got["Record"] is True and got["Muted"] is False
    assert got["StartConferenceOnEnter"] is True and got["EndConferenceOnExit"] is False
    assert got["EarlyMedia"] is True and got["Coaching"] is True
    assert got["WaitUrl"] == ""
    assert got["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert got["ConferenceStatusCallbackEvent"] == [
        "start", "end", "join", "leave", "mute", "hold", "modify", "speaker", "announcement",
    ]  # fmt: skip
    assert got["RecordingStatusCallbackEvent"] == ["in-progress", "completed", "absent"]
    for name in set(SEED_INPUTS) - {"ConferenceSid", "WaitTime"}:
        assert name in got, name
    participant = next(p for p in emu.participants(room["sid"]) if p["label"] == "everything")
    assert participant["call_sid"] == row[1]
    assert participant["coaching"] is True and participant["call_sid_to_coach"] == room["alice"]


@pytest.mark.parametrize(
    ("extra", "name", "allowed"),
    [
        ("Beep = 'loud'", "Beep", ["true", "false", "onEnter", "onExit"]),
        ("StatusCallbackMethod = 'PUT'", "StatusCallbackMethod", ["GET", "POST"]),
        ("WaitMethod = 'DELETE'", "WaitMethod", ["GET", "POST"]),
        ("AmdStatusCallbackMethod = 'x'", "AmdStatusCallbackMethod", ["GET", "POST"]),
        (
            "ConferenceRecord = 'always'",
            "ConferenceRecord",
            ["true", "false", "record-from-start", "do-not-record"],
        ),
        ("ConferenceTrim = 'trim'", "ConferenceTrim", ["trim-silence", "do-not-trim"]),
        ("Trim = 'yes'", "Trim", ["trim-silence", "do-not-trim"]),
        ("RecordingChannels = 'stereo'", "RecordingChannels", ["mono", "dual"]),
        ("RecordingTrack = 'all'", "RecordingTrack", ["inbound", "outbound", "both"]),
        ("JitterBufferSize = 'huge'", "JitterBufferSize", ["large", "medium", "small", "off"]),
        ("MachineDetection = 'on'", "MachineDetection", ["Enable", "DetectMessageEnd"]),
        ("Region = 'mars1'", "Region", ["us1", "ie1"]),
        (
            "StatusCallbackEvent = 'initiated, hangup'",
            "StatusCallbackEvent",
            ["hangup", "initiated", "ringing", "answered", "completed"],
        ),
        (
            "ConferenceStatusCallbackEvent = 'start explode'",
            "ConferenceStatusCallbackEvent",
            ["explode", "start", "announcement"],
        ),
        (
            "RecordingStatusCallbackEvent = 'done'",
            "RecordingStatusCallbackEvent",
            ["started", "absent"],
        ),
        (
            "ConferenceRecordingStatusCallbackEvent = 'paused'",
            "ConferenceRecordingStatusCallbackEvent",
            ["in-progress", "completed", "failed", "absent"],
        ),
        ("MaxParticipants = 1", "MaxParticipants", ["2", "250"]),
        ("MaxParticipants = 251", "MaxParticipants", ["2", "250"]),
        ("WaitTime = 4", "WaitTime", ["5", "600"]),
        ("WaitTime = 601", "WaitTime", ["5", "600"]),
        ("WaitTime = 'soon'", "WaitTime", ["5", "600"]),
        ("TimeLimit = 0", "TimeLimit", ["1", "86400"]),
        ("MachineDetectionTimeout = 60", "MachineDetectionTimeout", ["3", "59"]),
        ("Muted = 'maybe'", "Muted", ["true", "false"]),
        ("Record = 2", "Record", ["true", "false"]),
        ("StatusCallback = 'not a url'", "StatusCallback", ["http"]),
        ("CallerId = 'nobody here'", "CallerId", ["phone", "client:", "sip:"]),
        ("Byoc = 'TR123'", "Byoc", ["BY"]),
        ("Coaching = TRUE", "Coaching", ["CallSidToCoach"]),
        ("Coaching = TRUE, CallSidToCoach = 'alice'", "CallSidToCoach", ["CA"]),
    ],
)
def test_invalid_values_raise_data_error_before_sending(
    conn: driver.Connection, emu: Emulator, extra: str, name: str, allowed: list[str]
) -> None:
    with pytest.raises(driver.DataError) as info:
        conn.cursor().execute(f"{ADD}, {extra}")
    message = str(info.value)
    assert name in message, message
    for value in allowed:
        assert value in message, (value, message)
    assert writes(emu) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("From", "hello world"),
        ("From", "+1 555 0100"),
        ("From", "mailto:x@example.com"),
        ("To", "sip:nohost"),
        ("To", ""),
        ("To", "client:"),
        ("To", "+0123"),
    ],
)
def test_endpoint_format_is_checked(
    conn: driver.Connection, emu: Emulator, field: str, value: str
) -> None:
    params = {"From": PHONE_A, "To": PHONE_B, field: value}
    with pytest.raises(driver.DataError) as info:
        conn.cursor().execute(
            "EXEC AddParticipants ConferenceSid = 'Room', From = :From, To = :To", params
        )
    message = str(info.value)
    assert field in message and "client:" in message and "sip:" in message
    assert writes(emu) == []


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("+18149044818", "919602968074"),
        ("client:agent_1", "client:customer"),
        ("+15550100", "sip:alice@example.com"),
        ("+441632960961", "app:AP" + "0" * 32),
    ],
)
def test_endpoint_formats_accepted(
    conn: driver.Connection, emu: Emulator, source: str, target: str
) -> None:
    (row,) = run(
        conn, "EXEC AddParticipants ConferenceSid = 'Room', From = ?, To = ?", (source, target)
    )
    assert received(emu, row[2], row[1]) == {"From": source, "To": target}


def test_from_may_be_sip_user_part(conn: driver.Connection, emu: Emulator) -> None:
    (row,) = run(conn, "EXEC AddParticipants ConferenceSid = 'Room', From = 'support', To = ?",
                 ("sip:bob@sip.example.com",))  # fmt: skip
    assert received(emu, row[2], row[1])["From"] == "support"


def test_list_input_from_python_list_binding(conn: driver.Connection, emu: Emulator) -> None:
    (row,) = run(conn, ADD + ", StatusCallbackEvent = ?", ("ringing,answered",))
    assert received(emu, row[2], row[1])["StatusCallbackEvent"] == ["ringing", "answered"]


def test_existing_friendly_name_joins_live_conference(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    (row,) = run(conn, ADD + ", Label = 'carol'")
    assert row[2] == room["sid"]
    assert [p["label"] for p in live(emu, room["sid"])] == ["alice", "bob", "carol"]
    assert len(emu.conferences()) == 1


def test_unknown_conference_sid_fails_with_404(conn: driver.Connection, emu: Emulator) -> None:
    missing = "CF" + "0" * 32
    with pytest.raises(driver.DatabaseError) as info:
        conn.cursor().execute(
            f"EXEC AddParticipants ConferenceSid = '{missing}', From = ?, To = ?",
            (PHONE_A, PHONE_B),
        )
    assert getattr(info.value, "status", None) == 404
    assert emu.conferences() == []  # no conference was created for a SID


def test_completed_conference_sid_fails_with_404(conn: driver.Connection, emu: Emulator) -> None:
    done = emu.create_conference("Old", status="completed")
    with pytest.raises(driver.DatabaseError) as info:
        run(conn, "EXEC AddParticipants ConferenceSid = ?, From = ?, To = ?",
            (done["sid"], PHONE_A, PHONE_B))  # fmt: skip
    assert getattr(info.value, "status", None) == 404


def test_provider_rejection_surfaces_as_data_error(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    with pytest.raises(driver.DataError) as info:
        run(conn, ADD + ", Label = 'alice'")  # label in use in that conference: 400
    assert getattr(info.value, "status", None) == 400
    assert len(live(emu, room["sid"])) == 2


# --- ModifyParticipants / RemoveParticipant / ModifyConference ---------------------------


def test_modify_participants_returns_updated_row(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    cur = conn.cursor().execute(
        "EXEC ModifyParticipants ConferenceSid = ?, CallSid = ?, Muted = TRUE, Hold = 1, "
        "HoldUrl = 'https://example.com/hold.mp3', HoldMethod = 'get', BeepOnExit = false, "
        "EndConferenceOnExit = true",
        (room["sid"], room["bob"]),
    )
    assert names(cur) == PARTICIPANT_COLUMNS
    assert cur.rowcount == 1
    (row,) = cur.fetchall()
    got = dict(zip(PARTICIPANT_COLUMNS, row, strict=True))
    assert got["ConferenceSid"] == room["sid"] and got["CallSid"] == room["bob"]
    assert got["Label"] == "bob" and got["AccountSid"] == DEMO_ACCOUNT_SID
    assert (got["Muted"], got["Hold"], got["EndConferenceOnExit"]) == (1, 1, 1)
    assert (got["Coaching"], got["CallSidToCoach"]) == (0, None)
    got = received(emu, room["sid"], room["bob"])
    assert got["HoldMethod"] == "GET" and got["BeepOnExit"] is False
    bob = next(p for p in emu.participants(room["sid"]) if p["label"] == "bob")
    assert bob["muted"] is True and bob["hold"] is True and bob["end_conference_on_exit"] is True


def test_modify_participants_by_friendly_name_and_label(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    emu.create_conference("Room", status="completed")  # an ended namesake is ignored
    emu.requests.clear()
    cur = conn.cursor().execute(
        "EXEC ModifyParticipants ConferenceSid = 'Room', CallSid = 'alice', Coaching = TRUE, "
        "CallSidToCoach = ?, AnnounceUrl = 'https://example.com/a.xml', AnnounceMethod = 'POST', "
        "WaitUrl = 'https://example.com/w', WaitMethod = 'GET'",
        (room["bob"],),
    )
    row = dict(zip(names(cur), cur.fetchone() or (), strict=True))
    assert row["ConferenceSid"] == room["sid"] and row["CallSid"] == room["alice"]
    assert row["Coaching"] == 1 and row["CallSidToCoach"] == room["bob"]
    assert writes(emu) == [("POST", "participant", (room["sid"], "alice"))]


def test_modify_participants_coaching_requires_call_to_coach(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    with pytest.raises(driver.DataError) as info:
        run(conn, "EXEC ModifyParticipants ConferenceSid = ?, CallSid = 'bob', Coaching = TRUE",
            (room["sid"],))  # fmt: skip
    assert "CallSidToCoach" in str(info.value)
    assert writes(emu) == []


def test_modify_participants_unknown_name_or_participant(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    with pytest.raises(driver.ProgrammingError) as info:
        run(conn, "EXEC ModifyParticipants ConferenceSid = 'Nope', CallSid = 'bob', Muted = 1")
    assert "Nope" in str(info.value) and getattr(info.value, "status", None) == 404
    with pytest.raises(driver.ProgrammingError) as info:
        run(conn, "EXEC ModifyParticipants ConferenceSid = 'Room', CallSid = 'zed', Muted = 1")
    assert getattr(info.value, "status", None) == 404
    assert all(p["muted"] is False for p in emu.participants(room["sid"]))


def test_modify_participants_rejects_unknown_input(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    with pytest.raises(driver.ProgrammingError) as info:
        run(conn, "EXEC ModifyParticipants ConferenceSid = 'Room', CallSid = 'bob', Mute = 1")
    assert "Muted" in str(info.value)
    assert emu.requests == []


def test_remove_participant(conn: driver.Connection, emu: Emulator, room: dict[str, str]) -> None:
    cur = conn.cursor().execute(
        "EXEC RemoveParticipant ConferenceSid = 'Room', CallSid = ?", (room["bob"],)
    )
    assert names(cur) == ["ConferenceSid", "CallSid"]
    assert cur.fetchall() == [(room["sid"], room["bob"])]
    assert emu.requests[-1].method == "DELETE" and emu.requests[-1].status == 204
    assert [p["label"] for p in live(emu, room["sid"])] == ["alice"]


def test_modify_conference_announce_and_end(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    cur = conn.cursor().execute(
        "EXEC ModifyConference Sid = 'Room', AnnounceUrl = 'https://example.com/a', "
        "AnnounceMethod = 'get'"
    )
    assert names(cur) == [c.name for c in CATALOG.tables["Conferences"].columns]
    options = emu.state.conferences[room["sid"]].options
    assert options["AnnounceUrl"] == "https://example.com/a"
    assert options["AnnounceMethod"] == "GET"
    row = dict(zip(names(cur), cur.fetchone() or (), strict=True))
    assert row["Sid"] == room["sid"] and row["Status"] == "in-progress"
    (ended,) = run(conn, "EXEC ModifyConference Sid = ?, Status = 'completed'", (room["sid"],))
    assert emu.conference(room["sid"])["status"] == "completed"
    assert "completed" in ended
