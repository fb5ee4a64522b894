"""SignalWire (Compatibility API): properties, the wire, every procedure, faults, the sandbox.

Everything runs against the emulator's SignalWire wire over real HTTP.  The
provider-neutral SQL tests (tests/test_reads*.py) run on it too, through
``any_provider``.
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import driver
from driver import schema
from driver.emulator import Emulator, EmulatorServer
from driver.emulator.wires.signalwire import DEMO_API_TOKEN, DEMO_PROJECT_ID
from driver.properties import Settings
from driver.providers.signalwire import SignalWire
from driver.providers.twilio import Twilio
from tests.conftest import ProviderUnderTest, serve_provider

PHONE_A, PHONE_B = "+18149044818", "+15550002000"
UUID_LIKE = r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$"


@pytest.fixture
def sw(wire_servers: dict[str, EmulatorServer]) -> Iterator[ProviderUnderTest]:
    yield from serve_provider("SignalWire", wire_servers)


@pytest.fixture
def emu(sw: ProviderUnderTest) -> Emulator:  # shadows the Twilio emulator in this module
    return sw.emu


@pytest.fixture
def conn(sw: ProviderUnderTest) -> driver.Connection:
    return sw.connect()


@pytest.fixture
def room(emu: Emulator) -> dict[str, str]:
    """A live conference with two participants: its SID and both call SIDs."""
    sid = str(emu.create_conference("Room")["sid"])
    first = str(emu.add_participant(sid)["call_sid"])
    second = str(emu.add_participant(sid, muted=True)["call_sid"])
    emu.requests.clear()
    return {"sid": sid, "a": first, "b": second}


def rows(conn: driver.Connection, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
    return conn.cursor().execute(sql, params).fetchall()


def posts(emu: Emulator) -> list[Any]:
    return [r for r in emu.requests if r.method != "GET"]


def markup(record: Any) -> ET.Element:
    """The <Conference> element of a request's Twiml field."""
    [text] = [v for k, v in record.form if k == "Twiml"]
    conference = ET.fromstring(text).find("./Dial/Conference")
    assert conference is not None
    return conference


def provider(**values: Any) -> SignalWire:
    mapping = schema.load().provider("signalwire")
    assert mapping is not None
    return SignalWire(mapping, Settings({"BaseUrl": None, **values}))


# --- connection properties ------------------------------------------------------------


def test_missing_credentials_name_the_properties_and_variables() -> None:
    with pytest.raises(driver.ProgrammingError) as err:
        driver.connect("Provider=SignalWire")
    text = str(err.value)
    for name in ("ProjectId", "ApiToken", "SIGNALWIRE_PROJECT_ID", "SIGNALWIRE_API_TOKEN"):
        assert name in text
    assert "Sandbox=true" in text


@pytest.mark.parametrize(
    ("props", "words"),
    [
        ({"ProjectId": DEMO_PROJECT_ID}, "ApiToken is missing"),
        ({"ApiToken": "x"}, "ProjectId is missing"),
        ({"ProjectId": "ACnot-a-uuid", "ApiToken": "x", "Space": "a"}, "not a SignalWire Project"),
        ({"ProjectId": DEMO_PROJECT_ID, "ApiToken": "x"}, "Space is missing"),
        ({"ProjectId": DEMO_PROJECT_ID, "ApiToken": "x", "Space": "https://a"}, "Space"),
        ({"ProjectId": DEMO_PROJECT_ID, "ApiToken": "x", "Space": "evil.com"}, "Space"),
        ({"ProjectId": DEMO_PROJECT_ID, "ApiToken": "x", "Space": "a/b"}, "Space"),
        ({"ProjectId": DEMO_PROJECT_ID, "ApiToken": "x", "AccountSid": "AC1"}, "not used by"),
    ],
)
def test_bad_properties_are_refused(props: dict[str, str], words: str) -> None:
    with pytest.raises(driver.ProgrammingError) as err:
        driver.connect(Provider="SignalWire", **props)
    assert words in str(err.value)
    assert "x'" not in str(err.value)  # the token is never echoed


