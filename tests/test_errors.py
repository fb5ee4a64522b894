"""Every failure reaches the caller as a PEP 249 exception with a clear message."""

from __future__ import annotations

import threading
import time

import pytest

import driver
from driver.emulator import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, Emulator, EmulatorServer
from tests.conftest import Connect


def test_wrong_token_is_operational_error_without_the_secret(
    connect: Connect, emu: Emulator
) -> None:
    conn = connect(AuthToken="definitely-wrong-token")
    with pytest.raises(driver.OperationalError) as info:
        conn.cursor().execute("SELECT * FROM Conferences")
    err = info.value
    assert err.status == 401 and err.code == 20003
    assert "AuthToken" in str(err)
    assert "definitely-wrong-token" not in str(err) and "definitely-wrong-token" not in repr(err)
    assert "definitely-wrong-token" not in repr(conn)


def test_api_key_auth(connect: Connect, emu: Emulator) -> None:
    key = "SK" + "1" * 32
    emu.add_api_key(DEMO_ACCOUNT_SID, key, "key-secret")
    emu.seed_demo()
    conn = connect(AuthToken=None, ApiKey=key, ApiSecret="key-secret")
    assert conn.cursor().execute("SELECT count(*) FROM Conferences").fetchone() == (6,)


def test_unknown_conference_sid_in_procedure_is_404(conn: driver.Connection, emu: Emulator) -> None:
    with pytest.raises(driver.ProgrammingError) as info:
        conn.cursor().execute(
            "EXEC AddParticipants ConferenceSid = ?, From = '+15550001111', To = '+15550002222'",
            ("CF" + "a" * 32,),
        )
    assert info.value.status == 404 and info.value.code == 20404


def test_500_in_the_middle_of_a_scan_raises(conn: driver.Connection, emu: Emulator) -> None:
    emu.seed_bulk(conferences=2500)
    emu.requests.clear()
    cur = conn.cursor().execute("SELECT Sid FROM Conferences")
    first = cur.fetchmany(10)
    assert len(first) == 10
    emu.faults.add("500", count=1, operation="conferences")
    with pytest.raises(driver.OperationalError) as info:
        cur.fetchall()
    assert info.value.status == 500


def test_dropped_connection_mid_scan_raises(conn: driver.Connection, emu: Emulator) -> None:
    emu.seed_bulk(conferences=1500)
    cur = conn.cursor().execute("SELECT Sid FROM Conferences")
    emu.faults.add("drop", count=1, operation="conferences")
    with pytest.raises(driver.OperationalError):
        cur.fetchall()


def test_fanout_failure_raises_not_partial(connect: Connect, emu: Emulator) -> None:
    for i in range(20):
        sid = str(emu.create_conference(f"room {i}", "in-progress")["sid"])
        emu.add_participant(sid, label="a")
    conn = connect(MaxConcurrency=4)
    emu.faults.add("500", count=1, operation="participants")
    with pytest.raises(driver.OperationalError):
        conn.cursor().execute("SELECT * FROM Participants").fetchall()
    # the connection stays usable and the next scan is complete
    assert len(conn.cursor().execute("SELECT * FROM Participants").fetchall()) == 20


def test_429_is_retried_after_retry_after(conn: driver.Connection, emu: Emulator) -> None:
    emu.seed_demo()
    emu.faults.add("429", count=2, retry_after=0.2, operation="conferences")
    start = time.monotonic()
    assert len(conn.cursor().execute("SELECT * FROM Conferences").fetchall()) == 6
    assert time.monotonic() - start >= 0.4
    assert [r.status for r in emu.requests] == [429, 429, 200]


def test_timeout_on_a_read(connect: Connect, emu: Emulator) -> None:
    emu.seed_demo()
    conn = connect(Timeout=0.3)
    emu.faults.add("timeout-hang", count=1, retry_after=2)
    with pytest.raises(driver.OperationalError, match="timed out"):
        conn.cursor().execute("SELECT * FROM Conferences")


