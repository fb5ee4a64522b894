"""Provider=Jambonz over real loopback HTTP: its emulator, the receiver, and the whole loop.

EXEC AddParticipants → jambonz fetches the receiver's call hook → the conference verb runs →
signed status events are recorded → Participants is derived from them → ModifyParticipants
changes the call and reports the change → ConferenceEvents shows it.  Around it: the wire
(paths, Bearer auth, the bare-array list, errors), the connection properties, every refusal
(nothing sent), at-most-once under injected faults, and Sandbox=true.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import apsw
import httpx
import pytest

import driver
from driver import schema
from driver.emulator import Emulator, EmulatorServer
from driver.emulator.wires import jambonz as wire
from driver.events import ReceiverConfig, Secrets, hook
from driver.events.server import ReceiverServer
from driver.events.signatures import jambonz_header
from driver.providers import provider_class
from driver.providers.jambonz import target
from driver.settings import resolve
from tests.conftest import wire_server

PROVIDER = "Jambonz"
ACCOUNT = wire.DEMO_ACCOUNT
ROOT = f"/v1/Accounts/{ACCOUNT}"
JAMBONZ_ENV = (
    "JAMBONZ_REST_API_BASE_URL",
    "JAMBONZ_ACCOUNT_SID",
    "JAMBONZ_API_KEY",
    "JAMBONZ_WEBHOOK_SECRET",
    "JAMBONZ_APPLICATION_SID",
)
FROM = "+15550100"


@pytest.fixture(autouse=True)
def _no_jambonz_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in JAMBONZ_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def jambonz_server(wire_servers: dict[str, EmulatorServer]) -> EmulatorServer:
    """The jambonz emulator over HTTP (shared with its spec tests)."""
    running = wire_server(wire_servers, "jambonz")
    return running


@pytest.fixture
def emu(jambonz_server: EmulatorServer) -> Iterator[Emulator]:
    jambonz_server.emulator.reset()
    yield jambonz_server.emulator
    jambonz_server.emulator.reset()


@pytest.fixture(scope="module")
def shared_receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReceiverServer]:
    """`confsql listen` in-process, trusting the emulator's demo webhook secret."""
    path = tmp_path_factory.mktemp("jambonz") / "events.db"
    config = ReceiverConfig("", str(path), Secrets(jambonz=(wire.DEMO_WEBHOOK_SECRET,)))
    with ReceiverServer(config) as running:
        yield running


@pytest.fixture
def receiver(shared_receiver: ReceiverServer) -> ReceiverServer:
    """The receiver, its table emptied for this test."""
    db = apsw.Connection(shared_receiver.config.events_db)
    db.set_busy_timeout(5000)
    db.execute('DELETE FROM "ConferenceEvents"')
    db.close()
    return shared_receiver


@pytest.fixture
def events_db(receiver: ReceiverServer) -> str:
    return receiver.config.events_db


@pytest.fixture
def connect(
    jambonz_server: EmulatorServer, emu: Emulator, receiver: ReceiverServer
) -> Iterator[Any]:
    opened: list[driver.Connection] = []

    def _connect(**props: Any) -> driver.Connection:
        props.setdefault("Provider", PROVIDER)
        props.setdefault("BaseUrl", jambonz_server.base_url + "/v1")
        props.setdefault("AccountSid", ACCOUNT)
        props.setdefault("ApiKey", wire.DEMO_API_KEY)
        props.setdefault("WebhookSecret", wire.DEMO_WEBHOOK_SECRET)
        props.setdefault("WebhookUrl", receiver.url)
        props.setdefault("EventsDb", receiver.config.events_db)
        props.setdefault("Timeout", 5)
        props = {k: v for k, v in props.items() if v is not None}
        conn = driver.connect(**props)
        opened.append(conn)
        return conn

    yield _connect
    for conn in opened:
        conn.close()


@pytest.fixture
def conn(connect: Any) -> driver.Connection:
    return connect()  # type: ignore[no-any-return]


