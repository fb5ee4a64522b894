"""Plain full-table reads (driver.direct) give exactly what SQLite would, or defer to it."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

import driver
from driver import direct
from driver.emulator import Emulator
from tests.conftest import Connect

# Each plain read, and a twin SQLite must run itself (WHERE 1 changes nothing).
PLAIN = [
    "SELECT * FROM Participants",
    "SELECT * FROM Conferences",
    "select * from participants",
    'SELECT * FROM "Conferences" AS c',
    "SELECT c.* FROM Conferences c",
    "SELECT Label, Muted, CallSid FROM Participants",
    "SELECT label AS l, MUTED, p.QueueTime FROM Participants p",
    "SELECT Sid, Sid, DateCreated FROM Conferences",
    'SELECT "FriendlyName" FROM Conferences',
    "SELECT *, Status FROM Conferences;",
    "  -- a comment\n SELECT * FROM Participants /* trailing */",
]


def _typed(rows: list[tuple[Any, ...]]) -> list[tuple[tuple[str, Any], ...]]:
    """Rows with each value's type, in a stable order (the API's order may vary)."""
    return sorted((tuple((type(v).__name__, v) for v in row) for row in rows), key=repr)


@pytest.mark.parametrize("sql", PLAIN)
def test_plain_read_matches_sqlite(conn: driver.Connection, data: dict[str, Any], sql: str) -> None:
    cur = conn.cursor().execute(sql)
    assert cur._direct is not None, "expected the direct path"
    fast_desc, fast_rows = cur.description, cur.fetchall()
    body = sql.split("/*")[0].rstrip().rstrip(";")
    slow = conn.cursor().execute(body + " WHERE 1")
    assert slow._direct is None
    assert fast_desc == slow.description
    slow_rows = slow.fetchall()
    assert fast_rows and _typed(fast_rows) == _typed(slow_rows)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM Participants WHERE Muted = 1",
        "SELECT * FROM Participants LIMIT 3",
        "SELECT * FROM Participants ORDER BY Label",
        "SELECT DISTINCT Status FROM Conferences",
        "SELECT count(*) FROM Participants",
        "SELECT Label || 'x' FROM Participants",
        "SELECT 1",
        "SELECT * FROM Conferences c JOIN Participants p ON p.ConferenceSid = c.Sid",
        "SELECT * FROM Conferences, Participants",
        "SELECT * FROM (SELECT * FROM Conferences)",
        "WITH c AS (SELECT * FROM Conferences) SELECT * FROM c",
        "SELECT * FROM Conferences UNION ALL SELECT * FROM Conferences",
        "SELECT * FROM main.Conferences",
        "SELECT Status FROM Conferences GROUP BY Status",
        "SELECT * FROM Participants; SELECT 1",
        "INSERT INTO Participants (ConferenceSid) VALUES ('x')",
        "not sql at all (",
    ],
)
def test_candidate_rejects_everything_else(sql: str) -> None:
    assert not direct.candidate(sql)


@pytest.mark.parametrize("sql", PLAIN)
def test_candidate_accepts_plain_reads(sql: str) -> None:
    assert direct.candidate(sql)


def test_a_temp_table_that_shadows_the_name_is_read_instead(
    conn: driver.Connection, data: dict[str, Any], emu: Emulator
) -> None:
    cur = conn.cursor()
    cur.execute("CREATE TEMP TABLE Participants (Label TEXT)")
    cur.execute("INSERT INTO temp.Participants VALUES ('local')")
    emu.requests.clear()
    assert cur.execute("SELECT * FROM Participants").fetchall() == [("local",)]
    assert cur._direct is None and not emu.requests


@pytest.mark.parametrize(
    ("view", "query"),
    [
        ("CREATE TEMP VIEW v AS SELECT DISTINCT Status FROM Participants", "SELECT * FROM v"),
        (
            "CREATE TEMP VIEW v AS SELECT Label FROM Participants ORDER BY CallSid LIMIT 2",
            "SELECT Label FROM v",
        ),
        (
            "CREATE TEMP VIEW Conferences AS SELECT Sid FROM main.Conferences ORDER BY Sid LIMIT 1",
            "SELECT * FROM Conferences",
        ),
    ],
)
def test_views_go_through_sqlite(
    conn: driver.Connection, data: dict[str, Any], view: str, query: str
) -> None:
    """A view reads our tables column by column too, but may add DISTINCT, LIMIT, ..."""
    cur = conn.cursor()
    cur.execute(view)
    rows = cur.execute(query).fetchall()
    assert cur._direct is None
    inner = view.split(" AS ", 1)[1]
    expected = conn.cursor().execute(inner).fetchall()
    assert sorted(rows, key=repr) == sorted(expected, key=repr)


def test_a_double_quoted_unknown_name_stays_a_sqlite_literal(
    conn: driver.Connection, data: dict[str, Any]
) -> None:
    cur = conn.cursor().execute('SELECT "NoSuchColumn" FROM Conferences')
    assert cur._direct is None
    assert set(cur.fetchall()) == {("NoSuchColumn",)}


def test_catalog_views_go_through_sqlite(conn: driver.Connection) -> None:
    cur = conn.cursor().execute("SELECT * FROM sys_tables")
    assert cur._direct is None and cur.fetchall()


def test_hidden_and_rowid_columns_go_through_sqlite(
    conn: driver.Connection, data: dict[str, Any]
) -> None:
    cur = conn.cursor().execute("SELECT rowid, Sid FROM Conferences")
    assert cur._direct is None and cur.fetchall()


def test_parameters_go_through_sqlite(conn: driver.Connection, data: dict[str, Any]) -> None:
    with pytest.raises(driver.ProgrammingError):
        conn.cursor().execute("SELECT * FROM Conferences", ("unused",))


def test_fetchone_fetchmany_fetchall_share_one_stream(
    connect: Connect, data: dict[str, Any]
) -> None:
    conn = connect(MaxConcurrency=1)
    everything = _typed(conn.cursor().execute("SELECT * FROM Participants WHERE 1").fetchall())
    cur = conn.cursor().execute("SELECT * FROM Participants")
    first = cur.fetchone()
    some = cur.fetchmany(5)
    rest = cur.fetchall()
    assert first is not None
    assert _typed([first, *some, *rest]) == everything
    assert cur.fetchone() is None and cur.fetchall() == []


def test_a_failed_page_raises_and_never_truncates(
    connect: Connect, data: dict[str, Any], emu: Emulator
) -> None:
    emu.faults.add("500", count=1, operation="participants")
    conn = connect(MaxConcurrency=1)
    cur = conn.cursor()
    with pytest.raises(driver.OperationalError):
        cur.execute("SELECT * FROM Participants")
        cur.fetchall()


def test_errors_surface_in_execute_like_sqlite(connect: Connect, data: dict[str, Any]) -> None:
    conn = connect(AuthToken="wrong")
    with pytest.raises(driver.OperationalError):
        conn.cursor().execute("SELECT * FROM Conferences")


def _slow_rooms(emu: Emulator, count: int, latency: float) -> None:
    """``count`` live conferences of one participant each, served with ``latency``."""
    emu.seed_bulk(conferences=count, participants_per=1, status="in-progress")
    emu.latency = latency


def test_closing_mid_stream_cancels_outstanding_requests(connect: Connect, emu: Emulator) -> None:
    _slow_rooms(emu, 12, 0.2)
    conn = connect(MaxConcurrency=2)
    cur = conn.cursor().execute("SELECT * FROM Participants")
    assert cur.fetchone() is not None
    cur.close()
    time.sleep(0.2)  # requests already on the wire when close() ran may still land
    settled = len(emu.requests)
    time.sleep(0.5)
    assert len(emu.requests) == settled
    assert settled <= 2 + 4  # the live lists and two rounds of two; the rest never went


def test_interrupt_stops_a_direct_read(connect: Connect, emu: Emulator) -> None:
    _slow_rooms(emu, 20, 0.1)
    conn = connect(MaxConcurrency=1)
    cur = conn.cursor().execute("SELECT * FROM Participants")
    threading.Timer(0.3, conn.interrupt).start()
    with pytest.raises(driver.OperationalError, match="cancelled"):
        cur.fetchall()
    # The next statement is not affected by the earlier interrupt.
    emu.latency = 0.0
    assert len(conn.cursor().execute("SELECT * FROM Participants").fetchall()) == 20


def test_projection_keeps_result_order(conn: driver.Connection, data: dict[str, Any]) -> None:
    cur = conn.cursor().execute("SELECT Muted, Label FROM Participants")
    assert [d[0] for d in cur.description] == ["Muted", "Label"]
    assert all(m in (0, 1) for m, _ in cur.fetchall())