def test_connection_refused_reports_clearly(connect: Connect) -> None:
    conn = connect(BaseUrl="http://127.0.0.1:9", RetryBudget=0.3)
    with pytest.raises(driver.OperationalError, match="could not connect"):
        conn.cursor().execute("SELECT * FROM Conferences")


def test_no_retry_budget_says_not_retried(connect: Connect) -> None:
    conn = connect(BaseUrl="http://127.0.0.1:9", RetryBudget=0)
    with pytest.raises(driver.OperationalError, match=r"not retried \(RetryBudget=0\)"):
        conn.cursor().execute("SELECT * FROM Conferences")
    assert conn.stats.requests == 1


def test_unknown_host_fails_at_once(connect: Connect) -> None:
    conn = connect(BaseUrl="http://no-such-host.invalid")
    started = time.monotonic()
    with pytest.raises(driver.OperationalError, match=r"no-such-host\.invalid.*unknown"):
        conn.cursor().execute("SELECT * FROM Conferences")
    assert time.monotonic() - started < 3 and conn.stats.retries == 0


def test_invalid_credential_from_environment_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "ACnotvalid")
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "x")
    with pytest.raises(driver.ProgrammingError, match="TWILIO_ACCOUNT_SID='ACnotvalid' is not"):
        driver.connect()
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "0" * 32)
    monkeypatch.setenv("TWILIO_REGION", "not a region")
    with pytest.raises(driver.ProgrammingError, match="environment variable TWILIO_REGION"):
        driver.connect()


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"Colour": "blue"}, "unknown connection property 'Colour'"),
        ({"AcountSid": "AC" + "0" * 32}, "did you mean AccountSid"),
        ({"Provider": "Nope"}, "unknown Provider"),
        ({"AccountSid": "ACnope"}, "not an account SID"),
        ({"MaxConcurrency": 0}, "from 1 to 256"),
        ({"MaxConcurrency": 10000}, "from 1 to 256, not 10000"),
        ({"MaxConcurrency": 2.5}, "whole number"),
        ({"Timeout": "soon"}, "must be a number"),
        ({"Timeout": "nan"}, "finite number"),
        ({"Timeout": float("inf")}, "finite number"),
        ({"RetryBudget": -1}, "from 0 to 3600"),
        ({"CacheTtl": 1e9}, "from 0 to 86400"),
        ({"Region": "x@evil.example#"}, "host-name label"),
        ({"Edge": "evil.example"}, "host-name label"),
        ({"BaseUrl": "ftp://example.com"}, "http:// or https://"),
        ({"BaseUrl": "https://user:pw@example.com"}, "must not carry credentials"),
        ({"ApiKey": "SK" + "0" * 32}, "ApiSecret is missing"),
    ],
)
def test_bad_properties(props: dict[str, object], message: str) -> None:
    base = {"AccountSid": "AC" + "0" * 32, "AuthToken": "t"}
    with pytest.raises(driver.ProgrammingError, match=message):
        driver.connect(**{**base, **props})


def test_missing_credentials_explain_what_to_do() -> None:
    with pytest.raises(driver.ProgrammingError) as info:
        driver.connect()
    text = str(info.value)
    assert "TWILIO_ACCOUNT_SID" in text and "Provider=Sandbox" in text


def test_dsn_and_keywords_and_environment(
    server: EmulatorServer, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu.seed_demo()
    dsn = f"Provider=Twilio;accountsid={DEMO_ACCOUNT_SID};AUTHTOKEN={DEMO_AUTH_TOKEN};BaseUrl={server.base_url}"
    with driver.connect(dsn) as conn:
        assert conn.cursor().execute("SELECT count(*) FROM Conferences").fetchone() == (6,)
    with driver.connect(
        account_sid=DEMO_ACCOUNT_SID, auth_token=DEMO_AUTH_TOKEN, base_url=server.base_url
    ) as conn:
        assert conn.cursor().execute("SELECT count(*) FROM Conferences").fetchone() == (6,)
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", DEMO_ACCOUNT_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", DEMO_AUTH_TOKEN)
    with driver.connect(BaseUrl=server.base_url) as conn:
        assert conn.cursor().execute("SELECT count(*) FROM Conferences").fetchone() == (6,)