def rows(conn: driver.Connection, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    return conn.cursor().execute(sql, params).fetchall()


def add(conn: driver.Connection, label: str, room: str = "standup", **inputs: Any) -> str:
    """EXEC AddParticipants; the new call's sid."""
    extra = "".join(f", {k} = {v!r}" for k, v in inputs.items())
    found = rows(
        conn,
        f"EXEC AddParticipants ConferenceSid = '{room}', From = '{FROM}', "
        f"To = '+1555010{len(label)}', Label = '{label}'{extra}",
    )
    return str(found[0][1])


def events(conn: driver.Connection, where: str = "1") -> list[tuple[Any, ...]]:
    return rows(
        conn,
        "SELECT Event, CallSid, Label, Muted, Hold, ReasonConferenceEnded FROM ConferenceEvents "
        f"WHERE {where} ORDER BY Timestamp, json_extract(Payload, '$.time')",
    )


# -- the whole loop ------------------------------------------------------------------------


def test_full_loop(conn: driver.Connection, emu: Emulator, events_db: str) -> None:
    ana = add(conn, "ana", EndConferenceOnExit=1)
    ben = add(conn, "ben", Muted=1)
    assert emu.wire.drain()
    counters = emu.wire.calls.counters
    assert (counters.hooks, counters.hooks_failed, counters.events_failed) == (2, 0, 0)

    # the calls: from, a phone Target, the receiver's hook with signed parameters
    placed = emu.requests.matching("POST", f"{ROOT}/Calls")
    assert [r.status for r in placed] == [201, 201]
    body = placed[0].json
    assert body["from"] == FROM and body["to"] == {"type": "phone", "number": "+15550103"}
    url = urlsplit(body["call_hook"]["url"])
    assert body["call_hook"]["method"] == "post"
    assert f"{url.scheme}://{url.netloc}{url.path}".endswith("/jambonz/hook")
    token = parse_qs(url.query)[hook.QUERY_KEY][0]
    assert hook.verify_parameters([wire.DEMO_WEBHOOK_SECRET], token)["name"] == "standup"

    # the events, recorded by the receiver
    assert events(conn) == [
        ("conference-start", None, None, None, None, None),
        ("participant-join", ana, "ana", 0, 0, None),
        ("participant-join", ben, "ben", 1, 0, None),
    ]
    # Participants, derived from them
    assert rows(
        conn,
        "SELECT ConferenceSid, CallSid, AccountSid, Label, Status, Muted, Hold, "
        "StartConferenceOnEnter, EndConferenceOnExit, Coaching, QueueTime, Uri "
        "FROM Participants ORDER BY DateCreated, Label",
    ) == [
        ("standup", ana, ACCOUNT, "ana", "connected", 0, 0, 1, 1, None, None, None),
        ("standup", ben, ACCOUNT, "ben", "connected", 1, 0, 1, 0, None, None, None),
    ]
    assert rows(conn, "SELECT Sid, FriendlyName, Status, AccountSid FROM Conferences") == [
        ("standup", "standup", "in-progress", ACCOUNT)
    ]

    # mute by label: one update, then confsql's report is recorded
    emu.requests.clear()
    result = rows(
        conn, "EXEC ModifyParticipants ConferenceSid = 'standup', CallSid = 'ana', Muted = 1"
    )
    assert result[0][:6] == ("standup", ana, ACCOUNT, "ana", "connected", 1)
    update = emu.requests.matching("POST", f"{ROOT}/Calls/{ana}")
    assert [(r.json, r.status) for r in update] == [
        ({"conferenceParticipantAction": {"action": "mute"}}, 202)
    ]
    assert emu.state.calls[ana].muted is True
    assert events(conn, "Event = 'participant-mute'") == [
        ("participant-mute", ana, "ana", 1, None, None)
    ]
    payload = rows(conn, "SELECT Payload FROM ConferenceEvents WHERE Event = 'participant-mute'")
    assert '"reported_by":"confsql"' in payload[0][0]
    assert rows(conn, "SELECT Label, Muted FROM Participants WHERE Muted = 1 ORDER BY Label") == [
        ("ana", 1),
        ("ben", 1),
    ]

    # hold through UPDATE, then the moderator is removed through DELETE: it all ends
    conn.cursor().execute("UPDATE Participants SET Hold = 1 WHERE Label = 'ben'")
    assert emu.state.calls[ben].hold is True
    cur = conn.cursor().execute("DELETE FROM Participants WHERE Label = 'ana'")
    assert cur.rowcount == 1
    assert emu.requests.matching("DELETE", f"{ROOT}/Calls/{ana}")[0].status == 204
    assert emu.wire.drain()
    ending = "participant-with-end-conference-on-exit-left"
    assert events(conn, "Event NOT IN ('conference-start', 'participant-join')") == [
        ("participant-mute", ana, "ana", 1, None, None),
        ("participant-hold", ben, "ben", None, 1, None),
        ("participant-leave", ana, "ana", None, None, None),
        ("conference-end", None, None, None, None, ending),
        ("participant-leave", ben, "ben", None, None, None),
        ("conference-end", None, None, None, None, None),  # jambonz posts it again for ben
    ]
    assert rows(conn, "SELECT * FROM Participants") == []
    ended = rows(conn, "SELECT Sid, Status, DateCreated IS NOT NULL FROM Conferences")
    assert ended == [("standup", "completed", 1)]


def test_speech_and_waiting_callers(conn: driver.Connection, emu: Emulator) -> None:
    """A caller with StartConferenceOnEnter = 0 waits (no events) until someone starts it."""
    cy = add(conn, "cy", StartConferenceOnEnter=0)
    assert emu.wire.drain()
    assert rows(conn, "SELECT * FROM Conferences") == []
    assert events(conn) == []
    dee = add(conn, "dee")
    assert emu.wire.drain()
    emu.wire.speech(cy, speaking=True)
    emu.wire.speech(cy, speaking=False)
    assert emu.wire.drain()
    assert events(conn) == [
        ("conference-start", None, None, None, None, None),
        ("participant-join", dee, "dee", 0, 0, None),
        ("participant-join", cy, "cy", 0, 0, None),
        ("participant-speech-start", cy, "cy", None, None, None),
        ("participant-speech-stop", cy, "cy", None, None, None),
    ]
    assert rows(conn, "SELECT Label, StartConferenceOnEnter FROM Participants ORDER BY 1") == [
        ("cy", 0),
        ("dee", 1),
    ]
    emu.wire.hang_up(dee)
    emu.wire.hang_up(cy)
    assert emu.wire.drain()
    assert [e[0] for e in events(conn)][-3:] == [
        "participant-leave",
        "participant-leave",
        "conference-end",
    ]


def test_muted_and_hold_together_are_two_requests(conn: driver.Connection, emu: Emulator) -> None:
    ana = add(conn, "ana")
    add(conn, "ben")
    assert emu.wire.drain()
    emu.requests.clear()
    result = rows(
        conn,
        "EXEC ModifyParticipants ConferenceSid = 'standup', CallSid = 'ana', Muted = 1, Hold = 1",
    )
    assert result[0][5:7] == (1, 1)
    assert [r.json for r in emu.requests.matching("POST", f"{ROOT}/Calls/{ana}")] == [
        {"conferenceParticipantAction": {"action": "mute"}},
        {"conf_hold_status": "hold"},
    ]
    assert [e[0] for e in events(conn, f"CallSid = '{ana}'")][-2:] == [
        "participant-mute",
        "participant-hold",
    ]
    rows(conn, "EXEC ModifyParticipants ConferenceSid = 'standup', CallSid = ?, Hold = 0", (ana,))
    assert rows(conn, "SELECT Muted, Hold FROM Participants WHERE CallSid = ?", (ana,)) == [(1, 0)]


def test_join_conference_redirects_the_call(conn: driver.Connection, emu: Emulator) -> None:
    cy = add(conn, "cy", room="lobby")
    add(conn, "ana", room="standup")
    assert emu.wire.drain()
    emu.requests.clear()
    result = rows(
        conn,
        f"EXEC JoinConference ConferenceSid = 'standup', CallSid = '{cy}', Muted = 1, "
        "Beep = 'onEnter'",
    )
    assert result[0][:5] == ("standup", cy, ACCOUNT, None, "connecting")
    (update,) = emu.requests.matching("POST", f"{ROOT}/Calls/{cy}")
    assert set(update.json) == {"call_hook"} and update.status == 202
    token = parse_qs(urlsplit(update.json["call_hook"]["url"]).query)[hook.QUERY_KEY][0]
    parameters = hook.verify_parameters([wire.DEMO_WEBHOOK_SECRET], token)
    assert (parameters["callSid"], parameters["joinMuted"], parameters["beep"]) == (cy, True, True)
    assert emu.wire.drain()
    # cy left the lobby (which ended) and joined standup muted, keeping its label
    assert rows(conn, "SELECT ConferenceSid, Label, Muted FROM Participants ORDER BY 2") == [
        ("standup", "ana", 0),
        ("standup", "cy", 1),
    ]
    assert rows(conn, "SELECT Sid, Status FROM Conferences ORDER BY Sid") == [
        ("lobby", "completed"),
        ("standup", "in-progress"),
    ]
    with pytest.raises(driver.ProgrammingError, match="knows no live call") as caught:
        conn.cursor().execute(
            "EXEC JoinConference ConferenceSid = 'x', "
            "CallSid = '00000000-0000-4000-8000-000000000000'"
        )
    assert caught.value.status == 404


def test_application_carries_the_parameters_in_the_tag(
    connect: Any, emu: Emulator, receiver: ReceiverServer
) -> None:
    application = emu.wire.add_application(receiver.url + "/jambonz/hook")
    conn = connect(ApplicationSid=application, WebhookUrl=None)
    ana = add(conn, "ana")
    body = emu.requests.matching("POST", f"{ROOT}/Calls")[0].json
    assert body["application_sid"] == application and "call_hook" not in body
    assert not any(k.startswith("speech_") for k in body)
    hook.verify_parameters([wire.DEMO_WEBHOOK_SECRET], body["tag"][hook.QUERY_KEY])
    assert emu.wire.drain()
    assert rows(conn, "SELECT CallSid, Label FROM Participants") == [(ana, "ana")]


def test_a_hook_signed_with_another_secret_is_refused(
    connect: Any, emu: Emulator, receiver: ReceiverServer
) -> None:
    """The receiver refuses parameters it cannot verify: the call is hung up, nothing joins."""
    conn = connect(WebhookSecret="not-the-receivers-secret")
    add(conn, "ana")
    assert emu.wire.drain()
    assert emu.wire.calls.counters.hooks_failed == 1
    assert rows(conn, "SELECT * FROM Conferences") == []
    assert events(conn) == []


def test_tampered_hook_parameters_are_403(
    conn: driver.Connection, emu: Emulator, receiver: ReceiverServer
) -> None:
    """Someone replays a hook request with other parameters in the URL: 403."""
    add(conn, "ana")
    url = emu.requests.matching("POST", f"{ROOT}/Calls")[0].json["call_hook"]["url"]
    token = parse_qs(urlsplit(url).query)[hook.QUERY_KEY][0]
    mac = token.split(".")[1]
    other = hook.sign_parameters("guess", {"name": "board-meeting"}).split(".")[0]
    body = b'{"call_sid": "c1", "account_sid": "a"}'
    headers = {
        "Content-Type": "application/json",
        "Jambonz-Signature": jambonz_header(wire.DEMO_WEBHOOK_SECRET, body),
    }
    tampered = f"{receiver.url}/jambonz/hook?{urlencode({hook.QUERY_KEY: f'{other}.{mac}'})}"
    assert httpx.post(tampered, content=body, headers=headers).status_code == 403
    genuine = f"{receiver.url}/jambonz/hook?{urlencode({hook.QUERY_KEY: token})}"
    assert httpx.post(genuine, content=body, headers=headers).status_code == 200


def test_events_of_an_earlier_run_are_not_members(conn: driver.Connection, emu: Emulator) -> None:
    ana = add(conn, "ana")
    assert emu.wire.drain()
    emu.wire.hang_up(ana)
    assert emu.wire.drain()
    ben = add(conn, "ben")  # the same name again: a new run
    assert emu.wire.drain()
    assert rows(conn, "SELECT CallSid FROM Participants") == [(ben,)]
    assert rows(conn, "SELECT Sid, Status FROM Conferences") == [("standup", "in-progress")]
    # a conference jambonz no longer lists has no members, whatever was recorded
    with emu.state.lock:
        room = emu.state.live_conference_named(ACCOUNT, "standup")
        assert room is not None
        emu.state.end_conference(room, "last-participant-left", None)
    assert rows(conn, "SELECT * FROM Participants") == []


# -- the wire --------------------------------------------------------------------------------


def test_conferences_are_names(connect: Any, emu: Emulator) -> None:
    emu.create_conference("Daily Standup")
    emu.create_conference("Board Review", "completed")
    emu.create_conference("Lobby", "init")
    conn = connect(EventsDb=None)
    assert rows(conn, "SELECT * FROM Conferences") == [
        ("Daily Standup", ACCOUNT, "Daily Standup", "in-progress") + (None,) * 7
    ]
    (request,) = emu.requests.matching("GET", f"{ROOT}/Conferences")
    assert request.query == [] and request.status == 200
    # filters are SQLite's: nothing is pushed to a list of names
    emu.requests.clear()
    assert rows(conn, "SELECT Sid FROM Conferences WHERE Status = 'completed'") == []
    assert [r.query for r in emu.requests] == [[]]


def test_bearer_auth_and_errors(
    connect: Any, emu: Emulator, jambonz_server: EmulatorServer
) -> None:
    seen: list[str] = []
    headers = httpx.get(
        jambonz_server.base_url + f"{ROOT}/Conferences",
        headers={"Authorization": f"Bearer {wire.DEMO_API_KEY}"},
    )
    assert headers.status_code == 200 and headers.json() == []
    bad = connect(ApiKey="wrong-key", EventsDb=None)
    with pytest.raises(driver.OperationalError, match="check ApiKey") as caught:
        rows(bad, "SELECT * FROM Conferences")
    assert caught.value.status == 401 and "wrong-key" not in str(caught.value)
    seen.append(repr(bad))
    other = connect(AccountSid="00000000-0000-4000-8000-000000000000", EventsDb=None)
    with pytest.raises(driver.OperationalError, match="insufficient permissions"):
        rows(other, "SELECT * FROM Conferences")
    assert all("wrong-key" not in s and wire.DEMO_WEBHOOK_SECRET not in s for s in seen)


def test_provider_errors_carry_msg(conn: driver.Connection, emu: Emulator) -> None:
    emu.faults.add("500", path_contains="/Conferences", method="GET")
    with pytest.raises(driver.OperationalError, match="Internal Server Error") as caught:
        rows(conn, "SELECT * FROM Conferences")
    assert caught.value.status == 500
    emu.faults.add("empty-2xx", path_contains="/Conferences", method="GET")
    with pytest.raises(driver.OperationalError, match="JSON array of conference names"):
        rows(conn, "SELECT * FROM Conferences")
    assert rows(conn, "SELECT count(*) FROM Conferences") == [(0,)]  # healthy again


def test_targets() -> None:
    assert target("+15550100") == {"type": "phone", "number": "+15550100"}
    assert target("sip:alice@example.com") == {"type": "sip", "sipUri": "sip:alice@example.com"}
    assert target("user:bob@tenant.example.com") == {
        "type": "user",
        "name": "bob@tenant.example.com",
    }


def test_to_formats_are_checked_before_sending(conn: driver.Connection, emu: Emulator) -> None:
    for bad in ("client:alice", "bob", "+1 555"):
        with pytest.raises(driver.DataError, match="registered jambonz user"):
            conn.cursor().execute(
                f"EXEC AddParticipants ConferenceSid = 'a', From = '{FROM}', To = '{bad}'"
            )
    rows(conn, f"EXEC AddParticipants ConferenceSid = 'a', From = '{FROM}', To = 'sip:x@y.z'")
    assert [r.json["to"] for r in emu.requests.matching("POST")] == [
        {"type": "sip", "sipUri": "sip:x@y.z"}
    ]


# -- properties ----------------------------------------------------------------------------------


def test_base_url_is_required() -> None:
    with pytest.raises(driver.ProgrammingError) as caught:
        driver.connect(Provider=PROVIDER, AccountSid=ACCOUNT, ApiKey="k")
    message = str(caught.value)
    assert "BaseUrl is required" in message and "JAMBONZ_REST_API_BASE_URL" in message
    assert "Sandbox=true" in message


def test_credentials_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(driver.ProgrammingError) as caught:
        driver.connect(Provider=PROVIDER, BaseUrl="https://j.example.com/v1")
    message = str(caught.value)
    for name in ("AccountSid", "ApiKey", "JAMBONZ_ACCOUNT_SID", "JAMBONZ_API_KEY"):
        assert name in message
    monkeypatch.setenv("JAMBONZ_ACCOUNT_SID", "AC" + "0" * 32)
    with pytest.raises(driver.ProgrammingError, match="JAMBONZ_ACCOUNT_SID='AC0"):
        driver.connect(Provider=PROVIDER, BaseUrl="https://j.example.com/v1", ApiKey="k")
    with pytest.raises(driver.ProgrammingError, match="not used by Jambonz"):
        driver.connect(Provider=PROVIDER, AuthToken="x")


def test_environment_fallbacks(
    monkeypatch: pytest.MonkeyPatch, jambonz_server: EmulatorServer, emu: Emulator
) -> None:
    monkeypatch.setenv("JAMBONZ_REST_API_BASE_URL", jambonz_server.base_url + "/v1")
    monkeypatch.setenv("JAMBONZ_ACCOUNT_SID", ACCOUNT)
    monkeypatch.setenv("JAMBONZ_API_KEY", wire.DEMO_API_KEY)
    monkeypatch.setenv("JAMBONZ_WEBHOOK_SECRET", wire.DEMO_WEBHOOK_SECRET)
    emu.create_conference("env")
    with driver.connect(f"Provider={PROVIDER}") as conn:
        assert rows(conn, "SELECT Sid FROM Conferences") == [("env",)]
        shown = repr(conn) + repr(conn.session.settings)
        assert wire.DEMO_API_KEY not in shown and wire.DEMO_WEBHOOK_SECRET not in shown


# -- what is refused, before anything is sent ------------------------------------------------------


@pytest.mark.parametrize(
    ("inputs", "error", "words"),
    [
        ("Record = 1", driver.NotSupportedError, "conference verb of your own application"),
        ("CallerId = '+15550199'", driver.NotSupportedError, "give the calling number as From"),
        ("StatusCallbackEvent = 'answered'", driver.NotSupportedError, "every call status"),
        ("Region = 'ie1'", driver.NotSupportedError, "Jambonz takes: ConferenceSid, From"),
        ("EarlyMedia = 1", driver.NotSupportedError, "not supported by Jambonz"),
        ("Beep = 'true'", driver.NotSupportedError, "beeps only when a caller enters"),
        ("Beep = 'onExit'", driver.NotSupportedError, "Beep = 'onEnter'"),
        ("ConferenceStatusCallbackEvent = 'join mute'", driver.NotSupportedError, "'mute'"),
        ("ConferenceStatusCallbackMethod = 'GET'", driver.NotSupportedError, "use POST"),
    ],
)
def test_add_participants_refusals(
    conn: driver.Connection, emu: Emulator, inputs: str, error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words.replace("(", r"\(")):
        conn.cursor().execute(
            f"EXEC AddParticipants ConferenceSid = 'a', From = '{FROM}', To = '+15550101', "
            + inputs
        )
    assert list(emu.requests) == []


def test_add_participants_needs_the_receiver(connect: Any, emu: Emulator) -> None:
    with pytest.raises(driver.ProgrammingError, match="set WebhookUrl") as caught:
        add(connect(WebhookUrl=None), "ana")
    assert "ApplicationSid" in str(caught.value)
    with pytest.raises(driver.ProgrammingError, match="WebhookSecret is missing"):
        add(connect(WebhookSecret=None), "ana")
    with pytest.raises(driver.DataError, match="without ':'"):
        add(connect(), "ana", room="a:b")
    assert list(emu.requests) == []


def test_modify_participants_refusals(connect: Any, emu: Emulator) -> None:
    conn = connect()
    for inputs, words in (
        ("HoldUrl = 'https://x.example.com/h'", "not supported by Jambonz"),
        ("EndConferenceOnExit = 1", "give it when the participant joins"),
        ("BeepOnExit = 1", "beeps only when a caller enters"),
        ("AnnounceUrl = 'https://x.example.com/a'", "not supported"),
    ):
        with pytest.raises(driver.NotSupportedError, match=words):
            conn.cursor().execute(
                f"EXEC ModifyParticipants ConferenceSid = 'a', CallSid = 'x', {inputs}"
            )
    with pytest.raises(driver.ProgrammingError, match="give Muted or Hold"):
        conn.cursor().execute("EXEC ModifyParticipants ConferenceSid = 'a', CallSid = 'x'")
    # a participant the events do not show is not changed
    with pytest.raises(driver.ProgrammingError, match="not a live participant") as caught:
        conn.cursor().execute(
            "EXEC ModifyParticipants ConferenceSid = 'a', CallSid = 'ghost', Muted = 1"
        )
    assert caught.value.status == 404
    # with EventsDb, changes must be reported, or Participants would show stale values
    with pytest.raises(driver.ProgrammingError, match="set WebhookUrl and WebhookSecret"):
        connect(WebhookUrl=None).cursor().execute(
            "EXEC ModifyParticipants ConferenceSid = 'a', CallSid = 'x', Muted = 1"
        )
    # without EventsDb a label cannot be looked up
    with pytest.raises(driver.ProgrammingError, match="not a call sid"):
        connect(EventsDb=None).cursor().execute(
            "EXEC RemoveParticipant ConferenceSid = 'a', CallSid = 'ana'"
        )
    assert [r for r in emu.requests if r.method != "GET"] == []


def test_ending_a_conference_is_not_supported(conn: driver.Connection, emu: Emulator) -> None:
    emu.create_conference("standup")
    for sql in (
        "EXEC ModifyConference Sid = 'standup', Status = 'completed'",
        "UPDATE Conferences SET Status = 'completed' WHERE Sid = 'standup'",
        "UPDATE Conferences SET Status = 'completed' WHERE Sid = 'no-such-conference'",
    ):
        with pytest.raises(driver.NotSupportedError) as caught:
            conn.cursor().execute(sql)
        message = str(caught.value)
        assert "EndConferenceOnExit = 1" in message and "remove every participant" in message
    assert list(emu.requests) == []


def test_join_conference_refusals(conn: driver.Connection, emu: Emulator) -> None:
    with pytest.raises(driver.NotSupportedError, match=r"ModifyParticipants \.\.\. Hold = 1"):
        conn.cursor().execute("EXEC JoinConference ConferenceSid = 'a', CallSid = 'c', Hold = 1")
    assert list(emu.requests) == []


def test_participants_without_events_db_says_how(connect: Any, emu: Emulator) -> None:
    emu.create_conference("standup")
    conn = connect(EventsDb=None)
    with pytest.raises(driver.NotSupportedError) as caught:
        rows(conn, "SELECT * FROM Participants")
    message = str(caught.value)
    for words in ("no participant listing", "confsql listen", "EventsDb", "WebhookUrl"):
        assert words in message
    assert rows(conn, "SELECT count(*) FROM Conferences") == [(1,)]  # still healthy


# -- at most once ----------------------------------------------------------------------------------


def test_add_participants_unknown_outcome_is_not_resent(
    conn: driver.Connection, emu: Emulator
) -> None:
    emu.faults.add("drop", path_contains="/Calls", method="POST", after_processing=True)
    with pytest.raises(driver.OperationalError, match="NOT retried") as caught:
        add(conn, "ana")
    assert "To check: SELECT * FROM Participants WHERE ConferenceSid = 'standup'" in str(
        caught.value
    )
    assert len(emu.requests.matching("POST", "/Calls")) == 1
    assert emu.wire.drain()
    assert rows(conn, "SELECT Label FROM Participants") == [("ana",)]  # it was placed


def test_add_participants_429_is_retried_once_placed(
    conn: driver.Connection, emu: Emulator
) -> None:
    emu.faults.add("429", path_contains="/Calls", method="POST", retry_after=0)
    add(conn, "ana")
    assert [r.status for r in emu.requests.matching("POST", "/Calls")] == [429, 201]
    assert emu.wire.drain()
    assert len(rows(conn, "SELECT * FROM Participants")) == 1


def test_modify_unknown_outcome_says_repeating_is_harmless(
    conn: driver.Connection, emu: Emulator
) -> None:
    ana = add(conn, "ana")
    assert emu.wire.drain()
    emu.faults.add("drop", path_contains=f"/Calls/{ana}", method="POST", after_processing=True)
    with pytest.raises(driver.OperationalError, match="running the same EXEC again is harmless"):
        rows(conn, "EXEC ModifyParticipants ConferenceSid = 'standup', CallSid = 'ana', Hold = 1")
    assert len(emu.requests.matching("POST", f"/Calls/{ana}")) == 1
    assert events(conn, "Event = 'participant-hold'") == []  # not reported: unknown


def test_a_failed_report_is_an_error(connect: Any, emu: Emulator) -> None:
    conn = connect()
    ana = add(conn, "ana")
    assert emu.wire.drain()
    closed = connect(WebhookUrl="http://127.0.0.1:9")
    with pytest.raises(driver.OperationalError, match="jambonz made the change") as caught:
        rows(
            closed,
            "EXEC ModifyParticipants ConferenceSid = 'standup', CallSid = ?, Muted = 1",
            (ana,),
        )
    assert "run the same EXEC again" in str(caught.value)
    assert emu.state.calls[ana].muted is True
    rows(conn, "EXEC ModifyParticipants ConferenceSid = 'standup', CallSid = ?, Muted = 1", (ana,))
    assert rows(conn, "SELECT Muted FROM Participants") == [(1,)]


def test_remove_participant_of_a_call_already_gone(conn: driver.Connection, emu: Emulator) -> None:
    ana = add(conn, "ana")
    add(conn, "ben")
    assert emu.wire.drain()
    with emu.state.lock:  # jambonz forgets the call before its leave event is recorded
        emu.state.live_calls[ana].status = "completed"
    with pytest.raises(driver.ProgrammingError) as caught:
        rows(conn, f"EXEC RemoveParticipant ConferenceSid = 'standup', CallSid = '{ana}'")
    assert caught.value.status == 404


# -- the sandbox ----------------------------------------------------------------------------------


def test_sandbox(tmp_path: Path) -> None:
    """Provider=Jambonz;Sandbox=true: the in-process emulator, and a receiver for the loop."""
    with driver.connect("Provider=Jambonz;Sandbox=true") as conn:
        names = {r[0] for r in rows(conn, "SELECT Sid FROM Conferences")}
        assert {"Daily Standup", "Customer Escalation"} <= names
        with pytest.raises(driver.NotSupportedError, match="EventsDb"):
            rows(conn, "SELECT * FROM Participants")
    events_db = tmp_path / "events.db"
    config = ReceiverConfig("", str(events_db), Secrets(jambonz=(wire.DEMO_WEBHOOK_SECRET,)))
    with ReceiverServer(config) as receiver:
        dsn = f"Provider=Jambonz;Sandbox=true;EventsDb={events_db};WebhookUrl={receiver.url}"
        with driver.connect(dsn) as conn:
            add(conn, "ana", room="sandbox-demo")
            add(conn, "ben", room="sandbox-demo")
            # no waiting: the sandbox settles its hooks and events before EXEC returns
            got = rows(conn, "SELECT Label FROM Participants WHERE ConferenceSid = 'sandbox-demo'")
            assert sorted(got) == [("ana",), ("ben",)]
            rows(conn, "EXEC RemoveParticipant ConferenceSid = 'sandbox-demo', CallSid = 'ana'")
            assert rows(
                conn, "SELECT Label FROM Participants WHERE ConferenceSid = 'sandbox-demo'"
            ) == [("ben",)]


def test_hook_work_happens_off_the_request_path(conn: driver.Connection, emu: Emulator) -> None:
    """Creating a call answers 201 while the hook fetch waits on the worker thread."""
    gate = threading.Event()
    emu.wire.calls.worker.submit(gate.wait)  # block the worker
    try:
        add(conn, "ana")
        assert emu.wire.calls.counters.hooks == 0
    finally:
        gate.set()
    assert emu.wire.drain()
    assert emu.wire.calls.counters.hooks == 1


def test_without_events_db_call_sids_are_used_as_given(connect: Any, emu: Emulator) -> None:
    """Nothing to check against: the change is sent, and the result shows what is known."""
    ana = add(connect(), "ana")
    assert emu.wire.drain()
    conn = connect(EventsDb=None, WebhookUrl=None)
    result = rows(
        conn, f"EXEC ModifyParticipants ConferenceSid = 'standup', CallSid = '{ana}', Muted = 1"
    )
    assert result == [("standup", ana, ACCOUNT) + (None,) * 2 + (1, None) + (None,) * 8]
    assert emu.state.calls[ana].muted is True
    assert rows(conn, f"EXEC RemoveParticipant ConferenceSid = 'standup', CallSid = '{ana}'") == [
        ("standup", ana)
    ]
    assert emu.wire.drain()
    assert rows(conn, "SELECT * FROM Conferences") == []


def test_remove_unknown_outcome_checks_by_call_sid(conn: driver.Connection, emu: Emulator) -> None:
    ana = add(conn, "ana")
    assert emu.wire.drain()
    emu.faults.add("drop", path_contains=f"/Calls/{ana}", method="DELETE", after_processing=True)
    with pytest.raises(driver.OperationalError, match="NOT retried") as caught:
        rows(conn, "EXEC RemoveParticipant ConferenceSid = 'standup', CallSid = 'ana'")
    assert f"CallSid = '{ana}'" in str(caught.value)
    assert len(emu.requests.matching("DELETE", f"/Calls/{ana}")) == 1


def test_conferences_with_many_recorded_events(
    conn: driver.Connection, emu: Emulator, events_db: str
) -> None:
    """Ended conferences come from the runs' bounds; live ones from their current run."""
    for index in range(3):
        sid = add(conn, "ana", room=f"room-{index}")
        assert emu.wire.drain()
        if index < 2:
            emu.wire.hang_up(sid)
    assert emu.wire.drain()
    found = rows(
        conn,
        "SELECT Sid, Status, DateCreated IS NOT NULL, DateUpdated IS NOT NULL FROM Conferences ORDER BY Sid",
    )
    assert found == [
        ("room-0", "completed", 1, 1),
        ("room-1", "completed", 1, 1),
        ("room-2", "in-progress", 1, 1),
    ]


def test_conf_mute_status_mutes_everyone_but_moderators(
    conn: driver.Connection, emu: Emulator, jambonz_server: EmulatorServer
) -> None:
    """Why Muted is a participant action: conf_mute_status acts on the whole conference."""
    ana = add(conn, "ana", StartConferenceOnEnter=1)  # a moderator
    ben = add(conn, "ben")
    cy = add(conn, "cy")
    assert emu.wire.drain()
    answer = httpx.post(
        f"{jambonz_server.base_url}{ROOT}/Calls/{ben}",
        json={"conf_mute_status": "mute"},
        headers={"Authorization": f"Bearer {wire.DEMO_API_KEY}"},
    )
    assert answer.status_code == 202
    assert [emu.state.calls[c].muted for c in (ana, ben, cy)] == [False, True, True]


def test_own_status_hook_gets_the_events(conn: driver.Connection, emu: Emulator) -> None:
    """ConferenceStatusCallback replaces the receiver as the conference's statusHook."""
    add(conn, "ana", ConferenceStatusCallback="http://127.0.0.1:9/mine")
    assert emu.wire.drain()
    counters = emu.wire.calls.counters
    assert counters.hooks == 1 and counters.events == 0 and counters.events_failed == 2
    assert [event for event, _ in counters.sent] == ["start", "join"]
    assert events(conn) == []


def test_removing_every_participant_ends_the_conference(
    conn: driver.Connection, emu: Emulator
) -> None:
    """The alternative NotSupportedError names for ending a conference."""
    add(conn, "ana")
    add(conn, "ben")
    assert emu.wire.drain()
    cur = conn.cursor().execute("DELETE FROM Participants WHERE ConferenceSid = 'standup'")
    assert cur.rowcount == 2
    assert emu.wire.drain()
    assert rows(conn, "SELECT Sid, Status FROM Conferences") == [("standup", "completed")]
    assert [e[0] for e in events(conn)][-3:] == [
        "participant-leave",
        "participant-leave",
        "conference-end",
    ]


def test_no_feature_server_is_a_clear_error() -> None:
    """jambonz's API server answers 480 when no feature server can place the call."""
    cls = provider_class(PROVIDER)
    mapping = schema.load().provider(PROVIDER)
    assert cls is not None and mapping is not None
    dsn = f"Provider=Jambonz;BaseUrl=https://j.example.com/v1;ApiKey=k;AccountSid={ACCOUNT}"
    provider = cls(mapping, resolve(dsn, {}, environ={})[1])
    request = httpx.Request("POST", "https://j.example.com/v1/Accounts/x/Calls")
    busy = httpx.Response(480, json={"msg": "no available feature servers"}, request=request)
    error = provider.error(busy, "AddParticipants", True, driver.OperationalError)
    assert isinstance(error, driver.OperationalError) and "nothing was placed" in str(error)
    bad = httpx.Response(400, json={"msg": "missing from parameter"}, request=request)
    refused = provider.error(bad, "AddParticipants", True, driver.OperationalError)
    assert isinstance(refused, driver.DataError) and "missing from parameter" in str(refused)
