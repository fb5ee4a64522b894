"""Provider=TelnyxTeXML against its emulator over real HTTP: the wire, properties and procedures.

The SQL semantics (filters, IN, LIMIT, joins, typeof) are the provider-neutral
tests' job (tests/test_reads*.py run them on TelnyxTeXML too); this module
checks what is TeXML's own: Bearer auth, ``/v2/texml`` paths with percent-encoded
``v3:`` call SIDs, host-joined ``next_page_uri`` paging, space-separated list
inputs, the error bodies, the NULL columns and the status mapping, and every
procedure, including what is refused before anything is sent and what happens
when the answer is lost.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import pytest

import driver
from driver.emulator import Emulator, EmulatorServer
from driver.emulator.encoding import embed
from driver.emulator.wires import texml as wire
from driver.providers import provider_class
from driver.providers.texml import _on_host, conference_texml
from tests.conftest import wire_server

PROVIDER = "TelnyxTeXML"
ROOT = f"/v2/texml/Accounts/{wire.DEMO_ACCOUNT}"
FROM, TO = "+18149044818", "+19196028074"
TELNYX_ENV = ("TELNYX_API_KEY", "TELNYX_ACCOUNT_SID", "TELNYX_APPLICATION_SID")


@pytest.fixture(autouse=True)
def _no_telnyx_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in TELNYX_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def texml_server(wire_servers: dict[str, EmulatorServer]) -> EmulatorServer:
    """The TeXML emulator over HTTP, shared with the provider-neutral tests."""
    running = wire_server(wire_servers, "texml")
    return running


@pytest.fixture
def emu(texml_server: EmulatorServer) -> Iterator[Emulator]:
    texml_server.emulator.reset()
    yield texml_server.emulator
    texml_server.emulator.reset()


@pytest.fixture
def connect(texml_server: EmulatorServer, emu: Emulator) -> Iterator[Any]:
    opened: list[driver.Connection] = []

    def _connect(**props: Any) -> driver.Connection:
        props.setdefault("Provider", PROVIDER)
        props.setdefault("BaseUrl", texml_server.base_url + "/v2")
        props.setdefault("ApiKey", wire.DEMO_API_KEY)
        props.setdefault("AccountSid", wire.DEMO_ACCOUNT)
        props.setdefault("Timeout", 5)
        conn = driver.connect(**props)
        opened.append(conn)
        return conn

    yield _connect
    for conn in opened:
        conn.close()


@pytest.fixture
def conn(connect: Any) -> driver.Connection:
    return connect()  # type: ignore[no-any-return]


@pytest.fixture
def room(emu: Emulator) -> dict[str, str]:
    """A live conference 'Room' with two participants: 'bob' (labelled) and one without."""
    sid = str(emu.create_conference("Room")["sid"])
    bob = str(emu.add_participant(sid, label="bob")["call_sid"])
    other = str(emu.add_participant(sid, muted=True)["call_sid"])
    emu.requests.clear()
    return {"sid": sid, "bob": bob, "other": other}


def rows(conn: driver.Connection, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
    return conn.cursor().execute(sql, params).fetchall()


def sent(emu: Emulator, method: str | None = None) -> list[Any]:
    return [r for r in emu.requests if method is None or r.method == method]


# --- properties and credentials ------------------------------------------------------


def test_missing_credentials_name_the_properties_and_variables() -> None:
    with pytest.raises(driver.ProgrammingError) as err:
        driver.connect(f"Provider={PROVIDER};ApiKey=KEYx")
    message = str(err.value)
    for word in ("AccountSid", "ApiKey", "TELNYX_API_KEY", "TELNYX_ACCOUNT_SID", "Sandbox=true"):
        assert word in message
    assert "KEYx" not in message


def test_environment_fallbacks(
    monkeypatch: pytest.MonkeyPatch, texml_server: EmulatorServer, emu: Emulator
) -> None:
    monkeypatch.setenv("TELNYX_API_KEY", wire.DEMO_API_KEY)
    monkeypatch.setenv("TELNYX_ACCOUNT_SID", wire.DEMO_ACCOUNT)
    monkeypatch.setenv("TELNYX_APPLICATION_SID", "1846572522338780702")
    emu.create_conference("Env")
    with driver.connect(f"Provider={PROVIDER};BaseUrl={texml_server.base_url}/v2") as conn:
        assert rows(conn, "SELECT FriendlyName FROM Conferences") == [("Env",)]
        assert conn.session.provider.settings["ApplicationSid"] == "1846572522338780702"


def test_properties_of_other_providers_and_twilio_accounts_are_refused() -> None:
    with pytest.raises(driver.ProgrammingError, match="ApplicationSid"):
        driver.connect(f"Provider={PROVIDER};ApiKey=k;AccountSid=a;AuthToken=t")
    with pytest.raises(driver.ProgrammingError, match="Twilio account SID"):
        driver.connect(f"Provider={PROVIDER};ApiKey=k;AccountSid=AC{'0' * 32}")


def test_default_base_url_is_the_specs_server() -> None:
    cls = provider_class(PROVIDER)
    assert cls is not None
    conn = driver.connect(f"Provider={PROVIDER};ApiKey=k;AccountSid=a")
    try:
        assert conn.session.provider.base_url() == "https://api.telnyx.com/v2"
        assert "k" not in repr(conn.session.provider.auth())
    finally:
        conn.close()


def test_wrong_key_is_an_operational_error_without_the_key(connect: Any, emu: Emulator) -> None:
    conn = connect(ApiKey="KEYwrong-secret-value")
    with pytest.raises(driver.OperationalError) as err:
        rows(conn, "SELECT * FROM Conferences")
    assert err.value.status == 401
    assert "ApiKey" in str(err.value) and "KEYwrong-secret-value" not in str(err.value)
    assert emu.requests[-1].status == 401


def test_sandbox() -> None:
    with driver.connect(f"Provider={PROVIDER};Sandbox=true") as conn:
        names = {name for (name,) in rows(conn, "SELECT FriendlyName FROM Conferences")}
        assert {"Daily Standup", "Board Review"} <= names
        (call_sid,) = rows(conn, "SELECT CallSid FROM Participants LIMIT 1")[0]
        assert call_sid.startswith("v3:")


# --- the wire ----------------------------------------------------------------------------


def test_bearer_auth_and_paths_without_json(conn: driver.Connection, emu: Emulator) -> None:
    emu.create_conference("Solo")
    emu.requests.clear()
    rows(conn, "SELECT * FROM Conferences WHERE Status = 'in-progress' AND FriendlyName = 'Solo'")
    [request] = sent(emu)
    assert request.path == f"{ROOT}/Conferences"
    assert ("Status", "in-progress") in request.query
    assert ("FriendlyName", "Solo") in request.query
    assert ("PageSize", "1000") in request.query
    assert request.account_sid == wire.DEMO_ACCOUNT


def test_date_filters_are_not_pushed(conn: driver.Connection, emu: Emulator) -> None:
    emu.create_conference("Today")
    emu.requests.clear()
    got = rows(conn, "SELECT FriendlyName FROM Conferences WHERE DateCreated >= '2000-01-01'")
    assert got == [("Today",)]
    [request] = sent(emu)
    assert [k for k, _ in request.query] == ["PageSize"]


def test_conference_paging_follows_next_page_uri_on_the_host(
    conn: driver.Connection, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wire, "MAX_PAGE_SIZE", 7)
    made = [str(emu.create_conference(f"C{i}")["sid"]) for i in range(30)]
    emu.requests.clear()
    got = [sid for (sid,) in rows(conn, "SELECT Sid FROM Conferences WHERE Status = 'in-progress'")]
    assert sorted(got) == sorted(made) and len(got) == 30
    requests = sent(emu)
    assert len(requests) == 5
    assert requests[0].path == f"{ROOT}/Conferences"
    for later in requests[1:]:  # the link as given, joined to the host (not to /v2)
        assert later.path == f"{ROOT}/Conferences.json"
        keys = [k for k, _ in later.query]
        assert keys == ["Status", "Page", "PageSize", "PageToken"]


def test_participant_list_sends_no_query_and_pages_by_links(
    conn: driver.Connection, emu: Emulator
) -> None:
    sid = str(emu.create_conference("Big")["sid"])
    calls = [str(emu.add_participant(sid, muted=i % 2 == 0)["call_sid"]) for i in range(45)]
    emu.requests.clear()
    got = rows(
        conn, "SELECT CallSid FROM Participants WHERE ConferenceSid = ? AND Muted = 1", (sid,)
    )
    assert [c for (c,) in got] == calls[::2]
    requests = sent(emu)
    assert len(requests) == 3  # 20 + 20 + 5: the list's own page size
    assert requests[0].path == f"{ROOT}/Conferences/{sid}/Participants"
    assert requests[0].query == []
    assert all(r.path.endswith("/Participants.json") for r in requests[1:])


def test_call_sids_are_percent_encoded_in_paths(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    got = rows(
        conn,
        "SELECT CallSid, Muted FROM Participants WHERE ConferenceSid = ? AND CallSid = ?",
        (room["sid"], room["other"]),
    )
    assert got == [(room["other"], 1)]
    [request] = sent(emu)
    assert ":" not in request.path.rsplit("/", 1)[1]
    assert unquote(request.path) == f"{ROOT}/Conferences/{room['sid']}/Participants/{room['other']}"


def test_null_columns_and_coaching(conn: driver.Connection, emu: Emulator) -> None:
    sid = str(emu.create_conference("Coached")["sid"])
    agent = str(emu.add_participant(sid, label="agent")["call_sid"])
    emu.add_participant(sid, label="coach", call_sid_to_coach=agent)
    got = rows(
        conn,
        "SELECT Label, StartConferenceOnEnter, QueueTime, Coaching, CallSidToCoach "
        "FROM Participants WHERE ConferenceSid = ? ORDER BY Coaching",
        (sid,),
    )
    assert got == [(None, None, None, 0, None), (None, None, None, 1, agent)]
    # The label is never shown, so a SELECT by label finds nothing (rather than a guess).
    assert rows(conn, "SELECT * FROM Participants WHERE Label = 'agent'") == []


def test_completed_reads_as_complete(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    participant = emu.state.calls[room["bob"]]
    shown = emu.wire.participant_json(participant)
    assert shown["status"] == "connected"
    participant.rendered = embed({**shown, "status": "completed"})  # as TeXML may list it
    got = rows(
        conn, "SELECT Status FROM Participants WHERE ConferenceSid = ? ORDER BY 1", (room["sid"],)
    )
    assert got == [("complete",), ("connected",)]


def test_conference_reasons_and_api_version(conn: driver.Connection, emu: Emulator) -> None:
    sid = str(emu.create_conference("Ends")["sid"])
    only = str(emu.add_participant(sid)["call_sid"])
    conn.cursor().execute(
        "EXEC RemoveParticipant ConferenceSid = ?, CallSid = ?", (sid, only)
    ).fetchall()
    got = rows(conn, "SELECT Status, ReasonConferenceEnded, ApiVersion FROM Conferences")
    assert got == [("completed", "last-participant-left", "v2/texml")]


def test_errors_carry_the_providers_code_and_detail(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    with pytest.raises(driver.ProgrammingError) as missing:
        conn.cursor().execute(
            "EXEC ModifyConference Sid = ?, Status = 'completed'",
            ("00000000-0000-4000-8000-000000000000",),
        )
    assert missing.value.status == 404 and "Resource not found" in str(missing.value)
    with pytest.raises(driver.DataError) as bad:
        conn.cursor().execute(
            "EXEC ModifyParticipants ConferenceSid = ?, CallSid = 'bob', CallSidToCoach = ?",
            (room["sid"], "v3:nobody"),
        )
    assert bad.value.status == 422 and bad.value.code == "10015"
    assert "is not another participant" in str(bad.value)
    # One failure stays one failure.
    assert (
        len(rows(conn, "SELECT * FROM Participants WHERE ConferenceSid = ?", (room["sid"],))) == 2
    )


def test_links_are_joined_to_the_host() -> None:
    assert _on_host("https://api.telnyx.com/v2", "/v2/texml/x?Page=1") == (
        "https://api.telnyx.com/v2/texml/x?Page=1"
    )
    assert _on_host("http://127.0.0.1:8080/v2", "http://other/x") == "http://other/x"


# --- AddParticipants ----------------------------------------------------------------------


def test_add_participant_by_sid(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    got = rows(
        conn,
        "EXEC AddParticipants ConferenceSid = ?, From = ?, To = ?, Label = 'new', WaitTime = 30, "
        "StatusCallbackEvent = 'ringing answered', Muted = 1, MachineDetectionTimeout = 30, "
        "CallerDisplayName = 'Front Desk'",
        (room["sid"], FROM, TO),
    )
    [(account, call_sid, conference, status)] = got
    assert (account, conference, status) == (wire.DEMO_ACCOUNT, room["sid"], "connecting")
    assert call_sid.startswith("v3:")
    [post] = sent(emu, "POST")
    assert post.path == f"{ROOT}/Conferences/{room['sid']}/Participants"
    assert post.status == 200
    form = dict(post.form)
    assert len(post.form) == len(form)  # no key repeated: lists are one spaced value
    assert form["StatusCallbackEvent"] == "ringing answered"
    assert form["Timeout"] == "30" and "WaitTime" not in form
    assert form["MachineDetectionTimeout"] == "30000"  # seconds in SQL, ms on TeXML
    assert form["CallerId"] == "Front Desk"
    assert form["Muted"] == "true"
    assert "ApplicationSid" not in form
    assert emu.state.calls[call_sid].label == "new"


def test_add_participant_by_name_needs_an_application_to_start_a_conference(
    connect: Any, emu: Emulator, room: dict[str, str]
) -> None:
    conn = connect()
    with pytest.raises(driver.ProgrammingError, match="ApplicationSid") as err:
        rows(conn, "EXEC AddParticipants ConferenceSid = 'New Room', From = ?, To = ?", (FROM, TO))
    assert "TELNYX_APPLICATION_SID" in str(err.value)
    assert sent(emu, "POST") == []
    # A live conference of that name is joined by its SID, without an application.
    [row] = rows(conn, "EXEC AddParticipants ConferenceSid = 'Room', From = ?, To = ?", (FROM, TO))
    assert row[2] == room["sid"]
    assert sent(emu, "POST")[0].path == f"{ROOT}/Conferences/{room['sid']}/Participants"
    # With ApplicationSid, a new name starts a conference.
    emu.requests.clear()
    app = connect(ApplicationSid="1846572522338780702")
    [row] = rows(
        app, "EXEC AddParticipants ConferenceSid = 'New Room', From = ?, To = ?", (FROM, TO)
    )
    [post] = sent(emu, "POST")
    assert unquote(post.path) == f"{ROOT}/Conferences/New Room/Participants"
    assert ("ApplicationSid", "1846572522338780702") in post.form
    assert rows(app, "SELECT Sid FROM Conferences WHERE FriendlyName = 'New Room'") == [(row[2],)]


@pytest.mark.parametrize(
    ("inputs", "error", "words"),
    [
        ("WaitTime = 121", driver.DataError, ["WaitTime", "120"]),
        ("CallerId = '+15550001'", driver.NotSupportedError, ["CallerId", "CallerDisplayName"]),
        ("WaitMethod = 'GET'", driver.NotSupportedError, ["WaitMethod", PROVIDER]),
        ("Region = 'ie1'", driver.NotSupportedError, ["Region", PROVIDER]),
        ("Byoc = 'BY" + "0" * 32 + "'", driver.NotSupportedError, ["Byoc"]),
        ("CallReason = 'x'", driver.NotSupportedError, ["CallReason"]),
        ("ConferenceStatusCallbackEvent = 'start mute'", driver.NotSupportedError, ["'mute'"]),
        ("RecordingStatusCallbackEvent = 'paused'", driver.NotSupportedError, ["'paused'"]),
        ("CallerDisplayName = 'Front/Desk'", driver.DataError, ["CallerDisplayName", "128"]),
        ("CallSidToCoach = 'CA" + "0" * 32 + "'", driver.DataError, ["v3:"]),
        ("To = 'client:bob'", driver.DataError, ["sip:"]),
    ],
)
def test_add_participant_refusals_send_nothing(
    conn: driver.Connection,
    emu: Emulator,
    room: dict[str, str],
    inputs: str,
    error: type[Exception],
    words: list[str],
) -> None:
    to = "" if inputs.startswith("To ") else f"To = '{TO}', "
    with pytest.raises(error) as err:
        rows(
            conn,
            f"EXEC AddParticipants ConferenceSid = ?, From = ?, {to}{inputs}",
            (room["sid"], FROM),
        )
    for word in words:
        assert word in str(err.value)
    assert emu.requests == []


def test_insert_update_delete(conn: driver.Connection, emu: Emulator, room: dict[str, str]) -> None:
    cur = conn.cursor()
    cur.execute(
        'INSERT INTO Participants (ConferenceSid, "From", "To", Label, WaitTime) '
        "VALUES (?, ?, ?, 'ins', 60)",
        (room["sid"], FROM, TO),
    )
    assert cur.rowcount == 1
    [new] = [p for p in emu.state.conferences[room["sid"]].participants if p.label == "ins"]
    emu.advance(2)
    cur.execute(
        "UPDATE Participants SET Muted = 1, Hold = 1 WHERE ConferenceSid = ? AND CallSid = ?",
        (room["sid"], new.call_sid),
    )
    assert (new.muted, new.hold) == (True, True)
    cur.execute("DELETE FROM Participants WHERE ConferenceSid = ? AND Muted = 1", (room["sid"],))
    assert [p.call_sid for p in emu.state.conferences[room["sid"]].live_participants()] == [
        room["bob"]
    ]
    assert [r.method for r in sent(emu) if r.method != "GET"] == [
        "POST",
        "POST",
        "DELETE",
        "DELETE",
    ]
    assert all(r.status == 204 for r in sent(emu, "DELETE"))


# --- ModifyParticipants, RemoveParticipant, ModifyConference -----------------------------


def test_modify_participant_by_label(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    [row] = rows(
        conn,
        "EXEC ModifyParticipants ConferenceSid = 'Room', CallSid = 'bob', Hold = 1, "
        "HoldUrl = 'https://example.com/hold.mp3', HoldMethod = 'GET', BeepOnExit = 0",
    )
    assert row[:2] == (room["sid"], room["bob"]) and row[4] == "connected"
    [post] = sent(emu, "POST")
    assert post.path == f"{ROOT}/Conferences/{room['sid']}/Participants/bob"
    assert dict(post.form) == {
        "Hold": "true",
        "HoldUrl": "https://example.com/hold.mp3",
        "HoldMethod": "GET",
        "BeepOnExit": "false",
    }
    assert emu.state.calls[room["bob"]].hold is True


def test_modify_participant_wait_method_is_refused(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    with pytest.raises(driver.NotSupportedError, match="WaitMethod"):
        rows(
            conn,
            "EXEC ModifyParticipants ConferenceSid = ?, CallSid = 'bob', WaitUrl = '', "
            "WaitMethod = 'GET'",
            (room["sid"],),
        )
    assert emu.requests == []


def test_coaching_by_call_sid(conn: driver.Connection, emu: Emulator, room: dict[str, str]) -> None:
    [row] = rows(
        conn,
        "EXEC ModifyParticipants ConferenceSid = ?, CallSid = ?, Coaching = 1, CallSidToCoach = ?",
        (room["sid"], room["other"], room["bob"]),
    )
    assert row[7:9] == (1, room["bob"])


def test_remove_participant_by_label(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    got = rows(conn, "EXEC RemoveParticipant ConferenceSid = 'Room', CallSid = 'bob'")
    assert got == [(room["sid"], "bob")]
    [delete] = sent(emu, "DELETE")
    assert delete.path == f"{ROOT}/Conferences/{room['sid']}/Participants/bob"
    assert delete.status == 204
    assert not emu.state.calls[room["bob"]].live


def test_modify_conference(conn: driver.Connection, emu: Emulator, room: dict[str, str]) -> None:
    [row] = rows(
        conn,
        "EXEC ModifyConference Sid = 'Room', AnnounceUrl = 'https://example.com/a.xml', "
        "AnnounceMethod = 'GET'",
    )
    assert row[0] == room["sid"] and row[3] == "in-progress"
    conn.cursor().execute("UPDATE Conferences SET Status = 'completed' WHERE FriendlyName = 'Room'")
    assert emu.state.conferences[room["sid"]].status == "completed"
    posts = sent(emu, "POST")
    assert [dict(p.form) for p in posts] == [
        {"AnnounceUrl": "https://example.com/a.xml", "AnnounceMethod": "GET"},
        {"Status": "completed"},
    ]
    assert {p.path for p in posts} == {f"{ROOT}/Conferences/{room['sid']}"}


# --- JoinConference -----------------------------------------------------------------------


def test_join_conference_by_name(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    call = emu.create_call(FROM, TO)
    [row] = rows(
        conn,
        "EXEC JoinConference ConferenceSid = 'Room', CallSid = ?, Muted = 1, "
        "EndConferenceOnExit = 1, Beep = 'onEnter'",
        (call,),
    )
    assert row[:2] == (room["sid"], call)
    assert row[4:6] == ("connected", 1)
    [post] = sent(emu, "POST")
    assert unquote(post.path) == f"{ROOT}/Calls/{call}"
    assert "%3A" in post.path
    assert dict(post.form) == {
        "Texml": '<Response><Dial><Conference muted="true" endConferenceOnExit="true" '
        'beep="onEnter">Room</Conference></Dial></Response>'
    }
    joined = emu.state.calls[call]
    assert (joined.conference_sid, joined.muted, joined.end_conference_on_exit) == (
        room["sid"],
        True,
        True,
    )


def test_join_conference_by_sid_and_a_new_name(conn: driver.Connection, emu: Emulator) -> None:
    sid = str(emu.create_conference("R&D <1>")["sid"])
    first, second = emu.create_call(FROM, TO), emu.create_call(FROM, TO)
    [row] = rows(conn, "EXEC JoinConference ConferenceSid = ?, CallSid = ?", (sid, first))
    assert row[:2] == (sid, first)
    texml = dict(sent(emu, "POST")[0].form)["Texml"]
    assert texml.endswith(">R&amp;D &lt;1&gt;</Conference></Dial></Response>")
    emu.requests.clear()
    [row] = rows(conn, "EXEC JoinConference ConferenceSid = 'Fresh', CallSid = ?", (second,))
    assert emu.state.conferences[row[0]].friendly_name == "Fresh"
    # The call moved: it is no longer in the first conference.
    assert rows(conn, "SELECT CallSid FROM Participants WHERE ConferenceSid = ?", (sid,)) == [
        (first,)
    ]


@pytest.mark.parametrize(
    "extra",
    [
        "Hold = 1",
        "Hold = 1, HoldAudioUrl = 'https://example.com/h.mp3'",
        "SupervisorRole = 'whisper'",
        "SoftEndConferenceOnExit = 1",
        "ClientState = 'eyJhIjoxfQ=='",
        "CommandId = 'abc'",
        "WhisperCallSids = 'v3:a'",
    ],
)
def test_join_conference_refusals_send_nothing(
    conn: driver.Connection, emu: Emulator, room: dict[str, str], extra: str
) -> None:
    call = emu.create_call(FROM, TO)
    with pytest.raises(driver.NotSupportedError, match=PROVIDER):
        rows(conn, f"EXEC JoinConference ConferenceSid = 'Room', CallSid = ?, {extra}", (call,))
    assert emu.requests == []


def test_join_a_completed_conference_is_refused_before_the_update(
    conn: driver.Connection, emu: Emulator
) -> None:
    sid = str(emu.create_conference("Done", "completed")["sid"])
    call = emu.create_call(FROM, TO)
    with pytest.raises(driver.ProgrammingError, match="has ended"):
        rows(conn, "EXEC JoinConference ConferenceSid = ?, CallSid = ?", (sid, call))
    assert sent(emu, "POST") == []


def test_join_conference_read_failure_says_the_call_moved(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    call = emu.create_call(FROM, TO)
    emu.faults.add("500", method="GET", path_contains="/Participants/")
    with pytest.raises(driver.OperationalError) as err:
        rows(conn, "EXEC JoinConference ConferenceSid = ?, CallSid = ?", (room["sid"], call))
    message = str(err.value)
    assert "accepted moving call" in message and "do not run it again" in message
    assert f"To check: SELECT * FROM Participants WHERE CallSid = '{call}'" in message
    assert len(sent(emu, "POST")) == 1
    assert emu.state.calls[call].conference_sid == room["sid"]


def test_join_conference_unknown_call(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    with pytest.raises(driver.ProgrammingError, match="knows no call 'v3:gone'"):
        rows(conn, "EXEC JoinConference ConferenceSid = 'Room', CallSid = 'v3:gone'")
    assert len(rows(conn, "SELECT * FROM Conferences")) == 1


def test_conference_texml_escapes() -> None:
    assert conference_texml('a"b', {"Beep": "true'"}) == (
        '<Response><Dial><Conference beep="true\'">a"b</Conference></Dial></Response>'
    )


# --- at most once -----------------------------------------------------------------------


def add(conn: driver.Connection, conference: str, label: str) -> list[tuple[Any, ...]]:
    return rows(
        conn,
        "EXEC AddParticipants ConferenceSid = ?, From = ?, To = ?, Label = ?",
        (conference, FROM, TO, label),
    )


def labelled(emu: Emulator, conference: str, label: str) -> int:
    return sum(p.label == label for p in emu.state.conferences[conference].participants)


@pytest.mark.parametrize("kind", ["500", "drop"])
def test_lost_answer_to_add_is_reported_not_resent(
    conn: driver.Connection, emu: Emulator, room: dict[str, str], kind: str
) -> None:
    emu.faults.add(kind, method="POST", after_processing=True)
    with pytest.raises(driver.OperationalError) as err:
        add(conn, room["sid"], "once")
    message = str(err.value)
    assert "may or may not" in message and "To check: SELECT * FROM Participants" in message
    assert len(sent(emu, "POST")) == 1
    assert labelled(emu, room["sid"], "once") == 1
    # The check runs and shows the new row: no term on Label, which TeXML never returns.
    check = message.split("To check: ", 1)[1]
    assert "Label" not in check and check.endswith("ORDER BY DateCreated DESC")
    found = {row[1] for row in rows(conn, check)}
    assert next(p.call_sid for p in emu.state.calls.values() if p.label == "once") in found
    # The connection is as healthy as before.
    assert len(add(conn, room["sid"], "twice")) == 1


def test_429_on_add_is_retried_once_processed(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    emu.faults.add("429", method="POST", retry_after=0)
    [row] = add(conn, room["sid"], "r")
    assert [r.status for r in sent(emu, "POST")] == [429, 200]
    assert labelled(emu, room["sid"], "r") == 1
    assert row[1] == next(p.call_sid for p in emu.state.calls.values() if p.label == "r")


@pytest.mark.parametrize(
    ("sql", "method"),
    [
        ("EXEC ModifyParticipants ConferenceSid = ?, CallSid = 'bob', Muted = 1", "POST"),
        ("EXEC RemoveParticipant ConferenceSid = ?, CallSid = 'bob'", "DELETE"),
        ("EXEC ModifyConference Sid = ?, Status = 'completed'", "POST"),
    ],
)
def test_lost_answers_to_changes_are_not_resent(
    conn: driver.Connection, emu: Emulator, room: dict[str, str], sql: str, method: str
) -> None:
    emu.faults.add("drop", method=method, after_processing=True)
    with pytest.raises(driver.OperationalError, match="may or may not") as err:
        rows(conn, sql, (room["sid"],))
    assert len(sent(emu, method)) == 1
    # The check names no label (TeXML never shows one), so it can only over-report.
    check = str(err.value).split("To check: ", 1)[1]
    assert "bob" not in check and room["sid"] in check
    rows(conn, check)


def test_lost_answer_to_join_is_reported_with_a_check(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    call = emu.create_call(FROM, TO)
    emu.faults.add("drop", method="POST", after_processing=True)
    with pytest.raises(driver.OperationalError) as err:
        rows(conn, "EXEC JoinConference ConferenceSid = ?, CallSid = ?", (room["sid"], call))
    assert "may or may not" in str(err.value)
    assert f"WHERE CallSid = '{call}'" in str(err.value)
    assert len(sent(emu, "POST")) == 1
    check = str(err.value).split("To check: ", 1)[1]
    assert rows(conn, check) != []


# --- catalog --------------------------------------------------------------------------


def test_catalog_says_which_inputs_texml_takes(conn: driver.Connection) -> None:
    got = dict(
        rows(
            conn,
            "SELECT ParameterName, Providers FROM sys_procedureparameters "
            "WHERE ProcedureName = 'AddParticipants' AND Direction = 'IN'",
        )
    )
    assert PROVIDER in got["WaitTime"] and PROVIDER in got["CallerDisplayName"]
    assert PROVIDER not in got["WaitMethod"] and PROVIDER not in got["CallerId"]
