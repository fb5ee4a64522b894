"""The sys_* catalog, checked row by row against driver.schema.load().

Every table, column (hidden write-only ones included), procedure, input and
result column appears with the values schema/ declares, and reading the
catalog never sends a request.
"""

from __future__ import annotations

from typing import Any

import pytest

import driver
from driver import schema
from driver.emulator import Emulator
from driver.validation import describe_allowed

CATALOG = schema.load()
TWILIO = CATALOG.providers["Twilio"]


def query(conn: driver.Connection, sql: str, params: Any = None) -> list[dict[str, Any]]:
    cur = conn.cursor().execute(sql, params)
    assert cur.description is not None
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


@pytest.mark.parametrize(
    ("view", "columns"),
    [
        ("sys_tables", ["TableName", "Description", "IsUpdatable"]),
        (
            "sys_tablecolumns",
            ["TableName", "ColumnName", "DataType", "IsKey", "IsReadOnly", "IsHidden",
             "Description"],
        ),
        ("sys_procedures", ["ProcedureName", "Description"]),
        (
            "sys_procedureparameters",
            ["ProcedureName", "ParameterName", "DataType", "IsRequired", "Direction",
             "AllowedValues", "Description", "Providers"],
        ),
    ],
)  # fmt: skip
def test_view_columns(
    conn: driver.Connection, emu: Emulator, view: str, columns: list[str]
) -> None:
    cur = conn.cursor().execute(f"SELECT * FROM {view}")
    assert cur.description is not None
    assert [d[0] for d in cur.description] == columns
    assert cur.fetchall()
    assert emu.requests == []  # the catalog is local: nothing is ever sent


def test_sys_tables(conn: driver.Connection) -> None:
    rows = query(conn, "SELECT * FROM sys_tables")
    assert [r["TableName"] for r in rows] == [t.name for t in CATALOG.tables_for(TWILIO)]
    assert {r["TableName"] for r in rows} == {"ConferenceEvents", "Conferences", "Participants"}
    for row in rows:
        table = CATALOG.tables[row["TableName"]]
        assert row["Description"] == table.description
        assert row["IsUpdatable"] == int(bool(table.insert or table.update or table.delete))
    # the provider's tables take writes; the stored events are read-only
    assert {r["TableName"]: r["IsUpdatable"] for r in rows} == {
        "ConferenceEvents": 0,
        "Conferences": 1,
        "Participants": 1,
    }


def test_sys_tablecolumns(conn: driver.Connection) -> None:
    rows = query(conn, "SELECT * FROM sys_tablecolumns")
    expected = []
    for table in CATALOG.tables.values():
        for col in CATALOG.all_columns(table):
            expected.append(
                {
                    "TableName": table.name,
                    "ColumnName": col.name,
                    "DataType": col.type,
                    "IsKey": int(col.key),
                    "IsReadOnly": int(not col.writable),
                    "IsHidden": int(col.hidden),
                    "Description": col.description,
                }
            )
    assert rows == expected


def test_sys_tablecolumns_details(conn: driver.Connection) -> None:
    rows = {
        (r["TableName"], r["ColumnName"]): r for r in query(conn, "SELECT * FROM sys_tablecolumns")
    }
    # visible columns, in declared order, with keys and read-only flags
    visible = [name for (table, name), r in rows.items() if table == "Participants"
               and not r["IsHidden"]]  # fmt: skip
    assert visible == [c.name for c in CATALOG.tables["Participants"].columns]
    assert [n for (t, n), r in rows.items() if t == "Participants" and r["IsKey"]] == [
        "ConferenceSid",
        "CallSid",
    ]
    assert rows[("Conferences", "Sid")]["IsKey"] == 1
    assert rows[("Conferences", "Status")]["IsReadOnly"] == 0
    assert rows[("Conferences", "FriendlyName")]["IsReadOnly"] == 1
    assert rows[("Participants", "Muted")]["DataType"] == "BOOLEAN"
    assert rows[("Participants", "QueueTime")]["DataType"] == "INTEGER"
    assert rows[("Participants", "DateCreated")]["DataType"] == "DATETIME"
    # every input of the write procedures is a column; those that are not visible are hidden
    for table in CATALOG.tables.values():
        visible_names = {c.name for c in table.columns}
        for proc_name in (table.insert, table.update):
            if not proc_name:
                continue
            for inp in CATALOG.procedures[proc_name].inputs:
                row = rows[(table.name, inp.name)]
                if inp.name not in visible_names:
                    assert (row["IsHidden"], row["IsReadOnly"]) == (1, 0), row
                    assert row["DataType"] == inp.type
    for hidden in ("From", "To", "WaitTime", "HoldUrl", "HoldMethod", "AnnounceUrl",
                   "AnnounceMethod", "WaitUrl", "WaitMethod", "BeepOnExit"):  # fmt: skip
        assert rows[("Participants", hidden)]["IsHidden"] == 1
    assert rows[("Conferences", "AnnounceUrl")]["IsHidden"] == 1
    assert rows[("Conferences", "AnnounceMethod")]["IsHidden"] == 1


def test_sys_tablecolumns_match_select_star(conn: driver.Connection, emu: Emulator) -> None:
    emu.create_conference("c")
    for table in ("Conferences", "Participants"):
        cur = conn.cursor().execute(f"SELECT * FROM {table}")
        assert cur.description is not None
        star = [d[0] for d in cur.description]
        cur.fetchall()
        listed = [
            r["ColumnName"]
            for r in query(
                conn,
                "SELECT ColumnName FROM sys_tablecolumns WHERE TableName = ? AND IsHidden = 0",
                (table,),
            )
        ]
        assert star == listed