def test_property_from_another_provider_lists_signalwires_own() -> None:
    with pytest.raises(driver.ProgrammingError) as err:
        driver.connect(Provider="signalwire", AuthToken="t")
    assert "SignalWire takes:" in str(err.value)
    assert "Space, ProjectId, ApiToken" in str(err.value)


@pytest.mark.parametrize(
    "space", ["example", "Example", "example.signalwire.com", "EXAMPLE.SignalWire.com"]
)
def test_space_name_or_host_builds_the_base_url(space: str) -> None:
    got = provider(Space=space).base_url()
    assert got == "https://example.signalwire.com/api/laml/2010-04-01"


def test_base_url_replaces_the_space() -> None:
    assert provider(BaseUrl="http://127.0.0.1:9/x").base_url() == "http://127.0.0.1:9/x"


def test_environment_fallbacks(sw: ProviderUnderTest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGNALWIRE_PROJECT_ID", DEMO_PROJECT_ID)
    monkeypatch.setenv("SIGNALWIRE_API_TOKEN", DEMO_API_TOKEN)
    monkeypatch.setenv("SIGNALWIRE_SPACE", "example")
    base = sw.server.base_url + sw.emu.wire.base_path
    conn = driver.connect(f"Provider=SignalWire;BaseUrl={base};Timeout=5")
    try:
        assert rows(conn, "SELECT count(*) FROM Conferences") == [(0,)]
        assert "ApiToken" not in repr(conn) or DEMO_API_TOKEN not in repr(conn)
        assert DEMO_API_TOKEN not in repr(conn)
    finally:
        conn.close()


def test_wrong_token_is_an_operational_error_without_the_secret(sw: ProviderUnderTest) -> None:
    conn = sw.connect(ApiToken="wrong-token-123")
    with pytest.raises(driver.OperationalError) as err:
        rows(conn, "SELECT * FROM Conferences")
    assert err.value.status == 401
    assert f"check ApiToken for ProjectId {DEMO_PROJECT_ID}" in str(err.value)
    assert "wrong-token-123" not in str(err.value)


def test_basic_auth_is_project_and_token() -> None:
    auth = provider(ProjectId=DEMO_PROJECT_ID, ApiToken="tok").auth()
    assert isinstance(auth, httpx.BasicAuth)
    request = next(auth.auth_flow(httpx.Request("GET", "http://x")))
    expected = base64.b64encode(f"{DEMO_PROJECT_ID}:tok".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"


def test_url_user_and_password_are_project_and_token() -> None:
    assert SignalWire.url_properties("p", "t") == {"ProjectId": "p", "ApiToken": "t"}


# --- the wire ---------------------------------------------------------------------------


def test_paths_have_no_json_suffix_and_ids_are_uuids(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    got = rows(conn, "SELECT Sid, AccountSid FROM Conferences")
    assert got == [(room["sid"], DEMO_PROJECT_ID)]
    rows(conn, "SELECT * FROM Participants WHERE ConferenceSid = ?", (room["sid"],))
    paths = [r.path for r in emu.requests]
    assert paths == [
        f"/api/laml/2010-04-01/Accounts/{DEMO_PROJECT_ID}/Conferences",
        f"/api/laml/2010-04-01/Accounts/{DEMO_PROJECT_ID}/Conferences/{room['sid']}/Participants",
    ]
    import re

    assert re.match(UUID_LIKE, room["sid"]) and re.match(UUID_LIKE, room["a"])


def test_next_page_links_are_joined_to_the_host(conn: driver.Connection, emu: Emulator) -> None:
    emu.seed_bulk(1500)
    emu.requests.clear()
    assert rows(conn, "SELECT count(*) FROM Conferences") == [(1500,)]
    assert [r.path for r in emu.requests] == [
        f"/api/laml/2010-04-01/Accounts/{DEMO_PROJECT_ID}/Conferences"
    ] * 2
    assert ("PageToken" in dict(emu.requests[1].query)) and emu.requests[1].status == 200


@pytest.mark.parametrize(
    ("base", "link", "expected"),
    [
        (
            "https://example.signalwire.com/api/laml/2010-04-01",
            "/api/laml/2010-04-01/Accounts/p/Conferences?Page=1",
            "https://example.signalwire.com/api/laml/2010-04-01/Accounts/p/Conferences?Page=1",
        ),
        (  # a proxy mounting the API under a prefix keeps its prefix
            "http://proxy:8080/sw/api/laml/2010-04-01",
            "/api/laml/2010-04-01/Accounts/p/Conferences?Page=1",
            "http://proxy:8080/sw/api/laml/2010-04-01/Accounts/p/Conferences?Page=1",
        ),
        (  # a base elsewhere: the spec's rule, scheme and host
            "http://127.0.0.1:9/other",
            "/api/laml/2010-04-01/Accounts/p/Conferences",
            "http://127.0.0.1:9/api/laml/2010-04-01/Accounts/p/Conferences",
        ),
        ("https://x/api/laml/2010-04-01", "https://evil/a", "https://evil/a"),  # client refuses
    ],
)
def test_next_url(base: str, link: str, expected: str) -> None:
    assert provider().next_url(base, link) == expected


def test_twilio_links_still_join_to_the_base() -> None:
    mapping = schema.load().provider("twilio")
    assert mapping is not None
    twilio = Twilio(mapping, Settings({}))
    link = "/2010-04-01/Accounts/AC1/Conferences.json?Page=1"
    assert twilio.next_url("https://api.twilio.com", link) == "https://api.twilio.com" + link
    assert twilio.next_url("http://p:1/pre", link) == "http://p:1/pre" + link


def test_link_to_another_origin_stops_the_scan(sw: ProviderUnderTest) -> None:
    conn = sw.connect()
    sw.emu.seed_bulk(1001)
    wire: Any = sw.emu.wire
    original = wire._list_conferences

    def evil(account: str, query: Any, path: str) -> dict[str, object]:
        body = original(account, query, path)
        if body["next_page_uri"]:
            body["next_page_uri"] = "http://evil.example/api/laml/2010-04-01/x"
        return body

    wire._list_conferences = evil
    try:
        with pytest.raises(driver.OperationalError, match="another origin"):
            rows(conn, "SELECT count(*) FROM Conferences")
    finally:
        del wire._list_conferences
    assert rows(conn, "SELECT count(*) FROM Conferences") == [(1001,)]  # still healthy


def test_status_mapping_and_null_columns(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    got = rows(
        conn,
        "SELECT Status, Label, QueueTime, typeof(Muted) FROM Participants WHERE ConferenceSid = ?",
        (room["sid"],),
    )
    assert got == [("connected", None, None, "integer")] * 2
    conf = rows(
        conn, "SELECT Status, ReasonConferenceEnded, CallSidEndingConference FROM Conferences"
    )
    assert conf == [("in-progress", None, None)]
    conn.cursor().execute(
        "UPDATE Conferences SET Status = 'completed' WHERE Sid = ?", (room["sid"],)
    )
    assert rows(conn, "SELECT Status, ReasonConferenceEnded FROM Conferences") == [
        ("completed", None)
    ]


def test_only_joined_calls_are_participants(conn: driver.Connection, emu: Emulator) -> None:
    sid = str(emu.create_conference("Lobby", "init")["sid"])
    emu.add_participant(sid, status="ringing")
    assert rows(conn, "SELECT count(*) FROM Participants") == [(0,)]
    emu.advance(2)
    assert rows(conn, "SELECT Status FROM Participants") == [("connected",)]


def test_coaching_is_not_pushed_muted_and_hold_are(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    got = rows(conn, "SELECT CallSid FROM Participants WHERE Coaching = 0 AND Muted = 1")
    assert got == [(room["b"],)]
    [listing] = [r for r in emu.requests if r.path.endswith("/Participants")]
    assert dict(listing.query).get("Muted") == "true"
    assert "Coaching" not in dict(listing.query)


def test_dates_read_rfc_2822_and_septs() -> None:
    sw = provider()
    assert sw.decode_datetime("Mon, 24 Sept 2018 21:00:00 +0000") == "2018-09-24 21:00:00"
    assert sw.decode_datetime("Mon, 24 Sep 2018 21:00:00 +0000") == "2018-09-24 21:00:00"


def test_emulator_writes_sep(emu: Emulator) -> None:
    from datetime import UTC, datetime

    emu.create_conference("x", date_created=datetime(2018, 9, 24, 21, tzinfo=UTC))
    assert emu.conferences()[0]["date_created"] == "Mon, 24 Sep 2018 21:00:00 +0000"


def test_unknown_conference_reads_as_no_rows(conn: driver.Connection) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    assert rows(conn, "SELECT * FROM Conferences WHERE Sid = ?", (missing,)) == []
    assert rows(conn, "SELECT * FROM Participants WHERE ConferenceSid = ?", (missing,)) == []


# --- AddParticipants --------------------------------------------------------------------

ADD = "EXEC AddParticipants ConferenceSid = ?, From = ?, To = ?"


def test_add_by_new_name_starts_the_conference(conn: driver.Connection, emu: Emulator) -> None:
    [row] = rows(conn, ADD, ("Fresh", PHONE_A, PHONE_B))
    account, call_sid, conference_sid, status = row
    assert (account, conference_sid, status) == (DEMO_PROJECT_ID, None, "in-progress")
    [post] = posts(emu)
    assert post.path == f"/api/laml/2010-04-01/Accounts/{DEMO_PROJECT_ID}/Calls"
    assert dict(post.form)["From"] == PHONE_A and dict(post.form)["To"] == PHONE_B
    assert markup(post).text == "Fresh"
    got = rows(
        conn,
        "SELECT c.FriendlyName, p.CallSid FROM Conferences c JOIN Participants p "
        "ON p.ConferenceSid = c.Sid",
    )
    assert got == [("Fresh", call_sid)]


def test_add_by_live_name_or_sid_reports_the_conference(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    by_name = rows(conn, ADD, ("Room", PHONE_A, PHONE_B))[0]
    by_sid = rows(conn, ADD, (room["sid"], PHONE_A, PHONE_B))[0]
    assert by_name[2] == by_sid[2] == room["sid"]
    assert [markup(p).text for p in posts(emu)] == ["Room", "Room"]
    assert len(emu.live_participants(room["sid"])) == 4


def test_add_to_unknown_or_ended_sid_sends_nothing(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    with pytest.raises(driver.ProgrammingError, match="no conference has SID"):
        rows(conn, ADD, ("00000000-0000-4000-8000-000000000000", PHONE_A, PHONE_B))
    conn.cursor().execute(
        "UPDATE Conferences SET Status = 'completed' WHERE Sid = ?", (room["sid"],)
    )
    emu.requests.clear()
    with pytest.raises(driver.ProgrammingError, match="has ended"):
        rows(conn, ADD, (room["sid"], PHONE_A, PHONE_B))
    assert posts(emu) == []


def test_add_maps_inputs_to_markup_and_call_fields(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    rows(
        conn,
        "EXEC AddParticipants ConferenceSid = 'Room', From = ?, To = ?, Muted = 1, Beep = 'onEnter', "
        "StartConferenceOnEnter = 0, EndConferenceOnExit = 1, WaitUrl = 'https://e.x/w?a=1&b=2', "
        "WaitMethod = 'GET', MaxParticipants = 10, ConferenceRecord = 'true', ConferenceTrim = 'do-not-trim', "
        "ConferenceStatusCallback = 'https://e.x/c', ConferenceStatusCallbackMethod = 'GET', "
        "ConferenceStatusCallbackEvent = 'start join', ConferenceRecordingStatusCallback = 'https://e.x/r', "
        "ConferenceRecordingStatusCallbackMethod = 'POST', ConferenceRecordingStatusCallbackEvent = 'completed failed', "
        "Coaching = 1, CallSidToCoach = ?, "
        "StatusCallback = 'https://e.x/s', StatusCallbackMethod = 'GET', StatusCallbackEvent = 'ringing answered', "
        "WaitTime = 30, Record = 1, RecordingChannels = 'dual', RecordingStatusCallback = 'https://e.x/rs', "
        "RecordingStatusCallbackMethod = 'GET', RecordingStatusCallbackEvent = 'in-progress completed', "
        "RecordingTrack = 'both', CallerId = '+15551112222', MachineDetection = 'Enable', "
        "MachineDetectionTimeout = 30, MachineDetectionSpeechThreshold = 2400, "
        "MachineDetectionSpeechEndThreshold = 1200, MachineDetectionSilenceTimeout = 5000, "
        "AmdStatusCallback = 'https://e.x/amd', AmdStatusCallbackMethod = 'GET', Trim = 'trim-silence'",
        (PHONE_A, PHONE_B, room["a"]),
    )
    [post] = posts(emu)
    assert markup(post).attrib == {
        "muted": "true",
        "beep": "onEnter",
        "startConferenceOnEnter": "false",
        "endConferenceOnExit": "true",
        "waitUrl": "https://e.x/w?a=1&b=2",
        "waitMethod": "GET",
        "maxParticipants": "10",
        "record": "record-from-start",
        "trim": "do-not-trim",
        "statusCallback": "https://e.x/c",
        "statusCallbackMethod": "GET",
        "statusCallbackEvent": "start join",
        "recordingStatusCallback": "https://e.x/r",
        "recordingStatusCallbackMethod": "POST",
        "recordingStatusCallbackEvent": "completed failed",
        "coach": room["a"],
    }
    assert [(k, v) for k, v in post.form if k != "Twiml"] == [
        ("From", PHONE_A),
        ("To", PHONE_B),
        ("StatusCallback", "https://e.x/s"),
        ("StatusCallbackMethod", "GET"),
        ("StatusCallbackEvent", "ringing"),
        ("StatusCallbackEvent", "answered"),
        ("Timeout", "30"),
        ("Record", "true"),
        ("RecordingChannels", "dual"),
        ("RecordingStatusCallback", "https://e.x/rs"),
        ("RecordingStatusCallbackMethod", "GET"),
        ("RecordingStatusCallbackEvent", "in-progress completed"),
        ("RecordingTrack", "both"),
        ("CallerId", "+15551112222"),
        ("MachineDetection", "Enable"),
        ("MachineDetectionTimeout", "30"),
        ("MachineDetectionSpeechThreshold", "2400"),
        ("MachineDetectionSpeechEndThreshold", "1200"),
        ("MachineDetectionSilenceTimeout", "5000"),
        ("AsyncAmdStatusCallback", "https://e.x/amd"),
        ("AsyncAmdStatusCallbackMethod", "GET"),
        ("Trim", "trim-silence"),
        ("AsyncAmd", "true"),
    ]
    coach = rows(
        conn,
        "SELECT Muted, Coaching, CallSidToCoach, EndConferenceOnExit FROM "
        "Participants WHERE ConferenceSid = ? AND Coaching = 1",
        (room["sid"],),
    )
    assert coach == [(1, 1, room["a"], 1)]


def test_webhook_url_subscribes_the_conference(sw: ProviderUnderTest) -> None:
    conn = sw.connect(WebhookUrl="https://hooks.example/")
    rows(conn, ADD, ("Hooked", PHONE_A, PHONE_B))
    noun = markup(posts(sw.emu)[0])
    assert noun.attrib == {
        "statusCallback": "https://hooks.example/signalwire",
        "statusCallbackEvent": "start end join leave mute hold speaker",
    }


@pytest.mark.parametrize(
    "name", ["a<b>&c\"d'e", "two\nlines", "</Conference></Dial><Hangup/>", " spaced  ", "Ünï 😀"]
)
def test_names_are_escaped_in_markup(conn: driver.Connection, emu: Emulator, name: str) -> None:
    rows(conn, ADD, (name, PHONE_A, PHONE_B))
    assert markup(posts(emu)[0]).text == name
    assert rows(conn, "SELECT FriendlyName FROM Conferences") == [(name,)]


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ("Label = 'x'", "'Label'"),
        ("EarlyMedia = 1", "'EarlyMedia'"),
        ("Region = 'ie1'", "'Region'"),
        ("JitterBufferSize = 'small'", "'JitterBufferSize'"),
        ("Byoc = 'BY0123'", "'Byoc'"),
        ("CallReason = 'why'", "'CallReason'"),
        ("TimeLimit = 60", "'TimeLimit'"),
        ("CallToken = 't'", "'CallToken'"),
        ("ClientNotificationUrl = 'https://e.x'", "'ClientNotificationUrl'"),
        ("CallerDisplayName = 'Bob'", "'CallerDisplayName'"),
        ("ConferenceStatusCallbackEvent = 'start modify'", "'modify'"),
        ("RecordingStatusCallbackEvent = 'started'", "'started'"),
        ("ConferenceRecordingStatusCallbackEvent = 'absent'", "'absent'"),
    ],
)
def test_inputs_signalwire_cannot_honour_send_nothing(
    conn: driver.Connection, emu: Emulator, extra: str, named: str
) -> None:
    with pytest.raises(driver.NotSupportedError) as err:
        rows(conn, f"{ADD}, {extra}", ("Room", PHONE_A, PHONE_B))
    assert named in str(err.value) and "SignalWire" in str(err.value)
    assert emu.requests == []
    assert rows(conn, "SELECT count(*) FROM Conferences") == [(0,)]  # still healthy


def test_label_refusal_says_what_to_use(conn: driver.Connection) -> None:
    with pytest.raises(driver.NotSupportedError, match="use the CallSid AddParticipants returns"):
        rows(conn, f"{ADD}, Label = 'x'", ("Room", PHONE_A, PHONE_B))


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ("Coaching = 1", driver.DataError),
        ("Coaching = 0, CallSidToCoach = '5f1c3b8e-2d4a-4c6e-9a7b-3e8d1f0c2b4a'", driver.DataError),
        ("CallSidToCoach = 'CA0123'", driver.DataError),  # not a SignalWire call id
        ("To = 'app:AP0123'", driver.ProgrammingError),  # given twice
    ],
)
def test_bad_add_inputs_send_nothing(
    conn: driver.Connection, emu: Emulator, extra: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        rows(conn, f"{ADD}, {extra}", ("Room", PHONE_A, PHONE_B))
    assert emu.requests == []


def test_app_endpoints_are_not_signalwire_addresses(conn: driver.Connection, emu: Emulator) -> None:
    with pytest.raises(driver.DataError, match="client:NAME or sip:USER@HOST"):
        rows(conn, ADD, ("Room", PHONE_A, "app:AP" + "0" * 32))
    assert emu.requests == []


def test_control_characters_and_long_markup_send_nothing(
    conn: driver.Connection, emu: Emulator
) -> None:
    with pytest.raises(driver.DataError, match="control character"):
        rows(conn, ADD, ("bell\x07", PHONE_A, PHONE_B))
    with pytest.raises(driver.DataError, match="4000"):
        rows(conn, f"{ADD}, WaitUrl = ?", ("Room", PHONE_A, PHONE_B, "https://e.x/" + "a" * 4000))
    assert posts(emu) == []


def test_add_rejected_by_provider_is_a_data_error(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    # The coach is not in the conference: the create-call 400 (an errors array) names why.
    with pytest.raises(driver.DataError) as err:
        rows(conn, f"{ADD}, CallSidToCoach = ?", ("Room", PHONE_A, PHONE_B, DEMO_PROJECT_ID))
    assert err.value.status == 400 and err.value.code == "20001"
    assert "coach" in str(err.value)
    assert len(emu.live_participants(room["sid"])) == 2


def test_insert_into_participants(conn: driver.Connection, emu: Emulator) -> None:
    cur = conn.cursor()
    cur.executemany(
        'INSERT INTO Participants (ConferenceSid, "From", "To", Muted) VALUES (?, ?, ?, ?)',
        [("Ins", PHONE_A, PHONE_B, 1), ("Ins", PHONE_A, "+15550003000", 0)],
    )
    assert rows(conn, "SELECT Muted FROM Participants ORDER BY Muted") == [(0,), (1,)]


# --- ModifyParticipants, RemoveParticipant, ModifyConference ---------------------------


def test_modify_participants(conn: driver.Connection, emu: Emulator, room: dict[str, str]) -> None:
    [row] = rows(
        conn,
        "EXEC ModifyParticipants ConferenceSid = 'Room', CallSid = ?, Muted = 1, Hold = 1, "
        "HoldUrl = 'https://e.x/h', HoldMethod = 'POST', AnnounceUrl = 'https://e.x/a', "
        "AnnounceMethod = 'GET', WaitUrl = 'https://e.x/w', WaitMethod = 'GET', "
        "Coaching = 1, CallSidToCoach = ?",
        (room["a"], room["b"]),
    )
    assert row[:2] == (room["sid"], room["a"]) and row[4:9] == ("connected", 1, 1, 1, room["b"])
    [post] = posts(emu)
    assert post.path.endswith(f"/Conferences/{room['sid']}/Participants/{room['a']}")


@pytest.mark.parametrize("extra", ["BeepOnExit = 1", "EndConferenceOnExit = 1"])
def test_modify_inputs_signalwire_lacks_send_nothing(
    conn: driver.Connection, emu: Emulator, room: dict[str, str], extra: str
) -> None:
    with pytest.raises(driver.NotSupportedError, match="not supported by SignalWire"):
        rows(
            conn,
            f"EXEC ModifyParticipants ConferenceSid = ?, CallSid = ?, {extra}",
            (room["sid"], room["a"]),
        )
    assert emu.requests == []


def test_update_and_delete_participants(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    conn.cursor().execute("UPDATE Participants SET Muted = 1 WHERE CallSid = ?", (room["a"],))
    assert rows(conn, "SELECT count(*) FROM Participants WHERE Muted = 1") == [(2,)]
    conn.cursor().execute("DELETE FROM Participants WHERE CallSid = ?", (room["a"],))
    assert rows(conn, "SELECT CallSid FROM Participants") == [(room["b"],)]
    deletes = [r for r in emu.requests if r.method == "DELETE"]
    assert [r.status for r in deletes] == [204]
    with pytest.raises(driver.NotSupportedError):
        conn.cursor().execute("UPDATE Participants SET EndConferenceOnExit = 1 WHERE 1")


def test_remove_participant_and_modify_conference(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    assert rows(conn, "EXEC RemoveParticipant ConferenceSid = 'Room', CallSid = ?", (room["b"],))
    [row] = rows(conn, "EXEC ModifyConference Sid = 'Room', AnnounceUrl = 'https://e.x/a'")
    assert row[3] == "in-progress"
    [row] = rows(conn, "EXEC ModifyConference Sid = ?, Status = 'completed'", (room["sid"],))
    assert row[3] == "completed" and row[7] is None  # no ReasonConferenceEnded on SignalWire


# --- faults: at most once --------------------------------------------------------------


def test_429_on_add_is_retried_and_the_call_placed_once(
    conn: driver.Connection, emu: Emulator
) -> None:
    emu.faults.add("429", count=2, method="POST", retry_after=0)
    rows(conn, ADD, ("Once", PHONE_A, PHONE_B))
    assert [r.status for r in posts(emu)] == [429, 429, 200]
    assert len(emu.state.live_calls) == 1


@pytest.mark.parametrize("kind", ["500", "drop"])
def test_unknown_outcome_of_add_is_reported_with_a_check(
    conn: driver.Connection, emu: Emulator, room: dict[str, str], kind: str
) -> None:
    emu.faults.add(kind, method="POST", path_contains="/Calls", after_processing=True)
    with pytest.raises(driver.OperationalError) as err:
        rows(conn, ADD, (room["sid"], PHONE_A, PHONE_B))
    message = str(err.value)
    assert "may or may not" in message and "NOT retried" in message
    check = message.split("To check: ", 1)[1]
    assert "Label" not in check  # SignalWire has none to suggest
    assert len(rows(conn, check)) == 3  # the query runs; the call did join
    assert len(posts(emu)) == 1


def test_sandbox() -> None:
    conn = driver.connect("Provider=SignalWire;Sandbox=true")
    try:
        names = rows(conn, "SELECT FriendlyName FROM Conferences WHERE Status = 'in-progress'")
        assert ("Daily Standup",) in names
        assert rows(conn, "SELECT count(*) FROM Participants WHERE Label IS NOT NULL") == [(0,)]
    finally:
        conn.close()
