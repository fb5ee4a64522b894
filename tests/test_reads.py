"""SELECT over Conferences and Participants: every pushed-down form returns the right rows.

Each query's rows are compared with the same SQL over a plain SQLite copy of
the emulator's data (tests/oracle.py), and the request log shows what was pushed.
"""

from __future__ import annotations

from typing import Any

import pytest

import driver
from driver.emulator import Emulator
from tests import oracle
from tests.conftest import STATUSES, ProviderUnderTest


def rows(conn: driver.Connection, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
    return conn.cursor().execute(sql, params).fetchall()


def check(
    conn: driver.Connection, data: dict[str, Any], sql: str, params: Any = (), ordered: bool = False
) -> list[tuple[Any, ...]]:
    got = rows(conn, sql, params)
    want = oracle.answer(data["oracle"], sql, params)
    if ordered:
        assert got == want
    else:
        assert sorted(got, key=repr) == sorted(want, key=repr)
    return got


@pytest.fixture
def pconn(any_provider: ProviderUnderTest) -> driver.Connection:
    """A connection to each provider in turn (for tests of SQL semantics, not of a wire)."""
    return any_provider.connect()


@pytest.fixture
def pdata(any_data: dict[str, Any]) -> dict[str, Any]:
    """The data set and its oracle on the provider ``pconn`` talks to."""
    return any_data


def gets(emu: Emulator) -> list[Any]:
    return [r for r in emu.requests if r.method == "GET"]


# --- Conferences ---------------------------------------------------------------------


def test_full_scan(conn: driver.Connection, data: dict[str, Any], emu: Emulator) -> None:
    got = check(conn, data, "SELECT * FROM Conferences")
    assert len(got) == 30
    assert len(gets(emu)) == 1


@pytest.mark.parametrize(
    "where",
    [
        "Status = 'in-progress'",
        "Status = 'completed'",
        "Status IN ('init', 'completed')",
        "Status = 'nonsense'",
        "Status = 5",
        "Status IS NULL",
        "FriendlyName = 'Sales'",
        "FriendlyName = 'a/../Calls'",
        "FriendlyName = 'x y'",
        "FriendlyName = 'O''Brien'",
        "FriendlyName = 'sales'",
        "FriendlyName = 'Sales' COLLATE NOCASE",
        "FriendlyName LIKE 'S%' AND FriendlyName != 'Sales'",
        "DateCreated > '2026-11-18 10:00:00'",
        "DateCreated >= '2026-11-18'",
        "DateCreated < '2026-11-17 09:31:00'",
        "DateCreated <= '2026-11-19 23:59:59'",
        "DateCreated = '2026-11-20 12:00:00'",
        "DateCreated > '2026-11'",
        "DateCreated > 5",
        "DateCreated BETWEEN '2026-11-16' AND '2026-11-18 12:00:00'",
        "DateUpdated >= '2026-11-19' AND Status = 'init'",
        "DateCreated > datetime('2026-11-20 12:00:00', '-2 days')",
        "Region = 'us1' AND Status != 'completed'",
    ],
)
def test_conference_filters(pconn: driver.Connection, pdata: dict[str, Any], where: str) -> None:
    check(pconn, pdata, f"SELECT * FROM Conferences WHERE {where}")


def test_status_filter_is_pushed(pconn: driver.Connection, any_provider: ProviderUnderTest) -> None:
    emu = any_provider.emu
    rows(pconn, "SELECT Sid FROM Conferences WHERE Status = 'init' AND FriendlyName = 'Sales'")
    (req,) = gets(emu)
    assert emu.wire.filters(req) == {"Status": "init", "FriendlyName": "Sales"}


def test_status_in_is_one_request_per_value(
    pconn: driver.Connection, pdata: dict[str, Any], any_provider: ProviderUnderTest
) -> None:
    check(pconn, pdata, "SELECT * FROM Conferences WHERE Status IN ('init', 'in-progress')")
    wire = any_provider.emu.wire
    statuses = sorted(wire.filters(r)["Status"] for r in gets(any_provider.emu))
    assert statuses == ["in-progress", "init"]


def test_impossible_value_sends_nothing(
    conn: driver.Connection, data: dict[str, Any], emu: Emulator
) -> None:
    assert rows(conn, "SELECT * FROM Conferences WHERE Status = 'nonsense'") == []
    assert gets(emu) == []


def test_date_bounds_push_a_superset(
    conn: driver.Connection, data: dict[str, Any], emu: Emulator
) -> None:
    check(
        conn,
        data,
        "SELECT * FROM Conferences WHERE DateCreated > '2026-11-18 10:00:00' AND DateCreated < '2026-11-19 08:00:00'",
    )
    (req,) = gets(emu)
    # Whole days, both ends inclusive: a superset SQLite narrows to the rows asked for.
    assert emu.wire.filters(req) == {"DateCreated>=": "2026-11-18", "DateCreated<=": "2026-11-19"}


def test_sid_equals_fetches_by_sid(
    conn: driver.Connection, data: dict[str, Any], emu: Emulator
) -> None:
    sid = data["sids"][4]
    got = check(conn, data, "SELECT * FROM Conferences WHERE Sid = ?", (sid,))
    assert len(got) == 1
    (req,) = gets(emu)
    assert (req.operation, req.args) == ("conference", (sid,))


def test_sid_in_list_and_unknown_sid(
    conn: driver.Connection, data: dict[str, Any], emu: Emulator
) -> None:
    wanted = [*data["sids"][:3], "CF" + "0" * 32, "not-a-sid"]
    marks = ", ".join("?" for _ in wanted)
    got = check(conn, data, f"SELECT Sid FROM Conferences WHERE Sid IN ({marks})", wanted)
    assert len(got) == 3
    assert len(gets(emu)) == 5  # one fetch per SID, unknown ones give zero rows


def test_sid_in_subquery_arrives_as_one_set(
    conn: driver.Connection, data: dict[str, Any], emu: Emulator
) -> None:
    sql = "SELECT Sid FROM Conferences WHERE Sid IN (SELECT Sid FROM Conferences WHERE Status = 'init')"
    check(conn, data, sql)


def test_bound_parameters_do_not_change_the_plan(
    pconn: driver.Connection, pdata: dict[str, Any]
) -> None:
    for status in STATUSES:
        check(pconn, pdata, "SELECT * FROM Conferences WHERE Status = ?", (status,))
        check(pconn, pdata, "SELECT * FROM Conferences WHERE Status = :s", {"s": status})


def test_rowid_constraints_are_not_pushed(pconn: driver.Connection, pdata: dict[str, Any]) -> None:
    all_rows = pconn.cursor().execute("SELECT rowid, Sid FROM Conferences").fetchall()
    rowid, sid = all_rows[2]
    assert rows(pconn, "SELECT Sid FROM Conferences WHERE rowid = ?", (rowid,)) == [(sid,)]
    assert rows(pconn, "SELECT Sid FROM Conferences WHERE rowid = 2") == []


# --- LIMIT / ORDER BY traps --------------------------------------------------------------


def test_limit_is_pushed_as_page_size(
    conn: driver.Connection, data: dict[str, Any], emu: Emulator
) -> None:
    got = rows(conn, "SELECT * FROM Conferences LIMIT 10")
    assert len(got) == 10
    (req,) = gets(emu)
    assert emu.wire.page_size(req) == 10


def test_limit_offset(conn: driver.Connection, data: dict[str, Any], emu: Emulator) -> None:
    everything = rows(conn, "SELECT Sid FROM Conferences")
    emu.requests.clear()
    assert rows(conn, "SELECT Sid FROM Conferences LIMIT 4 OFFSET 3") == everything[3:7]
    (req,) = gets(emu)
    assert emu.wire.page_size(req) == 7


def test_order_by_with_limit_is_not_truncated_first(
    pconn: driver.Connection, pdata: dict[str, Any]
) -> None:
    check(
        pconn,
        pdata,
        "SELECT FriendlyName, DateCreated FROM Conferences ORDER BY DateCreated ASC LIMIT 3",
        ordered=True,
    )
    check(
        pconn,
        pdata,
        "SELECT Sid FROM Conferences ORDER BY FriendlyName DESC, Sid LIMIT 5 OFFSET 2",
        ordered=True,
    )


def test_limit_with_inexact_filter(pconn: driver.Connection, pdata: dict[str, Any]) -> None:
    got = check(
        pconn,
        pdata,
        "SELECT Sid FROM Conferences WHERE DateCreated > '2026-11-18 11:00:00' AND Status != 'init'",
    )
    limited = rows(
        pconn,
        "SELECT Sid FROM Conferences WHERE DateCreated > '2026-11-18 11:00:00' AND Status != 'init' LIMIT 3",
    )
    assert len(limited) == min(3, len(got)) and set(limited) <= set(got)


def test_limit_with_like(pconn: driver.Connection, pdata: dict[str, Any]) -> None:
    got = rows(pconn, "SELECT FriendlyName FROM Conferences WHERE FriendlyName LIKE 'Sup%' LIMIT 4")
    assert len(got) == 4 and all(n.startswith("Sup") for (n,) in got)


def test_limit_with_exact_filter_still_pushed(
    conn: driver.Connection, data: dict[str, Any], emu: Emulator
) -> None:
    got = rows(conn, "SELECT Sid FROM Conferences WHERE Status = 'completed' LIMIT 2")
    assert len(got) == 2
    (req,) = gets(emu)
    assert emu.wire.page_size(req) == 2


def test_two_thousand_five_hundred_take_three_requests(
    conn: driver.Connection, emu: Emulator
) -> None:
    emu.seed_bulk(conferences=2500)
    emu.requests.clear()
    assert len(rows(conn, "SELECT Sid FROM Conferences")) == 2500
    assert len(gets(emu)) == 3


def test_limit_beyond_one_page(conn: driver.Connection, emu: Emulator) -> None:
    emu.seed_bulk(conferences=2500)
    emu.requests.clear()
    assert len(rows(conn, "SELECT Sid FROM Conferences LIMIT 1500")) == 1500
    assert len(gets(emu)) == 2


# --- Participants ----------------------------------------------------------------------


def test_participants_without_conference_lists_all_live(
    conn: driver.Connection, data: dict[str, Any], emu: Emulator
) -> None:
    got = check(conn, data, "SELECT * FROM Participants")
    assert got
    listed = {r.conference for r in emu.requests.matching("GET", operation="participants")}
    live = set(
        oracle.answer(data["oracle"], "SELECT Sid FROM Conferences WHERE Status != 'completed'")
    )
    assert listed == {sid for (sid,) in live}


@pytest.mark.parametrize(
    "where",
    [
        "Muted = 1",
        "Hold = 1 AND Muted = 0",
        "Coaching = 0",
        "Muted = '1'",
        "Muted = 2",
        "Muted = 'true'",
        "Label = 'p0'",
        "Label IS NULL",
        "Status = 'ringing'",
        "CallSid LIKE 'CA%' AND Label != 'p0'",
    ],
)
def test_participant_filters(pconn: driver.Connection, pdata: dict[str, Any], where: str) -> None:
    check(pconn, pdata, f"SELECT * FROM Participants WHERE {where}")


def test_participants_of_one_conference(
    conn: driver.Connection, data: dict[str, Any], emu: Emulator
) -> None:
    sid = data["sids"][3]
    check(conn, data, "SELECT * FROM Participants WHERE ConferenceSid = ?", (sid,))
    (req,) = gets(emu)
    assert (req.operation, req.conference) == ("participants", sid)


def test_participants_muted_filter_is_pushed(
    conn: driver.Connection, data: dict[str, Any], emu: Emulator
) -> None:
    sid = data["sids"][3]
    check(conn, data, "SELECT * FROM Participants WHERE ConferenceSid = ? AND Muted = 1", (sid,))
    (req,) = gets(emu)
    assert emu.wire.filters(req) == {"Muted": "true"}


def test_participants_conference_in(pconn: driver.Connection, pdata: dict[str, Any]) -> None:
    sids = [*pdata["sids"][:6], "CF" + "f" * 32]
    marks = ", ".join("?" for _ in sids)
    check(pconn, pdata, f"SELECT * FROM Participants WHERE ConferenceSid IN ({marks})", sids)


def test_participant_by_call_sid_and_label(
    conn: driver.Connection, data: dict[str, Any], emu: Emulator
) -> None:
    sid = data["sids"][7]
    (call_sid, label) = oracle.answer(
        data["oracle"],
        "SELECT CallSid, Label FROM Participants WHERE ConferenceSid = ? AND Label IS NOT NULL",
        (sid,),
    )[0]
    emu.requests.clear()
    check(
        conn,
        data,
        "SELECT * FROM Participants WHERE ConferenceSid = ? AND CallSid = ?",
        (sid, call_sid),
    )
    assert (gets(emu)[-1].operation, gets(emu)[-1].args) == ("participant", (sid, call_sid))
    check(
        conn, data, "SELECT * FROM Participants WHERE ConferenceSid = ? AND Label = ?", (sid, label)
    )
    assert (gets(emu)[-1].operation, gets(emu)[-1].args) == ("participant", (sid, label))
    assert (
        rows(
            conn,
            "SELECT * FROM Participants WHERE ConferenceSid = ? AND CallSid = ?",
            (sid, "CA" + "0" * 32),
        )
        == []
    )


def test_join_pushes_the_key(conn: driver.Connection, data: dict[str, Any], emu: Emulator) -> None:
    sql = (
        "SELECT c.FriendlyName, p.* FROM Conferences c JOIN Participants p "
        "ON p.ConferenceSid = c.Sid WHERE c.Status = 'in-progress'"
    )
    check(conn, data, sql)
    participant_lists = emu.requests.matching("GET", operation="participants")
    in_progress = oracle.answer(
        data["oracle"], "SELECT count(*) FROM Conferences WHERE Status = 'in-progress'"
    )[0][0]
    assert len(participant_lists) == in_progress


def test_left_join_and_aggregates(pconn: driver.Connection, pdata: dict[str, Any]) -> None:
    check(
        pconn,
        pdata,
        "SELECT c.Sid, count(p.CallSid) FROM Conferences c LEFT JOIN Participants p ON p.ConferenceSid = c.Sid GROUP BY c.Sid",
    )
    check(
        pconn,
        pdata,
        "SELECT p.Label, c.Status FROM Participants p JOIN Conferences c ON c.Sid = p.ConferenceSid WHERE p.Muted = 1",
    )


def test_table_valued_form_is_not_supported_for_hidden_args(
    conn: driver.Connection, data: dict[str, Any]
) -> None:
    # A column of another table in the ON clause pushes the key the same way.
    check(
        conn,
        data,
        "SELECT p.CallSid FROM Conferences c, Participants p WHERE p.ConferenceSid = c.Sid AND c.FriendlyName = 'Sales'",
    )


# --- values ----------------------------------------------------------------------------

EXPECTED_TYPES = {
    "TEXT": "text",
    "INTEGER": "integer",
    "BOOLEAN": "integer",
    "DATETIME": "text",
    "REAL": "real",
}


@pytest.mark.parametrize("table", ["Conferences", "Participants"])
def test_typeof_every_column(pconn: driver.Connection, pdata: dict[str, Any], table: str) -> None:
    from driver import schema

    columns = schema.load().tables[table].columns
    select = ", ".join(f'typeof("{c.name}")' for c in columns)
    seen: dict[str, set[str]] = {c.name: set() for c in columns}
    for row in rows(pconn, f"SELECT {select} FROM {table}"):
        for c, t in zip(columns, row, strict=True):
            seen[c.name].add(t)
    for c in columns:
        allowed = {EXPECTED_TYPES[c.type], "null"}
        assert seen[c.name] <= allowed, (c.name, seen[c.name])


def test_typeof_queue_time_after_create(conn: driver.Connection, data: dict[str, Any]) -> None:
    # QueueTime only exists on a freshly created Twilio participant.
    conn.cursor().execute(
        "EXEC AddParticipants ConferenceSid = 'typeof', From = '+15551230000', To = '+15551230001'"
    )
    got = rows(conn, "SELECT DISTINCT typeof(QueueTime) FROM Participants")
    assert set(got) <= {("integer",), ("null",)}


def test_datetimes_compare_with_sqlite_functions(
    pconn: driver.Connection, pdata: dict[str, Any]
) -> None:
    got = rows(
        pconn,
        "SELECT DateCreated FROM Conferences WHERE DateCreated > datetime('2026-11-20 12:00:00', '-1 day')",
    )
    assert got and all(len(d) == 19 and d[10] == " " for (d,) in got)


def test_integers_sort_numerically(pconn: driver.Connection, pdata: dict[str, Any]) -> None:
    got = [m for (m,) in rows(pconn, "SELECT Muted FROM Participants ORDER BY Muted")]
    assert got == sorted(got)