def test_sys_procedures(conn: driver.Connection) -> None:
    rows = query(conn, "SELECT * FROM sys_procedures")
    assert {r["ProcedureName"] for r in rows} == set(conn.provider.procedures)
    assert {r["ProcedureName"] for r in rows} == {
        "AddParticipants",
        "JoinConference",
        "ModifyConference",
        "ModifyParticipants",
        "RemoveParticipant",
    }
    for row in rows:
        assert row["Description"] == CATALOG.procedures[row["ProcedureName"]].description


def test_sys_procedureparameters(conn: driver.Connection) -> None:
    rows = query(conn, "SELECT * FROM sys_procedureparameters")
    got = {(r["ProcedureName"], r["ParameterName"], r["Direction"]): r for r in rows}
    assert len(got) == len(rows)  # no duplicates
    expected = 0
    for proc in (CATALOG.procedures[name] for name in conn.provider.procedures):
        for inp in proc.inputs:
            row = got[(proc.name, inp.name, "IN")]
            assert row["DataType"] == inp.type
            assert row["IsRequired"] == int(inp.required)
            assert row["AllowedValues"] == describe_allowed(inp, conn.provider.formats)
            assert row["Description"] == inp.description
            takes = conn.provider.procedures[proc.name].takes(inp.name)
            assert ("Twilio" in row["Providers"].split(", ")) == takes
            for value in inp.values:
                assert value in row["AllowedValues"]
            if inp.min is not None:
                assert str(inp.min) in row["AllowedValues"]
                assert str(inp.max) in row["AllowedValues"]
            expected += 1
        for result in proc.results:
            row = got[(proc.name, result.name, "OUT")]
            assert row["DataType"] == result.type
            assert row["IsRequired"] == 0
            assert row["Description"] == result.description
            expected += 1
    assert expected == len(rows)


def test_sys_procedureparameters_details(conn: driver.Connection) -> None:
    def params(proc: str, direction: str) -> list[dict[str, Any]]:
        return query(
            conn,
            "SELECT * FROM sys_procedureparameters WHERE ProcedureName = ? AND Direction = ?",
            (proc, direction),
        )

    add_in = params("AddParticipants", "IN")
    assert len(add_in) == 49
    assert [r["ParameterName"] for r in add_in if r["IsRequired"]] == [
        "ConferenceSid",
        "From",
        "To",
    ]
    by_name = {r["ParameterName"]: r for r in add_in}
    assert by_name["WaitTime"]["AllowedValues"] == "an integer from 5 to 600"
    assert by_name["MaxParticipants"]["AllowedValues"] == "an integer from 2 to 250"
    assert "GET" in by_name["StatusCallbackMethod"]["AllowedValues"]
    assert "spaces or commas" in by_name["StatusCallbackEvent"]["AllowedValues"]
    assert "client:" in by_name["From"]["AllowedValues"]
    assert [r["ParameterName"] for r in params("AddParticipants", "OUT")] == [
        "AccountSid",
        "CallSid",
        "ConferenceSid",
        "Status",
    ]
    # a procedure whose results are a table's rows lists that table's columns as OUT
    modify_out = [r["ParameterName"] for r in params("ModifyParticipants", "OUT")]
    assert modify_out == [c.name for c in CATALOG.tables["Participants"].columns]
    conf_out = [r["ParameterName"] for r in params("ModifyConference", "OUT")]
    assert conf_out == [c.name for c in CATALOG.tables["Conferences"].columns]
    assert [r["ParameterName"] for r in params("RemoveParticipant", "IN")] == [
        "ConferenceSid",
        "CallSid",
    ]


def test_procedureparameters_listed_per_procedure(conn: driver.Connection) -> None:
    """Rows come grouped by procedure: its inputs, then its result columns."""
    rows = query(conn, "SELECT ProcedureName, Direction FROM sys_procedureparameters")
    seen: list[str] = []
    for row in rows:
        if not seen or seen[-1] != row["ProcedureName"]:
            assert row["ProcedureName"] not in seen, "procedure listed in two runs"
            seen.append(row["ProcedureName"])
    for proc in seen:
        directions = [r["Direction"] for r in rows if r["ProcedureName"] == proc]
        assert directions == sorted(directions)  # IN before OUT


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM sys_tables",
        "INSERT INTO sys_procedures VALUES ('X', 'y')",
        "UPDATE sys_tablecolumns SET IsHidden = 0",
    ],
)
def test_catalog_is_read_only(conn: driver.Connection, emu: Emulator, sql: str) -> None:
    with pytest.raises(driver.DatabaseError):
        conn.cursor().execute(sql)
    assert len(query(conn, "SELECT * FROM sys_tables")) == 3
    assert emu.requests == []


def test_error_hints_point_at_runnable_catalog_queries(conn: driver.Connection) -> None:
    with pytest.raises(driver.ProgrammingError) as info:
        conn.cursor().execute("EXEC AddParticipants Nope = 1")
    hint = str(info.value).split("to list its inputs: ", 1)[1].rstrip(")")
    listed = query(conn, hint)
    assert len(listed) == 49 and {"ParameterName", "IsRequired", "AllowedValues"} <= set(listed[0])


def test_unknown_table_points_at_sys_tables(conn: driver.Connection) -> None:
    with pytest.raises(driver.ProgrammingError) as info:
        conn.cursor().execute("SELECT * FROM NoSuchTable")
    assert "sys_tables" in str(info.value)