def test_sql_errors_are_pep249(conn: driver.Connection) -> None:
    cur = conn.cursor()
    with pytest.raises(driver.ProgrammingError, match="no such table"):
        cur.execute("SELECT * FROM Calls")
    with pytest.raises(driver.ProgrammingError):
        cur.execute("SELEC 1")
    with pytest.raises(driver.ProgrammingError):
        cur.execute("SELECT ?", (1, 2))
    with pytest.raises(driver.ProgrammingError, match="no result set"):
        cur.execute("SELECT 1").fetchall()
        cur.execute("UPDATE Conferences SET Status = 'completed' WHERE 0").fetchall()
    cur.close()
    with pytest.raises(driver.InterfaceError):
        cur.execute("SELECT 1")
    conn.close()
    with pytest.raises(driver.InterfaceError):
        conn.cursor()


def test_exceptions_are_on_module_and_connection(conn: driver.Connection) -> None:
    for name in (
        "Warning",
        "Error",
        "InterfaceError",
        "DatabaseError",
        "DataError",
        "OperationalError",
        "IntegrityError",
        "InternalError",
        "ProgrammingError",
        "NotSupportedError",
    ):
        assert getattr(conn, name) is getattr(driver, name)
    assert issubclass(driver.ProgrammingError, driver.DatabaseError)
    assert issubclass(driver.DatabaseError, driver.Error)
    assert driver.apilevel == "2.0" and driver.paramstyle == "qmark" and driver.threadsafety == 1


def test_streaming_first_row_before_last_page(conn: driver.Connection, emu: Emulator) -> None:
    emu.seed_bulk(conferences=3000)
    emu.latency = 0.3
    cur = conn.cursor()
    start = time.monotonic()
    cur.execute("SELECT Sid FROM Conferences")
    assert cur.fetchone() is not None
    first_row_at = time.monotonic() - start
    pages_served = len([r for r in emu.requests if r.status == 200])
    assert pages_served == 1  # only the first page has been requested so far
    assert first_row_at < 0.9
    assert len(cur.fetchall()) == 2999
    assert len(emu.requests) == 3


def test_percent_encoding_of_hostile_names(conn: driver.Connection, emu: Emulator) -> None:
    for name in ("a/../Calls", "x y", "q?x=1#frag", "%2F", "..", "ünï"):
        emu.requests.clear()
        cur = conn.cursor()
        row = cur.execute(
            "EXEC AddParticipants ConferenceSid = ?, From = '+15550001111', To = '+15550002222', Label = 'l'",
            (name,),
        ).fetchone()
        assert row is not None and row[2].startswith("CF")
        (req,) = emu.requests.matching("POST")
        # the name stayed one path argument: the request is the conference's participants
        assert (req.operation, req.args) == ("participants", (name,))
        names = [c["friendly_name"] for c in emu.conferences()]
        assert name in names
        got = cur.execute(
            "SELECT p.Label FROM Participants p WHERE p.ConferenceSid = ? AND p.Label = 'l'",
            (row[2],),
        ).fetchall()
        assert got == [("l",)]


def test_interrupt_cancels_a_running_statement(connect: Connect, emu: Emulator) -> None:
    emu.seed_bulk(conferences=3000)
    conn = connect()
    emu.latency = 0.5
    timer = threading.Timer(0.7, conn.interrupt)
    timer.start()
    with pytest.raises(driver.OperationalError):
        conn.cursor().execute("SELECT Sid FROM Conferences").fetchall()
    timer.join()
    emu.latency = 0
    assert conn.cursor().execute("SELECT count(*) FROM Conferences LIMIT 1").fetchone() == (3000,)


def test_one_statement_per_execute(conn: driver.Connection, emu: Emulator) -> None:
    emu.seed_demo()
    cur = conn.cursor()
    with pytest.raises(driver.ProgrammingError, match="one statement at a time; nothing was run"):
        cur.execute("SELECT 1; UPDATE Conferences SET Status = 'completed'")
    assert [r for r in emu.requests if r.method != "GET"] == []
    assert cur.execute("SELECT 1; -- trailing comment").fetchall() == [(1,)]
