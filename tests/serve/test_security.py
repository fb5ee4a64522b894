"""Security and robustness: passwords, TLS, --read-only, cancel isolation, disconnects."""

from __future__ import annotations

import os
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from driver.emulator import Emulator
from tests.serve.conftest import Direct, Running, Start, self_signed

psycopg = pytest.importorskip("psycopg")

SLOW = "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < {n}) SELECT count(*) FROM r"
MANY_ROWS = "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 2000000) SELECT i, 'padding padding padding' FROM r"


def wait_for(condition: object, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_wrong_password_and_unknown_user_are_refused_alike(running: Running) -> None:
    for user, password in (("alice", "wrong"), ("mallory", "anything")):
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(running.conninfo(user, password))
    with psycopg.connect(running.conninfo("alice")) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_no_tls_on_a_public_address_refuses_to_start() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "driver.serve", "--sandbox", "--listen", "0.0.0.0:0"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "CONFSQL_SERVE_PASSWORD": "pw"},
    )
    assert done.returncode == 2
    assert "not a loopback address, without TLS" in done.stderr


def test_tls_required_refuses_plain_clients(start: Start, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    running = start(tls=context, require_tls=True)
    with pytest.raises(psycopg.OperationalError, match="only TLS"):
        psycopg.connect(running.conninfo())
    with psycopg.connect(running.conninfo(sslmode="require")) as conn:
        assert conn.info.pgconn.ssl_in_use
        assert conn.execute('SELECT count(*) FROM "Conferences"').fetchone() == (6,)


def test_read_only_refuses_exec_and_dml(start: Start, seeded: Emulator) -> None:
    running = start(read_only=True)
    with psycopg.connect(running.conninfo(), autocommit=True) as conn:
        statements = [
            (
                "EXEC AddParticipants ConferenceSid = %s, From = %s, To = %s",
                ["Daily Standup", "+15551230000", "+15557654321"],
            ),
            (
                'INSERT INTO "Participants" ("ConferenceSid", "From", "To") VALUES (%s, %s, %s)',
                ["Daily Standup", "+15551230000", "+15557654321"],
            ),
            ('UPDATE "Participants" SET "Muted" = true WHERE "Label" = %s', ["bob"]),
            ('DELETE FROM "Participants" WHERE "Label" = %s', ["bob"]),
        ]
        for sql, params in statements:
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction, match="read-only"):
                conn.execute(sql, params)
        assert conn.execute('SELECT count(*) > 0 FROM "Participants"').fetchone() == (True,)
        assert conn.execute("SELECT has_table_privilege('Participants', 'INSERT')").fetchone() == (
            False,
        )
        assert conn.execute("SHOW default_transaction_read_only").fetchone() == ("on",)
    assert not [r for r in seeded.requests if r.method != "GET"]


def test_one_clients_cancel_never_touches_another(running: Running) -> None:
    other: dict[str, object] = {}

    def run_other() -> None:
        with psycopg.connect(running.conninfo("bob"), autocommit=True) as conn:
            other["pid"] = conn.info.backend_pid
            other["rows"] = conn.execute(SLOW.format(n=1_500_000)).fetchone()

    with psycopg.connect(running.conninfo("alice"), autocommit=True) as conn:
        thread = threading.Thread(target=run_other)
        thread.start()
        assert wait_for(lambda: "pid" in other)
        # A cancel request with the wrong secret for bob's session does nothing ...
        with socket.create_connection((running.host, running.port)) as raw:
            raw.sendall(struct.pack("!iiiI", 16, 80877102, int(other["pid"]), 12345))  # type: ignore[call-overload]
        # ... and cancelling alice's statement leaves bob's running.
        threading.Timer(0.3, conn.cancel_safe).start()
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute(SLOW.format(n=10**9))
        thread.join(60)
        assert other["rows"] == (1_500_000,)
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_disconnect_mid_result_leaves_the_server_healthy(running: Running, direct: Direct) -> None:
    conn = psycopg.connect(running.conninfo(), autocommit=True)
    pgconn = conn.pgconn
    pgconn.send_query(MANY_ROWS.encode())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # wait until rows are flowing
        pgconn.consume_input()
        if pgconn.is_busy() and len(running.server.clients) == 1:
            time.sleep(0.2)
            break
    # Drop the TCP connection without reading the rest (and without a Terminate message).
    dup = socket.socket(fileno=os.dup(pgconn.socket))
    dup.shutdown(socket.SHUT_RDWR)
    dup.close()
    conn.close()
    assert wait_for(lambda: not running.server.clients), "the server kept the dead client"
    with psycopg.connect(running.conninfo(), autocommit=True) as fresh:
        count = fresh.execute('SELECT count(*) FROM "Participants"').fetchone()
        assert count == tuple(direct("SELECT count(*) FROM Participants")[0])


def test_terminate_closes_the_session(running: Running) -> None:
    with psycopg.connect(running.conninfo()) as conn:
        conn.execute("SELECT 1")
        assert len(running.server.clients) == 1
    assert wait_for(lambda: not running.server.clients)
