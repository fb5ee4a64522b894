"""pyodbc over psqlODBC (the "PostgreSQL Unicode" driver): what Excel and Power BI use."""

from __future__ import annotations

from typing import Any

import pytest

from tests.serve.conftest import PASSWORDS, Direct, Running

pyodbc = pytest.importorskip("pyodbc")
DRIVER = "PostgreSQL Unicode"


@pytest.fixture
def odbc(running: Running) -> Any:
    if DRIVER not in pyodbc.drivers():
        pytest.skip(f"the {DRIVER} ODBC driver is not installed (Debian: odbc-postgresql)")
    conn = pyodbc.connect(
        f"Driver={{{DRIVER}}};Server={running.host};Port={running.port};Database=confsql;"
        f"Uid=alice;Pwd={PASSWORDS['alice']};SSLMode=disable;",
        timeout=10,
    )
    yield conn
    conn.close()


def test_tables_lists_both_tables(odbc: Any) -> None:
    tables = {(r.table_name, r.table_type) for r in odbc.cursor().tables(tableType="TABLE")}
    assert tables == {("Conferences", "TABLE"), ("Participants", "TABLE")}
    views = {r.table_name for r in odbc.cursor().tables(tableType="VIEW")}
    assert "sys_procedures" in views


def test_columns_have_the_right_types(odbc: Any) -> None:
    cols = {r.column_name: r.type_name for r in odbc.cursor().columns(table="Participants")}
    assert cols["CallSid"] == "text"
    assert cols["Muted"] == "bool"
    assert cols["QueueTime"] == "int8"
    assert cols["DateCreated"] == "timestamp"
    conf = {r.column_name: r.type_name for r in odbc.cursor().columns(table="Conferences")}
    assert list(conf)[:3] == ["Sid", "AccountSid", "FriendlyName"]


def test_primary_keys(odbc: Any) -> None:
    keys = [r.column_name for r in odbc.cursor().primaryKeys("Participants")]
    assert keys == ["ConferenceSid", "CallSid"]


def test_parameterised_select(odbc: Any, direct: Direct) -> None:
    cur = odbc.cursor()
    rows = cur.execute(
        'SELECT "Label", "QueueTime" FROM "Participants" WHERE "Label" IN (?, ?) ORDER BY 1',
        "bob",
        "carol",
    ).fetchall()
    expected = direct(
        "SELECT Label, QueueTime FROM Participants WHERE Label IN ('bob', 'carol') ORDER BY 1"
    )
    assert [tuple(r) for r in rows] == expected


def test_exec(odbc: Any) -> None:
    cur = odbc.cursor()
    row = cur.execute(
        "EXEC AddParticipants ConferenceSid = ?, From = ?, To = ?",
        "Daily Standup",
        "+15551230000",
        "+15557654321",
    ).fetchone()
    odbc.commit()
    assert [d[0] for d in cur.description] == ["AccountSid", "CallSid", "ConferenceSid", "Status"]
    assert row.CallSid.startswith("CA") and row.Status == "queued"
