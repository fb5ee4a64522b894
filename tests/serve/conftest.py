"""Fixtures for ``confsql serve``: a real server on 127.0.0.1 in front of the HTTP emulator.

Two Postgres users map to two emulator accounts: ``alice`` (the demo account,
seeded with the demo conferences) and ``bob`` (a second account with one
conference of its own), so tests can check that clients never see each
other's data.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import driver
from driver.emulator import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, Emulator, EmulatorServer
from driver.serve.backend import Account
from driver.serve.client import Login
from driver.serve.scram import verifier_from_password
from driver.serve.server import Server, ServerConfig

BOB_SID = "AC" + "b0b" * 10 + "bb"
BOB_TOKEN = "b0b-token"
PASSWORDS = {"alice": "alice-secret", "bob": "bob-secret"}


@dataclass
class Running:
    """A started server and how to reach it."""

    server: Server
    host: str
    port: int

    def conninfo(self, user: str = "alice", password: str | None = None, **extra: Any) -> str:
        """A libpq connection string for ``user``."""
        pw = PASSWORDS.get(user, "x") if password is None else password
        parts = {
            "host": self.host,
            "port": self.port,
            "user": user,
            "password": pw,
            "dbname": "confsql",
            "sslmode": "disable",
            "connect_timeout": 10,
            **extra,
        }
        return " ".join(f"{k}={v}" for k, v in parts.items())


def account(server: EmulatorServer, sid: str, token: str, read_only: bool = False) -> Account:
    """A confsql account on the served emulator."""
    props = {"BaseUrl": server.base_url, "AccountSid": sid, "AuthToken": token, "Timeout": 10}
    return Account("", props, read_only)


@pytest.fixture
def seeded(emu: Emulator) -> Emulator:
    """The demo data in alice's account, one conference in bob's."""
    if BOB_SID not in emu.state.accounts:
        emu.add_account(BOB_SID, BOB_TOKEN)
    emu.seed_demo()
    conf = emu.create_conference("Bob Only", "in-progress", account_sid=BOB_SID)
    emu.add_participant(str(conf["sid"]), label="bob-leg", account_sid=BOB_SID)
    emu.requests.clear()
    return emu


Start = Callable[..., Running]


@pytest.fixture
def start(server: EmulatorServer, seeded: Emulator) -> Iterator[Start]:
    """Start servers (stopped after the test); keyword arguments go to ServerConfig."""
    started: list[Server] = []
    logins = {
        "alice": Login(
            account(server, DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN),
            verifier_from_password(PASSWORDS["alice"]),
        ),
        "bob": Login(account(server, BOB_SID, BOB_TOKEN), verifier_from_password(PASSWORDS["bob"])),
    }

    def _start(**options: Any) -> Running:
        users = options.pop("logins", logins)
        config = ServerConfig("127.0.0.1", 0, users.get, **options)
        srv = Server(config)
        host, port = srv.start()
        started.append(srv)
        return Running(srv, host, port)

    yield _start
    for srv in started:
        srv.stop()


Direct = Callable[..., list[tuple[Any, ...]]]


@pytest.fixture
def direct(server: EmulatorServer, seeded: Emulator) -> Iterator[Direct]:
    """Run SQLite-dialect SQL through the DB-API directly: the answer serve must give."""
    opened: list[driver.Connection] = []

    def _run(sql: str, params: Any = None, user: str = "alice") -> list[tuple[Any, ...]]:
        sid, token = (BOB_SID, BOB_TOKEN) if user == "bob" else (DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN)
        acct = account(server, sid, token)
        conn = driver.connect(**acct.props)
        opened.append(conn)
        return conn.cursor().execute(sql, params).fetchall()

    yield _run
    for conn in opened:
        conn.close()


@pytest.fixture
def running(start: Start) -> Running:
    """One server with the default logins."""
    return start()


def need_psql() -> str:
    """The psql binary, or skip."""
    found = shutil.which("psql")
    if found is None:
        pytest.skip("psql is not installed (Debian: postgresql-client)")
    return found


def self_signed(tmp: Path) -> tuple[Path, Path]:
    """A throw-away certificate and key for localhost (skips without openssl)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key
