"""JoinConference on Twilio and SignalWire: a live call redirected to inline markup.

Both update the call (``POST …/Calls/{CallSid}``) with ``Twiml`` holding
``<Response><Dial><Conference …>name</Conference></Dial></Response>``; the
emulators execute it (the call leaves its conference, if any, and joins).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest

import driver
from driver.emulator import Emulator, EmulatorServer
from tests.conftest import ProviderUnderTest, serve_provider

JOIN = "EXEC JoinConference ConferenceSid = ?, CallSid = ?"
# Participants row positions.
CONF, CALL, ACCOUNT, STATUS, MUTED, START, END = 0, 1, 2, 4, 5, 9, 10


@pytest.fixture(params=["Twilio", "SignalWire"])
def p(
    request: pytest.FixtureRequest, wire_servers: dict[str, EmulatorServer]
) -> Iterator[ProviderUnderTest]:
    yield from serve_provider(str(request.param), wire_servers)


@pytest.fixture
def conn(p: ProviderUnderTest) -> driver.Connection:
    return p.connect()


def rows(conn: driver.Connection, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
    return conn.cursor().execute(sql, params).fetchall()


def writes(emu: Emulator) -> list[Any]:
    return [r for r in emu.requests if r.method != "GET"]


def conference_noun(record: Any) -> ET.Element:
    [(key, text)] = record.form
    assert key == "Twiml"
    noun = ET.fromstring(text).find("./Dial/Conference")
    assert noun is not None
    return noun


def live(emu: Emulator, conference_sid: str) -> list[str]:
    return [str(x["call_sid"]) for x in emu.live_participants(conference_sid)]


@pytest.fixture
def call(p: ProviderUnderTest) -> str:
    """A live call in no conference."""
    sid = p.emu.create_call("+15550001000", "+15550002000")
    p.emu.requests.clear()
    return sid


def test_join_by_name(p: ProviderUnderTest, conn: driver.Connection, call: str) -> None:
    room = str(p.emu.create_conference("Standup")["sid"])
    p.emu.add_participant(room)
    [row] = rows(
        conn, f"{JOIN}, Muted = 1, Beep = 'onExit', EndConferenceOnExit = 1", ("Standup", call)
    )
    assert (row[CONF], row[CALL], row[STATUS], row[MUTED], row[END]) == (
        room,
        call,
        "connected",
        1,
        1,
    )
    assert row[ACCOUNT] == p.emu.demo_account
    [post] = writes(p.emu)
    suffix = ".json" if p.name == "Twilio" else ""
    assert post.path.endswith(f"/Calls/{call}{suffix}")
    noun = conference_noun(post)
    assert noun.text == "Standup"
    assert noun.attrib == {"muted": "true", "endConferenceOnExit": "true", "beep": "onExit"}
    assert call in live(p.emu, room)


def test_join_by_sid(p: ProviderUnderTest, conn: driver.Connection, call: str) -> None:
    room = str(p.emu.create_conference("By Sid")["sid"])
    p.emu.requests.clear()
    [row] = rows(
        conn, f"{JOIN}, StartConferenceOnEnter = 0, SupervisorRole = 'barge'", (room, call)
    )
    assert (row[CONF], row[CALL], row[START]) == (room, call, 0)
    assert conference_noun(writes(p.emu)[0]).text == "By Sid"  # a SID is sent as its name
    assert live(p.emu, room) == [call]


def test_join_a_new_name_starts_a_conference(
    p: ProviderUnderTest, conn: driver.Connection, call: str
) -> None:
    [row] = rows(conn, JOIN, ("Brand New", call))
    [conference] = rows(
        conn, "SELECT Sid, Status FROM Conferences WHERE FriendlyName = 'Brand New'"
    )
    assert row[CONF] == conference[0] and conference[1] == "in-progress"


def test_move_from_one_conference_to_another(
    p: ProviderUnderTest, conn: driver.Connection, call: str
) -> None:
    first = str(p.emu.create_conference("First")["sid"])
    second = str(p.emu.create_conference("Second")["sid"])
    stays = str(p.emu.add_participant(first)["call_sid"])
    rows(conn, JOIN, ("First", call))
    assert sorted(live(p.emu, first)) == sorted([stays, call])
    [row] = rows(conn, JOIN, (second, call))
    assert row[CONF] == second
    assert live(p.emu, first) == [stays] and live(p.emu, second) == [call]
    got = rows(conn, "SELECT ConferenceSid FROM Participants WHERE CallSid = ?", (call,))
    assert got == [(second,)]


def test_a_participants_call_can_move(p: ProviderUnderTest, conn: driver.Connection) -> None:
    first = str(p.emu.create_conference("A")["sid"])
    mover = str(p.emu.add_participant(first)["call_sid"])
    [row] = rows(conn, JOIN, ("B", mover))
    assert row[CALL] == mover and live(p.emu, first) == []
    assert rows(conn, "SELECT Status FROM Conferences WHERE Sid = ?", (first,)) == [("completed",)]


def test_ended_or_unknown_conference_sid_sends_nothing(
    p: ProviderUnderTest, conn: driver.Connection, call: str
) -> None:
    ended = str(p.emu.create_conference("Done", "completed")["sid"])
    with pytest.raises(driver.ProgrammingError, match="has ended"):
        rows(conn, JOIN, (ended, call))
    unknown = ended[:-4] + ("0000" if not ended.endswith("0000") else "1111")
    with pytest.raises(driver.ProgrammingError, match="no conference has SID"):
        rows(conn, JOIN, (unknown, call))
    assert writes(p.emu) == []


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ("Hold = 1", "'Hold'"),
        ("Hold = 1, HoldAudioUrl = 'https://e.x/h.mp3'", "'HoldAudioUrl'"),
        ("Hold = 1, HoldMediaName = 'music'", "'HoldMediaName'"),
        ("SoftEndConferenceOnExit = 1", "'SoftEndConferenceOnExit'"),
        ("ClientState = 'eyJhIjoxfQ=='", "'ClientState'"),
        ("CommandId = 'k1'", "'CommandId'"),
        ("WhisperCallSids = 'x'", "'WhisperCallSids'"),
        ("SupervisorRole = 'monitor'", "'monitor'"),
        ("SupervisorRole = 'whisper'", "'whisper'"),
    ],
)
def test_inputs_markup_cannot_express_send_nothing(
    p: ProviderUnderTest, conn: driver.Connection, call: str, extra: str, named: str
) -> None:
    with pytest.raises(driver.NotSupportedError) as err:
        rows(conn, f"{JOIN}, {extra}", ("Room", call))
    assert named in str(err.value) and p.name in str(err.value)
    assert p.emu.requests == []
    assert rows(conn, "SELECT count(*) FROM Conferences") == [(0,)]  # still healthy


def test_hold_refusal_says_what_to_do(conn: driver.Connection, call: str) -> None:
    with pytest.raises(driver.NotSupportedError, match="ModifyParticipants with Hold = 1"):
        rows(conn, f"{JOIN}, Hold = 1", ("Room", call))


def test_seed_rules_are_checked_first(
    p: ProviderUnderTest, conn: driver.Connection, call: str
) -> None:
    with pytest.raises(driver.DataError):
        rows(
            conn,
            f"{JOIN}, HoldAudioUrl = 'https://e.x', HoldMediaName = 'm', Hold = 1",
            ("Room", call),
        )
    with pytest.raises(driver.DataError):
        rows(conn, f"{JOIN}, ClientState = 'not base64!'", ("Room", call))
    assert p.emu.requests == []


def test_call_sid_of_another_form_sends_nothing(
    p: ProviderUnderTest, conn: driver.Connection
) -> None:
    other = "v3:abc" if p.name == "Twilio" else "CA" + "0" * 32
    with pytest.raises(driver.DataError, match="is not a call on"):
        rows(conn, JOIN, ("Room", other))
    assert p.emu.requests == []


def test_unknown_call_is_a_programming_error(p: ProviderUnderTest, conn: driver.Connection) -> None:
    ghost = p.emu.create_call("+1555", "+1556")
    p.emu.state.live_calls.pop(ghost)  # a well-formed id the provider does not know
    with pytest.raises(driver.ProgrammingError) as err:
        rows(conn, JOIN, ("Room", ghost))
    assert err.value.status == 404
    assert rows(conn, "SELECT count(*) FROM Conferences") == [(0,)]


def test_ended_call_cannot_be_redirected(p: ProviderUnderTest, conn: driver.Connection) -> None:
    room = str(p.emu.create_conference("R")["sid"])
    gone = str(p.emu.add_participant(room)["call_sid"])
    p.emu.add_participant(room)
    p.emu.hang_up(gone)
    with pytest.raises(driver.DataError, match="not in-progress"):
        rows(conn, JOIN, ("R", gone))


def test_429_is_retried_and_the_call_joins_once(
    p: ProviderUnderTest, conn: driver.Connection, call: str
) -> None:
    p.emu.faults.add("429", count=1, method="POST", retry_after=0)
    [row] = rows(conn, JOIN, ("Once", call))
    assert [r.status for r in writes(p.emu)] == [429, 200]
    assert live(p.emu, row[CONF]) == [call]


@pytest.mark.parametrize(("kind", "after"), [("500", True), ("drop", True), ("drop", False)])
def test_unknown_outcome_names_a_check_that_runs(
    p: ProviderUnderTest, conn: driver.Connection, call: str, kind: str, after: bool
) -> None:
    room = str(p.emu.create_conference("Checked")["sid"])
    p.emu.faults.add(kind, method="POST", path_contains="/Calls/", after_processing=after)
    with pytest.raises(driver.OperationalError) as err:
        rows(conn, JOIN, ("Checked", call))
    message = str(err.value)
    assert "may or may not" in message and "NOT retried" in message
    check = message.split("To check: ", 1)[1]
    assert call in check
    assert len(rows(conn, check)) == (1 if after else 0)
    assert len(writes(p.emu)) == 1
    assert (call in live(p.emu, room)) is after


def test_a_failed_read_after_the_move_leaves_unknown_columns_null(
    p: ProviderUnderTest, conn: driver.Connection, call: str
) -> None:
    room = str(p.emu.create_conference("Read")["sid"])
    p.emu.faults.add("500", method="GET", path_contains="/Participants/")
    [row] = rows(conn, f"{JOIN}, Muted = 1", (room, call))
    assert row[:3] == (room, call, p.emu.demo_account)
    assert set(row[3:]) == {None}  # never guessed, not even the Muted that was asked for
    assert call in live(p.emu, room)
